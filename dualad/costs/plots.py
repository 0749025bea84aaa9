"""Plots of cost reports with matplotlib, an optional dependency.

What this module lets you do
----------------------------
Draw a :class:`~dualad.costs.report.CostReport` as bars of each mode's cost
relative to ``f`` (:func:`plot_report`) and a
:class:`~dualad.costs.report.SweepReport` as each mode's cost, in multiples
of ``f`` like the tables, against size on log axes (:func:`plot_sweep`), to
a PNG file; :func:`figure_report` and :func:`figure_sweep` return the
matplotlib figure instead.  Without matplotlib all raise
:class:`PlotUnavailableError`, which says how to install it; nothing else
in ``dualad.costs`` needs matplotlib.

Readable at a glance: modes are grouped in families (:data:`FAMILIES`:
forward, reverse, HVP, dense, sparse, replayed), each with one colour, its
members told apart by line style and marker; the three HVP nestings that
cost about the same are one line (the fastest) with a band (their spread);
the legend and the jacfwd = jacrev crossover sit outside the axes, never on
a curve; titles and axis labels come from the function's name and sizes.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["PlotUnavailableError", "FAMILIES", "figure_report", "figure_sweep", "plot_report",
           "plot_sweep"]

FAMILIES = {
    "forward": ("tab:blue", ("jvp",)),
    "reverse": ("tab:orange", ("vjp",)),
    "HVP": ("tab:green", ("hvp:fwd-over-rev", "hvp:rev-over-fwd", "hvp:rev-over-rev",
                          "hvp:fwd-over-fwd", "operator-build", "hvp:operator")),
    "dense": ("tab:red", ("jacfwd", "jacrev", "hessian")),
    "sparse": ("tab:purple", ("sparse:detect", "sparse:color", "sparse")),
    "replayed": ("tab:brown", ("replayed:jvp", "replayed:vjp", "replayed:hvp",
                               "replayed:sparse")),
}
"""Each family of modes: its colour and its members (in report order)."""

# Within a family, members differ by line style and marker.
_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1, 1, 1)), "v"),
           ((0, (1, 3)), "P"))

# The nestings whose cost is the same to within noise: one line and a band.
HVP_BAND = ("hvp:fwd-over-rev", "hvp:rev-over-fwd", "hvp:rev-over-rev")


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
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _family(key: str) -> tuple[str, str, tuple]:
    """``(family, colour, (linestyle, marker))`` of a mode."""
    for family, (colour, members) in FAMILIES.items():
        if key in members:
            return family, colour, _STYLES[members.index(key) % len(_STYLES)]
    return "f", "black", ("-", "")


def _legend_outside(ax, **kwargs):
    """The legend to the right of the axes, where it covers nothing."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                     fontsize="small", **kwargs)


def figure_report(report):
    """The bar chart of :func:`plot_report`, as a matplotlib Figure."""
    keys = [k for k, r in report.results.items() if k != "f" and (r.ratio or r.work_ratio)]
    implausible = set(report.recommendation.get("implausible", ()))
    y = np.arange(len(keys))
    fig, ax = _axes((10, 0.34 * len(keys) + 1.8))
    colours = [_family(k)[1] for k in keys]
    times = [report.results[k].ratio or np.nan for k in keys]
    works = [report.results[k].work_ratio or np.nan for k in keys]
    ax.barh(y - 0.2, times, height=0.4, color=colours)
    ax.barh(y + 0.2, works, height=0.4, color=colours, alpha=0.45, hatch="//",
            edgecolor="white")
    # the legend: what the two bars are, then which colour is which family
    ax.barh([], [], color="grey", label="wall time ÷ f's (measured)")
    ax.barh([], [], color="grey", alpha=0.45, hatch="//", edgecolor="white",
            label="work ÷ f's (counted; * predicted, not run)")
    for family, (colour, members) in FAMILIES.items():
        if any(k in members for k in keys):
            ax.barh([], [], color=colour, label=f"{family} modes")
    ticks = []
    for k in keys:
        r = report.results[k]
        ticks.append(r.label + (" *" if r.predicted else "")
                     + (" (implausible: < f)" if k in implausible else ""))
    ax.set_yticks(y, ticks, fontsize="small")
    for tick, colour in zip(ax.get_yticklabels(), colours):
        tick.set_color(colour)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", lw=0.8, label="f itself (= 1)")
    ax.set_xlabel(f"cost as a multiple of f's ({_f_time(report)} per call), log scale")
    ax.set_title(report.title)
    _legend_outside(ax)
    return fig


def _f_time(report) -> str:
    from .report import _fmt_time
    return _fmt_time(report.results["f"].seconds)


