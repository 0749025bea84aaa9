"""Drop-in, differentiable versions of SciPy's probability distributions.

``scipy.stats.norm.logpdf`` and its kin convert their arguments with
``np.asarray``, which a dualad value refuses.  The distributions here have
SciPy's names, call signatures (``norm.logpdf(x, loc=0, scale=1)``, shape
parameters by SciPy's names: ``t.logpdf(x, df)``, ``gamma.logpdf(x, a)``)
and values, and are written with NumPy and ``scipy.special`` ufuncs, so they
are differentiable in ``x`` and in every continuous parameter, in every mode
and nesting.  Like SciPy they return NaN for parameters outside their domain
(``scale <= 0``) and ``-inf`` (logpdf) or 0 (pdf) outside the support.

Invariant: masks (domain, support) are taken from raw values, and every
formula is evaluated at *safe* arguments -- the given ones where they are
valid, a fixed interior point elsewhere -- so an out-of-domain entry gives
SciPy's value and a zero derivative, never a NaN leaking into the others.

The ``cdf logcdf sf logsf`` of ``t gamma chi2 beta poisson binom nbinom``
go through the regularized incomplete gamma and beta functions, whose
derivatives in their shape parameters ``dualad.rules.special`` gives (to
relative 1e-11 or better for shapes in [0.05, 300]): they are
differentiable in the shape parameters too (``df``, ``a``, ``b``, ``mu``,
``n``, ``p``).  A method SciPy has and this module lacks (``ppf``,
``rvs``...) raises a ``TypeError`` naming it.
Frozen distributions work as in SciPy: ``norm(loc, scale).logpdf(x)``.

>>> import numpy as np, dualad as ad
>>> from dualad.scipy.stats import norm
>>> float(ad.grad(lambda m: norm.logpdf(1.0, loc=m, scale=2.0))(0.0))   # (x - m) / s**2
0.25
"""

from __future__ import annotations

import numpy as np
import scipy.stats
from scipy.special import (betainc, betaincc, expit, gammainc, gammaincc, gammaln, log_ndtr, ndtr,
                           stdtr, xlog1py, xlogy)

from ..core import lowest, Box, primal
from ..extend import register_replacement

__all__ = ["norm", "t", "cauchy", "logistic", "laplace", "expon", "gamma", "beta",
           "chi2", "lognorm", "uniform", "poisson", "binom", "nbinom",
           "multivariate_normal", "dirichlet"]

_LOG_2PI = float(np.log(2 * np.pi))


def _raw(x):
    return lowest(x, float)


def _array(x):
    """``x`` as an array (SciPy takes lists), a traced value as it is."""
    return x if isinstance(x, Box) else np.asarray(x, dtype=float)


def _safe(valid, x, fill):
    """``x`` where ``valid``, ``fill`` elsewhere (a constant there)."""
    return np.where(valid, x, fill)


class _Distribution:
    """What every distribution shares: argument parsing, freezing, refusals."""

    name = ""
    shapes: tuple = ()
    # SciPy's keywords after the shapes, with their defaults.
    extra: tuple = (("loc", 0.0), ("scale", 1.0))
    methods: tuple = ()

    def _parse(self, method, args, kwds):
        names = self.shapes + tuple(n for n, _ in self.extra)
        if len(args) > len(names):
            raise TypeError(f"{self.name}.{method} takes at most {len(names)} parameters "
                            f"after the first argument ({', '.join(names)}), got {len(args)}")
        values = dict(zip(names, args))
        for key, value in kwds.items():
            if key not in names:
                raise TypeError(f"{self.name}.{method} got an unexpected keyword '{key}' "
                                f"(its parameters: {', '.join(names)})")
            if key in values:
                raise TypeError(f"{self.name}.{method} got multiple values for '{key}'")
            values[key] = value
        missing = [n for n in self.shapes if n not in values]
        if missing:
            raise TypeError(f"{self.name}.{method} is missing the shape parameter(s) "
                            f"{', '.join(missing)}")
        return [values[n] for n in self.shapes] + [values.get(n, d) for n, d in self.extra]

    def __call__(self, *args, **kwds):
        """The frozen distribution, as ``scipy.stats.norm(loc, scale)``."""
        self._parse("__call__", args, kwds)
        return _Frozen(self, args, kwds)

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)
        if hasattr(getattr(scipy.stats, self.name), method):
            raise TypeError(
                f"dualad.scipy.stats.{self.name} has no differentiable {method}; it offers "
                f"{', '.join(self.methods)}. Use scipy.stats.{self.name}.{method} on values "
                "that are not being differentiated.")
        raise AttributeError(f"dualad.scipy.stats.{self.name} has no attribute '{method}'")

    def __repr__(self):
        return f"<dualad.scipy.stats.{self.name}>"


