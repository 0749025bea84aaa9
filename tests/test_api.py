"""The public transformations: signatures (JAX's conventions), results, pytrees,
argnums, has_aux, Jacobians, linearize, dtypes, zeros and input safety.

Derivatives are checked against central finite differences, the dot-product
identity ⟨u, J v⟩ = ⟨Jᵀu, v⟩, or another mode -- never against a rule's formula.
"""

import doctest

import numpy as np
import pytest

import dualad as ad
import dualad.api
from dualad.core import Box
from dualad.testing import numerical_jvp


# ---- helpers -----------------------------------------------------------------
def random_like(tree, rng):
    ls, td = ad.tree_flatten(tree)
    return ad.tree_unflatten(td, [rng.standard_normal(np.shape(x)) for x in ls])


def tree_vdot(a, b):
    la, ta = ad.tree_flatten(a)
    lb, tb = ad.tree_flatten(b)
    assert ta == tb
    return float(sum(np.sum(np.asarray(x, float) * np.asarray(y, float)) for x, y in zip(la, lb)))


def assert_tree_close(actual, expected, rtol=1e-7, atol=1e-9):
    a_leaves, a_tree = ad.tree_flatten(actual)
    e_leaves, e_tree = ad.tree_flatten(expected)
    assert a_tree == e_tree, f"structure {a_tree} != {e_tree}"
    for a, e in zip(a_leaves, e_leaves):
        assert not isinstance(a, Box), "a boxed value escaped to the caller"
        assert np.shape(a) == np.shape(e)
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(e, float),
                                   rtol=rtol, atol=atol)


def f_two_args(x, y):
    return np.tanh(x) * y[0] + np.sin(y[1:]).sum() * x ** 2


X = np.array([0.3, -1.2, 2.0])
Y = np.array([1.5, 0.2, -0.7])


