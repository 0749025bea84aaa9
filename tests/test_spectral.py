"""svd, svdvals, eig, eigvals, pinv, lstsq, matrix_norm, norm(ord=2|-2|'nuc')
and cond (dualad/rules/spectral.py).

``HONOURED`` (read by tests/test_keywords.py) lists each honoured parameter
with sample calls: the walker checks their values against NumPy's and their
first derivatives (every float output, complex included) by central
differences.  Complex ``svd`` factors are defined only up to a phase per
pair, so the walker sees complex ``svd`` only with ``compute_uv=False``;
``eig``'s eigenvectors are NumPy's own (LAPACK's normalisation, which the
rule keeps), so the walker differentiates them raw, complex ones included.

The named tests below check against central differences (``check_grads``,
orders 1 and 2, both modes) and between modes, never against the rules'
formulas: phase-invariant quantities of complex factors, the gauge and the
normalisation kept, the extra columns of ``full_matrices=True``, the
degenerate points of docs/kinks.md (repeated and zero singular values,
repeated eigenvalues, ties in the 2-norm), pinv and lstsq at constant rank,
and the values against NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads


def rand(*shape, seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def crand(*shape, seed=0):
    return rand(*shape, seed=seed) + 1j * rand(*shape, seed=seed + 100)


def mH(x):
    return np.conj(np.swapaxes(x, -1, -2))


A33 = rand(3, 3, seed=1)
A43 = rand(4, 3, seed=2)
A24 = rand(2, 4, seed=3)
A233 = rand(2, 3, 3, seed=4)
A232 = rand(2, 3, 2, seed=5)
Z33 = crand(3, 3, seed=6)
Z43 = crand(4, 3, seed=7)
Z233 = crand(2, 3, 3, seed=8)
RC = np.array([[0.5, -2.0, 0.3], [1.5, 0.2, -0.4], [0.1, 0.7, 1.1]])  # a complex pair
RANK2 = rand(4, 2, seed=9) @ rand(2, 3, seed=10)                       # 4x3 of rank 2
B4 = rand(4, seed=11)
B42 = rand(4, 2, seed=12)
WELL = A33 + 2.5 * np.eye(3)

HONOURED = {
    np.linalg.svd: {
        "a": [((A33,), {}), ((A233,), {}), ((A43,), {"full_matrices": False}),
              ((Z43,), {"compute_uv": False}), ((A33.astype(np.float32),), {})],
        "full_matrices": [((A43,), {"full_matrices": False}), ((A24,), {"full_matrices": False}),
                          ((A33,), {"full_matrices": True}), ((A232,), {"full_matrices": False})],
        "compute_uv": [((A43,), {"compute_uv": False}), ((A233,), {"compute_uv": False}),
                       ((A33,), {"compute_uv": True}), ((Z233,), {"compute_uv": False})],
        "hermitian": [((A33,), {"hermitian": True}), ((A233,), {"hermitian": True}),
                      ((A33,), {"hermitian": True, "compute_uv": False}),
                      ((Z33,), {"hermitian": True, "compute_uv": False}),
                      ((A43,), {"hermitian": False, "full_matrices": False})],
    },
    np.linalg.svdvals: {"x": [((A43,), {}), ((A24,), {}), ((Z233,), {}), ((A232,), {})]},
    np.linalg.eig: {"a": [((A33 + np.diag([2.0, 0.0, -2.0]),), {}), ((RC,), {}), ((Z33,), {}),
                          ((A233,), {}), ((Z233,), {})]},
    np.linalg.eigvals: {"a": [((RC,), {}), ((Z33,), {}), ((A233,), {})]},
    np.linalg.pinv: {
        "a": [((A43,), {}), ((A24,), {}), ((Z43,), {}), ((A232,), {})],
        "rcond": [((A43, 1e-10), {}), ((RANK2, 1e-3), {}), ((A232, np.array([1e-8, 1e-9])), {}),
                  ((A43,), {"rcond": None})],
        "hermitian": [((A33,), {"hermitian": True}), ((Z33,), {"hermitian": True}),
                      ((A233,), {"hermitian": True}), ((A43,), {"hermitian": False})],
        "rtol": [((A43,), {"rtol": None}), ((RANK2,), {"rtol": 1e-3}), ((Z43,), {"rtol": 1e-12})],
    },
    np.linalg.lstsq: {
        # (not at a rank-deficient a: its zero singular value, in s, is a kink)
        "a": [((A43, B4), {}), ((A24, B4[:2]), {}), ((Z43, B4), {}), ((A43 + 0j, B4), {})],
        "b": [((A43, B42), {}), ((A43, B4 + 1j * B4[::-1]), {}), ((A24, B42[:2]), {})],
        "rcond": [((A43, B4, None), {}), ((A43, B42, 1e-3), {}), ((A43, B4), {"rcond": 1e-10})],
    },
    np.linalg.matrix_norm: {
        "x": [((A43,), {}), ((Z233,), {}), ((A232,), {"ord": 2})],
        "keepdims": [((A233,), {"keepdims": True}), ((A43,), {"keepdims": True, "ord": "nuc"}),
                     ((A232,), {"keepdims": False, "ord": -2})],
        "ord": [((A43,), {"ord": o}) for o in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)]
        + [((Z33,), {"ord": o}) for o in ("nuc", 2, -2)],
    },
    np.linalg.cond: {
        "x": [((WELL,), {}), ((A43,), {}), ((Z33,), {}), ((A233,), {})],
        "p": [((WELL,), {"p": p}) for p in (None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf)]
        + [((Z33,), {"p": "fro"}), ((A233,), {"p": 1}), ((A43,), {"p": -2})],
    },
    np.linalg.matrix_rank: {
        "A": [((RANK2,), {}), ((A233,), {})], "tol": [((RANK2, 1e-3), {})],
        "hermitian": [((A33 + A33.T,), {"hermitian": True})], "rtol": [((RANK2,), {"rtol": 0.1})],
    },
    np.linalg.norm: {
        "ord": [((A43, 2), {}), ((A43, -2), {}), ((A43, "nuc"), {}), ((Z33, 2), {}),
                ((A233, "nuc"), {"axis": (1, 2)})],
        "axis": [((A233, 2), {"axis": (2, 0)}), ((A233, -2), {"axis": (0, 1), "keepdims": True})],
    },
}


def traced(f, *args):
    """``f`` run on traced copies of ``args`` (forward mode): its value."""
    return ad.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]


def assert_same(actual, expected, rtol=1e-12):
    la, le = ad.tree_flatten(actual)[0], ad.tree_flatten(expected)[0]
    assert len(la) == len(le)
    for a, e in zip(la, le):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, (a.shape, e.shape, a.dtype, e.dtype)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * 1e-2)


# ---- values ---------------------------------------------------------------------------------
VALUE_CALLS = [
    ("svd", np.linalg.svd, (A43,)), ("svd-complex", np.linalg.svd, (Z43,)),
    ("svd-thin-batched", lambda a: np.linalg.svd(a, full_matrices=False), (Z233,)),
    ("svd-hermitian", lambda a: np.linalg.svd(a, hermitian=True), (Z33,)),
    ("svd-float32", np.linalg.svd, (A33.astype(np.float32),)),
    ("eig", np.linalg.eig, (RC,)), ("eig-complex", np.linalg.eig, (Z233,)),
    ("eigvals", np.linalg.eigvals, (A233,)),
    ("pinv", np.linalg.pinv, (Z43,)), ("pinv-rank2", np.linalg.pinv, (RANK2,)),
    ("pinv-hermitian", lambda a: np.linalg.pinv(a, hermitian=True), (Z33,)),
    ("lstsq", np.linalg.lstsq, (A43, B42)), ("lstsq-rank2", np.linalg.lstsq, (RANK2, B4)),
    ("lstsq-complex", np.linalg.lstsq, (Z43, B4)),
    ("cond", np.linalg.cond, (Z233,)), ("cond-fro", lambda x: np.linalg.cond(x, "fro"), (Z33,)),
    ("matrix_norm-nuc", lambda x: np.linalg.matrix_norm(x, ord="nuc"), (Z233,)),
]


@pytest.mark.parametrize("f, args", [c[1:] for c in VALUE_CALLS], ids=[c[0] for c in VALUE_CALLS])
def test_traced_value_is_numpys(f, args):
    rtol = 2e-6 if args[0].dtype == np.float32 else 1e-12
    assert_same(traced(f, *args), f(*args), rtol=rtol)


def test_lstsq_rank_is_numpys_integer():
    for a, b in [(A43, B4), (RANK2, B42), (A24, B4[:2])]:
        x, res, rank, s = traced(lambda a, b: np.linalg.lstsq(a, b), a, b)
        expected = np.linalg.lstsq(a, b)
        assert type(rank) is type(expected[2]) and rank == expected[2]
        assert res.shape == expected[1].shape


# ---- svd -------------------------------------------------------------------------------------
def _phase_free(u, s, vh):
    """Quantities unchanged by u_i, v_i -> e^{iφ} u_i, e^{iφ} v_i."""
    k = s.shape[-1]
    u1 = u[..., :, :k]
    return (s, (u1 * s[..., None, :]) @ vh[..., :k, :], u1 @ vh[..., :k, :],
            np.abs(u1) ** 2, np.abs(vh) ** 2, u1[..., :, :1] * vh[..., :1, :])


@pytest.mark.parametrize("a", [Z43, crand(2, 4, seed=20), Z233], ids=["tall", "wide", "batched"])
def test_complex_svd_phase_invariant_quantities(a):
    check_grads(lambda x: _phase_free(*np.linalg.svd(x, full_matrices=False)), (a,), order=2)


def test_complex_svd_gauge():
    """The documented gauge: diag(Vᴴ dV) = 0, and Uᴴ dU, Vᴴ dV anti-Hermitian
    (the factors stay unitary), in forward and in reverse mode."""
    t = crand(4, 3, seed=21)
    (u, s, vh), (du, ds, dvh) = ad.jvp(lambda x: tuple(np.linalg.svd(x, full_matrices=False)),
                                       (Z43,), (t,))
    ou, ov = mH(u) @ du, vh @ mH(dvh)
    np.testing.assert_allclose(np.diag(ov), 0, atol=1e-12)
    np.testing.assert_allclose(ou + mH(ou), 0, atol=1e-12)
    np.testing.assert_allclose(ov + mH(ov), 0, atol=1e-12)
    # the phase's rate is in U: Im diag(Uᴴ dU) = Im diag(Uᴴ dA V) / s
    np.testing.assert_allclose(np.imag(np.diag(ou)), np.imag(np.diag(mH(u) @ t @ mH(vh))) / s,
                               atol=1e-12)
    # reverse mode is this JVP's transpose: Re <g, J t> = Re <Jᵀ g, t>
    g = (crand(4, 3, seed=22), rand(3, seed=23), crand(3, 3, seed=24))
    _, pullback = ad.vjp(lambda x: tuple(np.linalg.svd(x, full_matrices=False)), Z43)
    (ga,) = pullback(g)
    lhs = sum(np.real(np.sum(gi * ti)) for gi, ti in zip(g, (du, ds, dvh)))
    np.testing.assert_allclose(np.real(np.sum(ga * t)), lhs, rtol=1e-10)


@pytest.mark.parametrize("a", [A43, A24, Z43, crand(2, 3, 5, seed=25)],
                         ids=["tall", "wide", "complex", "complex-batched-wide"])
def test_full_matrices_extra_columns(a):
    """U (m x m) and V (n x n): NumPy's values; the derivative keeps them
    unitary, rotates the extra columns least (U2ᴴ dU2 = 0), and the
    complement's projector -- which is unique -- matches finite differences."""
    k = min(a.shape[-2:])
    value = traced(np.linalg.svd, a)
    assert_same(value, np.linalg.svd(a))
    t = rand(*a.shape, seed=26) + (1j * rand(*a.shape, seed=27) if np.iscomplexobj(a) else 0)
    (u, s, vh), (du, ds, dvh) = ad.jvp(lambda x: tuple(np.linalg.svd(x)), (a,), (t,))
    for q, dq in [(u, du), (mH(vh), mH(dvh))]:
        omega = mH(q) @ dq
        np.testing.assert_allclose(omega + mH(omega), 0, atol=1e-12)
        np.testing.assert_allclose(omega[..., k:, k:], 0, atol=1e-12)

    # the pullback is the transpose of this JVP on the raw factors: Re <g, J t> = Re <Jᵀ g, t>
    rng = np.random.default_rng(28)
    g = tuple(rng.standard_normal(o.shape) + (1j * rng.standard_normal(o.shape)
                                               if np.iscomplexobj(o) else 0) for o in (u, s, vh))
    (ga,) = ad.vjp(lambda x: tuple(np.linalg.svd(x)), a)[1](g)
    lhs = sum(np.real(np.sum(gi * ti)) for gi, ti in zip(g, (du, ds, dvh)))
    np.testing.assert_allclose(np.real(np.sum(ga * t)), lhs, rtol=1e-10)

    def projectors(x):
        u, s, vh = np.linalg.svd(x)
        return u[..., :, k:] @ mH(u[..., :, k:]), mH(vh[..., k:, :]) @ vh[..., k:, :], s
    check_grads(projectors, (a,), order=2)


