"""Local-variance Wiener shrinkage (Mihcak et al. 1999), fused over window sizes."""

import numpy as np
from numba import njit

_PAD = 4  # half of the largest window


@njit(cache=True, nogil=True)
def _gain_at(v3, v5, v7, v9, k, nvar):
    """Mihcak gain at column ``k`` of the vertical window sums ``v3`` ... ``v9``.

    The horizontal sums of each in registers, the smallest of the four local
    variances, and ``nvar / (var + nvar)`` (0 where ``var = nvar = 0``).
    """
    s3 = v3[k - 1] + v3[k] + v3[k + 1]
    s5 = v5[k - 2] + v5[k - 1] + v5[k] + v5[k + 1] + v5[k + 2]
    s7 = v7[k - 3] + v7[k - 2] + v7[k - 1] + v7[k] + v7[k + 1] + v7[k + 2] + v7[k + 3]
    s9 = (
        v9[k - 4]
        + v9[k - 3]
        + v9[k - 2]
        + v9[k - 1]
        + v9[k]
        + v9[k + 1]
        + v9[k + 2]
        + v9[k + 3]
        + v9[k + 4]
    )
    m = min(
        min(s3 * np.float32(1.0 / 9.0), s5 * np.float32(1.0 / 25.0)),
        min(s7 * np.float32(1.0 / 49.0), s9 * np.float32(1.0 / 81.0)),
    )
    var = max(m - nvar, np.float32(0.0))
    return nvar / max(var + nvar, np.float32(1e-30))


@njit(cache=True, nogil=True)
def _row_gains(energy, i, nvar, v3, v5, v7, v9, gain):
    """Mihcak gains of row ``i`` into ``gain``; ``v3`` ... ``v9`` are scratch rows.

    Vertical sums of the 3, 5, 7 and 9 rows around row ``i`` first (nested), then, per
    pixel, the horizontal sums of each in registers: one pass, no running sums.
    """
    c = i + _PAD
    e0, em1, ep1 = energy[c], energy[c - 1], energy[c + 1]
    em2, ep2, em3, ep3 = energy[c - 2], energy[c + 2], energy[c - 3], energy[c + 3]
    em4, ep4 = energy[c - 4], energy[c + 4]
    for j in range(v3.shape[0]):
        a = e0[j] + em1[j] + ep1[j]
        v3[j] = a
        a += em2[j] + ep2[j]
        v5[j] = a
        a += em3[j] + ep3[j]
        v7[j] = a
        v9[j] = a + em4[j] + ep4[j]
    for j in range(gain.shape[0]):
        gain[j] = _gain_at(v3, v5, v7, v9, j + _PAD, nvar)


@njit(cache=True, nogil=True)
def _gains(energy, noise_var, out):
    """Mihcak gains of every pixel of a padded energy plane into ``out``."""
    w = out.shape[1]
    scratch = np.empty((4, w + 2 * _PAD), np.float32)
    v3, v5, v7, v9 = scratch[0], scratch[1], scratch[2], scratch[3]
    nvar = np.float32(noise_var)
    for i in range(out.shape[0]):
        _row_gains(energy, i, nvar, v3, v5, v7, v9, out[i])
    return out


