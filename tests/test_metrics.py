import numpy as np
import pytest
from sklearn.exceptions import DataConversionWarning

from gfprint.metrics import (
    correlation_matrix,
    crosscorr_2d,
    fd_ratio,
    fingerprint_energy_curve,
    ncc,
    normalize,
    pce,
    pce_all_pairs,
)


def test_ncc_against_numpy(rng):
    r = rng.normal(size=(7, 6, 5)).astype(np.float32)
    f = rng.normal(size=(3, 6, 5)).astype(np.float32)
    got = ncc(r, f, batch_size=3)
    for i in range(7):
        for j in range(3):
            a = r[i].ravel() - r[i].mean()
            b = f[j].ravel() - f[j].mean()
            assert got[i, j] == pytest.approx(
                a @ b / np.linalg.norm(a) / np.linalg.norm(b), abs=1e-6
            )
    assert got.shape == (7, 3) and got.dtype == np.float64


def test_ncc_single_fingerprint_and_constant_rows(rng):
    r = rng.normal(size=(4, 8))
    r[1] = 3.0
    got = ncc(r, r[0])
    assert got.shape == (4, 1)
    assert got[0, 0] == pytest.approx(1.0)
    assert got[1, 0] == 0.0
    for r in (np.empty((0, 8), np.float32), np.empty((0, 8))):  # was a thread-pool error
        empty = ncc(r, rng.normal(size=(3, 8)))
        assert empty.shape == (0, 3) and empty.dtype == np.float64


def test_ncc_errors(rng):
    with pytest.raises(ValueError, match="same size"):
        ncc(rng.normal(size=(2, 8, 8)), rng.normal(size=(1, 8, 9)))
    with pytest.raises(ValueError, match="NaN"):
        ncc(np.full((1, 4), np.nan), np.ones((1, 4)))
    with pytest.raises(ValueError, match="no values"):  # was a ZeroDivisionError
        ncc(np.zeros((2, 0)), np.zeros((1, 0)))


def test_ncc_stays_within_its_range():
    # float64 rows whose fingerprint is normalised in float32 gave 1.00000003.
    r = np.arange(12.0).reshape(3, 4)
    got = ncc(r, np.arange(4))
    assert got.max() == 1.0 and got.min() >= -1.0
    assert ncc(-r, np.arange(4)).min() == -1.0


def test_normalize_is_float32_unit_norm(rng):
    out = normalize(rng.normal(size=(3, 50)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1, rtol=1e-6)
    assert normalize(np.ones((1, 4), np.float16)).dtype == np.float32  # was NotImplemented


@pytest.mark.parametrize(
    "rows, error, match",
    [
        ([[1.0, np.nan, 2.0]], ValueError, "NaN"),  # gave a NaN row
        ([[1.0, np.inf, 2.0]], ValueError, "NaN or infinity"),
        (np.zeros((2, 0)), ValueError, "at least one value"),  # ZeroDivisionError
        (np.ones((2, 3), complex), TypeError, "real numeric"),  # a numba TypingError
        (np.ones(3), ValueError, "2-D"),
    ],
)
def test_normalize_refuses_bad_rows(rows, error, match):
    with pytest.raises(error, match=match):
        normalize(rows)


def test_crosscorr_2d_against_direct_sum(rng):
    a = rng.normal(size=(6, 7))
    b = rng.normal(size=(6, 7))
    a_before, b_before = a.copy(), b.copy()
    cc = crosscorr_2d(a, b)
    a0, b0 = a - a.mean(), b - b.mean()
    for sy in range(6):
        for sx in range(7):
            want = np.sum(a0 * np.roll(b0, (-sy, -sx), axis=(0, 1)))
            assert cc[sy, sx] == pytest.approx(want)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)


def test_crosscorr_2d_pads_smaller_input(rng):
    b = rng.normal(size=(40, 40))
    a = b[5:25, 7:37]  # a crop at offset (5, 7)
    cc = crosscorr_2d(a, b)
    assert cc.shape == (40, 40)
    assert np.unravel_index(np.argmax(cc), cc.shape) == (5, 7)


def test_crosscorr_2d_refuses_empty_planes():
    with pytest.raises(ValueError, match="non-empty"):  # was a plane of zeros
        crosscorr_2d(np.ones((0, 4)), np.ones((4, 4)))


def test_crosscorr_2d_keeps_float32(rng):
    a = rng.normal(size=(8, 8)).astype(np.float32)
    assert crosscorr_2d(a, a).dtype == np.float32