def test_repeated_singular_values_give_finite_derivatives():
    """At 2Q (Q orthogonal) every singular value is 2: U and V are not
    unique.  The derivative is finite, and the polar factor U Vh -- unique
    for an invertible matrix -- gets its exact derivative (the tie's
    singular term is the Hermitian part only)."""
    q = np.linalg.qr(rand(3, 3, seed=28))[0]
    a = 2 * q
    t = rand(3, 3, seed=29)
    _, tangents = ad.jvp(lambda x: tuple(np.linalg.svd(x)), (a,), (t,))
    assert all(np.all(np.isfinite(d)) for d in tangents)
    g = ad.grad(lambda x: np.sum(np.linalg.svd(x)[0] * rand(3, 3, seed=30)))(a)
    assert np.all(np.isfinite(g))
    polar = lambda x: (lambda u, s, vh: u @ vh)(*np.linalg.svd(x))  # noqa: E731
    _, d = ad.jvp(polar, (a,), (t,))
    h = 1e-6
    np.testing.assert_allclose(d, (polar(a + h * t) - polar(a - h * t)) / (2 * h), atol=1e-8)
    jf, jr = ad.jacfwd(polar)(a), ad.jacrev(polar)(a)
    np.testing.assert_allclose(jf, jr, atol=1e-12)


