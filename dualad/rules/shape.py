"""Shape and indexing primitives, and the NumPy functions built on them.

Only a few operations are primitives -- ``reshape``, ``transpose``,
``broadcast_to``, ``getitem`` and its adjoint ``scatter_add``,
``concatenate``, ``pad`` and ``cast`` -- and all others (``moveaxis``,
``stack``, ``flip``, ``roll``, ``tile``, ``take``, ``sort``, ``kron``,
``block``, ``rot90``, ``select``, ``piecewise``, ``partition`` ...) are
compositions of them, so their derivatives of every order come for free.

Every registered function takes NumPy's parameters, in NumPy's order, and
either gives each NumPy's meaning or refuses it (``core.refuse``).  Where
NumPy's answer depends on more than values -- which axes an ``axes=``
argument names, the shape a ``-1`` stands for -- it is asked of NumPy
itself, on stand-ins that cost no memory, so the traced call agrees with
the plain one, errors included.  The one thing that cannot be asked is
memory layout: the rules compose results from primitives, so a value's
strides are not the ones NumPy's own function would have given it, and
``order='A'``/``'K'`` (which read strides) are honoured only where the
layout cannot change the answer.

Batch axes: a tangent may carry leading batch axes.  Each rule here works
out how many (``ndim(t) - ndim(x)``) and keeps them in front.
"""

from __future__ import annotations

import math
import operator
import typing

import numpy as np
from numpy.lib.array_utils import normalize_axis_index, normalize_axis_tuple

from ..core import (lowest, AXIS_PERMUTATIONS, MEMO_LIMIT, SLICE_INDEXES, Box, ndim_of, note_complex,
                    primal, shape_of, unbroadcast)
from ..extend import Primitive, nondiff, refuse, register

__all__ = ["reshape_p", "transpose_p", "broadcast_to_p", "getitem_p",
           "scatter_add_p", "concatenate_p", "pad_p", "cast_p", "getitem"]


def _bd(t, x) -> int:
    """Number of leading batch axes of tangent ``t`` of ``x``."""
    return ndim_of(t) - ndim_of(x)


def _stand_in(shape) -> np.ndarray:
    """A read-only boolean array of ``shape`` that takes no memory: NumPy's
    own shape logic (``-1`` in a reshape, squeeze's checks...) run on it
    gives NumPy's answer and NumPy's errors for an array of that shape."""
    return np.broadcast_to(np.empty((), dtype=bool), shape)


def _permutation(ndim: int, rearrange, *args) -> tuple:
    """The axis permutation that ``rearrange(x, *args)`` (np.transpose,
    np.moveaxis ...) applies to an ``ndim``-dimensional ``x``, asked of NumPy
    on a stand-in whose strides number its axes 1, 2, ... -- so the axes are
    read, and refused, exactly as NumPy reads them.  Remembered per
    arguments and their types (NumPy refuses ``True`` for ``1``), in
    ``core.AXIS_PERMUTATIONS``."""
    try:
        key = (ndim, rearrange, _typed_key(args))
    except TypeError:  # arrays of axes: ask without remembering
        return _probe_permutation(ndim, rearrange, args)
    perm = AXIS_PERMUTATIONS.get(key)
    if perm is None:
        if len(AXIS_PERMUTATIONS) > MEMO_LIMIT:
            AXIS_PERMUTATIONS.clear()
        perm = AXIS_PERMUTATIONS[key] = _probe_permutation(ndim, rearrange, args)
    return perm


def _typed_key(x):
    if type(x) in (tuple, list):
        return type(x), tuple(_typed_key(v) for v in x)
    hash(x)
    return type(x), x


