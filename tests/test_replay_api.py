"""dualad.replay's promises beyond equal values: no aliasing between calls or
with inputs, threads, flat memory, and the calling conventions of
dualad/staging/__init__.py (static arguments, pytrees, boxed inputs,
purity, nesting, errors that name the fix)."""

from __future__ import annotations

import sys
import threading
import tracemalloc
from collections import namedtuple

import numpy as np
import pytest

import dualad as ad
from dualad.staging import StagingError


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def smooth(x):
    return np.sum(np.sin(x) * np.cos(x) + np.exp(-x * x) * x)


# ---- aliasing ---------------------------------------------------------------------
def _arrays(tree):
    return [a for a in ad.tree_flatten(tree)[0] if isinstance(a, np.ndarray)]


@pytest.mark.parametrize("n", [3, 20_000])
def test_results_share_no_memory_with_inputs_or_earlier_results(n):
    rng = np.random.default_rng(0)
    v = rng.standard_normal(n)
    fns = {
        "grad": ad.grad(smooth),
        "value_and_grad": ad.value_and_grad(smooth),
        "hvp": lambda x, v: ad.hvp(smooth, x, v),
        "jvp": lambda x, v: ad.jvp(lambda y: np.sin(y) * y, (x,), (v,)),
        "plain": lambda x, v: (np.exp(x) * v, x * v + 1.0),
    }
    for name, fn in fns.items():
        r = ad.replay(fn)
        takes_v = name not in ("grad", "value_and_grad")
        results, inputs = [], []
        for k in range(4):
            x = rng.standard_normal(n)
            args = (x, v) if takes_v else (x,)
            copies = [a.copy() for a in args]
            out = r(*args)
            for a, c in zip(args, copies):
                np.testing.assert_array_equal(a, c, err_msg=f"{name} changed its input")
            for a in _arrays(out):
                for b in list(args) + [b for old in results for b in _arrays(old)]:
                    assert not np.shares_memory(a, b), f"{name}: a result shares memory"
            results.append(out)
            inputs.append(args)
        assert r.replays == 3, name
        # the kept results are still the right ones (no later call wrote into them)
        for args, out in zip(inputs, results):
            for a, b in zip(_arrays(out), _arrays(fn(*args))):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_large_program_reuses_buffers_and_leaves_inputs_alone():
    g = ad.replay(ad.grad(smooth))
    x = np.linspace(-2.0, 2.0, 10_000)
    g(x)
    (program,) = g.programs()
    assert program.n_reused > 0
    for k in range(3):
        y = x * (1.0 + 0.1 * k)
        before = y.copy()
        out = g(y)
        np.testing.assert_array_equal(y, before)
        np.testing.assert_allclose(out, ad.grad(smooth)(before), rtol=1e-12, atol=1e-14)


def test_mutating_a_result_does_not_change_the_next_one():
    for fn in [ad.grad(rosenbrock), lambda x: x * 2.0, lambda x: (x[1:] * 1.0, np.sum(x))]:
        r = ad.replay(fn)
        x = np.array([0.5, -0.3, 1.2])
        r(x)
        first = r(x)
        for a in _arrays(first):
            a[...] = 1e6
        again = r(x)
        for a, b in zip(_arrays(again), _arrays(fn(x))):
            np.testing.assert_array_equal(a, b)


def test_views_of_inputs_come_back_as_eager_returns_them():
    x = np.arange(5.0)
    r = ad.replay(lambda x: x[1:])
    r(x)
    out = r(x)
    assert np.shares_memory(out, x)  # as fn's own result is
    np.testing.assert_array_equal(out, x[1:])
    same = ad.replay(lambda x: x)
    same(x)
    assert same(x) is x
    # x * 1 folds to x in the program, yet fn returned a new array: a copy
    ones = ad.replay(lambda x: (x * 1, x))
    ones(x)
    a, b = ones(x)
    assert b is x and not np.shares_memory(a, x)


def test_constant_outputs_are_fresh_at_every_call():
    closure = np.array([1.0, 2.0, 3.0])
    A = np.arange(6.0).reshape(2, 3)
    for fn, expected in [(lambda x: (x * 2.0, closure), closure),
                         (ad.jacfwd(lambda x: A @ x), A), (ad.jacrev(lambda x: A @ x), A),
                         (ad.hessian(lambda x: np.sum(x * x)), 2.0 * np.eye(3))]:
        r = ad.replay(fn)
        r(np.ones(3))
        outs = [r(np.full(3, float(k))) for k in range(3)]
        consts = [ad.tree_flatten(o)[0][-1] for o in outs]
        for k, c in enumerate(consts):
            np.testing.assert_array_equal(c, expected)
            assert not np.shares_memory(c, closure) and not np.shares_memory(c, A)
            for d in consts[:k]:
                assert not np.shares_memory(c, d)
        consts[0][...] = -1.0
        np.testing.assert_array_equal(ad.tree_flatten(r(np.ones(3)))[0][-1], expected)
    np.testing.assert_array_equal(closure, [1.0, 2.0, 3.0])


