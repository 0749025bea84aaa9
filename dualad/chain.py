"""The chain rule of every primitive, in one place: forward, reverse and replay.

What this module lets you do
----------------------------
Push a tangent through a primitive (:func:`jvp`) or pull a cotangent back
through it (:func:`vjp`), whatever the primitive.  Forward mode
(``dualad.forward``), the backward pass (``dualad.reverse``) and the
linearization replay (``dualad.sweep``) all come here; none of them
multiplies a tangent by a derivative itself.

The invariant
-------------
An *elementwise* primitive is declared by one partial derivative per
argument, ``∂out/∂x_j`` (a formula, or a constant such as ``1.0``).  From
that one formula come both rules:

* forward: ``t_out = Σ_j t_j · ∂out/∂x_j``, where a batched tangent of an
  argument of lower rank than the output is padded so that NumPy's
  broadcasting lines it up, and a sum that broadcasting left smaller than the
  output is broadcast to it (:func:`push`);
* reverse: ``x̄_j = unbroadcast(ḡ · ∂out/∂x_j)``, summed over the axes that
  broadcasting added to ``x_j`` (:func:`pull`).

Every such product goes through :func:`times` -- the one product, which
turns NaN-safe (``0 × inf = 0``, see ``dualad.nan_safe``) when the per-thread
switch is on -- or, in a replay whose factors are known when it is built,
through :func:`scaler`, the same product specialised once.  Other
primitives' rules are called as they were declared.

Ownership
---------
:func:`pull` also says whether the backward pass *owns* the cotangent it
returns: allocated it itself, so that it may later add into it or multiply
it in place.  A cotangent the user passed in, a recorded value, or one
handed to two arguments (``x + y`` gives both the same ``ḡ``) is never
owned.  Ownership is decided by construction here, never by reference
counts.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import core
from .core import (COMPLEX_SEEN, INVALID_EVENTS, NAN_SAFE_THREADS, STATE, Box, _call_jvp, broadcast_number,
                   fill_output_shape, is_complex, ndim_of, pad_batched, shape_of, unbroadcast)
from .nan_safe import fix, safe_product

__all__ = ["factor", "times", "scaler", "push", "push1", "push2", "pull", "real_for", "jvp", "vjp"]

# Arrays at least this large are multiplied in place when the backward pass
# owns them; for smaller ones the call costs more than the allocation saved.
IN_PLACE_MIN_SIZE = 4096


def shape(v) -> tuple:
    """The shape of a raw or boxed value, quickly for the common cases."""
    t = type(v)
    if t is np.ndarray or t is core.Residual:
        return v.shape
    if isinstance(v, Box) and type(v._value) is np.ndarray:
        return v._value.shape
    return shape_of(v)


def factor(d, out, args, params):
    """``∂out/∂x`` at this point: the declared constant, or the formula's value."""
    return d if type(d) is float else d(out, *args, **params)


def times(t, f):
    """``t · f`` for a tangent or cotangent ``t`` and a partial derivative
    ``f``: the one chain-rule product (NaN-safe while the switch is on)."""
    if type(f) is float:
        if f == 1.0:
            return t
        if f == -1.0:
            return -t
        return t * f
    if (NAN_SAFE_THREADS[0] and STATE.nan_safe):
        return safe_product(t, f)
    n = INVALID_EVENTS[0]
    c = t * f
    return c if INVALID_EVENTS[0] == n else fix(t, f, c)


def scaler(f):
    """:func:`times` by the fixed factor ``f``, specialised once (a replay
    knows its factors when it is built, and runs the product many times)."""
    if type(f) is float and f == 1.0:
        return lambda t: t
    if type(f) is float and f == -1.0:
        return lambda t: -t
    return lambda t: times(t, f) if (NAN_SAFE_THREADS[0] and STATE.nan_safe) else t * f


