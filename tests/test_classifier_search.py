"""PRNUFingerprintClassifier on residuals of any size: canvas fits and the search (issue 17)."""

import numpy as np
import pytest
from scipy import ndimage
from sklearn.pipeline import make_pipeline

from gfprint import PRNUFingerprintClassifier, ResidualExtractor
from gfprint.fingerprints._classifier import DEFAULT_SCALES
from gfprint.metrics import match_fingerprints, ncc, pce_all_pairs
from gfprint.perturbations import RandomCrop

SIZES = [(48, 48), (40, 48), (48, 36), (30, 30)]


@pytest.fixture
def planted(rng):
    """Three 48x48 fingerprints and noisy residuals of them in their frame, of SIZES."""
    fps = rng.normal(size=(3, 48, 48)).astype(np.float32)
    X, y = [], []
    for c in range(3):
        for i in range(8):
            h, w = SIZES[i % len(SIZES)]
            X.append((fps[c, :h, :w] + rng.normal(0, 2, (h, w))).astype(np.float32))
            y.append(c)
    return fps, X, np.array(y)


def test_mixed_sizes_fit_is_the_mean_of_the_residuals_covering_each_pixel(planted):
    _, X, y = planted
    clf = PRNUFingerprintClassifier().fit(X, y)
    assert clf.image_shape_ == (48, 48) and clf.n_features_in_ == 48 * 48
    for c in range(3):
        sums, counts = np.zeros((48, 48)), np.zeros((48, 48))
        for x in (x for x, t in zip(X, y) if t == c):
            sums[: x.shape[0], : x.shape[1]] += x
            counts[: x.shape[0], : x.shape[1]] += 1
        np.testing.assert_allclose(clf.fingerprints_[c], sums / counts, rtol=1e-5, atol=1e-6)
    # With one residual that covers only part of the canvas, the rest is zero.
    lone = PRNUFingerprintClassifier().fit([X[0], X[3][:10, :12]], [0, 1])
    assert np.all(lone.fingerprints_[1][10:] == 0) and np.all(lone.fingerprints_[1][:, 12:] == 0)
    np.testing.assert_allclose(lone.fingerprints_[1][:10, :12], X[3][:10, :12])


def test_partial_fit_grows_the_canvas_as_fit_would(planted):
    _, X, y = planted
    small = [i for i, x in enumerate(X) if x.shape == (30, 30)]
    rest = [i for i in range(len(X)) if i not in small]
    clf = PRNUFingerprintClassifier()
    clf.partial_fit(np.stack([X[i] for i in small]), y[small], classes=[0, 1, 2])
    assert clf.image_shape_ == (30, 30)
    clf.partial_fit([X[i] for i in rest], y[rest])
    whole = PRNUFingerprintClassifier().fit(X, y)
    assert clf.image_shape_ == (48, 48)
    np.testing.assert_allclose(clf.fingerprints_, whole.fingerprints_, rtol=1e-5, atol=1e-6)


def test_model_file_keeps_the_sizes(planted, tmp_path):
    _, X, y = planted
    clf = PRNUFingerprintClassifier(search="shift").fit(X, y)
    clf.save(tmp_path / "m.npz")
    back = PRNUFingerprintClassifier.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.fingerprints_, clf.fingerprints_)
    assert back.search == "shift" and back._partial == clf._partial
    back.partial_fit(X[:2], y[:2])  # continues with the per-pixel counts
    more = PRNUFingerprintClassifier().fit(X + X[:2], np.r_[y, y[:2]])
    np.testing.assert_allclose(back.fingerprints_, more.fingerprints_, rtol=1e-5, atol=1e-6)


def test_crops_are_attributed_and_their_offsets_found(planted, rng):
    fps, X, y = planted
    clf = PRNUFingerprintClassifier().fit(X, y)
    offsets = [(0, 0), (5, 9), (17, 2), (12, 18)]
    crops, truth = [], []
    for c in range(3):
        for oy, ox in offsets:
            noisy = fps[c] + rng.normal(0, 2, (48, 48))
            crops.append(noisy[oy : oy + 30, ox : ox + 28].astype(np.float32))
            truth.append(c)
    assert np.array_equal(clf.predict(crops), truth)
    found = clf.match(crops)
    assert found.offset[np.arange(12), truth].tolist() == [list(o) for o in offsets] * 3
    assert np.all(found.scale == 1.0)
    # The score is the NCC of the overlap (pce with similarity="pce").
    np.testing.assert_array_equal(clf.similarity_scores(crops), found.ncc)
    clf.set_params(similarity="pce")
    np.testing.assert_array_equal(clf.similarity_scores(crops), found.pce)
    with pytest.raises(ValueError, match="search='none'"):
        clf.set_params(search="none").predict(crops)


def test_auto_is_aligned_at_the_fingerprints_size(planted, rng):
    fps, X, y = planted
    R = (fps[[0, 1, 2]] + rng.normal(0, 2, (3, 48, 48))).astype(np.float32)
    clf = PRNUFingerprintClassifier().fit(X, y)
    np.testing.assert_array_equal(clf.similarity_scores(R), ncc(R, clf.fingerprints_))
    # "shift" at equal sizes has one placement: the aligned PCE.
    clf.set_params(search="shift", similarity="pce")
    np.testing.assert_allclose(clf.similarity_scores(R), pce_all_pairs(R, clf.fingerprints_),
                               rtol=1e-4)


