"""FingerprintClustering on planted fingerprints, where the right partition is known."""

import numpy as np
import pytest
from scipy.ndimage import uniform_filter
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline

from gfprint import (
    CameraResidualExtractor,
    FingerprintClustering,
    InvalidParameterError,
    NotFittedError,
    PRNUFingerprintClassifier,
    ResidualExtractor,
)
from gfprint.datasets import load_gan_zoo, make_camera_images
from gfprint.fingerprints._clustering import null_sd
from gfprint.metrics import ncc, normalize


def planted(strengths, n_each, n_null=0, shape=(32, 32), seed=0, fingerprints=None):
    """Residuals ``a * F_k + noise`` (unit-variance noise) and ``-1`` for null ones."""
    rng = np.random.default_rng(seed)
    if fingerprints is None:
        fingerprints = rng.normal(size=(len(strengths), *shape))
    parts = [a * f + rng.normal(size=(n_each, *shape)) for a, f in zip(strengths, fingerprints)]
    parts.append(rng.normal(size=(n_null, *shape)))
    y = np.repeat(np.arange(-1, len(strengths)), [n_null] + [n_each] * len(strengths))
    y = np.concatenate([y[n_null:], y[:n_null]])
    return np.concatenate(parts).astype(np.float32), y


def test_planted_sources_found_exactly_and_null_residuals_left_out():
    X, y = planted([0.8, 0.6, 1.0, 0.7], n_each=25, n_null=20)
    clu = FingerprintClustering().fit(X)
    assert clu.n_clusters_ == 4
    assert (clu.labels_[y == -1] == -1).all()
    assert adjusted_rand_score(y[y >= 0], clu.labels_[y >= 0]) == 1.0
    assert (clu.labels_ >= 0).sum() == 100


def test_attributes_are_what_they_say():
    X, y = planted([1.0, 0.5, 0.8], n_each=30, n_null=5)
    clu = FingerprintClustering().fit(X)
    sizes = np.bincount(clu.labels_[clu.labels_ >= 0])
    assert sizes.tolist() == clu.cluster_sizes_.tolist()
    assert (np.diff(sizes) <= 0).all()  # numbered by decreasing size
    rows = normalize(X.reshape(len(X), -1))
    for k in range(clu.n_clusters_):
        members = clu.labels_ == k
        np.testing.assert_allclose(clu.fingerprints_[k], X[members].mean(axis=0), atol=1e-5)
        pairs = rows[members] @ rows[members].T
        m = members.sum()
        mean_pair = (pairs.sum() - np.trace(pairs)) / (m * (m - 1))
        np.testing.assert_allclose(clu.cohesion_[k], mean_pair, rtol=1e-4)
    assert clu.fingerprints_.dtype == np.float32 and clu.fingerprints_.shape[1:] == X.shape[1:]
    assert clu.n_features_in_ == 32 * 32
    np.testing.assert_array_equal(clu.fit_predict(X), clu.labels_)


def test_weak_source_is_found_through_averaging():
    # Pairwise NCC 0.06 on average, below the pairwise threshold (about 0.09 here):
    # single pairs rarely pass, groups do once their mean is significant.
    X, y = planted([0.25], n_each=60, n_null=60, shape=(64, 64), seed=1)
    clu = FingerprintClustering().fit(X)
    same = ncc(X[y == 0], X[y == 0])[np.triu_indices(60, 1)]
    assert np.mean(same >= clu.threshold_) < 0.1
    assert clu.n_clusters_ == 1
    assert (clu.labels_[y == 0] == 0).mean() >= 0.9
    assert (clu.labels_[y == -1] == -1).all()


def test_significance_alone_keeps_null_residuals_out():
    # min_fingerprint_correlation=0 leaves the significance rule alone on guard. A
    # null residual's correlations with a cluster's members are not independent
    # (the members share a fingerprint): the spread of their sum is that of one NCC
    # with the sum's direction, sqrt(1 + (m - 1) c) times what independent terms
    # would give. Counting them as independent let 7 of these 60 null residuals into
    # the clusters at fit, and 16 of 60 fresh ones at predict (false_alarm_rate is
    # 1e-3 over all pairs).
    X, y = planted([1.0, 1.0], n_each=30, n_null=60, seed=20)
    clu = FingerprintClustering(min_fingerprint_correlation=0.0).fit(X)
    assert clu.n_clusters_ == 2
    assert adjusted_rand_score(y[y >= 0], clu.labels_[y >= 0]) == 1.0
    assert (clu.labels_[y == -1] == -1).all()
    nulls, _ = planted([], n_each=0, n_null=60, seed=40)
    assert (clu.predict(nulls) == -1).all()