class _Frozen:
    """A distribution with its parameters bound, as SciPy's ``rv_frozen``."""

    def __init__(self, dist, args, kwds):
        self.dist, self.args, self.kwds = dist, args, kwds

    def __getattr__(self, method):
        if method.startswith("_"):
            raise AttributeError(method)
        bound = getattr(self.dist, method)
        dist, args, kwds = self.dist, self.args, self.kwds

        def frozen_method(x):
            return bound(x, *args, **kwds)
        frozen_method.__name__ = method
        frozen_method.__qualname__ = f"{dist.name}(...).{method}"
        return frozen_method

    def __repr__(self):
        return f"<frozen dualad.scipy.stats.{self.dist.name}>"


class _Continuous(_Distribution):
    """A location-scale family: ``logpdf(x) = _logpdf((x - loc) / scale) - log(scale)``.

    Subclasses give ``_logpdf(z, *shapes)`` on the closed support
    ``[lower, upper]``, ``_argcheck(*raw shapes)``, and as safe fills
    ``interior`` (a point inside the support) and ``safe_shapes`` (a valid
    value of each shape); optionally ``_cdf _logcdf _sf _logsf`` on the open
    support.
    """

    lower, upper = -np.inf, np.inf
    interior = 0.0
    safe_shapes: tuple = ()

    @property
    def methods(self):
        have = ["logpdf", "pdf"] + [m for m in ("cdf", "logcdf", "sf", "logsf")
                                    if hasattr(type(self), "_" + m)]
        return tuple(have)

    def _argcheck(self, *shapes):
        return np.ones((), bool)

    def _prepare(self, method, x, args, kwds, closed):
        """Masks from raw values, and ``z`` and the parameters at safe values:
        outside the domain or the (closed or open) support, ``x`` is replaced
        by a constant point mapping to ``interior``, so that no derivative
        there meets an infinity (``0 * inf`` would be NaN)."""
        *shapes, loc, scale = map(_array, self._parse(method, args, kwds))
        x = _array(x)
        raw_shapes = [_raw(s) for s in shapes]
        raw_loc, raw_scale = _raw(loc), _raw(scale)
        valid = self._argcheck(*raw_shapes) & (raw_scale > 0)
        with np.errstate(all="ignore"):
            raw_z = (_raw(x) - raw_loc) / raw_scale
            if closed:
                inside = valid & (raw_z >= self.lower) & (raw_z <= self.upper)
            else:
                inside = valid & (raw_z > self.lower) & (raw_z < self.upper)
            fill = raw_loc + self.interior * np.where(valid, raw_scale, 1.0)
        scale = _safe(valid, scale, 1.0)
        shapes = [_safe(valid, s, f) for s, f in zip(shapes, self.safe_shapes)]
        finite = inside & np.isfinite(raw_z)
        z = (_safe(finite, x, fill) - loc) / scale
        z = _safe(finite, z, self.interior)
        return valid & ~np.isnan(raw_z), raw_z, inside, finite, z, shapes, scale

    def logpdf(self, x, *args, **kwds):
        defined, raw_z, inside, finite, z, shapes, scale = self._prepare(
            "logpdf", x, args, kwds, True)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = self._logpdf(z, *shapes) - np.log(scale)
            # x = ±inf inside the support: the formula's own (constant) value
            at_inf = self._logpdf(np.where(finite, self.interior, raw_z),
                                  *[primal(s) for s in shapes])
        out = np.where(finite, out, np.where(inside, at_inf, -np.inf))
        return np.where(defined, out, np.nan)

    def pdf(self, x, *args, **kwds):
        return np.exp(self.logpdf(x, *args, **kwds))

    def _tail(self, method, x, args, kwds, below, above):
        defined, raw_z, inside, _, z, shapes, _ = self._prepare(method, x, args, kwds, False)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = getattr(self, "_" + method)(z, *shapes)
        out = np.where(inside, out, np.where(raw_z <= self.lower, below, above))
        return np.where(defined, out, np.nan)

    def cdf(self, x, *args, **kwds):
        return self._tail("cdf", x, args, kwds, 0.0, 1.0)

    def logcdf(self, x, *args, **kwds):
        return self._tail("logcdf", x, args, kwds, -np.inf, 0.0)

    def sf(self, x, *args, **kwds):
        return self._tail("sf", x, args, kwds, 1.0, 0.0)

    def logsf(self, x, *args, **kwds):
        return self._tail("logsf", x, args, kwds, 0.0, -np.inf)


