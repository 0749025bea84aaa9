"""dualad.costs and dualad.problems: figures consistent, counts deterministic and
per thread (through the observer hook, patching nothing),
recommendations from work counts, plots with and without matplotlib.

No test asserts a wall-clock time: timings on a shared machine are noise;
the work counts are not.
"""

import builtins
import doctest
import gc
import importlib
import json
import pathlib
import re
import sys
import threading

import numpy as np
import pytest
import scipy.optimize

import dualad as ad
from dualad import costs, problems
from dualad.costs import comparison
from dualad.forward import ForwardTrace
from dualad.reverse import Tape

ROOT = pathlib.Path(__file__).resolve().parents[1]
REVERSE = ("vjp", "hvp:fwd-over-rev", "hvp:rev-over-fwd", "hvp:rev-over-rev",
           "operator-build", "jacrev", "hessian")


def alive_primitives() -> list:
    """Every Primitive alive (the rule table's and any a test declared)."""
    return [o for o in gc.get_objects() if type(o) is ad.Primitive]


@pytest.fixture(scope="module")
def rosen_report():
    inst = problems.make("rosenbrock", n=30)
    return costs.compare(inst.f, inst.x, repeat=2, name="rosenbrock")


# ---- the report ------------------------------------------------------------------------
def test_every_mode_measured_on_a_small_scalar_function(rosen_report):
    assert list(rosen_report.results) == list(costs.MODES)
    for key, r in rosen_report.results.items():
        assert r.timing is not None and r.skipped is None, key
        assert r.timing.min <= r.timing.median <= r.timing.max
        assert r.work is not None and not r.predicted


def test_ratios_are_times_divided_by_f_time(rosen_report):
    t_f = rosen_report["f"].timing.median
    assert rosen_report["f"].ratio == 1.0
    for key, r in rosen_report.results.items():
        assert r.ratio == pytest.approx(r.timing.median / t_f, rel=1e-12), key
        assert r.work_ratio == pytest.approx(r.work.units / rosen_report["f"].work.units)


def test_reverse_modes_do_at_least_the_work_of_f(rosen_report):
    f_work = rosen_report["f"].work
    assert f_work.ops > 0 and f_work.tape_entries == 0
    for key in REVERSE:
        w = rosen_report[key].work
        assert w.ops >= f_work.ops, key
        assert w.evals >= f_work.evals, key
        assert w.tape_entries > 0 and w.tape_bytes > 0, key
    # a gradient is one evaluation and one rule application per operation of f
    assert rosen_report["vjp"].work.rule_apps == f_work.evals
    # forward mode records nothing
    assert rosen_report["jvp"].work.tape_entries == 0
    assert rosen_report["jvp"].work.tape_bytes == 0


def test_modes_that_compute_the_same_thing_agree(rosen_report):
    assert set(rosen_report.checks) == {"hvp modes", "jacfwd vs jacrev", "jacrev vs gradient",
                                        "Hessian @ v vs hvp", "replayed vs eager"}
    assert max(rosen_report.checks.values()) < 1e-10


def test_json_round_trip(rosen_report, tmp_path):
    path = tmp_path / "report.json"
    text = rosen_report.to_json(path)
    data = json.loads(path.read_text())
    assert data == json.loads(text)
    assert data["n"] == 30 and data["m"] == 1
    assert set(data["modes"]) == set(costs.MODES)
    vjp = data["modes"]["vjp"]
    assert vjp["seconds"]["median"] == rosen_report["vjp"].timing.median
    assert vjp["work"]["ops"] == rosen_report["vjp"].work.ops
    assert data["recommendation"]["gradient"] == "grad" and "jacobian" not in data["recommendation"]


def test_text_and_markdown_tables(rosen_report):
    md = rosen_report.to_markdown()
    text = str(rosen_report)
    for r in rosen_report.results.values():
        assert r.label in md and r.label in text
    table = [l for l in md.splitlines() if l.startswith("|")]
    assert len(table) == 2 + len(costs.MODES)
    assert len({l.count("|") for l in table}) == 1
    assert "Recommendation" in text and "HVP nesting" in text
    assert rosen_report.recommendation["hvp"] in ad.HVP_MODES


# ---- replayed rows ----------------------------------------------------------------------
REPLAYED_ROWS = {"replayed:jvp": "JVP (replayed)", "replayed:vjp": "gradient (replayed)",
                 "replayed:hvp": "HVP fwd-over-rev (replayed)",
                 "replayed:sparse": "sparse Hessian (replayed), per x"}


