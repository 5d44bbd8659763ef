"""VisNetAttributor: the fingerprint visualization network of Yu, Davis & Fritz (2019)."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from skorch import NeuralNetClassifier
from skorch.dataset import unpack_data
from skorch.utils import to_device
from torch import nn
from torch.nn import functional as F

from .._param_validation import Interval
from .._validation import check_fitted
from ._attributor import CNNAttributor, _to_tensor

__all__ = ["VisNet", "VisNetAttributor"]


def _normalised(x: torch.Tensor) -> torch.Tensor:
    """Rows of ``x`` (flattened) minus their mean, divided by their norm."""
    x = x.flatten(1)
    x = x - x.mean(dim=1, keepdim=True)
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


class VisNet(nn.Module):
    """Yu et al.'s visNet: an autoencoder, image fingerprints, model fingerprints.

    The autoencoder ``R`` (``depth`` stride-2 convolutions down, as many nearest
    upsamplings + convolutions up, LeakyReLU(0.2), no normalisation) reconstructs the
    image; the *image fingerprint* is ``R(I) - I``. Each source ``y`` has a learnable
    *model fingerprint* ``F_y``, an image of the input's size. The logit of source
    ``y`` is ``exp(s) * NCC(R(I) - I, F_y)``: the normalised correlation (both
    flattened, zero-mean, unit-norm) times a learnable scale ``exp(s)``.

    ``forward`` returns ``(logits, R(I))``; skorch scores the first.

    Parameters
    ----------
    image_size : int
        Side of the square input, divisible by ``2 ** depth``.
    n_classes : int
        Number of sources.
    width : int, default=32
        Channels of the first convolution; doubled at every step down.
    depth : int, default=2
        Stride-2 steps of the encoder.
    init_scale : float, default=50.0
        Initial value of the scale ``exp(s)``.

    Examples
    --------
    >>> import torch
    >>> from gfprint.nn import VisNet
    >>> net = VisNet(16, n_classes=3, width=4)
    >>> logits, recon = net(torch.zeros(2, 3, 16, 16))
    >>> tuple(logits.shape), tuple(recon.shape), tuple(net.model_fingerprints.shape)
    ((2, 3), (2, 3, 16, 16), (3, 3, 16, 16))
    """

    def __init__(self, image_size, n_classes, width=32, depth=2, init_scale=50.0):
        super().__init__()
        if image_size % 2**depth:
            raise ValueError(
                f"image_size must be divisible by 2 ** depth = {2**depth}, got {image_size}."
            )
        act = nn.LeakyReLU(0.2)
        widths = [width * 2**i for i in range(depth + 1)]
        down = [nn.Conv2d(3, widths[0], 3, padding=1, padding_mode="reflect"), act]
        for c_in, c_out in zip(widths, widths[1:]):
            down += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), act]
        up = []
        for c_in, c_out in zip(widths[::-1], widths[-2::-1]):
            up += [nn.Upsample(scale_factor=2, mode="nearest"),
                   nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect"), act]
        up.append(nn.Conv2d(widths[0], 3, 3, padding=1, padding_mode="reflect"))
        self.encoder = nn.Sequential(*down)
        self.decoder = nn.Sequential(*up)
        self.model_fingerprints = nn.Parameter(
            0.01 * torch.randn(n_classes, 3, image_size, image_size)
        )
        self.log_scale = nn.Parameter(torch.tensor(math.log(init_scale)))

    def reconstruct(self, x):
        """``R(x)``, the autoencoder's reconstruction."""
        return self.decoder(self.encoder(x))

    def correlation(self, image_fingerprints):
        """``(n, n_classes)`` NCC of image fingerprints with the model fingerprints."""
        return _normalised(image_fingerprints) @ _normalised(self.model_fingerprints).T

    def forward(self, x):
        """``(logits, R(x))``."""
        recon = self.reconstruct(x)
        return self.log_scale.exp() * self.correlation(recon - x), recon


