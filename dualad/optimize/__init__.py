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
Work that depends only on ``x`` is done once per ``x``, and derivative code
is recorded once per run.  By default (``replay=True`` on :func:`minimize`,
:func:`least_squares`, :func:`root`, the helpers and the operators) every
derivative SciPy gets is a :func:`dualad.replay` program: recorded at the
first evaluation, then replayed at every iterate as one compiled function
of NumPy calls, with no boxes, dispatch or tape.  The value and gradient
are one replayed ``value_and_grad``; Hessian-vector products are a replayed
``hvp`` with ``x`` fixed (``fixed_argnums``: the primal and gradient part
runs once per iterate, each product only the tangent part), and ``matmat``
a batched (vector-mode) one; JVPs and VJPs of residuals likewise; dense
Hessians and Jacobians a replayed ``hessian``, ``jacfwd`` or ``jacrev``.
Extra ``args`` are bound into the programs (SciPy passes the same ones at
every call).  With ``replay=False`` each point is recorded on a tape
instead (:func:`dualad.linearize_grad`: ``f`` and its backward pass on one
tape; every product one forward tangent sweep over it, and ``matmat`` k
directions in one sweep), and the value, gradient and every product at one
iterate cost one recorded pass plus one sweep each.  Both paths give the
same iterates.

Under replay the objective must be pure
---------------------------------------
As for ``jax.jit``: ``fun`` (and residual and constraint functions) may
depend only on their arguments.  Side effects -- counting calls, printing,
appending to a list -- happen once per recording, not once per point, and
globals or closure arrays they read are captured as they were at the
recording (arrays copied).  Replay never gives a wrong result for code that
branches on values: a guard re-records when a branch changes.  Pass
``replay=False`` for impure objectives, or when recording costs more than it
saves (a function called once).  Derivative-free methods (Nelder-Mead,
Powell, COBYLA, COBYQA) call ``fun`` directly either way.

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
