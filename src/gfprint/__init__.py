"""gfprint: GAN image forensics with PRNU-style and learned fingerprints.

``import gfprint`` stays light: torch, skorch and matplotlib are imported only by
the modules that need them.
"""

from .exceptions import GfprintError, ImageReadError, NotFittedError
from .fingerprints import PRNUFingerprintClassifier
from .residuals import ResidualExtractor

__version__ = "0.1.0.dev0"

__all__ = [
    "GfprintError",
    "ImageReadError",
    "NotFittedError",
    "PRNUFingerprintClassifier",
    "ResidualExtractor",
    "__version__",
]
