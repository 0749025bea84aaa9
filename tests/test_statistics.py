"""cumprod, median, percentile, quantile (dualad/rules/statistics.py).

``HONOURED`` (imported by tests/test_keywords.py) lists each honoured
NumPy parameter with sample calls; the walker checks their values against
NumPy's and their derivatives by finite differences, and checks that every
other parameter is refused by name.  The named tests below pin the edge
inputs: zeros in cumprod (exact, no division), complex cumprod, against
hand-computed derivatives.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads

X23 = np.array([[1.3, -0.4, 2.2], [0.7, 1.9, -1.1]])
X4 = np.array([0.6, -1.2, 2.3, 0.9])
X232 = np.array([[[0.3, 1.6], [-0.8, 2.1], [1.2, -1.7]],
                 [[0.4, -0.2], [1.1, 0.8], [-1.4, 2.6]]])
Z23 = np.array([[1.3, 0.0, 2.2], [0.0, 1.9, 0.0]])  # zeros: the no-division path

HONOURED = {
    np.cumprod: {
        "a": [((X23,), {}), ((X4,), {}), ((Z23,), {}), ((X4 + 1j * X4[::-1],), {})],
        "axis": [((X23,), {"axis": 0}), ((X23,), {"axis": 1}), ((Z23,), {"axis": -1}),
                 ((X232,), {"axis": -2}), ((X23,), {"axis": None}),
                 ((X23,), {"axis": np.int64(1)})],
        "dtype": [((X23,), {"dtype": np.float32}), ((X23,), {"dtype": np.float32, "axis": 0}),
                  ((X23,), {"dtype": int, "axis": 1}), ((X23,), {"dtype": np.complex128})],
    },
}


# ---- cumprod ------------------------------------------------------------------------
def test_cumprod_with_zeros_is_exact():
    # sum(cumprod(x)) = x0 + x0 x1 + x0 x1 x2: at [2, 0, 3] the gradient is
    # [1 + x1 + x1 x2, x0 + x0 x2, x0 x1] = [1, 8, 0]; Hessian by hand
    f = lambda x: np.sum(np.cumprod(x))
    x = np.array([2.0, 0.0, 3.0])
    for g in (ad.grad(f)(x), ad.jacfwd(f)(x)):
        np.testing.assert_allclose(g, [1.0, 8.0, 0.0], rtol=0, atol=1e-15)
    H = np.array([[0.0, 1 + 3.0, 0.0], [4.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
    np.testing.assert_allclose(ad.hessian(f)(x), H, rtol=0, atol=1e-15)
    assert np.all(np.isfinite(ad.jacrev(np.cumprod)(np.zeros(4))))


@pytest.mark.parametrize("x", [np.zeros(3), np.array([0.0, 0.0, 1.5, -2.0]),
                               np.array([[0.0, 1.2, -0.7], [1.1, 0.0, 0.0]])])
def test_cumprod_with_zeros_passes_finite_differences(x):
    check_grads(lambda x: np.cumprod(x, axis=-1) ** 2 + np.cumprod(x[..., ::-1], axis=0),
                (x,), order=2, modes=("fwd", "rev"))


def test_cumprod_of_complex_values():
    z = np.array([1 + 1j, 0.0, 2 - 1j])
    value, tangent = ad.jvp(np.cumprod, (z,), (np.ones(3, complex),))
    np.testing.assert_array_equal(value, np.cumprod(z))
    # d out = [t0, x1 t0 + x0 t1, (x1 x2 + x0 x2 + x0 x1) t] at t = 1
    np.testing.assert_allclose(tangent, [1, 1 + 1j, (1 + 1j) * (2 - 1j)], atol=1e-15)


def test_cumprod_refuses_out():
    with pytest.raises(TypeError, match="out"):
        ad.grad(lambda x: np.sum(np.cumprod(x, out=np.empty(3))))(np.ones(3))
