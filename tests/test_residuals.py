import numpy as np
import pytest
from PIL import Image

import reference as ref
from conftest import natural_like
from gfprint import CameraResidualExtractor, ImageReadError, ResidualExtractor
from gfprint.residuals import (
    CAMERA_SETTING,
    MIN_NOISE_SIGMA,
    estimate_fingerprint,
    estimate_noise_sigma,
    extract_residuals,
    max_wavelet_levels,
    noise_gaussian,
    noise_median,
    noise_wavelet,
    noise_wavelet_gray,
    noise_wiener,
    rgb_to_gray,
    wiener_dft,
    zero_mean,
)

TOL = 1e-5


@pytest.mark.parametrize(
    "shape, levels",
    [
        ((128, 128), 4),
        ((131, 157), 4),
        ((160, 113), 4),
        ((64, 64), 3),
        ((32, 32), 2),
        ((33, 45), 2),
    ],
)
@pytest.mark.parametrize("channels", [1, 3])
def test_fast_residual_matches_reference(rng, shape, levels, channels):
    """The camera setting is the published camera-PRNU residual."""
    images = np.stack([natural_like(rng, shape, channels) for _ in range(2)])
    fast = CameraResidualExtractor(levels=levels).fit_transform(images)
    assert fast.dtype == np.float32 and fast.shape == images.shape[:3]
    for img, res in zip(images, fast):
        assert ref.rel_l2(res, ref.residual(img, levels=levels)) <= TOL


@pytest.mark.parametrize(
    "shape, levels",
    # (32, 256): the depth is the smaller side's, as deep as both sides allow.
    [((128, 136), 4), ((256, 200), 4), ((64, 64), 3), ((32, 32), 2), ((14, 15), 1),
     ((32, 256), 2)],
)
@pytest.mark.parametrize("channels", [1, 3])
def test_gan_default_is_plain_residual_at_auto_depth(rng, shape, levels, channels):
    """Defaults: R = X - f(X) per channel, sigma 3, as deep as the image allows (<= 4)."""
    images = np.stack([natural_like(rng, shape, channels) for _ in range(2)])
    fast = ResidualExtractor().fit_transform(images)
    assert fast.dtype == np.float32 and fast.shape == images.shape
    for img, res in zip(images, fast):
        want = ref.residual(
            img, levels=levels, sigma=3.0, zero_mean=False, wiener_dft=False, color="rgb"
        )
        assert ref.rel_l2(res, want.reshape(res.shape)) <= TOL


def test_camera_extractor_is_the_camera_setting():
    params = CameraResidualExtractor().get_params()
    assert {k: params[k] for k in CAMERA_SETTING} == CAMERA_SETTING
    gan = ResidualExtractor().get_params()
    assert {k: v for k, v in params.items() if k not in CAMERA_SETTING} == {
        k: v for k, v in gan.items() if k not in CAMERA_SETTING
    }


@pytest.mark.parametrize("zero_mean_, wiener_dft_", [(True, False), (False, True), (False, False)])
def test_postprocessing_switches_match_reference(rng, zero_mean_, wiener_dft_):
    img = natural_like(rng, (128, 136), 3)
    fast = CameraResidualExtractor(zero_mean=zero_mean_, wiener_dft=wiener_dft_).transform(
        img[None]
    )[0]
    want = ref.residual(img, zero_mean=zero_mean_, wiener_dft=wiener_dft_)
    assert ref.rel_l2(fast, want) <= TOL


def test_color_rgb_keeps_channels_and_matches_reference(rng):
    img = natural_like(rng, (120, 128), 3)
    fast = CameraResidualExtractor(color="rgb").transform(img[None])[0]
    assert fast.shape == (120, 128, 3)
    assert ref.rel_l2(fast, ref.residual(img, color="rgb")) <= TOL


def test_other_wavelet_and_sigma_match_reference(rng):
    img = natural_like(rng, (128, 128), 1)
    fast = CameraResidualExtractor(wavelet="sym4", levels=3, sigma=3.0).transform(img[None])[0]
    assert ref.rel_l2(fast, ref.residual(img, wavelet="sym4", levels=3, sigma=3.0)) <= TOL


def test_gray_combination_in_wavelet_domain_is_exact(rng):
    img = natural_like(rng, (64, 72), 3).astype(np.float32)
    per_channel = np.stack([noise_wavelet(img[:, :, c], levels=3) for c in range(3)], -1)
    assert ref.rel_l2(noise_wavelet_gray(img, levels=3), rgb_to_gray(per_channel)) <= 1e-6


