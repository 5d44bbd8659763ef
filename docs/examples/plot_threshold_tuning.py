"""
======================================================
Tuning the real-versus-GAN threshold with GridSearchCV
======================================================

Real photos have no common fingerprint, so the threshold method of Marra et al.
(2019) keeps fingerprints for the generators only and calls an image *real* when
none of them correlates with its residual above a threshold. In gfprint this is
``PRNUFingerprintClassifier(null_class="real", threshold=t)``: below ``t`` the
prediction is ``"real"``, above it the best-correlating generator. The threshold
is an ordinary hyper-parameter, so :class:`~sklearn.model_selection.GridSearchCV`
tunes it by cross-validation.

Two things to keep apart:

* the **threshold** trades missed GAN images against false alarms on real ones;
  it must be tuned with a criterion that depends on it, here accuracy;
* the **ROC curve** and its AUC describe the score (the best GAN correlation)
  over *all* thresholds at once, so they do not depend on the threshold and
  cannot tune it.
"""

# %%
# Residuals of the zoo, split into a tuning and a test half
# ---------------------------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import accuracy_score, make_scorer, roc_curve
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

from gfprint import PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_gan_zoo
from gfprint.plotting import plot_roc

zoo = load_gan_zoo(n_per_source=300, random_state=0)
residuals = ResidualExtractor().fit_transform(zoo.images)  # 32x32: 2 wavelet levels
R_train, R_test, y_train, y_test = train_test_split(
    residuals, zoo.target, test_size=0.5, stratify=zoo.target, random_state=0
)


# %%
# The grid search
# ---------------
# We score two criteria: the accuracy of the full decision (real, or which
# generator) and the accuracy of the real-versus-GAN decision alone; the first
# picks the threshold (``refit``).
def real_vs_gan_accuracy(y_true, y_pred):
    """Accuracy of the decision real / not real."""
    return accuracy_score(np.asarray(y_true) == "real", np.asarray(y_pred) == "real")


thresholds = np.round(np.linspace(0.0, 0.4, 41), 3)
search = GridSearchCV(
    PRNUFingerprintClassifier(null_class="real"),
    {"threshold": thresholds},
    scoring={"accuracy": "accuracy", "real_vs_gan": make_scorer(real_vs_gan_accuracy)},
    refit="accuracy",
    cv=StratifiedKFold(5, shuffle=True, random_state=0),
)
search.fit(R_train, y_train)
best = search.best_params_["threshold"]
print(f"best threshold {best}, cross-validated accuracy {search.best_score_:.3f}")
print(f"test accuracy at that threshold: {search.score(R_test, y_test):.3f}")

# %%
# Accuracy against the threshold
# ------------------------------
res = search.cv_results_
fig, ax = plt.subplots(figsize=(6, 3.6))
curves = {
    "accuracy": f"attribution ({len(zoo.target_names)} classes)",
    "real_vs_gan": "real vs GAN",
}
for key, label in curves.items():
    mean, std = res[f"mean_test_{key}"], res[f"std_test_{key}"]
    ax.plot(thresholds, mean, label=label)
    ax.fill_between(thresholds, mean - std, mean + std, alpha=0.2)
ax.axvline(best, color="k", ls="--", label=f"chosen threshold {best}")
ax.set_xlabel("NCC threshold")
ax.set_ylabel("5-fold CV accuracy")
ax.legend()
fig.tight_layout()

# %%
# At threshold 0 almost every image correlates positively with some generator,
# so real images are called GAN; at high thresholds GAN images are called real.
# The optimum lies in between.
#
# The ROC curve of the score
# --------------------------
# The score behind the decision is the highest correlation with a generator's
# fingerprint. Its ROC curve on the test half, with the operating point of the
# chosen threshold:
clf = search.best_estimator_
gan_score = clf.similarity_scores(R_test).max(axis=1)
is_gan = y_test != "real"
fig = plot_roc(is_gan, gan_score, pos_label=True, name="best GAN NCC")
fpr, tpr, cuts = roc_curve(is_gan, gan_score)
point = np.searchsorted(-cuts, -best)  # first cut at or below the threshold
fig.axes[0].plot(fpr[point], tpr[point], "o", color="C3", label=f"threshold {best}")
fig.axes[0].legend(fontsize=8, loc="lower right")

# %%
# Why ROC AUC cannot choose the threshold
# ---------------------------------------
# With two classes, ``decision_function`` is the threshold minus the GAN
# correlation (the null class's column holds the threshold), so changing the
# threshold shifts every score by the same amount and the ranking, hence the
# AUC, stays the same. A search with ``scoring="roc_auc"`` finds every candidate
# equally good. (Binary labels with ``sources=``: one fingerprint per generator,
# the score is the best of them.)
y_binary = np.where(y_train == "real", "real", "gan")
auc_search = GridSearchCV(
    PRNUFingerprintClassifier(null_class="real"),
    {"threshold": thresholds},
    scoring="roc_auc",
    cv=StratifiedKFold(5, shuffle=True, random_state=0),
).fit(R_train, y_binary, sources=y_train)
auc = auc_search.cv_results_["mean_test_score"]
print(f"ROC AUC over the {len(thresholds)} thresholds: min {auc.min():.4f}, max {auc.max():.4f}")
plt.show()
