"""Where in an image a fingerprint is, and where it is not: sliding-window correlation maps.

Camera forensics localizes tampering by correlating the noise residual of a photo
with its camera's fingerprint in a sliding window: where the correlation falls to
what unrelated noise gives, the region did not come from the camera (Chen, Fridrich,
Goljan & Lukas 2008). The same map against a generator's fingerprint shows where
generated material carries it. :func:`local_ncc` computes the map,
:func:`localize` turns it into the probability that each pixel's window carries the
fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from scipy.ndimage import uniform_filter
from scipy.stats import norm

from ._param_validation import Interval, validate_params

__all__ = ["LocalizationMap", "local_ncc", "localize", "window_null_sd"]


def _planes(residual, reference):
    for x, name in ((residual, "residual"), (reference, "reference")):
        if np.iscomplexobj(x):  # a cast would drop the imaginary part
            raise TypeError(f"the {name} is complex; pass real values.")
    r = np.asarray(residual, dtype=np.float64)
    f = np.asarray(reference, dtype=np.float64)
    if r.ndim == 2:
        r = r[..., None]
    if f.ndim == 2:
        f = f[..., None]
    if r.ndim != 3 or f.shape != r.shape:
        raise ValueError(
            f"residual of shape {np.shape(residual)} and reference of shape "
            f"{np.shape(reference)}: both must be one plane (H, W) or (H, W, C) of one shape."
        )
    if not (np.isfinite(r).all() and np.isfinite(f).all()):
        raise ValueError("residual or reference contains NaN or infinity.")
    return r, f


def _check_window(window, shape):
    """Refuse a window larger than the image: no window would lie inside it."""
    if window > min(shape[:2]):
        raise ValueError(
            f"window of {window} pixels is larger than the image of {shape[0]}x{shape[1]}; "
            f"give a window of at most {min(shape[:2])}."
        )


def _tiled(fingerprint, shape, offset):
    """``fingerprint`` repeated over a plane of ``shape`` (H, W), phased by ``offset``.

    ``offset`` is the plane's top-left pixel in the fingerprint's grid, as in
    :class:`~gfprint.metrics.FingerprintMatch`: the plane's pixel ``(y, x)`` gets the
    fingerprint's pixel ``((y + offset[0]) % h, (x + offset[1]) % w)``. A plane inside
    the fingerprint gets the part it covers; a larger plane, copies side by side.
    """
    h, w = fingerprint.shape[:2]
    rows = (np.arange(shape[0]) + int(offset[0])) % h
    cols = (np.arange(shape[1]) + int(offset[1])) % w
    return fingerprint[rows][:, cols]


@validate_params({"window": [Interval(Integral, 2, None, closed="left")]})
def local_ncc(residual, reference, *, window=64) -> np.ndarray:
    """NCC of a residual and a reference in a square window centred at every pixel.

    Parameters
    ----------
    residual : array-like of shape (H, W) or (H, W, C)
        Noise residual of the image.
    reference : array-like of the same shape
        What the residual should contain where the fingerprint is: a generator's
        fingerprint, or for a camera its fingerprint times the image intensity
        (``I * K``, Chen et al. 2008).
    window : int, default=64
        Side of the window. Larger windows give a steadier correlation (its null
        spread falls as ``1 / window``) but blur the map over ``window / 2`` pixels
        around every boundary.

    Returns
    -------
    ncc : ndarray of float32, shape (H, W)
        Zero-mean (within the window) normalized cross-correlation, colour channels
        pooled; windows reaching past the border are reflected. 0 where either side
        is constant.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.localization import local_ncc
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(64, 64))
    >>> r = rng.normal(size=(64, 64)); r[:, :32] += f[:, :32]
    >>> m = local_ncc(r, f, window=16)
    >>> bool(m[:, :24].mean() > 0.5 > m[:, 40:].mean())
    True
    """
    r, f = _planes(residual, reference)
    _check_window(window, r.shape)
    return _local_ncc(r, f, window)


def _local_ncc(r, f, window):
    """:func:`local_ncc` of checked float64 planes ``(H, W, C)``."""
    channels = r.shape[2]

    def box(x):
        return uniform_filter(x.sum(axis=2) / channels, size=window, mode="reflect")

    mr, mf = box(r), box(f)
    cov = box(r * f) - mr * mf
    vr = np.maximum(box(r * r) - mr * mr, 0.0)
    vf = np.maximum(box(f * f) - mf * mf, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = cov / np.sqrt(vr * vf)
    out[~np.isfinite(out)] = 0.0
    return out.astype(np.float32)


@validate_params({"window": [Interval(Integral, 2, None, closed="left")]})
def window_null_sd(residual, reference, window) -> float:
    """Spread of the windowed NCC where the residual does not carry the reference.

    Bartlett's formula for two independent fields, over the pairs of values one
    window holds: ``var = sum_tau n(tau) rho_r(tau) rho_f(tau) / N**2``, with
    ``N = window**2 * C`` values, ``n(tau) = (window - |tau_y|) (window - |tau_x|)``
    the pairs of pixels at lag ``tau`` inside a window (for each pair of channels)
    and ``rho`` the normalized auto- and cross-channel correlations of the residual
    and of the reference, estimated on the whole plane (circularly). Only lags a
    window spans count: a periodic fingerprint correlates with itself at every
    multiple of its period across the plane, but a window sees only those within
    it. For a window in the interior: near the border, the window reflects the
    image and counts pixels twice, and the correlation spreads more.

    Parameters
    ----------
    residual, reference : array-like of shape (H, W) or (H, W, C)
        As in :func:`local_ncc`.
    window : int
        Window side.

    Returns
    -------
    sd : float

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.localization import window_null_sd
    >>> rng = np.random.default_rng(0)
    >>> round(window_null_sd(rng.normal(size=(256, 256)), rng.normal(size=(256, 256)), 16), 3)
    0.063
    """
    r, f = _planes(residual, reference)
    _check_not_constant(r, f)
    return _window_null_sd(r, f, window)


def _check_not_constant(r, f):
    """A constant plane correlates with nothing: no map could be read from it."""
    for x, name in ((r, "residual"), (f, "reference")):
        if np.ptp(x) == 0:
            raise ValueError(f"the {name} is constant: there is no correlation to map.")


def _window_null_sd(r, f, window):
    """:func:`window_null_sd` of checked float64 planes ``(H, W, C)``, neither constant."""
    h, w, c = r.shape
    # Lags of at most window - 1, and fewer than half the plane (circular lags beyond
    # that are the same lags seen from the other side).
    lags = [np.r_[0 : k + 1, n - k : n] if k else np.array([0])
            for n, k in ((h, min(window - 1, (h - 1) // 2)), (w, min(window - 1, (w - 1) // 2)))]
    pairs = np.outer(*[window - np.minimum(lag, n - lag) for lag, n in zip(lags, (h, w))])
    spectra, energy = [], []
    for x in (r, f):
        x = x - x.mean()
        spectra.append(np.fft.rfft2(x, axes=(0, 1)))
        energy.append(float((x * x).sum()))
    total = 0.0
    for a in range(c):
        for b in range(a, c):  # (b, a) adds what (a, b) does, at the opposite lags
            covs = [np.fft.irfft2(s[..., a] * np.conj(s[..., b]), s=(h, w))[np.ix_(*lags)]
                    for s in spectra]
            total += (1 if a == b else 2) * float((pairs * covs[0] * covs[1]).sum())
    return float(np.sqrt(max(total, 0.0) / (energy[0] * energy[1]) / window**4))


@dataclass
class LocalizationMap:
    """What :func:`localize` returns.

    Attributes
    ----------
    probability : ndarray of float32, shape (H, W)
        Probability that the window centred at each pixel carries the fingerprint,
        under the two-component model: its posterior, not a calibrated probability
        (windows straddling a region's edge make it overconfident; see the
        localization guide's Limits). ``1 - probability`` is the tampering map of
        camera forensics.
    log_odds : ndarray of float32, shape (H, W)
        ``log(probability / (1 - probability))``, which does not round to 0 or 1:
        rank pixels by it (ROC curves).
    ncc : ndarray of float32, shape (H, W)
        The windowed correlation (:func:`local_ncc`).
    null_sd : float
        Spread of ``ncc`` where the fingerprint is absent (Bartlett's formula).
    expected : float
        Mean of ``ncc`` where the fingerprint is present (given or estimated).
    fraction : float
        Share of the image estimated to carry the fingerprint.
    window : int
        The window side used.
    source : label or None
        The source whose fingerprint was the reference, when the map comes from a
        classifier's ``localize`` method.
    offset : tuple of int or None
        With ``source``: the image's top-left pixel in the fingerprint's grid (as
        :class:`~gfprint.metrics.FingerprintMatch`); negative when the image is the
        larger.
    """

    probability: np.ndarray
    log_odds: np.ndarray
    ncc: np.ndarray
    null_sd: float
    expected: float
    fraction: float
    window: int
    source: object = None
    offset: tuple | None = None


@validate_params(
    {
        "window": [Interval(Integral, 2, None, closed="left")],
        "expected": [Interval(Real, 0, 1, closed="right"), None],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
    }
)
def localize(residual, reference, *, window=64, expected=None, n_iter=200) -> LocalizationMap:
    """Probability, pixel by pixel, that the image region carries a fingerprint.

    The windowed correlation :func:`local_ncc` is modelled as a mixture of two
    normal laws: where the fingerprint is absent, mean 0 and the spread
    ``null_sd`` that Bartlett's formula gives for independent fields (known, not
    fitted; :func:`window_null_sd`); where it is present, a mean ``expected``
    (when estimated, at least three null spreads) and a spread of at least
    ``null_sd``. The mixture is fitted by expectation-maximisation on windows a
    quarter-window apart, and each pixel gets the posterior probability of the
    second law, made non-decreasing in the correlation: below the correlation
    where the two laws' ratio is smallest (negative, when the second law is the
    wider), the probability keeps that smallest value, so that a strongly
    negative correlation never counts as evidence of the fingerprint.

    Parameters
    ----------
    residual : array-like of shape (H, W) or (H, W, C)
        Noise residual of the image.
    reference : array-like of the same shape
        A generator's fingerprint (where is generated material?) or, for a camera,
        ``I * K`` (where is the camera's fingerprint missing?).
    window : int, default=64
        Window side; see :func:`local_ncc`. A region must span at least a window to
        reach its full correlation.
    expected : float, default=None
        Mean windowed NCC where the fingerprint is present, when known (for example
        the typical score of the source's images with its fingerprint: the NCC does
        not depend on the window size when the fingerprint's strength is uniform).
        ``None``: estimated from the image, which then needs a fair share of both
        kinds of region.
    n_iter : int, default=200
        Expectation-maximisation iterations.

    Returns
    -------
    result : LocalizationMap
        ``probability``, ``log_odds``, ``ncc``, ``null_sd``, ``expected``,
        ``fraction``, ``window``.

    Notes
    -----
    Chen et al. (2008) predict the correlation expected from each block's content
    (intensity, texture, saturation) to avoid false alarms in dark or textured
    regions where a camera fingerprint is weak; that predictor is not implemented:
    ``expected`` is one number for the whole image. Korus & Huang (2017) fuse maps
    of several window sizes; call :func:`localize` with several windows to compare.

    References
    ----------
    .. [1] M. Chen, J. Fridrich, M. Goljan and J. Lukas, "Determining image origin
       and integrity using sensor noise", IEEE TIFS 3(1), 2008.
       :doi:`10.1109/TIFS.2007.916285`
    .. [2] P. Korus and J. Huang, "Multi-scale analysis strategies in PRNU-based
       tampering localization", IEEE TIFS 12(4), 2017.
       :doi:`10.1109/TIFS.2016.2636089`

    Examples
    --------
    A fingerprint present everywhere but in a 48x48 square:

    >>> import numpy as np
    >>> from gfprint.localization import localize
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(128, 128))
    >>> r = rng.normal(size=(128, 128)) + 0.5 * f
    >>> r[40:88, 40:88] = rng.normal(size=(48, 48))
    >>> result = localize(r, f, window=16)
    >>> p = result.probability
    >>> bool(p[52:76, 52:76].mean() < 0.1 and p[:24].mean() > 0.9)
    True
    """
    r, f = _planes(residual, reference)  # converted and checked once for both maps
    _check_window(window, r.shape)
    _check_not_constant(r, f)
    ncc = _local_ncc(r, f, window)
    sd0 = _window_null_sd(r, f, window)
    step = max(window // 4, 1)
    sample = ncc[step // 2 :: step, step // 2 :: step].ravel().astype(np.float64)
    mu, sd1, pi = _fit_mixture(sample, sd0, expected, n_iter)
    log_odds = _log_odds(ncc.astype(np.float64), mu, sd0, sd1, pi)
    probability = np.exp(-np.logaddexp(0.0, -log_odds))  # the logistic, without overflow
    return LocalizationMap(probability.astype(np.float32), log_odds.astype(np.float32), ncc,
                           sd0, float(mu), float(pi), int(window))


def _log_odds(x, mu, sd0, sd1, pi):
    """Log-odds of ``pi N(mu, sd1)`` against ``(1 - pi) N(0, sd0)``, non-decreasing in x.

    With ``sd1 > sd0`` the ratio of the two densities is smallest at
    ``x* = -mu sd0**2 / (sd1**2 - sd0**2)`` and grows again below it; there the
    log-odds keep their value at ``x*``.
    """
    if sd1 > sd0:
        x = np.maximum(x, -mu * sd0**2 / (sd1**2 - sd0**2))
    return norm.logpdf(x, mu, sd1) + np.log(pi) - norm.logpdf(x, 0.0, sd0) - np.log1p(-pi)


def _fit_mixture(x, sd0, expected, n_iter):
    """EM for ``(1 - pi) N(0, sd0) + pi N(mu, sd1)``, ``sd0`` fixed, ``sd1 >= sd0``.

    ``mu`` is fixed when ``expected`` is given; otherwise it starts at the 90th
    percentile and stays at least three null spreads: a mean closer to the null
    than that cannot be told from the null's own tail at this window, and a
    component allowed there fits the tail of an image that carries no fingerprint
    at all. The responsibilities are those of :func:`_log_odds`, non-decreasing in
    ``x``: a very negative value does not widen the second law until it explains
    it.
    """
    mu = expected if expected is not None else max(np.percentile(x, 90), 3 * sd0)
    sd1, pi = sd0, 0.5
    for _ in range(n_iter):
        w = np.exp(-np.logaddexp(0.0, -_log_odds(x, mu, sd0, sd1, pi)))
        total = w.sum()
        pi = float(np.clip(total / len(x), 1e-4, 1 - 1e-4))
        if total <= 0:
            break
        if expected is None:
            mu = max(float((w * x).sum() / total), 3 * sd0)
        sd1 = max(float(np.sqrt((w * (x - mu) ** 2).sum() / total)), sd0)
    return mu, sd1, pi