class _LogTailsByMedian:
    """``logcdf`` and ``logsf`` as SciPy's generic ones: ``log(cdf)`` below the
    median and ``log1p(-sf)`` above it (``logsf`` the mirror image), the
    median (a constant) from SciPy's ``ppf(0.5)`` at the raw shapes."""

    def _median(self, shapes):
        with np.errstate(all="ignore"):
            return getattr(scipy.stats, self.name).ppf(0.5, *[_raw(s) for s in shapes])

    def _logcdf(self, z, *shapes):
        below = primal(z) < self._median(shapes)
        return np.where(below, np.log(self._cdf(z, *shapes)), np.log1p(-self._sf(z, *shapes)))

    def _logsf(self, z, *shapes):
        above = primal(z) > self._median(shapes)
        return np.where(above, np.log(self._sf(z, *shapes)), np.log1p(-self._cdf(z, *shapes)))


class norm_gen(_Continuous):
    name = "norm"

    def _logpdf(self, z):
        return -0.5 * z * z - 0.5 * _LOG_2PI

    def _cdf(self, z):
        return ndtr(z)

    def _logcdf(self, z):
        return log_ndtr(z)

    def _sf(self, z):
        return ndtr(-z)

    def _logsf(self, z):
        return log_ndtr(-z)


class cauchy_gen(_Continuous):
    name = "cauchy"

    def _logpdf(self, z):
        return -np.log(np.pi) - np.log1p(z * z)

    def _cdf(self, z):
        return np.arctan2(1.0, -z) / np.pi

    def _logcdf(self, z):
        return np.log(self._cdf(z))

    def _sf(self, z):
        return np.arctan2(1.0, z) / np.pi

    def _logsf(self, z):
        return np.log(self._sf(z))


class logistic_gen(_Continuous):
    name = "logistic"

    def _logpdf(self, z):
        a = np.abs(z)
        return -a - 2.0 * np.log1p(np.exp(-a))

    def _cdf(self, z):
        return expit(z)

    def _logcdf(self, z):
        return -np.logaddexp(0.0, -z)

    def _sf(self, z):
        return expit(-z)

    def _logsf(self, z):
        return -np.logaddexp(0.0, z)


class laplace_gen(_Continuous):
    name = "laplace"

    def _logpdf(self, z):
        return -np.log(2.0) - np.abs(z)

    def _cdf(self, z):
        return np.where(primal(z) > 0, 1.0 - 0.5 * np.exp(-z), 0.5 * np.exp(z))

    def _logcdf(self, z):
        # log1p(-exp(-|z|)/2) and z - log 2, each used where it is accurate
        # and evaluated at a harmless argument on the other side.
        pos = primal(z) > 0
        zp, zn = np.where(pos, z, 1.0), np.where(pos, -1.0, z)
        return np.where(pos, np.log1p(-0.5 * np.exp(-zp)), zn - np.log(2.0))

    def _sf(self, z):
        return self._cdf(-z)

    def _logsf(self, z):
        return self._logcdf(-z)


class expon_gen(_Continuous):
    name = "expon"
    lower, interior = 0.0, 1.0

    def _logpdf(self, z):
        return -z

    def _cdf(self, z):
        return -np.expm1(-z)

    def _logcdf(self, z):
        # log(1 - e^-z): by expm1 for small z, by log1p for large z, as SciPy.
        small = primal(z) < np.log(2.0)
        zs, zl = np.where(small, z, 1.0), np.where(small, 1.0, z)
        return np.where(small, np.log(-np.expm1(-zs)), np.log1p(-np.exp(-zl)))

    def _sf(self, z):
        return np.exp(-z)

    def _logsf(self, z):
        return -z


class uniform_gen(_Continuous):
    name = "uniform"
    lower, upper, interior = 0.0, 1.0, 0.5

    def _logpdf(self, z):
        return 0.0 * z

    def _cdf(self, z):
        return z

    def _logcdf(self, z):
        return np.log(z)

    def _sf(self, z):
        return 1.0 - z

    def _logsf(self, z):
        return np.log1p(-z)


