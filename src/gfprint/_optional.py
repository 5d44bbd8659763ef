"""Optional dependencies: one place that says what to install when one is missing."""

from __future__ import annotations

import importlib

__all__ = ["require"]

_EXTRA = {"torch": "nn", "skorch": "nn", "matplotlib": "plot", "skimage": "zoo"}


def require(*modules: str, what: str, extra: str | None = None):
    """Import ``modules`` or raise an ImportError naming the extra that installs them.

    Parameters
    ----------
    *modules : str
        Top-level module names, e.g. ``"torch"``.
    what : str
        What needs them, for the message (e.g. ``"gfprint.nn"``).
    extra : str, default=None
        The extra to name in the message; ``None`` names the one that installs the
        missing module.

    Returns
    -------
    module : module
        The first module.

    Examples
    --------
    >>> from gfprint._optional import require
    >>> require("numpy", what="this example").__name__
    'numpy'
    """
    loaded = []
    for name in modules:
        try:
            loaded.append(importlib.import_module(name))
        except ImportError as exc:
            name_extra = extra or _EXTRA.get(name, name)
            raise ImportError(
                f"{what} needs {name}, which is not installed: pip install 'gfprint[{name_extra}]'"
            ) from exc
    return loaded[0]
