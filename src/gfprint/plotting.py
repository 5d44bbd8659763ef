"""Figures of the papers: fingerprints and spectra, correlation histograms, ROC, confusion.

matplotlib is imported when a function is called (``pip install gfprint[plot]``).
Every function draws into a new figure and returns it.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "plot_confusion_matrix",
    "plot_correlation_histograms",
    "plot_fingerprints",
    "plot_localization",
    "plot_roc",
    "plot_visnet",
]


def _pyplot():
    try:
        # The backend is the user's (matplotlib picks a non-interactive one by itself
        # where there is no display); gfprint never switches it.
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "gfprint.plotting needs matplotlib: pip install 'gfprint[plot]'"
        ) from exc
    return plt


def plot_fingerprints(fingerprints, names, *, amplify=3.0):
    """Fingerprints (contrast-stretched) above the log-magnitude of their 2-D spectra.

    Parameters
    ----------
    fingerprints : array-like of shape (k, H, W) or (k, H, W, 3)
        Fingerprints, e.g. ``PRNUFingerprintClassifier.fingerprints_``. Colour
        fingerprints are shown in colour (each channel stretched alike) above the
        mean of their channels' spectra.
    names : sequence of str
        One title per fingerprint.
    amplify : float, default=3.0
        Displayed range is +-``amplify`` standard deviations.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from gfprint.plotting import plot_fingerprints
    >>> fps = np.random.default_rng(0).normal(size=(2, 16, 16))
    >>> fig = plot_fingerprints(fps, ["camera A", "camera B"])
    >>> len(fig.axes)  # one fingerprint and one spectrum per column
    4
    >>> plt.close(fig)
    >>> fig = plot_fingerprints(np.random.default_rng(0).normal(size=(1, 16, 16, 3)), ["GAN"])
    >>> plt.close(fig)
    """
    fps = np.asarray(fingerprints, dtype=np.float64)
    names = list(names)
    one_colour = fps.ndim == 3 and fps.shape[2] == 3 and min(fps.shape[:2]) > 3
    if not (fps.ndim == 3 or (fps.ndim == 4 and fps.shape[3] == 3)) or one_colour or not len(fps):
        raise ValueError(
            f"fingerprints of shape {fps.shape}: expected a non-empty stack (k, H, W) or "
            "(k, H, W, 3); for one fingerprint pass fingerprint[None]."
        )
    if len(names) != len(fps):
        raise ValueError(f"{len(names)} names for {len(fps)} fingerprints.")
    plt = _pyplot()
    k = len(fps)
    fig, axes = plt.subplots(2, k, figsize=(2.2 * k, 4.6), squeeze=False)
    for i, (fp, name) in enumerate(zip(fps, names)):
        s = fp.std() or 1.0
        if fp.ndim == 3:  # colour: -amplify*s..amplify*s onto 0..1 in every channel
            axes[0, i].imshow(np.clip(0.5 + fp / (2 * amplify * s), 0.0, 1.0))
        else:
            axes[0, i].imshow(fp, cmap="gray", vmin=-amplify * s, vmax=amplify * s)
        axes[0, i].set_title(str(name), fontsize=8)
        centred = fp - fp.mean(axis=(0, 1))
        spectra = np.abs(np.fft.fftshift(np.fft.fft2(centred, axes=(0, 1)), axes=(0, 1)))
        spectrum = np.log1p(spectra.mean(axis=2) if fp.ndim == 3 else spectra)
        axes[1, i].imshow(spectrum, cmap="viridis")
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("fingerprint")
    axes[1, 0].set_ylabel("|DFT| (log)")
    fig.tight_layout()
    return fig


def _stretched(image, amplify):
    """A colour or grey fingerprint mapped onto [0, 1], +-``amplify`` std at the ends."""
    s = image.std() or 1.0
    return np.clip(0.5 + (image - image.mean()) / (2 * amplify * s), 0.0, 1.0)


def plot_visnet(model_fingerprints, image_fingerprints, response, names, *, amplify=3.0):
    """Model fingerprints, image fingerprints and their response matrix (Yu et al. Fig. 7).

    Parameters
    ----------
    model_fingerprints : array-like of shape (k, H, W, 3)
        One per source, e.g. ``VisNetAttributor.model_fingerprints_``.
    image_fingerprints : array-like of shape (k, H, W, 3)
        One image fingerprint per source, in the same order (``transform`` of one
        image of each source).
    response : array-like of shape (k, k)
        ``response[i, j]``: mean correlation of source ``i``'s image fingerprints with
        model fingerprint ``j`` (e.g. ``decision_function`` averaged per true source).
    names : sequence of str
        The ``k`` sources.
    amplify : float, default=3.0
        Displayed range of the fingerprints: +-``amplify`` standard deviations.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from gfprint.plotting import plot_visnet
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_visnet(rng.normal(size=(2, 8, 8, 3)), rng.normal(size=(2, 8, 8, 3)),
    ...                   [[0.5, 0.0], [0.1, 0.4]], ["GAN A", "GAN B"])
    >>> len(fig.axes)  # 2 x 2 fingerprints, the response matrix and its colour bar
    6
    >>> plt.close(fig)
    """
    plt = _pyplot()
    models = np.asarray(model_fingerprints, dtype=np.float64)
    images = np.asarray(image_fingerprints, dtype=np.float64)
    response = np.asarray(response, dtype=np.float64)
    k = len(names)
    if models.shape[0] != k or images.shape[0] != k or response.shape != (k, k):
        raise ValueError(
            f"expected {k} model fingerprints, {k} image fingerprints and a {k}x{k} "
            f"response for {k} names; got {models.shape[0]}, {images.shape[0]} and "
            f"{response.shape}."
        )
    fig = plt.figure(figsize=(1.8 * k + 3.6, 4.0))
    grid = fig.add_gridspec(2, k + 2, width_ratios=[1] * k + [0.4, 2.0])
    for i in range(k):
        for row, (stack, label) in enumerate(((models, "model\nfingerprint"),
                                              (images, "image\nfingerprint"))):
            ax = fig.add_subplot(grid[row, i])
            ax.imshow(_stretched(stack[i], amplify))
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(str(names[i]), fontsize=8)
            if i == 0:
                ax.set_ylabel(label, fontsize=8)
    ax = fig.add_subplot(grid[:, k + 1])
    im = ax.imshow(response, cmap="viridis")
    ax.set_xticks(range(k), [str(n) for n in names], rotation=90, fontsize=7)
    ax.set_yticks(range(k), [str(n) for n in names], fontsize=7)
    ax.set_xlabel("model fingerprint", fontsize=8)
    ax.set_ylabel("images of", fontsize=8)
    ax.set_title("response (mean NCC)", fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def plot_correlation_histograms(same, cross, *, threshold=None, bins=50, label="NCC"):
    """Histograms of same-source and cross-source correlations (Marra et al., Fig. 5).

    Parameters
    ----------
    same, cross : array-like of float
        Correlations of residuals with their own source's fingerprint, and with other
        sources' fingerprints.
    threshold : float, default=None
        Drawn as a vertical line when given.
    bins : int, default=50
        Histogram bins.
    label : str, default="NCC"
        Name of the similarity on the x axis.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from gfprint.plotting import plot_correlation_histograms
    >>> rng = np.random.default_rng(0)
    >>> same, cross = rng.normal(0.3, 0.05, 50), rng.normal(0.0, 0.05, 200)
    >>> fig = plot_correlation_histograms(same, cross, threshold=0.15, bins=20)
    >>> len(fig.axes), fig.axes[0].get_xlabel()
    (1, 'NCC')
    >>> plt.close(fig)
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    values = np.concatenate([np.ravel(same), np.ravel(cross)])
    edges = np.histogram_bin_edges(values, bins=bins)
    ax.hist(np.ravel(cross), bins=edges, alpha=0.6, density=True, label="other source")
    ax.hist(np.ravel(same), bins=edges, alpha=0.6, density=True, label="same source")
    if threshold is not None:
        ax.axvline(threshold, color="k", linestyle="--", label=f"threshold {threshold:.4g}")
    ax.set_xlabel(label)
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_roc(y_true, score, *, pos_label=1, name=None):
    """ROC curve with its AUC in the legend.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    score : array-like of shape (n,)
        Higher means more likely ``pos_label``.
    pos_label : label, default=1
        The positive class.
    name : str, default=None
        Legend entry.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from gfprint.plotting import plot_roc
    >>> fig = plot_roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], name="PCE")
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    'PCE (AUC 0.750)'
    >>> plt.close(fig)
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _pyplot()
    fpr, tpr, _ = roc_curve(y_true, score, pos_label=pos_label)
    auc = roc_auc_score(np.asarray(y_true) == pos_label, score)
    fig, ax = plt.subplots(figsize=(3.8, 3.6))
    ax.plot(fpr, tpr, label=f"{name or 'score'} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_confusion_matrix(y_true, y_pred, labels):
    """Row-normalised confusion matrix with counts.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels.
    labels : sequence
        Label order of the rows and columns.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from gfprint.plotting import plot_confusion_matrix
    >>> fig = plot_confusion_matrix(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b"])
    >>> len(fig.axes) >= 1
    True
    >>> plt.close(fig)
    """
    from sklearn.metrics import confusion_matrix

    plt = _pyplot()
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    rates = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(1 + 0.7 * len(labels), 0.8 + 0.6 * len(labels)))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, cm[i, j], ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    return fig


def plot_localization(image, probability, *, absent=False, mask=None, title=None):
    """An image beside its localization map, and the map overlaid on it.

    Parameters
    ----------
    image : array-like of shape (H, W) or (H, W, 3)
        The image (uint8, uint16, or float on [0, 1]).
    probability : array-like of shape (H, W) or LocalizationMap
        Probability that each pixel's window carries the fingerprint
        (:func:`gfprint.localization.localize`).
    absent : bool, default=False
        Show ``1 - probability``: where the fingerprint is missing (the tampering map
        of camera forensics).
    mask : array-like of bool, shape (H, W), default=None
        The true region, outlined when given.
    title : str, default=None
        Figure title.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from gfprint.plotting import plot_localization
    >>> fig = plot_localization(np.zeros((32, 32), np.uint8), np.ones((32, 32)) * 0.2)
    >>> len(fig.axes)  # image, map, overlay and the colour bar
    4
    >>> plt.close(fig)
    """
    plt = _pyplot()
    prob = np.asarray(getattr(probability, "probability", probability), dtype=np.float64)
    img = np.asarray(image)
    if prob.shape != img.shape[:2]:
        raise ValueError(f"map of shape {prob.shape} for an image of shape {img.shape}.")
    if mask is not None and np.shape(mask) != prob.shape:
        raise ValueError(f"mask of shape {np.shape(mask)} for a map of shape {prob.shape}.")
    if img.dtype == np.uint16:  # imshow takes 8-bit or [0, 1] colour
        img = img / np.float32(65535.0)
    shown = 1.0 - prob if absent else prob
    label = "P(fingerprint absent)" if absent else "P(fingerprint present)"
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), layout="constrained")
    cmap = "gray" if img.ndim == 2 else None
    for ax, name in zip(axes, ("image", label, "overlay")):
        ax.set_title(name)
        ax.set_axis_off()
    axes[0].imshow(img, cmap=cmap)
    im = axes[1].imshow(shown, vmin=0, vmax=1, cmap="magma")
    axes[2].imshow(img, cmap=cmap)
    axes[2].imshow(shown, vmin=0, vmax=1, cmap="magma", alpha=0.5)
    if mask is not None:
        for ax in axes[1:]:
            ax.contour(np.asarray(mask, float), levels=[0.5], colors="cyan", linewidths=1)
    fig.colorbar(im, ax=axes[1:], shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig
