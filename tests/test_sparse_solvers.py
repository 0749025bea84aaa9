"""SciPy's solvers fed with dualad's exact (sparse) Jacobians and Hessians:
dualad.optimize.root, least_squares(jac_sparsity=...), minimize(hess="sparse")
and dualad.integrate.solve_ivp.

Solutions are compared with SciPy's own runs (finite differences, or
hand-written derivatives); the derivatives handed to SciPy are caught on
their way in (a spy in place of the SciPy function) and compared with dense
dualad.jacfwd / dualad.hessian or with hand-written formulas.
"""

import numpy as np
import pytest
import scipy.integrate as si
import scipy.optimize as so
import scipy.sparse as sp

import dualad
import dualad.integrate as di
from dualad import optimize as do


class Counted:
    """fun with a count of its calls on plain arrays and on dualad's traced values."""

    def __init__(self, fun, which=0):  # which: the position of the unknowns (1 for f(t, y))
        self.fun, self.which, self.plain, self.traced = fun, which, 0, 0

    def __call__(self, *a):
        if isinstance(a[self.which], np.ndarray):
            self.plain += 1
        else:
            self.traced += 1
        return self.fun(*a)

    @property
    def total(self):
        return self.plain + self.traced


def spy(monkeypatch, module, name):
    """Replace module.name by a wrapper that records its last call's arguments."""
    seen = {}
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        seen["args"], seen["kwargs"] = args, kwargs
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return seen


# ---- systems of equations --------------------------------------------------------------
def cubic(x):
    return np.stack([x[0] ** 3 + x[1] - 1.0, x[1] ** 3 - x[0] + 1.0])


def bratu_1d(u, lam=1.0):
    n = u.size
    h = 1.0 / (n + 1)
    up = np.concatenate([u[1:], np.zeros(1)])
    um = np.concatenate([np.zeros(1), u[:-1]])
    return (up - 2.0 * u + um) / h ** 2 + lam * np.exp(u)


def chandrasekhar_like(x):  # dense coupling: every residual sees every unknown
    return x - 1.0 / (1.0 - 0.3 * np.mean(x) * x / (1.0 + x)) + 0.1 * np.sum(x ** 2) / x.size


SYSTEMS = [(cubic, np.array([0.5, 0.5])), (bratu_1d, np.zeros(30)),
           (chandrasekhar_like, np.ones(8))]


@pytest.mark.parametrize("method", ["hybr", "lm"])
@pytest.mark.parametrize("system", range(len(SYSTEMS)))
def test_root_matches_scipy_with_fewer_evaluations(method, system):
    F, x0 = SYSTEMS[system]
    ours, theirs = Counted(F), Counted(F)
    res = do.root(ours, x0, method=method)
    ref = so.root(theirs, x0, method=method)
    assert res.success and ref.success
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-7, atol=1e-7)  # FD limits SciPy
    np.testing.assert_allclose(F(res.x), 0.0, atol=1e-8)
    assert res.nfev <= ref.nfev
    assert ours.total <= theirs.total
    # one evaluation per point: the Jacobian is read off the recording of fun
    assert ours.plain == 0 and ours.traced <= res.nfev


def test_root_hands_scipy_the_exact_jacobian(monkeypatch):
    seen = spy(monkeypatch, so, "root")
    x0 = np.linspace(0.1, 0.3, 12)
    do.root(bratu_1d, x0, args=(2.0,))
    sp_jac = seen["kwargs"]["jac"]
    x = np.random.default_rng(0).standard_normal(12)
    seen["args"][0](x)  # the residuals at x, then their Jacobian there
    J = sp_jac(x)
    np.testing.assert_allclose(J, dualad.jacfwd(bratu_1d)(x, 2.0), rtol=1e-13)
    h = 1.0 / 13
    hand = (np.diag(np.full(12, -2.0 / h ** 2) + 2.0 * np.exp(x))
            + np.diag(np.full(11, 1.0 / h ** 2), 1) + np.diag(np.full(11, 1.0 / h ** 2), -1))
    np.testing.assert_allclose(J, hand, rtol=1e-12)


