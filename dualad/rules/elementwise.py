"""Elementwise primitives: NumPy ufuncs and their derivatives.

Each function is declared once, with one derivative formula per argument
(``d(out, *args)``, written with NumPy calls) from which both the JVP and
the VJP rule are made; broadcasting is undone by ``core.unbroadcast``.
Functions whose every float output is piecewise constant (rounding,
``sign``, comparisons) run on raw values and return constants; the
functions at the end of the module that NumPy builds from selections
(``histogram``, ``unique``, ``full_like``, ``heaviside``, ``clip``) are
composed of primitives, with the selections -- bin memberships, first
occurrences, masks -- computed by NumPy on the primal values.

Derivative constants are Python floats, which NumPy treats as weakly typed:
a float32 computation keeps float32 tangents and cotangents.

Conventions at kinks (pinned by tests, listed in docs/kinks.md):
``abs'(0) = 0``; ``maximum``/``minimum``/``fmax``/``fmin`` give half the
derivative to each argument at a tie; ``where`` passes a tangent only
through the branch it takes; ``clip`` has derivative 1 with respect to x on
the closed interval [lo, hi]; ``x ** 0`` is the constant 1, also at x = 0;
``hypot'(0, 0) = 0`` (as ``norm``); ``unique`` gives the derivative of each
value to its first occurrence; ``histogram``'s edges follow ``min``/``max``;
``copysign``'s derivative in x1 is 0 at x1 = 0 (as ``abs``) and 0 in x2;
``remainder``, ``fmod``, ``divmod``'s remainder and ``modf``'s fraction
have the slope 1 in x at their jumps; ``nextafter`` is x1 to first order;
``nan_to_num`` gives the replaced entries derivative 0.

Two-output ufuncs (``frexp``, ``modf``, ``divmod``) return a tuple: the
differentiable output from a primitive, the piecewise constant one
(exponent, integral part, quotient) from NumPy on the primal values.
"""

from __future__ import annotations

import cmath
import math

import numpy as np
import scipy.special as sp

from ..core import lowest, Box, concrete, is_complex, primal
from ..extend import (Primitive, elementwise, nondiff, refuse, register,
                      register_replacement)

LN2 = math.log(2.0)
LN10 = math.log(10.0)


def _ufunc(ufunc, *derivs):
    prim = elementwise(ufunc.__name__, ufunc, *derivs)
    register(ufunc, prim)
    return prim


def _as_dtype(v, dtype):
    """``v`` in ``dtype``: a traced value through a cast (which has a
    derivative), any other value through NumPy."""
    if isinstance(v, Box):
        return v if np.result_type(primal(v)) == dtype else v.astype(dtype)
    return np.asarray(v, dtype=dtype)


def _float_dtype(*values):
    """The dtype NumPy gives an expression of ``values`` (Python scalars
    weakly typed), float64 if that would be an integer or boolean type."""
    dtype = np.result_type(*[np.asarray(v) if isinstance(v, (list, tuple)) else primal(v)
                             for v in values])
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


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
# Exponents of these types take the scalar path of _power_dx: x ** 2 is the
# most common operation after x * y, and must stay one multiplication.
_SCALAR_EXPONENTS = frozenset({int, float, np.float64, np.float32, np.float16,
                               np.int64, np.int32, np.int16, np.int8})


def _power_dx(out, x, y):
    if type(y) in _SCALAR_EXPONENTS:
        if y == 2:
            return 2 * x
        # x ** 1 = x and x ** 0 = 1 (NumPy's value, also at x = 0): constants,
        # not y * x ** (y - 1), which is 0 * inf = NaN at x = 0 for y = 0 and
        # whose own derivative is NaN there for y = 1.
        if y == 1:
            return 1.0
        if y == 0:
            return 0.0
        return y * x ** (y - 1)
    # An array or traced exponent: where y == 0 and x is 0 (or NaN), x ** y is
    # the constant 1; a base of 1 there makes y * x ** (y - 1) exactly 0 and
    # gives it no derivative in x.  The recursion x ** (y - 1) treats the
    # entries where y == 1 the same way.
    zero = np.equal(primal(y), 0)
    if zero.any():
        xp = primal(x)
        constant = zero & ((xp == 0) | np.isnan(xp))
        if constant.any():
            x = np.where(constant, 1.0, x)
    return y * x ** (y - 1)


