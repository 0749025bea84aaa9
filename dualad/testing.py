"""Checking derivatives: finite differences, the dot-product identity, and order 2.

What this module lets you do
----------------------------
Check any function's derivatives -- a new primitive's rules, or your own
code -- without ever comparing a rule against its own formula:

* JVPs against central finite differences in random directions, and in
  vector mode (k directions in one pass) against single JVPs;
* VJPs through the dot-product identity ``⟨u, J v⟩ = ⟨Jᵀu, v⟩``, with
  ``J v`` from finite differences and, exactly, from forward mode;
* order 2 by recursion on the derivative maps themselves: the JVP map
  ``(x, v) ↦ J(x) v`` and the VJP map ``(x, u) ↦ J(x)ᵀ u`` are checked in
  both modes, which exercises all four nestings.

Complex inputs and outputs are checked the same way: random directions
have random real and imaginary parts (finite differences then run along
both), and the dot-product identity uses the real inner product
``⟨u, v⟩ = Re Σ u·v`` -- without conjugation, the pairing under which
dualad's (and JAX's) VJP is the transpose of the JVP.

>>> import numpy as np
>>> from dualad.testing import check_grads
>>> check_grads(lambda x: np.sin(x) * x, (np.array([0.5, 1.5]),))
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from .api import jvp, tree_flatten, tree_unflatten, vjp

__all__ = ["check_grads", "check_jvp", "check_vjp", "numerical_jvp", "numerical_grad"]


def _number(x) -> np.ndarray:
    """``x`` as a float or complex array (integers and booleans as floats)."""
    a = np.asarray(x)
    return a if a.dtype.kind in "fc" else a.astype(float)


def _leaves(tree) -> list:
    return [_number(x) for x in tree_flatten(tree)[0]]


def _map(fn, *trees):
    leaves = [tree_flatten(t)[0] for t in trees]
    _, td = tree_flatten(trees[0])
    return tree_unflatten(td, [fn(*xs) for xs in zip(*leaves)])


def _random_like(tree, rng):
    def draw(x):
        r = rng.standard_normal(np.shape(x))
        return r + 1j * rng.standard_normal(np.shape(x)) if np.iscomplexobj(x) else r
    return _map(draw, tree)


def _vdot(a, b) -> float:
    """The real inner product ``Re Σ a·b`` (no conjugation)."""
    return float(sum(np.real(np.sum(x * y)) for x, y in zip(_leaves(a), _leaves(b))))


def numerical_jvp(f: Callable, args: Sequence, tangents: Sequence, eps: float = 1e-6) -> Any:
    """Central finite difference ``(f(x + eps v) - f(x - eps v)) / (2 eps)``."""
    args, tangents = tuple(args), tuple(tangents)
    plus = f(*_map(lambda x, t: _number(x) + eps * np.asarray(t), args, tangents))
    minus = f(*_map(lambda x, t: _number(x) - eps * np.asarray(t), args, tangents))
    return _map(lambda p, m: (_number(p) - _number(m)) / (2 * eps), plus, minus)


def numerical_grad(f: Callable, x: ArrayLike, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function of one array, entry
    by entry (``2 x.size`` evaluations of ``f``: for small checks).  For a
    complex ``x`` it is ``∂f/∂x − i ∂f/∂y`` (dualad's convention), from
    differences along the real and the imaginary parts.

    >>> import numpy as np
    >>> from dualad.testing import numerical_grad
    >>> np.allclose(numerical_grad(lambda x: np.sum(x ** 2), np.array([1.0, 2.0])), [2.0, 4.0])
    True
    """
    x = _number(x)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
        if x.dtype.kind == "c":
            g[i] -= 1j * (float(f(x + 1j * e)) - float(f(x - 1j * e))) / (2 * eps)
    return g


def _assert_close(actual, expected, atol, rtol, what):
    a_leaves, e_leaves = _leaves(actual), _leaves(expected)
    if len(a_leaves) != len(e_leaves):
        raise AssertionError(f"{what}: {len(a_leaves)} output leaves, expected {len(e_leaves)}")
    for i, (a, e) in enumerate(zip(a_leaves, e_leaves)):
        if np.shape(a) != np.shape(e):
            raise AssertionError(f"{what}: leaf {i} has shape {np.shape(a)}, expected {np.shape(e)}")
        scale = max(1.0, float(np.max(np.abs(e)))) if np.size(e) else 1.0
        err = np.abs(a - e)
        if not np.all(err <= atol * scale + rtol * np.abs(e)):
            worst = float(np.max(err)) if np.size(err) else 0.0
            raise AssertionError(
                f"{what}: leaf {i} differs by up to {worst:.3g}\n"
                f"  got:      {np.array2string(np.asarray(a), threshold=20)}\n"
                f"  expected: {np.array2string(np.asarray(e), threshold=20)}")


def check_jvp(f: Callable, args: Sequence, *, atol: float = 1e-6, rtol: float = 1e-5,
              eps: float = 1e-6, rng: np.random.Generator | None = None) -> None:
    """Assert that ``jvp(f)`` matches central differences in a random direction."""
    rng = np.random.default_rng(0) if rng is None else rng
    args = tuple(args)
    tangents = _random_like(args, rng)
    out, t_out = jvp(f, args, tangents)
    _check_vector_mode(f, args, tangents, rng, atol, rtol)
    for i, (t, o) in enumerate(zip(_leaves(t_out), _leaves(out))):
        if np.shape(t) != np.shape(o):
            raise AssertionError(f"JVP of {getattr(f, '__name__', 'f')}: tangent leaf {i} "
                                 f"has shape {np.shape(t)}, its output has {np.shape(o)}")
    _assert_close(t_out, numerical_jvp(f, args, tangents, eps), atol, rtol,
                  f"JVP of {getattr(f, '__name__', 'f')} vs finite differences")


