"""Blocked execution of elementwise runs over large arrays.

Why
---
``f`` written in NumPy streams every operand through memory once per
operation; a derivative program has two to four times as many operations,
so at n = 10⁶ it is bound by memory traffic, not by Python.  A run of
elementwise operations can instead be done block by block: for each block
of ``BLOCK`` elements every operation of the run is applied to that block,
and the block's temporaries (a few times 256 KB) stay in cache.  What
reaches main memory is the run's inputs, read once, and the values used
after the run, written once.

What is blocked
---------------
A *region* is a maximal run of consecutive ops of the program that are
calls of one-output NumPy ufuncs (no keywords) whose result has one shape
``S`` with at least :data:`BLOCK_MIN` elements, and whose array arguments
have that shape too (scalars and 0-d arrays ride along).  Blocks are taken
along the first axis.  Anything else ends a region:

* slices and shifts (``x[1:]``): they are views, computed once before the
  region; the region reads them block by block like any input;
* reductions (``np.sum``), matrix products, scatters: they need a whole
  operand, so the region's values they read are written out in full;
* guards: Python looks at a whole value.

Inside a region, a value used only inside it lives in a block-sized
buffer, reused by liveness within the region; a value used later is written
into a full array -- into the buffer of a value that died *before* the
region, when :func:`~dualad.staging.program.plan_buffers` found one.  (Not
one that dies inside it: a reader there may see that value through a view
that reorders its entries, ``x[::-1]`` or ``x.T``, and read at a later block
what an op of the region already wrote at block 0.)  Block buffers are
reused within one block only, where every op reads and writes the same
index range.

Blocks are independent, so with ``workers > 1`` (``dualad.replay(fn,
workers=2)``) they are shared out over a thread pool of the program's own
(NumPy releases the GIL inside its loops), each thread with its own block
temporaries and its own invalid-operation guard; every block has finished
before the program goes on.  Whether that pays depends on the machine and
on what else runs on it, which is why it is a choice, measured by
``benchmarks/bench_replay.py``.
"""

from __future__ import annotations

import numpy as np

from .trace import Const, Op, Slot

__all__ = ["BLOCK", "BLOCK_MIN", "regions", "emit", "parallel"]

BLOCK = 1 << 15      # elements per block: 256 KB of float64
BLOCK_MIN = 1 << 17  # smaller runs run whole (a block loop costs Python calls)


def _array_args(step, values, shape, consts=None):
    """The slots among ``step``'s arguments that are whole arrays of
    ``shape``; None if some argument can be neither blocked nor passed as is."""
    found = []
    for a in step.args:
        t = type(a)
        if t is Slot:
            v = values[a.index]
            s = np.shape(v)
            if s == shape:
                found.append(a.index)
            elif s != ():
                return None
        elif t is int or t is float:
            continue
        elif t is np.ndarray or t is Const or isinstance(a, np.generic):
            if t is np.ndarray and a.ndim != 0:
                return None
            if t is Const and (consts is None or np.ndim(consts[a.index]) != 0):
                return None  # an array constant of the full shape is rare: not blocked
        else:
            return None
    return found


def _blockable(step, values, consts):
    if type(step) is not Op or step.kind != "ufunc" or step.kwargs:
        return None
    if not isinstance(step.fn, np.ufunc) or step.fn.nout != 1:
        return None
    out = values[step.out]
    if type(out) is not np.ndarray or out.size < BLOCK_MIN or out.ndim == 0:
        return None
    if _array_args(step, values, out.shape, consts) is None:
        return None
    return out.shape


def regions(steps: list, values: list, consts: list) -> list:
    """``[(start, stop, shape)]``: index ranges of ``steps`` run block by block."""
    found = []
    start, shape = None, None
    for i, step in enumerate(steps + [None]):
        s = _blockable(step, values, consts) if step is not None else None
        if s is not None and s == shape:
            continue
        if start is not None and i - start >= 2:
            found.append((start, i, shape))
        start, shape = (i, s) if s is not None else (None, None)
    return found


def parallel(executor):
    """``run(block, starts)``: ``block(b0)`` for every start, shared out over
    ``executor``'s threads, each under the invalid-operation guard of a
    replay (NumPy's error state is per thread).  Every block has finished
    when ``run`` returns or raises: none may still write into buffers that
    go back to the pool."""
    from concurrent.futures import wait

    from .program import Mismatch

    def invalid(kind, flag):
        raise Mismatch()

    def guarded(block, b0):
        with np.errstate(invalid="call", call=invalid):
            block(b0)

    def run(block, starts):
        futures = [executor.submit(guarded, block, b0) for b0 in starts]
        wait(futures)
        for f in futures:
            f.result()  # the first exception, if any
    return run


