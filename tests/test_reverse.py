"""The tape: values no derivative formula reads are not kept (Residual), and
derivatives are the same whether or not they are kept."""

import sys

import numpy as np
import pytest
import scipy.special as sp

import dualad as ad
from dualad import core
from dualad.api import _record
from dualad.testing import check_grads

X = np.array([0.3, 0.7, 1.6])
Y = np.array([[1.2], [0.4]])

UNARY = [np.sin, np.cos, np.tan, np.exp, np.expm1, np.log, np.log1p, np.sqrt,
         np.cbrt, np.square, np.reciprocal, np.tanh, np.sinh, np.cosh, np.arctan,
         np.arcsinh, np.abs, sp.expit, sp.erf, sp.gammaln, sp.digamma,
         lambda x: np.arcsin(x / 2), lambda x: np.arccosh(x + 1.5), lambda x: np.arctanh(x / 2),
         lambda x: sp.logit(x / 2)]
BINARY = [np.add, np.subtract, np.multiply, np.divide, np.power, np.hypot,
          np.logaddexp, np.arctan2, np.maximum, np.minimum, sp.xlogy]


@pytest.fixture
def prune_everything(monkeypatch):
    from dualad import chain
    monkeypatch.setattr(core, "RESIDUAL_MIN_SIZE", 0)
    monkeypatch.setattr(chain, "IN_PLACE_MIN_SIZE", 0)  # every owned cotangent in place


@pytest.mark.parametrize("f", UNARY, ids=lambda f: getattr(f, "__name__", "lambda"))
def test_unary_rules_hold_when_unneeded_values_are_dropped(prune_everything, f):
    check_grads(lambda x: f(x) * f(x * 0.9 + 0.05) * x, (X,), order=2)


@pytest.mark.parametrize("f", BINARY, ids=lambda f: f.__name__)
def test_binary_rules_hold_when_unneeded_values_are_dropped(prune_everything, f):
    check_grads(lambda x, y: f(x + 1.0, y) * f(y, x + 2.0), (X, Y), order=2)


def test_hvp_modes_agree_with_and_without_dropping(monkeypatch):
    x = np.linspace(0.2, 1.5, 5000)
    v = np.cos(np.arange(5000.0))

    def f(x):
        return np.sum(np.exp(np.sin(x) ** 2) * np.log1p(x) - np.sqrt(x) * x[::-1])

    kept = {m: ad.hvp(f, x, v, mode=m) for m in ad.HVP_MODES[:3]}
    monkeypatch.setattr(core, "RESIDUAL_MIN_SIZE", 0)
    for m in ad.HVP_MODES[:3]:
        np.testing.assert_allclose(ad.hvp(f, x, v, mode=m), kept["fwd-over-rev"],
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(kept[m], kept["fwd-over-rev"], rtol=1e-12, atol=1e-12)


def test_large_unneeded_outputs_are_not_kept_on_the_tape():
    x = np.linspace(0.1, 1.0, 10_000)
    tape, *_ = _record(lambda x: np.sum(np.sin(x) * 3.0), (x,), "test")
    by_name = {e[0].name: e for e in tape.entries if e[0] is not None}
    # sin's derivative reads x, not sin(x); a multiplication by a constant reads
    # neither its output nor the traced factor.
    assert isinstance(by_name["sin"][4], core.Residual)
    assert by_name["sin"][1][0] is x
    assert isinstance(by_name["multiply"][4], core.Residual)
    assert isinstance(by_name["multiply"][1][0], core.Residual)
    # exp's derivative is its output: kept
    tape, *_ = _record(lambda x: np.sum(np.exp(x)), (x,), "test")
    exp_entry = next(e for e in tape.entries if e[0] is not None and e[0].name == "exp")
    assert isinstance(exp_entry[4], np.ndarray)


def test_a_formula_that_reads_an_argument_keeps_it():
    # a user primitive whose derivative reads both arguments and the output
    f = ad.elementwise("f", lambda a, b: a * np.exp(b),
                       lambda out, a, b: out / a, lambda out, a, b: out)
    assert f.residuals == (frozenset({0, 1}), frozenset({0}))
    g = ad.elementwise("g", np.sin, lambda *args: np.cos(args[1]))
    assert g.residuals == (None,)  # *args: cannot tell, keeps everything
    x = np.linspace(0.5, 1.5, 5000)
    check_grads(lambda x: np.sum(f(x, x * 0.5)) + np.sum(g(x)), (x[:7],), order=2)
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(f(x, x * 0.5)))(x),
                               np.exp(0.5 * x) * (1 + 0.5 * x), rtol=1e-12)


