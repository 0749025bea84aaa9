"""Elementwise rules and the selections built from them, against NumPy exactly.

Regression tests for silent faults of dualad/rules/elementwise.py and
special.py: functions that were registered as having no derivative although
they have one (histogram, unique, full_like, heaviside), clip with crossed
or NaN bounds and its ufunc keywords, power at 0 and at negative bases in
every mode and at order 2, float_power's float64 arithmetic, and the
dtypes of values, tangents and cotangents for float32 inputs.

Values are compared with NumPy's own result for the same arguments,
derivatives with central finite differences (``check_grads``,
``numerical_jvp``) -- never with a rule's own formula.  The conventions at
non-differentiable points are the documented ones (docs/kinks.md).

The module exports the ``HONOURED`` table (see tests/test_keywords.py) for
np.histogram, np.unique, np.full_like, np.clip and np.where.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import scipy.special as sp

import dualad as ad
from dualad import core
from dualad.rules import elementwise, special, special_more
from dualad.testing import numerical_grad, check_grads, numerical_jvp


def assert_same(actual, expected, what=""):
    """Same structure, shapes, dtypes and values (NaN where NumPy has NaN)."""
    a_leaves, e_leaves = ad.tree_flatten(actual)[0], ad.tree_flatten(expected)[0]
    assert len(a_leaves) == len(e_leaves), f"{what}: {len(a_leaves)} outputs, NumPy has {len(e_leaves)}"
    for a, e in zip(a_leaves, e_leaves):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, \
            f"{what}: {a.dtype}{a.shape}, NumPy's {e.dtype}{e.shape}"
        assert np.array_equal(a, e, equal_nan=e.dtype.kind == "f"), f"{what}: {a} != NumPy's {e}"


def traced_value(f, *args):
    """f's value with every argument traced, in forward mode (checked equal
    to reverse mode's)."""
    value = ad.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]
    assert_same(ad.vjp(f, *args)[0], value, "reverse-mode value vs forward-mode value")
    return value


fd_grad = numerical_grad  # central differences, entry by entry


def fd_second(f, x, h=1e-4):
    return (f(x + h) - 2 * f(x) + f(x - h)) / h ** 2


# =====================================================================================
# histogram
# =====================================================================================
X = np.array([1.2, 1.5, 2.55, 0.4, 1.9, 0.75])   # away from the edges of 3, 4 and 5 bins
W = np.array([0.5, 1.5, 2.0, 1.0, 0.3, -0.7])
EDGES = np.array([0.0, 1.0, 2.2, 3.0])