def _power_dy(out, x, y):
    # d/dy x**y = x**y log x; at x == 0 it is taken as 0 (out is 0 there for y > 0).
    complex_out = is_complex(out)
    if type(x) in (int, float):  # a Python base stays weakly typed (float32 y, float32 tangent)
        if x < 0 and complex_out:  # NumPy promoted the base: its complex logarithm
            return out * cmath.log(x)
        return out * (math.log(x) if x > 0 else 0.0 if x == 0 else math.nan)
    safe = np.where(x == 0, 1.0, x)
    if complex_out and not is_complex(safe):
        safe = safe * (1 + 0j)  # a negative real base of a complex power: log(-2 + 0j)
    return out * np.log(safe)


power = _ufunc(np.power, _power_dx, _power_dy)


def _float_power(x1, x2):
    """np.float_power: np.power computed in float64 (longdouble for longdouble
    inputs), whatever the inputs' own precision -- float32 included."""
    dtype = _float_dtype(x1, x2, np.float64)
    # Python numbers stay as they are: NumPy converts them to dtype itself,
    # and a scalar exponent keeps power's scalar path.
    x1, x2 = [v if type(v) in (int, float) else _as_dtype(v, dtype) for v in (x1, x2)]
    return power(x1, x2)


register(np.float_power, _float_power)
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


def _hypot_d(out, x, y):
    # At x = y = 0 the derivative is taken as 0 (a subgradient, as for norm), not 0/0.
    zero = primal(out) == 0
    if np.any(zero):
        out = np.where(zero, 1.0, out)
    return x / out


hypot = _ufunc(np.hypot, lambda out, x, y: _hypot_d(out, x, y),
               lambda out, x, y: _hypot_d(out, y, x))

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
# (sqrt(x - 1) sqrt(x + 1), not sqrt(x² - 1): the same for real x, and the
# branch NumPy takes for complex x)
arccosh = _ufunc(np.arccosh, lambda out, x: 1 / (np.sqrt(x - 1) * np.sqrt(x + 1)))
arctanh = _ufunc(np.arctanh, lambda out, x: 1 / (1 - x * x))

# ---- kinks ------------------------------------------------------------------
absolute = elementwise("absolute", np.absolute, lambda out, x: np.sign(x))


def _fabs(x, **kwargs):
    """np.fabs: real arguments only, as NumPy (which raises for complex ones)."""
    return np.fabs(primal(x), **kwargs) if is_complex(x) else absolute(x, **kwargs)


register(np.fabs, _fabs)


# ---- complex values --------------------------------------------------------------
# Holomorphic functions need nothing here: their one formula f'(z) gives
# t · f'(z) forward and ḡ · f'(z) backward (cotangents pair with tangents by
# Re Σ ḡ·t, without conjugation, as in JAX and HIPS autograd).  The functions
# below are not holomorphic and have rules of their own:
#
# * a real-valued u(z) has one factor F = ∂u/∂x − i ∂u/∂y, the gradient of
#   the convention: tangent Re(F · t), cotangent ḡ · F (ḡ is real);
# * conj, and sign (z/|z|), map complex to complex and say so directly.
#
# At z = 0, |z|, angle and sign have no derivative; all three take 0 there
# (as abs'(0) = 0 for real values; docs/kinks.md).
def _nonzero(r):
    """``r`` with its zeros replaced by 1 (the primal decides which)."""
    zero = primal(r) == 0
    return np.where(zero, 1.0, r) if np.any(zero) else r


def _zero_at_zero(z, factor):
    """``factor(z)`` with exact zeros where ``z == 0``: a constant there, so
    the second derivative at 0 is 0 too (as for real ``abs``)."""
    zero = primal(z) == 0
    if not np.any(zero):
        return factor(z)
    return np.where(zero, 0.0, factor(np.where(zero, 1.0, z)))


