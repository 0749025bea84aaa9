"""A recorded program: dead code removed, liveness found, compiled to one function.

What this module does
---------------------
:class:`Program` takes a :class:`~dualad.staging.trace.Recording`'s steps
(ops and guards, in execution order) and

1. drops every op whose value reaches neither an output nor a guard
   (the primal value a gradient does not need, a tangent nobody reads);
2. finds each value's last use (liveness), and from it which large
   elementwise results can be computed into the buffer of a value that has
   just died -- what NumPy's temporary elision does for ``f`` by reference
   counts, done here by analysis (see :func:`plan_buffers`);
3. writes the program as the source of one Python function -- one line per
   op, ``s7 = F3(s2, C1)``, constants and callables bound as globals of
   that function -- and compiles it once.  A replay is one call of that
   function: no boxes, no dispatch, no tape.

Guards are ``if`` lines at the point where Python saw the value; a failed
guard, a failed shape check, an exception from any op or an invalid
floating-point operation (which the eager derivative code may react to)
raises :class:`Mismatch`, and the caller records afresh.
"""

from __future__ import annotations

import keyword
import math
from typing import NamedTuple

import numpy as np

from . import blocks, pairs
from .trace import Const, Guard, Op, Slot, _has_ref, _same

__all__ = ["Program", "Mismatch", "plan_buffers"]


class Mismatch(Exception):
    """A replay met a value, shape or event that differs from its recording."""


# Results smaller than this are allocated fresh: below it, passing out= costs
# about what the allocation saves.
BUFFER_MIN_SIZE = 2048


class Output(NamedTuple):
    kind: str   # "slot", "copy" (a slot, copied), "const" (an array: copied at
    value: object  # every call) or "static"


def _refs(template, found: list) -> None:
    t = type(template)
    if t is Slot:
        found.append(template.index)
    elif t is tuple or t is list:
        for x in template:
            _refs(x, found)
    elif t is dict:
        for x in template.values():
            _refs(x, found)


def _step_refs(step) -> list:
    """The slots a step reads."""
    refs: list = []
    if type(step) is Guard:
        refs.append(step.slot)
    else:
        _refs(step.args, refs)
        _refs(step.kwargs, refs)
    return refs


def _fresh(op: Op, value) -> bool:
    """Whether ``op`` returns new memory of its own (an elementwise ufunc call
    with no ``out=``, a scatter's array of zeros): only such values may lend
    their buffer to a later one."""
    # (an "elementwise" primitive's implementation may return a view: np.real)
    return type(value) is np.ndarray and (
        op.kind == "ufunc" or (op.prim is not None and op.prim.name == "scatter_add"))