class lognorm_gen(_Continuous):
    name = "lognorm"
    shapes, safe_shapes = ("s",), (1.0,)
    lower, interior = 0.0, 1.0

    def _argcheck(self, s):
        return s > 0

    def logpdf(self, x, *args, **kwds):
        # SciPy's lognorm.logpdf is -inf at the edge z = 0 of the support.
        defined, raw_z, *_ = self._prepare("logpdf", x, args, kwds, True)
        out = _Continuous.logpdf(self, x, *args, **kwds)
        return np.where(defined & (raw_z == 0), -np.inf, out)

    def _logpdf(self, z, s):
        logz = np.log(z)
        return -logz * logz / (2.0 * s * s) - np.log(s * z) - 0.5 * _LOG_2PI

    def _cdf(self, z, s):
        return ndtr(np.log(z) / s)

    def _logcdf(self, z, s):
        return log_ndtr(np.log(z) / s)

    def _sf(self, z, s):
        return ndtr(-np.log(z) / s)

    def _logsf(self, z, s):
        return log_ndtr(-np.log(z) / s)


def _with_value(value, formula):
    """``value`` (SciPy's own, a constant) with the derivatives of ``formula``,
    an expression equal to it up to rounding: ``formula - primal(formula)``
    is exactly 0 with every derivative of ``formula``."""
    return value + (formula - primal(formula))


class t_gen(_LogTailsByMedian, _Continuous):
    name = "t"
    shapes, safe_shapes = ("df",), (1.0,)

    def _argcheck(self, df):
        return df > 0

    def _logpdf(self, z, df):
        # df = inf is the normal distribution, as in SciPy.
        finite = np.isfinite(primal(df))
        d = np.where(finite, df, 1.0)
        t_part = (gammaln(0.5 * (d + 1.0)) - gammaln(0.5 * d)
                  - 0.5 * (np.log(d) + np.log(np.pi)) - 0.5 * (d + 1.0) * np.log1p(z * z / d))
        return np.where(finite, t_part, -0.5 * z * z - 0.5 * _LOG_2PI)

    def _cdf(self, z, df):
        # F(z) = I_x(df/2, df/2) with x = (s + z)/(2s) = df/(2s(s - z)), s = sqrt(df + z²),
        # and 1 - F(z) = I_{1-x}(df/2, df/2), 1 - x = df/(2s(s + z)): the smaller
        # tail, I_w with w = df/(2s(s + |z|)) <= 1/2, is computed without
        # cancellation, and each side is smooth through z = 0 (unlike the
        # classic I_{df/(df + z²)}(df/2, 1/2), whose argument has a square-root
        # singularity there).  The value is SciPy's stdtr.
        finite = np.isfinite(primal(df))
        d = np.where(finite, df, 1.0)
        s = np.sqrt(d + z * z)
        h = 0.5 * d
        below = primal(z) < 0
        tail = betainc(h, h, d / (2 * s * (s + np.where(below, -z, z))))
        formula = np.where(finite, np.where(below, tail, 1.0 - tail), ndtr(z))
        return _with_value(stdtr(primal(df), primal(z)), formula)

    def _sf(self, z, df):
        return self._cdf(-z, df)



class gamma_gen(_LogTailsByMedian, _Continuous):
    name = "gamma"
    shapes, safe_shapes = ("a",), (1.0,)
    lower, interior = 0.0, 1.0

    def _argcheck(self, a):
        return a > 0

    def _logpdf(self, z, a):
        return xlogy(a - 1.0, z) - z - gammaln(a)

    def _cdf(self, z, a):
        return gammainc(a, z)

    def _sf(self, z, a):
        return gammaincc(a, z)



class chi2_gen(_LogTailsByMedian, _Continuous):
    name = "chi2"
    shapes, safe_shapes = ("df",), (1.0,)
    lower, interior = 0.0, 1.0

    def _argcheck(self, df):
        return df > 0

    def _logpdf(self, z, df):
        h = 0.5 * df
        return xlogy(h - 1.0, z) - 0.5 * z - gammaln(h) - h * np.log(2.0)

    # SciPy's chdtr(df, x) is gammainc(df/2, x/2), to the bit
    def _cdf(self, z, df):
        return gammainc(0.5 * df, 0.5 * z)

    def _sf(self, z, df):
        return gammaincc(0.5 * df, 0.5 * z)



