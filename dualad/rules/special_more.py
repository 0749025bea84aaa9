"""More scipy.special ufuncs: SciPy's elementary variants, the error-function
and exponential-integral families, complete elliptic integrals, Owen's T,
Pochhammer and binomial, and the distribution functions and their inverses
in the variable (the shape parameters held constant, as the Bessel orders).

Each is one derivative formula per argument (``elementwise``), written with
ufuncs that are themselves registered, so every order and nesting works.
Where a closed form divides by zero at an interior point (``exprel`` at 0,
``ellipk``/``ellipe`` at m = 0, ``spence`` at 1) the formula switches to its
Taylor series there, evaluated on a safe input so that no branch ever makes
a NaN (``where`` would hide it in the value but not in a nested tangent).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sp

from ..core import Box, note_complex, primal
from ..extend import elementwise, nondiff, refuse, register
from .special import _beta_density, _constant_parameters, _gamma_density, _ufunc

_PI = math.pi
_DEG = math.pi / 180
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _near(x, at, radius):
    """(mask of entries within ``radius`` of ``at``, ``x`` with those entries
    replaced by a far constant): the mask is a constant, the safe ``x`` keeps
    the closed form finite where the series is used instead."""
    mask = np.abs(primal(x) - at) < radius
    return mask, (np.where(mask, at + 2 * radius + 0.5, x) if np.any(mask) else x)


def _polynomial(coefficients, u):
    """Σ c_k u^k by Horner's rule, on a traced ``u``."""
    out = coefficients[-1] + 0 * u
    for c in coefficients[-2::-1]:
        out = out * u + c
    return out


# ---- SciPy's own versions of elementary functions -------------------------------------
cbrt = _ufunc(sp.cbrt, lambda out, x: 1 / (3 * out * out))
exp10 = _ufunc(sp.exp10, lambda out, x: math.log(10) * out)
exp2 = _ufunc(sp.exp2, lambda out, x: math.log(2) * out)
expm1 = _ufunc(sp.expm1, lambda out, x: out + 1)
log1p = _ufunc(sp.log1p, lambda out, x: 1 / (1 + x))
cosm1 = _ufunc(sp.cosm1, lambda out, x: -np.sin(x))
sindg = _ufunc(sp.sindg, lambda out, x: _DEG * sp.cosdg(x))
cosdg = _ufunc(sp.cosdg, lambda out, x: -_DEG * sp.sindg(x))
tandg = _ufunc(sp.tandg, lambda out, x: _DEG * (1 + out * out))
cotdg = _ufunc(sp.cotdg, lambda out, x: -_DEG * (1 + out * out))
radian = _ufunc(sp.radian, _DEG, _DEG / 60, _DEG / 3600)
powm1 = _ufunc(sp.powm1, lambda out, x, y: y * x ** (y - 1), lambda out, x, y: (out + 1) * np.log(x))
register(sp.round, nondiff(sp.round))        # rounding: piecewise constant
register(sp.gammasgn, nondiff(sp.gammasgn))  # the sign of gamma: piecewise constant


# exprel(x) = (e^x - 1)/x; exprel' = (e^x - exprel)/x, whose limit at 0 is 1/2:
# near 0 its series Σ k x^(k-1)/(k+1)!  (to x^5: error below 1e-16 for |x| < 1e-2)
_EXPREL_SERIES = [k / math.factorial(k + 1) for k in range(1, 8)]


def _exprel_derivative(out, x):
    small, safe = _near(x, 0.0, 1e-2)
    closed = (np.exp(safe) - sp.exprel(safe)) / safe
    return np.where(small, _polynomial(_EXPREL_SERIES, x), closed) if np.any(small) else closed


exprel = _ufunc(sp.exprel, _exprel_derivative)


# ---- the error function's family and the exponential integrals ------------------------
erfcx = _ufunc(sp.erfcx, lambda out, x: 2 * x * out - _TWO_OVER_SQRT_PI)
erfi = _ufunc(sp.erfi, lambda out, x: _TWO_OVER_SQRT_PI * np.exp(x * x))
dawsn = _ufunc(sp.dawsn, lambda out, x: 1 - 2 * x * out)
wofz = elementwise("wofz", sp.wofz, lambda out, z: _TWO_OVER_SQRT_PI * 1j - 2 * z * out)


def _wofz(z, **kwargs):
    # the one ufunc here whose value is complex for a real argument: from now
    # on a real argument's cotangent must be checked for an imaginary part
    note_complex()
    return wofz(z, **kwargs)


