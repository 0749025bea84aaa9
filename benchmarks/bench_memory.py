"""Memory and the cost of safety: tape size, checkpointing, the NaN-safe retry.

Run:  python benchmarks/bench_memory.py [--quick]

Three measurements, each printed as figures from this one run:

1. The tape.  A gradient through a chain of 10^6 primitive operations on
   3-element arrays completes; the memory the tape holds, per recorded
   operation, is measured with tracemalloc (current memory after recording,
   minus the baseline, divided by the number of operations), and so is
   what is left once the pullback is dropped.
2. checkpoint(fn).  A long chain on 1000-element and on 10-element arrays,
   plain and split into ~sqrt(n) checkpointed segments: tracemalloc peak of
   a gradient (memory saving) and its time (recomputation cost), as ratios.
3. The NaN-safe retry.  The same function at inputs where ``np.where``'s
   untaken branch is NaN (the reverse pass comes out NaN and is recomputed
   with 0 * inf = 0) and at inputs where it is not: gradient times and
   their ratio; also the cost of a pass run in NaN-safe mode throughout.

tracemalloc slows allocation down, so times are measured without it.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import time
import tracemalloc

import numpy as np

import dualad as ad
import dualad.api
from dualad.checkpoint import checkpoint


def timeit(fn, repeat: int) -> float:
    """Median seconds per call over ``repeat`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


@contextlib.contextmanager
def traced_memory():
    """Yield a function returning (current, peak) bytes above the baseline."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    try:
        yield lambda: tuple(m - base for m in tracemalloc.get_traced_memory())
    finally:
        tracemalloc.stop()


# ---- 1. the tape -----------------------------------------------------------------
def chain(y, steps):
    for _ in range(steps):
        y = y * 0.9999 + 1e-5 * np.sin(y)    # 4 primitives per step
    return np.sum(y)


def bench_tape(n_ops: int):
    steps = n_ops // 4
    n_ops = 4 * steps + 1                    # + the final sum
    x = np.array([0.1, 0.5, -0.3])
    t0 = time.perf_counter()
    _, pullback = ad.vjp(lambda y: chain(y, steps), x)
    t_record = time.perf_counter() - t0
    t0 = time.perf_counter()
    (g,) = pullback(1.0)
    t_backward = time.perf_counter() - t0
    del pullback
    assert np.all(np.isfinite(g))
    gc.collect()
    with traced_memory() as memory:
        _, pullback = ad.vjp(lambda y: chain(y, steps), x)
        held, _ = memory()
        pullback(1.0)
        _, peak = memory()
        del pullback
        gc.collect()
        left, _ = memory()
    print(f"\n1. Tape of {n_ops:,} primitive operations on 3-element arrays")
    print(f"  record (f on the tape)     {t_record:8.2f} s")
    print(f"  backward pass              {t_backward:8.2f} s")
    print(f"  memory held by the tape    {held / 2**20:8.1f} MiB"
          f"  = {held / n_ops:.0f} bytes per recorded operation")
    print(f"  peak during the backward   {peak / 2**20:8.1f} MiB")
    print(f"  left after del pullback    {left / 2**10:8.1f} KiB")


# ---- 2. checkpoint ------------------------------------------------------------------
def step(y):
    return np.tanh(y) * 0.99 + 0.01 * y      # 4 primitives


def plain_chain(x, steps):
    y = x
    for _ in range(steps):
        y = step(y)
    return np.sum(y * y)


def segment(y, length):
    for _ in range(length):
        y = step(y)
    return y


def checkpointed_chain(x, steps, length):
    seg = checkpoint(segment)
    y = x
    for _ in range(steps // length):
        y = seg(y, length)
    return np.sum(y * y)


def bench_checkpoint(steps: int, size: int, repeat: int):
    length = max(1, int(round(np.sqrt(steps))))
    steps = (steps // length) * length
    x = np.linspace(-1.0, 1.0, size)
    plain = ad.grad(lambda y: plain_chain(y, steps))
    ckpt = ad.grad(lambda y: checkpointed_chain(y, steps, length))
    np.testing.assert_allclose(ckpt(x), plain(x), rtol=1e-12, atol=1e-14)
    peaks = {}
    for name, fn in (("plain", plain), ("checkpointed", ckpt)):
        gc.collect()
        with traced_memory() as memory:
            fn(x)
            peaks[name] = memory()[1]
    times = {"plain": timeit(lambda: plain(x), repeat),
             "checkpointed": timeit(lambda: ckpt(x), repeat)}
    t_f = timeit(lambda: plain_chain(x, steps), repeat)
    print(f"\n2. checkpoint: gradient of a chain of {steps} steps ({4 * steps:,} primitives) "
          f"on {size}-element arrays,\n   checkpointed in {steps // length} segments "
          f"of {length} steps")
    print(f"  {'':<16}{'peak memory':>14}{'time':>11}{'time / f':>10}")
    for name in ("plain", "checkpointed"):
        print(f"  {name:<16}{peaks[name] / 2**20:>11.1f} MiB{times[name] * 1e3:>9.1f}ms"
              f"{times[name] / t_f:>10.2f}")
    print(f"  memory ratio checkpointed / plain: {peaks['checkpointed'] / peaks['plain']:.3f};"
          f" time ratio: {times['checkpointed'] / times['plain']:.2f}")


# ---- 3. the NaN-safe retry ------------------------------------------------------------
def with_where(x):
    """A moderately sized function whose where() has a NaN branch when x > 0."""
    branch = np.where(x > 0, x, np.sqrt(-x))
    y = x
    for _ in range(20):
        y = np.tanh(y) * 0.9 + 0.1 * branch * y
    return np.sum(y * y)


@contextlib.contextmanager
def counting_retries():
    """Count the NaN-safe recomputations the API performs."""
    count = [0]
    original = dualad.api.switched_on

    @contextlib.contextmanager
    def counted():
        count[0] += 1
        with original():
            yield
    dualad.api.switched_on = counted
    try:
        yield count
    finally:
        dualad.api.switched_on = original


from dualad.nan_safe import switched_on as nan_safe_throughout  # noqa: E402


def bench_retry(size: int, repeat: int):
    rng = np.random.default_rng(0)
    r = rng.uniform(0.5, 1.5, size)
    x_nan, x_clean = r, -r         # x > 0: sqrt(-x) is NaN on the untaken side
    g = ad.grad(with_where)
    with counting_retries() as retries, np.errstate(invalid="ignore"):
        g_nan = g(x_nan)
        n_nan = retries[0]
        g(x_clean)
        n_clean = retries[0] - n_nan
    assert n_nan == 1 and n_clean == 0, (n_nan, n_clean)
    assert np.all(np.isfinite(g_nan))
    t_f = timeit(lambda: with_where(x_clean), repeat)
    t_clean = timeit(lambda: g(x_clean), repeat)
    t_retry = timeit(lambda: g(x_nan), repeat)
    with nan_safe_throughout():
        t_safe = timeit(lambda: g(x_clean), repeat)
    v = np.ones(size)
    t_hvp_clean = timeit(lambda: ad.hvp(with_where, x_clean, v), repeat)
    t_hvp_retry = timeit(lambda: ad.hvp(with_where, x_nan, v), repeat)
    print(f"\n3. NaN-safe retry: gradient of a 20-step function (~85 primitives) with one\n"
          f"   where(x > 0, x, sqrt(-x)), on {size:,} elements")
    print(f"  {'':<44}{'time':>10}{'ratio':>8}")
    rows = [("f (plain NumPy)", t_f, t_f),
            ("grad, no NaN (x < 0)", t_clean, t_clean),
            ("grad, NaN then retry (x > 0)", t_retry, t_clean),
            ("grad, NaN-safe mode throughout (x < 0)", t_safe, t_clean),
            ("hvp fwd-over-rev, no NaN", t_hvp_clean, t_hvp_clean),
            ("hvp fwd-over-rev, NaN then retry", t_hvp_retry, t_hvp_clean)]
    for name, t, ref in rows:
        print(f"  {name:<44}{t * 1e3:>8.2f}ms{t / ref:>8.2f}")
    print(f"  the retry costs {t_retry / t_clean - 1:.0%} more than a gradient without NaN")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    quick = parser.parse_args().quick
    print(f"dualad {ad.__version__}, NumPy {np.__version__}")
    bench_tape(100_000 if quick else 1_000_000)
    for size in (1000, 10):   # big arrays: memory-bound; small ones: Python-bound
        bench_checkpoint(steps=400 if quick else 2500, size=size, repeat=3 if quick else 5)
    with np.errstate(invalid="ignore"):     # sqrt(-x) on the untaken side, as in NumPy
        bench_retry(size=10_000 if quick else 100_000, repeat=3 if quick else 7)


if __name__ == "__main__":
    main()
