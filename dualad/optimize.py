"""Exact derivatives behind ``scipy.optimize``.

What this module lets you do
----------------------------
Hand SciPy's optimisers exact gradients, Hessian-vector products and
Jacobians of plain NumPy code, without writing any of them:

* :func:`minimize` and :func:`least_squares` are drop-ins for their SciPy
  namesakes that supply, for the method chosen, everything it can use from
  automatic differentiation (AD); ``x0`` may be a pytree.
* :class:`HessianOperator` and :class:`JacobianOperator` are
  ``scipy.sparse.linalg.LinearOperator`` objects whose products are HVPs,
  JVPs and VJPs: the Hessian or Jacobian is never stored.
* :func:`fun_and_jac`, :func:`jac`, :func:`hess` and :func:`hessp` build the
  callables that plain ``scipy.optimize`` functions take.

>>> import numpy as np, scipy.optimize
>>> from dualad import optimize
>>> def rosen(x):
...     return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
>>> res = optimize.minimize(rosen, np.zeros(5), method="Newton-CG",
...                         options={"xtol": 1e-10})
>>> bool(np.allclose(res.x, 1.0))
True
>>> res = scipy.optimize.minimize(optimize.fun_and_jac(rosen), np.zeros(5), jac=True,
...                               hessp=optimize.hessp(rosen), method="trust-ncg", tol=1e-10)
>>> bool(np.allclose(res.x, 1.0))
True

The invariant
-------------
Work that depends only on ``x`` is done once per ``x``.  A Hessian operator
records the gradient computation at ``x`` on a tape once -- the values of
``linearize(value_and_grad(f), x)``, with ``f`` and its backward pass on one
tape rather than on two nested ones; every product is then one forward
tangent sweep over that tape, reusing the primal values and the derivative
factors of elementwise operations, and ``matmat`` pushes k directions in one
sweep (vector mode).  Inside :func:`minimize` the same recording also gives
the objective's value and gradient, keyed on ``x``, so value, gradient and
every product at one iterate cost one recorded pass plus one sweep each.

Conventions
-----------
* SciPy works on flat float vectors.  A pytree ``x0`` (dicts, tuples, lists
  of arrays) is flattened into one (a list or tuple of plain numbers is an
  array, as in SciPy); ``fun`` and constraint functions still
  receive the pytree, ``result.x`` comes back in ``x0``'s structure and
  ``result.x_flat`` is the flat vector.  ``bounds`` and the ``jac``,
  ``hess``, ``hessp`` that SciPy sees refer to the flat vector.
* Integer entries of ``x0`` are converted to float64, as SciPy does;
  complex or non-numeric entries raise ``TypeError``.
* An objective returning more than one number raises ``ValueError`` (SciPy
  accepts any size-1 array as a scalar, and so does this module).
* NaN or inf values are handed to SciPy unchanged, which then behaves as
  documented for each method (e.g. a line-search failure, or
  ``least_squares``'s "Residuals are not finite in the initial point").
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np
import scipy.optimize as _so
from scipy.sparse.linalg import LinearOperator

from .api import (HVP_MODES, _linearize_value_and_grad, hvp, linearize, tree_flatten,
                  tree_unflatten, value_and_grad, vjp)

__all__ = ["HessianOperator", "JacobianOperator", "minimize", "least_squares",
           "fun_and_jac", "jac", "hess", "hessp", "MINIMIZE_METHODS"]

# What each scipy.optimize.minimize method can use (keys are lower case, as
# SciPy matches them).
_METHOD_NEEDS = {
    "nelder-mead": "value", "powell": "value", "cobyla": "value", "cobyqa": "value",
    "cg": "grad", "bfgs": "grad", "l-bfgs-b": "grad", "tnc": "grad", "slsqp": "grad",
    "newton-cg": "hess", "trust-constr": "hess",
    "trust-ncg": "hessp", "trust-krylov": "hessp",
    "dogleg": "dense", "trust-exact": "dense",
}
MINIMIZE_METHODS = ("Nelder-Mead", "Powell", "CG", "BFGS", "Newton-CG", "L-BFGS-B",
                    "TNC", "COBYLA", "COBYQA", "SLSQP", "trust-constr", "dogleg",
                    "trust-ncg", "trust-exact", "trust-krylov")
_CONSTRAINED = ("cobyla", "cobyqa", "slsqp", "trust-constr")
# Batched products keep one (k, size) tangent per tape entry alive; chunk k so
# that k * n stays about this many numbers.
_BATCH_ELEMENTS = 2 ** 16


# ---- flat vectors and pytrees ---------------------------------------------------
class _Ravel:
    """The map between a pytree shaped like ``x0`` and SciPy's flat float vector.

    A single array leaf keeps SciPy's convention (a scalar becomes shape (1,));
    ``unravel`` works on dualad's traced values too, so functions of the
    pytree can be differentiated with respect to the flat vector.
    """

    def __init__(self, x0, what: str = "x0"):
        if type(x0) in (list, tuple) and _all_numbers(x0):
            x0 = np.asarray(x0)  # SciPy's x0=[1.0, 2.0]: an array, not a pytree
        leaves, self.treedef = tree_flatten(x0)
        if not leaves:
            raise ValueError(f"{what} has no entries to optimise")
        arrays = []
        for i, leaf in enumerate(leaves):
            where = what if self.treedef.kind == "leaf" else f"{what} leaf {i}"
            try:
                a = np.asarray(leaf)
            except Exception as exc:
                raise TypeError(f"{where} is a {type(leaf).__name__}, not an array") from exc
            kind = a.dtype.kind
            if kind in "iub":  # SciPy converts integer x0 to float64 too
                a = a.astype(np.float64)
            elif kind == "c":
                raise TypeError(f"{where} is complex ({a.dtype}); dualad.optimize "
                                "works with real floating-point values only")
            elif kind != "f":
                raise TypeError(f"{where} has dtype {a.dtype}; expected real numbers "
                                "(floats, or integers which are converted to float64)")
            arrays.append(a)
        self.single = self.treedef.kind == "leaf"
        if self.single and arrays[0].ndim == 0:
            arrays[0] = arrays[0].reshape(1)
        self.shapes = [a.shape for a in arrays]
        self.sizes = [a.size for a in arrays]
        self.offsets = np.cumsum([0] + self.sizes).tolist()
        self.dtype = np.result_type(*arrays)
        self.n = self.offsets[-1]
        self.is_flat = self.single and len(self.shapes[0]) == 1
        self.x0 = np.concatenate([a.reshape(-1) for a in arrays]).astype(self.dtype)

    def unravel(self, flat):
        """The pytree for a flat vector (traced or not), as ``fun`` should see it."""
        if self.is_flat:
            return flat
        if self.single:
            return np.reshape(flat, self.shapes[0])
        leaves = [np.reshape(flat[a:b], s)
                  for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]
        return tree_unflatten(self.treedef, leaves)

    def unravel_result(self, flat):
        """Like :meth:`unravel` for a final result: copies, 0-d leaves as NumPy scalars."""
        if self.is_flat:
            return flat
        flat = np.array(flat, dtype=self.dtype)
        if self.single:
            return flat.reshape(self.shapes[0])
        leaves = [flat[a:b].reshape(s)[()] if s == () else flat[a:b].reshape(s)
                  for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]
        return tree_unflatten(self.treedef, leaves)

    def ravel(self, value, what: str):
        """A flat vector from a user's result: a pytree like x0, or any array of n numbers."""
        if not self.single:
            leaves, treedef = tree_flatten(value)
            if treedef == self.treedef:
                return np.concatenate([np.asarray(l, dtype=self.dtype).reshape(-1)
                                       for l in leaves])
        flat = np.asarray(value, dtype=self.dtype).reshape(-1)
        if flat.size != self.n:
            raise ValueError(f"{what} returned {flat.size} numbers; expected {self.n} "
                             "(one per entry of x0), or a pytree shaped like x0")
        return flat


