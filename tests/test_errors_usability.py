"""Errors that used to mislead (issue #15): each message now says what happened
and what to do, and each test pins the words that say it.

- ``y[0] = x[0]`` into a NumPy array: about storing into an array, not float();
- ``math.exp(x)``: names the math module and its NumPy replacement;
- pytree bounds in ``dualad.optimize.minimize``: accepted, or a clear error;
- ``--plot`` without matplotlib: refused before anything is measured.
"""

import cmath
import math
import sys

import numpy as np
import pytest
import scipy.optimize as so

import dualad as ad
from dualad.costs import cli
from dualad.optimize import minimize

X = np.array([0.3, -1.2, 2.0])


def every_transformation(f, x=X):
    """Calls running f under each transformation (each must raise)."""
    scalar = lambda y: np.sum(f(y))  # noqa: E731
    return {"grad": lambda: ad.grad(scalar)(x),
            "jvp": lambda: ad.jvp(f, (x,), (np.ones_like(x),)),
            "vjp": lambda: ad.vjp(f, x),
            "hvp": lambda: ad.hvp(scalar, x, np.ones_like(x)),
            "jacfwd": lambda: ad.jacfwd(f)(x),
            "jacrev": lambda: ad.jacrev(f)(x)}


def message(call) -> str:
    with pytest.raises(TypeError) as info:
        call()
    return str(info.value)


# ---- y[i] = traced ------------------------------------------------------------------------
def _store_scalar(x):
    y = np.zeros(3)
    y[0] = x[0]
    return y * x


def _store_slice(x):
    y = np.zeros(3)
    y[:2] = x[:2]
    return y * x


def _store_mask(x):
    y = np.zeros(3)
    y[x > 0] = x[x > 0]
    return y * x


@pytest.mark.parametrize("f", [_store_scalar, _store_slice, _store_mask],
                         ids=["y[0]=x[0]", "y[:2]=x[:2]", "y[mask]=x[mask]"])
@pytest.mark.parametrize("mode", list(every_transformation(np.sin)))
def test_storing_into_numpy_array_says_so_and_how_to_build_it(f, mode):
    text = message(every_transformation(f)[mode])
    assert "storing a value that dualad is differentiating into one" in text
    assert "np.stack" in text and "np.concatenate" in text and "np.where" in text
    # the spurious sentence about a conversion the user never wrote is gone
    assert "float()" not in text and "math" not in text


def test_storing_into_integer_array_says_so():
    # NumPy converts with int() here, exactly as int(x) does, so the int()
    # message names both (telling them apart would need the bytecode)
    def f(x):
        y = np.zeros(3, dtype=int)
        y[0] = x[0]
        return y * x
    for mode, call in every_transformation(f).items():
        text = message(call)
        assert "storing a value that dualad is differentiating" in text, mode
        assert "integer NumPy array" in text and "np.stack" in text, mode


# ---- math module ---------------------------------------------------------------------------
MATH_CALLS = {
    "math.exp": (lambda x: x * math.exp(x[0]), "np.exp"),
    "math.sin": (lambda x: x * math.sin(x[0]), "np.sin"),
    "math.sqrt": (lambda x: x * math.sqrt(x[2]), "np.sqrt"),
}


@pytest.mark.parametrize("name", list(MATH_CALLS))
def test_math_module_call_is_named_with_its_numpy_replacement(name):
    f, replacement = MATH_CALLS[name]
    for mode, call in every_transformation(f).items():
        text = message(call)
        assert name in text, mode
        assert replacement in text, mode
        assert "math-module" in text, mode
        assert "storing" not in text, mode  # not mistaken for an array assignment


def test_float_itself_is_covered_by_the_same_message():
    text = message(lambda: ad.grad(lambda x: float(x[0]) * np.sum(x))(X))
    assert "float(x)" in text and "math-module" in text and "np.where" in text


def test_cmath_call_is_named():
    text = message(lambda: ad.jvp(lambda x: x * cmath.exp(x[0]).real, (X,), (X,)))
    assert "cmath" in text and "complex()" in text


# ---- pytree bounds in minimize --------------------------------------------------------
def _loss(p):
    return np.sum((p["a"] - 3.0) ** 2) + np.sum((p["k"] + np.array([1.0, -4.0])) ** 2)


