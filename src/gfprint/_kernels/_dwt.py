"""2-D discrete wavelet transform, ``mode='symmetric'``, matching PyWavelets.

``_dwt2_into`` / ``_idwt2_into`` compute one level of ``pywt.dwt2`` /
``pywt.idwt2`` with ``mode='symmetric'`` and the default ``axes=(-2, -1)`` on 2-D
float32 arrays, to float32 rounding, into storage the caller provides (the
library's from one numpy workspace: ``_wavelet_noise.py``;
``tests/dwt_wrappers.py`` allocates it and builds the multi-level transforms on
them to compare with PyWavelets). The filters are passed in by the
caller (``w.dec_lo``, ``w.dec_hi``, ``w.rec_lo``, ``w.rec_hi`` of a
``pywt.Wavelet``), as float32 arrays of one common even length ``F``; this module
does not import pywt.

Conventions (PyWavelets' C code):

* Forward, per axis: ``N -> (N + F - 1) // 2`` coefficients,
  ``out[o] = sum_j f[j] * x[s(2*o + 1 - j)]``, where ``s`` is the half-sample
  symmetric extension ``x[-1] = x[0], x[-2] = x[1], ..., x[N] = x[N-1]``,
  repeated with period ``2*N`` for signals shorter than the filter.
* Inverse, per axis: ``N -> 2*N - F + 2`` samples, the "valid" part of the
  upsampled convolution; it needs no extension, and ``N >= F // 2``.
* Bands: ``cH`` is high-pass along axis 0 and low-pass along axis 1, ``cV`` the
  reverse, ``cD`` high-pass along both.

Layout: both kernels are fused per output row. The forward kernel filters the input
along axis 0 over whole rows (two taps at a time, contiguous and vectorised), then
splits the two filtered rows into even/odd phases with the symmetric extension
applied once (an index map computed per call, used only near the borders; the
interior is a strided copy, which vectorises), so the axis-1 filtering is again a
contiguous multiply-add over whole rows. The inverse does the same in reverse
order: combine the coefficient rows along axis 0, then the two output phases along
axis 1, then interleave. All arithmetic is float32.

Filters of 8 taps (``db4``, the default of both residual settings, and ``sym4``) take
specialised steps (``*_taps8``, :func:`_phase_filter8`) that keep each output's
running sum in a register and store it once, and compute the outputs that share
their inputs in one loop; they add the same products in the same order as the
general steps, so the results are bit-identical (checked against the general code
when they were written: 190 arrays over 5 wavelets and 6 shapes). Other lengths
take the general steps.

The per-row steps are inlined into the two kernels (``inline="always"``, Numba's
own inlining, before LLVM sees the code). Called as separate compiled functions,
each call had a fixed cost of 10-40 ns (measured on the 2-core AMD EPYC VM:
argument passing, reference counts of the row views, reloading and broadcasting
the taps), as much as the arithmetic on the 38- to 133-wide rows of the deeper
levels; inlined, the residuals were 1.12x faster at 256x256 and 512x512 and
1.06x at 1024x1024 (side by side, bit-identical).
"""

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _reflect(t, n):
    """Index into a length-``n`` signal of sample ``t`` of its symmetric extension."""
    p = 2 * n
    t = t % p  # Python semantics (also in numba): 0 <= t < p
    if t >= n:
        t = p - 1 - t
    return t


