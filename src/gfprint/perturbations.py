"""Image perturbations: the attacks of Yu et al. (2019, Sec. 4.4) as transformers.

Every perturbation is a stateless scikit-learn transformer: ``fit`` only checks the
parameters, ``transform`` perturbs each image independently and returns uint8 images
of the input's shape (``Resize`` and ``RandomCrop(resize=False)`` change the size, as
documented). Ranges such as ``sigma=(5, 20)`` are sampled per image; a scalar fixes the
value. ``random_state`` seeds the draws: an int gives the same perturbation at every
call, ``None`` fresh ones. Training code that needs fresh draws per batch calls
:meth:`Perturbation.perturb` with its own generator.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state

from ._image import _jpeg, jpeg, resize_bilinear
from ._param_validation import HasMethods, Interval, fit_context, validate_parameters
from ._validation import check_images

__all__ = [
    "GaussianBlur",
    "GaussianNoise",
    "JPEGCompression",
    "Perturbation",
    "RandomCrop",
    "RandomPerturbation",
    "Relighting",
    "Resize",
    "gaussian_kernel_1d",
    "jpeg",
]


def _range(value, name, lo=-np.inf, hi=np.inf):
    """``(low, high)`` from a scalar or a pair, checked against ``[lo, hi]``."""
    pair = (value, value) if np.ndim(value) == 0 else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, Real) for v in pair):
        raise ValueError(f"{name} must be a number or a (low, high) pair, got {value!r}.")
    low, high = float(pair[0]), float(pair[1])
    if not (np.isfinite(low) and np.isfinite(high)):  # inf: an OverflowError in numpy
        raise ValueError(f"{name} must be finite, got {value!r}.")
    if not lo <= low <= high <= hi:
        raise ValueError(f"{name}={value!r} must satisfy {lo} <= low <= high <= {hi}.")
    return low, high


_CHUNK = 64  # images converted to float at a time


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


class Perturbation(TransformerMixin, BaseEstimator):
    """Base class: validation, per-image loop and random draws.

    Subclasses implement the perturbation of one image; :meth:`transform` draws from
    ``random_state`` and :meth:`perturb` from a generator that the caller passes.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.perturbations import GaussianNoise, Perturbation
    >>> noise = GaussianNoise(sigma=10)
    >>> isinstance(noise, Perturbation)
    True
    >>> X = np.full((2, 16, 16), 128, np.uint8)
    >>> out = noise.perturb(X, np.random.RandomState(0))
    >>> out.shape, out.dtype
    ((2, 16, 16), dtype('uint8'))
    >>> np.array_equal(out, noise.perturb(X, np.random.RandomState(0)))
    True
    """

    def _check(self):
        """Check parameters beyond ``_parameter_constraints``; override when needed."""

    @fit_context
    def fit(self, X=None, y=None):
        """Check the parameters; nothing is learned.

        Parameters
        ----------
        X : ignored
        y : ignored

        Returns
        -------
        self : Perturbation
        """
        self._check()
        return self

    def transform(self, X):
        """Perturb every image.

        Parameters
        ----------
        X : array-like of shape (n, H, W) or (n, H, W, C)
            Images: uint8, uint16 or float on [0, 1].

        Returns
        -------
        images : ndarray of uint8
            Same shape as ``X`` unless the class says otherwise.
        """
        validate_parameters(self)
        self._check()
        return self.perturb(X, check_random_state(self.random_state))

    def perturb(self, X, rng):
        """Perturb every image with draws from ``rng`` (a ``RandomState``).

        Parameters
        ----------
        X : array-like of shape (n, H, W) or (n, H, W, C)
            Images.
        rng : numpy.random.RandomState
            Source of the random draws.

        Returns
        -------
        images : ndarray of uint8
        """
        images = check_images(X)
        grey = np.ndim(X) == 3 if not images.is_paths else False
        out = None  # allocated once the first output's shape is known: no second copy
        for s in range(0, images.n_images, _CHUNK):  # paths are read a chunk at a time
            data = images.chunk(s, s + _CHUNK).load()
            for i, img in enumerate(data, start=s):
                res = self._perturb_one(_to_uint8(img), rng)
                if out is None:
                    out = np.empty((images.n_images, *res.shape), np.uint8)
                if isinstance(out, list):
                    out.append(res)
                    continue
                if res.shape != out.shape[1:] and self._sizes_vary():
                    out = [*out[:i], res]  # from here on, a list of images
                    continue
                if res.shape != out.shape[1:]:
                    raise ValueError(
                        f"{type(self).__name__} made image {i} of shape {res.shape} and "
                        f"image 0 of shape {out.shape[1:]}; outputs must share a shape."
                    )
                out[i] = res
        if isinstance(out, list):
            return [o[..., 0] for o in out] if grey else out
        return out[..., 0] if grey else out

    def _sizes_vary(self) -> bool:
        """Whether outputs may differ in size (then :meth:`perturb` returns a list)."""
        return False

    def _perturb_one(self, image: np.ndarray, rng) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags


class GaussianNoise(Perturbation):
    """Additive i.i.d. Gaussian noise, standard deviation drawn per image.

    Parameters
    ----------
    sigma : float or (float, float), default=(5, 20)
        Standard deviation in 8-bit grey levels, or the range it is drawn from
        uniformly (Yu et al.: 5-20).
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.perturbations import GaussianNoise
    >>> x = np.full((1, 64, 64), 128, np.uint8)
    >>> out = GaussianNoise(sigma=10, random_state=0).transform(x)
    >>> round(float(out.astype(float).std()))
    10
    """

    _parameter_constraints: dict = {"sigma": "no_validation", "random_state": ["random_state"]}

    def __init__(self, *, sigma=(5, 20), random_state=None):
        self.sigma = sigma
        self.random_state = random_state

    def _check(self):
        _range(self.sigma, "sigma", 0.0)

    def _perturb_one(self, image, rng):
        low, high = _range(self.sigma, "sigma", 0.0)
        std = rng.uniform(low, high)
        return _to_uint8(image + rng.normal(0.0, std, image.shape))


_OPENCV_SMALL_KERNELS = {
    1: [1.0],
    3: [0.25, 0.5, 0.25],
    5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
    7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
}


def gaussian_kernel_1d(size: int) -> np.ndarray:
    """OpenCV's Gaussian kernel for ``ksize=size, sigma=0``.

    As ``cv2.getGaussianKernel``, which the authors' blur attack used: the fixed
    binomial-like tables for sizes 1, 3, 5 and 7, otherwise a sampled Gaussian of
    standard deviation ``0.3 * ((size - 1) * 0.5 - 1) + 0.8``, normalised to sum 1.

    Examples
    --------
    >>> from gfprint.perturbations import gaussian_kernel_1d
    >>> gaussian_kernel_1d(3).tolist()
    [0.25, 0.5, 0.25]
    """
    if (not isinstance(size, Integral) or isinstance(size, bool) or size < 1
            or size % 2 == 0):
        raise ValueError(f"size must be a positive odd integer, as OpenCV's ksize, got "
                         f"{size!r}.")
    if size in _OPENCV_SMALL_KERNELS:
        return np.array(_OPENCV_SMALL_KERNELS[size])
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = np.arange(size) - (size - 1) / 2
    k = np.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


class GaussianBlur(Perturbation):
    """Gaussian blur with a kernel size drawn per image.

    Parameters
    ----------
    kernel_sizes : int or sequence of int, default=(1, 3, 5, 7, 9)
        Odd kernel sizes to draw from (Yu et al.); 1 leaves the image unchanged. The
        kernel is OpenCV's for that size (see :func:`gaussian_kernel_1d`);
        borders are mirrored (OpenCV's default ``BORDER_REFLECT_101``).
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.perturbations import GaussianBlur
    >>> x = np.zeros((1, 9, 9), np.uint8); x[0, 4, 4] = 255
    >>> int(GaussianBlur(kernel_sizes=3).transform(x)[0, 4, 4])
    64
    """

    _parameter_constraints: dict = {
        "kernel_sizes": "no_validation",
        "random_state": ["random_state"],
    }

    def __init__(self, *, kernel_sizes=(1, 3, 5, 7, 9), random_state=None):
        self.kernel_sizes = kernel_sizes
        self.random_state = random_state

    def _sizes(self):
        sizes = np.atleast_1d(self.kernel_sizes)
        if sizes.size == 0 or not all(
            isinstance(s, Integral) and s >= 1 and s % 2 == 1 for s in sizes.tolist()
        ):
            raise ValueError(
                f"kernel_sizes must be odd positive integers, got {self.kernel_sizes!r}."
            )
        return sizes

    def _check(self):
        self._sizes()

    def _perturb_one(self, image, rng):
        size = int(rng.choice(self._sizes()))
        if size == 1:
            return image.copy()
        k = gaussian_kernel_1d(size)
        x = image.astype(np.float64)
        x = ndimage.convolve1d(x, k, axis=0, mode="mirror")
        x = ndimage.convolve1d(x, k, axis=1, mode="mirror")
        return _to_uint8(x)


class RandomCrop(Perturbation):
    """Crop a random window and (by default) resize it back to the original size.

    Parameters
    ----------
    fraction : float or (float, float), default=(0.05, 0.20)
        Fraction of each side length cut away, drawn per image (Yu et al.: 5-20 %);
        the window is placed at a random offset.
    resize : bool, default=True
        Resize the crop back (bilinear). With ``False`` the output is smaller: an
        array when all crops have one size (a single ``fraction`` and images of one
        size), otherwise a list of arrays, which :class:`~gfprint.ResidualExtractor`
        and :class:`~gfprint.PRNUFingerprintClassifier` take.
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.perturbations import RandomCrop
    >>> x = np.zeros((2, 40, 40, 3), np.uint8)
    >>> RandomCrop(random_state=0).transform(x).shape
    (2, 40, 40, 3)
    >>> RandomCrop(fraction=0.25, resize=False).transform(x).shape
    (2, 30, 30, 3)
    >>> [c.shape for c in RandomCrop(resize=False, random_state=0).transform(x)]
    [(35, 35, 3), (34, 34, 3)]
    """

    _parameter_constraints: dict = {
        "fraction": "no_validation",
        "resize": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, *, fraction=(0.05, 0.20), resize=True, random_state=None):
        self.fraction = fraction
        self.resize = resize
        self.random_state = random_state

    def _check(self):
        _range(self.fraction, "fraction", 0.0, 0.95)

    def _sizes_vary(self):
        return not self.resize

    def _perturb_one(self, image, rng):
        low, high = _range(self.fraction, "fraction", 0.0, 0.95)
        f = rng.uniform(low, high)
        h, w = image.shape[:2]
        ch, cw = max(1, int(round(h * (1 - f)))), max(1, int(round(w * (1 - f))))
        y = rng.randint(0, h - ch + 1)
        x = rng.randint(0, w - cw + 1)
        crop = image[y : y + ch, x : x + cw]
        return resize_bilinear(crop, h, w) if self.resize else crop.copy()


class JPEGCompression(Perturbation):
    """Real JPEG encoding and decoding (Pillow) at a quality drawn per image.

    Parameters
    ----------
    quality : int or (int, int), default=(10, 75)
        JPEG quality, or the inclusive range it is drawn from (Yu et al.: 10-75).
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.perturbations import JPEGCompression
    >>> x = np.random.default_rng(0).integers(0, 256, (1, 16, 16, 3), dtype=np.uint8)
    >>> JPEGCompression(quality=90).transform(x).shape
    (1, 16, 16, 3)
    """

    _parameter_constraints: dict = {"quality": "no_validation", "random_state": ["random_state"]}

    def __init__(self, *, quality=(10, 75), random_state=None):
        self.quality = quality
        self.random_state = random_state

    def _bounds(self):
        low, high = _range(self.quality, "quality", 1, 95)
        if low != int(low) or high != int(high):
            raise ValueError(f"quality must be integers, got {self.quality!r}.")
        return int(low), int(high)

    def _check(self):
        self._bounds()

    def _perturb_one(self, image, rng):
        low, high = self._bounds()
        quality = int(rng.randint(low, high + 1))
        return _jpeg(image, quality)


class Relighting(Perturbation):
    """A smooth, low-frequency multiplicative change of illumination.

    Each image is multiplied by ``exp(g)``, where ``g`` is a random smooth field: a
    linear gradient in a random direction plus a few random cosines of at most
    ``max_cycles`` periods across the image, scaled so that ``max |g|`` equals a
    strength drawn from ``strength``. The same field multiplies every channel.

    This approximates the relighting attack of Yu et al. (2019), which re-rendered
    faces under new lighting with SfSNet (a face shape/albedo/illumination model that
    gfprint does not ship): both change illumination smoothly and leave the
    high-frequency content, where fingerprints live, mostly in place.

    Parameters
    ----------
    strength : float or (float, float), default=(0.1, 0.5)
        Largest log-gain, drawn per image (0.5: up to about x1.65 / x0.61).
    max_cycles : float, default=1.5
        Highest spatial frequency of the field, in periods per image side.
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.perturbations import Relighting
    >>> x = np.full((1, 32, 32, 3), 100, np.uint8)
    >>> out = Relighting(strength=0.3, random_state=0).transform(x).astype(float)
    >>> bool(out.min() < 100 < out.max())
    True
    """

    _parameter_constraints: dict = {
        "strength": "no_validation",
        "max_cycles": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, strength=(0.1, 0.5), max_cycles=1.5, random_state=None):
        self.strength = strength
        self.max_cycles = max_cycles
        self.random_state = random_state

    def _check(self):
        _range(self.strength, "strength", 0.0, 5.0)

    def _perturb_one(self, image, rng):
        low, high = _range(self.strength, "strength", 0.0, 5.0)
        h, w = image.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        yy = yy / max(h, 1)
        xx = xx / max(w, 1)
        angle = rng.uniform(0, 2 * np.pi)
        field = np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5)
        for _ in range(3):
            fy, fx = rng.uniform(-self.max_cycles, self.max_cycles, 2)
            field = field + rng.uniform(-0.5, 0.5) * np.cos(
                2 * np.pi * (fy * yy + fx * xx) + rng.uniform(0, 2 * np.pi)
            )
        peak = np.abs(field).max()
        gain = np.exp(field * (rng.uniform(low, high) / peak if peak > 0 else 0.0))
        return _to_uint8(image * gain[..., None])


class Resize(Perturbation):
    """Resize every image by a scale factor (bilinear); the output size changes.

    Parameters
    ----------
    scale : float, default=0.5
        Factor applied to height and width (rounded to whole pixels, at least 1).
    random_state : None
        Unused (deterministic); kept for a uniform interface.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.perturbations import Resize
    >>> Resize(scale=0.5).transform(np.zeros((1, 32, 20, 3), np.uint8)).shape
    (1, 16, 10, 3)
    """

    _parameter_constraints: dict = {
        "scale": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, scale=0.5, random_state=None):
        self.scale = scale
        self.random_state = random_state

    def _perturb_one(self, image, rng):
        h, w = image.shape[:2]
        return resize_bilinear(
            image, max(1, round(h * self.scale)), max(1, round(w * self.scale))
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False  # nothing is drawn, whatever random_state is
        return tags


class RandomPerturbation(Perturbation):
    """Yu et al.'s combination attack: each perturbation applied with probability p.

    In order: relighting, crop, blur, JPEG, noise; each one independently with
    probability ``p`` per image.

    Parameters
    ----------
    p : float, default=0.5
        Probability of each perturbation.
    relighting, crop, blur, jpeg, noise : Perturbation, default=None
        The stages; ``None`` uses the class defaults (``Relighting()``,
        ``RandomCrop()``, ``GaussianBlur()``, ``JPEGCompression()``,
        ``GaussianNoise()``). Their own ``random_state`` is ignored: draws come from
        this object's.
    random_state : int, RandomState instance or None, default=None

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.perturbations import RandomPerturbation
    >>> x = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    >>> RandomPerturbation(random_state=0).transform(x).shape
    (4, 32, 32, 3)
    """

    _parameter_constraints: dict = {
        "p": [Interval(Real, 0, 1, closed="both")],
        "relighting": [HasMethods(["perturb"]), None],
        "crop": [HasMethods(["perturb"]), None],
        "blur": [HasMethods(["perturb"]), None],
        "jpeg": [HasMethods(["perturb"]), None],
        "noise": [HasMethods(["perturb"]), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        p=0.5,
        relighting=None,
        crop=None,
        blur=None,
        jpeg=None,
        noise=None,
        random_state=None,
    ):
        self.p = p
        self.relighting = relighting
        self.crop = crop
        self.blur = blur
        self.jpeg = jpeg
        self.noise = noise
        self.random_state = random_state

    def _stages(self):
        defaults = (Relighting, RandomCrop, GaussianBlur, JPEGCompression, GaussianNoise)
        given = (self.relighting, self.crop, self.blur, self.jpeg, self.noise)
        return [g if g is not None else d() for g, d in zip(given, defaults)]

    def _check(self):
        for stage in self._stages():  # the stages' own parameters too: their transform
            validate_parameters(stage)  # is never called, so nothing else checks them
            stage._check()

    def _sizes_vary(self):  # a crop that is not resized back: a list, as for the crop
        return any(stage._sizes_vary() for stage in self._stages())

    def _perturb_one(self, image, rng):
        for stage in self._stages():
            if rng.uniform() < self.p:
                image = stage._perturb_one(image, rng)
        return image
