"""Numba 2-D DWT kernels (``gfprint._kernels._dwt``) against PyWavelets, mode 'symmetric'.

Each kernel is checked three ways: compiled, through ``.py_func`` (pure Python, small
inputs) and against the reference (pywt in float64 on the same float32 input, or
``np.pad(mode='symmetric')`` for the extension rule). Accuracy: relative L2 error over
all coefficients (or over the reconstruction) <= 1e-6.
"""

import warnings

import numpy as np
import pytest
import pywt

from dwt_wrappers import (
    _dwt2_kernel,
    _idwt2_kernel,
    _max_level,
    dwt2_sym,
    idwt2_sym,
    wavedec2_sym,
    waverec2_sym,
)
from gfprint._kernels._dwt import (
    _axis0_taps2,
    _axis0_taps8,
    _cols_taps8,
    _dwt2_into,
    _idwt2_into,
    _phase_filter,
    _phase_filter8,
    _reflect,
    _rows_taps8,
)

TOL = 1e-6
WAVELETS = ["db1", "db2", "db4", "sym4"]
SHAPES = [(512, 512), (64, 64), (37, 53), (32, 33), (16, 16)]
MODE = "symmetric"


def filters(name):
    w = pywt.Wavelet(name)
    f = [np.asarray(c, np.float32) for c in (w.dec_lo, w.dec_hi, w.rec_lo, w.rec_hi)]
    return w, *f