@pytest.mark.parametrize("min_corr, n_found", [(0.0, 1), (0.3, 2)])
def test_related_sources_merge_only_below_min_fingerprint_correlation(min_corr, n_found):
    # Two fingerprints that correlate by 0.2 (two seeds of one architecture). Their
    # relatedness must stand out from the chance correlation of two unrelated
    # fingerprints (sd 1/64 at 64x64; 0.1 at 32x32 would be only 3 sd of it).
    rng = np.random.default_rng(2)
    common, own = rng.normal(size=(2, 64, 64)), rng.normal(size=(2, 64, 64))
    fps = np.sqrt(0.2) * common[0] + np.sqrt(0.8) * own
    X, y = planted([1.0, 1.0], n_each=30, shape=(64, 64), fingerprints=fps, seed=3)
    clu = FingerprintClustering(min_fingerprint_correlation=min_corr).fit(X)
    assert clu.n_clusters_ == n_found
    if n_found == 2:
        assert adjusted_rand_score(y, clu.labels_) == 1.0


def arcs(n_sources, n_each, n_null, shape=(32, 32), seed=0):
    """Sources whose fingerprint turns with the image: ``cos t * F1 + sin t * F2``.

    ``t`` is uniform on ``[0, pi]``, so the images at the two ends of a source carry
    opposite patterns, the way a generator's residual varies with what it draws.
    """
    rng = np.random.default_rng(seed)
    parts, y = [], []
    for k in range(n_sources):
        f1, f2 = rng.normal(size=(2, *shape))
        t = rng.uniform(0, np.pi, (n_each, 1, 1))
        parts.append(np.cos(t) * f1 + np.sin(t) * f2 + rng.normal(size=(n_each, *shape)))
        y += [k] * n_each
    parts.append(rng.normal(size=(n_null, *shape)))
    y += [-1] * n_null
    return np.concatenate(parts).astype(np.float32), np.array(y)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_linked_clusters_of_a_turning_fingerprint_merge_and_sources_stay_apart(seed):
    X, y = arcs(n_sources=6, n_each=40, n_null=20, seed=seed)
    first = FingerprintClustering(resolution=None).fit(X)
    both = FingerprintClustering().fit(X)
    assert first.n_clusters_ >= 11  # each source split: its ends do not correlate
    assert 6 <= both.n_clusters_ < first.n_clusters_
    for k in range(both.n_clusters_):  # no cluster holds two sources
        assert len(np.unique(y[both.labels_ == k])) == 1
    assert (both.labels_[y == -1] == -1).all() and (both.labels_[y >= 0] >= 0).all()
    if seed < 2:  # here every source comes out whole
        assert both.n_clusters_ == 6
        assert adjusted_rand_score(y, both.labels_) == 1.0


def test_resolution_controls_the_second_stage():
    X, y = arcs(n_sources=6, n_each=40, n_null=0, seed=0)
    fits = {r: FingerprintClustering(resolution=r).fit(X) for r in (0.0, 1.0, 2.0, None)}
    # 0: any linked clusters merge; no link joins two sources here, so still exact.
    assert adjusted_rand_score(y, fits[0.0].labels_) == 1.0
    # Twice the chance count of links is more than the halves of a source share.
    np.testing.assert_array_equal(fits[2.0].labels_, fits[None].labels_)
    assert fits[None].n_clusters_ > fits[1.0].n_clusters_ == 6


def test_null_sd_is_bartletts_formula():
    rng = np.random.default_rng(4)
    white = rng.normal(size=(200, 48, 48)).astype(np.float32)
    rows = normalize(white.reshape(200, -1))
    np.testing.assert_allclose(null_sd(rows, (48, 48)), 1 / 48, rtol=0.02)
    # 3x3 box-filtered noise: rho = (1, 2/3, 1/3) along each axis, so the sum of
    # rho**2 over all lags is (19/9)**2 and the standard deviation 19/9 times larger.
    smooth = uniform_filter(white, size=(1, 3, 3), mode="wrap")
    rows = normalize(smooth.reshape(200, -1))
    empirical = (rows @ rows.T)[np.triu_indices(200, 1)].std()
    predicted = null_sd(rows, (48, 48), batch_size=7)
    np.testing.assert_allclose(predicted, empirical, rtol=0.1)
    np.testing.assert_allclose(predicted, 19 / 9 / 48, rtol=0.05)


