"""dualad.costs on the user's own function: the command line on module:function
and on a file, pytrees in compare, a recommendation that starts from what f
is, implausible timings flagged, BLAS threads pinned when threadpoolctl is
there, and plots whose artists say what the tables say.

No test asserts a wall-clock time.  The one test that needs a timing to be
implausible builds it: an f that sleeps 20 ms when called on plain arrays
(never when traced), so that every derivative measures "faster than f".
"""

import contextlib
import subprocess
import sys
import time
import types

import numpy as np
import pytest

import dualad as ad
from dualad import costs
from dualad.costs import cli, plots
from dualad.costs.recommend import _recommend_chunk, plausibility
from dualad.costs.report import ModeResult
from dualad.costs.timing import Timing

FAST = ["jvp", "hvp:fwd-over-rev"]  # f, jvp and vjp always run

LOSS_FILE = '''
"""A user's loss: least squares through tanh."""
import numpy as np

A = np.random.default_rng(1).standard_normal((12, 6))
b = np.linspace(-1.0, 1.0, 12)


def f(w):
    return 0.5 * np.sum((np.tanh(A @ w) - b) ** 2)


x = np.zeros(6)
v = np.ones(6)
'''


def run_cli(*args, cwd=None):
    """``python -m dualad costs ...`` in a subprocess (as a user runs it)."""
    import os
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.run([sys.executable, "-m", "dualad", "costs", *args], capture_output=True,
                          text=True, timeout=120, env=env, cwd=cwd)


def main(capsys, *args):
    """The CLI in this process: (exit status, stdout, stderr); argparse's own
    refusals exit with status 2."""
    try:
        status = cli.main(["costs", *args])
    except SystemExit as exc:
        status = exc.code
    out = capsys.readouterr()
    return status, out.out, out.err