def _sums_into(acc, other) -> bool:
    """Whether ``acc += other`` keeps ``acc``'s shape and dtype (and ``acc``
    is large enough for the saved allocation to matter)."""
    return (type(acc) is np.ndarray and type(other) is np.ndarray
            and acc.size >= IN_PLACE_MIN_SIZE and acc.flags.writeable
            and acc.shape == np.broadcast_shapes(acc.shape, other.shape)
            and np.result_type(acc.dtype, other.dtype) == acc.dtype)


def push(prim, tangents: Sequence, out, args: Sequence, params: dict, batch: bool):
    """The forward chain rule of an elementwise primitive:
    ``Σ_j t_j · ∂out/∂x_j`` (``None`` tangents are zeros; None if all are)."""
    if not (batch or (NAN_SAFE_THREADS[0] and STATE.nan_safe)):
        if len(tangents) == 1:
            return push1(prim.derivs[0], tangents[0], out, args[0], params)
        if len(tangents) == 2:
            return push2(prim.derivs, tangents[0], tangents[1], out, args[0], args[1], params)
    result = None
    owned = False  # result is an array this loop allocated (so it may add into it)
    out_nd = ndim_of(out) if batch else 0
    for t, d, a in zip(tangents, prim.derivs, args):
        if t is None or d is None:
            continue
        if batch:
            t = pad_batched(t, ndim_of(a), out_nd)
        if result is not None and type(d) is float and abs(d) == 1.0:
            # a sum or difference of (large, batched) tangents: one operation,
            # into the sum so far when this loop made it and it is big enough
            if owned and _sums_into(result, t):
                if d == 1.0:
                    result += t
                else:
                    result -= t
            else:
                result = result + t if d == 1.0 else result - t
                owned = type(result) is np.ndarray
            continue
        n = INVALID_EVENTS[0]
        f = d if type(d) is float else d(out, *args, **params)
        c = times(t, f)
        if INVALID_EVENTS[0] != n and not (NAN_SAFE_THREADS[0] and STATE.nan_safe):
            c = fix(t, f, c)  # the formula itself made a NaN: 0 × it is 0
        if result is None:
            result = c
            owned = c is not t and type(c) is np.ndarray
        elif owned and _sums_into(result, c):
            result += c
        elif c is not t and _sums_into(c, result):
            c += result
            result, owned = c, True
        else:
            result = result + c
            owned = type(result) is np.ndarray
    if result is None or len(tangents) == 1:
        return result
    return fill_output_shape(result, shape_of(out), batch)


# The fast path of push (most of a typical program: one or two arguments,
# unbatched, not NaN-safe), with times() written out.
_UNARY = object()  # "no second argument" for _term


def _term(t, d, out, xa, xb, params):
    """``t · ∂out/∂x`` for one argument of a primitive of arguments ``xa``
    (and ``xb``); a product during which NumPy reports an invalid operation
    (``0 × inf``, or a formula's ``0/0``) is fixed."""
    if type(d) is float:
        return t if d == 1.0 else (-t if d == -1.0 else t * d)
    n = INVALID_EVENTS[0]
    if params:
        f = d(out, xa, **params) if xb is _UNARY else d(out, xa, xb, **params)
    else:
        f = d(out, xa) if xb is _UNARY else d(out, xa, xb)
    c = t * f
    return c if INVALID_EVENTS[0] == n else fix(t, f, c)


def push1(d, t, out, x, params):
    """``t · ∂out/∂x`` for a one-argument elementwise primitive."""
    if t is None or d is None:
        return None
    return _term(t, d, out, x, _UNARY, params)


