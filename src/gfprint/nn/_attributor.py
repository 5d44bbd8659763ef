"""CNNAttributor: the Yu et al. (2019) attribution network as a scikit-learn classifier."""

from __future__ import annotations

import math
import os
import pickle
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, column_or_1d

from .._param_validation import HasMethods, Interval, StrOptions, fit_context, validate_parameters
from .._utils import atomic_path
from .._validation import check_fitted, check_images
from ._modules import FRONTENDS, VARIANTS, AttributionNet, check_space_to_depth

__all__ = ["CNNAttributor"]

_AUTO_STEPS = 1200  # optimizer steps of max_epochs="auto"


@contextmanager
def _seeded(seed, device):
    """Seed the torch generators a fit on ``device`` draws from; restore them after.

    The CPU generator (weights, shuffling) and, on a CUDA device, that device's
    generator (dropout, the visNet critic's mixing weights) are seeded and forked, so
    the global random state is left as it was. ``torch.manual_seed`` would also seed
    every other CUDA device, lazily, even for a fit on the CPU.
    """
    dev = torch.device(device)
    cuda = dev.type == "cuda" and torch.cuda.is_available()
    if cuda:
        index = dev.index if dev.index is not None else torch.cuda.current_device()
    with torch.random.fork_rng(devices=[index] if cuda else []):
        torch.random.default_generator.manual_seed(seed)
        if cuda:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield


def _to_uint8(images):
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


class _Collate:
    """Batch uint8 images: optional perturbation and flips, then the network's input.

    The input is NCHW floats: the pixels in [-1, 1], or with ``residual`` the noise
    residual of each image (``frontend="residual"``). Items of an
    :class:`_ImageDataset` that keeps a :class:`_ResidualMemo` take their residuals
    from it when no perturbation precedes them.
    """

    def __init__(self, augment=None, flip=False, rng=None, residual=False):
        self.augment = augment
        self.flip = flip
        self.rng = rng
        self.residual = residual

    def __call__(self, items):
        xs = np.stack([np.asarray(getattr(x, "image", x)) for x, _ in items])
        ys = torch.as_tensor(np.array([int(y) for _, y in items], dtype=np.int64))
        memo = getattr(items[0][0], "memo", None) if self.residual else None
        if self.augment is not None:
            shape = xs.shape
            xs = self.augment.perturb(xs, self.rng)
            if not isinstance(xs, np.ndarray) or xs.shape != shape:
                raise ValueError(
                    f"augment={self.augment!r} changed the training images' size "
                    f"(from {shape[1]}x{shape[2]}); the network takes images of one size: "
                    "use a perturbation that keeps it (RandomCrop resizes back by default)."
                )
            memo = None  # a random perturbation: residuals of new images
        mirror = np.zeros(len(xs), bool)
        if self.flip:
            mirror = self.rng.uniform(size=len(xs)) < 0.5
            xs[mirror] = xs[mirror, :, ::-1]
        if memo is not None:
            index = np.array([x.index for x, _ in items])
            return _residual_tensor(memo.residuals(xs, index, mirror)), ys
        return _to_tensor(xs, self.residual), ys


class _ResidualMemo:
    """Residuals of a training set's images and of their mirror images, each computed once.

    With ``frontend="residual"`` every epoch would otherwise denoise every image
    again: on 800 images of 32x32 over 15 epochs that was a third of the training
    time. A residual is a function of its image alone, so the memo returns exactly
    what computing it again would.
    """

    #: The most memory the residuals of both orientations may take (float32).
    max_bytes = 1 << 30

    def __init__(self, n_images, shape):
        self.shape = shape
        self.planes = {}  # mirrored -> (n, H, W, C) float32
        self.known = {False: np.zeros(n_images, bool), True: np.zeros(n_images, bool)}

    @classmethod
    def fits(cls, n_images, shape):
        return 2 * n_images * int(np.prod(shape)) * 4 <= cls.max_bytes

    def residuals(self, images, index, mirrored):
        """Residuals of ``images`` (uint8, already mirrored where ``mirrored``)."""
        from ..residuals import ResidualExtractor

        out = np.empty((len(images), *self.shape), np.float32)
        for side in (False, True):
            rows = np.flatnonzero(mirrored == side)
            if not len(rows):
                continue
            if side not in self.planes:
                self.planes[side] = np.empty((len(self.known[side]), *self.shape), np.float32)
            plane, known = self.planes[side], self.known[side]
            new = rows[~known[index[rows]]]
            if len(new):
                plane[index[new]] = ResidualExtractor().transform(images[new])
                known[index[new]] = True
            out[rows] = plane[index[rows]]
        return out


