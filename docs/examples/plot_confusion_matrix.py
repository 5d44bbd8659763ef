"""
================================================
Attributing GAN zoo images: the confusion matrix
================================================

Which source does each image come from? A ``Pipeline`` of
:class:`~gfprint.ResidualExtractor` and :class:`~gfprint.PRNUFingerprintClassifier`
is an ordinary scikit-learn classifier, so
:func:`~sklearn.model_selection.cross_val_predict` gives an out-of-fold
prediction for every image of the zoo, and
:func:`gfprint.plotting.plot_confusion_matrix` shows where the errors go.

We compare two settings of the classifier:

* one fingerprint per source, ``"real"`` included (the mean residual of real
  patches), attribution by the highest NCC;
* ``null_class="real"``: fingerprints for the generators only, and "real" when
  none correlates above a threshold (0.1 here; see
  :ref:`sphx_glr_auto_examples_plot_threshold_tuning.py` for how to tune it).
"""

# %%
import matplotlib.pyplot as plt
from sklearn.metrics import classification_report
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline

from gfprint import PRNUFingerprintClassifier, ResidualExtractor
from gfprint.datasets import load_gan_zoo
from gfprint.plotting import plot_confusion_matrix

zoo = load_gan_zoo(n_per_source=300, random_state=0)
labels = zoo.target_names.tolist()
cv = StratifiedKFold(5, shuffle=True, random_state=0)

# %%
# One fingerprint per source
# --------------------------
pipe = make_pipeline(ResidualExtractor(levels=2), PRNUFingerprintClassifier())
pred = cross_val_predict(pipe, zoo.images, zoo.target, cv=cv)
fig = plot_confusion_matrix(zoo.target, pred, labels)
fig.axes[0].set_title("a fingerprint for every source", fontsize=9)
fig.tight_layout()
print(classification_report(zoo.target, pred, digits=3))

# %%
# Real images have no fingerprint of their own: their residuals correlate weakly
# with everything, including the mean of the other real residuals, so they are
# scattered over the generators.
#
# Real as the null class
# ----------------------
pipe = make_pipeline(
    ResidualExtractor(levels=2), PRNUFingerprintClassifier(null_class="real", threshold=0.1)
)
pred = cross_val_predict(pipe, zoo.images, zoo.target, cv=cv)
fig = plot_confusion_matrix(zoo.target, pred, labels)
fig.axes[0].set_title('null_class="real", threshold 0.1', fontsize=9)
fig.tight_layout()
print(classification_report(zoo.target, pred, digits=3))
plt.show()

# %%
# With the threshold rule, real images are recognised by the *absence* of a
# generator's fingerprint, and the generators are told apart by their own
# fingerprints.
