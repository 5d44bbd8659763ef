"""Denoisers (image -> noise) and residual post-processing for one image plane.

All functions take and return float32 planes on the 8-bit scale; they never modify
their input. They are the building blocks of :class:`~gfprint.ResidualExtractor` and
:func:`~gfprint.residuals.estimate_fingerprint`.
"""

from __future__ import annotations

from functools import lru_cache
from numbers import Integral, Real

import numpy as np
import pywt
import scipy.fft
from scipy import ndimage

from .._kernels._stats import sample_std, zero_mean_cfa
from .._kernels._wavelet_noise import (
    channel_planes,
    finest_diagonal_abs,
    wavelet_noise,
    wavelet_work_size,
)
from .._kernels._wiener import (
    _PAD,
    apply_hermitian_gain,
    hermitian_wiener_gain,
)
from .._param_validation import Interval, StrOptions, validate_params
from .._utils import irfft2_own, readonly_view
from .._validation import to_working_float

#: Constraint of the ``wavelet`` parameters: PyWavelets' discrete wavelets.
_WAVELETS = StrOptions(
    pywt.wavelist(kind="discrete"), description="the names pywt.wavelist(kind='discrete')"
)

__all__ = [
    "MIN_NOISE_SIGMA",
    "RGB_TO_GRAY",
    "WIENER_WINDOWS",
    "estimate_noise_sigma",
    "max_wavelet_levels",
    "noise_gaussian",
    "noise_median",
    "noise_wavelet",
    "noise_wavelet_gray",
    "noise_wiener",
    "rgb_to_gray",
    "wiener_dft",
    "zero_mean",
]

#: MATLAB ``rgb2gray`` weights, as used by the camera-PRNU reference code.
RGB_TO_GRAY = np.array([0.29893602, 0.58704307, 0.11402090], dtype=np.float32)
#: Local-variance window sizes of the Mihcak wavelet denoiser (fixed in the kernels).
WIENER_WINDOWS = np.array([3, 5, 7, 9], dtype=np.int64)
#: Floor of :func:`estimate_noise_sigma`: the standard deviation of 8-bit rounding,
#: ``1 / sqrt(12)`` grey levels, which no 8-bit image is free of.
MIN_NOISE_SIGMA = float(1.0 / np.sqrt(12.0))


def _plane(x, name="image") -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D plane, got shape {x.shape}.")
    return x.astype(np.float32, copy=False)


@validate_params(
    {
        "wavelet": [_WAVELETS],
    }
)
def max_wavelet_levels(shape, wavelet="db4") -> int:
    """Deepest decomposition that PyWavelets allows without boundary-only coefficients.

    Parameters
    ----------
    shape : tuple of int
        Height and width of the image (more entries, such as channels, are ignored).
    wavelet : str, default="db4"
        Wavelet name known to PyWavelets.

    Returns
    -------
    levels : int
        ``pywt.dwt_max_level(min(shape), filter_length)``.

    Examples
    --------
    >>> from gfprint.residuals import max_wavelet_levels
    >>> max_wavelet_levels((256, 256)), max_wavelet_levels((32, 32))
    (5, 2)
    """
    sides = tuple(shape)[:2]
    if len(sides) != 2 or not all(isinstance(s, Integral) and s >= 1 for s in sides):
        raise ValueError(f"shape must start with a height and a width of at least 1, got {shape}.")
    return _max_levels(int(min(sides)), wavelet)


@lru_cache(maxsize=256)
def _max_levels(side, wavelet):
    """:func:`max_wavelet_levels` of a checked wavelet name (per image, unvalidated)."""
    return pywt.dwt_max_level(side, pywt.Wavelet(wavelet).dec_len)


