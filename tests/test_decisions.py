"""Open-set decisions, the automatic threshold, real-vs-GAN with per-source fingerprints."""

import numpy as np
import pytest
import sklearn
from scipy.stats import norm
from scipy.stats import t as t_dist
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    cross_val_predict,
    cross_val_score,
)

from gfprint import PRNUFingerprintClassifier
from gfprint.fingerprints import null_quantile_threshold
from gfprint.metrics import crosscorr_2d, pce, pce_all_pairs


def make_sources(rng, n_sources=4, n_per=40, shape=(32, 32), strength=0.25, n_real=0):
    """Residuals = strength * K_source + white noise; 'real' residuals are noise only."""
    prints = rng.normal(size=(n_sources,) + shape)
    R, src = [], []
    for k in range(n_sources):
        R.append(strength * prints[k] + rng.normal(size=(n_per,) + shape))
        src += [f"gan{k}"] * n_per
    if n_real:
        R.append(rng.normal(size=(n_real,) + shape))
        src += ["real"] * n_real
    return np.concatenate(R).astype(np.float32), np.array(src)


def test_auto_threshold_meets_its_false_alarm_rate_on_held_apart_sources():
    """Over 8 independent fits, the mean false-alarm rate on unseen sources is the target.

    One fit's realised rate varies with its calibration sample (here by about 0.01),
    so the check is on the mean of 8 fits, each tested on 2,000 held-apart residuals
    (half from a generator never seen, half real): its standard deviation is about
    0.004, and the bounds are 3 of them.
    """
    rate, rates, hits = 0.05, [], []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        R, src = make_sources(rng, n_sources=4, n_per=150, n_real=400)
        known = src != "gan3"  # gan3 is the unseen generator
        clf = PRNUFingerprintClassifier(threshold="auto", false_alarm_rate=rate, null_class="real")
        clf.fit(R[known], src[known])
        assert list(clf.fingerprint_sources_) == ["gan0", "gan1", "gan2"]
        fresh_real = rng.normal(size=(1000, 32, 32)).astype(np.float32)
        unseen = np.concatenate([R[src == "gan3"], make_sources(rng, 1, 850)[0], fresh_real])
        unseen = unseen[:2000]
        rates.append((clf.similarity_scores(unseen).max(axis=1) >= clf.threshold_).mean())
        own = clf.similarity_scores(R[src == "gan0"])[:, 0]
        hits.append((own >= clf.threshold_).mean())
    assert abs(np.mean(rates) - rate) <= 3 * 0.004
    assert min(hits) > 0.95  # the known generators are still found above it


def test_auto_threshold_follows_false_alarm_rate_after_fit(rng):
    R, src = make_sources(rng, n_sources=3, n_per=50)
    clf = PRNUFingerprintClassifier(threshold="auto", false_alarm_rate=0.2).fit(R, src)
    loose = clf.threshold_
    clf.set_params(false_alarm_rate=0.01)
    assert clf.threshold_ > loose
    assert clf.null_scores_.shape == (3 * 50 * 2,)  # two other fingerprints each
    assert np.all(np.diff(clf.null_scores_) >= 0)
    clf2 = PRNUFingerprintClassifier().fit(R, src).set_params(threshold="auto")
    with pytest.raises(ValueError, match="fit again"):
        clf2.predict(R)


def test_null_quantile_threshold_rank_and_tails():
    scores = np.arange(1, 100, dtype=float)  # m = 99: rank ceil(100 * 0.9) = 90
    assert null_quantile_threshold(scores, 0.1, 1) == 90.0
    # Sidak: two fingerprints at 0.1 overall -> 1 - sqrt(0.9) = 0.0513 per pair -> rank 95
    assert null_quantile_threshold(scores, 0.1, 2) == 95.0
    assert null_quantile_threshold(scores, 0.1, 2, similarity="pce") == 95.0  # in the sample
    # Too few for 1 %: NCC, the normal prediction bound (mean 0, sd 1, m = 3);
    few = np.array([-1.0, 0.0, 1.0])
    assert null_quantile_threshold(few, 0.01, 1) == pytest.approx(
        t_dist.isf(0.01, 2) * np.sqrt(4 / 3), rel=1e-12)
    # at the per-pair rate: three fingerprints at 0.1 overall.
    per_pair = 1 - 0.9 ** (1 / 3)
    assert null_quantile_threshold(few, 0.1, 3) == pytest.approx(
        t_dist.isf(per_pair, 2) * np.sqrt(4 / 3), rel=1e-12)
    # PCE: the quantile of sign(Z) Z**2 whatever the scores' mean and spread.
    assert null_quantile_threshold(few * 5, 0.1, 3, similarity="pce") == pytest.approx(
        norm.isf(per_pair) ** 2, rel=1e-12)
    # Sidak, not Bonferroni (0.01 per pair: rank 9900), for ten fingerprints.
    many = np.arange(1, 10000, dtype=float)
    assert null_quantile_threshold(many, 0.1, 10) == 9896.0  # ceil(10000 * (1 - 0.01048))


