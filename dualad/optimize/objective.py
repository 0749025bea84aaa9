"""The objective and constraint functions SciPy calls, cached per point.

What this module lets you do
----------------------------
Give SciPy the value, gradient, Hessian (operator, products or dense) of
a scalar objective, and the value and Jacobian of a vector function
(residuals, constraints), as separate callables of the flat vector that
share one evaluation.

The invariant
-------------
Work that depends only on ``x`` is done once per ``x``: each cache keeps
the last point it was asked about and what was computed there.  For a
second-order method one :func:`dualad.linearize_grad` recording gives the
value, the gradient and every Hessian product at that point, and successive
iterates share one dict of sweep plans, so that a recording with the same
structure as the last one reuses its compiled plan.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..api import linearize, linearize_grad, value_and_grad
from .flat import _as_vector, _Ravel, _scalar_output
from .operators import HessianOperator, JacobianOperator


def _add_hint(exc: BaseException, hint: str) -> None:
    """Append ``hint`` to the message of ``exc`` as it propagates."""
    if hasattr(exc, "add_note"):  # Python >= 3.11
        exc.add_note(hint)


_TRACE_HINT = ("(dualad.optimize differentiates this function with dualad; if it "
               "cannot be traced, pass your own derivatives, e.g. jac=..., or "
               "jac='2-point' for finite differences.)")


def _same_point(x, y) -> bool:
    """x equals the cached point y (a NaN never matches: it is recomputed)."""
    return x is y or (x.shape == y.shape and bool((x == y).all()))


class _ScalarObjective:
    """Value, gradient and Hessian products of ``fun`` at the last x asked for.

    With ``record=True`` every evaluation is a :func:`dualad.linearize_grad`
    recording, so that the Hessian at that x comes free with the value and
    gradient (second-order methods ask for all three at each iterate).
    """

    def __init__(self, fun: Callable, ravel: _Ravel, args: tuple, record: bool,
                 first_output: bool = False):
        self.ravel = ravel
        self.record = record
        self._x = None
        self._value = self._grad = self._lin = self._H = None
        self._plans: dict = {}  # sweep plans, reused by the next iterate's recording
        self.nhvp = 0

        def f_flat(z):
            out = fun(ravel.unravel(z), *args)
            if first_output:
                out = out[0]
            return _scalar_output(out)

        self.f_flat = f_flat
        self._vg = value_and_grad(f_flat)

    def _evaluate(self, x, need_hessian: bool):
        x = np.asarray(x, dtype=self.ravel.dtype).reshape(-1)
        if self._x is not None and (self._lin is not None or not need_hessian) \
                and _same_point(x, self._x):
            return
        x = x.copy()  # the cache's own point: SciPy may update its array in place
        try:
            if need_hessian or self.record:
                lin = linearize_grad(self.f_flat, x, plans=self._plans)
                value, g = lin.value, lin.grad
            else:
                (value, g), lin = self._vg(x), None
        except TypeError as exc:
            _add_hint(exc, _TRACE_HINT)
            raise
        self._x = x
        self._value = float(np.reshape(value, ()))
        self._grad = np.asarray(g, dtype=self.ravel.dtype).reshape(-1)
        self._lin = lin
        self._H = None

    def value(self, x) -> float:
        """The value only, without AD (derivative-free methods)."""
        return float(np.reshape(np.asarray(self.f_flat(
            np.asarray(x, dtype=self.ravel.dtype).reshape(-1))), ()))

    def fun_and_grad(self, x):
        self._evaluate(x, False)
        return self._value, self._grad.copy()

    def fun(self, x) -> float:
        """The value, from the same (cached) evaluation as the gradient: SciPy
        gets ``fun`` and ``jac`` as two functions sharing this cache, which
        costs less than its own ``jac=True`` wrapper."""
        self._evaluate(x, False)
        return self._value

    def grad(self, x):
        self._evaluate(x, False)
        return self._grad.copy()

    def hess_operator(self, x) -> HessianOperator:
        self._evaluate(x, True)
        if self._H is None:  # keeps this x's recording, even after the cache moves on
            self._H = HessianOperator._from_linearization(self._lin, self.ravel.dtype,
                                                          counter=self)
        return self._H

    def hessp(self, x, p):
        self._evaluate(x, True)
        self.nhvp += 1
        p = _as_vector(p, self.ravel.n, self.ravel.dtype, "p")
        return self._lin.hvp(p)

    def hess_dense(self, x) -> np.ndarray:
        return self.hess_operator(x).toarray()


class _VectorFunction:
    """Value and Jacobian (dense or operator) of a vector function at the last x."""

    def __init__(self, fun: Callable, ravel: _Ravel, args: tuple):
        self.ravel = ravel
        self._x = None
        self._op = None

        def F_flat(z):
            return np.reshape(fun(ravel.unravel(z), *args), (-1,))

        self.F_flat = F_flat

    def operator(self, x) -> JacobianOperator:
        x = np.asarray(x, dtype=self.ravel.dtype).reshape(-1)
        if self._op is None or not _same_point(x, self._x):
            try:
                value, f_jvp = linearize(self.F_flat, x)
            except TypeError as exc:
                _add_hint(exc, _TRACE_HINT)
                raise
            self._x = x.copy()
            self._op = JacobianOperator._from_linearization(self._x, value, f_jvp,
                                                            self.ravel.dtype)
        return self._op

    def value(self, x) -> np.ndarray:
        """The value, recording the function so that its Jacobian at x is free."""
        return self.operator(x).value.copy()

    def plain(self, x) -> np.ndarray:
        """The value only, without AD."""
        return np.asarray(self.F_flat(np.asarray(x, dtype=self.ravel.dtype).reshape(-1)))

    def dense(self, x) -> np.ndarray:
        return self.operator(x).toarray()

