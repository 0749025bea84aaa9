"""numpy.linalg's array-API functions: ``cross``, ``diagonal``, ``matmul``,
``outer``, ``tensordot``, ``trace``, ``vecdot`` and ``matrix_transpose``.

They are separate functions from NumPy's namespace-level ones of the same
name, with the array API's signatures (positional-only arrays, keyword-only
options) and its conventions: ``diagonal`` and ``trace`` act on the last two
axes, ``outer`` takes only vectors, ``cross`` only 3-vectors.  Each is NumPy's
own definition written on the top-level function, which dispatches into
dualad; only NumPy's ``np.asanyarray`` of the arguments is left out (it
cannot hold a traced value), so a list argument is converted explicitly.
"""

from __future__ import annotations

import numpy as np

from ..core import Box, ndim_of, shape_of
from ..extend import register


def _array(x):
    return x if isinstance(x, Box) else np.asanyarray(x)


def _cross(x1, x2, /, *, axis=-1):
    x1, x2 = _array(x1), _array(x2)
    if shape_of(x1)[axis] != 3 or shape_of(x2)[axis] != 3:
        raise ValueError(
            "Both input arrays must be (arrays of) 3-dimensional vectors, but they are "
            f"{shape_of(x1)[axis]} and {shape_of(x2)[axis]} dimensional instead.")
    return np.cross(x1, x2, axis=axis)


def _outer(x1, x2, /):
    x1, x2 = _array(x1), _array(x2)
    if ndim_of(x1) != 1 or ndim_of(x2) != 1:
        raise ValueError("Input arrays must be one-dimensional, but they are "
                         f"x1.ndim={ndim_of(x1)} and x2.ndim={ndim_of(x2)}.")
    return np.outer(x1, x2)


def _diagonal(x, /, *, offset=0):
    return np.diagonal(x, offset, axis1=-2, axis2=-1)


def _trace(x, /, *, offset=0, dtype=None):
    return np.trace(x, offset, axis1=-2, axis2=-1, dtype=dtype)


def _matmul(x1, x2, /):
    return np.matmul(x1, x2)


def _tensordot(x1, x2, /, *, axes=2):
    return np.tensordot(x1, x2, axes=axes)


def _vecdot(x1, x2, /, *, axis=-1):
    return np.vecdot(x1, x2, axis=axis)


def _matrix_transpose(x, /):
    return np.matrix_transpose(x)


register(np.linalg.cross, _cross)
register(np.linalg.outer, _outer)
register(np.linalg.diagonal, _diagonal)
register(np.linalg.trace, _trace)
register(np.linalg.matmul, _matmul)
register(np.linalg.tensordot, _tensordot)
register(np.linalg.vecdot, _vecdot)
register(np.linalg.matrix_transpose, _matrix_transpose)
