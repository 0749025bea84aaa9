"""Generate docs/api.md, the API reference, from dualad's docstrings.

``python tests/apidoc.py`` rewrites docs/api.md; tests/test_api_reference.py
regenerates it in memory and fails when the file differs.  One section per
public module (its ``__all__``, in order): each public function, class,
method and property with its signature and its full docstring, doctest
examples as code blocks.

Why a generated Markdown file and not Sphinx or MkDocs: the runtime
dependencies are NumPy and SciPy only and CI runs offline within about ten
minutes, so a docs build would add a tool to install and a step that can
fail for reasons unrelated to the code; a Markdown file renders where the
other docs/ pages do (on the forge, in an editor), is reviewed in the same
diff as the docstring that changed it, and its test runs in a second.  It
lives in tests/ (as coverage_table.py does) because it is a development
tool, not part of the installed package.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import sys
from typing import Callable, Iterator

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES = ("dualad", "dualad.testing", "dualad.optimize", "dualad.sparse", "dualad.costs")
SPECIAL = ("__init__", "__call__")


def _members(cls) -> Iterator[tuple[str, object]]:
    """A class's public methods and properties, its own and those inherited
    from dualad classes (not those of NumPy, SciPy or object)."""
    for name in sorted(dir(cls)):
        if name.startswith("_") and name not in SPECIAL:
            continue
        owner = next((k for k in cls.__mro__ if name in k.__dict__), None)
        if owner is None or not owner.__module__.startswith("dualad"):
            continue
        member = owner.__dict__[name]
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        if isinstance(member, property) or inspect.isfunction(member):
            yield name, member


def public_objects(modules=MODULES) -> Iterator[tuple[str, str, object]]:
    """(module, name, object) for every name in each module's ``__all__``."""
    for module in modules:
        mod = importlib.import_module(module)
        for name in mod.__all__:
            yield module, name, getattr(mod, name)


def public_callables(modules=MODULES) -> Iterator[tuple[str, Callable]]:
    """(qualified name, function) for every public function and method
    (a property's getter stands for the property)."""
    for module, name, obj in public_objects(modules):
        if inspect.isclass(obj):
            for member_name, member in _members(obj):
                func = member.fget if isinstance(member, property) else member
                yield f"{module}.{name}.{member_name}", func
        elif callable(obj):
            yield f"{module}.{name}", obj


class _Written:
    """An annotation shown as written in the source (not quoted as a string)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _unquoted(annotation):
    if annotation is inspect.Signature.empty:
        return annotation
    return _Written(annotation if isinstance(annotation, str)
                    else inspect.formatannotation(annotation))


def _signature(name: str, obj) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return name
    params = [p.replace(annotation=_unquoted(p.annotation)) for p in sig.parameters.values()]
    sig = sig.replace(parameters=params, return_annotation=_unquoted(sig.return_annotation))
    return f"{name}{sig}"


def _docstring(obj) -> str:
    """The docstring as Markdown: doctest examples fenced as Python."""
    doc = inspect.getdoc(obj) or "(no docstring)"
    out, in_code = [], False
    for line in doc.splitlines():
        starts = line.lstrip().startswith((">>>", "..."))
        if starts and not in_code:
            out.append("```python")
            in_code = True
        elif in_code and not line.strip():
            out.append("```")
            in_code = False
        out.append(line)
    if in_code:
        out.append("```")
    return "\n".join(out)


def _section(module: str, name: str, obj) -> list[str]:
    qual = f"{module}.{name}"
    if inspect.isclass(obj):
        kind = "exception" if issubclass(obj, BaseException) else "class"
        lines = [f"### `{_signature(qual, obj)}` ({kind})", "", _docstring(obj), ""]
        for member_name, member in _members(obj):
            if member_name == "__init__":
                continue  # its signature is the class's
            if isinstance(member, property):
                ret = _unquoted(inspect.signature(member.fget).return_annotation)
                hint = "" if ret is inspect.Signature.empty else f": {ret!r}"
                lines += [f"#### `{qual}.{member_name}{hint}` (property)", ""]
            else:
                lines += [f"#### `{_signature(f'{qual}.{member_name}', member)}`", ""]
            lines += [_docstring(member), ""]
        return lines
    if callable(obj):
        return [f"### `{_signature(qual, obj)}`", "", _docstring(obj), ""]
    return [f"### `{qual}`", "", f"A constant: `{obj!r}`.", ""]


def render() -> str:
    lines = ["# API reference", "",
             "Generated from the docstrings by `python tests/apidoc.py`; do not edit by hand "
             "(tests/test_api_reference.py checks that it is current).", ""]
    for module in MODULES:
        mod = importlib.import_module(module)
        summary = (inspect.getdoc(mod) or "").split("\n\n")[0]
        lines += [f"## `{module}`", "", summary, ""]
        for _, name, obj in public_objects((module,)):
            lines += _section(module, name, obj)
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    path = ROOT / "docs" / "api.md"
    path.write_text(render())
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
