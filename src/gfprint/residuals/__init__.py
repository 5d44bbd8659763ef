"""Noise residuals: denoisers, post-processing and fingerprint estimation."""

from ._extract import (
    CAMERA_SETTING,
    MAX_AUTO_LEVELS,
    estimate_fingerprint,
    extract_residuals,
    intensity_weight,
    saturation_mask,
)
from ._extractor import CameraResidualExtractor, ResidualExtractor
from ._filters import (
    MIN_NOISE_SIGMA,
    estimate_noise_sigma,
    max_wavelet_levels,
    noise_gaussian,
    noise_median,
    noise_wavelet,
    noise_wavelet_gray,
    noise_wiener,
    rgb_to_gray,
    wiener_dft,
    zero_mean,
)

__all__ = [
    "CAMERA_SETTING",
    "MAX_AUTO_LEVELS",
    "MIN_NOISE_SIGMA",
    "CameraResidualExtractor",
    "ResidualExtractor",
    "estimate_fingerprint",
    "estimate_noise_sigma",
    "extract_residuals",
    "intensity_weight",
    "max_wavelet_levels",
    "noise_gaussian",
    "noise_median",
    "noise_wavelet",
    "noise_wavelet_gray",
    "noise_wiener",
    "rgb_to_gray",
    "saturation_mask",
    "wiener_dft",
    "zero_mean",
]
