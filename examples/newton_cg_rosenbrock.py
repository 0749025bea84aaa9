"""Newton-CG on the extended Rosenbrock function, exact Hessian products from dualad.

SciPy's Newton-CG only ever multiplies by the Hessian, so dualad hands it a
``HessianOperator``: the gradient computation is recorded once per iterate
and every product is one tangent sweep over that recording.  The run is
compared with SciPy's hand-written ``rosen_der`` / ``rosen_hess_prod``: the
derivatives are the same numbers, so the iterations, the Hessian products
and the solution agree; the wall-time ratio is printed.

    python examples/newton_cg_rosenbrock.py            # n = 1000
    python examples/newton_cg_rosenbrock.py --n 10000
    python examples/newton_cg_rosenbrock.py --small    # n = 100 (also DUALAD_EXAMPLES_SMALL=1)
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.optimize

from dualad import optimize


def rosen(x):
    """Extended (chained) Rosenbrock in plain NumPy, as scipy.optimize.rosen
    computes it (rosen itself calls np.asarray, which would drop the derivative)."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def starting_point(n: int) -> np.ndarray:
    return np.tile([1.2, -1.0], (n + 1) // 2)[:n]


def run_hand_written(x0, xtol):
    t0 = time.perf_counter()
    res = scipy.optimize.minimize(scipy.optimize.rosen, x0, method="Newton-CG",
                                  jac=scipy.optimize.rosen_der,
                                  hessp=scipy.optimize.rosen_hess_prod,
                                  options={"xtol": xtol})
    return res, time.perf_counter() - t0


def run_dualad(x0, xtol):
    t0 = time.perf_counter()
    res = optimize.minimize(rosen, x0, method="Newton-CG", options={"xtol": xtol})
    return res, time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--small", action="store_true", help="n = 100, for CI")
    parser.add_argument("--xtol", type=float, default=1e-10)
    opts = parser.parse_args(argv)
    n = 100 if opts.small or os.environ.get("DUALAD_EXAMPLES_SMALL") else opts.n

    x0 = starting_point(n)
    hand, t_hand = run_hand_written(x0, opts.xtol)
    ours, t_ours = run_dualad(x0, opts.xtol)

    print(f"extended Rosenbrock, n = {n}, Newton-CG, xtol = {opts.xtol:g}")
    print(f"{'':28s}{'iterations':>11s}{'Hessian products':>18s}{'f(x)':>12s}{'time [s]':>10s}")
    for name, res, t in [("rosen_der + rosen_hess_prod", hand, t_hand),
                         ("dualad HessianOperator", ours, t_ours)]:
        print(f"{name:28s}{res.nit:11d}{res.nhev:18d}{res.fun:12.2e}{t:10.3f}")
    diff = float(np.max(np.abs(ours.x - hand.x)))
    print(f"max |x_dualad - x_hand| = {diff:.1e}")
    print(f"wall-time ratio dualad / hand-written = {t_ours / t_hand:.2f}")

    assert ours.success and hand.success
    assert abs(ours.nit - hand.nit) <= max(5, 0.02 * hand.nit), "iteration counts differ"
    assert abs(ours.nhev - hand.nhev) <= max(50, 0.02 * hand.nhev), "product counts differ"
    assert diff < 1e-6, "solutions differ"
    return ours, hand


if __name__ == "__main__":
    main()
