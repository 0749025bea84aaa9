"""Sparse Jacobians and Hessians: detect the pattern, colour it, evaluate compressed.

A Jacobian whose columns fall into ``c`` groups that share no row costs
``c`` JVPs instead of ``n``; a Hessian, ``c`` Hessian-vector products.
:mod:`~dualad.sparse.detect` finds the pattern by tracing ``f`` once,
:mod:`~dualad.sparse.coloring` groups the columns, and
:mod:`~dualad.sparse.evaluate` computes the compressed products and reads
the entries back into a ``scipy.sparse.csr_array``.

>>> import numpy as np, dualad.sparse as sparse
>>> f = lambda x: x[1:] ** 2 - x[:-1]
>>> sparse.jacobian_sparsity(f, np.ones(4)).nnz
6
>>> J = sparse.jacobian(f, np.arange(4.0))
>>> J.toarray().tolist()
[[-1.0, 2.0, 0.0, 0.0], [0.0, -1.0, 4.0, 0.0], [0.0, 0.0, -1.0, 6.0]]
"""

from .coloring import (DenseRowError, Recovery, check_column_coloring, check_star_coloring,
                       column_coloring, column_recovery, recover_columns, recover_rows,
                       recover_star, row_coloring, row_recovery, seeds, star_coloring,
                       star_recovery)
from .detect import BranchOnValue, hessian_sparsity, jacobian_sparsity
from .evaluate import SparseHessian, SparseJacobian, as_pattern, hessian, jacobian

__all__ = ["jacobian_sparsity", "hessian_sparsity", "BranchOnValue",
           "jacobian", "hessian", "SparseJacobian", "SparseHessian", "as_pattern",
           "column_coloring", "row_coloring", "star_coloring",
           "check_column_coloring", "check_star_coloring",
           "seeds", "recover_columns", "recover_rows", "recover_star",
           "Recovery", "column_recovery", "row_recovery", "star_recovery", "DenseRowError"]
