"""cumprod, median, percentile, quantile, average, ptp and the nan* family
(dualad/rules/statistics.py).

``HONOURED`` (imported by tests/test_keywords.py) lists each honoured
NumPy parameter with sample calls; the walker checks their values against
NumPy's and their derivatives by finite differences, and checks that every
other parameter is refused by name.  The named tests below pin the edge
inputs: zeros in cumprod (exact, no division), complex cumprod, ties and
NaNs in the order statistics, a traced ``q``, the refused methods -- against
hand-computed derivatives and finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads

X23 = np.array([[1.3, -0.4, 2.2], [0.7, 1.9, -1.1]])
X4 = np.array([0.6, -1.2, 2.3, 0.9])
X232 = np.array([[[0.3, 1.6], [-0.8, 2.1], [1.2, -1.7]],
                 [[0.4, -0.2], [1.1, 0.8], [-1.4, 2.6]]])
Z23 = np.array([[1.3, 0.0, 2.2], [0.0, 1.9, 0.0]])  # zeros: the no-division path
T24 = np.array([[1.5, -0.5, 1.5, 2.0], [0.3, 1.1, -0.7, 0.3]])  # ties in each row, where
T6 = np.array([0.4, 2.0, -1.0, 0.4, 3.0, -2.0])                 # the median is smooth
W23 = np.array([[0.5, 1.2, 0.3], [2.0, 0.1, 0.7]])
Q3 = np.array([0.15, 0.45, 0.85])  # no virtual index an integer: q is smooth there
I23 = np.array([[3, 1, 4], [1, 5, 9]])


def _quantile_calls(scale, q, qs):
    """The calls shared by quantile (scale 1) and percentile (scale 100)."""
    return {
        "a": [((X23, q), {}), ((X4, q), {}), ((X23.astype(np.float32), q), {}),
              ((X4, scale * np.array(0.3)), {}), ((X23, scale * 0.0), {}), ((X23, scale * 1.0), {}),
              ((X23, np.array([0, int(scale)])), {"axis": 1})],
        "q": [((X23, qs), {}), ((X23, qs), {"axis": 0}), ((X232, qs), {"axis": (0, 2)}),
              ((X4, np.array(q)), {}), ((X23, (X4[:2] + 1.3) * scale / 4), {"axis": 1}),
              ((I23, qs), {"axis": 1})],
        "axis": [((X23, q), {"axis": 0}), ((X23, q), {"axis": -1}), ((X232, q), {"axis": (2, 0)}),
                 ((X232, qs), {"axis": (0, 1, 2)}), ((X23, q), {"axis": None}),
                 ((X23, q), {"axis": np.int64(1)})],
        "keepdims": [((X23, q), {"keepdims": True}), ((X23, qs), {"axis": 1, "keepdims": True}),
                     ((X232, q), {"axis": (0, 2), "keepdims": True}),
                     ((X23, q), {"keepdims": False})],
        "overwrite_input": [((X23.copy(), q), {"overwrite_input": True}),
                            ((X23.copy(), qs), {"overwrite_input": True, "axis": 0})],
        "method": [((X23, q), {"method": "linear"}), ((X23, qs), {"method": "linear", "axis": 1})],
        "weights": [((X23, q), {"weights": None})],
    }

HONOURED = {
    np.cumprod: {
        "a": [((X23,), {}), ((X4,), {}), ((Z23,), {}), ((X4 + 1j * X4[::-1],), {})],
        "axis": [((X23,), {"axis": 0}), ((X23,), {"axis": 1}), ((Z23,), {"axis": -1}),
                 ((X232,), {"axis": -2}), ((X23,), {"axis": None}),
                 ((X23,), {"axis": np.int64(1)})],
        "dtype": [((X23,), {"dtype": np.float32}), ((X23,), {"dtype": np.float32, "axis": 0}),
                  ((X23,), {"dtype": int, "axis": 1}), ((X23,), {"dtype": np.complex128})],
    },
    np.quantile: _quantile_calls(1.0, 0.3, Q3),
    np.percentile: _quantile_calls(100.0, 30.0, 100 * Q3),
    np.average: {
        "a": [((X23,), {}), ((X4,), {}), ((X23.astype(np.float32),), {})],
        "axis": [((X23,), {"axis": 0}), ((X23,), {"axis": -1}), ((X232,), {"axis": (2, 0)}),
                 ((X23,), {"axis": None}), ((X23,), {"axis": np.int64(1), "weights": W23[0]})],
        # (positional, so that the walker traces the weights too)
        "weights": [((X23, None, W23), {}), ((X23, 1, W23[0]), {}),
                    ((X232, (1, 0), W23.T), {}), ((X23, 0, W23), {}), ((I23, None, W23), {}),
                    ((X23.astype(np.float32), None, W23.astype(np.float32)), {}),
                    ((X23, None, W23, True), {"keepdims": True})],
        "returned": [((X23,), {"returned": True}), ((X23,), {"returned": True, "axis": 1}),
                     ((X23,), {"returned": True, "weights": W23, "axis": 0}),
                     ((X23,), {"returned": True, "weights": W23[0], "axis": 1}),
                     ((X23,), {"returned": False, "weights": W23})],
        "keepdims": [((X23,), {"keepdims": True}), ((X23,), {"keepdims": True, "axis": 1}),
                     ((X23,), {"keepdims": True, "axis": 1, "weights": W23[0], "returned": True}),
                     ((X23,), {"keepdims": False, "weights": W23})],
    },
    np.ptp: {
        "a": [((X23,), {}), ((X4,), {}), ((X4 + 1j * X4[::-1],), {})],
        "axis": [((X23,), {"axis": 0}), ((X23,), {"axis": -1}), ((X232,), {"axis": (0, 2)}),
                 ((X23,), {"axis": None})],
        "keepdims": [((X23,), {"keepdims": True}), ((X23,), {"axis": 1, "keepdims": True}),
                     ((X23,), {"axis": 1, "keepdims": False})],
    },
    np.median: {
        "a": [((X23,), {}), ((X4,), {}), ((T6,), {}), ((T24,), {"axis": 1}), ((X23.astype(np.float32),), {}),
              ((X4 + 1j * X4[::-1],), {})],
        "axis": [((X23,), {"axis": 0}), ((X23,), {"axis": 1}), ((T24,), {"axis": -1}),
                 ((X232,), {"axis": (2, 0)}), ((X23,), {"axis": None}),
                 ((X23,), {"axis": np.int64(1)})],
        "keepdims": [((X23,), {"keepdims": True}), ((X23,), {"axis": 1, "keepdims": True}),
                     ((X232,), {"axis": (0, 2), "keepdims": True})],
        "overwrite_input": [((X23.copy(),), {"overwrite_input": True}),
                            ((X23.copy(),), {"overwrite_input": True, "axis": 0})],
    },
}


# ---- cumprod ------------------------------------------------------------------------
def test_cumprod_with_zeros_is_exact():
    # sum(cumprod(x)) = x0 + x0 x1 + x0 x1 x2: at [2, 0, 3] the gradient is
    # [1 + x1 + x1 x2, x0 + x0 x2, x0 x1] = [1, 8, 0]; Hessian by hand
    f = lambda x: np.sum(np.cumprod(x))
    x = np.array([2.0, 0.0, 3.0])
    for g in (ad.grad(f)(x), ad.jacfwd(f)(x)):
        np.testing.assert_allclose(g, [1.0, 8.0, 0.0], rtol=0, atol=1e-15)
    H = np.array([[0.0, 1 + 3.0, 0.0], [4.0, 0.0, 2.0], [0.0, 2.0, 0.0]])
    np.testing.assert_allclose(ad.hessian(f)(x), H, rtol=0, atol=1e-15)
    assert np.all(np.isfinite(ad.jacrev(np.cumprod)(np.zeros(4))))


@pytest.mark.parametrize("x", [np.zeros(3), np.array([0.0, 0.0, 1.5, -2.0]),
                               np.array([[0.0, 1.2, -0.7], [1.1, 0.0, 0.0]])])
def test_cumprod_with_zeros_passes_finite_differences(x):
    check_grads(lambda x: np.cumprod(x, axis=-1) ** 2 + np.cumprod(x[..., ::-1], axis=0),
                (x,), order=2, modes=("fwd", "rev"))


def test_cumprod_of_complex_values():
    z = np.array([1 + 1j, 0.0, 2 - 1j])
    value, tangent = ad.jvp(np.cumprod, (z,), (np.ones(3, complex),))
    np.testing.assert_array_equal(value, np.cumprod(z))
    # d out = [t0, x1 t0 + x0 t1, (x1 x2 + x0 x2 + x0 x1) t] at t = 1
    np.testing.assert_allclose(tangent, [1, 1 + 1j, (1 + 1j) * (2 - 1j)], atol=1e-15)


def test_cumprod_refuses_out():
    with pytest.raises(TypeError, match="out"):
        ad.grad(lambda x: np.sum(np.cumprod(x, out=np.empty(3))))(np.ones(3))


# ---- median / percentile / quantile -------------------------------------------------
def test_quantile_derivative_by_hand():
    # 6 values, q = 0.3: virtual index 1.5, so 0.5 (s1 + s2); d/dq = 5 (s2 - s1)
    s = np.sort(X23.ravel())
    g = ad.grad(lambda x: np.quantile(x, 0.3))(X23)
    expected = np.zeros(6)
    expected[np.argsort(X23.ravel())[[1, 2]]] = 0.5
    np.testing.assert_allclose(g.ravel(), expected, atol=1e-15)
    np.testing.assert_allclose(ad.grad(lambda q: np.quantile(X23, q))(0.3), 5 * (s[2] - s[1]),
                               rtol=1e-12)
    np.testing.assert_allclose(ad.grad(lambda q: np.percentile(X23, q))(30.0),
                               5 * (s[2] - s[1]) / 100, rtol=1e-12)


@pytest.mark.parametrize("x", [np.array([1.0, 2.0, 2.0, 3.0]),
                               np.array([[0.5, 1.0, 0.5, -2.0], [3.0, -1.0, 3.0, 5.0]]).T])
def test_median_at_ties_where_it_is_smooth(x):
    # even counts: the two middle positions share 1/2 each, so the tied
    # entries covering both get the derivative finite differences give
    check_grads(lambda x: np.median(x, axis=0) ** 2, (x,), order=2, modes=("fwd", "rev"))


def test_tie_convention_stable_order():
    # [2, 1, 2]: the median is a tied 2, and its derivative goes to the
    # entry the stable sort puts in the middle, the first 2 (docs/kinks.md)
    for g in (ad.grad(np.median)(np.array([2.0, 1.0, 2.0])),
              ad.jacfwd(np.median)(np.array([2.0, 1.0, 2.0]))):
        np.testing.assert_array_equal(g, [1.0, 0.0, 0.0])
    g = ad.grad(lambda x: np.quantile(x, 0.25))(np.array([2.0, 2.0, 1.0, 5.0]))
    np.testing.assert_allclose(g, [0.75, 0.0, 0.25, 0.0])


@pytest.mark.parametrize("f", [lambda x: np.median(x, axis=-1), lambda x: np.quantile(x, 0.4, axis=-1),
                               lambda x: np.percentile(x, [20.0, 70.0], axis=-1)])
def test_order_statistics_of_nan_slices_are_nan(f):
    x = np.array([[1.0, np.nan, 2.0], [0.5, 1.5, -1.0]])
    value, _ = ad.jvp(f, (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(value, f(x))
    g = ad.grad(lambda y: np.sum(f(y)[..., 1]))(x)
    h = 1e-6
    fd = [(np.sum(f(x + h * e)[..., 1]) - np.sum(f(x - h * e)[..., 1])) / (2 * h)
          for e in np.eye(6).reshape(6, 2, 3)]
    np.testing.assert_allclose(g.ravel(), fd, atol=1e-8)


def test_order_statistics_never_write_into_the_input():
    x = X23.copy()
    ad.grad(lambda y: np.median(y, overwrite_input=True))(x)
    ad.grad(lambda y: np.sum(np.quantile(y, Q3, axis=0, overwrite_input=True)))(x)
    np.testing.assert_array_equal(x, X23)


@pytest.mark.parametrize("method", ["lower", "higher", "nearest", "midpoint", "weibull",
                                    "median_unbiased", "inverted_cdf"])
def test_other_methods_are_refused_by_name(method):
    np.quantile(X23, 0.3, method=method)  # NumPy computes it
    for f in (np.quantile, lambda x, q, method: np.percentile(x, 100 * q, method=method)):
        with pytest.raises(TypeError, match="method") as info:
            ad.grad(lambda x: f(x, 0.3, method=method))(X23)
        assert method in str(info.value)


def test_weights_are_refused_by_name():
    with pytest.raises(TypeError, match="weights"):
        ad.grad(lambda x: np.quantile(x, 0.3, method="inverted_cdf", weights=np.ones(6)))(X4)


def test_quantile_errors_are_numpy_s():
    for f, exc in [(lambda x: np.quantile(x, 1.5), ValueError),
                   (lambda x: np.percentile(x, -1.0), ValueError),
                   (lambda x: np.quantile(x + 1j, 0.5), TypeError)]:
        with pytest.raises(exc):
            f(X4)
        with pytest.raises(exc):
            ad.grad(lambda y: np.real(f(y)))(X4)


# ---- average / ptp ------------------------------------------------------------------
def test_weighted_average_derivatives_by_hand():
    # avg = Σ a w / Σ w: ∂/∂a = w / Σ w, ∂/∂w = (a - avg) / Σ w
    a, w = X4, np.array([0.5, 1.5, 1.0, 2.0])
    avg = float(np.dot(a, w) / w.sum())
    ga, gw = ad.grad(lambda a, w: np.average(a, weights=w), argnums=(0, 1))(a, w)
    np.testing.assert_allclose(ga, w / 5.0, rtol=1e-14)
    np.testing.assert_allclose(gw, (a - avg) / 5.0, rtol=1e-13)
    value, total = ad.jvp(lambda w: np.average(a, weights=w, returned=True)[1], (w,),
                          (np.ones(4),))
    assert value == 5.0 and total == 4.0


def test_average_errors_are_numpy_s():
    for kw, exc in [({"weights": np.ones(3)}, TypeError),
                    ({"weights": np.ones(2), "axis": 1}, ValueError),
                    ({"weights": np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]])}, ZeroDivisionError)]:
        with pytest.raises(exc):
            np.average(X23, **kw)
        with pytest.raises(exc):
            ad.grad(lambda x: np.average(x, **kw))(X23)


def test_ptp_ties_share_as_max_and_min():
    # max 3 tied twice (1/2 each), min 0 once
    for g in (ad.grad(np.ptp)(np.array([3.0, 1.0, 3.0, 0.0])),
              ad.jacfwd(np.ptp)(np.array([3.0, 1.0, 3.0, 0.0]))):
        np.testing.assert_array_equal(g, [0.5, 0.0, 0.5, -1.0])
    with pytest.raises(TypeError, match="out"):
        ad.grad(lambda x: np.ptp(x, out=np.empty(())))(X4)


# ---- the nan* family: inputs with NaNs (a slice of NaNs only where NumPy allows it) ---
N23 = np.array([[1.3, np.nan, 2.2], [0.7, 1.9, -1.1]])
N4 = np.array([0.6, np.nan, 2.3, np.nan])
N232 = np.where(X232 > 2.0, np.nan, X232)
NZ4 = N4 + 1j * X4                       # complex, NaN real parts
M3 = np.array([True, False, True])
M23 = np.array([[True, False, True], [False, True, True]])


def _nan_reduction_calls(initial=True, dtype=True, extremum=False):
    init = {"initial": 5.0 if extremum else 1.5}
    calls = {
        "a": [((N23,), {}), ((N4,), {}), ((X23,), {}), ((N232,), {})],
        "axis": [((N23,), {"axis": 0}), ((N23,), {"axis": 1}), ((N232,), {"axis": (0, 2)}),
                 ((N23,), {"axis": None}), ((N23,), {"axis": np.int64(-1)})],
        "keepdims": [((N23,), {"keepdims": True}), ((N23,), {"axis": 1, "keepdims": True}),
                     ((N23,), {"axis": 0, "keepdims": False})],
        "where": [((N23,), {"where": M3, **init}), ((N23,), {"where": M23, "axis": 1, **init}),
                  ((N23,), {"where": True})],
    }
    if initial:
        calls["initial"] = [((N23,), init), ((N23,), {"axis": 1, **init}),
                            ((N23,), {"axis": 0, "keepdims": True, **init})]
    if dtype:
        calls["dtype"] = [((N23,), {"dtype": np.float32}), ((N23,), {"dtype": np.float64, "axis": 1})]
    return calls


def _nan_spread_calls():
    calls = _nan_reduction_calls(initial=False)
    calls["where"] = [((N23,), {"where": M3}), ((N23,), {"where": M23, "axis": 1})]
    calls["a"].append(((NZ4,), {}))
    calls["ddof"] = [((N23,), {"ddof": 1}), ((N23,), {"ddof": 1, "axis": 1})]
    calls["correction"] = [((N23,), {"correction": 1, "axis": 1})]
    calls["mean"] = [((N23,), {"mean": np.array([[0.5], [-0.2]]), "axis": 1}),
                     ((N23,), {"mean": 0.4})]
    return calls


def _nan_cumulative_calls():
    return {
        "a": [((N23,), {}), ((N4,), {}), ((X23,), {}), ((NZ4,), {})],
        "axis": [((N23,), {"axis": 0}), ((N23,), {"axis": 1}), ((N232,), {"axis": -2}),
                 ((N23,), {"axis": None})],
        "dtype": [((N23,), {"dtype": np.float32}), ((N23,), {"dtype": np.float64, "axis": 1})],
    }


def _nan_arg_calls():
    return {
        "a": [((N23,), {}), ((N4,), {})],
        "axis": [((N23,), {"axis": 1}), ((N23,), {"axis": 0})],
        "keepdims": [((N23,), {"axis": 1, "keepdims": True})],
        "out": [((N23,), {"axis": 1, "out": np.empty(2, dtype=np.intp)})],
    }


HONOURED.update({
    np.nansum: {**_nan_reduction_calls(), "a": _nan_reduction_calls()["a"] + [((NZ4,), {})]},
    np.nanprod: _nan_reduction_calls(),
    np.nanmax: _nan_reduction_calls(dtype=False, extremum=True),
    np.nanmin: {**_nan_reduction_calls(dtype=False, extremum=True),
                "initial": [((N23,), {"initial": -5.0}), ((N23,), {"initial": 0.5, "axis": 1})],
                "where": [((N23,), {"where": M23, "axis": 1, "initial": 5.0})]},
    np.nanmean: {k: v for k, v in _nan_reduction_calls(initial=False).items() if k != "where"}
    | {"where": [((N23,), {"where": M3}), ((N23,), {"where": M23, "axis": 1})]},
    np.nanvar: _nan_spread_calls(),
    np.nanstd: _nan_spread_calls(),
    np.nancumsum: _nan_cumulative_calls(),
    np.nancumprod: _nan_cumulative_calls(),
    np.nanargmax: _nan_arg_calls(),
    np.nanargmin: _nan_arg_calls(),
})


def test_nan_entries_get_derivative_zero():
    x = np.array([[1.3, np.nan, 2.2], [np.nan, 1.9, -1.1]])
    nan = np.isnan(x)
    for f in (np.nansum, np.nanprod, np.nanmean, np.nanvar, np.nanstd, np.nanmax, np.nanmin,
              lambda y: np.sum(np.nancumsum(y, axis=1)), lambda y: np.sum(np.nancumprod(y))):
        for g in (ad.grad(f)(x), ad.jacfwd(f)(x), np.diagonal(ad.hessian(f)(x).reshape(6, 6))):
            g = np.reshape(g, x.shape)
            assert np.all(g[nan] == 0), f
            assert np.all(np.isfinite(g))
    # by hand: nanmean over 4 entries, nanprod of the other entries
    np.testing.assert_allclose(ad.grad(np.nanmean)(x)[~nan], 0.25)
    p = np.nanprod(x)
    np.testing.assert_allclose(ad.grad(np.nanprod)(x)[~nan], p / x[~nan], rtol=1e-14)


def test_nan_slices_only():
    x = np.array([[np.nan, np.nan], [0.5, np.nan]])
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        expected = np.nanmax(x, axis=1)
    value, tangent = ad.jvp(lambda y: np.nanmax(y, axis=1), (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(value, expected)            # [nan, 0.5]
    np.testing.assert_array_equal(tangent[1], 1.0)
    np.testing.assert_array_equal(ad.grad(lambda y: np.nansum(y[0]) + np.nanmin(y[1]))(x),
                                  [[0.0, 0.0], [1.0, 0.0]])
    assert np.nanargmax(ad.jvp(lambda y: y * 2, (x[1],), (np.ones(2),))[0]) == 0


def test_nan_family_refuses_out():
    for f in (np.nansum, np.nanprod, np.nanmean, np.nanvar, np.nanstd, np.nanmax, np.nanmin,
              np.nancumsum, np.nancumprod):
        with pytest.raises(TypeError, match="out") as info:
            ad.grad(lambda y: np.sum(f(y, out=np.empty(4))))(N4)
        assert f.__name__ in str(info.value)


def _nanquantile_calls(scale, q, qs):
    return {
        "a": [((N23, q), {}), ((N4, q), {}), ((X23, q), {}), ((N23.astype(np.float32), q), {}),
              ((N23, np.array([0, int(scale)])), {"axis": 1}), ((N232, scale * np.array(0.3)), {})],
        "q": [((N23, qs), {}), ((N23, qs), {"axis": 0}), ((N232, qs), {"axis": (0, 2)}),
              ((I23, qs), {"axis": 1})],
        "axis": [((N23, q), {"axis": 0}), ((N23, q), {"axis": -1}), ((N232, q), {"axis": (2, 0)}),
                 ((N23, q), {"axis": None})],
        "keepdims": [((N23, q), {"keepdims": True}), ((N23, qs), {"axis": 1, "keepdims": True}),
                     ((N232, q), {"axis": (0, 2), "keepdims": True})],
        # (without NaNs: NumPy moves entries over the NaNs of the array it may overwrite)
        "overwrite_input": [((X23.copy(), q), {"overwrite_input": True})],
        "method": [((N23, qs), {"method": "linear", "axis": 1})],
        "weights": [((N23, q), {"weights": None})],
    }


HONOURED.update({
    np.nanquantile: _nanquantile_calls(1.0, 0.3, Q3),
    np.nanpercentile: _nanquantile_calls(100.0, 30.0, 100 * Q3),
    np.nanmedian: {
        "a": [((N23,), {}), ((N4,), {}), ((X23,), {}), ((N23.astype(np.float32),), {})],
        "axis": [((N23,), {"axis": 0}), ((N23,), {"axis": 1}), ((N232,), {"axis": (2, 0)}),
                 ((N23,), {"axis": None})],
        "keepdims": [((N23,), {"keepdims": True}), ((N23,), {"axis": 1, "keepdims": True})],
        "overwrite_input": [((X23.copy(),), {"overwrite_input": True, "axis": 1})],
    },
})


def test_nan_order_statistics_by_hand():
    # row 0 of N23 is [1.3, nan, 2.2]: its median is their mean, its 0.3
    # quantile 1.3 + 0.3 (2.2 - 1.3), d/dq = 2.2 - 1.3; the NaN gets 0
    np.testing.assert_array_equal(ad.grad(lambda x: np.nanmedian(x, axis=1)[0])(N23),
                                  [[0.5, 0.0, 0.5], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(ad.grad(lambda x: np.nanquantile(x, 0.3, axis=1)[0])(N23),
                               [[0.7, 0.0, 0.3], [0.0, 0.0, 0.0]], rtol=1e-14)
    np.testing.assert_allclose(ad.grad(lambda q: np.nanquantile(N23, q, axis=1)[0])(0.3), 0.9,
                               rtol=1e-14)
    x = np.array([[np.nan, np.nan, np.nan], [0.5, np.nan, -1.0]])
    for f in (lambda y: np.nanmedian(y, axis=1), lambda y: np.nanpercentile(y, 25.0, axis=1)):
        with pytest.warns(RuntimeWarning):
            expected = f(x)
        value, tangent = ad.jvp(f, (x,), (np.ones_like(x),))
        np.testing.assert_array_equal(value, expected)
        assert tangent[1] == 1.0
        assert np.all(ad.grad(lambda y: f(y)[1])(x)[np.isnan(x)] == 0)
    with pytest.raises(TypeError, match="method"):
        ad.grad(lambda y: np.nanquantile(y, 0.3, method="nearest"))(N4)


def test_nan_order_statistics_never_write_into_the_input():
    x = N23.copy()
    ad.grad(lambda y: np.nanmedian(y, overwrite_input=True))(x)
    ad.grad(lambda y: np.sum(np.nanpercentile(y, [20.0, 70.0], overwrite_input=True)))(x)
    np.testing.assert_array_equal(x, N23)


def test_the_cumprod_method_is_numpys_function():
    x = np.array([[2.0, 0.0, 3.0], [0.5, -1.0, 4.0]])
    check_grads(lambda x: x.cumprod(axis=1), (x,), order=2)
    np.testing.assert_array_equal(ad.jvp(lambda x: x.cumprod(), (x,), (x,))[0], x.cumprod())
