import numpy as np
import pytest


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch thread, restored after it. Tiny nets: on a busy 2-core
    machine, two OpenMP threads made one forward pass ~50x slower (0.24 s vs 5 ms)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
