"""Primitives, boxed values and levels: the dispatch that every mode shares.

What this module lets you do
----------------------------
Declare a *primitive* -- a NumPy-level operation with a JVP rule and a VJP
rule -- and call it on plain arrays or on *boxed* values.  A boxed value is a
primal value wrapped by one transformation in progress: a :class:`Dual` of
forward mode (``dualad.forward``) or a :class:`TapeValue` of reverse mode
(``dualad.reverse``).  Both are subclasses of :class:`Box`, and both hook
into NumPy through ``__array_ufunc__`` / ``__array_function__``, so user code
written against plain NumPy reaches the primitives unchanged.

The invariant
-------------
Every transformation in progress is a :class:`Trace` with an integer
``level``, taken from one global counter, so a trace opened later has a
higher level.  When a primitive is called, the box of the *highest* level
among its arguments handles the call: it unwraps its own boxes (one layer
only), calls the primitive again on what is left -- boxes of lower levels
are treated as constants at this level and are handled by the recursive
call -- and then does its own work (push a tangent, or record a tape
entry).  Raw NumPy values are reached when no box is left.

Why levels: perturbation confusion
----------------------------------
Take ``d/dx [x * d/dy (x + y)]`` at ``x = 1``.  The inner derivative is 1
(``x`` does not depend on ``y``), so the answer is 1.  A dual-number
implementation that does not tell the two derivatives apart adds ``x``'s
tangent to ``y``'s inside ``x + y`` and answers 2.  Here the outer
transformation has level 1 and the inner one level 2; in ``x + y`` the
level-2 box (``y``) handles the call and sees the level-1 box ``x`` as a
constant, so ``x``'s perturbation never leaks into the inner derivative.

Rules are written with NumPy calls on the values they are handed (which
may themselves be boxes of lower levels) -- never on unwrapped primal
arrays.  That is what makes any nesting work: a tape whose values are duals
runs its VJP rules on duals, which is forward-over-reverse for free.

Global state
------------
All of dualad's global state is here: ``_LEVELS`` (a counter), the rule
tables ``UFUNC_RULES`` / ``FUNCTION_RULES`` and ``REPLACEMENTS`` filled at
import time, the constant ``RESIDUAL_MIN_SIZE``, and ``STATE``, per-thread
switches (``nan_safe``, and the ``observer`` that :mod:`dualad.observe`
installs).  Traces are reached only through the boxes that refer
to them, so threads never see each other's transformations.
"""

from __future__ import annotations

import dis
import inspect
import itertools
import sys
import threading
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "Box", "Trace", "Primitive", "primal", "shape_of", "ndim_of", "unwrap",
    "UFUNC_RULES", "FUNCTION_RULES", "register", "LeakedValueError",
    "unbroadcast", "nondiff", "refuse", "elementwise", "REPLACEMENTS", "safe_product",
]

# NumPy function -> callable implementing it for boxed arguments.
UFUNC_RULES: dict = {}
FUNCTION_RULES: dict = {}
# NumPy function -> what its registered implementation accepts (see _Signature).
SIGNATURES: dict = {}
# (package prefix, function name) -> dualad replacement, named in the error
# raised when that function converts a traced value with np.asarray.
REPLACEMENTS: dict = {}

_LEVELS = itertools.count(1)

NO_PARAMS: dict = {}  # the shared, never mutated params of operator calls


class LeakedValueError(TypeError):
    """A boxed value was used after the transformation that made it ended."""


class Trace:
    """One transformation in progress (a ``jvp``, ``vjp``, ``linearize`` ...).

    ``level`` orders nested transformations; ``active`` turns false when the
    transformation returns, so a boxed value that escaped it is caught the
    next time it is used instead of giving a silently wrong derivative.
    ``observer`` is the :class:`dualad.observe.Observer` installed in this
    thread when the trace was opened (None when nobody observes), told of
    the trace's work; traces can be weakly referenced, so that an observer
    can tell when one is freed.
    """

    __slots__ = ("level", "active", "origin", "observer", "__weakref__")

    def __init__(self, origin: str):
        self.level = next(_LEVELS)
        self.active = True
        self.origin = origin
        self.observer = STATE.observer
        if self.observer is not None:
            self.observer.opened(self)

    def process(self, prim: "Primitive", args: tuple, params: dict):
        raise NotImplementedError

    def binary(self, prim: "Primitive", a, b, params=NO_PARAMS):
        """``process`` for two arguments (the operators' path; traces may
        specialise it)."""
        return self.process(prim, (a, b), params)


def unwrap(trace: "Trace", args, attr: str):
    """One layer of boxes removed: the values under ``trace``'s boxes, what
    each of those boxes carries (``attr``: a tangent, a tape position; None
    for the other arguments), and whether boxes of outer (older)
    transformations are left -- then the primitive must be called again
    rather than its raw implementation."""
    values = []
    carried = []
    lower = False
    for a in args:
        if isinstance(a, Box) and a._trace is trace:
            v = a._value
            carried.append(getattr(a, attr))
        else:
            v = a
            carried.append(None)
        if isinstance(v, Box):
            lower = True
        values.append(v)
    return values, carried, lower


def primal(x):
    """The raw NumPy value under any number of boxes."""
    while isinstance(x, Box):
        x = x._value
    return x