def test_threshold_auto_and_numeric():
    X, _ = planted([1.0, 1.0], n_each=10, n_null=10)
    clu = FingerprintClustering().fit(X)
    from scipy.stats import norm

    n = len(X)
    z = norm.isf(1e-3 / (n * (n - 1) / 2))
    np.testing.assert_allclose(clu.threshold_, z * clu.null_sd_)
    strict = FingerprintClustering(threshold=5.0).fit(X)  # no mean NCC reaches 5 / sqrt(m m)
    assert strict.n_clusters_ == 0 and (strict.labels_ == -1).all()
    assert strict.threshold_ == 5.0 and strict.fingerprints_.shape == (0, 32, 32)
    assert np.isnan(strict.member_correlation_).all()


def test_result_does_not_depend_on_batching_or_neighbours():
    X, _ = planted([0.8, 0.5, 0.6], n_each=20, n_null=10, seed=5)
    ref = FingerprintClustering().fit(X).labels_
    for params in ({"batch_size": 7}, {"n_neighbors": 1}, {"n_neighbors": 40}):
        np.testing.assert_array_equal(FingerprintClustering(**params).fit(X).labels_, ref)


def test_colour_rows_float64_and_min_cluster_size():
    X, y = planted([1.0, 1.0], n_each=8, n_null=4, shape=(16, 16, 3))
    clu = FingerprintClustering().fit(X)
    assert adjusted_rand_score(y, clu.labels_) == 1.0
    rows = FingerprintClustering().fit(X.reshape(len(X), -1).astype(np.float64))
    np.testing.assert_array_equal(rows.labels_, clu.labels_)
    big = FingerprintClustering(min_cluster_size=9).fit(X)
    assert big.n_clusters_ == 0
    assert X.dtype == np.float32 and np.isfinite(X).all()  # input untouched
    with pytest.raises(InvalidParameterError, match="min_cluster_size"):  # 1 acted as 2
        FingerprintClustering(min_cluster_size=1).fit(X)


def test_predict_before_fit_raises_gfprints_not_fitted_error():
    with pytest.raises(NotFittedError):  # it raised scikit-learn's, the base class
        FingerprintClustering().predict(np.zeros((2, 8, 8), np.float32))


def test_groups_of_fewer_than_five_are_left_unclustered_by_default():
    # Two sources of 25 and one of 4 strong residuals, plus nulls: the 4 group
    # together, but a default cluster needs 5 members (min_cluster_size=5).
    X, y = planted([1.0, 1.0], n_each=25, n_null=10, seed=6)
    X4, _ = planted([1.0], n_each=4, seed=7)
    X, y = np.concatenate([X, X4]), np.concatenate([y, np.full(4, 2)])
    default = FingerprintClustering().fit(X)
    assert default.n_clusters_ == 2 and (default.labels_[y == 2] == -1).all()
    small = FingerprintClustering(min_cluster_size=2).fit(X)
    assert small.n_clusters_ == 3
    assert adjusted_rand_score(y[y >= 0], small.labels_[y >= 0]) == 1.0


def test_predict_new_residuals_of_the_training_shape():
    fps = np.random.default_rng(8).normal(size=(3, 32, 32))
    X, y = planted([0.8, 0.6, 1.0], n_each=25, n_null=10, fingerprints=fps, seed=8)
    clu = FingerprintClustering().fit(X)
    new, y_new = planted([0.8, 0.6, 1.0], n_each=10, n_null=10, fingerprints=fps, seed=9)
    pred = clu.predict(new)
    # Cluster numbers are the fit's: map each source to its cluster through labels_.
    cluster_of = {k: np.bincount(clu.labels_[y == k]).argmax() for k in range(3)}
    expected = np.array([cluster_of.get(k, -1) for k in y_new])
    np.testing.assert_array_equal(pred, expected)
    # The rule is fit's for a single residual: a weak member of a source stays out.
    weak = 0.1 * fps[0] + np.random.default_rng(10).normal(size=(1, 32, 32))
    assert clu.predict(weak.astype(np.float32)).tolist() == [-1]
    rows = FingerprintClustering().fit(X.reshape(len(X), -1))
    np.testing.assert_array_equal(rows.predict(new.reshape(len(new), -1)), pred)
    with pytest.raises(ValueError, match="features"):
        rows.predict(new.reshape(len(new), -1)[:, :100])


