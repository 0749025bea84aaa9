"""Linear algebra differentiated as the function NumPy computes, on any input.

* ``eigh`` / ``eigvalsh`` / ``cholesky`` read one triangle: checked by finite
  differences on non-symmetric inputs and tangents, both triangles, batched.
* ``det`` is differentiable at singular matrices (rank n-1 and lower), at
  first and second order, in both modes; ``slogdet`` does not raise there.
  Invertible matrices -- ill-conditioned, or with a det that under- or
  overflows -- never take the minors; large singular ones are refused;
  empty stacks, 0x0 matrices and float32 inputs keep NumPy's shapes and
  dtypes.
* Matrix norms respect the order of ``axis`` (row axis first).
* Every keyword of every function registered in ``dualad.rules.linalg`` is
  honoured with NumPy's semantics or refused with a TypeError naming it;
  ``HONOURED`` lists the honoured ones with calls that exercise them.

Derivatives are checked against central finite differences
(``check_grads``), values against NumPy's own result.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad import core
from dualad.rules import linalg
from dualad.testing import check_grads, numerical_grad, numerical_jvp


def rand(*shape, seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def nonsym(n=3, seed=0, batch=()):
    """A non-symmetric matrix whose either triangle gives distinct eigenvalues."""
    return rand(*batch, n, n, seed=seed) + np.diag(np.arange(1.0, 3.0 * n + 1, 3.0))


def spd_either_triangle(n=3, seed=0, batch=()):
    """A non-symmetric matrix whose lower and upper triangles both make an
    SPD matrix (dominant diagonal)."""
    return rand(*batch, n, n, seed=seed) + (n + 1.0) * np.eye(n)


def traced(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with every float ndarray in ``args`` boxed
    (under a vjp), returning what ``fn`` returned, primal values unwrapped,
    and whether the result was a box."""
    floats = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    seen = {}

    def f(*xs):
        full = list(args)
        for i, x in zip(floats, xs):
            full[i] = x
        r = fn(*full, **kwargs)
        seen["boxed"] = [isinstance(leaf, core.Box) for leaf in ad.tree_flatten(r)[0]]
        return r
    value, _ = ad.vjp(f, *[args[i] for i in floats])
    return value, seen["boxed"]


def grads_of(fn, args, kwargs, order=1, **tol):
    """check_grads of ``fn(*args, **kwargs)`` in its float ndarray arguments."""
    floats = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]

    def f(*xs):
        full = list(args)
        for i, x in zip(floats, xs):
            full[i] = x
        return fn(*full, **kwargs)
    check_grads(f, tuple(args[i] for i in floats), order=order, **tol)


# ---- the honoured keyword table -------------------------------------------------------------
x23 = rand(2, 3, seed=1)
x32 = rand(3, 2, seed=2)
x3 = rand(3, seed=3)
y3 = rand(3, seed=4)
x33 = rand(3, 3, seed=5) + 2.5 * np.eye(3)
x233 = rand(2, 3, 3, seed=6) + 2.5 * np.eye(3)
x234 = rand(2, 3, 4, seed=7, lo=0.2, hi=1.0) * np.random.default_rng(8).choice([-1, 1], (2, 3, 4))
x34 = rand(3, 4, seed=9)
x322 = rand(3, 2, 2, seed=10)
v23 = rand(2, 3, seed=11)
w32 = rand(3, 2, seed=12)
NS = nonsym(3, seed=13)
SPD = spd_either_triangle(3, seed=14)
SPD2 = spd_either_triangle(3, seed=15, batch=(2,))
p3 = rand(3, seed=16)
p32 = rand(3, 2, seed=17)