def test_pce_detects_and_keeps_sign(rng):
    k = rng.normal(size=(128, 128))
    w = k + 3 * rng.normal(size=k.shape)
    assert pce(w, k) > 50
    assert pce(-w, k) < -50
    assert abs(pce(rng.normal(size=k.shape), k)) < 30


def test_pce_shift_search_finds_crop_offset(rng):
    k = rng.normal(size=(96, 96))
    w = np.zeros_like(k)
    w[:80, :84] = k[4:84, 9:93]
    assert pce(w, k) < 30  # aligned test fails
    value, shift, peak = pce(w, k, shift_range=(10, 10), return_peak=True)
    assert shift == (4, 9) and value > 100 and peak > 0


def test_pce_errors(rng):
    a = rng.normal(size=(8, 8))
    with pytest.raises(ValueError, match="odd"):
        pce(a, a, neighborhood=4)
    with pytest.raises(ValueError, match="shift_range"):
        pce(a, a, shift_range=(8, 0))
    with pytest.raises(ValueError, match="leaves nothing"):
        pce(a, a, neighborhood=9)
    with pytest.raises(ValueError, match="2-D"):
        pce(a[None], a[None])
    for bad in [(2.9, 3.9), (1, 2, 3), (1,)]:  # floats were truncated silently
        with pytest.raises(ValueError, match="two integers"):
            pce(a, a, shift_range=bad)
    with pytest.raises(ValueError, match="odd"):  # was taken for 5
        pce_all_pairs(a[None], a[None], neighborhood=4)


def test_frechet_distance_closed_form(rng):
    from gfprint.metrics import frechet_distance

    a = rng.normal(0, 1, (20000, 3))
    b = rng.normal(2, 3, (20000, 3))
    # isotropic Gaussians: |d mu|^2 + d * (s_a - s_b)^2 = 12 + 3 * 4 = 24
    assert frechet_distance(a, b) == pytest.approx(24, rel=0.03)
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    with pytest.raises(ValueError, match="equal d"):
        frechet_distance(a, b[:, :2])


def test_fd_ratio_of_one_distribution_is_about_one(rng):
    # Whole classes against half-classes: the FD estimate's bias halved the ratio.
    ratios = [fd_ratio(rng.normal(size=(400, 16)), np.repeat([0, 1], 200), random_state=s)
              for s in range(5)]
    assert 0.85 < np.mean(ratios) < 1.15


def test_fd_ratio_is_its_definition(rng):
    # Three classes (so that self-pairs or a max over classes would show), halves
    # drawn as documented from a RandomState of the given seed.
    from gfprint.metrics import frechet_distance

    X = np.concatenate([rng.normal(m, 1, size=(40, 3)) for m in (0.0, 0.5, 2.0)])
    y = np.repeat(["a", "b", "c"], 40)
    state = np.random.RandomState(7)
    halves = []
    for c in ("a", "b", "c"):
        g = X[y == c]
        order = state.permutation(len(g))
        halves.append((g[order[:20]], g[order[20:40]]))
    inter = np.mean([0.5 * (frechet_distance(halves[i][0], halves[j][1])
                            + frechet_distance(halves[i][1], halves[j][0]))
                     for i, j in ((0, 1), (0, 2), (1, 2))])
    intra = np.mean([frechet_distance(a, b) for a, b in halves])
    assert fd_ratio(X, y, random_state=7) == pytest.approx(inter / intra, rel=1e-12)


def test_fd_ratio(rng):
    from gfprint.metrics import fd_ratio

    same = rng.normal(size=(400, 4))
    assert fd_ratio(same, np.repeat([0, 1], 200)) < 3  # indistinguishable classes
    apart = np.concatenate([rng.normal(size=(200, 4)), rng.normal(4, 1, (200, 4))])
    assert fd_ratio(apart, np.repeat(["a", "b"], 200)) > 50
    with pytest.raises(ValueError, match="2 classes"):
        fd_ratio(same, np.zeros(400))
    with pytest.raises(ValueError, match="at least 4"):
        fd_ratio(same[:6], [0, 0, 0, 1, 1, 1])
    with pytest.warns(DataConversionWarning):  # a column: was an IndexError
        column = fd_ratio(apart, np.repeat(["a", "b"], 200)[:, None], random_state=0)
    assert column == fd_ratio(apart, np.repeat(["a", "b"], 200), random_state=0)
    points = np.repeat(np.eye(4)[:2], 10, axis=0)  # no spread inside a class: was 9e307
    assert fd_ratio(points, np.repeat([0, 1], 10)) == np.inf


