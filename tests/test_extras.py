"""cumulative_sum, cumulative_prod and ediff1d (dualad/rules/reductions.py);
the polynomial functions (dualad/rules/polynomial.py); the assembling
functions and index helpers (dualad/rules/assembly.py).

``HONOURED`` (imported by tests/test_keywords.py) lists each honoured
NumPy parameter with sample calls; the walker checks their values against
NumPy's and their derivatives by finite differences, and checks that every
other parameter is refused by name.  Samples whose output shape depends on
exact zeros or ties (trim_zeros, unique_*) are float32 there, so that the
walker checks their values only; the named tests below differentiate them
through masks that keep the zeros and ties in place.  The named tests pin
the edge cases, the derivatives against finite differences and against the
other modes, vector mode, and the hessian in both nestings.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dualad as ad
from dualad import core
from dualad.testing import check_grads

X23 = np.array([[1.3, -0.4, 2.2], [0.7, 1.9, -1.1]])
X4 = np.array([0.6, -1.2, 2.3, 0.9])
X232 = np.array([[[0.3, 1.6], [-0.8, 2.1], [1.2, -1.7]],
                 [[0.4, -0.2], [1.1, 0.8], [-1.4, 2.6]]])
V2 = np.array([0.5, -2.0])
P4 = np.array([1.0, -2.0, 0.5, 3.0])           # roots: a real one and a complex pair
P4R = np.array([1.0, -1.3, -2.0, 1.2])          # roots 2, -1.2, 0.5
Q2 = np.array([2.0, 0.3])
Z32 = np.array([0.0, 0.0, 1.5, 0.0, 2.0, 0.0], dtype=np.float32)
ZZ = np.array([[0.0, 0.0, 2.0, 3.0, 0.0], [0.0, 1.0, 0.0, 3.0, 0.0], [0.0] * 5],
              dtype=np.float32)
T32 = np.array([2.0, 1.0, 2.0, 3.0, 1.0], dtype=np.float32)   # ties
D5 = np.array([2.1, 1.3, 2.6, 3.4, 0.2])                        # distinct
PHASE = np.array([0.1, 3.0, -3.0, 2.9, 6.5, 0.2, -0.5])
I4 = np.array([0, 2, 2, 5])


def _sum_and_square(s, scale=1.0):
    return s ** 2 * np.sum(s) * scale


def _self_outer(s):
    return np.outer(s, s)


HONOURED = {
    np.union1d: {"ar1": [((X23, X4), {}), ((X4, [5.0, -3.0]), {})], "ar2": [((V2, X232), {})]},
    np.cumulative_sum: {
        "x": [((X4,), {}), ((np.array(1.5),), {}), ((X4 + 1j * X4[::-1],), {})],
        "axis": [((X23,), {"axis": 0}), ((X23,), {"axis": -1}), ((X232,), {"axis": 1}),
                 ((X4,), {"axis": None}), ((X23,), {"axis": np.int64(1)})],
        "dtype": [((X23,), {"axis": 1, "dtype": np.float32}), ((X4,), {"dtype": int}),
                  ((X4,), {"dtype": np.complex128})],
        "include_initial": [((X23,), {"axis": 1, "include_initial": True}),
                            ((X23,), {"axis": 0, "include_initial": True, "dtype": int}),
                            ((X4,), {"include_initial": False})],
    },
    np.cumulative_prod: {
        "x": [((X4,), {}), ((np.array([1.5, 0.0, -2.0]),), {}), ((X4 + 1j * X4[::-1],), {})],
        "axis": [((X23,), {"axis": 0}), ((X23,), {"axis": -1}), ((X232,), {"axis": 1})],
        "dtype": [((X23,), {"axis": 1, "dtype": np.float32}), ((X4,), {"dtype": int})],
        "include_initial": [((X23,), {"axis": 1, "include_initial": True}),
                            ((X4,), {"include_initial": True})],
    },
    np.ediff1d: {
        "ary": [((X4,), {}), ((X23,), {}), ((X4.astype(np.float32),), {})],
        "to_end": [((X4, V2), {}), ((X23,), {"to_end": 2.5}), ((X4, np.array([[1.0], [2.0]])), {})],
        "to_begin": [((X4, None, V2), {}), ((X23,), {"to_begin": -1}),
                     ((X4, V2, np.array(3.0)), {})],
    },
    np.poly: {"seq_of_zeros": [((X4,), {}), ((np.array([0.7]),), {}), ((X4 + 1j * X4[::-1],), {}),
                               ((np.zeros(0),), {})]},
    np.polyadd: {"a1": [((P4, Q2), {}), ((Q2, P4), {}), ((np.array(2.0), P4), {})],
                 "a2": [((P4, P4[::-1]), {}), ((P4, Q2 + 1j), {})]},
    np.polysub: {"a1": [((P4, Q2), {}), ((Q2, P4), {})],
                 "a2": [((P4, P4[::-1]), {}), ((P4, np.array(1.5)), {})]},
    np.polymul: {"a1": [((P4, Q2), {}), ((np.array(2.0), P4), {}), ((P4 * 1j, Q2), {})],
                 "a2": [((Q2, P4), {}), ((P4, P4[::-1]), {})]},
    np.polyder: {"p": [((P4,), {}), ((Q2[:1],), {})],
                 "m": [((P4, 2), {}), ((P4,), {"m": 0}), ((P4,), {"m": 5})]},
    np.polyint: {"p": [((P4,), {}), ((P4 * (1 + 1j),), {})],
                 "m": [((P4, 2), {}), ((P4,), {"m": 0})],
                 "k": [((P4, 2, Q2), {}), ((P4, 3, np.array(0.5)), {}), ((P4, 1), {"k": [2.0]})]},
    np.polydiv: {"u": [((P4, Q2), {}), ((Q2, P4), {}), ((P4 + 1j, Q2), {})],
                 "v": [((P4, P4[1:]), {}), ((P4, np.array([2.0])), {})]},
    np.vander: {"x": [((X4,), {}), ((X4.astype(np.float32),), {}), ((X4 + 1j,), {})],
                "N": [((X4, 2), {}), ((X4,), {"N": 0}), ((X4,), {"N": 6})],
                "increasing": [((X4,), {"increasing": True}), ((X4, 3, True), {})]},
    np.roots: {"p": [((P4,), {}), ((P4R,), {}), ((P4 + 0.3j * P4[::-1],), {}),
                     ((np.array([2.0]),), {}), ((np.array([1.0, -3.0, 2.0, 0.0]),), {})]},
    np.delete: {"arr": [((X23, 1), {}), ((X4, [0, 2]), {})],
                "obj": [((X23, slice(0, None, 2), 1), {}), ((X23, np.array([True, False]), 0), {}),
                        ((X23, []), {})],
                "axis": [((X23, 1), {"axis": 1}), ((X232, -1), {"axis": -2})]},
    np.insert: {"arr": [((X23, 1, 5.0), {}), ((X4, 2, V2), {})],
                "obj": [((X23, [1, 1], V2), {"axis": 1}), ((X4, slice(0, 2), V2), {}),
                        ((X4, np.array([3, 0]), V2), {})],
                "values": [((X23, 2, V2[:, None]), {"axis": 1}), ((X23, 1, V2[0]), {"axis": 0}),
                           ((X4, 1, V2 + 1j), {})],
                "axis": [((X23, 0, X23[0]), {"axis": 0}), ((X232, 1, 2.0), {"axis": -1})]},
    np.diagflat: {"v": [((X23,), {}), ((V2,), {})], "k": [((V2, -1), {}), ((X23,), {"k": 2})]},
    np.dstack: {"tup": [(([X23, 2 * X23],), {}), (((V2, np.ones(2)),), {}),
                        (([X4],), {})]},
    np.extract: {"condition": [((X23 > 0, X23), {}), ((np.array([1, 0, 3, 0]), X4), {})],
                 "arr": [((np.ones((2, 3), bool), X23), {})]},
    np.choose: {"a": [((np.array([[0, 1, 0], [1, 1, 0]]), [X23, V2[:1, None]]), {}),
                      ((np.array([0, 1, 0]), X23), {})],
                "choices": [((np.array([1, 0]), (V2, 2 * V2)), {}),
                            ((np.array([0, 1, 1]), [X23[0], 3.0]), {})],
                "mode": [((np.array([0, 5, -2]), [X23[0], X23[1]]), {"mode": "clip"}),
                         ((np.array([0, 5, -2]), [X23[0], X23[1]]), {"mode": "wrap"}),
                         ((np.array([0, 1, 1]), [X23[0], X23[1]]), {"mode": "raise"})]},
    np.resize: {"a": [((X23, (4, 4)), {}), ((np.array(1.5), 3), {})],
                "new_shape": [((X23, 2), {}), ((X4, (0, 2)), {}), ((X4, [2, 3]), {})]},
    np.unstack: {"x": [((X23,), {}), ((X4,), {})],
                 "axis": [((X23,), {"axis": 1}), ((X232,), {"axis": -1})]},
    np.trim_zeros: {"filt": [((Z32,), {}), ((X4,), {}), ((ZZ,), {})],
                    "trim": [((Z32, "b"), {}), ((Z32,), {"trim": "F"}), ((ZZ, "f"), {})],
                    "axis": [((ZZ,), {"axis": -1}), ((ZZ,), {"axis": 0}), ((ZZ,), {"axis": ()})]},
    np.real_if_close: {"a": [((X23,), {}), ((X4 + 1e-3j,), {}),
                             ((np.complex64(1) * (X4 + 1e-20j).astype(np.complex64),), {})],
                       "tol": [(((X4 + 1e-10j).astype(np.complex64),), {"tol": 1e-3}),
                               ((X4 + 1e-3j, 1e-12), {})]},
    np.sort_complex: {"a": [((X4,), {}), ((X23.astype(np.float32),), {}),
                            ((X4 + 1j * X4[::-1],), {})]},
    np.unwrap: {"p": [((PHASE,), {}), ((np.stack([PHASE, -PHASE]),), {}),
                      ((PHASE.astype(np.float32),), {})],
                "discont": [((PHASE, 4.0), {}), ((PHASE,), {"discont": 1.0})],
                "axis": [((np.stack([PHASE, PHASE[::-1]], axis=1),), {"axis": 0}),
                         ((np.stack([PHASE, -PHASE]),), {"axis": -1})],
                "period": [((PHASE,), {"period": 2.0}), ((PHASE * 31,), {"period": 360})]},
    np.bincount: {"x": [((I4, X4), {}), ((np.array([1, 1, 0]), X4[:3]), {})],
                  "weights": [((I4, X4), {}), ((I4, X4.astype(np.float32)), {})],
                  "minlength": [((I4, X4, 9), {}), ((I4, X4), {"minlength": 2})]},
    np.unique_values: {"x": [((D5,), {}), ((T32,), {})]},
    np.unique_counts: {"x": [((D5,), {}), ((T32,), {})]},
    np.unique_inverse: {"x": [((D5.reshape(5, 1),), {}), ((T32,), {})]},
    np.unique_all: {"x": [((D5,), {}), ((T32,), {})]},
    np.histogram_bin_edges: {
        "a": [((D5,), {}), ((X23,), {})],
        "bins": [((D5, 4), {}), ((D5, "auto"), {}), ((D5, np.array([0.0, 1.0, 2.5, 4.0])), {})],
        "range": [((D5,), {"range": (0.0, 4.0)}), ((D5, 3, np.array([0.0, 5.0])), {})],
        "weights": [((D5, 3, None, D5[::-1]), {})]},
    np.apply_along_axis: {
        "func1d": [((_sum_and_square, 1, X23), {}), ((np.sum, 0, X23), {})],
        "axis": [((_sum_and_square, 0, X232), {}), ((_self_outer, -1, X23), {})],
        "arr": [((np.cumsum, 1, X23), {})],
        "args": [((_sum_and_square, 0, X23, 3.0), {}), ((_sum_and_square, 1, X23), {"scale": 2.0})]},
    np.apply_over_axes: {
        "func": [((np.sum, X232, [0, 2]), {}), ((np.cumsum, X23, 1), {})],
        "a": [((np.mean, X23, 0), {})],
        "axes": [((np.sum, X232, (-1, 0)), {}), ((np.max, X232, np.array([1])), {})]},
    np.isneginf: {"x": [((np.array([-np.inf, 1.0, np.inf]),), {})],
                  "out": [((np.array([-np.inf, 1.0, np.inf]),), {"out": np.empty(3, bool)})]},
    np.isposinf: {"x": [((np.array([-np.inf, 1.0, np.inf]),), {})],
                  "out": [((np.array([-np.inf, 1.0, np.inf]),), {"out": np.empty(3, bool)})]},
    np.isin: {"element": [((X4, X4[:2]), {})], "test_elements": [((X23, np.array([2.2, 5.0])), {})],
              "assume_unique": [((X4, X4[1:]), {"assume_unique": True})],
              "invert": [((X4, X4[1:]), {"invert": True})],
              "kind": [((X4, X4[1:]), {"kind": "sort"})]},
    np.lexsort: {"keys": [(((X4, X4[::-1]),), {}), ((X23,), {})],
                 "axis": [((X232,), {"axis": 1})]},
}


def _same(actual, expected):
    """Equal leaves, dtypes and shapes (values to rounding)."""
    a_leaves, e_leaves = ad.tree_flatten(actual)[0], ad.tree_flatten(expected)[0]
    assert len(a_leaves) == len(e_leaves)
    for a, e in zip(a_leaves, e_leaves):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape and a.dtype == e.dtype, (a, e)
        np.testing.assert_allclose(a, e, rtol=1e-13, atol=1e-15)


def _traced_value(f, *args):
    value, _ = ad.jvp(f, args, tuple(np.ones_like(a) for a in args))
    return value


def _all_modes(f, *args):
    """check_grads at order 2 (all four nestings), NumPy's value, and
    jacfwd = jacrev for one real argument and real outputs."""
    value = f(*args)
    _same(_traced_value(f, *args), value)
    check_grads(f, args, order=2, modes=("fwd", "rev"))
    real = all(np.result_type(v).kind == "f" for v in ad.tree_flatten(value)[0] + list(args))
    if len(args) == 1 and real:
        jf, jr = ad.jacfwd(f)(*args), ad.jacrev(f)(*args)
        for a, b in zip(ad.tree_flatten(jf)[0], ad.tree_flatten(jr)[0]):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _hessians_agree(f, x):
    h = ad.hessian(f)(x)
    np.testing.assert_allclose(h, ad.jacrev(ad.jacrev(f))(x), rtol=1e-9, atol=1e-11)
    return h


# ---- cumulative_sum / cumulative_prod / ediff1d -----------------------------------------
@pytest.mark.parametrize("func", [np.cumulative_sum, np.cumulative_prod])
@pytest.mark.parametrize("kwargs", [{"axis": 1}, {"axis": 0, "include_initial": True},
                                    {"axis": -1, "include_initial": True}])
def test_cumulative_functions_in_every_mode(func, kwargs):
    _all_modes(lambda x: func(x, **kwargs), X23)
    _hessians_agree(lambda x: np.sum(func(x, **kwargs) ** 2), X23)


def test_cumulative_functions_agree_with_cumsum_and_cumprod():
    for new, old in ((np.cumulative_sum, np.cumsum), (np.cumulative_prod, np.cumprod)):
        g_new = ad.jacfwd(lambda x: new(x, axis=1))(X23)
        g_old = ad.jacrev(lambda x: old(x, axis=1))(X23)
        np.testing.assert_allclose(g_new, g_old, rtol=1e-12)


def test_cumulative_prod_with_zeros_and_include_initial():
    x = np.array([2.0, 0.0, 3.0])
    f = lambda x: np.sum(np.cumulative_prod(x, include_initial=True))
    # 1 + x0 + x0 x1 + x0 x1 x2 at [2, 0, 3]: gradient [1 + x1 + x1 x2, x0 + x0 x2, x0 x1]
    for g in (ad.grad(f)(x), ad.jacfwd(f)(x)):
        np.testing.assert_allclose(g, [1.0, 8.0, 0.0], atol=1e-15)


def test_cumulative_functions_read_axis_as_numpy():
    with pytest.raises(ValueError, match="axis"):
        ad.grad(lambda x: np.sum(np.cumulative_sum(x)))(X23)
    with pytest.raises(np.exceptions.AxisError):
        ad.grad(lambda x: np.sum(np.cumulative_prod(x, axis=2)))(X23)
    for func in (np.cumulative_sum, np.cumulative_prod):
        with pytest.raises(TypeError, match="out"):
            ad.grad(lambda x: np.sum(func(x, out=np.empty(4))))(X4)


def test_cumulative_sum_vector_mode():
    V = np.stack([np.ones_like(X23), X23])
    _, tb = ad.jvp(lambda x: np.cumulative_sum(x, axis=0, include_initial=True), (X23,), (V,),
                   batched=True)
    for i in range(2):
        _, t = ad.jvp(lambda x: np.cumulative_sum(x, axis=0, include_initial=True), (X23,), (V[i],))
        np.testing.assert_array_equal(tb[i], t)


def test_ediff1d_in_every_mode():
    _all_modes(lambda x, b, e: np.ediff1d(x, to_end=e, to_begin=b), X23, V2, np.array(1.5))
    _all_modes(np.ediff1d, X4)


def test_ediff1d_refuses_what_numpy_refuses():
    with pytest.raises(TypeError, match="to_begin"):
        ad.grad(lambda x: np.sum(np.ediff1d(x, to_begin=[1 + 2j])))(X4)
    x = np.arange(4)
    with pytest.raises(TypeError, match="to_end"):
        np.ediff1d(x, to_end=[0.5])
    with pytest.raises(TypeError, match="to_end"):
        ad.grad(lambda e: np.sum(np.ediff1d(x, to_end=e)))(V2)


# ---- polynomials ---------------------------------------------------------------------
@pytest.mark.parametrize("f, args", [
    (np.poly, (X4,)), (np.polyadd, (P4, Q2)), (np.polysub, (Q2, P4)), (np.polymul, (P4, Q2)),
    (lambda p: np.polyder(p, 2), (P4,)), (lambda p, k: np.polyint(p, 2, k), (P4, Q2)),
    (np.polydiv, (P4, Q2)), (np.polydiv, (Q2, P4)), (np.polydiv, (P4, P4[1:])),
    (lambda x: np.vander(x, 5, increasing=True), (X4,)), (np.vander, (X4,)),
    (np.roots, (P4,)), (np.roots, (P4R,)), (np.roots, (P4 + 0.3j * P4[::-1],)),
    (lambda q: np.roots(np.concatenate([[0.0], q, [0.0]])), (np.array([1.0, -3.0, 2.0]),)),
], ids=["poly", "polyadd", "polysub", "polymul", "polyder", "polyint", "polydiv",
        "polydiv-short", "polydiv-exact", "vander-increasing", "vander", "roots-complex",
        "roots-real", "roots-of-complex", "roots-zeros"])
def test_polynomial_functions_in_every_mode(f, args):
    _all_modes(f, *args)


def test_roots_derivative_by_the_implicit_function_theorem():
    # roots of x² - s x + p are the pair (r1, r2) with r1 + r2 = s, r1 r2 = p:
    # each is differentiable, and the sum's gradient is (0, 1, 0) / ... exactly
    r = np.array([3.0, -1.0])
    p = np.poly(r)
    g = ad.grad(lambda p: np.sum(np.roots(p)))(p)
    # sum of the roots = -p1 / p0
    np.testing.assert_allclose(g, [p[1] / p[0] ** 2, -1 / p[0], 0.0], atol=1e-14)
    g = ad.grad(lambda p: np.prod(np.roots(p)))(p)
    np.testing.assert_allclose(g, [-p[2] / p[0] ** 2, 0.0, 1 / p[0]], atol=1e-14)


def test_roots_of_real_coefficients_with_complex_roots():
    # the cotangent of real coefficients is real (docs/complex-numbers.md)
    g = ad.grad(lambda p: np.sum(np.abs(np.roots(p)) ** 2))(P4)
    assert g.dtype == np.float64
    h = 1e-6
    fd = [(np.sum(np.abs(np.roots(P4 + h * e)) ** 2) - np.sum(np.abs(np.roots(P4 - h * e)) ** 2))
          / (2 * h) for e in np.eye(4)]
    np.testing.assert_allclose(g, fd, rtol=1e-7)
    _hessians_agree(lambda p: np.sum(np.abs(np.roots(p)) ** 2), P4)


def test_roots_roundtrip_through_poly_has_identity_derivative():
    # poly(roots(p)) = p / p0: with p0 = 1 its Jacobian (in the other
    # coefficients) is the identity
    p = np.array([1.0, -1.3, -2.0, 1.2])
    J = ad.jacfwd(lambda p: np.poly(np.roots(p)))(p)
    np.testing.assert_allclose(J[:, 1:], np.eye(4)[:, 1:], atol=1e-12)


def test_roots_at_a_repeated_root_are_not_differentiable():
    # (x - 1)²: NumPy's roots are exactly [1, 1], p'(1) = 0 (docs/kinks.md)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = ad.grad(lambda p: np.sum(np.roots(p)))(np.array([1.0, -2.0, 1.0]))
    assert not np.all(np.isfinite(g))


def test_roots_of_constants_and_empty_polynomials():
    for p in (np.array([2.0]), np.zeros(3)):
        value, t = ad.jvp(np.roots, (p,), (np.ones_like(p),))
        _same(value, np.roots(p))
        assert t.shape == value.shape == (0,)


def test_poly_of_conjugate_pairs_is_real():
    # NumPy keeps the real part when the roots come in conjugate pairs; the
    # derivative along directions that keep them paired (docs/kinks.md)
    def f(x):
        z = x[0] + 1j * x[1]
        return np.poly(np.stack([z, np.conj(z), x[2] + 0j]))
    x = np.array([0.5, 1.2, -0.7])
    value = _traced_value(f, x)
    assert value.dtype == np.float64
    _all_modes(f, x)


def test_poly_of_a_list_of_traced_roots():
    f = lambda x: np.poly([x[0], x[1] * 2, 0.5])
    _all_modes(f, V2)


def test_poly_of_a_matrix():
    A = np.array([[2.0, 0.5], [0.3, -1.0]])
    if np.linalg.eigvals in core.FUNCTION_RULES:
        _all_modes(np.poly, A)
    else:
        with pytest.raises(TypeError, match="seq_of_zeros") as info:
            ad.jacfwd(np.poly)(A)
        assert "eigvals" in str(info.value)
    with pytest.raises(ValueError, match="1d or non-empty square 2d"):
        ad.jacfwd(np.poly)(np.ones((2, 3)))


def test_polyint_with_traced_constants_and_polyder_inverse():
    # (NumPy dispatches np.polyint on p only: p traced as well, so that k is)
    k = np.array([0.7, -0.2])
    g = ad.jacrev(lambda k: np.polyint(P4 + 0.0 * k[0], 2, k))(k)
    np.testing.assert_array_equal(g[-2:], np.eye(2))
    # polyder undoes polyint: the Jacobian is the identity
    J = ad.jacfwd(lambda p: np.polyder(np.polyint(p, 3), 3))(P4)
    np.testing.assert_allclose(J, np.eye(4), rtol=1e-14)


def test_polydiv_remainder_trimmed_as_numpy():
    u = np.polymul(P4, Q2)
    q, r = _traced_value(np.polydiv, u, Q2)
    q0, r0 = np.polydiv(u, Q2)
    _same((q, r), (q0, r0))
    assert r.shape == r0.shape == (1,)


def test_poly1d_holds_traced_coefficients():
    c = np.array([1.0, 2.0, 3.0])
    for f in (lambda c: np.poly1d(c)(0.7), lambda c: (np.poly1d(c) * np.poly1d(c[:2])).coeffs,
              lambda c: np.poly1d(c).deriv().coeffs, lambda c: np.poly1d(c).integ(2, k=[1.0, 2.0]).coeffs,
              lambda c: np.polyadd(np.poly1d(c), c).coeffs, lambda c: np.real(np.poly1d(c).roots)):
        _all_modes(f, c)
    kinds = []
    ad.jvp(lambda c: kinds.append(type(np.polyadd(np.poly1d(c), c))) or c, (c,), (c,))
    assert kinds == [np.poly1d]


def test_vander_dtype_and_zero_columns():
    for N in (0, 1, 2):
        _same(_traced_value(lambda x: np.vander(x, N), X4), np.vander(X4, N))
    _same(_traced_value(np.vander, X4.astype(np.float32)), np.vander(X4.astype(np.float32)))
    with pytest.raises(ValueError):
        ad.jacfwd(lambda x: np.vander(x, -1))(X4)
    with pytest.raises(ValueError, match="one-dimensional"):
        ad.jacfwd(np.vander)(X23)
    # at x = 0 the cumulative products are exact: d/dx x^k = k x^(k-1)
    J = ad.jacfwd(lambda x: np.vander(x, 4, increasing=True))(np.zeros(1))
    np.testing.assert_array_equal(J[0, :, 0], [0.0, 1.0, 0.0, 0.0])


# ---- assembling arrays ---------------------------------------------------------------
@pytest.mark.parametrize("f, args", [
    (lambda x: np.delete(x, 1), (X23,)), (lambda x: np.delete(x, [0, 2], axis=1), (X23,)),
    (lambda x, v: np.insert(x, [1, 1], v, axis=1), (X23, V2)),
    (lambda x, v: np.insert(x, 2, v[:, None], axis=1), (X23, V2)),
    (lambda x, v: np.insert(x, slice(0, 2), v), (X23, V2)),
    (lambda x, v: np.insert(x, 1, [v[0], 3.0, v[1]], axis=0), (X23, V2)),
    (lambda x: np.diagflat(x, -1), (X23,)), (lambda x, v: np.dstack([x, x * v[0]]), (X23, V2)),
    (lambda x: np.extract(x > 0, x), (X23,)),
    (lambda x, v: np.choose([[0, 1, 0], [1, 1, 0]], [x, v[:1, None]]), (X23, V2)),
    (lambda x: np.choose(np.array([0, 1, 2]), x[0][:, None] * np.ones(3), mode="wrap"), (X23,)),
    (lambda x: np.resize(x, (4, 4)), (X23,)), (lambda x: np.unstack(x, axis=1), (X23,)),
    (lambda x: np.sort_complex(x + 1j * x[::-1]), (X4,)),
    (lambda p: np.unwrap(p), (PHASE,)), (lambda p, per: np.unwrap(p, period=per), (PHASE, np.array(2.5))),
    (lambda p: np.unwrap(np.stack([p, -2 * p]), axis=0, discont=1.0), (PHASE,)),
    (lambda w: np.bincount(I4, w, minlength=7), (X4,)),
    (lambda y: np.histogram_bin_edges(y, 4), (D5,)), (lambda y, r: np.histogram_bin_edges(y, 3, r), (D5, -V2)),
    (lambda x: np.apply_along_axis(lambda s: np.outer(s, s), 0, x), (X23,)),
    (lambda x: np.apply_over_axes(lambda a, ax: np.cumsum(a, ax) ** 2, x, [1, 0]), (X23,)),
], ids=["delete", "delete-axis", "insert-list", "insert-column", "insert-slice", "insert-sequence",
        "diagflat", "dstack", "extract", "choose", "choose-wrap", "resize", "unstack", "sort_complex",
        "unwrap", "unwrap-period", "unwrap-axis", "bincount", "histogram_bin_edges",
        "histogram_bin_edges-range", "apply_along_axis", "apply_over_axes"])
def test_assembling_functions_in_every_mode(f, args):
    _all_modes(f, *args)


def test_trim_zeros_keeps_the_entries_between():
    mask = np.array([0.0, 0.0, 1.0, 0.0, 1.0, 0.0])
    z = np.array([0.4, 0.3, 1.5, 0.1, 2.0, 0.7])
    for trim in ("fb", "f", "b"):
        f = lambda z: np.trim_zeros(z * mask, trim)
        _all_modes(f, z)
    m2 = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    for axis in (None, 0, -1):
        _all_modes(lambda x: np.trim_zeros(np.reshape(x, (3, 3)) * m2, axis=axis), D5[:3].repeat(3))
    g = ad.grad(lambda z: np.sum(np.trim_zeros(z * mask) ** 2))(z)
    np.testing.assert_allclose(g, 2 * z * mask * mask, rtol=1e-15)
    value = _traced_value(lambda z: np.trim_zeros(z * 0.0), z)
    assert value.shape == (0,)


@pytest.mark.parametrize("func", [np.unique_values, np.unique_counts, np.unique_inverse,
                                  np.unique_all])
def test_unique_functions_gather_first_occurrences(func):
    x = np.array([2.0, 1.0, 2.0, 3.0, 1.0])
    traced = _traced_value(func, x)
    expected = func(x)
    assert type(traced) is type(expected)
    _same(tuple(traced) if isinstance(traced, tuple) else traced,
          tuple(expected) if isinstance(expected, tuple) else expected)
    values = lambda y: func(y)[0] if isinstance(expected, tuple) else func(y)
    # ties: each value's derivative goes to its first occurrence (docs/kinks.md)
    J = ad.jacfwd(values)(x)
    first = np.unique(x, return_index=True)[1]
    np.testing.assert_array_equal(J, np.eye(5)[first])
    np.testing.assert_array_equal(ad.jacrev(values)(x), J)
    _all_modes(values, D5)


def test_choose_errors_and_modes_as_numpy():
    with pytest.raises(ValueError):
        ad.jacfwd(lambda x: np.choose(np.array([0, 5]), [x, x]))(V2)
    with pytest.raises(TypeError, match="out"):
        ad.jacfwd(lambda x: np.choose(np.array([0, 1]), [x, x], out=np.empty(2)))(V2)
    for mode in ("clip", "wrap"):
        f = lambda x: np.choose(np.array([0, 5, -2]), [x[0], x[1]], mode=mode)
        _all_modes(f, X23)


def test_insert_casts_values_and_keeps_integer_arrays_constant():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        _same(_traced_value(lambda v: np.insert(X4, 1, v + 1j), V2), np.insert(X4, 1, V2 + 1j))
    value, t = ad.jvp(lambda v: np.insert(np.arange(4), 1, v), (V2,), (np.ones(2),))
    _same(value, np.insert(np.arange(4), 1, V2))
    with pytest.raises(IndexError):
        ad.jacfwd(lambda v: np.insert(X4, 9, v))(V2)


def test_delete_and_resize_edge_cases():
    _same(_traced_value(lambda x: np.delete(x, slice(None)), X23), np.delete(X23, slice(None)))
    _same(_traced_value(lambda x: np.resize(x, (2, 0)), X23), np.resize(X23, (2, 0)))
    with pytest.raises(ValueError, match="non-negative"):
        ad.jacfwd(lambda x: np.resize(x, (-1, 2)))(X23)
    with pytest.raises(IndexError):
        ad.jacfwd(lambda x: np.delete(x, 7, axis=1))(X23)


def test_unstack_of_a_scalar_is_refused_as_numpy():
    with pytest.raises(ValueError, match="at least 1-d"):
        ad.jacfwd(np.unstack)(np.array(1.0))


def test_real_if_close_decides_on_the_values():
    # within tol the real part (whose derivative is that of the real part),
    # else the complex value itself
    z = X4 + 1e-20j
    value = _traced_value(np.real_if_close, z)
    assert value.dtype == np.float64
    _, t = ad.jvp(np.real_if_close, (z,), (np.full(4, 1 + 2j),))
    np.testing.assert_array_equal(t, np.ones(4))
    value = _traced_value(lambda z: np.real_if_close(z, tol=1e-30), z)
    assert value.dtype == np.complex128
    _all_modes(lambda x: np.real_if_close(x + 1e-3j) * 1j, X4)


def test_unwrap_derivative_is_the_identity_in_p_and_counts_periods():
    J = ad.jacfwd(np.unwrap)(PHASE)
    np.testing.assert_array_equal(J, np.eye(len(PHASE)))
    np.testing.assert_array_equal(ad.jacrev(np.unwrap)(PHASE), J)
    # also where a jump is exactly period/2 (NumPy's boundary case) or discont
    p = np.array([0.0, np.pi, 0.5, 0.5 + np.pi, 0.5 + 2 * np.pi, -1.0, 3.0])
    _same(_traced_value(np.unwrap, p), np.unwrap(p))
    for jac in (ad.jacfwd, ad.jacrev):
        np.testing.assert_array_equal(jac(np.unwrap)(p), np.eye(7))
    # with respect to the period: the number of periods added to each entry
    per = 2.5
    added = np.round((np.unwrap(PHASE, period=per) - PHASE) / per)
    # (NumPy dispatches np.unwrap on p only: p traced as well, so that the period is)
    g = ad.jacfwd(lambda s: np.unwrap(PHASE + 0.0 * s, period=s))(per)
    np.testing.assert_allclose(g, added, atol=1e-15)
    assert np.any(added != 0)


def test_bincount_weights_scatter_and_integer_bins():
    w = np.array([0.5, 1.0, 2.0, 3.0])
    J = ad.jacfwd(lambda w: np.bincount(I4, w))(w)
    np.testing.assert_array_equal(J, (np.arange(6)[:, None] == I4[None, :]).astype(float))
    np.testing.assert_array_equal(ad.jacrev(lambda w: np.bincount(I4, w))(w), J)
    with pytest.raises(TypeError):
        ad.jacfwd(lambda w: np.bincount(w))(w)   # NumPy's error: bins must be integers
    with pytest.raises(ValueError):
        ad.jacfwd(lambda w: np.bincount(I4, w[:3]))(w)


def test_histogram_bin_edges_equal_histograms_edges():
    for bins in (4, "auto", "sturges"):
        edges = _traced_value(lambda y: np.histogram_bin_edges(y, bins), D5)
        _same(edges, np.histogram(D5, bins)[1])
    # the edges follow the minimum and the maximum
    J = ad.jacfwd(lambda y: np.histogram_bin_edges(y, 2))(D5)
    lo, hi = np.argmin(D5), np.argmax(D5)
    np.testing.assert_allclose(J[:, lo], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(J[:, hi], [0.0, 0.5, 1.0])


def test_apply_along_axis_shapes_and_dtypes_as_numpy():
    for axis in (0, 1, -1):
        for func in (np.sum, lambda s: np.outer(s, s), lambda s: s[::-1] * 2):
            _same(_traced_value(lambda x: np.apply_along_axis(func, axis, x), X23),
                  np.apply_along_axis(func, axis, X23))
    _same(_traced_value(lambda x: np.apply_along_axis(lambda s: s[0] > 0, 1, x), X23),
          np.apply_along_axis(lambda s: s[0] > 0, 1, X23))
    with pytest.raises(ValueError, match="iteration dimensions"):
        ad.jacfwd(lambda x: np.apply_along_axis(np.sum, 0, x))(np.zeros((3, 0)))
    _hessians_agree(lambda x: np.sum(np.apply_along_axis(lambda s: np.prod(s) * s, 1, x)), X23)


def test_apply_over_axes_as_numpy():
    for axes in (0, [0, 1], (-1, 0)):
        _same(_traced_value(lambda x: np.apply_over_axes(np.sum, x, axes), X232),
              np.apply_over_axes(np.sum, X232, axes))
    with pytest.raises(ValueError, match="correct shape"):
        ad.jacfwd(lambda x: np.apply_over_axes(lambda a, ax: np.ravel(a), x, 0))(X232)


def test_vector_mode_of_assembling_functions():
    V = np.stack([np.ones_like(X23), X23, -X23])
    for f in (lambda x: np.insert(x, [1, 1], x[:, 0], axis=1), lambda x: np.choose([0, 1, 0], x),
              lambda x: np.resize(x, (5,)), lambda x: np.unwrap(x * 3, axis=0),
              lambda x: np.apply_along_axis(np.cumsum, 1, x)):
        _, tb = ad.jvp(f, (X23,), (V,), batched=True)
        for i in range(3):
            np.testing.assert_array_equal(tb[i], ad.jvp(f, (X23,), (V[i],))[1])


def test_index_helpers_have_no_derivative():
    x = np.array([-np.inf, 0.5, np.inf, 2.2])
    for f in (np.isneginf, np.isposinf, lambda x: np.isin(x, [0.5]),
              lambda x: np.lexsort((x, x[::-1]))):
        value, t = ad.jvp(f, (x,), (np.ones(4),))
        _same(value, f(x))
        assert np.all(t == 0)
    with pytest.raises(TypeError, match="out"):
        ad.jvp(lambda x: np.isneginf(x, out=x), (x,), (np.ones(4),))


def test_union1d_is_the_unique_values_of_both():
    f = lambda a, b: np.union1d(a, b) ** 2
    a, b = np.array([0.3, -1.2, 2.0, 0.3]), np.array([[1.5, -1.2], [0.7, 4.0]])
    np.testing.assert_array_equal(ad.jvp(f, (a, b), (a, b))[0], f(a, b))
    check_grads(lambda a: np.union1d(a, np.array([1.5, 0.7])) ** 2, (np.array([0.3, -1.2, 2.0]),), order=2)
