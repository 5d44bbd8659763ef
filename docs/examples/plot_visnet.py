"""
=============================================
Visible fingerprints: the visNet of Yu et al.
=============================================

Yu, Davis & Fritz (2019, Sec. 3.3) make GAN fingerprints visible with a second
network, the visNet: an autoencoder ``R`` turns an image ``I`` into its *image
fingerprint* ``R(I) - I``; every source has a learnable *model fingerprint*, an
image of the input's size; an image is attributed to the source whose model
fingerprint correlates best with its image fingerprint. The three are trained
together (20 x L1 reconstruction + 0.1 x adversarial + cross-entropy).

Here :class:`gfprint.VisNetAttributor` learns the four generators of the built-in
zoo that differ only in their training seed (Yu et al.'s Table 3 setting) and the
figure shows what their Fig. 7 shows: the model fingerprints, one image
fingerprint per source, and the response matrix (mean correlation of each
source's image fingerprints with each model fingerprint). The network is narrow
(``width=8``) and briefly trained so that the example runs on a CPU in seconds.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.model_selection import train_test_split

from gfprint import VisNetAttributor
from gfprint.datasets import load_gan_zoo
from gfprint.plotting import plot_visnet

torch.manual_seed(0)
seeds = ["deconv_s0", "deconv_s1", "deconv_s2", "deconv_s3"]
zoo = load_gan_zoo(n_per_source=240, sources=seeds, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    zoo.images, zoo.target, test_size=1 / 3, stratify=zoo.target, random_state=0
)
vis = VisNetAttributor(width=8, max_epochs=10, batch_size=64, random_state=0)
vis.fit(X_train, y_train)
print(f"visNet accuracy on held-out images: {vis.score(X_test, y_test):.3f} "
      f"(chance {1 / len(seeds):.2f}); learned logit scale {vis.scale_:.1f}")

# %%
# Model fingerprints, image fingerprints, responses
# -------------------------------------------------
# ``transform`` gives the image fingerprints ``R(I) - I`` and
# ``decision_function`` their correlations with the model fingerprints.
corr = vis.decision_function(X_test)
response = np.array([corr[y_test == name].mean(axis=0) for name in vis.classes_])
examples = np.stack([vis.transform(X_test[y_test == name][:1])[0] for name in vis.classes_])
fig = plot_visnet(vis.model_fingerprints_, examples, response, vis.classes_)
plt.show()

# %%
# The diagonal of the response matrix stands out where the visNet attributes
# well: each source's images correlate with their own model fingerprint more
# than with the others'. Yu et al. report 97.07 % for the visNet against 99.14 %
# for their attribution network on ten ProGAN seeds (Table 3), with 100,000s of
# 128x128 training images; the zoo's sources are 32x32 and the example trains on
# 160 images per source.
