"""
======================================================
How a fingerprint emerges from more and more residuals
======================================================

A source's fingerprint is estimated as the mean of its noise residuals. Every
residual is the sum of the stable pattern we are after (the fingerprint) and of
image content and random noise that change from image to image. Averaging
:math:`N` residuals keeps the first and shrinks the second, so the estimate
converges, and its energy decreases towards the energy of the stable pattern
alone. Marra et al. (2019, Figs. 2 and 3) show this for GAN fingerprints; here we
show it on a simulated camera, where the true PRNU factor is known.

We use :func:`gfprint.datasets.make_camera_images` (the sensor model
``I = I0 + I0 * K + noise``), extract residuals with
:class:`gfprint.ResidualExtractor` (camera defaults: 4 db4 wavelet levels,
``sigma=5``) and feed them one at a time to
:meth:`gfprint.PRNUFingerprintClassifier.partial_fit`, which keeps running sums,
so we can look at the fingerprint after every new residual.
"""

# %%
# Residuals of 128 images from one camera
# ----------------------------------------
import matplotlib.pyplot as plt
import numpy as np

from gfprint import PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import make_camera_images
from gfprint.metrics import ncc

n_max = 128
cams = make_camera_images(n_cameras=1, n_images=n_max, shape=(256, 256), random_state=0)
residuals = ResidualExtractor().fit_transform(cams.images)
true_k = cams.fingerprints[0].mean(axis=-1)  # the camera's PRNU factor K (grey)
print(residuals.shape, residuals.dtype)

# %%
# Streaming estimate: one residual at a time
# ------------------------------------------
# After the N-th call, ``fingerprints_[0]`` is the mean of the first N residuals.
# We record its energy, defined here as the mean squared value
# :math:`E(N) = \frac{1}{HW}\sum_{y,x} f_N[y,x]^2`, and its correlation with the
# true factor K.
clf = PRNUFingerprintClassifier()
shown = (2, 8, 32, 128)
energy, corr_true, snapshots = [], [], {}
for n in range(1, n_max + 1):
    clf.partial_fit(residuals[n - 1 : n], cams.target[n - 1 : n], classes=cams.target_names)
    fp = clf.fingerprints_[0]
    energy.append(np.mean(fp.astype(np.float64) ** 2))
    corr_true.append(ncc(fp[None], true_k)[0, 0])
    if n in shown:
        snapshots[n] = fp.copy()
energy = np.array(energy)
n_used = np.arange(1, n_max + 1)

# %%
# The estimates after 2, 8, 32 and 128 residuals
# ----------------------------------------------
# A 64x64 corner, each shown over +-3 of its own standard deviations. With few
# residuals, scene edges dominate; with more, only the noise-like PRNU pattern is
# left, and it looks more and more like the true factor (right).
fig, axes = plt.subplots(1, len(shown) + 1, figsize=(11, 2.6))
for ax, n in zip(axes, shown):
    patch = snapshots[n][:64, :64]
    s = patch.std()
    ax.imshow(patch, cmap="gray", vmin=-3 * s, vmax=3 * s)
    ax.set_title(f"N = {n}")
patch = true_k[:64, :64]
axes[-1].imshow(patch, cmap="gray", vmin=-3 * patch.std(), vmax=3 * patch.std())
axes[-1].set_title("true K")
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
fig.tight_layout()

# %%
# The energy curve and its fit
# ----------------------------
# If residual :math:`i` is :math:`r_i = s + n_i`, with a stable pattern :math:`s`
# and zero-mean disturbances :math:`n_i` that are uncorrelated from image to
# image with mean energy :math:`E_0`, the mean of :math:`N` residuals has expected
# energy
#
# .. math::
#
#    E(N) = E_\infty + E_0 / N ,
#
# where :math:`E_\infty` is the energy of the stable pattern. Written with
# :math:`N = 2^k`, as on the logarithmic axis of Marra et al., this is
# :math:`E_\infty + E_0 \cdot 2^{-k}`. The model is linear in its two unknowns,
# so we fit it by ordinary least squares on the features :math:`(1, 1/N)`, using
# every :math:`N` from 1 to 128.
design = np.column_stack([np.ones_like(n_used, dtype=float), 1.0 / n_used])
(e_inf, e_0), *_ = np.linalg.lstsq(design, energy, rcond=None)
fitted = design @ np.array([e_inf, e_0])
rmse = np.sqrt(np.mean((fitted - energy) ** 2))
print(f"E(N) = {e_inf:.4f} + {e_0:.4f} / N   (RMS error of the fit {rmse:.5f})")

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
ax1.semilogx(n_used, energy, "o", ms=3, base=2, label="measured $E(N)$")
ax1.semilogx(n_used, fitted, "-", base=2, label=f"fit ${e_inf:.3f} + {e_0:.2f}/N$")
ax1.axhline(e_inf, color="0.5", ls=":", label=r"$E_\infty$")
ax1.set_yscale("log")
ax1.set_xlabel("number of residuals N")
ax1.set_ylabel("energy (mean square, grey levels$^2$)")
ax1.legend()
ax2.semilogx(n_used, corr_true, base=2)
ax2.set_xlabel("number of residuals N")
ax2.set_ylabel("NCC with the true K")
ax2.set_ylim(0, 1)
fig.tight_layout()
plt.show()

# %%
# The fit is close: the energy falls like :math:`1/N` towards a floor, which is
# the energy of the camera's own pattern (its PRNU times the image content, as
# the residual sees it). The same curve for a GAN levels off at the energy of the
# generator's fingerprint; a source without a fingerprint would give
# :math:`E_\infty \approx 0`.
