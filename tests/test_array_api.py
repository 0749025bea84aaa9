"""numpy.linalg's array-API functions (dualad/rules/array_api.py): NumPy's
values, their derivatives by finite differences, NumPy's errors.

``HONOURED`` (read by tests/test_keywords.py) lists sample calls for every
parameter."""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads

rng = np.random.default_rng(7)
A3 = rng.uniform(-1, 1, (3,))
B3 = rng.uniform(-1, 1, (3,))
A23 = rng.uniform(-1, 1, (2, 3))
B23 = rng.uniform(-1, 1, (2, 3))
A32 = rng.uniform(-1, 1, (3, 2))
A233 = rng.uniform(-1, 1, (2, 3, 3))
A34 = rng.uniform(-1, 1, (3, 4))
A43 = rng.uniform(-1, 1, (4, 3))
I23 = np.array([[1, 2, 0], [3, -1, 2]])

HONOURED = {
    np.linalg.cross: {
        "x1": [((A3, B3), {}), ((A23, B3), {}), ((A23.astype(np.float32), B23), {})],
        "x2": [((A3, B23), {}), ((A23, B23), {})],
        "axis": [((A32, A32[::-1]), {"axis": 0}), ((A23, B23), {"axis": -1})],
    },
    np.linalg.outer: {"x1": [((A3, B3[:2]), {}), ((I23[0], A3), {})], "x2": [((A3, B3), {})]},
    np.linalg.diagonal: {
        "x": [((A23,), {}), ((A233,), {})],
        "offset": [((A233,), {"offset": 1}), ((A34,), {"offset": -2})],
    },
    np.linalg.trace: {
        "x": [((A233,), {}), ((A34,), {})],
        "offset": [((A233,), {"offset": -1}), ((A34,), {"offset": 2})],
        "dtype": [((A233,), {"dtype": np.float32}), ((A34,), {"dtype": np.complex128})],
    },
    np.linalg.matmul: {"x1": [((A23, A32), {}), ((A233, A3), {})], "x2": [((A3, A34), {})]},
    np.linalg.tensordot: {
        "x1": [((A23, B23), {})], "x2": [((A34, A43), {"axes": 1})],
        "axes": [((A23, A32), {"axes": 1}), ((A23, A32), {"axes": ([0, 1], [1, 0])}),
                 ((A3, B3), {"axes": 0})],
    },
    np.linalg.vecdot: {
        "x1": [((A23, B23), {}), ((A233, A3), {})], "x2": [((A3, A23), {})],
        "axis": [((A23, B23), {"axis": 0}), ((A233, A233), {"axis": -2})],
    },
    np.linalg.matrix_transpose: {"x": [((A23,), {}), ((A233,), {})]},
    np.linalg.matrix_rank: {
        "A": [((A233,), {}), ((np.outer(A3, B3),), {})],
        "tol": [((A34,), {"tol": 0.1})], "hermitian": [((A233 + A233.transpose(0, 2, 1),), {"hermitian": True})],
        "rtol": [((A34,), {"rtol": 1e-3})],
    },
}


def test_values_and_derivatives_of_the_last_two_axes():
    for f in (lambda x: np.linalg.diagonal(x, offset=1), lambda x: np.linalg.trace(x, offset=-1)):
        np.testing.assert_array_equal(ad.jvp(f, (A233,), (A233,))[0], f(A233))
        check_grads(f, (A233,), order=2)
    # NumPy's namespace functions act on the first two axes: not the same function
    assert np.linalg.trace(A233).shape == (2,) and np.trace(A233).shape == (3,)


def test_cross_and_outer_refuse_what_numpy_refuses():
    for f, args in [(np.linalg.cross, (A23[:, :2], A23[:, :2])), (np.linalg.outer, (A23, A3))]:
        with pytest.raises(ValueError) as numpy_error:
            f(*args)
        with pytest.raises(ValueError) as traced_error:
            ad.jvp(lambda a: f(a, args[1]), (args[0],), (args[0],))
        assert str(traced_error.value) == str(numpy_error.value)


def test_lists_are_converted_as_numpy_does():
    f = lambda x: np.linalg.outer(x, [1.0, 2.0]) + np.linalg.cross([0.5, 1.0, 2.0], x[:3])[:, None]
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(ad.jvp(f, (x,), (x,))[0], f(x))
    check_grads(f, (x,), order=2)
