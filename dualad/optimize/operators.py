"""Hessians and Jacobians as SciPy ``LinearOperator`` objects.

What this module lets you do
----------------------------
Hand SciPy's solvers (``cg``, ``lsmr``, Newton-CG, trust-constr,
``least_squares``) a Hessian or Jacobian at one ``x`` without forming it:
:class:`HessianOperator` multiplies by Hessian-vector products,
:class:`JacobianOperator` by JVPs and (through its transpose) VJPs.

The invariant
-------------
The work that depends only on ``x`` is done once per ``x``.  By default
(``replay=True``) the products are :func:`dualad.replay` programs with
``x`` fixed (``fixed_argnums``): an HVP is ``hvp(f, x, v)``, a JVP
``jvp(F, (x,), (v,))``, a VJP ``vjp(F, x)``'s pullback, ``matmat`` a
batched (vector-mode) JVP; the primal computation and whatever else
depends on ``x`` alone runs once per new ``x``, and each product runs
only the rest, with no boxes or dispatch.  The programs live in
:class:`_HessianProducts` / :class:`_JacobianProducts`, which
:mod:`dualad.optimize.objective` shares between the operators of every
iterate, so that a whole optimisation records each program once.  With
``replay=False`` the Hessian operator keeps a
:class:`dualad.GradientLinearization` (``f`` and its backward pass on one
tape) and the Jacobian operator a :func:`dualad.linearize` recording;
every product is one tangent sweep over that recording (its transpose for
a VJP).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.sparse.linalg import LinearOperator

from ..api import (HVP_MODES, GradientLinearization, grad, hvp, jvp, linearize,
                   linearize_grad, value_and_grad, vjp)
from ..staging import replay as _replay
from .flat import _as_vector, _Ravel, _scalar_output

# Batched products keep one (k, size) tangent per tape entry alive; chunk k so
# that k * n stays about this many numbers.
_BATCH_ELEMENTS = 2 ** 16


def _chunks(k: int, n: int):
    """(start, stop) of chunks of k directions, about _BATCH_ELEMENTS numbers each."""
    step = max(1, min(k, _BATCH_ELEMENTS // max(n, 1)))
    for start in range(0, k, step):
        yield start, min(k, start + step)


# ---- replayed products -------------------------------------------------------------
class _HessianProducts:
    """Replayed value-and-gradient and Hessian products of ``f(z, *extra)``.

    ``hvp(z, v, *extra)`` and ``hvp_batched(z, V, *extra)`` (V of shape
    (k, n), fwd-over-rev only) are replayed with ``z`` and ``extra`` fixed:
    the part that depends on them alone runs once per new value.  ``extra``
    holds arguments that change with ``z`` (a constraint Hessian's
    multipliers); data that stays the same for the whole run is better bound
    in ``f`` (a program constant, never compared).
    """

    def __init__(self, f: Callable, mode: str = "fwd-over-rev", n_extra: int = 0):
        fixed = (0,) + tuple(range(2, 2 + n_extra))
        self.value_and_grad = _replay(value_and_grad(f))
        self.hvp = _replay(lambda z, v, *extra: hvp(f, z, v, mode=mode, args=extra),
                           fixed_argnums=fixed)
        self.hvp_batched = None
        if mode == "fwd-over-rev":
            def batched(z, V, *extra):
                return jvp(lambda y: grad(f)(y, *extra), (z,), (V,), batched=True)[1]
            self.hvp_batched = _replay(batched, fixed_argnums=fixed)


class _JacobianProducts:
    """Replayed JVPs (one direction, or k in one batched pass) and VJPs of ``F(z)``,
    with ``z`` fixed."""

    def __init__(self, F: Callable):
        self.jvp = _replay(lambda z, v: jvp(F, (z,), (v,))[1], fixed_argnums=0)
        self.jvp_batched = _replay(lambda z, V: jvp(F, (z,), (V,), batched=True)[1],
                                   fixed_argnums=0)
        self.vjp = _replay(lambda z, u: vjp(F, z)[1](u)[0], fixed_argnums=0)


# ---- the Hessian operator ------------------------------------------------------------
class HessianOperator(LinearOperator):
    """The Hessian of a scalar function at ``x`` as a symmetric ``LinearOperator``.

    ``H @ v`` is an exact Hessian-vector product; the (n, n) matrix is never
    formed.  By default (``replay=True``) each product replays a
    :func:`dualad.replay` program of ``hvp(f, x, v)`` recorded at the first
    product, with ``x`` fixed: the primal and gradient computation runs once,
    each product only the tangent part, and ``matmat`` pushes all k columns
    through one batched pass (vector mode, ``mode="fwd-over-rev"``).  With
    ``replay=False`` and the default ``mode="fwd-over-rev"`` the gradient
    computation at ``x`` is recorded on a tape once, when the operator is
    built, and each product is one forward tangent sweep over that recording;
    ``mode="rev-over-rev"`` also records once and pulls each product back
    through the recording; the other :data:`dualad.HVP_MODES` compute a fresh
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
    replay : bool
        Replay recorded programs for the products (default).  Pass
        ``replay=False`` for impure functions -- ones that count calls, print,
        or read changing global state -- or when recording costs more than it
        saves, e.g. an operator used for one or two products.  Under replay
        ``f`` must be pure: its side effects happen once per recording, and
        globals it reads are captured at the recording.

    Attributes
    ----------
    value : float
        ``f(x)``, from the same recording (with ``replay``: computed when
        first read).
    grad : ndarray, shape (n,)
        The gradient at ``x``, likewise.

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

    def __init__(self, f: Callable, x: Any, args: Sequence = (), mode: str = "fwd-over-rev",
                 *, replay: bool = True) -> None:
        if mode not in HVP_MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(HVP_MODES)}")
        ravel = _Ravel(x, "x")
        args = tuple(args) if isinstance(args, (tuple, list)) else (args,)

        def f_flat(z):
            return _scalar_output(f(ravel.unravel(z), *args), "f")

        x_flat = ravel.x0
        self._mode = mode
        self._lin = self._pullback = self._products = None
        self._extra = ()
        if replay:
            # the value and gradient when first asked for, unrecorded: the
            # products alone then run f once, at their recording
            self._products = _HessianProducts(f_flat, mode)
            value = g = None
            self._value_and_grad = lambda: value_and_grad(f_flat)(x_flat)
        elif mode == "fwd-over-rev":
            self._lin = linearize_grad(f_flat, x_flat)
            value, g = self._lin.value, self._lin.grad
        elif mode == "rev-over-rev":
            (value, g), self._pullback = vjp(value_and_grad(f_flat), x_flat)
        else:
            value, g = value_and_grad(f_flat)(x_flat)
            self._f_flat = f_flat
        self._setup(x_flat, value, g, ravel.dtype)

    @classmethod
    def _from_linearization(cls, lin: GradientLinearization, dtype, counter=None):
        """The operator of a recording made elsewhere (minimize's objective, which
        passes itself as ``counter``: its ``nhvp`` counts these products too)."""
        self = cls.__new__(cls)
        self._mode = "fwd-over-rev"
        self._lin, self._pullback, self._products, self._extra = lin, None, None, ()
        self._setup(lin.x, lin.value, lin.grad, dtype, counter)
        return self

    @classmethod
    def _from_products(cls, products: _HessianProducts, x_flat, value, g, dtype,
                       counter=None, extra: tuple = ()):
        """The operator at ``x_flat`` (not copied: the caller's own) of products
        shared with other points; ``value`` and ``g`` None: computed here."""
        self = cls.__new__(cls)
        self._mode = "fwd-over-rev"
        self._lin = self._pullback = None
        self._products, self._extra = products, extra
        self._value_and_grad = lambda: products.value_and_grad(x_flat, *extra)
        self._setup(x_flat, value, g, dtype, counter)
        return self

    def _setup(self, x_flat, value, g, dtype, counter=None):
        """``value`` and ``g`` None: computed by ``self._value_and_grad()`` when
        first read."""
        n = x_flat.size
        super().__init__(np.dtype(dtype), (n, n))
        self.x = x_flat
        self._value = self._grad = None
        if value is not None:
            self._keep(value, g)
        self.nprod = 0  # Hessian-vector products computed, counting each column of matmat
        self._counter = counter

    def _keep(self, value, g):
        self._value = float(np.reshape(value, ()))
        self._grad = np.asarray(g, dtype=self.dtype).reshape(-1)

    @property
    def value(self) -> float:
        """``f(x)``."""
        if self._value is None:
            self._keep(*self._value_and_grad())
        return self._value

    @value.setter
    def value(self, value):
        self.grad  # noqa: B018 -- computes both: the gradient stays the one at x
        self._value = value

    @property
    def grad(self) -> np.ndarray:
        """The gradient at ``x``, shape (n,)."""
        if self._grad is None:
            self._keep(*self._value_and_grad())
        return self._grad

    @grad.setter
    def grad(self, g):  # ``H.grad *= -1`` assigns: the attribute is the user's to change
        self.value  # noqa: B018 -- as in value's setter
        self._grad = g

    def _count(self, k: int) -> None:
        self.nprod += k
        if self._counter is not None:
            self._counter.nhvp += k

    def dot(self, x: Any) -> Any:
        # SciPy's Newton-CG calls H.dot(p) once per conjugate-gradient step:
        # a plain vector goes straight to the product, past LinearOperator's
        # generic dispatch; anything else (matrices, operators) takes it.
        if type(x) is np.ndarray and x.ndim == 1:
            return self._matvec(x)
        return super().dot(x)

    def matvec(self, x: ArrayLike) -> np.ndarray:
        if type(x) is np.ndarray and x.ndim == 1 and x.shape[0] == self.shape[1]:
            return self._matvec(x)
        return super().matvec(x)

    __matmul__ = dot

    def _matvec(self, v):
        v = _as_vector(v, self.shape[1], self.dtype, "the vector")
        self.nprod += 1  # self._count(1), inline on the hot path
        if self._counter is not None:
            self._counter.nhvp += 1
        if self._products is not None:
            return self._products.hvp(self.x, v, *self._extra)
        if self._lin is not None:
            return self._lin.hvp(v)
        if self._pullback is not None:
            return np.asarray(self._pullback((np.zeros((), self.dtype), v))[0])
        return np.asarray(hvp(self._f_flat, self.x, v, mode=self._mode))

    def _matmat(self, V):
        V = np.asarray(V)
        n, k = V.shape
        if self._products is not None and self._products.hvp_batched is not None:
            def batched(T):
                return self._products.hvp_batched(self.x, T, *self._extra)
        else:
            batched = self._lin.hvp_batched if self._lin is not None else None
        if batched is None or k <= 1:
            return np.stack([self._matvec(V[:, j]) for j in range(k)], axis=1) if k else \
                np.zeros((n, 0), self.dtype)
        V = V.astype(self.dtype, copy=False)
        out = np.empty((n, k), dtype=self.dtype)
        for a, b in _chunks(k, n):
            out[:, a:b] = np.asarray(batched(np.ascontiguousarray(V[:, a:b].T))).T
        self._count(k)
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

    ``J @ v`` is a JVP and ``J.T @ u`` (``rmatvec``) a VJP.  By default
    (``replay=True``) each is a :func:`dualad.replay` program of
    ``jvp(F, (x,), (v,))`` or of ``vjp(F, x)``'s pullback, recorded at the
    first product, with ``x`` fixed: the primal computation runs once, each
    product only its tangent or cotangent part; ``matmat`` is one batched
    JVP (vector mode).  With ``replay=False`` both reuse the evaluation at
    ``x`` done when the operator is built: ``F`` is recorded by
    :func:`dualad.linearize`, a JVP is one tangent sweep over the recording
    and a VJP the transpose of that sweep (recorded on the first
    ``rmatvec``, then pulled back); ``matmat`` and ``rmatmat`` push k
    directions through one sweep.  ``F``'s output is flattened to a vector.

    Parameters
    ----------
    F : callable
        ``F(x, *args) -> array``, written with NumPy.
    x : array_like or pytree
        The point (a pytree is flattened as in :class:`HessianOperator`).
    args : tuple
        Extra arguments of ``F`` (not differentiated).
    holomorphic : bool
        Complex ``x`` needs a holomorphic ``F`` (then the Jacobian is one
        complex matrix, ``F'(z)``); ``rmatvec`` is then SciPy's adjoint
        ``Jᴴ u`` and ``J.T`` the plain transpose.
    replay : bool
        Replay recorded programs for the products (default); ``replay=False``
        for impure functions -- ones that count calls, print, or read changing
        global state -- or when recording costs more than it saves, e.g. an
        operator used for one or two products.  Under replay ``F`` must be
        pure: its side effects happen once per recording.

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

    def __init__(self, F: Callable, x: Any, args: Sequence = (), *, holomorphic: bool = False,
                 replay: bool = True) -> None:
        ravel = _Ravel(x, "x", complex_ok=holomorphic, complex_hint=(
            " For a holomorphic F, pass JacobianOperator(F, x, holomorphic=True)."))
        if holomorphic and ravel.dtype.kind != "c":
            raise TypeError("JacobianOperator with holomorphic=True needs a complex x; "
                            "pass x.astype(complex)")
        args = tuple(args) if isinstance(args, (tuple, list)) else (args,)

        def F_flat(z):
            return np.reshape(F(ravel.unravel(z), *args), (-1,))

        products = None
        if replay:
            products = _JacobianProducts(F_flat)
            value, f_jvp = F_flat(ravel.x0), None  # once: cheaper unrecorded
        else:
            value, f_jvp = linearize(F_flat, ravel.x0)
        if np.iscomplexobj(value) and ravel.dtype.kind != "c":
            raise TypeError(
                "F returned complex values at a real x: its Jacobian is not one complex "
                "matrix acting on complex vectors. Return np.concatenate([F.real, F.imag]) "
                "instead, or, for a holomorphic F, pass x.astype(complex) and holomorphic=True.")
        self._setup(ravel.x0, value, f_jvp, ravel.dtype, products)

    @classmethod
    def _from_linearization(cls, x_flat, value, f_jvp, dtype):
        self = cls.__new__(cls)
        self._setup(x_flat, value, f_jvp, dtype)
        return self

    @classmethod
    def _from_products(cls, products: _JacobianProducts, x_flat, value, dtype):
        """The operator at ``x_flat`` (the caller's own array, not copied) of
        replayed products shared with other points."""
        self = cls.__new__(cls)
        self._setup(x_flat, value, None, dtype, products)
        return self

    def _setup(self, x_flat, value, f_jvp, dtype, products=None):
        self.x = x_flat
        self.value = np.asarray(value)
        if self.value.dtype.kind not in "fc":
            self.value = self.value.astype(np.float64)
        self._f_jvp = f_jvp
        self._products = products
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
        if self._products is not None:
            return np.asarray(self._products.jvp(self.x, v), dtype=self.dtype)
        return np.asarray(self._f_jvp(v), dtype=self.dtype)

    def _rmatvec(self, u):
        # SciPy's rmatvec is the adjoint Jᴴ u = conj(Jᵀ conj(u)); Jᵀ is the pullback
        u = _as_vector(u, self.shape[0], self.dtype, "the vector")
        return np.conj(self._transposed_product(np.conj(u)))

    def _transposed_product(self, u):
        """``Jᵀ u`` (no conjugation): the pullback of the tangent sweep."""
        if self._products is not None:
            u = _as_vector(u, self.shape[0], self.dtype, "the vector")
            return np.asarray(self._products.vjp(self.x, u), dtype=self.dtype)
        return np.asarray(self._pullback(None)(u)[0], dtype=self.dtype)

    def _matmat(self, V):
        V = np.asarray(V).astype(self.dtype, copy=False)
        (m, n), k = self.shape, V.shape[1]
        out = np.empty((m, k), dtype=self.dtype)
        for a, b in _chunks(k, max(m, n)):
            T = np.ascontiguousarray(V[:, a:b].T)
            out[:, a:b] = np.asarray(self._products.jvp_batched(self.x, T)
                                     if self._products is not None
                                     else self._f_jvp(T, batched=True)).T
        return out

    def _rmatmat(self, U):
        U = np.asarray(U).astype(self.dtype, copy=False)
        (m, n), k = self.shape, U.shape[1]
        out = np.empty((n, k), dtype=self.dtype)
        U = np.conj(U)  # the adjoint, as _rmatvec
        if self._products is not None:  # one replayed pullback per column
            for j in range(k):
                out[:, j] = self._transposed_product(U[:, j])
            return np.conj(out)
        for a, b in _chunks(k, max(m, n)):
            pb = self._pullback(b - a)
            out[:, a:b] = np.asarray(pb(np.ascontiguousarray(U[:, a:b].T))[0]).T
        return np.conj(out)

    def _adjoint(self):
        return _TransposedJacobian(self)

    def _transpose(self):
        if self.dtype.kind != "c":
            return _TransposedJacobian(self)
        # Jᵀ = conj(Jᴴ); its adjoint is conj(J)
        conj = np.conj
        return LinearOperator((self.shape[1], self.shape[0]), dtype=self.dtype,
                              matvec=self._transposed_product,
                              matmat=lambda U: conj(self._rmatmat(conj(U))),
                              rmatvec=lambda v: conj(self._matvec(conj(v))),
                              rmatmat=lambda V: conj(self._matmat(conj(V))))

    def _conjugate(self) -> LinearOperator:
        """conj(J), the transpose of Jᴴ."""
        conj = np.conj
        return LinearOperator(self.shape, dtype=self.dtype,
                              matvec=lambda v: conj(self._matvec(conj(v))),
                              matmat=lambda V: conj(self._matmat(conj(V))),
                              rmatvec=self._transposed_product,
                              rmatmat=lambda U: conj(self._rmatmat(conj(U))))

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

    def _transpose(self):
        return self._J if self.dtype.kind != "c" else self._J._conjugate()