def test_nuclear_norm_at_the_identity():
    # smooth there although every singular value is repeated: gradient I
    for mode in (ad.grad, ad.jacfwd):
        np.testing.assert_allclose(mode(lambda x: np.linalg.norm(x, "nuc"))(np.eye(3)), np.eye(3),
                                   atol=1e-14)


def test_zero_singular_value_has_a_one_sided_slope():
    """s_min of a singular square matrix is |.|-like: its derivative is
    Re u_minᴴ dA v_min with NumPy's (sign-arbitrary) u, v -- one of the two
    one-sided slopes ±|u_minᴴ dA v_min|, finite.  For a tall matrix the
    zero value's left subspace is larger, and the same formula is a
    subgradient: at most the one-sided slope."""
    a = rand(3, 2, seed=42) @ rand(2, 3, seed=43)
    t = rand(3, 3, seed=31)
    s, ds = ad.jvp(np.linalg.svdvals, (a,), (t,))
    assert s[-1] < 1e-14
    h = 1e-7
    slope = np.linalg.svdvals(a + h * t)[-1] / h
    np.testing.assert_allclose(abs(ds[-1]), slope, rtol=1e-5)
    g = ad.grad(lambda x: np.linalg.svdvals(x)[-1])(a)
    np.testing.assert_allclose(np.sum(g * t), ds[-1], rtol=1e-12)
    t = rand(4, 3, seed=44)
    _, ds = ad.jvp(np.linalg.svdvals, (RANK2,), (t,))
    assert abs(ds[-1]) <= np.linalg.svdvals(RANK2 + h * t)[-1] / h * (1 + 1e-5)