def _all_numbers(seq) -> bool:
    """A (nested) list or tuple holding only Python or NumPy scalars."""
    return all(_all_numbers(e) if type(e) in (list, tuple)
               else isinstance(e, (int, float, np.number, np.bool_)) for e in seq)


def _as_vector(v, n: int, dtype, what: str):
    """A product's input as a flat float vector (SciPy probes with int8 vectors)."""
    if type(v) is np.ndarray and v.dtype == dtype and v.shape == (n,):
        return v  # already right: the common case, checked cheaply
    v = np.asarray(v)
    if v.dtype.kind not in "fiub":
        raise TypeError(f"{what} has dtype {v.dtype}; expected real numbers")
    v = v.astype(dtype, copy=False).reshape(-1)
    if v.size != n:
        raise ValueError(f"{what} has {v.size} entries; expected {n}")
    return v


def _scalar_output(out, what: str = "the objective"):
    """``out`` as a 0-d value; a size-1 array counts as a scalar, as in SciPy."""
    if isinstance(out, (tuple, list, dict)):
        raise ValueError(f"{what} must return a scalar, but it returned a "
                         f"{type(out).__name__}. (If it returns (value, gradient), "
                         "pass jac=True.)")
    size = np.size(out)
    if size != 1:
        raise ValueError(f"{what} must return a scalar, but it returned an array of "
                         f"shape {np.shape(out)}. For residuals use least_squares; "
                         "otherwise reduce them, e.g. np.sum(r ** 2).")
    if np.ndim(out):
        out = np.reshape(out, ())
    return out


def _add_hint(exc: BaseException, hint: str) -> None:
    if hasattr(exc, "add_note"):  # Python >= 3.11
        exc.add_note(hint)


_TRACE_HINT = ("(dualad.optimize differentiates this function with dualad; if it "
               "cannot be traced, pass your own derivatives, e.g. jac=..., or "
               "jac='2-point' for finite differences.)")


def _gradient_tangent(f_jvp, v):
    """H v: the tangent of the gradient (output 1 of a recorded
    ``linearize(value_and_grad(f))``) along a flat vector ``v`` of its dtype,
    by the linearization's direct product path when it has one."""
    product = getattr(f_jvp, "_product", None)
    if product is not None:
        return product(v, 1)
    return np.asarray(f_jvp(v, _outputs=(1,))[0])


