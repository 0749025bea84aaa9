"""qr, matrix_power, multi_dot, tensorsolve, tensorinv, vector_norm, matvec,
vecmat, the sublist form of einsum (dualad/rules/linalg.py).

``HONOURED`` (imported by tests/test_keywords.py) lists each honoured
parameter with sample calls; the walker checks their values against NumPy's
and their derivatives by finite differences, and that every other parameter
is refused by name.  The named tests below pin, against NumPy's values and
central finite differences (never the rules' own formulas): QR for tall,
square and wide matrices, real and complex, in stacks, with LAPACK's signs
of R's diagonal; the gauge of ``mode='complete'``; the refused modes and
rank-deficient input; negative and zero powers; multi_dot's 1-D ends and
NumPy's order; every ``ord`` of vector_norm; vecmat's conjugation; the
sublist form of einsum with Ellipsis, its errors, ``optimize`` paths; and
vector mode and the nestings (fwd-over-rev against rev-over-rev).
"""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads

RNG = np.random.default_rng(20261202)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def crand(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def invertible(n, seed=0, batch=()):
    return rand(*batch, n, n, seed=seed) * 0.4 + 2.0 * np.eye(n)


def away_from_zero(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.3, 2.0, shape)


A43, A33, A35 = rand(4, 3, seed=1), rand(3, 3, seed=2), rand(3, 5, seed=3)
A243, A235 = rand(2, 4, 3, seed=4), rand(2, 3, 5, seed=5)
C43, C35 = crand(4, 3, seed=6), crand(3, 5, seed=7)
M33, M233 = invertible(3, seed=8), invertible(3, seed=9, batch=(2,))
CM33 = invertible(3, seed=10) + 0.3j * rand(3, 3, seed=11)
V3, V4, V5 = rand(3, seed=12), rand(4, seed=13), rand(5, seed=14)
X234 = away_from_zero(2, 3, 4, seed=15)
XC234 = X234 + 1j * rand(2, 3, 4, seed=16)
T2323 = rand(2, 3, 2, 3, seed=17) * 0.3 + np.eye(6).reshape(2, 3, 2, 3)
B23 = rand(2, 3, seed=18)
T6 = rand(3, 2, 6, seed=19) * 0.3 + np.eye(6).reshape(3, 2, 6)


def _ord_calls():
    calls = [((X234,), {"ord": o}) for o in (2, 1, np.inf, -np.inf, 0, -1, 3, 0.5, -2)]
    return calls + [((XC234,), {"ord": o}) for o in (2, 1, np.inf, 3)]


HONOURED = {
    np.linalg.qr: {
        "a": [((A43,), {}), ((A33,), {}), ((A35,), {}), ((A243,), {}), ((A235,), {}),
              ((C43,), {}), ((C35,), {}), ((A43.astype(np.float32),), {})],
        # mode='complete' of a tall matrix has Q's extra columns in a gauge (see
        # test_qr_complete_tall_*), not finite differences of LAPACK's choice
        "mode": [((A43,), {"mode": "reduced"}), ((A43,), {"mode": "r"}), ((A35,), {"mode": "r"}),
                 ((A243,), {"mode": "r"}), ((C43,), {"mode": "r"}),
                 ((A33,), {"mode": "complete"}), ((A235,), {"mode": "complete"})],
    },
    np.linalg.matrix_power: {
        "a": [((M33, 3), {}), ((M233, 2), {}), ((CM33, 2), {})],
        "n": [((M33, n), {}) for n in (0, 1, 2, 3, 4, 5, 7, -1, -2, -3, -5)]
             + [((M233, -4), {}), ((M33, np.int64(6)), {}), ((CM33, -2), {})],
    },
    np.linalg.multi_dot: {
        "arrays": [(([A43, A33, A35],), {}), (([V4, A43, A35, V5],), {}),
                   (([V4, A43, A33],), {}), (([A33, A35, V5],), {}), (([A43.T, V4],), {}),
                   (([rand(2, 6, seed=20), rand(6, 2, seed=21), rand(2, 7, seed=22),
                      rand(7, 3, seed=23), rand(3, 2, seed=24)],), {}),
                   (([V3, A33, V3],), {}), (([C43.T, C43, A33],), {})],
    },
    np.linalg.tensorsolve: {
        "a": [((T2323, B23), {}), ((M33, V3), {})],
        "b": [((T6, rand(3, 2, seed=25)), {}), ((CM33, V3 + 1j), {})],
        "axes": [((np.moveaxis(T2323, 0, 3).copy(), B23), {"axes": (3,)}),
                 ((np.moveaxis(T2323, 1, 0).copy(), B23), {"axes": (0, 1)}),
                 ((T2323, B23), {"axes": None})],
    },
    np.linalg.tensorinv: {
        "a": [((T2323,), {}), ((M33,), {"ind": 1}), ((T2323 + 0.1j,), {})],
        "ind": [((T2323,), {"ind": 2}), ((T6,), {"ind": 2}),
                ((np.moveaxis(T6, 2, 0).copy(),), {"ind": 1})],
    },
    np.einsum: {  # the sublist form (the string form is in tests/test_linalg_exact.py)
        "operands": [((A43, [0, 1], A33, [1, 2]), {}), ((A43, [0, 1], A33, [1, 2], [2, 0]), {}),
                     ((A33, [0, 0]), {}), ((A243, [Ellipsis, 0, 1], V3, [1], [Ellipsis, 0]), {}),
                     ((A43, [30, 1], V3, [1], [30]), {}), ((C43, [0, 1], C35, [1, 2]), {})],
    },
}
if hasattr(np.linalg, "vector_norm"):
    HONOURED[np.linalg.vector_norm] = {
        "x": [((X234,), {}), ((V3,), {}), ((XC234,), {}), ((np.array(-1.7),), {})],
        "axis": [((X234,), {"axis": 1}), ((X234,), {"axis": -1}), ((X234,), {"axis": (0, 2)}),
                 ((X234,), {"axis": (2, 0), "ord": 1}), ((X234,), {"axis": (-1, 0, 1), "ord": 3}),
                 ((X234,), {"axis": None, "ord": np.inf}), ((XC234,), {"axis": (1, 2)})],
        "keepdims": [((X234,), {"keepdims": True}), ((X234,), {"axis": 1, "keepdims": True}),
                     ((X234,), {"axis": (2, 0), "keepdims": True, "ord": -np.inf}),
                     ((X234,), {"keepdims": False})],
        "ord": _ord_calls(),
    }
if hasattr(np, "matvec"):
    HONOURED[np.matvec] = {
        "x1": [((A43, V3), {}), ((A243, V3), {}), ((C43, V3 + 1j), {})],
        "x2": [((A43, rand(2, 3, seed=26)), {}), ((A33, rand(5, 1, 3, seed=27)), {})],
        "dtype": [((A43, V3), {"dtype": np.float64}), ((A43, V3), {"dtype": np.float32}),
                  ((A43, V3), {"dtype": np.complex128})],
    }
    HONOURED[np.vecmat] = {
        "x1": [((V4, A43), {}), ((rand(2, 4, seed=28), A43), {}), ((V4 + 1j * V4[::-1], C43), {})],
        "x2": [((V4, A243), {}), ((V3 + 0.5j, A33), {})],
        "dtype": [((V4, A43), {"dtype": np.float64}), ((V4, A43), {"dtype": np.float32}),
                  ((V4, A43), {"dtype": np.complex128})],
    }


# ---- helpers ---------------------------------------------------------------------------------
def _tangent(x, seed):
    r = np.random.default_rng(seed)
    t = r.standard_normal(np.shape(x))
    if np.iscomplexobj(x):
        t = t + 1j * r.standard_normal(np.shape(x))
    return t


def _assert_close(actual, expected, rtol=1e-12):
    a_leaves, e_leaves = ad.tree_flatten(actual)[0], ad.tree_flatten(expected)[0]
    assert len(a_leaves) == len(e_leaves)
    for a, e in zip(a_leaves, e_leaves):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, (a.shape, e.shape, a.dtype, e.dtype)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol)


