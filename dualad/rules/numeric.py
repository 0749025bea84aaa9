"""Numerical methods and signals: interp, convolve, correlate, cov,
corrcoef, trapezoid, gradient, polyfit, linspace, geomspace, logspace.

Most of them are compositions that follow NumPy's own Python code step by
step on the traced values, so the value equals NumPy's to rounding and
every nesting composes: ``interp`` gathers each point's segment (found on
the primal values) with ``np.take`` and evaluates NumPy's formula there;
``cov``, ``corrcoef``, ``trapezoid``, ``gradient`` and the three spacing
functions repeat NumPy's arithmetic, with concatenation where NumPy writes
into slices.

Two primitives:

* ``convolve`` -- the full convolution along the last axis, bilinear.  Its
  value is ``np.convolve`` itself (for stacks of rows, the same sums from a
  sliding window); its JVP is ``convolve(ta, v) + convolve(a, tv)`` and its
  VJP the correlations of ``g`` with ``v`` and with ``a`` (valid convolutions
  with them reversed) -- the primitive applied to the values it is handed,
  so it nests.  NumPy's valid mode is computed as such (a parameter of the
  primitive), so that no cotangent sums more products than NumPy did.  ``np.convolve``'s and ``np.correlate``'s modes (and
  NumPy's swap when ``v`` is the longer) are slices of it; ``correlate``
  convolves with ``conj(v)`` reversed, as NumPy conjugates.
* ``polyfit`` -- the coefficients NumPy's ``np.polyfit`` returns, with the
  least-squares sensitivity as JVP (``dc = (AᵀA)⁻¹ [dAᵀ r + Aᵀ (db - dA c)]``
  for the weighted Vandermonde matrix ``A``, right-hand side ``b`` and
  residual ``r``, through ``np.linalg.solve`` of the column-scaled normal
  matrix), written with NumPy calls on the output and the arguments, so
  second order works; its VJP is derived by transposition.

Where a value is computed by LAPACK and a composition would only agree to
a condition number times rounding (polyfit's residuals and singular
values), the value is NumPy's and the derivative that of an exact formula
(:func:`_numpy_value`).
"""

from __future__ import annotations

import math
import operator
import warnings

import numpy as np

from ..chain import real_for
from ..core import lowest, Box, concrete, ndim_of, primal, shape_of, unbroadcast
from ..extend import Primitive, refuse, register

__all__ = ["convolve_p", "polyfit_p"]


def _array(value):
    """``value`` as an array, or the box it is."""
    return value if isinstance(value, Box) else np.asanyarray(value)


def _dtype_of(value):
    return np.result_type(primal(value))


def _cast(value, dtype):
    """``value`` in ``dtype`` (a traced value through a cast, which has a derivative)."""
    dtype = np.dtype(dtype)
    if isinstance(value, Box):
        return value if _dtype_of(value) == dtype else value.astype(dtype)
    return np.asarray(value, dtype=dtype)


def _numpy_value(value, expr):
    """NumPy's ``value`` with the derivatives of ``expr``, an exact formula
    for the same quantity: ``value + (expr - primal(expr))``, whose value is
    ``value`` exactly (the difference is 0) and whose derivative of every
    order is ``expr``'s.  For values that LAPACK computes more accurately
    than the formula would."""
    if not isinstance(expr, Box):
        return value
    return value + (expr - lowest(expr))


