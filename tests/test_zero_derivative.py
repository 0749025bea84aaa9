"""Functions registered as having no derivative really have none.

dualad registers a function with ``core.nondiff`` (it runs on the primal
values and returns constants) only if every float output is piecewise
constant in every float input.  ``test_zero_derivative_claim`` checks that
claim for EVERY such registration -- found by the ``nondiff_of`` attribute
the wrapper carries, so a new registration is covered automatically, and
fails until ``SAMPLES`` below has inputs for it:

* at several random points away from the function's jumps, each float
  input is perturbed a little (several random perturbations) and every
  output must stay exactly what it was (integer and boolean outputs too);
* traced, the call returns NumPy's own value, unboxed, and its JVP (single
  and vector mode) and gradient are exactly 0.

This module also exports the ``HONOURED`` table (see tests/test_keywords.py)
for the zero-derivative NumPy functions that are not ufuncs: NumPy itself
computes them on the primal values, so every parameter is honoured; each is
listed with a call that uses it.
"""

from __future__ import annotations

import numpy as np
import scipy.special as sp
import pytest

import dualad as ad
from dualad import core

N_POINTS = 4          # random points per function
N_PERTURBATIONS = 3   # random perturbations of each float input per point
EPS = 1e-9            # relative size of a perturbation (samples keep >= 1e-3 from jumps)


def _nondiff_registrations():
    found = {}
    for table in (core.UFUNC_RULES, core.FUNCTION_RULES):
        for func, rule in table.items():
            if getattr(rule, "nondiff_of", None) is not None:
                found[func] = rule
    return found


NONDIFF = _nondiff_registrations()


def _name(func) -> str:
    return getattr(func, "__name__", repr(func))


# ---- generic points, away from each function's jumps ------------------------------------
def generic(rng, shape=(2, 3), lo=-3, hi=3):
    """Values whose fractional part is in [0.1, 0.4] or [0.6, 0.9]: away from
    the integers (floor, ceil, trunc) and the half-integers (round, rint)."""
    k = rng.integers(lo, hi, shape)
    frac = rng.uniform(0.1, 0.4, shape) + rng.choice([0.0, 0.5], shape)
    return k + frac


def nonzero(rng, shape=(2, 3)):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.1, 3.0, shape)


def distinct(rng, n=5):
    """n values at least 0.5 apart, in random order."""
    return rng.permutation(n) + rng.uniform(0.1, 0.4, n)


def increasing(rng, n=5):
    return np.cumsum(rng.uniform(0.5, 1.0, n))


def between(rng, edges, n=6):
    """n values away from every one of ``edges`` (inside and outside their range)."""
    lo = np.concatenate([[edges[0] - 1.0], edges])
    i = rng.integers(0, len(lo), n)
    gaps = np.append(np.diff(lo), 1.0)
    return lo[i] + gaps[i] * rng.uniform(0.1, 0.9, n)


def special_values(rng):
    x = nonzero(rng, (6,))
    x[rng.integers(0, 6)] = np.inf
    x[rng.integers(0, 6)] = -np.inf
    x[rng.integers(0, 6)] = np.nan
    return x


def binades(rng, shape=(2, 3)):
    """Away from powers of 2 (where spacing jumps)."""
    return rng.choice([-1.0, 1.0], shape) * 2.0 ** rng.integers(-4, 5, shape) \
        * rng.uniform(1.1, 1.9, shape)


def _pair(rng):
    x = rng.uniform(-2, 2, (2, 3))
    return x, x + nonzero(rng)


def _floor_divide(rng):
    y = rng.choice([-1.0, 1.0], (2, 3)) * rng.uniform(0.5, 2.0, (2, 3))
    return (generic(rng) * y, y), {}  # x / y away from the integers


def _close_or_not(rng):
    a = rng.uniform(-2, 2, (2, 3))
    return a, a + rng.choice([1e-12, 0.5], (2, 3))


def _searchsorted(rng):
    a = increasing(rng)
    return (a, between(rng, a)), {}


def _digitize(rng):
    bins = increasing(rng)
    return (between(rng, bins), bins), {"right": bool(rng.integers(0, 2))}