def image(shape, seed=0):
    """Smooth-plus-noise float32 test image (PRNU-like content)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = 100 * np.sin(yy / 7.0) * np.cos(xx / 11.0) + 128
    return (smooth + 5 * rng.standard_normal(shape)).astype(np.float32)


def flat(coeffs):
    """Concatenate a wavedec2-style list (or a dwt2 tuple) into one float64 vector."""
    if isinstance(coeffs, tuple) and len(coeffs) == 4:  # (cA, cH, cV, cD)
        parts = coeffs
    elif isinstance(coeffs, tuple):  # pywt.dwt2: (cA, (cH, cV, cD))
        parts = (coeffs[0], *coeffs[1])
    else:
        parts = [coeffs[0], *(b for d in coeffs[1:] for b in d)]
    return np.concatenate([np.asarray(p, np.float64).ravel() for p in parts])


def rel_err(got, ref):
    got = np.asarray(got, np.float64)
    ref = np.asarray(ref, np.float64)
    assert got.shape == ref.shape
    return np.linalg.norm(got - ref) / np.linalg.norm(ref)


def as_f32(coeffs):
    return [coeffs[0].astype(np.float32)] + [
        tuple(b.astype(np.float32) for b in d) for d in coeffs[1:]
    ]


def assert_same_layout(got, ref):
    assert len(got) == len(ref)
    assert got[0].shape == ref[0].shape and got[0].dtype == np.float32
    for dg, dr in zip(got[1:], ref[1:], strict=True):
        assert isinstance(dg, tuple) and len(dg) == 3
        for bg, br in zip(dg, dr, strict=True):
            assert bg.shape == br.shape and bg.dtype == np.float32


# ------------------------------------------------------------------- helpers / extension


@pytest.mark.parametrize("filter_len", [2, 4, 8, 16])
def test_max_level_matches_pywt(filter_len):
    for n in range(1, 1100):
        assert _max_level(n, filter_len) == pywt.dwt_max_level(n, filter_len), n


@pytest.mark.parametrize("fn", [_reflect, _reflect.py_func], ids=["njit", "py_func"])
def test_reflect_matches_numpy_symmetric_pad(fn):
    for n in range(1, 9):
        pad = 40
        ref = np.pad(np.arange(n), pad, mode="symmetric")  # repeats the reflection
        got = np.array([fn(t, n) for t in range(-pad, n + pad)])
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("fn", [_phase_filter, _phase_filter.py_func], ids=["njit", "py_func"])
def test_phase_filter(fn):
    rng = np.random.default_rng(3)
    n, half = 13, 4
    ev = rng.standard_normal(n + half - 1).astype(np.float32)
    od = rng.standard_normal(n + half - 1).astype(np.float32)
    fe = rng.standard_normal(half).astype(np.float32)
    fo = rng.standard_normal(half).astype(np.float32)
    out = np.full((3, n), np.nan, np.float32)
    saved = [a.copy() for a in (ev, od, fe, fo)]
    fn(ev, od, fe, fo, out, 1, n)
    ref = sum(
        fe[p].astype(np.float64) * ev[p : p + n] + fo[p].astype(np.float64) * od[p : p + n]
        for p in range(half)
    )
    np.testing.assert_allclose(out[1], ref, rtol=1e-5, atol=1e-5)
    assert np.isnan(out[0]).all() and np.isnan(out[2]).all()
    for a, b in zip((ev, od, fe, fo), saved, strict=True):
        np.testing.assert_array_equal(a, b)


# The 8-tap steps (db4, sym4) add the same products in the same order as the general
# ones: equal bit for bit, not only to a tolerance.


@pytest.mark.parametrize("impl", ["njit", "py_func"])
@pytest.mark.parametrize("h, top", [(40, 21), (40, 1), (40, 45), (5, 9)])
def test_axis0_taps8_is_the_general_step(impl, h, top):
    rng = np.random.default_rng(5)
    x = rng.normal(100, 40, (h, 37)).astype(np.float32)
    f, g = rng.standard_normal((2, 8)).astype(np.float32)
    fast = _axis0_taps8 if impl == "njit" else _axis0_taps8.py_func
    got = np.full((2, 37), np.nan, np.float32)
    want = np.full((2, 37), np.nan, np.float32)
    fast(x, h, top, f, g, got[0], got[1])
    _axis0_taps2(x, h, top, f, g, want[0], want[1])
    np.testing.assert_array_equal(got, want)
    # and it is the filter: sum_j f[j] * x[s(top - j)], s the symmetric extension
    rows = [_reflect(top - j, h) for j in range(8)]
    ref = sum(np.float64(f[j]) * x[rows[j]].astype(np.float64) for j in range(8))
    np.testing.assert_allclose(got[0], ref, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("impl", ["njit", "py_func"])
def test_phase_filter8_is_the_general_filter_twice(impl):
    rng = np.random.default_rng(6)
    n = 29
    ev, od = rng.standard_normal((2, n + 3)).astype(np.float32)
    fe, fo, ge, go = rng.standard_normal((4, 4)).astype(np.float32)
    fast = _phase_filter8 if impl == "njit" else _phase_filter8.py_func
    out_f = np.full((3, n), np.nan, np.float32)
    out_g = np.full((3, n), np.nan, np.float32)
    fast(ev, od, fe, fo, ge, go, out_f, out_g, 2, n)
    want_f = np.full((3, n), np.nan, np.float32)
    want_g = np.full((3, n), np.nan, np.float32)
    _phase_filter(ev, od, fe, fo, want_f, 2, n)
    _phase_filter(ev, od, ge, go, want_g, 2, n)
    np.testing.assert_array_equal(out_f, want_f)
    np.testing.assert_array_equal(out_g, want_g)


@pytest.mark.parametrize("impl", ["njit", "py_func"])
@pytest.mark.parametrize("wr", [24, 23])
def test_inverse_taps8_steps_are_the_general_sums(impl, wr):
    """Axis 0, then axis 1, of the 8-tap inverse against the general loops' float32 sums."""
    rng = np.random.default_rng(7)
    nc = 15  # wr <= 2 * nc - 6
    a, d = rng.normal(0, 20, (2, 9, nc)).astype(np.float32)
    g, k = rng.standard_normal((2, 8)).astype(np.float32)
    rows = _rows_taps8 if impl == "njit" else _rows_taps8.py_func
    cols = _cols_taps8 if impl == "njit" else _cols_taps8.py_func
    for s in (0, 1):
        got = np.full(nc, np.nan, np.float32)
        rows(a, d, 6, g, k, s, got)
        want = g[s] * a[6] + k[s] * d[6]
        for i in range(1, 4):
            want += g[s + 2 * i] * a[6 - i] + k[s + 2 * i] * d[6 - i]
        np.testing.assert_array_equal(got, want)
    rl, rh = a[0], d[0]
    row = np.full(wr + 2, np.nan, np.float32)
    cols(rl, rh, g, k, row, wr)
    m = nc - 3
    ev = g[0] * rl[3 : 3 + m] + k[0] * rh[3 : 3 + m]
    od = g[1] * rl[3 : 3 + m] + k[1] * rh[3 : 3 + m]
    for i in range(1, 4):
        off = 3 - i
        ev += g[2 * i] * rl[off : off + m] + k[2 * i] * rh[off : off + m]
        od += g[2 * i + 1] * rl[off : off + m] + k[2 * i + 1] * rh[off : off + m]
    want = np.empty(2 * m, np.float32)
    want[0::2], want[1::2] = ev, od
    np.testing.assert_array_equal(row[:wr], want[:wr])
    assert np.isnan(row[wr:]).all()


