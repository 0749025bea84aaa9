"""Exact sparse Jacobians and Hessians as the callables SciPy's solvers take.

What this module lets you do
----------------------------
Give ``least_squares`` (``jac_sparsity="auto"``) and ``minimize(...,
method="trust-constr", hess="sparse")`` ``scipy.sparse.csr_array``
derivatives with exact values, from :class:`dualad.sparse.SparseJacobian`
and :class:`dualad.sparse.SparseHessian`.

The invariant
-------------
The pattern is detected and coloured once, at ``x0``, and is *global*: it
holds at every iterate, so each call is one compressed vector-mode pass
with as many directions as there are colours.  Residual and constraint
values are plain evaluations (a solver tries points it then rejects, where
no Jacobian is wanted); the Jacobian's pass computes the value too, which
is kept for a value asked for at the same point afterwards.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as _sp

from .. import sparse as _sparse
from .objective import _same_point


def _pattern(sparsity, shape: tuple | None, where: str):
    """``None`` for ``"auto"`` (detect it), else the user's pattern as a bool csr_array,
    its shape checked against ``shape`` (when known)."""
    if isinstance(sparsity, str):
        if sparsity != "auto":
            raise ValueError(f"{where}={sparsity!r}: pass 'auto' to detect the pattern, "
                             "or an (m, n) array / sparse matrix of the entries that may "
                             "be nonzero")
        return None
    return _sparse.as_pattern(sparsity, shape, where,
                              "the Jacobian (residuals x variables; or pass 'auto')")


class _SparseVectorFunction:
    """Value (plain) and exact sparse Jacobian of ``F_flat``, whose pattern is
    found (or given) once at ``x0``."""

    def __init__(self, F_flat: Callable, x0: np.ndarray, sparsity=None):
        self.F_flat = F_flat
        self.jacobian = _sparse.SparseJacobian(F_flat, x0, sparsity=sparsity)
        self._x = None
        self._value = None
        self.njev = 0

    def value(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float).reshape(-1)
        if self._x is not None and _same_point(x, self._x):
            return self._value.copy()
        return np.reshape(np.asarray(self.F_flat(x), dtype=float), (-1,))

    def jac(self, x) -> _sp.csr_array:
        x = np.asarray(x, dtype=float).reshape(-1)
        value, J = self.jacobian.value_and_jacobian(x)
        self._x, self._value = x.copy(), np.reshape(np.asarray(value, dtype=float), (-1,))
        self.njev += 1
        return J


def _sparse_hessian(f_flat: Callable, x0: np.ndarray) -> Callable:
    """``hess(x) ->`` the exact sparse Hessian of the scalar ``f_flat`` at x."""
    evaluate = _sparse.SparseHessian(f_flat, x0)

    def hess(x, *_bound_args):  # SciPy passes the args already bound in f_flat
        return evaluate(np.asarray(x, dtype=float).reshape(-1))

    hess.sparse_hessian = evaluate
    return hess


def _sparse_constraint_hess(con_flat: Callable, x0: np.ndarray) -> Callable:
    """trust-constr's ``hess(x, v)``: the exact sparse Hessian of ``v · c`` at x.

    Its pattern is inside the union of the constraints' Hessian patterns,
    which is what detection with ``v`` all ones finds; it is found once and
    each call evaluates with the multipliers of that call.
    """
    m = np.reshape(con_flat(np.asarray(x0, dtype=float)), (-1,)).size
    multipliers = {"v": np.ones(m)}

    def weighted(z):
        return np.sum(multipliers["v"] * con_flat(z))

    # weighted reads the multipliers from a closure, so it is not a pure
    # function of z: its evaluations run eagerly (replay would keep the first)
    evaluate = _sparse.SparseHessian(weighted, x0, replay=False)

    def hess(x, v):
        v = np.asarray(v, dtype=float).reshape(-1)
        if v.size != m:
            raise ValueError(f"constraint hess: got {v.size} multipliers for {m} constraints")
        multipliers["v"] = v
        return evaluate(np.asarray(x, dtype=float).reshape(-1))

    hess.sparse_hessian = evaluate
    return hess