def test_dtypes_give_the_same_residual(rng):
    u8 = natural_like(rng, (128, 128), 3)[None]
    ext = ResidualExtractor()
    base = ext.transform(u8)
    for other in (u8 / 255.0, (u8 / 255.0).astype(np.float32), u8.astype(np.uint16) * 257):
        np.testing.assert_allclose(
            ext.transform(other), base, rtol=0, atol=1e-4 * np.abs(base).max()
        )


@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_input_not_modified(dtype, rng):
    x = natural_like(rng, (128, 128), 3)[None]
    x = (x / 255.0).astype(np.float32) if dtype == np.float32 else x
    before = x.copy()
    ResidualExtractor().transform(x)
    ResidualExtractor(**CAMERA_SETTING).transform(x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("setting", [{}, CAMERA_SETTING])
def test_uint8_images_are_read_as_their_float_values(setting, rng):
    """8-bit images go to the wavelet kernel as they are: bit-identical to float32 0-255."""
    from gfprint.residuals._extract import ResidualConfig

    u8 = np.stack([natural_like(rng, (64, 80), 3) for _ in range(2)])
    got = ResidualExtractor(**{**setting, "levels": 3}).transform(u8)
    cfg = ResidualConfig(**{**setting, "levels": 3})
    for image, residual in zip(u8, got):
        np.testing.assert_array_equal(residual, cfg.residual(image.astype(np.float32)))


@pytest.mark.parametrize("setting", [{}, {"color": "gray"}, CAMERA_SETTING])
@pytest.mark.parametrize("channels", [3, 1])
@pytest.mark.parametrize("threads_write", [True, False])
def test_parallel_equals_serial(setting, channels, threads_write, rng, monkeypatch):
    """Serial runs and threads write each residual into the result; processes return them.

    ``threads_write=False`` takes the path of process backends (loky, Dask) in
    threads, where it can be checked without starting processes.
    """
    import gfprint.residuals._extract as extract

    if not threads_write:
        monkeypatch.setattr(extract, "_threads_run", lambda: False)
    x = np.stack([natural_like(rng, (128, 128), channels) for _ in range(5)])
    a = ResidualExtractor(batch_size=2, **setting).transform(x)
    b = ResidualExtractor(n_jobs=2, batch_size=1, **setting).transform(x)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n_images, n_jobs, batch_size, want", [
    (4, 2, 16, 2), (5, 2, 16, 3), (40, 2, 16, 16), (4, None, 16, 16), (3, 4, 16, 1),
])
def test_batches_shrink_so_that_every_worker_gets_one(n_images, n_jobs, batch_size, want,
                                                       rng, monkeypatch):
    import gfprint.residuals._extract as extract

    seen = []
    real = extract.iter_batches

    def spy(*args, **kwargs):
        seen.append(kwargs["batch_size"])
        return real(*args, **kwargs)

    monkeypatch.setattr(extract, "iter_batches", spy)
    x = np.stack([natural_like(rng, (16, 16), 1) for _ in range(n_images)])
    got = ResidualExtractor(levels=1, n_jobs=n_jobs, batch_size=batch_size).transform(x)
    assert seen == [want]
    want_all = ResidualExtractor(levels=1).transform(x)
    np.testing.assert_array_equal(got, want_all)


def test_threads_run_follows_the_joblib_backend():
    from joblib import parallel_config

    from gfprint.residuals._extract import _threads_run

    assert _threads_run()  # the default: threads, which may write into the result
    with parallel_config(backend="loky"):
        assert not _threads_run()  # processes: the residuals must travel back
    with parallel_config(backend="threading"):
        assert _threads_run()


@pytest.mark.parametrize("setting", [{}, {"color": "gray"}, CAMERA_SETTING])
def test_residual_into_out(setting, rng):
    from gfprint.residuals._extract import ResidualConfig

    cfg = ResidualConfig(**{**setting, "levels": 3})
    image = natural_like(rng, (64, 72), 3)
    want = cfg.residual(image)
    out = np.full(cfg.output_shape(64, 72, 3), np.nan, np.float32)
    assert cfg.residual(image, out=out) is out
    np.testing.assert_array_equal(out, want)
    strided = np.full((2,) + out.shape, np.nan, np.float32)[1, ..., ::-1]  # not contiguous
    assert cfg.residual(image, out=strided) is strided
    np.testing.assert_array_equal(strided, want)


