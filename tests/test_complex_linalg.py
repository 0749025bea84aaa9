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


# ---- solve, inv, det, slogdet -------------------------------------------------------------------
DECOMPOSITIONS = {
    "solve": (np.linalg.solve, (Z33, Z3)),
    "solve_matrix": (np.linalg.solve, (Z33, Z32)),
    "solve_real_matrix": (np.linalg.solve, (X33, Z3)),
    "solve_real_rhs": (np.linalg.solve, (Z33, X3)),
    "solve_stack": (np.linalg.solve, (Z233, Z32)),
    "inv": (np.linalg.inv, (Z33,)),
    "inv_stack": (np.linalg.inv, (Z233,)),
    "det": (np.linalg.det, (Z33,)),
    "det_stack": (np.linalg.det, (Z233,)),
    "det_of_mixed": (lambda x, z: np.linalg.det(x + 1j * z), (X33, X33.T)),
    "slogdet": (lambda a: tuple(np.linalg.slogdet(a)), (Z33,)),
    "slogdet_stack": (lambda a: tuple(np.linalg.slogdet(a)), (Z233,)),
    "slogdet_sign_times_logabsdet": (lambda a: np.multiply(*np.linalg.slogdet(a)), (Z33,)),
}


@pytest.mark.parametrize("name", sorted(DECOMPOSITIONS))
def test_solve_inv_det_slogdet(name):
    f, args = DECOMPOSITIONS[name]
    _numpy_value(f, args)
    check_grads(f, args, order=2)


def test_slogdet_derivatives_by_hand():
    # log det is holomorphic with derivative A⁻ᵀ: logabsdet = Re log det has
    # F = A⁻ᵀ; sign = e^{i Im log det} has tangent i·sign·Im tr(A⁻¹ T)
    sign, logabsdet = np.linalg.slogdet(Z33)
    assert np.iscomplexobj(sign) and np.isrealobj(logabsdet)
    g = ad.grad(lambda a: np.linalg.slogdet(a)[1])(Z33)
    np.testing.assert_allclose(g, np.linalg.inv(Z33).T, rtol=1e-13)
    T = crand(3, 3, seed=21)
    (s, l), (ds, dl) = ad.jvp(lambda a: tuple(np.linalg.slogdet(a)), (Z33,), (T,))
    assert s.dtype == ds.dtype == np.complex128 and l.dtype == dl.dtype == np.float64
    trace = np.trace(np.linalg.solve(Z33, T))
    np.testing.assert_allclose(ds, 1j * sign * trace.imag, rtol=1e-13)
    np.testing.assert_allclose(dl, trace.real, rtol=1e-13)
    # the sign stays on the unit circle: Re(conj(sign) d sign) = 0
    assert abs(np.real(np.conj(s) * ds)) < 1e-15


def test_slogdet_of_a_complex64_matrix_keeps_its_dtypes():
    z = Z33.astype(np.complex64)
    (s, l), (ds, dl) = ad.jvp(lambda a: tuple(np.linalg.slogdet(a)), (z,), (np.ones_like(z),))
    e = np.linalg.slogdet(z)
    assert s.dtype == e.sign.dtype == np.complex64
    assert l.dtype == e.logabsdet.dtype == np.float32
    # (dualad.api widens a complex64 tangent to complex128 before any rule runs)
    assert ds.dtype.kind == "c" and dl.dtype.kind == "f"


def test_det_and_slogdet_at_a_singular_complex_matrix():
    S = np.array([[1.0, 2.0j, 3.0], [2.0, 4.0j, 6.0], [1.0 + 1.0j, 0.5, 1.0]])  # rank 2
    assert np.linalg.det(S) == 0
    check_grads(np.linalg.det, (S,), order=2)
    # the sign is 0 there (it jumps): derivative 0; logabsdet is -inf
    (s, l), (ds, _) = ad.jvp(lambda a: tuple(np.linalg.slogdet(a)), (S,), (crand(3, 3, seed=22),))
    assert s == 0 and l == -np.inf and ds == 0
    g = ad.vjp(lambda a: np.linalg.slogdet(a)[0], S)[1](np.complex128(1 + 1j))[0]
    np.testing.assert_array_equal(g, np.zeros((3, 3)))


