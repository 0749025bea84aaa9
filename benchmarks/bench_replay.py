"""Replay benchmark: dualad.replay's recorded programs ÷ plain NumPy, in one run.

Run:  python benchmarks/bench_replay.py [--quick]

Workloads (from the replay issue), each printed with its target:
* Python overhead -- the 101-primitive chain of bench_core.py on 10
  elements, replayed: JVP <= 1.5x, gradient <= 2.5x, HVP <= 5x f; eager
  beside it, and the op-by-op floor (the same NumPy operations as dualad's
  derivative formulas, hand-sequenced: ``floor_chain_*`` below).
* Large arrays -- Rosenbrock at n = 10^6 (``--quick``: 10^5), replayed:
  gradient <= 2x f, HVP <= 4x f, the HVP also with x fixed
  (``replay(lambda x, v: hvp(f, x, v), fixed_argnums=0)``, products at one x
  for new v: what Newton-CG does); bench_core's op-by-op floor and SciPy's
  hand-written rosen_der / rosen_hess_prod beside them.
* Newton-CG on Rosenbrock at n = 10^3 and 10^4 (``--quick``: 10^3) through
  dualad.optimize.minimize against SciPy with the hand-written derivatives:
  time ratio (target <= 1.25) and nit / nfev / njev / nhev of both (+-2%);
  and, for reference, plain SciPy given replayed derivatives by hand.
* Per-call overhead -- Rosenbrock at n = 2: the replayed gradient in µs
  (target <= 20 µs), eager beside it.
* Never wrong -- a function with a Python branch on a value, its replayed
  gradient at 1,000 random points against eager (must be 1000 of 1000), and
  the recordings, replays and mismatches that took.
* Dense Jacobians -- the three tanh(A @ x) workloads of bench_jacobians.py,
  jacrev and jacfwd replayed beside eager.

All figures are ratios measured in this one run (best of repeats, see
timing.py), so they are comparable on a noisy shared machine.  Every
replayed and hand-sequenced result is checked against eager dualad before
it is timed (Newton-CG: its counts are printed beside SciPy's).
"""

from __future__ import annotations

import argparse
import os
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS (see bench_optimize.py)

import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402

import dualad as ad  # noqa: E402
from bench_core import (autograd_chain_gradient, chain, floor_gradient, floor_hvp,  # noqa: E402
                        rosen)
from bench_jacobians import WORKLOADS, jacobian_rows  # noqa: E402
from timing import best_time  # noqa: E402


# ---- the chain's op-by-op floor -------------------------------------------------------------
def floor_chain_jvp(x, v):
    """``chain``'s value and JVP by the NumPy operations of dualad's formulas,
    hand-sequenced: per step sin, two scalings and a sum for the primal, and
    cos(y) t, its scaling, t 0.5 and a sum for the tangent."""
    y, t = x, v
    for _ in range(25):
        c = np.cos(y)
        y = np.sin(y) * 1.01 + y * 0.5
        t = (c * t) * 1.01 + t * 0.5
    return np.sum(y), np.sum(t)


def floor_chain_gradient(x):
    """``chain``'s value and gradient: the forward steps as written (each
    step's input kept for the backward pass), then per step the cotangent
    g 1.01 cos(y) + g 0.5."""
    ys = []
    y = x
    for _ in range(25):
        ys.append(y)
        y = np.sin(y) * 1.01 + y * 0.5
    value = np.sum(y)
    g = np.ones_like(x)
    for y in reversed(ys):
        g = (g * 1.01) * np.cos(y) + g * 0.5
    return value, g


def floor_chain_hvp(x, v):
    """Forward-over-reverse H v of ``chain``: the gradient's steps with a
    tangent beside every array -- forward (y, t), backward (g, tg) with
    tg' = tg 1.01 cos(y) - g 1.01 sin(y) t + tg 0.5."""
    ys, ts = [], []
    y, t = x, v
    for _ in range(25):
        ys.append(y)
        ts.append(t)
        c = np.cos(y)
        y = np.sin(y) * 1.01 + y * 0.5
        t = (c * t) * 1.01 + t * 0.5
    np.sum(y)
    np.sum(t)
    g, tg = np.ones_like(x), np.zeros_like(x)
    for y, t in zip(reversed(ys), reversed(ts)):
        c, s = np.cos(y), np.sin(y)
        g1 = g * 1.01
        tg1 = tg * 1.01
        g, tg = g1 * c + g * 0.5, (tg1 * c - (g1 * s) * t) + tg * 0.5
    return tg


