"""Similarity measures and evaluation metrics for fingerprints."""

from ._correlation import crosscorr_2d, ncc, normalize, pce, pce_all_pairs
from ._fingerprint import correlation_matrix, fingerprint_energy_curve
from ._frechet import fd_ratio, frechet_distance
from ._search import FingerprintMatch, match_fingerprints

__all__ = [
    "FingerprintMatch",
    "correlation_matrix",
    "crosscorr_2d",
    "fd_ratio",
    "fingerprint_energy_curve",
    "match_fingerprints",
    "frechet_distance",
    "ncc",
    "normalize",
    "pce",
    "pce_all_pairs",
]
