"""Sparsity detection (dualad.sparse.jacobian_sparsity / hessian_sparsity).

Two kinds of check, never a pattern against the rule that made it:

* *containment* on the whole rule table (tests/test_rules.py's CASES): the
  global pattern holds every nonzero of the dense ``jacfwd`` at the case's
  point and at two points near it, the local pattern every nonzero at the
  point, and the Hessian pattern every nonzero of the dense ``hessian``;
* *equality* on structures whose pattern is known in closed form (stencils,
  the five-point Laplacian, banded and dense constant matrices, reductions,
  shape functions, branches, the classic sparse Hessians), written here
  with scipy.sparse or by hand, and checked against the dense derivative
  at a random point too (so the closed form itself is right).

Then the output format and the errors.
"""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest
import scipy.sparse as sps

import dualad as ad
from dualad.sparse import BranchOnValue, hessian_sparsity, jacobian_sparsity

HERE = pathlib.Path(__file__).parent


def _rule_cases():
    # loaded by path under its own name, as test_silent_results.py does, so
    # pytest's own import of test_rules is not disturbed
    spec = importlib.util.spec_from_file_location("_sparse_rule_table", HERE / "test_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


RULE_CASES = _rule_cases()
RULE_IDS = [c.id for c in RULE_CASES]

# Cases whose *pattern or output shape* depends on the values of x, so a
# global pattern cannot exist and global detection must refuse (and say to
# pass local=True).  Everything else in the table must be detected globally.
VALUE_DEPENDENT = {
    "index-scalar-mask-from-value": "x[x > 0]: which entries are kept depends on x",
    "roots": "np.roots strips leading zero coefficients: the output length depends on x",
    "roots-real": "np.roots strips leading zero coefficients: the output length depends on x",
    "polydiv": "np.polydiv strips a remainder's leading zeros: the output length depends on x",
}


# ---- helpers ------------------------------------------------------------------------------
def flat_case(case):
    """The case as a function of one flat float vector, returning one flat
    vector (the C-order concatenation of every output leaf)."""
    shapes = [a.shape for a in case.args]
    cuts = np.cumsum([a.size for a in case.args])[:-1]

    def g(x):
        parts = np.split(x, cuts) if len(shapes) > 1 else [x]
        out = case.f(*[np.reshape(p, s) for p, s in zip(parts, shapes)])
        leaves = ad.tree_flatten(out)[0]
        if len(leaves) == 1:
            return np.ravel(leaves[0])
        return np.concatenate([np.ravel(leaf) for leaf in leaves])

    return g, np.concatenate([a.ravel() for a in case.args])


def dense_pattern(sparsity, shape) -> np.ndarray:
    """Check the documented format and return the pattern as a dense bool array."""
    assert isinstance(sparsity, sps.csr_array), type(sparsity)
    assert sparsity.dtype == np.bool_, sparsity.dtype
    assert sparsity.shape == tuple(shape), (sparsity.shape, shape)
    return sparsity.toarray()


def nonzeros(a, rel=0.0) -> np.ndarray:
    """Entries of a dense derivative that are nonzero (``|a| > rel * max|a|``)."""
    a = np.abs(np.asarray(a))
    top = a.max() if a.size else 0.0
    return a > rel * top if top > 0 else np.zeros(a.shape, bool)


def jac_nonzeros(f, x) -> np.ndarray:
    J = np.asarray(ad.jacfwd(f)(x))
    return nonzeros(J.reshape(-1, x.size))


def hess_nonzeros(f, x) -> np.ndarray:
    H = np.asarray(ad.hessian(f)(x))
    return nonzeros(H.reshape(x.size, x.size), rel=1e-10)


def jac_pattern(f, x, local=False) -> np.ndarray:
    m = np.size(f(x))
    return dense_pattern(jacobian_sparsity(f, x, local=local), (m, x.size))


def hess_pattern(f, x, local=False) -> np.ndarray:
    P = dense_pattern(hessian_sparsity(f, x, local=local), (x.size, x.size))
    assert (P == P.T).all(), "a Hessian pattern must be symmetric"
    return P


def assert_contains(pattern, nz, what):
    missing = np.argwhere(nz & ~pattern)
    assert not missing.size, f"{what}: the pattern misses nonzero entries {missing[:5].tolist()}"


def assert_pattern(actual, expected, what):
    expected = np.asarray(expected.toarray() if sps.issparse(expected) else expected, bool)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    missing, extra = np.argwhere(expected & ~actual), np.argwhere(actual & ~expected)
    assert not missing.size and not extra.size, (
        f"{what}: missing {missing[:5].tolist()} ({len(missing)}), "
        f"extra {extra[:5].tolist()} ({len(extra)})")


def check_exact_jacobian(f, x, expected, what, local=False):
    """The detected pattern equals ``expected``; and ``expected`` is right:
    it holds the dense Jacobian's nonzeros at x (which, at a generic random
    point, are all of its entries)."""
    assert_pattern(jac_pattern(f, x, local=local), expected, what)
    assert_pattern(jac_nonzeros(f, x), expected, what + " (dense jacfwd at a random point)")


def check_exact_hessian(f, x, expected, what, local=False):
    assert_pattern(hess_pattern(f, x, local=local), expected, what)
    assert_pattern(hess_nonzeros(f, x), expected, what + " (dense hessian at a random point)")


def rng_x(n, seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, n)


def tridiagonal(n, periodic=False) -> sps.csr_array:
    T = sps.diags_array([np.ones(n - 1), np.ones(n), np.ones(n - 1)], offsets=[-1, 0, 1],
                        shape=(n, n)).tolil()
    if periodic:
        T[0, n - 1] = T[n - 1, 0] = 1
    return sps.csr_array(T)


def laplacian_2d(k, periodic=False) -> sps.csr_array:
    """Pattern of the five-point Laplacian on a k x k grid (C order)."""
    T, I = tridiagonal(k, periodic), sps.eye_array(k)
    return sps.csr_array(sps.kron(I, T) + sps.kron(T, I))


# ---- the whole rule table: the patterns hold the dense nonzeros -----------------------------
@pytest.mark.parametrize("case", RULE_CASES, ids=RULE_IDS)
def test_rule_table_jacobian_contains_dense(case):
    g, x = flat_case(case)
    m = np.size(g(x))
    if case.id in VALUE_DEPENDENT:
        with pytest.raises(TypeError, match="local=True"):
            jacobian_sparsity(g, x)
        pattern = None
    else:
        pattern = dense_pattern(jacobian_sparsity(g, x), (m, x.size))
    local = dense_pattern(jacobian_sparsity(g, x, local=True), (m, x.size))
    assert_contains(local, jac_nonzeros(g, x), f"{case.id}: local pattern at x")
    if pattern is None:
        return
    rng = np.random.default_rng(1)
    # the case's points are drawn away from kinks and branch cuts; 1e-3
    # moves stay in the same domain
    for k, point in enumerate([x, x + 1e-3 * rng.standard_normal(x.size),
                               x + 1e-3 * rng.standard_normal(x.size)]):
        assert_contains(pattern, jac_nonzeros(g, point), f"{case.id}: global pattern, point {k}")


@pytest.mark.parametrize("case", RULE_CASES, ids=RULE_IDS)
def test_rule_table_hessian_contains_dense(case):
    g, x = flat_case(case)
    m = np.size(g(x))
    w = np.random.default_rng(2).standard_normal(m)

    def h(x):
        # linear in g: its Hessian is the w-weighted sum of the outputs'
        # Hessians, whose nonzeros do not cancel at a random w
        return np.sum(g(x) * w)

    local = case.id in VALUE_DEPENDENT
    pattern = hess_pattern(h, x, local=local)
    assert_contains(pattern, hess_nonzeros(h, x),
                    f"{case.id}: {'local' if local else 'global'} Hessian pattern")


def test_rule_table_refusals_are_still_in_the_table():
    """The value-dependent list names only cases that exist (a renamed case
    would otherwise silently drop out of the global check)."""
    assert set(VALUE_DEPENDENT) <= set(RULE_IDS)


# ---- exact patterns: Jacobians --------------------------------------------------------------
def test_elementwise_maps_are_diagonal():
    x = rng_x(12).reshape(3, 4)

    def f(x):
        return np.exp(x) * np.sin(x) + x ** 2 / (1 + x ** 2) - np.tanh(3 * x)

    assert_pattern(jac_pattern(f, x), np.eye(12, dtype=bool), "elementwise")
    assert_pattern(jac_pattern(f, x, local=True), np.eye(12, dtype=bool), "elementwise, local")
    assert_pattern(jac_nonzeros(f, x), np.eye(12, dtype=bool), "elementwise (dense)")


@pytest.mark.parametrize("nonlinear", [False, True])
def test_three_point_stencil(nonlinear):
    n = 9
    x = rng_x(n, seed=3)

    def f(x):
        r = x[:-2] - 2 * x[1:-1] + x[2:]
        return r + np.exp(x[1:-1]) * x[2:] ** 2 if nonlinear else r

    expected = np.zeros((n - 2, n), bool)
    for i in range(n - 2):
        expected[i, i:i + 3] = True
    check_exact_jacobian(f, x, expected, "three-point stencil")


def bratu_sliced(u, lam=1.0):
    """The 2-D Bratu residual, zero Dirichlet boundary, by slicing a padded grid."""
    k = u.shape[0]
    h2 = 1.0 / (k + 1) ** 2
    up = np.pad(u, 1)
    lap = up[:-2, 1:-1] + up[2:, 1:-1] + up[1:-1, :-2] + up[1:-1, 2:] - 4 * u
    return lap / h2 + lam * np.exp(u)


def bratu_periodic(u, lam=1.0):
    k = u.shape[0]
    lap = (np.roll(u, 1, axis=0) + np.roll(u, -1, axis=0) + np.roll(u, 1, axis=1)
           + np.roll(u, -1, axis=1) - 4 * u)
    return lap * (k * k) + lam * np.exp(u)


def test_bratu_five_point_by_slicing():
    k = 6
    u = rng_x(k * k, seed=4).reshape(k, k)
    check_exact_jacobian(bratu_sliced, u, laplacian_2d(k), "Bratu, sliced")
    check_exact_jacobian(bratu_sliced, u, laplacian_2d(k), "Bratu, sliced, local", local=True)


def test_bratu_five_point_flat_input():
    """The same residual taking a flat vector (what a solver passes)."""
    k = 5

    def f(x):
        return bratu_sliced(x.reshape(k, k)).ravel()

    check_exact_jacobian(f, rng_x(k * k, seed=5), laplacian_2d(k), "Bratu, flat")


def test_bratu_five_point_periodic_by_roll():
    k = 5
    u = rng_x(k * k, seed=6).reshape(k, k)
    check_exact_jacobian(bratu_periodic, u, laplacian_2d(k, periodic=True), "Bratu, np.roll")


def test_diff():
    n = 7
    x = rng_x(n, seed=7)
    first = np.zeros((n - 1, n), bool)
    for i in range(n - 1):
        first[i, i:i + 2] = True
    check_exact_jacobian(lambda x: np.diff(x) ** 3, x, first, "np.diff")
    second = np.zeros((n - 2, n), bool)
    for i in range(n - 2):
        second[i, i:i + 3] = True
    check_exact_jacobian(lambda x: np.diff(x, n=2), x, second, "np.diff(n=2)")
    # along axis 0 of a 3 x 4 array: output (2, 4); entry (i, j) reads (i, j), (i+1, j)
    X = rng_x(12, seed=8).reshape(3, 4)
    expected = np.zeros((8, 12), bool)
    for i in range(2):
        for j in range(4):
            expected[i * 4 + j, [i * 4 + j, (i + 1) * 4 + j]] = True
    check_exact_jacobian(lambda X: np.diff(X, axis=0), X, expected, "np.diff(axis=0)")


def test_cumsum_is_lower_triangular():
    n = 6
    x = rng_x(n, seed=9)
    check_exact_jacobian(np.cumsum, x, np.tril(np.ones((n, n), bool)), "np.cumsum")
    X = rng_x(12, seed=10).reshape(3, 4)
    blocks = sps.block_diag([np.tril(np.ones((4, 4)))] * 3)
    check_exact_jacobian(lambda X: np.cumsum(X, axis=1), X, blocks, "np.cumsum(axis=1)")


def test_matmul_with_a_constant_banded_matrix():
    n = 10
    rng = np.random.default_rng(11)
    A = sps.diags_array([rng.uniform(1, 2, n - 2), rng.uniform(1, 2, n), rng.uniform(1, 2, n - 1)],
                        offsets=[-2, 0, 1], shape=(n, n)).toarray()
    x = rng_x(n, seed=12)
    check_exact_jacobian(lambda x: A @ x, x, A != 0, "banded A @ x")
    check_exact_jacobian(lambda x: np.tanh(A @ x), x, A != 0, "tanh(banded A @ x)")
    check_exact_jacobian(lambda x: x @ A, x, (A != 0).T, "x @ banded A")


def test_matmul_with_a_dense_constant_having_exact_zeros():
    rng = np.random.default_rng(13)
    A = rng.standard_normal((5, 7))
    A[rng.uniform(size=A.shape) < 0.4] = 0.0
    A[2] = 0.0  # an output that depends on nothing
    x = rng_x(7, seed=14)
    check_exact_jacobian(lambda x: A @ x, x, A != 0, "A @ x, A with zeros")
    # matrix @ matrix: out[i, j] = sum_k A[i, k] X[k, j]
    X = rng_x(14, seed=15).reshape(7, 2)
    expected = np.zeros((5 * 2, 7 * 2), bool)
    for i in range(5):
        for j in range(2):
            for kk in range(7):
                expected[i * 2 + j, kk * 2 + j] = A[i, kk] != 0
    check_exact_jacobian(lambda X: A @ X, X, expected, "A @ X, A with zeros")


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "max"])
@pytest.mark.parametrize("axis", [0, 1, None])
def test_reductions_along_an_axis(reduce, axis):
    X = rng_x(12, seed=16, lo=0.5, hi=2.0).reshape(3, 4)
    fun = getattr(np, reduce)
    ids = np.arange(12).reshape(3, 4)
    if axis is None:
        expected = np.ones((1, 12), bool)
    else:
        lines = np.moveaxis(ids, axis, -1)  # one line of inputs per output
        expected = np.zeros((lines.shape[0], 12), bool)
        for o, line in enumerate(lines):
            expected[o, line] = True
    f = (lambda X: fun(X, axis=axis)) if axis is not None else (lambda X: np.atleast_1d(fun(X)))
    if reduce == "max":
        # the global pattern of max depends on every entry; the dense
        # derivative (and the local pattern) only on the maximum
        assert_pattern(jac_pattern(f, X), expected, f"global max, axis {axis}")
        local = jac_pattern(f, X, local=True)
        assert_pattern(local, jac_nonzeros(f, X), f"local max, axis {axis}")
        assert local.sum() == expected.shape[0]
    else:
        check_exact_jacobian(f, X, expected, f"{reduce}, axis {axis}")


