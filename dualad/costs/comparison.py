"""Comparing every mode on one function: :func:`compare` and :func:`sweep`.

What this module lets you do
----------------------------
:func:`compare` evaluates ``f`` at ``x`` and each way dualad can
differentiate it -- a JVP, a VJP (the gradient), the Hessian-vector product
in its four nestings and through :class:`dualad.optimize.HessianOperator`,
``jacfwd``, ``jacrev`` and the dense Hessian, and the sparse Jacobian or
Hessian of :mod:`dualad.sparse` (detection, colouring, one compressed
evaluation); the JVP, the VJP, the fwd-over-rev HVP and the sparse
evaluation also replayed (:func:`dualad.replay`: recorded once, before
their timing) -- timing each
(:mod:`~dualad.costs.timing`) and counting its work
(:mod:`~dualad.costs.counting`); modes predicted to be too slow or too big
are not run but predicted (:mod:`~dualad.costs.recommend`).  The result is
a :class:`~dualad.costs.report.CostReport` with a recommendation.
:func:`sweep` does the same over a range of sizes.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ..api import HVP_MODES, grad, hessian, hvp, jacfwd, jacrev, jvp, linearize, vjp
from . import problems
from .. import sparse
from ..pytree import Ravel, tree_flatten
from ..staging import replay
from .counting import NUMPY_OVERHEAD, Work, count
from .recommend import (best_chunk, jacfwd_work, jacrev_work, plausibility, recommend,
                        recommend_replay, recommend_sparse)
from .report import (MODES, REPLAYED, CostReport, ModeResult, SweepReport, _fmt_bytes,
                     _fmt_time)
from .timing import measure as _measure
from .timing import single_threaded_blas

__all__ = ["compare", "sweep"]

SPARSE_MODES = ("sparse:detect", "sparse:color", "sparse")

# A pattern with at least this fraction of its entries set is dense: colouring
# it would give about as many colours as there are columns, so no gain.
DENSE_FRACTION = 0.5


def _labels(scalar: bool, m: int, n: int, chunk: int, hess_chunk: int) -> dict:
    passes = -(-n // chunk)
    labels = {"f": "f (plain NumPy)", "jvp": "JVP (forward)",
              "vjp": "gradient (reverse)" if scalar else "VJP (reverse)",
              "operator-build": "HessianOperator build, once per x",
              "hvp:operator": "HVP by HessianOperator, per product",
              "jacfwd": (f"{'gradient by ' * scalar}jacfwd "
                         f"({passes} pass{'es' * (passes > 1)} of {chunk})"),
              "jacrev": ("gradient by jacrev (1 pullback)" if scalar else
                         f"jacrev (1 pullback of {m} row{'s' * (m > 1)})"),
              "hessian": f"dense Hessian ({-(-n // hess_chunk)} × {hess_chunk} directions)"}
    for mode in HVP_MODES:
        labels[f"hvp:{mode}"] = f"HVP {mode}"
    labels.update({"replayed:jvp": "JVP (replayed)",
                   "replayed:vjp": "gradient (replayed)" if scalar else "VJP (replayed)",
                   "replayed:hvp": "HVP fwd-over-rev (replayed)"})
    return labels


def _replayed_work(eager: Work, counted: Work, n_ops: int) -> Work:
    """A replay's work on the scale of f's: the program's NumPy calls, each at
    plain NumPy's overhead (no dispatch, no tape), the eager mode's arithmetic,
    and the memory measured over one replay."""
    return Work(evals=n_ops, eval_work=eager.work, peak_memory=counted.peak_memory,
                overhead=NUMPY_OVERHEAD)


def _rel_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-300)
    return float(np.max(np.abs(a - b)) / scale) if a.size else 0.0


def _hessian_operator(f, x):
    """``H @ v`` with the work at x done once: dualad.optimize.HessianOperator if
    it exists, else linearize(grad(f), x) directly."""
    try:
        from dualad.optimize import HessianOperator
    except ImportError:
        _, f_jvp = linearize(grad(f), x)
        return f_jvp
    op = HessianOperator(f, x, replay=False)  # the eager operator: replay has rows of its own
    shape = np.shape(x)
    return lambda v: np.reshape(op.matvec(np.ravel(v)), shape)


def compare(f: Callable, x: Any, *, v: Any = None, u: Any = None, repeat: int = 5, chunk_size: int | None = None,
            modes: Iterable[str] | None = None, max_seconds: float = 5.0,
            memory_limit: float = 2 ** 30, name: str | None = None, seed: int = 0,
            local: bool = False, progress: Callable[[str], None] | None = None) -> CostReport:
    """Time and count every way of differentiating ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        ``f(x)`` in plain NumPy, returning a scalar (then the HVP modes and the
        dense Hessian are measured too) or an array of any shape (size ``m``).
    x : array or pytree
        The point: a float array of any shape, or a pytree (dict, tuple,
        list) of float arrays, measured as one flat vector of size ``n``
        (:class:`dualad.pytree.Ravel`) that ``f`` receives as the pytree.
    v, u : array, optional
        The JVP/HVP direction (like ``x``, or the flat vector of an ``x``
        pytree) and the VJP cotangent (like ``f(x)``); random with ``seed``
        by default.
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
    local : bool
        Detect the sparse mode's pattern at ``x`` only
        (:func:`dualad.sparse.jacobian_sparsity`): needed when ``f`` branches
        on values (``if x[0] > 0``), valid only where ``f`` takes the same branches.
    progress : callable, optional
        Called with a short message before each mode.

    The sparse modes (a vector ``f``: the Jacobian; a scalar ``f``: the
    Hessian) always run when wanted, however large ``n``, since they are
    what makes a large ``n`` feasible; they are left out, with the reason in
    the recommendation, when detection fails or the pattern is dense.

    Timing runs with BLAS pinned to one thread when threadpoolctl is
    installed (multi-threaded BLAS on a shared machine is the usual source of
    a derivative "faster than f"); ``report.machine["blas_threads"]`` says
    which.  A derivative measured faster than ``f`` is flagged in the
    recommendation as noise (``recommendation["implausible"]``).

    >>> import numpy as np
    >>> r = compare(lambda x: np.tanh(np.ones((3, 4)) @ x), np.zeros(4), repeat=1)
    >>> r.m, r.n, abs(r["jvp"].ratio - r["jvp"].seconds / r["f"].seconds) < 1e-12
    (3, 4, True)
    >>> params = {"w": np.ones((2, 3)), "b": np.zeros(2)}
    >>> r = compare(lambda p: np.sum(np.tanh(p["w"] @ np.ones(3) + p["b"]) ** 2), params,
    ...             repeat=1, modes=["jvp"])
    >>> r.n, r.recommendation["gradient"], r.point
    (8, 'grad', 'x: a pytree of 2 arrays ({b: (2,), w: (2, 3)})')
    """
    if isinstance(repeat, bool) or not isinstance(repeat, (int, np.integer)) or repeat < 1:
        raise ValueError(f"repeat must be a positive integer, got {repeat!r}")
    wanted = set(MODES if modes is None else modes)
    unknown = wanted - set(MODES)
    if unknown:
        raise ValueError(f"unknown mode(s) {sorted(unknown)}; choose from {', '.join(MODES)}")
    if not callable(f):
        raise TypeError(f"f must be a function of x, got {type(f).__name__} {f!r:.60}")
    name = name or getattr(f, "__name__", "f")
    f, x, v, point = _flat_point(f, x, v)
    with single_threaded_blas() as blas_threads:
        report = _compare(f, x, v, u, repeat, chunk_size, wanted, max_seconds, memory_limit,
                          name, seed, local, progress, point)
    report.machine["blas_threads"] = blas_threads
    report.recommendation.update(plausibility(report.results, blas_threads))
    return report


def _leaf_names(tree, prefix: str = "x") -> list[str]:
    """The leaves' names (``x['w']``, ``x[0]``), in :func:`tree_flatten`'s order."""
    if tree is None:
        return []
    if isinstance(tree, (tuple, list)):
        return [name for i, c in enumerate(tree) for name in _leaf_names(c, f"{prefix}[{i}]")]
    if isinstance(tree, dict):
        return [name for k in sorted(tree, key=repr)
                for name in _leaf_names(tree[k], f"{prefix}[{k!r}]")]
    return [prefix]


def _float_leaf_problem(leaf, name: str) -> str | None:
    """Why ``leaf`` cannot be a coordinate of the point, or None."""
    if isinstance(leaf, (bool, np.bool_)):
        return f"{name} is a bool; pass a float"
    try:
        dtype = np.asarray(leaf).dtype
    except Exception:  # noqa: BLE001 - an object NumPy cannot take at all
        dtype = np.dtype(object)
    if dtype.kind == "f":
        return None
    if dtype.kind in "iub":
        return f"{name} has dtype {dtype}; pass floats, e.g. np.asarray({name}, dtype=float)"
    if dtype.kind == "c":
        return (f"{name} has dtype {dtype}; dualad.costs measures real points: pass the real "
                "and imaginary parts as two float arrays")
    what = (f"an array of dtype {dtype}" if isinstance(leaf, np.ndarray) else
            f"{type(leaf).__name__} {leaf!r:.40}")
    return f"{name} is {what}, not a number; x must be a float array or a pytree of them"


def _flat_point(f, x, v):
    """``f`` as a function of one flat float vector (for a pytree ``x``), the
    point (and ``v``) flattened, and a description of ``x``."""
    if isinstance(x, (dict, list, tuple)) and not isinstance(x, np.ndarray):
        leaves, _ = tree_flatten(x)
        if not leaves:
            raise ValueError("x is an empty pytree; give the point to differentiate at")
        for leaf, leaf_name in zip(leaves, _leaf_names(x)):
            problem = _float_leaf_problem(leaf, leaf_name)
            if problem:
                raise TypeError(problem)
        layout = Ravel(x)
        flat = np.asarray(layout.ravel(x), dtype=float)
        if v is not None and not isinstance(v, np.ndarray):
            v = layout.ravel(v)
        unravel = layout.unravel

        def f_of_vector(z):
            return f(unravel(z))

        f_of_vector.__name__ = getattr(f, "__name__", "f")
        shapes = ", ".join(f"{n[1:].strip('[]').strip(chr(39))}: {s}"
                           for n, s in zip(_leaf_names(x), layout.shapes))
        point = (f"x: a pytree of {len(leaves)} array{'s' * (len(leaves) > 1)} "
                 f"({{{shapes}}})")
        return f_of_vector, flat, v, point
    arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
    problem = _float_leaf_problem(arr, "x") if arr.dtype.kind != "f" else None
    if problem:
        if arr.dtype.kind == "O":
            problem += " (a dict, tuple or list of float arrays is measured as a pytree)"
        raise TypeError(problem)
    return f, arr, v, None if arr.ndim <= 1 else f"x of shape {arr.shape}"


def _first_value(f, x):
    """``f(x)``, checked to be what costs can measure: a scalar or a float array."""
    y = f(x)
    if y is None:
        raise TypeError("f(x) returned None; return the value: a scalar loss or an array "
                        "(a missing return statement?)")
    if isinstance(y, (tuple, list, dict)):
        raise TypeError(f"f(x) returned a {type(y).__name__}; dualad.costs measures an f "
                        "with one output, a scalar or an array: return one array (e.g. "
                        "np.concatenate of the pieces), or measure each output on its own")
    kind = np.asarray(y).dtype.kind
    if kind not in "fiub":
        raise TypeError(f"f(x) returned {type(y).__name__} {y!r:.60}, not a number or a "
                        "float array" + (" (complex outputs are not measured)" if kind == "c"
                                          else ""))
    return y


def _compare(f, x, v, u, repeat, chunk_size, wanted, max_seconds, memory_limit, name, seed,
             local, progress, point) -> CostReport:
    say = progress or (lambda msg: None)
    rng = np.random.default_rng(seed)
    n = int(x.size)
    v = rng.standard_normal(x.shape) if v is None else np.asarray(v, dtype=float)
    if v.shape != x.shape:
        raise ValueError(f"v has shape {v.shape}; it is a direction in x's space, shape {x.shape}")
    y0 = _first_value(f, x)
    scalar = np.ndim(y0) == 0
    m = 1 if scalar else int(np.size(y0))
    u = (rng.standard_normal(np.shape(y0)) if u is None else np.asarray(u, dtype=float))
    results: dict[str, ModeResult] = {}
    values: dict = {}

    def measure(key, fn, label=""):
        say(f"{name}: {key}")
        _, work = count(fn)
        timing, value = _measure(fn, repeat, max_seconds)
        results[key] = ModeResult(key, label, timing, work)
        values[key] = value
        return work

    def measure_replayed(key, fn, args, replayed=None):
        """The replayed twin of an eager mode that ran: ``replay(fn)(*args)``
        (or the calls of ``replayed`` objects given) recorded once, untimed
        in the row, then counted and timed as replays."""
        eager = results.get(REPLAYED[key])
        if key not in wanted or eager is None or eager.timing is None:
            return
        say(f"{name}: {key}")
        try:
            if replayed is None:
                r = replay(fn)
                call, objects = (lambda: r(*args)), [r]
            else:
                call, objects = fn, None
            t0 = time.perf_counter()
            call()
            record_seconds = time.perf_counter() - t0
            objects = objects or replayed()
            _, counted = count(call)
            timing, value = _measure(call, repeat, max_seconds)
        except Exception as exc:  # noqa: BLE001 - the row says why; the rest still runs
            results[key] = ModeResult(key, "", skipped=f"replay failed: {type(exc).__name__}: "
                                                       f"{str(exc).splitlines()[0] if str(exc) else ''}")
            return
        n_ops = sum(p.n_ops for o in objects for p in o.programs()[:1])
        counters = {c: sum(getattr(o, c) for o in objects)
                    for c in ("recordings", "replays", "mismatches")}
        counters.update(ops=n_ops, record_seconds=record_seconds)
        results[key] = ModeResult(key, "", timing, _replayed_work(eager.work, counted, n_ops),
                                  replay=counters,
                                  note=(f"recorded once in {_fmt_time(record_seconds)}; ops: "
                                        "NumPy calls of the program, work as eager"))
        values[key] = value

    # f, one JVP, one VJP: everything else is predicted from these counts.  Plain
    # f never enters dualad, so its operations are the ones its recording evaluates.
    (_, pullback), w_record = count(lambda: vjp(f, x))
    _, w_pullback = count(pullback, np.ones(()) if scalar else u)
    # jacrev's backward pass: the pullback in vector mode (api._pull_batch), one direction
    ones_u = np.ones(()) if scalar else np.ones_like(u)
    _, w_batched_pullback = count(lambda: jvp(pullback, (ones_u,),
                                              ((np.ones((1,)) if scalar else u[None]),),
                                              batched=True))
    del pullback
    w_f = measure("f", lambda: f(x))
    w_f.evals, w_f.eval_work = w_record.evals, w_record.eval_work
    w_f.overhead = NUMPY_OVERHEAD
    w_jvp = measure("jvp", lambda: jvp(f, (x,), (v,)))
    measure_replayed("replayed:jvp", lambda x, v: jvp(f, (x,), (v,)), (x, v))
    if scalar:
        w_vjp = measure("vjp", lambda: grad(f)(x))
        measure_replayed("replayed:vjp", grad(f), (x,))
    else:
        w_vjp = measure("vjp", lambda: vjp(f, x)[1](u))
        measure_replayed("replayed:vjp", lambda x, u: vjp(f, x)[1](u), (x, u))
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
    chunk = chunk_size or best_chunk(n, Work(w_jvp.evals, w_jvp.rule_apps, w_jvp.eval_work,
                                             passes=w_jvp.passes),
                                     w_jvp.rule_work, one_dir_peak, memory_limit / 4)
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk = min(int(chunk), n)
    fwd_pred = jacfwd_work(n, chunk, w_jvp)
    rev_pred = jacrev_work(m, w_record, w_batched_pullback)
    jac_bytes = 24.0 * n * m  # the Jacobian, its pieces and a reshaped copy

    hess_chunk = chunk
    w_fr = None
    if scalar:
        say(f"{name}: hvp")
        if wanted & {"hvp:fwd-over-rev", "hessian", "replayed:hvp"}:
            w_fr = measure("hvp:fwd-over-rev", lambda: hvp(f, x, v, "fwd-over-rev"))
            measure_replayed("replayed:hvp", lambda x, v: hvp(f, x, v, "fwd-over-rev"), (x, v))
        for mode in ("rev-over-fwd", "rev-over-rev"):
            maybe(f"hvp:{mode}", (lambda mode=mode: hvp(f, x, v, mode)), None)
        if "hvp:fwd-over-fwd" in wanted:
            # one direction of the n that fwd-over-fwd pushes at once
            e = np.zeros_like(x)
            e.flat[0] = 1.0
            _, w_one = count(lambda: jvp(lambda y: jvp(f, (y,), (v,))[1], (x,), (e,)))
            ff_pred = jacfwd_work(n, n, w_one)
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
            hess_chunk = chunk_size or best_chunk(
                n, per_pass, w_fr.rule_work, max(w_fr.peak_memory - w_vjp.peak_memory, 8 * n),
                memory_limit / 4)
            hess_chunk = min(int(hess_chunk), n)
    maybe("jacfwd", lambda: jacfwd(f, chunk_size=chunk)(x), fwd_pred, jac_bytes)
    chunk_info = _default_chunk(f, x, n, chunk, scalar, results, w_jvp, too_big, jac_bytes,
                                repeat, max_seconds, say, name)
    maybe("jacrev", lambda: jacrev(f)(x), rev_pred, jac_bytes)
    if scalar and "hessian" in wanted and w_fr is not None:
        hess_pred = jacfwd_work(n, hess_chunk, w_fr)
        hess_pred.peak_memory = int(w_fr.peak_memory * hess_chunk)
        # the result, its pieces before concatenation and a reshaped copy
        maybe("hessian", lambda: hessian(f, chunk_size=hess_chunk)(x), hess_pred, 24.0 * n * n)
    if "hvp:fwd-over-rev" in results and "hvp:fwd-over-rev" not in wanted:
        del results["hvp:fwd-over-rev"]
    sparse_info = None
    if wanted & {*SPARSE_MODES, "replayed:sparse"}:
        sparse_info = _sparse(f, x, scalar, m, n, local, wanted, measure, measure_replayed,
                              results, values, say, name)

    # ratios, labels, order
    labels = _labels(scalar, m, n, chunk, hess_chunk)
    if sparse_info is not None:
        labels.update(sparse_info.pop("labels", {}))
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
    rec = recommend(ordered, n, m, chunk, fwd_pred, rev_pred, scalar, w_jvp, chunk_info)
    if sparse_info is not None:
        rec.update(recommend_sparse(ordered, sparse_info, scalar))
    rec.update(recommend_replay(ordered, scalar))
    return CostReport(name, n, m, scalar, chunk, ordered, rec, checks, repeat, point=point)


def _default_chunk(f, x, n: int, chunk: int, scalar: bool, results: dict, w_jvp: Work,
                   too_big, jac_bytes: float, repeat: int, max_seconds: float, say,
                   name: str) -> dict:
    """jacfwd at its default (all n directions in one pass) beside the measured
    chunk, so that a chunk size is recommended only when measured faster.  A
    scalar f's gradient is grad's, not jacfwd's: nothing is measured for it."""
    info = {"chunk": chunk, "default": None, "default_skipped": None}
    row = results.get("jacfwd")
    if scalar or chunk >= n or row is None or row.timing is None:
        return info
    reason = too_big(jacfwd_work(n, n, w_jvp), jac_bytes)
    if reason:
        info["default_skipped"] = reason
        row.note = f"the default chunk ({n}, one pass) not run: {reason}"
        return info
    say(f"{name}: jacfwd, default chunk")
    info["default"], _ = _measure(lambda: jacfwd(f)(x), repeat, max_seconds)
    row.note = f"default chunk ({n}, one pass): {_fmt_time(info['default'].median)}"
    return info