def _traced_value(f, *args):
    value, _ = ad.jvp(f, args, tuple(_tangent(a, 1) for a in args))
    return value


def _vector_mode_matches(f, x, k=3):
    """One batched jvp with k directions equals k single ones."""
    directions = np.stack([_tangent(x, s) for s in range(k)])
    _, batched = ad.jvp(f, (x,), (directions,), batched=True)
    for j in range(k):
        _, single = ad.jvp(f, (x,), (directions[j],))
        for b, s in zip(ad.tree_flatten(batched)[0], ad.tree_flatten(single)[0]):
            np.testing.assert_allclose(np.asarray(b)[j], s, rtol=1e-10, atol=1e-12)


def _hessians_agree(f, x):
    """hessian (fwd-over-rev) against rev-over-rev and fwd-over-fwd."""
    h = ad.hessian(f)(x)
    np.testing.assert_allclose(ad.jacrev(ad.grad(f))(x), h, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(ad.jacfwd(ad.jacfwd(f))(x), h, rtol=1e-9, atol=1e-10)
    return h


def _refused(f, args, param):
    with pytest.raises(TypeError) as info:
        ad.jvp(f, args, tuple(np.ones_like(a) for a in args))
    assert param in str(info.value) and "dualad" in str(info.value), str(info.value)


def _mH(x):
    return np.conj(np.swapaxes(x, -1, -2))


# ---- qr ----------------------------------------------------------------------------------------
QR_INPUTS = [("tall", A43), ("square", A33), ("wide", A35), ("tall-stack", A243),
             ("wide-stack", A235), ("tall-complex", C43), ("wide-complex", C35),
             ("square-complex", crand(3, 3, seed=30)), ("column", rand(5, 1, seed=31)),
             ("row", rand(1, 4, seed=32)), ("complex-stack", crand(2, 3, 2, seed=33))]


@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
@pytest.mark.parametrize("name, a", QR_INPUTS, ids=[n for n, _ in QR_INPUTS])
def test_qr_value_is_numpys(name, a, mode):
    _assert_close(_traced_value(lambda x: np.linalg.qr(x, mode=mode), a),
                  np.linalg.qr(a, mode=mode), rtol=1e-13)
    assert type(_traced_value(lambda x: np.linalg.qr(x, mode=mode), a)) is \
        type(np.linalg.qr(a, mode=mode))


@pytest.mark.parametrize("mode", ["reduced", "r"])
@pytest.mark.parametrize("name, a", QR_INPUTS, ids=[n for n, _ in QR_INPUTS])
def test_qr_derivatives_by_finite_differences(name, a, mode):
    check_grads(lambda x: np.linalg.qr(x, mode=mode), (a,), order=2)


def test_qr_follows_lapacks_signs_of_r():
    # NumPy's R has diagonal entries of both signs here: the derivative is
    # that of NumPy's Q and R, not of a sign-normalised factorisation
    for a in (rand(4, 3, seed=64), crand(4, 3, seed=64), crand(3, 3, seed=30)):
        d = np.diagonal(np.linalg.qr(a).R)
        assert np.all(d.imag == 0)  # LAPACK's diagonal is real, for complex input too
        assert (d.real < 0).any() and (d.real > 0).any()
        check_grads(lambda x: tuple(np.linalg.qr(x)), (a,), order=1)


def test_qr_derivative_keeps_the_factorisation():
    # d(QR) = dA, Qᴴ dQ skew-Hermitian, dR upper triangular (real diagonal)
    for a in (A43, C43, A35, C35, A243):
        t = _tangent(a, 5)
        (q, r), (dq, dr) = ad.jvp(lambda x: tuple(np.linalg.qr(x)), (a,), (t,))
        np.testing.assert_allclose(dq @ r + q @ dr, t, atol=1e-12)
        om = _mH(q) @ dq
        np.testing.assert_allclose(om, -_mH(om), atol=1e-12)
        k = min(a.shape[-2:])
        np.testing.assert_array_equal(np.tril(dr[..., :k, :k], -1), 0)
        np.testing.assert_allclose(np.diagonal(dr, 0, -2, -1).imag, 0, atol=1e-12)


def _complement_projector(a):
    q, r = np.linalg.qr(a, mode="complete")
    k = min(a.shape[-2:])
    q2 = q[..., :, k:]
    return q2 @ _mH(q2)


@pytest.mark.parametrize("a", [A43, C43, A243, rand(5, 2, seed=34)], ids=["real", "complex",
                                                                           "stack", "5x2"])
def test_qr_complete_tall_invariant_quantities_by_finite_differences(a):
    # Q's extra columns are one basis of the complement of its range, LAPACK's
    # choice: every quantity that does not depend on which basis has its
    # exact derivative (the projector, Q's first columns, R with its zero rows)
    check_grads(_complement_projector, (a,), order=2)
    k = min(a.shape[-2:])
    check_grads(lambda x: (np.linalg.qr(x, "complete")[0][..., :, :k],
                           np.linalg.qr(x, "complete")[1]), (a,), order=2)
    v = rand(a.shape[-2], seed=35)
    check_grads(lambda x: np.sum(np.abs(v @ np.linalg.qr(x, "complete")[0][..., :, k:]) ** 2,
                                 axis=-1), (a,), order=2)


def test_qr_complete_tall_gauge_and_unitarity():
    # the documented gauge: Q₂ᴴ dQ₂ = 0, with Q stays unitary to first order
    for a in (A43, C43):
        t = _tangent(a, 7)
        (q, r), (dq, dr) = ad.jvp(lambda x: tuple(np.linalg.qr(x, mode="complete")), (a,), (t,))
        n = a.shape[-1]
        np.testing.assert_allclose(_mH(q[:, n:]) @ dq[:, n:], 0, atol=1e-12)
        np.testing.assert_allclose(_mH(q) @ dq + _mH(dq) @ q, 0, atol=1e-12)
        np.testing.assert_array_equal(dr[n:], 0)
        np.testing.assert_allclose(dq @ r + q @ dr, t, atol=1e-12)
        # and reverse mode is the transpose of that forward map
        u = _tangent(q, 8), _tangent(r, 9)
        _, pullback = ad.vjp(lambda x: tuple(np.linalg.qr(x, mode="complete")), a)
        (ga,) = pullback(u)
        lhs = np.real(np.sum(ga * t))
        rhs = np.real(np.sum(u[0] * dq) + np.sum(u[1] * dr))
        np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


def test_qr_vector_mode_and_nestings():
    for mode in ("reduced", "complete", "r"):
        for a in (A43, A35, A243, C43, crand(2, 2, 4, seed=39)):
            _vector_mode_matches(lambda x: np.linalg.qr(x, mode=mode), a)
    w = rand(4, 3, seed=36)
    for f, a in [(lambda x: np.sum(w * np.linalg.qr(x)[0]) + np.sum(np.linalg.qr(x)[1] ** 2), A43),
                 (lambda x: np.sum(np.linalg.qr(x, mode="r") ** 3), A35),
                 (lambda x: np.sum(_complement_projector(x) * rand(4, 4, seed=37)), A43)]:
        _hessians_agree(f, a)


def test_qr_at_an_upper_triangular_matrix_takes_lapacks_branch():
    # A column already triangular is left unreflected by LAPACK (R keeps its
    # diagonal's sign), and an arbitrarily close matrix gets the opposite
    # sign: NumPy's QR jumps there.  The derivative is that of the branch
    # taken, the QR whose R has the signs of this point (docs/kinks.md).
    a = np.triu(rand(3, 3, seed=38)) + np.diag([1.5, -2.0, 1.0])
    q, r = np.linalg.qr(a)
    np.testing.assert_allclose(np.abs(q), np.eye(3), atol=1e-15)
    signs = np.sign(np.diagonal(r))

    def branch(x):  # NumPy's QR with R's diagonal signs fixed to those at ``a``: smooth
        qq, rr = np.linalg.qr(x)
        d = signs * np.sign(np.diagonal(rr))
        return qq * d, rr * d[:, None]
    t = _tangent(a, 10)
    h = 1e-6
    fd = [(p - m) / (2 * h) for p, m in zip(branch(a + h * t), branch(a - h * t))]
    _, (dq, dr) = ad.jvp(lambda x: tuple(np.linalg.qr(x)), (a,), (t,))
    np.testing.assert_allclose(dq, fd[0], atol=1e-7)
    np.testing.assert_allclose(dr, fd[1], atol=1e-7)
    for part in (0, 1):  # the same in reverse mode
        f = lambda x: np.linalg.qr(x)[part]
        np.testing.assert_allclose(ad.jacrev(f)(a), ad.jacfwd(f)(a), atol=1e-13)


def test_qr_refusals_and_errors():
    _refused(lambda x: np.linalg.qr(x, mode="raw"), (A43,), "mode")
    _refused(lambda x: np.linalg.qr(x, mode="full"), (A43,), "mode")
    _refused(lambda x: np.linalg.qr(x, mode="economic"), (A43,), "mode")
    with pytest.raises(ValueError, match="Unrecognized mode"):
        ad.jvp(lambda x: np.linalg.qr(x, mode="bogus"), (A43,), (A43,))
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        ad.jvp(np.linalg.qr, (V3,), (V3,))
    # rank-deficient: Q is not unique, R has a zero on its diagonal
    for singular in (np.array([[1.0, 0.0, 0.5], [2.0, 0.0, 1.0], [3.0, 0.0, -1.0]]),
                     np.array([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]]),
                     np.array([[0.0, 1.0, 2.0], [0.0, 3.0, 1.0]])):
        assert (np.diagonal(np.linalg.qr(singular).R) == 0).any()
        for f in (lambda x: np.linalg.qr(x)[0], lambda x: np.linalg.qr(x, mode="r")):
            with pytest.raises(np.linalg.LinAlgError, match="linearly independent"):
                ad.jvp(f, (singular,), (np.ones_like(singular),))
            with pytest.raises(np.linalg.LinAlgError, match="linearly independent"):
                ad.grad(lambda x: np.sum(f(x)))(singular)
    # but the value alone is NumPy's
    np.testing.assert_array_equal(ad.vjp(lambda x: np.linalg.qr(x)[0], singular)[0],
                                  np.linalg.qr(singular)[0])


