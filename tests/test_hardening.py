"""Hardening: kinks, NaNs, misuse, the user's arrays, threads, scale, checkpoint,
custom primitives.

Complements test_errors.py (the misuse errors of the core API), test_api.py,
test_nesting.py and test_rules.py; the kink table these tests pin is
docs/kinks.md.  Expected values come from the documented conventions worked
out by hand, from NumPy itself, or from finite differences -- never from the
rule under test.
"""

from __future__ import annotations

import gc
import math
import operator
import sys
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import dualad as ad
from dualad import core
from dualad.checkpoint import checkpoint
from dualad.optimize import HessianOperator
from dualad.testing import check_grads, check_jvp, numerical_jvp

X = np.array([0.3, -1.2, 2.0])
ADVICE = ("np.where", "np.stack", "np.concatenate")


def assert_exact(actual, expected, what=""):
    """Equal to rounding, same shape, and no NaN (assert_allclose would let NaN == NaN pass)."""
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert not np.isnan(actual).any(), f"{what}: NaN in {actual}"
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-15, err_msg=what)


def basis(x):
    x = np.asarray(x, dtype=float)
    return [e.reshape(x.shape) for e in np.eye(x.size)]


# =====================================================================================
# 1. The kink table (docs/kinks.md): first derivatives in every mode, and order 2
# =====================================================================================
class Kink:
    """A scalar function at a non-differentiable point of one of its primitives.

    ``grad``: the documented derivative.  ``hessian``: the documented second
    derivative, or None where the table only promises a finite value that is
    the same in every mode.
    """

    def __init__(self, id, f, x, grad, hessian):
        self.id, self.f, self.x = id, f, np.asarray(x, dtype=float)
        self.grad = np.asarray(grad, dtype=float)
        self.hessian = None if hessian is None else np.asarray(hessian, dtype=float)


def _zeros_h(n):
    return np.zeros((n, n))


def _binary_tie_cases():
    cases = []
    for fn in (np.maximum, np.minimum, np.fmax, np.fmin):
        name = fn.__name__
        # a tie with a constant: half the derivative goes to x
        cases.append(Kink(f"{name}-tie-with-constant", lambda x, fn=fn: np.sum(fn(x, 1.0)),
                          [1.0, 1.0], [0.5, 0.5], _zeros_h(2)))
        # a tie between two traced values: half to each
        cases.append(Kink(f"{name}-tie-traced", lambda z, fn=fn: fn(z[0], z[1]),
                          [1.0, 1.0], [0.5, 0.5], _zeros_h(2)))
        # a tie between curved arguments: the second derivative is shared too
        cases.append(Kink(f"{name}-tie-curved", lambda z, fn=fn: fn(z[0] ** 2, z[1]),
                          [1.0, 1.0], [0.5 * 2.0, 0.5], [[0.5 * 2.0, 0.0], [0.0, 0.0]]))
    # NaN: fmax/fmin ignore it (all the derivative to the number), maximum/minimum
    # propagate it (all the derivative to the NaN argument, as to the value)
    for fn, to in ((np.fmax, [0.0, 1.0]), (np.fmin, [0.0, 1.0]),
                   (np.maximum, [1.0, 0.0]), (np.minimum, [1.0, 0.0])):
        cases.append(Kink(f"{fn.__name__}-nan", lambda z, fn=fn: fn(z[0], z[1]),
                          [np.nan, 2.0], to, _zeros_h(2)))
    return cases


KINKS = [
    Kink("abs-at-0", lambda x: np.sum(np.abs(x)), [0.0, -2.0, 3.0], [0.0, -1.0, 1.0], _zeros_h(3)),
    Kink("abs-at-0-curved", lambda x: np.sum(np.abs(x) * x), [0.0, -2.0], [0.0, 4.0],
         [[0.0, 0.0], [0.0, -2.0]]),
    Kink("sign-at-0", lambda x: np.sum(np.sign(x) * (1.0 + x)), [0.0, -2.0, 3.0],
         [0.0, -1.0, 1.0], _zeros_h(3)),
    *_binary_tie_cases(),
    Kink("max-reduction-tie", lambda x: np.max(x), [2.0, 2.0, 1.0], [0.5, 0.5, 0.0], _zeros_h(3)),
    Kink("min-reduction-tie", lambda x: np.min(x), [1.0, 3.0, 1.0], [0.5, 0.0, 0.5], _zeros_h(3)),
    Kink("max-reduction-tie-axis", lambda x: np.sum(np.max(x.reshape(2, 3), axis=1)),
         [3.0, -1.0, 3.0, 2.0, 2.0, 2.0], [0.5, 0.0, 0.5, 1 / 3, 1 / 3, 1 / 3], _zeros_h(6)),
    Kink("min-reduction-tie-keepdims", lambda x: np.sum(np.min(x.reshape(2, 2), axis=0, keepdims=True)),
         [1.0, 0.0, 1.0, 0.0], [0.5, 0.5, 0.5, 0.5], _zeros_h(4)),
    Kink("max-reduction-tie-curved", lambda x: np.max(x ** 2), [2.0, -2.0, 1.0],
         [0.5 * 4.0, 0.5 * -4.0, 0.0], np.diag([0.5 * 2.0, 0.5 * 2.0, 0.0])),
    Kink("clip-at-bounds", lambda x: np.sum(np.clip(x, -1.0, 1.0)), [-1.0, 1.0, 0.0, 2.0, -3.0],
         [1.0, 1.0, 1.0, 0.0, 0.0], _zeros_h(5)),
    Kink("clip-at-bounds-curved", lambda x: np.sum(np.clip(x ** 2, 0.0, 1.0)), [1.0, -1.0],
         [2.0, -2.0], np.diag([2.0, 2.0])),
    # clip(x, lo, hi) with traced bounds: x on a bound -> all to x
    Kink("clip-x-on-lower-traced-bound", lambda z: np.clip(z[0], z[1], z[2]), [1.0, 1.0, 2.0],
         [1.0, 0.0, 0.0], _zeros_h(3)),
    Kink("clip-x-on-upper-traced-bound", lambda z: np.clip(z[0], z[1], z[2]), [2.0, 1.0, 2.0],
         [1.0, 0.0, 0.0], _zeros_h(3)),
    Kink("clip-x-beyond-traced-bound", lambda z: np.clip(z[0], z[1], z[2]), [3.0, 1.0, 2.0],
         [0.0, 0.0, 1.0], _zeros_h(3)),
    # sqrt at 0: the one-sided limits, +inf and -inf; other entries stay finite
    Kink("sqrt-at-0", lambda x: np.sum(np.sqrt(x)), [0.0, 4.0], [np.inf, 0.25],
         [[-np.inf, 0.0], [0.0, -1 / 32]]),
    # where: only the branch taken (here sqrt(-x) is NaN on the other side at x = 1)
    Kink("where-untaken-nan-branch", lambda x: np.sum(np.where(x > 0, x, np.sqrt(-x))),
         [1.0, -4.0], [1.0, -0.25], [[0.0, 0.0], [0.0, -1 / 32]]),
    Kink("where-untaken-sqrt-at-0", lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0)),
         [0.0, 4.0], [0.0, 0.25], [[0.0, 0.0], [0.0, -1 / 32]]),
    Kink("where-untaken-log-at-0", lambda x: np.sum(np.where(x > 0, np.log(x), x)),
         [0.0, 2.0], [1.0, 0.5], [[0.0, 0.0], [0.0, -0.25]]),
    # rounding: derivative 0, also at the jumps (d/dx x*round(x) = round(x))
    *[Kink(f"{fn.__name__}-at-jumps", lambda x, fn=fn: np.sum(fn(x) * x), pts, fn(np.array(pts)),
           _zeros_h(len(pts)))
      for fn, pts in ((np.floor, [1.0, -2.0, 0.0]), (np.ceil, [1.0, -2.0, 0.0]),
                      (np.round, [0.5, 1.5, -2.5]), (np.rint, [0.5, 1.5, -2.5]),
                      (np.trunc, [1.0, -2.0, 0.0]))],
    # remainder: the slope on either side of a jump (d/dx (rem(x, 1) x) = 1 x + rem(x, 1))
    Kink("remainder-at-jumps", lambda x: np.sum(np.remainder(x, 1.0) * x), [1.0, 2.0],
         [1.0, 2.0], np.diag([2.0, 2.0])),
    # prod with zeros: products of the other entries, never 0/0
    Kink("prod-one-zero", lambda x: np.prod(x), [2.0, 0.0, 3.0], [0.0, 6.0, 0.0],
         [[0.0, 3.0, 0.0], [3.0, 0.0, 2.0], [0.0, 2.0, 0.0]]),
    Kink("prod-two-zeros", lambda x: np.prod(x), [2.0, 0.0, 0.0], [0.0, 0.0, 0.0],
         [[0.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 2.0, 0.0]]),
    # 0 ** y: the exponent's derivative 0 ** y * log(0) is taken as 0
    Kink("power-base-0", lambda y: np.sum(np.power(0.0, y)), [2.0, 3.0], [0.0, 0.0], _zeros_h(2)),
    # a subgradient at 0; second order only promised finite and mode-independent
    Kink("norm-at-0", lambda x: np.linalg.norm(x), [0.0, 0.0], [0.0, 0.0], None),
    Kink("norm-axis-zero-row", lambda x: np.sum(np.linalg.norm(x.reshape(2, 2), axis=1)),
         [0.0, 0.0, 3.0, 4.0], [0.0, 0.0, 0.6, 0.8], None),
    Kink("std-of-constant", lambda x: np.std(x), [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], None),
    Kink("std-axis-constant-row", lambda x: np.sum(np.std(x.reshape(2, 3), axis=1)),
         [1.0, 1.0, 1.0, 0.0, 1.0, 2.0],
         [0.0, 0.0, 0.0, -1 / np.sqrt(6), 0.0, 1 / np.sqrt(6)], None),
]