def test_hermitian_svd_is_composed_from_eigh():
    # NumPy reads the lower triangle (eigh): the upper one has derivative 0
    g = ad.grad(lambda x: np.sum(np.linalg.svd(x, hermitian=True, compute_uv=False) ** 2))(A33)
    np.testing.assert_array_equal(np.triu(g, 1), 0)
    check_grads(lambda x: np.linalg.svd(x, hermitian=True)[1], (Z33,), order=2)
    check_grads(lambda x: (lambda u, s, vh: (u * s) @ vh)(*np.linalg.svd(x, hermitian=True)),
                (Z33,), order=2)


# ---- eig ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("a", [RC, Z33, Z233, rand(2, 4, 4, seed=32)],
                         ids=["real-complex-pair", "complex", "complex-batched", "real-batched"])
def test_eig_differentiates_numpys_eigenvectors(a):
    """Raw eigenvectors, in LAPACK's normalisation (unit columns, largest
    entry real): central differences of NumPy's own eig."""
    check_grads(np.linalg.eig, (a,), order=2)


def test_eig_keeps_the_normalisation():
    t = crand(3, 3, seed=33)
    (w, v), (dw, dv) = ad.jvp(lambda x: tuple(np.linalg.eig(x)), (Z33,), (t,))
    np.testing.assert_allclose(np.real(np.sum(np.conj(v) * dv, axis=0)), 0, atol=1e-12)
    k = np.argmax(np.abs(v), axis=0)
    np.testing.assert_allclose(np.imag(dv[k, np.arange(3)]), 0, atol=1e-12)


