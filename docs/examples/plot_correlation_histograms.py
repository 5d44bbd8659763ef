"""
========================================================
Same-source and cross-source correlations on the GAN zoo
========================================================

Fingerprint attribution works when the residual of an image correlates more with
the fingerprint of its own source than with any other. Here we estimate one
fingerprint per source of the built-in GAN zoo (``"real"`` and seven generators)
from training images, correlate held-out residuals with all of them, and look at

* the histograms of same-source and cross-source NCC values (as in Marra et al.
  2019, Fig. 5), and
* the source-by-source matrix of average correlations: row *i*, column *j* is
  the mean NCC of the residuals of source *i* with the fingerprint of source *j*
  (Marra et al. 2019, Fig. 6).

The zoo images are 32x32, so the residuals use two wavelet levels
(``ResidualExtractor(levels=2)``; ``db4`` allows at most two at that size).
"""

# %%
# Residuals and fingerprints
# --------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from gfprint import PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_gan_zoo
from gfprint.metrics import correlation_matrix
from gfprint.plotting import plot_correlation_histograms

zoo = load_gan_zoo(n_per_source=300, random_state=0)
print(zoo.DESCR)
residuals = ResidualExtractor(levels=2).fit_transform(zoo.images)
R_train, R_test, y_train, y_test = train_test_split(
    residuals, zoo.target, test_size=0.5, stratify=zoo.target, random_state=0
)
clf = PRNUFingerprintClassifier().fit(R_train, y_train)
print("sources:", clf.fingerprint_classes_.tolist())
print(f"held-out attribution accuracy: {clf.score(R_test, y_test):.3f}")

# %%
# Same source versus other sources
# --------------------------------
# ``similarity_scores`` gives the NCC of every held-out residual with every
# fingerprint; the entries on the image's own source are the "same source"
# values, all others "other source".
scores = clf.similarity_scores(R_test)  # (n_test, n_sources)
own = y_test[:, None] == clf.fingerprint_classes_[None, :]
fig = plot_correlation_histograms(scores[own], scores[~own], bins=60)
fig.axes[0].set_title("GAN zoo, 32x32, held-out residuals")
fig.tight_layout()
print(
    f"same source: mean {scores[own].mean():.3f}; "
    f"other sources: mean {scores[~own].mean():.3f}, std {scores[~own].std():.3f}"
)

# %%
# The two distributions are far apart on average. Their overlap comes from
# sources that share most of their fingerprint, which the matrix below shows.
#
# Average correlation, source by source
# -------------------------------------
# :func:`gfprint.metrics.correlation_matrix` averages the NCC of each source's
# residuals with each fingerprint.
names = clf.fingerprint_classes_
matrix = correlation_matrix(R_test, y_test, clf.fingerprints_, labels=names)

fig, ax = plt.subplots(figsize=(6.2, 5.2))
limit = np.abs(matrix).max()
im = ax.imshow(matrix, cmap="RdBu_r", vmin=-limit, vmax=limit)
for i in range(len(names)):
    for j in range(len(names)):
        color = "white" if abs(matrix[i, j]) > 0.5 * limit else "black"
        ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=8, color=color)
ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
ax.set_yticks(range(len(names)), names)
ax.set_xlabel("fingerprint of")
ax.set_ylabel("residuals of")
fig.colorbar(im, ax=ax, label="mean NCC")
fig.tight_layout()
plt.show()

# %%
# The diagonal dominates: every generator leaves its own pattern. Even the
# generators that share architecture and training data and differ only in the
# random seed of their training (``deconv_s0``, ``deconv_s1``, ``deconv_s2``)
# have nearly uncorrelated fingerprints, as Yu et al. (2019) observed with
# learned fingerprints. The nearest-upsampling generator has the weakest
# fingerprint (its diagonal entry is the smallest): interpolation makes smooth
# images with little periodic structure. The ``"real"`` row and column are close
# to zero: real patches share no pattern, so their mean residual is no
# fingerprint, and real images are the same-source values near 0 in the
# histogram above. :ref:`sphx_glr_auto_examples_plot_threshold_tuning.py` shows
# how to treat them instead.
