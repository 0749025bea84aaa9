"""Reductions: sum, prod, max/min, cumsum, and mean/var/std built on them;
the array API's cumulative_sum/cumulative_prod (cumsum's and cumprod's
rules) and ediff1d (slices, a subtraction and a concatenation).

Axes are normalised at the NumPy boundary to a tuple of *negative* indices,
so the same rule works on a tangent with extra leading batch axes.  Ties in
``max``/``min`` share the derivative equally among the tied entries (as
JAX does); a tie with ``initial=`` gives half to the initial value, as
``np.maximum(np.max(x), initial)`` would.

Every keyword of NumPy's signatures is honoured with NumPy's semantics or
refused (``out=``, an object ``dtype=``, a traced ``initial=``/``ddof=``):

* ``where=`` and ``initial=`` are parameters of the primitives themselves,
  so the value is NumPy's own call on the raw arrays, bit for bit, and
  NumPy raises its own errors (``max`` with ``where`` but no ``initial``);
* a floating or complex ``dtype=`` casts the input first and reduces in
  that dtype (a real one keeps a complex input's real part, with NumPy's
  ComplexWarning); an integer or bool ``dtype=`` returns NumPy's plain
  result computed on the primal values (it has no derivative);
* ``mean`` of float16 accumulates in float32 and rounds back, as NumPy does.

Complex values: ``sum``, ``mean``, ``prod`` and ``cumsum`` are holomorphic
(linear or polynomial) and need nothing of their own.  ``var`` and ``std``
of a complex input are real (see :func:`_var`).  ``max`` and ``min`` of
complex values order them as NumPy does, lexicographically (real part
first, then imaginary part): away from ties of the real parts the result
is one selected entry, and its derivative that entry's, as for real input.
"""

from __future__ import annotations

import math
import operator
import typing

import numpy as np

from ..core import lowest, Box, broadcast_number, is_complex, note_complex, primal, shape_of
from ..extend import Primitive, refuse, register

__all__ = ["normalize_axes", "sum_p", "max_p", "min_p", "prod_p", "cumsum_p"]

_NoValue = np._NoValue  # NumPy's "not given" default, so that an absent keyword stays absent


def normalize_axes(axis, ndim: int) -> tuple:
    """``axis`` (None, int or tuple) as a sorted tuple of negative indices."""
    if axis is None:
        return tuple(range(-ndim, 0))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    out = []
    for a in axes:
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim)
        out.append(a - ndim if a >= 0 else a)
    if len(set(out)) != len(out):
        raise ValueError(f"repeated axis in {axis!r}")
    return tuple(sorted(out))


def _reduction_axes(axis, ndim: int) -> tuple:
    """A reduction's ``axis`` as NumPy reads it: None, an integer or a tuple
    of integers (a list is a TypeError, as in NumPy)."""
    if axis is None:
        return tuple(range(-ndim, 0))
    if isinstance(axis, tuple):
        return normalize_axes(tuple(operator.index(a) for a in axis), ndim)
    return normalize_axes(operator.index(axis), ndim)


def _keepdims_value(keepdims) -> bool:
    """NumPy reads ``keepdims`` as an integer (``np.True_``, None, 1.0 are TypeErrors)."""
    return False if keepdims is _NoValue else bool(operator.index(keepdims))


def _where_mask(where, shape: tuple):
    """``where=`` as a read-only bool mask of ``shape``, or None for "every
    entry" (NumPy's default; only the literal ``True`` means no mask)."""
    if where is _NoValue or where is True:
        return None
    w = lowest(where)
    if w.dtype != np.bool_:
        raise TypeError(f"Cannot cast array data from {w.dtype!r} to dtype('bool') "
                        "according to the rule 'safe'")
    return np.broadcast_to(w, shape)


