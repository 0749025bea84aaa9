"""The timer the benchmark scripts share."""

from __future__ import annotations

import time


def best_time(fn, repeat: int = 5, number: int = 1) -> float:
    """Seconds per call: the best of ``repeat`` batches of ``number`` calls,
    after one warm-up call.

    The best batch is the one least disturbed by other processes on a shared
    machine, so ratios of best times are the most repeatable figures here.
    """
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best
