"""Similarity measures and evaluation metrics for fingerprints."""

from ._correlation import crosscorr_2d, ncc, normalize, pce, pce_all_pairs
from ._frechet import fd_ratio, frechet_distance

__all__ = [
    "crosscorr_2d",
    "fd_ratio",
    "frechet_distance",
    "ncc",
    "normalize",
    "pce",
    "pce_all_pairs",
]