def _initial_value(name: str, ufunc, initial, dtype):
    """``initial=`` converted as NumPy converts it (to the reduction's dtype,
    with NumPy's errors), or None when not given."""
    if initial is _NoValue or initial is None:
        return None
    if isinstance(initial, Box):
        refuse(f"numpy.{name}", "initial",
               "NumPy takes it as a constant scalar, so a traced initial value would lose its "
               "derivative; combine it outside instead (np.sum(x) + c, np.maximum(np.max(x), c))")
    return ufunc.reduce(np.empty(0, dtype), initial=initial)


def _refuse_out(name: str, out) -> None:
    if out is not None:
        refuse(f"numpy.{name}", "out",
               "dualad cannot write a result into an existing array (derivatives need every "
               "intermediate value); use the returned value instead")


def _computation_dtype(name: str, dtype):
    """``dtype=`` read as NumPy reads it: None, or an np.dtype whose kind is
    'f' or 'c' (computed in that dtype) or 'b'/'i'/'u' (no derivative).
    Other kinds are refused."""
    if dtype is None:
        return None
    d = np.dtype(dtype)
    if d.kind not in "biufc":
        refuse(f"numpy.{name}", "dtype", f"{d} is not a floating, complex, integer or bool dtype")
    if d.kind == "c":
        note_complex()  # a complex value from real inputs
    return d


def _as_inexact_input(a, dtype):
    """``a`` cast to the floating or complex ``dtype`` (when given), as an
    array or box; integers and booleans become float64."""
    if not isinstance(a, Box):
        a = np.asarray(a)
    p = primal(a)
    kind = np.result_type(p).kind
    if dtype is not None and np.result_type(p) != dtype:
        a = a.astype(dtype)
    elif kind in "biu":
        a = a.astype(np.float64)  # NumPy's mean and var of integers are computed in float64
    return a


def _keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    nd = len(shape)
    return tuple(1 if i - nd in axes else n for i, n in enumerate(shape))


def _expand(g, x, axes, keepdims):
    """A reduced value brought back to x's shape by broadcasting."""
    if type(g) in (np.ndarray, np.float64) and g.ndim == 0:  # a full reduction's
        return broadcast_number(g, shape_of(x))
    if not keepdims:
        g = np.reshape(g, _keepdims_shape(shape_of(x), axes))
    return np.broadcast_to(g, shape_of(x))


def _masked(g, where):
    """Zero outside the ``where`` mask (None: no mask)."""
    return g if where is None else np.where(where, g, 0.0)


def _numpy_options(where, initial) -> dict:
    opts = {}
    if where is not None:
        opts["where"] = where
    if initial is not None:
        opts["initial"] = initial
    return opts


# ---- sum ------------------------------------------------------------------
# ``where`` (a bool mask of x's shape) and ``initial`` (a constant scalar) are
# optional: absent, the primitive is the plain np.sum.  ``initial`` only
# shifts the value; the mask selects which entries carry a derivative.
def _sum_impl(x, axis, keepdims, where=None, initial=None):
    if where is None and initial is None:
        return np.sum(x, axis=axis, keepdims=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims, **_numpy_options(where, initial))


def _sum_linear_map(vals, params, batch):
    axis, keepdims = params["axis"], params["keepdims"]
    where = params.get("where")
    if where is not None:
        return lambda t: sum_p(t, axis=axis, keepdims=keepdims, where=where)
    add_reduce = np.add.reduce
    return lambda t: (sum_p(t, axis=axis, keepdims=keepdims) if isinstance(t, Box)
                      else add_reduce(t, axis=axis, keepdims=keepdims))


sum_p = Primitive(
    "sum", _sum_impl,
    jvp=(lambda t, out, x, axis, keepdims, where=None, initial=None:
         sum_p(t, axis=axis, keepdims=keepdims, where=where),),
    vjp=(lambda g, out, x, axis, keepdims, where=None, initial=None:
         _masked(_expand(g, x, axis, keepdims), where),),
    linear_map=_sum_linear_map)