def _sparse(f, x, scalar: bool, m: int, n: int, local: bool, wanted: set, measure,
            measure_replayed, results: dict, values: dict, say, name: str) -> dict:
    """Measure the sparse Jacobian (vector f) or Hessian (scalar f): detection,
    colouring, one evaluation by the reused object (eager, then replayed: the
    object's default).  Returns what the
    recommendation needs (``kind``, ``ncolors``, ``nnz``, ...); when the sparse
    mode is no use here (detection failed, pattern dense) its rows are left
    out and ``skipped`` says why."""
    kind = "Hessian" if scalar else "Jacobian"
    shape = (n, n) if scalar else (m, n)
    info = {"kind": kind, "shape": shape, "local": local, "skipped": None}
    detect = sparse.hessian_sparsity if scalar else sparse.jacobian_sparsity
    build = sparse.SparseHessian if scalar else sparse.SparseJacobian
    flavour = "local, at this x" if local else "global, for every x"
    try:
        measure("sparse:detect", lambda: detect(f, x, local=local))
    except sparse.BranchOnValue as exc:
        info["skipped"] = (f"global sparsity detection failed: f branches on a value "
                           f"({str(exc).splitlines()[0]}); use local=True (python -m dualad "
                           f"costs --local) for the pattern at this x")
        return info
    except Exception as exc:  # noqa: BLE001 - the report says what failed, the rest still runs
        info["skipped"] = (f"sparsity detection failed ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0] if str(exc) else ''}); the dense "
                           f"modes above are what there is")
        return info
    pattern = values["sparse:detect"]
    nnz, entries = int(pattern.nnz), shape[0] * shape[1]
    info.update(nnz=nnz, density=nnz / max(entries, 1),
                detect_seconds=results["sparse:detect"].seconds)

    def leave_out(reason: str) -> dict:
        spent = sum(results[k].seconds for k in ("sparse:detect", "sparse:color") if k in results)
        for key in SPARSE_MODES:
            results.pop(key, None)
            values.pop(key, None)
        info["skipped"] = f"{reason} (detecting and colouring it took {_fmt_time(spent)})"
        return info

    if nnz >= DENSE_FRACTION * entries:
        return leave_out(f"the {kind}'s pattern is dense ({nnz} of {shape[0]} x {shape[1]} "
                         f"entries): no gain over the dense modes")
    measure("sparse:color", lambda: build(f, x, sparsity=pattern))
    obj = values["sparse:color"]
    c = int(obj.ncolors)
    mode = getattr(obj, "mode", "star")
    # the dense modes need n directions (jacfwd, hessian) or m pulled-back rows (jacrev)
    dense_directions = n if scalar else min(n, m)
    info.update(ncolors=c, mode=mode)
    if c >= dense_directions:
        return leave_out(f"the {kind}'s pattern needs {c} colours, as many as the dense "
                         f"modes' {dense_directions} passes: no gain")
    obj.replay = False
    measure("sparse", lambda: obj(x))
    obj.replay = True
    measure_replayed("replayed:sparse", lambda: obj(x), None, replayed=lambda: obj.replayed)
    info["seconds"] = {key: results[key].seconds for key in SPARSE_MODES}
    again = results.get("replayed:sparse")
    if again is not None and again.timing is not None:
        # what an object costs per x as built (replay is its default)
        info["seconds"]["sparse"] = again.seconds
        info["replayed"] = True
    what = "HVPs" if scalar else "VJPs" if mode == "reverse" else "JVPs"
    how = ("star colouring" if scalar else
           "row colouring" if mode == "reverse" else "column colouring")
    info["labels"] = {
        "sparse:detect": f"sparse {kind}: detect pattern ({flavour}), once",
        "sparse:color": f"sparse {kind}: {how}, once",
        "sparse": f"sparse {kind} ({c} {what} in one pass), per x",
        "replayed:sparse": f"sparse {kind} (replayed), per x"}
    percent = 100.0 * info["density"]
    results["sparse:detect"].note = (f"nnz {nnz} of {shape[0]} x {shape[1]} ({percent:.2g}%); "
                                     "ops not observed (the sparsity trace does not report "
                                     "to the observer hook)")
    results["sparse:color"].note = f"{c} colours; no dualad ops (graph colouring in SciPy/NumPy)"
    results["sparse"].note = f"{c} colours for n = {n}"
    for key in SPARSE_MODES:
        if key not in wanted:
            results.pop(key)
    return info