@validate_params(
    {
        "wavelet": [_WAVELETS],
    }
)
def estimate_noise_sigma(image, *, wavelet="db4") -> float:
    """Noise standard deviation of an image from its finest wavelet band (Donoho's MAD).

    Parameters
    ----------
    image : ndarray of shape (H, W) or (H, W, C)
        One image on the 8-bit scale: uint8, float of 0-255, or uint16 (rescaled to
        0-255 first, as everywhere in gfprint).
    wavelet : str, default="db4"
        Wavelet of the one-level decomposition (the denoiser's own, so that the noise
        is measured in the basis where it is removed).

    Returns
    -------
    sigma : float
        ``median(|HH1|) / 0.6745`` of each channel's finest diagonal band (without
        the coefficients that reach into the mirrored border), averaged over
        channels, and at least :data:`MIN_NOISE_SIGMA`.

    Notes
    -----
    An orthonormal wavelet maps white noise of standard deviation ``s`` to bands of
    the same ``s``; the finest diagonal band holds little image content, and the
    median absolute value resists what content it holds, so ``median / 0.6745``
    (the median of ``|N(0, 1)|``) estimates ``s`` [1]_. This is the estimator of
    scikit-image's ``estimate_sigma`` (there with ``db2``). Generator output is
    lossless and much cleaner than a camera's sensor output, for which the PRNU
    literature fixes ``sigma = 5``; the estimate adapts the denoiser to the image.
    The floor keeps the denoiser defined on images whose finest band is mostly zero
    (flat or synthetic content).

    References
    ----------
    .. [1] D. L. Donoho, I. M. Johnstone, "Ideal spatial adaptation by wavelet
       shrinkage", Biometrika 81(3), 1994. :doi:`10.1093/biomet/81.3.425`

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import estimate_noise_sigma
    >>> rng = np.random.default_rng(0)
    >>> image = np.full((256, 256), 128.0) + rng.normal(0, 3.0, (256, 256))
    >>> round(estimate_noise_sigma(image), 1)
    3.0
    """
    x = np.asarray(image)
    # 16-bit images on the 8-bit scale (the raw values gave a 257 times larger sigma)
    x = to_working_float(x) if x.dtype == np.uint16 else _uint8_or_float32(x)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or min(x.shape[:2]) < 2:
        raise ValueError(f"expected an (H, W) or (H, W, C) image, got shape {x.shape}.")
    dec_lo, dec_hi = _filters(wavelet)[:2]
    mad = finest_diagonal_mad(x, dec_lo, dec_hi)
    return max(float(mad.mean()) / 0.6744897501960817, MIN_NOISE_SIGMA)


def finest_diagonal_mad(image, dec_lo, dec_hi) -> np.ndarray:
    """Median absolute finest diagonal coefficient of each channel of ``(H, W, C)``.

    ``image`` is uint8 or float32 (the types :func:`_kernel_planes` takes as they are).
    """
    planes = _kernel_planes(image)
    n_channels, h, w = planes.shape
    nf = dec_lo.shape[0]
    h1, w1 = (h + nf - 1) // 2, (w + nf - 1) // 2
    bands = finest_diagonal_abs(planes, dec_lo, dec_hi, np.empty((4, h1, w1), np.float32),
                                np.empty(n_channels * h1 * w1, np.float32))
    return np.median(bands.reshape(len(bands), -1), axis=1).astype(np.float64)


