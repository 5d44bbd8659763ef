"""Attribution among same-architecture training seeds (Yu et al. Table 3) on the zoo.

The four ``deconv_s*`` generators of the built-in zoo share architecture, data and
recipe and differ only in their training seed. Issue 15 asks that, 5-fold over these
four sources alone, the pixel baselines stay within twice chance (0.50) while PRNU
and the CNN reach 0.90, the CNN as a mean over training seeds.

Images: ``load_gan_zoo(n_per_source=400, sources=deconv_s0..s3, random_state=0)``;
folds: ``StratifiedKFold(5, shuffle=True, random_state=0)``. Each CNN configuration
is trained once per (training seed, fold), one torch thread per job, ``--jobs`` jobs
at a time; its row is the mean over training seeds of the 5-fold mean, with the
per-seed means beside it.

    python benchmarks/bench_seeds.py [--seeds 3] [--widths 0.1 0.2] [--jobs 2] [--quick]

Results: ``benchmarks/results/seeds.md``.
"""

import argparse
import platform
import time
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from gfprint import PRNUFingerprintClassifier, ResidualExtractor
from gfprint.baselines import make_eigenface_baseline, make_knn_baseline
from gfprint.datasets import load_gan_zoo

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ("deconv_s0", "deconv_s1", "deconv_s2", "deconv_s3")


def _cnn_fold(params, seed, X, y, train, test):
    """Test accuracy of one CNN trained on one fold (one torch thread)."""
    import torch

    from gfprint import CNNAttributor

    torch.set_num_threads(1)
    t = time.perf_counter()
    model = CNNAttributor(**params, random_state=seed).fit(X[train], y[train])
    return model.score(X[test], y[test]), time.perf_counter() - t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3, help="CNN training seeds")
    parser.add_argument("--widths", type=float, nargs="+", default=[0.1, 0.2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="seconds: 60 images, 2 epochs")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    n, epochs, n_seeds = (60, 2, 1) if args.quick else (400, args.epochs, args.seeds)
    zoo = load_gan_zoo(n_per_source=n, sources=SEEDS, random_state=0)
    X, y = zoo.images, zoo.target
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    folds = list(cv.split(X, y))
    rows = []
    for label, est in [
        ("kNN on pixels", make_knn_baseline()),
        ("Eigenface", make_eigenface_baseline(random_state=0)),
        ("PRNU (ResidualExtractor + PRNUFingerprintClassifier)",
         make_pipeline(ResidualExtractor(), PRNUFingerprintClassifier())),
    ]:
        t = time.perf_counter()
        score = cross_val_score(est, X, y, cv=folds).mean()
        rows.append((label, f"{score:.3f}", "", f"{time.perf_counter() - t:.0f}"))
        print(rows[-1], flush=True)
    for width in args.widths:
        params = dict(width=width, max_epochs=epochs, batch_size=64)
        jobs = [(seed, k) for seed in range(n_seeds) for k in range(len(folds))]
        out = Parallel(n_jobs=args.jobs)(
            delayed(_cnn_fold)(params, seed, X, y, *folds[k]) for seed, k in jobs)
        acc = np.array([a for a, _ in out]).reshape(n_seeds, len(folds))
        per_seed = acc.mean(axis=1)
        label = (f"CNNAttributor(width={width}, max_epochs={epochs}, batch_size=64), "
                 f"mean of training seeds 0-{n_seeds - 1}")
        rows.append((label, f"{per_seed.mean():.3f}",
                     ", ".join(f"{s:.3f}" for s in per_seed) + "; folds "
                     + f"{acc.min():.3f}-{acc.max():.3f}",
                     f"{sum(s for _, s in out):.0f}"))
        print(rows[-1], flush=True)
    lines = [
        "# Attribution among the zoo's four training seeds (Yu et al. Table 3 layout)",
        "",
        f"Run: `python benchmarks/bench_seeds.py{' --quick' if args.quick else ''}` on "
        f"{platform.machine()}, {__import__('os').cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}.",
        f"{n} images per source of `deconv_s0` to `deconv_s3`, 5-fold stratified CV "
        "(chance 0.25). Issue 15's acceptance: pixel baselines at most 0.50, PRNU and "
        "the CNN (mean over training seeds) at least 0.90.",
        "",
        "| method | 5-fold accuracy | per training seed; range over folds | seconds |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        "Seconds: for the CNN rows the sum of the jobs' wall times (one torch thread each, "
        f"{args.jobs} at a time), wall time for the others.",
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "seeds_quick.md" if args.quick else "seeds.md"
    (out / name).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
