"""Normalized cross-correlation, circular cross-correlation and PCE."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral

import numpy as np
import scipy.fft

from .._kernels._ncc import fused_dots_stats
from .._kernels._stats import centered_row_stats, normalize_rows, pce_peak_energy
from .._param_validation import Interval, validate_params
from .._utils import irfft2_own, readonly_view

__all__ = ["crosscorr_2d", "ncc", "normalize", "pce"]


def _float(x, name, check_finite=True):
    x = np.asarray(x)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"{name} must be a real numeric array, got dtype {x.dtype}.")
    dtype = (
        np.float32 if x.dtype in (np.float32, np.float16) or x.dtype.itemsize <= 2 else np.float64
    )
    x = x.astype(dtype, copy=False)
    if check_finite and not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return x


def normalize(rows) -> np.ndarray:
    """Zero-mean, unit-L2-norm copy of each row of a 2-D array (float32).

    Rows that are constant become zero rows, so their correlation with anything is 0.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.metrics import normalize
    >>> normalize(np.array([[1.0, 3.0]]))
    array([[-0.70710677,  0.70710677]], dtype=float32)
    """
    x = _float(rows, "rows")
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"expected a 2-D array of rows of at least one value, got shape "
                         f"{x.shape}.")
    # Row-major input only: one compiled variant per dtype (the output is a full
    # copy anyway).
    return normalize_rows(readonly_view(np.ascontiguousarray(x)), np.empty(x.shape, np.float32))


@validate_params(
    {
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }
)
def ncc(residuals, fingerprints, *, batch_size=256) -> np.ndarray:
    """Normalized cross-correlation of every residual with every fingerprint.

    Parameters
    ----------
    residuals : array-like of shape (n, ...)
        Residuals (any trailing shape, e.g. ``(H, W)``), flattened per item.
    fingerprints : array-like of shape (k, ...) or (...)
        Fingerprints with the same trailing shape as ``residuals``; a single
        fingerprint may be given without the leading axis.
    batch_size : int, default=256
        Residuals per step of the normalisation (and per matrix product on the
        BLAS path); bounds the temporary memory.

    Returns
    -------
    scores : ndarray of float64, shape (n, k)
        ``<r - mean(r), f - mean(f)> / (||r - mean(r)|| ||f - mean(f)||)``, in [-1, 1];
        0 where either side is constant.

    Notes
    -----
    The fingerprints are made zero-mean and unit-norm once. For a zero-mean ``f``,
    ``<r - mean(r), f> = <r, f>``, so the residuals are never centred or copied. For
    C-contiguous float32 residuals (what :class:`~gfprint.ResidualExtractor` returns)
    one compiled pass, in threads for large inputs, reads each residual once and
    gives its mean, its centred norm and its inner products with all fingerprints
    (which also finds NaN and infinity); other inputs take a statistics pass plus one
    matrix product (BLAS) of the raw rows. The mean times the fingerprint's
    rounding-level sum is subtracted, so the result equals the centred computation
    to float32 rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.metrics import ncc
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(2, 8, 8))
    >>> scores = ncc(f, f)
    >>> scores.shape, np.round(np.diag(scores), 6)
    ((2, 2), array([1., 1.]))
    """
    r = _float(residuals, "residuals", check_finite=False)  # the statistics pass checks
    f = _float(fingerprints, "fingerprints")
    if f.ndim == r.ndim - 1:
        f = f[None]
    if r.ndim < 2 or f.shape[1:] != r.shape[1:]:
        raise ValueError(
            f"residuals of shape {r.shape[1:]} cannot be compared with fingerprints of "
            f"shape {f.shape[1:]}; both need the same size."
        )
    d = int(np.prod(r.shape[1:]))
    if d == 0:
        raise ValueError(f"residuals of shape {r.shape[1:]} hold no values to correlate.")
    if len(r) == 0:
        return np.empty((0, len(f)), np.float64)
    fn = normalize(f.reshape(len(f), d)).astype(r.dtype, copy=False)
    fn_sums = fn.sum(axis=1, dtype=np.float64)
    rows = r.reshape(len(r), d)
    if rows.dtype == np.float32 and rows.flags.c_contiguous:
        dots, means, norms = _fused(rows, fn)
    else:
        dots = None
        # All statistics first, then all products: BLAS threads spin for a while after
        # each call and would slow statistics threads run in between.
        means, norms = _row_stats(rows, np.empty(len(r)), np.empty(len(r)))
    if not (np.isfinite(means).all() and np.isfinite(norms).all()):
        # A NaN or an infinity anywhere in a row makes its float64 sums non-finite.
        raise ValueError("residuals contains NaN or infinity.")
    out = np.empty((len(r), len(f)), np.float64)
    for s in range(0, len(r), batch_size):
        block = out[s : s + batch_size]
        block[:] = dots[s : s + batch_size] if dots is not None else rows[s : s + batch_size] @ fn.T
        block -= means[s : s + batch_size, None] * fn_sums[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            block /= norms[s : s + batch_size, None]
        block[norms[s : s + batch_size] == 0.0] = 0.0
    # The fingerprints are normalised in float32: a perfect match can come out at
    # 1 + 3e-8. The documented range holds exactly.
    return np.clip(out, -1.0, 1.0, out=out)


def _n_threads(size):
    return min(os.cpu_count() or 1, 8, max(1, size // 2**22))


def _fused(rows, fn):
    """Inner products with ``fn``, means and centred norms of float32 ``rows``, one pass.

    :func:`~gfprint._kernels._ncc.fused_dots_stats` over row blocks in threads (it
    releases the GIL); the blocks have even lengths so that only the last may need
    the spare output row.
    """
    n, d = rows.shape
    k = len(fn)
    fps = np.zeros((-(-k // 4) * 4, d), np.float32)  # zero rows up to a multiple of 4
    fps[:k] = fn
    dots = np.empty((n + n % 2, len(fps)))
    shifts, sums, squares = np.empty(n), np.empty(n), np.empty(n)
    n_threads = _n_threads(rows.size)
    pairs = -(-n // 2)
    bounds = np.unique(np.minimum(2 * np.linspace(0, pairs, n_threads + 1).astype(int), n))
    rows = readonly_view(rows)
    parts = [
        (rows[a:b], fps, dots[a : b + (b - a) % 2], shifts[a:b], sums[a:b], squares[a:b])
        for a, b in zip(bounds[:-1], bounds[1:])
    ]
    if len(parts) == 1:
        fused_dots_stats(*parts[0])
    else:
        with ThreadPoolExecutor(len(parts)) as pool:
            for job in [pool.submit(fused_dots_stats, *p) for p in parts]:
                job.result()
    means = shifts + sums / d if d else np.zeros(n)
    with np.errstate(invalid="ignore"):
        centred = squares - sums * sums / d if d else np.zeros(n)
        norms = np.sqrt(np.where(centred > 0.0, centred, 0.0))
    norms[~np.isfinite(centred)] = np.nan
    return dots[:n, :k], means, norms


def _row_stats(rows, means, norms):
    """:func:`centered_row_stats` over row blocks in threads (the kernel releases the GIL)."""
    n_threads = _n_threads(rows.size)
    rows = readonly_view(rows)
    if n_threads == 1:
        return centered_row_stats(rows, means, norms)
    bounds = np.linspace(0, len(rows), n_threads + 1).astype(int)
    with ThreadPoolExecutor(n_threads) as pool:
        jobs = [pool.submit(centered_row_stats, rows[a:b], means[a:b], norms[a:b])
                for a, b in zip(bounds[:-1], bounds[1:])]
        for job in jobs:
            job.result()
    return means, norms


def crosscorr_2d(a, b) -> np.ndarray:
    """Circular cross-correlation of two zero-meaned planes (zero shift at ``[0, 0]``).

    Parameters
    ----------
    a, b : array-like of shape (H, W)
        Planes; the smaller is zero-padded at the bottom/right to the larger size.
        Neither input is modified.

    Returns
    -------
    cc : ndarray of shape (max H, max W)
        ``cc[sy, sx] = sum_{y, x} a0[y, x] * b0[y + sy, x + sx]`` (indices modulo the
        size) with ``a0``, ``b0`` the zero-mean versions: the peak sits at the offset of
        ``a`` inside ``b`` when ``a`` was cropped from ``b``'s frame. float32 for
        float32 inputs, float64 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.metrics import crosscorr_2d
    >>> b = np.random.default_rng(0).normal(size=(32, 32))
    >>> cc = crosscorr_2d(np.roll(b, (-3, -5), axis=(0, 1)), b)
    >>> np.unravel_index(np.argmax(cc), cc.shape)
    (np.int64(3), np.int64(5))
    """
    a = _float(a, "a")
    b = _float(b, "b")
    if a.ndim != 2 or b.ndim != 2 or 0 in a.shape + b.shape:
        raise ValueError(
            f"crosscorr_2d needs non-empty 2-D planes, got shapes {a.shape} and {b.shape}."
        )
    shape = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
    fa = scipy.fft.rfft2(a - a.mean(dtype=np.float64).astype(a.dtype), s=shape)
    fb = scipy.fft.rfft2(b - b.mean(dtype=np.float64).astype(b.dtype), s=shape)
    return irfft2_own(np.conj(fa) * fb, shape)


@validate_params(
    {
        "shift_range": ["array-like"],
        "neighborhood": [Interval(Integral, 1, None, closed="left")],
        "return_peak": ["boolean"],
    }
)
def pce(a, b, *, shift_range=(0, 0), neighborhood=11, return_peak=False):
    """Peak-to-correlation energy of a residual ``a`` against a fingerprint ``b``.

    Parameters
    ----------
    a, b : array-like of shape (H, W)
        Residual and fingerprint (for cameras, usually ``image * K``).
    shift_range : tuple of int, default=(0, 0)
        Largest shifts ``(sy, sx)`` (non-negative, as in :func:`crosscorr_2d`) over
        which the peak is searched; ``(0, 0)`` tests aligned inputs only.
    neighborhood : int, default=11
        Side of the square around the peak left out of the energy (odd).
    return_peak : bool, default=False
        Also return the peak shift and height.

    Returns
    -------
    pce : float
        ``sign(p) * p**2 / E`` with ``p`` the largest correlation within the shift range
        and ``E`` the mean squared correlation outside the neighbourhood of the peak
        (wrap-around).
    shift : tuple of int
        Only with ``return_peak``.
    peak : float
        Only with ``return_peak``.

    Notes
    -----
    This follows Goljan's definition [1]_: the neighbourhood is centred on the peak and
    wraps around the borders, and the excluded values are left out of the mean (not
    counted as zeros), unlike some re-implementations.

    References
    ----------
    .. [1] M. Goljan, J. Fridrich, T. Filler, "Large scale test of sensor fingerprint
       camera identification", Proc. SPIE 7254, 2009. :doi:`10.1117/12.805701`

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.metrics import pce
    >>> rng = np.random.default_rng(0)
    >>> k = rng.normal(size=(64, 64))
    >>> pce(k + rng.normal(size=k.shape), k) > 100
    True
    """
    shifts = np.asarray(shift_range)
    if shifts.shape != (2,) or shifts.dtype.kind not in "iu":
        raise ValueError(
            f"shift_range must be two integers (rows, columns), got {shift_range!r}."
        )
    sy, sx = (int(v) for v in shifts)
    _check_neighborhood(neighborhood)
    cc = crosscorr_2d(a, b)
    if sy < 0 or sx < 0 or sy >= cc.shape[0] or sx >= cc.shape[1]:
        raise ValueError(
            f"shift_range={tuple(shift_range)} must be non-negative and smaller than the "
            f"correlation plane {cc.shape}."
        )
    return _pce_from_cc(cc, sy, sx, neighborhood, return_peak)


def _check_neighborhood(neighborhood):
    """The PCE exclusion square is centred on the peak: an odd side of at least 1."""
    if neighborhood < 1 or neighborhood % 2 == 0:
        raise ValueError(f"neighborhood must be a positive odd integer, got {neighborhood}.")


def _pce_from_cc(cc, sy, sx, neighborhood, return_peak=False):
    peak, py, px, energy, count = pce_peak_energy(cc, sy, sx, neighborhood)
    if count == 0:
        raise ValueError(
            f"a {neighborhood}x{neighborhood} neighbourhood leaves nothing of a "
            f"{cc.shape[0]}x{cc.shape[1]} correlation plane; use a smaller neighborhood."
        )
    value = (
        float(np.sign(peak) * peak * peak / energy)
        if energy > 0
        else float(np.sign(peak) * np.inf if peak != 0 else 0.0)
    )
    return (value, (int(py), int(px)), float(peak)) if return_peak else value


@validate_params(
    {
        "neighborhood": [Interval(Integral, 1, None, closed="left")],
    }
)
def pce_all_pairs(residuals, fingerprints, *, neighborhood=11) -> np.ndarray:
    """PCE (aligned, zero shift) of every residual with every fingerprint.

    Planes ``(n, H, W)``, or colour residuals ``(n, H, W, C)``, whose correlation
    plane is the sum of the channels' (a shift moves all channels together). Each
    input is transformed once; each pair costs one inverse FFT and one kernel pass.
    Returns float64 ``(n, k)``.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.metrics import pce, pce_all_pairs
    >>> rng = np.random.default_rng(0)
    >>> k = rng.normal(size=(2, 64, 64))
    >>> residuals = k + rng.normal(size=k.shape)
    >>> scores = pce_all_pairs(residuals, k)
    >>> scores.shape, scores.argmax(axis=1)
    ((2, 2), array([0, 1]))
    >>> bool(np.isclose(scores[0, 0], pce(residuals[0], k[0])))
    True
    """
    _check_neighborhood(neighborhood)
    r = _float(residuals, "residuals")
    f = _float(fingerprints, "fingerprints")
    if r.ndim == 3:
        r, f = r[..., None], f[..., None]
    if r.ndim != 4 or f.ndim != 4 or r.shape[1:] != f.shape[1:]:
        raise ValueError(
            f"residuals {r.shape} and fingerprints {f.shape} must be stacks of planes or of "
            "colour residuals of one size."
        )
    shape = r.shape[1:3]
    fr = scipy.fft.rfft2(_channel_first_zero_mean(r), axes=(2, 3))
    ff = scipy.fft.rfft2(_channel_first_zero_mean(f), axes=(2, 3))
    out = np.empty((len(r), len(f)), np.float64)
    for i in range(len(r)):
        cross = (np.conj(fr[i])[None] * ff).sum(axis=1)
        cc = irfft2_own(cross, shape)
        for j in range(len(f)):
            out[i, j] = _pce_from_cc(cc[j], 0, 0, neighborhood)
    return out


def _channel_first_zero_mean(x):
    """``(n, H, W, C)`` to ``(n, C, H, W)`` with each plane's mean removed."""
    x = np.moveaxis(x, -1, 1)
    return x - x.mean(axis=(2, 3), keepdims=True, dtype=np.float64).astype(x.dtype)