def _probe_permutation(ndim: int, rearrange, args: tuple) -> tuple:
    buffer = np.zeros(ndim * (ndim + 1) // 2 + 1, dtype=np.uint8)
    probe = np.lib.stride_tricks.as_strided(buffer, (2,) * ndim, tuple(range(1, ndim + 1)),
                                            writeable=False)
    return tuple(s - 1 for s in rearrange(probe, *args).strides)


def _as_array(x):
    """A non-traced array-like argument as NumPy converts it (np.asanyarray)."""
    return x if isinstance(x, Box) else np.asanyarray(x)


def _memory_order(order, default: str) -> str:
    """``order=`` as one of 'C', 'F', 'A', 'K', with NumPy's validation
    (one letter in either case, bytes too; None means the default)."""
    if order is None:
        return default
    text = order.decode("latin-1") if isinstance(order, bytes) else order
    if not isinstance(text, str):
        raise TypeError(f"order must be str, not {type(order).__name__}")
    if len(text) != 1 or text.upper() not in "CFAK":
        raise ValueError(f"order must be one of 'C', 'F', 'A', or 'K' (got {order!r})")
    return text.upper()


def _flags(x):
    return np.asarray(primal(x)).flags


def _layout_free_order(function: str, a, order: str) -> str:
    """``order`` for reading ``a``: 'C' or 'F' as given; 'A' or 'K' as 'C',
    where every order reads the same entries in the same sequence (at most
    one axis longer than 1, or no entries), else refused.  'A' and 'K'
    read the strides of the value, and dualad's are not NumPy's: its rules
    build results from a few primitives (np.roll of a transposed array is
    C-contiguous in dualad, not in NumPy), so honouring them elsewhere
    would give a wrong answer without an error."""
    if order in "CF":
        return order
    shape = shape_of(a)
    if sum(n > 1 for n in shape) > 1 and 0 not in shape:
        refuse(function, "order",
               f"order={order!r} follows the memory layout of the array, which dualad's "
               "values do not reproduce (its rules lay results out differently from "
               "NumPy's own functions), so the result could silently differ from "
               "NumPy's; pass order='C' or order='F'")
    return "C"


# ---- reshape ------------------------------------------------------------------
reshape_p = Primitive(
    "reshape", lambda x, shape: np.reshape(x, shape),
    jvp=(lambda t, out, x, shape: reshape_p(t, shape=shape_of(t)[:_bd(t, x)] + shape),),
    vjp=(lambda g, out, x, shape: reshape_p(g, shape=shape_of(x)),),
    linear_map=lambda vals, params, batch: (
        (lambda t: np.reshape(t, shape_of(t)[:1] + params["shape"])) if batch
        else (lambda t: np.reshape(t, params["shape"]))))


def _resolve_shape(shape, old_shape: tuple) -> tuple:
    """The shape np.reshape gives an array of ``old_shape`` for ``shape``
    (``-1`` worked out), with NumPy's errors."""
    if type(shape) is tuple and all(type(n) is int and n >= 0 for n in shape) \
            and math.prod(shape) == math.prod(old_shape):
        return shape  # nothing to work out (the rules' own reshapes)
    return _stand_in(old_shape).reshape(shape).shape


def reshape(a, shape):
    """``a`` reshaped in C order (the reshape every rule uses)."""
    shape = _resolve_shape(shape, shape_of(a))
    if shape == shape_of(a):
        return a
    return reshape_p(a, shape=shape)


def _reshape_in_order(a, shape, order: str):
    """Reshape in C or F order.  In F order (first index fastest) it is the C
    reshape of the reversed axes: transpose, reshape to the reversed shape,
    transpose back -- all data movement, so the values are NumPy's exactly."""
    if order == "C":
        return reshape(a, shape)
    shape = _resolve_shape(shape, shape_of(a))
    return transpose(reshape(transpose(a), shape[::-1]))


def _np_reshape(a, /, shape, order="C", *, copy=None):
    """np.reshape.  ``order='A'`` only where layout does not matter
    (``_layout_free_order``).  ``copy=False`` raises NumPy's ValueError
    exactly when NumPy would have to copy the primal; ``copy=True`` gives a
    new array (dualad's values are immutable, so a view and a copy differ
    only in what the caller gets back at the end)."""
    order = _memory_order(order, "C")
    if order == "K":
        raise ValueError("order 'K' is not permitted for reshaping")
    order = _layout_free_order("numpy.reshape", a, order)
    if copy is not None and not copy:
        np.reshape(primal(a), shape, order=order, copy=False)  # NumPy's error if a copy is needed
    out = _reshape_in_order(a, shape, order)
    return _convert(out, np.result_type(primal(out)), "K", copy=True) if copy else out


def ravel(a, order="C"):
    """np.ravel (and ndarray.flatten): 'C' and 'F' exactly, 'A' and 'K' only
    where layout does not matter (``_layout_free_order``)."""
    order = _layout_free_order("numpy.ravel", a, _memory_order(order, "C"))
    return _reshape_in_order(a, (-1,), order)


register(np.reshape, _np_reshape)
register(np.ravel, ravel)


def expand_dims(a, axis):
    return reshape(a, np.expand_dims(_stand_in(shape_of(a)), axis).shape)


def squeeze(a, axis=None):
    return reshape(a, np.squeeze(_stand_in(shape_of(a)), axis).shape)


def atleast_nd(a, n):
    """np.atleast_1d/2d/3d for one array: 1-d arrays become rows (2-d) or
    (1, n, 1) (3-d), 2-d arrays gain a last axis (3-d)."""
    shape = shape_of(a)
    if len(shape) >= n:
        return a
    if n == 3 and len(shape) == 2:
        return reshape(a, shape + (1,))
    if n == 3 and len(shape) == 1:
        return reshape(a, (1,) + shape + (1,))
    return reshape(a, (1,) * (n - len(shape)) + shape)


register(np.expand_dims, expand_dims)
register(np.squeeze, squeeze)


def _atleast(n):
    def atleast(*arys):
        res = tuple(atleast_nd(_as_array(a), n) for a in arys)
        return res[0] if len(res) == 1 else res
    atleast.__name__ = f"atleast_{n}d"
    return atleast


register(np.atleast_1d, _atleast(1))
register(np.atleast_2d, _atleast(2))
register(np.atleast_3d, _atleast(3))


# ---- transpose ------------------------------------------------------------------
def _batched_perm(perm, bd):
    return tuple(range(bd)) + tuple(p + bd for p in perm)


transpose_p = Primitive(
    "transpose", lambda x, axes: np.transpose(x, axes),
    jvp=(lambda t, out, x, axes: transpose_p(t, axes=_batched_perm(axes, _bd(t, x))),),
    vjp=(lambda g, out, x, axes: transpose_p(g, axes=tuple(np.argsort(axes))),),
    linear_map=lambda vals, params, batch: (
        lambda t: np.transpose(t, _batched_perm(params["axes"], 1) if batch else params["axes"])))


def _permute(a, perm: tuple):
    if perm == tuple(range(len(perm))):
        return a
    return transpose_p(a, axes=perm)


def transpose(a, axes=None):
    nd = ndim_of(a)
    if axes is None:
        return _permute(a, tuple(range(nd))[::-1])
    return _permute(a, _permutation(nd, np.transpose, axes))


def moveaxis(a, source, destination):
    return _permute(a, _permutation(ndim_of(a), np.moveaxis, source, destination))


def swapaxes(a, axis1, axis2):
    return _permute(a, _permutation(ndim_of(a), np.swapaxes, axis1, axis2))


def matrix_transpose(x, /):
    return _permute(x, _permutation(ndim_of(x), np.matrix_transpose))


register(np.transpose, transpose)
register(np.moveaxis, moveaxis)
register(np.swapaxes, swapaxes)
register(np.matrix_transpose, matrix_transpose)
if np.permute_dims is not np.transpose:  # pragma: no cover (one function in NumPy 2.4)
    register(np.permute_dims, transpose)


# ---- broadcast_to ---------------------------------------------------------------
def _broadcast_tangent(t, x, shape):
    bd = _bd(t, x)
    ts = shape_of(t)
    padded = ts[:bd] + (1,) * (len(shape) - ndim_of(x)) + ts[bd:]
    if padded != ts:
        t = reshape_p(t, shape=padded)
    return broadcast_to_p(t, shape=ts[:bd] + shape)


broadcast_to_p = Primitive(
    "broadcast_to", lambda x, shape: np.broadcast_to(x, shape),
    jvp=(lambda t, out, x, shape: _broadcast_tangent(t, x, shape),),
    vjp=(lambda g, out, x, shape: unbroadcast(g, shape_of(x)),),
    linear_map=lambda vals, params, batch: (
        None if batch else (lambda t: np.broadcast_to(t, params["shape"]))))


def _check_subok(function: str, subok, *arrays) -> None:
    """``subok=True`` keeps an ndarray subclass; dualad's values are plain
    ndarrays (core refuses the subclasses whose arithmetic differs), where
    it changes nothing -- refused for a traced subclass."""
    if subok and any(isinstance(primal(a), np.ndarray) and type(primal(a)) is not np.ndarray
                     for a in arrays if isinstance(a, Box)):
        refuse(function, "subok", "the traced value is an ndarray subclass")


def broadcast_to(array, shape, subok=False):
    _check_subok("numpy.broadcast_to", subok, array)
    array = _as_array(array)
    shape = tuple(shape) if np.iterable(shape) else (shape,)
    if shape == shape_of(array):
        return array
    return broadcast_to_p(array, shape=shape)


def broadcast_arrays(*args, subok=False):
    _check_subok("numpy.broadcast_arrays", subok, *args)
    args = [_as_array(a) for a in args]
    shape = np.broadcast_shapes(*[shape_of(a) for a in args])
    return tuple(a if shape_of(a) == shape else broadcast_to_p(a, shape=shape) for a in args)


register(np.broadcast_to, broadcast_to)
register(np.broadcast_arrays, broadcast_arrays)


# ---- indexing ---------------------------------------------------------------------
class Index:
    """A normalised index: Ellipsis expanded, lists made arrays, plus what the
    rules need to know (basic or advanced; whether NumPy moves the advanced
    dimensions to the front, which batch axes must be kept out of)."""

    __slots__ = ("key", "basic", "front", "adv_nd")

    def __init__(self, key, ndim: int):
        if not isinstance(key, tuple):
            key = (key,)
        items = []
        for k in key:
            k = primal(k)
            if isinstance(k, Box):  # a staged index (dualad.replay): its value is seen
                k = np.asarray(k)
            if isinstance(k, (list, tuple)):
                k = np.asarray(k)
                if k.size == 0:  # NumPy reads an empty sequence as integer indices
                    k = k.astype(np.intp)
            elif isinstance(k, (bool, np.bool_)):
                # a 0-d mask, not 1 or 0: a new axis of length 1 (True) or 0 (False)
                k = np.asarray(k)
            if isinstance(k, np.ndarray):
                if k.dtype.kind not in "biu":
                    raise IndexError("arrays used as indices must be of integer or boolean type")
            elif k is not None and k is not Ellipsis and not isinstance(k, slice):
                k = operator.index(k)
            items.append(k)
        consumed = sum(k.ndim if isinstance(k, np.ndarray) and k.dtype == bool else
                       (0 if k is None or k is Ellipsis else 1) for k in items)
        if any(k is Ellipsis for k in items):
            pos = [i for i, k in enumerate(items) if k is Ellipsis]
            if len(pos) > 1:
                raise IndexError("an index can only have a single ellipsis ('...')")
            items[pos[0]:pos[0] + 1] = [slice(None)] * (ndim - consumed)
        self.key = tuple(items)
        arrays = [k for k in items if isinstance(k, np.ndarray)]
        self.basic = not arrays
        self.front = False
        self.adv_nd = 0
        if arrays:
            adv = [i for i, k in enumerate(items) if isinstance(k, (np.ndarray, int))]
            self.front = adv != list(range(adv[0], adv[0] + len(adv)))
            shapes = [k.shape if k.dtype != bool else (int(k.sum()),) for k in arrays]
            self.adv_nd = len(np.broadcast_shapes(*shapes))

    def batched(self, bd: int):
        return (slice(None),) * bd + self.key


def _getitem_jvp(t, out, x, index):
    bd = _bd(t, x)
    if not bd:
        return getitem_p(t, index=index)
    res = getitem_p(t, index=_BatchedIndex(index, bd))
    if index.front:
        res = moveaxis(res, list(range(index.adv_nd, index.adv_nd + bd)), list(range(bd)))
    return res


def _scatter_jvp(t, out, g, index, shape):
    bd = _bd(t, g)
    if not bd:
        return scatter_add_p(t, index=index, shape=shape)
    lead = shape_of(t)[:bd]
    if index.front:
        # NumPy puts the advanced-index dimensions in front of the batch axes
        t = moveaxis(t, list(range(bd)), list(range(index.adv_nd, index.adv_nd + bd)))
    return scatter_add_p(t, index=_BatchedIndex(index, bd), shape=lead + shape)


class _BatchedIndex(Index):
    """An Index with ``bd`` full slices in front, for batched tangents."""

    __slots__ = ()

    def __init__(self, index, bd):
        self.key = index.batched(bd)
        self.basic = index.basic
        self.front = False  # batch axes already placed where NumPy puts them
        self.adv_nd = index.adv_nd


def _scatter_impl(g, index, shape):
    dtype = np.result_type(g)
    out = np.zeros(shape, dtype=dtype if dtype.kind in "fc" else np.float64)
    if index.basic:
        out[index.key] = g
    else:
        np.add.at(out, index.key, g)
    return out


def _getitem_accumulate(acc, g, out, x, index) -> bool:
    """Add getitem's cotangent into an accumulated array (raw, or a box of
    raw arrays), in place; False if that is not possible."""
    if isinstance(acc, Box):
        return acc._add_in_place(g, index)
    if isinstance(g, Box):
        return False
    if index.basic:
        acc[index.key] += g
    else:
        np.add.at(acc, index.key, g)
    return True


def _getitem_linear_map(vals, params, batch):
    index = params["index"]
    if batch and index.front:
        return None
    key = index.batched(1) if batch else index.key
    return lambda t: t[key] if not isinstance(t, Box) else getitem_p(
        t, index=_BatchedIndex(index, 1) if batch else index)


def _scatter_linear_map(vals, params, batch):
    if batch:
        return None
    index, shape = params["index"], params["shape"]
    return lambda t: (_scatter_impl(t, index, shape) if not isinstance(t, Box)
                      else scatter_add_p(t, index=index, shape=shape))


getitem_p = Primitive(
    "getitem", lambda x, index: x[index.key],
    jvp=(_getitem_jvp,),
    vjp=(lambda g, out, x, index: scatter_add_p(g, index=index, shape=shape_of(x)),),
    accumulate=_getitem_accumulate, linear_map=_getitem_linear_map)

scatter_add_p = Primitive(
    "scatter_add", _scatter_impl,
    jvp=(_scatter_jvp,),
    vjp=(lambda g, out, t, index, shape: getitem_p(g, index=index),),
    linear_map=_scatter_linear_map,
    add_into=lambda params: (
        lambda acc, t: _getitem_accumulate(acc, t, None, None, params["index"])),
    doc="The adjoint of getitem: zeros of ``shape`` with ``g`` added at ``index``.")


def getitem(x, key):
    ndim = ndim_of(x)
    if type(key) is slice and all(type(k) is int or k is None
                                  for k in (key.start, key.stop, key.step)):
        # x[1:], x[:-1] ...: one Index per slice, made once (Indexes are never
        # changed after they are made), in core.SLICE_INDEXES
        cache_key = (key.start, key.stop, key.step, ndim)
        index = SLICE_INDEXES.get(cache_key)
        if index is None:
            if len(SLICE_INDEXES) > MEMO_LIMIT:
                SLICE_INDEXES.clear()
            index = SLICE_INDEXES[cache_key] = Index(key, ndim)
        return getitem_p(x, index=index)
    return getitem_p(x, index=Index(key, ndim))


register(np.ndarray.__getitem__, getitem)  # x[key] on a dualad value


def _along(axis: int, key) -> tuple:
    """An index applying ``key`` along ``axis`` (>= 0) and taking every other axis whole."""
    return (slice(None),) * axis + (key,)


def _integer_indices(indices) -> np.ndarray:
    """Indices as NumPy's take converts them to intp: an array under the
    'same_kind' rule, Python numbers and sequences directly (so booleans are
    the numbers 0 and 1, never a mask)."""
    indices = primal(indices)
    if not isinstance(indices, (np.ndarray, np.generic)):
        return np.array(indices, dtype=np.intp)
    if not np.can_cast(indices.dtype, np.intp, "same_kind"):
        raise TypeError(f"Cannot cast array data from {indices.dtype!r} to "
                        f"{np.dtype(np.intp)!r} according to the rule 'same_kind'")
    # astype keeps an ndarray subclass: a Tainted index (global sparsity
    # detection) must stay recognisable as computed from x
    return indices.astype(np.intp, copy=False)


def _clip_mode(mode) -> str:
    """``mode=`` of np.take as NumPy reads it: 'raise', 'wrap', 'clip' (also
    as bytes), or the integers 0 (clip), 1 (wrap) and any other (raise)."""
    if mode in ("raise", "wrap", "clip"):
        return mode
    np.take(np.zeros(1), 0, mode=mode)  # NumPy's error for a mode it does not know
    if isinstance(mode, bytes):
        return mode.decode("latin-1")
    return {0: "clip", 1: "wrap"}.get(operator.index(mode), "raise")


def take(a, indices, axis=None, out=None, mode="raise"):
    if out is not None:
        refuse("numpy.take", "out", "dualad cannot write a result in place; "
               "assign it to a new variable instead")
    mode = _clip_mode(mode)
    if axis is None or ndim_of(a) == 0:  # NumPy takes from a 0-d array as from 1-d
        a = reshape(a, (-1,))
    axis = normalize_axis_index(0 if axis is None else axis, ndim_of(a))
    indices = _integer_indices(indices)
    n = shape_of(a)[axis]
    if n == 0 and indices.size and mode != "raise":
        raise IndexError("cannot do a non-empty take from an empty axes.")
    if mode == "wrap":
        indices = np.mod(indices, n)
    elif mode == "clip":  # NumPy clips negative indices to 0 too
        indices = np.clip(indices, 0, n - 1)
    return getitem(a, _along(axis, indices))


def take_along_axis(arr, indices, axis=-1):
    indices = np.asanyarray(primal(indices))  # keeps a Tainted index tainted
    if axis is None:
        if indices.ndim != 1:
            raise ValueError("when axis=None, `indices` must have a single dimension.")
        arr = reshape(arr, (-1,))
        axis = 0
    else:
        axis = normalize_axis_index(axis, ndim_of(arr))
    if not np.issubdtype(indices.dtype, np.integer):
        raise IndexError("`indices` must be an integer array")
    shape = shape_of(arr)
    if len(shape) != indices.ndim:
        raise ValueError("`indices` and `arr` must have the same number of dimensions")
    # NumPy's fancy index: orthogonal aranges over arr's axes (so indices
    # broadcast against arr), the indices at ``axis``
    ones = (1,) * indices.ndim
    key = tuple(indices if i == axis else np.arange(n).reshape(ones[:i] + (-1,) + ones[i + 1:])
                for i, n in enumerate(shape))
    return getitem(arr, key)


def sort(a, axis=-1, kind=None, order=None, *, stable=None):
    """np.sort as a gather by NumPy's own argsort with the same ``kind`` and
    ``stable``: the values are NumPy's, and at ties the derivative of each
    output entry is that of the input entry that argsort puts there (with
    ``stable=True`` or kind='stable', equal entries keep their order)."""
    if order is not None:
        refuse("numpy.sort", "order", "it names fields of a structured array, and the "
               "values dualad differentiates are plain float arrays")
    if axis is None:
        a = reshape(a, (-1,))
        axis = 0
    axis = normalize_axis_index(axis, ndim_of(a))
    perm = np.argsort(primal(a), axis=axis, kind=kind, stable=stable)
    return take_along_axis(a, perm, axis)


def flip(m, axis=None):
    nd = ndim_of(m)
    axes = range(nd) if axis is None else normalize_axis_tuple(axis, nd)
    return getitem(m, tuple(slice(None, None, -1) if i in axes else slice(None)
                            for i in range(nd)))


def fliplr(m):
    if ndim_of(m) < 2:
        raise ValueError("Input must be >= 2-d.")
    return getitem(m, (slice(None), slice(None, None, -1)))


def flipud(m):
    if ndim_of(m) < 1:
        raise ValueError("Input must be >= 1-d.")
    return getitem(m, (slice(None, None, -1), Ellipsis))


def roll(a, shift, axis=None):
    """np.roll: ``shift`` broadcast against ``axis``, shifts of a repeated
    axis added up, as NumPy does."""
    a = _as_array(a)
    if axis is None:
        return reshape(roll(reshape(a, (-1,)), shift, 0), shape_of(a))
    shape = shape_of(a)
    axes = normalize_axis_tuple(axis, len(shape), allow_duplicate=True)
    pairs = np.broadcast(shift, axes)
    if pairs.ndim > 1:
        raise ValueError("'shift' and 'axis' should be scalars or 1D sequences")
    shifts = dict.fromkeys(range(len(shape)), 0)
    for sh, ax in pairs:
        shifts[ax] += int(sh)
    for ax, offset in shifts.items():
        n = shape[ax]
        offset %= n or 1  # an empty array: nothing moves
        if offset:
            a = getitem(a, _along(ax, (np.arange(n) - offset) % n))
    return a


def tile(A, reps):
    try:
        reps = tuple(reps)
    except TypeError:
        reps = (reps,)
    A = _as_array(A)
    shape = shape_of(A)
    nd = max(len(shape), len(reps))
    shape = (1,) * (nd - len(shape)) + shape
    reps = (1,) * (nd - len(reps)) + reps
    A = reshape(A, shape)
    if all(r == 1 for r in reps):
        return A
    grids = [np.tile(np.arange(n), r) for n, r in zip(shape, reps)]
    return getitem(A, np.ix_(*grids))


def repeat(a, repeats, axis=None):
    if axis is None or ndim_of(a) == 0:  # NumPy repeats a 0-d array as a 1-d one
        a = reshape(a, (-1,))
    axis = normalize_axis_index(0 if axis is None else axis, ndim_of(a))
    n = shape_of(a)[axis]
    idx = np.repeat(np.arange(n), primal(repeats))
    return getitem(a, _along(axis, idx))


register(np.take, take)
register(np.take_along_axis, take_along_axis)
register(np.sort, sort)
register(np.flip, flip)
register(np.fliplr, fliplr)
register(np.flipud, flipud)
register(np.roll, roll)
register(np.tile, tile)
register(np.repeat, repeat)


# ---- concatenate ------------------------------------------------------------------
def _concat_jvp(tangents, out, *xs, axis):
    bd = 0
    for t, x in zip(tangents, xs):
        if t is not None:
            bd = _bd(t, x)
            lead = shape_of(t)[:bd]
            dtype = primal(t).dtype
            break
    else:
        return None
    ts = [t if t is not None else np.zeros(lead + shape_of(x), dtype=dtype)
          for t, x in zip(tangents, xs)]
    return concatenate_p(*ts, axis=axis)


def _concat_vjp(g, out, *xs, axis):
    cts = []
    start = 0
    tail = (slice(None),) * (-axis - 1)
    for x in xs:
        n = shape_of(x)[axis]
        cts.append(getitem(g, (Ellipsis, slice(start, start + n)) + tail))
        start += n
    return tuple(cts)


concatenate_p = Primitive(
    "concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis),
    jvp=_concat_jvp, vjp=_concat_vjp,
    doc="np.concatenate along one (negative) axis.")


def _dtype_of(a) -> np.dtype:
    return np.result_type(primal(a)) if isinstance(a, Box) else np.asarray(a).dtype


def _joined_dtype(function: str, arrays, dtype, casting) -> np.dtype:
    """The dtype np.concatenate gives ``arrays`` with ``dtype``/``casting``,
    asked of NumPy on empty stand-ins (so its casting errors are raised, and
    Python scalars stay weakly typed as NumPy keeps them)."""
    stand_ins = [a if type(a) in (int, float, bool) else np.empty(0, _dtype_of(a))
                 for a in arrays]
    result = np.concatenate(stand_ins, axis=None, dtype=dtype, casting=casting).dtype
    if result.kind == "c":
        note_complex()
    return result


def concatenate(arrays, /, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """np.concatenate.  ``dtype``/``casting`` as NumPy: the result type and
    its casting errors are NumPy's; a floating result computes in that dtype
    (each input cast to it first); an integer or boolean one is NumPy's
    value with no derivative."""
    if out is not None:
        refuse("numpy.concatenate", "out", "dualad cannot write a result in place; "
               "assign it to a new variable instead")
    arrays = list(arrays)
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    result = _joined_dtype("numpy.concatenate", arrays, dtype, casting)
    if result.kind not in "fc":
        return np.concatenate([primal(a) for a in arrays], axis=axis, dtype=dtype,
                              casting=casting)
    arrays = [astype(a, result, copy=False) if isinstance(a, Box) else
              np.asarray(a).astype(result, copy=False) for a in arrays]
    if axis is None:
        arrays = [reshape(a, (-1,)) for a in arrays]
        axis = 0
    nd = ndim_of(arrays[0])
    if nd == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    return concatenate_p(*arrays, axis=normalize_axis_index(axis, nd) - nd)


def stack(arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    if out is not None:
        refuse("numpy.stack", "out", "dualad cannot write a result in place; "
               "assign it to a new variable instead")
    arrays = [_as_array(a) for a in arrays]
    if not arrays:
        raise ValueError("need at least one array to stack")
    if len({shape_of(a) for a in arrays}) != 1:
        raise ValueError("all input arrays must have the same shape")
    axis = normalize_axis_index(axis, ndim_of(arrays[0]) + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis, dtype=dtype,
                       casting=casting)


def hstack(tup, *, dtype=None, casting="same_kind"):
    arrs = [atleast_nd(_as_array(a), 1) for a in tup]
    axis = 0 if arrs and ndim_of(arrs[0]) == 1 else 1
    return concatenate(arrs, axis=axis, dtype=dtype, casting=casting)


def vstack(tup, *, dtype=None, casting="same_kind"):
    return concatenate([atleast_nd(_as_array(a), 2) for a in tup], axis=0, dtype=dtype,
                       casting=casting)


def column_stack(tup):
    arrs = [_as_array(a) for a in tup]
    arrs = [reshape(a, (-1, 1)) if ndim_of(a) < 2 else a for a in arrs]
    return concatenate(arrs, axis=1)


def append(arr, values, axis=None):
    arr = _as_array(arr)
    if axis is None:
        arr = reshape(arr, (-1,))
        values = reshape(_as_array(values), (-1,))
        axis = 0
    return concatenate([arr, values], axis=axis)


def _split(strict: bool):
    def split(ary, indices_or_sections, axis=0):
        """np.split / np.array_split: the division points NumPy computes,
        each piece a slice (Python's slice rules for indices out of order or
        out of range, as NumPy)."""
        shape = shape_of(ary)
        axis = normalize_axis_index(axis, len(shape))  # an AxisError is an IndexError, as NumPy's
        n = shape[axis]
        try:
            points = [0] + list(indices_or_sections) + [n]
        except TypeError:  # a number of sections
            sections = indices_or_sections
            if strict and n % sections:
                raise ValueError("array split does not result in an equal division") from None
            sections = int(sections)
            if sections <= 0:
                raise ValueError("number sections must be larger than 0.") from None
            each, extra = divmod(n, sections)
            sizes = [0] + extra * [each + 1] + (sections - extra) * [each]
            points = np.cumsum(sizes).tolist()
        return [getitem(ary, _along(axis, slice(start, stop)))
                for start, stop in zip(points[:-1], points[1:])]
    split.__name__ = "split" if strict else "array_split"
    return split


register(np.concatenate, concatenate)
register(np.stack, stack)
register(np.hstack, hstack)
register(np.vstack, vstack)
register(np.column_stack, column_stack)
register(np.append, append)
_np_split = _split(True)
register(np.split, _np_split)
register(np.array_split, _split(False))


# ---- pad ------------------------------------------------------------------------------
def _pad_vjp(g, out, x, pad_width, value):
    return getitem(g, (Ellipsis,) + tuple(slice(b, b + n) for (b, _), n in
                                          zip(pad_width, shape_of(x))))


pad_p = Primitive(
    "pad", lambda x, pad_width, value: np.pad(x, pad_width, mode="constant",
                                              constant_values=value),
    jvp=(lambda t, out, x, pad_width, value:
         pad_p(t, pad_width=((0, 0),) * _bd(t, x) + pad_width, value=0.0),),
    vjp=(_pad_vjp,),
    doc="np.pad with mode='constant' and constant (not traced) values.")

# np.pad's keywords, by mode
_PAD_KEYWORDS = {
    "empty": (), "edge": (), "wrap": (), "constant": ("constant_values",),
    "linear_ramp": ("end_values",), "maximum": ("stat_length",),
    "mean": ("stat_length",), "median": ("stat_length",), "minimum": ("stat_length",),
    "reflect": ("reflect_type",), "symmetric": ("reflect_type",),
}


def _as_pairs(x, ndim: int):
    """NumPy's np.pad broadcasting of a value (or width) to (before, after)
    pairs, one per axis; ``x`` may be traced."""
    shape = shape_of(x)
    size = int(np.prod(shape))
    if len(shape) < 3:
        if size == 1:
            x = reshape(x, (-1,))
            return ((x[0], x[0]),) * ndim
        if size == 2 and shape != (2, 1):
            x = reshape(x, (-1,))
            return ((x[0], x[1]),) * ndim
    x = np.broadcast_to(x, (ndim, 2))
    return tuple((x[i, 0], x[i, 1]) for i in range(ndim))


def _pad_widths(pad_width, ndim: int) -> tuple:
    """``pad_width`` as NumPy reads it: a dict {axis: width}, or integers
    broadcast to (before, after) per axis; not negative."""
    if isinstance(pad_width, dict):
        seq = [(0, 0)] * ndim
        for axis, width in pad_width.items():
            match width:
                case int(both):
                    seq[axis] = both, both
                case tuple((int(before), int(after))):
                    seq[axis] = before, after
                case _ as invalid:
                    typing.assert_never(invalid)
        pad_width = seq
    pad_width = np.asarray(pad_width)
    if not pad_width.dtype.kind == "i":
        raise TypeError("`pad_width` must be of integral type.")
    if pad_width.size and pad_width.min() < 0:
        raise ValueError("index can't contain negative values")
    return tuple((int(b), int(a)) for b, a in _as_pairs(pad_width, ndim))


def _holds_box(x) -> bool:
    if isinstance(x, Box):
        return True
    return isinstance(x, (list, tuple)) and any(_holds_box(v) for v in x)


def _traced_array(x):
    """``x`` (a box, or a nested sequence holding boxes) as one traced array."""
    if isinstance(x, Box):
        return x
    if isinstance(x, (list, tuple)) and _holds_box(x):
        return stack([_traced_array(v) for v in x])
    return np.asarray(x)


def _pad_constant(array, pad_width, values):
    if not _holds_box(values):
        value = None if values is None else np.asarray(values)
        return pad_p(array, pad_width=pad_width, value=value)
    # traced values: axis by axis, as NumPy fills them (so at the corners
    # the later axes' values win), each cast to the array's dtype
    dtype = _dtype_of(array)
    out = array
    for axis, ((before, after), (v_before, v_after)) in enumerate(
            zip(pad_width, _as_pairs(_traced_array(values), ndim_of(array)))):
        def block(value, width):
            shape = list(shape_of(out))
            shape[axis] = width
            value = astype(value, dtype, copy=False) if isinstance(value, Box) else \
                np.asarray(value).astype(dtype)
            return [broadcast_to(value, tuple(shape))] if width else []
        parts = block(v_before, before) + [out] + block(v_after, after)
        if len(parts) > 1:
            out = concatenate(parts, axis=axis)
    return out


def _reflect_odd_step(valid, axis, left, right, period, include_edge):
    """One pass of NumPy's _set_reflect_both with reflect_type='odd' on the
    valid part ``valid`` of the axis: the chunks NumPy writes, 2 * edge -
    mirrored values, joined on; returns what is left to pad."""
    length = shape_of(valid)[axis]
    if include_edge:
        old_length, edge_offset = length // period * period, 1
    else:
        old_length, edge_offset = (length - 1) // (period - 1) * (period - 1), 0
    parts = [valid]
    if left > 0:
        chunk_length = min(old_length, left)
        stop = None if edge_offset else 0
        chunk = getitem(valid, _along(axis, slice(chunk_length - edge_offset, stop, -1)))
        parts.insert(0, 2 * getitem(valid, _along(axis, slice(0, 1))) - chunk)
        left -= chunk_length
    if right > 0:
        chunk_length = min(old_length, right)
        start = edge_offset - 2
        chunk = getitem(valid, _along(axis, slice(start, start - chunk_length, -1)))
        parts.append(2 * getitem(valid, _along(axis, slice(-1, None))) - chunk)
        right -= chunk_length
    return concatenate(parts, axis=axis), left, right


def pad(array, pad_width, mode="constant", **kwargs):
    """np.pad with modes 'constant' (values may be traced), 'edge', 'wrap',
    'reflect' and 'symmetric' (reflect_type 'even' or 'odd'), exactly as
    NumPy pads (large widths wrap or reflect repeatedly; later axes fill the
    corners).  The other modes are refused."""
    nd = ndim_of(array)
    pad_width = _pad_widths(pad_width, nd)
    if callable(mode):
        refuse("numpy.pad", "mode", "a function as mode writes into the padded array in place")
    for keyword in ("stat_length", "end_values"):
        if keyword in kwargs:
            refuse("numpy.pad", keyword, "it belongs to modes ('maximum', 'mean', 'median', "
                   "'minimum', 'linear_ramp') that dualad does not implement")
    try:
        unsupported = set(kwargs) - set(_PAD_KEYWORDS[mode])
    except KeyError:
        raise ValueError(f"mode '{mode}' is not supported") from None
    if unsupported:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {unsupported}")
    if mode not in ("constant", "edge", "wrap", "reflect", "symmetric"):
        refuse("numpy.pad", "mode", f"mode {mode!r} is not implemented (the modes "
               "'constant', 'edge', 'wrap', 'reflect' and 'symmetric' are)")
    if not nd:
        return _convert(array, _dtype_of(array), "K", copy=True)
    if mode == "constant":
        return _pad_constant(array, pad_width, kwargs.get("constant_values", 0))
    shape = shape_of(array)
    if 0 in shape:
        for axis, pair in enumerate(pad_width):
            if shape[axis] == 0 and any(pair):
                raise ValueError(f"can't extend empty axis {axis} using modes other than "
                                 "'constant' or 'empty'")
    if kwargs.get("reflect_type", "even") == "odd" and 0 not in shape:
        out = array
        for axis, (left, right) in enumerate(pad_width):
            if shape[axis] == 1:  # NumPy extends a singleton with its edge
                out = getitem(out, _along(axis, np.zeros(left + 1 + right, dtype=np.intp)))
                continue
            while left > 0 or right > 0:
                out, left, right = _reflect_odd_step(out, axis, left, right, shape[axis],
                                                     mode == "symmetric")
        return out
    # a gather: which entry each padded position copies, per axis, from NumPy
    maps = [np.pad(np.arange(n), pair, mode=mode) for n, pair in zip(shape, pad_width)]
    return getitem(array, np.ix_(*maps))


register(np.pad, pad)


# ---- dtype casts and copies ------------------------------------------------------------
def _cast_to(t, dtype):
    if np.result_type(primal(t)) == dtype:
        return t
    if np.dtype(dtype).kind != "c" and np.iscomplexobj(primal(t)):
        t = np.real(t)  # to a real dtype: the real part, as NumPy keeps it
    return t if np.result_type(primal(t)) == dtype else cast_p(t, dtype=dtype)


cast_p = Primitive(
    "cast", lambda x, dtype, order="K": np.asarray(x).astype(dtype, order=order),
    jvp=(lambda t, out, x, dtype, order="K": _cast_to(t, dtype),),
    vjp=(lambda g, out, x, dtype, order="K": _cast_to(g, np.result_type(primal(x))),),
    doc="A new array: ``x`` in ``dtype`` and memory ``order`` (ndarray.astype).")


def _has_order(x, order: str) -> bool:
    """Whether ``x``'s primal is laid out as ``order`` asks already (as
    ndarray.astype judges it: 'A' is met by any contiguous layout)."""
    if order == "K":
        return True
    flags = _flags(x)
    if order == "A":
        return flags.c_contiguous or flags.f_contiguous
    return flags.c_contiguous if order == "C" else flags.f_contiguous


def _convert(x, dtype, order: str, copy):
    """``x`` in floating ``dtype`` and memory ``order`` with ndarray.astype's
    rule: a new array when ``copy`` is true or when the dtype or layout must
    change, else ``x`` itself."""
    if not copy and np.result_type(primal(x)) == dtype and _has_order(x, order):
        return x
    return cast_p(x, dtype=dtype, order=order)


def astype(x, dtype, order="K", casting="unsafe", subok=True, copy=True):
    """ndarray.astype.  A floating or complex dtype computes in it (float32
    in float32; complex to real keeps the real part, as NumPy); an integer or
    boolean one gives NumPy's value, with no derivative.  ``order``,
    ``casting`` and ``copy`` as NumPy
    (``casting`` errors are NumPy's); ``subok`` changes nothing for dualad's
    values, which are plain ndarrays."""
    p = primal(x)
    dtype = np.dtype(dtype)
    order = _memory_order(order, "K")
    if dtype.kind == "c":
        note_complex()
    if dtype.kind not in "fc":
        p = p if hasattr(p, "astype") else np.asarray(p)
        return p.astype(dtype, order=order, casting=casting, subok=subok, copy=copy)
    np.empty(0, np.result_type(p)).astype(dtype, casting=casting)  # NumPy's casting errors
    if dtype.kind == "f" and np.iscomplexobj(p):
        # NumPy keeps the real part (with a ComplexWarning); so does the derivative
        np.empty(1, np.result_type(p)).astype(dtype)
        x = np.real(x)
    return _convert(x, dtype, order, copy)


def _np_astype(x, dtype, /, *, copy=True, device=None):
    if device is not None and device != "cpu":
        raise ValueError(f'Device not understood. Only "cpu" is allowed, but received: {device}')
    return astype(x, dtype, copy=copy)


def _np_copy(a, order="K", subok=False):
    """np.copy: a new array in memory ``order``."""
    _check_subok("numpy.copy", subok, a)
    return _convert(a, _dtype_of(a), _memory_order(order, "K"), copy=True)


register(np.ndarray.astype, astype)  # x.astype(...) on a dualad value
register(np.astype, _np_astype)
register(np.copy, _np_copy)


# ---- differences ----------------------------------------------------------------------
def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue):
    """np.diff as slices and a subtraction (so every order comes for free);
    ``prepend``/``append`` as NumPy (a 0-d value is broadcast across the
    axis, others are joined as they are)."""
    if n == 0:
        return a
    if n < 0:
        raise ValueError("order must be non-negative but got " + repr(n))
    a = _as_array(a)
    nd = ndim_of(a)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = normalize_axis_index(axis, nd)
    combined = []
    for name, value in (("prepend", prepend), (None, a), ("append", append)):
        if value is np._NoValue:
            continue
        if value is None:
            refuse("numpy.diff", name, f"NumPy would {name} the object None and then "
                   "fail to subtract it; leave the argument out to add nothing")
        if name is not None:
            value = _as_array(value)
            if ndim_of(value) == 0:
                edge = list(shape_of(a))
                edge[axis] = 1
                value = broadcast_to(value, tuple(edge))
        combined.append(value)
    if len(combined) > 1:
        a = concatenate(combined, axis=axis)
    later, earlier = _along(axis, slice(1, None)), _along(axis, slice(None, -1))
    for _ in range(n):
        a = getitem(a, later) - getitem(a, earlier)
    return a


register(np.diff, diff)


# ---- structure: compositions of the primitives above ---------------------------------
# Each is NumPy's own algorithm on traced values (the same multiplications,
# the same copies), so the values are NumPy's; errors come from NumPy too,
# asked on the primal values or on stand-ins.
def kron(a, b):
    """np.kron: one product of ``a`` and ``b`` with their axes interleaved,
    reshaped -- NumPy's construction, so every entry is ``a_i * b_j``."""
    b = _as_array(b)
    a = _as_array(a)
    nda, ndb = ndim_of(a), ndim_of(b)
    if nda < ndb:  # NumPy: np.array(a, ndmin=b.ndim)
        a = reshape(a, (1,) * (ndb - nda) + shape_of(a))
        nda = ndb
    if nda == 0 or ndb == 0:
        return np.multiply(a, b)
    as_ = shape_of(a)
    bs = (1,) * (nda - ndb) + shape_of(b)
    a_arr = reshape(a, tuple(n for m in as_ for n in (m, 1)))
    b_arr = reshape(b, tuple(n for m in bs for n in (1, m)))
    return reshape(np.multiply(a_arr, b_arr), tuple(m * n for m, n in zip(as_, bs)))


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """np.meshgrid: each input flattened onto its own axis (the first two
    swapped for indexing='xy'), broadcast unless ``sparse``.  ``copy=False``
    gives NumPy's views for the arrays that are not traced; a traced output
    is a new value either way (dualad's values are never changed in place)."""
    ndim = len(xi)
    if indexing not in ["xy", "ij"]:
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    s0 = (1,) * ndim
    shapes = [s0[:i] + (-1,) + s0[i + 1:] for i in range(ndim)]
    if indexing == "xy" and ndim > 1:
        shapes[0], shapes[1] = (1, -1) + s0[2:], (-1, 1) + s0[2:]
    output = [reshape(_as_array(x), shape) for x, shape in zip(xi, shapes)]
    if not sparse:
        output = list(broadcast_arrays(*output))
    if copy:
        return tuple(_np_copy(x, "C") if isinstance(x, Box) else x.copy() for x in output)
    return output if sparse else tuple(output)


def _structure(arrays, leaf):
    """``arrays`` (nested lists) with each leaf replaced by ``leaf(x)``;
    tuples kept as tuples, so that NumPy refuses them as it does."""
    if type(arrays) in (list, tuple):
        return type(arrays)(_structure(a, leaf) for a in arrays)
    return leaf(arrays)


def _assemble(arrays, depth: int, list_ndim: int, result_ndim: int):
    if type(arrays) is list:
        parts = [_assemble(a, depth + 1, list_ndim, result_ndim) for a in arrays]
        return concatenate(parts, axis=depth - list_ndim)
    leaf = arrays if isinstance(arrays, Box) else np.array(arrays, ndmin=result_ndim, copy=None,
                                                           subok=True)
    shape = shape_of(leaf)
    return reshape(leaf, (1,) * (result_ndim - len(shape)) + shape)


def block(arrays):
    """np.block: the innermost lists joined along the last axis, the next
    ones along the one before..., each block first given the result's
    number of dimensions (leading axes of length 1), as NumPy does.  The
    nesting and the shapes are checked by NumPy's own np.block on stand-ins
    (its errors, its result shape); the blocks may mix traced values and
    constants."""
    shaped = np.block(_structure(arrays, lambda x: _stand_in(shape_of(x))))
    list_ndim = 0
    inner = arrays
    while type(inner) is list:
        list_ndim += 1
        inner = inner[0]
    if list_ndim == 0:
        return _as_array(arrays)
    return _assemble(arrays, 0, list_ndim, shaped.ndim)


def _split_needing(name: str, min_ndim: int, axis: int):
    def split_along(ary, indices_or_sections):
        nd = ndim_of(ary)
        if nd < min_ndim:
            raise ValueError(f"{name} only works on arrays of {min_ndim} or more dimensions")
        return _np_split(ary, indices_or_sections, axis if nd > 1 or name != "hsplit" else 0)
    split_along.__name__ = name
    split_along.__doc__ = f"np.{name}: np.split along axis {axis}, as NumPy."
    return split_along


def rot90(m, k=1, axes=(0, 1)):
    """np.rot90: NumPy's flips and transpose."""
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    m = _as_array(m)
    nd = ndim_of(m)
    if axes[0] == axes[1] or abs(axes[0] - axes[1]) == nd:
        raise ValueError("Axes must be different.")
    if axes[0] >= nd or axes[0] < -nd or axes[1] >= nd or axes[1] < -nd:
        raise ValueError(f"Axes={axes} out of range for array of ndim={nd}.")
    k %= 4
    if k == 0:
        return getitem(m, slice(None))
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    axes_list = list(range(nd))
    axes_list[axes[0]], axes_list[axes[1]] = axes_list[axes[1]], axes_list[axes[0]]
    if k == 1:
        return transpose(flip(m, axes[1]), axes_list)
    return flip(transpose(m, axes_list), axes[1])


def rollaxis(a, axis, start=0):
    """np.rollaxis: the permutation NumPy applies, asked of NumPy."""
    return _permute(a, _permutation(ndim_of(a), np.rollaxis, axis, start))


register(np.kron, kron)
register(np.meshgrid, meshgrid)
register(np.block, block)
register(np.hsplit, _split_needing("hsplit", 1, 1))
register(np.vsplit, _split_needing("vsplit", 2, 0))
register(np.dsplit, _split_needing("dsplit", 3, 2))
register(np.rot90, rot90)
register(np.rollaxis, rollaxis)


# ---- selections: select, piecewise, compress ---------------------------------------------
_WEAK = (int, float, complex)


def _in_dtype(value, dtype):
    """``value`` in ``dtype``: a traced value through a cast, a constant by NumPy."""
    if isinstance(value, Box):
        return astype(value, dtype, copy=False)
    return np.asarray(value).astype(dtype, copy=False)


def select(condlist, choicelist, default=0):
    """np.select: NumPy's result type and checks; the choices taken from
    the last to the first with np.where (the first true condition wins),
    so every traced choice and the default get the derivative exactly
    where they are the value.  (NumPy hands the call to dualad when a
    condition or a choice is traced; a traced default alone is converted
    by NumPy's own code, which raises the error naming numpy.select.)"""
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")
    choices = [c if type(c) in _WEAK or isinstance(c, Box) else np.asarray(c)
               for c in list(choicelist) + [default]]
    try:
        dtype = np.result_type(*[c if type(c) in _WEAK else primal(c) for c in choices])
    except TypeError as e:
        raise TypeError(f"Choicelist and default value do not have a common dtype: {e}") from None
    conds = np.broadcast_arrays(*[primal(c) for c in condlist])
    shape = np.broadcast_shapes(*[shape_of(c) for c in choices])
    for i, cond in enumerate(conds):
        if cond.dtype.type is not np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    if dtype.kind not in "fc" or not any(isinstance(c, Box) for c in choices):
        return np.select(conds, [primal(c) for c in choices[:-1]], primal(choices[-1]))
    result = broadcast_to(_in_dtype(choices[-1], dtype),
                          np.broadcast_shapes(conds[0].shape, shape))
    for choice, cond in zip(choices[-2::-1], conds[::-1]):
        result = np.where(cond, _in_dtype(choice, dtype), result)
    return result


def piecewise(x, condlist, funclist, *args, **kw):
    """np.piecewise: each function is called on the traced entries where its
    condition holds (with ``args`` and ``kw``), a constant in ``funclist``
    fills its entries, later conditions overwrite earlier ones, and the
    entries no condition selects are 0 -- NumPy's loop, with each piece put
    in place by a scatter and np.where instead of an assignment.  Values are
    cast to x's dtype, as NumPy's assignment casts them.  (NumPy hands the
    call to dualad when ``x`` is traced; traced ``args`` or constants with
    a constant ``x`` meet NumPy's own loop, which raises the error naming
    numpy.piecewise.)"""
    x = _as_array(x)
    xp = lowest(x)
    n2 = len(funclist)
    if np.isscalar(condlist) or (not isinstance(condlist[0], (list, np.ndarray, Box))
                                 and xp.ndim != 0):
        condlist = [condlist]
    conds = np.asarray([primal(c) for c in condlist], dtype=bool)
    n = len(conds)
    if n == n2 - 1:  # the "otherwise" function
        conds = np.concatenate([conds, ~np.any(conds, axis=0, keepdims=True)], axis=0)
        n += 1
    elif n != n2:
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are expected")
    y = np.zeros_like(xp)  # a raw array of our own until a traced piece is placed
    for cond, func in zip(conds, funclist):
        if callable(func):
            vals = getitem(x, cond)
            if not np.size(primal(vals)):
                continue
            value = func(vals, *args, **kw)
        else:
            value = func
        if not isinstance(value, Box) and not isinstance(y, Box):
            y[cond] = primal(value)
            continue
        count = int(np.count_nonzero(cond))
        piece = broadcast_to(_in_dtype(value, xp.dtype), (count,))
        placed = scatter_add_p(piece, index=Index((cond,), xp.ndim), shape=xp.shape)
        y = np.where(cond, placed, y)
    return y


def compress(condition, a, axis=None, out=None):
    """np.compress: the entries along ``axis`` where ``condition`` is true,
    gathered; which ones (and NumPy's errors) asked of NumPy on positions."""
    if out is not None:
        refuse("numpy.compress", "out", "dualad cannot write a result in place; "
               "assign it to a new variable instead")
    a = _as_array(a)
    if axis is None:
        a = reshape(a, (-1,))
        axis = 0
    axis = normalize_axis_index(axis, ndim_of(a))
    positions = np.compress(primal(condition), np.arange(shape_of(a)[axis]))
    return getitem(a, _along(axis, positions))


register(np.select, select)
register(np.piecewise, piecewise)
register(np.compress, compress)


# ---- partition ---------------------------------------------------------------------------
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """np.partition: NumPy's partitioned values, as a gather that puts each
    input entry where NumPy puts it, so its derivative follows it.  The
    gather is NumPy's argpartition; where that arranges the entries other
    than the kth differently from np.partition (it can with NaNs), the
    entries are matched to NumPy's result by a stable sort of both, so a
    position's derivative goes to an entry of equal value (docs/kinks.md)."""
    if order is not None:
        refuse("numpy.partition", "order", "it names fields of a structured array, and the "
               "values dualad differentiates are plain float arrays")
    a = _as_array(a)
    if axis is None:
        a = reshape(a, (-1,))
        axis = -1
    p = primal(a)
    expected = np.partition(p, kth, axis=axis, kind=kind)  # NumPy's value and errors
    axis = normalize_axis_index(axis, ndim_of(a))
    perm = np.argpartition(p, kth, axis=axis, kind=kind)
    if not np.array_equal(np.take_along_axis(p, perm, axis), expected, equal_nan=True):
        source = np.argsort(p, axis=axis, kind="stable")
        target = np.argsort(expected, axis=axis, kind="stable")
        perm = np.empty_like(source)
        np.put_along_axis(perm, target, source, axis)
    return take_along_axis(a, perm, axis)


register(np.partition, partition)
register(np.argpartition, nondiff(np.argpartition))
