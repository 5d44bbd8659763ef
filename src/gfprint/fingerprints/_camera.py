"""Camera identification with the MLE fingerprint and the optimal detector (Chen et al.)."""

from __future__ import annotations

import os
from dataclasses import fields
from numbers import Integral, Real

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_consistent_length, column_or_1d

from .._param_validation import Interval, StrOptions, validate_params
from .._validation import ImageSet, check_fitted, check_images, iter_batches
from ..localization import _check_window
from ..metrics import FingerprintMatch, match_fingerprints, ncc, pce
from ..residuals._extract import CAMERA_SETTING, ResidualConfig, mle_terms
from ..residuals._filters import rgb_to_gray
from ._classifier import _LOCALIZE_CONSTRAINTS, PRNUFingerprintClassifier, _py

__all__ = ["CameraFingerprintClassifier"]


class CameraFingerprintClassifier(PRNUFingerprintClassifier):
    """Camera identification from images: MLE fingerprints and Chen et al.'s detector.

    The camera-PRNU method of Chen, Fridrich, Goljan & Lukáš (2008) as in Goljan's
    reference implementation, with images (not residuals) as input:

    - fingerprint of a camera: the maximum-likelihood estimate
      ``K = sum(W_i * I_i) / (sum(I_i**2) + 1)`` over its images, per colour channel,
      with ``W_i`` the wavelet noise of image ``i`` and ``I_i`` its intensity weighted
      by Goljan's ``IntenScale`` and saturation mask; then combined to grey, made
      zero-mean (rows and columns of each CFA sub-grid) and Wiener-filtered in the DFT
      domain (:func:`~gfprint.residuals.estimate_fingerprint` with ``method="mle"``);
    - score of a test image against a camera: the similarity (PCE by default) of the
      image's camera residual ``W`` with ``I * K``, the camera's fingerprint multiplied
      by the image's grey intensity: the detector of Chen et al. (2008, Sec. 4), since
      the PRNU term of an image is ``I * K``.

    ``fit`` takes images of one size; ``partial_fit`` may continue with images of
    other sizes, added at the top-left corner of the (enlarged) canvas, where the
    MLE's denominator counts the images that cover each pixel.

    It is a :class:`PRNUFingerprintClassifier` in all else: thresholds (including
    ``"auto"`` at a false-alarm rate), ``null_class``, ``sources``, ``partial_fit``
    (per-camera running sums), ``save``/``load``. Use :class:`PRNUFingerprintClassifier`
    on residuals for generators (mean fingerprints, Marra et al. 2019).

    Parameters
    ----------
    similarity : {"pce", "ncc"}, default="pce"
        PCE (the camera literature's statistic; its usual decision threshold for
        full-size photographs is 60) or NCC.
    search, scales, refine
        As in :class:`PRNUFingerprintClassifier`: images of another size than the
        fingerprints (crops, resized crops) are scored at their best placement. With
        a search the detector correlates ``I * W`` with ``K`` (Goljan & Fridrich
        2008), the image moving over the fingerprint: the same inner product as
        ``W`` with ``I * K`` at each placement, normalised over the plane.
    threshold, false_alarm_rate, null_class, unknown_label, neighborhood, temperature
        As in :class:`PRNUFingerprintClassifier`.
    batch_size : int, default=16
        Images per batch of work.
    levels : int, default=4
        Wavelet levels of the denoiser (the camera setting).
    sigma : float, default=5.0
        Noise standard deviation assumed by the denoiser, in 8-bit grey levels.
    n_jobs : int, default=None
        Threads for the residuals (joblib).

    Attributes
    ----------
    fingerprints_ : ndarray of float32, shape (n_fingerprints, H, W)
        The MLE fingerprints, after zero-mean and Wiener-DFT.
    classes_, fingerprint_sources_, fingerprint_classes_, n_images_per_class_
        As in :class:`PRNUFingerprintClassifier`.
    image_shape_, n_features_in_, null_scores_, threshold_
        As in :class:`PRNUFingerprintClassifier`; ``image_shape_`` is the images'
        ``(H, W, C)``.

    References
    ----------
    .. [1] M. Chen, J. Fridrich, M. Goljan, J. Lukáš, "Determining image origin and
       integrity using sensor noise", IEEE TIFS 3(1), 2008.
       :doi:`10.1109/TIFS.2007.916285`

    Examples
    --------
    >>> from gfprint.datasets import make_camera_images
    >>> from gfprint.fingerprints import CameraFingerprintClassifier
    >>> cams = make_camera_images(n_cameras=3, n_images=8, shape=(128, 128),
    ...                           random_state=0)
    >>> train = [i for i in range(24) if i % 8 < 6]
    >>> test = [i for i in range(24) if i % 8 >= 6]
    >>> clf = CameraFingerprintClassifier().fit(cams.images[train], cams.target[train])
    >>> clf.fingerprints_.shape
    (3, 128, 128)
    >>> float((clf.predict(cams.images[test]) == cams.target[test]).mean())
    1.0
    """

    _parameter_constraints: dict = {
        **PRNUFingerprintClassifier._parameter_constraints,
        "similarity": [StrOptions({"ncc", "pce"})],
        "levels": [Interval(Integral, 1, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        similarity="pce",
        search="auto",
        scales=None,
        refine=2,
        threshold=None,
        false_alarm_rate=0.01,
        null_class=None,
        unknown_label=None,
        neighborhood=11,
        temperature="auto",
        batch_size=16,
        levels=CAMERA_SETTING["levels"],
        sigma=CAMERA_SETTING["sigma"],
        n_jobs=None,
    ):
        super().__init__(
            similarity=similarity,
            search=search,
            scales=scales,
            refine=refine,
            threshold=threshold,
            false_alarm_rate=false_alarm_rate,
            null_class=null_class,
            unknown_label=unknown_label,
            neighborhood=neighborhood,
            temperature=temperature,
            batch_size=batch_size,
        )
        self.levels = levels
        self.sigma = sigma
        self.n_jobs = n_jobs

    def _config(self):
        return ResidualConfig(**{**CAMERA_SETTING, "levels": self.levels, "sigma": self.sigma})

    # ---------------------------------------------------------------- inputs
    def _images(self, X, reset):
        images = X if isinstance(X, ImageSet) else check_images(X)
        if images.n_channels not in (1, 3):
            raise ValueError(f"images must have 1 or 3 channels, got {images.n_channels}.")
        shape = (images.height, images.width, images.n_channels)
        self._config().check_shape(images.height, images.width)
        if not reset and shape[2] != self.image_shape_[2]:
            raise ValueError(
                f"X has images with {shape[2]} channel(s), but the fingerprints were "
                f"estimated from images with {self.image_shape_[2]}."
            )
        return images

    def _searched_images(self, images):
        size = (images.height, images.width)
        if size != tuple(self.image_shape_[:2]):
            return self._search_for(f"images of {size[0]}x{size[1]} pixels")
        return self._search_for(None)

    @staticmethod
    def _weighted_noise(cfg, img):
        """Residual ``W`` and grey intensity ``I`` of one image."""
        return cfg.residual(img), (rgb_to_gray(img) if img.shape[2] == 3 else img[:, :, 0])

    def match(self, X):
        """Best placement of each image's ``I * W`` on each camera fingerprint ``K``.

        Parameters
        ----------
        X : array-like of shape (n, h, w[, C]) or sequence of path
            Images of one size, any size.

        Returns
        -------
        match : FingerprintMatch
            As :meth:`PRNUFingerprintClassifier.match`.
        """
        check_fitted(self)
        images = self._images(X, reset=False)
        cfg = self._config()

        def batch(stack):
            found = self._match([np.multiply(*self._weighted_noise(cfg, img)) for img in stack])
            return [getattr(found, f.name) for f in fields(FingerprintMatch)]

        parts = [p for _, _, p in iter_batches(
            batch, images, n_jobs=self.n_jobs, batch_size=self.batch_size)]
        return FingerprintMatch(*(np.concatenate(cols) for cols in zip(*parts)))

    @validate_params(_LOCALIZE_CONSTRAINTS)
    def localize(self, X, *, source=None, window=64, expected=None):
        """Where in each image a camera's fingerprint is, and where it is missing.

        The tampering map of Chen et al. (2008): the image's residual ``W`` against
        ``I * K``, with ``K`` the fingerprint of ``source`` (by default each image's
        best match, by the PCE of a search over shifts) and ``I`` the image's grey
        intensity, through :func:`gfprint.localization.localize`. ``1 - probability``
        is the probability that a region did not come from the camera (pasted in,
        generated). Placement: aligned for an image of the fingerprints' size, at the
        best shift (:meth:`match`) for a smaller one.

        Parameters
        ----------
        X : array-like of shape (n, h, w[, C]) or sequence of path
            Images of one size, at most the fingerprints'.
        source : label, default=None
            The camera (a label of ``fingerprint_sources_``) whose fingerprint to
            look for; ``None``: the best match of each image.
        window : int, default=64
            Window side (see :func:`~gfprint.localization.local_ncc`); at most the
            images' smaller side.
        expected : float, default=None
            Mean windowed NCC of the camera's own images, when known; ``None``:
            estimated from each image.

        Returns
        -------
        maps : list of LocalizationMap
            One per image, with ``source`` and ``offset`` filled in.

        Examples
        --------
        A photo of camera 0 with a region pasted from a photo of camera 1:

        >>> import numpy as np
        >>> from gfprint.datasets import make_camera_images
        >>> from gfprint.fingerprints import CameraFingerprintClassifier
        >>> cams = make_camera_images(n_cameras=2, n_images=9, shape=(256, 256),
        ...                           random_state=0)
        >>> train = np.r_[1:9, 10:18]  # images 0 and 9 are left for the test
        >>> clf = CameraFingerprintClassifier().fit(cams.images[train], cams.target[train])
        >>> img = cams.images[0].copy()
        >>> img[64:192, 64:192] = cams.images[9][64:192, 64:192]
        >>> found = clf.localize([img], window=64)[0]
        >>> str(found.source)
        'camera_0'
        >>> tampered = 1 - found.probability
        >>> bool(tampered[96:160, 96:160].mean() > 0.3 and tampered[:32].mean() < 0.05)
        True
        """
        check_fitted(self)
        j = self._source_index(source)
        images = self._images(X, reset=False)
        size = (images.height, images.width)
        if size[0] > self.image_shape_[0] or size[1] > self.image_shape_[1]:
            raise ValueError(
                f"images of {size[0]}x{size[1]} pixels are larger than the camera "
                f"fingerprints ({self.image_shape_[0]}x{self.image_shape_[1]}): no part "
                "of them can be laid on the camera's frame."
            )
        _check_window(window, size)
        cfg = self._config()

        def batch(stack):
            maps = []
            for img in stack:
                w, grey = self._weighted_noise(cfg, img)
                found = match_fingerprints([w * grey], self.fingerprints_,
                                           neighborhood=self.neighborhood)
                maps.append(self._localized(w, grey, found, 0, j, window, expected))
            return maps

        return [m for _, _, part in iter_batches(
            batch, images, n_jobs=self.n_jobs, batch_size=self.batch_size) for m in part]

    def _check_X_y(self, X, y, reset):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        images = self._images(X, reset)
        y = column_or_1d(np.asarray(y), warn=True)
        check_consistent_length(np.empty(images.n_images), y)
        self._unique_labels(y)
        check_classification_targets(y)
        return images, y

    _canvas_arrays = ("_sums", "_den")

    def _init_state(self, classes, image_shape, y=None, sources=None):
        super()._init_state(classes, image_shape, y, sources)
        self._den = np.zeros_like(self._sums)

    # ---------------------------------------------------------------- fitting
    def _accumulate(self, X, y, sources):
        """Add ``W * I`` and ``I**2`` of every image to its source's running sums.

        Images of another size than the fingerprints (``partial_fit``) are added at
        the top-left corner, the canvas enlarged if need be: the MLE's denominator
        counts only the images that cover each pixel.
        """
        cfg = self._config()
        h, w = X.height, X.width
        self._grow_canvas(h, w)
        fp_index = {s: i for i, s in enumerate(_py(self.fingerprint_sources_))}
        self._count_classes(y)
        sources = np.asarray(sources)

        def batch(stack, srcs):
            out = {}
            for img, src in zip(stack, _py(srcs)):
                if src not in fp_index:
                    continue
                weighted, weight_sq = mle_terms(cfg.noise(img), img)
                num, den = out.get(src, (0.0, 0.0))
                out[src] = (num + weighted, den + weight_sq)
            return out

        for _, _, part in iter_batches(
            batch, X, n_jobs=self.n_jobs, batch_size=self.batch_size, extra=sources
        ):
            for src, (num, den) in part.items():
                self._sums[fp_index[src], :h, :w] += num
                self._den[fp_index[src], :h, :w] += den
        for src, count in zip(*np.unique(sources, return_counts=True)):
            key = _py([src])[0]
            if key in fp_index:
                j = fp_index[key]
                self._n_per_fingerprint[j] += count
                if (h, w) != self.image_shape_[:2]:  # a record of the coverage, as in fit
                    self._partial[j, h, w] = self._partial.get((j, h, w), 0) + int(count)
        self._finalize()

    def _finalize(self):
        if not (np.isfinite(self._sums).all() and np.isfinite(self._den).all()):
            raise ValueError("the fingerprint sums are not finite.")
        cfg = self._config()
        self.fingerprints_ = np.stack(
            [cfg.postprocess((n / (d + 1.0)).astype(np.float32))
             for n, d in zip(self._sums, self._den)]
        ) if len(self._sums) else np.empty((0, *self.image_shape_[:2]), np.float32)

    def _fit_from_sums(self, image_shape, y, sources, totals):
        raise ValueError(
            "fit_fingerprints computes mean fingerprints of residuals; fit a "
            "CameraFingerprintClassifier on the images with fit or partial_fit."
        )

    def _extra_state(self):
        return {"camera_den": self._den}

    def _restore_extra_state(self, data, path):
        den = data.get("camera_den")
        if den is None or den.shape != self._sums.shape or den.dtype != np.float64 or not (
            np.isfinite(den).all() and (den >= 0).all()
        ):
            raise ValueError(f"{os.fspath(path)!r} is inconsistent: the MLE denominators are "
                             "missing or do not match the sums.")
        self._den = den

    # ------------------------------------------------------------- predicting
    def similarity_scores(self, X) -> np.ndarray:
        """Similarity of each image's residual ``W`` with ``I * K`` for each camera.

        Parameters
        ----------
        X : array-like of shape (n, H, W[, C]) or sequence of path
            Images of one size: the fingerprints' (aligned detector) or, with a
            search, any.

        Returns
        -------
        scores : ndarray of float64, shape (n, n_fingerprints)
            Columns follow ``fingerprint_sources_``.
        """
        return self._scored(X)[1]

    def _scored(self, X):
        check_fitted(self)
        images = self._images(X, reset=False)
        if self._searched_images(images):
            found, scores = self._with_match(self.match(images))
            shapes = [(images.height, images.width)] * images.n_images
            return found, scores, self._searched_thresholds(shapes)
        fps = self.fingerprints_
        cfg = self._config()

        def batch(stack):
            out = np.empty((len(stack), len(fps)), np.float64)
            for i, img in enumerate(stack):
                w, grey = self._weighted_noise(cfg, img)
                for j, k in enumerate(fps):
                    expected = grey * k  # the PRNU term this camera would leave: I * K
                    if self.similarity == "pce":
                        out[i, j] = pce(w, expected, neighborhood=self.neighborhood)
                    else:
                        out[i, j] = ncc(w[None], expected[None])[0, 0]
            return out

        scores = np.empty((images.n_images, len(fps)), np.float64)
        for s, e, part in iter_batches(batch, images, n_jobs=self.n_jobs,
                                       batch_size=self.batch_size):
            scores[s:e] = part
        return None, scores, None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
