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
* Cotangent sums that the backward pass allocated itself are updated in
  place, and indexing adds its cotangent straight into the slice.  A large
  cotangent or derivative factor that nothing else references (``_private``,
  a reference count) takes a product in place, and the cotangent ``sum``
  pulls back stays one number broadcast under scalings (``_times``).
* ``backward(..., record=True)`` records the backward pass on the same tape
  (entries boxed again as this tape's values), so that a forward sweep gives
  Hessian-vector products without a second level of boxes.
* ``forward_sweep`` compiles the tape once per set of seeded and wanted
  positions: dead entries dropped, chains of scalings folded, one closure
  per remaining entry with its x-dependent factors bound.  The plan of that
  compilation can be reused by a later tape of the same structure (``plans``).
* Only values that depend on the inputs are boxed: a constant never reaches
  the tape.
* An observer (:mod:`dualad.observe`) is told of each entry appended, and
  of each backward pass and forward sweep, by one check per hook point.
* Rejected alternative: storing ``.grad`` on nodes (micrograd, early
  PyTorch).  It needs manual zeroing and makes higher order impossible.
"""

from __future__ import annotations

import sys

import numpy as np

from . import core
from .core import (NO_PARAMS, STATE, Box, Trace, fill_output_shape, pad_batched, primal, prune, scale,
                   shape_of, unbroadcast, unwrap)

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
        # optional dict of sweep plans shared with earlier tapes (see _compile)
        self.plans = None
        # (entry, argument) -> the partial derivative's value, where a recorded
        # backward pass has computed it already (the sweep needs the same ones)
        self.factors: dict = {}

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
            residuals = prim.residuals
            if residuals is not None and residuals[0] is not None and _large(out):
                uses = residuals[0]
                entries.append((prim, (prune(v, 1 in uses),), params, (a._pos,),
                                prune(out, 0 in uses)))
            else:
                entries.append((prim, (v,), params, (a._pos,), out))
            if self.observer is not None:
                self._report(prim, (v,), params, out)
            return TapeValue(out, self, len(entries) - 1)
        if len(args) == 2 and not prim.multiple_results:
            return self.binary(prim, args[0], args[1], params)
        vals, parents, lower = unwrap(self, args, "_pos")
        out = prim(*vals, **params) if lower else prim.impl(*vals, **params)
        if prim.residuals is not None and _large(out):
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
        if prim.residuals is not None and _large(out):
            return self._record_pruned(prim, [va, vb], params, [pa, pb], out)
        entries = self.entries
        entries.append((prim, (va, vb), params, (pa, pb), out))
        if self.observer is not None:
            self._report(prim, (va, vb), params, out)
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
        stored, kept = out, vals
        if needed is not None:
            stored = prune(out, 0 in needed)
            kept = [prune(v, k + 1 in needed) for k, v in enumerate(vals)]
        self.entries.append((prim, tuple(kept), params, tuple(parents), stored))
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
        observer = STATE.observer
        if observer is not None:
            observer.backward_started(self, seeds, wanted, record)
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
                    c = scale(g, d, out, vals, params)
                elif type(d) is float:
                    c = g if d == 1.0 else _chain_product(g, d, True)
                else:
                    dv = d(out, vals[0])
                    if record and type(dv) is TapeValue and dv._trace is self:
                        self.factors[i, 0] = dv._value
                    c = _chain_product(g, dv, True)
                    dv = None
                p = parents[0]
                if type(p) is int and cts[p] is None:
                    cts[p] = c
                else:
                    add(p, c)
                c = None  # (a cotangent held by a stale name is never private)
                continue
            if derivs is not None and len(parents) == 2:
                # Fast path for binary elementwise primitives.
                bvals, bout = vals, out
                if record and (type(derivs[0]) is not float or type(derivs[1]) is not float):
                    bvals, bout = self._boxed(i, prim, vals, parents, out)
                # g may be overwritten (if nothing else holds it) at its last use
                last = 1 if (parents[1] is not None and derivs[1] is not None) else 0
                for j, (p, d, v) in enumerate(zip(parents, derivs, vals)):
                    if p is None or d is None:
                        continue
                    if params or safe:
                        c = scale(g, d, bout, bvals, params)
                    elif type(d) is float:
                        c = g if d == 1.0 else _chain_product(g, d, j == last)
                    else:
                        dv = d(bout, bvals[0], bvals[1])
                        if record and type(dv) is TapeValue and dv._trace is self:
                            self.factors[i, j] = dv._value
                        c = _chain_product(g, dv, j == last)
                        dv = None
                    s = v.shape if type(v) is np.ndarray else _shape(v)
                    if _shape(c) != s:
                        c = unbroadcast(c, s)
                    if type(p) is int and cts[p] is None:
                        cts[p] = c
                    else:
                        add(p, c)
                    c = None
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
                    c = None
                cur = None
                continue
            if prim.multiple_results:
                if all(x is None for x in g):
                    continue
                g = tuple(g)
            needs = [p is not None for p in parents]
            for p, c in zip(parents, prim.apply_vjp(g, out, needs, vals, params)):
                if p is not None and c is not None:
                    add(p, c)
            c = None
        if observer is not None:
            observer.backward_finished(self, seeds, wanted, record)
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
        observer = STATE.observer
        if observer is not None:
            observer.sweep_started(self, seeds, wanted, batch)
        if STATE.nan_safe:
            tangents = self._sweep_generic(seeds, wanted, batch)
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
            program = self._cache[key] = _compile(self.entries, key[0], wanted, batch,
                                                  self.plans, self.factors)
        tans: list = [None] * len(self.entries)
        for pos, t in seeds:
            tans[pos] = t
        for step in program:
            step(tans)
        return [_lookup(tans, p) for p in wanted]

    def _sweep_generic(self, seeds, wanted, batch: bool):
        """The same sweep, entry by entry, with no compiled program."""
        tans: list = [None] * len(self.entries)
        for pos, t in seeds:
            tans[pos] = t
        for i, (prim, vals, params, parents, out) in enumerate(self.entries):
            if prim is None:
                continue
            ts = [None if p is None else _lookup(tans, p) for p in parents]
            if all(t is None for t in ts):
                continue
            tans[i] = prim.apply_jvp(ts, out, vals, params, batch)
        return [_lookup(tans, p) for p in wanted]


def _shape(v) -> tuple:
    t = type(v)
    if t is np.ndarray or t is core.Residual:
        return v.shape
    if isinstance(v, Box) and type(v._value) is np.ndarray:
        return v._value.shape
    return shape_of(v)


def _broadcast(a: tuple, b: tuple) -> tuple:
    return a if a == b or not b else np.broadcast_shapes(a, b)


def _large(out) -> bool:
    """Is an elementwise output (and so each of its inputs) worth pruning?"""
    if type(out) is np.ndarray:
        return out.size >= core.RESIDUAL_MIN_SIZE
    if type(out) is np.float64:
        return False
    p = primal(out)
    return type(p) is np.ndarray and p.size >= core.RESIDUAL_MIN_SIZE


def _chain_product(g, d, last_use: bool):
    """``g * d`` in the backward pass's elementwise paths: ``g`` the cotangent
    and ``d`` a partial derivative, each held by one local name of
    ``Tape.backward`` and passed straight here (the calling pattern
    ``_private`` is calibrated for).  ``g`` may be overwritten only at its
    ``last_use`` in the entry.  Small arrays are multiplied directly: the
    bookkeeping would cost more than the memory saved."""
    if type(g) is not np.ndarray:
        return g * d
    if g.size >= core.RESIDUAL_MIN_SIZE:
        if not _CALIBRATED:
            _calibrate()
        # ask before passing g and d on: a call's arguments hold references too
        g_private = last_use and _private(g)
        d_private = _private(d)
        return _times(g, d, g_private, d_private)
    if isinstance(d, Box):
        return _times(g, d)
    return g * d


def _times(g, d, g_private: bool = False, d_private: bool = False):
    """``g * d``, for a cotangent ``g`` and a partial derivative ``d``.

    * A raw cotangent broadcast from one number -- what ``sum`` and ``mean``
      pull back -- times a number stays one number broadcast (no pass over
      memory); times a boxed ``d`` (the backward pass of forward-over-
      reverse, or a recorded one) it is ``d`` times that number, and ``d``
      itself when the number is 1 and the dtypes agree: one boxed
      operation saved.
    * A private operand (see :func:`_private`: a fresh array nothing else
      holds) takes the product in place when it has the product's shape and
      dtype -- no new array, and when ``g`` is 1 everywhere, no pass at all.
    * Otherwise a new array.  A raw ``d`` that is not private is never handed
      back as it is: it may be an array the caller owns.
    """
    if type(g) is not np.ndarray:
        return g * d
    if g.ndim and g.size and not any(g.strides):  # one number, broadcast
        s = g.reshape(-1)[0]
        if isinstance(d, Box):
            if shape_of(d) == g.shape:
                if s == 1.0 and np.result_type(g.dtype, d.dtype) == d.dtype:
                    # d itself (boxes are never changed in place; the API
                    # copies recorded values it hands back: api._detached)
                    return d
                return d * s
        elif np.ndim(d) == 0:
            return core.broadcast_number(s * d, g.shape)
        elif d_private and _fits(d, g):
            return d if s == 1.0 else np.multiply(d, s, out=d)
        return g * d
    if g_private and not isinstance(d, Box) and _fits(g, d):
        return np.multiply(g, d, out=g)
    if d_private and _fits(d, g):
        return np.multiply(g, d, out=d)
    return g * d


def _fits(a, b) -> bool:
    """May ``a * b`` be written into the raw array ``a``?"""
    if np.ndim(b) == 0:
        return np.result_type(a, b) == a.dtype
    return (type(b) is np.ndarray and (b.shape == a.shape or b.ndim == 0)
            and np.result_type(a, b) == a.dtype)


def _private(a) -> bool:
    """Is ``a`` a large raw array that only ``Tape.backward``'s one local name holds?

    The backward pass asks this (through :func:`_chain_product`) of a
    cotangent it has just taken off its list, or of a partial derivative it
    has just computed, holding it in one local name and passing it nowhere
    else: the count then is that name, ``_chain_product``'s argument, this
    call's argument and getrefcount's own.  If nothing else refers to it (not
    the user, who passed a seed; not another position it was also handed to;
    not a view), it may be overwritten instead of allocating a new array --
    NumPy's own temporary elision, done where NumPy cannot see it.  The count
    is compared with one measured for the same calling pattern (see
    :func:`_calibrate`); until that has been done, nothing is private.
    """
    return (_ONE_LOCAL is not None and type(a) is np.ndarray and a.base is None
            and a.size >= core.RESIDUAL_MIN_SIZE and a.flags.writeable
            and sys.getrefcount(a) == _ONE_LOCAL)


def _count_references(a) -> int:
    return sys.getrefcount(a)


def _passed_on(a) -> int:
    return _count_references(a)


def _one_local_count() -> int:
    """The reference count ``_private`` sees for an array held by one local
    name of its caller's caller: measured through the same two calls."""
    a = np.empty(1)
    return _passed_on(a)


def _chain_product_is_safe() -> bool:
    """Run :func:`_chain_product` itself as ``Tape.backward`` does: it must
    take the product in place for arrays one local name holds, and must not
    for arrays something else holds too."""
    n = max(core.RESIDUAL_MIN_SIZE, 1)
    g = np.ones(n)
    d = np.full(n, 2.0)
    product = _chain_product(g, d, True)
    alone = product is g and g[0] == 2.0
    held = [np.ones(n), np.full(n, 2.0)]
    g = held[0]
    d = held[1]
    product = _chain_product(g, d, True)
    shared = product is not g and product is not d and g[0] == 1.0 and d[0] == 2.0
    return bool(alone and shared)


_ONE_LOCAL = None  # the calibrated count; None: nothing is private
_CALIBRATED = False


def _calibrate() -> None:
    """Measure ``_ONE_LOCAL`` once, the first time a large cotangent needs it.

    Not at import, and never while a trace or profile function is set: those
    can hold extra references to the locals of the frames they watch, which
    would calibrate a count higher than the one seen once they are gone -- and
    an array held elsewhere would then pass for private.  (While one is set
    later, counts only rise, which just makes fewer arrays private.)  The
    count is then checked on ``_chain_product`` itself; without a global
    interpreter lock, or if anything is off, nothing is ever private.
    """
    global _ONE_LOCAL, _CALIBRATED
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return  # try again at a later backward pass
    _CALIBRATED = True
    if not getattr(sys, "_is_gil_enabled", lambda: True)() or not hasattr(sys, "getrefcount"):
        return
    _ONE_LOCAL = _one_local_count()
    if not _chain_product_is_safe():
        _ONE_LOCAL = None


def _slot(p):
    return p if type(p) is int else p[0]


def _compile(entries, seeded, wanted, batch, plans=None, factors=None):
    """The closures of a forward sweep (see ``Tape.forward_sweep``).

    Compiling is two steps: a *plan* that depends only on the tape's
    structure -- which entries run, which scalings fold into which, which
    scatters are summed in place -- and a *build* that computes the
    x-dependent factors and binds them into closures.  ``plans`` (a dict
    shared by the successive tapes of one objective, see
    ``api._linearize_value_and_grad``) keeps the last plan per key with the
    structure it was made for, so a tape of the same structure -- the next
    iterate of an optimiser -- is only built.  The build checks every factor
    against the plan (a number where the plan had a number, the same shape)
    and a mismatch plans afresh.
    """
    key = structure = None
    cache = dict(factors) if factors else {}  # (entry, argument) -> factor, computed once
    if plans is not None:
        key = (tuple(seeded), tuple(wanted), batch)
        structure = [(e[0], e[3], _signature(e[4])) for e in entries]
        cached = plans.get(key)
        if cached is not None and cached[0] == structure:
            program = _build(entries, cached[1], batch, cache)
            if program is not None:
                return program
    plan = _plan(entries, seeded, wanted, batch, cache)
    program = _build(entries, plan, batch, cache)
    if plans is not None:
        plans[key] = (structure, plan)
    return program


def _signature(value):
    """What a plan may depend on in a recorded output: its shape(s)."""
    if type(value) is tuple:
        return tuple(_shape(v) for v in value)
    return _shape(value)


def _kind(factor):
    """A factor's signature in a plan: the number itself when it is a
    constant (the steps it makes depend on it being ±1), else its shape."""
    return factor if type(factor) is float else _shape(factor)


def _plan(entries, seeded, wanted, batch, cache):
    """The structure of a compiled sweep, as data: a list of steps

    * ``("scale", i, p, chain)``: t_i = t_p * (product of the chain's factors);
    * ``("terms", i, terms)``: t_i = Σ t_p * (product of its chain), with
      ``terms`` of ``(p, chain, pad, arg_shape)``;
    * ``("pieces", i, [(p, k)])``: t_i = zeros with each t_p added in place by
      the scatter entry k's ``add_into``;
    * ``("linear", i, p)`` and ``("generic", i, in_use)``;

    where a chain is a list of ``(entry, argument, kind)``: the factor
    ∂out/∂arg of that entry and its expected :func:`_kind`.
    """
    n = len(entries)
    # each entry's parents as plain tape positions (a slot of a multiple-output
    # entry counts as that entry)
    slots = [[p if type(p) is int else p[0] for p in e[3] if p is not None] for e in entries]
    live = [False] * n  # depends on a seeded input
    for pos in seeded:
        live[pos] = True
    for i in range(n):
        if entries[i][0] is not None:
            for q in slots[i]:
                if live[q]:
                    live[i] = True
                    break
    needed = [False] * n  # feeds a wanted output
    for p in wanted:
        needed[_slot(p)] = True
    for i in range(n - 1, -1, -1):
        if needed[i]:
            for q in slots[i]:
                needed[q] = True
    kept = [i for i in range(n) if live[i] and needed[i] and entries[i][0] is not None]
    in_use = {}
    uses = [0] * n
    for p in wanted:
        uses[_slot(p)] += 1
    for i in kept:
        row = in_use[i] = [p if p is not None and live[p if type(p) is int else p[0]] else None
                           for p in entries[i][3]]
        for p in row:
            if p is not None:
                uses[p if type(p) is int else p[0]] += 1
    # Chains of scalings (t_i = t_p * factor, p used only by i) fold into one
    # step with the product of the factors.
    scales: dict = {}
    folded = set()
    for i in kept:
        prim, vals, params, parents, out = entries[i]
        if prim.derivs is None:
            continue
        term = _scale_term(entries, i, in_use[i], cache)
        if term is None:
            continue
        p, j, factor = term
        chain = [(i, j, _kind(factor))]
        if p in scales and uses[p] == 1:
            p_first, first = scales.pop(p)
            folded.add(p)
            p, chain = p_first, first + chain
        scales[i] = (p, chain)
    # Sums of scatters (the cotangent of x built from x[1:], x[:-1] ...) become
    # one zero array with each piece added into place, instead of one zero
    # array per piece and a sum.
    pieces: dict = {}
    if not batch:
        for i in kept:
            if i in scales or i in folded:
                continue
            prim, vals, params, parents, out = entries[i]
            src = in_use[i]
            if prim.add_into is not None and len(src) == 1 and type(src[0]) is int:
                pieces[i] = [(src[0], i)]
            elif (prim.derivs == (1.0, 1.0) and len(src) == 2
                  and all(type(p) is int and p in pieces and uses[p] == 1 for p in src)
                  and all(_shape(v) == _shape(out) for v in vals)
                  and src[0] != src[1]):
                pieces[i] = pieces.pop(src[0]) + pieces.pop(src[1])
                folded.update(src)
    # Elementwise entries of several terms absorb the scalings that feed only
    # them (t = (t_a * f) * g + ... becomes t_a * (f * g) + ...).
    terms_of = {}
    for i in kept:
        prim = entries[i][0]
        if prim.derivs is not None and i not in scales and i not in folded \
                and not (i in pieces and len(pieces[i]) > 1):
            terms = _elementwise_terms(entries, i, in_use[i], batch, cache)
            if terms is None:
                continue
            for t, (p, chain, pad, arg_shape) in enumerate(terms):
                if not pad and p in scales and uses[p] == 1:
                    p_first, first = scales.pop(p)
                    folded.add(p)
                    terms[t] = (p_first, first + chain, pad, arg_shape)
            terms_of[i] = terms
    plan = []
    for i in kept:
        if i in folded:
            continue
        if i in scales:
            plan.append(("scale", i) + scales[i])
        elif i in pieces and len(pieces[i]) > 1:
            plan.append(("pieces", i, pieces[i]))
        elif i in terms_of:
            plan.append(("terms", i, terms_of[i]))
        elif entries[i][0].linear_map is not None and len(in_use[i]) == 1 \
                and type(in_use[i][0]) is int:
            plan.append(("linear", i, in_use[i][0]))
        else:
            plan.append(("generic", i, in_use[i]))
    return plan


def _build(entries, plan, batch, cache):
    """The closures of a plan, with this tape's factors (``cache``: those
    already computed); None if a factor does not have the kind the plan
    expects (then the tape must be planned anew)."""
    def product(chain):
        factor = None
        for k, j, kind in chain:
            f = _cached_factor(entries, k, j, cache)
            if _kind(f) != kind:
                raise _Replan
            factor = f if factor is None else factor * f
        return factor

    program = []
    try:
        for step in plan:
            what, i = step[0], step[1]
            if what == "scale":
                program.append(_scale_step(i, step[2], product(step[3])))
            elif what == "terms":
                terms = [(p, product(chain), pad, arg_shape)
                         for p, chain, pad, arg_shape in step[2]]
                program.append(_terms_step(i, terms, _shape(entries[i][4]), batch))
            elif what == "pieces":
                parts = []
                for p, k in step[2]:
                    prim, vals, params, parents, out = entries[k]
                    parts.append((p, prim.add_into(params), prim.linear_map(vals, params, batch)))
                program.append(_scatter_sum_step(i, parts, shape_of(entries[i][4])))
            elif what == "linear":
                prim, vals, params, parents, out = entries[i]
                fn = prim.linear_map(vals, params, batch)
                program.append(_linear_step(i, step[2], fn) if fn is not None else
                               _generic_step(i, prim, [step[2]], vals, params, out, batch))
            else:
                prim, vals, params, parents, out = entries[i]
                program.append(_generic_step(i, prim, step[2], vals, params, out, batch))
    except _Replan:
        return None
    return program


class _Replan(Exception):
    """A factor of this tape does not fit the cached plan."""


def _factor(d, out, vals, params):
    """An elementwise partial derivative at the recorded point (a constant
    formula as a float)."""
    factor = d if type(d) is float else d(out, *vals, **params)
    return float(factor) if type(factor) is int else factor


def _cached_factor(entries, k, j, cache):
    """∂out/∂arg j of entry k, computed once per compilation (``cache``)."""
    f = cache.get((k, j))
    if f is None:
        prim, vals, params, parents, out = entries[k]
        f = cache[k, j] = _factor(prim.derivs[j], out, vals, params)
    return f


def _scale_term(entries, i, in_use, cache):
    """``(p, j, factor)`` if entry i is t_out = t_p * factor (factor =
    ∂out/∂arg j) with no padding or broadcasting; else None."""
    prim, vals, params, parents, out = entries[i]
    live = [(j, p) for j, p in enumerate(in_use) if p is not None and prim.derivs[j] is not None]
    if len(live) != 1:
        return None
    j, p = live[0]
    if type(p) is not int:
        return None
    factor = _cached_factor(entries, i, j, cache)
    arg_shape = _shape(vals[j])
    out_shape = _shape(out)
    if arg_shape != out_shape:
        return None
    if type(factor) is not float:
        fs = _shape(factor)
        if fs != out_shape and fs != () and np.broadcast_shapes(arg_shape, fs) != out_shape:
            return None
    return p, j, factor


def _elementwise_terms(entries, i, in_use, batch, cache):
    """The terms ``(p, chain, pad, arg_shape)`` of elementwise entry i's
    tangent Σ_j t_j · ∂out/∂x_j; None if one comes from a slot of a
    multiple-output entry (then the general path is taken)."""
    prim, vals, params, parents, out = entries[i]
    terms = []
    out_nd = len(_shape(out))
    for j, p in enumerate(in_use):
        d = prim.derivs[j]
        if p is None or d is None:
            continue
        if type(p) is not int:
            return None
        factor = _cached_factor(entries, i, j, cache)
        arg_shape = _shape(vals[j])
        pad = batch and len(arg_shape) < out_nd
        terms.append((p, [(i, j, _kind(factor))], pad, arg_shape))
    return terms


def _scale_step(i, p, factor):
    if type(factor) is float and factor == 1.0:
        def step(tans):
            tans[i] = tans[p]
    elif type(factor) is float and factor == -1.0:
        def step(tans):
            tans[i] = -tans[p]
    else:
        def step(tans):
            tans[i] = tans[p] * factor
    return step


def _scatter_sum_step(i, pieces, shape):
    def step(tans):
        ts = [tans[p] for p, _, _ in pieces]
        if all(type(t) is np.ndarray for t in ts):
            acc = np.zeros(shape, np.result_type(*ts))
            for t, (_, add_into, _) in zip(ts, pieces):
                add_into(acc, t)
            tans[i] = acc
        else:  # boxed tangents: the same sum, through the primitives
            result = None
            for t, (_, _, linear_map) in zip(ts, pieces):
                c = linear_map(t)
                result = c if result is None else result + c
            tans[i] = result
    return step


def _linear_step(i, p, fn):
    def step(tans):
        tans[i] = fn(tans[p])
    return step


def _generic_step(i, prim, in_use, vals, params, out, batch):
    def step(tans):
        ts = [None if p is None else _lookup(tans, p) for p in in_use]
        tans[i] = prim.apply_jvp(ts, out, vals, params, batch)
    return step


def _terms_step(i, terms, out_shape, batch):
    """One elementwise entry: t_out = Σ t_p · factor over ``terms`` of
    ``(p, factor, pad, arg_shape)`` (factors computed at build time)."""
    if not terms:
        return lambda tans: None
    shapes = [arg_shape if type(factor) is float else _broadcast(arg_shape, _shape(factor))
              for p, factor, pad, arg_shape in terms]
    broadcast = any(sh != out_shape for sh in shapes) and np.broadcast_shapes(*shapes) != out_shape
    if len(terms) == 1 and not broadcast and not terms[0][2]:
        return _scale_step(i, terms[0][0], terms[0][1])
    if (len(terms) == 2 and not broadcast and not batch
            and all(type(f) is float and abs(f) == 1.0 for _, f, _, _ in terms)):
        # t_a ± t_b in one operation (a sum or difference of two tangents)
        (pa, fa, _, _), (pb, fb, _, _) = terms
        if fa == 1.0 and fb == 1.0:
            def step(tans):
                tans[i] = tans[pa] + tans[pb]
        elif fa == 1.0:
            def step(tans):
                tans[i] = tans[pa] - tans[pb]
        elif fb == 1.0:
            def step(tans):
                tans[i] = tans[pb] - tans[pa]
        else:
            def step(tans):
                tans[i] = -(tans[pa] + tans[pb])
        return step
    n_out = len(out_shape)

    def step(tans):
        result = None
        for p, factor, pad, arg_shape in terms:
            t = tans[p]
            if pad:
                t = pad_batched(t, len(arg_shape), n_out)
            c = t if (type(factor) is float and factor == 1.0) else t * factor
            result = c if result is None else result + c
        if broadcast:
            result = fill_output_shape(result, out_shape, batch)
        tans[i] = result
    return step


def _lookup(store, p):
    if type(p) is tuple:
        pos, slot = p
        v = store[pos]
        return None if v is None else v[slot]
    return store[p]


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
