"""Assembling arrays: delete, insert, diagflat, dstack, extract, choose,
resize, unstack, trim_zeros, real_if_close, sort_complex, unwrap,
bincount, the array API's unique_* functions, histogram_bin_edges,
apply_along_axis and apply_over_axes; and the index helpers with no
derivative (isneginf, isposinf, isin, lexsort).

Nothing here is a new primitive.  Each function selects, copies or adds up
entries of its inputs, and is written with the shape primitives of
:mod:`.shape` (``getitem``, ``concatenate``, ``scatter_add``...).  Which
entry goes where is asked of NumPy itself wherever that can be done
without the values: ``np.delete``, ``np.insert`` and ``np.choose`` are run
on arrays of *positions* (integers), so the traced call has NumPy's
semantics, broadcasting and errors, and then gathers the values from those
positions.  Decisions that depend on values (which zeros ``trim_zeros``
trims, whether ``real_if_close`` drops the imaginary part, which multiples
of the period ``unwrap`` adds) are made on the primal values, where NumPy
makes them, so each output is piecewise a selection of the inputs.

``apply_along_axis`` and ``apply_over_axes`` call the user's function on
traced values (NumPy's own versions write the results into a preallocated
array, which cannot hold them) and put the results together with
``np.stack`` and ``np.expand_dims``.
"""

from __future__ import annotations

import math
import operator

import numpy as np
from numpy.lib._arraysetops_impl import UniqueAllResult, UniqueCountsResult, UniqueInverseResult
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..core import lowest, Box, concrete, ndim_of, primal, shape_of
from ..extend import nondiff, refuse, register
from .shape import Index, _along, _holds_box, _traced_array, getitem, scatter_add_p

__all__: tuple = ()  # registrations only: no primitives of its own


def _array(x):
    return x if isinstance(x, Box) else np.asanyarray(x)


def _dtype(x) -> np.dtype:
    return np.result_type(primal(x))


def _cast(x, dtype):
    """``x`` in ``dtype`` (NumPy's casting: complex to real keeps the real part)."""
    if _dtype(x) == dtype:
        return x
    return x.astype(dtype) if isinstance(x, Box) else np.asarray(x).astype(dtype)


def _positions(shape, offset: int = 0) -> np.ndarray:
    """The flat position of each entry of an array of ``shape``, plus ``offset``."""
    return np.arange(offset, offset + math.prod(shape), dtype=np.intp).reshape(shape)


def _flat_axis(arr, axis):
    """NumPy's delete/insert reading of ``axis``: None flattens."""
    if axis is None:
        if ndim_of(arr) != 1:
            arr = np.reshape(arr, (-1,))
        return arr, 0
    return arr, normalize_axis_index(axis, ndim_of(arr))


# ---- delete / insert -------------------------------------------------------------------
def _delete(arr, obj, axis=None):
    """np.delete: NumPy deletes ``obj`` from the positions along ``axis``
    (a slice, integers or a mask, with NumPy's errors); the kept entries
    are gathered."""
    arr, axis = _flat_axis(_array(arr), axis)
    shape = shape_of(arr)
    along = [1] * len(shape)
    along[axis] = shape[axis]
    kept = np.delete(np.arange(shape[axis]).reshape(along), primal(obj), axis=axis).ravel()
    return getitem(arr, _along(axis, kept))


def _insert(arr, obj, values, axis=None):
    """np.insert: NumPy inserts the positions of ``values`` (after those of
    ``arr``) into the positions of ``arr`` -- its broadcasting of ``values``
    and its errors -- and the result gathers from both.  ``values`` (which
    may be traced) are cast to ``arr``'s dtype, as NumPy casts them."""
    arr, axis = _flat_axis(_array(arr), axis)
    values = _traced_array(values) if _holds_box(values) else np.asarray(values)
    dtype = _dtype(arr)
    if dtype.kind not in "fc":  # an integer result: NumPy's value, with no derivative
        return np.insert(primal(arr), primal(obj), primal(values), axis=axis)
    size = math.prod(shape_of(arr))
    where = np.insert(_positions(shape_of(arr)), primal(obj), _positions(shape_of(values), size),
                      axis=axis)
    source = np.concatenate([np.reshape(arr, (-1,)), np.reshape(_cast(values, dtype), (-1,))])
    return getitem(source, where)


