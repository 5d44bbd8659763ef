import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import GridSearchCV, cross_val_score

from gfprint.baselines import make_knn_baseline
from gfprint.ensemble import TTAClassifier


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
    assert clone(tta).get_params()["voting"] == "hard"


def test_errors(rng):
    X = rng.integers(0, 255, (4, 6, 8), dtype=np.uint8)
    y = [0, 1, 0, 1]
    with pytest.raises(ValueError, match="unknown transforms"):
        TTAClassifier(make_knn_baseline(), transforms=("spin",)).fit(X, y)
    with pytest.raises(ValueError, match="square"):
        TTAClassifier(make_knn_baseline()).fit(X, y).predict(X)
    with pytest.raises(ValueError, match="voting"):
        TTAClassifier(make_knn_baseline(), voting="max").fit(X, y)
