"""The whole Mihcak wavelet-noise pass of one image in one compiled call.

Large arrays come from the caller: the channel planes, the result and a workspace
(:func:`wavelet_work_size` floats) that holds every band, accumulator and
reconstruction of the pass. Allocated with numpy they are backed by huge pages where
the system offers them (numpy advises the system to for large arrays; Numba's
allocations are not advised), and a 12-megapixel image then costs about 1,500 page
faults instead of about 100,000 (which were half of its run time on our 2-core VM).
"""

import numpy as np
from numba import njit

from ._dwt import _dwt2_into, _idwt2_into
from ._wiener import wiener_shrink_add


@njit(cache=True, nogil=True)
def channel_planes(image, planes):
    """The channels of an ``(H, W, C)`` image into float32 planes ``(C, H, W)``, one pass.

    ``image`` is uint8 or float32; one small kernel per type, so that the large
    :func:`wavelet_noise` compiles once, for float32 planes. Returns ``planes``.
    """
    h, w, n_channels = image.shape
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
def wavelet_work_size(height, width, filter_len, levels):
    """Floats of workspace :func:`wavelet_noise` needs for images of ``height x width``.

    Per level: the four DWT bands and the three accumulators; per inverse level above
    the first, its reconstruction; and the zero approximation (about 2.7 floats per
    pixel for 4 levels of db4, whatever the number of channels).
    """
    size = 0
    h, w = height, width
    for lev in range(levels):
        h = (h + filter_len - 1) // 2
        w = (w + filter_len - 1) // 2
        size += 7 * h * w
        if lev > 0:
            size += (2 * h - filter_len + 2) * (2 * w - filter_len + 2)
    return size + h * w


@njit(cache=True, nogil=True)
def _carve(work, offset, rows, cols):
    """A C-contiguous ``(rows, cols)`` view of ``work`` at ``offset``, and the next offset."""
    end = offset + rows * cols
    return work[offset:end].reshape((rows, cols)), end


@njit(cache=True, nogil=True)
def wavelet_noise(planes, weights, dec_lo, dec_hi, rec_lo, rec_hi, levels, noise_var, out,
                  work):
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

    ``work`` is a 1-D float32 array of at least :func:`wavelet_work_size` entries;
    every band, accumulator and reconstruction lives in it, and nothing image-sized
    is allocated here. With ``K == C`` the last inverse level writes each channel's
    noise over its own plane in ``planes`` (read by then), and the planes are
    interleaved into ``out`` at the end (:func:`_interleave`): ``planes`` is
    overwritten. With ``K == 1`` it writes into ``out`` and ``planes`` is left as it
    is. ``out`` is returned. One call per image keeps the GIL-holding dispatch to a
    minimum, so threads scale.
    Preconditions (checked by the caller): ``levels >= 1`` and small enough for the
    image, filters of one even length, ``out`` of one of the two shapes.
    """
    n_channels, h, w = planes.shape
    nf = dec_lo.shape[0]
    separate = out.shape[2] != 1
    if work.shape[0] < wavelet_work_size(h, w, nf, levels):
        raise ValueError("wavelet_noise: the workspace is smaller than wavelet_work_size")
    off = 0
    # Per level: the DWT's four bands (reused by every channel) and the three
    # accumulators; then the reconstructions of the inverse levels above the first.
    dwt = [np.empty((0, 0), np.float32) for _ in range(4 * levels)]
    acc = [np.empty((0, 0), np.float32) for _ in range(3 * levels)]
    rec = [np.empty((0, 0), np.float32) for _ in range(levels)]
    hl, wl = h, w
    for lev in range(levels):
        hl = (hl + nf - 1) // 2
        wl = (wl + nf - 1) // 2
        for b in range(4):
            dwt[4 * lev + b], off = _carve(work, off, hl, wl)
        for b in range(3):
            acc[3 * lev + b], off = _carve(work, off, hl, wl)
        if lev > 0:
            rec[lev], off = _carve(work, off, 2 * hl - nf + 2, 2 * wl - nf + 2)
    zero, off = _carve(work, off, hl, wl)  # the approximation, zero, at the deepest level
    zero[:] = 0.0
    for c in range(n_channels):
        a = planes[c]
        # The first channel, and every channel when kept apart, writes the
        # accumulators; the others add into them.
        add = c > 0 and not separate
        for lev in range(levels):
            j = 4 * lev
            _dwt2_into(a, dec_lo, dec_hi, dwt[j], dwt[j + 1], dwt[j + 2], dwt[j + 3])
            a = dwt[j]
            k = 3 * lev
            wiener_shrink_add(dwt[j + 1], noise_var, weights[c], acc[k], add)
            wiener_shrink_add(dwt[j + 2], noise_var, weights[c], acc[k + 1], add)
            wiener_shrink_add(dwt[j + 3], noise_var, weights[c], acc[k + 2], add)
        if separate or c == n_channels - 1:  # invert; zero approximation
            r = zero
            for lev in range(levels - 1, 0, -1):
                k = 3 * lev
                r = _idwt2_into(r, acc[k], acc[k + 1], acc[k + 2], rec_lo, rec_hi, rec[lev])
            target = planes[c] if separate else out.reshape((h, w))
            _idwt2_into(r, acc[0], acc[1], acc[2], rec_lo, rec_hi, target)
    return _interleave(planes, out) if separate else out


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
def finest_diagonal_abs(planes, dec_lo, dec_hi, bands, out):
    """Absolute values of the finest diagonal DWT band of each channel, ``(C, h, w)``.

    ``planes`` holds the channels, ``(C, H, W)`` float32 (:func:`channel_planes`). The
    level-1 diagonal band (symmetric mode) is the one Donoho's MAD noise estimator
    reads; its ``F / 2 - 1`` outer coefficients on each side (``F`` the filter length)
    mix in the mirrored border, which correlates the noise with itself, and are left
    out when the band is large enough to spare them. The median is taken by the
    caller (numpy's is faster to compile than Numba's and as fast to run).

    The caller provides the storage (from numpy: see the module docstring):
    ``bands``, float32 ``(4, h1, w1)`` with ``(h1, w1)`` the level-1 band shape, for the
    DWT, and ``out``, 1-D float32 of at least ``C * h1 * w1`` entries; the result is
    a C-contiguous view of ``out``'s start.
    """
    n_channels = planes.shape[0]
    edge = dec_lo.shape[0] // 2 - 1
    ca, ch, cv, cd = bands[0], bands[1], bands[2], bands[3]
    trim = cd.shape[0] > 2 * edge and cd.shape[1] > 2 * edge
    h = cd.shape[0] - 2 * edge if trim else cd.shape[0]
    w = cd.shape[1] - 2 * edge if trim else cd.shape[1]
    start = edge if trim else 0
    result = out[: n_channels * h * w].reshape((n_channels, h, w))
    for c in range(n_channels):
        _dwt2_into(planes[c], dec_lo, dec_hi, ca, ch, cv, cd)
        for i in range(h):  # explicit loops: array assignment is slow to compile
            for j in range(w):
                result[c, i, j] = abs(cd[start + i, start + j])
    return result
