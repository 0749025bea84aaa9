"""Elementwise primitives: NumPy ufuncs and their derivatives.

Each function is declared once, with one derivative formula per argument
(``d(out, *args)``, written with NumPy calls) from which both the JVP and
the VJP rule are made; broadcasting is undone by ``core.unbroadcast``.
Functions whose derivative is zero almost everywhere (rounding, ``sign``,
comparisons) run on raw values and return constants.

Conventions at kinks (pinned by tests): ``abs'(0) = 0``; ``maximum``/
``minimum``/``fmax``/``fmin`` give half the derivative to each argument at a
tie; ``where`` passes a tangent only through the branch it takes.
"""

from __future__ import annotations

import numpy as np

from ..core import Primitive, elementwise, nondiff, primal, register

LN2 = np.log(2.0)
LN10 = np.log(10.0)


def _ufunc(ufunc, *derivs):
    prim = elementwise(ufunc.__name__, ufunc, *derivs)
    register(ufunc, prim)
    return prim


# ---- linear ---------------------------------------------------------------
add = _ufunc(np.add, 1.0, 1.0)
subtract = _ufunc(np.subtract, 1.0, -1.0)
negative = _ufunc(np.negative, -1.0)
positive = _ufunc(np.positive, 1.0)

multiply = _ufunc(np.multiply, lambda out, x, y: y, lambda out, x, y: x)
divide = _ufunc(np.true_divide, lambda out, x, y: 1 / y, lambda out, x, y: -out / y)
deg2rad = _ufunc(np.deg2rad, lambda out, x: np.pi / 180)
rad2deg = _ufunc(np.rad2deg, lambda out, x: 180 / np.pi)
register(np.radians, deg2rad)
register(np.degrees, rad2deg)


# ---- powers and logarithms ------------------------------------------------
def _power_dx(out, x, y):
    if type(y) in (int, float) and y == 2:  # the common square: one pass, not two
        return 2 * x
    return y * x ** (y - 1)


def _power_dy(out, x, y):
    # d/dy x**y = x**y log x; at x == 0 the product is 0 (out is 0 there).
    safe = np.where(x == 0, 1.0, x)
    return out * np.log(safe)


power = _ufunc(np.power, _power_dx, _power_dy)
register(np.float_power, power)
square = _ufunc(np.square, lambda out, x: 2 * x)
# out + 0.0 turns sqrt(-0.0) = -0.0 into +0.0: the derivative at 0 is +inf either way.
sqrt = _ufunc(np.sqrt, lambda out, x: 0.5 / (out + 0.0))
cbrt = _ufunc(np.cbrt, lambda out, x: 1 / (3 * out * out))
reciprocal = _ufunc(np.reciprocal, lambda out, x: -(out * out))
exp = _ufunc(np.exp, lambda out, x: out)
exp2 = _ufunc(np.exp2, lambda out, x: out * LN2)
expm1 = _ufunc(np.expm1, lambda out, x: out + 1)
log = _ufunc(np.log, lambda out, x: 1 / x)
log2 = _ufunc(np.log2, lambda out, x: 1 / (x * LN2))
log10 = _ufunc(np.log10, lambda out, x: 1 / (x * LN10))
log1p = _ufunc(np.log1p, lambda out, x: 1 / (1 + x))
logaddexp = _ufunc(np.logaddexp, lambda out, x, y: np.exp(x - out),
                   lambda out, x, y: np.exp(y - out))
logaddexp2 = _ufunc(np.logaddexp2, lambda out, x, y: np.exp2(x - out),
                    lambda out, x, y: np.exp2(y - out))
hypot = _ufunc(np.hypot, lambda out, x, y: x / out, lambda out, x, y: y / out)

# ---- trigonometric and hyperbolic -----------------------------------------
sin = _ufunc(np.sin, lambda out, x: np.cos(x))
cos = _ufunc(np.cos, lambda out, x: -np.sin(x))
tan = _ufunc(np.tan, lambda out, x: 1 + out * out)
arcsin = _ufunc(np.arcsin, lambda out, x: 1 / np.sqrt(1 - x * x))
arccos = _ufunc(np.arccos, lambda out, x: -1 / np.sqrt(1 - x * x))
arctan = _ufunc(np.arctan, lambda out, x: 1 / (1 + x * x))
arctan2 = _ufunc(np.arctan2, lambda out, y, x: x / (x * x + y * y),
                 lambda out, y, x: -y / (x * x + y * y))
