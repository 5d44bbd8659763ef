"""Parameter validation for estimators and public functions, on public APIs only.

scikit-learn's own machinery (``sklearn.utils._param_validation``, ``_fit_context``)
is private and may change in any release, so gfprint states its constraints with the
small set of classes below, in the same spirit:

- an estimator lists ``_parameter_constraints = {name: [constraint, ...]}`` and its
  ``fit`` is decorated with :func:`fit_context` (the parameters are checked before
  fitting, so ``Estimator(sigma=-5)`` is refused at ``fit`` as scikit-learn does);
- a public function is decorated with :func:`validate_params`.

A constraint is one of: ``None`` (the value ``None``), a type (``isinstance``), an
:class:`Interval`, :class:`StrOptions`, :class:`HasMethods`, or one of the strings
``"boolean"``, ``"random_state"``, ``"verbose"``, ``"array-like"``, ``"callable"``;
the constraint ``"no_validation"`` (instead of a list) skips the parameter.
A value is accepted when it satisfies any constraint of its list; otherwise
:class:`gfprint.exceptions.InvalidParameterError` names the parameter, the owner,
what was expected and what was given.
"""

from __future__ import annotations

import functools
import inspect
import math
from numbers import Integral, Real

import numpy as np

from .exceptions import InvalidParameterError

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "check_parameters",
    "fit_context",
    "validate_params",
]


class Interval:
    """Numbers of ``type`` (``Integral`` or ``Real``) between ``left`` and ``right``.

    ``None`` for a bound means unbounded; ``closed`` is ``"left"``, ``"right"``,
    ``"both"`` or ``"neither"``. Booleans are never numbers here, and a real interval
    accepts integers.

    Examples
    --------
    >>> from numbers import Integral
    >>> Interval(Integral, 1, None, closed="left").is_satisfied_by(3)
    True
    >>> str(Interval(Integral, 1, None, closed="left"))
    'an int in the range [1, inf)'
    """

    def __init__(self, type, left, right, *, closed):
        if type not in (Integral, Real):
            raise TypeError("Interval type must be numbers.Integral or numbers.Real.")
        if closed not in ("left", "right", "both", "neither"):
            raise ValueError(f"closed must be left, right, both or neither, got {closed!r}.")
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def is_satisfied_by(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.type):
            return False
        if isinstance(value, Real) and math.isnan(value):
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self):
        kind = "an int" if self.type is Integral else "a float"
        lo = "-inf" if self.left is None else self.left
        hi = "inf" if self.right is None else self.right
        left = "[" if self.closed in ("left", "both") and self.left is not None else "("
        right = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        return f"{kind} in the range {left}{lo}, {hi}{right}"


class StrOptions:
    """One of a set of strings.

    Examples
    --------
    >>> str(StrOptions({"ncc", "pce"}))
    "a str among {'ncc', 'pce'}"
    """

    def __init__(self, options, *, description=None):
        self.options = frozenset(options)
        self.description = description

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, str) and value in self.options

    def __str__(self):
        if self.description:
            return f"a str among {self.description}"
        return "a str among {" + ", ".join(repr(o) for o in sorted(self.options)) + "}"


class HasMethods:
    """Any object with the named methods (e.g. an estimator: ``["fit", "predict"]``)."""

    def __init__(self, methods):
        self.methods = [methods] if isinstance(methods, str) else list(methods)

    def is_satisfied_by(self, value) -> bool:
        return all(callable(getattr(value, m, None)) for m in self.methods)

    def __str__(self):
        return "an object implementing " + ", ".join(repr(m) for m in self.methods)


def _satisfies(constraint, value) -> bool:
    if constraint is None:
        return value is None
    if isinstance(constraint, type):
        if constraint in (Integral, Real) and isinstance(value, (bool, np.bool_)):
            return False
        return isinstance(value, constraint)
    if isinstance(constraint, str):
        if constraint == "boolean":
            return isinstance(value, (bool, np.bool_))
        if constraint == "random_state":
            # As scikit-learn's check_random_state, which every user of it calls: a
            # numpy Generator is not a RandomState and is refused here.
            return value is None or isinstance(value, np.random.RandomState) or (
                isinstance(value, Integral) and not isinstance(value, bool)
                and 0 <= value < 2**32)
        if constraint == "verbose":
            return isinstance(value, (Integral, np.bool_))
        if constraint == "array-like":  # as scikit-learn's: a string is not one
            return (hasattr(value, "__len__") or hasattr(value, "shape")
                    or hasattr(value, "__array__")) and not np.isscalar(value)
        if constraint == "callable":
            return callable(value)
        raise ValueError(f"unknown constraint {constraint!r}")
    return constraint.is_satisfied_by(value)


def _describe(constraint) -> str:
    if constraint is None:
        return "None"
    if isinstance(constraint, type):
        return {Integral: "an int", Real: "a float"}.get(
            constraint, f"an instance of {constraint.__name__!r}"
        )
    return {
        "boolean": "a bool",
        "random_state": "an int in [0, 2**32), a numpy RandomState or None",
        "verbose": "an int or a bool",
        "array-like": "an array-like",
        "callable": "a callable",
    }.get(constraint, str(constraint))


def check_parameters(params: dict, constraints: dict, owner: str) -> None:
    """Raise InvalidParameterError for the first value of ``params`` its constraints refuse.

    Examples
    --------
    >>> from numbers import Real
    >>> c = {"sigma": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})]}
    >>> check_parameters({"sigma": 3.0}, c, "f")
    >>> check_parameters({"sigma": -5}, c, "f")
    Traceback (most recent call last):
    ...
    gfprint.exceptions.InvalidParameterError: The 'sigma' parameter of f must be a float \
in the range (0, inf) or a str among {'auto'}. Got -5 instead.
    """
    for name, allowed in constraints.items():
        if allowed == "no_validation" or name not in params:
            continue
        value = params[name]
        if any(_satisfies(c, value) for c in allowed):
            continue
        wanted = [_describe(c) for c in allowed]
        text = wanted[0] if len(wanted) == 1 else ", ".join(wanted[:-1]) + " or " + wanted[-1]
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be {text}. Got {value!r} instead."
        )


def validate_parameters(estimator) -> None:
    """Check an estimator's ``get_params(deep=False)`` against its constraints."""
    check_parameters(
        estimator.get_params(deep=False),
        getattr(estimator, "_parameter_constraints", {}),
        type(estimator).__name__,
    )


def fit_context(fit_method):
    """Decorate ``fit`` (or ``partial_fit``): parameters are validated before it runs."""

    @functools.wraps(fit_method)
    def wrapper(estimator, *args, **kwargs):
        validate_parameters(estimator)
        return fit_method(estimator, *args, **kwargs)

    return wrapper


def validate_params(constraints: dict):
    """Decorate a public function: its arguments are checked against ``constraints``.

    Examples
    --------
    >>> from numbers import Integral
    >>> @validate_params({"n": [Interval(Integral, 1, None, closed="left")]})
    ... def twice(n):
    ...     return 2 * n
    >>> twice(2)
    4
    >>> twice(0)
    Traceback (most recent call last):
    ...
    gfprint.exceptions.InvalidParameterError: The 'n' parameter of twice must be an int \
in the range [1, inf). Got 0 instead.
    """

    def decorate(func):
        signature = inspect.signature(func)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise ValueError(f"constraints for parameters {func.__name__} lacks: {unknown}")

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            check_parameters(bound.arguments, constraints, func.__qualname__)
            return func(*args, **kwargs)

        return wrapper

    return decorate
