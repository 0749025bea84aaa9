"""Predictions and recommendations from counted work.

What this module lets you do
----------------------------
Predict the work of modes from a few counted ones -- jacfwd from one JVP
(:func:`jacfwd_work`), jacrev from one recording and one pullback
(:func:`jacrev_work`) -- pick a chunk size for vector mode
(:func:`best_chunk`), and turn a comparison's figures into a
recommendation with its reasons (:func:`recommend`), starting from what
``f`` is: a scalar loss gets ``grad`` and an HVP nesting, a vector function
jacfwd or jacrev.  :func:`plausibility` flags timings that cannot be right
(a derivative faster than ``f``).

The counts are deterministic, so the choice between jacfwd and jacrev made
from them is too: jacfwd costs ``ceil(n / chunk)`` forward passes (each a
primal evaluation and its JVP rules, in vector mode with ``chunk``
directions), jacrev one recording and one backward pass in vector mode
with ``m`` directions; both are predicted from one counted JVP and one
counted (batched) pullback, so modes too big to run (a dense
Hessian at n = 10^5, say) still get figures, marked *predicted*.  Among the
HVP nestings, whose work differs by less than the model's accuracy, the
measured time decides.
"""

from __future__ import annotations

import math

from .counting import OVERHEAD, PASS_OPS, Work
from .report import REPLAYED, _fmt_count, _fmt_ratio, _fmt_time

__all__ = ["best_chunk", "jacfwd_work", "jacrev_work", "recommend", "recommend_sparse",
           "recommend_replay", "plausibility"]


