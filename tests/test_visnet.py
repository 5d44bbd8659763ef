"""VisNetAttributor: Yu et al.'s fingerprint visualization network."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gfprint import VisNetAttributor  # noqa: E402
from gfprint.nn import VisNet  # noqa: E402
from gfprint.nn._attributor import _to_tensor  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _planted(seed, n_per_source):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (2 * n_per_source, 16, 16, 3), dtype=np.uint8)
    X[n_per_source:, ::2, ::2] //= 2
    return X, np.repeat(["a", "b"], n_per_source)


@pytest.fixture(scope="module")
def planted():
    """Two sources of noise images; the second carries a periodic pattern."""
    return _planted(0, 16)


@pytest.fixture(scope="module")
def fitted(planted):
    X, y = planted
    torch.set_num_threads(1)
    return VisNetAttributor(width=8, max_epochs=30, random_state=0).fit(X, y)


def _ncc(a, b):
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    return a @ b.T


def test_learns_a_planted_pattern_and_fingerprints_are_images(planted, fitted):
    # Fresh images of the two sources: on its training images the network scores
    # 1.0 even when trained on shuffled labels (0.28 on these), so only held-out
    # images show that it learned the pattern (0.875 when written).
    X, y = planted
    assert fitted.score(*_planted(1, 32)) >= 0.75
    assert list(fitted.classes_) == ["a", "b"]
    assert fitted.model_fingerprints_.shape == (2, 16, 16, 3)
    assert fitted.model_fingerprints_.dtype == np.float32
    assert fitted.transform(X).shape == X.shape


def test_transform_is_reconstruction_minus_image(planted, fitted):
    X, _ = planted
    module = fitted.net_.module_.eval()
    x = _to_tensor(X[:5])
    with torch.no_grad():
        expected = (module.reconstruct(x) - x).permute(0, 2, 3, 1).numpy() * 127.5
    np.testing.assert_allclose(fitted.transform(X[:5]), expected, rtol=1e-5, atol=1e-4)


def test_decision_is_ncc_and_proba_its_scaled_softmax(planted, fitted):
    X, _ = planted
    corr = fitted.decision_function(X)
    np.testing.assert_allclose(corr, _ncc(fitted.transform(X), fitted.model_fingerprints_),
                               atol=1e-4)
    logits = fitted.scale_ * corr.astype(np.float64)
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    proba /= proba.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(fitted.predict_proba(X), proba, atol=1e-5)
    assert fitted.scale_ != pytest.approx(50.0)  # the scale is learned


def test_critic_has_its_own_optimizer(fitted):
    net = fitted.net_
    main = {id(p) for group in net.optimizer_.param_groups for p in group["params"]}
    critic = {id(p) for p in net.critic_.parameters()}
    assert main == {id(p) for p in net.module_.parameters()}
    assert not main & critic
    assert {id(p) for g in net.critic_optimizer_.param_groups for p in g["params"]} == critic


def test_adversarial_weight_zero_leaves_the_critic_untrained(planted):
    X, y = planted
    off = VisNetAttributor(width=4, max_epochs=2, adversarial_weight=0.0, random_state=0)
    assert not off.fit(X, y).net_.critic_optimizer_.state  # the critic never stepped
    on = VisNetAttributor(width=4, max_epochs=2, random_state=0).fit(X, y)
    assert on.net_.critic_optimizer_.state
    # the adversarial term changes what the visNet learns
    assert not np.array_equal(off.model_fingerprints_, on.model_fingerprints_)


def test_reproducible_and_picklable(planted):
    X, y = planted
    a = VisNetAttributor(width=4, max_epochs=3, random_state=1).fit(X, y)
    b = VisNetAttributor(width=4, max_epochs=3, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.model_fingerprints_, b.model_fingerprints_)
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(c.predict_proba(X), a.predict_proba(X))


def test_bad_inputs():
    X = np.zeros((4, 18, 18, 3), np.uint8)
    with pytest.raises(ValueError, match="divisible by 4"):
        VisNetAttributor(max_epochs=1).fit(X, [0, 0, 1, 1])
    with pytest.raises(ValueError, match="divisible"):
        VisNet(18, 2, depth=2)
    with pytest.raises(ValueError, match="'lr'"):  # CNNAttributor's constraints apply
        VisNetAttributor(lr=-1.0).fit(np.zeros((4, 16, 16, 3), np.uint8), [0, 0, 1, 1])
    with pytest.raises(ValueError, match="'depth'"):
        VisNetAttributor(depth=0).fit(np.zeros((4, 16, 16, 3), np.uint8), [0, 0, 1, 1])


def test_checkpoint_round_trip_and_the_wrong_estimator(planted, fitted, tmp_path):
    from gfprint import CNNAttributor

    X, _ = planted
    path = tmp_path / "visnet.pt"
    fitted.save_params(path)
    loaded = VisNetAttributor(width=4, depth=1).load_params(path)  # the file's shape wins
    assert (loaded.width, loaded.depth, loaded.init_scale) == (8, 2, 50.0)
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    np.testing.assert_allclose(loaded.decision_function(X), fitted.decision_function(X),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(loaded.transform(X[:4]), fitted.transform(X[:4]),
                               rtol=1e-6, atol=1e-5)
    np.testing.assert_array_equal(loaded.model_fingerprints_, fitted.model_fingerprints_)
    assert loaded.scale_ == fitted.scale_
    with pytest.raises(ValueError, match=r"holds a VisNetAttributor, not a CNNAttributor"):
        CNNAttributor().load_params(path)
    cnn = tmp_path / "cnn.pt"
    CNNAttributor(width=0.05, max_epochs=1, frontend="pixels", random_state=0).fit(
        X, planted[1]).save_params(cnn)
    with pytest.raises(ValueError, match=r"holds a CNNAttributor.*CNNAttributor\(\)\.load"):
        VisNetAttributor().load_params(cnn)