def test_det_that_underflows_keeps_a_traced_sign():
    # det of a 2x2 matrix of entries ~1e-170 underflows to 0, but its
    # cofactors [[d, -c], [-b, a]] do not; they are linear in the matrix, so
    # their tangent along T is T's cofactor matrix.  Both by hand.
    Z = crand(2, 2, seed=23) * 1e-170
    T = crand(2, 2, seed=24) * 1e-170

    def cofactors(m):
        return np.array([[m[1, 1], -m[1, 0]], [-m[0, 1], m[0, 0]]])

    def det_pullback(a):
        return ad.vjp(np.linalg.det, a)[1](np.complex128(1.0))[0]
    assert np.linalg.det(Z) == 0
    # (through sign · exp(log|det| - c) · A⁻ᵀ · eᶜ: rounding of a few ulps)
    np.testing.assert_allclose(det_pullback(Z), cofactors(Z), rtol=1e-12)
    _, t = ad.jvp(det_pullback, (Z,), (T,))
    np.testing.assert_allclose(t, cofactors(T), rtol=1e-12)


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


# ---- cholesky -----------------------------------------------------------------------------------
def _hermitian_from(a, lower=True):
    """The Hermitian matrix LAPACK reads from one triangle of ``a``."""
    off = np.tril(a, -1) if lower else np.triu(a, 1)
    diagonal = np.real(a.diagonal(0, -2, -1))[..., None] * np.eye(a.shape[-1])
    return off + np.conj(np.swapaxes(off, -1, -2)) + diagonal


def test_numpy_reads_one_triangle_and_the_real_part_of_the_diagonal():
    # the function these rules differentiate, pinned on NumPy itself
    for lower, uplo in ((True, "L"), (False, "U")):
        S = _hermitian_from(A_PD, lower)
        np.testing.assert_allclose(np.linalg.eigvalsh(A_PD, uplo), np.linalg.eigvalsh(S),
                                   rtol=1e-13)
        L = np.linalg.cholesky(A_PD, upper=not lower)
        np.testing.assert_allclose(L @ L.conj().T if lower else L.conj().T @ L, S, rtol=1e-13)


CHOLESKY = {
    "lower": (np.linalg.cholesky, (A_PD,)),
    "upper": (lambda a: np.linalg.cholesky(a, upper=True), (A_PD,)),
    "stack": (np.linalg.cholesky, (A_PD_STACK,)),
    "upper_stack": (lambda a: np.linalg.cholesky(a, upper=True), (A_PD_STACK,)),
    "of_a_gram_matrix": (lambda b: np.linalg.cholesky(b @ b.conj().T + 3 * np.eye(3)), (Z33,)),
    "solve_with_factor": (lambda a, z: np.linalg.solve(np.linalg.cholesky(a), z), (A_PD, Z3)),
}


@pytest.mark.parametrize("name", sorted(CHOLESKY))
def test_cholesky_of_hermitian_positive_definite_input(name):
    f, args = CHOLESKY[name]
    _numpy_value(f, args)
    # A_PD is not Hermitian and has an imaginary diagonal: the random
    # complex directions of check_grads perturb every entry, both triangles
    check_grads(f, args, order=2)


def test_cholesky_ignores_the_other_triangle_and_the_imaginary_diagonal():
    # a direction in the strictly upper triangle plus i on the diagonal
    # changes nothing NumPy reads: tangent exactly 0 (and finite differences agree)
    T = np.triu(crand(3, 3, seed=25), 1) + 1j * np.eye(3)
    _, t = ad.jvp(np.linalg.cholesky, (A_PD,), (T,))
    np.testing.assert_array_equal(t, np.zeros((3, 3)))
    np.testing.assert_allclose(numerical_jvp(np.linalg.cholesky, (A_PD,), (T,)), 0, atol=1e-9)
    g = ad.vjp(np.linalg.cholesky, A_PD)[1](crand(3, 3, seed=26))[0]
    assert np.all(np.triu(g, 1) == 0) and np.all(np.imag(np.diag(g)) == 0)


def test_cholesky_of_a_real_matrix_is_unchanged():
    x = rand(3, 3, seed=27) + 4 * np.eye(3)
    out, t = ad.jvp(np.linalg.cholesky, (x,), (rand(3, 3, seed=28),))
    assert out.dtype == t.dtype == np.float64


# ---- eigh, eigvalsh -----------------------------------------------------------------------------
def _spectral(a, uplo="L"):
    """V diag(exp(w/4)) Vᴴ: unchanged by the eigenvectors' phases."""
    w, V = np.linalg.eigh(a, uplo)
    return (V * np.exp(w / 4)[..., None, :]) @ np.conj(np.swapaxes(V, -1, -2))


def _projector(a, k=1):
    """The projector v_k v_kᴴ onto one eigenvector (phase-invariant)."""
    v = np.linalg.eigh(a)[1][:, k]
    return np.outer(v, np.conj(v))


