"""What each mode costs on your own function: time it, count its work, pick one.

What this module lets you do
----------------------------
:func:`compare` evaluates ``f`` at ``x`` and each way dualad can
differentiate it -- a JVP, a VJP (the gradient), the Hessian-vector product
in its four nestings and through :class:`dualad.optimize.HessianOperator`,
``jacfwd``, ``jacrev`` and the dense Hessian -- and returns a
:class:`CostReport`: wall time (median, min and max of repeats) and its ratio
to ``f``; the work each mode did (operations executed, tape entries, bytes
held by the tape, peak memory); and the recommendation that follows (jacfwd
or jacrev, which HVP nesting, which chunk size).  :func:`sweep` does the
same over a range of sizes and finds where jacfwd and jacrev cross::

    >>> import numpy as np
    >>> from dualad import costs
    >>> report = costs.compare(lambda x: np.sum(np.tanh(x) ** 2), np.ones(500), repeat=2)
    >>> report.recommendation["jacobian"], report["vjp"].work.ops >= report["f"].work.ops
    ('jacrev', True)

How work is counted
-------------------
Wall time on a shared machine is noisy; work is not.  While one call of a
mode runs under :class:`_Counting`, dualad's dispatch is instrumented (the
one place outside the core that looks inside it, for the duration of that
call only -- not thread-safe):

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
  copies); peak memory is ``tracemalloc``'s peak over the call.

The counts are deterministic, so the choice between jacfwd and jacrev made
from them is too: jacfwd costs ``ceil(n / chunk)`` forward passes (each a
primal evaluation and its JVP rules, in vector mode with ``chunk``
directions), jacrev one recording and ``m`` pullbacks; both are predicted
from one counted JVP and one counted VJP, so modes too big to run (a dense
Hessian at n = 10^5, say) still get figures, marked *predicted*.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import time
import tracemalloc
import weakref
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np

from .api import HVP_MODES, grad, hessian, hvp, jacfwd, jacrev, jvp, linearize, vjp
from .core import NO_PARAMS, Box, Primitive, primal
from .forward import Dual, ForwardTrace
from .reverse import Tape

__all__ = ["compare", "sweep", "count", "CostReport", "SweepReport", "ModeResult", "Work",
           "Timing", "MODES", "OVERHEAD", "NUMPY_OVERHEAD", "PASS_OPS",
           "PlotUnavailableError"]

OVERHEAD = 10_000
"""Element operations that one operation dispatched by dualad is worth (see the module doc)."""

NUMPY_OVERHEAD = 2_000
"""Element operations that one plain NumPy call in ``f`` itself is worth."""

PASS_OPS = 10
"""Dispatched operations that one pass through the API is worth: opening a
trace or a tape, or running a backward pass or a ``linearize`` sweep (checking
and flattening arguments, building seeds)."""

MODES = ("f", "jvp", "vjp", "hvp:fwd-over-rev", "hvp:rev-over-fwd", "hvp:rev-over-rev",
         "hvp:fwd-over-fwd", "operator-build", "hvp:operator", "jacfwd", "jacrev", "hessian")
"""Every mode :func:`compare` knows, in report order."""


class PlotUnavailableError(ImportError):
    """Plotting was asked for but matplotlib is not installed."""


# ---- work counting --------------------------------------------------------------------
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


def _json(data: dict, path, indent: int) -> str:
    """``data`` as JSON text, written to ``path`` too if given."""
    text = json.dumps(data, indent=indent)
    if path is not None:
        with open(path, "w") as fh:
            fh.write(text + "\n")
    return text


def _nbytes(v) -> int:
    if isinstance(v, np.ndarray):
        return v.nbytes
    if isinstance(v, Box):
        return _nbytes(v._value) + _nbytes(getattr(v, "tangent", None))
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


class _Entries(list):
    """A tape's entry list that reports each append (and can be weakly referenced,
    so the bytes of a tape are released from the count when the tape dies)."""

    def append(self, entry):
        list.append(self, entry)
        self._counting._appended(self._cell, entry)


class _Counting:
    """Context manager counting the work of the calls made inside it.

    It wraps each primitive's ``impl`` (evaluations), ``ForwardTrace.process``
    (JVP rules; ``ForwardTrace.binary`` is sent through it), ``Tape.backward`` and ``Tape.forward_sweep`` (VJP and
    linearized JVP rules, found by walking the tape the way they do) and
    ``Tape.__init__`` (tape entries and bytes), and restores them on exit.
    """

    def __init__(self, primitives: list | None = None):
        self.work = Work()
        self._primitives = _primitives() if primitives is None else primitives
        self._live = 0
        self._saved: list = []

    # -- patching ------------------------------------------------------------------------
    def __enter__(self):
        # Tapes can be kept alive by reference cycles until the cyclic collector
        # runs; a collection before each new tape releases the dead ones from the
        # count.  Freezing what exists now keeps those collections cheap.
        gc.freeze()
        for prim in self._primitives:
            self._wrap_impl(prim)
        self._patch(ForwardTrace, "process", self._forward_process)
        # the operators' direct path, routed through the counted process
        self._patch(ForwardTrace, "binary", lambda original: (
            lambda trace, prim, a, b, params=NO_PARAMS: trace.process(prim, (a, b), params)))
        self._patch(ForwardTrace, "__init__", self._trace_init)
        self._patch(Tape, "backward", self._backward)
        self._patch(Tape, "forward_sweep", self._forward_sweep)
        self._patch(Tape, "__init__", self._tape_init)
        self._started_tracing = not tracemalloc.is_tracing()
        if self._started_tracing:
            tracemalloc.start()
        self._mem0 = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        return self

    def __exit__(self, *exc):
        peak = tracemalloc.get_traced_memory()[1]
        self.work.peak_memory = max(0, peak - self._mem0)
        if self._started_tracing:
            tracemalloc.stop()
        for owner, name, value in reversed(self._saved):
            setattr(owner, name, value)
        self._saved.clear()
        gc.unfreeze()
        return False

    def _patch(self, owner, name, make):
        original = getattr(owner, name)
        self._saved.append((owner, name, original))
        setattr(owner, name, make(original))

    def _wrap_impl(self, prim):
        original = prim.impl
        work = self.work

        def impl(*args, **params):
            out = original(*args, **params)
            work.evals += 1
            work.eval_work += _op_cost(prim, args, params, out)
            return out

        self._saved.append((prim, "impl", original))
        prim.impl = impl

    def _trace_init(self, original):
        work = self.work

        def init(trace, *args, **kwargs):
            original(trace, *args, **kwargs)
            work.passes += 1

        return init

    # -- forward mode: one rule application per operation with a tangent -----------------
    def _forward_process(self, original):
        work = self.work

        def process(trace, prim, args, params):
            evals, eval_work = work.evals, work.eval_work
            out = original(trace, prim, args, params)
            directions, raw, vals = 0, True, []
            k = 1
            for a in args:
                if type(a) is Dual and a._trace is trace:
                    directions += 1
                    if trace.batch and directions == 1:
                        k = np.shape(primal(a.tangent))[0]
                    a = a._value
                raw = raw and not isinstance(a, Box)
                vals.append(a)
            if directions and raw:
                out_val = primal(out) if not isinstance(out, tuple) else tuple(map(primal, out))
                cost = _op_cost(prim, vals, params, out_val)
                # the arithmetic of primitives a raw rule calls is in the rule's estimate
                work.eval_work = eval_work + cost
                work.rule_apps += 1
                work.rule_work += cost * directions * k
            return out

        return process

    # -- reverse mode: the entries a backward pass pulls a cotangent through -------------
    def _backward(self, original):
        work = self.work

        def backward(tape, seeds, wanted, record=False):
            work.passes += 1
            entries = tape.entries
            reach = bytearray(len(entries))
            all_raw = not record  # a recorded backward's arithmetic is counted as recorded
            for pos, g in seeds:
                reach[_pos0(pos)] = 1
                all_raw = all_raw and not _boxed(g)
            for i in range(len(entries) - 1, -1, -1):
                if not reach[i]:
                    continue
                prim, vals, params, parents, out = entries[i]
                if prim is None:
                    continue
                active = 0
                for p in parents:
                    if p is not None:
                        reach[_pos0(p)] = 1
                        active += 1
                if _boxed(out) or any(isinstance(v, Box) for v in vals):
                    all_raw = False
                elif all_raw and active:
                    work.rule_apps += 1
                    work.rule_work += active * _op_cost(prim, vals, params, out)
            eval_work = work.eval_work
            result = original(tape, seeds, wanted, record)
            if all_raw:  # the arithmetic of primitives raw rules call is in their estimates
                work.eval_work = eval_work
            return result

        return backward

    def _forward_sweep(self, original):
        work = self.work

        def forward_sweep(tape, seeds, wanted, batch, key=None):
            work.passes += 1
            entries = tape.entries
            reach = bytearray(len(entries))
            all_raw, k = True, 1
            for pos, t in seeds:
                reach[_pos0(pos)] = 1
                all_raw = all_raw and not _boxed(t)
                if batch:
                    k = np.shape(primal(t))[0]
            for i, (prim, vals, params, parents, out) in enumerate(entries):
                if prim is None:
                    continue
                active = sum(1 for p in parents if p is not None and reach[_pos0(p)])
                if not active:
                    continue
                reach[i] = 1
                if _boxed(out) or any(isinstance(v, Box) for v in vals):
                    all_raw = False
                elif all_raw:
                    work.rule_apps += 1
                    work.rule_work += active * k * _op_cost(prim, vals, params, out)
            eval_work = work.eval_work
            result = original(tape, seeds, wanted, batch, key)
            if all_raw:
                work.eval_work = eval_work
            return result

        return forward_sweep

    # -- tapes: entries and the bytes held by the live ones --------------------------------
    def _tape_init(self, original):
        counting = self

        def init(tape, *args, **kwargs):
            gc.collect()
            original(tape, *args, **kwargs)
            counting.work.passes += 1
            entries = _Entries(tape.entries)
            entries._counting = counting
            entries._cell = [0]
            weakref.finalize(entries, counting._released, entries._cell)
            tape.entries = entries

        return init

    def _appended(self, cell, entry):
        b = _nbytes(entry[4])
        cell[0] += b
        self._live += b
        self.work.tape_entries += 1
        if self._live > self.work.tape_bytes:
            self.work.tape_bytes = self._live

    def _released(self, cell):
        self._live -= cell[0]
        cell[0] = 0


def _primitives() -> list:
    """Every Primitive alive (the rule table's and any the user declared)."""
    return [o for o in gc.get_objects() if type(o) is Primitive]


def count(fn: Callable, *args, primitives: list | None = None):
    """Run ``fn(*args)`` once, counting its work: returns ``(result, Work)``.

    >>> import numpy as np, dualad as ad
    >>> _, w = count(ad.grad(lambda x: np.sum(x * x)), np.ones(3))
    >>> w.evals, w.rule_apps, w.tape_entries
    (2, 2, 3)
    """
    with _Counting(primitives) as counting:
        result = fn(*args)
    return result, counting.work


# ---- timing -------------------------------------------------------------------------------
@dataclass
class Timing:
    """Seconds per call: median, min and max over ``samples`` samples, each the
    mean of ``loops`` back-to-back calls (loops > 1 only for calls under ~10 ms)."""

    median: float
    min: float
    max: float
    samples: int
    loops: int


def _time(fn: Callable, repeat: int, max_seconds: float):
    """Time ``fn``; returns ``(Timing, fn's result)``."""
    gc.collect()
    t0 = time.perf_counter()
    result = fn()
    first = time.perf_counter() - t0
    if first >= max_seconds / 2 or repeat <= 0:
        return Timing(first, first, first, 1, 1), result
    loops = 1 if first >= 0.01 else max(1, min(10000, int(0.01 / max(first, 1e-7))))
    samples = max(1, min(repeat, int(max_seconds / (first * loops))))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - t0) / loops)
    return Timing(statistics.median(times), min(times), max(times), samples, loops), result


