"""Blind clustering of noise residuals by source (no labels, no reference fingerprints)."""

from __future__ import annotations

import heapq
import math
from numbers import Integral, Real

import numpy as np
import scipy.fft
from scipy.stats import norm
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_array, validate_data

from .._param_validation import Interval, StrOptions, fit_context
from .._utils import progress
from .._validation import check_fitted
from ..metrics import match_fingerprints, normalize
from ._classifier import _ndim

__all__ = ["FingerprintClustering"]


class FingerprintClustering(ClusterMixin, BaseEstimator):
    """Group unlabelled residuals by the source that left a fingerprint in them.

    Average-linkage agglomerative clustering of noise residuals under normalized
    cross-correlation (NCC), with the number of sources found from a null model:
    two groups merge only when the mean correlation between their members is
    significant for their sizes and, for two groups, when it is as strong as the
    correlation inside each group (so two distinct sources with related fingerprints,
    such as two seeds of one architecture, stay apart). A second stage joins the
    groups of a source whose residual pattern varies with what it draws: clusters
    linked by more mutual nearest neighbours than chance merge (modularity).
    Residuals that join no group are left as singletons, labelled ``-1``. The
    per-cluster fingerprints feed :class:`~gfprint.PRNUFingerprintClassifier` (see
    Examples).

    Feed it the output of :class:`~gfprint.ResidualExtractor` (in a ``Pipeline``,
    ``fit_predict`` on the pipeline works as for any clusterer).

    Parameters
    ----------
    threshold : float or "auto", default="auto"
        NCC that two single residuals must reach to merge; two groups need the NCC
        of their sums (each group's residuals added up) to reach it, the same
        significance under the null (see Notes). ``"auto"``:
        ``z * null_sd_`` with ``null_sd_`` estimated from the residuals themselves
        and ``z`` the normal quantile that makes the rate of false merges among all
        ``n (n - 1) / 2`` pairs ``false_alarm_rate`` (Bonferroni); see Notes.
    false_alarm_rate : float, default=1e-3
        With ``threshold="auto"``: the targeted probability that some pair of
        residuals of different, unrelated sources passes the threshold.
    min_fingerprint_correlation : float, default=0.3
        Two groups merge only if the mean correlation between them is at least this
        fraction of the geometric mean of their within-group mean correlations: an
        estimate of the correlation between the two groups' true fingerprints,
        corrected for the noise in the residuals (Spearman's correction for
        attenuation). A single residual joins a group only if its mean correlation
        with the group is at least this fraction of the group's own. Lower it to
        merge related sources; 1 would demand identical fingerprints. On the
        first built-in zoo (v1), different generators (seeds of one architecture included)
        estimated at most 0.18 and groups of one generator's images at 0.3 to 0.5
        (its modes), which is where the default sits.
    min_cluster_size : int, default=5
        Groups smaller than this (at least 2) at the end are reported as unclustered
        (label ``-1``); every group of two or more takes part in the second stage,
        so a source's small splinters can still join its cluster. A group of two to
        four images is weak evidence of a source; on the built-in zoo such groups
        were pairs and triples of real photos (two of them cut from overlapping
        parts of one photo) and splinters of the generator with the weakest
        fingerprint. ``min_cluster_size=2`` reports them.
    n_neighbors : int, default=20
        Each residual's most correlated residuals: the candidates for a merge in the
        first stage (groups are then compared with all groups of two or more
        residuals), and the neighbours whose mutual pairs make the graph of the
        second stage.
    resolution : float or None, default=0.5
        Second stage: two clusters merge while the number of mutual-neighbour pairs
        between them exceeds ``resolution`` times the number expected by chance
        (see Notes). Larger values merge less; ``None`` skips the stage. On a draw
        of the built-in zoo, the clusters of one generator that ``resolution=1``
        (plain modularity) left apart shared 0.6 to 0.9 times the chance count of
        links; clusters of different generators, at most 0.06 times it.
    batch_size : int, default=256
        Residuals per block of the similarity computation; bounds the temporary
        memory to ``batch_size * n`` values.
    verbose : int, default=0
        Progress bar on standard error when positive.

    Attributes
    ----------
    labels_ : ndarray of int, shape (n,)
        Cluster of each residual, numbered by decreasing size from 0; ``-1`` for
        residuals left as singletons.
    n_clusters_ : int
        Number of clusters (sources) found.
    cluster_sizes_ : ndarray of int, shape (n_clusters,)
        Number of residuals in each cluster.
    fingerprints_ : ndarray of float32, shape (n_clusters, ...)
        Mean residual of each cluster: its estimated fingerprint, in the residuals'
        shape.
    cohesion_ : ndarray of float64, shape (n_clusters,)
        Mean NCC between two residuals of each cluster.
    member_correlation_ : ndarray of float64, shape (n,)
        Mean NCC of each residual with the other members of its cluster; for an
        unclustered residual, the highest mean NCC with the members of any cluster
        (NaN when there is none). Low values mark the weakest members.
    null_sd_ : float
        Standard deviation of the NCC of two independent residuals (Notes).
    threshold_ : float
        The pairwise merge threshold in effect.
    n_features_in_ : int
        Number of values per residual.

    See Also
    --------
    PRNUFingerprintClassifier : Attribution once the sources are known.
    sklearn.cluster.AgglomerativeClustering : Agglomeration with a fixed number of
        clusters or distance threshold.

    Notes
    -----
    **Linkage.** With every residual made zero-mean and unit-norm (``r_i``), the mean
    NCC between the members of groups ``A`` and ``B`` is
    ``L(A, B) = <S_A, S_B> / (m_a m_b)`` with ``S_A`` the sum of ``A``'s residuals,
    so average linkage needs the group sums, never the ``n x n`` matrix. The mean
    correlation inside a group is ``c_A = (||S_A||^2 - m_a) / (m_a (m_a - 1))``.
    The pair with the highest ``L`` merges first if

    * ``<S_A, S_B> / (||S_A|| ||S_B||) >= threshold``, the NCC of the two sums
      (significance: for groups of unrelated sources it spreads as the NCC of two
      independent residuals, ``null_sd``; for two single residuals it is their
      NCC). The ``m_a m_b`` correlations behind ``L`` are not independent: the
      members of a group share a fingerprint, and two unrelated fingerprints
      correlate by chance however many images average them, so ``L`` spreads
      ``sqrt((1 + (m_a - 1) c_A) (1 + (m_b - 1) c_B))`` times more than
      ``null_sd / sqrt(m_a m_b)``, the spread of independent terms), and
    * unless both are single residuals,
      ``L(A, B) >= min_fingerprint_correlation * sqrt(c_A c_B)``, with a single
      residual's ``c`` taken as its partner's. For residuals ``r = a F + noise`` of
      one source, ``L`` equals ``sqrt(c_A c_B)`` on average; for sources whose
      fingerprints correlate by ``rho`` it is ``rho`` times that. The check on single
      residuals keeps out images whose content resembles a group's (on the zoo v1,
      real photos of the scenes the generators learned correlate significantly with
      them, at a tenth of the group's own correlation).

    Merging stops when no candidate pair passes. Candidates are the ``n_neighbors``
    most correlated residuals of each residual (computed block by block, so memory
    stays ``O(n d + batch_size n)``), then every group against every group of two
    or more, until no merge happens. A weak member joins the group it correlates
    with most once that group is large enough for its mean to be significant, which
    is how the fingerprints' averaging lifts the low correlation of single
    residuals, as it does for attribution (Marra et al. 2019).

    **Second stage: linked clusters.** A generator's residual pattern can vary with
    the content it draws, so that groups of its images have fingerprints that do not
    correlate (on the built-in zoo v2, estimates from -0.4 to 0.27, the same range
    as groups of different generators), and the first stage keeps them apart. Such
    groups still touch: the residuals at their borders are each other's nearest
    neighbours, while residuals of different sources rarely are. Two residuals are
    linked when each is among the other's ``n_neighbors`` most correlated and their
    NCC passes ``threshold_`` (so that few images, or images of no source, do not
    link at random). With ``e`` links between clusters ``A`` and ``B``, ``d_A`` and
    ``d_B`` the numbers of links of their members and ``E`` the number of links in
    all, the clusters merge, best first, while ``e > resolution * d_A d_B / (2 E)``,
    ``resolution`` times the number of links that a random graph with the same
    degrees would put between them. This is greedy maximisation of modularity with a
    resolution parameter (Newman 2006; Clauset, Newman & Moore 2004; Reichardt &
    Bornholdt 2006) started from the first stage's clusters; unclustered residuals
    count in the degrees but are not merged. The chance count grows with the share
    of the residuals that two clusters hold, so with ``resolution=1`` the two halves
    of a large source, whose links run mostly inside each half, stay apart; 0.5
    joined them on the zoo while clusters of different generators, which share
    almost no links, stayed apart.

    **Null model.** For independent residuals the NCC has mean 0 and, by Bartlett's
    formula, variance ``sum_tau rho_i(tau) rho_j(tau) / d`` over all lags ``tau``,
    with ``rho`` the residuals' normalized autocorrelations and ``d`` the number of
    values. Residuals are spatially correlated (the denoiser leaves structure), so
    this is several times ``1 / d``. ``null_sd_`` uses the mean autocorrelation of
    all residuals (averaged through their power spectra). On the first zoo (v1) it
    predicted the spread of the NCC between residuals of different sources, and
    between real photos, to within 10 %; on the current zoo (v2) it predicts 0.029,
    and the NCC spreads by 0.030 between real photos but by 0.041 between images of
    different generators. It assumes that residuals of different
    sources are independent: content shared across sources (aligned faces, the same
    scene) makes them correlate, and then a numeric ``threshold`` calibrated on
    images of known, different sources is the safer choice. Residuals that differ
    in smoothness (some images blurred) spread by more in their smooth pairs than
    the mean autocorrelation predicts, and the threshold then lets pairs through
    (see the clustering guide's Limits).

    The literature on blind camera clustering (Caldelli et al. 2010; Marra et al.
    2017) uses correlation-threshold agglomeration of this kind; this implementation
    is gfprint's. ``fit`` does not search over shifts or scales: the residuals it
    clusters must come from images of one size, uncropped. :meth:`predict` then
    places residuals of other sizes (cropped images) on the clusters at their best
    shift, with the PCE of Goljan & Fridrich's search.

    References
    ----------
    .. [1] R. Caldelli, I. Amerini, F. Picchioni and M. Innocenti, "Fast image
       clustering of unknown source images", IEEE WIFS 2010.
       :doi:`10.1109/WIFS.2010.5711454`
    .. [2] F. Marra, G. Poggi, C. Sansone and L. Verdoliva, "Blind PRNU-based image
       clustering for source identification", IEEE TIFS 12(9), 2017.
       :doi:`10.1109/TIFS.2017.2701335`
    .. [3] M. S. Bartlett, "Some aspects of the time-correlation problem in regard
       to tests of significance", JRSS 98(3), 1935. :doi:`10.2307/2342435`
    .. [4] A. Clauset, M. E. J. Newman and C. Moore, "Finding community structure in
       very large networks", Phys. Rev. E 70, 066111, 2004.
       :doi:`10.1103/PhysRevE.70.066111`
    .. [5] M. E. J. Newman, "Modularity and community structure in networks", PNAS
       103(23), 2006. :doi:`10.1073/pnas.0601602103`
    .. [6] J. Reichardt and S. Bornholdt, "Statistical mechanics of community
       detection", Phys. Rev. E 74, 016110, 2006. :doi:`10.1103/PhysRevE.74.016110`

    Examples
    --------
    Three sources, 20 residuals each, and 10 residuals of no source:

    >>> import numpy as np
    >>> from gfprint.fingerprints import FingerprintClustering
    >>> rng = np.random.default_rng(0)
    >>> F = rng.normal(size=(3, 32, 32))
    >>> X = np.concatenate([F[k] + 2 * rng.normal(size=(20, 32, 32)) for k in range(3)]
    ...                    + [rng.normal(size=(10, 32, 32))]).astype(np.float32)
    >>> clu = FingerprintClustering().fit(X)
    >>> clu.n_clusters_, clu.cluster_sizes_.tolist(), int((clu.labels_ == -1).sum())
    (3, [20, 20, 20], 10)

    New residuals join the clusters by the rule of ``fit``, and residuals of another
    size (here a crop) by a search over shifts; ``-1`` is no cluster:

    >>> crop = F[1, 4:28, 2:30] + 2 * rng.normal(size=(24, 28))
    >>> new = [F[0] + 2 * rng.normal(size=(32, 32)), crop, rng.normal(size=(32, 32))]
    >>> clu.predict(new).tolist()
    [0, 1, -1]

    The clusters' fingerprints also make a classifier, with its search over scales
    and its thresholds:

    >>> from gfprint import PRNUFingerprintClassifier
    >>> keep = clu.labels_ >= 0
    >>> clf = PRNUFingerprintClassifier().fit(X[keep], clu.labels_[keep])
    >>> clf.predict(F[2] + 2 * rng.normal(size=(1, 32, 32))).tolist()
    [2]
    """

    _parameter_constraints: dict = {
        "threshold": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "false_alarm_rate": [Interval(Real, 0, 1, closed="neither")],
        "min_fingerprint_correlation": [Interval(Real, 0, 1, closed="both")],
        "min_cluster_size": [Interval(Integral, 2, None, closed="left")],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "resolution": [Interval(Real, 0, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        threshold="auto",
        false_alarm_rate=1e-3,
        min_fingerprint_correlation=0.3,
        min_cluster_size=5,
        n_neighbors=20,
        resolution=0.5,
        batch_size=256,
        verbose=0,
    ):
        self.threshold = threshold
        self.false_alarm_rate = false_alarm_rate
        self.min_fingerprint_correlation = min_fingerprint_correlation
        self.min_cluster_size = min_cluster_size
        self.n_neighbors = n_neighbors
        self.resolution = resolution
        self.batch_size = batch_size
        self.verbose = verbose

    @fit_context
    def fit(self, X, y=None):
        """Cluster the residuals ``X``.

        Parameters
        ----------
        X : array-like of shape (n, H, W), (n, H, W, C) or (n, d)
            Noise residuals of images of one size.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : FingerprintClustering
        """
        X = self._check_X(X)
        self._shape = X.shape[1:]
        n = len(X)
        rows = normalize(X.reshape(n, -1))
        self.null_sd_ = null_sd(rows, X.shape[1:], batch_size=self.batch_size)
        self.threshold_ = self._resolve_threshold(n)
        groups = _Agglomeration(
            rows, self.threshold_, self.min_fingerprint_correlation, self.batch_size
        )
        with progress(n, "similarities", unit="res", enabled=self.verbose > 0) as bar:
            pairs, mutual = _neighbor_pairs(rows, self.n_neighbors, self.batch_size, bar)
        groups.run(groups.add_pairs(pairs))
        for _ in range(_MAX_ROUNDS):
            if not groups.run(groups.add_pairs(groups.group_pairs())):
                break
        if self.resolution is not None:
            links = [(a, b) for v, a, b in mutual if v >= self.threshold_]
            # Every group of two or more takes part: min_cluster_size only decides
            # which groups are reported in the end, so a source's small splinters can
            # still join its cluster here.
            _merge_linked(groups, links, 2, self.resolution)
        self._set_labels(X, groups)
        self._member_sums = _label_sums(rows, self.labels_, self.n_clusters_)
        self.member_correlation_ = _member_correlation(
            rows, self.labels_, self._member_sums, self.batch_size
        )
        return self

    def predict(self, X):
        """Cluster of each new residual, or ``-1``: the found clusters as references.

        A residual of the training shape joins the cluster it correlates with most by
        the rules of :meth:`fit` for a single residual, with false alarms counted
        per image: its NCC with the sum of the cluster's residuals passes
        ``z * null_sd_``, ``z`` the normal quantile of ``false_alarm_rate`` divided
        by the number of clusters (Bonferroni; :meth:`fit`'s ``threshold_`` divides
        it by the number of pairs of its residuals), and its mean NCC ``L`` with the
        ``m`` members is at least ``min_fingerprint_correlation`` times the
        cluster's ``cohesion_``. On the residuals it was fitted on, ``predict``
        can differ from ``labels_``: the second stage of :meth:`fit` joins clusters
        by their images' links, which this rule for one residual does not see (on
        a zoo draw of 1,600 residuals, 101 differed, 94 of them members that
        ``predict`` left unclustered).

        A residual of another size (a cropped image; a list may mix sizes) is placed
        on each cluster's fingerprint at its best shift
        (:func:`~gfprint.metrics.match_fingerprints`, Goljan & Fridrich 2008). It
        joins the cluster of highest PCE if that PCE passes ``z ** 2``, with ``z``
        the normal quantile of ``false_alarm_rate`` divided by the number of
        placements and clusters tried (Bonferroni over placements, as Goljan &
        Fridrich's search does; on white residuals in simulation its realised rate
        was 0.0115 for a target of 0.01, so not conservative), and if its NCC at that placement
        is at least ``min_fingerprint_correlation`` times what a member of the
        cluster scores on average. Resizing is not searched: for resized images
        use :class:`~gfprint.PRNUFingerprintClassifier` with ``search="scale"`` on the
        clusters (see the class's Examples).

        Parameters
        ----------
        X : array-like of shape (n, ...) or sequence of array
            Noise residuals: of the training shape, or planes ``(h, w[, C])`` of
            any size when the clusters were fitted on planes.

        Returns
        -------
        labels : ndarray of int, shape (n,)
        """
        check_fitted(self)
        if not self._aligned(X):
            return self._predict_searched(X)
        if len(self._shape) == 1:  # rows: scikit-learn's feature checks
            X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        else:
            X = check_array(X, allow_nd=True, dtype=[np.float32, np.float64])
        labels = np.full(len(X), -1, dtype=np.intp)
        if not self.n_clusters_:
            return labels
        sizes = self.cluster_sizes_.astype(np.float64)
        sum_norms = np.linalg.norm(self._member_sums.astype(np.float64), axis=1)
        # False alarms per image, over the clusters tried, as for other sizes below.
        significant = norm.isf(self.false_alarm_rate / self.n_clusters_) * self.null_sd_
        for s in range(0, len(X), self.batch_size):
            block = X[s : s + self.batch_size]
            rows = normalize(block.reshape(len(block), -1))
            dots = (rows @ self._member_sums.T).astype(np.float64)
            link = dots / sizes
            passes = (dots / sum_norms >= significant) & (
                link >= self.min_fingerprint_correlation * np.maximum(self.cohesion_, 0.0))
            best = np.where(passes, link, -np.inf).argmax(axis=1)
            labels[s : s + len(rows)] = np.where(passes.any(axis=1), best, -1)
        return labels

    def _aligned(self, X):
        """Whether ``X`` is a stack of residuals of the training shape."""
        if len(self._shape) == 1:
            return True  # fitted on rows: scikit-learn's checks tell the user
        if isinstance(X, (list, tuple)):  # shapes item by item: no stacked copy
            shapes = [np.shape(x) for x in X]
        else:
            shape = np.shape(X)
            shapes = [shape[1:]] if len(shape) > 1 else [()]
        for shape in shapes:
            if len(shape) != len(self._shape):
                raise ValueError(
                    f"X must hold residuals of {len(self._shape)} dimensions, like the "
                    f"{self._shape} of fit (any height and width), in a stack or a "
                    f"list; got one of shape {shape}."
                )
        return all(shape == self._shape for shape in shapes)

    def _predict_searched(self, X):
        items = list(X) if isinstance(X, (list, tuple)) else list(check_array(
            X, allow_nd=True, dtype=[np.float32, np.float64]))
        labels = np.full(len(items), -1, dtype=np.intp)
        if not self.n_clusters_ or not items:
            return labels
        sums = self._member_sums.reshape((self.n_clusters_, *self._shape))
        found = match_fingerprints(items, sums, verbose=self.verbose > 0)
        height, width = self._shape[:2]
        placements = np.array(
            [(abs(height - np.shape(x)[0]) + 1) * (abs(width - np.shape(x)[1]) + 1)
             for x in items], dtype=np.float64)
        z = norm.isf(self.false_alarm_rate / (placements * self.n_clusters_))
        m, c = self.cluster_sizes_.astype(np.float64), np.maximum(self.cohesion_, 0.0)
        member_ncc = m * c / np.sqrt(m + m * (m - 1) * c)  # a member's NCC with the sum
        passes = (found.pce >= (z**2)[:, None]) & (
            found.ncc >= self.min_fingerprint_correlation * member_ncc)
        best = np.where(passes, found.pce, -np.inf).argmax(axis=1)
        labels[:] = np.where(passes.any(axis=1), best, -1)
        return labels

    def _resolve_threshold(self, n):
        if self.threshold != "auto":
            return float(self.threshold)
        pairs = max(n * (n - 1) / 2, 1.0)
        return float(norm.isf(self.false_alarm_rate / pairs)) * self.null_sd_

    def _set_labels(self, X, groups):
        roots, sizes = groups.roots()
        order = np.argsort(-sizes, kind="stable")
        roots, sizes = roots[order], sizes[order]
        kept = sizes >= self.min_cluster_size
        labels = np.full(len(X), -1, dtype=np.intp)
        for k, root in enumerate(roots[kept]):
            labels[groups.members[root]] = k
        self.labels_ = labels
        self.n_clusters_ = int(kept.sum())
        self.cluster_sizes_ = sizes[kept].astype(np.intp)
        self.cohesion_ = np.array([groups.cohesion(r) for r in roots[kept]], dtype=np.float64)
        self.fingerprints_ = _cluster_means(X, labels, self.n_clusters_, self.batch_size)

    def _check_X(self, X):
        if _ndim(X) == 2:  # rows: scikit-learn's validation, with its feature checks
            X = validate_data(self, X, reset=True, dtype=[np.float32, np.float64])
        else:
            X = check_array(X, allow_nd=True, dtype=[np.float32, np.float64])
            if X.ndim > 4:
                raise ValueError(f"residuals must be 2-D to 4-D arrays, got shape {X.shape}.")
            self.n_features_in_ = int(np.prod(X.shape[1:]))
        if len(X) < 2:
            raise ValueError(
                f"clustering needs at least 2 residuals, got n_samples={len(X)}."
            )
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


_MAX_ROUNDS = 10


def null_sd(rows, shape, *, batch_size=256) -> float:
    """Standard deviation of the NCC of two independent residuals (Bartlett's formula).

    ``rows`` are zero-mean unit-norm residuals of trailing ``shape``; their mean
    normalized autocorrelation ``rho`` (circular, over all axes of ``shape``) gives
    ``var = sum_tau rho(tau)**2 / d``.
    """
    d = rows.shape[1]
    axes = tuple(range(1, len(shape) + 1))
    power = None
    for s in range(0, len(rows), batch_size):
        block = rows[s : s + batch_size].reshape((-1, *shape))
        spectrum = scipy.fft.rfftn(block, axes=axes)
        part = (spectrum.real**2 + spectrum.imag**2).sum(axis=0, dtype=np.float64)
        power = part if power is None else power + part
    acf = scipy.fft.irfftn(power / len(rows), s=shape, axes=tuple(range(len(shape))))
    return float(np.sqrt(max((acf**2).sum(), 1.0) / d))


def _neighbor_pairs(rows, k, batch_size, bar):
    """The ``k`` most correlated other rows of each row.

    Returns the candidate pairs ``(ncc, i, j)`` with ``i < j``, and those of them in
    which each row is among the other's ``k`` nearest (mutual neighbours).
    """
    n = len(rows)
    k = min(k, n - 1)
    found = {}  # (i, j) -> [ncc, times found: 2 when mutual]
    for s in range(0, n, batch_size):
        sims = rows[s : s + batch_size] @ rows.T
        idx = np.arange(s, s + len(sims))
        sims[idx - s, idx] = -np.inf
        best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for i, js in zip(idx.tolist(), best.tolist()):
            for j in js:
                key = (i, j) if i < j else (j, i)
                if key in found:
                    found[key][1] += 1
                else:
                    found[key] = [float(sims[i - s, j]), 1]
        bar.update(len(sims))
    pairs = [(v, a, b) for (a, b), (v, _) in found.items()]
    mutual = [(v, a, b) for (a, b), (v, times) in found.items() if times == 2]
    return pairs, mutual


def _merge_linked(groups, links, min_size, resolution):
    """Merge clusters that share more links than chance (modularity).

    Greedy modularity agglomeration (Clauset, Newman & Moore 2004) of the groups of
    at least ``min_size`` residuals on the graph of ``links`` (pairs of rows): two
    groups with ``e`` links between them and degree sums ``d_a``, ``d_b`` (in a
    graph of ``E`` links) merge, best first, while ``e > resolution * d_a d_b / 2E``,
    the count a random graph with the same degrees would give them. Number of merges.
    """
    if not links:
        return 0
    root = np.empty(len(groups.size), dtype=np.intp)
    for r in np.flatnonzero(groups.alive):
        root[groups.members[r]] = r
    edges = np.asarray(links, dtype=np.intp)
    degree = np.bincount(edges.ravel(), minlength=len(root)).astype(np.float64)
    two_e = float(degree.sum())
    kept = {int(r) for r in np.flatnonzero(groups.alive) if groups.size[r] >= min_size}
    links = {r: {} for r in kept}  # cluster -> {cluster: links between them}
    for a, b in zip(root[edges[:, 0]].tolist(), root[edges[:, 1]].tolist()):
        if a != b and a in kept and b in kept:
            links[a][b] = links[a].get(b, 0) + 1
            links[b][a] = links[b].get(a, 0) + 1
    dsum = {r: float(degree[groups.members[r]].sum()) for r in kept}
    version = dict.fromkeys(kept, 0)

    def entry(a, b):
        gain = links[a][b] - resolution * dsum[a] * dsum[b] / two_e
        return (-gain, a, b, version[a], version[b])

    heap = [entry(a, b) for a in kept for b in links[a] if a < b]
    heapq.heapify(heap)
    merges = 0
    while heap:
        neg, a, b, va, vb = heapq.heappop(heap)
        if a not in links or b not in links or (va, vb) != (version[a], version[b]):
            continue  # stale: a side has merged since
        if neg >= 0:
            break  # the best remaining merge would not raise the modularity
        keep, gone = (a, b) if groups.size[a] >= groups.size[b] else (b, a)
        groups._merge(keep, gone, float(groups.sums[keep] @ groups.sums[gone]))
        for c, count in links.pop(gone).items():
            links[c].pop(gone)
            if c != keep:
                links[keep][c] = links[keep].get(c, 0) + count
                links[c][keep] = links[keep][c]
        links[keep].pop(gone, None)
        dsum[keep] += dsum.pop(gone)
        version[keep] += 1
        for c in links[keep]:
            heapq.heappush(heap, entry(min(keep, c), max(keep, c)))
        merges += 1
    return merges


class _Agglomeration:
    """Average linkage over group sums along a sparse graph of candidate pairs.

    ``dots[a][c]`` holds ``<S_a, S_c>`` exactly for the candidate pairs of group
    ``a``; a merge adds the two rows (computing a missing term from the sums), so
    no ``n x n`` matrix is ever formed.
    """

    def __init__(self, rows, threshold, min_corr, batch_size):
        self.sums = rows.copy()
        n = len(rows)
        # Python lists: the merge loop reads them item by item.
        self.size = [1] * n
        self.square = [1.0] * n  # ||S||^2: 1 for a unit row
        self.members = [[i] for i in range(n)]
        self.alive = [True] * n
        self.dots = [{} for _ in range(n)]
        self.threshold = threshold
        self.min_corr = min_corr
        self.batch_size = batch_size

    def cohesion(self, a):
        m = self.size[a]
        return (self.square[a] - m) / (m * (m - 1)) if m > 1 else float("nan")

    def significance(self, dot, a, b):
        """NCC of the two groups' sums: under independence its spread is ``null_sd``."""
        return dot / math.sqrt(self.square[a] * self.square[b])

    def accepts(self, link, a, b):
        ma, mb = self.size[a], self.size[b]
        if self.significance(link * ma * mb, a, b) < self.threshold:
            return False
        if ma == 1 and mb == 1:
            return True  # nothing to compare the link with but the null
        # A single residual's own cohesion is unknown: it is taken as the group's.
        ca = max(self.cohesion(a if ma > 1 else b), 0.0)
        cb = max(self.cohesion(b if mb > 1 else a), 0.0)
        return link >= self.min_corr * math.sqrt(ca * cb)

    def add_pairs(self, pairs):
        """Record candidate ``(dot, a, b)`` pairs; return the heap entries for them."""
        entries = []
        for dot, a, b in pairs:
            self.dots[a][b] = self.dots[b][a] = dot
            entries.append(self._entry(a, b, dot))
        return entries

    def _entry(self, a, b, dot):
        a, b = (a, b) if a < b else (b, a)
        ma, mb = self.size[a], self.size[b]
        return (-dot / (ma * mb), a, b, ma, mb)

    def run(self, entries):
        """Merge along the heap ``entries``, best link first; number of merges."""
        heapq.heapify(entries)
        merges = 0
        while entries:
            neg, a, b, ma, mb = heapq.heappop(entries)
            if not (self.alive[a] and self.alive[b]) or (ma, mb) != (self.size[a], self.size[b]):
                continue  # stale: a side has changed since this link was computed
            if not self.accepts(-neg, a, b):
                continue
            keep, gone = (a, b) if ma >= mb else (b, a)
            threshold = self.threshold
            for c, dot in self._merge(keep, gone, -neg * ma * mb).items():
                if self.significance(dot, keep, c) >= threshold:  # else never
                    heapq.heappush(entries, self._entry(keep, c, dot))
            merges += 1
        return merges

    def _merge(self, a, b, dot_ab):
        """Merge group ``b`` into ``a``; return ``a``'s new candidate dots."""
        da, db = self.dots[a], self.dots[b]
        da.pop(b, None)
        db.pop(a, None)
        others = sorted(set(da) | set(db))
        missing_a = [c for c in others if c not in da]
        missing_b = [c for c in others if c not in db]
        if missing_a:
            da.update(zip(missing_a, (self.sums[missing_a] @ self.sums[a]).tolist()))
        if missing_b:
            db.update(zip(missing_b, (self.sums[missing_b] @ self.sums[b]).tolist()))
        merged = {c: da[c] + db[c] for c in others}
        for c in others:
            self.dots[c].pop(b, None)
            self.dots[c][a] = merged[c]
        self.dots[a], self.dots[b] = merged, {}
        self.square[a] += self.square[b] + 2.0 * dot_ab
        self.sums[a] += self.sums[b]
        self.size[a] += self.size[b]
        self.members[a].extend(self.members[b])
        self.members[b] = []
        self.alive[b] = False
        return merged

    def group_pairs(self):
        """Significant ``(dot, a, b)`` of every live group with every group of two or more."""
        size = np.array(self.size)
        norm_of = np.sqrt(np.array(self.square))
        live = np.flatnonzero(self.alive)
        big = live[size[live] > 1]
        pairs = []
        for s in range(0, len(live) if len(big) else 0, self.batch_size):
            rows = live[s : s + self.batch_size]
            dots = self.sums[rows] @ self.sums[big].T
            significant = dots / np.outer(norm_of[rows], norm_of[big]) >= self.threshold
            for i, j in zip(*np.nonzero(significant)):
                a, b = int(rows[i]), int(big[j])
                if a != b and (a < b or size[a] == 1):
                    pairs.append((float(dots[i, j]), a, b))
        return pairs

    def roots(self):
        roots = np.flatnonzero(self.alive)
        return roots, np.array(self.size)[roots]


def _label_sums(rows, labels, k):
    """``(k, d)`` float32 sums of the rows of each cluster."""
    sums = np.zeros((k, rows.shape[1]), dtype=np.float64)
    np.add.at(sums, labels[labels >= 0], rows[labels >= 0])
    return sums.astype(np.float32)


def _member_correlation(rows, labels, sums, batch_size):
    """Mean NCC of each row with the other members of its cluster (see the attribute)."""
    out = np.full(len(rows), np.nan)
    k = len(sums)
    if k == 0:
        return out
    sizes = np.bincount(labels[labels >= 0], minlength=k)
    for s in range(0, len(rows), batch_size):
        block, lab = rows[s : s + batch_size], labels[s : s + batch_size]
        links = block @ sums.T
        own = lab >= 0
        i = np.flatnonzero(own)
        # The member's own row is in its cluster's sum: remove its unit self-product.
        links[i, lab[own]] -= 1.0
        counts = np.broadcast_to(sizes.astype(np.float64), links.shape).copy()
        counts[i, lab[own]] -= 1
        with np.errstate(divide="ignore", invalid="ignore"):
            links = links / counts
        out[s : s + batch_size] = np.where(own, links[np.arange(len(lab)), np.maximum(lab, 0)],
                                           links.max(axis=1))
    return out


def _cluster_means(X, labels, k, batch_size):
    """Mean residual of each cluster, in ``X``'s shape (float32)."""
    sums = np.zeros((k, *X.shape[1:]), dtype=np.float64)
    for s in range(0, len(X), batch_size):
        lab = labels[s : s + batch_size]
        keep = lab >= 0
        np.add.at(sums, lab[keep], X[s : s + batch_size][keep])
    counts = np.bincount(labels[labels >= 0], minlength=k).reshape((k,) + (1,) * (X.ndim - 1))
    return (sums / np.maximum(counts, 1)).astype(np.float32)
