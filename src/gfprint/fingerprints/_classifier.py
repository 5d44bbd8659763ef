"""PRNU-style fingerprint classifier (Marra et al. 2019; Lukas, Fridrich & Goljan 2006)."""

from __future__ import annotations

import json
import os
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from .._param_validation import (
    Interval,
    StrOptions,
    fit_context,
    validate_parameters,
    validate_params,
)
from .._validation import check_fitted
from ..localization import _check_window, _tiled, localize
from ..metrics import match_fingerprints, ncc
from ..metrics._correlation import pce_all_pairs
from ._io import read_fingerprint_file, write_fingerprint_file

__all__ = ["PRNUFingerprintClassifier", "null_quantile_threshold"]

#: Scale grid of ``search="scale"`` when ``scales=None``: enlargements of 1 to 1.35,
#: that is crops of up to 26 % of the side resized back to the original size.
DEFAULT_SCALES = (1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.35)

_LOCALIZE_CONSTRAINTS = {
    "window": [Interval(Integral, 2, None, closed="left")],
    "expected": [Interval(Real, 0, 1, closed="right"), None],
}


def _open_set_dtype(classes, unknown):
    """The dtype of open-set predictions, for the classes' labels and ``unknown_label``.

    Their common type when both are numbers or both are strings; else ``object``, so
    that every label keeps its own type (``0`` stays the integer 0 beside
    ``"unknown"``, where a common type would turn it into the string ``"0"``).
    """
    kinds = {np.asarray(classes).dtype.kind, np.asarray(unknown).dtype.kind}
    if kinds <= set("iuf") or kinds <= set("US"):
        return np.result_type(np.asarray(classes), np.asarray(unknown))
    return np.dtype(object)


