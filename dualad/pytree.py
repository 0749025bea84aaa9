"""Pytrees: nested tuples, lists, dicts and namedtuples of arrays.

What this module lets you do
----------------------------
:func:`tree_flatten` lists a pytree's leaves in order, with its structure
(a :class:`TreeDef`); :func:`tree_unflatten` builds the pytree back.
:class:`Ravel` maps pytrees shaped like an example to one flat vector and
back (:func:`ravel_pytree` is the one-call form) -- what an optimiser that
works on vectors needs -- on plain arrays and on dualad's traced values
alike, so a function of the pytree can be differentiated with respect to
the vector.

The invariant
-------------
One structure gives one order of leaves: tuples, lists and namedtuples in
their order, dicts by the sorted ``repr`` of their keys; ``None`` is an
empty subtree and every other object is a leaf.  A TreeDef is never changed
after it is made, so one can be shared.  This module imports nothing of
dualad: ravel and unravel use only NumPy calls, which dispatch to dualad's
rules when the values are traced.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["TreeDef", "tree_flatten", "tree_unflatten", "Ravel", "ravel_pytree"]


class TreeDef:
    """The structure of a pytree: ``kind`` is 'leaf', 'none', tuple, list, dict
    or a namedtuple class."""

    __slots__ = ("kind", "keys", "children", "num_leaves")

    def __init__(self, kind, keys=None, children=()):
        self.kind = kind
        self.keys = keys
        self.children = children
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in children)

    def __eq__(self, other):
        return (isinstance(other, TreeDef) and self.kind == other.kind
                and self.keys == other.keys and self.children == other.children)

    def __repr__(self):
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        if self.kind is dict:
            return "{" + ", ".join(f"{k!r}: {c!r}" for k, c in zip(self.keys, self.children)) + "}"
        inner = ", ".join(map(repr, self.children))
        if self.kind is list:
            return f"[{inner}]"
        name = "" if self.kind is tuple else self.kind.__name__
        return f"{name}({inner},)"


_LEAF = TreeDef("leaf")
_NONE = TreeDef("none")
# The structures of tuples of up to 32 leaves, made once: the common case of
# every transformation's arguments.
_FLAT_TUPLES = tuple(TreeDef(tuple, None, (_LEAF,) * n) for n in range(33))


def tree_flatten(tree: Any) -> tuple[list, TreeDef]:
    """Leaves of a pytree, in order, and its structure.

    >>> import numpy as np
    >>> leaves, treedef = tree_flatten({"w": np.ones(2), "b": (0.5, None)})
    >>> leaves, treedef
    ([0.5, array([1., 1.])], {'b': (*, None,), 'w': *})
    """
    if type(tree) is tuple and all(type(x) is np.ndarray for x in tree):
        # the common case (a tuple of arrays), without the walk
        n = len(tree)
        return list(tree), (_FLAT_TUPLES[n] if n < len(_FLAT_TUPLES)
                            else TreeDef(tuple, None, (_LEAF,) * n))
    leaves: list = []
    return leaves, _walk(tree, leaves)


# Module-level recursion on purpose: a nested recursive closure would form a
# reference cycle holding the leaves (and with them a whole tape) until the
# cyclic garbage collector ran.
def _walk(node, leaves):
    if node is None:
        return _NONE
    if type(node) in (tuple, list):
        return TreeDef(type(node), None, tuple(_walk(c, leaves) for c in node))
    if isinstance(node, tuple) and hasattr(node, "_fields"):  # namedtuple
        return TreeDef(type(node), None, tuple(_walk(c, leaves) for c in node))
    if isinstance(node, dict):
        keys = tuple(sorted(node, key=repr))
        return TreeDef(dict, keys, tuple(_walk(node[k], leaves) for k in keys))
    leaves.append(node)
    return _LEAF


def tree_unflatten(treedef: TreeDef, leaves: Sequence) -> Any:
    """Inverse of :func:`tree_flatten`.

    >>> tree_unflatten(tree_flatten({"a": 1.0, "b": [2.0]})[1], [3.0, 4.0])
    {'a': 3.0, 'b': [4.0]}
    """
    return _build(treedef, iter(leaves))


def _build(td, it):
    if td.kind == "leaf":
        return next(it)
    if td.kind == "none":
        return None
    children = [_build(c, it) for c in td.children]
    if td.kind is dict:
        return dict(zip(td.keys, children))
    if td.kind not in (tuple, list):  # a namedtuple
        return td.kind(*children)
    return td.kind(children)


# ---- one flat vector ----------------------------------------------------------------
def _shape(x) -> tuple:
    """The shape of an array, a scalar or a dualad value (whose ``.shape``
    does not convert it)."""
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else np.shape(x)


def _dtype(x) -> np.dtype:
    dtype = getattr(x, "dtype", None)
    return np.dtype(dtype) if dtype is not None else np.result_type(x)


class Ravel:
    """The map between pytrees shaped like ``example`` and one flat vector.

    The vector holds the leaves one after another, each flattened in C
    order, in :func:`tree_flatten`'s order of leaves; its dtype is NumPy's
    promotion of the leaves' dtypes.  ``example`` fixes the structure and
    the leaves' shapes; its values are not kept.

    >>> import numpy as np
    >>> layout = Ravel({"w": np.zeros((2, 2)), "b": 0.0})
    >>> layout.size, layout.shapes
    (5, ((), (2, 2)))
    >>> layout.ravel({"w": np.ones((2, 2)), "b": 0.5}).tolist()
    [0.5, 1.0, 1.0, 1.0, 1.0]
    >>> layout.unravel(np.arange(5.0))["w"].tolist()
    [[1.0, 2.0], [3.0, 4.0]]

    A function of the pytree, seen as a function of the vector, can be
    differentiated:

    >>> import dualad as ad
    >>> loss = lambda p: np.sum(p["w"] ** 2) + 3 * p["b"]
    >>> ad.grad(lambda z: loss(layout.unravel(z)))(np.ones(5)).tolist()
    [3.0, 2.0, 2.0, 2.0, 2.0]
    """

    __slots__ = ("treedef", "shapes", "offsets", "dtype", "size")

    def __init__(self, example):
        leaves, self.treedef = tree_flatten(example)
        self.shapes = tuple(_shape(leaf) for leaf in leaves)
        sizes = [int(np.prod(s, dtype=np.int64)) for s in self.shapes]
        self.offsets = tuple(np.cumsum([0] + sizes).tolist())
        self.dtype = np.result_type(*[_dtype(leaf) for leaf in leaves]) if leaves \
            else np.dtype(np.float64)
        self.size = self.offsets[-1]

    def ravel(self, tree):
        """The flat vector of a pytree shaped like the example."""
        leaves, treedef = tree_flatten(tree)
        if treedef != self.treedef:
            raise ValueError(f"expected a pytree of structure {self.treedef}, got {treedef}")
        for i, (leaf, shape) in enumerate(zip(leaves, self.shapes)):
            if _shape(leaf) != shape:
                raise ValueError(f"leaf {i} has shape {_shape(leaf)}; expected {shape}")
        if len(leaves) == 1:
            return np.reshape(leaves[0], (-1,))
        if not leaves:
            return np.zeros(0, self.dtype)
        return np.concatenate([np.reshape(leaf, (-1,)) for leaf in leaves])

    def unravel(self, flat):
        """The pytree of a flat vector (traced or not): views of it where
        NumPy gives views; a single 1-d leaf is the vector itself."""
        if _shape(flat) != (self.size,):
            raise ValueError(f"expected a vector of shape ({self.size},), got {_shape(flat)}")
        if len(self.shapes) == 1:
            shape = self.shapes[0]
            leaf = flat if len(shape) == 1 else np.reshape(flat, shape)
            return tree_unflatten(self.treedef, [leaf])
        offsets = self.offsets
        leaves = [np.reshape(flat[a:b], s)
                  for a, b, s in zip(offsets[:-1], offsets[1:], self.shapes)]
        return tree_unflatten(self.treedef, leaves)


def ravel_pytree(tree) -> tuple[np.ndarray, Callable]:
    """``tree``'s leaves as one flat vector, and the function that makes a
    pytree shaped like ``tree`` from such a vector (:class:`Ravel`).

    >>> import numpy as np
    >>> flat, unravel = ravel_pytree((np.ones(2), {"s": 3.0}))
    >>> flat.tolist(), float(unravel(flat + 1)[1]["s"])
    ([1.0, 1.0, 3.0], 4.0)
    """
    layout = Ravel(tree)
    return layout.ravel(tree), layout.unravel
