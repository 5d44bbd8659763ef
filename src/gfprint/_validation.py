"""Image validation, dtype conversion and batching shared by all estimators.

Everything in gfprint works on float32 images on the 8-bit scale 0-255 (design.md
section 2). This module is the single place that decides how an input becomes that:

* ``uint8`` is taken as is, ``uint16`` is rescaled by 255 / 65535;
* floating input must lie on [0, 1] and is multiplied by 255;
* anything else (signed integers, booleans, complex, object) is refused.

Inputs are never modified; conversion happens one batch at a time so that a large
float64 stack is never copied whole.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed

from ._utils import progress
from .exceptions import ImageReadError, NotFittedError

__all__ = [
    "ImageSet",
    "check_fitted",
    "check_images",
    "iter_batches",
    "read_image",
    "to_working_float",
]

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _is_path(obj) -> bool:
    return isinstance(obj, (str, os.PathLike))


def paths_as_list(X):
    """A 1-D NumPy array of image paths as a list; anything else unchanged.

    ``load_image_folder(...).filenames`` is such an array, and so is any NumPy
    indexing of it (``paths[train]``); a list of paths is what the readers take.
    """
    if (
        isinstance(X, np.ndarray)
        and X.ndim == 1
        and X.dtype.kind in "UO"
        and len(X) > 0
        and all(_is_path(p) for p in X.tolist())
    ):
        return X.tolist()
    return X


def check_fitted(estimator) -> None:
    """scikit-learn's ``check_is_fitted``, raising :class:`gfprint.NotFittedError`.

    gfprint's error subclasses scikit-learn's, so either ``except`` clause catches it.
    """
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(estimator)
    except SklearnNotFittedError as exc:
        raise NotFittedError(str(exc)) from None


def to_working_float(image: np.ndarray, *, where: str = "X") -> np.ndarray:
    """Return a float32 copy of ``image`` on the 8-bit scale 0-255.

    Parameters
    ----------
    image : ndarray
        Image or stack of images of dtype uint8, uint16 or floating point on [0, 1].
    where : str, default="X"
        How to name the input in error messages.

    Returns
    -------
    out : ndarray of float32
        A new array; ``image`` is left untouched.
    """
    dtype = image.dtype
    if dtype == np.uint8:
        return image.astype(np.float32)
    if dtype == np.uint16:
        return image.astype(np.float32) * np.float32(255.0 / 65535.0)
    if np.issubdtype(dtype, np.floating):
        out = image.astype(np.float32)
        if not np.isfinite(out).all():
            raise ValueError(f"{where} contains NaN or infinity; images must be finite.")
        lo, hi = (float(out.min()), float(out.max())) if out.size else (0.0, 0.0)
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"{where} is floating point with values in [{lo:.4g}, {hi:.4g}], but floating "
                "images must lie on [0, 1]. Divide 8-bit data by 255 (or pass it as uint8), "
                "or clip the values yourself."
            )
        out *= np.float32(255.0)
        return out
    raise TypeError(
        f"{where} has dtype {dtype}; expected uint8, uint16 or floating point on [0, 1]."
    )


_RGB16_LOST = (
    "colour images of 16 bits per channel are read with 8 (their top 8 bits): Pillow "
    "reads no more. Grey 16-bit images keep their 16 bits."
)


def read_image(path) -> np.ndarray:
    """Read one image file as uint8, uint16 or float32, shape ``(H, W)`` or ``(H, W, 3)``.

    Grey (``L``) and 16-bit grey (``I;16``) files keep one plane; every other mode
    (palette, RGBA, CMYK, ...) is converted to RGB by Pillow, dropping alpha. Single-
    plane 32-bit files are read at their true range, never squeezed into 8 bits:
    integer (``I``) files whose values fit 0-65535 as 16-bit intensities, floating
    (``F``) files as float32 that must lie on [0, 1] like any floating image; other
    values are refused. Colour files of 16 bits per channel (48-bit PNG or TIFF)
    are read with their top 8 bits, as Pillow reads them, with a warning.

    Raises
    ------
    ImageReadError
        If the file is missing, truncated, too large to decode safely, not an image,
        or holds values gfprint cannot interpret; the message names it.
    """
    from PIL import Image, UnidentifiedImageError

    where = repr(os.fspath(path))
    try:
        with Image.open(path) as img:
            # The decoder's raw mode says the file's depth; loading clears it.
            deep = any(";16" in str(tile.args) for tile in img.tile or ())
            img.load()
            if img.mode == "L":
                arr = np.asarray(img, dtype=np.uint8)
            elif img.mode.startswith("I;16"):
                arr = np.asarray(img).astype(np.uint16)
            elif img.mode in ("I", "F"):
                arr = _wide_plane(np.asarray(img), img.mode, where)
            else:
                if deep:
                    warnings.warn(_RGB16_LOST, stacklevel=2)
                arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError,
            Image.DecompressionBombError) as exc:
        raise ImageReadError(f"cannot read image file {where}: {exc}") from exc
    return arr


def _wide_plane(arr, mode, where):
    """A 32-bit integer or float plane at its true range, or a clear refusal."""
    lo, hi = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if mode == "I":
        if 0 <= lo and hi <= 65535:
            return arr.astype(np.uint16)
        raise ImageReadError(
            f"image file {where} is 32-bit integer with values in [{lo:.6g}, {hi:.6g}]; "
            "gfprint reads integer images of up to 16 bits (0-65535). Rescale it first."
        )
    if np.isfinite(arr).all() and 0.0 <= lo and hi <= 1.0:
        return arr.astype(np.float32)
    raise ImageReadError(
        f"image file {where} is floating point with values in [{lo:.6g}, {hi:.6g}]; "
        "floating images must be finite and lie on [0, 1]. Rescale it first."
    )


def _image_header(path) -> tuple[int, int, int]:
    """Height, width and channel count of an image file, read from its header."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            w, h = img.size
            c = 1 if img.mode in ("L", "I", "F") or img.mode.startswith("I;16") else 3
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError,
            Image.DecompressionBombError) as exc:
        raise ImageReadError(f"cannot read image file {os.fspath(path)!r}: {exc}") from exc
    return h, w, c