def test_shape_functions_are_selections():
    """reshape / transpose / concatenate / stack / pad / flip only move entries:
    each output is one input (or a constant), so each row holds at most one entry."""
    x = rng_x(12, seed=17)

    def f(x):
        X = x.reshape(3, 4)
        return np.concatenate([
            X.T.ravel(),
            np.flip(X, axis=1)[0],
            np.pad(x[:3], (2, 1)),
            np.stack([x[:2], x[5:7] ** 2], axis=1).ravel(),
            np.swapaxes(X[:, :2], 0, 1).reshape(-1),
        ])

    ids = np.arange(12)
    I3 = ids.reshape(3, 4)
    sources = np.concatenate([
        I3.T.ravel(), I3[0, ::-1], [-1, -1, 0, 1, 2, -1],
        np.stack([ids[:2], ids[5:7]], axis=1).ravel(), I3[:, :2].T.ravel()])
    expected = np.zeros((sources.size, 12), bool)
    expected[np.flatnonzero(sources >= 0), sources[sources >= 0]] = True
    check_exact_jacobian(f, x, expected, "shape functions")


def test_where_global_takes_both_branches_local_the_one_taken():
    n = 8
    x = rng_x(n, seed=18)
    x[:4] = np.abs(x[:4]) + 0.1
    x[4:] = -np.abs(x[4:]) - 0.1

    def f(x):
        return np.where(x > 0, x ** 2, np.sin(x[::-1]))

    both = np.eye(n, dtype=bool) | np.eye(n, dtype=bool)[::-1]
    assert_pattern(jac_pattern(f, x), both, "np.where, global")
    taken = np.zeros((n, n), bool)
    for i in range(n):
        taken[i, i if x[i] > 0 else n - 1 - i] = True
    assert_pattern(jac_pattern(f, x, local=True), taken, "np.where, local")
    assert_pattern(jac_nonzeros(f, x), taken, "np.where (dense)")