def plan_buffers(steps: list, values: list, keep: set, virtual=frozenset()) -> tuple:
    """Which ops compute into the buffer of a dead value: ``(taken, escaping,
    death)`` with ``taken = {op index: slot whose buffer it takes}``,
    ``escaping`` the slots handed out or viewed by one that is, and ``death``
    each slot's last use counting its views' uses (a step index).

    A value may give its buffer away when (a) an elementwise ufunc made it
    (so the buffer is its own, not a view of something else), (b) no value
    that may be a view of it is still alive (every non-elementwise op is
    assumed to return a view of its arguments, so their lifetimes are
    joined), (c) it is not an output or an input, nor ``virtual`` (a value
    that only ever exists block by block, see :mod:`dualad.staging.blocks`),
    and (d) its last use is
    at or before the op that takes the buffer -- at the op itself only when
    that op is elementwise with the same shape, so each output element
    overwrites exactly the input element it was computed from.
    """
    n = len(steps)
    last = {}
    for i, step in enumerate(steps):
        refs = _step_refs(step)
        for r in refs:
            last[r] = i
    # a view keeps its base alive: join lifetimes backwards through non-fresh ops
    owner_end = dict(last)
    for i in range(n - 1, -1, -1):
        step = steps[i]
        if type(step) is Guard or _fresh(step, values[step.out]):
            continue
        refs = _step_refs(step)
        end = owner_end.get(step.out, i)
        if step.out in keep:
            end = n
        for r in refs:
            if owner_end.get(r, -1) < end:
                owner_end[r] = end
    death = dict(owner_end)
    free: dict = {}  # (shape, dtype) -> slots whose buffers are free
    dying: dict = {}  # step index -> slots that die there
    for s, end in owner_end.items():
        dying.setdefault(end, []).append(s)
    taken = {}
    made_fresh = set()
    for i, step in enumerate(steps):
        if type(step) is Op:
            value = values[step.out]
            if (step.kind == "ufunc" and type(value) is np.ndarray and step.out not in virtual
                    and value.size >= BUFFER_MIN_SIZE and step.out not in keep):
                key = (value.shape, value.dtype)
                pool = free.get(key)
                if not pool:
                    # an argument dying here, of the same shape: elementwise, in place
                    refs: list = []
                    _refs(step.args, refs)
                    for r in refs:
                        if (r in made_fresh and owner_end.get(r) == i and r not in keep
                                and values[r].shape == value.shape
                                and values[r].dtype == value.dtype):
                            taken[i] = r
                            owner_end[r] = -1  # given away
                            break
                else:
                    taken[i] = pool.pop()
            if step.out in virtual:
                pass
            elif _fresh(step, value):
                made_fresh.add(step.out)
            elif step.kind == "inplace":
                # the op wrote into its first argument, which nothing else reads:
                # its value takes that buffer over
                acc = step.args[0].index
                if acc in made_fresh:
                    made_fresh.add(step.out)
                    made_fresh.discard(acc)  # freed once, as step.out
        for s in dying.get(i, ()):
            if s in made_fresh and s not in keep and owner_end.get(s) == i:
                v = values[s]
                free.setdefault((v.shape, v.dtype), []).append(s)
    escaping = {s for s, end in death.items() if end >= n} | set(keep)
    return taken, escaping, death


