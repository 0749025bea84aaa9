"""Recording: the lowest-level trace, which writes down every NumPy call.

A :class:`Recording` is a :class:`dualad.core.Trace` opened *before* the
replayed function runs, so it has the lowest level of every transformation
that function starts (``grad``, ``jvp``, ``hvp`` ...).  Its boxes,
:class:`Staged` values, stand for the function's inputs and for everything
computed from them.  The other transformations unwrap their own boxes as
always and call the primitive again on what is left; when only staged
values are left the call reaches :meth:`Recording.process`, which runs the
primitive's implementation on the raw arrays and appends one :class:`Op`.
The rules' own NumPy calls on staged values (``cos(x) * g`` in a backward
pass) reach :meth:`Staged.__array_ufunc__` / ``__array_function__`` and are
appended the same way.  So the program holds every array operation that ran
-- the primal computation and the derivative computation alike -- and none
of the Python bookkeeping around them.

What Python can see
-------------------
A staged value is what a raw array would be, except where Python looks at
its *value*: ``bool()`` (an ``if``), ``float()``, ``int()``, ``.item()``,
``np.asarray`` (the whole array), a NumPy function returning a Python object
(``np.array_equal``).  Each of those records a :class:`Guard` -- the value
Python saw -- and the program checks it again at every replay.  An
operation that raises during the recording (which ``fn`` may catch, and take
another way) makes the recording one that is not kept.  Shapes and dtypes of every value follow
from the inputs' shapes and dtypes, except after operations whose output
shape depends on values (boolean masks, ``nonzero``, ``unique``): those
ops carry a shape check.

:func:`dualad.core.primal` stops at staged values (they are the "raw"
values of this recording), so the library's own computations on primal
values are recorded too, and its checks on them (a NaN test) become guards.
"""

from __future__ import annotations

import operator
import weakref
from typing import Any, NamedTuple

import numpy as np

from .. import core
from ..core import Box, Trace

__all__ = ["Recording", "Staged", "Op", "Guard", "Slot", "Const", "StagingError"]


class StagingError(TypeError):
    """A replayed function did something a recorded program cannot repeat."""


class Slot(NamedTuple):
    """A reference, inside an op's arguments, to a value of the program."""
    index: int


class Const(NamedTuple):
    """A reference to a constant of the program (captured at recording)."""
    index: int


class Op(NamedTuple):
    """``outs = fn(*args, **kwargs)``; ``args``/``kwargs`` hold :class:`Slot`
    and :class:`Const` references (possibly inside tuples, lists and dicts).
    ``out`` is the slot of the result; ``shape`` the result's recorded shape
    when it may depend on values (checked at replay), else None.
    ``kind``: "ufunc" (an elementwise NumPy ufunc call), "elementwise" (an
    elementwise dualad primitive) or "call"."""
    fn: Any
    args: tuple
    kwargs: dict
    out: int
    shape: Any
    kind: str
    prim: Any = None  # the dualad Primitive whose implementation fn is, if any


class Guard(NamedTuple):
    """Python saw ``convert(slot's value) == value`` at this point."""
    slot: int
    convert: Any
    value: Any


# Views at least this large share one copy of the array they look into.
VIEW_SHARING_MIN_BYTES = 1 << 16

# NumPy functions whose result depends only on shapes and dtypes: answered
# from the raw value, never recorded.
_STATIC = {np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
           np.min_scalar_type, np.can_cast}
# NumPy functions whose output shape depends on the values of their inputs.
_VALUE_SHAPED = {np.nonzero, np.flatnonzero, np.argwhere, np.unique, np.extract,
                 np.compress, np.trim_zeros, np.roots, np.setdiff1d, np.intersect1d,
                 np.union1d, np.setxor1d, np.histogram_bin_edges, np.histogram}
for _name in ("unique_values", "unique_counts", "unique_inverse", "unique_all"):
    if hasattr(np, _name):
        _VALUE_SHAPED.add(getattr(np, _name))


