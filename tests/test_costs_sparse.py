"""The sparse Jacobian and Hessian in dualad.costs: rows, colours, checks against
the dense modes, the recommendation, honest notes when the sparse mode is no use,
and the CLI.

No test asserts a wall-clock time.  The recommendation on the large banded
problem is made from timings, but its margin is orders of magnitude: a dense
Jacobian of n = 20 000 against 3 colours.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp

import dualad as ad
from dualad import costs, problems
from dualad.costs import comparison

ROOT = pathlib.Path(__file__).resolve().parents[1]
SPARSE = ("sparse:detect", "sparse:color", "sparse")


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "dualad", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=str(ROOT))


@pytest.fixture(scope="module")
def banded():
    """A tridiagonal Jacobian, small enough for every dense mode to run."""
    inst = problems.make("bratu-1d", n=60)
    return costs.compare(inst.f, inst.x, repeat=1, name="bratu-1d")


def test_tridiagonal_jacobian_has_three_colours_and_rows(banded):
    assert list(banded.results) == ["f", "jvp", "replayed:jvp", "vjp", "replayed:vjp", "jacfwd",
                                    "jacrev", *SPARSE, "replayed:sparse"]
    rec = banded.recommendation
    assert rec["sparse_ncolors"] == 3
    assert rec["sparse_nnz"] == 3 * 60 - 2
    for key in SPARSE:
        r = banded[key]
        assert r.timing is not None and r.skipped is None and r.work is not None, key
        assert r.ratio == pytest.approx(r.timing.median / banded["f"].timing.median)
    assert "3 JVPs" in banded["sparse"].label
    # one batched pass: the counted work of f and its JVP rules, not n passes
    assert banded["sparse"].work.passes == banded["jvp"].work.passes
    assert banded["jacfwd"].work.rule_work > 10 * banded["sparse"].work.rule_work


def test_sparse_values_are_checked_against_jacfwd(banded):
    assert banded.checks["sparse Jacobian vs jacfwd"] < 1e-12
    assert banded.checks["jacfwd vs jacrev"] < 1e-12
    assert banded.checks["replayed vs eager"] < 1e-12


def test_replayed_sparse_row_beside_the_eager_one(banded):
    """The sparse row is the eager pass; the replayed row the object's default,
    recorded once (before its timing) and replayed from then on."""
    eager, again = banded["sparse"], banded["replayed:sparse"]
    assert again.label == "sparse Jacobian (replayed), per x"
    assert again.timing is not None and again.timing.median > 0 and again.ratio > 0
    assert again.replay["recordings"] == 1 and again.replay["mismatches"] == 0
    assert again.replay["replays"] >= again.timing.samples * again.timing.loops
    assert again.work.ops == again.replay["ops"] > 0
    assert again.work.passes == 0 and eager.work.passes > 0  # no trace opened: no dispatch
    assert "(replayed, the default)" in banded.recommendation["sparse_reason"]


def test_the_replay_check_catches_a_difference_without_densifying():
    J = sp.csr_array(sp.diags_array([np.ones(50_000), np.full(49_999, 2.0)], offsets=[0, 1]))
    off = J.copy()
    off.data[7] += 1e-3  # one entry of 4 off: a 50,000 x 50,000 dense copy would be 20 GB
    v = np.ones(50_000)
    jvp = (np.zeros(50_000), J @ v)
    values = {"sparse": J, "replayed:sparse": off, "jvp": jvp, "replayed:jvp": jvp}
    checks = comparison._checks(values, False, v)
    assert checks["replayed vs eager"] == pytest.approx(1e-3 / 2.0)
    values["replayed:sparse"] = J.copy()
    assert comparison._checks(values, False, v)["replayed vs eager"] == 0.0


def test_the_sparse_check_catches_a_wrong_jacobian():
    f, x = problems.bratu_1d, np.linspace(0.1, 0.9, 12)
    J = ad.jacfwd(f)(x)
    v = np.ones_like(x)
    wrong = sp.csr_array(J)
    wrong.data[3] += 1e3
    values = {"jvp": ad.jvp(f, (x,), (v,)), "jacfwd": J, "sparse": wrong}
    assert comparison._checks(values, False, v)["sparse Jacobian vs jacfwd"] > 0.1
    # without a dense Jacobian, J @ v is checked against the JVP
    del values["jacfwd"]
    assert comparison._checks(values, False, v)["sparse Jacobian @ v vs jvp"] > 0.1
    values["sparse"] = sp.csr_array(J)
    assert comparison._checks(values, False, v)["sparse Jacobian @ v vs jvp"] < 1e-12


def test_bratu_jacobian_is_the_five_point_matrix_with_five_colours():
    inst = problems.make("bratu", n=49)  # a 7 x 7 grid
    k, h2 = 7, (1 / 8) ** 2
    second = sp.diags([np.ones(k - 1), -2 * np.ones(k), np.ones(k - 1)], [-1, 0, 1])
    eye = sp.identity(k)
    expected = ((sp.kron(eye, second) + sp.kron(second, eye)) / h2
                + sp.diags(problems.BRATU_LAMBDA * np.exp(inst.x))).toarray()
    np.testing.assert_allclose(ad.jacfwd(inst.f)(inst.x), expected, rtol=1e-12)
    r = costs.compare(inst.f, inst.x, repeat=1, modes=("jacfwd", *SPARSE))
    assert r.recommendation["sparse_ncolors"] == 5
    assert r.recommendation["sparse_nnz"] == np.count_nonzero(expected)
    assert r.checks["sparse Jacobian vs jacfwd"] < 1e-12


def test_sparse_hessian_of_rosenbrock():
    inst = problems.make("rosenbrock", n=40)
    r = costs.compare(inst.f, inst.x, repeat=1,
                      modes=("hvp:fwd-over-rev", "hessian", *SPARSE))
    rec = r.recommendation
    assert rec["sparse_ncolors"] == 3
    assert rec["sparse_nnz"] == np.count_nonzero(scipy.optimize.rosen_hess(inst.x))
    assert "3 HVPs" in r["sparse"].label and "star colouring" in r["sparse:color"].label
    # the dense and the sparse Hessian, both times v, against the HVP
    assert r.checks["Hessian @ v vs hvp"] < 1e-12
    assert "Sparse Hessian: 3 colours" in rec["sparse_reason"]


def test_sparse_wins_on_a_large_banded_problem_where_dense_cannot_run():
    inst = problems.make("bratu-1d", n=20_000)
    r = costs.compare(inst.f, inst.x, repeat=1, max_seconds=0.5)
    # the dense Jacobians (3.2 GB each) are predicted, not run; the sparse one runs
    assert r["jacfwd"].skipped and r["jacrev"].skipped
    assert r["sparse"].timing is not None
    rec = r.recommendation
    assert rec["sparse"] is True and rec["sparse_calls"] >= 1
    assert rec["sparse_ncolors"] == 3
    assert "(predicted)" in rec["sparse_reason"]
    assert r.checks["sparse Jacobian @ v vs jvp"] < 1e-12
    assert r.checks["replayed vs eager"] < 1e-12
    assert r["replayed:sparse"].replay["recordings"] == 1
    assert "Sparse Jacobian: 3 colours" in r.to_text()


def test_dense_pattern_is_left_out_with_a_note():
    inst = problems.make("tanh", n=30, m=20)
    r = costs.compare(inst.f, inst.x, repeat=1)
    assert not any(key in r for key in SPARSE)
    rec = r.recommendation
    assert rec["sparse"] is False and rec["sparse_calls"] is None
    assert "pattern is dense (600 of 20 x 30 entries): no gain" in rec["sparse_reason"]
    assert "Sparse Jacobian: not used" in r.to_text()
    assert rec["jacobian"] in ("jacfwd", "jacrev")


def branchy(x):
    scale = 2.0 if x[0] > 0 else 3.0  # a Python branch on a value
    return scale * x[1:] * x[:-1]


def test_detection_that_branches_on_a_value_says_use_local():
    x = np.linspace(0.5, 1.5, 10)
    r = costs.compare(branchy, x, repeat=1, modes=("jacfwd", *SPARSE))
    assert not any(key in r for key in SPARSE)
    reason = r.recommendation["sparse_reason"]
    assert r.recommendation["sparse"] is False
    assert "branches on a value" in reason and "local=True" in reason
    local = costs.compare(branchy, x, repeat=1, modes=("jacfwd", *SPARSE), local=True)
    assert local.recommendation["sparse_ncolors"] == 2
    assert "local, at this x" in local["sparse:detect"].label
    assert local.checks["sparse Jacobian vs jacfwd"] < 1e-12


def test_modes_subset_keeps_only_the_sparse_rows_asked_for():
    inst = problems.make("bratu-1d", n=30)
    r = costs.compare(inst.f, inst.x, repeat=1, modes=("sparse",))
    assert list(r.results) == ["f", "jvp", "vjp", "sparse"]
    # no dense Jacobian ran: nothing to compare with, and the values checked by J @ v
    assert r.recommendation["sparse"] is None
    assert r.checks["sparse Jacobian @ v vs jvp"] < 1e-12
    r = costs.compare(inst.f, inst.x, repeat=1, modes=("jacfwd",))
    assert not any(key in r for key in SPARSE) and "sparse" not in r.recommendation


def test_cli_shows_the_sparse_rows(tmp_path):
    path = tmp_path / "r.json"
    out = run_cli("costs", "bratu", "--n", "400", "--repeat", "1", "--json", str(path))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "sparse Jacobian: detect pattern (global, for every x), once" in text
    assert "sparse Jacobian: column colouring, once" in text
    assert "sparse Jacobian (5 JVPs in one pass), per x" in text
    assert "Sparse Jacobian: 5 colours (columns, JVPs), 1920 nonzeros of 400 x 400" in text
    assert "sparse Jacobian vs jacfwd" in text
    data = json.loads(path.read_text())
    assert data["recommendation"]["sparse_ncolors"] == 5
    assert data["modes"]["sparse"]["note"] == "5 colours for n = 400"


def test_cli_local_flag_and_problem_list():
    out = run_cli("costs", "rosenbrock", "--n", "50", "--repeat", "1", "--local",
                  "--modes", "sparse:detect,sparse:color,sparse,hessian,hvp:fwd-over-rev")
    assert out.returncode == 0, out.stderr
    assert "sparse Hessian: detect pattern (local, at this x), once" in out.stdout
    assert "sparse Hessian (3 HVPs in one pass), per x" in out.stdout
    out = run_cli("problems")
    assert out.returncode == 0 and "bratu-1d" in out.stdout and "bratu " in out.stdout