def test_paths_are_read_lazily_and_equal_arrays(tmp_path, rng):
    x = np.stack([natural_like(rng, (128, 128), 3) for _ in range(3)])
    paths = []
    for i, img in enumerate(x):
        p = tmp_path / f"{i}.png"
        Image.fromarray(img).save(p)
        paths.append(p if i % 2 else str(p))
    ext = ResidualExtractor(batch_size=2)
    np.testing.assert_array_equal(ext.transform(paths), ext.transform(x))


def test_corrupt_file_error_names_file(tmp_path, rng):
    good = tmp_path / "good.png"
    Image.fromarray(natural_like(rng, (128, 128), 3)).save(good)
    bad = tmp_path / "bad.png"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ImageReadError, match="bad.png"):
        ResidualExtractor().transform([good, bad])
    with pytest.raises(ImageReadError, match="missing.png"):
        ResidualExtractor().transform([good, tmp_path / "missing.png"])


def test_mixed_sizes_in_paths_give_a_list_in_their_order(tmp_path, rng):
    paths = [tmp_path / f"{i}.png" for i in range(3)]
    for path, shape in zip(paths, [(128, 128), (128, 140), (128, 128)]):
        Image.fromarray(natural_like(rng, shape, 3)).save(path)
    out = ResidualExtractor().transform(paths)
    assert isinstance(out, list) and [r.shape for r in out] == [
        (128, 128, 3), (128, 140, 3), (128, 128, 3)]
    for path, r in zip(paths, out):
        np.testing.assert_array_equal(r, ResidualExtractor().transform([path])[0])


@pytest.mark.parametrize(
    "X, err, match",
    [
        (np.zeros((2, 13, 13), np.uint8), ValueError, "at most 0 db4 wavelet levels"),
        (np.zeros((2, 128, 128, 4), np.uint8), ValueError, "4 channels"),
        (np.zeros((128, 128), np.uint8), ValueError, r"expected images of shape \(n, H, W\)"),
        (np.zeros((1, 128, 128), np.int32), TypeError, "dtype int32"),
        (np.full((1, 128, 128), 200.0), ValueError, r"must lie on \[0, 1\]"),
        (np.full((1, 128, 128), np.nan), ValueError, "NaN"),
        (np.zeros((0, 128, 128), np.uint8), ValueError, "no images"),
        ("image.png", TypeError, "single path"),
    ],
)
def test_bad_input_gets_clear_error(X, err, match):
    with pytest.raises(err, match=match):
        ResidualExtractor().transform(X)


def test_explicit_depth_too_deep_for_the_image_is_an_error():
    X = np.zeros((2, 100, 100), np.uint8)
    with pytest.raises(ValueError, match="at most 3 db4 wavelet levels, but levels=4"):
        ResidualExtractor(levels=4).transform(X)
    with pytest.raises(ValueError, match="levels<=3"):
        CameraResidualExtractor().fit(X)
    assert ResidualExtractor().transform(X).shape == (2, 100, 100)


@pytest.mark.parametrize("param, value", [("levels", 0), ("sigma", 0.0), ("sigma", "mad"),
                                          ("sigma", np.nan), ("levels", "deep")])
def test_bad_levels_or_sigma_are_refused(param, value):
    with pytest.raises(ValueError, match=param):
        ResidualExtractor(**{param: value}).fit(np.zeros((1, 32, 32), np.uint8))


def test_nan_in_later_batch_is_found():
    x = np.full((5, 128, 128), 0.5, np.float32)
    x[4, 3, 3] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        ResidualExtractor(batch_size=2).transform(x)


def test_invalid_parameters_are_rejected():
    with pytest.raises(ValueError, match="denoiser"):
        ResidualExtractor(denoiser="bm3d").fit(np.zeros((1, 128, 128), np.uint8))
    with pytest.raises(ValueError, match="wavelet"):
        ResidualExtractor(wavelet="nope").transform(np.zeros((1, 128, 128), np.uint8))


def test_max_wavelet_levels():
    assert max_wavelet_levels((112, 500)) == 4
    assert max_wavelet_levels((111, 500)) == 3
    assert max_wavelet_levels((32, 32)) == 2


