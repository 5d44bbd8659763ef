"""Fingerprint-based classifiers and the map-reduce fit from images."""

from ._classifier import PRNUFingerprintClassifier, null_quantile_threshold
from ._fit import fit_fingerprints

__all__ = ["PRNUFingerprintClassifier", "fit_fingerprints", "null_quantile_threshold"]
