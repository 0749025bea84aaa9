"""dualad.extend: the declaration API that every rule section and a user's own primitive use."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import dualad as ad
from dualad import core, extend
from dualad.rules import reductions, shape


def test_docstring_examples():
    result = doctest.testmod(extend, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 2
    assert result.failed == 0


def test_the_package_exports_the_extension_api():
    assert ad.Primitive is extend.Primitive is core.Primitive
    assert ad.elementwise is extend.elementwise and ad.register is extend.register


def test_a_primitive_with_one_rule_gets_the_other_from_extend():
    prim = ad.Primitive("cube", lambda x: x ** 3, vjp=(lambda g, out, x: 3 * g * x ** 2,))
    assert prim.jvp_rule is not None and core._RULE_DERIVATION is extend._derive_rule
    np.testing.assert_allclose(ad.jvp(prim, (np.array([2.0]),), (np.array([1.0]),))[1], [12.0])


def test_hooks_are_keyword_arguments_of_the_declaration():
    def accumulate(acc, g, out, x):
        return False

    prim = ad.Primitive("ident", lambda x: x, jvp=(lambda t, out, x: t,),
                        vjp=(lambda g, out, x: g,), accumulate=accumulate)
    assert prim.accumulate is accumulate and prim.linear_map is None and prim.add_into is None
    assert shape.getitem_p.accumulate is not None and shape.getitem_p.linear_map is not None
    assert shape.scatter_add_p.add_into is not None and reductions.sum_p.linear_map is not None


def test_ndarray_methods_register_as_box_methods():
    assert core.METHOD_RULES["__getitem__"] is shape.getitem
    assert core.METHOD_RULES["astype"] is shape.astype
    assert np.ndarray.__getitem__ not in core.FUNCTION_RULES


def test_register_replacement_names_the_way_out():
    assert core.REPLACEMENTS[("scipy.special", "logsumexp")] == "dualad.scipy.special.logsumexp"
    assert ("numpy", "full") in core.REPLACEMENTS
    with pytest.raises(TypeError, match="np.full_like"):
        ad.grad(lambda x: np.sum(np.full(3, x)))(1.0)
