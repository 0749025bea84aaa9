"""Statistics: cumprod, and the order statistics (median, percentile,
quantile) built on ``np.sort``.

``cumprod`` is a primitive (NumPy's own value) whose derivative never
divides by the input: with zeros among the entries, the partial
derivative ``∂out_k/∂x_i = Π_{j ≤ k, j ≠ i} x_j`` is formed as a
cumulative product with ``x_i`` replaced by 1 (O(n²) along the axis, only
on that path); without zeros it is ``out · cumsum(t / x)``.

The order statistics are compositions: ``np.sort`` (a gather by NumPy's
stable argsort, whose rule is in :mod:`.shape`) and NumPy's own linear
interpolation between the two neighbouring order statistics, so the value
equals NumPy's to rounding and every nesting composes.  At tied values
each sorted position's derivative goes to the entry the stable sort puts
there (docs/kinks.md); where the function is differentiable at a tie, any
such assignment gives its derivative.
"""

from __future__ import annotations

import operator

import numpy as np

from ..core import Box, primal, shape_of
from ..extend import Primitive, refuse, register
from .reductions import (_as_inexact_input, _computation_dtype, _refuse_out, cumsum_p,
                         normalize_axes, sum_p)

__all__ = ["cumprod_p"]

_NoValue = np._NoValue


# ---- cumprod ------------------------------------------------------------------------
def _reverse_cumsum(g, axis):
    flip = (Ellipsis, slice(None, None, -1)) + (slice(None),) * (-axis - 1)
    return cumsum_p(g[flip], axis=axis)[flip]


def _partials(x, axis):
    """``C[..., i, k] = Π_{j ≤ k, j ≠ i} x_j`` for k ≥ i, 0 for k < i, with
    the cumulated axis moved last: products only, no division."""
    xm = np.moveaxis(x, axis, -1)
    n = shape_of(xm)[-1]
    eye = np.eye(n, dtype=bool)
    grid = np.where(eye, 1.0, xm[..., None, :])           # [..., i, j]: x_i replaced by 1
    later = np.triu(np.ones((n, n), dtype=bool))          # k >= i
    return np.where(later, np.cumprod(grid, axis=-1), 0.0)


def _has_zero(x) -> bool:
    return not np.all(primal(x) != 0)


def _cumprod_jvp(t, out, x, axis):
    if not _has_zero(x):
        return out * cumsum_p(t / x, axis=axis)
    c = _partials(x, axis)
    tm = np.moveaxis(t, axis, -1)
    return np.moveaxis(np.sum(c * tm[..., :, None], axis=-2), -1, axis)


def _cumprod_vjp(g, out, x, axis):
    if not _has_zero(x):
        return _reverse_cumsum(g * out, axis) / x
    c = _partials(x, axis)
    gm = np.moveaxis(g, axis, -1)
    return np.moveaxis(np.sum(c * gm[..., None, :], axis=-1), -1, axis)


cumprod_p = Primitive(
    "cumprod", lambda x, axis: np.cumprod(x, axis=axis),
    jvp=(_cumprod_jvp,), vjp=(_cumprod_vjp,))


def _cumprod(a, axis=None, dtype=None, out=None):
    _refuse_out("cumprod", out)
    if dtype is not None:
        d = _computation_dtype("cumprod", dtype)
        if d.kind not in "fc":
            return np.cumprod(primal(a), axis, d)
        a = _as_inexact_input(a, d)
    elif not isinstance(a, Box):
        a = np.asarray(a)
    if axis is None:
        a = np.reshape(a, (-1,))
        axis = 0
    (axis,) = normalize_axes(operator.index(axis), np.ndim(primal(a)))
    return cumprod_p(a, axis=axis)


register(np.cumprod, _cumprod)
