"""interp, convolve, correlate, cov, corrcoef, trapezoid, gradient, polyfit,
linspace, geomspace, logspace (dualad/rules/numeric.py).

``HONOURED`` (imported by tests/test_keywords.py) lists each honoured NumPy
parameter with sample calls; the walker checks their values against
NumPy's and their derivatives by finite differences, and that every other
parameter is refused by name.  The named tests below pin the rest against
NumPy's values and finite differences (never the rules' own formulas):
every mode of convolve/correlate with either argument the longer, complex
values, interp on the grid points, outside the range and across a period,
the endpoints of the spacing functions, polyfit's full/cov outputs, vector
mode and the nestings of the Hessian.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads

A5 = np.array([0.7, -1.3, 2.1, 0.4, -0.6])
V3 = np.array([0.5, 1.2, -0.8])
V4 = np.array([1.1, -0.2, 0.9, 0.3])
Z3 = np.array([0.5 + 0.3j, -1.0 + 0.7j, 0.2 - 1.1j])
XP = np.array([0.0, 0.5, 1.3, 2.0])
FP = np.array([1.0, -0.3, 0.8, 2.0])
XQ = np.array([-0.5, 0.2, 0.7, 1.6, 2.5])             # below, inside, above the grid
XQ2 = np.array([[0.1, 0.9], [1.7, 3.3]])
M36 = np.array([[0.3, 1.2, -0.7, 2.2, 0.1, -1.4],
                [1.1, -0.4, 0.8, 0.6, -2.0, 0.9],
                [-0.5, 0.7, 1.9, -1.2, 0.4, 0.2]])
Y6 = np.array([0.2, -1.1, 0.5, 1.7, -0.3, 0.8])
AW6 = np.array([0.5, 1.4, 0.9, 2.0, 0.7, 1.1])
FW6 = np.array([1, 2, 1, 3, 1, 2])
F45 = np.array([[0.3, 1.2, -0.7, 2.2, 0.1], [1.1, -0.4, 0.8, 0.6, -2.0],
                [-0.5, 0.7, 1.9, -1.2, 0.4], [0.9, 0.2, -0.3, 1.4, 0.6]])
C5 = np.array([0.0, 0.4, 1.1, 1.5, 2.3])
C4 = np.array([-1.0, -0.2, 0.5, 1.6])
PX = np.array([0.0, 0.4, 1.1, 1.5, 2.3, 3.0, 3.4])
PY = np.array([0.3, -0.2, 0.9, 1.6, 0.4, -1.1, 0.2])
PY2 = np.stack([PY, PY[::-1] * 0.5 + 0.1], axis=1)
PW = np.array([0.5, 1.4, 0.9, 2.0, 0.7, 1.1, 1.3])
S0, S1 = np.array(0.3), np.array(2.0)

HONOURED = {
    np.interp: {
        "x": [((XQ, XP, FP), {}), ((XQ2, XP, FP), {}), ((np.array(0.9), XP, FP), {}),
              ((XQ.astype(np.float32), XP, FP), {})],
        "xp": [((XQ, XP, FP), {}), ((XQ, XP * 2 - 0.25, FP), {})],
        "fp": [((XQ, XP, FP), {}), ((XQ, XP, FP + 1j * FP[::-1]), {}),
               ((XQ, XP, FP.astype(np.float32)), {})],
        "left": [((XQ, XP, FP, np.array(3.5)), {}), ((XQ, XP, FP), {"left": -2.0}),
                 ((XQ, XP, FP + 1j * FP), {"left": 1.5 - 2j})],
        "right": [((XQ, XP, FP, None, np.array(-1.5)), {}), ((XQ, XP, FP), {"right": 4.0}),
                  ((XQ, XP, FP, np.array(0.5), np.array(-0.5)), {})],
        "period": [((XQ * 2.2 + 0.13, XP, FP, None, None, np.array(2.3)), {}),
                   ((XQ * 2.2 + 0.13, XP, FP), {"period": -2.7}),
                   ((XQ * 2.2 + 0.13, XP, FP + 1j * FP[::-1]), {"period": 2.3})],
    },
    np.convolve: {
        "a": [((A5, V3), {}), ((V3, A5), {}), ((A5, Z3), {}), ((np.array(1.5), V3), {}),
              ((A5.astype(np.float32), V3.astype(np.float32)), {})],
        "v": [((A5, V4), {}), ((V4, V3), {}), ((Z3, V4), {})],
        "mode": [((A5, V3), {"mode": m}) for m in ("full", "same", "valid")]
                + [((V4, A5), {"mode": m}) for m in ("same", "valid")]
                + [((A5, V4, "same"), {}), ((A5, V3), {"mode": 0})],
    },
    np.correlate: {
        "a": [((A5, V3), {}), ((V3, A5), {}), ((A5, Z3), {}), ((Z3, V4), {})],
        "v": [((A5, V4), {}), ((V4, A5), {}), ((A5, Z3), {})],
        "mode": [((A5, V4), {"mode": m}) for m in ("full", "same", "valid")]
                + [((V4, A5), {"mode": m}) for m in ("full", "same", "valid")]
                + [((V3, A5), {"mode": "same"}), ((Z3, A5, "same"), {}), ((A5, V3), {"mode": 1})],
    },
    np.cov: {
        "m": [((M36,), {}), ((Y6,), {}), ((M36 + 1j * M36[::-1],), {}),
              ((M36.astype(np.float32),), {})],
        "y": [((M36, Y6), {}), ((Y6, Y6[::-1] ** 2), {}), ((M36.T, M36[:2].T), {"rowvar": False})],
        "rowvar": [((M36.T,), {"rowvar": False}), ((Y6,), {"rowvar": False}),
                   ((M36,), {"rowvar": True})],
        "bias": [((M36,), {"bias": True}), ((M36,), {"bias": False, "aweights": AW6})],
        "ddof": [((M36,), {"ddof": 0}), ((M36,), {"ddof": 2}),
                 ((M36,), {"ddof": 2, "aweights": AW6, "fweights": FW6}),
                 ((M36,), {"ddof": 0, "aweights": AW6})],
        "fweights": [((M36,), {"fweights": FW6}), ((M36,), {"fweights": FW6, "ddof": 0})],
        # (positional, so that the walker traces the weights too)
        "aweights": [((M36, None, True, False, None, None, AW6), {}),
                     ((M36, None, True, False, None, FW6, AW6), {}),
                     ((M36, Y6, True, True, None, None, AW6), {})],
        "dtype": [((M36,), {"dtype": np.float32}), ((M36,), {"dtype": np.complex128}),
                  ((M36,), {"dtype": np.float64, "aweights": AW6})],
    },
    np.corrcoef: {
        "x": [((M36,), {}), ((M36 + 1j * M36[::-1],), {}), ((M36.astype(np.float32),), {})],
        "y": [((M36, Y6), {}), ((Y6, Y6[::-1] ** 2), {})],
        "rowvar": [((M36.T,), {"rowvar": False}), ((M36.T, M36[0]), {"rowvar": False})],
        "dtype": [((M36,), {"dtype": np.float32}), ((M36, Y6), {"dtype": np.float64})],
    },
    np.trapezoid: {
        "y": [((F45,), {}), ((A5,), {}), ((F45.astype(np.float32),), {})],
        "x": [((F45, C5), {}), ((F45, np.tile(C5, (4, 1))), {}), ((F45.T, C5), {"axis": 0})],
        "dx": [((F45, None, np.array(0.7)), {}), ((F45,), {"dx": 2.5})],
        "axis": [((F45,), {"axis": 0}), ((F45, C4), {"axis": -2}), ((F45,), {"axis": 1})],
    },
    np.gradient: {
        "f": [((F45,), {}), ((A5,), {}), ((F45.astype(np.float32),), {})],
        "varargs": [((F45, np.array(0.7)), {}), ((F45, np.array(0.7), C5), {}),
                    ((F45, C4, C5), {}), ((A5, C5), {}), ((A5, np.arange(5.0) * 0.5), {}),
                    ((A5, C5), {"edge_order": 2}), ((F45, C4, np.array(1.3)), {"edge_order": 2})],
        "axis": [((F45,), {"axis": 0}), ((F45, C5), {"axis": 1}), ((F45, C5), {"axis": -1}),
                 ((F45,), {"axis": (1, 0)})],
        "edge_order": [((F45,), {"edge_order": 2}), ((F45,), {"edge_order": 1}),
                       ((F45, np.array(0.4)), {"edge_order": 2, "axis": 0})],
    },
    np.polyfit: {
        "x": [((PX, PY, 2), {}), ((PX, PY2, 3), {}), ((PX, PY, 0), {})],
        "y": [((PX, PY, 1), {}), ((PX, PY2, 2), {}), ((PX, PY + 1j * PY[::-1], 2), {"full": True}),
              ((PX, PY + 1j * PY[::-1], 2), {"cov": True})],
        "deg": [((PX, PY, 3), {}), ((PX, PY, np.int64(2)), {})],
        "rcond": [((PX, PY, 2), {"rcond": 1e-10}), ((PX, PY, 2), {"rcond": None})],
        "full": [((PX, PY, 2), {"full": True}), ((PX, PY2, 2), {"full": True}),
                 ((PX, PY, 2, None, True, PW), {}), ((PX, PY, 2), {"full": False})],
        "w": [((PX, PY, 2, None, False, PW), {}), ((PX, PY2, 2, None, False, PW), {})],
        "cov": [((PX, PY, 2), {"cov": True}), ((PX, PY2, 2), {"cov": True}),
                ((PX, PY, 2, None, False, PW), {"cov": "unscaled"}),
                ((PX, PY, 2, None, False, PW), {"cov": True})],
    },
    np.linspace: {
        "start": [((S0, S1), {}), ((np.array([0.3, -1.0]), S1), {}),
                  ((S0.astype(np.float32), 4), {})],
        "stop": [((S0, S1, 7), {}), ((S0, np.array([[2.0], [-3.0]]), 4), {}),
                 ((1, S1), {"num": 3})],
        "num": [((S0, S1, 1), {}), ((S0, S1, 0), {}), ((S0, S1, 2), {}), ((S0, S1), {"num": 9})],
        "endpoint": [((S0, S1, 5, False), {}), ((S0, S1, 1), {"endpoint": False}),
                     ((S0, np.array([2.0, 4.0])), {"num": 4, "endpoint": False})],
        "retstep": [((S0, S1, 5), {"retstep": True}), ((S0, S1, 5, False, True), {}),
                    ((S0, np.array([2.0, 4.0]), 3), {"retstep": True})],
        "dtype": [((S0, S1, 5), {"dtype": np.float32}), ((S0, S1 * 4, 5), {"dtype": int}),
                  ((S0, S1, 5), {"dtype": np.complex128})],
        "axis": [((np.array([0.3, -1.0]), S1, 4), {"axis": 1}),
                 ((np.array([0.3, -1.0]), S1, 4), {"axis": -1}),
                 ((np.array([[0.3], [-1.0]]), np.array([2.0, 3.0]), 3), {"axis": 1})],
        "device": [((S0, S1, 4), {"device": "cpu"}), ((S0, S1, 4), {"device": None})],
    },
    np.geomspace: {
        "start": [((S0, S1), {}), ((np.array([0.3, -2.0]), np.array([5.0, -0.1]), 4), {}),
                  ((np.array(0.3 + 0.5j), np.array(2.0 - 1j), 5), {})],
        "stop": [((S0, S1, 6), {}), ((S0, np.array([2.0, 9.0]), 4), {})],
        "num": [((S0, S1, 1), {}), ((S0, S1, 2), {}), ((S0, S1, 0), {})],
        "endpoint": [((S0, S1, 5, False), {}), ((S0, S1, 1, False), {})],
        "dtype": [((S0, S1, 5), {"dtype": np.float32}), ((S0, S1, 5, True, np.complex128), {})],
        "axis": [((np.array([0.3, 2.0]), S1, 4), {"axis": 1}),
                 ((np.array([0.3, 2.0]), S1, 4), {"axis": -1})],
    },
    np.logspace: {
        "start": [((S0, S1), {}), ((np.array([0.3, -1.0]), S1, 4), {})],
        "stop": [((S0, S1, 6), {}), ((S0, np.array([2.0, 1.0]), 4), {})],
        "num": [((S0, S1, 1), {}), ((S0, S1, 0), {}), ((S0, S1, 3), {})],
        "endpoint": [((S0, S1, 5, False), {})],
        "base": [((S0, S1, 5, True, np.array(2.5)), {}), ((S0, S1, 4), {"base": 3.0}),
                 ((S0, S1, 4, True, np.array([2.0, 3.5])), {}),
                 ((S0, S1, 4, True, np.array([2.0, 3.5])), {"axis": 1})],
        "dtype": [((S0, S1, 5), {"dtype": np.float32}), ((S0, S1, 5), {"dtype": np.complex128})],
        "axis": [((np.array([0.3, -1.0]), S1, 4), {"axis": 1}),
                 ((np.array([0.3, -1.0]), S1, 4), {"axis": -1})],
    },
}


def _hessians_agree(f, x):
    h = ad.hessian(f)(x)
    np.testing.assert_allclose(h, ad.jacrev(ad.jacrev(f))(x), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(h, ad.jacfwd(ad.jacfwd(f))(x), rtol=1e-9, atol=1e-11)


def _batched_agrees(f, args, k=3, seed=0):
    rng = np.random.default_rng(seed)
    V = [rng.standard_normal((k,) + np.shape(a)) for a in args]
    _, batched = ad.jvp(f, args, tuple(V), batched=True)
    for i in range(k):
        _, single = ad.jvp(f, args, tuple(v[i] for v in V))
        for b, s in zip(ad.tree_flatten(batched)[0], ad.tree_flatten(single)[0]):
            np.testing.assert_allclose(np.asarray(b)[i], s, rtol=1e-10, atol=1e-12)


# ---- convolve / correlate ----------------------------------------------------------------
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("fn", [np.convolve, np.correlate], ids=["convolve", "correlate"])
@pytest.mark.parametrize("n, m", [(5, 3), (3, 5), (4, 4), (2, 5), (6, 1), (4, 6)])
def test_convolve_and_correlate_every_mode_and_length(fn, mode, n, m):
    rng = np.random.default_rng(n * 10 + m)
    a, v = rng.standard_normal(n), rng.standard_normal(m)
    f = lambda a, v: fn(a, v, mode)
    value, _ = ad.jvp(f, (a, v), (a, v))
    np.testing.assert_allclose(value, fn(a, v, mode), rtol=1e-13, atol=1e-15)
    check_grads(f, (a, v), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_complex_correlate_conjugates_v(mode):
    rng = np.random.default_rng(3)
    a = rng.standard_normal(5) + 1j * rng.standard_normal(5)
    v = rng.standard_normal(3) + 1j * rng.standard_normal(3)
    for x, y in ((a, v), (v, a)):
        value, tangent = ad.jvp(lambda x, y: np.correlate(x, y, mode), (x, y), (x, 0 * y))
        np.testing.assert_allclose(value, np.correlate(x, y, mode), rtol=1e-13)
        # linear in the first argument: the tangent along x itself is the value
        np.testing.assert_allclose(tangent, np.correlate(x, y, mode), rtol=1e-13)
        _, tangent = ad.jvp(lambda x, y: np.correlate(x, y, mode), (x, y), (0 * x, 1j * y))
        # antilinear in the second: along i·v the tangent is -i times the value
        np.testing.assert_allclose(tangent, -1j * np.correlate(x, y, mode), rtol=1e-13)
        check_grads(lambda x, y: np.abs(np.correlate(x, y, mode)) ** 2, (x, y), order=2,
                    modes=("fwd", "rev"))


def test_convolve_vector_mode_and_hessian():
    f = lambda a: np.sum(np.convolve(a, a[::-1] ** 2, "same") * np.correlate(a, V3, "same"))
    _hessians_agree(f, A5)
    _batched_agrees(lambda a, v: np.convolve(a, v), (A5, V3))
    check_grads(lambda a, v: np.convolve(np.convolve(a, v), v[::-1], "valid"), (A5, V3), order=2)


def test_convolve_mixes_real_and_complex():
    g = ad.grad(lambda a: np.sum(np.abs(np.convolve(a, Z3)) ** 2))(A5)
    assert g.dtype == np.float64
    check_grads(lambda a: np.abs(np.convolve(a, Z3, "same")), (A5,), order=2)


def test_convolve_errors_match_numpy():
    for fn in (np.convolve, np.correlate):
        with pytest.raises(ValueError):
            ad.grad(lambda a: np.sum(fn(a, np.array([]))))(A5)
        with pytest.raises(ValueError, match="mode"):
            ad.grad(lambda a: np.sum(fn(a, V3, "wrong")))(A5)
        with pytest.raises(ValueError):
            ad.grad(lambda a: np.sum(fn(np.outer(a, a), V3)))(A5)


# ---- interp -----------------------------------------------------------------------------
def test_interp_on_the_grid_takes_the_segment_numpy_uses():
    # at xp[j] (j < last) the segment to the right, at xp[-1] the last one,
    # outside the range 0: compared with one-sided finite differences
    slopes = np.diff(FP) / np.diff(XP)
    x = XP.copy()
    for g in (ad.jacfwd(lambda x: np.interp(x, XP, FP))(x),
              ad.jacrev(lambda x: np.interp(x, XP, FP))(x)):
        np.testing.assert_allclose(np.diag(g), list(slopes) + [slopes[-1]], rtol=1e-12)
    h = 1e-7
    right = (np.interp(XP[:-1] + h, XP, FP) - np.interp(XP[:-1], XP, FP)) / h
    left = (np.interp(XP[-1], XP, FP) - np.interp(XP[-1] - h, XP, FP)) / h
    np.testing.assert_allclose(list(right) + [left], list(slopes) + [slopes[-1]], rtol=1e-6)
    outside = ad.jacfwd(lambda x: np.interp(x, XP, FP))(np.array([-1.0, 3.0]))
    np.testing.assert_array_equal(outside, np.zeros((2, 2)))
    value, _ = ad.jvp(lambda x: np.interp(x, XP, FP), (x,), (np.ones(4),))
    np.testing.assert_array_equal(value, FP)                 # NumPy's fp[j] itself


def test_interp_in_the_grid_and_values_at_grid_points():
    # the derivatives in xp and fp at a grid point x = xp[j] are those of the right segment
    f = lambda xp, fp: np.interp(np.array([0.5, 1.3, 2.0]), xp, fp)
    check_grads(lambda xp, fp: np.interp(XQ, xp, fp, -1.0, 3.0), (XP, FP), order=2)
    gxp, gfp = ad.jacrev(f, argnums=(0, 1))(XP, FP)
    np.testing.assert_allclose(gfp, [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], atol=1e-15)
    slopes = np.diff(FP) / np.diff(XP)
    np.testing.assert_allclose(gxp, [[0, -slopes[1], 0, 0], [0, 0, -slopes[2], 0],
                                     [0, 0, 0, -slopes[2]]], atol=1e-14)


def test_interp_left_right_traced_and_nan():
    f = lambda x, l, r: np.interp(x, XP, FP, l, r)
    x = np.array([-1.0, 0.3, 5.0, np.nan])
    value, tangent = ad.jvp(f, (x, np.array(7.0), np.array(-7.0)),
                            (np.ones(4), np.array(1.0), np.array(2.0)))
    np.testing.assert_array_equal(value, np.interp(x, XP, FP, 7.0, -7.0))
    # a NaN x is passed through, as NumPy returns it: derivative 1 in it
    np.testing.assert_allclose(tangent, [1.0, (FP[1] - FP[0]) / 0.5, 2.0, 1.0])


def test_interp_period_wraps_around():
    x = np.array([-0.4, 0.1, 2.2, 2.45, 4.9, 7.3])        # several periods, both sides
    xp, fp = np.array([0.2, 1.0, 1.9, 0.6]), np.array([1.0, -0.5, 0.7, 2.0])
    f = lambda x, xp, fp, p: np.interp(x, xp, fp, period=p)
    value, _ = ad.jvp(f, (x, xp, fp, np.array(2.4)), (x, xp, fp, np.array(1.0)))
    np.testing.assert_allclose(value, np.interp(x, xp, fp, period=2.4), rtol=1e-13)
    check_grads(f, (x, xp, fp, np.array(2.4)), order=2, modes=("fwd", "rev"))
    check_grads(lambda x, fr, fi: np.abs(np.interp(x, xp, fr + 1j * fi, period=2.4)),
                (x, fp, fp[::-1]), order=2)


def test_interp_vector_mode_and_hessian():
    _batched_agrees(lambda x, xp, fp: np.interp(x, xp, fp), (XQ, XP, FP))
    _hessians_agree(lambda fp: np.sum(np.interp(XQ, XP, fp ** 2) ** 2), FP)
    _hessians_agree(lambda x: np.sum(np.interp(x, XP, FP) ** 3), XQ)


# ---- cov / corrcoef ---------------------------------------------------------------------
def test_cov_and_corrcoef_values_and_derivatives():
    for f, args in [(lambda m, w: np.cov(m, aweights=w, fweights=FW6, ddof=3), (M36, AW6)),
                    (lambda m, y: np.corrcoef(m, y), (M36, Y6)),
                    (lambda m: np.corrcoef(m.T, rowvar=False), (M36,))]:
        value, _ = ad.jvp(f, args, args)
        np.testing.assert_allclose(value, f(*args), rtol=1e-13)
        check_grads(f, args, order=2, modes=("fwd", "rev"))
    _batched_agrees(lambda m, w: np.cov(m, aweights=w), (M36, AW6))
    _hessians_agree(lambda m: np.sum(np.corrcoef(m) ** 3), M36)


def test_corrcoef_keeps_the_derivative_inside_its_clip():
    # two perfectly correlated rows: NumPy's value is 1 (clipped if rounding
    # went beyond), the derivative that of the ratio, as finite differences see it
    m = np.stack([Y6, 2.0 * Y6 + 1.0])
    value, _ = ad.jvp(np.corrcoef, (m,), (m,))
    np.testing.assert_array_equal(value, np.corrcoef(m))
    assert np.all(np.abs(value) <= 1)
    check_grads(lambda m: np.corrcoef(m)[0, 1], (M36[:2],), order=2)
    assert np.all(np.isfinite(ad.jacrev(np.corrcoef)(m)))


def test_cov_refuses_traced_fweights():
    with pytest.raises(TypeError, match="fweights"):
        ad.grad(lambda f: np.sum(np.cov(M36, fweights=f)))(FW6.astype(float))


# ---- trapezoid / gradient ---------------------------------------------------------------
def test_gradient_with_evenly_spaced_traced_coordinates():
    # NumPy evaluates evenly spaced coordinates with one step; the derivative
    # in each coordinate is that of the uneven formula (which has that value)
    x = np.arange(5.0) * 0.5
    for edge_order in (1, 2):
        f = lambda f, x: np.gradient(f, x, edge_order=edge_order)
        value, _ = ad.jvp(f, (A5, x), (A5, x))
        np.testing.assert_allclose(value, np.gradient(A5, x, edge_order=edge_order), rtol=1e-13)
        check_grads(f, (A5, x), order=2, modes=("fwd", "rev"))
    check_grads(lambda f, h: np.gradient(f, h, C5, edge_order=2), (F45, np.array(0.3)), order=2)
    _batched_agrees(lambda f, x: np.gradient(f, C4, x), (F45, C5))


def test_trapezoid_derivatives():
    check_grads(lambda y, x: np.trapezoid(y, x, axis=0), (F45, C4), order=2)
    _hessians_agree(lambda y: np.trapezoid(y ** 3, C5), A5)


# ---- polyfit ---------------------------------------------------------------------------
def test_polyfit_derivatives_second_order():
    for f, args in [(lambda x, y, w: np.polyfit(x, y, 2, w=w), (PX, PY, PW)),
                    (lambda x, y: np.polyfit(x, y, 3), (PX, PY2)),
                    (lambda x, y: np.polyfit(x, y, 2, full=True)[:2], (PX, PY)),
                    (lambda x, y, w: np.polyfit(x, y, 1, w=w, full=True)[3], (PX, PY, PW)),
                    (lambda x, y: np.polyfit(x, y, 2, cov=True), (PX, PY2))]:
        value, _ = ad.jvp(f, args, args)
        for a, b in zip(ad.tree_flatten(value)[0], ad.tree_flatten(f(*args))[0]):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        check_grads(f, args, order=2, modes=("fwd", "rev"))
    _batched_agrees(lambda x, y, w: np.polyfit(x, y, 2, w=w), (PX, PY, PW))
    _hessians_agree(lambda x: np.sum(np.polyfit(x, PY, 2) ** 2), PX)


def test_polyfit_exact_fit_and_rank_deficiency():
    x3 = PX[:3]
    check_grads(lambda x, y: np.polyfit(x, y, 2), (x3, PY[:3]), order=2)   # interpolation
    value = ad.jvp(lambda y: np.polyfit(x3, y, 2, full=True), (PY[:3],), (PY[:3],))[0]
    assert np.size(value[1]) == 0                           # NumPy's empty residuals
    with pytest.warns(np.exceptions.RankWarning):
        with pytest.raises(ValueError, match="rank deficient"):
            ad.grad(lambda y: np.sum(np.polyfit(np.ones(4), y, 2)))(PY[:4])


# ---- linspace / geomspace / logspace ----------------------------------------------------
@pytest.mark.parametrize("num, endpoint", [(7, True), (7, False), (1, True), (2, True), (0, True)])
def test_spacing_values_equal_numpy_exactly(num, endpoint):
    start, stop = np.array([0.3, -2.0]), np.array([[1.7], [-0.1]])
    for fn, s, t in ((np.linspace, start, stop), (np.logspace, start, stop),
                     (np.geomspace, np.abs(start), np.abs(stop))):
        expected = fn(s, t, num, endpoint, axis=-1)
        value, _ = ad.jvp(lambda s, t: fn(s, t, num, endpoint, axis=-1), (s, t), (s, t))
        np.testing.assert_allclose(value, expected, rtol=1e-14)
        if fn is not np.logspace and num > 0:               # the endpoints themselves
            np.testing.assert_array_equal(value[..., 0], expected[..., 0])
            if endpoint:
                np.testing.assert_array_equal(value[..., -1], expected[..., -1])
        if num > 0:
            check_grads(lambda s, t: fn(s, t, num, endpoint, axis=-1), (s, t), order=2)


def test_spacing_vector_mode_and_hessian():
    _batched_agrees(lambda a, b: np.geomspace(a, b, 5), (np.array([0.5, -1.0]), np.array([3.0, -0.2])))
    _batched_agrees(lambda a, b, base: np.logspace(a, b, 5, base=base), (S0, S1, np.array(1.7)))
    _hessians_agree(lambda ab: np.sum(np.linspace(ab[0], ab[1], 6) ** 3), np.array([0.3, 2.0]))
    _hessians_agree(lambda ab: np.sum(np.geomspace(ab[0], ab[1], 6) ** 2), np.array([0.3, 2.0]))


def test_spacing_errors_match_numpy():
    with pytest.raises(ValueError, match="zero"):
        ad.grad(lambda a: np.sum(np.geomspace(a, 0.0, 3)))(1.0)
    with pytest.raises(ValueError, match="non-negative"):
        ad.grad(lambda a: np.sum(np.linspace(a, 1.0, -1)))(0.0)


def test_linspace_step_of_a_single_point_is_nan_as_in_numpy():
    (value, step), _ = ad.jvp(lambda a: np.linspace(a, 2.0, 1, retstep=True), (S0,), (np.array(1.0),))
    expected, expected_step = np.linspace(S0, 2.0, 1, retstep=True)
    np.testing.assert_array_equal(value, expected)
    assert np.isnan(step) and np.isnan(expected_step)


def test_polyfit_refuses_complex_sample_points():
    with pytest.raises(TypeError, match="x="):
        ad.jvp(lambda y: np.polyfit(PX + 1j, y, 2), (PY,), (PY,))


@pytest.mark.parametrize("n, m, mode", [(12, 11, "valid"), (11, 12, "valid"), (30, 2, "full"),
                                        (2, 30, "same"), (4, 4, "full")])
def test_convolve_jacobians_agree_for_every_shape_of_stack(n, m, mode):
    # jacfwd pushes n + m directions at once: stacks of rows, computed by a
    # loop over the rows, the shorter vector's entries or the outputs
    rng = np.random.default_rng(n + 7 * m)
    a, v = rng.standard_normal(n), rng.standard_normal(m) + 0.5j * rng.standard_normal(m)
    f = lambda a, v: np.convolve(a, v, mode)
    forward = ad.jacfwd(lambda av: f(av[:n], av[n:] + 0.5j * v.imag), holomorphic=False)(
        np.concatenate([a, v.real]))
    for fn in (f, lambda a, v: np.correlate(v, a, mode)):
        _batched_agrees(lambda a, vr: fn(a, vr + 0.5j * v.imag), (a, v.real), k=n + m)
    reverse = np.stack([ad.vjp(lambda av: f(av[:n], av[n:] + 0.5j * v.imag),
                               np.concatenate([a, v.real]))[1](e)[0] for e in np.eye(len(f(a, v)))])
    np.testing.assert_allclose(forward.real, reverse, rtol=1e-12, atol=1e-12)
