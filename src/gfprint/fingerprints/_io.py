"""Fingerprint files: ``.npz`` without pickle, written atomically, checked on load.

The checksum only detects accidental corruption (anyone can recompute it), so a file
is never trusted: every array is checked for its declared size against what is stored
before it is read, then for its dtype and shape against the others, and the stored
parameters go through the estimator's own validation before anything is built.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import zipfile

import numpy as np

from .._utils import atomic_path

__all__ = ["FORMAT_VERSION", "read_fingerprint_file", "write_fingerprint_file"]

FORMAT_VERSION = 2  # 2: per-source fingerprints and the automatic threshold's scores
_READABLE = (1, 2)
_REQUIRED = ("format_version", "params", "metadata", "classes", "n_images_per_class",
             "sums", "image_shape", "checksum")


def checksum(arrays) -> str:
    """SHA-256 over the names, dtypes, shapes and bytes of the arrays, in name order."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{arr.dtype.str}|{arr.shape}|".encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


def write_fingerprint_file(path, arrays):
    """Write ``arrays`` plus their checksum to ``path`` atomically."""
    arrays = dict(arrays, format_version=np.int64(FORMAT_VERSION))
    arrays["checksum"] = np.array(checksum(arrays))
    with atomic_path(path, suffix=".npz") as tmp:  # np.savez would add .npz itself
        np.savez(tmp, **arrays)


class _Bad(ValueError):
    pass


def _read_members(path):
    """Every array of the archive, each checked against its stored size before reading."""
    out = {}
    with open(path, "rb") as fh, zipfile.ZipFile(fh) as archive:
        for info in archive.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, dtype = read_header(member)
                if dtype.hasobject:
                    raise _Bad(f"array {name!r} holds Python objects")
                declared = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
                if declared > info.file_size:
                    raise _Bad(
                        f"array {name!r} declares shape {shape} ({declared} bytes) but "
                        f"{info.file_size} bytes are stored"
                    )
                out[name] = np.lib.format.read_array(
                    archive.open(info), allow_pickle=False
                )
    return out


def read_fingerprint_file(path) -> dict:
    """Read and check a fingerprint file; return its arrays (checksum removed)."""
    where = repr(os.fspath(path))
    if not os.path.isfile(path):  # a plain "no such file", not "not a fingerprint file"
        raise FileNotFoundError(errno.ENOENT, "no such fingerprint file", os.fspath(path))
    try:
        arrays = _read_members(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(
            f"{where} is not a fingerprint file written by PRNUFingerprintClassifier.save: "
            f"{exc}"
        ) from exc
    missing = [k for k in _REQUIRED if k not in arrays]
    if missing:
        raise ValueError(f"{where} is not a fingerprint file: it lacks {missing}.")
    version = arrays["format_version"]
    if version.shape != () or version.dtype.kind not in "iu":
        raise ValueError(f"{where} has a malformed format version.")
    if int(version) not in _READABLE:
        raise ValueError(
            f"{where} has format version {int(version)}; this gfprint reads versions "
            f"{list(_READABLE)}."
        )
    stored = str(arrays.pop("checksum"))
    if stored != checksum(arrays):
        raise ValueError(f"{where} has been modified since it was saved (checksum mismatch).")
    _check_structure(arrays, where)
    return arrays


def _check_structure(arrays, where):
    def bad(msg):
        raise ValueError(f"{where} is inconsistent: {msg}.")

    for key in ("params", "metadata"):
        if arrays[key].shape != () or arrays[key].dtype.kind != "U":
            bad(f"{key} must be a JSON string")
        try:
            value = json.loads(str(arrays[key]))
        except ValueError:
            bad(f"{key} is not valid JSON")
        if not isinstance(value, dict):
            bad(f"{key} must be a JSON object")
    classes, counts = arrays["classes"], arrays["n_images_per_class"]
    shape, sums = arrays["image_shape"], arrays["sums"]
    if classes.ndim != 1 or classes.dtype.kind not in "iufUb" or len(classes) == 0:
        bad("classes must be a non-empty 1-D array of numbers or strings")
    if len(np.unique(classes)) != len(classes) or not np.array_equal(np.sort(classes), classes):
        bad("classes must be sorted and distinct")
    if counts.shape != classes.shape or counts.dtype.kind not in "iu" or (counts < 0).any():
        bad("n_images_per_class must hold one non-negative count per class")
    if shape.ndim != 1 or not 1 <= len(shape) <= 3 or shape.dtype.kind not in "iu":
        bad("image_shape must be 1 to 3 sizes")
    if (shape < 1).any():
        bad("image_shape must be positive")
    if sums.dtype != np.float64 or sums.ndim != len(shape) + 1 or sums.shape[1:] != tuple(shape):
        bad(f"sums of shape {sums.shape} do not match image_shape {tuple(shape)}")
    if not np.isfinite(sums).all():
        bad("sums are not finite")
    if int(arrays["format_version"]) >= 2:
        sources, owner = arrays.get("fingerprint_sources"), arrays.get("fingerprint_class_index")
        n_fp = arrays.get("n_per_fingerprint")
        if sources is None or owner is None or n_fp is None:
            bad("the per-source arrays are missing")
        k = len(sums)
        if sources.shape != (k,) or owner.shape != (k,) or n_fp.shape != (k,):
            bad(f"{k} fingerprints but {len(sources)} sources")
        if owner.dtype.kind not in "iu" or ((owner < 0) | (owner >= len(classes))).any():
            bad("fingerprint_class_index must index classes")
        if n_fp.dtype.kind not in "iu" or (n_fp < 0).any():
            bad("n_per_fingerprint must be non-negative counts")
        kind = arrays.get("estimator")
        if kind is not None and (kind.shape != () or kind.dtype.kind != "U"):
            bad("estimator must be a class name")
        null = arrays.get("null_scores")
        if null is not None and (null.ndim != 1 or null.dtype != np.float64
                                 or not np.isfinite(null).all()):
            bad("null_scores must be finite float64 values")