def _real_valued(name, impl, factor, doc):
    """A real-valued function of a complex argument, from its factor F."""
    return Primitive(name, impl,
                     jvp=(lambda t, out, z: np.real(factor(out, z) * t),),
                     vjp=(lambda g, out, z: g * factor(out, z),),
                     elementwise=True, doc=doc)


abs_complex = _real_valued(
    "absolute", np.absolute, lambda out, z: _zero_at_zero(z, lambda w: np.conjugate(w) / np.abs(w)),
    "|z| of complex z: F = conj(z) / |z| (0 at z = 0).")
# -i conj(z) / |z|² is -i / z, which does not underflow for tiny |z|
angle_complex = _real_valued(
    "angle", np.angle, lambda out, z: _zero_at_zero(z, lambda w: -1j / w),
    "arg z of complex z: F = -i conj(z) / |z|² = -i / z (0 at z = 0).")
real_complex = Primitive("real", np.real, jvp=(lambda t, out, z: np.real(t),),
                         vjp=(lambda g, out, z: g,), elementwise=True,
                         doc="Re z of complex z: F = 1.")
imag_complex = Primitive("imag", np.imag, jvp=(lambda t, out, z: np.imag(t),),
                         vjp=(lambda g, out, z: -1j * g,), elementwise=True,
                         doc="Im z of complex z: F = -i.")
conjugate_complex = Primitive(
    "conjugate", np.conjugate, jvp=(lambda t, out, z: np.conjugate(t),),
    vjp=(lambda g, out, z: np.conjugate(g),), elementwise=True,
    doc="conj z: tangent conj(t), cotangent conj(ḡ) (Re(ḡ conj t) = Re(conj(ḡ) t)).")


def _sign_jvp(t, out, z):
    # d(z/|z|) = (t - s Re(conj(s) t)) / |z|, and 0 at z = 0
    r = np.abs(z)
    return np.where(primal(r) == 0, 0.0, (t - out * np.real(np.conjugate(out) * t)) / _nonzero(r))


def _sign_vjp(g, out, z):
    r = np.abs(z)
    return np.where(primal(r) == 0, 0.0, (g - np.real(g * out) * np.conjugate(out)) / _nonzero(r))


sign_complex = Primitive("sign", np.sign, jvp=(_sign_jvp,), vjp=(_sign_vjp,), elementwise=True,
                         doc="z/|z| of complex z (0 at z = 0).")
_real_sign = nondiff(np.sign)


def _by_kind(real_rule, complex_rule):
    """One rule for real arguments, another for complex ones."""
    def rule(x, **kwargs):
        return complex_rule(x, **kwargs) if is_complex(x) else real_rule(x, **kwargs)
    rule.__name__ = complex_rule.name
    return rule


register(np.absolute, _by_kind(absolute, abs_complex))
register(np.conjugate, _by_kind(positive, conjugate_complex))
register(np.sign, _by_kind(_real_sign, sign_complex))


def _real(val):
    """np.real: a real value itself, the real part of a complex one."""
    return real_complex(val) if is_complex(val) else val


def _imag(val):
    """np.imag: zeros (a constant) for a real value."""
    return imag_complex(val) if is_complex(val) else np.imag(primal(val))


def _angle(z, deg=False):
    """np.angle: of a real value 0 or π (piecewise constant), of a complex one
    arg z; ``deg`` in degrees."""
    if not is_complex(z):
        return np.angle(primal(z), deg=deg)
    a = angle_complex(z)
    return a * (180 / np.pi) if deg else a


register(np.real, _real)
register(np.imag, _imag)
register(np.angle, _angle)


def _pick(first_wins, tie):
    """Derivative masks of a two-way selection; a tie gives each side 1/2.
    The masks have the arguments' float dtype, so float32 stays float32."""
    def mask(wins, x, y):
        d = np.where(wins, 1.0, np.where(tie(x, y), 0.5, 0.0))
        dtype = _float_dtype(x, y)
        return d if dtype == d.dtype else d.astype(dtype)

    def d_first(out, x, y):
        return mask(first_wins(x, y), x, y)

    def d_second(out, x, y):
        return mask(first_wins(y, x), x, y)
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

_MISSING = object()  # np.where's x and y are positional-only; None is a value there


