"""Localization maps on planted fingerprints, where the right map is known."""

import numpy as np
import pytest
from scipy.ndimage import uniform_filter
from sklearn.metrics import roc_auc_score

from gfprint import PRNUFingerprintClassifier
from gfprint.datasets import make_camera_images
from gfprint.exceptions import InvalidParameterError, NotFittedError
from gfprint.fingerprints import CameraFingerprintClassifier
from gfprint.localization import LocalizationMap, _tiled, local_ncc, localize, window_null_sd


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


def test_window_null_sd_counts_the_correlation_between_colour_channels():
    # Channels that share most of their values (as a colour residual's do): the
    # pairs of values in different channels count as well as those in one.
    rng = np.random.default_rng(3)

    def colour_field(size):
        common = uniform_filter(rng.normal(size=(size, size)), 2, mode="wrap")
        own = uniform_filter(rng.normal(size=(size, size, 3)), (2, 2, 1), mode="wrap")
        return 0.8 * common[..., None] + 0.6 * own

    r, f = colour_field(384), colour_field(384)
    m = local_ncc(r, f, window=16)
    empirical = m[8::16, 8::16].std()  # 576 windows that do not overlap
    np.testing.assert_allclose(window_null_sd(r, f, 16), empirical, rtol=0.1)


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
    # No window of the square is called present, and nearly all are far from it.
    # (Its largest null excursion, 2.7 null spreads, reaches 0.07: the null spread
    # is the exact 1/16 of white fields now, where the whole-plane sum gave 6 % more.)
    assert (result.probability[inner] < 0.5).all()
    assert np.quantile(result.probability[inner], 0.99) < 0.01
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
    with pytest.raises(ValueError, match="larger than the image of 8x8"):
        localize(np.zeros((8, 8)), np.ones((8, 8)), window=9)
    with pytest.raises(TypeError, match="complex"):  # the imaginary part was dropped
        local_ncc(np.ones((8, 8)) + 1j, np.ones((8, 8)), window=4)


def test_tiled_is_the_fingerprint_repeated_from_the_offset():
    fp = np.arange(12.0).reshape(3, 4)
    tiled = _tiled(fp, (5, 7), (-1, 2))
    for y in range(5):
        for x in range(7):
            assert tiled[y, x] == fp[(y - 1) % 3, (x + 2) % 4]
    np.testing.assert_array_equal(_tiled(fp, (2, 2), (1, 1)), fp[1:3, 1:3])  # a crop


def generator_zoo(rng, side=64):
    """Two generator fingerprints of ``side``^2 and a classifier fitted on their images."""
    fps = rng.normal(size=(2, side, side)).astype(np.float32)
    X = fps[[0] * 5 + [1] * 5] + 2 * rng.normal(size=(10, side, side)).astype(np.float32)
    return fps, PRNUFingerprintClassifier().fit(X, ["a"] * 5 + ["b"] * 5)


def test_classifier_localize_finds_a_generated_image_pasted_into_a_photo():
    rng = np.random.default_rng(3)
    fps, clf = generator_zoo(rng)
    photo = rng.normal(size=(200, 180)).astype(np.float32)
    photo[70:134, 90:154] += 0.7 * fps[1]  # a generated image of source "b" at (70, 90)
    found = clf.localize([photo], window=32)[0]
    assert found.source == "b" and found.offset == (-70, -90)
    inner = np.zeros(photo.shape, bool)
    inner[86:118, 106:138] = True
    assert found.probability[inner].min() > 0.9
    far = np.ones(photo.shape, bool)
    far[40:164, 60:184] = False
    assert found.probability[far].mean() < 0.05
    # The other source's fingerprint, asked for by name, is nowhere.
    other = clf.localize(photo[None], source="a", window=32)[0]
    assert other.source == "a" and other.probability[inner].mean() < 0.5
    assert other.fraction < 0.2  # no component fitted to the tail of the null


def test_classifier_localize_aligned_and_cropped():
    rng = np.random.default_rng(4)
    fps, clf = generator_zoo(rng)
    r = rng.normal(size=(64, 64)).astype(np.float32)
    r[:, :32] += fps[0][:, :32]  # left half generated by "a", aligned
    found = clf.localize(r[None], window=16)[0]
    assert found.offset == (0, 0) and found.source == "a"
    assert found.probability[:, :20].mean() > 0.9 > 0.1 > found.probability[:, 44:].mean()
    found_crop = clf.localize([r[8:56, 4:52]], source="a", window=16)[0]
    assert found_crop.offset == (8, 4)  # the crop's place in the fingerprint
    by_hand = local_ncc(r[8:56, 4:52], clf.fingerprints_[0][8:56, 4:52], window=16)
    np.testing.assert_allclose(found_crop.ncc, by_hand, atol=1e-6)


