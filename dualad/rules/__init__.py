"""The table of primitives, in sections.

Each NumPy/SciPy function is declared once, with its implementation, JVP
rule and VJP rule side by side, and registered for dispatch right where it
is declared.  Sections: :mod:`.elementwise`, :mod:`.reductions`,
:mod:`.shape`, :mod:`.linalg`, :mod:`.special`.  This module also gives
boxed values the usual array methods (``x.sum()``, ``x.T``, ...).

The invariant every rule keeps: it computes with NumPy calls on the values
it is handed -- which may be boxes of other transformations -- never on
raw ``primal()`` arrays (except to compute constants such as masks).
"""

from __future__ import annotations

import numpy as np

from ..core import REPLACEMENTS, Box, Primitive, register
from . import elementwise, linalg, reductions, shape, special  # noqa: F401  (registration)
from .shape import astype, reshape, getitem  # noqa: F401

__all__ = ["all_primitives"]


def all_primitives() -> list:
    """Every primitive declared in the rule sections."""
    found = {}
    for module in (elementwise, reductions, shape, linalg, special):
        for value in vars(module).values():
            if isinstance(value, Primitive):
                found[id(value)] = value
    return list(found.values())


def _clip_method(x, min=None, max=None, out=None, **kwargs):
    """``ndarray.clip(min=None, max=None, out=None, **kwargs)``: either bound may
    be left out, as for arrays."""
    return np.clip(x, min, max, out=out, **kwargs)


def _method(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = getattr(fn, "__name__", "method")
    return method


def _reshape_method(self, *shape, order="C"):
    if len(shape) == 1 and not np.isscalar(shape[0]):
        shape = tuple(shape[0])
    return np.reshape(self, shape, order=order)


def _transpose_method(self, *axes):
    if len(axes) == 1 and (axes[0] is None or not np.isscalar(axes[0])):
        axes = axes[0]
    return np.transpose(self, axes if axes else None)


for _name, _fn in {
    "sum": np.sum, "mean": np.mean, "prod": np.prod, "max": np.max, "min": np.min,
    "var": np.var, "std": np.std, "cumsum": np.cumsum, "ravel": np.ravel,
    "squeeze": np.squeeze, "swapaxes": np.swapaxes, "dot": np.dot, "clip": _clip_method,
    "take": np.take, "repeat": np.repeat, "diagonal": np.diagonal, "trace": np.trace,
    "argmax": np.argmax, "argmin": np.argmin, "argsort": np.argsort, "round": np.round,
    "all": np.all, "any": np.any, "nonzero": np.nonzero, "conj": lambda x: x,
    "conjugate": lambda x: x, "copy": lambda x, order="C": np.copy(x, order=order),
    "flatten": lambda x, order="C": np.ravel(x, order=order), "astype": astype,
}.items():
    setattr(Box, _name, _method(_fn))
Box.reshape = _reshape_method
Box.transpose = _transpose_method
Box.T = property(lambda self: np.transpose(self))
Box.mT = property(lambda self: np.swapaxes(self, -1, -2))
Box.real = property(lambda self: self)
register(np.conjugate, elementwise.positive)

# np.full(shape, fill_value) converts fill_value with np.array before any
# dispatch can happen; the TypeError names the way out.
REPLACEMENTS[("numpy", "full")] = "fill_value * np.ones(shape) (or np.full_like)"
