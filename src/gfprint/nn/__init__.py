"""Learned fingerprints (torch, skorch): the Yu et al. attribution network, visNet, refined PRNU.

Needs the ``nn`` extra: ``pip install "gfprint[nn]"``.
"""

from .._optional import require

require("torch", "skorch", what="gfprint.nn")

from ._attributor import CNNAttributor  # noqa: E402
from ._learned import LearnedFingerprintClassifier  # noqa: E402
from ._modules import AttributionNet, ConstrainedConv2d, HighPass, channels_at  # noqa: E402
from ._visnet import VisNet, VisNetAttributor  # noqa: E402

__all__ = [
    "AttributionNet",
    "CNNAttributor",
    "ConstrainedConv2d",
    "HighPass",
    "LearnedFingerprintClassifier",
    "VisNet",
    "VisNetAttributor",
    "channels_at",
]