def _np_where(condition, x=_MISSING, y=_MISSING, /):
    if x is _MISSING and y is _MISSING:
        return np.where(primal(condition))
    if x is _MISSING or y is _MISSING:
        raise ValueError("either both or neither of x and y should be given")
    if x is None or y is None:
        refuse("numpy.where", "x" if x is None else "y",
               "None as a branch makes an object array, which dualad cannot differentiate")
    return where(lowest(condition, bool), x, y)


register(np.where, _np_where)


# ---- clip ---------------------------------------------------------------------
_NO_VALUE = np._NoValue


def _clip(a, a_min=_NO_VALUE, a_max=_NO_VALUE, out=None, *, min=_NO_VALUE, max=_NO_VALUE,
          **kwargs):
    """np.clip: NumPy's minimum(maximum(a, a_min), a_max) (so a_max wins when
    a_min > a_max, and a NaN anywhere gives NaN), with derivative 1 with
    respect to ``a`` on the closed interval [a_min, a_max] and with respect
    to a bound where it is the value.  Of the ufunc keywords, ``dtype``,
    ``casting``, ``order`` and ``subok`` are honoured; ``where``,
    ``signature`` and ``out`` are refused."""
    if a_min is _NO_VALUE and a_max is _NO_VALUE:  # NumPy's argument forms
        a_min = None if min is _NO_VALUE else min
        a_max = None if max is _NO_VALUE else max
    elif a_min is _NO_VALUE:
        raise TypeError("clip() missing 1 required positional argument: 'a_min'")
    elif a_max is _NO_VALUE:
        raise TypeError("clip() missing 1 required positional argument: 'a_max'")
    elif min is not _NO_VALUE or max is not _NO_VALUE:
        raise ValueError("Passing `min` or `max` keyword argument when "
                         "`a_min` and `a_max` are provided is forbidden.")
    if out is not None:
        refuse("numpy.clip", "out", "derivatives need every intermediate value; "
               "assign the result to a new variable instead")
    ufunc_keywords = {}
    for key, value in kwargs.items():
        if key == "where":
            if value is not True:
                refuse("numpy.clip", "where", "entries outside the mask would be undefined")
        elif key == "signature":  # (NumPy itself refuses signature=None here)
            refuse("numpy.clip", "signature", "use dtype= to choose the precision")
        elif key in ("dtype", "casting", "order", "subok"):
            ufunc_keywords[key] = value
        else:
            refuse("numpy.clip", key, "it is not an argument of numpy.clip")
    if ufunc_keywords:
        # NumPy's own result on the primal values: its errors (casting), its
        # dtype, and its value where there is no derivative (integer dtype).
        expected = np.clip(primal(a), primal(a_min), primal(a_max), **ufunc_keywords)
        dtype = np.result_type(expected)
        if dtype.kind == "c":
            refuse("numpy.clip", "dtype", "NumPy orders complex values lexicographically, "
                   "so clipping them has no useful derivative; clip the real and "
                   "imaginary parts separately")
        if dtype.kind != "f":
            return expected
        if ufunc_keywords.get("dtype") is not None:
            a, a_min, a_max = [v if v is None else _as_dtype(v, dtype) for v in (a, a_min, a_max)]
        result = _clipped(a, a_min, a_max)
        return result if np.result_type(primal(result)) == dtype else _as_dtype(result, dtype)
    return _clipped(a, a_min, a_max)


def _clipped(a, lo, hi):
    result = a
    if lo is not None:
        ap, lp = primal(a), primal(lo)
        below = (ap < lp) | (np.isnan(lp) & ~np.isnan(ap))
        result = where(np.asarray(below), lo, result)
    if hi is not None:
        rp, hp = primal(result), primal(hi)
        above = (rp > hp) | (np.isnan(hp) & ~np.isnan(rp))
        result = where(np.asarray(above), hi, result)
    return result


register(np.clip, _clip)


# ---- heaviside and full_like: a traced second argument ---------------------------
def _heaviside(x1, x2):
    """np.heaviside: 0 for x1 < 0, 1 for x1 > 0, x2 where x1 == 0 (so the
    derivative with respect to x2 is 1 there, 0 elsewhere; none in x1)."""
    value = np.heaviside(primal(x1), primal(x2))
    if not isinstance(x2, Box):
        return value
    return where(lowest(x1) == 0, x2, value)