class Program:
    """One recorded program, compiled.  ``fn(inputs)`` returns the output
    leaves or raises :class:`Mismatch`.

    With ``fixed`` (positions in ``inputs``), the program is split in two:
    ``prepare(fixed inputs)`` runs every op that depends on those inputs
    alone and returns what the rest needs (the *hoisted* values), and
    ``rest(hoisted, other inputs)`` runs the remainder.  That is the shape of
    an HVP at one point ``x`` for many ``v``: the primal computation and the
    gradient are done once per ``x``."""

    def __init__(self, steps: list, values: list, consts: list, inputs: list,
                 outputs: list, fixed: tuple = (), workers: int = 1):
        recorded = outputs
        steps, outputs = simplify(steps, values, consts, outputs)
        # where simplification made an output another value (x * 1 -> x), fn
        # returned a new array there: the output is copied unless that value is
        # a new array itself (not an input, a view, or another output's value)
        made = {st.out: st for st in steps if type(st) is Op}
        seen = set()
        for k, (before, after) in enumerate(zip(recorded, outputs)):
            if after.kind == "slot":
                if after.value != before.value and (
                        after.value in seen or after.value not in made
                        or not _fresh(made[after.value], values[after.value])):
                    outputs[k] = Output("copy", after.value)
                seen.add(after.value)
        keep = {o.value for o in outputs if o.kind in ("slot", "copy")} | set(inputs)
        steps = _live_steps(steps, keep)
        steps = _live_steps(fuse(steps, values, consts, keep), keep)
        steps = [_scalars_as_arrays(step, values) if type(step) is Op else step
                 for step in steps]
        self.n_ops = sum(type(s) is Op for s in steps)
        self.n_guards = len(steps) - self.n_ops
        self.fixed = tuple(fixed)
        self.workers = workers
        self._executor = None
        if not fixed:
            self.outputs = outputs
            plan = _plan(steps, values, consts, keep)
            self.n_reused, self.n_blocked = len(plan[1]), sum(r[1] - r[0] for r in plan[0])
            self.source, fn = _compile(steps, values, consts, inputs, outputs, plan,
                                       "program", keep=keep, program=self)
            self.fn = _pooling(fn, _buffer_specs(plan, values))
            return
        fixed_slots = {inputs[i] for i in fixed}
        rest_inputs = [s for k, s in enumerate(inputs) if k not in set(fixed)]
        known = set(fixed_slots)
        first, second = [], []
        for step in steps:
            refs = _step_refs(step)
            if all(r in known for r in refs):
                first.append(step)
                if type(step) is Op:
                    known.add(step.out)
            else:
                if type(step) is Op and step.fn is add_at and step.args[0].index in known:
                    # the accumulator is computed once per fixed input and kept
                    # between calls: add into a copy of it, never into it
                    step = step._replace(fn=add_at_copy, kind="call")
                second.append(step)
        needed: list = []
        for step in second:
            if type(step) is Guard:
                needed.append(step.slot)
            else:
                _refs(step.args, needed)
                _refs(step.kwargs, needed)
        needed += [o.value for o in outputs if o.kind in ("slot", "copy")]
        hoisted = sorted({r for r in needed if r in known})
        # an output computed once per fixed input is the same array at every
        # call of rest: copied, so that no call's result aliases another's
        outputs = [Output("copy", o.value) if o.kind == "slot" and o.value in known else o
                   for o in outputs]
        self.outputs = outputs
        hold = set(hoisted) | keep
        plan1 = _plan(first, values, consts, hold)
        plan2 = _plan(second, values, consts, hold)
        self.n_reused = len(plan1[1]) + len(plan2[1])
        self.n_blocked = sum(r[1] - r[0] for r in plan1[0] + plan2[0])
        hoisted_out = [Output("slot", h) for h in hoisted]
        source1, prepare = _compile(first, values, consts, [inputs[i] for i in fixed],
                                    hoisted_out, plan1, "prepare", keep=hold, program=self)
        source2, rest = _compile(second, values, consts, rest_inputs, outputs, plan2,
                                 "rest", hoisted=hoisted, keep=hold, program=self)
        self.prepare = _pooling(prepare, _buffer_specs(plan1, values))
        self.rest = _pooling(rest, _buffer_specs(plan2, values), hoisted=True)
        self.source = source1 + "\n" + source2
        self.fn = None

    def __repr__(self):
        return f"<dualad.replay program: {self.n_ops} ops, {self.n_guards} guards>"


def _buffer_specs(plan, values: list) -> list:
    """What a pool entry holds: ``("array", shape, dtype)`` for each pooled
    buffer, then ``("stack", shape, dtype)`` for each stack of paired values
    (three items: the stack and its two rows)."""
    pooled, pairing = plan[2], plan[3]
    specs = [None] * len(pooled)
    for slot, k in pooled.items():
        specs[k] = ("array", values[slot].shape, values[slot].dtype)
    return specs + [("stack", shape, dtype) for shape, dtype in pairing.stacks]


def _pool_entry(specs: list) -> tuple:
    items = []
    for kind, shape, dtype in specs:
        if kind == "array":
            items.append(np.empty(shape, dtype))
        else:
            both = np.empty((2,) + tuple(shape), dtype)
            items += [both, both[0], both[1]]
    return tuple(items)


def _pooling(fn, specs: list, hoisted: bool = False):
    """``fn`` with its buffers taken from a pool kept between calls: a call
    takes one set (or allocates it), and gives it back when it returns.  Two
    threads never share a set; no set is ever handed out."""
    if not specs:
        if hoisted:
            return lambda H, I: fn(H, I, ())
        return lambda I: fn(I, ())
    pool: list = []

    def take():
        try:
            return pool.pop()
        except IndexError:
            return _pool_entry(specs)

    if hoisted:
        def run(H, I):
            P = take()
            try:
                return fn(H, I, P)
            finally:
                pool.append(P)
    else:
        def run(I):
            P = take()
            try:
                return fn(I, P)
            finally:
                pool.append(P)
    run.pool = pool
    return run


