"""Reverse mode: a flat tape in execution order and a reversed loop over it.

What this module lets you do
----------------------------
Evaluate a function on :class:`TapeValue` inputs.  Every primitive applied
to a TapeValue appends one entry to the trace's tape -- the primitive, the
values it was applied to, its static parameters, the tape positions of its
traced inputs and its output -- so the tape is the Wengert list of the
computation, in execution order.  :meth:`Tape.backward` then walks the tape
*once, backwards*, pulling a cotangent through each entry's VJP rule and
adding it into the cotangents of the entry's inputs:

    v̄_i = Σ_{children j of i} v̄_j ∂v_j/∂v_i

Because entries are only appended after their inputs, the reversed list is
already a valid order for this sum: no topological sort, no recursion (a
chain of a million operations is just a long loop), and cotangents are kept
in a list indexed by tape position, returned functionally -- nothing is
stored on the values, so a pullback can run any number of times and can
itself be differentiated.

:meth:`Tape.forward_sweep` is the other use of the same list: pushing
tangents forward through the entries' JVP rules reuses the recorded primal
values, which is what ``linearize`` (and ``HessianOperator``) need.

Design notes
------------
* Cotangents are ``None`` until something flows in: a symbolic zero that
  costs nothing and is materialised only at the API boundary.
* An entry keeps only what its derivative formulas read: a large output or
  argument that no formula of a traced argument reads is stored as a
  ``core.Residual`` (shape and dtype), so the array is freed as soon as the
  user's code drops it, as in plain NumPy.
* Ownership is tracked, not guessed: a cotangent the backward pass
  allocated itself (a product or a sum) and stored in one place only is
  *owned* (``owned`` in ``Tape.backward``).  Later contributions are added
  into an owned sum in place, indexing adds its cotangent straight into the
  slice, and a large owned cotangent takes its next product in place
  (``_times``); a cotangent the user passed in, or one handed to two
  parents (``x + y``), is never written into.  The cotangent ``sum`` pulls
  back stays one number broadcast under scalings.
* ``backward(..., record=True)`` records the backward pass on the same tape
  (entries boxed again as this tape's values), so that a forward sweep gives
  Hessian-vector products without a second level of boxes.
* ``forward_sweep`` compiles the tape once per set of seeded and wanted
  positions (``dualad.sweep``): dead entries dropped, chains of scalings
  folded, one closure per remaining step with its x-dependent factors
  bound.  The plan of that compilation is data, and can be reused by a later
  tape of the same structure (``plans``).
* Only values that depend on the inputs are boxed: a constant never reaches
  the tape.
* Rejected alternative: storing ``.grad`` on nodes (micrograd, early
  PyTorch).  It needs manual zeroing and makes higher order impossible.
"""

from __future__ import annotations

import numpy as np

from . import core
from .core import NO_PARAMS, STATE, Box, Trace, primal, prune, scale, shape_of, unbroadcast, unwrap
from .sweep import compile_sweep, lookup, run_generic
from .sweep import shape as _shape

__all__ = ["Tape", "TapeValue"]


