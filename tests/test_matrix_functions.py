"""scipy.linalg's matrix functions (dualad/scipy/matrix_functions.py, rules in
dualad/rules/matrix_functions.py): expm, expm_frechet, logm, sqrtm,
solve_sylvester, solve_continuous_lyapunov.

Checked: SciPy 1.17's signatures exactly; traced values equal SciPy's;
derivatives of order 1 and 2 against central finite differences and the
dot-product identity (``check_grads``), for real and complex, non-normal
and non-symmetric matrices, batched and broadcast stacks, matrices with
negative real eigenvalues (complex logm and sqrtm); vector mode against
single JVPs; Hessians forward-over-reverse against reverse-over-reverse;
identities that hold whatever the rules are (``expm(logm(A)) = A``,
``sqrtm(A)² = A``, the Sylvester residual); every keyword; the message
naming the drop-in when SciPy's own function meets a traced value; the
degenerate points of docs/kinks.md.
"""

from __future__ import annotations

import doctest
import inspect
import warnings

import numpy as np
import pytest
import scipy.linalg as sl

import dualad as ad
from dualad.scipy import matrix_functions as mf
from dualad.testing import check_grads

RNG = np.random.default_rng(20261202)
NONNORMAL = np.array([[1.2, 2.0, -0.4], [0.1, 0.9, 1.5], [-0.3, 0.2, 1.6]])
UPPER = np.array([[1.0, 3.0, -2.0], [0.0, 2.0, 4.0], [0.0, 0.0, 0.5]])  # far from normal
NEGATIVE = np.array([[-2.0, 1.0, 0.3], [0.5, -3.0, 0.2], [0.1, 0.4, 1.5]])  # eigenvalues -3.4, -1.7, 1.5
COMPLEX = NONNORMAL + 1j * np.array([[0.3, -0.5, 0.2], [0.4, 0.1, -0.6], [-0.2, 0.7, 0.3]])
ROTATION = np.array([[0.5, -2.0], [1.5, 0.4]])  # complex eigenvalues, real matrix
_V = np.random.default_rng(0).standard_normal((4, 4))
# eigenvalues -2 ± 0.1i, -1 and 0.5: a real matrix with complex eigenvalues close to the
# branch cut of logm on both sides, and a real negative one on it
NEAR_CUT = _V @ np.array([[-2, 0.1, 0, 0], [-0.1, -2, 0, 0], [0, 0, -1, 0], [0, 0, 0, 0.5]]) @ np.linalg.inv(_V)
E3 = RNG.standard_normal((3, 3))
B2 = np.array([[2.1, -0.7], [0.4, 1.8]])
Q32 = RNG.standard_normal((3, 2))

FUNCTIONS = ["expm", "expm_frechet", "logm", "sqrtm", "solve_sylvester", "solve_continuous_lyapunov"]


def _traced_value(f, *args):
    value, _ = ad.jvp(f, args, tuple(np.ones_like(a) for a in args))
    return value


# ---- signatures and values ------------------------------------------------------------------
def test_docstring_examples():
    failures, tried = doctest.testmod(mf)
    assert failures == 0 and tried >= 7


@pytest.mark.parametrize("name", FUNCTIONS)
def test_signature_is_scipys(name):
    assert inspect.signature(getattr(mf, name)) == inspect.signature(getattr(sl, name))


