"""Tests for dualad.sparse.coloring: validity, known optima, recovery, validators, errors.

Colourings are checked by brute force written here (not by the module's validators alone), and
recovered matrices against dense NumPy matrices and dense dualad derivatives.
"""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

import dualad as ad
from dualad.sparse.coloring import (
    check_column_coloring,
    check_star_coloring,
    column_coloring,
    recover_columns,
    recover_rows,
    recover_star,
    row_coloring,
    seeds,
    star_coloring,
)

ORDERS = ["auto", "natural", "largest_first", "smallest_last", "dsatur"]
STAR_ORDERS = ["auto", "natural", "largest_first", "smallest_last"]


# ---------------------------------------------------------------------------------------------
# Patterns
# ---------------------------------------------------------------------------------------------

def tridiagonal(n):
    return sp.diags_array([1, 1, 1], offsets=[-1, 0, 1], shape=(n, n), dtype=bool, format="csr")


def five_point(k):
    """Pattern of the 2-D five-point Laplacian on a k x k grid (C-order unknowns)."""
    idx = np.arange(k * k).reshape(k, k)
    rows, cols = [], []
    for di, dj in [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)]:
        a = idx[max(0, -di):k - max(0, di), max(0, -dj):k - max(0, dj)]
        b = idx[max(0, di):k - max(0, -di), max(0, dj):k - max(0, -dj)]
        rows.append(a.ravel())
        cols.append(b.ravel())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_array((np.ones(rows.size, bool), (rows, cols)), shape=(k * k, k * k))


def arrow_head(n, hub=0):
    p = np.eye(n, dtype=bool)
    p[hub, :] = p[:, hub] = True
    return p


