"""A drop-in for ``scipy.optimize.root`` with exact Jacobians.

What this module lets you do
----------------------------
Solve ``fun(x) = 0`` with SciPy's root finders, giving the methods that
use a Jacobian ("hybr", "lm": MINPACK's ``hybrj`` and ``lmder``) the exact
one from dualad instead of finite differences.

The invariant
-------------
MINPACK asks for the residuals at many trial points and for the Jacobian
only at some of them, so SciPy's ``jac=True`` form (a Jacobian at every
residual evaluation) would waste work.  Instead (the same cache as
:func:`dualad.optimize.least_squares`) a residual evaluation is a plain
call of ``fun`` and the Jacobian a replayed ``jacfwd``/``jacrev`` program;
with ``replay=False``, each residual evaluation records ``fun``
(``linearize``) and the Jacobian at that point is read off the recording
in one batched tangent sweep, without calling ``fun`` again.  MINPACK's ``hybrj``/``lmder``
take dense Jacobians only, so the Jacobian here is dense.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.optimize as _so

from .flat import _Ravel
from .objective import _VectorFunction

# scipy.optimize.root's methods, lower case as SciPy matches them; the first
# two take a Jacobian.
ROOT_METHODS = ("hybr", "lm", "broyden1", "broyden2", "anderson", "linearmixing",
                "diagbroyden", "excitingmixing", "krylov", "df-sane")
_TAKES_JACOBIAN = ("hybr", "lm")


def root(fun: Callable, x0: Any, args: Any = (), method: str = "hybr",
         jac: Callable | bool | None = None,
         tol: float | None = None, callback: Callable | None = None,
         options: dict | None = None, *, replay: bool = True) -> _so.OptimizeResult:
    """Drop-in for ``scipy.optimize.root`` with exact Jacobians from dualad.

    For ``method="hybr"`` and ``"lm"`` with ``jac=None`` (the default), SciPy
    gets the exact dense Jacobian of ``fun``: with ``replay=True`` (the
    default) a :func:`dualad.replay` program of ``jacfwd`` or ``jacrev``,
    recorded once and replayed at each point; with ``replay=False`` (for an
    impure ``fun``, as in :func:`dualad.optimize.minimize`) read off the
    recording of the residual evaluation at the same point (``fun`` is not
    called again for it).  A ``jac`` you pass is used as given: a callable,
    ``True`` (``fun`` returns the residuals and the Jacobian) or ``False`` (SciPy's finite
    differences).  The other methods (the quasi-Newton "broyden1", ...,
    "krylov", "df-sane") use no Jacobian and get ``fun`` unchanged: SciPy's
    ``krylov`` method forms its Jacobian-vector products by finite
    differences inside its ``KrylovJacobian`` and takes no exact ones.

    ``x0`` may be an array of any shape or a pytree, as in
    :func:`dualad.optimize.minimize`: ``fun``, your ``jac`` and ``callback``
    receive ``x`` in its structure, ``fun`` may return any shape (it is
    flattened; it must hold as many numbers as ``x0``), ``result.x`` has
    x0's structure and ``result.x_flat`` is the flat vector.  Returns
    SciPy's ``OptimizeResult``; ``nfev`` counts the residual evaluations
    and ``njev`` the exact Jacobians.

    >>> import numpy as np
    >>> from dualad.optimize import root
    >>> def F(x):  # x0 ** 3 + x1 = 1, x1 ** 3 - x0 = -1
    ...     return np.stack([x[0] ** 3 + x[1] - 1.0, x[1] ** 3 - x[0] + 1.0])
    >>> res = root(F, np.array([0.5, 0.5]))
    >>> bool(res.success), bool(np.allclose(res.x, [1.0, 0.0], atol=1e-9))
    (True, True)
    """
    args = args if isinstance(args, tuple) else (args,)
    if not isinstance(method, str) or method.lower() not in ROOT_METHODS:
        raise ValueError(f"unknown method {method!r}; scipy.optimize.root methods are: "
                         f"{', '.join(ROOT_METHODS)}")
    key = method.lower()
    ravel = _Ravel(x0)

    if jac is None and key in _TAKES_JACOBIAN:
        vf = _VectorFunction(fun, ravel, args, replay)
        sp_fun, sp_jac = vf.value, vf.dense
    elif jac is True:
        def sp_fun(x):
            value, J = fun(ravel.unravel(x), *args)
            return np.reshape(value, (-1,)), np.asarray(J)
        sp_jac = True
    else:
        def sp_fun(x):
            return np.reshape(fun(ravel.unravel(x), *args), (-1,))
        sp_jac = (lambda x: np.asarray(jac(ravel.unravel(x), *args))) if callable(jac) \
            else jac

    sp_callback = callback
    if callback is not None and not ravel.is_flat:
        def sp_callback(x, f):
            return callback(ravel.unravel_result(x), f)

    res = _so.root(sp_fun, ravel.x0, method=method, jac=sp_jac, tol=tol,
                   callback=sp_callback, options=options)
    res.x_flat = res.x
    res.x = ravel.unravel_result(res.x)
    return res
