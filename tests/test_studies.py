"""gfprint.studies: the experiments as functions returning results."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.pipeline import make_pipeline

from gfprint import PRNUFingerprintClassifier, ResidualExtractor
from gfprint.perturbations import GaussianNoise
from gfprint.studies import StudyTable, ZooDemoResult, attribution_table, robustness_table


class MeanBrightness(ClassifierMixin, BaseEstimator):
    """Classifies by the image's mean: fitted on attacked images, it learns their shift."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.means_ = np.array([X[y == c].mean() for c in self.classes_])
        self.n_fit_images_ = len(X)
        return self

    def predict(self, X):
        m = X.reshape(len(X), -1).mean(axis=1)
        return self.classes_[np.abs(m[:, None] - self.means_[None, :]).argmin(axis=1)]


class Brighten(BaseEstimator):
    """An 'attack' that adds a constant: a clean-fitted MeanBrightness fails on it."""

    def __init__(self, amount=40.0, random_state=None):
        self.amount = amount
        self.random_state = random_state

    def transform(self, X):
        return X + np.float32(self.amount)


@pytest.fixture
def bright_dark():
    y = np.repeat(["dark", "bright"], 6)
    X = np.where(y == "dark", 10.0, 60.0)[:, None, None, None] * np.ones((1, 4, 4, 1))
    return X.astype(np.float32), y


def test_study_table_formats_and_indexes():
    t = StudyTable(["a", "b"], ["m1", "m2"], [[0.5, 1.0], [0.25, np.nan]], title="t")
    assert t["b", "m1"] == 0.25
    assert t.to_dict() == {"a": {"m1": 0.5, "m2": 1.0}, "b": {"m1": 0.25, "m2": pytest.approx(
        np.nan, nan_ok=True)}}
    md = t.to_markdown().splitlines()
    assert md[0] == "|  | m1 | m2 |" and md[2] == "| a | 0.500 | 1.000 |"
    text = t.to_text(corner="cond").splitlines()
    assert text[0].split() == ["cond", "m1", "m2"] and text[2].split() == ["b", "0.250", "nan"]
    with pytest.raises(ValueError, match="expected \\(2, 2\\)"):
        StudyTable(["a", "b"], ["m1", "m2"], [[1.0, 2.0]])
    numbered = StudyTable([1, 2], [0], [[0.5], [0.75]])  # labels that are not strings
    assert numbered[2, 0] == numbered["2", "0"] == 0.75  # 1 is not in list, it said
    assert StudyTable([], ["m"], np.empty((0, 1))).to_text().split() == ["m"]


def test_attribution_table_fits_each_method_per_dataset(bright_dark):
    X, y = bright_dark
    calls = []

    def lazy():
        calls.append(1)
        return X, y, X + 40, y

    t = attribution_table(
        {"mean": MeanBrightness(), "majority": DummyClassifier()},
        {"clean": (X, y, X, y), "brightened test": lazy},
        keep_estimators=True,
    )
    assert t.rows == ["clean", "brightened test"] and t.columns == ["mean", "majority"]
    assert t["clean", "mean"] == 1.0
    assert t["brightened test", "mean"] == 0.5  # +40 moves the dark images to 'bright'
    assert t["clean", "majority"] == 0.5
    assert calls == [1]
    assert t.estimators["clean", "mean"].n_fit_images_ == 12
    numbered = attribution_table({0: DummyClassifier()}, {1: (X, y, X, y)},
                                 keep_estimators=True)
    assert numbered[1, 0] == 0.5 and set(numbered.estimators) == {("1", "0")}
    with pytest.raises(ValueError, match="X_train, y_train, X_test, y_test"):
        attribution_table({"mean": MeanBrightness()}, {"bad": (X, y)})


