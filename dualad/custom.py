"""Custom derivative rules in JAX's decorator form: ``custom_jvp`` and ``custom_vjp``.

What this module lets you do
----------------------------
Give a function of arrays your own derivative -- a stable formula, an
analytic shortcut, a gradient clipped on the way back -- and use it in
every mode and nesting of dualad::

    >>> import numpy as np, dualad as ad
    >>> @ad.custom_jvp
    ... def log1pexp(x):
    ...     return np.log1p(np.exp(x))
    >>> @log1pexp.defjvp
    ... def log1pexp_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return log1pexp(x), t / (1 + np.exp(-x))   # stable at large x
    >>> float(ad.grad(log1pexp)(100.0))
    1.0

How
---
Each decorated function becomes one :class:`dualad.Primitive`: its
implementation is the function itself, run on raw arrays, and its rule the
one you give.  The rule you do not give is derived by transposing yours
(both are linear maps written with NumPy calls), which is what lets a
``custom_vjp`` function run under forward mode and inside ``hvp`` -- JAX's
``custom_vjp`` cannot.  Rules must be written with NumPy calls on the values
they receive (which may be dualad's values of outer transformations), so
that second derivatives differentiate the rule itself.

Arguments named in ``nondiff_argnums`` are static (not differentiated, not
traced: numbers, strings, callables); they are passed to the rules first,
as in JAX.  The other arguments must be arrays (or scalars), one derivative
each; pytree arguments are not supported.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .core import ndim_of
from .extend import Primitive

__all__ = ["custom_jvp", "custom_vjp"]


def _split(args: tuple, nondiff: tuple):
    static = tuple(args[i] for i in nondiff)
    diff = tuple(a for i, a in enumerate(args) if i not in nondiff)
    return static, diff


def _merge(static: tuple, diff: tuple, nondiff: tuple) -> list:
    full, s, d = [], iter(static), iter(diff)
    for i in range(len(static) + len(diff)):
        full.append(next(s) if i in nondiff else next(d))
    return full


def _per_direction(rule, tangents, primals):
    """Vector mode hands rules ``k`` tangents on a leading axis; a user's rule
    is written for one, so it is applied direction by direction."""
    batched = any(t is not None and ndim_of(t) > ndim_of(x) for t, x in zip(tangents, primals))
    if not batched:
        return rule(tangents)
    k = next(np.shape(t)[0] for t, x in zip(tangents, primals)
             if t is not None and ndim_of(t) > ndim_of(x))
    rows = [rule([None if t is None else t[i] for t in tangents]) for i in range(k)]
    return np.stack(rows)


class _Custom:
    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int], kind: str) -> None:
        self.fun = fun
        self.nondiff = tuple(sorted(int(i) for i in nondiff_argnums))
        self.kind = kind
        self.prim = None
        self.__name__ = getattr(fun, "__name__", "custom")
        self.__doc__ = getattr(fun, "__doc__", None)

    def __call__(self, *args: Any) -> Any:
        if self.prim is None:
            need = "defjvp" if self.kind == "custom_jvp" else "defvjp"
            raise TypeError(f"{self.kind} function {self.__name__} has no rule yet: "
                            f"call .{need}(...) on it first")
        for i in self.nondiff:
            if i >= len(args):
                raise TypeError(f"{self.__name__}: nondiff_argnums names argument {i}, "
                                f"but {len(args)} were given")
        static, diff = _split(args, self.nondiff)
        return self.prim(*diff, static=static)

    def _impl(self, *diff, static):
        return self.fun(*_merge(static, diff, self.nondiff))


class custom_jvp(_Custom):
    """A function with a forward rule of your own (JAX's ``jax.custom_jvp``).

    ``@f.defjvp`` takes ``jvp(*nondiff_args, primals, tangents) -> (out,
    tangent_out)``; a zero tangent arrives as an array of zeros.  Reverse
    mode transposes the rule (its ``tangent_out`` must be linear in the
    tangents, as a JVP is).
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()) -> None:
        super().__init__(fun, nondiff_argnums, "custom_jvp")

    def defjvp(self, jvp: Callable) -> Callable:
        def rule(tangents, out, *diff, static):
            def one(ts):
                ts = [np.zeros_like(x) if t is None else t for t, x in zip(ts, diff)]
                return jvp(*static, tuple(diff), tuple(ts))[1]
            return _per_direction(one, tangents, diff)

        self.prim = Primitive(self.__name__, self._impl, jvp=rule)
        return jvp


class custom_vjp(_Custom):
    """A function with a backward rule of your own (JAX's ``jax.custom_vjp``).

    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)``, ``bwd(*nondiff_args,
    residuals, g) -> tuple`` of one cotangent per differentiated argument
    (``None`` for zero).  Unlike JAX's, forward mode works too: its rule is
    the transpose of ``bwd`` (which must be linear in ``g``, as a VJP is), so
    ``jvp``, ``jacfwd`` and ``hvp`` accept the function.
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()) -> None:
        super().__init__(fun, nondiff_argnums, "custom_vjp")

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        def rule(g, out, *diff, static):
            residuals = fwd(*_merge(static, diff, self.nondiff))[1]
            cts = bwd(*static, residuals, g)
            if not isinstance(cts, tuple) or len(cts) != len(diff):
                raise TypeError(f"{self.__name__}: bwd must return a tuple of {len(diff)} "
                                f"cotangent(s), one per differentiated argument; got "
                                f"{type(cts).__name__}")
            return cts

        self.prim = Primitive(self.__name__, self._impl, vjp=rule)
