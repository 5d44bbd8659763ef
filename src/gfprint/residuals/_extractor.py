"""The ResidualExtractor transformer."""

from __future__ import annotations

from numbers import Integral

from sklearn.base import BaseEstimator, TransformerMixin

from .._param_validation import Interval, fit_context, validate_parameters
from .._validation import check_images
from ._extract import RESIDUAL_CONSTRAINTS, ResidualConfig, _size_groups, residuals_of

__all__ = ["CameraResidualExtractor", "ResidualExtractor"]


class ResidualExtractor(TransformerMixin, BaseEstimator):
    """Noise residuals of images: the image minus its denoised version.

    Stateless: ``fit`` only validates the parameters and the images, ``transform``
    needs no fit. The defaults are made for generator (GAN) output; the camera-PRNU
    residual is :class:`CameraResidualExtractor` (the same estimator with the camera
    literature's defaults).

    Parameters
    ----------
    denoiser : {"wavelet", "wiener", "gaussian", "median"}, default="wavelet"
        ``"wavelet"`` is the Mihcak wavelet filter of the camera-PRNU literature (see
        :func:`~gfprint.residuals.noise_wavelet`); ``"wiener"`` a spatial adaptive
        Wiener filter; ``"gaussian"`` and ``"median"`` cheap high-pass alternatives.
    wavelet : str, default="db4"
        Wavelet of the ``"wavelet"`` denoiser (any discrete PyWavelets wavelet).
    levels : int or "auto", default="auto"
        Decomposition depth of the ``"wavelet"`` denoiser. ``"auto"``: as deep as the
        image allows, at most 4 (db4: 2 levels at 32x32, 3 at 64x64, 4 from 112x112;
        see :func:`~gfprint.residuals.max_wavelet_levels`). An explicit depth the
        image is too small for is an error.
    sigma : float or "auto", default=3.0
        Noise standard deviation in 8-bit grey levels that the ``"wavelet"`` and
        ``"wiener"`` denoisers assume; the camera literature fixes 5. ``"auto"``
        estimates it for each image from its finest wavelet band
        (:func:`~gfprint.residuals.estimate_noise_sigma`).
    window : int, default=3
        Window side of the ``"wiener"`` and ``"median"`` denoisers.
    blur_sigma : float, default=1.0
        Standard deviation in pixels of the ``"gaussian"`` denoiser.
    zero_mean : bool, default=False
        Zero-mean every 2x2 CFA sub-grid, its rows and its columns (camera setting).
    wiener_dft : bool, default=False
        Wiener-filter the residual in the DFT domain, sigma = residual std (camera
        setting).
    color : {"rgb", "gray"}, default="rgb"
        ``"rgb"`` keeps one residual per channel; ``"gray"`` combines the channel
        noises with MATLAB's rgb2gray weights into one plane (camera setting). Grey
        images give one plane either way.
    n_jobs : int, default=None
        Parallel workers through joblib (threads; the kernels release the GIL).
    batch_size : int, default=16
        Images per task; bounds the memory in flight. With several workers and
        fewer than ``n_jobs * batch_size`` images, the batches are made smaller so
        that every worker gets one.
    verbose : bool or int, default=False
        Show a progress bar.

    See Also
    --------
    CameraResidualExtractor : The camera-PRNU setting.
    gfprint.residuals.extract_residuals : The same as a function.
    gfprint.PRNUFingerprintClassifier : Attributes residuals to sources.

    Notes
    -----
    The defaults compute the residual ``R = X - f(X)`` of Marra et al. (2019), with
    ``f`` the wavelet denoiser and nothing after it: colour kept, no zero-mean, no
    Wiener filtering in the DFT domain. Those two steps are the camera literature's
    enhancements (Lukas, Fridrich & Goljan 2006): they remove periodic, non-unique
    patterns (demosaicking, JPEG blocks) that cameras of one model share. In a
    generator the periodic patterns of the up-sampling layers *are* the fingerprint,
    and colour carries much of it, so the GAN default keeps them. The denoiser
    assumes 3 grey levels of noise, not the camera's 5: lossless generator output is
    cleaner, and 3 did best on the zoo after JPEG compression (the user guide's
    "Generator or camera: which residual" compares the settings).

    Images are uint8, uint16 or float on [0, 1] and are processed on the 8-bit scale,
    so the same picture in any of these types gives the same residual.

    References
    ----------
    .. [1] F. Marra, D. Gragnaniello, L. Verdoliva, G. Poggi, "Do GANs leave artificial
       fingerprints?", IEEE MIPR 2019. :doi:`10.1109/MIPR.2019.00103`
    .. [2] J. Lukas, J. Fridrich, M. Goljan, "Digital camera identification from sensor
       pattern noise", IEEE TIFS 1(2), 2006. :doi:`10.1109/TIFS.2006.873602`

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint import ResidualExtractor
    >>> images = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    >>> residuals = ResidualExtractor().fit_transform(images)
    >>> residuals.shape, residuals.dtype
    ((3, 64, 64, 3), dtype('float32'))
    """

    _parameter_constraints: dict = {
        **RESIDUAL_CONSTRAINTS,
        "n_jobs": [Integral, None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        denoiser="wavelet",
        wavelet="db4",
        levels="auto",
        sigma=3.0,
        window=3,
        blur_sigma=1.0,
        zero_mean=False,
        wiener_dft=False,
        color="rgb",
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

    @fit_context
    def fit(self, X, y=None):
        """Check the parameters and that ``X`` holds usable images.

        Arrays are checked for NaN, infinity and range; paths for their size (their
        pixels are read by ``transform``).

        Parameters
        ----------
        X : array-like of shape (n, H, W[, C]) or sequence of path
            Images; a sequence may mix sizes.
        y : None
            Ignored.

        Returns
        -------
        self : ResidualExtractor
        """
        groups = _size_groups(X)
        for part in [X] if groups is None else [[X[i] for i in g] for g in groups]:
            images = check_images(part)
            self._config().check_shape(images.height, images.width)
            images.check_values()
        return self

    def transform(self, X):
        """Compute the noise residual of every image.

        Parameters
        ----------
        X : array-like of shape (n, H, W) or (n, H, W, C), or sequence of path
            Images: uint8, uint16 or float on [0, 1]; ``C`` is 1 or 3. Paths are read
            lazily, one batch at a time. A sequence may mix image sizes.

        Returns
        -------
        residuals : ndarray of float32, shape (n, H, W, C), or (n, H, W) for grey
            images and with ``color="gray"``; for images of mixed sizes, a list of
            such arrays ``(H_i, W_i[, C])`` in the order of ``X``, which
            :class:`~gfprint.PRNUFingerprintClassifier` takes.
        """
        validate_parameters(self)
        return residuals_of(
            X, self._config(), n_jobs=self.n_jobs, batch_size=self.batch_size,
            verbose=self.verbose,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


class CameraResidualExtractor(ResidualExtractor):
    """The camera-PRNU residual of Lukas, Fridrich & Goljan (2006).

    :class:`ResidualExtractor` with the camera literature's defaults
    (:data:`~gfprint.residuals.CAMERA_SETTING`): 4 db4 levels, sigma = 5 grey levels,
    the colour noises combined to grey, zero-mean on each 2x2 CFA sub-grid, Wiener
    filtering in the DFT domain. It equals the reference implementation (Goljan's
    MATLAB code, prnu-python) to a relative error of 1e-5. Use it for camera
    identification; for generator output, :class:`ResidualExtractor`'s defaults.

    Parameters
    ----------
    denoiser, wavelet, levels, sigma, window, blur_sigma
        As in :class:`ResidualExtractor`; ``levels=4``, ``sigma=5.0`` here.
    zero_mean, wiener_dft, color, n_jobs, batch_size, verbose
        As in :class:`ResidualExtractor`; ``zero_mean=True``, ``wiener_dft=True``,
        ``color="gray"`` here.

    See Also
    --------
    ResidualExtractor : The generator (GAN) setting.
    gfprint.residuals.estimate_fingerprint : With ``method="mle"``, the camera
        fingerprint estimate of Chen et al. (2008).

    References
    ----------
    .. [1] J. Lukas, J. Fridrich, M. Goljan, "Digital camera identification from sensor
       pattern noise", IEEE TIFS 1(2), 2006. :doi:`10.1109/TIFS.2006.873602`

    Examples
    --------
    >>> from gfprint.datasets import make_camera_images
    >>> from gfprint.residuals import CameraResidualExtractor
    >>> cams = make_camera_images(n_cameras=1, n_images=2, shape=(128, 128), random_state=0)
    >>> CameraResidualExtractor().fit_transform(cams.images).shape
    (2, 128, 128)
    """

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
        super().__init__(
            denoiser=denoiser,
            wavelet=wavelet,
            levels=levels,
            sigma=sigma,
            window=window,
            blur_sigma=blur_sigma,
            zero_mean=zero_mean,
            wiener_dft=wiener_dft,
            color=color,
            n_jobs=n_jobs,
            batch_size=batch_size,
            verbose=verbose,
        )
