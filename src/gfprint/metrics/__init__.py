"""Similarity measures and evaluation metrics for fingerprints."""

from ._correlation import crosscorr_2d, ncc, normalize, pce, pce_all_pairs

__all__ = ["crosscorr_2d", "ncc", "normalize", "pce", "pce_all_pairs"]
