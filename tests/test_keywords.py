"""Every argument of every registered NumPy function is honoured or refused.

The walker reads each registered function's signature by introspection
(``inspect.signature``; for ufuncs, the keywords every ufunc takes) and
requires, for every parameter, one of two things:

* it is *honoured*: the rule-section test modules list calls that use it
  (their ``HONOURED`` tables), and each such call, traced, returns NumPy's
  value for the same arguments, with a derivative that agrees with central
  finite differences wherever the output is floating point;
* it is *refused*: given a value other than its default, the traced call
  raises a ``TypeError`` that names the parameter.

So a keyword that is accepted and silently ignored fails here, and a new
registration without a table entry fails too.
"""

from __future__ import annotations

import importlib.util
import inspect
import pathlib

import numpy as np
import pytest
import scipy.special as sp

import dualad as ad
from dualad import core
from dualad.testing import check_grads

HERE = pathlib.Path(__file__).parent
# every test module that defines a HONOURED table contributes it
TABLE_MODULES = sorted(path.stem for path in HERE.glob("test_*.py")
                       if path.stem != "test_keywords" and "\nHONOURED = " in path.read_text())


def _load(name):
    path = HERE / f"{name}.py"
    if not path.exists():
        return None  # reported by test_every_table_module_exists
    spec = importlib.util.spec_from_file_location(f"_keyword_tables_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _merged_tables() -> dict:
    merged: dict = {}
    for name in TABLE_MODULES:
        for func, params in getattr(_load(name), "HONOURED", None or {}).items():
            slot = merged.setdefault(func, {})
            for param, calls in params.items():
                slot.setdefault(param, []).extend(calls)
    return merged


HONOURED = _merged_tables()


def test_every_table_module_has_a_table():
    for name in TABLE_MODULES:
        table = getattr(_load(name), "HONOURED", None)
        assert isinstance(table, dict) and table, f"tests/{name}.py has no HONOURED entries"

# Keywords that NumPy documents but hides behind **kwargs in the signature.
_UFUNC_KEYWORDS = ["out", "where", "casting", "order", "dtype", "subok", "signature"]
EXTRA_KEYWORDS = {
    np.pad: ["constant_values", "stat_length", "end_values", "reflect_type"],
    np.clip: _UFUNC_KEYWORDS,
    np.einsum: ["dtype", "order", "casting"],
}


def _name(func) -> str:
    return core.public_name(func)


_GUFUNC_KEYWORDS = _UFUNC_KEYWORDS + ["axes", "axis", "keepdims"]


def _parameters(func) -> list:
    """(name, kind) of each parameter NumPy documents for ``func``."""
    if isinstance(func, np.ufunc):  # a generalized ufunc (matmul, vecdot)
        return ([(f"x{i + 1}", inspect.Parameter.POSITIONAL_ONLY) for i in range(func.nin)]
                + [(k, inspect.Parameter.KEYWORD_ONLY) for k in _GUFUNC_KEYWORDS])
    params = []
    for name, p in inspect.signature(func).parameters.items():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            continue
        params.append((name, p.kind))
    params += [(k, inspect.Parameter.KEYWORD_ONLY) for k in EXTRA_KEYWORDS.get(func, [])]
    return params


FUNCTIONS = sorted(list(core.FUNCTION_RULES)
                   + [u for u in core.UFUNC_RULES if u.signature is not None], key=_name)


# ---- running a call traced --------------------------------------------------------------
def _split(args):
    """The float-array leaves of ``args`` (traced) and a function that puts
    new values for them back."""
    leaves, tree = ad.tree_flatten(tuple(args))
    traced = [i for i, leaf in enumerate(leaves)
              if isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fc"]

    def rebuild(values):
        full = list(leaves)
        for i, v in zip(traced, values):
            full[i] = v
        return ad.tree_unflatten(tree, full)
    return [leaves[i] for i in traced], rebuild


def _float_leaves(value) -> list:
    return [np.asarray(v) for v in ad.tree_flatten(value)[0]
            if not isinstance(v, str) and np.result_type(v).kind in "fc"]


def _assert_same_value(actual, expected, what):
    a_leaves, a_tree = ad.tree_flatten(actual)
    e_leaves, e_tree = ad.tree_flatten(expected)
    assert len(a_leaves) == len(e_leaves), f"{what}: {len(a_leaves)} outputs, NumPy has {len(e_leaves)}"
    for a, e in zip(a_leaves, e_leaves):
        a, e = np.asarray(a), np.asarray(e)
        assert a.shape == e.shape, f"{what}: shape {a.shape}, NumPy's {e.shape}"
        assert a.dtype == e.dtype, f"{what}: dtype {a.dtype}, NumPy's {e.dtype}"
        if e.dtype.kind in "fc":
            rtol = 1e-12 if e.dtype in (np.float64, np.complex128) else \
                2e-6 if e.dtype in (np.float32, np.complex64) else 2e-3
            np.testing.assert_allclose(a, e, rtol=rtol, atol=rtol * 1e-3, err_msg=what)
        else:
            np.testing.assert_array_equal(a, e, err_msg=what)


HONOURED_CALLS = [(func, param, i, call)
                  for func in FUNCTIONS for param, calls in HONOURED.get(func, {}).items()
                  for i, call in enumerate(calls)]


@pytest.mark.parametrize("func, param, i, call", HONOURED_CALLS,
                         ids=[f"{_name(f)}-{p}-{i}" for f, p, i, _ in HONOURED_CALLS])
def test_honoured_argument_gives_numpy_value_and_true_derivative(func, param, i, call):
    args, kwargs = call
    expected = func(*args, **kwargs)
    floats, rebuild = _split(args)
    if not floats:
        pytest.fail(f"{_name(func)} call {i} for {param} has no float array to trace")

    def traced(*values):
        return func(*rebuild(values), **kwargs)
    rng = np.random.default_rng(i)
    tangents = tuple(rng.standard_normal(x.shape).astype(x.dtype) for x in floats)
    value, _ = ad.jvp(traced, tuple(floats), tangents)
    _assert_same_value(value, expected, f"{_name(func)}({param}=...) under jvp")
    out_floats = _float_leaves(expected)
    if out_floats and all(x.dtype in (np.float64, np.complex128) for x in floats) and \
            all(o.dtype in (np.float64, np.complex128) for o in out_floats):
        def float_part(*values):
            return tuple(v for v in ad.tree_flatten(traced(*values))[0]
                         if np.result_type(v).kind in "fc")
        check_grads(float_part, tuple(floats), order=1, modes=("fwd", "rev"))


def _sample_call(func):
    for calls in HONOURED.get(func, {}).values():
        if calls:
            return calls[0]
    return None


class _Probe:
    """A value no NumPy argument has as its default."""

    def __repr__(self):
        return "<probe>"


REFUSAL_CASES = []
for _func in FUNCTIONS:
    for _param, _kind in _parameters(_func):
        if _param not in HONOURED.get(_func, {}):
            REFUSAL_CASES.append((_func, _param, _kind))


@pytest.mark.parametrize("func, param, kind", REFUSAL_CASES,
                         ids=[f"{_name(f)}-{p}" for f, p, _ in REFUSAL_CASES])
def test_argument_not_honoured_is_refused_by_name(func, param, kind):
    assert kind not in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL), (
        f"{_name(func)}'s {param} cannot be passed by keyword: list it in a HONOURED table")
    call = _sample_call(func)
    assert call is not None, f"{_name(func)} has no HONOURED entry to take sample arguments from"
    args, kwargs = call
    floats, rebuild = _split(args)
    kwargs = {k: v for k, v in kwargs.items() if k != param}
    kwargs[param] = _Probe()

    def traced(*values):
        return func(*rebuild(values), **kwargs)
    with pytest.raises(TypeError) as info:
        ad.jvp(traced, tuple(floats), tuple(np.ones_like(x) for x in floats))
    try:
        func(*args, **kwargs)
        numpy_refuses = False
    except Exception as exc:  # NumPy itself refuses it (before any dispatch, or its value)
        numpy_refuses = isinstance(exc, TypeError) and param in str(exc)
    assert param in str(info.value) and ("dualad" in str(info.value) or numpy_refuses), \
        str(info.value)


def test_every_registered_function_has_sample_arguments():
    missing = [_name(f) for f in FUNCTIONS if _sample_call(f) is None]
    assert not missing, f"no HONOURED calls for {missing}"


def test_no_registered_implementation_swallows_keywords():
    """A differentiable implementation lists what it accepts: no **kwargs
    catch-all (the nondiff pass-through hands everything to NumPy itself)."""
    swallowing = []
    for func, impl in core.FUNCTION_RULES.items():
        if getattr(impl, "nondiff_of", None) is not None:
            continue
        kinds = [p.kind for p in inspect.signature(impl).parameters.values()]
        numpy_kinds = [p.kind for p in inspect.signature(func).parameters.values()]
        if inspect.Parameter.VAR_KEYWORD in kinds and inspect.Parameter.VAR_KEYWORD not in numpy_kinds:
            swallowing.append(_name(func))
    assert not swallowing, f"implementations with **kwargs: {swallowing}"


# ---- ufuncs --------------------------------------------------------------------------------
def _domain(ufunc):
    if ufunc in (np.arccosh,):
        return np.array([1.5, 2.5])
    if ufunc in (sp.gammaln, sp.digamma, sp.psi):
        return np.array([1.5, 2.5])
    if ufunc is sp.ndtri_exp:
        return np.array([-0.3, -0.7])
    return np.array([0.3, 0.7])


UFUNCS = sorted((u for u in core.UFUNC_RULES if u.signature is None and u.nout == 1),
                key=lambda u: u.__name__)
REFUSED_UFUNC_VALUES = {"out": lambda x: (np.empty_like(x),), "where": lambda x: x > 0.5,
                        "casting": lambda x: "unsafe", "order": lambda x: "F",
                        "subok": lambda x: False, "signature": lambda x: "dd->d"}


# Leading parameters that a rule refuses to trace (Bessel orders, zeta's
# exponent): held constant, only the rest traced.
_CONSTANT_LEADING = {sp.jv: (1.5,), sp.yv: (1.5,), sp.iv: (1.5,), sp.ive: (1.5,),
                     sp.kv: (1.5,), sp.kve: (1.5,), sp._ufuncs._zeta: (2.5,),
                     sp.stdtr: (3.5,), sp.stdtrit: (3.5,), sp.chdtr: (3.0,), sp.chdtrc: (3.0,),
                     sp.pdtr: (2.0,), sp.pdtrc: (2.0,), sp.fdtr: (3.0, 5.0), sp.fdtrc: (3.0, 5.0),
                     sp.bdtr: (2, 6), sp.bdtrc: (2, 6), sp.nbdtr: (2, 6), sp.nbdtrc: (2, 6),
                     sp.gammaincinv: (2.5,), sp.gammainccinv: (2.5,), sp.betaincinv: (2.5, 1.5),
                     sp.betainccinv: (2.5, 1.5), sp.hyp1f1: (1.5, 2.5), sp.hyp2f1: (0.5, 1.5, 2.5)}
# A constant parameter between traced ones: {ufunc: (position, value)}.
_CONSTANT_INSIDE = {sp.gdtr: (1, 2.5), sp.gdtrc: (1, 2.5)}


# Trailing parameters that must be integers (ldexp's exponent): held constant.
_CONSTANT_TRAILING = {np.ldexp: (np.array([1, -2]),)}


def _ufunc_args(ufunc):
    x = _domain(ufunc)
    return (x,) * (ufunc.nin - len(_CONSTANT_LEADING.get(ufunc, ())) - (ufunc in _CONSTANT_INSIDE)
                   - len(_CONSTANT_TRAILING.get(ufunc, ())))


def _bound(ufunc):
    """``ufunc`` with its constant leading, inner and trailing parameters given."""
    constants = _CONSTANT_LEADING.get(ufunc, ())
    trailing = _CONSTANT_TRAILING.get(ufunc, ())
    if ufunc in _CONSTANT_INSIDE:
        position, value = _CONSTANT_INSIDE[ufunc]
        return lambda *xs, **kwargs: ufunc(*xs[:position], value, *xs[position:], **kwargs)
    return lambda *xs, **kwargs: ufunc(*constants, *xs, *trailing, **kwargs)


@pytest.mark.parametrize("ufunc", UFUNCS, ids=[u.__name__ for u in UFUNCS])
def test_ufunc_dtype_is_honoured(ufunc):
    args = _ufunc_args(ufunc)
    call = _bound(ufunc)
    for dtype in (np.float32, np.float64, np.int64, bool):
        try:
            expected = call(*args, dtype=dtype)
        except TypeError as exc:  # NumPy has no loop for it: the same error
            with pytest.raises(type(exc)):
                ad.jvp(lambda *xs: call(*xs, dtype=dtype), args, tuple(np.ones(2) for _ in args))
            continue
        value, tangent = ad.jvp(lambda *xs: call(*xs, dtype=dtype), args,
                                tuple(np.ones(2) for _ in args))
        _assert_same_value(value, expected, f"{ufunc.__name__}(dtype={dtype})")
        if np.dtype(dtype).kind == "f" and core.UFUNC_RULES[ufunc].__class__ is core.Primitive:
            _, t64 = ad.jvp(lambda *xs: call(*xs), args, tuple(np.ones(2) for _ in args))
            np.testing.assert_allclose(tangent, t64, rtol=1e-4, atol=1e-6)
    if getattr(core.UFUNC_RULES[ufunc], "nondiff_of", None) is None:
        # a complex dtype computes in complex: NumPy's value (or its error), and
        # the tangent of that function by central differences
        f = lambda *xs: call(*xs, dtype=np.complex128)
        try:
            expected = f(*args)
        except TypeError as exc:
            with pytest.raises(type(exc)):
                ad.jvp(f, args, tuple(np.ones(2) for _ in args))
            return
        try:
            value, tangent = ad.jvp(f, args, tuple(np.ones(2) for _ in args))
        except TypeError as exc:  # refused by name: no complex derivative available
            assert ufunc.__name__.lstrip("_") in str(exc) and "complex" in str(exc), str(exc)
            return
        _assert_same_value(value, expected, f"{ufunc.__name__}(dtype=complex)")
        h = 1e-6
        fd = (f(*[a + h for a in args]) - f(*[a - h for a in args])) / (2 * h)
        np.testing.assert_allclose(tangent, fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ufunc", UFUNCS, ids=[u.__name__ for u in UFUNCS])
@pytest.mark.parametrize("keyword", sorted(REFUSED_UFUNC_VALUES))
def test_ufunc_keywords_are_refused_or_computed_by_numpy(ufunc, keyword):
    args = _ufunc_args(ufunc)
    call = _bound(ufunc)
    value = REFUSED_UFUNC_VALUES[keyword](args[0])
    rule = core.UFUNC_RULES[ufunc]

    def traced(*xs):
        return call(*xs, **{keyword: value})
    if getattr(rule, "nondiff_of", None) is not None:
        # no derivative: NumPy itself computes it, every keyword included
        try:
            expected = call(*args, **{keyword: REFUSED_UFUNC_VALUES[keyword](args[0])})
        except (TypeError, ValueError) as exc:
            with pytest.raises(type(exc)):
                ad.jvp(traced, args, tuple(np.ones(2) for _ in args))
            return
        out, _ = ad.jvp(traced, args, tuple(np.ones(2) for _ in args))
        if keyword == "where":  # without out=, entries outside the mask are undefined
            out, expected = out[value], expected[value]
        _assert_same_value(out, expected, f"{ufunc.__name__}({keyword}=...)")
        return
    with pytest.raises(TypeError) as info:
        ad.jvp(traced, args, tuple(np.ones(2) for _ in args))
    assert keyword in str(info.value) and "dualad" in str(info.value)


@pytest.mark.parametrize("ufunc", UFUNCS, ids=[u.__name__ for u in UFUNCS])
def test_ufunc_keywords_at_their_defaults_change_nothing(ufunc):
    args = _ufunc_args(ufunc)
    call = _bound(ufunc)
    defaults = dict(out=None, where=True, casting="same_kind", order="K", subok=True)
    expected = call(*args)
    value, tangent = ad.jvp(lambda *xs: call(*xs, **defaults), args,
                            tuple(np.ones(2) for _ in args))
    _assert_same_value(value, expected, f"{ufunc.__name__} with default keywords")
    _, plain = ad.jvp(lambda *xs: call(*xs), args, tuple(np.ones(2) for _ in args))
    np.testing.assert_array_equal(tangent, plain)