def _replay_diff(replayed, eager) -> float:
    """Max relative difference of a replayed mode's result from the eager one's
    (a JVP's pair as one array; sparse matrices compared entry by entry, never
    densified)."""
    if hasattr(eager, "tocsr"):
        scale = max(float(abs(eager).max()) if eager.nnz else 0.0, 1e-300)
        diff = abs(replayed - eager)
        return float(diff.max()) / scale if diff.nnz else 0.0
    if isinstance(eager, tuple):
        flat = lambda t: np.concatenate([np.ravel(np.asarray(a, dtype=float)) for a in t])
        return _rel_diff(flat(replayed), flat(eager))
    return _rel_diff(replayed, eager)


def _checks(values: dict, scalar: bool, v) -> dict:
    """Max relative differences between modes that compute the same thing.

    "Hessian @ v vs hvp" covers every Hessian computed, dense and sparse;
    "sparse Jacobian vs jacfwd" (or jacrev, or J @ v vs the JVP, whichever
    ran) compares the sparse Jacobian's values with a dense mode's."""
    checks = {}
    replayed = [_replay_diff(values[k], values[e]) for k, e in REPLAYED.items()
                if k in values and e in values]
    if replayed:
        checks["replayed vs eager"] = max(replayed)
    hvps = [np.ravel(values[k]) for k in values if k.startswith("hvp:")]
    n = int(np.size(v))
    if len(hvps) > 1:
        checks["hvp modes"] = max(_rel_diff(h, hvps[0]) for h in hvps[1:])
    if "jacfwd" in values and "jacrev" in values:
        checks["jacfwd vs jacrev"] = _rel_diff(values["jacfwd"], values["jacrev"])
    if scalar and "jacrev" in values:
        checks["jacrev vs gradient"] = _rel_diff(values["jacrev"], values["vjp"])
    hessians = []
    if "hessian" in values:
        hessians.append(np.asarray(values["hessian"]).reshape(n, n))
    sparse_value = values.get("sparse")
    if scalar and sparse_value is not None:
        hessians.append(sparse_value)
    if hessians and hvps:
        checks["Hessian @ v vs hvp"] = max(_rel_diff(H @ np.ravel(v), hvps[0]) for H in hessians)
    elif scalar and sparse_value is not None and "hessian" in values:
        checks["sparse Hessian vs hessian"] = _rel_diff(sparse_value.toarray(), hessians[0])
    if not scalar and sparse_value is not None:
        J = sparse_value
        for dense in ("jacfwd", "jacrev"):
            if dense in values:
                reference = np.asarray(values[dense]).reshape(J.shape)
                checks[f"sparse Jacobian vs {dense}"] = _rel_diff(J.toarray(), reference)
                break
        else:
            checks["sparse Jacobian @ v vs jvp"] = _rel_diff(J @ np.ravel(v),
                                                             np.ravel(values["jvp"][1]))
    return checks


