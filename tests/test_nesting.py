"""Nesting: the four HVP modes, perturbation confusion, closures over traced
values, derivatives of derivatives, long chains, fan-out and broadcasting.

Every expected value comes from central finite differences (of the gradient
for second order) or from another mode, never from a rule's own formula.
"""

import numpy as np
import pytest

import dualad as ad
from dualad.testing import numerical_jvp


# ---- helpers -----------------------------------------------------------------
def leaves(tree):
    return [np.asarray(x, dtype=float) for x in ad.tree_flatten(tree)[0]]


def assert_tree_close(actual, expected, rtol=1e-7, atol=1e-9):
    a_leaves, a_tree = ad.tree_flatten(actual)
    e_leaves, e_tree = ad.tree_flatten(expected)
    assert a_tree == e_tree
    for a, e in zip(a_leaves, e_leaves):
        assert np.shape(a) == np.shape(e)
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(e, float),
                                   rtol=rtol, atol=atol)


def random_like(tree, rng):
    ls, td = ad.tree_flatten(tree)
    return ad.tree_unflatten(td, [rng.standard_normal(np.shape(x)) for x in ls])


def fd_hvp(f, x, v, eps=1e-5):
    """Central differences of the gradient: (∇f(x + eps v) - ∇f(x - eps v)) / 2 eps."""
    return numerical_jvp(ad.grad(f), (x,), (v,), eps=eps)


def d_fwd(f):
    """Derivative of a scalar function of one scalar, by forward mode."""
    return lambda x: ad.jvp(f, (x,), (1.0,))[1]


def d_rev(f):
    """Derivative of a scalar function of one scalar, by reverse mode."""
    return ad.grad(f)


DERIVATIVES = {"fwd": d_fwd, "rev": d_rev}
MIXES = [(outer, inner) for outer in DERIVATIVES for inner in DERIVATIVES]
MIX_IDS = [f"{outer}-over-{inner}" for outer, inner in MIXES]


# ---- five non-trivial functions for HVPs ----------------------------------------
def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


_rng = np.random.default_rng(42)
_X = _rng.standard_normal((12, 4))
_LABELS = np.sign(_rng.standard_normal(12))


def logistic_loss(w):
    margins = _LABELS * (_X @ w)
    return np.mean(np.log1p(np.exp(-margins))) + 0.05 * np.sum(w ** 2)


_XM = _rng.standard_normal((6, 3))
_YM = _rng.standard_normal((6, 2))


def mlp_loss(params):
    (W1, b1), (W2, b2) = params["layers"]
    hidden = np.tanh(_XM @ W1 + b1)
    out = np.tanh(hidden @ W2 + b2)
    return 0.5 * np.mean((out - _YM) ** 2)


def logdet(x):
    B = x.reshape(3, 3)
    A = B @ B.T + 2.0 * np.eye(3)          # symmetric positive definite for any x
    L = np.linalg.cholesky(A)
    return 2.0 * np.sum(np.log(np.diag(L)))


_XS = _rng.standard_normal((5, 3))
_CLASSES = np.array([0, 3, 1, 2, 3])


def softmax_xent(w):
    logits = _XS @ w.reshape(3, 4)
    z = logits - np.max(logits, axis=1, keepdims=True)
    log_probs = z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(log_probs[np.arange(5), _CLASSES])


def _mlp_params(rng):
    return {"layers": [(rng.standard_normal((3, 4)) * 0.7, rng.standard_normal(4) * 0.1),
                       (rng.standard_normal((4, 2)) * 0.7, rng.standard_normal(2) * 0.1)]}


HVP_CASES = {
    "rosenbrock": (rosenbrock, lambda rng: rng.uniform(-1.5, 1.5, 6)),
    "logistic": (logistic_loss, lambda rng: rng.standard_normal(4)),
    "mlp": (mlp_loss, _mlp_params),
    "logdet_cholesky": (logdet, lambda rng: rng.standard_normal(9)),
    "softmax_xent": (softmax_xent, lambda rng: rng.standard_normal(12)),
}