def test_qr_does_not_modify_its_input():
    a = A43.copy()
    ad.grad(lambda x: np.sum(np.linalg.qr(x)[0] ** 3))(a)
    np.testing.assert_array_equal(a, A43)


# ---- matrix_power ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 6, 9, -1, -2, -3, -4, -7])
def test_matrix_power_values_and_derivatives(n):
    for a in (M33, M233, CM33):
        _assert_close(_traced_value(lambda x: np.linalg.matrix_power(x, n), a),
                      np.linalg.matrix_power(a, n), rtol=1e-13)
        check_grads(lambda x: np.linalg.matrix_power(x, n), (a,), order=2)


def test_matrix_power_zero_is_the_identity_with_zero_derivative():
    value, t = ad.jvp(lambda x: np.linalg.matrix_power(x, 0), (M233,), (np.ones_like(M233),))
    np.testing.assert_array_equal(value, np.broadcast_to(np.eye(3), (2, 3, 3)))
    assert np.all(np.asarray(t) == 0)
    g = ad.grad(lambda x: np.sum(np.linalg.matrix_power(x, 0) * x))(M33)
    np.testing.assert_array_equal(g, np.eye(3))


def test_matrix_power_vector_mode_nestings_and_errors():
    _vector_mode_matches(lambda x: np.linalg.matrix_power(x, 5), M233)
    _vector_mode_matches(lambda x: np.linalg.matrix_power(x, -3), M33)
    _hessians_agree(lambda x: np.sum(np.linalg.matrix_power(x, -2) ** 2), M33)
    with pytest.raises(TypeError, match="exponent must be an integer"):
        ad.jvp(lambda x: np.linalg.matrix_power(x, 1.5), (M33,), (M33,))
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        ad.jvp(lambda x: np.linalg.matrix_power(x, 2), (A43,), (A43,))