class _Item:
    """One image of an :class:`_ImageDataset`, with its index for the residual memo."""

    __slots__ = ("image", "index", "memo")

    def __init__(self, image, index, memo):
        self.image = image
        self.index = index
        self.memo = memo


class _ImageDataset(torch.utils.data.Dataset):
    """Labelled images for skorch: arrays held as uint8, files read when a batch needs them.

    Arrays are converted to uint8 a chunk at a time (no float32 copy of the whole set);
    paths are never all in memory: each epoch reads every file once, one batch at a
    time, which bounds memory at the cost of decoding the files once per epoch.
    With ``memo_residuals``, arrays whose residuals fit in
    :attr:`_ResidualMemo.max_bytes` keep them from epoch to epoch.
    """

    def __init__(self, images, y, memo_residuals=False):
        self.images = images
        self.y = y
        self.data = None
        self.memo = None
        if not images.is_paths:
            self.data = np.empty(
                (images.n_images, images.height, images.width, images.n_channels), np.uint8
            )
            for s in range(0, images.n_images, 256):
                self.data[s : s + 256] = _to_uint8(images.chunk(s, s + 256).load())
            if memo_residuals and _ResidualMemo.fits(len(self.data), self.data.shape[1:]):
                self.memo = _ResidualMemo(len(self.data), self.data.shape[1:])

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        if self.data is not None:
            return _Item(self.data[i], i, self.memo), self.y[i]
        return _to_uint8(self.images.chunk(i, i + 1).load())[0], self.y[i]


#: Residuals (a few grey levels) are divided by this to reach the pixels' scale.
_RESIDUAL_SCALE = 8.0


def _to_tensor(images: np.ndarray, residual: bool = False) -> torch.Tensor:
    """NCHW float32 input of uint8 images: pixels in [-1, 1], or their residuals."""
    if residual:
        from ..residuals import ResidualExtractor

        # The generator residual of the PRNU path (Marra et al.): image minus its
        # wavelet-denoised version, colour kept.
        return _residual_tensor(ResidualExtractor().transform(images))
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def _residual_tensor(residuals: np.ndarray) -> torch.Tensor:
    """NCHW network input of NHWC residuals, scaled to the pixels' range."""
    r = residuals / _RESIDUAL_SCALE
    return torch.from_numpy(np.ascontiguousarray(r, np.float32)).permute(0, 3, 1, 2)


