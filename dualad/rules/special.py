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

from ..core import lowest, Box, is_complex, primal
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

# xlogy: at x = 0 with a = 1 (x = 1 with b = 1) the density is finite, not 0·log 0
def _gamma_density(a, x):
    return np.exp(sp.xlogy(a - 1, x) - x - sp.gammaln(a))


def _beta_density(a, b, x):
    return np.exp(sp.xlogy(a - 1, x) + sp.xlog1py(b - 1, -x) - sp.betaln(a, b))


# ---- their derivatives in the shape parameters ----------------------------------------------
# SciPy computes P(a, x) = gammainc, Q = gammaincc and I_x(a, b) = betainc, and
# the value stays SciPy's.  The derivative in a shape parameter is that of a
# surrogate which equals the function to rounding: the power series of P
# where x < a + 1, the continued fraction of Q elsewhere (Numerical Recipes,
# 6.2), the continued fraction of I_x(a, b) where x < (a + 1)/(a + b + 2) and
# of 1 - I_{1-x}(b, a) elsewhere (6.4).  Each is carried together with its
# derivative in the parameter, term by term -- the series forwards, the
# fraction by backward recurrence -- with NumPy calls on the values given,
# so dualad differentiates that derivative again, to any order.
#
# The number of terms is one for all elements, taken from the raw values: the
# series until its terms fall below 1e-17 of the sum (plus 5), the fraction
# twice as deep as where its convergents settle (plus 10), measured at the
# shape shifted by 0.31 and by 0.69 -- at an integer shape the fraction ends
# early but its derivative does not.  Elements of the other region are
# evaluated at a harmless point (a = x = 1; a = 1, x = 2; a = b = 1, x = 1/4).
#
# Accuracy against 60-digit arithmetic (mpmath), on grids and random points:
# relative error below 3e-13 (gammainc) and 1e-11 (betainc) for a, b in
# [0.05, 300] and x anywhere in the support, results too small to be normal
# floats excepted (tests pin 1e-9 against Richardson extrapolation of SciPy's
# own function).  Larger shapes work too, at a cost growing as sqrt(a).
# Outside the function's domain (a <= 0, x < 0, NaN) the derivative is NaN;
# at x = 0 and x = inf (x = 0 and 1 for betainc), where the function is 0 or
# 1 for every shape, it is 0 (docs/kinks.md).
_EPS = 1e-17
_MAX_TERMS = 20000
_OFF_INTEGER = (0.31, 0.69)   # shifts of a shape: one of them is not near an integer


def _float_type(*args):
    """The arguments' float type (float32 stays float32), float64 for integers."""
    dtype = np.result_type(*(primal(v) for v in args))
    return dtype if dtype.kind == "f" else np.dtype(float)


def _series_terms(a, x):
    """How many terms the series of P(a, x) needs (raw values, x < a + 1)."""
    term, total, n = np.ones_like(x), np.ones_like(x), 0
    while not np.all(term <= _EPS * total):
        n += 1
        if n > _MAX_TERMS:
            _not_converged("gammainc")
        term = term * x / (a + n)
        total = total + term
    # the derivative's terms carry the factor H_n ~ log n: a few more
    return n + 5


def _not_converged(name):
    raise ArithmeticError(
        f"the derivative of scipy.special.{name} in its shape parameters did not converge in "
        f"{_MAX_TERMS} terms: dualad differentiates shapes up to about 1e6 (the cost grows as "
        "their square root); pass a constant shape for larger ones")


def _fraction_depth(a_coef, b_coef, shape, name):
    """Twice the number of convergents after which the continued fraction
    b_0 + a_1/(b_1 + a_2/(b_2 + ...)) settles, plus 10 (modified Lentz, raw)."""
    tiny = 1e-300
    f = np.where(b_coef(0) == 0, tiny, b_coef(0)) * np.ones(shape)
    c, d, n = f, np.zeros(shape), 0
    while True:
        n += 1
        if n > _MAX_TERMS:
            _not_converged(name)
        an, bn = a_coef(n), b_coef(n)
        d = bn + an * d
        d = 1 / np.where(d == 0, tiny, d)
        c = bn + an / c
        c = np.where(c == 0, tiny, c)
        delta = c * d
        f = f * delta
        if np.all(np.abs(delta - 1) <= 4e-16):   # two ulps of 1
            break
    return 2 * n + 10


