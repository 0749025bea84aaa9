"""Compressed sparse evaluation (dualad.sparse.jacobian / hessian /
SparseJacobian / SparseHessian): the values equal the dense ``jacfwd`` and
``hessian`` of the same function, on structured and on random
sparse-structured functions; the reusable objects at new points; given
patterns; colour counts against the known optima; and the documented
behaviour of a local pattern at a point where it no longer holds.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sps

import dualad as ad
from dualad import sparse

RTOL = 1e-12


# ---- helpers ------------------------------------------------------------------------------
def dense_jacobian(f, x):
    return np.asarray(ad.jacfwd(f)(x)).reshape(-1, x.size)


def dense_hessian(f, x):
    return np.asarray(ad.hessian(f)(x)).reshape(x.size, x.size)


def assert_values(result, expected, shape, what):
    assert isinstance(result, sps.csr_array), f"{what}: {type(result)}"
    assert result.dtype == np.float64, f"{what}: dtype {result.dtype}"
    assert result.shape == tuple(shape), f"{what}: shape {result.shape}, expected {shape}"
    scale = max(np.abs(expected).max(initial=0.0), 1.0)
    np.testing.assert_allclose(result.toarray(), expected, rtol=RTOL, atol=RTOL * scale,
                               err_msg=what)


def rng_x(n, seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, n)


def bratu_sliced(u, lam=1.0):
    k = u.shape[0]
    up = np.pad(u, 1)
    lap = up[:-2, 1:-1] + up[2:, 1:-1] + up[1:-1, :-2] + up[1:-1, 2:] - 4 * u
    return lap * (k + 1) ** 2 + lam * np.exp(u)


def bratu_periodic(u, lam=1.0):
    lap = (np.roll(u, 1, axis=0) + np.roll(u, -1, axis=0) + np.roll(u, 1, axis=1)
           + np.roll(u, -1, axis=1) - 4 * u)
    return lap * u.shape[0] ** 2 + lam * np.exp(u)


def tridiagonal_residual(x):
    """A square tridiagonal Jacobian: the 1-D Bratu residual, zero boundary."""
    xp = np.pad(x, 1)
    return xp[:-2] - 2 * x + xp[2:] + 0.5 * np.exp(x) * x


_R = np.random.default_rng(100)
_BANDED = sps.diags_array([_R.uniform(1, 2, 10), _R.uniform(1, 2, 12), _R.uniform(1, 2, 9)],
                          offsets=[-2, 0, 3], shape=(12, 12)).toarray()

_TALL = _R.uniform(0.5, 1.5, (51, 3))

JACOBIAN_CASES = {
    "elementwise": (lambda x: np.exp(x) * np.sin(x) + x ** 3, rng_x(12, 1).reshape(3, 4)),
    "stencil": (lambda x: x[:-2] - 2 * x[1:-1] + x[2:] + np.exp(x[1:-1]) * x[2:] ** 2,
                rng_x(11, 2)),
    "tridiagonal": (tridiagonal_residual, rng_x(10, 3)),
    "bratu-sliced": (bratu_sliced, rng_x(49, 4).reshape(7, 7)),
    "bratu-periodic": (bratu_periodic, rng_x(36, 5).reshape(6, 6)),
    "diff": (lambda x: np.diff(x) ** 3 + np.diff(np.sin(x), n=2).sum(), rng_x(8, 6)),
    "cumsum": (lambda x: np.cumsum(x) * np.exp(x), rng_x(7, 7)),
    "banded-matmul": (lambda x: np.tanh(_BANDED @ x) * x, rng_x(12, 8)),
    "where": (lambda x: np.where(x > 0, x ** 2, np.sin(x[::-1])), rng_x(9, 9)),
    "maximum": (lambda x: np.maximum(x[:-1], x[1:] ** 2) + np.abs(x[1:]), rng_x(9, 10)),
    "shape-functions": (lambda x: np.concatenate([x.reshape(3, 4).T.ravel() ** 2,
                                                  np.flip(np.pad(x[:3], 2)) * x[3]]),
                        rng_x(12, 11)),
    # m >> n: 51 outputs of 3 inputs (a dense Jacobian: 3 colours)
    "tall": (lambda x: np.sin(_TALL @ x) * x[0], rng_x(3, 12)),
    # m << n: 2 outputs of 40 inputs (dense rows: reverse mode wins)
    "wide": (lambda x: np.stack([np.sum(x ** 2), np.sum(x[::2] * np.cos(x[1::2]))]),
             rng_x(40, 13)),
}


def random_gather_function(m, n, seed):
    """f(x)_i = x[a_i] * sin(x[b_i]) + exp(x[c_i]) / (1 + (D @ x)_i**2): a random
    sparse pattern of about 3 + nnz(D row) entries per row."""
    rng = np.random.default_rng(seed)
    a, b, c = (rng.integers(0, n, m) for _ in range(3))
    D = rng.standard_normal((m, n)) * (rng.uniform(size=(m, n)) < 2.0 / n)

    def f(x):
        return x[a] * np.sin(x[b]) + np.exp(x[c]) / (1 + (D @ x) ** 2)

    return f


def random_hessian_function(n, seed):
    """sum of x[a] * x[b] * cos(x[c]) + a few squared pair differences."""
    rng = np.random.default_rng(seed)
    a, b, c = (rng.integers(0, n, 2 * n) for _ in range(3))
    p, q = rng.integers(0, n, n), rng.integers(0, n, n)

    def f(x):
        return np.sum(x[a] * x[b] * np.cos(x[c])) + np.sum((x[p] - x[q]) ** 4)

    return f


def extended_rosenbrock(x):
    return np.sum(100 * (x[1::2] - x[::2] ** 2) ** 2 + (1 - x[::2]) ** 2)


def chained_rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def arrow_head(x):
    return np.sum((x[0] - x[1:]) ** 2) + np.sum(x[1:] ** 4)


HESSIAN_CASES = {
    "extended-rosenbrock": (extended_rosenbrock, rng_x(12, 20)),
    "chained-rosenbrock": (chained_rosenbrock, rng_x(11, 21)),
    "arrow-head": (arrow_head, rng_x(9, 22)),
    "cross-terms": (lambda x: np.sum(x[:-1] * x[1:]), rng_x(8, 23)),
    "2-d-input": (lambda X: np.sum(X[0] * X[1]) + np.sum(np.exp(X[1]) * X[0] ** 2),
                  rng_x(8, 24).reshape(2, 4)),
    "bratu-energy": (lambda u: np.sum(bratu_sliced(u) ** 2), rng_x(25, 25).reshape(5, 5)),
}


# ---- values --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(JACOBIAN_CASES))
def test_jacobian_equals_dense(name):
    f, x = JACOBIAN_CASES[name]
    expected = dense_jacobian(f, x)
    assert_values(sparse.jacobian(f, x), expected, expected.shape, name)
    assert_values(sparse.jacobian(f, x, local=True), expected, expected.shape, name + ", local")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("m, n", [(30, 30), (60, 20), (15, 45)])
def test_jacobian_of_random_sparse_functions(m, n, seed):
    f = random_gather_function(m, n, seed)
    x = rng_x(n, seed + 50)
    expected = dense_jacobian(f, x)
    jac = sparse.SparseJacobian(f, x)
    assert_values(jac(x), expected, (m, n), f"random {m}x{n}, seed {seed}")
    assert jac.ncolors < n, "compression should need fewer passes than columns here"


@pytest.mark.parametrize("name", list(HESSIAN_CASES))
def test_hessian_equals_dense(name):
    f, x = HESSIAN_CASES[name]
    expected = dense_hessian(f, x)
    H = sparse.hessian(f, x)
    assert_values(H, expected, (x.size, x.size), name)
    assert (H != H.T).nnz == 0, "the Hessian must come back exactly symmetric"


@pytest.mark.parametrize("seed", range(6))
def test_hessian_of_random_sparse_functions(seed):
    n = 30
    f = random_hessian_function(n, seed)
    x = rng_x(n, seed + 60)
    hess = sparse.SparseHessian(f, x)
    assert_values(hess(x), dense_hessian(f, x), (n, n), f"random Hessian, seed {seed}")


def test_result_keeps_the_pattern_structure():
    """Documented: entries that are zero at this x are stored as explicit
    zeros, so the structure does not change between iterates."""
    f = JACOBIAN_CASES["stencil"][0]
    x = np.zeros(11)  # exp(0) * 0**2: the nonlinear term's x[2:] entry vanishes here
    jac = sparse.SparseJacobian(f, rng_x(11, 30))
    J = jac(x)
    assert J.nnz == jac.sparsity.nnz
    assert np.array_equal(J.indptr, jac.sparsity.indptr)
    assert np.array_equal(J.indices, jac.sparsity.indices)
    assert_values(J, dense_jacobian(f, x), jac.shape, "stencil at 0")


# ---- reuse at new points ------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bratu-sliced", "bratu-periodic", "where", "maximum", "tall",
                                  "wide"])
def test_sparse_jacobian_reused_at_new_points(name):
    f, x0 = JACOBIAN_CASES[name]
    jac = sparse.SparseJacobian(f, x0)
    m = np.size(f(x0))
    assert jac.shape == (m, x0.size)
    assert jac.sparsity.shape == jac.shape and jac.sparsity.dtype == np.bool_
    assert jac.colors.shape == ((x0.size,) if jac.mode == "forward" else (m,))
    assert jac.ncolors == int(jac.colors.max()) + 1
    rng = np.random.default_rng(31)
    for _ in range(3):
        x = x0 + 0.5 * rng.standard_normal(x0.shape)  # branches change: the pattern is global
        assert_values(jac(x), dense_jacobian(f, x), jac.shape, f"{name} at a new x")
        value, J = jac.value_and_jacobian(x)
        np.testing.assert_allclose(np.ravel(value), np.ravel(f(x)), rtol=RTOL)
        assert_values(J, dense_jacobian(f, x), jac.shape, f"{name}, value_and_jacobian")


@pytest.mark.parametrize("name", list(HESSIAN_CASES))
def test_sparse_hessian_reused_at_new_points(name):
    f, x0 = HESSIAN_CASES[name]
    hess = sparse.SparseHessian(f, x0)
    assert hess.shape == (x0.size, x0.size)
    rng = np.random.default_rng(32)
    for _ in range(2):
        x = x0 + 0.3 * rng.standard_normal(x0.shape)
        assert_values(hess(x), dense_hessian(f, x), hess.shape, f"{name} at a new x")


def test_inputs_are_not_modified():
    f, x = JACOBIAN_CASES["bratu-sliced"]
    before = x.copy()
    sparse.SparseJacobian(f, x)(x)
    sparse.hessian(lambda u: np.sum(f(u) ** 2), x)
    assert np.array_equal(x, before) and x.flags.writeable


# ---- modes and shapes -----------------------------------------------------------------------------
def test_tall_jacobian_uses_columns_and_wide_uses_rows():
    tall = sparse.SparseJacobian(*JACOBIAN_CASES["tall"])
    assert tall.shape == (51, 3) and tall.mode == "forward" and tall.ncolors == 3
    wide = sparse.SparseJacobian(*JACOBIAN_CASES["wide"])
    assert wide.shape == (2, 40) and wide.mode == "reverse" and wide.ncolors == 2


@pytest.mark.parametrize("name", ["stencil", "bratu-sliced", "tall", "wide"])
def test_forward_and_reverse_modes_agree(name):
    f, x = JACOBIAN_CASES[name]
    expected = dense_jacobian(f, x)
    for mode in ("forward", "reverse"):
        jac = sparse.SparseJacobian(f, x, mode=mode)
        assert jac.mode == mode
        assert_values(jac(x), expected, expected.shape, f"{name}, {mode}")


def test_bad_mode_refused():
    with pytest.raises(ValueError, match="mode"):
        sparse.SparseJacobian(np.sin, rng_x(3), mode="sideways")


# ---- colour counts against the known optima -------------------------------------------------
def test_tridiagonal_jacobian_needs_three_colours():
    x = rng_x(50, 40)
    jac = sparse.SparseJacobian(tridiagonal_residual, x)
    assert jac.ncolors == 3
    assert_values(jac(x), dense_jacobian(tridiagonal_residual, x), (50, 50), "tridiagonal")


def test_five_point_laplacian_needs_five_colours():
    u = rng_x(100, 41).reshape(10, 10)
    jac = sparse.SparseJacobian(bratu_sliced, u)
    assert jac.ncolors == 5
    assert_values(jac(u), dense_jacobian(bratu_sliced, u), (100, 100), "Bratu 10 x 10")


@pytest.mark.parametrize("f, optimum", [(extended_rosenbrock, 2), (chained_rosenbrock, 3),
                                        (arrow_head, 2)],
                         ids=["extended-rosenbrock", "chained-rosenbrock", "arrow-head"])
def test_hessian_colours_are_the_star_optima(f, optimum):
    x = rng_x(40, 42)
    hess = sparse.SparseHessian(f, x)
    assert hess.ncolors == optimum
    assert_values(hess(x), dense_hessian(f, x), (40, 40), f.__name__)


# ---- sparsity given explicitly -------------------------------------------------------------
def test_superset_pattern_gives_the_same_values():
    f, x = JACOBIAN_CASES["bratu-sliced"]
    detected = sparse.jacobian_sparsity(f, x)
    rng = np.random.default_rng(43)
    extra = sps.random_array(detected.shape, density=0.05, rng=rng) != 0
    superset = sps.csr_array(detected + extra, dtype=bool)
    assert superset.nnz > detected.nnz
    expected = dense_jacobian(f, x)
    assert_values(sparse.jacobian(f, x, sparsity=superset), expected, detected.shape, "superset")
    # a dense boolean array works as well as a sparse one
    assert_values(sparse.jacobian(f, x, sparsity=superset.toarray()), expected, detected.shape,
                  "superset, dense array")
    jac = sparse.SparseJacobian(f, x, sparsity=superset)
    assert jac.sparsity.nnz == superset.nnz  # taken as given, not detected
    x1 = x + 0.1
    assert_values(jac(x1), dense_jacobian(f, x1), detected.shape, "superset at a new x")


def test_superset_hessian_pattern_gives_the_same_values():
    x = rng_x(12, 44)
    given = sps.csr_array(np.abs(np.subtract.outer(np.arange(12), np.arange(12))) <= 2)
    assert_values(sparse.hessian(chained_rosenbrock, x, sparsity=given),
                  dense_hessian(chained_rosenbrock, x), (12, 12), "banded superset")


def test_wrong_shape_pattern_names_both_shapes():
    f, x = JACOBIAN_CASES["stencil"]  # Jacobian (9, 11)
    with pytest.raises(ValueError) as info:
        sparse.jacobian(f, x, sparsity=sps.eye_array(11, format="csr"))
    message = str(info.value)
    assert "(11, 11)" in message and "(9, 11)" in message, message
    with pytest.raises(ValueError) as info:
        sparse.SparseHessian(chained_rosenbrock, rng_x(5), sparsity=np.ones((4, 4), bool))
    message = str(info.value)
    assert "(4, 4)" in message and "(5, 5)" in message, message


def test_non_symmetric_hessian_pattern_refused():
    with pytest.raises(ValueError, match="symmetric"):
        sparse.hessian(chained_rosenbrock, rng_x(4), sparsity=np.triu(np.ones((4, 4), bool)))


def test_new_point_of_another_shape_refused():
    f, x = JACOBIAN_CASES["stencil"]
    jac = sparse.SparseJacobian(f, x)
    with pytest.raises(ValueError, match="shape"):
        jac(np.zeros(12))
    hess = sparse.SparseHessian(chained_rosenbrock, rng_x(6))
    with pytest.raises(ValueError, match="shape"):
        hess(np.zeros((2, 3)))


def test_non_float_points_refused():
    with pytest.raises(TypeError, match="float"):
        sparse.jacobian(np.sin, np.arange(3))
    jac = sparse.SparseJacobian(np.sin, rng_x(3))
    with pytest.raises(TypeError, match="float"):
        jac(np.arange(3))


# ---- a local pattern where it no longer holds -------------------------------------------------
def test_local_pattern_documented_behaviour_when_the_branch_changes():
    """SparseJacobian's docstring: a local pattern is valid at other points
    only while f takes the same branches; one that misses an entry at a
    later x gives a wrong Jacobian there (the global default does not)."""
    def f(x):
        return np.where(x > 0, x ** 2, x[::-1])

    n = 6
    x0 = np.linspace(0.5, 1.5, n)           # every entry takes the first branch
    same = x0[::-1] + 0.25                  # ... and here too
    other = x0.copy()
    other[0] = -1.0                         # entry 0 takes the second branch: J[0, n-1] = 1
    local = sparse.SparseJacobian(f, x0, local=True)
    assert local.sparsity.nnz == n          # the diagonal only
    assert_values(local(same), dense_jacobian(f, same), (n, n), "local, same branches")
    wrong = local(other).toarray()
    right = dense_jacobian(f, other)
    assert right[0, n - 1] == 1.0 and wrong[0, n - 1] == 0.0  # the entry is missed
    assert not np.allclose(wrong, right)
    glob = sparse.SparseJacobian(f, x0)
    assert_values(glob(other), right, (n, n), "global, other branches")
    assert "local" in (sparse.SparseJacobian.__doc__ or "")


# ---- the benchmark's and the example's references ----------------------------------------------
def _load(path, name):
    import importlib.util
    import pathlib
    import sys
    root = pathlib.Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "benchmarks"))  # bench_sparse imports timing
    try:
        spec = importlib.util.spec_from_file_location(name, root / path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(root / "benchmarks"))
    return module


def test_benchmark_references_are_right():
    """The Jacobian and Hessian written by hand that bench_sparse.py and the
    example measure exactness against are the dense AD results; and a tiny
    run of the benchmark's workloads reports dualad exact, differences not."""
    bench = _load("benchmarks/bench_sparse.py", "_bench_sparse")
    example = _load("examples/sparse_jacobian.py", "_example_sparse_jacobian")
    u = rng_x(36, 70).reshape(6, 6)
    np.testing.assert_allclose(bench.bratu_jacobian_by_hand(u).toarray(),
                               dense_jacobian(bench.bratu, u), rtol=1e-13)
    np.testing.assert_allclose(example.jacobian_by_hand(u).toarray(),
                               dense_jacobian(example.bratu, u), rtol=1e-13)
    x = rng_x(10, 71)
    np.testing.assert_allclose(bench.rosenbrock_hessian_by_hand(x).toarray(),
                               dense_hessian(bench.extended_rosenbrock, x), rtol=1e-13, atol=1e-12)
    bratu = bench.bench_bratu(8, repeat=1)
    scale = 4 * (8 + 1) ** 2  # the largest entry of the k = 8 Jacobian
    assert bratu["colors"] == 5 and bratu["error"] <= 1e-13 * scale
    assert bratu["error_fd"] > 1e-10 * scale  # finite differences are not exact
    hess = bench.bench_rosenbrock_hessian(1000, repeat=1)
    assert hess["colors"] == 2 and hess["error"] <= 1e-13 * hess["scale"]


