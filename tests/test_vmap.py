"""dualad.vmap: JAX's in_axes/out_axes over pytrees, checked against explicit
loops and finite differences; batches of directions take one vector-mode pass."""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad.observe import Observer, observing
from dualad.testing import numerical_grad, numerical_jvp

RNG = np.random.default_rng(7)
X = RNG.standard_normal(4)
T = RNG.standard_normal((5, 4))


def f(x):
    return np.sin(x) * np.sum(x ** 2) + np.exp(x[::-1])


class Passes(Observer):
    """Counts backward passes, forward sweeps and opened transformations."""

    def __init__(self):
        self.backward = self.sweeps = self.opened_traces = 0

    def backward_started(self, tape, seeds, wanted, record):
        self.backward += 1

    def sweep_started(self, tape, seeds, wanted, batch):
        self.sweeps += 1

    def opened(self, trace):
        self.opened_traces += 1


def counted(fn):
    calls = []

    def wrapper(*args):
        calls.append(1)
        return fn(*args)
    return wrapper, calls


def test_vmap_of_jvp_is_one_vector_mode_pass():
    g, calls = counted(f)
    out = ad.vmap(lambda t: ad.jvp(g, (X,), (t,))[1])(T)
    assert len(calls) == 1  # one call of f: the directions went through vector mode
    loop = np.stack([ad.jvp(f, (X,), (t,))[1] for t in T])
    np.testing.assert_allclose(out, loop, rtol=1e-13, atol=1e-13)
    fd = np.stack([numerical_jvp(f, (X,), (t,)) for t in T])
    np.testing.assert_allclose(out, fd, rtol=1e-6, atol=1e-7)


def test_vmap_of_a_pullback_is_one_backward_pass():
    y, pullback = ad.vjp(f, X)
    U = RNG.standard_normal((6, 4))
    seen = Passes()
    with observing(seen):
        (rows,) = ad.vmap(pullback)(U)
    assert seen.backward == 1
    loop = np.stack([pullback(u)[0] for u in U])
    np.testing.assert_allclose(rows, loop, rtol=1e-13, atol=1e-13)
    J = np.stack([numerical_jvp(f, (X,), (e,)) for e in np.eye(4)], axis=1)
    np.testing.assert_allclose(rows, U @ J, rtol=1e-6, atol=1e-6)


def test_vmap_of_a_linearized_jvp_is_one_sweep():
    y, f_jvp = ad.linearize(f, X)
    seen = Passes()
    with observing(seen):
        out = ad.vmap(f_jvp)(T)
    assert seen.sweeps == 1
    np.testing.assert_allclose(out, np.stack([f_jvp(t) for t in T]), rtol=1e-13, atol=1e-13)


def test_vmap_of_hvp_is_one_backward_pass():
    loss = lambda x: np.sum(np.tanh(x) ** 3)  # noqa: E731
    seen = Passes()
    with observing(seen):
        H = ad.vmap(lambda v: ad.hvp(loss, X, v))(np.eye(4))
    assert seen.backward == 1
    fd = np.stack([numerical_grad(lambda x: ad.grad(loss)(x)[i], X) for i in range(4)])
    np.testing.assert_allclose(H, fd, rtol=1e-5, atol=1e-6)


def test_vmap_of_jvp_with_an_unmapped_tangent_and_pytrees():
    def h(p):
        return {"a": p["w"] * np.sum(p["b"] ** 2), "c": (np.cos(p["b"]),)}

    p = {"w": RNG.standard_normal(3), "b": RNG.standard_normal(2)}
    Tw = RNG.standard_normal((4, 3))
    tb = RNG.standard_normal(2)
    out = ad.vmap(lambda tw, tb: ad.jvp(h, (p,), ({"w": tw, "b": tb},))[1],
                  in_axes=(0, None))(Tw, tb)
    for i in range(4):
        want = ad.jvp(h, (p,), ({"w": Tw[i], "b": tb},))[1]
        np.testing.assert_allclose(out["a"][i], want["a"], rtol=1e-13)
        np.testing.assert_allclose(out["c"][0][i], want["c"][0], rtol=1e-13)
    # the output "c" does not depend on the mapped tangent: broadcast over the batch
    assert out["c"][0].shape == (4, 2)