@pytest.mark.parametrize("f", [
    lambda x: np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2),
    lambda x: np.sum(np.sin(x[[0, 2, 2, 1, 0]]) * x[::2].sum()) + np.sum(x[1:3] ** 3),
    lambda x: np.sum(x[:3] * x[2:5] * x[[4, 4, 0, 1, 3]][:3]) + np.sum(np.exp(x) * x),
], ids=["rosenbrock", "repeated-indices", "overlapping-slices"])
def test_forward_over_reverse_with_cotangents_summed_in_place(f):
    # forward-over-reverse sums dual cotangents in place (indexing adds into
    # slices); it must agree with reverse-over-reverse, which does not, and
    # with the dense Hessian built in vector mode.
    x = np.array([0.3, -1.2, 2.0, 0.5, 0.9, 1.1])
    v = np.array([1.0, -0.5, 0.25, 2.0, -1.0, 0.3])
    np.testing.assert_allclose(ad.hvp(f, x, v), ad.hvp(f, x, v, mode="rev-over-rev"),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ad.hessian(f)(x) @ v, ad.hvp(f, x, v), rtol=1e-12, atol=1e-12)
    check_grads(ad.grad(f), (x,), order=1)


def test_cotangent_sums_that_become_numpy_scalars_are_not_updated_in_place():
    # Found by the property tests: a 0-d cotangent sum turned into a NumPy
    # scalar while still marked as an array the backward pass owned.
    def program(x, y):
        h = np.cbrt(2 + np.sin(x))
        h = h[None, ...]
        return np.arccos(np.tanh(h) / 2) * y
    check_grads(program, (np.array(0.27392337), np.array(-0.46042657)), order=2)


# ---- cotangents overwritten in place ------------------------------------------------
# The backward pass multiplies a cotangent in place when it owns it: it made
# it itself and stored it in one place only (chain.pull, Tape.backward).  With the size threshold at 0
# every cotangent is a candidate, so these graphs -- fan-out, fan-in, an
# argument used twice, negations and scalings in chains -- check that a
# shared cotangent, the user's cotangent and the tape's values never change.
FAN = {
    "negations": lambda x: -(x * 3.0) - x,
    "product-and-difference": lambda x: np.sin(x) * np.cos(x) - (1.0 - x) * x,
    "reversed-difference": lambda x: (x - x[::-1]) * 2.0,
    "scalar-times-vector": lambda x: np.sum((1.0 - x) ** 2) * x,
    "same-argument-twice": lambda x: x * x - x,
    "chain": lambda x: -(-(-x * 2.0) * 0.5) / 3.0 + x,
    "rosenbrock-terms": lambda x: 100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2,
    "mixed": lambda x: np.tanh(x) / (1.0 + x ** 2) - np.exp(-x) * x[::-1],
}


@pytest.mark.parametrize("name", sorted(FAN))
def test_cotangents_overwritten_in_place_leave_everything_else_alone(prune_everything, name):
    f = FAN[name]
    x = np.linspace(-0.8, 0.9, 7)
    check_grads(f, (x,), order=2)
    out, pullback = ad.vjp(f, x)
    u = np.cos(np.arange(np.size(out)) + 0.5).reshape(np.shape(out))
    u_before = u.copy()
    (first,) = pullback(u)
    (second,) = pullback(u)
    np.testing.assert_array_equal(u, u_before)  # the user's cotangent
    np.testing.assert_array_equal(first, second)  # the tape
    v = np.sin(np.arange(x.size) + 0.25)
    _, jv = ad.jvp(f, (x,), (v,))
    np.testing.assert_allclose(np.vdot(first, v), np.vdot(u, jv), rtol=1e-12)