class PRNUFingerprintClassifier(ClassifierMixin, BaseEstimator):
    """Attribute residuals to sources by correlation with per-source fingerprints.

    ``fit`` averages the noise residuals of each class into its fingerprint (Marra et
    al. 2019); a residual is attributed to the fingerprint it correlates with best.
    Feed it the output of :class:`~gfprint.ResidualExtractor` (in a ``Pipeline``).

    Parameters
    ----------
    similarity : {"ncc", "pce"}, default="ncc"
        ``"ncc"``: normalized cross-correlation (zero-mean, unit-norm inner product;
        works on any residual shape). ``"pce"``: peak-to-correlation energy at zero
        shift (Goljan), on planes ``(n, H, W)``, colour residuals ``(n, H, W, C)``
        (correlated channel by channel, the planes added) or rows ``(n, d)``
        taken as ``1 x d`` planes.
    search : {"auto", "none", "shift", "scale"}, default="auto"
        How a residual is placed on a fingerprint (Goljan & Fridrich 2008; see
        :func:`~gfprint.metrics.match_fingerprints` and Notes). ``"none"``: aligned,
        residual and fingerprint must have one size (the fast path). ``"shift"``: the
        best placement over all shifts, for cropped images and images of any size.
        ``"scale"``: over shifts and the scale grid ``scales``, for images that were
        also resized. ``"auto"``: ``"none"`` for residuals of the fingerprints' size,
        ``"shift"`` for the others.
    scales : array-like of float, default=None
        Coarse scale grid of ``search="scale"``: factors by which the images were
        enlarged relative to the fingerprints' frame (``1 / (1 - f)`` for a crop of a
        fraction ``f`` of the side resized back). ``None`` means
        ``DEFAULT_SCALES`` = 1.0, 1.05, ..., 1.35 (crops of up to 26 %).
    refine : int, default=2
        Rounds of coarse-to-fine refinement around the best grid scale with
        ``search="scale"``; round ``m`` halves the step (``0.05 / 2**m`` by default).
    threshold : float, "auto" or None, default=None
        Decision threshold in units of ``similarity``. When set (and ``null_class`` is
        None), a residual whose best similarity is below it is predicted as
        ``unknown_label`` (open-set rejection). With ``null_class``, the null class is
        predicted unless a fingerprint correlates above it (``None`` then means 0,
        and an image of no texture, whose NCC is 0, is of the null class).
        ``"auto"`` estimates it at ``fit`` for ``false_alarm_rate`` (see Notes). For
        cameras with ``similarity="pce"``, the field's customary decision threshold
        is 60.
    false_alarm_rate : float, default=0.01
        With ``threshold="auto"``: the targeted probability that a residual of a
        source without a fingerprint reaches the threshold for some fingerprint.
    null_class : label, default=None
        A class seen at ``fit`` that gets no fingerprint (e.g. ``"real"``): it is
        predicted when no fingerprint correlates above ``threshold``. This is the
        threshold method for real-vs-GAN detection that ``GridSearchCV`` tunes. It may
        also name a label of ``sources`` (see :meth:`fit`), whose class is then the
        null class: that form survives the label encoding of ``cross_val_predict``.
    unknown_label : label, default=None
        Label returned for rejected residuals in the open-set mode; ``None`` means
        ``-1`` when the classes are numbers and ``"unknown"`` otherwise. It must not be
        one of the classes. Open-set predictions have one dtype whatever the batch:
        the common type of the labels and ``unknown_label`` when both are numbers or
        both strings, else ``object`` (each label keeps its type).
    neighborhood : int, default=11
        PCE exclusion square (odd).
    temperature : float or "auto", default="auto"
        ``predict_proba`` is the softmax of ``decision_function / temperature``.
        ``"auto"``: 0.01 for NCC (values of about 0.001-0.1), 10 for PCE (values in
        the tens to thousands), so that the probabilities rank as the similarities
        do instead of saturating at exactly 0 and 1.
    batch_size : int, default=256
        Residuals processed at a time in ``fit`` and ``decision_function``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    fingerprint_sources_ : ndarray of shape (n_fingerprints,)
        The source of each fingerprint: the classes other than ``null_class``, or the
        ``sources`` given to :meth:`fit` other than those of the null class.
    fingerprint_classes_ : ndarray of shape (n_fingerprints,)
        The class of each fingerprint (equal to ``fingerprint_sources_`` without
        ``sources``).
    fingerprints_ : ndarray of float32, shape ``(n_fingerprints, *image_shape_)``
        Mean residual of each source in ``fingerprint_sources_``.
    n_images_per_class_ : ndarray of int64, shape (n_classes,)
        Residuals seen per class.
    null_scores_ : ndarray of float64
        Only with ``threshold="auto"``: the sorted similarities of the training
        residuals with the fingerprints of other sources, from which the threshold
        is read.
    threshold_ : float or None
        The threshold in effect (``"auto"`` resolved for the current
        ``false_alarm_rate``).
    image_shape_ : tuple of int
        Shape of the fingerprints: that of the residuals, or with residuals of mixed
        sizes, the largest height by the largest width (see Notes).
    n_features_in_ : int
        Number of values in one fingerprint.

    See Also
    --------
    gfprint.ResidualExtractor : Computes the residuals this classifier takes.
    gfprint.metrics.ncc : The similarity used by default.

    Notes
    -----
    **Automatic threshold.** Every training residual of a source ``s`` was left out
    of the fingerprints of all other sources, so its similarities with them are
    samples of what a residual of an unknown source scores; null-class residuals
    score against every fingerprint. These out-of-source scores are pooled. With
    ``k`` fingerprints, the per-fingerprint rate ``b = 1 - (1 - a)**(1 / k)`` (Sidak)
    makes the chance that the *best* of ``k`` independent similarities reaches the
    threshold equal ``a = false_alarm_rate``; the threshold is the split-conformal
    ``(1 - b)`` quantile of the ``m`` pooled scores, their
    ``ceil((m + 1)(1 - b))``-th smallest, which a new exchangeable score exceeds with
    probability at most ``b``. When ``m`` is too small for that rank, the tail is
    extrapolated: a normal prediction bound for NCC, the signed-chi-square quantile
    ``z(1 - b) ** 2`` for PCE (see :func:`null_quantile_threshold`). Sources whose
    fingerprints correlate (one architecture, several seeds) raise the threshold, as
    they should. The pooled scores are not independent: a source's residuals share
    its fingerprint, so their scores against another fingerprint share an offset
    that an unseen source draws afresh. With few sources and strong or periodic
    fingerprints the realised rate on unseen sources exceeds the target (in
    simulation, 0.10 for 0.01 with three sources of periodic fingerprints; see the
    thresholds guide).

    **Images of any size, cropped or resized.** With a search, a residual is scored at
    its best placement on each fingerprint: the PCE peak of their full
    cross-correlation over the shifts with one inside the other (and over
    ``scales``), as :func:`~gfprint.metrics.match_fingerprints` computes it. With
    ``similarity="pce"`` the score is that PCE; with ``"ncc"`` it is the NCC of the
    residual with the part of the fingerprint it overlaps at that placement.
    :meth:`match` returns the placements (crop offset, scale). The best of many
    placements scores higher than an aligned one also for a source the residual does
    not come from. With ``threshold="auto"`` each residual of another size gets its
    own threshold: the null quantile at the per-fingerprint rate divided by its
    number of placements (Bonferroni, as Goljan & Fridrich's search), and for NCC,
    whose spread grows as the overlap shrinks, that quantile's distance from the
    null mean scaled by the square root of the fingerprint's over the overlap's
    number of values. On 64x64 residuals of unseen sources cropped to 48x48 and
    32x32 (simulation, target 0.01) the aligned threshold was passed at a rate of
    0.70 to 1.0; these thresholds gave 0.006 to 0.016, and cropped images of the
    known sources were still attributed (0.99 to 1.0). A numeric ``threshold``
    is used as it is: calibrate it with the same search. With
    ``search="scale"`` each
    residual costs one FFT correlation per fingerprint and tried scale (about
    ``len(scales) + 4 * refine`` scales).

    **Fitting on residuals of mixed sizes** (a list of arrays): each residual is
    placed at the top-left corner of a canvas of the largest height by the largest
    width, and each fingerprint pixel is the mean of the residuals that cover it
    (zero where none does). That is right for images in their generator's or
    camera's native frame, which starts at the top-left pixel, and for sources of
    different sizes; the fingerprints of images cropped at unknown offsets cannot be
    averaged this way (fit on uncropped images, search at prediction).

    ``predict_proba`` is a monotone map of the similarities for ranking metrics
    (ROC AUC), not a calibrated probability; wrap the estimator in
    :class:`~sklearn.calibration.CalibratedClassifierCV` for calibrated ones. A class
    declared in ``partial_fit(classes=...)`` but never seen has a zero fingerprint,
    whose correlation with anything is 0.

    References
    ----------
    .. [1] F. Marra, D. Gragnaniello, L. Verdoliva, G. Poggi, "Do GANs leave artificial
       fingerprints?", IEEE MIPR 2019. :doi:`10.1109/MIPR.2019.00103`
    .. [2] J. Lukas, J. Fridrich, M. Goljan, "Digital camera identification from sensor
       pattern noise", IEEE TIFS 1(2), 2006. :doi:`10.1109/TIFS.2006.873602`
    .. [3] M. Goljan, J. Fridrich, "Camera identification from cropped and scaled
       images", Proc. SPIE 6819, 2008. :doi:`10.1117/12.766732`

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from gfprint import PRNUFingerprintClassifier, ResidualExtractor
    >>> from gfprint.datasets import make_camera_images
    >>> cams = make_camera_images(n_cameras=2, n_images=6, shape=(128, 128), random_state=0)
    >>> pipe = make_pipeline(ResidualExtractor(), PRNUFingerprintClassifier())
    >>> pipe.fit(cams.images[::2], cams.target[::2]).score(cams.images[1::2], cams.target[1::2])
    1.0
    """

    _parameter_constraints: dict = {
        "similarity": [StrOptions({"ncc", "pce"})],
        "search": [StrOptions({"auto", "none", "shift", "scale"})],
        "scales": ["array-like", None],
        "refine": [Interval(Integral, 0, None, closed="left")],
        "threshold": [Interval(Real, None, None, closed="neither"), StrOptions({"auto"}), None],
        "false_alarm_rate": [Interval(Real, 0, 1, closed="neither")],
        "null_class": "no_validation",
        "unknown_label": "no_validation",
        "neighborhood": [Interval(Integral, 1, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        similarity="ncc",
        search="auto",
        scales=None,
        refine=2,
        threshold=None,
        false_alarm_rate=0.01,
        null_class=None,
        unknown_label=None,
        neighborhood=11,
        temperature="auto",
        batch_size=256,
    ):
        self.similarity = similarity
        self.search = search
        self.scales = scales
        self.refine = refine
        self.threshold = threshold
        self.false_alarm_rate = false_alarm_rate
        self.null_class = null_class
        self.unknown_label = unknown_label
        self.neighborhood = neighborhood
        self.temperature = temperature
        self.batch_size = batch_size

    # ------------------------------------------------------------------ fitting
    @fit_context
    def fit(self, X, y, sources=None):
        """Estimate one fingerprint per source as the mean of its residuals.

        Parameters
        ----------
        X : array-like of shape (n, H, W), (n, H, W, C) or (n, d), or list of arrays
            Noise residuals; a list may mix sizes (see Notes).
        y : array-like of shape (n,)
            Class labels: what :meth:`predict` returns.
        sources : array-like of shape (n,), default=None
            The source (generator, camera) of each residual, when a class has several:
            each source gets its own fingerprint and a class scores the best of its
            sources' similarities. Every source must belong to one class. ``None``:
            each class is one source. With ``y`` real-vs-GAN and ``sources`` the
            generator names, this is per-generator detection as a binary classifier
            (for ``roc_auc`` scoring and ``TunedThresholdClassifierCV``; pass it
            through ``params=`` or metadata routing).

        Returns
        -------
        self : PRNUFingerprintClassifier
        """
        X, y = self._check_X_y(X, y, reset=True)
        sources = self._check_sources(sources, y)
        self._init_state(self._unique_labels(y), _canvas(X), y, sources)
        self._accumulate(X, y, sources)
        if self.threshold == "auto":
            self._fit_null_scores(X, y, sources)
        return self

    def partial_fit(self, X, y, classes=None):
        """Add residuals to the running class sums (streaming ``fit``).

        Parameters
        ----------
        X : array-like of shape (n, H, W), (n, H, W, C) or (n, d), or list of arrays
            Noise residuals; a list may mix sizes, and residuals larger than the
            fingerprints so far enlarge their canvas (see Notes).
        y : array-like of shape (n,)
            Source labels, all in ``classes``.
        classes : array-like, default=None
            Every class that will ever be seen; required on the first call.

        Returns
        -------
        self : PRNUFingerprintClassifier
        """
        first = not hasattr(self, "classes_")
        if first:
            validate_parameters(self)
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            if self.threshold == "auto":
                raise ValueError(
                    "threshold='auto' is estimated by fit, which sees all residuals at "
                    "once; with partial_fit, set a numeric threshold."
                )
        X, y = self._check_X_y(X, y, reset=first)
        if first:
            self._init_state(self._unique_labels(np.asarray(classes)), _canvas(X))
        elif classes is not None and not np.array_equal(
            self._unique_labels(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={list(classes)} differs from the classes of earlier calls, "
                f"{list(self.classes_)}."
            )
        if not np.array_equal(self.fingerprint_sources_, self.fingerprint_classes_):
            raise ValueError("partial_fit cannot continue a fit made with sources.")
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains labels {list(unseen)} that are not in classes {list(self.classes_)}."
            )
        self._accumulate(X, y, y)
        return self

    def _check_sources(self, sources, y):
        if sources is None:
            return y
        sources = column_or_1d(np.asarray(sources), warn=True)
        check_consistent_length(y, sources)
        self._unique_labels(sources)
        pairs = {(s, c) for s, c in zip(_py(sources), _py(y))}
        owners: dict = {}
        for s, c in pairs:
            owners.setdefault(s, set()).add(c)
        shared = {s: sorted(map(str, cs)) for s, cs in owners.items() if len(cs) > 1}
        if shared:
            s, cs = next(iter(shared.items()))
            raise ValueError(
                f"every source must belong to one class, but source {s!r} has residuals "
                f"labelled {cs}."
            )
        return sources

    def _resolve_null_class(self, classes, y, sources):
        """The null class as a label of ``classes`` (None when there is none)."""
        if self.null_class is None:
            return None
        if self.null_class in set(_py(classes)):
            return self.null_class
        if sources is not None and y is not None and self.null_class in set(_py(sources)):
            return _py(np.asarray(y)[np.asarray(sources) == self.null_class][:1])[0]
        raise ValueError(
            f"null_class={self.null_class!r} is not one of the classes {list(classes)}"
            + ("" if sources is None or sources is y else " nor one of the sources")
            + ". (cross_val_predict re-encodes labels as 0..k-1 for decision_function and "
            "predict_proba; pass the original labels as sources, e.g. "
            "params={'sources': y}, so that null_class can name one.)"
        )

    def _init_state(self, classes, image_shape, y=None, sources=None):
        null = self._resolve_null_class(classes, y, sources)
        if self.threshold is not None and null is None:
            self._check_unknown_label(classes)
        if self.similarity == "pce" and self.neighborhood % 2 == 0:
            raise ValueError(
                f"neighborhood must be odd (a square centred on the peak), got {self.neighborhood}."
            )
        self.classes_ = classes
        self._null = null
        if sources is None or sources is y:
            fp_sources = classes
            fp_classes = classes
        else:
            fp_sources = self._unique_labels(sources)
            first = {s: c for s, c in zip(_py(sources), _py(y))}
            fp_classes = np.array([first[s] for s in _py(fp_sources)], dtype=classes.dtype)
        keep = fp_classes != null if null is not None else np.ones(len(fp_classes), bool)
        self.fingerprint_sources_ = np.asarray(fp_sources)[keep]
        self.fingerprint_classes_ = np.asarray(fp_classes)[keep]
        self.image_shape_ = tuple(int(s) for s in image_shape)
        self.n_features_in_ = int(np.prod(self.image_shape_))
        self.n_images_per_class_ = np.zeros(len(classes), np.int64)
        self._n_per_fingerprint = np.zeros(len(self.fingerprint_sources_), np.int64)
        self._sums = np.zeros((len(self.fingerprint_sources_),) + self.image_shape_, np.float64)
        self._partial = {}  # (fingerprint, h, w) -> residuals smaller than the canvas
        self.__dict__.pop("null_scores_", None)

    def _accumulate(self, X, y, sources):
        fp_index = {s: i for i, s in enumerate(_py(self.fingerprint_sources_))}
        self._count_classes(y)
        if isinstance(X, list) or X.shape[1:] != self.image_shape_:
            self._accumulate_placed(X, sources, fp_index)
            return
        for s in range(0, len(X), self.batch_size):
            xb, sb = X[s : s + self.batch_size], np.asarray(sources)[s : s + self.batch_size]
            for src in np.unique(sb):
                key = _py([src])[0]
                if key in fp_index:
                    members = sb == src
                    self._sums[fp_index[key]] += xb[members].sum(axis=0, dtype=np.float64)
                    self._n_per_fingerprint[fp_index[key]] += int(members.sum())
        self._finalize()

    def _accumulate_placed(self, X, sources, fp_index):
        """Add residuals of other sizes at the canvas's top-left corner (see Notes).

        Only planes get here: ``_check_X_y`` refuses rows of another length.
        """
        for x, src in zip(X, _py(sources)):
            j = fp_index.get(src)
            if j is None:
                continue
            h, w = x.shape[:2]
            self._grow_canvas(h, w)
            self._sums[j, :h, :w] += x
            self._n_per_fingerprint[j] += 1
            if (h, w) != self.image_shape_[:2]:
                self._partial[j, h, w] = self._partial.get((j, h, w), 0) + 1
        self._finalize()

    def _grow_canvas(self, h, w):
        """Enlarge the fingerprints' canvas to hold an ``h`` x ``w`` residual."""
        old_h, old_w = self.image_shape_[:2]
        if h <= old_h and w <= old_w:
            return
        new = (max(h, old_h), max(w, old_w))
        pad = [(0, 0), (0, new[0] - old_h), (0, new[1] - old_w)]
        for name in self._canvas_arrays:
            grown = getattr(self, name)
            setattr(self, name, np.pad(grown, pad + [(0, 0)] * (grown.ndim - 3)))
        # Residuals that filled the old canvas now cover only part of the new one.
        full = self._full_counts()
        self._partial.update(
            {(j, old_h, old_w): int(n) for j, n in enumerate(full) if n > 0}
        )
        self.image_shape_ = new + self.image_shape_[2:]
        self.n_features_in_ = int(np.prod(self.image_shape_))

    #: The running sums laid out on the canvas (a subclass may keep more).
    _canvas_arrays = ("_sums",)

    def _full_counts(self):
        """Residuals per fingerprint that cover the whole canvas."""
        full = self._n_per_fingerprint.copy()
        for (j, _, _), n in self._partial.items():
            full[j] -= n
        return full

    def _coverage(self):
        """How many residuals cover each fingerprint pixel, ``(k, H, W)``; None if all do."""
        if not self._partial:
            return None
        k = len(self._sums)
        coverage = np.zeros((k,) + self.image_shape_[:2], np.float64)
        coverage += self._full_counts().reshape(-1, 1, 1)
        for (j, h, w), n in self._partial.items():
            coverage[j, :h, :w] += n
        return coverage

    def _count_classes(self, y):
        class_index = {c: i for i, c in enumerate(_py(self.classes_))}
        for c, count in zip(*np.unique(y, return_counts=True)):
            self.n_images_per_class_[class_index[_py([c])[0]]] += count

    def _fit_from_sums(self, image_shape, y, sources, totals):
        """Fitted state from per-source ``{source: [sum, count]}`` (map-reduce fits)."""
        y = np.asarray(y)
        sources = self._check_sources(sources, y)
        self._init_state(self._unique_labels(y), image_shape, y, sources)
        self._count_classes(y)
        for i, s in enumerate(_py(self.fingerprint_sources_)):
            if s in totals:
                self._sums[i] = totals[s][0]
                self._n_per_fingerprint[i] = totals[s][1]
        self._finalize()
        return self

    def _finalize(self):
        if not np.isfinite(self._sums).all():
            raise ValueError(
                "the residual sums overflow or are not finite; residuals must be finite "
                "numbers of a sane magnitude (noise residuals are a few grey levels)."
            )
        coverage = self._coverage()
        if coverage is None:
            shape = (-1,) + (1,) * len(self.image_shape_)
            counts = np.maximum(self._n_per_fingerprint, 1).reshape(shape)
        else:
            counts = np.maximum(coverage, 1).reshape(coverage.shape + (1,) * (
                len(self.image_shape_) - 2))
        self.fingerprints_ = (self._sums / counts).astype(np.float32)

    def _fit_null_scores(self, X, y, sources):
        """Similarities of each residual with the fingerprints of the other sources."""
        self.__dict__.pop("null_scores_", None)
        self.partial_calibrate(X, y, sources)
        self._check_null_scores()

    def _check_null_scores(self):
        if self.null_scores_.size < 2:
            raise ValueError(
                "threshold='auto' needs residuals of at least two sources (or of the "
                "null class) to see how other sources score against each fingerprint."
            )

    def partial_calibrate(self, X, y, sources=None):
        """Add the out-of-source similarities of ``X`` to ``null_scores_``.

        The streaming form of what ``fit`` does with ``threshold="auto"``: after the
        fingerprints are complete (``partial_fit`` over all batches), pass the batches
        again; then set ``threshold="auto"``. Each residual scores against the
        fingerprints of the sources it does not belong to.

        Parameters
        ----------
        X : array-like of shape ``(n, *image_shape_)``, or list of arrays
            Residuals of the training sources (or of the null class).
        y : array-like of shape (n,)
            Their classes.
        sources : array-like of shape (n,), default=None
            Their sources, as given to :meth:`fit`.

        Returns
        -------
        self : PRNUFingerprintClassifier
        """
        check_fitted(self)
        if len(self.fingerprint_sources_) == 0:
            raise ValueError("the automatic threshold needs at least one fingerprint.")
        y = column_or_1d(np.asarray(y), warn=True)
        sources = y if sources is None else column_or_1d(np.asarray(sources), warn=True)
        check_consistent_length(X, y, sources)
        scores = self.similarity_scores(X)
        own = np.asarray(sources)[:, None] == self.fingerprint_sources_[None, :]
        new = scores[~own].astype(np.float64)
        old = getattr(self, "null_scores_", np.empty(0))
        self.null_scores_ = np.sort(np.concatenate([old, new]))
        return self

    # ---------------------------------------------------------------- predicting
    @property
    def threshold_(self):
        """The decision threshold in effect: a number, or None."""
        check_fitted(self)
        if self.threshold is None:
            return None
        if self.threshold != "auto":
            if not np.isfinite(self.threshold):  # set_params does not validate
                raise ValueError(f"threshold must be a finite number, got {self.threshold}.")
            return float(self.threshold)
        if not hasattr(self, "null_scores_"):
            raise ValueError(
                "threshold='auto' was set after fit; it is estimated from the training "
                "residuals, so fit again."
            )
        self._check_null_scores()  # partial_calibrate may have seen one source only
        return _null_quantile(  # null_scores_ is sorted and finite
            self.null_scores_, self.false_alarm_rate, len(self.fingerprint_sources_),
            self.similarity,
        )

    def similarity_scores(self, X) -> np.ndarray:
        """Similarity of each residual with each fingerprint.

        Parameters
        ----------
        X : array-like of shape ``(n, *image_shape_)``, or list of arrays
            Noise residuals; with a search, of any size (a list may mix sizes).

        Returns
        -------
        scores : ndarray of float64, shape (n, n_fingerprints)
            Columns follow ``fingerprint_sources_``.
        """
        return self._scored(X)[1]

    def _scored(self, X):
        """``(match, scores, thresholds)`` of residuals ``X``.

        ``match``: the placements found when ``X`` is searched, else None.
        ``thresholds``: the threshold of each residual when it depends on the
        residual (:meth:`_searched_thresholds`), else None (``threshold_`` holds).
        """
        check_fitted(self)
        X = self._check_X(X)
        if self._searched(X):
            found, scores = self._with_match(self._match(X))
            return found, scores, self._searched_thresholds([np.shape(x)[:2] for x in X])
        if self.similarity == "ncc":
            return None, ncc(X, self.fingerprints_, batch_size=self.batch_size), None
        planes = X if X.ndim >= 3 else X[:, None, :]
        fps = self.fingerprints_ if X.ndim >= 3 else self.fingerprints_[:, None, :]
        out = np.empty((len(X), len(fps)), np.float64)
        for s in range(0, len(X), self.batch_size):
            out[s : s + self.batch_size] = pce_all_pairs(
                planes[s : s + self.batch_size], fps, neighborhood=self.neighborhood
            )
        return None, out, None

    def _searched_thresholds(self, shapes):
        """With ``threshold="auto"``: the threshold of each searched residual, or None.

        The pooled null scores were measured aligned (or over the scale grid, with
        ``search="scale"``); a residual of another size ``(h, w)`` is scored at the
        best of ``P = (|H - h| + 1)(|W - w| + 1)`` placements, so its per-fingerprint
        rate is ``b / P`` (Bonferroni over the placements, as Goljan & Fridrich's
        search). PCE is self-normalised: its quantile at ``b / P`` is read from the
        null scores or their signed chi-square tail. An NCC over fewer values spreads
        more: the null quantile's distance from the null mean is scaled by
        ``sqrt(H W / (h' w'))``, ``h' w'`` the values the residual overlaps
        (Bartlett's variance goes as one over the number of values).
        """
        if self.threshold != "auto" or not hasattr(self, "null_scores_"):
            return None
        null = self.null_scores_
        height, width = self.image_shape_[:2]
        per_pair = _per_fingerprint_rate(self.false_alarm_rate, len(self.fingerprint_sources_))
        mean = float(np.mean(null))
        out = np.empty(len(shapes), np.float64)
        for i, (h, w) in enumerate(shapes):
            placements = (abs(height - h) + 1) * (abs(width - w) + 1)
            q = _quantile_at(null, per_pair / placements, self.similarity)
            if self.similarity == "ncc":
                overlap = min(h, height) * min(w, width)
                q = mean + (q - mean) * np.sqrt(height * width / overlap)
            out[i] = q
        return out

    def _with_match(self, found):
        """``(found, scores)``: the scores of ``similarity`` from a match."""
        return found, (found.pce if self.similarity == "pce" else found.ncc)

    def match(self, X):
        """Best placement of each residual on each fingerprint: score, crop offset, scale.

        The search of ``search`` (shifts, and ``scales`` with ``search="scale"``;
        shifts only otherwise), whatever the residuals' size: what a forensic examiner
        reads to see where in the generator's or camera's frame an image was cut.

        Parameters
        ----------
        X : array-like of shape (n, h, w) or (n, h, w, C), or list of arrays
            Noise residual planes of any size (a list may mix sizes).

        Returns
        -------
        match : FingerprintMatch
            ``pce``, ``ncc``, ``offset`` and ``scale``, each ``(n, n_fingerprints, ...)``
            with columns following ``fingerprint_sources_``
            (:class:`~gfprint.metrics.FingerprintMatch`).

        Examples
        --------
        >>> import numpy as np
        >>> from gfprint import PRNUFingerprintClassifier
        >>> rng = np.random.default_rng(0)
        >>> fps = rng.normal(size=(2, 48, 48)).astype(np.float32)
        >>> X = fps[[0, 0, 1, 1]] + rng.normal(size=(4, 48, 48)).astype(np.float32)
        >>> clf = PRNUFingerprintClassifier().fit(X, [0, 0, 1, 1])
        >>> crop = (fps[1] + rng.normal(size=(48, 48)))[5:37, 9:41]  # 32 x 32, cut at (5, 9)
        >>> clf.predict([crop]), clf.match([crop]).offset[0, 1].tolist()
        (array([1]), [5, 9])
        """
        check_fitted(self)
        return self._match(self._check_X(X))

    def _match(self, X):
        if len(self.image_shape_) < 2:
            raise ValueError(
                "the search over shifts needs residual planes (n, H, W[, C]); these "
                f"fingerprints were fitted on rows of {self.image_shape_[0]} values."
            )
        scales = None
        if self.search == "scale":
            scales = DEFAULT_SCALES if self.scales is None else self.scales
        return match_fingerprints(
            X, self.fingerprints_, scales=scales, refine=self.refine,
            neighborhood=self.neighborhood,
        )

    @validate_params(_LOCALIZE_CONSTRAINTS)
    def localize(self, X, *, source=None, window=64, expected=None):
        """Where in each residual a fingerprint is: generated material in a photo.

        The fingerprint of ``source`` (by default each residual's best match, by the
        PCE of a search over shifts) is laid on the residual, and
        :func:`gfprint.localization.localize` maps, pixel by pixel, the probability
        that the window around it carries the fingerprint. Placement: aligned when the
        fingerprint has the residual's size; at its best placement (:meth:`match`,
        shifts only) when one is smaller than the other. On a residual larger than
        the fingerprint, the fingerprint is repeated side by side from that
        placement, so that generated images pasted in a grid with it are found whole;
        generated material off that grid is not.

        Parameters
        ----------
        X : array-like of shape (n, h, w[, C]), or list of arrays
            Noise residuals of the images, with the fingerprints' number of channels.
        source : label, default=None
            The source (a label of ``fingerprint_sources_``) whose fingerprint to look
            for; ``None``: the best match of each residual.
        window : int, default=64
            Window side (see :func:`~gfprint.localization.local_ncc`); at most the
            residuals' smaller side.
        expected : float, default=None
            Mean windowed NCC where the fingerprint is present, when known; ``None``:
            estimated from each residual.

        Returns
        -------
        maps : list of LocalizationMap
            One per residual, with ``source`` and ``offset`` filled in.

        Examples
        --------
        A generated 64x64 image pasted into a 192x192 residual that carries no
        fingerprint:

        >>> import numpy as np
        >>> from gfprint import PRNUFingerprintClassifier
        >>> rng = np.random.default_rng(0)
        >>> fps = rng.normal(size=(2, 64, 64)).astype(np.float32)
        >>> X = fps[[0] * 4 + [1] * 4] + rng.normal(size=(8, 64, 64)).astype(np.float32)
        >>> clf = PRNUFingerprintClassifier().fit(X, [0] * 4 + [1] * 4)
        >>> photo = rng.normal(size=(192, 192)).astype(np.float32)
        >>> photo[96:160, 32:96] += fps[1]
        >>> found = clf.localize([photo], window=32)[0]
        >>> found.source, found.offset
        (1, (-96, -32))
        >>> p = found.probability
        >>> bool(p[112:144, 48:80].mean() > 0.9 and p[:64].mean() < 0.1)
        True
        """
        check_fitted(self)
        j = self._source_index(source)
        X = self._check_X(X)
        if len(self.image_shape_) < 2:
            raise ValueError(
                "localization needs residual planes (n, H, W[, C]); these fingerprints "
                f"were fitted on rows of {self.image_shape_[0]} values."
            )
        items = list(X)
        for x in items:
            _check_window(window, x.shape)
        found = match_fingerprints(items, self.fingerprints_, neighborhood=self.neighborhood)
        return [self._localized(x, None, found, i, j, window, expected)
                for i, x in enumerate(items)]

    def _source_index(self, source):
        """Index in ``fingerprint_sources_`` of ``source`` (None stays None)."""
        if source is None:
            return None
        sources, (wanted,) = _py(self.fingerprint_sources_), _py([source])
        if wanted not in sources:
            raise ValueError(f"source {source!r} has no fingerprint; the sources are {sources}.")
        return sources.index(wanted)

    def _localized(self, residual, weight, found, i, j, window, expected):
        """The map of residual ``i`` against fingerprint ``j`` (None: its best match)."""
        j = int(np.argmax(found.pce[i])) if j is None else j
        offset = tuple(int(v) for v in found.offset[i, j])
        reference = _tiled(self.fingerprints_[j], residual.shape[:2], offset)
        if weight is not None:
            reference = weight * reference
        result = localize(residual, reference, window=window, expected=expected)
        result.source, result.offset = _py(self.fingerprint_sources_[j : j + 1])[0], offset
        return result

    def _searched(self, X):
        """Whether ``X`` is scored with the search (``search`` and the residuals' size)."""
        if isinstance(X, list):
            return self._search_for("residuals of mixed sizes")
        if X.shape[1:] != self.image_shape_:
            return self._search_for(f"residuals of shape {X.shape[1:]}")
        return self._search_for(None)

    def _search_for(self, other_size):
        """Whether to search, given what differs from the fingerprints' size (or None)."""
        if self.search == "none" and other_size:
            raise ValueError(
                f"X has {other_size}, but the fingerprints have shape "
                f"{self.image_shape_}; with search='none' they must be the same size "
                "(search='auto' or 'shift' places them at their best shift)."
            )
        if self.search == "auto":
            return other_size is not None
        return self.search != "none"

    def _full_decision(self, X):
        _, scores, thresholds = self._scored(X)
        return self._full_from_scores(scores, thresholds)

    def _threshold_of(self, thresholds):
        """The threshold in effect: per residual (an array) or ``threshold_``."""
        return self.threshold_ if thresholds is None else thresholds

    def _full_from_scores(self, scores, thresholds=None):
        """Per-class decision values from per-fingerprint similarities."""
        if self._null is None and np.array_equal(self.fingerprint_classes_, self.classes_):
            return scores
        full = np.full((len(scores), len(self.classes_)), -np.inf)
        cols = np.searchsorted(self.classes_, self.fingerprint_classes_)
        for j, col in enumerate(cols):
            np.maximum(full[:, col], scores[:, j], out=full[:, col])
        if self._null is not None:
            threshold = self._threshold_of(thresholds)
            if threshold is None:
                threshold = 0.0
            full[:, self.classes_ == self._null] = np.reshape(threshold, (-1, 1))
        return full

    def decision_function(self, X):
        """Similarity-based decision values.

        Parameters
        ----------
        X : array-like of shape ``(n, *image_shape_)``, or list of arrays
            Noise residuals; with a search, of any size (a list may mix sizes).

        Returns
        -------
        scores : ndarray of shape (n, n_classes), or (n,) for two classes
            Similarity with each class's fingerprint, the best of its sources' (the
            ``null_class`` column holds the threshold). With two classes, as
            scikit-learn expects, the score of ``classes_[1]`` minus that of
            ``classes_[0]``.
        """
        full = self._full_decision(X)
        if len(self.classes_) == 2:
            return full[:, 1] - full[:, 0]
        return full

    def predict(self, X):
        """Attribute each residual to a class (or to ``unknown_label``).

        Parameters
        ----------
        X : array-like of shape ``(n, *image_shape_)``, or list of arrays
            Noise residuals; with a search, of any size (a list may mix sizes).

        Returns
        -------
        y_pred : ndarray of shape (n,)
        """
        _, scores, thresholds = self._scored(X)
        return self._predict_from_scores(scores, thresholds)

    def _predict_from_scores(self, scores, thresholds=None):
        """:meth:`predict` from :meth:`similarity_scores` (the command line has both).

        ``thresholds``: per residual, as :meth:`_scored` gives them, or None.
        """
        full = self._full_from_scores(scores, thresholds)
        pred = self.classes_[np.argmax(full, axis=1)]
        threshold = self._threshold_of(thresholds)
        if self._null is not None:
            # The null class unless a fingerprint correlates *above* the threshold: at
            # a tie (a constant image scores exactly 0 against every fingerprint) the
            # argmax would pick whichever class sorts first.
            best = scores.max(axis=1) if scores.shape[1] else np.full(len(scores), -np.inf)
            pred[best <= (0.0 if threshold is None else threshold)] = self._null
        elif threshold is not None:
            unknown = self._check_unknown_label(self.classes_)
            # One dtype for every batch, whether or not it holds a rejection.
            pred = pred.astype(_open_set_dtype(self.classes_, unknown))
            pred[full.max(axis=1) < threshold] = unknown
        return pred

    def predict_proba(self, X):
        """Softmax of the decision values over ``temperature``; rows sum to 1.

        A ranking score for ROC analysis, not a calibrated probability.

        Parameters
        ----------
        X : array-like of shape ``(n, *image_shape_)``, or list of arrays
            Noise residuals; with a search, of any size (a list may mix sizes).

        Returns
        -------
        proba : ndarray of float64, shape (n, n_classes)
        """
        z = self._full_decision(X) / self._temperature()
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    # ----------------------------------------------------------------- save/load
    def save(self, path, *, metadata=None):
        """Write the fitted fingerprints to an ``.npz`` file (no pickle).

        The file is written atomically (a temporary file renamed into place) and
        carries a SHA-256 checksum of its content, which :meth:`load` verifies.

        Parameters
        ----------
        path : str or os.PathLike
            Destination file (``.npz``).
        metadata : dict, default=None
            JSON-serialisable information stored alongside, e.g. the residual
            extractor's settings; read it back with :meth:`load_metadata`.
        """
        check_fitted(self)
        if metadata is not None and not isinstance(metadata, dict):
            # load() reads a JSON object back; anything else would lose the file.
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}.")
        labels = [np.asarray(self.classes_), np.asarray(self.fingerprint_sources_)]
        if any(a.dtype == object for a in labels):
            raise TypeError(
                "only str or numeric class and source labels can be saved without pickle; "
                f"got classes {list(self.classes_)}."
            )
        params = {k: _jsonable(v) for k, v in self.get_params().items()}
        arrays = {
            "params": np.array(json.dumps(params)),
            "metadata": np.array(json.dumps({} if metadata is None else metadata)),
            "classes": self.classes_,
            "n_images_per_class": self.n_images_per_class_,
            "sums": self._sums,
            "image_shape": np.asarray(self.image_shape_, np.int64),
            "fingerprint_sources": self.fingerprint_sources_,
            "fingerprint_class_index": np.searchsorted(
                self.classes_, self.fingerprint_classes_
            ).astype(np.int64),
            "n_per_fingerprint": self._n_per_fingerprint,
            "partial_sizes": np.array(
                [(*key, n) for key, n in sorted(self._partial.items())], np.int64
            ).reshape(-1, 4),
            "estimator": np.array(type(self).__name__),
            **self._extra_state(),
        }
        if hasattr(self, "null_scores_"):
            arrays["null_scores"] = self.null_scores_
        write_fingerprint_file(path, arrays)

    @classmethod
    def load(cls, path):
        """Read a classifier written by :meth:`save`, checking it before trusting it.

        Parameters
        ----------
        path : str or os.PathLike
            An ``.npz`` file from :meth:`save`.

        Returns
        -------
        clf : PRNUFingerprintClassifier
            Fitted, ready to predict or to continue with ``partial_fit``.

        Raises
        ------
        ValueError
            If the file is not a fingerprint file, was modified, or its arrays or
            parameters are inconsistent.
        """
        data = read_fingerprint_file(path)
        classes, sums = data["classes"], data["sums"]
        stored = str(data["estimator"]) if "estimator" in data else "PRNUFingerprintClassifier"
        if stored != cls.__name__:
            raise ValueError(
                f"{os.fspath(path)!r} holds a {stored}, not a {cls.__name__}; load it with "
                f"{stored}.load."
            )
        clf = cls()
        try:
            clf.set_params(**json.loads(str(data["params"])))
            validate_parameters(clf)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{os.fspath(path)!r} has invalid parameters: {exc}") from exc
        if "fingerprint_sources" in data:
            owner = classes[data["fingerprint_class_index"]]
            sources, n_fp = data["fingerprint_sources"], data["n_per_fingerprint"]
        else:  # format 1: one fingerprint per class but the null class
            keep = classes != clf.null_class if clf.null_class is not None else slice(None)
            sources = owner = classes[keep]
            n_fp = data["n_images_per_class"][keep]
        if len(sources) != len(sums):
            raise ValueError(
                f"{os.fspath(path)!r} is inconsistent: {len(sums)} fingerprints for "
                f"{len(sources)} sources."
            )
        clf._restore(classes, owner, sources, tuple(int(s) for s in data["image_shape"]))
        clf.n_images_per_class_ = data["n_images_per_class"].astype(np.int64)
        clf._n_per_fingerprint = n_fp.astype(np.int64)
        clf._sums = sums
        clf._partial = _read_partial_sizes(data, path, clf)
        clf._restore_extra_state(data, path)
        clf._finalize()
        if "null_scores" in data:
            clf.null_scores_ = np.sort(data["null_scores"])  # the threshold reads it sorted
        return clf

    def _restore(self, classes, fingerprint_classes, fingerprint_sources, image_shape):
        null = set(_py(classes)) - set(_py(fingerprint_classes))
        if len(null) > 1 or (self.null_class is None) != (not null):
            raise ValueError(
                f"the stored fingerprints cover classes {list(fingerprint_classes)} of "
                f"{list(classes)}, which does not fit null_class={self.null_class!r}."
            )
        self.classes_ = classes
        self._null = next(iter(null)) if null else None
        self.fingerprint_classes_ = fingerprint_classes
        self.fingerprint_sources_ = fingerprint_sources
        self.image_shape_ = image_shape
        self.n_features_in_ = int(np.prod(image_shape))
        if self.similarity == "pce" and self.neighborhood % 2 == 0:
            raise ValueError(f"neighborhood must be odd, got {self.neighborhood}.")

    def _extra_state(self) -> dict:
        """Arrays a subclass adds to the model file (see :meth:`save`)."""
        return {}

    def _restore_extra_state(self, data, path) -> None:
        """Read back what :meth:`_extra_state` wrote."""

    @classmethod
    def load_metadata(cls, path) -> dict:
        """The ``metadata`` dict stored by :meth:`save` (checksum verified).

        Parameters
        ----------
        path : str or os.PathLike
            An ``.npz`` file from :meth:`save`.

        Returns
        -------
        metadata : dict
        """
        return json.loads(str(read_fingerprint_file(path)["metadata"]))

    # ------------------------------------------------------------------- helpers
    def _temperature(self):
        if self.temperature != "auto":
            return self.temperature
        return 10.0 if self.similarity == "pce" else 0.01

    def _resolved_unknown_label(self, classes):
        if self.unknown_label is not None:
            return self.unknown_label
        return -1 if np.issubdtype(np.asarray(classes).dtype, np.number) else "unknown"

    def _check_unknown_label(self, classes):
        unknown = self._resolved_unknown_label(classes)
        if unknown in set(_py(classes)):
            raise ValueError(
                f"unknown_label={unknown!r} is also a class label, so rejected residuals "
                "could not be told from that class; set unknown_label to another value."
            )
        return unknown

    @staticmethod
    def _unique_labels(y):
        try:
            return np.unique(y)
        except TypeError as exc:
            raise TypeError(
                f"class labels must be mutually comparable (all str or all numbers): {exc}"
            ) from exc

    def _check_X_y(self, X, y, reset):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        items = _residual_list(X)
        if items is not None:
            y = column_or_1d(y, warn=True)
            check_array(y, ensure_2d=False, dtype=None)
            check_consistent_length(items, y)
            self._check_items(items, reset)
            self._unique_labels(y)
            check_classification_targets(y)
            return items, y
        if _ndim(X) == 2:
            X, y = validate_data(self, X, y, reset=reset, dtype=[np.float32, np.float64])
        else:
            X = check_array(X, allow_nd=True, dtype=[np.float32, np.float64])
            y = column_or_1d(y, warn=True)
            check_array(y, ensure_2d=False, dtype=None)
            check_consistent_length(X, y)
        self._check_shape(X, reset)
        _check_range(X)
        self._unique_labels(y)  # a clear error for incomparable labels
        check_classification_targets(y)
        return X, y

    def _check_X(self, X):
        items = _residual_list(X)
        if items is not None:
            self._check_items(items, reset=False)
            return items
        if _ndim(X) == 2:
            X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        else:
            X = check_array(X, allow_nd=True, dtype=[np.float32, np.float64])
        self._check_shape(X, reset=False)
        _check_range(X)
        return X

    def _check_shape(self, X, reset):
        if X.ndim > 4:
            raise ValueError(f"residuals must be 2-D to 4-D arrays, got shape {X.shape}.")
        if not reset and (
            X.ndim != 1 + len(self.image_shape_) or X.shape[3:] != self.image_shape_[2:]
        ):
            raise ValueError(
                f"X has residuals of shape {tuple(X.shape[1:])}, which cannot be matched to "
                f"fingerprints of shape {self.image_shape_} (other dimensions or channels)."
            )

    def _check_items(self, items, reset):
        """Residual planes of mixed sizes: one number of dimensions and of channels."""
        if not reset and len(self.image_shape_) < 2:
            raise ValueError(
                f"these fingerprints were fitted on rows of {self.image_shape_[0]} values; "
                "residuals of mixed sizes need fingerprints fitted on planes (n, H, W[, C])."
            )
        first = items[0]
        trailing = first.shape[2:] if reset else self.image_shape_[2:]
        ndim = first.ndim if reset else len(self.image_shape_)
        for i, x in enumerate(items):
            if x.ndim != ndim or x.shape[2:] != trailing:
                raise ValueError(
                    f"X[{i}] has shape {x.shape}; residuals of mixed sizes must all be "
                    f"planes of {ndim} dimensions with channels {trailing or '(grey)'}."
                )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # Correlation after removing each row's mean is meant for residuals with many
        # values; on scikit-learn's 2-feature blobs it cannot reach 0.83 accuracy.
        tags.classifier_tags.poor_score = True
        return tags


@validate_params(
    {
        "null_scores": ["array-like"],
        "false_alarm_rate": [Interval(Real, 0, 1, closed="neither")],
        "n_fingerprints": [Interval(Integral, 1, None, closed="left")],
        "similarity": [StrOptions({"ncc", "pce"})],
    }
)
def null_quantile_threshold(null_scores, false_alarm_rate, n_fingerprints, *,
                            similarity="ncc") -> float:
    """Threshold that the best of ``n_fingerprints`` null similarities reaches at the given rate.

    Parameters
    ----------
    null_scores : array-like of shape (m,)
        Similarities of residuals with fingerprints of other sources (at least two,
        finite; sorted here).
    false_alarm_rate : float
        Targeted rate ``a`` at which a residual of an unknown source reaches the
        threshold for some fingerprint.
    n_fingerprints : int
        Number of fingerprints ``k`` a residual is compared with.
    similarity : {"ncc", "pce"}, default="ncc"
        What the scores are; it decides the tail beyond the sample.

    Returns
    -------
    threshold : float
        The ``ceil((m + 1)(1 - b))``-th smallest score, ``b = 1 - (1 - a)**(1 / k)``
        (Šidák over the fingerprints). Beyond the sample (``m < 1 / b - 1``):

        * NCC: the normal prediction bound
          ``mean + std * t_{m-1}(1 - b) * sqrt(1 + 1 / m)``, which allows for the mean
          and spread being estimated from ``m`` scores;
        * PCE: ``z(1 - b) ** 2``. The signed PCE of unrelated planes is
          ``sign(Z) Z**2`` with ``Z`` standard normal (it is normalised by the
          correlation energy), which a normal fit of its mean and spread
          misrepresents. In simulation (3 fingerprints of 48x48, 60 or 180 pooled
          scores, 8 fits each, 2,000 residuals of unseen sources) the normal fit
          gave 4.8 to 5.9 times the targeted rate of 0.01 and 24 to 29 times 0.001
          with PCE, 1.3 to 3.4 times with NCC; these tails give 0.9 times (PCE) and
          1.1 to 1.4 times (NCC, whose pooled scores are not independent: see
          the classifier's Notes).

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.fingerprints import null_quantile_threshold
    >>> scores = np.sort(np.random.default_rng(0).normal(0, 0.01, 100_000))
    >>> round(null_quantile_threshold(scores, 0.05, 1), 3)  # normal: 1.645 sd
    0.016
    """
    scores = check_array(null_scores, ensure_2d=False, dtype=np.float64,
                         input_name="null_scores")
    if scores.ndim != 1 or scores.size < 2:
        raise ValueError(
            f"null_scores must be a 1-D array of at least two scores, got shape "
            f"{scores.shape}."
        )
    return _null_quantile(np.sort(scores), false_alarm_rate, n_fingerprints, similarity)


def _null_quantile(null_scores, false_alarm_rate, n_fingerprints, similarity="ncc"):
    """:func:`null_quantile_threshold` of sorted, finite scores, nothing checked."""
    return _quantile_at(null_scores, _per_fingerprint_rate(false_alarm_rate, n_fingerprints),
                        similarity)


def _per_fingerprint_rate(false_alarm_rate, n_fingerprints):
    """Šidák: ``b = 1 - (1 - a) ** (1 / k)``, accurate for small rates."""
    return -np.expm1(np.log1p(-false_alarm_rate) / n_fingerprints)


def _quantile_at(null_scores, per_pair, similarity):
    """The score a null score exceeds with probability ``per_pair`` (sorted scores)."""
    from scipy.stats import norm, t

    m = len(null_scores)
    rank = int(np.ceil((m + 1) * (1.0 - per_pair)))
    if rank <= m:
        return float(null_scores[rank - 1])
    if similarity == "pce":
        return float(norm.isf(per_pair)) ** 2
    mean, std = float(np.mean(null_scores)), float(np.std(null_scores, ddof=1))
    return mean + std * float(t.isf(per_pair, m - 1)) * float(np.sqrt(1.0 + 1.0 / m))


def _py(values):
    """Labels as Python scalars, so that numpy and Python labels compare and hash alike."""
    return [v.item() if hasattr(v, "item") else v for v in values]


def _check_range(X):
    """Residuals are float32 data: values beyond its range can only be a mistake."""
    if X.dtype == np.float64 and X.size and np.abs(X).max() > np.finfo(np.float32).max:
        raise ValueError(
            f"residuals reach {np.abs(X).max():.3g}, beyond the float32 range that "
            "residuals (a few grey levels) live in; they would overflow the fingerprints."
        )


def _residual_list(X):
    """Residual planes of mixed sizes as a list of checked float arrays; None otherwise."""
    if not isinstance(X, (list, tuple)) or not X or not all(hasattr(x, "shape") for x in X):
        return None
    if len({tuple(np.shape(x)) for x in X}) == 1:
        return None  # one size: a stack, checked as usual
    items = []
    for i, x in enumerate(X):
        x = check_array(x, allow_nd=True, ensure_2d=False, dtype=[np.float32, np.float64],
                        input_name=f"X[{i}]")
        if x.ndim not in (2, 3):
            raise ValueError(
                f"X[{i}] has shape {x.shape}; residuals of mixed sizes must be planes "
                "(h, w) or (h, w, C)."
            )
        _check_range(x)
        items.append(x)
    return items


def _canvas(X):
    """Fingerprint shape for residuals ``X``: the largest height and width of a list."""
    if isinstance(X, list):
        return (max(x.shape[0] for x in X), max(x.shape[1] for x in X)) + X[0].shape[2:]
    return X.shape[1:]


def _ndim(X):
    if hasattr(X, "ndim"):
        return X.ndim
    if isinstance(X, (list, tuple)) and X and all(hasattr(x, "shape") for x in X):
        return 1 + np.ndim(X[0])
    try:
        return np.asarray(X, dtype=object).ndim
    except ValueError as exc:
        raise ValueError(
            "X could not be read as an array of residuals (residuals of different shapes?)."
        ) from exc


def _read_partial_sizes(data, path, clf):
    """The ``(fingerprint, h, w) -> count`` of residuals smaller than the canvas."""
    rows = data.get("partial_sizes", np.zeros((0, 4), np.int64))
    partial = {}
    ok = rows.ndim == 2 and rows.shape[1] == 4 and rows.dtype.kind in "iu" and (
        len(rows) == 0 or len(clf.image_shape_) >= 2
    )
    height, width = clf.image_shape_[:2] if ok and len(rows) else (0, 0)
    for j, h, w, n in rows.tolist() if ok else []:
        if not (0 <= j < len(clf._n_per_fingerprint) and 1 <= h <= height
                and 1 <= w <= width and (h, w) != (height, width) and n > 0
                and (j, h, w) not in partial):
            ok = False
            break
        partial[j, h, w] = n
    if ok and partial:
        full = clf._n_per_fingerprint.copy()
        for (j, _, _), n in partial.items():
            full[j] -= n
        ok = bool((full >= 0).all())
    if not ok:
        raise ValueError(
            f"{os.fspath(path)!r} is inconsistent: the sizes of its smaller residuals do "
            "not fit its fingerprints."
        )
    return partial


def _jsonable(value):
    """A parameter as JSON can hold it: numpy scalars and array-likes as Python ones.

    Tuples and arrays come back from :meth:`PRNUFingerprintClassifier.load` as lists.
    """
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    return value
