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

from ..core import Box, is_complex, primal
from ..extend import elementwise, refuse, register

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2
_SQRT_2PI = math.sqrt(2 * math.pi)


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



# ---- gamma, beta and their kin -------------------------------------------------------
def _real_only(ufunc, prim, why):
    """Register ``prim`` for ``ufunc``, refusing complex arguments by name:
    ``why`` says which part of the derivative has no complex implementation."""
    label = f"scipy.special.{ufunc.__name__.lstrip('_')}"

    def implementation(*args, **kwargs):
        if is_complex(args[0]):
            refuse(label, "x", f"{why}, so complex arguments cannot be differentiated")
        return prim(*args, **kwargs)
    register(ufunc, implementation)
    return prim


_VIA_DIGAMMA = "its derivative uses digamma, whose own derivative (polygamma) is real-only in SciPy"
gamma = _real_only(sp.gamma, elementwise("gamma", sp.gamma, lambda out, x: out * sp.digamma(x)),
                   _VIA_DIGAMMA)
rgamma = _real_only(sp.rgamma, elementwise("rgamma", sp.rgamma,
                                           lambda out, x: -out * sp.digamma(x)), _VIA_DIGAMMA)
# loggamma of a real x < 0 is NaN in SciPy (its real part is gammaln): so is its derivative
loggamma = _real_only(sp.loggamma, elementwise(
    "loggamma", sp.loggamma,
    lambda out, x: np.where(np.isnan(primal(out)), np.nan, sp.digamma(x))), _VIA_DIGAMMA)
beta = _ufunc(sp.beta, lambda out, a, b: out * (sp.digamma(a) - sp.digamma(a + b)),
              lambda out, a, b: out * (sp.digamma(b) - sp.digamma(a + b)))
betaln = _ufunc(sp.betaln, lambda out, a, b: sp.digamma(a) - sp.digamma(a + b),
                lambda out, a, b: sp.digamma(b) - sp.digamma(a + b))

# ---- inverses of erf and of the normal distribution ------------------------------------
erfinv = _ufunc(sp.erfinv, lambda out, x: _SQRT_PI_OVER_2 * np.exp(out * out))
erfcinv = _ufunc(sp.erfcinv, lambda out, x: -_SQRT_PI_OVER_2 * np.exp(out * out))
ndtri = _ufunc(sp.ndtri, lambda out, x: _SQRT_2PI * np.exp(0.5 * out * out))
log_expit = _ufunc(sp.log_expit, lambda out, x: sp.expit(-x))

# ---- entropies and robust losses ---------------------------------------------------------
# entr(0) = 0 with derivative -log(0) - 1 = +inf, the one-sided limit; rel_entr
# and kl_div at x = 0 likewise; in y at x = y = 0 (value 0 for every y) 0.
entr = _ufunc(sp.entr, lambda out, x: -np.log(x) - 1)
rel_entr = _ufunc(sp.rel_entr, lambda out, x, y: np.log(x / y) + 1,
                  lambda out, x, y: -x / _safe_where_both_zero(x, y, 0.0))
kl_div = _ufunc(sp.kl_div, lambda out, x, y: np.log(x / y),
                lambda out, x, y: 1 - x / _safe_where_both_zero(x, y, 0.0))


def _inside(delta, r):
    return np.abs(primal(r)) <= primal(delta)


# huber(delta, r): r²/2 on the closed interval |r| <= delta, delta·(|r| - delta/2)
# outside; once differentiable, so at |r| = delta the second derivative is the
# inside one (docs/kinks.md).
huber = _ufunc(sp.huber,
               lambda out, delta, r: np.where(_inside(delta, r), 0.0, np.abs(r) - delta),
               lambda out, delta, r: np.where(_inside(delta, r), r, delta * np.sign(r)))


def _pseudo_huber_root(delta, r):
    return np.sqrt(1 + (r / delta) ** 2)


pseudo_huber = _ufunc(
    sp.pseudo_huber,
    lambda out, delta, r: 2 * out / delta - r * r / (delta * _pseudo_huber_root(delta, r)),
    lambda out, delta, r: r / _pseudo_huber_root(delta, r))


