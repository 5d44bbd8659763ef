"""The ``gfprint`` command."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["main"]


def _confusion_table(labels, y_true, y_pred) -> str:
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y_true, y_pred, labels=labels)
    width = max(len(str(c)) for c in labels) + 2
    lines = [" " * width + "".join(f"{str(c):>{width}}" for c in labels) + "   <- predicted"]
    for name, row in zip(labels, cm):
        lines.append(f"{str(name):>{width}}" + "".join(f"{v:>{width}d}" for v in row))
    return "\n".join(lines)


def demo(args) -> int:
    """PRNU attribution on synthetic cameras: cross-validated accuracy and open set."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    from . import PRNUFingerprintClassifier, ResidualExtractor
    from .datasets import make_camera_images

    n_cameras, n_images, size = (4, 6, 128) if args.quick else (6, 20, 256)
    t0 = time.perf_counter()
    print(
        f"gfprint demo: {n_cameras} simulated cameras + 1 unseen, {n_images} images of "
        f"{size}x{size} each (I = I0 + I0*K + noise)."
    )
    data = make_camera_images(n_cameras + 1, n_images, (size, size), random_state=args.seed)
    print("Extracting noise residuals (wavelet denoiser, db4, 4 levels, sigma=5) ...")
    residuals = ResidualExtractor(n_jobs=args.n_jobs, verbose=True).transform(data.images)
    known = data.target != data.target_names[-1]
    R, y = residuals[known], data.target[known]
    cv = StratifiedKFold(5, shuffle=True, random_state=args.seed)
    scores = cross_val_predict(PRNUFingerprintClassifier(), R, y, cv=cv, method="decision_function")
    classes = np.unique(y)
    pred = classes[scores.argmax(axis=1)]
    print(
        f"\n5-fold attribution accuracy over {len(y)} images: {np.mean(pred == y):.3f} "
        f"(chance {1 / n_cameras:.3f})"
    )
    print(_confusion_table(list(classes), y, pred))
    same = scores[np.arange(len(y)), np.searchsorted(classes, y)]
    wrong = scores.copy()
    wrong[np.arange(len(y)), np.searchsorted(classes, y)] = -np.inf
    # Open-set threshold from known cameras only: the largest out-of-fold correlation of
    # an image with another camera's fingerprint.
    threshold = float(wrong.max())
    print(
        f"\nOut-of-fold NCC with the own camera's fingerprint: median {np.median(same):.4f}, "
        f"min {same.min():.4f}; with other cameras' fingerprints: max {threshold:.4f}."
    )
    clf = PRNUFingerprintClassifier(threshold=threshold).fit(R, y)
    rejected = np.mean(clf.predict(residuals[~known]) == "unknown")
    kept = np.mean(same >= threshold)
    print(
        f"Open set with that threshold: {rejected:.0%} of an unseen camera's images rejected "
        f"as 'unknown'; {kept:.0%} of the known cameras' images (out of fold) accepted."
    )
    print(f"\nDone in {time.perf_counter() - t0:.1f} s.")
    return 0


def main(argv=None) -> int:
    """Entry point of the ``gfprint`` console script."""
    parser = argparse.ArgumentParser(prog="gfprint", description="GAN image forensics.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="run the PRNU attribution demo on built-in data")
    p.add_argument("--quick", action="store_true", help="small and fast (seconds)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--n-jobs", type=int, default=None, help="parallel workers")
    p.set_defaults(func=demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
