"""Localization of generated material spliced into camera photos (issue 18).

Synthetic splices: 512x512 photos of a simulated camera
(:func:`gfprint.datasets.make_camera_images`, the default PRNU strength), each with a
square of generated images pasted at a random place: tiles of 32x32 samples of one
zoo generator (``deconv_s0``), a region that carries the generator's output and not
the camera's fingerprint. The camera fingerprint ``K`` is the maximum-likelihood
estimate from 40 other photos of the camera. Each spliced photo then goes through
JPEG at the quality of the row (or none).

Camera mode: :func:`gfprint.localization.localize` of the camera residual ``W``
against ``I * K``; a pixel's tampering score is ``-log_odds`` (``1 - probability``
without rounding to 0 or 1). Scores: pixel ROC AUC against the pasted square, and F1
of ``probability < 0.5``, mean over the photos; several window sizes.

    python benchmarks/bench_localization.py [--photos 8] [--quick]
"""

import argparse
import os
import platform
import time

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score

from gfprint import CameraResidualExtractor
from gfprint.datasets import load_gan_zoo, make_camera_images
from gfprint.localization import localize
from gfprint.perturbations import JPEGCompression
from gfprint.residuals import CAMERA_SETTING, estimate_fingerprint, rgb_to_gray


def generated_square(zoo_images, side, rng):
    """A ``side`` x ``side`` mosaic of 32x32 generated images (uint8 RGB)."""
    n = side // 32
    picks = zoo_images[rng.choice(len(zoo_images), n * n, replace=False)]
    rows = [np.concatenate(list(picks[i * n : (i + 1) * n]), axis=1) for i in range(n)]
    return np.concatenate(rows, axis=0)


def splices(photos, zoo_images, side, rng):
    out, masks = [], []
    for photo in photos:
        top, left = rng.integers(0, photo.shape[0] - side, 2)
        img = photo.copy()
        img[top : top + side, left : left + side] = generated_square(zoo_images, side, rng)
        mask = np.zeros(photo.shape[:2], bool)
        mask[top : top + side, left : left + side] = True
        out.append(img)
        masks.append(mask)
    return np.stack(out), masks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=8, help="spliced photos per row")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    size = 256 if args.quick else 512
    n_photos = 2 if args.quick else args.photos
    cams = make_camera_images(n_cameras=1, n_images=40 + n_photos, shape=(size, size),
                              random_state=0)
    K = estimate_fingerprint(cams.images[:40], method="mle", **CAMERA_SETTING)
    zoo = load_gan_zoo(n_per_source=200, sources=["deconv_s0"]).images
    extractor = CameraResidualExtractor()
    print(f"{os.cpu_count()} cores, {platform.machine()}; {n_photos} photos of {size}x{size} "
          "per row; K from 40 photos\n")
    print("| square | JPEG | window | pixel AUC | F1 (p < 0.5) | s per photo |")
    print("|---|---|---|---|---|---|")
    sides = [64, 128] if args.quick else [64, 128, 256]
    windows = [32, 64] if args.quick else [32, 64, 128]
    for side in sides:
        for quality in (None, 90, 75):
            images, masks = splices(cams.images[40:], zoo, side, rng)
            if quality is not None:
                images = JPEGCompression(quality=quality).transform(images)
            residuals = extractor.transform(images)
            for window in windows:
                aucs, f1s, start = [], [], time.perf_counter()
                for img, W, mask in zip(images, residuals, masks):
                    ref = rgb_to_gray(img.astype(np.float32)) * K
                    result = localize(W, ref, window=window)
                    aucs.append(roc_auc_score(mask.ravel(), -result.log_odds.ravel()))
                    f1s.append(f1_score(mask.ravel(), result.probability.ravel() < 0.5))
                seconds = (time.perf_counter() - start) / len(images)
                print(f"| {side}² | {quality or 'none'} | {window} | {np.mean(aucs):.3f} | "
                      f"{np.mean(f1s):.3f} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
