"""Localization maps on planted fingerprints, where the right map is known."""

import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from gfprint.localization import LocalizationMap, local_ncc, localize, window_null_sd


def brute_local_ncc(r, f, window, y, x):
    """NCC in the window centred at (y, x), reflected at the border, by definition."""
    half = window // 2
    pad = [(half, half), (half, half)] + [(0, 0)] * (r.ndim - 2)
    rp, fp = np.pad(r, pad, mode="symmetric"), np.pad(f, pad, mode="symmetric")
    a = rp[y : y + window, x : x + window].astype(np.float64).ravel()
    b = fp[y : y + window, x : x + window].astype(np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    return (a @ b) / np.sqrt((a @ a) * (b @ b))


@pytest.mark.parametrize("shape", [(40, 48), (40, 48, 3)])
def test_local_ncc_is_the_windowed_ncc(shape):
    rng = np.random.default_rng(0)
    f = rng.normal(size=shape)
    r = 0.5 * f + rng.normal(size=shape)
    m = local_ncc(r.astype(np.float32), f, window=10)
    assert m.shape == shape[:2] and m.dtype == np.float32
    for y, x in [(20, 24), (0, 0), (39, 47), (5, 30)]:
        np.testing.assert_allclose(m[y, x], brute_local_ncc(r, f, 10, y, x), atol=1e-5)


def test_window_null_sd_matches_the_spread_of_unrelated_fields():
    rng = np.random.default_rng(1)
    # Spatially correlated residual and reference, independent of each other.
    r = uniform_filter(rng.normal(size=(256, 256)), 3, mode="wrap")
    f = uniform_filter(rng.normal(size=(256, 256)), 2, mode="wrap")
    m = local_ncc(r, f, window=16)
    empirical = m[8::16, 8::16].std()  # windows that do not overlap
    np.testing.assert_allclose(window_null_sd(r, f, 16), empirical, rtol=0.15)
    white = rng.normal(size=(256, 256))
    np.testing.assert_allclose(window_null_sd(white, rng.normal(size=(256, 256)), 16),
                               1 / 16, rtol=0.03)


def planted_splice(seed=2, size=160, square=(48, 112, 40, 104), strength=0.5):
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(size, size))
    r = rng.normal(size=(size, size)) + strength * f
    t, b, left, right = square
    r[t:b, left:right] = rng.normal(size=(b - t, right - left))
    mask = np.zeros((size, size), bool)
    mask[t:b, left:right] = True
    return r, f, mask


def test_localize_finds_the_square_without_the_fingerprint():
    r, f, mask = planted_splice()
    result = localize(r, f, window=16)
    assert isinstance(result, LocalizationMap) and result.window == 16
    np.testing.assert_allclose(result.probability, 1 / (1 + np.exp(-result.log_odds)),
                               atol=1e-6)
    inner = np.zeros_like(mask)
    inner[56:104, 48:96] = True  # the square less half a window
    outer = ~uniform_filter(mask.astype(float), 24).astype(bool)
    assert result.probability[inner].max() < 0.05
    assert result.probability[outer].min() > 0.95
    # 0.5 f + unit noise: NCC 0.5 / sqrt(1.25) where the fingerprint is.
    np.testing.assert_allclose(result.expected, 0.5 / np.sqrt(1.25), rtol=0.1)
    area = 1 - mask.mean()
    assert abs(result.fraction - area) < 0.1


def test_localize_with_a_known_expected_correlation():
    r, f, mask = planted_splice(strength=0.3)
    result = localize(r, f, window=24, expected=0.3 / np.sqrt(1.09))
    assert result.expected == pytest.approx(0.3 / np.sqrt(1.09))
    inner = np.zeros_like(mask)
    inner[60:100, 52:92] = True
    assert result.probability[inner].mean() < 0.05
    assert result.probability[~uniform_filter(mask.astype(float), 36).astype(bool)].mean() > 0.95


def test_localize_bad_input():
    with pytest.raises(ValueError, match="one shape"):
        localize(np.zeros((8, 8)), np.zeros((8, 9)))
    with pytest.raises(ValueError, match="NaN"):
        local_ncc(np.full((8, 8), np.nan), np.zeros((8, 8)), window=4)
    with pytest.raises(ValueError, match="window"):
        local_ncc(np.zeros((8, 8)), np.zeros((8, 8)), window=1)
