"""Structure functions (kron, meshgrid, block, the splits, rot90, rollaxis,
select, piecewise, compress, partition) and elementwise ones (sinc, i0,
nan_to_num, copysign, ldexp, frexp, modf, divmod, fmod, nextafter):
dualad/rules/shape.py and dualad/rules/elementwise.py.

``HONOURED`` (imported by tests/test_keywords.py) lists each honoured
NumPy parameter with sample calls; the walker checks their values against
NumPy's and their derivatives by finite differences, and that every other
parameter is refused by name.  The ufuncs of one output are walked there
too (their keywords); the two-output ones (frexp, modf, divmod), which the
walker leaves out, have their keywords tested here.  The named tests pin
edge inputs (sinc at 0, partitions with ties and NaNs, non-finite entries,
kinks) against hand-derived values, high-precision values and finite
differences, and the nestings (vector mode, Hessians by fwd-over-rev and
rev-over-rev).
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads

X23 = np.array([[1.3, -0.4, 2.2], [0.7, 1.9, -1.1]])
Y23 = np.array([[0.45, 1.15, -0.65], [-1.35, 0.35, 0.85]])
X4 = np.array([0.6, -1.2, 2.3, 0.9])
X3 = np.array([0.35, -0.75, 1.45])
X232 = np.array([[[0.3, 1.6], [-0.8, 2.1], [1.2, -1.7]],
                 [[0.4, -0.2], [1.1, 0.8], [-1.4, 2.6]]])
X6 = np.array([0.6, -1.2, 2.3, 0.9, -0.35, 1.7])
T6 = np.array([0.5, 2.0, -1.0, 0.5, 3.0, 2.0])       # ties
Z3 = X3 + 1j * X3[::-1]
NONFINITE = np.array([1.3, np.nan, -0.4, np.inf, -np.inf, 2.2])
NONFINITE_Z = np.array([1.3 + 0.5j, complex(np.nan, 0.7), complex(-0.4, np.inf),
                        complex(np.inf, np.nan), -2.0 - 1j])
COND2 = [X23 > 1.0, X23 < 0.0]


def _square(t):
    return t * t


def _scaled(t, c, shift=0.0):
    return c * t + shift


HONOURED = {
    np.kron: {
        "a": [((X23, X3), {}), ((X3, X23), {}), ((np.array(1.5), X3), {}), ((X232, X4[:2]), {}),
              ((Z3, X3[:2]), {}), ((X23.astype(np.float32), X3.astype(np.float32)), {})],
        "b": [((X3, X4), {}), ((np.eye(2), X23), {}), ((X23, np.array(0.5)), {})],
    },
    np.meshgrid: {
        "xi": [((X3, X4), {}), ((X3,), {}), ((X3, X4, X23[0, :2]), {}), ((X23, X4), {})],
        "copy": [((X3, X4), {"copy": False}), ((X3, X4), {"copy": True, "sparse": True}),
                 ((X3, X4), {"copy": False, "sparse": True})],
        "sparse": [((X3, X4), {"sparse": True}), ((X3, X4, X6), {"sparse": True, "indexing": "ij"})],
        "indexing": [((X3, X4), {"indexing": "ij"}), ((X3, X4, X6), {"indexing": "xy"}),
                     ((X3,), {"indexing": "xy"})],
    },
    np.block: {
        "arrays": [(([[X23, Y23], [Y23[:1], X23[1:]]],), {}), (([X3, X4],), {}),
                   (([[X3], [X3 * 2]],), {}), (([[X23, np.ones((2, 1))], [np.zeros((1, 4))]],), {}),
                   (([[[X232]], [[X232]]],), {}), (([X3, 1.5, X4],), {}), ((X23,), {}),
                   (([[X23.astype(np.float32), np.ones((2, 1), np.float32)]],), {})],
    },
    np.hsplit: {
        "ary": [((X23, 3), {}), ((X6, 2), {}), ((X232, [1]), {})],
        "indices_or_sections": [((X23, [1, 2]), {}), ((X6, [2, 5]), {})],
    },
    np.vsplit: {
        "ary": [((X23, 2), {}), ((X232, [1]), {})],
        "indices_or_sections": [((np.vstack([X23, Y23]), [1, 3]), {})],
    },
    np.dsplit: {
        "ary": [((X232, 2), {}), ((X232, [1]), {})],
        "indices_or_sections": [((np.concatenate([X232, X232], axis=2), [1, 3]), {})],
    },
    np.rot90: {
        "m": [((X23,), {}), ((X232,), {})],
        "k": [((X23, 2), {}), ((X23,), {"k": 3}), ((X23,), {"k": -1}), ((X23,), {"k": 0}),
              ((X232, 5), {})],
        "axes": [((X232,), {"axes": (1, 2)}), ((X232, 1, (2, 0)), {}), ((X232,), {"axes": [-1, 0]})],
    },
    np.rollaxis: {
        "a": [((X232, 2), {})],
        "axis": [((X232, -1), {}), ((X232, 1), {})],
        "start": [((X232, 2, 0), {}), ((X232, 0, 3), {}), ((X232, 0), {"start": -1})],
    },
    np.select: {
        "condlist": [((COND2, [X23, Y23]), {}), (([X3 > 0], [X3]), {}),
                     (([np.array([True, False, True])], [X23]), {})],
        "choicelist": [((COND2, [X23, 2.5]), {}), ((COND2, [X3, Y23]), {}),
                       ((COND2, [X23.astype(np.float32), Y23.astype(np.float32)]), {})],
        "default": [((COND2, [X23, Y23], Y23 * 3), {}), ((COND2, [X23, Y23]), {"default": 0.5}),
                    ((COND2, [np.ones((2, 3)), np.zeros(3)], X3), {}),
                    ((COND2, [Z3, X23]), {"default": 1j})],
    },
    np.piecewise: {
        "x": [((X23, COND2, [_square, np.sin]), {}), ((X3, [X3 < 0], [np.exp, 2.0]), {}),
              ((np.array(0.7), [True], [_square]), {})],
        "condlist": [((X3, X3 > 0, [_square, np.cos]), {}),
                     ((X23, COND2 + [X23 > 2.0], [_square, np.sin, 4.0]), {})],
        "funclist": [((X23, COND2, [_square, 1.5, np.exp]), {}),
                     ((X23, COND2, [lambda t: 2.0, _square]), {})],
        "args": [((X23, COND2, [_scaled, _scaled], 3.0), {}),
                 ((X23, COND2, [_scaled, _scaled, _scaled], 3.0, 1.0), {}),
                 ((X23, COND2, [_scaled, _scaled], 3.0), {"shift": 0.5})],
    },
    np.compress: {
        "condition": [(([True, False, True], X3), {}), ((np.array([0, 1]), X23), {"axis": 0}),
                      (([False, True], X23), {"axis": 1})],
        "a": [(([True, False, True, True], X23), {}), (([1, 0, 1], Z3), {})],
        "axis": [(([True, False, True], X23), {"axis": 1}), (([True, True], X232), {"axis": -2}),
                 (([True, False], X23), {"axis": None})],
    },
    np.partition: {
        # (ties and NaNs, where finite differences do not apply: the named tests below)
        "a": [((X6, 2), {}), ((X23, 1), {}), ((X6.astype(np.float32), 4), {}), ((Z3, 1), {})],
        "kth": [((X6, [1, 4]), {}), ((X6, -1), {}), ((X232, np.array([0, 2])), {"axis": 1})],
        "axis": [((X23, 0), {"axis": 0}), ((X232, 1), {"axis": -2}), ((X23, 4), {"axis": None})],
        "kind": [((X6, 2), {"kind": "introselect"})],
    },
    np.argpartition: {
        "a": [((X6, 2), {}), ((X23, 1), {})],
        "kth": [((X6, [1, 4]), {})],
        "axis": [((X23, 0), {"axis": 0}), ((X23, 4), {"axis": None})],
        "kind": [((X6, 2), {"kind": "introselect"})],
        "order": [((X6, 2), {"order": None})],
    },
    np.sinc: {
        "x": [((X23,), {}), ((np.array([0.0, 1e-4, -0.05, 0.2, 1.0]),), {}),
              ((X23.astype(np.float32),), {}), ((Z3,), {}), ((np.array(0.0),), {})],
    },
    np.i0: {
        "x": [((X23,), {}), ((np.array([0.0, 9.5, -12.0]),), {}), ((X23.astype(np.float32),), {})],
    },
    np.nan_to_num: {
        "x": [((X23,), {}), ((NONFINITE,), {}), ((NONFINITE_Z,), {}),
              ((NONFINITE.astype(np.float32),), {}), ((np.array(np.nan),), {})],
        "copy": [((NONFINITE,), {"copy": True}), ((X23,), {"copy": False})],
        "nan": [((NONFINITE,), {"nan": 5.0}), ((NONFINITE, True, np.array(-2.5)), {}),
                ((NONFINITE_Z, True, np.array(0.25)), {})],
        "posinf": [((NONFINITE,), {"posinf": 1e10}), ((NONFINITE, True, 0.0, np.array(7.5)), {}),
                   ((NONFINITE_Z,), {"posinf": 1e5})],
        "neginf": [((NONFINITE,), {"neginf": -3.0}),
                   ((NONFINITE, True, 0.0, None, np.array(-7.5)), {}),
                   ((NONFINITE_Z.astype(np.complex64),), {"neginf": -1.0})],
    },
}


def _value_and_check(f, args, order=2):
    """The traced value equals NumPy's (dtype too), and the derivatives pass
    check_grads in both modes."""
    expected = f(*args)
    value, _ = ad.jvp(f, args, tuple(np.ones_like(a) for a in args))
    for v, e in zip(ad.tree_flatten(value)[0], ad.tree_flatten(expected)[0]):
        assert np.asarray(v).dtype == np.asarray(e).dtype
        np.testing.assert_array_equal(np.asarray(v), e)
    check_grads(f, args, order=order, modes=("fwd", "rev"))


def _hessians_agree(f, x):
    h = ad.hessian(f)(x)
    np.testing.assert_allclose(h, ad.jacrev(ad.jacrev(f))(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h, ad.jacfwd(ad.jacfwd(f))(x), rtol=1e-10, atol=1e-12)
    return h


# ---- kron, meshgrid, block ------------------------------------------------------------
@pytest.mark.parametrize("a, b", [(X23, X3), (X3, X23), (np.array(0.5), X4), (X232, X23),
                                  (X4, np.array(-1.5))])
def test_kron_is_every_product(a, b):
    _value_and_check(np.kron, (a, b))
    # d kron(a, b) / d a_ij is b placed in block (i, j)
    ga = ad.grad(lambda a: np.sum(np.kron(a, b)))(a)
    np.testing.assert_allclose(ga, np.full(a.shape, np.sum(b)), rtol=1e-13)


def test_kron_of_complex_values():
    _value_and_check(np.kron, (Z3, X23))


def test_meshgrid_outputs_follow_numpy():
    for kwargs in [{}, {"indexing": "ij"}, {"sparse": True}, {"copy": False},
                   {"sparse": True, "copy": False}]:
        f = lambda a, b: np.meshgrid(a, b, X6, **kwargs)
        value, _ = ad.jvp(f, (X3, X4), (X3, X4))
        expected = np.meshgrid(X3, X4, X6, **kwargs)
        assert type(value) is type(expected)
        for v, e in zip(value, expected):
            np.testing.assert_array_equal(np.asarray(v), e)
        check_grads(f, (X3, X4), order=2, modes=("fwd", "rev"))
    # a constant input keeps NumPy's own (writeable) copy
    out = ad.jvp(lambda a: np.meshgrid(a, X4), (X3,), (X3,))[0][1]
    assert isinstance(out, np.ndarray) and out.flags.writeable


def test_block_mixes_traced_and_constant_blocks():
    f = lambda a, b: np.block([[a, np.ones((2, 1)), b[:, :1]], [np.zeros((1, 2)), b[:1, 1:]]])
    _value_and_check(f, (X23[:, :2], Y23))
    g = lambda a, b: np.block([[[a]], [[b]]])  # three levels: a new leading axis
    _value_and_check(g, (X23, Y23))
    _value_and_check(lambda a: np.block([a, 2.0, a[::-1]]), (X3,))


@pytest.mark.parametrize("arrays", [lambda a: [[a, a], a], lambda a: [(a, a)], lambda a: [[]],
                                    lambda a: [[a, a[:1]]]])
def test_block_raises_numpys_errors(arrays):
    with pytest.raises(Exception) as numpy_error:
        np.block(arrays(X23))
    with pytest.raises(type(numpy_error.value)):
        ad.grad(lambda a: np.sum(np.block(arrays(a))))(X23)


# ---- splits, rot90, rollaxis ------------------------------------------------------------
def test_splits_and_their_errors():
    for split, x in [(np.hsplit, X23), (np.hsplit, X6), (np.vsplit, X23), (np.dsplit, X232)]:
        _value_and_check(lambda a: split(a, 2 if split is not np.hsplit else 3)
                         if x.shape != (2, 3, 2) else split(a, 2), (x,))
    for split, x in [(np.hsplit, np.array(1.0)), (np.vsplit, X6), (np.dsplit, X23)]:
        with pytest.raises(ValueError) as numpy_error:
            split(x, 1)
        with pytest.raises(ValueError, match=str(numpy_error.value)):
            ad.jvp(lambda a: split(a, 1), (x,), (x,))
    with pytest.raises(ValueError):  # not an equal division, as NumPy
        ad.jvp(lambda a: np.hsplit(a, 2), (X23,), (X23,))


@pytest.mark.parametrize("k", [0, 1, 2, 3, 4, -1, 7])
@pytest.mark.parametrize("axes", [(0, 1), (1, 0), (2, 0), (-1, 1)])
def test_rot90_every_turn(k, axes):
    f = lambda m: np.rot90(m, k, axes)
    _value_and_check(f, (X232,), order=1)


@pytest.mark.parametrize("axes", [(0, 0), (0, 3), (0,), (0, -3)])
def test_rot90_errors_are_numpys(axes):
    with pytest.raises(ValueError) as numpy_error:
        np.rot90(X232, 1, axes)
    with pytest.raises(ValueError, match=str(numpy_error.value).replace("(", r"\(").replace(")", r"\)")):
        ad.grad(lambda m: np.sum(np.rot90(m, 1, axes)))(X232)


def test_rollaxis_is_numpys_permutation():
    for axis, start in [(0, 0), (0, 3), (2, 0), (-1, 1), (1, 2)]:
        _value_and_check(lambda a: np.rollaxis(a, axis, start), (X232,), order=1)
    with pytest.raises(np.exceptions.AxisError):
        ad.grad(lambda a: np.sum(np.rollaxis(a, 0, 5)))(X232)


# ---- select, piecewise, compress -------------------------------------------------------
def test_select_first_true_condition_wins_and_default_is_traced():
    conds = [X23 > 0.5, X23 > 0.0]  # overlapping: the first wins where both hold
    f = lambda a, b, d: np.select(conds, [a, b], default=d)
    _value_and_check(f, (X23, Y23, Y23[0] * 2))
    ga, gb, gd = ad.grad(lambda a, b, d: np.sum(f(a, b, d)), argnums=(0, 1, 2))(X23, Y23, Y23[0] * 2)
    first = conds[0]
    second = ~conds[0] & conds[1]
    np.testing.assert_array_equal(ga, first * 1.0)
    np.testing.assert_array_equal(gb, second * 1.0)
    np.testing.assert_array_equal(gd, np.sum(~(first | second), axis=0) * 1.0)


def test_select_with_only_the_default_traced_names_numpy_select():
    # NumPy's dispatch looks at the conditions and choices only
    with pytest.raises(TypeError, match="numpy.select"):
        ad.grad(lambda d: np.sum(np.select([X3 > 0], [X3], default=d)))(0.5)
    g = ad.grad(lambda d, c: np.sum(np.select([X3 > 0], [c], default=d)), argnums=(0, 1))(0.5, X3)
    np.testing.assert_array_equal(g[0], np.sum(X3 <= 0))


def test_select_keeps_numpys_dtype_and_errors():
    f = lambda a: np.select([a > 0], [a], default=2.0)
    value, _ = ad.jvp(f, (X3.astype(np.float32),), (np.ones(3, np.float32),))
    assert value.dtype == np.float32
    with pytest.raises(TypeError, match="invalid entry 0"):
        ad.grad(lambda a: np.sum(np.select([a], [a])))(X3)
    with pytest.raises(ValueError, match="same length"):
        ad.grad(lambda a: np.sum(np.select([a > 0], [a, a])))(X3)
    with pytest.raises(ValueError, match="empty"):
        ad.grad(lambda a: np.sum(np.select([], [], default=a)))(X3)


def test_piecewise_calls_functions_on_traced_slices():
    seen = []

    def cube(t, c, power=3):
        seen.append(t)
        return c * t ** power
    f = lambda x, c: np.piecewise(x, [x < 0, x > 1.5], [cube, lambda t, c, power: c, 0.25], c,
                                  power=3)
    _value_and_check(f, (X23, np.array(2.0)))
    assert any(isinstance(t, ad.core.Box) and t.shape == (2,) for t in seen)
    gx, gc = ad.grad(lambda x, c: np.sum(f(x, c)), argnums=(0, 1))(X23, np.array(2.0))
    neg, big = X23 < 0, X23 > 1.5
    np.testing.assert_allclose(gx, np.where(neg, 2.0 * 3 * X23 ** 2, 0.0), rtol=1e-14)
    np.testing.assert_allclose(gc, np.sum(np.where(neg, X23 ** 3, 0.0)) + np.sum(big), rtol=1e-14)


def test_piecewise_later_conditions_overwrite_and_dtype_is_xs():
    conds = [X23 > 0.0, X23 > 1.0]  # overlapping: the later one wins
    f = lambda x: np.piecewise(x, conds, [np.sin, _square])
    _value_and_check(f, (X23,))
    g = ad.grad(lambda x: np.sum(f(x)))(X23)
    np.testing.assert_allclose(g, np.where(conds[1], 2 * X23, np.where(conds[0], np.cos(X23), 0.0)))
    value, _ = ad.jvp(f, (X23.astype(np.float32),), (np.ones((2, 3), np.float32),))
    assert value.dtype == np.float32
    with pytest.raises(ValueError, match="functions are expected"):
        ad.grad(lambda x: np.sum(np.piecewise(x, conds, [np.sin])))(X23)


def test_piecewise_traced_constant_in_funclist():
    f = lambda x, c: np.piecewise(x, [x > 0], [c, np.cos])
    _value_and_check(f, (X23, np.array(0.75)))
    gx, gc = ad.grad(lambda x, c: np.sum(f(x, c)), argnums=(0, 1))(X23, np.array(0.75))
    assert gc == np.sum(X23 > 0)
    np.testing.assert_array_equal(gx, np.where(X23 > 0, 0.0, -np.sin(X23)))
    # NumPy hands piecewise to dualad only for a traced x (or condlist): with
    # x constant, NumPy's own loop meets the traced constant and says so
    with pytest.raises(TypeError, match="numpy.piecewise"):
        ad.grad(lambda c: np.sum(f(X23, c)))(np.array(0.75))


def test_compress_and_methods():
    _value_and_check(lambda a: np.compress([True, False, True], a, axis=1) ** 2, (X23,))
    _value_and_check(lambda a: a.compress([False, True]), (X23,))
    _value_and_check(lambda a: a.compress([1, 0, 1], axis=1) * a.argpartition(1, axis=1)[:, :2],
                     (X23,))
    _value_and_check(lambda a: a * np.sort(a).searchsorted(0.5, side="right"), (X4,))
    with pytest.raises(ValueError, match="1-d"):
        ad.grad(lambda a: np.sum(np.compress(np.ones((2, 3), bool), a)))(X23)
    with pytest.raises(IndexError):
        ad.grad(lambda a: np.sum(np.compress([1, 0, 0, 1], a, axis=1)))(X23)
    with pytest.raises(TypeError, match="out"):
        ad.grad(lambda a: np.sum(np.compress([1, 0, 1], a, out=np.empty(2))))(X3)


# ---- partition --------------------------------------------------------------------------
@pytest.mark.parametrize("x, kth, axis", [(X6, 2, -1), (X6, [0, 3, 5], -1), (X23, 1, 0),
                                          (X232, np.array([0, 2]), 1), (X23, 3, None)])
def test_partition_derivative_follows_the_entries(x, kth, axis):
    f = lambda a: np.partition(a, kth, axis=axis)
    _value_and_check(f, (x,))
    # the kth entry is the kth order statistic: its gradient is one-hot at that entry
    k = kth if np.ndim(kth) == 0 else int(np.asarray(kth)[0])
    flat = x.ravel() if axis is None else None
    if flat is not None:
        g = ad.grad(lambda a: np.partition(a, kth, axis=None)[k])(x)
        np.testing.assert_array_equal(g.ravel(), np.eye(flat.size)[np.argsort(flat)[k]])


def test_partition_with_ties_and_nans():
    # ties: each position's derivative goes to one entry of the tied value
    # (the one argpartition puts there); every position to exactly one entry
    for x, kth in [(T6, 2), (np.array([1.0, np.nan, 0.5, np.nan, 2.0, -1.0, 0.5]), 1),
                   (np.array([3.0, np.nan, 1.0, 2.0, np.nan, 0.5, 4.0]), 5)]:
        value, _ = ad.jvp(lambda a: np.partition(a, kth), (x,), (x,))
        np.testing.assert_array_equal(value, np.partition(x, kth))
        J = ad.jacfwd(lambda a: np.partition(a, kth))(x)
        np.testing.assert_array_equal(J, ad.jacrev(lambda a: np.partition(a, kth))(x))
        assert np.all(J.sum(axis=1) == 1) and np.all(J.sum(axis=0) == 1)  # a permutation
        np.testing.assert_array_equal(J @ np.nan_to_num(x, nan=7.0),
                                      np.nan_to_num(np.partition(x, kth), nan=7.0))


def test_partition_refusals_and_argpartition():
    with pytest.raises(TypeError, match="order"):
        ad.grad(lambda a: np.sum(np.partition(a, 1, order="f")))(X6)
    with pytest.raises(TypeError, match=r"np\.partition\(x, kth\)"):
        ad.grad(lambda a: a.partition(1))(X6)
    with pytest.raises(ValueError):  # NumPy's: kth out of bounds
        ad.grad(lambda a: np.sum(np.partition(a, 9)))(X6)
    idx, t = ad.jvp(lambda a: np.argpartition(a, 2), (X6,), (X6,))
    np.testing.assert_array_equal(idx, np.argpartition(X6, 2))
    assert idx.dtype == np.intp and not isinstance(idx, ad.core.Box)


# ---- sinc, i0 -----------------------------------------------------------------------------
def _mp_sinc_derivative(x, n):
    return float(mpmath.diff(lambda t: mpmath.sin(mpmath.pi * t) / (mpmath.pi * t)
                             if t != 0 else mpmath.mpf(1), x, n))


def test_sinc_at_zero_is_the_limit():
    f = np.sinc
    value, d1 = ad.jvp(f, (np.array(0.0),), (np.array(1.0),))
    assert value == 1.0 and d1 == 0.0
    assert ad.grad(f)(0.0) == 0.0
    # sinc = 1 - π²x²/6 + π⁴x⁴/120 - ...: second derivative -π²/3, fourth π⁴/5
    np.testing.assert_allclose(ad.hessian(f)(0.0), -np.pi ** 2 / 3, rtol=1e-15)
    np.testing.assert_allclose(ad.jacrev(ad.jacfwd(ad.grad(f)))(0.0), 0.0, atol=1e-15)
    np.testing.assert_allclose(ad.grad(ad.grad(ad.grad(ad.grad(f))))(0.0), np.pi ** 4 / 5,
                               rtol=1e-13)


@pytest.mark.parametrize("x", [1e-9, -3e-5, 0.004, 0.0999, 0.1, 0.1001, -0.5, 1.0, 2.75, -7.3])
def test_sinc_derivatives_against_high_precision(x):
    with mpmath.workdps(40):
        d1, d2 = _mp_sinc_derivative(x, 1), _mp_sinc_derivative(x, 2)
    np.testing.assert_allclose(ad.grad(np.sinc)(x), d1, rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(ad.hessian(np.sinc)(x), d2, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ad.jacfwd(ad.jacfwd(np.sinc))(x), d2, rtol=1e-12, atol=1e-15)


def test_sinc_mixed_vector_complex_and_float32():
    x = np.array([0.0, 0.03, -0.2, 1.5, 0.0])
    check_grads(np.sinc, (x,), order=2, modes=("fwd", "rev"))
    _value_and_check(np.sinc, (Z3 * 0.3,))
    _value_and_check(np.sinc, (np.array([0.0, 0.05j, 1 + 1j]),))
    value, t = ad.jvp(np.sinc, (x.astype(np.float32),), (np.ones(5, np.float32),))
    assert value.dtype == np.float32 and t.dtype == np.float32
    _hessians_agree(lambda x: np.sum(np.sinc(x) ** 2), x)


def test_i0_derivatives():
    x = np.array([0.0, 0.5, -3.0, 8.5, 12.0])
    _value_and_check(np.i0, (x,))
    # i0 = 1 + x²/4 + x⁴/64 + ...: i0'(0) = 0, i0''(0) = 1/2
    assert ad.grad(np.i0)(0.0) == 0.0
    np.testing.assert_allclose(ad.hessian(np.i0)(0.0), 0.5, rtol=1e-14)
    with mpmath.workdps(30):
        d1 = [float(mpmath.diff(mpmath.besseli0 if hasattr(mpmath, "besseli0") else
                                (lambda t: mpmath.besseli(0, t)), v)) for v in x]
    np.testing.assert_allclose(ad.jacfwd(lambda x: np.i0(x))(x).diagonal(), d1, rtol=1e-13)
    with pytest.raises(TypeError, match="complex"):
        ad.grad(lambda z: np.abs(np.i0(z * 1j)))(0.5)


# ---- nan_to_num --------------------------------------------------------------------------
def test_nan_to_num_derivative_is_one_on_finite_entries():
    for x in (NONFINITE, NONFINITE.astype(np.float32)):
        value, t = ad.jvp(np.nan_to_num, (x,), (np.ones_like(x),))
        np.testing.assert_array_equal(value, np.nan_to_num(x))
        assert value.dtype == x.dtype and t.dtype == x.dtype
        np.testing.assert_array_equal(t, np.isfinite(x) * 1.0)
    g = ad.grad(lambda x: np.sum(np.nan_to_num(x) * 0.5))(NONFINITE)
    np.testing.assert_array_equal(g, np.isfinite(NONFINITE) * 0.5)


def test_nan_to_num_traced_replacement_values():
    f = lambda x, nan, posinf, neginf: np.nan_to_num(x, True, nan, posinf, neginf)
    args = (NONFINITE, np.array(-2.5), np.array(9.0), np.array(-9.0))
    _value_and_check(f, args)
    grads = ad.grad(lambda *a: np.sum(f(*a) * np.arange(1.0, 7.0)), argnums=(0, 1, 2, 3))(*args)
    np.testing.assert_array_equal(grads[0], np.where(np.isfinite(NONFINITE), np.arange(1.0, 7.0), 0))
    assert (grads[1], grads[2], grads[3]) == (2.0, 4.0, 5.0)


def test_nan_to_num_complex():
    z = NONFINITE_Z
    value, t = ad.jvp(np.nan_to_num, (z,), (np.full(5, 1 + 2j),))
    np.testing.assert_array_equal(value, np.nan_to_num(z))
    expected = np.where(np.isfinite(z.real), 1.0, 0.0) + 2j * np.where(np.isfinite(z.imag), 1.0, 0.0)
    np.testing.assert_array_equal(t, expected)
    # NumPy's value when a replacement is infinite
    f = lambda z: np.nan_to_num(z, posinf=np.inf, neginf=-np.inf, nan=1.5)
    np.testing.assert_array_equal(ad.jvp(f, (z,), (z,))[0], f(z))
    check_grads(lambda z, n: np.nan_to_num(z, nan=n), (z, np.array(0.3)), order=2,
                modes=("fwd", "rev"))


def test_nan_to_num_replacement_traced_with_constant_x_names_the_function():
    with pytest.raises(TypeError, match="numpy.nan_to_num"):
        ad.grad(lambda n: np.sum(np.nan_to_num(NONFINITE, nan=n)))(0.5)


def test_nan_to_num_copy_false_refused_only_when_it_would_replace():
    value, t = ad.jvp(lambda x: np.nan_to_num(x, copy=False), (X23,), (X23,))
    np.testing.assert_array_equal(value, X23)
    x = NONFINITE.copy()
    with pytest.raises(TypeError, match="copy"):
        ad.jvp(lambda x: np.nan_to_num(x, copy=False), (x,), (x,))
    np.testing.assert_array_equal(x, NONFINITE, strict=True)  # nothing the user passed changed


# ---- copysign, nextafter, ldexp, frexp --------------------------------------------------------
def test_copysign_flips_the_derivative_and_has_none_in_the_sign():
    f = lambda a, b: np.copysign(a, b)
    _value_and_check(f, (X23, Y23))
    ga, gb = ad.grad(lambda a, b: np.sum(f(a, b)), argnums=(0, 1))(X23, Y23)
    np.testing.assert_array_equal(ga, np.sign(X23) * np.sign(Y23))
    np.testing.assert_array_equal(gb, np.zeros_like(Y23))
    # at a = 0 the derivative is 0, as abs'(0) (docs/kinks.md)
    z = np.array([0.0, -0.0, 1.0])
    np.testing.assert_array_equal(ad.jacfwd(lambda a: np.copysign(a, -1.0))(z).diagonal(), [0, 0, -1])
    np.testing.assert_array_equal(ad.grad(lambda a: np.sum(np.copysign(a, 2.0)))(z), [0, 0, 1])


def test_nextafter_is_its_first_argument_to_first_order():
    f = lambda a, b: np.nextafter(a, b)
    _value_and_check(f, (X23, Y23), order=1)
    ga, gb = ad.grad(lambda a, b: np.sum(f(a, b)), argnums=(0, 1))(X23, Y23)
    np.testing.assert_array_equal(ga, np.ones_like(X23))
    np.testing.assert_array_equal(gb, np.zeros_like(Y23))


def test_ldexp_and_frexp():
    e = np.array([[3, -2, 0], [1, 0, -5]])
    _value_and_check(lambda a: np.ldexp(a, e), (X23,))
    np.testing.assert_array_equal(ad.grad(lambda a: np.sum(np.ldexp(a, e)))(X23), 2.0 ** e)
    x32 = X23.astype(np.float32)
    value, t = ad.jvp(lambda a: np.ldexp(a, e), (x32,), (np.ones_like(x32),))
    assert value.dtype == np.float32 and t.dtype == np.float32
    with pytest.raises(TypeError):  # NumPy: the exponent must be an integer
        ad.grad(lambda a, b: np.sum(np.ldexp(a, b)), argnums=(0, 1))(X23, X23)

    mantissa, exponent = np.frexp(X23)
    (m, ex), (tm, tex) = ad.jvp(np.frexp, (X23,), (np.ones_like(X23),))
    np.testing.assert_array_equal(m, mantissa)
    np.testing.assert_array_equal(ex, exponent)
    assert ex.dtype == exponent.dtype and not isinstance(ex, ad.core.Box)
    np.testing.assert_array_equal(tm, 2.0 ** -exponent)
    _value_and_check(lambda a: np.frexp(a)[0] * np.frexp(a)[1], (X23,))
    # 0, inf and nan: exponent 0, mantissa x itself
    special = np.array([0.0, np.inf, -np.inf, np.nan, 2.0])
    (m, ex), (tm, _) = ad.jvp(np.frexp, (special,), (np.ones(5),))
    np.testing.assert_array_equal(m, np.frexp(special)[0])
    np.testing.assert_array_equal(tm, [1.0, 1.0, 1.0, 1.0, 0.25])


# ---- modf, divmod, fmod -------------------------------------------------------------------
FRACTIONAL = np.array([[1.3, -0.4, 2.2], [-3.7, 5.45, -1.1]])


def test_modf_fraction_has_derivative_one():
    (frac, whole), (tf, tw) = ad.jvp(np.modf, (FRACTIONAL,), (np.ones((2, 3)),))
    ef, ew = np.modf(FRACTIONAL)
    np.testing.assert_array_equal(frac, ef)
    np.testing.assert_array_equal(whole, ew)
    np.testing.assert_array_equal(tf, np.ones((2, 3)))
    assert not isinstance(whole, ad.core.Box) and tw is None or np.all(np.asarray(tw) == 0)
    check_grads(lambda x: np.modf(x)[0] * np.modf(x)[1] + np.modf(x)[0] ** 2, (FRACTIONAL,),
                order=2, modes=("fwd", "rev"))


def test_divmod_remainder_is_np_remainder():
    y = np.array([0.7, -1.3, 2.9])
    f = lambda a, b: np.divmod(a, b)
    (q, r), _ = ad.jvp(f, (FRACTIONAL, y), (FRACTIONAL, y))
    eq, er = np.divmod(FRACTIONAL, y)
    np.testing.assert_array_equal(q, eq)
    np.testing.assert_array_equal(r, er)
    check_grads(lambda a, b: np.divmod(a, b)[1] * np.divmod(a, b)[0], (FRACTIONAL, y), order=2,
                modes=("fwd", "rev"))
    ga, gb = ad.grad(lambda a, b: np.sum(np.divmod(a, b)[1]), argnums=(0, 1))(FRACTIONAL, y)
    np.testing.assert_array_equal(ga, np.ones_like(FRACTIONAL))
    np.testing.assert_array_equal(gb, -np.sum(eq, axis=0))
    for f in (lambda a, b: divmod(a, b), lambda a, b: divmod(a, 0.7), lambda a, b: divmod(1.9, b)):
        (q, r), _ = ad.jvp(f, (FRACTIONAL, y), (FRACTIONAL, y))  # Python's divmod, as ndarray's
        eq, er = f(FRACTIONAL, y)
        np.testing.assert_array_equal(q, eq)
        np.testing.assert_array_equal(r, er)
        check_grads(lambda a, b: f(a, b)[1], (FRACTIONAL, y), order=2, modes=("fwd", "rev"))


def test_fmod_derivatives():
    y = np.array([0.7, -1.3, 2.9])
    _value_and_check(np.fmod, (FRACTIONAL, y))
    ga, gb = ad.grad(lambda a, b: np.sum(np.fmod(a, b)), argnums=(0, 1))(FRACTIONAL, y)
    np.testing.assert_array_equal(ga, np.ones_like(FRACTIONAL))
    np.testing.assert_array_equal(gb, -np.sum(np.trunc(FRACTIONAL / y), axis=0))


@pytest.mark.parametrize("ufunc, args", [(np.modf, (FRACTIONAL,)), (np.frexp, (X23,)),
                                         (np.divmod, (FRACTIONAL, np.array([0.7, -1.3, 2.9])))],
                         ids=["modf", "frexp", "divmod"])
def test_two_output_ufunc_keywords(ufunc, args):
    tangents = tuple(np.ones_like(a) for a in args)
    for dtype in (np.float32, np.float64, np.int64):
        try:
            expected = ufunc(*args, dtype=dtype)
        except TypeError as exc:  # NumPy has no loop for it: the same error
            with pytest.raises(type(exc)):
                ad.jvp(lambda *xs: ufunc(*xs, dtype=dtype), args, tangents)
            continue
        value, tangent = ad.jvp(lambda *xs: ufunc(*xs, dtype=dtype), args, tangents)
        for v, e in zip(value, expected):
            assert np.asarray(v).dtype == e.dtype
            np.testing.assert_allclose(np.asarray(v), e, rtol=1e-6)
    defaults = dict(out=(None, None), where=True, casting="same_kind", order="K", subok=True)
    value, tangent = ad.jvp(lambda *xs: ufunc(*xs, **defaults), args, tangents)
    plain_value, plain_tangent = ad.jvp(ufunc, args, tangents)
    for v, e in zip(value, ufunc(*args)):
        np.testing.assert_array_equal(np.asarray(v), e)
    np.testing.assert_array_equal(tangent[0], plain_tangent[0])
    refused = {"out": (np.empty_like(args[0]), np.empty_like(args[0])),
               "where": args[0] > 0.5, "casting": "unsafe", "order": "F", "subok": False,
               "signature": "d->dd"}
    for keyword, value in refused.items():
        with pytest.raises(TypeError) as info:
            ad.jvp(lambda *xs: ufunc(*xs, **{keyword: value}), args, tangents)
        assert keyword in str(info.value) and "dualad" in str(info.value)


def test_two_output_ufuncs_in_vector_mode_and_hessians():
    y = np.array([0.7, -1.3, 2.9])
    f = lambda a: np.modf(a)[0] * np.divmod(a, y)[1] + np.frexp(a)[0] ** 2
    V = np.random.default_rng(3).standard_normal((4, 2, 3))
    _, batched = ad.jvp(f, (FRACTIONAL,), (V,), batched=True)
    for i in range(4):
        np.testing.assert_allclose(batched[i], ad.jvp(f, (FRACTIONAL,), (V[i],))[1], rtol=1e-13)
    _hessians_agree(lambda a: np.sum(f(a) * np.sinc(a) + np.nan_to_num(a) ** 3), FRACTIONAL)


def test_structure_functions_hessians_agree():
    def f(x):
        k = np.kron(x[:2], x[1:])
        b = np.block([[x[:2], x[2:]], [x[::-1][:2], x[:2]]])
        s = np.select([x > 0], [x ** 2], default=np.sin(x))
        p = np.piecewise(x, [x > 1.0], [np.exp, _square])
        g = np.meshgrid(x[:2], x[2:])[0]
        return (np.sum(k * k) + np.sum(b[0] * b[1]) + np.sum(s * p)
                + np.sum(np.partition(x, 2)[:3] ** 3) + np.sum(g * np.rot90(g)))
    _hessians_agree(f, X4)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("ufunc", [np.modf, np.frexp, np.divmod], ids=["modf", "frexp", "divmod"])
def test_two_output_ufuncs_keep_the_input_dtype(ufunc, dtype):
    # (the two-output counterpart of test_elementwise_exact's dtype walker)
    args = (FRACTIONAL.astype(dtype),) + ((np.array([0.7, -1.3, 2.9], dtype),) if ufunc.nin == 2 else ())
    expected = ufunc(*args)
    for i in range(ufunc.nin):
        def first(z, i=i):
            full = list(args)
            full[i] = z
            return ufunc(*full)[0 if ufunc is not np.divmod else 1]
        value, tangent = ad.jvp(first, (args[i],), (np.ones_like(args[i]),))
        want = expected[0 if ufunc is not np.divmod else 1]
        assert np.asarray(value).dtype == want.dtype and np.asarray(tangent).dtype == want.dtype
        np.testing.assert_array_equal(np.asarray(value), want)
        (cotangent,) = ad.vjp(first, args[i])[1](np.ones_like(want))
        assert np.asarray(cotangent).dtype == dtype
