"""The NaN-safe product without a second call of the user's function.

A ``0 × inf`` in a chain-rule product is caught where it happens (NumPy
reports the invalid operation, ``dualad.chain`` sets the product to 0), so
forward mode never redoes anything; a NaN derivative in reverse mode or in a
replay is redone -- the backward pass or the sweep only -- and only when
NumPy reported an invalid operation since its tape began.  These tests count
the calls of ``f`` and, through the observer hook, the backward passes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dualad as ad
from dualad.observe import Observer, observing
from dualad.optimize import HessianOperator
from dualad.testing import numerical_jvp


class Passes(Observer):
    def __init__(self):
        self.backward = 0
        self.sweeps = 0

    def backward_started(self, tape, seeds, wanted, record):
        self.backward += 1

    def sweep_started(self, tape, seeds, wanted, batch):
        self.sweeps += 1


def counted(f):
    calls = []

    def wrapped(x):
        calls.append(1)
        return f(x)
    return wrapped, calls


def where_sqrt(x):
    return np.sum(np.where(x > 0, x, np.sqrt(-x)))


TRANSFORMS = {
    "jvp": lambda f, x: ad.jvp(f, (x,), (np.array([0.0, 1.0]),))[1],
    "grad": lambda f, x: ad.grad(f)(x),
    "hvp-fwd-over-rev": lambda f, x: ad.hvp(f, x, np.ones(2)),
    "hvp-rev-over-fwd": lambda f, x: ad.hvp(f, x, np.ones(2), mode="rev-over-fwd"),
    "hvp-rev-over-rev": lambda f, x: ad.hvp(f, x, np.ones(2), mode="rev-over-rev"),
    "hessian": lambda f, x: ad.hessian(f)(x),
    "linearize_grad": lambda f, x: ad.linearize_grad(f, x).hvp(np.ones(2)),
    "HessianOperator": lambda f, x: HessianOperator(f, x) @ np.ones(2),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", sorted(TRANSFORMS))
@pytest.mark.parametrize("f, x", [
    (lambda x: np.sum(np.sqrt(x)), np.array([0.0, 4.0])),   # sqrt'(0) = inf meets a zero tangent
    (where_sqrt, np.array([1.0, 2.0])),                     # the untaken branch's NaN
    (lambda x: np.sum(np.sqrt(x)), np.array([np.nan, 4.0])),  # a NaN input
], ids=["sqrt-at-0", "where-nan-branch", "nan-input"])
def test_the_users_function_is_called_once(name, f, x):
    wrapped, calls = counted(f)
    TRANSFORMS[name](wrapped, x)
    assert len(calls) == 1, f"f called {len(calls)} times by {name}"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_zero_tangent_at_sqrt_zero_gives_the_directional_derivative():
    f = lambda x: np.sum(np.sqrt(x))
    x = np.array([0.0, 4.0])
    _, t = ad.jvp(f, (x,), (np.array([0.0, 1.0]),))
    assert float(t) == pytest.approx(0.25)  # only the second entry moves
    np.testing.assert_allclose(ad.grad(where_sqrt)(np.array([1.0, 2.0])), [1.0, 1.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_nan_input_costs_no_retry_and_stays_nan():
    passes = Passes()
    x = np.array([np.nan, 4.0])
    with observing(passes):
        g = ad.grad(lambda z: np.sum(z * z))(x)
    assert passes.backward == 1
    assert np.isnan(g[0]) and g[1] == 8.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_nan_from_zero_times_a_nan_branch_is_redone_once_in_reverse_mode():
    passes = Passes()
    with observing(passes):
        g = ad.grad(where_sqrt)(np.array([1.0, 2.0]))
    assert passes.backward == 2  # the first pass, and its NaN-safe redo
    np.testing.assert_allclose(g, [1.0, 1.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_forward_mode_fixes_the_product_where_it_happens():
    # no redo at all: one forward pass, and the true directional derivative
    f = lambda x: np.sqrt(x) * 2.0 + x
    x = np.array([0.0, 1.0])
    v = np.array([0.0, 1.0])
    _, t = ad.jvp(f, (x,), (v,))
    np.testing.assert_allclose(t, [0.0, 2.0])
    np.testing.assert_allclose(t[1], numerical_jvp(f, (x,), (v,))[1], rtol=1e-6)


def test_the_users_floating_point_settings_still_apply():
    f = lambda x: np.sum(np.sqrt(x))
    x = np.array([-1.0, 4.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ad.grad(f)(x)
    assert any(issubclass(w.category, RuntimeWarning) for w in caught)  # as NumPy warns
    with np.errstate(invalid="raise"):
        with pytest.raises(FloatingPointError):
            ad.grad(f)(x)
    with np.errstate(invalid="ignore"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            g = ad.grad(f)(x)  # silent, as NumPy is
    assert np.isnan(g[0]) and g[1] == 0.25
