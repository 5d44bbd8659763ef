"""Fingerprint-based classifiers."""

from ._classifier import PRNUFingerprintClassifier, null_quantile_threshold

__all__ = ["PRNUFingerprintClassifier", "null_quantile_threshold"]