@pytest.mark.parametrize("case", KINKS, ids=[c.id for c in KINKS])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_kink_first_derivative_in_every_mode(case):
    f, x, g = case.f, case.x, case.grad
    assert_exact(ad.grad(f)(x), g, "grad")
    assert_exact(ad.value_and_grad(f)(x)[1], g, "value_and_grad")
    assert_exact(ad.vjp(f, x)[1](1.0)[0], g, "vjp")
    assert_exact(ad.jacrev(f)(x), g, "jacrev")
    assert_exact(ad.jacfwd(f)(x), g, "jacfwd (vector mode)")
    _, f_jvp = ad.linearize(f, x)
    for i, e in enumerate(basis(x)):
        assert_exact(ad.jvp(f, (x,), (e,))[1], g.ravel()[i], f"jvp along e{i}")
        assert_exact(f_jvp(e), g.ravel()[i], f"linearize along e{i}")


@pytest.mark.parametrize("case", KINKS, ids=[c.id for c in KINKS])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_kink_second_derivative_in_every_mode(case):
    f, x = case.f, case.x
    n = x.size
    H = ad.hessian(f)(x).reshape(n, n)
    columns = {mode: np.stack([ad.hvp(f, x, e, mode=mode).ravel() for e in basis(x)], axis=1)
               for mode in ad.HVP_MODES}
    # the operator records f and its backward pass on one tape (dualad.optimize)
    H_op = HessianOperator(f, x)
    columns["HessianOperator"] = np.stack([H_op @ e.ravel() for e in basis(x)], axis=1)
    columns["HessianOperator.matmat"] = H_op @ np.eye(n)
    if case.hessian is not None:
        assert_exact(H, case.hessian, "hessian")
        for mode, Hm in columns.items():
            assert_exact(Hm, case.hessian, f"hvp {mode}")
    else:
        assert np.all(np.isfinite(H)), H
        np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-15)
        for mode, Hm in columns.items():
            assert_exact(Hm, H, f"hvp {mode} vs hessian")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_sqrt_at_zero_with_a_zero_tangent_or_cotangent_is_zero_not_nan():
    # 0 * inf: an exactly zero perturbation contributes nothing (the NaN-safe retry)
    assert_exact(ad.jvp(np.sqrt, (0.0,), (0.0,))[1], 0.0)
    assert_exact(ad.vjp(np.sqrt, 0.0)[1](0.0)[0], 0.0)
    _, f_jvp = ad.linearize(np.sqrt, np.array([0.0, 4.0]))
    assert_exact(f_jvp(np.array([0.0, 1.0])), [0.0, 0.25])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("f", [lambda x: np.sqrt(np.sum(x ** 2)),
                               lambda x: np.sum(np.sqrt(x * x))],
                         ids=["sqrt(sum(x**2))", "sum(sqrt(x*x))"])
def test_zero_times_inf_is_zero_in_reverse_mode_as_in_forward_mode(f):
    # At x = 0 forward mode meets 0 (tangent 2x t) times inf (sqrt'(0)) and the
    # NaN-safe retry makes it 0.  Reverse mode meets the same product the other
    # way round -- cotangent inf times partial 2x = 0 -- and must agree.
    x = np.zeros(2)
    assert_exact(ad.jacfwd(f)(x), np.zeros(2), "jacfwd")
    assert_exact(ad.jvp(f, (x,), (np.ones(2),))[1], 0.0, "jvp")
    assert_exact(ad.grad(f)(x), np.zeros(2), "grad")
    assert_exact(ad.jacrev(f)(x), np.zeros(2), "jacrev")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_sqrt_at_negative_zero_has_the_derivative_of_sqrt_at_zero():
    # -0.0 == 0.0, and sqrt is increasing: its derivative there is +inf, not -inf
    # (np.sqrt(-0.0) is -0.0, so 0.5 / out flips the sign).  The classic place
    # -0.0 arises: sqrt(-x) at x = 0, whose one-sided derivative is -inf.
    for x in (0.0, -0.0):
        assert ad.grad(np.sqrt)(x) == np.inf
        assert ad.jvp(np.sqrt, (x,), (1.0,))[1] == np.inf
    f = lambda x: np.where(x > 0, x, np.sqrt(-x))
    assert ad.grad(f)(0.0) == -np.inf
    assert ad.jvp(f, (0.0,), (1.0,))[1] == -np.inf