# ---- multi_dot --------------------------------------------------------------------------------
def test_multi_dot_values_derivatives_and_mixed_constants():
    for arrays in [c[0][0] for c in HONOURED[np.linalg.multi_dot]["arrays"]]:
        expected = np.linalg.multi_dot(arrays)
        value = _traced_value(lambda *xs: np.linalg.multi_dot(list(xs)), *arrays)
        _assert_close(value, expected, rtol=1e-13)
        check_grads(lambda *xs: np.linalg.multi_dot(list(xs)), tuple(arrays), order=2)
    # traced and constant arrays mixed, 1-D ends
    check_grads(lambda b: np.linalg.multi_dot([V4, A43, b, V5]), (A35,), order=2)
    check_grads(lambda a, c: np.linalg.multi_dot([a, A33.tolist(), A35, c]), (A43, V5),
                order=2)


def test_multi_dot_takes_numpys_order():
    # NumPy's own dynamic programme (a private helper, read only to compare)
    from numpy.linalg._linalg import _multi_dot_matrix_chain_order
    from dualad.rules.linalg import _chain_order
    rng = np.random.default_rng(40)
    for _ in range(30):
        dims = rng.integers(1, 9, rng.integers(4, 8))
        arrays = [np.empty((int(dims[i]), int(dims[i + 1]))) for i in range(len(dims) - 1)]
        ours = np.array(_chain_order([a.shape for a in arrays]))
        # (NumPy leaves the entries on and below the diagonal unset)
        np.testing.assert_array_equal(np.triu(ours, 1), np.triu(_multi_dot_matrix_chain_order(arrays), 1))
    # three matrices: the cheaper of (AB)C and A(BC), ties to A(BC) as NumPy
    for arrays in ([rand(10, 100), rand(100, 5), rand(5, 50)],
                   [rand(5, 50), rand(50, 100), rand(100, 10)], [A33, A33, A33]):
        _assert_close(_traced_value(lambda *xs: np.linalg.multi_dot(list(xs)), *arrays),
                      np.linalg.multi_dot(arrays), rtol=1e-13)


