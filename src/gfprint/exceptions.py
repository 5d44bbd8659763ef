"""Exceptions raised by gfprint."""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = ["GfprintError", "ImageReadError", "InvalidParameterError", "NotFittedError"]


class GfprintError(Exception):
    """Base class of the errors that gfprint raises on its own account.

    Examples
    --------
    >>> from gfprint.exceptions import GfprintError, ImageReadError, NotFittedError
    >>> issubclass(ImageReadError, GfprintError), issubclass(NotFittedError, GfprintError)
    (True, True)
    """


class ImageReadError(GfprintError, OSError):
    """An image file could not be read or decoded; the message names the file.

    Examples
    --------
    >>> from gfprint._validation import read_image
    >>> from gfprint.exceptions import ImageReadError
    >>> try:
    ...     read_image("no-such-file.png")
    ... except ImageReadError as exc:
    ...     print(type(exc).__name__, isinstance(exc, OSError))
    ImageReadError True
    """


class InvalidParameterError(GfprintError, ValueError, TypeError):
    """A parameter of an estimator or a function has a value it does not accept.

    Subclasses ValueError and TypeError, as scikit-learn's error of the same name, so
    code that catches either keeps working.

    Examples
    --------
    >>> from gfprint import ResidualExtractor
    >>> from gfprint.exceptions import InvalidParameterError
    >>> import numpy as np
    >>> try:
    ...     ResidualExtractor(sigma=-5).fit(np.zeros((1, 32, 32, 3), np.uint8))
    ... except InvalidParameterError as exc:
    ...     print(exc)  # doctest: +ELLIPSIS
    The 'sigma' parameter of ResidualExtractor must be a float in the range (0, inf) ...
    """


class NotFittedError(GfprintError, _SklearnNotFittedError):
    """An estimator was used before ``fit``.

    Subclasses scikit-learn's :class:`~sklearn.exceptions.NotFittedError`, so
    scikit-learn tooling that catches it keeps working.

    Examples
    --------
    >>> import sklearn.exceptions
    >>> from gfprint.exceptions import NotFittedError
    >>> issubclass(NotFittedError, sklearn.exceptions.NotFittedError)
    True
    >>> try:
    ...     raise NotFittedError("call fit first")
    ... except sklearn.exceptions.NotFittedError as exc:
    ...     print(type(exc).__name__)
    NotFittedError
    """