def test_root_uses_a_given_jac_and_passes_other_methods_through():
    calls = []

    def jac(x):
        calls.append(x.copy())
        return np.array([[3 * x[0] ** 2, 1.0], [-1.0, 3 * x[1] ** 2]])

    res = do.root(cubic, np.array([0.5, 0.5]), jac=jac)
    assert res.success and calls
    np.testing.assert_allclose(res.x, [1.0, 0.0], atol=1e-9)
    fused = do.root(lambda x: (cubic(x), jac(x)), np.array([0.5, 0.5]), jac=True)
    np.testing.assert_allclose(fused.x, [1.0, 0.0], atol=1e-9)
    for method in ("krylov", "df-sane", "broyden1"):
        res = do.root(chandrasekhar_like, np.ones(8), method=method)
        ref = so.root(chandrasekhar_like, np.ones(8), method=method)
        assert res.nfev == ref.nfev
        np.testing.assert_array_equal(res.x, ref.x)


def test_root_pytree_and_errors():
    def F(p):
        return np.concatenate([p["a"] ** 2 - 4.0, p["b"] - p["a"]])
    res = do.root(F, {"a": np.array([1.0]), "b": np.array([0.0])})
    np.testing.assert_allclose(res.x["a"], [2.0])
    np.testing.assert_allclose(res.x_flat, [2.0, 2.0])
    with pytest.raises(ValueError, match="unknown method 'newton'.*hybr, lm"):
        do.root(cubic, np.zeros(2), method="newton")


# ---- least squares with a sparse Jacobian -------------------------------------------
def banded_residuals(x):
    """Extended Rosenbrock-like, banded (bandwidth 2), with a boundary term."""
    return np.concatenate([10.0 * (x[1:] - x[:-1] ** 2), 1.0 - x[:-1],
                           0.5 * (x[2:] - x[:-2]) * x[1:-1], x[-1:] - 1.0])


def test_least_squares_sparse_matches_dense_exact_at_n_2000(monkeypatch):
    n = 2000
    x0 = np.full(n, 0.5) + 0.1 * np.sin(np.arange(n))
    seen = spy(monkeypatch, so, "least_squares")
    res = do.least_squares(banded_residuals, x0, jac_sparsity="auto")
    kwargs = seen["kwargs"]
    assert kwargs["tr_solver"] == "lsmr" and kwargs["jac_sparsity"] is None
    J = kwargs["jac"](x0)
    assert isinstance(J, sp.csr_array) and J.shape == (3 * n - 3, n)
    dense = dualad.jacfwd(banded_residuals)(x0)
    np.testing.assert_allclose(J.toarray(), dense, rtol=1e-14, atol=0)
    assert J.nnz == np.count_nonzero(dense)  # the detected pattern is the exact one
    assert res.success and isinstance(res.jac, sp.csr_array)
    ref = do.least_squares(banded_residuals, x0)  # exact dense-operator Jacobian
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(res.x, 1.0, atol=1e-6)


def test_least_squares_takes_a_pattern_like_scipy_and_auto_for_finite_differences(
        monkeypatch):
    n = 60
    x0 = np.full(n, 0.5)
    pattern = dualad.sparse.jacobian_sparsity(banded_residuals, x0).toarray()
    res = do.least_squares(banded_residuals, x0, jac_sparsity=pattern, method="dogbox")
    ref = so.least_squares(banded_residuals, x0, jac_sparsity=pattern, method="dogbox")
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-6, atol=1e-7)
    assert res.nfev <= ref.nfev
    superset = sp.csr_array(np.ones((3 * n - 3, n), bool))  # a superset gives the same values
    np.testing.assert_allclose(
        do.least_squares(banded_residuals, x0, jac_sparsity=superset).x, res.x, atol=1e-7)
    seen = spy(monkeypatch, so, "least_squares")
    fd = do.least_squares(banded_residuals, x0, jac="2-point", jac_sparsity="auto")
    handed = seen["kwargs"]["jac_sparsity"]
    assert seen["kwargs"]["jac"] == "2-point"
    np.testing.assert_array_equal(sp.csr_array(handed).toarray(), pattern)
    np.testing.assert_allclose(fd.x, res.x, atol=1e-5)


