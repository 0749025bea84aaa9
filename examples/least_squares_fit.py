"""A nonlinear curve fit through a Jacobian ``LinearOperator`` solved with LSMR.

A spectrum of overlapping Gaussian peaks on a linear baseline is fitted by
``dualad.optimize.least_squares``.  The parameters are a dict of arrays (a
pytree); by default the Jacobian is a ``JacobianOperator`` -- ``matvec`` a
JVP, ``rmatvec`` a VJP, both reusing the evaluation of the residuals at the
current point -- solved with ``tr_solver="lsmr"``, so the Jacobian matrix is
never formed.  The fit is checked against the dense-Jacobian solution
(``tr_solver="exact"``, the Jacobian built by AD) and against the
parameters the data were made with.

    python examples/least_squares_fit.py            # 4,000 points, 12 peaks
    python examples/least_squares_fit.py --small    # 400 points, 4 peaks
                                                    # (also DUALAD_EXAMPLES_SMALL=1)
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from dualad import optimize


def model(params, t):
    """Baseline plus Gaussian peaks, in plain NumPy (broadcast over points x peaks)."""
    z = (t[:, None] - params["center"]) / params["width"]
    peaks = np.sum(params["amp"] * np.exp(-0.5 * z ** 2), axis=1)
    return params["baseline"][0] + params["baseline"][1] * t + peaks


def residuals(params, t, y):
    return model(params, t) - y


def make_data(points: int, peaks: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 10.0, points)
    spacing = 10.0 / peaks  # peaks overlap a little, not so much that they trade places
    true = {"amp": rng.uniform(1.0, 3.0, peaks),
            "center": (np.arange(peaks) + 0.5 + rng.uniform(-0.2, 0.2, peaks)) * spacing,
            "width": spacing * rng.uniform(0.15, 0.3, peaks),
            "baseline": np.array([0.3, 0.05])}
    y = model(true, t) + 0.01 * rng.standard_normal(points)
    guess = {"amp": true["amp"] * rng.uniform(0.7, 1.3, peaks),
             "center": true["center"] + spacing * rng.uniform(-0.1, 0.1, peaks),
             "width": true["width"] * rng.uniform(0.8, 1.25, peaks),
             "baseline": np.zeros(2)}
    return t, y, true, guess


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="400 points, 4 peaks, for CI")
    opts = parser.parse_args(argv)
    small = opts.small or os.environ.get("DUALAD_EXAMPLES_SMALL")
    points, peaks = (400, 4) if small else (4000, 12)
    t, y, true, guess = make_data(points, peaks)

    fits = {}
    for name, kw in [("JacobianOperator + lsmr", {}),
                     ("dense AD Jacobian", {"tr_solver": "exact"})]:
        t0 = time.perf_counter()
        res = optimize.least_squares(residuals, guess, args=(t, y), xtol=1e-10, ftol=1e-10,
                                     **kw)
        fits[name] = (res, time.perf_counter() - t0)

    print(f"Gaussian peaks fit: {points} points, {peaks} peaks, {3 * peaks + 2} parameters")
    print(f"{'':26s}{'cost':>14s}{'nfev':>6s}{'njev':>6s}{'time [s]':>10s}  Jacobian")
    for name, (res, secs) in fits.items():
        print(f"{name:26s}{res.cost:14.8f}{res.nfev:6d}{res.njev:6d}{secs:10.3f}  "
              f"{type(res.jac).__name__}")
    op, dense = fits["JacobianOperator + lsmr"][0], fits["dense AD Jacobian"][0]
    diff = float(np.max(np.abs(op.x_flat - dense.x_flat)))
    print(f"max |x_lsmr - x_dense| = {diff:.1e}")
    print("fitted centres:", np.round(op.x["center"], 3))
    print("true centres:  ", np.round(true["center"], 3))

    assert op.success and dense.success
    assert abs(op.cost - dense.cost) <= 1e-8 * dense.cost, "the two fits disagree"
    # LSMR solves each trust-region step only to its own tolerance, so the two
    # minimisers agree to about 1e-5 while their costs agree to 8 digits.
    assert diff < 1e-4, "the two fits disagree"
    assert np.allclose(op.x["center"], true["center"], atol=0.02), "peaks not recovered"
    return fits


if __name__ == "__main__":
    main()
