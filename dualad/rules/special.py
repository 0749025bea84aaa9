"""scipy.special ufuncs, which reach dualad through ``__array_ufunc__`` like
NumPy's own, and SciPy's Python-level functions that cannot be traced.

``scipy.special.logsumexp``, ``softmax`` and ``log_softmax`` convert their
input with ``np.asarray``; calling them on a dualad value raises a
``TypeError`` naming the drop-in replacement in :mod:`dualad.scipy.special`.
"""

from __future__ import annotations

import numpy as np
import scipy.special as sp

from ..core import Primitive, elementwise, register

_SQRT_PI = np.sqrt(np.pi)


def _ufunc(ufunc, *derivs):
    prim = elementwise(ufunc.__name__, ufunc, *derivs)
    register(ufunc, prim)
    return prim


polygamma_p = elementwise(
    "polygamma", lambda x, n: sp.polygamma(n, x),
    lambda out, x, n: polygamma_p(x, n=n + 1))

expit = _ufunc(sp.expit, lambda out, x: out * (1 - out))
logit = _ufunc(sp.logit, lambda out, x: 1 / (x * (1 - x)))
erf = _ufunc(sp.erf, lambda out, x: (2 / _SQRT_PI) * np.exp(-x * x))
erfc = _ufunc(sp.erfc, lambda out, x: (-2 / _SQRT_PI) * np.exp(-x * x))
ndtr = _ufunc(sp.ndtr, lambda out, x: np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi))
log_ndtr = _ufunc(sp.log_ndtr, lambda out, x: np.exp(-0.5 * x * x - out) / np.sqrt(2 * np.pi))
gammaln = _ufunc(sp.gammaln, lambda out, x: sp.digamma(x))
digamma = _ufunc(sp.digamma, lambda out, x: polygamma_p(x, n=1))
register(sp.psi, digamma)
xlogy = _ufunc(sp.xlogy, lambda out, x, y: np.log(y), lambda out, x, y: x / y)
xlog1py = _ufunc(sp.xlog1py, lambda out, x, y: np.log1p(y), lambda out, x, y: x / (1 + y))
