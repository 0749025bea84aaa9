"""Core overhead benchmark: ratios of JVP, gradient and HVP to plain NumPy.

Run:  python benchmarks/bench_core.py [--quick]

Two workloads (from the core issue):
* Python overhead -- a 101-primitive chain on a 10-element vector
  (y = sin(y)*1.01 + y*0.5, 25 times, then sum).  Targets: JVP <= 5x,
  gradient <= 10x, forward-over-reverse HVP <= 25x the NumPy evaluation.
* Large arrays -- extended Rosenbrock at n = 10^6.  Targets: gradient
  <= 3x f, HVP <= 6x f; SciPy's hand-written rosen_der is shown as the
  practical limit.

All figures are ratios measured in this one run (best of repeats), so
they are comparable even on a noisy shared machine.  Optional peers (HIPS
autograd, JAX) are timed only if importable.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import scipy.optimize

import dualad as ad


def timeit(fn, repeat: int, number: int = 1) -> float:
    """Seconds per call: the best of ``repeat`` batches of ``number`` calls.

    The best batch is the one least disturbed by other processes on a shared
    machine, so ratios of best times are the most repeatable figures here.
    """
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return float(np.min(times))


def chain(y):
    for _ in range(25):
        y = np.sin(y) * 1.01 + y * 0.5
    return np.sum(y)


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def report(title, base, rows):
    print(f"\n{title}")
    print(f"  {'what':<28}{'best time':>12}{'ratio':>9}")
    print(f"  {'f (plain NumPy)':<28}{base * 1e6:>10.1f}us{1.0:>9.2f}")
    for name, t in rows:
        print(f"  {name:<28}{t * 1e6:>10.1f}us{t / base:>9.2f}")


def peers_chain(x, v, repeat, number):
    rows = []
    try:
        import autograd
        import autograd.numpy as anp

        def achain(y):
            for _ in range(25):
                y = anp.sin(y) * 1.01 + y * 0.5
            return anp.sum(y)
        ag = autograd.grad(achain)
        rows.append(("autograd gradient", timeit(lambda: ag(x), repeat, number)))
    except ImportError:
        print("  (HIPS autograd not installed: skipped)")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, n = 10^5")
    args = parser.parse_args(argv)
    repeat = 5 if args.quick else 15

    x = np.linspace(0.1, 1.0, 10)
    v = np.ones(10)
    number = 20 if args.quick else 100
    base = timeit(lambda: chain(x), repeat, number)
    g = ad.grad(chain)
    rows = [
        ("JVP", timeit(lambda: ad.jvp(chain, (x,), (v,)), repeat, number)),
        ("gradient", timeit(lambda: g(x), repeat, number)),
        ("HVP fwd-over-rev", timeit(lambda: ad.hvp(chain, x, v), repeat, number)),
    ]
    rows += peers_chain(x, v, repeat, number)
    report("101-primitive chain on 10 elements (targets: JVP <= 5, gradient <= 10, HVP <= 25)",
           base, rows)

    n = 10 ** 5 if args.quick else 10 ** 6
    x = np.where(np.arange(n) % 2 == 0, 1.2, -1.0)
    v = np.random.default_rng(0).standard_normal(n)
    r = max(3, repeat // 3)
    g = ad.grad(rosen)
    for allocator in ("glibc's default allocator", "dualad.tune_allocator()"):
        if allocator.startswith("dualad") and not ad.tune_allocator():
            print("\n(no glibc mallopt here: the tuned-allocator run is skipped)")
            break
        base = timeit(lambda: rosen(x), r)
        rows = [
            ("gradient", timeit(lambda: g(x), r)),
            ("HVP fwd-over-rev", timeit(lambda: ad.hvp(rosen, x, v), r)),
            ("JVP", timeit(lambda: ad.jvp(rosen, (x,), (v,)), r)),
            ("scipy rosen_der (by hand)", timeit(lambda: scipy.optimize.rosen_der(x), r)),
            ("scipy rosen_hess_prod (hand)", timeit(lambda: scipy.optimize.rosen_hess_prod(x, v), r)),
        ]
        report(f"extended Rosenbrock, n = {n:.0e}, {allocator} "
               "(targets: gradient <= 3, HVP <= 6)", base, rows)


if __name__ == "__main__":
    main()
