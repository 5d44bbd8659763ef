"""Numba kernels: arithmetic only.

No validation, no allocation policy (callers pass the output arrays), never writes to
an input. Every kernel is ``@njit(cache=True, nogil=True)``, compiled lazily on first
call, without ``fastmath``. Nothing here imports the rest of gfprint.
"""