def push2(derivs, ta, tb, out, xa, xb, params):
    """``ta · ∂out/∂a + tb · ∂out/∂b``, broadcast to the output's shape."""
    da, db = derivs
    t = None
    if ta is not None and da is not None:
        if type(da) is float:
            t = ta if da == 1.0 else (-ta if da == -1.0 else ta * da)
        else:  # _term, written out for the first argument (the common x * c)
            n = INVALID_EVENTS[0]
            fa = da(out, xa, xb, **params) if params else da(out, xa, xb)
            t = ta * fa
            if INVALID_EVENTS[0] != n:
                t = fix(ta, fa, t)
    if tb is not None and db is not None:
        if type(db) is not float:
            c = _term(tb, db, out, xa, xb, params)
            t = c if t is None else t + c
        elif t is None:
            t = tb if db == 1.0 else (-tb if db == -1.0 else tb * db)
        elif db == -1.0:
            t = t - tb  # a difference in one operation
        else:
            t = t + (tb if db == 1.0 else tb * db)
    if t is None:
        return None
    want = out.shape if type(out) is np.ndarray else shape(out)
    if (t.shape if type(t) is np.ndarray else shape(t)) != want:
        t = np.broadcast_to(t, want)
    return t


def pull(g, f, g_owned: bool, arg_shape, x):
    """The reverse chain rule for one argument ``x``: ``unbroadcast(g · f)``
    (its real part if ``x`` is real, see :func:`real_for`) and whether the
    backward pass owns it (see the module docstring).

    ``arg_shape`` is the argument's shape, or None when it is the output's
    (a one-argument primitive: nothing to unbroadcast).

    ``g_owned``: the pass owns ``g`` and this is its last use, so the product
    may be written into it.  A cotangent broadcast from one number (what
    ``sum`` pulls back) times a number stays one number broadcast; times a
    boxed ``f`` it is ``f`` times that number, and ``f`` itself when the
    number is 1 (one boxed operation saved).  ``f`` is never written into:
    a formula may return a recorded value.
    """
    if type(g) is np.ndarray and (g.size < IN_PLACE_MIN_SIZE or any(g.strides)):
        # the common case: a small cotangent, or a large plain one (a large one
        # that is one number broadcast, as sum pulls back, is kept so below)
        if type(f) is float:
            c, owned = (g, g_owned) if f == 1.0 else (g * f, True)
        elif (NAN_SAFE_THREADS[0] and STATE.nan_safe):
            c, owned = safe_product(g, f), True
        elif g_owned and g.size >= IN_PLACE_MIN_SIZE and not isinstance(f, Box) and _fits(g, f):
            c, owned = np.multiply(g, f, out=g), True
        else:  # times(g, f), written out
            n = INVALID_EVENTS[0]
            c, owned = g * f, True
            if INVALID_EVENTS[0] != n:
                c = fix(g, f, c)
    elif type(g) is not np.ndarray:  # a boxed cotangent (forward-over-reverse)
        if type(f) is float and f == 1.0:
            c, owned = g, g_owned
        elif NAN_SAFE_THREADS[0] and STATE.nan_safe:
            c, owned = safe_product(g, f), True
        elif isinstance(g, Box) and g._bottom:
            # a value dualad.replay records is the raw value of its program:
            # checked as a plain array is
            c, owned = times(g, f), True
        else:
            # the box's own transformation checks its products; an invalid
            # report here makes the pass redo itself NaN-safe (api)
            c, owned = g * f, True
    else:
        c, owned = _product(g, f, g_owned)
    if COMPLEX_SEEN[0] and is_complex(c) and not is_complex(x):
        c, owned = real_for(c, x), True  # a new array: g itself may be handed on
    if arg_shape is None:
        return c, owned
    if type(c) is np.ndarray:
        cs = c.shape
    elif isinstance(c, Box) and type(c._value) is np.ndarray:
        cs = c._value.shape
    else:
        cs = shape_of(c)
    if cs != arg_shape:
        return unbroadcast(c, arg_shape), True  # a new sum, held by no one else
    return c, owned