class Tape(Trace):
    """A reverse-mode transformation and its tape (a flat list of entries).

    An entry is ``(prim, args, params, parents, out)``; ``parents[i]`` is the
    tape position of ``args[i]`` when it is traced at this level, else None.
    A multiple-output entry's outputs are addressed as ``(position, slot)``.
    """

    __slots__ = ("entries", "_cache", "plans", "factors")

    def __init__(self, origin: str = "vjp"):
        super().__init__(origin)
        self.entries: list = []
        self._cache = None
        # optional dict of sweep plans shared with earlier tapes (see sweep.compile_sweep)
        self.plans = None
        # (entry, argument) -> the partial derivative's value, where a recorded
        # backward pass has computed it already (the sweep needs the same ones)
        self.factors: dict = {}

    def new_input(self, value) -> "TapeValue":
        pos = len(self.entries)
        self.entries.append((None, (), None, (), value))
        return TapeValue(value, self, pos)

    def process(self, prim, args, params):
        if len(args) == 1 and not prim.multiple_results:
            # Fast path for one-argument primitives (the argument is ours).
            a = args[0]
            v = a._value
            out = prim(v, **params) if isinstance(v, Box) else prim.impl(v, **params)
            entries = self.entries
            residuals = prim.residuals
            if residuals is not None and residuals[0] is not None and _large(out):
                uses = residuals[0]
                entries.append((prim, (prune(v, 1 in uses),), params, (a._pos,),
                                prune(out, 0 in uses)))
            else:
                entries.append((prim, (v,), params, (a._pos,), out))
            return TapeValue(out, self, len(entries) - 1)
        if len(args) == 2 and not prim.multiple_results:
            return self.binary(prim, args[0], args[1], params)
        vals, parents, lower = unwrap(self, args, "_pos")
        out = prim(*vals, **params) if lower else prim.impl(*vals, **params)
        if prim.residuals is not None and _large(out):
            return self._record_pruned(prim, vals, params, parents, out)
        pos = len(self.entries)
        self.entries.append((prim, tuple(vals), params, tuple(parents), out))
        if prim.multiple_results:
            return tuple(TapeValue(o, self, (pos, i)) for i, o in enumerate(out))
        return TapeValue(out, self, pos)

    def binary(self, prim, a, b, params=NO_PARAMS):
        """Fast path for two-argument primitives (the operators call it directly)."""
        if prim.multiple_results:
            return self.process(prim, (a, b), params)
        if type(a) is TapeValue and a._trace is self:
            va, pa = a._value, a._pos
        else:
            va, pa = a, None
        if type(b) is TapeValue and b._trace is self:
            vb, pb = b._value, b._pos
        else:
            vb, pb = b, None
        if isinstance(va, Box) or isinstance(vb, Box):
            out = prim(va, vb, **params)
        else:
            out = prim.impl(va, vb, **params) if params else prim.impl(va, vb)
        if prim.residuals is not None and _large(out):
            return self._record_pruned(prim, [va, vb], params, [pa, pb], out)
        entries = self.entries
        entries.append((prim, (va, vb), params, (pa, pb), out))
        return TapeValue(out, self, len(entries) - 1)

    def _record_pruned(self, prim, vals, params, parents, out):
        """Record an elementwise entry keeping only what the derivative
        formulas of its traced arguments read (the rest as Residuals)."""
        needed = set()
        for p, uses in zip(parents, prim.residuals):
            if p is not None:
                if uses is None:
                    needed = None
                    break
                needed |= uses
        stored = out
        if needed is not None:
            stored = prune(out, 0 in needed)
            vals = [prune(v, k + 1 in needed) for k, v in enumerate(vals)]
        self.entries.append((prim, tuple(vals), params, tuple(parents), stored))
        return TapeValue(out, self, len(self.entries) - 1)

    # ---- reverse sweep --------------------------------------------------
    def backward(self, seeds, wanted, record: bool = False):
        """Cotangents at positions ``wanted`` given ``seeds`` ((position, cotangent) pairs).

        With ``record=True`` the backward pass is itself recorded on this tape
        (the tape must still be active): each entry's recorded values are
        boxed again as this tape's values before its VJP rule runs, so the
        rule's operations append entries and the cotangents returned are
        values of this tape.  A forward sweep from an input then gives the
        tangent of the gradient -- a Hessian-vector product -- on one tape,
        without a second level of boxes (``api._linearize_value_and_grad``).

        Cotangents flowing into one position are summed.  A sum that dualad
        allocated itself (``owned``) is raw, fresh and referenced nowhere
        else, so further contributions are added into it in place, and an
        indexing primitive adds its cotangent straight into the slice
        (``prim.accumulate``) instead of scattering into a new zero array.
        """
        entries = self.entries
        cts: list = [None] * len(entries)
        owned: set = set()

        def add(p, c, fresh=False):
            if type(p) is not int:
                _accumulate(cts, p, c, entries)
                return
            cur = cts[p]
            if cur is None:
                cts[p] = c
                if fresh and (type(c) is np.ndarray or (isinstance(c, Box) and c._inplace_ok())):
                    owned.add(p)
            elif p in owned and type(cur) is np.ndarray:
                if type(c) is np.ndarray and c.shape == cur.shape and c.dtype == cur.dtype:
                    cur += c
                else:
                    new = cts[p] = cur + c
                    if type(new) is not np.ndarray:  # e.g. a NumPy scalar
                        owned.discard(p)
            elif p in owned and isinstance(cur, Box) and cur._add_in_place(c):
                pass
            else:
                new = cts[p] = cur + c
                # a sum is ours alone: raw, or two boxes of one transformation
                # (then both of its parts are new arrays)
                if type(new) is np.ndarray or (
                        isinstance(new, Box) and isinstance(cur, Box) and isinstance(c, Box)
                        and type(cur) is type(c) and cur._trace is c._trace
                        and new._trace is cur._trace and new._inplace_ok()):
                    owned.add(p)

        for pos, g in seeds:
            add(pos, g)
        safe = STATE.nan_safe
        for i in range(len(entries) - 1, -1, -1):
            g = cts[i]
            if g is None:
                continue
            prim, vals, params, parents, out = entries[i]
            if prim is None:  # an input: keep its cotangent
                continue
            cts[i] = None  # free it as soon as it has been pulled back
            g_owned = i in owned  # allocated by this pass, held nowhere else
            owned.discard(i)
            derivs = prim.derivs
            # With record=True, rules must run on this tape's values: entries
            # are boxed again, elementwise ones only when a formula reads them.
            if derivs is not None and len(parents) == 1:
                # Fast path for unary elementwise primitives.
                d = derivs[0]
                if record and type(d) is not float:
                    vals, out = self._boxed(i, prim, vals, parents, out)
                if params or safe:
                    c, c_owned = scale(g, d, out, vals, params), False
                elif type(d) is float:
                    c, c_owned = (g, g_owned) if d == 1.0 else _times(g, d, g_owned)
                else:
                    dv = d(out, vals[0])
                    if record and type(dv) is TapeValue and dv._trace is self:
                        self.factors[i, 0] = dv._value
                    c, c_owned = _times(g, dv, g_owned)
                p = parents[0]
                if type(p) is int and cts[p] is None:
                    cts[p] = c
                    if c_owned and type(c) is np.ndarray:
                        owned.add(p)
                else:
                    add(p, c, c_owned and type(c) is np.ndarray)
                continue
            if derivs is not None and len(parents) == 2:
                # Fast path for binary elementwise primitives.
                bvals, bout = vals, out
                if record and (type(derivs[0]) is not float or type(derivs[1]) is not float):
                    bvals, bout = self._boxed(i, prim, vals, parents, out)
                # g may be overwritten or handed on as owned only at its last
                # use, and only if it has not been handed to a parent already
                last = 1 if (parents[1] is not None and derivs[1] is not None) else 0
                g_free = g_owned
                for j, (p, d, v) in enumerate(zip(parents, derivs, vals)):
                    if p is None or d is None:
                        continue
                    if params or safe:
                        c, c_owned = scale(g, d, bout, bvals, params), False
                    elif type(d) is float and d == 1.0:
                        c, c_owned = g, g_free and j == last
                        g_free = False
                    else:
                        dv = d if type(d) is float else d(bout, bvals[0], bvals[1])
                        if record and type(dv) is TapeValue and dv._trace is self:
                            self.factors[i, j] = dv._value
                        c, c_owned = _times(g, dv, g_free and j == last)
                        if c is g:
                            g_free = False
                    s = v.shape if type(v) is np.ndarray else _shape(v)
                    if _shape(c) != s:
                        c = unbroadcast(c, s)  # a new sum, held by no one else
                        c_owned = True
                    if type(p) is int and cts[p] is None:
                        cts[p] = c
                        if c_owned and type(c) is np.ndarray:
                            owned.add(p)
                    else:
                        add(p, c, c_owned and type(c) is np.ndarray)
                continue
            if record:
                vals, out = self._boxed(i, prim, vals, parents, out)
            if prim.accumulate is not None and (type(g) is np.ndarray or isinstance(g, Box)):
                p = parents[0]
                cur = cts[p] if type(p) is int else None
                if not (cur is not None and p in owned and cur.dtype == g.dtype
                        and prim.accumulate(cur, g, out, *vals, **params)):
                    (c,) = prim.apply_vjp(g, out, (True,), vals, params)
                    add(p, c, fresh=True)
                continue
            if prim.multiple_results:
                if all(x is None for x in g):
                    continue
                g = tuple(g)
            needs = [p is not None for p in parents]
            for p, c in zip(parents, prim.apply_vjp(g, out, needs, vals, params)):
                if p is not None and c is not None:
                    add(p, c)
        return [cts[p] for p in wanted]

    def _boxed(self, i, prim, vals, parents, out):
        """Entry ``i``'s values as this tape's values again (Residuals and
        constants stay as they are)."""
        vals = tuple(v if p is None or type(v) is core.Residual else TapeValue(v, self, p)
                     for v, p in zip(vals, parents))
        if prim.multiple_results:
            out = tuple(TapeValue(o, self, (i, k)) for k, o in enumerate(out))
        elif type(out) is not core.Residual:
            out = TapeValue(out, self, i)
        return vals, out

    # ---- forward sweep (linearize) --------------------------------------
    def forward_sweep(self, seeds, wanted, batch: bool, key=None):
        """Tangents at positions ``wanted`` given input tangents, reusing the
        recorded primals.

        The first sweep for a given set of seeded and wanted positions
        compiles the tape into a *program*: only entries that depend on a
        seeded input and feed a wanted output are kept, and each becomes one
        small closure with its parents' slots and the x-dependent factors of
        elementwise rules bound in.  Later sweeps just run the closures --
        the per-product cost that ``linearize`` and ``HessianOperator`` pay.
        """
        if STATE.nan_safe:
            return run_generic(self.entries, seeds, wanted, batch)
        if key is None:
            key = (tuple(p for p, _ in seeds), tuple(wanted), batch)
        if self._cache is None:
            self._cache = {}
        program = self._cache.get(key)
        if program is None:
            program = self._cache[key] = compile_sweep(self.entries, key[0], wanted, batch,
                                                       self.plans, self.factors)
        tans: list = [None] * len(self.entries)
        for pos, t in seeds:
            tans[pos] = t
        for step in program:
            step(tans)
        return [lookup(tans, p) for p in wanted]