class beta_gen(_LogTailsByMedian, _Continuous):
    name = "beta"
    shapes, safe_shapes = ("a", "b"), (1.0, 1.0)
    lower, upper, interior = 0.0, 1.0, 0.5

    def _argcheck(self, a, b):
        return (a > 0) & (b > 0)

    def _logpdf(self, z, a, b):
        betaln = gammaln(a) + gammaln(b) - gammaln(a + b)
        return xlog1py(b - 1.0, -z) + xlogy(a - 1.0, z) - betaln

    def _cdf(self, z, a, b):
        return betainc(a, b, z)

    def _sf(self, z, a, b):
        return betaincc(a, b, z)



class _Discrete(_Distribution):
    """``logpmf(k) = _logpmf(k - loc, *shapes)`` at integers of the support.

    ``k`` is taken as a constant: the pmf is a step function of it.
    """

    extra = (("loc", 0),)
    methods = ("logpmf", "pmf", "cdf", "logcdf", "sf", "logsf")
    interior = 0.0

    def _upper(self, *raw_shapes):
        return np.inf

    def logpmf(self, k, *args, **kwds):
        *shapes, loc = map(_array, self._parse("logpmf", args, kwds))
        raw_shapes = [_raw(s) for s in shapes]
        k = _raw(k) - _raw(loc)
        valid = self._argcheck(*raw_shapes)
        inside = valid & (k >= 0) & (k <= self._upper(*raw_shapes)) & (np.floor(k) == k)
        shapes = [_safe(valid, s, f) for s, f in zip(shapes, self.safe_shapes)]
        safe_k = np.where(inside, k, self.interior)
        out = self._logpmf(safe_k, *shapes)
        out = np.where(inside, out, -np.inf)
        return np.where(valid & ~np.isnan(k), out, np.nan)

    def pmf(self, k, *args, **kwds):
        return np.exp(self.logpmf(k, *args, **kwds))

    def _tail(self, method, k, args, kwds, below, above):
        """SciPy's ``rv_discrete`` tails: ``_<method>(floor(k - loc))`` on
        ``0 <= k - loc < upper``, ``below`` and ``above`` outside it (``k``
        infinite included), NaN for invalid parameters or NaN ``k``."""
        *shapes, loc = map(_array, self._parse(method, args, kwds))
        raw_shapes = [_raw(s) for s in shapes]
        k = _raw(k) - _raw(loc)
        valid = self._argcheck(*raw_shapes)
        upper = self._upper(*raw_shapes)
        with np.errstate(invalid="ignore"):
            inside = valid & (k >= 0) & (k < upper) & np.isfinite(k)
            out_above = k >= upper
        shapes = [_safe(valid, s, f) for s, f in zip(shapes, self.safe_shapes)]
        safe_k = np.floor(np.where(inside, k, self.interior))
        with np.errstate(divide="ignore", invalid="ignore"):
            out = getattr(self, "_" + method)(safe_k, *shapes)
        out = np.where(inside, out, np.where(out_above, above, below))
        out = np.where(valid & ~np.isnan(k), out, np.nan)
        if method == "logcdf":   # SciPy's logcdf is 0 above the support even for invalid parameters
            out = np.where(out_above, 0.0, out)
        return out

    def cdf(self, k, *args, **kwds):
        return self._tail("cdf", k, args, kwds, 0.0, 1.0)

    def logcdf(self, k, *args, **kwds):
        return self._tail("logcdf", k, args, kwds, -np.inf, 0.0)

    def sf(self, k, *args, **kwds):
        return self._tail("sf", k, args, kwds, 1.0, 0.0)

    def logsf(self, k, *args, **kwds):
        return self._tail("logsf", k, args, kwds, 0.0, -np.inf)

    def _logcdf(self, k, *shapes):
        return np.log(self._cdf(k, *shapes))

    def _logsf(self, k, *shapes):
        return np.log(self._sf(k, *shapes))


class poisson_gen(_Discrete):
    name = "poisson"
    shapes, safe_shapes = ("mu",), (1.0,)

    def _argcheck(self, mu):
        return mu >= 0

    def _logpmf(self, k, mu):
        return xlogy(k, mu) - gammaln(k + 1.0) - mu

    # SciPy's pdtr(k, mu) and pdtrc are gammaincc(k + 1, mu) and gammainc, to the bit
    def _cdf(self, k, mu):
        return gammaincc(k + 1.0, mu)

    def _sf(self, k, mu):
        return gammainc(k + 1.0, mu)