def shape_of(x) -> tuple:
    return np.shape(primal(x))


def ndim_of(x) -> int:
    return np.ndim(primal(x))


def _library_dirs() -> tuple:
    import sysconfig
    paths = sysconfig.get_paths()
    dirs = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    import os
    dirs.add(os.path.dirname(os.path.dirname(np.__file__)))
    return tuple(sorted(d for d in dirs if d))


_LIBRARY_DIRS: tuple = ()


def _is_library_frame(frame) -> bool:
    module = frame.f_globals.get("__name__", "")
    if module == "dualad" or module.startswith("dualad."):
        return False
    global _LIBRARY_DIRS
    if not _LIBRARY_DIRS:
        _LIBRARY_DIRS = _library_dirs()
    return frame.f_code.co_filename.startswith(_LIBRARY_DIRS)


def _public_name_of(module: str, qualname: str, matches) -> str | None:
    """The shortest public module path exporting ``qualname``'s head (the
    function, or the class of a method) defined in ``module``, or None."""
    head = qualname.split(".")[0]
    public = [p for p in module.split(".") if not p.startswith("_")]
    for n in range(1, len(public) + 1):
        candidate = ".".join(public[:n])
        mod = sys.modules.get(candidate)
        obj = getattr(mod, head, None) if mod is not None else None
        if obj is not None and (isinstance(obj, type) or matches(inspect.unwrap(obj))):
            return f"{candidate}.{head}"
    return None


def _public_function_name(frame):
    """``scipy.linalg.cho_solve`` for a frame of
    ``scipy.linalg._decomp_cholesky.cho_solve``; for a decorator's wrapper,
    the public function it wraps (a function among its free variables);
    None if no public module exports either."""
    code = frame.f_code
    name = _public_name_of(frame.f_globals.get("__name__", ""),
                           getattr(code, "co_qualname", code.co_name),
                           lambda obj: getattr(obj, "__code__", None) is code)
    if name is not None:
        return name
    for var in code.co_freevars:
        fn = frame.f_locals.get(var)
        if inspect.isfunction(fn):
            name = _public_name_of(fn.__module__, fn.__qualname__, lambda obj: obj is fn)
            if name is not None:
                return name
    return None


def _outermost_library_caller(frame):
    """The library function (NumPy, SciPy, any installed package) that the
    user's code called and that converted a traced value: of the library
    frames between the conversion and the user's own code, the outermost one
    that a public module exports (decorators' wrappers are looked through)."""
    chain = []
    for _ in range(60):
        if frame is None or not _is_library_frame(frame):
            break
        chain.append(frame)
        frame = frame.f_back
    for f in reversed(chain):
        name = _public_function_name(f)
        if name is not None:
            return name
    if chain:
        f = chain[-1]
        return f"{f.f_globals.get('__name__', '')}.{f.f_code.co_name}"
    return None


def _caller_hint(frame) -> str:
    """Name the function that converted the traced value, and its dualad
    replacement if there is one."""
    called = _outermost_library_caller(frame)
    if called is None:
        return ""
    for (prefix, name), replacement in REPLACEMENTS.items():
        if called == f"{prefix}.{name}":
            same = " (same signature)" if replacement.startswith("dualad.") else ""
            return (f" It happened inside {called}, which converts its input with "
                    f"np.asarray and cannot be traced: use {replacement}{same} instead.")
    return (f" It happened inside {called}, which converts its input to a plain NumPy "
            "array (np.asarray) and cannot be traced, so dualad cannot "
            "differentiate it; write that step with NumPy functions that dualad "
            "differentiates.")


def _no_conversion(what: str):
    def method(self, *args, **kwargs):
        raise TypeError(
            f"{what} of a value that dualad is differentiating would drop its "
            "derivative. Keep the computation in NumPy functions instead: "
            "use np.where for branches on values, np.stack / np.concatenate "
            "to build arrays, and NumPy ufuncs (np.sin, np.exp, ...) instead "
            "of the math module." + _caller_hint(sys._getframe(1)))
    method.__name__ = what
    return method


