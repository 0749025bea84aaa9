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

import numpy as np

from .chain import _UNARY, _term, jvp, push, push2
from .core import NAN_SAFE_THREADS, NO_PARAMS, STATE, Box, Trace, unwrap

__all__ = ["Dual", "ForwardTrace"]


class ForwardTrace(Trace):
    """A forward-mode transformation; ``batch`` is True in vector mode."""

    __slots__ = ("batch",)

    def __init__(self, batch: bool = False):
        super().__init__("jvp")
        self.batch = batch

    def process(self, prim, args, params):
        observer = self.observer  # an observed trace takes the general path: its hook points
        if len(args) == 1 and prim.derivs is not None and observer is None:
            # One elementwise argument (most of a typical program): straight
            # to the chain rule's fast path.
            a = args[0]
            x = a._value
            out = prim(x, **params) if isinstance(x, Box) else prim.impl(x, **params)
            d = prim.derivs[0]
            if self.batch or (NAN_SAFE_THREADS[0] and STATE.nan_safe) or d is None:
                t = push(prim, (a.tangent,), out, (x,), params, self.batch)
                return out if t is None else Dual(out, t, self)
            return Dual(out, _term(a.tangent, d, out, x, _UNARY, params), self)
        if len(args) == 2 and prim.derivs is not None and observer is None:
            return self._binary(prim, args[0], args[1], params)
        primals, tangents, lower = unwrap(self, args, "tangent")
        if observer is not None:
            observer.jvp_started(self, prim, primals, tangents, params)
        out = prim(*primals, **params) if lower else prim.impl(*primals, **params)
        if observer is not None and not lower:
            observer.evaluated(prim, tuple(primals), params, out)
        t_out = jvp(prim, tangents, out, primals, params, self.batch)
        if observer is not None:
            observer.jvp_finished(self, prim, primals, tangents, params, out)
        if prim.multiple_results:
            if t_out is None:
                return out
            return tuple(o if t is None else Dual(o, t, self)
                         for o, t in zip(out, t_out))
        if t_out is None:
            return out
        return Dual(out, t_out, self)

    def _binary(self, prim, a, b, params=NO_PARAMS):
        """Two arguments (the operators' direct path): an elementwise
        primitive's are unwrapped without the generic machinery, then the
        chain rule."""
        if prim.derivs is None or self.observer is not None:
            return self.process(prim, (a, b), params)
        if type(a) is Dual and a._trace is self:
            xa, ta = a._value, a.tangent
        else:
            xa, ta = a, None
        if type(b) is Dual and b._trace is self:
            xb, tb = b._value, b.tangent
        else:
            xb, tb = b, None
        if isinstance(xa, Box) or isinstance(xb, Box):
            out = prim(xa, xb, **params)
        else:
            out = prim.impl(xa, xb, **params) if params else prim.impl(xa, xb)
        if self.batch or (NAN_SAFE_THREADS[0] and STATE.nan_safe):
            t = push(prim, (ta, tb), out, (xa, xb), params, self.batch)
        else:
            t = push2(prim.derivs, ta, tb, out, xa, xb, params)
        return out if t is None else Dual(out, t, self)

    binary = _binary


class Dual(Box):
    """A primal value and its tangent(s) at one forward-mode level."""

    __slots__ = ("tangent",)

    def __init__(self, value, tangent, trace: ForwardTrace):
        self._value = value
        self.tangent = tangent
        self._trace = trace

    def _inplace_ok(self) -> bool:
        return type(self._value) is np.ndarray and type(self.tangent) is np.ndarray

    def _add_in_place(self, other, index=None) -> bool:
        # The reverse pass of forward-over-reverse sums cotangents that are
        # duals; adding both parts in place saves a new primal and tangent.
        if type(other) is not Dual or other._trace is not self._trace:
            return False
        v, t, ov, ot = self._value, self.tangent, other._value, other.tangent
        if not (type(ov) is np.ndarray and type(ot) is np.ndarray
                and ov.dtype == v.dtype and ot.dtype == t.dtype):
            return False
        if index is None:
            if ov.shape != v.shape or ot.shape != t.shape:
                return False
            v += ov
            t += ot
            return True
        bd = t.ndim - v.ndim
        if bd and index.front:
            return False
        tkey = index.batched(bd) if bd else index.key
        if index.basic:
            v[index.key] += ov
            t[tkey] += ot
        else:
            np.add.at(v, index.key, ov)
            np.add.at(t, tkey, ot)
        return True

