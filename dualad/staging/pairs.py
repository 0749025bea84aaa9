"""Pairs of small operations done as one: the primal and its tangent side by side.

Why
---
On small arrays a program's cost is the number of NumPy calls, not the
work in them.  A JVP program repeats much of the primal computation on the
tangents -- ``y * 1.01`` and ``t * 1.01``, ``a + b`` and ``ta + tb`` -- and
each of those pairs is the same ufunc with the same constants on arrays of
one shape.  Kept as the two rows of one ``(2, ...)`` array, such a pair is
one call.

What is paired
--------------
Two ufunc ops of one ufunc (no keywords), whose results have the same
small shape and dtype, whose constant arguments are the same, and whose
array arguments have the results' shape, pairwise: ``f(a0, c, b0)`` with
``f(a1, c, b1)``.  The later op must read nothing made after the earlier
one, so that both can run where the first stood.  Each pair of array
arguments must already be a *stack* -- the two rows of one buffer, in that
order -- or become one: the ops that make them are unpaired ufunc calls,
which then write into the rows (``out=``).  A value is in at most one stack,
at one row; a pair whose arguments would need another arrangement is left
alone.  Values that are handed out (outputs, or anything an output may be a
view of) are never stacked.

The stacks live in the program's pool (``dualad.staging.program``), with
their two row views made once, so a paired call costs what one call costs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .trace import Op, Slot, same_array

__all__ = ["PAIR_MAX_SIZE", "Pairing", "find"]

# elements; larger operations are bound by their work, not by calls.  Below
# program.BUFFER_MIN_SIZE, so no stacked value is ever also a buffer lent by
# liveness (checked where the program is planned).
PAIR_MAX_SIZE = 1024
WINDOW = 12  # how far back a partner is looked for


class Pairing(NamedTuple):
    first: dict    # op index of the first of a pair -> (second's op index, output stack)
    second: set    # op indices of the second ops (they emit nothing)
    rows: dict     # op index of an unpaired op writing into a stack -> (stack, row)
    args: dict     # op index of a first op -> its arguments (stack ids for array pairs)
    stacks: list   # stack id -> (shape, dtype) of one row


def _small_ufunc(step, values):
    if type(step) is not Op or step.kind != "ufunc" or step.kwargs:
        return False
    if not isinstance(step.fn, np.ufunc) or step.fn.nout != 1:
        return False
    out = values[step.out]
    return type(out) is np.ndarray and 0 < out.size <= PAIR_MAX_SIZE


def find(steps: list, values: list, escaping: set) -> Pairing:
    """Pairs chosen greedily in program order (see the module docstring)."""
    producer = {}
    for i, st in enumerate(steps):
        if type(st) is Op:
            producer[st.out] = i
    stack_of: dict = {}   # slot -> (stack id, row)
    writes: dict = {}     # op index -> (stack, row) it writes into
    stacks: list = []
    first: dict = {}
    second: set = set()
    args_of: dict = {}
    defined_at = {st.out: i for i, st in enumerate(steps) if type(st) is Op}

    def free_producer(slot):
        """The op making ``slot`` can write into a stack row."""
        k = producer.get(slot)
        return (k is not None and k not in first and k not in second and k not in writes
                and _small_ufunc(steps[k], values) and slot not in escaping)

    for j, b in enumerate(steps):
        if not _small_ufunc(b, values) or b.out in escaping or b.out in stack_of:
            continue
        out_b = values[b.out]
        for i in range(max(0, j - WINDOW), j):
            if i in first or i in second or i in writes:
                continue
            a = steps[i]
            if not _small_ufunc(a, values) or a.fn is not b.fn or len(a.args) != len(b.args):
                continue
            if a.out in escaping or a.out in stack_of:
                continue
            out_a = values[a.out]
            if out_a.shape != out_b.shape or out_a.dtype != out_b.dtype:
                continue
            # b must read nothing made at or after a
            if any(type(x) is Slot and defined_at.get(x.index, -1) >= i for x in b.args):
                continue
            plan, ok, new_stacks, new_writes = [], True, {}, {}
            for x, y in zip(a.args, b.args):
                if type(x) is Slot and type(y) is Slot:
                    vx, vy = values[x.index], values[y.index]
                    if not (type(vx) is np.ndarray and vx.shape == out_a.shape
                            and vx.dtype == out_a.dtype and type(vy) is np.ndarray
                            and vy.shape == out_a.shape and vy.dtype == out_a.dtype):
                        ok = False
                        break
                    sx = stack_of.get(x.index) or new_stacks.get(x.index)
                    sy = stack_of.get(y.index) or new_stacks.get(y.index)
                    if sx is not None or sy is not None:
                        if not (sx is not None and sy is not None and sx[0] == sy[0]
                                and sx[1] == 0 and sy[1] == 1):
                            ok = False
                            break
                        plan.append(("stack", sx[0]))
                        continue
                    if x.index == y.index or not (free_producer(x.index)
                                                  and free_producer(y.index)):
                        ok = False
                        break
                    px, py = producer[x.index], producer[y.index]
                    if px in new_writes or py in new_writes:
                        ok = False
                        break
                    sid = len(stacks) + len({v[0] for v in new_stacks.values()})
                    new_stacks[x.index], new_stacks[y.index] = (sid, 0), (sid, 1)
                    new_writes[px], new_writes[py] = (sid, 0), (sid, 1)
                    plan.append(("stack", sid))
                elif type(x) is Slot or type(y) is Slot:
                    ok = False
                    break
                elif type(x) is type(y) and _same_constant(x, y):
                    plan.append(("const", x))
                else:
                    ok = False
                    break
            if not ok or not any(kind == "stack" for kind, _ in plan):
                continue
            for sid in sorted({v[0] for v in new_stacks.values()}):
                assert sid == len(stacks)
                stacks.append((out_a.shape, out_a.dtype))
            stack_of.update(new_stacks)
            writes.update(new_writes)
            sid = len(stacks)
            stacks.append((out_a.shape, out_a.dtype))
            stack_of[a.out], stack_of[b.out] = (sid, 0), (sid, 1)
            first[i] = (j, sid)
            second.add(j)
            args_of[i] = plan
            break
    return Pairing(first, second, writes, args_of, stacks)


def _same_constant(x, y) -> bool:
    if x is y:
        return True
    if type(x) in (int, float) and type(y) is type(x):
        return repr(x) == repr(y)
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        return same_array(x, y)  # bit for bit: arctan2 tells 0.0 from -0.0
    return False