def best_chunk(n: int, per_pass: Work, per_direction_work: float, peak_per_direction: float,
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


def jacfwd_work(n: int, chunk: int, one_jvp: Work) -> Work:
    """jacfwd's work from one counted single-direction JVP."""
    passes = -(-n // chunk)
    return Work(evals=passes * one_jvp.evals, rule_apps=passes * one_jvp.rule_apps,
                eval_work=passes * one_jvp.eval_work, rule_work=n * one_jvp.rule_work,
                passes=passes * one_jvp.passes,
                tape_entries=passes * one_jvp.tape_entries,
                tape_bytes=one_jvp.tape_bytes * min(chunk, n),
                peak_memory=int(one_jvp.peak_memory * min(chunk, n)))


def jacrev_work(m: int, record: Work, batched_pullback: Work) -> Work:
    """jacrev's work: one recording and one backward pass pulling ``m``
    cotangents at once, from a counted batched pullback of one direction
    (whose arithmetic the ``m`` directions repeat, as jacfwd's do)."""
    pull = jacfwd_work(m, m, batched_pullback)
    return Work(evals=record.evals + pull.evals, rule_apps=record.rule_apps + pull.rule_apps,
                eval_work=record.eval_work + pull.eval_work,
                rule_work=record.rule_work + pull.rule_work,
                passes=record.passes + pull.passes,
                tape_entries=record.tape_entries, tape_bytes=record.tape_bytes,
                peak_memory=record.peak_memory + pull.peak_memory)


def recommend(results: dict, n: int, m: int, chunk: int, fwd: Work, rev: Work,
              scalar: bool, w_jvp: Work, chunk_info: dict | None = None) -> dict:
    """The recommendation of a comparison, starting from what ``f`` is.

    A scalar ``f`` (a loss): ``gradient`` ('grad': one backward pass, whatever
    jacfwd and jacrev cost), ``hvp`` (a nesting) and ``operator`` (whether
    HessianOperator beats a fresh HVP).  A vector ``f``: ``jacobian``
    ('jacfwd' or 'jacrev', from the predicted work ``fwd`` and ``rev``, which
    follow the shape m x n) and ``chunk_size`` -- a chunk for jacfwd only
    when it was measured faster than jacfwd's default (all n directions in
    one pass) or the default did not fit in memory; None otherwise.  Each
    comes with a sentence of reasons (``*_reason``); ``results`` are the
    modes' figures, ``chunk_info`` what :func:`~dualad.costs.compare`
    measured of the default chunk.
    """
    rec: dict = {"jacfwd_units": fwd.units, "jacrev_units": rev.units}
    if scalar:
        rec.update(_recommend_gradient(results, n))
        rec.update(_recommend_hvp(results))
        return rec
    passes = -(-n // chunk)
    winner = "jacfwd" if fwd.units < rev.units else "jacrev"
    ratio = max(fwd.units, rev.units) / max(min(fwd.units, rev.units), 1.0)
    rec["jacobian"] = winner
    shape = (f"{n} input{'s' * (n > 1)} {'<' if n < m else '>' if n > m else '='} "
             f"{m} output{'s' * (m > 1)}")
    reason = (f"Jacobian ({m} x {n}; {shape}): {winner}, {ratio:.3g}x less work. jacfwd = "
              f"{passes} forward pass{'es' * (passes > 1)} of {chunk} directions "
              f"({_fmt_count(fwd.ops)} ops, {_fmt_count(fwd.work)} element ops); jacrev = "
              f"1 recording + 1 pullback of {m} row{'s' * (m > 1)} ({_fmt_count(rev.ops)} ops, "
              f"{_fmt_count(rev.work)} element ops).")
    tf, tr = results.get("jacfwd"), results.get("jacrev")
    if tf and tr and tf.timing and tr.timing:
        fastest = "jacfwd" if tf.timing.median < tr.timing.median else "jacrev"
        reason += (f" Measured: jacfwd {_fmt_time(tf.seconds)}, jacrev {_fmt_time(tr.seconds)}"
                   f" ({'agrees' if fastest == winner else 'disagrees: ' + fastest + ' was faster'}).")
    rec["jacobian_reason"] = reason
    rec.update(_recommend_chunk(results, n, chunk_info or {"chunk": chunk}))
    return rec


def _recommend_gradient(results: dict, n: int) -> dict:
    """A scalar loss: grad, with what it cost and what jacfwd/jacrev would."""
    g = results.get("vjp")
    cost = f", {_fmt_ratio(g.ratio)}x f measured" if g is not None and g.ratio else ""
    reason = (f"Gradient of a scalar loss (n = {n}): dualad.grad(f), or "
              f"dualad.value_and_grad(f) for the loss too -- one backward pass{cost}")
    others = []
    for key in ("jacrev", "jacfwd"):
        r = results.get(key)
        if r is not None and (r.ratio or r.work_ratio):
            figure = (f"{_fmt_ratio(r.ratio)}x f" if r.ratio else
                      f"{_fmt_ratio(r.work_ratio)}x f predicted")
            others.append(f"{key} {figure}")
    if others:
        reason += f" (the same gradient by {' and '.join(others)})"
    again = results.get("replayed:vjp")
    if (again is not None and g is not None and again.timing and g.timing
            and again.timing.median < g.timing.min):
        reason += (f"; replayed, dualad.replay(dualad.grad(f)), {_fmt_ratio(again.ratio)}x f "
                   "(see replay below)")
    return {"gradient": "grad", "gradient_reason": reason + "."}


def _recommend_hvp(results: dict) -> dict:
    rec: dict = {}
    cands = {k[4:]: r for k, r in results.items()
             if k.startswith("hvp:") and k != "hvp:operator" and r.work is not None}
    if not cands:
        return rec
    # the nestings' work differs by less than the model's accuracy, so the
    # measured median decides among those that ran; work decides otherwise
    least_work = min(cands, key=lambda k: cands[k].work.units)
    timed = {k: r for k, r in cands.items() if r.timing is not None}
    best = min(timed, key=lambda k: timed[k].timing.median) if timed else least_work
    rec["hvp"] = best
    others = ", ".join(f"{k} {_fmt_ratio(r.ratio) if r.ratio else '-'}x"
                       for k, r in cands.items() if k != best)
    reason = (f"HVP nesting: {best}, dualad.hvp(f, x, v, {best!r}), the fastest measured "
              f"({_fmt_ratio(cands[best].ratio)}x f; {others}). " if timed else
              f"HVP nesting: {best}, dualad.hvp(f, x, v, {best!r}), the least work. ")
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


def _recommend_chunk(results: dict, n: int, info: dict) -> dict:
    """jacfwd's chunk size: recommended only when measured faster than the
    default (all n at once; measurably: its median below the default's
    fastest sample), or when the default does not fit in memory."""
    chunk, default, row = info["chunk"], info.get("default"), results.get("jacfwd")
    if chunk >= n:
        return {"chunk_size": None,
                "chunk_size_reason": f"Chunk size: jacfwd's default (all {n} directions in "
                                     "one pass) is the one measured."}
    passes = -(-n // chunk)
    if info.get("default_skipped"):
        return {"chunk_size": chunk,
                "chunk_size_reason": (
                    f"Chunk size {chunk} for jacfwd ({passes} passes): the default (all {n} "
                    f"directions in one pass) was not run ({info['default_skipped']}).")}
    if default is None or row is None or row.timing is None:
        return {"chunk_size": None,
                "chunk_size_reason": "Chunk size: jacfwd's default (all directions in one "
                                     "pass); no other chunk was measured against it."}
    faster = row.timing.median < default.min
    measured = (f"chunk {chunk} ({passes} passes) took {_fmt_time(row.timing.median)}, the "
                f"default (all {n} in one pass) {_fmt_time(default.median)}")
    reason = (f"Chunk size {chunk} for jacfwd (jacfwd(f, chunk_size={chunk})): {measured} -- "
              "measurably faster than the default." if faster else
              f"Chunk size: keep jacfwd's default: {measured}, not measurably faster.")
    return {"chunk_size": chunk if faster else None, "chunk_size_reason": reason}


# Modes that evaluate f itself on its arrays (with dualad's dispatch on top):
# none can take less time than f.  Left out: HessianOperator's product and
# the colouring (they do not evaluate f), the sparsity detection (it traces
# patterns, not values) and the replayed modes (a program may drop work of f
# that the derivative does not need).
RUNS_F = ("jvp", "vjp", "hvp:fwd-over-rev", "hvp:rev-over-fwd", "hvp:rev-over-rev",
          "hvp:fwd-over-fwd", "operator-build", "jacfwd", "jacrev", "hessian", "sparse")


def plausibility(results: dict, blas_threads: str = "") -> dict:
    """Timings that cannot be right: a mode that evaluates f measured faster
    than f.  Returns ``implausible`` (their keys, in report order) and, when
    there are any, ``plausibility_reason``: what to do about it.  Their rows
    get a note too.

    >>> from dualad.costs.report import ModeResult
    >>> from dualad.costs.timing import Timing
    >>> row = lambda key, s, ratio: ModeResult(key, key, Timing(s, s, s, 3, 1), ratio=ratio)
    >>> rec = plausibility({"f": row("f", 1.0, 1.0), "jacrev": row("jacrev", 0.04, 0.04)})
    >>> rec["implausible"], "OMP_NUM_THREADS=1" in rec["plausibility_reason"]
    (['jacrev'], True)
    """
    bad = [k for k, r in results.items()
           if k in RUNS_F and r.timing is not None and r.ratio is not None and r.ratio < 1.0]
    if not bad:
        return {"implausible": []}
    for k in bad:
        note = "implausible: faster than f, which it evaluates (timing noise)"
        results[k].note = f"{results[k].note}; {note}" if results[k].note else note
    shown = ", ".join(f"{results[k].label or k} {_fmt_ratio(results[k].ratio)}x f" for k in bad)
    pinned = "" if blas_threads.startswith("pinned") else (
        "pin BLAS threads (OMP_NUM_THREADS=1, or install threadpoolctl, which dualad.costs "
        "then uses while measuring), ")
    reason = (f"Implausible timings, treat as noise: {shown}. Each of these evaluates f "
              "(with dualad's dispatch on top), so it cannot take less time than f: f's "
              "samples or theirs were disturbed (a loaded machine, multi-threaded BLAS). "
              f"Re-run on a quiet machine, {pinned}with more repeats (--repeat 15); the "
              "work counts are not affected, but choices made from measured times (HVP "
              "nesting, chunk size, replay) may be.")
    return {"implausible": bad, "plausibility_reason": reason}


def _dense_cost(results: dict, keys) -> tuple:
    """The cheapest dense mode among ``keys``: (key, cost x f, predicted?).  A
    mode that ran costs its measured time ratio; one skipped as too big, its
    predicted work ratio (units are calibrated so that a ratio of units
    predicts a ratio of times)."""
    best = None
    for key in keys:
        r = results.get(key)
        if r is None:
            continue
        cost, predicted = (r.ratio, False) if r.timing is not None else (r.work_ratio, True)
        if cost is not None and (best is None or cost < best[1]):
            best = (key, cost, predicted)
    return best


def recommend_sparse(results: dict, info: dict, scalar: bool) -> dict:
    """Whether the sparse Jacobian (vector f) or Hessian (scalar f) wins.

    ``info`` is what the comparison found (colours, nonzeros, seconds of
    detection, colouring and one evaluation, or why the sparse mode was left
    out).  Returns ``sparse`` (True when it wins, False when it does not or
    was left out, None with no dense mode to compare with), ``sparse_calls``
    (it wins for a solver making at least that many calls: 1 when even a
    one-off derivative is cheaper; None if it never wins), ``sparse_reason``
    and, when it ran, ``sparse_ncolors`` and ``sparse_nnz``.

    >>> import numpy as np
    >>> from dualad import costs
    >>> rec = costs.compare(lambda x: x[1:] * x[:-1], np.ones(50), repeat=1).recommendation
    >>> rec["sparse_ncolors"], rec["sparse_nnz"]
    (2, 98)
    """
    kind = info["kind"]
    if info["skipped"]:
        return {"sparse": False, "sparse_calls": None,
                "sparse_reason": f"Sparse {kind}: not used: {info['skipped']}."}
    t_f = results["f"].seconds
    seconds = info["seconds"]
    once = (seconds["sparse:detect"] + seconds["sparse:color"]) / t_f
    each = seconds["sparse"] / t_f
    c, (rows, cols) = info["ncolors"], info["shape"]
    how = "star" if scalar else "rows, VJPs" if info["mode"] == "reverse" else "columns, JVPs"
    head = (f"Sparse {kind}: {c} colour{'s' * (c != 1)} ({how}), {info['nnz']} nonzeros of "
            f"{rows} x {cols}; detect + colour once ({_fmt_ratio(once)}x f), then each {kind} "
            f"costs {_fmt_ratio(each)}x f{' (replayed, the default)' if info.get('replayed') else ''}")
    dense = _dense_cost(results, ("hessian",) if scalar else ("jacfwd", "jacrev"))
    if dense is None:
        return {"sparse": None, "sparse_calls": None, "sparse_ncolors": c,
                "sparse_nnz": info["nnz"],
                "sparse_reason": head + ". No dense mode was measured to compare with."}
    key, cost, predicted = dense
    name = "the dense Hessian" if key == "hessian" else key
    head += f" -- vs {name} {_fmt_ratio(cost)}x f{' (predicted)' if predicted else ''}. "
    if once + each < cost:
        calls, verdict = 1, (f"Use it: even a one-off {kind} (detect + colour + evaluate, "
                             f"{_fmt_ratio(once + each)}x f) beats {name}.")
    elif each < cost:
        calls = math.ceil(once / (cost - each))
        verdict = (f"One sparse evaluation beats {name}, but detection and colouring cost "
                   f"{_fmt_ratio(once)}x f: use it for a solver making {calls} or more calls "
                   f"at new points (detect once, evaluate each time); {name} for fewer.")
    else:
        calls, verdict = None, f"Use {name}: it costs less than one sparse evaluation."
    return {"sparse": calls is not None, "sparse_calls": calls, "sparse_reason": head + verdict,
            "sparse_ncolors": c, "sparse_nnz": info["nnz"]}


_REPLAY_NAMES = {"replayed:jvp": "JVP", "replayed:vjp": "gradient",
                 "replayed:hvp": "HVP", "replayed:sparse": "sparse evaluation"}


def recommend_replay(results: dict, scalar: bool = True) -> dict:
    """Whether wrapping in :func:`dualad.replay` pays: ``replay`` is True when
    some replayed mode is measurably cheaper than its eager twin (its median
    below the eager mode's fastest sample), False when none is, None when no
    replayed mode ran; ``replay_reason`` gives the figures and from how many
    calls the recording is paid back.

    >>> import numpy as np
    >>> from dualad import costs
    >>> r = costs.compare(lambda x: np.sum(np.sin(x) ** 2), np.ones(10), repeat=3,
    ...                   modes=["replayed:vjp"])
    >>> r.recommendation["replay"] in (True, False), r["replayed:vjp"].replay["recordings"]
    (True, 1)
    """
    names = dict(_REPLAY_NAMES, **({} if scalar else {"replayed:vjp": "VJP"}))
    pairs = []
    for key, eager_key in REPLAYED.items():
        r, e = results.get(key), results.get(eager_key)
        if r is not None and e is not None and r.timing is not None and e.timing is not None:
            pairs.append((key, r, e))
    if not pairs:
        return {}
    cheaper = [(k, r, e) for k, r, e in pairs if r.timing.median < e.timing.min]
    if not cheaper:
        shown = ", ".join(f"{names[k]} {_fmt_ratio(r.ratio)}x f (eager "
                          f"{_fmt_ratio(e.ratio)}x f)" for k, r, e in pairs)
        return {"replay": False,
                "replay_reason": f"dualad.replay: not measurably cheaper here ({shown}); "
                                 "the arrays are large enough that dispatch costs little."}
    parts = []
    for k, r, e in cheaper:
        saved = e.timing.median - r.timing.median
        calls = math.ceil(r.replay["record_seconds"] / saved) if saved > 0 else None
        parts.append(f"{names[k]} {_fmt_ratio(r.ratio)}x f instead of "
                     f"{_fmt_ratio(e.ratio)}x f (recording once: "
                     f"{_fmt_time(r.replay['record_seconds'])}, paid back after "
                     f"{calls} call{'s' * (calls != 1)})")
    return {"replay": True,
            "replay_reason": "Wrap in dualad.replay (f must be pure: see dualad.staging): "
                             + "; ".join(parts) + "."}
