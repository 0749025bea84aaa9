"""The public API is typed and its reference, docs/api.md, is current.

Every public function and method reachable from the ``__all__`` of
``dualad``, ``dualad.optimize``, ``dualad.sparse``, ``dualad.costs`` and
``dualad.testing`` annotates each parameter and its return type (found by
inspection, so a new function without hints fails here, by name).
docs/api.md is generated from the docstrings by ``python
tests/apidoc.py``; the test regenerates it and compares.
"""

from __future__ import annotations

import inspect
import pathlib

import pytest

import dualad
import importlib.util

_spec = importlib.util.spec_from_file_location(
    "apidoc", pathlib.Path(__file__).with_name("apidoc.py"))
_apidoc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_apidoc)

ROOT = pathlib.Path(__file__).resolve().parents[1]

TYPED_MODULES = ("dualad", "dualad.optimize", "dualad.sparse", "dualad.testing", "dualad.costs")

# Hints still missing ("module.function: parameter name"), each checked to be
# still missing: delete an entry when its hint is added.  Empty: every public
# function is annotated.
NOT_YET_TYPED: set = set()


def _missing(modules) -> list[str]:
    missing = []
    for qualname, func in _apidoc.public_callables(modules):
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            continue
        for name, param in sig.parameters.items():
            if name in ("self", "cls"):
                continue
            if param.annotation is inspect.Parameter.empty:
                missing.append(f"{qualname}: parameter {name}")
        if sig.return_annotation is inspect.Signature.empty and not isinstance(func, property):
            missing.append(f"{qualname}: return")
    return missing


def test_public_functions_are_annotated():
    missing = [m for m in _missing(TYPED_MODULES) if m not in NOT_YET_TYPED]
    assert not missing, "add type hints to: " + "; ".join(missing)


def test_the_list_of_missing_hints_is_current():
    stale = sorted(NOT_YET_TYPED - set(_missing(TYPED_MODULES)))
    assert not stale, f"these now have their hints: delete them from NOT_YET_TYPED: {stale}"


def test_the_inspection_finds_a_missing_hint():
    """The checker is not vacuous: it sees functions, methods and properties,
    and reports an unannotated one by name."""
    names = {q for q, _ in _apidoc.public_callables(("dualad",))}
    assert {"dualad.grad", "dualad.vmap", "dualad.GradientLinearization.hvp",
            "dualad.Replayed.__call__"} <= names
    import types
    fake = types.ModuleType("fake")

    def untyped(x, y: int = 0):
        return x
    fake.untyped = untyped
    fake.__all__ = ["untyped"]
    import sys
    sys.modules["fake"] = fake
    try:
        assert _missing(("fake",)) == ["fake.untyped: parameter x", "fake.untyped: return"]
    finally:
        del sys.modules["fake"]


def test_api_reference_is_current():
    path = ROOT / "docs" / "api.md"
    generated = _apidoc.render()
    current = path.read_text() if path.exists() else ""
    assert current == generated, ("docs/api.md is out of date with the docstrings: run "
                                  "`python tests/apidoc.py` to regenerate it")


def test_api_reference_covers_every_public_name():
    text = _apidoc.render()
    for module in _apidoc.MODULES:
        mod = __import__(module, fromlist=["__all__"])
        for name in mod.__all__:
            assert f"`{module}.{name}" in text, f"{module}.{name} missing from docs/api.md"
    assert "### `dualad.vmap(fn: Callable, in_axes: int | None | tuple | list | dict = 0" in text