# ---- diagflat / dstack / extract / resize / unstack ------------------------------------
def _diagflat(v, k=0):
    return np.diag(np.ravel(_array(v)), k)


def _dstack(tup):
    arrays = np.atleast_3d(*tup)
    if not isinstance(arrays, tuple):
        arrays = (arrays,)
    return np.concatenate(arrays, 2)


def _extract(condition, arr):
    """np.extract: the entries of the flattened ``arr`` where the flattened
    ``condition`` is non-zero (read on its values)."""
    chosen = np.nonzero(np.ravel(primal(condition)))[0]
    return np.take(np.ravel(_array(arr)), chosen)


def _resize(a, new_shape):
    """np.resize: the flattened ``a`` repeated to fill ``new_shape``; zeros
    (a constant) when either is empty."""
    if isinstance(new_shape, (int, np.integer)):
        new_shape = (new_shape,)
    a = np.ravel(_array(a))
    new_size = 1
    for length in new_shape:
        new_size *= length
        if length < 0:
            raise ValueError("all elements of `new_shape` must be non-negative")
    size = shape_of(a)[0]
    if size == 0 or new_size == 0:
        return np.zeros(new_shape, _dtype(a))
    return np.reshape(getitem(a, np.arange(new_size) % size), new_shape)


def _unstack(x, /, *, axis=0):
    x = _array(x)
    if ndim_of(x) == 0:
        raise ValueError("Input array must be at least 1-d.")
    axis = normalize_axis_index(axis, ndim_of(x))
    return tuple(getitem(x, _along(axis, i)) for i in range(shape_of(x)[axis]))


# ---- choose -------------------------------------------------------------------------------
def _choose(a, choices, out=None, mode="raise"):
    """np.choose with traced choices: NumPy chooses among the *positions* of
    the choices (its broadcasting, ``mode`` and errors), and the result
    gathers the values there; the index array ``a`` is read on its values."""
    if out is not None:
        refuse("numpy.choose", "out", "dualad cannot write a result in place; "
               "assign it to a new variable instead")
    index = primal(a)
    if isinstance(choices, Box):
        items = [choices[i] for i in range(shape_of(choices)[0])]
    else:
        items = list(choices)
    value = np.choose(index, [primal(c) for c in items], mode=mode)  # NumPy's value and dtype
    if value.dtype.kind not in "fc" or not any(isinstance(c, Box) for c in items):
        return value
    items = [_array(c) for c in items]
    offsets = np.cumsum([0] + [math.prod(shape_of(c)) for c in items])
    where = np.choose(index, [_positions(shape_of(c), int(o)) for c, o in zip(items, offsets)],
                      mode=mode)
    source = np.concatenate([np.reshape(_cast(c, value.dtype), (-1,)) for c in items])
    return getitem(source, where)


# ---- value-dependent selections -------------------------------------------------------------
def _trim_zeros(filt, trim="fb", axis=None):
    """np.trim_zeros: the bounds of the non-zero entries found on the
    values, as NumPy finds them; the kept entries are a slice of ``filt``."""
    values = lowest(filt)
    trim = trim.lower()
    if trim not in {"fb", "bf", "f", "b"}:
        raise ValueError(f"unexpected character(s) in `trim`: {trim!r}")
    if axis is None:
        axes = tuple(range(values.ndim))
    else:
        axes = normalize_axis_tuple(axis, values.ndim, argname="axis")
    if not axes:
        return filt
    nonzero = np.argwhere(values)
    if nonzero.size == 0:
        start = stop = np.zeros(values.ndim, dtype=np.intp)
    else:
        start, stop = nonzero.min(axis=0), nonzero.max(axis=0) + 1
        if "f" not in trim:
            start = (None,) * values.ndim
        if "b" not in trim:
            stop = (None,) * values.ndim
    key = tuple(slice(None if start[ax] is None else int(start[ax]),
                      None if stop[ax] is None else int(stop[ax])) if ax in axes else slice(None)
                for ax in range(values.ndim))
    return getitem(_array(filt), key[0] if len(key) == 1 else key)


