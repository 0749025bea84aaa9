"""Batching over a leading axis: :func:`vmap`.

What this module lets you do
----------------------------
``vmap(fn, in_axes, out_axes)`` is ``fn`` mapped over an axis of its
arguments (JAX's semantics for ``in_axes`` and ``out_axes``, over pytrees):
the results of the calls on each slice, stacked along ``out_axes``.

The invariant
-------------
A batch that is a batch of *directions* -- the tangents of a ``jvp``, the
cotangents of a ``vjp`` pullback, the tangents of a ``linearize``
``f_jvp`` -- is computed in ONE vector-mode pass; every other batch by a
loop over the mapped axis.  Both give the same numbers.

How vmap tells the two apart: it first calls ``fn`` once with a
:class:`Stacked` placeholder in place of each mapped leaf.  ``jvp``, a
pullback and an ``f_jvp`` accept placeholders as tangents or cotangents:
they run vector mode on the stacked values (the batch axis in front is the
vector-mode axis of directions) and hand back placeholders for the batched
results.  Anything else done to a placeholder -- arithmetic, a NumPy call,
``float()``, indexing, using it as a primal -- raises
:class:`NotVectorisable`, and vmap then runs the loop instead.  So ``fn``
may be called once, up to the first such use, before the loop: as with
JAX, a side effect of ``fn`` can happen once more than the batch size.

This module is the one place that knows the placeholder; :mod:`dualad.api`
imports it (same layer) so that its derivative maps recognise it.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np

from .pytree import TreeDef, tree_flatten, tree_unflatten

__all__ = ["vmap", "Stacked", "NotVectorisable"]



class NotVectorisable(TypeError):
    """A :class:`Stacked` placeholder was used other than as a tangent or a
    cotangent: :func:`vmap` falls back to its loop."""


def _refuse(name: str):
    def method(self, *args, **kwargs):
        raise NotVectorisable(f"vmap: {name} of a mapped argument cannot go through vector mode")
    method.__name__ = name
    return method


class Stacked:
    """The stand-in for one mapped leaf while :func:`vmap` looks for a
    vector-mode pass: ``values`` holds the batch stacked on axis 0.

    Only ``jvp`` (as a tangent), a ``vjp`` pullback (as a cotangent) and a
    ``linearize`` ``f_jvp`` (as a tangent) accept it; every other use raises
    :class:`NotVectorisable`.
    """

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = values

    def __repr__(self):
        return f"<vmap placeholder for {np.shape(self.values)[0]} stacked values>"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)  # the protocols Python and NumPy probe for
        raise NotVectorisable(f"vmap: .{name} of a mapped argument cannot go through "
                              "vector mode")

    __array__ = _refuse("np.asarray")
    __array_ufunc__ = _refuse("a NumPy ufunc")
    __array_function__ = _refuse("a NumPy function")
    __hash__ = _refuse("hash")
    for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
                  "and", "or", "xor", "lshift", "rshift", "divmod"):
        locals()[f"__{_name}__"] = _refuse(f"operator {_name}")
        locals()[f"__r{_name}__"] = _refuse(f"operator {_name}")
    for _name in ("neg", "pos", "abs", "invert", "bool", "float", "int", "complex", "index",
                  "len", "iter", "getitem", "setitem", "contains", "eq", "ne", "lt", "le",
                  "gt", "ge", "round"):
        locals()[f"__{_name}__"] = _refuse(_name)
    del _name


def any_stacked(leaves: Sequence) -> bool:
    """Whether a list of tangent or cotangent leaves holds a placeholder."""
    return any(type(leaf) is Stacked for leaf in leaves)


def stacked_directions(leaves: Sequence, shapes: Sequence) -> tuple[list, int]:
    """Tangent leaves with placeholders replaced by their stacked values and
    the other leaves (unmapped directions) repeated along a new axis 0:
    leaves for vector mode, and the number of directions."""
    sizes = {np.shape(leaf.values)[0] for leaf in leaves if type(leaf) is Stacked}
    if len(sizes) != 1:
        raise NotVectorisable(f"vmap: placeholders of different batch sizes {sorted(sizes)}")
    (k,) = sizes
    out = [leaf.values if type(leaf) is Stacked
           else np.broadcast_to(leaf, (k,) + tuple(shape))
           for leaf, shape in zip(leaves, shapes)]
    return out, k


def placeholders(tree):
    """Each leaf of a vector-mode result (axis 0: the directions) as a
    placeholder."""
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [Stacked(v) for v in leaves])


# ---- in_axes and out_axes ------------------------------------------------------------
def _axes_of_leaves(prefix, tree, what: str) -> list:
    """One axis (int or None) per leaf of ``tree``, from ``prefix``: an int
    or None applies to a whole subtree; a container must match the tree's."""
    if prefix is None or (isinstance(prefix, (int, np.integer)) and not isinstance(prefix, bool)):
        return [None if prefix is None else int(prefix)] * tree_flatten(tree)[1].num_leaves
    if isinstance(prefix, bool) or not isinstance(prefix, (tuple, list, dict)):
        raise TypeError(f"vmap: {what} is {prefix!r}; an axis is an int or None "
                        "(or a tuple, list or dict of them matching the argument's structure)")
    if isinstance(prefix, dict):
        if not isinstance(tree, dict) or set(prefix) != set(tree):
            raise ValueError(f"vmap: {what} is a dict with keys {sorted(map(repr, prefix))}, "
                             f"but the value it describes is {_describe(tree)}; give one "
                             "axis for the whole value or a dict with the same keys")
        keys = tree_flatten(tree)[1].keys
        return [a for k in keys for a in _axes_of_leaves(prefix[k], tree[k], f"{what}[{k!r}]")]
    if not isinstance(tree, (tuple, list)) or len(tree) != len(prefix):
        raise ValueError(f"vmap: {what} is a {type(prefix).__name__} of {len(prefix)} "
                         f"axes, but the value it describes is {_describe(tree)}; give "
                         "one axis for the whole value or one per element")
    return [a for i, (p, t) in enumerate(zip(prefix, tree))
            for a in _axes_of_leaves(p, t, f"{what}[{i}]")]


