"""Regression tests for the reliability defects of issue 12, written as a user hits them."""

import os
import shutil

import numpy as np
import pytest
import sklearn.exceptions
from PIL import Image

import gfprint
from gfprint import GfprintError, PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_image_folder
from gfprint.ensemble import TTAClassifier
from gfprint.perturbations import JPEGCompression, Resize


def test_float_and_32bit_tiffs_are_read_at_their_true_range(tmp_path, rng):
    """Item 1: they were read as all-black or saturated 8-bit images."""
    values = rng.random((32, 32)).astype(np.float32)
    (tmp_path / "a").mkdir()
    Image.fromarray(values, "F").save(tmp_path / "a" / "f.tif")
    Image.fromarray((values * 60000).astype(np.int32), "I").save(tmp_path / "a" / "i.tif")
    data = load_image_folder(tmp_path)  # two bit depths: float32 on [0, 1], each by its type
    names = [os.path.basename(f) for f in data.filenames]
    assert data.images.dtype == np.float32
    np.testing.assert_allclose(data.images[names.index("f.tif")], values, rtol=1e-6)
    np.testing.assert_allclose(
        data.images[names.index("i.tif")], (values * 60000).astype(np.uint16) / 65535, rtol=1e-6
    )
    from gfprint._validation import read_image

    assert read_image(tmp_path / "a" / "i.tif").dtype == np.uint16


def test_8_and_16_bit_images_in_one_list_are_each_scaled_by_their_type(rng):
    """Item 2: the 16-bit image upcast the 8-bit one, which came out 257 times too dark."""
    u8 = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    u16 = u8.astype(np.uint16) * 257
    ext = ResidualExtractor()
    alone = ext.transform(u8[None])[0]
    mixed = ext.transform([u8, u16])
    np.testing.assert_allclose(mixed[0], alone, atol=1e-4 * np.abs(alone).max())
    np.testing.assert_allclose(mixed[1], alone, atol=1e-4 * np.abs(alone).max())


def test_tta_keeps_open_set_rejections(rng):
    """Item 3: TTAClassifier turned "unknown" into the first class."""
    R = rng.normal(size=(20, 16, 16)).astype(np.float32)
    y = np.repeat(["a", "b"], 10)
    tta = TTAClassifier(PRNUFingerprintClassifier(threshold=0.99), transforms=["identity", "hflip"])
    pred = tta.fit(R, y).predict(rng.normal(size=(5, 16, 16)).astype(np.float32))
    assert list(pred) == ["unknown"] * 5
    tta.set_params(estimator=PRNUFingerprintClassifier()).fit(R, y)
    assert set(tta.predict(R)) <= {"a", "b"}


def test_perturbations_refuse_one_colour_image_without_a_batch_axis():
    """Item 4: one (H, W, 3) image was taken for 64 grey strips 3 pixels wide."""
    img = np.zeros((64, 64, 3), np.uint8)
    for perturbation in (JPEGCompression(quality=50, random_state=0), Resize()):
        with pytest.raises(ValueError, match=r"image\[None\]"):
            perturbation.transform(img)
        assert perturbation.transform(img[None]).shape[0] == 1


def test_ragged_residual_list_fits_or_gets_a_clear_error(rng):
    """Item 12: numpy's "setting an array element with a sequence" (mixed sizes now fit)."""
    r32, r16 = rng.normal(size=(32, 32)), rng.normal(size=(16, 16))
    clf = PRNUFingerprintClassifier().fit([r32, r16] * 3, ["a", "b"] * 3)
    assert clf.fingerprints_.shape == (2, 32, 32)
    with pytest.raises(ValueError, match="must all be planes"):
        PRNUFingerprintClassifier().fit([r32, r16[..., None]] * 3, ["a", "b"] * 3)


def test_residual_extractor_fit_checks_image_values():
    """Item 11: fit accepted NaN, infinity and out-of-range images."""
    for bad, match in ((np.nan, "NaN"), (np.inf, "infinity"), (3.0, r"\[0, 1\]")):
        with pytest.raises(ValueError, match=match):
            ResidualExtractor().fit(np.full((2, 32, 32), bad))


def test_not_fitted_error_is_gfprints_and_sklearns(rng):
    """Item 10: exported and documented, but never raised."""
    R = rng.normal(size=(2, 8, 8))
    for est in (PRNUFingerprintClassifier(), TTAClassifier(PRNUFingerprintClassifier())):
        with pytest.raises(gfprint.NotFittedError):
            est.predict(R)
        with pytest.raises(sklearn.exceptions.NotFittedError):
            est.predict(R)


