"""``python -m dualad``: each subcommand runs on a small size and exits 0; bad
arguments exit non-zero with a one-line message and no traceback."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(*args, code=None, timeout=120):
    """``python -m dualad *args`` on this checkout (or ``python -c code``)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "dualad", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=str(ROOT))


def has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_demo_without_arguments():
    out = run()
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "J v" in text and "∇²f v" in text and "agree" in text
    assert "Newton-CG" in text and "H products" in text and "rosen_der/hess_prod" in text
    assert "the count is the method's" in text  # the long run is explained
    assert "HVP fwd-over-rev" in text and "HVP nesting:" in text
    assert "Traceback" not in out.stderr
    # a newcomer's terminal: no line wider than 100 columns
    assert max(len(line) for line in text.splitlines()) <= 100


def test_demo_subcommand_small():
    out = run("demo", "--n", "20", "--n-costs", "20", "--repeat", "1")
    assert out.returncode == 0, out.stderr
    assert "n = 20" in out.stdout


def test_costs(tmp_path):
    report = tmp_path / "r.json"
    args = ["costs", "rosenbrock", "--n", "20", "--repeat", "1", "--json", str(report)]
    if has_matplotlib():
        args += ["--plot", str(tmp_path / "r.png")]
    out = run(*args)
    assert out.returncode == 0, out.stderr
    assert "HVP rev-over-rev" in out.stdout and "dense Hessian" in out.stdout
    for row in ("JVP (replayed)", "gradient (replayed)", "HVP fwd-over-rev (replayed)",
                "sparse Hessian (replayed), per x"):
        assert row in out.stdout
    data = json.loads(report.read_text())
    assert data["n"] == 20 and data["recommendation"]["gradient"] == "grad"
    assert data["recommendation"]["replay_reason"] in out.stdout
    assert data["modes"]["replayed:vjp"]["replay"]["recordings"] == 1
    if has_matplotlib():
        assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def test_costs_vector_problem_markdown():
    out = run("costs", "tanh-tall", "--n", "5", "--repeat", "1", "--markdown")
    assert out.returncode == 0, out.stderr
    assert "| jacrev (1 pullback of 50 rows)" in out.stdout
    assert "| VJP (replayed)" in out.stdout
    assert "Jacobian (50 x 5; 5 inputs < 50 outputs): jacfwd" in out.stdout


def test_sweep_with_progress_on_stderr(tmp_path):
    args = ["sweep", "tanh", "--sizes", "4,40", "--m", "10", "--repeat", "1",
            "--modes", "jacfwd,jacrev", "--json", str(tmp_path / "s.json")]
    if has_matplotlib():
        args += ["--plot", str(tmp_path / "s.png")]
    out = run(*args)
    assert out.returncode == 0, out.stderr
    assert "[1/2] tanh, n = 4" in out.stderr and "[2/2]" in out.stderr
    assert "crossover" in out.stdout
    assert json.loads((tmp_path / "s.json").read_text())["sizes"] == [4, 40]
    if has_matplotlib():
        assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"


def test_sweep_over_m_quiet():
    out = run("sweep", "chain", "--vary", "m", "--n", "3", "--sizes", "2,1e1", "--repeat", "1",
              "--modes", "jvp", "--quiet")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    assert "cost against m" in out.stdout


def test_problems_list():
    out = run("problems")
    assert out.returncode == 0
    for name in ("rosenbrock", "logistic", "mlp", "chain", "tanh-wide", "tanh-square",
                 "tanh-tall"):
        assert name in out.stdout


@pytest.mark.parametrize("sub", [[], ["demo"], ["costs"], ["sweep"], ["problems"]])
def test_help(sub):
    out = run(*sub, "--help")
    assert out.returncode == 0
    assert "usage: python -m dualad" in out.stdout


@pytest.mark.parametrize("args, message", [
    (["costs", "nosuch"], "unknown problem 'nosuch'; choose one of: rosenbrock"),
    (["sweep", "rosen", "--sizes", "10"], "unknown problem 'rosen'"),
    (["sweep", "tanh", "--sizes", "10,abc"], "bad size 'abc'"),
    (["sweep", "tanh", "--sizes", "10,0"], "bad size '0'"),
    (["sweep", "tanh", "--sizes", "1.5"], "bad size '1.5'"),
    (["sweep", "tanh", "--sizes", ","], "comma-separated"),
    (["sweep", "tanh"], "--sizes"),
    (["costs", "tanh", "--n", "-3"], "'-3' must be a positive integer"),
    (["costs", "tanh", "--n", "ten"], "'ten' is not an integer"),
    (["costs", "tanh", "--modes", "hvp"], "unknown mode(s) hvp"),
    (["costs", "tanh", "--max-seconds", "0"], "must be positive"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_exit_nonzero_without_traceback(args, message):
    out = run(*args)
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_unwritable_output_is_a_message(tmp_path):
    out = run("costs", "tanh", "--n", "3", "--repeat", "1", "--modes", "jvp",
              "--json", str(tmp_path / "missing" / "r.json"))
    assert out.returncode == 1
    assert "error:" in out.stderr and "Traceback" not in out.stderr


def test_plot_without_matplotlib_is_a_message(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; "
            "from dualad.__main__ import main; sys.exit(main(sys.argv[1:]))")
    out = run("costs", "tanh", "--n", "3", "--repeat", "1", "--modes", "jvp",
              "--plot", str(tmp_path / "p.png"), code=code)
    assert out.returncode == 1
    assert "pip install 'dualad[plot]'" in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "p.png").exists()
