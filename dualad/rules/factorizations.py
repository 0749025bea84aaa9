"""Triangular solves and the LU factorization, as primitives: the rules
behind dualad.scipy.linalg's ``solve_triangular``, ``cho_solve``,
``lu_factor``, ``lu_solve`` and ``lu`` (SciPy's functions convert their
inputs with ``np.asarray``; the drop-ins with SciPy's signatures are in
:mod:`dualad.scipy.linalg`).

* ``solve_triangular_p(a, b, lower=, unit=)``: ``T⁻¹ b`` for the triangle
  ``T`` of ``a`` (with ones on its diagonal if ``unit``, which is then not
  read), ``b`` a matrix ``(..., n, k)``; stacks broadcast.  Entries of
  ``a`` outside ``T`` have derivative 0.  O(n²) per right-hand side, where
  a general solve would be O(n³).
* ``lu_factor_p(a)``: LAPACK's ``getrf`` as ``scipy.linalg.lu_factor``
  returns it, ``(lu, piv)``, square or rectangular, stacks too; ``piv``
  (integers) has no derivative, and the derivative of ``lu`` is undefined
  at an exactly zero pivot (a ``LinAlgError`` says so).

Both compute their rules with these primitives again (and matmul, indexing,
``np.where``), on the values they are handed, so every order and nesting
works; complex values follow JAX's convention (plain transposes).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ..core import lowest, ndim_of, primal, shape_of, unbroadcast
from ..extend import Primitive
from .linalg import _align_batched, _mT, matmul_p

__all__ = ["solve_triangular_p", "lu_factor_p"]


# ---- helpers ----------------------------------------------------------------------------
def _triangle_mask(rows: int, cols: int, lower: bool, strict: bool = False):
    if lower:
        return np.tri(rows, cols, k=-1 if strict else 0, dtype=bool)
    return ~np.tri(rows, cols, k=0 if strict else -1, dtype=bool)


def _triangle(x, lower: bool, strict: bool = False):
    """The lower or upper triangle of ``x`` (without the diagonal if ``strict``)."""
    return np.where(_triangle_mask(*shape_of(x)[-2:], lower, strict), x, 0.0)


def _eye_like(a):
    n = shape_of(a)[-1]
    return np.eye(n, dtype=np.result_type(primal(a)))


# ---- solve_triangular: a primitive ---------------------------------------------------------
# x = T⁻¹ b with T the triangle of ``a`` read (unit diagonal: ones in its
# place).  dx = T⁻¹ (db - dT x); the pullback is b̄ = T⁻ᵀ g, ā = the triangle
# of -b̄ xᵀ (plain transposes: the pairing is Re Σ ḡ·t).  ``b`` is a matrix
# (..., n, k) here; stacks broadcast.
def _solve_triangular_impl(a, b, lower, unit):
    return scipy.linalg.solve_triangular(a, b, lower=lower, unit_diagonal=unit,
                                         check_finite=False)


def _st_jvp_a(t, out, a, b, lower, unit):
    t = _align_batched(t, a, max(ndim_of(a), ndim_of(b)))
    return -solve_triangular_p(a, matmul_p(_triangle(t, lower, strict=unit), out),
                               lower=lower, unit=unit)


def _st_jvp_b(t, out, a, b, lower, unit):
    t = _align_batched(t, b, max(ndim_of(a), ndim_of(b)))
    return solve_triangular_p(a, t, lower=lower, unit=unit)


def _st_vjp_b(g, out, a, b, lower, unit):
    return unbroadcast(solve_triangular_p(_mT(a), g, lower=not lower, unit=unit), shape_of(b))


def _st_vjp_a(g, out, a, b, lower, unit):
    gb = solve_triangular_p(_mT(a), g, lower=not lower, unit=unit)
    return unbroadcast(_triangle(-matmul_p(gb, _mT(out)), lower, strict=unit), shape_of(a))


solve_triangular_p = Primitive(
    "solve_triangular", _solve_triangular_impl,
    jvp=(_st_jvp_a, _st_jvp_b), vjp=(_st_vjp_a, _st_vjp_b),
    doc="T⁻¹ b for the lower or upper triangle T of a (unit: with ones on its "
        "diagonal, which is not read); b (..., n, k).  Entries of a outside T "
        "have derivative 0.")


def _tri_solve(a, b, lower, unit=False):
    return solve_triangular_p(a, b, lower=bool(lower), unit=bool(unit))


# ---- lu_factor: a primitive -----------------------------------------------------------------
# Pᵀ A = L U with L unit lower trapezoidal (m, k) and U upper trapezoidal
# (k, n), k = min(m, n), packed in one (m, n) array as LAPACK's getrf
# leaves them.  For the leading k×k block, with X = Pᵀ dA:
#     F = L₁⁻¹ X₁ U₁⁻¹,  dL₁ = L₁ tril(F, -1),  dU₁ = triu(F) U₁;
# a tall A adds the rows dL₂ = (X₂ - L₂ dU₁) U₁⁻¹ = X₂ U₁⁻¹ - L₂ triu(F), a
# wide one the columns dU₂ = L₁⁻¹ (X₂ - dL₁ U₂) = L₁⁻¹ X₂ - tril(F, -1) U₂.
# The permutation is piecewise constant (derivative 0).
def _permutation(piv, m: int):
    """The row order of Pᵀ A from LAPACK's swaps ``piv`` (..., k): Pᵀ A = A[perm]."""
    piv = lowest(piv)
    batch, k = piv.shape[:-1], piv.shape[-1]
    flat = piv.reshape(-1, k)
    perm = np.tile(np.arange(m), (flat.shape[0], 1))
    rows = np.arange(flat.shape[0])
    for i in range(k):  # one step per pivot, vectorised over the stack
        j = flat[:, i]
        here = perm[rows, i].copy()
        perm[rows, i] = perm[rows, j]
        perm[rows, j] = here
    return perm.reshape(batch + (m,))