def _reduced(prim, name, ufunc, a, axis, keepdims, initial, where):
    """``prim`` over NumPy's ``axis``/``keepdims``, with ``where`` and
    ``initial`` handed to it only when given."""
    shape = shape_of(a)
    axes = _reduction_axes(axis, len(shape))
    keep = _keepdims_value(keepdims)
    if where is _NoValue and initial is _NoValue:
        return prim(a, axis=axes, keepdims=keep)
    return prim(a, axis=axes, keepdims=keep, where=_where_mask(where, shape),
                initial=_initial_value(name, ufunc, initial, np.result_type(primal(a))))


def _sum_like(name, numpy_function, prim, ufunc):
    """np.sum / np.prod: ``dtype`` (an integer one gives NumPy's value),
    ``where`` and ``initial`` handed to the primitive, ``out`` refused."""
    def entry(a, axis=None, dtype=None, out=None, keepdims=_NoValue, initial=_NoValue,
              where=_NoValue):
        _refuse_out(name, out)
        if dtype is not None:
            d = _computation_dtype(name, dtype)
            if d.kind not in "fc":
                return numpy_function(primal(a), axis, d, None, keepdims, primal(initial),
                                      primal(where))
            a = _as_inexact_input(a, d)
        return _reduced(prim, name, ufunc, a, axis, keepdims, initial, where)
    entry.__name__ = name
    return entry


_sum = _sum_like("sum", np.sum, sum_p, np.add)


# ---- mean / var / std -----------------------------------------------------------
def _count(shape, axes, mask, keepdims):
    """The number of entries reduced: an int, or with a mask an int array of
    the output's shape."""
    if mask is None:
        return math.prod(shape[i] for i in axes)
    return np.sum(mask, axis=axes, keepdims=keepdims)


def _divide(total, count):
    """``total / count`` in total's dtype (NumPy divides into the sum's own array)."""
    if isinstance(count, (int, float)):
        # a Python number keeps total's dtype; 0 becomes a NumPy zero so that
        # the derivative 1 / count is inf, as the value is, not ZeroDivisionError
        return total / (count if count else np.result_type(primal(total)).type(0))
    return total / np.asarray(count).astype(np.result_type(primal(total)))


def _mean(a, axis=None, dtype=None, out=None, keepdims=_NoValue, *, where=_NoValue):
    _refuse_out("mean", out)
    d = _computation_dtype("mean", dtype)
    if d is not None and d.kind not in "fc":
        return np.mean(primal(a), axis, d, None, keepdims, where=primal(where))
    a = _as_inexact_input(a, d)
    half = d is None and np.result_type(primal(a)) == np.float16
    if half:  # NumPy accumulates a float16 mean in float32 and rounds the result back
        a = a.astype(np.float32)
    shape = shape_of(a)
    axes = _reduction_axes(axis, len(shape))
    keep = _keepdims_value(keepdims)
    mask = _where_mask(where, shape)
    total = (sum_p(a, axis=axes, keepdims=keep) if mask is None
             else sum_p(a, axis=axes, keepdims=keep, where=mask))
    result = _divide(total, _count(shape, axes, mask, keep))
    return result.astype(np.float16) if half else result


def _ddof_value(name, ddof, correction):
    """NumPy 2's rule: ``correction`` is ``ddof`` under another name; giving
    both (with ddof not 0) is a ValueError."""
    if correction is not _NoValue:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof, which = correction, "correction"
    else:
        which = "ddof"
    if isinstance(ddof, Box):
        refuse(f"numpy.{name}", which, "a traced number of degrees of freedom")
    if np.ndim(ddof) != 0:
        refuse(f"numpy.{name}", which, "only a scalar number of degrees of freedom")
    return ddof


class _Spread(typing.NamedTuple):
    """What var and std share, as NumPy's ``_var`` computes it."""
    centred: object   # the deviations from the mean, zero outside the mask
    axes: tuple       # the reduced axes (negative indices)
    mask: object      # the ``where`` mask, or None
    keep: bool        # keepdims
    divisor: object   # max(N - ddof, 0): a number, or with a mask an array
    modulus: bool     # a complex input: squared as |c|², not c·c
    dtype: object     # the result's ``dtype=`` (None: NumPy's default)