HONOURED = {
    np.dot: {
        "a": [((x23, x32), {}), ((x3, y3), {}), ((x234, x34.T.copy()), {})],
        "b": [((x23, x3), {}), ((1.5, x23), {})],
    },
    np.tensordot: {
        "a": [((x23, v23), {}), ((x234, x34), {})],
        "b": [((x23, x3), {"axes": 1})],
        "axes": [((x23, x32), {"axes": 1}), ((x23, v23), {"axes": 2}),
                 ((x23, w32), {"axes": ([0, 1], [1, 0])}), ((x3, y3), {"axes": 0}),
                 ((x234, x34), {"axes": ([1, 2], [0, 1])})],
    },
    np.inner: {
        "a": [((x3, y3), {}), ((x23, v23), {})],
        "b": [((x23, x3), {}), ((0.5, x23), {})],
    },
    np.outer: {
        "a": [((x3, y3), {}), ((x23, x3), {})],
        "b": [((x3, x23), {})],
    },
    np.vdot: {
        "a": [((x3, y3), {}), ((x23, v23), {})],
        "b": [((x23, w32.T.copy()), {})],
    },
    np.einsum: {
        "operands": [(("ij,jk->ik", x23, x32), {}), (("ii", x33), {}), (("i,i", x3, y3), {}),
                     (("...ij,jk", x233, x32), {})],
        "optimize": [(("ij,jk,kl->il", x23, x33, x32), {"optimize": True}),
                     (("ij,jk,kl->il", x23, x33, x32), {"optimize": "greedy"}),
                     (("ij,jk->ik", x23, x32), {"optimize": False})],
        "dtype": [(("ij,jk->ik", x23, x32), {"dtype": np.float64}),
                  (("ij,jk->ik", x23, x32), {"dtype": np.float32, "casting": "same_kind"}),
                  (("i,i", x3, y3), {"dtype": int, "casting": "unsafe"})],
        "casting": [(("i,i", x3, y3), {"casting": "no"}),
                    (("i,i", x3, y3), {"casting": "unsafe"})],
    },
    np.diagonal: {
        "a": [((x33,), {}), ((x23,), {})],
        "offset": [((x34,), {"offset": 1}), ((x34,), {"offset": -2})],
        "axis1": [((x233,), {"axis1": 1, "axis2": 2}), ((x234,), {"axis1": 2, "axis2": 0})],
        "axis2": [((x234,), {"axis2": -1}), ((x234,), {"axis1": -1, "axis2": 1})],
    },
    np.trace: {
        "a": [((x33,), {}), ((x23,), {})],
        "offset": [((x34,), {"offset": 1}), ((x34,), {"offset": -1})],
        "axis1": [((x233,), {"axis1": 1, "axis2": 2})],
        "axis2": [((x234,), {"axis1": 2, "axis2": 0})],
        "dtype": [((x33,), {"dtype": np.float64}), ((x33,), {"dtype": np.float32}),
                  ((x33 * 3,), {"dtype": int}), ((x33,), {"dtype": bool})],
    },
    np.diag: {
        "v": [((x3,), {}), ((x34,), {})],
        "k": [((x3,), {"k": 1}), ((x3,), {"k": -2}), ((x34,), {"k": 1}), ((x34,), {"k": -1})],
    },
    np.tril: {
        "m": [((x34,), {}), ((x233,), {}), ((x3,), {})],
        "k": [((x34,), {"k": 1}), ((x34,), {"k": -1})],
    },
    np.triu: {
        "m": [((x34,), {}), ((x233,), {}), ((x3,), {})],
        "k": [((x34,), {"k": 1}), ((x34,), {"k": -1})],
    },
    np.linalg.norm: {
        "x": [((x3,), {}), ((x23,), {}), ((x234,), {})],
        "ord": [((x3,), {"ord": o}) for o in (1, 2, 3, -1, np.inf, -np.inf, 0)]
               + [((x23,), {"ord": o}) for o in ("fro", 1, -1, np.inf, -np.inf)],
        "axis": [((x234,), {"axis": 1}), ((x234,), {"axis": (2, 0)}),
                 ((x234,), {"ord": 1, "axis": (-1, -2)}), ((x234,), {"ord": np.inf, "axis": (2, 1)})],
        "keepdims": [((x234,), {"keepdims": True}), ((x234,), {"axis": 1, "keepdims": True}),
                     ((x234,), {"ord": -1, "axis": (2, 0), "keepdims": True})],
    },
    np.linalg.solve: {
        "a": [((x33, x3), {}), ((x233, x3), {})],
        "b": [((x33, x32), {}), ((x233, rand(2, 3, 2, seed=20)), {})],
    },
    np.linalg.inv: {"a": [((x33,), {}), ((x233,), {})]},
    np.linalg.det: {"a": [((x33,), {}), ((x233,), {})]},
    np.linalg.slogdet: {"a": [((x33,), {}), ((x233,), {})]},
    np.linalg.cholesky: {
        "a": [((SPD,), {}), ((SPD2,), {})],
        "upper": [((SPD,), {"upper": True}), ((SPD2,), {"upper": True}), ((SPD,), {"upper": False})],
    },
    np.linalg.eigh: {
        "a": [((NS,), {}), ((nonsym(3, seed=21, batch=(2,)),), {})],
        "UPLO": [((NS,), {"UPLO": "U"}), ((NS,), {"UPLO": "L"}), ((NS,), {"UPLO": "u"})],
    },
    np.linalg.eigvalsh: {
        "a": [((NS,), {}), ((nonsym(3, seed=22, batch=(2,)),), {})],
        "UPLO": [((NS,), {"UPLO": "U"}), ((NS,), {"UPLO": "L"})],
    },
    np.cross: {
        "a": [((x3, y3), {}), ((x23, y3), {})],
        "b": [((x3, x23), {})],
        "axisa": [((x32, y3), {"axisa": 0})],
        "axisb": [((x3, x32), {"axisb": 0})],
        "axisc": [((x23, v23), {"axisc": 0})],
        "axis": [((x32, w32), {"axis": 0})],
    },
    np.polyval: {
        "p": [((p3, x3), {}), ((p32, x3[:2].copy()), {}), ((p3, 0.7), {})],
        "x": [((p3, x23), {}), ((np.array([1.0, -2.0, 0.5]), x23), {})],
    },
    np.matmul: {
        "x1": [((x23, x32), {}), ((x3, x32), {}), ((x233, x3), {})],
        "x2": [((x23, x3), {}), ((x3, y3), {})],
        "dtype": [((x23, x32), {"dtype": np.float64}), ((x23, x32), {"dtype": np.float32})],
    },
}
if hasattr(np, "vecdot"):
    HONOURED[np.vecdot] = {
        "x1": [((x3, y3), {}), ((x23, y3), {})],
        "x2": [((x3, v23), {})],
        "dtype": [((x3, y3), {"dtype": np.float32}), ((x23, y3), {"dtype": np.float64})],
        "axis": [((x23, v23), {"axis": 0}), ((x32, rand(3, 1, seed=23)), {"axis": 0}),
                 ((x234, rand(3, 4, seed=24)), {"axis": -2})],
    }


def _honoured_calls():
    for fn, params in HONOURED.items():
        for param, calls in params.items():
            for i, (args, kwargs) in enumerate(calls):
                yield pytest.param(fn, args, kwargs, id=f"{fn.__name__}-{param}-{i}")


@pytest.mark.parametrize("fn, args, kwargs", list(_honoured_calls()))
def test_honoured_call_gives_numpys_value_and_exact_derivatives(fn, args, kwargs):
    expected = fn(*args, **kwargs)
    impl = fn  # gufuncs (matmul, vecdot) too: core hands their keywords through
    value, boxed = traced(impl, *args, **kwargs)
    exp_leaves, val_leaves = ad.tree_flatten(expected)[0], ad.tree_flatten(value)[0]
    assert len(exp_leaves) == len(val_leaves)
    floats = False
    for e, v, b in zip(exp_leaves, val_leaves, boxed):
        e, v = np.asarray(e), np.asarray(v)
        assert v.shape == e.shape and v.dtype == e.dtype
        if e.dtype.kind == "f":
            floats = True
            tol = 1e-6 if e.dtype == np.float32 else 1e-12
            np.testing.assert_allclose(v, e, rtol=tol, atol=tol)
        else:  # integer / bool results: NumPy's value, never a box
            np.testing.assert_array_equal(v, e)
            assert not b
    if floats:
        if any(np.asarray(e).dtype == np.float32 for e in exp_leaves):
            grads_of(impl, args, kwargs, atol=1e-3, rtol=1e-3, eps=1e-3)
        else:
            grads_of(impl, args, kwargs)


