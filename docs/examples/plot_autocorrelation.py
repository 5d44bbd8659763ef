"""
===============================
Autocorrelation of fingerprints
===============================

A camera's PRNU is close to white noise: each pixel's deviation is independent
of its neighbours', so the autocorrelation of a camera fingerprint is a single
peak at zero shift. GAN fingerprints are different: generators build images by
repeated upsampling, which leaves periodic structure, and their fingerprints'
autocorrelation shows a regular pattern of peaks away from the centre (Marra et
al. 2019, Fig. 4).

:func:`gfprint.metrics.crosscorr_2d` computes the circular cross-correlation of
two planes with zero shift at index ``[0, 0]``; correlating a fingerprint with
itself and moving zero shift to the centre (``np.fft.fftshift``) gives the
pictures below, normalised to 1 at zero shift.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from gfprint import PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_gan_zoo, make_camera_images
from gfprint.metrics import crosscorr_2d
from gfprint.residuals import CAMERA_SETTING, estimate_fingerprint


def autocorrelation(fingerprint):
    """Circular autocorrelation, zero shift in the centre, 1 at zero shift.

    Colour fingerprints: the channels' autocorrelations added (a shift moves all
    channels together).
    """
    planes = fingerprint[:, :, None] if fingerprint.ndim == 2 else fingerprint
    cc = sum(crosscorr_2d(planes[:, :, c], planes[:, :, c]) for c in range(planes.shape[2]))
    return np.fft.fftshift(cc / cc[0, 0])


# %%
# A camera fingerprint
# --------------------
# 64 images of one simulated 128x128 camera; the camera residual setting.
cams = make_camera_images(n_cameras=1, n_images=64, shape=(128, 128), random_state=0)
camera_fp = estimate_fingerprint(cams.images, **CAMERA_SETTING)

# %%
# GAN fingerprints
# ----------------
# 500 images of each source of the zoo; the residual's GAN defaults (colour kept).
zoo = load_gan_zoo(n_per_source=500, random_state=0)
residuals = ResidualExtractor().fit_transform(zoo.images)
clf = PRNUFingerprintClassifier().fit(residuals, zoo.target)
sources = clf.fingerprint_classes_.tolist()
fingerprints = {"camera (128x128)": camera_fp}
for name in ("deconv_s0", "upsample_s0", "pixelshuffle_s0", "real"):
    fingerprints[name] = clf.fingerprints_[sources.index(name)]

# %%
# The autocorrelations
# --------------------
# The colour scale is clipped to the largest value away from the central peak,
# so that the side peaks are visible; for the camera a 32x32 window around zero
# shift is shown, the size of a whole zoo image.
fig, axes = plt.subplots(2, len(fingerprints), figsize=(2.4 * len(fingerprints), 5))
for col, (name, fp) in enumerate(fingerprints.items()):
    ac = autocorrelation(fp)
    cy, cx = ac.shape[0] // 2, ac.shape[1] // 2
    if ac.shape[0] > 32:
        ac = ac[cy - 16 : cy + 16, cx - 16 : cx + 16]
        cy, cx = 16, 16
    off_peak = ac.copy()
    off_peak[cy, cx] = 0
    limit = np.abs(off_peak).max()
    axes[0, col].imshow(ac, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes[0, col].set_title(name, fontsize=9)
    axes[0, col].set_xticks([])
    axes[0, col].set_yticks([])
    axes[1, col].plot(np.arange(ac.shape[1]) - cx, ac[cy], ".-")
    axes[1, col].set_ylim(-0.6, 1.05)
    axes[1, col].set_xlabel("horizontal shift")
axes[1, 0].set_ylabel("autocorrelation\n(zero vertical shift)")
fig.tight_layout()
plt.show()

# %%
# The camera fingerprint decorrelates immediately: apart from the negative
# values next to the peak, which the high-pass residual filter introduces,
# everything away from zero shift is noise. The fingerprints of the
# transposed-convolution and pixel-shuffle generators correlate strongly with
# copies of themselves shifted by multiples of 8 pixels (and weakly at
# multiples of 4): the period of their upsampling layers. The
# nearest-upsampling generator shows no such peaks, and the mean residual of
# real patches, which share no pattern, looks like the camera's.
