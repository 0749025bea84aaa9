"""Reductions: sum, prod, max/min, cumsum, and mean/var/std built on them.

Axes are normalised at the NumPy boundary to a tuple of *negative* indices,
so the same rule works on a tangent with extra leading batch axes.  Ties in
``max``/``min`` share the derivative equally among the tied entries (as
JAX does); a tie with ``initial=`` gives half to the initial value, as
``np.maximum(np.max(x), initial)`` would.

Every keyword of NumPy's signatures is honoured with NumPy's semantics or
refused (``out=``, complex ``dtype=``, a traced ``initial=``/``ddof=``):

* ``where=`` and ``initial=`` are parameters of the primitives themselves,
  so the value is NumPy's own call on the raw arrays, bit for bit, and
  NumPy raises its own errors (``max`` with ``where`` but no ``initial``);
* a floating ``dtype=`` casts the input first and reduces in that dtype; an
  integer or bool ``dtype=`` returns NumPy's plain result computed on the
  primal values (it has no derivative);
* ``mean`` of float16 accumulates in float32 and rounds back, as NumPy does.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..core import Box, broadcast_number, primal, shape_of
from ..extend import Primitive, refuse, register

__all__ = ["normalize_axes", "sum_p", "max_p", "min_p", "prod_p", "cumsum_p"]

_NoValue = np._NoValue  # NumPy's "not given" default, so that an absent keyword stays absent


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


def _reduction_axes(axis, ndim: int) -> tuple:
    """A reduction's ``axis`` as NumPy reads it: None, an integer or a tuple
    of integers (a list is a TypeError, as in NumPy)."""
    if axis is None:
        return tuple(range(-ndim, 0))
    if isinstance(axis, tuple):
        return normalize_axes(tuple(operator.index(a) for a in axis), ndim)
    return normalize_axes(operator.index(axis), ndim)


def _keepdims_value(keepdims) -> bool:
    """NumPy reads ``keepdims`` as an integer (``np.True_``, None, 1.0 are TypeErrors)."""
    return False if keepdims is _NoValue else bool(operator.index(keepdims))


def _where_mask(where, shape: tuple):
    """``where=`` as a read-only bool mask of ``shape``, or None for "every
    entry" (NumPy's default; only the literal ``True`` means no mask)."""
    if where is _NoValue or where is True:
        return None
    w = np.asarray(primal(where))
    if w.dtype != np.bool_:
        raise TypeError(f"Cannot cast array data from {w.dtype!r} to dtype('bool') "
                        "according to the rule 'safe'")
    return np.broadcast_to(w, shape)


def _initial_value(name: str, ufunc, initial, dtype):
    """``initial=`` converted as NumPy converts it (to the reduction's dtype,
    with NumPy's errors), or None when not given."""
    if initial is _NoValue or initial is None:
        return None
    if isinstance(initial, Box):
        refuse(f"numpy.{name}", "initial",
               "NumPy takes it as a constant scalar, so a traced initial value would lose its "
               "derivative; combine it outside instead (np.sum(x) + c, np.maximum(np.max(x), c))")
    return ufunc.reduce(np.empty(0, dtype), initial=initial)


def _refuse_out(name: str, out) -> None:
    if out is not None:
        refuse(f"numpy.{name}", "out",
               "dualad cannot write a result into an existing array (derivatives need every "
               "intermediate value); use the returned value instead")


def _computation_dtype(name: str, dtype):
    """``dtype=`` read as NumPy reads it: None, or an np.dtype whose kind is
    'f' (computed in that dtype) or 'b'/'i'/'u' (no derivative).  Complex
    and other kinds are refused."""
    if dtype is None:
        return None
    d = np.dtype(dtype)
    if d.kind == "c":
        refuse(f"numpy.{name}", "dtype", "complex numbers are not differentiated yet")
    if d.kind not in "biuf":
        refuse(f"numpy.{name}", "dtype", f"{d} is not a floating, integer or bool dtype")
    return d


def _as_float_input(name: str, a, dtype):
    """``a`` cast to the floating ``dtype`` (when given), as an array or box."""
    if not isinstance(a, Box):
        a = np.asarray(a)
    p = primal(a)
    kind = np.result_type(p).kind
    if kind == "c":
        refuse(f"numpy.{name}", "a", "complex numbers are not differentiated yet")
    if dtype is not None and np.result_type(p) != dtype:
        a = a.astype(dtype)
    elif kind in "biu":
        a = a.astype(np.float64)  # NumPy's mean and var of integers are computed in float64
    return a


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


