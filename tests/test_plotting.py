"""gfprint.plotting: figures from the estimators' outputs; bad shapes refused first."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gfprint.plotting import plot_fingerprints, plot_localization  # noqa: E402


def test_plot_fingerprints_refuses_what_it_would_draw_wrong():
    fps = np.random.default_rng(0).normal(size=(2, 16, 16, 3))
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=r"fingerprint\[None\]"):  # was 16 "fingerprints"
        plot_fingerprints(fps[0], ["a"])
    with pytest.raises(ValueError, match="1 names for 2 fingerprints"):  # a blank column
        plot_fingerprints(fps, ["a"])
    with pytest.raises(ValueError, match="non-empty"):  # no cluster found: an empty figure
        plot_fingerprints(fps[:0], [])
    assert plt.get_fignums() == before  # nothing left open
    fig = plot_fingerprints(fps, ["a", "b"])
    assert len(fig.axes) == 4
    plt.close(fig)


def test_plot_localization_checks_the_mask_and_shows_16_bit_images():
    rng = np.random.default_rng(0)
    img8 = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
    prob = rng.uniform(size=(16, 24))
    with pytest.raises(ValueError, match="mask of shape"):  # outlined the wrong region
        plot_localization(img8, prob, mask=np.zeros((16, 16), bool))
    fig8 = plot_localization(img8, prob)
    fig16 = plot_localization(img8.astype(np.uint16) * 257, prob)  # was clipped to white
    np.testing.assert_allclose(fig16.axes[0].images[0].get_array(),
                               fig8.axes[0].images[0].get_array() / 255.0, atol=1e-6)
    plt.close(fig8)
    plt.close(fig16)
