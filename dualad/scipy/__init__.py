"""Traceable versions of SciPy functions that dualad's values cannot pass through."""

from . import linalg, matrix_functions, special, stats  # noqa: F401
