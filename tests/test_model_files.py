"""Fingerprint files are checked before they are trusted (the checksum is no seal)."""

import io
import json
import zipfile

import numpy as np
import pytest

from gfprint import PRNUFingerprintClassifier
from gfprint.fingerprints._io import checksum


@pytest.fixture
def saved(tmp_path, rng):
    R = rng.normal(size=(12, 16, 16)).astype(np.float32)
    y = np.repeat(["a", "b", "real"], 4)
    src = np.array(["a1", "a1", "a2", "a2", "b", "b", "b", "b"] + ["real"] * 4)
    clf = PRNUFingerprintClassifier(null_class="real", threshold="auto").fit(R, y, sources=src)
    path = tmp_path / "m.npz"
    clf.save(path, metadata={"note": "x"})
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    return clf, R, path, arrays


def resave(path, arrays, **changes):
    out = {k: v for k, v in {**arrays, **changes}.items() if k != "checksum" and v is not None}
    np.savez(path, checksum=np.array(checksum(out)), **out)


def test_round_trip_keeps_sources_and_auto_threshold(saved):
    clf, R, path, _ = saved
    back = PRNUFingerprintClassifier.load(path)
    assert list(back.fingerprint_sources_) == ["a1", "a2", "b"]
    assert list(back.fingerprint_classes_) == ["a", "a", "b"]
    np.testing.assert_array_equal(back.fingerprints_, clf.fingerprints_)
    np.testing.assert_array_equal(back.n_images_per_class_, clf.n_images_per_class_)
    assert back.threshold_ == clf.threshold_
    np.testing.assert_array_equal(back.predict(R), clf.predict(R))
    np.testing.assert_array_equal(back.decision_function(R), clf.decision_function(R))
    assert PRNUFingerprintClassifier.load_metadata(path) == {"note": "x"}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"sums": "first_only"}, "fingerprints but"),
        ({"image_shape": np.array([16, 17])}, "do not match image_shape"),
        ({"params": "bogus_similarity"}, "invalid parameters"),
        ({"params": None}, "lacks"),
        ({"classes": np.array([["a", "b", "real"]])}, "1-D"),
        ({"format_version": np.array([2, 2])}, "malformed format version"),
        ({"fingerprint_class_index": np.array([0, 0, 7])}, "index classes"),
        ({"n_images_per_class": np.array([4, 4])}, "one non-negative count per class"),
        ({"null_scores": np.array([np.nan])}, "null_scores"),
    ],
)
def test_inconsistent_files_with_a_valid_checksum_are_refused(saved, changes, message):
    _, _, path, arrays = saved
    if changes.get("sums") == "first_only":
        changes["sums"] = arrays["sums"][:1]
    if changes.get("params") == "bogus_similarity":
        changes["params"] = np.array(str(arrays["params"]).replace('"ncc"', '"bogus"'))
    resave(path, arrays, **changes)
    with pytest.raises(ValueError, match=message):
        PRNUFingerprintClassifier.load(path)


def test_declared_size_is_checked_before_allocating(saved):
    """A 3 kB file whose header declares 80 GB is refused, not allocated."""
    _, _, path, arrays = saved
    resave(path, arrays)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**10,)}
    )
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("huge.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(ValueError, match="declares shape"):
        PRNUFingerprintClassifier.load(path)


def test_format_1_files_are_read(saved, rng):
    clf, R, path, arrays = saved
    old = PRNUFingerprintClassifier(null_class="real").fit(R, np.repeat(["a", "b", "real"], 4))
    v1 = {k: v for k, v in arrays.items()
          if k not in ("fingerprint_sources", "fingerprint_class_index", "n_per_fingerprint",
                       "null_scores", "partial_sizes", "checksum")}
    params = {k: v for k, v in json.loads(str(arrays["params"])).items()
              if k not in ("search", "scales", "refine")}  # added in format 2
    v1.update(format_version=np.int64(1), sums=old._sums,
              params=np.array(json.dumps({**params, "threshold": None})))
    resave(path, v1)
    back = PRNUFingerprintClassifier.load(path)
    np.testing.assert_array_equal(back.fingerprints_, old.fingerprints_)
    np.testing.assert_array_equal(back.predict(R), old.predict(R))