# Each entry: rng -> (args, kwargs); every float ndarray in args is perturbed and traced.
SAMPLES = {
    np.floor: lambda r: ((generic(r),), {}),
    np.ceil: lambda r: ((generic(r),), {}),
    np.rint: lambda r: ((generic(r),), {}),
    sp.round: lambda r: ((generic(r),), {}),
    np.einsum_path: lambda r: (("ij,jk,kl->il", r.standard_normal((2, 3)), r.standard_normal((3, 4)),
                                r.standard_normal((4, 2))), {"optimize": "greedy"}),
    np.linalg.matrix_rank: lambda r: ((r.standard_normal((2, 3, 3)),), {}),
    sp.gammasgn: lambda r: ((generic(r),), {}),
    np.trunc: lambda r: ((generic(r),), {}),
    np.fix: lambda r: ((generic(r),), {}),
    np.round: lambda r: ((generic(r) / 10,), {"decimals": 1}),
    np.around: lambda r: ((generic(r) * 10,), {"decimals": -1}),
    np.floor_divide: _floor_divide,
    np.less: lambda r: (_pair(r), {}),
    np.less_equal: lambda r: (_pair(r), {}),
    np.greater: lambda r: (_pair(r), {}),
    np.greater_equal: lambda r: (_pair(r), {}),
    np.equal: lambda r: (_pair(r), {}),
    np.not_equal: lambda r: (_pair(r), {}),
    np.isnan: lambda r: ((special_values(r),), {}),
    np.isinf: lambda r: ((special_values(r),), {}),
    np.isfinite: lambda r: ((special_values(r),), {}),
    np.signbit: lambda r: ((special_values(r),), {}),
    np.logical_and: lambda r: ((nonzero(r), nonzero(r)), {}),
    np.logical_or: lambda r: ((nonzero(r), nonzero(r)), {}),
    np.logical_xor: lambda r: ((nonzero(r), nonzero(r)), {}),
    np.logical_not: lambda r: ((nonzero(r),), {}),
    np.spacing: lambda r: ((binades(r),), {}),
    np.isclose: lambda r: (_close_or_not(r), {}),
    np.allclose: lambda r: (_close_or_not(r)[:1] * 2 if r.integers(0, 2) else _close_or_not(r), {}),
    np.array_equal: lambda r: (_pair(r), {}),
    np.array_equiv: lambda r: (_pair(r), {}),
    np.argmax: lambda r: ((distinct(r),), {}),
    np.argmin: lambda r: ((distinct(r).reshape(1, 5),), {"axis": 1}),
    np.nanargmax: lambda r: ((np.where(np.arange(5) == 2, np.nan, distinct(r)),), {}),
    np.nanargmin: lambda r: ((np.where(np.arange(5) == 0, np.nan, distinct(r)).reshape(1, 5),), {"axis": 1}),
    np.argsort: lambda r: ((distinct(r),), {}),
    np.argpartition: lambda r: ((distinct(r),), {"kth": 2}),
    np.argwhere: lambda r: ((nonzero(r),), {}),
    np.nonzero: lambda r: ((nonzero(r),), {}),
    np.flatnonzero: lambda r: ((nonzero(r),), {}),
    np.count_nonzero: lambda r: ((nonzero(r),), {"axis": 0}),
    np.searchsorted: _searchsorted,
    np.any: lambda r: ((nonzero(r),), {"axis": 1}),
    np.all: lambda r: ((nonzero(r),), {}),
    np.zeros_like: lambda r: ((r.standard_normal((2, 3)),), {}),
    np.ones_like: lambda r: ((r.standard_normal((2, 3)),), {}),
    np.empty_like: lambda r: ((r.standard_normal((2, 3)),), {}),
    np.shape: lambda r: ((r.standard_normal((2, 3)),), {}),
    np.ndim: lambda r: ((r.standard_normal((2, 3)),), {}),
    np.size: lambda r: ((r.standard_normal((2, 3)),), {"axis": 1}),
    np.iscomplexobj: lambda r: ((r.standard_normal(3),), {}),
    np.isrealobj: lambda r: ((r.standard_normal(3),), {}),
    np.isreal: lambda r: ((r.standard_normal(3),), {}),
    np.iscomplex: lambda r: ((r.standard_normal(3),), {}),
    np.result_type: lambda r: ((r.standard_normal(3), np.float32), {}),
    np.can_cast: lambda r: ((r.standard_normal(3), np.float32), {}),
    # a 0-d array: NumPy picks the type by value (float16 here)
    np.min_scalar_type: lambda r: ((np.array(r.uniform(1.0, 100.0)),), {}),
    np.digitize: _digitize,
    # dualad/rules/assembly.py
    np.isneginf: lambda r: ((special_values(r),), {}),
    np.isposinf: lambda r: ((special_values(r),), {}),
    # generic values never equal the integers tested (membership is a jump)
    np.isin: lambda r: ((generic(r), r.integers(-3, 3, 4)), {"invert": bool(r.integers(0, 2))}),
    np.lexsort: lambda r: ((np.stack([distinct(r), distinct(r)]),), {}),
}