def test_eigenvalues_by_finite_differences_and_modes():
    f = lambda x: np.linalg.eigvals(x)  # noqa: E731
    check_grads(f, (rand(4, 4, seed=34),), order=2)
    check_grads(f, (crand(4, 4, seed=35),), order=2)
    # a real input's gradient is real, with complex eigenvalues in between
    g = ad.grad(lambda x: np.sum(np.abs(np.linalg.eigvals(x)) ** 2))(RC)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, ad.jacfwd(lambda x: np.sum(np.abs(np.linalg.eigvals(x)) ** 2))(RC),
                               rtol=1e-10)
    scalar = lambda x: np.sum(np.real(np.linalg.eigvals(x) ** 3))  # noqa: E731
    np.testing.assert_allclose(ad.hessian(scalar)(RC), ad.jacrev(ad.jacrev(scalar))(RC),
                               rtol=1e-9, atol=1e-11)


def test_repeated_eigenvalues_give_finite_derivatives():
    """At the identity every eigenvalue is 1 and V is not unique: the
    eigenvalues' derivative is diag(V⁻¹ dA V), the eigenvectors' finite."""
    t = rand(3, 3, seed=36)
    (w, v), (dw, dv) = ad.jvp(lambda x: tuple(np.linalg.eig(x)), (np.eye(3),), (t,))
    np.testing.assert_allclose(dw, np.diag(np.linalg.solve(v, t @ v)))
    assert np.all(np.isfinite(dv))


VECTOR_MODE = [
    ("eig", lambda x: tuple(np.linalg.eig(x)), Z233),
    ("svd-full", lambda x: _phase_free(*np.linalg.svd(x)), crand(2, 4, 3, seed=45)),
    ("svd-wide", lambda x: _phase_free(*np.linalg.svd(x, full_matrices=False)), crand(3, 5, seed=46)),
    ("pinv", np.linalg.pinv, Z43),
    ("lstsq", lambda x: np.linalg.lstsq(x, B42 + 1j)[:2], Z43),
    ("cond", np.linalg.cond, Z233),
]


@pytest.mark.parametrize("f, x", [c[1:] for c in VECTOR_MODE], ids=[c[0] for c in VECTOR_MODE])
def test_complex_vector_mode(f, x):
    """k directions at once equal k single JVPs, for f and for its pullback."""
    vs = crand(3, *x.shape, seed=37)
    _, batched = ad.jvp(f, (x,), (vs,), batched=True)
    for i in range(3):
        _, single = ad.jvp(f, (x,), (vs[i],))
        for b, s in zip(ad.tree_flatten(batched)[0], ad.tree_flatten(single)[0]):
            np.testing.assert_allclose(b[i], s, rtol=1e-10, atol=1e-12)
    out = f(x)
    u = ad.tree_unflatten(ad.tree_flatten(out)[1],
                          [crand(*np.shape(o), seed=38) if np.iscomplexobj(o) else rand(*np.shape(o), seed=38)
                           for o in ad.tree_flatten(out)[0]])
    pull = lambda y: ad.vjp(f, y)[1](u)[0]  # noqa: E731
    _, batched = ad.jvp(pull, (x,), (vs,), batched=True)
    for i in range(3):
        np.testing.assert_allclose(batched[i], ad.jvp(pull, (x,), (vs[i],))[1], rtol=1e-10, atol=1e-12)


# ---- pinv and lstsq at constant rank ------------------------------------------------------------
def test_pinv_rank_held_by_the_cutoff():
    """At a rank-2 matrix a cutoff above the perturbations keeps the rank:
    central differences along any direction match (the formula is the
    constant-rank derivative)."""
    check_grads(lambda x: np.linalg.pinv(x, rcond=1e-3), (RANK2,), order=2)
    check_grads(lambda x: np.linalg.pinv(x, rtol=1e-3), (crand(4, 2, seed=38) @ crand(2, 3, seed=39),),
                order=2)
    check_grads(lambda x: np.linalg.lstsq(x, B42, rcond=1e-3)[0], (RANK2,), order=2)


