import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage
from sklearn.base import clone

from gfprint.perturbations import (
    GaussianBlur,
    GaussianNoise,
    JPEGCompression,
    RandomCrop,
    RandomPerturbation,
    Relighting,
    Resize,
    gaussian_kernel_1d,
    jpeg,
)

ALL = [GaussianNoise, GaussianBlur, RandomCrop, JPEGCompression, Relighting, RandomPerturbation]


@pytest.fixture
def images(rng):
    base = ndimage.gaussian_filter(rng.normal(size=(6, 48, 40, 3)), (0, 3, 3, 0)) * 400 + 128
    return np.clip(base, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("cls", ALL)
def test_shape_dtype_determinism_and_no_mutation(cls, images):
    before = images.copy()
    out = cls(random_state=0).transform(images)
    assert out.shape == images.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(cls(random_state=0).transform(images), out)
    np.testing.assert_array_equal(images, before)
    grey = cls(random_state=0).transform(images[..., 0])
    assert grey.shape == images.shape[:3]
    assert clone(cls(random_state=0)).get_params()["random_state"] == 0


@pytest.mark.parametrize("cls", [GaussianNoise, JPEGCompression, Relighting, RandomCrop])
def test_draws_differ_per_image_and_per_seed(cls, images):
    same = np.repeat(images[:1], 4, axis=0)
    out = cls(random_state=1).transform(same)
    assert any(not np.array_equal(out[0], o) for o in out[1:])
    assert not np.array_equal(out, cls(random_state=2).transform(same))


def test_noise_has_requested_std():
    x = np.full((3, 128, 128), 128, np.uint8)
    out = GaussianNoise(sigma=10, random_state=0).transform(x).astype(float) - 128
    assert out.std(axis=(1, 2)) == pytest.approx([10, 10, 10], rel=0.03)
    ranged = GaussianNoise(sigma=(5, 20), random_state=0).transform(np.repeat(x, 10, 0))
    stds = (ranged.astype(float) - 128).std(axis=(1, 2))
    assert 5 * 0.95 < stds.min() and stds.max() < 20 * 1.05 and np.ptp(stds) > 3


def test_jpeg_output_is_what_pillow_decodes(images):
    out = JPEGCompression(quality=30, random_state=0).transform(images)
    for img, got in zip(images, out):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=30)
        np.testing.assert_array_equal(got, np.asarray(Image.open(buf)))
    ranged = JPEGCompression(quality=(10, 75), random_state=0).transform(images)
    for img, got in zip(images, ranged):  # each equals Pillow at one quality in range
        matches = []
        for q in range(10, 76):
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=q)
            if np.array_equal(got, np.asarray(Image.open(buf))):
                matches.append(q)
        assert matches
    # The range is inclusive: over 12 images, (74, 75) draws both qualities.
    pair = JPEGCompression(quality=(74, 75), random_state=0).transform(
        np.concatenate([images, images]))
    drawn = set()
    for img, got in zip(np.concatenate([images, images]), pair):
        for q in (74, 75):
            buf = io.BytesIO()
            Image.fromarray(img).save(buf, format="JPEG", quality=q)
            if np.array_equal(got, np.asarray(Image.open(buf))):
                drawn.add(q)
    assert drawn == {74, 75}


def test_resize_rounds_to_the_nearest_size():
    # 31 x 45 at 0.5: 15.5 and 22.5 round half to even, as Python's round.
    assert Resize(scale=0.5).transform(np.zeros((1, 31, 45, 3), np.uint8)).shape == (
        1, 16, 22, 3)
    assert Resize(scale=0.7).transform(np.zeros((1, 31, 45, 3), np.uint8)).shape == (
        1, 22, 31, 3)  # 21.7 and 31.5 (31.49999... in binary)


def test_blur_uses_opencv_kernel_with_mirrored_borders(images):
    k = gaussian_kernel_1d(5)
    np.testing.assert_array_equal(k, np.array([1, 4, 6, 4, 1]) / 16)  # OpenCV's table
    k9 = gaussian_kernel_1d(9)
    assert k9.sum() == pytest.approx(1)
    d = np.arange(9) - 4
    assert k9[3] / k9[4] == pytest.approx(np.exp(-1 / (2 * 1.7**2)))  # sigma = 1.7
    assert (k9 * d).sum() == pytest.approx(0, abs=1e-12)
    out = GaussianBlur(kernel_sizes=5).transform(images)
    want = ndimage.convolve1d(images.astype(float), k, axis=1, mode="mirror")
    want = ndimage.convolve1d(want, k, axis=2, mode="mirror")
    np.testing.assert_array_equal(out, np.clip(np.rint(want), 0, 255).astype(np.uint8))
    np.testing.assert_array_equal(GaussianBlur(kernel_sizes=1).transform(images), images)


