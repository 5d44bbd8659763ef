import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gfprint import ImageReadError, ResidualExtractor
from gfprint.datasets import load_image_folder, make_camera_images


def test_make_camera_images_is_deterministic_and_follows_the_model():
    a = make_camera_images(n_cameras=2, n_images=3, shape=(40, 50), random_state=3)
    b = make_camera_images(n_cameras=2, n_images=3, shape=(40, 50), random_state=3)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.images.shape == (6, 40, 50, 3) and a.images.dtype == np.uint8
    assert list(a.target) == ["camera_0"] * 3 + ["camera_1"] * 3
    assert a.fingerprints.shape == (2, 40, 50, 3)
    assert abs(a.fingerprints.std() - 0.005) < 0.0005
    grey = make_camera_images(n_cameras=1, n_images=2, shape=(16, 16), n_channels=1, random_state=0)
    assert grey.images.shape == (2, 16, 16)


def test_camera_images_have_varied_scenes():
    data = make_camera_images(n_cameras=1, n_images=4, shape=(64, 64), random_state=0)
    imgs = data.images.astype(float)
    assert imgs.std(axis=(1, 2, 3)).min() > 10  # not flat
    assert np.corrcoef(imgs.reshape(4, -1))[0, 1:].max() < 0.95  # scenes differ


def test_make_camera_images_bad_args():
    with pytest.raises(ValueError, match="n_channels"):
        make_camera_images(n_channels=2)
    with pytest.raises(ValueError, match="shape"):
        make_camera_images(shape=(1, 8))
    for bad in (dict(prnu_strength=np.nan), dict(noise_std=-1.0)):  # NaN: all-zero images
        with pytest.raises(ValueError, match=f"'{next(iter(bad))}' parameter"):
            make_camera_images(**bad)
    with pytest.raises(ValueError, match="finite number of at least 0"):
        make_camera_images(prnu_strength=np.inf)
    # Each failed inside numpy or Python, or (a float side) was truncated silently.
    for bad in (dict(n_cameras=2.5), dict(n_images=2.5), dict(n_channels=True),
                dict(prnu_strength="a"), dict(shape=16)):
        with pytest.raises(ValueError, match=f"'{next(iter(bad))}' parameter"):
            make_camera_images(**bad)
    for shape in ((16, 16, 3), (16.7, 16)):
        with pytest.raises(ValueError, match="shape must be two integers"):
            make_camera_images(shape=shape)


def write_tree(root, sizes=None, rng=None):
    rng = rng or np.random.default_rng(0)
    for src in ("real", "stylegan"):
        (root / src).mkdir()
        for i in range(2):
            shape = sizes.get((src, i), (16, 16)) if sizes else (16, 16)
            Image.fromarray(rng.integers(0, 256, shape + (3,), dtype=np.uint8)).save(
                root / src / f"{i}.png"
            )
    (root / "real" / "notes.txt").write_text("not an image")


def test_load_image_folder(tmp_path):
    write_tree(tmp_path)
    data = load_image_folder(tmp_path)
    assert data.images.shape == (4, 16, 16, 3)
    assert list(data.target) == ["real", "real", "stylegan", "stylegan"]
    assert list(data.target_names) == ["real", "stylegan"]
    assert data.filenames[0].endswith("real/0.png")
    np.testing.assert_array_equal(np.asarray(Image.open(data.filenames[2])), data.images[2])
    lazy = load_image_folder(tmp_path, lazy=True)
    assert "images" not in lazy and lazy.paths == list(data.filenames)
    (tmp_path / "real" / "drawing.svg").write_text("<svg/>")  # ends in g, not in .png
    assert load_image_folder(tmp_path, lazy=True, suffixes=".png").paths == lazy.paths
    # Files in name order, whatever order the file system lists them in.
    for name in ("z.png", "b.png", "m.png"):
        Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "stylegan" / name)
    names = [Path(f).name for f in load_image_folder(tmp_path, lazy=True).filenames]
    assert names[2:] == ["0.png", "1.png", "b.png", "m.png", "z.png"]


