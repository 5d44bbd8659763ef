"""Each kernel three ways: compiled, through .py_func, and against numpy."""

import numpy as np
import pytest
import pywt

import reference as ref
from gfprint._kernels._stats import (
    _parity_sums,
    centered_row_stats,
    normalize_rows,
    pce_peak_energy,
    sample_std,
    zero_mean_cfa,
)
from gfprint._kernels._wavelet_noise import (
    channel_planes,
    finest_diagonal_abs,
    wavelet_noise,
    wavelet_work_size,
)
from gfprint._kernels._wiener import (
    apply_hermitian_gain,
    hermitian_wiener_gain,
    wiener_shrink_add,
)
from gfprint._utils import readonly_view
from gfprint.residuals._filters import finest_diagonal_mad


def both(kernel):
    return [kernel, kernel.py_func]


@pytest.mark.parametrize("impl", both(wiener_shrink_add))
@pytest.mark.parametrize("shape", [(12, 17), (5, 3), (1, 9), (10, 32), (9, 40)])
def test_wiener_shrink_add(impl, shape, rng):
    x = rng.normal(0, 6, shape).astype(np.float32)
    out = rng.normal(size=x.shape).astype(np.float32)
    before_x, before_out = x.copy(), out.copy()
    impl(x, np.float32(25.0), np.float32(0.3), out, True)  # the types wavelet_noise passes
    shrunk = 0.3 * ref.wiener_adaptive(x.astype(np.float64), 25.0)
    np.testing.assert_allclose(out, before_out + shrunk, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(x, before_x)
    impl(x, np.float32(25.0), np.float32(0.3), out, False)  # overwrite instead
    np.testing.assert_allclose(out, shrunk, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", both(hermitian_wiener_gain))
@pytest.mark.parametrize("shape", [(8, 8), (7, 9), (6, 5), (1, 9)])
def test_hermitian_wiener_gain(impl, shape, rng):
    """The Mihcak gain of the full-plane scaled magnitude, built from the half spectrum."""
    x = rng.normal(0, 3, size=shape)
    fh = np.fft.rfft2(x).astype(np.complex64)
    before = fh.copy()
    energy = np.full((shape[0] + 8, shape[1] + 8), np.nan, np.float32)  # border written
    gain = impl(fh, shape[1], np.float32(0.5), 4.0, np.empty(shape, np.float32), energy)
    mag = 0.5 * np.abs(np.fft.fft2(x))
    # ref.wiener_adaptive returns mag * gain; the gain is its ratio to mag.
    np.testing.assert_allclose(gain * mag, ref.wiener_adaptive(mag, 4.0), rtol=1e-5, atol=1e-5)
    assert np.all((gain > 0) & (gain <= 1))
    np.testing.assert_array_equal(fh, before)


@pytest.mark.parametrize("impl", both(hermitian_wiener_gain))
def test_hermitian_wiener_gain_zero_noise_gives_zero_gain(impl):
    fh = np.zeros((4, 3), np.complex64)
    gain = impl(fh, 4, np.float32(1.0), 0.0, np.empty((4, 4), np.float32),
                np.empty((12, 12), np.float32))
    np.testing.assert_array_equal(gain, 0)


@pytest.mark.parametrize("impl", both(apply_hermitian_gain))
@pytest.mark.parametrize("shape", [(8, 8), (7, 9), (6, 5)])
def test_apply_hermitian_gain(impl, shape, rng):
    x = rng.normal(size=shape)
    gain = rng.uniform(0, 1, shape).astype(np.float32)
    fh = np.fft.rfft2(x).astype(np.complex64)
    before = fh.copy()
    got = np.fft.irfft2(impl(fh, gain, np.empty_like(fh)), s=shape)
    want = np.real(np.fft.ifft2(np.fft.fft2(x) * gain))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fh, before)


@pytest.mark.parametrize("impl", both(zero_mean_cfa))
@pytest.mark.parametrize("shape", [(8, 8), (7, 9), (3, 2), (6, 70), (5, 33)])
def test_zero_mean_cfa(impl, shape, rng):
    x = rng.normal(3, 1, shape).astype(np.float32)
    before = x.copy()
    out = impl(x, np.empty_like(x))
    np.testing.assert_allclose(out, ref.zero_mean(x.astype(np.float64)), atol=1e-5)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("impl", both(normalize_rows))
def test_normalize_rows(impl, rng):
    x = rng.normal(2, 3, (4, 10)).astype(np.float32)
    x[2] = 7.0  # constant row -> zeros
    before = x.copy()
    out = impl(readonly_view(x), np.empty_like(x))  # read-only, as the library passes it
    xc = x - x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(xc, axis=1, keepdims=True)
    want = np.divide(xc, norms, out=np.zeros_like(xc), where=norms > 0)
    np.testing.assert_allclose(out, want, atol=1e-6)
    np.testing.assert_array_equal(out[2], 0)
    np.testing.assert_array_equal(x, before)


def pce_reference(cc, shift, nb):
    """Goljan's PCE.m / RemoveNeighborhood.m, written with np.roll."""
    region = cc[: shift[0] + 1, : shift[1] + 1]
    py, px = np.unravel_index(np.argmax(region), region.shape)
    peak = cc[py, px]
    r = nb // 2
    rolled = np.roll(cc, (r - py, r - px), axis=(0, 1))
    mask = np.ones(cc.shape, bool)
    mask[:nb, :nb] = False
    energy = np.mean(rolled[mask] ** 2)
    return peak, py, px, energy


@pytest.mark.parametrize("impl", both(pce_peak_energy))
@pytest.mark.parametrize("shift", [(0, 0), (3, 5), (20, 20)])
def test_pce_peak_energy(impl, shift, rng):
    cc = rng.normal(size=(24, 30))
    cc[2, 4] = 9.0  # inside the (3, 5) range
    cc[23, 29] = 12.0  # only reachable with a wide range... and near (0,0) after wrap
    before = cc.copy()
    peak, py, px, energy, count = impl(cc, shift[0], shift[1], 5)
    want = pce_reference(cc, shift, 5)
    assert (py, px) == want[1:3]
    assert peak == pytest.approx(want[0])
    assert energy == pytest.approx(want[3])
    assert count == cc.size - 25
    np.testing.assert_array_equal(cc, before)


@pytest.mark.parametrize("impl", both(wavelet_noise))
@pytest.mark.parametrize("shape, levels", [((64, 64), 3), ((45, 37), 2)])
def test_wavelet_noise(impl, shape, levels, rng):
    image = rng.uniform(0, 255, shape + (3,)).astype(np.float32)
    before = image.copy()
    weights = np.array([0.2, 0.5, 0.3], np.float32)
    w = pywt.Wavelet("db4")
    filters = [np.asarray(f, np.float32) for f in (w.dec_lo, w.dec_hi, w.rec_lo, w.rec_hi)]
    planes = [ref.noise_extract(image[:, :, c].astype(np.float64), levels=levels) for c in range(3)]
    channels = np.ascontiguousarray(np.moveaxis(image, -1, 0))

    work = np.full(wavelet_work_size(*shape, 8, levels), np.nan, np.float32)  # as asked
    # One output channel: the weighted sum, combined in the wavelet domain; the
    # channels are left as they are.
    out = np.full(shape + (1,), np.nan, np.float32)
    got = impl(channels, weights, *filters, levels, np.float32(25.0), out, work)
    assert got is out and got.dtype == np.float32
    assert ref.rel_l2(got[:, :, 0], sum(weights[c] * planes[c] for c in range(3))) < 1e-5
    np.testing.assert_array_equal(channels, np.moveaxis(before, -1, 0))
    # One output channel per input channel: each channel's weighted noise on its own
    # (written over the channels, which are read by then), from a dirty workspace.
    out = np.full(shape + (3,), np.nan, np.float32)
    got = impl(channels, weights, *filters, levels, np.float32(25.0), out, work)
    for c in range(3):
        assert ref.rel_l2(got[:, :, c], weights[c] * planes[c]) < 1e-5
        np.testing.assert_array_equal(channels[c], got[:, :, c])
    # A workspace one float short is refused, not overrun.
    with pytest.raises(ValueError, match="workspace"):
        impl(channels, weights, *filters, levels, np.float32(25.0), out, work[:-1])


@pytest.mark.parametrize("impl", both(channel_planes))
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("n_channels", [3, 1, 2])
def test_channel_planes(impl, dtype, n_channels, rng):
    image = rng.integers(0, 256, (5, 7, n_channels)).astype(dtype)
    before = image.copy()
    planes = np.full((n_channels, 5, 7), np.nan, np.float32)
    got = impl(readonly_view(image), planes)  # as the library passes it: one variant
    assert got is planes
    np.testing.assert_array_equal(got, np.moveaxis(image, -1, 0).astype(np.float32))
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("impl", both(_parity_sums))
@pytest.mark.parametrize("n", [0, 1, 2, 31, 32, 33, 35, 64, 66, 131])
def test_parity_sums(impl, n, rng):
    row = rng.normal(5, 3, n + 4)  # entries past n are not read
    want = (row[:n:2].sum(), row[1:n:2].sum())
    got = impl(row.copy(), n)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("impl", both(sample_std))
def test_sample_std(impl, rng):
    x = rng.normal(0.3, 2.0, (17, 23)).astype(np.float32)
    assert impl(x) == pytest.approx(x.astype(np.float64).std(ddof=1), rel=1e-9)
    assert impl(np.ones((1, 1), np.float32)) == 0.0
    assert impl(np.full((3, 3), 5.0, np.float32)) == 0.0


@pytest.mark.parametrize("impl", both(finest_diagonal_abs))
@pytest.mark.parametrize("shape", [(32, 32, 3), (45, 38, 1), (8, 9, 1)])
def test_finest_diagonal_abs_and_mad(impl, shape, rng):
    x = rng.normal(100, 4, shape).astype(np.float32)
    before = x.copy()
    lo, hi = (np.asarray(f, np.float32) for f in pywt.Wavelet("db4").filter_bank[:2])
    h1, w1 = (shape[0] + 7) // 2, (shape[1] + 7) // 2
    bands = np.full((4, h1, w1), np.nan, np.float32)
    out = np.full(shape[2] * h1 * w1 + 3, np.nan, np.float32)
    got = impl(np.ascontiguousarray(np.moveaxis(x, -1, 0)), lo, hi, bands, out)
    assert got.flags.c_contiguous and np.shares_memory(got, out)
    mad = finest_diagonal_mad(x, lo, hi)
    for c in range(shape[2]):
        cd = pywt.dwt2(x[:, :, c].astype(np.float64), "db4", mode="symmetric")[1][2]
        if min(cd.shape) > 6:
            cd = cd[3:-3, 3:-3]
        np.testing.assert_allclose(got[c], np.abs(cd), rtol=1e-5, atol=1e-4)
        assert mad[c] == pytest.approx(np.median(np.abs(cd)), rel=1e-5)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("impl", both(centered_row_stats))
@pytest.mark.parametrize("shape, offset", [((5, 1031), 0.0), ((3, 7), 500.0), ((2, 1), 1.0)])
def test_centered_row_stats(impl, shape, offset, rng):
    x64 = (rng.normal(size=shape) + offset).astype(np.float32).astype(np.float64)
    # float64 rows, read-only: a variant the library compiles anyway (float32 rows
    # reach this kernel only when strided, and are covered by the NCC tests).
    means, norms = impl(readonly_view(x64), np.empty(shape[0]), np.empty(shape[0]))
    np.testing.assert_allclose(means, x64.mean(axis=1), rtol=1e-12, atol=1e-9)
    want = np.linalg.norm(x64 - x64.mean(axis=1, keepdims=True), axis=1)
    np.testing.assert_allclose(norms, want, rtol=1e-9, atol=1e-9)