def _histogram_configs():
    rng = np.random.default_rng(7)
    for dtype, size in itertools.product((np.float64, np.float32), (1, 6, 17)):
        a = rng.standard_normal(size).astype(dtype)
        a[: size // 3] = np.round(a[: size // 3], 1)  # some values on 0.1-multiples
        w = rng.uniform(0.1, 2.0, size).astype(dtype)
        for bins in (3, 7, "auto", "sturges", np.array([-1.0, 0.0, 0.5, 2.0]), [-3, 0, 3]):
            for range_ in (None, (-1.0, 1.0), (np.float32(-0.5), 1.5)):
                if not isinstance(bins, (int, str)) and range_ is not None:
                    continue
                for density, weighted in itertools.product((None, True), (False, True)):
                    if weighted and isinstance(bins, str):
                        continue  # NumPy refuses estimators with weights
                    yield a, w if weighted else None, bins, range_, density


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's own 0/0 for an empty range
def test_histogram_values_are_numpys_for_every_form():
    count = 0
    for a, w, bins, range_, density in _histogram_configs():
        expected = np.histogram(a, bins, range_, density, w)
        what = f"histogram({a.dtype}[{a.size}], bins={bins!r}, range={range_}, density={density}, weights={w is not None})"
        assert_same(traced_value(lambda x: np.histogram(x, bins, range_, density, w), a), expected, what)
        if w is not None:
            assert_same(traced_value(lambda v: np.histogram(a, bins, range_, density, v), w), expected, what)
            assert_same(traced_value(lambda x, v: np.histogram(x, bins, range_, density, v), a, w),
                        expected, what)
        count += 1
    assert count > 100


def test_histogram_values_on_edges_and_the_closed_last_bin():
    a = np.array([0.0, 1.0, 2.0, 3.0, 3.0, 1.0])   # on the edges of 3 bins over [0, 3]
    for bins in (3, [0.0, 1.0, 2.0, 3.0], [0.0, 1.5, 3.0]):
        assert_same(traced_value(lambda x: np.histogram(x, bins), a), np.histogram(a, bins))
        assert_same(traced_value(lambda w: np.histogram(a, bins, weights=w), a + 1),
                    np.histogram(a, bins, weights=a + 1))
        assert_same(traced_value(lambda x: np.histogram(x, bins, density=True), a),
                    np.histogram(a, bins, density=True))
    # float32 values just below an edge of a float64 range, and all-equal data (range +-0.5)
    a32 = np.array([0.1, 0.2, 0.30000001, 0.9], np.float32)
    assert_same(traced_value(lambda x: np.histogram(x, 4, (0.1, 0.9)), a32), np.histogram(a32, 4, (0.1, 0.9)))
    same = np.full(3, 2.0)
    assert_same(traced_value(lambda x: np.histogram(x, 2), same), np.histogram(same, 2))


def test_histogram_edges_follow_min_and_max():
    check_grads(lambda x: np.histogram(x, 3)[1], (X,))
    check_grads(lambda x: np.histogram(x, "sturges")[1], (X,))
    g = ad.grad(lambda x: np.sum(np.histogram(x, 3)[1] * np.array([0.3, -1.0, 2.0, 0.5])))(X)
    assert np.count_nonzero(g) == 2  # only the minimum and the maximum move the edges


def test_histogram_weighted_counts_are_differentiable_in_the_weights():
    check_grads(lambda w: np.histogram(X, 3, weights=w)[0], (W,))
    check_grads(lambda w: np.histogram(X, EDGES, weights=w)[0], (W,))
    check_grads(lambda w: np.histogram(X, 4, range=(0.0, 2.0), weights=w)[0], (W,))


def test_histogram_density_depends_on_the_data_through_the_edges():
    check_grads(lambda x: np.histogram(x, 3, density=True)[0], (X,))
    check_grads(lambda x, w: np.histogram(x, 3, weights=w, density=True), (X, W + 1.0))
    # explicit edges: constant, unless traced themselves
    g = ad.grad(lambda x: np.sum(np.histogram(x, EDGES, density=True)[0] * np.arange(3.0)))(X)
    assert np.all(g == 0)
    check_grads(lambda x, b: np.histogram(x, b, density=True), (X, EDGES))
    # a traced range
    check_grads(lambda x, r: np.histogram(x, 4, (r[0], r[1]), density=True), (X, np.array([0.15, 2.7])))


def test_histogram_float32():
    x32, w32 = X.astype(np.float32), W.astype(np.float32)
    out, t = ad.jvp(lambda x, w: np.histogram(x, 3, weights=w, density=True), (x32, w32),
                    (np.ones(6, np.float32), np.ones(6, np.float32)))
    assert_same(out, np.histogram(x32, 3, weights=w32, density=True))
    assert t[0].dtype == np.float64   # NumPy's density is float64 (it divides by float64 widths)
    out, t = ad.jvp(lambda w: np.histogram(x32, 3, weights=w), (w32,), (np.ones(6, np.float32),))
    assert_same(out, np.histogram(x32, 3, weights=w32))
    assert t[0].dtype == np.float32   # summed in float64 as bincount does, then cast


# =====================================================================================
# unique
# =====================================================================================
UNIQUE_INPUTS = [np.array([3.0, 1.0, np.nan, 1.0, np.nan, -0.0, 0.0, 2.0]),
                 np.array([[3.0, 1.0], [1.0, 2.0], [3.0, 1.0]]),
                 np.array([[2.0, 2.0, 1.0], [0.0, 2.0, 1.0]]),
                 np.array([1.5, 0.5, 1.5], np.float32),
                 np.array(2.0)]


def test_unique_values_are_numpys_for_every_combination():
    count = 0
    for a in UNIQUE_INPUTS:
        axes = [None, 0, 1, -1] if a.ndim == 2 else [None, 0] if a.ndim == 1 else [None]
        for flags in itertools.product([False, True], repeat=3):
            for axis, equal_nan, sorted_ in itertools.product(axes, [True, False], [True, False]):
                kw = dict(return_index=flags[0], return_inverse=flags[1], return_counts=flags[2],
                          axis=axis, equal_nan=equal_nan, sorted=sorted_)
                assert_same(traced_value(lambda x: np.unique(x, **kw), a), np.unique(a, **kw), str(kw))
                count += 1
    assert count > 200


@pytest.mark.parametrize("kw", [{}, {"return_counts": True}, {"return_index": True, "return_inverse": True},
                                {"sorted": False}, {"axis": 0}, {"axis": 1, "return_counts": True}])
def test_unique_values_are_differentiable_like_sort(kw):
    y = np.array([[2.0, 0.5, 3.0], [1.5, -0.3, 0.9]])   # distinct: finite differences are defined
    arg = y if "axis" in kw else y.ravel()
    check_grads(lambda x: ad.tree_flatten(np.unique(x, **kw))[0][0], (arg,))


def test_unique_gives_a_tie_to_the_first_occurrence():
    tied = np.array([2.0, 0.5, 2.0, 1.5, 0.5])
    w = np.array([1.0, 10.0, 100.0])
    g = ad.grad(lambda x: np.sum(np.unique(x) * w))(tied)
    # values [0.5, 1.5, 2.0]: first occurrences at 1, 3, 0
    np.testing.assert_array_equal(g, [100.0, 1.0, 0.0, 10.0, 0.0])
    _, t = ad.jvp(lambda x: np.unique(x), (tied,), (np.arange(5.0),))
    np.testing.assert_array_equal(t, [1.0, 3.0, 0.0])


# =====================================================================================
# full_like and heaviside
# =====================================================================================
def test_full_like_is_differentiable_in_a_traced_fill_value():
    x = np.array([0.3, 1.1, -2.0])
    f = lambda z: np.sum(np.full_like(z, z[0]) * np.array([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(ad.grad(f)(x), fd_grad(f, x), atol=1e-8)
    assert ad.grad(f)(x).tolist() == [7.0, 0.0, 0.0]
    check_grads(lambda a, v: np.full_like(a, v), (np.zeros((2, 3)), np.array([1.0, 2.0, 3.0])))
    check_grads(lambda a, v: np.full_like(a, v, shape=(2, 2)), (np.zeros(3), np.array(0.7)))


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_full_like_dtype():
    x = np.array([0.3, 1.1, -2.0])
    value, tangent = ad.jvp(lambda z: np.full_like(z, z[1] * 3.7, dtype=int), (x,), (np.ones(3),))
    assert_same(value, np.full_like(x, x[1] * 3.7, dtype=int))
    assert np.all(tangent == 0)
    value, tangent = ad.jvp(lambda z: np.full_like(z, z[1], dtype=np.float32), (x,), (np.ones(3),))
    assert_same(value, np.full_like(x, x[1], dtype=np.float32))
    np.testing.assert_allclose(tangent, [1.0, 1.0, 1.0])
    x32 = x.astype(np.float32)
    value, tangent = ad.jvp(lambda z, v: np.full_like(z, v), (x32, np.array(1e40)), (x32, np.ones(())))
    assert_same(value, np.full_like(x32, 1e40))   # NumPy's unsafe cast: inf in float32


def test_heaviside_second_argument():
    x1 = np.array([-1.0, 0.0, 2.0, 0.0, np.nan, -0.0])
    h = np.array([0.5, 0.25, 0.7, 0.1, 0.3, 0.9])
    assert_same(traced_value(lambda v: np.heaviside(x1, v), h), np.heaviside(x1, h))
    assert_same(traced_value(lambda u, v: np.heaviside(u, v), x1, h), np.heaviside(x1, h))
    at_zero = x1 == 0
    check_grads(lambda v: np.heaviside(x1[at_zero], v), (h[at_zero],))
    g = ad.grad(lambda v: np.sum(np.heaviside(x1, v)))(h)
    np.testing.assert_array_equal(g, at_zero.astype(float))
    assert float(ad.grad(lambda v: np.heaviside(0.0, v))(0.7)) == 1.0
    # a scalar second argument broadcast to the zeros of x1
    assert float(ad.grad(lambda v: np.sum(np.heaviside(x1, v)))(0.7)) == 3.0
    # no derivative in x1 (piecewise constant)
    x = np.array([-1.0, 2.0, 0.5])
    _, t = ad.jvp(lambda u: np.heaviside(u, 0.5), (x,), (np.ones(3),))
    assert np.all(t == 0)
    out, t = ad.jvp(lambda v: np.heaviside(x1.astype(np.float32), v), (np.array(0.5, np.float32),),
                    (np.array(1.0, np.float32),))
    assert_same(out, np.heaviside(x1.astype(np.float32), np.float32(0.5)))


# =====================================================================================
# clip
# =====================================================================================
def test_clip_with_crossed_bounds_follows_numpy():
    x = np.array([0.0, 2.0, -3.0])
    assert_same(traced_value(lambda z: np.clip(z, 1, -1), x), np.clip(x, 1, -1))
    # minimum(maximum(x, lo), hi): hi wins, so the derivative goes to hi
    lo, hi = np.array([1.0, 1.5, 0.3]), np.array([-1.0, 0.5, -0.2])
    xs = np.array([0.2, 2.0, -3.0])
    assert_same(traced_value(lambda a, b, c: np.clip(a, b, c), xs, lo, hi), np.clip(xs, lo, hi))
    check_grads(lambda a, b, c: np.clip(a, b, c), (xs, lo, hi))


def test_clip_nan_and_signed_zero_values_match_numpy():
    specials = [-0.0, 0.0, 1.0, np.nan, -1.0, 2.0]
    for x, lo, hi in itertools.product(specials, repeat=3):
        for low, high in ((lo, hi), (lo, None), (None, hi)):
            expected = np.clip(np.array([x]), low, high)
            for traced in ("x", "lo", "hi"):
                bound = {"lo": low, "hi": high}.get(traced, x)
                if bound is None:
                    continue

                def f(z):
                    v = {"x": np.array([x]), "lo": low, "hi": high}
                    v[traced] = z
                    return np.clip(v["x"], v["lo"], v["hi"])
                value = traced_value(f, np.array(bound) if traced != "x" else np.array([x]))
                assert_same(value, expected, f"clip({x}, {low}, {high}) traced {traced}")
                if low is not None and high is not None:  # the clip ufunc: bit for bit
                    assert np.signbit(value).tolist() == np.signbit(expected).tolist()


def test_clip_keeps_the_closed_interval_convention():
    x = np.array([-0.5, 0.7, 2.0, -3.0, 0.1])
    for mode in ("grad", "jacfwd"):
        d = getattr(ad, mode)(lambda a: np.sum(np.clip(a, -0.5, 0.7)))(x)
        np.testing.assert_array_equal(d, [1.0, 1.0, 0.0, 0.0, 1.0])


def test_clip_keywords():
    x = np.array([0.3, 2.0, -3.0, 0.5])
    for kw in (dict(dtype=np.float32), dict(dtype=int, casting="unsafe"), dict(casting="unsafe"),
               dict(order="F"), dict(subok=False), dict(dtype=np.float64, casting="no"),
               dict(min=-1.0, max=0.4), dict(max=0.4), dict(where=True)):
        bounds = () if "min" in kw or "max" in kw else (-1.0, 1.0)
        value, tangent = ad.jvp(lambda z: np.clip(z, *bounds, **kw), (x,), (np.ones(4),))
        assert_same(value, np.clip(x, *bounds, **kw), str(kw))
    check_grads(lambda z: np.clip(z, -1.0, 1.0, dtype=np.float64, casting="no"), (x,))
    assert ad.jvp(lambda z: np.clip(z, -1.0, 1.0, dtype=np.float32), (x,), (np.ones(4),))[1].dtype == np.float32
    with pytest.raises(TypeError):   # NumPy's own casting error
        ad.jvp(lambda z: np.clip(z, -1, 1, dtype=np.float32, casting="no"), (x,), (np.ones(4),))
    for kw, name in ((dict(out=np.empty(4)), "out"), (dict(where=x > 0), "where"),
                     (dict(signature="dd->d"), "signature"), (dict(foo=1), "foo"),
                     (dict(dtype=np.complex128), "dtype")):
        with pytest.raises(TypeError, match=name) as info:
            ad.jvp(lambda z: np.clip(z, -1, 1, **kw), (x,), (np.ones(4),))
        assert "dualad" in str(info.value)
    with pytest.raises(TypeError, match="a_max"):
        ad.jvp(lambda z: np.clip(z, -1.0), (x,), (np.ones(4),))
    with pytest.raises(ValueError, match="forbidden"):
        ad.jvp(lambda z: np.clip(z, -1.0, 1.0, min=0.0), (x,), (np.ones(4),))
    assert_same(traced_value(lambda z: np.clip(z), x), np.clip(x))


# =====================================================================================
# power, float_power
# =====================================================================================
EXPONENTS = [0, 1, 2, 3, 4, -1, -2, -3, 0.0, 1.0, 2.0, 3.0, -1.0]
EXPONENT_KINDS = {"python": lambda k: k, "float64": np.float64, "float32": np.float32,
                  "0-d": np.array, "array": lambda k: np.array([k, k])}


def _power_cases():
    for k, kind in itertools.product(EXPONENTS, EXPONENT_KINDS):
        for x0 in ((0.0, -1.5, -0.5, 1.3) if k >= 0 else (-1.5, -0.5, 1.3)):
            yield k, kind, x0


@pytest.mark.parametrize("k, kind, x0", list(_power_cases()),
                         ids=[f"x**{k}-{kind}-at-{x0}" for k, kind, x0 in _power_cases()])
def test_power_small_integer_exponents_agree_in_every_mode_and_order(k, kind, x0):
    exponent = EXPONENT_KINDS[kind](k)
    n = 2 if kind == "array" else 1
    x = np.full(n, x0) if kind == "array" else np.array(x0)
    f = lambda z: np.sum(z ** exponent)
    g = lambda z: np.sum(np.power(z, exponent))
    scalar = lambda s: float(np.sum(np.full(n, s) ** exponent)) / n
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no 0 * inf on the way
        first, second = fd_grad(scalar, x0), fd_second(scalar, x0)
        e = np.zeros_like(x)
        e.flat[0] = 1.0
        for fn in (f, g):
            assert_same(traced_value(lambda z: z ** exponent, x), x ** exponent)
            for d in (ad.grad(fn)(x), ad.jacfwd(fn)(x), ad.jacrev(fn)(x),
                      ad.jvp(fn, (x,), (e,))[1], ad.vjp(fn, x)[1](1.0)[0]):
                assert np.isfinite(d).all()
                np.testing.assert_allclose(np.ravel(d)[0], first, atol=1e-6)
            for mode in ad.HVP_MODES:
                h = ad.hvp(fn, x, e, mode=mode)
                np.testing.assert_allclose(np.ravel(h)[0], second, atol=1e-5, err_msg=mode)
            np.testing.assert_allclose(np.ravel(ad.hessian(fn)(x))[0], second, atol=1e-5)


def test_power_zero_exponent_at_zero():
    assert float(ad.grad(lambda x: x ** 0.0)(0.0)) == 0.0
    assert float(ad.jvp(lambda x: x ** 0.0, (0.0,), (1.0,))[1]) == 0.0
    # NaN base: x ** 0 is still NumPy's constant 1
    _, t = ad.jvp(lambda x: x ** np.array([0.0, 2.0]), (np.array([np.nan, 0.0]),), (np.ones(2),))
    np.testing.assert_array_equal(t, [0.0, 0.0])


def test_power_traced_exponent_at_zero_base():
    check_grads(lambda x, y: np.power(x, y), (np.array([0.5, 1.5, 2.0]), np.array([0.0, 1.0, 3.0])))
    g = ad.grad(lambda y: np.sum(np.power(0.0, y)))(np.array([2.0, 3.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_power_computes_in_float64(dtype):
    x = np.array([0.5, 1.5], dtype)
    for args, traced in (((x, 2.0), (0,)), ((x, x), (0, 1)), ((2.5, x), (1,)), ((x, np.array(3, dtype)), (0, 1)),
                         ((np.array(0.7, dtype), -1.5), (0,))):
        xs = tuple(args[i] for i in traced)

        def f(*vs):
            full = list(args)
            for i, v in zip(traced, vs):
                full[i] = v
            return np.float_power(*full)
        value, tangent = ad.jvp(f, xs, tuple(np.ones_like(v) for v in xs))
        assert_same(value, np.float_power(*args))
        assert np.asarray(tangent).dtype == np.float64
    check_grads(lambda a, b: np.float_power(a, b), (np.array([0.5, 1.5]), np.array([2.0, -0.5])))


# =====================================================================================
# dtypes of values, tangents and cotangents; other registrations
# =====================================================================================
def _elementwise_ufuncs():
    found = []
    for func, rule in core.UFUNC_RULES.items():
        owner = getattr(rule, "__module__", None)
        prims = {id(v) for m in (elementwise, special, special_more) for v in vars(m).values()}
        if id(rule) in prims or owner in (elementwise.__name__, special.__name__,
                                          special_more.__name__):
            # (two-output ufuncs, frexp, modf and divmod: tests/test_array_functions.py)
            if getattr(rule, "nondiff_of", None) is None and func.nout == 1:
                found.append(func)
    return found


UFUNCS = _elementwise_ufuncs()


# how many leading parameters a rule refuses to trace (orders, exponent)
_CONSTANT_LEADING = {sp.jv: 1, sp.yv: 1, sp.iv: 1, sp.ive: 1, sp.kv: 1, sp.kve: 1,
                     sp._ufuncs._zeta: 1, sp.stdtr: 1, sp.stdtrit: 1, sp.chdtr: 1, sp.chdtrc: 1,
                     sp.pdtr: 1, sp.pdtrc: 1, sp.fdtr: 2, sp.fdtrc: 2, sp.bdtr: 2, sp.bdtrc: 2,
                     sp.nbdtr: 2, sp.nbdtrc: 2, sp.gammaincinv: 1, sp.gammainccinv: 1,
                     sp.betaincinv: 2, sp.betainccinv: 2, sp.hyp1f1: 2, sp.hyp2f1: 3}
_CONSTANT_INSIDE = {sp.gdtr: 1, sp.gdtrc: 1}  # gdtr(a, b, x): the shape b


def _domain(ufunc):
    if ufunc is np.arccosh:
        return 1.5
    if ufunc in (np.arcsin, np.arccos, np.arctanh, sp.logit):
        return 0.3
    return 0.6


@pytest.mark.parametrize("ufunc", UFUNCS, ids=[u.__name__ for u in UFUNCS])
@pytest.mark.parametrize("form", ["float64", "float32", "0-d float64", "0-d float32", "python"])
def test_ufunc_value_and_derivative_dtypes(ufunc, form):
    make = {"float64": lambda v: np.array([v, v + 0.1]), "float32": lambda v: np.array([v, v + 0.1], np.float32),
            "0-d float64": np.array, "0-d float32": lambda v: np.array(v, np.float32),
            "python": float}[form]
    args = [make(_domain(ufunc) + 0.05 * i) for i in range(ufunc.nin)]
    if ufunc is np.remainder:
        args[1] = make(1.3)
    traced = range(_CONSTANT_LEADING.get(ufunc, 0), ufunc.nin)
    if ufunc is np.ldexp:  # an integer exponent, held constant
        args[1] = 3 if form == "python" else np.full(np.shape(args[0]), 3)
        traced = range(1)
    expected = ufunc(*args)
    for i in traced:
        if _CONSTANT_INSIDE.get(ufunc) == i:
            continue

        def f(z):
            full = list(args)
            full[i] = z
            return ufunc(*full)
        x = np.asarray(args[i])
        value, tangent = ad.jvp(f, (x,), (np.ones_like(x),))
        assert_same(value, np.asarray(expected), f"{ufunc.__name__} traced in argument {i}")
        assert np.asarray(tangent).dtype == np.asarray(expected).dtype, "tangent dtype"
        (cotangent,) = ad.vjp(f, x)[1](np.ones_like(np.asarray(expected)))
        assert np.asarray(cotangent).dtype == x.dtype, "cotangent dtype"
        if x.dtype == np.float64:
            np.testing.assert_allclose(tangent, numerical_jvp(f, (x,), (np.ones_like(x),)),
                                       rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("x, y", list(itertools.product([0.7, -0.7, 2.9, -2.9], [1.3, -1.3])))
def test_remainder_derivatives_for_every_sign(x, y):
    check_grads(lambda a, b: np.remainder(a, b), (np.array([x]), np.array([y])))
    check_grads(lambda a, b: np.mod(a, b), (np.array([x, y]), np.array([y, 1.7])))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_sqrt_at_zero_is_plus_infinity_in_every_mode():
    for x0 in (0.0, -0.0):
        x = np.array([x0, 4.0])
        for d in (ad.grad(lambda z: np.sum(np.sqrt(z)))(x), ad.jacfwd(lambda z: np.sum(np.sqrt(z)))(x)):
            assert d[0] == np.inf and d[1] == 0.25
    # the one-sided difference grows without bound
    assert (np.sqrt(1e-12) - np.sqrt(0.0)) / 1e-12 > 1e5


def test_where_with_a_scalar_condition():
    x, y = np.array([0.5, -1.2]), np.array(2.0)
    for cond in (True, False, np.array(True), 0.0, np.array([[True], [False]])):
        assert_same(traced_value(lambda a, b: np.where(cond, a, b), x, y), np.where(cond, x, y))
        check_grads(lambda a, b: np.where(cond, a, b), (x, y))
    with pytest.raises(ValueError, match="both or neither"):
        ad.jvp(lambda a: np.where(a > 0, a), (x,), (np.ones(2),))
    with pytest.raises(TypeError, match="y"):
        ad.jvp(lambda a: np.where(a > 0, a, None), (x,), (np.ones(2),))
    value, _ = ad.jvp(lambda a: np.where(a > 0), (x,), (np.ones(2),))
    assert_same(value, np.where(x > 0))


def test_hypot_and_xlogy_at_their_zeros():
    # hypot at (0, 0): the 2-norm's subgradient 0, as np.linalg.norm
    for d in (ad.grad(lambda z: np.hypot(z[0], z[1]))(np.zeros(2)),
              ad.jacfwd(lambda z: np.hypot(z[0], z[1]))(np.zeros(2))):
        np.testing.assert_array_equal(d, [0.0, 0.0])
    # xlogy(0, y) = 0 for every y: derivative 0 in y, also at y = 0 (not 0/0)
    f = lambda y: np.sum(sp.xlogy(np.array([0.0, 0.0, 1.0]), y))
    y = np.array([0.0, 2.0, 2.0])
    np.testing.assert_array_equal(ad.grad(f)(y), [0.0, 0.0, 0.5])
    np.testing.assert_allclose(ad.grad(f)(y)[1:], fd_grad(f, y)[1:], atol=1e-8)
    f1 = lambda y: np.sum(sp.xlog1py(np.array([0.0, 1.0]), y))
    np.testing.assert_array_equal(ad.grad(f1)(np.array([-1.0, 1.0])), [0.0, 0.5])


# =====================================================================================
# HONOURED (tests/test_keywords.py): every parameter of these functions, with a call using it
# =====================================================================================
_C = np.array([True, False, True])
_A = np.array([0.3, -1.2, 2.7])
_B = np.array([1.5, 0.4, -0.9])
_M = np.array([[2.0, 0.5, 1.0], [0.3, 0.7, -1.0]])

HONOURED = {
    np.histogram: {
        "a": [((X,), {}), ((X.astype(np.float32),), {})],
        "bins": [((X, 3), {}), ((X, EDGES), {}), ((X, "sturges"), {})],
        "range": [((X,), {"range": (0.0, 2.0)}), ((X, 4, (np.array(0.15), np.array(2.7))), {})],
        "density": [((X,), {"density": True}), ((X, 3, None, True, W + 1.0), {})],
        "weights": [((X, 3, None, None, W), {}), ((X, EDGES), {"weights": W})],
    },
    np.unique: {
        "ar": [((_M,), {})],
        "return_index": [((_M,), {"return_index": True})],
        "return_inverse": [((_M,), {"return_inverse": True})],
        "return_counts": [((_M,), {"return_counts": True})],
        "axis": [((_M,), {"axis": 1}), ((_M,), {"axis": 0, "return_index": True, "return_counts": True})],
        "equal_nan": [((_M,), {"equal_nan": False})],
        "sorted": [((_M,), {"sorted": False})],
    },
    np.full_like: {
        "a": [((_A, np.array(0.7)), {})],
        "fill_value": [((_A, np.array([0.7, 0.2, -1.0])), {}), ((_A, 2.5), {})],
        "dtype": [((_A, np.array(0.7)), {"dtype": np.float32}), ((_A, np.array(2.7)), {"dtype": int})],
        "order": [((_M, np.array(0.7)), {"order": "F"})],
        "subok": [((_A, np.array(0.7)), {"subok": False})],
        "shape": [((_A, np.array(0.7)), {"shape": (2, 2)})],
        "device": [((_A, np.array(0.7)), {"device": "cpu"})],
    },
    np.clip: {
        "a": [((_A, -1.0, 1.0), {})],
        "a_min": [((_A, _B, None), {}), ((_A, 0.5, -0.5), {})],
        "a_max": [((_A, None, _B), {}), ((_A, _B - 1.0, _B), {})],
        "min": [((_A,), {"min": 0.1})],
        "max": [((_A,), {"max": 0.1}), ((_A,), {"min": -1.0, "max": 1.0})],
        "dtype": [((_A, -1.0, 1.0), {"dtype": np.float32}), ((_A, -1.0, 1.0), {"dtype": int, "casting": "unsafe"})],
        "casting": [((_A, -1.0, 1.0), {"casting": "no", "dtype": np.float64})],
        "order": [((_M, -1.5, 1.5), {"order": "F"})],
        "subok": [((_A, -1.0, 1.0), {"subok": False})],
    },
    np.where: {
        "condition": [((_C, _A, _B), {}), ((True, _A, 2.0), {})],
        "x": [((_C, _A, 0.0), {}), ((_C, _M, _B), {})],
        "y": [((_C, 0.0, _B), {}), ((np.array([[True], [False]]), _A, _B), {})],
    },
}
