"""The map-reduce fit from images: only per-source sums travel back, same fingerprints."""

import numpy as np
import pytest
from joblib import parallel_config
from PIL import Image

from gfprint import PRNUFingerprintClassifier, ResidualExtractor
from gfprint.fingerprints import fit_fingerprints


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    y = np.repeat(["a", "b", "real"], [8, 8, 4])
    root = tmp_path_factory.mktemp("imgs")
    paths = []
    for i, img in enumerate(images):
        paths.append(str(root / f"{i}.png"))
        Image.fromarray(img).save(paths[-1])
    return images, y, paths


@pytest.mark.parametrize(
    "backend", ["threading", pytest.param("loky", marks=pytest.mark.slow)]  # loky: processes
)
def test_map_reduce_equals_the_serial_fit(data, backend):
    images, y, paths = data
    clf = PRNUFingerprintClassifier(null_class="real", threshold="auto")
    serial = clf.fit(ResidualExtractor().transform(images), y)
    with parallel_config(backend=backend, n_jobs=2):
        mapped = fit_fingerprints(paths, y, classifier=clf, batch_size=3)
    np.testing.assert_allclose(mapped.fingerprints_, serial.fingerprints_, atol=1e-6)
    np.testing.assert_array_equal(mapped.n_images_per_class_, serial.n_images_per_class_)
    np.testing.assert_allclose(mapped.null_scores_, serial.null_scores_, atol=1e-6)
    assert list(mapped.fingerprint_sources_) == ["a", "b"]


def test_map_reduce_with_sources(data):
    images, y, _ = data
    binary = np.where(y == "real", "real", "gan")
    clf = PRNUFingerprintClassifier(null_class="real")
    serial = clf.fit(ResidualExtractor().transform(images), binary, sources=y)
    mapped = fit_fingerprints(images, binary, sources=y, classifier=clf, batch_size=4)
    np.testing.assert_allclose(mapped.fingerprints_, serial.fingerprints_, atol=1e-6)
    assert list(mapped.fingerprint_sources_) == ["a", "b"]


@pytest.mark.parametrize("numeric", [[10, 11, 12], [1.5, 2.5, 3.5]])
def test_map_reduce_with_sources_of_another_kind_than_the_labels(data, numeric):
    # String labels with numeric sources: the sums are keyed by the source values
    # themselves, not by a copy of them turned into strings (which matched nothing,
    # so every fingerprint was zero).
    images, y, _ = data
    sources = np.select([y == "a", y == "b"], numeric[:2], numeric[2])
    binary = np.where(y == "real", "real", "gan")
    clf = PRNUFingerprintClassifier(threshold="auto")
    serial = clf.fit(ResidualExtractor().transform(images), binary, sources=sources)
    mapped = fit_fingerprints(images, binary, sources=sources, classifier=clf, batch_size=4)
    assert np.abs(mapped.fingerprints_).max() > 0.1
    np.testing.assert_allclose(mapped.fingerprints_, serial.fingerprints_, atol=1e-6)
    np.testing.assert_allclose(mapped.null_scores_, serial.null_scores_, atol=1e-6)
    assert mapped.fingerprint_sources_.tolist() == serial.fingerprint_sources_.tolist()


def test_map_reduce_on_dask(data):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    images, y, paths = data
    serial = PRNUFingerprintClassifier().fit(ResidualExtractor().transform(images), y)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster, \
            Client(cluster), parallel_config(backend="dask"):
        mapped = fit_fingerprints(paths, y, batch_size=5)
    np.testing.assert_allclose(mapped.fingerprints_, serial.fingerprints_, atol=1e-6)