def _plan(steps: list, values: list, consts: list, keep: set):
    """The blocked regions of ``steps``, and the buffers its ops compute into."""
    found = []
    virtual = set()
    for a, b, shape in blocks.regions(steps, values, consts):
        later: set = set(keep)  # what is read after the region
        for st in steps[b:]:
            later.update(_step_refs(st))
        virtual.update(st.out for st in steps[a:b] if st.out not in later)
        found.append((a, b, shape, later))
    taken, escaping, death = plan_buffers(steps, values, keep, virtual)
    # In a region every op runs block by block, so a value read there through a
    # view that reorders or shifts entries (x[::-1], x.T) may still be read at a
    # later block after a later op of the region wrote block 0 of its buffer:
    # a region's op takes only a buffer whose value died before the region.
    for a, b, _, _ in found:
        for i in range(a, b):
            if i in taken and death.get(taken[i], a) >= a:
                del taken[i]
    # buffer chains (a value computed into a dead one's buffer, and so on):
    # a chain none of whose values is handed out (or viewed by one that is)
    # gets its array from the program's pool, kept between calls
    out_of = {i: st.out for i, st in enumerate(steps) if type(st) is Op}
    parent = {out_of[i]: r for i, r in taken.items()}
    def root(slot):
        while slot in parent:
            slot = parent[slot]
        return slot
    bad = {root(s) for s in escaping}
    region_outputs = set()
    for a, b, _, _ in found:
        region_outputs.update(st.out for st in steps[a:b] if st.out not in virtual)
    pooled = {}
    for i, st in enumerate(steps):
        if type(st) is not Op or i in taken or st.out in bad or st.out in virtual:
            continue
        v = values[st.out]
        if type(v) is not np.ndarray or v.size < BUFFER_MIN_SIZE:
            continue
        if st.out in region_outputs or (st.kind == "ufunc" and not st.kwargs):
            pooled[st.out] = len(pooled)
    assert pairs.PAIR_MAX_SIZE < BUFFER_MIN_SIZE  # a stacked value never lends its buffer
    return found, taken, pooled, pairs.find(steps, values, escaping)


def _compile(steps, values, consts, inputs, outputs, plan, name: str, hoisted=None,
             keep=frozenset(), program=None):
    """The source of one function running ``steps``, and the function."""
    workers = program.workers if program is not None else 1
    source, namespace = _source(steps, values, consts, inputs, outputs, plan, name, hoisted,
                                keep, workers)
    if "_parallel(" in source:
        if program._executor is None:
            from concurrent.futures import ThreadPoolExecutor
            # the program's own threads: they end when the program is freed
            program._executor = ThreadPoolExecutor(workers, thread_name_prefix="dualad-replay")
        namespace["_parallel"] = blocks.parallel(program._executor)
    # a new exception each time (raise M): one shared instance would collect the
    # traceback, and with it the frames of every abandoned replay
    namespace["M"] = Mismatch
    exec(compile(source, "<dualad.replay program>", "exec"), namespace)
    return source, namespace[name]


# ---- simplification -------------------------------------------------------------
def _substitute(template, subst: dict):
    t = type(template)
    if t is Slot:
        r = subst.get(template.index)
        return template if r is None else Slot(r)
    if t is tuple:
        return tuple(_substitute(x, subst) for x in template)
    if t is list:
        return [_substitute(x, subst) for x in template]
    if t is dict:
        return {k: _substitute(v, subst) for k, v in template.items()}
    return template