@pytest.mark.parametrize("denoiser", ["wiener", "gaussian", "median"])
def test_cheap_denoisers(rng, denoiser):
    img = natural_like(rng, (40, 48), 3)
    res = ResidualExtractor(denoiser=denoiser, color="gray", sigma=5.0).transform(img[None])[0]
    plane = img.astype(np.float32)
    fn = {"wiener": noise_wiener, "gaussian": noise_gaussian, "median": noise_median}[denoiser]
    want = rgb_to_gray(np.stack([fn(plane[:, :, c]) for c in range(3)], -1))
    np.testing.assert_allclose(res, want, rtol=1e-5, atol=1e-4)


def test_cheap_denoisers_against_scipy(rng):
    from scipy import ndimage

    x = rng.uniform(0, 255, (30, 31))
    np.testing.assert_allclose(
        noise_median(x, window=5), x - ndimage.median_filter(x, 5), atol=1e-4
    )
    np.testing.assert_allclose(
        noise_gaussian(x, blur_sigma=2.0), x - ndimage.gaussian_filter(x, 2.0), atol=1e-3
    )
    # Wiener: where the local variance is below sigma^2 the whole deviation from the
    # local mean is noise; far above it almost none is.
    flat = np.full((9, 9), 50.0)
    flat[4, 4] = 51.0
    m = ndimage.uniform_filter(flat, 3, mode="reflect")
    np.testing.assert_allclose(noise_wiener(flat, sigma=5.0), flat - m, atol=1e-5)
    edge = np.zeros((9, 9))
    edge[:, 5:] = 255.0
    assert np.abs(noise_wiener(edge, sigma=1.0)).max() < 0.01 * 255
    # Between the two regimes, the rule itself: x minus m + max(v - s2, 0) / v (x - m).
    textured = x * (20.0 / 255.0)  # local variances on both sides of sigma ** 2
    m = ndimage.uniform_filter(textured, 3, mode="reflect")
    v = ndimage.uniform_filter(textured * textured, 3, mode="reflect") - m * m
    denoised = m + np.maximum(v - 25.0, 0.0) / v * (textured - m)
    assert 0.1 < np.mean(v > 25.0) < 0.9
    np.testing.assert_allclose(noise_wiener(textured, sigma=5.0), textured - denoised,
                               atol=1e-3)


def test_zero_mean_properties(rng):
    x = rng.normal(size=(33, 40)).astype(np.float32) + 3
    out = zero_mean(x)
    assert out.dtype == np.float32
    for i in (0, 1):
        for j in (0, 1):
            s = out[i::2, j::2].astype(np.float64)
            assert abs(s.mean()) < 1e-5
            np.testing.assert_allclose(s.mean(axis=0), 0, atol=1e-5)
            np.testing.assert_allclose(s.mean(axis=1), 0, atol=1e-5)
    assert ref.rel_l2(out, ref.zero_mean(x.astype(np.float64))) < 1e-6


@pytest.mark.parametrize("shape", [(64, 64), (63, 50), (17, 32)])
def test_wiener_dft_matches_full_spectrum_reference(rng, shape):
    x = rng.normal(size=shape).astype(np.float32)
    x[::4] += 3.0  # a periodic artefact for the filter to remove
    assert ref.rel_l2(wiener_dft(x), ref.wiener_dft(x.astype(np.float64))) <= TOL
    assert ref.rel_l2(wiener_dft(x, sigma=0.5), ref.wiener_dft(x.astype(np.float64), 0.5)) <= TOL


def test_wiener_dft_of_zeros_is_zero():
    np.testing.assert_array_equal(wiener_dft(np.zeros((16, 16))), 0)


def test_extract_residuals_function_equals_estimator(rng):
    x = natural_like(rng, (64, 64), 3)[None]
    np.testing.assert_array_equal(
        extract_residuals(x, levels=2), ResidualExtractor(levels=2).transform(x)
    )


@pytest.mark.parametrize("method", ["mean", "mle"])
@pytest.mark.parametrize("channels", [1, 3])
def test_estimate_fingerprint_matches_reference(rng, method, channels):
    imgs = np.stack([natural_like(rng, (128, 120), channels) for _ in range(3)])
    imgs[0, :10, :10] = 255  # a saturated patch for the MLE mask
    if channels == 3:  # and one saturated in a single channel: each has its own mask
        imgs[1, 40:50, 40:50, 1] = 255
    fast = estimate_fingerprint(imgs, method=method, batch_size=2, **CAMERA_SETTING)
    assert fast.shape == (128, 120) and fast.dtype == np.float32
    assert ref.rel_l2(fast, ref.fingerprint(imgs, method=method)) <= TOL
    again = estimate_fingerprint(imgs, method=method, batch_size=1, n_jobs=2, **CAMERA_SETTING)
    np.testing.assert_allclose(again, fast, rtol=0, atol=1e-6 * np.abs(fast).max())


