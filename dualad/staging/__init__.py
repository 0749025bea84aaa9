"""Record once, replay fast: ``dualad.replay(fn)`` (this package is ``dualad.staging``).

What this module lets you do
----------------------------
Wrap any function of arrays -- ``grad(f)``, ``value_and_grad(f)``,
``lambda x, v: hvp(f, x, v)``, ``jacfwd(f)`` or plain ``f`` -- so that the
first call *records* every array operation that runs (the derivative
computation included, at the lowest level) as a flat program, and later
calls with inputs of the same structure, shapes and dtypes *replay* that
program: one compiled Python function of NumPy calls, with no boxes, no
dispatch and no tape.

>>> import numpy as np, dualad as ad
>>> f = lambda x: np.sum(np.sin(x) ** 2)
>>> g = ad.replay(ad.grad(f))
>>> x = np.array([0.1, 0.2, 0.3])
>>> bool(np.allclose(g(x), ad.grad(f)(x))), bool(np.allclose(g(x + 1), ad.grad(f)(x + 1)))
(True, True)
>>> g.recordings, g.replays
(1, 2)

The assumption: ``fn`` is pure
------------------------------
As for ``jax.jit``: the result may depend only on the arguments.  Values
``fn`` reads from elsewhere (globals, closures, attributes) are captured as
they were at the recording -- arrays are copied -- and a change to them
later is not seen until something forces a new recording.  Side effects
(printing, appending to a list, counting calls) happen once, at the
recording.  Calling ``fn`` without replay is always correct for impure
code; the plain transformations (``grad`` ...) stay eager for that reason.

Never wrong: guards
-------------------
Everything Python could see of a value and act on is checked again at every
replay (``dualad.staging.trace`` explains what that is): a comparison
used in an ``if``, ``float(x)``, a Python object a NumPy function returned,
the shape of a boolean mask's selection.  dualad's own decisions count too
-- a NaN check, a redo of a derivative pass after an invalid floating-point
operation: a replay in which NumPy reports an invalid operation is
abandoned.  When anything differs, the call records afresh and keeps the
new program beside the old ones (up to :data:`MAX_PROGRAMS` per input
signature), so code that branches on values settles on one program per
branch.  A signature for which :data:`MAX_MISSES` calls in a row match
none of the kept programs (guards on continuous values, such as
``float(x)`` used in Python arithmetic) stops recording and runs ``fn``
directly from then on.  ``recordings``, ``replays``, ``mismatches``,
``eager_calls`` and ``preparations`` count what happened.

Inputs
------
Array leaves (and NumPy scalars) are the program's inputs.  Python scalars,
strings and other hashable leaves are static, like ``static_argnums``: a
new value records a new program.  Arguments that are values of an enclosing
transformation (``grad(replay(f))``) cannot be replayed -- the program has
no derivative -- so such calls run ``fn`` directly (``eager_calls``).

Outputs never alias each other's calls: results of the program are fresh
arrays (or views of the caller's inputs, exactly as ``fn`` returns them),
constant results are copied at every call, and buffers reused inside a call
are never returned.  The compiled function holds no state, so threads can
replay one program at once.

Design notes
------------
* *Why a trace, not an ndarray subclass.*  A subclass of ndarray would be
  turned back into a plain array by every ``np.asarray`` in library code,
  silently making its value a constant.  A box refuses the conversion, and
  dualad's rules are already written to keep computing on boxes.
* *Why generated source.*  A loop over op records costs an indexing and a
  call per op; one function with local variables costs only the NumPy call,
  which is what ``f`` itself pays.
* *Buffers.*  Large elementwise results are computed with ``out=`` into the
  buffer of a value whose life has ended (:func:`~dualad.staging.program.plan_buffers`);
  a value's life includes every view of it, and inputs, outputs and
  constants never lend theirs.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Sequence

import numpy as np

from ..core import INVALID_EVENTS, Box
from ..nan_safe import watching
from ..pytree import tree_flatten, tree_unflatten
from .program import Mismatch, Output, Program
from .trace import Recording, Staged, StagingError, same_array

__all__ = ["replay", "Replayed", "Program", "StagingError", "MAX_PROGRAMS", "MAX_MISSES"]

MAX_PROGRAMS = 8  # programs kept per input signature (one per branch taken)
MAX_MISSES = 4  # calls in a row with no matching program before a signature runs eagerly


def _tree_key(td):
    if td.kind == "leaf" or td.kind == "none":
        return td.kind
    return (td.kind, td.keys, tuple(_tree_key(c) for c in td.children))


def _invalid(kind, flag):
    raise Mismatch()


class Replayed:
    """``fn`` recorded once per input signature and replayed; see the module
    docstring.  Counters: ``recordings``, ``replays``, ``mismatches`` (replays
    abandoned by a guard), ``eager_calls`` (calls that could not replay),
    ``preparations`` (runs of the part that depends on ``fixed_argnums``
    alone)."""

    def __init__(self, fn: Callable, static_argnums: int | Sequence[int] = (),
                 fixed_argnums: int | Sequence[int] = (), workers: int = 1) -> None:
        if not callable(fn):
            raise TypeError(f"dualad.replay needs a function, not {type(fn).__name__}")
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        if isinstance(fixed_argnums, int):
            fixed_argnums = (fixed_argnums,)
        both = set(static_argnums) & set(fixed_argnums)
        if both:
            raise ValueError(f"argument {min(both)} cannot be both static and fixed")
        if not (isinstance(workers, int) and workers >= 1):
            raise ValueError(f"workers must be a positive int, not {workers!r}")
        self.fn = fn
        self.workers = workers
        self.static_argnums = tuple(sorted(static_argnums))
        self.fixed_argnums = tuple(sorted(fixed_argnums))
        self._programs: dict = {}
        self._prepared = None  # (program, copies of the fixed inputs, hoisted values)
        self._misses: dict = {}  # key -> calls in a row that no kept program could replay
        self._eager: set = set()  # keys that run fn directly from now on
        self._lock = threading.Lock()
        self.recordings = 0
        self.replays = 0
        self.mismatches = 0
        self.eager_calls = 0
        self.preparations = 0
        self.__wrapped__ = fn
        self.__doc__ = getattr(fn, "__doc__", None)

    def __repr__(self):
        return f"<dualad.replay of {getattr(self.fn, '__name__', self.fn)!r}>"

    def programs(self) -> list:
        """Every program kept, newest first within each input signature."""
        with self._lock:
            return [p for ps in self._programs.values() for p in ps]

    # ---- the call ------------------------------------------------------------
    def _split(self, args):
        """(key, leaves, treedef, statics, fixed positions among the inputs),
        or None when the call cannot replay."""
        statics = []
        dynamic = []
        owner = []  # argument index of each dynamic argument
        for i, a in enumerate(args):
            if i in self.static_argnums:
                try:
                    hash(a)
                except TypeError:
                    raise TypeError(f"static argument {i} of dualad.replay must be hashable; "
                                    f"got {type(a).__name__}") from None
                statics.append((i, a))
            else:
                dynamic.append(a)
                owner.append(i)
        if all(type(a) is np.ndarray for a in dynamic):
            leaves, td = dynamic, None
            spec = tuple((a.shape, a.dtype) for a in dynamic)
            tkey = len(dynamic)
            fixed = tuple(k for k, i in enumerate(owner) if i in self.fixed_argnums) \
                if self.fixed_argnums else ()
            return (tkey, spec, tuple(statics)), leaves, td, statics, fixed
        leaves, td = tree_flatten(tuple(dynamic))
        spec = []
        fixed = []
        counts = [tree_flatten(a)[1].num_leaves for a in dynamic] if self.fixed_argnums else ()
        leaf_owner = [i for i, c in zip(owner, counts) for _ in range(c)]
        n_inputs = 0
        for k, leaf in enumerate(leaves):
            t = type(leaf)
            if t is np.ndarray or isinstance(leaf, np.generic):
                spec.append((np.shape(leaf), leaf.dtype))
                if self.fixed_argnums and leaf_owner[k] in self.fixed_argnums:
                    fixed.append(n_inputs)
                n_inputs += 1
            elif isinstance(leaf, (Box, np.ndarray)):
                return None  # a value being differentiated, or an ndarray subclass
            else:
                try:
                    hash(leaf)
                except TypeError:
                    raise TypeError(
                        f"dualad.replay cannot take a {t.__name__} as an argument leaf: "
                        "pass arrays, numbers, or make the argument static "
                        "(static_argnums)") from None
                spec.append(("static", t, leaf))
        return (_tree_key(td), tuple(spec), tuple(statics)), leaves, td, statics, tuple(fixed)

    def __call__(self, *args: Any) -> Any:
        tried = None
        if not self.static_argnums and not self.fixed_argnums:
            # the common call, checked cheaply: arrays only, the first kept program
            spec = []
            for a in args:
                if type(a) is not np.ndarray:
                    break
                spec.append((a.shape, a.dtype))
            else:
                key = (len(args), tuple(spec), ())
                programs = self._programs.get(key)
                if programs:
                    tried = programs[0]
                    done, result = self._attempt(tried, args, key)
                    if done:
                        return result
        split = self._split(args)
        if split is None:
            self.eager_calls += 1
            return self.fn(*args)
        key, leaves, td, statics, fixed = split
        if key in self._eager:
            self.eager_calls += 1
            return self.fn(*args)
        inputs = tuple(leaf for leaf in leaves
                       if type(leaf) is np.ndarray or isinstance(leaf, np.generic))
        programs = self._programs.get(key)
        if programs:
            for program in programs:
                if program is tried:  # the fast path's attempt, failed already
                    continue
                done, result = self._attempt(program, inputs, key)
                if done:
                    if program is not programs[0]:
                        with self._lock:  # the program that matched goes first
                            if program in programs:
                                programs.remove(program)
                                programs.insert(0, program)
                    return result
            # every kept program met a different value: a function whose guards
            # see continuous values (float(x) in Python arithmetic) would record
            # at every call, so after a few such calls in a row it runs eagerly
            misses = self._misses[key] = self._misses.get(key, 0) + 1
            if misses >= MAX_MISSES:
                self._eager.add(key)
        return self._record(key, leaves, td, statics, fixed, args)

    def _attempt(self, program, inputs, key) -> tuple:
        """``(True, result)`` if ``program`` replays on ``inputs``, else
        ``(False, None)`` (a guard, a shape check or an exception differed)."""
        try:
            # NumPy's report of an invalid operation ends the replay (whatever
            # the caller's setting: the eager call that follows then reports it
            # as the caller asked)
            with np.errstate(invalid="call", call=_invalid):
                out = self._run(program, inputs)
        except Exception:
            self.mismatches += 1
            return False, None
        self.replays += 1
        if self._misses:
            self._misses.pop(key, None)  # the streak of calls without a match ends
        return True, out[0] if program.single else tree_unflatten(program.out_tree, out)

    def _run(self, program, inputs):
        if program.fn is not None:
            return program.fn(inputs)
        fixed = program.fixed
        first = tuple(inputs[k] for k in fixed)
        prepared = self._prepared  # read once: another thread may replace it
        if not (prepared is not None and prepared[0] is program
                and all(_equal(a, b) for a, b in zip(first, prepared[1]))):
            hoisted = program.prepare(first)
            self.preparations += 1
            prepared = (program, tuple(np.array(a, copy=True) for a in first), hoisted)
            self._prepared = prepared
        rest = tuple(a for k, a in enumerate(inputs) if k not in fixed)
        return program.rest(prepared[2], rest)

    def _record(self, key, leaves, td, statics, fixed, args):
        rec = Recording()
        staged = []
        slots = []
        for leaf in leaves:
            if type(leaf) is np.ndarray or isinstance(leaf, np.generic):
                box = rec.stage(leaf)
                staged.append(box)
                slots.append(box._slot)
            else:
                staged.append(leaf)
        dyn = iter(staged if td is None else tree_unflatten(td, staged))
        static = dict(statics)
        call_args = [static[i] if i in static else next(dyn) for i in range(len(args))]
        events = INVALID_EVENTS[0]
        try:
            with watching():
                result = self.fn(*call_args)
        finally:
            rec.active = False
        self.recordings += 1
        out_leaves, out_td = tree_flatten(result)
        outputs, plain = [], []
        for leaf in out_leaves:
            if type(leaf) is Staged and leaf._trace is rec:
                outputs.append(Output("slot", leaf._slot))
                plain.append(leaf._value)
            elif isinstance(leaf, Box):
                raise StagingError(
                    "the replayed function returned a value of a transformation that "
                    "encloses it or has already returned; return plain results")
            elif isinstance(leaf, np.ndarray):
                outputs.append(Output("const", leaf.copy()))
                plain.append(leaf)
            else:
                outputs.append(Output("static", leaf))
                plain.append(leaf)
        if INVALID_EVENTS[0] == events and not rec.raised:
            program = Program(rec.steps, rec.values, rec.consts, slots, outputs, fixed,
                              self.workers)
            program.out_tree = out_td
            program.single = out_td.kind == "leaf"
            with self._lock:
                programs = self._programs.setdefault(key, [])
                programs.insert(0, program)
                del programs[MAX_PROGRAMS:]
        else:
            # NumPy reported an invalid operation while recording (dualad's
            # derivative code may have acted on it), or an operation raised (fn
            # may have caught it and taken another way): such a program is not
            # kept, and a signature that keeps doing it runs eagerly, as above
            misses = self._misses[key] = self._misses.get(key, 0) + 1
            if misses >= MAX_MISSES:
                self._eager.add(key)
        return tree_unflatten(out_td, plain)


def _equal(a, b) -> bool:
    """The same input as before, bit for bit (so -0.0 is not 0.0: arctan2 tells
    them apart; and a NaN matches itself)."""
    return same_array(np.asarray(a), b)


def replay(fn: Callable, static_argnums: int | Sequence[int] = (),
           fixed_argnums: int | Sequence[int] = (), workers: int = 1) -> Replayed:
    """``fn``, recorded once per input signature and replayed without dispatch.

    ``fn`` may be any function of arrays and pytrees of arrays: a
    transformation (``ad.grad(f)``, ``lambda x, v: ad.hvp(f, x, v)``) or
    plain NumPy code.  ``static_argnums`` names positional arguments that
    are part of the signature instead of inputs (hashable; a new value
    records a new program).  ``fixed_argnums`` names arguments that usually
    come back unchanged while the others vary -- the point ``x`` of
    ``hvp(f, x, v)`` for many ``v`` -- and the operations that depend on them
    alone run once per new value of them (compared with the previous call's by
    value) instead of at every call.  ``workers > 1`` runs the blocks of
    large elementwise runs on that many threads (:mod:`dualad.staging.blocks`).
    See :mod:`dualad.staging` for what is assumed
    (``fn`` is pure) and what is guaranteed (never a result different from
    ``fn``'s own).

    >>> import numpy as np, dualad as ad
    >>> h = ad.replay(lambda x, v: ad.hvp(lambda y: np.sum(y ** 4), x, v))
    >>> h(np.array([1.0, 2.0]), np.array([1.0, 0.0])).tolist()
    [12.0, 0.0]
    """
    return Replayed(fn, static_argnums, fixed_argnums, workers)