def test_multi_dot_errors_and_vector_mode():
    with pytest.raises(ValueError, match="at least two"):
        ad.jvp(lambda x: np.linalg.multi_dot([x]), (A33,), (A33,))
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        ad.jvp(lambda x: np.linalg.multi_dot([x, A243, A33]), (A43,), (A43,))
    _refused(lambda x: np.linalg.multi_dot([x, A33, A33], out=np.empty((4, 3))), (A43,), "out")
    _vector_mode_matches(lambda x: np.linalg.multi_dot([V4, x, A33, A35]), A43)
    _hessians_agree(lambda x: np.linalg.multi_dot([V4, x, x.T, V4]), A43)


# ---- tensorsolve, tensorinv ---------------------------------------------------------------------
def test_tensorsolve_and_tensorinv_values_derivatives_nestings():
    for f, args in [(np.linalg.tensorsolve, (T2323, B23)), (np.linalg.tensorsolve, (T6, B23.T)),
                    (lambda a, b: np.linalg.tensorsolve(a, b, axes=(0, 1)),
                     (np.moveaxis(T2323, (0, 1), (2, 3)), B23)),
                    (np.linalg.tensorinv, (T2323,)), (lambda a: np.linalg.tensorinv(a, ind=1),
                                                      (np.moveaxis(T6, 2, 0),))]:
        _assert_close(_traced_value(f, *args), f(*args), rtol=1e-13)
        check_grads(f, args, order=2)
    _vector_mode_matches(lambda a: np.linalg.tensorsolve(a, B23), T2323)
    _vector_mode_matches(np.linalg.tensorinv, T2323)
    _hessians_agree(lambda a: np.sum(np.linalg.tensorinv(a) ** 2), T2323)
    _hessians_agree(lambda b: np.sum(np.linalg.tensorsolve(T2323, b) ** 3), B23)


