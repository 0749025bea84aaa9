"""The table of primitives, in sections.

Each NumPy/SciPy function is declared once, with its implementation, JVP
rule and VJP rule side by side, and registered for dispatch right where it
is declared, with the declaration API of :mod:`dualad.extend`.  Sections:
:mod:`.elementwise`, :mod:`.reductions`, :mod:`.shape`, :mod:`.linalg`,
:mod:`.special`, :mod:`.statistics`, :mod:`.numeric`.

The invariant every rule keeps: it computes with NumPy calls on the values
it is handed -- which may be boxes of other transformations -- never on
raw ``primal()`` arrays (except to compute constants such as masks).
"""

from __future__ import annotations

from ..extend import Primitive
from . import elementwise, fft, linalg, numeric, reductions, shape, special, statistics  # noqa: F401  (registration)

__all__ = ["all_primitives"]


def all_primitives() -> list:
    """Every primitive declared in the rule sections."""
    found = {}
    for module in (elementwise, reductions, shape, linalg, special, fft, statistics, numeric):
        for value in vars(module).values():
            if isinstance(value, Primitive):
                found[id(value)] = value
    return list(found.values())