class Box:
    """A primal value wrapped by one transformation (base of Dual and TapeValue).

    Boxes behave like read-only NumPy arrays: operators, ``np.*`` functions
    with rules, attributes such as ``.shape`` and the common methods.
    """

    __slots__ = ("_value", "_trace")
    __array_priority__ = 1000.0

    # ---- NumPy protocol -------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            return self._ufunc_with_options(ufunc, method, inputs, kwargs)
        rule = UFUNC_RULES.get(ufunc)
        if rule is None:
            raise TypeError(_missing_rule_message(ufunc))
        if len(inputs) == 1 and type(rule) is Primitive and self._trace.active:
            return self._trace.process(rule, inputs, NO_PARAMS)  # np.sin(x): ours alone
        return rule(*inputs)

    def _ufunc_with_options(self, ufunc, method, inputs, kwargs):
        name = getattr(ufunc, "__name__", repr(ufunc))
        if method != "__call__":
            raise TypeError(
                f"dualad has no rule for the ufunc method {name}.{method}; "
                "call the ufunc itself or the matching NumPy function "
                "(for example np.sum instead of np.add.reduce).")
        rule = UFUNC_RULES.get(ufunc)
        if rule is None:
            raise TypeError(_missing_rule_message(ufunc))
        return ufunc_with_keywords(ufunc, rule, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        rule = FUNCTION_RULES.get(func)
        if rule is None:
            raise TypeError(_missing_rule_message(func))
        spec = SIGNATURES.get(func)
        if spec is not None and (kwargs or len(args) > spec.max_positional):
            args, kwargs = spec.check(args, kwargs)
        return rule(*args, **kwargs)

    __array__ = _no_conversion("Converting to a NumPy array (np.asarray / np.array, or assigning into a NumPy array)")
    __float__ = _no_conversion("float()")
    __int__ = _no_conversion("int()")
    __complex__ = _no_conversion("complex()")
    __index__ = _no_conversion("Using as an index")
    item = _no_conversion(".item()")
    tolist = _no_conversion(".tolist()")

    # ---- in-place accumulation (used only by the reverse pass) ------------------
    def _inplace_ok(self) -> bool:
        """May the reverse pass add into this box's own arrays?  Only boxes it
        allocated itself are ever asked; the default is no."""
        return False

    def _add_in_place(self, other, index=None) -> bool:
        """Add ``other`` into this box (at ``index``, an indexing key object),
        in place; False when that is not possible and a new sum is needed."""
        return False

    def __round__(self, ndigits=None):
        # Rounding has derivative zero: the value, as a constant.
        return np.round(primal(self), ndigits or 0)

    def __setitem__(self, key, value):
        raise TypeError(
            "dualad values are immutable: item assignment (x[i] = v) would "
            "lose the derivative of the overwritten entries. Build the new "
            "array instead, e.g. with np.where(mask, v, x), np.concatenate "
            "or np.stack.")

    # ---- array attributes ---------------------------------------------------
    @property
    def shape(self) -> tuple:
        return np.shape(primal(self))

    @property
    def ndim(self) -> int:
        return np.ndim(primal(self))

    @property
    def size(self) -> int:
        return int(np.size(primal(self)))

    @property
    def dtype(self):
        return np.result_type(primal(self))

    def __len__(self) -> int:
        shape = self.shape
        if not shape:
            raise TypeError("len() of a 0-d value")
        return shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        # Control flow on values is fine: the derivative is that of the branch taken.
        return bool(primal(self))

    __hash__ = None  # comparisons are elementwise, as for arrays

    def __repr__(self) -> str:
        return f"{type(self).__name__}({primal(self)!r}, level={self._trace.level})"


def _no_inplace(name: str, instead: str):
    def method(self, *args, **kwargs):
        raise TypeError(
            f"x.{name}() changes an array in place, which dualad's values do not "
            f"allow (the derivative of the old entries would be lost). Use {instead} "
            "and keep the result instead.")
    method.__name__ = name
    return method


for _name, _instead in {"sort": "np.sort(x)", "fill": "np.full_like / np.where",
                        "resize": "np.reshape or np.concatenate", "put": "np.where",
                        "partition": "np.sort(x)", "setfield": "np.where"}.items():
    setattr(Box, _name, _no_inplace(_name, _instead))


def _missing_rule_message(func) -> str:
    name = public_name(func)
    caller = _outermost_library_caller(sys._getframe(2))
    inside = f" (It was called inside {caller}, on a traced argument.)" if caller else ""
    return (f"dualad has no derivative rule for {name}.{inside} Declare one with "
            "dualad.Primitive(...) and register it with dualad.register("
            f"{name}, ...) -- see 'Adding a primitive' in the README.")


def register(numpy_function, implementation: Callable) -> None:
    """Make ``numpy_function`` (a ufunc or any NumPy/SciPy function that
    dispatches through ``__array_function__``) call ``implementation`` when
    one of its arguments is a dualad value.

    ``implementation`` lists in its own signature the arguments of
    ``numpy_function`` that it honours; any other argument of NumPy's
    signature is refused with a ``TypeError`` naming it (unless it is given
    at NumPy's default), so nothing is silently ignored.

    >>> import numpy as np, dualad as ad
    >>> softplus = ad.elementwise("softplus", lambda x: np.logaddexp(0, x),
    ...                           lambda out, x: 1 / (1 + np.exp(-x)))
    >>> float(ad.grad(lambda x: softplus(x))(0.0))
    0.5
    """
    if isinstance(numpy_function, np.ufunc):
        UFUNC_RULES[numpy_function] = implementation
    else:
        FUNCTION_RULES[numpy_function] = implementation
        SIGNATURES.pop(numpy_function, None)
        spec = _Signature.of(numpy_function, implementation)
        if spec is not None:
            SIGNATURES[numpy_function] = spec


def public_name(func) -> str:
    """``numpy.sum``, ``numpy.linalg.norm``, ``scipy.special.erf``: the
    name under which users call a NumPy or SciPy function."""
    name = getattr(func, "__name__", repr(func))
    if isinstance(func, np.ufunc):
        try:
            import scipy.special as sp
            if getattr(sp, name, None) is func:
                return f"scipy.special.{name}"
        except ImportError:  # pragma: no cover
            pass
        return f"numpy.{name}"
    module = getattr(func, "__module__", None) or "numpy"
    return f"{module}.{name}"


def _is_default(value, default) -> bool:
    """Whether an argument was given at its default (``keepdims=False``)."""
    if value is default:
        return True
    if isinstance(value, (str, bool, int, float, np.generic)) and \
            isinstance(default, (str, bool, int, float, type(None))):
        return type(value == default) in (bool, np.bool_) and bool(value == default)
    return False


class _Signature:
    """What a registered implementation accepts of its NumPy function's signature.

    ``check`` runs only when a call has keywords or more positional arguments
    than the implementation takes: arguments the implementation does not list
    are dropped when given at NumPy's default and refused otherwise.
    """

    __slots__ = ("name", "accepted", "max_positional", "numpy_sig")

    def __init__(self, name, accepted, max_positional, numpy_sig):
        self.name = name
        self.accepted = accepted
        self.max_positional = max_positional
        self.numpy_sig = numpy_sig

    @classmethod
    def of(cls, func, impl):
        try:
            numpy_sig = inspect.signature(func)
            impl_sig = inspect.signature(impl)
        except (TypeError, ValueError):
            return None
        kinds = [p.kind for p in impl_sig.parameters.values()]
        if inspect.Parameter.VAR_KEYWORD in kinds:
            return None  # a pass-through (nondiff runs NumPy itself on primals)
        positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        max_positional = (10 ** 9 if inspect.Parameter.VAR_POSITIONAL in kinds
                          else sum(k in positional for k in kinds))
        accepted = frozenset(n for n, p in impl_sig.parameters.items()
                             if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                           inspect.Parameter.KEYWORD_ONLY))
        return cls(public_name(func), accepted, max_positional, numpy_sig)

    def check(self, args, kwargs):
        given = {}
        if len(args) > self.max_positional:
            try:
                bound = self.numpy_sig.bind_partial(*args)
            except TypeError as exc:
                raise TypeError(f"{self.name}: {exc}") from None
            names = list(bound.arguments)[self.max_positional:]
            given = {n: bound.arguments[n] for n in names}
            args = args[:self.max_positional]
        kept = {}
        for key, value in list(given.items()) + list(kwargs.items()):
            if key in self.accepted:
                kept[key] = value
                continue
            param = self.numpy_sig.parameters.get(key)
            if param is None:
                raise TypeError(f"{self.name}() got an unexpected keyword argument {key!r}")
            default = param.default
            if default is inspect.Parameter.empty or not (
                    _is_default(value, default) or value is np._NoValue):
                refuse(self.name, key)
        return args, kept


