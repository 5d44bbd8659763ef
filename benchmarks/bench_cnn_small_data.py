"""CNNAttributor on few images per source (issue 16): which front-end and training defaults.

The failure to fix: six CIFAR-10 GANs, 64 images of 32x32 each, 5-fold CV, where
``CNNAttributor()`` scored 0.193 (chance 0.167) and PRNU 0.37-0.43. Those images are
not here, so two stand-ins, both with 64 training images per source:

- **upsamplers**: sources that share one content distribution and differ only in how
  they up-sample, the part of a GAN that leaves its periodic fingerprint (Odena et
  al. 2016; Zhang, Karaman & Chang 2019 simulate GAN artifacts the same way). Each
  image is a held-out patch of the zoo's real photos, reduced to 16x16 (2x2 means) and
  brought back to 32x32 by the source's own transposed convolution: a 4x4 kernel,
  bilinear plus a random perturbation, each of its four phases summing to 1 (no
  checkerboard on flat areas); then Gaussian noise (sigma 1) and 8-bit rounding. The
  perturbation's size (relative to the mean tap) sets the fingerprint's strength:
  0.02 ("weak") puts PRNU near the 0.37-0.43 it scored on the CIFAR-10 GANs, 0.05
  ("medium") near 0.8. Pixel kNN stays near chance; the fingerprint is the kernel's.
- **zoo**: the built-in GAN zoo (8 sources; its sources also differ by content).

Each configuration is trained on 64 images per source and scored on 200 others per
source, for several seeds; PRNU (``ResidualExtractor`` + ``PRNUFingerprintClassifier``,
defaults) and pixel kNN are the references, beside ``LearnedFingerprintClassifier``
(PRNU's fingerprints refined by training). ``--only none`` runs these rows alone.

    python benchmarks/bench_cnn_small_data.py [--seeds 3] [--width 0.25] [--only TEXT]
        [--quick] [--out DIR]

``--quick`` is a smoke run: 16 training images per source, one seed, every network
capped at 3 epochs.
"""

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import convolve
from sklearn.pipeline import make_pipeline

from gfprint import CNNAttributor, PRNUFingerprintClassifier, ResidualExtractor
from gfprint.baselines import make_knn_baseline
from gfprint.datasets import load_gan_zoo
from gfprint.datasets._zoo_models import real_patches
from gfprint.nn import LearnedFingerprintClassifier

ROOT = Path(__file__).resolve().parents[1]


def upsampler_kernels(n_sources, rng, strength):
    """4x4 transposed-convolution kernels whose four phases each sum to 1."""
    bilinear = np.outer([0.25, 0.75, 0.75, 0.25], [0.25, 0.75, 0.75, 0.25])
    kernels = []
    for _ in range(n_sources):
        k = bilinear + strength * rng.normal(size=(4, 4)) * bilinear.mean()
        for a in range(2):
            for b in range(2):
                k[a::2, b::2] += (1 - k[a::2, b::2].sum()) / 4
        kernels.append(k)
    return kernels