def _masked(g, where):
    """Zero outside the ``where`` mask (None: no mask)."""
    return g if where is None else np.where(where, g, 0.0)


def _numpy_options(where, initial) -> dict:
    opts = {}
    if where is not None:
        opts["where"] = where
    if initial is not None:
        opts["initial"] = initial
    return opts


# ---- sum ------------------------------------------------------------------
# ``where`` (a bool mask of x's shape) and ``initial`` (a constant scalar) are
# optional: absent, the primitive is the plain np.sum.  ``initial`` only
# shifts the value; the mask selects which entries carry a derivative.
def _sum_impl(x, axis, keepdims, where=None, initial=None):
    if where is None and initial is None:
        return np.sum(x, axis=axis, keepdims=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims, **_numpy_options(where, initial))


def _sum_linear_map(vals, params, batch):
    axis, keepdims = params["axis"], params["keepdims"]
    where = params.get("where")
    if where is not None:
        return lambda t: sum_p(t, axis=axis, keepdims=keepdims, where=where)
    add_reduce = np.add.reduce
    return lambda t: (sum_p(t, axis=axis, keepdims=keepdims) if isinstance(t, Box)
                      else add_reduce(t, axis=axis, keepdims=keepdims))


sum_p = Primitive(
    "sum", _sum_impl,
    jvp=(lambda t, out, x, axis, keepdims, where=None, initial=None:
         sum_p(t, axis=axis, keepdims=keepdims, where=where),),
    vjp=(lambda g, out, x, axis, keepdims, where=None, initial=None:
         _masked(_expand(g, x, axis, keepdims), where),),
    linear_map=_sum_linear_map)


def _reduced(prim, name, ufunc, a, axis, keepdims, initial, where):
    """``prim`` over NumPy's ``axis``/``keepdims``, with ``where`` and
    ``initial`` handed to it only when given."""
    shape = shape_of(a)
    axes = _reduction_axes(axis, len(shape))
    keep = _keepdims_value(keepdims)
    if where is _NoValue and initial is _NoValue:
        return prim(a, axis=axes, keepdims=keep)
    return prim(a, axis=axes, keepdims=keep, where=_where_mask(where, shape),
                initial=_initial_value(name, ufunc, initial, np.result_type(primal(a))))


def _sum_like(name, numpy_function, prim, ufunc):
    """np.sum / np.prod: ``dtype`` (an integer one gives NumPy's value),
    ``where`` and ``initial`` handed to the primitive, ``out`` refused."""
    def entry(a, axis=None, dtype=None, out=None, keepdims=_NoValue, initial=_NoValue,
              where=_NoValue):
        _refuse_out(name, out)
        if dtype is not None:
            d = _computation_dtype(name, dtype)
            if d.kind != "f":
                return numpy_function(primal(a), axis, d, None, keepdims, primal(initial),
                                      primal(where))
            a = _as_float_input(name, a, d)
        return _reduced(prim, name, ufunc, a, axis, keepdims, initial, where)
    entry.__name__ = name
    return entry


_sum = _sum_like("sum", np.sum, sum_p, np.add)


# ---- mean / var / std -----------------------------------------------------------
def _count(shape, axes, mask, keepdims):
    """The number of entries reduced: an int, or with a mask an int array of
    the output's shape."""
    if mask is None:
        return math.prod(shape[i] for i in axes)
    return np.sum(mask, axis=axes, keepdims=keepdims)


def _divide(total, count):
    """``total / count`` in total's dtype (NumPy divides into the sum's own array)."""
    if isinstance(count, (int, float)):
        # a Python number keeps total's dtype; 0 becomes a NumPy zero so that
        # the derivative 1 / count is inf, as the value is, not ZeroDivisionError
        return total / (count if count else np.result_type(primal(total)).type(0))
    return total / np.asarray(count).astype(np.result_type(primal(total)))


def _mean(a, axis=None, dtype=None, out=None, keepdims=_NoValue, *, where=_NoValue):
    _refuse_out("mean", out)
    d = _computation_dtype("mean", dtype)
    if d is not None and d.kind != "f":
        return np.mean(primal(a), axis, d, None, keepdims, where=primal(where))
    a = _as_float_input("mean", a, d)
    half = d is None and np.result_type(primal(a)) == np.float16
    if half:  # NumPy accumulates a float16 mean in float32 and rounds the result back
        a = a.astype(np.float32)
    shape = shape_of(a)
    axes = _reduction_axes(axis, len(shape))
    keep = _keepdims_value(keepdims)
    mask = _where_mask(where, shape)
    total = (sum_p(a, axis=axes, keepdims=keep) if mask is None
             else sum_p(a, axis=axes, keepdims=keep, where=mask))
    result = _divide(total, _count(shape, axes, mask, keep))
    return result.astype(np.float16) if half else result


