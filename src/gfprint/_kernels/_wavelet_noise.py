"""The whole Mihcak wavelet-noise pass of one image in one compiled call."""

import numpy as np
from numba import njit

from ._dwt import _dwt2_kernel, _idwt2_kernel
from ._wiener import wiener_shrink_add


@njit(cache=True, nogil=True)
def wavelet_noise(image, weights, dec_lo, dec_hi, rec_lo, rec_hi, levels, noise_var):
    """Weighted sum over channels of the noise the Mihcak wavelet denoiser removes.

    ``image`` is ``(H, W, C)`` float32 and ``weights`` has ``C`` entries. For each
    channel: ``levels``-deep DWT (symmetric mode), every detail band shrunk by the
    Mihcak rule and added, weighted, into per-band accumulators. The approximation is
    zero, so one inverse DWT of the accumulated bands gives the combined noise
    (exact: the inverse DWT is linear). Returns ``(H, W)`` float32.

    One call per image keeps the GIL-holding dispatch to a minimum, so threads scale.
    Preconditions (checked by the caller): ``levels >= 1`` and small enough for the
    image, filters of one even length.
    """
    h, w, n_channels = image.shape
    acc_h = [np.empty((0, 0), np.float32) for _ in range(levels)]
    acc_v = [np.empty((0, 0), np.float32) for _ in range(levels)]
    acc_d = [np.empty((0, 0), np.float32) for _ in range(levels)]
    approx_shape = (0, 0)
    for c in range(n_channels):
        a = np.ascontiguousarray(image[:, :, c])
        for lev in range(levels):
            a, ch, cv, cd = _dwt2_kernel(a, dec_lo, dec_hi)
            if c == 0:
                acc_h[lev] = np.zeros_like(ch)
                acc_v[lev] = np.zeros_like(cv)
                acc_d[lev] = np.zeros_like(cd)
            wiener_shrink_add(ch, noise_var, weights[c], acc_h[lev])
            wiener_shrink_add(cv, noise_var, weights[c], acc_v[lev])
            wiener_shrink_add(cd, noise_var, weights[c], acc_d[lev])
        approx_shape = a.shape
    rec = np.zeros(approx_shape, np.float32)
    for lev in range(levels - 1, -1, -1):
        rec = _idwt2_kernel(rec, acc_h[lev], acc_v[lev], acc_d[lev], rec_lo, rec_hi)
    return np.ascontiguousarray(rec[:h, :w])


@njit(cache=True, nogil=True)
def finest_diagonal_abs(image, dec_lo, dec_hi):
    """Absolute values of the finest diagonal DWT band of each channel, ``(C, h, w)``.

    ``image`` is ``(H, W, C)`` float32. The level-1 diagonal band (symmetric mode) is
    the one Donoho's MAD noise estimator reads; its ``F / 2 - 1`` outer coefficients
    on each side (``F`` the filter length) mix in the mirrored border, which
    correlates the noise with itself, and are left out when the band is large enough
    to spare them. The median is taken by the caller (numpy's is faster to compile
    than Numba's and as fast to run).
    """
    n_channels = image.shape[2]
    edge = dec_lo.shape[0] // 2 - 1
    cd = _dwt2_kernel(np.ascontiguousarray(image[:, :, 0]), dec_lo, dec_hi)[3]
    trim = cd.shape[0] > 2 * edge and cd.shape[1] > 2 * edge
    h = cd.shape[0] - 2 * edge if trim else cd.shape[0]
    w = cd.shape[1] - 2 * edge if trim else cd.shape[1]
    start = edge if trim else 0
    out = np.empty((n_channels, h, w), np.float32)
    for c in range(n_channels):
        if c:
            cd = _dwt2_kernel(np.ascontiguousarray(image[:, :, c]), dec_lo, dec_hi)[3]
        for i in range(h):  # explicit loops: array assignment is slow to compile
            for j in range(w):
                out[c, i, j] = abs(cd[start + i, start + j])
    return out