def test_frechet_distance_matches_sqrtm_both_regimes(rng):
    from scipy import linalg

    from gfprint.metrics import frechet_distance

    def slow(a, b):
        sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        mu = a.mean(0) - b.mean(0)
        return mu @ mu + np.trace(sa + sb - 2 * np.real(linalg.sqrtm(sa @ sb)))

    for n_a, n_b, d in ((50, 40, 8), (12, 15, 30)):  # n > d, and n < d (rank-deficient)
        a = rng.normal(size=(n_a, d)) @ rng.normal(size=(d, d))
        b = rng.normal(1, 2, size=(n_b, d))
        assert frechet_distance(a, b) == pytest.approx(slow(a, b), rel=1e-6)


def test_correlation_matrix_is_mean_ncc_per_source(rng):
    residuals = rng.normal(size=(9, 8, 8))
    fps = rng.normal(size=(2, 8, 8))
    y = np.array(["b", "a", "c", "a", "b", "c", "c", "a", "b"])
    scores = np.array([[_ncc_ref(r, f) for f in fps] for r in residuals])
    m = correlation_matrix(residuals, y, fps)
    expected = [scores[y == s].mean(axis=0) for s in ("a", "b", "c")]
    np.testing.assert_allclose(m, expected, atol=1e-6)
    np.testing.assert_allclose(
        correlation_matrix(residuals, y, fps, labels=["c", "a"]),
        [expected[2], expected[0]],
        atol=1e-6,
    )
    with pytest.raises(ValueError, match=r"labels \['z'\] have no residuals"):
        correlation_matrix(residuals, y, fps, labels=["a", "z"])
    with pytest.raises(ValueError, match="one label per residual"):
        correlation_matrix(residuals, y[:-1], fps)
    with pytest.raises(ValueError, match="trailing shape|shape"):
        correlation_matrix(residuals, y, rng.normal(size=(2, 4, 4)))
    with pytest.raises(ValueError, match="labels is empty"):  # was "need at least one array"
        correlation_matrix(residuals, y, fps, labels=[])
    # One string is one label: "c" failed inside numpy, "ab" was read as "a" and "b".
    np.testing.assert_allclose(correlation_matrix(residuals, y, fps, labels="c"),
                               [expected[2]], atol=1e-6)
    with pytest.raises(ValueError, match=r"labels \['ab'\] have no residuals"):
        correlation_matrix(residuals, y, fps, labels="ab")
    with pytest.raises(ValueError, match="1-D"):
        correlation_matrix(residuals, y, fps, labels=[["a"], ["b"]])


def _ncc_ref(a, b):
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    return a @ b / np.sqrt((a @ a) * (b @ b))


def test_fingerprint_energy_curve_measures_and_fits(rng):
    residuals = rng.normal(size=(40, 6, 6)).astype(np.float32)
    curve = fingerprint_energy_curve(residuals, n_values=[1, 3, 40, 10])
    for n, e in zip(curve.n_values, curve.energy):
        mean = residuals[:n].astype(np.float64).mean(axis=0)
        assert e == pytest.approx(np.mean(mean**2), rel=1e-12)
    assert curve.n_values.tolist() == [1, 3, 40, 10]  # the order asked for is kept
    # Energies that follow the model exactly are fitted exactly.
    pattern = rng.normal(size=(16, 16))
    noise = rng.normal(size=(64, 16, 16))
    noise -= noise.mean(axis=0)  # a zero-mean set of disturbances...
    exact = pattern + noise
    curve = fingerprint_energy_curve(exact, n_values=[64])
    assert curve.energy[0] == pytest.approx(np.mean(pattern**2))
    default = fingerprint_energy_curve(exact)
    assert default.n_values.tolist() == [1, 2, 4, 8, 16, 32, 64]
    np.testing.assert_allclose(default.fitted, default.e_inf + default.e_0 / default.n_values)


def test_fingerprint_energy_curve_recovers_pattern_energy(rng):
    pattern = 2.0 * rng.normal(size=(48, 48))  # energy about 4
    residuals = pattern + 5.0 * rng.normal(size=(512, 48, 48))  # disturbance energy 25
    curve = fingerprint_energy_curve(residuals)
    assert curve.e_inf == pytest.approx(np.mean(pattern**2), rel=0.05)
    assert curve.e_0 == pytest.approx(25.0, rel=0.05)