def _describe(tree) -> str:
    if isinstance(tree, (tuple, list, dict)):
        return f"a {type(tree).__name__} of {len(tree)} elements"
    return f"a leaf of shape {np.shape(_plain(tree))}"


def _plain(x):
    """The value of a leaf for its shape (a dualad box reports its own shape)."""
    return x if hasattr(x, "shape") else np.asarray(x)


def _arg_name(fn, i: int) -> str:
    """``argument 1 (X)`` when fn's signature names it."""
    import inspect
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return f"argument {i} ({params[i].name})" if i < len(params) else f"argument {i}"


def _leaf_where(arg: str, treedef: TreeDef, j: int) -> str:
    return arg if treedef.kind == "leaf" else f"leaf {j} of {arg}"


def _normalise_in_axes(fn, in_axes, args) -> list:
    """Per argument, a list of (axis or None) per leaf, axes made non-negative,
    each checked against its leaf's rank."""
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)  # as JAX: a top-level list is one entry per argument
    if isinstance(in_axes, tuple):
        if len(in_axes) != len(args):
            raise ValueError(
                f"vmap: in_axes has {len(in_axes)} entries but the function was called with "
                f"{len(args)} positional argument(s); give one entry per argument (None for "
                "an argument that is not mapped), or one int for all of them")
        per_arg = in_axes
    else:
        per_arg = (in_axes,) * len(args)
    result = []
    for i, (axes_i, arg) in enumerate(zip(per_arg, args)):
        name = _arg_name(fn, i)
        axes = _axes_of_leaves(axes_i, arg, f"in_axes for {name}")
        result.append(_checked_axes(name, arg, axes))
    return result


def _checked_axes(name: str, arg, axes: list) -> list:
    leaves, treedef = tree_flatten(arg)
    checked = []
    for j, (ax, leaf) in enumerate(zip(axes, leaves)):
        if ax is not None:
            ndim = np.ndim(_plain(leaf))
            if not -ndim <= ax < ndim:
                raise ValueError(
                    f"vmap: in_axes maps {_leaf_where(name, treedef, j)} along axis {ax}, "
                    f"but it has rank {ndim} (shape {np.shape(_plain(leaf))}); a mapped "
                    "value needs that axis -- pass None in in_axes for a value that is "
                    "the same for the whole batch")
            ax %= ndim
        checked.append(ax)
    return checked


