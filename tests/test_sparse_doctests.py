"""The examples in dualad.sparse's docstrings run and print what they say."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["dualad.sparse", "dualad.sparse.detect",
                                    "dualad.sparse.coloring", "dualad.sparse.evaluate"])
def test_docstring_examples(module):
    failures, tried = doctest.testmod(importlib.import_module(module))
    assert tried > 0, f"{module} has no examples"
    assert failures == 0