def test_crop_is_a_resized_window():
    x = np.zeros((1, 100, 100), np.uint8)
    x[0, :, 50:] = 255  # a vertical edge
    out = RandomCrop(fraction=0.2, random_state=0).transform(x)[0]
    edge = np.argmax(out[50] > 127)
    assert edge != 50  # the crop moved or scaled the edge
    small = RandomCrop(fraction=0.2, resize=False, random_state=0).transform(x)
    assert small.shape == (1, 80, 80)


def test_crops_of_drawn_sizes_come_as_a_list_of_windows():
    x = np.random.default_rng(0).integers(0, 256, (6, 50, 50, 3), dtype=np.uint8)
    crops = RandomCrop(fraction=(0.05, 0.2), resize=False, random_state=1).transform(x)
    assert isinstance(crops, list) and len(crops) == 6
    assert len({c.shape for c in crops}) > 1
    for img, c in zip(x, crops):
        h, w = c.shape[:2]
        assert 40 <= h <= 48 and h == w and c.shape[2] == 3
        windows = np.lib.stride_tricks.sliding_window_view(img, c.shape)[..., 0, :, :, :]
        assert (windows == c).all(axis=(-3, -2, -1)).any()  # an exact window of the image
    grey = RandomCrop(fraction=(0.05, 0.2), resize=False, random_state=1).transform(x[..., 0])
    assert [g.shape for g in grey] == [c.shape[:2] for c in crops]


def test_a_chain_with_a_crop_of_drawn_size_gives_a_list_too():
    """It failed with "outputs must share a shape", depending on the draws."""
    x = np.random.default_rng(0).integers(0, 256, (6, 50, 50, 3), dtype=np.uint8)
    crop = RandomCrop(fraction=(0.05, 0.2), resize=False)
    out = RandomPerturbation(p=1.0, crop=crop, random_state=1).transform(x)
    assert isinstance(out, list) and len(out) == 6 and len({o.shape for o in out}) > 1
    assert all(40 <= o.shape[0] <= 48 and o.shape[0] == o.shape[1] for o in out)


def test_jpeg_checks_its_arguments():
    with pytest.raises(ValueError, match="quality"):  # 1-95
        jpeg(np.zeros((8, 8, 3), np.uint8), 200)
    with pytest.raises(TypeError, match="uint8"):  # was Pillow's "Cannot handle"
        jpeg(np.zeros((8, 8, 3), np.uint16), 50)
    with pytest.raises(ValueError, match="shape"):  # was "Invalid mode"
        jpeg(np.zeros((8, 8, 4), np.uint8), 50)


def test_relighting_is_smooth_and_multiplicative():
    x = np.full((1, 64, 64, 3), 120, np.uint8)
    out = Relighting(strength=0.4, random_state=3).transform(x)[0].astype(float)
    gain = out / 120
    assert np.log(gain).max() <= 0.4 + 0.02 and np.abs(np.log(gain)).max() > 0.3
    assert np.abs(np.diff(gain, axis=0)).max() < 0.05  # low frequency
    np.testing.assert_array_equal(out[..., 0], out[..., 1])  # same field per channel


def test_relighting_peak_log_gain_is_the_drawn_strength():
    # max |log gain| of each image is its strength, drawn from the range per image.
    x = np.full((12, 32, 48, 3), 100, np.uint8)
    out = Relighting(strength=(0.1, 0.5), random_state=0).transform(x)[..., 0]
    peaks = np.abs(np.log(out / 100.0)).max(axis=(1, 2))
    tol = 0.5 / 60  # rounding to 8 bits: at most half a level of about 60 or more
    assert peaks.min() >= 0.1 - tol and peaks.max() <= 0.5 + tol
    assert np.ptp(peaks) > 0.2  # drawn, not one end of the range
    fixed = Relighting(strength=0.3, random_state=1).transform(x)[..., 0]
    np.testing.assert_allclose(np.abs(np.log(fixed / 100.0)).max(axis=(1, 2)), 0.3, atol=tol)


