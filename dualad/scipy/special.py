"""Drop-in, differentiable versions of SciPy's Python-level special functions.

``scipy.special.logsumexp``, ``softmax`` and ``log_softmax`` convert their
input with ``np.asarray``, which a dualad value refuses (its derivative
would be lost).  These versions have SciPy's signatures and are written
with NumPy calls, so every mode and nesting goes through them -- as
``jax.scipy.special`` does for JAX.  The elementwise ufuncs (``expit``,
``erf``, ``gammaln``...) dispatch to dualad by themselves; they are
re-exported here for convenience.  ``polygamma`` and ``multigammaln`` are
Python functions in SciPy too (``np.asarray`` again): their versions here
are differentiable in ``x`` and ``a``.

>>> import numpy as np, dualad as ad
>>> from dualad.scipy.special import logsumexp
>>> ad.grad(logsumexp)(np.zeros(4)).tolist()   # the softmax of zeros
[0.25, 0.25, 0.25, 0.25]
"""

from __future__ import annotations

import numpy as np
from scipy.special import (digamma, erf, erfc, expit, gammaln, log_ndtr,  # noqa: F401
                           logit, ndtr, xlog1py, xlogy)

from ..core import Box, is_complex, primal
from ..extend import refuse, register_replacement
from ..rules.special import polygamma_p

__all__ = ["logsumexp", "softmax", "log_softmax", "polygamma", "multigammaln", "expit", "logit", "erf", "erfc",
           "gammaln", "digamma", "xlogy", "xlog1py", "ndtr", "log_ndtr"]


def _shift(a, axis):
    """The max over ``axis`` (kept dims) as a constant; a shift for stability.

    It is taken from the raw values on purpose: the result does not depend on
    the shift, so treating it as a constant keeps every derivative exact.
    """
    m = np.max(primal(a), axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0.0)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a), axis))``, computed stably; SciPy's signature."""
    m = _shift(a, axis)
    e = np.exp(a - m)
    if b is not None:
        e = b * e
    s = np.sum(e, axis=axis, keepdims=True)
    if return_sign:
        sign = np.sign(primal(s))
        out = np.log(np.abs(s)) + m
    else:
        out = np.log(s) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis)
        if return_sign:
            sign = np.squeeze(sign, axis=axis)
    return (out, sign) if return_sign else out


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x), axis)``, computed stably; SciPy's signature."""
    e = np.exp(x - _shift(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=None):
    """``x - logsumexp(x, axis)``, computed stably; SciPy's signature."""
    shifted = x - _shift(x, axis)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def polygamma(n, x):
    """The n-th derivative of digamma at ``x``; SciPy's signature.  ``n`` is
    a constant integer order (``n = 0`` is digamma); ``x`` is real."""
    if isinstance(n, Box):
        refuse("dualad.scipy.special.polygamma", "n", "the order is an integer, not differentiable")
    if is_complex(x):
        refuse("dualad.scipy.special.polygamma", "x", "SciPy's polygamma is real-only, so "
               "complex arguments cannot be differentiated")
    return polygamma_p(x, n=np.asarray(n))


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension ``d``; SciPy's
    signature: ``d(d-1)/4 log(pi) + sum_j gammaln(a - j/2)``, j = 0..d-1."""
    if isinstance(d, Box) or not np.isscalar(d) or np.floor(d) != d:
        raise ValueError("d should be a positive integer (dimension)")
    if np.any(primal(a) <= 0.5 * (d - 1)):
        raise ValueError(f"condition a ({primal(a)}) > 0.5 * (d-1) ({0.5 * (d - 1)}) not met")
    res = d * (d - 1) * 0.25 * np.log(np.pi)
    for j in range(int(d)):
        res = res + gammaln(a - 0.5 * j)
    return res


for _name in ("logsumexp", "softmax", "log_softmax", "polygamma", "multigammaln"):
    register_replacement(f"scipy.special.{_name}", f"dualad.scipy.special.{_name}")
