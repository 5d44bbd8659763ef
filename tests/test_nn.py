import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline

from gfprint import CNNAttributor
from gfprint.nn import AttributionNet, channels_at
from gfprint.perturbations import GaussianNoise, Resize

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


def test_space_to_depth_stacks_the_sampling_phases_into_channels():
    net = AttributionNet(32, 3, width=0.1, space_to_depth=2)
    assert net.features[0].in_channels == 12 and net(torch.zeros(2, 3, 32, 32)).shape == (2, 3)
    x = torch.zeros(1, 3, 32, 32)
    x[..., ::2, ::2] = 1.0  # a period-2 pattern (a stride-2 up-sampling's trace) ...
    prepared = net._prepare(x)
    assert prepared.shape == (1, 12, 16, 16)
    # ... is a constant in each phase channel: average pooling keeps it
    assert float(prepared.std(dim=(2, 3)).max()) == 0.0
    assert sorted(prepared.mean(dim=(2, 3)).flatten().tolist()) == [0.0] * 9 + [1.0] * 3
    assert float(torch.nn.functional.avg_pool2d(x, 2).std()) == 0.0  # not so without it
    assert AttributionNet(32, 3, width=0.1).features[0].in_channels == 3  # the paper's
    for f, variant in [(3, "full"), (8, "full"), (0, "full"), (2, "postpool")]:
        with pytest.raises(ValueError, match="space_to_depth"):
            AttributionNet(32, 3, variant, 8, width=0.1, space_to_depth=f)


def test_space_to_depth_auto_explicit_and_saved(toy, tmp_path):
    X, y = toy  # 16x16
    cnn = CNNAttributor(width=0.05, max_epochs=1, random_state=0).fit(X, y)
    assert cnn.space_to_depth == "auto" and cnn.space_to_depth_ == 2
    assert cnn.net_.module_.features[0].in_channels == 12
    path = tmp_path / "cnn.pt"
    cnn.save_params(path)
    loaded = CNNAttributor().load_params(path)
    assert loaded.space_to_depth == loaded.space_to_depth_ == 2
    np.testing.assert_allclose(loaded.predict_proba(X), cnn.predict_proba(X), rtol=1e-5)
    # "auto" stacks nothing for the variants and below 16 pixels
    assert CNNAttributor(width=0.05, max_epochs=1, variant="postpool", switch_resolution=8,
                         frontend="pixels").fit(X, y).space_to_depth_ == 1
    small = CNNAttributor(width=0.05, max_epochs=1, frontend="highpass").fit(X[:, :8, :8], y)
    assert small.space_to_depth_ == 1
    assert CNNAttributor(width=0.05, max_epochs=1, space_to_depth=1).fit(
        X, y).net_.module_.features[0].in_channels == 3
    with pytest.raises(ValueError, match=r"space_to_depth=4 needs .* 16x16 images"):
        CNNAttributor(width=0.05, max_epochs=1, space_to_depth=4).fit(X, y)


def test_learns_a_toy_fingerprint_and_transforms(toy):
    X, y = toy  # the grid also brightens the image: pixels see it at once
    cnn = CNNAttributor(**SMALL, frontend="pixels", random_state=0).fit(X[::2], y[::2])
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
    with pytest.raises(ValueError, match="one label per image"):
        cnn.fit(X, np.stack([y, y], axis=1))
    with pytest.warns(DataConversionWarning):  # a column is flattened, as in scikit-learn
        column = CNNAttributor(width=0.05, max_epochs=1, random_state=0).fit(X, y[:, None])
    flat = CNNAttributor(width=0.05, max_epochs=1, random_state=0).fit(X, y)
    np.testing.assert_array_equal(column.predict_proba(X), flat.predict_proba(X))
    with pytest.raises(ValueError, match="changed the training images' size"):
        CNNAttributor(width=0.05, max_epochs=1, augment=Resize()).fit(X, y)  # a torch error
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


def test_highpass_is_the_image_minus_its_binomial_blur():
    from scipy.ndimage import convolve

    from gfprint.nn import HighPass

    x = np.random.default_rng(1).normal(size=(2, 3, 12, 10))
    k1 = np.array([1, 4, 6, 4, 1]) / 16
    blur = np.stack([[convolve(c, np.outer(k1, k1), mode="mirror") for c in img] for img in x])
    out = HighPass(gain=4.0)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(out, 4.0 * (x - blur), atol=1e-10)


