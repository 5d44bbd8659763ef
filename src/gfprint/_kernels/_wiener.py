"""Local-variance Wiener shrinkage (Mihcak et al. 1999), fused over window sizes."""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def wiener_shrink(x, noise_var, windows, out, gain_only):
    """Shrink ``x`` by the Mihcak local-variance Wiener rule into ``out``.

    For every window size ``w`` in ``windows`` (odd, ascending) the local variance is
    ``max(mean_w(x**2) - noise_var, 0)`` with zero padding outside ``x`` (the mean
    always divides by ``w*w``, as ``scipy.ndimage.uniform_filter(mode="constant")``);
    the minimum over window sizes ``v`` gives the gain ``noise_var / (v + noise_var)``
    (0 where both are 0). ``out`` receives the gain if ``gain_only`` else ``x * gain``.

    Box sums are direct (no running sums), nested over the window sizes: each row
    first gets the vertical sums of every window height, then the horizontal sums.
    """
    h, w = x.shape
    nw = windows.shape[0]
    pad = windows[nw - 1] // 2
    wp = w + 2 * pad
    energy = np.zeros((h + 2 * pad, wp), dtype=np.float32)
    for i in range(h):
        for j in range(w):
            energy[i + pad, j + pad] = x[i, j] * x[i, j]
    vert = np.empty(wp, dtype=np.float32)
    box = np.empty(w, dtype=np.float32)
    mmin = np.empty(w, dtype=np.float32)
    nvar = np.float32(noise_var)
    for i in range(h):
        c = i + pad
        vert[:] = energy[c]
        mmin[:] = np.inf
        r_prev = 0
        for k in range(nw):
            r = windows[k] // 2
            for d in range(r_prev + 1, r + 1):
                up = energy[c - d]
                down = energy[c + d]
                for j in range(wp):
                    vert[j] += up[j] + down[j]
            r_prev = r
            box[:] = 0.0
            for d in range(pad - r, pad + r + 1):
                seg = vert[d : d + w]  # a view: indexing it from 0 lets LLVM vectorise
                for j in range(w):
                    box[j] += seg[j]
            inv_area = np.float32(1.0 / (windows[k] * windows[k]))
            for j in range(w):
                mmin[j] = min(mmin[j], box[j] * inv_area)
        for j in range(w):
            var = max(mmin[j] - nvar, np.float32(0.0))
            den = var + nvar
            gain = nvar / den if den > 0 else np.float32(0.0)
            out[i, j] = gain if gain_only else x[i, j] * gain
    return out


@njit(cache=True, nogil=True)
def hermitian_magnitude(fh, width, scale, out):
    """Full-plane ``|F| * scale`` from the half spectrum ``fh`` of a real image.

    ``fh`` is ``rfft2`` output of shape ``(H, width // 2 + 1)``; ``out`` has shape
    ``(H, width)``. Uses ``|F[k, col]| = |F[-k, -l]|`` for the missing columns.
    """
    h, wh = fh.shape
    for k in range(h):
        for col in range(width):
            if col < wh:
                out[k, col] = abs(fh[k, col]) * scale
            else:
                out[k, col] = abs(fh[(h - k) % h, width - col]) * scale
    return out


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
