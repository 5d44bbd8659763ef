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


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("architecture", zm.ARCHITECTURES)
def test_generator_shape_range_and_size(architecture):
    torch.manual_seed(0)
    G = zm.build_generator(architecture)
    n_params = sum(p.numel() for p in G.parameters())
    assert 300_000 <= n_params <= 700_000
    G.eval()
    with torch.no_grad():
        x = G(torch.randn(5, zm.Z_DIM) * 3)  # large codes still land in [-1, 1]
    assert x.shape == (5, 3, zm.IMAGE_SIZE, zm.IMAGE_SIZE)
    assert x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1


def test_generator_widths_and_code_size():
    G = zm.build_generator("upsample", widths=(16, 8, 4), z_dim=10)
    assert G.project.in_features == 10 and G.project.out_features == 16 * 16
    assert zm.sample(G, 3, rng_seed=0).shape == (3, 32, 32, 3)  # codes of G's size
    with pytest.raises(ValueError, match="widths"):
        zm.build_generator("deconv", widths=(16, 8))


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


def test_zoo_fits_in_ten_megabytes_as_float16():
    sizes = {a: sum(p.numel() for p in zm.build_generator(a).parameters())
             for a in zm.ARCHITECTURES}
    # seven generators: four deconv seeds + deconv subset + upsample + pixelshuffle
    total = 2 * (5 * sizes["deconv"] + sizes["upsample"] + sizes["pixelshuffle"])
    assert total <= 10_000_000


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


_PACKED = {}


def _packed(photo):
    """Each pixel's RGB in one int32 (one comparison per pixel, not three)."""
    key = id(photo)  # load_photos() returns the same, read-only arrays every time
    if key not in _PACKED:
        p = photo.astype(np.int32)
        _PACKED[key] = (photo, p[..., 0] << 16 | p[..., 1] << 8 | p[..., 2])
    return _PACKED[key][1]