def test_maximum_global_union_local_branch():
    n = 7
    x = np.array([0.3, -0.2, 0.9, 0.1, -0.5, 0.4, -0.8])

    def pairwise(x):
        return np.maximum(x[:-1], x[1:])

    bidiagonal = np.zeros((n - 1, n), bool)
    for i in range(n - 1):
        bidiagonal[i, i:i + 2] = True
    assert_pattern(jac_pattern(pairwise, x), bidiagonal, "np.maximum, global")
    taken = np.zeros((n - 1, n), bool)
    for i in range(n - 1):
        taken[i, i if x[i] > x[i + 1] else i + 1] = True
    assert_pattern(jac_pattern(pairwise, x, local=True), taken, "np.maximum, local")
    assert_pattern(jac_nonzeros(pairwise, x), taken, "np.maximum (dense)")

    # maximum against a constant: where x < 0 the local entry vanishes
    def relu(x):
        return np.maximum(x, 0.0)

    assert_pattern(jac_pattern(relu, x), np.eye(n, dtype=bool), "relu, global")
    assert_pattern(jac_pattern(relu, x, local=True), np.diag(x > 0), "relu, local")
    assert_pattern(jac_nonzeros(relu, x), np.diag(x > 0), "relu (dense)")


def test_abs_depends_on_its_argument_in_both_modes():
    n = 6
    x = np.array([0.3, -0.2, 0.9, 0.1, -0.5, 0.4])

    def f(x):
        return np.abs(x[:-1] - x[1:])

    bidiagonal = np.zeros((n - 1, n), bool)
    for i in range(n - 1):
        bidiagonal[i, i:i + 2] = True
    check_exact_jacobian(f, x, bidiagonal, "abs, global")
    check_exact_jacobian(f, x, bidiagonal, "abs, local", local=True)