def test_tensorsolve_and_tensorinv_errors_are_numpys():
    with pytest.raises(np.linalg.LinAlgError):
        ad.jvp(lambda a: np.linalg.tensorsolve(a, V4), (T2323,), (T2323,))
    with pytest.raises(ValueError, match="Invalid ind"):
        ad.jvp(lambda a: np.linalg.tensorinv(a, ind=0), (T2323,), (T2323,))
    with pytest.raises(np.linalg.LinAlgError):
        ad.jvp(lambda a: np.linalg.tensorinv(a, ind=1), (T2323,), (T2323,))


# ---- vector_norm -------------------------------------------------------------------------------
ORDS = [2, 1, np.inf, -np.inf, 0, -1, 3, 0.5, -2, 1.5]
AXES = [None, 0, -1, (0, 2), (2, 0), (1,), (), (0, 1, 2)]


@pytest.mark.parametrize("ord", ORDS, ids=[str(o) for o in ORDS])
def test_vector_norm_every_ord_axis_keepdims_real_and_complex(ord):
    for x in (X234, XC234):
        for axis in AXES:
            for keepdims in (False, True):
                f = lambda a: np.linalg.vector_norm(a, axis=axis, keepdims=keepdims, ord=ord)
                _assert_close(_traced_value(f, x), f(x), rtol=1e-13)
                if axis in (None, (0, 1, 2), (0, 2)) or keepdims:
                    check_grads(f, (x,), order=2 if axis == (0, 2) else 1)


def test_vector_norm_equals_norm_of_one_axis_and_scalars():
    for ord in ORDS:
        for axis in (0, 1, -1):
            for keepdims in (False, True):
                x = X234
                g1 = ad.grad(lambda a: np.sum(np.linalg.vector_norm(a, axis=axis, ord=ord,
                                                                     keepdims=keepdims)))(x)
                g2 = ad.grad(lambda a: np.sum(np.linalg.norm(a, ord, axis, keepdims)))(x)
                np.testing.assert_allclose(g1, g2, rtol=1e-14)
    for x in (np.array(-1.7), np.array(2.5 + 1j)):
        f = lambda a: np.linalg.vector_norm(a, ord=3)
        _assert_close(_traced_value(f, x), f(x))
        check_grads(f, (x,), order=2)
    check_grads(lambda a: np.linalg.vector_norm(a, keepdims=True), (np.array(0.8),), order=2)


def test_vector_norm_kinks_errors_and_vector_mode():
    g = ad.grad(np.linalg.vector_norm)(np.zeros(3))  # 0 at 0, as norm (docs/kinks.md)
    np.testing.assert_array_equal(g, 0)
    g = ad.grad(lambda a: np.linalg.vector_norm(a, ord=0))(X234)
    np.testing.assert_array_equal(g, 0)
    with pytest.raises(ValueError, match="Invalid norm order 'fro' for vectors"):
        ad.jvp(lambda a: np.linalg.vector_norm(a, ord="fro"), (X234,), (X234,))
    with pytest.raises(np.exceptions.AxisError):
        ad.jvp(lambda a: np.linalg.vector_norm(a, axis=3), (X234,), (X234,))
    _vector_mode_matches(lambda a: np.linalg.vector_norm(a, axis=(0, 2), ord=3), X234)
    _hessians_agree(lambda a: np.linalg.vector_norm(a, ord=3), X234[0])
    _hessians_agree(lambda a: np.linalg.vector_norm(a), X234[0])


# ---- matvec, vecmat -------------------------------------------------------------------------------
def test_matvec_and_vecmat_values_derivatives_and_conjugation():
    cases = [(np.matvec, A43, V3), (np.matvec, A243, V3), (np.matvec, A33, rand(5, 1, 3)),
             (np.matvec, C43, crand(3, seed=41)), (np.vecmat, V4, A43), (np.vecmat, V4, A243),
             (np.vecmat, crand(4, seed=42), C43), (np.vecmat, crand(2, 1, 4, seed=43), C43),
             (np.vecmat, crand(4, seed=44), A43)]
    for f, x1, x2 in cases:
        _assert_close(_traced_value(f, x1, x2), f(x1, x2), rtol=1e-13)
        check_grads(f, (x1, x2), order=2)
    # vecmat conjugates its vector: conj(v) @ M
    v, m = crand(4, seed=45), C43
    np.testing.assert_allclose(_traced_value(np.vecmat, v, m), np.conj(v) @ m, rtol=1e-13)
    _, t = ad.jvp(lambda z: np.vecmat(z, m), (v,), (1j * np.ones(4),))
    np.testing.assert_allclose(t, np.conj(1j * np.ones(4)) @ m, rtol=1e-13)
    _vector_mode_matches(lambda x: np.matvec(x, V3), A243)
    _vector_mode_matches(lambda x: np.vecmat(x, A243), V4)
    _hessians_agree(lambda x: np.sum(np.matvec(x, x[0]) ** 2), A33)
    _hessians_agree(lambda x: np.sum(np.vecmat(x[0], x) ** 2), A33)