def _check(name, got, want, rtol=1e-12):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    scale = max(float(np.max(np.abs(want), initial=0.0)), 1.0)
    if not np.allclose(got, want, rtol=rtol, atol=rtol * scale):
        raise AssertionError(f"{name}: differs from eager dualad by "
                             f"{float(np.max(np.abs(got - want))):.3g}")


def report(title, base, rows, width=40):
    """Rows: (name, seconds, floor seconds or None)."""
    print(f"\n{title}")
    print(f"  {'what':<{width}}{'best time':>12}{'× f':>9}{'floor × f':>11}")
    print(f"  {'f (plain NumPy)':<{width}}{base * 1e6:>10.1f}us{1.0:>9.2f}")
    for name, t, floor in rows:
        fl = "" if floor is None else f"{floor / base:>11.2f}"
        print(f"  {name:<{width}}{t * 1e6:>10.1f}us{t / base:>9.2f}{fl}")


# ---- 1. the chain, n = 10 ---------------------------------------------------------------
def bench_chain(quick):
    repeat, number = (5, 50) if quick else (15, 200)
    x = np.linspace(0.1, 1.0, 10)
    v = np.cos(np.arange(10.0))
    grad = ad.grad(chain)
    jvp = lambda x, v: ad.jvp(chain, (x,), (v,))
    hvp = lambda x, v: ad.hvp(chain, x, v)
    r_jvp, r_grad, r_hvp = ad.replay(jvp), ad.replay(grad), ad.replay(hvp)
    # exactness first: floors and replays against eager dualad, at two points
    for p in (x, x[::-1] + 0.3):
        _check("floor JVP", floor_chain_jvp(p, v), jvp(p, v))
        _check("floor gradient", floor_chain_gradient(p)[1], grad(p))
        _check("floor HVP", floor_chain_hvp(p, v), hvp(p, v))
        for r, eager in ((r_jvp, jvp(p, v)), (r_grad, grad(p)), (r_hvp, hvp(p, v))):
            for _ in range(3):
                _check("replay", r(p, v) if r is not r_grad else r(p), eager)
    assert r_jvp.recordings == r_grad.recordings == r_hvp.recordings == 1
    t = lambda fn: best_time(fn, repeat, number)
    base = t(lambda: chain(x))
    rows = [
        ("JVP, replayed (target <= 1.5)", t(lambda: r_jvp(x, v)), t(lambda: floor_chain_jvp(x, v))),
        ("gradient, replayed (target <= 2.5)", t(lambda: r_grad(x)),
         t(lambda: floor_chain_gradient(x))),
        ("HVP fwd-over-rev, replayed (target <= 5)", t(lambda: r_hvp(x, v)),
         t(lambda: floor_chain_hvp(x, v))),
        ("JVP, eager", t(lambda: jvp(x, v)), None),
        ("gradient, eager", t(lambda: grad(x)), None),
        ("HVP fwd-over-rev, eager", t(lambda: hvp(x, v)), None),
    ]
    ag = autograd_chain_gradient()
    if ag is not None:
        rows.append(("HIPS autograd gradient", t(lambda: ag(x)), None))
    report("1. 101-primitive chain on 10 elements", base, rows)
    print(f"  program sizes (ops): JVP {r_jvp.programs()[0].n_ops}, gradient "
          f"{r_grad.programs()[0].n_ops}, HVP {r_hvp.programs()[0].n_ops}")


