"""scipy.special ufuncs, which reach dualad through ``__array_ufunc__`` like
NumPy's own, and SciPy's Python-level functions that cannot be traced.

``scipy.special.logsumexp``, ``softmax`` and ``log_softmax`` convert their
input with ``np.asarray``; calling them on a dualad value raises a
``TypeError`` naming the drop-in replacement in :mod:`dualad.scipy.special`.

Derivative constants are Python floats (weakly typed in NumPy), so a
float32 computation keeps float32 tangents and cotangents.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sp

from ..core import is_complex, primal
from ..extend import elementwise, refuse, register

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _ufunc(ufunc, *derivs):
    prim = elementwise(ufunc.__name__, ufunc, *derivs)
    register(ufunc, prim)
    return prim


def _polygamma(x, n):
    # sp.polygamma computes in float64 whatever x's precision: keep x's float dtype.
    out = sp.polygamma(n, x)
    dtype = np.result_type(x)
    return out if dtype.kind != "f" or np.result_type(out) == dtype else np.asarray(out, dtype)


polygamma_p = elementwise(
    "polygamma", _polygamma,
    lambda out, x, n: polygamma_p(x, n=n + 1))


def _safe_where_both_zero(x, y, at):
    """``y`` with 1 where ``x == 0`` and ``y == at``: there x * log(y - at + 1)
    is 0 for every y, so its derivative in y is 0, not 0/0."""
    both = (primal(x) == 0) & (primal(y) == at)
    return np.where(both, at + 1.0, y) if np.any(both) else y


expit = _ufunc(sp.expit, lambda out, x: out * (1 - out))
logit = _ufunc(sp.logit, lambda out, x: 1 / (x * (1 - x)))
erf = _ufunc(sp.erf, lambda out, x: _TWO_OVER_SQRT_PI * np.exp(-x * x))
erfc = _ufunc(sp.erfc, lambda out, x: -_TWO_OVER_SQRT_PI * np.exp(-x * x))
ndtr = _ufunc(sp.ndtr, lambda out, x: np.exp(-0.5 * x * x) * _INV_SQRT_2PI)
log_ndtr = _ufunc(sp.log_ndtr, lambda out, x: np.exp(-0.5 * x * x - out) * _INV_SQRT_2PI)
gammaln = _ufunc(sp.gammaln, lambda out, x: sp.digamma(x))
digamma = elementwise("digamma", sp.digamma, lambda out, x: polygamma_p(x, n=1))


def _digamma(x, **kwargs):
    """scipy.special.digamma (psi) of real arguments: its derivative, the
    polygamma function, has no complex implementation in SciPy."""
    if is_complex(x):
        refuse("scipy.special.digamma (psi)", "x", "its derivative (polygamma) is real-only in "
               "SciPy, so complex arguments cannot be differentiated")
    return digamma(x, **kwargs)


register(sp.digamma, _digamma)
register(sp.psi, _digamma)
xlogy = _ufunc(sp.xlogy, lambda out, x, y: np.log(y),
               lambda out, x, y: x / _safe_where_both_zero(x, y, 0.0))
xlog1py = _ufunc(sp.xlog1py, lambda out, x, y: np.log1p(y),
                 lambda out, x, y: x / (1 + _safe_where_both_zero(x, y, -1.0)))