def real_for(c, x):
    """The cotangent of argument ``x`` from ``c``: for a real ``x`` the real
    part of a complex ``c``.

    Cotangents pair with tangents by the real inner product ``Re Σ ḡ·t``
    (no conjugation, as in JAX and HIPS autograd), and a real argument's
    tangents are real, so only ``Re ḡ`` reaches them: the transpose of the
    promotion ``x + 0j`` is ``Re``, as the transpose of a broadcast is a sum."""
    if c is not None and COMPLEX_SEEN[0] and is_complex(c) and not is_complex(x):
        r = np.real(c)
        if isinstance(r, Box):
            return r
        # a copy, not NumPy's view into c: c may be another argument's cotangent,
        # later written into in place; in x's precision where the complex value
        # was computed in a wider one (scipy.special.wofz of float32 is complex128)
        dtype = getattr(x._value if isinstance(x, Box) else x, "dtype", None)
        if dtype is not None and dtype.kind == "f" and dtype != r.dtype:
            return r.astype(dtype)
        return r.copy() if type(r) is np.ndarray else r
    return c


def _product(g, f, g_owned: bool):
    if type(f) is float and f == 1.0:
        return g, g_owned
    if type(g) is not np.ndarray:
        return times(g, f), True
    if g.ndim and g.size and not any(g.strides):  # one number, broadcast
        s = g.reshape(-1)[0]
        if isinstance(f, Box):
            if shape(f) == g.shape:
                if s == 1.0 and np.result_type(g.dtype, f.dtype) == f.dtype:
                    return f, False  # f itself (boxes are never changed in place)
                return times(f, s), True
        elif np.ndim(f) == 0:
            return broadcast_number(times(s, f), g.shape), False
        return times(g, f), True
    if (g_owned and g.size >= IN_PLACE_MIN_SIZE and not (NAN_SAFE_THREADS[0] and STATE.nan_safe)
            and not isinstance(f, Box) and _fits(g, f)):
        return np.multiply(g, f, out=g), True
    return times(g, f), True


def _fits(a, b) -> bool:
    """May ``a * b`` be written into the raw array ``a``?"""
    if np.ndim(b) == 0:
        return np.result_type(a, b) == a.dtype
    return (type(b) is np.ndarray and (b.shape == a.shape or b.ndim == 0)
            and np.result_type(a, b) == a.dtype)


def jvp(prim, tangents: Sequence, out, args: Sequence, params: dict, batch: bool):
    """Tangent of ``out`` given the arguments' tangents (``None`` = zero), for
    any primitive: elementwise ones through :func:`push`, others through
    their own JVP rules."""
    if prim.derivs is not None:
        return push(prim, tangents, out, args, params, batch)
    if not (prim.elementwise and len(args) > 1):
        return _call_jvp(prim, tangents, out, args, params)
    # an elementwise primitive with rules of its own (where): the same
    # padding of batched tangents, and the same broadcast of the result
    if batch:
        out_nd = ndim_of(out)
        tangents = [pad_batched(t, ndim_of(a), out_nd) for t, a in zip(tangents, args)]
    result = _call_jvp(prim, tangents, out, args, params)
    return None if result is None else fill_output_shape(result, shape_of(out), batch)


def vjp(prim, g, out, needs: Sequence[bool], args: Sequence, params: dict) -> list:
    """Cotangents of the arguments (``None`` = zero) given that of ``out``,
    for any primitive."""
    derivs = prim.derivs
    if derivs is not None:
        return [pull(g, factor(d, out, args, params), False, shape_of(a), a)[0]
                if (need and d is not None) else None
                for d, need, a in zip(derivs, needs, args)]
    if prim._vjp_per_arg:
        cts = [rule(g, out, *args, **params) if (need and rule is not None) else None
               for rule, need in zip(prim.vjp_rule, needs)]
    else:
        cts = list(prim.vjp_rule(g, out, *args, **params))
    if prim.elementwise and len(args) > 1:
        cts = [c if c is None or shape_of(c) == shape_of(a) else unbroadcast(c, shape_of(a))
               for c, a in zip(cts, args)]
    if COMPLEX_SEEN[0]:
        cts = [real_for(c, a) for c, a in zip(cts, args)]
    return cts