register(sp.wofz, _wofz)
exp1 = _ufunc(sp.exp1, lambda out, x: -np.exp(-x) / x)
expi = _ufunc(sp.expi, lambda out, x: np.exp(x) / x)
ndtri_exp = _ufunc(sp.ndtri_exp, lambda out, y: _SQRT_2PI * np.exp(y + 0.5 * out * out))


# spence(z) = ∫_1^z log t / (1 - t) dt; spence' = log z / (1 - z), -1 at z = 1,
# where it is -log1p(u)/u with u = z - 1: the series -(1 - u/2 + u²/3 - ...)
_SPENCE_SERIES = [-((-1) ** k) / (k + 1) for k in range(8)]


def _spence_derivative(out, z):
    near, safe = _near(z, 1.0, 1e-2)
    closed = np.log(safe) / (1 - safe)
    return np.where(near, _polynomial(_SPENCE_SERIES, z - 1), closed) if np.any(near) else closed


spence = _ufunc(sp.spence, _spence_derivative)


# ---- complete elliptic integrals (parameter m) ----------------------------------------
# dK/dm = (E - (1 - m) K) / (2 m (1 - m)), dE/dm = (E - K) / (2 m); both divide by m,
# and near m = 0 their Taylor series is used: dK/dm = π/2 Σ ((2k+2)!/(2^(2k+2)((k+1)!)²))² (k+1) m^k,
# dE/dm = -π/2 Σ ((2k+2)!/(2^(2k+2)((k+1)!)²))² (k+1)/(2k+1) m^k.
def _central(k):
    return math.comb(2 * k, k) / 4 ** k


_DK_SERIES = [_PI / 2 * _central(k + 1) ** 2 * (k + 1) for k in range(10)]
_DE_SERIES = [-_PI / 2 * _central(k + 1) ** 2 * (k + 1) / (2 * k + 1) for k in range(10)]


def _ellipk_derivative(out, m):
    small, safe = _near(m, 0.0, 1e-2)
    closed = (sp.ellipe(safe) - (1 - safe) * sp.ellipk(safe)) / (2 * safe * (1 - safe))
    return np.where(small, _polynomial(_DK_SERIES, m), closed) if np.any(small) else closed


def _ellipe_derivative(out, m):
    small, safe = _near(m, 0.0, 1e-2)
    closed = (sp.ellipe(safe) - sp.ellipk(safe)) / (2 * safe)
    return np.where(small, _polynomial(_DE_SERIES, m), closed) if np.any(small) else closed


ellipk = _ufunc(sp.ellipk, _ellipk_derivative)
ellipe = _ufunc(sp.ellipe, _ellipe_derivative)
ellipkm1 = _ufunc(sp.ellipkm1, lambda out, p: -_ellipk_derivative(None, 1 - p))


# ---- Owen's T, Pochhammer, binomial -----------------------------------------------------
owens_t = _ufunc(
    sp.owens_t,
    lambda out, h, a: -np.exp(-0.5 * h * h) / (2 * _SQRT_2PI) * sp.erf(a * h / math.sqrt(2)),
    lambda out, h, a: np.exp(-0.5 * h * h * (1 + a * a)) / (2 * _PI * (1 + a * a)))
poch = _ufunc(sp.poch, lambda out, z, m: out * (sp.digamma(z + m) - sp.digamma(z)),
              lambda out, z, m: out * sp.digamma(z + m))
binom = _ufunc(sp.binom,
               lambda out, n, k: out * (sp.digamma(n + 1) - sp.digamma(n - k + 1)),
               lambda out, n, k: out * (sp.digamma(n - k + 1) - sp.digamma(k + 1)))


# ---- distribution functions and inverses, in the variable ---------------------------------
_SHAPE = ("the derivative in a shape parameter (degrees of freedom, counts, the gamma "
          "or beta shape) is not implemented; only the variable is differentiated, so "
          "pass a constant")


def _student_density(df, t):
    return np.exp(sp.gammaln((df + 1) / 2) - sp.gammaln(df / 2) - 0.5 * np.log(df * _PI)
                  - (df + 1) / 2 * np.log1p(t * t / df))


def _f_density(dfn, dfd, x):
    u = dfn * x / (dfd + dfn * x)
    return _beta_density(dfn / 2, dfd / 2, u) * dfn * dfd / (dfd + dfn * x) ** 2


