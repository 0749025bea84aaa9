"""Forward mode: dual numbers, which push tangents through JVP rules.

What this module lets you do
----------------------------
Evaluate a function on :class:`Dual` values -- a primal value paired with a
tangent -- and read off the Jacobian-vector product ``J v`` from the
output's tangent, in one pass, at a small constant times the cost of the
function, with memory that does not grow with the length of the
computation (nothing is recorded).

The invariant
-------------
A Dual's ``tangent`` has the shape of its primal, or -- in vector mode --
one extra *leading* axis of ``k`` directions (``trace.batch``), like
ForwardDiff.jl's chunks.  All Duals of one trace share that layout, and a
zero tangent is never materialised: an operation whose inputs all have zero
tangent at this level simply returns its raw primal.

Example
-------
>>> import numpy as np
>>> from dualad.forward import ForwardTrace, Dual
>>> trace = ForwardTrace()
>>> x = Dual(np.array(2.0), np.array(1.0), trace)
>>> y = x * x + np.sin(x)
>>> float(y.tangent) == 2 * 2.0 + np.cos(2.0)
True
"""

from __future__ import annotations

from .core import Box, Trace

__all__ = ["Dual", "ForwardTrace"]


class ForwardTrace(Trace):
    """A forward-mode transformation; ``batch`` is True in vector mode."""

    __slots__ = ("batch",)

    def __init__(self, batch: bool = False):
        super().__init__("jvp")
        self.batch = batch

    def process(self, prim, args, params):
        primals = []
        tangents = []
        lower = False  # are boxes of outer transformations left?
        for a in args:
            if type(a) is Dual and a._trace is self:
                primals.append(a._value)
                tangents.append(a.tangent)
            else:
                if isinstance(a, Box):
                    lower = True
                primals.append(a)
                tangents.append(None)
        out = prim(*primals, **params) if lower else prim.impl(*primals, **params)
        t_out = prim.apply_jvp(tangents, out, primals, params, self.batch)
        if prim.multiple_results:
            if t_out is None:
                return out
            return tuple(o if t is None else Dual(o, t, self)
                         for o, t in zip(out, t_out))
        if t_out is None:
            return out
        return Dual(out, t_out, self)


class Dual(Box):
    """A primal value and its tangent(s) at one forward-mode level."""

    __slots__ = ("tangent",)

    def __init__(self, value, tangent, trace: ForwardTrace):
        self._value = value
        self.tangent = tangent
        self._trace = trace