# -------------------------------------------------------------------------- one level


@pytest.mark.parametrize("name", WAVELETS + ["db8"])
@pytest.mark.parametrize("shape", SHAPES + [(1, 1), (3, 5), (7, 9), (8, 2)])
def test_dwt2_matches_pywt(name, shape):
    w, lo, hi, _, _ = filters(name)
    x = image(shape)
    x0 = x.copy()
    got = dwt2_sym(x, lo, hi)
    np.testing.assert_array_equal(x, x0)
    ref = pywt.dwt2(x.astype(np.float64), w, mode=MODE)
    assert got[0].shape == ref[0].shape
    for g, r in zip(got[1:], ref[1], strict=True):  # band order cH, cV, cD
        assert g.shape == r.shape
    assert all(g.dtype == np.float32 for g in got)
    assert rel_err(flat(got), flat(ref)) <= TOL
    # each band individually, relative to the whole transform (bands can be ~0)
    scale = np.linalg.norm(flat(ref))
    for g, r in zip(got, (ref[0], *ref[1]), strict=True):
        assert np.linalg.norm(g - r) / scale <= TOL


@pytest.mark.parametrize("name", WAVELETS)
@pytest.mark.parametrize("shape", SHAPES + [(4, 4), (5, 7), (9, 4)])
def test_idwt2_matches_pywt(name, shape):
    w, lo, hi, rlo, rhi = filters(name)
    if min(shape) < w.rec_len // 2:
        pytest.skip("pywt rejects bands shorter than filter_len // 2")
    rng = np.random.default_rng(7)
    bands = [rng.standard_normal(shape).astype(np.float32) for _ in range(4)]
    saved = [b.copy() for b in bands]
    got = idwt2_sym(*bands, rlo, rhi)
    for b, s in zip(bands, saved, strict=True):
        np.testing.assert_array_equal(b, s)
    ref = pywt.idwt2(
        (bands[0].astype(np.float64), tuple(b.astype(np.float64) for b in bands[1:])),
        w,
        mode=MODE,
    )
    assert got.dtype == np.float32
    assert got.shape == ref.shape == (2 * shape[0] - w.rec_len + 2, 2 * shape[1] - w.rec_len + 2)
    assert rel_err(got, ref) <= TOL


# ------------------------------------------------------------------------- multilevel


