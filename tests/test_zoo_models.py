"""Fast checks of the GAN zoo's architectures, sampling and real-patch cutting."""

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gfprint.datasets import _zoo_models as zm  # noqa: E402

DATA = Path(zm.__file__).parent / "data"


@pytest.fixture(autouse=True)
def one_torch_thread():
    # These nets are tiny: on a busy 2-core machine, two OpenMP threads made one forward
    # pass ~50x slower (measured 0.24 s vs 5 ms). Restored after each test.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("architecture", zm.ARCHITECTURES)
def test_generator_shape_range_and_size(architecture):
    torch.manual_seed(0)
    G = zm.build_generator(architecture)
    n_params = sum(p.numel() for p in G.parameters())
    assert 100_000 <= n_params <= 250_000
    G.eval()
    with torch.no_grad():
        x = G(torch.randn(5, zm.Z_DIM) * 3)  # large codes still land in [-1, 1]
    assert x.shape == (5, 3, zm.IMAGE_SIZE, zm.IMAGE_SIZE)
    assert x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1


def test_architectures_use_their_upsampling_layer():
    kinds = {
        a: {type(m).__name__ for m in zm.build_generator(a).modules()} for a in zm.ARCHITECTURES
    }
    assert "ConvTranspose2d" in kinds["deconv"]
    assert "Upsample" in kinds["upsample"] and "ConvTranspose2d" not in kinds["upsample"]
    assert "PixelShuffle" in kinds["pixelshuffle"]
    assert "ConvTranspose2d" not in kinds["pixelshuffle"]
    with pytest.raises(ValueError, match="architecture"):
        zm.build_generator("stylegan")


def test_zoo_fits_in_five_megabytes_as_float16():
    sizes = [sum(p.numel() for p in zm.build_generator(a).parameters()) for a in zm.ARCHITECTURES]
    # six generators: three deconv seeds + deconv subset + upsample + pixelshuffle
    total = 2 * (4 * sizes[0] + sizes[1] + sizes[2])
    assert total <= 5_000_000