def upsampled(kernel, n, rng):
    """``n`` images of one upsampler source (uint8, 32x32x3)."""
    patches = real_patches(n, size=32, region="heldout", rng=rng).astype(np.float64)
    small = patches.reshape(n, 16, 2, 16, 2, 3).mean(axis=(2, 4))
    up = np.zeros((n, 32, 32, 3))
    up[:, ::2, ::2] = small
    out = np.empty_like(up)
    for i in range(n):
        for c in range(3):
            out[i, :, :, c] = convolve(up[i, :, :, c], kernel, mode="reflect")
    out += rng.normal(scale=1.0, size=out.shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def upsampler_data(n_train, n_test, strength, seed=0, n_sources=6):
    rng = np.random.default_rng(seed)
    kernels = upsampler_kernels(n_sources, rng, strength)
    train = [upsampled(k, n_train, rng) for k in kernels]
    test = [upsampled(k, n_test, rng) for k in kernels]
    y_train = np.repeat([f"up{i}" for i in range(n_sources)], n_train)
    y_test = np.repeat([f"up{i}" for i in range(n_sources)], n_test)
    return np.concatenate(train), y_train, np.concatenate(test), y_test


def zoo_data(n_train, n_test):
    train = load_gan_zoo(n_per_source=n_train, random_state=0)
    test = load_gan_zoo(n_per_source=n_test, random_state=1)
    return train.images, train.target, test.images, test.target


def configs(epochs):
    """name -> CNNAttributor keyword arguments (seed added per run).

    The rows before the defaults are the networks of the first runs: no
    space-to-depth and random horizontal flips, the defaults until 0.x (Unreleased).
    """
    before = dict(space_to_depth=1, flip=True)
    stop = dict(validation_fraction=0.2, early_stopping=30, max_epochs=2 * epochs, **before)
    return {
        "CNN paper (pixels, 10 epochs)": dict(frontend="pixels", max_epochs=10, **before),
        f"CNN pixels, {epochs} epochs": dict(frontend="pixels", max_epochs=epochs, **before),
        f"CNN highpass, {epochs} epochs": dict(frontend="highpass", max_epochs=epochs, **before),
        f"CNN constrained, {epochs} epochs": dict(frontend="constrained", max_epochs=epochs,
                                                  **before),
        f"CNN residual, {epochs} epochs": dict(frontend="residual", max_epochs=epochs, **before),
        "CNN highpass, early stopping": dict(frontend="highpass", **stop),
        "CNN residual, flips, max_epochs=\"auto\" (the former defaults)": dict(**before),
        "CNN defaults (residual, space_to_depth 2, no flips)": dict(),
        "CNN defaults but flips": dict(flip=True),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=None,
                        help="run only the configurations whose name contains this text "
                        "(the reference rows are always computed)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    n_train, n_test, epochs = (16, 20, 3) if args.quick else (64, 200, 100)
    seeds = range(1 if args.quick else args.seeds)
    zoo = zoo_data(n_train, n_test)
    datasets = {"upsamplers, weak (6)": upsampler_data(n_train, n_test, 0.02),
                "upsamplers, medium (6)": upsampler_data(n_train, n_test, 0.05),
                f"zoo ({len(np.unique(zoo[1]))})": zoo}
    t0 = time.perf_counter()
    results = {}
    for data_name, (X, y, Xt, yt) in datasets.items():
        refs = {"PRNU (defaults)": make_pipeline(ResidualExtractor(),
                                                 PRNUFingerprintClassifier()),
                "kNN on pixels": make_knn_baseline()}
        for name, est in refs.items():
            results[data_name, name] = [est.fit(X, y).score(Xt, yt)]
        # PRNU's fingerprints refined by training (seeded: the order of mini-batches).
        results[data_name, "Learned fingerprints (defaults)"] = [
            make_pipeline(ResidualExtractor(), LearnedFingerprintClassifier(random_state=seed))
            .fit(X, y).score(Xt, yt) for seed in seeds
        ]
        for name, params in configs(epochs).items():
            if args.only is not None and args.only not in name:
                continue
            if args.quick:  # a smoke run: "auto" would still train 1,200 steps
                params = {**params, "max_epochs": min(params.get("max_epochs", epochs), epochs)}
            accs = []
            for seed in seeds:
                start = time.perf_counter()
                cnn = CNNAttributor(width=args.width, random_state=seed, **params).fit(X, y)
                accs.append(cnn.score(Xt, yt))
                epochs_run = len(cnn.net_.history)
                print(f"{data_name} | {name} | seed {seed}: {accs[-1]:.3f} "
                      f"({epochs_run} epochs, {time.perf_counter() - start:.0f} s)", flush=True)
            results[data_name, name] = accs
    names = list(dict.fromkeys(n for _, n in results))
    lines = [
        "# CNNAttributor on few images per source (issue 16)",
        "",
        f"Run: `python benchmarks/bench_cnn_small_data.py{' --quick' if args.quick else ''}` "
        f"on {platform.machine()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}. "
        f"{n_train} training / {n_test} test images per source; CNN channel widths x "
        f"{args.width}; seeds {list(seeds)}: mean (min-max) test accuracy. Early stopping: "
        f"20 % stratified validation split, validation accuracy, patience 30, at most "
        f"{2 * epochs} epochs, best epoch restored.",
        "",
        "| method | " + " | ".join(datasets) + " |",
        "|---|" + "---|" * len(datasets),
    ]
    for name in names:
        cells = []
        for data_name in datasets:
            v = np.array(results[data_name, name])
            cells.append(f"{v.mean():.3f}" + (f" ({v.min():.3f}-{v.max():.3f})"
                                              if len(v) > 1 else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", f"Total time: {time.perf_counter() - t0:.0f} s."]
    print("\n".join(lines))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "cnn_small_data_quick.md" if args.quick else "cnn_small_data.md"
    if args.only is not None:
        name = name.replace(".md", "_only.md")
    (out / name).write_text("\n".join(lines) + "\n")
    print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