# ---- 2. Rosenbrock, n = 10^6 -----------------------------------------------------------------
def bench_rosenbrock(quick):
    n = 10 ** 5 if quick else 10 ** 6
    r = 3 if quick else 5
    rng = np.random.default_rng(0)
    x = np.where(np.arange(n) % 2 == 0, 1.2, -1.0)
    vs = [rng.standard_normal(n) for _ in range(3)]  # new v at every product, as in CG
    grad = ad.grad(rosen)
    hvp = lambda x, v: ad.hvp(rosen, x, v)
    r_grad = ad.replay(grad)
    r_hvp = ad.replay(hvp)
    r_hvp_x = ad.replay(hvp, fixed_argnums=0)
    # the blocks of large elementwise runs on two threads (dualad.staging.blocks)
    r_grad2, r_hvp2 = ad.replay(grad, workers=2), ad.replay(hvp, workers=2)
    _check("replayed gradient, 2 workers", r_grad2(x), grad(x))
    _check("replayed gradient, 2 workers, again", r_grad2(x), grad(x))
    _check("replayed HVP, 2 workers", r_hvp2(x, vs[1]), hvp(x, vs[1]))
    _check("replayed HVP, 2 workers, again", r_hvp2(x, vs[2]), hvp(x, vs[2]))
    _check("replayed gradient", r_grad(x), grad(x))
    _check("replayed gradient at a new x", r_grad(x + 0.1), grad(x + 0.1))
    for v in vs + vs:
        want = hvp(x, v)
        _check("replayed HVP", r_hvp(x, v), want)
        _check("replayed HVP, x fixed", r_hvp_x(x, v), want)
    _check("replayed HVP, x fixed, new x", r_hvp_x(x + 0.1, vs[0]), hvp(x + 0.1, vs[0]))
    cycle = iter(range(10 ** 9))
    next_v = lambda: vs[next(cycle) % 3]
    t = lambda fn: best_time(fn, r)
    base = t(lambda: rosen(x))
    f_grad, f_hvp = t(lambda: floor_gradient(x)), t(lambda: floor_hvp(x, vs[0]))
    rows = [
        ("gradient, replayed (target <= 2)", t(lambda: r_grad(x)), f_grad),
        ("HVP, replayed (target <= 4)", t(lambda: r_hvp(x, next_v())), f_hvp),
        ("HVP, replayed with x fixed (new v)", t(lambda: r_hvp_x(x, next_v())), f_hvp),
        ("gradient, replayed, workers=2", t(lambda: r_grad2(x)), f_grad),
        ("HVP, replayed, workers=2", t(lambda: r_hvp2(x, next_v())), f_hvp),
        ("gradient, eager", t(lambda: grad(x)), f_grad),
        ("HVP fwd-over-rev, eager", t(lambda: hvp(x, vs[0])), f_hvp),
        ("scipy rosen_der (by hand)", t(lambda: scipy.optimize.rosen_der(x)), None),
        ("scipy rosen_hess_prod (by hand)",
         t(lambda: scipy.optimize.rosen_hess_prod(x, vs[0])), None),
    ]
    report(f"2. Rosenbrock, n = {n:.0e} (floor: bench_core's op-by-op floor)", base, rows)
    print(f"  HVP with x fixed: {r_hvp_x.preparations} preparations (once per new x), "
          f"{r_hvp_x.replays} replays; ops blocked in the gradient program: "
          f"{r_grad.programs()[0].n_blocked} of {r_grad.programs()[0].n_ops}")


# ---- 3. Newton-CG end to end --------------------------------------------------------------
def _timed(run, repeat):
    best, res = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = run()
        best = min(best, time.perf_counter() - t0)
    return res, best


