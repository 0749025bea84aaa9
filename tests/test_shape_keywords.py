"""Every parameter of the shape functions honoured with NumPy's semantics, or refused.

``HONOURED`` lists, for every NumPy function registered in
``dualad.rules.shape``, every parameter of NumPy's signature that dualad
honours, with calls that exercise it (``(args, kwargs)``; every float ndarray
in ``args``, also inside lists and tuples, is traced).  Each call is checked
here: the traced value equals NumPy's (in forward and reverse mode, dtype
included), and float outputs pass ``check_grads`` at order 2; integer outputs
are NumPy's plain values, never traced.  Parameters that dualad refuses are
checked to raise a TypeError naming them.  Named tests after the table pin
the semantics that a table of values cannot show: memory orders that would
read the layout refused, errors raised where NumPy raises them, derivatives at ties, traced
keyword values, and edge inputs (0-d, empty, negative and None axes).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import dualad as ad
from dualad.core import Box
from dualad.testing import check_grads

# ---- tiny inputs ------------------------------------------------------------------------
x0 = np.array(0.7)
x3 = np.array([0.3, -1.2, 2.0])
x4 = np.array([0.3, -1.2, 2.0, 0.9])
x6 = np.array([0.3, -1.2, 2.0, 0.9, -0.4, 1.6])
x13 = np.array([[0.8, -0.1, 1.3]])
x21 = np.array([[0.4], [-1.5]])
x23 = np.array([[0.3, -1.2, 2.0], [1.1, 0.5, -0.7]])
x32 = np.array([[0.6, -0.2], [1.4, -0.9], [0.1, 2.2]])
x123 = x23[None]
x234 = np.linspace(-1.3, 2.1, 24).reshape(2, 3, 4) ** 2 - 1.0
x32f = x32.astype(np.float32)
x22 = np.array([[0.3, 1.7], [-0.6, 0.2]])
ties = np.array([1.0, 0.5, 1.0, 0.5])
i2 = np.array([[2, 0], [1, 1]])

HONOURED = {
    np.reshape: {
        "a": [((x23, (3, 2)), {})],
        "shape": [((x23, (3, -1)), {}), ((x23, 6), {}), ((x0, (1, 1)), {}),
                  ((x23, [1, 6]), {})],
        # 'A' only on arrays whose layout cannot change the answer (one axis longer than 1)
        "order": [((x23, (3, 2)), {"order": "F"}), ((x6, (3, 2)), {"order": "A"}),
                  ((x13, (3, 1)), {"order": "a"}), ((x234, (4, 6)), {"order": "F"}),
                  ((x23, (3, 2)), {"order": "c"})],
        "copy": [((x23, (3, 2)), {"copy": True}), ((x23, (3, 2)), {"copy": False}),
                 ((x23, (3, 2)), {"order": "F", "copy": True})],
    },
    np.ravel: {
        "a": [((x23,), {})],
        "order": [((x23,), {"order": o}) for o in ("C", "F")]
        + [((x, ), {"order": o}) for o in ("A", "K") for x in (x3, x13, x21)]
        + [((x234,), {"order": "F"})],
    },
    np.expand_dims: {
        "a": [((x3, 0), {})],
        "axis": [((x23, -1), {}), ((x23, (0, 2)), {}), ((x0, 0), {}), ((x3, [-1, 0]), {})],
    },
    np.squeeze: {
        "a": [((x123,), {})],
        "axis": [((x123, 0), {}), ((x123, -3), {}), ((x123, (0,)), {}), ((x123, None), {})],
    },
    np.atleast_1d: {"arys": [((x0,), {}), ((x3, x23), {}), ((x0, x3, x234), {})]},
    np.atleast_2d: {"arys": [((x0,), {}), ((x3, x23), {}), ((x0, x3, x234), {})]},
    np.atleast_3d: {"arys": [((x0,), {}), ((x3, x23), {}), ((x0, x3, x234), {})]},
    np.transpose: {
        "a": [((x23,), {})],
        "axes": [((x234, (1, 0, 2)), {}), ((x234, [-1, 0, 1]), {}), ((x234, None), {}),
                 ((x3, 0), {})],
    },
    np.moveaxis: {
        "a": [((x234, 0, -1), {})],
        "source": [((x234, [0, 1], [-1, 0]), {}), ((x234, -1, 0), {})],
        "destination": [((x234, 2, [1]), {}), ((x234, (0, 2), (2, 0)), {})],
    },
    np.swapaxes: {
        "a": [((x234, 0, 2), {})],
        "axis1": [((x234, -1, 0), {})],
        "axis2": [((x23, 1, -2), {}), ((x23, 0, 0), {})],
    },
    np.matrix_transpose: {"x": [((x23,), {}), ((x234,), {})]},
    np.broadcast_to: {
        "array": [((x3, (2, 3)), {})],
        "shape": [((x21, (2, 2, 3)), {}), ((x0, 3), {}), ((x3, [2, 3]), {})],
        "subok": [((x3, (2, 3)), {"subok": True})],
    },
    np.broadcast_arrays: {
        "args": [((x3, x21), {}), ((x0, x23, x13), {})],
        "subok": [((x3, x21), {"subok": True})],
    },
    np.take: {
        "a": [((x23, [0, 4, 4, 1]), {})],
        "indices": [((x23, 1), {}), ((x23, [[0, 2], [1, 1]]), {"axis": 1}),
                    ((x3, np.array([True, False])), {})],
        "axis": [((x23, [1, 0, 1]), {"axis": 0}), ((x23, [-1, 0]), {"axis": -1}),
                 ((x0, [0, 0]), {"axis": 0})],
        "mode": [((x3, [4, -1]), {"mode": "wrap"}), ((x32, [5, -1, 1]), {"axis": 0, "mode": "clip"}),
                 ((x3, [2, -3]), {"mode": "raise"}), ((x3, [5]), {"mode": 0}),
                 ((x3, [5]), {"mode": 1})],
    },
    np.take_along_axis: {
        "arr": [((x23, i2[:, :2]), {})],
        "indices": [((x23, np.array([[2, 0, 0, 1]])), {"axis": 1}),
                    ((x23, np.array([[1], [0]])), {"axis": 1})],
        "axis": [((x23, np.array([[1, 0, 1]])), {"axis": 0}),
                 ((x23, np.array([5, 0, 2])), {"axis": None}),
                 ((x23, np.array([[0, 2]])), {"axis": -1})],
    },
    np.sort: {
        "a": [((x23,), {})],
        "axis": [((x23,), {"axis": 0}), ((x23,), {"axis": None}), ((x234,), {"axis": -2})],
        "kind": [((x6,), {"kind": k}) for k in ("quicksort", "mergesort", "heapsort", "stable")],
        "stable": [((x6,), {"stable": True}), ((x23,), {"stable": False})],
    },
    np.flip: {
        "m": [((x23,), {})],
        "axis": [((x23, 0), {}), ((x234, (0, -1)), {}), ((x23, None), {})],
    },
    np.fliplr: {"m": [((x23,), {}), ((x234,), {})]},
    np.flipud: {"m": [((x3,), {}), ((x23,), {})]},
    np.roll: {
        "a": [((x23, 1), {})],
        "shift": [((x4, -5), {}), ((x23, (1, 2)), {"axis": (0, 1)}), ((x23, (1, 2)), {"axis": 1}),
                  ((x23, 1.9), {})],
        "axis": [((x32, -1), {"axis": 0}), ((x23, 1), {"axis": (1, 1)}), ((x23, 2), {"axis": None}),
                 ((x23, 2), {"axis": -1})],
    },
    np.tile: {
        "A": [((x3, 2), {})],
        "reps": [((x23, (2, 1)), {}), ((x22, (2, 1, 2)), {}), ((x3, (1,)), {}), ((x3, 0), {}),
                 ((x0, 3), {})],
    },
    np.repeat: {
        "a": [((x23, 2), {})],
        "repeats": [((x23, [1, 0, 3]), {"axis": 1}), ((x3, np.array([2])), {})],
        "axis": [((x23, 2), {"axis": 0}), ((x3, 2), {"axis": -1}), ((x0, 3), {"axis": 0})],
    },
    np.concatenate: {
        "arrays": [(([x23, x13],), {}), (((x3, x4, x3),), {})],
        "axis": [(([x23, x22],), {"axis": 1}), (([x3, x4],), {"axis": -1}),
                 (([x22, x3],), {"axis": None})],
        "dtype": [(([x23, x13],), {"dtype": np.float32}),
                  (([x23, x13],), {"dtype": int, "casting": "unsafe"}),
                  (([x32f, x32],), {"dtype": np.float64}),
                  (([x23, x13],), {"dtype": bool, "casting": "unsafe"})],
        "casting": [(([x23, x13],), {"casting": "no"}), (([x23, x13],), {"casting": "equiv"}),
                    (([x32f, x32],), {"casting": "safe"}),
                    (([x32, x32],), {"dtype": np.float32, "casting": "same_kind"})],
    },
    np.stack: {
        "arrays": [(([x23, x23],), {}), (((x0, x0, x0),), {})],
        "axis": [(([x23, x23],), {"axis": -1}), (([x3, x3, x3],), {"axis": 1})],
        "dtype": [(([x3, x3],), {"dtype": np.float32}),
                  (([x3, x3],), {"dtype": int, "casting": "unsafe"})],
        "casting": [(([x3, x3],), {"casting": "no"}),
                    (([x3, x3],), {"dtype": np.float32, "casting": "unsafe"})],
    },
    np.hstack: {
        "tup": [(([x3, x4],), {}), (([x23, x21],), {}), (((x0, x3),), {})],
        "dtype": [(([x3, x4],), {"dtype": np.float32}),
                  (([x3, x4],), {"dtype": int, "casting": "unsafe"})],
        "casting": [(([x3, x4],), {"casting": "equiv"})],
    },
    np.vstack: {
        "tup": [(([x3, x3],), {}), (([x23, x13],), {}), (((x0,),), {})],
        "dtype": [(([x3, x3],), {"dtype": np.float32}),
                  (([x3, x3],), {"dtype": int, "casting": "unsafe"})],
        "casting": [(([x3, x3],), {"casting": "no"})],
    },
    np.column_stack: {"tup": [(([x3, x32],), {}), (((x3, x3),), {}), (([x0],), {})]},
    np.append: {
        "arr": [((x22, x3), {})],
        "values": [((x3, 2.5), {}), ((x3, x22), {})],
        "axis": [((x23, x13), {"axis": 0}), ((x23, x21), {"axis": -1}), ((x3, x3), {"axis": None})],
    },
    np.split: {
        "ary": [((x6, 3), {})],
        "indices_or_sections": [((x6, [1, 3]), {}), ((x6, [4, 2, 9]), {}), ((x6, [-2]), {}),
                                ((x6, 2.0), {})],
        "axis": [((x234, 2), {"axis": -1}), ((x234, [1]), {"axis": 1})],
    },
    np.array_split: {
        "ary": [((x6, 4), {})],
        "indices_or_sections": [((x4, 3), {}), ((x6, [1, 3]), {}), ((x6, 3.0), {})],
        "axis": [((x234, 3), {"axis": 2}), ((x234, [1]), {"axis": -3})],
    },
    np.pad: {
        "array": [((x23, 1), {})],
        "pad_width": [((x23, ((1, 2), (0, 1))), {}), ((x3, (2, 1)), {}), ((x23, [[1], [2]]), {}),
                      ((x23, {1: 2}), {}), ((x23, {0: (0, 1)}), {})],
        "mode": [((x23, ((1, 2), (2, 0))), {"mode": m})
                 for m in ("constant", "edge", "wrap", "reflect", "symmetric")]
        + [((x3, (7, 5)), {"mode": m}) for m in ("wrap", "reflect", "symmetric")],
        "constant_values": [((x23, 1), {"constant_values": 1.5}),
                            ((x23, 2), {"constant_values": (-1.0, 2.0)}),
                            ((x23, 1), {"constant_values": ((1.0, 2.0), (3.0, 4.0))}),
                            ((x23, ((1, 0), (0, 2))), {"mode": "constant", "constant_values": [[-1], [2]]})],
        "reflect_type": [((x23, ((1, 2), (2, 3))), {"mode": "reflect", "reflect_type": "odd"}),
                         ((x3, (7, 5)), {"mode": "symmetric", "reflect_type": "odd"}),
                         ((x4, (9, 6)), {"mode": "reflect", "reflect_type": "odd"}),
                         ((x3, 2), {"mode": "symmetric", "reflect_type": "even"})],
    },
    np.astype: {
        "x": [((x3, np.float32), {})],
        "dtype": [((x3, np.float64), {}), ((x3, int), {}), ((x3, bool), {}),
                  ((x32f, np.float64), {})],
        "copy": [((x3, np.float64), {"copy": False}), ((x3, np.float32), {"copy": False})],
        "device": [((x3, np.float64), {"device": "cpu"})],
    },
    np.copy: {
        "a": [((x23,), {})],
        "order": [((x23,), {"order": o}) for o in ("C", "F", "A", "K")],
        "subok": [((x23,), {"subok": True})],
    },
    np.real: {"val": [((x23,), {}), ((x0,), {})]},
    np.diff: {
        "a": [((x4,), {})],
        "n": [((x4,), {"n": 2}), ((x23,), {"n": 0}), ((x4,), {"n": 5})],
        "axis": [((x23,), {"axis": 0}), ((x234,), {"axis": -2})],
        "prepend": [((x23,), {"prepend": 0.5}), ((x23,), {"prepend": np.array([[1.0, 2.0], [0.0, -1.0]])}),
                    ((x23,), {"prepend": x13, "axis": 0})],
        "append": [((x23,), {"append": -2.0}), ((x23,), {"append": x21, "n": 2})],
    },
}

# (function, parameter, value) refused with a TypeError naming the parameter
REFUSED = [
    (np.take, "out", lambda: {"indices": [0], "out": np.empty(1)}),
    (np.concatenate, "out", lambda: {"out": np.empty(6)}),
    (np.stack, "out", lambda: {"out": np.empty((2, 3))}),
    (np.sort, "order", lambda: {"order": "f0"}),
    (np.pad, "stat_length", lambda: {"pad_width": 1, "mode": "mean", "stat_length": 2}),
    (np.pad, "end_values", lambda: {"pad_width": 1, "mode": "linear_ramp", "end_values": 2.0}),
]

# np.pad's keywords, documented but hidden behind its **kwargs
PAD_KEYWORDS = ["constant_values", "stat_length", "end_values", "reflect_type"]


def _parameter_names(func) -> set:
    params = inspect.signature(func).parameters
    names = {n for n, p in params.items() if p.kind is not inspect.Parameter.VAR_KEYWORD}
    return names | (set(PAD_KEYWORDS) if func is np.pad else set())


# ---- the harness --------------------------------------------------------------------------
def _is_traced_leaf(v) -> bool:
    return type(v) is np.ndarray and v.dtype.kind == "f"


def _leaves(args) -> list:
    out = []
    for a in args:
        if _is_traced_leaf(a):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            out.extend(_leaves(a))
    return out


def _rebuild(args, xs):
    res = []
    for a in args:
        if _is_traced_leaf(a):
            res.append(next(xs))
        elif isinstance(a, (list, tuple)):
            res.append(type(a)(_rebuild(a, xs)))
        else:
            res.append(a)
    return res


def _as_function(func, args, kwargs):
    def f(*xs):
        return func(*_rebuild(args, iter(xs)), **kwargs)
    f.__name__ = func.__name__
    return f


def assert_same(got, want, what=""):
    """Same structure, shapes, dtypes and values (NaN equal to NaN)."""
    if isinstance(want, (list, tuple)):
        assert type(got) is type(want), f"{what}: {type(got).__name__} vs {type(want).__name__}"
        assert len(got) == len(want), what
        for g, w in zip(got, want):
            assert_same(g, w, what)
        return
    assert not isinstance(got, Box), f"{what}: a traced value came back"
    g, w = np.asarray(got), np.asarray(want)
    assert g.shape == w.shape, f"{what}: shape {g.shape} vs NumPy's {w.shape}"
    assert g.dtype == w.dtype, f"{what}: dtype {g.dtype} vs NumPy's {w.dtype}"
    np.testing.assert_array_equal(g, w, err_msg=what)


def _out_leaves(value) -> list:
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _out_leaves(v)]
    return [value]


def check_call(func, args, kwargs, order=2):
    """The traced value is NumPy's in both modes; float outputs pass check_grads;
    other outputs are plain values (no derivative)."""
    want = func(*args, **kwargs)
    f = _as_function(func, args, kwargs)
    leaves = _leaves(args)
    rng = np.random.default_rng(0)
    tangents = tuple(rng.standard_normal(np.shape(x)).astype(x.dtype) for x in leaves)
    what = f"{func.__name__}{args!r:.60}, {kwargs}"
    inner = []

    def spy(*xs):
        out = f(*xs)
        inner.append(out)
        return out
    got, _ = ad.jvp(spy, tuple(leaves), tangents)
    assert_same(got, want, what + " (forward mode)")
    got, _ = ad.vjp(f, *leaves)
    assert_same(got, want, what + " (reverse mode)")
    kinds = {np.asarray(w).dtype.kind for w in _out_leaves(want)}
    for value, w in zip(_out_leaves(inner[0]), _out_leaves(want)):
        if np.asarray(w).dtype.kind != "f":
            assert not isinstance(value, Box), f"{what}: an integer output is traced"
    if "f" in kinds and sum(np.size(w) for w in _out_leaves(want)) and leaves:
        low = any(np.asarray(w).dtype.itemsize < 8 and np.asarray(w).dtype.kind == "f"
                  for w in _out_leaves(want)) or any(x.dtype != np.float64 for x in leaves)
        # shape functions are linear: a large step is exact, and float32 needs it
        tol = dict(eps=1e-2, atol=1e-4, rtol=1e-4) if low else {}
        check_grads(lambda *xs: [w for w in _out_leaves(f(*xs))
                                 if np.result_type(ad.core.primal(w)).kind == "f"],
                    tuple(leaves), order=order, **tol)


CALLS = [(func, name, args, kwargs)
         for func, params in HONOURED.items()
         for name, calls in params.items()
         for args, kwargs in calls]


def _call_id(call):
    func, name, args, kwargs = call
    return f"{func.__name__}-{name}-{'-'.join(f'{k}={v!r}' for k, v in kwargs.items())}"


@pytest.mark.parametrize("call", CALLS, ids=[f"{i}-{_call_id(c)}"[:90] for i, c in enumerate(CALLS)])
def test_honoured_call(call):
    func, _, args, kwargs = call
    check_call(func, args, kwargs)


def _array_functions_table() -> dict:
    """The HONOURED table of tests/test_array_functions.py (the structure
    functions kron, meshgrid, block, ...), walked by tests/test_keywords.py."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).parent / "test_array_functions.py"
    spec = importlib.util.spec_from_file_location("_array_functions_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.HONOURED


def test_table_covers_every_parameter_of_every_registered_function():
    from dualad.core import FUNCTION_RULES
    import dualad.rules.shape as shape
    registered = {f for f, rule in FUNCTION_RULES.items()
                  if getattr(rule, "__module__", None) == shape.__name__}
    registered -= set(_array_functions_table())  # (kron, block, ...: their table is there)
    assert registered <= set(HONOURED), sorted(f.__name__ for f in registered - set(HONOURED))
    refused = {(f, p) for f, p, _ in REFUSED}
    for func, params in HONOURED.items():
        names = _parameter_names(func)
        assert set(params) <= names, (func.__name__, set(params) - names)
        missing = {p for p in names - set(params) if (func, p) not in refused}
        assert not missing, (func.__name__, missing)
        for name, calls in params.items():
            assert calls, (func.__name__, name)


@pytest.mark.parametrize("func, parameter, kwargs", REFUSED,
                         ids=[f"{f.__name__}-{p}" for f, p, _ in REFUSED])
def test_refused_parameter_names_itself(func, parameter, kwargs):
    kwargs = kwargs()
    arrays = func in (np.concatenate, np.stack)

    def f(x):
        return func([x, x] if arrays else x, **kwargs)
    with pytest.raises(TypeError, match=parameter):
        ad.jvp(f, (x3,), (x3,))
    with pytest.raises(TypeError, match=parameter):
        ad.vjp(f, x3)


# ---- memory orders: 'C' and 'F' exact, 'A' and 'K' refused where the layout matters --------------
LAYOUTS = {
    "C": lambda x: x,
    "transposed": lambda x: x.T,
    "reversed": lambda x: x[::-1],
    "strided": lambda x: x[:, ::2],
    "transposed-reversed": lambda x: x.T[::-1, ::-2],
    "fortran-copy": lambda x: np.copy(x, order="F"),
    "broadcast": lambda x: np.broadcast_to(x[:1], x.shape),
    "3d-mixed": lambda x: np.reshape(x, (2, 2, 3)).transpose(2, 0, 1)[:, ::-1],
    "rolled-transposed": lambda x: np.roll(x.T, 1, axis=0),  # C-contiguous in dualad, not NumPy
    "sorted-transposed": lambda x: np.sort(x.T, axis=0),
}

# the layouts of one axis longer than 1, where every order reads the same sequence
LAYOUT_FREE = {
    "row": lambda x: x[1],
    "reversed-column": lambda x: x[::-2, 1],
    "transposed-row": lambda x: x[:1].T,
    "broadcast-1d": lambda x: np.broadcast_to(x[0, :1], (5,)),
    "rolled-column": lambda x: np.roll(x[:, :1], 1, axis=0),
    "0-d": lambda x: x[0, 0],
    "empty": lambda x: x[:0].T,
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("func, kwargs", [
    (np.ravel, {"order": "C"}), (np.ravel, {"order": "F"}),
    (np.reshape, {"shape": (-1, 2), "order": "C"}), (np.reshape, {"shape": (2, -1), "order": "F"}),
], ids=["ravel-C", "ravel-F", "reshape-C", "reshape-F"])
def test_orders_C_and_F_are_exact_on_every_layout(layout, func, kwargs):
    x = np.linspace(-1.0, 2.0, 12).reshape(4, 3)
    make = LAYOUTS[layout]
    f = lambda x: func(make(x), **kwargs)
    assert_same(ad.jvp(f, (x,), (x,))[0], f(x), layout)
    check_grads(f, (x,), order=2)


ORDER_READERS = {
    "ravel-A": (lambda y: np.ravel(y, order="A"), "numpy.ravel"),
    "ravel-K": (lambda y: np.ravel(y, order="K"), "numpy.ravel"),
    "ravel-k": (lambda y: np.ravel(y, order="k"), "numpy.ravel"),
    "flatten-A": (lambda y: y.flatten("A"), "numpy.ravel"),
    "flatten-K": (lambda y: y.flatten(order="K"), "numpy.ravel"),
    "reshape-A": (lambda y: np.reshape(y, (-1, 1), order="A"), "numpy.reshape"),
    "reshape-method-A": (lambda y: y.reshape(-1, order="A"), "numpy.reshape"),
    "reshape-A-copy": (lambda y: np.reshape(y, -1, order="A", copy=True), "numpy.reshape"),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("reader", list(ORDER_READERS))
def test_orders_A_and_K_refused_where_the_layout_matters(layout, reader):
    """dualad's values are not laid out as NumPy's (a composed rule such as
    roll or sort makes a new C-contiguous array), so 'A' and 'K' on an array
    of two axes longer than 1 are refused rather than answered from the
    wrong strides."""
    read, function = ORDER_READERS[reader]
    x = np.linspace(-1.0, 2.0, 12).reshape(4, 3)
    f = lambda x: read(LAYOUTS[layout](x))
    f(x)  # NumPy answers
    for run in (lambda: ad.jvp(f, (x,), (x,)), lambda: ad.vjp(f, x), lambda: ad.grad(
            lambda x: np.sum(f(x)))(x)):
        with pytest.raises(TypeError, match=rf"order=.*{function}.*memory layout.*'C'.*'F'"):
            run()


def test_the_reported_silently_wrong_layout_read_is_refused():
    x = np.arange(6.0).reshape(2, 3)
    f = lambda x: np.ravel(np.roll(x.T, 1, axis=0), order="K")
    np.testing.assert_array_equal(f(x), [2, 0, 1, 5, 3, 4])
    with pytest.raises(TypeError, match="order"):
        ad.jvp(f, (x,), (x,))
    # 'C' and 'F' give NumPy's values on the same array
    for order in ("C", "F"):
        g = lambda x: np.ravel(np.roll(x.T, 1, axis=0), order=order)
        assert_same(ad.jvp(g, (x,), (x,))[0], g(x), order)


@pytest.mark.parametrize("layout", list(LAYOUT_FREE))
@pytest.mark.parametrize("reader", list(ORDER_READERS))
def test_orders_A_and_K_honoured_where_the_layout_cannot_matter(layout, reader):
    read, _ = ORDER_READERS[reader]
    f = lambda x: read(LAYOUT_FREE[layout](x))
    assert_same(ad.jvp(f, (x23,), (x23,))[0], f(x23), layout)
    assert_same(ad.vjp(f, x23)[0], f(x23), layout)
    check_grads(f, (x23,), order=2)


def test_orders_A_and_K_on_random_layouts():
    """Honoured, with NumPy's values, exactly where at most one axis is
    longer than 1 (or there are no entries); refused everywhere else."""
    rng = np.random.default_rng(3)
    base = np.arange(1.0, 1.0 + 6 * 6 * 6).reshape(6, 6, 6) / 7.0
    honoured = 0
    for _ in range(200):
        nd = int(rng.integers(1, 4))
        perm = tuple(rng.permutation(3)[:nd])
        steps = tuple(int(rng.choice([1, 2, -1, -3])) for _ in range(nd))
        stops = tuple(int(rng.choice([0, 1, 1, 2, 3])) for _ in range(nd))
        order = str(rng.choice(["A", "K"]))

        def view(x, perm=perm, steps=steps, stops=stops):
            y = np.transpose(x, perm + tuple(a for a in range(3) if a not in perm))
            y = y[tuple(slice(None, None, s) for s in steps)]
            return y[tuple(slice(0, s) for s in stops)]
        f = lambda x, view=view, order=order: np.ravel(view(x), order=order)
        shape = view(base).shape
        if sum(n > 1 for n in shape) <= 1 or 0 in shape:
            honoured += 1
            assert_same(ad.jvp(f, (base,), (base,))[0], f(base), (perm, steps, stops, order))
        else:
            with pytest.raises(TypeError, match="order"):
                ad.jvp(f, (base,), (base,))
    assert 20 < honoured < 180


def test_a_fortran_copy_read_with_order_A_is_refused():
    # np.copy(order='F') gives NumPy a Fortran array, which 'A' would read in F order
    def f(x):
        return np.ravel(np.copy(x, order="F"), order="A")
    np.testing.assert_array_equal(f(x23), x23.ravel("F"))
    with pytest.raises(TypeError, match="order"):
        ad.jvp(f, (x23,), (x23,))


def test_order_validation_as_numpy():
    for order, error in [("X", ValueError), ("Fortran", ValueError), (1, TypeError), ("", ValueError)]:
        for func in (np.ravel, lambda x, order: np.reshape(x, -1, order=order),
                     lambda x, order: np.copy(x, order=order),
                     lambda x, order: x.astype(float, order=order)):
            with pytest.raises(error):
                func(x23, order=order)
            with pytest.raises(error):
                ad.jvp(lambda x: func(x, order=order), (x23,), (x23,))
    with pytest.raises(ValueError, match="not permitted"):
        ad.jvp(lambda x: np.reshape(x, -1, order="K"), (x23,), (x23,))
    for order in ("f", b"F", None):  # NumPy takes either case, bytes, and None (= C)
        f = lambda x: np.reshape(x, (3, 2), order=order) + np.ravel(x, order=order)[:, None][:3]
        assert_same(ad.jvp(f, (x23,), (x23,))[0], f(x23))


# ---- reshape's copy= and the removed newshape= --------------------------------------------
def test_reshape_copy_false_raises_where_numpy_must_copy():
    f = lambda x: np.reshape(x.T, (6,), copy=False)
    with pytest.raises(ValueError, match="copy"):
        f(x23)
    with pytest.raises(ValueError, match="copy"):
        ad.jvp(f, (x23,), (x23,))
    with pytest.raises(ValueError, match="copy"):
        ad.vjp(f, x23)
    # a view is possible: no error, NumPy's value
    g = lambda x: np.reshape(x.T, (3, 2, 1), copy=False)
    assert_same(ad.jvp(g, (x23,), (x23,))[0], g(x23))
    check_grads(g, (x23,), order=2)


def test_reshape_copy_true_returns_a_new_array():
    out, _ = ad.jvp(lambda x: np.reshape(x, (3, 2), copy=True), (x23,), (x23,))
    assert not np.shares_memory(out, x23)
    np.testing.assert_array_equal(out, x23.reshape(3, 2))


def test_reshape_newshape_is_refused_as_numpy_2_4_refuses_it():
    with pytest.raises(TypeError, match="newshape"):
        np.reshape(x23, newshape=(6,))
    with pytest.raises(TypeError, match="newshape"):
        ad.jvp(lambda x: np.reshape(x, newshape=(6,)), (x23,), (x23,))


def test_reshape_shape_errors_are_numpys():
    for shape in [(4, -1), (-1, -1), (-2, -3), (5,)]:
        with pytest.raises(ValueError):
            np.reshape(x6, shape)
        with pytest.raises(ValueError):
            ad.jvp(lambda x: np.reshape(x, shape), (x6,), (x6,))
    with pytest.raises(TypeError):
        ad.jvp(lambda x: np.reshape(x, 2.0), (x6,), (x6,))


# ---- sort: kind, stable and the derivative at ties --------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"stable": True}, {"kind": "stable"}, {"kind": "heapsort"},
                                    {"kind": "quicksort"}, {"kind": "mergesort"}])
def test_sort_derivative_at_ties_follows_numpys_argsort(kwargs):
    """The values are NumPy's; where entries tie, the derivative of each
    sorted entry is that of the input entry NumPy's argsort (same kind and
    stable) puts there."""
    perm = np.argsort(ties, **kwargs)
    for i in range(len(ties)):
        g = ad.grad(lambda x: np.sort(x, **kwargs)[i])(ties)
        np.testing.assert_array_equal(g, np.eye(len(ties))[perm[i]])
    out, t = ad.jvp(lambda x: np.sort(x, **kwargs), (ties,), (np.arange(4.0),))
    assert_same(out, np.sort(ties, **kwargs))
    np.testing.assert_array_equal(t, np.arange(4.0)[perm])


def test_sort_stable_keeps_equal_entries_in_order():
    g = ad.jacfwd(lambda x: np.sort(x, stable=True))(ties)
    np.testing.assert_array_equal(g, np.eye(4)[[1, 3, 0, 2]])


def test_sort_errors_as_numpy():
    with pytest.raises(ValueError):
        ad.jvp(lambda x: np.sort(x, kind="stable", stable=True), (x3,), (x3,))
    with pytest.raises(ValueError):
        ad.jvp(lambda x: np.sort(x, kind="bogus"), (x3,), (x3,))
    with pytest.raises(np.exceptions.AxisError):
        ad.jvp(lambda x: np.sort(x), (x0,), (x0,))


# ---- astype (the method), np.astype, asarray_chkfinite, copy, real -----------------------------------
def test_astype_method_dtypes():
    check_grads(lambda x: x.astype(np.float32), (x3,), order=2, eps=1e-2, atol=1e-4, rtol=1e-4)
    out, t = ad.jvp(lambda x: x.astype(np.float32), (x3,), (x3,))
    assert out.dtype == np.float32 and t.dtype == np.float32
    np.testing.assert_array_equal(out, x3.astype(np.float32))
    for dtype in (int, np.int8, bool, np.uint16):
        seen = []

        def f(x):
            y = x.astype(dtype)
            seen.append(y)
            return x * 0 + np.sum(y)
        ad.jvp(f, (x3,), (x3,))
        assert not isinstance(seen[0], Box)
        assert_same(seen[0], x3.astype(dtype))
        np.testing.assert_array_equal(ad.grad(lambda x: np.sum(x.astype(dtype) * 1.0))(x3), 0.0)
    # complex: computed in it; back to real keeps the real part, as NumPy
    out, t = ad.jvp(lambda x: np.astype(x, np.complex64), (x3,), (x3,))
    assert out.dtype == t.dtype == np.complex64
    np.testing.assert_array_equal(t, x3.astype(np.complex64))
    z3 = x3 + 2j * x3[::-1]
    with pytest.warns(np.exceptions.ComplexWarning):
        out, t = ad.jvp(lambda z: z.astype(np.float64), (z3,), (1j * z3,))
    np.testing.assert_array_equal(out, x3)
    np.testing.assert_array_equal(t, np.real(1j * z3))
    g = ad.grad(lambda x: np.sum(np.abs(x.astype(complex) * (1 + 1j)) ** 2))(x3)
    np.testing.assert_allclose(g, 4 * x3)  # |x (1 + i)|² = 2 x²


@pytest.mark.parametrize("kwargs", [{"order": "F"}, {"order": "C"}, {"order": "A"}, {"order": "K"},
                                    {"casting": "same_kind"}, {"casting": "unsafe"},
                                    {"subok": False}, {"copy": False}, {"copy": True}])
def test_astype_method_keywords(kwargs):
    f = lambda x: np.ravel(x.T.astype(np.float64, **kwargs))
    assert_same(ad.jvp(f, (x23,), (x23,))[0], f(x23))
    check_grads(f, (x23,), order=2)


def test_astype_casting_errors_are_numpys():
    for dtype, casting in [(np.float32, "safe"), (np.float32, "equiv"), (np.float32, "no"),
                           (int, "same_kind")]:
        with pytest.raises(TypeError, match="Cannot cast"):
            x23.astype(dtype, casting=casting)
        with pytest.raises(TypeError, match="Cannot cast"):
            ad.jvp(lambda x: x.astype(dtype, casting=casting), (x23,), (x23,))
    with pytest.raises(ValueError):
        ad.jvp(lambda x: x.astype(np.float32, casting="bogus"), (x23,), (x23,))
    with pytest.raises(TypeError, match="bogus"):
        ad.jvp(lambda x: x.astype(np.float32, bogus=1), (x23,), (x23,))


def test_np_astype_device_as_numpy():
    with pytest.raises(ValueError, match="Device"):
        ad.jvp(lambda x: np.astype(x, np.float64, device="gpu"), (x3,), (x3,))


def test_asarray_chkfinite_refuses_traced_values():
    """np.asarray_chkfinite does not dispatch through __array_function__: it
    converts its input with np.asarray, so dualad cannot trace it and says
    so by name (it never passes a value through unchecked)."""
    for x in (x3, np.array([1.0, np.inf])):
        with pytest.raises(TypeError, match="asarray_chkfinite"):
            ad.jvp(np.asarray_chkfinite, (x,), (x,))


def test_every_registration_dispatches():
    """A registration for a function that does not dispatch through
    __array_function__ would never be called."""
    from dualad.core import FUNCTION_RULES
    import dualad.rules.shape as shape
    for f, rule in FUNCTION_RULES.items():
        if getattr(rule, "__module__", None) == shape.__name__:
            assert hasattr(f, "_implementation"), f


def test_copy_order_and_subok():
    for order in ("C", "F", "A", "K"):
        f = lambda x: np.ravel(np.copy(x.T[::-1], order=order), order="F")
        assert_same(ad.jvp(f, (x23,), (x23,))[0], f(x23), order)
        check_grads(f, (x23,), order=2)


def test_real_of_real_values():
    check_grads(lambda x: np.real(x) * x, (x3,), order=2)


# ---- concatenate and friends: dtype, casting, out -------------------------------------------------
@pytest.mark.parametrize("func", [np.concatenate, np.stack, np.hstack, np.vstack])
def test_joins_casting_errors_are_numpys(func):
    for kwargs in [{"dtype": int}, {"dtype": np.float32, "casting": "safe"},
                   {"dtype": np.float32, "casting": "no"}, {"casting": "bogus"}]:
        try:
            func([x3, x3], **kwargs)
        except Exception as exc:  # noqa: BLE001 -- the class NumPy raises is the claim
            expected = type(exc)
        else:  # pragma: no cover
            raise AssertionError(f"NumPy accepted {kwargs}")
        with pytest.raises(expected):
            ad.jvp(lambda x: func([x, x], **kwargs), (x3,), (x3,))
    out, t = ad.jvp(lambda x: func([x, x], dtype=complex), (x3,), (x3,))
    assert out.dtype == t.dtype == np.complex128
    assert_same(out, func([x3, x3], dtype=complex))
    np.testing.assert_array_equal(t, func([x3, x3], dtype=complex))  # a linear function of x
    # mixed float32 and float64 under casting='no'
    with pytest.raises(TypeError, match="Cannot cast"):
        ad.jvp(lambda x: func([x, x.astype(np.float32)], casting="no"), (x3,), (x3,))


def test_concatenate_float32_computes_in_float32_with_traced_and_constant_inputs():
    f = lambda x: np.concatenate([x, np.ones(2), x32f[0]], dtype=np.float32)
    out, t = ad.jvp(f, (x3,), (x3,))
    assert out.dtype == np.float32 and t.dtype == np.float32
    assert_same(out, f(x3))
    f2 = lambda x: np.concatenate([x.astype(np.float32), 1.0], axis=None)  # weak scalar: float32
    assert_same(ad.jvp(f2, (x3,), (x3,))[0], f2(x3))


def test_stack_shapes_must_match_as_numpy():
    with pytest.raises(ValueError, match="same shape"):
        ad.jvp(lambda x: np.stack([x, x[:2]]), (x3,), (x3,))


def test_traced_inputs_in_any_position():
    f = lambda x: (np.concatenate([np.zeros(2), x]), np.stack([1.0, x[0]]), np.append([1.0, 2.0], x),
                   np.column_stack([[1.0, 2.0, 3.0], x]), np.hstack([0.5, x]), np.vstack([x, [1, 2, 3]]))
    assert_same(ad.jvp(f, (x3,), (x3,))[0], f(x3))
    check_grads(f, (x3,), order=2)


# ---- pad -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["constant", "edge", "wrap", "reflect", "symmetric"])
@pytest.mark.parametrize("width", [0, 1, ((2, 0), (3, 1)), ((5, 7), (0, 4)), ((1, 9), (8, 2))])
def test_pad_modes_as_numpy(mode, width):
    kinds = [{}] if mode not in ("reflect", "symmetric") else [{"reflect_type": "even"},
                                                              {"reflect_type": "odd"},
                                                              {"reflect_type": "anything-else"}]
    for kw in kinds:
        for x in (x23, x13, x32):
            f = lambda x: np.pad(x, width, mode=mode, **kw)
            assert_same(ad.jvp(f, (x,), (x,))[0], f(x), f"{mode} {width} {kw} {x.shape}")
        check_grads(f, (x23,), order=2)


def test_pad_traced_constant_values():
    def f(x, c):
        return (np.pad(x, 1, constant_values=c[0]),
                np.pad(x, ((1, 0), (2, 1)), constant_values=(c[0], c[1])),
                np.pad(x, ((1, 2), (2, 1)), constant_values=((c[0], 1.5), (c[1], c[0] * c[1]))),
                np.pad(x, 2, constant_values=c),
                np.pad(x, ((1, 0), (0, 2)), constant_values=np.stack([c, c[::-1]])))
    c = np.array([0.25, -3.0])
    want = [np.pad(x23, 1, constant_values=0.25),
            np.pad(x23, ((1, 0), (2, 1)), constant_values=(0.25, -3.0)),
            np.pad(x23, ((1, 2), (2, 1)), constant_values=((0.25, 1.5), (-3.0, -0.75))),
            np.pad(x23, 2, constant_values=c),
            np.pad(x23, ((1, 0), (0, 2)), constant_values=np.stack([c, c[::-1]]))]
    assert_same(list(ad.jvp(f, (x23, c), (x23, c))[0]), [w for w in want])
    check_grads(f, (x23, c), order=2)
    # the value is cast to the array's dtype, as NumPy assigns it
    g = lambda x, c: np.pad(x.astype(np.float32), 1, constant_values=c[0] / 3)
    out, _ = ad.jvp(g, (x23, c), (x23, c))
    assert_same(out, np.pad(x23.astype(np.float32), 1, constant_values=c[0] / 3))


def test_pad_constant_values_none_and_pad_width_checks_as_numpy():
    f = lambda x: np.pad(x, 1, constant_values=None)
    assert_same(ad.jvp(f, (x23,), (x23,))[0], f(x23))
    for width, error in [(1.0, TypeError), (-1, ValueError), (((1, -1), (0, 0)), ValueError),
                         (((1, 2, 3),), ValueError)]:
        with pytest.raises(error):
            np.pad(x23, width)
        with pytest.raises(error):
            ad.jvp(lambda x: np.pad(x, width), (x23,), (x23,))


@pytest.mark.parametrize("mode", ["mean", "maximum", "minimum", "median", "linear_ramp", "empty"])
def test_pad_other_modes_refused(mode):
    with pytest.raises(TypeError, match="mode"):
        ad.jvp(lambda x: np.pad(x, 1, mode=mode), (x23,), (x23,))
    with pytest.raises(TypeError, match="mode"):
        ad.jvp(lambda x: np.pad(x, 1, mode=lambda *a: None), (x23,), (x23,))


def test_pad_keywords_checked_as_numpy():
    for mode, kwargs in [("edge", {"constant_values": 1}), ("constant", {"foo": 1}),
                         ("reflect", {"foo": 2}), ("wrap", {"reflect_type": "odd"})]:
        with pytest.raises(ValueError, match="unsupported keyword"):
            np.pad(x23, 1, mode=mode, **kwargs)
        with pytest.raises(ValueError, match="unsupported keyword"):
            ad.jvp(lambda x: np.pad(x, 1, mode=mode, **kwargs), (x23,), (x23,))
    with pytest.raises(ValueError, match="not supported"):
        ad.jvp(lambda x: np.pad(x, 1, mode="bogus"), (x23,), (x23,))
    # the keywords of the modes dualad refuses are refused by name with any mode
    for mode in ("constant", "mean", "linear_ramp"):
        for keyword in ("stat_length", "end_values"):
            with pytest.raises(TypeError, match=keyword):
                ad.jvp(lambda x: np.pad(x, 1, mode=mode, **{keyword: 1}), (x23,), (x23,))


def test_pad_empty_axes_as_numpy():
    e = np.zeros((0, 3))
    for mode in ("edge", "wrap", "reflect", "symmetric"):
        for width in (((0, 0), (1, 2)), ((1, 0), (0, 0))):
            try:
                want = np.pad(e, width, mode=mode)
            except ValueError:
                with pytest.raises(ValueError, match="empty axis"):
                    ad.jvp(lambda x: np.pad(x, width, mode=mode), (e,), (e,))
            else:
                assert_same(ad.jvp(lambda x: np.pad(x, width, mode=mode), (e,), (e,))[0], want)


# ---- diff ----------------------------------------------------------------------------------------
def test_diff_prepend_none_refused():
    with pytest.raises(TypeError):
        np.diff(x3, prepend=None)
    for kw in ({"prepend": None}, {"append": None}):
        with pytest.raises(TypeError, match=next(iter(kw))):
            ad.jvp(lambda x: np.diff(x, **kw), (x3,), (x3,))


def test_diff_traced_prepend_and_append():
    f = lambda x, p: (np.diff(x, prepend=p[0]), np.diff(x, append=p, n=2), np.diff(p, prepend=x[:2]))
    p = np.array([0.4, -0.8])
    assert_same(ad.jvp(f, (x3, p), (x3, p))[0], f(x3, p))
    check_grads(f, (x3, p), order=2)


def test_diff_errors_as_numpy():
    for kwargs, error in [({"n": -1}, ValueError), ({"n": 1.5}, TypeError), ({"axis": 2}, ValueError),
                          ({"prepend": np.zeros((3, 1))}, ValueError)]:
        with pytest.raises(error):
            np.diff(x23, **kwargs)
        with pytest.raises(error):
            ad.jvp(lambda x: np.diff(x, **kwargs), (x23,), (x23,))
    with pytest.raises(ValueError, match="at least one dimensional"):
        ad.jvp(np.diff, (x0,), (x0,))


# ---- regressions: silently wrong results found by this audit ---------------------------------------
def test_regressions_against_numpy():
    cases = [
        lambda x: np.roll(x, (1, 2), axis=0),             # shifts of one axis add up
        lambda x: np.roll(x, 1.7, axis=-1),               # int(shift), as NumPy
        lambda x: np.take_along_axis(x, np.array([[1], [0]]), axis=1),
        lambda x: np.take_along_axis(x, np.array([[2, 0]]), axis=-1),  # indices broadcast
        lambda x: np.take(x, np.array([True, False, True])),  # booleans are 1 and 0, not a mask
        lambda x: np.diff(x, prepend=np.zeros((2, 2))),   # a 2-column prepend is joined as is
        lambda x: np.array_split(x, 2.0, axis=1),         # a float number of sections
        lambda x: np.repeat(x[0, 0], 2, axis=0),          # a 0-d array repeats as 1-d
        lambda x: np.take(x[0, 0], [0, 0], axis=0),
        lambda x: np.take(x, [1.7, 0.2], axis=1),       # a list of floats is converted, as NumPy
        lambda x: np.repeat(x, 2.5),                     # so is a Python float
    ]
    for f in cases:
        assert_same(ad.jvp(f, (x23,), (x23,))[0], f(x23))
        check_grads(f, (x23,), order=2)


@pytest.mark.parametrize("f", [
    lambda x: np.transpose(x, (0, 3)),        # was wrapped modulo ndim
    lambda x: np.transpose(x, (0, 0)),
    lambda x: np.transpose(x, (True, False)),
    lambda x: np.moveaxis(x, 0, 5),
    lambda x: np.moveaxis(x, [0, 1], [1]),
    lambda x: np.swapaxes(x, 0, 2),
    lambda x: np.expand_dims(x, 4),           # was appended silently
    lambda x: np.expand_dims(x, (0, 0)),
    lambda x: np.squeeze(x, 1),
    lambda x: np.squeeze(x, [0]),
    lambda x: np.split(x, [1.5], axis=1),     # float indices: NumPy's slices refuse them
    lambda x: np.split(x, 2, axis=1),
    lambda x: np.array_split(x, 0),
    lambda x: np.flip(x, (0, 0)),
    lambda x: np.fliplr(x[0]),
    lambda x: np.flipud(x[0, 0]),
    lambda x: np.matrix_transpose(x[0]),
    lambda x: np.roll(x, [[1]], axis=0),
    lambda x: np.take(x, [7]),
    lambda x: np.take(x, [0], mode="c"),
    lambda x: np.take(x, [0], mode=True),
    lambda x: np.take(x, np.array([0.0])),  # an array of floats, not a list, is refused
    lambda x: np.take_along_axis(x, np.array([0, 1]), axis=1),
    lambda x: np.take_along_axis(x, np.array([[0.0]]), axis=1),
    lambda x: np.take_along_axis(x, np.array([[0]]), axis=None),
    lambda x: np.repeat(x, 2, axis=2),
    lambda x: np.repeat(x, np.array([2.0])),
    lambda x: np.tile(x, (1, -1)),
    lambda x: np.broadcast_to(x, ()),
    lambda x: np.broadcast_to(x, (3, 3)),
    lambda x: np.broadcast_arrays(x, x[:, :2]),
    lambda x: np.concatenate([x, x[0]]),
    lambda x: np.concatenate([x[0, 0], x[0, 0]]),
    lambda x: np.stack([x, x], axis=3),
    lambda x: np.append(x, x[0], axis=0),
], ids=lambda f: "")
def test_errors_where_numpy_raises(f):
    try:
        f(x23)
    except Exception as exc:  # noqa: BLE001 -- the class NumPy raises is the claim
        expected = type(exc)
    else:  # pragma: no cover
        raise AssertionError("NumPy accepted the call")
    with pytest.raises(expected):
        ad.jvp(f, (x23,), (x23,))
    with pytest.raises(expected):
        ad.vjp(f, x23)


# ---- indexing with booleans and empty sequences ------------------------------------------------
ALL = slice(None)  # x[:]
BOOL_AND_EMPTY_KEYS = [
    True, False, np.True_, np.False_, (True, 0), (0, True), (True, True), (True, False),
    (ALL, 0, ALL, True),  # a 0-d mask is an advanced index: apart from 0, NumPy moves both to the front
    (ALL, True, 0), (..., True), (True, ..., 0), (None, True, 0), (True, [0, 1]),
    (np.True_, ALL, [2, 0]), (np.array(True), 1),
    [], [[]], [[], []], ([], 0), (0, []), ((0, 1),), [True, False],
]


@pytest.mark.parametrize("key", BOOL_AND_EMPTY_KEYS, ids=repr)
def test_bool_and_empty_list_indices_as_numpy(key):
    """A bool is a 0-d mask (a new axis of length 1 or 0), not the integer 1
    or 0; an empty list is an integer index array of length 0."""
    f = lambda x: x[key]
    want = f(x234)
    assert_same(ad.jvp(f, (x234,), (x234,))[0], want, repr(key))
    assert_same(ad.vjp(f, x234)[0], want, repr(key))
    # batched tangents and forward-over-reverse put the advanced axes where NumPy does
    np.testing.assert_array_equal(ad.jacfwd(f)(x234), ad.jacrev(f)(x234))
    check_grads(lambda x: np.sum(f(x) ** 3) + x[0, 0, 0], (x234,), order=2)
    if want.size:
        check_grads(f, (x234,), order=2)


def test_false_index_has_zero_gradient():
    for key in (False, np.False_, (False, 0), [], (0, [])):
        g = ad.grad(lambda x: np.sum(x[key] ** 2))(x23)
        assert_same(g, np.zeros_like(x23), repr(key))


def test_true_index_adds_an_axis():
    out, t = ad.jvp(lambda x: x[True] * 2.0, (x3,), (np.ones(3),))
    assert_same(out, x3[None] * 2.0)
    assert_same(t, np.full((1, 3), 2.0))
    assert_same(ad.grad(lambda x: np.sum(x[True, 1:]))(x3), np.array([0.0, 1.0, 1.0]))


# ---- edge inputs: 0-d, empty, negative axes, axis=None --------------------------------------------
E0 = np.zeros((0,))
E03 = np.zeros((0, 3))
E20 = np.zeros((2, 0))
E230 = np.zeros((2, 3, 0))
EDGE = [
    (np.reshape, (x0, ()), {}), (np.reshape, (x0, -1), {}), (np.reshape, (E03, (-1, 3)), {}),
    (np.reshape, (E03, (3, 0, 5)), {"order": "F"}), (np.reshape, (E03, (0, -1)), {}),
    (np.ravel, (x0,), {"order": "K"}), (np.ravel, (E20,), {"order": "F"}),
    (np.ravel, (E03,), {"order": "A"}), (np.ravel, (E230,), {"order": "K"}),
    (np.reshape, (E230,), {"shape": (3, 0, 2), "order": "A"}),
    (np.expand_dims, (x0, (0, -1)), {}), (np.expand_dims, (E03, -2), {}),
    (np.squeeze, (x0,), {}), (np.squeeze, (E03[None],), {"axis": 0}),
    (np.atleast_1d, (x0, E0), {}), (np.atleast_2d, (E0,), {}), (np.atleast_3d, (E03,), {}),
    (np.transpose, (x0,), {}), (np.transpose, (x0, ()), {}), (np.transpose, (E03,), {}),
    (np.moveaxis, (E03, -1, 0), {}), (np.swapaxes, (x0, 0, 0), {}), (np.swapaxes, (E03, -1, -2), {}),
    (np.matrix_transpose, (E03,), {}),
    (np.broadcast_to, (x0, (2, 0)), {}), (np.broadcast_to, (E0, (3, 0)), {}),
    (np.broadcast_arrays, (x0, E03), {}),
    (np.take, (x0, 0), {}), (np.take, (E03, []), {"axis": 1}), (np.take, (E03, [0]), {"axis": 0}),
    (np.take, (E03, [0]), {"axis": 0, "mode": "clip"}), (np.take, (x23, []), {"axis": None}),
    (np.take_along_axis, (x0, np.array(0)), {}),
    (np.take_along_axis, (E03, np.zeros((0, 1), int)), {"axis": 1}),
    (np.sort, (x0,), {"axis": None}), (np.sort, (E03,), {"axis": 0}), (np.sort, (E0,), {}),
    (np.flip, (x0,), {}), (np.flip, (E03,), {"axis": -1}), (np.flip, (x0,), {"axis": 0}),
    (np.fliplr, (E03,), {}), (np.flipud, (E0,), {}),
    (np.roll, (x0, 1), {}), (np.roll, (E03, 2), {"axis": 1}), (np.roll, (E03, 2), {}),
    (np.roll, (x0, 1), {"axis": 0}),
    (np.tile, (x0, ()), {}), (np.tile, (E03, (2, 1)), {}), (np.tile, (x3, (0, 2)), {}),
    (np.repeat, (x0, 0), {}), (np.repeat, (E03, 2), {"axis": -1}), (np.repeat, (x3, [0, 0, 0]), {}),
    (np.concatenate, ([E03, x23],), {}), (np.concatenate, ([x0, x0],), {"axis": None}),
    (np.concatenate, ([E0],), {"axis": 0}),
    (np.stack, ([x0],), {"axis": -1}), (np.stack, ([E03, E03],), {"axis": -2}),
    (np.hstack, ([E0, x0],), {}), (np.vstack, ([E03, x23],), {}), (np.column_stack, ([E0, E0],), {}),
    (np.append, (x0, x0), {}), (np.append, (E03, x13), {"axis": 0}),
    (np.split, (E03, 3), {"axis": 1}), (np.split, (E0, [0, 0]), {}), (np.array_split, (E03, 4), {}),
    (np.split, (x0, 1), {}),
    (np.pad, (x0, 2), {}), (np.pad, (x0, 1), {"mode": "edge"}), (np.pad, (E03, 1), {}),
    (np.pad, (x3, ((0, 0),)), {"mode": "reflect"}), (np.pad, (x0[None], 3), {"mode": "reflect"}),
    (np.pad, (x0[None], 3), {"mode": "symmetric", "reflect_type": "odd"}),
    (np.astype, (x0, np.float32), {}), (np.astype, (E0, int), {}),
    (np.copy, (x0,), {}), (np.copy, (E03,), {"order": "F"}),
    (np.real, (E0,), {}),
    (np.diff, (x0,), {"n": 0}), (np.diff, (E03,), {"axis": 0}), (np.diff, (E0,), {"n": 3}),
    (np.diff, (x3,), {"axis": -1, "n": 3}),
]


@pytest.mark.parametrize("func, args, kwargs", EDGE,
                         ids=[f"{i}-{f.__name__}" for i, (f, _, _) in enumerate(EDGE)])
def test_edge_inputs_as_numpy(func, args, kwargs):
    try:
        func(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 -- the class NumPy raises is the claim
        f = _as_function(func, args, kwargs)
        leaves = _leaves(args)
        with pytest.raises(type(exc)):
            ad.jvp(f, tuple(leaves), tuple(leaves))
        with pytest.raises(type(exc)):
            ad.vjp(f, *leaves)
        return
    check_call(func, args, kwargs)
