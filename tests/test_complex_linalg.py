"""Linear algebra of complex arguments: NumPy's value and dtype, derivatives by
finite differences at order 2 in both modes (``check_grads``: random real
and imaginary directions, the dot-product identity under ``Re Σ u·v``, all
four nestings), mixed real/complex arguments, and hand-worked derivatives.

* Products (``matmul dot inner outer tensordot einsum trace``), ``solve``,
  ``inv`` and ``det`` are holomorphic; ``vdot`` and ``vecdot`` conjugate
  their first argument.  A real argument's cotangent is real (the real part).
* ``slogdet``: ``sign = det/|det|`` and ``logabsdet = Re log det`` both vary.
* ``norm`` of complex input is real.
* ``cholesky``, ``eigh`` and ``eigvalsh`` read one triangle and are
  differentiated as the function NumPy computes, of the Hermitian matrix
  ``tril(A, -1) + tril(A, -1)ᴴ + Re diag(A)`` (LAPACK ignores the imaginary
  part of the diagonal): checked by finite differences on non-Hermitian
  inputs and directions.  Eigenvector phases are arbitrary, so eigenvector
  derivatives are checked through phase-invariant quantities, and the gauge
  (``diag(Vᴴ dV) = 0``) is pinned on its own.

``HONOURED`` (read by tests/test_keywords.py) lists complex calls and the
complex ``dtype=`` of ``matmul``, ``einsum`` and ``trace``.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad import core
from dualad.testing import check_grads, numerical_jvp


def crand(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, shape) + 1j * rng.uniform(-1, 1, shape)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, shape)


Z33 = crand(3, 3, seed=1) + 2.5 * np.eye(3)   # well conditioned
Z23 = crand(2, 3, seed=2)
Z32 = crand(3, 2, seed=3)
Z3 = crand(3, seed=4)
W3 = crand(3, seed=5)
Z233 = crand(2, 3, 3, seed=6) + 2.5 * np.eye(3)
X33 = rand(3, 3, seed=7) + 2.5 * np.eye(3)
X23 = rand(2, 3, seed=8)
X3 = rand(3, seed=9)
# non-Hermitian, imaginary diagonal: each triangle, read as NumPy reads it,
# makes a Hermitian matrix with well separated eigenvalues / positive definite
A_EIG = crand(3, 3, seed=10) + np.diag([1.0, 4.0, 8.0])
A_EIG_STACK = crand(2, 3, 3, seed=11) + np.diag([1.0, 4.0, 8.0])
A_PD = crand(3, 3, seed=12) + 4.0 * np.eye(3)
A_PD_STACK = crand(2, 3, 3, seed=13) + 4.0 * np.eye(3)

MATMUL = core.UFUNC_RULES[np.matmul]

HONOURED = {
    np.matmul: {"x1": [((Z23, Z32), {}), ((X23, Z32), {})],
                "x2": [((Z33, Z3), {}), ((Z23, X33), {})],
                "dtype": [((X23, rand(3, 2, seed=14)), {"dtype": complex}),
                          ((Z23, Z32), {"dtype": np.complex128})]},
    np.einsum: {"operands": [(("ij,jk->ik", Z23, Z32), {}), (("ij,j", X23, Z3), {}),
                             (("ii->i", Z33), {}), (("ij,jk,k", Z23, Z33, W3), {})],
                "dtype": [(("ij,j", X23, X3), {"dtype": complex}),
                          (("ij,j", X23, Z3), {"dtype": np.complex128})]},
    np.trace: {"a": [((Z33,), {})], "dtype": [((X33,), {"dtype": complex}),
                                             ((Z33,), {"dtype": np.complex64})]},
    np.vdot: {"a": [((Z3, W3), {}), ((X3, W3), {}), ((Z23, Z32), {})],
              "b": [((Z3, X3), {})]},
}
if hasattr(np, "vecdot"):
    HONOURED[np.vecdot] = {"x1": [((Z23, Z3), {}), ((X23, Z3), {})], "x2": [((Z23, X3), {})],
                           "axis": [((Z32, Z3[:, None]), {"axis": 0})]}


def _numpy_value(f, args):
    """``f(*args)`` traced in every argument equals NumPy's (dtype included)."""
    expected = f(*args)
    value, _ = ad.jvp(f, args, tuple(np.ones_like(a) for a in args))
    for v, e in zip(ad.tree_flatten(value)[0], ad.tree_flatten(expected)[0]):
        v, e = np.asarray(v), np.asarray(e)
        assert v.dtype == e.dtype and v.shape == e.shape
        tol = 1e-12 if e.dtype in (np.float64, np.complex128) else 2e-6
        np.testing.assert_allclose(v, e, rtol=tol, atol=tol)
    return expected


