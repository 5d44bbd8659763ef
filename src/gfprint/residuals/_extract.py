"""Residual extraction and fingerprint estimation over image collections."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from joblib import effective_n_jobs

from .._kernels._stats import zero_mean_cfa
from .._param_validation import Interval, StrOptions, check_parameters, validate_params
from .._validation import (
    _image_header,
    _is_path,
    check_images,
    iter_batches,
    paths_as_list,
    to_working_float,
)
from ._filters import (
    _WAVELETS,
    RGB_TO_GRAY,
    _max_levels,
    _uint8_or_float32,
    _wavelet_noise,
    _wavelet_noise_planes,
    _wiener_dft,
    estimate_noise_sigma,
    max_wavelet_levels,
    noise_gaussian,
    noise_median,
    noise_wiener,
    rgb_to_gray,
)

__all__ = [
    "CAMERA_SETTING",
    "MAX_AUTO_LEVELS",
    "estimate_fingerprint",
    "extract_residuals",
]


#: Largest depth that ``levels="auto"`` chooses (the camera-PRNU literature's 4).
MAX_AUTO_LEVELS = 4

#: The camera-PRNU residual of Lukas, Fridrich & Goljan (2006), as in Goljan's
#: MATLAB code and prnu-python: 4 db4 levels, sigma = 5, grey, CFA zero-mean,
#: Wiener filtering in the DFT domain. ``ResidualExtractor(**CAMERA_SETTING)`` and
#: :class:`~gfprint.residuals.CameraResidualExtractor` compute it.
CAMERA_SETTING = {
    "denoiser": "wavelet",
    "wavelet": "db4",
    "levels": 4,
    "sigma": 5.0,
    "zero_mean": True,
    "wiener_dft": True,
    "color": "gray",
}


#: Constraints on the residual parameters, shared by :class:`ResidualExtractor` and
#: the functions that take them as keyword arguments.
RESIDUAL_CONSTRAINTS = {
    "denoiser": [StrOptions({"wavelet", "wiener", "gaussian", "median"})],
    "wavelet": [_WAVELETS],
    "levels": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "sigma": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    "window": [Interval(Integral, 1, None, closed="left")],
    "blur_sigma": [Interval(Real, 0, None, closed="neither")],
    "zero_mean": ["boolean"],
    "wiener_dft": ["boolean"],
    "color": [StrOptions({"gray", "rgb"})],
}


@dataclass(frozen=True)
class ResidualConfig:
    """How a residual is computed: denoiser, its parameters, post-processing (internal).

    Built from parameters that are already validated: by an estimator's
    ``fit_context`` or by :func:`residual_config`. It does not check them again. The
    defaults are those of :class:`~gfprint.ResidualExtractor`: the plain residual of
    Marra et al. (2019) for generator output; :data:`CAMERA_SETTING` holds the
    camera-PRNU values.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import CAMERA_SETTING
    >>> from gfprint.residuals._extract import ResidualConfig
    >>> cfg = ResidualConfig()
    >>> cfg.min_size, cfg.levels_for(32, 32), cfg.levels_for(1024, 1024)
    (14, 2, 4)
    >>> image = np.random.default_rng(0).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    >>> cfg.residual(image).shape
    (32, 32, 3)
    >>> ResidualConfig(**{**CAMERA_SETTING, "levels": 2}).residual(image).shape
    (32, 32)
    """

    denoiser: str = "wavelet"
    wavelet: str = "db4"
    levels: int | str = "auto"
    sigma: float | str = 3.0
    window: int = 3
    blur_sigma: float = 1.0
    zero_mean: bool = False
    wiener_dft: bool = False
    color: str = "rgb"

    def levels_for(self, height, width) -> int:
        """Wavelet depth used on an image of this size (``"auto"`` resolved)."""
        if self.levels != "auto":
            return int(self.levels)
        return min(MAX_AUTO_LEVELS, _max_levels(min(height, width), self.wavelet))

    def sigma_for(self, image) -> float:
        """Noise level used on one ``(H, W, C)`` image (``"auto"`` estimated from it)."""
        if self.sigma != "auto":
            return float(self.sigma)
        return estimate_noise_sigma(image, wavelet=self.wavelet)

    @property
    def min_size(self) -> int:
        """Smallest image side that this configuration accepts."""
        if self.denoiser == "wavelet":
            need = 1 if self.levels == "auto" else self.levels
            size = 2
            while _max_levels(size, self.wavelet) < need:  # cached; the name is checked
                size += 1
            return size
        return max(2, self.window if self.denoiser in ("wiener", "median") else 2)

    def check_shape(self, height, width, what="X"):
        """Raise a clear error when images are too small for this configuration."""
        if min(height, width) < self.min_size:
            if self.denoiser == "wavelet":
                deepest = max_wavelet_levels((height, width), self.wavelet)
                need = "one level" if self.levels == "auto" else f"levels={self.levels}"
                raise ValueError(
                    f"{what} has images of {height}x{width} pixels, which allow at most "
                    f"{deepest} {self.wavelet} wavelet levels, but {need} "
                    f"needs images of at least {self.min_size}x{self.min_size}. Use "
                    f"{'a shorter wavelet' if deepest == 0 else f'levels<={deepest}'} "
                    "or larger images."
                )
            raise ValueError(
                f"{what} has images of {height}x{width} pixels; the {self.denoiser} "
                f"denoiser needs at least {self.min_size}x{self.min_size}."
            )

    def noise(self, image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Per-channel noise of one ``(H, W, C)`` image on 0-255, float32 of its shape.

        ``image`` is float32, or uint8 (read as it is by the wavelet kernel). The
        wavelet denoiser writes into ``out`` (C-contiguous float32 of the image's
        shape) if given; the others ignore it.
        """
        image = _uint8_or_float32(image)
        sigma = self.sigma_for(image) if self.denoiser in ("wavelet", "wiener") else None
        if self.denoiser == "wavelet":
            levels = self.levels_for(*image.shape[:2])
            return _wavelet_noise_planes(image, self.wavelet, levels, sigma, out=out)
        image = np.asarray(image, dtype=np.float32)
        out = np.empty_like(image)
        for c in range(image.shape[2]):
            plane = image[:, :, c]
            if self.denoiser == "wiener":
                out[:, :, c] = noise_wiener(plane, window=self.window, sigma=sigma)
            elif self.denoiser == "gaussian":
                out[:, :, c] = noise_gaussian(plane, blur_sigma=self.blur_sigma)
            else:
                out[:, :, c] = noise_median(plane, window=self.window)
        return out

    def postprocess(self, noise: np.ndarray) -> np.ndarray:
        """Colour combination, zero-mean and Wiener-DFT of an ``(H, W, C)`` noise."""
        if self.color == "gray" and noise.shape[2] == 3:
            planes = [rgb_to_gray(noise)]
        elif not (self.zero_mean or self.wiener_dft):  # the GAN default: as it is
            return np.ascontiguousarray(noise[:, :, 0]) if noise.shape[2] == 1 else noise
        else:
            planes = [noise[:, :, c] for c in range(noise.shape[2])]
        out = []
        for p in planes:
            p = np.ascontiguousarray(p, dtype=np.float32)
            if self.zero_mean:
                p = zero_mean_cfa(p, np.empty_like(p))
            if self.wiener_dft:
                p = _wiener_dft(p)
            out.append(np.asarray(p, dtype=np.float32))
        return out[0] if len(out) == 1 else np.stack(out, axis=-1)

    def residual(self, image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Residual of one ``(H, W, C)`` image on 0-255 (float32, or uint8 as it is).

        ``out``, a C-contiguous float32 array of :meth:`output_shape`, receives the
        residual and is returned; the plain wavelet residual (the GAN default) is
        written there by the kernel itself, with no copy.
        """
        image = _uint8_or_float32(image)
        if (out is not None and out.flags.c_contiguous
                and self._is_plain_wavelet(image.shape[2])):
            self.noise(image, out=out.reshape(image.shape))
            return out
        if self.denoiser == "wavelet" and self.color == "gray" and image.shape[2] == 3:
            noise = _wavelet_noise(
                image, RGB_TO_GRAY, self.wavelet, self.levels_for(*image.shape[:2]),
                self.sigma_for(image),
            )
            result = self.postprocess(noise[:, :, None])
        else:
            result = self.postprocess(self.noise(image))
        if out is None:
            return result
        out[...] = result
        return out

    def _is_plain_wavelet(self, n_channels) -> bool:
        """Whether the residual is the wavelet noise itself (what postprocess returns)."""
        return (self.denoiser == "wavelet" and not (self.zero_mean or self.wiener_dft)
                and (self.color == "rgb" or n_channels == 1))

    def output_shape(self, height, width, n_channels):
        """Shape of one residual: a plane, or one plane per channel with ``color="rgb"``."""
        if self.color == "gray" or n_channels == 1:
            return (height, width)
        return (height, width, n_channels)


def residual_config(config: dict, caller: str) -> ResidualConfig:
    """A :class:`ResidualConfig` from keyword arguments, each checked once.

    Unknown names raise ``TypeError`` as for any keyword argument; values outside
    :data:`RESIDUAL_CONSTRAINTS` raise :class:`~gfprint.InvalidParameterError`.
    """
    unknown = sorted(set(config) - set(RESIDUAL_CONSTRAINTS))
    if unknown:
        raise TypeError(
            f"{caller}() got unexpected keyword argument(s) {unknown}; residual "
            f"parameters are {sorted(RESIDUAL_CONSTRAINTS)}."
        )
    check_parameters(config, RESIDUAL_CONSTRAINTS, caller)
    return ResidualConfig(**config)


@validate_params(
    {
        "n_jobs": [Integral, None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }
)
def extract_residuals(images, *, n_jobs=None, batch_size=16, verbose=False, **config) -> np.ndarray:
    """Noise residuals of many images (the function behind ``ResidualExtractor``).

    Parameters
    ----------
    images : array-like of shape (n, H, W[, C]) or sequence of path
        Images as in :func:`gfprint.ResidualExtractor.transform`.
    n_jobs : int, default=None
        Parallel workers (joblib, threads preferred).
    batch_size : int, default=16
        Images per task (smaller with several workers and fewer than
        ``n_jobs * batch_size`` images, so that every worker gets one).
    verbose : bool, default=False
        Show a progress bar.
    **config
        Residual parameters, as in :class:`~gfprint.ResidualExtractor`
        (``denoiser``, ``levels``, ``sigma``, ...).

    Returns
    -------
    residuals : ndarray of float32, shape (n, H, W) or (n, H, W, C)
        Or, for images of mixed sizes, a list of such arrays in the order of ``images``.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import extract_residuals
    >>> imgs = np.random.default_rng(0).integers(0, 256, (2, 128, 128, 3), dtype=np.uint8)
    >>> extract_residuals(imgs).shape
    (2, 128, 128, 3)
    >>> extract_residuals(imgs, color="gray").shape
    (2, 128, 128)
    """
    cfg = residual_config(config, "extract_residuals")
    return residuals_of(images, cfg, n_jobs=n_jobs, batch_size=batch_size, verbose=verbose)


def residuals_of(images, cfg, *, n_jobs=None, batch_size=16, verbose=False):
    """:func:`extract_residuals` with a ready :class:`ResidualConfig`, nothing re-checked.

    A list of images of mixed sizes gives a list of residuals, computed size by size.
    """
    images = paths_as_list(images)
    groups = _size_groups(images)
    if groups is not None:
        out = [None] * len(images)
        for index in groups:
            part = residuals_of([images[i] for i in index], cfg, n_jobs=n_jobs,
                                batch_size=batch_size, verbose=verbose)
            for i, r in zip(index, part):
                out[i] = r
        return out
    imgs = check_images(images)
    cfg.check_shape(imgs.height, imgs.width)
    out = np.empty(
        (imgs.n_images,) + cfg.output_shape(imgs.height, imgs.width, imgs.n_channels),
        dtype=np.float32,
    )

    def working(stack):  # 8-bit images go to the kernels as they are
        return stack if stack.dtype == np.uint8 else to_working_float(stack)

    def batch(stack, index):
        return [cfg.residual(img) for img in working(stack)]

    def batch_in_place(stack, index):
        for img, i in zip(working(stack), index):
            cfg.residual(img, out=out[i])

    # When joblib runs the batches in this process (one after the other, or in threads,
    # the default), each residual is written straight into the result; otherwise
    # (processes, a Dask cluster) batches return theirs, and the function sent to the
    # workers does not carry the result array.
    workers = effective_n_jobs(n_jobs)
    in_place = workers == 1 or _threads_run()
    if workers > 1:  # fewer images than workers x batch_size: smaller batches, all busy
        batch_size = max(1, min(batch_size, -(-imgs.n_images // workers)))
    for start, _, res in iter_batches(
        batch_in_place if in_place else batch, imgs, n_jobs=n_jobs, batch_size=batch_size,
        verbose=verbose, desc="residuals", extra=np.arange(imgs.n_images), raw=True,
    ):
        if not in_place:
            for k, r in enumerate(res):
                out[start + k] = r
    return out


def _threads_run() -> bool:
    """Whether ``iter_batches`` (``prefer="threads"``) runs its batches in threads here.

    Reads joblib's active backend as ``Parallel`` will (``joblib.parallel_config`` may
    have chosen processes or Dask); when joblib cannot say, False: the batches then
    return their residuals, which works with every backend.
    """
    try:
        from joblib.parallel import get_active_backend

        backend, _ = get_active_backend(prefer="threads")
    except Exception:  # an older or newer joblib without it: the safe path
        return False
    return bool(getattr(backend, "uses_threads", False))


def _size_groups(images):
    """Indices of each size in a list of images (arrays or paths) of mixed sizes, or None."""
    if not isinstance(images, (list, tuple)) or len(images) < 2:
        return None
    sizes = []
    for x in images:
        if _is_path(x):
            sizes.append(_image_header(x)[:2])
        elif hasattr(x, "shape"):
            sizes.append(tuple(x.shape[:2]))
        else:
            return None  # nested lists and the like: check_images says what is wrong
    if len(set(sizes)) == 1:
        return None
    groups: dict = {}
    for i, size in enumerate(sizes):
        groups.setdefault(size, []).append(i)
    return list(groups.values())


def intensity_weight(image) -> np.ndarray:
    """Goljan's ``IntenScale``: ``I / 252`` below 252, ``exp(-(I - 252)**2 / 6)`` above.

    Parameters
    ----------
    image : ndarray
        Intensities on the 8-bit scale.

    Returns
    -------
    weight : ndarray of float32, same shape as ``image``

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import intensity_weight
    >>> np.round(intensity_weight(np.array([0.0, 126.0, 252.0, 255.0])), 4)
    array([0.    , 0.5   , 1.    , 0.2231], dtype=float32)
    """
    x = np.asarray(image, dtype=np.float32)
    t = np.float32(252.0)
    return np.where(x < t, x / t, np.exp(-((x - t) ** 2) / np.float32(6.0))).astype(np.float32)


def saturation_mask(plane) -> np.ndarray:
    """Goljan's ``Saturation``: 0 on saturated pixels of one plane, 1 elsewhere.

    A pixel is saturated when the plane's maximum exceeds 250, the pixel equals that
    maximum, and at least one of its four (circular) neighbours equals it too.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.residuals import saturation_mask
    >>> plane = np.zeros((4, 4))
    >>> plane[1, 1] = plane[1, 2] = plane[3, 3] = 255
    >>> saturation_mask(plane)  # the isolated maximum at [3, 3] is not saturated
    array([[1., 1., 1., 1.],
           [1., 0., 0., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.]], dtype=float32)
    """
    x = np.asarray(plane, dtype=np.float32)
    mask = np.ones(x.shape, dtype=np.float32)
    top = x.max()
    if top <= 250:
        return mask
    dh = x - np.roll(x, 1, axis=1)
    dv = x - np.roll(x, 1, axis=0)
    all_differ = (
        (dh != 0) & (dv != 0) & (np.roll(dh, -1, axis=1) != 0) & (np.roll(dv, -1, axis=0) != 0)
    )
    mask[(x == top) & ~all_differ] = 0.0
    return mask


def mle_terms(noise, image):
    """One image's terms of the MLE fingerprint: ``(W * I, I**2)`` in float64.

    ``I`` is Goljan's intensity weight (:func:`intensity_weight`) with saturated
    pixels (:func:`saturation_mask`, per channel) set to zero.
    """
    weight = intensity_weight(image)
    for c in range(image.shape[2]):
        weight[:, :, c] *= saturation_mask(image[:, :, c])
    return (noise * weight).astype(np.float64), weight.astype(np.float64) ** 2


@validate_params(
    {
        "method": [StrOptions({"mean", "mle"})],
        "n_jobs": [Integral, None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }
)
def estimate_fingerprint(
    images, *, method="mean", n_jobs=None, batch_size=16, verbose=False, **config
) -> np.ndarray:
    """Estimate one source's fingerprint from its images, streaming.

    Parameters
    ----------
    images : array-like of shape (n, H, W[, C]) or sequence of path
        Images of one source (camera or GAN), all of one size.
    method : {"mean", "mle"}, default="mean"
        ``"mean"``: average noise (Marra et al. 2019). ``"mle"``: the camera-PRNU
        maximum-likelihood estimate ``K = sum(W_i * I_i) / (sum(I_i**2) + 1)`` of Chen
        et al. 2008 with Goljan's intensity weighting and saturation mask standing in
        for ``I_i``.
    n_jobs, batch_size, verbose
        As in :func:`extract_residuals`.
    **config
        Residual parameters, as in :class:`~gfprint.ResidualExtractor`. The
        colour combination, zero-mean and
        Wiener-DFT steps are applied once, to the estimate.

    Returns
    -------
    fingerprint : ndarray of float32, shape (H, W) or (H, W, C)

    Notes
    -----
    Memory stays at a few ``H x W x C`` float64 accumulators whatever the number of
    images: each batch returns its partial sums.

    References
    ----------
    .. [1] M. Chen, J. Fridrich, M. Goljan, J. Lukas, "Determining image origin and
       integrity using sensor noise", IEEE TIFS 3(1), 2008.
       :doi:`10.1109/TIFS.2007.916285`
    .. [2] F. Marra, D. Gragnaniello, L. Verdoliva, G. Poggi, "Do GANs leave artificial
       fingerprints?", IEEE MIPR 2019. :doi:`10.1109/MIPR.2019.00103`

    Examples
    --------
    >>> from gfprint.datasets import make_camera_images
    >>> from gfprint.residuals import estimate_fingerprint
    >>> from gfprint.residuals import CAMERA_SETTING
    >>> cams = make_camera_images(n_cameras=1, n_images=4, shape=(128, 128), random_state=0)
    >>> estimate_fingerprint(cams.images, method="mle", **CAMERA_SETTING).shape
    (128, 128)
    """
    cfg = residual_config(config, "estimate_fingerprint")
    imgs = check_images(images)
    cfg.check_shape(imgs.height, imgs.width)

    def batch(stack):
        num = np.zeros(stack.shape[1:], np.float64)
        den = np.zeros(stack.shape[1:], np.float64)
        for img in stack:
            noise = cfg.noise(img)
            if method == "mean":
                num += noise
                den += 1.0
            else:
                weighted, weight_sq = mle_terms(noise, img)
                num += weighted
                den += weight_sq
        return num, den

    num = np.zeros((imgs.height, imgs.width, imgs.n_channels), np.float64)
    den = np.zeros_like(num)
    for _, _, (n_part, d_part) in iter_batches(
        batch, imgs, n_jobs=n_jobs, batch_size=batch_size, verbose=verbose, desc="fingerprint"
    ):
        num += n_part
        den += d_part
    estimate = num / den if method == "mean" else num / (den + 1.0)
    return cfg.postprocess(estimate.astype(np.float32))
