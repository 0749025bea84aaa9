"""Errors: every misuse is a clear exception, never a silently wrong number."""

import math

import numpy as np
import pytest

import dualad as ad

X = np.array([0.3, -1.2, 2.0])
FLOAT_ADVICE = ("np.where", "np.stack", "np.concatenate")


def suggests_numpy_alternatives(message: str) -> bool:
    return any(s in message for s in FLOAT_ADVICE)


def in_every_transformation(f, x=X):
    """Calls running f under grad, jvp, vjp, hvp and jacfwd (each must raise)."""
    scalar = lambda y: np.sum(f(y))
    return [lambda: ad.grad(scalar)(x),
            lambda: ad.jvp(f, (x,), (np.ones_like(x),)),
            lambda: ad.vjp(f, x),
            lambda: ad.hvp(scalar, x, np.ones_like(x)),
            lambda: ad.jacfwd(f)(x)]


# ---- inputs ----------------------------------------------------------------------
@pytest.mark.parametrize("bad", [2, True, np.int64(3), np.arange(3), np.array([True, False])],
                         ids=["int", "bool", "np.int64", "int-array", "bool-array"])
def test_integer_and_boolean_inputs_are_rejected(bad):
    for call in (lambda: ad.grad(lambda x: np.sum(x * 1.0))(bad),
                 lambda: ad.jvp(lambda x: x * 1.0, (bad,), (np.ones(np.shape(bad)),)),
                 lambda: ad.vjp(lambda x: x * 1.0, bad),
                 lambda: ad.jacfwd(lambda x: x * 1.0)(bad),
                 lambda: ad.jacrev(lambda x: x * 1.0)(bad)):
        with pytest.raises(TypeError, match="float"):
            call()


def test_integer_leaf_inside_a_pytree_is_rejected():
    with pytest.raises(TypeError, match="float"):
        ad.grad(lambda p: np.sum(p["w"]) * p["n"])({"w": X, "n": 3})


def test_non_differentiated_integer_argument_is_fine():
    g = ad.grad(lambda x, n: np.sum(x ** n))(X, 3)
    np.testing.assert_allclose(g, ad.grad(lambda x: np.sum(x ** 3.0))(X), rtol=1e-15)


def test_a_complex_tangent_of_a_real_primal_is_refused():
    with pytest.raises(TypeError, match="complex .* primal is real"):
        ad.jvp(lambda x: x * 2.0, (np.ones(2),), (np.array([1.0 + 1j, 0.0]),))
    y, pullback = ad.vjp(lambda x: x * 2.0, np.ones(2))
    with pytest.raises(TypeError, match="complex .* primal is real"):
        pullback(np.array([1j, 0.0]))


@pytest.mark.parametrize("bad", [1j, np.array([1.0 + 2j, 0.5])], ids=["scalar", "array"])
def test_a_complex_output_needs_holomorphic(bad):
    with pytest.raises(TypeError, match="holomorphic=True"):
        ad.grad(lambda x: np.sum(x * 1.0))(bad)
    with pytest.raises(TypeError, match="holomorphic=True"):
        ad.jacrev(lambda x: x * 1.0)(bad)
    with pytest.raises(TypeError, match="holomorphic=True"):
        ad.jacfwd(lambda x: x * 1.0)(bad)
    with pytest.raises(TypeError, match="complex inputs"):
        ad.grad(lambda x: np.sum(x * 1j), holomorphic=True)(np.ones(2))
    with pytest.raises(TypeError, match="complex output"):
        ad.grad(lambda x: np.sum(np.abs(x)), holomorphic=True)(bad)


def test_string_input_is_rejected():
    with pytest.raises(TypeError):
        ad.grad(lambda x: x)("1.0")


# ---- outputs -----------------------------------------------------------------------
@pytest.mark.parametrize("fn", [lambda x: x ** 2, lambda x: (np.sum(x), np.sum(x)),
                                lambda x: np.sum(x, keepdims=True)],
                         ids=["vector", "tuple", "shape-1"])
def test_grad_of_non_scalar_output(fn):
    for transform in (ad.grad, ad.value_and_grad):
        with pytest.raises(TypeError) as info:
            transform(fn)(X)
        message = str(info.value)
        assert "jacrev" in message and "vjp" in message


def test_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match="aux"):
        ad.grad(lambda x: np.sum(x), has_aux=True)(X)
    with pytest.raises(TypeError, match="aux"):
        ad.vjp(lambda x: (x, x, x), X, has_aux=True)


# ---- tangents and cotangents ----------------------------------------------------------
def test_tangent_of_wrong_shape():
    with pytest.raises(ValueError) as info:
        ad.jvp(np.sin, (X,), (np.ones(2),))
    assert "(2,)" in str(info.value) and "(3,)" in str(info.value)


