"""Plots of cost reports with matplotlib, an optional dependency.

What this module lets you do
----------------------------
Draw a :class:`~dualad.costs.report.CostReport` as bars of each mode's cost
relative to ``f`` (:func:`plot_report`) and a
:class:`~dualad.costs.report.SweepReport` as each mode's time against size on
log axes (:func:`plot_sweep`), to a PNG file.  Without matplotlib both raise
:class:`PlotUnavailableError`, which says how to install it; nothing else in
``dualad.costs`` needs matplotlib.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["PlotUnavailableError", "plot_report", "plot_sweep"]


class PlotUnavailableError(ImportError):
    """Plotting was asked for but matplotlib is not installed."""


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotUnavailableError(
            "plotting needs matplotlib, an optional extra of dualad: install it with "
            "pip install 'dualad[plot]' (or pip install matplotlib)") from exc
    return Figure, FigureCanvasAgg


def _axes(figsize):
    """A figure drawn by the Agg backend (no display needed) and its one axes."""
    Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _save(fig, path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return str(path)


def plot_report(report, path: str | os.PathLike) -> str:
    """Bar chart of each mode's cost relative to f (time and work), log scale."""
    keys = [k for k, r in report.results.items() if k != "f" and (r.ratio or r.work_ratio)]
    labels = [report.results[k].label for k in keys]
    y = np.arange(len(keys))
    fig, ax = _axes((8, 0.42 * len(keys) + 1.6))
    times = [report.results[k].ratio or np.nan for k in keys]
    works = [report.results[k].work_ratio or np.nan for k in keys]
    ax.barh(y - 0.2, times, height=0.4, label="wall time ÷ f (measured)")
    ax.barh(y + 0.2, works, height=0.4, label="work units ÷ f (counted or *predicted)")
    ax.set_yticks(y, [lab + (" *" if report.results[k].predicted else "")
                      for lab, k in zip(labels, keys)])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xlabel("cost relative to f")
    ax.set_title(f"{report.name}: n = {report.n}, m = {report.m}")
    ax.legend(loc="lower right", fontsize="small")
    return _save(fig, path)


def plot_sweep(sweep, path: str | os.PathLike) -> str:
    """Cost against size on log axes, one line per mode (median seconds,
    with min-max bars); modes not run at a size are drawn dotted where their
    counted work predicts them."""
    fig, ax = _axes((8, 5.2))
    styles = {"f": dict(color="black", lw=2.2)}
    predicted_any = False
    for key in sweep.modes():
        pts = [(s, r.results[key].timing) for s, r in zip(sweep.sizes, sweep.reports)
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
                 for s, r in zip(sweep.sizes, sweep.reports)
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
    ax.set_xlabel(sweep.vary)
    ax.set_ylabel("seconds per call (median; bars: min-max)")
    r0 = sweep.reports[0]
    fixed = f"m = {r0.m}" if sweep.vary == "n" else f"n = {r0.n}"
    ax.set_title(f"{sweep.problem}: cost against {sweep.vary} ({fixed})")
    ax.grid(True, which="both", alpha=0.3)
    if predicted_any:
        ax.plot([], [], ls=":", marker="o", mfc="none", color="grey",
                label="not run: predicted from work counts")
    ax.legend(fontsize="small", ncol=2)
    c = sweep.crossover()["measured"]
    if c is not None:
        ax.axvline(c[2], color="grey", ls="--", lw=1)
        ax.annotate(f"jacfwd = jacrev\n≈ {c[2]:.3g}", (c[2], ax.get_ylim()[1]),
                    xytext=(4, -28), textcoords="offset points", fontsize="small")
    return _save(fig, path)

