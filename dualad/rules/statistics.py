"""Statistics: cumprod, average, ptp, the order statistics (median,
percentile, quantile) built on ``np.sort``, and the nan* family.

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
such assignment gives its derivative.  Only NumPy's default
``method="linear"`` is implemented (others refused by name), and
``weights=`` (NumPy's, for method="inverted_cdf" only) is refused.

The nan* functions find the NaNs on the primal values (a constant mask)
and replace them, or leave them out through a reduction's ``where=``,
before any arithmetic, so a NaN entry's derivative is exactly 0; their
order statistics interpolate within each slice's own count of numbers.
"""

from __future__ import annotations

import math

import numpy as np

from ..core import lowest, Box, concrete, primal, shape_of
from ..extend import Primitive, nondiff, refuse, register
from .reductions import _refuse_out, cumsum_p, cumulative, normalize_axes

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
    return cumulative("cumprod", cumprod_p, a, axis, dtype, out)


register(np.cumprod, _cumprod)


# ---- median / percentile / quantile ---------------------------------------------------
def _as_real_input(a):
    """``a`` as an array or box, integers and booleans as float64 (NumPy's
    interpolation of integers is computed in float64)."""
    if not isinstance(a, Box):
        a = np.asarray(a)
    if np.result_type(primal(a)).kind in "biu":
        a = a.astype(np.float64)
    return a


def _reduced_first(a, axis):
    """``a`` with the entries reduced over ``axis`` (None, an int or a
    tuple) gathered on axis 0, as NumPy's ``_ureduce`` sees them, and the
    shape of the result with ``keepdims``."""
    shape = shape_of(a)
    nd = len(shape)
    axes = normalize_axes(tuple(range(nd)) if axis is None else axis, nd)
    axes = tuple(sorted(i + nd for i in axes))
    kept = tuple(i for i in range(nd) if i not in axes)
    keep_shape = tuple(1 if i in axes else n for i, n in enumerate(shape))
    if axes != tuple(range(len(axes))):
        a = np.transpose(a, axes + kept)
    n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    a = np.reshape(a, (n,) + tuple(shape[i] for i in kept))
    return a, keep_shape


def _nan_slices(s):
    """Slices (of the sorted values ``s``, reduced over axis 0) holding a
    NaN: it sorts last.  None when there can be none."""
    if np.result_type(primal(s)).kind not in "fc" or shape_of(s)[0] == 0:
        return None
    last = np.isnan(concrete(s)[-1])
    return last if np.any(last) else None


def _refuse_options(name, out, method, weights):
    _refuse_out(name, out)
    if weights is not None:
        refuse(f"numpy.{name}", "weights",
               "weights are supported by NumPy only with method='inverted_cdf', a step "
               "function of the data that dualad does not implement")
    if method != "linear":
        refuse(f"numpy.{name}", "method",
               f"method={method!r}: only NumPy's default, 'linear' (interpolation between the "
               "two neighbouring order statistics), is implemented")


def _quantile_of(name, a, q, axis, keepdims, weak_q):
    """NumPy's ``_quantile`` with method='linear', composed from np.sort and
    NumPy's own ``_lerp`` on the sorted values (``q`` already in [0, 1])."""
    a = _as_real_input(a)
    x, keep_shape = _reduced_first(a, axis)
    s = np.sort(x, axis=0, kind="stable")
    n = shape_of(s)[0]
    q_raw = lowest(q)
    virtual = (n - 1) * q                       # a box for a traced q: the weight follows it
    virtual_raw = lowest(virtual)
    if virtual_raw.dtype.kind in "iu":          # q of 0s and 1s as integers: no interpolation
        result = np.take(s, virtual_raw, axis=0)
    else:
        previous = np.floor(virtual_raw)
        following = previous + 1
        beyond = (virtual_raw >= n - 1) | np.isnan(virtual_raw)   # NumPy: the last entry
        previous, following = np.where(beyond, -1, previous), np.where(beyond, -1, following)
        previous, following = np.where(virtual_raw < 0, 0, previous), np.where(virtual_raw < 0, 0, following)
        previous, following = previous.astype(np.intp), following.astype(np.intp)
        below, above = np.take(s, previous, axis=0), np.take(s, following, axis=0)
        gamma = virtual - previous.astype(virtual_raw.dtype)
        gamma_raw = lowest(gamma)
        if weak_q:
            gamma = float(gamma_raw)            # NumPy's weak promotion: a's dtype is kept
        elif not isinstance(gamma, Box):
            gamma = gamma_raw
        rest = (1,) * (len(shape_of(s)) - 1)
        if not isinstance(gamma, float):
            gamma = np.reshape(gamma, q_raw.shape + rest)
            gamma_raw = np.reshape(gamma_raw, q_raw.shape + rest)
        difference = above - below             # NumPy's _lerp, both branches
        result = np.where(gamma_raw >= 0.5, above - difference * (1 - gamma),
                          below + difference * gamma)
    nans = _nan_slices(s)
    if nans is not None:
        result = np.where(nans, s[-1], result)
    if keepdims:
        result = np.reshape(result, q_raw.shape + keep_shape)
    return result