# ---- workers: the compressed passes on threads ---------------------------------------------
def test_workers_split_the_colours_among_threads_and_give_the_same_values(monkeypatch):
    import threading
    from dualad.sparse import evaluate
    monkeypatch.setattr(evaluate, "THREADS_MIN_ENTRIES", 0)  # thread even a small problem
    k = 12
    meeting = []  # a barrier while the threaded call runs: both passes must run at once

    def residual(u):
        if meeting:
            meeting[0].wait(timeout=30)  # BrokenBarrierError if the passes ran one by one
        U = np.pad(u.reshape(k, k), 1)
        return (U[1:-1, 2:] + U[1:-1, :-2] + U[2:, 1:-1] + U[:-2, 1:-1]
                - 4 * U[1:-1, 1:-1] + np.exp(U[1:-1, 1:-1])).ravel()

    x = np.random.default_rng(5).uniform(-1, 1, k * k)
    one = sparse.SparseJacobian(residual, x)
    two = sparse.SparseJacobian(residual, x, sparsity=one.sparsity, workers=2)
    meeting.append(threading.Barrier(2))
    J2 = two(x)  # five colours in two blocks, on two threads
    meeting.clear()
    np.testing.assert_array_equal(J2.toarray(), one(x).toarray())
    np.testing.assert_allclose(J2.toarray(), ad.jacfwd(residual)(x), rtol=1e-13, atol=1e-13)