register(np.heaviside, _heaviside)


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """np.full_like: ``fill_value`` broadcast to the output -- differentiable in
    a traced fill value (with a floating output dtype), constant in ``a``."""
    value = np.full_like(primal(a), primal(fill_value), dtype, order, subok, shape, device=device)
    if not isinstance(fill_value, Box) or value.dtype.kind not in "fc":
        return value
    if type(value) is not np.ndarray:
        refuse("numpy.full_like", "subok", f"the result would be a {type(value).__name__}")
    fill = _as_dtype(fill_value, value.dtype)
    # every entry from fill (value only gives the layout): np.full_like's cast value
    return where(np.ones(value.shape, dtype=bool), fill, value)


register(np.full_like, _full_like)
# np.full(shape, fill_value) converts fill_value with np.array before any
# dispatch can happen; the TypeError names the way out.
register_replacement("numpy.full", "fill_value * np.ones(shape) (or np.full_like)")


# ---- unique: values gathered from their first occurrence -------------------------------
def _unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
            equal_nan=True, sorted=True):
    """np.unique: the distinct values are gathered from the input, each from
    its first occurrence (NumPy's ``return_index``), so they are as
    differentiable as np.sort; at a tie the derivative of the value goes to
    that first entry.  Indices, inverse and counts are NumPy's."""
    p = primal(ar)
    result = np.unique(p, return_index, return_inverse, return_counts, axis,
                       equal_nan=equal_nan, sorted=sorted)
    values_p = result[0] if isinstance(result, tuple) else result
    if not isinstance(ar, Box) or values_p.dtype.kind != "f":
        return result
    if return_index:
        first = result[1]
    else:
        ordered, first = np.unique(p, return_index=True, axis=axis, equal_nan=equal_nan)
        if not np.array_equal(ordered, values_p, equal_nan=True):
            first = _first_occurrences(values_p, ordered, first, axis)
    if axis is None:
        values = np.reshape(ar, (-1,))[first]
    else:
        values = np.take(ar, first, axis=axis)
    return (values,) + result[1:] if isinstance(result, tuple) else values


def _first_occurrences(values, ordered, first, axis):
    """For unique values in NumPy's unsorted order (``sorted=False``), the
    positions of their first occurrences, from the sorted ``ordered`` ones."""
    if axis is not None or values.ndim != 1:
        refuse("numpy.unique", "sorted", "sorted=False with axis= is not supported")
    nan = np.isnan(values)
    pos = np.searchsorted(ordered, values)
    # NaNs (one per NaN with equal_nan=False) sort last, in input order
    pos[nan] = np.flatnonzero(np.isnan(ordered))[:int(nan.sum())]
    return first[pos]


register(np.unique, _unique)


# ---- histogram ---------------------------------------------------------------------
_HISTOGRAM_BLOCK = 65536  # NumPy sums weights in blocks of this many values


