"""Sparse Jacobians and Hessians: detection, colouring and compressed evaluation ÷ f.

Run:  python benchmarks/bench_sparse.py [--quick]

Workloads (from issue 13, "Tests and figures"):
* The 2-D Bratu residual (five-point stencil, zero Dirichlet boundary) on
  k x k grids up to n = k^2 = 10^6 (``--quick``: up to k = 64).  For each n:
  detection (``jacobian_sparsity``), colouring (building a ``SparseJacobian``
  from the pattern) and evaluation (calling it) as ratios to one evaluation
  of f; dense ``jacfwd`` where it fits (n <= 4096); SciPy's grouped finite
  differences with the same pattern; and the exactness of both against the
  Jacobian written by hand.  Targets at n = 10^6: evaluation <= 15x f (five
  colours), detection <= 20x f; faster than SciPy's grouped differences at
  every n, and exact.
* The Hessian of extended Rosenbrock at n = 10^6 (``--quick``: 10^5):
  evaluation ÷ f with its number of colours.  Target: <= 25x f, <= 4 colours.
* (ODE and trust-constr end to end: the section at the end, filled in by
  the solvers work.)

All figures are ratios measured in this one run (best of repeats, see
timing.py), so they are comparable on a noisy shared machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import time

import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.sparse as sps
from scipy.optimize._numdiff import approx_derivative, group_columns

import dualad as ad
from dualad import integrate, optimize, sparse
from timing import best_time

LAMBDA = 1.0


def bratu(u):
    """The 2-D Bratu residual -Δu - λ e^u on the interior of the unit square
    (zero boundary), u of shape (k, k), by slicing a padded grid."""
    k = u.shape[0]
    up = np.pad(u, 1)
    lap = up[:-2, 1:-1] + up[2:, 1:-1] + up[1:-1, :-2] + up[1:-1, 2:] - 4.0 * u
    return -lap * (k + 1) ** 2 - LAMBDA * np.exp(u)


def bratu_flat(x, k):
    return bratu(x.reshape(k, k)).ravel()


def bratu_jacobian_by_hand(u) -> sps.csr_array:
    """The exact Jacobian of ``bratu``, written out: the reference for exactness."""
    k = u.shape[0]
    T = sps.diags_array([-np.ones(k - 1), 2 * np.ones(k), -np.ones(k - 1)], offsets=[-1, 0, 1])
    I = sps.eye_array(k)
    lap = (sps.kron(I, T) + sps.kron(T, I)) * (k + 1) ** 2
    return sps.csr_array(lap - sps.diags_array(LAMBDA * np.exp(u.ravel())))


def extended_rosenbrock(x):
    return np.sum(100.0 * (x[1::2] - x[::2] ** 2) ** 2 + (1.0 - x[::2]) ** 2)


def rosenbrock_hessian_by_hand(x) -> sps.csr_array:
    """The exact Hessian of ``extended_rosenbrock`` (n even): the 2 x 2 blocks of
    100 (b - a²)² + (1 - a)² in (a, b) = (x[2i], x[2i+1])."""
    n = x.size
    a, b = x[::2], x[1::2]
    haa, hab, hbb = 1200 * a ** 2 - 400 * b + 2, -400 * a, np.full(a.shape, 200.0)
    i = np.arange(0, n, 2)
    rows, cols = np.concatenate([i, i, i + 1, i + 1]), np.concatenate([i, i + 1, i, i + 1])
    return sps.csr_array((np.concatenate([haa, hab, hab, hbb]), (rows, cols)), shape=(n, n))


def max_error(a, b) -> float:
    d = sps.csr_array(a) - sps.csr_array(b)
    return float(np.abs(d.data).max()) if d.nnz else 0.0


def report(title, rows):
    print(f"\n{title}")
    for name, value in rows:
        print(f"  {name:<44s} {value}")


def bench_bratu(k: int, repeat: int) -> dict:
    n = k * k
    rng = np.random.default_rng(k)
    u = 0.1 * rng.standard_normal((k, k))
    base = best_time(lambda: bratu(u), repeat, number=max(1, 20000 // n))

    t_detect = best_time(lambda: sparse.jacobian_sparsity(bratu, u), repeat)
    pattern = sparse.jacobian_sparsity(bratu, u)
    # building the object from a given pattern is the colouring (and the
    # row-versus-column choice); it calls f once to learn the output's size
    t_color = best_time(lambda: sparse.SparseJacobian(bratu, u, sparsity=pattern), repeat)
    jac = sparse.SparseJacobian(bratu, u, sparsity=pattern)
    t_eval = best_time(lambda: jac(u), repeat)
    J = jac(u)
    # the same with the colours split between two threads (workers=2)
    jac2 = sparse.SparseJacobian(bratu, u, sparsity=pattern, workers=2)
    t_eval2 = best_time(lambda: jac2(u), repeat)
    assert max_error(jac2(u), J) == 0.0
    exact = bratu_jacobian_by_hand(u)

    # SciPy's grouped finite differences, as least_squares(jac_sparsity=...)
    # does them: its own column grouping of the pattern, then approx_derivative
    # with sparsity=(pattern, groups) -- a private function, but the one
    # least_squares calls, so this is exactly SciPy's "2-point" path (one f
    # evaluation per group, plus f0, here given as least_squares gives it).
    x = u.ravel()
    groups = group_columns(pattern)

    def fun(x):
        return bratu_flat(x, k)

    f0 = fun(x)
    t_fd = best_time(lambda: approx_derivative(fun, x, method="2-point", f0=f0,
                                               sparsity=(pattern, groups)), repeat)
    J_fd = approx_derivative(fun, x, method="2-point", f0=f0, sparsity=(pattern, groups))
    t_fd3 = best_time(lambda: approx_derivative(fun, x, method="3-point",
                                                sparsity=(pattern, groups)), repeat)
    J_fd3 = approx_derivative(fun, x, method="3-point", sparsity=(pattern, groups))

    rows = [
        ("nonzeros / colours (dualad) / groups (SciPy)",
         f"{pattern.nnz} / {jac.ncolors} ({jac.mode}) / {int(groups.max()) + 1}"),
        ("f (ms)", f"{base * 1e3:.3f}"),
        ("detection ÷ f", f"{t_detect / base:.1f}"),
        ("colouring ÷ f", f"{t_color / base:.1f}"),
        ("evaluation ÷ f", f"{t_eval / base:.1f}"),
        ("evaluation, workers=2 ÷ f", f"{t_eval2 / base:.1f}"),
        ("SciPy grouped 2-point differences ÷ f", f"{t_fd / base:.1f}"),
        ("SciPy grouped 3-point differences ÷ f", f"{t_fd3 / base:.1f}"),
        ("SciPy 2-point ÷ dualad evaluation", f"{t_fd / t_eval:.2f}"),
        ("max |error|: dualad vs by hand", f"{max_error(J, exact):.1e}"),
        ("max |error|: SciPy 2-point vs by hand", f"{max_error(J_fd, exact):.1e}"),
        ("max |error|: SciPy 3-point vs by hand", f"{max_error(J_fd3, exact):.1e}"),
    ]
    if n <= 4096:
        dense = ad.jacfwd(bratu)
        t_dense = best_time(lambda: dense(u), max(1, repeat // 2))
        J_dense = np.asarray(dense(u)).reshape(n, n)
        rows += [("dense jacfwd ÷ f", f"{t_dense / base:.1f}"),
                 ("dense jacfwd ÷ dualad.sparse evaluation", f"{t_dense / t_eval:.1f}"),
                 ("max |error|: dualad sparse vs dense jacfwd", f"{max_error(J, J_dense):.1e}")]
    else:
        rows.append(("dense jacfwd", "(n > 4096: not run, n^2 entries)"))
    report(f"Bratu 2-D, k = {k}, n = {n:,} (targets at n = 10^6: evaluation <= 15, "
           "detection <= 20)", rows)
    return {"n": n, "eval": t_eval / base, "eval2": t_eval2 / base, "detect": t_detect / base, "fd": t_fd / t_eval,
            "colors": jac.ncolors, "error": max_error(J, exact), "error_fd": max_error(J_fd, exact)}


def bench_rosenbrock_hessian(n: int, repeat: int):
    x = np.where(np.arange(n) % 2 == 0, 1.2, -1.0) + 0.01 * np.random.default_rng(0).standard_normal(n)
    base = best_time(lambda: extended_rosenbrock(x), repeat)
    t_detect = best_time(lambda: sparse.hessian_sparsity(extended_rosenbrock, x), repeat)
    pattern = sparse.hessian_sparsity(extended_rosenbrock, x)
    t_color = best_time(lambda: sparse.SparseHessian(extended_rosenbrock, x, sparsity=pattern),
                        repeat)
    hess = sparse.SparseHessian(extended_rosenbrock, x, sparsity=pattern)
    t_eval = best_time(lambda: hess(x), repeat)
    H = hess(x)
    exact = rosenbrock_hessian_by_hand(x)
    grad = ad.grad(extended_rosenbrock)
    t_grad = best_time(lambda: grad(x), repeat)
    report(f"Hessian of extended Rosenbrock, n = {n:,} (target: evaluation <= 25, <= 4 colours)", [
        ("nonzeros / colours", f"{pattern.nnz} / {hess.ncolors}"),
        ("f (ms)", f"{base * 1e3:.3f}"),
        ("gradient ÷ f (for scale)", f"{t_grad / base:.1f}"),
        ("detection ÷ f", f"{t_detect / base:.1f}"),
        ("colouring ÷ f", f"{t_color / base:.1f}"),
        ("evaluation ÷ f", f"{t_eval / base:.1f}"),
        ("max |error| vs by hand", f"{max_error(H, exact):.1e}"),
    ])
    return {"n": n, "eval": t_eval / base, "colors": hess.ncolors, "error": max_error(H, exact),
            "scale": float(np.abs(exact.data).max())}


# ---- ODE and trust-constr end to end ----------------------------------------------------------
def _brusselator(k):
    """The stiff 2-D Brusselator of examples/stiff_reaction_diffusion.py (n = 2 k²)."""
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "stiff_reaction_diffusion.py"
    spec = importlib.util.spec_from_file_location("stiff_reaction_diffusion", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.brusselator(k), module.Counted


def bench_solvers(quick: bool) -> None:
    """dualad.integrate.solve_ivp (BDF, exact sparse jac) against SciPy's BDF with
    finite differences grouped by the same jac_sparsity: wall time and every
    call of fun (SciPy's nfev leaves out its differences' calls); then
    trust-constr with an exact sparse Hessian against the Hessian-vector
    products only (dualad.optimize's default for trust-constr)."""
    k = 24 if quick else 72
    (fun, y0), Counted = _brusselator(k)
    span, tol = (0.0, 2.0), dict(rtol=1e-6, atol=1e-8)
    ours = Counted(fun)
    start = time.perf_counter()
    res = integrate.solve_ivp(ours, span, y0, method="BDF", **tol)
    ours_time = time.perf_counter() - start
    pattern = integrate.ode_jac(fun, span[0], y0).sparsity
    theirs = Counted(fun)
    start = time.perf_counter()
    ref = scipy.integrate.solve_ivp(theirs, span, y0, method="BDF", jac_sparsity=pattern, **tol)
    ref_time = time.perf_counter() - start
    print(f"\nStiff 2-D Brusselator (BDF), n = {y0.size}, t in {span}")
    print(f"  {'':34s}{'time [s]':>9s}{'fun calls':>11s}{'njev':>6s}{'nlu':>6s}")
    for name, r, secs, calls in (("dualad.integrate (exact sparse)", res, ours_time, ours.calls),
                                 ("SciPy (jac_sparsity + differences)", ref, ref_time,
                                  theirs.calls)):
        print(f"  {name:34s}{secs:9.2f}{calls:11d}{r.njev:6d}{r.nlu:6d}")
    print(f"  time ratio SciPy / dualad: {ref_time / ours_time:.2f}; max |y difference| at the "
          f"end: {np.max(np.abs(res.y[:, -1] - ref.y[:, -1])):.1e}")

    n = 2_000 if quick else 10_000
    rng = np.random.default_rng(0)
    c = rng.uniform(-1.0, 1.0, n)

    def energy(x):  # a chain of springs in a convex potential: tridiagonal Hessian
        return np.sum((x[1:] - x[:-1]) ** 2) * n + np.sum(np.exp(x) - c * x) + np.sum(x ** 4)

    mean_zero = scipy.optimize.NonlinearConstraint(lambda x: (np.mean(x) + 0.1 * np.mean(x ** 3))[None], 0.0, 0.0)
    x0 = np.zeros(n)
    print(f"\ntrust-constr, a spring chain in a convex potential with one nonlinear equality "
          f"constraint, n = {n}")
    print(f"  {'':34s}{'time [s]':>9s}{'iterations':>11s}{'CG iter.':>10s}{'f(x*)':>14s}")
    times = {}
    for name, hess in (("exact sparse Hessian (csr)", "sparse"), ("Hessian-vector products", None)):
        start = time.perf_counter()
        r = optimize.minimize(energy, x0, method="trust-constr", hess=hess,
                              constraints=[mean_zero], options={"gtol": 1e-8, "maxiter": 500})
        times[name] = time.perf_counter() - start
        print(f"  {name:34s}{times[name]:9.2f}{r.nit:11d}{r.cg_niter:10d}{r.fun:14.6e}")
    print(f"  time ratio products / sparse: "
          f"{times['Hessian-vector products'] / times['exact sparse Hessian (csr)']:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, fewer repeats")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    repeat = 3 if args.quick else 5
    ks = (16, 32, 64) if args.quick else (32, 64, 128, 256, 512, 1000)
    results = [bench_bratu(k, repeat if k < 512 else 3) for k in ks]
    print("\nSummary, Bratu: n, evaluation ÷ f (one thread, workers=2), detection ÷ f, "
          "SciPy 2-point ÷ dualad evaluation")
    for r in results:
        print(f"  {r['n']:>9,}  {r['eval']:6.1f} {r['eval2']:6.1f}  {r['detect']:6.1f}  "
              f"{r['fd']:6.2f}")
    bench_rosenbrock_hessian(10 ** 5 if args.quick else 10 ** 6, repeat)
    bench_solvers(args.quick)
    print(f"\n(whole run: {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