def test_honoured_table_names_real_parameters():
    import inspect
    for fn, params in HONOURED.items():
        names = set(inspect.signature(fn).parameters)
        extra = set(params) - names
        if fn is np.einsum:  # read from NumPy's **kwargs
            extra -= {"dtype", "casting"}
        assert not extra, f"{fn.__name__}: {extra} are not parameters"


# ---- 1. eigh, eigvalsh and cholesky read one triangle -------------------------------------------
def test_eigenvalue_jvp_on_a_tangent_in_the_unread_triangle_is_zero():
    # The brief's example: NumPy's eigh (UPLO='L') never reads A[0, 1].
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    T = np.array([[0.0, 1.0], [0.0, 0.0]])
    for fn in (lambda a: np.linalg.eigh(a)[0], np.linalg.eigvalsh):
        _, dw = ad.jvp(fn, (A,), (T,))
        np.testing.assert_allclose(dw, numerical_jvp(fn, (A,), (T,)), atol=1e-9)
        np.testing.assert_array_equal(dw, [0.0, 0.0])
    up = lambda a: np.linalg.eigh(a, UPLO="U")[0]  # noqa: E731
    _, dw = ad.jvp(up, (A,), (T,))
    np.testing.assert_allclose(dw, numerical_jvp(up, (A,), (T,)), atol=1e-8)
    assert np.abs(dw).max() > 0.5


@pytest.mark.parametrize("fn, triangle", [
    (lambda a: np.linalg.eigh(a)[0], "L"),
    (lambda a: np.linalg.eigh(a, UPLO="U")[0], "U"),
    (lambda a: np.linalg.cholesky(a), "L"),
    (lambda a: np.linalg.cholesky(a, upper=True), "U"),
])
def test_numpy_reads_the_triangle_we_differentiate(fn, triangle):
    # The premise of the rules, checked empirically on NumPy itself.
    A = spd_either_triangle(3, seed=30)
    lower, upper = A.copy(), A.copy()
    lower[2, 0] += 0.3
    upper[0, 2] += 0.3
    changed = {"L": lower, "U": upper}[triangle]
    unchanged = {"L": upper, "U": lower}[triangle]
    assert np.array_equal(fn(unchanged), fn(A))
    assert not np.allclose(fn(changed), fn(A))
    # and so is the derivative: zero for every entry of the unread triangle
    g = ad.grad(lambda a: np.sum(fn(a) * np.arange(1.0, 1.0 + fn(A).size).reshape(fn(A).shape)))(A)
    unread = np.triu(np.ones((3, 3)), 1) if triangle == "L" else np.tril(np.ones((3, 3)), -1)
    assert np.all(g[unread == 1] == 0)
    assert np.all(g[unread == 0] != 0)


WEIGHTS = np.random.default_rng(40).uniform(0.5, 2.0, (3, 3))
C = np.random.default_rng(41).standard_normal(3)


@pytest.mark.parametrize("uplo", ["L", "U"])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_eigh_on_nonsymmetric_input_matches_finite_differences(uplo, batch):
    a = nonsym(3, seed=42, batch=batch)
    check_grads(lambda x: np.linalg.eigh(x, UPLO=uplo)[0], (a,), order=2)
    check_grads(lambda x: np.linalg.eigvalsh(x, UPLO=uplo), (a,), order=2)
    # eigenvectors through sign-invariant functions: weighted squares, |v_i . c|^2
    check_grads(lambda x: np.sum(np.linalg.eigh(x, UPLO=uplo)[1] ** 2 * WEIGHTS, axis=-1),
                (a,), order=2)
    check_grads(lambda x: np.einsum("...ij,i->...j", np.linalg.eigh(x, UPLO=uplo)[1], C) ** 2,
                (a,), order=2)


def test_eigvalsh_value_and_uplo_spelling_match_numpy():
    a = nonsym(4, seed=43, batch=(2,))
    for uplo in ("L", "U", "l", "u"):
        value, _ = traced(np.linalg.eigvalsh, a, UPLO=uplo)
        np.testing.assert_allclose(value, np.linalg.eigvalsh(a, UPLO=uplo), rtol=1e-13, atol=1e-13)
        value, _ = traced(lambda x: np.linalg.eigh(x, UPLO=uplo).eigenvalues, a)
        np.testing.assert_array_equal(value, np.linalg.eigh(a, UPLO=uplo).eigenvalues)
    with pytest.raises(ValueError):
        traced(np.linalg.eigh, a, UPLO="X")


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_cholesky_on_nonsymmetric_input_matches_finite_differences(upper, batch):
    a = spd_either_triangle(3, seed=44, batch=batch)
    value, _ = traced(lambda x: np.linalg.cholesky(x, upper=upper), a)
    np.testing.assert_array_equal(value, np.linalg.cholesky(a, upper=upper))
    check_grads(lambda x: np.linalg.cholesky(x, upper=upper), (a,), order=2)


def test_cholesky_of_a_symmetric_input_still_has_the_symmetric_derivative():
    # On symmetric inputs with symmetric tangents the effective matrix is the
    # input itself: the derivative along (A + Aᵀ)/2 must be unchanged.
    b = rand(3, 3, seed=45)
    f = lambda x: np.linalg.cholesky((x + x.T) / 2 + 3 * np.eye(3))  # noqa: E731
    check_grads(f, (b,), order=2)


