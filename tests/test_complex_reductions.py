"""Reductions of complex arguments: NumPy's value and dtype, derivatives by
finite differences at order 2 in both modes, and hand-worked gradients.

The convention (JAX's, HIPS autograd's): a pullback is the transpose of the
JVP under ``Re Σ u·v``; for a real ``u`` of ``z = x + iy``,
``grad u = ∂u/∂x − i ∂u/∂y``.  ``sum``, ``mean``, ``prod`` and ``cumsum``
are holomorphic; ``var`` and ``std`` of a complex input are real
(``var = mean(|z − m|²)``, whose gradient is ``2 conj(z − m) / N'``);
``max``/``min`` order complex values lexicographically, as NumPy does.
Expected values below are worked out by hand, never produced by dualad.

``HONOURED`` (read by tests/test_keywords.py) lists calls with complex
arguments and complex ``dtype=`` for each keyword.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads

# ---- inputs (away from ties and zeros) --------------------------------------------------
Z23 = np.array([[1.3 - 0.4j, -0.4 + 1.1j, 2.2 + 0.3j], [0.7 + 1.6j, 1.9 - 0.9j, -1.1 - 0.2j]])
Z4 = np.array([0.6 + 0.5j, -1.2 + 0.1j, 2.3 - 1.4j, 0.9 + 0.8j])
Z232 = np.array([[[0.3 + 0.2j, 1.6 - 0.7j], [-0.8 + 0.4j, 2.1 + 0.1j], [1.2 - 1.3j, -1.7 + 0.6j]],
                 [[0.4 - 0.9j, -0.2 + 1.2j], [1.1 + 0.5j, 0.8 - 0.3j], [-1.4 + 0.7j, 2.6 + 0.2j]]])
X23 = np.array([[1.3, -0.4, 2.2], [0.7, 1.9, -1.1]])
M23 = np.array([[True, False, True], [False, True, True]])
M3 = np.array([True, False, True])
MEAN_ROWS = np.array([[0.5 + 0.5j], [-0.2 + 1.0j]])  # a given mean=, not the rows' own


def _common(z):
    """Calls every reduction takes: complex input, axis, keepdims."""
    return {
        "a": [((z,), {}), ((Z4,), {}), ((z.astype(np.complex64),), {})],
        "axis": [((z,), {"axis": 1}), ((z,), {"axis": (0, 1)}), ((Z232,), {"axis": (2, 0)})],
        "keepdims": [((z,), {"axis": 0, "keepdims": True}), ((Z232,), {"keepdims": True})],
    }


def _dtypes(z):
    return [((z,), {"dtype": np.complex64}), ((X23,), {"dtype": complex}),
            ((X23.astype(np.float32),), {"dtype": np.complex64, "axis": 0}),
            ((z.astype(np.complex64),), {"dtype": np.complex128})]


def _sum_like(z):
    return {**_common(z), "dtype": _dtypes(z),
            "initial": [((z,), {"initial": 1.5 - 0.5j}), ((z,), {"initial": 2.0, "axis": 1})],
            "where": [((z,), {"where": M23}), ((z,), {"where": M3, "axis": 1})]}


def _spread(z):
    return {**_common(z), "dtype": _dtypes(z),
            "ddof": [((z,), {"ddof": 1}), ((z,), {"ddof": 1, "axis": 1})],
            "correction": [((z,), {"correction": 1, "axis": 0})],
            "where": [((z,), {"where": M23}), ((z,), {"where": M23, "axis": 1, "ddof": 1})],
            "mean": [((z,), {"axis": 1, "keepdims": True, "mean": MEAN_ROWS}),
                     ((X23,), {"axis": 1, "keepdims": True, "mean": MEAN_ROWS})]}


def _extremum(z):
    return {**_common(z),
            "initial": [((z,), {"initial": 1.5 + 9.0j, "axis": 1})],
            "where": [((z,), {"where": M23, "initial": -5.0})]}


HONOURED = {
    np.sum: _sum_like(Z23),
    np.prod: _sum_like(Z23),
    np.mean: {**_common(Z23), "dtype": _dtypes(Z23), "where": [((Z23,), {"where": M23})]},
    np.var: _spread(Z23),
    np.std: _spread(Z23),
    np.cumsum: {"a": [((Z23,), {}), ((Z4,), {})], "axis": [((Z23,), {"axis": 1})],
                "dtype": [((Z23,), {"dtype": np.complex64}), ((X23,), {"dtype": complex})]},
    np.max: _extremum(Z23), np.amax: _extremum(Z23),
    np.min: _extremum(Z23), np.amin: _extremum(Z23),
}


def _assert_numpy_value(fn, args, kwargs):
    expected = fn(*args, **kwargs)
    value, _ = ad.jvp(lambda *xs: fn(*xs, **kwargs), args, tuple(np.ones_like(a) for a in args))
    value, expected = np.asarray(value), np.asarray(expected)
    assert value.dtype == expected.dtype and value.shape == expected.shape
    tol = 1e-12 if expected.dtype in (np.float64, np.complex128) else 2e-6
    np.testing.assert_allclose(value, expected, rtol=tol, atol=tol)


CALLS = [(fn, param, i, call) for fn, params in HONOURED.items()
         for param, calls in params.items() for i, call in enumerate(calls)]


@pytest.mark.parametrize("fn, param, i, call", CALLS,
                         ids=[f"{fn.__name__}-{p}-{i}" for fn, p, i, _ in CALLS])
def test_numpys_value_and_order_2_derivatives(fn, param, i, call):
    args, kwargs = call
    _assert_numpy_value(fn, args, kwargs)
    wide = (np.float64, np.complex128)  # finite differences in single precision are too coarse
    if all(a.dtype in wide for a in args) and np.result_type(fn(*args, **kwargs)) in wide:
        check_grads(lambda *xs: fn(*xs, **kwargs), args, order=2)


def test_var_and_std_of_complex_input_are_real():
    for fn in (np.var, np.std):
        for z in (Z23, Z23.astype(np.complex64)):
            value, tangent = ad.jvp(fn, (z,), (np.ones_like(z) * (1 + 2j),))
            assert np.isrealobj(value) and value.dtype == np.finfo(z.dtype).dtype
            assert np.isrealobj(tangent)
            g = ad.grad(fn)(z)
            assert g.dtype == z.dtype


@pytest.mark.parametrize("kwargs, n_eff", [({}, 6), ({"ddof": 1}, 5), ({"correction": 2}, 4)])
def test_grad_of_var_is_twice_the_conjugate_deviation(kwargs, n_eff):
    # var = Σ |z - m|² / N'; its gradient 2 conj(z - m) / N' (Σ (z - m) = 0
    # cancels the mean's own dependence on z)
    m = Z23.mean()
    np.testing.assert_allclose(np.var(Z23, **kwargs), np.sum(np.abs(Z23 - m) ** 2) / n_eff)
    g = ad.grad(lambda z: np.var(z, **kwargs))(Z23)
    np.testing.assert_allclose(g, 2 * np.conj(Z23 - m) / n_eff, rtol=1e-13)
    # std = sqrt(var): its gradient that of var over 2 std
    s = np.sqrt(np.sum(np.abs(Z23 - m) ** 2) / n_eff)
    g = ad.grad(lambda z: np.std(z, **kwargs))(Z23)
    np.testing.assert_allclose(g, np.conj(Z23 - m) / (n_eff * s), rtol=1e-13)


def test_grad_of_var_along_an_axis_with_a_mask():
    # rows: entries where M23 is True; N' = 2 in each row
    g = ad.grad(lambda z: np.sum(np.var(z, axis=1, where=M23) * np.array([1.0, 3.0])))(Z23)
    expected = np.zeros_like(Z23)
    for r, weight in enumerate((1.0, 3.0)):
        sel = M23[r]
        m = Z23[r, sel].mean()
        expected[r, sel] = weight * 2 * np.conj(Z23[r, sel] - m) / 2
    np.testing.assert_allclose(g, expected, rtol=1e-13, atol=1e-15)


def test_var_with_a_given_mean_keeps_the_means_derivative():
    # var(z, mean=c) = Σ |z - c|² / N: ∂/∂z = 2 conj(z - c) / N, ∂/∂c = -Σ 2 conj(z - c) / N
    c = np.array([0.5 + 0.5j])
    gz, gc = ad.grad(lambda z, c: np.var(z, mean=c), argnums=(0, 1))(Z4, c)
    np.testing.assert_allclose(gz, 2 * np.conj(Z4 - c) / 4, rtol=1e-13)
    np.testing.assert_allclose(gc, [-np.sum(2 * np.conj(Z4 - c) / 4)], rtol=1e-13)
    check_grads(lambda z, c: np.var(z, mean=c), (Z4, c), order=2)
    check_grads(lambda z, c: np.std(z, mean=c), (Z4, c), order=2)


def test_a_real_input_with_a_complex_mean_squares_without_conjugating():
    # NumPy's rule: a real input's deviations are squared as c·c, so the
    # variance is complex, Σ (x - m)² / N (and std its principal square root)
    x = np.array([1.0, 2.5, -0.5])
    m = np.array([0.5 + 1.0j])
    for fn, expected in ((np.var, np.sum((x - m) ** 2) / 3),
                         (np.std, np.sqrt(np.sum((x - m) ** 2) / 3))):
        value = ad.jvp(lambda x: fn(x, mean=m), (x,), (np.ones(3),))[0]
        assert value.dtype == np.complex128
        np.testing.assert_allclose(value, expected, rtol=1e-13)
        check_grads(lambda x, m: fn(x, mean=m), (x, m), order=2)


def test_complex_dtype_of_a_real_input_gives_a_real_cotangent():
    # sum(x, dtype=complex) is x + 0j summed: a real function of x with imaginary part 0
    for fn in (np.sum, np.mean, np.var, np.std, np.cumsum, np.prod):
        out, pullback = ad.vjp(lambda x: fn(x, dtype=complex), X23)
        assert out.dtype == np.complex128
        (g,) = pullback(np.ones_like(out) * (2 - 3j))
        assert g.dtype == np.float64
    g = ad.vjp(lambda x: np.sum(x, dtype=complex), X23)[1](np.complex128(2 - 3j))[0]
    np.testing.assert_array_equal(g, np.full((2, 3), 2.0))  # Re(ḡ · 1)


def test_a_real_dtype_keeps_the_real_part_as_numpy_does():
    # NumPy casts with a ComplexWarning: sum(z, dtype=float) is Σ Re z, whose
    # gradient is 1 (F of Re z); var(z, dtype=float) centres the complex
    # values on the mean of the real parts
    for fn, kwargs in ((np.sum, {}), (np.mean, {}), (np.var, {}), (np.std, {}), (np.prod, {}),
                       (np.cumsum, {"axis": 0})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            _assert_numpy_value(lambda z: fn(z, dtype=np.float64, **kwargs), (Z23,), {})
            check_grads(lambda z: fn(z, dtype=np.float64, **kwargs), (Z23,), order=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        g = ad.grad(lambda z: np.sum(z, dtype=np.float64))(Z23)
    np.testing.assert_array_equal(g, np.ones((2, 3), complex))


def test_sum_mean_prod_cumsum_are_holomorphic():
    # the holomorphic derivative, by hand: d sum = 1, d mean = 1/N,
    # d prod / d z_k = prod of the others, d cumsum_k / d z_j = [j <= k]
    for f, derivative in (
            (np.sum, np.ones((4, 4))[:1]),
            (np.mean, np.full((1, 4), 0.25)),
            (np.prod, np.array([[np.prod(np.delete(Z4, k)) for k in range(4)]])),
            (np.cumsum, np.tril(np.ones((4, 4))))):
        J = ad.jacfwd(lambda z: np.reshape(f(z), (-1,)), holomorphic=True)(Z4)
        np.testing.assert_allclose(J, derivative, rtol=1e-13)
        J = ad.jacrev(lambda z: np.reshape(f(z), (-1,)), holomorphic=True)(Z4)
        np.testing.assert_allclose(J, derivative, rtol=1e-13)


def test_prod_with_a_zero_entry():
    z = np.array([0.7 + 0.2j, 0.0j, -1.1 + 0.5j, 0.3 - 0.9j])
    J = ad.jacrev(lambda z: np.prod(z)[None], holomorphic=True)(z)
    np.testing.assert_allclose(J[0], [0, z[0] * z[2] * z[3], 0, 0], atol=1e-15)
    check_grads(np.prod, (z,), order=2)
    check_grads(lambda z: np.prod(np.stack([z, z[::-1]]), axis=1), (z,), order=2)


def test_max_and_min_select_the_lexicographic_extreme():
    # NumPy orders complex values by real part, then imaginary part: here the
    # real parts 2 tie, and 2 + 1j is larger than 2 - 3j
    z = np.array([1.0 + 5.0j, 2.0 - 3.0j, 2.0 + 1.0j, -4.0 + 0.0j])
    assert np.max(z) == 2 + 1j and np.min(z) == -4 + 0j
    g = ad.vjp(np.max, z)[1](np.complex128(1.5 - 0.5j))[0]
    np.testing.assert_array_equal(g, [0, 0, 1.5 - 0.5j, 0])
    g = ad.grad(lambda z: np.real(np.min(z)) + np.imag(np.max(z)))(z)
    np.testing.assert_array_equal(g, [0, 0, -1j, 1])  # F of Im is -i, of Re is 1
    # (at a tie of real parts the value jumps with them; away from one, finite differences apply)
    for fn in (np.max, np.min):
        check_grads(fn, (Z4,), order=2)
        check_grads(lambda z: fn(z, axis=1), (Z23,), order=2)


def test_exact_duplicates_share_the_derivative():
    z = np.array([2.0 + 1.0j, 0.5j, 2.0 + 1.0j])
    g = ad.vjp(np.max, z)[1](np.complex128(1.0))[0]
    np.testing.assert_array_equal(g, [0.5, 0, 0.5])


def test_mixed_real_and_complex_arguments():
    x = np.array([0.4, -1.3, 2.0, 0.8])
    for f in (lambda x, z: np.sum(x * z), lambda x, z: np.mean(x + z),
              lambda x, z: np.prod(x * z), lambda x, z: np.cumsum(x - z),
              lambda x, z: np.var(x * z), lambda x, z: np.std(x + z)):
        check_grads(f, (x, Z4), order=2)
        out, pullback = ad.vjp(f, x, Z4)
        gx, gz = pullback(np.ones_like(out) * (1.0 + 0.5j) if np.iscomplexobj(out)
                          else np.ones_like(out))
        assert gx.dtype == np.float64 and gz.dtype == np.complex128
    # Re(ḡ · z) by hand for sum(x * z) with ḡ = 1 + 0.5j
    gx = ad.vjp(lambda x: np.sum(x * Z4), x)[1](np.complex128(1.0 + 0.5j))[0]
    np.testing.assert_allclose(gx, np.real((1.0 + 0.5j) * Z4), rtol=1e-15)


@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_hessian_of_var_in_every_mode(mode):
    # var is the real quadratic form |P z|² / N with P = I - 11ᵀ/N; with
    # z = x + iy its Hessian in x and in y is 2P/N, so an hvp along a real
    # direction v (perturbing x) gives 2 P v / N, as the gradient 2 conj(P z)/N varies
    v = np.array([1.0, -2.0, 0.5, 0.25]) + 0j
    h = ad.hvp(np.var, Z4, v, mode=mode)
    np.testing.assert_allclose(h, 2 * (v - v.mean()) / 4, rtol=1e-13, atol=1e-15)
