"""The table of primitives, in sections.

Each NumPy/SciPy function is declared once, with its implementation, JVP
rule and VJP rule side by side, and registered for dispatch right where it
is declared, with the declaration API of :mod:`dualad.extend`.  Every module
of this package is a section (``SECTIONS``, imported in name order):
:mod:`.elementwise`, :mod:`.reductions`, :mod:`.shape`, :mod:`.linalg`,
:mod:`.spectral`, :mod:`.special`, :mod:`.numeric` and the others.

The invariant every rule keeps: it computes with NumPy calls on the values
it is handed -- which may be boxes of other transformations -- never on
raw ``primal()`` arrays (except to compute constants such as masks).
"""

from __future__ import annotations

import importlib
import pkgutil

from ..extend import Primitive

# every module of this package is a rule section: importing it registers its rules
SECTIONS = tuple(importlib.import_module(f"{__name__}.{info.name}")
                 for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name))

__all__ = ["all_primitives", "SECTIONS"]


def all_primitives() -> list:
    """Every primitive declared in the rule sections."""
    found = {}
    for module in SECTIONS:
        for value in vars(module).values():
            if isinstance(value, Primitive):
                found[id(value)] = value
    return list(found.values())