# ---- 2. det and slogdet ------------------------------------------------------------------------
def _rank(n, r, seed):
    """A random n x n matrix of rank r -- to rounding: inv usually succeeds."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, r)) @ rng.standard_normal((r, n))


def _integer_rank(n, r, seed):
    """An n x n matrix of small integers and rank exactly r."""
    rng = np.random.default_rng(seed)
    return rng.integers(-3, 4, (n, r)).astype(float) @ rng.integers(-3, 4, (r, n)).astype(float)


# Exactly singular: np.linalg.inv raises for each (checked below), so det's
# derivative comes from the minors.
SINGULAR = {
    "2x2-rank1": np.array([[1.0, 2.0], [2.0, 4.0]]),
    "3x3-rank2-integer": np.array([[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]),
    "3x3-rank2": _integer_rank(3, 2, 50),
    "3x3-rank1": _integer_rank(3, 1, 51),
    "4x4-rank2": _integer_rank(4, 2, 52),
    "4x4-rank3": _integer_rank(4, 3, 53),
    "5x5-rank4": _integer_rank(5, 4, 1),
    "zero-3x3": np.zeros((3, 3)),
    "zero-1x1": np.zeros((1, 1)),
}
# Singular only to rounding (cond ~ 1/eps): inv succeeds, so det's
# derivative is det(A)·A⁻ᵀ.
ROUNDED_SINGULAR = {
    "3x3-rank2": _rank(3, 2, 60),
    "3x3-rank1": _rank(3, 1, 60),
    "4x4-rank2": _rank(4, 2, 60),
    "4x4-rank3": _rank(4, 3, 60),
}


def assert_matches_fd(actual, expected):
    """Agreement with central differences, to their error (relative to the
    largest entry)."""
    expected = np.asarray(expected)
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7 * np.abs(expected).max())


def numerical_hessian(f, x):
    """Central differences of ``grad(f)``, entry by entry."""
    return np.stack([numerical_grad(lambda y, i=i: ad.grad(f)(y)[i], x)
                     for i in np.ndindex(x.shape)]).reshape(x.shape + x.shape)


@pytest.mark.parametrize("name", list(SINGULAR))
def test_det_is_differentiable_at_singular_matrices(name):
    a = SINGULAR[name]
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.inv(a)
    value, _ = traced(np.linalg.det, a)
    assert value == np.linalg.det(a)
    check_grads(np.linalg.det, (a,), order=2)


@pytest.fixture
def no_minors(monkeypatch):
    def fail(a):
        raise AssertionError("minors built for an invertible matrix")
    monkeypatch.setattr(linalg, "_cofactors", fail)


@pytest.mark.parametrize("name", list(ROUNDED_SINGULAR))
def test_det_at_matrices_singular_to_rounding(no_minors, name):
    # First derivatives: det and inv share the LU factors, and det(A)·A⁻ᵀ is
    # the cofactor matrix to rounding however large cond(A).  (The second
    # derivative, through A⁻¹, loses ~cond·eps relative accuracy here; the
    # module docstring says so.)
    a = ROUNDED_SINGULAR[name]
    np.linalg.inv(a)
    assert np.linalg.cond(a) > 1e15
    check_grads(np.linalg.det, (a,), order=1)
    # at rank n-2 the cofactors are ~0: the differences' own error decides
    np.testing.assert_allclose(ad.grad(np.linalg.det)(a), numerical_grad(np.linalg.det, a),
                               rtol=1e-6, atol=1e-8)


def test_det_derivatives_at_a_singular_matrix_match_finite_differences():
    a = SINGULAR["2x2-rank1"]
    fd = numerical_grad(np.linalg.det, a)
    assert_matches_fd(ad.jacfwd(np.linalg.det)(a), fd)
    assert_matches_fd(ad.grad(np.linalg.det)(a), fd)
    # rank n-2: every cofactor vanishes, the second derivative does not
    b = SINGULAR["3x3-rank1"]
    np.testing.assert_allclose(ad.grad(np.linalg.det)(b), numerical_grad(np.linalg.det, b),
                               atol=1e-8)
    np.testing.assert_array_equal(ad.grad(np.linalg.det)(b), np.zeros((3, 3)))
    hessian = ad.hessian(np.linalg.det)(b)
    assert_matches_fd(hessian, numerical_hessian(np.linalg.det, b))
    assert np.abs(hessian).max() > 0.1


def test_det_batched_mixing_singular_and_regular_matrices():
    a = np.stack([SINGULAR["3x3-rank2-integer"], rand(3, 3, seed=54) + 2 * np.eye(3),
                  SINGULAR["3x3-rank1"]])
    value, _ = traced(np.linalg.det, a)
    np.testing.assert_array_equal(value, np.linalg.det(a))
    check_grads(np.linalg.det, (a,), order=2)
    check_grads(lambda x: np.linalg.det(x[None] * np.ones((2, 1, 1, 1))), (a,), order=2)


def test_only_the_singular_matrices_of_a_stack_take_the_minors(monkeypatch):
    seen = []
    cofactors = linalg._cofactors

    def spy(x):
        seen.append(core.shape_of(x))
        return cofactors(x)
    monkeypatch.setattr(linalg, "_cofactors", spy)
    a = np.stack([rand(3, 3, seed=90) + 2 * np.eye(3), SINGULAR["3x3-rank2-integer"],
                  rand(3, 3, seed=91) + 2 * np.eye(3), SINGULAR["3x3-rank2"]])
    a = np.stack([a, a[::-1]])  # (2, 4, 3, 3), singular at four places
    f = lambda x: np.sum(np.linalg.det(x))  # noqa: E731
    g = ad.grad(f)(a)
    assert seen == [(4, 3, 3)]
    assert_matches_fd(g, numerical_grad(f, a))
    _, t = ad.jvp(np.linalg.det, (a,), (np.ones_like(a),))
    assert_matches_fd(t, numerical_jvp(np.linalg.det, (a,), (np.ones_like(a),)))
    check_grads(np.linalg.det, (a,), order=2)
    # slogdet: A⁻ᵀ for the invertible matrices (±inf / nan for the others)
    with np.errstate(all="ignore"):
        g = ad.grad(lambda x: np.sum(np.linalg.slogdet(x)[1]))(a)
    for i in ((0, 0), (0, 2), (1, 1), (1, 3)):
        assert_matches_fd(g[i], numerical_grad(lambda x: np.linalg.slogdet(x)[1], a[i]))
    assert np.all(np.isinf(g[0, 1]) | np.isnan(g[0, 1]))


def test_inv_and_solve_still_raise_for_a_singular_matrix():
    a = SINGULAR["2x2-rank1"]
    with pytest.raises(np.linalg.LinAlgError):
        traced(np.linalg.inv, a)
    with pytest.raises(np.linalg.LinAlgError):
        traced(np.linalg.solve, a, np.array([1.0, 2.0]))


def test_slogdet_at_a_singular_matrix():
    a = SINGULAR["2x2-rank1"]
    value, _ = traced(np.linalg.slogdet, a)
    assert value.sign == 0.0 and value.logabsdet == -np.inf
    assert value == np.linalg.slogdet(a)
    # No difference quotient exists at -inf; this pins the documented value,
    # cofactors / det: ±inf with the cofactors' signs (nan where one is 0).
    with np.errstate(all="ignore"):
        g = ad.grad(lambda x: np.linalg.slogdet(x)[1])(a)
        np.testing.assert_array_equal(g, np.sign(numerical_grad(np.linalg.det, a)) * np.inf)
        gz = ad.grad(lambda x: np.linalg.slogdet(x)[1])(np.ones((3, 3)))
    assert np.all(np.isnan(gz))  # every cofactor is 0 there too
    # sign: zero derivative
    _, t = ad.jvp(lambda x: np.linalg.slogdet(x).sign, (x33,), (rand(3, 3, seed=59),))
    assert np.all(np.asarray(t) == 0)


# An invertible matrix takes the inverse, never the minors, however badly
# conditioned it is and whether or not its det is representable.
def _gp_kernel(log_scale, n=50):
    t = np.linspace(0, 1, n)
    return np.exp(-0.5 * (t[:, None] - t[None, :]) ** 2 / np.exp(2 * log_scale)) + 1e-8 * np.eye(n)


def _gp_nll(log_scale):
    return 0.5 * np.linalg.slogdet(_gp_kernel(log_scale))[1]


def test_slogdet_of_an_ill_conditioned_gp_kernel_matches_finite_differences(no_minors):
    # The regression: det(K) underflows to 0 and K is badly conditioned but
    # invertible; the gradient of log|det K| is K⁻ᵀ, not nan.
    l0 = np.log(0.3)
    K = _gp_kernel(l0)
    assert np.linalg.det(K) == 0 and np.linalg.cond(K) > 1e8
    g = ad.grad(_gp_nll)(l0)
    # log|det K| carries rounding noise ~ cond(K)·eps: a wide difference step
    fd = numerical_grad(_gp_nll, np.array(l0), eps=3e-3)
    assert abs(g - (-47.3)) < 0.1
    np.testing.assert_allclose(g, fd, rtol=1e-5)
    _, t = ad.jvp(_gp_nll, (l0,), (1.0,))
    np.testing.assert_allclose(t, fd, rtol=1e-5)
    check_grads(_gp_nll, (np.array(l0),), order=2, eps=3e-3, rtol=1e-4)


def test_det_and_slogdet_of_well_conditioned_matrices_match_finite_differences(no_minors):
    a = rand(4, 4, seed=57) + 3 * np.eye(4)
    b = rand(2, 3, 3, seed=56) + 2.0 * np.eye(3)
    for x in (a, b):
        f = lambda x: np.sum(np.linalg.det(x))  # noqa: E731
        assert_matches_fd(ad.grad(f)(x), numerical_grad(f, x))
        check_grads(np.linalg.det, (x,), order=2)
        check_grads(lambda x: np.linalg.slogdet(x).logabsdet, (x,), order=2)


def test_det_and_slogdet_of_ill_conditioned_invertible_matrices_match_finite_differences(no_minors):
    a = SINGULAR["3x3-rank2"] + 1e-6 * rand(3, 3, seed=58)
    assert np.linalg.cond(a) > 1e6
    check_grads(np.linalg.det, (a,), order=2)  # a polynomial: differences are exact enough
    # log|det| near a singular matrix, along a path whose length keeps finite
    # differences inside its region of smoothness
    base, direction = SINGULAR["4x4-rank3"], rand(4, 4, seed=92)
    f = lambda s: np.linalg.slogdet(base + 1e-5 * s * direction)[1]  # noqa: E731
    assert np.linalg.cond(base + 1e-5 * direction) > 1e6
    check_grads(f, (np.array(1.0),), order=2, eps=1e-3, rtol=1e-5)
    check_grads(lambda s: np.linalg.det(base + 1e-5 * s * direction), (np.array(1.0),), order=2)
    # and a Hilbert matrix, cond ~ 1e8
    h = 1.0 / (np.arange(7)[:, None] + np.arange(7)[None, :] + 1.0)
    assert np.linalg.cond(h) > 1e8
    assert_matches_fd(ad.grad(np.linalg.det)(h) / np.linalg.det(h),
                      numerical_grad(np.linalg.det, h) / np.linalg.det(h))


@pytest.mark.filterwarnings("ignore:overflow encountered in det")  # NumPy's own warning
@pytest.mark.parametrize("scale", [1e-150, 1e150, 1e-120, 1e120])
def test_det_and_slogdet_where_det_under_or_overflows(no_minors, scale):
    # det(c B) = c³ det(B) is 0 or inf, its gradient c² cof(B) is not
    B = rand(3, 3, seed=93) + 1.5 * np.eye(3)
    A = scale * B
    assert np.linalg.det(A) in (0.0, np.inf)
    g = ad.grad(np.linalg.det)(A)
    assert np.all(np.isfinite(g)) and np.all(g != 0)
    assert_matches_fd(g, scale ** 2 * numerical_grad(np.linalg.det, B))
    _, t = ad.jvp(np.linalg.det, (A,), (B,))
    assert_matches_fd(t, scale ** 2 * numerical_jvp(np.linalg.det, (B,), (B,)))
    stacked = ad.grad(lambda x: np.sum(np.linalg.det(x)))(np.stack([A, B]))
    assert_matches_fd(stacked[0], g)
    assert_matches_fd(stacked[1], numerical_grad(np.linalg.det, B))
    # second order: the Hessian of det at c B is c H(B)
    assert_matches_fd(ad.hessian(np.linalg.det)(A), scale * numerical_hessian(np.linalg.det, B))
    # log|det(c x)| at B, by finite differences in x
    check_grads(lambda x: np.linalg.slogdet(scale * x)[1], (B,), order=2)


@pytest.mark.filterwarnings("ignore:overflow encountered in det")
def test_det_gradient_where_det_over_or_underflows_has_no_spurious_inf_nan_or_zero(no_minors):
    # Upper triangular: the cofactors above the diagonal are 0, not inf·0 = nan.
    c = 1e150
    T = np.triu(rand(3, 3, seed=94)) + 2 * np.eye(3)
    assert np.linalg.det(c * T) == np.inf
    g = ad.grad(np.linalg.det)(c * T)
    fd = numerical_grad(np.linalg.det, T)
    assert np.all(fd[np.triu_indices(3, 1)] == 0)
    np.testing.assert_array_equal(g[np.triu_indices(3, 1)], 0.0)
    assert_matches_fd(g, c ** 2 * fd)
    D = np.diag([1e-200, 1e-200, 1.0])  # det 1e-400 underflows, two cofactors do not
    assert np.linalg.det(D) == 0
    gD = ad.grad(np.linalg.det)(D)
    assert gD[0, 0] != 0
    assert_matches_fd(gD, numerical_grad(np.linalg.det, D))


def test_det_at_a_large_singular_matrix_is_refused_not_exhausting_memory(monkeypatch):
    n = linalg.MINORS_MAX_N + 1
    big = rand(n, n, seed=95)
    big[-1] = 0.0  # exactly singular: LU meets a zero pivot
    with pytest.raises(np.linalg.LinAlgError):
        np.linalg.inv(big)
    for f in (np.linalg.det, lambda x: np.linalg.slogdet(x)[1]):
        with pytest.raises(linalg.SingularDerivativeError, match=f"{n}x{n}.*MINORS_MAX_N"), \
                np.errstate(all="ignore"):
            ad.grad(f)(big)
    # a LinAlgError and a TypeError both
    assert issubclass(linalg.SingularDerivativeError, np.linalg.LinAlgError)
    assert issubclass(linalg.SingularDerivativeError, TypeError)
    # the same size, invertible: the inverse, no limit
    check_grads(np.linalg.det, (rand(n, n, seed=96) / np.sqrt(n) + np.eye(n),), order=1)
    # the entry limit bounds a stack of singular matrices at once
    monkeypatch.setattr(linalg, "MINORS_MAX_ENTRIES", 2 * 9 * 4)
    stack = np.stack([SINGULAR["3x3-rank2-integer"]] * 3)
    ad.grad(lambda x: np.sum(np.linalg.det(x)))(stack[:2])
    with pytest.raises(linalg.SingularDerivativeError, match="MINORS_MAX_ENTRIES"):
        ad.grad(lambda x: np.sum(np.linalg.det(x)))(stack)


EMPTY_SHAPES = [(0, 3, 3), (0, 0), (2, 0, 0), (0, 1, 1), (3, 0, 0, 0)]


@pytest.mark.parametrize("shape", EMPTY_SHAPES, ids=str)
@pytest.mark.parametrize("which", ["det", "logabsdet", "sign"])
def test_det_and_slogdet_of_empty_inputs(shape, which):
    f = {"det": np.linalg.det, "logabsdet": lambda x: np.linalg.slogdet(x)[1],
         "sign": lambda x: np.linalg.slogdet(x)[0]}[which]
    a = np.zeros(shape)
    expected = f(a)  # det of a 0x0 matrix is 1, its logabsdet 0
    value, tangent = ad.jvp(f, (a,), (np.ones(shape),))
    np.testing.assert_array_equal(value, expected)
    assert np.shape(value) == np.shape(expected)
    np.testing.assert_array_equal(tangent, np.zeros(np.shape(expected)))
    value, pullback = ad.vjp(f, a)
    (g,) = pullback(np.ones(np.shape(expected)))
    assert g.shape == shape and g.dtype == a.dtype
    g = ad.grad(lambda x: np.sum(f(x)))(a)
    assert g.shape == shape
    assert ad.jacfwd(f)(a).shape == np.shape(expected) + shape
    assert ad.hessian(lambda x: np.sum(f(x)))(a).shape == shape + shape


FLOAT32_FUNCTIONS = {
    "det": np.linalg.det,
    "logabsdet": lambda x: np.linalg.slogdet(x)[1],
    "eigh-values": lambda x: np.linalg.eigh(x)[0],
    "eigh-vectors": lambda x: np.sum(np.linalg.eigh(x)[1] ** 2 * WEIGHTS.astype(x.dtype), axis=-1),
    "eigvalsh": np.linalg.eigvalsh,
    "cholesky": np.linalg.cholesky,
    "cholesky-upper": lambda x: np.linalg.cholesky(x, upper=True),
}


@pytest.mark.parametrize("name", list(FLOAT32_FUNCTIONS))
def test_float32_inputs_get_float32_derivatives(name):
    f = FLOAT32_FUNCTIONS[name]
    a64 = spd_either_triangle(3, seed=97)
    a = a64.astype(np.float32)
    weights = np.arange(1.0, 1.0 + f(a64).size).reshape(f(a64).shape)
    scalar = lambda x: np.sum(f(x) * weights.astype(x.dtype))  # noqa: E731
    g = ad.grad(scalar)(a)
    _, t = ad.jvp(f, (a,), (np.ones_like(a),))
    h = ad.hessian(scalar)(a)
    assert g.dtype == t.dtype == h.dtype == np.float32
    np.testing.assert_allclose(g, numerical_grad(scalar, a64), rtol=2e-4, atol=2e-4)


@pytest.mark.parametrize("matrix", ["singular", "underflow", "mixed"])
def test_float32_det_on_every_path(matrix):
    a64 = {"singular": SINGULAR["3x3-rank2"],
           "underflow": 1e-16 * (rand(3, 3, seed=98) + 1.5 * np.eye(3)),
           "mixed": np.stack([SINGULAR["3x3-rank2-integer"], rand(3, 3, seed=99) + 2 * np.eye(3)]),
           }[matrix]
    a = a64.astype(np.float32)
    if matrix == "underflow":
        assert np.linalg.det(a) == 0
    if matrix == "singular":
        with pytest.raises(np.linalg.LinAlgError):
            np.linalg.inv(a)
    f = lambda x: np.sum(np.linalg.det(x))  # noqa: E731
    g = ad.grad(f)(a)
    _, t = ad.jvp(np.linalg.det, (a,), (np.ones_like(a),))
    assert g.dtype == t.dtype == np.float32
    assert ad.hessian(f)(a).dtype == np.float32
    if matrix == "underflow":  # det(c B) has gradient c² cof(B)
        B = a.astype(np.float64) / 1e-16
        np.testing.assert_allclose(g, 1e-32 * numerical_grad(np.linalg.det, B), rtol=1e-4)
    else:
        np.testing.assert_allclose(g, numerical_grad(f, a.astype(np.float64)), rtol=1e-4, atol=1e-4)


# ---- 3. matrix norms respect the order of axis ----------------------------------------------------
def test_norm_axis_order_matters_for_matrix_norms():
    A = np.array([[1.0, 0.5], [2.0, 1.5]])
    for ord_ in (1, -1, np.inf, -np.inf):
        for axis in ((0, 1), (1, 0)):
            value, _ = traced(np.linalg.norm, A, ord_, axis)
            assert value == np.linalg.norm(A, ord_, axis)
    assert traced(np.linalg.norm, A, 1, (1, 0))[0] == 3.5


MATRIX_ORDS = [None, "fro", 1, -1, np.inf, -np.inf]
NORM_INPUT = rand(2, 3, 4, seed=60, lo=0.1, hi=1.0) * np.random.default_rng(61).choice([-1, 1], (2, 3, 4))


@pytest.mark.parametrize("ord_", MATRIX_ORDS, ids=str)
@pytest.mark.parametrize("axis", [(0, 1), (1, 0), (-1, -2), (-2, -1), (2, 0), (0, -1)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_matrix_norm_every_ord_and_axis_order(ord_, axis, keepdims):
    x = NORM_INPUT
    expected = np.linalg.norm(x, ord_, axis, keepdims)
    value, _ = traced(np.linalg.norm, x, ord_, axis, keepdims)
    assert value.shape == expected.shape
    np.testing.assert_allclose(value, expected, rtol=1e-14, atol=0)
    check_grads(lambda a: np.linalg.norm(a, ord_, axis, keepdims), (x,), order=2)


def test_matrix_norm_2d_without_axis_and_singular_value_ords():
    x = rand(3, 2, seed=62, lo=0.1)
    for ord_ in MATRIX_ORDS:
        value, _ = traced(np.linalg.norm, x, ord_)
        np.testing.assert_allclose(value, np.linalg.norm(x, ord_), rtol=1e-15)
    for ord_ in ("nuc", 2, -2):  # through svd (dualad/rules/spectral.py)
        np.testing.assert_allclose(traced(np.linalg.norm, x, ord_)[0], np.linalg.norm(x, ord_),
                                   rtol=1e-13)
        check_grads(lambda a: np.linalg.norm(a, ord_, (2, 1)), (NORM_INPUT,), order=2)
    with pytest.raises(ValueError):
        traced(np.linalg.norm, x, 3)  # not a matrix norm, as in NumPy


# ---- 4. keywords: honoured with NumPy's semantics, or refused ------------------------------------
def _refused(fn, args, kwargs, name):
    with pytest.raises(TypeError, match=name):
        traced(fn, *args, **kwargs)


def test_out_is_refused_everywhere():
    out = np.empty(())
    _refused(np.dot, (x3, y3), {"out": out}, "out")
    _refused(np.outer, (x3, y3), {"out": np.empty((3, 3))}, "out")
    _refused(np.trace, (x33,), {"out": out}, "out")
    _refused(np.einsum, ("i,i", x3, y3), {"out": out}, "out")


def test_einsum_refusals_and_numpys_casting_errors():
    _refused(np.einsum, ("i,i", x3, y3), {"order": "C"}, "order")
    _refused(np.einsum, ("i,i", x3, y3), {"dtype": object}, "dtype")
    _refused(np.einsum, ("i,i", x3, y3), {"bogus": 1}, "bogus")
    # NumPy's default casting='safe' refuses float64 -> float32; so do we
    for kwargs in ({"dtype": np.float32}, {"dtype": int}):
        with pytest.raises(TypeError):
            np.einsum("i,i", x3, y3, **kwargs)
        with pytest.raises(TypeError):
            traced(np.einsum, "i,i", x3, y3, **kwargs)
    with pytest.raises(TypeError):
        traced(np.einsum, "i,i", x3, y3.astype(np.float32), casting="no")
    with pytest.raises(ValueError):
        traced(np.einsum, "i,i", x3, y3, casting="wrong")
    value, boxed = traced(np.einsum, "i,i", x3, y3, dtype=int, casting="unsafe")
    assert value == np.einsum("i,i", x3, y3, dtype=int, casting="unsafe") and boxed == [False]


def test_trace_dtype():
    value, boxed = traced(np.trace, x33, dtype=np.float32)
    assert value.dtype == np.float32 and value == np.trace(x33, dtype=np.float32) and boxed == [True]
    for dtype in (int, np.int8, bool):
        value, boxed = traced(np.trace, x33 * 3, dtype=dtype)
        assert value == np.trace(x33 * 3, dtype=dtype) and boxed == [False]
    _refused(np.trace, (x33,), {"dtype": object}, "dtype")  # (complex: test_complex_linalg.py)


MATMUL = core.UFUNC_RULES[np.matmul]


@pytest.mark.parametrize("name, value", [
    ("out", (np.empty((2, 2)),)), ("axes", [(-2, -1), (-2, -1), (-2, -1)]), ("axis", 0),
    ("keepdims", True), ("casting", "unsafe"), ("order", "C"), ("subok", False),
    ("signature", "dd->d"), ("dtype", object)])
def test_matmul_callable_refuses_what_it_does_not_honour(name, value):
    # np.matmul is a gufunc: its keywords reach the registered callable.
    _refused(MATMUL, (x23, x32), {name: value}, name)


def test_matmul_callable_dtype():
    value, _ = traced(MATMUL, x23, x32, dtype=np.float32)
    np.testing.assert_array_equal(value, np.matmul(x23, x32, dtype=np.float32))
    assert value.dtype == np.float32
    grads_of(MATMUL, (x23, x32), {"dtype": np.float32}, atol=1e-3, rtol=1e-3, eps=1e-3)
    with pytest.raises(TypeError):  # NumPy's own casting error for float -> int
        traced(MATMUL, x23, x32, dtype=int)
    with pytest.raises(ValueError):
        traced(MATMUL, x3, 2.0)


@pytest.mark.skipif(not hasattr(np, "vecdot"), reason="NumPy < 2 has no vecdot")
def test_vecdot_callable_axis_and_refusals():
    vecdot = core.UFUNC_RULES[np.vecdot]
    for a, b, axis in [(x23, v23, 0), (x32, rand(3, 1, seed=70), 0), (x234, rand(3, 4, seed=71), -2),
                       (x234, rand(4, seed=72), -1), (x23, y3, None)]:
        kwargs = {} if axis is None else {"axis": axis}
        value, _ = traced(vecdot, a, b, **kwargs)
        np.testing.assert_allclose(value, np.vecdot(a, b, **kwargs), rtol=1e-13)
        grads_of(vecdot, (a, b), kwargs, order=2)
    # the axis is counted in each operand's own dimensions: a mismatch is NumPy's error
    for a, b, kwargs in [(x234, x34, {"axis": 1}), (x3, np.ones(1), {})]:
        with pytest.raises(ValueError):
            np.vecdot(a, b, **kwargs)
        with pytest.raises(ValueError):
            traced(vecdot, a, b, **kwargs)
    with pytest.raises(np.exceptions.AxisError):
        traced(vecdot, x23, v23, axis=2)
    for name, value in [("out", (np.empty(2),)), ("axes", [(0,), (0,), ()]), ("keepdims", True),
                        ("dtype", np.float32), ("casting", "unsafe"), ("order", "C"),
                        ("subok", False), ("signature", "dd->d")]:
        _refused(vecdot, (x23, v23), {name: value}, name)


def test_shape_errors_numpy_raises_are_raised_not_computed():
    # these used to give a silently wrong value instead of NumPy's error
    for fn, args in [(np.tensordot, (x23, w32, ([0, 1], [0, 1]))),
                     (np.tensordot, (x23, x32, ([1], [0, 1]))),
                     (np.vdot, (x3, np.ones(1))),
                     (np.diagonal, (x33, 0, 0, 2)),
                     (np.diagonal, (x33, 0, 1, 1)),
                     (np.cross, (x3, y3, -1, -1, 1))]:
        with pytest.raises((ValueError, IndexError)):
            fn(*args)
        with pytest.raises((ValueError, IndexError)):
            traced(fn, *args)


def test_cross_axes_and_polyval_follow_numpy():
    for a, b, kwargs in [(rand(3, 2, 3, seed=73), rand(3, 3, seed=74), {"axisa": 0, "axisb": 1, "axisc": 1}),
                         (rand(2, 3, seed=75), rand(3, 2, seed=76), {"axisb": 0, "axisc": 0}),
                         (rand(2, 3, seed=77), rand(2, 3, seed=78), {"axis": -1}),
                         (rand(3, 2, seed=79), rand(3, 2, seed=80), {"axis": 0})]:
        value, _ = traced(np.cross, a, b, **kwargs)
        np.testing.assert_array_equal(value, np.cross(a, b, **kwargs))
        grads_of(np.cross, (a, b), kwargs, order=2)
    with pytest.raises(TypeError, match="3-vectors"):
        traced(np.cross, rand(2, seed=81), rand(2, seed=82))
    # polyval: Horner's rule from zeros_like(x), as NumPy, to the bit
    x = np.array([0.3, -1.7, np.inf])
    with np.errstate(invalid="ignore"):  # 0 * inf: nan, in NumPy too
        value, _ = traced(np.polyval, p3, x)
        np.testing.assert_array_equal(value, np.polyval(p3, x))
    value, _ = traced(np.polyval, p32, x23[:, :2].copy())
    np.testing.assert_array_equal(value, np.polyval(p32, x23[:, :2]))
    grads_of(np.polyval, (p32, x23[:, :2].copy()), {}, order=2)
