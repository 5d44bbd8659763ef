"""Learned fingerprints (torch, skorch): the Yu et al. attribution network."""

from ._attributor import CNNAttributor
from ._modules import AttributionNet, channels_at

__all__ = ["AttributionNet", "CNNAttributor", "channels_at"]
