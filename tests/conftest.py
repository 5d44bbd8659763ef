import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def natural_like(rng, shape, channels=3):
    """A smooth random uint8 image with texture (not white noise)."""
    from scipy import ndimage

    h, w = shape
    base = ndimage.gaussian_filter(rng.normal(size=(h, w, channels)), (6, 6, 0)) * 300
    base += rng.normal(size=base.shape) * 4
    img = np.clip(base + 128, 0, 255).astype(np.uint8)
    return img if channels > 1 else img[:, :, 0]