def _take_rows(x, perm):
    """``x[..., perm, :]`` for a permutation per matrix of the stack (``perm``
    (..., m)); ``x`` may have more leading axes (vector mode)."""
    if perm.ndim == 1:
        return x[..., perm, :]
    index = perm.reshape((1,) * (ndim_of(x) - perm.ndim - 1) + perm.shape + (1,))
    return np.take_along_axis(x, index, axis=-2)


def _unit_lower(lu1):
    return _triangle(lu1, True, strict=True) + _eye_like(lu1)


def _right_solve_upper(x, lu1):
    """x U⁻¹ for the upper triangle U of ``lu1``: (U⁻ᵀ xᵀ)ᵀ."""
    return _mT(_tri_solve(_mT(lu1), _mT(x), lower=True))


def _check_pivots(packed, k):
    """The LU derivative needs U₁⁻¹: refuse it, saying why, at a zero pivot."""
    pivots = np.diagonal(lowest(packed), 0, -2, -1)[..., :k]
    if np.any(pivots == 0):
        raise np.linalg.LinAlgError(
            "the derivative of lu_factor / lu is undefined at a matrix with an exactly zero "
            "pivot (U is singular; SciPy's value there comes with a LinAlgWarning): "
            "differentiate at a nearby matrix, or use a factorization-free formula")


def _lu_jvp(tangents, out, a):
    (t,) = tangents
    packed, piv = out
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    _check_pivots(packed, k)
    x = _take_rows(t, _permutation(piv, m))
    lu1 = packed[..., :k, :k]
    f = _right_solve_upper(_tri_solve(lu1, x[..., :k, :k], lower=True, unit=True), lu1)
    fl, fu = _triangle(f, True, strict=True), _triangle(f, False)
    d = matmul_p(_unit_lower(lu1), fl) + matmul_p(fu, _triangle(lu1, False))
    if m > n:
        d2 = _right_solve_upper(x[..., k:, :], lu1) - matmul_p(packed[..., k:, :], fu)
        d = np.concatenate([d, d2], axis=-2)
    elif n > m:
        d2 = _tri_solve(lu1, x[..., :, k:], lower=True, unit=True) - matmul_p(fl, packed[..., :, k:])
        d = np.concatenate([d, d2], axis=-1)
    return d, None


def _lu_vjp(g, out, a):
    # the transpose of _lu_jvp under Re Σ ḡ·t
    g_lu = g[0]
    if g_lu is None:
        return (None,)
    packed, piv = out
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    _check_pivots(packed, k)
    lu1 = packed[..., :k, :k]
    g1 = g_lu[..., :k, :k]
    f_bar = (_triangle(matmul_p(_mT(_unit_lower(lu1)), _triangle(g1, True, strict=True)),
                       True, strict=True)
             + _triangle(matmul_p(_triangle(g1, False), _mT(_triangle(lu1, False))), False))
    x2_bar = None
    if m > n:
        g2 = g_lu[..., k:, :]
        f_bar = f_bar - _triangle(matmul_p(_mT(packed[..., k:, :]), g2), False)
        x2_bar = _mT(_tri_solve(lu1, _mT(g2), lower=False))            # G₂ U₁⁻ᵀ
    elif n > m:
        g2 = g_lu[..., :, k:]
        f_bar = f_bar - _triangle(matmul_p(g2, _mT(packed[..., :, k:])), True, strict=True)
        x2_bar = _tri_solve(_mT(lu1), g2, lower=False, unit=True)       # L₁⁻ᵀ G₂
    y = _tri_solve(_mT(lu1), f_bar, lower=False, unit=True)            # L₁⁻ᵀ F̄
    x_bar = _mT(_tri_solve(lu1, _mT(y), lower=False))                  # ... U₁⁻ᵀ
    if x2_bar is not None:
        x_bar = np.concatenate([x_bar, x2_bar], axis=-2 if m > n else -1)
    inverse = np.argsort(_permutation(piv, m), axis=-1)
    return (_take_rows(x_bar, inverse),)


lu_factor_p = Primitive(
    "lu_factor", lambda a: tuple(scipy.linalg.lu_factor(a, check_finite=False)),
    jvp=_lu_jvp, vjp=_lu_vjp, multiple_results=True,
    doc="(lu, piv) of LAPACK's getrf, as scipy.linalg.lu_factor: L (unit "
        "lower) and U packed in lu; piv integer, with no derivative.")