def _centred(name, a, axis, dtype, ddof, keepdims, where, mean) -> _Spread:
    """The deviations from the mean and what goes with them, as NumPy's
    ``_var`` computes them.

    NumPy takes the mean in ``dtype`` but subtracts it from the input as
    given, so a complex input keeps its imaginary parts in the deviations
    even under a real ``dtype`` (whose mean is that of the real parts).  A
    complex ``dtype`` for a real input changes only the result's dtype: the
    imaginary parts are exactly 0 throughout, so the work is done in the
    real dtype of that precision and the caller casts the result."""
    modulus = is_complex(a)
    work = dtype
    if dtype is not None and dtype.kind == "c" and not modulus:
        work = np.finfo(dtype).dtype
    if modulus:
        a = _as_inexact_input(a, None)
        source = a if work is None else _as_inexact_input(a, work)
    else:
        a = source = _as_inexact_input(a, work)
    shape = shape_of(a)
    axes = _reduction_axes(axis, len(shape))
    keep = _keepdims_value(keepdims)
    mask = _where_mask(where, shape)
    if mean is _NoValue or mean is None:
        total = (sum_p(source, axis=axes, keepdims=True) if mask is None
                 else sum_p(source, axis=axes, keepdims=True, where=mask))
        mean = _divide(total, _count(shape, axes, mask, True))
    centred = a - mean
    if shape_of(centred) != shape:
        refuse(f"numpy.{name}", "mean",
               f"a mean of shape {shape_of(mean)} that broadcasts input of shape {shape} "
               f"to {shape_of(centred)}")
    if work is not None:
        # NumPy sums the squares in the requested dtype (its precision, for complex deviations)
        target = np.result_type(work, 1j) if is_complex(centred) else work
        if np.result_type(primal(centred)) != target:
            centred = centred.astype(target)
    # Zero outside the mask, through np.where, so that a NaN or inf there (what
    # where= is often for) gets no share of the derivative, not 0 * NaN.
    centred = _masked(centred, mask)
    count = _count(shape, axes, mask, keep)
    if mask is None:
        divisor = max(count - ddof, 0)
        if not isinstance(divisor, int):
            divisor = float(divisor)  # a NumPy ddof must not promote a float32 result
    else:
        divisor = np.maximum(count - ddof, 0)
    return _Spread(centred, axes, mask, keep, divisor, modulus, dtype)


def _spread(name, numpy_function, a, axis, dtype, out, ddof, keepdims, where, mean, correction):
    """What var and std share: ``(NumPy's value, None)`` for an integer
    ``dtype`` (no derivative), else ``(None, _centred(...))``."""
    _refuse_out(name, out)
    ddof = _ddof_value(name, ddof, correction)
    d = _computation_dtype(name, dtype)
    if d is not None and d.kind not in "fc":
        return numpy_function(primal(a), axis, d, None, ddof, keepdims, where=primal(where),
                              mean=primal(mean)), None
    return None, _centred(name, a, axis, d, ddof, keepdims, where, mean)


def _in_dtype(value, dtype):
    """``value`` cast to ``dtype=`` if given (a real variance in a complex dtype)."""
    if dtype is None or np.result_type(primal(value)) == dtype:
        return value
    return value.astype(dtype)


def _mean_square(s: _Spread):
    """Σ square / (N - ddof) over the reduced axes: |c|² for a complex input,
    c·c for a real one (complex only under a complex ``mean=``), as NumPy."""
    c = s.centred
    if s.modulus:
        re, im = np.real(c), np.imag(c)
        square = re * re + im * im
    else:
        square = c * c
    total = (sum_p(square, axis=s.axes, keepdims=s.keep) if s.mask is None
             else sum_p(square, axis=s.axes, keepdims=s.keep, where=s.mask))
    return _divide(total, s.divisor)