def test_per_example_gradients_fast_path_and_loop_agree_with_fd():
    def loss(p, x):
        return np.sum(np.tanh(x @ p) ** 2) + 0.1 * np.sum(p ** 2)

    p = RNG.standard_normal(3)
    Xb = RNG.standard_normal((6, 3))
    seen = Passes()
    with observing(seen):
        fast = ad.jacrev(lambda p: np.tanh(Xb @ p) ** 2 + 0.1 * np.sum(p ** 2))(p)
    assert seen.backward == 1  # all six rows pulled back at once
    g, calls = counted(loss)
    rows = ad.vmap(ad.grad(g), in_axes=(None, 0))(p, Xb)
    assert len(calls) >= 6  # a loop: one gradient per example
    np.testing.assert_allclose(rows, fast, rtol=1e-12, atol=1e-12)
    fd = np.stack([numerical_grad(lambda q: loss(q, x), p) for x in Xb])
    np.testing.assert_allclose(rows, fd, rtol=1e-6, atol=1e-7)


def test_loop_path_matches_an_explicit_loop_with_pytrees_and_axes():
    def fn(a, params):
        return {"s": np.sum(a * params["w"]), "v": a * params["k"]}

    A = RNG.standard_normal((3, 5))         # mapped along axis 1 (5 elements)
    params = {"w": RNG.standard_normal((5, 3)), "k": 2.0}  # w mapped along axis 0
    out = ad.vmap(fn, in_axes=(1, {"w": 0, "k": None}), out_axes={"s": 0, "v": 1})(A, params)
    assert out["s"].shape == (5,) and out["v"].shape == (3, 5)
    for i in range(5):
        want = fn(A[:, i], {"w": params["w"][i], "k": 2.0})
        np.testing.assert_allclose(out["s"][i], want["s"], rtol=1e-14)
        np.testing.assert_allclose(out["v"][:, i], want["v"], rtol=1e-14)


def test_negative_axes_keywords_and_unbatched_outputs():
    M = RNG.standard_normal((2, 3))
    out = ad.vmap(lambda m: m * 2.0, in_axes=-1, out_axes=-1)(M)
    np.testing.assert_array_equal(out, M * 2.0)
    out = ad.vmap(lambda a, *, b: a + b)(np.arange(3.0), b=np.ones(3))
    np.testing.assert_array_equal(out, np.arange(3.0) + 1)
    # out_axes=None: an output the same for every element
    res = ad.vmap(lambda a, c: (a * c, c), in_axes=(0, None), out_axes=(0, None))(
        np.arange(3.0), np.float64(5.0))
    np.testing.assert_array_equal(res[0], [0.0, 5.0, 10.0])
    assert float(res[1]) == 5.0


def test_vmap_of_jvp_with_out_axes_one():
    out = ad.vmap(lambda t: ad.jvp(f, (X,), (t,))[1], out_axes=1)(T)
    assert out.shape == (4, 5)
    np.testing.assert_allclose(out.T, np.stack([ad.jvp(f, (X,), (t,))[1] for t in T]),
                               rtol=1e-13)


def test_vmap_under_grad_and_nested_vmap():
    Xb = RNG.standard_normal((4, 3))
    p = RNG.standard_normal(3)
    g = ad.grad(lambda p: np.sum(ad.vmap(lambda x: np.sin(x @ p))(Xb)))(p)
    np.testing.assert_allclose(g, np.cos(Xb @ p) @ Xb, rtol=1e-13)
    outer = ad.vmap(ad.vmap(lambda a, b: a * b, in_axes=(0, None)), in_axes=(None, 0))
    out = outer(np.arange(3.0), np.arange(2.0))
    np.testing.assert_array_equal(out, np.outer(np.arange(2.0), np.arange(3.0)))


