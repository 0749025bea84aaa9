"""Timing a call: median, min and max of repeats, each a batch of calls.

What this module lets you do
----------------------------
:func:`measure` times a call within a time budget and returns a
:class:`Timing` together with the call's result.  A call under about 10 ms
is timed in batches (``loops``) so that the timer's resolution does not
matter; a call longer than half the budget is timed once.
:func:`single_threaded_blas` pins BLAS to one thread while it is entered,
when threadpoolctl is installed (an optional extra, never required): a
multi-threaded BLAS on a shared machine makes timings of small calls noise.
"""

from __future__ import annotations

import contextlib
import gc
import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Iterator

__all__ = ["Timing", "measure", "single_threaded_blas"]

UNPINNED = "not pinned"
"""How :func:`single_threaded_blas`'s status starts when it could not pin."""


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[str]:
    """Within the block, BLAS and OpenMP pools limited to one thread by
    threadpoolctl if it is installed; yields a sentence saying which.

    >>> with single_threaded_blas() as status:
    ...     status.startswith(("pinned", UNPINNED))
    True
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                          "MKL_NUM_THREADS") if k in os.environ}
        set_by = (" (" + ", ".join(f"{k}={v}" for k, v in env.items()) + " in the "
                  "environment)") if env else ""
        yield (f"{UNPINNED} by dualad: threadpoolctl is not installed{set_by}; for steadier "
               "timings run with OMP_NUM_THREADS=1 or pip install threadpoolctl")
        return
    with threadpool_limits(limits=1):
        yield "pinned to 1 thread (threadpoolctl) while measuring"



@dataclass
class Timing:
    """Seconds per call: median, min and max over ``samples`` samples, each the
    mean of ``loops`` back-to-back calls (loops > 1 only for calls under ~10 ms)."""

    median: float
    min: float
    max: float
    samples: int
    loops: int


def measure(fn: Callable, repeat: int, max_seconds: float):
    """Time ``fn`` in ``repeat`` samples at most, within about ``max_seconds``;
    returns ``(Timing, fn's result)``."""
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

