"""Load a folder of images organised as ``root/<source>/<image>``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._validation import _IMAGE_SUFFIXES, check_images

__all__ = ["load_image_folder"]


def load_image_folder(root, *, lazy=False, suffixes=_IMAGE_SUFFIXES):
    """Load images from ``root/<source>/*`` with the folder name as label.

    Parameters
    ----------
    root : str or os.PathLike
        Folder whose sub-folders are the sources (cameras, GANs, ``real``, ...).
    lazy : bool, default=False
        Return file paths instead of pixel arrays; gfprint estimators read them in
        batches, so datasets larger than memory work.
    suffixes : str or tuple of str, default=(".png", ".jpg", ".jpeg", ...)
        File name endings that count as images (case-insensitive); other files, and
        hidden files and folders (names starting with a dot), are ignored.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``images`` (``(n, H, W[, C])``, only when ``lazy=False``: the files' type,
        uint8, uint16 or float32; float32 on [0, 1] when files of different bit
        depths are mixed, each scaled by its own type) or
        ``paths`` (list of str, only when ``lazy=True``), ``target`` (source name per
        image), ``target_names`` (sorted sources) and ``filenames``.

    Raises
    ------
    FileNotFoundError
        If ``root`` does not exist.
    NotADirectoryError
        If ``root`` is a file.
    ValueError
        If there is no source folder, a source folder holds no image, or (when
        loading) images differ in size or number of channels.
    gfprint.ImageReadError
        If a file cannot be decoded; the message names it.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from PIL import Image
    >>> from gfprint.datasets import load_image_folder
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for src in ("real", "gan"):
    ...     (root / src).mkdir()
    ...     Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / src / "a.png")
    >>> data = load_image_folder(root)
    >>> data.images.shape, data.target.tolist()
    ((2, 8, 8, 3), ['gan', 'real'])
    """
    root = Path(root)
    if root.is_file():
        raise NotADirectoryError(
            f"{os.fspath(root)!r} is a file; give the folder that holds the source folders."
        )
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {os.fspath(root)!r} does not exist.")
    sources = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not sources:
        raise ValueError(
            f"{os.fspath(root)!r} has no source sub-folders; expected root/<source>/<image>."
        )
    if isinstance(suffixes, str):  # one suffix, not its letters
        suffixes = (suffixes,)
    wanted = tuple(s.lower() for s in suffixes)
    paths, target = [], []
    for src in sources:
        # Not is_file(): a broken link named like an image is kept, so that reading it
        # reports it instead of dropping it in silence. Hidden files are skipped, as
        # hidden folders are (macOS writes "._name.png" companions that are no images).
        files = sorted(p for p in src.iterdir()
                       if not p.is_dir() and not p.name.startswith(".")
                       and p.name.lower().endswith(wanted))
        if not files:
            raise ValueError(f"source folder {os.fspath(src)!r} contains no image files.")
        paths += [os.fspath(p) for p in files]
        target += [src.name] * len(files)
    data = Bunch(
        target=np.array(target),
        target_names=np.array([s.name for s in sources]),
        filenames=np.array(paths),
    )
    if lazy:
        data.paths = paths
    else:
        data.images = _load_stack(paths)
    return data


def _load_stack(paths):
    """All images in one array; files of different bit depths as float32 on [0, 1]."""
    from .._validation import read_image, to_working_float

    def unit(img, where):
        return to_working_float(img, where=where) / np.float32(255.0)

    first = read_image(paths[0])
    out = np.empty((len(paths),) + first.shape, first.dtype)
    out[0] = first
    for i, path in enumerate(paths[1:], start=1):
        img = read_image(path)
        if img.shape != first.shape:
            # Another size: lazy loading takes it. Other channels: the estimators refuse
            # them too, so only converting the files helps.
            advice = ("load with lazy=True or resize the images to one size"
                      if img.shape[:2] != first.shape[:2] else
                      "another number of colour channels: convert the files to one "
                      "colour mode (all RGB or all grey)")
            raise ValueError(
                f"image file {path!r} has shape {img.shape}, unlike the first image "
                f"{paths[0]!r} with {first.shape}; {advice}."
            )
        if img.dtype != out.dtype and out.dtype != np.float32:
            # Another bit depth: each image is scaled by its own type (never upcast).
            converted = np.empty(out.shape, np.float32)
            converted[:i] = unit(out[:i], f"image files {paths[0]!r}...")
            out = converted
        out[i] = unit(img, f"image file {path!r}") if out.dtype == np.float32 else img
    check_images(out)
    return out
