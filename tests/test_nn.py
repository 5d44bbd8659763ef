import pickle
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from gfprint import CNNAttributor
from gfprint.nn import AttributionNet, channels_at
from gfprint.perturbations import GaussianNoise

torch = pytest.importorskip("torch")
SMALL = dict(width=0.05, max_epochs=15, batch_size=16)


@pytest.fixture(scope="module")
def toy():
    """Two sources told apart by a faint periodic pattern, not by colour."""
    rng = np.random.default_rng(0)
    X = rng.integers(60, 196, (48, 16, 16, 3)).astype(np.int16)
    X[24:, ::2, ::2] += 40  # a fine grid "fingerprint"
    return np.clip(X, 0, 255).astype(np.uint8), np.repeat(["gan", "real"], 24)


def test_architecture_follows_the_paper():
    net = AttributionNet(128, 5)
    convs = [m for m in net.features if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [
        (3, 16),
        (16, 32),
        (32, 32),
        (32, 64),
        (64, 64),
        (64, 128),
        (128, 128),
        (128, 256),
        (256, 256),
        (256, 512),
        (512, 512),
    ]
    assert all(c.kernel_size == (3, 3) and c.padding_mode == "reflect" for c in convs)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())
    assert net.embed(torch.zeros(1, 3, 128, 128)).shape == (1, 512)
    assert [channels_at(r) for r in (128, 64, 32, 16, 8, 4)] == [32, 64, 128, 256, 512, 512]


@pytest.mark.parametrize(
    "variant, res", [("postpool", 8), ("predownsample", 8), ("predownsample_residual", 16)]
)
def test_variants_shapes(variant, res):
    net = AttributionNet(32, 3, variant, res, width=0.1)
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
    with pytest.raises(ValueError, match="switch_resolution"):
        AttributionNet(32, 3, variant, None)


def test_other_sizes_end_with_adaptive_pooling():
    net = AttributionNet(24, 3, width=0.1)
    assert isinstance(net.features[-1], torch.nn.AdaptiveAvgPool2d)
    assert net(torch.zeros(2, 3, 24, 24)).shape == (2, 3)
    assert not any(
        isinstance(m, torch.nn.AdaptiveAvgPool2d) for m in AttributionNet(32, 3).features
    )
    with pytest.raises(ValueError, match="power of two"):
        AttributionNet(24, 3, "postpool", 8)


def test_predownsample_sees_only_low_frequencies():
    net = AttributionNet(32, 2, "predownsample", 8, width=0.1)
    x = torch.zeros(1, 3, 32, 32)
    x[..., ::2, :] = 1.0  # Nyquist stripes: removed by blur + subsampling
    prepared = net._prepare(x)
    assert prepared.shape[-1] == 8
    assert float(prepared.std()) < 1e-5


def test_learns_a_toy_fingerprint_and_transforms(toy):
    X, y = toy
    cnn = CNNAttributor(**SMALL, random_state=0).fit(X[::2], y[::2])
    assert cnn.score(X[1::2], y[1::2]) >= 0.9
    feats = cnn.transform(X)
    assert feats.shape == (48, 512) and feats.dtype == np.float32
    assert cnn.model_fingerprints_.shape == (2, 512)
    proba = cnn.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    assert list(cnn.classes_) == ["gan", "real"]


def test_same_seed_same_weights_and_global_rng_untouched(toy):
    X, y = toy
    state = torch.random.get_rng_state()
    a = CNNAttributor(width=0.05, max_epochs=2, random_state=3).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = CNNAttributor(width=0.05, max_epochs=2, random_state=3).fit(X, y)
    c = CNNAttributor(width=0.05, max_epochs=2, random_state=4).fit(X, y)
    for pa, pb in zip(a.net_.module_.parameters(), b.net_.module_.parameters()):
        assert torch.equal(pa, pb)
    assert not np.array_equal(a.model_fingerprints_, c.model_fingerprints_)