class _Critic(nn.Module):
    """WGAN-GP critic on images: stride-2 convolutions, LeakyReLU, mean, linear."""

    def __init__(self, width=32, depth=3):
        super().__init__()
        layers, c_in = [], 3
        for i in range(depth):
            layers += [nn.Conv2d(c_in, width * 2**i, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c_in = width * 2**i
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, 1)

    def forward(self, x):
        return self.head(self.body(x).mean(dim=(2, 3))).squeeze(1)


class _VisNetNet(NeuralNetClassifier):
    """skorch net for :class:`VisNet`: the three losses and the critic's own step.

    Loss of the network: cross-entropy of the logits + ``reconstruction_weight`` x
    L1(R(I), I) - ``adversarial_weight`` x critic(R(I)) (the WGAN generator loss).
    Before every training step of the network, one step of the critic on ``I`` (real)
    against ``R(I)`` (fake) with Gulrajani et al.'s gradient penalty (weight 10).
    """

    def __init__(self, *args, reconstruction_weight=20.0, adversarial_weight=0.1,
                 critic_width=32, critic_lr=1e-4, **kwargs):
        super().__init__(*args, **kwargs)
        self.reconstruction_weight = reconstruction_weight
        self.adversarial_weight = adversarial_weight
        self.critic_width = critic_width
        self.critic_lr = critic_lr

    def initialize_module(self):
        super().initialize_module()
        self.critic_ = _Critic(self.critic_width).to(self.device)
        return self

    def get_all_learnable_params(self):
        # The main optimizer trains the visNet only; the critic has its own.
        yield from self.module_.named_parameters()

    def initialize_optimizer(self, *args, **kwargs):
        super().initialize_optimizer(*args, **kwargs)
        self.critic_optimizer_ = torch.optim.Adam(
            self.critic_.parameters(), lr=self.critic_lr, betas=(0.0, 0.99)
        )
        return self

    def _critic_step(self, x):
        with torch.no_grad():
            fake = self.module_.reconstruct(x)
        mix_weight = torch.rand(len(x), 1, 1, 1, device=x.device)
        mix = (mix_weight * x + (1 - mix_weight) * fake).requires_grad_(True)
        grad = torch.autograd.grad(self.critic_(mix).sum(), mix, create_graph=True)[0]
        penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
        loss = self.critic_(fake).mean() - self.critic_(x).mean() + 10.0 * penalty
        self.critic_optimizer_.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_optimizer_.step()

    def train_step_single(self, batch, **fit_params):
        if self.adversarial_weight:
            Xi, _ = unpack_data(batch)
            self._critic_step(to_device(Xi, self.device))
        return super().train_step_single(batch, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        logits, recon = y_pred
        loss = super().get_loss(logits, y_true, X=X, training=training)
        if X is None:
            return loss
        x = to_device(X, self.device)
        loss = loss + self.reconstruction_weight * F.l1_loss(recon, x)
        if training and self.adversarial_weight:
            loss = loss - self.adversarial_weight * self.critic_(recon).mean()
        return loss


class VisNetAttributor(CNNAttributor):
    """Attribute images with Yu et al.'s fingerprint visualization network (visNet).

    Yu, Davis & Fritz (ICCV 2019, Sec. 3.3) make fingerprints visible: an autoencoder
    ``R`` turns an image ``I`` into its *image fingerprint* ``R(I) - I``, each source
    ``y`` has a *model fingerprint* ``F_y`` (an image, learned), and an image is
    attributed to the source whose model fingerprint correlates best with its image
    fingerprint. Trained end to end on ``20 x L1(R(I), I) + 0.1 x adversarial +
    1 x cross-entropy``, the paper's weights; the adversarial term is a WGAN-GP critic
    (Gulrajani et al. 2017) that keeps ``R(I)`` realistic.

    The paper's eq. 3 feeds the correlation indices, which lie in ``[-1, 1]``, to a
    softmax. Such logits can make the right class at most ``e ** 2`` times likelier
    than another, so cross-entropy never stops pushing; here the logits are the
    correlations times a learnable scale (initialised at ``init_scale``, learned as
    its logarithm), the temperature of a cosine-similarity classifier. The
    correlation itself is the NCC of the two images, flattened, zero-mean and
    unit-norm (:meth:`decision_function`). The authors' published code instead
    takes a plain inner product of the image fingerprint with each model
    fingerprint (a full-image linear layer, no normalisation); on the zoo that
    scored lower (``benchmarks/results/visnet.md``), and the paper describes the
    correlation.

    Inputs are pixels scaled to ``[-1, 1]``; the autoencoder is the network's own
    residual front-end.

    Parameters
    ----------
    width : int, default=32
        Channels of the autoencoder's first layer, doubled at every step down (and of
        the critic's).
    depth : int, default=2
        Stride-2 steps of the autoencoder; the image side must be divisible by
        ``2 ** depth``.
    init_scale : float, default=50.0
        Initial scale of the correlation logits. The scale is learned as its
        logarithm, which Adam moves by about ``lr`` per step while its gradient keeps
        its sign: over ``n`` steps the scale changes by a factor of about
        ``exp(n * lr)`` at most (1.8 over the zoo benchmark's 570 steps, 3.3 over the
        1,200 or so of ``max_epochs="auto"``), so where it starts matters. Image
        fingerprints correlate with their model fingerprint at only 0.02 to 0.15 on
        the zoo, and started at 10 the scale was still climbing when training
        stopped (at 18.5): the logits stayed flat. On all zoo sources at 15 epochs,
        mean accuracy over three training seeds was 0.85 started at 10, 0.91 at 30,
        0.93 at 50 and 0.90 at 100, the scale ending near 44, 56 and 91 from the
        last three
        (``benchmarks/results/visnet.md``).
    reconstruction_weight, adversarial_weight : float, default=20.0, 0.1
        Weights of the L1 reconstruction and adversarial losses (cross-entropy: 1).
        ``adversarial_weight=0`` trains no critic (faster).
    max_epochs : int or "auto", default="auto"
        As in :class:`CNNAttributor`: ``"auto"`` is enough epochs for 1,200
        optimizer steps, and at least 10.
    lr : float, default=1e-3
        Adam learning rate of the visNet (betas (0, 0.99)); the critic's is 1e-4.
    weight_decay, class_weight, batch_size, augment, validation_fraction, \
early_stopping, device, random_state, verbose
        As in :class:`CNNAttributor`.
    flip : bool, default=False
        Random horizontal flips while training. A model fingerprint is an image, fixed
        in place; a mirrored image's fingerprint is the original's mirrored, so flips
        ask one model fingerprint to match both. On the zoo, at equal training (and
        the ``init_scale=10`` of the time), flips cost the visNet 0.10 among the four
        seeds and 0.09 on all sources (``benchmarks/results/visnet.md``).

    Attributes
    ----------
    classes_ : ndarray
        Sorted class labels.
    net_ : skorch.NeuralNetClassifier
        The trained network; ``net_.module_`` is the :class:`VisNet`, ``net_.critic_``
        the critic.
    image_size_ : int
        Training image side.
    model_fingerprints_ : ndarray of shape (n_classes, H, W, 3)
        The model fingerprints, as images (float32, in grey levels).
    scale_ : float
        The learned scale of the logits.

    See Also
    --------
    CNNAttributor : the attribution network of the same paper.
    gfprint.plotting.plot_visnet : model and image fingerprints, response matrix.

    References
    ----------
    .. [1] N. Yu, L. Davis, M. Fritz, "Attributing fake images to GANs: learning and
       analyzing GAN fingerprints", ICCV 2019. :doi:`10.1109/ICCV.2019.00765`
    .. [2] I. Gulrajani et al., "Improved training of Wasserstein GANs", NeurIPS 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.nn import VisNetAttributor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
    >>> X[8:, ::2, ::2] //= 2  # class "b" carries a periodic pattern
    >>> y = np.repeat(["a", "b"], 8)
    >>> vis = VisNetAttributor(width=8, max_epochs=5, random_state=0).fit(X, y)
    >>> vis.model_fingerprints_.shape, vis.transform(X).shape
    ((2, 16, 16, 3), (16, 16, 16, 3))
    """

    _parameter_constraints: dict = {
        # the training parameters are CNNAttributor's
        **{k: v for k, v in CNNAttributor._parameter_constraints.items()
           if k not in ("variant", "switch_resolution", "width", "frontend", "space_to_depth")},
        "width": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 1, None, closed="left")],
        "init_scale": [Interval(Real, 0, None, closed="neither")],
        "reconstruction_weight": [Interval(Real, 0, None, closed="left")],
        "adversarial_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        width=32,
        depth=2,
        init_scale=50.0,
        reconstruction_weight=20.0,
        adversarial_weight=0.1,
        max_epochs="auto",
        lr=1e-3,
        weight_decay=0.0,
        class_weight=None,
        batch_size=32,
        augment=None,
        flip=False,
        validation_fraction=None,
        early_stopping=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.width = width
        self.depth = depth
        self.init_scale = init_scale
        self.reconstruction_weight = reconstruction_weight
        self.adversarial_weight = adversarial_weight
        self.max_epochs = max_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.class_weight = class_weight
        self.batch_size = batch_size
        self.augment = augment
        self.flip = flip
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _arch_params = ("width", "depth", "init_scale")

    def _checkpoint_arch(self, state):
        return {k: state[k] for k in self._arch_params}

    def _resolve_arch(self, image_size):
        pass  # the visNet's shape is fixed by its parameters alone

    def _fitted_arch(self):
        return {}

    def _images(self, X, *, fitting):
        images = super()._images(X, fitting=fitting)
        if fitting and images.height % 2**self.depth:
            raise ValueError(
                f"VisNetAttributor(depth={self.depth}) needs an image side divisible by "
                f"{2**self.depth}; got {images.height}x{images.width}."
            )
        return images

    def _residual_input(self):
        return False  # pixels: the autoencoder is the visNet's own residual front-end

    def _module_params(self, image_size, n_classes):
        return dict(
            module=VisNet,
            module__image_size=image_size,
            module__n_classes=n_classes,
            module__width=self.width,
            module__depth=self.depth,
            module__init_scale=self.init_scale,
        )

    def _build(self, image_size, n_classes, seed, class_counts=None, n_images=0):
        # CNNAttributor's data, optimizer and callbacks; the visNet's module and losses.
        return _VisNetNet(
            **self._net_params(image_size, n_classes, seed, class_counts, n_images),
            reconstruction_weight=self.reconstruction_weight,
            adversarial_weight=self.adversarial_weight,
            critic_width=self.width,
        )

    def _set_fingerprints(self):
        module = self.net_.module_
        prints = module.model_fingerprints.detach().cpu().numpy()
        self.model_fingerprints_ = (prints.transpose(0, 2, 3, 1) * 127.5).astype(np.float32)
        self.scale_ = float(module.log_scale.detach().exp())

    def _forward(self, X, what):
        check_fitted(self)
        module = self.net_.module_
        module.eval()
        out = []
        with torch.no_grad():
            for images in self._batches(X):
                for s in range(0, len(images), self.batch_size):
                    x = _to_tensor(images[s : s + self.batch_size]).to(self.net_.device)
                    fingerprint = module.reconstruct(x) - x
                    if what == "correlation":
                        out.append(module.correlation(fingerprint).cpu().numpy())
                    else:
                        out.append(fingerprint.permute(0, 2, 3, 1).cpu().numpy() * 127.5)
        return np.concatenate(out).astype(np.float32, copy=False)

    def transform(self, X):
        """Image fingerprints ``R(I) - I``, in grey levels.

        Parameters
        ----------
        X : array-like of shape (n, H, W, 3) or sequence of path
            RGB images of the training size.

        Returns
        -------
        fingerprints : ndarray of float32, shape (n, H, W, 3)
        """
        return self._forward(X, "fingerprint")

    def decision_function(self, X):
        """NCC of each image fingerprint with each model fingerprint.

        Parameters
        ----------
        X : array-like of shape (n, H, W, 3) or sequence of path
            RGB images of the training size.

        Returns
        -------
        correlation : ndarray of float32, shape (n, n_classes)
            In ``[-1, 1]``; ``predict_proba`` is the softmax of ``scale_`` times it.
        """
        return self._forward(X, "correlation")