def test_null_quantile_threshold_sorts_its_scores():
    scores = np.arange(1.0, 100.0)
    shuffled = np.random.default_rng(0).permutation(scores)
    assert null_quantile_threshold(shuffled, 0.1, 1) == 90.0
    assert null_quantile_threshold(list(shuffled), 0.1, 2) == 95.0


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.arange(9.0), 0.0, 1), "false_alarm_rate"),
        ((np.arange(9.0), 1.0, 1), "false_alarm_rate"),
        ((np.arange(9.0), 1.5, 1), "false_alarm_rate"),
        ((np.arange(9.0), 0.1, 0), "n_fingerprints"),
        ((np.arange(9.0), 0.1, 1.5), "n_fingerprints"),
        ((np.array([1.0, np.nan, 2.0]), 0.1, 1), "NaN"),
        ((np.array([1.0]), 0.1, 1), "at least two"),
        ((np.ones((3, 3)), 0.1, 1), "1-D"),
    ],
)
def test_null_quantile_threshold_refuses_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        null_quantile_threshold(*args)


def test_rejections_are_unknown_and_nan_is_refused(rng):
    R, src = make_sources(rng, n_sources=2, n_per=20)
    noise = rng.normal(size=(30, 32, 32)).astype(np.float32)
    clf = PRNUFingerprintClassifier(threshold="auto").fit(R, src)
    pred = clf.predict(np.concatenate([R[:5], noise]))
    assert list(pred[:5]) == ["gan0"] * 5
    assert (pred[5:] == "unknown").mean() > 0.9
    with pytest.raises(ValueError, match="threshold"):
        PRNUFingerprintClassifier(threshold=np.nan).fit(R, src)
    # A threshold set after fit re-checks that rejections cannot hide in a class.
    named = PRNUFingerprintClassifier().fit(R, np.where(src == "gan0", "unknown", "b"))
    named.set_params(threshold=0.0)
    with pytest.raises(ValueError, match="also a class label"):
        named.predict(R)
    assert set(named.set_params(unknown_label="?").predict(noise)) <= {"?", "b", "unknown"}


@pytest.mark.parametrize("real", ["real", "0_real"])
def test_a_constant_image_is_the_null_class_whatever_its_name(rng, real):
    # Its NCC is exactly 0 against every fingerprint, the null class's score when no
    # threshold is set: the tie went to whichever class sorted first ("gan" before
    # "real", "0_real" before "gan").
    R = rng.normal(size=(8, 16, 16)).astype(np.float32)
    y = np.array(["gan"] * 4 + [real] * 4)
    blank = np.zeros((1, 16, 16), np.float32)
    clf = PRNUFingerprintClassifier(null_class=real).fit(R, y)
    assert clf.predict(blank).tolist() == [real]
    # A fingerprint must correlate above the threshold, not reach it.
    score = clf.similarity_scores(R[:1]).max()
    assert clf.set_params(threshold=score).predict(R[:1]).tolist() == [real]
    assert clf.set_params(threshold=score - 1e-6).predict(R[:1]).tolist() == ["gan"]


def test_open_set_matches_a_score_that_reaches_the_threshold(rng):
    R = rng.normal(size=(8, 16, 16)).astype(np.float32)
    y = np.repeat(["a", "b"], 4)
    clf = PRNUFingerprintClassifier().fit(R, y)
    score = clf.similarity_scores(R[:1]).max()
    assert clf.set_params(threshold=score).predict(R[:1]).tolist() == ["a"]
    assert clf.set_params(threshold=score + 1e-6).predict(R[:1]).tolist() == ["unknown"]


