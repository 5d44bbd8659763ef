"""
======================================================
How a fingerprint emerges from more and more residuals
======================================================

A source's fingerprint is estimated as the mean of its noise residuals. Every
residual is the sum of the stable pattern we are after (the fingerprint) and of
image content and random noise that change from image to image. Averaging
:math:`N` residuals keeps the first and shrinks the second, so the estimate
converges, and its energy decreases towards the energy of the stable pattern
alone. Marra et al. (2019, Figs. 2 and 3) show this for the fingerprints of
GANs; here we reproduce it on the built-in GAN zoo, for three generators with
different upsampling layers and for the held-out real photos.

Residuals come from :class:`gfprint.ResidualExtractor` with two wavelet levels
(the most a 32x32 image allows with ``db4``); the energy curve and its fit from
:func:`gfprint.metrics.fingerprint_energy_curve`.
"""

# %%
# Residuals of 1024 images per source
# -----------------------------------
# The first 512 residuals of each source are averaged; the other 512 give an
# independent reference estimate to compare with.
import matplotlib.pyplot as plt
import numpy as np

from gfprint import ResidualExtractor
from gfprint.datasets import load_gan_zoo
from gfprint.metrics import fingerprint_energy_curve, ncc

sources = ["deconv_s0", "pixelshuffle_s0", "upsample_s0", "real"]
zoo = load_gan_zoo(n_per_source=1024, sources=sources, random_state=0)
residuals = ResidualExtractor(levels=2).fit_transform(zoo.images)
by_source = {s: residuals[zoo.target == s] for s in sources}
print(residuals.shape, residuals.dtype)

# %%
# The estimates after 2, 8, 32, 128 and 512 residuals
# ---------------------------------------------------
# Each estimate is shown over +-3 of its own standard deviations. The title
# gives its NCC with the reference estimate from the 512 other residuals: a
# value near 1 means the pattern has stopped changing.
shown = (2, 8, 32, 128, 512)
fig, axes = plt.subplots(len(sources), len(shown), figsize=(9, 7.6))
for row, source in zip(axes, sources):
    first, reference = by_source[source][:512], by_source[source][512:].mean(axis=0)
    for ax, n in zip(row, shown):
        estimate = first[:n].mean(axis=0)
        # Colour residuals: each channel stretched to +-3 standard deviations on
        # [0, 1] (imshow ignores cmap, vmin and vmax for RGB and clips instead).
        s = estimate.std(axis=(0, 1))
        ax.imshow(np.clip(0.5 + estimate / (6 * s), 0.0, 1.0))
        ax.set_title(f"N={n}: {ncc(estimate[None], reference)[0, 0]:.2f}", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    row[0].set_ylabel(source, fontsize=9)
fig.tight_layout()

# %%
# With a few residuals the estimates still carry image content and change as
# residuals are added; with more, each generator's estimate settles on a pattern
# that the independent half reproduces (NCC near 1), the nearest-upsampling
# generator last. The real photos have no common pattern: their estimates stay
# uncorrelated with the independent half however many residuals are averaged.
#
# The energy curve and its fit
# ----------------------------
# If residual :math:`i` is :math:`r_i = s + n_i`, with a stable pattern :math:`s`
# and disturbances :math:`n_i` that are uncorrelated from image to image with
# mean energy :math:`E_0`, the mean of :math:`N` residuals has expected energy
#
# .. math::
#
#    E(N) = E_\infty + E_0 / N ,
#
# where :math:`E_\infty` is the energy of the stable pattern. On the doubling
# grid :math:`N = 2^m` of Marra et al. this is :math:`E_\infty + E_0 \cdot
# 2^{-m}`. A source with a fingerprint levels off at :math:`E_\infty > 0`; a
# source without one decays towards 0.
fig, ax = plt.subplots(figsize=(6.4, 4.2))
for source, color in zip(sources, ["C0", "C1", "C2", "k"]):
    curve = fingerprint_energy_curve(by_source[source][:512])
    ax.loglog(curve.n_values, curve.energy, "o", color=color, base=2, label=source)
    ax.loglog(curve.n_values, curve.fitted.clip(1e-4), "-", color=color, base=2)
    print(
        f"{source:>16}: E(512) = {curve.energy[-1]:.4f}, "
        f"fit E_inf = {curve.e_inf:.4f}, E_0 = {curve.e_0:.4f}"
    )
ax.set_xlabel("number of residuals N")
ax.set_ylabel("energy of the estimate (grey levels$^2$)")
ax.set_title("dots: measured; lines: fit $E_\\infty + E_0/N$")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# The generators' curves flatten at a floor, the energy of their fingerprint
# (the fitted :math:`E_\infty` printed above); the curve of the real photos
# keeps falling, roughly like :math:`1/N`, and its fitted floor is two orders of
# magnitude lower, because there is nothing stable to converge to. The
# nearest-upsampling generator has the weakest fingerprint of the three. The
# fit weighs every point of the doubling grid by its relative error; single
# images are noisy, which is why the measured points wander around the fitted
# lines at small :math:`N`.