# Keywords every ufunc takes, at their defaults; refused at any other value.
_UFUNC_DEFAULTS = {"where": True, "casting": "same_kind", "order": "K", "subok": True,
                   "signature": None}
_GUFUNC_KEYWORDS = ("axes", "axis", "keepdims")


def ufunc_with_keywords(ufunc, rule, inputs, kwargs):
    """A ufunc called on boxes with keywords: ``dtype`` honoured (a floating
    dtype computes in it; an integer or boolean one gives NumPy's value on the
    primal values, with no derivative), ``axes``/``axis``/``keepdims`` handed
    to a generalized ufunc's rule, the others refused unless at their
    defaults.  A rule with no derivative (``nondiff``) gets every keyword:
    NumPy itself computes it."""
    if getattr(rule, "nondiff_of", None) is not None:
        return rule(*inputs, **kwargs)
    name = public_name(ufunc)
    passed = {}
    dtype = None
    for key, value in kwargs.items():
        if key == "out":
            if value is not None and not (isinstance(value, tuple)
                                          and all(o is None for o in value)):
                refuse(name, "out", "derivatives need every intermediate value; "
                       "assign the result to a new variable instead")
        elif key == "dtype":
            dtype = value
        elif key in _UFUNC_DEFAULTS:
            if not _is_default(value, _UFUNC_DEFAULTS[key]):
                refuse(name, key)
        elif key in _GUFUNC_KEYWORDS and ufunc.signature is not None:
            passed[key] = value
        else:
            raise TypeError(f"{name}() got an unexpected keyword argument {key!r}")
    if dtype is None:
        return rule(*inputs, **passed)
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        refuse(name, "dtype", COMPLEX_NOT_YET)
    # NumPy's own result on the primal values: its value where there is no
    # derivative, its error where it has no loop for dtype, and its dtype.
    expected = ufunc(*[primal(a) for a in inputs], dtype=dtype, **passed)
    if dtype.kind != "f":
        return expected
    out = rule(*[a.astype(dtype) if isinstance(a, Box) else np.asarray(a, dtype=dtype)
                 for a in inputs], **passed)
    want = np.result_type(expected)
    return out if np.result_type(primal(out)) == want else out.astype(want)


COMPLEX_NOT_YET = ("complex values are not differentiated yet; keep the "
                   "differentiated computation real (for example with separate "
                   "real and imaginary parts)")