sinh = _ufunc(np.sinh, lambda out, x: np.cosh(x))
cosh = _ufunc(np.cosh, lambda out, x: np.sinh(x))
tanh = _ufunc(np.tanh, lambda out, x: 1 - out * out)
arcsinh = _ufunc(np.arcsinh, lambda out, x: 1 / np.sqrt(x * x + 1))
arccosh = _ufunc(np.arccosh, lambda out, x: 1 / np.sqrt(x * x - 1))
arctanh = _ufunc(np.arctanh, lambda out, x: 1 / (1 - x * x))

# ---- kinks ------------------------------------------------------------------
absolute = _ufunc(np.absolute, lambda out, x: np.sign(x))
register(np.fabs, absolute)


def _pick(first_wins, tie):
    """Derivative masks of a two-way selection; a tie gives each side 1/2."""
    def d_first(out, x, y):
        return np.where(first_wins(x, y), 1.0, np.where(tie(x, y), 0.5, 0.0))

    def d_second(out, x, y):
        return np.where(first_wins(y, x), 1.0, np.where(tie(x, y), 0.5, 0.0))
    return d_first, d_second


def _eq(x, y):
    return x == y


maximum = _ufunc(np.maximum, *_pick(lambda a, b: (a > b) | np.isnan(a), _eq))
minimum = _ufunc(np.minimum, *_pick(lambda a, b: (a < b) | np.isnan(a), _eq))
fmax = _ufunc(np.fmax, *_pick(lambda a, b: (a > b) | (np.isnan(b) & ~np.isnan(a)), _eq))
fmin = _ufunc(np.fmin, *_pick(lambda a, b: (a < b) | (np.isnan(b) & ~np.isnan(a)), _eq))
remainder = _ufunc(np.remainder, lambda out, x, y: 1.0,
                   lambda out, x, y: -np.floor_divide(x, y))
register(np.mod, remainder)


def _where_impl(cond, x, y):
    return np.where(cond, x, y)


# The tangent and cotangent of the branch not taken are exact zeros chosen by
# np.where, not multiplied by a mask, so an infinite or NaN derivative on the
# other side is not spread into them.
where = Primitive(
    "where", _where_impl,
    jvp=(None, lambda t, out, c, x, y: np.where(c, t, 0.0),
         lambda t, out, c, x, y: np.where(c, 0.0, t)),
    vjp=(None, lambda g, out, c, x, y: np.where(c, g, 0.0),
         lambda g, out, c, x, y: np.where(c, 0.0, g)),
    elementwise=True)


def _np_where(condition, x=None, y=None):
    if x is None and y is None:
        return np.where(primal(condition))
    return where(np.asarray(primal(condition), dtype=bool), x, y)


register(np.where, _np_where)


def _clip(a, a_min=None, a_max=None, out=None, **kwargs):
    """clip(x, lo, hi): derivative 1 with respect to x on [lo, hi] (bounds included),
    and with respect to a bound where x lies strictly beyond it."""
    if out is not None:
        raise TypeError("dualad cannot write np.clip's result in place (out=...)")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    result = a
    if a_min is not None:
        result = where(np.asarray(primal(a) < primal(a_min)), a_min, result)
    if a_max is not None:
        result = where(np.asarray(primal(a) > primal(a_max)), a_max, result)
    return result


register(np.clip, _clip)


# ---- zero derivative ------------------------------------------------------
for _u in (np.floor, np.ceil, np.rint, np.trunc, np.sign, np.floor_divide,
           np.less, np.less_equal, np.greater, np.greater_equal, np.equal,
           np.not_equal, np.isnan, np.isinf, np.isfinite, np.signbit,
           np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
           np.heaviside, np.spacing, np.sign):
    register(_u, nondiff(_u))
for _f in (np.round, np.around, np.fix, np.isclose, np.allclose, np.array_equal,
           np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero,
           np.flatnonzero, np.count_nonzero, np.searchsorted, np.any, np.all,
           np.zeros_like, np.ones_like, np.empty_like, np.full_like,
           np.shape, np.ndim, np.size, np.iscomplexobj, np.isrealobj,
           np.isreal, np.iscomplex, np.result_type, np.can_cast, np.min_scalar_type,
           np.digitize, np.histogram, np.unique):
    register(_f, nondiff(_f))