def test_augment_is_applied_per_batch_in_training_only(toy, monkeypatch):
    X, y = toy
    calls = []
    noise = GaussianNoise(sigma=3)
    original = noise.perturb
    monkeypatch.setattr(
        noise, "perturb", lambda imgs, rng: calls.append(len(imgs)) or original(imgs, rng)
    )
    cnn = CNNAttributor(width=0.05, max_epochs=2, batch_size=16, augment=noise, random_state=0)
    cnn.fit(X, y)
    assert calls == [16, 16, 16] * 2  # every batch of every epoch, fresh
    cnn.predict(X)
    assert len(calls) == 6


def test_sklearn_tools(toy, tmp_path):
    X, y = toy
    cnn = CNNAttributor(width=0.05, max_epochs=3, random_state=0)
    assert cross_val_score(cnn, X, y, cv=StratifiedKFold(2)).shape == (2,)
    grid = GridSearchCV(cnn, {"lr": [1e-3, 3e-3]}, cv=StratifiedKFold(2)).fit(X, y)
    assert grid.best_params_["lr"] in (1e-3, 3e-3)
    pipe = Pipeline([("cnn", clone(cnn))]).fit(X, y)
    assert pipe.predict(X).shape == (48,)
    fitted = clone(cnn).fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    path = tmp_path / "cnn.pt"
    fitted.save_params(path)
    loaded = CNNAttributor(width=0.05).load_params(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    adopted = CNNAttributor(width=0.1).load_params(path)  # the file's architecture wins
    assert adopted.get_params()["width"] == 0.05
    np.testing.assert_array_equal(adopted.predict_proba(X), fitted.predict_proba(X))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a CNNAttributor checkpoint"):
        CNNAttributor().load_params(tmp_path / "junk.pt")


def test_bad_input(toy):
    X, y = toy
    cnn = CNNAttributor(width=0.05, max_epochs=1)
    with pytest.raises(ValueError, match="RGB"):
        cnn.fit(X[..., 0], y)
    with pytest.raises(ValueError, match="square images of at least 8x8"):
        cnn.fit(X[:, :12, :10], y)
    with pytest.raises(ValueError, match="NaN"):
        cnn.fit(np.full((4, 16, 16, 3), np.nan), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="mixed image sizes"):
        cnn.fit([np.zeros((16, 16, 3)), np.zeros((8, 8, 3))], [0, 1])
    with pytest.raises(ValueError, match="one label per image"):
        cnn.fit(X, y[:3])
    fitted = cnn.fit(X, y)
    with pytest.raises(ValueError, match="trained on 16x16"):
        fitted.predict(np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="early_stopping needs"):
        CNNAttributor(early_stopping=2).fit(X, y)


def test_validation_split_and_early_stopping(toy):
    X, y = toy
    cnn = CNNAttributor(
        width=0.05, max_epochs=4, validation_fraction=0.25, early_stopping=2, random_state=0
    ).fit(X, y)
    assert "valid_loss" in cnn.net_.history[-1]


def test_import_gfprint_does_not_import_torch_until_needed():
    import subprocess

    code = (
        "import sys, gfprint; assert 'torch' not in sys.modules; "
        "gfprint.CNNAttributor; assert 'torch' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_fit_from_paths_reads_lazily_and_equals_fit_from_arrays(toy, tmp_path, monkeypatch):
    """Paths go through a lazy dataset (read per batch), arrays through uint8 in memory:
    the same seed gives the same weights either way, validation split included."""
    from PIL import Image

    from gfprint import _validation

    X, y = toy
    paths = []
    for i, img in enumerate(X):
        paths.append(tmp_path / f"{i:02d}.png")
        Image.fromarray(img).save(paths[-1])
    params = dict(width=0.05, max_epochs=2, validation_fraction=0.25, random_state=0)
    from_arrays = CNNAttributor(**params).fit(X, y)
    reads = []
    real_read = _validation.read_image
    monkeypatch.setattr(_validation, "read_image", lambda p: reads.append(p) or real_read(p))
    from_paths = CNNAttributor(**params).fit(paths, y)
    # Every epoch reads its training and validation images again: nothing is cached.
    assert len(reads) >= 2 * len(paths)
    for a, b in zip(from_arrays.net_.module_.parameters(), from_paths.net_.module_.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    np.testing.assert_array_equal(from_arrays.predict_proba(X), from_paths.predict_proba(paths))
