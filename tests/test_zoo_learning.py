"""Learned attribution on the built-in zoo: the CNN learns it; perturbations in a Pipeline.

Real images and three generators with different upsampling (transposed convolution,
nearest-upsample, pixel shuffle) keep the tests fast; chance is 1/4.
"""

import numpy as np
import pytest
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import Pipeline

from gfprint import CNNAttributor, PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_gan_zoo
from gfprint.perturbations import JPEGCompression

pytest.importorskip("torch")

SOURCES = ["real", "deconv_s0", "pixelshuffle_s0", "upsample_s0"]
SMALL = dict(width=0.1, max_epochs=15, random_state=0)
ATTACK = dict(quality=(10, 75))  # Yu et al. Sec. 4.4: JPEG quality drawn from 10-75

# Measured on zoo v2 (2 torch threads, 200 training images per source): clean test
# accuracy 0.82, 0.853 and 0.858 for zoo seeds 0, 1, 2 (chance 0.25). The real class
# shares the generators' photos, which makes it the hard one. The bound is twice chance.
# With 100 images per source (195 optimizer steps) training sat on its initial
# plateau in one run (0.265) and escaped it in another (0.79): too few steps to test.
CLEAN_BOUND = 0.5

# Whether JPEG immunization beats clean training is a statistical claim about
# training (one 15-epoch run lost 0.07 where others gained 0.09): it is measured over
# seeds in benchmarks/bench_immunization.py, not tested here. That augmentation is
# applied per training batch is tested in test_nn.py.


@pytest.fixture(scope="module")
def split():
    zoo = load_gan_zoo(n_per_source=300, sources=SOURCES, random_state=0)
    return train_test_split(
        zoo.images, zoo.target, test_size=1 / 3, stratify=zoo.target, random_state=0
    )


@pytest.fixture(scope="module")
def plain(split):
    X_train, _, y_train, _ = split
    return CNNAttributor(**SMALL).fit(X_train, y_train)


@pytest.mark.slow
def test_cnn_learns_the_clean_zoo(split, plain):
    _, X_test, _, y_test = split
    assert plain.score(X_test, y_test) >= CLEAN_BOUND


def test_prnu_fitted_on_perturbed_images_through_a_pipeline(split):
    """A perturbation as the first Pipeline step: fingerprints of perturbed images."""
    X_train, X_test, y_train, y_test = split
    jpeg = JPEGCompression(quality=50)
    pipe = Pipeline(
        [
            ("attack", jpeg),
            ("residual", ResidualExtractor(levels=2)),
            ("prnu", PRNUFingerprintClassifier()),
        ]
    ).fit(X_train, y_train)
    by_hand = PRNUFingerprintClassifier().fit(
        ResidualExtractor(levels=2).transform(jpeg.transform(X_train)), y_train
    )
    np.testing.assert_array_equal(pipe["prnu"].fingerprints_, by_hand.fingerprints_)
    # The step also perturbs what the pipeline scores: here, the Dfs setting of Yu
    # et al. Table 7 (trained and tested on JPEG images), far above chance (0.25).
    assert cross_val_score(pipe, X_test, y_test, cv=3).mean() > 0.5