def _check_q(q, what, high):
    q_raw = lowest(q)
    if q_raw.ndim > 2:
        raise ValueError("q must be a scalar or 1d")
    if np.any(q_raw < 0) or np.any(q_raw > high):
        raise ValueError(f"{what} must be in the range [0, {high}]")


def _refuse_complex(a):
    if np.result_type(primal(a)).kind == "c":
        raise TypeError("a must be an array of real numbers")


def _quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
              keepdims=False, *, weights=None):
    """np.quantile: ``overwrite_input`` is honoured by never writing into ``a``."""
    _refuse_options("quantile", out, method, weights)
    _refuse_complex(a)
    weak_q = type(q) in (int, float)
    if not isinstance(q, Box):
        q = np.asanyarray(q)
    _check_q(q, "Quantiles", 1)
    return _quantile_of("quantile", a, q, axis, keepdims, weak_q)


def _percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
    """np.percentile: np.quantile of ``q / 100`` (NumPy's own division)."""
    _refuse_options("percentile", out, method, weights)
    _refuse_complex(a)
    weak_q = type(q) in (int, float)
    q = np.true_divide(q, 100)
    _check_q(q, "Percentiles", 100)
    return _quantile_of("percentile", a, q, axis, keepdims, weak_q)


def _median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """np.median: the mean of the one or two middle order statistics, as
    NumPy computes it; ``overwrite_input`` is honoured by never writing
    into ``a``."""
    _refuse_out("median", out)
    if not isinstance(a, Box):
        a = np.asarray(a)
    x, keep_shape = _reduced_first(a, axis)
    s = np.sort(x, axis=0, kind="stable")
    n = shape_of(s)[0]
    middle = [n // 2] if n % 2 else [n // 2 - 1, n // 2]
    result = np.mean(np.take(s, middle, axis=0), axis=0)
    nans = _nan_slices(s)
    if nans is not None:
        result = np.where(nans, s[-1], result)
    if keepdims:
        result = np.reshape(result, keep_shape)
    return result


register(np.quantile, _quantile)
register(np.percentile, _percentile)
register(np.median, _median)


# ---- average / ptp ---------------------------------------------------------------------
def _in(value, dtype):
    return value if np.result_type(primal(value)) == dtype else value.astype(dtype)


def _average(a, axis=None, weights=None, returned=False, *, keepdims=_NoValue):
    """np.average, as NumPy computes it: mean, or Σ a·w / Σ w over ``axis``
    with traced ``a`` and ``weights`` (1-D weights along the axis broadcast
    as NumPy does)."""
    if not isinstance(a, Box):
        a = np.asanyarray(a)
    shape = shape_of(a)
    if axis is not None:
        axis = np.lib.array_utils.normalize_axis_tuple(axis, len(shape), argname="axis")
    options = {} if keepdims is _NoValue else {"keepdims": keepdims}
    if weights is None:
        avg = np.mean(a, axis, **options)
        dtype = np.result_type(primal(avg))
        scale = dtype.type(math.prod(shape) / math.prod(shape_of(avg)))
    else:
        w = weights if isinstance(weights, Box) else np.asanyarray(weights)
        if shape_of(w) != shape:
            if axis is None:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            if shape_of(w) != tuple(shape[i] for i in axis):
                raise ValueError("Shape of weights must be consistent with "
                                 "shape of a along specified axis.")
            w = np.transpose(w, tuple(np.argsort(axis)))
            w = np.reshape(w, tuple(n if i in axis else 1 for i, n in enumerate(shape)))
        a_dtype, w_dtype = np.result_type(primal(a)), np.result_type(primal(w))
        if a_dtype.kind in "biu":
            dtype = np.result_type(a_dtype, w_dtype, "f8")
        else:
            dtype = np.result_type(a_dtype, w_dtype)
        scale = np.sum(_in(w, dtype), axis=axis, **options)
        if np.any(concrete(scale) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = np.sum(_in(a, dtype) * _in(w, dtype), axis, **options) / scale
    if not returned:
        return avg
    if shape_of(scale) != shape_of(avg):
        scale = np.broadcast_to(scale, shape_of(avg))
        scale = scale if isinstance(scale, Box) else scale.copy()
    return avg, scale


def _ptp(a, axis=None, out=None, keepdims=_NoValue):
    """np.ptp as NumPy computes it, max - min: ties share as in max and min."""
    _refuse_out("ptp", out)
    options = {} if keepdims is _NoValue else {"keepdims": keepdims}
    return np.subtract(np.max(a, axis, **options), np.min(a, axis, **options))


register(np.average, _average)
register(np.ptp, _ptp)


# ---- the nan* family ---------------------------------------------------------------------
# NaN entries are found on the primal values (a constant mask) and replaced
# through np.where, or left out through a reduction's where=, before any
# arithmetic: their derivative is exactly 0, never 0 * NaN.
def _nan_mask(a):
    """Where ``a`` is NaN (a constant bool array), or None if nowhere."""
    raw = lowest(a)
    if raw.dtype.kind not in "fc":
        return None
    mask = np.isnan(raw)
    return mask if mask.any() else None


def _replace_nan(a, value):
    mask = _nan_mask(a)
    return a if mask is None else np.where(mask, value, a)


def _valid(a, where):
    """The where= mask of the entries that are not NaN (and inside ``where``)."""
    mask = _nan_mask(a)
    if mask is None:
        return where
    return ~mask if where is _NoValue else ~mask & lowest(where, bool)


def _nansum(a, axis=None, dtype=None, out=None, keepdims=_NoValue, initial=_NoValue,
            where=_NoValue):
    _refuse_out("nansum", out)
    return np.sum(_replace_nan(a, 0), axis, dtype, None, keepdims, initial, where)


def _nanprod(a, axis=None, dtype=None, out=None, keepdims=_NoValue, initial=_NoValue,
             where=_NoValue):
    _refuse_out("nanprod", out)
    return np.prod(_replace_nan(a, 1), axis, dtype, None, keepdims, initial, where)


def _nancumsum(a, axis=None, dtype=None, out=None):
    _refuse_out("nancumsum", out)
    return np.cumsum(_replace_nan(a, 0), axis, dtype)


def _nancumprod(a, axis=None, dtype=None, out=None):
    _refuse_out("nancumprod", out)
    return np.cumprod(_replace_nan(a, 1), axis, dtype)


def _nanmean(a, axis=None, dtype=None, out=None, keepdims=_NoValue, *, where=_NoValue):
    """The mean over the entries that are not NaN (NaN for a slice of NaNs only)."""
    _refuse_out("nanmean", out)
    return np.mean(a, axis, dtype, None, keepdims, where=_valid(a, where))


def _nan_spread(name, numpy_function):
    def entry(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *,
              where=_NoValue, mean=_NoValue, correction=_NoValue):
        _refuse_out(name, out)
        return numpy_function(a, axis, dtype, None, ddof, keepdims, where=_valid(a, where),
                              mean=mean, correction=correction)
    entry.__name__ = f"_{name}"
    entry.__doc__ = f"np.{name}: np.{numpy_function.__name__} over the entries that are not NaN."
    return entry


def _nan_extremum(name, numpy_function, fill):
    def entry(a, axis=None, out=None, keepdims=_NoValue, initial=_NoValue, where=_NoValue):
        _refuse_out(name, out)
        mask = _nan_mask(a)
        if mask is None:
            return numpy_function(a, axis, None, keepdims, initial, where)
        result = numpy_function(np.where(mask, fill, a), axis, None, keepdims, initial, where)
        if initial is _NoValue:  # a slice of NaNs only is NaN, as NumPy's fmax.reduce gives
            empty = mask if where is _NoValue else mask | ~lowest(where, bool)
            empty = np.all(empty, axis=axis, keepdims=keepdims is not _NoValue and bool(keepdims))
            if np.any(empty):
                result = np.where(empty, np.nan, result)
        return result
    entry.__name__ = f"_{name}"
    entry.__doc__ = (f"np.{name}: np.{numpy_function.__name__} with NaNs replaced by "
                     f"{fill}; ties share as in np.{numpy_function.__name__}.")
    return entry


register(np.nansum, _nansum)
register(np.nanprod, _nanprod)
register(np.nancumsum, _nancumsum)
register(np.nancumprod, _nancumprod)
register(np.nanmean, _nanmean)
register(np.nanvar, _nan_spread("nanvar", np.var))
register(np.nanstd, _nan_spread("nanstd", np.std))
register(np.nanmax, _nan_extremum("nanmax", np.max, -np.inf))
register(np.nanmin, _nan_extremum("nanmin", np.min, np.inf))
register(np.nanargmax, nondiff(np.nanargmax))
register(np.nanargmin, nondiff(np.nanargmin))


# ---- nanmedian / nanpercentile / nanquantile ---------------------------------------------
# Each slice has its own number c of entries that are not NaN (they sort
# first), so the positions interpolated between are gathered per slice
# with np.take_along_axis; a slice of NaNs only is NaN, as in NumPy.
def _gather(s, positions):
    """``s[positions[..., j], j]`` along axis 0, for ``positions`` of shape
    q.shape + s.shape[1:]."""
    rest = shape_of(s)[1:]
    lead = np.shape(positions)[:np.ndim(positions) - len(rest)]
    flat = np.reshape(positions, (-1,) + rest)
    return np.reshape(np.take_along_axis(s, flat, axis=0), lead + rest)


def _nan_sorted(a, axis):
    a = _as_real_input(a)
    x, keep_shape = _reduced_first(a, axis)
    s = np.sort(x, axis=0, kind="stable")
    raw = lowest(s)
    count = (np.sum(~np.isnan(raw), axis=0) if raw.dtype.kind in "fc"
             else np.full(raw.shape[1:], raw.shape[0]))
    return s, count, keep_shape


def _nan_keepdims(result, keepdims, shape):
    if keepdims is not _NoValue and keepdims:
        result = np.reshape(result, shape)
    return result


def _nanquantile_of(a, q, axis, keepdims, weak_q):
    s, count, keep_shape = _nan_sorted(a, axis)
    q_raw = lowest(q)
    rest = (1,) * count.ndim
    qs = q if weak_q or not isinstance(q, Box) else np.reshape(q, q_raw.shape + rest)
    if not isinstance(qs, Box):
        qs = np.reshape(q_raw, q_raw.shape + rest)
    virtual = (count - 1) * qs                  # per slice; a box for a traced q
    virtual_raw = lowest(virtual)
    top = np.maximum(count - 1, 0)
    if virtual_raw.dtype.kind in "biu":         # q of 0s and 1s as integers: no interpolation
        result = _gather(s, np.clip(virtual_raw, 0, top).astype(np.intp))
        if np.any(count == 0):
            result = np.where(count == 0, np.nan, result)
        return _nan_keepdims(result, keepdims, q_raw.shape + keep_shape)
    previous = np.floor(virtual_raw)
    previous = np.clip(previous, 0, top).astype(np.intp)
    following = np.minimum(previous + 1, top).astype(np.intp)
    below, above = _gather(s, previous), _gather(s, following)
    gamma = virtual - previous
    gamma_raw = lowest(gamma)
    if weak_q:  # a Python q: NumPy's weak promotion keeps a's dtype, 1 - gamma taken in float64
        dtype = np.result_type(primal(s))
        upper, lower = gamma_raw.astype(dtype), (1 - gamma_raw).astype(dtype)
    else:
        upper, lower = gamma, 1 - gamma
    difference = above - below
    result = np.where(gamma_raw >= 0.5, above - difference * lower, below + difference * upper)
    if np.any(count == 0):
        result = np.where(count == 0, np.nan, result)
    return _nan_keepdims(result, keepdims, q_raw.shape + keep_shape)


def _nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                 keepdims=_NoValue, *, weights=None):
    """np.nanquantile: np.quantile of each slice's entries that are not NaN."""
    _refuse_options("nanquantile", out, method, weights)
    _refuse_complex(a)
    weak_q = type(q) in (int, float)
    if not isinstance(q, Box):
        q = np.asanyarray(q)
    _check_q(q, "Quantiles", 1)
    return _nanquantile_of(a, q, axis, keepdims, weak_q)


def _nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                   keepdims=_NoValue, *, weights=None):
    """np.nanpercentile: np.nanquantile of ``q / 100``."""
    _refuse_options("nanpercentile", out, method, weights)
    _refuse_complex(a)
    weak_q = type(q) in (int, float)
    q = np.true_divide(q, 100)
    _check_q(q, "Percentiles", 100)
    return _nanquantile_of(a, q, axis, keepdims, weak_q)


def _nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=_NoValue):
    """np.nanmedian: the mean of each slice's one or two middle entries
    that are not NaN; ``overwrite_input`` honoured by never writing."""
    _refuse_out("nanmedian", out)
    s, count, keep_shape = _nan_sorted(a, axis)
    low = np.maximum((count - 1) // 2, 0).astype(np.intp)
    high = np.maximum(count // 2, 0).astype(np.intp)
    high = np.minimum(high, np.maximum(count - 1, 0)).astype(np.intp)
    result = (_gather(s, low) + _gather(s, high)) / 2
    if np.any(count == 0):
        result = np.where(count == 0, np.nan, result)
    return _nan_keepdims(result, keepdims, keep_shape)


register(np.nanquantile, _nanquantile)
register(np.nanpercentile, _nanpercentile)
register(np.nanmedian, _nanmedian)