def _key(template):
    """A hashable stand-in for a template: equal keys, equal arguments."""
    t = type(template)
    if t is Slot:
        return ("s", template.index)  # named tuples: Slot(1) == Const(1) as tuples
    if t is Const:
        return ("c", template.index)
    if t is float:
        return (float, repr(template))  # 0.0 and -0.0 differ
    if t is int or t is bool or t is str or template is None or template is Ellipsis:
        return (t, template)
    if t is slice:
        return (slice, _key(template.start), _key(template.stop), _key(template.step))
    if t is tuple:
        return (tuple,) + tuple(_key(x) for x in template)
    if t is list:
        return (list,) + tuple(_key(x) for x in template)
    if t is dict:
        return (dict,) + tuple((k, _key(v)) for k, v in sorted(template.items()))
    return ("id", id(template))


def _is_one(t, consts) -> bool:
    if type(t) in (int, float):
        return t == 1
    if type(t) is Const:
        c = consts[t.index]
        return isinstance(c, (np.ndarray, np.generic)) and c.dtype.kind in "fiu" \
            and bool(np.all(c == 1))
    return False


def _is_zero(t, consts) -> bool:
    """A +0 (``x - (-0.0)`` would turn ``-0.0`` into ``0.0``)."""
    if type(t) in (int, float):
        return t == 0 and math.copysign(1.0, t) > 0
    if type(t) is Const:
        c = consts[t.index]
        return isinstance(c, (np.ndarray, np.generic)) and c.dtype.kind in "fiu" \
            and bool(np.all(c == 0)) and not bool(np.any(np.signbit(c)))
    return False


def _identity_of(step: Op, values, consts, producers):
    """The slot this op's value equals exactly, or None: ``x * 1``, ``1 * x``,
    ``x / 1``, ``x - (+0)`` and ``-(-x)`` (only where the result has ``x``'s
    shape and dtype).  ``x + 0`` and ``x - (-0)`` are not folded: they turn
    -0.0 into 0.0."""
    fn, args = step.fn, step.args
    if step.kwargs or step.kind not in ("ufunc", "elementwise"):
        return None
    x = None
    if fn is np.multiply and len(args) == 2:
        if type(args[0]) is Slot and _is_one(args[1], consts):
            x = args[0]
        elif type(args[1]) is Slot and _is_one(args[0], consts):
            x = args[1]
    elif (fn is np.true_divide or fn is np.subtract) and len(args) == 2 and type(args[0]) is Slot:
        if (_is_one if fn is np.true_divide else _is_zero)(args[1], consts):
            x = args[0]
    elif fn is np.negative and len(args) == 1 and type(args[0]) is Slot:
        inner = producers.get(args[0].index)
        if inner is not None and inner.fn is np.negative and not inner.kwargs \
                and type(inner.args[0]) is Slot:
            x = inner.args[0]
    if x is None:
        return None
    a, out = values[x.index], values[step.out]
    if (type(a) is type(out) and np.shape(a) == np.shape(out)
            and getattr(a, "dtype", None) == getattr(out, "dtype", None)):
        return x.index
    return None


# The arithmetic ufuncs whose loops for one float or complex dtype are the
# only ones NumPy picks when every array argument has that dtype.
_SAME_LOOP = {np.add, np.subtract, np.multiply, np.true_divide, np.power, np.maximum,
              np.minimum, np.fmax, np.fmin, np.hypot, np.arctan2}


def _scalars_as_arrays(step: Op, values) -> Op:
    """Python number arguments of an arithmetic ufunc as 0-d arrays of the
    result's dtype, where every array argument already has that dtype: the
    same loop and the same converted number (NumPy casts a Python number to
    the array's dtype), and a cheaper call."""
    if step.kind != "ufunc" or step.fn not in _SAME_LOOP:
        return step
    out = values[step.out]
    dtype = getattr(out, "dtype", None)
    if dtype is None or dtype.kind not in "fc":
        return step
    has_number = False
    for a in step.args:
        if type(a) is Slot:
            if getattr(values[a.index], "dtype", None) != dtype:
                return step
        elif type(a) in (int, float):
            has_number = True
        else:
            return step
    if not has_number:
        return step
    args = tuple(np.array(a, dtype=dtype) if type(a) in (int, float) else a
                 for a in step.args)
    return step._replace(args=args)