def plot_report(report, path: str | os.PathLike) -> str:
    """Bar chart of each mode's cost relative to f (time and work), log
    scale, bars coloured by mode family; written to ``path`` (PNG)."""
    return _save(figure_report(report), path)


def _series(sweep, key: str):
    """``(xs, ratios, predicted)`` of one mode over the sweep: measured time
    ÷ f's where it ran, the counted work ratio where it was only predicted."""
    xs, ys, predicted = [], [], []
    for x, r in zip(sweep.xs, sweep.reports):
        res = r.results.get(key)
        if res is None:
            continue
        if res.ratio is not None:
            xs.append(x), ys.append(res.ratio), predicted.append(False)
        elif res.work_ratio is not None:
            xs.append(x), ys.append(res.work_ratio), predicted.append(True)
    return np.array(xs, dtype=float), np.array(ys, dtype=float), np.array(predicted, dtype=bool)


def _draw(ax, xs, ys, predicted, colour, style, label):
    """One mode's line: filled markers where measured, open where predicted."""
    ls, marker = style
    (line,) = ax.plot(xs, ys, color=colour, ls=ls, marker=marker, ms=5, lw=1.6, label=label)
    if predicted.any():
        line.set_markevery(list(np.flatnonzero(~predicted)))
        ax.plot(xs[predicted], ys[predicted], ls="none", marker=marker, ms=6, mfc="white",
                color=colour)
    return line


def figure_sweep(sweep):
    """The plot of :func:`plot_sweep`, as a matplotlib Figure."""
    fig, ax = _axes((11, 5.6))
    keys = [k for k in sweep.modes() if k not in ("f", "operator-build", "sparse:detect",
                                                  "sparse:color")]
    predicted_any = False
    band = [k for k in HVP_BAND if k in keys]
    drawn_band = False
    if len(band) > 1:
        rows = [_series(sweep, k) for k in band]
        common = sorted(set.intersection(*(set(r[0]) for r in rows)))
        if common:
            table = np.array([[r[1][list(r[0]).index(x)] for x in common] for r in rows])
            band_lines = (np.array(common), table.min(axis=0), table.max(axis=0))
            keys = [k for k in keys if k not in band]
            drawn_band = True
    last = sweep.reports[-1].results
    for family, (colour, members) in FAMILIES.items():
        if family == "HVP" and drawn_band:
            xs, lo, hi = band_lines
            ax.fill_between(xs, lo, hi, color=colour, alpha=0.2, lw=0)
            _draw(ax, xs, lo, np.zeros(len(xs), bool), colour, _STYLES[0],
                  f"HVP, fastest of {len(band)} nestings (band: their spread)")
        for key in (k for k in keys if k in members):
            xs, ys, predicted = _series(sweep, key)
            if not xs.size:
                continue
            _, colour, style = _family(key)
            label = _short_label(key, last[key].label if key in last else key)
            _draw(ax, xs, ys, predicted, colour, style, label)
            predicted_any |= bool(predicted.any())
    ax.axhline(1.0, color="black", lw=1.2, label="f itself (= 1)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(sweep.xlabel)
    ax.set_ylabel("time per call as a multiple of f's (median)")
    ax.set_title(sweep.title)
    ax.grid(True, which="both", alpha=0.3)
    if predicted_any:
        ax.plot([], [], ls="none", marker="o", mfc="white", color="grey",
                label="open marker: not run, predicted from work counts")
    c = sweep.crossover()["measured"]
    if c is not None and not sweep.reports[0].scalar:  # a loss's gradient is grad's
        ax.axvline(c[2], color="grey", ls=(0, (4, 4)), lw=1,
                   label=f"jacfwd = jacrev at {sweep.vary} ≈ {c[2]:.3g} (measured)")
    _legend_outside(ax)
    return fig


def _short_label(key: str, label: str) -> str:
    """A row label without the per-size detail (passes, chunks, colours) that
    changes along a sweep."""
    if key in ("jacfwd", "jacrev", "hessian") or key.endswith("sparse"):
        head, _, tail = label.partition(" (")
        return head + (" (replayed)" if "replayed" in tail else "")
    return label


def plot_sweep(sweep, path: str | os.PathLike) -> str:
    """Each mode's cost, as a multiple of f's time (as in the tables), against
    size on log axes: one colour per family, line style and marker per mode,
    open markers where a mode was not run but predicted from its work;
    written to ``path`` (PNG)."""
    return _save(figure_sweep(sweep), path)


def _save(fig, path) -> str:
    fig.savefig(path, dpi=110)
    return str(path)
