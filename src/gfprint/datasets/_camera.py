"""Synthetic camera images with a known PRNU fingerprint."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy import ndimage
from sklearn.utils import Bunch, check_random_state

from .._param_validation import Interval, validate_params

__all__ = ["make_camera_images"]


def _scene(rng, shape, n_channels):
    """A smooth, varied scene: blurred noise at two scales, a gradient and a few discs."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    scene = np.empty((h, w, n_channels), np.float32)
    base = (
        ndimage.gaussian_filter(rng.standard_normal((h, w)).astype(np.float32), max(h, w) / 12)
        * 6.0
        + ndimage.gaussian_filter(rng.standard_normal((h, w)).astype(np.float32), 3.0) * 1.5
    )
    angle = rng.uniform(0, 2 * np.pi)
    base += (np.cos(angle) * xx / w + np.sin(angle) * yy / h) * rng.uniform(-0.6, 0.6)
    for _ in range(rng.integers(1, 4)):
        cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0.05, 0.3) * min(h, w)
        base += ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r) * rng.uniform(-0.5, 0.5)
    base = (base - base.min()) / max(float(np.ptp(base)), 1e-6)
    for c in range(n_channels):
        scene[:, :, c] = 30.0 + 190.0 * np.clip(
            base * rng.uniform(0.7, 1.0) + rng.uniform(0, 0.2), 0, 1
        )
    return scene


@validate_params(
    {
        "n_cameras": [Interval(Integral, 1, None, closed="left")],
        "n_images": [Interval(Integral, 1, None, closed="left")],
        "shape": ["array-like"],
        "n_channels": [Interval(Integral, 1, 3, closed="both")],
        "prnu_strength": [Interval(Real, 0, None, closed="left")],
        "noise_std": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }
)
def make_camera_images(
    n_cameras=4,
    n_images=20,
    shape=(256, 256),
    *,
    n_channels=3,
    prnu_strength=0.005,
    noise_std=4.0,
    random_state=None,
):
    """Images from simulated cameras, each with its own PRNU fingerprint.

    Each image follows the sensor output model of Chen et al. (2008),
    ``I = I0 + I0 * K + noise``, quantised to uint8, where ``I0`` is a smooth random
    scene, ``K`` the camera's zero-mean Gaussian PRNU factor and ``noise`` i.i.d.
    Gaussian shot/read noise.

    Parameters
    ----------
    n_cameras : int, default=4
        Number of cameras (classes).
    n_images : int, default=20
        Images per camera.
    shape : tuple of int, default=(256, 256)
        Image height and width.
    n_channels : {1, 3}, default=3
        Grey or RGB images.
    prnu_strength : float, default=0.005
        Standard deviation of ``K``. The default gives single-image NCC with the
        camera's estimated fingerprint of about 0.05 at 256x256, of the order seen
        with real cameras.
    noise_std : float, default=4.0
        Standard deviation of the additive noise, in grey levels.
    random_state : int, RandomState instance or None, default=None
        Seed for reproducible output.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` uint8 ``(n_cameras * n_images, H, W[, C])`` (no channel axis when
        ``n_channels=1``), ``target`` labels ``"camera_0"``, ..., ``target_names``,
        ``fingerprints`` the true ``K`` of each camera (float32 ``(n_cameras, H, W, C)``)
        and ``DESCR``.

    Examples
    --------
    >>> from gfprint.datasets import make_camera_images
    >>> cams = make_camera_images(n_cameras=2, n_images=3, shape=(64, 64), random_state=0)
    >>> cams.images.shape, cams.images.dtype, sorted(set(cams.target.tolist()))
    ((6, 64, 64, 3), dtype('uint8'), ['camera_0', 'camera_1'])
    """
    if n_channels not in (1, 3):
        raise ValueError(f"n_channels must be 1 or 3, got {n_channels}.")
    sides = tuple(shape)
    if len(sides) != 2 or not all(isinstance(s, Integral) and not isinstance(s, bool)
                                  and s >= 2 for s in sides):
        raise ValueError(f"shape must be two integers (height, width) of at least 2, got "
                         f"{shape!r}.")
    h, w = (int(s) for s in sides)
    for name, value in (("prnu_strength", prnu_strength), ("noise_std", noise_std)):
        if not (np.isfinite(value) and value >= 0):  # NaN made all-zero images
            raise ValueError(f"{name} must be a finite number of at least 0, got {value}.")
    rng = np.random.default_rng(check_random_state(random_state).randint(2**31 - 1))
    prnu = rng.normal(0.0, prnu_strength, (n_cameras, h, w, n_channels)).astype(np.float32)
    images = np.empty((n_cameras * n_images, h, w, n_channels), np.uint8)
    names = np.array([f"camera_{i}" for i in range(n_cameras)])
    for cam in range(n_cameras):
        for k in range(n_images):
            scene = _scene(rng, (h, w), n_channels)
            raw = scene * (1.0 + prnu[cam]) + rng.normal(0.0, noise_std, scene.shape)
            images[cam * n_images + k] = np.clip(np.rint(raw), 0, 255).astype(np.uint8)
    if n_channels == 1:
        images = images[..., 0]
    return Bunch(
        images=images,
        target=np.repeat(names, n_images),
        target_names=names,
        fingerprints=prnu,
        DESCR=(
            f"Synthetic camera images: {n_cameras} cameras x {n_images} images of {h}x{w}, "
            f"I = I0 + I0*K + noise, std(K)={prnu_strength}, noise std={noise_std}."
        ),
    )
