"""Noise residuals: denoisers, post-processing and fingerprint estimation."""

from ._extract import (
    ResidualConfig,
    estimate_fingerprint,
    extract_residuals,
    intensity_weight,
    saturation_mask,
)
from ._extractor import ResidualExtractor
from ._filters import (
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
    "ResidualConfig",
    "ResidualExtractor",
    "estimate_fingerprint",
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