def _check_vector_mode(f, args, tangents, rng, atol, rtol):
    """Vector mode (k = 2 directions in one pass) equals two single JVPs."""
    other = _random_like(args, rng)
    both = _map(lambda a, b: np.stack([_number(a), _number(b)]), tangents, other)
    _, t_both = jvp(f, args, both, batched=True)
    singles = [jvp(f, args, tangents)[1], jvp(f, args, other)[1]]
    expected = _map(lambda a, b: np.stack([_number(a), _number(b)]), *singles)
    _assert_close(t_both, expected, atol, rtol,
                  f"vector-mode JVP of {getattr(f, '__name__', 'f')} vs two single JVPs")


def check_vjp(f: Callable, args: Sequence, *, atol: float = 1e-6, rtol: float = 1e-5,
              eps: float = 1e-6, rng: np.random.Generator | None = None,
              exact_against_fwd: bool = True) -> None:
    """Assert ``⟨u, J v⟩ = ⟨Jᵀu, v⟩`` for random ``u``, ``v`` (``⟨a, b⟩ =
    Re Σ a·b``): ``J v`` by finite differences, and (``exact_against_fwd``)
    by forward mode to rounding."""
    rng = np.random.default_rng(1) if rng is None else rng
    args = tuple(args)
    out, pullback = vjp(f, *args)
    u = _random_like(out, rng)
    v = _random_like(args, rng)
    cts = pullback(u)
    for i, (c, x) in enumerate(zip(_leaves(cts), _leaves(args))):
        if np.shape(c) != np.shape(x):
            raise AssertionError(f"VJP of {getattr(f, '__name__', 'f')}: cotangent leaf {i} "
                                 f"has shape {np.shape(c)}, its input has {np.shape(x)}")
    ct_dot_v = _vdot(cts, v)
    u_dot_jv = _vdot(u, numerical_jvp(f, args, v, eps))
    scale = max(1.0, abs(u_dot_jv))
    name = getattr(f, "__name__", "f")
    if not abs(ct_dot_v - u_dot_jv) <= atol * scale + rtol * abs(u_dot_jv) + 1e-8 * scale:
        raise AssertionError(f"VJP of {name}: <J^T u, v> = {ct_dot_v!r} but <u, J v> = "
                             f"{u_dot_jv!r} by finite differences")
    if exact_against_fwd:
        u_dot_jv_fwd = _vdot(u, jvp(f, args, v)[1])
        if not abs(ct_dot_v - u_dot_jv_fwd) <= 1e-9 * max(1.0, abs(u_dot_jv_fwd)) * 1e3:
            raise AssertionError(f"VJP of {name}: <J^T u, v> = {ct_dot_v!r} but <u, J v> = "
                                 f"{u_dot_jv_fwd!r} by forward mode")


def check_grads(f: Callable, args: Sequence, order: int = 2,
                modes: Sequence[str] = ("fwd", "rev"), *, atol: float = 1e-6,
                rtol: float = 1e-5, eps: float = 1e-6, seed: int = 0) -> None:
    """Check ``f``'s derivatives up to ``order`` in the given ``modes``.

    ``args`` is a tuple of arguments (arrays or pytrees, real or complex
    floating point, inside f's domain).  Raises ``AssertionError`` describing the first
    mismatch.  At order 2 it checks the JVP map and the VJP map of ``f`` in
    both modes, i.e. forward-over-forward, reverse-over-forward,
    forward-over-reverse and reverse-over-reverse.
    """
    modes = tuple(modes)
    bad = set(modes) - {"fwd", "rev"}
    if bad:
        raise ValueError(f"unknown mode(s) {sorted(bad)}; use 'fwd' and/or 'rev'")
    rng = np.random.default_rng(seed)
    args = tuple(args)
    tol = dict(atol=atol, rtol=rtol, eps=eps)
    if "fwd" in modes:
        check_jvp(f, args, rng=rng, **tol)
    if "rev" in modes:
        check_vjp(f, args, rng=rng, exact_against_fwd="fwd" in modes, **tol)
    if order <= 1:
        return
    n = len(args)
    if "fwd" in modes:
        tangents = _random_like(args, rng)

        def f_jvp(*primals_and_tangents):
            return jvp(f, primals_and_tangents[:n], primals_and_tangents[n:])[1]
        f_jvp.__name__ = f"jvp({getattr(f, '__name__', 'f')})"
        check_grads(f_jvp, args + tuple(tangents), order - 1, modes, seed=seed + 1, **tol)
    if "rev" in modes:
        out = f(*args)
        u = _random_like(out, rng)

        def f_vjp(*primals_and_cotangent):
            return vjp(f, *primals_and_cotangent[:n])[1](primals_and_cotangent[n])
        f_vjp.__name__ = f"vjp({getattr(f, '__name__', 'f')})"
        check_grads(f_vjp, args + (u,), order - 1, modes, seed=seed + 2, **tol)