def simplify(steps: list, values: list, consts: list, outputs: list):
    """Common subexpressions merged, exact identities folded, Python numbers
    of ufunc calls made 0-d arrays.  Every op is pure, so two ops of one
    callable on equal arguments give equal values."""
    subst: dict = {}
    seen: dict = {}
    producers: dict = {}
    out_steps = []
    for step in steps:
        if type(step) is Guard:
            r = subst.get(step.slot)
            out_steps.append(step if r is None else step._replace(slot=r))
            continue
        step = step._replace(args=_substitute(step.args, subst),
                             kwargs=_substitute(step.kwargs, subst))
        same = _identity_of(step, values, consts, producers)
        if same is not None:
            subst[step.out] = same
            continue
        key = (id(step.fn), _key(step.args), _key(step.kwargs))
        earlier = seen.get(key)
        if earlier is not None:
            subst[step.out] = earlier
            continue
        seen[key] = step.out
        producers[step.out] = step
        out_steps.append(step)
    outputs = [o._replace(value=subst.get(o.value, o.value)) if o.kind == "slot" else o
               for o in outputs]
    return out_steps, outputs


# ---- fusion ---------------------------------------------------------------------
def add_at(acc, g, index):
    """``acc`` with ``g`` added at a basic index, in place: ``acc`` is an array
    of the program's own that nothing else reads (see :func:`fuse`)."""
    acc[index.key] += g
    return acc


def add_at_copy(acc, g, index):
    """:func:`add_at` into a copy of ``acc`` (a value the program keeps)."""
    return add_at(acc.copy(), g, index)


def _uses(steps: list, keep: set) -> dict:
    count: dict = {}
    for step in steps:
        refs = _step_refs(step)
        for r in refs:
            count[r] = count.get(r, 0) + 1
    for k in keep:
        count[k] = count.get(k, 0) + 1
    return count


def _scalar(t):
    """The number a template stands for, if it is a Python number."""
    return t if type(t) in (int, float) and type(t) is not bool else None


def _scaling(step, values):
    """``(x slot, factor)`` if ``step`` is ``x * c``, ``c * x`` or ``-x``."""
    if type(step) is not Op or step.kwargs or step.kind not in ("ufunc", "elementwise"):
        return None
    if step.fn is np.negative and len(step.args) == 1 and type(step.args[0]) is Slot:
        return step.args[0].index, -1
    if step.fn is np.multiply and len(step.args) == 2:
        a, b = step.args
        if type(a) is Slot and _scalar(b) is not None:
            return a.index, b
        if type(b) is Slot and _scalar(a) is not None:
            return b.index, a
    return None


def _same_kind(values, *slots) -> bool:
    first = values[slots[0]]
    return all(type(values[s]) is np.ndarray and values[s].shape == first.shape
               and values[s].dtype == first.dtype for s in slots) and first.dtype.kind == "f"