@pytest.mark.parametrize("fraction", [0.08, 0.2])
def test_scale_search_finds_crop_and_resize_within_a_grid_step(rng, fraction):
    fps = rng.normal(size=(3, 96, 96)).astype(np.float32)
    X = [(fps[c] + rng.normal(0, 2, (96, 96))).astype(np.float32) for c in (0, 1, 2)]
    clf = PRNUFingerprintClassifier(search="scale", refine=0).fit(X * 3, [0, 1, 2] * 3)
    side = round(96 * (1 - fraction))
    crop = fps[2, 6 : 6 + side, 3 : 3 + side] + rng.normal(0, 0.5, (side, side))
    back = ndimage.zoom(crop, 96 / side, order=1, mode="nearest", grid_mode=True)
    found = clf.match(back[None].astype(np.float32))
    assert clf.predict(back[None].astype(np.float32))[0] == 2
    step = DEFAULT_SCALES[1] - DEFAULT_SCALES[0]
    assert abs(found.scale[0, 2] - 96 / side) <= step
    assert found.pce[0, 2] > 50 > found.pce[0, :2].max()
    # refine: rounds of halving the step around the best grid scale, closer to it.
    fine = clf.set_params(refine=3).match(back[None].astype(np.float32))
    assert abs(fine.scale[0, 2] - 96 / side) <= step / 2**3 + 1e-9
    assert fine.pce[0, 2] >= found.pce[0, 2]


def test_automatic_threshold_scores_training_residuals_with_the_search(planted):
    _, X, y = planted
    clf = PRNUFingerprintClassifier(threshold="auto", similarity="pce").fit(X, y)
    found = match_fingerprints(X, clf.fingerprints_)
    other = y[:, None] != clf.fingerprint_sources_[None, :]
    np.testing.assert_allclose(clf.null_scores_, np.sort(found.pce[other]))
    assert np.isfinite(clf.threshold_)


@pytest.mark.parametrize("similarity", ["ncc", "pce"])
def test_automatic_threshold_holds_for_crops_scored_at_their_best_placement(similarity):
    # The null scores are aligned; a 40x40 crop is scored at the best of 625
    # placements, which passed an aligned threshold at a rate of 0.7 to 1.0 for a
    # target of 0.01. Each crop now gets the threshold of its number of placements.
    rng = np.random.default_rng(0)
    prints = rng.normal(size=(3, 64, 64))
    R = np.concatenate([0.25 * f + rng.normal(size=(60, 64, 64)) for f in prints])
    clf = PRNUFingerprintClassifier(threshold="auto", false_alarm_rate=0.01,
                                    similarity=similarity).fit(R, np.repeat([0, 1, 2], 60))

    def crops(pattern, n):
        out = []
        for x in pattern + rng.normal(size=(n, 64, 64)):
            top, left = rng.integers(0, 25, 2)
            out.append(x[top:top + 40, left:left + 40])
        return np.stack(out).astype(np.float32)

    unseen = np.concatenate([crops(0.25 * rng.normal(size=(64, 64)), 5) for _ in range(30)])
    assert np.mean(clf.predict(unseen) != -1) < 0.05
    known = np.concatenate([crops(0.25 * f, 20) for f in prints])
    assert np.mean(clf.predict(known) == np.repeat([0, 1, 2], 20)) > 0.95
    # The thresholds of aligned residuals are threshold_ itself.
    assert clf._scored(R[:2])[2] is None


def test_pipeline_on_crops_without_resize(rng):
    """ResidualExtractor passes images of mixed sizes on as a list of residuals."""
    from gfprint.datasets import make_camera_images

    cams = make_camera_images(n_cameras=3, n_images=8, shape=(96, 96), random_state=2)
    train = np.arange(24) % 8 < 5
    pipe = make_pipeline(ResidualExtractor(), PRNUFingerprintClassifier())
    pipe.fit(cams.images[train], cams.target[train])
    crops = RandomCrop(fraction=(0.05, 0.2), resize=False, random_state=0).transform(
        cams.images[~train])
    assert isinstance(crops, list) and len({c.shape for c in crops}) > 1
    residuals = ResidualExtractor().transform(crops)
    assert [r.shape[:2] for r in residuals] == [c.shape[:2] for c in crops]
    for c, r in zip(crops, residuals):
        np.testing.assert_array_equal(r, ResidualExtractor().transform(c[None])[0])
    assert pipe.score(crops, cams.target[~train]) >= 8 / 9


def test_rows_fitted_fingerprints_refuse_planes_of_mixed_sizes(rng):
    clf = PRNUFingerprintClassifier().fit(rng.normal(size=(4, 20)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="fitted on rows of 20 values"):
        clf.predict([rng.normal(size=(5, 6)), rng.normal(size=(4, 6))])
    with pytest.raises(ValueError, match="expecting 20 features"):
        clf.partial_fit(rng.normal(size=(2, 24)), [0, 1])
