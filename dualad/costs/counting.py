"""Counting the work of a call: operations, element operations, tape entries, memory.

What this module lets you do
----------------------------
:func:`count` runs a call once and returns, beside its result, a
:class:`Work` record of what dualad did for it.  It counts through the
observer hook of the core (:mod:`dualad.observe`): :class:`WorkCounter` is
an observer, installed for the current thread only, so counts running in
several threads at once each get their own figures, and nothing of dualad is
patched.

How work is counted
-------------------
Wall time on a shared machine is noisy; work is not.

* an *evaluation* is one primitive computed on raw arrays (every
  transformation ends in them), including those a rule calls;
* a *rule application* is one JVP or VJP rule applied to raw arrays, in a
  forward pass, a backward pass or a ``linearize`` sweep (rules applied to
  boxed values break down into evaluations and rule applications of the
  levels below, which are the ones counted);
* ``ops`` is their sum: the number of dispatched operations, each paying
  Python's overhead (about 2 µs);
* ``work`` estimates element operations: an evaluation costs the larger of
  its input and output sizes (``out.size * k`` for a product that contracts
  ``k``, ``n**3`` for a factorisation of an ``n x n`` matrix); a rule
  application costs the same times the number of arguments it differentiates
  and times the number of directions it carries in vector mode (the
  arithmetic of primitives a rule calls is in that estimate);
* ``passes`` counts passes through the API: each trace or tape opened, each
  backward pass and each ``linearize`` sweep; one costs about as much as
  ``PASS_OPS`` = 10 operations (checking and flattening arguments, seeds);
* ``units = work + OVERHEAD * (ops + PASS_OPS * passes)`` puts it all on one
  scale, so that ``units`` divided by f's is a predicted time ratio.
  ``OVERHEAD`` = 10 000
  comes from a least-squares fit of measured times against ops and work
  over the built-in problems on this project's machines (2 µs per op,
  0.2 ns per element operation); plain NumPy in ``f`` itself pays about a
  fifth of that per call (``NUMPY_OVERHEAD``);
* the tape: every entry appended to any tape, and the peak over the call of
  the bytes held by the tapes alive (the sum of ``nbytes`` of the recorded
  values, tangents included when they are dual numbers; views count as
  copies); peak memory is ``tracemalloc``'s peak over the call.  Tracing is
  process-wide: while several threads count at once, each one's peak
  memory includes the others' allocations.

A backward pass or a sweep is counted entry by entry from the tape it walks
(the entries that its seeds reach), when it starts; forward-mode operations
one by one, as the hook reports them.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import math
import tracemalloc
import weakref
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from .. import core
from ..core import Box, Primitive, primal
from ..observe import Observer, layers, observing
from ..reverse import Tape

__all__ = ["Work", "WorkCounter", "count", "OVERHEAD", "NUMPY_OVERHEAD", "PASS_OPS"]

OVERHEAD = 10_000
"""Element operations that one operation dispatched by dualad is worth (see the module doc)."""

NUMPY_OVERHEAD = 2_000
"""Element operations that one plain NumPy call in ``f`` itself is worth."""

PASS_OPS = 10
"""Dispatched operations that one pass through the API is worth: opening a
trace or a tape, or running a backward pass or a ``linearize`` sweep (checking
and flattening arguments, building seeds)."""


@dataclass
class Work:
    """What one call did; see the module docstring for the definitions."""

    evals: int = 0
    rule_apps: int = 0
    eval_work: float = 0.0
    rule_work: float = 0.0
    tape_entries: int = 0
    tape_bytes: int = 0
    peak_memory: int = 0
    passes: int = 0
    overhead: float = OVERHEAD

    @property
    def ops(self) -> int:
        """Dispatched operations: evaluations plus rule applications."""
        return self.evals + self.rule_apps

    @property
    def work(self) -> float:
        """Estimated element operations."""
        return self.eval_work + self.rule_work

    @property
    def units(self) -> float:
        """``work + overhead * (ops + PASS_OPS * passes)``: arithmetic and
        interpreter overhead on one scale."""
        return self.work + self.overhead * (self.ops + PASS_OPS * self.passes)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(ops=self.ops, work=self.work, units=self.units)
        return d


_CUBIC = {"solve", "inv", "det", "logabsdet", "cholesky", "eigh"}


def _size(v) -> int:
    v = primal(v)
    if isinstance(v, (tuple, list)):
        return sum(_size(e) for e in v)
    if isinstance(v, (np.ndarray, np.generic, float, int)) and not isinstance(v, bool):
        return int(np.size(v))
    return 0


def _op_cost(prim: Primitive, args: Sequence, params: dict, out) -> float:
    """Estimated element operations of one evaluation of ``prim``."""
    out_size = _size(out)
    name = prim.name
    try:
        if name == "matmul" and len(args) >= 2:
            shape = np.shape(primal(args[0]))
            return float(max(out_size, 1) * (shape[-1] if shape else 1))
        if name == "einsum" and "ins" in params:
            dims: dict = {}
            for sub, a in zip(params["ins"], args):
                dims.update(zip(sub, np.shape(primal(a))))
            return float(max(math.prod(dims.values()), out_size, 1))
        if name in _CUBIC and args:
            shape = np.shape(primal(args[0]))
            k = shape[-1] if shape else 1
            return float(math.prod(shape[:-2]) * k ** 3 + out_size)
    except (TypeError, ValueError, IndexError):  # pragma: no cover - unusual params
        pass
    return float(max([out_size, 1] + [_size(a) for a in args]))


def _nbytes(v) -> int:
    if isinstance(v, np.ndarray):
        return v.nbytes
    if isinstance(v, Box) and v._bottom:  # a value dualad.replay records: its raw array
        return _nbytes(v._value)
    if isinstance(v, Box):  # the raw value and the tangent of each dual number around it
        return _nbytes(primal(v)) + sum(_nbytes(getattr(b, "tangent", None)) for b in layers(v))
    if isinstance(v, (tuple, list)):
        return sum(_nbytes(e) for e in v)
    if isinstance(v, np.generic):
        return v.nbytes
    if isinstance(v, (float, int)):
        return 8
    return 0


def _boxed(v) -> bool:
    if isinstance(v, (tuple, list)):
        return any(_boxed(e) for e in v)
    return isinstance(v, Box)


def _pos0(p):
    return p[0] if type(p) is tuple else p


def _pop(stack: list, key) -> tuple:
    """What was pushed for ``key`` (a trace), dropping anything pushed above
    it by a bracket that an exception left open."""
    item = stack.pop()
    while item[0] is not key:
        item = stack.pop()
    return item


class WorkCounter(Observer):
    """An observer that adds up the :class:`Work` of what it observes.

    ``primitives``, if given, restricts the evaluations counted to those of
    these primitives.  Install it with :func:`dualad.observe.observing`, or
    use :func:`count`.
    """

    def __init__(self, primitives: Iterable[Primitive] | None = None):
        self.work = Work()
        self._only = None if primitives is None else set(primitives)
        self._lock = threading.Lock()  # tape bytes may be released from another thread
        self._live = 0
        self._held = weakref.WeakKeyDictionary()  # tape -> [bytes it holds]
        self._operations: list = []  # (trace, eval_work) of forward operations under way
        self._passes: list = []  # (tape, eval_work, all_raw) of passes under way

    # -- traces and evaluations -------------------------------------------------------
    def opened(self, trace) -> None:
        if isinstance(trace, Tape):
            # Tapes can be kept alive by reference cycles until the cyclic collector
            # runs; a collection before each new tape releases the dead ones from the
            # count (count() freezes what existed before, to keep it cheap).
            gc.collect()
            cell = self._held[trace] = [0]
            weakref.finalize(trace, self._released, cell)
        self.work.passes += 1

    def evaluated(self, prim, args, params, out) -> None:
        if self._only is None or prim in self._only:
            self.work.evals += 1
            self.work.eval_work += _op_cost(prim, args, params, out)

    # -- forward mode: one rule application per operation with a tangent ---------------
    def jvp_started(self, trace, prim, primals, tangents, params) -> None:
        self._operations.append((trace, self.work.eval_work))

    def jvp_finished(self, trace, prim, primals, tangents, params, out) -> None:
        _, eval_work = _pop(self._operations, trace)
        given = [t for t in tangents if t is not None]
        if not given or any(isinstance(p, Box) for p in primals):
            return
        k = np.shape(primal(given[0]))[0] if trace.batch else 1
        cost = _op_cost(prim, primals, params, out)
        work = self.work
        # the arithmetic of primitives a raw rule calls is in the rule's estimate
        work.eval_work = eval_work + cost
        work.rule_apps += 1
        work.rule_work += cost * len(given) * k

    # -- reverse mode: the entries a backward pass pulls a cotangent through ------------
    def backward_started(self, tape, seeds, wanted, record) -> None:
        entries = tape.entries
        reach = bytearray(len(entries))
        all_raw = not record  # a recorded backward's arithmetic is counted as recorded
        for pos, g in seeds:
            reach[_pos0(pos)] = 1
            all_raw = all_raw and not _boxed(g)
        for i in range(len(entries) - 1, -1, -1):
            if not reach[i] or entries[i][0] is None:
                continue
            active = 0
            for p in entries[i][3]:
                if p is not None:
                    reach[_pos0(p)] = 1
                    active += 1
            all_raw = self._rule(entries[i], active, 1, all_raw)
        self._start_pass(tape, all_raw)

    def backward_finished(self, tape, seeds, wanted, record) -> None:
        self._finish_pass(tape)

    def sweep_started(self, tape, seeds, wanted, batch) -> None:
        entries = tape.entries
        reach = bytearray(len(entries))
        all_raw, k = True, 1
        for pos, t in seeds:
            reach[_pos0(pos)] = 1
            all_raw = all_raw and not _boxed(t)
            if batch:
                k = np.shape(primal(t))[0]
        for i, entry in enumerate(entries):
            if entry[0] is None:
                continue
            active = sum(1 for p in entry[3] if p is not None and reach[_pos0(p)])
            if active:
                reach[i] = 1
                all_raw = self._rule(entry, active, k, all_raw)
        self._start_pass(tape, all_raw)

    def sweep_finished(self, tape, seeds, wanted, batch) -> None:
        self._finish_pass(tape)

    def _rule(self, entry, active: int, k: int, all_raw: bool) -> bool:
        """Count the rule of a tape entry that a pass reaches with ``active``
        traced arguments and ``k`` directions; whether the pass is still on
        raw arrays only (a boxed entry hands its arithmetic to outer levels)."""
        prim, vals, params, parents, out = entry
        if _boxed(out) or any(isinstance(v, Box) for v in vals):
            return False
        if all_raw and active:
            self.work.rule_apps += 1
            self.work.rule_work += active * k * _op_cost(prim, vals, params, out)
        return all_raw

    def _start_pass(self, tape, all_raw: bool) -> None:
        self.work.passes += 1
        self._passes.append((tape, self.work.eval_work, all_raw))

    def _finish_pass(self, tape) -> None:
        _, eval_work, all_raw = _pop(self._passes, tape)
        if all_raw:  # the arithmetic of primitives raw rules call is in their estimates
            self.work.eval_work = eval_work

    # -- tapes: entries and the bytes held by the live ones ------------------------------
    def appended(self, tape, entry) -> None:
        b = _nbytes(entry[4])
        with self._lock:
            self._held[tape][0] += b
            self._live += b
            self.work.tape_entries += 1
            if self._live > self.work.tape_bytes:
                self.work.tape_bytes = self._live

    def _released(self, cell) -> None:
        with self._lock:
            self._live -= cell[0]
            cell[0] = 0


# Tracing memory and freezing the collector's generations act on the whole
# process; counts running at once (in several threads) share them.
@contextlib.contextmanager
def _measuring_memory(work: Work):
    """Set ``work.peak_memory`` to tracemalloc's peak over the block, less
    what was traced when it began (one session shared by the counts running
    at once: ``core.PROCESS_MEMORY``)."""
    shared = core.PROCESS_MEMORY
    with shared["lock"]:
        gc.freeze()  # what exists now: the collections before each tape stay cheap
        if shared["running"] == 0:
            shared["started"] = not tracemalloc.is_tracing()
            if shared["started"]:
                tracemalloc.start()
        shared["running"] += 1
        mem0 = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    try:
        yield
    finally:
        with shared["lock"]:
            work.peak_memory = max(0, tracemalloc.get_traced_memory()[1] - mem0)
            shared["running"] -= 1
            if shared["running"] == 0:
                if shared["started"]:
                    tracemalloc.stop()
                gc.unfreeze()


def count(fn: Callable, *args: Any,
          primitives: Iterable[Primitive] | None = None) -> tuple[Any, Work]:
    """Run ``fn(*args)`` once, counting its work: returns ``(result, Work)``.

    Only the work of this thread is counted, so calls in other threads
    (counted or not) do not disturb it; a transformation opened before the
    call and still running during it is not counted.  ``primitives``, if
    given, restricts the evaluations counted to those of these primitives.

    >>> import numpy as np, dualad as ad
    >>> _, w = count(ad.grad(lambda x: np.sum(x * x)), np.ones(3))
    >>> w.evals, w.rule_apps, w.tape_entries
    (2, 2, 3)
    """
    counter = WorkCounter(primitives)
    with _measuring_memory(counter.work), observing(counter):
        result = fn(*args)
    return result, counter.work
