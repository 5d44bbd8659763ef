"""Architectures and data of the built-in GAN zoo.

The generators are DCGAN-style networks mapping a 128-dimensional standard normal
code to a 32x32 RGB image in ``[-1, 1]``, with channel widths 128, 64 and 32 at
4x4, 8x8 and 16x16. They differ only in how they upsample (4x4 -> 8x8 -> 16x16 ->
32x32), because the upsampling layers are what leave the periodic traces that GAN
fingerprints pick up:

``"deconv"``
    ``ConvTranspose2d(kernel_size=4, stride=2, padding=1)``, as in DCGAN.
``"upsample"``
    nearest-neighbour ``Upsample(scale_factor=2)`` followed by ``Conv2d(kernel_size=3)``.
``"pixelshuffle"``
    ``Conv2d(kernel_size=3)`` to four times the channels followed by ``PixelShuffle(2)``
    (Shi et al. 2016).

The real data are 32x32 patches of seven photos that ship on disk with scikit-image
(``astronaut.png``, ``chelsea.png``, ``coffee.png``, ``motorcycle_left.png``,
``rocket.jpg``) and scikit-learn (``china.jpg``, ``flower.jpg``); nothing is
downloaded. Each photo is cut into vertical strips 128 pixels wide; every fourth
strip (strips 3, 7, ...) is held out. All generators learned the training strips;
the zoo's ``"real"`` images come from the held-out strips, so they share the
generators' distribution but no generator saw their pixels.

This module imports torch at the top; :mod:`gfprint.datasets` imports it lazily.
The weights are trained by ``benchmarks/train_zoo.py``.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

import numpy as np
import torch
from torch import nn

__all__ = [
    "ARCHITECTURES",
    "HELDOUT_EVERY",
    "IMAGE_SIZE",
    "PHOTOS",
    "STRIP",
    "WIDTHS",
    "Z_DIM",
    "build_generator",
    "load_photos",
    "photo_digest",
    "real_patches",
    "sample",
]

Z_DIM = 128
IMAGE_SIZE = 32
WIDTHS = (128, 64, 32)
ARCHITECTURES = ("deconv", "upsample", "pixelshuffle")

#: ``(package, file)`` of the photos, in this order (index = photo id).
PHOTOS = (
    ("skimage", "astronaut.png"),
    ("skimage", "chelsea.png"),
    ("skimage", "coffee.png"),
    ("skimage", "motorcycle_left.png"),
    ("skimage", "rocket.jpg"),
    ("sklearn", "china.jpg"),
    ("sklearn", "flower.jpg"),
)
#: Width of the vertical strips, in pixels.
STRIP = 128
#: Strip ``j`` of a photo is held out iff ``j % HELDOUT_EVERY == HELDOUT_EVERY - 1``.
HELDOUT_EVERY = 4
_REGIONS = ("train", "heldout")


# --------------------------------------------------------------------------- models
def _upsample_layer(architecture: str, c_in: int, c_out: int, bias: bool) -> nn.Module:
    """One x2 upsampling layer of the given architecture, ``c_in`` -> ``c_out`` channels."""
    if architecture == "deconv":
        return nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1, bias=bias)
    if architecture == "upsample":
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=bias),
        )
    # pixelshuffle: sub-pixel convolution (Shi et al. 2016)
    return nn.Sequential(
        nn.Conv2d(c_in, 4 * c_out, kernel_size=3, padding=1, bias=bias),
        nn.PixelShuffle(2),
    )


class _Generator(nn.Module):
    """Latent code ``(n, z_dim)`` -> image ``(n, 3, 32, 32)`` in ``[-1, 1]``."""

    def __init__(self, architecture: str, widths: tuple, z_dim: int):
        super().__init__()
        c0, c1, c2 = widths
        self.architecture = architecture
        self.c0 = c0
        self.z_dim = z_dim
        # No biases before BatchNorm: BN's shift makes them redundant.
        self.project = nn.Linear(z_dim, c0 * 4 * 4, bias=False)
        self.body = nn.Sequential(
            nn.BatchNorm2d(c0),
            nn.ReLU(inplace=True),
            _upsample_layer(architecture, c0, c1, bias=False),  # 8x8
            nn.BatchNorm2d(c1),
            nn.ReLU(inplace=True),
            _upsample_layer(architecture, c1, c2, bias=False),  # 16x16
            nn.BatchNorm2d(c2),
            nn.ReLU(inplace=True),
            _upsample_layer(architecture, c2, 3, bias=True),  # 32x32, RGB
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent codes to images."""
        x = self.project(z).view(-1, self.c0, 4, 4)
        return self.body(x)


def build_generator(architecture: str, *, widths=WIDTHS, z_dim: int = Z_DIM) -> nn.Module:
    """A freshly initialised zoo generator (PyTorch's default initialisation).

    Parameters
    ----------
    architecture : {"deconv", "upsample", "pixelshuffle"}
        How the generator upsamples 4x4 -> 8x8 -> 16x16 -> 32x32: transposed
        convolution, nearest-neighbour upsampling + convolution, or sub-pixel
        convolution + pixel shuffle.
    widths : tuple of 3 int, default=(128, 64, 32)
        Channels at 4x4, 8x8 and 16x16.
    z_dim : int, default=128
        Dimension of the latent code.

    Returns
    -------
    generator : torch.nn.Module
        Maps ``(n, z_dim)`` float32 codes to ``(n, 3, IMAGE_SIZE, IMAGE_SIZE)`` images
        in ``[-1, 1]``. It has BatchNorm layers: call ``.eval()`` before sampling.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}.")
    widths = tuple(int(w) for w in widths)
    if len(widths) != 3 or min(widths) < 1:
        raise ValueError(f"widths must be three positive integers, got {widths!r}.")
    return _Generator(architecture, widths, int(z_dim))


def sample(generator: nn.Module, n: int, rng_seed: int, batch_size: int = 512) -> np.ndarray:
    """Draw ``n`` images from a generator, reproducibly.

    Parameters
    ----------
    generator : torch.nn.Module
        A zoo generator (see :func:`build_generator`). It is run in eval mode under
        ``torch.no_grad()``; its previous train/eval mode is restored afterwards.
    n : int
        Number of images.
    rng_seed : int
        Seed of the ``torch.Generator`` that draws the latent codes; the global torch
        random state is neither used nor changed.
    batch_size : int, default=512
        Images per forward pass (bounds memory; does not change the codes, which are
        drawn all at once).

    Returns
    -------
    images : ndarray of shape (n, 32, 32, 3), dtype uint8
        ``(x + 1) * 127.5`` rounded half to even and clipped to ``[0, 255]``.
    """
    gen = torch.Generator().manual_seed(int(rng_seed))
    z = torch.randn(int(n), getattr(generator, "z_dim", Z_DIM), generator=gen)
    device = next(generator.parameters()).device
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            chunks = [
                generator(z[i : i + batch_size].to(device)).cpu().numpy()
                for i in range(0, len(z), batch_size)
            ]
    finally:
        generator.train(was_training)
    x = np.concatenate(chunks) if chunks else np.empty((0, 3, IMAGE_SIZE, IMAGE_SIZE))
    x = np.rint((x.astype(np.float32) + 1.0) * 127.5)  # np.rint rounds half to even
    return np.clip(x, 0, 255).astype(np.uint8).transpose(0, 2, 3, 1).copy()


# ----------------------------------------------------------------------------- data
@lru_cache(maxsize=1)
def load_photos() -> tuple[np.ndarray, ...]:
    """The photos of :data:`PHOTOS`, uint8 RGB, read-only, decoded once per process.

    Read from the files that scikit-image and scikit-learn install (no download).
    """
    from PIL import Image
    from sklearn.datasets import load_sample_image

    from .._optional import require

    require("skimage", what="the GAN zoo's real photos (scikit-image ships five of them)")
    photos = []
    for package, name in PHOTOS:
        if package == "skimage":
            path = resources.files("skimage").joinpath("data", name)
            with Image.open(str(path)) as img:
                photo = np.asarray(img.convert("RGB"), dtype=np.uint8)
        else:
            photo = np.asarray(load_sample_image(name), dtype=np.uint8)
        photo.flags.writeable = False
        photos.append(photo)
    return tuple(photos)


def photo_digest(photo: np.ndarray) -> str:
    """sha256 of a photo's decoded pixels (its shape, then its bytes)."""
    h = hashlib.sha256(repr(tuple(photo.shape)).encode())
    h.update(np.ascontiguousarray(photo).tobytes())
    return h.hexdigest()


