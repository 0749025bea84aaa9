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
import scipy.special
from scipy.special import (digamma, erf, erfc, expit, gammaln, log_ndtr,  # noqa: F401
                           logit, ndtr, xlog1py, xlogy)

from ..core import lowest, Box, concrete, is_complex, primal
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
    """``log(sum(b * exp(a), axis))``, computed stably; SciPy's signature and
    values (``scipy.special.logsumexp`` of SciPy 1.17).

    ``a`` and ``b`` are broadcast together and both differentiated.  As in
    SciPy: an entry with ``b == 0`` adds nothing, even where ``a`` is
    infinite or NaN (its derivative is exactly 0); a negative sum is NaN
    unless ``return_sign=True``, which returns ``(log|sum|, sign)`` with the
    sign (``+1``, ``0``, ``-1``, or the phase ``sum/|sum|`` for complex
    input) a constant; an empty reduction is ``-inf``.  For complex ``a`` (or
    ``b``) the imaginary part lies in ``(-pi, pi]``.  Where the result is not
    finite (a zero sum: ``-inf``; an infinite entry: ``inf``; a negative sum:
    NaN) it is SciPy's value with derivative 0 (docs/kinks.md).
    """
    a = a if isinstance(a, Box) else np.asarray(a)
    if b is not None:
        b = b if isinstance(b, Box) else np.asarray(b)
        shape = np.broadcast_shapes(np.shape(primal(a)), np.shape(primal(b)))
        if np.shape(primal(a)) != shape:
            a = np.broadcast_to(a, shape)
        if np.shape(primal(b)) != shape:
            b = np.broadcast_to(b, shape)
    if np.ndim(primal(a)) == 0:
        a = np.reshape(a, (1,))
        b = None if b is None else np.reshape(b, (1,))
    if np.issubdtype(np.result_type(primal(a)), np.integer) or np.result_type(primal(a)) == bool:
        a = a * 1.0
    raw_a = lowest(a)
    if raw_a.size == 0:
        with np.errstate(divide="ignore"):
            return scipy.special.logsumexp(raw_a, axis=axis, b=None if b is None else primal(b),
                                           keepdims=keepdims, return_sign=return_sign)
    excluded = None if b is None else lowest(b) == 0
    kept = raw_a if excluded is None else np.where(excluded, -np.inf, raw_a)
    # the shift: the largest real part of the entries that count, a constant
    # (the result does not depend on it)
    m = np.max(np.real(kept), axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    if excluded is not None and np.any(excluded):
        # an entry with b = 0 adds 0 but keeps its derivative in b, exp(a - m)/sum,
        # unless a is not finite or that would overflow: then it is left out
        with np.errstate(invalid="ignore"):
            out_of_reach = excluded & ~(np.real(raw_a) - m < 700)
        if np.any(out_of_reach):
            a = np.where(out_of_reach, -np.inf, a)
    e = np.exp(a - m)
    if b is not None:
        e = b * e
    s = np.sum(e, axis=axis, keepdims=True)
    raw_s = lowest(s)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        direct = np.log(np.abs(raw_s) if return_sign or not np.iscomplexobj(raw_s) else raw_s) + m
        if not return_sign and not np.iscomplexobj(raw_s):
            direct = np.where(raw_s < 0, np.nan, direct)
    finite = np.isfinite(direct)
    safe_s = np.where(finite, s, 1.0)
    if return_sign or not np.iscomplexobj(raw_s):
        out = np.log(np.abs(safe_s)) + m
    else:
        out = np.log(safe_s) + m
    out = np.where(finite, out, direct)
    if return_sign:
        with np.errstate(invalid="ignore"):
            sign = (np.sign(raw_s) if not np.iscomplexobj(raw_s)
                    else np.where(raw_s == 0, 0.0, raw_s / np.abs(np.where(raw_s == 0, 1.0, raw_s))))
    if not keepdims:
        out = np.squeeze(out, axis=axis)
        if return_sign:
            sign = np.squeeze(sign, axis=axis)
    if return_sign:
        return out, sign[()] if np.ndim(sign) == 0 else sign
    return out


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
    if np.any(concrete(a) <= 0.5 * (d - 1)):
        raise ValueError(f"condition a ({primal(a)}) > 0.5 * (d-1) ({0.5 * (d - 1)}) not met")
    res = d * (d - 1) * 0.25 * np.log(np.pi)
    for j in range(int(d)):
        res = res + gammaln(a - 0.5 * j)
    return res


for _name in ("logsumexp", "softmax", "log_softmax", "polygamma", "multigammaln"):
    register_replacement(f"scipy.special.{_name}", f"dualad.scipy.special.{_name}")