@pytest.mark.parametrize("name", WAVELETS)
@pytest.mark.parametrize("shape", SHAPES)
def test_wavedec2_waverec2_all_levels(name, shape):
    w, lo, hi, rlo, rhi = filters(name)
    x = image(shape, seed=1)
    x0 = x.copy()
    x64 = x.astype(np.float64)
    max_level = pywt.dwt_max_level(min(shape), w.dec_len)
    assert max_level >= 1
    for level in range(1, max_level + 1):
        # forward
        got = wavedec2_sym(x, lo, hi, level)
        ref = pywt.wavedec2(x64, w, mode=MODE, level=level)
        assert_same_layout(got, ref)
        assert rel_err(flat(got), flat(ref)) <= TOL
        # inverse of pywt's (exact) coefficients
        got_saved = [got[0].copy()] + [tuple(b.copy() for b in d) for d in got[1:]]
        rec = waverec2_sym(as_f32(ref), rlo, rhi)
        rec_ref = pywt.waverec2(ref, w, mode=MODE)
        assert rec.dtype == np.float32
        assert rec.shape == rec_ref.shape
        assert rel_err(rec, rec_ref) <= TOL
        # round trip through our own transform
        rt = waverec2_sym(got, rlo, rhi)
        assert rt.shape == rec_ref.shape
        assert rel_err(rt[: shape[0], : shape[1]], x64) <= TOL
        assert rel_err(rt, rec_ref) <= TOL
        # inputs untouched
        np.testing.assert_array_equal(got[0], got_saved[0])
        for d, ds in zip(got[1:], got_saved[1:], strict=True):
            for b, bs in zip(d, ds, strict=True):
                np.testing.assert_array_equal(b, bs)
    np.testing.assert_array_equal(x, x0)
    # level=None means pywt's maximum level
    assert len(wavedec2_sym(x, lo, hi)) == max_level + 1


def test_waverec2_crop_is_exercised():
    """(32, 33) with db4 yields an approximation one column wider than the details."""
    w, lo, hi, rlo, rhi = filters("db4")
    coeffs = wavedec2_sym(image((32, 33)), lo, hi, 3)
    widths = [coeffs[0].shape[1]] + [d[0].shape[1] for d in coeffs[1:]]
    assert 2 * widths[0] - 6 == widths[2] + 1  # reconstructed cA2 is cropped by one
    ref = pywt.waverec2(
        [coeffs[0].astype(np.float64)]
        + [tuple(b.astype(np.float64) for b in d) for d in coeffs[1:]],
        w,
        mode=MODE,
    )
    got = waverec2_sym(coeffs, rlo, rhi)
    assert got.shape == ref.shape
    assert rel_err(got, ref) <= TOL


@pytest.mark.parametrize("name", ["db2", "db4"])
def test_levels_beyond_pywt_max(name):
    """pywt warns (boundary effects) but still computes; we match without warning."""
    w, lo, hi, rlo, rhi = filters(name)
    x = image((16, 16), seed=2)
    level = pywt.dwt_max_level(16, w.dec_len) + 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref = pywt.wavedec2(x.astype(np.float64), w, mode=MODE, level=level)
    got = wavedec2_sym(x, lo, hi, level)
    assert_same_layout(got, ref)
    assert rel_err(flat(got), flat(ref)) <= TOL
    rec = waverec2_sym(got, rlo, rhi)
    rec_ref = pywt.waverec2(ref, w, mode=MODE)
    assert rec.shape == rec_ref.shape
    assert rel_err(rec, rec_ref) <= TOL


def test_level_zero_and_noncontiguous_input():
    w, lo, hi, rlo, rhi = filters("db2")
    x = image((40, 30))
    c0 = wavedec2_sym(x, lo, hi, 0)
    assert len(c0) == 1
    np.testing.assert_array_equal(c0[0], x)
    np.testing.assert_array_equal(waverec2_sym(c0, rlo, rhi), x)
    xt = x.T[::-1]  # non-contiguous view
    got = wavedec2_sym(xt, lo, hi, 2)
    ref = pywt.wavedec2(xt.astype(np.float64), w, mode=MODE, level=2)
    assert rel_err(flat(got), flat(ref)) <= TOL


