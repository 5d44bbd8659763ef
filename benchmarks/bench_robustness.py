"""Yu et al. (2019) Table 7 on the GAN zoo: attacks, immunization and TTA.

For PRNU and the CNN: accuracy on clean test images; under each attack when trained on
clean images ("Atk"); when trained on images carrying the same attack ("Dfs",
immunization: the CNN with ``augment=`` drawing the attack afresh per batch, PRNU
fitted on attacked training images); and the CNN's Dfs with test-time augmentation
(flips and rotations, soft voting). Training and test images are independent zoo
draws (seeds 0 and 1); each attack draws its parameters per image.

Usage: python benchmarks/bench_robustness.py [--quick] [--out benchmarks/results]
"""

import argparse
import platform
import time
from pathlib import Path

import torch
from sklearn.frozen import FrozenEstimator

from gfprint import CNNAttributor, PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_gan_zoo
from gfprint.ensemble import TTAClassifier
from gfprint.perturbations import (
    GaussianBlur,
    GaussianNoise,
    JPEGCompression,
    RandomCrop,
    RandomPerturbation,
    Relighting,
)

ROOT = Path(__file__).resolve().parents[1]
ATTACKS = {
    "noise (sigma 5-20)": GaussianNoise,
    "blur (kernel 1-9)": GaussianBlur,
    "crop 5-20 % + resize": RandomCrop,
    "JPEG (quality 10-75)": JPEGCompression,
    "relighting": Relighting,
    "combination (p=0.5 each)": RandomPerturbation,
}


def prnu(train_x, train_y, test_x, test_y):
    ext = ResidualExtractor(levels=2)
    clf = PRNUFingerprintClassifier().fit(ext.transform(train_x), train_y)
    return clf.score(ext.transform(test_x), test_y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--width", type=float, default=0.1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    n_train, n_test, epochs = (60, 40, 2) if args.quick else (400, 200, 30)
    params = dict(width=args.width, max_epochs=epochs, batch_size=64, random_state=0)
    train = load_gan_zoo(n_per_source=n_train, random_state=0)
    test = load_gan_zoo(n_per_source=n_test, random_state=1)
    t0 = time.perf_counter()
    clean_cnn = CNNAttributor(**params).fit(train.images, train.target)
    clean_prnu = prnu(train.images, train.target, test.images, test.target)
    clean_acc = clean_cnn.score(test.images, test.target)
    # FrozenEstimator: TTA around the already trained CNN, without retraining it.
    tta = TTAClassifier(FrozenEstimator(clean_cnn), voting="soft").fit(train.images, train.target)
    lines = [
        "# Robustness on the GAN zoo (Yu et al. 2019, Table 7)",
        "",
        f"Run: `python benchmarks/bench_robustness.py{' --quick' if args.quick else ''}` on "
        f"{platform.machine()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}. "
        f"{n_train} training / {n_test} test images per source, 7 sources (chance 0.143). "
        f"CNN: channel widths x {args.width}, {epochs} epochs. Atk: trained clean, tested "
        "attacked. Dfs: trained with the attack (CNN: `augment=`, fresh per batch; PRNU: "
        "fingerprints from attacked training images), tested attacked. TTA: the Dfs CNN "
        "with soft voting over identity, flips and 90-degree rotations.",
        "",
        f"Clean test accuracy: PRNU {clean_prnu:.3f}, CNN {clean_acc:.3f}, CNN + TTA "
        f"{tta.score(test.images, test.target):.3f}.",
        "",
        "| attack | PRNU Atk | PRNU Dfs | CNN Atk | CNN Dfs | CNN Dfs + TTA |",
        "|---|---|---|---|---|---|",
    ]
    for name, cls in ATTACKS.items():
        attacked_test = cls(random_state=1).transform(test.images)
        attacked_train = cls(random_state=0).transform(train.images)
        prnu_atk = prnu(train.images, train.target, attacked_test, test.target)
        prnu_dfs = prnu(attacked_train, train.target, attacked_test, test.target)
        cnn_atk = clean_cnn.score(attacked_test, test.target)
        dfs = CNNAttributor(**params, augment=cls()).fit(train.images, train.target)
        cnn_dfs = dfs.score(attacked_test, test.target)
        tta_dfs = TTAClassifier(FrozenEstimator(dfs), voting="soft").fit(train.images, train.target)
        row = (
            f"| {name} | {prnu_atk:.3f} | {prnu_dfs:.3f} | {cnn_atk:.3f} | {cnn_dfs:.3f} | "
            f"{tta_dfs.score(attacked_test, test.target):.3f} |"
        )
        print(row, flush=True)
        lines.append(row)
    lines += ["", f"Total time: {time.perf_counter() - t0:.0f} s."]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "robustness_quick.md" if args.quick else "robustness.md"
    (out / name).write_text("\n".join(lines) + "\n")
    print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