# ---- threads -----------------------------------------------------------------------
def test_two_threads_replay_one_program():
    n = 10_000
    g = ad.replay(ad.value_and_grad(smooth))
    rng = np.random.default_rng(1)
    inputs = [[rng.standard_normal(n) for _ in range(200)] for _ in range(2)]
    g(inputs[0][0])  # recorded here; the threads only replay
    assert g.programs()[0].n_reused > 0
    expected = [[ad.value_and_grad(smooth)(x) for x in xs] for xs in inputs]
    wrong = []
    start = threading.Barrier(2)

    def work(t):
        start.wait()
        for x, (value, grad) in zip(inputs[t], expected[t]):
            v, gr = g(x)
            if not (np.allclose(v, value, rtol=1e-12, atol=0)
                    and np.allclose(gr, grad, rtol=1e-12, atol=1e-14)):
                wrong.append(t)

    _in_two_threads(work)
    assert not wrong, f"{len(wrong)} wrong results"
    assert g.recordings == 1 and g.replays > 0  # (counters are not locked: no exact count)


def _in_two_threads(work):
    """``work(0)`` and ``work(1)`` at once, each in its own thread."""
    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_two_threads_through_guards_and_recordings():
    """Both threads switch between two branches of a program, so they record,
    fail guards and replay at once."""
    def f(x):
        y = np.sin(x) * x
        if y[0] > 0.2:
            return np.sum(y ** 2)
        return np.sum(np.cos(y))
    g = ad.replay(ad.grad(f))
    rng = np.random.default_rng(3)
    inputs = [[rng.standard_normal(10_000) for _ in range(100)] for _ in range(2)]
    expected = [[ad.grad(f)(x) for x in xs] for xs in inputs]
    wrong = []
    start = threading.Barrier(2)

    def work(t):
        start.wait()
        for x, want in zip(inputs[t], expected[t]):
            if not np.allclose(g(x), want, rtol=1e-12, atol=1e-14):
                wrong.append(t)

    _in_two_threads(work)
    assert not wrong, f"{len(wrong)} wrong results"
    assert g.mismatches > 0 and g.replays > 100  # (counters are not locked: no exact sum)
    assert len(g.programs()) <= 4  # two branches, each recorded by at most both threads


# ---- memory ------------------------------------------------------------------------
def test_memory_is_flat_over_many_replays():
    g = ad.replay(ad.grad(rosenbrock))
    x = np.array([0.3, 0.4])
    expected = ad.grad(rosenbrock)(x)
    for _ in range(1000):
        g(x)
    # 10^5 replays counted by Python's allocator (cheap) ...
    blocks = sys.getallocatedblocks()
    for _ in range(100_000):
        g(x)
    assert sys.getallocatedblocks() - blocks < 100
    # ... and 10^4 more traced, NumPy's data buffers included
    tracemalloc.start()
    try:
        for _ in range(1000):
            g(x)
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(10_000):
            out = g(x)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 10_000, f"{after - before} bytes more after 10^4 replays"
    np.testing.assert_allclose(out, expected, rtol=1e-13)
    assert g.recordings == 1 and g.replays == 111_999  # the first call recorded


# ---- calling conventions -------------------------------------------------------------
def test_static_argnums():
    f = ad.replay(lambda x, k: np.sum(x ** k), static_argnums=1)
    x = np.array([1.0, 2.0])
    assert f(x, 2) == 5.0 and f(x, 3) == 9.0 and f(x * 2, 2) == 20.0
    assert (f.recordings, f.replays) == (2, 1)
    with pytest.raises(TypeError, match=r"static argument 1 of dualad\.replay must be "
                                        r"hashable; got list"):
        f(x, [2])
    g = ad.replay(lambda k, x: x * k, static_argnums=(0,))
    np.testing.assert_array_equal(g((1, 2), x), x * np.array([1, 2]))


def test_python_scalars_are_static_numpy_scalars_dynamic():
    f = ad.replay(lambda s, x: s * np.sin(x))
    x = np.array([0.5, 1.5])
    for s in [2.0, 2.0, 3.0]:
        np.testing.assert_array_equal(f(s, x), s * np.sin(x))
    assert (f.recordings, f.replays) == (2, 1)
    g = ad.replay(lambda s, x: s * np.sin(x))
    for s in [2.0, 3.0, -1.5]:
        np.testing.assert_array_equal(g(np.float64(s), x), s * np.sin(x))
    assert (g.recordings, g.replays) == (1, 2)
    # a 0-d array and a NumPy scalar are different signatures, both right
    np.testing.assert_array_equal(g(np.array(4.0), x), 4.0 * np.sin(x))