# ---- docstring examples run as written ----------------------------------------
def test_docstring_examples():
    result = doctest.testmod(dualad.api, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 5
    assert result.failed == 0


# ---- jvp ---------------------------------------------------------------------
def test_jvp_signature_and_result():
    tx, ty = np.array([1.0, 0.5, -0.2]), np.array([0.3, -1.0, 2.0])
    res = ad.jvp(f_two_args, (X, Y), (tx, ty))
    assert isinstance(res, tuple) and len(res) == 2
    out, out_tangent = res
    np.testing.assert_allclose(out, f_two_args(X, Y), rtol=1e-15)
    np.testing.assert_allclose(out_tangent, numerical_jvp(f_two_args, (X, Y), (tx, ty)),
                               rtol=1e-7, atol=1e-9)
    assert not isinstance(out, Box) and not isinstance(out_tangent, Box)


def test_jvp_accepts_lists_for_primals_and_tangents():
    a = ad.jvp(f_two_args, [X, Y], [np.ones(3), np.ones(3)])
    b = ad.jvp(f_two_args, (X, Y), (np.ones(3), np.ones(3)))
    np.testing.assert_array_equal(a[1], b[1])


def test_jvp_is_linear_in_tangent():
    t1, t2 = np.array([1.0, 0.0, 2.0]), np.array([-0.5, 1.0, 0.0])
    f = lambda x: np.exp(x) * np.sum(x ** 2)
    j1 = ad.jvp(f, (X,), (t1,))[1]
    j2 = ad.jvp(f, (X,), (t2,))[1]
    j12 = ad.jvp(f, (X,), (2.0 * t1 - 3.0 * t2,))[1]
    np.testing.assert_allclose(j12, 2.0 * j1 - 3.0 * j2, rtol=1e-12, atol=1e-12)


def test_batched_jvp_equals_stacked_single_jvps():
    f = lambda x, s: (np.tanh(x) * s, np.sum(x ** 2) * s)  # scalar s broadcast
    rng = np.random.default_rng(0)
    k = 5
    TX = rng.standard_normal((k, 3))
    TS = rng.standard_normal(k)
    out, (b0, b1) = ad.jvp(f, (X, 0.7), (TX, TS), batched=True)
    assert b0.shape == (k, 3) and b1.shape == (k,)
    for i in range(k):
        s0, s1 = ad.jvp(f, (X, 0.7), (TX[i], TS[i]))[1]
        np.testing.assert_allclose(b0[i], s0, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(b1[i], s1, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(out[0], f(X, 0.7)[0])


# ---- vjp ---------------------------------------------------------------------
def test_vjp_signature_and_dot_product_identity():
    res = ad.vjp(f_two_args, X, Y)
    assert isinstance(res, tuple) and len(res) == 2
    out, pullback = res
    np.testing.assert_allclose(out, f_two_args(X, Y), rtol=1e-15)
    rng = np.random.default_rng(1)
    u = rng.standard_normal(3)
    cts = pullback(u)
    assert isinstance(cts, tuple) and len(cts) == 2
    assert cts[0].shape == X.shape and cts[1].shape == Y.shape
    v = (rng.standard_normal(3), rng.standard_normal(3))
    jv_fd = numerical_jvp(f_two_args, (X, Y), v)
    assert tree_vdot(cts, v) == pytest.approx(float(np.dot(u, jv_fd)), rel=1e-7)
    jv_fwd = ad.jvp(f_two_args, (X, Y), v)[1]
    assert tree_vdot(cts, v) == pytest.approx(float(np.dot(u, jv_fwd)), rel=1e-12)


def test_vjp_single_primal_still_returns_tuple():
    _, pullback = ad.vjp(np.sin, X)
    cts = pullback(np.ones(3))
    assert isinstance(cts, tuple) and len(cts) == 1
    # each entry of the gradient against finite differences
    for i in range(3):
        e = np.eye(3)[i]
        assert cts[0][i] == pytest.approx(float(numerical_jvp(lambda x: np.sum(np.sin(x)),
                                                              (X,), (e,))), rel=1e-8)


def test_pullback_can_be_called_many_times():
    f = lambda x: np.sin(x) * np.sum(x ** 2)
    _, pullback = ad.vjp(f, X)
    u = np.array([1.0, -2.0, 0.5])
    first = pullback(u)[0].copy()
    second = pullback(u)[0]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(pullback(3.0 * u)[0], 3.0 * first, rtol=1e-13)
    np.testing.assert_array_equal(pullback(u)[0], first)


def test_pullback_does_not_modify_its_cotangent():
    # fan-out accumulates cotangents; it must not do so in the caller's array
    f = lambda x: x + x * 2.0 + x
    _, pullback = ad.vjp(f, X)
    u = np.array([1.0, 2.0, 3.0])
    u_copy = u.copy()
    pullback(u)
    pullback(u)
    np.testing.assert_array_equal(u, u_copy)


def test_vjp_has_aux():
    def f(x):
        y = np.sin(x)
        return y * 2.0, {"intermediate": y, "count": 3}

    res = ad.vjp(f, X, has_aux=True)
    assert len(res) == 3
    out, pullback, aux = res
    np.testing.assert_allclose(aux["intermediate"], np.sin(X))
    assert not isinstance(aux["intermediate"], Box)
    assert aux["count"] == 3
    (ct,) = pullback(np.ones(3))
    for i in range(3):
        e = np.eye(3)[i]
        assert ct[i] == pytest.approx(float(numerical_jvp(lambda x: np.sum(f(x)[0]), (X,),
                                                          (e,))), rel=1e-8)


# ---- grad and value_and_grad ---------------------------------------------------
def test_grad_matches_finite_differences():
    f = lambda x: np.sum(np.tanh(x) ** 2) + x[0] * np.log1p(x[1] ** 2)
    g = ad.grad(f)(X)
    assert g.shape == X.shape
    rng = np.random.default_rng(2)
    for _ in range(3):
        d = rng.standard_normal(3)
        assert float(np.dot(g, d)) == pytest.approx(float(numerical_jvp(f, (X,), (d,))),
                                                    rel=1e-7)


def test_grad_argnums_int_tuple_and_negative():
    f = lambda a, b, c: np.sum(a * np.sin(b)) * c
    a, b, c = np.array([1.0, 2.0]), np.array([0.3, -0.4]), 1.5
    ga = ad.grad(f)(a, b, c)
    gb = ad.grad(f, argnums=1)(a, b, c)
    gc = ad.grad(f, argnums=-1)(a, b, c)
    both = ad.grad(f, argnums=(0, 2))(a, b, c)
    assert isinstance(both, tuple) and len(both) == 2
    np.testing.assert_allclose(both[0], ga, rtol=1e-15)
    np.testing.assert_allclose(both[1], gc, rtol=1e-15)
    reordered = ad.grad(f, argnums=(2, 0))(a, b, c)
    np.testing.assert_allclose(reordered[0], gc, rtol=1e-15)
    np.testing.assert_allclose(reordered[1], ga, rtol=1e-15)
    args = (a, b, c)
    for i, g in enumerate((ga, gb, gc)):
        for j in range(np.size(args[i])):
            e = np.zeros(np.shape(args[i]))
            e.flat[j] = 1.0
            ts = tuple(e if k == i else np.zeros(np.shape(args[k])) for k in range(3))
            assert np.asarray(g).flat[j] == pytest.approx(
                float(numerical_jvp(f, args, ts)), rel=1e-8)


def test_grad_passes_keyword_arguments_through():
    f = lambda x, scale=1.0: np.sum(x ** 2) * scale
    np.testing.assert_allclose(ad.grad(f)(X, scale=3.0), 3.0 * ad.grad(f)(X), rtol=1e-15)


def test_value_and_grad():
    f = lambda x, y: np.sum(np.exp(x) * y)
    value, g = ad.value_and_grad(f)(X, Y)
    assert float(value) == pytest.approx(float(f(X, Y)), rel=1e-15)
    assert not isinstance(value, Box)
    np.testing.assert_allclose(g, ad.grad(f)(X, Y), rtol=1e-15)
    value2, (gx, gy) = ad.value_and_grad(f, argnums=(0, 1))(X, Y)
    assert float(value2) == float(value)
    for i in range(3):
        e = np.eye(3)[i]
        assert gy[i] == pytest.approx(float(numerical_jvp(lambda y: f(X, y), (Y,), (e,))),
                                      rel=1e-8)


def test_grad_and_value_and_grad_has_aux():
    def f(x):
        loss = np.sum(x ** 3)
        return loss, {"loss": loss, "x2": x ** 2}

    g, aux = ad.grad(f, has_aux=True)(X)
    np.testing.assert_allclose(g, ad.grad(lambda x: f(x)[0])(X), rtol=1e-15)
    np.testing.assert_allclose(aux["x2"], X ** 2)
    assert not isinstance(aux["loss"], Box) and not isinstance(aux["x2"], Box)
    (value, aux2), g2 = ad.value_and_grad(f, has_aux=True)(X)
    assert float(value) == pytest.approx(float(np.sum(X ** 3)))
    np.testing.assert_allclose(aux2["x2"], X ** 2)
    np.testing.assert_array_equal(g2, g)


# ---- pytrees -----------------------------------------------------------------------
def tree_fn(p):
    """dict / tuple / list in, dict / list / tuple (with None) out."""
    w, (b, s) = p["w"], p["bs"]
    h = np.tanh(w * s + b[0]) * b[1]
    return {"h": h, "stats": [np.sum(h ** 2), (w[0] * s, None)]}


def tree_point():
    return {"w": np.array([0.3, -0.8, 1.1]), "bs": ([0.2, np.array([1.0, 2.0, -1.0])], 0.7)}


def test_pytree_jvp():
    p = tree_point()
    t = random_like(p, np.random.default_rng(3))
    out, out_t = ad.jvp(tree_fn, (p,), (t,))
    assert_tree_close(out, tree_fn(p), rtol=1e-15)
    assert_tree_close(out_t, numerical_jvp(tree_fn, (p,), (t,)))


def test_pytree_vjp_dot_product_identity():
    p = tree_point()
    rng = np.random.default_rng(4)
    out, pullback = ad.vjp(tree_fn, p)
    u = {"h": rng.standard_normal(3), "stats": [rng.standard_normal(), (rng.standard_normal(), None)]}
    (ct,) = pullback(u)
    assert ad.tree_flatten(ct)[1] == ad.tree_flatten(p)[1]
    t = random_like(p, rng)
    assert tree_vdot(ct, t) == pytest.approx(tree_vdot(u, numerical_jvp(tree_fn, (p,), (t,))),
                                             rel=1e-7)


def test_pytree_grad():
    loss = lambda p: np.sum(tree_fn(p)["h"]) + tree_fn(p)["stats"][0]
    p = tree_point()
    g = ad.grad(loss)(p)
    assert ad.tree_flatten(g)[1] == ad.tree_flatten(p)[1]
    rng = np.random.default_rng(5)
    t = random_like(p, rng)
    assert tree_vdot(g, t) == pytest.approx(float(numerical_jvp(loss, (p,), (t,))), rel=1e-7)


def test_pytree_linearize():
    p = tree_point()
    t = random_like(p, np.random.default_rng(6))
    out, f_jvp = ad.linearize(tree_fn, p)
    assert_tree_close(out, tree_fn(p), rtol=1e-15)
    assert_tree_close(f_jvp(t), ad.jvp(tree_fn, (p,), (t,))[1], rtol=1e-13, atol=1e-15)


def test_pytree_jacobians():
    p = tree_point()
    jf = ad.jacfwd(tree_fn)(p)
    jr = ad.jacrev(tree_fn)(p)
    assert_tree_close(jf, jr, rtol=1e-12, atol=1e-14)
    # output structure holding, per output leaf, the input's structure of blocks
    assert np.shape(jf["h"]["w"]) == (3, 3)
    assert np.shape(jf["h"]["bs"][0][1]) == (3, 3)
    assert np.shape(jf["h"]["bs"][1]) == (3,)
    assert np.shape(jf["stats"][0]["w"]) == (3,)
    assert jf["stats"][1][1] is None
    # the w-block of d h / d p against finite differences, column by column
    for j in range(3):
        t = ad.tree_unflatten(ad.tree_flatten(p)[1],
                              [np.zeros(np.shape(x)) for x in ad.tree_flatten(p)[0]])
        t["w"][j] = 1.0
        np.testing.assert_allclose(jf["h"]["w"][:, j], numerical_jvp(tree_fn, (p,), (t,))["h"],
                                   rtol=1e-7, atol=1e-9)


def test_namedtuple_and_nested_list_inputs():
    from collections import namedtuple
    Point = namedtuple("Point", "a b")
    f = lambda pt: np.sum(pt.a * pt.b)
    x = [np.array([1.0, 2.0]), np.array([3.0, -1.0])]
    g = ad.grad(lambda l: np.sum(l[0] * l[1] ** 2))(x)
    assert isinstance(g, list) and len(g) == 2
    np.testing.assert_allclose(g[0], x[1] ** 2)   # d/da a b^2 is b^2 (elementwise product)
    gp = ad.grad(f)(Point(np.array([1.0, 2.0]), np.array([3.0, -1.0])))
    assert isinstance(gp, Point)        # the structure comes back as it went in
    np.testing.assert_allclose(gp.a, [3.0, -1.0])
    np.testing.assert_allclose(gp.b, [1.0, 2.0])
    out, t = ad.jvp(lambda pt: Point(pt.b, pt.a * 2.0), (gp,), (gp,))
    assert isinstance(out, Point) and isinstance(t, Point)
    np.testing.assert_allclose(t.b, 2.0 * gp.a)


# ---- Jacobians ---------------------------------------------------------------------
def wide(x):            # R^5 -> R^2
    return np.stack([np.sum(np.sin(x) * x), np.prod(x[:3]) + x[4] ** 2])


def tall(x):            # R^2 -> R^6
    return np.concatenate([np.exp(x) * x[::-1], np.tanh(x * x[0]), x ** 3])


def square(x):          # R^4 -> R^4
    return np.cumsum(x ** 2) * np.sin(x[::-1])


@pytest.mark.parametrize("f,n,m", [(wide, 5, 2), (tall, 2, 6), (square, 4, 4)],
                         ids=["wide", "tall", "square"])
def test_jacfwd_equals_jacrev_and_finite_differences(f, n, m):
    x = np.random.default_rng(n).uniform(-1, 1, n)
    Jf = ad.jacfwd(f)(x)
    Jr = ad.jacrev(f)(x)
    assert Jf.shape == (m, n) and Jr.shape == (m, n)
    np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-14)
    for j in range(n):
        np.testing.assert_allclose(Jf[:, j], numerical_jvp(f, (x,), (np.eye(n)[j],)),
                                   rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("f,n", [(wide, 5), (tall, 2), (square, 4)], ids=["wide", "tall", "square"])
def test_jacfwd_chunk_sizes_agree(f, n):
    x = np.random.default_rng(n + 10).uniform(-1, 1, n)
    reference = ad.jacfwd(f)(x)
    for chunk in (1, 3, n, n + 4):
        np.testing.assert_allclose(ad.jacfwd(f, chunk_size=chunk)(x), reference,
                                   rtol=1e-13, atol=1e-15)


def test_jacobians_of_empty_input():
    f = lambda x: np.concatenate([x * 2.0, np.ones(2)])
    for jac in (ad.jacfwd(f), ad.jacfwd(f, chunk_size=3), ad.jacrev(f)):
        J = jac(np.zeros(0))
        assert J.shape == (2, 0)


def test_jacobian_shapes_follow_jax():
    f = lambda A: A.T @ np.sin(A)          # (2, 3) -> (3, 3)
    A = np.arange(6.0).reshape(2, 3) / 4
    Jf = ad.jacfwd(f)(A)
    Jr = ad.jacrev(f)(A)
    assert Jf.shape == (3, 3, 2, 3)
    np.testing.assert_allclose(Jf, Jr, rtol=1e-12, atol=1e-14)
    E = np.zeros((2, 3))
    E[1, 2] = 1.0
    np.testing.assert_allclose(Jf[..., 1, 2], numerical_jvp(f, (A,), (E,)), rtol=1e-7, atol=1e-9)
    # scalar in, vector out and vector in, scalar out
    assert ad.jacfwd(lambda s: np.array([1.0, 2.0]) * s ** 2)(1.5).shape == (2,)
    assert ad.jacrev(lambda s: np.array([1.0, 2.0]) * s ** 2)(1.5).shape == (2,)
    assert ad.jacrev(lambda v: np.sum(v ** 2))(X).shape == (3,)


def test_jacobians_with_argnums_tuple():
    f = lambda a, b: np.outer(a, b).ravel()
    a, b = np.array([1.0, 2.0]), np.array([0.5, -1.0, 3.0])
    jf = ad.jacfwd(f, argnums=(0, 1))(a, b)
    jr = ad.jacrev(f, argnums=(0, 1))(a, b)
    assert isinstance(jf, tuple) and jf[0].shape == (6, 2) and jf[1].shape == (6, 3)
    for u, w in zip(jf, jr):
        np.testing.assert_allclose(u, w, rtol=1e-14)
    np.testing.assert_allclose(jf[1] @ np.ones(3), numerical_jvp(f, (a, b), (np.zeros(2), np.ones(3))),
                               rtol=1e-7)
    np.testing.assert_allclose(ad.jacfwd(f, argnums=1)(a, b), jf[1], rtol=1e-14)


def test_hessian_against_finite_differences_of_grad():
    f = lambda x: np.sum(np.sin(x) * x[::-1]) + np.prod(x) ** 2
    x = np.array([0.4, -0.9, 1.3])
    H = ad.hessian(f)(x)
    assert H.shape == (3, 3)
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-14)
    for j in range(3):
        np.testing.assert_allclose(H[:, j], numerical_jvp(ad.grad(f), (x,), (np.eye(3)[j],),
                                                          eps=1e-5), rtol=1e-6, atol=1e-8)
    for chunk in (1, 2):
        np.testing.assert_allclose(ad.hessian(f, chunk_size=chunk)(x), H, rtol=1e-13, atol=1e-15)


def test_hessian_of_matrix_input_and_argnums():
    f = lambda A, c: np.sum(np.tanh(A @ A)) * c
    A = np.array([[0.3, -0.2], [0.5, 0.1]])
    H = ad.hessian(f)(A, 2.0)
    assert H.shape == (2, 2, 2, 2)
    V = np.array([[1.0, 0.0], [-1.0, 2.0]])
    np.testing.assert_allclose(np.tensordot(H, V, axes=2),
                               ad.hvp(lambda A: f(A, 2.0), A, V), rtol=1e-12, atol=1e-14)
    hc = ad.hessian(f, argnums=1)(A, 2.0)
    assert np.shape(hc) == () and float(hc) == pytest.approx(0.0, abs=1e-14)  # linear in c


# ---- linearize ---------------------------------------------------------------------
def test_linearize_matches_jvp_and_is_reusable():
    f = lambda x, y: np.exp(np.sin(x) * y) / (1.0 + y ** 2)
    out, f_jvp = ad.linearize(f, X, Y)
    np.testing.assert_allclose(out, f(X, Y), rtol=1e-15)
    rng = np.random.default_rng(8)
    for _ in range(3):                                    # called many times
        tx, ty = rng.standard_normal(3), rng.standard_normal(3)
        np.testing.assert_allclose(f_jvp(tx, ty), ad.jvp(f, (X, Y), (tx, ty))[1],
                                   rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(f_jvp(tx, ty), numerical_jvp(f, (X, Y), (tx, ty)),
                                   rtol=1e-7, atol=1e-9)


def test_linearize_batched():
    f = lambda x: np.tanh(x) * np.sum(x ** 2)
    _, f_jvp = ad.linearize(f, X)
    T = np.random.default_rng(9).standard_normal((4, 3))
    batched = f_jvp(T, batched=True)
    assert batched.shape == (4, 3)
    for k in range(4):
        np.testing.assert_allclose(batched[k], ad.jvp(f, (X,), (T[k],))[1], rtol=1e-13, atol=1e-15)
    # a plain call after a batched one still works
    np.testing.assert_allclose(f_jvp(T[0]), batched[0], rtol=1e-13, atol=1e-15)


def test_linearize_does_not_rerun_f():
    calls = []

    def f(x):
        calls.append(1)
        return np.sin(x) * 2.0

    _, f_jvp = ad.linearize(f, X)
    f_jvp(np.ones(3))
    f_jvp(np.ones((2, 3)), batched=True)
    assert len(calls) == 1


# ---- scalars and dtypes ------------------------------------------------------------
def test_python_and_numpy_scalars_are_float64():
    x = 1.0 / 3.0
    for x0 in (x, np.float64(x)):
        g = ad.grad(lambda t: t ** 3)(x0)
        assert np.result_type(g) == np.float64
        assert float(g) == pytest.approx(3.0 * x * x, rel=1e-15)
        y, t = ad.jvp(lambda t: np.exp(t), (x0,), (1.0,))
        assert np.result_type(t) == np.float64
        assert float(t) == pytest.approx(np.exp(x), rel=1e-15)


def test_float32_arrays():
    x32 = np.array([0.3, -1.2, 2.0], dtype=np.float32)
    f = lambda x: np.sum(np.sin(x) * x)
    g = ad.grad(f)(x32)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, ad.grad(f)(x32.astype(np.float64)), rtol=1e-5)
    out, t = ad.jvp(np.sin, (x32,), (np.ones(3, np.float32),))
    assert out.dtype == np.float32 and t.dtype == np.float32
    # a float64 tangent promotes, as NumPy's arithmetic with it would
    out, t = ad.jvp(np.sin, (x32,), (np.ones(3),))
    assert out.dtype == np.float32 and t.dtype == np.float64
    np.testing.assert_allclose(t, np.cos(x32.astype(np.float64)), rtol=1e-6)
    (ct,) = ad.vjp(np.sin, x32)[1](np.ones(3, np.float32))
    assert ct.dtype == np.float32
    (ct,) = ad.vjp(np.sin, x32)[1](np.ones(3))
    assert ct.dtype == np.float64
    assert ad.jacfwd(np.sin)(x32).dtype == np.float32
    assert ad.jacrev(np.sin)(x32).dtype == np.float32


# ---- zeros at the API boundary -------------------------------------------------------
def test_jvp_of_output_independent_of_input_is_real_zeros():
    out, t = ad.jvp(lambda x: (x * 2.0, np.ones((2, 2), np.float32), 3.0), (X,), (np.ones(3),))
    assert isinstance(t[1], np.ndarray) and t[1].shape == (2, 2) and t[1].dtype == np.float32
    assert not np.any(t[1])
    assert np.shape(t[2]) == () and float(t[2]) == 0.0
    _, tb = ad.jvp(lambda x: np.zeros(4), (X,), (np.ones((5, 3)),), batched=True)
    assert tb.shape == (5, 4) and not np.any(tb)


def test_vjp_of_unused_input_is_real_zeros():
    y32 = np.ones((2, 2), np.float32)
    _, pullback = ad.vjp(lambda x, y: np.sin(x), X, y32)
    cx, cy = pullback(np.ones(3))
    assert isinstance(cy, np.ndarray) and cy.shape == (2, 2) and cy.dtype == np.float32
    assert not np.any(cy)
    g = ad.grad(lambda x, y: np.sum(x), argnums=1)(X, 2.0)
    assert np.shape(g) == () and float(g) == 0.0
    g_const = ad.grad(lambda x: 1.5)(X)
    assert g_const.shape == (3,) and not np.any(g_const)


def test_linearize_and_jacobians_of_constant_output_are_zeros():
    _, f_jvp = ad.linearize(lambda x: (x * 2.0, np.ones(2)), X)
    t = f_jvp(np.ones(3))
    assert t[1].shape == (2,) and not np.any(t[1])
    tb = f_jvp(np.ones((4, 3)), batched=True)
    assert tb[1].shape == (4, 2) and not np.any(tb[1])
    for jac in (ad.jacfwd, ad.jacrev):
        J = jac(lambda x: np.ones(2))(X)
        assert J.shape == (2, 3) and not np.any(J)


def test_vjp_cotangent_of_output_not_depending_on_input_is_ignored():
    _, pullback = ad.vjp(lambda x: (np.sum(x ** 2), np.ones(2)), X)
    (a,) = pullback((1.0, np.array([5.0, 7.0])))
    (b,) = pullback((1.0, np.zeros(2)))
    np.testing.assert_array_equal(a, b)


# ---- the user's arrays are never modified ------------------------------------------
def _readonly(a):
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def test_readonly_inputs_work_and_stay_equal():
    x = _readonly([0.4, -0.3, 1.2])
    v = _readonly([1.0, 0.5, -2.0])
    keep_x, keep_v = x.copy(), v.copy()
    f = lambda x: np.sum(np.sin(x) * x ** 2) + x[0] * x[2]
    g = lambda x: np.cumsum(x * x[::-1])
    ad.grad(f)(x)
    ad.value_and_grad(f)(x)
    ad.jvp(g, (x,), (v,))
    ad.jvp(g, (x,), (np.stack([v, v]),), batched=True)
    _, pullback = ad.vjp(g, x)
    pullback(v)
    for mode in ad.HVP_MODES:
        ad.hvp(f, x, v, mode=mode)
    ad.jacfwd(g)(x)
    ad.jacrev(g)(x)
    ad.hessian(f)(x)
    _, f_jvp = ad.linearize(g, x)
    f_jvp(v)
    np.testing.assert_array_equal(x, keep_x)
    np.testing.assert_array_equal(v, keep_v)



def test_results_never_alias_the_callers_tangents_or_cotangents():
    # the derivative of an identity is the given tangent / cotangent itself;
    # updating the result in place must not change the caller's array
    x = np.array([1.0, 2.0])
    t = np.array([3.0, 4.0])
    T = np.array([[3.0, 4.0], [5.0, 6.0]])
    u1, u2 = np.array([5.0, 6.0]), np.array([7.0, 8.0])
    keep = [a.copy() for a in (t, T, u1, u2)]
    _, out_t = ad.jvp(lambda x: x, (x,), (t,))
    _, out_T = ad.jvp(lambda x: x, (x,), (T,), batched=True)
    _, pullback = ad.vjp(lambda a, b: (a, b), x, x)
    ca, cb = pullback((u1, u2))
    _, f_jvp = ad.linearize(lambda x: x, x)
    lin_t = f_jvp(t)
    for result in (out_t, out_T, ca, cb, lin_t):
        result *= 100.0
    for a, k in zip((t, T, u1, u2), keep):
        np.testing.assert_array_equal(a, k)


def test_tune_allocator_reports_whether_it_applied_and_changes_no_result():
    import sys
    x = np.linspace(-1.0, 1.0, 5)
    before = ad.grad(lambda x: np.sum(np.sin(x) ** 2))(x)
    applied = ad.tune_allocator()
    assert isinstance(applied, bool)
    if sys.platform.startswith("linux"):
        import platform
        if platform.libc_ver()[0] == "glibc":
            assert applied
    np.testing.assert_array_equal(ad.grad(lambda x: np.sum(np.sin(x) ** 2))(x), before)