# =====================================================================================
# 2. where(x > 0, x, sqrt(-x)) at x = 1 in every mode
# =====================================================================================
def where_sqrt(x):
    return np.where(x > 0, x, np.sqrt(-x))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("x", [1.0, np.array(1.0), np.array([1.0])], ids=["float", "0-d", "1-d"])
def test_where_with_nan_branch_has_derivative_one_in_every_mode(x):
    shape = np.shape(x)
    one = np.ones(shape)
    scalar = lambda y: np.sum(where_sqrt(y))
    assert_exact(ad.jvp(where_sqrt, (x,), (one,))[1], one, "jvp")
    assert_exact(ad.jvp(where_sqrt, (x,), (one[None],), batched=True)[1], one[None], "batched jvp")
    assert_exact(ad.vjp(where_sqrt, x)[1](one)[0], one, "vjp")
    assert_exact(ad.grad(scalar)(x), one, "grad")
    assert_exact(ad.value_and_grad(scalar)(x)[1], one, "value_and_grad")
    assert_exact(ad.linearize(where_sqrt, x)[1](one), one, "linearize")
    assert_exact(ad.jacfwd(where_sqrt)(x), np.ones(shape + shape), "jacfwd")
    assert_exact(ad.jacrev(where_sqrt)(x), np.ones(shape + shape), "jacrev")
    for mode in ad.HVP_MODES:
        assert_exact(ad.hvp(scalar, x, one, mode=mode), np.zeros(shape), f"hvp {mode}")
    assert_exact(ad.hessian(scalar)(x), np.zeros(shape + shape), "hessian")
    assert_exact(HessianOperator(scalar, x) @ one.ravel(), np.zeros(one.size), "HessianOperator")
    # third order, through every pair of nestings
    assert_exact(ad.grad(lambda y: ad.grad(lambda z: ad.grad(scalar)(z) * z)(y))(1.0), 0.0)
    assert_exact(ad.jvp(lambda y: ad.hvp(scalar, y, 1.0, mode="rev-over-fwd"), (1.0,), (1.0,))[1], 0.0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_where_nan_branch_inside_a_larger_function():
    # the retry must fix the whole derivative, not only the where
    def f(x):
        safe = np.where(x > 0, x, np.sqrt(-x))
        return np.sum(np.sin(safe) * x ** 2) + np.prod(np.tanh(x))
    x = np.array([1.0, 0.5, -2.0, 3.0])
    g = ad.grad(f)(x)
    assert np.all(np.isfinite(g))
    # away from the branch switch f is smooth: central differences are exact enough
    for v in basis(x):
        np.testing.assert_allclose(np.dot(g, v), numerical_jvp(f, (x,), (v,)), rtol=1e-6)
    np.testing.assert_allclose(ad.jacfwd(f)(x), g, rtol=1e-12)
    hvs = [ad.hvp(f, x, np.ones(4), mode=m) for m in ad.HVP_MODES]
    for hv in hvs:
        assert np.all(np.isfinite(hv))
        np.testing.assert_allclose(hv, hvs[0], rtol=1e-10, atol=1e-12)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("f,x,v,expected", [
    # x log x: the partial derivative log x is 0 at x = 1, but its derivative 1/x is not
    (lambda x: np.sum(np.where(x > 0, x * np.log(np.abs(x)), 0.0)),
     [1.0, 0.0], [1.0, 0.5], [1.0, 0.0]),
    # x * x taken at 0, where the untaken |x|**1.5 has an infinite second derivative
    (lambda x: np.sum(np.where(x > 0, np.abs(x) ** 1.5, x * x)),
     [0.0, -0.5, 0.25], [1.0, 1.0, 1.0], [2.0, 2.0, 1.5]),
], ids=["x-log-x", "square-beside-power-1.5"])
def test_nan_safe_retry_keeps_second_order_terms(f, x, v, expected):
    """The retry zeroes only 0 × inf and 0 × nan: a product of finite factors
    keeps its derivative, so Hessian-vector products through it are right."""
    x, v = np.array(x), np.array(v)
    for mode in ad.HVP_MODES:
        assert_exact(ad.hvp(f, x, v, mode=mode), expected, f"hvp {mode}")
    assert_exact(HessianOperator(f, x) @ v, expected, "HessianOperator")
    assert_exact(ad.hessian(f)(x) @ v, expected, "hessian")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_nan_that_is_not_zero_times_inf_stays_nan():
    # sqrt(-1) is NaN and so is its derivative: the retry must not hide it
    g = ad.grad(lambda x: np.sum(np.sqrt(x)))(np.array([-1.0, 4.0]))
    assert np.isnan(g[0]) and g[1] == 0.25
    _, t = ad.jvp(np.log, (np.array([-1.0, 1.0]),), (np.ones(2),))
    assert t[1] == 1.0 and not np.isnan(t[1])
    # a NaN input is NaN's problem, not the retry's
    g = ad.grad(lambda x: np.sum(x * x))(np.array([np.nan, 1.0]))
    assert np.isnan(g[0]) and g[1] == 2.0


# =====================================================================================
# 3. Misuse (beyond test_errors.py)
# =====================================================================================
LEAKERS = {
    # transformation -> (run it on a function, the names its error may give)
    "jvp": (lambda f: ad.jvp(f, (X,), (np.ones(3),)), ("jvp",)),
    "vjp": (lambda f: ad.vjp(f, X), ("vjp",)),
    "grad": (lambda f: ad.grad(f)(X), ("grad", "vjp")),
    "linearize": (lambda f: ad.linearize(f, X), ("linearize",)),
    "jacfwd": (lambda f: ad.jacfwd(f)(X), ("jacfwd", "jvp")),
    "jacrev": (lambda f: ad.jacrev(f)(X), ("jacrev", "vjp")),
    "hvp": (lambda f: ad.hvp(f, X, np.ones(3)), ("hvp", "jvp", "vjp", "grad")),
    "hessian": (lambda f: ad.hessian(f)(X), ("hessian", "jvp", "vjp")),
}


@pytest.mark.parametrize("name", list(LEAKERS))
def test_leaked_value_error_names_its_transformation_and_the_way_out(name):
    run, origins = LEAKERS[name]
    stash = []

    def leaky(x):
        stash.append(x * 2.0)
        return np.sum(x ** 2)

    run(leaky)
    for use in (lambda v: v + 1.0, lambda v: v[0], lambda v: np.sum(v), lambda v: np.exp(v),
                lambda v: ad.grad(lambda y: np.sum(y * v))(X),       # closed over in a new grad
                lambda v: ad.grad(lambda y: np.sum(y * y))(v),       # as the input of a new grad
                lambda v: ad.jvp(lambda y: y, (v,), (np.ones(3),))):  # returned unchanged
        with pytest.raises(ad.LeakedValueError) as info:
            use(stash[-1])
        message = str(info.value)
        assert any(o in message for o in origins), message
        assert "already returned" in message
        assert "argument" in message             # the way out: pass it as an argument


def test_value_leaked_from_an_inner_transformation_into_the_outer_one():
    # the inner grad has returned; its box still wraps the outer grad's value
    def outer(x):
        stash = []

        def inner(y):
            stash.append(y * x)
            return np.sum(y * x)
        ad.grad(inner)(x)
        return np.sum(stash[0])

    for transform in (lambda: ad.grad(outer)(X), lambda: ad.jvp(outer, (X,), (np.ones(3),))):
        with pytest.raises(ad.LeakedValueError):
            transform()


def test_a_transformation_that_raised_leaves_nothing_behind():
    stash = []

    def bad(x):
        y = np.sin(x)
        stash.append(y)
        return y * float(x[0])               # raises TypeError

    with pytest.raises(TypeError):
        ad.grad(lambda x: np.sum(bad(x)))(X)
    with pytest.raises(ad.LeakedValueError):  # the box made before the error is dead
        stash[0] * 2.0
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(np.sin(x)))(X), np.cos(X), rtol=1e-15)