def _large(out) -> bool:
    """Is an elementwise output (and so each of its inputs) worth pruning?"""
    if type(out) is np.ndarray:
        return out.size >= core.RESIDUAL_MIN_SIZE
    if type(out) is np.float64:
        return False
    p = primal(out)
    return type(p) is np.ndarray and p.size >= core.RESIDUAL_MIN_SIZE


def _times(g, d, g_owned: bool = False):
    """``g * d`` for a cotangent ``g`` and a partial derivative ``d``, and
    whether the backward pass owns the result (allocated it, and holds it in
    one place only, so that later contributions may be added into it).

    * A raw cotangent broadcast from one number -- what ``sum`` and ``mean``
      pull back -- times a number stays one number broadcast (no pass over
      memory); times a boxed ``d`` (the backward pass of forward-over-
      reverse, or a recorded one) it is ``d`` times that number, and ``d``
      itself when the number is 1 and the dtypes agree: one boxed operation
      saved.
    * A large cotangent the pass owns (``g_owned``: a product or sum it made
      itself, at its last use) takes the product in place -- NumPy's own
      temporary elision, done where NumPy cannot see it, by ownership the
      pass tracks rather than by reference counts.  ``d`` is never written
      into: a formula may return a recorded value or any array it likes.
    * Otherwise a new array.
    """
    if type(g) is not np.ndarray:
        return g * d, True
    if g.ndim and g.size and not any(g.strides):  # one number, broadcast
        s = g.reshape(-1)[0]
        if isinstance(d, Box):
            if shape_of(d) == g.shape:
                if s == 1.0 and np.result_type(g.dtype, d.dtype) == d.dtype:
                    # d itself (boxes are never changed in place; the API
                    # copies recorded values it hands back: api._detached)
                    return d, False
                return d * s, True
        elif np.ndim(d) == 0:
            return core.broadcast_number(s * d, g.shape), False
        return g * d, True
    if g_owned and g.size >= core.RESIDUAL_MIN_SIZE and not isinstance(d, Box) and _fits(g, d):
        return np.multiply(g, d, out=g), True
    return g * d, True


def _fits(a, b) -> bool:
    """May ``a * b`` be written into the raw array ``a``?"""
    if np.ndim(b) == 0:
        return np.result_type(a, b) == a.dtype
    return (type(b) is np.ndarray and (b.shape == a.shape or b.ndim == 0)
            and np.result_type(a, b) == a.dtype)


def _accumulate(cts, p, c, entries):
    if type(p) is tuple:
        pos, slot = p
        cur = cts[pos]
        if cur is None:
            cur = cts[pos] = [None] * len(entries[pos][4])
        cur[slot] = c if cur[slot] is None else cur[slot] + c
        return
    cur = cts[p]
    cts[p] = c if cur is None else cur + c


class TapeValue(Box):
    """A primal value recorded at tape position ``_pos`` of one reverse-mode level."""

    __slots__ = ("_pos",)

    def __init__(self, value, trace: Tape, pos):
        self._value = value
        self._trace = trace
        self._pos = pos