_BITS = {2: np.uint16, 4: np.uint32, 8: np.uint64, 16: np.uint64}


def same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """The same shape, dtype and bits (so NaN matches NaN, and -0.0 does not
    match 0.0: a stricter test is only ever a needless new recording).
    Compared as unsigned integers where the layout allows: about ten times
    faster than ``np.array_equal(..., equal_nan=True)``."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind in "fc":
        bits = _BITS.get(a.dtype.itemsize if a.dtype.kind == "f" else a.dtype.itemsize // 2)
        if bits is not None:
            try:
                return bool(np.array_equal(a.view(bits), b.view(bits)))
            except ValueError:  # a layout that cannot be viewed so
                pass
        return bool(np.array_equal(a, b, equal_nan=True))
    return bool(np.array_equal(a, b))


def _same(a, b) -> bool:
    """Equal as Python saw them (NaN equal to NaN)."""
    if type(a) is float and type(b) is float:
        return a == b or (a != a and b != b)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return same_array(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind in "fc")
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:
        return False


def _shared_copy(value: np.ndarray):
    """The copy another recording made of ``value``, if it still holds what
    ``value`` holds (core.STAGED_CONSTANTS)."""
    entry = core.STAGED_CONSTANTS.get(id(value))
    if entry is None:
        return None
    original, copy = entry[0](), entry[1]()
    if original is not value or copy is None or not same_array(copy, value):
        return None
    return copy


class Recording(Trace):
    """The program being recorded: slots (values), constants, ops, guards."""

    __slots__ = ("values", "consts", "_const_ids", "_roots", "steps", "raised")

    def __init__(self):
        super().__init__("replay")
        self.values: list = []    # slot -> raw value at recording (kept alive, so ids stay unique)
        self.consts: list = []    # constant index -> the captured copy
        self._const_ids: dict = {}  # id(original) -> (original, copy, index)
        self._roots: dict = {}  # id(array) -> (array, its copy): the bases views share
        self.steps: list = []     # Op and Guard, in execution order
        self.raised = False  # an operation (or a conversion) raised while recording

    # ---- values ------------------------------------------------------------------
    def stage(self, raw) -> "Staged":
        box = Staged.__new__(Staged)
        box._value = raw
        box._trace = self
        box._slot = len(self.values)
        self.values.append(raw)
        return box

    def constant(self, value) -> Const:
        """Capture ``value``: arrays are copied (the library or the user may
        change the original in place later), and one copy serves every use
        of the same array while the array holds what it held then (checked at
        each use: a buffer rewritten in a loop is a new constant each time)."""
        if isinstance(value, np.ndarray):
            hit = self._const_ids.get(id(value))
            if hit is not None and hit[0] is value and same_array(hit[1], value):
                return Const(hit[2])
            copy = _shared_copy(value)
            if copy is None:
                copy = self._view_of_copied_base(value)
                if copy is None:
                    copy = value.copy()
                copy.flags.writeable = False
                if value.nbytes >= VIEW_SHARING_MIN_BYTES:
                    key = id(value)
                    core.STAGED_CONSTANTS[key] = (
                        weakref.ref(value),
                        weakref.ref(copy, lambda _, key=key: core.STAGED_CONSTANTS.pop(key, None)))
            index = len(self.consts)
            self.consts.append(copy)
            self._const_ids[id(value)] = (value, copy, index)
            return Const(index)
        hit = self._const_ids.get(id(value))
        if hit is not None and hit[0] is value:
            return Const(hit[2])  # the same object (an Index, a dtype): one constant
        index = len(self.consts)
        self.consts.append(value)
        self._const_ids[id(value)] = (value, value, index)
        return Const(index)

    def _view_of_copied_base(self, value):
        """For a large view (``X.T``, ``X[:, None]``, made afresh at each use by
        library code): the same view of one copy of the array it looks into,
        so that one copy serves all of them.  None when ``value`` is not such
        a view."""
        root = value
        while isinstance(root.base, np.ndarray):
            root = root.base
        if root is value or value.nbytes < VIEW_SHARING_MIN_BYTES or not (
                root.flags.c_contiguous or root.flags.f_contiguous):
            return None
        entry = self._roots.get(id(root))
        if entry is None or entry[0] is not root or not same_array(entry[1], root):
            entry = (root, root.copy(order="K"))
            entry[1].flags.writeable = False
            self._roots[id(root)] = entry
        offset = (value.__array_interface__["data"][0]
                  - root.__array_interface__["data"][0])
        return np.ndarray(value.shape, value.dtype, buffer=entry[1], offset=offset,
                          strides=value.strides)

    def lower(self, obj):
        """``obj`` with staged values replaced by raw ones, and its template
        (Slot / Const references).  Boxes of other transformations refused."""
        t = type(obj)
        if t is Staged:
            if obj._trace is not self:
                raise StagingError("a value recorded by another replay call was used here")
            return obj._value, Slot(obj._slot)
        if t is float or t is int or t is bool or obj is None or t is str or t is slice \
                or obj is Ellipsis or t is np.dtype:
            return obj, obj
        if t is tuple or t is list:
            raws, temps, staged = [], [], False
            for item in obj:
                r, tp = self.lower(item)
                raws.append(r)
                temps.append(tp)
                staged = staged or _has_ref(tp)
            raw = t(raws)
            return raw, (t(temps) if staged else self.constant(raw) if t is list else raw)
        if t is dict:
            raws, temps, staged = {}, {}, False
            for k, v in obj.items():
                raws[k], temps[k] = self.lower(v)
                staged = staged or _has_ref(temps[k])
            return raws, (temps if staged else self.constant(raws))
        if isinstance(obj, Box):
            raise StagingError(
                "the replayed function used a value of a transformation that encloses "
                "dualad.replay (for example a closure over a value being differentiated); "
                "pass that value to the replayed function as an argument instead")
        return obj, self.constant(obj)

    # ---- recording ---------------------------------------------------------------
    def call(self, fn, args: tuple, kwargs: dict, kind: str, check_shape: bool, prim=None):
        raw_args, t_args = self.lower(args)
        raw_kwargs, t_kwargs = self.lower(kwargs) if kwargs else ({}, {})
        if isinstance(t_kwargs, Const):
            t_kwargs = {k: self._literal(v) for k, v in raw_kwargs.items()}
        if isinstance(t_args, Const):
            t_args = tuple(self._literal(a) for a in raw_args)
        try:
            out = fn(*raw_args, **raw_kwargs)
        except BaseException:
            # fn may catch it and go on (a LinAlgError and a fallback): the
            # program would hold the fallback without the test that chose it
            self.raised = True
            raise
        return self.result(fn, t_args, t_kwargs, out, kind, check_shape, prim)

    def _literal(self, value):
        return value if _is_literal(value) else self.constant(value)

    def result(self, fn, t_args, t_kwargs, out, kind: str, check_shape: bool, prim=None):
        if isinstance(out, (np.ndarray, np.generic)):
            box = self.stage(out)
            shape = np.shape(out) if check_shape else None
            self.steps.append(Op(fn, t_args, t_kwargs, box._slot, shape, kind, prim))
            return box
        if type(out) in (tuple, list) or (isinstance(out, tuple) and hasattr(out, "_fields")):
            if all(isinstance(o, (np.ndarray, np.generic)) for o in out):
                whole = len(self.values)
                self.values.append(out)
                self.steps.append(Op(fn, t_args, t_kwargs, whole, None, kind))
                items = []
                for i, o in enumerate(out):
                    box = self.stage(o)
                    shape = np.shape(o) if check_shape else None
                    self.steps.append(Op(operator.getitem, (Slot(whole), i), {}, box._slot,
                                         shape, "call"))
                    items.append(box)
                return type(out)(*items) if hasattr(out, "_fields") else type(out)(items)
        # a Python object computed from recorded values: a guard on it
        slot = len(self.values)
        self.values.append(out)
        self.steps.append(Op(fn, t_args, t_kwargs, slot, None, kind))
        self.steps.append(Guard(slot, None, out))
        return out

    def guard(self, box: "Staged", convert, value):
        self.steps.append(Guard(box._slot, convert, value))

    def process(self, prim, args, params):
        # a primitive whose every argument is raw or staged: its implementation
        # is one op of the program
        for a in args:
            if isinstance(a, Box) and a._trace is not self:
                raise StagingError(
                    f"{prim.name} met a value of a transformation that encloses "
                    "dualad.replay (for example a closure over a value being "
                    "differentiated); pass it to the replayed function as an argument")
        if prim.name == "getitem" and len(args) == 1 and set(params) == {"index"}:
            # x[key] itself (the primitive's implementation is x[index.key])
            return self.call(operator.getitem, (args[0], params["index"].key), {}, "call",
                             _value_shaped_args(args, None) or _bool_key(params["index"].key))
        impl = getattr(prim.impl, "__wrapped__", prim.impl)  # not core's complex-noting wrapper
        if prim.elementwise:
            # a ufunc's call is a "ufunc" op (it may compute into a reused buffer)
            kind = "ufunc" if isinstance(impl, np.ufunc) and not params else "elementwise"
            return self.call(impl, args, params, kind, False, prim)
        return self.call(impl, args, params, "call", prim.value_shaped
                         or _value_shaped_args(args, params), prim)


def _is_literal(value) -> bool:
    t = type(value)
    return (t is float or t is int or t is bool or value is None or t is str or t is slice
            or value is Ellipsis or t is np.dtype or t is tuple and all(map(_is_literal, value)))


def _has_ref(template) -> bool:
    t = type(template)
    if t is Slot:
        return True
    if t is tuple or t is list:
        return any(_has_ref(x) for x in template)
    if t is dict:
        return any(_has_ref(x) for x in template.values())
    return False


def _value_shaped_args(args, params) -> bool:
    """Whether an op's output shape may depend on values: some staged
    argument holds integers or booleans (an index, a mask), found anywhere in
    the arguments."""
    def walk(obj):
        t = type(obj)
        if t is Staged:
            return obj._value.dtype.kind in "biu"
        if t is tuple or t is list:
            return any(walk(x) for x in obj)
        if t is dict:
            return any(walk(x) for x in obj.values())
        return False
    return walk(args) or walk(params)


def _inplace_refused(name):
    def method(self, other):
        raise StagingError(
            f"x {name} y changes an array in place, which a recorded program cannot "
            "repeat faithfully (other names for the array would not see it). Write "
            f"x = x {name[:-1]} y instead.")
    return method


def _astype(value, dtype, *args, **kwargs):
    return value.astype(dtype, *args, **kwargs)


def _operator(ufunc, reflected=False):
    if reflected:
        return lambda self, other: ufunc(other, self)
    return lambda self, other: ufunc(self, other)


class Staged(Box):
    """A value of the program being recorded: the raw value at the recording
    point, and its slot.  Behaves as that array would, recording every
    operation; see the module docstring for what Python may see."""

    __slots__ = ("_slot",)
    _bottom = True

    # ---- NumPy protocol ------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        for a in inputs:
            if isinstance(a, Box) and type(a) is not Staged:
                return NotImplemented  # a box of a transformation: its rule first
        out = kwargs.get("out")
        if out is not None or method == "at":
            raise StagingError(
                f"{ufunc.__name__}(..., out=) writes into an array in place; inside "
                "dualad.replay use the returned value instead")
        if method == "__call__":
            return self._trace.call(ufunc, inputs, kwargs, "ufunc" if not kwargs else "call",
                                    False)
        return self._trace.call(getattr(ufunc, method), inputs, kwargs, "call",
                                _value_shaped_args(inputs, kwargs))

    def __array_function__(self, func, types, args, kwargs):
        for t in types:
            if issubclass(t, Box) and t is not Staged:
                return NotImplemented
        if func in _STATIC:
            raw, _ = self._trace.lower((args, kwargs))
            return func(*raw[0], **raw[1])
        if "out" in kwargs and kwargs["out"] is not None:
            raise StagingError(
                f"{core.public_name(func)}(..., out=) writes into an array in place; "
                "inside dualad.replay use the returned value instead")
        return self._trace.call(func, args, kwargs, "call",
                                func in _VALUE_SHAPED or _value_shaped_args(args, kwargs))

    def __array__(self, dtype=None, copy=None):
        # The library's own code converts primal values to plain arrays for
        # its decisions and constant factors (np.asarray(primal(x))), user code
        # may too: Python sees the whole value, so the whole value is a guard.
        # A copy: the caller may write into what it gets.
        value = np.array(self._value, copy=True)
        self._trace.guard(self, np.asarray, value)
        return value if dtype is None else value.astype(dtype, copy=False)

    # ---- what Python sees: guards --------------------------------------------
    def __bool__(self):
        value = self._convert(lambda: bool(self._value))
        self._trace.guard(self, bool, value)
        return value

    def __float__(self):
        value = self._convert(lambda: float(self._value))
        self._trace.guard(self, float, value)
        return value

    def __int__(self):
        value = self._convert(lambda: int(self._value))
        self._trace.guard(self, int, value)
        return value

    def __index__(self):
        value = self._convert(lambda: operator.index(self._value))
        self._trace.guard(self, operator.index, value)
        return value

    def __complex__(self):
        value = self._convert(lambda: complex(self._value))
        self._trace.guard(self, complex, value)
        return value

    def _convert(self, conversion):
        try:
            return conversion()
        except BaseException:
            self._trace.raised = True  # fn may catch it: see Recording.call
            raise

    def item(self, *args):
        value = self._convert(lambda: self._value.item(*args))
        self._trace.guard(self, lambda v: v.item(*args), value)
        return value

    def tolist(self):
        value = self._value.tolist()
        self._trace.guard(self, lambda v: v.tolist(), value)
        return value

    def __round__(self, ndigits=None):
        return np.round(self, ndigits or 0)

    # ---- attributes: from the raw value (shapes and dtypes are static) --------
    @property
    def shape(self):
        return np.shape(self._value)

    @property
    def ndim(self):
        return np.ndim(self._value)

    @property
    def size(self):
        return int(np.size(self._value))

    @property
    def dtype(self):
        return np.result_type(self._value)

    @property
    def strides(self):
        raise StagingError("reading the memory layout (.strides) of a recorded value is "
                           "not supported by dualad.replay")

    def __repr__(self):
        return f"Staged({self._value!r}, slot={self._slot})"

    def __getitem__(self, key):
        return self._trace.call(operator.getitem, (self, key), {}, "call",
                                _value_shaped_args(key, None) or _bool_key(key))

    def astype(self, dtype, *args, **kwargs):
        return self._trace.call(_astype, (self, dtype) + args, kwargs, "call", False)

    __and__, __rand__ = _operator(np.bitwise_and), _operator(np.bitwise_and, True)
    __or__, __ror__ = _operator(np.bitwise_or), _operator(np.bitwise_or, True)
    __xor__, __rxor__ = _operator(np.bitwise_xor), _operator(np.bitwise_xor, True)
    __lshift__, __rlshift__ = _operator(np.left_shift), _operator(np.left_shift, True)
    __rshift__, __rrshift__ = _operator(np.right_shift), _operator(np.right_shift, True)

    def __invert__(self):
        return np.invert(self)

    __iadd__ = _inplace_refused("+=")
    __isub__ = _inplace_refused("-=")
    __imul__ = _inplace_refused("*=")
    __itruediv__ = _inplace_refused("/=")
    __ipow__ = _inplace_refused("**=")
    __imatmul__ = _inplace_refused("@=")


def _bool_key(key) -> bool:
    if isinstance(key, np.ndarray) and key.dtype.kind == "b":
        return True
    if type(key) is list:
        return True  # a list index may hold booleans, and is rare enough to check
    if type(key) is tuple:
        return any(_bool_key(k) for k in key)
    return False
