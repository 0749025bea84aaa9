"""The layers point one way, read from the source with ``ast``.

dualad reads bottom to top (STYLE.md): core, then the extension API, the
rules, forward and reverse mode, the API, and what is built on the API.
Each module imports only modules of its own layer or below.  The tests here
parse every module under ``dualad/`` -- nothing is imported -- so a new
module must be given a layer in ``LAYERS`` before it can exist.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

import dualad

PACKAGE = pathlib.Path(dualad.__file__).parent

# Top-level module (or subpackage) of dualad -> its layer, lowest first.
# Modules that do not exist (yet) are harmless here.
LAYERS = {
    # core: what a primitive, a box and a level are; imports nothing of dualad above it
    "core": 0, "pytree": 0, "chain": 0, "observe": 0, "nan_safe": 0,
    # the extension API: declaring and registering primitives, derived rules
    "extend": 1,
    # the table of primitives
    "rules": 2, "scipy": 2, "custom": 2,
    # forward and reverse mode
    "forward": 3, "reverse": 3, "sweep": 3, "tape_memory": 3,
    # the transformations
    "api": 4, "batching": 4,
    # built on the public API
    "checkpoint": 5, "testing": 5, "allocator": 5, "sparse": 5, "staging": 5,
    "optimize": 6, "costs": 6, "problems": 6, "integrate": 6,
    # the package itself and its command line
    "__main__": 7, "__init__": 7,
}

# The one import that points up, and why; it must sit inside a function (it
# runs at call time, when every layer is loaded), never at module level.
UPWARD = {
    ("extend", "api"): "a rule derived by transposition runs reverse mode on the rule it has",
}


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer_key(module: str) -> str:
    """``rules`` for ``dualad.rules.shape``; ``__init__`` for the package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


MODULES = sorted(PACKAGE.rglob("*.py"))


def _imports(path: pathlib.Path):
    """(dualad module imported, line, inside a function) for every import
    statement of the file."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = ".".join(base[:len(base) - (node.level - 1)])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            targets = [base] if node.module else [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for target in targets:
            if target == "dualad" or target.startswith("dualad."):
                yield target, node.lineno, id(node) in in_function


def test_every_module_has_a_layer():
    missing = sorted(m for m in map(_module_name, MODULES) if _layer_key(m) not in LAYERS)
    assert not missing, f"give these modules a layer in LAYERS: {missing}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_imports_point_down(path):
    """core imports nothing above it; the rules nothing of forward, reverse or
    the API; forward and reverse not the API; the API not optimize or costs."""
    here = _layer_key(_module_name(path))
    wrong = []
    for target, line, in_function in _imports(path):
        there = _layer_key(target)
        if there not in LAYERS or LAYERS[there] <= LAYERS[here]:
            continue
        if (here, there) in UPWARD and in_function:
            continue
        wrong.append(f"line {line}: {target} (layer {LAYERS[there]} > {LAYERS[here]})")
    assert not wrong, f"{_module_name(path)} imports from above its layer: {wrong}"


def test_the_upward_import_is_used():
    """An exception nobody needs any more is deleted, not kept."""
    for here, there in UPWARD:
        found = [t for p in MODULES if _layer_key(_module_name(p)) == here
                 for t, _, _ in _imports(p) if _layer_key(t) == there]
        assert found, f"no import of {there} from {here}: remove it from UPWARD"


def _assignments(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target]):
                yield node, target


def test_box_interface_is_built_in_core():
    """No module outside core adds to Box (``Box.x = ...``, ``setattr(Box, ...)``):
    its whole interface is the class body."""
    found = []
    for path in MODULES:
        tree = ast.parse(path.read_text())
        for node, target in _assignments(tree):
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                    and target.value.id == "Box":
                found.append(f"{_module_name(path)}:{node.lineno}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id == "setattr" and node.args \
                    and isinstance(node.args[0], ast.Name) and node.args[0].id == "Box":
                found.append(f"{_module_name(path)}:{node.lineno}")
    assert not found, f"Box changed outside its class body: {found}"


HOOKS = {"accumulate", "linear_map", "add_into", "derivs", "residuals"}


def test_primitive_hooks_are_given_at_declaration():
    """Hooks are keyword arguments of Primitive(...), never attributes set
    afterwards (``sum_p.linear_map = ...``)."""
    found = []
    for path in MODULES:
        if path.name == "core.py":
            continue  # Primitive.__init__ stores them
        for node, target in _assignments(ast.parse(path.read_text())):
            if isinstance(target, ast.Attribute) and target.attr in HOOKS:
                found.append(f"{_module_name(path)}:{node.lineno} .{target.attr}")
    assert not found, f"primitive hooks attached after declaration: {found}"


def _mutable_global(value) -> bool:
    if isinstance(value, (ast.Dict, ast.List, ast.Set)):
        return not (value.keys if isinstance(value, ast.Dict) else value.elts)
    return (isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute))
            and (value.func.id if isinstance(value.func, ast.Name) else value.func.attr)
            in {"dict", "list", "set", "count", "local", "WeakKeyDictionary",
                "WeakValueDictionary", "defaultdict", "OrderedDict", "deque"})


def test_global_state_lives_in_core():
    """No module but core keeps a module-level table to fill (an empty dict,
    list or set, a counter, a thread-local) or rebinds a global: all of
    dualad's global state is in core's one documented section."""
    found = []
    for path in MODULES:
        if path.name == "core.py" and path.parent == PACKAGE:
            continue
        tree = ast.parse(path.read_text())
        for node in tree.body:
            value = getattr(node, "value", None)
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and value is not None \
                    and _mutable_global(value):
                found.append(f"{_module_name(path)}:{node.lineno}")
        found += [f"{_module_name(path)}:{n.lineno} global" for n in ast.walk(tree)
                  if isinstance(n, ast.Global)]
    assert not found, f"global state outside core: {found}"


def test_no_long_functions_in_the_core_of_the_library():
    """core, chain, forward, reverse and api stay readable: no function there
    is longer than 60 lines (a newcomer reads them in under an hour)."""
    long = []
    for name in ("core", "chain", "forward", "reverse", "api"):
        tree = ast.parse((PACKAGE / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 60:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert not long, long