# ---- products -----------------------------------------------------------------------------------
PRODUCTS = {
    "matmul": (np.matmul, (Z23, Z32)),
    "matmul_real_complex": (np.matmul, (X33, Z3)),
    "matmul_complex_real": (np.matmul, (Z23, X33)),
    "matmul_stack": (np.matmul, (Z233, Z32)),
    "matmul_operator": (lambda a, b: a @ b @ a, (Z33, X33)),
    "dot_vector": (np.dot, (Z3, W3)),
    "dot_matrix_vector": (np.dot, (X23, Z3)),
    "dot_scalar": (lambda a, b: np.dot(a[0], b), (Z3, X23)),
    "inner": (np.inner, (Z23, X3)),
    "outer": (np.outer, (Z3, X3)),
    "tensordot": (lambda a, b: np.tensordot(a, b, axes=([0], [1])), (Z32, X23)),
    "tensordot_2": (lambda a, b: np.tensordot(a, b), (Z233, Z33)),
    "einsum_matrix": (lambda a, b: np.einsum("ij,jk->ik", a, b), (Z23, X33)),
    "einsum_diagonal": (lambda a: np.einsum("ii->i", a) * np.einsum("ij->", a), (Z33,)),
    "einsum_three": (lambda a, b, c: np.einsum("ij,jk,k->i", a, b, c), (Z23, X33, W3)),
    "einsum_dtype": (lambda a, b: np.einsum("ij,j", a, b, dtype=complex), (X23, X3)),
    "matmul_dtype": (lambda a, b: MATMUL(a, b, dtype=complex), (X23, rand(3, 2, seed=15))),
    "trace": (np.trace, (Z33,)),
    "trace_dtype": (lambda a: np.trace(a, dtype=complex) * a[0, 1], (X33,)),
    "vdot": (np.vdot, (Z3, W3)),
    "vdot_real_first": (np.vdot, (X3, W3)),
    "vdot_real_second": (np.vdot, (Z3, X3)),
    "vdot_matrices": (np.vdot, (Z23, Z32)),
    "diag_tril": (lambda a, v: np.tril(a) @ np.diag(v) + np.diagonal(a, 1)[0], (Z33, W3)),
    "cross": (np.cross, (Z3, X3)),
    "polyval": (np.polyval, (Z3, W3)),
}
if hasattr(np, "vecdot"):
    PRODUCTS["vecdot"] = (np.vecdot, (Z23, W3))
    PRODUCTS["vecdot_real_first"] = (np.vecdot, (X23, W3))


@pytest.mark.parametrize("name", sorted(PRODUCTS))
def test_products(name):
    f, args = PRODUCTS[name]
    _numpy_value(f, args)
    check_grads(f, args, order=2)


def test_vdot_and_vecdot_conjugate_the_first_argument():
    # vdot(a, b) = Σ conj(a)·b: antiholomorphic in a, holomorphic in b
    value = ad.jvp(np.vdot, (Z3, W3), (Z3, W3))[0]
    assert value == np.sum(np.conj(Z3) * W3)
    _, t = ad.jvp(np.vdot, (Z3, W3), (1j * np.ones(3), np.zeros(3, complex)))
    np.testing.assert_allclose(t, np.sum(-1j * W3), rtol=1e-15)   # d conj(a) = conj(da)
    _, t = ad.jvp(np.vdot, (Z3, W3), (np.zeros(3, complex), 1j * np.ones(3)))
    np.testing.assert_allclose(t, np.sum(1j * np.conj(Z3)), rtol=1e-15)
    if hasattr(np, "vecdot"):
        value = ad.jvp(np.vecdot, (Z23, W3), (Z23, W3))[0]
        np.testing.assert_allclose(value, np.sum(np.conj(Z23) * W3, axis=-1), rtol=1e-15)


