"""Cost reports: one function at one point, and a sweep over sizes.

What this module lets you do
----------------------------
Read, print and save what :func:`dualad.costs.compare` and
:func:`dualad.costs.sweep` measured.  A :class:`CostReport` holds one
:class:`ModeResult` per mode (timing, counted or predicted work, ratios to
``f``) and the recommendation; a :class:`SweepReport` holds one report per
size and finds where jacfwd and jacrev cross.  Both print as plain-text or
Markdown tables, save as JSON, and plot (:mod:`dualad.costs.plots`).
"""

from __future__ import annotations

import json
import math
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from . import plots
from .counting import OVERHEAD, Work
from .timing import Timing

__all__ = ["MODES", "REPLAYED", "ModeResult", "CostReport", "SweepReport"]

MODES = ("f", "jvp", "replayed:jvp", "vjp", "replayed:vjp", "hvp:fwd-over-rev", "replayed:hvp",
         "hvp:rev-over-fwd", "hvp:rev-over-rev", "hvp:fwd-over-fwd", "operator-build",
         "hvp:operator", "jacfwd", "jacrev", "hessian", "sparse:detect", "sparse:color",
         "sparse", "replayed:sparse")
"""Every mode :func:`dualad.costs.compare` knows, in report order.  The three
``sparse*`` modes are the sparse Jacobian (vector ``f``) or sparse Hessian
(scalar ``f``) of :mod:`dualad.sparse`: detecting the pattern and colouring it,
each done once, and one compressed evaluation, done at every new ``x``.  The
``replayed:*`` modes are the JVP, the VJP (gradient), the fwd-over-rev HVP and
the sparse evaluation through :func:`dualad.replay`: recorded once (not
timed in the row: its note says what the recording cost), then replayed."""
REPLAYED = {"replayed:jvp": "jvp", "replayed:vjp": "vjp", "replayed:hvp": "hvp:fwd-over-rev",
            "replayed:sparse": "sparse"}
"""Each replayed mode and the eager mode it replays."""


def _json(data: dict, path, indent: int) -> str:
    """``data`` as JSON text, written to ``path`` too if given."""
    text = json.dumps(data, indent=indent)
    if path is not None:
        with open(path, "w") as fh:
            fh.write(text + "\n")
    return text


@dataclass
class ModeResult:
    """One mode's figures.  ``timing`` is None when the mode was skipped; then
    ``work`` (if any) is predicted from counted components (``predicted``).
    A replayed mode's ``replay`` holds its :class:`dualad.Replayed` counters
    after the timing (``recordings``, ``replays``, ``mismatches``), the
    program's NumPy calls (``ops``) and the recording's seconds
    (``record_seconds``)."""

    key: str
    label: str
    timing: Timing | None = None
    work: Work | None = None
    ratio: float | None = None
    work_ratio: float | None = None
    predicted: bool = False
    skipped: str | None = None
    note: str | None = None
    replay: dict | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.timing is None else self.timing.median

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label,
                "seconds": None if self.timing is None else asdict(self.timing),
                "ratio_to_f": self.ratio, "work_ratio_to_f": self.work_ratio,
                "work": None if self.work is None else self.work.to_dict(),
                "work_predicted": self.predicted, "skipped": self.skipped, "note": self.note,
                "replay": self.replay}


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
    ``recommendation`` starts from what ``f`` is: a scalar loss gets
    ``gradient`` ('grad') and ``hvp`` (a nesting; ``operator``: whether
    HessianOperator pays), a vector ``f`` gets ``jacobian`` ('jacfwd' or
    'jacrev') and ``chunk_size`` (None: jacfwd's default); both get
    ``sparse`` (whether the sparse Jacobian or Hessian wins, and
    ``sparse_calls``: from how many calls on), ``replay`` (whether wrapping
    in :func:`dualad.replay` is measurably cheaper), ``implausible`` (modes
    timed faster than f: noise) and a sentence of reasons for each.
    ``point`` describes ``x`` when it is not a vector (a matrix, a pytree);
    ``machine["blas_threads"]`` says whether BLAS was pinned to one thread.
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
    point: str | None = None
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
                "point": self.point, "chunk_size": self.chunk_size, "repeat": self.repeat,
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
            if r.note:
                note = f"{note}; {r.note}" if note else r.note
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

    @property
    def title(self) -> str:
        """``name: n = ..., m = ...`` (and what x is, when not a vector)."""
        point = f" ({self.point})" if self.point else ""
        return f"{self.name}: n = {self.n}{point}, m = {self.m}{' (a scalar)' * self.scalar}"

    def _render(self, markdown: bool) -> str:
        title = self.title
        parts = [f"### {title}" if markdown else title, "",
                 _table(self.HEADER, self.rows(), markdown), ""]
        rec = self.recommendation
        bullet = "- " if markdown else "  "
        parts.append("Recommendation:" if not markdown else "**Recommendation**")
        for key in ("gradient", "jacobian", "chunk_size", "hvp", "operator", "sparse",
                    "replay", "plausibility"):
            if f"{key}_reason" in rec:
                parts.append(f"{bullet}{rec[key + '_reason']}")
        if self.checks:
            agree = ", ".join(f"{k} {v:.1e}" for k, v in self.checks.items())
            parts.append(f"{bullet}results agree (max relative difference): {agree}")
        if "blas_threads" in self.machine:
            parts.append(f"{bullet}BLAS threads: {self.machine['blas_threads']}.")
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
        return plots.plot_report(self, path)


@dataclass
class SweepReport:
    """:func:`dualad.costs.compare` at each size; ``reports[i]`` is the report at ``sizes[i]``."""

    problem: str
    vary: str
    sizes: list
    reports: list

    @property
    def xs(self) -> list:
        """The size axis: each report's ``n`` when ``vary`` is 'n' (a problem
        or a callable may round the size asked for, e.g. to a square grid),
        the sizes given otherwise."""
        return [r.n for r in self.reports] if self.vary == "n" else list(self.sizes)

    @property
    def xlabel(self) -> str:
        if self.vary == "n":
            return "n, the size of x (log scale)"
        from . import problems
        meaning = (problems.PROBLEMS[self.problem].m_meaning if self.problem in problems.PROBLEMS
                   else "the second size")
        return f"m, {meaning} (log scale)"

    @property
    def title(self) -> str:
        r0 = self.reports[0]
        fixed = (f"m = {r0.m}" if len({r.m for r in self.reports}) == 1 else "m varies") \
            if self.vary == "n" else f"n = {r0.n}"
        return f"{self.problem}: cost of each mode against {self.vary} ({fixed})"

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
        sizes = self.xs
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
        for size, r in zip(self.xs, self.reports):
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
        """Cost against size on log axes, as multiples of f's time, one colour
        per family of modes; needs matplotlib (``pip install 'dualad[plot]'``)."""
        return plots.plot_sweep(self, path)
