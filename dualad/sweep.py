"""Linearization replay: pushing tangents forward through a recorded tape.

What this module lets you do
----------------------------
Given a tape (``dualad.reverse``) and the positions seeded with tangents,
compute the tangents at the wanted positions again and again -- for new
directions -- without re-running the primal computation.  That is what
``linearize``, ``HessianOperator`` and Newton-CG pay per product.

How
---
A sweep is compiled once per (seeded, wanted, batch) key, in two steps:

1. **plan** -- depends on the tape's *structure* only: which entries run
   (those that depend on a seed and feed a wanted position), which chains of
   scalings fold into one product, which sums of scatters add into one
   array.  A plan is data: a list of the typed steps below.
2. **build** -- computes the x-dependent factors (the elementwise partial
   derivatives at the recorded point) and binds them into one small closure
   per step.  Later sweeps just run the closures.

A plan can be reused by a later tape of the same structure (the next
iterate of an optimiser: ``plans``, a dict shared across tapes).  The build
then checks every factor against the plan -- a number where the plan had
that number, an array of the same shape -- and a mismatch plans afresh.

The steps
---------
* :class:`Scale`: ``t_out = t_src * (product of the chain's factors)``;
* :class:`Terms`: ``t_out = Σ t_src * (product of its chain)`` (an
  elementwise entry of several traced arguments);
* :class:`Pieces`: ``t_out`` = zeros with each piece added in place by its
  scatter entry's ``add_into`` (the tangent of ``x`` built from ``x[1:]``,
  ``x[:-1]`` ...);
* :class:`Linear`: a one-argument linear primitive's ``linear_map``;
* :class:`Generic`: the primitive's own JVP rule on the recorded values.

A chain is a tuple of :class:`Factor`: the partial derivative of one
entry with respect to one argument, and its expected :func:`kind`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .chain import jvp, scaler, shape, times
from .core import fill_output_shape, pad_batched, shape_of

__all__ = ["compile_sweep", "plan", "build", "run_generic", "lookup"]


# ---- the plan, as data --------------------------------------------------------------
class Factor(NamedTuple):
    entry: int
    arg: int
    kind: object  # the constant itself, or the array's shape (see kind())


class Term(NamedTuple):
    src: object  # tape position (an int)
    chain: tuple
    pad: bool  # a batched tangent of lower rank than the output: pad it
    arg_shape: tuple


class Scale(NamedTuple):
    out: int
    src: int
    chain: tuple


class Terms(NamedTuple):
    out: int
    terms: tuple


class Pieces(NamedTuple):
    out: int
    pieces: tuple  # (src, scatter entry) pairs


class Linear(NamedTuple):
    out: int
    src: int


class Generic(NamedTuple):
    out: int
    in_use: tuple  # per argument: its live parent position, or None


# ---- shapes and factors -----------------------------------------------------------------
def _broadcast(a: tuple, b: tuple) -> tuple:
    return a if a == b or not b else np.broadcast_shapes(a, b)


def _slot(p):
    return p if type(p) is int else p[0]


def lookup(store, p):
    """The value at tape position ``p`` (or slot ``(position, k)`` of a
    multiple-output entry)."""
    if type(p) is tuple:
        pos, slot = p
        v = store[pos]
        return None if v is None else v[slot]
    return store[p]


def signature(value):
    """What a plan may depend on in a recorded output: its shape(s)."""
    if type(value) is tuple:
        return tuple(shape(v) for v in value)
    return shape(value)


def kind(factor):
    """A factor's signature in a plan: the number itself when it is a
    constant (the steps it makes depend on it being ±1), else its shape."""
    return factor if type(factor) is float else shape(factor)


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


# ---- compiling ---------------------------------------------------------------------------
def compile_sweep(entries, seeded, wanted, batch, plans=None, factors=None):
    """The closures of a forward sweep: a plan (reused from ``plans`` when
    the tape's structure matches the one it was made for) and its build.
    ``factors`` are partial derivatives already computed (a recorded
    backward pass computes the same ones)."""
    key = structure = None
    cache = dict(factors) if factors else {}  # (entry, argument) -> factor, computed once
    if plans is not None:
        key = (tuple(seeded), tuple(wanted), batch)
        structure = [(e[0], e[3], signature(e[4])) for e in entries]
        cached = plans.get(key)
        if cached is not None and cached[0] == structure:
            program = build(entries, cached[1], batch, cache)
            if program is not None:
                return program
    steps = plan(entries, seeded, wanted, batch, cache)
    program = build(entries, steps, batch, cache)
    if plans is not None:
        plans[key] = (structure, steps)
    return program


def _kept_entries(entries, seeded, wanted):
    """The entries a sweep runs (depending on a seed and feeding a wanted
    position), each entry's live parents, and how often each position is used."""
    n = len(entries)
    slots = [[_slot(p) for p in e[3] if p is not None] for e in entries]
    live = [False] * n
    for pos in seeded:
        live[pos] = True
    for i in range(n):
        if entries[i][0] is not None and any(live[q] for q in slots[i]):
            live[i] = True
    needed = [False] * n
    for p in wanted:
        needed[_slot(p)] = True
    for i in range(n - 1, -1, -1):
        if needed[i]:
            for q in slots[i]:
                needed[q] = True
    kept = [i for i in range(n) if live[i] and needed[i] and entries[i][0] is not None]
    in_use, uses = {}, [0] * n
    for p in wanted:
        uses[_slot(p)] += 1
    for i in kept:
        row = in_use[i] = tuple(p if p is not None and live[_slot(p)] else None
                                for p in entries[i][3])
        for p in row:
            if p is not None:
                uses[_slot(p)] += 1
    return kept, in_use, uses


def _scale_term(entries, i, in_use, cache):
    """``(p, j, factor)`` if entry i is t_out = t_p * factor (factor =
    ∂out/∂arg j) with no padding or broadcasting; else None."""
    prim, vals, params, parents, out = entries[i]
    live = [(j, p) for j, p in enumerate(in_use) if p is not None and prim.derivs[j] is not None]
    if len(live) != 1 or type(live[0][1]) is not int:
        return None
    j, p = live[0]
    factor = _cached_factor(entries, i, j, cache)
    arg_shape, out_shape = shape(vals[j]), shape(out)
    if arg_shape != out_shape:
        return None
    if type(factor) is not float:
        fs = shape(factor)
        if fs != out_shape and fs != () and np.broadcast_shapes(arg_shape, fs) != out_shape:
            return None
    return p, j, factor


def _fold_scalings(entries, kept, in_use, uses, cache):
    """Chains of scalings (t_i = t_p * factor, p used only by i) folded into
    one product: ``{i: (source, chain)}`` and the positions folded away."""
    scales, folded = {}, set()
    for i in kept:
        if entries[i][0].derivs is None:
            continue
        term = _scale_term(entries, i, in_use[i], cache)
        if term is None:
            continue
        p, j, factor = term
        chain = (Factor(i, j, kind(factor)),)
        if p in scales and uses[p] == 1:
            p, first = scales.pop(p)
            folded.add(term[0])
            chain = first + chain
        scales[i] = (p, chain)
    return scales, folded


def _scatter_sums(entries, kept, in_use, uses, scales, folded):
    """Sums of scatters as one zero array with each piece added in place:
    ``{i: ((source, scatter entry), ...)}`` (unbatched sweeps only)."""
    pieces = {}
    for i in kept:
        if i in scales or i in folded:
            continue
        prim, vals, params, parents, out = entries[i]
        src = in_use[i]
        if prim.add_into is not None and len(src) == 1 and type(src[0]) is int:
            pieces[i] = ((src[0], i),)
        elif (prim.derivs == (1.0, 1.0) and len(src) == 2 and src[0] != src[1]
              and all(type(p) is int and p in pieces and uses[p] == 1 for p in src)
              and all(shape(v) == shape(out) for v in vals)):
            pieces[i] = pieces.pop(src[0]) + pieces.pop(src[1])
            folded.update(src)
    return pieces


def _elementwise_terms(entries, i, in_use, batch, cache):
    """The terms of elementwise entry i's tangent Σ_j t_j · ∂out/∂x_j; None
    if one comes from a slot of a multiple-output entry (then the generic
    step is taken)."""
    prim, vals, params, parents, out = entries[i]
    terms = []
    out_nd = len(shape(out))
    for j, p in enumerate(in_use):
        if p is None or prim.derivs[j] is None:
            continue
        if type(p) is not int:
            return None
        factor = _cached_factor(entries, i, j, cache)
        arg_shape = shape(vals[j])
        terms.append(Term(p, (Factor(i, j, kind(factor)),),
                          batch and len(arg_shape) < out_nd, arg_shape))
    return terms


def _absorbed_terms(entries, kept, in_use, uses, batch, cache, scales, folded, pieces):
    """Elementwise entries of several terms, each term absorbing the
    scaling that feeds only it (t = (t_a * f) * g + ... becomes
    t_a * (f * g) + ...)."""
    terms_of = {}
    for i in kept:
        if (entries[i][0].derivs is None or i in scales or i in folded
                or (i in pieces and len(pieces[i]) > 1)):
            continue
        terms = _elementwise_terms(entries, i, in_use[i], batch, cache)
        if terms is None:
            continue
        for t, term in enumerate(terms):
            if not term.pad and term.src in scales and uses[term.src] == 1:
                src, first = scales.pop(term.src)
                folded.add(term.src)
                terms[t] = term._replace(src=src, chain=first + term.chain)
        terms_of[i] = tuple(terms)
    return terms_of


def plan(entries, seeded, wanted, batch, cache) -> list:
    """The structure of a compiled sweep: a list of typed steps (see the
    module docstring)."""
    kept, in_use, uses = _kept_entries(entries, seeded, wanted)
    scales, folded = _fold_scalings(entries, kept, in_use, uses, cache)
    pieces = {} if batch else _scatter_sums(entries, kept, in_use, uses, scales, folded)
    terms_of = _absorbed_terms(entries, kept, in_use, uses, batch, cache, scales, folded, pieces)
    steps = []
    for i in kept:
        if i in folded:
            continue
        if i in scales:
            steps.append(Scale(i, *scales[i]))
        elif i in pieces and len(pieces[i]) > 1:
            steps.append(Pieces(i, pieces[i]))
        elif i in terms_of:
            steps.append(Terms(i, terms_of[i]))
        elif (entries[i][0].linear_map is not None and len(in_use[i]) == 1
              and type(in_use[i][0]) is int):
            steps.append(Linear(i, in_use[i][0]))
        else:
            steps.append(Generic(i, in_use[i]))
    return steps


# ---- building -----------------------------------------------------------------------------
def _product(entries, chain, cache):
    """The product of a chain's factors at this tape's point, or None if a
    factor is not of the kind the plan expects."""
    factor = None
    for k, j, expected in chain:
        f = _cached_factor(entries, k, j, cache)
        if kind(f) != expected:
            return None
        factor = f if factor is None else factor * f
    return factor


def _build_step(entries, step, batch, cache):
    """One step's closure; None where a factor does not fit the plan."""
    i = step.out
    if type(step) is Scale:
        factor = _product(entries, step.chain, cache)
        return None if factor is None else _scale_step(i, step.src, factor)
    if type(step) is Terms:
        terms = []
        for term in step.terms:
            factor = _product(entries, term.chain, cache)
            if factor is None:
                return None
            terms.append((term.src, factor, term.pad, term.arg_shape))
        return _terms_step(i, terms, shape(entries[i][4]), batch)
    if type(step) is Pieces:
        parts = []
        for src, k in step.pieces:
            prim, vals, params, parents, out = entries[k]
            parts.append((src, prim.add_into(params), prim.linear_map(vals, params, batch)))
        return _scatter_sum_step(i, parts, shape_of(entries[i][4]))
    prim, vals, params, parents, out = entries[i]
    if type(step) is Linear:
        fn = prim.linear_map(vals, params, batch)
        if fn is not None:
            return _linear_step(i, step.src, fn)
        return _generic_step(i, prim, (step.src,), vals, params, out, batch)
    return _generic_step(i, prim, step.in_use, vals, params, out, batch)


def build(entries, steps, batch, cache):
    """The closures of a plan, with this tape's factors (``cache``: those
    already computed); None if a factor does not have the kind the plan
    expects (then the tape must be planned anew)."""
    program = []
    for step in steps:
        closure = _build_step(entries, step, batch, cache)
        if closure is None:
            return None
        program.append(closure)
    return program


# ---- the closures --------------------------------------------------------------------------
def _scale_step(i, p, factor):
    scale = scaler(factor)

    def step(tans):
        tans[i] = scale(tans[p])
    return step


def _scatter_sum_step(i, pieces, out_shape):
    def step(tans):
        ts = [tans[p] for p, _, _ in pieces]
        if all(type(t) is np.ndarray for t in ts):
            acc = np.zeros(out_shape, np.result_type(*ts))
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
        ts = [None if p is None else lookup(tans, p) for p in in_use]
        tans[i] = jvp(prim, ts, out, vals, params, batch)
    return step


def _sum_of_two_step(i, terms):
    """t_a ± t_b in one operation (a sum or difference of two tangents)."""
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


def _terms_step(i, terms, out_shape, batch):
    """One elementwise entry: t_out = Σ t_p · factor over ``terms`` of
    ``(p, factor, pad, arg_shape)`` (factors computed at build time)."""
    if not terms:
        return lambda tans: None
    shapes = [arg_shape if type(factor) is float else _broadcast(arg_shape, shape(factor))
              for p, factor, pad, arg_shape in terms]
    broadcast = any(sh != out_shape for sh in shapes) and np.broadcast_shapes(*shapes) != out_shape
    if len(terms) == 1 and not broadcast and not terms[0][2]:
        return _scale_step(i, terms[0][0], terms[0][1])
    if (len(terms) == 2 and not broadcast and not batch
            and all(type(f) is float and abs(f) == 1.0 for _, f, _, _ in terms)):
        return _sum_of_two_step(i, terms)
    n_out = len(out_shape)

    def step(tans):
        result = None
        for p, factor, pad, arg_shape in terms:
            t = tans[p]
            if pad:
                t = pad_batched(t, len(arg_shape), n_out)
            c = times(t, factor)
            result = c if result is None else result + c
        if broadcast:
            result = fill_output_shape(result, out_shape, batch)
        tans[i] = result
    return step


def run_generic(entries, seeds, wanted, batch: bool):
    """The same sweep, entry by entry through each primitive's JVP rule,
    with no compiled program (NaN-safe mode takes this path)."""
    tans: list = [None] * len(entries)
    for pos, t in seeds:
        tans[pos] = t
    for i, (prim, vals, params, parents, out) in enumerate(entries):
        if prim is None:
            continue
        ts = [None if p is None else lookup(tans, p) for p in parents]
        if all(t is None for t in ts):
            continue
        tans[i] = jvp(prim, ts, out, vals, params, batch)
    return [lookup(tans, p) for p in wanted]