# ---- convolve / correlate -----------------------------------------------------------------
def _convolution(a, v, valid):
    """The full (or, with ``valid``, NumPy's valid) convolution of the last
    axes of raw ``a`` and ``v``, other axes broadcast: np.convolve itself
    for two vectors.  Stacks of rows (vector mode, nestings) loop over the
    shortest of three axes: the rows (np.convolve on each), or else the
    shorter vector's entries or the outputs (each step vectorised)."""
    mode = "valid" if valid else "full"
    if a.ndim == 1 and v.ndim == 1:   # (contiguous: NumPy's loop over a reversed view is slow)
        return np.convolve(np.ascontiguousarray(a), np.ascontiguousarray(v), mode)
    n, m = a.shape[-1], v.shape[-1]
    rows = np.broadcast_shapes(a.shape[:-1], v.shape[:-1])
    long, short = (a, v) if n >= m else (v, a)
    small = short.shape[-1]
    count = max(n, m) - small + 1 if valid else n + m - 1
    dtype = np.result_type(a, v)
    if math.prod(rows) <= min(small, count):
        a_rows = np.broadcast_to(a, rows + (n,)).reshape(-1, n)
        v_rows = np.broadcast_to(v, rows + (m,)).reshape(-1, m)
        out = np.empty((a_rows.shape[0], count), dtype=dtype)
        for i in range(out.shape[0]):
            out[i] = np.convolve(np.ascontiguousarray(a_rows[i]), np.ascontiguousarray(v_rows[i]), mode)
        return out.reshape(rows + (count,))
    if not valid:
        long = np.pad(long, [(0, 0)] * (long.ndim - 1) + [(small - 1, small - 1)])
    reverse = short[..., ::-1]
    out = np.zeros(rows + (count,), dtype=dtype)
    if small <= count:      # out[k] = Σ_j long[k + j] reverse[j], a step per j
        for j in range(small):
            out += long[..., j:j + count] * reverse[..., j:j + 1]
    else:                   # a step per output
        for k in range(count):
            out[..., k] = np.sum(long[..., k:k + small] * reverse, axis=-1)
    return out


def _aligned(t, arg, other):
    """Tangent ``t`` of ``arg`` with the batch axes of vector mode kept ahead
    of the rows that ``arg`` and ``other`` broadcast together."""
    extra = ndim_of(t) - ndim_of(arg)
    rows = len(np.broadcast_shapes(shape_of(arg)[:-1], shape_of(other)[:-1]))
    missing = rows - (ndim_of(arg) - 1)
    if extra and missing:
        shape = shape_of(t)
        t = np.reshape(t, shape[:extra] + (1,) * missing + shape[extra:])
    return t


def _full_cotangent(g, a, v, valid):
    """The cotangent of the full convolution: ``g`` itself, or for the valid
    part zeros around it."""
    if not valid:
        return g
    pad = min(shape_of(a)[-1], shape_of(v)[-1]) - 1
    return np.pad(g, [(0, 0)] * (ndim_of(g) - 1) + [(pad, pad)]) if pad else g


def _convolve_vjp_a(g, out, a, v, valid):
    # a correlation of g with v: the valid convolution with v reversed
    c = convolve_p(_full_cotangent(g, a, v, valid), np.flip(v, axis=-1), valid=True)
    return unbroadcast(real_for(c, a), shape_of(a))


def _convolve_vjp_v(g, out, a, v, valid):
    c = convolve_p(_full_cotangent(g, a, v, valid), np.flip(a, axis=-1), valid=True)
    return unbroadcast(real_for(c, v), shape_of(v))


convolve_p = Primitive(
    "convolve", _convolution,
    jvp=(lambda t, out, a, v, valid: convolve_p(_aligned(t, a, v), v, valid=valid),
         lambda t, out, a, v, valid: convolve_p(a, _aligned(t, v, a), valid=valid)),
    vjp=(_convolve_vjp_a, _convolve_vjp_v),
    doc="The full (or valid) convolution along the last axis (np.convolve for two vectors).")

_MODES = {"valid": 0, "same": 1, "full": 2, 0: 0, 1: 1, 2: 2}


def _mode(name, mode):
    """NumPy's mode number (0 valid, 1 same, 2 full), NumPy's error otherwise."""
    getattr(np, name)(np.ones(1), np.ones(1), mode)   # NumPy's own check of the mode
    key = mode.lower() if isinstance(mode, str) else operator.index(mode)
    return _MODES[key]


def _vector(value, what):
    value = _array(value)
    nd = ndim_of(value)
    if nd == 0:
        value = np.reshape(value, (1,))
    elif nd > 1:
        raise ValueError(f"object too deep for desired array ({what} must be 1-D)")
    return value


