"""All-pairs inner products and row statistics in one pass over float32 rows.

:func:`gfprint.metrics.ncc` needs, for every residual row ``x``, its mean, its centred
norm and its inner product with every fingerprint. Computed as a statistics pass plus a
BLAS product, the residuals are read from memory twice; :func:`fused_dots_stats` reads
them once. It walks the rows in blocks of a few rows and the columns in chunks that
fit in the L2 cache with the fingerprints' matching chunks, and computes on each chunk:

* the sum and the sum of squares of ``x - x[0]`` (the shift keeps the centred sum of
  squares free of cancellation when the mean is large against the spread);
* the inner products of two rows with four fingerprints at a time (eight independent
  accumulators: each loaded value is used four or two times, so the loop is bound by
  arithmetic, not loads).

Chunk sums are float32 (vectorised, ``fastmath`` reassociates them across SIMD lanes,
as BLAS does within ``sgemm``) and are added in float64 across chunks.
"""

import numpy as np
from numba import njit

CHUNK = 8192  # columns per chunk: 4 rows and 16 fingerprints of float32 stay in L2
ROW_BLOCK = 4  # rows that share one pass over a fingerprint chunk


@njit(cache=True, nogil=True, fastmath=True)
def _shifted_sums(x, shift):
    s = np.float32(0.0)
    q = np.float32(0.0)
    for j in range(x.shape[0]):
        v = x[j] - shift
        s += v
        q += v * v
    return s, q


@njit(cache=True, nogil=True, fastmath=True)
def _dots_2x4(x0, x1, y0, y1, y2, y3, out, i, f):
    """``out[i + a, f + b] += <x_a, y_b>`` for two rows and four fingerprints."""
    a0 = np.float32(0.0)
    a1 = np.float32(0.0)
    a2 = np.float32(0.0)
    a3 = np.float32(0.0)
    b0 = np.float32(0.0)
    b1 = np.float32(0.0)
    b2 = np.float32(0.0)
    b3 = np.float32(0.0)
    for j in range(x0.shape[0]):
        u = x0[j]
        v = x1[j]
        w0 = y0[j]
        w1 = y1[j]
        w2 = y2[j]
        w3 = y3[j]
        a0 += u * w0
        a1 += u * w1
        a2 += u * w2
        a3 += u * w3
        b0 += v * w0
        b1 += v * w1
        b2 += v * w2
        b3 += v * w3
    out[i, f] += a0
    out[i, f + 1] += a1
    out[i, f + 2] += a2
    out[i, f + 3] += a3
    out[i + 1, f] += b0
    out[i + 1, f + 1] += b1
    out[i + 1, f + 2] += b2
    out[i + 1, f + 3] += b3


@njit(cache=True, nogil=True)
def fused_dots_stats(rows, fps, dots, shifts, sums, squares):
    """Inner products and shifted sums of ``rows`` (float32, ``(n, d)``), one pass.

    ``fps`` is float32 ``(k, d)`` with ``k`` a multiple of 4 (pad with zero rows).
    Writes ``dots`` (float64, ``(n + n % 2, k)``: one spare row when ``n`` is odd),
    ``shifts[i] = rows[i, 0]``, ``sums[i] = sum(rows[i] - shifts[i])`` and
    ``squares[i] = sum((rows[i] - shifts[i]) ** 2)`` (float64, length ``n``). A NaN or
    an infinity in a row makes its sums non-finite.
    """
    n, d = rows.shape
    k = fps.shape[0]
    dots[:] = 0.0
    for i in range(n):
        shifts[i] = rows[i, 0] if d else 0.0
        sums[i] = 0.0
        squares[i] = 0.0
    for b0 in range(0, n, ROW_BLOCK):
        b1 = min(n, b0 + ROW_BLOCK)
        for c0 in range(0, d, CHUNK):
            c1 = min(d, c0 + CHUNK)
            for i in range(b0, b1):
                s, q = _shifted_sums(rows[i, c0:c1], np.float32(shifts[i]))
                sums[i] += s
                squares[i] += q
            for i in range(b0, b1, 2):
                # An odd last row is paired with itself; its twin lands in the spare row.
                x1 = rows[i + 1, c0:c1] if i + 1 < n else rows[i, c0:c1]
                for f in range(0, k, 4):
                    _dots_2x4(
                        rows[i, c0:c1], x1, fps[f, c0:c1], fps[f + 1, c0:c1],
                        fps[f + 2, c0:c1], fps[f + 3, c0:c1], dots, i, f,
                    )
    return dots
