"""dualad.pytree: flatten/unflatten, and one flat vector for a pytree of arrays."""

from __future__ import annotations

import doctest
from collections import namedtuple

import numpy as np
import pytest

import dualad as ad
from dualad import pytree
from dualad.pytree import Ravel, TreeDef, ravel_pytree, tree_flatten, tree_unflatten

Pair = namedtuple("Pair", "a b")


def test_docstring_examples():
    result = doctest.testmod(pytree, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 5
    assert result.failed == 0


def test_api_re_exports_the_pytree_functions():
    assert ad.tree_flatten is tree_flatten and ad.tree_unflatten is tree_unflatten


TREES = [
    np.arange(3.0),
    2.5,
    (np.ones(2), np.zeros((2, 2))),
    [1.0, (2.0, None), {"b": np.ones(3), "a": -1.0}],
    Pair(np.ones(2), {"x": (3.0,)}),
    {},
]


@pytest.mark.parametrize("tree", TREES, ids=range(len(TREES)))
def test_flatten_unflatten_round_trip(tree):
    leaves, treedef = tree_flatten(tree)
    assert isinstance(treedef, TreeDef) and treedef.num_leaves == len(leaves)
    rebuilt = tree_unflatten(treedef, leaves)
    assert tree_flatten(rebuilt)[1] == treedef
    for x, y in zip(tree_flatten(rebuilt)[0], leaves):
        assert x is y


def test_dict_leaves_are_in_key_order_whatever_the_insertion_order():
    assert tree_flatten({"b": 1.0, "a": 2.0}) == tree_flatten({"a": 2.0, "b": 1.0})
    assert tree_flatten({"b": 1.0, "a": 2.0})[0] == [2.0, 1.0]


def test_flat_tuples_share_their_structure():
    a = tree_flatten((np.ones(1), np.ones(2)))[1]
    assert a is tree_flatten((np.zeros(3), np.zeros(4)))[1]
    long = tree_flatten(tuple(np.ones(1) for _ in range(40)))[1]  # past the shared ones
    assert long == tree_flatten(tuple([1.0] * 40))[1] and long.num_leaves == 40


@pytest.mark.parametrize("tree", TREES[:5], ids=range(5))
def test_ravel_unravel_round_trip(tree):
    layout = Ravel(tree)
    flat = layout.ravel(tree)
    assert flat.shape == (layout.size,) and flat.dtype == layout.dtype
    leaves = tree_flatten(tree)[0]
    assert layout.size == sum(np.size(leaf) for leaf in leaves)
    back = layout.unravel(flat)
    assert tree_flatten(back)[1] == tree_flatten(tree)[1]
    for x, y in zip(tree_flatten(back)[0], leaves):
        np.testing.assert_array_equal(x, y)
        assert np.shape(x) == np.shape(y)


def test_unravel_of_a_single_vector_is_the_vector_itself():
    z = np.arange(4.0)
    assert Ravel(np.zeros(4)).unravel(z) is z


def test_ravel_pytree_matches_ravel():
    tree = {"w": np.arange(6.0).reshape(2, 3), "b": 0.5}
    flat, unravel = ravel_pytree(tree)
    np.testing.assert_array_equal(flat, [0.5, 0, 1, 2, 3, 4, 5])
    assert unravel(flat)["w"].shape == (2, 3)


def test_gradient_through_unravel_is_the_raveled_gradient():
    params = {"w": np.array([[0.3, -1.2], [2.0, 0.5]]), "b": np.array([0.1, -0.4])}
    layout = Ravel(params)

    def loss(p):
        return np.sum(np.tanh(p["w"] @ p["b"]) ** 2) + np.sum(p["b"] ** 3)

    g_flat = ad.grad(lambda z: loss(layout.unravel(z)))(layout.ravel(params))
    np.testing.assert_allclose(g_flat, layout.ravel(ad.grad(loss)(params)), rtol=1e-13)
    hv = ad.hvp(lambda z: loss(layout.unravel(z)), layout.ravel(params), np.ones(layout.size))
    assert hv.shape == (layout.size,)


def test_ravel_of_traced_leaves_is_traced():
    layout = Ravel((np.ones(2), 1.0))
    g = ad.grad(lambda a, s: np.sum(layout.ravel((a, s)) ** 2), argnums=(0, 1))(
        np.array([1.0, 2.0]), 3.0)
    np.testing.assert_allclose(g[0], [2.0, 4.0])
    assert float(g[1]) == 6.0


def test_mismatches_are_errors():
    layout = Ravel({"a": np.ones(2), "b": 1.0})
    with pytest.raises(ValueError, match="structure"):
        layout.ravel({"a": np.ones(2)})
    with pytest.raises(ValueError, match="shape"):
        layout.ravel({"a": np.ones(3), "b": 1.0})
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        layout.unravel(np.ones(4))