def bench_newton_cg(quick):
    from dualad import optimize
    print("\n3. Newton-CG on Rosenbrock, x0 = (1.2, -1.0, ...), xtol = 1e-10 "
          "(target: <= 1.25x hand-written, counts +-2%)")
    print(f"  {'n':>6} {'derivatives':<37}{'time [s]':>9}{'ratio':>7}"
          f"{'nit':>7}{'nfev':>7}{'njev':>7}{'nhev':>8}")
    opts = {"xtol": 1e-10}
    for n in ((10 ** 3,) if quick else (10 ** 3, 10 ** 4)):
        x0 = np.tile([1.2, -1.0], (n + 1) // 2)[:n]
        replayed = {}

        def with_replay():
            # new Replayed objects each run: the recordings are part of its time
            replayed["fg"] = ad.replay(ad.value_and_grad(rosen))
            replayed["hvp"] = ad.replay(lambda x, p: ad.hvp(rosen, x, p), fixed_argnums=0)
            return scipy.optimize.minimize(replayed["fg"], x0, jac=True, hessp=replayed["hvp"],
                                           method="Newton-CG", options=opts)

        runs = {
            "SciPy, hand-written (= 1.00)": lambda: scipy.optimize.minimize(
                scipy.optimize.rosen, x0, jac=scipy.optimize.rosen_der,
                hessp=scipy.optimize.rosen_hess_prod, method="Newton-CG", options=opts),
            "dualad.optimize.minimize": lambda: optimize.minimize(
                rosen, x0, method="Newton-CG", options=opts),
            "SciPy + replayed value_and_grad, hvp": with_replay,
        }
        repeat = 1 if n > 1000 or quick else 3
        results = {name: _timed(run, repeat) for name, run in runs.items()}
        hand, t_hand = results["SciPy, hand-written (= 1.00)"]
        for name, (res, t) in results.items():
            print(f"  {n:>6} {name:<37}{t:>9.3f}{t / t_hand:>7.2f}{res.nit:>7}{res.nfev:>7}"
                  f"{res.njev:>7}{res.nhev:>8}")
            for key in ("nit", "nfev", "njev", "nhev"):
                ours, theirs = getattr(res, key), getattr(hand, key)
                if abs(ours - theirs) > 0.02 * max(theirs, 1):
                    print(f"  {'':>6}   ({name}: {key} {ours} vs {theirs}, more than 2% apart)")
        fg, hvp = replayed["fg"], replayed["hvp"]
        print(f"  {n:>6}   replayed by hand (one run): value_and_grad {fg.recordings} "
              f"recording(s), {fg.replays} replays; hvp {hvp.recordings} recording(s), "
              f"{hvp.preparations} preparations (one per x) for {hvp.replays} replays")


# ---- 4. per-call overhead, n = 2 ----------------------------------------------------------
def bench_overhead(quick):
    repeat, number = (5, 200) if quick else (15, 2000)
    x = np.array([-1.2, 1.0])
    grad = ad.grad(rosen)
    r_grad = ad.replay(grad)
    _check("replayed gradient, n = 2", r_grad(x), grad(x))
    t_f = best_time(lambda: rosen(x), repeat, number)
    t_r = best_time(lambda: r_grad(x), repeat, number)
    t_e = best_time(lambda: grad(x), repeat, number)
    print("\n4. Per-call overhead, Rosenbrock at n = 2 (target: replayed gradient <= 20 µs)")
    print(f"  f {t_f * 1e6:.1f} µs; gradient replayed {t_r * 1e6:.1f} µs, "
          f"eager {t_e * 1e6:.1f} µs")


# ---- 5. a Python branch on a value --------------------------------------------------------
def branchy(x):
    """Three different programs, chosen by Python on values of x."""
    if x[0] > 0:
        y = np.sum(np.sin(x) ** 2)
    else:
        y = np.sum(x ** 3)
    if np.max(x) > 1.5:
        y = y + np.sum(np.exp(-x))
    return y * x[1]


def bench_branches(quick):
    points = np.random.default_rng(7).uniform(-2, 2, (1000, 5))
    grad = ad.grad(branchy)
    r_grad = ad.replay(grad)
    equal = sum(bool(np.array_equal(r_grad(p), grad(p))) for p in points)
    print("\n5. Never wrong: replay(grad(f)) of an f with Python branches on values, "
          "1,000 random points")
    print(f"  results equal to eager: {equal} of {len(points)} (must be all); recordings "
          f"{r_grad.recordings}, replays {r_grad.replays}, mismatches {r_grad.mismatches}; "
          f"programs kept {len(r_grad.programs())}")


# ---- 6. dense Jacobians of tanh(A @ x) ----------------------------------------------------
def bench_jacobians(quick):
    print("\n6. Dense Jacobians of tanh(A @ x) (bench_jacobians.py's workloads), × f "
          "(targets: jacrev <= 60 at m = 10, n = 1000; <= 100 at m = n = 300)")
    for m, n in WORKLOADS:
        base, rows, _ = jacobian_rows(m, n, replayed=True, repeat=3 if quick else 7)
        print(f"  m = {m}, n = {n}: f {base * 1e6:.1f} µs")
        for name, rev, fwd in rows:
            print(f"    {name:<18} jacrev {rev / base:8.1f}x f   jacfwd {fwd / base:8.1f}x f")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, Rosenbrock at 10^5, Newton-CG at 10^3 only")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    bench_chain(args.quick)
    bench_rosenbrock(args.quick)
    bench_newton_cg(args.quick)
    bench_overhead(args.quick)
    bench_branches(args.quick)
    bench_jacobians(args.quick)
    print("\nThe floor is the same NumPy operations as dualad's derivative formulas, one\n"
          "call at a time, hand-sequenced: what a replayed program can at best do, less\n"
          "what its buffer reuse and folding save.")
    print(f"\n(whole run: {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