VALUE_CASES = [
    ("expm", mf.expm, sl.expm, (NONNORMAL,)),
    ("expm-complex", mf.expm, sl.expm, (COMPLEX,)),
    ("expm-batched", mf.expm, sl.expm, (np.stack([NONNORMAL, UPPER, -NONNORMAL.T]),)),
    ("expm-1x1", mf.expm, sl.expm, (np.array([[0.7]]),)),
    ("expm-0d", mf.expm, sl.expm, (np.array(0.7),)),
    ("expm-1d", mf.expm, sl.expm, (np.array([0.7]),)),
    ("expm_frechet", lambda a, e: mf.expm_frechet(a, e), lambda a, e: sl.expm_frechet(a, e),
     (NONNORMAL, E3)),
    ("expm_frechet-bcast", lambda a, e: mf.expm_frechet(a, e), lambda a, e: sl.expm_frechet(a, e),
     (np.stack([NONNORMAL, UPPER]), E3)),
    ("logm", mf.logm, sl.logm, (NONNORMAL,)),
    ("logm-negative", mf.logm, sl.logm, (NEGATIVE,)),
    ("logm-complex", mf.logm, sl.logm, (COMPLEX,)),
    ("logm-batched", mf.logm, sl.logm, (np.stack([NONNORMAL, NEGATIVE]),)),
    ("sqrtm", mf.sqrtm, sl.sqrtm, (NONNORMAL,)),
    ("sqrtm-negative", mf.sqrtm, sl.sqrtm, (NEGATIVE,)),
    ("sqrtm-complex", mf.sqrtm, sl.sqrtm, (COMPLEX,)),
    ("sqrtm-batched", mf.sqrtm, sl.sqrtm, (np.stack([NONNORMAL, UPPER]),)),
    ("solve_sylvester", mf.solve_sylvester, sl.solve_sylvester, (NONNORMAL, B2, Q32)),
    ("solve_sylvester-complex", mf.solve_sylvester, sl.solve_sylvester, (COMPLEX, B2 + 0.5j, Q32 + 0j)),
    ("solve_sylvester-bcast", mf.solve_sylvester, sl.solve_sylvester,
     (np.stack([NONNORMAL, UPPER]), B2, Q32)),
    ("solve_continuous_lyapunov", mf.solve_continuous_lyapunov, sl.solve_continuous_lyapunov,
     (-NONNORMAL, E3)),
    ("solve_continuous_lyapunov-complex", mf.solve_continuous_lyapunov, sl.solve_continuous_lyapunov,
     (-COMPLEX, E3 + 1j * E3.T)),
]


@pytest.mark.parametrize("f, scipy_f, args", [c[1:] for c in VALUE_CASES], ids=[c[0] for c in VALUE_CASES])
def test_value_is_scipys(f, scipy_f, args):
    ours, theirs = _traced_value(f, *args), scipy_f(*args)
    for o, t in zip(ad.tree_flatten(ours)[0], ad.tree_flatten(theirs)[0]):
        assert np.shape(o) == np.shape(t) and np.result_type(o) == np.result_type(t)
        np.testing.assert_array_equal(o, t)
    untraced = f(*args)
    for o, t in zip(ad.tree_flatten(untraced)[0], ad.tree_flatten(theirs)[0]):
        np.testing.assert_array_equal(o, t)


def test_lists_are_taken_as_scipy_takes_them():
    np.testing.assert_array_equal(mf.expm([[0.0, 1.0], [0.0, 0.0]]), sl.expm([[0.0, 1.0], [0.0, 0.0]]))
    np.testing.assert_array_equal(mf.solve_sylvester([[2.0]], [[1.0]], [[3.0]]), [[1.0]])


# ---- derivatives: finite differences, dot-product identity, order 2 -------------------------
def _re_im(f):
    """A real function of f's (possibly complex) output, to check gradients."""
    return lambda *a: np.real(f(*a)) + 0.5 * np.imag(f(*a))


