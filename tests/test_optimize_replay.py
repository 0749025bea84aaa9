"""dualad.optimize with replayed programs (replay=True, the default) against the
eager path (replay=False): the same iterates, counts and products, and the
objective's Python body run once per recording instead of once per point."""

import numpy as np
import pytest
import scipy.optimize as so

import dualad as ad
from dualad import optimize as opt
from dualad.optimize import HessianOperator, JacobianOperator
from dualad.optimize.flat import _Ravel


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def tree_loss(p):
    a, (b, c) = p["a"], p["b"]
    return (np.sum((a - 1.0) ** 2 * (1.0 + b[:3] ** 2)) + np.sum(np.cosh(b - 0.3))
            + (c - 0.5) ** 4 + 0.1 * c ** 2 + np.sum(a * b[:3]) * 0.05)


def fit_loss(p, t, y, lam):
    """An exponential fit with data and a Python-number weight as args."""
    return np.sum((p[0] * np.exp(-p[1] * t) - y) ** 2) + lam * np.sum(p ** 2)


def branchy(x):
    """A Python branch on a value: replay must follow it (a guard per branch)."""
    head = 0.5 * x[0] ** 2 if x[0] > 0 else x[0] ** 2 + 0.1 * x[0] ** 4
    return head + np.sum((x[1:] - 0.5 * x[:-1]) ** 2) + np.sum(x ** 4) * 0.01


T = np.linspace(0.0, 2.0, 15)
Y = 3.0 * np.exp(-1.2 * T) + 0.01 * np.sin(7 * T)
PROBLEMS = {
    "rosen": (rosen, np.tile([1.2, -1.0], 3), ()),
    "pytree": (tree_loss, {"a": np.array([0.2, -0.4, 2.0]),
                           "b": (np.array([1.0, 0.5, -0.5, 0.1]), 1.5)}, ()),
    "args": (fit_loss, np.array([1.0, 1.0]), (T, Y, 1e-3)),
    "branch": (branchy, np.array([-1.5, 0.8, -0.3, 1.1]), ()),
}
# keep the derivative-free runs short; they call fun directly on both paths
OPTIONS = {"Nelder-Mead": {"maxiter": 200}, "Powell": {"maxiter": 10},
           "COBYLA": {"maxiter": 100}, "COBYQA": {"maxiter": 40}}


