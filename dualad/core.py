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

What is not here
----------------
Declaring primitives and registering them (``dualad.extend``), the rules
themselves (``dualad.rules``), and deriving a missing rule by transposition,
which needs reverse mode: ``dualad.extend`` installs that derivation into
:class:`Primitive` when it is imported (:func:`install_rule_derivation`), so
core imports nothing of dualad.

Global state
------------
All of dualad's global state is in one section below ("global state"):
``_LEVELS`` (a counter); the dispatch tables ``UFUNC_RULES``,
``FUNCTION_RULES``, ``SIGNATURES``, ``METHOD_RULES`` and ``REPLACEMENTS``,
filled when ``dualad.rules`` is imported; the rule derivation hook, set once
by ``dualad.extend``; the memo tables ``SLICE_INDEXES``, ``IDENTITY_SEEDS`` and
``AXIS_PERMUTATIONS`` (bounded, pure functions of their keys) and
``_LIBRARY_DIRS`` and ``OUT_POSITIONS`` (found on first use); the counts
``NAN_SAFE_THREADS`` and ``OBSERVERS_OPEN`` (read by the hot paths first); the constants ``RESIDUAL_MIN_SIZE``
and ``NO_PARAMS``; ``PROCESS_MEMORY`` (the tracemalloc session that cost counts share);
``INVALID_EVENTS`` (a count of NumPy's invalid-operation reports);
``STAGED_CONSTANTS`` (dualad.replay's shared copies of constant arrays, weak); and
``STATE``, per-thread switches (``nan_safe``, and the ``observer``
that :mod:`dualad.observe` installs).
Traces are reached only through the boxes that refer to them, so threads
never see each other's transformations.
"""

from __future__ import annotations

import inspect
import itertools
import sys
import threading
import types
from typing import Any, Callable, Sequence

import numpy as np

__all__ = [
    "Box", "Trace", "Primitive", "primal", "lowest", "concrete", "shape_of", "ndim_of", "unwrap",
    "UFUNC_RULES", "FUNCTION_RULES", "METHOD_RULES", "LeakedValueError",
    "unbroadcast", "refuse", "REPLACEMENTS", "install_rule_derivation",
]


# ---- global state ------------------------------------------------------------------
# Everything of dualad that outlives one call, listed in the module docstring.

# tracemalloc and the collector's frozen generations act on the whole
# process: dualad.costs' counts running at once (in several threads) share
# one tracing session, started by the first and stopped by the last.
PROCESS_MEMORY = {"lock": threading.Lock(), "running": 0, "started": False}

# Dispatch tables, filled by dualad.extend.register when dualad.rules is
# imported.  NumPy function -> callable implementing it for boxed arguments:
UFUNC_RULES: dict = {}
FUNCTION_RULES: dict = {}
# NumPy function -> what its registered implementation accepts (extend._Signature).
SIGNATURES: dict = {}
# ndarray method name ("__getitem__", "astype") -> implementation, for the
# methods of Box that no NumPy function dispatches back for.
METHOD_RULES: dict = {}
# How many invalid floating-point operations (0 × inf, 0/0, inf - inf, ...)
# NumPy has reported while dualad watches (dualad.nan_safe.watching): a
# chain-rule product during which the count moves is checked for 0 × inf,
# and a NaN derivative with no event since its tape began is not retried.
INVALID_EVENTS = [0]
# How many threads have STATE.nan_safe on (changed only by dualad.nan_safe,
# under the lock): the hot paths read this list first and the thread-local
# switch only when some thread is NaN-safe at all.
NAN_SAFE_THREADS = [0, threading.Lock()]
# Whether a complex value has met dualad in this process (set by
# note_complex, never cleared): the reverse chain rule takes the real part of
# a real argument's cotangent (dualad.chain), and checks only while this is set.
COMPLEX_SEEN = [False]
# How many observing blocks are open in all threads (changed only by
# dualad.observe.observing, under the lock): the hot path of a primitive
# called on raw values reads this before the thread-local observer.
OBSERVERS_OPEN = [0, threading.Lock()]
# no-derivative function -> position of its out= parameter (None: it has
# none), memoised from its signature on first use (extend.nondiff).
OUT_POSITIONS: dict = {}
# (package prefix, function name) -> dualad replacement, named in the error
# raised when that function converts a traced value with np.asarray.
REPLACEMENTS: dict = {}

# derive(prim, "jvp" or "vjp") -> the rule a Primitive was declared without,
# made from the one it has; set once by dualad.extend.
_RULE_DERIVATION: Callable | None = None

_LEVELS = itertools.count(1)

# Memo tables of values that depend only on their keys, asked for again and
# again on hot paths; each is cleared when it holds more than MEMO_LIMIT.
MEMO_LIMIT = 4096
SLICE_INDEXES: dict = {}      # rules.shape: (start, stop, step, ndim) of a plain slice -> Index
# api.jacrev: (m, dtype) -> the read-only identity it pulls back, for m of at
# most IDENTITY_MAX_SIZE (a 300 x 300 identity costs as much to fill as the
# derivative of a small f; 512 x 512 is 2 MB); cleared past IDENTITY_MEMO entries
IDENTITY_SEEDS: dict = {}
IDENTITY_MAX_SIZE, IDENTITY_MEMO = 512, 8
AXIS_PERMUTATIONS: dict = {}  # rules.shape: (ndim, function, typed arguments) -> permutation
_LIBRARY_DIRS: tuple = ()     # where installed libraries live (error hints), found on first use

# Arrays at least this large are replaced by a Residual when unneeded; for
# smaller ones the bookkeeping would cost more than the memory saved.
RESIDUAL_MIN_SIZE = 4096

NO_PARAMS: dict = {}  # the shared, never mutated params of operator calls
# dualad.replay's copies of arrays its programs hold as constants: id(array) ->
# (weak reference to the array, weak reference to the read-only copy), so that
# the programs of one objective (value and gradient, HVPs ...) share one copy
# of its data instead of one each.  Weak both ways: it keeps nothing alive.
STAGED_CONSTANTS: dict = {}


class _State(threading.local):
    """Per-thread switches.

    ``nan_safe``: while true, the chain-rule product of a tangent or
    cotangent with an elementwise partial derivative treats ``0 × inf`` and
    ``0 × nan`` as 0 -- an exactly zero tangent, cotangent or partial
    derivative contributes nothing, even next to an infinite one (``sqrt``
    at 0, the untaken side of ``np.where``).  The API turns it on only to redo
    a derivative pass that came out NaN (see ``dualad.nan_safe``).
    """

    def __init__(self):
        self.nan_safe = False
        self.observer = None  # the dualad.observe.Observer of this thread, or None


STATE = _State()


def install_rule_derivation(derive: Callable) -> None:
    """Let :class:`Primitive` be declared with one rule: ``derive(prim,
    missing)`` makes the ``missing`` one (``"jvp"`` or ``"vjp"``).  Called once,
    by ``dualad.extend``, which derives rules by transposition."""
    global _RULE_DERIVATION
    _RULE_DERIVATION = derive


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


def concrete(x):
    """The raw values under ``x`` (a plain ndarray, or the scalar; while
    :mod:`dualad.staging` records, the staged value, so that a check on it is a
    guard of the program), for a library's own checks
    of this point's values (NaN, finiteness, domain errors).  Global sparsity
    detection (``dualad.sparse``) traces with primal values of an ndarray
    subclass that refuses Python branches -- the branch could go either way at
    another x; a check that does not shape the derivative reads this instead."""
    value = primal(x)
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        return value.view(np.ndarray)
    return value


def lowest(x, dtype=None):
    """The value under every box of differentiation, as an array.

    ``np.asarray(primal(x))``, except while :mod:`dualad.staging` records a
    program: then it is the staged value itself, so that what the library
    computes from it (a mask, a shift, a pivot order) is recorded too rather
    than becoming a constant of the program.  Use it where library code needs
    the values of an argument to compute with NumPy calls; use
    :func:`concrete` for checks whose outcome Python acts on."""
    p = primal(x)
    if isinstance(p, Box):
        return p if dtype is None or p.dtype == np.dtype(dtype) else p.astype(dtype)
    return np.asarray(p, dtype=dtype)


def primal(x):
    """The raw NumPy value under any number of boxes.

    While :mod:`dualad.replay` records a program, the raw values are its
    staged values (boxes with ``_bottom`` set): primal stops there, so that
    computations on primal values are recorded too, not baked in."""
    while isinstance(x, Box) and not x._bottom:
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


def _exported_object_name(obj) -> str | None:
    """``scipy.stats.norm`` for the object a public module exports under
    that name (searched in the public heads of its class's module), or None."""
    public = [p for p in type(obj).__module__.split(".") if not p.startswith("_")]
    for n in range(1, len(public) + 1):
        candidate = ".".join(public[:n])
        mod = sys.modules.get(candidate)
        for key, value in (vars(mod).items() if mod is not None else ()):
            if value is obj and not key.startswith("_"):
                return f"{candidate}.{key}"
    return None


def _public_function_name(frame):
    """``scipy.linalg.cho_solve`` for a frame of
    ``scipy.linalg._decomp_cholesky.cho_solve``; ``scipy.stats.norm.logpdf``
    for a method of an object a public module exports (SciPy's distributions
    are instances); for a decorator's wrapper, the public function it wraps
    (a function among its free variables); None if no public module exports
    any of them."""
    code = frame.f_code
    owner = frame.f_locals.get("self") if code.co_varnames[:1] == ("self",) else None
    if owner is not None and not isinstance(owner, (type, types.ModuleType)):
        owner_name = _exported_object_name(owner)
        if owner_name is not None:
            return f"{owner_name}.{code.co_name}"
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


# What assigning a traced value into a NumPy array means (NumPy converts the
# value with float(), then reports a ValueError caused by our TypeError:
# dualad.api._call turns that into this message).
STORE_MESSAGE = (
    "A NumPy array holds plain numbers only, so storing a value that dualad is "
    "differentiating into one (y[i] = ..., y[mask] = ...) would drop its "
    "derivative. Build the array from the traced values instead: "
    "np.stack([...]) or np.concatenate([...]) to assemble pieces, "
    "np.where(mask, new, y) to replace entries.")


def _no_conversion(what: str, detail: str = ""):
    """A conversion method that raises: ``what`` names the conversion,
    ``detail`` (optional) says who else calls it, so the message covers every
    way the user can have reached it."""
    def method(self, *args, **kwargs):
        caller = sys._getframe(1)
        raise TypeError(
            f"{what} of a value that dualad is differentiating would drop its "
            f"derivative{detail}. Keep the computation in NumPy functions instead: "
            "use np.where for branches on values, np.stack / np.concatenate "
            "to build arrays, and NumPy ufuncs (np.exp, np.sin, np.sqrt, ...) instead "
            "of the math module's (math.exp, math.sin, math.sqrt, ...)." + _caller_hint(caller))
    method.__name__ = what
    return method


def _no_inplace(name: str, instead: str):
    def method(self, *args, **kwargs):
        raise TypeError(
            f"x.{name}() changes an array in place, which dualad's values do not "
            f"allow (the derivative of the old entries would be lost). Use {instead} "
            "and keep the result instead.")
    method.__name__ = name
    return method


# Python operators on boxes call the same rules as the NumPy ufuncs.  When
# the other operand is raw or a box of the same transformation, this box's
# trace is the newest one involved and handles the call directly (the common
# ``x * 2.0`` and ``x + y``); otherwise the call dispatches by level.
def _binary_operator(ufunc, reflected: bool = False):
    def op(self, other):
        rule = UFUNC_RULES[ufunc]
        trace = self._trace
        kind = type(other)
        if not (kind is float or kind is int or kind is np.float64 or isinstance(other, Box) or (
                kind is np.ndarray and other.dtype.kind != "c")):
            other = constant(other, ufunc.__name__)
        a, b = (other, self) if reflected else (self, other)
        if type(rule) is Primitive and trace.active and (
                not isinstance(other, Box) or other._trace is trace):
            return trace.binary(rule, a, b)
        return rule(a, b)
    return op


def _unary_operator(ufunc):
    def op(self):
        rule = UFUNC_RULES[ufunc]
        trace = self._trace
        if type(rule) is Primitive and trace.active:
            return trace.process(rule, (self,), NO_PARAMS)
        return rule(self)
    return op


def _numpy_method(fn):
    """``x.name(...)`` as ``fn(x, ...)``: NumPy's function dispatches back
    through ``__array_function__`` to its registered rule at call time."""
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = getattr(fn, "__name__", "method")
    return method

class Box:
    """A primal value wrapped by one transformation (base of Dual and TapeValue).

    Boxes behave like read-only NumPy arrays: operators, ``np.*`` functions
    with rules, attributes such as ``.shape`` and the common methods.  The
    whole interface is this class body: a method either calls NumPy's
    function of the same name (which dispatches back through
    ``__array_function__``) or, for ``x[key]`` and ``x.astype``, the
    implementation registered in ``METHOD_RULES``.
    """

    __slots__ = ("_value", "_trace")
    __array_priority__ = 1000.0
    _bottom = False  # True for dualad.replay's staged values, where primal() stops

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

    # np.asarray(x), np.array(x) and y[:k] = x / y[mask] = x all reach here
    # (NumPy converts the stored value with __array__), so the message names both
    def __array__(self, *args, **kwargs):
        raise TypeError(
            "Converting a value that dualad is differentiating to a NumPy array "
            "(np.asarray / np.array) would drop its derivative. " + STORE_MESSAGE
            + _caller_hint(sys._getframe(1)))
    # Python's math functions convert their argument with __float__ (cmath's
    # with __complex__) before any dualad code runs, so from here a call of
    # math.exp(x) looks exactly like float(x): the message names both.
    __float__ = _no_conversion(
        "float()", " (Python calls float() both for float(x) and inside math-module "
        "functions such as math.exp, math.sin and math.sqrt)")
    __int__ = _no_conversion(
        "int()", " (Python calls int() for int(x), inside math-module functions such as "
        "math.factorial and math.comb, and when storing a value that dualad is "
        "differentiating into an integer NumPy array, y[i] = ...: build that array with "
        "np.stack / np.concatenate / np.where instead)")
    __complex__ = _no_conversion(
        "complex()", " (Python calls complex() both for complex(x) and inside cmath "
        "functions such as cmath.exp)")
    __index__ = _no_conversion("Using as an index")
    item = _no_conversion(".item()")
    # code that reads the memory layout (scipy.linalg.circulant's stride tricks)
    # would build a plain array from it: a property, so reading it raises
    strides = property(_no_conversion("Reading the memory layout (.strides)"))
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

    def __copy__(self):
        return self  # boxes are never changed in place

    def __deepcopy__(self, memo):
        return self

    def __reduce__(self):
        raise TypeError("a value dualad is differentiating cannot be pickled: its "
                        "derivative would be lost. Pickle the inputs, or the results "
                        "after the transformation returns.")

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

    # ---- operators ---------------------------------------------------------------
    __add__, __radd__ = _binary_operator(np.add), _binary_operator(np.add, True)
    __sub__, __rsub__ = _binary_operator(np.subtract), _binary_operator(np.subtract, True)
    __mul__, __rmul__ = _binary_operator(np.multiply), _binary_operator(np.multiply, True)
    __truediv__ = _binary_operator(np.true_divide)
    __rtruediv__ = _binary_operator(np.true_divide, True)
    __pow__, __rpow__ = _binary_operator(np.power), _binary_operator(np.power, True)
    __matmul__ = _binary_operator(np.matmul)
    __rmatmul__ = _binary_operator(np.matmul, True)
    __mod__, __rmod__ = _binary_operator(np.remainder), _binary_operator(np.remainder, True)
    __divmod__, __rdivmod__ = _binary_operator(np.divmod), _binary_operator(np.divmod, True)
    __floordiv__ = _binary_operator(np.floor_divide)
    __rfloordiv__ = _binary_operator(np.floor_divide, True)
    __lt__, __le__ = _binary_operator(np.less), _binary_operator(np.less_equal)
    __gt__, __ge__ = _binary_operator(np.greater), _binary_operator(np.greater_equal)
    __eq__, __ne__ = _binary_operator(np.equal), _binary_operator(np.not_equal)
    __neg__, __pos__ = _unary_operator(np.negative), _unary_operator(np.positive)
    __abs__ = _unary_operator(np.absolute)

    # ---- indexing and casting: no NumPy function dispatches back for them --------
    def __getitem__(self, key):
        return METHOD_RULES["__getitem__"](self, key)

    def astype(self, *args, **kwargs):
        return METHOD_RULES["astype"](self, *args, **kwargs)

    # ---- array methods, each NumPy's function of the same name -------------------
    @property
    def T(self):
        return np.transpose(self)

    @property
    def mT(self):
        return np.swapaxes(self, -1, -2)

    @property
    def real(self):
        return np.real(self)

    @property
    def imag(self):
        return np.imag(self)

    def conj(self):
        return np.conjugate(self)

    conjugate = conj

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not np.isscalar(shape[0]):
            shape = tuple(shape[0])
        return np.reshape(self, shape, order=order)

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or not np.isscalar(axes[0])):
            axes = axes[0]
        return np.transpose(self, axes if axes else None)

    def clip(self, min=None, max=None, out=None, **kwargs):
        # either bound may be left out, as for arrays
        return np.clip(self, min, max, out=out, **kwargs)

    def copy(self, order="C"):
        return np.copy(self, order=order)

    def flatten(self, order="C"):
        return np.ravel(self, order=order)

    sum, mean, prod = _numpy_method(np.sum), _numpy_method(np.mean), _numpy_method(np.prod)
    max, min = _numpy_method(np.max), _numpy_method(np.min)
    var, std = _numpy_method(np.var), _numpy_method(np.std)
    cumsum, cumprod = _numpy_method(np.cumsum), _numpy_method(np.cumprod)
    dot, trace = _numpy_method(np.dot), _numpy_method(np.trace)
    ravel, squeeze = _numpy_method(np.ravel), _numpy_method(np.squeeze)
    swapaxes, diagonal = _numpy_method(np.swapaxes), _numpy_method(np.diagonal)
    take, repeat = _numpy_method(np.take), _numpy_method(np.repeat)
    argmax, argmin = _numpy_method(np.argmax), _numpy_method(np.argmin)
    argsort, nonzero = _numpy_method(np.argsort), _numpy_method(np.nonzero)
    argpartition = _numpy_method(np.argpartition)

    def searchsorted(self, v, side="left", sorter=None):
        return np.searchsorted(self, v, side=side, sorter=sorter)

    def compress(self, condition, axis=None, out=None):
        return np.compress(condition, self, axis=axis, out=out)
    all, any, round = _numpy_method(np.all), _numpy_method(np.any), _numpy_method(np.round)

    # ---- in-place changes, refused ----------------------------------------------
    sort = _no_inplace("sort", "np.sort(x)")
    partition = _no_inplace("partition", "np.partition(x, kth)")
    fill = _no_inplace("fill", "np.full_like / np.where")
    resize = _no_inplace("resize", "np.reshape or np.concatenate")
    put = _no_inplace("put", "np.where")
    setfield = _no_inplace("setfield", "np.where")


def _missing_rule_message(func) -> str:
    name = public_name(func)
    caller = _outermost_library_caller(sys._getframe(2))
    inside = f" (It was called inside {caller}, on a traced argument.)" if caller else ""
    return (f"dualad has no derivative rule for {name}.{inside} Declare one with "
            "dualad.Primitive(...) and register it with dualad.register("
            f"{name}, ...) -- see docs/extending.md.")


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
        note_complex()
    # NumPy's own result on the primal values: its value where there is no
    # derivative, its error where it has no loop for dtype, and its dtype.
    expected = ufunc(*[primal(a) for a in inputs], dtype=dtype, **passed)
    if dtype.kind not in "fc":
        return expected
    out = rule(*[a.astype(d) if isinstance(a, Box) else np.asarray(a, dtype=d)
                 for a, d in zip(inputs, _loop_dtypes(ufunc, inputs, dtype))], **passed)
    if type(out) is tuple:  # a ufunc of several outputs (modf, divmod): each in NumPy's dtype
        return tuple(o if np.result_type(primal(o)) == e.dtype else o.astype(e.dtype)
                     for o, e in zip(out, expected))
    want = np.result_type(expected)
    return out if np.result_type(primal(out)) == want else out.astype(want)


def _loop_dtypes(ufunc, inputs, dtype) -> tuple:
    """The input dtypes of the loop NumPy runs for ``dtype=``: mostly
    ``dtype`` itself, but an integer operand stays an integer where the loop
    takes one (ldexp's exponent)."""
    operands = tuple(type(a) if type(a) in (int, float, complex) else np.result_type(primal(a))
                     for a in inputs)
    try:
        return ufunc.resolve_dtypes(operands + (None,) * ufunc.nout,
                                    signature=(None,) * ufunc.nin + (dtype,) * ufunc.nout)[:ufunc.nin]
    except (TypeError, ValueError, NotImplementedError):
        return (dtype,) * len(inputs)


def _noting_complex(impl: Callable) -> Callable:
    """``impl``, calling :func:`note_complex` when it returns a complex value
    (a user's primitive ``exp(1j * t)``, or a checkpointed segment whose
    constants are complex: no other part of dualad sees those values made)."""
    def noting(*args, **params):
        out = impl(*args, **params)
        if not COMPLEX_SEEN[0] and any(np.iscomplexobj(o) for o in
                                       (out if type(out) in (tuple, list) else (out,))):
            note_complex()
        return out
    noting.__wrapped__ = impl
    noting.__name__ = getattr(impl, "__name__", "impl")
    noting.__doc__ = getattr(impl, "__doc__", None)
    return noting


def note_complex() -> None:
    """Record that complex values are in play (``COMPLEX_SEEN``): called
    where one can first appear -- a differentiated input, a constant, a
    complex ``dtype=``, a transform to the frequency domain."""
    COMPLEX_SEEN[0] = True


def is_complex(value) -> bool:
    """Is a raw, boxed or pruned value complex?"""
    t = type(value)
    if t is np.ndarray or t is Residual:
        return value.dtype.kind == "c"
    if t is float or t is int:
        return False
    return np.iscomplexobj(primal(value))


def constant(value, where: str):
    """A non-traced argument of a primitive, as NumPy sees it.

    Lists and tuples become arrays (so that derivative formulas computing
    with them get NumPy's arithmetic, not Python's sequence operators);
    Python scalars stay as they are (NumPy treats them as weakly typed, so
    ``x32 * 2.0`` stays float32).  A complex constant turns on the complex
    bookkeeping (:func:`note_complex`); ndarray subclasses whose arithmetic
    differs from ndarray's are refused."""
    kind = type(value)
    if kind is np.ndarray:
        if value.dtype.kind == "c":
            note_complex()
        return value
    if kind is list or kind is tuple:
        return constant(np.asarray(value), where)
    if kind is complex or (isinstance(value, np.generic) and value.dtype.kind == "c"):
        note_complex()
        return value
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


def refuse(function: str, parameter: str, why: str = "") -> None:
    """Raise the TypeError for an argument dualad does not implement.

    ``function`` is the public name (``"numpy.sum"``), ``parameter`` the
    argument's name as NumPy spells it.  Every argument of a registered
    function is either honoured with NumPy's semantics or refused here --
    never silently ignored.  (Part of the extension API, ``dualad.extend``;
    defined here because dispatch refuses ufunc keywords with it.)"""
    raise TypeError(f"dualad does not support the argument {parameter}= of {function}"
                    f"{' with this value' if not why else ''}{': ' + why if why else ''}. "
                    "Leave it out, or compute that part outside the differentiated "
                    "function.")


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
    accumulate, linear_map, add_into : callable, optional
        Fast paths of reverse mode and of ``linearize``'s compiled sweep, for
        linear primitives of one argument (all optional; without them the
        rules above are used).  ``accumulate(acc, g, out, *args, **params)
        -> bool`` adds the cotangent of the argument into the raw array
        ``acc`` in place (False when it cannot).  ``linear_map(vals, params,
        batch)`` returns the JVP as a function of the tangent alone
        (``t -> tangent of out``), built once per compiled sweep, or None.
        ``add_into(params)`` returns ``(acc, t) -> bool`` adding the
        argument into an existing raw array in place, for a primitive whose
        output is zeros with its argument placed in it (a scatter).
    derivs, residuals : tuple, optional
        Set by :func:`dualad.elementwise`: the partial-derivative formulas
        the rules were made from, and for each which of ``(out, *args)`` it
        reads (the tape keeps only those; None keeps everything).
    value_shaped : bool
        The output's shape depends on the values of float arguments, not on
        their shapes alone (``np.roots`` drops zero coefficients):
        :mod:`dualad.staging` checks the shape at every replay.

    Rules must use NumPy calls (or other primitives) on the values they are
    given, never their raw ``primal()``: those values may be boxes of outer
    transformations, and the rules' own operations are what get
    differentiated at higher order.  Tangents may carry leading batch axes
    (vector mode): write shape logic relative to the *trailing* axes,
    e.g. with negative ``axis`` values.
    """

    __slots__ = ("name", "impl", "jvp_rule", "vjp_rule", "elementwise",
                 "multiple_results", "_jvp_per_arg", "_vjp_per_arg", "derivs",
                 "residuals", "accumulate", "linear_map", "add_into", "doc", "value_shaped")

    def __init__(self, name: str, impl: Callable, jvp: Callable | Sequence | None = None,
                 vjp: Callable | Sequence | None = None, *,
                 elementwise: bool = False, multiple_results: bool = False,
                 doc: str | None = None, accumulate: Callable | None = None,
                 linear_map: Callable | None = None, add_into: Callable | None = None,
                 derivs: tuple | None = None, residuals: tuple | None = None,
                 value_shaped: bool = False) -> None:
        if jvp is None and vjp is None:
            raise ValueError(f"primitive {name!r} needs a jvp rule, a vjp rule, or both")
        self.name = name
        # a ufunc of real arguments never returns complex values unasked
        # (dtype= is noted where it is read); any other implementation might
        self.impl = impl if isinstance(impl, np.ufunc) else _noting_complex(impl)
        self.elementwise = elementwise
        self.multiple_results = multiple_results
        self.jvp_rule = jvp if jvp is not None else _derived_rule(self, "jvp")
        self.vjp_rule = vjp if vjp is not None else _derived_rule(self, "vjp")
        self._jvp_per_arg = isinstance(self.jvp_rule, (tuple, list))
        self._vjp_per_arg = isinstance(self.vjp_rule, (tuple, list))
        self.derivs = derivs
        self.residuals = residuals
        self.accumulate = accumulate
        self.linear_map = linear_map
        self.add_into = add_into
        self.doc = doc or getattr(impl, "__doc__", None)
        self.value_shaped = value_shaped

    def __repr__(self) -> str:
        return f"<dualad primitive {self.name}>"

    def __call__(self, *args: Any, **params: Any) -> Any:
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
                elif not (type(a) is float or type(a) is int or type(a) is np.float64 or (
                        type(a) is np.ndarray and a.dtype.kind != "c")):
                    plain = False
            if top is not None and not plain:
                args = tuple(a if isinstance(a, Box) else constant(a, self.name)
                             for a in args)
        if top is None:
            out = self.impl(*args, **params)
            if OBSERVERS_OPEN[0] and STATE.observer is not None:
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


def _derived_rule(prim: Primitive, missing: str):
    if _RULE_DERIVATION is None:
        raise RuntimeError(f"primitive {prim.name!r} was declared without a {missing} "
                           "rule, which only dualad.extend can derive: import dualad")
    return _RULE_DERIVATION(prim, missing)


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