class binom_gen(_Discrete):
    name = "binom"
    shapes, safe_shapes = ("n", "p"), (1.0, 0.5)

    def _argcheck(self, n, p):
        return (n >= 0) & (np.floor(n) == n) & (p >= 0) & (p <= 1)

    def _upper(self, n, p):
        return n

    def _logpmf(self, k, n, p):
        comb = gammaln(n + 1.0) - (gammaln(k + 1.0) + gammaln(n - k + 1.0))
        return comb + xlogy(k, p) + xlog1py(n - k, -p)

    # 0 <= k < n here.  SciPy's (Boost's) binomial cdf is the complement
    # ibetac(k + 1, n - k, p), its sf ibeta: betaincc and betainc, to the bit
    def _cdf(self, k, n, p):
        return betaincc(k + 1.0, n - k, p)

    def _sf(self, k, n, p):
        return betainc(k + 1.0, n - k, p)


class nbinom_gen(_Discrete):
    name = "nbinom"
    shapes, safe_shapes = ("n", "p"), (1.0, 0.5)

    def _argcheck(self, n, p):
        return (n > 0) & (p > 0) & (p <= 1)

    def _logpmf(self, k, n, p):
        coeff = gammaln(n + k) - gammaln(k + 1.0) - gammaln(n)
        return coeff + n * np.log(p) + xlog1py(k, -p)

    # the cdf is I_p(n, k + 1) and the sf its complement; SciPy's values (Boost's
    # own evaluation, which can differ in the last bits) with their derivatives
    def _cdf(self, k, n, p):
        return _with_value(scipy.stats.nbinom.cdf(k, primal(n), primal(p)), betainc(n, k + 1.0, p))

    def _sf(self, k, n, p):
        return _with_value(scipy.stats.nbinom.sf(k, primal(n), primal(p)), betaincc(n, k + 1.0, p))

    def _logcdf(self, k, n, p):
        # SciPy's: log1p(-I_{1-p}(k + 1, n)) where the cdf exceeds 1/2
        upper = primal(self._cdf(k, n, p)) > 0.5
        return np.where(upper, np.log1p(-betainc(k + 1.0, n, 1.0 - p)), np.log(self._cdf(k, n, p)))


def _squeeze_output(out):
    out = np.squeeze(out)
    return out[()] if np.ndim(primal(out)) == 0 else out


class multivariate_normal_gen(_Distribution):
    name = "multivariate_normal"
    extra = (("mean", None), ("cov", 1.0))
    methods = ("logpdf", "pdf")

    def logpdf(self, x, *args, **kwds):
        """SciPy's ``multivariate_normal.logpdf(x, mean=None, cov=1)``, by a
        Cholesky factor of ``cov`` (which must be positive definite; the
        factorisation reads its lower triangle)."""
        kwds = dict(kwds)
        if kwds.pop("allow_singular", False):
            raise TypeError("dualad.scipy.stats.multivariate_normal does not take "
                            "allow_singular=True: it needs a positive definite cov")
        mean, cov = self._parse("logpdf", args, kwds)
        x, cov = _array(x), _array(cov)
        mean = None if mean is None else _array(mean)
        cov_ndim = np.ndim(primal(cov))
        if mean is None:
            dim = {0: 1, 1: None, 2: None}[cov_ndim] or np.shape(primal(cov))[0]
            mean = np.zeros(dim)
        dim = np.size(primal(mean))
        mean = np.reshape(mean, (dim,))
        if cov_ndim == 0:
            cov = cov * np.eye(dim)
        elif cov_ndim == 1:
            cov = cov * np.eye(dim)
        x_ndim = np.ndim(primal(x))
        if x_ndim == 0:
            x = np.reshape(x, (1,))
        elif x_ndim == 1:
            x = np.reshape(x, (-1, 1)) if dim == 1 else np.reshape(x, (1, dim))
        if np.shape(primal(x))[-1] != dim:
            raise ValueError(f"multivariate_normal.logpdf: x has {np.shape(primal(x))[-1]} "
                             f"components in its last axis, the distribution has {dim}")
        lead = np.shape(primal(x))[:-1]
        diff = np.reshape(x - mean, (-1, dim))
        chol = np.linalg.cholesky(cov)
        z = np.linalg.solve(chol, np.transpose(diff))
        maha = np.sum(z * z, axis=0)
        logdet = 2.0 * np.sum(np.log(np.diagonal(chol)))
        out = -0.5 * (dim * _LOG_2PI + logdet + maha)
        return _squeeze_output(np.reshape(out, lead))

    def pdf(self, x, *args, **kwds):
        return np.exp(self.logpdf(x, *args, **kwds))


