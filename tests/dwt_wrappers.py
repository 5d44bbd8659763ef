"""Plain-Python wrappers of the DWT kernels (shapes, contiguity, level loop), for tests.

They reproduce ``pywt.dwt2`` / ``idwt2`` / ``wavedec2`` / ``waverec2`` (mode
'symmetric') on 2-D float32 arrays, so the kernels can be compared with PyWavelets
level by level. The library calls the kernels directly, on storage carved from one
workspace (``_kernels/_wavelet_noise.py``); here :func:`_dwt2_kernel` and
:func:`_idwt2_kernel` allocate it for each call.
"""

import numpy as np

from gfprint._kernels._dwt import _dwt2_into, _idwt2_into


def _dwt2_kernel(x, dec_lo, dec_hi):
    """``_dwt2_into`` on freshly allocated bands: ``(cA, cH, cV, cD)``, no checks."""
    nf = dec_lo.shape[0]
    shape = ((x.shape[0] + nf - 1) // 2, (x.shape[1] + nf - 1) // 2)
    return _dwt2_into(x, dec_lo, dec_hi, *(np.empty(shape, np.float32) for _ in range(4)))


def _idwt2_kernel(ca, ch, cv, cd, rec_lo, rec_hi):
    """``_idwt2_into`` into a fresh ``(2R - F + 2, 2C - F + 2)`` array, no checks."""
    nf = rec_lo.shape[0]
    out = np.empty((2 * ch.shape[0] - nf + 2, 2 * ch.shape[1] - nf + 2), np.float32)
    return _idwt2_into(ca, ch, cv, cd, rec_lo, rec_hi, out)


def _filters(lo, hi):
    lo = np.ascontiguousarray(lo, dtype=np.float32)
    hi = np.ascontiguousarray(hi, dtype=np.float32)
    if lo.ndim != 1 or lo.shape != hi.shape or lo.shape[0] < 2 or lo.shape[0] % 2:
        raise ValueError("filters must be 1-D, of one common even length >= 2")
    return lo, hi


def _image(x):
    x = np.asarray(x)
    if x.ndim != 2 or x.dtype != np.float32:
        raise TypeError(f"expected a 2-D float32 array, got {x.dtype} {x.shape}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError("empty input")
    return np.ascontiguousarray(x)


def _max_level(n, filter_len):
    """``pywt.dwt_max_level(n, filter_len)``: largest L with (F - 1) * 2**L <= n."""
    if filter_len <= 1 or n < filter_len - 1:
        return 0
    level = 0
    while (filter_len - 1) << (level + 1) <= n:
        level += 1
    return level


def dwt2_sym(x, dec_lo, dec_hi):
    """One-level 2-D DWT, equal to ``pywt.dwt2(x, w, mode='symmetric')``.

    Parameters
    ----------
    x : ndarray of float32, shape (H, W)
    dec_lo, dec_hi : array_like
        Decomposition filters ``w.dec_lo``, ``w.dec_hi`` (converted to float32).

    Returns
    -------
    cA, cH, cV, cD : ndarray of float32, shape ((H + F - 1) // 2, (W + F - 1) // 2)
    """
    lo, hi = _filters(dec_lo, dec_hi)
    return _dwt2_kernel(_image(x), lo, hi)


def idwt2_sym(cA, cH, cV, cD, rec_lo, rec_hi):
    """One-level 2-D inverse DWT, equal to ``pywt.idwt2((cA, (cH, cV, cD)), w, 'symmetric')``.

    All four bands must be float32 of one shape ``(R, C)`` with ``R, C >= F // 2``.
    Returns float32 of shape ``(2R - F + 2, 2C - F + 2)``.
    """
    lo, hi = _filters(rec_lo, rec_hi)
    bands = [_image(b) for b in (cA, cH, cV, cD)]
    if any(b.shape != bands[0].shape for b in bands):
        raise ValueError("all four bands must have the same shape")
    _check_inverse_size(bands[1].shape, lo.shape[0])
    return _idwt2_kernel(bands[0], bands[1], bands[2], bands[3], lo, hi)


def _check_inverse_size(shape, filter_len):
    if min(shape) < filter_len // 2:
        raise ValueError(
            "Invalid coefficient arrays length for specified wavelet: each side must be "
            f">= filter_len // 2 = {filter_len // 2}, got {shape}"
        )


def wavedec2_sym(x, dec_lo, dec_hi, level=None):
    """Multilevel 2-D DWT, equal to ``pywt.wavedec2(x, w, mode='symmetric', level=level)``.

    Returns ``[cAn, (cHn, cVn, cDn), ..., (cH1, cV1, cD1)]`` (float32). ``level=None``
    uses ``pywt.dwt_max_level(min(x.shape), F)``; larger levels are computed
    without pywt's boundary-effect warning.
    """
    lo, hi = _filters(dec_lo, dec_hi)
    a = _image(x)
    if level is None:
        level = _max_level(min(a.shape), lo.shape[0])
    level = int(level)
    if level < 0:
        raise ValueError(f"Level value of {level} is too low . Minimum level is 0.")
    details = []
    for _ in range(level):
        a, h, v, d = _dwt2_kernel(a, lo, hi)
        details.append((h, v, d))
    details.reverse()
    return [a, *details]


def waverec2_sym(coeffs, rec_lo, rec_hi):
    """Multilevel 2-D inverse DWT, equal to ``pywt.waverec2(coeffs, w, mode='symmetric')``.

    ``coeffs`` is ``[cAn, (cHn, cVn, cDn), ..., (cH1, cV1, cD1)]`` of float32 arrays.
    As in pywt, an approximation one row (column) larger than the next details loses
    its last row (column) before each level is reconstructed.
    """
    if not isinstance(coeffs, (list, tuple)) or len(coeffs) < 1:
        raise ValueError("Expected a non-empty sequence of coefficient arrays.")
    lo, hi = _filters(rec_lo, rec_hi)
    a = _image(coeffs[0])
    if len(coeffs) == 1:
        return a
    for d in coeffs[1:]:
        if not isinstance(d, (list, tuple)) or len(d) != 3:
            raise ValueError("detail coefficients must be 3-tuples (cH, cV, cD)")
        h, v, dd = (_image(b) for b in d)
        if h.shape != v.shape or h.shape != dd.shape:
            raise ValueError("All detail shapes must be the same length.")
        for a_len, d_len in zip(a.shape, h.shape, strict=True):
            if a_len != d_len and a_len != d_len + 1:
                raise ValueError(f"approximation {a.shape} does not match details {h.shape}")
        _check_inverse_size(h.shape, lo.shape[0])
        a = _idwt2_kernel(a, h, v, dd, lo, hi)
    return a