def constant(value, where: str):
    """A non-traced argument of a primitive, as NumPy sees it.

    Lists and tuples become arrays (so that derivative formulas computing
    with them get NumPy's arithmetic, not Python's sequence operators);
    Python scalars stay as they are (NumPy treats them as weakly typed, so
    ``x32 * 2.0`` stays float32).  Complex constants and ndarray subclasses
    whose arithmetic differs from ndarray's are refused."""
    kind = type(value)
    if kind is np.ndarray:
        if value.dtype.kind == "c":
            raise TypeError(f"{where}: a complex constant meets a value dualad is "
                            f"differentiating, and {COMPLEX_NOT_YET}.")
        return value
    if kind is list or kind is tuple:
        return constant(np.asarray(value), where)
    if kind is complex or (isinstance(value, np.generic) and value.dtype.kind == "c"):
        raise TypeError(f"{where}: a complex constant meets a value dualad is "
                        f"differentiating, and {COMPLEX_NOT_YET}.")
    if isinstance(value, np.ndarray):
        refuse_subclass(value, where)
        return constant(np.asarray(value), where)
    return value


def refuse_subclass(value, where: str) -> None:
    """Refuse masked arrays and ``np.matrix``: their arithmetic differs from
    ndarray's (masks, ``*`` as a matrix product), and dualad's values follow
    ndarray's."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{where} is a masked array; dualad follows plain ndarray semantics and "
            "would ignore its mask. Pass x.filled(fill) or select the unmasked "
            "entries, e.g. x.compressed() or np.where(~mask, x, 0.0).")
    if isinstance(value, np.matrix):
        raise TypeError(
            f"{where} is an np.matrix, whose * is a matrix product; dualad follows "
            "plain ndarray semantics. Pass np.asarray(x) and use @ for matrix products.")


def nondiff(fn: Callable) -> Callable:
    """Wrap a function whose output has zero derivative (comparisons,
    rounding, ``sign``...): it runs on the raw primal values.

    Only for functions whose every float output is piecewise constant in
    every float input; ``tests/test_zero_derivative.py`` finds each such
    registration by its ``nondiff_of`` attribute and checks that claim by
    perturbing the inputs."""
    def wrapper(*args, **kwargs):
        return fn(*[primal(a) for a in args],
                  **{k: primal(v) for k, v in kwargs.items()})
    wrapper.__name__ = getattr(fn, "__name__", "nondiff")
    wrapper.__doc__ = fn.__doc__
    wrapper.nondiff_of = fn
    return wrapper


def refuse(function: str, parameter: str, why: str = "") -> None:
    """Raise the TypeError for an argument dualad does not implement.

    ``function`` is the public name (``"numpy.sum"``), ``parameter`` the
    argument's name as NumPy spells it.  Every argument of a registered
    function is either honoured with NumPy's semantics or refused here --
    never silently ignored."""
    raise TypeError(f"dualad does not support the argument {parameter}= of {function}"
                    f"{' with this value' if not why else ''}{': ' + why if why else ''}. "
                    "Leave it at its default, or compute that part outside the "
                    "differentiated function.")


class Primitive:
    """One differentiable operation: an implementation with its JVP and VJP rules.

    Parameters
    ----------
    name : str
    impl : callable
        ``impl(*args, **params)`` on raw NumPy values.  ``params`` are static
        keyword arguments (axes, shapes...) that are never differentiated.
    jvp : tuple or callable
        Either one function per positional argument,
        ``jvp_i(t, out, *args, **params) -> tangent of out`` (``None`` for an
        argument with no derivative), which dualad sums over the arguments
        whose tangent is not zero; or a single function
        ``jvp(tangents, out, *args, **params)`` receiving the list of
        tangents (``None`` stands for a zero tangent).
    vjp : tuple or callable
        Either one function per argument, ``vjp_i(g, out, *args, **params)
        -> cotangent of args[i]``, called only for arguments that need one; or
        ``vjp(g, out, *args, **params) -> tuple`` of cotangents (``None`` for
        zero).  If only one of ``jvp``/``vjp`` is given, the other is derived
        by transposing it (both are linear maps written with NumPy calls).
    elementwise : bool
        Output shape is the broadcast of the inputs' shapes.  dualad then
        pads batched tangents to the output's rank and sums cotangents over
        broadcast axes itself, so the rules can ignore broadcasting.
    multiple_results : bool
        ``impl`` returns a tuple of arrays; tangents and cotangents of the
        output are tuples too (with ``None`` for zeros).

    Rules must use NumPy calls (or other primitives) on the values they are
    given, never their raw ``primal()``: those values may be boxes of outer
    transformations, and the rules' own operations are what get
    differentiated at higher order.  Tangents may carry leading batch axes
    (vector mode): write shape logic relative to the *trailing* axes,
    e.g. with negative ``axis`` values.
    """

    __slots__ = ("name", "impl", "jvp_rule", "vjp_rule", "elementwise",
                 "multiple_results", "_jvp_per_arg", "_vjp_per_arg", "derivs",
                 "residuals", "accumulate", "linear_map", "add_into", "doc")

    def __init__(self, name: str, impl: Callable, jvp=None, vjp=None, *,
                 elementwise: bool = False, multiple_results: bool = False,
                 doc: str | None = None):
        if jvp is None and vjp is None:
            raise ValueError(f"primitive {name!r} needs a jvp rule, a vjp rule, or both")
        self.name = name
        self.impl = impl
        self.elementwise = elementwise
        self.multiple_results = multiple_results
        self.jvp_rule = jvp if jvp is not None else _jvp_from_vjp(self)
        self.vjp_rule = vjp if vjp is not None else _vjp_from_jvp(self)
        self._jvp_per_arg = isinstance(self.jvp_rule, (tuple, list))
        self._vjp_per_arg = isinstance(self.vjp_rule, (tuple, list))
        self.derivs = None
        # For elementwise primitives: per argument, which of (out, *args) its
        # derivative formula reads (see _used_inputs); None = keep everything.
        self.residuals = None
        # Optional accumulate(acc, g, out, *args, **params): add the cotangent of
        # a one-argument linear primitive into the raw array ``acc`` in place.
        self.accumulate = None
        # Optional linear_map(vals, params, batch) -> (t -> tangent of out), or
        # None: for a one-argument linear primitive, the JVP as a function of
        # the tangent alone, built once when linearize compiles its sweep.
        self.linear_map = None
        # Optional add_into(params) -> (acc, t -> None): for a primitive whose
        # output is zeros with its argument placed in it (scatter), add the
        # argument into an existing raw array in place instead.
        self.add_into = None
        self.doc = doc or getattr(impl, "__doc__", None)

    def __repr__(self) -> str:
        return f"<dualad primitive {self.name}>"

    def __call__(self, *args, **params):
        if len(args) == 1:
            top = args[0]._trace if isinstance(args[0], Box) else None
        else:
            top = None
            plain = True
            for a in args:
                if isinstance(a, Box):
                    t = a._trace
                    if top is None or t.level > top.level:
                        top = t
                elif not (type(a) is float or type(a) is int or (
                        type(a) is np.ndarray and a.dtype.kind != "c")):
                    plain = False
            if top is not None and not plain:
                args = tuple(a if isinstance(a, Box) else constant(a, self.name)
                             for a in args)
        if top is None:
            out = self.impl(*args, **params)
            if STATE.observer is not None:
                STATE.observer.evaluated(self, args, params, out)
            return out
        if not top.active:
            raise LeakedValueError(
                f"{self.name} was called on a value boxed by a {top.origin} "
                "transformation that has already returned (for example one "
                "stored in a global or a closure during grad/jvp and used "
                "later). Its derivative would be wrong; pass the value "
                "through the function's arguments and return it instead.")
        return top.process(self, args, params)

    # ---- rules, with the one place for batch and broadcast handling ---------
    def apply_jvp(self, tangents: Sequence, out, args: Sequence, params: dict,
                  batch: bool):
        """Tangent of ``out`` given the arguments' tangents (``None`` = zero).

        ``batch`` says whether tangents carry one leading batch axis (vector
        mode).  For elementwise primitives, batched tangents of arguments of
        lower rank than the output are padded with unit axes so that NumPy's
        broadcasting (which aligns trailing axes) lines them up correctly,
        and a tangent that broadcasting left smaller than the output is
        broadcast to the output's shape.
        """
        if self.elementwise and batch and len(args) > 1:
            out_nd = np.ndim(primal(out))
            tangents = [pad_batched(t, ndim_of(a), out_nd) for t, a in zip(tangents, args)]
        derivs = self.derivs
        if derivs is not None:  # elementwise, from its derivative formulas
            result = None
            for i, t in enumerate(tangents):
                if t is None or derivs[i] is None:
                    continue
                contribution = scale(t, derivs[i], out, args, params)
                result = contribution if result is None else result + contribution
        else:
            result = _call_jvp(self, tangents, out, args, params)
        if result is not None and self.elementwise and len(args) > 1:
            want = out.shape if isinstance(out, np.ndarray) else np.shape(primal(out))
            result = fill_output_shape(result, want, batch)
        return result

    def apply_vjp(self, g, out, needs: Sequence[bool], args: Sequence, params: dict):
        """Cotangents of the arguments (``None`` = zero) given that of ``out``."""
        derivs = self.derivs
        if derivs is not None:
            cts = [scale(g, d, out, args, params) if (need and d is not None) else None
                   for d, need in zip(derivs, needs)]
        elif self._vjp_per_arg:
            cts = [rule(g, out, *args, **params) if (need and rule is not None) else None
                   for rule, need in zip(self.vjp_rule, needs)]
        else:
            cts = list(self.vjp_rule(g, out, *args, **params))
        if self.elementwise and len(args) > 1:
            for i, c in enumerate(cts):
                if c is not None:
                    s = shape_of(args[i])
                    if c.shape != s:
                        cts[i] = unbroadcast(c, s)
        return cts


def elementwise(name: str, impl: Callable, *derivs: Callable | None,
                doc: str | None = None) -> Primitive:
    """Declare an elementwise primitive from its partial derivatives.

    ``derivs[i](out, *args, **params)`` is ∂out/∂args[i], elementwise, written
    with NumPy calls (``None`` for an argument with no derivative, a float
    for a constant one such as ``1.0``).  One
    formula gives both rules -- JVP ``t * d`` and VJP ``g * d`` -- so the two
    modes cannot drift apart; broadcasting is undone by dualad.

    >>> import numpy as np, dualad as ad
    >>> softplus = ad.elementwise("softplus", lambda x: np.logaddexp(0, x),
    ...                           lambda out, x: 1 / (1 + np.exp(-x)))
    >>> float(ad.grad(softplus)(0.0))
    0.5
    """
    derivs = tuple(float(d) if isinstance(d, (int, float)) else d for d in derivs)

    def rule(d):
        if d is None:
            return None
        return lambda t, out, *args, **params: scale(t, d, out, args, params)
    rules = tuple(rule(d) for d in derivs)
    prim = Primitive(name, impl, rules, rules, elementwise=True, doc=doc)
    prim.derivs = derivs
    prim.residuals = tuple(_used_inputs(d) for d in derivs)
    return prim


class Residual:
    """Stands on the tape for a value that no derivative formula will read:
    only its shape and dtype are kept, so the array itself is freed as soon
    as the user's code drops it.  Any arithmetic on it is an error."""

    __slots__ = ("shape", "ndim", "dtype")

    def __init__(self, value):
        p = primal(value)
        self.shape = np.shape(p)
        self.ndim = len(self.shape)
        self.dtype = np.result_type(p)

    def __repr__(self) -> str:
        return f"Residual(shape={self.shape}, dtype={self.dtype})"