def test_replayed_rows_beside_the_eager_ones(rosen_report):
    keys = list(rosen_report.results)
    for key, label in REPLAYED_ROWS.items():
        r = rosen_report[key]
        eager = rosen_report[costs.REPLAYED[key]]
        assert keys.index(key) == keys.index(eager.key) + 1, key  # the row below its twin
        assert r.label == label
        assert r.timing.median > 0 and r.ratio > 0 and r.work_ratio > 0, key
        # recorded once, before the timing; every timed call a replay
        assert r.replay["recordings"] == 1 and r.replay["mismatches"] == 0, key
        assert r.replay["replays"] >= r.timing.samples * r.timing.loops, key
        assert r.replay["record_seconds"] > 0
        # no dispatch and no tape: the program's NumPy calls, at NumPy's overhead
        assert r.work.ops == r.replay["ops"] > 0, key
        assert r.work.tape_entries == 0 and r.work.passes == 0, key
        assert r.work.overhead == costs.NUMPY_OVERHEAD
        assert r.work.work == eager.work.work, key
        assert "recorded once" in r.note
    assert rosen_report.checks["replayed vs eager"] < 1e-12


def test_replay_recommendation(rosen_report):
    rec = rosen_report.recommendation
    assert rec["replay"] in (True, False)
    reason = rec["replay_reason"]
    assert "dualad.replay" in reason and reason in rosen_report.to_text()
    if rec["replay"]:
        assert re.search(r"gradient [\d.]+x f instead of [\d.]+x f", reason) or \
            re.search(r"(JVP|HVP|sparse evaluation) [\d.]+x f instead of", reason)
        assert "paid back after" in reason


def test_replay_recommendation_names_only_measurably_cheaper_modes():
    from dualad.costs.recommend import recommend_replay
    from dualad.costs.report import ModeResult
    t = lambda med, lo: costs.Timing(med, lo, med * 1.1, 3, 1)

    def rows(replayed_median):
        eager = ModeResult("vjp", "", t(6.0, 5.5), ratio=6.0)
        again = ModeResult("replayed:vjp", "", t(replayed_median, replayed_median), ratio=replayed_median,
                           replay={"record_seconds": 20.0, "recordings": 1})
        return {"vjp": eager, "replayed:vjp": again}

    rec = recommend_replay(rows(2.0))
    assert rec["replay"] is True
    assert "gradient 2.00x f instead of 6.00x f" in rec["replay_reason"]
    assert "paid back after 5 calls" in rec["replay_reason"]  # 20 s / (6 - 2) s per call
    rec = recommend_replay(rows(5.8))  # below the median, not below eager's fastest sample
    assert rec["replay"] is False and "not measurably cheaper" in rec["replay_reason"]
    assert recommend_replay({"vjp": rows(2.0)["vjp"]}) == {}


def test_replayed_rows_only_when_wanted_and_a_failed_replay_is_a_row(monkeypatch):
    f = lambda x: np.sum(np.sin(x) ** 2)
    r = costs.compare(f, np.ones(5), repeat=1, modes=["jvp"])
    assert not any(k.startswith("replayed:") for k in r.results)
    assert "replay" not in r.recommendation

    def refusing(fn, *args, **kwargs):
        raise ad.staging.StagingError("cannot record this")

    monkeypatch.setattr(comparison, "replay", refusing)
    r = costs.compare(f, np.ones(5), repeat=1, modes=["replayed:vjp", "replayed:jvp"])
    for key in ("replayed:vjp", "replayed:jvp"):
        assert r[key].timing is None and "replay failed: StagingError" in r[key].skipped
    assert r["vjp"].timing is not None and "not run (replay failed" in r.to_text()
    assert "replay" not in r.recommendation


# ---- work counts ------------------------------------------------------------------------
def test_count_is_exact_on_a_tiny_function():
    _, w = costs.count(ad.grad(lambda x: np.sum(x * x)), np.ones(3))
    assert (w.evals, w.rule_apps, w.tape_entries) == (2, 2, 3)
    _, w = costs.count(lambda: ad.jvp(lambda x: np.sum(x * x), (np.ones(3),), (np.ones(3),)))
    # (a rule may itself call primitives, which count as evaluations)
    assert w.evals >= 2 and (w.rule_apps, w.tape_entries, w.tape_bytes) == (2, 0, 0)


