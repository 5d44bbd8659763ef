"""
==================================
GAN fingerprints and their spectra
==================================

Each generator of the built-in zoo leaves its own pattern. Averaging the noise
residuals of many images of one source gives its fingerprint (Marra et al.
2019); its 2-D Fourier spectrum shows how it is built. The zoo's generators
upsample in three ways — transposed convolution (``deconv_*``), nearest-neighbour
upsampling followed by convolution (``upsample_s0``) and pixel shuffle
(``pixelshuffle_s0``) — and upsampling by 2 repeats structure every 2, 4, 8
pixels, which shows as peaks at the matching frequencies.

:func:`gfprint.plotting.plot_fingerprints` draws each fingerprint
(contrast-stretched to +-3 standard deviations) above the log-magnitude of its
centred spectrum.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from gfprint import CameraResidualExtractor, PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_gan_zoo
from gfprint.plotting import plot_fingerprints

zoo = load_gan_zoo(n_per_source=500, random_state=0)

# %%
# Fingerprints from the default (GAN) residual
# --------------------------------------------
# ``ResidualExtractor()``: the plain residual, colour kept, two ``db4`` levels
# (the most 32x32 images allow). The classifier's ``fingerprints_`` are the mean
# residual of each source; colour fingerprints are drawn in colour, above the
# mean of their channels' spectra.
residuals = ResidualExtractor().fit_transform(zoo.images)
clf = PRNUFingerprintClassifier().fit(residuals, zoo.target)
names = clf.fingerprint_classes_.tolist()
fig = plot_fingerprints(clf.fingerprints_, names)

# %%
# With the camera post-processing (:class:`~gfprint.CameraResidualExtractor`:
# grey, ``zero_mean``, ``wiener_dft``) a dark cross runs through the centre of
# every spectrum: ``zero_mean`` removes the row and column means (of each 2x2
# sub-grid), that is, the energy on the two frequency axes and on the Nyquist
# lines, and the Wiener filter in the DFT domain flattens spectral peaks. For a
# camera these are shared, non-unique patterns; for a generator they are part of
# its fingerprint.
residuals_cam = CameraResidualExtractor(levels="auto").fit_transform(zoo.images)
clf_cam = PRNUFingerprintClassifier().fit(residuals_cam, zoo.target)
fig = plot_fingerprints(clf_cam.fingerprints_, names)

# %%
# Where the energy lies
# ---------------------
# The share of each fingerprint's spectral energy at the frequencies that a
# period of 2, 4 or 8 pixels produces (multiples of 1/8 cycle per pixel on both
# axes, the zero frequency excluded), compared with the share such a grid of
# frequencies holds in a spectrum without structure (white noise).
size = clf.fingerprints_.shape[1]
grid = np.zeros((size, size), bool)
grid[:: size // 8, :: size // 8] = True
grid[0, 0] = False
print(f"white-noise share: {grid.sum() / (size * size - 1):.3f}")
for name, fp in zip(names, clf.fingerprints_):
    power = (np.abs(np.fft.fft2(fp - fp.mean(axis=(0, 1)), axes=(0, 1))) ** 2).sum(axis=2)
    print(f"{name:>18}: {power[grid].sum() / power.sum():.3f}")
plt.show()

# %%
# The generators built on transposed convolutions (``deconv_*``) and on pixel
# shuffle put a large part of their fingerprint's energy on this grid — the
# checkerboard pattern that upsampling with learned, strided kernels is known
# for — three to four and a half times the white-noise share (0.19 to 0.28
# against 0.062 when this page was written). The nearest-upsampling generator
# keeps much less there (0.10; its spectrum is concentrated at low frequencies
# instead), and the real patches, which share no pattern, hold what white noise
# would (0.065).