def _batch_size(named_args) -> int:
    """The common size of the mapped axes of ``(name, value, axes)`` triples."""
    sizes: dict = {}
    for name, arg, arg_axes in named_args:
        leaves, treedef = tree_flatten(arg)
        for j, (leaf, ax) in enumerate(zip(leaves, arg_axes)):
            if ax is not None:
                where = f"axis {ax} of {_leaf_where(name, treedef, j)}"
                sizes.setdefault(np.shape(_plain(leaf))[ax], []).append(where)
    if not sizes:
        raise ValueError("vmap: in_axes maps no argument (every axis is None); map at "
                         "least one argument, e.g. in_axes=0")
    if len(sizes) > 1:
        lines = "; ".join(f"size {n}: {', '.join(w)}" for n, w in sorted(sizes.items()))
        raise ValueError(f"vmap: the mapped axes have different sizes ({lines}); every "
                         "mapped axis must have the batch size")
    return next(iter(sizes))


# ---- the two ways to run ---------------------------------------------------------------
def _moved_to_front(arg, axes):
    leaves, treedef = tree_flatten(arg)
    return tree_unflatten(treedef, [leaf if ax in (None, 0) else np.moveaxis(leaf, ax, 0)
                                    for leaf, ax in zip(leaves, axes)])


def _with_leaves(arg, axes, mapped_leaf):
    """``arg`` with each mapped leaf (batch on axis 0) replaced by ``mapped_leaf(leaf)``."""
    leaves, treedef = tree_flatten(arg)
    return tree_unflatten(treedef, [leaf if ax is None else mapped_leaf(leaf)
                                    for leaf, ax in zip(leaves, axes)])


def _vector_mode(fn, front, kwargs):
    """fn called once with placeholders for the mapped leaves: the output's
    structure and, per leaf, (depends on the batch, value with the batch on
    axis 0 -- or the value itself when it does not depend on it)."""
    args = [_with_leaves(arg, axes, Stacked) for arg, axes in front]
    kw = {k: _with_leaves(v, axes, Stacked) for k, (v, axes) in kwargs.items()}
    leaves, treedef = tree_flatten(fn(*args, **kw))
    return treedef, [(True, leaf.values) if type(leaf) is Stacked else (False, leaf)
                     for leaf in leaves]


def _loop(fn, front, kwargs, size: int):
    """fn called on each slice: the output's structure, its leaves stacked
    on axis 0, and each call's leaves."""
    if size == 0:
        raise ValueError("vmap: the mapped axis has size 0, and fn does not go through "
                         "vector mode, so the structure of its output is unknown")
    treedef, per_element = None, []
    for b in range(size):
        pick = lambda leaf: leaf[b]  # noqa: E731
        args = [_with_leaves(arg, axes, pick) for arg, axes in front]
        kw = {k: _with_leaves(v, axes, pick) for k, (v, axes) in kwargs.items()}
        leaves, tree_b = tree_flatten(fn(*args, **kw))
        if treedef is not None and tree_b != treedef:
            raise ValueError(f"vmap: fn returned structure {tree_b} for batch element {b} "
                             f"but {treedef} for element 0; it must return the same "
                             "structure for every element")
        treedef = tree_b
        per_element.append(leaves)
    stacked = [(True, np.stack([leaves[j] for leaves in per_element]))
               for j in range(treedef.num_leaves)]
    return treedef, stacked, per_element


def _place(treedef, batched, out_axes, size: int, per_element=None):
    out_ax = _axes_of_leaves(out_axes, tree_unflatten(treedef, [0] * treedef.num_leaves),
                             "out_axes")
    leaves = []
    for j, ((is_batched, value), ax) in enumerate(zip(batched, out_ax)):
        where = "the output" if treedef.kind == "leaf" else f"output leaf {j}"
        if ax is None:
            if per_element is not None:
                first = per_element[0][j]
                if not all(np.array_equal(np.asarray(r[j]), np.asarray(first))
                           for r in per_element[1:]):
                    raise ValueError(f"vmap: out_axes is None for {where}, but it differs "
                                     "along the mapped axis; give it an axis")
                leaves.append(first)
            elif is_batched:
                raise ValueError(f"vmap: out_axes is None for {where}, but it depends on "
                                 "the mapped arguments; give it an axis")
            else:
                leaves.append(value)
            continue
        if not is_batched:
            value = np.broadcast_to(value, (size,) + np.shape(value))
        ndim = np.ndim(_plain(value))
        if not -ndim <= ax < ndim:
            raise ValueError(f"vmap: out_axes puts the batch of {where} on axis {ax}, but "
                             f"the batched result has rank {ndim}")
        leaves.append(value if ax % ndim == 0 else np.moveaxis(value, 0, ax))
    return tree_unflatten(treedef, leaves)


