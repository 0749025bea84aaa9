"""dualad.optimize benchmark: exact derivatives behind scipy.optimize, as ratios.

Run:  python benchmarks/bench_optimize.py [--quick] [--profile]

What it measures (targets from the optimize issue):
1. End to end: ``minimize(rosen, x0, method="Newton-CG")`` on extended
   Rosenbrock, x0 alternating 1.2 / -1.0, ``xtol=1e-10``, at n = 10^3 and
   10^4, dualad (HessianOperator) against SciPy's hand-written ``rosen_der``
   + ``rosen_hess_prod`` (= 1.0), with iteration and Hessian-product counts.
   Target: <= 2x, same iterations and products (+-2%).  The run's time is
   split into its parts (recordings, products, SciPy's own loop) from unit
   costs measured alongside, to show where it goes.
2. A Hessian-vector product through a HessianOperator against a fresh
   ``dualad.hvp`` call at n = 10^3, 10^5 and on the logistic loss
   (20,000 x 200).  Target: <= 0.5x.
3. The logistic-regression example (examples/logistic_regression.py):
   Newton-CG and L-BFGS-B with dualad against hand-written derivatives.
Optional peers (JAX, HIPS autograd, PyTorch) run the Newton-CG benchmark
only if importable.

All ratios come from this one run, timed as the best of interleaved
repeats, so they are comparable on a noisy shared machine.  ``--quick``
skips n = 10^4 (the hand-written run alone takes many seconds there).
BLAS runs single-threaded unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS
are set: on a loaded machine a multi-threaded BLAS makes single
matrix-vector products erratic (a 4000 x 38 SVD was seen to take 100x
longer), and both sides of every ratio use the same BLAS calls.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import os
import pstats
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy loads its BLAS

import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402

import dualad as ad  # noqa: E402
from dualad import optimize  # noqa: E402
from dualad.optimize.flat import _Ravel  # noqa: E402
from dualad.optimize.objective import _ScalarObjective  # noqa: E402
from timing import best_time  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def rosen(x):
    """Extended (chained) Rosenbrock in plain NumPy."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def starting_point(n):
    return np.tile([1.2, -1.0], (n + 1) // 2)[:n]


def _load_logistic_example():
    spec = importlib.util.spec_from_file_location(
        "logistic_regression", ROOT / "examples" / "logistic_regression.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


logistic = _load_logistic_example()  # examples/logistic_regression.py, as a module
interleaved = logistic.interleaved


# ---- 1. Newton-CG end to end ------------------------------------------------------------
class Split:
    """Seconds spent inside some functions during one run (the run's time split)."""

    def __init__(self):
        self.seconds = {}

    def timed(self, key, fn):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - t0
        return wrapper


def hand_written_run(x0, xtol):
    split = Split()
    res = scipy.optimize.minimize(
        split.timed("f and gradient", scipy.optimize.rosen), x0, method="Newton-CG",
        jac=split.timed("f and gradient", scipy.optimize.rosen_der),
        hessp=split.timed("products", scipy.optimize.rosen_hess_prod), options={"xtol": xtol})
    res.split = split.seconds
    return res


def dualad_run(x0, xtol):
    """optimize.minimize, with the time inside its recordings and products measured."""
    split = Split()
    evaluate = _ScalarObjective._evaluate
    hessp = _ScalarObjective.hessp  # Newton-CG's products (replayed, x fixed)
    _ScalarObjective._evaluate = split.timed("f and gradient, replayed", evaluate)
    _ScalarObjective.hessp = split.timed("products", hessp)
    try:
        res = optimize.minimize(rosen, x0, method="Newton-CG", options={"xtol": xtol})
    finally:
        _ScalarObjective._evaluate = evaluate
        _ScalarObjective.hessp = hessp
    res.split = split.seconds
    return res


def newton_cg_runs(n, xtol=1e-10):
    x0 = starting_point(n)
    runs = {"hand-written": lambda: hand_written_run(x0, xtol),
            "dualad": lambda: dualad_run(x0, xtol)}
    runs.update(peer_runs(n, x0, xtol))
    return runs


def peer_runs(n, x0, xtol):
    """Newton-CG with HVPs from other AD libraries, if they are installed."""
    runs = {}
    opts = {"xtol": xtol}
    if importlib.util.find_spec("jax") is not None:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)

        def jrosen(x):
            return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

        jvg = jax.jit(jax.value_and_grad(jrosen))
        jhvp = jax.jit(lambda x, p: jax.jvp(jax.grad(jrosen), (x,), (p,))[1])

        def fg(x):
            v, g = jvg(x)
            return float(v), np.asarray(g)

        runs["jax (jit)"] = lambda: scipy.optimize.minimize(
            fg, x0, jac=True, hessp=lambda x, p: np.asarray(jhvp(x, p)), method="Newton-CG",
            options=opts)
    if importlib.util.find_spec("autograd") is not None:
        import autograd
        import autograd.numpy as anp

        def arosen(x):
            return anp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

        avg = autograd.value_and_grad(arosen)
        ahvp = autograd.hessian_vector_product(arosen)
        runs["autograd"] = lambda: scipy.optimize.minimize(
            avg, x0, jac=True, hessp=ahvp, method="Newton-CG", options=opts)
    if importlib.util.find_spec("torch") is not None:
        import torch
        from torch.func import grad as tgrad, jvp as tjvp

        def trosen(x):
            return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

        def tfg(x):
            xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            v = trosen(xt)
            (g,) = torch.autograd.grad(v, xt)
            return float(v), g.numpy()

        def thvp(x, p):
            xt = torch.tensor(x, dtype=torch.float64)
            pt = torch.tensor(p, dtype=torch.float64)
            return tjvp(tgrad(trosen), (xt,), (pt,))[1].numpy()

        runs["torch.func"] = lambda: scipy.optimize.minimize(
            tfg, x0, jac=True, hessp=thvp, method="Newton-CG", options=opts)
    return runs


def unit_costs(n):
    """Per-call costs of the pieces a Newton-CG iteration is made of, at one x."""
    x = starting_point(n) * 0.9
    p = np.random.default_rng(0).standard_normal(n)
    obj = _ScalarObjective(rosen, _Ravel(x), (), record=True, replay=False)

    def record():
        obj._x = None
        obj._evaluate(x, True)

    record()
    H = obj.hess_operator(x)
    sweep = obj._lin.jvp
    # what minimize uses by default: replayed programs (dualad.replay)
    fast = _ScalarObjective(rosen, _Ravel(x), (), record=True)

    def replayed_value_and_grad():
        fast._x = None
        fast._evaluate(x, False)

    replayed_value_and_grad()
    fast.hessp(x, p)
    return {
        "hand: rosen + rosen_der": best_time(
            lambda: (scipy.optimize.rosen(x), scipy.optimize.rosen_der(x)), 7, 50),
        "hand: rosen_hess_prod": best_time(lambda: scipy.optimize.rosen_hess_prod(x, p), 7, 50),
        "dualad: value+grad, replayed": best_time(replayed_value_and_grad, 7, 50),
        "dualad: product, replayed at a fixed x": best_time(lambda: fast.hessp(x, p), 7, 50),
        "dualad: value+grad, recorded (replay=False)": best_time(record, 7, 20),
        "dualad: value+grad, plain vjp": best_time(lambda: ad.value_and_grad(rosen)(x), 7, 20),
        "dualad: product via H.dot (replay=False)": best_time(lambda: H.dot(p), 7, 50),
        "dualad: bare tangent sweep": best_time(lambda: sweep(p), 7, 50),
    }


def bench_newton_cg(sizes, repeat_small):
    print("1. Newton-CG on extended Rosenbrock, x0 = (1.2, -1.0, ...), xtol = 1e-10")
    print(f"   {'n':>6} {'derivatives':<14}{'iterations':>11}{'H products':>11}"
          f"{'time [s]':>10}{'ratio':>8}")
    summary = {}
    for n in sizes:
        results = interleaved(newton_cg_runs(n), repeat_small if n <= 1000 else 1)
        hand, t_hand = results["hand-written"]
        for name, (res, t) in results.items():
            print(f"   {n:>6} {name:<14}{res.nit:>11}{res.nhev:>11}{t:>10.3f}{t / t_hand:>8.2f}")
        ours = results["dualad"][0]
        dn = (ours.nit - hand.nit) / hand.nit
        dh = (ours.nhev - hand.nhev) / hand.nhev
        dx = float(np.max(np.abs(ours.x - hand.x)))
        print(f"   {n:>6} iterations {dn:+.1%}, products {dh:+.1%}, max |dx| = {dx:.1e}")
        summary[n] = (results, t_hand)
        # where the time goes, measured inside the runs above
        for name in ("hand-written", "dualad"):
            res, t = results[name]
            count = {"products": res.nhev}  # anything else: once per f evaluation
            parts = ", ".join(f"{k} {v:.3f}s ({v / count.get(k, res.nfev) * 1e6:.0f}us each)"
                              for k, v in res.split.items())
            rest = t - sum(res.split.values())
            print(f"   {n:>6} {name} run: {parts}; SciPy's loop and glue {rest:.3f}s")
        costs = unit_costs(n)
        print(f"   {n:>6} the same pieces in a tight loop: "
              + ", ".join(f"{k} {v * 1e6:.0f}us" for k, v in costs.items()))
    return summary


# ---- 2. operator product vs fresh hvp ----------------------------------------------------
def bench_operator():
    print("\n2. One Hessian-vector product: HessianOperator vs a fresh dualad.hvp call")
    print(f"   {'problem':<26}{'fresh hvp':>12}{'build H':>12}{'H @ v':>12}{'ratio':>8}"
          f"{'matmat k=8, per column':>25}")
    loss = logistic.make_problem()[0]
    cases = [("Rosenbrock n=1e3", rosen, starting_point(1000) * 0.9),
             ("Rosenbrock n=1e5", rosen, starting_point(100000) * 0.9),
             ("logistic 20000x200", loss, np.full(200, 0.01))]
    ratios = {}
    for name, f, x in cases:
        n = x.size
        rng = np.random.default_rng(1)
        v = rng.standard_normal(n)
        V = rng.standard_normal((n, 8))
        number = 20 if n <= 1000 else 3
        H = optimize.HessianOperator(f, x)
        # interleaved, so that both sides see the same machine and the same
        # state of the allocator (at n = 1e5 that state alone can change a
        # product's time 10x: fresh pages or reused ones)
        t = interleaved({"fresh": lambda: [ad.hvp(f, x, v) for _ in range(number)],
                         "build": lambda: [optimize.HessianOperator(f, x) for _ in range(number)],
                         "op": lambda: [H @ v for _ in range(number)]}, 7)
        t_fresh, t_build, t_op = (t[k][1] / number for k in ("fresh", "build", "op"))
        t_mm = best_time(lambda: H @ V, 3, max(1, number // 4)) / 8
        ratios[name] = t_op / t_fresh
        print(f"   {name:<26}{t_fresh * 1e3:>10.3f}ms{t_build * 1e3:>10.3f}ms{t_op * 1e3:>10.3f}ms"
              f"{t_op / t_fresh:>8.2f}{t_mm * 1e3:>23.3f}ms")
    return ratios


# ---- 3. the logistic-regression example -----------------------------------------------------
def bench_logistic(repeat):
    print("\n3. Logistic regression example, 20000 x 200 (best of interleaved runs)")
    loss, loss_and_grad, hessp = logistic.make_problem()
    results = logistic.run(loss, loss_and_grad, hessp, 200, repeat=repeat)
    print(f"   {'':20s}{'iterations':>11}{'f+g evals':>10}{'H products':>11}{'time [s]':>10}"
          f"{'final loss':>20}")
    for name, (res, t) in results.items():
        print(f"   {name:20s}{res.nit:>11}{res.nfev:>10}{res.get('nhev', 0):>11}{t:>10.3f}"
              f"{res.fun:>20.15f}")
    ratios = {}
    for method in ("Newton-CG", "L-BFGS-B"):
        ratios[method] = results[f"{method}, dualad"][1] / results[f"{method}, by hand"][1]
        print(f"   {method}: dualad / hand-written = {ratios[method]:.2f}")
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip n = 10^4")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile dualad's Newton-CG run at n = 10^3")
    opts = parser.parse_args(argv)
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, python {sys.version.split()[0]}\n")
    sizes = [1000] if opts.quick else [1000, 10000]
    summary = bench_newton_cg(sizes, repeat_small=3)
    op_ratios = bench_operator()
    logistic_ratios = bench_logistic(repeat=3)

    print("\nSummary (targets: Newton-CG <= 2x hand-written; operator product <= 0.5x fresh hvp)")
    for n, (results, t_hand) in summary.items():
        ours, t = results["dualad"]
        hand = results["hand-written"][0]
        print(f"   Newton-CG n={n}: {t / t_hand:.2f}x hand-written, iterations {ours.nit} vs "
              f"{hand.nit}, products {ours.nhev} vs {hand.nhev}")
    for name, r in op_ratios.items():
        print(f"   operator product / fresh hvp, {name}: {r:.2f}")
    for name, r in logistic_ratios.items():
        print(f"   logistic example, {name}: {r:.2f}x hand-written")

    if opts.profile:
        x0 = starting_point(1000)
        print("\ncProfile of dualad's Newton-CG run, n = 1000 (by internal time)")
        profiler = cProfile.Profile()
        profiler.enable()
        optimize.minimize(rosen, x0, method="Newton-CG", options={"xtol": 1e-10})
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