def test_least_squares_sparse_errors():
    x0 = np.ones(6)
    with pytest.raises(ValueError, match="method='lm'.*dense Jacobians only.*'trf'"):
        do.least_squares(banded_residuals, x0, jac_sparsity="auto", method="lm")
    with pytest.raises(ValueError, match="tr_solver='exact'.*lsmr"):
        do.least_squares(banded_residuals, x0, jac_sparsity="auto", tr_solver="exact")
    with pytest.raises(ValueError, match=r"shape \(3, 3\).*\(15, 6\)"):
        do.least_squares(banded_residuals, x0, jac_sparsity=np.ones((3, 3)))
    with pytest.raises(ValueError, match="jac_sparsity='dense'.*'auto'"):
        do.least_squares(banded_residuals, x0, jac_sparsity="dense")
    with pytest.raises(ValueError, match="own jac callable"):
        do.least_squares(banded_residuals, x0, jac=dualad.jacfwd(banded_residuals),
                         jac_sparsity="auto")
    before = x0.copy()
    do.least_squares(banded_residuals, x0, jac_sparsity="auto")
    np.testing.assert_array_equal(x0, before)


# ---- trust-constr with sparse Hessians ---------------------------------------------------
def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def test_trust_constr_sparse_hessian_matches_hand_written(monkeypatch):
    n = 60
    x0 = np.linspace(-0.5, 0.5, n)
    seen = spy(monkeypatch, so, "minimize")
    opts = {"gtol": 1e-10, "xtol": 1e-12}
    res = do.minimize(rosen, x0, method="trust-constr", hess="sparse", options=opts)
    sp_hess = seen["kwargs"]["hess"]
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, hess=so.rosen_hess,
                      method="trust-constr", options=opts)
    assert res.success and ref.success
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-8, atol=1e-8)
    x = np.random.default_rng(1).standard_normal(n)
    H = sp_hess(x)
    assert isinstance(H, sp.csr_array)
    np.testing.assert_allclose(H.toarray(), dualad.hessian(rosen)(x), rtol=1e-13, atol=1e-10)
    np.testing.assert_allclose(H.toarray(), so.rosen_hess(x), rtol=1e-13, atol=1e-10)
    assert H.nnz == 3 * n - 2
    newton = do.minimize(rosen, x0, method="Newton-CG", hess="sparse",
                         options={"xtol": 1e-12})
    np.testing.assert_allclose(newton.x, 1.0, atol=1e-6)


def ring(x):  # c_i = x_i ** 2 + x_{i+1} ** 2 <= 1.5, sparse Jacobian, diagonal Hessians
    return x[1:] ** 2 + x[:-1] ** 2


