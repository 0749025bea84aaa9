"""What the tape keeps: the memory policy of reverse mode.

What this module lets you do
----------------------------
Record an entry that keeps only the values its derivative formulas will
read.  A tape holds, for each operation, the inputs and output that its VJP
rule needs; a large value that no formula of a traced argument reads is
stored as a ``core.Residual`` (its shape and dtype), so the array itself is
freed as soon as the user's code drops it -- as in plain NumPy, where a
temporary nobody holds is gone at once.

Which values a formula reads is known from its declaration
(``Primitive.residuals``, found by ``dualad.extend`` from the formula's own
code when the primitive is declared).  Small arrays are kept whole: below
``core.RESIDUAL_MIN_SIZE`` elements the bookkeeping would cost more than the
memory saved.

The other half of reverse mode's memory is the backward pass's cotangent
buffers; their ownership (written into in place only when the pass
allocated them and holds them in one place) is decided in ``dualad.chain``
and ``reverse.Cotangents``.
"""

from __future__ import annotations

import numpy as np

from . import core
from .core import Residual, primal

__all__ = ["large", "prune", "pruned_entry"]


def large(out) -> bool:
    """Is an elementwise output (and so each of its inputs) worth pruning?"""
    if type(out) is np.ndarray:
        return out.size >= core.RESIDUAL_MIN_SIZE
    if type(out) is np.float64:
        return False
    p = primal(out)
    return type(p) is np.ndarray and p.size >= core.RESIDUAL_MIN_SIZE


def prune(value, keep: bool):
    """``value``, or a Residual standing for it when it is large and unneeded."""
    if keep:
        return value
    p = primal(value)
    if type(p) is np.ndarray and p.size >= core.RESIDUAL_MIN_SIZE:
        return Residual(value)
    return value


def pruned_entry(prim, vals, params, parents, out) -> tuple:
    """The tape entry of an elementwise primitive keeping only what the
    derivative formulas of its traced arguments read (the rest as Residuals)."""
    needed = set()
    for p, uses in zip(parents, prim.residuals):
        if p is not None:
            if uses is None:
                return (prim, tuple(vals), params, tuple(parents), out)
            needed |= uses
    kept = tuple(prune(v, k + 1 in needed) for k, v in enumerate(vals))
    return (prim, kept, params, tuple(parents), prune(out, 0 in needed))
