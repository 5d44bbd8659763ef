"""gfprint: GAN image forensics with PRNU-style and learned fingerprints.

``import gfprint`` stays light: torch, skorch and matplotlib are imported only by
the modules that need them.
"""

from .exceptions import GfprintError, ImageReadError, InvalidParameterError, NotFittedError
from .fingerprints import FingerprintClustering, PRNUFingerprintClassifier
from .residuals import CameraResidualExtractor, ResidualExtractor

__version__ = "0.1.0.dev0"

# torch-dependent: imported on first use
_LAZY = {
    "CNNAttributor": "gfprint.nn",
    "LearnedFingerprintClassifier": "gfprint.nn",
    "VisNetAttributor": "gfprint.nn",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gfprint' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])

__all__ = [  # noqa: F822 - the _LAZY names are provided by __getattr__
    "CNNAttributor",
    "CameraResidualExtractor",
    "FingerprintClustering",
    "GfprintError",
    "ImageReadError",
    "InvalidParameterError",
    "LearnedFingerprintClassifier",
    "NotFittedError",
    "PRNUFingerprintClassifier",
    "ResidualExtractor",
    "VisNetAttributor",
    "__version__",
]