def test_saturation_mask_needs_a_maximum_above_250():
    # Goljan: only a plane whose maximum exceeds 250 has saturated pixels.
    from gfprint.residuals import saturation_mask

    plane = np.full((6, 6), 100.0)
    for top in (249, 250):
        plane[2, 2:4] = top  # two neighbouring maxima
        np.testing.assert_array_equal(saturation_mask(plane), np.ones((6, 6)))
    for top in (251, 255):
        plane[2, 2:4] = top
        want = np.ones((6, 6))
        want[2, 2:4] = 0
        np.testing.assert_array_equal(saturation_mask(plane), want)


def test_estimate_fingerprint_bad_method():
    with pytest.raises(ValueError, match="method"):
        estimate_fingerprint(np.zeros((1, 128, 128), np.uint8), method="median")


@pytest.mark.parametrize("sigma", [0.7, 3.0, 9.0])
def test_estimate_noise_sigma_recovers_white_noise(rng, sigma):
    flat = np.full((192, 160, 3), 120.0) + rng.normal(0, sigma, (192, 160, 3))
    assert estimate_noise_sigma(flat) == pytest.approx(sigma, rel=0.04)
    # Smooth content barely moves it; a clean flat image gets the 8-bit rounding floor.
    from scipy import ndimage

    smooth = ndimage.gaussian_filter(rng.normal(size=flat.shape), (4, 4, 0)) * 400 + 128
    assert estimate_noise_sigma(smooth + rng.normal(0, sigma, flat.shape)) == pytest.approx(
        sigma, rel=0.1
    )
    assert estimate_noise_sigma(np.full((64, 64), 9.0)) == MIN_NOISE_SIGMA


def test_estimate_noise_sigma_averages_the_channels(rng):
    # Each channel's MAD estimate, then their mean: not the median, largest or first.
    sigmas = np.array([1.0, 2.0, 9.0])
    image = np.full((192, 160, 3), 120.0) + rng.normal(size=(192, 160, 3)) * sigmas
    each = [estimate_noise_sigma(image[:, :, c]) for c in range(3)]
    np.testing.assert_allclose(each, sigmas, rtol=0.04)
    assert estimate_noise_sigma(image) == pytest.approx(np.mean(each), rel=1e-9)
    assert estimate_noise_sigma(image) == pytest.approx(4.0, rel=0.04)


def test_estimate_noise_sigma_reads_16_bit_images_on_the_8_bit_scale(rng):
    """The raw 16-bit values gave a sigma 257 times too large."""
    img = natural_like(rng, (64, 64), 3)
    assert estimate_noise_sigma(img.astype(np.uint16) * 257) == pytest.approx(
        estimate_noise_sigma(img), rel=1e-5)


def test_sigma_auto_estimates_each_image(rng):
    imgs = np.stack([natural_like(rng, (64, 64), 3) for _ in range(2)])
    imgs[1] = np.clip(imgs[1] + rng.normal(0, 12, imgs[1].shape), 0, 255).astype(np.uint8)
    auto = ResidualExtractor(sigma="auto").transform(imgs)
    for img, res in zip(imgs, auto):
        s = estimate_noise_sigma(img.astype(np.float32))
        np.testing.assert_array_equal(res, ResidualExtractor(sigma=s).transform(img[None])[0])
    assert estimate_noise_sigma(imgs[1].astype(np.float32)) > 2 * estimate_noise_sigma(
        imgs[0].astype(np.float32)
    )


def test_wavelet_noise_of_each_channel_is_the_per_channel_noise(rng):
    from gfprint.residuals._filters import _wavelet_noise, _wavelet_noise_planes

    image = rng.uniform(0, 255, (45, 37, 3)).astype(np.float32)
    got = _wavelet_noise_planes(image, "db4", 2, 3.0)
    assert got.shape == image.shape and got.dtype == np.float32
    one = np.ones(1, np.float32)
    for c in range(3):  # bit for bit: the same computation
        np.testing.assert_array_equal(
            got[:, :, c], _wavelet_noise(image[:, :, c : c + 1], one, "db4", 2, 3.0))
    with pytest.raises(ValueError, match="at most 2 db4 wavelet levels"):
        _wavelet_noise_planes(image, "db4", 3, 3.0)