@validate_params(
    {
        "wavelet": [_WAVELETS],
        "levels": [Interval(Integral, 1, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="neither")],
    }
)
def noise_wavelet(image, *, wavelet="db4", levels=4, sigma=5.0) -> np.ndarray:
    """Noise removed by the Mihcak wavelet denoiser (the camera-PRNU filter).

    Parameters
    ----------
    image : ndarray of shape (H, W)
        One image plane on the 8-bit scale.
    wavelet : str, default="db4"
        Wavelet of the decomposition.
    levels : int, default=4
        Decomposition depth; at most :func:`max_wavelet_levels`.
    sigma : float, default=5.0
        Standard deviation of the noise to remove, in 8-bit grey levels.

    Returns
    -------
    noise : ndarray of float32, shape (H, W)

    Notes
    -----
    A ``levels``-deep DWT (PyWavelets' ``'symmetric'`` mode, computed by gfprint's
    Numba kernels, which equal ``pywt.wavedec2``/``waverec2`` to float32 rounding);
    the approximation band is set to zero and every detail coefficient ``x`` is
    replaced by the noise part of its local Wiener estimate,
    ``x * sigma**2 / (v + sigma**2)``, where ``v`` is the smallest over square
    windows 3, 5, 7, 9 of ``max(mean(x**2) - sigma**2, 0)``; the inverse DWT of those
    bands is the noise [1]_, [2]_.

    References
    ----------
    .. [1] M. K. Mihcak, I. Kozintsev, K. Ramchandran, "Spatially adaptive statistical
       modeling of wavelet image coefficients and its application to denoising",
       ICASSP 1999. :doi:`10.1109/ICASSP.1999.757535`
    .. [2] J. Lukas, J. Fridrich, M. Goljan, "Digital camera identification from sensor
       pattern noise", IEEE TIFS 1(2), 2006. :doi:`10.1109/TIFS.2006.873602`

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import noise_wavelet
    >>> rng = np.random.default_rng(0)
    >>> noise = noise_wavelet(rng.uniform(0, 255, (128, 128)))
    >>> noise.shape, noise.dtype
    ((128, 128), dtype('float32'))
    """
    x = _plane(image)
    return _wavelet_noise(x[:, :, None], np.ones(1, np.float32), wavelet, levels, sigma)


@validate_params(
    {
        "wavelet": [_WAVELETS],
        "levels": [Interval(Integral, 1, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="neither")],
    }
)
def noise_wavelet_gray(image, *, wavelet="db4", levels=4, sigma=5.0) -> np.ndarray:
    """Grey combination of the three channels' :func:`noise_wavelet`, computed fast.

    Equals ``rgb_to_gray`` of the per-channel noises: the inverse DWT is linear, so the
    channels' shrunk bands are combined with the rgb2gray weights first and inverted
    once.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3)
        RGB image on the 8-bit scale.
    wavelet, levels, sigma
        As in :func:`noise_wavelet`.

    Returns
    -------
    noise : ndarray of float32, shape (H, W)

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import noise_wavelet, noise_wavelet_gray, rgb_to_gray
    >>> image = np.random.default_rng(0).uniform(0, 255, (64, 64, 3))
    >>> noise = noise_wavelet_gray(image, levels=3)
    >>> noise.shape, noise.dtype
    ((64, 64), dtype('float32'))
    >>> per_channel = np.stack([noise_wavelet(image[:, :, c], levels=3) for c in range(3)], -1)
    >>> np.allclose(noise, rgb_to_gray(per_channel), atol=1e-4)
    True
    """
    x = np.asarray(image, dtype=np.float32)
    if x.ndim != 3 or x.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {x.shape}.")
    return _wavelet_noise(x, RGB_TO_GRAY, wavelet, levels, sigma)


def _wavelet_noise(image, weights, wavelet, levels, sigma):
    """Weighted sum over the channels of an ``(H, W, C)`` image of their wavelet noise."""
    _check_levels(image.shape[:2], wavelet, levels)
    out = np.empty(image.shape[:2] + (1,), np.float32)
    wavelet_noise(_kernel_planes(image), weights, *_filters(wavelet), int(levels),
                  np.float32(sigma) ** 2, out, _workspace(image.shape, wavelet, levels))
    return out[:, :, 0]


def _kernel_planes(image):
    """The channels of an ``(H, W, C)`` image as C-contiguous float32 planes ``(C, H, W)``.

    8-bit images are read as they are: the conversion happens in the same pass as the
    split, which is faster than a float32 copy of the whole image first. C-contiguous,
    read-only input always: each array layout and writeable flag compiles a
    specialization of its own.
    """
    image = readonly_view(np.ascontiguousarray(_uint8_or_float32(image)))
    h, w, n_channels = image.shape
    planes = np.empty((n_channels, h, w), np.float32)  # by numpy: see _workspace
    return channel_planes(image, planes)


