"""The residual's GAN setting against its camera setting, on the built-in zoo.

Issue 11: on real generator output the camera post-processing (grey, zero-mean,
Wiener-DFT, sigma = 5) costs 0.07-0.17 accuracy. This measures what the zoo shows,
and sweeps the denoiser's noise level ``sigma``. Every row sees the same images and
the same folds: 5-fold CV accuracy of ``Pipeline([extractor,
PRNUFingerprintClassifier()])`` over all zoo sources (6 generators and real), at three
zoo difficulty levels. Results: ``benchmarks/results/residual_settings.md``.

    python benchmarks/bench_residual_settings.py [--n 300]
"""

import argparse
import time

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
    print("| residual setting | " + " | ".join(LEVELS) + " | seconds |")
    print("|---|" + "---|" * (len(LEVELS) + 1))
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
        seconds = time.perf_counter() - t0
        print(f"| {name} | " + " | ".join(f"{a:.3f}" for a in row) + f" | {seconds:.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