# ---- the command line on the user's function ------------------------------------------------
def test_cli_on_a_file_that_defines_f_and_x(tmp_path):
    (tmp_path / "myloss.py").write_text(LOSS_FILE)
    out = run_cli("myloss.py", "--repeat", "1", "--modes", ",".join(FAST), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("myloss.py: n = 6, m = 1 (a scalar)")
    assert "Gradient of a scalar loss (n = 6): dualad.grad(f)" in text
    assert "dualad.hvp(f, x, v, 'fwd-over-rev')" in text
    # a loss is not a Jacobian: no jacfwd/jacrev choice, no chunk size
    assert "Jacobian (" not in text and "Chunk size" not in text
    assert "BLAS threads:" in text
    assert "unknown problem" not in out.stderr and "Traceback" not in out.stderr


def test_cli_on_module_function_with_x_shape(tmp_path, capsys, monkeypatch):
    (tmp_path / "userres.py").write_text(
        "import numpy as np\ndef residual(x):\n    return np.sin(x).ravel()[:4] * 2.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    status, out, err = main(capsys, "userres:residual", "--x-shape", "2,3", "--x-fill", "0.5",
                            "--repeat", "1", "--modes", "jacfwd,jacrev")
    assert status == 0, err
    assert out.startswith("userres:residual: n = 6 (x of shape (2, 3)), m = 4")
    assert "Jacobian (4 x 6; 6 inputs > 4 outputs): jac" in out
    assert "Gradient of a scalar loss" not in out


def test_x_drawn_reproducibly_or_filled():
    args = cli.build_parser().parse_args(["costs", "m:f", "--x-shape", "3,4", "--seed", "7"])
    x = cli._x_from_options(args, "m:f")
    np.testing.assert_array_equal(x, np.random.default_rng(7).standard_normal((3, 4)))
    args = cli.build_parser().parse_args(["costs", "m:f", "--x-shape", "5", "--x-fill", "2"])
    np.testing.assert_array_equal(cli._x_from_options(args, "m:f"), np.full(5, 2.0))


FILES = {
    "nof.py": "import numpy as np\ndef loss(x):\n    return np.sum(x ** 2)\nx = np.ones(3)\n",
    "notcallable.py": "f = 3\nx = [1.0]\n",
    "xstring.py": "def f(x):\n    return x\nx = 'abc'\n",
    "nox.py": "def f(x):\n    return x\n",
    "boom.py": "import numpy as np\n\nraise RuntimeError('boom')\n",
    "xint.py": "import numpy as np\ndef f(x):\n    return np.sum(x)\nx = np.arange(3)\n",
    "none.py": "import numpy as np\ndef f(x):\n    np.sum(x)\nx = np.ones(3)\n",
    "bad.py": "def f(x) return x\n",
    "raises.py": "import numpy as np\ndef f(x):\n    return np.sum(x) + undefined\nx = np.ones(2)\n",
    "userbad.py": "import numpy as np\nNOT_A_FUNCTION = 3\ndef g(x):\n    return x\n",
    "userbroken.py": "import nosuchdependency\n",
}


@pytest.mark.parametrize("args, message", [
    (["nof.py"], "nof.py defines no f (it defines loss: name one f, e.g. f = loss)"),
    (["notcallable.py"], "f in notcallable.py is an int, not a function"),
    (["xstring.py"], "x in xstring.py is a str, not an array; define x as a float array"),
    (["nox.py"], "nox.py defines f but no x; define x, the point to differentiate at"),
    (["boom.py"], "running boom.py failed: RuntimeError: boom (at boom.py:3)"),
    (["xint.py"], "x has dtype int64; pass floats, e.g. np.asarray(x, dtype=float)"),
    (["none.py"], "f(x) returned None; return the value"),
    (["bad.py"], "bad.py is not valid Python"),
    (["raises.py"], "calling raises.py at x failed: NameError: name 'undefined'"),
    (["missing.py"], "no such file 'missing.py'"),
    (["nosuchmodule_xyz:f", "--x-shape", "3"],
     "cannot import module 'nosuchmodule_xyz' (No module named 'nosuchmodule_xyz'): run from "
     "the directory that holds nosuchmodule_xyz.py"),
    (["userbroken:f", "--x-shape", "3"],
     "importing 'userbroken' failed: ModuleNotFoundError: No module named 'nosuchdependency'"),
    (["userbad:nope", "--x-shape", "3"],
     "module 'userbad' has no attribute 'nope'; it defines: NOT_A_FUNCTION, g, np"),
    (["userbad:NOT_A_FUNCTION", "--x-shape", "3"], "userbad:NOT_A_FUNCTION is an int, not a function"),
    (["userbad:g"], "userbad:g needs a point: give x's shape with --x-shape"),
    (["userbad:g", "--x-fill", "1"], "--x-fill needs --x-shape"),
    (["userbad:g", "--x-shape", "3", "--n", "3"], "--n sets a built-in problem's size"),
    (["nof.py", "--x-shape", "3"], "nof.py defines no f"),
    (["nox.py", "--x-shape", "3", "--modes", "hvp"], "unknown mode(s) hvp"),
    (["xint.py", "--x-shape", "3"], "xint.py defines x and --x-shape gives another"),
    (["rosenbrock", "--x-shape", "3"], "the built-in problem 'rosenbrock' takes --n and --m"),
    (["myfunc"], "unknown problem 'myfunc'; choose one of: rosenbrock"),
])
def test_every_way_the_user_target_can_fail_is_one_line(args, message, tmp_path, capsys,
                                                         monkeypatch):
    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("userbad", "userbroken"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    status, _, err = main(capsys, *args, "--repeat", "1", "--quiet")
    assert status in (1, 2)
    assert message in err
    assert "Traceback" not in err


def test_unknown_problem_says_how_to_measure_your_own(capsys):
    status, _, err = main(capsys, "myfunc.txt")
    assert status == 1
    assert "no such file" in err or "module:function --x-shape" in err
    status, _, err = main(capsys, "nosuch")
    assert "python -m dualad costs module:function --x-shape 1000" in err
    assert "myfunc.py (a file that defines f and x)" in err


def test_plot_without_matplotlib_is_refused_before_loading_the_file(tmp_path, capsys,
                                                                    monkeypatch):
    (tmp_path / "slow.py").write_text("raise SystemExit('the file ran')\n")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    status, _, err = main(capsys, str(tmp_path / "slow.py"), "--plot", str(tmp_path / "p.png"))
    assert status == 1 and "pip install 'dualad[plot]'" in err


# ---- pytrees -----------------------------------------------------------------------------
def test_compare_measures_a_pytree_through_the_flat_vector():
    seen = []

    def loss(p):
        seen.append(type(p))
        return np.sum(np.tanh(p["w"] @ np.ones(3) + p["b"][0]) ** 2) + np.sum(p["b"][1] ** 2)

    params = {"w": np.full((2, 3), 0.1), "b": (np.zeros(2), np.ones(4))}
    r = costs.compare(loss, params, repeat=1, modes=["hvp:fwd-over-rev", "hessian"])
    assert r.n == 12 and r.scalar
    assert set(seen) == {dict}  # f always received the pytree
    assert r.point.startswith("x: a pytree of 3 arrays")
    assert r.checks["Hessian @ v vs hvp"] < 1e-12
    assert "(x: a pytree of 3 arrays" in r.to_text().splitlines()[0]
    # the gradient measured is the gradient of the pytree function, flattened
    flat, unravel = ad.pytree.ravel_pytree(params)
    g = ad.grad(lambda z: loss(unravel(z)))(flat)
    tree_grad = ad.grad(loss)(params)
    np.testing.assert_allclose(g, ad.pytree.ravel_pytree(tree_grad)[0], rtol=1e-12)


def test_tuple_and_list_points_and_a_flat_v():
    r = costs.compare(lambda t: np.sum(t[0] * t[1]), (np.ones(2), np.arange(2.0)), repeat=1,
                      modes=["hvp:fwd-over-rev"], v=np.ones(4))
    assert r.n == 4
    r = costs.compare(lambda t: t[0] * t[1] ** 2, [0.5, 2.0], repeat=1, modes=())
    assert r.n == 2


@pytest.mark.parametrize("x, message", [
    ({"w": np.ones(2), "k": np.arange(3)},
     "x['k'] has dtype int64; pass floats, e.g. np.asarray(x['k'], dtype=float)"),
    ((np.ones(2), "abc"), "x[1] is str 'abc', not a number"),
    ({"a": [np.ones(1), True]}, "x['a'][1] is a bool"),
    ({"z": np.ones(2) + 1j}, "x['z'] has dtype complex128"),
    (np.array([np.ones(2), np.ones(3)], dtype=object),
     "a dict, tuple or list of float arrays is measured as a pytree"),
    ({}, "x is an empty pytree"),
])
def test_non_float_leaves_are_named(x, message):
    with pytest.raises((TypeError, ValueError)) as info:
        costs.compare(lambda p: 0.0, x, repeat=1)
    assert message in str(info.value)
    assert "x.astype(float)" not in str(info.value)


@pytest.mark.parametrize("output, message", [
    (None, "f(x) returned None"), ((1.0, 2.0), "f(x) returned a tuple"),
    ("loss", "f(x) returned str 'loss', not a number")])
def test_outputs_costs_cannot_measure(output, message):
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        costs.compare(lambda x: output, np.ones(3), repeat=1)


# ---- the recommendation starts from what f is ------------------------------------------------
def test_a_scalar_loss_gets_grad_and_an_hvp_nesting_not_a_jacobian():
    r = costs.compare(lambda x: np.sum(np.sin(x) ** 2), np.linspace(0, 1, 40), repeat=1,
                      modes=["hvp:fwd-over-rev", "hvp:rev-over-fwd", "jacfwd", "jacrev"])
    rec = r.recommendation
    assert rec["gradient"] == "grad" and rec["hvp"] in ("fwd-over-rev", "rev-over-fwd")
    assert "jacobian" not in rec and "chunk_size" not in rec
    text = r.to_text()
    assert "Gradient of a scalar loss (n = 40): dualad.grad(f)" in text
    assert "value_and_grad" in text
    assert "the same gradient by jacrev" in text  # the dense rows, put in their place
    assert "gradient by jacfwd (" in text and "Jacobian (1 x" not in text


def test_a_vector_function_gets_jacfwd_or_jacrev_by_shape():
    A = np.random.default_rng(0).standard_normal((60, 3))
    r = costs.compare(lambda x: np.tanh(A @ x), np.ones(3), repeat=1, modes=["jacfwd", "jacrev"])
    assert r.recommendation["jacobian"] == "jacfwd" and "gradient" not in r.recommendation
    assert "Jacobian (60 x 3; 3 inputs < 60 outputs): jacfwd" in r.to_text()


def timing(median, low=None):
    return Timing(median, median if low is None else low, median, 3, 1)


def test_a_chunk_size_is_recommended_only_when_measured_faster_than_the_default():
    faster = {"jacfwd": ModeResult("jacfwd", "", timing(1.0))}
    rec = _recommend_chunk(faster, 100, {"chunk": 25, "default": timing(2.0, 1.5)})
    assert rec["chunk_size"] == 25
    assert "jacfwd(f, chunk_size=25)" in rec["chunk_size_reason"]
    slower = {"jacfwd": ModeResult("jacfwd", "", timing(3.0))}
    rec = _recommend_chunk(slower, 100, {"chunk": 25, "default": timing(2.0, 1.5)})
    assert rec["chunk_size"] is None and "keep jacfwd's default" in rec["chunk_size_reason"]
    # within the default's spread is not measurably faster
    close = {"jacfwd": ModeResult("jacfwd", "", timing(1.8))}
    assert _recommend_chunk(close, 100, {"chunk": 25, "default": timing(2.0, 1.5)})[
        "chunk_size"] is None
    # a default that does not fit: the chunk, saying why
    rec = _recommend_chunk(faster, 100, {"chunk": 25, "default": None,
                                         "default_skipped": "predicted 3 GB > memory_limit"})
    assert rec["chunk_size"] == 25 and "memory_limit" in rec["chunk_size_reason"]


def test_compare_measures_the_default_chunk_beside_its_own():
    A = np.random.default_rng(0).standard_normal((5, 64))
    r = costs.compare(lambda x: np.tanh(A @ x), np.ones(64), repeat=1, chunk_size=16,
                      modes=["jacfwd"])
    assert "default chunk (64, one pass)" in r["jacfwd"].note
    rec = r.recommendation
    assert rec["chunk_size"] in (None, 16)
    assert ("-- measurably faster" in rec["chunk_size_reason"]) == (rec["chunk_size"] == 16)


# ---- plausibility and BLAS threads --------------------------------------------------------
def test_derivatives_faster_than_f_are_flagged_with_advice():
    rows = {"f": ModeResult("f", "f", timing(1.0), ratio=1.0),
            "hvp:fwd-over-rev": ModeResult("hvp:fwd-over-rev", "HVP fwd-over-rev", timing(0.49),
                                           ratio=0.49),
            "jacrev": ModeResult("jacrev", "jacrev", timing(0.04), ratio=0.04),
            "vjp": ModeResult("vjp", "gradient", timing(3.0), ratio=3.0),
            # not flagged: a product of a recorded operator, and a replayed program, may
            # skip work of f
            "hvp:operator": ModeResult("hvp:operator", "", timing(0.5), ratio=0.5),
            "replayed:vjp": ModeResult("replayed:vjp", "", timing(0.8), ratio=0.8)}
    rec = plausibility(rows, "not pinned by dualad")
    assert rec["implausible"] == ["hvp:fwd-over-rev", "jacrev"]
    reason = rec["plausibility_reason"]
    assert "HVP fwd-over-rev 0.49x f, jacrev 0.04x f" in reason
    for advice in ("quiet machine", "OMP_NUM_THREADS=1", "threadpoolctl", "--repeat"):
        assert advice in reason
    assert "implausible" in rows["jacrev"].note and rows["vjp"].note is None
    pinned = plausibility(dict(rows), "pinned to 1 thread (threadpoolctl) while measuring")
    assert "OMP_NUM_THREADS" not in pinned["plausibility_reason"]


def test_an_f_slower_than_its_derivatives_is_reported_as_noise():
    def sleepy(x):  # slow only on plain arrays: f's own timing, never a traced call
        if type(x) is np.ndarray:
            time.sleep(0.02)
        return np.sum(x ** 2)

    r = costs.compare(sleepy, np.ones(3), repeat=1, modes=[])
    assert r.recommendation["implausible"] == ["jvp", "vjp"]
    assert "Implausible timings, treat as noise" in r.to_text()


def test_blas_threads_pinned_with_threadpoolctl_when_installed(monkeypatch):
    state = {"limit": None, "calls_inside": 0, "calls_outside": 0}

    @contextlib.contextmanager
    def threadpool_limits(limits=None, user_api=None):
        state["limit"] = limits
        try:
            yield
        finally:
            state["limit"] = None

    monkeypatch.setitem(sys.modules, "threadpoolctl",
                        types.SimpleNamespace(threadpool_limits=threadpool_limits))

    def f(x):
        state["calls_inside" if state["limit"] == 1 else "calls_outside"] += 1
        return np.sum(x ** 2)

    r = costs.compare(f, np.ones(3), repeat=1, modes=["jvp"])
    assert state["calls_inside"] > 0 and state["calls_outside"] == 0
    assert r.machine["blas_threads"].startswith("pinned to 1 thread")
    assert "BLAS threads: pinned to 1 thread" in r.to_text()


def test_without_threadpoolctl_the_report_says_blas_was_not_pinned(monkeypatch):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    r = costs.compare(lambda x: np.sum(x ** 2), np.ones(3), repeat=1, modes=[])
    assert r.machine["blas_threads"].startswith("not pinned")
    assert "BLAS threads: not pinned by dualad: threadpoolctl is not installed" in r.to_text()
    assert '"blas_threads"' in r.to_json()


# ---- plots ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def loss_sweep():
    def make(k):  # the sizes are k; n is k * k
        def loss(x):
            return np.sum(np.tanh(x) ** 2) + np.sum(x[1:] * x[:-1])
        return loss, np.linspace(-1.0, 1.0, k * k)

    return costs.sweep(make, [2, 4, 8], repeat=1, max_seconds=0.5,
                       modes=["jvp", "hvp:fwd-over-rev", "hvp:rev-over-fwd", "hvp:rev-over-rev",
                              "hvp:fwd-over-fwd", "jacfwd", "jacrev", "replayed:vjp"])


@pytest.fixture(scope="module")
def jacobian_sweep():
    return costs.sweep("tanh", [4, 400], m=10, repeat=1, modes=["jacfwd", "jacrev"])


def legend_outside(fig, ax) -> bool:
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    return legend.x0 >= ax.get_window_extent().x1


def test_sweep_plot_of_a_users_function(loss_sweep):
    fig = plots.figure_sweep(loss_sweep)
    (ax,) = fig.axes
    assert ax.get_title() == "loss: cost of each mode against n (m = 1)"  # not "make"
    assert loss_sweep.xs == [4, 16, 64]  # n, not the sizes given to make
    assert ax.get_xlabel().startswith("n, the size of x")
    assert "multiple of f" in ax.get_ylabel()  # as in the tables, not seconds
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    # the three nestings within noise of each other are one line with a band
    assert "HVP, fastest of 3 nestings (band: their spread)" in labels
    assert not any(lab.startswith(("HVP rev-over-fwd", "HVP rev-over-rev")) for lab in labels)
    assert labels == ["JVP (forward)", "gradient (reverse)",
                      "HVP, fastest of 3 nestings (band: their spread)", "HVP fwd-over-fwd",
                      "gradient by jacfwd", "gradient by jacrev", "gradient (replayed)",
                      "f itself (= 1)"]
    curves = [line for line in ax.get_lines() if line.get_label() in labels[:-1]]
    assert len(curves) == 7
    np.testing.assert_array_equal(curves[0].get_xdata(), [4, 16, 64])
    # same family, same colour; told apart by line style and marker
    by_label = {line.get_label(): line for line in curves}
    hvp = [by_label[k] for k in labels[2:4]]
    dense = [by_label[k] for k in labels[4:6]]
    for family in (hvp, dense):
        assert len({line.get_color() for line in family}) == 1
        assert len({(str(line.get_linestyle()), line.get_marker()) for line in family}) == 2
    assert len({line.get_color() for line in curves}) == 5  # five families here
    assert legend_outside(fig, ax)
    assert not ax.texts  # nothing written over the curves
    # a loss has no jacfwd/jacrev crossover to mark: its gradient is grad's
    assert not any("jacfwd = jacrev" in lab for lab in labels)


def test_jacobian_crossover_is_in_the_legend_not_on_a_curve(jacobian_sweep):
    fig = plots.figure_sweep(jacobian_sweep)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert jacobian_sweep.crossover()["measured"] is not None
    assert any(lab.startswith("jacfwd = jacrev at n ≈ ") for lab in labels)
    assert not ax.texts and legend_outside(fig, ax)
    assert ax.get_title() == "tanh: cost of each mode against n (m = 10)"


def test_bar_chart_legend_outside_and_title_from_the_function(tmp_path):
    def residual(x):
        return np.sin(x[1:]) * x[:-1]

    r = costs.compare(residual, np.ones((3, 4)), repeat=1, modes=["jacfwd", "jacrev"], name="res")
    fig = plots.figure_report(r)
    (ax,) = fig.axes
    assert ax.get_title() == "res: n = 12 (x of shape (3, 4)), m = 8"
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == [row.label for k, row in r.results.items() if k != "f"]
    assert legend_outside(fig, ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:3] == ["f itself (= 1)", "wall time ÷ f's (measured)",
                          "work ÷ f's (counted; * predicted, not run)"]
    assert labels[3:] == ["forward modes", "reverse modes", "dense modes"]  # the families drawn
    assert "multiple of f" in ax.get_xlabel()
    path = tmp_path / "res-costs.png"
    assert r.plot(path) == str(path) and path.read_bytes()[:4] == b"\x89PNG"


def test_sweep_on_module_function(tmp_path, capsys, monkeypatch):
    (tmp_path / "userloss.py").write_text(
        "import numpy as np\ndef loss(x):\n    return np.sum(np.tanh(x) ** 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    status = cli.main(["sweep", "userloss:loss", "--sizes", "10,40", "--repeat", "1",
                       "--modes", "vjp,jvp", "--quiet", "--max-seconds", "1"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "userloss:loss: cost against n" in out
    rows = [line.split()[0] for line in out.splitlines() if line[:2] in ("10", "40")]
    assert rows == ["10", "40"]
    # the sizes set x's length: a built-in problem's options are refused
    status = cli.main(["sweep", "userloss:loss", "--sizes", "10", "--m", "3", "--quiet"])
    assert status == 1 and "leave out --vary, --m and --n" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["sweep", "nosuchproblem", "--sizes", "10"])
    assert "sweep your own function: python -m dualad sweep module:function" in \
        capsys.readouterr().err