def test_tangent_of_wrong_structure():
    with pytest.raises(ValueError) as info:
        ad.jvp(lambda x: x, (X,), (np.ones(3), np.ones(3)))
    assert "expected" in str(info.value)
    with pytest.raises(ValueError):
        ad.jvp(lambda p: p["a"], ({"a": X},), ({"b": X},))


def test_batched_tangent_without_batch_axis():
    with pytest.raises(ValueError) as info:
        ad.jvp(np.sin, (X,), (np.ones(3),), batched=True)
    assert "(3,)" in str(info.value)
    with pytest.raises(ValueError, match="directions"):
        ad.jvp(lambda a, b: a * b, (X, X), (np.ones((2, 3)), np.ones((4, 3))), batched=True)


def test_cotangent_of_wrong_shape_or_structure():
    _, pullback = ad.vjp(lambda x: x ** 2, X)
    with pytest.raises(ValueError) as info:
        pullback(np.ones(4))
    assert "(4,)" in str(info.value) and "(3,)" in str(info.value)
    with pytest.raises(ValueError, match="expected"):
        pullback((np.ones(3),))
    _, pullback2 = ad.vjp(lambda x: {"a": x, "b": np.sum(x)}, X)
    with pytest.raises(ValueError):
        pullback2({"a": np.ones(3)})


def test_complex_cotangent_is_rejected():
    _, pullback = ad.vjp(np.sin, X)
    with pytest.raises(TypeError):
        pullback(np.ones(3) * 1j)


def test_linearize_tangents_are_checked():
    _, f_jvp = ad.linearize(lambda a, b: a * np.sum(b), X, np.ones(2))
    with pytest.raises(ValueError) as info:
        f_jvp(np.ones(3), np.ones(5))
    assert "(5,)" in str(info.value) and "(2,)" in str(info.value)
    with pytest.raises(ValueError):
        f_jvp(np.ones(3))
    with pytest.raises(ValueError, match="directions"):
        f_jvp(np.ones((1, 3)), np.ones((4, 2)), batched=True)


def test_primals_must_be_a_tuple():
    with pytest.raises(TypeError, match="tuple"):
        ad.jvp(np.sin, X, (np.ones(3),))
    with pytest.raises(TypeError, match="tuple"):
        ad.jvp(np.sin, (X,), np.ones(3))


# ---- hvp and argnums ----------------------------------------------------------------
def test_unknown_hvp_mode_lists_the_four():
    with pytest.raises(ValueError) as info:
        ad.hvp(lambda x: np.sum(x ** 2), X, X, mode="reverse")
    for mode in ("fwd-over-rev", "rev-over-fwd", "rev-over-rev", "fwd-over-fwd"):
        assert mode in str(info.value)


@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_hvp_direction_of_wrong_shape(mode):
    # rev-over-rev only multiplies by v: without a check, (1,) would broadcast
    with pytest.raises(ValueError) as info:
        ad.hvp(lambda x: np.sum(x ** 3), X, np.ones(1), mode=mode)
    assert "(1,)" in str(info.value) and "(3,)" in str(info.value)
    with pytest.raises(ValueError):
        ad.hvp(lambda x: np.sum(x ** 3), X, [X], mode=mode)


@pytest.mark.parametrize("argnums,error", [
    (3, ValueError), (-4, ValueError), ((0, 5), ValueError), ((), ValueError),
    ((0, 0), ValueError), ((1, -2), ValueError),
    ("0", TypeError), (1.0, TypeError), (True, TypeError), ((0, None), TypeError)])
def test_bad_argnums(argnums, error):
    f = lambda a, b, c: np.sum(a * b) * c
    for transform in (ad.grad, ad.value_and_grad, ad.jacfwd, ad.jacrev):
        with pytest.raises(error):
            transform(f, argnums=argnums)(X, X, 2.0)


def test_bad_chunk_size():
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match="chunk_size"):
            ad.jacfwd(np.sin, chunk_size=bad)(X)
        with pytest.raises(ValueError, match="chunk_size"):
            ad.hessian(lambda x: np.sum(x ** 3), chunk_size=bad)(X)


# ---- NumPy functions without a rule, and escapes from tracing ---------------------
def test_numpy_function_without_rule_is_named():
    for call in in_every_transformation(lambda x: np.intersect1d(x, x)):
        with pytest.raises(TypeError) as info:
            call()
        message = str(info.value)
        assert "intersect1d" in message and "rule" in message