@pytest.mark.parametrize("name", sorted(HVP_CASES))
def test_hvp_modes_agree_with_each_other_and_finite_differences(name):
    f, make_x = HVP_CASES[name]
    rng = np.random.default_rng(7)
    x = make_x(rng)
    v = random_like(x, rng)
    results = {mode: ad.hvp(f, x, v, mode=mode) for mode in ad.HVP_MODES}
    reference = results["fwd-over-rev"]
    # The Hessian must not be trivially zero, or agreement would prove nothing.
    assert max(np.max(np.abs(leaf)) for leaf in leaves(reference)) > 1e-3
    for mode, hv in results.items():
        assert_tree_close(hv, reference, rtol=1e-9, atol=1e-12)
    assert_tree_close(reference, fd_hvp(f, x, v), rtol=1e-5, atol=1e-7)


def test_hvp_default_mode_is_forward_over_reverse():
    x = np.array([0.5, -0.3, 1.2])
    v = np.array([1.0, 2.0, -1.0])
    np.testing.assert_array_equal(ad.hvp(rosenbrock, x, v),
                                  ad.hvp(rosenbrock, x, v, mode="fwd-over-rev"))


@pytest.mark.parametrize("name", ["rosenbrock", "logistic", "softmax_xent"])
def test_hessian_columns_are_hvps_on_basis_vectors(name):
    f, make_x = HVP_CASES[name]
    x = make_x(np.random.default_rng(3))
    H = ad.hessian(f)(x)
    n = x.size
    assert H.shape == (n, n)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-12)
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        np.testing.assert_allclose(H[:, i], ad.hvp(f, x, e), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(H[:, i], ad.hvp(f, x, e, mode="rev-over-rev"),
                                   rtol=1e-10, atol=1e-12)


# ---- perturbation confusion ----------------------------------------------------
@pytest.mark.parametrize("outer,inner", MIXES, ids=MIX_IDS)
def test_perturbation_confusion_classic(outer, inner):
    # d/dx [x * d/dy (x + y)] = d/dx [x * 1] = 1; confusing the two
    # perturbations gives 2.
    D_outer, D_inner = DERIVATIVES[outer], DERIVATIVES[inner]

    def g(x):
        return x * D_inner(lambda y: x + y)(1.0)

    for x0 in (1.0, 3.0):
        assert float(D_outer(g)(x0)) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("outer,inner", MIXES, ids=MIX_IDS)
def test_perturbation_confusion_nonlinear(outer, inner):
    # h(x) = sin(x) * d/dy [x * y]  (= sin(x) * x), checked against finite differences.
    D_outer, D_inner = DERIVATIVES[outer], DERIVATIVES[inner]

    def h(x):
        return np.sin(x) * D_inner(lambda y: x * y + y ** 2 / 4.0)(0.0)

    x0 = 0.8
    expected = numerical_jvp(lambda x: np.sin(x) * x, (x0,), (1.0,))
    assert float(D_outer(h)(x0)) == pytest.approx(float(expected), rel=1e-8)


@pytest.mark.parametrize("outer,inner", MIXES, ids=MIX_IDS)
def test_closure_captures_outer_traced_value(outer, inner):
    # The inner function closes over the outer variable x; its derivative
    # in y must treat x as a constant, and the outer derivative must see
    # how the inner result depends on x.
    D_outer, D_inner = DERIVATIVES[outer], DERIVATIVES[inner]

    def closure_value(x):
        inner_fn = lambda y: np.exp(x * y) * np.cos(y + x)
        return D_inner(inner_fn)(0.7) * x

    plain = lambda x: closure_value(x)
    x0 = 0.4
    expected = numerical_jvp(plain, (x0,), (1.0,))
    assert float(D_outer(closure_value)(x0)) == pytest.approx(float(expected), rel=1e-7)


def test_closure_over_traced_vector_in_jvp_of_vjp():
    x = np.array([0.2, -0.5, 1.1])
    t = np.array([1.0, 0.5, -2.0])

    def g(x):
        # pullback defined inside, with a closure over x; returns a vector
        _, pullback = ad.vjp(lambda y: np.sin(x * y) + y ** 2, np.ones(3))
        return pullback(x)[0]

    _, jv = ad.jvp(g, (x,), (t,))
    np.testing.assert_allclose(jv, numerical_jvp(g, (x,), (t,)), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_grad_of_function_that_calls_hvp(mode):
    f = lambda x: np.sum(np.sin(x) * x ** 2) + np.prod(x)
    v = np.array([1.0, -2.0, 0.5])
    h = lambda x: np.sum(ad.hvp(f, x, v, mode=mode) * np.cos(x))
    x = np.array([0.3, -1.1, 0.9])
    g = ad.grad(h)(x)
    rng = np.random.default_rng(0)
    for _ in range(3):
        d = rng.standard_normal(3)
        assert float(np.dot(g, d)) == pytest.approx(float(numerical_jvp(h, (x,), (d,))),
                                                    rel=1e-6, abs=1e-9)


def test_grad_of_hvp_agrees_across_modes():
    f = logistic_loss
    x = np.random.default_rng(1).standard_normal(4)
    v = np.ones(4)
    grads = [ad.grad(lambda y: np.sum(ad.hvp(f, y, v, mode=m) ** 2))(x) for m in ad.HVP_MODES]
    for g in grads[1:]:
        np.testing.assert_allclose(g, grads[0], rtol=1e-9, atol=1e-12)


def test_third_derivatives_in_every_nesting():
    f = lambda x: np.sin(x) * np.exp(x / 2)
    x0 = 0.6
    second = d_rev(d_fwd(f))
    expected = float(numerical_jvp(second, (x0,), (1.0,), eps=1e-5))
    for a in DERIVATIVES.values():
        for b in DERIVATIVES.values():
            for c in DERIVATIVES.values():
                assert float(a(b(c(f)))(x0)) == pytest.approx(expected, rel=1e-6)


# ---- long chains -----------------------------------------------------------------
def _chain(y, steps):
    for _ in range(steps):
        y = y * 0.9999 + 1e-5 * np.sin(y)    # 4 primitives per step
    return np.sum(y)


def test_hundred_thousand_operation_chain():
    steps = 25_000                           # 100,000 primitive applications
    x = np.array([0.1, 0.5, -0.3])
    g = ad.grad(lambda y: _chain(y, steps))(x)   # no RecursionError
    _, jac_row = ad.jvp(lambda y: _chain(y, steps), (x,), (np.eye(3),), batched=True)
    np.testing.assert_allclose(g, jac_row, rtol=1e-12)
    # and both are right, not just equal
    d = np.array([1.0, -1.0, 0.5])
    np.testing.assert_allclose(np.dot(g, d),
                               numerical_jvp(lambda y: _chain(y, steps), (x,), (d,)),
                               rtol=1e-6)


def test_deep_chain_second_order():
    def f(x):
        for _ in range(300):
            x = np.tanh(x) + 0.01 * x ** 2
        return np.sum(x ** 2)

    x = np.array([0.3, -0.2])
    v = np.array([1.0, 0.5])
    hvs = [ad.hvp(f, x, v, mode=m) for m in ad.HVP_MODES]
    for hv in hvs[1:]:
        np.testing.assert_allclose(hv, hvs[0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hvs[0], fd_hvp(f, x, v), rtol=1e-5, atol=1e-8)


# ---- fan-out -----------------------------------------------------------------------
def test_fan_out_same_value_used_twice_in_one_operation():
    # b = a + a: both operands are the same tape entry; its cotangent is 2g.
    def f(a):
        b = a + a
        c = b * a            # a used again, in another entry
        d = a * a            # and twice in one entry again
        return np.sum(c + d + np.dot(a, a))

    a = np.array([0.5, -1.5, 2.0])
    g = ad.grad(f)(a)
    basis = np.eye(3)
    fd = np.array([float(numerical_jvp(f, (a,), (e,))) for e in basis])
    np.testing.assert_allclose(g, fd, rtol=1e-7)
    _, fwd = ad.jvp(f, (a,), (basis,), batched=True)
    np.testing.assert_allclose(g, fwd, rtol=1e-12)


@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_fan_out_second_order(mode):
    def f(a):
        b = a + a
        return np.sum(np.sin(b) * b * a)

    a = np.array([0.3, 0.9, -0.4])
    v = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ad.hvp(f, a, v, mode=mode), fd_hvp(f, a, v),
                               rtol=1e-6, atol=1e-8)


def test_fan_out_wide_diamond():
    # one value feeding many branches that join again
    def f(x):
        branches = [np.sin(x * k) for k in range(1, 30)]
        total = branches[0]
        for b in branches[1:]:
            total = total + b
        return np.sum(total * x)

    x = np.array([0.2, -0.7])
    d = np.array([0.3, 1.0])
    np.testing.assert_allclose(np.dot(ad.grad(f)(x), d), numerical_jvp(f, (x,), (d,)),
                               rtol=1e-7)


# ---- broadcasting in nested settings ---------------------------------------------
def _broadcast_loss(p):
    # (3, 1) * (4,) + scalar -> (3, 4); then a row vector (1, 4)
    z = np.tanh(p["col"] * p["row"] + p["shift"])
    return np.sum(z ** 2 * p["weights"]) + np.sum(p["col"] ** 3)


def _broadcast_params(rng):
    return {"col": rng.standard_normal((3, 1)), "row": rng.standard_normal(4),
            "shift": 0.3, "weights": rng.uniform(0.5, 1.5, (1, 4))}


@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_broadcasting_hvp(mode):
    rng = np.random.default_rng(11)
    p = _broadcast_params(rng)
    v = random_like(p, rng)
    hv = ad.hvp(_broadcast_loss, p, v, mode=mode)
    assert np.shape(hv["col"]) == (3, 1) and np.shape(hv["weights"]) == (1, 4)
    assert np.shape(hv["shift"]) == ()
    assert_tree_close(hv, fd_hvp(_broadcast_loss, p, v), rtol=1e-5, atol=1e-7)


def test_broadcasting_scalar_against_matrix_in_grad_of_jvp():
    M = np.arange(6.0).reshape(2, 3) / 5

    def directional(s):
        # jvp in the matrix argument, differentiated in the broadcast scalar
        return ad.jvp(lambda A: np.sum(np.exp(s * A) * A), (M,), (np.ones((2, 3)),))[1]

    s0 = 0.7
    assert float(ad.grad(directional)(s0)) == pytest.approx(
        float(numerical_jvp(directional, (s0,), (1.0,))), rel=1e-7)


def test_broadcasting_batched_jvp_of_grad():
    # vector-mode forward over reverse with broadcasting inside the function
    p = np.array([[0.5], [-0.2]])        # (2, 1) against a (3,) constant
    c = np.array([1.0, 2.0, -1.0])
    f = lambda p: np.sum(np.log1p((p * c) ** 2))
    directions = np.stack([np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]]),
                           np.array([[1.0], [-1.0]])])
    _, hv = ad.jvp(ad.grad(f), (p,), (directions,), batched=True)
    assert hv.shape == (3, 2, 1)
    for k in range(3):
        np.testing.assert_allclose(hv[k], fd_hvp(f, p, directions[k]), rtol=1e-6, atol=1e-8)


