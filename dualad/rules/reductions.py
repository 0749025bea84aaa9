"""Reductions: sum, prod, max/min, cumsum, and mean/var/std built on them.

Axes are normalised at the NumPy boundary to a tuple of *negative* indices,
so the same rule works on a tangent with extra leading batch axes.  Ties in
``max``/``min`` share the derivative equally among the tied entries (as
JAX does).
"""

from __future__ import annotations

import operator

import numpy as np

from ..core import Box, Primitive, broadcast_number, primal, register, shape_of

__all__ = ["normalize_axes", "sum_p", "max_p", "min_p", "prod_p", "cumsum_p"]


def normalize_axes(axis, ndim: int) -> tuple:
    """``axis`` (None, int or tuple) as a sorted tuple of negative indices."""
    if axis is None:
        return tuple(range(-ndim, 0))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out = []
    for a in axes:
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a - ndim if a >= 0 else a)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def _keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    nd = len(shape)
    return tuple(1 if i - nd in axes else n for i, n in enumerate(shape))


def _expand(g, x, axes, keepdims):
    """A reduced value brought back to x's shape by broadcasting."""
    if type(g) in (np.ndarray, np.float64) and g.ndim == 0:  # a full reduction's
        return broadcast_number(g, shape_of(x))
    if not keepdims:
        g = np.reshape(g, _keepdims_shape(shape_of(x), axes))
    return np.broadcast_to(g, shape_of(x))


def _check_unsupported(name, out=None, where=True, initial=None, **_):
    if out is not None:
        raise TypeError(f"dualad cannot write np.{name}'s result in place (out=...)")
    if where is not True:
        raise TypeError(f"dualad does not support where= in np.{name}; use np.where on the input")
    if initial is not None:
        raise TypeError(f"dualad does not support initial= in np.{name}")


# ---- sum ------------------------------------------------------------------
sum_p = Primitive(
    "sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims),
    jvp=(lambda t, out, x, axis, keepdims: sum_p(t, axis=axis, keepdims=keepdims),),
    vjp=(lambda g, out, x, axis, keepdims: _expand(g, x, axis, keepdims),))


def _sum_linear_map(vals, params, batch):
    axis, keepdims = params["axis"], params["keepdims"]
    add_reduce = np.add.reduce
    return lambda t: (sum_p(t, axis=axis, keepdims=keepdims) if isinstance(t, Box)
                      else add_reduce(t, axis=axis, keepdims=keepdims))


sum_p.linear_map = _sum_linear_map