def _workspace(shape, wavelet, levels):
    """The workspace :func:`wavelet_noise` needs for images of ``shape`` (float32, 1-D).

    Allocated by numpy, which advises the system to back large arrays with huge pages
    (where it offers them): the kernels' own (Numba) allocations of the same size
    cost a page fault per 4 KiB, which was about half the run time of a 12-megapixel
    image on the 2-core VM this was measured on.
    """
    size = wavelet_work_size(shape[0], shape[1], _filters(wavelet)[0].shape[0], int(levels))
    return np.empty(size, np.float32)


def _uint8_or_float32(image):
    """``image`` as it is if uint8 (the wavelet kernels read it), else as float32."""
    image = np.asarray(image)
    return image if image.dtype == np.uint8 else image.astype(np.float32, copy=False)


def _wavelet_noise_planes(image, wavelet, levels, sigma, out=None):
    """Wavelet noise of each channel of an ``(H, W, C)`` image on its own, float32.

    :func:`_wavelet_noise` of every channel, in one call that writes each channel's
    noise straight into the interleaved result: ``out`` (C-contiguous float32 of the
    image's shape) if given.
    """
    _check_levels(image.shape[:2], wavelet, levels)
    out = np.empty(image.shape, np.float32) if out is None else out
    weights = np.ones(image.shape[2], np.float32)
    return wavelet_noise(_kernel_planes(image), weights, *_filters(wavelet), int(levels),
                         np.float32(sigma) ** 2, out, _workspace(image.shape, wavelet, levels))


def _check_levels(shape, wavelet, levels):
    deepest = _max_levels(min(shape[:2]), wavelet)
    if levels > deepest:
        raise ValueError(
            f"an image of {shape[0]}x{shape[1]} pixels allows at most {deepest} "
            f"{wavelet} wavelet levels, but levels={levels}; use levels<={deepest} or "
            "larger images."
        )


@lru_cache(maxsize=32)
def _filters(wavelet):
    """(dec_lo, dec_hi, rec_lo, rec_hi) of a PyWavelets wavelet as float32 arrays."""
    w = pywt.Wavelet(wavelet)
    return tuple(np.asarray(f, dtype=np.float32) for f in (w.dec_lo, w.dec_hi, w.rec_lo, w.rec_hi))


@validate_params(
    {
        "window": [Interval(Integral, 1, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="neither")],
    }
)
def noise_wiener(image, *, window=3, sigma=5.0) -> np.ndarray:
    """Noise removed by a spatial adaptive Wiener filter (``scipy.signal.wiener`` rule).

    With local mean ``m`` and variance ``v`` over a ``window x window`` square
    (reflected borders), the denoised value is ``m + max(v - sigma**2, 0) / v * (x - m)``
    and the noise is ``x`` minus that.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import noise_wiener
    >>> noise_wiener(np.full((8, 8), 100.0)).max()
    np.float32(0.0)
    """
    x = _plane(image).astype(np.float64)
    mean = ndimage.uniform_filter(x, window, mode="reflect")
    var = ndimage.uniform_filter(x * x, window, mode="reflect") - mean * mean
    noise_var = float(sigma) ** 2
    keep = np.where(var > noise_var, noise_var / np.maximum(var, noise_var), 1.0)
    return ((x - mean) * keep).astype(np.float32)


@validate_params(
    {
        "blur_sigma": [Interval(Real, 0, None, closed="neither")],
    }
)
def noise_gaussian(image, *, blur_sigma=1.0) -> np.ndarray:
    """Noise removed by a Gaussian low-pass of std ``blur_sigma`` pixels (high-pass residual).

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import noise_gaussian
    >>> float(abs(noise_gaussian(np.full((8, 8), 7.0))).max()) < 1e-5
    True
    """
    x = _plane(image)
    return x - ndimage.gaussian_filter(x, blur_sigma, mode="reflect")