# ---- tangents that are themselves traced ------------------------------------------
def _jvp_along_self(x):
    f = lambda y: np.sin(y) * np.sum(y ** 2)
    return np.sum(ad.jvp(f, (x,), (x,))[1] ** 2)


def _batched_jvp_along_traced(x):
    f = lambda y: np.sin(y) * np.sum(y ** 2)
    return np.sum(ad.jvp(f, (x,), (np.stack([x, x ** 2]),), batched=True)[1] ** 2)


def _linearize_along_traced(x):
    f = lambda y: np.sin(y) * np.sum(y ** 2)
    _, f_jvp = ad.linearize(f, x)
    return np.sum(f_jvp(np.stack([x, x ** 2]), batched=True) ** 2) + np.sum(f_jvp(x))


@pytest.mark.parametrize("h", [_jvp_along_self, _batched_jvp_along_traced,
                               _linearize_along_traced])
def test_grad_through_jvp_whose_tangent_depends_on_the_input(h):
    # both the point and the direction move with x
    x = np.array([0.3, -1.2, 2.0])
    g = ad.grad(h)(x)
    for e in np.eye(3):
        assert float(np.dot(g, e)) == pytest.approx(float(numerical_jvp(h, (x,), (e,))),
                                                    rel=1e-7)


def test_batched_jvp_nested_in_batched_jvp():
    # d/dx [x * d/dy (x + y)] with k directions at both levels: x * I, whose
    # derivative along e_i is e_i e_i^T -- confusion would add the outer
    # directions into the inner Jacobian.
    def inner_jacobian_times_x(x):
        jac = ad.jvp(lambda y: x + y, (np.zeros(2),), (np.eye(2),), batched=True)[1]
        return x * jac

    _, t = ad.jvp(inner_jacobian_times_x, (np.ones(2),), (np.eye(2),), batched=True)
    assert t.shape == (2, 2, 2)
    for i in range(2):
        e = np.eye(2)[i]
        np.testing.assert_allclose(t[i], numerical_jvp(inner_jacobian_times_x, (np.ones(2),), (e,)),
                                   rtol=1e-8, atol=1e-10)