def test_output_not_depending_on_x_has_an_empty_pattern():
    x = rng_x(4)
    assert dense_pattern(jacobian_sparsity(lambda x: np.zeros(3), x), (3, 4)).sum() == 0
    # a constant part of an output contributes no entries
    P = jac_pattern(lambda x: np.concatenate([np.ones(2), x[1:3] ** 2]), x)
    assert_pattern(P, np.eye(4, dtype=bool)[[0, 0, 1, 2]] & np.array([[0], [0], [1], [1]], bool),
                   "constant part")


# ---- exact patterns: Hessians ---------------------------------------------------------------
def test_extended_rosenbrock_hessian_is_two_by_two_blocks():
    n = 10
    x = rng_x(n, seed=19)

    def f(x):
        return np.sum(100 * (x[1::2] - x[::2] ** 2) ** 2 + (1 - x[::2]) ** 2)

    check_exact_hessian(f, x, sps.block_diag([np.ones((2, 2))] * (n // 2)), "extended Rosenbrock")


def test_chained_rosenbrock_hessian_is_tridiagonal():
    n = 9
    x = rng_x(n, seed=20)

    def f(x):
        return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    check_exact_hessian(f, x, tridiagonal(n), "chained Rosenbrock")


def test_arrow_head_hessian():
    n = 7
    x = rng_x(n, seed=21)

    def f(x):
        return np.sum((x[0] - x[1:]) ** 2) + np.sum(x[1:] ** 4)

    arrow = np.eye(n, dtype=bool)
    arrow[0, :] = arrow[:, 0] = True
    check_exact_hessian(f, x, arrow, "arrow head")


def test_cross_terms_without_a_diagonal():
    n = 6
    x = rng_x(n, seed=22)
    off = tridiagonal(n).toarray().astype(bool) & ~np.eye(n, dtype=bool)
    check_exact_hessian(lambda x: np.sum(x[:-1] * x[1:]), x, off, "sum(x[:-1] * x[1:])")


def test_stencil_least_squares_hessian_is_pentadiagonal():
    n = 9
    x = rng_x(n, seed=23)

    def f(x):
        r = x[:-2] - 2 * x[1:-1] + x[2:]
        return 0.5 * np.sum(r ** 2)

    expected = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 2
    check_exact_hessian(f, x, expected, "sum of squared stencil residuals")


def test_linear_functions_have_an_empty_hessian():
    rng = np.random.default_rng(24)
    A = rng.standard_normal((4, 6))
    x = rng_x(6, seed=25)
    for f in (lambda x: np.sum(A @ x) + 3 * np.sum(x),
              lambda x: np.sum(np.cumsum(x[::-1]) - np.diff(x).sum()),
              lambda x: np.sum(np.where(x > 0, x, -2 * x)),
              lambda x: np.sum(np.maximum(x, 0.0) - np.abs(x))):
        P = hess_pattern(f, x)
        assert not P.any(), f"a piecewise-linear f has an empty Hessian pattern; got {P.sum()} entries"
        assert not hess_nonzeros(f, x).any()


def test_hessian_of_a_2d_input():
    X = rng_x(6, seed=26).reshape(2, 3)

    def f(X):
        return np.sum(X[0] * X[1]) + np.sum(np.exp(X[1]))

    # inputs 0..2 are X[0], 3..5 are X[1]: X[0, j] meets X[1, j]; X[1, j] its own square
    expected = np.zeros((6, 6), bool)
    for j in range(3):
        expected[j, 3 + j] = expected[3 + j, j] = expected[3 + j, 3 + j] = True
    check_exact_hessian(f, X, expected, "2-D input")


# ---- output format and inputs -----------------------------------------------------------------
def test_format_and_c_order_flattening():
    X = rng_x(6, seed=27).reshape(2, 3)

    def f(X):
        return np.stack([X[:, 0] * X[:, 1], X[:, 2] ** 2])  # output (2, 2)

    S = jacobian_sparsity(f, X)
    P = dense_pattern(S, (4, 6))
    expected = np.zeros((4, 6), bool)
    # out[0, i] = X[i, 0] * X[i, 1]: input ids 3i, 3i+1; out[1, i] = X[i, 2]**2: id 3i+2
    for i in range(2):
        expected[i, [3 * i, 3 * i + 1]] = True
        expected[2 + i, 3 * i + 2] = True
    assert_pattern(P, expected, "C order")
    H = hessian_sparsity(lambda X: np.sum(f(X)), X)
    assert isinstance(H, sps.csr_array) and H.dtype == np.bool_ and H.shape == (6, 6)
    assert (H != H.T).nnz == 0


def test_detection_leaves_x_untouched():
    x = rng_x(5, seed=28)
    before = x.copy()
    jacobian_sparsity(lambda x: np.cumsum(x) ** 2, x)
    hessian_sparsity(lambda x: np.sum(np.exp(x)), x, local=True)
    assert np.array_equal(x, before) and x.flags.writeable


def test_scalar_output_and_scalar_input():
    assert dense_pattern(jacobian_sparsity(lambda x: np.sum(x ** 2), rng_x(3)), (1, 3)).all()
    P = dense_pattern(jacobian_sparsity(lambda x: np.sin(x) * np.ones(2), np.array(0.5)), (2, 1))
    assert P.all()


# ---- errors ------------------------------------------------------------------------------------
def test_python_branch_refused_globally_with_the_fix_named():
    def f(x):
        if x[0] > 0:
            return x ** 2
        return np.roll(x, 1)

    x = np.array([0.5, -1.0, 2.0])
    with pytest.raises(TypeError) as info:
        jacobian_sparsity(f, x)
    assert isinstance(info.value, BranchOnValue)
    assert "local=True" in str(info.value)
    with pytest.raises(TypeError, match="local=True"):
        hessian_sparsity(lambda x: np.sum(f(x)), x)
    # at this x the first branch is taken: a diagonal pattern
    assert_pattern(jac_pattern(f, x, local=True), np.eye(3, dtype=bool), "branch, local")
    # and at a point taking the other branch, the roll's permutation
    y = -x
    assert_pattern(jac_pattern(f, y, local=True), np.roll(np.eye(3, dtype=bool), 1, axis=0),
                   "other branch, local")


@pytest.mark.parametrize("convert", [float, int, bool])
def test_converting_a_traced_value_refused_globally(convert):
    def f(x):
        return x * convert(x[1] > 0.5) + x

    x = np.array([0.2, 0.9])
    with pytest.raises(TypeError, match="local=True"):
        jacobian_sparsity(f, x)
    assert jac_pattern(f, x, local=True).shape == (2, 2)


def test_non_float_output_refused():
    x = rng_x(3)
    with pytest.raises(TypeError, match="dtype"):
        jacobian_sparsity(lambda x: np.arange(3), x)
    with pytest.raises(TypeError, match="dtype"):
        jacobian_sparsity(lambda x: (x > 0).astype(np.int64), x, local=True)


def test_non_array_output_refused():
    with pytest.raises(TypeError, match="concatenate"):
        jacobian_sparsity(lambda x: (x, x ** 2), rng_x(3))


@pytest.mark.parametrize("bad", [np.arange(3), np.array([1.0, "a"], dtype=object),
                                 np.array([True, False])], ids=["int", "object", "bool"])
def test_non_float_x_refused(bad):
    for detect in (jacobian_sparsity, hessian_sparsity):
        with pytest.raises(TypeError, match="float"):
            detect(lambda x: np.sum(x * 2.0), bad)


def test_hessian_of_a_vector_function_refused():
    with pytest.raises(ValueError, match="scalar"):
        hessian_sparsity(lambda x: x ** 2, rng_x(3))
