"""Small helpers shared by the command line, the studies and the estimators.

One place each for: the name of the real class, progress bars, atomic writes, the
plain-text confusion table, the read-only views the kernels take and the inverse
real FFT of a spectrum we own.
"""

from __future__ import annotations

import contextlib
import errno
import os

#: The name the built-in zoo and the studies give to real (camera) images.
REAL = "real"
#: Folder names the command line recognises as real images (``0_real``: CNNDetection).
REAL_NAMES = (REAL, "0_real")


def progress(total, desc, *, unit="img", enabled=True):
    """A tqdm progress bar on standard error; a silent one when not ``enabled``."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled)


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yield a temporary name next to ``path``; on success it replaces ``path``.

    An interrupted or failed write leaves the previous file (if any) untouched and
    no temporary file behind. ``suffix`` is appended to the temporary name for
    writers that insist on an extension (``np.savez`` adds ``.npz`` otherwise).
    """
    path = os.fspath(path)
    head, name = os.path.split(path)
    # Said here, about the path asked for: the temporary name would be in the error.
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "is a folder; give a file name", path)
    if not os.path.isdir(head or "."):
        raise FileNotFoundError(errno.ENOENT, "no such folder to write into", head)
    tmp = os.path.join(head, f".{name}.tmp-{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def confusion_table(labels, y_true, y_pred) -> str:
    """A plain-text confusion matrix: rows true, columns predicted (numbered like rows).

    Examples
    --------
    >>> print(confusion_table(["a", "b"], ["a", "b", "b"], ["a", "a", "b"]))
    true / predicted   [0]  [1]
    [0] a                1    0
    [1] b                1    1
    """
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(y_true, y_pred, labels=labels)
    name_w = max(max(len(str(c)) for c in labels) + 5, len("true / predicted") + 1)
    cell_w = max(5, len(str(cm.max())) + 2)
    head = f"{'true / predicted':<{name_w}}" + "".join(
        f"{f'[{j}]':>{cell_w}}" for j in range(len(labels))
    )
    lines = [head]
    for i, (name, row) in enumerate(zip(labels, cm)):
        lines.append(f"{f'[{i}] {name}':<{name_w}}" + "".join(f"{v:>{cell_w}d}" for v in row))
    return "\n".join(lines)


def readonly_view(x):
    """A read-only view of ``x``, the form in which the Numba kernels read their input.

    Numba compiles one variant of a kernel per writeable flag; always passing read-only
    views (memory-mapped arrays are read-only) halves the compilation at first use.
    """
    view = x.view()
    view.flags.writeable = False
    return view


def irfft2_own(spectrum, shape):
    """``scipy.fft.irfft2(spectrum, s=shape)`` over the last two axes, overwriting ``spectrum``.

    ``spectrum`` must be a temporary of the caller's, with ``shape[0]`` rows. The
    inverse runs in two steps, the first in place: ``irfft2`` itself takes a
    spectrum-sized scratch array outside numpy, which costs a page fault per 4 KiB
    (for a 12-megapixel plane 3.1 of 7.5 ns per pixel on the 2-core VM it was
    measured on; the same time at 512x512). Equal to ``irfft2`` up to float32
    rounding (its ``1 / (H W)`` is applied as ``1 / H``, then ``1 / W``): identical
    for power-of-two sizes, within 2.4e-7 of the largest value otherwise.

    >>> import numpy as np, scipy.fft
    >>> x = np.random.default_rng(0).normal(size=(6, 10)).astype(np.float32)
    >>> np.allclose(irfft2_own(scipy.fft.rfft2(x), x.shape), x, atol=1e-6)
    True
    """
    import scipy.fft

    spectrum = scipy.fft.ifft(spectrum, axis=-2, overwrite_x=True)
    return scipy.fft.irfft(spectrum, n=shape[1], axis=-1)
