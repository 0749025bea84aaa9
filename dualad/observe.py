"""Observing what dualad does: the supported hook for tools that count work.

What this module lets you do
----------------------------
Subclass :class:`Observer`, override the callbacks you need (each is a
no-op by default), and install an instance for a block of code with
:func:`observing`.  While the block runs, the core, forward mode and reverse
mode tell it about each trace opened, each primitive evaluated on raw
arrays, each forward-mode operation, each tape entry and each backward pass
and forward sweep.  Nothing of dualad is patched or wrapped: the calls are
part of the dispatch.  ``dualad.costs`` counts work this way.

>>> import numpy as np, dualad as ad
>>> from dualad.observe import Observer, observing
>>> class Evaluations(Observer):
...     def __init__(self):
...         self.names = []
...     def evaluated(self, prim, args, params, out):
...         self.names.append(prim.name)
>>> seen = Evaluations()
>>> with observing(seen):
...     g = ad.grad(lambda x: np.sum(np.sin(x)))(np.ones(2))
>>> seen.names
['sin', 'sum']

The invariant
-------------
An observer sees only the work of the thread that installed it, and only
while its ``with`` block runs.  Installing sets ``dualad.core.STATE.observer``,
which is per thread, and each trace is bound to the observer of its thread
when it is opened (``trace.observer``, None when nobody observes), so two
threads observing at once never see each other's work and need no lock
between them.

* Events of a trace's own operations -- its evaluations, its forward-mode
  operations, its tape entries -- go to the observer the trace was bound
  to.  (A transformation opened inside a block normally ends inside it;
  one opened before the block is not observed.)
* Events of work that no open trace does -- a backward pass, a forward
  sweep (a pullback or a ``linearize`` product may run long after its tape
  was recorded) and a primitive called on raw values -- go to the observer
  installed in the running thread at that moment.
* A block nested in another replaces the outer observer until it ends.

Callbacks
---------
``prim`` is a :class:`dualad.Primitive`; ``params`` its static keyword
arguments; ``out`` the raw result (a tuple for a primitive with multiple
results) or, for an operation whose arguments are boxes of an outer
transformation, the boxed result.

``opened(trace)``
    A transformation opened ``trace`` (a ``dualad.forward.ForwardTrace`` or
    a ``dualad.reverse.Tape``), as soon as its level is assigned.
``evaluated(prim, args, params, out)``
    ``out = prim.impl(*args, **params)`` ran on raw arguments: at the
    bottom of each transformation's dispatch, or for a primitive called on
    raw values (by user code, or by a rule).
``jvp_started(trace, prim, primals, tangents, params)`` and ``jvp_finished(..., out)``
    Bracket one forward-mode operation at ``trace``: the evaluation of its
    primal and then its JVP rule.  ``primals`` are the arguments with
    ``trace``'s boxes removed (boxes of outer transformations remain),
    ``tangents`` their tangents (None for a zero tangent; with a leading
    axis of directions when ``trace.batch``).  Every event between the two
    comes from this operation.
``appended(tape, entry)``
    ``entry`` was appended to ``tape.entries``: ``(prim, args, params,
    parents, out)``, where ``parents[i]`` is the tape position of
    ``args[i]`` when it is traced at this tape (an int, or ``(position,
    slot)`` for one result of a multiple-result entry), else None; an
    input's entry is ``(None, (), None, (), value)``.  Recorded values may
    be boxes of outer transformations (see :func:`layers`) or
    ``dualad.core.Residual`` stand-ins for values no rule reads.
``backward_started(tape, seeds, wanted, record)`` and ``backward_finished(...)``
    Bracket one reverse pass over ``tape.entries`` from ``seeds``
    (``(position, cotangent)`` pairs) to the positions ``wanted``;
    ``record`` is True when the pass is itself recorded on the tape.
``sweep_started(tape, seeds, wanted, batch)`` and ``sweep_finished(...)``
    Bracket one forward sweep of tangents through the recorded entries
    (``linearize``, ``HessianOperator``); ``seeds`` are ``(position,
    tangent)`` pairs, ``batch`` says whether tangents carry directions.

A callback must not change what it is handed.  An exception raised by the
observed code skips the ``*_finished`` calls of the brackets it leaves.

Cost
----
With no observer installed, an operation pays one attribute read
(``trace.observer is not None``) per hook point it passes: forward mode's
fast paths have none but check that their trace is unobserved (an observed
trace takes the general path, which has the hook points), each tape entry
has one.  Opening a trace, a backward pass, a forward sweep and a primitive
called on raw values read the thread's ``STATE.observer`` once.  With an
observer installed, each event is one Python call.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from .core import OBSERVERS_OPEN, STATE, Box

__all__ = ["Observer", "observing", "current", "layers"]


class Observer:
    """Base class of observers: every callback does nothing (see the module
    docstring for what each receives)."""

    def opened(self, trace) -> None:
        pass

    def evaluated(self, prim, args, params, out) -> None:
        pass

    def jvp_started(self, trace, prim, primals, tangents, params) -> None:
        pass

    def jvp_finished(self, trace, prim, primals, tangents, params, out) -> None:
        pass

    def appended(self, tape, entry) -> None:
        pass

    def backward_started(self, tape, seeds, wanted, record) -> None:
        pass

    def backward_finished(self, tape, seeds, wanted, record) -> None:
        pass

    def sweep_started(self, tape, seeds, wanted, batch) -> None:
        pass

    def sweep_finished(self, tape, seeds, wanted, batch) -> None:
        pass


def current() -> Observer | None:
    """The observer installed in this thread, or None."""
    return STATE.observer


@contextlib.contextmanager
def observing(observer: Observer) -> Iterator[Observer]:
    """Install ``observer`` for this thread for the duration of the block.

    >>> with observing(Observer()) as o:
    ...     current() is o
    True
    >>> current() is None
    True
    """
    previous = STATE.observer
    with OBSERVERS_OPEN[1]:
        OBSERVERS_OPEN[0] += 1
    STATE.observer = observer
    try:
        yield observer
    finally:
        STATE.observer = previous
        with OBSERVERS_OPEN[1]:
            OBSERVERS_OPEN[0] -= 1


def layers(value) -> list:
    """The boxes wrapped around a value an observer is handed, outermost
    first (empty for a raw value); each has the attributes of its kind
    (``tangent`` for a ``dualad.forward.Dual``).

    >>> import numpy as np
    >>> from dualad.forward import Dual, ForwardTrace
    >>> d = Dual(np.ones(2), np.zeros(2), ForwardTrace())
    >>> [type(b).__name__ for b in layers(d)], layers(np.ones(2))
    (['Dual'], [])
    """
    boxes = []
    while isinstance(value, Box):
        boxes.append(value)
        value = value._value
    return boxes