def test_float_of_traced_value():
    for call in in_every_transformation(lambda x: x * float(x[0])):
        with pytest.raises(TypeError) as info:
            call()
        assert suggests_numpy_alternatives(str(info.value))


def test_math_module_on_traced_value():
    for call in in_every_transformation(lambda x: x * math.sin(x[0])):
        with pytest.raises(TypeError) as info:
            call()
        assert suggests_numpy_alternatives(str(info.value))


def _assign_scalar(x):
    a = np.zeros(3)
    a[0] = x[0]
    return a * x


def _assign_slice(x):
    a = np.zeros(3)
    a[:2] = x[:2]
    return a * x


def _asarray(x):
    return np.asarray(x) * 2.0


@pytest.mark.parametrize("f", [_assign_scalar, _assign_slice, _asarray],
                         ids=["a[0]=x[0]", "a[:2]=x[:2]", "np.asarray"])
def test_assigning_traced_value_into_numpy_array(f):
    for call in in_every_transformation(f):
        with pytest.raises(TypeError) as info:
            call()
        assert suggests_numpy_alternatives(str(info.value))


def test_item_assignment_on_traced_value():
    def f(x):
        x[0] = 1.0
        return x

    for call in in_every_transformation(f):
        with pytest.raises(TypeError) as info:
            call()
        assert suggests_numpy_alternatives(str(info.value))


@pytest.mark.parametrize("method", ["reduce", "accumulate", "outer"])
def test_ufunc_methods_on_traced_value(method):
    def f(x):
        if method == "outer":
            return np.add.outer(x, x)
        return getattr(np.add, method)(x)

    for call in in_every_transformation(f):
        with pytest.raises(TypeError) as info:
            call()
        assert method in str(info.value)


def test_ufunc_out_argument_on_traced_value():
    def f(x):
        buf = np.empty(3)
        np.sin(x, out=buf)
        return buf

    with pytest.raises(TypeError, match="out"):
        ad.grad(lambda x: np.sum(f(x)))(X)


# ---- values leaked out of a transformation -------------------------------------------
@pytest.mark.parametrize("leak_with", ["grad", "jvp", "vjp"])
def test_leaked_value_used_later_is_an_error(leak_with):
    stash = []

    def leaky(x):
        stash.append(np.sin(x))
        return np.sum(x ** 2)

    if leak_with == "grad":
        ad.grad(leaky)(X)
    elif leak_with == "jvp":
        ad.jvp(leaky, (X,), (np.ones(3),))
    else:
        ad.vjp(leaky, X)
    leaked = stash[0]
    assert issubclass(ad.LeakedValueError, TypeError)
    with pytest.raises(ad.LeakedValueError):
        leaked * 2.0                                   # plain use afterwards
    with pytest.raises(ad.LeakedValueError):
        np.exp(leaked)
    with pytest.raises(ad.LeakedValueError):           # inside a new transformation
        ad.grad(lambda y: np.sum(leaked * y))(X)
    with pytest.raises(ad.LeakedValueError):
        ad.jvp(lambda y: np.sum(leaked * y), (X,), (np.ones(3),))
    with pytest.raises(ad.LeakedValueError):           # returned as is
        ad.jvp(lambda y: (y, leaked), (X,), (np.ones(3),))
    with pytest.raises(ad.LeakedValueError):
        ad.vjp(lambda y: (y, leaked), X)


def test_outer_traced_value_in_closure_is_not_a_leak():
    # the closure's value belongs to a transformation that is still running
    def outer(x):
        inner = ad.grad(lambda y: np.sum(np.sin(x * y)))(np.ones(3))
        return np.sum(inner)

    g = ad.grad(outer)(X)
    assert g.shape == (3,) and np.all(np.isfinite(g))


@pytest.mark.parametrize("method,hint", [("sort", "np.sort"), ("fill", "np.where"),
                                         ("resize", "np.reshape"), ("put", "np.where")])
def test_in_place_array_methods_raise_a_type_error_with_the_way_out(method, hint):
    def f(x):
        getattr(x, method)(*(() if method in ("sort",) else (1.0,) if method != "put" else (0, 1.0)))
        return np.sum(x)
    x = np.array([3.0, 1.0, 2.0])
    with pytest.raises(TypeError, match="in place") as info:
        ad.grad(f)(x)
    assert hint in str(info.value)
    np.testing.assert_array_equal(x, [3.0, 1.0, 2.0])


def test_round_of_a_traced_scalar_is_a_constant():
    # round() has derivative zero: d/dx [x * round(x)] = round(x) (a.e.)
    assert ad.grad(lambda x: x * round(x))(2.3) == 2.0
    assert ad.jvp(lambda x: x * round(x), (2.3,), (1.0,))[1] == 2.0