def _backward(depth, coefs):
    """``(f_0, df_0)`` of f_{k-1} = b_{k-1} + a_k / f_k from f_depth = b_depth:
    ``coefs(k)`` gives ``(a_k, da_k, b_k, db_k)`` (``a_0`` unused), the
    derivatives along one parameter."""
    a_k, da_k, f, df = coefs(depth)
    for k in range(depth, 0, -1):
        a_prev, da_prev, b_prev, db_prev = coefs(k - 1)
        ratio = a_k / f
        df = db_prev + (da_k - ratio * df) / f
        f = b_prev + ratio
        a_k, da_k = a_prev, da_prev
    return f, df


def _gammainc_da(a, x):
    """dP(a, x)/da, with NumPy calls on ``a`` and ``x`` (broadcast)."""
    raw_a, raw_x = np.broadcast_arrays(lowest(a, float), lowest(x, float))
    ones = np.ones(raw_a.shape, _float_type(a, x))
    a, x = a * ones, x * ones
    defined = (raw_a > 0) & (raw_x >= 0)
    interior = defined & (raw_x > 0) & np.isfinite(raw_x) & np.isfinite(raw_a)
    low = interior & (raw_x < raw_a + 1)
    high = interior & ~low
    # power series: P = E * sum_n c_n, c_0 = 1, c_n = c_{n-1} x/(a + n),
    # E = exp(a log x - x - gammaln(a + 1))
    a_s, x_s = np.where(low, a, 1.0), np.where(low, x, 1.0)
    n_terms = _series_terms(np.where(low, raw_a, 1.0), np.where(low, raw_x, 1.0)) if np.any(low) else 0
    c, dc = ones, 0 * ones
    total, dtotal = c, dc
    for n in range(1, n_terms + 1):
        r = x_s / (a_s + n)
        c, dc = c * r, (dc - c / (a_s + n)) * r
        total, dtotal = total + c, dtotal + dc
    log_x = np.log(x_s)
    e = np.exp(a_s * log_x - x_s - sp.gammaln(a_s + 1))
    d_low = e * (dtotal + total * (log_x - sp.digamma(a_s + 1)))
    # continued fraction: Q = F / f_0, F = exp(a log x - x - gammaln(a)),
    # b_k = x + 1 - a + 2k, a_k = -k (k - a)
    a_c, x_c = np.where(high, a, 1.0), np.where(high, x, 2.0)
    if np.any(high):
        ra, rx = np.where(high, raw_a, 1.0), np.where(high, raw_x, 2.0)
        # at an integer a the fraction ends (a_k = 0 for k = a) but not its
        # derivative: the depth is that of the fraction at nearby non-integers
        depth = max(_fraction_depth(lambda k: -k * (k - ra - s), lambda k: rx + 1 - ra - s + 2 * k,
                                    rx.shape, "gammainc") for s in _OFF_INTEGER)
    else:
        depth = 1
    f, df = _backward(depth, lambda k: (-k * (k - a_c), k + 0 * a_c, x_c + 1 - a_c + 2 * k, -1.0))
    log_xc = np.log(x_c)
    q = np.exp(a_c * log_xc - x_c - sp.gammaln(a_c)) / f
    d_high = -q * (log_xc - sp.digamma(a_c) - df / f)
    out = np.where(low, d_low, np.where(high, d_high, 0.0))
    return np.where(defined, out, np.nan)


