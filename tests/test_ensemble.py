import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from gfprint import PRNUFingerprintClassifier
from gfprint.baselines import make_knn_baseline
from gfprint.ensemble import TRANSFORMS, TTAClassifier


class LeftBright(ClassifierMixin, BaseEstimator):
    """Predicts 1 when the left half is brighter: flip-sensitive on purpose."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X):
        X = np.asarray(X, float)
        w = X.shape[2]
        return (X[:, :, : w // 2].mean(axis=(1, 2)) > X[:, :, w // 2 :].mean(axis=(1, 2))).astype(
            int
        )

    def predict_proba(self, X):
        p = self.predict(X)
        return np.stack([1 - p, p], axis=1).astype(float)


def test_transforms_act_on_the_image_axes_of_a_stack():
    # One 2x3 RGB image, each pixel's channels distinct: a flip of the channel axis
    # (x[..., ::-1]) or a rotation the other way would pass a test on grey images.
    x = np.arange(2 * 3 * 3).reshape(1, 2, 3, 3)
    np.testing.assert_array_equal(TRANSFORMS["hflip"](x)[0, 0, 0], x[0, 0, 2])
    np.testing.assert_array_equal(TRANSFORMS["vflip"](x)[0, 0, 0], x[0, 1, 0])
    # rot90 turns counter-clockwise: the top-right pixel goes to the top-left.
    rot = TRANSFORMS["rot90"](x)
    assert rot.shape == (1, 3, 2, 3)
    np.testing.assert_array_equal(rot[0, 0, 0], x[0, 0, 2])
    np.testing.assert_array_equal(TRANSFORMS["rot270"](x), TRANSFORMS["rot90"](
        TRANSFORMS["rot180"](x)))
    np.testing.assert_array_equal(TRANSFORMS["rot180"](x)[0], x[0, ::-1, ::-1])


def test_hard_vote_counts_each_transform():
    X = np.zeros((1, 4, 4), np.uint8)
    X[0, :, :2] = 200  # left bright
    base = LeftBright().fit(X, [1])
    assert base.predict(X)[0] == 1
    # identity says 1; hflip says 0; vflip says 1 -> majority 1
    assert (
        TTAClassifier(LeftBright(), transforms=("identity", "hflip", "vflip"))
        .fit(X, [1])
        .predict(X)[0]
        == 1
    )
    # hflip and rot180 both say 0 -> majority 0
    tta = TTAClassifier(LeftBright(), transforms=("identity", "hflip", "rot180")).fit(X, [1])
    assert tta.predict(X)[0] == 0
    # The identity copy's tie-break is half a vote: it must not outweigh a 2-to-1
    # majority against it (right bright: identity says 0, hflip and rot180 say 1).
    hard = TTAClassifier(LeftBright(), transforms=("identity", "hflip", "rot180"),
                         voting="hard").fit(X, [1])
    assert hard.predict(X)[0] == 0 and hard.predict(X[:, :, ::-1])[0] == 1
    soft = TTAClassifier(LeftBright(), transforms=("identity", "hflip", "rot180"), voting="soft")
    np.testing.assert_allclose(soft.fit(X, [1]).predict_proba(X), [[2 / 3, 1 / 3]])


def test_works_in_model_selection(rng):
    a = rng.normal(70, 10, (20, 8, 8))
    b = rng.normal(180, 10, (20, 8, 8))
    X = np.clip(np.concatenate([a, b]), 0, 255).astype(np.uint8)
    y = np.repeat(["a", "b"], 20)
    tta = TTAClassifier(make_knn_baseline())
    assert cross_val_score(tta, X, y, cv=4).mean() == 1.0
    grid = GridSearchCV(
        tta, {"voting": ["hard", "soft"], "estimator__knn__n_neighbors": [1, 3]}, cv=2
    )
    assert grid.fit(X, y).best_score_ == 1.0
    assert clone(tta).get_params()["voting"] == "auto"


def test_errors(rng):
    X = rng.integers(0, 255, (4, 6, 8), dtype=np.uint8)
    y = [0, 1, 0, 1]
    with pytest.raises(ValueError, match="unknown transforms"):
        TTAClassifier(make_knn_baseline(), transforms=("spin",)).fit(X, y)
    with pytest.raises(ValueError, match=r"'auto' or a sequence of names.*\('hflip',\)"):
        TTAClassifier(make_knn_baseline(), transforms="hflip").fit(X, y)
    with pytest.raises(ValueError, match="square"):
        TTAClassifier(make_knn_baseline(), transforms=("identity", "rot90")).fit(X, y).predict(X)
    with pytest.raises(ValueError, match="voting"):
        TTAClassifier(make_knn_baseline(), voting="max").fit(X, y)


def test_hard_vote_ties_go_to_the_first_transform():
    X = np.zeros((2, 4, 4), np.uint8)
    X[0, :, :2] = 200  # left bright: identity says 1, hflip says 0
    X[1, :, 2:] = 200  # right bright: identity says 0, hflip says 1
    for first, expected in (("identity", [1, 0]), ("hflip", [0, 1])):
        order = (first, "hflip" if first == "identity" else "identity")
        tta = TTAClassifier(LeftBright(), transforms=order, voting="hard").fit(X, [0, 1])
        assert tta.predict(X).tolist() == expected  # not the class first in classes_


class HardOnly(ClassifierMixin, BaseEstimator):
    """LeftBright without predict_proba."""

    def fit(self, X, y):
        self.classes_ = np.array([0, 1])
        return self

    def predict(self, X):
        return LeftBright().predict(X)


def test_auto_voting(rng):
    X = np.zeros((2, 4, 4), np.uint8)
    X[0, :, :2] = 200
    soft = TTAClassifier(LeftBright(), transforms=("identity", "hflip")).fit(X, [0, 1])
    assert soft.voting_ == "soft" and soft.transforms_ == ("identity", "hflip")
    # Identity says 1 with certainty, hflip 0: the mean of the two.
    np.testing.assert_allclose(soft.predict_proba(X), [[0.5, 0.5], [1.0, 0.0]])
    assert TTAClassifier(HardOnly()).fit(X, [0, 1]).voting_ == "hard"
    # An open-set classifier keeps its rejections: hard voting.
    R = rng.normal(size=(8, 8, 8)).astype(np.float32)
    y = np.repeat(["a", "b"], 4)
    open_set = TTAClassifier(PRNUFingerprintClassifier(threshold=0.5)).fit(R, y)
    assert open_set.voting_ == "hard"
    assert set(open_set.predict(R[:2] * 0 + rng.normal(size=(2, 8, 8)))) == {"unknown"}
    closed = PRNUFingerprintClassifier(threshold=0.5, null_class="a")
    assert TTAClassifier(closed).fit(R, y).voting_ == "soft"
    # Frozen, in a pipeline: the frozen pipeline has no threshold; its last step has.
    fitted = make_pipeline(FunctionTransformer(), PRNUFingerprintClassifier(threshold=0.5))
    frozen = TTAClassifier(FrozenEstimator(fitted.fit(R, y))).fit(R, y)
    assert frozen.voting_ == "hard"  # was soft: every image got a known label


class Flipper(LeftBright):
    def __init__(self, flip=False):
        self.flip = flip


def test_auto_transforms_are_those_the_model_was_trained_with():
    X = np.zeros((2, 4, 4), np.uint8)
    X[0, :, :2] = 200
    for est, expected in [(LeftBright(), ("identity",)), (Flipper(), ("identity",)),
                          (Flipper(flip=True), ("identity", "hflip")),
                          (make_pipeline(FunctionTransformer(), Flipper(flip=True)),
                           ("identity", "hflip")),
                          (FrozenEstimator(make_pipeline(FunctionTransformer(),
                                                         Flipper(flip=True)).fit(X, [0, 1])),
                           ("identity", "hflip"))]:
        tta = TTAClassifier(est).fit(X, [0, 1])
        assert tta.transforms == "auto" and tta.transforms_ == expected
    # The identity alone is the model itself.
    np.testing.assert_array_equal(TTAClassifier(LeftBright()).fit(X, [0, 1]).predict(X), [1, 0])
    np.testing.assert_allclose(TTAClassifier(LeftBright()).fit(X, [0, 1]).predict_proba(X),
                               LeftBright().fit(X, [0, 1]).predict_proba(X))


def test_default_tta_does_not_lower_a_flip_trained_cnn_on_the_zoo():
    """Issue 16: the old default (six flips and rotations) cost such a CNN 0.2."""
    pytest.importorskip("torch")
    from sklearn.frozen import FrozenEstimator

    from gfprint import CNNAttributor
    from gfprint.datasets import load_gan_zoo

    sources = ["deconv_s0", "pixelshuffle_s0"]
    train = load_gan_zoo(n_per_source=60, sources=sources, random_state=0)
    test = load_gan_zoo(n_per_source=100, sources=sources, random_state=1)
    cnn = CNNAttributor(width=0.05, max_epochs=5, flip=True, random_state=0)
    cnn.fit(train.images, train.target)
    alone = cnn.score(test.images, test.target)
    tta = TTAClassifier(FrozenEstimator(cnn)).fit(train.images, train.target)
    assert tta.voting_ == "soft" and tta.transforms_ == ("identity", "hflip")
    assert alone > 0.6  # the model learned something for the comparison to mean anything
    assert tta.score(test.images, test.target) >= alone - 0.02