@pytest.mark.parametrize("f", [np.matvec, np.vecmat], ids=["matvec", "vecmat"])
def test_matvec_vecmat_refusals_dtype_and_errors(f):
    x1, x2 = (A43, V3) if f is np.matvec else (V4, A43)
    for keyword, value in [("axes", [(-2, -1), (-1,), (-1,)]), ("axis", -1), ("keepdims", True),
                           ("casting", "unsafe"), ("order", "C"), ("subok", False),
                           ("signature", "dd->d"), ("out", np.empty(3))]:
        _refused(lambda a, b: f(a, b, **{keyword: value}), (x1, x2), keyword)
    with pytest.raises(TypeError):  # NumPy's casting error (float to int, 'same_kind')
        f(x1, x2, dtype=int)
    with pytest.raises(TypeError):
        ad.jvp(lambda a, b: f(a, b, dtype=int), (x1, x2), (x1, x2))
    value, t = ad.jvp(lambda a, b: f(a, b, dtype=np.float32), (x1, x2), (x1, x2))
    _assert_close(value, f(x1, x2, dtype=np.float32), rtol=1e-6)
    assert np.asarray(t).dtype == np.float32
    with pytest.raises(ValueError, match="enough dimensions"):
        ad.jvp(lambda a: f(a, np.float64(2.0)) if f is np.matvec else f(np.float64(2.0), a),
               (A43,), (A43,))


# ---- einsum: the sublist form, optimize paths, broadcasting; einsum_path ------------------------
E = Ellipsis
SUBLIST_CASES = [
    ("matmul", (A43, [0, 1], A33, [1, 2])),
    ("matmul-out", (A43, [0, 1], A33, [1, 2], [2, 0])),
    ("implicit-transpose", (A43, [1, 0])),
    ("trace", (A33, [0, 0])),
    ("diagonal", (A33, [0, 0], [0])),
    ("ellipsis", (A243, [E, 0, 1], rand(2, 3, 4, seed=46), [E, 1, 2], [E, 0, 2])),
    ("ellipsis-implicit", (A243, [E, 0, 1], A33, [1, 2])),
    ("ellipsis-bcast-size1", (rand(1, 4, 3, seed=47), [E, 0, 1], A243, [E, 0, 1], [E])),
    ("high-labels", (A43, [30, 51], V3, [51], [30])),
    ("numpy-int-labels", (A43, [np.int64(0), np.int32(1)])),
    ("three-operands", (A43, [0, 1], A33, [1, 2], A35, [2, 3], [0, 3])),
    ("complex", (C43, [0, 1], C35, [1, 2])),
    ("scalar-out", (V3, [0], V3, [0], [])),
    ("repeated-three", (rand(2, 2, 2, seed=48), [0, 0, 0], [0])),
]


def _sublist_call(args):
    """(the traced positions' values, a function of them that calls einsum)."""
    positions = [i for i in range(0, len(args), 2) if not isinstance(args[i], list)]

    def f(*ops):
        full = list(args)
        for i, o in zip(positions, ops):
            full[i] = o
        return np.einsum(*full)
    return tuple(args[i] for i in positions), f


@pytest.mark.parametrize("name, args", SUBLIST_CASES, ids=[n for n, _ in SUBLIST_CASES])
def test_einsum_sublist_form_values_and_derivatives(name, args):
    ops, f = _sublist_call(args)
    _assert_close(_traced_value(f, *ops), np.einsum(*args), rtol=1e-13)
    check_grads(f, ops, order=2)


def test_einsum_sublist_form_equals_the_string_form_and_errors_are_numpys():
    a, b = A243, rand(2, 3, 4, seed=49)
    s = _traced_value(lambda x, y: np.einsum("...ij,...jk->...ki", x, y), a, b)
    l = _traced_value(lambda x, y: np.einsum(x, [E, 8, 9], y, [E, 9, 10], [E, 10, 8]), a, b)
    np.testing.assert_array_equal(s, l)
    for bad, error in [([0, 52], ValueError), ([0, -1], ValueError), ([0, "i"], TypeError)]:
        with pytest.raises(error):
            np.einsum(A43, bad)
        with pytest.raises(error):
            ad.jvp(lambda x: np.einsum(x, bad), (A43,), (A43,))
    # dtype and casting in the sublist form
    value = _traced_value(lambda x: np.einsum(x, [0, 1], V3, [1], dtype=np.float32,
                                              casting="same_kind"), A43)
    _assert_close(value, np.einsum(A43, [0, 1], V3, [1], dtype=np.float32, casting="same_kind"),
                  rtol=1e-6)
    with pytest.raises(TypeError):
        ad.jvp(lambda x: np.einsum(x, [0, 1], V3.astype(np.float32), [1], casting="no"),
               (A43,), (A43,))
    _refused(lambda x: np.einsum(x, [0, 1], order="C"), (A43,), "order")


