import pickle

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from gfprint import CameraResidualExtractor, PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import make_camera_images
from gfprint.ensemble import TTAClassifier


@pytest.fixture(scope="module")
def cameras():
    """5 cameras x 12 images of 256x256; camera_4 is kept out as the unseen one."""
    data = make_camera_images(n_cameras=5, n_images=12, shape=(256, 256), random_state=0)
    data.residuals = CameraResidualExtractor(n_jobs=2).transform(data.images)
    return data


def split(data, seen=4):
    known = np.isin(data.target, data.target_names[:seen])
    idx = np.flatnonzero(known)
    train, test = idx[::2], idx[1::2]
    return train, test, np.flatnonzero(~known)


def test_attribution_accuracy_and_open_set(cameras):
    train, test, unseen = split(cameras)
    R, y = cameras.residuals, cameras.target
    clf = PRNUFingerprintClassifier().fit(R[train], y[train])
    assert clf.score(R[test], y[test]) >= 0.95
    scores = clf.decision_function(R)
    same = scores[test, np.searchsorted(clf.classes_, y[test])]
    threshold = 0.5 * (np.median(same) + np.abs(scores[unseen]).max())
    assert same.min() > threshold
    open_set = clf.set_params(threshold=threshold)
    assert list(open_set.predict(R[unseen])) == ["unknown"] * len(unseen)
    assert open_set.score(R[test], y[test]) >= 0.95


def test_pipeline_cross_val_and_pce(cameras):
    X, y = cameras.images[:48], cameras.target[:48]
    pipe = Pipeline([("residual", ResidualExtractor()), ("prnu", PRNUFingerprintClassifier())])
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3))
    assert scores.min() >= 0.95
    train, test, _ = split(cameras)
    R = cameras.residuals
    pce_clf = PRNUFingerprintClassifier(similarity="pce").fit(R[train], cameras.target[train])
    assert pce_clf.score(R[test], cameras.target[test]) >= 0.95
    assert pce_clf.decision_function(R[test]).max() > 100


def test_null_class_threshold_search(cameras):
    """Real-vs-fake by one correlation against one threshold, tuned by GridSearchCV."""
    R = cameras.residuals[:36]  # cameras 0, 1, 2
    y = np.where(cameras.target[:36] == "camera_0", "gan", "real")
    grid = {"threshold": np.linspace(0, 0.01, 21).tolist() + [0.2, 2.0]}
    base = PRNUFingerprintClassifier(null_class="real")
    search = GridSearchCV(base, grid, cv=StratifiedKFold(3), scoring="accuracy").fit(R, y)
    assert search.best_score_ >= 0.95
    assert search.best_params_["threshold"] < 2.0
    assert search.cv_results_["mean_test_score"][-1] == pytest.approx(24 / 36)  # all "real"
    auc = GridSearchCV(base, {"threshold": [0.0, 0.005]}, cv=StratifiedKFold(3), scoring="roc_auc")
    assert auc.fit(R, y).best_score_ >= 0.95
    clf = search.best_estimator_
    assert list(clf.fingerprint_classes_) == ["gan"]
    assert clf.fingerprints_.shape == (1, 256, 256)
    dec = clf.decision_function(R)
    assert dec.shape == (36,)
    np.testing.assert_array_equal(clf.predict(R), np.where(dec > 0, "real", "gan"))
    proba = clf.predict_proba(R)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(R))
    # The softmax of the decision values over NCC's temperature, 0.01.
    full = np.stack([-dec / 2, dec / 2], axis=1)  # any shift: softmax sees differences
    np.testing.assert_allclose(proba, softmax(full / 0.01, axis=1), rtol=1e-10)


def test_predict_proba_stays_finite_for_large_pce():
    # PCE in the tens of thousands over a temperature of 10: exp overflows unless the
    # softmax is shifted by each row's maximum.
    rng = np.random.default_rng(0)
    prints = rng.normal(size=(2, 128, 128))  # PCE is at most about the pixel count
    R = np.concatenate([6 * p + rng.normal(size=(4, 128, 128)) for p in prints])
    clf = PRNUFingerprintClassifier(similarity="pce").fit(R.astype(np.float32), [0] * 4 + [1] * 4)
    assert clf.similarity_scores(R).max() > 7100  # exp(710) is beyond float64
    proba = clf.predict_proba(R)
    assert np.isfinite(proba).all()
    np.testing.assert_array_equal(proba.argmax(axis=1), [0] * 4 + [1] * 4)


def test_pipeline_threshold_grid_search_over_images(cameras):
    X = cameras.images[:24]
    y = np.where(cameras.target[:24] == "camera_0", "gan", "real")
    pipe = Pipeline(
        [("residual", ResidualExtractor()), ("prnu", PRNUFingerprintClassifier(null_class="real"))]
    )
    search = GridSearchCV(pipe, {"prnu__threshold": np.linspace(0, 0.01, 5)}, cv=StratifiedKFold(2))
    assert search.fit(X, y).best_score_ >= 0.95