@validate_params(
    {
        "window": [Interval(Integral, 1, None, closed="left")],
    }
)
def noise_median(image, *, window=3) -> np.ndarray:
    """Noise removed by a ``window x window`` median filter.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import noise_median
    >>> x = np.zeros((5, 5)); x[2, 2] = 9
    >>> float(noise_median(x)[2, 2])
    9.0
    """
    x = _plane(image)
    return x - ndimage.median_filter(x, size=window, mode="reflect")


def rgb_to_gray(noise) -> np.ndarray:
    """Combine an ``(H, W, 3)`` plane stack to one plane with MATLAB's rgb2gray weights.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import rgb_to_gray
    >>> round(float(rgb_to_gray(np.ones((2, 2, 3)))[0, 0]), 6)
    1.0
    """
    x = np.asarray(noise, dtype=np.float32)
    if x.ndim != 3 or x.shape[-1] != 3:
        raise ValueError(f"expected an (H, W, 3) array, got shape {x.shape}.")
    return x @ RGB_TO_GRAY


def zero_mean(residual) -> np.ndarray:
    """Remove the mean, row means and column means of each 2x2 CFA sub-grid.

    Suppresses the periodic artefacts that colour interpolation and row/column
    readout leave in a residual (Lukas, Fridrich & Goljan, 2006).

    Parameters
    ----------
    residual : ndarray of shape (H, W)

    Returns
    -------
    out : ndarray of float32, shape (H, W)
        A new array; every sub-grid ``out[i::2, j::2]`` has zero mean, zero row means
        and zero column means.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import zero_mean
    >>> out = zero_mean(np.arange(16.0).reshape(4, 4))
    >>> float(abs(out).max())
    0.0
    """
    x = _plane(residual, "residual")
    return zero_mean_cfa(x, np.empty_like(x))


@validate_params(
    {
        "sigma": [Interval(Real, 0, None, closed="neither"), None],
    }
)
def wiener_dft(residual, sigma=None) -> np.ndarray:
    """Wiener filtering of a residual in the DFT domain.

    The magnitude of the unitary 2-D DFT is shrunk by the same local-variance Wiener
    rule as the wavelet bands (windows 3, 5, 7, 9, zero padding), which suppresses
    the peaks that non-unique periodic artefacts leave in the spectrum; phase is kept
    and the real part of the inverse DFT returned.

    Parameters
    ----------
    residual : ndarray of shape (H, W)
    sigma : float, default=None
        Noise standard deviation; ``None`` uses the sample standard deviation of
        ``residual`` (``ddof=1``), as the reference implementation does.

    Returns
    -------
    out : ndarray of float32, shape (H, W)

    Notes
    -----
    Only the half spectrum is computed (``rfft2``): the real part of
    ``ifft2(F * G)`` equals ``irfft2`` of ``F`` times the Hermitian-symmetric part
    ``(G[k] + G[-k]) / 2`` of the gain, exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import wiener_dft
    >>> rng = np.random.default_rng(0)
    >>> wiener_dft(rng.normal(size=(64, 64))).dtype
    dtype('float32')
    """
    return _wiener_dft(_plane(residual, "residual"), sigma)


def _wiener_dft(x, sigma=None):
    """:func:`wiener_dft` of a float32 plane, parameters not checked again."""
    h, w = x.shape
    if sigma is None:
        sigma = sample_std(x)
    fh = scipy.fft.rfft2(x)
    gain = hermitian_wiener_gain(
        fh, w, np.float32(1.0 / np.sqrt(h * w)), float(sigma) ** 2, np.empty((h, w), np.float32),
        np.empty((h + 2 * _PAD, w + 2 * _PAD), np.float32),
    )
    filtered = apply_hermitian_gain(fh, gain, np.empty_like(fh))
    return irfft2_own(filtered, (h, w)).astype(np.float32, copy=False)