# Arrays at least this large are replaced by a Residual when unneeded; for
# smaller ones the bookkeeping would cost more than the memory saved.
RESIDUAL_MIN_SIZE = 4096


def prune(value, keep: bool):
    """``value``, or a Residual standing for it when it is large and unneeded."""
    if keep:
        return value
    p = primal(value)
    if type(p) is np.ndarray and p.size >= RESIDUAL_MIN_SIZE:
        return Residual(value)
    return value


_ALL = None  # "every input of the formula may be used"


def _used_inputs(d):
    """Which of ``(out, *args)`` a derivative formula reads: a frozenset of
    positions (0 = out, 1.. = args), or ``_ALL`` when that cannot be told.

    Reverse mode keeps on its tape only the values that the VJP will read,
    so that a large intermediate nobody needs again is freed at once, as in
    plain NumPy.  The formula's own bytecode says which of its parameters it
    loads; anything unusual (``*args``, nested scopes reading them) keeps all.
    """
    if d is None or type(d) is float:
        return frozenset()
    code = getattr(d, "__code__", None)
    if code is None or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return _ALL
    names = code.co_varnames[:code.co_argcount]
    if set(names) & set(code.co_cellvars):
        return _ALL  # a parameter captured by an inner function
    used = set()
    for instr in dis.get_instructions(code):
        if instr.opname.startswith("LOAD_FAST") or instr.opname.startswith("LOAD_DEREF"):
            values = instr.argval if isinstance(instr.argval, tuple) else (instr.argval,)
            used.update(v for v in values if v in names)
        elif instr.opname in ("LOAD_CLOSURE", "DELETE_FAST", "STORE_FAST") and instr.argval in names:
            return _ALL
    return frozenset(names.index(v) for v in used)