def _real_if_close(a, tol=100):
    """np.real_if_close: the real part when every imaginary part is within
    ``tol`` (machine epsilons, if above 1) of 0 -- decided on the values."""
    a = _array(a)
    dtype = _dtype(a)
    if dtype.kind != "c":
        return a
    tol = primal(tol)
    if tol > 1:
        tol = np.finfo(dtype).eps * tol
    if np.all(np.absolute(np.imag(concrete(a))) < tol):
        a = np.real(a)
    return a


def _sort_complex(a):
    """np.sort_complex: sorted along the last axis (real part first), in a
    complex dtype (complex128 for a float input, as NumPy)."""
    b = np.sort(_array(a))
    char = _dtype(b).char
    if _dtype(b).kind == "c":
        return b
    return b.astype("F" if char in "bhBH" else "G" if char == "g" else "D")


def _unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """np.unwrap, step by step as NumPy computes it.  The corrections added
    are whole multiples of ``period``, chosen on the values: the derivative
    with respect to ``p`` is 1 (the identity) almost everywhere, and with
    respect to a traced ``period`` it is the number of periods added (NumPy
    dispatches on ``p`` alone: the period is differentiated when ``p`` is
    traced too).  The threshold ``discont`` only decides, and has no
    derivative."""
    p = _array(p)
    nd = ndim_of(p)
    dd = np.diff(p, axis=axis)
    if discont is None:
        discont = primal(period) / 2
    dtype = np.result_type(primal(dd), primal(period))
    if dtype.kind not in "fc":
        return np.unwrap(primal(p), primal(discont), axis, period=primal(period))
    interval_high = period / 2
    interval_low = -interval_high
    ddmod = np.mod(dd - interval_low, period) + interval_low
    # NumPy writes interval_high where a positive jump landed on interval_low;
    # interval_low + period is that value exactly (p - p/2 = p/2 in binary
    # floating point), and keeps the derivative in dd of the other entries
    ddmod = np.where((primal(ddmod) == primal(interval_low)) & (primal(dd) > 0),
                     ddmod + period, ddmod)
    ph_correct = ddmod - dd
    ph_correct = np.where(np.abs(primal(dd)) < primal(discont), 0, ph_correct)
    axis = normalize_axis_index(axis, nd)
    first = _cast(getitem(p, _along(axis, slice(None, 1))), dtype)
    rest = _cast(getitem(p, _along(axis, slice(1, None))) + np.cumsum(ph_correct, axis), dtype)
    return np.concatenate([first, rest], axis=axis)


# ---- bincount ---------------------------------------------------------------------------
def _bincount(x, /, weights=None, minlength=0):
    """np.bincount: with traced ``weights``, their sums per bin (in float64,
    as NumPy sums them) as a scatter-add; the bins ``x`` are integers."""
    value = np.bincount(primal(x), primal(weights), minlength)  # NumPy's value and errors
    if not isinstance(weights, Box):
        return value
    w = np.reshape(weights, (-1,)) if ndim_of(weights) != 1 else weights
    w = _cast(w, np.dtype(np.float64))
    bins = lowest(x).astype(np.intp, copy=False).ravel()
    return scatter_add_p(w, index=Index((bins,), 1), shape=value.shape)


# ---- the array API's unique_* -------------------------------------------------------------
# Each is NumPy's call of np.unique, whose rule (dualad/rules/elementwise.py)
# gathers the unique values from their first occurrences.
def _unique_values(x):
    return np.unique(x, equal_nan=False, sorted=False)


def _unique_counts(x):
    return UniqueCountsResult(*np.unique(x, return_counts=True, equal_nan=False))


def _unique_inverse(x):
    return UniqueInverseResult(*np.unique(x, return_inverse=True, equal_nan=False))


def _unique_all(x):
    return UniqueAllResult(*np.unique(x, return_index=True, return_inverse=True,
                                      return_counts=True, equal_nan=False))


