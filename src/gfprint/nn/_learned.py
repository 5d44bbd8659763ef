"""Fingerprints learned discriminatively from labelled residuals (issue 16)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    column_or_1d,
    validate_data,
)

from .._param_validation import Interval, fit_context
from .._utils import progress
from .._validation import check_fitted
from ..fingerprints._classifier import _check_range, _ndim
from ..metrics import ncc, normalize

__all__ = ["LearnedFingerprintClassifier"]


class LearnedFingerprintClassifier(ClassifierMixin, BaseEstimator):
    """Attribution by fingerprints learned from labelled residuals: PRNU, refined.

    :class:`~gfprint.PRNUFingerprintClassifier` estimates each source's fingerprint
    as the mean of its residuals and attributes a residual to the fingerprint it
    correlates with most (NCC). This classifier starts from those means and refines
    them, and a logit scale ``s``, to minimise the cross-entropy of
    ``softmax(s * NCC(residual, fingerprints))`` on the training residuals (Adam,
    mini-batches). The decision rule stays PRNU's, the NCC with one fingerprint per
    class; the fingerprints learn to weigh what tells the sources apart over what
    they share. It has a few parameters per pixel and class, none elsewhere: it
    trains in seconds on a CPU and needs no more images than PRNU.

    Feed it the output of :class:`~gfprint.ResidualExtractor` (in a ``Pipeline``).

    Parameters
    ----------
    max_epochs : int, default=30
        Passes over the training residuals; 0 keeps the class means (PRNU).
    lr : float, default=0.03
        Adam's learning rate, for the fingerprints (which start at unit RMS; only
        their direction enters the NCC) and the logit scale.
    batch_size : int, default=32
        Residuals per optimizer step.
    scale : float, default=30.0
        Initial logit scale ``s`` (learned). With NCCs of a few hundredths between a
        residual and its source's fingerprint, 30 makes the initial softmax neither
        flat nor saturated.
    random_state : int, RandomState instance or None, default=None
        Seeds the order of the mini-batches; on the CPU one seed gives one result.
    verbose : int, default=0
        A progress bar over epochs on standard error when positive.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    fingerprints_ : ndarray of float32, shape (n_classes, ...)
        One learned fingerprint per class, in the residuals' shape.
    initial_fingerprints_ : ndarray of float32, shape (n_classes, ...)
        The class means (PRNU's fingerprints, in the residuals' units) that the
        training started from.
    scale_ : float
        The learned logit scale; :meth:`predict_proba` is ``softmax(scale_ * NCC)``.
    loss_curve_ : list of float
        Mean training cross-entropy of each epoch.
    n_iter_ : int
        Epochs run.
    image_shape_ : tuple of int
        Shape of one residual.
    n_features_in_ : int
        Values per residual.

    See Also
    --------
    PRNUFingerprintClassifier : The class means alone, streaming, open set, PCE.
    CNNAttributor : Yu et al.'s attribution network.

    Notes
    -----
    Why refining helps: a residual is the fingerprint plus whatever else the
    denoiser lets through, and much of that (image content, textures the sources
    share) varies from image to image far more than the fingerprint does. A class
    mean of a few dozen residuals keeps part of it, and the NCC of a new residual
    with that mean is then swayed by what the two images show. The decision compares
    a residual's NCCs with the fingerprints, so what the fingerprints share cancels
    and what they differ by decides; training makes them agree along directions that
    do not tell the sources apart, the discriminative counterpart of whitening (in
    the Examples, the share of the fingerprints' differences that lies in the shared
    patterns falls from 0.10-0.17 to below 0.001, ``tests/test_learned.py``). With
    independent white noise, the class means are already the right fingerprints
    and the refinement changes little.

    The training residuals are part of the class means it starts from, so on them
    the starting point already looks better than it is. The defaults (30 epochs,
    ``lr=0.03``) were chosen with 64 training images per source on the built-in zoo
    and two synthetic upsampler sets, and confirmed on fresh draws of each
    (``benchmarks/results/cnn_small_data.md``); more epochs changed little there.

    All training residuals are held in memory as float32 rows (4 bytes per value).
    Residuals must share one shape: no search over shifts or scales. The learned
    fingerprints start zero-mean at unit RMS, and training moves them a little off
    both (RMS 1.02 to 1.06, means below 0.02, after the default training on 64
    zoo images per source); the NCC
    ignores a fingerprint's mean and scale, so only its direction matters.

    Examples
    --------
    Three sources; every residual also carries a mix of three patterns that all
    sources share, with more energy than the fingerprints (content that leaks into
    residuals):

    >>> import numpy as np
    >>> from gfprint import LearnedFingerprintClassifier, PRNUFingerprintClassifier
    >>> rng = np.random.default_rng(0)
    >>> fps = 0.5 * rng.normal(size=(3, 256))
    >>> content = rng.normal(size=(3, 256))
    >>> def draw(n):
    ...     k = np.repeat(np.arange(3), n)
    ...     X = fps[k] + rng.normal(size=(3 * n, 3)) @ content + rng.normal(size=(3 * n, 256))
    ...     return X.reshape(-1, 16, 16).astype(np.float32), k
    >>> X, y = draw(50)
    >>> X_test, y_test = draw(300)
    >>> clf = LearnedFingerprintClassifier(random_state=0).fit(X, y)
    >>> clf.fingerprints_.shape
    (3, 16, 16)
    >>> prnu = PRNUFingerprintClassifier().fit(X, y)
    >>> bool(clf.score(X_test, y_test) > prnu.score(X_test, y_test) + 0.1)
    True
    """

    _parameter_constraints: dict = {
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "scale": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self, *, max_epochs=30, lr=0.03, batch_size=32, scale=30.0, random_state=None,
        verbose=0,
    ):
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.scale = scale
        self.random_state = random_state
        self.verbose = verbose

    @fit_context
    def fit(self, X, y):
        """Learn one fingerprint per class from labelled residuals.

        Parameters
        ----------
        X : array-like of shape (n, H, W), (n, H, W, C) or (n, d)
            Noise residuals of one shape.
        y : array-like of shape (n,)
            Source labels.

        Returns
        -------
        self : LearnedFingerprintClassifier
        """
        X, y = self._check_X_y(X, y)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("LearnedFingerprintClassifier needs at least 2 classes, got 1 class.")
        n, k = len(X), len(self.classes_)
        flat = X.reshape(n, -1)
        means = np.stack(
            [flat[y_enc == c].mean(axis=0, dtype=np.float64) for c in range(k)]
        ).astype(np.float32)
        rows = torch.from_numpy(normalize(flat))
        labels = torch.from_numpy(y_enc.astype(np.int64))
        # The fingerprints enter the NCC only through their direction: start them at
        # unit RMS, so that Adam's steps (absolute) are relative to their size
        # whatever the residuals' scale.
        start = normalize(means) * np.float32(np.sqrt(flat.shape[1]))
        # The only random draw is the order of the mini-batches: a generator of its
        # own, so torch's global random state is left alone.
        seed = check_random_state(self.random_state).randint(2**31 - 1)
        order = torch.Generator().manual_seed(seed)
        fps = torch.nn.Parameter(torch.from_numpy(start))
        scale = torch.nn.Parameter(torch.tensor(float(self.scale)))
        opt = torch.optim.Adam([fps, scale], lr=self.lr)
        self.loss_curve_ = []
        with progress(self.max_epochs, "epochs", unit="epoch", enabled=self.verbose > 0) as bar:
            for _ in range(self.max_epochs):
                total = 0.0
                for batch in torch.randperm(n, generator=order).split(self.batch_size):
                    logits = scale * rows[batch] @ _unit_rows(fps).T
                    loss = torch.nn.functional.cross_entropy(logits, labels[batch])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total += float(loss.detach()) * len(batch)
                self.loss_curve_.append(total / n)
                bar.update()
        self.image_shape_ = tuple(X.shape[1:])
        self.initial_fingerprints_ = means.reshape((k, *self.image_shape_))
        self.fingerprints_ = fps.detach().numpy().astype(np.float32).reshape(
            (k, *self.image_shape_)
        )
        self.scale_ = float(scale.detach())
        self.n_iter_ = self.max_epochs
        return self

    def decision_function(self, X):
        """NCC of each residual with each class's fingerprint.

        Parameters
        ----------
        X : array-like of shape ``(n, *image_shape_)``
            Noise residuals.

        Returns
        -------
        scores : ndarray of shape (n, n_classes), or (n,) for two classes
            With two classes, as scikit-learn expects, the NCC with ``classes_[1]``'s
            fingerprint minus that with ``classes_[0]``'s.
        """
        scores = self._ncc(X)  # checks that the estimator is fitted first
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict(self, X):
        """The class whose fingerprint correlates most with each residual.

        Parameters
        ----------
        X : array-like of shape ``(n, *image_shape_)``
            Noise residuals.

        Returns
        -------
        y_pred : ndarray of shape (n,)
        """
        scores = self._ncc(X)  # checks that the estimator is fitted first
        return self.classes_[np.argmax(scores, axis=1)]

    def predict_proba(self, X):
        """``softmax(scale_ * NCC)``, the probabilities the training fitted.

        Parameters
        ----------
        X : array-like of shape ``(n, *image_shape_)``
            Noise residuals.

        Returns
        -------
        proba : ndarray of float64, shape (n, n_classes)
        """
        z = self._ncc(X)  # checks that the estimator is fitted first
        z *= self.scale_
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def _ncc(self, X):
        check_fitted(self)
        X = self._check_X(X)
        return ncc(X, self.fingerprints_).astype(np.float64, copy=False)

    def _check_X_y(self, X, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        _refuse_mixed_sizes(X)
        if _ndim(X) == 2:
            X, y = validate_data(self, X, y, dtype=[np.float32, np.float64])
        else:
            X = check_array(X, allow_nd=True, dtype=[np.float32, np.float64])
            y = column_or_1d(y, warn=True)
            check_array(y, ensure_2d=False, dtype=None, input_name="y")
            check_consistent_length(X, y)
            self.n_features_in_ = int(np.prod(X.shape[1:]))
        if X.ndim > 4:
            raise ValueError(f"residuals must be 2-D to 4-D arrays, got shape {X.shape}.")
        _check_range(X)  # float64 beyond float32's range would become infinities
        return np.asarray(X, dtype=np.float32), y

    def _check_X(self, X):
        _refuse_mixed_sizes(X)
        if _ndim(X) == 2:
            X = validate_data(self, X, reset=False, dtype=[np.float32, np.float64])
        else:
            X = check_array(X, allow_nd=True, dtype=[np.float32, np.float64])
        if tuple(X.shape[1:]) != self.image_shape_:
            raise ValueError(
                f"X has residuals of shape {tuple(X.shape[1:])}; the fingerprints were "
                f"learned on residuals of shape {self.image_shape_}."
            )
        return X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        # Correlation after removing each row's mean is meant for residuals with many
        # values; on scikit-learn's 2-feature blobs it cannot reach 0.83 accuracy.
        tags.classifier_tags.poor_score = True
        return tags


def _refuse_mixed_sizes(X):
    """A clear error for a list of residuals of several shapes (numpy's is not)."""
    if isinstance(X, (list, tuple)) and X and all(hasattr(x, "shape") for x in X):
        shapes = sorted({tuple(np.shape(x)) for x in X})
        if len(shapes) > 1:
            raise ValueError(
                f"residuals of one shape are needed, got {len(shapes)} shapes "
                f"({', '.join(map(str, shapes[:3]))}{', ...' if len(shapes) > 3 else ''}); "
                "PRNUFingerprintClassifier takes residuals of mixed sizes."
            )


def _unit_rows(x):
    """Zero-mean, unit-norm rows (the NCC's normalisation), differentiable."""
    x = x - x.mean(dim=1, keepdim=True)
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)