def test_zoo_manifest_and_weight_errors_are_gfprint_errors(tmp_path, monkeypatch):
    """Item 17: a manifest entry without sha256 (KeyError), wrong-shape weights."""
    import json

    from gfprint.datasets import _zoo, load_gan_zoo

    data = tmp_path / "data"
    shutil.copytree(_zoo._data_dir(), data)
    monkeypatch.setattr(_zoo, "_DATA_DIR", data)
    manifest = json.loads((data / "manifest.json").read_text())
    name = sorted(manifest["generators"])[0]
    other = sorted(manifest["generators"])[-1]
    del manifest["generators"][name]["sha256"]
    (data / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(GfprintError, match="lacks"):
        load_gan_zoo(n_per_source=2, sources=[name])
    # The weights of another architecture under this generator's name, checksum updated.
    entry = manifest["generators"][other]
    manifest["generators"][name] = {**manifest["generators"][name], "file": entry["file"],
                                    "sha256": entry["sha256"]}
    arch = manifest["generators"][name]["architecture"]
    if arch == entry["architecture"]:
        pytest.skip("the first and last generators share an architecture")
    (data / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(GfprintError, match="does not fit"):
        load_gan_zoo(n_per_source=2, sources=[name])


@pytest.fixture(scope="module")
def fitted():
    pytest.importorskip("torch")
    from gfprint import CNNAttributor

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (24, 16, 16, 3), dtype=np.uint8)
    y = np.repeat(["a", "b"], 12)
    return CNNAttributor(width=0.05, max_epochs=1, batch_size=8, random_state=0).fit(X, y), X


class TestCNN:
    torch = pytest.importorskip("torch")

    def test_predict_before_fit_is_not_fitted(self):
        from gfprint import CNNAttributor

        with pytest.raises(gfprint.NotFittedError):
            CNNAttributor().predict(np.zeros((1, 16, 16, 3), np.uint8))

    def test_labels_are_checked(self, fitted):
        """Item 13: continuous targets trained an n-class model; NaN labels accepted."""
        from gfprint import CNNAttributor

        cnn, X = fitted
        with pytest.raises(ValueError, match="Unknown label type"):
            CNNAttributor(max_epochs=1).fit(X, np.random.default_rng(0).normal(size=len(X)))
        with pytest.raises(ValueError, match="NaN"):
            CNNAttributor(max_epochs=1).fit(X, np.where(np.arange(len(X)) % 2, 1.0, np.nan))
        with pytest.raises(TypeError, match="comparable"):
            CNNAttributor(max_epochs=1).fit(X, np.array(["a", 1] * 12, dtype=object))

    def test_global_torch_rng_is_left_alone(self, fitted):
        """Item 14: load_gan_zoo and predict advanced the global torch RNG."""
        from gfprint.datasets import load_gan_zoo

        cnn, X = fitted
        self.torch.manual_seed(123)
        want = self.torch.rand(3)
        self.torch.manual_seed(123)
        load_gan_zoo(n_per_source=2, sources=["deconv_s0"])
        cnn.predict(X)
        cnn.transform(X)
        np.testing.assert_array_equal(self.torch.rand(3), want)

    def test_cuda_without_cuda_says_so(self, fitted):
        """Item 16: a bare AssertionError."""
        from gfprint import CNNAttributor

        if self.torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        _, X = fitted
        with pytest.raises(ValueError, match="no CUDA device"):
            CNNAttributor(device="cuda", max_epochs=1).fit(X, np.repeat(["a", "b"], 12))

    def test_save_is_atomic_and_load_adopts_the_architecture(self, fitted, tmp_path,
                                                             monkeypatch):
        """Item 8: a save killed halfway left the old checkpoint unloadable."""
        from gfprint import CNNAttributor

        cnn, X = fitted
        path = tmp_path / "cnn.pt"
        cnn.save_params(path)
        before = path.read_bytes()

        def dies_halfway(obj, f):
            with open(f, "wb") as fh:
                fh.write(before[: len(before) // 2])
            raise KeyboardInterrupt

        monkeypatch.setattr(self.torch, "save", dies_halfway)
        with pytest.raises(KeyboardInterrupt):
            cnn.save_params(path)
        monkeypatch.undo()
        assert path.read_bytes() == before and not list(tmp_path.glob("*.tmp-*"))
        back = CNNAttributor(width=0.5).load_params(path)  # width comes from the file
        assert back.width == 0.05
        np.testing.assert_allclose(back.predict_proba(X), cnn.predict_proba(X), rtol=1e-5)

    def test_inconsistent_checkpoint_is_a_value_error(self, fitted, tmp_path):
        from gfprint import CNNAttributor

        cnn, _ = fitted
        path = tmp_path / "cnn.pt"
        cnn.save_params(path)
        state = self.torch.load(path, weights_only=True)
        self.torch.save({**state, "classes": ["a", "b", "c"]}, path)
        with pytest.raises(ValueError, match="does not fit"):
            CNNAttributor().load_params(path)
        self.torch.save({**state, "image_size": 64}, path)
        with pytest.raises(ValueError, match="does not fit"):
            CNNAttributor().load_params(path)
        # A failed load leaves a fitted estimator as it was (it kept the file's width
        # while predicting with its own network).
        self.torch.save({**state, "width": 0.5}, path)
        X = fitted[1]
        want, params = cnn.predict_proba(X), cnn.get_params()
        with pytest.raises(ValueError, match="does not fit"):
            cnn.load_params(path)
        assert cnn.get_params() == params
        np.testing.assert_array_equal(cnn.predict_proba(X), want)

    def test_paths_are_read_in_batches(self, fitted, tmp_path, monkeypatch):
        """Item 18: predict(paths) loaded every path at once."""
        from gfprint._validation import ImageSet

        cnn, X = fitted
        paths = []
        for i in range(300):
            paths.append(tmp_path / f"{i}.png")
            Image.fromarray(X[i % len(X)]).save(paths[-1])
        sizes = []
        load = ImageSet.load
        # Count the reads of files (the residual front-end also loads arrays).
        monkeypatch.setattr(ImageSet, "load", lambda self: (
            self.is_paths and sizes.append(self.n_images)) or load(self))
        pred = cnn.predict(paths)
        assert max(sizes) <= 256 and sum(sizes) == 300
        np.testing.assert_array_equal(pred, cnn.predict(np.concatenate([X] * 13)[:300]))