@dataclass(frozen=True)
class ImageSet:
    """A validated collection of images: an array or a list of file paths.

    Attributes
    ----------
    data : ndarray or list of path
        The images, untouched (arrays are always 4-D views ``(n, H, W, C)``).
    height, width, n_channels : int
        The common image geometry.
    """

    data: np.ndarray | list
    height: int
    width: int
    n_channels: int

    @property
    def n_images(self) -> int:
        """Number of images."""
        return len(self.data)

    @property
    def shape(self) -> tuple:
        """``(n, H, W, C)``, as the array of these images would have."""
        return (self.n_images, self.height, self.width, self.n_channels)

    @property
    def is_paths(self) -> bool:
        """Whether the images are file paths read lazily."""
        return isinstance(self.data, list)

    def chunk(self, start: int, stop: int) -> ImageSet:
        """The images ``start:stop`` as a new (cheap) ImageSet."""
        return ImageSet(self.data[start:stop], self.height, self.width, self.n_channels)

    def check_values(self, batch_size: int = 64) -> None:
        """Check array images for NaN, infinity and range, one batch at a time.

        Paths are read only when their images are used; this checks arrays only.
        """
        if not self.is_paths:
            for s in range(0, self.n_images, batch_size):
                to_working_float(self.data[s : s + batch_size])

    def load_raw(self) -> np.ndarray:
        """All images of this set in their own type, ``(n, H, W, C)``.

        Arrays come back as given; files as read (uint8, uint16 or float32; float32 on
        [0, 1] when files of different bit depths are mixed).
        """
        if not self.is_paths:
            return self.data
        images = [read_image(p) for p in self.data]
        images = [img[:, :, None] if img.ndim == 2 else img for img in images]
        for path, img in zip(self.data, images):
            if img.shape != (self.height, self.width, self.n_channels):
                raise ValueError(
                    f"image file {os.fspath(path)!r} has shape {img.shape}; all images in "
                    f"one call must share the first one's {(self.height, self.width)}."
                )
        mixed = _stack_mixed_dtypes(images)
        return np.stack(images) if mixed is None else mixed

    def load(self) -> np.ndarray:
        """All images of this set as float32 ``(n, H, W, C)`` on 0-255."""
        if not self.is_paths:
            return to_working_float(self.data)
        out = np.empty((self.n_images, self.height, self.width, self.n_channels), np.float32)
        for i, path in enumerate(self.data):
            img = read_image(path)
            if img.ndim == 2:
                img = img[:, :, None]
            if img.shape != out.shape[1:]:
                raise ValueError(
                    f"image file {os.fspath(path)!r} has shape {img.shape}, but the first "
                    f"image has shape {out.shape[1:]}; all images in one call must share "
                    "their size and channel count."
                )
            out[i] = to_working_float(img, where=f"image file {os.fspath(path)!r}")
        return out


def _stack_mixed_dtypes(items):
    """Stack images of different dtypes, each scaled by its own dtype.

    numpy would upcast the whole stack (an 8-bit image next to a 16-bit one would be
    read as 16-bit, 257 times too dark); each image goes to float32 on [0, 1] instead.
    """
    arrays = [np.asarray(x) for x in items]
    if len({a.dtype for a in arrays}) <= 1:
        return None
    out = []
    for i, a in enumerate(arrays):
        if not (a.dtype in (np.uint8, np.uint16) or np.issubdtype(a.dtype, np.floating)):
            return None  # refused below with the usual dtype message
        out.append(to_working_float(a, where=f"image {i}") / np.float32(255.0))
    try:
        return np.stack(out)
    except ValueError:
        return None


