"""The extension API: declare a primitive and make a NumPy function call it.

What this module lets you do
----------------------------
Teach dualad a new operation.  :func:`elementwise` declares an elementwise
primitive from one partial-derivative formula per argument, from which both
rules are made; :class:`Primitive` declares any other operation with its JVP
and VJP rules side by side (give only one and the other is derived here, by
transposition); :func:`register` makes a NumPy or SciPy function -- or an
``ndarray`` method no NumPy function dispatches back for, ``x[key]`` and
``x.astype`` -- call an implementation when a dualad value reaches it;
:func:`nondiff` wraps a function whose derivative is zero; :func:`refuse`
raises the error for an argument a rule does not implement; and
:func:`register_replacement` names the dualad function to use instead of a
library function that cannot be traced.  Every section of ``dualad.rules``
and ``dualad.scipy`` is declared with this API alone, as a user's own
primitive is (docs/extending.md).

The invariant
-------------
Declaring only fills core's tables (``UFUNC_RULES``, ``FUNCTION_RULES``,
``SIGNATURES``, ``METHOD_RULES``, ``REPLACEMENTS``); core's dispatch reads
them.  This module sits right above core and imports nothing else from
dualad when it is loaded.  A derived rule runs reverse mode on the rule it
was derived from, so it imports ``dualad.api`` the first time it runs, when
every layer is loaded; core reaches the derivation through the hook this
module installs (``core.install_rule_derivation``), never by importing it.
"""

from __future__ import annotations

import dis
import inspect
from typing import Callable

import numpy as np

from . import core
from .core import (is_complex, FUNCTION_RULES, METHOD_RULES, REPLACEMENTS, SIGNATURES, UFUNC_RULES, Box,
                   Primitive, _call_jvp, _is_default, ndim_of, primal, public_name, refuse,
                   shape_of, unbroadcast)
from .chain import factor, times

__all__ = ["Primitive", "elementwise", "register", "nondiff", "refuse",
           "register_replacement"]


# ---- declaring ---------------------------------------------------------------------
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
        # the chain rule's one product (dualad.chain), per argument
        return lambda t, out, *args, **params: times(t, factor(d, out, args, params))
    rules = tuple(rule(d) for d in derivs)
    return Primitive(name, impl, rules, rules, elementwise=True, doc=doc, derivs=derivs,
                     residuals=tuple(_used_inputs(d) for d in derivs))


def nondiff(fn: Callable) -> Callable:
    """Wrap a function whose output has zero derivative (comparisons,
    rounding, ``sign``...): it runs on the raw primal values.

    Only for functions whose every float output is piecewise constant in
    every float input; ``tests/test_zero_derivative.py`` finds each such
    registration by its ``nondiff_of`` attribute and checks that claim by
    perturbing the inputs."""
    def wrapper(*args, **kwargs):
        if any(isinstance(v, Box) for v in _out_arguments(fn, args, kwargs)):
            refuse(public_name(fn), "out", "a value dualad is differentiating cannot be "
                   "written into: its derivative would not follow; use the returned value")
        return fn(*[primal(a) for a in args],
                  **{k: primal(v) for k, v in kwargs.items()})
    wrapper.__name__ = getattr(fn, "__name__", "nondiff")
    wrapper.__doc__ = fn.__doc__
    wrapper.nondiff_of = fn
    return wrapper


def _out_arguments(fn, args, kwargs) -> list:
    """The values given for ``fn``'s ``out=`` parameter, by keyword or by
    position (a ufunc's outputs follow its inputs)."""
    found = []
    out = kwargs.get("out")
    if out is not None:
        found += list(out) if isinstance(out, tuple) else [out]
    if isinstance(fn, np.ufunc):
        found += list(args[fn.nin:])
    elif len(args) > 1:
        position = core.OUT_POSITIONS.get(fn, -1)
        if position == -1:
            try:
                names = list(inspect.signature(fn).parameters)
                position = names.index("out") if "out" in names else None
            except (TypeError, ValueError):
                position = None
            core.OUT_POSITIONS[fn] = position
        if position is not None and len(args) > position:
            found.append(args[position])
    return found


# ---- registering -------------------------------------------------------------------
def register(numpy_function: Callable, implementation: Callable) -> None:
    """Make ``numpy_function`` (a ufunc or any NumPy/SciPy function that
    dispatches through ``__array_function__``) call ``implementation`` when
    one of its arguments is a dualad value.  An ``ndarray`` method that no
    NumPy function dispatches back for (``np.ndarray.__getitem__``,
    ``np.ndarray.astype``) makes the dualad value's method of that name call
    ``implementation(value, ...)``.

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
    elif getattr(numpy_function, "__objclass__", None) is np.ndarray:
        METHOD_RULES[numpy_function.__name__] = implementation
    else:
        FUNCTION_RULES[numpy_function] = implementation
        SIGNATURES.pop(numpy_function, None)
        spec = _Signature.of(numpy_function, implementation)
        if spec is not None:
            SIGNATURES[numpy_function] = spec


def register_replacement(function: str, replacement: str) -> None:
    """Name ``replacement`` in the error raised when the library function
    ``function`` (``"scipy.special.logsumexp"``) converts a traced value with
    ``np.asarray``: the way out, for a function that cannot be traced."""
    prefix, name = function.rsplit(".", 1)
    REPLACEMENTS[(prefix, name)] = replacement


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


# ---- what a derivative formula reads -----------------------------------------------
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


# ---- rules derived by transposition ------------------------------------------------
def _jvp_from_vjp(prim: Primitive):
    """Forward rule derived from a reverse rule by transposition.

    The VJP rule u -> J_i^T u is linear and written with NumPy calls, so
    reverse mode applied to it, with cotangent t_i, gives J_i t_i.
    """
    def jvp(tangents, out, *args, **params):
        from .api import vjp as _vjp  # at call time: every layer is loaded by then
        result = None
        for i, t in enumerate(tangents):
            if t is None:
                continue
            def vjp_i(u, i=i):
                cts = _call_vjp(prim, u, out, args, params)
                c = cts[i]
                if c is None:
                    return _zeros_like(args[i])
                if prim.elementwise and shape_of(c) != shape_of(args[i]):
                    c = unbroadcast(c, shape_of(args[i]))
                return c
            u0 = _zeros_like(out)  # complex for a complex output: its imaginary part counts
            _, pullback = _vjp(vjp_i, u0)
            if ndim_of(t) > ndim_of(args[i]):  # vector mode: one pullback per direction
                contribution = np.stack([pullback(t[j])[0] for j in range(shape_of(t)[0])])
            else:
                (contribution,) = pullback(t)
            result = contribution if result is None else result + contribution
        return result
    return jvp


def _zeros_like(value):
    """Real zeros shaped like ``value``, complex ones for a complex value."""
    return np.zeros(shape_of(value), dtype=complex if is_complex(value) else float)


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
                return r if r is not None else _zeros_like(out)
            _, pullback = _vjp(jvp_i, _zeros_like(a))
            (c,) = pullback(g)
            cts.append(c)
        return tuple(cts)
    return vjp


def _call_vjp(prim, g, out, args, params):
    if prim._vjp_per_arg:
        return [rule(g, out, *args, **params) if rule is not None else None
                for rule in prim.vjp_rule]
    return list(prim.vjp_rule(g, out, *args, **params))


def _derive_rule(prim: Primitive, missing: str):
    """The rule ``prim`` was declared without (``"jvp"`` or ``"vjp"``), made
    by transposing the one it has."""
    return _jvp_from_vjp(prim) if missing == "jvp" else _vjp_from_jvp(prim)


core.install_rule_derivation(_derive_rule)