GRAD_CASES = [
    ("expm-nonnormal", mf.expm, (NONNORMAL,)),
    ("expm-upper", mf.expm, (UPPER,)),
    ("expm-rotation", mf.expm, (ROTATION,)),
    ("expm-complex", mf.expm, (COMPLEX,)),
    ("expm-batched", mf.expm, (np.stack([NONNORMAL, -UPPER.T]),)),
    ("expm-0d", mf.expm, (np.array(0.4),)),
    ("expm_frechet", lambda a, e: mf.expm_frechet(a, e), (NONNORMAL, E3)),
    ("expm_frechet-complex", lambda a, e: mf.expm_frechet(a, e), (COMPLEX, E3 + 1j * E3.T)),
    ("expm_frechet-L-only", lambda a, e: mf.expm_frechet(a, e, compute_expm=False), (UPPER, E3)),
    ("expm_frechet-bcast-A", lambda a, e: mf.expm_frechet(a, e), (np.stack([NONNORMAL, UPPER]), E3)),
    ("expm_frechet-bcast-E", lambda a, e: mf.expm_frechet(a, e)[1], (NONNORMAL, np.stack([E3, E3.T]))),
    ("expm_frechet-blockEnlarge", lambda a, e: mf.expm_frechet(a, e, method="blockEnlarge"), (NONNORMAL, E3)),
    ("logm-nonnormal", mf.logm, (NONNORMAL,)),
    ("logm-upper", mf.logm, (UPPER,)),
    ("logm-rotation", mf.logm, (ROTATION,)),
    ("logm-negative", mf.logm, (NEGATIVE,)),
    ("logm-complex", mf.logm, (COMPLEX,)),
    ("logm-near-the-cut", mf.logm, (NEAR_CUT,)),
    ("logm-complex-near-the-cut", mf.logm, (NEGATIVE + 0.05j * E3,)),
    ("logm-batched", mf.logm, (np.stack([NONNORMAL, NEGATIVE]),)),
    ("logm-complex-output-to-real", _re_im(mf.logm), (NEGATIVE,)),
    ("sqrtm-nonnormal", mf.sqrtm, (NONNORMAL,)),
    ("sqrtm-upper", mf.sqrtm, (UPPER,)),
    ("sqrtm-rotation", mf.sqrtm, (ROTATION,)),
    ("sqrtm-negative", mf.sqrtm, (NEGATIVE,)),
    ("sqrtm-complex", mf.sqrtm, (COMPLEX,)),
    ("sqrtm-batched", mf.sqrtm, (np.stack([NONNORMAL, NEGATIVE]),)),
    ("sqrtm-complex-output-to-real", _re_im(mf.sqrtm), (NEGATIVE,)),
    ("expm-real-input-complex-cotangent", lambda a: (1 + 2j) * mf.expm(a), (NONNORMAL,)),
    ("expm_frechet-real-A-complex-E", lambda a, e: mf.expm_frechet(a, (1 - 1j) * e), (NONNORMAL, E3)),
    ("logm-real-output-complex-cotangent", lambda a: (1 + 2j) * mf.logm(a), (NONNORMAL,)),
    ("sqrtm-real-output-complex-cotangent", lambda a: (1 + 2j) * mf.sqrtm(a), (UPPER,)),
    ("solve_sylvester", mf.solve_sylvester, (NONNORMAL, B2, Q32)),
    ("solve_sylvester-complex", mf.solve_sylvester, (COMPLEX, B2 - 0.3j, Q32 + 1j * Q32[::-1])),
    ("solve_sylvester-real-a-complex-q", mf.solve_sylvester, (ROTATION, NONNORMAL, Q32.T + 1j)),
    ("solve_sylvester-bcast", mf.solve_sylvester, (np.stack([NONNORMAL, UPPER]), B2, np.stack([Q32, -Q32]))),
    ("solve_sylvester-bcast-q", mf.solve_sylvester, (NONNORMAL, np.stack([B2, B2.T]), Q32)),
    ("solve_continuous_lyapunov", mf.solve_continuous_lyapunov, (-NONNORMAL, E3)),
    ("solve_continuous_lyapunov-complex", mf.solve_continuous_lyapunov, (-COMPLEX, E3 + 1j * E3.T)),
    ("solve_continuous_lyapunov-real-a-complex-q", mf.solve_continuous_lyapunov,
     (-ROTATION, np.ones((2, 2)) + 1j * ROTATION)),
    ("solve_continuous_lyapunov-bcast", mf.solve_continuous_lyapunov,
     (np.stack([-NONNORMAL, -UPPER]), E3)),
]


@pytest.mark.parametrize("f, args", [c[1:] for c in GRAD_CASES], ids=[c[0] for c in GRAD_CASES])
def test_check_grads_order_2(f, args):
    check_grads(f, args, order=2)


# vector mode: one case of each function, the complex ones and the stacks
VECTOR_CASES = [c for c in GRAD_CASES if c[0] in FUNCTIONS or "complex" in c[0] or "bcast" in c[0]
                or "batched" in c[0] or c[0].endswith("-nonnormal") or c[0].endswith("-negative")]


