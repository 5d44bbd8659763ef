"""Yu et al. (2019) Tables 1, 4 and 5 on the built-in GAN zoo.

Table 1: attribution accuracy of kNN on pixels, Eigenface, PRNU and the CNN at every
difficulty level of the zoo, with the FD ratio of raw pixels and of CNN features.
Table 4 (frequencies) and Table 5 (patch size): CNN variants on the clean zoo.
Training and test images are independent draws (zoo seeds 0 and 1).

The CNN is the paper's architecture with every channel width scaled by ``--width``
(default 0.1) so that the whole script runs on 2 CPU cores in well under an hour.

Usage: python benchmarks/bench_attribution.py [--quick] [--width 0.1] [--out benchmarks/results]
"""

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import make_pipeline

from gfprint import CNNAttributor, PRNUFingerprintClassifier, ResidualExtractor
from gfprint.baselines import ImageFlattener, make_eigenface_baseline, make_knn_baseline
from gfprint.datasets import load_gan_zoo, zoo_sources
from gfprint.datasets._zoo import DIFFICULTIES
from gfprint.metrics import fd_ratio
from gfprint.studies import attribution_table

ROOT = Path(__file__).resolve().parents[1]


def cnn_fit(train, cnn_params, **variant):
    cnn = CNNAttributor(**cnn_params, **variant)
    t0 = time.perf_counter()
    cnn.fit(train.images, train.target)
    seconds = time.perf_counter() - t0
    throughput = len(train.images) * cnn.net_.history[-1]["epoch"] / seconds
    return cnn, throughput


def fd_subset(features, y, n=100):
    """FD ratio on the first ``n`` vectors per class (keeps covariances well posed)."""
    keep = np.concatenate([np.flatnonzero(y == c)[:n] for c in np.unique(y)])
    return fd_ratio(features[keep], y[keep])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--width", type=float, default=0.1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    n_train, n_test, epochs = (60, 40, 2) if args.quick else (400, 200, 30)
    cnn_params = dict(width=args.width, max_epochs=epochs, batch_size=64, frontend="pixels",
                      space_to_depth=1, flip=True,  # Yu et al.'s network
                      random_state=0)
    n_src = len(zoo_sources())
    lines = [
        "# Attribution on the GAN zoo (Yu et al. 2019, Tables 1, 4, 5)",
        "",
        f"Run: `python benchmarks/bench_attribution.py{' --quick' if args.quick else ''}` on "
        f"{platform.machine()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}. "
        f"{n_train} training and {n_test} test images per source (independent zoo seeds 0 "
        f"and 1); {n_src} sources (every generator + real), chance {1 / n_src:.3f}. CNN: "
        f"Yu et al.'s network on pixels (`frontend=\"pixels\"`, as published), channel "
        f"widths x {args.width}, {epochs} epochs, batch 64, Adam(lr 1e-3, betas (0, 0.99)), "
        "flips. "
        "FD ratio on 100 test images per source (pixels in [0, 1]; CNN: 512-d features).",
        "",
        "## Table 1: accuracy and FD ratio per difficulty",
        "",
        "| difficulty | kNN | Eigenface | PRNU | CNN | FD ratio pixels | FD ratio CNN "
        "| CNN train img/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    t_start = time.perf_counter()

    def split(difficulty):
        def load():
            train = load_gan_zoo(n_per_source=n_train, difficulty=difficulty, random_state=0)
            test = load_gan_zoo(n_per_source=n_test, difficulty=difficulty, random_state=1)
            return train.images, train.target, test.images, test.target

        return load

    table = attribution_table(
        {
            "kNN": make_knn_baseline(),
            "Eigenface": make_eigenface_baseline(random_state=0),
            "PRNU": make_pipeline(ResidualExtractor(), PRNUFingerprintClassifier()),
            "CNN": CNNAttributor(**cnn_params),
        },
        {difficulty: split(difficulty) for difficulty in DIFFICULTIES},
        keep_estimators=True,
        verbose=True,
    )
    for difficulty in DIFFICULTIES:
        test = load_gan_zoo(n_per_source=n_test, difficulty=difficulty, random_state=1)
        cnn = table.estimators[difficulty, "CNN"]
        history = cnn.net_.history
        speed = n_train * len(np.unique(test.target)) * len(history) / sum(history[:, "dur"])
        fd_pix = fd_subset(ImageFlattener().transform(test.images), test.target)
        fd_cnn = fd_subset(cnn.transform(test.images), test.target)
        cells = [table[difficulty, m] for m in ("kNN", "Eigenface", "PRNU", "CNN")]
        row = (
            f"| {difficulty} | " + " | ".join(f"{v:.3f}" for v in cells)
            + f" | {fd_pix:.2f} | {fd_cnn:.2f} | {speed:.0f} |"
        )
        print(row, flush=True)
        lines.append(row)

    clean_train = load_gan_zoo(n_per_source=n_train, random_state=0)
    clean_test = load_gan_zoo(n_per_source=n_test, random_state=1)
    tables = {
        "Table 4: frequencies (input blurred and subsampled, or its high-pass residual)": [
            ("full network, 32x32 input", {}),
            (
                "predownsample to 16x16 (low frequencies)",
                dict(variant="predownsample", switch_resolution=16),
            ),
            ("predownsample to 8x8", dict(variant="predownsample", switch_resolution=8)),
            (
                "residual at 32x32 (highest frequencies)",
                dict(variant="predownsample_residual", switch_resolution=32),
            ),
            ("residual at 16x16", dict(variant="predownsample_residual", switch_resolution=16)),
        ],
        "Table 5: patch size (convolutions stop, then average pooling)": [
            ("convolutions down to 4x4 (full)", {}),
            ("postpool at 8x8", dict(variant="postpool", switch_resolution=8)),
            ("postpool at 16x16", dict(variant="postpool", switch_resolution=16)),
            (
                "postpool at 32x32 (per-pixel features)",
                dict(variant="postpool", switch_resolution=32),
            ),
        ],
    }
    cache = {}
    for title, rows in tables.items():
        lines += ["", f"## {title}", "", "| network | accuracy |", "|---|---|"]
        for name, variant in rows:
            key = tuple(sorted(variant.items()))
            if key not in cache:
                cnn, _ = cnn_fit(clean_train, cnn_params, **variant)
                cache[key] = cnn.score(clean_test.images, clean_test.target)
            print(f"{title[:7]} {name}: {cache[key]:.3f}", flush=True)
            lines.append(f"| {name} | {cache[key]:.3f} |")
    lines += ["", f"Total time: {time.perf_counter() - t_start:.0f} s."]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "attribution_quick.md" if args.quick else "attribution.md"
    (out / name).write_text("\n".join(lines) + "\n")
    print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
