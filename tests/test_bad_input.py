"""One table of bad inputs, run against every public image estimator and loader.

A new estimator gets these checks by being listed once in
``estimator_checks.IMAGE_ESTIMATORS``. Transformers get the images at ``transform``
(after ``fit`` for the stateful ones), classifiers at ``fit`` with labels.
"""

import numpy as np
import pytest
from PIL import Image
from sklearn.base import is_classifier

from estimator_checks import IMAGE_ESTIMATORS
from gfprint import ImageReadError
from gfprint.datasets import load_image_folder

SIZE = 32


def _png_bytes(array):
    import io

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _declare_size(png, width, height):
    """Rewrite a PNG's IHDR size (and its CRC) without touching the pixel data."""
    import struct
    import zlib

    ihdr = bytearray(png[12:29])  # chunk type + 13 data bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    return png[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(bytes(ihdr))) + png[33:]


def _write(path, array, **kw):
    Image.fromarray(array, **kw).save(path)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    rng = np.random.default_rng(0)
    good = _write(root / "good.png", rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8))
    truncated = root / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:120])
    bomb = root / "bomb.png"  # a tiny file whose header declares 50000 x 50000 pixels
    bomb.write_bytes(_declare_size(_png_bytes(np.zeros((8, 8), np.uint8)), 50000, 50000))
    hot = _write(root / "hot.tif", np.full((SIZE, SIZE), 3.5, np.float32), mode="F")
    wide = _write(root / "wide.tif", np.full((SIZE, SIZE), 2**20, np.int32), mode="I")
    return {"good": good, "truncated": truncated, "bomb": bomb, "hot": hot, "wide": wide,
            "missing": root / "missing.png"}


def _u8(*shape):
    return np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)


BAD = {
    "nan": (lambda f: np.full((4, SIZE, SIZE, 3), np.nan), ValueError, "NaN"),
    "inf": (lambda f: np.full((4, SIZE, SIZE, 3), np.inf, np.float32), ValueError, "infinity"),
    "float out of [0, 1]": (lambda f: np.full((4, SIZE, SIZE, 3), 2.0), ValueError,
                            r"\[0, 1\]"),
    "int32 dtype": (lambda f: np.zeros((4, SIZE, SIZE, 3), np.int32), TypeError, "dtype int32"),
    "4 channels": (lambda f: _u8(4, SIZE, SIZE, 4), ValueError, "4 channels"),
    "one (H, W, 3) image": (lambda f: _u8(SIZE, SIZE, 3), ValueError, r"image\[None\]"),
    "one (H, W) image": (lambda f: _u8(SIZE, SIZE), ValueError, r"image\[None\]"),
    "no images": (lambda f: _u8(0, SIZE, SIZE, 3), ValueError, "no images"),
    "mixed sizes": (lambda f: [_u8(SIZE, SIZE, 3), _u8(SIZE, SIZE + 2, 3)], ValueError,
                    "size"),
    "a single path": (lambda f: str(f["good"]), TypeError, "single path"),
    "missing file": (lambda f: [f["good"], f["missing"]], ImageReadError, "missing.png"),
    "truncated file": (lambda f: [f["good"], f["truncated"]], ImageReadError, "truncated.png"),
    "decompression bomb": (lambda f: [f["bomb"]], ImageReadError, "bomb.png"),
    "float TIFF out of range": (lambda f: [f["hot"]], ImageReadError, "hot.tif"),
    "32-bit TIFF out of range": (lambda f: [f["wide"]], ImageReadError, "wide.tif"),
}


# Where an estimator refuses a case earlier, for another good reason, and says so.
OTHER_ERROR = {
    # The single-plane TIFFs are grey: the networks refuse them from their header,
    # before their pixels are read.
    **{(name, case): (ValueError, "needs RGB images")
       for name in ("CNNAttributor", "VisNetAttributor")
       for case in ("float TIFF out of range", "32-bit TIFF out of range")},
}


# Where a case is not bad for an estimator: the residual extractors take images of
# mixed sizes and return a list of residuals (issue 17).
ACCEPTED = {("ResidualExtractor", "mixed sizes"), ("CameraResidualExtractor", "mixed sizes")}


@pytest.mark.parametrize("case", list(BAD))
@pytest.mark.parametrize("name", list(IMAGE_ESTIMATORS))
def test_bad_input_gets_a_clear_error(name, case, files):
    make, error, match = BAD[case]
    error, match = OTHER_ERROR.get((name, case), (error, match))
    X = make(files)
    estimator = IMAGE_ESTIMATORS[name]()
    if (name, case) in ACCEPTED:
        out = estimator.fit(X).transform(X)
        assert [r.shape[:2] for r in out] == [x.shape[:2] for x in X]
        return
    with pytest.raises(error, match=match):
        if not is_classifier(estimator):
            estimator.fit(X).transform(X) if name == "ImageFlattener" else estimator.transform(X)
        else:
            n = len(X) if isinstance(X, list) or getattr(X, "ndim", 0) >= 3 else 4
            estimator.fit(X, np.arange(max(n, 1)) % 2)


@pytest.mark.parametrize("case", ["truncated file", "decompression bomb",
                                  "float TIFF out of range", "32-bit TIFF out of range"])
def test_folder_loader_names_the_bad_file(case, files, tmp_path):
    bad = BAD[case][0](files)[-1]
    for source in ("a", "b"):
        (tmp_path / source).mkdir()
        (tmp_path / source / "ok.png").write_bytes(files["good"].read_bytes())
    (tmp_path / "b" / bad.name).write_bytes(bad.read_bytes())
    with pytest.raises(ImageReadError, match=bad.name):
        load_image_folder(tmp_path)