def test_trust_constr_sparse_constraints(monkeypatch):
    n = 30
    x0 = np.full(n, 0.3)
    cons = [so.NonlinearConstraint(ring, -np.inf, 1.5),
            {"type": "eq", "fun": lambda x: np.sum(x ** 2, keepdims=True) - 20.0}]
    seen = spy(monkeypatch, so, "minimize")
    res = do.minimize(rosen, x0, method="trust-constr", hess="sparse", constraints=cons)
    handed = seen["kwargs"]["constraints"]
    dense = do.minimize(rosen, x0, method="trust-constr", constraints=cons)
    assert res.success and dense.success
    np.testing.assert_allclose(res.x, dense.x, rtol=1e-6, atol=1e-6)
    assert res.constr_violation < 1e-8
    x = np.random.default_rng(2).standard_normal(n)
    v = np.random.default_rng(3).standard_normal(n - 1)
    c = handed[0]
    J = c.jac(x)
    assert isinstance(J, sp.csr_array)
    np.testing.assert_allclose(J.toarray(), dualad.jacfwd(ring)(x), rtol=1e-14)
    Hv = c.hess(x, v)
    assert isinstance(Hv, sp.csr_array)
    np.testing.assert_allclose(Hv.toarray(), dualad.hessian(lambda z: v @ ring(z))(x),
                               rtol=1e-13, atol=1e-13)
    hand = np.diag(2.0 * np.concatenate([v, [0.0]]) + 2.0 * np.concatenate([[0.0], v]))
    np.testing.assert_allclose(Hv.toarray(), hand, rtol=1e-13)
    eq = handed[1]
    np.testing.assert_allclose(eq.hess(x, np.array([0.7])).toarray(), 1.4 * np.eye(n))
    # SciPy's run with the hand-written derivatives reaches the same point
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, hess=so.rosen_hess, method="trust-constr",
                      constraints=[so.NonlinearConstraint(
                          ring, -np.inf, 1.5, jac=lambda z: dualad.jacfwd(ring)(z),
                          hess=lambda z, w: np.diag(2 * np.r_[w, 0] + 2 * np.r_[0, w])),
                          so.NonlinearConstraint(lambda z: np.sum(z ** 2) - 20.0, 0.0, 0.0,
                                                 jac=lambda z: 2 * z[None, :],
                                                 hess=lambda z, w: 2 * w[0] * np.eye(n))])
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-5, atol=1e-5)


def test_sparse_hessian_with_other_methods_is_refused():
    for method in ("BFGS", "trust-exact", "trust-ncg"):
        with pytest.raises(ValueError, match=f"only Newton-CG and trust-constr.*{method}"):
            do.minimize(rosen, np.zeros(3), method=method, hess="sparse")


# ---- solve_ivp ---------------------------------------------------------------------------
def robertson(t, y):
    return np.stack([-0.04 * y[0] + 1e4 * y[1] * y[2],
                     0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                     3e7 * y[1] ** 2])


def robertson_jac(t, y):
    return np.array([[-0.04, 1e4 * y[2], 1e4 * y[1]],
                     [0.04, -1e4 * y[2] - 6e7 * y[1], -1e4 * y[1]],
                     [0.0, 6e7 * y[1], 0.0]])


@pytest.mark.parametrize("method", ["BDF", "Radau", "LSODA", si.Radau])
def test_robertson_matches_scipy_with_fewer_calls(method):
    y0, span = np.array([1.0, 0.0, 0.0]), (0.0, 1e3)
    ours, theirs = Counted(robertson, 1), Counted(robertson, 1)
    kw = dict(method=method, rtol=1e-6, atol=1e-10)
    res = di.solve_ivp(ours, span, y0, **kw)
    ref = si.solve_ivp(theirs, span, y0, **kw)
    exact = si.solve_ivp(robertson, span, y0, jac=robertson_jac, **kw)
    assert res.success and ref.success
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=1e-4, atol=1e-10)
    np.testing.assert_allclose(res.y[:, -1], exact.y[:, -1], rtol=1e-9, atol=1e-14)
    assert res.njev >= 1 and ours.total < theirs.total
    jac = di.ode_jac(robertson, 0.0, y0)
    y = np.array([0.9, 2e-5, 0.1])
    assert jac.kind == "dense"
    np.testing.assert_allclose(jac(1.0, y), robertson_jac(1.0, y), rtol=1e-14)


def brusselator(N):
    A, B, alpha = 1.0, 3.0, 0.02 * (N + 1) ** 2

    def lap(w, boundary):
        left = np.concatenate([np.array([boundary]), w[:-1]])
        right = np.concatenate([w[1:], np.array([boundary])])
        return left - 2.0 * w + right

    def f(t, y):
        u, v = y[:N], y[N:]
        return np.concatenate([A + u * u * v - (B + 1.0) * u + alpha * lap(u, 1.0),
                               B * u - u * u * v + alpha * lap(v, 3.0)])

    x = np.linspace(0.0, 1.0, N + 2)[1:-1]
    return f, np.concatenate([1.0 + np.sin(2 * np.pi * x), np.full(N, 3.0)])