def block2(n):
    return sp.block_diag([np.ones((2, 2), bool)] * (n // 2), format="csr").astype(bool)


def random_pattern(rng, m, n, density):
    return sp.random_array((m, n), density=density, rng=rng, format="csr") != 0


def random_symmetric(rng, n, density, diagonal=True):
    p = random_pattern(rng, n, n, density)
    p = (p + p.T).astype(bool)
    if diagonal:
        p = (p + sp.eye_array(n, dtype=bool)).astype(bool)
    return sp.csr_array(p)


def ncolors(colors):
    return int(np.max(colors)) + 1


# ---------------------------------------------------------------------------------------------
# Brute-force validity (independent of the module's validators)
# ---------------------------------------------------------------------------------------------

def assert_column_valid(pattern, colors):
    dense = sp.csr_array(pattern).toarray() if sp.issparse(pattern) else np.asarray(pattern)
    assert colors.dtype == np.int64 and colors.shape == (dense.shape[1],)
    assert set(np.unique(colors)) == set(range(ncolors(colors))) if colors.size else True
    for k in range(ncolors(colors)):
        per_row = dense[:, colors == k].sum(axis=1)
        assert per_row.max(initial=0) <= 1, f"colour {k} has two columns in one row"


def star_violations(pattern, colors):
    """Edges with equal colours, and two-coloured paths on 4 vertices, by enumeration."""
    dense = sp.csr_array(pattern).toarray() if sp.issparse(pattern) else np.asarray(pattern)
    n = dense.shape[0]
    adj = dense & ~np.eye(n, dtype=bool)
    bad = [(i, j) for i, j in zip(*np.nonzero(adj)) if colors[i] == colors[j]]
    nbrs = [np.flatnonzero(adj[i]) for i in range(n)]
    for a in range(n):
        for b in nbrs[a]:
            for c in nbrs[b]:
                if c == a:
                    continue
                for d in nbrs[c]:
                    if d in (a, b):
                        continue
                    if len({colors[a], colors[b], colors[c], colors[d]}) < 3:
                        bad.append((a, b, c, d))
    return bad


def random_values_on(pattern, rng, symmetric=False):
    """Dense matrix with random nonzero values exactly on the pattern."""
    dense = sp.csr_array(pattern).toarray()
    values = rng.uniform(0.5, 2.0, dense.shape) * rng.choice([-1, 1], dense.shape)
    if symmetric:
        values = np.triu(values) + np.triu(values, 1).T
    return np.where(dense, values, 0.0)


# ---------------------------------------------------------------------------------------------
# Validity on random patterns
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("order", ORDERS)
def test_column_and_row_colourings_are_valid_on_random_patterns(order):
    rng = np.random.default_rng(1)
    for trial in range(12):
        m, n = rng.integers(1, 40, size=2)
        p = random_pattern(rng, m, n, rng.uniform(0.02, 0.5))
        colors = column_coloring(p, order)
        assert_column_valid(p, colors)
        check_column_coloring(p, colors)
        row_colors = row_coloring(p, order)
        assert_column_valid(p.T, row_colors)


@pytest.mark.parametrize("order", STAR_ORDERS)
def test_star_colourings_are_valid_on_random_patterns(order):
    rng = np.random.default_rng(2)
    for trial in range(12):
        n = int(rng.integers(1, 22))
        p = random_symmetric(rng, n, rng.uniform(0.02, 0.4), diagonal=bool(trial % 2))
        colors = star_coloring(p, order)
        assert colors.shape == (n,) and colors.dtype == np.int64
        assert star_violations(p, colors) == []
        check_star_coloring(p, colors)


def test_star_uses_no_more_colours_than_column_colouring_of_the_same_hessian():
    # A distance-2 colouring is a star colouring; the greedy star order should not do worse on
    # these symmetric patterns.
    rng = np.random.default_rng(3)
    for _ in range(10):
        p = random_symmetric(rng, 30, 0.1)
        assert ncolors(star_coloring(p)) <= ncolors(column_coloring(p))


# ---------------------------------------------------------------------------------------------
# Known optima
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [3, 4, 5, 10, 101])
def test_tridiagonal_jacobian_needs_three_colours(n):
    for order in ORDERS:
        colors = column_coloring(tridiagonal(n), order)
        assert_column_valid(tridiagonal(n), colors)
        if order in ("auto", "natural", "dsatur"):
            assert ncolors(colors) == 3
    assert ncolors(row_coloring(tridiagonal(n))) == 3


@pytest.mark.parametrize("k", [5, 6, 9, 20])
def test_five_point_laplacian_needs_five_colours(k):
    p = five_point(k)
    colors = column_coloring(p)
    assert_column_valid(p, colors)
    assert ncolors(colors) == 5
    assert ncolors(column_coloring(p, "dsatur")) == 5


def test_diagonal_needs_one_colour_and_a_dense_row_needs_n():
    assert column_coloring(sp.eye_array(7, format="csr")).tolist() == [0] * 7
    assert star_coloring(sp.eye_array(7, format="csr")).tolist() == [0] * 7
    dense_row = np.zeros((4, 6), bool)
    dense_row[2] = True
    colors = column_coloring(dense_row)
    assert sorted(colors.tolist()) == list(range(6))
    assert sorted(column_coloring(np.ones((3, 5), bool)).tolist()) == list(range(5))
    # A dense column touches every row, but the other columns are free to share one colour.
    dense_col = np.eye(5, dtype=bool)
    dense_col[:, 0] = True
    assert ncolors(column_coloring(dense_col)) == 2
    assert ncolors(row_coloring(dense_col)) == 5


@pytest.mark.parametrize("hub", [0, 4, 8])
def test_arrow_head_hessian_star_two_colours_distance_two_n(hub):
    p = arrow_head(9, hub)
    colors = star_coloring(p)
    assert ncolors(colors) == 2
    assert star_violations(p, colors) == []
    assert ncolors(column_coloring(p)) == 9  # why star colouring exists


@pytest.mark.parametrize("n", [4, 5, 12, 100])
def test_tridiagonal_hessian_star_three_colours(n):
    colors = star_coloring(tridiagonal(n))
    assert ncolors(colors) == 3
    if n <= 12:
        assert star_violations(tridiagonal(n), colors) == []


@pytest.mark.parametrize("k", [5, 8, 12, 30])
def test_five_point_hessian_star_five_colours(k):
    # 5 is optimal: the star chromatic number of a grid graph with k >= 5 is 5.
    p = five_point(k)
    colors = star_coloring(p)
    assert ncolors(colors) == 5
    if k <= 8:
        assert star_violations(p, colors) == []
    else:
        check_star_coloring(p, colors)


def test_arrow_head_with_its_hub_last_needs_two_colours_even_in_natural_order():
    # The star-set greedy lets the leaves share a colour before the hub is coloured.
    assert ncolors(star_coloring(arrow_head(12, hub=11), "natural")) == 2


def test_block_diagonal_hessian_star_two_colours():
    for n in [2, 10, 200]:
        assert ncolors(star_coloring(block2(n))) == 2


# ---------------------------------------------------------------------------------------------
# Recovery
# ---------------------------------------------------------------------------------------------

def assert_same_structure(out, pattern):
    p = sp.csr_array(pattern)
    p.sum_duplicates()
    p.sort_indices()
    assert isinstance(out, sp.csr_array) and out.dtype == np.float64
    assert out.has_canonical_format
    np.testing.assert_array_equal(out.indptr, p.indptr)
    np.testing.assert_array_equal(out.indices, p.indices)


def test_recover_columns_and_rows_match_dense_jacobians():
    rng = np.random.default_rng(4)
    for trial in range(15):
        m, n = (int(v) for v in rng.integers(1, 30, size=2))
        p = random_pattern(rng, m, n, rng.uniform(0.05, 0.5))
        J = random_values_on(p, rng)
        colors = column_coloring(p)
        S = seeds(colors)
        out = recover_columns(p, colors, S @ J.T)  # compressed[k] = J @ seeds[k]
        np.testing.assert_array_equal(out.toarray(), J)
        assert_same_structure(out, p)
        row_colors = row_coloring(p)
        out = recover_rows(p, row_colors, seeds(row_colors) @ J)
        np.testing.assert_array_equal(out.toarray(), J)
        assert_same_structure(out, p)


def test_recover_star_matches_dense_hessians_and_is_exactly_symmetric():
    rng = np.random.default_rng(5)
    for trial in range(15):
        n = int(rng.integers(1, 30))
        p = random_symmetric(rng, n, rng.uniform(0.03, 0.3), diagonal=bool(trial % 3))
        H = random_values_on(p, rng, symmetric=True)
        colors = star_coloring(p)
        out = recover_star(p, colors, seeds(colors) @ H)  # compressed[k] = H @ seeds[k]
        np.testing.assert_allclose(out.toarray(), H, rtol=1e-14, atol=0)
        assert (out != out.T).nnz == 0
        assert_same_structure(out, p)


def test_recovery_keeps_explicit_zeros_of_the_pattern():
    p = tridiagonal(6)
    J = np.zeros((6, 6))  # the values vanish at this point, the structure must not
    colors = column_coloring(p)
    out = recover_columns(p, colors, seeds(colors) @ J.T)
    assert out.nnz == p.nnz
    assert_same_structure(out, p)
    sc = star_coloring(p)
    assert recover_star(p, sc, seeds(sc) @ J).nnz == p.nnz


def test_recovery_against_dense_dualad_derivatives():
    def residual(x):
        # 1-D Bratu-like stencil: tridiagonal Jacobian
        inner = 2 * x[1:-1] - x[:-2] - x[2:] + 0.1 * np.exp(x[1:-1])
        return np.concatenate([x[:1] ** 2, inner, np.sin(x[-1:])])

    def rosenbrock(x):
        return np.sum(100 * (x[1::2] - x[::2] ** 2) ** 2 + (1 - x[::2]) ** 2)

    x = np.linspace(-1.0, 1.3, 10)
    J = np.asarray(ad.jacfwd(residual)(x))
    p = tridiagonal(10)
    assert np.all(p.toarray()[J != 0])
    colors = column_coloring(p)
    assert ncolors(colors) == 3
    compressed = np.stack([ad.jvp(residual, (x,), (s,))[1] for s in seeds(colors)])
    np.testing.assert_allclose(recover_columns(p, colors, compressed).toarray(), J, rtol=1e-13)

    H = np.asarray(ad.hessian(rosenbrock)(x))
    hp = block2(10)
    assert np.all(hp.toarray()[H != 0])
    colors = star_coloring(hp)
    assert ncolors(colors) == 2
    compressed = np.stack([ad.hvp(rosenbrock, x, s) for s in seeds(colors)])
    np.testing.assert_allclose(recover_star(hp, colors, compressed).toarray(), H, rtol=1e-13)


def test_seeds_block():
    S = seeds(np.array([2, 0, 1, 0]))
    assert S.dtype == np.float64 and S.shape == (3, 4)
    np.testing.assert_array_equal(S, [[0, 1, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0]])


# ---------------------------------------------------------------------------------------------
# Input formats and non-modification
# ---------------------------------------------------------------------------------------------

def test_any_scipy_format_or_dense_gives_the_same_colouring():
    rng = np.random.default_rng(6)
    p = random_pattern(rng, 20, 15, 0.2)
    dense = p.toarray()
    expected = column_coloring(p)
    for form in [dense, sp.csr_matrix(dense), sp.coo_array(dense), sp.csc_array(dense),
                 sp.lil_matrix(dense), sp.dok_array(dense), dense.astype(float)]:
        np.testing.assert_array_equal(column_coloring(form), expected)
    sym = random_symmetric(rng, 15, 0.2)
    np.testing.assert_array_equal(star_coloring(sp.coo_matrix(sym)), star_coloring(sym.toarray()))


def test_inputs_are_not_modified():
    # Unsorted indices with a duplicate and a stored zero: a messy but legal csr input.
    p = sp.csr_array((np.array([1, 1, 0, 1.0]), np.array([2, 0, 1, 0]), np.array([0, 3, 4])),
                     shape=(2, 3))
    before = (p.data.copy(), p.indices.copy(), p.indptr.copy())
    colors = column_coloring(p)
    check_column_coloring(p, colors)
    compressed = np.ones((ncolors(colors), 2))
    recover_columns(p, colors, compressed)
    for a, b in zip(before, (p.data, p.indices, p.indptr)):
        np.testing.assert_array_equal(a, b)
    # The stored zero at (0, 1) counts as structure: columns 0, 1 and 2 share row 0.
    assert sorted(colors.tolist()) == [0, 1, 2]
    colors_in = np.array([0, 1, 2])
    colors_copy = colors_in.copy()
    seeds(colors_in)
    np.testing.assert_array_equal(colors_in, colors_copy)


# ---------------------------------------------------------------------------------------------
# Validators reject bad colourings
# ---------------------------------------------------------------------------------------------

def test_check_column_coloring_names_the_offending_columns():
    with pytest.raises(ValueError, match=r"columns 1 and 2 .*row 1"):
        check_column_coloring(tridiagonal(4), [0, 1, 1, 2])
    with pytest.raises(ValueError, match="one colour per column"):
        check_column_coloring(tridiagonal(4), [0, 1, 2])
    with pytest.raises(ValueError, match=">= 0"):
        check_column_coloring(tridiagonal(3), [0, -1, 2])


def test_check_star_coloring_names_edge_and_path():
    path = tridiagonal(4)
    with pytest.raises(ValueError, match="adjacent vertices"):
        check_star_coloring(path, [0, 0, 1, 2])
    # 0 1 0 1 is a proper colouring, but the path uses only two colours.
    with pytest.raises(ValueError, match=r"path (0 - 1 - 2 - 3|3 - 2 - 1 - 0|1 - 2 - 3 - 0)"
                                         r"|path \d - \d - \d - \d"):
        check_star_coloring(path, [0, 1, 0, 1])
    assert star_violations(path, np.array([0, 1, 0, 1])) != []  # the brute force agrees
    check_star_coloring(path, [0, 1, 0, 2])
    with pytest.raises(ValueError, match="path"):
        recover_star(path, np.array([0, 1, 0, 1]), np.zeros((2, 4)))


def test_validators_agree_with_brute_force_on_random_colourings():
    rng = np.random.default_rng(7)
    for _ in range(40):
        n = int(rng.integers(2, 9))
        p = random_symmetric(rng, n, 0.3)
        colors = rng.integers(0, 3, size=n)
        colors = np.unique(colors, return_inverse=True)[1]  # colours 0..c-1
        brute_ok = star_violations(p, colors) == []
        try:
            check_star_coloring(p, colors)
            ok = True
        except ValueError:
            ok = False
        assert ok == brute_ok
        dense = p.toarray()
        col_ok = all(dense[:, colors == k].sum(axis=1).max() <= 1 for k in range(colors.max() + 1))
        try:
            check_column_coloring(p, colors)
            ok = True
        except ValueError:
            ok = False
        assert ok == col_ok


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------

def test_bad_patterns_and_arguments_raise_explanatory_errors():
    with pytest.raises(ValueError, match="2-D"):
        column_coloring(np.ones(4, bool))
    with pytest.raises(ValueError, match="2-D"):
        column_coloring(np.ones((2, 2, 2), bool))
    with pytest.raises(ValueError, match="scipy.sparse"):
        column_coloring("not a pattern")
    with pytest.raises(ValueError, match="square"):
        star_coloring(np.ones((2, 3), bool))
    asym = np.eye(3, dtype=bool)
    asym[0, 2] = True
    with pytest.raises(ValueError, match=r"symmetric.*\(0, 2\).*Symmetrise"):
        star_coloring(asym)
    with pytest.raises(ValueError, match="symmetric"):
        recover_star(asym, [0, 1, 2], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="order must be one of"):
        column_coloring(tridiagonal(3), order="random")
    with pytest.raises(ValueError, match="dsatur"):
        star_coloring(tridiagonal(3), order="dsatur")
    colors = column_coloring(tridiagonal(5))
    with pytest.raises(ValueError, match=r"compressed must have shape \(ncolors, m\) = \(3, 5\)"):
        recover_columns(tridiagonal(5), colors, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"\(3, 5\)"):
        recover_rows(tridiagonal(5), colors, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="one colour per"):
        recover_columns(tridiagonal(5), colors[:-1], np.zeros((3, 5)))
    with pytest.raises(ValueError, match="integers"):
        seeds([0.5, 1.0])


def test_empty_patterns():
    assert column_coloring(sp.csr_array((3, 0), dtype=bool)).shape == (0,)
    assert star_coloring(sp.csr_array((0, 0), dtype=bool)).shape == (0,)
    empty = sp.csr_array((3, 4), dtype=bool)
    colors = column_coloring(empty)
    assert colors.tolist() == [0] * 4
    out = recover_columns(empty, colors, np.zeros((1, 3)))
    assert out.shape == (3, 4) and out.nnz == 0


# ---------------------------------------------------------------------------------------------
# Recovery plans
# ---------------------------------------------------------------------------------------------

def test_recovery_plans_are_reusable_and_validate_the_colouring():
    from dualad.sparse.coloring import column_recovery, row_recovery, star_recovery

    rng = np.random.default_rng(8)
    p = random_pattern(rng, 25, 18, 0.15)
    colors = column_coloring(p)
    plan = column_recovery(p, colors)
    first = None
    for _ in range(3):  # a solver's iterates: same structure, new values
        J = random_values_on(p, rng)
        out = plan(seeds(colors) @ J.T)
        np.testing.assert_array_equal(out.toarray(), J)
        assert_same_structure(out, p)
        if first is None:
            first = out
    assert not np.shares_memory(first.indices, out.indices)
    rc = row_coloring(p)
    J = random_values_on(p, rng)
    np.testing.assert_array_equal(row_recovery(p, rc)(seeds(rc) @ J).toarray(), J)
    h = random_symmetric(rng, 20, 0.15)
    sc = star_coloring(h)
    H = random_values_on(h, rng, symmetric=True)
    np.testing.assert_allclose(star_recovery(h, sc)(seeds(sc) @ H).toarray(), H, rtol=1e-14)

    with pytest.raises(ValueError, match="invalid column colouring"):
        column_recovery(tridiagonal(5), [0, 0, 1, 2, 0])
    with pytest.raises(ValueError, match="invalid column colouring"):
        row_recovery(tridiagonal(5), [0, 1, 1, 2, 0])
    with pytest.raises(ValueError, match="adjacent vertices"):
        star_recovery(tridiagonal(5), [0, 0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"\(ncolors, m\)"):
        plan(np.zeros((ncolors(colors), 18)))


def test_docstring_examples_run():
    import doctest

    import dualad.sparse.coloring as coloring

    failures, tried = doctest.testmod(coloring)
    assert failures == 0 and tried >= 15
    for name in coloring.__all__:
        obj = getattr(coloring, name)
        if callable(obj):
            assert ">>>" in (obj.__doc__ or ""), f"{name} needs a runnable example"


def test_smallest_last_stays_within_the_degeneracy_bound():
    # Smallest-last colours any graph with at most degeneracy + 1 colours; computed here by
    # peeling the column-intersection graph densely.
    rng = np.random.default_rng(9)
    for _ in range(10):
        p = random_pattern(rng, 30, 25, 0.08).toarray()
        adj = (p.T.astype(int) @ p.astype(int)) > 0
        np.fill_diagonal(adj, False)
        alive = np.ones(25, bool)
        degeneracy = 0
        while alive.any():
            deg = np.where(alive, adj[:, alive].sum(axis=1), np.iinfo(int).max)
            v = int(np.argmin(deg))
            degeneracy = max(degeneracy, int(deg[v]))
            alive[v] = False
        assert ncolors(column_coloring(p, "smallest_last")) <= degeneracy + 1


def test_a_dense_row_that_would_explode_the_graph_is_refused_with_the_way_out(monkeypatch):
    import dualad.sparse.coloring as coloring

    monkeypatch.setattr(coloring, "MAX_INTERSECTION_WORK", 1000)
    p = sp.lil_array((50, 60), dtype=bool)
    p.setdiag(True)
    p[7, :] = True
    p = p.tocsr()
    with pytest.raises(ValueError, match=r"row 7 alone has 60 nonzeros.*row_coloring"):
        column_coloring(p)
    rc = row_coloring(p)  # the transpose has short rows: fine
    assert_column_valid(p.T, rc)
    with pytest.raises(ValueError, match=r"column 7 alone has 60 nonzeros.*column_coloring"):
        row_coloring(sp.csr_array(p.T))