# Outputs whose values NumPy leaves unspecified: only their shape and dtype are compared.
UNSPECIFIED_VALUES = {np.empty_like}


# ---- comparing outputs ------------------------------------------------------------------------
def _leaves(value):
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _assert_same(actual, expected, what, values=True):
    a_leaves, e_leaves = _leaves(actual), _leaves(expected)
    assert len(a_leaves) == len(e_leaves), f"{what}: {len(a_leaves)} outputs, expected {len(e_leaves)}"
    for a, e in zip(a_leaves, e_leaves):
        assert not isinstance(a, core.Box), f"{what}: a boxed output {a!r} from a zero-derivative function"
        if isinstance(e, (np.ndarray, np.generic)):
            a_arr, e_arr = np.asarray(a), np.asarray(e)
            assert a_arr.shape == e_arr.shape and a_arr.dtype == e_arr.dtype, \
                f"{what}: {a_arr.dtype}{a_arr.shape}, expected {e_arr.dtype}{e_arr.shape}"
            if values:
                assert np.array_equal(a_arr, e_arr, equal_nan=e_arr.dtype.kind in "fc"), \
                    f"{what}: {a_arr} != {e_arr}"
        else:
            assert type(a) is type(e) and a == e, f"{what}: {a!r} != {e!r}"


def _float_positions(args):
    return [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]


def _perturbed(x, rng):
    finite = np.isfinite(x)
    delta = EPS * (1.0 + np.abs(np.where(finite, x, 0.0))) * rng.standard_normal(x.shape)
    return x + np.where(finite, delta, 0.0)


def _float_outputs(value):
    return [np.asarray(v) for v in _leaves(value)
            if isinstance(v, (np.ndarray, np.generic)) and np.asarray(v).dtype.kind == "f"]


# ---- the test ----------------------------------------------------------------------------
def test_every_zero_derivative_registration_has_samples():
    missing = sorted(_name(f) for f in NONDIFF if f not in SAMPLES)
    assert not missing, f"no sample inputs in SAMPLES for the nondiff registrations {missing}"
    stale = sorted(_name(f) for f in SAMPLES if f not in NONDIFF)
    assert not stale, f"SAMPLES lists functions that are no longer registered as nondiff: {stale}"


@pytest.mark.parametrize("func", list(NONDIFF), ids=[_name(f) for f in NONDIFF])
def test_zero_derivative_claim(func):
    assert func in SAMPLES, f"{_name(func)} is registered with nondiff but has no entry in SAMPLES"
    values = func not in UNSPECIFIED_VALUES
    for point in range(N_POINTS):
        rng = np.random.default_rng([point, len(_name(func))])
        args, kwargs = SAMPLES[func](rng)
        positions = _float_positions(args)
        assert positions, f"{_name(func)}'s sample has no float input to perturb"
        expected = func(*args, **kwargs)

        # 1. piecewise constant: small perturbations of each float input change nothing
        for i in positions:
            for _ in range(N_PERTURBATIONS):
                moved = list(args)
                moved[i] = _perturbed(args[i], rng)
                _assert_same(func(*moved, **kwargs), expected,
                             f"{_name(func)} with input {i} perturbed at point {point}", values)

        # 2. traced: NumPy's value, and exactly zero derivatives
        floats = tuple(args[i] for i in positions)

        def traced(*xs):
            full = list(args)
            for i, x in zip(positions, xs):
                full[i] = x
            return func(*full, **kwargs)
        seen = []

        def recorded(*xs):
            seen.append(traced(*xs))
            return xs[0] * 1.0
        tangents = tuple(rng.standard_normal(x.shape) for x in floats)
        ad.jvp(recorded, floats, tangents)
        _, pullback = ad.vjp(recorded, *floats)
        pullback(np.ones(floats[0].shape))
        for value in seen:
            _assert_same(value, expected, f"traced {_name(func)} at point {point}", values)

        n_out = len(_float_outputs(expected))
        if not n_out:
            continue

        def float_part(*xs):
            return tuple(v for v in _leaves(traced(*xs))
                         if isinstance(v, (np.ndarray, np.generic, core.Box))
                         and np.result_type(core.primal(v)).kind == "f")
        out, t = ad.jvp(float_part, floats, tangents)
        for o, ti in zip(out, t):
            assert np.shape(ti) == np.shape(o) and np.all(np.asarray(ti) == 0), \
                f"{_name(func)}: JVP {ti} is not exactly 0"
        batched = tuple(np.stack([x, 2 * x]) for x in tangents)
        _, tb = ad.jvp(float_part, floats, batched, batched=True)
        for o, ti in zip(out, tb):
            assert np.shape(ti) == (2,) + np.shape(o) and np.all(np.asarray(ti) == 0), \
                f"{_name(func)}: vector-mode JVP is not exactly 0"
        weights = [rng.standard_normal(np.shape(o)) for o in out]

        def scalar(*xs):
            return sum(np.sum(np.where(np.isfinite(core.primal(o)), o, 0.0) * w)
                       for o, w in zip(float_part(*xs), weights))
        grads = ad.grad(scalar, argnums=tuple(range(len(floats))))(*floats)
        for g, x in zip(grads, floats):
            assert np.shape(g) == np.shape(x) and np.all(np.asarray(g) == 0), \
                f"{_name(func)}: gradient {g} is not exactly 0"


