"""gfprint's checks for estimators that take images (imbalanced-learn's model).

``IMAGE_ESTIMATORS`` lists every public estimator that takes images, once;
``IMAGE_CHECKS`` lists functions ``check(name, estimator, data)``.
``tests/test_common.py`` runs every check on every estimator of the table, and
``tests/test_bad_input.py`` its table of bad inputs. ``data`` is an ``ImageData``:
a small batch of RGB uint8 images, their labels and the same images as PNG files.
"""

import pickle
from dataclasses import dataclass

import numpy as np
import pytest
from sklearn.base import clone, is_classifier

from gfprint import CameraResidualExtractor, ResidualExtractor
from gfprint.baselines import ImageFlattener, make_knn_baseline
from gfprint.ensemble import TTAClassifier
from gfprint.fingerprints import CameraFingerprintClassifier
from gfprint.perturbations import (
    GaussianBlur,
    GaussianNoise,
    JPEGCompression,
    RandomCrop,
    RandomPerturbation,
    Relighting,
    Resize,
)


def _cnn():
    pytest.importorskip("torch")
    from gfprint import CNNAttributor

    return CNNAttributor(width=0.05, max_epochs=1, batch_size=8, random_state=0)


def _visnet():
    pytest.importorskip("torch")
    from gfprint import VisNetAttributor

    return VisNetAttributor(width=2, max_epochs=1, batch_size=8, random_state=0)


# Every public estimator that takes images, as a fast instance (a factory, so that
# optional dependencies are imported only when their estimator's checks run).
IMAGE_ESTIMATORS = {
    "ResidualExtractor": ResidualExtractor,
    "CameraResidualExtractor": lambda: CameraResidualExtractor(levels=2),
    "CameraFingerprintClassifier": lambda: CameraFingerprintClassifier(levels=2),
    "GaussianNoise": lambda: GaussianNoise(random_state=0),
    "GaussianBlur": lambda: GaussianBlur(random_state=0),
    "RandomCrop": lambda: RandomCrop(random_state=0),
    "JPEGCompression": lambda: JPEGCompression(random_state=0),
    "Relighting": lambda: Relighting(random_state=0),
    "Resize": Resize,
    "RandomPerturbation": lambda: RandomPerturbation(random_state=0),
    "ImageFlattener": ImageFlattener,
    "TTAClassifier": lambda: TTAClassifier(make_knn_baseline(n_neighbors=1)),
    "CNNAttributor": _cnn,
    "VisNetAttributor": _visnet,
}
@dataclass
class ImageData:
    images: np.ndarray
    target: np.ndarray
    paths: list


def _fit(estimator, X, data):
    y = data.target if is_classifier(estimator) else None
    return estimator.fit(X, y)


def _output(estimator, X):
    """What the estimator makes of images: transform, or predict for classifiers."""
    return estimator.predict(X) if is_classifier(estimator) else estimator.transform(X)


def check_clone_is_unfitted_with_equal_params(name, estimator, data):
    fitted = _fit(clone(estimator), data.images, data)
    copy = clone(fitted)
    assert copy.get_params(deep=False).keys() == estimator.get_params(deep=False).keys()
    assert not [k for k in vars(copy) if k.endswith("_") and not k.startswith("_")]


def check_fit_returns_self(name, estimator, data):
    est = clone(estimator)
    assert _fit(est, data.images, data) is est


def check_pickle_round_trip(name, estimator, data):
    est = _fit(clone(estimator), data.images, data)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(_output(again, data.images), _output(est, data.images))


def check_inputs_not_modified(name, estimator, data):
    X = (data.images / 255.0).astype(np.float32)
    before = X.copy()
    est = _fit(clone(estimator), X, data)
    _output(est, X)
    np.testing.assert_array_equal(X, before)


def check_float32_not_upcast(name, estimator, data):
    """float32 images never come back as float64 (transformers: their output is images).

    A classifier returns labels, and probabilities or scores in float64 as
    scikit-learn's do: there is nothing of the images' dtype to keep.
    """
    if is_classifier(estimator):
        pytest.skip("a classifier returns labels and float64 scores, not images")
    X = (data.images / 255.0).astype(np.float32)
    out = _fit(clone(estimator), X, data).transform(X)
    assert np.asarray(out).dtype == np.float32 or np.asarray(out).dtype == np.uint8


def check_paths_equal_arrays(name, estimator, data):
    est = _fit(clone(estimator), data.images, data)
    np.testing.assert_array_equal(_output(est, data.paths), _output(est, data.images))


def check_one_image_needs_a_batch_axis(name, estimator, data):
    est = _fit(clone(estimator), data.images, data)
    with pytest.raises(ValueError, match=r"image\[None\]"):
        _output(est, data.images[0])


IMAGE_CHECKS = [
    check_clone_is_unfitted_with_equal_params,
    check_fit_returns_self,
    check_pickle_round_trip,
    check_inputs_not_modified,
    check_float32_not_upcast,
    check_paths_equal_arrays,
    check_one_image_needs_a_batch_axis,
]