def test_all_negative_scores_are_rejected_by_a_zero_threshold(rng):
    R, src = make_sources(rng, n_sources=2, n_per=20)
    clf = PRNUFingerprintClassifier(threshold=0.0).fit(R, src)
    anti = -np.repeat(clf.fingerprints_.mean(axis=0, keepdims=True), 3, axis=0)
    assert (clf.similarity_scores(anti) < 0).all()
    assert list(clf.predict(anti)) == ["unknown"] * 3


def test_pce_threshold_60_on_colour_residuals(rng):
    prints = rng.normal(size=(2, 48, 48, 3))
    R = np.concatenate([0.3 * prints[k] + rng.normal(size=(20, 48, 48, 3)) for k in (0, 1)])
    y = np.repeat(["a", "b"], 20)
    clf = PRNUFingerprintClassifier(similarity="pce", threshold=60.0).fit(R[::2], y[::2])
    # Held-out residuals: on its own residuals even pure noise scores 1.0 (each is
    # part of its class mean).
    assert clf.score(R[1::2], y[1::2]) == 1.0
    noise = rng.normal(size=(10, 48, 48, 3))
    assert list(clf.predict(noise)) == ["unknown"] * 10
    # Colour PCE: the channels' cross-correlation planes add up.
    cc = sum(crosscorr_2d(noise[0][..., c], prints[0][..., c]) for c in range(3))
    from gfprint.metrics._correlation import _pce_from_cc

    assert pce_all_pairs(noise[:1], prints[:1])[0, 0] == pytest.approx(
        _pce_from_cc(cc, 0, 0, 11), rel=1e-6
    )
    one = pce_all_pairs(noise[:1, ..., :1], prints[:1, ..., :1])[0, 0]
    assert one == pytest.approx(pce(noise[0, ..., 0], prints[0, ..., 0]), rel=1e-6)


@pytest.fixture
def detection_data(rng):
    """Four generators with their own fingerprints and real images without one."""
    R, src = make_sources(rng, n_sources=4, n_per=30, strength=0.2, n_real=120)
    is_fake = np.where(src == "real", "real", "gan")
    return R, src, is_fake


def test_per_source_fingerprints_for_binary_real_vs_gan(detection_data):
    R, src, y = detection_data
    clf = PRNUFingerprintClassifier(null_class="real").fit(R, y, sources=src)
    assert list(clf.classes_) == ["gan", "real"]
    assert list(clf.fingerprint_sources_) == ["gan0", "gan1", "gan2", "gan3"]
    assert list(clf.fingerprint_classes_) == ["gan"] * 4
    best = clf.similarity_scores(R).max(axis=1)
    np.testing.assert_allclose(clf.decision_function(R), 0.0 - best)  # score(real) - score(gan)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    per_source = cross_val_score(clf, R, y, cv=cv, scoring="roc_auc", params={"sources": src})
    merged = cross_val_score(clf, R, y, cv=cv, scoring="roc_auc")  # one "gan" fingerprint
    assert per_source.mean() > 0.97
    assert per_source.mean() > merged.mean() + 0.03
    with pytest.raises(ValueError, match="one class"):
        clf.fit(R, y, sources=np.where(np.arange(len(y)) % 2, "x", "z"))


def test_cross_val_predict_decision_function_with_null_class(detection_data):
    R, src, y = detection_data
    clf = PRNUFingerprintClassifier(null_class="real")
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    dec = cross_val_predict(clf, R, src, cv=cv, method="decision_function",
                            params={"sources": src})
    assert dec.shape == (len(src), 5)
    manual = np.empty_like(dec)
    for train, test in cv.split(R, src):
        manual[test] = clone(clf).fit(R[train], src[train]).decision_function(R[test])
    np.testing.assert_allclose(dec, manual)
    with pytest.raises(ValueError, match="sources"):
        cross_val_predict(clf, R, src, cv=cv, method="decision_function")