def check_images(X, *, min_size: int = 1, what: str = "X") -> ImageSet:
    """Validate images given as an array or a sequence of file paths.

    Parameters
    ----------
    X : array-like of shape (n, H, W) or (n, H, W, C), or sequence of path
        Images; ``C`` must be 1 or 3. A sequence of ``str``/``os.PathLike`` is read
        lazily, one batch at a time.
    min_size : int, default=1
        Smallest allowed height and width.
    what : str, default="X"
        How to name the input in error messages.

    Returns
    -------
    images : ImageSet
    """
    X = paths_as_list(X)
    if isinstance(X, (str, os.PathLike)):
        raise TypeError(
            f"{what} is a single path; pass a list of image paths "
            "(gfprint.datasets.load_image_folder lists a folder)."
        )
    if (
        isinstance(X, Sequence)
        and not isinstance(X, np.ndarray)
        and len(X) > 0
        and all(_is_path(p) for p in X)
    ):
        paths = list(X)
        h, w, c = _image_header(paths[0])
        images = ImageSet(paths, h, w, c)
    else:
        arr, cause = None, None
        if isinstance(X, Sequence) and not isinstance(X, np.ndarray) and len(X) > 0:
            arr = _stack_mixed_dtypes(X)
        try:
            arr = np.asarray(X) if arr is None else arr
        except ValueError as exc:
            arr, cause = None, exc
        if arr is None or arr.dtype == object:
            raise ValueError(
                f"{what} could not be read as an image array (mixed image sizes, or a mix "
                "of arrays and paths?); all images in one call must share their size."
            ) from (cause if arr is None else None)
        if arr.ndim == 3 and arr.shape[-1] == 3 and min(arr.shape[:2]) > 3:
            raise ValueError(
                f"{what} has shape {arr.shape}, which looks like one (H, W, 3) colour image, "
                "not a stack of grey images 3 pixels wide. For one image, pass image[None]."
            )
        if arr.ndim == 3:
            arr = arr[..., None]
        elif arr.ndim != 4:
            raise ValueError(
                f"{what} has shape {arr.shape}; expected images of shape (n, H, W) or "
                "(n, H, W, C) with C in {1, 3}, or a list of image file paths. "
                "For one image, pass image[None]."
            )
        if arr.shape[-1] not in (1, 3):
            raise ValueError(
                f"{what} has {arr.shape[-1]} channels (shape {arr.shape}); expected 1 (grey) "
                "or 3 (RGB) in the last axis."
            )
        if not (arr.dtype in (np.uint8, np.uint16) or np.issubdtype(arr.dtype, np.floating)):
            raise TypeError(
                f"{what} has dtype {arr.dtype}; expected uint8, uint16 or floating point on [0, 1]."
            )
        images = ImageSet(arr, arr.shape[1], arr.shape[2], arr.shape[3])
    if images.n_images == 0:
        raise ValueError(f"{what} contains no images.")
    if min(images.height, images.width) < min_size:
        raise ValueError(
            f"{what} has images of {images.height}x{images.width} pixels; at least "
            f"{min_size}x{min_size} are needed here."
        )
    return images


def iter_batches(
    func, images: ImageSet, *, n_jobs=None, batch_size: int = 16, verbose=False, desc="",
    extra=None, raw=False,
) -> Iterator[tuple[int, int, object]]:
    """Apply ``func`` to batches of images in parallel, yielding results in order.

    ``func(batch)`` receives float32 images ``(b, H, W, C)`` on 0-255 (a fresh array it
    may overwrite), and ``func(batch, extra[start:stop])`` when ``extra`` (e.g. the
    labels) is given. With ``raw=True`` it receives the images in their own type
    instead (:meth:`ImageSet.load_raw`: possibly the caller's array, not to be
    written), for consumers that read 8-bit images faster than their float copy.
    Work goes through :class:`joblib.Parallel` with a thread
    preference (the kernels release the GIL), so ``joblib.parallel_config(backend=...)``
    can send it elsewhere, e.g. to worker processes or a Dask cluster: a path batch is
    read where it runs, and only what ``func`` returns travels back.

    Yields
    ------
    start, stop, result
        The image range of a batch and what ``func`` returned for it.
    """
    n = images.n_images
    bounds = [(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]
    bar = progress(n, desc or "images", enabled=bool(verbose))
    try:
        tasks = (
            delayed(_run_batch)(
                func, images.chunk(s, e), None if extra is None else extra[s:e], raw
            )
            for s, e in bounds
        )
        # Our batches are the unit of work: joblib must not group them further.
        results = Parallel(
            n_jobs=n_jobs, prefer="threads", return_as="generator", batch_size=1
        )(tasks)
        for (s, e), res in zip(bounds, results):
            bar.update(e - s)
            yield s, e, res
    finally:
        bar.close()


def _run_batch(func, chunk: ImageSet, extra=None, raw=False):
    stack = chunk.load_raw() if raw else chunk.load()
    return func(stack) if extra is None else func(stack, extra)
