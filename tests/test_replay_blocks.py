"""Blocked execution of dualad.replay programs over large arrays (dualad.staging.blocks).

Each test checks that the programs it runs really contain blocked regions
(``n_blocked``), so that a change making regions vanish cannot pass them
silently, and compares every replayed result with the eager one.
"""

import numpy as np
import pytest
import scipy.optimize as so

import dualad as ad
from dualad.staging import blocks


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _blocked(replayed):
    return sum(p.n_blocked for p in replayed.programs())


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("n", [blocks.BLOCK_MIN + 1, 4 * blocks.BLOCK + 17])
def test_rosenbrock_gradient_and_hvp_blocked(n, workers):
    rng = np.random.default_rng(n + workers)
    g = ad.replay(ad.grad(rosen), workers=workers)
    h = ad.replay(lambda x, v: ad.hvp(rosen, x, v), workers=workers)
    hf = ad.replay(lambda x, v: ad.hvp(rosen, x, v), fixed_argnums=0, workers=workers)
    for _ in range(3):
        x, v = rng.uniform(-1.5, 1.5, n), rng.standard_normal(n)
        np.testing.assert_allclose(g(x), so.rosen_der(x), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(h(x, v), so.rosen_hess_prod(x, v), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(hf(x, v), so.rosen_hess_prod(x, v), rtol=1e-12, atol=1e-9)
    for r in (g, h, hf):
        assert r.recordings == 1 and r.replays == 2
        assert _blocked(r) > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_two_dimensional_and_broadcast_scalars(workers):
    rows = 2 * blocks.BLOCK_MIN // 100 + 3
    x = np.random.default_rng(0).standard_normal((rows, 100))

    def f(x):
        y = np.tanh(x) * 1.5 + np.sin(x) ** 2 - 0.25 * x
        return np.sum(y * np.exp(-x * x))

    for fn in (f, ad.grad(f)):
        r = ad.replay(fn, workers=workers)
        for k in range(3):
            xk = x * (1 + 0.1 * k)
            np.testing.assert_allclose(r(xk), fn(xk), rtol=1e-12, atol=1e-12)
        assert _blocked(r) > 0


def test_block_temporaries_used_twice_in_one_operation():
    # y * y frees y's block buffer once: freeing it twice gave two live values one buffer
    n = blocks.BLOCK_MIN + 5

    def f(x):
        a = np.sin(x)
        b = a * a
        c = np.cos(x) + b
        d = c * c
        e = np.exp(-b) + d * a
        return np.sum(e * e + b)

    x = np.linspace(-2.0, 2.0, n)
    cases = [(f, (x,)), (ad.grad(f), (x,)),
             (lambda x, v: ad.jvp(f, (x,), (v,)), (x, np.cos(x)))]
    for fn, args in cases:
        r = ad.replay(fn)
        r(*args)
        later = tuple(a * 1.01 for a in args)
        got, want = r(*later), fn(*later)
        for p, q in zip(ad.tree_flatten(got)[0], ad.tree_flatten(want)[0]):
            np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-12)
        assert _blocked(r) > 0


@pytest.mark.parametrize("workers", [1, 2])
def test_invalid_operation_inside_a_block_rerecords(workers):
    """NaN-safe redo under the eager gradient: a replay in which a block meets
    an invalid operation is abandoned (in worker threads too) and the call
    records, so the result is the eager one."""
    n = blocks.BLOCK_MIN + 11

    def f(x):
        return np.sum(np.where(x > 0, np.sqrt(np.abs(x)) * x, x ** 2) + np.log(x * x + 1.0))

    g = ad.replay(ad.grad(f), workers=workers)
    x = np.linspace(0.5, 2.0, n)
    g(x)
    y = x.copy()
    y[n // 2] = np.inf  # inf - inf in the derivative: an invalid operation
    with np.errstate(invalid="ignore"):
        want = ad.grad(f)(y)
        got = g(y)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[np.isfinite(want)], want[np.isfinite(want)], rtol=1e-12)
    assert g.mismatches >= 1


def test_results_do_not_alias_pooled_buffers():
    n = blocks.BLOCK_MIN + 3
    g = ad.replay(ad.grad(rosen))
    x = np.linspace(-1.0, 1.0, n)
    first = g(x)
    kept = first.copy()
    second = g(x * 0.5)
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, kept)  # the second call did not write into the first result
    x_before = x.copy()
    g(x)
    np.testing.assert_array_equal(x, x_before)