def test_pinv_complex_and_hermitian():
    check_grads(np.linalg.pinv, (Z43,), order=2)
    check_grads(lambda x: np.linalg.pinv(x, hermitian=True), (Z33,), order=2)
    g = ad.grad(lambda x: np.sum(np.linalg.pinv(x, hermitian=True) * A33))(A33)
    np.testing.assert_array_equal(np.triu(g, 1), 0)  # the upper triangle is not read


def test_pinv_keywords_as_numpy():
    with pytest.raises(ValueError, match="rtol"):
        traced(lambda x: np.linalg.pinv(x, rcond=1e-3, rtol=1e-3), A43)
    assert_same(traced(lambda x: np.linalg.pinv(x, rtol=0.5), A43), np.linalg.pinv(A43, rtol=0.5))


def test_lstsq_residuals_and_complex():
    f = lambda a, b: np.linalg.lstsq(a, b)[:2]  # noqa: E731
    check_grads(f, (Z43, crand(4, 2, seed=40)), order=2)
    check_grads(f, (A43, B4 + 1j * B4[::-1]), order=2)
    ga, gb = ad.grad(lambda a, b: np.sum(np.linalg.lstsq(a, b)[1]), argnums=(0, 1))(A43, B4 + 0j)
    assert ga.dtype == np.float64 and gb.dtype == np.complex128
    scalar = lambda a: np.sum(np.linalg.lstsq(a, B42)[1])  # noqa: E731
    np.testing.assert_allclose(ad.hessian(scalar)(A43), ad.jacrev(ad.jacrev(scalar))(A43),
                               rtol=1e-9, atol=1e-11)


def test_lstsq_constant_b_and_underdetermined():
    check_grads(lambda a: np.linalg.lstsq(a, [1.0, 2.0, 0.5, -1.0])[0], (A43,), order=2)
    x, res, rank, s = traced(lambda a: np.linalg.lstsq(a, np.ones(2)), A24)
    assert res.shape == (0,) and rank == 2
    check_grads(lambda b: np.linalg.lstsq(A24, b)[0], (B42[:2],), order=2)


# ---- norms and cond --------------------------------------------------------------------------
@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf])
def test_matrix_norm_complex(ord):
    check_grads(lambda x: np.linalg.matrix_norm(x, ord=ord), (Z233,), order=2)


def test_two_norm_splits_a_tie():
    """At 2Q every singular value is the largest: the derivative is split
    equally, (1/3) Σ u_i v_iᵀ = Q/3, in both modes."""
    q = np.linalg.qr(rand(3, 3, seed=41))[0]
    for mode in (ad.grad, ad.jacfwd):
        np.testing.assert_allclose(mode(lambda x: np.linalg.norm(x, 2))(2 * q), q / 3, atol=1e-12)


@pytest.mark.parametrize("p", [None, 2, -2, "fro", "nuc", 1, -1, np.inf, -np.inf])
def test_cond_at_a_singular_matrix(p):
    """NumPy's inf, with derivative 0 (documented in docs/kinks.md); 1/cond
    (p=-2) is 0 there."""
    a = np.array([[1.0, 0.0], [0.0, 0.0]])  # an exactly zero singular value
    f = lambda x: np.linalg.cond(x, p)  # noqa: E731
    try:
        expected = f(a)
    except np.linalg.LinAlgError:  # NumPy's own error (nuc: the svd of inv's nans)
        with pytest.raises(np.linalg.LinAlgError):
            ad.jvp(f, (a,), (np.ones((2, 2)),))
        return
    value, t = ad.jvp(f, (a,), (np.ones((2, 2)),))
    assert value == expected
    if p == -2:  # 1/cond: 0 there, with the one-sided slope of s_min
        assert value < 1e-15 and np.isfinite(t)
    else:
        assert value == np.inf and t == 0


def test_cond_complex_and_batched():
    for p in (None, -2, "fro", "nuc", np.inf):
        check_grads(lambda x: np.linalg.cond(x, p), (Z233,), order=2)
    stack = np.stack([np.array([[1.0, 2.0], [2.0, 4.0]]), np.eye(2) + 0.1])
    value, t = ad.jvp(lambda x: np.linalg.cond(x, "fro"), (stack,), (np.ones((2, 2, 2)),))
    np.testing.assert_array_equal(value, np.linalg.cond(stack, "fro"))
    assert t[0] == 0 and np.isfinite(t[1])


def test_errors_name_the_problem():
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        traced(np.linalg.eig, A43)
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        traced(np.linalg.svd, B4)
    with pytest.raises(np.linalg.LinAlgError, match="two-dimensional"):
        traced(np.linalg.lstsq, A233, B42)
