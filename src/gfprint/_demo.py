"""``gfprint demo``: PRNU attribution on the built-in GAN zoo, with baselines and plots."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

REAL = "real"
THRESHOLDS = np.concatenate([[0.0], np.geomspace(1e-3, 0.5, 30)])


def confusion_table(labels, y_true, y_pred) -> str:
    """A plain-text confusion matrix: rows true, columns predicted (numbered like rows)."""
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y_true, y_pred, labels=labels)
    name_w = max(len(str(c)) for c in labels) + 5
    cell_w = max(5, len(str(cm.max())) + 2)
    corner = "true / predicted"
    head = f"{corner:<{name_w}}" + "".join(f"{f'[{j}]':>{cell_w}}" for j in range(len(labels)))
    lines = [head]
    for i, (name, row) in enumerate(zip(labels, cm)):
        lines.append(f"{f'[{i}] {name}':<{name_w}}" + "".join(f"{v:>{cell_w}d}" for v in row))
    return "\n".join(lines)


def _oof_decision(estimator, X, y, cv):
    """Out-of-fold ``decision_function`` with the original labels.

    (``cross_val_predict`` re-encodes labels as integers for this method, which a
    ``null_class`` given by name cannot survive.)
    """
    from sklearn.base import clone

    out = None
    for train, test in cv.split(X, y):
        dec = clone(estimator).fit(X[train], y[train]).decision_function(X[test])
        if out is None:
            out = np.empty((len(y),) + dec.shape[1:], dec.dtype)
        out[test] = dec
    return out


def _progress(total, desc, verbose):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="fit", disable=not verbose)


def _residuals(images, n_jobs, verbose):
    from . import ResidualExtractor

    ext = ResidualExtractor(n_jobs=n_jobs, verbose=verbose)
    return ext.transform(images), ext._config().levels_for(*images.shape[1:3])


def run(
    *, quick=False, n_jobs=None, seed=0, out_dir="gfprint-demo", verbose=True, echo=print
) -> dict:
    """Run the demo and return its headline numbers.

    Parameters
    ----------
    quick : bool, default=False
        60 instead of 400 images per source and 3 instead of 5 folds.
    n_jobs : int, default=None
        Workers for residual extraction.
    seed : int, default=0
        Seed of the zoo sampling and of the folds.
    out_dir : str or path, default="gfprint-demo"
        Where the plots go (when matplotlib is installed).
    verbose : bool, default=True
        Progress bars (on standard error) for residual extraction and training.
    echo : callable, default=print
        Receives every line of the report.

    Returns
    -------
    results : dict
    """
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict

    from . import CNNAttributor, PRNUFingerprintClassifier
    from .baselines import make_eigenface_baseline, make_knn_baseline
    from .datasets import load_gan_zoo

    t0 = time.perf_counter()
    n = 60 if quick else 400
    folds = 3 if quick else 5
    cnn_params = dict(width=0.1, max_epochs=30, batch_size=64, random_state=seed)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    zoo = load_gan_zoo(n_per_source=n, random_state=seed)
    classes = list(zoo.target_names)
    echo(
        f"gfprint demo: built-in GAN zoo, {len(classes) - 1} generators + real photos, "
        f"{n} images of {zoo.images.shape[1]}x{zoo.images.shape[2]} per source, "
        f"{folds}-fold cross-validation."
    )
    R, levels = _residuals(zoo.images, n_jobs, verbose)
    y = zoo.target
    echo(
        f"Residuals: ResidualExtractor() defaults, the GAN setting: db4 wavelet denoiser, "
        f"sigma 3, {levels} levels (the most a {zoo.images.shape[1]}-pixel image allows), "
        "colour kept, no camera post-processing."
    )
    results = {}

    # 1a. real as one more class with its own fingerprint.
    pred = cross_val_predict(PRNUFingerprintClassifier(), R, y, cv=cv)
    results["accuracy_real_as_class"] = float(np.mean(pred == y))
    echo(
        f"\n[1] PRNU attribution, 'real' as a class: accuracy "
        f"{results['accuracy_real_as_class']:.3f} (chance {1 / len(classes):.3f})"
    )
    echo(confusion_table(classes, y, pred))

    # 1b. real as the open set: no GAN fingerprint correlates above a tuned threshold.
    open_set = GridSearchCV(
        PRNUFingerprintClassifier(null_class=REAL),
        {"threshold": THRESHOLDS.tolist()},
        cv=StratifiedKFold(3, shuffle=True, random_state=seed),
    )
    pred_open = cross_val_predict(open_set, R, y, cv=cv)
    results["accuracy_real_open_set"] = float(np.mean(pred_open == y))
    threshold = float(open_set.fit(R, y).best_params_["threshold"])
    results["threshold"] = threshold
    echo(
        f"\n[1] PRNU attribution, 'real' = no GAN fingerprint above a threshold tuned by "
        f"inner 3-fold GridSearchCV (on all data: {threshold:.4f}): accuracy "
        f"{results['accuracy_real_open_set']:.3f}"
    )
    echo(confusion_table(classes, y, pred_open))

    # 2. real vs GAN: the best GAN-fingerprint correlation as the score.
    dec = _oof_decision(PRNUFingerprintClassifier(null_class=REAL), R, y, cv)
    gan_score = dec[:, np.asarray(classes) != REAL].max(axis=1)
    is_gan = y != REAL
    results["auc_real_vs_gan"] = float(roc_auc_score(is_gan, gan_score))
    echo(
        f"\n[2] Real vs GAN, score = highest NCC with a GAN fingerprint (out of fold): "
        f"AUC {results['auc_real_vs_gan']:.3f}"
    )

    # 3. baselines side by side at two difficulty levels, on one held-out split.
    train, test = next(cv.split(R, y))
    methods = {
        "PRNU (NCC)": (PRNUFingerprintClassifier(), True),
        "kNN on pixels": (make_knn_baseline(), False),
        "Eigenface": (make_eigenface_baseline(random_state=seed), False),
        "CNN (Yu et al.)": (CNNAttributor(**cnn_params), False),
    }
    table = {}
    progress = _progress(2 * len(methods), "baselines", verbose)
    for difficulty in ("clean", "crop+jpeg"):
        data = zoo
        if difficulty != "clean":
            data = load_gan_zoo(n_per_source=n, difficulty=difficulty, random_state=seed)
        res = R if difficulty == "clean" else _residuals(data.images, n_jobs, verbose)[0]
        table[difficulty] = {}
        for name, (estimator, on_residuals) in methods.items():
            progress.set_postfix_str(f"{difficulty}: {name}")
            X = res if on_residuals else data.images
            fitted = clone(estimator).fit(X[train], data.target[train])
            table[difficulty][name] = float(fitted.score(X[test], data.target[test]))
            progress.update()
    progress.close()
    results["table"] = table
    echo(
        f"\n[3] Attribution accuracy ({len(classes)} classes incl. real; trained on "
        f"{len(train)} images, tested on the other {len(test)}):"
    )
    echo(f"{'method':<16}" + "".join(f"{d:>12}" for d in table))
    for method in methods:
        echo(f"{method:<16}" + "".join(f"{table[d][method]:>12.3f}" for d in table))
    echo(
        "(crop+jpeg: random 24x24 crop, then JPEG quality 75, for every source. CNN: the "
        f"paper's network with channel widths x {cnn_params['width']}, "
        f"{cnn_params['max_epochs']} epochs, sized for a CPU demo.)"
    )

    # 4. plots.
    written = _plots(R, y, classes, gan_score, is_gan, pred, threshold, Path(out_dir))
    if written:
        echo(f"\n[4] Plots written to {Path(out_dir).resolve()}: " + ", ".join(written))
    else:
        echo("\n[4] Plots skipped: matplotlib is not installed (pip install 'gfprint[plot]').")
    results["seconds"] = time.perf_counter() - t0
    echo(f"\nDone in {results['seconds']:.1f} s.")
    return results


def _plots(R, y, classes, gan_score, is_gan, pred, threshold, out_dir) -> list[str]:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return []
    import matplotlib.pyplot as plt

    from . import PRNUFingerprintClassifier
    from .plotting import (
        plot_confusion_matrix,
        plot_correlation_histograms,
        plot_fingerprints,
        plot_roc,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    half = np.arange(len(y)) % 2 == 0  # fingerprints from one half, scores on the other
    clf = PRNUFingerprintClassifier(null_class=REAL).fit(R[half], y[half])
    scores = clf.similarity_scores(R[~half])
    own = y[~half][:, None] == clf.fingerprint_classes_[None, :]
    figures = {
        "fingerprints.png": plot_fingerprints(clf.fingerprints_, clf.fingerprint_classes_),
        "correlation_histograms.png": plot_correlation_histograms(
            scores[own], scores[~own], threshold=threshold
        ),
        "roc_real_vs_gan.png": plot_roc(is_gan, gan_score, pos_label=True, name="PRNU NCC"),
        "confusion_matrix.png": plot_confusion_matrix(y, pred, classes),
    }
    for name, fig in figures.items():
        path = out_dir / name
        tmp = path.with_suffix(".tmp.png")
        fig.savefig(tmp, dpi=110)
        tmp.replace(path)  # atomic: no half-written figure
        plt.close(fig)
    return list(figures)