def _strips(photos, region: str, size: int, exclude) -> list:
    """``(photo id, x0, x1, n_positions)`` of every strip of ``region`` that fits a patch."""
    out = []
    for k, photo in enumerate(photos):
        if PHOTOS[k][1] in exclude:
            continue
        height, width = photo.shape[:2]
        for j, x0 in enumerate(range(0, width, STRIP)):
            x1 = min(x0 + STRIP, width)
            heldout = j % HELDOUT_EVERY == HELDOUT_EVERY - 1
            if (region == "heldout") != heldout or x1 - x0 < size or height < size:
                continue
            out.append((k, x0, x1, (height - size + 1) * (x1 - x0 - size + 1)))
    return out


def real_patches(
    n: int,
    size: int = IMAGE_SIZE,
    region: str = "heldout",
    rng: np.random.Generator | None = None,
    *,
    exclude: tuple[str, ...] = (),
) -> np.ndarray:
    """Random square patches of the zoo's photos, uniform over every patch position.

    A patch position is a photo, a strip of ``region`` and an integer offset that
    keeps the patch inside the strip; every position is equally likely (so a photo
    weighs by its area), and the patch is flipped left-right with probability 0.5.
    Offsets are arbitrary integers, so the 8x8 JPEG grid of the JPEG photos falls at
    a different phase in different patches. Draws from ``rng``, in this order: the
    ``n`` strips (``rng.choice`` weighted by positions), then an ``(n, 3)`` array of
    uniforms for row, column and flip.

    Parameters
    ----------
    n : int
        Number of patches.
    size : int, default=32
        Side of the square patches, in pixels (at most :data:`STRIP`).
    region : {"heldout", "train"}, default="heldout"
        ``"train"``: the strips the zoo's generators learned; ``"heldout"``: every
        fourth strip, never seen in training.
    rng : numpy.random.Generator, default=None
        Source of randomness; ``None`` means ``np.random.default_rng()``.
    exclude : tuple of str, default=()
        File names of photos to leave out (e.g. ``("chelsea.png",)``).

    Returns
    -------
    patches : ndarray of shape (n, size, size, 3), dtype uint8
    """
    if region not in _REGIONS:
        raise ValueError(f"region must be 'heldout' or 'train', got {region!r}.")
    names = [name for _, name in PHOTOS]
    unknown = [name for name in exclude if name not in names]
    if unknown or len(set(exclude)) >= len(names):
        raise ValueError(
            f"exclude must name some but not all of the photos {names}, got {exclude!r}."
        )
    if not 1 <= size <= STRIP:
        raise ValueError(f"size must be in [1, {STRIP}], got {size!r}.")
    rng = np.random.default_rng() if rng is None else rng
    photos = load_photos()
    table = _strips(photos, region, size, exclude)
    weights = np.array([s[3] for s in table], dtype=np.float64)
    which = rng.choice(len(table), n, p=weights / weights.sum())
    u = rng.random((n, 3))
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i, s in enumerate(which):
        k, x0, x1, _ = table[s]
        y = int(u[i, 0] * (photos[k].shape[0] - size + 1))
        x = x0 + int(u[i, 1] * (x1 - x0 - size + 1))
        patch = photos[k][y : y + size, x : x + size]
        out[i] = patch[:, ::-1] if u[i, 2] < 0.5 else patch
    return out
