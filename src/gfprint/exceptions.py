"""Exceptions raised by gfprint."""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = ["GfprintError", "ImageReadError", "NotFittedError"]


class GfprintError(Exception):
    """Base class of the errors that gfprint raises on its own account."""


class ImageReadError(GfprintError, OSError):
    """An image file could not be read or decoded; the message names the file."""


class NotFittedError(GfprintError, _SklearnNotFittedError):
    """An estimator was used before ``fit``.

    Subclasses scikit-learn's :class:`~sklearn.exceptions.NotFittedError`, so
    scikit-learn tooling that catches it keeps working.
    """