def test_robustness_table_atk_and_dfs(bright_dark):
    X, y = bright_dark
    t = robustness_table({"mean": MeanBrightness()}, (X, y), (X, y),
                         {"brighten": Brighten()}, keep_estimators=True)
    assert t.rows == ["none", "brighten"] and t.columns == ["mean Atk", "mean Dfs"]
    assert t["none", "mean Atk"] == t["none", "mean Dfs"] == 1.0
    assert t["brighten", "mean Atk"] == 0.5   # fitted clean, tested brightened
    assert t["brighten", "mean Dfs"] == 1.0   # fitted on brightened training images
    # An estimator for every cell, under the table's own labels.
    assert set(t.estimators) == {(r, c) for r in t.rows for c in t.columns}
    assert t.estimators["none", "mean Atk"] is t.estimators["brighten", "mean Atk"]
    assert t.estimators["brighten", "mean Dfs"].means_[0] > 40  # fitted brightened
    # Dfs trains on the attacked *training* images: test images one level brighter.
    t4 = robustness_table({"mean": MeanBrightness()}, (X, y), (X + 1, y),
                          {"brighten": Brighten()}, keep_estimators=True)
    np.testing.assert_array_equal(t4.estimators["brighten", "mean Dfs"].means_, [100, 50])
    with pytest.raises(ValueError, match="named 'none'"):  # it shadowed the clean row
        robustness_table({"mean": MeanBrightness()}, (X, y), (X, y), {"none": Brighten()})
    for seed in (None, np.random.RandomState(0)):  # "seed + 1" failed for these
        t3 = robustness_table({"mean": MeanBrightness()}, (X, y), (X, y),
                              {"brighten": Brighten()}, random_state=seed)
        assert t3["brighten", "mean Atk"] == 0.5 and t3["brighten", "mean Dfs"] == 1.0
    # A defence that trains on clean images instead: no immunity.
    seen = []

    def defence(estimator, attack):
        seen.append(attack.random_state)
        return estimator

    t2 = robustness_table({"mean": MeanBrightness()}, (X, y), (X, y), {"brighten": Brighten()},
                          defences={"mean": defence}, random_state=3)
    assert t2["brighten", "mean Dfs"] == 0.5 and seen == [3]
    with pytest.raises(ValueError, match="not given"):
        robustness_table({"mean": MeanBrightness()}, (X, y), (X, y), {}, defences={"x": defence})


def test_robustness_table_seeds_train_attacks_with_random_state_and_test_with_the_next(
        bright_dark):
    X, y = bright_dark
    seen = {}

    class Recorder(BaseEstimator):
        def __init__(self, random_state=None):
            self.random_state = random_state

        def transform(self, X):
            seen[len(X)] = self.random_state
            return X

    test = (X[::2], y[::2])  # 6 test images, 12 training images
    robustness_table({"mean": MeanBrightness()}, (X, y), test, {"rec": Recorder()},
                     random_state=7)
    assert seen == {12: 7, 6: 8}


def test_robustness_table_seeds_attacks_and_runs_a_prnu_pipeline():
    rng = np.random.default_rng(0)
    patterns = rng.normal(0, 4, (2, 32, 32, 3))
    y = np.repeat([0, 1], 8)
    X = np.clip(128 + rng.normal(0, 10, (16, 32, 32, 3)) + patterns[y], 0, 255).astype(np.uint8)
    prnu = make_pipeline(ResidualExtractor(), PRNUFingerprintClassifier())
    a = robustness_table({"PRNU": prnu}, (X, y), (X, y), {"noise": GaussianNoise(sigma=3)})
    b = robustness_table({"PRNU": prnu}, (X, y), (X, y), {"noise": GaussianNoise(sigma=3)})
    np.testing.assert_array_equal(a.values, b.values)  # seeded: the same table twice
    c, d = (robustness_table({"PRNU": prnu}, (X, y), (X, y), {"noise": GaussianNoise(sigma=3)},
                             random_state=np.random.RandomState(5)) for _ in range(2))
    np.testing.assert_array_equal(c.values, d.values)  # a RandomState draws both seeds
    assert a["none", "PRNU Atk"] == 1.0 and a["noise", "PRNU Atk"] >= 0.9


def test_seed_sources_picks_the_architecture_with_most_seeds():
    from gfprint.studies import _seed_sources

    classes = ["deconv_s0", "deconv_s1", "deconv_subset_s0", "real", "upsample_s0",
               "deconv_s12"]
    assert _seed_sources(classes) == ["deconv_s0", "deconv_s1", "deconv_s12"]
    assert _seed_sources(["real", "stylegan"]) == []