def _histogram(a, bins=10, range=None, density=None, weights=None):
    """np.histogram, with the derivatives of the parts that have one.

    * The edges of ``bins`` equal bins (an int, or a string estimator) are
      NumPy's ``linspace(min(a), max(a), bins + 1)`` (or over ``range``), so
      they follow min and max (or a traced range); explicit edges are
      constant (or themselves, when traced).
    * The counts are sums of ``weights`` per bin, differentiable in the
      weights; bin membership is piecewise constant, computed by NumPy's own
      algorithm on the primal values (its closed last bin, its treatment of
      values on an edge).
    * ``density=True`` divides by the total and the bin widths, so the
      density also depends on the edges.
    """
    a_p = primal(a)
    w_p = None if weights is None else primal(weights)
    range_p = None if range is None else tuple(primal(r) for r in range)
    string_bins = isinstance(bins, str)
    bins_p = bins if string_bins else primal(bins)
    hist_p, edges_p = np.histogram(a_p, bins_p, range_p, density, w_p)  # values and errors

    a_flat = np.asarray(a_p).ravel()
    if a_flat.dtype == np.bool_:
        a_flat = a_flat.astype(np.uint8)
    uniform = string_bins or np.ndim(bins_p) == 0
    if uniform:
        if range is not None:
            first, last = range
        elif a_flat.size == 0:
            first, last = 0, 1
        else:
            flat = np.reshape(a, (-1,)) if isinstance(a, Box) else a_flat
            first, last = np.min(flat), np.max(flat)
        if concrete(first) == concrete(last):
            first, last = first - 0.5, last + 0.5
        edges_traced = isinstance(first, Box) or isinstance(last, Box)
        edges = (np.linspace(first, last, len(edges_p), dtype=edges_p.dtype) if edges_traced
                 else edges_p)  # NumPy's own call: dualad.rules.numeric's linspace
    else:
        edges_traced = isinstance(bins, Box)
        edges = bins if edges_traced else edges_p
    weights_traced = isinstance(weights, Box)
    if not weights_traced and not (density and edges_traced):
        return hist_p, edges

    if weights_traced:
        w_flat = np.reshape(weights, (-1,))
        simple = np.can_cast(w_p.dtype, np.double) or np.can_cast(w_p.dtype, complex)
        if uniform and simple:
            n = _uniform_weighted_counts(a_flat, w_flat, np.result_type(w_p), edges_p,
                                         primal(first), primal(last))
        else:
            n = _cumulative_weighted_counts(a_flat, w_flat, np.result_type(w_p), edges_p)
    else:
        n = np.histogram(a_p, bins_p, range_p, None, w_p)[0]
    if density:
        db = _as_dtype(np.diff(edges), np.dtype(float))
        return n / db / np.sum(n), edges
    return n, edges


def _unsigned_subtract(a, b):
    """NumPy's histogram helper: a - b for a >= b, unsigned for signed integers."""
    unsigned = {np.byte: np.ubyte, np.short: np.ushort, np.intc: np.uintc,
                np.int_: np.uint, np.longlong: np.ulonglong}
    dt = np.result_type(a, b)
    if dt.type not in unsigned:
        return np.subtract(a, b, dtype=dt)
    return np.subtract(np.asarray(a, dtype=dt), np.asarray(b, dtype=dt),
                       casting="unsafe", dtype=unsigned[dt.type])


def _uniform_weighted_counts(a, w, ntype, edges, first, last):
    """NumPy's equal-bins histogram of raw ``a`` with traced weights ``w``:
    the same blocks, memberships and float64 sums (bincount's), as a
    scatter-add of the weights."""
    from .shape import Index, scatter_add_p
    n_bins = len(edges) - 1
    norm_denom = _unsigned_subtract(last, first)
    n = np.zeros(n_bins, ntype)
    for i in range(0, len(a), _HISTOGRAM_BLOCK):
        tmp_a = a[i:i + _HISTOGRAM_BLOCK]
        tmp_w = w[i:i + _HISTOGRAM_BLOCK]
        keep = (tmp_a >= first) & (tmp_a <= last)
        if not np.logical_and.reduce(keep):
            tmp_a = tmp_a[keep]
            tmp_w = tmp_w[keep]
        tmp_a = tmp_a.astype(edges.dtype, copy=False)
        f_indices = (_unsigned_subtract(tmp_a, first) / norm_denom) * n_bins
        indices = f_indices.astype(np.intp)
        indices[indices == n_bins] -= 1
        indices[tmp_a < edges[indices]] -= 1
        indices[(tmp_a >= edges[indices + 1]) & (indices != n_bins - 1)] += 1
        sums = scatter_add_p(_as_dtype(tmp_w, np.dtype(np.double)),
                             index=Index((indices,), 1), shape=(n_bins,))
        n = n + _as_dtype(sums, ntype)
    return n


