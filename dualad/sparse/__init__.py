"""Sparse Jacobians and Hessians (issue #13). Placeholder until the lead's package lands."""

from dualad.sparse.coloring import *  # noqa: F401,F403
from dualad.sparse.coloring import __all__  # noqa: F401