def test_threshold_search_chooses_what_grid_search_chooses():
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict

    from gfprint.studies import DEMO_THRESHOLDS, _threshold_search

    # Three planted sources and a null class with no fingerprint; weak enough that the
    # threshold matters (some candidates are better than others).
    rng = np.random.default_rng(0)
    fps = rng.normal(size=(3, 16, 16))
    X = np.concatenate([0.15 * fps[k] + rng.normal(size=(30, 16, 16)) for k in range(3)]
                       + [rng.normal(size=(30, 16, 16))]).astype(np.float32)
    y = np.repeat(["a", "b", "c", "real"], 30)
    base = PRNUFingerprintClassifier(null_class="real")
    inner = StratifiedKFold(3, shuffle=True, random_state=0)
    grid = GridSearchCV(base, {"threshold": DEMO_THRESHOLDS.tolist()}, cv=inner).fit(X, y)
    assert np.ptp(grid.cv_results_["mean_test_score"]) > 0.1
    assert _threshold_search(base, X, y, DEMO_THRESHOLDS, inner) == grid.best_params_["threshold"]
    outer = StratifiedKFold(4, shuffle=True, random_state=1)
    nested = np.empty_like(y)
    for tr, te in outer.split(X, y):
        t = _threshold_search(base, X[tr], y[tr], DEMO_THRESHOLDS, inner)
        nested[te] = clone(base).set_params(threshold=t).fit(X[tr], y[tr]).predict(X[te])
    grid_search = GridSearchCV(base, {"threshold": DEMO_THRESHOLDS.tolist()}, cv=inner)
    np.testing.assert_array_equal(nested, cross_val_predict(grid_search, X, y, cv=outer))


def _demo_result(own_scores, other_scores):
    y = np.array(["a", "b", "real"])
    table = StudyTable(["all sources"], ["PRNU (NCC)"], [[1.0]])
    return ZooDemoResult(
        classes=["a", "b", "real"], y=y, n_per_source=1, folds=3, image_size=32, levels=3,
        pred_real_as_class=y, accuracy_real_as_class=1.0, pred_open_set=y,
        accuracy_open_set=1.0, threshold=0.01, gan_scores=np.zeros(3), auc_real_vs_gan=1.0,
        table=table, seeds=["a", "b"], seeds_table=table, n_train=2, n_test=1,
        cnn_params={"width": 0.1, "max_epochs": 1}, fingerprints=np.zeros((2, 4, 4)),
        fingerprint_classes=np.array(["a", "b"]), own_scores=np.asarray(own_scores, float),
        other_scores=np.asarray(other_scores, float),
    )


def test_demo_report_counts_own_scores_above_the_99th_percentile_of_the_others():
    # Others 0, 1, ..., 100: their 99th percentile is 99. Two of four own scores exceed
    # it (a 95th or 90th percentile would let three pass, the median all but one).
    report = _demo_result([50.0, 98.5, 99.5, 100.5], np.arange(101.0)).report()
    assert "50.0% of own-source scores exceed the 99th percentile" in report
    assert "median 99.0000; with another source's, median 50.0000" in report


def test_demo_scores_the_half_the_fingerprints_were_not_made_of(monkeypatch):
    """Own vs other: each held-out residual against its own source's fingerprint."""
    import sys
    import types

    from sklearn.utils import Bunch

    from gfprint.studies import run_zoo_demo

    sources = ["deconv_s0", "deconv_s1", "real", "upsample_s0"]

    def fake_zoo(n_per_source, random_state):  # no fingerprint at all: pure noise
        rng = np.random.default_rng(random_state)
        images = np.clip(rng.normal(128, 8, (4 * n_per_source, 32, 32, 3)), 0, 255)
        return Bunch(images=images.astype(np.uint8), target=np.repeat(sources, n_per_source),
                     target_names=np.array(sources))

    monkeypatch.setattr("gfprint.datasets.load_gan_zoo", fake_zoo)
    monkeypatch.setitem(sys.modules, "gfprint.nn", types.SimpleNamespace(
        CNNAttributor=lambda **params: DummyClassifier()))  # no network training
    result = run_zoo_demo(quick=True)
    # 60 images per source, every other one scored: 30 per source. The 90 of the three
    # generators have one own score each; real has no fingerprint, so no own score.
    assert len(result.own_scores) == 90 and len(result.other_scores) == 4 * 30 * 3 - 90
    # Scored out of sample, noise correlates with no fingerprint, its own included (in
    # sample, a residual holds 1/30 of its fingerprint: NCC about 1/sqrt(30) = 0.18).
    assert abs(np.median(result.own_scores)) < 0.03
    assert abs(np.median(result.other_scores)) < 0.03
