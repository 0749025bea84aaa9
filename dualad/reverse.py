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
* An entry keeps only what its derivative formulas read
  (``dualad.tape_memory``): a large output or argument that no formula of a
  traced argument reads is stored as a ``core.Residual`` (shape and dtype),
  so the array is freed as soon as the user's code drops it, as in plain
  NumPy.
* Ownership is tracked, not guessed: a cotangent the backward pass
  allocated itself (a product or a sum) and stored in one place only is
  *owned* (``owned`` in ``Tape.backward``).  Later contributions are added
  into an owned sum in place, indexing adds its cotangent straight into the
  slice, and a large owned cotangent takes its next product in place
  (``chain.pull``); a cotangent the user passed in, or one handed to two
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
* An observer (:mod:`dualad.observe`) is told of each entry appended, and
  of each backward pass and forward sweep, by one check per hook point.
* Rejected alternative: storing ``.grad`` on nodes (micrograd, early
  PyTorch).  It needs manual zeroing and makes higher order impossible.
"""

from __future__ import annotations

import numpy as np

from . import core
from .chain import pull, vjp
from .nan_safe import watching
from .tape_memory import large, pruned_entry
from .core import COMPLEX_SEEN, NAN_SAFE_THREADS, NO_PARAMS, STATE, Box, Trace, unwrap
from .sweep import compile_sweep, lookup, run_generic
from .chain import shape as _shape

__all__ = ["Tape", "TapeValue"]


class Tape(Trace):
    """A reverse-mode transformation and its tape (a flat list of entries).

    An entry is ``(prim, args, params, parents, out)``; ``parents[i]`` is the
    tape position of ``args[i]`` when it is traced at this level, else None.
    A multiple-output entry's outputs are addressed as ``(position, slot)``.
    """

    __slots__ = ("entries", "_cache", "plans", "factors", "invalid_mark")

    def __init__(self, origin: str = "vjp"):
        super().__init__(origin)
        self.entries: list = []
        self._cache = None
        # optional dict of sweep plans shared with earlier tapes (see sweep.compile_sweep)
        self.plans = None
        # (entry, argument) -> the partial derivative's value, where a recorded
        # backward pass has computed it already (the sweep needs the same ones)
        self.factors: dict = {}
        # NumPy's count of invalid operations when the tape began: a NaN
        # derivative with no report since cannot come from 0 × inf (api)
        self.invalid_mark = core.INVALID_EVENTS[0]

    def new_input(self, value) -> "TapeValue":
        pos = len(self.entries)
        self.entries.append((None, (), None, (), value))
        if self.observer is not None:
            self.observer.appended(self, self.entries[-1])
        return TapeValue(value, self, pos)

    def process(self, prim, args, params):
        if len(args) == 1 and not prim.multiple_results:
            # Fast path for one-argument primitives (the argument is ours).
            a = args[0]
            v = a._value
            out = prim(v, **params) if isinstance(v, Box) else prim.impl(v, **params)
            entries = self.entries
            if prim.residuals is not None and large(out):
                entries.append(pruned_entry(prim, (v,), params, (a._pos,), out))
            else:
                entries.append((prim, (v,), params, (a._pos,), out))
            if self.observer is not None:
                self._report(prim, (v,), params, out)
            return TapeValue(out, self, len(entries) - 1)
        if len(args) == 2 and not prim.multiple_results:
            return self.binary(prim, args[0], args[1], params)
        vals, parents, lower = unwrap(self, args, "_pos")
        out = prim(*vals, **params) if lower else prim.impl(*vals, **params)
        if prim.residuals is not None and large(out):
            return self._record_pruned(prim, vals, params, parents, out)
        pos = len(self.entries)
        self.entries.append((prim, tuple(vals), params, tuple(parents), out))
        if self.observer is not None:
            self._report(prim, vals, params, out)
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
        if prim.residuals is not None and large(out):
            return self._record_pruned(prim, [va, vb], params, [pa, pb], out)
        entries = self.entries
        entries.append((prim, (va, vb), params, (pa, pb), out))
        if self.observer is not None:
            self._report(prim, (va, vb), params, out)
        return TapeValue(out, self, len(entries) - 1)

    def _record_pruned(self, prim, vals, params, parents, out):
        """Record an elementwise entry as the memory policy keeps it
        (``dualad.tape_memory``)."""
        self.entries.append(pruned_entry(prim, vals, params, parents, out))
        if self.observer is not None:
            self._report(prim, vals, params, out)
        return TapeValue(out, self, len(self.entries) - 1)

    def _report(self, prim, vals, params, out):
        """Tell the observer of the entry just appended, and of the raw
        evaluation that computed it (unless an outer transformation did)."""
        if not any(isinstance(v, Box) for v in vals):
            self.observer.evaluated(prim, tuple(vals), params, out)
        self.observer.appended(self, self.entries[-1])

    # ---- reverse sweep --------------------------------------------------
    def backward(self, seeds, wanted, record: bool = False):
        """Cotangents at positions ``wanted`` given ``seeds`` ((position,
        cotangent) pairs): one reversed loop, each entry pulling its cotangent
        back through its rule (``dualad.chain``) into its parents'.

        ``record=True`` records the pass itself on this (still active) tape:
        entries are boxed again as this tape's values before their rules run,
        so a forward sweep then gives Hessian-vector products on one tape
        (``api.linearize_grad``)."""
        observer = STATE.observer
        if observer is not None:
            observer.backward_started(self, seeds, wanted, record)
        entries = self.entries
        cts = Cotangents(len(entries))
        for pos, g in seeds:
            cts.add(pos, g, entries)
        values, owned = cts.values, cts.owned
        for i in range(len(entries) - 1, -1, -1):
            g = values[i]
            if g is None or entries[i][0] is None:  # nothing to pull, or an input
                continue
            values[i] = None  # free it as soon as it has been pulled back
            g_owned = i in owned
            owned.discard(i)
            prim, vals, params, parents, out = entry = entries[i]
            derivs = prim.derivs
            if derivs is None:
                _pull_generic(self._boxed(i, *entry) if record else entry, g, cts, entries)
                continue
            # the fast path (most entries): one traced argument j, chain.pull
            if record or params or len(parents) > 2:
                j = -1
            elif len(parents) == 1:
                j = 0 if derivs[0] is not None else -1
            else:
                live_a = parents[0] is not None and derivs[0] is not None
                j = -1 if live_a is (parents[1] is not None and derivs[1] is not None) else (0 if live_a else 1)
            if j >= 0:
                d, x, p = derivs[j], vals[j], parents[j]
                f = d if type(d) is float else (d(out, x) if len(vals) == 1 else d(out, *vals))
                # (one argument: its shape is the output's, nothing to unbroadcast)
                c, c_owned = pull(g, f, g_owned, None if len(vals) == 1 else
                                  x.shape if type(x) is np.ndarray else _shape(x), x)
                fresh = c_owned and type(c) is np.ndarray
                if type(p) is int and values[p] is None:
                    values[p] = c
                    if fresh:
                        owned.add(p)
                else:
                    cts.add(p, c, entries, fresh)
            else:
                self._pull_elementwise(i, entry, g, g_owned, cts, record)
        if observer is not None:
            observer.backward_finished(self, seeds, wanted, record)
        return [values[p] for p in wanted]

    def _pull_elementwise(self, i, entry, g, g_owned, cts, record):
        """Entry ``i``'s cotangent through the elementwise chain rule, into
        its parents'.  ``g`` may be written into (or handed on as owned) only
        at its last use, and only if no parent holds it already."""
        prim, vals, params, parents, out = entry
        derivs = prim.derivs
        if record and any(type(d) is not float for d in derivs):
            prim, vals, params, parents, out = self._boxed(i, *entry)
        n = len(parents)
        if n == 1:
            last = 0
        elif n == 2:
            last = 1 if parents[1] is not None and derivs[1] is not None else 0
        else:
            last = max([j for j in range(n) if parents[j] is not None
                        and derivs[j] is not None] or [-1])
        g_free = g_owned
        values, owned = cts.values, cts.owned
        for j in range(n):
            p, d = parents[j], derivs[j]
            if p is None or d is None:
                continue
            if type(d) is float:
                f = d
                if (d == 1.0 and type(g) is np.ndarray and g.shape == _shape(vals[j])
                        and not COMPLEX_SEEN[0]):
                    # g itself (x + y): handed on, owned only at its last use
                    if type(p) is int and values[p] is None:
                        values[p] = g
                        if g_free and j == last:
                            owned.add(p)
                    else:
                        cts.add(p, g, self.entries, g_free and j == last)
                    g_free = False
                    continue
            else:
                if params:
                    f = d(out, *vals, **params)
                else:
                    f = d(out, vals[0]) if n == 1 else d(out, *vals)
                if record and type(f) is TapeValue and f._trace is self:
                    self.factors[i, j] = f._value
            v = vals[j]
            c, c_owned = pull(g, f, g_free and j == last,
                              v.shape if type(v) is np.ndarray else _shape(v), v)
            if c is g:
                g_free = False
            if type(p) is int and values[p] is None:
                values[p] = c
                if c_owned and type(c) is np.ndarray:
                    owned.add(p)
            else:
                cts.add(p, c, self.entries, c_owned and type(c) is np.ndarray)

    def _boxed(self, i, prim, vals, params, parents, out):
        """Entry ``i`` with its values as this tape's values again (Residuals
        and constants stay as they are), for a recorded backward pass."""
        vals = tuple(v if p is None or type(v) is core.Residual else TapeValue(v, self, p)
                     for v, p in zip(vals, parents))
        if prim.multiple_results:
            out = tuple(TapeValue(o, self, (i, k)) for k, o in enumerate(out))
        elif type(out) is not core.Residual:
            out = TapeValue(out, self, i)
        return prim, vals, params, parents, out

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
        observer = STATE.observer
        if observer is not None:
            observer.sweep_started(self, seeds, wanted, batch)
        if (NAN_SAFE_THREADS[0] and STATE.nan_safe):
            tangents = run_generic(self.entries, seeds, wanted, batch)
        else:
            tangents = self._sweep_compiled(seeds, wanted, batch, key)
        if observer is not None:
            observer.sweep_finished(self, seeds, wanted, batch)
        return tangents

    def _sweep_compiled(self, seeds, wanted, batch: bool, key):
        """The sweep by the program compiled for ``key``."""
        if key is None:
            key = (tuple(p for p, _ in seeds), tuple(wanted), batch)
        if self._cache is None:
            self._cache = {}
        program = self._cache.get(key)
        if program is None:
            with watching():  # a 0 × inf in a factor built now must be seen later (api)
                program = self._cache[key] = compile_sweep(self.entries, key[0], wanted,
                                                           batch, self.plans, self.factors)
        tans: list = [None] * len(self.entries)
        for pos, t in seeds:
            tans[pos] = t
        for step in program:
            step(tans)
        return [lookup(tans, p) for p in wanted]


class Cotangents:
    """The backward pass's cotangents by tape position, and the positions
    whose value the pass *owns*: an array (or a box of arrays) it allocated
    itself and stores in one place only, so further contributions are added
    into it in place.  A cotangent the user passed in, or one handed to two
    positions, is never owned (see ``dualad.chain``)."""

    __slots__ = ("values", "owned")

    def __init__(self, n: int):
        self.values: list = [None] * n
        self.owned: set = set()

    def add(self, p, c, entries, fresh: bool = False) -> None:
        """Add cotangent ``c`` into position ``p`` (``(position, slot)`` for
        one output of a multiple-output entry)."""
        values, owned = self.values, self.owned
        if type(p) is not int:
            pos, slot = p
            cur = values[pos]
            if cur is None:
                cur = values[pos] = [None] * len(entries[pos][4])
            cur[slot] = c if cur[slot] is None else cur[slot] + c
            return
        cur = values[p]
        if cur is None:
            values[p] = c
            if fresh and (type(c) is np.ndarray or (isinstance(c, Box) and c._inplace_ok())):
                owned.add(p)
        elif p in owned and type(cur) is np.ndarray:
            if type(c) is np.ndarray and c.shape == cur.shape and c.dtype == cur.dtype:
                cur += c
            else:
                new = values[p] = cur + c
                if type(new) is not np.ndarray:  # e.g. a NumPy scalar
                    owned.discard(p)
        elif not (p in owned and isinstance(cur, Box) and cur._add_in_place(c)):
            new = values[p] = cur + c
            # a sum is ours alone: raw, or two boxes of one transformation
            # (then both of its parts are new arrays)
            if type(new) is np.ndarray or (
                    isinstance(new, Box) and isinstance(cur, Box) and isinstance(c, Box)
                    and type(cur) is type(c) and cur._trace is c._trace
                    and new._trace is cur._trace and new._inplace_ok()):
                owned.add(p)


def _pull_generic(entry, g, cts, entries):
    """A non-elementwise entry's cotangent through its own VJP rules.  An
    indexing primitive adds its cotangent straight into an owned sum
    (``prim.accumulate``) instead of scattering into a new zero array."""
    prim, vals, params, parents, out = entry
    if prim.accumulate is not None and (type(g) is np.ndarray or isinstance(g, Box)):
        p = parents[0]
        cur = cts.values[p] if type(p) is int else None
        if (cur is not None and p in cts.owned and cur.dtype == g.dtype
                and prim.accumulate(cur, g, out, *vals, **params)):
            return
        (c,) = vjp(prim, g, out, (True,), vals, params)
        cts.add(p, c, entries, fresh=True)
        return
    if prim.multiple_results:
        if all(x is None for x in g):
            return
        g = tuple(g)
    needs = [p is not None for p in parents]
    for p, c in zip(parents, vjp(prim, g, out, needs, vals, params)):
        if p is not None and c is not None:
            cts.add(p, c, entries)


class TapeValue(Box):
    """A primal value recorded at tape position ``_pos`` of one reverse-mode level."""

    __slots__ = ("_pos",)

    def __init__(self, value, trace: Tape, pos):
        self._value = value
        self._trace = trace
        self._pos = pos
