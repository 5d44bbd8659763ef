"""Straightforward reference of the camera-PRNU residual (numpy + pywt + scipy, float64).

Written from the published algorithm (Lukas, Fridrich & Goljan 2006; Goljan's MATLAB
code and the prnu-python port), for clarity, not speed. The tests and the benchmark
compare gfprint's fast path against it.
"""

import numpy as np
import pywt
from scipy import ndimage

GRAY = np.array([0.29893602, 0.58704307, 0.11402090])


def to_255(image):
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image.astype(np.float64)
    if image.dtype == np.uint16:
        return image.astype(np.float64) * 255.0 / 65535.0
    return image.astype(np.float64) * 255.0


def wiener_adaptive(x, noise_var, windows=(3, 5, 7, 9)):
    """Mihcak rule: x * s2 / (v + s2), v = min_w max(local mean of x^2 - s2, 0)."""
    energy = x * x
    local = [ndimage.uniform_filter(energy, w, mode="constant") for w in windows]
    var = np.min([np.maximum(m - noise_var, 0.0) for m in local], axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(var + noise_var > 0, x * noise_var / (var + noise_var), 0.0)


def noise_extract(plane, wavelet="db4", levels=4, sigma=5.0):
    coeffs = pywt.wavedec2(plane, wavelet, mode="symmetric", level=levels)
    coeffs[0] = np.zeros_like(coeffs[0])
    for lev in range(1, len(coeffs)):
        coeffs[lev] = tuple(wiener_adaptive(d, sigma**2) for d in coeffs[lev])
    rec = pywt.waverec2(coeffs, wavelet, mode="symmetric")
    return rec[: plane.shape[0], : plane.shape[1]]


def zero_mean(x):
    x = x.copy()
    for i in (0, 1):
        for j in (0, 1):
            s = x[i::2, j::2]
            s = s - s.mean()
            s = s - s.mean(axis=1, keepdims=True)
            s = s - s.mean(axis=0, keepdims=True)
            x[i::2, j::2] = s
    return x


def wiener_dft(x, sigma=None):
    if sigma is None:
        sigma = x.std(ddof=1)
    h, w = x.shape
    f = np.fft.fft2(x)
    mag = np.abs(f / np.sqrt(h * w))
    mag_filt = wiener_adaptive(mag, sigma**2)
    zero = mag == 0
    mag[zero] = 1
    mag_filt[zero] = 0
    return np.real(np.fft.ifft2(f * mag_filt / mag))


def postprocess(noise, color="gray", do_zero_mean=True, do_wiener_dft=True):
    """noise: (H, W, C) float64."""
    if color == "gray":
        planes = [noise @ GRAY if noise.shape[2] == 3 else noise[:, :, 0]]
    else:
        planes = [noise[:, :, c] for c in range(noise.shape[2])]
    out = []
    for p in planes:
        if do_zero_mean:
            p = zero_mean(p)
        if do_wiener_dft:
            p = wiener_dft(p)
        out.append(p)
    return out[0] if color == "gray" else np.stack(out, axis=-1)


def residual(
    image, wavelet="db4", levels=4, sigma=5.0, color="gray", zero_mean=True, wiener_dft=True
):
    """Reference residual of one image (H, W) or (H, W, C)."""
    x = to_255(image)
    if x.ndim == 2:
        x = x[:, :, None]
    noise = np.stack(
        [noise_extract(x[:, :, c], wavelet, levels, sigma) for c in range(x.shape[2])], -1
    )
    return postprocess(noise, color, zero_mean, wiener_dft)


def inten_scale(x):
    return np.where(x < 252, x / 252.0, np.exp(-((x - 252.0) ** 2) / 6.0))


def saturation(plane):
    if plane.max() <= 250:
        return np.ones_like(plane)
    xh = plane - np.roll(plane, 1, axis=1)
    xv = plane - np.roll(plane, 1, axis=0)
    satur = (xh != 0) & (xv != 0) & (np.roll(xh, -1, axis=1) != 0) & (np.roll(xv, -1, axis=0) != 0)
    return (~((plane == plane.max()) & ~satur)).astype(np.float64)


def fingerprint(images, method="mean", **kw):
    """Reference fingerprint: mean noise or Chen et al. MLE, then post-processing."""
    num = den = 0.0
    for image in images:
        x = to_255(image)
        if x.ndim == 2:
            x = x[:, :, None]
        noise = np.stack([noise_extract(x[:, :, c]) for c in range(x.shape[2])], -1)
        if method == "mean":
            num = num + noise
            den = den + 1.0
        else:
            weight = np.stack(
                [inten_scale(x[:, :, c]) * saturation(x[:, :, c]) for c in range(x.shape[2])], -1
            )
            num = num + noise * weight
            den = den + weight**2
    k = num / den if method == "mean" else num / (den + 1.0)
    return postprocess(k, **kw)


def rel_l2(a, b):
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return np.linalg.norm(a - b) / np.linalg.norm(b)
