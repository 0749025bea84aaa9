"""dualad.testing: the checker passes on correct derivatives and catches wrong
rules at first and at second order."""

import numpy as np
import pytest

import dualad as ad
from dualad.extend import nondiff
from dualad.testing import check_grads, check_jvp, check_vjp, numerical_jvp

X = np.array([0.3, -1.2, 2.0, 0.7])

# sin with a derivative 1% off: wrong at first order
bad_first = ad.elementwise("bad_first", np.sin, lambda out, x: 1.01 * np.cos(x))
# sin whose derivative is right in value but is not itself differentiable
# (cos is evaluated on raw primals): right at first order, wrong at second
bad_second = ad.elementwise("bad_second", np.sin, lambda out, x: nondiff(np.cos)(x))
# right forward rule, wrong reverse rule: only the dot-product identity sees it
bad_vjp = ad.Primitive("bad_vjp", np.sin,
                       jvp=(lambda t, out, x: t * np.cos(x),),
                       vjp=(lambda g, out, x: g * np.cos(x) * 1.01,))
good_sin = ad.elementwise("good_sin", np.sin, lambda out, x: np.cos(x))


# ---- numerical_jvp, against derivatives known in closed form ----------------------
def test_numerical_jvp_of_sin_is_cos():
    v = np.array([1.0, -0.5, 2.0, 0.25])
    np.testing.assert_allclose(numerical_jvp(np.sin, (X,), (v,)), np.cos(X) * v,
                               rtol=1e-8, atol=1e-10)


def test_numerical_jvp_several_arguments_and_pytrees():
    a, b = np.array([1.0, 2.0]), np.array([0.5, -1.5])
    ta, tb = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    # d(a*b) = ta*b + a*tb
    np.testing.assert_allclose(numerical_jvp(lambda a, b: a * b, (a, b), (ta, tb)),
                               ta * b + a * tb, rtol=1e-8, atol=1e-10)
    # pytree in, pytree out: d exp = exp, d x^2 = 2x
    p = {"u": 0.5, "w": [np.array([1.0, -1.0])]}
    t = {"u": 1.0, "w": [np.array([2.0, 3.0])]}
    out = numerical_jvp(lambda p: (np.exp(p["u"]), p["w"][0] ** 2), (p,), (t,))
    assert isinstance(out, tuple) and len(out) == 2
    assert float(out[0]) == pytest.approx(np.exp(0.5), rel=1e-8)
    np.testing.assert_allclose(out[1], 2.0 * p["w"][0] * t["w"][0], rtol=1e-8)


def test_numerical_jvp_error_shrinks_with_eps():
    x, v = np.array([1.3]), np.array([1.0])
    exact = np.exp(1.3)
    err_big = abs(float(numerical_jvp(np.exp, (x,), (v,), eps=1e-2)[0]) - exact)
    err_small = abs(float(numerical_jvp(np.exp, (x,), (v,), eps=1e-4)[0]) - exact)
    assert err_small < err_big / 100          # central differences: error ~ eps^2


# ---- check_grads passes on correct derivatives -------------------------------------
@pytest.mark.parametrize("f,args", [
    (lambda x: np.sin(x) * x, (X,)),
    (lambda x: np.sum(np.exp(x) * np.tanh(x)), (X,)),
    (lambda a, b: a @ b + np.sum(a ** 2), (np.array([[1.0, 0.5], [-0.3, 2.0]]), np.array([0.4, -0.8]))),
    (lambda p: {"y": p["a"] * np.log1p(p["b"][0] ** 2), "z": [np.cos(p["b"][1])]},
     ({"a": np.array([0.5, 1.5]), "b": (np.array([1.0, -0.2]), 0.3)},)),
    (lambda x: good_sin(x) * x, (X,)),
])
def test_check_grads_passes_on_correct_functions(f, args):
    check_grads(f, args, order=2)
    check_grads(f, args, order=1, modes=("fwd",))
    check_grads(f, args, order=2, modes=("rev",))


@pytest.mark.parametrize("modes", [("fwd", "rev"), ("fwd",), ("rev",)])
def test_check_grads_catches_wrong_first_order_rule(modes):
    with pytest.raises(AssertionError):
        check_grads(lambda x: bad_first(x), (X,), order=1, modes=modes)
    with pytest.raises(AssertionError):
        check_grads(lambda x: bad_first(x), (X,), order=2, modes=modes)


def test_check_jvp_and_check_vjp_each_catch_a_wrong_rule():
    with pytest.raises(AssertionError):
        check_jvp(lambda x: bad_first(x), (X,))
    with pytest.raises(AssertionError):
        check_vjp(lambda x: bad_first(x), (X,))
    check_jvp(lambda x: good_sin(x), (X,))
    check_vjp(lambda x: good_sin(x), (X,))


@pytest.mark.parametrize("modes", [("fwd", "rev"), ("fwd",), ("rev",)])
def test_check_grads_catches_wrong_second_order_rule(modes):
    f = lambda x: bad_second(x) * 2.0
    check_grads(f, (X,), order=1, modes=modes)      # right at first order
    with pytest.raises(AssertionError):
        check_grads(f, (X,), order=2, modes=modes)  # wrong at second


def test_check_grads_catches_reverse_rule_that_disagrees_with_forward():
    f = lambda x: bad_vjp(x)
    check_grads(f, (X,), order=1, modes=("fwd",))
    with pytest.raises(AssertionError):
        check_grads(f, (X,), order=1, modes=("rev",))
    with pytest.raises(AssertionError):
        check_grads(f, (X,), order=1)


def test_check_grads_rejects_unknown_mode():
    with pytest.raises(ValueError):
        check_grads(np.sin, (X,), modes=("forward",))


def test_check_grads_catches_a_cotangent_of_the_wrong_shape():
    # A VJP rule whose cotangent is broadcast to a larger shape would pass the
    # dot-product identity (the inner product broadcasts); the shape check fails it.
    bad = ad.Primitive("bad_shape", lambda x: x * 1.0, jvp=(lambda t, out, x: t,),
                       vjp=(lambda g, out, x: np.broadcast_to(g, (2,) + g.shape) / 2,))
    x = np.array([0.3, -1.2, 2.0])
    with pytest.raises(AssertionError, match="shape"):
        check_grads(bad, (x,), order=1)
