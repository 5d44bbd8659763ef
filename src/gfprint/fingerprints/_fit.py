"""Fingerprints from images as a map-reduce: partial sums where the images are read."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_consistent_length, column_or_1d

from .._param_validation import Interval, validate_parameters, validate_params
from .._validation import check_images, iter_batches
from ._classifier import PRNUFingerprintClassifier, _py

__all__ = ["fit_fingerprints"]


@validate_params(
    {
        "n_jobs": [Integral, None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "verbose": ["verbose"],
    }
)
def fit_fingerprints(
    images, y, *, sources=None, extractor=None, classifier=None, n_jobs=None, batch_size=16,
    verbose=False,
):
    """Fit a fingerprint classifier on images, as a map-reduce over batches.

    Each batch of images (or of paths, read where the batch runs) becomes residuals
    and then per-source sums on the worker; only the sums travel back and are added on
    the caller. Under ``joblib.parallel_config(backend="loky")`` the batches run in
    worker processes, under ``backend="dask"`` on a Dask cluster: memory and traffic
    stay O(sources x H x W) whatever the number of images. The result equals
    ``classifier.fit(extractor.transform(images), y)`` to float rounding.

    Parameters
    ----------
    images : array-like of shape (n, H, W[, C]) or sequence of path
        Images of one size.
    y : array-like of shape (n,)
        Class labels.
    sources : array-like of shape (n,), default=None
        As in :meth:`PRNUFingerprintClassifier.fit`.
    extractor : ResidualExtractor, default=None
        How residuals are computed; ``None`` means ``ResidualExtractor()``.
    classifier : PRNUFingerprintClassifier, default=None
        Its parameters are used (a clone is fitted); ``None`` means the defaults. With
        ``threshold="auto"``, a second map-reduce returns the out-of-source scores.
    n_jobs : int, default=None
        Parallel batches (joblib).
    batch_size : int, default=16
        Images per batch.
    verbose : bool, default=False
        Progress bar.

    Returns
    -------
    classifier : PRNUFingerprintClassifier
        Fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.fingerprints import fit_fingerprints
    >>> images = np.random.default_rng(0).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    >>> clf = fit_fingerprints(images, ["a", "b"] * 3, batch_size=2)
    >>> clf.fingerprints_.shape
    (2, 32, 32, 3)
    """
    from ..residuals import ResidualExtractor

    extractor = ResidualExtractor() if extractor is None else clone(extractor)
    clf = PRNUFingerprintClassifier() if classifier is None else clone(classifier)
    validate_parameters(clf)
    imgs = check_images(images)
    y = column_or_1d(np.asarray(y), warn=True)
    sources = y if sources is None else column_or_1d(np.asarray(sources), warn=True)
    check_consistent_length(np.empty(imgs.n_images), y, sources)
    extractor.set_params(n_jobs=None, verbose=False).fit(images[:1] if not imgs.is_paths
                                                        else imgs.data[:1])
    # Each image's source as an integer code: the batches carry and return codes, so
    # labels of any kind (strings, numbers, a mix of label and source kinds) travel
    # unchanged, and the sums are keyed by the source values themselves at the end.
    source_values = _py(clf._unique_labels(sources))
    codes = np.unique(sources, return_inverse=True)[1].ravel()

    def partial_sums(batch, batch_codes):
        R = extractor.transform(batch)  # as given: uint8 read as it is
        return {k: (R[batch_codes == k].sum(axis=0, dtype=np.float64),
                    int((batch_codes == k).sum()))
                for k in np.unique(batch_codes).tolist()}

    totals: dict = {}
    shape = None
    for _, _, part in iter_batches(partial_sums, imgs, n_jobs=n_jobs, batch_size=batch_size,
                                   verbose=verbose, desc="fingerprints", extra=codes,
                                   raw=True):
        for k, (total, count) in part.items():
            s = source_values[k]
            shape = total.shape
            if s in totals:
                totals[s][0] += total
                totals[s][1] += count
            else:
                totals[s] = [total, count]
    clf._fit_from_sums(shape, y, None if sources is y else sources, totals)
    if clf.threshold == "auto":

        code_of = {v: k for k, v in enumerate(source_values)}
        fingerprint_codes = np.array([code_of[s] for s in _py(clf.fingerprint_sources_)])

        def out_of_source(batch, batch_codes):
            R = extractor.transform(batch)  # as given: uint8 read as it is
            scores = clf.similarity_scores(R)
            own = batch_codes[:, None] == fingerprint_codes[None, :]
            return scores[~own]

        parts = [p for _, _, p in iter_batches(out_of_source, imgs, n_jobs=n_jobs,
                                                batch_size=batch_size, extra=codes, raw=True)]
        clf.null_scores_ = np.sort(np.concatenate(parts).astype(np.float64))
        clf.threshold_  # noqa: B018 - too few scores fails here
    return clf