def test_partial_fit_equals_fit(cameras):
    R, y = cameras.residuals, cameras.target
    full = PRNUFingerprintClassifier().fit(R, y)
    stream = PRNUFingerprintClassifier()
    for s in range(0, len(R), 7):
        stream.partial_fit(R[s : s + 7], y[s : s + 7], classes=cameras.target_names)
    np.testing.assert_allclose(stream.fingerprints_, full.fingerprints_, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(stream.n_images_per_class_, full.n_images_per_class_)
    np.testing.assert_array_equal(stream.predict(R), full.predict(R))


def test_fingerprint_is_mean_residual(rng):
    R = rng.normal(size=(6, 5, 4)).astype(np.float32)
    y = np.array([1, 2, 1, 2, 2, 1])
    clf = PRNUFingerprintClassifier(batch_size=4).fit(R, y)
    np.testing.assert_allclose(clf.fingerprints_[0], R[y == 1].mean(0), rtol=1e-6)
    np.testing.assert_allclose(clf.fingerprints_[1], R[y == 2].mean(0), rtol=1e-6)
    assert clf.fingerprints_.dtype == np.float32
    assert clf.image_shape_ == (5, 4) and clf.n_features_in_ == 20
    assert list(clf.n_images_per_class_) == [3, 3]


def test_clone_pickle_save_load(cameras, tmp_path):
    train, test, _ = split(cameras)
    R, y = cameras.residuals, cameras.target
    clf = PRNUFingerprintClassifier(threshold=0.01).fit(R[train], y[train])
    assert clone(clf).get_params() == clf.get_params()
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.decision_function(R[test]), clf.decision_function(R[test]))
    path = tmp_path / "fp.npz"
    clf.save(path)
    loaded = PRNUFingerprintClassifier.load(path)
    assert loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.fingerprints_, clf.fingerprints_)
    np.testing.assert_array_equal(loaded.predict(R[test]), clf.predict(R[test]))
    loaded.partial_fit(R[test], y[test])  # continues streaming from the saved sums
    np.testing.assert_allclose(
        loaded.fingerprints_,
        PRNUFingerprintClassifier().fit(R[:48], y[:48]).fingerprints_,
        rtol=1e-5,
        atol=1e-6,
    )
    with np.load(path, allow_pickle=False) as data:  # no pickle inside
        assert "sums" in data.files


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "x.npz"
    np.savez(bad, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a fingerprint file"):
        PRNUFingerprintClassifier.load(bad)
    with pytest.raises(FileNotFoundError, match="no such fingerprint file"):
        PRNUFingerprintClassifier.load(tmp_path / "missing.npz")


def test_integer_labels_unknown_is_minus_one(rng):
    R = rng.normal(size=(4, 6, 6))
    clf = PRNUFingerprintClassifier(threshold=1.1).fit(R, [3, 5, 3, 5])
    assert list(clf.predict(R)) == [-1] * 4


@pytest.mark.parametrize("classes, unknown, kind", [
    ([0, 1, 2], "unknown", "O"),  # a common type would make 0 the string "0"
    ([False, True, True], None, "O"),  # the default "unknown" beside booleans
    (["a", "b", "c"], -1, "O"),
    ([0, 1, 2], None, "i"),
    (["a", "b", "c"], None, "U"),
])
def test_open_set_labels_keep_their_type_in_every_batch(rng, classes, unknown, kind):
    """A batch with a rejection turned integer labels into strings ("0", "1", ...)."""
    prints = rng.normal(size=(3, 16, 16)).astype(np.float32)
    y = np.repeat(np.array(classes), 6)
    X = prints[np.repeat([0, 1, 2], 6)] + rng.normal(0, 2, (18, 16, 16)).astype(np.float32)
    tests = np.concatenate([prints, rng.normal(size=(2, 16, 16)).astype(np.float32)])
    clf = PRNUFingerprintClassifier(threshold=0.2, unknown_label=unknown).fit(X, y)
    for model in (clf, TTAClassifier(clf, transforms=["identity", "hflip"]).fit(X, y)):
        clean, mixed = model.predict(tests[:3]), model.predict(tests)
        assert clean.dtype == mixed.dtype and clean.dtype.kind == kind
        assert clean.tolist() == mixed[:3].tolist() == classes
        assert all(type(a) is type(b) for a, b in zip(mixed[:3].tolist(), classes))
        assert mixed[3:].tolist() == [clf._resolved_unknown_label(clf.classes_)] * 2


def test_bad_input_errors(rng):
    R = rng.normal(size=(4, 8, 8)).astype(np.float32)
    y = np.array(["a", "b", "a", "b"])
    clf = PRNUFingerprintClassifier().fit(R, y)
    with pytest.raises(ValueError, match="must be the same size"):
        clf.set_params(search="none").predict(rng.normal(size=(2, 8, 9)))
    clf.set_params(search="auto")
    with pytest.raises(ValueError, match="cannot be matched"):
        clf.predict(rng.normal(size=(2, 8, 8, 3)))
    with pytest.raises(ValueError, match="must all be planes"):
        clf.predict([rng.normal(size=(8, 8)), rng.normal(size=(7, 8, 3))])
    with pytest.raises(ValueError, match="must be planes"):
        clf.predict([rng.normal(size=(8,)), rng.normal(size=(7,))])
    with pytest.raises(ValueError, match="search"):
        PRNUFingerprintClassifier(search="rotate").fit(R, y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        clf.predict(np.full((1, 8, 8), np.nan))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        PRNUFingerprintClassifier().fit(R, y[:3])
    with pytest.raises(ValueError, match="not in classes"):
        PRNUFingerprintClassifier().partial_fit(R, y, classes=["a"])
    with pytest.raises(ValueError, match="first call"):
        PRNUFingerprintClassifier().partial_fit(R, y)
    with pytest.raises(ValueError, match="differs"):
        clf.partial_fit(R, y, classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="null_class"):
        PRNUFingerprintClassifier(null_class="real").fit(R, y)
    with pytest.raises(ValueError, match="also a class label"):
        PRNUFingerprintClassifier(threshold=0.1, unknown_label="a").fit(R, y)
    with pytest.raises(ValueError, match="neighborhood must be odd"):
        PRNUFingerprintClassifier(similarity="pce", neighborhood=4).fit(R, y)
    with pytest.raises(TypeError, match="comparable"):
        PRNUFingerprintClassifier().fit(R, np.array(["a", 1, "a", 1], dtype=object))
    with pytest.raises(ValueError, match="similarity"):
        PRNUFingerprintClassifier(similarity="cosine").fit(R, y)


def test_save_refuses_object_labels(rng, tmp_path):
    R = rng.normal(size=(2, 4, 4))
    clf = PRNUFingerprintClassifier().fit(R, ["x", "y"])
    clf.classes_ = clf.classes_.astype(object)
    with pytest.raises(TypeError, match="without pickle"):
        clf.save(tmp_path / "f.npz")


def test_save_names_the_path_asked_for_when_it_cannot_write(rng, tmp_path):
    clf = PRNUFingerprintClassifier().fit(rng.normal(size=(2, 4, 4)), ["a", "b"])
    with pytest.raises(FileNotFoundError, match="no such folder") as info:
        clf.save(tmp_path / "missing" / "m.npz")
    assert info.value.filename == str(tmp_path / "missing")  # not a temporary name
    with pytest.raises(IsADirectoryError, match="is a folder") as info:
        clf.save(tmp_path)
    assert info.value.filename == str(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_array_like_parameters_are_saved(rng, tmp_path):
    R = rng.normal(size=(4, 24, 24))
    for scales in (np.array([1.0, 1.1]), (1.0, 1.1), [np.float32(1.0), 1.1]):
        clf = PRNUFingerprintClassifier(search="scale", scales=scales).fit(R, ["a", "b"] * 2)
        clf.save(tmp_path / "s.npz")
        loaded = PRNUFingerprintClassifier.load(tmp_path / "s.npz")
        np.testing.assert_allclose(loaded.scales, [1.0, 1.1])
        np.testing.assert_array_equal(loaded.predict(R), clf.predict(R))


def test_save_is_checked_and_carries_metadata(rng, tmp_path):
    R = rng.normal(size=(4, 6, 6))
    clf = PRNUFingerprintClassifier().fit(R, ["a", "b", "a", "b"])
    path = tmp_path / "m.npz"
    clf.save(path, metadata={"extractor": {"levels": 2}})
    assert PRNUFingerprintClassifier.load_metadata(path) == {"extractor": {"levels": 2}}
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary left
    for bad in ([1, 2], "hello", []):  # written, then refused by load: the model was lost
        with pytest.raises(TypeError, match="metadata must be a dict"):
            clf.save(tmp_path / "bad.npz", metadata=bad)
    assert not (tmp_path / "bad.npz").exists()
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["sums"] = arrays["sums"] * 1.01  # tamper
    np.savez(tmp_path / "t.npz", **arrays)
    with pytest.raises(ValueError, match="modified"):
        PRNUFingerprintClassifier.load(tmp_path / "t.npz")
    arrays = {k: v for k, v in arrays.items()}
    arrays["format_version"] = np.int64(99)
    np.savez(tmp_path / "v.npz", **arrays)
    with pytest.raises(ValueError, match="format version 99"):
        PRNUFingerprintClassifier.load(tmp_path / "v.npz")
    (tmp_path / "cut.npz").write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="not a fingerprint file"):
        PRNUFingerprintClassifier.load(tmp_path / "cut.npz")