@pytest.mark.parametrize("f, args", [c[1:] for c in VECTOR_CASES], ids=[c[0] for c in VECTOR_CASES])
def test_vector_mode_equals_single_jvps(f, args):
    k = 3
    rng = np.random.default_rng(5)

    def draw(a):
        r = rng.standard_normal((k,) + np.shape(a))
        return r + 1j * rng.standard_normal(r.shape) if np.iscomplexobj(a) else r
    V = tuple(draw(a) for a in args)
    _, batched = ad.jvp(f, args, V, batched=True)
    for i in range(k):
        _, single = ad.jvp(f, args, tuple(v[i] for v in V))
        for b, s in zip(ad.tree_flatten(batched)[0], ad.tree_flatten(single)[0]):
            np.testing.assert_allclose(b[i], s, rtol=1e-10, atol=1e-12)


REAL_SCALAR = [
    ("expm", lambda a: np.sum(mf.expm(a) * NONNORMAL.T), NONNORMAL),
    ("expm_frechet", lambda a: np.sum(mf.expm_frechet(a, E3)[1] ** 2) + np.sum(mf.expm_frechet(a, a)[0]),
     UPPER * 0.5),
    ("logm", lambda a: np.sum(np.real(mf.logm(a)) * NONNORMAL), NEGATIVE),
    ("sqrtm", lambda a: np.sum(np.abs(mf.sqrtm(a)) ** 2), NEGATIVE),
    ("solve_sylvester", lambda a: np.sum(mf.solve_sylvester(a, a.T + 4 * np.eye(3), E3) ** 2), NONNORMAL),
    ("solve_continuous_lyapunov", lambda a: np.sum(mf.solve_continuous_lyapunov(a - 4 * np.eye(3), E3) * a),
     NONNORMAL),
]


