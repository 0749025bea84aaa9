"""dualad.optimize: operators against dense dualad derivatives, every minimize
method, least squares, pytrees, constraints, user-supplied derivatives and
bad input.

Operators are checked against ``dualad.hessian`` / ``dualad.jacfwd`` and
against hand-written derivatives (SciPy's ``rosen_der`` / ``rosen_hess_prod``);
optimisers against known minimisers and against SciPy runs with hand-written
derivatives.  No test looks at wall-clock time.
"""

import doctest
import importlib
import warnings

import numpy as np
import pytest
import scipy.optimize as so
from scipy.sparse.linalg import LinearOperator, aslinearoperator, cg, lsmr

import dualad as ad
import dualad.optimize as opt
from dualad.optimize import HessianOperator, JacobianOperator
from dualad.optimize.drop_ins import _METHOD_NEEDS, _wrap_constraint
from dualad.optimize.flat import _Ravel
from dualad.optimize.objective import _ScalarObjective


# ---- problems ------------------------------------------------------------------
def rosen(x):
    """Extended (chained) Rosenbrock in plain NumPy (scipy's rosen calls np.asarray)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosen_x0(n):
    return np.tile([1.2, -1.0], (n + 1) // 2)[:n].astype(float)


def make_logistic(m=120, n=5, lam=1e-2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n))
    w_true = rng.standard_normal(n)
    y = np.where(rng.random(m) < 1.0 / (1.0 + np.exp(-X @ w_true)), 1.0, -1.0)

    def loss(w):
        return np.mean(np.logaddexp(0.0, -y * (X @ w))) + 0.5 * lam * np.sum(w * w)

    def grad(w):
        s = 1.0 / (1.0 + np.exp(y * (X @ w)))
        return -(X.T @ (y * s)) / m + lam * w

    def hess(w):
        s = 1.0 / (1.0 + np.exp(-y * (X @ w)))
        return (X.T * (s * (1 - s))) @ X / m + lam * np.eye(n)

    w_star = so.minimize(loss, np.zeros(n), jac=grad, hess=hess, method="trust-exact",
                         options={"gtol": 1e-12}).x
    return loss, grad, hess, w_star


LOGISTIC = make_logistic()


def tree_fun(p):
    return np.sum(np.sin(p["a"]) * p["b"][0]) + p["b"][1] ** 2 * np.sum(p["a"] ** 2)


TREE_X = {"a": np.array([0.3, -0.7, 1.1]), "b": (np.array([0.5, 2.0, -1.0]), 0.4)}


def flat_of(tree):
    return np.concatenate([np.ravel(leaf) for leaf in ad.tree_flatten(tree)[0]]).astype(float)


# ---- HessianOperator -----------------------------------------------------------
HESSIAN_CASES = {
    "rosen": (rosen, rosen_x0(7), ()),
    "logistic": (LOGISTIC[0], np.linspace(-0.5, 0.5, 5), ()),
    "args": (lambda x, c: np.sum(c * np.exp(x) * x[0]), np.array([0.1, -0.2, 0.3]),
             (np.array([1.0, 2.0, 3.0]),)),
}


@pytest.mark.parametrize("name", sorted(HESSIAN_CASES))
def test_hessian_operator_products_match_dense_hessian(name):
    f, x, args = HESSIAN_CASES[name]
    dense = ad.hessian(f)(x, *args)
    H = HessianOperator(f, x, args)
    n = x.size
    rng = np.random.default_rng(1)
    v = rng.standard_normal(n)
    V = rng.standard_normal((n, 4))
    assert H.shape == (n, n) and H.dtype == np.float64
    np.testing.assert_allclose(H.matvec(v), dense @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H @ v, dense @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H.matvec(v[:, None]), (dense @ v)[:, None], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H.matmat(V), dense @ V, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H @ V[:, :1], dense @ V[:, :1], rtol=1e-10, atol=1e-12)
    # symmetric: the adjoint products are the forward ones
    np.testing.assert_allclose(H.rmatvec(v), dense @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H.rmatmat(V), dense @ V, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H.H @ v, dense @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H.T @ V, dense @ V, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H.toarray(), dense, rtol=1e-10, atol=1e-12)
    # value and gradient come from the same recording
    np.testing.assert_allclose(H.value, f(x, *args), rtol=1e-12)
    np.testing.assert_allclose(H.grad, ad.grad(f)(x, *args), rtol=1e-12, atol=1e-14)


def test_hessian_operator_matches_hand_written_rosenbrock():
    x = rosen_x0(50)
    H = HessianOperator(rosen, x)
    rng = np.random.default_rng(2)
    for _ in range(3):
        p = rng.standard_normal(50)
        np.testing.assert_allclose(H @ p, so.rosen_hess_prod(x, p), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(H.grad, so.rosen_der(x), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.bool_, np.float32])
def test_hessian_operator_accepts_integer_vectors(dtype):
    x = rosen_x0(6)
    H = HessianOperator(rosen, x)
    dense = ad.hessian(rosen)(x)
    e = np.zeros(6, dtype=dtype)
    e[2] = 1
    out = H @ e
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, dense[:, 2], rtol=1e-12)
    np.testing.assert_allclose(H.rmatvec(e), dense[:, 2], rtol=1e-12)
    np.testing.assert_allclose(H.matmat(np.eye(6, dtype=dtype)[:, :3]), dense[:, :3], rtol=1e-12)
    # SciPy's own dtype probe: a LinearOperator built without dtype calls matvec on int8 zeros
    probed = LinearOperator((6, 6), matvec=H.matvec)
    assert probed.dtype == np.float64


@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_hessian_operator_modes_agree(mode):
    x = rosen_x0(5)
    dense = ad.hessian(rosen)(x)
    H = HessianOperator(rosen, x, mode=mode)
    v = np.arange(5.0) - 2
    np.testing.assert_allclose(H @ v, dense @ v, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(H.matmat(np.eye(5)[:, :2]), dense[:, :2], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(H.rmatvec(v), dense @ v, rtol=1e-10, atol=1e-10)


def test_hessian_operator_records_once():
    calls = []

    def f(x):
        calls.append(1)
        return rosen(x)

    H = HessianOperator(f, rosen_x0(8), replay=False)
    assert len(calls) == 1
    for _ in range(5):
        H @ np.ones(8)
    H.matmat(np.eye(8))
    assert len(calls) == 1, "products must reuse the recording, not call f again"
    assert H.nprod == 13


def test_hessian_operator_replays_its_products():
    calls = []

    def f(x):
        calls.append(1)
        return rosen(x)

    H = HessianOperator(f, rosen_x0(8))
    assert len(calls) == 0  # f runs when something is asked for
    for _ in range(5):
        H @ np.ones(8)
    H.matmat(np.eye(8))
    assert len(calls) == 2  # one recording each: the product, the batched product
    for _ in range(5):
        H @ np.arange(8.0)
    H.matmat(np.eye(8)[:, ::-1])
    assert len(calls) == 2, "later products must replay, not call f again"
    assert H.nprod == 26
    np.testing.assert_allclose(H.grad, so.rosen_der(rosen_x0(8)), rtol=1e-12)
    assert len(calls) == 3 and H.value == rosen(rosen_x0(8))


def test_hessian_operator_pytree_point():
    H = HessianOperator(tree_fun, TREE_X)
    dense = ad.hessian(lambda z: tree_fun(_Ravel(TREE_X).unravel(z)))(flat_of(TREE_X))
    assert H.shape == (7, 7)
    np.testing.assert_allclose(H.toarray(), dense, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(H.grad, flat_of(ad.grad(tree_fun)(TREE_X)), rtol=1e-12)


def test_hessian_operator_in_scipy_solvers():
    x = np.array([0.5, -0.3, 0.8, 0.1, 0.0])
    f = LOGISTIC[0]
    H = HessianOperator(f, x)
    b = np.arange(1.0, 6.0)
    sol, info = cg(H, b, rtol=1e-12)
    assert info == 0
    np.testing.assert_allclose(LOGISTIC[2](x) @ sol, b, rtol=1e-8)
    A = aslinearoperator(H) * 2.0
    np.testing.assert_allclose(A @ b, 2 * (LOGISTIC[2](x) @ b), rtol=1e-10)


def test_hessian_operator_errors():
    with pytest.raises(ValueError, match="unknown mode"):
        HessianOperator(rosen, rosen_x0(3), mode="sideways")
    with pytest.raises(ValueError, match="scalar"):
        HessianOperator(lambda x: x ** 2, rosen_x0(3), replay=False)
    with pytest.raises(ValueError, match="scalar"):  # replayed: f first runs at a product
        HessianOperator(lambda x: x ** 2, rosen_x0(3)) @ np.ones(3)
    H = HessianOperator(rosen, rosen_x0(3))
    with pytest.raises(ValueError):
        H @ np.ones(4)


# ---- JacobianOperator ------------------------------------------------------------
def vec_fun(x):
    return np.concatenate([np.sin(x) * x[0], np.cumsum(x ** 2)[:2], np.exp(x[1:] - x[:-1])])


@pytest.mark.parametrize("n", [2, 4, 9])
def test_jacobian_operator_matches_jacfwd(n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n)
    dense = ad.jacfwd(vec_fun)(x)
    J = JacobianOperator(vec_fun, x)
    m = dense.shape[0]
    assert J.shape == (m, n)
    v, u = rng.standard_normal(n), rng.standard_normal(m)
    V, U = rng.standard_normal((n, 3)), rng.standard_normal((m, 5))
    np.testing.assert_allclose(J.value, vec_fun(x))
    np.testing.assert_allclose(J @ v, dense @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J.rmatvec(u), dense.T @ u, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J.matmat(V), dense @ V, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J.rmatmat(U), dense.T @ U, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J.H @ u, dense.T @ u, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J.T.matmat(U), dense.T @ U, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J.H.H @ v, dense @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J.toarray(), dense, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J.rmatvec(u), J.rmatvec(u))  # the recorded transpose is reusable
    e = np.zeros(n, dtype=np.int8)
    e[0] = 1
    np.testing.assert_allclose(J @ e, dense[:, 0], rtol=1e-12)
    np.testing.assert_allclose(J.rmatvec(np.ones(m, dtype=np.int8)), dense.sum(axis=0), rtol=1e-10)


def test_jacobian_operator_reuses_evaluation_and_solves_with_lsmr():
    calls = []
    A = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])

    def F(x):
        calls.append(1)
        return A @ np.tanh(x)

    x = np.array([0.2, -0.4])
    b = np.array([1.0, 2.0, 0.5])
    expected = np.linalg.lstsq(ad.jacfwd(F)(x), b, rcond=None)[0]
    calls.clear()
    J = JacobianOperator(F, x, replay=False)
    sol = lsmr(J, b, atol=1e-14, btol=1e-14)[0]
    assert len(calls) == 1
    np.testing.assert_allclose(sol, expected, rtol=1e-8)
    calls.clear()
    J = JacobianOperator(F, x)  # replayed: the value, then one recording per product kind
    sol = lsmr(J, b, atol=1e-14, btol=1e-14)[0]
    assert len(calls) == 3
    np.testing.assert_allclose(sol, expected, rtol=1e-8)


def test_jacobian_operator_pytree_point_and_args():
    def F(p, scale):
        return scale * np.concatenate([p["a"] * p["b"][0], np.reshape(p["b"][1], (1,))])

    J = JacobianOperator(F, TREE_X, args=(2.0,))
    ravel = _Ravel(TREE_X)
    dense = ad.jacfwd(lambda z: F(ravel.unravel(z), 2.0))(flat_of(TREE_X))
    np.testing.assert_allclose(J.toarray(), dense, rtol=1e-12)


# ---- minimize: every method --------------------------------------------------------------
GRADIENT_METHODS = ["CG", "BFGS", "L-BFGS-B", "TNC", "SLSQP"]
SECOND_ORDER = ["Newton-CG", "trust-constr", "trust-ncg", "trust-krylov", "trust-exact", "dogleg"]
DERIVATIVE_FREE = ["Nelder-Mead", "Powell", "COBYLA", "COBYQA"]


def test_method_list_is_scipys():
    assert set(m.lower() for m in opt.MINIMIZE_METHODS) == set(_METHOD_NEEDS)


@pytest.mark.parametrize("method", GRADIENT_METHODS + SECOND_ORDER)
def test_minimize_rosenbrock(method):
    x0 = rosen_x0(10)
    options = {"maxiter": 5000}
    if method == "TNC":
        options = {"maxfun": 5000}
    if method == "dogleg":  # needs a positive definite Hessian all the way (as in SciPy)
        x0 = np.full(10, 1.05)
    res = opt.minimize(rosen, x0, method=method, tol=1e-10, options=options)
    np.testing.assert_allclose(res.x, np.ones(10), atol=2e-4)
    assert res.x is res.x_flat
    assert res.fun < 1e-7


@pytest.mark.parametrize("method", DERIVATIVE_FREE)
def test_minimize_rosenbrock_derivative_free(method):
    # These never differentiate; a small problem keeps them quick.  COBYLA's
    # linear models crawl along Rosenbrock's valley (SciPy's own behaviour), so
    # it gets a 2-d problem and a loose check.
    if method == "COBYLA":
        res = opt.minimize(rosen, np.array([-1.2, 1.0]), method=method, tol=1e-8,
                           options={"maxiter": 2000})
        assert res.fun < 0.05 < 24.2 == round(float(rosen(np.array([-1.2, 1.0]))), 1)
    else:
        res = opt.minimize(rosen, np.array([0.8, 0.7, 0.5]), method=method, tol=1e-8,
                           options={"maxiter": 5000})
        np.testing.assert_allclose(res.x, np.ones(3), atol=1e-5)
    assert res.nhvp == 0


@pytest.mark.parametrize("method", GRADIENT_METHODS + SECOND_ORDER + DERIVATIVE_FREE)
def test_minimize_logistic(method):
    loss, _, _, w_star = LOGISTIC
    # trust-krylov at tol=1e-10 never meets its test on this problem, in SciPy
    # with hand-written derivatives too (it stops at maxiter)
    res = opt.minimize(loss, np.zeros(5), method=method,
                       tol=1e-8 if method == "trust-krylov" else 1e-10)
    atol = 1e-3 if method in DERIVATIVE_FREE else 1e-4 if method == "SLSQP" else 1e-5
    np.testing.assert_allclose(res.x, w_star, atol=atol)


@pytest.mark.parametrize("method", ["Newton-CG", "BFGS", "trust-ncg"])
def test_minimize_follows_hand_written_path(method):
    """Exact derivatives: the same iterates as SciPy with hand-written ones."""
    x0 = rosen_x0(20)
    kw = {"Newton-CG": dict(hessp=so.rosen_hess_prod), "trust-ncg": dict(hessp=so.rosen_hess_prod),
          "BFGS": {}}[method]
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, method=method, tol=1e-8, **kw)
    res = opt.minimize(rosen, x0, method=method, tol=1e-8)
    assert abs(res.nit - ref.nit) <= max(1, 0.02 * ref.nit)
    np.testing.assert_allclose(res.x, ref.x, atol=1e-6)
    if method != "BFGS":
        assert res.nhvp == res.nhev or method == "trust-ncg"
        assert abs(res.nhvp - ref.nhev) <= max(2, 0.02 * ref.nhev)


def test_minimize_default_method_and_args():
    res = opt.minimize(lambda x, c: np.sum((x - c) ** 2), np.zeros(3), args=(np.arange(3.0),))
    np.testing.assert_allclose(res.x, np.arange(3.0), atol=1e-8)
    assert res.nhvp > 0  # Newton-CG with Hessian products
    res = opt.minimize(lambda x, c: np.sum((x - c) ** 2), np.zeros(2), args=5.0,
                       bounds=[(0, 1), (0, 10)])
    np.testing.assert_allclose(res.x, [1.0, 5.0], atol=1e-6)


def test_minimize_second_order_records_once_per_iterate():
    calls = []

    def f(x):
        calls.append(1)
        return rosen(x)

    res = opt.minimize(f, rosen_x0(10), method="Newton-CG")
    # one recorded evaluation per point SciPy asks about; products never call f
    assert len(calls) <= res.nfev + 1
    assert res.nhvp == res.nhev > len(calls)


def test_hessian_from_minimize_cache_stays_at_its_point():
    """An operator handed to SciPy keeps multiplying by H(x1) after fun moved on."""
    x1, x2 = rosen_x0(6), np.linspace(-1, 1, 6)
    obj = _ScalarObjective(rosen, _Ravel(x1), (), record=True)
    H1 = obj.hess_operator(x1)
    assert obj.hess_operator(x1) is H1  # one operator per x
    obj.fun_and_grad(x2)
    v = np.arange(6.0)
    np.testing.assert_allclose(H1 @ v, so.rosen_hess_prod(x1, v), rtol=1e-12)
    np.testing.assert_allclose(obj.hess_operator(x2) @ v, so.rosen_hess_prod(x2, v), rtol=1e-12)
    np.testing.assert_allclose(obj.hessp(x1, v), so.rosen_hess_prod(x1, v), rtol=1e-12)
    assert obj.nhvp == 3


def test_sweep_plans_are_reused_only_where_they_fit(monkeypatch):
    """Successive recordings of one objective reuse the compiled sweep's plan;
    a change of structure, or of a factor's kind (a number where there was an
    array, another constant, another shape), plans afresh -- and every product
    equals a fresh reverse-over-forward HVP either way."""
    import dualad.sweep as sweep
    planned = []
    plan = sweep.plan
    monkeypatch.setattr(sweep, "plan", lambda *a: planned.append(1) or plan(*a))
    const = {}

    def f(x):
        y = np.sum(np.sin(x) * const["k"] * x ** 2) + x[0] * x[-1]
        if x[0] > 0:  # control flow on values: another tape structure
            y = y + np.sum(np.exp(x[1:] * 0.5))
        return y

    plans = {}
    rng = np.random.default_rng(3)
    cases = [(3.0, 1.0, 1), (3.0, 2.0, 0), (-1.0, 2.0, 1), (np.full(5, 2.0), 2.0, 1),
             (np.full(5, 2.5), 2.0, 0), (np.full(5, 2.5), -2.0, 1),
             # back to the branch: its gradient sits elsewhere on the tape, so
             # its plan was kept under another key
             (np.full(5, 2.5), 0.5, 0)]
    for k, first, new_plans in cases:
        const["k"] = k
        x = rng.standard_normal(5)
        x[0] = first
        v = rng.standard_normal(5)
        before = len(planned)
        lin = ad.linearize_grad(f, x, plans=plans)
        g, f_jvp = lin.grad, lin.jvp
        expected = ad.hvp(f, x, v, mode="rev-over-fwd")
        np.testing.assert_allclose(lin.hvp(v), expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(f_jvp(v)[1], expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(g, ad.grad(f)(x), rtol=1e-12)
        # two sweeps (of the gradient alone, and of both outputs), so two plans
        assert len(planned) - before == 2 * new_plans, (k, first)


# ---- pytrees -------------------------------------------------------------------
def test_minimize_pytree_round_trip():
    target = {"w": np.array([[1.0, -2.0], [0.5, 3.0]]), "b": (0.25, np.array([4.0]))}

    def f(p):
        return (np.sum((p["w"] - target["w"]) ** 2) + (p["b"][0] - 0.25) ** 2
                + np.sum((p["b"][1] - 4.0) ** 2) + 0.1 * np.sum(p["w"] ** 4))

    x0 = {"w": np.zeros((2, 2)), "b": (0.0, np.zeros(1))}
    seen = []
    for method in ["Newton-CG", "L-BFGS-B", "trust-exact", "trust-krylov", "Nelder-Mead"]:
        res = opt.minimize(f, x0, method=method, tol=1e-12, callback=seen.append,
                           options={"maxiter": 20000} if method == "Nelder-Mead" else None)
        assert set(res.x) == {"w", "b"}
        assert res.x["w"].shape == (2, 2) and isinstance(res.x["b"], tuple)
        assert np.ndim(res.x["b"][0]) == 0 and res.x["b"][1].shape == (1,)
        assert res.x_flat.shape == (6,)
        np.testing.assert_allclose(res.x_flat, flat_of(res.x))
        ref = so.minimize(lambda z: f(_Ravel(x0).unravel(z)), np.zeros(6), method="BFGS",
                          jac=ad.grad(lambda z: f(_Ravel(x0).unravel(z))), tol=1e-12).x
        np.testing.assert_allclose(res.x_flat, ref, atol=1e-3 if method == "Nelder-Mead" else 1e-6)
    assert all(isinstance(x, dict) for x in seen)


def test_minimize_pytree_new_style_callback_and_flat_bounds():
    x0 = {"a": np.array([2.0, 2.0]), "b": 2.0}
    got = []

    def callback(intermediate_result):
        got.append(intermediate_result)

    def f(p):
        return np.sum(p["a"] ** 2) + p["b"] ** 2

    bounds = so.Bounds([1.0, -1.0, 0.5], 5.0)  # on the flat vector: a[0], a[1], b
    res = opt.minimize(f, x0, method="L-BFGS-B", bounds=bounds, callback=callback)
    np.testing.assert_allclose(res.x["a"], [1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(res.x["b"], 0.5, atol=1e-6)
    assert got and isinstance(got[-1].x, dict) and got[-1].x_flat.shape == (3,)


def test_minimize_scalar_and_integer_x0_like_scipy():
    res = opt.minimize(lambda x: np.sum((x - 1.5) ** 2), 0.0, method="BFGS")
    assert res.x.shape == (1,)  # SciPy makes x0 at least 1-d
    np.testing.assert_allclose(res.x, [1.5], atol=1e-6)
    res = opt.minimize(lambda x: np.sum((x - 1.5) ** 2), np.array([0, 3]), method="Newton-CG")
    assert res.x.dtype == np.float64  # SciPy converts integer x0 to float64
    np.testing.assert_allclose(res.x, [1.5, 1.5], atol=1e-6)


def test_list_of_numbers_is_an_array_like_in_scipy():
    res = opt.minimize(lambda x: np.sum((x - 3.0) ** 2), [1, 2.0], method="BFGS")
    assert isinstance(res.x, np.ndarray) and res.x.shape == (2,)
    np.testing.assert_allclose(res.x, [3.0, 3.0], atol=1e-6)
    res = opt.least_squares(lambda x: x - np.array([1.0, 2.0]), (0.0, 0.0))
    assert isinstance(res.x, np.ndarray)
    np.testing.assert_allclose(res.x, [1.0, 2.0], atol=1e-8)
    H = HessianOperator(lambda x: np.sum(x ** 3), [1.0, 2.0])
    np.testing.assert_allclose(H.toarray(), np.diag([6.0, 12.0]))
    # a tuple holding an array stays a pytree
    res = opt.minimize(lambda p: np.sum((p[0] - 1.0) ** 2) + (p[1] - 2.0) ** 2,
                       (np.zeros(2), 0.0), method="BFGS")
    assert isinstance(res.x, tuple)


def test_custom_method_gets_value_and_gradient():
    seen = {}

    def custom(fun, x0, args=(), jac=None, **kwargs):
        seen["jac"] = jac  # SciPy has split our jac=True objective into fun and jac
        x = x0 - 0.5 * jac(x0)  # one exact Newton step for sum((x - 1)^2)
        return so.OptimizeResult(x=x, fun=fun(x), success=True, nit=1)

    res = opt.minimize(lambda x: np.sum((x - 1.0) ** 2), np.zeros(3), method=custom)
    assert callable(seen["jac"])
    np.testing.assert_allclose(res.x, np.ones(3))


def test_float32_point():
    x = rosen_x0(4).astype(np.float32)
    H = HessianOperator(rosen, x)
    assert H.dtype == np.float32
    np.testing.assert_allclose(H @ np.ones(4), so.rosen_hess_prod(x.astype(float), np.ones(4)),
                               rtol=1e-5)


def test_least_squares_pytree():
    t = np.linspace(0, 1, 15)
    y = 2.0 * np.exp(-3.0 * t) + 0.5

    def residuals(p):
        return p["amp"] * np.exp(-p["rate"] * t) + p["offset"] - y

    res = opt.least_squares(residuals, {"amp": 1.0, "rate": 1.0, "offset": 0.0})
    assert set(res.x) == {"amp", "rate", "offset"}
    np.testing.assert_allclose([res.x["amp"], res.x["rate"], res.x["offset"]],
                               [2.0, 3.0, 0.5], atol=1e-6)


# ---- constraints ------------------------------------------------------------------
def tutorial_objective(x):
    return (x[0] - 1.0) ** 2 + (x[1] - 2.5) ** 2


TUTORIAL_CONS = [
    {"type": "ineq", "fun": lambda x: x[0] - 2 * x[1] + 2},
    {"type": "ineq", "fun": lambda x: -x[0] - 2 * x[1] + 6},
    {"type": "ineq", "fun": lambda x: -x[0] + 2 * x[1] + 2},
]


@pytest.mark.parametrize("method", ["SLSQP", "trust-constr", "COBYLA", "COBYQA"])
def test_minimize_dict_constraints(method):
    # SciPy's tutorial problem: solution (1.4, 1.7)
    res = opt.minimize(tutorial_objective, np.array([2.0, 0.0]), method=method,
                       constraints=TUTORIAL_CONS, bounds=[(0, None), (0, None)], tol=1e-10)
    np.testing.assert_allclose(res.x, [1.4, 1.7], atol=1e-5)


def test_minimize_nonlinear_constraint_gets_ad_jacobian_and_hessian():
    calls = []

    def circle(x):
        calls.append(1)
        return np.sum(x ** 2)

    con = so.NonlinearConstraint(circle, -np.inf, 1.0)
    res = opt.minimize(lambda x: -x[0] - 2 * x[1], np.array([0.1, 0.1]), method="trust-constr",
                       constraints=[con], tol=1e-10)
    np.testing.assert_allclose(res.x, np.array([1.0, 2.0]) / np.sqrt(5.0), atol=1e-4)
    wrapped = _wrap_constraint(con, _Ravel(np.zeros(2)), "trust-constr")
    x = np.array([0.3, -0.2])
    np.testing.assert_allclose(wrapped.jac(x), [[0.6, -0.4]])
    H = wrapped.hess(x, np.array([3.0]))
    np.testing.assert_allclose(H.toarray(), 6.0 * np.eye(2))
    # SLSQP with the same constraint object and an equality dict
    res = opt.minimize(lambda x: -x[0] - 2 * x[1], np.array([0.1, 0.1]), method="SLSQP",
                       constraints=[{"type": "eq", "fun": lambda x: np.sum(x ** 2) - 1.0}])
    np.testing.assert_allclose(res.x, np.array([1.0, 2.0]) / np.sqrt(5.0), atol=1e-5)


def test_minimize_constraint_on_pytree():
    def f(p):
        return -(p["x"] + 2 * p["y"])

    con = {"type": "ineq", "fun": lambda p, r: r - p["x"] ** 2 - p["y"] ** 2, "args": (1.0,)}
    for method in ("SLSQP", "trust-constr"):
        res = opt.minimize(f, {"x": 0.1, "y": 0.1}, method=method, constraints=con, tol=1e-10)
        np.testing.assert_allclose([res.x["x"], res.x["y"]], np.array([1.0, 2.0]) / np.sqrt(5),
                                   atol=1e-4)


def test_user_constraint_jacobian_respected():
    used = []

    def cjac(x):
        used.append(1)
        return np.array([[1.0, -2.0]])

    con = {"type": "ineq", "fun": lambda x: x[0] - 2 * x[1] + 2, "jac": cjac}
    res = opt.minimize(tutorial_objective, np.array([2.0, 0.0]), method="SLSQP",
                       constraints=[con] + TUTORIAL_CONS[1:], bounds=[(0, None), (0, None)])
    np.testing.assert_allclose(res.x, [1.4, 1.7], atol=1e-6)
    assert used


# ---- user-supplied derivatives -----------------------------------------------------------
def test_user_jac_respected():
    used = []

    def jac(x):
        used.append(1)
        return so.rosen_der(x)

    res = opt.minimize(rosen, rosen_x0(6), method="BFGS", jac=jac)
    assert used and res.njev == len(used)
    np.testing.assert_allclose(res.x, np.ones(6), atol=1e-4)


def test_user_jac_true_respected_and_hessian_added():
    grads = []

    def fg(x):
        if isinstance(x, np.ndarray):  # called by SciPy: the hand-written gradient
            grads.append(1)
            return rosen(x), so.rosen_der(x)
        return rosen(x), 0.0 * x  # traced for the Hessian: only the value is used

    res = opt.minimize(fg, rosen_x0(6), jac=True, method="BFGS")
    np.testing.assert_allclose(res.x, np.ones(6), atol=1e-4)
    assert len(grads) == res.njev and res.nhvp == 0
    grads.clear()
    res = opt.minimize(fg, rosen_x0(6), jac=True, method="Newton-CG", tol=1e-10)
    np.testing.assert_allclose(res.x, np.ones(6), atol=1e-5)
    assert grads and res.nhvp > 0


def test_user_hess_and_hessp_respected():
    used = []

    def hessp(x, p):
        used.append(1)
        return so.rosen_hess_prod(x, p)

    res = opt.minimize(rosen, rosen_x0(6), method="Newton-CG", hessp=hessp, tol=1e-10)
    np.testing.assert_allclose(res.x, np.ones(6), atol=1e-4)
    assert used and res.nhvp == 0

    used.clear()

    def hess(x):
        used.append(1)
        return so.rosen_hess(x)

    res = opt.minimize(rosen, rosen_x0(6), method="trust-exact", hess=hess, tol=1e-10)
    np.testing.assert_allclose(res.x, np.ones(6), atol=1e-4)
    assert used and res.nhvp == 0


def test_finite_difference_jac_switches_ad_off():
    def untraceable(x):
        x = np.asarray(x, dtype=float)  # would drop a derivative: dualad refuses it
        return float(np.sum((x - 1.0) ** 2))

    res = opt.minimize(untraceable, np.zeros(3), method="BFGS", jac="2-point")
    np.testing.assert_allclose(res.x, np.ones(3), atol=1e-4)
    assert res.nhvp == 0
    with pytest.raises(ValueError, match="Jacobian is required"):  # SciPy's own rule
        opt.minimize(untraceable, np.zeros(3), method="Newton-CG", jac="2-point")
    with pytest.raises(TypeError, match="drop its derivative"):
        opt.minimize(untraceable, np.zeros(3), method="BFGS")


# ---- least squares ----------------------------------------------------------------
def curve_residuals(p, t, y):
    return p[0] * np.exp(-p[1] * t) * np.cos(p[2] * t) - y


T = np.linspace(0.0, 4.0, 60)
Y = curve_residuals(np.array([2.0, 0.4, 3.0]), T, 0.0)


@pytest.mark.parametrize("method,tr_solver", [("trf", None), ("trf", "exact"), ("dogbox", None),
                                              ("dogbox", "exact"), ("lm", None)])
def test_least_squares_methods(method, tr_solver):
    res = opt.least_squares(curve_residuals, np.array([1.5, 0.5, 2.9]), method=method,
                            tr_solver=tr_solver, args=(T, Y), xtol=1e-12, ftol=1e-12, gtol=1e-12)
    np.testing.assert_allclose(res.x, [2.0, 0.4, 3.0], atol=1e-6)
    if method == "lm" or tr_solver == "exact":
        assert isinstance(res.jac, np.ndarray)
    else:
        assert isinstance(res.jac, LinearOperator)


def test_least_squares_jacobian_matches_and_user_jac_respected():
    p = np.array([1.5, 0.5, 2.9])
    res = opt.least_squares(curve_residuals, p, args=(T, Y), max_nfev=1, tr_solver="exact")
    np.testing.assert_allclose(res.jac, ad.jacfwd(curve_residuals)(p, T, Y), rtol=1e-10)
    used = []

    def jac(p, t, y):
        used.append(1)
        return ad.jacfwd(curve_residuals)(p, t, y)

    res = opt.least_squares(curve_residuals, p, jac=jac, args=(T, Y))
    assert used
    np.testing.assert_allclose(res.x, [2.0, 0.4, 3.0], atol=1e-6)
    res = opt.least_squares(curve_residuals, p, jac="3-point", args=(T, Y), kwargs={})
    np.testing.assert_allclose(res.x, [2.0, 0.4, 3.0], atol=1e-5)


def test_least_squares_bounds_loss_kwargs_and_x_scale():
    def resid(p, t, y, *, shift):
        return curve_residuals(p, t, y) + shift

    res = opt.least_squares(resid, np.array([1.5, 0.5, 2.9]), args=(T, Y), kwargs={"shift": 0.0},
                            bounds=([0, 0, 0], [1.8, 1, 5]), loss="soft_l1", x_scale="jac")
    assert res.x[0] <= 1.8 + 1e-12
    assert res.success


# ---- helpers for plain SciPy -----------------------------------------------------------
def test_helpers_in_plain_scipy():
    x0 = rosen_x0(8)
    fg = opt.fun_and_jac(rosen)
    value, g = fg(x0)
    assert isinstance(value, float)
    np.testing.assert_allclose(g, so.rosen_der(x0))
    np.testing.assert_allclose(opt.jac(rosen)(x0), so.rosen_der(x0))
    H = opt.hess(rosen)(x0)
    assert isinstance(H, HessianOperator)
    np.testing.assert_allclose(opt.hess(rosen, dense=True)(x0), so.rosen_hess(x0), rtol=1e-12)
    p = np.arange(8.0)
    np.testing.assert_allclose(opt.hessp(rosen)(x0, p), so.rosen_hess_prod(x0, p), rtol=1e-12)
    for method, extra in [("trust-ncg", dict(hessp=opt.hessp(rosen))),
                          ("Newton-CG", dict(hess=opt.hess(rosen))),
                          ("trust-exact", dict(hess=opt.hess(rosen, dense=True)))]:
        res = so.minimize(fg, x0, jac=True, method=method, tol=1e-10, **extra)
        np.testing.assert_allclose(res.x, np.ones(8), atol=1e-5)
    F = lambda x, t: x[0] * np.exp(-x[1] * t) - 2.0 * np.exp(-0.5 * t)  # noqa: E731
    t = np.linspace(0, 3, 10)
    np.testing.assert_allclose(opt.jac(F)(np.array([1.0, 1.0]), t),
                               ad.jacfwd(F)(np.array([1.0, 1.0]), t), rtol=1e-12)
    res = so.least_squares(F, np.array([1.0, 1.0]), jac=opt.jac(F, operator=True),
                           tr_solver="lsmr", args=(t,))
    np.testing.assert_allclose(res.x, [2.0, 0.5], atol=1e-6)


@pytest.mark.parametrize("replay", [False, True])
def test_hessp_helper_records_once_per_x(replay):
    calls = []

    def f(x, c):
        calls.append(1)
        return np.sum(c * x ** 4)

    hp = opt.hessp(f, replay=replay)
    c = np.array([1.0, 2.0])
    x = np.array([1.0, -1.0])
    for k in range(4):
        np.testing.assert_allclose(hp(x, np.eye(2, dtype=np.int8)[k % 2], c),
                                   12 * c * x ** 2 * np.eye(2)[k % 2])
    assert len(calls) == 1
    np.testing.assert_allclose(hp(x + 1, np.ones(2), c), 12 * c * (x + 1) ** 2)
    # a new x: recorded again on a tape, or the same program replayed
    assert len(calls) == (1 if replay else 2)


# ---- bad input -----------------------------------------------------------------------
def test_non_scalar_objective_is_a_clear_error():
    for method in ["Newton-CG", "BFGS", "Nelder-Mead", "trust-exact"]:
        with pytest.raises(ValueError, match="must return a scalar.*shape \\(3,\\)"):
            opt.minimize(lambda x: x ** 2, np.ones(3), method=method)
    with pytest.raises(ValueError, match="jac=True"):
        opt.minimize(lambda x: (np.sum(x), x), np.ones(3), method="BFGS")
    # a size-1 array is a scalar, as in SciPy
    res = opt.minimize(lambda x: np.reshape(np.sum((x - 2) ** 2), (1, 1)), np.ones(2),
                       method="BFGS")
    np.testing.assert_allclose(res.x, [2.0, 2.0], atol=1e-6)


def test_unknown_method_lists_methods():
    with pytest.raises(ValueError, match="unknown method 'newton'.*Newton-CG.*trust-krylov"):
        opt.minimize(rosen, np.ones(2), method="newton")
    with pytest.raises(ValueError, match="trf, dogbox, lm"):
        opt.least_squares(lambda x: x, np.ones(2), method="gauss-newton")


def test_method_names_are_case_insensitive_like_scipy():
    res = opt.minimize(rosen, rosen_x0(4), method="newton-cg", tol=1e-10)
    np.testing.assert_allclose(res.x, np.ones(4), atol=1e-5)
    assert res.nhvp > 0


@pytest.mark.parametrize("x0", [np.array([1 + 2j, 3.0]), np.array(["a", "b"]),
                                {"a": np.array([1j])}, [object()]])
def test_bad_x0_type(x0):
    with pytest.raises(TypeError):
        opt.minimize(lambda x: 0.0, x0)


def test_nan_objective_follows_scipy():
    def f(x):
        return np.sum(np.log(x))  # NaN for negative x

    def f_np(x):
        with np.errstate(invalid="ignore"):
            return np.sum(np.log(x))

    x0 = np.array([-1.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            ref = so.minimize(f_np, x0, jac=lambda x: 1.0 / x, method="BFGS")
            res = opt.minimize(f, x0, method="BFGS")
    assert (res.success, res.status, res.message, res.nit) == (ref.success, ref.status,
                                                              ref.message, ref.nit)
    with pytest.raises(ValueError, match="Residuals are not finite"):
        with np.errstate(all="ignore"):
            opt.least_squares(lambda x: np.log(x), np.array([-1.0, 1.0]))


def test_untraceable_objective_error_mentions_escape_hatch():
    def f(x):
        return float(np.sum(x ** 2))

    with pytest.raises(TypeError) as info:
        opt.minimize(f, np.ones(2), method="BFGS")
    notes = " ".join(getattr(info.value, "__notes__", []))
    if hasattr(info.value, "add_note"):
        assert "jac='2-point'" in notes


@pytest.mark.parametrize("module", ["dualad.optimize", "dualad.optimize.flat",
                                    "dualad.optimize.operators", "dualad.optimize.objective",
                                    "dualad.optimize.drop_ins"])
def test_docstring_examples(module):
    failures, _ = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert failures == 0


def test_hessp_sees_arguments_changed_in_place():
    """Found by the audit of issue 9: the hessp helper kept its recording while
    an array argument was changed in place, and returned stale products."""
    hp = opt.hessp(lambda x, c: np.sum(c * x ** 3))
    x, p = np.array([1.0, 2.0]), np.array([1.0, 1.0])
    c = np.array([1.0, 10.0])
    np.testing.assert_allclose(hp(x, p, c), 6.0 * c * x, rtol=1e-14)  # d²/dx² c x³ = 6 c x
    c[:] = [2.0, 20.0]
    np.testing.assert_allclose(hp(x, p, c), 6.0 * c * x, rtol=1e-14)


def test_least_squares_bounds_follow_a_pytree_x0():
    x0 = {"a": np.array([2.0, 3.0]), "b": 0.5}

    def residuals(p):
        return np.concatenate([p["a"] - 5.0, np.atleast_1d(p["b"] - 4.0)])

    as_trees = opt.least_squares(
        residuals, x0, bounds=({"a": 0.0, "b": 0.0}, {"a": np.array([4.0, 10.0]), "b": 1.0}))
    np.testing.assert_allclose(as_trees.x["a"], [4.0, 5.0], atol=1e-6)
    np.testing.assert_allclose(as_trees.x["b"], 1.0, atol=1e-6)
    pairs = opt.least_squares(residuals, x0, bounds={"a": (0.0, 4.0), "b": (None, 1.0)})
    np.testing.assert_allclose(pairs.x["a"], [4.0, 4.0], atol=1e-6)
    numbers = opt.least_squares(residuals, x0, bounds=(0.0, 4.5))
    np.testing.assert_allclose(numbers.x_flat, [4.5, 4.5, 4.0], atol=1e-6)
    # SciPy's flat (lb, ub), in result.x_flat's order (the dict's keys sorted)
    flat = opt.least_squares(residuals, x0, bounds=(np.zeros(3), np.array([4.0, 4.0, 1.0])))
    np.testing.assert_allclose(flat.x_flat, [4.0, 4.0, 1.0], atol=1e-6)
    with pytest.raises(ValueError, match="bounds do not match x0"):
        opt.least_squares(residuals, x0, bounds=({"a": 0.0}, {"a": 1.0}))