def test_fingerprint_energy_curve_fit_minimises_relative_errors(rng):
    # Energies off the model: the fit is the least-squares solution of the relative
    # errors (fit - E) / E, i.e. of the normal equations with weights 1 / E**2.
    residuals = 0.3 + rng.normal(size=(64, 4, 4))
    curve = fingerprint_energy_curve(residuals)
    energy, n = curve.energy, curve.n_values.astype(float)
    rows = np.column_stack([np.ones_like(n), 1 / n])
    w = 1 / energy**2
    want = np.linalg.solve((rows * w[:, None]).T @ rows, (rows * w[:, None]).T @ energy)
    np.testing.assert_allclose([curve.e_inf, curve.e_0], want, rtol=1e-9)
    plain = np.linalg.lstsq(rows, energy, rcond=None)[0]  # unweighted: a different fit
    assert np.abs(plain - want).max() > 0.01 * np.abs(want).max()


def test_fingerprint_energy_curve_errors(rng):
    with pytest.raises(ValueError, match=r"integers in \[1, 4\]"):
        fingerprint_energy_curve(rng.normal(size=(4, 3, 3)), n_values=[0, 2])
    with pytest.raises(ValueError, match=r"integers in \[1, 4\]"):
        fingerprint_energy_curve(rng.normal(size=(4, 3, 3)), n_values=[5])
    with pytest.raises(ValueError, match="non-empty stack"):
        fingerprint_energy_curve(np.zeros(5))
    bad = rng.normal(size=(4, 3, 3))
    bad[2, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fingerprint_energy_curve(bad)
    for args in ((rng.normal(size=(1, 3, 3)),), (rng.normal(size=(4, 3, 3)), [2, 2])):
        one = fingerprint_energy_curve(*args)  # was an arbitrary split of the energy
        assert np.isnan([one.e_inf, one.e_0, *one.fitted]).all() and np.isfinite(one.energy).all()


@pytest.mark.parametrize("offset", [0.0, 1000.0])
def test_ncc_without_centring_copies_equals_the_centred_definition(rng, offset):
    """Residuals are never centred: the fingerprints' zero mean takes care of it."""
    r = (rng.normal(size=(40, 64, 64)) + offset).astype(np.float32)
    f = rng.normal(size=(5, 64, 64)).astype(np.float32)
    f[0] += 0.3 * (r[0] - offset)
    a = r.reshape(40, -1).astype(np.float64)
    b = f.reshape(5, -1).astype(np.float64)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    want = (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (
        b / np.linalg.norm(b, axis=1, keepdims=True)
    ).T
    np.testing.assert_allclose(ncc(r, f, batch_size=16), want, atol=2e-5 if offset else 1e-6)


def _centred_ncc(r, f):
    a = r.reshape(len(r), -1).astype(np.float64)
    b = f.reshape(len(f), -1).astype(np.float64)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    return (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (
        b / np.linalg.norm(b, axis=1, keepdims=True)
    ).T


@pytest.mark.parametrize(
    "n, k, d",
    [
        (1, 1, 10),  # one row: paired with itself, spare output row
        (3, 5, 9000),  # odd rows, fingerprints padded to 8, columns over one chunk
        (130, 6, 65536),  # large enough for two threads: block bounds stay even
    ],
)
def test_ncc_single_pass_kernel_over_row_and_column_blocks(rng, n, k, d):
    """float32 rows go through the fused one-pass kernel; float64 through BLAS."""
    r = (rng.normal(size=(n, d)) + 5.0).astype(np.float32)
    f = rng.normal(size=(k, d)).astype(np.float32)
    f[0, :] += r[0]
    want = _centred_ncc(r, f)
    np.testing.assert_allclose(ncc(r, f), want, atol=2e-5)
    np.testing.assert_allclose(ncc(r.astype(np.float64), f), want, atol=2e-5)
    np.testing.assert_allclose(ncc(r[:, ::-1], f[:, ::-1]), want, atol=2e-5)  # strided


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_ncc_single_pass_kernel_finds_non_finite_values(rng, bad):
    r = rng.normal(size=(5, 9000)).astype(np.float32)
    r[3, 8500] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        ncc(r, rng.normal(size=(2, 9000)))
