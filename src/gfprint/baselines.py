"""Pixel baselines of Yu et al. (2019, Table 1): kNN on raw pixels and Eigenface."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from ._param_validation import fit_context
from ._validation import check_images
from .exceptions import NotFittedError

__all__ = ["ImageFlattener", "make_eigenface_baseline", "make_knn_baseline"]


class ImageFlattener(TransformerMixin, BaseEstimator):
    """Flatten images to rows of float32 intensities on [0, 1].

    Lets any scikit-learn estimator work on images; the images follow gfprint's
    conventions (uint8, uint16 or float on [0, 1]; arrays or file paths). Nothing is
    learned, but :meth:`fit` records the image shape, and :meth:`transform` then
    refuses images of another shape: their rows would have the same length when the
    pixel counts agree (8x8 and 4x16), and a downstream model would take them
    silently. Unfitted, it flattens any images.

    Attributes
    ----------
    image_shape_ : tuple of int
        ``(H, W, C)`` of the images seen in :meth:`fit` (``C = 1`` for grey).

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.baselines import ImageFlattener
    >>> ImageFlattener().fit_transform(np.full((2, 4, 4, 3), 255, np.uint8)).shape
    (2, 48)
    """

    _parameter_constraints: dict = {}

    @fit_context
    def fit(self, X, y=None):
        """Check that ``X`` holds images; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n, H, W[, C]) or sequence of path
            Images.
        y : None
            Ignored.

        Returns
        -------
        self : ImageFlattener
        """
        images = check_images(X)
        self.image_shape_ = (images.height, images.width, images.n_channels)
        return self

    def transform(self, X):
        """Return ``(n, H * W * C)`` float32 rows on [0, 1].

        Parameters
        ----------
        X : array-like of shape (n, H, W[, C]) or sequence of path
            Images.

        Returns
        -------
        rows : ndarray of float32
        """
        images = check_images(X)
        shape = (images.height, images.width, images.n_channels)
        fitted = getattr(self, "image_shape_", shape)
        if shape != fitted:
            raise ValueError(
                f"X has images of shape {shape} (H, W, C), but ImageFlattener was "
                f"fitted on images of shape {fitted}."
            )
        rows = images.load().reshape(images.n_images, -1)
        rows *= np.float32(1.0 / 255.0)
        return rows

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: ``"y{row}_x{column}_c{channel}"``.

        In the order of :meth:`transform`'s rows (row-major, channels last), so that
        ``set_output(transform="pandas")`` labels each column with its pixel.

        Parameters
        ----------
        input_features : None
            Images have no input feature names; only ``None`` is accepted.

        Returns
        -------
        feature_names_out : ndarray of str objects

        Examples
        --------
        >>> import numpy as np
        >>> from gfprint.baselines import ImageFlattener
        >>> ImageFlattener().fit(np.zeros((1, 2, 2), np.uint8)).get_feature_names_out()
        array(['y0_x0_c0', 'y0_x1_c0', 'y1_x0_c0', 'y1_x1_c0'], dtype=object)
        """
        if not hasattr(self, "image_shape_"):  # transform works unfitted; names do not
            raise NotFittedError(
                "This ImageFlattener has not seen images yet: call fit first, which "
                "records the image shape the names describe."
            )
        if input_features is not None:
            raise ValueError(
                "ImageFlattener takes images, which have no input feature names; "
                f"input_features must be None, got {input_features!r}."
            )
        h, w, c = self.image_shape_
        return np.array(
            [f"y{i}_x{j}_c{k}" for i in range(h) for j in range(w) for k in range(c)],
            dtype=object,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags


def make_knn_baseline(*, n_neighbors=1):
    """k-nearest-neighbour classification on raw pixels.

    Parameters
    ----------
    n_neighbors : int, default=1
        Neighbours that vote.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        ``ImageFlattener`` then ``KNeighborsClassifier``.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.baselines import make_knn_baseline
    >>> X = np.stack([np.zeros((4, 4), np.uint8), np.full((4, 4), 255, np.uint8)])
    >>> make_knn_baseline().fit(X, ["dark", "bright"]).predict(X).tolist()
    ['dark', 'bright']
    """
    _check_positive_int(n_neighbors, "n_neighbors")
    return Pipeline(
        [("flatten", ImageFlattener()), ("knn", KNeighborsClassifier(n_neighbors=n_neighbors))]
    )


def make_eigenface_baseline(*, n_components=64, n_neighbors=1, random_state=None):
    """Eigenface (Sirovich & Kirby 1987): PCA of the pixels, then nearest neighbours.

    Parameters
    ----------
    n_components : int, default=64
        Principal components kept (at most the number of training images).
    n_neighbors : int, default=1
        Neighbours that vote in the PCA space.
    random_state : int, RandomState instance or None, default=None
        Passed to PCA (randomised SVD on large inputs).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        ``ImageFlattener``, ``PCA``, ``KNeighborsClassifier``.

    Examples
    --------
    >>> import numpy as np
    >>> from gfprint.baselines import make_eigenface_baseline
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, (10, 8, 8), dtype=np.uint8)
    >>> y = np.repeat(["a", "b"], 5)
    >>> make_eigenface_baseline(n_components=4).fit(X, y).score(X, y)
    1.0
    """
    _check_positive_int(n_components, "n_components")
    _check_positive_int(n_neighbors, "n_neighbors")
    return Pipeline(
        [
            ("flatten", ImageFlattener()),
            ("pca", PCA(n_components=n_components, random_state=random_state)),
            ("knn", KNeighborsClassifier(n_neighbors=n_neighbors)),
        ]
    )


def _check_positive_int(value, name):
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")