# ---- HONOURED: the zero-derivative NumPy functions that are not ufuncs --------------------
# NumPy computes each of them on the primal values, so every parameter is
# honoured by construction; one call per parameter shows it.
_x = np.array([[0.3, -1.2, 2.7], [1.6, -0.4, 0.9]])
_v = np.array([0.3, -1.2, 2.7, 1.6])
_s = np.array([-1.2, 0.3, 0.9, 2.7])          # sorted
_e = np.zeros((0, 2))                         # empty_like's values are unspecified: no entries


HONOURED = {
    np.round: {"a": [((_x,), {})], "decimals": [((_x,), {"decimals": 1})],
               "out": [((_x,), {"out": np.empty((2, 3))})]},
    np.around: {"a": [((_x,), {})], "decimals": [((_x, -1), {})],
                "out": [((_x,), {"out": np.empty((2, 3))})]},
    np.fix: {"x": [((_x,), {})], "out": [((_x,), {"out": np.empty((2, 3))})]},
    np.isclose: {"a": [((_v, _v + 1e-9), {})], "b": [((_v, _v + 0.5), {})],
                 "rtol": [((_v, _v + 0.01), {"rtol": 0.1})],
                 "atol": [((_v, _v + 0.01), {"atol": 0.1})],
                 "equal_nan": [((np.array([np.nan, 1.0]), np.array([np.nan, 1.0])),
                                {"equal_nan": True})]},
    np.allclose: {"a": [((_v, _v + 1e-9), {})], "b": [((_v, _v + 0.5), {})],
                  "rtol": [((_v, _v + 0.01), {"rtol": 0.1})],
                  "atol": [((_v, _v + 0.01), {"atol": 0.1})],
                  "equal_nan": [((np.array([np.nan, 1.0]), np.array([np.nan, 1.0])),
                                 {"equal_nan": True})]},
    np.array_equiv: {"a1": [((_v, _v.copy()), {}), ((_x, _x[0]), {})], "a2": [((_v, _v + 1.0), {})]},
    np.array_equal: {"a1": [((_v, _v.copy()), {})], "a2": [((_v, _v + 1.0), {})],
                     "equal_nan": [((np.array([np.nan, 1.0]), np.array([np.nan, 1.0])),
                                    {"equal_nan": True})]},
    np.argmax: {"a": [((_x,), {})], "axis": [((_x,), {"axis": 1})],
                "out": [((_x,), {"axis": 0, "out": np.empty(3, dtype=np.intp)})],
                "keepdims": [((_x,), {"axis": 1, "keepdims": True})]},
    np.argmin: {"a": [((_x,), {})], "axis": [((_x,), {"axis": 1})],
                "out": [((_x,), {"axis": 0, "out": np.empty(3, dtype=np.intp)})],
                "keepdims": [((_x,), {"axis": 1, "keepdims": True})]},
    np.argsort: {"a": [((_x,), {})], "axis": [((_x,), {"axis": 0})],
                 "kind": [((_x,), {"kind": "mergesort"})],
                 "order": [((_x,), {"order": None})],  # for structured arrays only
                 "stable": [((_x,), {"stable": True})]},
    np.argwhere: {"a": [((_x,), {})]},
    np.nonzero: {"a": [((_x,), {})]},
    np.flatnonzero: {"a": [((_x,), {})]},
    np.count_nonzero: {"a": [((_x,), {})], "axis": [((_x,), {"axis": 1})],
                       "keepdims": [((_x,), {"axis": 0, "keepdims": True})]},
    np.searchsorted: {"a": [((_s, _v), {})], "v": [((_s, np.array([0.5, 2.7])), {})],
                      "side": [((_s, np.array([0.3, 2.7])), {"side": "right"})],
                      "sorter": [((_v, np.array([0.5, 2.0])), {"sorter": np.argsort(_v)})]},
    np.any: {"a": [((_x,), {})], "axis": [((_x,), {"axis": 1})],
             "out": [((_x,), {"axis": 0, "out": np.empty(3, dtype=bool)})],
             "keepdims": [((_x,), {"keepdims": True})],
             "where": [((_x,), {"where": np.array([True, False, True])})]},
    np.all: {"a": [((_x,), {})], "axis": [((_x,), {"axis": 1})],
             "out": [((_x,), {"axis": 0, "out": np.empty(3, dtype=bool)})],
             "keepdims": [((_x,), {"keepdims": True})],
             "where": [((_x,), {"where": np.array([True, False, True])})]},
    np.zeros_like: {"a": [((_x,), {})], "dtype": [((_x,), {"dtype": np.float32}), ((_x,), {"dtype": int})],
                    "order": [((_x,), {"order": "F"})], "subok": [((_x,), {"subok": False})],
                    "shape": [((_x,), {"shape": (3, 1)})], "device": [((_x,), {"device": "cpu"})]},
    np.ones_like: {"a": [((_x,), {})], "dtype": [((_x,), {"dtype": np.float32}), ((_x,), {"dtype": int})],
                   "order": [((_x,), {"order": "F"})], "subok": [((_x,), {"subok": False})],
                   "shape": [((_x,), {"shape": (3, 1)})], "device": [((_x,), {"device": "cpu"})]},
    np.empty_like: {"prototype": [((_e,), {})], "dtype": [((_e,), {"dtype": int})],
                    "order": [((_e,), {"order": "F"})], "subok": [((_e,), {"subok": False})],
                    "shape": [((_e,), {"shape": (0, 3)})], "device": [((_e,), {"device": "cpu"})]},
    np.shape: {"a": [((_x,), {})]},
    np.ndim: {"a": [((_x,), {})]},
    np.size: {"a": [((_x,), {})], "axis": [((_x,), {"axis": 1})]},
    np.iscomplexobj: {"x": [((_x,), {})]},
    np.isrealobj: {"x": [((_x,), {})]},
    np.isreal: {"x": [((_x,), {})]},
    np.iscomplex: {"x": [((_x,), {})]},
    np.result_type: {"arrays_and_dtypes": [((_x, np.float32), {}), ((_x, _v), {})]},
    np.einsum_path: {"operands": [(("ij,jk->ik", _x, _x.T), {}), (("ii", _x[:, :2]), {})],
                     "optimize": [(("ij,jk,kl->il", _x, _x.T, _x), {"optimize": "optimal"}),
                                  (("ij,jk->ik", _x, _x.T), {"optimize": False})],
                     # NumPy's private switch for its own einsum: the same result NumPy gives
                     "einsum_call": [(("ij,jk->ik", _x.astype(np.float32), _x.T), {"einsum_call": True})]},
    np.can_cast: {"from_": [((_x, np.float32), {})], "to": [((_x, np.float64), {})],
                  "casting": [((_x, np.float32), {"casting": "same_kind"})]},
    np.min_scalar_type: {"a": [((np.array(1.5),), {}), ((_x,), {})]},
    np.digitize: {"x": [((_v, _s[:3] + 0.05), {})], "bins": [((_v, np.array([3.0, 0.0, -2.0])), {})],
                  "right": [((_s, _s), {"right": True})]},
}
