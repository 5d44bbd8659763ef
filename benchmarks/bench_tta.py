"""When test-time augmentation helps (issue 16): TTAClassifier over seeds on the GAN zoo.

A CNN trained with random horizontal flips and one trained without (Yu et al.'s
network on pixels, narrowed); PRNU (residual + fingerprint classifier). Each is scored
on clean test images alone and through ``TTAClassifier`` with:

- identity + horizontal flip, ``voting="auto"`` (soft for these models): what the
  default ``transforms="auto"`` chooses for a model trained with flips (for the others
  it chooses the identity alone, which equals the model);
- the same two transforms with hard voting (a tie goes to the image itself, so two
  copies can only agree with it);
- all six flips and rotations with soft voting (the default before this change).

The CNN rows are the mean (and range) over training seeds; PRNU has no training noise.

    python benchmarks/bench_tta.py [--seeds 3] [--quick]
"""

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline

from gfprint import CNNAttributor, PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_gan_zoo
from gfprint.ensemble import TTAClassifier

ROOT = Path(__file__).resolve().parents[1]
ALL = ("identity", "hflip", "vflip", "rot90", "rot180", "rot270")
SETTINGS = {
    "plain": None,
    "TTA id + hflip, auto (the default for flip=True)": {"transforms": ("identity", "hflip")},
    "TTA id + hflip, hard": {"voting": "hard"},
    "TTA 6 transforms, soft": {"transforms": ALL, "voting": "soft"},
}


def scores(model, train, test):
    out = []
    for params in SETTINGS.values():
        est = model if params is None else TTAClassifier(FrozenEstimator(model), **params).fit(
            train.images, train.target)
        out.append(est.score(test.images, test.target))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    n_train, n_test, epochs = (60, 40, 2) if args.quick else (400, 200, 30)
    seeds = range(1 if args.quick else args.seeds)
    train = load_gan_zoo(n_per_source=n_train, random_state=0)
    test = load_gan_zoo(n_per_source=n_test, random_state=1)
    t0 = time.perf_counter()
    rows = {}
    for flip in (True, False):
        per_seed = []
        for seed in seeds:
            cnn = CNNAttributor(width=0.1, max_epochs=epochs, batch_size=64, flip=flip,
                                frontend="pixels", space_to_depth=1, random_state=seed)
            cnn.fit(train.images, train.target)
            per_seed.append(scores(cnn, train, test))
            print(f"CNN flip={flip} seed {seed}: {np.round(per_seed[-1], 3).tolist()}",
                  flush=True)
        rows["CNN trained with flips (`flip=True`)" if flip else
             "CNN trained without flips (`flip=False`)"] = np.array(per_seed)
    prnu = make_pipeline(ResidualExtractor(), PRNUFingerprintClassifier()).fit(
        train.images, train.target)
    rows["PRNU (`ResidualExtractor` + `PRNUFingerprintClassifier`)"] = np.array(
        [scores(prnu, train, test)])
    lines = [
        "# Test-time augmentation on the GAN zoo (issue 16)",
        "",
        f"Run: `python benchmarks/bench_tta.py{' --quick' if args.quick else ''}` on "
        f"{platform.machine()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}. "
        f"{n_train} training / {n_test} test images per source, {len(train.target_names)} "
        f"sources (chance {1 / len(train.target_names):.3f}). "
        f"CNN: channel widths x 0.1, {epochs} epochs, seeds {list(seeds)}: mean "
        "(min-max) test accuracy.",
        "",
        "| model | " + " | ".join(SETTINGS) + " |",
        "|---|" + "---|" * len(SETTINGS),
    ]
    for name, values in rows.items():
        cells = [f"{v.mean():.3f}" + (f" ({v.min():.3f}-{v.max():.3f})" if len(v) > 1 else "")
                 for v in values.T]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cnn = rows["CNN trained with flips (`flip=True`)"]
    gain = cnn[:, 1] - cnn[:, 0]
    lines += ["", f"Default TTA minus plain, CNN with flips, per seed: "
              f"{', '.join(f'{g:+.3f}' for g in gain)}.",
              "", f"Total time: {time.perf_counter() - t0:.0f} s."]
    print("\n".join(lines))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "tta_quick.md" if args.quick else "tta.md"
    (out / name).write_text("\n".join(lines) + "\n")
    print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