@pytest.mark.parametrize("seed", range(4))
def test_relighting_field_is_in_image_relative_coordinates(seed):
    # The same draws light a 32x64 (or 64x32) image as the 32x32 one, stretched: its
    # every other column (row) is the square image's field, up to the peak's scaling.
    def log_gain(shape):
        x = np.full((1, *shape, 1), 100, np.uint8)
        return np.log(Relighting(strength=0.4, random_state=seed).transform(x)[0, ..., 0] / 100.0)

    square = log_gain((32, 32))
    np.testing.assert_allclose(log_gain((32, 64))[:, ::2], square, atol=0.03)
    np.testing.assert_allclose(log_gain((64, 32))[::2, :], square, atol=0.03)


def test_resize_changes_size():
    out = Resize(scale=0.5).transform(np.zeros((2, 30, 40, 3), np.uint8))
    assert out.shape == (2, 15, 20, 3)


def test_resize_is_pillows_bilinear(images):
    # The content, not only the shape: a flipped or shifted resize would pass the above.
    out = Resize(scale=0.75).transform(images)
    for got, img in zip(out, images):
        h, w = img.shape[:2]
        want = Image.fromarray(img).resize((round(w * 0.75), round(h * 0.75)),
                                           Image.Resampling.BILINEAR)
        np.testing.assert_array_equal(got, np.asarray(want))


def test_random_perturbation_probabilities(images):
    np.testing.assert_array_equal(RandomPerturbation(p=0.0).transform(images), images)
    # p between 0 and 1 applies each stage to a share of the images (int(p) is 0).
    halfway = RandomPerturbation(p=0.5, random_state=0).transform(images)
    assert any(not np.array_equal(a, b) for a, b in zip(halfway, images))
    always = RandomPerturbation(p=1.0, random_state=0).transform(images)
    assert all(not np.array_equal(a, b) for a, b in zip(always, images))
    neutral = dict(
        noise=GaussianNoise(sigma=0),
        relighting=Relighting(strength=0),
        crop=RandomCrop(fraction=0),
        blur=GaussianBlur(kernel_sizes=1),
    )
    only_jpeg = RandomPerturbation(p=1.0, jpeg=JPEGCompression(quality=95), **neutral)
    for got, img in zip(only_jpeg.transform(images), images):
        np.testing.assert_array_equal(got, jpeg(img, 95))
    # The stages run in their documented order: the blur before the JPEG.
    blur = GaussianBlur(kernel_sizes=3)
    both = RandomPerturbation(p=1.0, jpeg=JPEGCompression(quality=95), blur=blur,
                              **{k: v for k, v in neutral.items() if k != "blur"})
    for got, img in zip(both.transform(images), images):
        np.testing.assert_array_equal(got, jpeg(blur.transform(img[None])[0], 95))


@pytest.mark.parametrize(
    "est, match",
    [
        (GaussianNoise(sigma=(20, 5)), "low <= high"),
        (GaussianNoise(sigma=-1), "sigma"),
        (GaussianBlur(kernel_sizes=(2, 3)), "odd"),
        (JPEGCompression(quality=0), "quality"),
        (JPEGCompression(quality=(10.5, 20)), "integers"),
        (RandomCrop(fraction=1.5), "fraction"),
        (RandomPerturbation(p=2.0), "p"),
        (GaussianNoise(sigma=np.inf), "sigma must be finite"),  # an OverflowError
        # A stage's own parameters: its transform is never called, and they ran
        # (a negative scale gave 1x1 images).
        (RandomPerturbation(p=1.0, relighting=Relighting(max_cycles=-1)), "max_cycles"),
        (RandomPerturbation(p=1.0, crop=Resize(scale=-1)), "scale"),
    ],
)
def test_bad_parameters(est, match, images):
    with pytest.raises(ValueError, match=match):
        est.transform(images)


@pytest.mark.parametrize("size", [0, -1, 4, 2.0, True])
def test_gaussian_kernel_1d_refuses_sizes_opencv_refuses(size):
    with pytest.raises(ValueError, match="positive odd integer"):  # 0, -1: empty kernels
        gaussian_kernel_1d(size)


def test_bad_images():
    with pytest.raises(ValueError, match="channels"):
        GaussianNoise().transform(np.zeros((1, 8, 8, 2), np.uint8))
    with pytest.raises(ValueError, match="NaN"):
        GaussianNoise().transform(np.full((1, 8, 8), np.nan))
