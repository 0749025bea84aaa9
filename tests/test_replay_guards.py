"""dualad.replay's guards: whatever Python saw of a value is checked again.

Branches, masks, sorting, data-dependent shapes, ``float(x)`` and NaN
points: at every point the replayed result equals eager dualad's, and the
counters say how often a program was reused or recorded afresh.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad

RTOL, ATOL = 1e-12, 1e-14


def _agree(replayed, eager, points, *extra):
    for x in points:
        want = eager(x, *extra)
        got = replayed(x, *extra)
        for g, w in zip(ad.tree_flatten(got)[0], ad.tree_flatten(want)[0]):
            assert np.shape(g) == np.shape(w), f"at {x}: shape {np.shape(g)} vs eager {np.shape(w)}"
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, equal_nan=True,
                                       err_msg=f"at x = {x!r}")


def branchy(x):
    if x[0] > 0:
        return np.sum(x ** 3) + np.prod(np.cos(x))
    return np.sum(np.sin(x) * x)


def test_python_branch_settles_on_one_program_per_branch():
    g = ad.replay(ad.grad(branchy))
    points = np.random.default_rng(0).standard_normal((1000, 3))
    _agree(g, ad.grad(branchy), points)
    assert g.recordings == 2, f"{g.recordings} recordings for two branches"
    assert g.replays == 998
    assert len(g.programs()) == 2
    # each branch's program guards the comparison Python saw
    assert all(p.n_guards >= 1 for p in g.programs())


def test_python_branch_under_every_transformation():
    rng = np.random.default_rng(1)
    points = rng.standard_normal((40, 3))
    v = rng.standard_normal(3)
    for fn in [branchy, ad.value_and_grad(branchy), ad.jacfwd(branchy), ad.jacrev(branchy),
               lambda x: ad.hvp(branchy, x, v), lambda x: ad.hvp(branchy, x, v, "rev-over-fwd"),
               lambda x: ad.jvp(branchy, (x,), (v,))]:
        r = ad.replay(fn)
        _agree(r, fn, points)
        assert r.recordings == 2 and r.replays == 38


def test_boolean_mask_selection_checks_its_shape():
    f = lambda x: np.sum(x[x > 0] ** 2)  # noqa: E731
    r = ad.replay(f)
    x = np.array([1.0, -2.0, 3.0, -4.0])
    r(x)
    # another mask with as many entries selected: same shapes, the program replays
    _agree(r, f, [np.array([-1.0, 2.0, -3.0, 4.0]), np.array([5.0, 6.0, -1.0, -1.0])])
    assert (r.recordings, r.replays) == (1, 2)
    # a selection of another size: the shape check fails, a new recording
    _agree(r, f, [np.array([1.0, 2.0, 3.0, -4.0])])
    assert r.recordings == 2 and r.mismatches >= 1
    _agree(r, f, [np.array([1.0, 2.0, 3.0, 4.0]), np.array([-1.0, -2.0, -3.0, -4.0])])


@pytest.mark.parametrize("transform", ["grad", "hvp", "jacfwd"])
def test_masks_and_where_under_derivatives(transform):
    def f(x):
        return np.sum(x[x > 0] ** 3) + np.sum(np.where(x < 0.5, np.sin(x), x ** 2))
    v = np.array([1.0, -1.0, 0.5, 2.0])
    fn = {"grad": ad.grad(f), "hvp": lambda x: ad.hvp(f, x, v), "jacfwd": ad.jacfwd(f)}[transform]
    r = ad.replay(fn)
    points = np.random.default_rng(2).standard_normal((60, 4))
    _agree(r, fn, points)
    # a boolean selection under a derivative guards its whole mask: with 16
    # masks in turn the signature soon runs eagerly (MAX_MISSES in a row)
    assert r.recordings + r.replays + r.eager_calls == 60
    assert r.recordings < 30


def test_sort_argsort_argmax_gathers():
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])

    def f(x):
        return (np.sum(np.sort(x) * w) + np.sum(x[np.argsort(x)][:2] ** 2)
                + x[np.argmax(x)] * x[np.argmin(x)] + np.take(x, np.argsort(-x))[0] ** 3)
    points = np.random.default_rng(3).standard_normal((80, 5))
    v = np.linspace(-1.0, 1.0, 5)
    for fn in [f, ad.grad(f), lambda x: ad.hvp(f, x, v), lambda x: ad.jvp(f, (x,), (v,))]:
        r = ad.replay(fn)
        _agree(r, fn, points)
    # the order is data: a permutation of a recorded point replays (f only sees indices)
    r = ad.replay(f)
    x = points[0]
    r(x)
    _agree(r, f, [x[::-1], np.roll(x, 2)])
    assert (r.recordings, r.replays) == (1, 2)


def test_nonzero_and_unique():
    def f(x):
        (idx,) = np.nonzero(x > 0)
        return np.sum(x[idx] ** 2) + np.sum(np.unique(np.floor(x * 2)) ** 2)
    def g(x):
        return np.sum(np.unique(x) ** 3)  # unique of distinct values: a sort
    points = np.random.default_rng(4).standard_normal((50, 6))
    for fn in [f, ad.grad(f), g, ad.grad(g), ad.jacfwd(g)]:
        r = ad.replay(fn)
        _agree(r, fn, points)
    r = ad.replay(f)
    r(np.array([1.0, -1.0, 2.0, -2.0, 0.1, -0.1]))
    # nonzero and unique sizes differ: their shape checks refuse the program
    _agree(r, f, [np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])])
    assert r.recordings == 2 and r.mismatches == 1


def test_float_in_python_arithmetic_is_a_guard():
    def f(x):
        # Python arithmetic on a value (held constant for the derivative)
        scale = float(ad.stop_gradient(x[0])) ** 2 + 1.0
        return np.sum(np.sin(x)) * scale
    plain = ad.replay(lambda x: np.sin(x) * (float(x[1]) + 1.0))
    _agree(plain, lambda x: np.sin(x) * (float(x[1]) + 1.0),
           [np.array([0.1, 0.2]), np.array([0.3, 0.2]), np.array([0.3, 0.5])])
    assert (plain.recordings, plain.replays) == (2, 1)
    g = ad.replay(ad.grad(f))
    x = np.array([0.3, -0.7, 1.1])
    _agree(g, ad.grad(f), [x, x])
    assert (g.recordings, g.replays) == (1, 1)
    # another x[0]: the float seen differs, the program is refused
    y = x.copy()
    y[0] = 0.4
    _agree(g, ad.grad(f), [y])
    assert g.recordings == 2 and g.mismatches == 1
    # but only x[0] is guarded
    z = y.copy()
    z[1:] = [5.0, -6.0]
    _agree(g, ad.grad(f), [z])
    assert g.recordings == 2 and g.replays == 2


def test_item_int_and_bool_are_guards():
    def f(x):
        k = int(x[0] > 0) + 2 * int(np.sum(x) > 1.0)
        return x ** (k + 1) + x.item(1)
    r = ad.replay(f)
    points = np.random.default_rng(5).standard_normal((30, 3))
    _agree(r, f, points)
    _agree(r, f, [points[3], points[3]])


def sqrt_where(x):
    # the untaken sqrt of a negative x is NaN; eager dualad redoes the
    # derivative NaN-safely so the result is finite
    return np.sum(np.where(x > 0, np.sqrt(np.abs(x) * (x > 0) + (x <= 0) * x), 0.0))


@pytest.mark.parametrize("first", ["positive", "mixed"])
def test_nan_producing_point_equals_eager(first):
    positive = np.array([1.0, 2.0, 3.0])
    mixed = np.array([1.0, -2.0, 3.0])
    other_mixed = np.array([-1.0, 4.0, 0.5])
    for fn in [ad.grad(sqrt_where), ad.value_and_grad(sqrt_where),
               lambda x: ad.hvp(sqrt_where, x, np.ones(3))]:
        r = ad.replay(fn)
        order = [positive, mixed, other_mixed, positive] if first == "positive" \
            else [mixed, positive, other_mixed, mixed]
        with np.errstate(invalid="ignore"):
            eager = [fn(x) for x in order]
        for x, want in zip(order, eager):
            with np.errstate(invalid="ignore"):
                got = r(x)
            for a, b in zip(ad.tree_flatten(got)[0], ad.tree_flatten(want)[0]):
                assert np.all(np.isfinite(b)), "the case must be one where eager avoids a NaN"
                np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"at {x}")


def test_nan_point_under_the_default_error_state():
    g = ad.replay(ad.grad(lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0))))
    eager = ad.grad(lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0)))
    with np.errstate(invalid="ignore"):
        points = [np.array([1.0, 4.0]), np.array([1.0, -4.0]), np.array([9.0, 1.0]),
                  np.array([-1.0, 4.0])]
        wants = [eager(x) for x in points]
    for x, want in zip(points, wants):
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(g(x), want, rtol=RTOL, atol=ATOL)
        assert np.all(np.isfinite(want))