class CNNAttributor(ClassifierMixin, TransformerMixin, BaseEstimator):
    """Attribute images to their source with the CNN of Yu, Davis & Fritz (ICCV 2019).

    A thin scikit-learn estimator around a :class:`skorch.NeuralNetClassifier` that
    trains :class:`~gfprint.nn.AttributionNet`: 3x3 convolutions with LeakyReLU(0.2)
    and average pooling per resolution, no normalisation, a 512-d penultimate layer
    (the *image fingerprint*, returned by :meth:`transform`) and a last dense layer
    whose weights are the *model fingerprints*. Trained with Adam (betas (0, 0.99)) on
    cross-entropy.

    The defaults are for GAN fingerprints and a few hundred images per source: the
    network sees the noise residual, with its 2x2 sampling phases stacked into
    channels, and no mirrored images. ``CNNAttributor(frontend="pixels",
    space_to_depth=1, flip=True, max_epochs=10)`` is the network and schedule as Yu et
    al. published them.

    Parameters
    ----------
    variant : {"full", "postpool", "predownsample", "predownsample_residual"}, default="full"
        Network variant for the patch-size (``"postpool"``) and frequency
        (``"predownsample"``, ``"predownsample_residual"``) studies; see
        :class:`~gfprint.nn.AttributionNet`.
    switch_resolution : int, default=None
        Resolution where the variant switches (required unless ``"full"``).
    width : float, default=1.0
        Multiplier of the paper's channel widths; smaller is faster on a CPU.
    frontend : {"residual", "highpass", "constrained", "pixels"}, default="residual"
        What the first convolution sees: the noise residual of the PRNU path (the
        image minus its wavelet-denoised version, :class:`~gfprint.ResidualExtractor`
        with its defaults, computed on the CPU; in training, once per image and per
        mirror image when those of an array fit in 1 GiB, else for every batch); a
        fixed high-pass residual, the image minus its 5x5 binomial blur
        (:class:`~gfprint.nn.HighPass`); three learned prediction-error residuals
        (Bayar & Stamm's constrained convolution,
        :class:`~gfprint.nn.ConstrainedConv2d`); or the pixels, as Yu et al.
        published the network. On 64 images per source and 100 epochs, without
        stacked phases (``benchmarks/results/cnn_small_data.md``): where sources
        share their content and differ only by a weak up-sampling fingerprint, the
        residual scored 0.47, the high-pass 0.18 and the pixels 0.18 (chance 0.17);
        on the zoo, 0.72, 0.70 and 0.37 (chance 0.125).
    space_to_depth : int or "auto", default="auto"
        Stack each ``k x k`` block of the front-end's output into ``3 k**2`` channels
        before the first convolution (:class:`torch.nn.PixelUnshuffle`), one per
        sampling phase, so that the network works on images ``k`` times smaller. The
        trace of a stride-2 up-sampling repeats every 2 pixels; with ``k = 2`` it is
        a constant offset of each channel, which the network's average pooling keeps
        instead of averaging away. ``"auto"``: 2 for ``variant="full"`` and an even
        image side of at least 16, else 1 (the paper: no stacking); the value used is
        ``space_to_depth_``. On 64 images per source it lifted the residual network
        from below PRNU to about PRNU or above, and trained faster
        (``benchmarks/results/cnn_small_data.md``).
    max_epochs : int or "auto", default="auto"
        Training epochs (the most, with ``early_stopping``). ``"auto"``: enough
        for 1,200 optimizer steps, and at least 10 epochs: 100 epochs for 384
        training images in batches of 32, 10 for 3,840 or more. Few images need many
        epochs: on 64 images per source the paper's 10 epochs learned nothing
        (0.14 to 0.16 test accuracy against a chance of 0.13 to 0.17,
        ``benchmarks/results/cnn_small_data.md``).
    lr : float, default=1e-3
        Adam learning rate.
    weight_decay : float, default=0.0
        L2 penalty of Adam (``torch.optim.Adam(weight_decay=...)``).
    class_weight : {"balanced"} or None, default=None
        ``"balanced"`` weights each class's cross-entropy by
        ``n_samples / (n_classes * count)``, as in scikit-learn, so that a large
        class does not dominate training.
    batch_size : int, default=32
        Mini-batch size.
    augment : Perturbation, default=None
        A gfprint perturbation applied afresh to every training batch (immunization,
        Yu et al. Sec. 4.4); never at prediction.
    flip : bool, default=False
        Random horizontal flips while training. A mirror image's up-sampling pattern
        is the original's with its column phases swapped, so flips teach the network
        to ignore part of the fingerprint: with ``space_to_depth=2`` on 64 images per
        source they cost 0.02-0.04 accuracy (``benchmarks/results/cnn_small_data.md``).
    validation_fraction : float, default=None
        Hold out this stratified fraction for validation scores (skorch ``ValidSplit``).
    early_stopping : int, default=None
        Stop when the validation accuracy has not improved for this many epochs
        (needs ``validation_fraction``); the weights of the epoch with the best
        validation accuracy are restored at the end. Accuracy, not loss: in a trial on
        64 images per source (zoo v1, not kept in a results file), the loss stopped
        the high-pass network after 44 epochs at 0.22 test accuracy, the accuracy
        after 130 epochs at 0.66.
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``.
    random_state : int, RandomState instance or None, default=None
        Seeds weights, shuffling, flips and augmentation: on the CPU the same seed gives
        the same weights. The global torch RNG is left as it was.
    verbose : int, default=0
        1 prints skorch's epoch table.

    Attributes
    ----------
    classes_ : ndarray
        Sorted class labels.
    net_ : skorch.NeuralNetClassifier
        The trained network (labels encoded as ``0 .. n_classes - 1``).
    image_size_ : int
        Training image side.
    space_to_depth_ : int
        The ``space_to_depth`` used (``"auto"`` resolved for ``image_size_``).
    model_fingerprints_ : ndarray of shape (n_classes, 512)
        Weights of the last layer.

    References
    ----------
    .. [1] N. Yu, L. Davis, M. Fritz, "Attributing fake images to GANs: learning and
       analyzing GAN fingerprints", ICCV 2019. :doi:`10.1109/ICCV.2019.00765`

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint import CNNAttributor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, (16, 16, 16, 3), dtype=np.uint8)
    >>> X[8:, :, :, 0] = 255  # class "b" is red
    >>> y = np.repeat(["a", "b"], 8)
    >>> cnn = CNNAttributor(width=0.05, max_epochs=30, random_state=0).fit(X, y)
    >>> cnn.score(X, y), cnn.transform(X).shape
    (1.0, (16, 512))
    """

    _parameter_constraints: dict = {
        "variant": [StrOptions(set(VARIANTS))],
        "frontend": [StrOptions(set(FRONTENDS))],
        "space_to_depth": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "switch_resolution": [Interval(Integral, 4, None, closed="left"), None],
        "width": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "augment": [HasMethods(["perturb"]), None],
        "flip": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "early_stopping": [Interval(Integral, 1, None, closed="left"), None],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        variant="full",
        switch_resolution=None,
        width=1.0,
        frontend="residual",
        space_to_depth="auto",
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
        self.variant = variant
        self.switch_resolution = switch_resolution
        self.width = width
        self.frontend = frontend
        self.space_to_depth = space_to_depth
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

    #: The parameters a checkpoint records: they fix the network's shape.
    _arch_params = ("variant", "switch_resolution", "width", "frontend", "space_to_depth")

    # ----------------------------------------------------------------- helpers
    def _checkpoint_arch(self, state):
        """The architecture parameters of a checkpoint's ``state``."""
        arch = {k: state[k] for k in self._arch_params if k not in ("frontend", "space_to_depth")}
        # Checkpoints written before the front-ends existed are pixel networks, and
        # those written before space_to_depth stacked no phases.
        arch["frontend"] = state.get("frontend", "pixels")
        arch["space_to_depth"] = state.get("space_to_depth", 1)
        return arch

    def _resolve_arch(self, image_size):
        """Set the fitted architecture attributes for ``image_size`` (``space_to_depth_``)."""
        f = self.space_to_depth
        if f == "auto":
            f = 2 if self.variant == "full" and image_size % 2 == 0 and image_size >= 16 else 1
        check_space_to_depth(f, self.variant, image_size)  # a clear error before training
        self.space_to_depth_ = int(f)

    def _fitted_arch(self):
        """Architecture parameters as resolved by the fit, for a checkpoint."""
        return {"space_to_depth": self.space_to_depth_}

    def _images(self, X, *, fitting):
        images = check_images(X)
        if images.n_channels != 3:
            raise ValueError(
                f"{type(self).__name__} needs RGB images (n, H, W, 3); got "
                f"{images.n_channels} channel(s)."
            )
        h, w = images.height, images.width
        if fitting:
            if h != w or h < 8:
                raise ValueError(
                    f"{type(self).__name__} needs square images of at least 8x8 pixels; got "
                    f"{h}x{w}. "
                    "Crop or resize them first."
                )
            if self._residual_input():
                try:  # the wavelet residual needs room for one level
                    _to_tensor(np.zeros((1, h, w, 3), np.uint8), residual=True)
                except ValueError as exc:
                    raise ValueError(
                        f"frontend='residual' cannot take {h}x{w} images: "
                        f"{str(exc).splitlines()[0]} frontend='highpass' takes any size."
                    ) from None
        elif (h, w) != (self.image_size_, self.image_size_):
            raise ValueError(
                f"this {type(self).__name__} was trained on {self.image_size_}x{self.image_size_} "
                f"images; got {h}x{w}."
            )
        return images

    def _batches(self, X):
        """uint8 batches of a validated image set: paths are read one batch at a time."""
        images = self._images(X, fitting=False)
        step = max(self.batch_size, 256)
        for s in range(0, images.n_images, step):
            yield _to_uint8(images.chunk(s, s + step).load())

    def _check_device(self):
        if str(self.device).startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r}, but PyTorch sees no CUDA device on this machine "
                "(torch.cuda.is_available() is False); use device='cpu'."
            )

    def _epochs(self, n_images):
        """``max_epochs``, with ``"auto"`` resolved for ``n_images`` training images."""
        if self.max_epochs != "auto":
            return self.max_epochs
        n_train = n_images * (1 - (self.validation_fraction or 0.0))
        steps = max(1, math.ceil(n_train / self.batch_size))
        return max(10, math.ceil(_AUTO_STEPS / steps))

    def _residual_input(self):
        """Whether the network is fed the noise residual instead of the pixels."""
        return self.frontend == "residual"

    def _module_params(self, image_size, n_classes):
        """The skorch ``module`` and its ``module__`` parameters."""
        return dict(
            module=AttributionNet,
            module__image_size=image_size,
            module__n_classes=n_classes,
            module__variant=self.variant,
            module__switch_resolution=self.switch_resolution,
            module__width=self.width,
            module__frontend=self.frontend,
            module__space_to_depth=self.space_to_depth_,
        )

    def _net_params(self, image_size, n_classes, seed, class_counts=None, n_images=0):
        """Parameters of the skorch net: module, loss, optimizer, data, callbacks."""
        from skorch.callbacks import EarlyStopping
        from skorch.dataset import ValidSplit

        if self.early_stopping is not None and self.validation_fraction is None:
            raise ValueError("early_stopping needs validation_fraction.")
        rng = np.random.RandomState(seed)
        callbacks = []
        if self.early_stopping is not None:
            # Validation accuracy, not loss: on few images the loss rises as the network
            # grows confident while its accuracy still climbs.
            # The weights of the best epoch are restored at the end.
            callbacks.append(EarlyStopping(monitor="valid_acc", lower_is_better=False,
                                           patience=self.early_stopping, load_best=True))
        weight = None
        if self.class_weight == "balanced" and class_counts is not None:
            # scikit-learn's "balanced": n_samples / (n_classes * count of the class).
            counts = np.asarray(class_counts, np.float64)
            weight = torch.as_tensor(counts.sum() / (len(counts) * counts), dtype=torch.float32)
        residual = self._residual_input()
        split = None
        if self.validation_fraction is not None:
            split = ValidSplit(self.validation_fraction, stratified=True, random_state=seed)
        return dict(
            **self._module_params(image_size, n_classes),
            criterion=torch.nn.CrossEntropyLoss,
            criterion__weight=weight,
            optimizer=torch.optim.Adam,
            optimizer__betas=(0.0, 0.99),
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self._epochs(n_images),
            batch_size=self.batch_size,
            train_split=split,
            callbacks=callbacks,
            iterator_train__shuffle=True,
            iterator_train__collate_fn=_Collate(self.augment, self.flip, rng, residual),
            iterator_valid__collate_fn=_Collate(residual=residual),
            classes=np.arange(n_classes),
            device=self.device,
            verbose=self.verbose,
            torch_load_kwargs={"weights_only": True},
        )

    def _build(self, image_size, n_classes, seed, class_counts=None, n_images=0):
        from skorch import NeuralNetClassifier

        return NeuralNetClassifier(
            **self._net_params(image_size, n_classes, seed, class_counts, n_images)
        )

    # ----------------------------------------------------------------- fitting
    @fit_context
    def fit(self, X, y):
        """Train the network from scratch.

        Parameters
        ----------
        X : array-like of shape (n, H, W, 3) or sequence of path
            RGB images (uint8, uint16 or float on [0, 1]), square, at least 8x8.
        y : array-like of shape (n,)
            Source labels of any sortable type.

        Returns
        -------
        self : CNNAttributor
        """
        self._check_device()
        images = self._images(X, fitting=True)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:  # a column: scikit-learn warns and flattens
            y = column_or_1d(y, warn=True)
        if y.ndim != 1 or len(y) != images.n_images:
            raise ValueError(
                f"y must hold one label per image: got shape {y.shape} for "
                f"{images.n_images} images."
            )
        check_array(y, ensure_2d=False, dtype=None, input_name="y")  # NaN, infinity
        try:
            check_classification_targets(y)
            self.classes_, y_enc = np.unique(y, return_inverse=True)
        except TypeError as exc:
            raise TypeError(
                f"class labels must be mutually comparable (all str or all numbers): {exc}"
            ) from exc
        if len(self.classes_) < 2:
            raise ValueError("CNNAttributor needs at least 2 classes.")
        self.image_size_ = images.height
        self._resolve_arch(self.image_size_)
        y_enc = y_enc.astype(np.int64)
        dataset = _ImageDataset(images, y_enc, memo_residuals=self._residual_input())
        seed = check_random_state(self.random_state).randint(2**31 - 1)
        with _seeded(seed, self.device):
            self.net_ = self._build(self.image_size_, len(self.classes_), seed,
                                    np.bincount(y_enc, minlength=len(self.classes_)),
                                    n_images=len(y_enc))
            self.net_.fit(dataset, y_enc)  # y: for the stratified validation split
        self._set_fingerprints()
        return self

    def _set_fingerprints(self):
        weight = self.net_.module_.classifier.weight
        self.model_fingerprints_ = weight.detach().cpu().numpy().copy()

    # ---------------------------------------------------------------- predicting
    def predict_proba(self, X):
        """Softmax class probabilities.

        Parameters
        ----------
        X : array-like of shape (n, H, W, 3) or sequence of path
            RGB images of the training size.

        Returns
        -------
        proba : ndarray of float32, shape (n, n_classes)
        """
        check_fitted(self)
        with torch.random.fork_rng(devices=[]):  # the data loader draws a seed
            return np.concatenate([self.net_.predict_proba(b) for b in self._batches(X)])

    def predict(self, X):
        """Most probable source of each image.

        Parameters
        ----------
        X : array-like of shape (n, H, W, 3) or sequence of path
            RGB images of the training size.

        Returns
        -------
        y_pred : ndarray of shape (n,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def transform(self, X):
        """The 512-d image fingerprints (penultimate activations).

        Parameters
        ----------
        X : array-like of shape (n, H, W, 3) or sequence of path
            RGB images of the training size.

        Returns
        -------
        features : ndarray of float32, shape (n, 512)
        """
        check_fitted(self)
        module = self.net_.module_
        module.eval()
        out = []
        with torch.no_grad():
            for images in self._batches(X):
                for s in range(0, len(images), self.batch_size):
                    batch = _to_tensor(images[s : s + self.batch_size],
                                       self._residual_input()).to(self.net_.device)
                    out.append(module.embed(batch).cpu().numpy())
        return np.concatenate(out).astype(np.float32, copy=False)

    # ----------------------------------------------------------------- save/load
    def save_params(self, f_params):
        """Save the trained weights, classes and architecture with ``torch.save``.

        The file holds only tensors, strings and numbers, so :meth:`load_params` reads
        it with ``torch.load(weights_only=True)`` (no arbitrary code).

        Parameters
        ----------
        f_params : str or os.PathLike
            Destination file.
        """
        check_fitted(self)
        classes = self.classes_.tolist()
        if not all(isinstance(c, (str, int, float)) for c in classes):
            raise TypeError("only str or numeric class labels can be saved.")
        state = {
            "state_dict": self.net_.module_.state_dict(),
            "classes": classes,
            "classes_dtype": self.classes_.dtype.str,  # tolist() loses it (uint8 -> int)
            "image_size": int(self.image_size_),
            "estimator": type(self).__name__,
            **{k: getattr(self, k) for k in self._arch_params},
            **self._fitted_arch(),
        }
        # A temporary file renamed into place: an interrupted save leaves the old file.
        with atomic_path(f_params) as tmp:
            torch.save(state, tmp)

    def load_params(self, f_params):
        """Load weights written by :meth:`save_params` into this estimator.

        The architecture parameters (for ``CNNAttributor``: ``variant``,
        ``switch_resolution``, ``width``, ``frontend``, ``space_to_depth``) are taken
        from the file (``get_params`` shows them afterwards); training parameters are
        this object's.

        Parameters
        ----------
        f_params : str or os.PathLike
            A file from :meth:`save_params`.

        Returns
        -------
        self : CNNAttributor
        """
        self._check_device()
        where = repr(os.fspath(f_params))
        try:
            state = torch.load(f_params, map_location=self.device, weights_only=True)
            # Checkpoints written before the visNet did not name their estimator.
            kind = state.get("estimator", "CNNAttributor")
            arch = self._checkpoint_arch(state) if kind == type(self).__name__ else None
            classes, size = list(state["classes"]), int(state["image_size"])
        except (OSError, KeyError, RuntimeError, TypeError, ValueError, AttributeError,
                pickle.UnpicklingError) as exc:
            raise ValueError(
                f"{where} is not a {type(self).__name__} checkpoint: {exc}") from exc
        if arch is None:
            raise ValueError(
                f"{where} holds a {kind}, not a {type(self).__name__}: load it with "
                f"{kind}().load_params(...)."
            )
        if len(classes) < 2 or len(set(map(str, classes))) != len(classes) or size < 8:
            raise ValueError(
                f"{where} is inconsistent: {len(classes)} classes {classes[:5]} and image "
                f"size {size}."
            )
        before = dict(self.__dict__)  # a failed load leaves the estimator as it was
        try:
            self.set_params(**arch)
            validate_parameters(self)
            self._resolve_arch(size)
            net = self._build(size, len(classes), 0).initialize()
            net.module_.load_state_dict(state["state_dict"])
        except (ValueError, TypeError, RuntimeError) as exc:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise ValueError(
                f"{where} does not fit its own architecture {arch}, {len(classes)} classes "
                f"and {size}x{size} images: {str(exc).splitlines()[0]}"
            ) from exc
        # Checkpoints written before the dtype was recorded: numpy's guess from the list.
        dtype = state.get("classes_dtype")
        try:
            self.classes_ = np.array(classes, dtype=None if dtype is None else np.dtype(dtype))
        except (TypeError, ValueError):  # a tampered dtype: the labels as listed
            self.classes_ = np.array(classes)
        self.image_size_ = size
        self.net_ = net
        self._set_fingerprints()
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.device != "cpu"
        return tags