def test_counting_restores_the_dispatch():
    impls = {id(p): p.impl for p in alive_primitives()}
    originals = (ForwardTrace.process, Tape.backward, Tape.forward_sweep, Tape.__init__)
    def boom(x):
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        costs.count(ad.grad(boom), np.ones(2))
    assert (ForwardTrace.process, Tape.backward, Tape.forward_sweep, Tape.__init__) == originals
    assert all(p.impl is impls[id(p)] for p in alive_primitives() if id(p) in impls)
    assert type(Tape().entries) is list


def test_counting_and_comparing_patch_nothing():
    def dispatch():
        return (ForwardTrace.process, ForwardTrace.binary, Tape.backward, Tape.forward_sweep,
                Tape.process, Tape.binary, ad.Primitive.__call__)

    before = dispatch()
    impls = [(p, p.impl) for p in alive_primitives()]
    inst = problems.make("rosenbrock", n=6)
    costs.count(ad.grad(inst.f), inst.x)
    costs.compare(inst.f, inst.x, repeat=1)
    assert dispatch() == before
    assert all(p.impl is impl for p, impl in impls)
    assert type(Tape().entries) is list and Tape().observer is None


def _figures(work) -> dict:
    figures = work.to_dict()
    del figures["peak_memory"]  # tracemalloc's, process-wide
    return figures


