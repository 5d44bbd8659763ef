"""Torch modules of the Yu et al. (2019) attribution network and its variants."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["AttributionNet", "ConstrainedConv2d", "HighPass", "channels_at"]

VARIANTS = ("full", "postpool", "predownsample", "predownsample_residual")
FRONTENDS = ("pixels", "highpass", "constrained", "residual")


def channels_at(resolution: int, width: float = 1.0) -> int:
    """Output channels of the block at ``resolution``: ``min(4096 / r, 512) * width``.

    At 128x128 this gives the widths of Yu et al.: 32, 64, 128, 256, 512, 512 for
    resolutions 128, 64, 32, 16, 8, 4.

    Examples
    --------
    >>> from gfprint.nn import channels_at
    >>> [channels_at(r) for r in (128, 64, 32, 16, 8, 4)]
    [32, 64, 128, 256, 512, 512]
    >>> channels_at(128, width=0.5)
    16
    """
    return max(1, int(round(min(4096 // resolution, 512) * width)))


def _is_pow2(n):
    return n >= 1 and n & (n - 1) == 0


def check_space_to_depth(f, variant, image_size):
    """Refuse a ``space_to_depth`` the network cannot use on ``image_size`` images."""
    if f > 1 and (variant != "full" or image_size % f or image_size // f < 8):
        raise ValueError(
            f"space_to_depth={f} needs variant='full' and an image side divisible by {f} "
            f"with at least 8 pixels left; got variant={variant!r} and "
            f"{image_size}x{image_size} images."
        )


def _conv(c_in, c_out):
    return nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect", bias=True)


def _blur_down(x):
    """Gaussian 5x5 (binomial) blur with reflected borders, then subsample by 2."""
    k1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16
    k = (k1[:, None] * k1[None, :]).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=x.shape[1])[:, :, ::2, ::2]


class HighPass(nn.Module):
    """Fixed high-pass front-end: the image minus its 5x5 binomial blur, per channel.

    The finest level of a Laplacian pyramid: what is left after removing the scene's
    smooth content, as the noise residual of fingerprint methods (image minus denoised
    image). Multiplied by ``gain`` so that its values are not tiny next to pixels.

    Examples
    --------
    >>> import torch
    >>> from gfprint.nn import HighPass
    >>> flat = torch.full((1, 3, 8, 8), 0.3)
    >>> float(HighPass()(flat).abs().max())
    0.0
    """

    def __init__(self, gain=4.0):
        super().__init__()
        self.gain = gain

    def forward(self, x):
        k1 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=x.dtype, device=x.device) / 16
        k = (k1[:, None] * k1[None, :]).expand(x.shape[1], 1, 5, 5)
        blur = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), k, groups=x.shape[1])
        return self.gain * (x - blur)


class ConstrainedConv2d(nn.Conv2d):
    """Bayar & Stamm's constrained convolution: learned prediction-error filters.

    Every kernel (one per output and input channel) has its centre tap fixed at -1
    and its other taps summing to 1, so that it predicts each pixel from its
    neighbours and subtracts the pixel: the layer can only learn high-pass,
    prediction-error residuals, not scene content. As in Bayar & Stamm (2018), the
    constraint is a projection applied after every update (here at the start of
    every forward pass, in training and evaluation alike): the off-centre taps are
    divided by their sum and the centre is set to -1. The output is multiplied by
    ``gain``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels.
    kernel_size : int, default=5
        Odd kernel side (5 in the paper).
    gain : float, default=4.0
        Output scale.

    References
    ----------
    .. [1] B. Bayar and M. C. Stamm, "Constrained convolutional neural networks: a new
       approach towards general purpose image manipulation detection", IEEE TIFS
       13(11), 2018. :doi:`10.1109/TIFS.2018.2825953`

    Examples
    --------
    >>> import torch
    >>> from gfprint.nn import ConstrainedConv2d
    >>> conv = ConstrainedConv2d(3, 3)
    >>> flat = torch.full((1, 3, 8, 8), 0.3)
    >>> bool(conv(flat).detach().abs().max() < 1e-5)  # a flat image: no prediction error
    True
    """

    def __init__(self, in_channels, out_channels, kernel_size=5, gain=4.0):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                         padding_mode="reflect", bias=False)
        self.gain = gain
        with torch.no_grad():
            self.weight.uniform_(0.0, 1.0)  # positive, so that the first sums are not 0
        self.project()

    @torch.no_grad()
    def project(self):
        """Impose the constraint on the weights in place."""
        w = self.weight
        c = w.shape[-1] // 2
        w[:, :, c, c] = 0.0
        total = w.sum(dim=(2, 3), keepdim=True)
        # A sum near 0 would blow the taps up: keep its sign, bound its size.
        total = torch.where(total.abs() < 1e-3, torch.full_like(total, 1e-3) *
                            torch.where(total < 0, -1.0, 1.0), total)
        w.div_(total)
        w[:, :, c, c] = -1.0

    def forward(self, x):
        self.project()
        return self.gain * super().forward(x)


class AttributionNet(nn.Module):
    """Yu et al. attribution network, scaled to the input size.

    Per resolution from the input size down to 8: two 3x3 convolutions (reflect
    padding, bias, LeakyReLU(0.2), no normalisation) and 2x2 average pooling; at 4x4
    one more convolution; then flatten, dense 512 + LeakyReLU (the 512-d image
    fingerprint) and a dense layer to the classes (whose weights are the model
    fingerprints).

    Parameters
    ----------
    image_size : int
        Input height and width, at least 8. With a power of two the last block is
        4x4 as in the paper; other sizes (e.g. 24 after cropping) end with an
        adaptive average pooling to 4x4. The non-``"full"`` variants need a power of
        two.
    n_classes : int
        Outputs.
    variant : {"full", "postpool", "predownsample", "predownsample_residual"}
        ``"postpool"``: convolve only down to ``switch_resolution``, then average-pool
        to 4x4 (limits the receptive field: patch-size study). ``"predownsample"``:
        Gaussian-blur and subsample the input to ``switch_resolution`` first (keeps low
        frequencies). ``"predownsample_residual"``: the input at ``switch_resolution``
        minus the upsampled blur-downsample of it (keeps the high frequencies of that
        scale).
    switch_resolution : int
        Resolution at which the variant switches (ignored by ``"full"``).
    width : float
        Multiplier of every channel width (1.0 = the paper's).
    frontend : {"pixels", "highpass", "constrained", "residual"}, default="pixels"
        What the first convolution sees: the pixels (Yu et al.), a fixed high-pass
        residual (:class:`HighPass`) or three learned prediction-error residuals
        (:class:`ConstrainedConv2d`, Bayar & Stamm 2018). ``"residual"``: the input
        already is a noise residual, computed outside the network
        (:class:`~gfprint.CNNAttributor` does it with the wavelet denoiser), and
        passes unchanged.
    space_to_depth : int, default=1
        After the front-end, stack each ``space_to_depth x space_to_depth`` block of
        pixels into channels (:class:`torch.nn.PixelUnshuffle`): the network then
        sees ``3 * space_to_depth ** 2`` channels of ``image_size / space_to_depth``
        pixels, one per sampling phase. A pattern that repeats with that period (the
        trace of a stride-2 up-sampling) becomes a constant offset of each channel,
        which pooling keeps instead of averaging it away. 1 (the paper) stacks
        nothing; more needs ``variant="full"`` and an ``image_size`` divisible by it,
        with at least 8 pixels left.

    Notes
    -----
    Weights start from He's normal initialisation for LeakyReLU(0.2), biases at zero.
    The authors' code (built on progressive GANs) rescales weights by He's constant
    at run time (equalised learning rate); that run-time scaling is not implemented.

    Examples
    --------
    >>> import torch
    >>> from gfprint.nn import AttributionNet
    >>> net = AttributionNet(32, 3, width=0.1)
    >>> x = torch.zeros(2, 3, 32, 32)
    >>> tuple(net(x).shape), tuple(net.embed(x).shape)
    ((2, 3), (2, 512))
    >>> AttributionNet(32, 3, width=0.1, space_to_depth=2).features[0]
    Conv2d(12, 13, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), padding_mode=reflect)
    """

    def __init__(self, image_size, n_classes, variant="full", switch_resolution=None, width=1.0,
                 frontend="pixels", space_to_depth=1):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}.")
        if frontend not in FRONTENDS:
            raise ValueError(f"frontend must be one of {FRONTENDS}, got {frontend!r}.")
        if image_size < 8 or (variant != "full" and not _is_pow2(image_size)):
            raise ValueError(
                f"image_size must be at least 8 (and a power of two for variant "
                f"{variant!r}), got {image_size}."
            )
        f = space_to_depth
        if isinstance(f, bool) or not isinstance(f, int) or f < 1:
            raise ValueError(f"space_to_depth must be a positive integer, got {f!r}.")
        check_space_to_depth(f, variant, image_size)
        if variant != "full":
            ok = (
                switch_resolution is not None
                and 4 <= switch_resolution <= image_size
                and _is_pow2(switch_resolution)
            )
            if not ok:
                raise ValueError(
                    f"variant={variant!r} needs switch_resolution, a power of two between 4 "
                    f"and the image size {image_size}; got {switch_resolution!r}."
                )
        self.image_size = image_size
        self.variant = variant
        self.switch_resolution = switch_resolution
        self.space_to_depth = f
        top = image_size // f if variant in ("full", "postpool") else switch_resolution
        bottom = switch_resolution if variant == "postpool" else 4
        # Blur-downsample steps of the "predownsample" variants (0 for the others).
        self.pre_steps = int(math.log2(image_size // top)) if variant.startswith("pre") else 0
        layers = []
        c_in = 3 * f * f
        r = top
        while r >= 8 and r >= bottom:
            c_out = channels_at(r, width)
            # The first block narrows to half its width (as does any block fed 3 channels).
            c_mid = max(1, c_out // 2) if c_in == 3 or not layers else c_in
            layers += [
                _conv(c_in, c_mid),
                nn.LeakyReLU(0.2),
                _conv(c_mid, c_out),
                nn.LeakyReLU(0.2),
            ]
            c_in = c_out
            layers.append(nn.AvgPool2d(2))
            r //= 2
        if bottom <= 4:
            c_out = channels_at(4, width)
            layers += [_conv(c_in, c_out), nn.LeakyReLU(0.2)]
            c_in = c_out
        if r != 4:  # postpool, or a side that is not a power of two (e.g. 24 -> 6)
            layers.append(nn.AdaptiveAvgPool2d(4))
        self.frontend = {"pixels": nn.Identity(), "highpass": HighPass(),
                         "constrained": ConstrainedConv2d(3, 3),
                         "residual": nn.Identity()}[frontend]
        self.unshuffle = nn.PixelUnshuffle(f) if f > 1 else nn.Identity()
        self.features = nn.Sequential(*layers)
        self.fingerprint = nn.Sequential(nn.Flatten(), nn.Linear(c_in * 16, 512), nn.LeakyReLU(0.2))
        self.classifier = nn.Linear(512, n_classes)
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)) and not isinstance(
                module, ConstrainedConv2d
            ):
                # He initialisation for LeakyReLU(0.2): the authors' ProGAN-based code
                # scales weights by He's constant; torch's default init starts the
                # deep, normalisation-free stack on a long loss plateau.
                nn.init.kaiming_normal_(module.weight, a=0.2, nonlinearity="leaky_relu")
                nn.init.zeros_(module.bias)

    def _prepare(self, x):
        x = self.unshuffle(self.frontend(x))
        if self.variant in ("predownsample", "predownsample_residual"):
            for _ in range(self.pre_steps):
                x = _blur_down(x)
            if self.variant == "predownsample_residual":
                low = F.interpolate(_blur_down(x), scale_factor=2, mode="nearest")
                x = x - low
        return x

    def embed(self, x):
        """The 512-d image fingerprint of each input (``(n, 3, H, W)`` in [-1, 1])."""
        return self.fingerprint(self.features(self._prepare(x)))

    def forward(self, x):
        """Class logits."""
        return self.classifier(self.embed(x))