def test_constrained_convolution_keeps_its_constraint_after_updates():
    from gfprint.nn import ConstrainedConv2d

    torch.manual_seed(0)  # the test used the global generator's state, whatever it was
    conv = ConstrainedConv2d(3, 3)
    opt = torch.optim.SGD(conv.parameters(), lr=0.5)
    x = torch.randn(4, 3, 16, 16)
    for _ in range(3):
        opt.zero_grad()
        conv(x).pow(2).mean().backward()
        opt.step()  # the weights leave the constraint here ...
    out = conv(torch.full((1, 3, 16, 16), 0.7))  # ... and the forward pass restores it
    w = conv.weight.detach()
    np.testing.assert_allclose(w[:, :, 2, 2].numpy(), -1.0)
    # Exact up to float32 rounding of the taps, which grow where an update brought a
    # kernel's sum near 0 (over 300 seeds, at most 7e-8 of the taps' absolute sum;
    # a fixed absolute 1e-5 failed for 6 of 200 seeds).
    size = w.abs().sum(dim=(2, 3))
    assert float(((w.sum(dim=(2, 3))).abs() / size).max()) < 1e-6
    flat = 0.7 * conv.gain * size.sum(dim=1).max()  # the output's scale
    assert float(out.detach().abs().max() / flat) < 1e-6  # flat image: no prediction error


@pytest.fixture(scope="module")
def smooth_toy():
    """Smooth random scenes; one source adds a faint checkerboard (+-6 grey levels)."""
    from scipy.ndimage import zoom

    rng = np.random.default_rng(0)
    low = rng.uniform(60, 196, (64, 4, 4, 3))
    X = np.stack([zoom(img, (4, 4, 1), order=1) for img in low]) + rng.normal(0, 2, (64, 16, 16, 3))
    X[32:] += 6 * np.where(np.indices((16, 16)).sum(axis=0) % 2 == 0, 1.0, -1.0)[..., None]
    return np.clip(np.rint(X), 0, 255).astype(np.uint8), np.repeat(["gan", "real"], 32)


@pytest.mark.parametrize("frontend", ["highpass", "constrained", "residual"])
def test_residual_frontends_learn_a_faint_fingerprint_on_smooth_scenes(smooth_toy, frontend):
    X, y = smooth_toy
    cnn = CNNAttributor(**SMALL, frontend=frontend, random_state=0).fit(X[::2], y[::2])
    assert cnn.score(X[1::2], y[1::2]) >= 0.9  # held-out images
    assert type(cnn.net_.module_.frontend).__name__ == {
        "highpass": "HighPass", "constrained": "ConstrainedConv2d", "residual": "Identity"}[
        frontend]


def test_residual_frontend_feeds_the_wavelet_residual(smooth_toy):
    from gfprint import ResidualExtractor
    from gfprint.nn._attributor import _to_tensor

    X, y = smooth_toy
    expected = ResidualExtractor().transform(X[:4]) / 8.0
    got = _to_tensor(X[:4], residual=True).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    cnn = CNNAttributor(width=0.05, max_epochs=1, frontend="residual", random_state=0)
    cnn.fit(X, y)
    module = cnn.net_.module_.eval()
    with torch.no_grad():
        embedded = module.embed(_to_tensor(X[:4], residual=True)).numpy()
    np.testing.assert_allclose(cnn.transform(X[:4]), embedded, rtol=1e-5, atol=1e-6)


def test_max_epochs_auto_is_about_1200_steps(smooth_toy):
    X, y = smooth_toy
    cnn = CNNAttributor(width=0.05, batch_size=16, random_state=0)
    assert cnn.get_params()["max_epochs"] == "auto" and cnn.frontend == "residual"
    assert cnn._epochs(64) == 300 and cnn._epochs(100_000) == 10
    assert cnn.set_params(validation_fraction=0.5)._epochs(64) == 600


def test_weight_decay_class_weight_and_best_epoch_restored(toy):
    X, y = toy
    keep = np.r_[0:24, 24:32]  # 24 "gan", 8 "real"
    # A configuration whose validation accuracy falls after its best epoch (with
    # the phases stacked the network stays at its best), so that restoring shows.
    cnn = CNNAttributor(width=0.05, max_epochs=12, validation_fraction=0.25, early_stopping=3,
                        weight_decay=1e-3, class_weight="balanced", frontend="pixels",
                        space_to_depth=1, flip=True, random_state=0)
    cnn.fit(X[keep], y[keep])
    assert cnn.net_.optimizer_.param_groups[0]["weight_decay"] == 1e-3
    # scikit-learn's "balanced": 32 / (2 * 24) and 32 / (2 * 8).
    np.testing.assert_allclose(cnn.net_.criterion_.weight.numpy(), [32 / 48, 32 / 16])
    # The restored weights are the best epoch's: their accuracy on the validation
    # split is the best validation accuracy of the history.
    _, valid = cnn.net_.get_split_datasets(
        _dataset(X[keep], y[keep]), np.unique(y[keep], return_inverse=True)[1])
    labels = np.array([int(valid[i][1]) for i in range(len(valid))])
    accuracy = (cnn.net_.predict(valid) == labels).mean()
    history = cnn.net_.history
    assert accuracy == pytest.approx(max(history[:, "valid_acc"]))
    assert history[-1, "valid_acc"] < max(history[:, "valid_acc"])  # the restore mattered