def test_classifier_localize_bad_input():
    rng = np.random.default_rng(5)
    _, clf = generator_zoo(rng, side=32)
    r = rng.normal(size=(1, 32, 32)).astype(np.float32)
    with pytest.raises(ValueError, match="source 'c' has no fingerprint"):
        clf.localize(r, source="c")
    with pytest.raises(ValueError, match="window of 33 pixels"):
        clf.localize(r, window=33)
    with pytest.raises(InvalidParameterError, match="window"):
        clf.localize(r, window=1)
    with pytest.raises(NotFittedError):
        PRNUFingerprintClassifier().localize(r)
    rows = PRNUFingerprintClassifier().fit(rng.normal(size=(4, 50)), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="planes"):
        rows.localize(rng.normal(size=(1, 50)))


def test_camera_localize_finds_the_region_from_another_camera():
    cams = make_camera_images(n_cameras=2, n_images=21, shape=(256, 256), random_state=0)
    train = np.r_[1:21, 22:42]
    clf = CameraFingerprintClassifier().fit(cams.images[train], cams.target[train])
    img = cams.images[0].copy()
    img[64:192, 96:224] = cams.images[21][64:192, 96:224]  # from camera 1
    found = clf.localize([img], window=32)[0]
    assert str(found.source) == "camera_0" and found.offset == (0, 0)
    tampered = 1 - found.probability
    mask = np.zeros(img.shape[:2], bool)
    mask[64:192, 96:224] = True
    assert roc_auc_score(mask.ravel(), tampered.ravel()) > 0.9
    # A crop is laid on the camera's frame where it was cut.
    crop = clf.localize([img[16:208, 32:240]], window=32)[0]
    assert crop.offset == (16, 32)
    with pytest.raises(ValueError, match="larger than the camera fingerprints"):
        clf.localize(np.zeros((1, 300, 256, 3), np.uint8))


def test_a_periodic_fingerprint_is_found_whatever_the_image_size():
    """The null spread summed a periodic reference's self-correlation over the whole
    plane: it grew with the image (0.36 at 256x256, 0.70 at 512x512, against 0.0625)
    and the region carrying the fingerprint was missed."""
    rng = np.random.default_rng(0)
    for side in (128, 256):
        f = np.tile(rng.normal(size=(8, 8)), (side // 8, side // 8))  # up-sampling-like
        r = 2 * rng.normal(size=(side, side))
        inside = np.zeros((side, side), bool)
        inside[side // 4 : 3 * side // 4, side // 4 : 3 * side // 4] = True
        r[inside] += f[inside]
        result = localize(r, f, window=16)
        far = ~uniform_filter(inside.astype(float), 48).astype(bool)
        far[:8], far[-8:], far[:, :8], far[:, -8:] = False, False, False, False  # borders
        # White noise against any reference: 1 / window (the part of the residual
        # that carries the fingerprint raises the estimate a little).
        assert result.null_sd == pytest.approx(1 / 16, rel=0.2)
        assert result.probability[inside].mean() > 0.95
        assert (result.probability[far] > 0.5).mean() < 0.01


def test_probability_never_falls_as_the_correlation_rises():
    """An anti-correlated image was called "fingerprint present" everywhere."""
    rng = np.random.default_rng(3)
    f = rng.normal(size=(128, 128))
    r = rng.normal(size=(128, 128))
    r[:, 64:] += 0.5 * f[:, 64:]
    r[:, :64] -= 0.5 * f[:, :64]
    result = localize(r, f, window=16)
    assert result.probability[:, :56].max() < 0.01 and result.probability[:, 72:].min() > 0.99
    interior = (slice(8, -8), slice(8, -8))  # the same spread everywhere
    ncc, p = result.ncc[interior].ravel(), result.log_odds[interior].ravel()
    order = np.argsort(ncc, kind="stable")
    assert np.all(np.diff(p[order]) >= -1e-4)
    everywhere = localize(rng.normal(size=(128, 128)) - 0.5 * f, f, window=16)
    assert everywhere.probability.max() < 0.01


def test_a_constant_plane_is_refused():
    """It gave a confident "absent everywhere" map (a null spread of 6e-8)."""
    noise = np.random.default_rng(0).normal(size=(32, 32))
    for r, f in ((noise, np.zeros((32, 32))), (np.ones((32, 32)), noise)):
        with pytest.raises(ValueError, match="constant"):
            localize(r, f, window=8)
        with pytest.raises(ValueError, match="constant"):
            window_null_sd(r, f, 8)