# ---- histogram_bin_edges ----------------------------------------------------------------
def _histogram_bin_edges(a, bins=10, range=None, weights=None):
    """np.histogram_bin_edges: the edges np.histogram gives (its rule, in
    dualad/rules/elementwise.py): equal bins follow the data's min and max
    (or a traced ``range``), explicit edges are themselves.  ``weights``
    do not move the edges (NumPy only checks them)."""
    from .elementwise import _histogram
    return _histogram(a, bins, range, None, primal(weights))[1]


# ---- applying a function along axes -----------------------------------------------------
def _apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """np.apply_along_axis: ``func1d`` called on each traced 1-d slice, as
    NumPy calls it, and the results stacked (each cast to the first one's
    dtype and broadcast to its shape, as NumPy's buffer does) with their
    axes where ``axis`` was."""
    arr = _array(arr)
    nd = ndim_of(arr)
    axis = normalize_axis_index(axis, nd)
    moved = np.moveaxis(arr, axis, -1)
    outer = shape_of(moved)[:-1]
    if 0 in outer:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    results = [func1d(moved[index + (Ellipsis,)], *args, **kwargs)
               for index in np.ndindex(outer)]
    results = [r if isinstance(r, Box) else np.asanyarray(r) for r in results]
    shape, dtype = shape_of(results[0]), _dtype(results[0])
    if dtype.kind not in "fc" or not any(isinstance(r, Box) for r in results):
        results = [np.broadcast_to(lowest(r).astype(dtype), shape) for r in results]
        stacked = np.stack(results)
    else:
        stacked = np.stack([np.broadcast_to(_cast(r, dtype), shape) for r in results])
    buff = np.reshape(stacked, outer + shape)
    k = len(shape)
    return np.moveaxis(buff, list(range(len(outer), len(outer) + k)),
                       list(range(axis, axis + k)))


def _apply_over_axes(func, a, axes):
    """np.apply_over_axes: ``func(a, axis)`` for each axis in turn, on the
    traced value, its result given the axis back when it dropped it."""
    val = _array(a)
    N = ndim_of(val)
    if np.array(axes).ndim == 0:
        axes = (axes,)
    for axis in axes:
        axis = operator.index(axis)
        if axis < 0:
            axis = N + axis
        res = func(val, axis)
        if ndim_of(res) != ndim_of(val):
            res = np.expand_dims(res, axis)
            if ndim_of(res) != ndim_of(val):
                raise ValueError("function is not returning an array of the correct shape")
        val = res
    return val


# ---- no derivative: boolean and integer outputs ------------------------------------------
def _lexsort(keys, axis=-1):
    """np.lexsort on the values of the keys (a sequence or one array)."""
    if isinstance(keys, (tuple, list)):
        keys = type(keys)(primal(k) for k in keys)
    return np.lexsort(primal(keys), axis)


register(np.delete, _delete)
register(np.insert, _insert)
register(np.diagflat, _diagflat)
register(np.dstack, _dstack)
register(np.extract, _extract)
register(np.choose, _choose)
register(np.resize, _resize)
register(np.unstack, _unstack)
register(np.trim_zeros, _trim_zeros)
register(np.real_if_close, _real_if_close)
register(np.sort_complex, _sort_complex)
register(np.unwrap, _unwrap)
register(np.bincount, _bincount)
register(np.unique_values, _unique_values)
register(np.unique_counts, _unique_counts)
register(np.unique_inverse, _unique_inverse)
register(np.unique_all, _unique_all)


def _union1d(ar1, ar2):
    # NumPy's definition: the unique values of both, flattened and joined
    return np.unique(np.concatenate((np.ravel(ar1), np.ravel(ar2))))


register(np.union1d, _union1d)
register(np.histogram_bin_edges, _histogram_bin_edges)
register(np.apply_along_axis, _apply_along_axis)
register(np.apply_over_axes, _apply_over_axes)
register(np.isneginf, nondiff(np.isneginf))
register(np.isposinf, nondiff(np.isposinf))
register(np.isin, nondiff(np.isin))
register(np.lexsort, nondiff(_lexsort))
