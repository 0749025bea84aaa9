"""Exact derivatives behind ``scipy.optimize``.

What this module lets you do
----------------------------
Hand SciPy's optimisers exact gradients, Hessian-vector products and
Jacobians of plain NumPy code, without writing any of them:

* :func:`minimize`, :func:`least_squares` and :func:`root` are drop-ins for
  their SciPy namesakes that supply, for the method chosen, everything it
  can use from automatic differentiation (AD); ``x0`` may be a pytree.
  ``least_squares(..., jac_sparsity="auto")`` and ``minimize(...,
  method="trust-constr", hess="sparse")`` hand SciPy exact *sparse*
  Jacobians and Hessians (:mod:`dualad.sparse`).
* :class:`HessianOperator` and :class:`JacobianOperator` are
  ``scipy.sparse.linalg.LinearOperator`` objects whose products are HVPs,
  JVPs and VJPs: the Hessian or Jacobian is never stored.
* :func:`fun_and_jac`, :func:`jac`, :func:`hess` and :func:`hessp` build the
  callables that plain ``scipy.optimize`` functions take.

>>> import numpy as np, scipy.optimize
>>> from dualad import optimize
>>> def rosen(x):
...     return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
>>> res = optimize.minimize(rosen, np.zeros(5), method="Newton-CG",
...                         options={"xtol": 1e-10})
>>> bool(np.allclose(res.x, 1.0))
True
>>> res = scipy.optimize.minimize(optimize.fun_and_jac(rosen), np.zeros(5), jac=True,
...                               hessp=optimize.hessp(rosen), method="trust-ncg", tol=1e-10)
>>> bool(np.allclose(res.x, 1.0))
True

The invariant
-------------
Work that depends only on ``x`` is done once per ``x``.  A Hessian operator
records the gradient computation at ``x`` on a tape once
(:func:`dualad.linearize_grad`: the values of
``linearize(value_and_grad(f), x)``, with ``f`` and its backward pass on one
tape rather than on two nested ones); every product is then one forward
tangent sweep over that tape, reusing the primal values and the derivative
factors of elementwise operations, and ``matmat`` pushes k directions in one
sweep (vector mode).  Inside :func:`minimize` the same recording also gives
the objective's value and gradient, keyed on ``x``, so value, gradient and
every product at one iterate cost one recorded pass plus one sweep each.

Conventions
-----------
* SciPy works on flat float vectors.  A pytree ``x0`` (dicts, tuples, lists
  of arrays) is flattened into one (a list or tuple of plain numbers is an
  array, as in SciPy); ``fun`` and constraint functions still
  receive the pytree, ``result.x`` comes back in ``x0``'s structure and
  ``result.x_flat`` is the flat vector.  The ``jac``, ``hess``, ``hessp``
  that SciPy sees refer to the flat vector.  ``minimize``'s ``bounds`` may
  follow ``x0``'s structure (a ``(min, max)`` pair at each leaf, or a pair
  ``(lb, ub)`` of pytrees like ``x0``) or be SciPy's flat forms.
* Integer entries of ``x0`` are converted to float64, as SciPy does;
  complex or non-numeric entries raise ``TypeError``.
* An objective returning more than one number raises ``ValueError`` (SciPy
  accepts any size-1 array as a scalar, and so does this module).
* NaN or inf values are handed to SciPy unchanged, which then behaves as
  documented for each method (e.g. a line-search failure, or
  ``least_squares``'s "Residuals are not finite in the initial point").

Modules
-------
Built on dualad's public API only, one concern each:
``flat`` (pytrees to SciPy's flat vectors and back, checks of what crosses),
``operators`` (:class:`HessianOperator`, :class:`JacobianOperator`),
``objective`` (the caches keyed on ``x`` that SciPy's callables share),
``sparse_functions`` (the same for exact sparse Jacobians and Hessians),
``drop_ins`` (:func:`minimize`, :func:`least_squares`, the callables for
plain ``scipy.optimize`` and the table of what each method can use) and
``roots`` (:func:`root`).
"""

from .drop_ins import (MINIMIZE_METHODS, SPARSE_HESSIAN_METHODS, fun_and_jac, hess, hessp,
                       jac, least_squares, minimize)
from .operators import HessianOperator, JacobianOperator
from .roots import ROOT_METHODS, root

__all__ = ["HessianOperator", "JacobianOperator", "minimize", "least_squares", "root",
           "fun_and_jac", "jac", "hess", "hessp", "MINIMIZE_METHODS", "ROOT_METHODS",
           "SPARSE_HESSIAN_METHODS"]
