"""What each mode costs on your own function: time it, count its work, pick one.

What this package lets you do
-----------------------------
:func:`compare` evaluates ``f`` at ``x`` and each way dualad can
differentiate it -- a JVP, a VJP (the gradient), the Hessian-vector product
in its four nestings and through :class:`dualad.optimize.HessianOperator`,
``jacfwd``, ``jacrev`` and the dense Hessian, and the sparse Jacobian (a
vector ``f``) or Hessian (a scalar ``f``) of :mod:`dualad.sparse`: detecting
the pattern, colouring it, one compressed evaluation; the JVP, gradient, HVP
and sparse evaluation also through :func:`dualad.replay` -- and returns a
:class:`CostReport`: wall time (median, min and max of repeats) and its ratio
to ``f``; the work each mode did (operations executed, tape entries, bytes
held by the tape, peak memory); and the recommendation that follows, from
what ``f`` is (a scalar loss: ``grad`` and which HVP nesting; a vector
function: jacfwd or jacrev, and a chunk size only when measured faster than
the default), the sparse mode or not and from how many calls on, whether to
wrap in ``dualad.replay``, and which timings are implausible (a derivative
faster than ``f``: noise).  ``x`` may be a pytree of float arrays.  From
the command line: ``python -m dualad costs module:function --x-shape 1000``
or ``python -m dualad costs myfunc.py`` (a file defining ``f`` and ``x``).  :func:`sweep` does the
same over a range of sizes and finds where jacfwd and jacrev cross;
:func:`count` counts the work of any one call::

    >>> import numpy as np
    >>> from dualad import costs
    >>> report = costs.compare(lambda x: np.sum(np.tanh(x) ** 2), np.ones(500), repeat=2)
    >>> report.recommendation["gradient"], report["vjp"].work.ops >= report["f"].work.ops
    ('grad', True)

Work is counted through the core's observer hook (:mod:`dualad.observe`),
for the calling thread only; nothing of dualad is patched, and counts in
several threads at once do not disturb each other.

The package, one concern per module
-----------------------------------
* :mod:`~dualad.costs.counting` -- :func:`count`, :class:`Work` and the
  definitions of what is counted;
* :mod:`~dualad.costs.timing` -- timing a call within a budget;
* :mod:`~dualad.costs.report` -- :class:`CostReport`, :class:`SweepReport`:
  tables, JSON; :mod:`~dualad.costs.plots` -- their plots (matplotlib);
* :mod:`~dualad.costs.comparison` -- :func:`compare` and :func:`sweep`;
  :mod:`~dualad.costs.recommend` -- predictions and recommendations from
  counted work;
* :mod:`~dualad.costs.problems` -- the built-in problems (also importable as
  ``dualad.problems``); :mod:`~dualad.costs.cli` -- ``python -m dualad``.
"""

from .comparison import compare, sweep
from .counting import NUMPY_OVERHEAD, OVERHEAD, PASS_OPS, Work, count
from .plots import PlotUnavailableError
from .report import MODES, REPLAYED, CostReport, ModeResult, SweepReport
from .timing import Timing

__all__ = ["compare", "sweep", "count", "CostReport", "SweepReport", "ModeResult", "Work",
           "Timing", "MODES", "REPLAYED", "OVERHEAD", "NUMPY_OVERHEAD", "PASS_OPS",
           "PlotUnavailableError"]
