"""Fingerprint-based classifiers and the map-reduce fit from images."""

from ._camera import CameraFingerprintClassifier
from ._classifier import PRNUFingerprintClassifier, null_quantile_threshold
from ._clustering import FingerprintClustering
from ._fit import fit_fingerprints

__all__ = [
    "CameraFingerprintClassifier",
    "FingerprintClustering",
    "PRNUFingerprintClassifier",
    "fit_fingerprints",
    "null_quantile_threshold",
]