def fuse(steps: list, values: list, consts: list, keep: set) -> list:
    """Two rewrites that save whole passes over memory, each exact:

    * a chain of scalings ``(x * a) * b`` (or negations) whose middle value
      nothing else reads becomes ``x * (a*b)`` when ``a`` or ``b`` is ±1 (a
      negation, exact whatever x is; a power of two would not be, where the
      middle value overflows or becomes subnormal);
    * a sum of *scatters* (the adjoint of indexing: zeros with a slice of
      values placed in them -- the cotangent of ``x`` from ``x[1:]`` and
      ``x[:-1]``) adds each later piece into the first one's array in place
      (:func:`add_at`), instead of filling a new array of zeros for each piece
      and adding them up.  Sign of zero aside (``-0.0`` entries stay
      ``-0.0`` where ``-0.0 + 0.0`` made ``0.0``), the values are the same.
    """
    uses = _uses(steps, keep)
    producer = {}
    out = []
    for step in steps:
        if type(step) is Op:
            sc = _scaling(step, values)
            if sc is not None:
                inner = producer.get(sc[0])
                isc = _scaling(inner, values) if inner is not None else None
                if (isc is not None and uses.get(sc[0]) == 1
                        and _same_kind(values, isc[0], sc[0], step.out)
                        and (abs(sc[1]) == 1 or abs(isc[1]) == 1)):
                    c = float(isc[1]) * float(sc[1])
                    step = Op(np.multiply, (Slot(isc[0]), c), {}, step.out, None, "ufunc")
            if step.fn is np.add and not step.kwargs and len(step.args) == 2 and all(
                    type(a) is Slot for a in step.args):
                a, b = step.args[0].index, step.args[1].index
                for acc, piece in ((a, b), (b, a)):
                    pa, pp = producer.get(acc), producer.get(piece)
                    if (pa is not None and pp is not None and _owned_scatter(pa, consts)
                            and _basic_scatter(pp, consts) and uses.get(acc) == 1
                            and acc not in keep and _same_kind(values, acc, piece, step.out)):
                        step = Op(add_at, (Slot(acc), pp.args[0], pp.kwargs["index"]), {},
                                  step.out, None, "inplace")
                        uses[piece] -= 1
                        refs: list = []
                        _refs(pp.args, refs)
                        for r in refs:
                            uses[r] = uses.get(r, 0) + 1
                        break
            producer[step.out] = step
        out.append(step)
    return out


def _basic_scatter(step, consts) -> bool:
    """Whether ``step`` is dualad's scatter (zeros with values placed at an index)
    at a basic index (slices and integers: no entry is written twice)."""
    return (type(step) is Op and step.prim is not None and step.prim.name == "scatter_add"
            and set(step.kwargs) == {"index", "shape"} and len(step.args) == 1
            and type(step.kwargs["index"]) is Const
            and getattr(consts[step.kwargs["index"].index], "basic", False) is True)


def _owned_scatter(step, consts) -> bool:
    return _basic_scatter(step, consts) or (type(step) is Op and step.fn is add_at)


def _live_steps(steps: list, keep: set) -> list:
    """Steps that reach an output or a guard (guards, and ops whose shape is
    checked, always stay: Python saw them)."""
    needed = set(keep)
    live = []
    for step in reversed(steps):
        if type(step) is Guard:
            needed.add(step.slot)
            live.append(step)
            continue
        if step.out in needed or step.shape is not None:
            refs = _step_refs(step)
            needed.update(refs)
            live.append(step)
    live.reverse()
    return live


class _Names:
    """Globals of the generated function: callables and constants by name."""

    def __init__(self, consts):
        self.namespace = {"_same": _same}
        self.consts = consts
        self.by_id = {}

    def bind(self, obj, prefix: str) -> str:
        key = id(obj)
        name = self.by_id.get(key)
        if name is None:
            name = f"{prefix}{len(self.by_id)}"
            self.by_id[key] = name
            self.namespace[name] = obj
        return name

    def expr(self, t) -> str:
        k = type(t)
        if k is Slot:
            return f"s{t.index}"
        if k is Const:
            return self.bind(self.consts[t.index], "C")
        if k is int or k is bool or t is None:
            return repr(t)
        if k is float and math.isfinite(t):
            return repr(t)
        if k is str:
            return repr(t)
        if t is Ellipsis:
            return "..."
        if k is tuple:
            if not _has_ref(t):
                return self.bind(t, "K")  # a constant tuple (an index key): one name
            return "(" + "".join(self.expr(x) + ", " for x in t) + ")"
        if k is list:
            return "[" + ", ".join(self.expr(x) for x in t) + "]"
        if k is dict:
            return "{" + ", ".join(f"{k2!r}: {self.expr(v)}" for k2, v in t.items()) + "}"
        return self.bind(t, "K")