def test_auto_threshold_with_sources_scores_each_residual_against_other_sources(
        detection_data):
    # A generator's residuals count against the other generators' fingerprints (its
    # class's fingerprints, but not its own source's), real ones against all four.
    R, src, y = detection_data
    clf = PRNUFingerprintClassifier(null_class="real", threshold="auto")
    clf.fit(R, y, sources=src)
    scores = clf.similarity_scores(R)
    other = src[:, None] != clf.fingerprint_sources_[None, :]
    assert clf.null_scores_.size == 120 * 3 + 120 * 4
    np.testing.assert_allclose(clf.null_scores_, np.sort(scores[other]))


def test_threshold_search_needs_a_threshold_dependent_score(detection_data):
    R, src, y = detection_data
    grid = {"threshold": np.linspace(0.0, 0.2, 11)}
    base = PRNUFingerprintClassifier(null_class="real")
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    tuned = GridSearchCV(base, grid, cv=cv, scoring="balanced_accuracy")
    tuned.fit(R, y, sources=src)
    scores = tuned.cv_results_["mean_test_score"]
    assert scores.max() - scores.min() > 0.2 and tuned.best_score_ > 0.9
    auc = GridSearchCV(base, grid, cv=cv, scoring="roc_auc").fit(R, y, sources=src)
    assert np.ptp(auc.cv_results_["mean_test_score"]) < 1e-12  # AUC ties on every candidate


def test_tuned_threshold_classifier_cv_with_sources(detection_data):
    R, src, y = detection_data
    with sklearn.config_context(enable_metadata_routing=True):
        clf = PRNUFingerprintClassifier(null_class="real").set_fit_request(sources=True)
        # Shuffled folds: every generator must be in every training fold (the data are
        # ordered by source, so unshuffled folds would hold out whole generators).
        cv = StratifiedKFold(3, shuffle=True, random_state=0)
        # The threshold is cut on the similarity itself; predict_proba's softmax
        # saturates, and the tuner's grid is linear in the response it cuts.
        tuned = TunedThresholdClassifierCV(
            clf, scoring="balanced_accuracy", cv=cv, response_method="decision_function"
        )
        tuned.fit(R, y, sources=src)
    assert tuned.best_score_ > 0.95
    # decision = score(real) - best GAN similarity: the cut is minus an NCC threshold.
    assert 0.0 < -tuned.best_threshold_ < 0.2
    assert (tuned.predict(R) == y).mean() > 0.95


def test_real_fingerprint_direction(rng):
    """Trento: real images share their pipeline's fingerprint, generated ones do not."""
    R, src = make_sources(rng, n_sources=2, n_per=80)
    y = np.where(src == "gan0", "real", "gan")  # 'real' is the class with a fingerprint
    clf = PRNUFingerprintClassifier(null_class="gan", threshold="auto").fit(R[::2], y[::2])
    assert list(clf.fingerprint_classes_) == ["real"]
    # Held out: on the training residuals no fingerprint at all scored 0.99.
    assert (clf.predict(R[1::2]) == y[1::2]).mean() > 0.9


def test_overflowing_residuals_are_an_error(rng):
    R, src = make_sources(rng, n_sources=2, n_per=5)
    with pytest.raises(ValueError, match="float32 range"):
        PRNUFingerprintClassifier().fit(R.astype(np.float64) * 1e300, src)
    clf = PRNUFingerprintClassifier().fit(R, src)
    with pytest.raises(ValueError, match="float32 range"):
        clf.predict(R.astype(np.float64) * 1e300)


def test_partial_calibrate_streams_the_automatic_threshold(rng):
    R, src = make_sources(rng, n_sources=3, n_per=40, n_real=30)
    batch = PRNUFingerprintClassifier(threshold="auto", null_class="real").fit(R, src)
    stream = PRNUFingerprintClassifier(null_class="real")
    for s in range(0, len(R), 25):
        stream.partial_fit(R[s : s + 25], src[s : s + 25], classes=np.unique(src))
    for s in range(0, len(R), 25):
        stream.partial_calibrate(R[s : s + 25], src[s : s + 25])
    stream.set_params(threshold="auto")
    np.testing.assert_allclose(stream.null_scores_, batch.null_scores_, atol=1e-7)
    assert stream.threshold_ == pytest.approx(batch.threshold_)
    np.testing.assert_array_equal(stream.predict(R), batch.predict(R))