def test_a_real_matrix_times_a_complex_vector_has_a_real_cotangent():
    # y = A z: the pullback of ū is (Re(ū zᵀ), Aᵀ ū), by hand
    u = crand(3, seed=20)
    for f in (np.matmul, np.dot, lambda a, z: np.einsum("ij,j->i", a, z),
              lambda a, z: np.tensordot(a, z, axes=1), lambda a, z: a @ z):
        out, pullback = ad.vjp(f, X33, Z3)
        assert out.dtype == np.complex128
        ga, gz = pullback(u)
        assert ga.dtype == np.float64 and gz.dtype == np.complex128
        np.testing.assert_allclose(ga, np.real(np.outer(u, Z3)), rtol=1e-14)
        np.testing.assert_allclose(gz, X33.T @ u, rtol=1e-14)
    # and the gradient of a real loss: |A z|² -> ∂/∂A = 2 Re(conj(A z) zᵀ)
    g = ad.grad(lambda a: np.sum(np.abs(a @ Z3) ** 2))(X33)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, 2 * np.real(np.outer(np.conj(X33 @ Z3), Z3)), rtol=1e-13)


# ---- norm ---------------------------------------------------------------------------------------
NORMS = {
    "vector": (np.linalg.norm, (Z3,)),
    "flattened": (np.linalg.norm, (Z233,)),
    "frobenius": (lambda a: np.linalg.norm(a, "fro"), (Z23,)),
    "axis": (lambda a: np.linalg.norm(a, axis=1), (Z23,)),
    "axis_keepdims": (lambda a: np.linalg.norm(a, axis=0, keepdims=True), (Z23,)),
    "matrix_axes": (lambda a: np.linalg.norm(a, axis=(2, 1)), (Z233,)),
    "ord_1": (lambda a: np.linalg.norm(a, 1), (Z3,)),
    "ord_inf": (lambda a: np.linalg.norm(a, np.inf), (Z3,)),
    "ord_-inf": (lambda a: np.linalg.norm(a, -np.inf), (Z3,)),
    "ord_3": (lambda a: np.linalg.norm(a, 3, axis=1), (Z23,)),
    "matrix_1": (lambda a: np.linalg.norm(a, 1), (Z23,)),
    "matrix_inf": (lambda a: np.linalg.norm(a, np.inf), (Z23,)),
    "mixed": (lambda x, z: np.linalg.norm(x * z), (X3, Z3)),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_norms(name):
    f, args = NORMS[name]
    value = _numpy_value(f, args)
    assert np.isrealobj(value)
    check_grads(f, args, order=2)


def test_norm_gradient_by_hand_and_at_zero():
    # |z|₂ = sqrt Σ |z|²: gradient conj(z) / |z|₂; at 0 the subgradient 0
    g = ad.grad(np.linalg.norm)(Z3)
    np.testing.assert_allclose(g, np.conj(Z3) / np.sqrt(np.sum(np.abs(Z3) ** 2)), rtol=1e-14)
    zero = np.zeros(3, complex)
    np.testing.assert_array_equal(ad.grad(np.linalg.norm)(zero), zero)
    assert ad.jvp(np.linalg.norm, (zero,), (W3,))[1] == 0


def test_norm_dtypes_of_complex64_input():
    z = Z23.astype(np.complex64)
    for kwargs in ({}, {"axis": 1}, {"ord": 0, "axis": 1}, {"ord": 1}, {"ord": np.inf, "axis": 0}):
        value = _numpy_value(lambda a: np.linalg.norm(a, **kwargs), (z,))
        assert value.dtype == np.float32


def test_svd_has_no_rule():
    # not registered for any input: there is nothing complex-specific to refuse
    with pytest.raises(TypeError, match="svd"):
        ad.jvp(np.linalg.svd, (Z33,), (Z33,))