EIGH = {
    "eigvalsh": (np.linalg.eigvalsh, (A_EIG,)),
    "eigvalsh_upper": (lambda a: np.linalg.eigvalsh(a, "U"), (A_EIG,)),
    "eigvalsh_stack": (np.linalg.eigvalsh, (A_EIG_STACK,)),
    "eigh_values": (lambda a: np.linalg.eigh(a)[0], (A_EIG,)),
    "spectral_function": (_spectral, (A_EIG,)),
    "spectral_function_upper": (lambda a: _spectral(a, "U"), (A_EIG,)),
    "spectral_function_stack": (_spectral, (A_EIG_STACK,)),
    "eigenvector_moduli": (lambda a: np.abs(np.linalg.eigh(a)[1]) ** 2, (A_EIG,)),
    "projector": (_projector, (A_EIG,)),
    "values_and_projector": (lambda a: np.linalg.eigh(a)[0][2] * _projector(a, 0), (A_EIG,)),
    "of_a_real_plus_imaginary_hermitian": (
        lambda x, y: np.linalg.eigvalsh(x + x.T + 1j * (y - y.T)), (X33, rand(3, 3, seed=29))),
}


@pytest.mark.parametrize("name", sorted(EIGH))
def test_eigh_of_hermitian_input(name):
    f, args = EIGH[name]
    _numpy_value(f, args)
    check_grads(f, args, order=2)


def test_eigh_gauge_is_zero_diagonal_of_vh_dv():
    # Re diag(Vᴴ dV) = 0 follows from unitarity; its imaginary part, the rate
    # of change of each column's phase, is a free choice: dualad takes it 0
    w, V = np.linalg.eigh(A_EIG)
    T = crand(3, 3, seed=30)
    (_, _), (dw, dV) = ad.jvp(np.linalg.eigh, (A_EIG,), (T,))
    assert dw.dtype == np.float64 and dV.dtype == np.complex128
    np.testing.assert_allclose(np.diag(V.conj().T @ dV), 0, atol=1e-14)
    # the rest is the derivative of NumPy's V up to a phase term V diag(iθ):
    # the finite difference of V, rotated column by column to the gauge, agrees
    fd = numerical_jvp(lambda a: np.linalg.eigh(a)[1], (A_EIG,), (T,))
    theta = np.imag(np.diag(V.conj().T @ fd))
    np.testing.assert_allclose(fd - V * (1j * theta), dV, atol=1e-7)
    # and the eigenvalues' derivative is Re diag(Vᴴ dS V), dS the Hermitian tangent read
    dS = _hermitian_from(T)
    np.testing.assert_allclose(dw, np.real(np.diag(V.conj().T @ dS @ V)), rtol=1e-12)


def test_eigh_pullback_is_the_transpose_of_its_gauge_fixed_jvp():
    # for phase-dependent outputs finite differences do not apply, but the
    # pullback must still be the exact transpose of the JVP: ⟨u, J t⟩ = ⟨Jᵀu, t⟩
    T = crand(3, 3, seed=31)
    uw, uV = rand(3, seed=32), crand(3, 3, seed=33)
    _, (dw, dV) = ad.jvp(np.linalg.eigh, (A_EIG,), (T,))
    _, pullback = ad.vjp(lambda a: tuple(np.linalg.eigh(a)), A_EIG)
    (g,) = pullback((uw, uV))
    lhs = np.sum(uw * dw) + np.real(np.sum(uV * dV))
    rhs = np.real(np.sum(g * T))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_eigvalsh_gradient_by_hand():
    # w_k = vᴴ S v (v = V[:, k]), so dw_k = Σ_ij conj(v_i) dS_ij v_j.  Reading
    # the lower triangle, S_ij = A_ij and S_ji = conj(A_ij) for i > j, and
    # S_ii = Re A_ii: dw_k = Σ_{i>j} 2 Re(conj(v_i) v_j dA_ij) + Σ_i |v_i|² Re dA_ii,
    # so the gradient (the factor F of Re(F·dA)) is 2 conj(v_i) v_j below the
    # diagonal, |v_i|² on it and 0 above it
    w, V = np.linalg.eigh(A_EIG)
    g = ad.grad(lambda a: np.linalg.eigvalsh(a)[1])(A_EIG)
    v = V[:, 1]
    expected = np.tril(2 * np.outer(np.conj(v), v), -1) + np.diag(np.abs(v) ** 2)
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-14)


def test_eigh_of_a_real_symmetric_matrix_stays_real():
    x = rand(3, 3, seed=34) + np.diag([1.0, 4.0, 8.0])
    (w, V), (dw, dV) = ad.jvp(np.linalg.eigh, (x,), (rand(3, 3, seed=35),))
    assert w.dtype == V.dtype == dw.dtype == dV.dtype == np.float64


def test_svd_of_complex_input_is_differentiated():
    # phase-invariant quantities (more in tests/test_spectral.py)
    check_grads(lambda a: (lambda u, s, vh: (s, u @ vh, np.abs(u) ** 2))(*np.linalg.svd(a)),
                (Z33,), order=2)
