"""The examples in examples/ run as they are, at the small sizes CI can afford.

Each script checks its own results (same iterations and solution as the
hand-written derivatives, the two least-squares fits agreeing) and exits
non-zero if they do not hold; timings are printed, never asserted.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# every script in examples/ (basics.py runs in test_readme.py)
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("*.py") if p.name != "basics.py")


@pytest.mark.parametrize("script", EXAMPLES)
def test_example_runs(script):
    env = dict(os.environ, DUALAD_EXAMPLES_SMALL="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script)], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "dualad" in proc.stdout or "JacobianOperator" in proc.stdout


def test_benchmark_reference_implementations_are_right():
    """The hand-sequenced 'op-by-op floor' that bench_core.py prints beside
    dualad's figures computes the true gradient and Hessian-vector product."""
    import numpy as np
    import scipy.optimize as so
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_core
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    rng = np.random.default_rng(5)
    for n in (2, 3, 1001):
        x, v = rng.standard_normal(n), rng.standard_normal(n)
        value, g = bench_core.floor_gradient(x)
        np.testing.assert_allclose(value, so.rosen(x), rtol=1e-12)
        np.testing.assert_allclose(g, so.rosen_der(x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(bench_core.floor_hvp(x, v), so.rosen_hess_prod(x, v),
                                   rtol=1e-12, atol=1e-12)
