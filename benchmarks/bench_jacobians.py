"""Dense Jacobians of tanh(A @ x): jacrev and jacfwd ÷ plain NumPy f, in one run.

Run:  python benchmarks/bench_jacobians.py

The three workloads of issue 14 ("Batched cotangents"): m = 10 outputs and
n = 1,000 inputs, m = 1,000 and n = 10, and m = n = 300.  jacrev pulls all
m rows back in one backward pass (vector mode through the pullback), jacfwd
pushes n directions in chunks.  Targets: jacrev <= 60x f at m = 10, n =
1,000 and <= 100x f at m = n = 300.  Both also replayed
(``dualad.replay(jacrev(f))``: recorded once, then run without dispatch).
HIPS autograd and JAX (eager, no jit) are timed beside when they are
installed, and skipped with a note when not.
"""

from __future__ import annotations

import numpy as np

import dualad as ad
from timing import best_time

WORKLOADS = [(10, 1000), (1000, 10), (300, 300)]


def _peers(A, x):
    """name -> (jacrev, jacfwd) callables of installed peer libraries."""
    peers = {}
    try:
        import autograd
        import autograd.numpy as anp
        g = lambda x: anp.tanh(anp.dot(A, x))
        peers["HIPS autograd"] = (lambda: autograd.jacobian(g)(x), None)
    except ImportError:
        print("  (HIPS autograd not installed: skipped)")
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        Aj, xj = jnp.asarray(A), jnp.asarray(x)
        h = lambda x: jnp.tanh(Aj @ x)
        peers["JAX eager"] = (lambda: jax.jacrev(h)(xj).block_until_ready(),
                              lambda: jax.jacfwd(h)(xj).block_until_ready())
    except ImportError:
        print("  (JAX not installed: skipped)")
    return peers


def jacobian_rows(m: int, n: int, replayed: bool = True, repeat: int = 7):
    """f's time and ``(name, jacrev seconds, jacfwd seconds)`` for dualad eager
    (and replayed) on the workload ``m x n``, each result checked exactly."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((m, n)) / np.sqrt(n)
    x = rng.standard_normal(n)
    f = lambda x: np.tanh(A @ x)
    base = best_time(lambda: f(x), repeat, number=200)
    exact = (1 - np.tanh(A @ x) ** 2)[:, None] * A
    kinds = [("dualad", lambda g: g)] + ([("dualad replayed", ad.replay)] if replayed else [])
    rows = []
    for name, wrap in kinds:
        jr, jf = wrap(ad.jacrev(f)), wrap(ad.jacfwd(f))
        for _ in range(2):  # the replayed ones: the recording, then a replay
            assert np.allclose(jr(x), exact, rtol=1e-12, atol=1e-12)
            assert np.allclose(jf(x), exact, rtol=1e-12, atol=1e-12)
        rows.append((name, best_time(lambda: jr(x), repeat), best_time(lambda: jf(x), repeat)))
    return base, rows, (A, x)


def main():
    for m, n in WORKLOADS:
        base, rows, (A, x) = jacobian_rows(m, n)
        print(f"tanh(A @ x), m = {m}, n = {n}: f {base * 1e6:.1f} µs")
        for name, rev, fwd in rows:
            print(f"  {name:16s} jacrev {rev / base:8.0f}x f   jacfwd {fwd / base:8.0f}x f")
        for name, (prev, pfwd) in _peers(A, x).items():
            r = f"jacrev {best_time(prev, 5) / base:8.0f}x f"
            fw = f"   jacfwd {best_time(pfwd, 5) / base:8.0f}x f" if pfwd else ""
            print(f"  {name:16s} {r}{fw}")


if __name__ == "__main__":
    main()
