"""Every keyword of the reductions (sum, mean, var, std, max/amax, min/amin,
prod, cumsum) honoured with NumPy's semantics, or refused.

``HONOURED`` (imported by the walker over every registered function) lists,
for each NumPy function, every parameter of its signature that dualad
honours, with small calls that exercise it.  The tests below check each of
those calls against NumPy's own value (forward and reverse mode, dtype
included) and by ``check_grads(order=2)`` -- finite differences, the
dot-product identity and all four nestings -- never against a rule's own
formula.  Then: NumPy's errors, the refused values (``out=``, an object
``dtype=``, traced ``initial=``/``ddof=``), traced ``mean=``, masks over
NaNs, integer dtypes without derivative, float16 means, the array methods'
positional order, and the documented convention at a tie with ``initial``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dualad as ad
from dualad import core
from dualad.testing import check_grads

# ---- inputs (tiny, away from ties, zeros and integers) --------------------------------
X23 = np.array([[1.3, -0.4, 2.2], [0.7, 1.9, -1.1]])
X4 = np.array([0.6, -1.2, 2.3, 0.9])
X232 = np.array([[[0.3, 1.6], [-0.8, 2.1], [1.2, -1.7]],
                 [[0.4, -0.2], [1.1, 0.8], [-1.4, 2.6]]])
P23 = np.array([[1.3, -0.6, 1.8], [0.7, 1.5, -1.1]])  # for prod: no zero
M3 = np.array([True, False, True])
M23 = np.array([[True, False, True], [False, True, True]])
M23_EMPTY_ROW = np.array([[True, False, True], [False, False, False]])
M21 = np.array([[True], [False]])

_AXES = [((X23,), {"axis": 1}), ((X23,), {"axis": -1}), ((X23,), {"axis": (0, 1)}),
         ((X23,), {"axis": np.int64(0)}), ((X232,), {"axis": (2, 0)}),
         ((X232,), {"axis": (-1, -2)}), ((X23,), {"axis": None}), ((X23,), {"axis": ()})]
_KEEPDIMS = [((X23,), {"keepdims": True}), ((X23,), {"axis": 0, "keepdims": True}),
             ((X232,), {"axis": (0, 2), "keepdims": True}), ((X23,), {"keepdims": False}),
             ((X23,), {"axis": 1, "keepdims": 1})]


def _sum_like(x):
    """The calls shared by sum and prod (``x``: their 2x3 input, in place of X23)."""
    def on_x(calls):
        return [((x,) if a[0] is X23 else a, kw) for a, kw in calls]
    return {
        "a": [((x,), {}), ((X4 if x is X23 else X4 + 2.0,), {})],
        "axis": on_x(_AXES),
        "dtype": [((x,), {"dtype": np.float32}), ((x,), {"dtype": np.float32, "axis": 1}),
                  ((x,), {"dtype": np.float64}), ((x,), {"dtype": int}),
                  ((x,), {"dtype": np.int32, "axis": 0}), ((x,), {"dtype": bool})],
        "keepdims": on_x(_KEEPDIMS),
        "initial": [((x,), {"initial": 2.5}), ((x,), {"initial": -1.5, "axis": 1}),
                    ((x,), {"initial": np.float64(0.5), "axis": 0, "keepdims": True})],
        "where": [((x,), {"where": M3}), ((x,), {"where": M23, "axis": 0}),
                  ((x,), {"where": M21, "axis": 1, "keepdims": True}),
                  ((x,), {"where": M23_EMPTY_ROW, "axis": 1, "initial": 1.5}),
                  ((x,), {"where": False}), ((x,), {"where": np.True_, "axis": 1})],
    }


def _extremum_calls():
    # max over rows of X23 is (2.2, 1.9); min is (-0.4, -1.1).  The initial
    # values win in some slices and lose in others, never tie.
    return {
        "a": [((X23,), {}), ((X4,), {})],
        "axis": _AXES,
        "keepdims": _KEEPDIMS,
        "initial": [((X23,), {"initial": 2.0, "axis": 1}), ((X23,), {"initial": -0.7, "axis": 1}),
                    ((X23,), {"initial": 5.0}), ((X23,), {"initial": -5.0}),
                    ((X23,), {"initial": 0.0, "axis": 0, "keepdims": True})],
        "where": [((X23,), {"where": M3, "initial": -5.0}),
                  ((X23,), {"where": M23, "initial": 5.0, "axis": 1}),
                  ((X23,), {"where": M23, "initial": -5.0, "axis": 0, "keepdims": True}),
                  ((X23,), {"where": M23_EMPTY_ROW, "initial": 0.0, "axis": 1}),
                  ((X23,), {"where": M23, "initial": 1.0, "axis": 1}),
                  ((X23,), {"where": True})],
    }


def _var_like(integer_axis_dtype=True):
    mean0 = np.array([[0.2, 0.9, -0.3]])          # keepdims shape for axis=0
    mean1 = np.array([[0.5], [-0.2]])              # keepdims shape for axis=1
    return {
        "a": [((X23,), {}), ((X4,), {})],
        "axis": _AXES,
        "dtype": [((X23,), {"dtype": np.float32}), ((X23,), {"dtype": np.float32, "axis": 0}),
                  ((X23,), {"dtype": np.float64, "axis": 1}), ((X23,), {"dtype": int})]
        # (NumPy's own std cannot write sqrt's float result into an integer array)
        + ([((X23,), {"dtype": np.int32, "axis": 1})] if integer_axis_dtype else []),
        "ddof": [((X23,), {"ddof": 1}), ((X23,), {"ddof": 1.5, "axis": 1}),
                 ((X23,), {"ddof": np.int64(1), "axis": 0}), ((X23,), {"ddof": 0})],
        "keepdims": _KEEPDIMS,
        "where": [((X23,), {"where": M3}), ((X23,), {"where": M23, "axis": 1, "ddof": 1}),
                  ((X23,), {"where": M21, "axis": 0, "keepdims": True}),
                  ((X232,), {"where": np.array([[True, False], [True, True], [False, True]]),
                             "axis": (0, 1)})],
        "mean": [((X23,), {"mean": mean0, "axis": 0}), ((X23,), {"mean": mean1, "axis": 1}),
                 ((X23,), {"mean": np.array([0.2, 0.9, -0.3]), "axis": 0}),
                 ((X23,), {"mean": 0.4}), ((X23,), {"mean": mean1, "axis": 1, "where": M23}),
                 ((X23,), {"mean": np.mean(X23, axis=1, keepdims=True), "axis": 1})],
        "correction": [((X23,), {"correction": 1}), ((X23,), {"correction": 1, "ddof": 0}),
                       ((X23,), {"correction": 1.5, "axis": 1}),
                       ((X23,), {"correction": 0, "axis": 0})],
    }


HONOURED = {
    np.sum: _sum_like(X23),
    np.prod: _sum_like(P23),
    np.mean: {
        "a": [((X23,), {}), ((X4,), {})],
        "axis": _AXES,
        "dtype": [((X23,), {"dtype": np.float32}), ((X23,), {"dtype": np.float32, "axis": 1}),
                  ((X23,), {"dtype": np.float64}), ((X23,), {"dtype": int}),
                  ((X23,), {"dtype": int, "axis": 0}), ((X23,), {"dtype": np.int16, "axis": 1})],
        "keepdims": _KEEPDIMS,
        "where": [((X23,), {"where": M3}), ((X23,), {"where": M23, "axis": 1}),
                  ((X23,), {"where": M21, "axis": 0, "keepdims": True}),
                  ((X23,), {"where": M23, "axis": 0, "keepdims": True})],
    },
    np.var: _var_like(),
    np.std: _var_like(integer_axis_dtype=False),
    np.max: _extremum_calls(),
    np.amax: _extremum_calls(),
    np.min: _extremum_calls(),
    np.amin: _extremum_calls(),
    np.cumsum: {
        "a": [((X23,), {}), ((X4,), {})],
        "axis": [((X23,), {"axis": 0}), ((X23,), {"axis": 1}), ((X23,), {"axis": -1}),
                 ((X232,), {"axis": -2}), ((X23,), {"axis": None}),
                 ((X23,), {"axis": np.int64(1)})],
        "dtype": [((X23,), {"dtype": np.float32}), ((X23,), {"dtype": np.float32, "axis": 0}),
                  ((X23,), {"dtype": int, "axis": 1}), ((X23,), {"dtype": np.int8}),
                  ((X23,), {"dtype": bool})],
    },
}

# Prod's integer dtype truncates P23 to [[1, 0, 1], [0, 1, -1]]: fine for values.
# The min table reuses the max calls; the initial values 2.0 / 5.0 then lose
# and -0.7 / -5.0 win or lose, still without a tie.


def _calls():
    for fn, params in HONOURED.items():
        for param, calls in params.items():
            for i, (args, kwargs) in enumerate(calls):
                yield pytest.param(fn, args, kwargs, id=f"{fn.__name__}-{param}-{i}")


def _expected(fn, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # empty slices, as NumPy warns
        return fn(*args, **kwargs)


def _traced(fn, args, kwargs, mode):
    """``fn(*args, **kwargs)`` with every argument traced, and what the call
    returned inside the trace."""
    seen = []

    def f(*xs):
        r = fn(*xs, **kwargs)
        seen.append(r)
        return r
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if mode == "fwd":
            out = ad.jvp(f, args, tuple(np.ones_like(a) for a in args))[0]
        else:
            out = ad.vjp(f, *args)[0]
    return out, seen[0]


def _assert_same(got, want, what=""):
    got_a, want_a = np.asarray(got), np.asarray(want)
    assert got_a.dtype == want_a.dtype, f"{what}: dtype {got_a.dtype} != NumPy's {want_a.dtype}"
    assert got_a.shape == want_a.shape, f"{what}: shape {got_a.shape} != NumPy's {want_a.shape}"
    if want_a.dtype.kind != "f":
        np.testing.assert_array_equal(got_a, want_a, err_msg=what)
    else:
        rtol = {np.dtype(np.float16): 1e-3, np.dtype(np.float32): 2e-6}.get(want_a.dtype, 1e-13)
        np.testing.assert_allclose(got_a, want_a, rtol=rtol, atol=0, equal_nan=False,
                                   err_msg=what)


def _tolerances(out):
    if np.asarray(out).dtype == np.float32:  # finite differences in float32
        return dict(atol=2e-3, rtol=2e-3, eps=1e-3)
    return {}


# ---- the table, against NumPy and finite differences -----------------------------------
@pytest.mark.parametrize("fn,args,kwargs", list(_calls()))
@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_value_is_numpys(fn, args, kwargs, mode):
    want = _expected(fn, args, kwargs)
    got, inside = _traced(fn, args, kwargs, mode)
    _assert_same(got, want, f"{fn.__name__}(**{kwargs}) in {mode} mode")
    if np.asarray(want).dtype.kind != "f":  # integer and bool results: plain NumPy values
        assert not isinstance(inside, core.Box)
    else:
        assert isinstance(inside, core.Box)


@pytest.mark.parametrize("fn,args,kwargs", list(_calls()))
def test_derivatives_by_finite_differences(fn, args, kwargs):
    want = _expected(fn, args, kwargs)
    if np.asarray(want).dtype.kind == "f":
        check_grads(lambda *xs: fn(*xs, **kwargs), args, order=2, **_tolerances(want))
    else:
        # No derivative: x times the (constant) integer result is differentiated
        # as x alone; finite differences agree because no entry is near a jump.
        check_grads(lambda x: x * np.sum(fn(x, **kwargs)), args[:1], order=2)


def test_table_covers_every_parameter_but_out():
    import inspect
    for fn, params in HONOURED.items():
        names = set(inspect.signature(fn).parameters)
        assert set(params) == names - {"out"}, fn.__name__


# ---- the cases of the issue ----------------------------------------------------------
def test_var_and_std_honour_correction():
    x = np.array([0.5, 3.0, -1.2, 2.4])
    for fn in (np.var, np.std):
        for mode in ("fwd", "rev"):
            got, _ = _traced(lambda y: fn(y, correction=1), (x,), {}, mode)
            assert got == pytest.approx(fn(x, ddof=1), rel=1e-14)
            assert got != pytest.approx(fn(x), rel=1e-3)
        g = ad.grad(lambda y: fn(y, correction=1))(x)
        np.testing.assert_allclose(g, ad.grad(lambda y: fn(y, ddof=1))(x), rtol=1e-14)


@pytest.mark.parametrize("fn", [np.var, np.std])
def test_ddof_and_correction_together_raise_numpys_value_error(fn):
    with pytest.raises(ValueError, match="ddof and correction"):
        fn(X23, ddof=1, correction=1)
    with pytest.raises(ValueError, match="ddof and correction"):
        ad.grad(lambda y: fn(y, ddof=1, correction=1))(X23)
    # ddof=0 with a correction is allowed, in NumPy as here
    assert ad.value_and_grad(lambda y: fn(y, ddof=0, correction=1))(X23)[0] == \
        pytest.approx(fn(X23, ddof=0, correction=1), rel=1e-14)


def test_integer_dtype_gives_numpys_value_and_no_derivative():
    x = np.array([1.6, 2.7, 0.9])  # NumPy's sum with dtype=int is 1 + 2 + 0 = 3
    for fn in (np.sum, np.cumsum, np.prod, np.mean):
        v, g = ad.value_and_grad(lambda y: np.sum(y * fn(y, dtype=int)))(x)
        assert v == pytest.approx(np.sum(x * fn(x, dtype=int)), rel=1e-15)
        np.testing.assert_array_equal(g, np.broadcast_to(fn(x, dtype=int), x.shape))
    for mode in ("fwd", "rev"):
        out, inside = _traced(np.sum, (x,), {"dtype": int}, mode)
        assert out == 3 and np.asarray(out).dtype == np.int64
        assert not isinstance(inside, core.Box)


def test_float32_dtype_computes_in_float32():
    x = np.array([0.1, 0.7, 1e-9, 2.3])
    for fn in (np.sum, np.mean, np.var, np.std, np.prod, np.cumsum):
        out, t = ad.jvp(lambda y: fn(y, dtype=np.float32), (x,), (np.ones(4),))
        want = fn(x, dtype=np.float32)
        assert np.asarray(out).dtype == np.float32 and np.asarray(t).dtype == np.float32
        np.testing.assert_allclose(out, want, rtol=2e-6)
    # the value is that of float32 arithmetic, not float64's rounded at the end
    big = np.array([1.0, 1e-8, 1e-8, 1e-8])
    got, _ = _traced(lambda y: np.sum(y, dtype=np.float32), (big,), {}, "fwd")
    assert got == np.sum(big, dtype=np.float32) == np.float32(1.0)


def test_float16_mean_accumulates_in_float32_as_numpy_does():
    x = np.array([60000.0, 60000.0])  # their float16 sum overflows to inf

    def f(y):
        return np.mean(y.astype(np.float16))
    want = np.mean(x.astype(np.float16))
    assert want == np.float16(60000.0) and want.dtype == np.float16
    for mode in ("fwd", "rev"):
        got, _ = _traced(f, (x,), {}, mode)
        _assert_same(got, want, f"float16 mean in {mode} mode")
    np.testing.assert_array_equal(ad.grad(lambda y: f(y).astype(float))(x), [0.5, 0.5])
    # with dtype=np.float16 given, NumPy sums in float16 (and so overflows): so do we
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got, _ = _traced(lambda y: np.mean(y.astype(np.float16), dtype=np.float16), (x,), {}, "fwd")
        _assert_same(got, np.mean(x.astype(np.float16), dtype=np.float16))


# ---- where= and initial= --------------------------------------------------------------
@pytest.mark.parametrize("fn", [np.sum, np.mean, np.var, np.std, np.prod])
def test_where_skips_nan_entries_in_value_and_derivative(fn):
    x = np.array([1.1, np.nan, 2.0, -0.7])
    mask = ~np.isnan(x)
    kept = x[mask]
    v, g = ad.value_and_grad(lambda y: fn(y, where=mask))(x)
    assert v == pytest.approx(fn(x, where=mask), rel=1e-14)
    assert np.isfinite(g).all() and g[1] == 0.0
    np.testing.assert_allclose(g[mask], ad.grad(fn)(kept), rtol=1e-13)
    _, t = ad.jvp(lambda y: fn(y, where=mask), (x,), (np.array([1.0, 5.0, -2.0, 0.5]),))
    _, t_kept = ad.jvp(fn, (kept,), (np.array([1.0, -2.0, 0.5]),))
    assert t == pytest.approx(t_kept, rel=1e-13)


@pytest.mark.parametrize("fn,fill", [(np.max, -np.inf), (np.min, np.inf)])
def test_extremum_with_where_over_nan_entries(fn, fill):
    x = np.array([1.1, np.nan, 2.0, -0.7])
    mask = ~np.isnan(x)
    v, g = ad.value_and_grad(lambda y: fn(y, where=mask, initial=fill))(x)
    assert v == fn(x, where=mask, initial=fill)
    np.testing.assert_array_equal(g, (x == v).astype(float))


@pytest.mark.parametrize("fn", [np.max, np.min, np.amax, np.amin])
def test_extremum_where_without_initial_is_numpys_value_error(fn):
    for where in (M3, np.ones(3, bool), np.True_):
        with pytest.raises(ValueError, match="initial") as numpy_error:
            fn(X23, where=where)
        with pytest.raises(ValueError, match="initial") as ours:
            ad.grad(lambda y: np.sum(fn(y, where=where)))(X23)
        assert str(ours.value) == str(numpy_error.value)
    # the literal True is "no mask" to NumPy
    assert ad.value_and_grad(lambda y: fn(y, where=True))(X23)[0] == fn(X23)


@pytest.mark.parametrize("fn,ident", [(np.max, 1.5), (np.min, -1.5), (np.sum, 0.5), (np.prod, 2.0)])
def test_initial_alone_on_an_empty_slice(fn, ident):
    x = np.zeros((0, 3))
    v, g = ad.value_and_grad(lambda y: np.sum(fn(y, axis=0, initial=ident)))(x)
    assert v == np.sum(fn(x, axis=0, initial=ident))
    assert g.shape == (0, 3)
    check_grads(lambda y: fn(y, axis=1, where=M23_EMPTY_ROW, initial=ident), (X23 + 3.0,))


@pytest.mark.parametrize("fn,initial,expected", [
    (np.max, 2.0, [0.5, 0.0, 0.0]),            # x[0] ties with initial: half to it
    (np.min, -1.0, [0.0, 0.5, 0.0]),
    (np.max, 3.0, [0.0, 0.0, 0.0]),            # initial wins: no derivative
    (np.max, 1.0, [1.0, 0.0, 0.0])])           # initial loses
def test_tie_with_initial_gives_half_to_the_entries(fn, initial, expected):
    x = np.array([2.0, -1.0, 0.5])
    for grad in (ad.grad(lambda y: fn(y, initial=initial)),
                 lambda y: ad.jacfwd(lambda z: fn(z, initial=initial))(y)):
        np.testing.assert_array_equal(grad(x), expected)
    # two tied entries and a tied initial: the entries share one half
    two = np.array([2.0, 2.0, 0.5])
    np.testing.assert_array_equal(ad.grad(lambda y: np.max(y, initial=2.0))(two), [0.25, 0.25, 0])
    # the same as np.maximum(np.max(x), initial), whose tie rule is the same halving
    np.testing.assert_array_equal(ad.grad(lambda y: np.maximum(np.max(y), 2.0))(two),
                                  [0.25, 0.25, 0])


def test_prod_with_where_initial_and_zeros():
    x = np.array([[0.0, 1.5, -0.6], [0.8, 0.0, 0.0]])
    mask = np.array([[True, True, False], [True, True, False]])
    for kw in (dict(where=mask, initial=2.5, axis=1), dict(where=mask, axis=1),
               dict(initial=-1.5), dict(where=mask, initial=0.5)):
        v, _ = _traced(np.prod, (x,), kw, "rev")
        _assert_same(v, np.prod(x, **kw))
        check_grads(lambda y: np.prod(y, **kw), (x,), order=2)


# ---- mean= ------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [np.var, np.std])
def test_traced_mean(fn):
    mu1 = np.array([[0.5], [-0.2]])
    check_grads(lambda a, m: fn(a, axis=1, mean=m), (X23, mu1), order=2)
    check_grads(lambda a, m: fn(a, axis=1, mean=m, where=M23, ddof=1), (X23, mu1), order=2)
    check_grads(lambda a, m: fn(a, mean=m, dtype=np.float32), (X23, np.array([[0.3]])),
                order=2, atol=2e-3, rtol=2e-3, eps=1e-3)
    # a constant input (here integer) with only the mean traced
    ints = np.array([[1, 4, 2], [0, 3, 5]])
    check_grads(lambda m: fn(ints, axis=0, mean=m), (np.array([[0.5, 3.0, 2.2]]),), order=2)
    v, _ = _traced(lambda m: fn(ints, axis=0, mean=m), (np.array([[0.5, 3.0, 2.2]]),), {}, "rev")
    _assert_same(v, fn(ints, axis=0, mean=np.array([[0.5, 3.0, 2.2]])))
    # the mean computed in the same trace gives the plain var/std
    v, g = ad.value_and_grad(lambda a: np.sum(fn(a, axis=1, mean=np.mean(a, axis=1, keepdims=True))))(X23)
    v0, g0 = ad.value_and_grad(lambda a: np.sum(fn(a, axis=1)))(X23)
    assert v == pytest.approx(v0, rel=1e-14)
    np.testing.assert_allclose(g, g0, rtol=1e-12, atol=1e-14)


def test_mean_that_would_broadcast_the_input_is_refused():
    with pytest.raises(TypeError, match="mean"):
        ad.grad(lambda a: np.var(a, mean=np.zeros((2, 1))))(X4)


# ---- NumPy's errors and the refused values -------------------------------------------
_ALL = [np.sum, np.mean, np.var, np.std, np.max, np.amax, np.min, np.amin, np.prod]


def _same_error(call, exc):
    with pytest.raises(exc):
        call(X23)
    with pytest.raises(exc):
        ad.grad(lambda y: np.sum(call(y)))(X23)


@pytest.mark.parametrize("fn", _ALL)
def test_numpys_errors_for_axis_keepdims_and_where(fn):
    _same_error(lambda y: fn(y, axis=[0, 1]), TypeError)
    _same_error(lambda y: fn(y, axis=1.0), TypeError)
    _same_error(lambda y: fn(y, axis=(0, 0)), ValueError)
    _same_error(lambda y: fn(y, axis=2), np.exceptions.AxisError)
    _same_error(lambda y: fn(y, keepdims=np.True_), TypeError)
    _same_error(lambda y: fn(y, keepdims=None), TypeError)
    extra = {"initial": 0.0} if fn in (np.max, np.amax, np.min, np.amin) else {}
    _same_error(lambda y: fn(y, where=np.array([1.0, 0.0, 1.0]), **extra), TypeError)
    _same_error(lambda y: fn(y, where=np.array([True, False]), **extra), ValueError)


def test_cumsum_axis_is_one_integer():
    _same_error(lambda y: np.cumsum(y, axis=(0,)), TypeError)
    _same_error(lambda y: np.cumsum(y, axis=-3), np.exceptions.AxisError)


@pytest.mark.parametrize("fn", _ALL + [np.cumsum])
def test_out_is_refused_naming_it(fn):
    target = np.empty_like(fn(X23, axis=0))
    with pytest.raises(TypeError, match=r"out=.*numpy\.") as info:
        ad.grad(lambda y: np.sum(fn(y, axis=0, out=target)))(X23)
    assert fn.__name__.lstrip("a") in str(info.value)
    # out=None is the default
    ad.grad(lambda y: np.sum(fn(y, axis=0, out=None)))(X23)


@pytest.mark.parametrize("fn", [np.sum, np.mean, np.var, np.std, np.prod, np.cumsum])
def test_object_dtype_is_refused(fn):
    # (a complex dtype= computes in complex: tests/test_complex_reductions.py)
    with pytest.raises(TypeError, match="dtype="):
        ad.grad(lambda y: np.sum(fn(y, dtype=object)).real)(X23)


@pytest.mark.parametrize("fn", [np.sum, np.prod, np.max, np.min])
def test_traced_initial_is_refused(fn):
    with pytest.raises(TypeError, match="initial="):
        ad.grad(lambda y: fn(y, initial=y[0]))(X4)


@pytest.mark.parametrize("fn", [np.var, np.std])
@pytest.mark.parametrize("name", ["ddof", "correction"])
def test_traced_or_array_ddof_is_refused(fn, name):
    with pytest.raises(TypeError, match=f"{name}="):
        ad.grad(lambda y: fn(y, **{name: y[0]}))(X4)
    with pytest.raises(TypeError, match=f"{name}="):
        ad.grad(lambda y: np.sum(fn(y, **{name: np.array([0, 1])})))(X4)


@pytest.mark.parametrize("fn", [np.var, np.std])
def test_ddof_beyond_the_count_gives_numpys_inf(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = fn(X23, axis=0, ddof=3)
        got, _ = _traced(fn, (X23,), {"axis": 0, "ddof": 3}, "rev")
        _assert_same(got, want)
        got, _ = _traced(fn, (X23,), {"axis": 0, "ddof": 2}, "fwd")
        _assert_same(got, fn(X23, axis=0, ddof=2))


# ---- the array methods pass their arguments in NumPy's order ----------------------------
METHOD_CALLS = [
    ("sum", (1, None, None, True, 0.5, M23)),
    ("sum", (0, np.float32)),
    ("sum", (None, int)),
    ("prod", (1, None, None, False, 2.0, M23)),
    ("mean", (1, np.float32, None, True)),
    ("mean", (0, None, None, False), {"where": M23}),
    ("var", (1, None, None, 1, True)),
    ("var", (0, None, None, 0, False), {"where": M23, "mean": np.zeros((1, 3))}),
    ("std", (1, np.float32, None, 1)),
    ("std", (None, None, None, 1, True), {"where": M23}),
    ("max", (1, None, True, 2.0, M23)),
    ("max", (0,)),
    ("min", (1, None, False, -0.7, M23)),
    ("cumsum", (1, np.float32, None)),
    ("cumsum", (0, int)),
]


@pytest.mark.parametrize("call", METHOD_CALLS, ids=lambda c: f"{c[0]}{len(c[1])}")
def test_array_methods_match_ndarray_methods(call):
    name, args = call[0], call[1]
    kwargs = call[2] if len(call) > 2 else {}
    want = getattr(X23, name)(*args, **kwargs)
    for mode in ("fwd", "rev"):
        got, _ = _traced(lambda y: getattr(y, name)(*args, **kwargs), (X23,), {}, mode)
        _assert_same(got, want, f"x.{name}{args} in {mode} mode")
    if np.asarray(want).dtype.kind == "f":
        check_grads(lambda y: getattr(y, name)(*args, **kwargs), (X23,), order=2,
                    **_tolerances(want))


# ---- compiled sweeps (linearize) see the mask too ----------------------------------------
def test_linearize_with_where_matches_jvp():
    def f(x):
        return np.sum(np.sin(x), axis=1, where=M23) + np.mean(x * x, axis=1, where=M23)
    v = np.array([[0.3, -1.0, 2.0], [1.5, 0.2, -0.4]])
    out, f_jvp = ad.linearize(f, X23)
    _assert_same(out, f(X23))
    for _ in range(2):  # the second call reuses the compiled factors
        np.testing.assert_allclose(f_jvp(v), ad.jvp(f, (X23,), (v,))[1], rtol=1e-13)
    both = np.stack([v, -2 * v])
    np.testing.assert_allclose(f_jvp(both, batched=True),
                               np.stack([f_jvp(v), f_jvp(-2 * v)]), rtol=1e-13)
