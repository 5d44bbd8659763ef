"""The residual's GAN setting against its camera setting, on the built-in zoo.

Issue 11: on real generator output the camera post-processing (grey, zero-mean,
Wiener-DFT, sigma = 5) costs 0.07-0.17 accuracy. This measures what the zoo shows,
and sweeps the denoiser's noise level ``sigma``. Every row sees the same images and
the same folds. Columns: 5-fold CV accuracy of ``Pipeline([extractor,
PRNUFingerprintClassifier()])`` over all zoo sources (every generator and real), at three
zoo difficulty levels; on clean images, the real-vs-GAN AUC (binary labels,
per-generator fingerprints through ``sources``, 5-fold) and the leave-one-generator-out
known-vs-unknown AUROC, the checks of issue 11's table.
It prints its table; ``benchmarks/results/residual_settings.md`` records a run, copied
by hand with its notes.

    python benchmarks/bench_residual_settings.py [--n 300]
"""

import argparse
import time

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from gfprint import CameraResidualExtractor, PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_gan_zoo

LEVELS = ("clean", "jpeg", "crop")
SETTINGS = {
    "GAN default (rgb, sigma=3)": ResidualExtractor(),
    "GAN, sigma=1": ResidualExtractor(sigma=1.0),
    "GAN, sigma=2": ResidualExtractor(sigma=2.0),
    "GAN, sigma=5": ResidualExtractor(sigma=5.0),
    "GAN, sigma=8": ResidualExtractor(sigma=8.0),
    "GAN, sigma='auto' (per image)": ResidualExtractor(sigma="auto"),
    "GAN, gray": ResidualExtractor(color="gray"),
    "GAN + zero-mean + Wiener-DFT": ResidualExtractor(zero_mean=True, wiener_dft=True),
    "camera setting (gray, zero-mean, Wiener-DFT, sigma=5)": CameraResidualExtractor(
        levels="auto"
    ),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300, help="images per source")
    args = parser.parse_args()
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    zoos = {lv: load_gan_zoo(n_per_source=args.n, difficulty=lv, random_state=0) for lv in LEVELS}
    names = list(zoos["clean"].target_names)
    print(f"{args.n} images per source of {len(names)} sources ({', '.join(names)}); chance "
          f"{1 / len(names):.3f}. 5-fold CV accuracy, NCC, arg-max.\n")
    head = [f"accuracy {lv}" for lv in LEVELS] + ["real-vs-GAN AUC", "LOGO AUROC"]
    print("| residual setting | " + " | ".join(head) + " | seconds |")
    print("|---|" + "---|" * (len(head) + 1))
    for name, ext in SETTINGS.items():
        t0 = time.perf_counter()
        row = [
            cross_val_score(
                make_pipeline(ext, PRNUFingerprintClassifier()),
                zoos[lv].images,
                zoos[lv].target,
                cv=cv,
            ).mean()
            for lv in LEVELS
        ]
        R = clone(ext).fit_transform(zoos["clean"].images)
        row += [real_vs_gan_auc(R, zoos["clean"].target, cv), logo_auroc(R, zoos["clean"].target)]
        seconds = time.perf_counter() - t0
        print(f"| {name} | " + " | ".join(f"{a:.3f}" for a in row) + f" | {seconds:.0f} |",
              flush=True)
    R = ResidualExtractor().fit_transform(zoos["clean"].images)
    merged = real_vs_gan_auc(R, zoos["clean"].target, cv, per_generator=False)
    print(f"\nReal-vs-GAN AUC with one merged 'gan' fingerprint (GAN default residual): "
          f"{merged:.3f}")


def real_vs_gan_auc(R, y, cv, per_generator=True):
    """Out-of-fold AUC of the best generator similarity (per-generator fingerprints)."""
    is_real = np.where(y == "real", "real", "gan")
    clf = PRNUFingerprintClassifier(null_class="real")
    params = {"sources": y} if per_generator else None
    return cross_val_score(clf, R, is_real, cv=cv, scoring="roc_auc", params=params).mean()


def logo_auroc(R, y):
    """Leave one generator out: AUROC of known (held-out half) against the unseen one.

    Fingerprints of every other generator from half their images; the score is the
    best similarity; mean over the generators left out.
    """
    gens = [g for g in np.unique(y) if g != "real"]
    half = np.arange(len(y)) % 2 == 0
    aucs = []
    for out in gens:
        known = (y != out) & (y != "real")
        clf = PRNUFingerprintClassifier().fit(R[known & half], y[known & half])
        test = (known & ~half) | (y == out)
        score = clf.similarity_scores(R[test]).max(axis=1)
        aucs.append(roc_auc_score(y[test] != out, score))
    return float(np.mean(aucs))


if __name__ == "__main__":
    main()