def test_a_tangent_used_nonlinearly_falls_back_to_the_loop():
    """The placeholder must not leak into a result: f(t) that is not linear
    in t (here t also enters as the primal) gives the loop's numbers."""
    out = ad.vmap(lambda t: ad.jvp(np.sin, (t,), (t,))[1])(T)
    np.testing.assert_allclose(out, np.cos(T) * T, rtol=1e-14)
    out = ad.vmap(lambda t: ad.jvp(f, (X,), (t,))[1] * t)(T)
    np.testing.assert_allclose(out, np.stack([ad.jvp(f, (X,), (t,))[1] * t for t in T]),
                               rtol=1e-13)
    # a batched direction differentiated further, in reverse and in forward mode
    v = RNG.standard_normal(4)
    out = ad.vmap(lambda t: ad.jvp(lambda x: ad.jvp(f, (x,), (t,))[1], (X,), (v,))[1])(T)
    want = np.stack([ad.jvp(lambda x: ad.jvp(f, (x,), (t,))[1], (X,), (v,))[1] for t in T])
    np.testing.assert_allclose(out, want, rtol=1e-12)
    out = ad.vmap(lambda t: ad.grad(lambda x: np.sum(ad.jvp(f, (x,), (t,))[1]))(X))(T)
    want = np.stack([ad.grad(lambda x: np.sum(ad.jvp(f, (x,), (t,))[1]))(X) for t in T])
    np.testing.assert_allclose(out, want, rtol=1e-12)


# ---- errors -------------------------------------------------------------------
def test_mismatched_batch_sizes_name_the_arguments_and_axes():
    def fn(a, b):
        return a + b
    with pytest.raises(ValueError, match=r"size 3: axis 0 of argument 0 \(a\).*"
                                         r"size 4: axis 1 of argument 1 \(b\)"):
        ad.vmap(fn, in_axes=(0, 1))(np.ones(3), np.ones((3, 4)))


def test_in_axes_out_of_range_and_scalars_name_the_argument():
    with pytest.raises(ValueError, match=r"argument 1 \(b\) along axis 2.*rank 2"):
        ad.vmap(lambda a, b: a, in_axes=(0, 2))(np.ones(3), np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"leaf 0 of argument 0 \(p\) along axis 0.*rank 0"):
        ad.vmap(lambda p: p)({"k": 1.0})
    with pytest.raises(ValueError, match="in_axes has 1 entries but .* 2 positional"):
        ad.vmap(lambda a, b: a, in_axes=(0,))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="maps no argument"):
        ad.vmap(lambda a: a, in_axes=None)(np.ones(3))
    with pytest.raises(ValueError, match=r"in_axes for argument 0 \(p\) is a dict"):
        ad.vmap(lambda p: p, in_axes=({"w": 0},))({"w": np.ones(2), "b": np.ones(2)})
    with pytest.raises(TypeError, match="an axis is an int or None"):
        ad.vmap(lambda a: a, in_axes="0")(np.ones(3))


def test_out_axes_none_for_a_varying_output_is_refused():
    with pytest.raises(ValueError, match="out_axes is None for the output, but it differs"):
        ad.vmap(lambda a: a * 2, out_axes=None)(np.arange(3.0))
    with pytest.raises(ValueError, match="out_axes is None for the output, but it depends"):
        ad.vmap(lambda t: ad.jvp(f, (X,), (t,))[1], out_axes=None)(T)


def test_errors_of_fn_itself_come_from_the_real_values():
    def fn(a):
        raise KeyError("from fn")
    with pytest.raises(KeyError, match="from fn"):
        ad.vmap(fn)(np.ones(2))


def test_docstring_examples():
    import doctest
    import dualad.batching
    result = doctest.testmod(dualad.batching)
    assert result.attempted > 0 and result.failed == 0