def assert_same_run(a, b):
    for key in ("nit", "nfev", "njev", "nhev", "nhvp", "status"):
        if key in a or key in b:
            assert a.get(key) == b.get(key), (key, a.get(key), b.get(key))
    np.testing.assert_allclose(a.x_flat, b.x_flat, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.fun, b.fun, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("problem", list(PROBLEMS))
@pytest.mark.parametrize("method", opt.MINIMIZE_METHODS)
def test_minimize_replay_matches_eager(method, problem):
    fun, x0, args = PROBLEMS[problem]
    kw = dict(args=args, method=method, options=OPTIONS.get(method))
    replayed = opt.minimize(fun, x0, **kw)
    eager = opt.minimize(fun, x0, replay=False, **kw)
    assert_same_run(replayed, eager)
    if replayed.success:  # dogleg stops at the first non-PSD Hessian, on both paths
        assert replayed.fun < 0.5 * fun(x0, *args)  # and it really optimised


def test_branch_problem_crosses_its_branch():
    # Newton-CG's iterates pass from x[0] < 0 to x[0] > 0: both branches run
    # under replay (a guard re-records at the crossing) and the run still
    # matches the eager one (test_minimize_replay_matches_eager)
    seen = []
    x0 = PROBLEMS["branch"][1]
    res = opt.minimize(branchy, x0, method="Newton-CG", callback=lambda xk: seen.append(xk[0]))
    assert x0[0] < 0 < max(seen)
    assert np.abs(res.x).max() < 1e-3


def test_minimize_constraints_replay_matches_eager():
    cons = [{"type": "ineq", "fun": lambda x: 1.0 - np.sum(x ** 2)},
            so.NonlinearConstraint(lambda x: x[0] * x[1], -np.inf, 0.2)]
    x0 = np.array([0.3, 0.4, 0.1])
    for method in ("SLSQP", "trust-constr"):
        replayed = opt.minimize(rosen, x0, method=method, constraints=cons)
        eager = opt.minimize(rosen, x0, method=method, constraints=cons, replay=False)
        assert_same_run(replayed, eager)
        assert np.sum(replayed.x ** 2) <= 1.0 + 1e-6


RESIDUALS = {
    "exp": (lambda p: p[0] * np.exp(-p[1] * T) - Y, np.array([1.0, 1.0]), ()),
    "pytree": (lambda p: np.concatenate([p["a"] * np.exp(-p["k"] * T) - Y,
                                         np.reshape(p["a"] - 3.0, (1,))]),
               {"a": 1.0, "k": np.array(0.5)}, ()),
    "args": (lambda p, t, y, s: s * (p[0] * np.exp(-p[1] * t) - y), np.array([1.0, 1.0]),
             (T, Y, 2.0)),
    "branch": (lambda p: (p[0] if p[1] > 0 else 2.0 * p[0]) * np.exp(-np.abs(p[1]) * T) - Y,
               np.array([1.0, -0.4]), ()),
}


@pytest.mark.parametrize("problem", list(RESIDUALS))
@pytest.mark.parametrize("method, tr_solver", [("trf", None), ("trf", "exact"), ("trf", "lsmr"),
                                               ("dogbox", None), ("dogbox", "exact"),
                                               ("lm", None)])
def test_least_squares_replay_matches_eager(method, tr_solver, problem):
    fun, x0, args = RESIDUALS[problem]
    kw = dict(args=args, method=method, tr_solver=tr_solver)
    replayed = opt.least_squares(fun, x0, **kw)
    eager = opt.least_squares(fun, x0, replay=False, **kw)
    assert replayed.nfev == eager.nfev and replayed.njev == eager.njev
    assert replayed.status == eager.status
    np.testing.assert_allclose(replayed.x_flat, eager.x_flat, rtol=1e-9, atol=1e-12)
    dense = [J if isinstance(J, np.ndarray) else J.matmat(np.eye(J.shape[1]))
             for J in (replayed.jac, eager.jac)]
    np.testing.assert_allclose(dense[0], dense[1], rtol=1e-9, atol=1e-12)
    assert np.linalg.norm(replayed.grad) < 1e-5


def system(x):
    return np.stack([x[0] ** 3 + x[1] - 1.0, x[1] ** 3 - x[0] + 1.0])


def tree_system(p):
    return np.concatenate([system(np.stack([p["u"], p["w"][0]])),
                           np.reshape(p["w"][1] - 0.25, (1,))])


@pytest.mark.parametrize("method", ["hybr", "lm"])
@pytest.mark.parametrize("case", ["array", "pytree"])
def test_root_replay_matches_eager(method, case):
    fun, x0 = (system, np.array([0.5, 0.5])) if case == "array" else \
        (tree_system, {"u": 0.5, "w": np.array([0.5, 0.0])})
    replayed = opt.root(fun, x0, method=method)
    eager = opt.root(fun, x0, method=method, replay=False)
    assert replayed.success and replayed.nfev == eager.nfev
    assert replayed.get("njev") == eager.get("njev")
    np.testing.assert_allclose(replayed.x_flat, eager.x_flat, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(replayed.x_flat[:2], [1.0, 0.0], atol=1e-8)


# ---- the operators ------------------------------------------------------------------
def test_hessian_operator_replayed_products_equal_eager_ones():
    rng = np.random.default_rng(0)
    x = rng.normal(size=7)
    H, E = HessianOperator(rosen, x), HessianOperator(rosen, x, replay=False)
    dense = ad.hessian(rosen)(x)
    for _ in range(3):  # several products: each a replay at the same point
        u, v = rng.normal(size=7), rng.normal(size=7)
        np.testing.assert_allclose(H @ v, E @ v, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(H @ v, dense @ v, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(np.dot(u, H @ v), np.dot(H.rmatvec(u), v), rtol=1e-10)
    V = rng.normal(size=(7, 3))
    np.testing.assert_allclose(H.matmat(V), E.matmat(V), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H.toarray(), E.toarray(), rtol=1e-12, atol=1e-12)
    assert H.value == E.value
    np.testing.assert_allclose(H.grad, E.grad, rtol=1e-14)


def test_hessian_operators_at_two_points_share_nothing_stale():
    f = lambda x, c: np.sum(c * np.sin(x) ** 2)  # noqa: E731
    c = np.array([1.0, 2.0, 3.0])
    x1, x2 = np.array([0.1, 0.2, 0.3]), np.array([1.0, -0.5, 2.0])
    H1, H2 = HessianOperator(f, x1, args=(c,)), HessianOperator(f, x2, args=(c,))
    v = np.array([1.0, -1.0, 0.5])
    for _ in range(2):  # alternating points: the products follow each operator's x
        for x, H in ((x1, H1), (x2, H2)):
            np.testing.assert_allclose(H @ v, 2 * c * np.cos(2 * x) * v, rtol=1e-12)


def test_jacobian_operator_replayed_products_equal_eager_ones():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(5, 4))

    def F(x, s):
        return s * np.tanh(A @ x) * x[0]

    x = rng.normal(size=4)
    J, E = JacobianOperator(F, x, args=(1.5,)), JacobianOperator(F, x, args=(1.5,), replay=False)
    dense = ad.jacfwd(lambda z: F(z, 1.5))(x)
    for _ in range(3):
        u, v = rng.normal(size=5), rng.normal(size=4)
        np.testing.assert_allclose(J @ v, E @ v, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(J.rmatvec(u), E.rmatvec(u), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(J @ v, dense @ v, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.dot(u, J @ v), np.dot(J.rmatvec(u), v), rtol=1e-10)
    np.testing.assert_allclose(J.matmat(np.eye(4)), dense, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J.rmatmat(np.eye(5)), dense.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J.T @ np.eye(5), dense.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(J.value, E.value, rtol=1e-14)


def test_jacobian_operator_holomorphic_replayed():
    F = lambda z: np.stack([z[0] ** 2 * z[1], np.sin(z[1])])  # noqa: E731
    z = np.array([1 + 2j, 0.5 - 1j])
    J, E = JacobianOperator(F, z, holomorphic=True), \
        JacobianOperator(F, z, holomorphic=True, replay=False)
    u, v = np.array([1.0 + 1j, 2 - 0.5j]), np.array([0.3 - 1j, 1j])
    np.testing.assert_allclose(J @ v, E @ v, rtol=1e-12)
    np.testing.assert_allclose(J.rmatvec(u), E.rmatvec(u), rtol=1e-12)
    np.testing.assert_allclose(J.T @ u, E.T @ u, rtol=1e-12)
    np.testing.assert_allclose(np.vdot(u, J @ v), np.vdot(J.rmatvec(u), v), rtol=1e-12)


def test_pytree_point_operators_replayed():
    x = PROBLEMS["pytree"][1]
    flat = _Ravel(x).x0
    H = HessianOperator(tree_loss, x)
    dense = ad.hessian(lambda z: tree_loss(_Ravel(x).unravel(z)))(flat)
    np.testing.assert_allclose(H.toarray(), dense, rtol=1e-10, atol=1e-12)


# ---- the helpers for plain scipy.optimize --------------------------------------------
def test_helpers_replayed_match_eager_in_plain_scipy():
    x0 = np.tile([1.2, -1.0], 3)
    runs = {}
    for replay in (True, False):
        runs[replay] = [
            so.minimize(opt.fun_and_jac(fit_loss, replay=replay), np.array([1.0, 1.0]),
                        args=(T, Y, 1e-3), jac=True, method="BFGS"),
            so.minimize(opt.fun_and_jac(rosen, replay=replay), x0, jac=True,
                        hessp=opt.hessp(rosen, replay=replay), method="trust-krylov"),
            so.minimize(opt.fun_and_jac(rosen, replay=replay), x0, jac=True,
                        hess=opt.hess(rosen, replay=replay), method="Newton-CG"),
            so.minimize(opt.fun_and_jac(rosen, replay=replay), x0, jac=True,
                        hess=opt.hess(rosen, dense=True, replay=replay), method="trust-exact"),
            so.minimize(rosen, x0, jac=opt.jac(rosen, replay=replay), method="BFGS"),
            so.least_squares(RESIDUALS["exp"][0], np.array([1.0, 1.0]),
                             jac=opt.jac(RESIDUALS["exp"][0], replay=replay)),
            so.least_squares(RESIDUALS["exp"][0], np.array([1.0, 1.0]), tr_solver="lsmr",
                             jac=opt.jac(RESIDUALS["exp"][0], operator=True, replay=replay)),
        ]
    for a, b in zip(runs[True], runs[False]):
        assert a.nfev == b.nfev and a.get("nit") == b.get("nit")
        assert a.get("nhev") == b.get("nhev")
        np.testing.assert_allclose(a.x, b.x, rtol=1e-9, atol=1e-12)


def test_helpers_keep_their_programs_across_calls():
    calls = []

    def f(x, c):
        calls.append(1)
        return np.sum(c * x ** 4)

    c = np.array([1.0, 2.0])
    hess = opt.hess(f)
    for k in range(4):  # new points, same args: one recording per program
        x = np.array([1.0, -1.0]) + k
        np.testing.assert_allclose(hess(x, c) @ np.ones(2), 12 * c * x ** 2)
    assert len(calls) == 2  # value and gradient, products
    jac = opt.jac(lambda x, c: c * x ** 3)
    for k in range(3):
        x = np.array([1.0, -1.0]) + k
        np.testing.assert_allclose(jac(x, c), np.diag(3 * c * x ** 2))


# ---- purity: what replay=True means for the objective's side effects ------------------
def test_newton_cg_runs_the_objective_body_a_handful_of_times():
    calls = []

    def counted(x):
        calls.append(1)  # a side effect: impure, exactly what replay documents
        return rosen(x)

    x0 = np.tile([1.2, -1.0], 10)
    res = opt.minimize(counted, x0, method="Newton-CG")
    assert res.success and res.nfev > 20 and res.nhev > 50
    assert len(calls) <= 5, len(calls)  # once per recording, not once per point
    calls.clear()
    eager = opt.minimize(counted, x0, method="Newton-CG", replay=False)
    assert len(calls) >= eager.nfev  # every evaluation runs the body
    assert_same_run(res, eager)


def test_least_squares_and_root_run_the_body_a_handful_of_times():
    calls = []

    def residuals(p):
        calls.append(1)
        return p[0] * np.exp(-p[1] * T) - Y

    res = opt.least_squares(residuals, np.array([1.0, 1.0]), replay=False)
    eager_calls = len(calls)
    calls.clear()
    # residual values are plain calls either way; derivatives are recorded once
    res = opt.least_squares(residuals, np.array([1.0, 1.0]))
    assert len(calls) <= res.nfev + 3  # plus the recordings of the JVP and VJP
    assert res.njev > 3 and eager_calls >= res.nfev


def test_impure_objective_with_replay_false_sees_changing_state():
    state = {"shift": 0.0}

    def f(x):
        return np.sum((x - state["shift"]) ** 2)

    H = HessianOperator(f, np.zeros(3), replay=False)
    state["shift"] = 1.0
    np.testing.assert_allclose(H.grad, np.zeros(3))
    res = opt.minimize(f, np.zeros(3), method="BFGS", replay=False)
    np.testing.assert_allclose(res.x, 1.0, atol=1e-6)