def test_training_discriminator_shape():
    """The zoo's training script (benchmarks/, not shipped) builds this discriminator."""
    spec = importlib.util.spec_from_file_location(
        "train_zoo", Path(__file__).resolve().parents[1] / "benchmarks" / "train_zoo.py"
    )
    train_zoo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train_zoo)
    D = train_zoo.build_discriminator()
    assert D(torch.zeros(4, 3, 32, 32)).shape == (4,)
    norms = [m for m in D.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert not norms


def test_sample_deterministic_per_seed_and_leaves_state_alone():
    torch.manual_seed(0)
    G = zm.build_generator("deconv").train()
    global_state = torch.get_rng_state()
    a = zm.sample(G, 20, rng_seed=7, batch_size=8)  # several batches
    b = zm.sample(G, 20, rng_seed=7)
    c = zm.sample(G, 20, rng_seed=8)
    assert a.shape == (20, 32, 32, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert G.training  # mode restored
    assert torch.equal(torch.get_rng_state(), global_state)  # global RNG untouched
    assert zm.sample(G, 0, rng_seed=1).shape == (0, 32, 32, 3)


def test_sample_rounds_half_to_even():
    class Const(torch.nn.Module):
        def __init__(self, values):
            super().__init__()
            self.values = torch.tensor(values, dtype=torch.float32)
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, z):
            return self.values.view(1, -1, 1, 1).expand(len(z), 3, 32, 32)

    # (x + 1) * 127.5 = 127.5 -> 128 (even), 0 -> 0, 255 -> 255
    out = zm.sample(Const([0.0, -1.0, 1.0]), 2, rng_seed=0)
    assert out[0, 0, 0].tolist() == [128, 0, 255]


def _locate(patch, photo, start, stop):
    """``(column, flipped)`` of every place where ``patch``, or its mirror image
    (``flipped=True``), sits in columns [start, stop) of ``photo``."""
    size = patch.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(photo[:, start:stop], (size, size, 3))
    windows = windows[:, :, 0]  # (rows, cols, size, size, 3)
    probes = [(0, 0), (0, size - 1), (size - 1, 0), (size - 1, size - 1), (size // 2, size // 3)]
    hits = []
    for flipped, candidate in ((False, patch), (True, patch[:, ::-1])):
        # prefilter on one pixel over the whole region, then on a few more pixels
        # at the surviving positions only, then compare exactly
        ys, xs = np.nonzero((windows[:, :, 0, 0] == candidate[0, 0]).all(-1))
        for r, c in probes[1:]:
            keep = (windows[ys, xs, r, c] == candidate[r, c]).all(-1)
            ys, xs = ys[keep], xs[keep]
        hits += [(start + x, flipped) for y, x in zip(ys, xs)
                 if np.array_equal(windows[y, x], candidate)]
    return hits


@pytest.mark.parametrize("region", ["heldout", "train"])
def test_real_patches_come_from_their_region(region):
    rng = np.random.default_rng(0)
    patches = zm.real_patches(8, size=32, region=region, rng=rng)
    assert patches.shape == (8, 32, 32, 3) and patches.dtype == np.uint8
    photos = zm._photos()
    start, stop = zm.HELDOUT_COLUMNS if region == "heldout" else zm.TRAIN_COLUMNS
    for patch in patches:
        # search the whole photo: every occurrence must lie inside the region
        hits = [x for photo in photos for x, _ in _locate(patch, photo, 0, 640)]
        assert hits, "patch not found in the photos"
        assert all(start <= x and x + 32 <= stop for x in hits), (hits, region)


def test_real_patches_random_offsets_flips_and_photos():
    photo_china, photo_flower = zm._photos()
    assert photo_china.shape == photo_flower.shape == (427, 640, 3)
    rng = np.random.default_rng(1)
    patches = zm.real_patches(24, size=16, rng=rng)
    phases, flips, which = set(), [], set()
    for patch in patches:
        hits = [(k, x, f) for k, photo in enumerate((photo_china, photo_flower))
                for x, f in _locate(patch, photo, 448, 640)]
        assert hits
        k, x, f = hits[0]
        which.add(k)
        phases.add(x % 8)
        flips.append(f)
    assert which == {0, 1}
    assert len(phases) >= 4  # not aligned on the JPEG 8x8 grid
    assert 4 <= sum(flips) <= 20


def test_real_patches_reproducible_and_validated():
    a = zm.real_patches(5, rng=np.random.default_rng(3))
    b = zm.real_patches(5, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    china = zm.real_patches(5, region="train", rng=np.random.default_rng(3), photos=("china.jpg",))
    assert china.shape == (5, 32, 32, 3)
    with pytest.raises(ValueError, match="region"):
        zm.real_patches(2, region="test")
    with pytest.raises(ValueError, match="photos"):
        zm.real_patches(2, photos=("lena.png",))
    with pytest.raises(ValueError, match="size"):
        zm.real_patches(2, size=300, region="heldout")


@pytest.mark.skipif(not (DATA / "manifest.json").exists(), reason="zoo not trained")
def test_shipped_weights_match_manifest_and_load():
    manifest = json.loads((DATA / "manifest.json").read_text())
    assert manifest["z_dim"] == zm.Z_DIM and manifest["image_size"] == zm.IMAGE_SIZE
    assert len(manifest["generators"]) >= 6
    total = 0
    for name, entry in manifest["generators"].items():
        path = DATA / entry["file"]
        raw = path.read_bytes()
        total += len(raw)
        assert hashlib.sha256(raw).hexdigest() == entry["sha256"], name
        with np.load(path, allow_pickle=False) as arrays:
            state = {k: torch.from_numpy(arrays[k]).float() for k in arrays.files}
            assert all(arrays[k].dtype == np.float16 for k in arrays.files
                       if not k.endswith("num_batches_tracked"))
        G = zm.build_generator(entry["architecture"])
        G.load_state_dict(state)
        images = zm.sample(G, 16, rng_seed=0)
        assert images.std(axis=0).mean() > 5, f"{name} samples are (nearly) constant"
    assert total <= 5 * 2**20
