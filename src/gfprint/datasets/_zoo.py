"""The built-in GAN zoo: generators trained by ``benchmarks/train_zoo.py``, shipped."""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from importlib import resources
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._image import _jpeg
from ..exceptions import GfprintError

__all__ = ["DIFFICULTIES", "load_gan_zoo", "zoo_sources"]

#: Post-processing levels of :func:`load_gan_zoo`, applied alike to every source.
DIFFICULTIES = ("clean", "jpeg", "crop", "crop+jpeg")
JPEG_QUALITY = 75
CROP_SIZE = 24
REAL = "real"

_DATA_DIR = None  # tests point this at a copy of the data folder


def _data_dir() -> Path:
    if _DATA_DIR is not None:
        return Path(_DATA_DIR)
    return Path(str(resources.files("gfprint.datasets").joinpath("data")))


def _manifest() -> dict:
    path = _data_dir() / "manifest.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise GfprintError(
            f"the GAN zoo manifest {path} is missing or unreadable ({exc}); reinstall gfprint."
        ) from exc


def zoo_sources() -> list[str]:
    """Names of the zoo's sources: ``"real"`` and every shipped generator, sorted.

    Examples
    --------
    >>> from gfprint.datasets import zoo_sources
    >>> "real" in zoo_sources()
    True
    """
    return sorted([REAL, *_manifest()["generators"]])


def _load_generator(name: str, entry: dict):
    import torch  # available: _sample_sources checked

    from ._zoo_models import WIDTHS, Z_DIM, build_generator

    missing = [k for k in ("file", "sha256", "architecture") if not isinstance(entry.get(k), str)]
    if missing:
        raise GfprintError(
            f"the GAN zoo manifest entry of generator {name!r} lacks {missing}; reinstall gfprint."
        )
    path = _data_dir() / entry["file"]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise GfprintError(f"weight file {path} of generator {name!r} is missing: {exc}") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != entry["sha256"]:
        raise GfprintError(
            f"weight file {path} of generator {name!r} is corrupted or was modified: its "
            f"sha256 is {digest}, the manifest says {entry['sha256']}. Reinstall gfprint."
        )
    with np.load(io.BytesIO(raw), allow_pickle=False) as arrays:
        state = {
            key: torch.from_numpy(
                arrays[key].astype(np.float32) if arrays[key].dtype == np.float16 else arrays[key]
            )
            for key in arrays.files
        }
    try:
        generator = build_generator(
            entry["architecture"],
            widths=entry.get("widths", WIDTHS),
            z_dim=entry.get("z_dim", Z_DIM),
        )
        generator.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise GfprintError(
            f"weight file {path} does not fit generator {name!r} "
            f"({entry['architecture']}): {str(exc).splitlines()[0]}"
        ) from exc
    return generator.eval()


def _check_photos(manifest) -> None:
    """Warn if an installed photo differs from the one the zoo was built with."""
    from ._zoo_models import PHOTOS, load_photos, photo_digest

    expected = {entry["file"]: entry["sha256"] for entry in manifest.get("photos", [])}
    for (package, name), photo in zip(PHOTOS, load_photos()):
        if name in expected and photo_digest(photo) != expected[name]:
            warnings.warn(
                f"the photo {name} installed with {package} differs from the one the GAN "
                f"zoo was trained on; the zoo's 'real' images will differ from the ones "
                f"its published numbers were measured on.",
                UserWarning,
                stacklevel=4,
            )


def _sample_sources(manifest, available, chosen, n_per_source, size, random_state):
    """One block of images per chosen source; the global torch RNG is left as it was."""
    from .._optional import require

    torch = require("torch", "skimage", what="load_gan_zoo", extra="zoo")

    from ._zoo_models import real_patches, sample

    blocks = []
    with torch.random.fork_rng(devices=[]):  # building a generator draws its init weights
        for index, name in enumerate(available):
            if name not in chosen:
                continue
            seed = np.random.SeedSequence([random_state, index])
            if name == REAL:
                _check_photos(manifest)
                rng = np.random.default_rng(seed)
                block = real_patches(n_per_source, size=size, region="heldout", rng=rng)
            else:
                generator = _load_generator(name, manifest["generators"][name])
                block = sample(generator, n_per_source, rng_seed=int(seed.generate_state(1)[0]))
            blocks.append(block)
    return blocks


def _degrade(images: np.ndarray, difficulty: str, rng: np.random.Generator) -> np.ndarray:
    """Apply one difficulty level to every image (random crop offsets from ``rng``)."""
    if difficulty in ("crop", "crop+jpeg"):
        h, w = images.shape[1:3]
        oy = rng.integers(0, h - CROP_SIZE + 1, len(images))
        ox = rng.integers(0, w - CROP_SIZE + 1, len(images))
        images = np.stack(
            [img[y : y + CROP_SIZE, x : x + CROP_SIZE] for img, y, x in zip(images, oy, ox)]
        )
    if difficulty in ("jpeg", "crop+jpeg"):
        images = np.stack([_jpeg(img, JPEG_QUALITY) for img in images])
    return np.ascontiguousarray(images)


