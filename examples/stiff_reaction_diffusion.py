"""A stiff 2-D reaction-diffusion system through ``dualad.integrate.solve_ivp``.

The Brusselator on a periodic k x k grid (two species, n = 2 k² unknowns):

    u' = A + u² v - (B + 1) u + alpha Δu,     v' = B u - u² v + alpha Δv,

with the five-point Laplacian Δ -- stiff, because alpha k² is large.  With
``method="BDF"`` and no ``jac``, dualad detects the Jacobian's sparsity
(the stencil plus the u-v coupling) once at (t0, y0), colours its columns
and hands SciPy an exact ``csr_array`` Jacobian from one compressed
vector-mode pass per call.  It is compared with SciPy's own run on the same
pattern (``jac_sparsity``) by grouped finite differences: the solutions must
agree, and dualad must call ``fun`` fewer times (SciPy's ``nfev`` leaves out
the calls its finite differences make, so both are counted here).  On the
small grid SciPy's default -- no pattern: dense differences, n + 1 calls
per Jacobian, and a dense LU -- is shown too.  BDF reuses one Jacobian over
many steps, so the exact one changes little in the number of steps here;
what it saves is the finite-difference calls and the pattern you would
otherwise write by hand.

    python examples/stiff_reaction_diffusion.py           # k = 48, n = 4608
    python examples/stiff_reaction_diffusion.py --small   # k = 16, n = 512
    python examples/stiff_reaction_diffusion.py --k 100   # n = 20000
                                                          # (also DUALAD_EXAMPLES_SMALL=1)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import scipy.integrate

from dualad import integrate

A, B = 1.0, 3.4


def brusselator(k: int, alpha: float = 0.002):
    """fun(t, y) of the periodic Brusselator on a k x k grid, and a smooth y0."""
    scale = alpha * k ** 2

    def laplacian(w):
        return (np.roll(w, 1, axis=0) + np.roll(w, -1, axis=0) + np.roll(w, 1, axis=1)
                + np.roll(w, -1, axis=1) - 4.0 * w)

    def fun(t, y):
        u = np.reshape(y[: k * k], (k, k))
        v = np.reshape(y[k * k:], (k, k))
        uuv = u * u * v
        du = A + uuv - (B + 1.0) * u + scale * laplacian(u)
        dv = B * u - uuv + scale * laplacian(v)
        return np.concatenate([np.reshape(du, (-1,)), np.reshape(dv, (-1,))])

    x = np.arange(k) / k
    X, Y = np.meshgrid(x, x, indexing="ij")
    u0 = 22.0 * Y * (1.0 - Y) ** 1.5
    v0 = 27.0 * X * (1.0 - X) ** 1.5
    return fun, np.concatenate([u0.ravel(), v0.ravel()])


class Counted:
    """fun, counting every call (SciPy's own and its finite differences')."""

    def __init__(self, fun):
        self.fun, self.calls = fun, 0

    def __call__(self, t, y):
        self.calls += 1
        return self.fun(t, y)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="k = 16 (n = 512), for CI")
    parser.add_argument("--k", type=int, default=None, help="grid size (default 48)")
    opts = parser.parse_args(argv)
    small = opts.small or os.environ.get("DUALAD_EXAMPLES_SMALL")
    k = opts.k or (16 if small else 48)
    fun, y0 = brusselator(k)
    span, tol = (0.0, 2.0), dict(rtol=1e-6, atol=1e-8)

    ours = Counted(fun)
    start = time.perf_counter()
    res = integrate.solve_ivp(ours, span, y0, method="BDF", **tol)
    ours_time = time.perf_counter() - start

    jac = integrate.ode_jac(fun, span[0], y0)  # the pattern, for SciPy's run
    theirs = Counted(fun)
    start = time.perf_counter()
    ref = scipy.integrate.solve_ivp(theirs, span, y0, method="BDF",
                                    jac_sparsity=jac.sparsity, **tol)
    ref_time = time.perf_counter() - start

    runs = [("dualad (exact sparse jac)", res, ours_time, ours.calls),
            ("SciPy (jac_sparsity + finite diff.)", ref, ref_time, theirs.calls)]
    if y0.size <= 2000:  # SciPy's default, dense differences and dense LU, is affordable
        plain = Counted(fun)
        start = time.perf_counter()
        dense = scipy.integrate.solve_ivp(plain, span, y0, method="BDF", **tol)
        runs.append(("SciPy (dense finite differences)", dense, time.perf_counter() - start,
                     plain.calls))

    sj = jac.sparse_jacobian
    print(f"2-D Brusselator, {k} x {k} grid, n = {y0.size}; Jacobian {sj.sparsity.nnz} "
          f"nonzeros, {sj.ncolors} colours")
    print(f"{'':38s}{'time [s]':>9s}{'fun calls':>11s}{'nfev':>7s}{'njev':>6s}{'nlu':>6s}")
    for name, r, secs, calls in runs:
        print(f"{name:38s}{secs:9.3f}{calls:11d}{r.nfev:7d}{r.njev:6d}{r.nlu:6d}")
    diff = float(np.max(np.abs(res.y[:, -1] - ref.y[:, -1])))
    print(f"max |y_dualad - y_scipy| at t = {span[1]}: {diff:.1e}")

    ok = res.success and ref.success and diff < 1e-4 and ours.calls < theirs.calls \
        and jac.kind == "sparse"
    if not ok:
        print("FAILED: the solutions disagree, or dualad did not save fun calls")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