def _sum(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    _check_unsupported("sum", out, **kw)
    return sum_p(a, axis=normalize_axes(axis, np.ndim(primal(a))), keepdims=bool(keepdims))


def _mean(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    _check_unsupported("mean", out, **kw)
    shape = np.shape(primal(a))
    axes = normalize_axes(axis, len(shape))
    count = int(np.prod([shape[i] for i in axes]))
    return sum_p(a, axis=axes, keepdims=bool(keepdims)) / count


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    _check_unsupported("var", out, **kw)
    shape = np.shape(primal(a))
    axes = normalize_axes(axis, len(shape))
    count = int(np.prod([shape[i] for i in axes]))
    centred = a - sum_p(a, axis=axes, keepdims=True) / count
    return sum_p(centred * centred, axis=axes, keepdims=bool(keepdims)) / (count - ddof)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, **kw):
    """The 2-norm of the centred values over sqrt(N - ddof): at a constant
    input its derivative is the norm's subgradient 0, not sqrt's 0 · inf."""
    _check_unsupported("std", out, **kw)
    from .linalg import l2norm_p
    shape = np.shape(primal(a))
    axes = normalize_axes(axis, len(shape))
    count = int(np.prod([shape[i] for i in axes]))
    centred = a - sum_p(a, axis=axes, keepdims=True) / count
    return l2norm_p(centred, axis=axes, keepdims=bool(keepdims)) / np.sqrt(count - ddof)


register(np.sum, _sum)
register(np.mean, _mean)
register(np.var, _var)
register(np.std, _std)


# ---- max / min --------------------------------------------------------------
def _share(x, out, axis, keepdims):
    """Weights that split a max/min's derivative equally among tied entries."""
    x_raw = primal(x)
    out_raw = primal(out)
    if not keepdims:
        out_raw = np.reshape(out_raw, _keepdims_shape(np.shape(x_raw), axis))
    hit = (x_raw == out_raw)
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _extremum(name, impl):
    prim = Primitive(
        name, lambda x, axis, keepdims: impl(x, axis=axis, keepdims=keepdims),
        jvp=(lambda t, out, x, axis, keepdims:
             sum_p(t * _share(x, out, axis, keepdims), axis=axis, keepdims=keepdims),),
        vjp=(lambda g, out, x, axis, keepdims:
             _expand(g, x, axis, keepdims) * _share(x, out, axis, keepdims),))

    def numpy_entry(a, axis=None, out=None, keepdims=False, **kw):
        _check_unsupported(name, out, **kw)
        return prim(a, axis=normalize_axes(axis, np.ndim(primal(a))), keepdims=bool(keepdims))
    return prim, numpy_entry


max_p, _max = _extremum("max", np.max)
min_p, _min = _extremum("min", np.min)
register(np.max, _max)
register(np.amax, _max)
register(np.min, _min)
register(np.amin, _min)


# ---- prod -------------------------------------------------------------------
def _others(x, out, axis, keepdims):
    """Product of all other entries along the reduced axes, for each entry."""
    if np.all(primal(x) != 0):
        if not keepdims:
            out = np.reshape(out, _keepdims_shape(shape_of(x), axis))
        return out / x
    # With a zero present out / x is 0/0: form the products explicitly
    # (O(n^2) along the reduced axes, only on this path).
    shape = shape_of(x)
    nd = len(shape)
    kept = [i for i in range(nd) if i - nd not in axis]
    red = [i for i in range(nd) if i - nd in axis]
    n = int(np.prod([shape[i] for i in red]))
    moved = np.reshape(np.transpose(x, kept + red), tuple(shape[i] for i in kept) + (n,))
    grid = np.where(np.eye(n, dtype=bool), 1.0, moved[..., None, :])
    others = np.reshape(prod_p(grid, axis=(-1,), keepdims=False),
                        tuple(shape[i] for i in kept + red))
    return np.transpose(others, tuple(np.argsort(kept + red)))


prod_p = Primitive(
    "prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims),
    jvp=(lambda t, out, x, axis, keepdims:
         sum_p(t * _others(x, out, axis, keepdims), axis=axis, keepdims=keepdims),),
    vjp=(lambda g, out, x, axis, keepdims:
         _expand(g, x, axis, keepdims) * _others(x, out, axis, keepdims),))


def _prod(a, axis=None, dtype=None, out=None, keepdims=False, **kw):
    _check_unsupported("prod", out, **kw)
    return prod_p(a, axis=normalize_axes(axis, np.ndim(primal(a))), keepdims=bool(keepdims))


register(np.prod, _prod)


# ---- cumsum -----------------------------------------------------------------
def _reverse_cumsum(g, axis):
    flip = (Ellipsis, slice(None, None, -1)) + (slice(None),) * (-axis - 1)
    return cumsum_p(g[flip], axis=axis)[flip]


cumsum_p = Primitive(
    "cumsum", lambda x, axis: np.cumsum(x, axis=axis),
    jvp=(lambda t, out, x, axis: cumsum_p(t, axis=axis),),
    vjp=(lambda g, out, x, axis: _reverse_cumsum(g, axis),))


def _cumsum(a, axis=None, dtype=None, out=None):
    if out is not None:
        raise TypeError("dualad cannot write np.cumsum's result in place (out=...)")
    if axis is None:
        a = np.reshape(a, (-1,))
        axis = 0
    (axis,) = normalize_axes(axis, np.ndim(primal(a)))
    return cumsum_p(a, axis=axis)


register(np.cumsum, _cumsum)