def _out_pair(x):
    return (x, np.sum(x))


def _out_dict(x):
    return {"a": x, "b": np.sum(x)}


@pytest.mark.parametrize("f,cotangent,expected_text", [
    (_out_pair, [X, 1.0], "(*, *,)"),                     # list for a tuple
    (_out_pair, (X,), "(*, *,)"),                          # a leaf missing
    (_out_pair, (X, 1.0, 1.0), "(*, *,)"),                 # a leaf too many
    (_out_pair, (X, (1.0,)), "(*, *,)"),                   # nested where a leaf is
    (_out_pair, (None, 1.0), "(*, *,)"),                   # None for a leaf
    (_out_pair, X, "(*, *,)"),                             # one array for a pair
    (_out_dict, {"a": X, "c": 1.0}, "'b'"),                # wrong key
    (_out_dict, {"a": X, "b": 1.0, "c": 1.0}, "'b'"),      # extra key
    (_out_dict, (X, 1.0), "'a'"),                          # tuple for a dict
    (lambda x: np.sum(x), (1.0,), "expected *,"),          # tuple for a scalar
], ids=["list-for-tuple", "missing", "extra", "nested", "none", "array-for-pair", "wrong-key",
        "extra-key", "tuple-for-dict", "tuple-for-scalar"])
def test_cotangent_of_wrong_structure_shows_expected_and_got(f, cotangent, expected_text):
    _, pullback = ad.vjp(f, X)
    with pytest.raises(ValueError) as info:
        pullback(cotangent)
    message = str(info.value)
    assert "expected" in message and expected_text in message, message
    got = ad.tree_flatten(cotangent)[1]
    assert repr(got) in message, message                  # what was given is shown too


@pytest.mark.parametrize("cotangent", [1.0, np.ones((1, 3)), np.ones(4), np.ones((3, 1))],
                         ids=["scalar", "(1,3)", "(4,)", "(3,1)"])
def test_cotangent_is_never_broadcast(cotangent):
    # a cotangent that NumPy could broadcast to (3,) is still the wrong shape
    _, pullback = ad.vjp(lambda x: x * 2.0, X)
    with pytest.raises(ValueError) as info:
        pullback(cotangent)
    assert str(np.shape(cotangent)) in str(info.value) and "(3,)" in str(info.value)


def _assert_refused_everywhere(f, x, word):
    """f raises TypeError under every transformation, with advice and ``word``."""
    for name, call in _transformations(f, x).items():
        with pytest.raises(TypeError) as info:
            call()
        message = str(info.value)
        assert any(a in message for a in ADVICE), (name, message)
        assert word in message, (name, message)


def _transformations(f, x):
    """f (vector to vector) run under every transformation that traces it."""
    scalar = lambda y: np.sum(f(y))
    v = np.ones_like(x)
    return {"grad": lambda: ad.grad(scalar)(x),
            "jvp": lambda: ad.jvp(f, (x,), (v,)),
            "vjp": lambda: ad.vjp(f, x),
            "linearize": lambda: ad.linearize(f, x),
            "jacfwd": lambda: ad.jacfwd(f)(x),
            "jacrev": lambda: ad.jacrev(f)(x),
            "hvp-fwd-over-rev": lambda: ad.hvp(scalar, x, v),
            "hvp-rev-over-fwd": lambda: ad.hvp(scalar, x, v, mode="rev-over-fwd"),
            "grad-of-jvp": lambda: ad.grad(lambda y: np.sum(ad.jvp(f, (y,), (v,))[1]))(x)}


def _readonly(a):
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _setitem_int(x):
    x[0] = 1.0
    return x


def _setitem_slice(x):
    x[1:] = 0.0
    return x


def _setitem_mask(x):
    x[x > 0] = 0.0
    return x


def _setitem_ellipsis(x):
    x[...] = np.sin(x)
    return x


def _setitem_augmented(x):
    x[0] += 1.0
    return x


@pytest.mark.parametrize("f", [_setitem_int, _setitem_slice, _setitem_mask, _setitem_ellipsis,
                               _setitem_augmented],
                         ids=["x[0]=", "x[1:]=", "x[mask]=", "x[...]=", "x[0]+="])
def test_setitem_on_traced_value_in_every_transformation(f):
    x = _readonly(X)
    _assert_refused_everywhere(f, x, "assignment")
    np.testing.assert_array_equal(x, X)


def test_augmented_assignment_on_a_traced_value_rebinds_and_is_differentiated():
    # x += 1 (not x[i] += 1) makes a new value, as for immutable arrays: fine
    def f(x):
        y = x * 1.0
        y += 1.0
        y *= x
        return np.sum(y)
    np.testing.assert_allclose(ad.grad(f)(X), 2 * X + 1, rtol=1e-15)
    np.testing.assert_allclose(ad.jvp(f, (X,), (np.ones(3),))[1], np.sum(2 * X + 1), rtol=1e-15)