def test_mixed_bit_depths_are_each_scaled_by_their_own_type(tmp_path):
    # An 8-bit file read before a 16-bit one: the stack turns to float32 on [0, 1]
    # at the second, and the first must be rescaled then too.
    (tmp_path / "cam").mkdir()
    Image.fromarray(np.full((4, 4), 200, np.uint8)).save(tmp_path / "cam" / "0.png")
    Image.fromarray(np.full((4, 4), 65535, np.uint16)).save(tmp_path / "cam" / "1.png")
    images = load_image_folder(tmp_path).images
    assert images.dtype == np.float32
    np.testing.assert_allclose(images[:, 0, 0], [200 / 255, 1.0], rtol=1e-6)


def test_numpy_arrays_of_paths_are_read_like_lists(tmp_path):
    """load_image_folder(...).filenames, indexed with NumPy, was refused as a 1-D array."""
    write_tree(tmp_path, sizes={("real", 1): (24, 20)})
    paths = load_image_folder(tmp_path, lazy=True).paths
    names = np.array(paths)
    same = [p for p in paths if "real/1" not in p]
    want = ResidualExtractor().transform(same)
    np.testing.assert_array_equal(ResidualExtractor().transform(np.array(same)), want)
    objects = np.array([Path(p) for p in same], dtype=object)
    np.testing.assert_array_equal(ResidualExtractor().transform(objects[::2]), want[::2])
    mixed = ResidualExtractor().transform(names)  # mixed sizes: a list, as for a list
    assert [r.shape[:2] for r in mixed] == [(16, 16), (24, 20), (16, 16), (16, 16)]
    with pytest.raises(ValueError, match="could not be read as an image array"):
        ResidualExtractor().transform(np.array([paths[0], 3], dtype=object))


def test_load_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_image_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match="no source sub-folders"):
        load_image_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty"):
        load_image_folder(tmp_path)
    (tmp_path / "f.png").write_bytes(b"")
    with pytest.raises(NotADirectoryError, match="is a file"):  # said "does not exist"
        load_image_folder(tmp_path / "f.png")


def test_load_image_folder_skips_hidden_files(tmp_path):
    write_tree(tmp_path)
    (tmp_path / "real" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    data = load_image_folder(tmp_path)  # the companion file failed the whole load
    assert len(data.images) == 4
    assert not any("._" in f for f in data.filenames)


def test_load_image_folder_says_what_differs(tmp_path):
    write_tree(tmp_path)
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "stylegan" / "1.png")
    with pytest.raises(ValueError, match="number of colour channels") as info:
        load_image_folder(tmp_path)
    assert "lazy=True" not in str(info.value)  # lazy loading fails the same way


def test_load_image_folder_corrupt_and_mixed(tmp_path):
    write_tree(tmp_path, sizes={("stylegan", 1): (16, 20)})
    with pytest.raises(ValueError, match="1.png"):
        load_image_folder(tmp_path)
    assert len(load_image_folder(tmp_path, lazy=True).paths) == 4
    (tmp_path / "stylegan" / "1.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(ImageReadError, match="stylegan/1.png"):
        load_image_folder(tmp_path)


def test_16_bit_colour_files_say_they_lose_their_low_bits(tmp_path):
    """Pillow reads 48-bit PNGs as 8-bit RGB: that was silent."""
    import struct
    import zlib

    from gfprint._validation import read_image

    h, w = 4, 5
    deep = (np.arange(h * w * 3).reshape(h, w, 3) * 1000).astype(">u2")
    rows = b"".join(b"\x00" + deep[i].tobytes() for i in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    (tmp_path / "rgb48.png").write_bytes(png)
    with pytest.warns(UserWarning, match="16 bits per channel are read with 8"):
        got = read_image(tmp_path / "rgb48.png")
    np.testing.assert_array_equal(got, (deep.astype(np.uint16) >> 8).astype(np.uint8))
    Image.fromarray(np.zeros((4, 5, 3), np.uint8)).save(tmp_path / "rgb24.png")
    Image.fromarray(np.zeros((4, 5), np.uint16)).save(tmp_path / "grey16.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 8-bit colour and 16-bit grey: no warning
        read_image(tmp_path / "rgb24.png")
        assert read_image(tmp_path / "grey16.png").dtype == np.uint16
