"""The experiments of the papers as functions that return results.

A study fits and scores estimators and returns a result object; it prints nothing.
``gfprint demo`` and the scripts in ``benchmarks/`` only format these results, so a
user can run the same experiment on their own images and read the numbers as data:

- :func:`attribution_table`: methods x conditions accuracy, the layout of Yu et al.
  (2019) Table 1 (and, with CNN variants as methods, Tables 4 and 5);
- :func:`robustness_table`: accuracy under attacks, trained clean ("Atk") and trained
  on attacked images ("Dfs", immunization), the layout of Yu et al. Table 7;
- :func:`run_zoo_demo`: the study behind ``gfprint demo`` on the built-in GAN zoo.

Each table is a :class:`StudyTable`, which formats itself as text or Markdown.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.utils import check_random_state

from ._utils import REAL, atomic_path, confusion_table, progress

__all__ = [
    "StudyTable",
    "ZooDemoResult",
    "attribution_table",
    "robustness_table",
    "run_zoo_demo",
]

#: Candidate thresholds of the demo's open-set search (NCC values).
DEMO_THRESHOLDS = np.concatenate([[0.0], np.geomspace(1e-3, 0.5, 16)])

#: Published accuracies the demo compares itself with, as printed in the papers.
#: Yu et al. (2019), Table 1, CelebA: real + ProGAN, SNGAN, CramerGAN, MMDGAN (5 classes);
#: Table 3: ten ProGANs that differ only in the training seed (10 classes).
PAPER_ACCURACY = {
    "Yu et al. 2019, Table 1 (CelebA, 5 classes, chance 0.20)": {
        "kNN on pixels": "28 %", "Eigenface": "53 %", "PRNU (NCC)": "86.6 %", "CNN": "99.4 %",
    },
    "Yu et al. 2019, Table 3 (10 ProGAN seeds, chance 0.10)": {
        "kNN on pixels": "10.9 %", "CNN": "99.1 %",
    },
}


@dataclass
class StudyTable:
    """Scores of methods (columns) under conditions (rows).

    Attributes
    ----------
    rows, columns : list of str
        Condition and method names, in order.
    values : ndarray of shape (n_rows, n_columns)
        The scores (NaN where a cell was not computed).
    title : str
        What the table shows.
    estimators : dict
        ``{(row, column): fitted estimator}`` when the study was asked to keep them.

    Examples
    --------
    >>> import numpy as np
    >>> t = StudyTable(["clean"], ["PRNU", "CNN"], np.array([[0.9, 0.95]]))
    >>> t["clean", "CNN"]
    0.95
    >>> print(t.to_markdown())
    |  | PRNU | CNN |
    |---|---|---|
    | clean | 0.900 | 0.950 |
    """

    rows: list
    columns: list
    values: np.ndarray
    title: str = ""
    estimators: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.rows = [str(r) for r in self.rows]
        self.columns = [str(c) for c in self.columns]
        self.values = np.asarray(self.values, dtype=float)
        if self.values.shape != (len(self.rows), len(self.columns)):
            raise ValueError(
                f"values has shape {self.values.shape}, expected "
                f"({len(self.rows)}, {len(self.columns)}) for the rows and columns given."
            )

    def __getitem__(self, key) -> float:
        row, column = key  # the labels as given, or as stored (str)
        return float(self.values[self.rows.index(str(row)), self.columns.index(str(column))])

    def to_dict(self) -> dict:
        """``{row: {column: value}}``."""
        return {
            r: {c: float(v) for c, v in zip(self.columns, vals)}
            for r, vals in zip(self.rows, self.values)
        }

    def to_markdown(self, fmt=".3f", corner="") -> str:
        """The table in GitHub Markdown."""
        lines = [
            "| " + " | ".join([corner, *self.columns]) + " |",
            "|" + "---|" * (len(self.columns) + 1),
        ]
        for r, vals in zip(self.rows, self.values):
            lines.append("| " + " | ".join([r, *(format(v, fmt) for v in vals)]) + " |")
        return "\n".join(lines)

    def to_text(self, fmt=".3f", corner="") -> str:
        """The table in aligned plain text."""
        first = max([len(corner), *(len(r) for r in self.rows)]) + 2
        widths = [max(len(c), len(format(0.0, fmt))) + 2 for c in self.columns]
        lines = [f"{corner:<{first}}" + "".join(f"{c:>{w}}" for c, w in zip(self.columns, widths))]
        for r, vals in zip(self.rows, self.values):
            lines.append(
                f"{r:<{first}}" + "".join(f"{format(v, fmt):>{w}}" for v, w in zip(vals, widths))
            )
        return "\n".join(lines)


def _split(data):
    data = data() if callable(data) else data
    if len(data) != 4:
        raise ValueError(
            "a dataset is (X_train, y_train, X_test, y_test) or a callable returning it."
        )
    return data


def attribution_table(methods, datasets, *, keep_estimators=False, verbose=False, title=""):
    """Accuracy of every method on every dataset: Yu et al. (2019) Table 1's layout.

    Each method is cloned, fitted on the dataset's training images and scored
    (``score``, i.e. accuracy for classifiers) on its test images.

    Parameters
    ----------
    methods : dict of str to estimator
        Unfitted estimators (pipelines welcome), one column each.
    datasets : dict of str to tuple or callable
        ``(X_train, y_train, X_test, y_test)``, or a callable returning it (called once,
        when the row is computed, so that only one dataset is in memory at a time).
    keep_estimators : bool, default=False
        Keep the fitted estimators in ``table.estimators[(row, column)]``.
    verbose : bool, default=False
        A progress bar on standard error.
    title : str, default=""
        Stored on the table.

    Returns
    -------
    table : StudyTable

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> X, y = np.zeros((4, 8, 8, 1)), np.array([0, 0, 0, 1])
    >>> t = attribution_table({"majority": DummyClassifier()}, {"toy": (X, y, X, y)})
    >>> t["toy", "majority"]
    0.75
    """
    rows, columns = list(datasets), list(methods)
    values = np.full((len(rows), len(columns)), np.nan)
    kept = {}
    bar = progress(len(rows) * len(columns), "attribution", unit="fit", enabled=verbose)
    try:
        for i, row in enumerate(rows):
            X_train, y_train, X_test, y_test = _split(datasets[row])
            for j, name in enumerate(columns):
                bar.set_postfix_str(f"{row}: {name}")
                fitted = clone(methods[name]).fit(X_train, y_train)
                values[i, j] = fitted.score(X_test, y_test)
                if keep_estimators:  # keyed as the table's labels are
                    kept[str(row), str(name)] = fitted
                bar.update()
    finally:
        bar.close()
    return StudyTable(rows, columns, values, title=title, estimators=kept)


def _seeded(transformer, seed):
    transformer = clone(transformer)
    if "random_state" in transformer.get_params():
        transformer.set_params(random_state=seed)
    return transformer


def robustness_table(
    methods, train, test, attacks, *, defences=None, random_state=0, keep_estimators=False,
    verbose=False, title="",
):
    """Accuracy under attacks, without and with immunization: Yu et al. Table 7's layout.

    Row ``"none"`` holds the clean test accuracy. For each attack, the test images are
    attacked once (parameters drawn per image) and two columns per method are filled:

    - ``"<method> Atk"``: the method fitted on clean training images;
    - ``"<method> Dfs"``: the method immunized against the attack. By default it is
      fitted on training images carrying the attack (drawn afresh, with another seed);
      ``defences[method](estimator, attack)`` can instead return an unfitted estimator
      that defends itself, fitted on the clean training images (e.g. a CNN with
      ``augment=attack``, which draws the attack afresh for every batch).

    Parameters
    ----------
    methods : dict of str to estimator
        Unfitted estimators.
    train, test : tuple
        ``(X, y)`` of training and test images.
    attacks : dict of str to transformer
        Perturbations (e.g. from :mod:`gfprint.perturbations`); each is cloned and, when
        it has a ``random_state``, seeded from ``random_state``.
    defences : dict of str to callable, default=None
        Per method, how to immunize it (see above).
    random_state : int, RandomState instance or None, default=0
        Seed of the attacks on the training images (on the test images:
        ``random_state + 1``); a RandomState or None draws the two seeds.
    keep_estimators : bool, default=False
        Keep the fitted estimators in ``table.estimators[(row, column)]``, for every
        cell: the clean fit for row ``"none"`` and the ``Atk`` columns, the
        immunized one for the ``Dfs`` columns of the attacks.
    verbose : bool, default=False
        A progress bar on standard error.
    title : str, default=""
        Stored on the table.

    Returns
    -------
    table : StudyTable
        Rows ``["none", *attacks]``, columns ``"<method> Atk"`` and ``"<method> Dfs"``
        (on row ``"none"`` both hold the clean accuracy).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> from gfprint.perturbations import GaussianNoise
    >>> X, y = np.zeros((4, 8, 8, 1), np.float32), np.array([0, 0, 0, 1])
    >>> t = robustness_table({"majority": DummyClassifier()}, (X, y), (X, y),
    ...                      {"noise": GaussianNoise()})
    >>> t.columns, t["noise", "majority Dfs"]
    (['majority Atk', 'majority Dfs'], 0.75)
    """
    defences = defences or {}
    unknown = set(defences) - set(methods)
    if unknown:
        raise ValueError(f"defences name methods that are not given: {sorted(unknown)}.")
    if "none" in attacks:
        raise ValueError("an attack may not be named 'none': that row is the clean one.")
    if isinstance(random_state, Integral):
        train_seed, test_seed = int(random_state), int(random_state) + 1
    else:
        train_seed, test_seed = (int(s) for s in
                                 check_random_state(random_state).randint(2**31 - 1, size=2))
    (X_train, y_train), (X_test, y_test) = train, test
    rows = ["none", *attacks]
    columns = [f"{m} {kind}" for m in methods for kind in ("Atk", "Dfs")]
    values = np.full((len(rows), len(columns)), np.nan)
    kept = {}
    bar = progress(len(methods) * (1 + len(attacks)), "robustness", unit="fit", enabled=verbose)
    try:
        clean = {}
        for j, (name, est) in enumerate(methods.items()):
            bar.set_postfix_str(f"clean: {name}")
            clean[name] = clone(est).fit(X_train, y_train)
            values[0, 2 * j : 2 * j + 2] = clean[name].score(X_test, y_test)
            if keep_estimators:
                kept["none", f"{name} Atk"] = kept["none", f"{name} Dfs"] = clean[name]
            bar.update()
        for i, (attack_name, attack) in enumerate(attacks.items(), start=1):
            X_test_attacked = _seeded(attack, test_seed).transform(X_test)
            X_train_attacked = None
            for j, (name, est) in enumerate(methods.items()):
                bar.set_postfix_str(f"{attack_name}: {name}")
                values[i, 2 * j] = clean[name].score(X_test_attacked, y_test)
                if name in defences:
                    defended = defences[name](clone(est), _seeded(attack, train_seed))
                    defended.fit(X_train, y_train)
                else:
                    if X_train_attacked is None:
                        X_train_attacked = _seeded(attack, train_seed).transform(X_train)
                    defended = clone(est).fit(X_train_attacked, y_train)
                values[i, 2 * j + 1] = defended.score(X_test_attacked, y_test)
                if keep_estimators:  # keyed as the table's labels are
                    kept[str(attack_name), f"{name} Atk"] = clean[name]
                    kept[str(attack_name), f"{name} Dfs"] = defended
                bar.update()
    finally:
        bar.close()
    return StudyTable(rows, columns, values, title=title, estimators=kept)


def _threshold_search(estimator, X, y, thresholds, cv):
    """The ``threshold`` of best cross-validated accuracy, one fit per fold.

    What ``GridSearchCV(estimator, {"threshold": thresholds}, cv=cv)`` chooses (the
    first of the best mean scores), for a fingerprint classifier whose fit does not
    depend on the threshold: each fold is fitted once and every candidate decides on
    its similarity scores, instead of one fit per candidate and fold.
    """
    scores = np.empty((cv.get_n_splits(X, y), len(thresholds)))
    for i, (train, test) in enumerate(cv.split(X, y)):
        fitted = clone(estimator).fit(X[train], y[train])
        sims = fitted.similarity_scores(X[test])
        for k, t in enumerate(thresholds):
            fitted.set_params(threshold=float(t))
            scores[i, k] = np.mean(fitted._predict_from_scores(sims) == y[test])
    return float(thresholds[int(np.argmax(scores.mean(axis=0)))])


def _oof_decision(estimator, X, y, cv):
    """Out-of-fold ``decision_function`` with the original labels.

    (``cross_val_predict`` re-encodes labels as integers for this method, which a
    ``null_class`` given by name cannot survive.)
    """
    out = None
    for train, test in cv.split(X, y):
        dec = clone(estimator).fit(X[train], y[train]).decision_function(X[test])
        if out is None:
            out = np.empty((len(y),) + dec.shape[1:], dec.dtype)
        out[test] = dec
    return out


@dataclass
class ZooDemoResult:
    """What :func:`run_zoo_demo` measured; :meth:`report` formats it.

    Attributes
    ----------
    classes : list of str
        The zoo's sources, ``"real"`` included.
    y : ndarray of str
        The true source of every image.
    n_per_source, folds, image_size, levels : int
        Images per source, cross-validation folds, image side, wavelet levels used.
    pred_real_as_class, accuracy_real_as_class
        Out-of-fold PRNU predictions with ``"real"`` as a class with a fingerprint.
    pred_open_set, accuracy_open_set, threshold
        The same with ``"real"`` as the open set (no fingerprint), the threshold tuned
        by an inner grid search (``threshold``: the one chosen on all images).
    gan_scores, auc_real_vs_gan
        Out-of-fold best generator NCC per image and the real-vs-GAN AUC it gives.
    table : StudyTable
        Accuracy of PRNU, kNN, Eigenface and the CNN on all sources (Yu et al. Table 1's
        layout).
    seeds, seeds_table
        The generators that differ only in their training seed, and the accuracy of the
        same four methods among them alone (Yu et al. Table 3's layout).
    n_train, n_test : int
        Images in the table's training and test split.
    cnn_params : dict
        The CNN's parameters in the table.
    fingerprints, fingerprint_classes, own_scores, other_scores
        For the plots: generator fingerprints from one half of the images and the NCC
        of the other half with their own and with other sources' fingerprints.
    seconds : float
        Wall time of the study.
    """

    classes: list
    y: np.ndarray
    n_per_source: int
    folds: int
    image_size: int
    levels: int
    pred_real_as_class: np.ndarray
    accuracy_real_as_class: float
    pred_open_set: np.ndarray
    accuracy_open_set: float
    threshold: float
    gan_scores: np.ndarray
    auc_real_vs_gan: float
    table: StudyTable
    seeds: list
    seeds_table: StudyTable
    n_train: int
    n_test: int
    cnn_params: dict
    fingerprints: np.ndarray = field(repr=False)
    fingerprint_classes: np.ndarray = field(repr=False)
    own_scores: np.ndarray = field(repr=False)
    other_scores: np.ndarray = field(repr=False)
    seconds: float = 0.0

    def report(self) -> str:
        """The demo's printed report."""
        n_cls = len(self.classes)
        s = self.image_size
        n_seeds = len(self.seeds)
        own, other = np.median(self.own_scores), np.median(self.other_scores)
        separated = float(np.mean(self.own_scores > np.quantile(self.other_scores, 0.99)))
        lines = [
            f"gfprint demo: built-in GAN zoo, {n_cls - 1} generators + real photos, "
            f"{self.n_per_source} images of {s}x{s} per source, "
            f"{self.folds}-fold cross-validation.",
            "Residuals: ResidualExtractor() defaults, the GAN setting: db4 wavelet denoiser, "
            f"sigma 3, {self.levels} levels (the most a {s}-pixel image allows), "
            "colour kept, no camera post-processing.",
            "",
            f"[1] PRNU attribution, 'real' as a class: accuracy "
            f"{self.accuracy_real_as_class:.3f} (chance {1 / n_cls:.3f})",
            confusion_table(self.classes, self.y, self.pred_real_as_class),
            "",
            "[1] PRNU attribution, 'real' = no GAN fingerprint above a threshold tuned by "
            f"inner 3-fold cross-validation (on all data: {self.threshold:.4f}): accuracy "
            f"{self.accuracy_open_set:.3f}",
            confusion_table(self.classes, self.y, self.pred_open_set),
            "",
            "[2] Real vs GAN, score = highest NCC with a GAN fingerprint (out of fold; the "
            f"real photos' pixels were never seen by a generator): AUC {self.auc_real_vs_gan:.3f}",
            "",
            f"[3] Attribution accuracy, all {n_cls} sources incl. real (chance "
            f"{1 / n_cls:.3f}; trained on {self.n_train} images, tested on the other "
            f"{self.n_test}), the layout of Yu et al. Table 1:",
            _transposed(self.table).to_text(corner="method"),
            "(CNN: Yu "
            f"et al.'s network with channel widths x {self.cnn_params['width']}, "
            f"{self.cnn_params['max_epochs']} epochs, sized for a CPU demo, with "
            "CNNAttributor's defaults: it sees the noise residual, its 2x2 sampling phases "
            "stacked into channels; on pixels, as published, it needs far more images than "
            "this demo has. Cropped, JPEG-compressed and attacked "
            "images: benchmarks/bench_attribution.py and bench_robustness.py.)",
            "",
            f"[4] Attribution among the {n_seeds} generators that differ only in their "
            f"training seed ({', '.join(self.seeds)}; chance {1 / max(n_seeds, 1):.3f}), the "
            "layout of Yu et al. Table 3:",
            _transposed(self.seeds_table).to_text(corner="method"),
            "",
            "[5] Same vs cross source (Marra et al. 2019): NCC of a residual with its own "
            f"source's fingerprint, median {own:.4f}; with another source's, median "
            f"{other:.4f}; {separated:.1%} of own-source scores exceed the 99th percentile "
            "of cross-source scores (histograms: correlation_histograms.png).",
            "",
            "Compared with the papers (real 128x128 faces, 100,000s of training images; this "
            "zoo is 32x32 and CPU-sized, so compare the shape, not the values):",
        ]
        ours = {
            "Yu et al. 2019, Table 1 (CelebA, 5 classes, chance 0.20)": (
                self.table, self.table.rows[0], f"here, {n_cls} classes, chance {1 / n_cls:.2f}"),
            "Yu et al. 2019, Table 3 (10 ProGAN seeds, chance 0.10)": (
                self.seeds_table, self.seeds_table.rows[0],
                f"here, {n_seeds} seeds, chance {1 / max(n_seeds, 1):.2f}"),
        }
        for paper, published in PAPER_ACCURACY.items():
            table, row, label = ours[paper]
            lines.append(f"  {paper}: " + ", ".join(f"{m} {v}" for m, v in published.items()))
            order = [m for m in published if m in table.columns]
            order += [m for m in table.columns if m not in published]
            lines.append(f"    {label}: " + ", ".join(
                f"{m} {100 * table[row, m]:.1f} %" for m in order))
        lines.append(
            "  Marra et al. 2019 (correlation histograms and matrix): each GAN's residuals "
            "correlate with its own fingerprint clearly more than with the others'; here "
            "see [5]."
        )
        return "\n".join(lines)

    def save_plots(self, out_dir) -> list:
        """Write the demo's figures (PNG) to ``out_dir``; return their file names.

        Needs matplotlib (``pip install "gfprint[plot]"``).
        """
        from ._optional import require

        require("matplotlib", what="ZooDemoResult.save_plots")
        import matplotlib.pyplot as plt

        from .plotting import (
            plot_confusion_matrix,
            plot_correlation_histograms,
            plot_fingerprints,
            plot_roc,
        )

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        is_gan = self.y != REAL
        figures = {
            "fingerprints.png": plot_fingerprints(self.fingerprints, self.fingerprint_classes),
            "correlation_histograms.png": plot_correlation_histograms(
                self.own_scores, self.other_scores, threshold=self.threshold
            ),
            "roc_real_vs_gan.png": plot_roc(is_gan, self.gan_scores, pos_label=True,
                                            name="PRNU NCC"),
            "confusion_matrix.png": plot_confusion_matrix(
                self.y, self.pred_real_as_class, self.classes
            ),
        }
        for name, fig in figures.items():
            with atomic_path(out_dir / name, suffix=".png") as tmp:
                fig.savefig(tmp, dpi=110)
            plt.close(fig)
        return list(figures)


def _transposed(table):
    return StudyTable(table.columns, table.rows, table.values.T, title=table.title)


def _seed_sources(classes):
    """Zoo generators ``<architecture>_s<seed>`` of the architecture with most seeds."""
    by_arch = {}
    for name in classes:
        arch, _, seed = str(name).rpartition("_s")
        if arch and seed.isdigit() and "_" not in arch:
            by_arch.setdefault(arch, []).append(str(name))
    return max(by_arch.values(), key=len) if by_arch else []


def run_zoo_demo(*, quick=False, n_jobs=None, random_state=0, verbose=False):
    """The study behind ``gfprint demo``: PRNU and baselines on the built-in GAN zoo.

    Needs the zoo and the CNN (``pip install "gfprint[nn,zoo]"``).

    1. PRNU attribution, out of fold, with ``"real"`` as a class and as the open set
       (threshold tuned by inner cross-validation: the choice of a
       :class:`~sklearn.model_selection.GridSearchCV`, one fit per fold);
    2. real vs GAN: AUC of the best generator NCC, on held-out real photos;
    3. PRNU, kNN on pixels, Eigenface and the CNN on one held-out split, all sources
       (:func:`attribution_table`; Yu et al. 2019, Table 1);
    4. the same four methods among the generators that differ only in their training
       seed (Yu et al. Table 3);
    5. same- vs cross-source NCC of residuals with fingerprints (Marra et al. 2019).

    Parameters
    ----------
    quick : bool, default=False
        60 instead of 300 images per source, 3 instead of 5 folds and 10 instead of
        30 CNN epochs.
    n_jobs : int, default=None
        Workers for residual extraction.
    random_state : int, default=0
        Seed of the zoo sampling, the folds and the CNN.
    verbose : bool, default=False
        Progress bars on standard error.

    Returns
    -------
    result : ZooDemoResult
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline

    from .baselines import make_eigenface_baseline, make_knn_baseline
    from .datasets import load_gan_zoo
    from .fingerprints import PRNUFingerprintClassifier
    from .nn import CNNAttributor
    from .residuals import ResidualExtractor

    t0 = time.perf_counter()
    n = 60 if quick else 300
    folds = 3 if quick else 5
    # Yu et al.'s network, narrowed for a CPU, with CNNAttributor's defaults (the noise
    # residual, 2x2 phases stacked, no flips): on pixels, as published, it stays near the
    # pixel baselines with a few hundred images per source
    # (benchmarks/results/cnn_small_data.md).
    cnn_params = dict(width=0.1, max_epochs=10 if quick else 30, batch_size=64,
                      random_state=random_state)
    cv = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    zoo = load_gan_zoo(n_per_source=n, random_state=random_state)
    classes = [str(c) for c in zoo.target_names]
    y = zoo.target.astype(str)
    extractor = ResidualExtractor(n_jobs=n_jobs, verbose=verbose)
    R = extractor.transform(zoo.images)
    levels = extractor._config().levels_for(*zoo.images.shape[1:3])

    pred = cross_val_predict(PRNUFingerprintClassifier(), R, y, cv=cv)
    # Open set: the threshold chosen by an inner 3-fold search in every outer fold,
    # as cross_val_predict(GridSearchCV(...)) would, with one fit per inner fold.
    open_set = PRNUFingerprintClassifier(null_class=REAL)
    inner = StratifiedKFold(3, shuffle=True, random_state=random_state)
    pred_open = np.empty_like(y)
    for tr, te in cv.split(R, y):
        t = _threshold_search(open_set, R[tr], y[tr], DEMO_THRESHOLDS, inner)
        pred_open[te] = clone(open_set).set_params(threshold=t).fit(R[tr], y[tr]).predict(R[te])
    threshold = _threshold_search(open_set, R, y, DEMO_THRESHOLDS, inner)
    dec = _oof_decision(PRNUFingerprintClassifier(null_class=REAL), R, y, cv)
    gan_scores = dec[:, np.asarray(classes) != REAL].max(axis=1)

    train, test = next(cv.split(R, y))

    methods = {
        "PRNU (NCC)": make_pipeline(ResidualExtractor(n_jobs=n_jobs), PRNUFingerprintClassifier()),
        "kNN on pixels": make_knn_baseline(),
        "Eigenface": make_eigenface_baseline(random_state=random_state),
        "CNN": CNNAttributor(**cnn_params),
    }
    table = attribution_table(
        methods,
        {"all sources": (zoo.images[train], y[train], zoo.images[test], y[test])},
        verbose=verbose,
        title="attribution accuracy",
    )
    seeds = _seed_sources(classes)
    in_train, in_test = np.isin(y[train], seeds), np.isin(y[test], seeds)
    seeds_table = attribution_table(
        methods,
        {"same-architecture seeds": (zoo.images[train][in_train], y[train][in_train],
                                     zoo.images[test][in_test], y[test][in_test])},
        verbose=verbose,
        title="attribution accuracy among training seeds",
    )

    half = np.arange(len(y)) % 2 == 0  # fingerprints from one half, scores on the other
    clf = PRNUFingerprintClassifier(null_class=REAL).fit(R[half], y[half])
    scores = clf.similarity_scores(R[~half])
    own = y[~half][:, None] == clf.fingerprint_classes_[None, :]
    return ZooDemoResult(
        classes=classes,
        y=y,
        n_per_source=n,
        folds=folds,
        image_size=int(zoo.images.shape[1]),
        levels=int(levels),
        pred_real_as_class=pred,
        accuracy_real_as_class=float(np.mean(pred == y)),
        pred_open_set=pred_open,
        accuracy_open_set=float(np.mean(pred_open == y)),
        threshold=threshold,
        gan_scores=gan_scores,
        auc_real_vs_gan=float(roc_auc_score(y != REAL, gan_scores)),
        table=table,
        seeds=seeds,
        seeds_table=seeds_table,
        n_train=len(train),
        n_test=len(test),
        cnn_params=cnn_params,
        fingerprints=clf.fingerprints_,
        fingerprint_classes=clf.fingerprint_classes_,
        own_scores=scores[own],
        other_scores=scores[~own],
        seconds=time.perf_counter() - t0,
    )
