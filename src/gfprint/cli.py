"""The ``gfprint`` command: fingerprint, attribute and evaluate folders of images.

No logic of its own beyond I/O and reporting: it drives ``ResidualExtractor`` and
``PRNUFingerprintClassifier``.

Size policy: every image is scored at the fingerprints' size. A larger image is
centre-cropped to that size; a smaller one is refused with a message naming it. At
``fit`` time, all images of ROOT must share one size unless ``--size S`` asks for a
centre crop of every image to S x S.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path

import numpy as np

from .exceptions import GfprintError

__all__ = ["main"]

_CHUNK = 64  # images read and scored at a time


class CommandError(GfprintError):
    """A user-facing error: printed as one line, exit status 2."""


# ---------------------------------------------------------------------- helpers
def _show_progress(quiet) -> bool:
    """Progress bars go to a terminal only, and never with ``--quiet``."""
    return not quiet and sys.stderr.isatty()


def _progress(total, desc, quiet):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="img", disable=not _show_progress(quiet))


def _center_crop(image, size, path):
    h, w = image.shape[:2]
    if h < size[0] or w < size[1]:
        raise CommandError(
            f"{path}: image of {h}x{w} pixels is smaller than the model's {size[0]}x{size[1]}."
        )
    top, left = (h - size[0]) // 2, (w - size[1]) // 2
    return image[top : top + size[0], left : left + size[1]]


def _read_stack(paths, size, crop):
    """Read images into one array: centre-cropped to ``size``, or required to match it."""
    from ._validation import _stack_mixed_dtypes, read_image

    images = []
    for p in paths:
        img = read_image(p)
        if crop:
            img = _center_crop(img, size, p)
        elif img.shape[:2] != tuple(size):
            raise CommandError(
                f"{p}: image of {img.shape[0]}x{img.shape[1]} pixels, but the others are "
                f"{size[0]}x{size[1]}; use --size to centre-crop all images to one size."
            )
        if images and img.shape != images[0].shape:
            raise CommandError(
                f"{p}: image of shape {img.shape} differs from {paths[0]} ({images[0].shape}) "
                "in its channels."
            )
        images.append(img)
    mixed = _stack_mixed_dtypes(images)  # 8- and 16-bit files: each scaled by its own type
    return np.stack(images) if mixed is None else mixed


def _residuals(paths, extractor, size, crop, quiet, desc):
    """Residuals of ``paths`` in chunks, with a progress bar on a terminal."""
    out = []
    with _progress(len(paths), desc, quiet) as bar:
        for s in range(0, len(paths), _CHUNK):
            chunk = paths[s : s + _CHUNK]
            out.append(extractor.transform(_read_stack(chunk, size, crop)))
            bar.update(len(chunk))
    return np.concatenate(out)


def _extractor(settings, jobs):
    from .residuals import ResidualExtractor

    return ResidualExtractor(**settings, n_jobs=jobs)


def _load_model(path):
    from . import PRNUFingerprintClassifier
    from .residuals import CAMERA_SETTING

    if not Path(path).is_file():
        raise CommandError(f"{path}: model file not found.")
    clf = PRNUFingerprintClassifier.load(path)
    meta = PRNUFingerprintClassifier.load_metadata(path)
    if not isinstance(meta.get("extractor"), dict):
        raise CommandError(f"{path}: not a model written by 'gfprint fit' (no extractor settings).")
    if "color" not in meta["extractor"]:
        # Written before 0.2, when the camera setting was the default and only the
        # denoiser, levels and sigma were recorded.
        meta["extractor"] = {**CAMERA_SETTING, **meta["extractor"]}
    return clf, meta


def _levels(text):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 'auto' or an integer >= 1, got {text!r}")
    return value


def _sigma(text):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number > 0, got {text!r}")
    return value


def _image_files(items):
    from ._validation import _IMAGE_SUFFIXES

    files = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found = sorted(
                q for q in p.rglob("*") if q.is_file() and q.name.lower().endswith(_IMAGE_SUFFIXES)
            )
            if not found:
                raise CommandError(f"{p}: no image files in this folder.")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise CommandError(f"{p}: no such file or folder.")
    return [os.fspath(f) for f in files]


def _write_atomic(path, data: bytes):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# --------------------------------------------------------------------- commands
def cmd_fit(args) -> int:
    """``gfprint fit ROOT -o model.npz``: one fingerprint per source folder."""
    from . import PRNUFingerprintClassifier
    from .datasets import load_image_folder

    data = load_image_folder(args.root, lazy=True)
    from ._validation import _image_header

    crop = args.size is not None
    size = (args.size, args.size) if crop else _image_header(data.paths[0])[:2]
    from .residuals import CAMERA_SETTING, ResidualExtractor

    settings = {k: v for k, v in ResidualExtractor().get_params().items() if k in CAMERA_SETTING}
    if args.camera:
        settings.update(CAMERA_SETTING)
    for key in ("denoiser", "levels", "sigma"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    R = _residuals(data.paths, _extractor(settings, args.jobs), size, crop, args.quiet, "fit")
    threshold = "auto" if args.fpr is not None else args.threshold
    clf = PRNUFingerprintClassifier(threshold=threshold, false_alarm_rate=args.fpr or 0.01)
    clf.fit(R, data.target)
    meta = {"extractor": settings, "crop": list(size) if crop else None}
    clf.save(args.output, metadata=meta)
    if not args.quiet:
        counts = ", ".join(f"{c}: {n}" for c, n in zip(clf.classes_, clf.n_images_per_class_))
        print(
            f"Saved {len(clf.classes_)} fingerprints of {R.shape[1]}x{R.shape[2]} "
            f"({counts}) to {args.output}"
        )
    return 0


def _score(clf, meta, paths, args, desc):
    size = tuple(clf.image_shape_[:2])
    R = _residuals(paths, _extractor(meta["extractor"], args.jobs), size, True, args.quiet, desc)
    return R, clf.similarity_scores(R)


def cmd_attribute(args) -> int:
    """``gfprint attribute model.npz IMAGE_OR_DIR...``: one row per image."""
    clf, meta = _load_model(args.model)
    if args.threshold is not None:
        clf.set_params(threshold=args.threshold)
    paths = _image_files(args.images)
    R, scores = _score(clf, meta, paths, args, "attribute")
    pred = clf.predict(R)
    names = [str(c) for c in clf.fingerprint_classes_]
    rows = [
        {"image": p, "source": str(s), **{n: float(v) for n, v in zip(names, row)}}
        for p, s, row in zip(paths, pred, scores)
    ]
    if args.format == "json":
        text = json.dumps(rows, indent=2) + "\n"
    elif args.format == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=["image", "source", *names])
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    else:
        width = max(len(r["image"]) for r in rows)
        head = f"{'image':<{width}}  {'source':<14}" + "".join(f"{n:>14}" for n in names)
        lines = [head] + [
            f"{r['image']:<{width}}  {r['source']:<14}" + "".join(f"{r[n]:>14.5f}" for n in names)
            for r in rows
        ]
        text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    return 0


def cmd_evaluate(args) -> int:
    """``gfprint evaluate model.npz ROOT``: accuracy, per-source report, confusion, AUC."""
    from sklearn.metrics import classification_report, roc_auc_score

    from ._demo import confusion_table
    from .datasets import load_image_folder

    clf, meta = _load_model(args.model)
    if args.threshold is not None:
        clf.set_params(threshold=args.threshold)
    data = load_image_folder(args.root, lazy=True)
    R, scores = _score(clf, meta, data.paths, args, "evaluate")
    y, pred = data.target, clf.predict(R)
    labels = sorted(set(y.tolist()) | set(pred.tolist()))
    print(f"{len(y)} images, accuracy {np.mean(pred == y):.4f}\n")
    print(classification_report(y, pred, labels=labels, zero_division=0))
    print(confusion_table(labels, y, pred))
    fp_classes = [str(c) for c in clf.fingerprint_classes_]
    gan_cols = [i for i, c in enumerate(fp_classes) if c != "real"]
    is_gan = y != "real"
    auc = None
    if "real" in y.tolist() and is_gan.any() and gan_cols:
        auc = float(roc_auc_score(is_gan, scores[:, gan_cols].max(axis=1)))
        print(f"\nReal vs GAN (score: highest correlation with a GAN fingerprint): AUC {auc:.4f}")
    if args.plots:
        _evaluate_plots(args.plots, y, pred, labels, scores, fp_classes, is_gan, gan_cols, auc)
    return 0


def _evaluate_plots(out, y, pred, labels, scores, fp_classes, is_gan, gan_cols, auc):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("Plots skipped: matplotlib is not installed (pip install 'gfprint[plot]').")
        return
    import matplotlib.pyplot as plt

    from .plotting import plot_confusion_matrix, plot_correlation_histograms, plot_roc

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    own = y[:, None] == np.array(fp_classes)[None, :]
    figures = {
        "confusion_matrix.png": plot_confusion_matrix(y, pred, labels),
        "correlation_histograms.png": plot_correlation_histograms(scores[own], scores[~own]),
    }
    if auc is not None:
        figures["roc_real_vs_gan.png"] = plot_roc(
            is_gan, scores[:, gan_cols].max(axis=1), pos_label=True, name="PRNU"
        )
    for name, fig in figures.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        _write_atomic(out / name, buf.getvalue())
    print(f"Plots written to {out.resolve()}: {', '.join(figures)}")


def cmd_demo(args) -> int:
    """``gfprint demo``: the built-in GAN zoo study."""
    from ._demo import run

    try:
        from . import nn  # noqa: F401 - the demo trains CNNAttributor on the torch zoo
    except ImportError as exc:
        raise ImportError(f"{exc} (or 'gfprint[demo]', which adds the plots)") from None
    run(
        quick=args.quick,
        n_jobs=args.jobs,
        seed=args.seed,
        out_dir=args.out,
        verbose=_show_progress(args.quiet),
    )
    return 0


# ------------------------------------------------------------------------ parser
def _parser():
    parser = argparse.ArgumentParser(
        prog="gfprint", description="GAN image forensics: PRNU-style fingerprints."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--jobs", type=int, default=None, help="parallel workers")
    common.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("fit", parents=[common], help="one fingerprint per ROOT/<source>/")
    p.add_argument("root", help="folder of source folders: ROOT/<source>/*.png")
    p.add_argument("-o", "--output", required=True, help="model file to write (.npz)")
    p.add_argument(
        "--camera",
        action="store_true",
        help="camera-PRNU residual (grey, zero-mean, Wiener-DFT, sigma 5, 4 levels) instead "
        "of the generator (GAN) default",
    )
    p.add_argument(
        "--denoiser",
        default=None,
        choices=["wavelet", "wiener", "gaussian", "median"],
        help="denoiser of the residual (default wavelet)",
    )
    p.add_argument(
        "--levels", type=_levels, default=None, help="wavelet levels or 'auto' (default auto)"
    )
    p.add_argument(
        "--sigma",
        type=_sigma,
        default=None,
        help="denoiser noise std in 8-bit levels, or 'auto' per image (default 3; 5 with --camera)",
    )
    p.add_argument("--size", type=int, default=None, help="centre-crop every image to SIZE x SIZE")
    decision = p.add_mutually_exclusive_group()
    decision.add_argument("--threshold", type=float, default=None, help="open-set NCC threshold")
    decision.add_argument(
        "--fpr",
        type=float,
        default=None,
        help="open-set threshold estimated for this false-alarm rate (e.g. 0.01)",
    )
    p.set_defaults(func=cmd_fit)

    p = sub.add_parser("attribute", parents=[common], help="attribute images to sources")
    p.add_argument("model", help="model file from 'gfprint fit'")
    p.add_argument("images", nargs="+", help="image files or folders")
    p.add_argument("--threshold", type=float, default=None, help="below it: 'unknown'")
    p.add_argument("--format", default="table", choices=["table", "csv", "json"])
    p.set_defaults(func=cmd_attribute)

    p = sub.add_parser("evaluate", parents=[common], help="score a model on ROOT/<source>/")
    p.add_argument("model", help="model file from 'gfprint fit'")
    p.add_argument("root", help="folder of source folders with known labels")
    p.add_argument("--threshold", type=float, default=None, help="below it: 'unknown'")
    p.add_argument("--plots", default=None, help="folder for plots (needs matplotlib)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("demo", parents=[common], help="PRNU study on the built-in GAN zoo")
    p.add_argument("--quick", action="store_true", help="small and fast (seconds)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="gfprint-demo", help="folder for the plots")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``gfprint`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (GfprintError, ValueError, TypeError, OSError, ImportError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"gfprint {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
