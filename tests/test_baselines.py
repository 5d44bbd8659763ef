import numpy as np
import pytest
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from gfprint.baselines import ImageFlattener, make_eigenface_baseline, make_knn_baseline


def test_flattener_scales_and_keeps_values(rng):
    X = rng.integers(0, 256, (3, 5, 6, 3), dtype=np.uint8)
    rows = ImageFlattener().transform(X)
    assert rows.shape == (3, 90) and rows.dtype == np.float32
    np.testing.assert_allclose(rows, X.reshape(3, -1) / 255.0, rtol=1e-6)
    np.testing.assert_allclose(ImageFlattener().transform(X / 255.0), rows, atol=1e-6)


@pytest.mark.parametrize(
    "factory", [make_knn_baseline, lambda: make_eigenface_baseline(n_components=4)]
)
def test_images_of_another_shape_are_refused_after_fit(factory, rng):
    # 8x8 and 4x16 images flatten to rows of one length: a fitted pipeline took them.
    X = rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    model = factory().fit(X, ["a", "b"] * 5)
    with pytest.raises(ValueError, match=r"shape \(4, 16, 3\).*\(8, 8, 3\)"):
        model.predict(rng.integers(0, 256, (3, 4, 16, 3), dtype=np.uint8))
    assert ImageFlattener().transform(X[:, :4]).shape == (10, 96)  # unfitted: any shape


def test_flattener_rejects_bad_images():
    with pytest.raises(ValueError, match="channels"):
        ImageFlattener().fit(np.zeros((2, 4, 4, 2)))


@pytest.mark.parametrize("factory", [make_knn_baseline, make_eigenface_baseline])
def test_baselines_separate_distinct_sources(factory, rng):
    # Two "sources" with different mean colour; both baselines must learn that.
    a = rng.normal(80, 10, (20, 8, 8, 3))
    b = rng.normal(170, 10, (20, 8, 8, 3))
    X = np.clip(np.concatenate([a, b]), 0, 255).astype(np.uint8)
    y = np.repeat(["a", "b"], 20)
    est = factory() if factory is make_knn_baseline else factory(n_components=8)
    assert cross_val_score(clone(est), X, y, cv=4).mean() == 1.0


def test_factories_validate():
    with pytest.raises(ValueError, match="n_neighbors"):
        make_knn_baseline(n_neighbors=0)
    with pytest.raises(ValueError, match="n_components"):
        make_eigenface_baseline(n_components=1.5)


def test_flattener_names_each_column_by_its_pixel():
    X = np.arange(2 * 2 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3)
    flat = ImageFlattener().fit(X)
    names = flat.get_feature_names_out()
    rows = flat.transform(X)
    assert len(names) == rows.shape[1] == 18
    # Column "y{i}_x{j}_c{k}" holds pixel (i, j) of channel k.
    for col, name in enumerate(names):
        i, j, k = (int(part[1:]) for part in name.split("_"))
        np.testing.assert_allclose(rows[:, col], X[:, i, j, k] / 255, rtol=1e-6)
    assert make_pipeline(ImageFlattener(), PCA(2)).fit(X).get_feature_names_out().tolist() == [
        "pca0", "pca1"]
    grey = ImageFlattener().fit(np.zeros((1, 1, 2), np.uint8)).get_feature_names_out()
    assert grey.tolist() == ["y0_x0_c0", "y0_x1_c0"]


def test_flattener_names_need_fit_and_no_input_names():
    from gfprint.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="call fit first"):
        ImageFlattener().get_feature_names_out()
    with pytest.raises(ValueError, match="no input feature names"):
        ImageFlattener().fit(np.zeros((1, 2, 2), np.uint8)).get_feature_names_out(["a"])
