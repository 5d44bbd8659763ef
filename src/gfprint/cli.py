"""The ``gfprint`` command: fingerprint, attribute, evaluate, cluster and localize images.

No forensic logic of its own: it drives ``ResidualExtractor``,
``PRNUFingerprintClassifier`` (``CameraFingerprintClassifier`` with ``--camera``) and
``FingerprintClustering`` over files, streams them in chunks, and formats what they
return; ``gfprint demo`` runs the zoo study of :func:`gfprint.studies.run_zoo_demo`.

Size policy: images of any size are fitted and attributed. At ``fit`` time, images
of mixed sizes are placed at the top-left corner of one canvas, the largest height by
the largest width (each fingerprint pixel the mean of the images that cover it), unless
``--size S`` asks for a centre crop of every image to S x S (images that do not fit are
reported and skipped; ``attribute`` and ``evaluate`` crop the same way for such a
model). An image of the fingerprints' size is scored aligned; any
other is scored at its best placement over all shifts (``--search scale`` adds a
scale search, for crops that were resized), and its row gives the offset found.

Exit status: 0 when every image was processed; 1 when some images could not be
(each has a row or a line saying why, and the others are all there); 2 for a usage
or set-up error (nothing was done); 130 on Ctrl-C; 141 when the output pipe closed.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import warnings
from pathlib import Path

from ._param_validation import validate_parameters
from ._utils import REAL_NAMES, atomic_path, confusion_table, progress
from .exceptions import GfprintError

__all__ = ["main"]

_CHUNK = 64  # images read and scored at a time
EXIT_IMAGES_FAILED, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_PIPE = 1, 2, 130, 141


class CommandError(GfprintError):
    """A user-facing error: printed as one line, exit status 2."""


# ---------------------------------------------------------------------- helpers
def _safe(text) -> str:
    """Any file name as printable text: undecodable bytes and control characters escaped."""
    raw = os.fsencode(text) if isinstance(text, (str, os.PathLike)) else str(text).encode()
    decoded = raw.decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in decoded)


def _show_progress(quiet) -> bool:
    """Progress bars go to a terminal only, and never with ``--quiet``."""
    return not quiet and sys.stderr.isatty()


def _progress(total, desc, quiet):
    return progress(total, desc, enabled=_show_progress(quiet))


def _note(args, text):
    if not args.quiet:
        print(f"gfprint {args.command}: {text}", file=sys.stderr)


def _image_files(items) -> list[str]:
    """Image files of files and folders (recursive, symbolic links followed once)."""
    from ._validation import _IMAGE_SUFFIXES

    files = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            found, seen = [], set()
            for top, dirs, names in os.walk(p, followlinks=True):
                real = os.path.realpath(top)
                if real in seen:  # a link back up the tree
                    dirs[:] = []
                    continue
                seen.add(real)
                dirs.sort()
                found += [
                    os.path.join(top, n) for n in sorted(names)
                    # A broken link named like an image stays: its row reports it.
                    if n.lower().endswith(_IMAGE_SUFFIXES)
                    and not os.path.isdir(os.path.join(top, n))
                ]
            if not found:
                raise CommandError(f"{_safe(p)}: no image files in this folder.")
            files += found
        elif p.is_file():
            files.append(os.fspath(p))
        else:
            raise CommandError(f"{_safe(p)}: no such file or folder.")
    return files


def _note_subfolders(args, root, sources):
    """Say which folders inside the source folders were not read (ROOT/<source>/<image>)."""
    inner = [_safe(f"{name}/{p.name}") for name in sources
             for p in sorted((Path(root) / name).iterdir())
             if p.is_dir() and not p.name.startswith(".")]
    if inner:
        more = f" and {len(inner) - 5} more" if len(inner) > 5 else ""
        _note(args, f"not read: {len(inner)} folder(s) inside the source folders (only "
                    f"ROOT/<source>/<image> files count): {', '.join(inner[:5])}{more}")


def _check_output(path, what="output"):
    """Refuse an output path that cannot be written, before any work is done."""
    path = Path(path)
    if path.is_dir():
        raise CommandError(f"{_safe(path)}: the {what} is a folder; give a file name.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise CommandError(f"{_safe(parent)}: no such folder for the {what}.")
    if not os.access(parent, os.W_OK):
        raise CommandError(f"{_safe(parent)}: cannot write the {what} here.")


def _refuse_overwriting(outputs, inputs):
    """Refuse an output that is one of the inputs, or that two outputs share.

    ``outputs`` holds ``(what, path)`` pairs (``path`` None when not asked for);
    ``inputs`` the image files and models the command reads. Checked before any work.
    """
    read = {os.path.realpath(p): p for p in inputs}
    written = {}
    for what, path in outputs:
        if path is None:
            continue
        real = os.path.realpath(path)
        if real in read:
            raise CommandError(
                f"{_safe(path)}: the {what} would overwrite an input ({_safe(read[real])})."
            )
        if real in written:
            raise CommandError(f"{_safe(path)}: given as both the {written[real]} and the {what}.")
        written[real] = what


def _emit(text):
    """Write to standard output in pieces, so that a reader who left is noticed soon."""
    for start in range(0, len(text), 1 << 16):
        sys.stdout.write(text[start : start + (1 << 16)])
        sys.stdout.flush()


def _write_atomic(path, data: bytes):
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def _read_one(path, crop):
    """One image, centre-cropped to ``crop`` (height, width) unless that is None."""
    from ._validation import read_image

    img = read_image(path)
    if crop is not None:
        h, w = img.shape[:2]
        if h < crop[0] or w < crop[1]:
            raise CommandError(
                f"image of {h}x{w} pixels is smaller than the crop of {crop[0]}x{crop[1]}"
            )
        top, left = (h - crop[0]) // 2, (w - crop[1]) // 2
        img = img[top : top + crop[0], left : left + crop[1]]
    return img


def _common_channels(paths):
    """The channel count (1 or 3) most of ``paths`` have, read from their headers.

    Unreadable files are left out (reading them reports them later); a tie gives 3.
    """
    from ._validation import _image_header

    counts = {1: 0, 3: 0}
    for path in paths:
        try:
            counts[_image_header(path)[2]] += 1
        except (GfprintError, ValueError, OSError):
            continue
    return 1 if counts[1] > counts[3] else 3


def _residual_chunks(paths, extractor, crop, args, desc, *, channels="common"):
    """Residuals of ``paths`` by chunk and size: yields ``(indices, residuals, errors)``.

    Each chunk's images are grouped by size, one stack per size. ``errors`` maps the
    index of every image of the chunk that could not be used to the reason (given
    with the chunk's first group); with ``--strict`` the first one stops the command
    instead. ``channels``: the channel count images must have; ``"common"`` (fitting,
    clustering) the one most of ``paths`` have, whatever their order; None when
    scoring against a model, which decides (images of other channels fail as a
    group).
    """
    import numpy as np

    from ._validation import _stack_mixed_dtypes

    if channels == "common":
        channels = _common_channels(paths)
    with _progress(len(paths), desc, args.quiet) as bar:
        for start in range(0, len(paths), _CHUNK):
            groups, errors = {}, {}
            for i in range(start, min(start + _CHUNK, len(paths))):
                try:
                    img = _read_one(paths[i], crop)
                    c = 1 if img.ndim == 2 else img.shape[2]
                    if channels is not None and c != channels:
                        raise CommandError(
                            f"{'grey' if c == 1 else 'colour'} image, but most images are "
                            f"{'grey' if channels == 1 else 'colour'}"
                        )
                except (GfprintError, ValueError, OSError) as exc:
                    reason = str(exc).splitlines()[0]
                    if getattr(args, "strict", False):
                        raise CommandError(f"{_safe(paths[i])}: {reason}") from None
                    errors[i] = reason
                    continue
                groups.setdefault(img.shape, ([], []))
                groups[img.shape][0].append(img)
                groups[img.shape][1].append(i)
            for images, ok in groups.values():
                mixed = _stack_mixed_dtypes(images)  # 8- and 16-bit: each by its own type
                stack = np.stack(images) if mixed is None else mixed
                try:
                    # No extractor: the classifier takes the images (camera mode).
                    residuals = stack if extractor is None else extractor.transform(stack)
                except ValueError as exc:  # e.g. too small for the wavelet levels asked
                    if getattr(args, "strict", False):
                        raise CommandError(f"{_safe(paths[ok[0]])}: {exc}") from None
                    errors.update(dict.fromkeys(ok, str(exc).splitlines()[0]))
                    continue
                yield np.array(ok, dtype=int), residuals, errors
                errors = {}
            if errors or not groups:
                yield np.array([], dtype=int), None, errors
            # After the residuals and what the caller did with them (scores, sums), so
            # that the bar does not run ahead of the work.
            bar.update(min(_CHUNK, len(paths) - start))


def _report_errors(args, errors, paths):
    for i, reason in sorted(errors.items()):
        print(f"gfprint {args.command}: {_safe(paths[i])}: {reason}", file=sys.stderr)


def _residual_settings(camera):
    """The residual settings a model records: the generator default, or the camera's."""
    from .residuals import CAMERA_SETTING, ResidualExtractor

    defaults = ResidualExtractor().get_params()
    return {k: defaults[k] for k in CAMERA_SETTING} | (dict(CAMERA_SETTING) if camera else {})


def _extractor(settings, jobs):
    from .residuals import ResidualExtractor

    return ResidualExtractor(**settings, n_jobs=jobs)


def _load_model(path):
    from . import PRNUFingerprintClassifier
    from .fingerprints import CameraFingerprintClassifier
    from .residuals import CAMERA_SETTING

    if not Path(path).is_file():
        raise CommandError(f"{_safe(path)}: model file not found.")
    meta = PRNUFingerprintClassifier.load_metadata(path)
    kind = CameraFingerprintClassifier if meta.get("camera") else PRNUFingerprintClassifier
    clf = kind.load(path)
    if len(clf.fingerprint_sources_) == 0:
        raise CommandError(f"{_safe(path)}: the model holds no fingerprint.")
    if not isinstance(meta.get("extractor"), dict):
        raise CommandError(
            f"{_safe(path)}: not a model written by 'gfprint fit' (no extractor settings)."
        )
    if "color" not in meta["extractor"]:
        # Written before 0.2, when the camera setting was the default and only the
        # denoiser, levels and sigma were recorded.
        meta["extractor"] = {**CAMERA_SETTING, **meta["extractor"]}
    return clf, meta


def _apply_decision_options(clf, args):
    """``--search``, ``--threshold`` or ``--fpr`` of attribute/evaluate over the model's."""
    if args.search is not None:
        clf.set_params(search=args.search)
    if args.threshold is not None:
        clf.set_params(threshold=args.threshold)
    elif args.fpr is not None:
        if not hasattr(clf, "null_scores_"):
            raise CommandError(
                "--fpr needs a model fitted with --fpr (it stores the similarities the "
                "threshold is read from); refit, or give --threshold."
            )
        clf.set_params(threshold="auto", false_alarm_rate=args.fpr)
        validate_parameters(clf)
    clf.threshold_  # noqa: B018 - a NaN or unusable threshold fails here, before the work


def _real_classes(names, requested):
    """The folder names that are real images: ``--real`` or the recognised names."""
    if requested is not None:
        if requested == ["none"]:
            return []
        unknown = [r for r in requested if r not in names]
        if unknown:
            raise CommandError(
                f"--real {unknown[0]}: no such source folder; the folders are {list(names)}."
            )
        return list(requested)
    return [n for n in names if n.lower() in REAL_NAMES]


def _integer(text, low, *, auto=False):
    """An integer of at least ``low`` (or ``"auto"`` when allowed) from the command line."""
    if auto and text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        wanted = "'auto' or " if auto else ""
        raise argparse.ArgumentTypeError(f"expected {wanted}an integer >= {low}, got {text!r}")
    return value


def _levels(text):
    return _integer(text, 1, auto=True)


def _sigma(text):
    import math

    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected 'auto' or a number > 0, got {text!r}")
    return value


def _finite(text):
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _rate(text):
    value = _finite(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a rate between 0 and 1, got {text!r}")
    return value


def _positive(text):
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _fraction(text):
    value = _finite(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def _resolution(text):
    if text.strip().lower() == "off":
        return None
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 'off' or a number of at least 0, got {text!r}")
    return value


def _window(text):
    return _integer(text, 2)


def _size(text):
    return _integer(text, 1)


def _jobs(text):
    """A worker count as joblib's ``n_jobs``: positive, or -1 for every CPU, -2 for all but one."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value == 0:
        raise argparse.ArgumentTypeError(
            f"expected a number of workers (-1: all CPUs), not 0, got {text!r}")
    return value


def _positive_fraction(text):
    value = _finite(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number above 0 and at most 1, got {text!r}")
    return value


# --------------------------------------------------------------------- commands
def cmd_fit(args) -> int:
    """``gfprint fit ROOT -o model.npz``: one fingerprint per source folder, streamed."""
    import numpy as np

    from . import PRNUFingerprintClassifier
    from .datasets import load_image_folder
    from .fingerprints import CameraFingerprintClassifier

    _check_output(args.output, "model file")
    data = load_image_folder(args.root, lazy=True)
    _refuse_overwriting([("model file", args.output)], data.paths)
    _note_subfolders(args, args.root, data.target_names)
    names = [str(n) for n in data.target_names]
    reals = _real_classes(names, args.real)
    y = data.target.astype(object)
    if len(reals) > 1:  # one null class: the real folders are merged into the first
        y[np.isin(data.target, reals)] = reals[0]
    y = y.astype(str)
    if reals:
        _note(args, f"real images (no fingerprint): {', '.join(reals)}")
    if set(reals) == set(names):
        raise CommandError(
            f"{_safe(args.root)}: every source folder is marked --real; at least one "
            "must be a source to fingerprint."
        )
    crop = None if args.size is None else (args.size, args.size)
    settings = _residual_settings(args.camera)
    for key in ("denoiser", "levels", "sigma"):
        if getattr(args, key) is not None:
            settings[key] = getattr(args, key)
    decision = dict(threshold=args.threshold, null_class=reals[0] if reals else None)
    if args.camera:
        # Chen et al.: MLE fingerprints from the images, detector on I * K.
        if settings["denoiser"] != "wavelet" or settings["sigma"] == "auto" or (
            settings["levels"] == "auto"
        ):
            raise CommandError(
                "--camera uses the wavelet denoiser with a fixed --levels and --sigma."
            )
        extractor = None
        clf = CameraFingerprintClassifier(
            similarity=args.similarity or "pce", search=args.search, levels=settings["levels"],
            sigma=settings["sigma"], n_jobs=args.jobs, **decision,
        )
    else:
        extractor = _extractor(settings, args.jobs)
        clf = PRNUFingerprintClassifier(
            similarity=args.similarity or "ncc", search=args.search, **decision
        )
    classes = np.unique(y)
    errors = {}
    channels = _common_channels(data.paths)  # read once for both passes
    for idx, R, bad in _residual_chunks(data.paths, extractor, crop, args, "fit",
                                        channels=channels):
        errors.update(bad)
        if R is not None:
            clf.partial_fit(R, y[idx], classes=classes)
    if not hasattr(clf, "classes_"):
        _report_errors(args, errors, data.paths)
        raise CommandError(f"{_safe(args.root)}: no image could be used.")
    if args.fpr is not None:  # a second pass: every image against the others' fingerprints
        for idx, R, _ in _residual_chunks(data.paths, extractor, crop, args, "calibrate",
                                          channels=channels):
            if R is not None:
                clf.partial_calibrate(R, y[idx])
        clf.set_params(threshold="auto", false_alarm_rate=args.fpr)
        clf.threshold_  # noqa: B018 - fails here when too few sources to calibrate
    _report_errors(args, errors, data.paths)
    fingerprinted = set(clf.fingerprint_classes_.tolist())
    empty = [str(c) for c, n in zip(clf.classes_, clf.n_images_per_class_)
             if n == 0 and c in fingerprinted]
    if empty:  # an all-zero fingerprint would score 0 and win against negative ones
        raise CommandError(
            f"no usable image for {', '.join(empty)}, so no fingerprint; nothing saved. "
            "Fix or remove the folder (the reasons are above)."
        )
    meta = {"extractor": settings, "crop": list(crop) if crop else None, "real": reals,
            "camera": bool(args.camera)}
    clf.save(args.output, metadata=meta)
    if not args.quiet:
        counts = ", ".join(f"{c}: {n}" for c, n in zip(clf.classes_, clf.n_images_per_class_))
        shape = "x".join(str(s) for s in clf.image_shape_[:2])
        line = f"Saved {len(clf.fingerprint_classes_)} fingerprints of {shape} ({counts})"
        if args.fpr is not None:
            line += f", threshold {clf.threshold_:.5g} for a false-alarm rate of {args.fpr:g}"
        print(f"{line} to {_safe(args.output)}")
    return EXIT_IMAGES_FAILED if errors else 0


def _score_paths(clf, meta, paths, args, desc):
    """Rows for ``paths``: decision, best and runner-up, every score, or an error."""
    import numpy as np

    camera = meta.get("camera", False)  # the camera classifier takes the images
    extractor = None if camera else _extractor(meta["extractor"], args.jobs)
    sources = [str(s) for s in clf.fingerprint_sources_]
    fingerprinted = {str(c) for c in clf.fingerprint_classes_}
    clf.threshold_  # noqa: B018 - a bad threshold fails here, before any work
    # A model fitted with --size saw centre crops, and its --fpr threshold was
    # calibrated on them: score the same crops.
    crop = tuple(meta["crop"]) if meta.get("crop") else None
    rows = [None] * len(paths)
    for idx, R, errors in _residual_chunks(paths, extractor, crop, args, desc,
                                           channels=None):
        if R is not None:
            try:
                # The search's placements and per-image thresholds, when it ran.
                found, scores, thresholds = clf._scored(R)
                pred = clf._predict_from_scores(scores, thresholds)
            except ValueError as exc:  # e.g. channels or a size the model cannot take
                if getattr(args, "strict", False):
                    raise CommandError(f"{_safe(paths[idx[0]])}: {exc}") from None
                errors = {**errors, **{i: str(exc).splitlines()[0] for i in idx}}
                R = None
        for i, reason in errors.items():
            rows[i] = {"image": _safe(paths[i]), "prediction": "", "decision": "error",
                       "score": None, "source": "", "runner_up": "", "runner_up_score": None,
                       "offset": "", "scale": None, "scores": {}, "error": reason}
        if R is None:
            continue
        order = np.argsort(-scores, axis=1)
        for k, i in enumerate(idx):
            best, second = order[k, 0], (order[k, 1] if scores.shape[1] > 1 else None)
            # A match is a prediction of a fingerprinted source: not "unknown" below the
            # threshold, nor the real class (not above the threshold, or 0 without one).
            match = str(pred[k]) in fingerprinted
            rows[i] = {
                "image": _safe(paths[i]),
                "prediction": str(pred[k]),
                "decision": "match" if match else "no match",
                "score": float(scores[k, best]),
                "source": sources[best],
                "runner_up": "" if second is None else sources[second],
                "runner_up_score": None if second is None else float(scores[k, second]),
                "offset": "" if found is None else
                "{},{}".format(*found.offset[k, best].tolist()),
                "scale": None if found is None else float(found.scale[k, best]),
                "scores": dict(zip(sources, map(float, scores[k]))),
                "error": "",
            }
    return rows


_COLUMNS = ("image", "prediction", "decision", "score", "source", "runner_up",
            "runner_up_score", "offset", "scale")


def _flat(row, sources):
    out = {k: row[k] for k in _COLUMNS}
    out.update({s: row["scores"].get(s) for s in sources})
    out["error"] = row["error"]
    return out


def _format_rows(rows, sources, fmt, summary=None) -> str:
    if fmt == "json":
        body = [{**{k: r[k] for k in _COLUMNS}, "scores": r["scores"], "error": r["error"]}
                for r in rows]
        doc = body if summary is None else {"summary": summary, "images": body}
        return json.dumps(doc, indent=2) + "\n"
    flat = [_flat(r, sources) for r in rows]
    fields = [*_COLUMNS, *sources, "error"]
    if fmt == "csv":
        buf = io.StringIO()
        if summary is not None:
            for key, value in summary.items():
                buf.write(f"# {key}: {json.dumps(value)}\n")
        writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(flat)
        return buf.getvalue()

    def cell(v):
        return "" if v is None else (f"{v:.5f}" if isinstance(v, float) else str(v))

    width = {f: max([len(f)] + [len(cell(r[f])) for r in flat]) for f in fields}
    lines = ["  ".join(f"{f:<{width[f]}}" for f in fields).rstrip()]
    lines += ["  ".join(f"{cell(r[f]):<{width[f]}}" for f in fields).rstrip() for r in flat]
    return "\n".join(lines) + "\n"


def cmd_attribute(args) -> int:
    """``gfprint attribute model.npz IMAGE_OR_DIR...``: one row per image."""
    clf, meta = _load_model(args.model)
    _apply_decision_options(clf, args)
    paths = _image_files(args.images)
    rows = _score_paths(clf, meta, paths, args, "attribute")
    _emit(_format_rows(rows, [str(s) for s in clf.fingerprint_sources_], args.format))
    failed = sum(r["decision"] == "error" for r in rows)
    if failed:
        print(f"gfprint attribute: {failed} of {len(rows)} images could not be attributed "
              "(decision 'error' in their rows).", file=sys.stderr)
    return EXIT_IMAGES_FAILED if failed else 0


def cmd_cluster(args) -> int:
    """``gfprint cluster IMAGE_OR_DIR... -o clusters.csv``: blind grouping by source."""
    import numpy as np

    from . import FingerprintClustering, PRNUFingerprintClassifier

    _check_output(args.output, "output")
    if args.model is not None:
        _check_output(args.model, "model file")
    clu = FingerprintClustering(
        threshold="auto" if args.threshold is None else args.threshold,
        min_fingerprint_correlation=args.min_correlation,
        resolution=args.resolution,
        min_cluster_size=args.min_size,
    )
    validate_parameters(clu)
    paths = _image_files(args.images)
    _refuse_overwriting([("output", args.output), ("model file", args.model)], paths)
    settings = _residual_settings(args.camera)
    crop = None if args.size is None else (args.size, args.size)
    extractor = _extractor(settings, args.jobs)
    by_size, errors = {}, {}
    for idx, R, bad in _residual_chunks(paths, extractor, crop, args, "residuals"):
        errors.update(bad)
        if R is not None:
            by_size.setdefault(R.shape[1:], []).append((idx, R))
    if not by_size:
        _report_errors(args, errors, paths)
        raise CommandError("no image could be used.")
    shape = max(by_size, key=lambda k: sum(len(i) for i, _ in by_size[k]))
    idx = np.concatenate([i for i, _ in by_size[shape]])
    R = np.concatenate([r for _, r in by_size[shape]])
    n_used = len(idx)
    if n_used < 2:
        _report_errors(args, errors, paths)  # the reasons, if files were the cause
        raise CommandError(f"clustering needs at least 2 images of one size, got {n_used}.")
    _note(args, f"clustering {n_used} residuals of {shape[0]}x{shape[1]}")
    clu.fit(R)
    rows = [{"image": _safe(p), "cluster": "", "cluster_size": None, "correlation": None,
             "matched": "", "error": errors.get(i, "")} for i, p in enumerate(paths)]

    def size_of(label):  # an image in no cluster stands alone
        return int(clu.cluster_sizes_[label]) if label >= 0 else 1

    for k, i in enumerate(idx):
        label = int(clu.labels_[k])
        corr = float(clu.member_correlation_[k])  # NaN when there is no cluster at all
        rows[i].update(cluster=label, correlation=corr if np.isfinite(corr) else None,
                       matched="cluster", cluster_size=size_of(label))
    # Images of other sizes: placed on the clusters' fingerprints at their best shift.
    others = [(j, r) for size, parts in by_size.items() if size != shape
              for i, stack in parts for j, r in zip(i.tolist(), stack)]
    if others:
        _note(args, f"matching {len(others)} residuals of other sizes to the clusters by a "
              "search over shifts")
        for (i, _), label in zip(others, clu.predict([r for _, r in others]).tolist()):
            rows[i].update(cluster=label, matched="search", cluster_size=size_of(label))
    fields = ["image", "cluster", "cluster_size", "correlation", "matched", "error"]
    buf = io.StringIO()
    buf.write(f"# threshold: {clu.threshold_:.6g}\n# null_sd: {clu.null_sd_:.6g}\n")
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write_atomic(args.output, buf.getvalue().encode())
    if args.model is not None and clu.n_clusters_:
        keep = clu.labels_ >= 0
        names = np.array([f"cluster{k}" for k in range(clu.n_clusters_)])
        clf = PRNUFingerprintClassifier().fit(R[keep], names[clu.labels_[keep]])
        clf.save(args.model, metadata={"extractor": settings, "crop": list(crop) if crop
                                       else None, "real": [], "camera": False})
    elif args.model is not None:
        _note(args, f"no cluster was found: {_safe(args.model)} was not written")
    _report_errors(args, errors, paths)
    if not args.quiet:
        sizes = ", ".join(map(str, clu.cluster_sizes_.tolist())) or "none"
        single = int((clu.labels_ < 0).sum())
        joined = sum(rows[i]["cluster"] != -1 for i, _ in others)
        searched = (f" Of {len(others)} images of other sizes, searched, {joined} joined a "
                    "cluster." if others else "")
        print(f"Found {clu.n_clusters_} clusters among {n_used} images (sizes {sizes}); "
              f"{single} images in no cluster.{searched} Rows written to {_safe(args.output)}"
              + (f"; fingerprints to {_safe(args.model)}"
                 if args.model is not None and clu.n_clusters_ else ""))
    return EXIT_IMAGES_FAILED if errors else 0


def cmd_localize(args) -> int:
    """``gfprint localize IMAGE -m model.npz -o map.png``: where the fingerprint is, or is not."""
    import numpy as np
    from PIL import Image

    _check_output(args.output, "map")
    fmt = Image.registered_extensions().get(Path(args.output).suffix.lower())
    if fmt not in ("PNG", "TIFF"):
        raise CommandError(f"{_safe(args.output)}: the map is written as .png or .tif.")
    if args.arrays is not None:
        _check_output(args.arrays, "arrays file")
    _refuse_overwriting([("map", args.output), ("arrays file", args.arrays)],
                        [args.image, args.model])
    clf, meta = _load_model(args.model)
    camera = meta.get("camera", False)
    source = None
    if args.source is not None:
        names = [str(s) for s in clf.fingerprint_sources_]
        if args.source not in names:
            raise CommandError(f"--source {args.source}: not in the model; its sources are "
                               f"{', '.join(names)}.")
        source = clf.fingerprint_sources_[names.index(args.source)]
    image = _read_one(args.image, None)
    # The camera classifier takes the image; a generator model, the image's residual.
    X = image[None] if camera else _extractor(meta["extractor"], args.jobs).transform(image[None])
    found = clf.localize(X, source=source, window=args.window, expected=args.expected)[0]
    # Bright where the image is suspect: generated material (a generator's fingerprint
    # present), or a region without the camera's fingerprint.
    suspect = 1.0 - found.probability if camera else found.probability
    buf = io.BytesIO()
    Image.fromarray(np.round(255 * suspect).astype(np.uint8)).save(buf, format=fmt)
    _write_atomic(args.output, buf.getvalue())
    if args.arrays is not None:
        buf = io.BytesIO()
        np.savez_compressed(buf, suspect=suspect, probability=found.probability,
                            log_odds=found.log_odds, ncc=found.ncc)
        _write_atomic(args.arrays, buf.getvalue())
    if not args.quiet:
        share = 1 - found.fraction if camera else found.fraction
        what = "lacks the fingerprint of" if camera else "carries the fingerprint of"
        print(f"{100 * share:.1f} % of the image {what} {_safe(found.source)} (placement "
              f"{found.offset[0]},{found.offset[1]}; window {found.window}; NCC where present "
              f"{found.expected:.4f}, null spread {found.null_sd:.4f}). Map written to "
              f"{_safe(args.output)}")
    return 0


def _summary(clf, meta, y, rows):
    """Accuracy, balanced accuracy, confusion, AUC and the operating point on this data."""
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, roc_auc_score

    ok = np.array([r["decision"] != "error" for r in rows], bool)
    y_ok = np.asarray(y)[ok]
    pred = np.array([r["prediction"] for r in rows], dtype=object)[ok].astype(str)
    labels = sorted(set(y_ok.tolist()) | set(pred.tolist()))
    threshold = clf.threshold_
    with warnings.catch_warnings():
        # Predictions outside the folder names ("unknown", another source) are expected.
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        balanced = float(balanced_accuracy_score(y_ok, pred)) if ok.any() else None
    out = {
        "images": len(rows),
        "errors": int((~ok).sum()),
        "accuracy": float(np.mean(pred == y_ok)) if ok.any() else None,
        "balanced_accuracy": balanced,
        "labels": labels,
        "confusion_matrix": confusion_matrix(y_ok, pred, labels=labels).tolist()
        if ok.any() else [],
        "threshold": threshold,
        "similarity": clf.similarity,
    }
    known = set(str(c) for c in clf.classes_)
    reals = set(meta.get("real") or []) | ({str(clf.null_class)} if clf.null_class else set())
    is_real = np.isin(y_ok, sorted(reals)) if reals else np.zeros(len(y_ok), bool)
    outsiders = ~np.isin(y_ok, sorted(known)) | is_real  # images no fingerprint should claim
    best = np.array([r["score"] for r in rows], dtype=object)[ok].astype(float)
    if threshold is not None and outsiders.any():
        # A false alarm is an image no fingerprint should claim that one claims: its
        # decision, which used its own threshold where the search set one per image.
        matched = np.array([r["decision"] == "match" for r in rows])[ok]
        out["false_alarm_rate"] = float(np.mean(matched[outsiders]))
        out["false_alarm_images"] = int(outsiders.sum())
    out["auc_real_vs_gan"] = None
    if is_real.any() and (~is_real).any():
        out["auc_real_vs_gan"] = float(roc_auc_score(~is_real, best))
    if not (set(y_ok.tolist()) & known):
        out["warning"] = (
            f"none of the folders ({', '.join(sorted(set(y_ok.tolist())))}) is a class of "
            f"the model ({', '.join(sorted(known))}): accuracy compares unrelated names"
        )
    return out


def _summary_text(s) -> str:
    lines = [f"{s['images']} images, {s['errors']} could not be used"]
    if s["accuracy"] is not None:
        lines.append(f"accuracy {s['accuracy']:.4f}, balanced accuracy "
                     f"{s['balanced_accuracy']:.4f}")
    shown = "none (the best match wins)" if s["threshold"] is None else f"{s['threshold']:.5g}"
    lines.append(f"threshold: {shown} ({s['similarity']})")
    if "false_alarm_rate" in s:
        lines.append(f"false-alarm rate on this data: {s['false_alarm_rate']:.4f} "
                     f"({s['false_alarm_images']} images of real or unknown sources)")
    if s["auc_real_vs_gan"] is not None:
        lines.append("real vs GAN (score: best generator similarity): AUC "
                     f"{s['auc_real_vs_gan']:.4f}")
    if s["labels"]:
        import numpy as np

        cm = np.array(s["confusion_matrix"])
        y_true = np.repeat(s["labels"], cm.sum(axis=1))
        y_pred = np.concatenate([np.repeat(s["labels"], row) for row in cm])
        lines += ["", confusion_table(s["labels"], y_true, y_pred)]
    return "\n".join(lines) + "\n"


def cmd_evaluate(args) -> int:
    """``gfprint evaluate model.npz ROOT``: per-image rows and the summary."""
    from .datasets import load_image_folder

    clf, meta = _load_model(args.model)
    _apply_decision_options(clf, args)
    if args.plots:  # a folder, made (with its parents) if missing
        plots = Path(args.plots)
        if plots.exists() and not plots.is_dir():
            raise CommandError(f"{_safe(plots)}: --plots names a folder, and this is a file.")
        nearest = next((p for p in (plots, *plots.parents) if p.exists()), Path("."))
        if not os.access(nearest, os.W_OK):
            raise CommandError(f"{_safe(nearest)}: cannot write the plots here.")
    data = load_image_folder(args.root, lazy=True)
    _note_subfolders(args, args.root, data.target_names)
    y = [str(t) for t in data.target]
    if clf.null_class is not None:  # this folder's real images: the model's real class
        reals = set(meta.get("real") or [])
        y = [str(clf.null_class) if t in reals or t.lower() in REAL_NAMES else t for t in y]
    rows = _score_paths(clf, meta, data.paths, args, "evaluate")
    summary = _summary(clf, meta, y, rows)
    sources = [str(s) for s in clf.fingerprint_sources_]
    if args.format == "text":
        _emit(_summary_text(summary))
    else:
        _emit(_format_rows(rows, sources, args.format, summary))
    if "warning" in summary:
        print(f"gfprint evaluate: warning: {summary['warning']}", file=sys.stderr)
    if args.plots:
        _evaluate_plots(args.plots, y, rows, summary, sources, meta, clf)
    failed = summary["errors"]
    if failed and args.format == "text":  # the text report has no rows to show them
        for r in rows:
            if r["decision"] == "error":
                print(f"gfprint evaluate: {r['image']}: {r['error']}", file=sys.stderr)
    if failed:
        where = "listed above" if args.format == "text" else "decision 'error' in their rows"
        print(f"gfprint evaluate: {failed} of {len(rows)} images could not be used "
              f"({where}).", file=sys.stderr)
    return EXIT_IMAGES_FAILED if failed else 0


def _evaluate_plots(out, y, rows, summary, sources, meta, clf):
    import numpy as np

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("Plots skipped: matplotlib is not installed (pip install 'gfprint[plot]').",
              file=sys.stderr)
        return
    import matplotlib.pyplot as plt

    from .plotting import plot_confusion_matrix, plot_correlation_histograms, plot_roc

    ok = [i for i, r in enumerate(rows) if r["decision"] != "error"]
    y_ok = np.array([y[i] for i in ok])
    pred = np.array([rows[i]["prediction"] for i in ok])
    scores = np.array([[rows[i]["scores"][s] for s in sources] for i in ok])
    classes = np.array([str(c) for c in clf.fingerprint_classes_])
    own = y_ok[:, None] == classes[None, :]
    figures = {
        "confusion_matrix.png": plot_confusion_matrix(y_ok, pred, summary["labels"]),
        "correlation_histograms.png": plot_correlation_histograms(scores[own], scores[~own]),
    }
    if summary["auc_real_vs_gan"] is not None:
        reals = set(meta.get("real") or []) | ({str(clf.null_class)} if clf.null_class else set())
        is_gan = ~np.isin(y_ok, sorted(reals))
        figures["roc_real_vs_gan.png"] = plot_roc(
            is_gan, scores.max(axis=1), pos_label=True, name="PRNU"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        _write_atomic(out / name, buf.getvalue())
    print(f"Plots written to {_safe(out.resolve())}: {', '.join(figures)}", file=sys.stderr)


def cmd_demo(args) -> int:
    """``gfprint demo``: the built-in GAN zoo study (:func:`gfprint.studies.run_zoo_demo`)."""
    from ._optional import require
    from .studies import run_zoo_demo

    # the demo samples the zoo (torch, scikit-image's photos) and trains CNNAttributor
    require("torch", "skorch", "skimage", what="gfprint demo", extra="demo")
    result = run_zoo_demo(
        quick=args.quick,
        n_jobs=args.jobs,
        random_state=args.seed,
        verbose=_show_progress(args.quiet),
    )
    _emit(result.report() + "\n")
    try:
        written = result.save_plots(args.out)
    except ImportError:
        _emit("\n[6] Plots skipped: matplotlib is not installed (pip install 'gfprint[plot]').\n")
    else:
        _emit(f"\n[6] Plots written to {_safe(Path(args.out).resolve())}: {', '.join(written)}\n")
    _emit(f"\nDone in {result.seconds:.1f} s.\n")
    return 0


# ------------------------------------------------------------------------ parser
_EXAMPLES = {
    "fit": """examples:
  gfprint fit dataset/ -o model.npz               dataset/<source>/*.png, one fingerprint each
  gfprint fit dataset/ -o model.npz --fpr 0.01    + a threshold for a 1 % false-alarm rate
  gfprint fit cnndet/ -o model.npz --real 0_real  real images get no fingerprint
  gfprint fit photos/ -o cams.npz --camera        camera identification (MLE, PCE)""",
    "attribute": """examples:
  gfprint attribute model.npz suspicious/ --format csv > rows.csv
  gfprint attribute model.npz a.png b.jpg --threshold 0.01
  gfprint attribute cams.npz photo.jpg --threshold 60       (a PCE model: PCE > 60)""",
    "evaluate": """examples:
  gfprint evaluate model.npz held_out/                    summary and confusion matrix
  gfprint evaluate model.npz held_out/ --format json > report.json
  gfprint evaluate model.npz held_out/ --fpr 0.05 --plots report/""",
    "cluster": """examples:
  gfprint cluster dump/ -o clusters.csv                  which images share a source
  gfprint cluster dump/ -o clusters.csv -m clusters.npz  + a model for 'gfprint attribute'
  gfprint cluster photos/ -o cams.csv --camera           camera-PRNU residuals""",
    "localize": """examples:
  gfprint localize photo.png -m cams.npz -o map.png       where the camera's fingerprint is missing
  gfprint localize photo.png -m model.npz -o map.png      where a generator's fingerprint is
  gfprint localize photo.png -m model.npz -o map.png --source stylegan --window 128""",
    "demo": """examples:
  gfprint demo --quick        seconds: a smoke run
  gfprint demo --out plots/   the full study, plots in plots/""",
}


_SEARCH_HELP = (
    "placement of an image on the fingerprints: auto (aligned at the fingerprints' size, "
    "best shift otherwise), none (aligned; sizes must match), shift (best shift always), "
    "scale (best shift and scale 1-1.35: crops resized back)"
)


def _parser():
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="gfprint",
        description="GAN image forensics: PRNU-style fingerprints of generators and cameras.",
        epilog="Run 'gfprint COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"gfprint {__version__}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--jobs", type=_jobs, default=None,
                        help="parallel workers (-1: all CPUs)")
    common.add_argument("--quiet", action="store_true", help="no progress bar or notes")
    common.add_argument(
        "--strict", action="store_true", help="stop at the first image that cannot be used"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name, help_):
        return sub.add_parser(
            name, parents=[common], help=help_, description=help_, epilog=_EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = add("fit", "fingerprints of the source folders of ROOT (ROOT/<source>/*.png)")
    p.add_argument("root", help="folder of source folders: ROOT/<source>/*.png")
    p.add_argument("-o", "--output", required=True, help="model file to write (.npz)")
    p.add_argument(
        "--camera", action="store_true",
        help="camera identification (Chen et al. 2008): camera-PRNU residual (grey, "
        "zero-mean, Wiener-DFT, sigma 5, 4 levels), maximum-likelihood fingerprints and "
        "the detector on image intensity x fingerprint; PCE by default",
    )
    p.add_argument(
        "--real", action="append", default=None, metavar="NAME",
        help="a source folder of real images, which gets no fingerprint (repeatable; "
        "default: folders named real or 0_real; 'none' for no such folder)",
    )
    p.add_argument("--similarity", choices=["ncc", "pce"], default=None,
                   help="similarity of residual and fingerprint (default ncc; pce with "
                   "--camera)")
    p.add_argument("--denoiser", default=None,
                   choices=["wavelet", "wiener", "gaussian", "median"],
                   help="denoiser of the residual (default wavelet)")
    p.add_argument("--levels", type=_levels, default=None,
                   help="wavelet levels or 'auto' (default auto; 4 with --camera, which "
                   "takes a number)")
    p.add_argument("--sigma", type=_sigma, default=None,
                   help="denoiser noise std in 8-bit levels, or 'auto' per image "
                   "(default 3; 5 with --camera, which takes a number)")
    p.add_argument("--size", type=_size, default=None,
                   help="centre-crop every image to SIZE x SIZE, here and when the model "
                   "scores images (default: images of mixed sizes share one canvas, "
                   "placed at its top-left corner)")
    p.add_argument("--search", choices=["auto", "none", "shift", "scale"], default="auto",
                   help=_SEARCH_HELP + " (stored in the model)")
    decision = p.add_mutually_exclusive_group()
    decision.add_argument("--threshold", type=_finite, default=None,
                          help="decision threshold stored in the model")
    decision.add_argument("--fpr", type=_rate, default=None,
                          help="estimate the threshold for this false-alarm rate (e.g. 0.01)")
    p.set_defaults(func=cmd_fit)

    for name, help_ in (("attribute", "attribute images to the model's sources, one row each"),
                        ("evaluate", "score a model on ROOT/<source>/ with known labels")):
        p = add(name, help_)
        p.add_argument("model", help="model file from 'gfprint fit'")
        if name == "attribute":
            p.add_argument("images", nargs="+", help="image files or folders")
        else:
            p.add_argument("root", help="folder of source folders with known labels")
            p.add_argument("--plots", default=None, help="folder for plots (needs matplotlib)")
        decision = p.add_mutually_exclusive_group()
        decision.add_argument("--threshold", type=_finite, default=None,
                              help="below it: no match ('unknown', or the real class)")
        decision.add_argument("--fpr", type=_rate, default=None,
                              help="threshold for this false-alarm rate (a model fitted "
                              "with --fpr)")
        p.add_argument("--search", choices=["auto", "none", "shift", "scale"], default=None,
                       help=_SEARCH_HELP + " (default: the model's)")
        formats = ["table", "csv", "json"] if name == "attribute" else ["text", "csv", "json"]
        p.add_argument("--format", default=formats[0], choices=formats)
        p.set_defaults(func=cmd_attribute if name == "attribute" else cmd_evaluate)

    p = add("cluster", "group unlabelled images by the source whose fingerprint they carry")
    p.add_argument("images", nargs="+", help="image files or folders")
    p.add_argument("-o", "--output", required=True, help="CSV file to write, one row per image")
    p.add_argument("-m", "--model", default=None,
                   help="also write the clusters' fingerprints as a model file (.npz) for "
                   "'gfprint attribute'")
    p.add_argument("--camera", action="store_true",
                   help="camera-PRNU residual (grey, zero-mean, Wiener-DFT, sigma 5)")
    p.add_argument("--size", type=_size, default=None,
                   help="centre-crop every image to SIZE x SIZE (default: the images of the "
                   "most common size are clustered, the others placed on the clusters by a "
                   "search over shifts)")
    p.add_argument("--threshold", type=_positive, default=None,
                   help="NCC two single images must reach to be grouped (default: from a "
                   "null model, for a 0.001 chance of a false pair)")
    p.add_argument("--min-correlation", type=_fraction, default=0.3,
                   help="noise-corrected fingerprint correlation two groups need to merge "
                   "(default 0.3)")
    p.add_argument("--resolution", type=_resolution, default=0.5,
                   help="second stage: clusters linked by more than RESOLUTION times the "
                   "chance number of mutual-neighbour pairs merge (default 0.5; 'off' skips "
                   "it)")
    p.add_argument("--min-size", type=lambda t: _integer(t, 2), default=5,
                   help="smallest cluster reported; images of smaller groups get cluster -1 "
                   "(default 5)")
    p.set_defaults(func=cmd_cluster)

    p = add("localize", "map where in an image a model's fingerprint is (or is missing)")
    p.add_argument("image", help="image file")
    p.add_argument("-m", "--model", required=True, help="model file from 'gfprint fit'")
    p.add_argument("-o", "--output", required=True,
                   help="map to write (.png or .tif, 8-bit grey): bright where a generator's "
                   "fingerprint is, or with a camera model (fit --camera), where the camera's "
                   "fingerprint is missing; 255 is probability 1")
    p.add_argument("--source", default=None,
                   help="the source whose fingerprint to map (default: the image's best match)")
    p.add_argument("--window", type=_window, default=64,
                   help="side of the sliding window in pixels (default 64): larger is steadier "
                   "but blurs the boundaries; try 128 after JPEG")
    p.add_argument("--expected", type=_positive_fraction, default=None,
                   help="NCC of the source's own images in a window, when known (default: "
                   "estimated from the image)")
    p.add_argument("--arrays", default=None,
                   help="also write the maps as arrays (.npz: suspect, probability, log_odds, "
                   "ncc)")
    p.set_defaults(func=cmd_localize)

    p = add("demo", "PRNU and CNN study on the built-in GAN zoo")
    p.add_argument("--quick", action="store_true", help="small and fast (seconds)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default="gfprint-demo", help="folder for the plots")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``gfprint`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()
        return code
    except KeyboardInterrupt:
        print(f"gfprint {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): say nothing, and let nothing more be
        # written to the closed pipe at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    except (GfprintError, ValueError, TypeError, OSError, ImportError) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"gfprint {args.command}: error: {message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
