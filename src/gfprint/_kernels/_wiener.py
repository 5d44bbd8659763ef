"""Local-variance Wiener shrinkage (Mihcak et al. 1999), fused over window sizes."""

import numpy as np
from numba import njit

_PAD = 4  # half of the largest window


@njit(cache=True, nogil=True)
def _padded_energy(x):
    h, w = x.shape
    energy = np.zeros((h + 2 * _PAD, w + 2 * _PAD), dtype=np.float32)
    for i in range(h):
        row = energy[i + _PAD]
        for j in range(w):
            row[j + _PAD] = x[i, j] * x[i, j]
    return energy


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
    zero = np.float32(0.0)
    tiny = np.float32(1e-30)
    for j in range(gain.shape[0]):
        k = j + _PAD
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
        var = max(m - nvar, zero)
        gain[j] = nvar / max(var + nvar, tiny)  # 0 where var = noise_var = 0


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
def wiener_shrink_add(x, noise_var, weight, out):
    """``out += weight * (x shrunk by the Mihcak local-variance Wiener rule)``.

    For each square window of side 3, 5, 7 and 9 the local variance is
    ``max(mean(x**2) - noise_var, 0)`` with zero padding outside ``x`` (the mean
    always divides by the window area, as ``scipy.ndimage.uniform_filter`` with
    ``mode="constant"``); the minimum ``v`` over the four gives the gain
    ``noise_var / (v + noise_var)`` (0 where both are 0), and ``x`` is shrunk to
    ``x * gain``. Adding into ``out`` combines colour channels in the wavelet domain
    without temporaries.
    """
    h, w = x.shape
    energy = _padded_energy(x)
    wp = w + 2 * _PAD
    scratch = np.empty((4, wp), np.float32)
    v3, v5, v7, v9 = scratch[0], scratch[1], scratch[2], scratch[3]
    gain = np.empty(w, dtype=np.float32)
    nvar = np.float32(noise_var)
    wt = np.float32(weight)
    for i in range(h):
        _row_gains(energy, i, nvar, v3, v5, v7, v9, gain)
        for j in range(w):
            out[i, j] += wt * x[i, j] * gain[j]
    return out


@njit(cache=True, nogil=True)
def hermitian_wiener_gain(fh, width, scale, noise_var, out):
    """Wiener gains (as in :func:`wiener_shrink_add`) of the full plane ``|F| * scale``.

    ``fh`` is ``rfft2`` output of shape ``(H, width // 2 + 1)``; ``out`` has shape
    ``(H, width)``. The magnitude plane is never formed: the shrinkage only needs its
    square, ``(re**2 + im**2) * scale**2``, written straight into the padded energy
    plane, with ``|F[k, col]| = |F[-k, -col]|`` for the columns the half spectrum
    lacks.
    """
    h, wh = fh.shape
    energy = np.zeros((h + 2 * _PAD, width + 2 * _PAD), dtype=np.float32)
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
        kk = (h - k) % h
        for col in range(wh):
            g = 0.5 * (gain[k, col] + gain[kk, (width - col) % width])
            out[k, col] = fh[k, col] * g
    return out
