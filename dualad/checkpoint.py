"""Checkpointing: recompute a function's intermediates instead of storing them.

What this module lets you do
----------------------------
Wrap a function with :func:`checkpoint` so that reverse mode records *one*
tape entry per call -- its inputs and outputs -- instead of one entry per
primitive inside it.  The intermediates are recomputed, on a temporary tape
of their own, when the backward pass reaches that entry.  Splitting a chain
of ``n`` steps into segments of about ``sqrt(n)`` steps, each checkpointed,
keeps ``O(sqrt(n))`` values alive instead of ``O(n)``, for one more forward
evaluation of the chain (``benchmarks/bench_memory.py`` measures both).

The invariant
-------------
A checkpointed call is an ordinary :class:`dualad.Primitive`, declared per
call: its implementation runs ``fn`` on raw values, its VJP rule is
``vjp(fn, *args)[1](g)`` and its JVP rule ``jvp(fn, args, tangents)[1]``.
Like every rule they run on the values they are handed -- boxes of outer
transformations included -- so checkpointed functions nest, and can be
differentiated to any order, like any other primitive.

Limits: arguments and results are pytrees of arrays; leaves that are not
floating point (ints, index arrays, strings...) are passed through as
constants.  ``fn`` must not close over a value that dualad is
differentiating: pass such a value as an argument instead (a clear
``TypeError`` says so).  In forward mode (``jvp``, ``jacfwd``) ``fn`` is
evaluated twice per call, so checkpoint pays off in reverse mode only.
"""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from .api import jvp, tree_flatten, tree_unflatten, vjp
from .core import Box, ndim_of, primal, shape_of
from .extend import Primitive

__all__ = ["checkpoint"]


def _differentiable(leaf) -> bool:
    if isinstance(leaf, Box):
        return True
    if isinstance(leaf, (float, np.floating)):
        return True
    return isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fc"


def _zeros(value, lead=()):
    dtype = np.result_type(primal(value))
    return np.zeros(tuple(lead) + shape_of(value),
                    dtype=dtype if dtype.kind in "fc" else np.float64)


def checkpoint(fn: Callable) -> Callable:
    """``fn`` with its forward pass recomputed during the backward pass.

    The result computes the same values and derivatives as ``fn`` (in every
    mode and at any order), but reverse mode stores only the inputs and
    outputs of each call on the tape, and reruns ``fn`` to pull a cotangent
    back through it.

    >>> import numpy as np, dualad as ad
    >>> from dualad.checkpoint import checkpoint
    >>> def segment(y):                 # ten steps, recorded as one tape entry
    ...     for _ in range(10):
    ...         y = np.sin(y) * 1.01 + 0.5 * y
    ...     return y
    >>> def loss(y, segment):
    ...     for _ in range(10):
    ...         y = segment(y)
    ...     return np.sum(y ** 2)
    >>> x = np.array([0.1, 0.2])
    >>> g = ad.grad(loss)(x, checkpoint(segment))
    >>> np.allclose(g, ad.grad(loss)(x, segment), rtol=1e-14)
    True
    """
    name = getattr(fn, "__name__", "fn")

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        leaves, tree = tree_flatten(args)
        dynamic = [i for i, leaf in enumerate(leaves) if _differentiable(leaf)]
        if not any(isinstance(leaves[i], Box) for i in dynamic):
            return fn(*args, **kwargs)  # nothing is being differentiated
        out_tree = []  # filled in by the implementation, which sees fn's result

        def flat(*dynamic_leaves):
            """fn as a function of its float leaves, returning a tuple of leaves."""
            full = list(leaves)
            for i, value in zip(dynamic, dynamic_leaves):
                full[i] = value
            o_leaves, o_tree = tree_flatten(fn(*tree_unflatten(tree, full), **kwargs))
            out_tree[:] = [o_tree]
            return tuple(o_leaves)

        def impl(*raw):
            outs = flat(*raw)
            if any(isinstance(o, Box) for o in outs):
                raise TypeError(
                    f"checkpoint({name}): the function's result depends on a value "
                    "that dualad is differentiating but that is not one of its "
                    "arguments (a closure over a traced value). Pass that value "
                    "as an argument of the checkpointed function instead.")
            return outs

        def vjp_rule(g, out, *primals):
            cotangent = tuple(_zeros(o) if gi is None else gi for gi, o in zip(g, out))
            return vjp(flat, *primals)[1](cotangent)

        def jvp_rule(tangents, out, *primals):
            lead = ()
            for t, x in zip(tangents, primals):
                if t is not None and ndim_of(t) == ndim_of(x) + 1:  # vector mode
                    lead = shape_of(t)[:1]
                    break
            full = tuple(_zeros(x, lead) if t is None else t
                         for t, x in zip(tangents, primals))
            return jvp(flat, primals, full, batched=bool(lead))[1]

        prim = Primitive(f"checkpoint({name})", impl, jvp=jvp_rule, vjp=vjp_rule,
                         multiple_results=True)
        outs = prim(*[leaves[i] for i in dynamic])
        return tree_unflatten(out_tree[0], list(outs))

    return wrapped
