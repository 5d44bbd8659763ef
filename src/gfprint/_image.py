"""Pixel-level image operations shared by datasets and perturbations (Pillow)."""

from __future__ import annotations

import io
from numbers import Integral

import numpy as np
from PIL import Image

from ._param_validation import Interval, validate_params

__all__ = ["jpeg", "resize_bilinear"]


def _pil(image: np.ndarray) -> Image.Image:
    grey = image.ndim == 2 or image.shape[2] == 1
    return Image.fromarray(
        image.reshape(image.shape[:2]) if grey else image, "L" if grey else "RGB"
    )


def _back(pil: Image.Image, like: np.ndarray) -> np.ndarray:
    out = np.asarray(pil)
    return out.reshape(out.shape[:2] + (1,)) if like.ndim == 3 and like.shape[2] == 1 else out


@validate_params(
    {
        "image": ["array-like"],
        "quality": [Interval(Integral, 1, 95, closed="both")],
    }
)
def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """Encode a uint8 image as JPEG at ``quality`` with Pillow and decode it.

    Parameters
    ----------
    image : ndarray of uint8, shape (H, W), (H, W, 1) or (H, W, 3)
        The image.
    quality : int
        JPEG quality, 1-95 (Pillow's advice: above 95 the encoder stops compressing
        and only grows the file).

    Returns
    -------
    out : ndarray of uint8, same shape

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.perturbations import jpeg
    >>> jpeg(np.full((8, 8, 3), 100, np.uint8), 75).shape
    (8, 8, 3)
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(
            f"image has dtype {image.dtype}; JPEG takes uint8 (for floats on [0, 1]: "
            "np.rint(image * 255).astype(np.uint8))."
        )
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 3))):
        raise ValueError(
            f"image has shape {image.shape}; expected (H, W), (H, W, 1) or (H, W, 3)."
        )
    return _jpeg(image, quality)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """:func:`jpeg` without the checks, for callers that validated their images."""
    buf = io.BytesIO()
    _pil(image).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as decoded:
        decoded.load()
        return _back(decoded, image)


def resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a uint8 image with Pillow (shape conventions as :func:`jpeg`)."""
    return _back(_pil(image).resize((width, height), Image.Resampling.BILINEAR), image)