# ---- the report -----------------------------------------------------------------------------
@dataclass
class ModeResult:
    """One mode's figures.  ``timing`` is None when the mode was skipped; then
    ``work`` (if any) is predicted from counted components (``predicted``)."""

    key: str
    label: str
    timing: Timing | None = None
    work: Work | None = None
    ratio: float | None = None
    work_ratio: float | None = None
    predicted: bool = False
    skipped: str | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.timing is None else self.timing.median

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label,
                "seconds": None if self.timing is None else asdict(self.timing),
                "ratio_to_f": self.ratio, "work_ratio_to_f": self.work_ratio,
                "work": None if self.work is None else self.work.to_dict(),
                "work_predicted": self.predicted, "skipped": self.skipped}


def _fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return "-"
    if r >= 1000:
        return f"{r:.3g}".replace("e+0", "e").replace("e+", "e")
    return f"{r:.3g}" if r >= 10 else f"{r:.2f}"


def _fmt_count(c: float | None) -> str:
    if c is None:
        return "-"
    c = float(c)
    if c >= 1e6:
        return f"{c:.3g}".replace("e+0", "e").replace("e+", "e")
    return f"{int(round(c))}"


def _fmt_bytes(b: float | None) -> str:
    if b is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{int(b)} B"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    if markdown:
        left = {0, len(header) - 1} if header[-1] == "note" else {0}
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join(":---" if i in left else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    last = len(widths) - 1 if header[-1] == "note" else None

    def fmt(r):
        return "  ".join(str(c).ljust(w) if i in (0, last) else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    return "\n".join([fmt(header), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows])


def _machine() -> dict:
    return {"python": platform.python_version(), "numpy": np.__version__,
            "platform": platform.platform(terse=True), "cpus": os.cpu_count()}


@dataclass
class CostReport:
    """What each mode cost on one function at one point; see :func:`compare`.

    ``report[key]`` is a :class:`ModeResult` (keys from :data:`MODES`);
    ``recommendation`` holds ``jacobian`` ('jacfwd' or 'jacrev'), ``chunk_size``,
    ``hvp`` (a nesting) and a sentence of reasons for each.
    """

    name: str
    n: int
    m: int
    scalar: bool
    chunk_size: int
    results: dict
    recommendation: dict
    checks: dict
    repeat: int
    machine: dict = field(default_factory=_machine)

    def __getitem__(self, key: str) -> ModeResult:
        return self.results[key]

    def __contains__(self, key: str) -> bool:
        return key in self.results

    def ratio(self, key: str) -> float | None:
        """Median time of ``key`` over median time of ``f``."""
        return self.results[key].ratio

    def to_dict(self) -> dict:
        return {"name": self.name, "n": self.n, "m": self.m, "scalar": self.scalar,
                "chunk_size": self.chunk_size, "repeat": self.repeat,
                "overhead_element_ops_per_op": OVERHEAD,
                "modes": {k: r.to_dict() for k, r in self.results.items()},
                "recommendation": self.recommendation, "checks": self.checks,
                "machine": self.machine}

    def to_json(self, path: str | os.PathLike | None = None, indent: int = 2) -> str:
        """The report as JSON (written to ``path`` too if given)."""
        return _json(self.to_dict(), path, indent)

    def rows(self) -> list[list[str]]:
        rows = []
        for r in self.results.values():
            w = r.work
            t = r.timing
            note = ""
            if r.skipped:
                note = f"not run ({r.skipped}); work predicted"
            elif r.key == "f":
                note = "ops: as evaluated in its recording"
            rows.append([r.label, _fmt_time(r.seconds),
                         _fmt_time(None if t is None else t.min),
                         _fmt_time(None if t is None else t.max),
                         _fmt_ratio(r.ratio), _fmt_count(None if w is None else w.ops),
                         _fmt_ratio(r.work_ratio),
                         _fmt_count(None if w is None else w.tape_entries),
                         _fmt_bytes(None if w is None else w.tape_bytes),
                         _fmt_bytes(None if w is None or r.predicted else w.peak_memory),
                         note])
        return rows

    HEADER = ("mode", "median", "min", "max", "× f", "ops", "work × f", "tape entries",
              "tape bytes", "peak mem", "note")

    def _render(self, markdown: bool) -> str:
        title = f"{self.name}: n = {self.n}, m = {self.m}"
        parts = [f"### {title}" if markdown else title, "",
                 _table(self.HEADER, self.rows(), markdown), ""]
        rec = self.recommendation
        bullet = "- " if markdown else "  "
        parts.append("Recommendation:" if not markdown else "**Recommendation**")
        for key in ("jacobian", "chunk_size", "hvp", "operator"):
            if f"{key}_reason" in rec:
                parts.append(f"{bullet}{rec[key + '_reason']}")
        if self.checks:
            agree = ", ".join(f"{k} {v:.1e}" for k, v in self.checks.items())
            parts.append(f"{bullet}results agree (max relative difference): {agree}")
        return "\n".join(parts)

    def to_markdown(self) -> str:
        """A Markdown table with the recommendation below it."""
        return self._render(True)

    def to_text(self) -> str:
        """A plain-text table with the recommendation below it."""
        return self._render(False)

    __str__ = to_text

    def plot(self, path: str | os.PathLike) -> str:
        """Bar chart of each mode's cost relative to f (time and work), log scale.

        Needs matplotlib (``pip install 'dualad[plot]'``)."""
        Figure, FigureCanvasAgg = _matplotlib()
        keys = [k for k, r in self.results.items() if k != "f" and (r.ratio or r.work_ratio)]
        labels = [self.results[k].label for k in keys]
        y = np.arange(len(keys))
        fig = Figure(figsize=(8, 0.42 * len(keys) + 1.6))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        times = [self.results[k].ratio or np.nan for k in keys]
        works = [self.results[k].work_ratio or np.nan for k in keys]
        ax.barh(y - 0.2, times, height=0.4, label="wall time ÷ f (measured)")
        ax.barh(y + 0.2, works, height=0.4, label="work units ÷ f (counted or *predicted)")
        ax.set_yticks(y, [lab + (" *" if self.results[k].predicted else "")
                          for lab, k in zip(labels, keys)])
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_xlabel("cost relative to f")
        ax.set_title(f"{self.name}: n = {self.n}, m = {self.m}")
        ax.legend(loc="lower right", fontsize="small")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        return str(path)


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotUnavailableError(
            "plotting needs matplotlib, an optional extra of dualad: install it with "
            "pip install 'dualad[plot]' (or pip install matplotlib)") from exc
    return Figure, FigureCanvasAgg


# ---- compare ------------------------------------------------------------------------------
def _labels(scalar: bool, m: int, n: int, chunk: int, hess_chunk: int) -> dict:
    passes = -(-n // chunk)
    labels = {"f": "f (plain NumPy)", "jvp": "JVP (forward)",
              "vjp": "gradient (reverse)" if scalar else "VJP (reverse)",
              "operator-build": "HessianOperator build, once per x",
              "hvp:operator": "HVP by HessianOperator, per product",
              "jacfwd": f"jacfwd ({passes} pass{'es' * (passes > 1)} of {chunk})",
              "jacrev": f"jacrev ({m} pullback{'s' * (m > 1)})",
              "hessian": f"dense Hessian ({-(-n // hess_chunk)} × {hess_chunk} directions)"}
    for mode in HVP_MODES:
        labels[f"hvp:{mode}"] = f"HVP {mode}"
    return labels


def _best_chunk(n: int, per_pass: Work, per_direction_work: float, peak_per_direction: float,
                memory_limit: float) -> int:
    """Smallest chunk whose per-pass cost (overhead and primal work) is at most
    10% of the arithmetic of its directions, within the memory limit."""
    per_pass_cost = OVERHEAD * (per_pass.ops + PASS_OPS * per_pass.passes) + per_pass.eval_work
    k = math.ceil(10 * per_pass_cost / max(per_direction_work, 1.0))
    k = min(max(k, 1), n)
    if peak_per_direction > 0:
        k = max(1, min(k, int(memory_limit // peak_per_direction)))
    passes = -(-n // k)
    return -(-n // passes)  # same number of passes, directions spread evenly


def _jacfwd_work(n: int, chunk: int, one_jvp: Work) -> Work:
    """jacfwd's work from one counted single-direction JVP."""
    passes = -(-n // chunk)
    return Work(evals=passes * one_jvp.evals, rule_apps=passes * one_jvp.rule_apps,
                eval_work=passes * one_jvp.eval_work, rule_work=n * one_jvp.rule_work,
                passes=passes * one_jvp.passes,
                tape_entries=passes * one_jvp.tape_entries,
                tape_bytes=one_jvp.tape_bytes * min(chunk, n),
                peak_memory=int(one_jvp.peak_memory * min(chunk, n)))


def _jacrev_work(m: int, record: Work, pullback: Work) -> Work:
    """jacrev's work: one recording and ``m`` pullbacks."""
    return Work(evals=record.evals + m * pullback.evals,
                rule_apps=record.rule_apps + m * pullback.rule_apps,
                eval_work=record.eval_work + m * pullback.eval_work,
                rule_work=record.rule_work + m * pullback.rule_work,
                passes=record.passes + m * pullback.passes,
                tape_entries=record.tape_entries, tape_bytes=record.tape_bytes,
                peak_memory=record.peak_memory + pullback.peak_memory)


def _rel_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
    return float(np.max(np.abs(a - b)) / scale) if a.size else 0.0


def _hessian_operator(f, x):
    """``H @ v`` with the work at x done once: dualad.optimize.HessianOperator if
    it exists, else linearize(grad(f), x) directly."""
    try:
        from .optimize import HessianOperator
    except ImportError:
        _, f_jvp = linearize(grad(f), x)
        return f_jvp
    op = HessianOperator(f, x)
    shape = np.shape(x)
    return lambda v: np.reshape(op.matvec(np.ravel(v)), shape)


def compare(f: Callable, x, *, v=None, u=None, repeat: int = 5, chunk_size: int | None = None,
            modes: Iterable[str] | None = None, max_seconds: float = 5.0,
            memory_limit: float = 2 ** 30, name: str | None = None, seed: int = 0,
            progress: Callable[[str], None] | None = None) -> CostReport:
    """Time and count every way of differentiating ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        ``f(x)`` in plain NumPy, returning a scalar (then the HVP modes and the
        dense Hessian are measured too) or an array of any shape (size ``m``).
    x : array
        The point, a float array of any shape (size ``n``).
    v, u : array, optional
        The JVP/HVP direction (like ``x``) and the VJP cotangent (like
        ``f(x)``); random with ``seed`` by default.
    repeat : int
        Timed samples per mode (cut to fit ``max_seconds``).
    chunk_size : int, optional
        Directions per pass for jacfwd and the dense Hessian; by default the
        one recommended from the work counts.
    modes : iterable of str, optional
        Subset of :data:`MODES` to measure (``f``, ``jvp`` and ``vjp`` always
        are: the others' predictions are built on them).
    max_seconds : float
        A mode predicted to take longer than this per call is skipped (its
        work is still predicted); repeats are cut to fit it.
    memory_limit : float
        Bytes; modes predicted to need more are skipped, and the
        recommended chunk keeps a pass under it.
    progress : callable, optional
        Called with a short message before each mode.

    >>> import numpy as np
    >>> r = compare(lambda x: np.tanh(np.ones((3, 4)) @ x), np.zeros(4), repeat=1)
    >>> r.m, r.n, abs(r["jvp"].ratio - r["jvp"].seconds / r["f"].seconds) < 1e-12
    (3, 4, True)
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"x has dtype {x.dtype}; pass a float array, e.g. x.astype(float)")
    if isinstance(repeat, bool) or not isinstance(repeat, (int, np.integer)) or repeat < 1:
        raise ValueError(f"repeat must be a positive integer, got {repeat!r}")
    wanted = set(MODES if modes is None else modes)
    unknown = wanted - set(MODES)
    if unknown:
        raise ValueError(f"unknown mode(s) {sorted(unknown)}; choose from {', '.join(MODES)}")
    say = progress or (lambda msg: None)
    prims = _primitives()
    rng = np.random.default_rng(seed)
    n = int(x.size)
    v = rng.standard_normal(x.shape) if v is None else np.asarray(v, dtype=float)
    y0 = f(x)
    scalar = np.ndim(y0) == 0
    m = 1 if scalar else int(np.size(y0))
    u = (rng.standard_normal(np.shape(y0)) if u is None else np.asarray(u, dtype=float))
    results: dict[str, ModeResult] = {}
    values: dict = {}
    name = name or getattr(f, "__name__", "f")

    def measure(key, fn, label=""):
        say(f"{name}: {key}")
        _, work = count(fn, primitives=prims)
        timing, value = _time(fn, repeat, max_seconds)
        results[key] = ModeResult(key, label, timing, work)
        values[key] = value
        return work

    # f, one JVP, one VJP: everything else is predicted from these counts.  Plain
    # f never enters dualad, so its operations are the ones its recording evaluates.
    (_, pullback), w_record = count(lambda: vjp(f, x), primitives=prims)
    _, w_pullback = count(pullback, np.ones(()) if scalar else u, primitives=prims)
    del pullback
    w_f = measure("f", lambda: f(x))
    w_f.evals, w_f.eval_work = w_record.evals, w_record.eval_work
    w_f.overhead = NUMPY_OVERHEAD
    w_jvp = measure("jvp", lambda: jvp(f, (x,), (v,)))
    if scalar:
        w_vjp = measure("vjp", lambda: grad(f)(x))
    else:
        w_vjp = measure("vjp", lambda: vjp(f, x)[1](u))
    # seconds per work unit, to predict the time of modes too big to run
    per_unit = max(results[k].timing.min / max(results[k].work.units, 1.0)
                   for k in ("jvp", "vjp"))

    def too_big(work: Work, extra_bytes: float = 0.0) -> str | None:
        seconds = work.units * per_unit
        if seconds > max_seconds:
            return f"predicted {seconds:.3g} s > max_seconds"
        if work.peak_memory + extra_bytes > memory_limit:
            return f"predicted {_fmt_bytes(work.peak_memory + extra_bytes)} > memory_limit"
        return None

    def maybe(key, fn, predicted: Work | None, extra_bytes: float = 0.0):
        if key not in wanted:
            return
        reason = None if predicted is None else too_big(predicted, extra_bytes)
        if reason:
            results[key] = ModeResult(key, "", None, predicted, predicted=True, skipped=reason)
        else:
            measure(key, fn)

    # Jacobians
    one_dir_peak = max(w_jvp.peak_memory - w_f.peak_memory, 8 * n)
    chunk = chunk_size or _best_chunk(n, Work(w_jvp.evals, w_jvp.rule_apps, w_jvp.eval_work,
                                              passes=w_jvp.passes),
                                      w_jvp.rule_work, one_dir_peak, memory_limit / 4)
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk = min(int(chunk), n)
    fwd_pred = _jacfwd_work(n, chunk, w_jvp)
    rev_pred = _jacrev_work(m, w_record, w_pullback)
    jac_bytes = 24.0 * n * m  # the Jacobian, its pieces and a reshaped copy

    hess_chunk = chunk
    w_fr = None
    if scalar:
        say(f"{name}: hvp")
        if wanted & {"hvp:fwd-over-rev", "hessian"}:
            w_fr = measure("hvp:fwd-over-rev", lambda: hvp(f, x, v, "fwd-over-rev"))
        for mode in ("rev-over-fwd", "rev-over-rev"):
            maybe(f"hvp:{mode}", (lambda mode=mode: hvp(f, x, v, mode)), None)
        if "hvp:fwd-over-fwd" in wanted:
            # one direction of the n that fwd-over-fwd pushes at once
            e = np.zeros_like(x)
            e.flat[0] = 1.0
            _, w_one = count(lambda: jvp(lambda y: jvp(f, (y,), (v,))[1], (x,), (e,)),
                             primitives=prims)
            ff_pred = _jacfwd_work(n, n, w_one)
            maybe("hvp:fwd-over-fwd", lambda: hvp(f, x, v, "fwd-over-fwd"), ff_pred)
        if wanted & {"operator-build", "hvp:operator"}:
            holder = {}

            def build():
                holder["op"] = _hessian_operator(f, x)
                return holder["op"]

            measure("operator-build", build)
            measure("hvp:operator", lambda: holder["op"](v))
            holder.clear()
        if w_fr is not None:
            per_pass = Work(w_fr.evals, w_fr.rule_apps, w_fr.eval_work, passes=w_fr.passes)
            hess_chunk = chunk_size or _best_chunk(
                n, per_pass, w_fr.rule_work, max(w_fr.peak_memory - w_vjp.peak_memory, 8 * n),
                memory_limit / 4)
            hess_chunk = min(int(hess_chunk), n)
    maybe("jacfwd", lambda: jacfwd(f, chunk_size=chunk)(x), fwd_pred, jac_bytes)
    maybe("jacrev", lambda: jacrev(f)(x), rev_pred, jac_bytes)
    if scalar and "hessian" in wanted and w_fr is not None:
        hess_pred = _jacfwd_work(n, hess_chunk, w_fr)
        hess_pred.peak_memory = int(w_fr.peak_memory * hess_chunk)
        # the result, its pieces before concatenation and a reshaped copy
        maybe("hessian", lambda: hessian(f, chunk_size=hess_chunk)(x), hess_pred, 24.0 * n * n)
    if "hvp:fwd-over-rev" in results and "hvp:fwd-over-rev" not in wanted:
        del results["hvp:fwd-over-rev"]

    # ratios, labels, order
    labels = _labels(scalar, m, n, chunk, hess_chunk)
    t_f, units_f = results["f"].seconds, max(w_f.units, 1.0)
    ordered = {}
    for key in MODES:
        if key in results:
            r = results[key]
            r.label = labels[key]
            r.ratio = None if r.timing is None else r.timing.median / t_f
            r.work_ratio = None if r.work is None else r.work.units / units_f
            ordered[key] = r

    checks = _checks(values, scalar, v)
    rec = _recommend(ordered, n, m, chunk, fwd_pred, rev_pred, scalar, w_jvp)
    return CostReport(name, n, m, scalar, chunk, ordered, rec, checks, repeat)


def _checks(values: dict, scalar: bool, v) -> dict:
    """Max relative differences between modes that compute the same thing."""
    checks = {}
    hvps = [np.ravel(values[k]) for k in values if k.startswith("hvp:")]
    if len(hvps) > 1:
        checks["hvp modes"] = max(_rel_diff(h, hvps[0]) for h in hvps[1:])
    if "jacfwd" in values and "jacrev" in values:
        checks["jacfwd vs jacrev"] = _rel_diff(values["jacfwd"], values["jacrev"])
    if scalar and "jacrev" in values:
        checks["jacrev vs gradient"] = _rel_diff(values["jacrev"], values["vjp"])
    if "hessian" in values and hvps:
        H = np.asarray(values["hessian"])
        n = int(np.size(v))
        checks["Hessian @ v vs hvp"] = _rel_diff(H.reshape(n, n) @ np.ravel(v), hvps[0])
    return checks


def _recommend(results: dict, n: int, m: int, chunk: int, fwd: Work, rev: Work,
               scalar: bool, w_jvp: Work) -> dict:
    rec: dict = {}
    passes = -(-n // chunk)
    winner = "jacfwd" if fwd.units < rev.units else "jacrev"
    ratio = max(fwd.units, rev.units) / max(min(fwd.units, rev.units), 1.0)
    rec.update(jacobian=winner, jacfwd_units=fwd.units, jacrev_units=rev.units)
    reason = (f"Jacobian ({m} x {n}): {winner}, {ratio:.3g}x less work. jacfwd = "
              f"{passes} forward pass{'es' * (passes > 1)} of {chunk} directions "
              f"({_fmt_count(fwd.ops)} ops, {_fmt_count(fwd.work)} element ops); jacrev = "
              f"1 recording + {m} pullback{'s' * (m > 1)} ({_fmt_count(rev.ops)} ops, "
              f"{_fmt_count(rev.work)} element ops).")
    tf, tr = results.get("jacfwd"), results.get("jacrev")
    if tf and tr and tf.timing and tr.timing:
        fastest = "jacfwd" if tf.timing.median < tr.timing.median else "jacrev"
        reason += (f" Measured: jacfwd {_fmt_time(tf.seconds)}, jacrev {_fmt_time(tr.seconds)}"
                   f" ({'agrees' if fastest == winner else 'disagrees: ' + fastest + ' was faster'}).")
    rec["jacobian_reason"] = reason
    rec["chunk_size"] = chunk
    rec["chunk_size_reason"] = (
        f"Chunk size {chunk} for jacfwd ({passes} pass{'es' * (passes > 1)}): the smallest that "
        f"keeps per-pass overhead ({_fmt_count(w_jvp.ops)} ops) under ~10% of the arithmetic "
        f"of its directions, within the memory limit.")
    if scalar:
        cands = {k[4:]: r for k, r in results.items()
                 if k.startswith("hvp:") and k != "hvp:operator" and r.work is not None}
        if cands:
            # the nestings' work differs by less than the model's accuracy, so the
            # measured median decides among those that ran; work decides otherwise
            least_work = min(cands, key=lambda k: cands[k].work.units)
            timed = {k: r for k, r in cands.items() if r.timing is not None}
            best = min(timed, key=lambda k: timed[k].timing.median) if timed else least_work
            rec["hvp"] = best
            others = ", ".join(f"{k} {_fmt_ratio(r.ratio) if r.ratio else '-'}x"
                               for k, r in cands.items() if k != best)
            reason = (f"HVP nesting: {best}, the fastest measured "
                      f"({_fmt_ratio(cands[best].ratio)}x f; {others}). " if timed else
                      f"HVP nesting: {best}, the least work. ")
            reason += ("Work x f: " + ", ".join(f"{k} {_fmt_ratio(r.work_ratio)}"
                                                 for k, r in cands.items()) + ".")
            rec["hvp_reason"] = reason
            op, build = results.get("hvp:operator"), results.get("operator-build")
            fresh = cands.get(best)
            if op and op.timing and build and build.timing and fresh and fresh.timing:
                gain = fresh.timing.median / op.timing.median
                rec["operator"] = gain > 1
                rec["operator_reason"] = (
                    f"Many products at one x (Newton-CG): HessianOperator, built once in "
                    f"{_fmt_time(build.seconds)}, then {_fmt_time(op.seconds)} per product "
                    f"({gain:.2g}x {'faster than' if gain > 1 else 'the speed of'} a fresh {best} HVP).")
    return rec


# ---- sweep --------------------------------------------------------------------------------
@dataclass
class SweepReport:
    """:func:`compare` at each size; ``reports[i]`` is the report at ``sizes[i]``."""

    problem: str
    vary: str
    sizes: list
    reports: list

    def series(self, key: str, what: str = "seconds") -> list:
        """``what`` ('seconds', 'ratio', 'units', 'ops') of mode ``key`` at each size."""
        out = []
        for r in self.reports:
            res = r.results.get(key)
            if res is None:
                out.append(None)
            elif what == "seconds":
                out.append(res.seconds)
            elif what == "ratio":
                out.append(res.ratio)
            elif what in ("units", "ops"):
                out.append(None if res.work is None else getattr(res.work, what))
            else:
                raise ValueError(f"unknown quantity {what!r}")
        return out

    def crossover(self) -> dict:
        """Where jacfwd and jacrev swap places as the size grows.

        Returns ``{"work": ..., "measured": ...}``; each is None if one mode
        wins at every size, else ``(size_before, size_after, estimate)`` with
        the estimate interpolated on log axes.  'work' compares the counted
        (or predicted) work units, 'measured' the median times.
        """
        sizes = self.sizes
        out = {}
        for what, key in (("work", "units"), ("measured", "seconds")):
            fwd, rev = self.series("jacfwd", key), self.series("jacrev", key)
            found = None
            for i in range(1, len(sizes)):
                pair = (fwd[i - 1], rev[i - 1], fwd[i], rev[i])
                if any(p is None for p in pair):
                    continue
                d0 = math.log(pair[0] / pair[1])
                d1 = math.log(pair[2] / pair[3])
                if d0 == 0 or d0 * d1 < 0:
                    t = d0 / (d0 - d1) if d0 != d1 else 0.0
                    est = math.exp(math.log(sizes[i - 1]) + t * (math.log(sizes[i]) - math.log(sizes[i - 1])))
                    found = (sizes[i - 1], sizes[i], float(est))
                    break
            out[what] = found
        return out

    def modes(self) -> list[str]:
        present = []
        for key in MODES:
            if key != "operator-build" and any(
                    key in r.results and r.results[key].timing is not None for r in self.reports):
                present.append(key)
        return present

    def to_dict(self) -> dict:
        return {"problem": self.problem, "vary": self.vary, "sizes": self.sizes,
                "crossover": self.crossover(), "reports": [r.to_dict() for r in self.reports]}

    def to_json(self, path: str | os.PathLike | None = None, indent: int = 2) -> str:
        """The sweep as JSON (written to ``path`` too if given)."""
        return _json(self.to_dict(), path, indent)

    TABLES = {"time": "median time (× f)", "work": "ops (work units × f)",
              "memory": "tape bytes / peak memory"}

    def _cell(self, key: str, res: ModeResult | None, table: str) -> str:
        if res is None:
            return "-"
        if table == "memory":
            if res.work is None:
                return "-"
            peak = "-" if res.predicted else _fmt_bytes(res.work.peak_memory)
            return f"{_fmt_bytes(res.work.tape_bytes)} / {peak}"
        if table == "work":
            if res.work is None:
                return "-"
            return (f"{_fmt_count(res.work.ops)}{'*' if res.predicted else ''} "
                    f"({_fmt_ratio(res.work_ratio)}×)")
        if res.timing is None:
            return "-" if res.work_ratio is None else f"({_fmt_ratio(res.work_ratio)}×*)"
        if key == "f":
            return _fmt_time(res.seconds)
        return f"{_fmt_time(res.seconds)} ({_fmt_ratio(res.ratio)}×)"

    def _render(self, markdown: bool, table: str = "time") -> str:
        if table not in self.TABLES:
            raise ValueError(f"table must be one of {', '.join(self.TABLES)}, got {table!r}")
        keys = self.modes()
        header = [self.vary] + [("f" if k == "f" else k.replace("hvp:", "HVP ")) for k in keys]
        rows = []
        for size, r in zip(self.sizes, self.reports):
            row = [f"{size} (m={r.m})" if self.vary == "n" else f"{size} (n={r.n})"]
            row += [self._cell(k, r.results.get(k), table) for k in keys]
            rows.append(row)
        title = f"{self.problem}: cost against {self.vary}, {self.TABLES[table]}"
        parts = [f"### {title}" if markdown else title, "", _table(header, rows, markdown), ""]
        cross = self.crossover()
        if "jacfwd" in keys or "jacrev" in keys:
            for what in ("work", "measured"):
                c = cross[what]
                if c is None:
                    fwd = self.series("jacfwd", "units" if what == "work" else "seconds")
                    rev = self.series("jacrev", "units" if what == "work" else "seconds")
                    pairs = [(a, b) for a, b in zip(fwd, rev) if a is not None and b is not None]
                    who = ("jacfwd" if all(a < b for a, b in pairs) else
                           "jacrev" if all(b < a for a, b in pairs) else "neither")
                    parts.append(f"jacfwd/jacrev crossover ({what}): none, {who} wins at every size")
                else:
                    parts.append(f"jacfwd/jacrev crossover ({what}): between {self.vary} = {c[0]} "
                                 f"and {c[1]}, ≈ {c[2]:.3g}")
        if any(r.predicted for rep in self.reports for r in rep.results.values()):
            parts.append("* not run at that size (too big for max_seconds or memory_limit); "
                         "work predicted from counted components")
        return "\n".join(parts)

    def to_markdown(self, table: str = "time") -> str:
        """A Markdown table: ``table`` is 'time', 'work' or 'memory'."""
        return self._render(True, table)

    def to_text(self, table: str = "time") -> str:
        """A plain-text table: ``table`` is 'time', 'work' or 'memory'."""
        return self._render(False, table)

    __str__ = to_text

    def plot(self, path: str | os.PathLike) -> str:
        """Cost against size on log axes, one line per mode (median seconds,
        with min-max bars); needs matplotlib (``pip install 'dualad[plot]'``)."""
        Figure, FigureCanvasAgg = _matplotlib()
        fig = Figure(figsize=(8, 5.2))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        styles = {"f": dict(color="black", lw=2.2)}
        predicted_any = False
        for key in self.modes():
            pts = [(s, r.results[key].timing) for s, r in zip(self.sizes, self.reports)
                   if key in r.results and r.results[key].timing is not None]
            if not pts:
                continue
            xs = [p[0] for p in pts]
            med = np.array([p[1].median for p in pts])
            lo = med - np.array([p[1].min for p in pts])
            hi = np.array([p[1].max for p in pts]) - med
            label = "f (plain NumPy)" if key == "f" else key.replace("hvp:", "HVP ")
            line = ax.errorbar(xs, med, yerr=[lo, hi], marker="o", ms=4, capsize=2, label=label,
                               **styles.get(key, {}))
            # sizes where the mode was not run: its work ratio times f's time
            guess = [(s, r.results[key].work_ratio * r.results["f"].seconds)
                     for s, r in zip(self.sizes, self.reports)
                     if key in r.results and r.results[key].timing is None
                     and r.results[key].work_ratio is not None]
            if guess:
                last = [(xs[-1], med[-1])] if xs[-1] < guess[0][0] else []
                gx, gy = zip(*(last + guess))
                ax.plot(gx, gy, ls=":", marker="o", mfc="none", ms=5,
                        color=line.lines[0].get_color())
                predicted_any = True
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(self.vary)
        ax.set_ylabel("seconds per call (median; bars: min-max)")
        r0 = self.reports[0]
        fixed = f"m = {r0.m}" if self.vary == "n" else f"n = {r0.n}"
        ax.set_title(f"{self.problem}: cost against {self.vary} ({fixed})")
        ax.grid(True, which="both", alpha=0.3)
        if predicted_any:
            ax.plot([], [], ls=":", marker="o", mfc="none", color="grey",
                    label="not run: predicted from work counts")
        ax.legend(fontsize="small", ncol=2)
        c = self.crossover()["measured"]
        if c is not None:
            ax.axvline(c[2], color="grey", ls="--", lw=1)
            ax.annotate(f"jacfwd = jacrev\n≈ {c[2]:.3g}", (c[2], ax.get_ylim()[1]),
                        xytext=(4, -28), textcoords="offset points", fontsize="small")
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        return str(path)


def sweep(problem, sizes: Sequence[int], *, m: int | None = None, n: int | None = None,
          vary: str = "n", repeat: int = 3, modes: Iterable[str] | None = None,
          chunk_size: int | None = None, max_seconds: float = 5.0, seed: int = 0,
          progress: Callable[[str], None] | None = None) -> SweepReport:
    """:func:`compare` over a range of sizes.

    ``problem`` is a built-in problem's name (see :mod:`dualad.problems`) or
    a callable ``size -> (f, x)``.  With ``vary="n"`` (the default) each size
    is the input size ``n`` and ``m`` stays fixed (the problem's default if
    not given); with ``vary="m"`` each size is the problem's second size and
    ``n`` stays fixed.

    >>> s = sweep("tanh", [4, 2000], m=10, repeat=1, modes=["jacfwd", "jacrev"])
    >>> [r.n for r in s.reports], s.crossover()["work"] is not None
    ([4, 2000], True)
    """
    from . import problems

    if vary not in ("n", "m"):
        raise ValueError(f"vary must be 'n' or 'm', got {vary!r}")
    sizes = [problems._positive(s, "size") for s in sizes]
    if not sizes:
        raise ValueError("sizes must name at least one size")
    say = progress or (lambda msg: None)
    reports = []
    start = time.perf_counter()
    label = problem if isinstance(problem, str) else getattr(problem, "__name__", "problem")
    for i, size in enumerate(sizes):
        say(f"[{i + 1}/{len(sizes)}] {label}, {vary} = {size} "
            f"({time.perf_counter() - start:.1f} s elapsed)")
        if isinstance(problem, str):
            prob = problems.get(problem)
            inst = prob.make(n=size, m=m) if vary == "n" else prob.make(n=n, m=size)
            f, x, name = inst.f, inst.x, problem
        else:
            f, x = problem(size)
            name = label
        reports.append(compare(f, x, repeat=repeat, modes=modes, chunk_size=chunk_size,
                               max_seconds=max_seconds, name=name, seed=seed))
    return SweepReport(label, vary, list(sizes), reports)