def _small(u):
    """Where ``|u| < 1e-2``: there a closed form cancels, and a series is used."""
    return np.abs(primal(u)) < 1e-2


def _boxcox_dlmbda(out, x, lmbda):
    # (x**lmbda·log x - out)/lmbda cancels for small lmbda·log x: there the
    # series sum_k L**(k+2) lmbda**k / ((k+2) k!), L = log x (its first terms
    # are exact enough for the second derivative too; at 0 the limit L²/2)
    log_x = np.log(x)
    u = lmbda * log_x
    series = log_x * log_x * (1 / 2 + u / 3 + u * u / 8 + u ** 3 / 30 + u ** 4 / 144)
    small = _small(u)
    lam = np.where(small, 1.0, lmbda)
    return np.where(small, series, (x ** lam * log_x - out) / lam)


def _inv_boxcox_dlmbda(out, y, lmbda):
    # d log(out)/d lmbda = (u/(1+u) - log1p(u))/lmbda², u = lmbda·y, cancels for
    # small u: there the series -y²/2 + 2uy²/3 - 3u²y²/4 + 4u³y²/5 - 5u⁴y²/6
    u = lmbda * y
    small = _small(u)
    lam = np.where(small, 1.0, lmbda)
    v = lam * y
    general = (v / (1 + v) - np.log1p(v)) / (lam * lam)
    series = y * y * (-1 / 2 + 2 * u / 3 - 3 * u * u / 4 + 4 * u ** 3 / 5 - 5 * u ** 4 / 6)
    return out * np.where(small, series, general)


boxcox = _ufunc(sp.boxcox, lambda out, x, lmbda: x ** (lmbda - 1), _boxcox_dlmbda)
inv_boxcox = _ufunc(sp.inv_boxcox, lambda out, y, lmbda: out / (1 + lmbda * y),
                    _inv_boxcox_dlmbda)


# ---- parameters without a closed-form derivative ---------------------------------------
def _constant_parameters(ufunc, prim, names, why, complex_why=None, last_name="z"):
    """Register ``prim`` for ``ufunc`` refusing a traced value, by name, for
    each of its leading parameters ``names``: their derivative has no closed
    form (``why``).  They are still taken as constants.  With ``complex_why``,
    a complex last argument (``last_name``) is refused too."""
    label = f"scipy.special.{ufunc.__name__.lstrip('_')}"

    def implementation(*args, **kwargs):
        for name, a in zip(names, args):
            if isinstance(a, Box):
                refuse(label, name, why)
        # dtype=complex casts every input; SciPy's loops keep these real ("dD->D")
        args = tuple(np.real(a) if i < len(names) and np.iscomplexobj(a) and not np.any(np.imag(a))
                     else a for i, a in enumerate(args))
        if complex_why and is_complex(args[-1]):
            refuse(label, last_name, f"{complex_why}, so complex arguments cannot be differentiated")
        return prim(*args, **kwargs)
    register(ufunc, implementation)
    return prim


_BESSEL_ORDER = ("the derivative in the order v has no closed form; only the argument "
                 "z is differentiated, so pass a constant order")
jv = _constant_parameters(sp.jv, elementwise(
    "jv", sp.jv, None, lambda out, v, z: (sp.jv(v - 1, z) - sp.jv(v + 1, z)) / 2),
    "v", _BESSEL_ORDER)
yv = _constant_parameters(sp.yv, elementwise(
    "yv", sp.yv, None, lambda out, v, z: (sp.yv(v - 1, z) - sp.yv(v + 1, z)) / 2),
    "v", _BESSEL_ORDER)
iv = _constant_parameters(sp.iv, elementwise(
    "iv", sp.iv, None, lambda out, v, z: (sp.iv(v - 1, z) + sp.iv(v + 1, z)) / 2),
    "v", _BESSEL_ORDER)
# ive = iv·exp(-|z|) for real z: a kink at z = 0, where sign gives 0 (docs/kinks.md)
ive = _constant_parameters(sp.ive, elementwise(
    "ive", sp.ive, None,
    lambda out, v, z: (sp.ive(v - 1, z) + sp.ive(v + 1, z)) / 2 - np.sign(z) * out),
    "v", _BESSEL_ORDER, "ive is not holomorphic (its factor exp(-|Re z|))")
