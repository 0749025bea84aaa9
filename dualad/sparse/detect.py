"""Sparsity detection: which outputs depend on which inputs, by tracing f once.

What this module lets you do
----------------------------
Find the sparsity pattern of a Jacobian (``jacobian_sparsity``) or of a
Hessian (``hessian_sparsity``) by running ``f`` once on a third kind of
boxed value, a :class:`Pattern`, which carries for every element of an
array the set of inputs that element depends on.  The patterns feed the
colourings of :mod:`dualad.sparse.coloring` and the compressed evaluations
of :mod:`dualad.sparse.evaluate`.

The invariant
-------------
A Pattern's ``deps`` is an int array of shape ``(w, size)`` -- *slot-major
ELL*: column ``i`` lists the inputs element ``i`` (in C order) depends on,
padded with ``-1``; ``w`` is the widest set.  Slot-major because the hot
operations (gathers for slicing and broadcasting, unions for elementwise
operations) then work on ``w`` contiguous vectors, which is as fast as
NumPy gets: a five-point stencil on 10⁶ unknowns is traced in a few
multiples of the time f takes.  Sets may hold an input twice; duplicates
are removed when a set grows wide and when the pattern is returned.
Arrays in ``deps`` are never written after they are made, so boxes may share them.

Each primitive has a *dependency rule* (the table ``RULES``, by primitive
name; every elementwise primitive shares one rule).  A primitive without
one is *dense*: each output depends on every input of the call -- always
true, rarely tight -- unless its inputs are small enough to *probe*: the
pattern of its Jacobian is then read off a vector-mode JVP of the
primitive alone (exact for linear and multilinear primitives, whose pattern
at random values is the pattern everywhere).

Global and local patterns
-------------------------
*Global* patterns (the default) hold for every ``x``: ``np.where`` and
``np.maximum`` depend on both branches, a reduction ``max`` on every entry.
The traced primal values are then :class:`Tainted` arrays, so that every
value computed from ``x`` -- a comparison, ``argsort``, ``argmax`` -- is
tainted too: a Python ``if`` on one raises :class:`BranchOnValue` (the
pattern could not hold for every x), and an index computed from ``x``
(``np.sort``, ``x[np.argmax(x)]``) makes the gather depend on every entry.
*Local* patterns hold at this ``x``: branches, ``where`` and ``maximum``
take the side they take there, ``max`` depends on its maximal entries, and
Python control flow on values is allowed.  A local pattern can change from
one point to another (a solver that reuses one across iterates must know
its function's branches stay put).

Hessian patterns
----------------
With ``hessian=True`` the trace also collects, at every nonlinear
operation, the pairs of inputs that meet there: for ``a * b`` the pairs
(one from a's set, one from b's) of each element; for ``a / b`` those and
b's pairs among themselves; for any other nonlinear function every pair of
its inputs' union; none for linear ones (``+``, slicing, ``sum``, ``where``,
``maximum`` -- piecewise linear functions have zero second derivative
wherever they have one).  The Hessian's pattern is the union of those
pairs, symmetrised.  (An operation whose result never reaches the output
still adds its pairs: a superset, never a missed entry.)
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ..core import Box, Trace, primal, unwrap

__all__ = ["jacobian_sparsity", "hessian_sparsity", "Pattern", "Tainted",
           "BranchOnValue", "RULES", "trace_dependencies"]

# A primitive call whose inputs hold at most this many entries in all, and
# whose Jacobian block (outputs x inputs) holds at most PROBE_ENTRIES, is
# probed instead of being taken as dense.
PROBE_INPUTS = 4096
PROBE_ENTRIES = 4_000_000
# A dense coupling of more entries than this is refused rather than built.
DENSE_ENTRIES = 50_000_000
# Sets wider than this are rid of their duplicates when they grow.
COMPACT_WIDTH = 8


class BranchOnValue(TypeError):
    """Python control flow read a value computed from ``x`` during global
    sparsity detection, where no such value exists."""


_BRANCH = ("{what} a value computed from x during global sparsity detection: a "
           "global pattern must hold for every x, and Python control flow on x's "
           "values could go either way. Pass local=True for the pattern at this x "
           "(only valid while the branches taken stay the same), or write the choice "
           "with np.where / np.maximum, which global detection follows on both sides.")


def _refuse_conversion(what):
    def method(self, *args, **kwargs):
        raise BranchOnValue(_BRANCH.format(what=what))
    return method


class Tainted(np.ndarray):
    """A value computed from ``x`` during global detection: NumPy arithmetic
    on it works and stays tainted; reading it as a Python value raises."""

    def __array_wrap__(self, arr, context=None, return_scalar=False):
        return np.asarray(arr).view(Tainted)

    def __array_function__(self, func, types, args, kwargs):
        out = super().__array_function__(func, types, args, kwargs)
        return out if out is NotImplemented else _taint(out)

    def __getitem__(self, key):
        return _taint(super().__getitem__(key))

    __bool__ = _refuse_conversion("Branching on (bool() of)")
    __int__ = _refuse_conversion("int() of")
    __float__ = _refuse_conversion("float() of")
    __complex__ = _refuse_conversion("complex() of")
    __index__ = _refuse_conversion("Using as an index or a length")
    item = _refuse_conversion(".item() of")
    tolist = _refuse_conversion(".tolist() of")


def _taint(value):
    if type(value) is np.ndarray:
        return value.view(Tainted)
    if isinstance(value, np.generic):
        return np.asarray(value).view(Tainted)
    if type(value) in (tuple, list):
        return type(value)(_taint(v) for v in value)
    return value


def _plain(value):
    """The untainted array under a value (for the rules' own index arithmetic)."""
    return value.view(np.ndarray) if isinstance(value, Tainted) else value


# ---- the traced value and its trace ------------------------------------------------
class Pattern(Box):
    """A primal value with, for each of its elements, the inputs it depends on."""

    __slots__ = ("deps",)

    def __init__(self, value, deps: np.ndarray, trace: "SparsityTrace"):
        self._value = value
        self.deps = deps
        self._trace = trace


class SparsityTrace(Trace):
    """Sparsity detection in progress over ``n`` inputs."""

    __slots__ = ("n", "local", "hessian", "pairs", "index_dtype")

    def __init__(self, n: int, local: bool, hessian: bool):
        super().__init__("sparsity detection")
        self.n = n
        self.local = local
        self.hessian = hessian
        self.pairs = []  # (A, B): for each column i, every (A[:, i], B[:, i]) pair meets
        self.index_dtype = np.int32 if n < 2 ** 31 - 1 else np.int64

    def process(self, prim, args, params):
        values, deps, lower = unwrap(self, args, "deps")
        out = prim(*values, **params) if lower else prim.impl(*values, **params)
        if not self.local:
            out = _taint(out)
        rule = RULES.get(prim.name)
        if rule is None:
            rule = _elementwise if prim.elementwise else _unknown
        out_deps = rule(self, prim, out, values, deps, params)
        if prim.multiple_results:
            return tuple(o if d is None else Pattern(o, d, self) for o, d in zip(out, out_deps))
        return out if out_deps is None else Pattern(out, out_deps, self)

    def meet(self, a: np.ndarray, b: np.ndarray) -> None:
        """Record that, for every element, the inputs in ``a``'s set and in
        ``b``'s interact nonlinearly (a Hessian entry for each pair)."""
        if self.hessian and a.shape[0] and b.shape[0]:
            self.pairs.append((a, b))


# ---- sets of inputs: the few operations every rule is made of ------------------------
def _empty(q: int, dtype) -> np.ndarray:
    return np.empty((0, q), dtype)


def _broadcast(deps: np.ndarray, shape: tuple, out_shape: tuple) -> np.ndarray:
    """The sets of an argument of ``shape`` as broadcasting lines them up with
    an output of ``out_shape`` -- the one place broadcasting is handled."""
    if tuple(shape) == tuple(out_shape):
        return deps
    size = int(np.prod(shape, dtype=np.int64))
    ids = np.broadcast_to(np.arange(size).reshape(shape), out_shape).ravel()
    return _gather(deps, ids)


def _gather(deps: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Sets of a new array whose element i is element ``source[i]`` of the
    old one (``-1``: a constant, no inputs)."""
    source = np.asarray(source).ravel()
    if not deps.shape[0]:
        return _empty(source.size, deps.dtype)
    if source.size and source.min() < 0:
        padded = np.concatenate([deps, np.full((deps.shape[0], 1), -1, deps.dtype)], axis=1)
        return np.take(padded, np.where(source < 0, deps.shape[1], source), axis=1)
    return np.take(deps, source, axis=1)


def _union(blocks: list) -> np.ndarray:
    """Element by element union of sets of equal length."""
    blocks = [b for b in blocks if b.shape[0]]
    if not blocks:
        return None
    if len(blocks) == 1 or all(b is blocks[0] for b in blocks):
        return blocks[0]
    out = np.concatenate(blocks, axis=0)
    if out.shape[0] > COMPACT_WIDTH and out.shape[0] > max(b.shape[0] for b in blocks):
        out = _compact(out)
    return out


def _compact(deps: np.ndarray) -> np.ndarray:
    """The same sets without duplicates, in as few slots as they need."""
    w, q = deps.shape
    if w <= 1 or not q:
        return deps
    s = np.sort(deps, axis=0)
    s[1:][s[1:] == s[:-1]] = -1
    valid = s >= 0
    counts = valid.sum(axis=0)
    width = int(counts.max())
    if width == w:
        return s
    slot = np.cumsum(valid, axis=0) - 1
    out = np.full((width, q), -1, deps.dtype)
    cols = np.broadcast_to(np.arange(q), (w, q))
    out[slot[valid], cols[valid]] = s[valid]
    return out


def _link(deps: np.ndarray, out_index: np.ndarray, source: np.ndarray, q: int) -> np.ndarray:
    """Sets of an array of ``q`` elements in which element ``out_index[t]``
    depends on element ``source[t]`` of the old one, for every ``t`` (a
    reduction, a scatter, a product's contraction)."""
    out_index = np.asarray(out_index, np.int64).ravel()
    source = np.asarray(source, np.int64).ravel()
    w = deps.shape[0]
    if not w or not out_index.size:
        return None
    if out_index.size > 1 and np.any(out_index[1:] < out_index[:-1]):
        order = np.argsort(out_index, kind="stable")
        o, s = out_index[order], source[order]
    else:
        o, s = out_index, source
    counts = np.bincount(o, minlength=q)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(o.size) - np.repeat(starts, counts)
    width = int(counts.max())
    out = np.full((width * w, q), -1, deps.dtype)
    taken = deps[:, s]  # (w, len)
    for a in range(w):
        out[rank * w + a, o] = taken[a]
    return _compact(out) if width * w > 1 else out


def _dense(trace, blocks: list, q: int, where: str) -> np.ndarray:
    """Every one of ``q`` elements depends on every input in ``blocks``."""
    every = np.unique(np.concatenate([b[b >= 0] for b in blocks]))
    if not every.size:
        return None
    if every.size * q > DENSE_ENTRIES:
        raise MemoryError(
            f"sparsity detection: {where} makes each of its {q} outputs depend on all "
            f"{every.size} inputs it was given ({every.size * q:,} entries); the Jacobian "
            "is dense there. Detect the pattern of a smaller problem, or pass sparsity= "
            "yourself.")
    return np.ascontiguousarray(np.broadcast_to(every.astype(trace.index_dtype)[:, None],
                                                (every.size, q)))


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


# ---- rules: elementwise ---------------------------------------------------------------
# Elementwise primitives whose second derivatives are zero wherever they exist.
_LINEAR = frozenset({
    "add", "subtract", "negative", "positive", "conjugate", "real", "imag", "absolute",
    "maximum", "minimum", "fmax", "fmin", "where", "deg2rad", "rad2deg", "radian",
    "copysign", "fmod", "remainder", "ldexp", "nextafter", "modf", "cast", "sign", "angle"})
# ... of which these only for real arguments (|z| and angle(z) are not linear in z)
_LINEAR_FOR_REALS = frozenset({"absolute", "angle", "sign"})
# ... whose local dependency follows the branch taken (its derivative is 0 on the other).
_SELECTING = frozenset({"maximum", "minimum", "fmax", "fmin"})


def _elementwise(trace, prim, out, args, deps, params):
    out_shape = np.shape(out[0] if prim.multiple_results else out)
    blocks = {}
    for k, (a, d) in enumerate(zip(args, deps)):
        if d is not None:
            blocks[k] = _broadcast(d, np.shape(primal(a)), out_shape)
    if trace.local and prim.name in _SELECTING and prim.derivs is not None:
        from ..chain import factor
        for k in list(blocks):
            taken = np.broadcast_to(np.asarray(factor(prim.derivs[k], out, args, params)) != 0,
                                    out_shape).ravel()
            blocks[k] = np.where(taken, blocks[k], -1).astype(blocks[k].dtype)
    if prim.name == "where" and trace.local:
        cond = np.broadcast_to(_plain(np.asarray(args[0])), out_shape).ravel().astype(bool)
        for k in list(blocks):
            keep = cond if k == 1 else ~cond
            blocks[k] = np.where(keep, blocks[k], -1).astype(blocks[k].dtype)
    result = _union(list(blocks.values()))
    if result is None:
        return (None,) * len(out) if prim.multiple_results else None
    linear = prim.name in _LINEAR and not (
        prim.name in _LINEAR_FOR_REALS and any(np.iscomplexobj(primal(a)) for a in args))
    if trace.hessian and not linear:
        if prim.name == "multiply":
            if 0 in blocks and 1 in blocks:
                trace.meet(blocks[0], blocks[1])
        elif prim.name in ("divide", "true_divide"):
            if 1 in blocks:
                trace.meet(result, blocks[1])
        else:
            trace.meet(result, result)
    if prim.multiple_results:
        return tuple(result for _ in out)
    return result


# ---- rules: gathers (shape, indexing, assembling) ----------------------------------------
def _ids(shape, offset=0):
    return np.arange(offset, offset + _size(shape), dtype=np.int64).reshape(shape)


def _by_ids(trace, prim, out, args, deps, params):
    """A primitive that only moves entries: run it on the arrays of entry
    numbers (``-1`` for constants) to see where each output entry comes from."""
    stacked, inputs, offset = [], [], 0
    for a, d in zip(args, deps):
        shape = np.shape(primal(a))
        if d is None:
            inputs.append(np.full(shape, -1, np.int64))
        else:
            inputs.append(_ids(shape, offset))
            stacked.append(d)
            offset += _size(shape)
    source = np.asarray(prim.impl(*inputs, **params))
    width = max(d.shape[0] for d in stacked)
    together = np.concatenate(
        [np.concatenate([d, np.full((width - d.shape[0], d.shape[1]), -1, d.dtype)])
         if d.shape[0] < width else d for d in stacked], axis=1)
    return _gather(together, source)


def _slots(deps: np.ndarray, shape: tuple) -> np.ndarray:
    """The sets laid out as ``(w, *shape)``, to move them as the values move."""
    return deps.reshape((deps.shape[0],) + tuple(shape))


def _flat(arranged: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(arranged).reshape(arranged.shape[0], -1)


def _getitem(trace, prim, out, args, deps, params):
    index = params["index"]
    if any(isinstance(k, Tainted) for k in index.key):
        # an index computed from x: the entries chosen change with x
        return _dense(trace, [deps[0]], _size(np.shape(out)), "indexing by a value of x")
    if index.basic:  # slices, integers, None: a view of the sets, no index arrays
        return _flat(_slots(deps[0], np.shape(primal(args[0])))[(slice(None),) + index.key])
    return _by_ids(trace, prim, out, args, deps, params)


def _reshape(trace, prim, out, args, deps, params):
    return deps[0]  # C order both ways: element i stays element i


def _transpose(trace, prim, out, args, deps, params):
    axes = (0,) + tuple(a % len(params["axes"]) + 1 for a in params["axes"])
    return _flat(np.transpose(_slots(deps[0], np.shape(primal(args[0]))), axes))


def _broadcast_to(trace, prim, out, args, deps, params):
    return _broadcast(deps[0], np.shape(primal(args[0])), tuple(params["shape"]))


def _concatenate(trace, prim, out, args, deps, params):
    axis = params["axis"]
    width = max(d.shape[0] for d in deps if d is not None)
    parts = []
    for a, d in zip(args, deps):
        shape = np.shape(primal(a))
        if d is None:
            parts.append(np.full((width,) + shape, -1, trace.index_dtype))
        else:
            if d.shape[0] < width:
                d = np.concatenate([d, np.full((width - d.shape[0], d.shape[1]), -1, d.dtype)])
            parts.append(_slots(d, shape))
    return np.concatenate(parts, axis=axis if axis < 0 else axis + 1).reshape(width, -1)


def _same(trace, prim, out, args, deps, params):
    return deps[0]


def _scatter_add(trace, prim, out, args, deps, params):
    # zeros of params["shape"] with args[0] added at params["index"]
    index, shape = params["index"], params["shape"]
    if any(isinstance(k, Tainted) for k in index.key):
        return _dense(trace, [deps[0]], _size(shape), "scatter_add at a value of x")
    target = np.arange(_size(shape)).reshape(shape)[index.key]
    target = np.broadcast_to(target, np.shape(primal(args[0])))
    return _link(deps[0], target, np.arange(target.size), _size(shape))


# ---- rules: reductions --------------------------------------------------------------------
def _reduction(trace, prim, out, args, deps, params):
    x = primal(args[0])
    shape = np.shape(x)
    axis = params.get("axis")
    axes = tuple(range(len(shape))) if axis is None else (
        (axis,) if np.ndim(axis) == 0 else tuple(axis))
    axes = tuple(a % len(shape) for a in axes) if shape else ()
    kept = tuple(1 if i in axes else s for i, s in enumerate(shape))
    q = _size(kept)
    target = np.broadcast_to(np.arange(q).reshape(kept), shape)
    chosen = np.ones(shape, bool)
    where = params.get("where")
    if where is not None:
        chosen &= np.broadcast_to(_plain(np.asarray(where)), shape)
    if trace.local and prim.name in ("max", "min"):
        o = _plain(np.asarray(primal(out)))
        chosen &= (_plain(np.asarray(x)) == o.reshape(kept)) | np.isnan(o.reshape(kept))
    src = np.flatnonzero(chosen)
    if q == 1:  # a full reduction: the union of all the sets, by marking (no sort)
        taken = deps[0][:, src]
        mark = np.zeros(trace.n, bool)
        mark[taken[taken >= 0]] = True
        every = np.flatnonzero(mark).astype(trace.index_dtype)
        result = every[:, None] if every.size else None
    else:
        result = _link(deps[0], target.ravel()[src], src, q)
    if trace.hessian and prim.name in ("prod", "l2norm") and result is not None:
        trace.meet(result, result)
    return result


def _cumulative(trace, prim, out, args, deps, params):
    x = primal(args[0])
    shape = np.shape(x)
    axis = params["axis"] % len(shape)
    n = shape[axis]
    ids = np.arange(_size(shape)).reshape(shape)
    lines = np.moveaxis(ids, axis, -1).reshape(-1, n)
    i, j = np.tril_indices(n)  # output position i depends on input position j <= i
    out_index = lines[:, i].ravel()
    source = lines[:, j].ravel()
    if out_index.size * deps[0].shape[0] > DENSE_ENTRIES:
        raise MemoryError(f"sparsity detection: {prim.name} along an axis of {n} makes a "
                          "dense triangular Jacobian; pass sparsity= yourself.")
    result = _link(deps[0], out_index, source, _size(shape))
    if trace.hessian and prim.name == "cumprod" and result is not None:
        trace.meet(result, result)
    return result


# ---- rules: products ------------------------------------------------------------------------
def _matmul_by_constant(trace, out, a, b, deps):
    """``a @ b`` with one side a constant matrix (no stack): only the
    constant's nonzeros link an output to an input -- a banded or sparse
    matrix stored dense costs its nonzeros, not m·k·n."""
    sa, sb = np.shape(a), np.shape(b)
    a2 = sa if len(sa) > 1 else (1,) + sa
    b2 = sb if len(sb) > 1 else sb + (1,)
    m, k, n = a2[-2], a2[-1], b2[-1]
    q = _size(np.shape(out))
    if deps[1] is not None:  # constant a: out[i, j] <- b[kk, j] for a[i, kk] != 0
        i, kk = np.nonzero(_plain(np.asarray(a)).reshape(m, k))
        j = np.arange(n)
        o = (i[:, None] * n + j).ravel()
        s = (kk[:, None] * n + j).ravel()
        return _link(deps[1], o, s, q)
    kk, j = np.nonzero(_plain(np.asarray(b)).reshape(k, n))  # constant b
    i = np.arange(m)
    o = (i[:, None] * n + j).ravel()
    s = (i[:, None] * k + kk).ravel()
    return _link(deps[0], o, s, q)


def _matmul(trace, prim, out, args, deps, params):
    a, b = (primal(v) for v in args)
    sa, sb = np.shape(a), np.shape(b)
    constant = [d is None and type(v) is np.ndarray and v.ndim <= 2
                for v, d in zip((a, b), deps)]
    if any(constant) and max(len(sa), len(sb)) <= 2:
        return _matmul_by_constant(trace, out, a, b, deps)
    a2 = sa if len(sa) > 1 else (1,) + sa
    b2 = sb if len(sb) > 1 else sb + (1,)
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    m, k, n = a2[-2], a2[-1], b2[-1]
    ia = np.broadcast_to(np.arange(_size(sa)).reshape(a2), batch + (m, k))
    ib = np.broadcast_to(np.arange(_size(sb)).reshape(b2), batch + (k, n))
    io = np.arange(_size(batch) * m * n).reshape(batch + (m, n))
    # every (batch, i, kk, j): out[i, j] takes a[i, kk] * b[kk, j]
    o = np.broadcast_to(io[..., :, None, :], batch + (m, k, n)).ravel()
    pa = np.broadcast_to(ia[..., :, :, None], batch + (m, k, n)).ravel()
    pb = np.broadcast_to(ib[..., None, :, :], batch + (m, k, n)).ravel()
    if o.size * max(d.shape[0] for d in deps if d is not None) > DENSE_ENTRIES:
        return _unknown(trace, prim, out, args, deps, params)
    live = np.ones(o.size, bool)
    for v, d, p in ((a, deps[0], pa), (b, deps[1], pb)):
        if d is None and type(v) is np.ndarray:  # a constant's zeros are zeros for every x
            live &= _plain(v).ravel()[p] != 0
    q = _size(np.shape(out))
    blocks = [_link(d, o[live], p[live], q) for d, p in ((deps[0], pa), (deps[1], pb))
              if d is not None]
    blocks = [blk for blk in blocks if blk is not None]
    if trace.hessian and deps[0] is not None and deps[1] is not None and live.any():
        trace.meet(_gather(deps[0], pa[live]), _gather(deps[1], pb[live]))
    if not blocks:
        return None
    return _union(blocks) if len(blocks) > 1 else blocks[0]


def _einsum(trace, prim, out, args, deps, params):
    """Each point of einsum's iteration space (one value per letter) links the
    output entry it adds into to the operand entries it multiplies; a
    constant operand's zeros cut the links through them (for every x)."""
    ins, out_sub = params["ins"], params["out"]
    shapes = [np.shape(primal(a)) for a in args]
    sizes = {}
    for sub, shape in zip(ins, shapes):
        for c, s in zip(sub, shape):
            sizes[c] = max(sizes.get(c, 1), s)
    letters = sorted(sizes)
    space = tuple(sizes[c] for c in letters)
    width = max(d.shape[0] for d in deps if d is not None)
    if _size(space) * width > DENSE_ENTRIES:
        return _unknown(trace, prim, out, args, deps, params)
    axis = {c: i for i, c in enumerate(letters)}

    def flat_index(sub, shape):
        """Each iteration point's flat position in an array of letters ``sub``."""
        index = np.zeros((1,) * len(letters), np.int64)
        stride = 1
        for c, s in reversed(list(zip(sub, shape))):
            if s > 1:
                along = np.arange(s).reshape([-1 if i == axis[c] else 1
                                              for i in range(len(letters))])
                index = index + along * stride
            stride *= s
        return np.broadcast_to(index, space).ravel()

    live = np.ones(_size(space), bool)
    # (a letter repeated in one operand, "ii", reads its diagonal: both axes
    # take the same position in flat_index)
    for sub, shape, a, d in zip(ins, shapes, args, deps):
        if d is None and type(a) is np.ndarray:
            live &= _plain(a).ravel()[flat_index(sub, shape)] != 0
    q = _size(np.shape(out))
    o = flat_index(out_sub, np.shape(out))[live]
    gathered = []
    blocks = []
    for sub, shape, d in zip(ins, shapes, deps):
        if d is None:
            continue
        source = flat_index(sub, shape)[live]
        blocks.append(_link(d, o, source, q))
        if trace.hessian:
            gathered.append(_gather(d, source))
    if trace.hessian:
        for i in range(len(gathered)):
            for j in range(i + 1, len(gathered)):
                trace.meet(gathered[i], gathered[j])
    return _union([b for b in blocks if b is not None])


# ---- rules: anything else -------------------------------------------------------------------
# Primitives whose Jacobian pattern at random values is their pattern at every
# point: linear and multilinear maps (polynomials in their inputs).
_MULTILINEAR = frozenset({"einsum", "convolve", "fft", "ifft", "rfft", "irfft"})


# Functions of stacks of matrices (NumPy's gufuncs, with the matrix in the last
# two axes): without a rule of their own, each matrix of the stack is dense
# on its own, not coupled to the others.
_STACKED = frozenset({
    "solve", "inv", "det", "logabsdet", "slogdet", "cholesky", "eigh", "eig", "qr",
    "svd", "svdvals", "expm", "logm", "sqrtm", "pinv", "solve_triangular",
    "lu_factor", "expm_frechet", "solve_sylvester", "solve_continuous_lyapunov"})


def _stacked(trace, prim, outs, args, deps):
    """Per-matrix dense sets for a function of stacks of matrices, or None
    when the shapes do not show one common stack."""
    shapes = [np.shape(primal(a)) for a in args]
    stacks = [s[:-2] for s in shapes if len(s) > 2]
    if not stacks:
        return None
    try:
        batch = np.broadcast_shapes(*stacks)
    except ValueError:
        return None
    nb = _size(batch)
    if any(np.shape(o)[:len(batch)] != batch for o in outs):
        return None
    per_batch = []
    for s, d in zip(shapes, deps):
        if d is None:
            continue
        if len(s) <= 2:  # one matrix or vector for the whole stack
            one = _dense(trace, [d], 1, f"numpy {prim.name}")
            per_batch.append(_gather(one, np.zeros(nb, np.int64)) if one is not None else None)
            continue
        own = _size(s[:-2])
        elem_batch = np.repeat(np.arange(own), _size(s[-2:]))
        sets = _link(d, elem_batch, np.arange(elem_batch.size), own)
        which = np.broadcast_to(np.arange(own).reshape(s[:-2]), batch).ravel()
        per_batch.append(_gather(sets, which) if sets is not None else None)
    sets = _union([b for b in per_batch if b is not None])
    results = []
    for o in outs:
        q = _size(np.shape(o))
        if sets is None:
            results.append(None)
            continue
        results.append(_gather(sets, np.repeat(np.arange(nb), q // max(nb, 1))))
    return results


def _unknown(trace, prim, out, args, deps, params):
    outs = out if prim.multiple_results else (out,)
    sizes = [_size(np.shape(primal(a))) for a, d in zip(args, deps) if d is not None]
    q_all = sum(_size(np.shape(o)) for o in outs)
    probed = None
    if prim.name in _STACKED:
        probed = _stacked(trace, prim, outs, args, deps)
    if probed is None and (trace.local or prim.name in _MULTILINEAR) and sum(sizes) <= PROBE_INPUTS \
            and sum(sizes) * q_all <= PROBE_ENTRIES:
        probed = _probe(trace, prim, outs, args, deps, params, random=not trace.local)
    results = []
    for j, o in enumerate(outs):
        q = _size(np.shape(o))
        if probed is not None:
            r = probed[j]
        else:
            r = _dense(trace, [d for d in deps if d is not None], q, f"numpy {prim.name}")
        if r is not None and trace.hessian and (
                prim.name not in _MULTILINEAR or len(sizes) > 1):
            trace.meet(r, r)  # (a multilinear map of one traced argument is linear)
        results.append(r)
    return tuple(results) if prim.multiple_results else results[0]


def _probe(trace, prim, outs, args, deps, params, random: bool):
    """The pattern of a primitive's Jacobian, from one vector-mode JVP with a
    direction per traced input entry (at random values for a global pattern
    of a multilinear primitive, else at the point)."""
    from ..api import jvp
    traced = [i for i, d in enumerate(deps) if d is not None]
    rng = np.random.default_rng(0)
    points = []
    for i in traced:
        v = _plain(np.asarray(primal(args[i])))
        if random:
            v = rng.standard_normal(v.shape) + (1j * rng.standard_normal(v.shape)
                                                if np.iscomplexobj(v) else 0)
        points.append(np.asarray(v, dtype=np.result_type(v, float)))
    sizes = [p.size for p in points]
    total = sum(sizes)
    tangents, start = [], 0
    for p in points:
        t = np.zeros((total, p.size), p.dtype)
        t[np.arange(start, start + p.size), np.arange(p.size)] = 1
        tangents.append(t.reshape((total,) + p.shape))
        start += p.size
    constants = [_plain(primal(a)) if isinstance(primal(a), np.ndarray) else primal(a)
                 for a in args]

    def call(*xs):
        full = list(constants)
        for i, x in zip(traced, xs):
            full[i] = x
        return prim(*full, **params)

    _, t_out = jvp(call, tuple(points), tuple(tangents), batched=True)
    t_outs = t_out if prim.multiple_results else (t_out,)
    together = np.concatenate(
        [d if d.shape[0] == max(dd.shape[0] for dd in (deps[i] for i in traced)) else
         np.concatenate([d, np.full((max(dd.shape[0] for dd in (deps[i] for i in traced))
                                     - d.shape[0], d.shape[1]), -1, d.dtype)])
         for d in (deps[i] for i in traced)], axis=1)
    results = []
    for o, t in zip(outs, t_outs):
        q = _size(np.shape(o))
        if t is None:
            results.append(None)
            continue
        nz = np.asarray(t).reshape(total, q) != 0
        src, dst = np.nonzero(nz)
        results.append(_link(together, dst, src, q) if src.size else None)
    return results


RULES = {
    "reshape": _reshape, "transpose": _transpose, "broadcast_to": _broadcast_to,
    "concatenate": _concatenate, "getitem": _getitem, "scatter_add": _scatter_add,
    "cast": _same,
    "sum": _reduction, "prod": _reduction, "max": _reduction, "min": _reduction,
    "l2norm": _reduction,
    "cumsum": _cumulative, "cumprod": _cumulative,
    "matmul": _matmul, "einsum": _einsum,
}


def _pad(trace, prim, out, args, deps, params):
    d = deps[0]
    shape = np.shape(primal(args[0]))
    return _flat(np.pad(_slots(d, shape), ((0, 0),) + tuple(params["pad_width"]),
                        mode="constant", constant_values=-1))


RULES["pad"] = _pad


# ---- entry points ---------------------------------------------------------------------------
def _check_x(x, where: str) -> np.ndarray:
    if isinstance(x, Box):
        raise TypeError(f"{where}: x is a value dualad is differentiating; sparsity "
                        "detection takes a plain float array")
    arr = np.asarray(x)
    if arr.dtype.kind not in "fc":
        raise TypeError(f"{where}: x has dtype {arr.dtype}; pass a float array "
                        "(for example np.asarray(x, dtype=float))")
    return arr


def trace_dependencies(f, x, *, local: bool = False, hessian: bool = False):
    """Run ``f`` on a Pattern of ``x``; returns ``(out, deps, trace)``: the
    output's primal, its sets (``(w, m)``, or None when it does not depend
    on x) and the finished trace (whose ``pairs`` a Hessian pattern reads)."""
    x = _check_x(x, "sparsity detection")
    n = x.size
    trace = SparsityTrace(n, local, hessian)
    value = np.array(x, copy=True)
    value.flags.writeable = False
    if not local:
        value = value.view(Tainted)
    box = Pattern(value, np.arange(n, dtype=trace.index_dtype).reshape(1, n), trace)
    try:
        out = f(box)
    finally:
        trace.active = False
    if isinstance(out, Pattern) and out._trace is trace:
        deps, value_out = out.deps, out._value
    elif isinstance(out, Box):
        raise TypeError("sparsity detection: f returned a value of another dualad "
                        "transformation; return an array computed from x")
    else:
        if isinstance(out, (tuple, list, dict)) or out is None:
            raise TypeError(f"sparsity detection: f returned {type(out).__name__}; "
                            "it must return one array (np.concatenate the parts)")
        value_out, deps = out, None
    value_out = _plain(np.asarray(value_out))
    if value_out.dtype.kind not in "fc":
        raise TypeError(f"sparsity detection: f returned an array of dtype "
                        f"{value_out.dtype}; its derivative is not defined")
    return value_out, deps, trace


def _sorted_sets(deps: np.ndarray) -> np.ndarray:
    """Each element's set in ascending order (a new ``(w, q)`` array).  Narrow
    sets are sorted by an odd-even transposition network on whole slots --
    ``w`` rounds of elementwise min/max over contiguous vectors, faster than
    sorting ``q`` tiny rows one by one."""
    w = deps.shape[0]
    if w > 12:
        return np.sort(deps, axis=0)
    slots = [deps[j].copy() for j in range(w)]
    for r in range(w):
        for j in range(r % 2, w - 1, 2):
            lo = np.minimum(slots[j], slots[j + 1])
            np.maximum(slots[j], slots[j + 1], out=slots[j + 1])
            slots[j] = lo
    return np.stack(slots) if slots else deps.copy()


def _deps_to_csr(deps, m: int, n: int) -> sp.csr_array:
    """The sets as the rows of a canonical boolean csr_array (sorted, no duplicates)."""
    if deps is None or not deps.shape[0]:
        return sp.csr_array((m, n), dtype=bool)
    rows = _sorted_sets(deps).T  # (m, w): each row's set in ascending order, -1 first
    if rows.shape[1] > 1:
        rows[:, 1:][rows[:, 1:] == rows[:, :-1]] = -1
    valid = rows >= 0
    indptr = np.zeros(m + 1, np.int64)
    np.cumsum(valid.sum(axis=1), out=indptr[1:])
    indices = rows[valid]  # row by row, ascending within each row
    index_dtype = np.int32 if max(n, indices.size) < 2 ** 31 - 1 else np.int64
    out = sp.csr_array((np.ones(indices.size, bool), indices.astype(index_dtype, copy=False),
                        indptr.astype(index_dtype, copy=False)), shape=(m, n))
    out.has_sorted_indices = True
    out.has_canonical_format = True
    return out


def jacobian_sparsity(f: Callable, x: Any, *, local: bool = False) -> sp.csr_array:
    """The sparsity pattern of the Jacobian of ``f`` at ``x``.

    Returns a boolean ``scipy.sparse.csr_array`` of shape ``(m, n)``, ``m =
    f(x).size`` and ``n = x.size`` (both flattened in C order): entry ``(i,
    j)`` is True when output ``i`` may depend on input ``j``.  The global
    pattern (``local=False``) holds for every ``x``; ``local=True`` gives
    the pattern at this ``x`` (see the module notes).  One pass of ``f``.

    >>> import numpy as np
    >>> from dualad.sparse import jacobian_sparsity
    >>> f = lambda x: x[1:] - x[:-1]
    >>> jacobian_sparsity(f, np.zeros(4)).toarray().astype(int).tolist()
    [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]]
    """
    out, deps, trace = trace_dependencies(f, x, local=local)
    return _deps_to_csr(deps, out.size, trace.n)


def hessian_sparsity(f: Callable, x: Any, *, local: bool = False) -> sp.csr_array:
    """The sparsity pattern of the Hessian of a scalar ``f`` at ``x``.

    Returns a symmetric boolean ``scipy.sparse.csr_array`` of shape ``(n,
    n)``: entry ``(i, j)`` is True when ``∂²f/∂x_i∂x_j`` may be nonzero.

    >>> import numpy as np
    >>> from dualad.sparse import hessian_sparsity
    >>> f = lambda x: np.sum(x[:-1] * x[1:]) + np.sum(np.sin(x[:1]))
    >>> hessian_sparsity(f, np.zeros(3)).toarray().astype(int).tolist()
    [[1, 1, 0], [1, 0, 1], [0, 1, 0]]
    """
    out, deps, trace = trace_dependencies(f, x, local=local, hessian=True)
    if out.size != 1:
        raise ValueError(f"hessian_sparsity: f must return a scalar; it returned shape "
                         f"{out.shape} (use jacobian_sparsity for a vector function)")
    n = trace.n
    # every pair met, slot by slot, as (smaller, larger): the upper triangle
    lows, highs = [np.empty(0, trace.index_dtype)], [np.empty(0, trace.index_dtype)]
    for a, b in trace.pairs:
        for i in range(a.shape[0]):
            for j in range(i if a is b else 0, b.shape[0]):
                r, c = a[i], b[j]
                ok = (r >= 0) & (c >= 0)
                r, c = r[ok], c[ok]
                lows.append(np.minimum(r, c))
                highs.append(np.maximum(r, c))
    rows, cols = np.concatenate(lows), np.concatenate(highs)
    upper = sp.csr_array((np.ones(rows.size, bool), (rows, cols)), shape=(n, n))
    upper.sum_duplicates()  # scipy's linear-time passes, no global sort
    both = (upper + upper.T).tocsr().astype(bool)
    both.sum_duplicates()
    both.sort_indices()
    return both
