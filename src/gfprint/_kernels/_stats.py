"""Zero-mean, row normalisation and PCE kernels."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def zero_mean_cfa(x, out):
    """Zero-mean each of the four 2x2 CFA sub-grids of ``x`` into ``out``.

    On each sub-grid: subtract its mean, then its row means, then its column means
    (Lukas, Fridrich & Goljan). Both are 2-D float32; sums run in float64.
    """
    h, w = x.shape
    for i0 in range(2):
        for j0 in range(2):
            nr = (h - i0 + 1) // 2
            nc = (w - j0 + 1) // 2
            if nr == 0 or nc == 0:
                continue
            rows = np.zeros(nr)
            cols = np.zeros(nc)
            for a in range(nr):
                for b in range(nc):
                    v = np.float64(x[i0 + 2 * a, j0 + 2 * b])
                    rows[a] += v
                    cols[b] += v
            total = rows.sum()
            mean = total / (nr * nc)
            for a in range(nr):
                rows[a] /= nc
            for b in range(nc):
                cols[b] /= nr
            for a in range(nr):
                for b in range(nc):
                    out[i0 + 2 * a, j0 + 2 * b] = (
                        x[i0 + 2 * a, j0 + 2 * b] - rows[a] - cols[b] + mean
                    )
    return out


@njit(cache=True, nogil=True)
def normalize_rows(x, out):
    """Zero-mean, unit-L2-norm copy of each row of ``x`` into ``out`` (zero rows stay 0)."""
    n, d = x.shape
    for i in range(n):
        s = 0.0
        for j in range(d):
            s += x[i, j]
        mean = s / d
        ss = 0.0
        for j in range(d):
            v = x[i, j] - mean
            ss += v * v
        inv = 1.0 / np.sqrt(ss) if ss > 0.0 else 0.0
        for j in range(d):
            out[i, j] = (x[i, j] - mean) * inv
    return out


@njit(cache=True, nogil=True)
def pce_peak_energy(cc, max_shift_y, max_shift_x, neighborhood):
    """Peak and correlation energy of a circular cross-correlation ``cc``.

    ``cc[sy, sx]`` holds the correlation at shift ``(sy, sx)`` (zero shift at the
    origin). The signed maximum is searched over ``0 <= sy <= max_shift_y``,
    ``0 <= sx <= max_shift_x``; the energy is the mean of ``cc**2`` over every position
    outside the ``neighborhood x neighborhood`` square centred on the peak, with
    wrap-around (Goljan's PCE). Returns ``(peak, peak_y, peak_x, energy, n_used)``.
    """
    h, w = cc.shape
    peak = -np.inf
    py = 0
    px = 0
    for sy in range(max_shift_y + 1):
        for sx in range(max_shift_x + 1):
            if cc[sy, sx] > peak:
                peak = cc[sy, sx]
                py = sy
                px = sx
    r = neighborhood // 2
    energy = 0.0
    count = 0
    for i in range(h):
        dy = (i - py) % h
        near_y = dy <= r or dy >= h - r
        for j in range(w):
            if near_y:
                dx = (j - px) % w
                if dx <= r or dx >= w - r:
                    continue
            v = np.float64(cc[i, j])
            energy += v * v
            count += 1
    if count > 0:
        energy /= count
    return np.float64(peak), py, px, energy, count
