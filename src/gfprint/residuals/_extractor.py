"""The ResidualExtractor transformer."""

from __future__ import annotations

from numbers import Integral, Real

import pywt
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from .._validation import check_images
from ._extract import ResidualConfig, extract_residuals

__all__ = ["ResidualExtractor"]


class ResidualExtractor(TransformerMixin, BaseEstimator):
    """Noise residuals of images: the image minus its denoised version.

    Stateless: ``fit`` only validates the parameters, ``transform`` needs no fit.

    Parameters
    ----------
    denoiser : {"wavelet", "wiener", "gaussian", "median"}, default="wavelet"
        ``"wavelet"`` is the Mihcak wavelet filter of the camera-PRNU literature (see
        :func:`~gfprint.residuals.noise_wavelet`); ``"wiener"`` a spatial adaptive
        Wiener filter; ``"gaussian"`` and ``"median"`` cheap high-pass alternatives.
    wavelet : str, default="db4"
        Wavelet of the ``"wavelet"`` denoiser (any discrete PyWavelets wavelet).
    levels : int, default=4
        Decomposition depth of the ``"wavelet"`` denoiser. Images must be large enough
        for it: with db4, 4 levels need 112x112 pixels, 2 levels 28x28 (see
        :func:`~gfprint.residuals.max_wavelet_levels`).
    sigma : float, default=5.0
        Noise standard deviation in 8-bit grey levels (``"wavelet"``, ``"wiener"``).
    window : int, default=3
        Window side of the ``"wiener"`` and ``"median"`` denoisers.
    blur_sigma : float, default=1.0
        Standard deviation in pixels of the ``"gaussian"`` denoiser.
    zero_mean : bool, default=True
        Zero-mean every 2x2 CFA sub-grid, its rows and its columns.
    wiener_dft : bool, default=True
        Wiener-filter the residual in the DFT domain (sigma = residual std).
    color : {"gray", "rgb"}, default="gray"
        ``"gray"`` combines the channel noises with MATLAB's rgb2gray weights into one
        plane; ``"rgb"`` keeps one residual per channel.
    n_jobs : int, default=None
        Parallel workers through joblib (threads; the kernels release the GIL).
    batch_size : int, default=16
        Images per task; bounds the memory in flight.
    verbose : bool or int, default=False
        Show a progress bar.

    See Also
    --------
    gfprint.residuals.extract_residuals : The same as a function.
    gfprint.PRNUFingerprintClassifier : Attributes residuals to sources.

    Notes
    -----
    With the defaults this is the published camera-PRNU residual (Lukas, Fridrich &
    Goljan 2006; the reference Python code of Bondi et al.): per colour channel a
    4-level db4 DWT, approximation zeroed, every detail band shrunk by the Mihcak rule
    with sigma = 5; the channel noises combined to grey; zero-mean on each 2x2 CFA
    sub-grid; Wiener filtering in the DFT domain.

    Images are uint8, uint16 or float on [0, 1] and are processed on the 8-bit scale,
    so the same picture in any of these types gives the same residual.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint import ResidualExtractor
    >>> images = np.random.default_rng(0).integers(0, 256, (3, 128, 128, 3), dtype=np.uint8)
    >>> residuals = ResidualExtractor().fit_transform(images)
    >>> residuals.shape, residuals.dtype
    ((3, 128, 128), dtype('float32'))
    """

    _parameter_constraints: dict = {
        "denoiser": [StrOptions({"wavelet", "wiener", "gaussian", "median"})],
        "wavelet": [StrOptions(set(pywt.wavelist(kind="discrete")))],
        "levels": [Interval(Integral, 1, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "window": [Interval(Integral, 1, None, closed="left")],
        "blur_sigma": [Interval(Real, 0, None, closed="neither")],
        "zero_mean": ["boolean"],
        "wiener_dft": ["boolean"],
        "color": [StrOptions({"gray", "rgb"})],
        "n_jobs": [Integral, None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        denoiser="wavelet",
        wavelet="db4",
        levels=4,
        sigma=5.0,
        window=3,
        blur_sigma=1.0,
        zero_mean=True,
        wiener_dft=True,
        color="gray",
        n_jobs=None,
        batch_size=16,
        verbose=False,
    ):
        self.denoiser = denoiser
        self.wavelet = wavelet
        self.levels = levels
        self.sigma = sigma
        self.window = window
        self.blur_sigma = blur_sigma
        self.zero_mean = zero_mean
        self.wiener_dft = wiener_dft
        self.color = color
        self.n_jobs = n_jobs
        self.batch_size = batch_size
        self.verbose = verbose

    def _config(self) -> ResidualConfig:
        return ResidualConfig(
            denoiser=self.denoiser,
            wavelet=self.wavelet,
            levels=self.levels,
            sigma=self.sigma,
            window=self.window,
            blur_sigma=self.blur_sigma,
            zero_mean=self.zero_mean,
            wiener_dft=self.wiener_dft,
            color=self.color,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and that ``X`` holds usable images.

        Parameters
        ----------
        X : array-like of shape (n, H, W[, C]) or sequence of path
            Images.
        y : None
            Ignored.

        Returns
        -------
        self : ResidualExtractor
        """
        images = check_images(X)
        self._config().check_shape(images.height, images.width)
        return self

    def transform(self, X):
        """Compute the noise residual of every image.

        Parameters
        ----------
        X : array-like of shape (n, H, W) or (n, H, W, C), or sequence of path
            Images: uint8, uint16 or float on [0, 1]; ``C`` is 1 or 3. Paths are read
            lazily, one batch at a time.

        Returns
        -------
        residuals : ndarray of float32, shape (n, H, W), or (n, H, W, C) with
            ``color="rgb"``
        """
        self._validate_params()
        return extract_residuals(
            X,
            n_jobs=self.n_jobs,
            batch_size=self.batch_size,
            verbose=self.verbose,
            **self._config().__dict__,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