# ----------------------------------------------------------- kernels via .py_func


@pytest.mark.parametrize("name, shape", [("db2", (9, 12)), ("db4", (7, 10)), ("db1", (5, 4))])
def test_dwt2_kernel_py_func(name, shape):
    w, lo, hi, _, _ = filters(name)
    x = image(shape, seed=4)
    x0 = x.copy()
    compiled = _dwt2_kernel(x, lo, hi)
    # _dwt2_kernel (tests/dwt_wrappers.py) only allocates; _dwt2_into, as Python:
    python = _dwt2_into.py_func(x, lo, hi, *(np.full_like(c, np.nan) for c in compiled))
    np.testing.assert_array_equal(x, x0)
    ref = pywt.dwt2(x.astype(np.float64), w, mode=MODE)
    for c, p in zip(compiled, python, strict=True):
        assert p.dtype == np.float32 and p.shape == c.shape
        np.testing.assert_allclose(p, c, rtol=1e-6, atol=1e-6 * np.abs(c).max())
    assert rel_err(flat(python), flat(ref)) <= TOL


@pytest.mark.parametrize("name, shape", [("db2", (5, 6)), ("db4", (6, 5)), ("db1", (3, 4))])
def test_idwt2_kernel_py_func(name, shape):
    w, _, _, rlo, rhi = filters(name)
    rng = np.random.default_rng(5)
    bands = [rng.standard_normal(shape).astype(np.float32) for _ in range(4)]
    # an approximation one larger in both axes is read on its leading part only
    big = rng.standard_normal((shape[0] + 1, shape[1] + 1)).astype(np.float32)
    big[: shape[0], : shape[1]] = bands[0]
    saved = big.copy()
    compiled = _idwt2_kernel(big, *bands[1:], rlo, rhi)
    # _idwt2_kernel (tests/dwt_wrappers.py) only allocates; _idwt2_into, as Python:
    python = _idwt2_into.py_func(big, *bands[1:], rlo, rhi, np.full_like(compiled, np.nan))
    np.testing.assert_array_equal(big, saved)
    ref = pywt.idwt2(
        (bands[0].astype(np.float64), tuple(b.astype(np.float64) for b in bands[1:])),
        w,
        mode=MODE,
    )
    assert python.dtype == np.float32 and python.shape == compiled.shape == ref.shape
    np.testing.assert_allclose(python, compiled, rtol=1e-6, atol=1e-6 * np.abs(ref).max())
    assert rel_err(compiled, ref) <= TOL
    assert rel_err(python, ref) <= TOL


# --------------------------------------------------------------------------- errors


def test_input_validation():
    _, lo, hi, rlo, rhi = filters("db4")
    x = image((16, 16))
    with pytest.raises(TypeError):
        dwt2_sym(x.astype(np.float64), lo, hi)
    with pytest.raises(TypeError):
        dwt2_sym(x[0], lo, hi)
    with pytest.raises(ValueError):
        dwt2_sym(x, lo[:-1], hi[:-1])  # odd filter length
    with pytest.raises(ValueError):
        dwt2_sym(x, lo, hi[:-2])  # mismatched filters
    small = np.zeros((3, 3), np.float32)  # < filter_len // 2: pywt raises too
    with pytest.raises(ValueError):
        idwt2_sym(small, small, small, small, rlo, rhi)
    with pytest.raises(ValueError):
        idwt2_sym(x, x, x, x[:-1], rlo, rhi)
    with pytest.raises(ValueError):
        wavedec2_sym(x, lo, hi, -1)
    coeffs = wavedec2_sym(x, lo, hi, 1)
    with pytest.raises(ValueError):
        waverec2_sym([coeffs[0][:-2], coeffs[1]], rlo, rhi)
    with pytest.raises(ValueError):
        waverec2_sym([coeffs[0], coeffs[1][:2]], rlo, rhi)
