"""The exact sparse Jacobian of a PDE residual, from five JVPs instead of 10,000.

The 2-D Bratu problem -Δu = λ e^u on the unit square (zero boundary),
discretised by the five-point stencil on a k x k grid, has a residual
F(u) whose Jacobian is n x n (n = k²) with at most five nonzeros a row.
``dualad.sparse`` finds that pattern by tracing F once, colours its
columns so that columns sharing no row are grouped (the five-point
stencil needs five colours, whatever n is), and evaluates the Jacobian
with one vector-mode JVP pass of five directions -- exact to the last bit.

SciPy's finite differences can use the same pattern (``approx_derivative``
with ``sparsity=``, which is what ``least_squares(jac_sparsity=...)``
does); they are compared here for time and accuracy.  The script checks
its own results against the Jacobian written out by hand and exits
non-zero if they do not hold.

    python examples/sparse_jacobian.py            # 100 x 100 grid, n = 10,000
    python examples/sparse_jacobian.py --small    # 30 x 30 (also DUALAD_EXAMPLES_SMALL=1)
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import scipy.sparse as sps
from scipy.optimize._numdiff import approx_derivative

from dualad import sparse

LAMBDA = 6.0  # below the fold of the Bratu problem (about 6.81): a solution exists


def bratu(u):
    """-Δu - λ e^u on the interior grid points, in plain NumPy (u: k x k)."""
    k = u.shape[0]
    up = np.pad(u, 1)  # the zero boundary
    lap = up[:-2, 1:-1] + up[2:, 1:-1] + up[1:-1, :-2] + up[1:-1, 2:] - 4.0 * u
    return -lap * (k + 1) ** 2 - LAMBDA * np.exp(u)


def jacobian_by_hand(u):
    """The same Jacobian written out, to check the result against."""
    k = u.shape[0]
    T = sps.diags_array([-np.ones(k - 1), 2 * np.ones(k), -np.ones(k - 1)], offsets=[-1, 0, 1])
    I = sps.eye_array(k)
    return sps.csr_array((sps.kron(I, T) + sps.kron(T, I)) * (k + 1) ** 2
                         - sps.diags_array(LAMBDA * np.exp(u.ravel())))


def timed(fn, repeat=3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a 30 x 30 grid, for CI")
    opts = parser.parse_args(argv)
    k = 30 if (opts.small or os.environ.get("DUALAD_EXAMPLES_SMALL")) else 100
    n = k * k
    u = np.random.default_rng(0).uniform(0.0, 0.5, (k, k))

    pattern, t_detect = timed(lambda: sparse.jacobian_sparsity(bratu, u))
    jac, t_setup = timed(lambda: sparse.SparseJacobian(bratu, u, sparsity=pattern), repeat=1)
    J, t_eval = timed(lambda: jac(u))
    _, t_f = timed(lambda: bratu(u), repeat=10)

    print(f"dualad.sparse on the Bratu residual, {k} x {k} grid: n = {n:,} unknowns")
    print(f"  pattern: {pattern.shape[0]:,} x {pattern.shape[1]:,}, {pattern.nnz:,} nonzeros "
          f"({pattern.nnz / n:.2f} a row), found by one traced pass in {t_detect * 1e3:.1f} ms")
    print(f"  colours: {jac.ncolors} ({jac.mode} mode: {jac.ncolors} JVPs instead of {n:,}), "
          f"colouring took {t_setup * 1e3:.1f} ms")
    print(f"  evaluation: {t_eval * 1e3:.2f} ms = {t_eval / t_f:.1f} x one evaluation of F")

    # SciPy's grouped finite differences with the same pattern (its own grouping)
    def fun(x):
        return bratu(x.reshape(k, k)).ravel()

    J_fd, t_fd = timed(lambda: approx_derivative(fun, u.ravel(), method="2-point",
                                                 sparsity=pattern))
    exact = jacobian_by_hand(u)
    err_ad = float(np.abs((J - exact).data).max(initial=0.0))
    err_fd = float(np.abs((sps.csr_array(J_fd) - exact).data).max(initial=0.0))
    scale = float(np.abs(exact.data).max())
    print(f"  SciPy 2-point differences, same pattern: {t_fd * 1e3:.2f} ms "
          f"({t_fd / t_eval:.1f} x dualad's evaluation)")
    print(f"  max |error| against the Jacobian by hand (entries up to {scale:.1e}):")
    print(f"    dualad.sparse: {err_ad:.1e}   SciPy finite differences: {err_fd:.1e}")

    # the reusable object at a new point: what a Newton solver calls each step
    u2 = u + 0.1
    err_new = float(np.abs((jac(u2) - jacobian_by_hand(u2)).data).max(initial=0.0))
    print(f"  at a new point, the same SparseJacobian: max |error| {err_new:.1e}")

    ok = (pattern.nnz == exact.nnz and jac.ncolors == 5 and err_ad <= 1e-12 * scale
          and err_new <= 1e-12 * scale and J.shape == (n, n))
    if not ok:
        print("FAILED: the sparse Jacobian does not match the one written by hand")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