def emit(steps, values, start, stop, shape, used_after, taken, names, indent="    ",
         pooled=None, workers=1):
    """The source lines of one region: full arrays for the values used after
    it, block buffers for the others, and the loop over blocks.  ``taken``
    holds only buffers of values dead before the region (program._plan)."""
    inner = steps[start:stop]
    defined = {st.out for st in inner}
    last = {}
    for k, st in enumerate(inner):
        for a in _array_args(st, values, shape, names.consts):
            last[a] = k
    rows = max(1, BLOCK // max(1, int(np.prod(shape[1:], dtype=np.int64))))
    lines = []
    for k, st in enumerate(inner):
        if st.out in used_after:
            dead = taken.get(start + k)
            if dead is not None and dead not in defined:
                lines.append(f"{indent}s{st.out} = s{dead}")
            elif pooled and st.out in pooled:
                lines.append(f"{indent}s{st.out} = P[{pooled[st.out]}]")
            else:
                dt = names.bind(values[st.out].dtype, "D")
                lines.append(f"{indent}s{st.out} = _empty({shape!r}, {dt})")
    # block buffers for the region's own temporaries, reused by liveness
    buffer_of, free, n_buffers, buffer_dtypes = {}, {}, 0, []
    for k, st in enumerate(inner):
        if st.out not in used_after:
            dt = values[st.out].dtype
            pool = free.get(dt)
            if pool:
                buffer_of[st.out] = pool.pop()
            else:
                buffer_of[st.out] = n_buffers
                buffer_dtypes.append(dt)
                n_buffers += 1
        for a in set(_array_args(st, values, shape, names.consts)):  # x * x frees x once
            if last.get(a) == k and a in buffer_of and a in defined:
                free.setdefault(values[a].dtype, []).append(buffer_of[a])
    block_shape = (rows,) + tuple(shape[1:])
    threaded = workers > 1 and shape[0] > rows
    body = indent + "    "
    if threaded:
        # one function per block, run by the pool; each block its own temporaries
        name = f"R{start}"
        lines.append(f"{indent}def {name}(b0):")
        lines.append(f"{body}b1 = b0 + {rows}")
        if n_buffers:
            lines.append(f"{body}m = min({rows}, {shape[0]} - b0)")
            for b, dt in enumerate(buffer_dtypes):
                rest = "".join(f", {d}" for d in shape[1:])
                lines.append(f"{body}u{b} = _empty((m{rest},), {names.bind(dt, 'D')})")
    else:
        for b, dt in enumerate(buffer_dtypes):
            lines.append(f"{indent}T{b} = _empty({block_shape!r}, {names.bind(dt, 'D')})")
        lines.append(f"{indent}for b0 in range(0, {shape[0]}, {rows}):")
        lines.append(f"{body}b1 = b0 + {rows}")
        if n_buffers:
            lines.append(f"{body}m = min({rows}, {shape[0]} - b0)")
            for b in range(n_buffers):
                lines.append(f"{body}u{b} = T{b}[:m]")
    block_in = set()
    for st in inner:
        for a in _array_args(st, values, shape, names.consts):
            if a not in defined and a not in block_in:
                block_in.add(a)
                lines.append(f"{body}v{a} = s{a}[b0:b1]")

    def ref(a):
        if type(a) is Slot:
            i = a.index
            if i in buffer_of:
                return f"u{buffer_of[i]}"
            if i in defined:
                return f"w{i}"
            if np.shape(values[i]) == shape:
                return f"v{i}"
            return f"s{i}"
        return names.expr(a)

    for st in inner:
        fn = names.bind(st.fn, "F")
        args = ", ".join(ref(a) for a in st.args)
        if st.out in used_after:
            lines.append(f"{body}w{st.out} = s{st.out}[b0:b1]")
            lines.append(f"{body}{fn}({args}, out=w{st.out})")
        else:
            lines.append(f"{body}{fn}({args}, out=u{buffer_of[st.out]})")
    if threaded:
        lines.append(f"{indent}_parallel({name}, range(0, {shape[0]}, {rows}))")
    return lines