@njit(cache=True, nogil=True)
def _dwt2_into(x, dec_lo, dec_hi, ca, ch, cv, cd):
    """One level of the 2-D DWT of ``x`` (float32, 2-D), symmetric extension.

    Written into the four bands ``ca, ch, cv, cd`` (float32, each of shape
    ``((H + F - 1) // 2, (W + F - 1) // 2)``), which are returned. ``F =
    dec_lo.shape[0]`` must be even and equal ``dec_hi.shape[0]``.
    """
    h, w = x.shape
    nf = dec_lo.shape[0]
    half = nf // 2
    wo = (w + nf - 1) // 2
    ho = ca.shape[0]

    # Axis-0 filtered rows (low / high), then their even / odd phases, extended.
    tl = np.empty(w, dtype=np.float32)
    th = np.empty(w, dtype=np.float32)
    ne = wo + half - 1
    el = np.empty(ne, dtype=np.float32)
    ol = np.empty(ne, dtype=np.float32)
    eh = np.empty(ne, dtype=np.float32)
    oh = np.empty(ne, dtype=np.float32)
    # Extended sample 2*k (resp. 2*k + 1) of a row is sample 2*k + 2 - F (resp.
    # 2*k + 3 - F) of the original, reflected.
    idx_e = np.empty(ne, dtype=np.intp)
    idx_o = np.empty(ne, dtype=np.intp)
    for k in range(ne):
        idx_e[k] = _reflect(2 * k + 2 - nf, w)
        idx_o[k] = _reflect(2 * k + 3 - nf, w)
    # Interior: 0 <= 2k + 2 - F and 2k + 3 - F <= w - 1, no reflection.
    k_lo = min(max((nf - 2 + 1) // 2, 0), ne)
    k_hi = max(min((w - 4 + nf) // 2 + 1, ne), k_lo)
    # Along axis 1: out[t] = sum_p f[F-1-2p] * E[t+p] + f[F-2-2p] * O[t+p].
    lo_e = np.empty(half, dtype=np.float32)
    lo_o = np.empty(half, dtype=np.float32)
    hi_e = np.empty(half, dtype=np.float32)
    hi_o = np.empty(half, dtype=np.float32)
    for p in range(half):
        lo_e[p] = dec_lo[nf - 1 - 2 * p]
        lo_o[p] = dec_lo[nf - 2 - 2 * p]
        hi_e[p] = dec_hi[nf - 1 - 2 * p]
        hi_o[p] = dec_hi[nf - 2 - 2 * p]

    for o in range(ho):
        # ---- axis 0: tl/th[c] = sum_j f[j] * x[s(2o + 1 - j), c].
        if nf == 8:  # db4, sym4: all taps in registers, one store per output
            _axis0_taps8(x, h, 2 * o + 1, dec_lo, dec_hi, tl, th)
        else:  # two taps a time
            _axis0_taps2(x, h, 2 * o + 1, dec_lo, dec_hi, tl, th)

        # ---- split into extended even / odd phases: strided copies inside, the
        # index map only where the symmetric extension reflects.
        for k0, k1 in ((0, k_lo), (k_hi, ne)):  # where it reflects
            for k in range(k0, k1):
                ie = idx_e[k]
                io = idx_o[k]
                el[k] = tl[ie]
                ol[k] = tl[io]
                eh[k] = th[ie]
                oh[k] = th[io]
        _split_phase(tl, el, ol, k_lo, k_hi, 2 - nf)
        _split_phase(th, eh, oh, k_lo, k_hi, 2 - nf)

        # ---- axis 1, two bands at a time (they share their loads).
        if nf == 8:
            _phase_filter8(el, ol, lo_e, lo_o, hi_e, hi_o, ca, cv, o, wo)
            _phase_filter8(eh, oh, lo_e, lo_o, hi_e, hi_o, ch, cd, o, wo)
        else:  # one band at a time (few arrays per loop: vectorises)
            _phase_filter(el, ol, lo_e, lo_o, ca, o, wo)
            _phase_filter(el, ol, hi_e, hi_o, cv, o, wo)
            _phase_filter(eh, oh, lo_e, lo_o, ch, o, wo)
            _phase_filter(eh, oh, hi_e, hi_o, cd, o, wo)
    return ca, ch, cv, cd


@njit(cache=True, nogil=True, inline="always")
def _axis0_taps2(x, h, top, f, g, tl, th):
    """``tl[c] = sum_j f[j] * x[s(top - j), c]`` (``th`` with ``g``), two taps a time."""
    w = tl.shape[0]
    ra = _reflect(top, h)
    rb = _reflect(top - 1, h)
    a0 = f[0]
    a1 = f[1]
    b0 = g[0]
    b1 = g[1]
    for c in range(w):
        va = x[ra, c]
        vb = x[rb, c]
        tl[c] = a0 * va + a1 * vb
        th[c] = b0 * va + b1 * vb
    for j in range(2, f.shape[0], 2):
        ra = _reflect(top - j, h)
        rb = _reflect(top - 1 - j, h)
        a0 = f[j]
        a1 = f[j + 1]
        b0 = g[j]
        b1 = g[j + 1]
        for c in range(w):
            va = x[ra, c]
            vb = x[rb, c]
            tl[c] += a0 * va + a1 * vb
            th[c] += b0 * va + b1 * vb


@njit(cache=True, nogil=True, inline="always")
def _axis0_taps8(x, h, top, f, g, tl, th):
    """:func:`_axis0_taps2` for 8 taps, each output summed in registers and stored once.

    The same products added in the same order, so the result is bit-identical; on
    whole rows it is about 1.3x faster (fewer loads and stores of ``tl`` / ``th``).
    """
    w = tl.shape[0]
    x0 = x[_reflect(top, h)]
    x1 = x[_reflect(top - 1, h)]
    x2 = x[_reflect(top - 2, h)]
    x3 = x[_reflect(top - 3, h)]
    x4 = x[_reflect(top - 4, h)]
    x5 = x[_reflect(top - 5, h)]
    x6 = x[_reflect(top - 6, h)]
    x7 = x[_reflect(top - 7, h)]
    f0, f1, f2, f3, f4, f5, f6, f7 = f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]
    g0, g1, g2, g3, g4, g5, g6, g7 = g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
    for c in range(w):
        v0 = x0[c]
        v1 = x1[c]
        v2 = x2[c]
        v3 = x3[c]
        v4 = x4[c]
        v5 = x5[c]
        v6 = x6[c]
        v7 = x7[c]
        s = f0 * v0 + f1 * v1
        s += f2 * v2 + f3 * v3
        s += f4 * v4 + f5 * v5
        s += f6 * v6 + f7 * v7
        tl[c] = s
        t = g0 * v0 + g1 * v1
        t += g2 * v2 + g3 * v3
        t += g4 * v4 + g5 * v5
        t += g6 * v6 + g7 * v7
        th[c] = t


@njit(cache=True, nogil=True, inline="always")
def _phase_filter8(ev, od, fe, fo, ge, go, out_f, out_g, row, n):
    """:func:`_phase_filter` with two filters of four phase taps, sharing the loads.

    ``out_f[row]`` from ``(fe, fo)`` and ``out_g[row]`` from ``(ge, go)``, each summed
    in registers in :func:`_phase_filter`'s order (bit-identical).
    """
    a0, a1, a2, a3 = fe[0], fe[1], fe[2], fe[3]
    b0, b1, b2, b3 = fo[0], fo[1], fo[2], fo[3]
    c0, c1, c2, c3 = ge[0], ge[1], ge[2], ge[3]
    d0, d1, d2, d3 = go[0], go[1], go[2], go[3]
    rf = out_f[row]
    rg = out_g[row]
    for t in range(n):
        e0 = ev[t]
        e1 = ev[t + 1]
        e2 = ev[t + 2]
        e3 = ev[t + 3]
        o0 = od[t]
        o1 = od[t + 1]
        o2 = od[t + 2]
        o3 = od[t + 3]
        s = a0 * e0 + b0 * o0
        s += a1 * e1 + b1 * o1
        s += a2 * e2 + b2 * o2
        s += a3 * e3 + b3 * o3
        rf[t] = s
        u = c0 * e0 + d0 * o0
        u += c1 * e1 + d1 * o1
        u += c2 * e2 + d2 * o2
        u += c3 * e3 + d3 * o3
        rg[t] = u


@njit(cache=True, nogil=True, inline="always")
def _phase_filter(ev, od, fe, fo, out, row, n):
    """``out[row, t] = sum_p fe[p] * ev[t + p] + fo[p] * od[t + p]`` for ``t < n``."""
    c0 = fe[0]
    c1 = fo[0]
    for t in range(n):
        out[row, t] = c0 * ev[t] + c1 * od[t]
    for p in range(1, fe.shape[0]):
        c0 = fe[p]
        c1 = fo[p]
        for t in range(n):
            out[row, t] += c0 * ev[t + p] + c1 * od[t + p]


@njit(cache=True, nogil=True)
def _idwt2_into(ca, ch, cv, cd, rec_lo, rec_hi, out):
    """One level of the 2-D inverse DWT, symmetric mode ("valid" reconstruction).

    ``ch``, ``cv``, ``cd`` share the shape ``(R, C)``; ``ca`` may be larger (only
    its first ``R`` rows and ``C`` columns are read, which is how ``waverec2``
    crops the approximation). Requires ``R, C >= F // 2`` and even ``F``. The
    reconstruction is ``(2R - F + 2, 2C - F + 2)``; it is written into the float32
    2-D ``out`` of shape ``(H, W)``, of which only the first ``H`` rows and ``W``
    columns are computed and stored (how ``waverec2`` crops to the image), so the
    last level of a multi-level inverse writes the image-sized result straight
    away. ``H`` and ``W`` must not exceed the reconstruction's size. Returns ``out``.
    """
    nr, nc = ch.shape
    nf = rec_lo.shape[0]
    half = nf // 2
    hr = min(2 * nr - nf + 2, out.shape[0])
    wr = min(2 * nc - nf + 2, out.shape[1])
    m = (2 * nc - nf + 2) // 2
    pairs = wr // 2
    rl = np.empty(nc, dtype=np.float32)  # axis-0 reconstruction of (cA, cH)
    rh = np.empty(nc, dtype=np.float32)  # axis-0 reconstruction of (cV, cD)
    ev = np.empty(m, dtype=np.float32)
    od = np.empty(m, dtype=np.float32)

    for n in range(hr):
        q = n // 2
        s = n - 2 * q
        # ---- axis 0: row n = sum_i g[s+2i] * A[q+half-1-i] + h[s+2i] * D[q+half-1-i].
        r = q + half - 1
        if nf == 8:  # db4, sym4: in registers, each output stored once
            _rows_taps8(ca, ch, r, rec_lo, rec_hi, s, rl)
            _rows_taps8(cv, cd, r, rec_lo, rec_hi, s, rh)
            _cols_taps8(rl, rh, rec_lo, rec_hi, out[n], wr)
            continue
        g = rec_lo[s]
        k = rec_hi[s]
        for c in range(nc):
            rl[c] = g * ca[r, c] + k * ch[r, c]
        for c in range(nc):
            rh[c] = g * cv[r, c] + k * cd[r, c]
        for i in range(1, half):
            r = q + half - 1 - i
            g = rec_lo[s + 2 * i]
            k = rec_hi[s + 2 * i]
            for c in range(nc):
                rl[c] += g * ca[r, c] + k * ch[r, c]
            for c in range(nc):
                rh[c] += g * cv[r, c] + k * cd[r, c]

        # ---- axis 1: even and odd output phases, then interleave.
        off = half - 1
        g0 = rec_lo[0]
        k0 = rec_hi[0]
        g1 = rec_lo[1]
        k1 = rec_hi[1]
        # Shifted views instead of ``rl[t + off]``: numba's negative-index wraparound
        # on a possibly-negative sum would turn the loads into gathers.
        sa = rl[off:]
        sd = rh[off:]
        for t in range(m):
            a = sa[t]
            d = sd[t]
            ev[t] = g0 * a + k0 * d
            od[t] = g1 * a + k1 * d
        for i in range(1, half):
            off = half - 1 - i
            g0 = rec_lo[2 * i]
            k0 = rec_hi[2 * i]
            g1 = rec_lo[2 * i + 1]
            k1 = rec_hi[2 * i + 1]
            sa = rl[off:]
            sd = rh[off:]
            for t in range(m):
                a = sa[t]
                d = sd[t]
                ev[t] += g0 * a + k0 * d
                od[t] += g1 * a + k1 * d
        row = out[n]
        for t in range(pairs):
            row[2 * t] = ev[t]
            row[2 * t + 1] = od[t]
        if wr > 2 * pairs:  # odd width: the last column is an even phase
            row[2 * pairs] = ev[pairs]
    return out


@njit(cache=True, nogil=True, inline="always")
def _rows_taps8(a, d, r, g, k, s, out):
    """``out[c] = sum_i g[s+2i] * a[r-i, c] + k[s+2i] * d[r-i, c]``, ``i < 4``, in registers.

    The inverse's axis-0 step of :func:`_idwt2_into` for 8-tap filters, with its
    products added in the same order (bit-identical).
    """
    a0, a1, a2, a3 = a[r], a[r - 1], a[r - 2], a[r - 3]
    d0, d1, d2, d3 = d[r], d[r - 1], d[r - 2], d[r - 3]
    ga, gb, gc, gd = g[s], g[s + 2], g[s + 4], g[s + 6]
    ka, kb, kc, kd = k[s], k[s + 2], k[s + 4], k[s + 6]
    for c in range(out.shape[0]):
        t = ga * a0[c] + ka * d0[c]
        t += gb * a1[c] + kb * d1[c]
        t += gc * a2[c] + kc * d2[c]
        t += gd * a3[c] + kd * d3[c]
        out[c] = t


@njit(cache=True, nogil=True, inline="always")
def _cols_taps8(rl, rh, g, k, row, wr):
    """The inverse's axis-1 step for 8-tap filters, written interleaved into ``row[:wr]``.

    ``row[2t] = sum_i g[2i] * rl[t+3-i] + k[2i] * rh[t+3-i]`` and ``row[2t+1]`` the
    same with ``g[2i+1]``, ``k[2i+1]``: :func:`_idwt2_into`'s even and odd phases in
    its order of additions (bit-identical), without the phase rows in between.
    """
    g0, g1, g2, g3, g4, g5, g6, g7 = g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7]
    k0, k1, k2, k3, k4, k5, k6, k7 = k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7]
    # Shifted views: see _idwt2_into.
    a3, a2, a1, a0 = rl[3:], rl[2:], rl[1:], rl
    d3, d2, d1, d0 = rh[3:], rh[2:], rh[1:], rh
    pairs = wr // 2
    for t in range(pairs):
        e = g0 * a3[t] + k0 * d3[t]
        e += g2 * a2[t] + k2 * d2[t]
        e += g4 * a1[t] + k4 * d1[t]
        e += g6 * a0[t] + k6 * d0[t]
        o = g1 * a3[t] + k1 * d3[t]
        o += g3 * a2[t] + k3 * d2[t]
        o += g5 * a1[t] + k5 * d1[t]
        o += g7 * a0[t] + k7 * d0[t]
        row[2 * t] = e
        row[2 * t + 1] = o
    if wr > 2 * pairs:  # odd width: the last column is an even phase
        t = pairs
        e = g0 * a3[t] + k0 * d3[t]
        e += g2 * a2[t] + k2 * d2[t]
        e += g4 * a1[t] + k4 * d1[t]
        e += g6 * a0[t] + k6 * d0[t]
        row[wr - 1] = e


@njit(cache=True, nogil=True, inline="always")
def _split_phase(t, ev, od, k_lo, k_hi, off):
    """``ev[k] = t[2k + off]``, ``od[k] = t[2k + off + 1]`` for ``k_lo <= k < k_hi``."""
    base = 2 * k_lo + off
    src = t[base : base + 2 * (k_hi - k_lo)]
    e = ev[k_lo:k_hi]
    o = od[k_lo:k_hi]
    for k in range(k_hi - k_lo):
        e[k] = src[2 * k]
        o[k] = src[2 * k + 1]