def _ddof_value(name, ddof, correction):
    """NumPy 2's rule: ``correction`` is ``ddof`` under another name; giving
    both (with ddof not 0) is a ValueError."""
    if correction is not _NoValue:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof, which = correction, "correction"
    else:
        which = "ddof"
    if isinstance(ddof, Box):
        refuse(f"numpy.{name}", which, "a traced number of degrees of freedom")
    if np.ndim(ddof) != 0:
        refuse(f"numpy.{name}", which, "only a scalar number of degrees of freedom")
    return ddof


def _centred(name, a, axis, dtype, ddof, keepdims, where, mean):
    """The deviations from the mean, the reduced axes, the mask (or None),
    keepdims and the divisor max(N - ddof, 0), as NumPy's _var computes them."""
    a = _as_float_input(name, a, dtype)
    shape = shape_of(a)
    axes = _reduction_axes(axis, len(shape))
    keep = _keepdims_value(keepdims)
    mask = _where_mask(where, shape)
    if mean is _NoValue or mean is None:
        total = (sum_p(a, axis=axes, keepdims=True) if mask is None
                 else sum_p(a, axis=axes, keepdims=True, where=mask))
        mean = _divide(total, _count(shape, axes, mask, True))
    centred = a - mean
    if shape_of(centred) != shape:
        refuse(f"numpy.{name}", "mean",
               f"a mean of shape {shape_of(mean)} that broadcasts input of shape {shape} "
               f"to {shape_of(centred)}")
    if dtype is not None and np.result_type(primal(centred)) != dtype:
        centred = centred.astype(dtype)  # NumPy sums the squares in the requested dtype
    # Zero outside the mask, through np.where, so that a NaN or inf there (what
    # where= is often for) gets no share of the derivative, not 0 * NaN.
    centred = _masked(centred, mask)
    count = _count(shape, axes, mask, keep)
    if mask is None:
        divisor = max(count - ddof, 0)
        if not isinstance(divisor, int):
            divisor = float(divisor)  # a NumPy ddof must not promote a float32 result
    else:
        divisor = np.maximum(count - ddof, 0)
    return centred, axes, mask, keep, divisor


def _spread(name, numpy_function, a, axis, dtype, out, ddof, keepdims, where, mean, correction):
    """What var and std share: ``(NumPy's value, None)`` for an integer
    ``dtype`` (no derivative), else ``(None, _centred(...))``."""
    _refuse_out(name, out)
    ddof = _ddof_value(name, ddof, correction)
    d = _computation_dtype(name, dtype)
    if d is not None and d.kind != "f":
        return numpy_function(primal(a), axis, d, None, ddof, keepdims, where=primal(where),
                              mean=primal(mean)), None
    return None, _centred(name, a, axis, d, ddof, keepdims, where, mean)


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *, where=_NoValue,
         mean=_NoValue, correction=_NoValue):
    value, parts = _spread("var", np.var, a, axis, dtype, out, ddof, keepdims, where, mean,
                           correction)
    if parts is None:
        return value
    centred, axes, mask, keep, divisor = parts
    square = centred * centred
    total = (sum_p(square, axis=axes, keepdims=keep) if mask is None
             else sum_p(square, axis=axes, keepdims=keep, where=mask))
    return _divide(total, divisor)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *, where=_NoValue,
         mean=_NoValue, correction=_NoValue):
    """The 2-norm of the centred values over sqrt(N - ddof): at a constant
    input its derivative is the norm's subgradient 0, not sqrt's 0 · inf."""
    from .linalg import l2norm_p
    value, parts = _spread("std", np.std, a, axis, dtype, out, ddof, keepdims, where, mean,
                           correction)
    if parts is None:
        return value
    centred, axes, mask, keep, divisor = parts
    norm = l2norm_p(centred, axis=axes, keepdims=keep)
    if isinstance(divisor, (int, float)):
        return _divide(norm, math.sqrt(divisor))
    return norm / np.sqrt(np.asarray(divisor).astype(np.result_type(primal(norm))))