class _State(threading.local):
    """Per-thread switches; the only mutable global state of dualad.

    ``nan_safe``: while true, the chain-rule product of a tangent or
    cotangent with an elementwise partial derivative treats ``0 × inf`` and
    ``0 × nan`` as 0 -- an exactly zero tangent, cotangent or partial
    derivative contributes nothing, even next to an infinite one (``sqrt``
    at 0, the untaken side of ``np.where``).  The API turns it on only to recompute a
    derivative that came out NaN (see ``api._nan_safe_retry``).

    ``observer``: the :class:`dualad.observe.Observer` installed in this
    thread by :func:`dualad.observe.observing`, or None.
    """

    def __init__(self):
        self.nan_safe = False
        self.observer = None


STATE = _State()


def scale(t, d, out, args, params):
    """``t`` times the partial derivative ``d`` (a formula, or a constant ±1/number)."""
    if type(d) is float:
        if d == 1.0:
            return t
        if d == -1.0:
            return -t
        return t * d
    if STATE.nan_safe:
        return safe_product(t, d(out, *args, **params))
    return t * d(out, *args, **params)


def safe_product(t, d):
    """``t * d`` with ``0 × inf = 0 × nan = 0``: an exactly zero tangent (or
    cotangent), or an exactly zero partial derivative, contributes nothing
    even next to an infinite or NaN one.

    Only those entries are replaced by a constant 0.  Where both factors are
    finite the product is computed as it is, so that its own derivative
    survives when ``t`` and ``d`` are boxes of an outer transformation
    (a partial derivative that is 0 at the point but not around it, as
    ``log x`` at 1, still has a derivative)."""
    product = t * d
    nan = np.isnan(primal(product))
    if not nan.any():  # 0 × inf and 0 × nan are NaN, finite products never are
        return product
    zero_times_nonfinite = nan & ((primal(t) == 0) | (primal(d) == 0))
    if not zero_times_nonfinite.any():
        return product
    return np.where(zero_times_nonfinite, 0.0, product)


def pad_batched(t, arg_nd: int, out_nd: int):
    """Give a batched tangent ``t`` of an argument of rank ``arg_nd`` the
    output's rank, (k, 1.., *arg.shape), so broadcasting lines it up."""
    if t is None or arg_nd >= out_nd:
        return t
    s = shape_of(t)
    return np.reshape(t, s[:1] + (1,) * (out_nd - arg_nd) + s[1:])


def fill_output_shape(result, want: tuple, batch: bool):
    """An elementwise tangent that broadcasting left smaller than the output
    (shape ``want``, after the batch axis if ``batch``), broadcast to it."""
    have = shape_of(result)
    if len(have) < len(want) or have[len(have) - len(want):] != want:
        result = np.broadcast_to(result, (have[:1] if batch else ()) + want)
    return result


