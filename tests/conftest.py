import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    # The workers already take every core (pytest -n auto): one thread each for the
    # libraries that would start a pool per core (OpenMP in torch, BLAS, Numba). Set
    # before they are imported; two threads per worker on 2 cores made the warm suite
    # 71 s against 48 s with one (and 65 s in one process).
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402 - after the thread settings above
import pytest  # noqa: E402


def pytest_xdist_auto_num_workers(config):
    """Workers for ``-n auto``: the CPUs this process may run on, at most 4.

    pytest-xdist counts physical cores, which a VM may under-report; more than four
    workers would each import torch for little gain.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


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