def test_counts_in_two_threads_at_once_are_each_their_own():
    chain, rosen = problems.make("chain", n=40, m=25), problems.make("rosenbrock", n=30)

    def job(inst, meet):
        def run():  # forward, reverse and nested work, with a meeting half-way
            ad.jvp(inst.f, (inst.x,), (inst.x,))
            g = ad.grad(inst.f)(inst.x)
            meet()
            return ad.hvp(inst.f, inst.x, g, "rev-over-rev"), ad.hvp(inst.f, inst.x, g)
        return run

    serial = [_figures(costs.count(job(inst, lambda: None))[1]) for inst in (chain, rosen)]
    assert serial[0] != serial[1]
    meeting = threading.Barrier(2, timeout=30)
    results, errors = [[], []], []

    def worker(i, inst):
        try:
            for _ in range(3):
                results[i].append(_figures(costs.count(job(inst, meeting.wait))[1]))
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
            meeting.abort()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, inside the counts
    try:
        threads = [threading.Thread(target=worker, args=(i, inst))
                   for i, inst in enumerate((chain, rosen))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors
    assert results == [[serial[0]] * 3, [serial[1]] * 3]


def test_tape_grows_with_the_chain_and_forward_mode_memory_does_not():
    short, long = problems.make("chain", n=100, m=20), problems.make("chain", n=100, m=200)
    tapes, jvp_peaks = [], []
    for inst in (short, long):
        _, w = costs.count(ad.grad(inst.f), inst.x)
        tapes.append(w)
        _, w = costs.count(lambda: ad.jvp(inst.f, (inst.x,), (inst.x,)))
        assert w.tape_entries == 0
        jvp_peaks.append(w.peak_memory)
    assert tapes[1].tape_entries > 9 * tapes[0].tape_entries
    assert tapes[1].tape_bytes > 9 * tapes[0].tape_bytes
    assert jvp_peaks[1] < 2 * jvp_peaks[0]


def test_dead_tapes_are_released_from_the_byte_count():
    f = lambda x: np.sum(np.sin(x) ** 2)  # noqa: E731
    x = np.ones(1000)

    def three_gradients():
        for _ in range(3):
            ad.grad(f)(x)

    _, one = costs.count(ad.grad(f), x)
    _, three = costs.count(three_gradients)
    assert three.tape_entries == 3 * one.tape_entries
    assert three.tape_bytes == one.tape_bytes


@pytest.mark.parametrize("n, m, winner", [(10, 1000, "jacfwd"), (1000, 10, "jacrev")])
def test_jacobian_recommendation_follows_the_work_counts(n, m, winner):
    inst = problems.make("tanh", n=n, m=m)
    reports = [costs.compare(inst.f, inst.x, repeat=1, modes=()) for _ in range(2)]
    recs = [r.recommendation for r in reports]
    assert recs[0]["jacobian"] == recs[1]["jacobian"] == winner
    # deterministic: the same counts on every run
    assert recs[0]["jacfwd_units"] == recs[1]["jacfwd_units"]
    assert recs[0]["jacrev_units"] == recs[1]["jacrev_units"]
    loser = "jacrev" if winner == "jacfwd" else "jacfwd"
    assert recs[0][f"{winner}_units"] * 3 < recs[0][f"{loser}_units"]


def test_jacobian_predictions_match_the_counted_runs():
    inst = problems.make("tanh", n=40, m=30)
    r = costs.compare(inst.f, inst.x, repeat=1, chunk_size=16, modes=("jacfwd", "jacrev"))
    rec = r.recommendation
    assert r["jacrev"].work.units == pytest.approx(rec["jacrev_units"])
    # one backward pass whatever m: its rules run once, on 30 rows at a time
    assert r["jacrev"].work.rule_apps == r["vjp"].work.rule_apps
    assert r["jacrev"].work.rule_work >= 30 * (r["vjp"].work.rule_work - r["f"].work.rule_work)
    fwd = r["jacfwd"].work
    jvp = r["jvp"].work
    predicted_work = rec["jacfwd_units"] - costs.OVERHEAD * 3 * (
        jvp.ops + costs.PASS_OPS * jvp.passes)
    assert fwd.work == pytest.approx(predicted_work)
    assert "3 passes of 16" in r["jacfwd"].label


def test_modes_too_big_are_skipped_with_predicted_work():
    inst = problems.make("rosenbrock", n=400)
    r = costs.compare(inst.f, inst.x, repeat=1, max_seconds=1e-4,
                      modes=("hvp:fwd-over-rev", "hvp:fwd-over-fwd", "jacfwd", "hessian"))
    for key in ("hvp:fwd-over-fwd", "jacfwd", "hessian"):
        res = r[key]
        assert res.timing is None and res.ratio is None
        assert res.predicted and "max_seconds" in res.skipped
        assert res.work.work > r["jvp"].work.work
    # fwd-over-fwd pushes n directions: its work grows with n, the others' do not
    assert r["hvp:fwd-over-fwd"].work.work > 50 * r["hvp:fwd-over-rev"].work.work
    assert "not run" in r.to_markdown()
    json.loads(r.to_json())


def test_memory_limit_skips_the_dense_hessian():
    inst = problems.make("rosenbrock", n=300)
    r = costs.compare(inst.f, inst.x, repeat=1, memory_limit=1e5, modes=("hessian",))
    assert r["hessian"].skipped and "memory_limit" in r["hessian"].skipped


def test_vector_function_has_no_hvp_rows():
    inst = problems.make("tanh-tall", n=8)
    r = costs.compare(inst.f, inst.x, repeat=1)
    assert list(r.results) == ["f", "jvp", "replayed:jvp", "vjp", "replayed:vjp", "jacfwd",
                               "jacrev"]
    assert r["replayed:vjp"].label == "VJP (replayed)"
    assert r.m == 80 and r.n == 8 and not r.scalar
    assert r.checks["jacfwd vs jacrev"] < 1e-12


def test_user_function_of_a_matrix_argument():
    f = lambda w: np.sum(np.tanh(w @ np.ones(3)) ** 2)  # noqa: E731
    r = costs.compare(f, np.full((2, 3), 0.1), repeat=1, modes=("hvp:fwd-over-rev", "hessian"))
    assert r.n == 6 and r.checks["Hessian @ v vs hvp"] < 1e-12


def test_operator_falls_back_to_linearize_without_dualad_optimize(monkeypatch):
    real_import = builtins.__import__

    def no_optimize(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "optimize" and level == 1 or name == "dualad.optimize":
            raise ImportError("no dualad.optimize")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_optimize)
    f, x, v = problems.rosenbrock, np.linspace(-1, 1, 7), np.arange(7.0)
    product = comparison._hessian_operator(f, x)
    np.testing.assert_allclose(product(v), scipy.optimize.rosen_hess_prod(x, v), rtol=1e-12)


def test_bad_arguments():
    with pytest.raises(TypeError, match="float"):
        costs.compare(lambda x: np.sum(x), np.arange(3))
    with pytest.raises(ValueError, match="unknown mode"):
        costs.compare(lambda x: np.sum(x), np.ones(3), modes=["hvp"])
    with pytest.raises(ValueError, match="repeat"):
        costs.compare(lambda x: np.sum(x), np.ones(3), repeat=0)
    with pytest.raises(ValueError, match="vary"):
        costs.sweep("tanh", [3], vary="k")
    with pytest.raises(ValueError, match="unknown problem 'nope'; choose one of: rosenbrock"):
        costs.sweep("nope", [3])


# ---- sweep ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tanh_sweep():
    return costs.sweep("tanh", [4, 40, 1000], m=10, repeat=1, modes=("jacfwd", "jacrev"))


def test_sweep_finds_the_jacobian_crossover(tanh_sweep):
    assert [r.n for r in tanh_sweep.reports] == [4, 40, 1000]
    assert all(r.m == 10 for r in tanh_sweep.reports)
    winners = [r.recommendation["jacobian"] for r in tanh_sweep.reports]
    assert winners[0] == "jacfwd" and winners[-1] == "jacrev"
    lo, hi, estimate = tanh_sweep.crossover()["work"]
    assert 4 <= lo < hi <= 1000 and lo <= estimate <= hi
    text = tanh_sweep.to_markdown()
    assert "crossover (work): between n" in text
    assert len(tanh_sweep.series("jacrev")) == 3
    data = json.loads(tanh_sweep.to_json())
    assert data["sizes"] == [4, 40, 1000] and len(data["reports"]) == 3


def test_sweep_over_the_second_size_and_of_a_callable():
    s = costs.sweep("chain", [5, 50], n=3, vary="m", repeat=1, modes=())
    assert [r.n for r in s.reports] == [3, 3]
    tapes = s.series("vjp", "ops")
    assert tapes[1] > 5 * tapes[0]
    s = costs.sweep(lambda k: (lambda x: np.sum(x ** 3), np.ones(k)), [2, 3], repeat=1,
                    modes=())
    assert [r.n for r in s.reports] == [2, 3]


# ---- plots ------------------------------------------------------------------------------------
def test_plots_write_png(rosen_report, tanh_sweep, tmp_path):
    import matplotlib  # noqa: F401  (the test extra installs it: a missing one fails, never skips)
    for obj, name in ((rosen_report, "report.png"), (tanh_sweep, "sweep.png")):
        path = tmp_path / name
        assert obj.plot(path) == str(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install_it(rosen_report, tanh_sweep, tmp_path,
                                                        monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.split(".")[0] == "matplotlib":
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    for obj in (rosen_report, tanh_sweep):
        with pytest.raises(ImportError, match=r"pip install 'dualad\[plot\]'"):
            obj.plot(tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


# ---- problems ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", problems.names())
def test_problems_build_and_differentiate(name):
    prob = problems.get(name)
    inst = prob.make(n=25)
    y = inst.f(inst.x)
    assert inst.x.dtype == np.float64 and inst.x.size == inst.n
    if prob.scalar:
        assert np.ndim(y) == 0 and inst.m == 1
        g = ad.grad(inst.f)(inst.x)
        assert np.all(np.isfinite(g))
    else:
        assert np.shape(y) == (inst.m,)
    again = prob.make(n=25)
    np.testing.assert_array_equal(again.x, inst.x)
    assert np.array_equal(again.f(again.x), y)


def test_problem_sizes_and_references():
    inst = problems.make("rosenbrock", n=12)
    assert inst.f(inst.x) == pytest.approx(scipy.optimize.rosen(inst.x))
    np.testing.assert_allclose(ad.grad(inst.f)(inst.x), scipy.optimize.rosen_der(inst.x))
    assert problems.make("tanh-wide", n=100).m == 10
    assert problems.make("tanh-square", n=30).m == 30
    assert problems.make("tanh", n=30, m=7).m == 7
    assert problems.make("mlp", n=1000).n <= 1000
    assert problems.make("chain", n=4, m=3).label == "chain (n=4, m=1)"  # m: output size
    with pytest.raises(ValueError, match="positive integer"):
        problems.make("rosenbrock", n=0)
    with pytest.raises(ValueError, match="unknown problem"):
        problems.get("rosen")


# ---- docs -------------------------------------------------------------------------------------
def test_how_it_works_snippets_run():
    page = ROOT / "docs" / "how-it-works.md"
    assert page.exists(), "docs/how-it-works.md is missing"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(), re.S)
    assert len(blocks) >= 5
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(page), "exec"), namespace)


@pytest.mark.parametrize("module", ["dualad.costs", "dualad.costs.counting",
                                    "dualad.costs.comparison", "dualad.costs.problems",
                                    "dualad.problems"])
def test_docstring_examples(module):
    failures, tried = doctest.testmod(importlib.import_module(module))
    assert failures == 0 and tried > 0