def _locate(patch, photo):
    """``(column, flipped)`` of every place where ``patch``, or its mirror image
    (``flipped=True``), sits in ``photo``."""
    size = patch.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(photo, (size, size, 3))
    windows = windows[:, :, 0]  # (rows, cols, size, size, 3)
    probes = [(0, 0), (0, size - 1), (size - 1, 0), (size - 1, size - 1), (size // 2, size // 3)]
    hits = []
    for flipped, candidate in ((False, patch), (True, patch[:, ::-1])):
        # prefilter on one pixel over the whole photo, then on a few more pixels
        # at the surviving positions only, then compare exactly
        first = candidate[0, 0].astype(np.int32)
        ys, xs = np.nonzero(_packed(photo)[: windows.shape[0], : windows.shape[1]]
                            == (first[0] << 16 | first[1] << 8 | first[2]))
        for r, c in probes[1:]:
            keep = (windows[ys, xs, r, c] == candidate[r, c]).all(-1)
            ys, xs = ys[keep], xs[keep]
        hits += [(int(x), flipped) for y, x in zip(ys, xs)
                 if np.array_equal(windows[y, x], candidate)]
    return hits


def _region_of(x, size):
    """The region of a patch at column ``x``, or None if it straddles two strips."""
    strip = x // zm.STRIP
    if (x + size - 1) // zm.STRIP != strip:
        return None
    return "heldout" if strip % zm.HELDOUT_EVERY == zm.HELDOUT_EVERY - 1 else "train"


def _hits(patches, photos):
    """Per patch, every ``(photo id, column, flipped)`` where it occurs."""
    return [[(k, x, f) for k, photo in enumerate(photos) for x, f in _locate(patch, photo)]
            for patch in patches]


def test_photos_ship_on_disk_and_match_the_manifest():
    photos = zm.load_photos()
    assert len(photos) == len(zm.PHOTOS) == 7
    for photo in photos:
        assert photo.dtype == np.uint8 and photo.ndim == 3 and photo.shape[2] == 3
        assert min(photo.shape[:2]) >= 300 and not photo.flags.writeable
    manifest = json.loads((DATA / "manifest.json").read_text())
    digests = {entry["file"]: entry["sha256"] for entry in manifest["photos"]}
    assert [entry["file"] for entry in manifest["photos"]] == [name for _, name in zm.PHOTOS]
    for (_, name), photo in zip(zm.PHOTOS, photos):
        assert zm.photo_digest(photo) == digests[name], f"{name} differs from the trained-on"


def test_every_fourth_strip_is_held_out():
    photos = zm.load_photos()
    for region in ("train", "heldout"):
        table = zm._strips(photos, region, 32, exclude=())
        for k, x0, x1, n_positions in table:
            assert x0 % zm.STRIP == 0 and _region_of(x0, x1 - x0) == region
            assert n_positions == (photos[k].shape[0] - 31) * (x1 - x0 - 31)
        assert {k for k, *_ in table} == set(range(7))  # every photo has both regions
    heldout = sum(s[3] for s in zm._strips(photos, "heldout", 32, ()))
    train = sum(s[3] for s in zm._strips(photos, "train", 32, ()))
    assert 0.15 <= heldout / (heldout + train) <= 0.3
    without = zm._strips(photos, "train", 32, exclude=("chelsea.png",))
    assert 1 not in {k for k, *_ in without}


@pytest.mark.parametrize("region", ["heldout", "train"])
def test_real_patches_come_from_their_region(region):
    photos = zm.load_photos()
    patches = zm.real_patches(12, size=32, region=region, rng=np.random.default_rng(0))
    assert patches.shape == (12, 32, 32, 3) and patches.dtype == np.uint8
    unique = 0
    for hits in _hits(patches, photos):
        assert any(_region_of(x, 32) == region for _, x, _ in hits), hits
        if len(hits) == 1:  # flat patches can occur in several places
            unique += 1
            assert _region_of(hits[0][1], 32) == region
    assert unique >= 8


def test_real_patches_random_offsets_flips_and_exclusion():
    photos = zm.load_photos()
    patches = zm.real_patches(24, size=16, region="train", rng=np.random.default_rng(1),
                              exclude=("chelsea.png",))
    phases, flips, which = set(), [], set()
    for hits in _hits(patches, photos):
        assert hits and all(k != 1 for k, _, _ in hits)  # chelsea.png left out
        k, x, f = hits[0]
        which.add(k)
        phases.add(x % 8)
        flips.append(f)
    assert len(which) >= 4  # drawn from several photos
    assert len(phases) >= 4  # not aligned on the JPEG 8x8 grid
    assert 4 <= sum(flips) <= 20


def test_real_patches_reproducible_and_validated():
    a = zm.real_patches(5, rng=np.random.default_rng(3))
    b = zm.real_patches(5, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="region"):
        zm.real_patches(2, region="test")
    with pytest.raises(ValueError, match="exclude"):
        zm.real_patches(2, exclude=("lena.png",))
    with pytest.raises(ValueError, match="exclude"):
        zm.real_patches(2, exclude=tuple(name for _, name in zm.PHOTOS))
    with pytest.raises(ValueError, match="size"):
        zm.real_patches(2, size=300, region="heldout")


@pytest.mark.skipif(not (DATA / "manifest.json").exists(), reason="zoo not trained")
def test_shipped_weights_match_manifest_and_load():
    manifest = json.loads((DATA / "manifest.json").read_text())
    assert manifest["z_dim"] == zm.Z_DIM and manifest["image_size"] == zm.IMAGE_SIZE
    assert len(manifest["generators"]) >= 7
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
        G = zm.build_generator(entry["architecture"], widths=entry["widths"],
                               z_dim=entry["z_dim"])
        G.load_state_dict(state)
        images = zm.sample(G, 16, rng_seed=0)
        assert images.std(axis=0).mean() > 5, f"{name} samples are (nearly) constant"
    assert total <= 10 * 2**20