register(np.sum, _sum)
register(np.mean, _mean)
register(np.var, _var)
register(np.std, _std)


# ---- max / min --------------------------------------------------------------
def _share(x, out, axis, keepdims, where=None, initial=None):
    """Weights that split a max/min's derivative equally among tied entries
    (inside the ``where`` mask); at a tie with ``initial`` the entries share
    half, as in ``np.maximum(np.max(x), initial)``."""
    x_raw = primal(x)
    out_raw = primal(out)
    if not keepdims:
        out_raw = np.reshape(out_raw, _keepdims_shape(np.shape(x_raw), axis))
    hit = (x_raw == out_raw)
    if where is not None:
        hit &= where
    count = np.sum(hit, axis=axis, keepdims=True)
    if where is None and initial is None:
        weights = hit / count
    else:
        weights = hit / np.maximum(count, 1)  # a slice may have no entry (initial alone)
        if initial is not None:
            weights = weights * np.where(out_raw == initial, 0.5, 1.0)
    return weights.astype(np.result_type(x_raw), copy=False)


def _extremum(name, impl):
    def prim_impl(x, axis, keepdims, where=None, initial=None):
        if where is None and initial is None:
            return impl(x, axis=axis, keepdims=keepdims)
        return impl(x, axis=axis, keepdims=keepdims, **_numpy_options(where, initial))

    prim = Primitive(
        name, prim_impl,
        jvp=(lambda t, out, x, axis, keepdims, where=None, initial=None:
             sum_p(t * _share(x, out, axis, keepdims, where, initial),
                   axis=axis, keepdims=keepdims),),
        vjp=(lambda g, out, x, axis, keepdims, where=None, initial=None:
             _expand(g, x, axis, keepdims) * _share(x, out, axis, keepdims, where, initial),))
    ufunc = np.maximum if name == "max" else np.minimum

    def numpy_entry(a, axis=None, out=None, keepdims=_NoValue, initial=_NoValue,
                    where=_NoValue):
        _refuse_out(name, out)
        # without ``initial``, NumPy's own call raises its error for ``where``
        return _reduced(prim, name, ufunc, a, axis, keepdims, initial, where)
    numpy_entry.__name__ = f"_{name}"
    return prim, numpy_entry


max_p, _max = _extremum("max", np.max)
min_p, _min = _extremum("min", np.min)
register(np.max, _max)
register(np.amax, _max)
register(np.min, _min)
register(np.amin, _min)


# ---- prod -------------------------------------------------------------------
def _others(x, out, axis, keepdims, where=None, initial=None):
    """Product of all other entries along the reduced axes (inside the
    ``where`` mask, times ``initial``), for each entry; 0 outside the mask."""
    if where is not None:
        x = np.where(where, x, 1.0)  # entries outside the mask do not take part
    if np.all(primal(x) != 0):
        if not keepdims:
            out = np.reshape(out, _keepdims_shape(shape_of(x), axis))
        return _masked(out / x, where)  # out already holds the initial factor
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
    others = np.transpose(others, tuple(np.argsort(kept + red)))
    if initial is not None:
        others = others * initial
    return _masked(others, where)


def _prod_impl(x, axis, keepdims, where=None, initial=None):
    if where is None and initial is None:
        return np.prod(x, axis=axis, keepdims=keepdims)
    return np.prod(x, axis=axis, keepdims=keepdims, **_numpy_options(where, initial))


prod_p = Primitive(
    "prod", _prod_impl,
    jvp=(lambda t, out, x, axis, keepdims, where=None, initial=None:
         sum_p(t * _others(x, out, axis, keepdims, where, initial), axis=axis,
               keepdims=keepdims),),
    vjp=(lambda g, out, x, axis, keepdims, where=None, initial=None:
         _expand(g, x, axis, keepdims) * _others(x, out, axis, keepdims, where, initial),))


_prod = _sum_like("prod", np.prod, prod_p, np.multiply)


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
    _refuse_out("cumsum", out)
    if dtype is not None:
        d = _computation_dtype("cumsum", dtype)
        if d.kind != "f":
            return np.cumsum(primal(a), axis, d)
        a = _as_float_input("cumsum", a, d)
    if axis is None:
        a = np.reshape(a, (-1,))
        axis = 0
    (axis,) = normalize_axes(operator.index(axis), np.ndim(primal(a)))
    return cumsum_p(a, axis=axis)


register(np.cumsum, _cumsum)