def _var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *, where=_NoValue,
         mean=_NoValue, correction=_NoValue):
    """np.var: the mean squared distance from the mean.

    Of a complex input NumPy's variance is ``mean(|x - m|²)``, the squared
    distance in the complex plane -- a real number, so its derivative
    follows the convention for real-valued functions of complex arguments:
    one factor ``F = ∂u/∂x - i ∂u/∂y``, tangent ``Re Σ F·t``, cotangent
    ``ḡ·F``.  With ``c = x - m`` over N' = N - ddof,
    ``d var = (2/N') Re Σ conj(c)·(t - mean(t))``, and the mean's term
    vanishes because ``Σ conj(c) = conj(Σ (x - m)) = 0`` over the entries
    reduced: ``F = 2 conj(x - m) / N'``.  The square is computed as
    ``Re(c)² + Im(c)²`` (NumPy's own operations), whose rules give that
    factor; with a given ``mean=`` the term does not cancel, and the
    composition keeps it."""
    value, s = _spread("var", np.var, a, axis, dtype, out, ddof, keepdims, where, mean,
                       correction)
    if s is None:
        return value
    return _in_dtype(_mean_square(s), s.dtype)


def _std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *, where=_NoValue,
         mean=_NoValue, correction=_NoValue):
    """The 2-norm of the centred values (``sqrt Σ |c|²`` for complex ones,
    so std is real as var is) over sqrt(N - ddof): at a constant input its
    derivative is the norm's subgradient 0, not sqrt's 0 · inf."""
    from .linalg import l2norm
    value, s = _spread("std", np.std, a, axis, dtype, out, ddof, keepdims, where, mean,
                       correction)
    if s is None:
        return value
    if not s.modulus and is_complex(s.centred):
        # a real input with a complex mean=: NumPy's sqrt of the complex Σ (x - m)² / N'
        return _in_dtype(np.sqrt(_mean_square(s)), s.dtype)
    norm = l2norm(s.centred, axis=s.axes, keepdims=s.keep)
    divisor = s.divisor
    if isinstance(divisor, (int, float)):
        return _in_dtype(_divide(norm, math.sqrt(divisor)), s.dtype)
    return _in_dtype(norm / np.sqrt(np.asarray(divisor).astype(np.result_type(primal(norm)))),
                     s.dtype)


register(np.sum, _sum)
register(np.mean, _mean)
register(np.var, _var)
register(np.std, _std)


# ---- max / min --------------------------------------------------------------
def _share(x, out, axis, keepdims, where=None, initial=None):
    """Weights that split a max/min's derivative equally among tied entries
    (inside the ``where`` mask); at a tie with ``initial`` the entries share
    half, as in ``np.maximum(np.max(x), initial)``."""
    x_raw = primal(x)
    out_raw = primal(out)
    if not keepdims:
        out_raw = np.reshape(out_raw, _keepdims_shape(np.shape(x_raw), axis))
    hit = (x_raw == out_raw)
    if where is not None:
        hit &= where
    count = np.sum(hit, axis=axis, keepdims=True)
    if where is None and initial is None:
        weights = hit / count
    else:
        weights = hit / np.maximum(count, 1)  # a slice may have no entry (initial alone)
        if initial is not None:
            weights = weights * np.where(out_raw == initial, 0.5, 1.0)
    return weights.astype(np.result_type(x_raw), copy=False)


def _extremum(name, impl):
    def prim_impl(x, axis, keepdims, where=None, initial=None):
        if where is None and initial is None:
            return impl(x, axis=axis, keepdims=keepdims)
        return impl(x, axis=axis, keepdims=keepdims, **_numpy_options(where, initial))

    prim = Primitive(
        name, prim_impl,
        jvp=(lambda t, out, x, axis, keepdims, where=None, initial=None:
             sum_p(t * _share(x, out, axis, keepdims, where, initial),
                   axis=axis, keepdims=keepdims),),
        vjp=(lambda g, out, x, axis, keepdims, where=None, initial=None:
             _expand(g, x, axis, keepdims) * _share(x, out, axis, keepdims, where, initial),))
    ufunc = np.maximum if name == "max" else np.minimum

    def numpy_entry(a, axis=None, out=None, keepdims=_NoValue, initial=_NoValue,
                    where=_NoValue):
        _refuse_out(name, out)
        # without ``initial``, NumPy's own call raises its error for ``where``
        return _reduced(prim, name, ufunc, a, axis, keepdims, initial, where)
    numpy_entry.__name__ = f"_{name}"
    return prim, numpy_entry