def broadcast_number(value, shape: tuple) -> np.ndarray:
    """A read-only array of ``shape`` whose every entry is the one number
    ``value`` (a NumPy scalar or 0-d array), without a pass over memory --
    ``np.broadcast_to(value, shape)`` at a fraction of its call cost, for the
    cotangent a full reduction pulls back."""
    value = np.asarray(value)
    out = np.ndarray(shape, value.dtype, value, 0, (0,) * len(shape))
    out.flags.writeable = False
    return out


def unbroadcast(g, shape: tuple):
    """Sum ``g`` over the axes that broadcasting added to an argument of ``shape``.

    The one place where broadcasting is undone: every binary rule's cotangent
    passes through here.
    """
    gshape = shape_of(g)
    if gshape == tuple(shape):
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, shape)


def _jvp_from_vjp(prim: Primitive):
    """Forward rule derived from a reverse rule by transposition.

    The VJP rule u -> J_i^T u is linear and written with NumPy calls, so
    reverse mode applied to it, with cotangent t_i, gives J_i t_i.
    """
    def jvp(tangents, out, *args, **params):
        from .api import vjp as _vjp  # the API layer is loaded by then
        result = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            def vjp_i(u, i=i):
                cts = _call_vjp(prim, u, out, args, params)
                c = cts[i]
                if c is None:
                    return np.zeros(shape_of(args[i]))
                if prim.elementwise and shape_of(c) != shape_of(args[i]):
                    c = unbroadcast(c, shape_of(args[i]))
                return c
            u0 = np.zeros(shape_of(out))
            _, pullback = _vjp(vjp_i, u0)
            if ndim_of(t) > ndim_of(args[i]):  # vector mode: one pullback per direction
                contribution = np.stack([pullback(t[j])[0] for j in range(shape_of(t)[0])])
            else:
                (contribution,) = pullback(t)
            result = contribution if result is None else result + contribution
        return result
    return jvp


def _vjp_from_jvp(prim: Primitive):
    """Reverse rule derived from a forward rule by transposition."""
    def vjp(g, out, *args, **params):
        from .api import vjp as _vjp
        cts = []
        for i, a in enumerate(args):
            if not isinstance(a, (np.ndarray, np.generic, float, Box)):
                cts.append(None)
                continue
            def jvp_i(t, i=i):
                ts = [None] * len(args)
                ts[i] = t
                r = _call_jvp(prim, ts, out, args, params)
                return r if r is not None else np.zeros(shape_of(out))
            _, pullback = _vjp(jvp_i, np.zeros(shape_of(a)))
            (c,) = pullback(g)
            cts.append(c)
        return tuple(cts)
    return vjp


def _call_vjp(prim, g, out, args, params):
    if prim._vjp_per_arg:
        return [rule(g, out, *args, **params) if rule is not None else None
                for rule in prim.vjp_rule]
    return list(prim.vjp_rule(g, out, *args, **params))


def _call_jvp(prim, tangents, out, args, params):
    if prim._jvp_per_arg:
        result = None
        for rule, t in zip(prim.jvp_rule, tangents):
            if t is None or rule is None:
                continue
            c = rule(t, out, *args, **params)
            result = c if result is None else result + c
        return result
    return prim.jvp_rule(tangents, out, *args, **params)




def _install_operators():
    """Python operators on boxes call the same rules as the NumPy ufuncs.

    When the other operand is raw or a box of the same transformation, this
    box's trace is the newest one involved and handles the call directly (the
    common ``x * 2.0`` and ``x + y``); otherwise the call dispatches by level.
    """
    binary = {"add": np.add, "sub": np.subtract, "mul": np.multiply,
              "truediv": np.true_divide, "pow": np.power, "matmul": np.matmul,
              "mod": np.remainder, "floordiv": np.floor_divide}

    def make(ufunc, reflected):
        def op(self, other):
            rule = UFUNC_RULES[ufunc]
            trace = self._trace
            kind = type(other)
            if not (kind is float or kind is int or isinstance(other, Box) or (
                    kind is np.ndarray and other.dtype.kind != "c")):
                other = constant(other, ufunc.__name__)
            a, b = (other, self) if reflected else (self, other)
            if type(rule) is Primitive and trace.active and (
                    not isinstance(other, Box) or other._trace is trace):
                return trace.binary(rule, a, b)
            return rule(a, b)
        return op

    def make_unary(ufunc):
        def op(self):
            rule = UFUNC_RULES[ufunc]
            trace = self._trace
            if type(rule) is Primitive and trace.active:
                return trace.process(rule, (self,), NO_PARAMS)
            return rule(self)
        return op

    for name, ufunc in binary.items():
        setattr(Box, f"__{name}__", make(ufunc, False))
        setattr(Box, f"__r{name}__", make(ufunc, True))
    compare = {"lt": np.less, "le": np.less_equal, "gt": np.greater,
               "ge": np.greater_equal, "eq": np.equal, "ne": np.not_equal}
    for name, ufunc in compare.items():
        setattr(Box, f"__{name}__", make(ufunc, False))
    for name, ufunc in {"neg": np.negative, "pos": np.positive, "abs": np.absolute}.items():
        setattr(Box, f"__{name}__", make_unary(ufunc))


_install_operators()