def _cut(a, v, mode, same_offset):
    """The ``mode`` part of the convolution of vectors ``a`` and ``v``: the
    valid part computed as such (only its entries are summed), the centred
    part of length ``max(n, m)`` sliced from the full one."""
    if mode == 0:
        return convolve_p(a, v, valid=True)
    full = convolve_p(a, v, valid=False)
    if mode == 2:
        return full
    big = max(shape_of(a)[0], shape_of(v)[0])
    return full[same_offset:same_offset + big]


def _convolve(a, v, mode="full"):
    """np.convolve: a slice of the full convolution (NumPy's modes, with its
    swap when ``v`` is the longer)."""
    mode = _mode("convolve", mode)
    a, v = _vector(a, "a"), _vector(v, "v")
    n, m = shape_of(a)[0], shape_of(v)[0]
    if n == 0:
        raise ValueError("a cannot be empty")
    if m == 0:
        raise ValueError("v cannot be empty")
    return _cut(a, v, mode, (min(n, m) - 1) // 2)


def _correlate(a, v, mode="valid"):
    """np.correlate: ``c[k] = Σ_n a[n + k] conj(v[n])``, the full convolution
    of ``a`` with ``conj(v)`` reversed, cut as NumPy cuts it."""
    mode = _mode("correlate", mode)
    a, v = _vector(a, "a"), _vector(v, "v")
    n, m = shape_of(a)[0], shape_of(v)[0]
    if n == 0 or m == 0:
        raise ValueError("first array argument cannot be empty" if n == 0
                         else "second array argument cannot be empty")
    w = np.conj(v) if _dtype_of(v).kind == "c" else v
    small = min(n, m)
    offset = (small - 1) // 2 if n >= m else small // 2
    return _cut(a, np.flip(w), mode, offset)


register(np.convolve, _convolve)
register(np.correlate, _correlate)


# ---- interp -----------------------------------------------------------------------------
def _interp_real(x, xp, fp, left, right):
    """NumPy's compiled interp on real values: for ``xp[j] <= x < xp[j+1]``
    the value ``slope_j (x - xp[j]) + fp[j]`` (anchored at ``xp[j+1]`` where
    that is NaN, as NumPy retries), ``fp[-1]`` at ``x == xp[-1]``, ``left``
    and ``right`` outside.  The segment is found on the primal values; the
    derivative in ``x`` is its slope, at a grid point ``xp[j]`` the slope to
    the right of it, at ``xp[-1]`` that of the last segment."""
    xr, xpr = lowest(x), lowest(xp)
    n = xpr.shape[0]
    below, above, missing = xr < xpr[0], xr > xpr[-1], np.isnan(xr)
    left = fp[0] if left is None else left
    right = fp[-1] if right is None else right
    if n == 1:
        inner = np.broadcast_to(fp[0], xr.shape) if xr.shape else fp[0]
    else:
        j = np.searchsorted(xpr, xr, side="right") - 1        # xp[j] <= x < xp[j + 1]
        k = np.clip(j, 0, n - 2)
        x0, x1 = np.take(xp, k), np.take(xp, k + 1)
        f0, f1 = np.take(fp, k), np.take(fp, k + 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = (f1 - f0) / (x1 - x0)
            from_left = slope * (x - x0) + f0
            at_last = j >= n - 1
            retry = np.isnan(lowest(from_left)) & ~at_last
            anchor_right = at_last | retry
            inner = from_left
            if np.any(anchor_right):
                inner = np.where(anchor_right, slope * (x - x1) + f1, from_left)
            # NumPy returns fp[j] itself at a grid point, and fp[j] when both
            # anchors give NaN on a flat segment
            hit = xr == np.take(xpr, np.clip(j, 0, n - 1))
            slope_raw = lowest(slope)
            flat = retry & np.isnan(lowest(inner)) & \
                (lowest(f0) == lowest(f1))
            exact = (hit & ~np.isfinite(slope_raw)) | flat
            if np.any(exact):
                inner = np.where(exact, np.where(at_last, f1, f0), inner)
    result = np.where(below, left, np.where(above, right, inner))
    if np.any(missing):
        result = np.where(missing, x, result)
    return result


def _interp(x, xp, fp, left=None, right=None, period=None):
    """np.interp with traced ``x``, ``xp``, ``fp``, ``left``, ``right`` and
    ``period``; complex ``fp`` interpolates its real and imaginary parts, as
    NumPy does."""
    # NumPy's checks
    np.interp(*(None if v is None else concrete(v) for v in (x, xp, fp, left, right, period)))
    complex_fp = np.iscomplexobj(primal(fp))
    x, xp = _cast(x, np.float64), _cast(xp, np.float64)
    fp = _cast(fp, np.complex128 if complex_fp else np.float64)
    if period is not None:
        period = np.abs(period)
        left = right = None
        x = np.remainder(x, period)
        xp = np.remainder(xp, period)
        order = np.argsort(lowest(xp))
        xp, fp = np.take(xp, order), np.take(fp, order)
        xp = np.concatenate((xp[-1:] - period, xp, xp[0:1] + period))
        fp = np.concatenate((fp[-1:], fp, fp[0:1]))
    if not complex_fp:
        return _interp_real(x, xp, fp, left, right)
    parts = [_interp_real(x, xp, part(fp), None if bound_l is None else part(bound_l),
                          None if bound_r is None else part(bound_r))
             for part, bound_l, bound_r in ((np.real, left, right), (np.imag, left, right))]
    return parts[0] + 1j * parts[1]


register(np.interp, _interp)


# ---- trapezoid ----------------------------------------------------------------------------
def _trapezoid(y, x=None, dx=1.0, axis=-1):
    """np.trapezoid as NumPy computes it: Σ d (y[1:] + y[:-1]) / 2 along ``axis``."""
    y = _array(y)
    nd = ndim_of(y)
    if x is None:
        d = dx
    else:
        x = _array(x)
        if ndim_of(x) == 1:
            d = np.diff(x)
            shape = [1] * nd
            shape[axis] = shape_of(d)[0]
            d = np.reshape(d, shape)
        else:
            d = np.diff(x, axis=axis)
    upper, lower = [slice(None)] * nd, [slice(None)] * nd
    upper[axis], lower[axis] = slice(1, None), slice(None, -1)
    return np.sum(d * (y[tuple(upper)] + y[tuple(lower)]) / 2.0, axis)


register(np.trapezoid, _trapezoid)


# ---- linspace / logspace / geomspace -------------------------------------------------------
def _linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
              device=None):
    """np.linspace as NumPy computes it: ``arange(num) * step + start`` with
    ``step = (stop - start) / div`` (``arange / div * delta`` when a step
    underflows to 0), and ``stop`` itself as the last point with
    ``endpoint=True``; array endpoints broadcast along a new ``axis``."""
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    div = (num - 1) if endpoint else num
    # Python numbers are weak, as in NumPy's promotion of the endpoints
    dt = np.result_type(*(v if type(v) in (int, float, complex) else lowest(v)
                          for v in (start, stop)), 0.0)
    start, stop = _array(start), _array(stop)
    if dt.kind not in "fc":
        dt = np.dtype(np.float64)
    integer_dtype = dtype is not None and np.issubdtype(dtype, np.integer)
    if dtype is None:
        dtype = dt
    start, stop = _cast(start, dt), _cast(stop, dt)
    delta = stop - start
    lead = np.broadcast_shapes(shape_of(start), shape_of(stop))
    y = np.arange(0, num, dtype=dt, device=device).reshape((-1,) + (1,) * len(lead))
    if div > 0:
        step = delta / div
        if np.any(lowest(step) == 0):     # NumPy's care for denormal steps
            y = y / div * delta
        else:
            y = y * step
    else:
        step = np.nan
        y = y * delta
    y = y + start
    if endpoint and num > 1:
        last = np.reshape(np.broadcast_to(stop, lead), (1,) + lead)
        y = np.concatenate([y[:-1], last], axis=0)
    if axis != 0:
        y = np.moveaxis(y, 0, axis)
    if integer_dtype:
        y = np.floor(y)
    y = _cast(y, dtype)
    return (y, step) if retstep else y


def _logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """np.logspace as NumPy computes it: ``base ** linspace(start, stop)``,
    a traced ``base`` included (an array base broadcast as NumPy does)."""
    if not isinstance(base, (float, int)) and ndim_of(base):
        ndmax = len(np.broadcast_shapes(shape_of(start), shape_of(stop), shape_of(base)))
        start, stop, base = (np.reshape(v, (1,) * (ndmax - ndim_of(v)) + shape_of(v))
                             for v in (_array(start), _array(stop), _array(base)))
        base = np.expand_dims(base, axis=axis)
    y = np.linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    result = np.power(base, y)
    return result if dtype is None else _cast(result, dtype)


def _geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """np.geomspace as NumPy computes it: powers of 10 between the logarithms
    of the endpoints rotated onto the positive reals, with both endpoints
    themselves placed at the ends."""
    start, stop = _array(start), _array(stop)
    start_raw, stop_raw = lowest(start), lowest(stop)
    if np.any(start_raw == 0) or np.any(stop_raw == 0):
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(start_raw, stop_raw, float(num), np.zeros((), dtype))
    dtype = dt if dtype is None else np.dtype(dtype)
    start, stop = _cast(start, dt), _cast(stop, dt)
    out_sign = np.sign(start)
    start = start / out_sign
    stop = stop / out_sign
    result = np.logspace(np.log10(start), np.log10(stop), num=num, endpoint=endpoint,
                         base=10.0, dtype=dt)
    lead = shape_of(result)[1:]
    if num > 0:
        ends = [np.reshape(np.broadcast_to(start, lead), (1,) + lead)]
        middle = result[1:]
        if num > 1 and endpoint:
            middle = result[1:-1]
            tail = [np.reshape(np.broadcast_to(stop, lead), (1,) + lead)]
        else:
            tail = []
        result = np.concatenate(ends + [middle] + tail, axis=0)
    result = result * out_sign
    if axis != 0:
        result = np.moveaxis(result, 0, axis)
    return _cast(result, dtype)


register(np.linspace, _linspace)
register(np.logspace, _logspace)
register(np.geomspace, _geomspace)


# ---- cov / corrcoef -----------------------------------------------------------------------
def _at_least_2d(value, dtype):
    value = _cast(value, dtype)
    nd = ndim_of(value)
    return np.reshape(value, (1,) * (2 - nd) + shape_of(value)) if nd < 2 else value


def _sample_weights(weights, what, samples):
    raw = lowest(weights, float)
    if raw.ndim > 1:
        raise RuntimeError(f"cannot handle multidimensional {what}")
    if raw.shape[0] != samples:
        raise RuntimeError(f"incompatible numbers of samples and {what}")
    if any(raw < 0):
        raise ValueError(f"{what} cannot be negative")
    return raw


def _cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
         dtype=None):
    """np.cov as NumPy computes it (np.average of the samples, the centred
    product through np.dot), with traced ``m``, ``y`` and ``aweights``;
    ``fweights`` are integer counts, constant."""
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    m = _array(m)
    if ndim_of(m) > 2:
        raise ValueError("m has more than 2 dimensions")
    if y is not None:
        y = _array(y)
        if ndim_of(y) > 2:
            raise ValueError("y has more than 2 dimensions")
    if dtype is None:
        arrays = [lowest(m)] + ([] if y is None else [lowest(y)])
        dtype = np.result_type(*arrays, np.float64)
    X = _at_least_2d(m, dtype)
    if not rowvar and ndim_of(m) != 1:
        X = X.T
    if shape_of(X)[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        y = _at_least_2d(y, dtype)
        if not rowvar and shape_of(y)[0] != 1:
            y = y.T
        X = np.concatenate((X, y), axis=0)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    samples = shape_of(X)[1]
    w = None
    if fweights is not None:
        if isinstance(fweights, Box):
            raise TypeError("numpy.cov: fweights= is traced, but frequency weights are integer "
                            "counts with no derivative; pass them as a constant array "
                            "(aweights= takes traced weights)")
        fweights = _sample_weights(fweights, "fweights", samples)
        if not np.all(fweights == np.around(fweights)):
            raise TypeError("fweights must be integer")
        w = fweights
    if aweights is not None:
        _sample_weights(aweights, "aweights", samples)
        aweights = _cast(aweights, float)
        w = aweights if w is None else w * aweights
    avg, w_sum = np.average(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        fact = samples - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        products = w * aweights
        total = np.sum(products) if isinstance(products, Box) else sum(products)
        fact = w_sum - ddof * total / w_sum
    if concrete(fact) <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=3)
        fact = 0.0
    X = _cast(X - avg[:, None], _dtype_of(X))          # NumPy subtracts in place
    X_T = X.T if w is None else (X * w).T
    if _dtype_of(X_T).kind == "c":
        X_T = np.conj(X_T)
    c = np.dot(X, X_T)
    c = _cast(c * np.true_divide(1, fact), _dtype_of(c))  # NumPy multiplies in place
    return np.squeeze(c)


def _corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """np.corrcoef as NumPy computes it.  NumPy clips the real (and
    imaginary) parts to [-1, 1], which only moves values that rounding put
    just beyond: the value is clipped, the derivative that of the ratio
    inside (docs/kinks.md)."""
    c = np.cov(x, y, rowvar, dtype=dtype)
    if ndim_of(c) != 2:
        return c / c
    stddev = np.sqrt(np.real(np.diagonal(c)))
    c = c / stddev[:, None]
    c = c / stddev[None, :]
    raw = lowest(c)
    shift = np.clip(raw.real, -1, 1) - raw.real
    if raw.dtype.kind == "c":
        shift = shift + 1j * (np.clip(raw.imag, -1, 1) - raw.imag)
    if np.any(shift != 0):
        c = c + shift.astype(raw.dtype)
    return c


register(np.cov, _cov)
register(np.corrcoef, _corrcoef)


# ---- gradient -----------------------------------------------------------------------------
def _gradient(f, *varargs, axis=None, edge_order=1):
    """np.gradient as NumPy computes it: central differences inside,
    one-sided ones of ``edge_order`` at the ends, for scalar spacings and
    coordinate arrays (traced or not).  A traced coordinate array always
    takes NumPy's formula for uneven spacing (NumPy's shortcut for evenly
    spaced coordinates has the same value, but its derivative would follow
    the first spacing alone)."""
    f = _array(f)
    N = ndim_of(f)
    axes = tuple(range(N)) if axis is None else np.lib.array_utils.normalize_axis_tuple(axis, N)
    len_axes = len(axes)
    n = len(varargs)
    if n == 0:
        dx = [1.0] * len_axes
    elif n == 1 and ndim_of(varargs[0]) == 0:
        dx = list(varargs) * len_axes
    elif n == len_axes:
        dx = list(varargs)
        for i, distances in enumerate(dx):
            distances = _array(distances)
            if ndim_of(distances) == 0:
                continue
            if ndim_of(distances) != 1:
                raise ValueError("distances must be either scalars or 1d")
            if shape_of(distances)[0] != shape_of(f)[axes[i]]:
                raise ValueError("when 1d, distances must match "
                                 "the length of the corresponding dimension")
            if np.issubdtype(_dtype_of(distances), np.integer):
                distances = _cast(distances, np.float64)
            diffx = np.diff(distances)
            if not isinstance(diffx, Box) and (diffx == diffx[0]).all():
                diffx = diffx[0]
            dx[i] = diffx
    else:
        raise TypeError("invalid number of arguments")
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    otype = _dtype_of(f)
    if not np.issubdtype(otype, np.inexact):
        if np.issubdtype(otype, np.integer):
            f = _cast(f, np.float64)
        otype = np.dtype(np.float64)

    def part(ax, start, stop):
        index = [slice(None)] * N
        index[ax] = slice(start, stop)
        return f[tuple(index)]

    def shaped(d, ax):
        shape = [1] * N
        shape[ax] = -1
        return np.reshape(d, shape)

    outvals = []
    for ax, ax_dx in zip(axes, dx):
        if shape_of(f)[ax] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, "
                "at least (edge_order + 1) elements are required.")
        uniform = ndim_of(ax_dx) == 0
        if uniform:
            inner = (part(ax, 2, None) - part(ax, None, -2)) / (2. * ax_dx)
        else:
            dx1, dx2 = ax_dx[0:-1], ax_dx[1:]
            a = shaped(-(dx2) / (dx1 * (dx1 + dx2)), ax)
            b = shaped((dx2 - dx1) / (dx1 * dx2), ax)
            c = shaped(dx1 / (dx2 * (dx1 + dx2)), ax)
            inner = a * part(ax, None, -2) + b * part(ax, 1, -1) + c * part(ax, 2, None)
        if edge_order == 1:
            dx_0 = ax_dx if uniform else ax_dx[0]
            dx_n = ax_dx if uniform else ax_dx[-1]
            first = (part(ax, 1, 2) - part(ax, 0, 1)) / dx_0
            last = (part(ax, -1, None) - part(ax, -2, -1)) / dx_n
        else:
            if uniform:
                a, b, c = -1.5 / ax_dx, 2. / ax_dx, -0.5 / ax_dx
            else:
                dx1, dx2 = ax_dx[0], ax_dx[1]
                a = -(2. * dx1 + dx2) / (dx1 * (dx1 + dx2))
                b = (dx1 + dx2) / (dx1 * dx2)
                c = - dx1 / (dx2 * (dx1 + dx2))
            first = a * part(ax, 0, 1) + b * part(ax, 1, 2) + c * part(ax, 2, 3)
            if uniform:
                a, b, c = 0.5 / ax_dx, -2. / ax_dx, 1.5 / ax_dx
            else:
                dx1, dx2 = ax_dx[-2], ax_dx[-1]
                a = (dx2) / (dx1 * (dx1 + dx2))
                b = - (dx2 + dx1) / (dx1 * dx2)
                c = (2. * dx2 + dx1) / (dx2 * (dx1 + dx2))
            last = a * part(ax, -3, -2) + b * part(ax, -2, -1) + c * part(ax, -1, None)
        pieces = [first, inner, last]
        out = np.concatenate([_cast(p, otype) for p in pieces], axis=ax)
        outvals.append(out)
    if len_axes == 1:
        return outvals[0]
    return tuple(outvals)


