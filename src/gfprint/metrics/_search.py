"""Fingerprint matching with a search over shifts and scales (cropped, resized images)."""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.fft
from scipy import ndimage

from .._param_validation import Interval, validate_params
from .._utils import irfft2_own, progress
from ._correlation import _channel_first_zero_mean, _float, _pce_from_cc

__all__ = ["FingerprintMatch", "match_fingerprints"]


@dataclass(frozen=True)
class FingerprintMatch:
    """Best placement of each residual on each fingerprint (from :func:`match_fingerprints`).

    Attributes
    ----------
    pce : ndarray of float64, shape (n, k)
        Peak-to-correlation energy at the best shift and scale.
    ncc : ndarray of float64, shape (n, k)
        Normalized cross-correlation of the (rescaled) residual with the part of the
        fingerprint it overlaps at that placement.
    offset : ndarray of int, shape (n, k, 2)
        Row and column, in the fingerprint's pixel grid, of the rescaled residual's
        top-left pixel: the crop offset. Negative when the residual is larger than the
        fingerprint.
    scale : ndarray of float64, shape (n, k)
        Factor by which the image was enlarged relative to the fingerprint's frame
        (``1 / (1 - f)`` for a crop of a fraction ``f`` of the side resized back).
    """

    pce: np.ndarray
    ncc: np.ndarray
    offset: np.ndarray
    scale: np.ndarray


def _as_items(residuals):
    """A list of ``(h, w, C)`` float arrays from a stack or a sequence of residuals."""
    if isinstance(residuals, np.ndarray) or not isinstance(residuals, (list, tuple)):
        stack = _float(residuals, "residuals")
        if stack.ndim not in (3, 4):
            raise ValueError(
                f"residuals must be a stack (n, H, W[, C]) or a list of planes, got shape "
                f"{stack.shape}."
            )
        return [x if x.ndim == 3 else x[:, :, None] for x in stack]
    items = []
    for i, x in enumerate(residuals):
        x = _float(x, f"residuals[{i}]")
        if x.ndim not in (2, 3):
            raise ValueError(f"residuals[{i}] must be (h, w) or (h, w, C), got {x.shape}.")
        items.append(x if x.ndim == 3 else x[:, :, None])
    return items


def _rescale(x, scale):
    """Bilinear resampling of ``(h, w, C)`` by ``1 / scale`` (back to the fingerprint's grid)."""
    if scale == 1.0:
        return x
    h, w = x.shape[:2]
    shape = (max(1, round(h / scale)), max(1, round(w / scale)))
    out = np.empty(shape + x.shape[2:], x.dtype)
    for c in range(x.shape[2]):
        out[:, :, c] = ndimage.zoom(
            x[:, :, c], (shape[0] / h, shape[1] / w), order=1, mode="nearest", grid_mode=True
        )
    return out


class _Matcher:
    """Correlation planes of one residual at one scale against all fingerprints."""

    def __init__(self, fingerprints, neighborhood):
        self.fps = fingerprints  # (k, H, W, C)
        self.neighborhood = neighborhood
        self._ffts = {}

    def _fp_fft(self, canvas):
        if canvas not in self._ffts:
            planes = _channel_first_zero_mean(self.fps)
            self._ffts[canvas] = scipy.fft.rfft2(planes, s=canvas, axes=(2, 3))
        return self._ffts[canvas]

    def at_scale(self, x, scale):
        """``(pce, ncc, offset)`` per fingerprint of ``x`` rescaled by ``1 / scale``."""
        r = _rescale(x, scale)
        h, w = r.shape[:2]
        k, big_h, big_w = self.fps.shape[:3]
        canvas = (max(h, big_h), max(w, big_w))
        fr = scipy.fft.rfft2(_channel_first_zero_mean(r[None])[0], s=canvas, axes=(1, 2))
        cc = irfft2_own((np.conj(fr)[None] * self._fp_fft(canvas)).sum(axis=1), canvas)
        # Placements where one image lies inside the other: offsets between 0 and the
        # size difference, of either sign. Rolling the plane puts them at [0, span].
        lo = (min(0, big_h - h), min(0, big_w - w))
        span = (abs(big_h - h), abs(big_w - w))
        pce = np.empty(k)
        ncc = np.empty(k)
        offset = np.empty((k, 2), np.int64)
        for j in range(k):
            rolled = np.roll(cc[j], (-lo[0], -lo[1]), axis=(0, 1))
            pce[j], (py, px), _ = _pce_from_cc(
                np.ascontiguousarray(rolled), span[0], span[1], self.neighborhood,
                return_peak=True,
            )
            oy, ox = int(lo[0] + py), int(lo[1] + px)
            offset[j] = oy, ox
            ncc[j] = _overlap_ncc(r, self.fps[j], oy, ox)
        return pce, ncc, offset


def _overlap_ncc(r, fingerprint, oy, ox):
    """NCC (as :func:`~gfprint.metrics.ncc`) of ``r`` with the fingerprint part it overlaps."""
    h, w = r.shape[:2]
    big_h, big_w = fingerprint.shape[:2]
    y0, x0 = max(oy, 0), max(ox, 0)
    y1, x1 = min(oy + h, big_h), min(ox + w, big_w)
    if y1 <= y0 or x1 <= x0:
        return 0.0
    f = fingerprint[y0:y1, x0:x1].astype(np.float64)
    a = r[y0 - oy : y1 - oy, x0 - ox : x1 - ox].astype(np.float64)
    f -= f.mean()
    a -= a.mean()
    den = np.sqrt((a * a).sum() * (f * f).sum())
    return float((a * f).sum() / den) if den > 0 else 0.0