kv = _constant_parameters(sp.kv, elementwise(
    "kv", sp.kv, None, lambda out, v, z: -(sp.kv(v - 1, z) + sp.kv(v + 1, z)) / 2),
    "v", _BESSEL_ORDER)
kve = _constant_parameters(sp.kve, elementwise(
    "kve", sp.kve, None, lambda out, v, z: out - (sp.kve(v - 1, z) + sp.kve(v + 1, z)) / 2),
    "v", _BESSEL_ORDER)

# integer orders 0 and 1, real arguments only (SciPy has no complex loops);
# the order-2 functions in the recurrences are the constant-order jv... above
j0 = _ufunc(sp.j0, lambda out, x: -sp.j1(x))
j1 = _ufunc(sp.j1, lambda out, x: (sp.j0(x) - sp.jv(2.0, x)) / 2)
y0 = _ufunc(sp.y0, lambda out, x: -sp.y1(x))
y1 = _ufunc(sp.y1, lambda out, x: (sp.y0(x) - sp.yv(2.0, x)) / 2)
i0 = _ufunc(sp.i0, lambda out, x: sp.i1(x))
i1 = _ufunc(sp.i1, lambda out, x: (sp.i0(x) + sp.iv(2.0, x)) / 2)
i0e = _ufunc(sp.i0e, lambda out, x: sp.i1e(x) - np.sign(x) * out)
i1e = _ufunc(sp.i1e, lambda out, x: (sp.i0e(x) + sp.ive(2.0, x)) / 2 - np.sign(x) * out)
k0 = _ufunc(sp.k0, lambda out, x: -sp.k1(x))
k1 = _ufunc(sp.k1, lambda out, x: -(sp.k0(x) + sp.kv(2.0, x)) / 2)
k0e = _ufunc(sp.k0e, lambda out, x: out - sp.k1e(x))
k1e = _ufunc(sp.k1e, lambda out, x: out - (sp.k0e(x) + sp.kve(2.0, x)) / 2)

# ---- incomplete gamma and beta functions, Hurwitz zeta -----------------------------------
_SHAPE = ("the derivative in a shape parameter has no closed form (it is a "
          "hypergeometric series); only x is differentiated, so pass constant shapes")


def _gamma_density(a, x):
    return np.exp((a - 1) * np.log(x) - x - sp.gammaln(a))


def _beta_density(a, b, x):
    return np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - sp.betaln(a, b))


gammainc = _constant_parameters(sp.gammainc, elementwise(
    "gammainc", sp.gammainc, None, lambda out, a, x: _gamma_density(a, x)), "a", _SHAPE)
gammaincc = _constant_parameters(sp.gammaincc, elementwise(
    "gammaincc", sp.gammaincc, None, lambda out, a, x: -_gamma_density(a, x)), "a", _SHAPE)
betainc = _constant_parameters(sp.betainc, elementwise(
    "betainc", sp.betainc, None, None, lambda out, a, b, x: _beta_density(a, b, x)),
    "ab", _SHAPE)
betaincc = _constant_parameters(sp.betaincc, elementwise(
    "betaincc", sp.betaincc, None, None, lambda out, a, b, x: -_beta_density(a, b, x)),
    "ab", _SHAPE)

# scipy.special.zeta(x, q) calls the ufunc _zeta: d/dq zeta(x, q) = -x·zeta(x + 1, q);
# the exponent x has no closed-form derivative.  (Riemann's zeta(x), one
# argument, is the ufunc _riemann_zeta, left without a rule: its only argument
# is the exponent.)
_zeta_ufunc = sp._ufuncs._zeta
hurwitz_zeta = _constant_parameters(_zeta_ufunc, elementwise(
    "zeta", _zeta_ufunc, None,
    # SciPy gives NaN for x < 1 (no continuation in q): the derivative too
    lambda out, x, q: np.where(np.isnan(primal(out)), np.nan, -x * _zeta_ufunc(x + 1, q))),
    "x", "the derivative in the exponent x has no closed form in SciPy; only q is "
    "differentiated, so pass a constant exponent",
    "SciPy's zeta has no complex loop in q", last_name="q")