register(np.gradient, _gradient)


# ---- polyfit ------------------------------------------------------------------------------
def _vander(x, order):
    """np.vander(x, order) as NumPy builds it (a cumulative product of x), traced."""
    n = shape_of(x)[-1]
    ones = np.ones(shape_of(x)[:-1] + (n, 1), dtype=_dtype_of(x))
    if order == 1:
        return ones
    powers = np.cumprod(np.broadcast_to(x[..., :, None], shape_of(x) + (order - 1,)), axis=-1)
    return np.concatenate([ones, powers], axis=-1)[..., ::-1]


def _polyfit_impl(x, y, w, deg, rcond, full_rank):
    return np.polyfit(x, y, deg, rcond, w=w)


def _polyfit_jvp(tangents, out, x, y, w, deg, rcond, full_rank):
    if not full_rank:
        raise ValueError(
            "numpy.polyfit: the least-squares fit is rank deficient (NumPy warns that it may "
            "be poorly conditioned), and its coefficients have no derivative there; lower "
            "deg, or use sample points with more distinct values")
    tx, ty, tw = tangents
    order = deg + 1
    two_d = ndim_of(y) == 2
    V = _vander(x, order)                                   # (n, p)
    C = out if two_d else out[:, None]                      # (p, k)
    Y = y if two_d else y[:, None]                          # (n, k)
    M, B = (V, Y) if w is None else (V * w[:, None], Y * w[:, None])
    dM = dB = None
    if tx is not None:
        powers = np.arange(order - 1, 0, -1, dtype=float)
        dV = np.concatenate([V[..., 1:] * powers, np.zeros(shape_of(x) + (1,))], axis=-1)
        dM = dV * tx[..., :, None]
        if w is not None:
            dM = dM * w[:, None]
    if tw is not None:
        dW = tw[..., :, None]
        dM = V * dW if dM is None else dM + V * dW
        dB = Y * dW
    if ty is not None:
        dY = ty if two_d else ty[..., None]
        dY = dY if w is None else dY * w[:, None]
        dB = dY if dB is None else dB + dY
    scale = np.sqrt(np.sum(lowest(M) ** 2, axis=0))   # a constant preconditioner
    A = M / scale
    rhs = 0.0
    if dM is not None:
        residual = B - M @ C
        rhs = (dM / scale).mT @ residual - A.mT @ (dM @ C)
    if dB is not None:
        rhs = rhs + A.mT @ dB
    dC = np.linalg.solve(A.mT @ A, rhs) / scale[:, None]
    return dC if two_d else dC[..., 0]


