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
the last point it was asked about and what was computed there.  With
``replay=True`` (the default) the derivatives are :func:`dualad.replay`
programs recorded once per run and shared by every iterate: value and
gradient one replayed ``value_and_grad``, Hessian and Jacobian products
replayed with ``x`` fixed (:class:`~dualad.optimize.operators._HessianProducts`,
:class:`~dualad.optimize.operators._JacobianProducts`), dense Hessians and
Jacobians a replayed ``hessian``, ``jacfwd`` or ``jacrev``, residuals and constraint values a
replayed ``fun``, so that ``fun``'s Python body runs once per recording.
The values of derivative-free methods are plain calls of ``fun``: a replay
has no derivative code to save there, and ``fun`` need not be traceable.  With
``replay=False``, for a second-order method one :func:`dualad.linearize_grad`
recording gives the value, the gradient and every Hessian product at that
point, and successive iterates share one dict of sweep plans, so that a
recording with the same structure as the last one reuses its compiled plan.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..api import hessian, jacfwd, jacrev, linearize, linearize_grad, value_and_grad
from ..staging import replay as _replay
from .flat import _as_vector, _Ravel, _scalar_output
from .operators import HessianOperator, JacobianOperator, _HessianProducts, _JacobianProducts


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

    With ``replay`` the value and gradient come from a replayed
    ``value_and_grad``, products from replayed HVPs with x fixed, the dense
    Hessian from a replayed ``hessian``.  Without, and with ``record=True``,
    every evaluation is a :func:`dualad.linearize_grad` recording, so that
    the Hessian at that x comes free with the value and gradient
    (second-order methods ask for all three at each iterate).
    """

    def __init__(self, fun: Callable, ravel: _Ravel, args: tuple, record: bool,
                 first_output: bool = False, replay: bool = True):
        self.ravel = ravel
        self.record = record
        self.replay = replay
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
        # args are bound in f_flat: fixed for the whole run, they become
        # constants of the programs, never compared at a call
        self._products = _HessianProducts(f_flat) if replay else None
        self._vg = self._products.value_and_grad if replay else value_and_grad(f_flat)
        self._dense = None

    def _evaluate(self, x, need_hessian: bool):
        x = np.asarray(x, dtype=self.ravel.dtype).reshape(-1)
        if self._x is not None and (self._lin is not None or not need_hessian
                                    or self.replay) and _same_point(x, self._x):
            return
        x = x.copy()  # the cache's own point: SciPy may update its array in place
        try:
            if (need_hessian or self.record) and not self.replay:
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
            if self.replay:
                self._H = HessianOperator._from_products(
                    self._products, self._x, self._value, self._grad, self.ravel.dtype,
                    counter=self)
            else:
                self._H = HessianOperator._from_linearization(self._lin, self.ravel.dtype,
                                                              counter=self)
        return self._H

    def hessp(self, x, p):
        self.nhvp += 1
        p = _as_vector(p, self.ravel.n, self.ravel.dtype, "p")
        if self.replay:
            x = np.asarray(x, dtype=self.ravel.dtype).reshape(-1)
            try:
                return self._products.hvp(x, p)
            except TypeError as exc:
                _add_hint(exc, _TRACE_HINT)
                raise
        self._evaluate(x, True)
        return self._lin.hvp(p)

    def hess_dense(self, x) -> np.ndarray:
        if not self.replay:
            return self.hess_operator(x).toarray()
        if self._dense is None:
            self._dense = _replay(hessian(self.f_flat))
        try:
            H = self._dense(np.asarray(x, dtype=self.ravel.dtype).reshape(-1))
        except TypeError as exc:
            _add_hint(exc, _TRACE_HINT)
            raise
        self.nhvp += self.ravel.n  # counted as n products, as the operator's toarray
        return 0.5 * (H + H.T)


class _VectorFunction:
    """Value and Jacobian (dense or operator) of a vector function at the last x."""

    def __init__(self, fun: Callable, ravel: _Ravel, args: tuple, replay: bool = True):
        self.ravel = ravel
        self.replay = replay
        self._x = None
        self._op = None
        self._value = None  # F at self._x (replay)

        def F_flat(z):
            return np.reshape(fun(ravel.unravel(z), *args), (-1,))

        self.F_flat = F_flat
        self._products = _JacobianProducts(F_flat) if replay else None
        self._F = _replay(F_flat) if replay else None
        self._dense = None

    def _value_at(self, x):
        """F at x, replayed, kept with x (the Jacobian's point)."""
        if self._x is None or not _same_point(x, self._x):
            try:
                value = np.asarray(self._F(x))
            except TypeError as exc:
                _add_hint(exc, _TRACE_HINT)
                raise
            self._x, self._value, self._op = x.copy(), value, None
        return self._value

    def operator(self, x) -> JacobianOperator:
        x = np.asarray(x, dtype=self.ravel.dtype).reshape(-1)
        if self.replay:
            value = self._value_at(x)
            if self._op is None:
                self._op = JacobianOperator._from_products(self._products, self._x, value,
                                                           self.ravel.dtype)
            return self._op
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
        """The value (without replay: recording the function, so that its
        Jacobian at x is free)."""
        if self.replay:
            x = np.asarray(x, dtype=self.ravel.dtype).reshape(-1)
            return self._value_at(x).copy()
        return self.operator(x).value.copy()

    def plain(self, x) -> np.ndarray:
        """The value only, without AD."""
        return np.asarray(self.F_flat(np.asarray(x, dtype=self.ravel.dtype).reshape(-1)))

    def dense(self, x) -> np.ndarray:
        if not self.replay:
            return self.operator(x).toarray()
        x = np.asarray(x, dtype=self.ravel.dtype).reshape(-1)
        if self._dense is None:  # n JVPs or m VJPs, whichever is fewer
            m = self._value_at(x).size
            self._dense = _replay(jacfwd(self.F_flat) if x.size <= m else jacrev(self.F_flat))
        try:
            return self._dense(x)
        except TypeError as exc:
            _add_hint(exc, _TRACE_HINT)
            raise