def test_recovery_gather_on_threads_equals_one_thread():
    column_recovery = sparse.column_recovery
    n = 1_100_000  # above the size from which the gather is split
    pattern = sps.identity(n, dtype=bool, format="csr")
    plan = column_recovery(pattern, np.zeros(n, np.int64))
    compressed = np.random.default_rng(1).standard_normal((1, n))
    np.testing.assert_array_equal(plan(compressed, workers=2).data, compressed[0])


@pytest.mark.parametrize("workers", [0, -2, 1.5, "2", True])
def test_bad_workers_are_refused(workers):
    with pytest.raises(ValueError, match="workers"):
        sparse.SparseJacobian(lambda x: x ** 2, np.ones(3), workers=workers)


# ---- replay: the compressed pass recorded once, replayed at every later x ------------------
def _points(x0, seed):
    """x0, two new points and x0 again: replays at new values and at a repeat."""
    rng = np.random.default_rng(seed)
    return [x0, x0 + 0.5 * rng.standard_normal(x0.shape),
            x0 - 0.3 * rng.standard_normal(x0.shape), x0]


@pytest.mark.parametrize("name", list(JACOBIAN_CASES))
def test_replayed_jacobian_equals_eager(name):
    f, x0 = JACOBIAN_CASES[name]
    replayed = sparse.SparseJacobian(f, x0)
    eager = sparse.SparseJacobian(f, x0, sparsity=replayed.sparsity, mode=replayed.mode,
                                  replay=False)
    assert replayed.replay and not eager.replay
    for x in _points(x0, 50):
        value, J = replayed.value_and_jacobian(x)
        value_eager, J_eager = eager.value_and_jacobian(x)
        assert_values(J, J_eager.toarray(), replayed.shape, f"{name}, replayed")
        np.testing.assert_allclose(value, value_eager, rtol=RTOL)
        assert_values(J, dense_jacobian(f, x), replayed.shape, f"{name}, replayed vs jacfwd")
    (r,) = replayed.replayed
    if name == "where":
        # should np.where's mask be a guard of the program, a new mask records anew
        assert r.recordings + r.replays == 4
    else:
        assert (r.recordings, r.replays, r.mismatches) == (1, 3, 0), name
    assert eager.replayed == [] and replayed.replay_error is None