def test_predict_searches_residuals_of_other_sizes():
    fps = np.random.default_rng(11).normal(size=(2, 64, 64))
    X, y = planted([0.8, 0.8], n_each=20, n_null=5, shape=(64, 64), fingerprints=fps, seed=11)
    clu = FingerprintClustering().fit(X)
    cluster_of = [np.bincount(clu.labels_[y == k]).argmax() for k in range(2)]
    rng = np.random.default_rng(12)
    crops, truth = [], []
    for k, (top, left, h, w) in [(0, (5, 9, 40, 48)), (1, (20, 0, 44, 44)),
                                 (0, (0, 30, 50, 34)), (-1, (3, 3, 48, 48))]:
        noise = rng.normal(size=(h, w))
        crops.append(noise + (0.8 * fps[k, top:top + h, left:left + w] if k >= 0 else 0))
        truth.append(cluster_of[k] if k >= 0 else -1)
    assert clu.predict(crops).tolist() == truth  # a list of mixed sizes
    stack = np.stack([c[:40, :34] for c in crops]).astype(np.float32)  # one other size
    assert clu.predict(stack).tolist() == truth
    with pytest.raises(ValueError, match="2 dimensions"):
        clu.predict(np.zeros((2, 64, 64, 3), np.float32))
    rows = FingerprintClustering().fit(X.reshape(len(X), -1))
    with pytest.raises(ValueError, match="features"):
        rows.predict(stack.reshape(len(stack), -1))


def test_bad_input():
    with pytest.raises(ValueError, match="n_samples=1"):
        FingerprintClustering().fit(np.zeros((1, 8, 8), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        FingerprintClustering().fit(np.full((3, 8, 8), np.nan, np.float32))
    with pytest.raises(ValueError):
        FingerprintClustering().fit([np.zeros((8, 8)), np.zeros((9, 9))])
    with pytest.raises(ValueError, match="min_fingerprint_correlation"):
        FingerprintClustering(min_fingerprint_correlation=2).fit(np.zeros((3, 8, 8)))


def test_pipeline_recovers_cameras_and_feeds_the_classifier():
    cams = make_camera_images(n_cameras=3, n_images=12, shape=(128, 128), prnu_strength=0.02,
                              random_state=0)
    pipe = make_pipeline(CameraResidualExtractor(), FingerprintClustering())
    labels = pipe.fit_predict(cams.images[::2])
    assert adjusted_rand_score(cams.target[::2], labels) == 1.0
    residuals = CameraResidualExtractor().fit_transform(cams.images)
    clf = PRNUFingerprintClassifier().fit(residuals[::2], labels)
    truth = {t: lab for t, lab in zip(cams.target[::2], labels)}
    assert clf.predict(residuals[1::2]).tolist() == [truth[t] for t in cams.target[1::2]]


def test_member_correlation():
    X, y = planted([1.0, 0.7], n_each=12, n_null=3, seed=6)
    clu = FingerprintClustering().fit(X)
    rows = normalize(X.reshape(len(X), -1)).astype(np.float64)
    for i in range(len(X)):
        k = clu.labels_[i]
        if k >= 0:
            others = np.flatnonzero((clu.labels_ == k) & (np.arange(len(X)) != i))
            expected = (rows[others] @ rows[i]).mean()
        else:
            expected = max((rows[clu.labels_ == j] @ rows[i]).mean()
                           for j in range(clu.n_clusters_))
        np.testing.assert_allclose(clu.member_correlation_[i], expected, atol=1e-5)
    assert clu.member_correlation_[y == 0].mean() > clu.member_correlation_[y == 1].mean()


def test_min_cluster_size_only_decides_which_groups_are_reported():
    """Groups below min_cluster_size took no part in the second stage, so a source's
    small splinters never joined it: with the default 5, on 20 images per source,
    14 of one generator's images stayed unclustered where min_cluster_size=2 gave one
    pure cluster of 20."""
    zoo = load_gan_zoo(n_per_source=20, sources=["deconv_s0", "pixelshuffle_s0", "upsample_s0"],
                       random_state=0)
    R = ResidualExtractor().fit_transform(zoo.images)

    def clusters(labels, smallest):
        groups = [frozenset(np.flatnonzero(labels == k)) for k in set(labels) - {-1}]
        return {g for g in groups if len(g) >= smallest}

    small = FingerprintClustering(min_cluster_size=2).fit(R).labels_
    default = FingerprintClustering().fit(R).labels_
    assert clusters(default, 5) == clusters(small, 5)
    assert (default == -1).sum() == sum(len(g) for g in clusters(small, 2) if len(g) < 5) + (
        small == -1).sum()