def _constant(ufunc, names, *derivs):
    """``ufunc`` differentiated in its trailing arguments, its leading
    ``names`` held constant (a traced one refused by name)."""
    prim = elementwise(ufunc.__name__, ufunc, *([None] * len(names)), *derivs)
    return _constant_parameters(ufunc, prim, names, _SHAPE, last_name="x")


stdtr = _constant(sp.stdtr, ("df",), lambda out, df, t: _student_density(df, t))
stdtrit = _constant(sp.stdtrit, ("df",), lambda out, df, p: 1 / _student_density(df, out))
chdtr = _constant(sp.chdtr, ("v",), lambda out, v, x: 0.5 * _gamma_density(v / 2, x / 2))
chdtrc = _constant(sp.chdtrc, ("v",), lambda out, v, x: -0.5 * _gamma_density(v / 2, x / 2))
pdtr = _constant(sp.pdtr, ("k",), lambda out, k, m: -_gamma_density(np.floor(k) + 1, m))
pdtrc = _constant(sp.pdtrc, ("k",), lambda out, k, m: _gamma_density(np.floor(k) + 1, m))
fdtr = _constant(sp.fdtr, ("dfn", "dfd"), lambda out, dfn, dfd, x: _f_density(dfn, dfd, x))
fdtrc = _constant(sp.fdtrc, ("dfn", "dfd"), lambda out, dfn, dfd, x: -_f_density(dfn, dfd, x))
# SciPy truncates the counts k and n (non-integer n is deprecated); ``0 * out``
# makes the derivative NaN where SciPy's value is (n < 1 for nbdtr)
bdtr = _constant(sp.bdtr, ("k", "n"), lambda out, k, n, p: -_beta_density(
    np.floor(n) - np.floor(k), np.floor(k) + 1, 1 - p))
bdtrc = _constant(sp.bdtrc, ("k", "n"), lambda out, k, n, p: _beta_density(
    np.floor(n) - np.floor(k), np.floor(k) + 1, 1 - p))
nbdtr = _constant(sp.nbdtr, ("k", "n"), lambda out, k, n, p: _beta_density(
    np.floor(n), np.floor(k) + 1, p) + 0 * out)
nbdtrc = _constant(sp.nbdtrc, ("k", "n"), lambda out, k, n, p: 0 * out - _beta_density(
    np.floor(n), np.floor(k) + 1, p))
gammaincinv = _constant(sp.gammaincinv, ("a",), lambda out, a, y: 1 / _gamma_density(a, out))
gammainccinv = _constant(sp.gammainccinv, ("a",), lambda out, a, y: -1 / _gamma_density(a, out))
betaincinv = _constant(sp.betaincinv, ("a", "b"),
                       lambda out, a, b, y: 1 / _beta_density(a, b, out))
betainccinv = _constant(sp.betainccinv, ("a", "b"),
                        lambda out, a, b, y: -1 / _beta_density(a, b, out))


def _gdtr_derivatives(sign):
    # gdtr(a, b, x) = gammainc(b, a x): a is a rate, b a shape
    return (lambda out, a, b, x: sign * x * _gamma_density(b, a * x), None,
            lambda out, a, b, x: sign * a * _gamma_density(b, a * x))


def _gdtr(ufunc, sign):
    prim = elementwise(ufunc.__name__, ufunc, *_gdtr_derivatives(sign))

    def implementation(a, b, x, **kwargs):
        if isinstance(b, Box):
            refuse(f"scipy.special.{ufunc.__name__}", "b", _SHAPE)
        return prim(a, b, x, **kwargs)
    register(ufunc, implementation)
    return prim


gdtr = _gdtr(sp.gdtr, 1.0)
gdtrc = _gdtr(sp.gdtrc, -1.0)


# ---- hypergeometric functions, in the argument ---------------------------------------------
_HYPERGEOMETRIC = ("the derivative in a parameter has no closed form; only the argument "
                   "is differentiated, so pass constant parameters")
hyp1f1 = _constant_parameters(sp.hyp1f1, elementwise(
    "hyp1f1", sp.hyp1f1, None, None,
    lambda out, a, b, x: a / b * sp.hyp1f1(a + 1, b + 1, x)), ("a", "b"), _HYPERGEOMETRIC,
    last_name="x")
hyp2f1 = _constant_parameters(sp.hyp2f1, elementwise(
    "hyp2f1", sp.hyp2f1, None, None, None,
    lambda out, a, b, c, z: a * b / c * sp.hyp2f1(a + 1, b + 1, c + 1, z)),
    ("a", "b", "c"), _HYPERGEOMETRIC)