@pytest.mark.parametrize("name", ["negations", "chain", "rosenbrock-terms", "mixed"])
def test_cotangents_are_overwritten_in_place_where_owned(prune_everything, monkeypatch, name):
    """The in-place path does run (for cotangents the backward pass made
    itself and holds in one place), and the results still hold."""
    from dualad import reverse
    flags = []
    pull = reverse.pull

    def spy(g, f, g_owned, arg_shape, x):
        flags.append(g_owned)
        return pull(g, f, g_owned, arg_shape, x)
    monkeypatch.setattr(reverse, "pull", spy)
    f = FAN[name]
    x = np.linspace(-0.8, 0.9, 7)
    _, pullback = ad.vjp(f, x)
    u = np.cos(np.arange(np.size(f(x))) + 0.5)
    u_before = u.copy()
    (c,) = pullback(u)
    assert any(flags), flags
    np.testing.assert_array_equal(u, u_before)
    v = np.sin(np.arange(x.size) + 0.25)
    np.testing.assert_allclose(np.vdot(c, v), np.vdot(u, ad.jvp(f, (x,), (v,))[1]), rtol=1e-12)


def test_large_cotangents_are_overwritten_only_when_owned():
    from dualad import chain
    n = 2 * chain.IN_PLACE_MIN_SIZE
    g = np.ones(n)
    d = np.full(n, 2.0)
    product, owned = chain.pull(g, d, True, (n,), g)
    assert product is g and owned and g[0] == 2.0 and d[0] == 2.0  # into g, d untouched
    g = np.ones(n)
    product, owned = chain.pull(g, d, False, (n,), g)
    assert product is not g and product is not d and g[0] == 1.0 and d[0] == 2.0
    small = np.ones(3)
    product, _ = chain.pull(small, np.full(3, 2.0), True, (3,), small)
    assert small[0] == 1.0  # small arrays: a new product (cheaper than the bookkeeping)
    # at full size, through the API, the user's cotangent is not touched
    x = np.linspace(-1, 1, n)
    _, pullback = ad.vjp(lambda y: -(y * 3.0), x)
    u = np.ones(n)
    (c,) = pullback(u)
    np.testing.assert_array_equal(u, 1.0)
    np.testing.assert_array_equal(c, -3.0)


def test_no_reference_counts_anywhere_in_dualad():
    """Correctness must not rest on reference counts (CPython calls them
    unreliable beyond 0 and 1; Python 3.14 borrows references on loads)."""
    import pathlib
    root = pathlib.Path(ad.__file__).parent
    users = [str(p.relative_to(root)) for p in root.rglob("*.py") if "getrefcount" in p.read_text()]
    assert not users, users


TRACED_IMPORT = """
import sys, numpy as np
import scipy.linalg, scipy.optimize, scipy.sparse.linalg, scipy.special  # before the tracer
def tracer(frame, event, arg):
    frame.f_locals  # as a debugger does: the frames' locals gain references
    return tracer
sys.settrace(tracer)
import dualad as ad
x = np.linspace(-1.0, 1.0, 5000)
ad.grad(lambda y: np.sum(np.tanh(y) * np.exp(y)))(x)  # a first backward pass, traced
sys.settrace(None)
rng = np.random.default_rng(0)
for f in (lambda y: np.tanh(y) * np.exp(y), lambda y: y ** 2 * np.sin(y)):
    u = rng.standard_normal(x.size)
    v = rng.standard_normal(x.size)
    _, pullback = ad.vjp(f, x)
    (first,) = pullback(u)
    (second,) = pullback(u)
    assert np.array_equal(first, second), "a pullback changed between calls"
    lhs, rhs = np.dot(first, v), np.dot(u, ad.jvp(f, (x,), (v,))[1])
    assert abs(lhs - rhs) <= 1e-9 * abs(rhs), (lhs, rhs)
print("ok")
"""


def test_pullbacks_stay_right_after_a_first_use_under_a_trace_function():
    """A trace function that reads frames' locals (a debugger) while dualad is
    imported and first used leaves nothing behind that changes later
    pullbacks (it once left a miscalibrated reference count)."""
    import subprocess
    proc = subprocess.run([sys.executable, "-c", TRACED_IMPORT], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stdout + proc.stderr