def _cumulative_weighted_counts(a, w, ntype, edges):
    """NumPy's histogram for explicit edges with traced weights: cumulative
    sums of the weights sorted by value, read at the edges, differenced."""
    zero = np.zeros(1, dtype=ntype)
    cum_n = np.zeros(edges.shape, ntype)
    for i in range(0, len(a), _HISTOGRAM_BLOCK):
        tmp_a = a[i:i + _HISTOGRAM_BLOCK]
        order = np.argsort(tmp_a)
        sa = tmp_a[order]
        sw = w[i:i + _HISTOGRAM_BLOCK][order]
        cw = np.concatenate([zero, np.cumsum(sw)])
        bin_index = np.concatenate((sa.searchsorted(edges[:-1], "left"),
                                    sa.searchsorted(edges[-1:], "right")))
        cum_n = cum_n + cw[bin_index]
    return np.diff(cum_n)


register(np.histogram, _histogram)


# ---- sinc and i0 ---------------------------------------------------------------
# Coefficients of sinc'(x) = π²x Σ_k c_k (π²x²)^k near 0, c_k = (-1)^(k+1) (2k+2)/(2k+3)!:
# there the closed form (cos πx - sinc x) / x loses digits to cancellation.
_SINC_SERIES = (-1 / 3, 1 / 30, -1 / 840, 1 / 45360, -1 / 3991680, 1 / 518918400)
_SINC_SMALL = 0.1   # below it the series' first omitted term is under 1e-16 relative


def _sinc_d(out, x):
    small = np.abs(primal(x)) < _SINC_SMALL
    if not np.any(small):
        return (np.cos(np.pi * x) - out) / x
    xs = np.where(small, x, 0.0)
    u = (np.pi * np.pi) * (xs * xs)
    series = _SINC_SERIES[-1]
    for c in _SINC_SERIES[-2::-1]:
        series = series * u + c
    series = (np.pi * np.pi) * xs * series
    if np.all(small):
        return series
    xl = np.where(small, 1.0, x)
    return np.where(small, series, (np.cos(np.pi * xl) - np.sinc(xl)) / xl)


# np.sinc itself computes the value (1 at x = 0); the derivative is 0 there,
# the second derivative -π²/3 (the series differentiated), complex x as well
sinc = elementwise("sinc", np.sinc, _sinc_d,
                   doc="np.sinc, sin(πx)/(πx): derivative (cos πx - sinc x)/x, its series near 0.")


def _sinc(x):
    return sinc(x)


register(np.sinc, _sinc)


def _i0_d(out, x):
    return sp.i1(x)  # (registered by dualad.rules.special, with its derivative)


i0 = elementwise("i0", np.i0, _i0_d,
                 doc="np.i0 (NumPy's own values; real arguments, as NumPy): derivative i1.")


def _i0(x):
    return i0(x)


register(np.i0, _i0)


# ---- nan_to_num ------------------------------------------------------------------------
def _filled(part, value, replacements):
    """The real array ``part`` with NumPy's replacements ``value`` (a
    constant, its non-finite entries filled) where it is not finite; a
    traced ``nan``/``posinf``/``neginf`` fills its own entries, cast to the
    part's dtype."""
    raw = lowest(part)
    result = np.where(np.isfinite(raw), part, value)
    for test, replacement in zip((np.isnan, np.isposinf, np.isneginf), replacements):
        if isinstance(replacement, Box):
            mask = test(raw)
            if mask.any():
                result = np.where(mask, _as_dtype(replacement, raw.dtype), result)
    return result


def _nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """np.nan_to_num: NumPy's value; derivative 1 on the finite entries (each
    part of a complex one), 0 on the replaced ones, and 1 with respect to a
    traced ``nan``/``posinf``/``neginf`` on the entries it fills.
    ``copy=False`` asks NumPy to replace in place, which a traced value does
    not allow: refused when there is something to replace.  (NumPy hands
    the call to dualad only for a traced ``x``: traced replacement values
    with a constant ``x`` meet NumPy's own code, which raises the error
    naming numpy.nan_to_num.)"""
    p = primal(x)
    replacements = (nan, posinf, neginf)
    raw = np.asarray(p)
    traced = isinstance(x, Box) or any(isinstance(r, Box) for r in replacements)
    if isinstance(x, Box) and raw.dtype.kind in "fc" and np.isfinite(raw).all():
        return x  # nothing to replace (a traced value is never changed in place)
    value = np.nan_to_num(p, copy=True, nan=primal(nan), posinf=primal(posinf),
                          neginf=primal(neginf))  # NumPy's value (and errors)
    if raw.dtype.kind not in "fc" or not traced:
        return value
    if not copy:
        refuse("numpy.nan_to_num", "copy", "copy=False replaces the entries of x in place, "
               "which a value dualad is differentiating does not allow; use the returned value")
    if raw.dtype.kind == "f":
        return _filled(x, value, replacements)
    # complex: each part on its own; NumPy's value plus the parts' zero-valued
    # changes, so that a replacement of ±inf stays exact
    v = np.asarray(value)
    result = value
    for part, const, unit in ((np.real(x), v.real, 1.0), (np.imag(x), v.imag, 1j)):
        filled = _filled(part, const, replacements)
        exact = np.isfinite(const)
        change = np.where(exact, filled - np.where(exact, const, 0.0), 0.0)
        result = result + change * unit
    return result