def test_reaction_diffusion_sparse_jacobian_n_500():
    f, y0 = brusselator(250)
    jac = di.ode_jac(f, 0.0, y0)
    assert jac.kind == "sparse" and jac.sparse_jacobian.ncolors <= 8
    y = y0 + 0.1 * np.random.default_rng(4).standard_normal(y0.size)
    J = jac(2.0, y)
    assert isinstance(J, sp.csr_array)
    dense = dualad.jacfwd(lambda z: f(2.0, z))(y)
    np.testing.assert_allclose(J.toarray(), dense, rtol=1e-14)
    assert J.nnz == np.count_nonzero(dense) == 4 * 500 - 2 * 2

    ours, theirs = Counted(f, 1), Counted(f, 1)
    kw = dict(method="BDF", rtol=1e-6, atol=1e-8)
    res = di.solve_ivp(ours, (0.0, 10.0), y0, **kw)
    ref = si.solve_ivp(theirs, (0.0, 10.0), y0, jac_sparsity=jac.sparsity, **kw)
    assert res.success and ref.success
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=1e-6, atol=1e-8)
    assert ours.total < theirs.total
    radau = di.solve_ivp(f, (0.0, 2.0), y0, method="Radau")
    ref = si.solve_ivp(f, (0.0, 2.0), y0, method="Radau", jac_sparsity=jac.sparsity)
    np.testing.assert_allclose(radau.y[:, -1], ref.y[:, -1], rtol=1e-5, atol=1e-6)
    lsoda = di.solve_ivp(f, (0.0, 2.0), y0, method="LSODA")
    np.testing.assert_allclose(lsoda.y[:, -1], ref.y[:, -1], rtol=1e-3, atol=1e-3)


def test_solve_ivp_vectorized_args_and_explicit_patterns():
    N = 60

    def heat(t, y, k):  # vectorized: y is (n, m)
        left = np.concatenate([np.zeros_like(y[:1]), y[:-1]])
        right = np.concatenate([y[1:], np.zeros_like(y[:1])])
        return k * (left - 2.0 * y + right) - y ** 3

    y0 = np.sin(np.linspace(0, 3, N))
    kw = dict(method="BDF", vectorized=True, args=(200.0,))
    res = di.solve_ivp(heat, (0.0, 1.0), y0, **kw)
    ref = si.solve_ivp(heat, (0.0, 1.0), y0, **kw)
    assert res.success
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=1e-4, atol=1e-7)

    band = sp.diags_array([np.ones(N - 1), np.ones(N), np.ones(N - 1)], offsets=[-1, 0, 1])
    jac = di.ode_jac(heat, 0.0, y0, args=(200.0,), vectorized=True, jac_sparsity=band)
    assert jac.kind == "sparse" and jac.sparse_jacobian.ncolors == 3
    dense = dualad.jacfwd(lambda z: heat(0.0, z[:, None], 200.0)[:, 0])(y0)
    np.testing.assert_allclose(jac(0.0, y0, 200.0).toarray(), dense, rtol=1e-14)
    res = di.solve_ivp(heat, (0.0, 1.0), y0, jac_sparsity=band, **kw)
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=1e-4, atol=1e-7)


def test_solve_ivp_passes_through_what_it_does_not_fill_in():
    calls = []

    def jac(t, y):
        calls.append(t)
        return robertson_jac(t, y)

    y0 = np.array([1.0, 0.0, 0.0])
    res = di.solve_ivp(robertson, (0.0, 10.0), y0, method="BDF", jac=jac)
    assert res.success and len(calls) == res.njev > 0
    rk = di.solve_ivp(lambda t, y: -y, (0.0, 1.0), np.ones(3))
    ref = si.solve_ivp(lambda t, y: -y, (0.0, 1.0), np.ones(3))
    np.testing.assert_array_equal(rk.y, ref.y)
    assert rk.nfev == ref.nfev


