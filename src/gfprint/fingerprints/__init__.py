"""Fingerprint-based classifiers."""

from ._classifier import PRNUFingerprintClassifier

__all__ = ["PRNUFingerprintClassifier"]