@pytest.mark.parametrize("name", ["stencil", "bratu-sliced", "tall", "wide"])
def test_replayed_jacobian_in_both_modes(name):
    f, x0 = JACOBIAN_CASES[name]
    for mode in ("forward", "reverse"):
        jac = sparse.SparseJacobian(f, x0, mode=mode)
        for x in _points(x0, 51):
            assert_values(jac(x), dense_jacobian(f, x), jac.shape, f"{name}, {mode}")
        assert [r.recordings for r in jac.replayed] == [1]


@pytest.mark.parametrize("name", list(HESSIAN_CASES))
def test_replayed_hessian_equals_eager(name):
    f, x0 = HESSIAN_CASES[name]
    replayed = sparse.SparseHessian(f, x0)
    eager = sparse.SparseHessian(f, x0, sparsity=replayed.sparsity, replay=False)
    for x in _points(x0, 52):
        H = replayed(x)
        assert_values(H, eager(x).toarray(), replayed.shape, f"{name}, replayed")
        assert_values(H, dense_hessian(f, x), replayed.shape, f"{name}, replayed vs hessian")
    (r,) = replayed.replayed
    assert (r.recordings, r.replays, r.mismatches) == (1, 3, 0), name


def test_replayed_results_are_fresh_arrays():
    """A later call never changes an earlier result (the program's buffers
    are its own)."""
    f, x0 = HESSIAN_CASES["extended-rosenbrock"]
    hess = sparse.SparseHessian(f, x0)
    first = [hess(x0) for _ in range(3)]
    kept = [H.data.copy() for H in first]
    hess(x0 + 1.0)
    for H, data in zip(first, kept):
        np.testing.assert_array_equal(H.data, data)
    assert not np.shares_memory(first[1].data, first[2].data)