def _betainc_fraction_d(a, b, x, wrt):
    """d I_x(a, b) / d(a or b) by the continued fraction, for x below
    (a + 1)/(a + b + 2): I = K / f_0, K = x^a (1 - x)^b / (a B(a, b)),
    f_{k-1} = 1 + d_k / f_k."""
    def coefs(k):
        if k == 0:
            return None, None, 1.0, 0.0
        m = k // 2
        if k % 2:   # d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
            d = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
            if wrt == "a":
                dd = d * (1 / (a + m) + 1 / (a + b + m) - 1 / (a + 2 * m) - 1 / (a + 2 * m + 1))
            else:
                dd = -(a + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        else:       # d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m))
            d = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
            if wrt == "a":
                dd = -d * (1 / (a + 2 * m - 1) + 1 / (a + 2 * m))
            else:
                dd = m * x / ((a + 2 * m - 1) * (a + 2 * m))
        return d, dd, 1.0, 0.0
    raw_a, raw_b, raw_x = (lowest(v, float) for v in (a, b, x))

    def raw_d(k, s):
        m, rb = k // 2, raw_b + s
        if k % 2:
            return -(raw_a + m) * (raw_a + rb + m) * raw_x / ((raw_a + 2 * m) * (raw_a + 2 * m + 1))
        return m * (rb - m) * raw_x / ((raw_a + 2 * m - 1) * (raw_a + 2 * m))
    # at an integer b the fraction ends (d_2m = 0 for m = b), its derivative
    # does not: the depth is that of the fraction at nearby non-integers
    depth = max(_fraction_depth(lambda k: raw_d(k, s), lambda k: 1.0, raw_x.shape, "betainc")
                for s in _OFF_INTEGER)
    f, df = _backward(depth, coefs)
    log_k = a * np.log(x) + b * np.log1p(-x) - np.log(a) - sp.betaln(a, b)
    dlog_k = (np.log(x) - 1 / a - sp.digamma(a) + sp.digamma(a + b) if wrt == "a"
              else np.log1p(-x) - sp.digamma(b) + sp.digamma(a + b))
    return np.exp(log_k) / f * (dlog_k - df / f)


def _betainc_d(a, b, x, wrt):
    """dI_x(a, b)/da (``wrt="a"``) or /db, with NumPy calls on the values."""
    raw_a, raw_b, raw_x = np.broadcast_arrays(*(lowest(v, float) for v in (a, b, x)))
    ones = np.ones(raw_a.shape, _float_type(a, b, x))
    a, b, x = a * ones, b * ones, x * ones
    defined = (raw_a > 0) & (raw_b > 0) & (raw_x >= 0) & (raw_x <= 1)
    interior = defined & (raw_x > 0) & (raw_x < 1) & np.isfinite(raw_a) & np.isfinite(raw_b)
    with np.errstate(invalid="ignore"):
        direct = interior & (raw_x < (raw_a + 1) / (raw_a + raw_b + 2))
    swapped = interior & ~direct
    out = 0 * ones
    if np.any(direct):
        ad_, bd, xd = (np.where(direct, v, s) for v, s in ((a, 1.0), (b, 1.0), (x, 0.25)))
        out = np.where(direct, _betainc_fraction_d(ad_, bd, xd, wrt), out)
    if np.any(swapped):
        # I_x(a, b) = 1 - I_{1-x}(b, a): a derivative in a is one in the second shape there
        as_, bs, ys = (np.where(swapped, v, s) for v, s in ((a, 1.0), (b, 1.0), (1 - x, 0.25)))
        other = _betainc_fraction_d(bs, as_, ys, "b" if wrt == "a" else "a")
        out = np.where(swapped, -other, out)
    return np.where(defined, out, np.nan)


gammainc = _ufunc(sp.gammainc, lambda out, a, x: _gammainc_da(a, x),
                  lambda out, a, x: _gamma_density(a, x))
gammaincc = _ufunc(sp.gammaincc, lambda out, a, x: -_gammainc_da(a, x),
                   lambda out, a, x: -_gamma_density(a, x))
betainc = _ufunc(sp.betainc, lambda out, a, b, x: _betainc_d(a, b, x, "a"),
                 lambda out, a, b, x: _betainc_d(a, b, x, "b"),
                 lambda out, a, b, x: _beta_density(a, b, x))
betaincc = _ufunc(sp.betaincc, lambda out, a, b, x: -_betainc_d(a, b, x, "a"),
                  lambda out, a, b, x: -_betainc_d(a, b, x, "b"),
                  lambda out, a, b, x: -_beta_density(a, b, x))

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