CONVERSIONS = {
    "int()": lambda x: x * int(x[0]),
    "float()-0d": lambda x: x * float(np.sum(x)),
    "complex()": lambda x: x * complex(x[0]).real,
    ".item()": lambda x: x * x[0].item(),
    ".tolist()": lambda x: x * x.tolist()[0],
    "operator.index": lambda x: x * operator.index(x[0]),
    "range()": lambda x: x * len(range(x[0])),
    "math.exp": lambda x: x * math.exp(x[0]),
    "math.log": lambda x: x * math.log(x[2]),
    "math.sqrt": lambda x: x * math.sqrt(x[2]),
    "math.floor": lambda x: x * math.floor(x[0]),
    "math.fsum": lambda x: x * math.fsum(x),
    "math.isclose": lambda x: x * math.isclose(x[0], 0.3),
    "np.float64()": lambda x: x * np.float64(x[0]),
    "np.array(list)": lambda x: x * np.array([x[0], 1.0]).sum(),
}


@pytest.mark.parametrize("name", list(CONVERSIONS))
def test_conversion_of_traced_value_in_every_transformation(name):
    _assert_refused_everywhere(CONVERSIONS[name], X, "derivative")


# =====================================================================================
# The user's arrays are never modified; results are the caller's own fresh arrays
# =====================================================================================
def _pytree_loss(p, scale):
    w, b = p["w"], p["b"]
    h = np.tanh(w @ b[0] + b[1])               # broadcasting
    i = np.array([0, 0, 1, 2, 2])               # repeated indices: scatter-add
    return np.sum(h[i] * h[i]) + np.sum(w) * scale + np.max(h) + np.sum(b[0] + b[0])


def _readonly_tree(tree):
    leaves, td = ad.tree_flatten(tree)
    return ad.tree_unflatten(td, [_readonly(l) for l in leaves])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_readonly_inputs_tangents_and_cotangents_in_every_transformation():
    rng = np.random.default_rng(0)
    p = {"w": rng.standard_normal((3, 2)), "b": (rng.standard_normal(2), rng.standard_normal(3))}
    v = {"w": rng.standard_normal((3, 2)), "b": (rng.standard_normal(2), rng.standard_normal(3))}
    p, v = _readonly_tree(p), _readonly_tree(v)
    kept = [l.copy() for l in ad.tree_flatten((p, v))[0]]
    scale = _readonly(2.5)
    loss = lambda q: _pytree_loss(q, scale)
    vec = lambda q: np.where(q["w"] > 0, q["w"], np.sqrt(-q["w"])) * q["b"][0]  # NaN-safe retry
    u = _readonly(np.ones((3, 2)))
    ad.grad(_pytree_loss, argnums=(0, 1))(p, scale)
    ad.value_and_grad(loss)(p)
    ad.jvp(loss, (p,), (v,))
    ad.jvp(vec, (p,), (v,))
    _, pullback = ad.vjp(vec, p)
    pullback(u)
    pullback(u)
    for mode in ad.HVP_MODES:
        ad.hvp(loss, p, v, mode=mode)
    ad.jacfwd(vec)(p)
    ad.jacrev(vec)(p)
    ad.hessian(lambda w: _pytree_loss({"w": w, "b": p["b"]}, scale))(p["w"])
    _, f_jvp = ad.linearize(vec, p)
    f_jvp(v)
    ad.grad(lambda q: np.sum(checkpoint(vec)(q)))(p)
    for a, k in zip(ad.tree_flatten((p, v))[0], kept):
        np.testing.assert_array_equal(a, k)
    np.testing.assert_array_equal(u, np.ones((3, 2)))
    assert scale == 2.5