def vmap(fn: Callable, in_axes: int | None | tuple | list | dict = 0,
         out_axes: int | None | tuple | list | dict = 0) -> Callable:
    """``fn`` mapped over an axis of its arguments, as JAX's ``vmap``.

    ``in_axes``: an int (every positional argument mapped along that axis),
    None (not mapped), or a tuple with one entry per positional argument,
    each an int, None, or a pytree prefix of that argument (a tuple, list
    or dict of axes matching its structure).  Keyword arguments are mapped
    along axis 0.  Negative axes count from the end.  ``out_axes``: where
    the batch axis goes in each output leaf, an int or a pytree prefix of
    the output; None for an output that is the same for every element.

    Batches of directions take ONE vector-mode pass: ``fn`` passing its
    mapped arguments as the tangents of :func:`dualad.jvp`, the cotangents
    of a :func:`dualad.vjp` pullback, or the tangents of a
    :func:`dualad.linearize` ``f_jvp``:

    >>> import numpy as np, dualad as ad
    >>> x = np.array([0.5, 1.0])
    >>> ad.vmap(lambda t: ad.jvp(np.sin, (x,), (t,))[1])(np.eye(2)).tolist()
    [[0.8775825618903728, 0.0], [0.0, 0.5403023058681398]]
    >>> y, pullback = ad.vjp(lambda x: x ** 2, x)
    >>> ad.vmap(pullback)(np.eye(2))[0].tolist()
    [[1.0, 0.0], [0.0, 2.0]]

    Any other ``fn`` is run in a loop over the mapped axis and the results
    stacked (correct for any fn; as fast as the loop you would write).  To
    tell the two apart ``fn`` is first called once with placeholders (see
    :mod:`dualad.batching`), so it may run once more than the batch size.

    Per-example gradients: with the loss written over the batch (one loss
    per row of X), ``ad.jacrev(lambda p: losses(p, X))(p)`` is one tape
    and ONE backward pass pulling all B rows back -- the fast way.
    ``ad.vmap(ad.grad(loss), in_axes=(None, 0))(p, X)`` gives the same
    rows with one gradient per example (a loop):

    >>> loss = lambda p, x: np.sum(np.tanh(x @ p) ** 2)
    >>> p, X = np.array([0.1, -0.2]), np.arange(6.0).reshape(3, 2)
    >>> rows = ad.vmap(ad.grad(loss), in_axes=(None, 0))(p, X)
    >>> fast = ad.jacrev(lambda p: np.tanh(X @ p) ** 2)(p)
    >>> bool(np.allclose(rows, fast))
    True
    """
    if not callable(fn):
        raise TypeError(f"vmap: fn must be callable, not {type(fn).__name__}")

    @functools.wraps(fn)
    def mapped(*args, **kwargs):
        axes = _normalise_in_axes(fn, in_axes, args)
        kw_axes = {k: _checked_axes(f"keyword argument {k} (keywords are mapped along axis 0)",
                                    v, [0] * tree_flatten(v)[1].num_leaves)
                   for k, v in kwargs.items()}
        named = [(_arg_name(fn, i), a, ax) for i, (a, ax) in enumerate(zip(args, axes))]
        named += [(f"keyword argument {k}", v, kw_axes[k]) for k, v in kwargs.items()]
        size = _batch_size(named)
        front = [(_moved_to_front(a, ax), ax) for a, ax in zip(args, axes)]
        kw_front = {k: (v, kw_axes[k]) for k, v in kwargs.items()}
        per_element = None
        try:
            treedef, batched = _vector_mode(fn, front, kw_front)
        except Exception:
            # a placeholder was used other than as a direction (NotVectorisable,
            # possibly wrapped in another error), or fn failed on it: the loop
            # runs fn on the real values (and raises fn's own error, if any)
            treedef, batched, per_element = _loop(fn, front, kw_front, size)
        return _place(treedef, batched, out_axes, size, per_element)

    mapped.__name__ = f"vmap({getattr(fn, '__name__', 'fn')})"
    return mapped