def load_gan_zoo(
    *, n_per_source=500, sources=None, size=32, difficulty="clean", random_state=0
):
    """Labelled images from the built-in GAN zoo and from held-out real photos, offline.

    The zoo holds small DCGAN-style generators that gfprint trained itself
    (``benchmarks/train_zoo.py``), all on the same data: 32x32 patches of seven photos
    that ship with scikit-image and scikit-learn. They follow the three axes of Yu et
    al. (2019): three upsampling architectures (transposed convolution,
    nearest-upsample + convolution, pixel shuffle), four training seeds of the
    transposed-convolution generator (``deconv_s0`` to ``deconv_s3``, as in their
    Table 3), and one (``deconv_subset_s0``) trained with the seed of ``deconv_s0``
    on a training set without one photo, 8 % of the patch positions (their Table 2).
    ``"real"`` images are patches of every fourth 128-pixel strip of the photos, held
    out from training: the same distribution, pixels no generator saw.

    Parameters
    ----------
    n_per_source : int, default=500
        Images per source.
    sources : str or list of str, default=None
        Sources to include (see :func:`zoo_sources`); ``None`` means all.
    size : int, default=32
        Image size the generators were trained at; only 32 is available.
    difficulty : {"clean", "jpeg", "crop", "crop+jpeg"}, default="clean"
        Post-processing applied in the same way to every source, real included:
        ``"clean"`` none; ``"jpeg"`` JPEG compression at quality 75; ``"crop"`` a random
        24x24 crop (no resizing), which breaks the alignment that fingerprint
        correlation relies on; ``"crop+jpeg"`` both. PRNU-style attribution is strong
        on ``"clean"`` and collapses with cropping; learned classifiers suffer less (Yu
        et al. 2019); accuracies at every level are in
        ``benchmarks/results/attribution.md``. Measured by ``gfprint demo`` on clean
        images (8 sources, 300 images each, trained on 1920, tested on 480; chance
        0.125): PRNU 0.844, kNN on pixels 0.329, Eigenface 0.271, CNN 0.929; among the
        four ``deconv`` seeds alone (chance 0.25): PRNU 0.992, kNN 0.417, Eigenface
        0.358, CNN 0.946. The ``"real"`` class shares the generators' photos, so it
        is the hardest one to separate by content.
    random_state : int, default=0
        Seed of the latent codes, the real patches and the crop offsets: the same
        seed gives the same images.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` uint8 ``(n, H, W, 3)``, ``target`` (source name of each image),
        ``target_names`` (sorted sources) and ``DESCR``.

    Raises
    ------
    gfprint.GfprintError
        If a weight file does not match the sha256 in the manifest.

    Examples
    --------
    >>> from gfprint.datasets import load_gan_zoo
    >>> zoo = load_gan_zoo(n_per_source=10)
    >>> zoo.images.shape[1:], zoo.images.dtype
    ((32, 32, 3), dtype('uint8'))
    """
    if (not isinstance(n_per_source, Integral) or isinstance(n_per_source, bool)
            or n_per_source < 1):
        raise ValueError(f"n_per_source must be a positive integer, got {n_per_source!r}.")
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, got {difficulty!r}.")
    if not isinstance(random_state, Integral) or random_state < 0:
        raise ValueError(
            f"random_state must be a non-negative integer (the zoo is reproducible by "
            f"seed), got {random_state!r}."
        )
    manifest = _manifest()
    available = sorted([REAL, *manifest["generators"]])
    if size != manifest.get("image_size", 32):
        raise ValueError(
            f"the zoo's generators make {manifest.get('image_size', 32)}x"
            f"{manifest.get('image_size', 32)} images; size={size!r} is not available."
        )
    if isinstance(sources, str):  # one name, not its letters
        sources = [sources]
    chosen = available if sources is None else sorted(set(sources))
    unknown = [s for s in chosen if s not in available]
    if unknown or not chosen:
        raise ValueError(f"unknown zoo sources {unknown}; available: {available}.")

    images = np.concatenate(_sample_sources(manifest, available, chosen, n_per_source, size,
                                            random_state))
    rng = np.random.default_rng(np.random.SeedSequence([random_state, 10_000]))
    images = _degrade(images, difficulty, rng)
    target = np.repeat(np.array(chosen), n_per_source)
    return Bunch(
        images=images,
        target=target,
        target_names=np.array(chosen),
        DESCR=(
            f"gfprint GAN zoo: {len(chosen)} sources x {n_per_source} images, "
            f"{images.shape[1]}x{images.shape[2]} RGB, difficulty={difficulty!r}, "
            f"random_state={random_state}. Generators: "
            + "; ".join(
                f"{n}: {manifest['generators'][n]['architecture']}, seed "
                f"{manifest['generators'][n]['seed']}, {manifest['generators'][n]['steps']} steps"
                for n in chosen
                if n != REAL
            )
        ),
    )