X0 = {"a": 1.0, "k": np.array([1.0, 1.0])}
# flat order of x0: a, k[0], k[1] (dict keys sorted)
FLAT_BOUNDS = [(0.0, 2.0), (0.0, None), (-5.0, 3.0)]


def _flat_reference():
    def flat_loss(z):
        return (z[0] - 3.0) ** 2 + (z[1] + 1.0) ** 2 + (z[2] - 4.0) ** 2
    return so.minimize(flat_loss, np.array([1.0, 1.0, 1.0]), method="L-BFGS-B",
                       bounds=FLAT_BOUNDS).x


@pytest.mark.parametrize("bounds", [
    {"a": (0.0, 2.0), "k": (np.array([0.0, -5.0]), np.array([np.inf, 3.0]))},
    ({"a": 0.0, "k": [0.0, -5.0]}, {"a": 2.0, "k": np.array([np.inf, 3.0])}),
    ({"a": 0.0, "k": np.array([0.0, -5.0])}, {"a": 2.0, "k": [None, 3.0]}),
    FLAT_BOUNDS,
    so.Bounds([0.0, 0.0, -5.0], [2.0, np.inf, 3.0]),
], ids=["pair-per-leaf", "lb-ub-trees", "lb-ub-trees-None", "scipy-pairs", "scipy-Bounds"])
def test_pytree_bounds_give_scipy_flat_result(bounds):
    res = minimize(_loss, X0, bounds=bounds)
    np.testing.assert_allclose(res.x_flat, _flat_reference(), atol=1e-6)
    # the constrained optimum is on the bounds, so a dropped bound would fail
    np.testing.assert_allclose(res.x_flat, [2.0, 0.0, 3.0], atol=1e-6)


def test_none_at_a_leaf_means_unbounded():
    res = minimize(_loss, X0, bounds={"a": (None, 2.0), "k": (None, None)})
    np.testing.assert_allclose(res.x["a"], 2.0, atol=1e-6)
    np.testing.assert_allclose(res.x["k"], [-1.0, 4.0], atol=1e-5)


@pytest.mark.parametrize("bounds", [
    {"a": (0.0, 2.0)},                               # a key missing
    {"a": (0.0, 2.0), "k": (0.0, 1.0, 2.0)},         # not a pair
    {"a": (0.0, 2.0), "k": (np.zeros(3), None)},     # wrong leaf shape
])
def test_mismatched_bounds_say_how_to_pass_them(bounds):
    given = repr(bounds)
    with pytest.raises(ValueError) as info:
        minimize(_loss, X0, bounds=bounds)
    text = str(info.value)
    assert "bounds do not match x0" in text
    assert "{'a': *, 'k': *}" in text              # x0's structure, as dualad sees it
    assert "(min, max) pair at each leaf" in text and "(lb, ub)" in text
    assert "too many values to unpack" not in text
    assert repr(bounds) == given                   # the user's bounds are untouched


# ---- --plot without matplotlib ------------------------------------------------------
@pytest.fixture
def no_measuring(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("measured although the output could not be written")
    monkeypatch.setattr(cli, "compare", refuse)
    monkeypatch.setattr(cli, "sweep", refuse)


@pytest.fixture
def no_matplotlib(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


@pytest.mark.parametrize("argv", [
    ["costs", "tanh", "--n", "3"],
    ["sweep", "tanh", "--sizes", "3,10"],
], ids=["costs", "sweep"])
def test_plot_without_matplotlib_refused_before_measuring(argv, tmp_path, capsys,
                                                           no_measuring, no_matplotlib):
    code = cli.main(argv + ["--plot", str(tmp_path / "p.png")])
    err = capsys.readouterr().err
    assert code == 1
    assert "matplotlib" in err and "pip install 'dualad[plot]'" in err
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_output_in_missing_directory_refused_before_measuring(option, tmp_path, capsys,
                                                              no_measuring):
    target = tmp_path / "missing" / "out.file"
    code = cli.main(["sweep", "tanh", "--sizes", "3,10", option, str(target)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{option} {target}" in err and "does not exist" in err
