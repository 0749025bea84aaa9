"""Core overhead benchmark: ratios of JVP, gradient and HVP to plain NumPy.

Run:  python benchmarks/bench_core.py [--quick]

Two workloads (from the core issue):
* Python overhead -- a 101-primitive chain on a 10-element vector
  (y = sin(y)*1.01 + y*0.5, 25 times, then sum).  Targets: JVP <= 5x,
  gradient <= 10x, forward-over-reverse HVP <= 25x the NumPy evaluation.
* Large arrays -- extended Rosenbrock at n = 10^6.  Targets: gradient
  <= 3x f, HVP <= 6x f; SciPy's hand-written rosen_der is shown as the
  practical limit, and the "op-by-op floor" -- the same NumPy operations
  as dualad's derivative formulas, hand-sequenced and in place wherever
  possible -- as the limit of any library that runs NumPy one operation
  at a time.

All figures are ratios measured in this one run (best of repeats), so
they are comparable even on a noisy shared machine.  Optional peers (HIPS
autograd, JAX) are timed only if importable.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.optimize

import dualad as ad
from timing import best_time


def chain(y):
    for _ in range(25):
        y = np.sin(y) * 1.01 + y * 0.5
    return np.sum(y)


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def floor_gradient(x):
    """Rosenbrock's value and gradient by the NumPy operations that any library
    running ``rosen`` one operation at a time must do at least: the forward
    operations as written (each a new array: its inputs are still needed),
    then each operation's derivative formula, in place wherever an array is
    no longer needed.  Hand-sequenced; no bookkeeping at all."""
    a, x1 = x[:-1], x[1:]
    c = x1 - a ** 2
    e = 100.0 * c ** 2
    h = 1.0 - a
    value = np.sum(e + h ** 2)
    gh = 2.0 * h  # d/dh of h**2, times the cotangent 1 of the sum
    np.negative(gh, out=gh)  # through 1 - a
    g = np.zeros_like(x)
    g[:-1] = gh
    gc = 2.0 * c
    gc *= 100.0  # d/dc of 100 c**2
    g[1:] += gc
    gc *= a
    gc *= 2.0  # through x1 - a**2, with the sign below
    g[:-1] -= gc
    return value, g


def floor_hvp(x, v):
    """Forward-over-reverse H v for Rosenbrock by the least NumPy operations
    that run it one operation at a time: each forward operation on a primal
    and its tangent, then the backward pass on (cotangent, tangent) pairs --
    what ``floor_gradient`` does, with a tangent beside every array."""
    a, ta, x1, t1 = x[:-1], v[:-1], x[1:], v[1:]
    b = a ** 2
    tb = 2.0 * a
    tb *= ta
    c = x1 - b
    tc = t1 - tb
    d = c ** 2
    td = 2.0 * c
    td *= tc
    e = 100.0 * d
    te = 100.0 * td
    h = 1.0 - a
    th = -ta
    k = h ** 2
    tk = 2.0 * h
    tk *= th
    np.sum(e + k)
    np.sum(te + tk)
    # backward: the sum's cotangent is 1 with tangent 0
    gh, tgh = -2.0 * h, -2.0 * th
    g, tg = np.zeros_like(x), np.zeros_like(x)
    g[:-1] = gh
    tg[:-1] = tgh
    gc, tgc = 200.0 * c, 200.0 * tc
    g[1:] += gc
    tg[1:] += tgc
    # through b = a**2 (cotangent -gc): value 2 a gc, tangent 2 (ta gc + a tgc)
    tga = ta * gc
    tmp = a * tgc
    tga += tmp
    tga *= 2.0
    tg[:-1] -= tga
    return tg


def report(title, base, rows):
    print(f"\n{title}")
    print(f"  {'what':<28}{'best time':>12}{'ratio':>9}")
    print(f"  {'f (plain NumPy)':<28}{base * 1e6:>10.1f}us{1.0:>9.2f}")
    for name, t in rows:
        print(f"  {name:<28}{t * 1e6:>10.1f}us{t / base:>9.2f}")


def autograd_chain_gradient():
    """HIPS autograd's gradient of the chain, or None (with a note) when it is
    not installed."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        print("  (HIPS autograd not installed: skipped)")
        return None

    def achain(y):
        for _ in range(25):
            y = anp.sin(y) * 1.01 + y * 0.5
        return anp.sum(y)
    return autograd.grad(achain)


def peers_chain(x, v, repeat, number):
    rows = []
    ag = autograd_chain_gradient()
    if ag is not None:
        rows.append(("autograd gradient", best_time(lambda: ag(x), repeat, number)))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, n = 10^5")
    args = parser.parse_args(argv)
    repeat = 5 if args.quick else 15

    x = np.linspace(0.1, 1.0, 10)
    v = np.ones(10)
    number = 20 if args.quick else 100
    base = best_time(lambda: chain(x), repeat, number)
    g = ad.grad(chain)
    rows = [
        ("JVP", best_time(lambda: ad.jvp(chain, (x,), (v,)), repeat, number)),
        ("gradient", best_time(lambda: g(x), repeat, number)),
        ("HVP fwd-over-rev", best_time(lambda: ad.hvp(chain, x, v), repeat, number)),
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
        base = best_time(lambda: rosen(x), r)
        rows = [
            ("gradient", best_time(lambda: g(x), r)),
            ("HVP fwd-over-rev", best_time(lambda: ad.hvp(rosen, x, v), r)),
            ("JVP", best_time(lambda: ad.jvp(rosen, (x,), (v,)), r)),
            ("op-by-op floor: gradient", best_time(lambda: floor_gradient(x), r)),
            ("op-by-op floor: HVP", best_time(lambda: floor_hvp(x, v), r)),
            ("scipy rosen_der (by hand)", best_time(lambda: scipy.optimize.rosen_der(x), r)),
            ("scipy rosen_hess_prod (hand)", best_time(lambda: scipy.optimize.rosen_hess_prod(x, v), r)),
        ]
        report(f"extended Rosenbrock, n = {n:.0e}, {allocator} "
               "(targets: gradient <= 3, HVP <= 6)", base, rows)
    print("\nThe op-by-op floor is the least work of any library that runs NumPy operations\n"
          "one at a time (hand-sequenced, in place wherever possible): the same operations\n"
          "as dualad's derivative formulas, with no bookkeeping.  A fused kernel (a\n"
          "compiler such as XLA, or hand-written code like SciPy's) can go below it.")


if __name__ == "__main__":
    main()