def sweep(problem: str | Callable, sizes: Sequence[int], *, m: int | None = None, n: int | None = None,
          vary: str = "n", repeat: int = 3, modes: Iterable[str] | None = None,
          chunk_size: int | None = None, max_seconds: float = 5.0, seed: int = 0,
          local: bool = False, name: str | None = None,
          progress: Callable[[str], None] | None = None) -> SweepReport:
    """:func:`compare` over a range of sizes.

    ``problem`` is a built-in problem's name (see :mod:`dualad.costs.problems`) or
    a callable ``size -> (f, x)``.  With ``vary="n"`` (the default) each size
    is the input size ``n`` and ``m`` stays fixed (the problem's default if
    not given); with ``vary="m"`` each size is the problem's second size and
    ``n`` stays fixed.  ``local`` is passed to :func:`compare`.  The report is
    named ``name``, by default the problem's name or, for a callable, the
    name of the function it returns (``f.__name__``); its size axis is each
    report's actual ``n`` (``SweepReport.xs``).

    >>> s = sweep("tanh", [4, 2000], m=10, repeat=1, modes=["jacfwd", "jacrev"])
    >>> [r.n for r in s.reports], s.crossover()["work"] is not None
    ([4, 2000], True)
    """
    if vary not in ("n", "m"):
        raise ValueError(f"vary must be 'n' or 'm', got {vary!r}")
    sizes = [problems._positive(s, "size") for s in sizes]
    if not sizes:
        raise ValueError("sizes must name at least one size")
    say = progress or (lambda msg: None)
    reports = []
    start = time.perf_counter()
    label = name or (problem if isinstance(problem, str) else None)
    for i, size in enumerate(sizes):
        if isinstance(problem, str):
            prob = problems.get(problem)
            inst = prob.make(n=size, m=m) if vary == "n" else prob.make(n=n, m=size)
            f, x = inst.f, inst.x
        else:
            f, x = problem(size)
            # the function's own name, not that of the callable that builds it
            label = label or next((nm for nm in (getattr(f, "__name__", None),
                                                 getattr(problem, "__name__", None))
                                   if nm and nm != "<lambda>"), "f")
        say(f"[{i + 1}/{len(sizes)}] {label}, {vary} = {size} "
            f"({time.perf_counter() - start:.1f} s elapsed)")
        reports.append(compare(f, x, repeat=repeat, modes=modes, chunk_size=chunk_size,
                               max_seconds=max_seconds, name=label, seed=seed, local=local))
    return SweepReport(label, vary, list(sizes), reports)
