"""dualad.observe: an installed observer hears of every kind of work done in
its thread while its block runs, and of nothing else."""

import doctest
import threading

import numpy as np

import dualad as ad
import dualad.observe
from dualad.observe import Observer, current, layers, observing
from dualad.optimize import HessianOperator

CALLBACKS = [name for name in vars(Observer) if not name.startswith("_")]


class Recorder(Observer):
    """Records the name of every callback called."""

    def __init__(self):
        self.calls = []


def _recording(name):
    def callback(self, *args):
        self.calls.append(name)
    return callback


for _name in CALLBACKS:
    setattr(Recorder, _name, _recording(_name))

softplus = ad.elementwise("softplus_observed", lambda x: np.logaddexp(0, x),
                          lambda out, x: 1 / (1 + np.exp(-x)))


def f(x):
    return np.sum(np.tanh(x) ** 2) + x[0] * np.log1p(x[1] ** 2)


def workload(x, v):
    """Every kind of work: forward (one and many directions), reverse, the
    nestings, a linearize sweep, a primitive on raw values; returns the
    pullback, the linearized map and the operator it made."""
    ad.jvp(f, (x,), (v,))
    ad.jacfwd(f, chunk_size=2)(x)
    ad.grad(f)(x)
    for mode in ad.HVP_MODES:
        ad.hvp(f, x, v, mode)
    softplus(x)
    _, pullback = ad.vjp(f, x)
    _, f_jvp = ad.linearize(f, x)
    op = HessianOperator(f, x)
    return pullback, f_jvp, op


def test_every_callback_is_called_while_observing_and_none_after():
    x, v = np.array([0.3, -1.2, 2.0]), np.array([1.0, 0.5, -1.0])
    recorder = Recorder()
    with observing(recorder) as installed:
        assert installed is recorder and current() is recorder
        pullback, f_jvp, op = workload(x, v)
        pullback(1.0)
        f_jvp(v)
        op.matvec(v)
    assert set(recorder.calls) == set(CALLBACKS)
    assert current() is None
    seen = len(recorder.calls)
    # none after the block: new work, and work on what the block recorded
    workload(x, v)
    pullback(1.0)
    f_jvp(v)
    op.matvec(v)
    assert len(recorder.calls) == seen


def test_observing_is_per_thread():
    x = np.linspace(0.1, 1.0, 5)
    mine, theirs = Recorder(), Recorder()
    started, finish = threading.Event(), threading.Event()

    def other_thread():
        with observing(theirs):
            started.set()
            finish.wait(10)
            ad.grad(f)(x)

    worker = threading.Thread(target=other_thread)
    worker.start()
    started.wait(10)
    with observing(mine):
        assert current() is mine
        finish.set()
        worker.join()
        ad.jvp(f, (x,), (x,))
    assert "backward_started" in theirs.calls and "jvp_started" not in theirs.calls
    assert "jvp_started" in mine.calls and "backward_started" not in mine.calls


def test_nested_blocks_replace_and_restore():
    outer, inner = Recorder(), Recorder()
    x = np.ones(2)
    with observing(outer):
        with observing(inner):
            ad.grad(f)(x)
        assert current() is outer
        ad.jvp(f, (x,), (x,))
    assert "backward_started" in inner.calls and "backward_started" not in outer.calls
    assert "jvp_started" in outer.calls and "jvp_started" not in inner.calls


def test_forward_operations_report_primals_and_tangents():
    brackets = []

    class Brackets(Observer):
        def jvp_started(self, trace, prim, primals, tangents, params):
            brackets.append(("start", prim.name, len(primals), sum(t is not None for t in tangents)))

        def jvp_finished(self, trace, prim, primals, tangents, params, out):
            brackets.append(("end", prim.name, np.shape(out)))

    with observing(Brackets()):
        ad.jvp(lambda x: np.sin(x) * 2.0, (np.ones(3),), (np.ones(3),))
    assert brackets == [("start", "sin", 1, 1), ("end", "sin", (3,)),
                        ("start", "multiply", 2, 1), ("end", "multiply", (3,))]


def test_layers_of_a_recorded_value():
    outs = []

    class Outs(Observer):
        def appended(self, tape, entry):
            outs.append(entry[4])

    with observing(Outs()):
        ad.hvp(lambda x: np.sum(np.sin(x)), np.ones(2), np.ones(2), "fwd-over-rev")
    duals = [o for o in outs if layers(o)]
    assert duals and all(type(layers(o)[0]).__name__ == "Dual" for o in duals)


def test_docstring_examples():
    failures, tried = doctest.testmod(dualad.observe)
    assert failures == 0 and tried > 0