def test_einsum_broadcast_size1_against_a_summed_letter():
    # 'ij,ij->' with the first operand of size 1 along i: the second
    # operand's cotangent spreads back over i (a reverse-mode case that once
    # came out of the shape (1, 3))
    for spec, shapes in [("ij,ij->", [(1, 3), (2, 3)]), ("ij,ij->", [(2, 3), (2, 1)]),
                         ("ij,kj->k", [(1, 3), (4, 3)]), ("...i,...i", [(1, 3), (5, 3)]),
                         ("ij,jk->", [(2, 1), (3, 4)])]:
        ops = tuple(rand(*s, seed=i) for i, s in enumerate(shapes))
        try:
            expected = np.einsum(spec, *ops)
        except ValueError:
            continue
        f = lambda *o: np.einsum(spec, *o)
        _assert_close(_traced_value(f, *ops), expected, rtol=1e-13)
        check_grads(f, ops, order=2)


def test_einsum_string_forms_against_numpy():
    for spec, shapes in [("...ij,...jk", [(2, 2, 3), (2, 3, 4)]), ("ij,jk", [(2, 3), (3, 4)]),
                         ("ba,ab", [(2, 3), (3, 2)]), ("Ab,bA->A", [(2, 3), (3, 2)]),
                         ("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("iij->j", [(2, 2, 3)]),
                         ("ij...,jk...->ik...", [(2, 3, 5), (3, 4, 1)]), ("i...->...", [(3, 2, 2)]),
                         ("...", [(2, 3)]), ("ij,ij->i", [(1, 3), (2, 3)])]:
        ops = tuple(rand(*s, seed=i) for i, s in enumerate(shapes))
        for optimize in (False, True, "greedy", "optimal"):
            f = lambda *o: np.einsum(spec, *o, optimize=optimize)
            _assert_close(_traced_value(f, *ops), np.einsum(spec, *ops, optimize=optimize),
                          rtol=1e-13)
        check_grads(lambda *o: np.einsum(spec, *o), ops, order=2)


def test_einsum_optimize_paths_and_einsum_path():
    ops = (A43, A33, A35, rand(5, 2, seed=50))
    spec = "ij,jk,kl,lm->im"
    path, _ = np.einsum_path(spec, *ops, optimize="optimal")
    for optimize in (path, "optimal", "greedy", True, False, ["einsum_path", (0, 1), (0, 1), (0, 1)]):
        f = lambda *o: np.einsum(spec, *o, optimize=optimize)
        _assert_close(_traced_value(f, *ops), np.einsum(spec, *ops, optimize=optimize), rtol=1e-13)
        check_grads(f, ops, order=1)
    # einsum_path on traced operands: NumPy's path (it depends only on the shapes)
    traced_path = []
    g = ad.grad(lambda x: np.sum(np.einsum(spec, x, *ops[1:], optimize=traced_path.append(
        np.einsum_path(spec, x, *ops[1:], optimize="optimal")) or traced_path[0][0])))(A43)
    assert traced_path[0] == np.einsum_path(spec, *ops, optimize="optimal")
    np.testing.assert_allclose(g, ad.grad(lambda x: np.sum(np.einsum(spec, x, *ops[1:])))(A43),
                               rtol=1e-12)
    shapes_path = np.einsum_path(spec, *(np.empty(np.shape(o)) for o in ops))[0]
    check_grads(lambda *o: np.einsum(spec, *o, optimize=shapes_path), ops, order=2)
    bad = ["einsum_path", (0, 7)]
    with pytest.raises(Exception) as numpys:
        np.einsum(spec, *ops, optimize=bad)
    with pytest.raises(type(numpys.value)):  # an invalid path: NumPy's error
        ad.jvp(lambda x: np.einsum(spec, x, *ops[1:], optimize=["einsum_path", (0, 7)]),
               (A43,), (A43,))


def test_einsum_sublist_vector_mode_and_nestings():
    _vector_mode_matches(lambda x: np.einsum(x, [E, 0, 1], x, [E, 1, 2], [E, 0, 2]),
                         rand(2, 3, 3, seed=51))
    _hessians_agree(lambda x: np.einsum(x, [0, 1], x, [1, 2], x, [2, 0], []), A33)
    _hessians_agree(lambda x: np.einsum(x, [0, 0]) ** 2, A33)