polyfit_p = Primitive(
    "polyfit", _polyfit_impl, jvp=_polyfit_jvp,
    doc="np.polyfit's coefficients, with the least-squares sensitivity as JVP.")


def _polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """np.polyfit: the coefficients (a primitive whose value is NumPy's),
    and with ``full=True`` the residual sum of squares and the singular
    values of the scaled Vandermonde matrix (NumPy's values, the derivatives
    of ``Σ r²`` and of the square roots of ``eigvalsh(AᵀA)``), the rank and
    ``rcond``; with ``cov=True`` the covariance of the coefficients as NumPy
    scales it."""
    raw = [None if v is None else lowest(v) for v in (x, y, w)]
    for name, value in (("x", raw[0]), ("w", raw[2])):
        if value is not None and value.dtype.kind == "c":
            refuse("numpy.polyfit", name, "complex sample points and weights are not "
                   "implemented (complex y is)")
    numpy_result = np.polyfit(raw[0], raw[1], deg, rcond, full, raw[2], cov)
    _, resids, rank, sv, rcond_used = (numpy_result if full else
                                       np.polyfit(raw[0], raw[1], deg, rcond, True, raw[2]))
    order = int(deg) + 1
    x = _array(x) + 0.0
    y = _array(y) + 0.0
    w = None if w is None else _array(w) + 0.0
    c = polyfit_p(x, y, w, deg=int(deg), rcond=rcond, full_rank=bool(rank == order))
    if not full and not cov:
        return c
    lhs = _vander(x, order)
    rhs = y
    if w is not None:
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if ndim_of(rhs) == 2 else w)
    residual = rhs - lhs @ c
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))
    lhs = lhs / scale
    if _dtype_of(residual).kind == "c":
        residual = np.abs(residual)
    resids_traced = np.sum(residual ** 2, axis=0)
    if ndim_of(resids_traced) == 0:
        resids_traced = np.reshape(resids_traced, (1,))
    if full:
        resids_out = resids if np.size(resids) == 0 else _numpy_value(resids, resids_traced)
        gram = lhs.T @ lhs
        sv_out = _numpy_value(sv, np.sqrt(np.linalg.eigvalsh(gram))[::-1])
        return c, resids_out, rank, sv_out, rcond_used
    Vbase = np.linalg.inv(np.dot(lhs.T, lhs))
    Vbase = Vbase / np.outer(scale, scale)
    if cov == "unscaled":
        fac = 1
    else:
        fac = _numpy_value(resids, resids_traced) / (shape_of(x)[0] - order)
    if ndim_of(y) == 1:
        return c, _numpy_value(numpy_result[1], Vbase * fac)
    return c, _numpy_value(numpy_result[1], Vbase[:, :, None] * fac)


register(np.polyfit, _polyfit)