@validate_params(
    {
        "scales": ["array-like", None],
        "refine": [Interval(Integral, 0, None, closed="left")],
        "neighborhood": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }
)
def match_fingerprints(residuals, fingerprints, *, scales=None, refine=2, neighborhood=11,
                       verbose=False) -> FingerprintMatch:
    """Match residuals to fingerprints over all shifts and, optionally, scales.

    The camera-forensics search of Goljan & Fridrich (2008) for cropped and scaled
    images: for each candidate scale the residual is resampled back to the
    fingerprint's pixel grid, and its full cross-correlation with each fingerprint is
    computed by FFT; the PCE peak over all placements where one lies inside the other
    gives the score, the crop offset and the scale. Scales are searched coarse to fine.

    Parameters
    ----------
    residuals : array-like of shape (n, h, w[, C]), or sequence of arrays
        Noise residuals; a sequence may mix sizes. Each may be smaller or larger
        than the fingerprints.
    fingerprints : array-like of shape (k, H, W[, C])
        Fingerprints, with the residuals' number of channels.
    scales : array-like of float, default=None
        Coarse grid of scale factors (``> 0``): the factor by which an image was
        enlarged relative to the fingerprint's frame, so ``1 / (1 - f)`` after a crop
        of a fraction ``f`` of the side resized back, ``0.5`` after halving. ``None``
        searches shifts only (scale 1).
    refine : int, default=2
        Refinement rounds around each pair's best coarse scale; round ``m`` tries the
        best scale plus and minus ``step / 2**m``, with ``step`` the grid's smallest
        spacing. Ignored without ``scales`` or with a single scale.
    neighborhood : int, default=11
        Side of the square around the peak left out of the PCE energy (odd).
    verbose : bool, default=False
        Progress bar over residuals.

    Returns
    -------
    match : FingerprintMatch
        ``pce``, ``ncc``, ``offset`` and ``scale`` per residual and fingerprint.

    Notes
    -----
    Resampling is bilinear (:func:`scipy.ndimage.zoom`, ``order=1``, pixel-edge
    aligned). The PCE's correlation plane is circular on a canvas of the larger of the
    two sizes (zero padding), and the peak is searched only over placements with one
    image inside the other, so a crop offset is found exactly. Generator fingerprints
    are often quasi-periodic (up-sampling layers repeat a pattern every 2, 4 or 8
    pixels): the correlation then has peaks one period apart of nearly equal height,
    and the offset is only determined up to that period. The score is unaffected.

    Cost per residual and scale: one FFT of the residual, one inverse FFT and one
    pass over the correlation plane per fingerprint.

    References
    ----------
    .. [1] M. Goljan, J. Fridrich, "Camera identification from cropped and scaled
       images", Proc. SPIE 6819, 2008. :doi:`10.1117/12.766732`

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.metrics import match_fingerprints
    >>> rng = np.random.default_rng(0)
    >>> fps = rng.normal(size=(2, 64, 64))
    >>> crop = fps[1, 10:50, 5:45] + rng.normal(size=(40, 40))
    >>> m = match_fingerprints([crop], fps)
    >>> int(m.pce[0].argmax()), m.offset[0, 1].tolist()
    (1, [10, 5])
    """
    fps = _float(fingerprints, "fingerprints")
    if fps.ndim == 3:
        fps = fps[..., None]
    if fps.ndim != 4:
        raise ValueError(f"fingerprints must be (k, H, W[, C]), got shape {fps.shape}.")
    if neighborhood % 2 == 0:
        raise ValueError(f"neighborhood must be a positive odd integer, got {neighborhood}.")
    items = _as_items(residuals)
    for i, x in enumerate(items):
        if x.shape[2] != fps.shape[3]:
            raise ValueError(
                f"residuals[{i}] has {x.shape[2]} channel(s), the fingerprints "
                f"{fps.shape[3]}."
            )
    grid = [1.0] if scales is None else sorted({float(s) for s in np.ravel(scales)})
    if not grid or not all(np.isfinite(s) and s > 0 for s in grid):
        raise ValueError(f"scales must be positive finite numbers, got {scales!r}.")
    step = min(np.diff(grid)) if len(grid) > 1 else 0.0
    rounds = refine if step > 0 else 0

    matcher = _Matcher(fps, neighborhood)
    n, k = len(items), len(fps)
    out = FingerprintMatch(
        pce=np.full((n, k), -np.inf), ncc=np.zeros((n, k)),
        offset=np.zeros((n, k, 2), np.int64), scale=np.ones((n, k)),
    )
    bar = progress(n, "matching", unit="residual", enabled=bool(verbose))
    for i in range(n):
        tried = {}

        def evaluate(s, x=items[i], tried=tried):
            if s not in tried:
                tried[s] = matcher.at_scale(x, s)
            return tried[s]

        for s in grid:
            _keep_best(out, i, s, *evaluate(s), np.arange(k))
        for m in range(1, rounds + 1):
            delta = step / 2**m
            for j in range(k):
                best = out.scale[i, j]
                for s in (best - delta, best + delta):
                    if s > 0:
                        _keep_best(out, i, s, *evaluate(s), np.array([j]))
        bar.update(1)
    bar.close()
    return out


def _keep_best(out, i, scale, pce, ncc, offset, columns):
    better = columns[pce[columns] > out.pce[i, columns]]
    out.pce[i, better] = pce[better]
    out.ncc[i, better] = ncc[better]
    out.offset[i, better] = offset[better]
    out.scale[i, better] = scale
