"""The whole Mihcak wavelet-noise pass of one image in one compiled call."""

import numpy as np
from numba import njit

from ._dwt import _dwt2_kernel, _idwt2_into, _idwt2_kernel
from ._wiener import wiener_shrink_add


@njit(cache=True, nogil=True)
def channel_planes(image):
    """The channels of an ``(H, W, C)`` image as float32 planes ``(C, H, W)``, one pass.

    ``image`` is uint8 or float32; one small kernel per type, so that the large
    :func:`wavelet_noise` compiles once, for float32 planes.
    """
    h, w, n_channels = image.shape
    planes = np.empty((n_channels, h, w), np.float32)
    rows = image.reshape((h, w * n_channels))
    if n_channels == 3:  # unrolled: the compiler turns it into vector shuffles
        for i in range(h):
            src = rows[i]
            r, g, b = planes[0, i], planes[1, i], planes[2, i]
            for j in range(w):
                r[j] = src[3 * j]
                g[j] = src[3 * j + 1]
                b[j] = src[3 * j + 2]
    else:
        for c in range(n_channels):
            for i in range(h):
                src = rows[i]
                dst = planes[c, i]
                for j in range(w):
                    dst[j] = src[n_channels * j + c]
    return planes


@njit(cache=True, nogil=True)
def wavelet_noise(planes, weights, dec_lo, dec_hi, rec_lo, rec_hi, levels, noise_var, out):
    """Noise the Mihcak wavelet denoiser removes, per channel or weighted over them.

    ``planes`` holds the ``C`` channels, ``(C, H, W)`` float32 (:func:`channel_planes`),
    and ``weights`` has ``C`` entries. For each channel: ``levels``-deep DWT
    (symmetric mode), every detail band shrunk by the Mihcak rule and added,
    weighted, into per-band accumulators; the approximation is zero, and the inverse
    DWT of the accumulated bands is the noise.

    ``out`` is ``(H, W, K)`` float32 and receives the result:

    * ``K == C``: channel ``c``'s noise times ``weights[c]``, each channel inverted
      on its own (the colour-kept residual);
    * ``K == 1``: the weighted sum over channels, combined in the wavelet domain and
      inverted once (exact: the inverse DWT is linear).

    The last inverse level writes image-sized planes, interleaved into ``out`` at the
    end (:func:`_interleave`), or, with ``K == 1``, straight into ``out``; ``out`` is
    returned. One call per image keeps the
    GIL-holding dispatch to a minimum, so threads scale.
    Preconditions (checked by the caller): ``levels >= 1`` and small enough for the
    image, filters of one even length, ``out`` of one of the two shapes.
    """
    n_channels, h, w = planes.shape
    separate = out.shape[2] != 1
    # Kept apart, each channel's noise goes to a plane and the planes are interleaved
    # at the end; combined, the one noise plane is written into ``out`` directly.
    noise = np.empty((n_channels if separate else 0, h, w), np.float32)
    acc_h = [np.empty((0, 0), np.float32) for _ in range(levels)]
    acc_v = [np.empty((0, 0), np.float32) for _ in range(levels)]
    acc_d = [np.empty((0, 0), np.float32) for _ in range(levels)]
    for c in range(n_channels):
        a = planes[c]
        # The first channel, and every channel when kept apart, writes the
        # accumulators; the others add into them.
        add = c > 0 and not separate
        for lev in range(levels):
            a, ch, cv, cd = _dwt2_kernel(a, dec_lo, dec_hi)
            if c == 0:
                acc_h[lev] = np.empty_like(ch)
                acc_v[lev] = np.empty_like(cv)
                acc_d[lev] = np.empty_like(cd)
            wiener_shrink_add(ch, noise_var, weights[c], acc_h[lev], add)
            wiener_shrink_add(cv, noise_var, weights[c], acc_v[lev], add)
            wiener_shrink_add(cd, noise_var, weights[c], acc_d[lev], add)
        if separate or c == n_channels - 1:  # invert; zero approximation
            rec = np.zeros(a.shape, np.float32)
            for lev in range(levels - 1, 0, -1):
                rec = _idwt2_kernel(rec, acc_h[lev], acc_v[lev], acc_d[lev], rec_lo, rec_hi)
            target = noise[c] if separate else out.reshape((h, w))
            _idwt2_into(rec, acc_h[0], acc_v[0], acc_d[0], rec_lo, rec_hi, target)
    return _interleave(noise, out) if separate else out


@njit(cache=True, nogil=True)
def _interleave(planes, out):
    """``out[:, :, c] = planes[c]``: the inverse of :func:`channel_planes`, one pass."""
    n_channels, h, w = planes.shape
    rows = out.reshape((h, w * n_channels))
    if n_channels == 3:  # unrolled, as in channel_planes
        for i in range(h):
            dst = rows[i]
            r, g, b = planes[0, i], planes[1, i], planes[2, i]
            for j in range(w):
                dst[3 * j] = r[j]
                dst[3 * j + 1] = g[j]
                dst[3 * j + 2] = b[j]
    else:
        for c in range(n_channels):
            for i in range(h):
                dst = rows[i]
                src = planes[c, i]
                for j in range(w):
                    dst[n_channels * j + c] = src[j]
    return out


@njit(cache=True, nogil=True)
def finest_diagonal_abs(planes, dec_lo, dec_hi):
    """Absolute values of the finest diagonal DWT band of each channel, ``(C, h, w)``.

    ``planes`` holds the channels, ``(C, H, W)`` float32 (:func:`channel_planes`). The
    level-1 diagonal band (symmetric mode) is the one Donoho's MAD noise estimator
    reads; its ``F / 2 - 1`` outer coefficients on each side (``F`` the filter length)
    mix in the mirrored border, which correlates the noise with itself, and are left
    out when the band is large enough to spare them. The median is taken by the
    caller (numpy's is faster to compile than Numba's and as fast to run).
    """
    n_channels = planes.shape[0]
    edge = dec_lo.shape[0] // 2 - 1
    cd = _dwt2_kernel(planes[0], dec_lo, dec_hi)[3]
    trim = cd.shape[0] > 2 * edge and cd.shape[1] > 2 * edge
    h = cd.shape[0] - 2 * edge if trim else cd.shape[0]
    w = cd.shape[1] - 2 * edge if trim else cd.shape[1]
    start = edge if trim else 0
    out = np.empty((n_channels, h, w), np.float32)
    for c in range(n_channels):
        if c:
            cd = _dwt2_kernel(planes[c], dec_lo, dec_hi)[3]
        for i in range(h):  # explicit loops: array assignment is slow to compile
            for j in range(w):
                out[c, i, j] = abs(cd[start + i, start + j])
    return out