def _chunks(k: int, n: int):
    step = max(1, min(k, _BATCH_ELEMENTS // max(n, 1)))
    for start in range(0, k, step):
        yield start, min(k, start + step)


# ---- the Hessian operator ------------------------------------------------------------
class HessianOperator(LinearOperator):
    """The Hessian of a scalar function at ``x`` as a symmetric ``LinearOperator``.

    ``H @ v`` is an exact Hessian-vector product; the (n, n) matrix is never
    formed.  With the default ``mode="fwd-over-rev"`` the gradient computation
    at ``x`` is recorded once, when the operator is built, and each product
    is one forward tangent sweep over that recording, reusing the primal
    values; ``matmat`` pushes all k columns through one sweep (vector mode).
    ``mode="rev-over-rev"`` also records once and pulls each product back
    through the recording.  The other :data:`dualad.HVP_MODES` compute a fresh
    :func:`dualad.hvp` per product (for checking).

    The operator is symmetric: ``rmatvec``, ``rmatmat``, ``.T`` and ``.H``
    equal their forward counterparts.  Products accept any real vector,
    including the integer vectors SciPy probes with, and treat it as float.

    Parameters
    ----------
    f : callable
        ``f(x, *args) -> scalar``, written with NumPy.
    x : array_like or pytree
        The point.  A pytree is flattened: the operator acts on flat vectors
        of all its entries, in :func:`dualad.tree_flatten` order.
    args : tuple
        Extra arguments of ``f`` (not differentiated).
    mode : str
        One of :data:`dualad.HVP_MODES`.

    Attributes
    ----------
    value : float
        ``f(x)``, from the same recording.
    grad : ndarray, shape (n,)
        The gradient at ``x``, from the same recording.

    Examples
    --------
    >>> import numpy as np
    >>> from dualad.optimize import HessianOperator
    >>> f = lambda x: np.sum(x ** 3) + x[0] * x[1]
    >>> H = HessianOperator(f, np.array([1.0, 2.0]))
    >>> (H @ np.array([1, 0], dtype=np.int8)).tolist()
    [6.0, 1.0]
    >>> H.toarray().tolist()
    [[6.0, 1.0], [1.0, 12.0]]
    """

    def __init__(self, f: Callable, x, args: Sequence = (), mode: str = "fwd-over-rev"):
        if mode not in HVP_MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(HVP_MODES)}")
        ravel = _Ravel(x, "x")
        args = tuple(args) if isinstance(args, (tuple, list)) else (args,)

        def f_flat(z):
            return _scalar_output(f(ravel.unravel(z), *args), "f")

        x_flat = ravel.x0
        self._mode = mode
        self._f_jvp = self._pullback = None
        if mode == "fwd-over-rev":
            (value, g), self._f_jvp = _linearize_value_and_grad(f_flat, x_flat)
        elif mode == "rev-over-rev":
            (value, g), self._pullback = vjp(value_and_grad(f_flat), x_flat)
        else:
            value, g = value_and_grad(f_flat)(x_flat)
            self._f_flat = f_flat
        self._setup(x_flat, value, g, ravel.dtype)

    @classmethod
    def _from_linearization(cls, x_flat, value, g, f_jvp, dtype):
        self = cls.__new__(cls)
        self._mode = "fwd-over-rev"
        self._f_jvp, self._pullback = f_jvp, None
        self._setup(x_flat, value, g, dtype)
        return self

    def _setup(self, x_flat, value, g, dtype):
        n = x_flat.size
        super().__init__(np.dtype(dtype), (n, n))
        self.x = x_flat
        self.value = float(np.reshape(value, ()))
        self.grad = np.asarray(g, dtype=dtype).reshape(-1)
        self.nprod = 0  # Hessian-vector products computed, counting each column of matmat

    def dot(self, x):
        # SciPy's Newton-CG calls H.dot(p) once per conjugate-gradient step:
        # a plain vector goes straight to the product, past LinearOperator's
        # generic dispatch; anything else (matrices, operators) takes it.
        if type(x) is np.ndarray and x.ndim == 1:
            return self._matvec(x)
        return super().dot(x)

    def matvec(self, x):
        if type(x) is np.ndarray and x.ndim == 1 and x.shape[0] == self.shape[1]:
            return self._matvec(x)
        return super().matvec(x)

    __matmul__ = dot

    def _matvec(self, v):
        v = _as_vector(v, self.shape[1], self.dtype, "the vector")
        self.nprod += 1
        if self._f_jvp is not None:
            return _gradient_tangent(self._f_jvp, v)
        if self._pullback is not None:
            return np.asarray(self._pullback((np.zeros((), self.dtype), v))[0])
        return np.asarray(hvp(self._f_flat, self.x, v, mode=self._mode))

    def _matmat(self, V):
        V = np.asarray(V)
        n, k = V.shape
        if self._f_jvp is None or k <= 1:
            return np.stack([self._matvec(V[:, j]) for j in range(k)], axis=1) if k else \
                np.zeros((n, 0), self.dtype)
        V = V.astype(self.dtype, copy=False)
        out = np.empty((n, k), dtype=self.dtype)
        for a, b in _chunks(k, n):
            out[:, a:b] = np.asarray(self._f_jvp(np.ascontiguousarray(V[:, a:b].T),
                                                 batched=True, _outputs=(1,))[0]).T
        self.nprod += k
        return out

    _rmatvec = _matvec
    _rmatmat = _matmat

    def _adjoint(self):
        return self

    def _transpose(self):
        return self

    def toarray(self) -> np.ndarray:
        """The dense (n, n) Hessian, from n products in batched sweeps, symmetrised."""
        H = self._matmat(np.eye(self.shape[0], dtype=self.dtype))
        return 0.5 * (H + H.T)

    def __repr__(self):
        n = self.shape[0]
        return f"<{n}x{n} HessianOperator (mode {self._mode!r}) with dtype={self.dtype}>"


# ---- the Jacobian operator ---------------------------------------------------------------
class JacobianOperator(LinearOperator):
    """The Jacobian of a vector function at ``x`` as a ``LinearOperator`` (m, n).

    ``J @ v`` is a JVP and ``J.T @ u`` (``rmatvec``) a VJP; both reuse the
    evaluation at ``x`` done once when the operator is built: ``F`` is
    recorded by :func:`dualad.linearize`, a JVP is one tangent sweep over the
    recording and a VJP the transpose of that sweep (recorded on the first
    ``rmatvec``, then pulled back).  ``matmat`` and ``rmatmat`` push k
    directions through one sweep.  ``F``'s output is flattened to a vector.

    Parameters
    ----------
    F : callable
        ``F(x, *args) -> array``, written with NumPy.
    x : array_like or pytree
        The point (a pytree is flattened as in :class:`HessianOperator`).
    args : tuple
        Extra arguments of ``F`` (not differentiated).

    Attributes
    ----------
    value : ndarray, shape (m,)
        ``F(x)``, flattened.

    Examples
    --------
    >>> import numpy as np
    >>> from dualad.optimize import JacobianOperator
    >>> J = JacobianOperator(lambda x: np.array([1.0, 2.0]) * x ** 2, np.array([1.0, 3.0]))
    >>> (J @ np.ones(2)).tolist(), J.rmatvec(np.ones(2)).tolist()
    ([2.0, 12.0], [2.0, 12.0])
    >>> J.toarray().tolist()
    [[2.0, 0.0], [0.0, 12.0]]
    """

    def __init__(self, F: Callable, x, args: Sequence = ()):
        ravel = _Ravel(x, "x")
        args = tuple(args) if isinstance(args, (tuple, list)) else (args,)

        def F_flat(z):
            return np.reshape(F(ravel.unravel(z), *args), (-1,))

        value, f_jvp = linearize(F_flat, ravel.x0)
        self._setup(ravel.x0, value, f_jvp, ravel.dtype)

    @classmethod
    def _from_linearization(cls, x_flat, value, f_jvp, dtype):
        self = cls.__new__(cls)
        self._setup(x_flat, value, f_jvp, dtype)
        return self

    def _setup(self, x_flat, value, f_jvp, dtype):
        self.x = x_flat
        self.value = np.asarray(value)
        if self.value.dtype.kind != "f":
            self.value = self.value.astype(np.float64)
        self._f_jvp = f_jvp
        self._transposed = {}  # k (None for a single vector) -> pullback of the sweep
        dtype = np.result_type(dtype, self.value.dtype)
        super().__init__(dtype, (self.value.size, x_flat.size))

    def _pullback(self, k):
        """The transposed tangent sweep for k directions (None: one vector)."""
        pb = self._transposed.get(k)
        if pb is None:
            n = self.shape[1]
            if k is None:
                _, pb = vjp(self._f_jvp, np.zeros(n, self.dtype))
            else:
                _, pb = vjp(lambda T: self._f_jvp(T, batched=True), np.zeros((k, n), self.dtype))
            if len(self._transposed) > 4:
                self._transposed.clear()
            self._transposed[k] = pb
        return pb

    def _matvec(self, v):
        v = _as_vector(v, self.shape[1], self.dtype, "the vector")
        return np.asarray(self._f_jvp(v), dtype=self.dtype)

    def _rmatvec(self, u):
        u = _as_vector(u, self.shape[0], self.dtype, "the vector")
        return np.asarray(self._pullback(None)(u)[0], dtype=self.dtype)

    def _matmat(self, V):
        V = np.asarray(V).astype(self.dtype, copy=False)
        (m, n), k = self.shape, V.shape[1]
        out = np.empty((m, k), dtype=self.dtype)
        for a, b in _chunks(k, max(m, n)):
            out[:, a:b] = np.asarray(self._f_jvp(np.ascontiguousarray(V[:, a:b].T),
                                                 batched=True)).T
        return out

    def _rmatmat(self, U):
        U = np.asarray(U).astype(self.dtype, copy=False)
        (m, n), k = self.shape, U.shape[1]
        out = np.empty((n, k), dtype=self.dtype)
        for a, b in _chunks(k, max(m, n)):
            pb = self._pullback(b - a)
            out[:, a:b] = np.asarray(pb(np.ascontiguousarray(U[:, a:b].T))[0]).T
        return out

    def _adjoint(self):
        return _TransposedJacobian(self)

    _transpose = _adjoint

    def toarray(self) -> np.ndarray:
        """The dense (m, n) Jacobian: n JVPs or m VJPs, whichever is fewer, batched."""
        m, n = self.shape
        if n <= m:
            return self._matmat(np.eye(n, dtype=self.dtype))
        return self._rmatmat(np.eye(m, dtype=self.dtype)).T

    def __repr__(self):
        m, n = self.shape
        return f"<{m}x{n} JacobianOperator with dtype={self.dtype}>"


class _TransposedJacobian(LinearOperator):
    def __init__(self, J: JacobianOperator):
        self._J = J
        super().__init__(J.dtype, (J.shape[1], J.shape[0]))

    def _matvec(self, u):
        return self._J._rmatvec(u)

    def _rmatvec(self, v):
        return self._J._matvec(v)

    def _matmat(self, U):
        return self._J._rmatmat(U)

    def _rmatmat(self, V):
        return self._J._matmat(V)

    def _adjoint(self):
        return self._J

    _transpose = _adjoint


# ---- caches keyed on x ------------------------------------------------------------
def _same_point(x, y) -> bool:
    """x equals the cached point y (a NaN never matches: it is recomputed)."""
    return x is y or (x.shape == y.shape and bool((x == y).all()))


class _ScalarObjective:
    """Value, gradient and Hessian products of ``fun`` at the last x asked for.

    With ``record=True`` every evaluation records ``linearize(value_and_grad)``
    so that the Hessian at that x comes free with the value and gradient
    (second-order methods ask for all three at each iterate).
    """

    def __init__(self, fun: Callable, ravel: _Ravel, args: tuple, record: bool,
                 first_output: bool = False):
        self.ravel = ravel
        self.record = record
        self._x = None
        self._value = self._grad = self._f_jvp = self._H = None
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
        if self._x is not None and (self._f_jvp is not None or not need_hessian) \
                and _same_point(x, self._x):
            return
        try:
            if need_hessian or self.record:
                (value, g), f_jvp = _linearize_value_and_grad(self.f_flat, x, self._plans)
            else:
                (value, g), f_jvp = self._vg(x), None
        except TypeError as exc:
            _add_hint(exc, _TRACE_HINT)
            raise
        self._x = x.copy()
        self._value = float(np.reshape(value, ()))
        self._grad = np.asarray(g, dtype=self.ravel.dtype).reshape(-1)
        self._f_jvp = f_jvp
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
        if self._H is None:
            f_jvp = self._f_jvp  # this x's recording, even after the cache moves on

            def counted_jvp(t, batched=False, _outputs=None):
                self.nhvp += np.shape(t)[0] if batched else 1
                return f_jvp(t, batched=batched, _outputs=_outputs)

            product = getattr(f_jvp, "_product", None)
            if product is not None:
                def counted_product(t, output):
                    self.nhvp += 1
                    return product(t, output)
                counted_jvp._product = counted_product

            self._H = HessianOperator._from_linearization(self._x, self._value, self._grad,
                                                          counted_jvp, self.ravel.dtype)
        return self._H

    def hessp(self, x, p):
        self._evaluate(x, True)
        self.nhvp += 1
        p = _as_vector(p, self.ravel.n, self.ravel.dtype, "p")
        return _gradient_tangent(self._f_jvp, p)

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


# ---- helpers for plain scipy.optimize ------------------------------------------------
def _plain_x(x):
    x = np.asarray(x)
    return x.astype(np.float64) if x.dtype.kind != "f" else x


def fun_and_jac(fun: Callable) -> Callable:
    """``fun`` as SciPy's ``jac=True`` objective: ``(x, *args) -> (value, gradient)``.

    Both come from one reverse pass.

    >>> import numpy as np, scipy.optimize
    >>> from dualad.optimize import fun_and_jac
    >>> f = lambda x, c: np.sum((x - c) ** 2)
    >>> res = scipy.optimize.minimize(fun_and_jac(f), np.zeros(3), args=(2.0,),
    ...                               jac=True, method="BFGS")
    >>> np.round(res.x, 6).tolist()
    [2.0, 2.0, 2.0]
    """
    vg = value_and_grad(lambda x, *args: _scalar_output(fun(x, *args)))

    def fg(x, *args):
        value, g = vg(_plain_x(x), *args)
        return float(np.reshape(value, ())), np.asarray(g)

    fg.__name__ = f"fun_and_jac({getattr(fun, '__name__', 'fun')})"
    return fg


def jac(fun: Callable, operator: bool = False) -> Callable:
    """SciPy's ``jac`` for ``fun``: the gradient of a scalar function, the
    Jacobian (m, n) of a vector function, or with ``operator=True`` a
    :class:`JacobianOperator` (for ``least_squares(..., tr_solver="lsmr")``).

    >>> import numpy as np, scipy.optimize
    >>> from dualad.optimize import jac
    >>> F = lambda x: np.stack([x[0] - 1.0, 10.0 * (x[1] - x[0] ** 2)])
    >>> res = scipy.optimize.least_squares(F, np.zeros(2), jac=jac(F))
    >>> np.round(res.x, 6).tolist()
    [1.0, 1.0]
    """
    def jacobian(x, *args, **kwargs):
        out_ndim = []

        def F(z, *a):
            out = fun(z, *a, **kwargs)
            out_ndim.append(np.ndim(out))
            return out

        J = JacobianOperator(F, _plain_x(x), args)
        if operator:
            return J
        if out_ndim[0] == 0:  # a scalar function: its gradient
            return J.toarray()[0]
        return J.toarray()

    jacobian.__name__ = f"jac({getattr(fun, '__name__', 'fun')})"
    return jacobian


def hess(fun: Callable, dense: bool = False) -> Callable:
    """SciPy's ``hess`` for ``fun``: ``(x, *args) ->`` a :class:`HessianOperator`
    (for Newton-CG and trust-constr), or with ``dense=True`` the (n, n) array
    (for trust-exact and dogleg).

    >>> import numpy as np, scipy.optimize
    >>> from dualad.optimize import fun_and_jac, hess
    >>> f = lambda x: np.sum(np.cosh(x - 1.0))
    >>> res = scipy.optimize.minimize(fun_and_jac(f), np.zeros(4), jac=True,
    ...                               hess=hess(f), method="Newton-CG")
    >>> np.round(res.x, 6).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    def hessian(x, *args):
        H = HessianOperator(fun, _plain_x(x), args)
        return H.toarray() if dense else H

    hessian.__name__ = f"hess({getattr(fun, '__name__', 'fun')})"
    return hessian


def hessp(fun: Callable) -> Callable:
    """SciPy's ``hessp`` for ``fun``: ``(x, p, *args) -> H(x) @ p``.

    The gradient computation is recorded once per ``x`` (the last ``x`` and
    ``args`` are remembered), so the many products a trust-region or CG
    solver takes at one iterate each cost one tangent sweep.

    >>> import numpy as np, scipy.optimize
    >>> from dualad.optimize import fun_and_jac, hessp
    >>> f = lambda x: np.sum(np.cosh(x - 1.0))
    >>> res = scipy.optimize.minimize(fun_and_jac(f), np.zeros(4), jac=True,
    ...                               hessp=hessp(f), method="trust-krylov")
    >>> np.round(res.x, 3).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    state: dict = {}

    def hessian_product(x, p, *args):
        x = _plain_x(x)
        obj = state.get("obj")
        same_args = obj is not None and len(state["args"]) == len(args) and all(
            a is b for a, b in zip(state["args"], args))
        if not same_args or obj.ravel.n != x.size:
            obj = state["obj"] = _ScalarObjective(fun, _Ravel(x), args, record=True)
            state["args"] = args
        return obj.hessp(x, p)

    hessian_product.__name__ = f"hessp({getattr(fun, '__name__', 'fun')})"
    return hessian_product


# ---- minimize -----------------------------------------------------------------------
def _method_key(method) -> str:
    if callable(method):
        return "_custom"
    if not isinstance(method, str) or method.lower() not in _METHOD_NEEDS:
        raise ValueError(f"unknown method {method!r}; scipy.optimize.minimize methods "
                         f"are: {', '.join(MINIMIZE_METHODS)} (or a callable)")
    return method.lower()


def _wrap_callback(callback, ravel: _Ravel):
    """Give the user's callback x in x0's structure (x_flat alongside)."""
    if callback is None or ravel.is_flat:
        return callback
    try:
        params = set(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        params = set()
    if params == {"intermediate_result"}:
        def wrapped(intermediate_result):
            res = _so.OptimizeResult(intermediate_result)
            res.x_flat = res.x
            res.x = ravel.unravel_result(res.x)
            return callback(intermediate_result=res)
    else:
        def wrapped(xk, *rest):
            return callback(ravel.unravel_result(xk), *rest)
    return wrapped


def _wrap_constraint(con, ravel: _Ravel, key: str):
    """A constraint on the pytree made one on the flat vector, with AD derivatives
    where the method uses them and the user gave none."""
    wants_jac = key in ("slsqp", "trust-constr", "_custom")
    if isinstance(con, dict):
        con = dict(con)
        args = con.get("args", ())
        args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
        vf = _VectorFunction(con["fun"], ravel, args)
        user_jac = con.get("jac")
        con["args"] = ()
        con["fun"] = vf.plain
        if callable(user_jac):
            con["jac"] = lambda x: np.asarray(user_jac(ravel.unravel(x), *args), dtype=float)
        elif wants_jac:
            con["fun"], con["jac"] = vf.value, vf.dense
            if key == "trust-constr":  # as SciPy would convert it, plus exact Hessians
                lb, ub = (0.0, 0.0) if con.get("type") == "eq" else (0.0, np.inf)
                return _so.NonlinearConstraint(vf.value, lb, ub, jac=vf.dense,
                                               hess=_constraint_hess(vf.F_flat))
        return con
    if isinstance(con, _so.NonlinearConstraint):
        vf = _VectorFunction(con.fun, ravel, ())
        new_jac, new_hess = con.jac, con.hess
        if callable(con.jac):
            new_jac = lambda x, f=con.jac: f(ravel.unravel(x))
        elif wants_jac:
            new_jac = vf.dense
        if callable(con.hess):
            new_hess = lambda x, v, h=con.hess: h(ravel.unravel(x), v)
        elif key == "trust-constr" and isinstance(con.hess, _so.BFGS):
            new_hess = _constraint_hess(vf.F_flat)
        return _so.NonlinearConstraint(
            vf.value if wants_jac else vf.plain, con.lb, con.ub, jac=new_jac,
            hess=new_hess, keep_feasible=con.keep_feasible,
            finite_diff_rel_step=con.finite_diff_rel_step,
            finite_diff_jac_sparsity=con.finite_diff_jac_sparsity)
    return con  # LinearConstraint and the like act on the flat vector already


def _constraint_hess(con_fun):
    """hess(x, v) = ∇²(v · c)(x) as a HessianOperator (trust-constr's form)."""
    def h(x, v):
        v = np.asarray(v, dtype=float)
        return HessianOperator(lambda z: np.sum(v * con_fun(z)), np.asarray(x, dtype=float))
    return h


def minimize(fun: Callable, x0, args: Any = (), method: str | Callable | None = None,
             jac=None, hess=None, hessp=None, bounds=None, constraints=(),
             tol: float | None = None, callback: Callable | None = None,
             options: dict | None = None) -> _so.OptimizeResult:
    """Drop-in for ``scipy.optimize.minimize`` with exact derivatives from dualad.

    Supplies what the method can use: the value and gradient from one reverse
    pass (SciPy's ``jac=True`` form) for every gradient-based method; ``hess``
    as a :class:`HessianOperator` for Newton-CG and trust-constr; a ``hessp``
    that reuses the recording at the current x for trust-ncg and
    trust-krylov; a dense Hessian for trust-exact and dogleg; nothing for
    Nelder-Mead, Powell, COBYLA and COBYQA.  For Newton-CG, trust-constr and
    the trust-region methods, evaluating ``fun`` at x records the gradient
    computation, so the Hessian products at that x reuse it.

    A ``jac``, ``hess`` or ``hessp`` you pass is used as given (a ``jac``
    string such as ``'2-point'`` or ``False`` switches AD off altogether);
    when you give ``hess`` or ``hessp`` no AD Hessian is added.  Constraint
    functions (dicts or ``NonlinearConstraint``) for SLSQP and trust-constr
    get AD Jacobians when theirs is missing or a finite-difference string,
    and for trust-constr also exact Hessians in place of the default
    ``BFGS`` approximation.

    ``x0`` may be a pytree (dict, tuple or list of arrays); ``fun`` then
    receives that structure, ``result.x`` has it too, and ``result.x_flat``
    is the flat vector SciPy worked on (also set for array ``x0``).  Your
    ``jac``, ``hess``, ``hessp``, constraint functions and ``callback`` also
    receive x (and ``hessp`` its p) in x0's structure; ``jac`` may return a
    pytree like x0 or a flat vector; ``bounds`` and constraint Jacobians
    refer to the flat vector.  ``method=None`` picks Newton-CG for an unconstrained problem (exact
    Hessian products make it the natural choice) and SciPy's own choice
    (SLSQP with constraints, L-BFGS-B with bounds) otherwise.

    Raises ``ValueError`` for an unknown method (listing the valid ones) or
    an objective returning more than one number, and ``TypeError`` for a
    complex or non-numeric ``x0``; integer ``x0`` is converted to float64,
    as SciPy does.  NaN or inf values go to SciPy unchanged, which then
    behaves as it documents for the method.  Returns SciPy's
    ``OptimizeResult``; ``result.nhvp`` counts the AD Hessian-vector products.

    >>> import numpy as np
    >>> from dualad.optimize import minimize
    >>> def loss(p, t, y):
    ...     return np.sum((p["a"] * np.exp(-p["k"] * t) - y) ** 2)
    >>> t = np.linspace(0.0, 2.0, 20); y = 3.0 * np.exp(-1.5 * t)
    >>> res = minimize(loss, {"a": 1.0, "k": 1.0}, args=(t, y), method="trust-exact")
    >>> round(float(res.x["a"]), 4), round(float(res.x["k"]), 4)
    (3.0, 1.5)
    """
    args = args if isinstance(args, tuple) else (args,)
    if method is None:
        if constraints:
            method = "SLSQP"
        elif bounds is not None:
            method = "L-BFGS-B"
        else:
            method = "Newton-CG"
    key = _method_key(method)
    ravel = _Ravel(x0)
    needs = _METHOD_NEEDS.get(key, "grad")
    user_jac_is_fd = isinstance(jac, str) or jac is False
    use_ad = not user_jac_is_fd
    want_hessian = needs in ("hess", "hessp", "dense") and hess is None and hessp is None \
        and use_ad
    obj = _ScalarObjective(fun, ravel, args, record=want_hessian, first_output=jac is True)

    # What SciPy sees: functions of the flat vector, no args.
    if jac is True:
        def sp_fun(x):
            value, g = fun(ravel.unravel(x), *args)
            return value, ravel.ravel(g, "fun's gradient")
        sp_jac = True
    elif callable(jac):
        sp_fun = obj.value
        sp_jac = lambda x: ravel.ravel(jac(ravel.unravel(x), *args), "jac")  # noqa: E731
    elif user_jac_is_fd or needs == "value":
        sp_fun, sp_jac = obj.value, (jac if user_jac_is_fd else None)
    else:
        sp_fun, sp_jac = obj.fun, obj.grad

    sp_hess, sp_hessp = None, None
    if hess is not None:
        sp_hess = hess if isinstance(hess, str) or not callable(hess) \
            else (lambda x: hess(ravel.unravel(x), *args))
    if hessp is not None:
        sp_hessp = lambda x, p: ravel.ravel(  # noqa: E731
            hessp(ravel.unravel(x), ravel.unravel_result(p), *args), "hessp")
    if want_hessian:
        if needs == "hess":
            sp_hess = obj.hess_operator
        elif needs == "hessp":
            sp_hessp = obj.hessp
        else:
            sp_hess = obj.hess_dense

    sp_constraints = constraints
    if constraints is not None and key in _CONSTRAINED + ("_custom",):
        many = isinstance(constraints, (list, tuple))
        cons = list(constraints) if many else [constraints]
        sp_constraints = [_wrap_constraint(c, ravel, key) for c in cons]
        if not many:
            sp_constraints = sp_constraints[0]

    res = _so.minimize(sp_fun, ravel.x0, method=method, jac=sp_jac, hess=sp_hess,
                       hessp=sp_hessp, bounds=bounds, constraints=sp_constraints,
                       tol=tol, callback=_wrap_callback(callback, ravel), options=options)
    res.x_flat = res.x
    res.x = ravel.unravel_result(res.x)
    res.nhvp = obj.nhvp
    return res


# ---- least squares ---------------------------------------------------------------------
def least_squares(fun: Callable, x0, jac=None, bounds=(-np.inf, np.inf), method: str = "trf",
                  ftol: float | None = 1e-8, xtol: float | None = 1e-8,
                  gtol: float | None = 1e-8, x_scale=None, loss="linear", f_scale: float = 1.0,
                  diff_step=None, tr_solver: str | None = None, tr_options: dict | None = None,
                  jac_sparsity=None, max_nfev: int | None = None, verbose: int = 0,
                  args: Any = (), kwargs: dict | None = None, callback: Callable | None = None,
                  workers=None) -> _so.OptimizeResult:
    """Drop-in for ``scipy.optimize.least_squares`` with exact Jacobians from dualad.

    With ``jac=None`` (the default here) the Jacobian is a
    :class:`JacobianOperator` (``matvec`` a JVP, ``rmatvec`` a VJP, both
    reusing the evaluation of the residuals at that x) solved with
    ``tr_solver="lsmr"``; it is a dense AD Jacobian when the method needs one:
    ``method="lm"``, ``tr_solver="exact"`` or ``x_scale="jac"``.  A ``jac``
    you pass (a callable or a finite-difference string) is used as given.

    ``x0`` may be a pytree as in :func:`minimize`; ``result.x`` then has
    its structure and ``result.x_flat`` is the flat vector.  The parameters
    are SciPy's, in SciPy's order, and the others go to SciPy unchanged.

    >>> import numpy as np
    >>> from dualad.optimize import least_squares
    >>> t = np.linspace(0.0, 3.0, 30); y = 2.0 * np.exp(-0.7 * t)
    >>> res = least_squares(lambda p: p[0] * np.exp(-p[1] * t) - y, np.array([1.0, 1.0]))
    >>> np.round(res.x, 6).tolist()
    [2.0, 0.7]
    """
    args = args if isinstance(args, tuple) else (args,)
    kwargs = dict(kwargs or {})
    ravel = _Ravel(x0)
    if not isinstance(method, str) or method not in ("trf", "dogbox", "lm"):
        raise ValueError(f"unknown method {method!r}; least_squares methods are: "
                         "trf, dogbox, lm")
    vf = _VectorFunction(lambda x, *a: fun(x, *a, **kwargs), ravel, args)
    if jac is None:
        dense = method == "lm" or tr_solver == "exact" or \
            (isinstance(x_scale, str) and x_scale == "jac")
        sp_jac = (lambda x: vf.dense(x)) if dense else vf.operator
        if not dense and tr_solver is None:
            tr_solver = "lsmr"
        sp_fun = vf.value
    else:
        def sp_fun(x):
            return fun(ravel.unravel(x), *args, **kwargs)
        sp_jac = jac if not callable(jac) else \
            (lambda x: jac(ravel.unravel(x), *args, **kwargs))
    options = dict(ftol=ftol, xtol=xtol, gtol=gtol, loss=loss, f_scale=f_scale,
                   diff_step=diff_step, tr_solver=tr_solver, tr_options=tr_options,
                   jac_sparsity=jac_sparsity, max_nfev=max_nfev, verbose=verbose,
                   callback=_wrap_callback(callback, ravel))
    if x_scale is not None:  # SciPy's own default differs between versions
        options["x_scale"] = x_scale
    if workers is not None:
        options["workers"] = workers
    if tr_options is None:
        del options["tr_options"]
    res = _so.least_squares(sp_fun, ravel.x0, jac=sp_jac, bounds=bounds, method=method,
                            **options)
    res.x_flat = res.x
    res.x = ravel.unravel_result(res.x)
    return res