VIEWS = {
    "reshape": lambda x: x.reshape(3, 1),
    "transpose": lambda x: x[None].T,
    "index": lambda x: x[None],
    "flip": lambda x: x[::-1],
    "squeeze": lambda x: np.squeeze(x[None]),
    "moveaxis": lambda x: np.moveaxis(x[None], 0, 1),
    "concatenate": lambda x: np.concatenate([x]),
    "sum": lambda x: np.sum(x),
    "mean": lambda x: np.mean(x),
    "broadcast": lambda x: x + np.zeros((2, 3)),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_results_are_fresh_writable_arrays_never_views_of_the_callers(name):
    """A derivative is the caller's own array: updating it in place (g *= lr,
    g[mask] = 0) works, and changes neither the caller's tangent, cotangent or
    input nor the next result of the same pullback."""
    f = VIEWS[name]
    x = np.array(X)
    out = f(x)
    t = np.array([1.0, -2.0, 0.5])
    u = np.ones(np.shape(out)) * 3.0
    given = (x, t, u)
    _, pullback = ad.vjp(f, x)
    _, f_jvp = ad.linearize(f, x)
    results = {
        "jvp": ad.jvp(f, (x,), (t,))[1],
        "batched jvp": ad.jvp(f, (x,), (t[None],), batched=True)[1],
        "pullback": pullback(u)[0],
        "linearize": f_jvp(t),
        "grad": ad.grad(lambda y: np.sum(f(y)))(x),
        "jacfwd": ad.jacfwd(f)(x),
        "jacrev": ad.jacrev(f)(x),
    }
    first = pullback(u)[0].copy()
    for what, r in results.items():
        assert isinstance(r, np.ndarray) or np.ndim(r) == 0, what
        for a in given:
            assert not np.shares_memory(r, a), f"{what} is a view of the caller's array"
        if isinstance(r, np.ndarray):
            assert r.flags.writeable, f"{what} is read-only"
            r *= 100.0
    np.testing.assert_array_equal(x, X)
    np.testing.assert_array_equal(t, [1.0, -2.0, 0.5])
    np.testing.assert_array_equal(u, np.ones(np.shape(out)) * 3.0)
    np.testing.assert_array_equal(pullback(u)[0], first)


def test_changing_a_returned_value_never_changes_later_derivatives():
    """Values handed back while a tape lives on (vjp's and linearize's output,
    a HessianOperator's gradient) are the caller's own: changing them in place
    leaves the pullback, the linearization and the products alone."""
    x = np.array([0.1, 0.2, 0.3])
    u = np.array([1.0, -1.0, 2.0])
    y, pullback = ad.vjp(np.exp, x)
    y[:] = 0.0
    np.testing.assert_allclose(pullback(u)[0], u * np.exp(x), rtol=1e-15)
    y, f_jvp = ad.linearize(np.exp, x)
    y[:] = 0.0
    np.testing.assert_allclose(f_jvp(u), u * np.exp(x), rtol=1e-15)
    def with_aux(z):
        e = np.exp(z)  # exp's derivative formula reads e
        return e * 2.0, e
    y, pullback, aux = ad.vjp(with_aux, x, has_aux=True)
    aux[:] = 0.0
    np.testing.assert_allclose(pullback(u)[0], 2.0 * u * np.exp(x), rtol=1e-15)
    f = lambda z: np.sum(np.exp(z))  # its gradient is exp's recorded output
    for mode in ("fwd-over-rev", "rev-over-rev"):
        H = HessianOperator(f, x, mode=mode)
        H.grad *= -1.0
        np.testing.assert_allclose(H @ u, u * np.exp(x), rtol=1e-15, err_msg=mode)
    y0 = np.array([1.0, 2.0, 3.0])
    out, _ = ad.jvp(lambda a: ad.grad(lambda b: np.sum(a * b))(y0), (x,), (u,))
    assert out is not x and not np.shares_memory(out, x)
    out, _ = ad.jvp(lambda a: a, (x,), (u,))
    assert out is not x


def test_mixed_precision_gradient_is_summed_as_numpy_would():
    """float32 inside, float64 outside: every mode and the one-tape recording
    of dualad.optimize give the same float64 gradient and HVP."""
    def f(x):
        y = x.astype(np.float32)
        return np.float64(1.0) * (np.sum(np.exp(y)) + np.sum(np.sin(y)))
    x, v = np.linspace(0.1, 1.0, 5), np.ones(5)
    g = ad.grad(f)(x)
    assert g.dtype == np.float64
    primal_of_hvp, hv = ad.jvp(ad.grad(f), (x,), (v,))
    np.testing.assert_array_equal(primal_of_hvp, g)
    H = HessianOperator(f, x)
    np.testing.assert_array_equal(H.grad, g)
    np.testing.assert_array_equal(H @ v, hv)
    np.testing.assert_allclose(hv, ad.hvp(f, x, v, mode="rev-over-fwd"), rtol=1e-6)


# =====================================================================================
# 4. Threads and re-entrancy
# =====================================================================================
def _task(i):
    """Task i: a different function, input and transformation for each i."""
    rng = np.random.default_rng(i)
    x = rng.uniform(-1.0, 1.0, 3 + i % 4)
    v = rng.standard_normal(x.shape)
    kind = i % 8
    if kind == 0:
        return ad.grad(lambda y: np.sum(np.tanh(y) ** 2 * np.sin(y * i)))(x)
    if kind == 1:                                           # the NaN-safe retry
        return ad.grad(lambda y: np.sum(np.where(y > 0, y, np.sqrt(-y)) * y))(np.abs(x) + 0.1)
    if kind == 2:
        return ad.hvp(lambda y: np.sum(np.exp(y) * y ** 3), x, v, mode=ad.HVP_MODES[i % 4])
    if kind == 3:
        return ad.jacfwd(lambda y: np.cumsum(y * y[::-1]))(x)
    if kind == 4:                                           # perturbation confusion
        return ad.grad(lambda y: np.sum(y * ad.grad(lambda z: np.sum(y * z + z * z))(y)))(x)
    if kind == 5:
        seg = checkpoint(lambda y: np.sin(y) * 1.01 + 0.5 * y)
        return ad.grad(lambda y: np.sum(seg(seg(y)) ** 2))(x)
    if kind == 6:
        return ad.hessian(lambda y: np.max(np.round(y * 2) * y) + np.linalg.norm(y))(x)
    _, f_jvp = ad.linearize(lambda y: np.sin(y) * np.sum(y), x)
    return f_jvp(v)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_concurrent_gradients_equal_serial_ones():
    tasks = range(400)                                      # 8 workers x 50 tasks
    serial = [_task(i) for i in tasks]
    # a task takes well under the GIL's 5 ms switch interval: switch far more
    # often, so that threads really interleave inside their transformations
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            parallel = list(pool.map(_task, tasks))
    finally:
        sys.setswitchinterval(interval)
    for i, (a, b) in enumerate(zip(serial, parallel)):
        np.testing.assert_array_equal(a, b, err_msg=f"task {i}")
        assert np.all(np.isfinite(a)), f"task {i}"


def test_nested_transformations_interleaved_across_threads():
    """All threads are inside their inner transformation at the same time
    (a barrier inside the traced function): no level or tape is shared."""
    n = 8
    barrier = threading.Barrier(n, timeout=60)

    def work(k):
        c = 1.0 + k

        def inner(y, x):
            barrier.wait()
            return x * y + c * y * y

        def outer(x):  # d/dx [x * d/dy (x y + c y^2) at y = x] = d/dx [x (x + 2 c x)] = 2 x (1 + 2 c)
            return x * ad.grad(inner)(x, x)
        return ad.grad(outer)(0.5 * k), ad.jvp(outer, (0.5 * k,), (1.0,))[1]

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = list(pool.map(work, range(n)))
    for k, (g, t) in enumerate(results):
        expected = 2 * (0.5 * k) * (1 + 2 * (1.0 + k))
        assert g == pytest.approx(expected, rel=1e-14)
        assert t == pytest.approx(expected, rel=1e-14)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_safe_switch_is_per_thread():
    """While one thread recomputes a derivative in NaN-safe mode, another
    thread's derivatives run in the ordinary mode (core.STATE is per thread)."""
    entered, release = threading.Event(), threading.Event()

    def blocking_vjp(g, out, x):
        if core.STATE.nan_safe:                             # only in thread A's retry
            entered.set()
            assert release.wait(60)
        return g * np.cos(x)
    blocking_sin = ad.Primitive("blocking_sin", np.sin, vjp=(blocking_vjp,))
    seen = []
    probe = ad.Primitive("probe", lambda x: x * 1.0,
                         vjp=(lambda g, out, x: (seen.append(core.STATE.nan_safe), g)[1],))
    x = np.array([1.0, 2.0])
    with ThreadPoolExecutor(max_workers=1) as pool:
        with np.errstate(invalid="ignore"):
            future = pool.submit(ad.grad(lambda y: np.sum(where_sqrt(y) + blocking_sin(y))), x)
            try:
                assert entered.wait(60)
                assert core.STATE.nan_safe is False
                g = ad.grad(lambda y: np.sum(probe(y) ** 2))(x)
            finally:
                release.set()
            g_a = future.result(timeout=60)
    assert seen == [False]
    np.testing.assert_array_equal(g, 2 * x)
    np.testing.assert_allclose(g_a, 1 + np.cos(x), rtol=1e-15)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pullback_called_twice_and_from_many_threads_gives_the_same_answer():
    def f(x):
        h = np.tanh(x)
        i = np.array([0, 1, 1, 2, 0])                     # accumulation in place
        return np.sum(h[i] * h[i]) * h + where_sqrt(x) + np.max(x)
    x = np.array([0.5, 0.5, -2.0])
    _, pullback = ad.vjp(f, x)
    u = np.array([1.0, -2.0, 0.5])
    (first,) = pullback(u)
    assert np.all(np.isfinite(first))
    (second,) = pullback(u)
    np.testing.assert_array_equal(second, first)
    _, f_jvp = ad.linearize(f, x)
    t0 = f_jvp(u)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            many = list(pool.map(lambda _: pullback(u)[0], range(64)))
            # and a linearized map likewise (its cache fills on first use)
            _, fresh = ad.linearize(f, x)
            tangents = list(pool.map(lambda _: fresh(u), range(64)))
    finally:
        sys.setswitchinterval(interval)
    for r in many:
        np.testing.assert_array_equal(r, first)
    for t in tangents:
        np.testing.assert_array_equal(t, t0)


# =====================================================================================
# 5. Scale
# =====================================================================================
def _linear_chain(y, steps, a, c):
    for _ in range(steps):
        y = y * a + c                                     # 2 primitives per step
    return np.sum(y)


def test_a_million_operation_tape_completes():
    steps, a = 500_000, 1.0 - 1e-6                        # 10^6 primitives + the sum
    x = np.array([0.1, 0.5, -0.3])
    g = ad.grad(lambda y: _linear_chain(y, steps, a, 1e-7))(x)
    # d y_n / d y_0 = a^n exactly; the tape multiplies the same factors
    np.testing.assert_allclose(g, np.full(3, a ** steps), rtol=1e-9)


def test_tape_memory_is_released_when_the_pullback_is_dropped():
    steps = 50_000                                        # 10^5 primitives
    x = np.array([0.1, 0.5, -0.3])
    f = lambda y: _linear_chain(y, steps, 0.999999, 1e-7)
    short = lambda y: _linear_chain(y, steps // 10, 0.999999, 1e-7)
    ad.grad(short)(x)                                     # warm up caches of NumPy / dualad
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        _, pullback = ad.vjp(f, x)
        held = tracemalloc.get_traced_memory()[0] - base
        (g,) = pullback(1.0)
        del pullback
        gc.collect()
        left = tracemalloc.get_traced_memory()[0] - base
        ad.grad(short)(x)                                 # grad drops its tape by itself
        gc.collect()
        left_after_grad = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert held > 2 * steps * 100                         # the tape really held the values
    assert left < held / 100, (held, left)
    assert left_after_grad < held / 100, (held, left_after_grad)
    assert np.all(np.isfinite(g))


# =====================================================================================
# 6. checkpoint
# =====================================================================================
def _segment(y, w):
    for _ in range(4):
        y = np.tanh(y * w) + 0.1 * y ** 2
    return y


def _two_segments(seg):
    return lambda y, w: np.sum(seg(seg(y, w), w) ** 2)


W = np.array([1.1, 0.9, -0.7])


def test_checkpoint_passes_check_grads_at_order_2():
    check_grads(checkpoint(_segment), (X * 0.5, W), order=2)
    check_grads(_two_segments(checkpoint(_segment)), (X * 0.5, W), order=2)


def test_checkpoint_equals_the_unchecked_function_in_every_mode():
    plain, ckpt = _two_segments(_segment), _two_segments(checkpoint(_segment))
    x, v = X * 0.5, np.array([0.3, -1.0, 0.2])
    close = dict(rtol=1e-12, atol=1e-14)
    assert ckpt(x, W) == plain(x, W)
    for argnums in (0, 1):
        np.testing.assert_allclose(ad.grad(ckpt, argnums)(x, W), ad.grad(plain, argnums)(x, W),
                                   **close)
    for a, b in zip(ad.grad(ckpt, (0, 1))(x, W), ad.grad(plain, (0, 1))(x, W)):
        np.testing.assert_allclose(a, b, **close)
    np.testing.assert_allclose(ad.jvp(ckpt, (x, W), (v, v))[1], ad.jvp(plain, (x, W), (v, v))[1], **close)
    for mode in ad.HVP_MODES:
        np.testing.assert_allclose(ad.hvp(lambda y: ckpt(y, W), x, v, mode=mode),
                                   ad.hvp(lambda y: plain(y, W), x, v, mode=mode), **close)
    np.testing.assert_allclose(ad.hessian(ckpt)(x, W), ad.hessian(plain)(x, W), **close)
    seg_c, seg_p = checkpoint(_segment), _segment
    np.testing.assert_allclose(ad.jacfwd(seg_c)(x, W), ad.jacfwd(seg_p)(x, W), **close)
    np.testing.assert_allclose(ad.jacrev(seg_c)(x, W), ad.jacrev(seg_p)(x, W), **close)
    _, lin_c = ad.linearize(seg_c, x, W)
    _, lin_p = ad.linearize(seg_p, x, W)
    np.testing.assert_allclose(lin_c(v, v), lin_p(v, v), **close)
    V = np.stack([v, -v, 2 * v])
    np.testing.assert_allclose(lin_c(V, V, batched=True), lin_p(V, V, batched=True), **close)


def test_checkpoint_nested_pytrees_and_constant_arguments():
    inner = checkpoint(lambda y: np.sin(y) * y)

    @checkpoint
    def block(p, n, idx):              # n: int and idx: index array are constants
        h = inner(p["u"]) * n + p["v"][idx]
        return {"h": h, "s": (np.sum(h), p["v"])}

    def f(u, v):
        out = block({"u": u, "v": v}, 3, np.array([2, 0, 1]))
        return out["h"] * out["s"][0] + out["s"][1]

    def plain(u, v):
        h = np.sin(u) * u * 3 + v[np.array([2, 0, 1])]
        return h * np.sum(h) + v

    check_grads(f, (X * 0.5, W), order=2)
    for argnums in (0, 1):
        np.testing.assert_allclose(ad.jacrev(f, argnums)(X, W), ad.jacrev(plain, argnums)(X, W),
                                   rtol=1e-12, atol=1e-14)


def test_checkpoint_recomputes_instead_of_storing():
    calls = []

    def seg(y):
        calls.append(1)
        for _ in range(50):
            y = np.sin(y) * 0.9 + 0.1 * y
        return y

    f_plain = lambda y: np.sum(seg(seg(y)))
    f_ckpt = lambda y: np.sum(checkpoint(seg)(checkpoint(seg)(y)))
    x = np.linspace(-1.0, 1.0, 5_000)

    def held_after_recording(f):
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            _, pullback = ad.vjp(f, x)
            held = tracemalloc.get_traced_memory()[0] - base
            return held, pullback
        finally:
            tracemalloc.stop()

    held_plain, pb_plain = held_after_recording(f_plain)
    calls.clear()
    held_ckpt, pb_ckpt = held_after_recording(f_ckpt)
    assert len(calls) == 2                                   # the forward pass, once each
    np.testing.assert_allclose(pb_ckpt(1.0)[0], pb_plain(1.0)[0], rtol=1e-12)
    assert len(calls) == 4                                   # recomputed in the backward pass
    # 200 values of 5,000 floats on the plain tape, ~4 with checkpoints
    assert held_ckpt < held_plain / 10, (held_ckpt, held_plain)


def test_checkpoint_refuses_a_closure_over_a_traced_value():
    def f(w):
        scaled = checkpoint(lambda y: y * w)                 # w is traced, not an argument
        return np.sum(scaled(w))
    with pytest.raises(TypeError) as info:
        ad.grad(f)(W)
    assert "argument" in str(info.value)
    # passing it as an argument is the way out
    g = ad.grad(lambda w: np.sum(checkpoint(lambda y, w: y * w)(w, w)))(W)
    np.testing.assert_allclose(g, 2 * W, rtol=1e-15)
    # a closure over a constant, or over a traced value with raw arguments, is fine
    g = ad.grad(lambda w: np.sum(checkpoint(lambda y: y * W)(w)))(W)
    np.testing.assert_allclose(g, W, rtol=1e-15)
    g = ad.grad(lambda w: np.sum(checkpoint(lambda y: y * w)(X)))(W)
    np.testing.assert_allclose(g, X, rtol=1e-15)


def test_checkpoint_of_plain_values_is_the_function():
    seg = checkpoint(_segment)
    np.testing.assert_array_equal(seg(X, W), _segment(X, W))


# =====================================================================================
# 8. Custom primitives: a wrong rule is caught; a one-sided declaration derives the other
# =====================================================================================
def _cumsum_sq_vjp(g, out, x):
    return 2 * x * np.flip(np.cumsum(np.flip(g, axis=-1), axis=-1), axis=-1)


VJP_ONLY = {
    "sin": (ad.Primitive("sin_vjp_only", np.sin, vjp=(lambda g, out, x: g * np.cos(x),)),
            (X,)),
    "cumsum_sq": (ad.Primitive("cumsum_sq_vjp_only", lambda x: np.cumsum(x * x),
                               vjp=(_cumsum_sq_vjp,)), (X,)),
    "matvec": (ad.Primitive("matvec_vjp_only", lambda a, b: a @ b,
                            vjp=lambda g, out, a, b: (g[..., :, None] * b, a.T @ g)),
               (np.arange(6.0).reshape(2, 3) / 5, X)),
    "elementwise-broadcast": (ad.Primitive("mul_vjp_only", lambda a, b: a * b, elementwise=True,
                                           vjp=(lambda g, out, a, b: g * b,
                                                lambda g, out, a, b: g * a)),
                              (X, np.array([1.5]))),
}


@pytest.mark.parametrize("name", list(VJP_ONLY))
def test_vjp_only_primitive_derives_forward_mode(name):
    prim, args = VJP_ONLY[name]
    rng = np.random.default_rng(3)
    tangents = tuple(rng.standard_normal(np.shape(a)) for a in args)
    _, t = ad.jvp(prim, args, tangents)
    assert np.any(t != 0)                                    # never a silent zero tangent
    np.testing.assert_allclose(t, numerical_jvp(prim, args, tangents), rtol=1e-6, atol=1e-8)
    check_grads(prim, args, order=2)
    # vector mode (jacfwd, hessian) agrees with reverse mode
    argnums = tuple(range(len(args)))
    for a, b in zip(ad.jacfwd(prim, argnums)(*args), ad.jacrev(prim, argnums)(*args)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    scalar = lambda *xs: np.sum(np.sin(prim(*xs)))
    H = ad.hessian(scalar)(*args)
    np.testing.assert_allclose(H, ad.jacrev(ad.jacrev(scalar))(*args), rtol=1e-10, atol=1e-12)


def test_jvp_only_primitive_derives_reverse_mode():
    prim = ad.Primitive("cumsum_sq_jvp_only", lambda x: np.cumsum(x * x),
                        jvp=(lambda t, out, x: np.cumsum(2 * x * t, axis=-1),))
    _, pullback = ad.vjp(prim, X)
    u = np.array([0.5, -1.0, 2.0])
    (c,) = pullback(u)
    assert np.any(c != 0)
    # <u, J v> = <J^T u, v> with J v from finite differences
    for v in basis(X):
        assert np.dot(c, v) == pytest.approx(np.dot(u, numerical_jvp(prim, (X,), (v,))), rel=1e-6)
    check_grads(prim, (X,), order=2)
    np.testing.assert_allclose(ad.jacrev(prim)(X), ad.jacfwd(prim)(X), rtol=1e-12)


def _wrong_in_second_argument():
    return ad.Primitive("wrong_b", lambda a, b: a * np.sin(b),
                        jvp=(lambda t, out, a, b: t * np.sin(b),
                             lambda t, out, a, b: a * np.cos(b) * t),
                        vjp=(lambda g, out, a, b: g * np.sin(b),
                             lambda g, out, a, b: g * a * np.sin(b)))   # should be cos


def _wrong_jvp_right_vjp():
    return ad.Primitive("wrong_jvp", np.exp, jvp=(lambda t, out, x: t * out * 1.001,),
                        vjp=(lambda g, out, x: g * out,))


def _wrong_vjp_only():
    return ad.Primitive("wrong_vjp_only", np.tanh, vjp=(lambda g, out, x: g * (1 - out),))


def _wrong_in_vector_mode():
    # right for one tangent; np.sum(t) also sums over the batch axis of k tangents
    return ad.Primitive("x_times_sum", lambda x: x * np.sum(x),
                        jvp=(lambda t, out, x: t * np.sum(x) + x * np.sum(t),),
                        vjp=(lambda g, out, x: g * np.sum(x) + np.sum(g * x),))


def _wrong_cotangent_shape():
    # forgets to sum the cotangent of the broadcast scalar a
    return ad.Primitive("scale", lambda a, b: a * b,
                        jvp=(lambda t, out, a, b: t[..., None] * b, lambda t, out, a, b: a * t),
                        vjp=(lambda g, out, a, b: g * b, lambda g, out, a, b: g * a))


@pytest.mark.parametrize("make,args", [
    (_wrong_in_second_argument, (X, W)),
    (_wrong_jvp_right_vjp, (X,)),
    (_wrong_vjp_only, (X,)),
    (_wrong_in_vector_mode, (X,)),
    (_wrong_cotangent_shape, (np.array(2.0), X)),
], ids=["second-argument", "jvp-only-wrong", "vjp-only-wrong", "vector-mode", "cotangent-shape"])
def test_check_grads_catches_a_wrong_custom_rule(make, args):
    prim = make()
    with pytest.raises(AssertionError):
        check_grads(prim, args, order=2)


def test_wrong_vector_mode_rule_would_give_a_wrong_jacobian():
    # why the case above matters: jacfwd runs the rule on k tangents at once
    prim = _wrong_in_vector_mode()
    J = np.sum(X) * np.eye(3) + X[:, None]
    np.testing.assert_allclose(ad.jacrev(prim)(X), J, rtol=1e-14)
    assert not np.allclose(ad.jacfwd(prim)(X), J)
