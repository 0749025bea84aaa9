"""Sparse Jacobians and Hessians: detect the pattern, colour it, evaluate compressed.

>>> import numpy as np, dualad.sparse as sparse
>>> f = lambda x: x[1:] ** 2 - x[:-1]
>>> sparse.jacobian_sparsity(f, np.ones(4)).nnz
6
"""

from .detect import BranchOnValue, hessian_sparsity, jacobian_sparsity

__all__ = ["jacobian_sparsity", "hessian_sparsity", "BranchOnValue"]
