"""Test-time augmentation: vote over flipped and rotated copies of each image."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if

from ._param_validation import HasMethods, StrOptions, fit_context
from ._validation import check_fitted, check_images

_CHUNK = 256  # images read from paths at a time

__all__ = ["TRANSFORMS", "TTAClassifier"]

#: Image transforms known to :class:`TTAClassifier` (on axes 1 and 2 of the stack).
TRANSFORMS = {
    "identity": lambda x: x,
    "hflip": lambda x: x[:, :, ::-1],
    "vflip": lambda x: x[:, ::-1],
    "rot90": lambda x: np.rot90(x, 1, axes=(1, 2)),
    "rot180": lambda x: np.rot90(x, 2, axes=(1, 2)),
    "rot270": lambda x: np.rot90(x, 3, axes=(1, 2)),
}


def _estimator_has(attr):
    def check(self):
        return hasattr(self.estimator_ if hasattr(self, "estimator_") else self.estimator, attr)

    return check


def _final_step(estimator):
    """The model that decides: the last step of a pipeline, through ``FrozenEstimator``.

    ``FrozenEstimator`` passes attribute lookups on to what it wraps, but a frozen
    pipeline has no ``flip`` or ``threshold`` of its own: its last step has.
    """
    while True:
        if isinstance(estimator, Pipeline):
            estimator = estimator[-1]
        elif isinstance(estimator, FrozenEstimator):
            estimator = estimator.estimator
        else:
            return estimator


class TTAClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Predict on transformed copies of each image and vote.

    The inner estimator is fitted unchanged; at prediction time every image is
    flipped/rotated by each of ``transforms``, the inner estimator predicts every
    copy, and the votes are combined.

    Parameters
    ----------
    estimator : classifier
        Any classifier that takes image arrays, e.g. ``CNNAttributor(flip=True)``
        (trained with random horizontal flips) or a ``Pipeline`` of
        ``ResidualExtractor`` and ``PRNUFingerprintClassifier``.
    transforms : "auto" or tuple of str, default="auto"
        Keys of :data:`TRANSFORMS`. ``"auto"``: the transforms the fitted model was
        trained to be invariant to, ``("identity", "hflip")`` when the estimator (or
        a pipeline's last step) has ``flip=True``, as a ``CNNAttributor`` or
        ``VisNetAttributor`` trained with random horizontal flips, and
        ``("identity",)`` otherwise, where voting would only lower the accuracy (see
        Notes). Vertical flips and rotations (``"vflip"``, ``"rot90"``, ``"rot180"``,
        ``"rot270"``) are opt-in, for models trained with them. Rotations by 90 and
        270 degrees need square images.
    voting : {"auto", "hard", "soft"}, default="auto"
        ``"hard"``: majority of the predicted labels; a tie goes to the label the
        first transform's copy got (the image itself with the default), and a label
        outside ``classes_``, such as the ``"unknown"`` of an open-set classifier, is
        a candidate too. ``"soft"``: arg-max of the mean ``predict_proba`` (labels of
        ``classes_`` only). ``"auto"``: soft when the inner estimator has
        ``predict_proba`` and does not reject images (a gfprint fingerprint
        classifier with a ``threshold`` and no ``null_class`` gives its
        ``unknown_label``), hard otherwise.

    Attributes
    ----------
    estimator_ : classifier
        The fitted clone of ``estimator``.
    classes_ : ndarray
        The inner estimator's classes.
    transforms_ : tuple of str
        The transforms used (``"auto"`` resolved).
    voting_ : {"hard", "soft"}
        The voting used.

    Notes
    -----
    Voting helps a learned classifier only over transforms it saw in training.
    Fingerprint correlation is invariant to none of them (a fingerprint is a fixed
    pattern, so a flipped residual correlates with nothing), and TTA lowers PRNU
    attribution; ``benchmarks/bench_tta.py`` measures both.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.baselines import make_knn_baseline
    >>> from gfprint.ensemble import TTAClassifier
    >>> X = np.stack([np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8)])
    >>> TTAClassifier(make_knn_baseline()).fit(X, ["dark", "bright"]).predict(X).tolist()
    ['dark', 'bright']
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"])],
        # str: any other string reaches fit's message, which shows the tuple to write
        "transforms": [StrOptions({"auto"}), "array-like", str],
        "voting": [StrOptions({"auto", "hard", "soft"})],
    }

    def __init__(
        self,
        estimator,
        *,
        transforms="auto",
        voting="auto",
    ):
        self.estimator = estimator
        self.transforms = transforms
        self.voting = voting

    @fit_context
    def fit(self, X, y, **fit_params):
        """Fit a clone of the inner estimator on the untransformed images.

        Parameters
        ----------
        X : array-like of shape (n, H, W[, C])
            Training images.
        y : array-like of shape (n,)
            Labels.
        **fit_params : dict
            Passed to the inner ``fit``.

        Returns
        -------
        self : TTAClassifier
        """
        auto = isinstance(self.transforms, str)
        if auto and self.transforms != "auto":
            raise ValueError(
                f"transforms must be 'auto' or a sequence of names, got the string "
                f"{self.transforms!r}; for one transform write ({self.transforms!r},)."
            )
        if not auto:
            unknown = [t for t in self.transforms if t not in TRANSFORMS]
            if unknown or len(self.transforms) == 0:
                raise ValueError(
                    f"unknown transforms {unknown}; choose from {sorted(TRANSFORMS)}.")
        if self.voting == "soft" and not hasattr(self.estimator, "predict_proba"):
            raise ValueError("voting='soft' needs an estimator with predict_proba.")
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self.classes_ = self.estimator_.classes_
        final = _final_step(self.estimator_)
        if auto:
            flips = getattr(final, "flip", False) is True
            self.transforms_ = ("identity", "hflip") if flips else ("identity",)
        else:
            self.transforms_ = tuple(self.transforms)
        self.voting_ = self.voting
        if self.voting == "auto":
            # gfprint's fingerprint classifiers reject below a threshold when there is
            # no null class to give the image to: labels outside classes_.
            open_set = (getattr(final, "threshold", None) is not None
                        and getattr(final, "null_class", 0) is None)
            proba = hasattr(self.estimator_, "predict_proba")
            self.voting_ = "soft" if proba and not open_set else "hard"
        return self

    def _chunks(self, X):
        """The images as arrays, a chunk at a time (paths are read lazily)."""
        images = check_images(X)
        if not images.is_paths:
            yield np.asarray(X)
            return
        for s in range(0, images.n_images, _CHUNK):
            raw = images.chunk(s, s + _CHUNK).load_raw()
            yield raw[..., 0] if images.n_channels == 1 else raw

    def _copies(self, arr):
        for name in self.transforms_:
            if name in ("rot90", "rot270") and arr.shape[1] != arr.shape[2]:
                raise ValueError(
                    f"transform {name!r} needs square images, got {arr.shape[1]}x{arr.shape[2]}."
                )
            yield np.ascontiguousarray(TRANSFORMS[name](arr))

    def predict(self, X):
        """Vote over the transformed copies.

        Parameters
        ----------
        X : array-like of shape (n, H, W[, C])
            Images.

        Returns
        -------
        y_pred : ndarray of shape (n,)
        """
        check_fitted(self)
        if self.voting_ == "soft":
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return np.concatenate([self._vote(chunk) for chunk in self._chunks(X)])

    def _vote(self, X):
        preds = [np.asarray(self.estimator_.predict(copy)) for copy in self._copies(X)]
        # Labels outside classes_ (an open-set "unknown") are candidates too: a copy that
        # rejects an image votes for the rejection, and most rejections reject it.
        known = self.classes_.tolist()
        extra = [p for p in dict.fromkeys(np.concatenate(preds).tolist()) if p not in set(known)]
        labels = known + extra
        index = {c: i for i, c in enumerate(labels)}
        votes = np.zeros((len(preds[0]), len(labels)), np.float64)
        for pred in preds:
            votes[np.arange(len(pred)), [index[p] for p in pred.tolist()]] += 1
        # Half a vote more for the first copy's label: it wins ties, and only ties.
        votes[np.arange(len(preds[0])), [index[p] for p in preds[0].tolist()]] += 0.5
        winner = np.argmax(votes, axis=1)
        # The inner predictions' dtype, also for a chunk without a rejection: an
        # open-set classifier may return object labels ("unknown" beside integers).
        out = np.empty(len(labels), dtype=np.result_type(self.classes_, *preds))
        out[:] = labels
        return out[winner]

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Mean of the inner ``predict_proba`` over the transformed copies.

        Parameters
        ----------
        X : array-like of shape (n, H, W[, C])
            Images.

        Returns
        -------
        proba : ndarray of shape (n, n_classes)
        """
        check_fitted(self)
        return np.concatenate([
            np.mean([self.estimator_.predict_proba(c) for c in self._copies(chunk)], axis=0)
            for chunk in self._chunks(X)
        ])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