def _source(steps, values, consts, inputs, outputs, plan, name: str, hoisted, keep,
            workers=1):
    found, taken, pooled, pairing = plan
    stack_base = {sid: len(pooled) + 3 * sid for sid in range(len(pairing.stacks))}
    starts = {region[0]: region for region in found}
    names = _Names(consts)
    names.namespace["_empty"] = np.empty
    if hoisted is None:
        lines = [f"def {name}(I, P):"]
    else:
        lines = [f"def {name}(H, I, P):"]
        if hoisted:
            lines.append("    " + "".join(f"s{h}, " for h in hoisted) + "= H")
    if len(inputs) == 1:
        lines.append(f"    s{inputs[0]}, = I")
    elif inputs:
        lines.append("    " + ", ".join(f"s{i}" for i in inputs) + " = I")
    skip_to = 0
    for i, step in enumerate(steps):
        if i < skip_to:
            continue
        if i in starts:
            a, b, shape, later = starts[i]
            region_taken = {k: r for k, r in taken.items() if a <= k < b}
            body = blocks.emit(steps, values, a, b, shape, later, region_taken, names,
                               pooled=pooled, workers=workers)
            lines += body
            skip_to = b
            continue
        if type(step) is Guard:
            s = f"s{step.slot}"
            if step.convert is bool:
                lines.append(f"    if {'not ' if step.value else ''}{s}: raise M")
            elif step.convert is None:
                lines.append(f"    if not _same({s}, {names.bind(step.value, 'G')}): raise M")
            else:
                conv = names.bind(step.convert, "V")
                lines.append(f"    if not _same({conv}({s}), {names.bind(step.value, 'G')}): "
                             "raise M")
            continue
        if i in pairing.second:
            continue  # computed with its partner, as the second row of its stack
        fn = names.bind(step.fn, "F")
        if i in pairing.first:
            j, sid = pairing.first[i]
            base = stack_base[sid]
            parts = [f"P[{stack_base[x]}]" if kind == "stack" else names.expr(x)
                     for kind, x in pairing.args[i]]
            lines.append(f"    {fn}({', '.join(parts)}, out=P[{base}])")
            lines.append(f"    s{step.out} = P[{base + 1}]; s{steps[j].out} = P[{base + 2}]")
            continue
        parts = [names.expr(a) for a in step.args]
        for k, v in step.kwargs.items():
            if k.isidentifier() and not keyword.iskeyword(k):
                parts.append(f"{k}={names.expr(v)}")
            else:
                parts.append(f"**{{{k!r}: {names.expr(v)}}}")
        if i in taken:
            parts.append(f"out=s{taken[i]}")
        elif i in pairing.rows:
            sid, row = pairing.rows[i]
            parts.append(f"out=P[{stack_base[sid] + 1 + row}]")
        elif step.out in pooled:
            parts.append(f"out=P[{pooled[step.out]}]")
        lines.append(f"    s{step.out} = {fn}({', '.join(parts)})")
        if step.shape is not None:
            lines.append(f"    if s{step.out}.shape != {step.shape!r}: raise M")
    outs = []
    for o in outputs:
        if o.kind == "slot":
            outs.append(f"s{o.value}")
        elif o.kind == "copy":
            outs.append(f"s{o.value}.copy()")
        elif o.kind == "const":
            outs.append(f"{names.bind(o.value, 'C')}.copy()")
        else:
            outs.append(names.bind(o.value, "S"))
    lines.append("    return (" + "".join(x + ", " for x in outs) + ")")
    return "\n".join(lines) + "\n", names.namespace
