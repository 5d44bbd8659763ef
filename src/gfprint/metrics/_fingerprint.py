"""Fingerprint studies of Marra et al. (2019): correlation matrix and energy curve."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch

from .._param_validation import Interval, validate_params
from ._correlation import ncc

__all__ = ["correlation_matrix", "fingerprint_energy_curve"]


@validate_params(
    {
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }
)
def correlation_matrix(residuals, y, fingerprints, *, labels=None, batch_size=256):
    """Average correlation of each source's residuals with each fingerprint.

    Row ``i``, column ``j`` is the mean NCC of the residuals of source ``labels[i]``
    with ``fingerprints[j]`` (Marra et al. 2019, Fig. 6). A dominant diagonal means
    every source leaves its own pattern; large off-diagonal entries show sources that
    share one.

    Parameters
    ----------
    residuals : array-like of shape (n, ...)
        Noise residuals, e.g. from :class:`~gfprint.ResidualExtractor`.
    y : array-like of shape (n,)
        Source of each residual.
    fingerprints : array-like of shape (k, ...)
        Fingerprints with the residuals' trailing shape, e.g.
        :attr:`~gfprint.PRNUFingerprintClassifier.fingerprints_`.
    labels : array-like, default=None
        Sources to report, in row order; ``None`` means the sorted unique values of
        ``y``. Each must occur in ``y``.
    batch_size : int, default=256
        Residuals correlated at a time (see :func:`ncc`).

    Returns
    -------
    matrix : ndarray of float64, shape (n_labels, k)

    See Also
    --------
    ncc : The correlation averaged here.

    References
    ----------
    .. [1] F. Marra, D. Gragnaniello, L. Verdoliva, G. Poggi, "Do GANs leave artificial
       fingerprints?", IEEE MIPR 2019. :doi:`10.1109/MIPR.2019.00103`

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.metrics import correlation_matrix
    >>> rng = np.random.default_rng(0)
    >>> fps = rng.normal(size=(2, 32, 32))
    >>> residuals = np.concatenate([fps[0] + rng.normal(size=(5, 32, 32)),
    ...                             fps[1] + rng.normal(size=(5, 32, 32))])
    >>> y = np.repeat(["a", "b"], 5)
    >>> m = correlation_matrix(residuals, y, fps)
    >>> m.shape, bool(m[0, 0] > 0.5 > abs(m[0, 1]))
    ((2, 2), True)
    """
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(residuals):
        raise ValueError(
            f"y must hold one label per residual: got shape {y.shape} for {len(residuals)} "
            "residuals."
        )
    if isinstance(labels, str):  # one label, not its letters (as the data loaders)
        labels = [labels]
    labels = np.unique(y) if labels is None else np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D list of labels, got shape {labels.shape}.")
    if labels.size == 0:
        raise ValueError("labels is empty: give at least one, or None for every label of y.")
    missing = [lab for lab in labels.tolist() if not np.any(y == lab)]
    if missing:
        raise ValueError(f"labels {missing} have no residuals in y.")
    scores = ncc(residuals, fingerprints, batch_size=batch_size)
    return np.stack([scores[y == lab].mean(axis=0) for lab in labels])


def fingerprint_energy_curve(residuals, n_values=None):
    """Energy of the mean of the first N residuals, and its fit ``E_inf + E_0 / N``.

    The energy of an estimate ``f`` is its mean square, ``mean(f**2)``. If every
    residual is a stable pattern ``s`` plus a disturbance that is uncorrelated from
    image to image with mean energy ``E_0``, the mean of ``N`` residuals has expected
    energy ``E_inf + E_0 / N``, with ``E_inf = mean(s**2)`` the energy of the
    fingerprint itself. On the doubling grid ``N = 2**m`` of Marra et al. (2019,
    Fig. 3) this is their ``E_inf + E_0 * 2**-m``. A source with a fingerprint
    levels off at ``E_inf > 0``; one without decays towards 0.

    Parameters
    ----------
    residuals : array-like of shape (n, ...)
        Residuals of one source, in the order they are averaged.
    n_values : array-like of int, default=None
        The ``N`` at which to measure, each in ``[1, n]``; ``None`` means the powers
        of two up to ``n``.

    Returns
    -------
    curve : :class:`~sklearn.utils.Bunch`
        ``n_values`` (int), ``energy`` (float64, measured), ``fitted`` (float64, the
        fit at ``n_values``), ``e_inf`` and ``e_0`` (floats). The fit minimises the
        sum of squared *relative* errors ``(fit - energy) / energy``, so that every
        ``N`` counts alike although the energies span decades. It needs two
        different ``N``: with one, ``e_inf``, ``e_0`` and ``fitted`` are NaN.

    References
    ----------
    .. [1] F. Marra, D. Gragnaniello, L. Verdoliva, G. Poggi, "Do GANs leave artificial
       fingerprints?", IEEE MIPR 2019. :doi:`10.1109/MIPR.2019.00103`

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.metrics import fingerprint_energy_curve
    >>> rng = np.random.default_rng(0)
    >>> pattern = rng.normal(size=(64, 64))            # energy about 1
    >>> residuals = pattern + 3 * rng.normal(size=(256, 64, 64))  # noise energy 9
    >>> curve = fingerprint_energy_curve(residuals)
    >>> curve.n_values.tolist()
    [1, 2, 4, 8, 16, 32, 64, 128, 256]
    >>> round(curve.e_inf, 1), round(curve.e_0, 1)
    (1.0, 9.0)
    """
    x = np.asarray(residuals)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"residuals must be a non-empty stack (n, ...), got shape {x.shape}.")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise TypeError(f"residuals must be real numbers, got dtype {x.dtype}.")
    n = len(x)
    if n_values is None:
        n_values = 2 ** np.arange(int(np.log2(n)) + 1)
    n_values = np.asarray(n_values)
    if (
        n_values.ndim != 1
        or not np.issubdtype(n_values.dtype, np.integer)
        or n_values.min() < 1
        or n_values.max() > n
    ):
        raise ValueError(f"n_values must be integers in [1, {n}], got {n_values.tolist()}.")
    order = np.sort(np.unique(n_values))
    running = np.zeros(x.shape[1:], np.float64)
    energy_at = {}
    done = 0
    for target in order:  # one running sum: each residual is added once
        running += x[done:target].sum(axis=0, dtype=np.float64)
        done = target
        if not np.isfinite(running).all():
            raise ValueError("residuals contain NaN or infinity.")
        energy_at[int(target)] = float(np.mean((running / target) ** 2))
    energy = np.array([energy_at[int(k)] for k in n_values])
    design = np.column_stack([np.ones(len(n_values)), 1.0 / n_values])
    # Relative residuals: energies span decades, and an absolute fit would follow
    # the large, noisy values at small N and miss the floor that matters.
    scale = 1.0 / np.maximum(energy, np.finfo(np.float64).tiny)
    if len(order) < 2:  # two unknowns: one N measures the energy but fits nothing
        e_inf = e_0 = np.nan
    else:
        (e_inf, e_0), *_ = np.linalg.lstsq(design * scale[:, None], energy * scale, rcond=None)
    return Bunch(
        n_values=n_values.astype(np.int64),
        energy=energy,
        fitted=design @ np.array([e_inf, e_0]),
        e_inf=float(e_inf),
        e_0=float(e_0),
    )
