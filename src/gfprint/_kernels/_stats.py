"""Zero-mean, row normalisation and PCE kernels."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def zero_mean_cfa(x, out):
    """Zero-mean each of the four 2x2 CFA sub-grids of ``x`` into ``out``.

    On each sub-grid: subtract its mean, then its row means, then its column means
    (Lukas, Fridrich & Goljan). Equivalently ``x - row_mean - col_mean + mean`` of the
    sub-grid, which one row-major pass of sums and one of output compute. Both are
    2-D float32; sums run in float64 (the row sums by :func:`_parity_sums`).
    """
    h, w = x.shape
    rows = np.zeros((h, 2))  # sum of row i over columns of parity p
    cols = np.zeros((2, w))  # sum of column j over rows of parity p
    row = np.empty(w)
    for i in range(h):
        ci = cols[i % 2]
        xi = x[i]
        for j in range(w):
            v = np.float64(xi[j])
            row[j] = v
            ci[j] += v
        rows[i, 0], rows[i, 1] = _parity_sums(row, w)
    n_rows = np.array([(h + 1) // 2, h // 2])
    n_cols = np.array([(w + 1) // 2, w // 2])
    means = np.zeros((2, 2))
    for p in range(2):
        for q in range(2):
            if n_rows[p] and n_cols[q]:
                total = 0.0
                for i in range(p, h, 2):
                    total += rows[i, q]
                means[p, q] = total / (n_rows[p] * n_cols[q])
    for i in range(h):
        p = i % 2
        r0 = rows[i, 0] / max(n_cols[0], 1) - means[p, 0]
        r1 = rows[i, 1] / max(n_cols[1], 1) - means[p, 1]
        ci = cols[p]
        inv = 1.0 / max(n_rows[p], 1)
        xi = x[i]
        oi = out[i]
        # The row term of each column (r0 on even columns, r1 on odd) laid out first,
        # so that the output loop runs over whole vectors.
        for j in range(0, w - 1, 2):
            row[j] = r0
            row[j + 1] = r1
        if w % 2:
            row[w - 1] = r0
        for j in range(w):
            oi[j] = xi[j] - row[j] - ci[j] * inv
    return out


@njit(cache=True, nogil=True)
def _parity_sums(row, n):
    """Sums of the even- and odd-indexed entries of ``row[:n]`` (float64); ``row`` is scratch.

    The row is folded onto itself by even offsets (which keep each entry's parity)
    until it is short, so the additions run over whole vectors; a plain running sum
    is a chain of dependent additions that the compiler may not reorder.
    """
    s0 = 0.0
    s1 = 0.0
    while n >= 32:
        half = (n // 4) * 2
        for j in range(2 * half, n):  # what lies beyond the two halves
            if j % 2:
                s1 += row[j]
            else:
                s0 += row[j]
        for j in range(half):
            row[j] += row[j + half]
        n = half
    for j in range(0, n - 1, 2):
        s0 += row[j]
        s1 += row[j + 1]
    if n % 2:
        s0 += row[n - 1]
    return s0, s1


@njit(cache=True, nogil=True)
def sample_std(x):
    """Sample standard deviation (``ddof=1``) of a 2-D array, float64 sums, one pass.

    The sums run per column over the rows (whole vectors at a time), then over the
    columns.
    """
    h, w = x.shape
    col_s = np.zeros(w)
    col_ss = np.zeros(w)
    for i in range(h):
        xi = x[i]
        for j in range(w):
            v = np.float64(xi[j])
            col_s[j] += v
            col_ss[j] += v * v
    s = 0.0
    ss = 0.0
    for j in range(w):
        s += col_s[j]
        ss += col_ss[j]
    n = h * w
    if n < 2:
        return 0.0
    var = (ss - s * s / n) / (n - 1)
    return np.sqrt(var) if var > 0.0 else 0.0


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
def centered_row_stats(x, means, norms):
    """Mean and norm of the centred row, ``||x_i - mean_i||``, of each row of ``x``.

    One pass over each row, in float64, shifted by the row's first value (which keeps
    ``sum(d**2) - sum(d)**2 / n`` free of cancellation when the mean is large against
    the spread); four independent accumulators so the loop pipelines without
    reassociating. Writes ``means`` and ``norms`` (float64, length ``n_rows``).
    """
    n, d = x.shape
    for i in range(n):
        xi = x[i]
        shift = np.float64(xi[0]) if d else 0.0
        s0 = s1 = s2 = s3 = 0.0
        q0 = q1 = q2 = q3 = 0.0
        j = 0
        while j + 4 <= d:
            a = np.float64(xi[j]) - shift
            b = np.float64(xi[j + 1]) - shift
            c = np.float64(xi[j + 2]) - shift
            e = np.float64(xi[j + 3]) - shift
            s0 += a
            s1 += b
            s2 += c
            s3 += e
            q0 += a * a
            q1 += b * b
            q2 += c * c
            q3 += e * e
            j += 4
        while j < d:
            a = np.float64(xi[j]) - shift
            s0 += a
            q0 += a * a
            j += 1
        total = (s0 + s1) + (s2 + s3)
        squares = (q0 + q1) + (q2 + q3)
        means[i] = shift + total / d if d else 0.0
        centred = squares - total * total / d if d else 0.0
        norms[i] = np.sqrt(centred) if centred > 0.0 else 0.0
    return means, norms


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