@pytest.mark.parametrize("f, x", [c[1:] for c in REAL_SCALAR], ids=[c[0] for c in REAL_SCALAR])
def test_hessian_fwd_over_rev_equals_rev_over_rev(f, x):
    h = ad.hessian(f)(x)
    np.testing.assert_allclose(h, ad.jacrev(ad.jacrev(f))(x), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(h, ad.jacfwd(ad.jacfwd(f))(x), rtol=1e-8, atol=1e-10)
    assert h.shape == x.shape * 2


@pytest.mark.parametrize("f, x", [c[1:] for c in REAL_SCALAR], ids=[c[0] for c in REAL_SCALAR])
def test_jacfwd_equals_jacrev(f, x):
    g = ad.grad(f)
    np.testing.assert_allclose(ad.jacfwd(g)(x), ad.jacrev(g)(x), rtol=1e-8, atol=1e-10)


def test_holomorphic_jacobians_agree():
    for f in (mf.expm, mf.logm, mf.sqrtm):
        np.testing.assert_allclose(ad.jacfwd(f, holomorphic=True)(COMPLEX),
                                   ad.jacrev(f, holomorphic=True)(COMPLEX), rtol=1e-9, atol=1e-11)


# ---- identities that hold whatever the rules are -----------------------------------------------
@pytest.mark.parametrize("A", [NONNORMAL, NEGATIVE, COMPLEX], ids=["nonnormal", "negative", "complex"])
def test_expm_of_logm_and_square_of_sqrtm_have_the_identity_derivative(A):
    V = E3 + 1j * E3.T if np.iscomplexobj(A) else E3
    for f in (lambda a: mf.expm(mf.logm(a)), lambda a: mf.sqrtm(a) @ mf.sqrtm(a)):
        _, t = ad.jvp(f, (A,), (V,))
        np.testing.assert_allclose(t, V, rtol=1e-9, atol=1e-9)
        _, pullback = ad.vjp(f, A)
        np.testing.assert_allclose(pullback(V)[0], np.real(V) if np.isrealobj(A) else V,
                                   rtol=1e-9, atol=1e-9)


def test_logm_of_expm_and_expm_frechet_agree_with_expm():
    A = 0.3 * NONNORMAL  # inside the region where logm inverts expm
    _, t = ad.jvp(lambda a: mf.logm(mf.expm(a)), (A,), (E3,))
    np.testing.assert_allclose(t, E3, rtol=1e-9, atol=1e-10)
    # expm_frechet's L is expm's JVP, and its expm output expm's value
    _, t = ad.jvp(mf.expm, (NONNORMAL,), (E3,))
    np.testing.assert_allclose(mf.expm_frechet(NONNORMAL, E3)[1], t, rtol=1e-12, atol=1e-12)
    # and L's derivative in E is L itself (linear in E)
    _, t = ad.jvp(lambda e: mf.expm_frechet(NONNORMAL, e, compute_expm=False), (E3,), (UPPER,))
    np.testing.assert_allclose(t, sl.expm_frechet(NONNORMAL, UPPER, compute_expm=False), rtol=1e-12)


def test_sylvester_and_lyapunov_residuals_stay_zero_along_any_direction():
    a, b, q = NONNORMAL, B2, Q32
    da, db, dq = E3, B2.T, Q32[::-1]
    X, dX = ad.jvp(mf.solve_sylvester, (a, b, q), (da, db, dq))
    np.testing.assert_allclose(da @ X + a @ dX + dX @ b + X @ db, dq, atol=1e-12)
    a, q = -COMPLEX, E3 + 0j
    da, dq = E3 + 1j * UPPER, UPPER + 0j
    X, dX = ad.jvp(mf.solve_continuous_lyapunov, (a, q), (da, dq))
    residual = da @ X + a @ dX + dX @ a.conj().T + X @ da.conj().T
    np.testing.assert_allclose(residual, dq, atol=1e-12)


# ---- keywords ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", [None, "SPS", "blockEnlarge"])
def test_expm_frechet_method_and_check_finite_are_scipys(method):
    for check in (True, False):
        ours = mf.expm_frechet(NONNORMAL, E3, method=method, check_finite=check)
        theirs = sl.expm_frechet(NONNORMAL, E3, method=method, check_finite=check)
        np.testing.assert_array_equal(_traced_value(
            lambda a: mf.expm_frechet(a, E3, method=method, check_finite=check)[1], NONNORMAL), theirs[1])
        for o, t in zip(ours, theirs):
            np.testing.assert_array_equal(o, t)
    np.testing.assert_array_equal(
        _traced_value(lambda a: mf.expm_frechet(a, E3, method=method, compute_expm=False), NONNORMAL),
        sl.expm_frechet(NONNORMAL, E3, method=method, compute_expm=False))


def test_expm_frechet_errors_are_scipys():
    with pytest.raises(ValueError, match="Unknown implementation"):
        ad.grad(lambda a: np.sum(mf.expm_frechet(a, E3, method="nope")[1]))(NONNORMAL)
    bad = E3.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infs or NaNs"):
        ad.grad(lambda a: np.sum(mf.expm_frechet(a, bad)[1]))(NONNORMAL)


@pytest.mark.parametrize("disp", [True, False, 0, 1])
def test_logm_disp_is_scipys(disp):
    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        ours = _traced_value(lambda a: mf.logm(a, disp=disp), NEGATIVE)
    with warnings.catch_warnings(record=True) as theirs_w:
        warnings.simplefilter("always")
        theirs = sl.logm(NEGATIVE, disp=disp)
    assert [type(w.message) for w in ours_w] == [type(w.message) for w in theirs_w]
    assert any(issubclass(w.category, DeprecationWarning) for w in ours_w)
    assert isinstance(ours, tuple) == isinstance(theirs, tuple)
    if isinstance(theirs, tuple):
        np.testing.assert_array_equal(ours[0], theirs[0])
        assert ours[1] == theirs[1]
        check_grads(lambda a: mf.logm(a, disp=disp)[0], (NEGATIVE,), order=1)
    else:
        np.testing.assert_array_equal(ours, theirs)
        check_grads(lambda a: mf.logm(a, disp=disp), (NEGATIVE,), order=1)


@pytest.mark.parametrize("kwargs", [{"disp": True}, {"disp": False}, {"disp": 0}, {"blocksize": 64},
                                    {"disp": False, "blocksize": 8}])
@pytest.mark.parametrize("A", [NONNORMAL, np.stack([NONNORMAL, NEGATIVE])], ids=["matrix", "stack"])
def test_sqrtm_disp_and_blocksize_are_scipys(kwargs, A):
    with warnings.catch_warnings(record=True) as ours_w:
        warnings.simplefilter("always")
        ours = _traced_value(lambda a: mf.sqrtm(a, **kwargs), A)
    with warnings.catch_warnings(record=True) as theirs_w:
        warnings.simplefilter("always")
        theirs = sl.sqrtm(A, **kwargs)
    assert [type(w.message) for w in ours_w] == [type(w.message) for w in theirs_w]
    assert isinstance(ours, tuple) == isinstance(theirs, tuple)
    if isinstance(theirs, tuple):
        np.testing.assert_array_equal(ours[0], theirs[0])
        assert ours[1] == theirs[1]   # inf for a stack, as SciPy's
        check_grads(lambda a: mf.sqrtm(a, **kwargs)[0], (A,), order=1)
    else:
        np.testing.assert_array_equal(ours, theirs)
        check_grads(lambda a: mf.sqrtm(a, **kwargs), (A,), order=1)


def test_sqrtm_of_a_scalar_is_refused_with_the_reason():
    for a in (np.array(4.0), np.array([4.0])):
        with pytest.raises(ValueError, match=r"exp\(a\).*\(1, 1\) array"):
            mf.sqrtm(a)
        with pytest.raises(ValueError, match=r"\(1, 1\) array"):
            ad.grad(lambda x: np.sum(mf.sqrtm(x)))(a)
    np.testing.assert_array_equal(mf.sqrtm(np.array([[4.0]])), [[2.0]])
    check_grads(mf.sqrtm, (np.array([[4.0]]),), order=2)


def test_shape_errors_are_scipys():
    with pytest.raises(Exception, match="square"):
        ad.grad(lambda a: np.sum(mf.expm(a)))(np.ones((2, 3)))
    with pytest.raises(ValueError, match="square"):
        ad.grad(lambda a: np.sum(mf.logm(a)))(np.ones(3))
    with pytest.raises(ValueError, match="same shape"):
        ad.grad(lambda a: np.sum(mf.solve_continuous_lyapunov(a, np.ones((2, 2)))))(NONNORMAL)


# ---- SciPy's own functions on traced values name the drop-in ---------------------------------
@pytest.mark.parametrize("name, call", [
    ("expm", lambda a: sl.expm(a)),
    ("expm_frechet", lambda a: sl.expm_frechet(a, E3)[1]),
    ("expm_frechet", lambda a: sl.expm_frechet(E3, a)[0]),
    ("logm", lambda a: sl.logm(a)),
    ("sqrtm", lambda a: sl.sqrtm(a)),
    ("solve_sylvester", lambda a: sl.solve_sylvester(a, B2, Q32)),
    ("solve_sylvester", lambda a: sl.solve_sylvester(E3, B2, a[:, :2])),
    ("solve_continuous_lyapunov", lambda a: sl.solve_continuous_lyapunov(a, E3)),
])
@pytest.mark.parametrize("batch", [False, True])
def test_scipys_own_function_names_the_drop_in(name, call, batch):
    A = np.stack([NONNORMAL, UPPER]) if batch and name not in ("solve_sylvester",) else NONNORMAL
    with pytest.raises(TypeError, match=rf"scipy\.linalg\.{name}\b.*use dualad\.scipy\.linalg\.{name} "
                                        r"\(same signature\)"):
        ad.grad(lambda a: np.sum(np.real(call(a))))(A)


# ---- degenerate points (docs/kinks.md) --------------------------------------------------------
def test_scipys_mixed_real_complex_sylvester_bug_is_not_followed():
    """SciPy 1.17 gives a wrong X for a real a with complex eigenvalues and a
    complex q; the drop-ins solve the equation (the complex Schur form)."""
    a, q = ROTATION, np.array([[1.0 + 2j, -0.5j], [0.3, 1.0 - 1j]])
    b = np.array([[0.7, 0.2], [-0.1, 1.1]])
    X = mf.solve_sylvester(a, b, q)
    np.testing.assert_allclose(a @ X + X @ b, q, atol=1e-13)
    np.testing.assert_allclose(X, sl.solve_sylvester(a + 0j, b, q), rtol=1e-13)
    assert np.abs(a @ sl.solve_sylvester(a, b, q) + sl.solve_sylvester(a, b, q) @ b - q).max() > 1e-3
    X = mf.solve_continuous_lyapunov(-ROTATION, q)
    np.testing.assert_allclose(-ROTATION @ X - X @ ROTATION.T, q, atol=1e-13)


def test_singular_logm_and_sqrtm_give_finite_documented_derivatives():
    A = np.diag([0.0, 2.0])
    E = np.ones((2, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, t = ad.jvp(mf.logm, (A,), (E,))
        g = ad.grad(lambda a: np.sum(mf.logm(a)))(A)
        np.testing.assert_allclose(t, g)
        # SciPy treats the zero eigenvalue as 1e-20: log(1e-20) and 1/1e-20
        np.testing.assert_allclose(mf.logm(A)[0, 0], np.log(1e-20))
        np.testing.assert_allclose(t[0, 0], 1e20, rtol=1e-6)
        np.testing.assert_allclose(t[1, 1], 0.5)
        _, t = ad.jvp(mf.sqrtm, (A,), (E,))
        assert np.all(np.isfinite(t)) and 1e15 < t[0, 0] < 1e16
        np.testing.assert_allclose(t[1, 1], 0.5 / np.sqrt(2))
        np.testing.assert_allclose(ad.grad(lambda a: np.sum(mf.sqrtm(a)))(A), t)


def test_singular_sylvester_and_lyapunov_equations_give_scipys_perturbed_solution():
    a, b, q = np.diag([1.0, 2.0]), np.diag([-1.0, 3.0]), np.ones((2, 2))
    X, t = ad.jvp(mf.solve_sylvester, (a, b, q), (q, q, q))
    np.testing.assert_array_equal(X, sl.solve_sylvester(a, b, q))
    assert np.all(np.isfinite(t)) and 1e30 < abs(t[0, 0]) < 1e31
    g = ad.grad(lambda a, b, q: np.sum(mf.solve_sylvester(a, b, q)), argnums=(0, 1, 2))(a, b, q)
    np.testing.assert_allclose(sum(np.sum(x) for x in g), np.sum(t), rtol=1e-12)
    with pytest.warns(RuntimeWarning, match="eigenvalue pair"):
        X, t = ad.jvp(mf.solve_continuous_lyapunov, (np.diag([0.0, -1.0]), q), (q, q))
    assert np.all(np.isfinite(t))


def test_sqrtm_without_a_square_root_gives_nan_and_spares_the_stack():
    stack = np.stack([np.array([[0.0, 1.0], [0.0, 0.0]]), 4 * np.eye(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out, t = ad.jvp(mf.sqrtm, (stack,), (np.ones((2, 2, 2)),))
        assert np.isinf(out[0]).any()
        assert np.all(np.isnan(t[0]))
        np.testing.assert_allclose(t[1], np.full((2, 2), 0.25))
        g = ad.grad(lambda s: np.sum(mf.sqrtm(s)[1]))(stack)
        np.testing.assert_array_equal(g[0], 0.0)  # a zero cotangent gives 0
        np.testing.assert_allclose(g[1], np.full((2, 2), 0.25))


def test_empty_matrices():
    for f in (mf.expm, mf.sqrtm):
        out, t = ad.jvp(f, (np.zeros((0, 0)),), (np.zeros((0, 0)),))
        assert out.shape == t.shape == (0, 0)
    out, pullback = ad.vjp(mf.expm, np.zeros((0, 0)))
    assert pullback(np.zeros((0, 0)))[0].shape == (0, 0)