def test_solve_ivp_errors_and_fallback():
    f, y0 = brusselator(60)
    with pytest.raises(ValueError, match=r"jac_sparsity has shape \(3, 3\).*\(120, 120\)"):
        di.solve_ivp(f, (0.0, 1.0), y0, method="BDF", jac_sparsity=np.eye(3))
    with pytest.raises(ValueError, match="jac_sparsity='full'"):
        di.solve_ivp(f, (0.0, 1.0), y0, method="BDF", jac_sparsity="full")

    def branchy(t, y):  # Python control flow on y: no pattern holds for every y
        return -y if y[0] > 0 else -2.0 * y

    with pytest.warns(RuntimeWarning, match="dense exact Jacobian"):
        res = di.solve_ivp(branchy, (0.0, 1.0), np.ones(150), method="BDF")
    np.testing.assert_allclose(res.y[:, -1], np.exp(-1.0), rtol=1e-2)
    with pytest.raises(dualad.sparse.BranchOnValue):
        di.solve_ivp(branchy, (0.0, 1.0), np.ones(150), method="BDF", jac_sparsity="auto")


@pytest.mark.parametrize("module", ["dualad.optimize.roots", "dualad.optimize.sparse_functions",
                                    "dualad.integrate"])
def test_docstring_examples(module):
    import doctest
    import importlib
    failures, tried = doctest.testmod(importlib.import_module(module),
                                      optionflags=doctest.ELLIPSIS)
    assert failures == 0
    assert tried > 0 or module.endswith("sparse_functions")


def test_sparse_drop_ins_take_pytrees():
    def energy(p):  # a chain of springs between two free arrays
        x, y = p["x"], p["y"]
        return np.sum((x[1:] - x[:-1] - 1.0) ** 2) + np.sum((y - x) ** 4) + np.sum(x ** 2) * 1e-2
    x0 = {"x": np.linspace(0.0, 1.0, 15), "y": np.zeros(15)}
    res = do.minimize(energy, x0, method="trust-constr", hess="sparse",
                      options={"gtol": 1e-10})
    ref = do.minimize(energy, x0, method="trust-constr", options={"gtol": 1e-10})
    np.testing.assert_allclose(res.x["x"], ref.x["x"], atol=1e-6)
    np.testing.assert_allclose(res.x["y"], ref.x["y"], atol=1e-3)  # quartic: flat valley

    def resid(p):
        return np.concatenate([p["a"][1:] - p["a"][:-1] ** 2, p["a"] - p["b"], p["b"] - 0.5])
    fit = do.least_squares(resid, {"a": np.ones(10), "b": np.zeros(10)}, jac_sparsity="auto")
    dense = do.least_squares(resid, {"a": np.ones(10), "b": np.zeros(10)})
    np.testing.assert_allclose(fit.x_flat, dense.x_flat, atol=1e-8)
    assert isinstance(fit.jac, sp.csr_array) and fit.jac.shape == (29, 20)


def test_pattern_that_changes_with_t_needs_an_explicit_one():
    n = 120

    def switched(t, y):  # from t = 1 on, a neighbour coupling the pattern at t0 lacks
        out = -50.0 * y
        if t >= 1.0:
            out = out + 10.0 * np.concatenate([y[1:], y[:1]])
        return out

    y0 = np.linspace(1.0, 2.0, n)
    detected = di.ode_jac(switched, 0.0, y0)
    assert detected.sparsity.nnz == n  # found at t0: the diagonal only, as documented
    cover = sp.eye_array(n) + sp.eye_array(n, k=1) + sp.eye_array(n, k=1 - n)
    jac = di.ode_jac(switched, 0.0, y0, jac_sparsity=cover)
    for t in (0.5, 1.5):
        np.testing.assert_allclose(jac(t, y0).toarray(),
                                   dualad.jacfwd(lambda z: switched(t, z))(y0), rtol=1e-14)
    res = di.solve_ivp(switched, (0.0, 2.0), y0, method="Radau", jac_sparsity=cover)
    ref = si.solve_ivp(switched, (0.0, 2.0), y0, method="Radau", jac_sparsity=cover)
    np.testing.assert_allclose(res.y[:, -1], ref.y[:, -1], rtol=1e-4, atol=1e-9)