class dirichlet_gen(_Distribution):
    name = "dirichlet"
    shapes, extra = ("alpha",), ()
    methods = ("logpdf", "pdf")

    def logpdf(self, x, *args, **kwds):
        """SciPy's ``dirichlet.logpdf(x, alpha)``: ``x`` holds the components
        along its first axis (all K of them, or K - 1 and the last is 1 minus
        their sum), with SciPy's checks of ``x`` and ``alpha``."""
        alpha, x = _array(self._parse("logpdf", args, kwds)[0]), _array(x)
        raw_alpha = _raw(alpha)
        if raw_alpha.ndim != 1:
            raise ValueError("Parameter vector 'a' must be one dimensional, "
                             f"but a.shape = {raw_alpha.shape}.")
        if np.min(raw_alpha) <= 0:
            raise ValueError("All parameters must be greater than 0")
        k = raw_alpha.shape[0]
        n = np.shape(primal(x))[0]
        if n != k and n + 1 != k:
            raise ValueError("Vector 'x' must have either the same number of entries as, "
                             "or one entry fewer than, parameter vector 'a', but "
                             f"alpha.shape = {raw_alpha.shape} and x.shape = {np.shape(primal(x))}.")
        if n + 1 == k:
            x = np.concatenate([x, (1.0 - np.sum(x, axis=0))[None]], axis=0)
        raw_x = _raw(x)
        if np.min(raw_x) < 0:
            raise ValueError("Each entry in 'x' must be greater than or equal to zero.")
        if np.max(raw_x) > 1:
            raise ValueError("Each entry in 'x' must be smaller or equal one.")
        alpha_lt1 = np.reshape(raw_alpha < 1, (k,) + (1,) * (raw_x.ndim - 1))
        if np.any((raw_x == 0) & alpha_lt1):
            raise ValueError("Each entry in 'x' must be greater than zero if its "
                             "alpha is less than one.")
        if np.any(np.abs(np.sum(raw_x, 0) - 1.0) > 10e-10):
            raise ValueError("The input vector 'x' must lie within the normal simplex. "
                             f"but np.sum(x, 0) = {np.sum(raw_x, 0)}.")
        lnB = np.sum(gammaln(alpha)) - gammaln(np.sum(alpha))
        a1 = np.reshape(alpha - 1.0, (k,) + (1,) * (raw_x.ndim - 1))
        return _squeeze_output(-lnB + np.sum(xlogy(a1, x), axis=0))

    def pdf(self, x, *args, **kwds):
        return np.exp(self.logpdf(x, *args, **kwds))


norm, cauchy, logistic, laplace = norm_gen(), cauchy_gen(), logistic_gen(), laplace_gen()
expon, uniform, lognorm, t = expon_gen(), uniform_gen(), lognorm_gen(), t_gen()
gamma, chi2, beta = gamma_gen(), chi2_gen(), beta_gen()
poisson, binom, nbinom = poisson_gen(), binom_gen(), nbinom_gen()
multivariate_normal, dirichlet = multivariate_normal_gen(), dirichlet_gen()

# SciPy's distributions are objects (scipy.stats.norm is an rv_continuous);
# the error raised when one of their methods converts a traced value names
# the method here with the same name.
for _dist in __all__:
    for _method in globals()[_dist].methods:
        register_replacement(f"scipy.stats.{_dist}.{_method}",
                             f"dualad.scipy.stats.{_dist}.{_method}")
# A frozen SciPy distribution holds a copy that no module exports, so the
# error can name only its class.
for _kind in ("rv_continuous", "rv_discrete"):
    register_replacement(f"scipy.stats.{_kind}",
                         "the method of the same name of the same distribution in "
                         "dualad.scipy.stats (e.g. dualad.scipy.stats.norm(loc, scale).cdf "
                         "for scipy.stats.norm(loc, scale).cdf)")