def test_replayed_passes_on_threads_equal_one_thread(monkeypatch):
    from dualad.sparse import evaluate
    monkeypatch.setattr(evaluate, "THREADS_MIN_ENTRIES", 0)
    f, x0 = JACOBIAN_CASES["bratu-sliced"]
    one = sparse.SparseJacobian(f, x0, replay=False)
    two = sparse.SparseJacobian(f, x0, sparsity=one.sparsity, workers=2)
    for x in _points(x0, 53):
        np.testing.assert_allclose(two(x).toarray(), one(x).toarray(), rtol=RTOL, atol=RTOL)
    assert len(two.replayed) == 2 and all(r.recordings == 1 for r in two.replayed)


def test_replay_falls_back_to_eager_when_f_cannot_be_recorded(monkeypatch):
    """A StagingError (f did something a recording cannot repeat) switches
    the object to eager evaluation for good, with the reason kept."""
    from dualad.sparse import evaluate
    from dualad.staging import StagingError

    def refusing(fn, fixed_argnums=()):
        def call(*args):
            raise StagingError("x += y changes an array in place")
        return call

    monkeypatch.setattr(evaluate, "_replay", refusing)
    f, x0 = JACOBIAN_CASES["stencil"]
    jac = sparse.SparseJacobian(f, x0)
    assert_values(jac(x0), dense_jacobian(f, x0), jac.shape, "after the fallback")
    assert not jac.replay and "in place" in jac.replay_error
    assert_values(jac(x0 + 1), dense_jacobian(f, x0 + 1), jac.shape, "eager from then on")


@pytest.mark.parametrize("bad", [None, 1, "yes"])
def test_replay_must_be_a_bool(bad):
    with pytest.raises(TypeError, match="replay must be True or False"):
        sparse.SparseJacobian(np.sin, rng_x(3), replay=bad)
    with pytest.raises(TypeError, match="replay must be True or False"):
        sparse.SparseHessian(lambda x: np.sum(x ** 3), rng_x(3), replay=bad)


def test_one_off_jacobian_and_hessian_are_not_recorded(monkeypatch):
    from dualad.sparse import evaluate
    recorded = []
    monkeypatch.setattr(evaluate, "_replay", lambda *a, **k: recorded.append(a))
    f, x = JACOBIAN_CASES["stencil"]
    assert_values(sparse.jacobian(f, x), dense_jacobian(f, x), (9, 11), "jacobian")
    g, y = HESSIAN_CASES["arrow-head"]
    assert_values(sparse.hessian(g, y), dense_hessian(g, y), (9, 9), "hessian")
    assert recorded == []