Pair = namedtuple("Pair", "a b")


def test_pytree_inputs_and_outputs():
    def f(params, data):
        w, b = params["w"], params["b"]
        pred = data.a @ w + b
        return {"loss": np.sum((pred - data.b) ** 2), "parts": (pred, Pair(w * 2, b))}
    g = ad.replay(ad.value_and_grad(lambda p, d: f(p, d)["loss"]))
    r = ad.replay(f)
    rng = np.random.default_rng(2)
    for _ in range(3):
        params = {"w": rng.standard_normal(3), "b": rng.standard_normal(())}
        data = Pair(rng.standard_normal((4, 3)), rng.standard_normal(4))
        got, want = r(params, data), f(params, data)
        assert isinstance(got["parts"][1], Pair)
        for a, b in zip(ad.tree_flatten(got)[0], ad.tree_flatten(want)[0]):
            np.testing.assert_allclose(a, b, rtol=1e-13)
        (v, gr), (ve, ge) = g(params, data), ad.value_and_grad(lambda p, d: f(p, d)["loss"])(
            params, data)
        np.testing.assert_allclose(v, ve, rtol=1e-13)
        assert set(gr) == {"w", "b"}
        np.testing.assert_allclose(gr["w"], ge["w"], rtol=1e-12)
        np.testing.assert_allclose(gr["b"], ge["b"], rtol=1e-12)
    assert (r.recordings, r.replays) == (1, 2) and (g.recordings, g.replays) == (1, 2)


def test_boxed_inputs_run_eagerly():
    f = ad.replay(lambda x: np.sum(np.sin(x) * x))
    x = np.array([0.2, 1.3])
    np.testing.assert_allclose(ad.grad(f)(x), np.cos(x) * x + np.sin(x), rtol=1e-14)
    np.testing.assert_allclose(ad.hessian(f)(x), np.diag(2 * np.cos(x) - x * np.sin(x)),
                               rtol=1e-13, atol=1e-15)
    assert f.eager_calls == 2 and f.recordings == 0

    class Sub(np.ndarray):
        pass
    assert f(x.view(Sub)) == f.fn(x)
    assert f.eager_calls == 3


def test_impure_function_side_effects_happen_once_and_closures_are_captured():
    calls = []
    scale = np.array([1.0, 2.0])

    def f(x):
        calls.append(1)
        return x * scale
    r = ad.replay(f)
    x = np.array([3.0, 4.0])
    r(x)
    r(x)
    assert len(calls) == 1
    scale[:] = 10.0  # the program holds the copy taken at the recording
    np.testing.assert_array_equal(r(x), [3.0, 8.0])
    assert len(calls) == 1 and r.recordings == 1


def test_replay_inside_replay():
    inner = ad.replay(lambda x: np.sin(x) * 2.0)
    outer = ad.replay(lambda x: inner(x) + 1.0)
    for x in [np.ones(2), np.zeros(2), np.array([0.5, -0.5])]:
        np.testing.assert_allclose(outer(x), np.sin(x) * 2.0 + 1.0, rtol=1e-15)
    assert inner.eager_calls == 1 and (outer.recordings, outer.replays) == (1, 2)
    g = ad.replay(ad.grad(lambda x: np.sum(inner(x) ** 2)))
    for x in [np.ones(2), np.array([0.5, -0.5])]:
        np.testing.assert_allclose(g(x), 8.0 * np.sin(x) * np.cos(x), rtol=1e-14)
    assert g.replays == 1


def test_in_place_operations_are_refused_with_the_fix():
    def iadd(x):
        y = x * 1.0
        y += 1.0
        return y
    with pytest.raises(StagingError, match=r"x \+= y changes an array in place.*"
                                           r"Write x = x \+ y instead"):
        ad.replay(iadd)(np.ones(2))

    def into(x):
        buf = np.empty(2)
        np.multiply(x, 2.0, out=buf)
        return buf
    with pytest.raises(StagingError, match=r"multiply\(\.\.\., out=\) writes into an array "
                                           r"in place; inside dualad\.replay use the returned"):
        ad.replay(into)(np.ones(2))
    assert issubclass(StagingError, TypeError)


def test_other_errors_name_the_fix():
    with pytest.raises(TypeError, match="dualad.replay needs a function, not int"):
        ad.replay(3)
    with pytest.raises(TypeError, match=r"cannot take a bytearray as an argument leaf.*"
                                        r"static_argnums"):
        ad.replay(lambda x, b: x)(np.ones(2), bytearray(b"a"))
    with pytest.raises(StagingError, match="pass it to the replayed function as an argument"):
        ad.grad(lambda y: ad.replay(lambda x: np.sum(x * y))(np.ones(2)))(np.ones(2))