max_p, _max = _extremum("max", np.max)
min_p, _min = _extremum("min", np.min)
register(np.max, _max)
register(np.amax, _max)
register(np.min, _min)
register(np.amin, _min)


# ---- prod -------------------------------------------------------------------
def _others(x, out, axis, keepdims, where=None, initial=None):
    """Product of all other entries along the reduced axes (inside the
    ``where`` mask, times ``initial``), for each entry; 0 outside the mask."""
    if where is not None:
        x = np.where(where, x, 1.0)  # entries outside the mask do not take part
    if np.all(primal(x) != 0):
        if not keepdims:
            out = np.reshape(out, _keepdims_shape(shape_of(x), axis))
        return _masked(out / x, where)  # out already holds the initial factor
    # With a zero present out / x is 0/0: form the products explicitly
    # (O(n^2) along the reduced axes, only on this path).
    shape = shape_of(x)
    nd = len(shape)
    kept = [i for i in range(nd) if i - nd not in axis]
    red = [i for i in range(nd) if i - nd in axis]
    n = int(np.prod([shape[i] for i in red]))
    moved = np.reshape(np.transpose(x, kept + red), tuple(shape[i] for i in kept) + (n,))
    grid = np.where(np.eye(n, dtype=bool), 1.0, moved[..., None, :])
    others = np.reshape(prod_p(grid, axis=(-1,), keepdims=False),
                        tuple(shape[i] for i in kept + red))
    others = np.transpose(others, tuple(np.argsort(kept + red)))
    if initial is not None:
        others = others * initial
    return _masked(others, where)


def _prod_impl(x, axis, keepdims, where=None, initial=None):
    if where is None and initial is None:
        return np.prod(x, axis=axis, keepdims=keepdims)
    return np.prod(x, axis=axis, keepdims=keepdims, **_numpy_options(where, initial))


prod_p = Primitive(
    "prod", _prod_impl,
    jvp=(lambda t, out, x, axis, keepdims, where=None, initial=None:
         sum_p(t * _others(x, out, axis, keepdims, where, initial), axis=axis,
               keepdims=keepdims),),
    vjp=(lambda g, out, x, axis, keepdims, where=None, initial=None:
         _expand(g, x, axis, keepdims) * _others(x, out, axis, keepdims, where, initial),))


_prod = _sum_like("prod", np.prod, prod_p, np.multiply)


register(np.prod, _prod)


# ---- cumsum -----------------------------------------------------------------
def _reverse_cumsum(g, axis):
    flip = (Ellipsis, slice(None, None, -1)) + (slice(None),) * (-axis - 1)
    return cumsum_p(g[flip], axis=axis)[flip]


cumsum_p = Primitive(
    "cumsum", lambda x, axis: np.cumsum(x, axis=axis),
    jvp=(lambda t, out, x, axis: cumsum_p(t, axis=axis),),
    vjp=(lambda g, out, x, axis: _reverse_cumsum(g, axis),))


def cumulative(name: str, prim, a, axis, dtype, out):
    """np.cumsum / np.cumprod's arguments as NumPy reads them, then ``prim``
    along one normalised axis: ``dtype`` computes in it (an integer one gives
    NumPy's value, with no derivative), ``axis=None`` flattens, ``out`` is
    refused."""
    _refuse_out(name, out)
    if dtype is not None:
        d = _computation_dtype(name, dtype)
        if d.kind not in "fc":
            return getattr(np, name)(primal(a), axis, d)
        a = _as_inexact_input(a, d)
    elif not isinstance(a, Box):
        a = np.asarray(a)
    if axis is None:
        a = np.reshape(a, (-1,))
        axis = 0
    (axis,) = normalize_axes(operator.index(axis), np.ndim(primal(a)))
    return prim(a, axis=axis)


