"""Architectures and data of the built-in GAN zoo.

The generators are small DCGAN-style networks mapping a 64-dimensional standard
normal code to a 32x32 RGB image in ``[-1, 1]``. They differ only in how they
upsample (4x4 -> 8x8 -> 16x16 -> 32x32), because the upsampling layers are what
leave the periodic traces that GAN fingerprints pick up:

``"deconv"``
    ``ConvTranspose2d(kernel_size=4, stride=2, padding=1)``, as in DCGAN.
``"upsample"``
    nearest-neighbour ``Upsample(scale_factor=2)`` followed by ``Conv2d(kernel_size=3)``.
``"pixelshuffle"``
    ``Conv2d(kernel_size=3)`` to four times the channels followed by ``PixelShuffle(2)``.

The real data are 32x32 patches of the two photos bundled with scikit-learn
(``china.jpg`` and ``flower.jpg``). Columns ``[0, 448)`` of each photo are the
training region of the generators; columns ``[448, 640)`` are held out and give the
zoo's ``"real"`` images, so that no real image was seen by any generator.

This module imports torch at the top; :mod:`gfprint.datasets` imports it lazily.
The weights are trained by ``benchmarks/train_zoo.py``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import nn

__all__ = [
    "ARCHITECTURES",
    "IMAGE_SIZE",
    "PHOTOS",
    "TRAIN_COLUMNS",
    "HELDOUT_COLUMNS",
    "Z_DIM",
    "build_generator",
    "real_patches",
    "sample",
]

Z_DIM = 64
IMAGE_SIZE = 32
ARCHITECTURES = ("deconv", "upsample", "pixelshuffle")

#: The scikit-learn sample photos, in this order (index = photo id in :func:`real_patches`).
PHOTOS = ("china.jpg", "flower.jpg")
#: Column ranges ``[start, stop)`` of the training and held-out regions (all rows).
TRAIN_COLUMNS = (0, 448)
HELDOUT_COLUMNS = (448, 640)
_REGIONS = {"train": TRAIN_COLUMNS, "heldout": HELDOUT_COLUMNS}

# Channel widths at 4x4, 8x8 and 16x16. The pixel-shuffle convolutions produce four
# times their output channels, so that generator is narrower to stay within the same
# parameter budget (about 100k-250k parameters each).
_WIDTHS = {
    "deconv": (64, 64, 32),
    "upsample": (96, 64, 32),
    "pixelshuffle": (64, 48, 24),
}


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
    """Latent code ``(n, Z_DIM)`` -> image ``(n, 3, 32, 32)`` in ``[-1, 1]``."""

    def __init__(self, architecture: str):
        super().__init__()
        c0, c1, c2 = _WIDTHS[architecture]
        self.architecture = architecture
        self.c0 = c0
        # No biases before BatchNorm: BN's shift makes them redundant.
        self.project = nn.Linear(Z_DIM, c0 * 4 * 4, bias=False)
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


def build_generator(architecture: str) -> nn.Module:
    """A freshly initialised zoo generator.

    Parameters
    ----------
    architecture : {"deconv", "upsample", "pixelshuffle"}
        How the generator upsamples 4x4 -> 8x8 -> 16x16 -> 32x32: transposed
        convolution, nearest-neighbour upsampling + convolution, or sub-pixel
        convolution + pixel shuffle.

    Returns
    -------
    generator : torch.nn.Module
        Maps ``(n, Z_DIM)`` float32 codes to ``(n, 3, IMAGE_SIZE, IMAGE_SIZE)`` images
        in ``[-1, 1]``. It has BatchNorm layers: call ``.eval()`` before sampling.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}.")
    return _Generator(architecture)


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
    z = torch.randn(int(n), Z_DIM, generator=gen)
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
def _photos() -> tuple[np.ndarray, ...]:
    """The scikit-learn sample photos in :data:`PHOTOS` order, read-only (decoded once)."""
    from sklearn.datasets import load_sample_images

    bunch = load_sample_images()
    by_name = {path.replace("\\", "/").rsplit("/", 1)[-1]: img for path, img in
               zip(bunch.filenames, bunch.images)}
    photos = tuple(np.asarray(by_name[name], dtype=np.uint8) for name in PHOTOS)
    for photo in photos:
        photo.flags.writeable = False
    return photos


def real_patches(
    n: int,
    size: int = IMAGE_SIZE,
    region: str = "heldout",
    rng: np.random.Generator | None = None,
    *,
    photos: tuple[str, ...] = PHOTOS,
) -> np.ndarray:
    """Random square patches of the scikit-learn sample photos.

    Each patch comes from a photo chosen uniformly among ``photos``, at a uniform
    random integer offset inside ``region`` (so the 8x8 JPEG grid of the photos falls
    at a different phase in different patches), and is flipped left-right with
    probability 0.5. Draws from ``rng``, in this order: photo indices, row offsets,
    column offsets, flips (``n`` of each).

    Parameters
    ----------
    n : int
        Number of patches.
    size : int, default=32
        Side of the square patches, in pixels.
    region : {"heldout", "train"}, default="heldout"
        ``"train"``: columns ``[0, 448)`` of each photo, used to train the zoo's
        generators; ``"heldout"``: columns ``[448, 640)``, never seen in training.
        All rows in both cases.
    rng : numpy.random.Generator, default=None
        Source of randomness; ``None`` means ``np.random.default_rng()``.
    photos : tuple of str, default=("china.jpg", "flower.jpg")
        Photos to draw from (a subset of :data:`PHOTOS`).

    Returns
    -------
    patches : ndarray of shape (n, size, size, 3), dtype uint8
    """
    if region not in _REGIONS:
        raise ValueError(f"region must be 'heldout' or 'train', got {region!r}.")
    unknown = [p for p in photos if p not in PHOTOS]
    if unknown or not photos:
        raise ValueError(f"photos must be a non-empty subset of {PHOTOS}, got {photos!r}.")
    start, stop = _REGIONS[region]
    if not 1 <= size <= stop - start:
        raise ValueError(f"size must be in [1, {stop - start}], got {size!r}.")
    rng = np.random.default_rng() if rng is None else rng
    images = [_photos()[PHOTOS.index(p)] for p in photos]
    height = images[0].shape[0]  # both photos are 427 x 640

    which = rng.integers(0, len(images), n)
    ys = rng.integers(0, height - size + 1, n)
    xs = rng.integers(start, stop - size + 1, n)
    flips = rng.random(n) < 0.5
    out = np.empty((n, size, size, 3), dtype=np.uint8)
    for i, (k, y, x, flip) in enumerate(zip(which, ys, xs, flips)):
        patch = images[k][y : y + size, x : x + size]
        out[i] = patch[:, ::-1] if flip else patch
    return out