def _dataset(X, y):
    from gfprint._validation import check_images
    from gfprint.nn._attributor import _ImageDataset

    return _ImageDataset(check_images(X), np.unique(y, return_inverse=True)[1].astype(np.int64))


def test_checkpoint_from_before_the_frontends_loads_as_a_pixel_network(toy, tmp_path):
    X, y = toy
    cnn = CNNAttributor(width=0.05, max_epochs=1, frontend="pixels", space_to_depth=1,
                        random_state=0).fit(X, y)
    path = tmp_path / "old.pt"
    cnn.save_params(path)
    state = torch.load(path, weights_only=True)
    del state["frontend"], state["estimator"], state["space_to_depth"]  # as written then
    torch.save(state, path)
    loaded = CNNAttributor().load_params(path)
    assert loaded.frontend == "pixels" and loaded.space_to_depth == loaded.space_to_depth_ == 1
    np.testing.assert_allclose(loaded.predict_proba(X), cnn.predict_proba(X), rtol=1e-5)


def test_residual_frontend_refuses_images_too_small_for_a_wavelet_level():
    X = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"frontend='residual' cannot take 8x8 images.*"
                                         r"frontend='highpass' takes any size"):
        CNNAttributor(max_epochs=1).fit(X, [0, 1, 0, 1])
    assert CNNAttributor(width=0.05, max_epochs=1, frontend="highpass").fit(
        X, [0, 1, 0, 1]).predict(X).shape == (4,)


def test_residuals_kept_between_epochs_train_the_same_network(smooth_toy, monkeypatch):
    """The memo of residuals (both mirror orientations) changes the speed, not the result."""
    from gfprint import ResidualExtractor
    from gfprint.nn import _attributor

    X, y = smooth_toy
    params = dict(width=0.05, max_epochs=3, batch_size=16, validation_fraction=0.25,
                  frontend="residual", random_state=0)
    denoised = []
    transform = ResidualExtractor.transform
    monkeypatch.setattr(ResidualExtractor, "transform",
                        lambda self, X: denoised.append(len(X)) or transform(self, X))
    kept = CNNAttributor(**params).fit(X, y)
    assert len(X) < sum(denoised) <= 2 * len(X) + 1  # + 1: the size check of fit
    monkeypatch.setattr(_attributor._ResidualMemo, "max_bytes", 0)
    denoised.clear()
    recomputed = CNNAttributor(**params).fit(X, y)
    assert sum(denoised) == 3 * len(X) + 1  # every epoch, training and validation
    for a, b in zip(kept.net_.module_.parameters(), recomputed.net_.module_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert kept.net_.history[-1, "valid_acc"] == recomputed.net_.history[-1, "valid_acc"]


def test_residual_memo_returns_what_computing_again_would(smooth_toy):
    from gfprint import ResidualExtractor
    from gfprint.nn._attributor import _ResidualMemo

    X, _ = smooth_toy
    memo = _ResidualMemo(len(X), X.shape[1:])
    mirrored = np.arange(len(X)) % 3 == 0
    index = np.arange(len(X))
    for batch in (index[:10], index[5:20], index[::-1]):  # overlapping: half from the memo
        images = X[batch].copy()
        images[mirrored[batch]] = images[mirrored[batch], :, ::-1]
        got = memo.residuals(images, batch, mirrored[batch])
        np.testing.assert_array_equal(got, ResidualExtractor().transform(images))
    np.testing.assert_array_equal(memo.known[True], mirrored)
    np.testing.assert_array_equal(memo.known[False], ~mirrored)
    assert not _ResidualMemo.fits(10_000, (256, 256, 3))  # 15.7 GB: computed per batch


def test_saved_labels_keep_their_dtype(toy, tmp_path):
    """uint8 labels came back from a checkpoint as int64."""
    X, y = toy
    labels = np.where(y == "gan", 3, 7).astype(np.uint8)
    cnn = CNNAttributor(width=0.05, max_epochs=1, random_state=0).fit(X, labels)
    cnn.save_params(tmp_path / "m.pt")
    back = CNNAttributor().load_params(tmp_path / "m.pt")
    assert back.classes_.dtype == np.uint8 and back.predict(X[:2]).dtype == np.uint8
    np.testing.assert_array_equal(back.predict(X), cnn.predict(X))