def _cumsum(a, axis=None, dtype=None, out=None):
    return cumulative("cumsum", cumsum_p, a, axis, dtype, out)


register(np.cumsum, _cumsum)


# ---- cumulative_sum / cumulative_prod (the array API's names) ------------------------
def _cumulative_array_api(name: str, prim, identity: float, x, axis, dtype, out,
                          include_initial):
    """np.cumulative_sum / np.cumulative_prod: cumsum's and cumprod's rules
    (``cumulative``) with the array API's reading of the arguments -- a 0-d
    input is 1-d, ``axis=None`` only for 1-d input, ``include_initial``
    puts the identity (0 or 1, a constant) in front along ``axis``."""
    numpy_function = getattr(np, name)
    _refuse_out(name, out)
    if not isinstance(x, Box):
        x = np.asarray(x)
    if np.ndim(primal(x)) == 0:
        x = np.reshape(x, (1,))
    nd = np.ndim(primal(x))
    if axis is None:
        if nd >= 2:
            raise ValueError("For arrays which have more than one dimension "
                             "``axis`` argument is required.")
        axis = 0
    (axis,) = normalize_axes(operator.index(axis), nd)
    if dtype is not None:
        d = _computation_dtype(name, dtype)
        if d.kind not in "fc":  # no derivative: NumPy's value
            return numpy_function(primal(x), axis=axis, dtype=d,
                                  include_initial=bool(include_initial))
    result = cumulative("cumsum" if identity == 0 else "cumprod", prim, x, axis, dtype, None)
    if not include_initial:
        return result
    shape = list(shape_of(result))
    shape[axis] = 1
    first = np.full(shape, identity, dtype=np.result_type(primal(result)))
    return np.concatenate([first, result], axis=axis)


def _cumulative_sum(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    return _cumulative_array_api("cumulative_sum", cumsum_p, 0.0, x, axis, dtype, out,
                                 include_initial)


def _cumulative_prod(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
    from .statistics import cumprod_p
    return _cumulative_array_api("cumulative_prod", cumprod_p, 1.0, x, axis, dtype, out,
                                 include_initial)


register(np.cumulative_sum, _cumulative_sum)
register(np.cumulative_prod, _cumulative_prod)


# ---- ediff1d --------------------------------------------------------------------------
def _ediff1d(ary, to_end=None, to_begin=None):
    """np.ediff1d: the differences of the flattened ``ary`` between the
    flattened ``to_begin`` and ``to_end`` (which may be traced), all in
    ``ary``'s dtype, with NumPy's same_kind check on the two."""
    if not isinstance(ary, Box):
        ary = np.asanyarray(ary)
    flat = np.reshape(ary, (-1,))
    dtype = np.result_type(primal(flat))
    parts = []
    for name, value in (("to_begin", to_begin), ("to_end", to_end)):
        if value is None:
            parts.append(None)
            continue
        if not isinstance(value, Box):
            value = np.asanyarray(value)
        if not np.can_cast(np.result_type(primal(value)), dtype, casting="same_kind"):
            raise TypeError(f"dtype of `{name}` must be compatible with input `ary` under "
                            "the `same_kind` rule.")
        value = np.reshape(value, (-1,))
        parts.append(value if np.result_type(primal(value)) == dtype else value.astype(dtype))
    if dtype.kind not in "fc":  # an integer or bool ary: NumPy's value, no derivative
        return np.ediff1d(primal(ary), to_end=primal(to_end), to_begin=primal(to_begin))
    differences = flat[1:] - flat[:-1]
    pieces = [p for p in (parts[0], differences, parts[1]) if p is not None]
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


register(np.ediff1d, _ediff1d)