@njit(cache=True, nogil=True)
def wiener_shrink_add(x, noise_var, weight, out, accumulate):
    """``out (+)= weight * (x shrunk by the Mihcak local-variance Wiener rule)``.

    For each square window of side 3, 5, 7 and 9 the local variance is
    ``max(mean(x**2) - noise_var, 0)`` with zero padding outside ``x`` (the mean
    always divides by the window area, as ``scipy.ndimage.uniform_filter`` with
    ``mode="constant"``); the minimum ``v`` over the four gives the gain
    ``noise_var / (v + noise_var)`` (0 where both are 0), and ``x`` is shrunk to
    ``x * gain``. With ``accumulate`` true the result is added into ``out``, which
    combines colour channels in the wavelet domain without temporaries; with it
    false the result overwrites ``out`` (no zeroing, no reading of ``out``). No
    default: an omitted argument would compile a variant of its own.

    Row by row: the squares of the nine rows around a row are summed vertically
    (nested windows; rows outside ``x`` read as a zero row), then the gains of the
    row are computed and applied. No energy plane is stored.
    """
    h, w = x.shape
    # The gains are computed for w16 >= w columns, a multiple of 16 (the vector loop
    # then has no scalar remainder, whose divisions and long sums cost about as
    # much per column as a whole vector), into the fifth scratch row, and applied to
    # the w real columns in a loop of their own (1.06x on 259-wide bands).
    w16 = (w + 15) // 16 * 16
    scratch = np.zeros((5, w16 + 2 * _PAD), np.float32)  # zero side padding, kept
    v3, v5, v7, v9 = scratch[0], scratch[1], scratch[2], scratch[3]
    gain = scratch[4]
    # The vertical sums land at columns _PAD ... _PAD + w - 1 of the scratch rows;
    # the columns after them stay zero (the windows' zero padding).
    u3, u5, u7, u9 = v3[_PAD:], v5[_PAD:], v7[_PAD:], v9[_PAD:]
    zero_row = np.zeros(w, np.float32)
    nvar = np.float32(noise_var)
    wt = np.float32(weight)
    for i in range(h):
        e0 = x[i]
        em1 = x[i - 1] if i >= 1 else zero_row
        ep1 = x[i + 1] if i + 1 < h else zero_row
        em2 = x[i - 2] if i >= 2 else zero_row
        ep2 = x[i + 2] if i + 2 < h else zero_row
        em3 = x[i - 3] if i >= 3 else zero_row
        ep3 = x[i + 3] if i + 3 < h else zero_row
        em4 = x[i - 4] if i >= 4 else zero_row
        ep4 = x[i + 4] if i + 4 < h else zero_row
        for j in range(w):  # same sums, in the same order, as _row_gains
            a = e0[j] * e0[j] + em1[j] * em1[j] + ep1[j] * ep1[j]
            u3[j] = a
            a += em2[j] * em2[j] + ep2[j] * ep2[j]
            u5[j] = a
            a += em3[j] * em3[j] + ep3[j] * ep3[j]
            u7[j] = a
            u9[j] = a + em4[j] * em4[j] + ep4[j] * ep4[j]
        for j in range(w16):
            gain[j] = _gain_at(v3, v5, v7, v9, j + _PAD, nvar)
        row = out[i]
        if accumulate:
            for j in range(w):
                row[j] += wt * e0[j] * gain[j]
        else:
            for j in range(w):
                row[j] = wt * e0[j] * gain[j]
    return out


@njit(cache=True, nogil=True)
def hermitian_wiener_gain(fh, width, scale, noise_var, out, energy):
    """Wiener gains (as in :func:`wiener_shrink_add`) of the full plane ``|F| * scale``.

    ``fh`` is ``rfft2`` output of shape ``(H, width // 2 + 1)``; ``out`` has shape
    ``(H, width)``. The magnitude plane is never formed: the shrinkage only needs its
    square, ``(re**2 + im**2) * scale**2``, written straight into the padded energy
    plane, with ``|F[k, col]| = |F[-k, -col]|`` for the columns the half spectrum
    lacks. ``energy`` is that plane's storage, float32 ``(H + 8, width + 8)`` of any
    content (its zero border is written here): the caller's, so that a large one
    comes from numpy (see ``residuals._filters._workspace``).
    """
    h, wh = fh.shape
    for k in range(_PAD):  # the zero border
        energy[k, :] = 0.0
        energy[h + _PAD + k, :] = 0.0
    for k in range(_PAD, h + _PAD):
        energy[k, :_PAD] = 0.0
        energy[k, width + _PAD :] = 0.0
    scale2 = np.float32(scale) * np.float32(scale)
    for k in range(h):
        row = fh[k]
        mirror = fh[(h - k) % h]
        e = energy[k + _PAD]
        for col in range(wh):
            v = row[col]
            e[col + _PAD] = (v.real * v.real + v.imag * v.imag) * scale2
        for col in range(wh, width):
            v = mirror[width - col]
            e[col + _PAD] = (v.real * v.real + v.imag * v.imag) * scale2
    return _gains(energy, noise_var, out)


@njit(cache=True, nogil=True)
def apply_hermitian_gain(fh, gain, out):
    """``out = fh * (gain[k, col] + gain[-k, -l]) / 2`` on the half spectrum.

    This is exactly ``rfft2(real(ifft2(F * gain)))`` restricted to the half plane: the
    real part of the filtered image only sees the Hermitian-symmetric part of the gain.
    """
    h, wh = fh.shape
    width = gain.shape[1]
    for k in range(h):
        g = gain[k]
        m = gain[(h - k) % h]
        f = fh[k]
        o = out[k]
        o[0] = f[0] * (0.5 * (g[0] + m[0]))
        # Column col >= 1 mirrors to width - col: a reversed view (mr[col - 1]) rather
        # than a modulo per element, so the loop runs over whole vectors.
        mr = m[width - wh + 1 :][::-1]
        for col in range(1, wh):
            o[col] = f[col] * (0.5 * (g[col] + mr[col - 1]))
    return out
