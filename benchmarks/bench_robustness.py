"""Yu et al. (2019) Table 7 on the GAN zoo: attacks, immunization and TTA.

For PRNU and the CNN: accuracy on clean test images; under each attack when trained on
clean images ("Atk"); when trained on images carrying the same attack ("Dfs",
immunization: the CNN with ``augment=`` drawing the attack afresh per batch, PRNU
fitted on attacked training images); and the CNN's Dfs with test-time augmentation
(flips and rotations, soft voting). "PRNU search" is PRNU scored at the best shift and
scale of each residual on each fingerprint (``search="scale"``, Goljan & Fridrich
2008). A last row crops without resizing (images of 26-30 pixels), for the PRNU
methods only: the CNN takes one input size. Training and test images are independent
zoo draws (seeds 0 and 1); each attack draws its parameters per image.

Usage: python benchmarks/bench_robustness.py [--quick] [--width 0.1] [--out benchmarks/results]
"""

import argparse
import platform
import time
from pathlib import Path

import torch
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import make_pipeline

from gfprint import CNNAttributor, PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_gan_zoo, zoo_sources
from gfprint.ensemble import TTAClassifier
from gfprint.perturbations import (
    GaussianBlur,
    GaussianNoise,
    JPEGCompression,
    RandomCrop,
    RandomPerturbation,
    Relighting,
)
from gfprint.studies import robustness_table

ROOT = Path(__file__).resolve().parents[1]
ATTACKS = {
    "noise (sigma 5-20)": GaussianNoise,
    "blur (kernel 1-9)": GaussianBlur,
    "crop 5-20 % + resize": RandomCrop,
    "JPEG (quality 10-75)": JPEGCompression,
    "relighting": Relighting,
    "combination (p=0.5 each)": RandomPerturbation,
}


CROP_ONLY = "crop 5-20 %, no resize"
ALL_TRANSFORMS = ("identity", "hflip", "vflip", "rot90", "rot180", "rot270")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--width", type=float, default=0.1)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    n_train, n_test, epochs = (60, 40, 2) if args.quick else (400, 200, 30)
    params = dict(width=args.width, max_epochs=epochs, batch_size=64, frontend="pixels",
                  space_to_depth=1, flip=True,  # Yu et al.'s network
                  random_state=0)
    train = load_gan_zoo(n_per_source=n_train, random_state=0)
    test = load_gan_zoo(n_per_source=n_test, random_state=1)
    t0 = time.perf_counter()
    # levels="auto": 2 db4 levels at 32x32 as before, 1 for the crops without resize.
    prnu = {
        "PRNU": make_pipeline(ResidualExtractor(), PRNUFingerprintClassifier()),
        "PRNU search": make_pipeline(
            ResidualExtractor(), PRNUFingerprintClassifier(search="scale")
        ),
    }
    table = robustness_table(
        {**prnu, "CNN": CNNAttributor(**params)},
        (train.images, train.target),
        (test.images, test.target),
        {name: cls() for name, cls in ATTACKS.items()},
        # The CNN immunizes itself: the attack drawn afresh for every batch.
        defences={"CNN": lambda cnn, attack: cnn.set_params(augment=attack)},
        keep_estimators=True,
        verbose=True,
    )

    def tta(row, column):
        # FrozenEstimator: TTA around the already trained CNN, without retraining it.
        frozen = FrozenEstimator(table.estimators[row, column])
        # The transforms of the results file (the default before 0.3 was all six).
        return TTAClassifier(frozen, transforms=ALL_TRANSFORMS, voting="soft").fit(
            train.images, train.target
        )

    crop_only = robustness_table(
        prnu, (train.images, train.target), (test.images, test.target),
        {CROP_ONLY: RandomCrop(resize=False)},
    )
    tta_clean = tta("none", "CNN Atk").score(test.images, test.target)
    tta_dfs = [
        tta(name, "CNN Dfs").score(cls(random_state=1).transform(test.images), test.target)
        for name, cls in ATTACKS.items()
    ]
    lines = [
        "# Robustness on the GAN zoo (Yu et al. 2019, Table 7)",
        "",
        f"Run: `python benchmarks/bench_robustness.py{' --quick' if args.quick else ''}` on "
        f"{platform.machine()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}. "
        f"{n_train} training / {n_test} test images per source, {len(zoo_sources())} sources "
        f"(chance {1 / len(zoo_sources()):.3f}). "
        f"CNN: channel widths x {args.width}, {epochs} epochs. Atk: trained clean, tested "
        "attacked. Dfs: trained with the attack (CNN: `augment=`, fresh per batch; PRNU: "
        "fingerprints from attacked training images), tested attacked. TTA: the Dfs CNN "
        "with soft voting over identity, flips and 90-degree rotations. Computed by "
        "`gfprint.studies.robustness_table`.",
        "",
        f"Clean test accuracy: PRNU {table['none', 'PRNU Atk']:.3f}, PRNU search "
        f"{table['none', 'PRNU search Atk']:.3f}, CNN {table['none', 'CNN Atk']:.3f}, "
        f"CNN + TTA {tta_clean:.3f}.",
        "",
        "| attack | PRNU Atk | PRNU Dfs | PRNU search Atk | PRNU search Dfs | CNN Atk "
        "| CNN Dfs | CNN Dfs + TTA |",
        "|---|---|---|---|---|---|---|---|",
    ]
    prnu_columns = [f"{m} {k}" for m in prnu for k in ("Atk", "Dfs")]
    for name, with_tta in zip(ATTACKS, tta_dfs):
        cells = [table[name, c] for c in (*prnu_columns, "CNN Atk", "CNN Dfs")]
        lines.append(f"| {name} | " + " | ".join(f"{v:.3f}" for v in [*cells, with_tta]) + " |")
    cells = [f"{crop_only[CROP_ONLY, c]:.3f}" for c in prnu_columns]
    lines.append(f"| {CROP_ONLY} | " + " | ".join(cells + ["-"] * 3) + " |")
    lines += ["", f"Total time: {time.perf_counter() - t0:.0f} s."]
    print("\n".join(lines))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "robustness_quick.md" if args.quick else "robustness.md"
    (out / name).write_text("\n".join(lines) + "\n")
    print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