register(np.nan_to_num, _nan_to_num)


# ---- sign and exponent manipulation -----------------------------------------------------
def _copysign_d(out, x1, x2):
    # |x1| with the sign of x2: ±sign(x1), 0 at x1 = 0 as abs'(0) = 0
    s = np.sign(x1)
    return np.where(np.signbit(x2), -s, s)


copysign = _ufunc(np.copysign, _copysign_d, None)
nextafter = _ufunc(np.nextafter, 1.0, None)  # x1 moved by one unit in the last place


def _ldexp_d(out, x1, x2):
    # x1 · 2**x2 is linear in x1; 2**x2 in out's dtype (float32 stays float32)
    return np.ldexp(np.ones((), np.result_type(primal(out))), x2)


ldexp = _ufunc(np.ldexp, _ldexp_d, None)


def _frexp(x):
    """np.frexp: the exponent (integers) from NumPy; the mantissa as
    ``ldexp(x, -exponent)``, which is exact, with derivative 2**-exponent."""
    mantissa, exponent = np.frexp(primal(x))
    if not isinstance(x, Box):
        return mantissa, exponent
    return ldexp(x, -exponent), exponent


register(np.frexp, _frexp)

modf_fraction = elementwise("modf", lambda x: np.modf(x)[0], 1.0,
                            doc="The fractional part of np.modf: derivative 1.")


def _modf(x):
    """np.modf: the fractional part (derivative 1) and the integral part, a
    constant (piecewise constant in x), both NumPy's values."""
    fraction = modf_fraction(x)
    return fraction, np.modf(primal(x))[1]


register(np.modf, _modf)


def _divmod(x1, x2):
    """np.divmod: NumPy's floor quotient (piecewise constant) and
    np.remainder's rule for the remainder, which is NumPy's value too."""
    return np.divmod(primal(x1), primal(x2))[0], remainder(x1, x2)


register(np.divmod, _divmod)


def _fmod_dx2(out, x1, x2):
    # fmod(x1, x2) = x1 - n·x2 with n = trunc(x1 / x2), computed exactly from the result
    return -np.rint((x1 - out) / x2)


fmod = _ufunc(np.fmod, 1.0, _fmod_dx2)


# ---- zero derivative ------------------------------------------------------
# Every float output of these is piecewise constant in every float input
# (tests/test_zero_derivative.py checks it for each registration).
for _u in (np.floor, np.ceil, np.rint, np.trunc, np.floor_divide,
           np.less, np.less_equal, np.greater, np.greater_equal, np.equal,
           np.not_equal, np.isnan, np.isinf, np.isfinite, np.signbit,
           np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
           np.spacing):
    register(_u, nondiff(_u))
for _f in (np.round, np.around, np.fix, np.isclose, np.allclose, np.array_equal, np.array_equiv,
           np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero,
           np.flatnonzero, np.count_nonzero, np.searchsorted, np.any, np.all,
           np.zeros_like, np.ones_like, np.empty_like,
           np.shape, np.ndim, np.size, np.iscomplexobj, np.isrealobj,
           np.isreal, np.iscomplex, np.result_type, np.can_cast, np.min_scalar_type,
           np.digitize):
    register(_f, nondiff(_f))
