"""The public transformations: jvp, vjp, grad, hvp, jacobians, linearize.

Signatures follow JAX where JAX has the function.  Arguments and results
may be pytrees: nested tuples, lists and dicts whose leaves are arrays or
scalars (``None`` is an empty subtree).  Differentiated leaves must be
floating point; Python and NumPy scalars are differentiated as float64.

Every call opens a fresh trace (level), so transformations nest freely and
never confuse their perturbations (see :mod:`dualad.core`).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import core
from . import rules  # noqa: F401  (fills the dispatch tables)
from .batching import (NotVectorisable, Stacked, any_stacked, placeholders,
                       stacked_directions)
from .core import (INVALID_EVENTS, STATE, STORE_MESSAGE, Box, LeakedValueError, note_complex, primal,
                   refuse_subclass, unwrap)
from .pytree import tree_flatten, tree_unflatten  # re-exported: dualad.tree_flatten
from .forward import Dual, ForwardTrace
from .nan_safe import has_nan, switched_on, watching
from .reverse import Tape

__all__ = ["jvp", "vjp", "grad", "value_and_grad", "hvp", "jacfwd", "jacrev",
           "hessian", "linearize", "linearize_grad", "GradientLinearization",
           "tree_flatten", "tree_unflatten", "HVP_MODES", "stop_gradient"]

HVP_MODES = ("fwd-over-rev", "rev-over-fwd", "rev-over-rev", "fwd-over-fwd")


# ---- checking and converting inputs ---------------------------------------------
def _float_leaf(x, where: str):
    """A differentiable input leaf as a float array (boxes pass through)."""
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return x  # the common case, checked cheaply
    if isinstance(x, Box):
        kind = np.result_type(primal(x)).kind
        if kind not in "fc":
            raise TypeError(f"{where} has dtype {np.result_type(primal(x))}; dualad "
                            "differentiates floating-point (real or complex) values only.")
        return x
    if x is None:
        raise TypeError(
            f"{where} is None: there is nothing to differentiate. dualad differentiates "
            "floating-point arrays and scalars (and pytrees of them); pass a float "
            "array, or leave the argument out of the differentiated ones (argnums).")
    if isinstance(x, np.ndarray):
        refuse_subclass(x, where)
        x = np.asarray(x)  # other subclasses are differentiated as plain arrays
        if x.dtype.kind == "f":
            return x
        if x.dtype.kind == "c":
            note_complex()
            return x
    if isinstance(x, bool) or (isinstance(x, (int, np.integer)) and not isinstance(x, np.floating)):
        raise TypeError(
            f"{where} is the integer {x!r}; dualad differentiates floating-point "
            f"values only. Pass a float instead (e.g. {float(x)!r}).")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(f"{where} is a {type(x).__name__}, not an array or scalar") from exc
    kind = arr.dtype.kind
    if kind == "f":
        # as NumPy: a Python float is float64, a NumPy scalar or an array keeps
        # its floating dtype (np.float32(1.0) stays float32)
        return arr
    if kind in "iub":
        raise TypeError(
            f"{where} has dtype {arr.dtype}; dualad differentiates floating-point "
            "values only. Pass floats, e.g. x.astype(float).")
    if kind == "c":
        note_complex()
        return arr
    raise TypeError(f"{where} has dtype {arr.dtype}, which cannot be differentiated; "
                    "pass a float array.")


def _tangent_leaf(t, x, where: str, batch: bool):
    """A tangent or cotangent leaf checked against the shape of ``x``."""
    if (not batch and type(t) is np.ndarray and type(x) is np.ndarray
            and t.dtype == x.dtype and t.shape == x.shape and t.dtype.kind == "f"):
        return t  # already right: the common case, checked cheaply
    want = np.shape(primal(x))
    if not isinstance(t, Box):
        if isinstance(t, np.ndarray):
            refuse_subclass(t, where)
        t = np.asarray(t)
        x_kind = np.result_type(primal(x)).kind
        if t.dtype.kind not in "fiubc":
            raise TypeError(f"{where} has dtype {t.dtype}; expected numbers")
        if t.dtype.kind == "c" and x_kind != "c":
            raise TypeError(
                f"{where} is complex ({t.dtype}) but its primal is real: a real "
                "value's tangents and cotangents are real. Pass its real part, or "
                "make the primal complex (x.astype(complex)).")
        if x_kind == "c" and t.dtype.kind != "c":
            # a real direction of a complex value: the same numbers, as complex
            t = t.astype(np.result_type(t.dtype, primal(x)))
        elif t.dtype.kind not in "fc":
            # integers and booleans promote as NumPy promotes them with the
            # primal's float dtype; a float tangent keeps its own dtype (a
            # float64 tangent of a float32 primal gives float64 derivatives,
            # as NumPy's arithmetic would)
            x_dtype = np.result_type(primal(x))
            t = t.astype(np.result_type(t.dtype, x_dtype if x_dtype.kind == "f" else np.float64))
    have = np.shape(primal(t))
    if batch:
        if len(have) != len(want) + 1 or have[1:] != want:
            raise ValueError(f"{where} has shape {have}; expected (k,) + {want} in vector mode")
    elif have != want:
        raise ValueError(f"{where} has shape {have}; expected {want} (the shape of "
                         "the corresponding primal)")
    return t


def _check_tuple(value, name: str) -> tuple:
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of arguments, e.g. (x,), not "
                        f"{type(value).__name__}")
    return tuple(value)


def _check_not_leaked(value, trace):
    """Refuse to hand back a box whose transformation (other than ``trace``,
    which has just returned) has already returned."""
    while isinstance(value, Box):
        if value._trace is not trace and not value._trace.active:
            raise LeakedValueError(
                f"f returned a value boxed by a {value._trace.origin} transformation "
                "that had already returned (for example one stored in a global or a "
                "closure and returned later). Its derivative would be wrong; pass "
                "the value through the function's arguments instead.")
        value = value._value


def _call(f, args):
    """``f(*args)``, with NumPy's ValueError about assigning a traced value into
    an array turned back into the TypeError that explains it.

    ``a[i] = traced`` makes NumPy call ``float()`` on the box; our TypeError
    is then replaced by "setting an array element with a sequence" (the box
    has ``__getitem__``), which says nothing useful.
    """
    try:
        return f(*args)
    except ValueError as exc:
        cause = exc.__cause__
        if isinstance(cause, TypeError) and _raised_in_dualad(cause):
            raise TypeError(STORE_MESSAGE) from exc
        raise
    except TypeError as exc:
        note = _sequence_note(args)
        if note:
            raise TypeError(f"{exc}\n{note}") from exc
        raise


def _check_returned(out, fname: str) -> None:
    """f must return something to differentiate: None is a missing return."""
    if out is None:
        raise TypeError(f"{fname}: f returned None; it must return an array (or a pytree of "
                        "arrays) computed from its input -- is a `return` missing?")


def _sequence_note(args) -> str:
    """What dualad made of a Python list or tuple of numbers passed as an
    argument: a pytree of scalars, each its own input -- not an array."""
    for i, a in enumerate(args):
        if isinstance(a, (list, tuple)) and a and all(
                isinstance(v, Box) and np.ndim(primal(v)) == 0 for v in a):
            return (f"Note: argument {i} is a Python {type(a).__name__} of {len(a)} "
                    f"numbers, which dualad takes as a pytree of {len(a)} separate scalar "
                    "inputs (each differentiated on its own), not as an array. To "
                    "differentiate an array, pass np.array(...) instead.")
    return ""


def _check_something_to_differentiate(value, where: str) -> None:
    """Refuse a differentiated argument with no leaves at all (``None``, an
    empty container): there would be nothing to differentiate."""
    if not tree_flatten(value)[0]:
        what = "None" if value is None else f"an empty {type(value).__name__}"
        raise TypeError(
            f"{where} is {what}: there is nothing to differentiate. dualad "
            "differentiates floating-point arrays and scalars (and pytrees of "
            "them); pass a float array, or leave the argument out of the "
            "differentiated ones (argnums).")


def _raised_in_dualad(exc) -> bool:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith("dualad.")


def _unalias(results: list, given: list) -> list:
    """Make every derivative handed back a fresh, writable array.

    Shape rules return views (the tangent of ``reshape`` is a reshaped view of
    the input tangent, a ``sum``'s cotangent is a read-only broadcast), so a
    result that may share memory with one of the caller's arrays, or that is
    read-only, is copied: updating a result in place never changes the
    caller's arrays, the tape, or the next result of the same pullback.
    """
    arrays = [a for a in given if isinstance(a, np.ndarray)]
    fresh = []
    for r in results:
        if isinstance(r, np.ndarray):
            if r.base is None and r.flags.writeable:
                # owns its memory: it can only alias a given array by being it
                if any(r is a for a in arrays):
                    r = r.copy()
            elif not r.flags.writeable or any(np.may_share_memory(r, a) for a in arrays):
                r = r.copy()
        fresh.append(r)
    return fresh


def _batch_lead(t_leaves, batched: bool) -> tuple:
    """``(k,)``, the number of directions of batched tangents, or ``()``."""
    if not (batched and t_leaves):
        return ()
    ks = {np.shape(primal(t))[0] for t in t_leaves}
    if len(ks) != 1:
        raise ValueError(f"batched tangents disagree on the number of directions: {sorted(ks)}")
    return (ks.pop(),)


def _zeros(x, lead=()):
    p = primal(x)
    try:
        dtype = np.result_type(p)
    except (TypeError, ValueError):  # a string (or a list of them): a float zero
        dtype = np.dtype(np.float64)
    return np.zeros(tuple(lead) + np.shape(p), dtype=dtype if dtype.kind in "fc" else np.float64)


# ---- forward mode -----------------------------------------------------------------------
def jvp(f: Callable, primals: Sequence, tangents: Sequence, *, batched: bool = False,
        has_aux: bool = False) -> tuple:
    """Jacobian-vector product of ``f`` at ``primals`` in direction ``tangents``.

    Returns ``(f(*primals), J @ tangents)``.  With ``batched=True`` (vector
    mode) every tangent leaf carries a leading axis of ``k`` directions and
    so does the output tangent: ``k`` JVPs in one pass.  With
    ``has_aux=True`` f returns ``(output, aux)`` and jvp returns ``(output,
    J @ tangents, aux)``, aux not differentiated (as in JAX).

    >>> import numpy as np, dualad as ad
    >>> y, y_dot = ad.jvp(np.sin, (0.0,), (2.0,))
    >>> float(y), float(y_dot)
    (0.0, 2.0)
    """
    primals = _check_tuple(primals, "primals")
    tangents = _check_tuple(tangents, "tangents")
    for i, p in enumerate(primals):
        _check_something_to_differentiate(p, f"primal {i}")
    p_leaves, p_tree = tree_flatten(primals)
    t_leaves, t_tree = tree_flatten(tangents)
    if p_tree != t_tree:
        raise ValueError(f"tangents have structure {t_tree}; expected {p_tree}, the "
                         "structure of primals")
    if any_stacked(t_leaves):  # dualad.vmap over the tangents: one vector-mode pass
        if batched:
            raise NotVectorisable("vmap of a jvp with batched=True")
        t_leaves, _ = stacked_directions(t_leaves, [np.shape(primal(x)) for x in p_leaves])
        res = jvp(f, primals, tree_unflatten(t_tree, t_leaves), batched=True, has_aux=has_aux)
        return (res[0], placeholders(res[1])) + tuple(res[2:])
    p_leaves = [_float_leaf(x, f"primal leaf {i}") for i, x in enumerate(p_leaves)]
    t_leaves = [_tangent_leaf(t, x, f"tangent leaf {i}", batched)
                for i, (t, x) in enumerate(zip(t_leaves, p_leaves))]
    lead = _batch_lead(t_leaves, batched)
    trace = ForwardTrace(batch=batched)
    boxed = [Dual(x, t, trace) for x, t in zip(p_leaves, t_leaves)]
    try:
        # a 0 × inf in a chain-rule product is caught where it happens (NumPy
        # reports it, dualad.chain sets it to 0): f runs once, never again
        with watching():
            out = _call(f, tree_unflatten(p_tree, boxed))
        if has_aux:
            out, aux = _aux_pair(out, "jvp")
            aux = _detach_tree(aux)
        _check_returned(out, "jvp")
    finally:
        trace.active = False
    outs, out_tangents, o_tree = _strip(trace, out, "tangent")
    out_tangents = [_zeros(o, lead) if t is None else _as_complex_if(t, o)
                    for o, t in zip(outs, out_tangents)]
    out_tangents = _unalias(out_tangents, t_leaves + p_leaves)
    outs = _unalias(outs, t_leaves + p_leaves)  # f(x) = x hands back a new array
    if has_aux:
        return tree_unflatten(o_tree, outs), tree_unflatten(o_tree, out_tangents), aux
    return tree_unflatten(o_tree, outs), tree_unflatten(o_tree, out_tangents)


# ---- reverse mode -------------------------------------------------------------------
def _record(f, primals, origin):
    """Run ``f`` on tape inputs; returns (tape, input leaves, tree, output)."""
    for i, p in enumerate(primals):
        _check_something_to_differentiate(p, f"primal {i}")
    p_leaves, p_tree = tree_flatten(tuple(primals))
    p_leaves = [_float_leaf(x, f"primal leaf {i}") for i, x in enumerate(p_leaves)]
    tape = Tape(origin)
    boxed = [tape.new_input(x) for x in p_leaves]
    try:
        with watching():
            out = _call(f, tree_unflatten(p_tree, boxed))
    finally:
        tape.active = False
    return tape, p_leaves, p_tree, [b._pos for b in boxed], out


def _strip(trace, tree_value, attr: str = "_pos"):
    """Output leaves with this trace's boxes removed, with what each box
    carried (``attr``: a tape position, or a tangent), None for the others."""
    leaves, tree = tree_flatten(tree_value)
    for o in leaves:
        if type(o) is Stacked:  # dualad.vmap's placeholder: this f is not linear in it
            raise NotVectorisable("vmap: a batched result was differentiated further")
        _check_not_leaked(o, trace)
    values, carried, _ = unwrap(trace, leaves, attr)
    return values, carried, tree


def _split_aux(tape, out, has_aux: bool):
    """``(output, aux)`` of a function recorded on ``tape`` (aux unboxed)."""
    if not has_aux:
        return out, None
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError("with has_aux=True, f must return a pair (output, aux)")
    out, aux = out
    aux_vals, _, aux_tree = _strip(tape, aux)
    return out, tree_unflatten(aux_tree, _detached(aux_vals))


def _nan_retry(tape, compute):
    """``compute()`` -- a pass over ``tape``, never the user's function -- and
    once more in NaN-safe mode if a result is NaN that may come from a
    ``0 × inf`` product: only if NumPy reported an invalid operation since
    the tape began (a NaN input, say, costs no retry)."""
    with watching():
        res = compute()
    if (not STATE.nan_safe and INVALID_EVENTS[0] != tape.invalid_mark and has_nan(res)):
        with switched_on():
            res = compute()
    return res


def _cotangents(tape, seeds, in_pos, p_leaves, given) -> list:
    """The backward pass from ``seeds`` to the inputs: fresh arrays, with real
    zeros for inputs no cotangent reached."""
    cts = _nan_retry(tape, lambda: tape.backward(seeds, in_pos)) if seeds else [None] * len(in_pos)
    leaves = [_zeros(x) if c is None else _as_complex_if(c, x) for c, x in zip(cts, p_leaves)]
    return _unalias(leaves, list(p_leaves) + list(given))


def _as_complex_if(c, x):
    """A complex input's cotangent as a complex array (``grad(np.real)``
    reaches it as a real one)."""
    if type(c) is np.ndarray and c.dtype.kind == "f" and type(x) is np.ndarray and x.dtype.kind == "c":
        return c.astype(x.dtype)
    if not np.iscomplexobj(primal(x)) or np.iscomplexobj(primal(c)):
        return c
    if isinstance(c, Box):  # a traced gradient (hvp): cast within the trace
        return c.astype(np.result_type(primal(x)))
    return np.asarray(c, dtype=np.result_type(primal(x)))


def vjp(f: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """Vector-Jacobian product: returns ``(f(*primals), pullback)`` (and ``aux``).

    ``pullback(cotangent)`` gives a tuple with one cotangent ``uᵀJ`` per
    primal.  It may be called any number of times; dropping it frees the
    tape.  With ``has_aux=True``, ``f`` returns ``(output, aux)`` and the
    result is ``(output, pullback, aux)``.

    >>> import numpy as np, dualad as ad
    >>> y, pullback = ad.vjp(lambda x: x ** 2, np.array([1.0, 3.0]))
    >>> pullback(np.ones(2))[0].tolist()
    [2.0, 6.0]
    """
    tape, p_leaves, p_tree, in_pos, out = _record(f, primals, "vjp")
    out, aux = _split_aux(tape, out, has_aux)
    _check_returned(out, "vjp")
    out_vals, out_pos, out_tree = _strip(tape, out)
    out_value = tree_unflatten(out_tree, _detached(out_vals))

    def pullback(cotangent):
        c_leaves, c_tree = tree_flatten(cotangent)
        if c_tree != out_tree:
            raise ValueError(f"cotangent has structure {c_tree}; expected {out_tree}, "
                             "the structure of f's output")
        if any_stacked(c_leaves):  # dualad.vmap over the cotangents: one backward pass
            U, _ = stacked_directions(c_leaves, [np.shape(o) for o in out_vals])
            return placeholders(_pull_stacked(pullback, out_tree, out_vals, U))
        seeds = []
        for i, (c, o, pos) in enumerate(zip(c_leaves, out_vals, out_pos)):
            c = _tangent_leaf(c, o, f"cotangent leaf {i}", False)
            if pos is not None:
                seeds.append((pos, c))
        leaves = _cotangents(tape, seeds, in_pos, p_leaves, c_leaves + out_vals)
        return tree_unflatten(p_tree, leaves)

    pullback.__doc__ = "Cotangents of the primals given a cotangent of the output."
    if has_aux:
        return out_value, pullback, aux
    return out_value, pullback


def _check_argnums(argnums, nargs: int) -> tuple:
    single = not isinstance(argnums, (tuple, list))
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            raise ValueError(f"argnums {argnums!r} is out of range for a function "
                             f"called with {nargs} positional argument(s)")
    if not nums:
        raise ValueError("argnums must name at least one argument")
    nums = tuple(a % nargs for a in nums)
    if len(set(nums)) != len(nums):
        raise ValueError(f"argnums {argnums!r} names the same argument twice")
    return nums


def _scalar_seed(out, fname: str, holomorphic: bool = False, has_aux: bool = True):
    p = primal(out)
    if not holomorphic and (type(p) is np.float64 or (type(p) is np.ndarray and p.ndim == 0
                                                      and p.dtype == np.float64)):
        return np.ones(())  # the common case, checked cheaply
    if isinstance(out, (tuple, list, dict)) or np.ndim(p) != 0:
        shape = np.shape(p) if not isinstance(out, (tuple, list, dict)) else type(out).__name__
        hint = (" If f returns (value, aux) -- the value and something to carry along -- "
                "pass has_aux=True." if isinstance(out, (tuple, list)) and len(out) == 2
                and not has_aux else "")
        raise TypeError(
            f"{fname} needs f to return a scalar, but it returned shape {shape}. "
            "For a vector output use dualad.jacrev (the Jacobian) or dualad.vjp "
            f"(a vector-Jacobian product); or reduce it, e.g. np.sum(...).{hint}")
    _check_output_kind(p, fname, holomorphic)
    return np.ones((), dtype=np.result_type(p))


def _check_output_kind(p, fname: str, holomorphic: bool) -> None:
    """Reverse-mode derivatives of complex outputs need ``holomorphic=True``
    (as in JAX): for any other f the pullback of a real seed sees only the
    real part of the output."""
    kind = np.result_type(p).kind
    if kind == "c" and not holomorphic:
        hint = (f"If f is holomorphic, pass {fname}(f, holomorphic=True) (its derivative "
                "f'(z)). " if fname in ("grad", "jacrev") else "")
        raise TypeError(
            f"{fname} needs a real-valued output, but f returned {np.result_type(p)}. "
            f"{hint}For a real loss of complex values take np.real, np.abs or "
            "np.abs(...) ** 2 first; for any other complex output use dualad.vjp "
            "(or dualad.jvp) directly.")
    if kind != "c" and holomorphic:
        raise TypeError(f"{fname} with holomorphic=True needs a complex output, but f "
                        f"returned {np.result_type(p)}; leave holomorphic=False.")
    if kind not in "fc":
        raise TypeError(f"{fname} needs a floating-point output, got {np.result_type(p)}")


def _check_real_inputs(x, fname: str) -> None:
    """Forward-mode Jacobians of complex inputs need ``holomorphic=True``."""
    for leaf in tree_flatten(x)[0]:
        if np.iscomplexobj(primal(leaf)):
            raise TypeError(
                f"{fname} needs real inputs, but one has dtype {np.result_type(primal(leaf))}. "
                f"If f is holomorphic, pass {fname}(f, holomorphic=True); otherwise "
                "differentiate in the real and imaginary parts as separate real inputs, "
                "or use dualad.jacrev (real outputs) or dualad.jvp.")


def _check_holomorphic_inputs(x, fname: str) -> None:
    """``holomorphic=True`` differentiates in complex inputs only (as JAX)."""
    for leaf in tree_flatten(x)[0]:
        if not np.iscomplexobj(primal(leaf)):
            raise TypeError(
                f"{fname} with holomorphic=True needs complex inputs, but one has dtype "
                f"{np.result_type(primal(leaf))}; pass x.astype(complex).")


def value_and_grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
                   holomorphic: bool = False) -> Callable:
    """``f``'s value and gradient in one reverse pass.

    Complex inputs (JAX's and HIPS autograd's convention): for a real-valued
    ``f`` of ``z = x + iy`` the gradient is ``∂f/∂x − i ∂f/∂y``, so a descent
    step is ``z − lr * np.conj(g)``.  A complex-valued ``f`` must be
    holomorphic and say so, ``holomorphic=True``; then the gradient is
    ``f'(z)``.

    >>> import numpy as np, dualad as ad
    >>> value, g = ad.value_and_grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
    >>> float(value), g.tolist()
    (5.0, [2.0, 4.0])
    """
    def wrapped(*args, **kwargs):
        partial, x = _partial(f, args, kwargs, argnums)
        if holomorphic:
            _check_holomorphic_inputs(x, "grad")
        # vjp's steps, without re-checking a seed that is ours
        tape, p_leaves, p_tree, in_pos, out = _record(partial, (x,), "grad")
        out, aux = _split_aux(tape, out, has_aux)
        _check_returned(out, "grad")
        if isinstance(out, (tuple, list, dict)):
            _scalar_seed(out, "grad", has_aux=has_aux)  # raises
        (value,), (pos,), _ = _strip(tape, out)
        seed = _scalar_seed(value, "grad", holomorphic)
        seeds = [] if pos is None else [(pos, seed)]
        (g,) = tree_unflatten(p_tree, _cotangents(tape, seeds, in_pos, p_leaves, [value]))
        if has_aux:
            return (value, aux), g
        return value, g

    wrapped.__name__ = f"value_and_grad({getattr(f, '__name__', 'f')})"
    return wrapped


def grad(f: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False) -> Callable:
    """Gradient of a scalar function (reverse mode).  Complex inputs and
    ``holomorphic``: see :func:`value_and_grad`.

    >>> import numpy as np, dualad as ad
    >>> ad.grad(lambda x: np.sum(np.sin(x)))(np.zeros(2)).tolist()
    [1.0, 1.0]
    """
    vg = value_and_grad(f, argnums, has_aux, holomorphic)

    def wrapped(*args, **kwargs):
        (value, g) = vg(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g

    wrapped.__name__ = f"grad({getattr(f, '__name__', 'f')})"
    return wrapped


def linearize(f: Callable, *primals: Any) -> tuple:
    """Evaluate ``f`` once and return ``(f(*primals), f_jvp)``.

    ``f_jvp(*tangents)`` equals ``jvp(f, primals, tangents)[1]`` but replays
    the recorded computation with JVP rules only, reusing the primal values
    (and, after the first call, the derivative factors of elementwise
    operations).  ``f_jvp(*tangents, batched=True)`` takes ``k`` directions
    at once.

    >>> import numpy as np, dualad as ad
    >>> y, f_jvp = ad.linearize(np.exp, 0.0)
    >>> float(f_jvp(3.0))
    3.0
    """
    tape, p_leaves, p_tree, in_pos, out = _record(f, primals, "linearize")
    value, f_jvp, _ = _linearization(tape, p_leaves, p_tree, in_pos, _strip(tape, out))
    return value, f_jvp


class GradientLinearization:
    """A scalar function's value and gradient at ``x``, and the gradient's
    linearization there: Hessian-vector products without forming the Hessian.

    Made by :func:`linearize_grad`.  ``f`` and its backward pass are recorded
    once, on one tape; each product is then one forward tangent sweep over
    that recording, reusing its primal values.

    Attributes
    ----------
    x : ndarray
        The point.
    value, grad
        ``f(x)`` and ``∇f(x)`` (an array shaped like ``x``).
    jvp : callable
        ``jvp(v) -> (∇f(x)·v, H v)``: the ``f_jvp`` that
        ``linearize(value_and_grad(f), x)`` returns (``batched=True`` takes
        ``k`` directions stacked on a leading axis).
    """

    __slots__ = ("x", "value", "grad", "jvp", "_tangents", "_tape", "_key")

    def __init__(self, x: np.ndarray, value: Any, grad: Any, jvp: Callable,
                 tangents: Callable, tape: Tape, key: tuple | None) -> None:
        self.x, self.value, self.grad, self.jvp = x, value, grad, jvp
        self._tangents = tangents  # (tangents, batched, outputs) -> output tangent leaves
        self._tape = tape
        self._key = key  # the sweep from x to the gradient, or None if it is constant

    def hvp(self, v: ArrayLike) -> np.ndarray:
        """``H v`` for one direction ``v`` shaped like ``x``.

        >>> import numpy as np, dualad as ad
        >>> lin = ad.linearize_grad(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]))
        >>> lin.hvp(np.array([1.0, 1.0])).tolist()
        [6.0, 12.0]
        """
        x, key = self.x, self._key
        # a float vector of x's own dtype goes straight to the compiled sweep,
        # past jvp's checks and pytree handling: Newton-CG's inner loop
        if key is not None and type(v) is np.ndarray and v.dtype == x.dtype \
                and v.shape == x.shape and v.ndim == 1:
            (r,) = self._tape.forward_sweep([(key[0][0], v)], key[1], False, key)
            # r.dot(r) is NaN exactly when an entry is (and cheaper than a sum here)
            if type(r) is np.ndarray and r.ndim == 1 and not math.isnan(r.dot(r).real):
                (r,) = _unalias([r], [v, x])
                return r
        if isinstance(v, (list, tuple)):
            v = np.asarray(v)  # a direction, not a pytree
        return self._tangents((v,), False, (1,))[0]  # the careful path (NaN-safe retry)

    def hvp_batched(self, V: ArrayLike) -> np.ndarray:
        """``H v`` for ``k`` directions in one sweep: ``V`` and the result have
        shape ``(k,) + x.shape``, one direction per row.

        >>> import numpy as np, dualad as ad
        >>> lin = ad.linearize_grad(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]))
        >>> lin.hvp_batched(np.eye(2)).tolist()
        [[6.0, 0.0], [0.0, 12.0]]
        """
        if isinstance(V, (list, tuple)):
            V = np.asarray(V)
        return self._tangents((V,), True, (1,))[0]

    def __repr__(self):
        return f"<GradientLinearization at x of shape {np.shape(self.x)}>"


def linearize_grad(f: Callable, x: ArrayLike, *,
                   plans: dict | None = None) -> GradientLinearization:
    """Record ``f`` and its gradient at one float array ``x``, for Hessian products.

    The value, gradient and tangents equal those of
    ``linearize(value_and_grad(f), x)``, but the backward pass is recorded
    on the same tape as ``f`` instead of on a second, nested one: one layer
    of boxes less around every operation, which is what a second-order
    optimiser pays at every iterate (``dualad.optimize.HessianOperator``).

    ``plans``: a dict passed (empty at first) to successive calls, as an
    optimiser does at successive iterates.  The sweep at a later ``x`` whose
    recording has the same structure reuses the plan compiled for an earlier
    one and only recomputes the derivative factors at the new ``x``.

    >>> import numpy as np, dualad as ad
    >>> f = lambda x: np.sum(x ** 3) + x[0] * x[1]
    >>> lin = ad.linearize_grad(f, np.array([1.0, 2.0]))
    >>> float(lin.value), lin.grad.tolist()
    (11.0, [5.0, 13.0])
    >>> lin.hvp(np.array([1.0, 0.0])).tolist()
    [6.0, 1.0]
    """
    if isinstance(x, (tuple, list, dict)) or x is None:
        raise TypeError(f"linearize_grad: x must be one float array, not a "
                        f"{type(x).__name__}; flatten a pytree into one vector first")
    tape, p_leaves, p_tree, in_pos, out = _record_with_gradient(f, x, plans)
    stripped = _strip(tape, out)
    (value, g), f_jvp, tangents = _linearization(tape, p_leaves, p_tree, in_pos, stripped)
    grad_pos = stripped[1][1]
    key = None
    if grad_pos is not None and type(p_leaves[0]) is np.ndarray:
        key = ((in_pos[0],), (grad_pos,), False)
    return GradientLinearization(p_leaves[0], value, g, f_jvp, tangents, tape, key)


def _record_with_gradient(f, x, plans):
    """``f`` at ``x`` and then its backward pass recorded on one tape
    (``Tape.backward(..., record=True)``: each VJP rule runs on the tape's own
    boxed values); returns (tape, input leaves, tree, input positions,
    (output, gradient))."""
    p_leaves = [_float_leaf(x, "x")]
    tape = Tape("linearize_grad")
    tape.plans = plans
    boxed = tape.new_input(p_leaves[0])
    try:
        with watching():
            out = _call(f, (boxed,))
        if isinstance(out, (tuple, list, dict)):
            _scalar_seed(out, "grad")  # raises
        (value,), (pos,), _ = _strip(tape, out)
        seed = _scalar_seed(value, "grad")
        g = None
        if pos is not None:
            # a NaN-safe redo is of the recorded backward pass, on the same
            # tape: f itself is never called again
            g = _nan_retry(tape, lambda: tape.backward([(pos, seed)], [boxed._pos],
                                                       record=True))[0]
    finally:
        tape.active = False
    if g is None:
        g = _zeros(p_leaves[0])
    elif type(g) is np.ndarray:  # a gradient that does not depend on x
        (g,) = _unalias([g], p_leaves)
    _, p_tree = tree_flatten((x,))
    return tape, p_leaves, p_tree, [boxed._pos], (out, g)


def _detached(values: list) -> list:
    """Output values handed back while their tape lives on (``vjp``,
    ``linearize``): arrays are copies, so that changing one in place cannot
    change what the tape's derivative formulas read (``exp``'s reads its
    output)."""
    return [v.copy() if type(v) is np.ndarray else v for v in values]


def _linearization(tape, p_leaves, p_tree, in_pos, stripped):
    """``(value, f_jvp, tangents)`` of a recording whose outputs, split by
    :func:`_strip`, are ``stripped``; ``tangents(tangents, batched, outputs)``
    is f_jvp's work for the output leaves numbered ``outputs`` only, as a list."""
    out_vals, out_pos, out_tree = stripped

    def tangents_of(tangents, batched: bool, outputs) -> list:
        t_leaves, t_tree = tree_flatten(tangents)
        if t_tree != p_tree:
            raise ValueError(f"tangents have structure {t_tree}; expected {p_tree}")
        t_leaves = [_tangent_leaf(t, x, f"tangent leaf {i}", batched)
                    for i, (t, x) in enumerate(zip(t_leaves, p_leaves))]
        lead = _batch_lead(t_leaves, batched)
        seeds = list(zip(in_pos, t_leaves))
        want = [out_pos[j] for j in outputs if out_pos[j] is not None]
        res = iter(_nan_retry(tape, lambda: tape.forward_sweep(seeds, want, batched)))
        leaves = [next(res) if out_pos[j] is not None else _zeros(out_vals[j], lead)
                  for j in outputs]
        return _unalias(leaves, t_leaves + p_leaves)

    every_output = range(len(out_pos))

    def f_jvp(*tangents, batched: bool = False):
        t_leaves, t_tree = tree_flatten(tangents)
        if any_stacked(t_leaves):  # dualad.vmap over the tangents: one forward sweep
            if batched:
                raise NotVectorisable("vmap of an f_jvp with batched=True")
            T, _ = stacked_directions(t_leaves, [np.shape(primal(x)) for x in p_leaves])
            return placeholders(tree_unflatten(
                out_tree, tangents_of(tree_unflatten(t_tree, T), True, every_output)))
        return tree_unflatten(out_tree, tangents_of(tangents, batched, every_output))

    return tree_unflatten(out_tree, _detached(out_vals)), f_jvp, tangents_of


# ---- second order -------------------------------------------------------------------
def _tree_vdot(a, b):
    la, _ = tree_flatten(a)
    lb, _ = tree_flatten(b)
    total = 0.0
    for x, y in zip(la, lb):
        total = total + np.sum(x * y)
    return total


def hvp(f: Callable, x: Any, v: Any, mode: str = "fwd-over-rev", *, args: tuple = ()) -> Any:
    """Hessian-vector product ``∇²f(x) v`` of a scalar function, without forming H.

    ``args``: further arguments of f, held fixed (SciPy's ``args=``): the
    Hessian is that of ``x -> f(x, *args)``.

    ``mode`` picks the nesting: ``"fwd-over-rev"`` (``jvp`` of ``grad``, the
    default: one tape, tangents pushed through both passes),
    ``"rev-over-fwd"`` (``grad`` of a ``jvp``; about as cheap), ``"rev-over-rev"``
    or ``"fwd-over-fwd"`` (n directions in vector mode: only for small n).
    All four agree; ``dualad.costs.compare`` measures them on your function.

    >>> import numpy as np, dualad as ad
    >>> ad.hvp(lambda x: np.sum(x ** 3), np.array([1.0, 2.0]), np.ones(2)).tolist()
    [6.0, 12.0]
    """
    if mode not in HVP_MODES:
        raise ValueError(f"unknown hvp mode {mode!r}; choose one of {', '.join(HVP_MODES)}")
    if not isinstance(args, tuple):
        raise TypeError(f"hvp: args must be a tuple of f's further arguments, not "
                        f"{type(args).__name__} (for one argument a: args=(a,))")
    if args:
        f_of_x = f
        f = lambda y: f_of_x(y, *args)  # noqa: E731
    x_leaves, x_tree = tree_flatten(x)
    v_leaves, v_tree = tree_flatten(v)
    if v_tree != x_tree:
        raise ValueError(f"v has structure {v_tree}; expected {x_tree}, the structure of x")
    for i, (vi, xi) in enumerate(zip(v_leaves, x_leaves)):
        # rev-over-rev only multiplies by v, which would broadcast a wrong shape
        # (dualad.vmap's placeholder is checked by the jvp it reaches)
        if type(vi) is not Stacked:
            _tangent_leaf(vi, xi, f"v leaf {i}", False)
    if mode == "fwd-over-rev":
        return jvp(grad(f), (x,), (v,))[1]
    if mode == "rev-over-fwd":
        return grad(lambda y: jvp(f, (y,), (v,))[1])(x)
    if mode == "rev-over-rev":
        # Re Σ ∇f(y)·v: its gradient is H v (also for complex y, where ∇f is
        # the convention's ∂/∂x − i ∂/∂y)
        return grad(lambda y: np.real(_tree_vdot(grad(f)(y), v)))(x)
    def directional(y):
        out, t = jvp(f, (y,), (v,))
        _scalar_seed(out, "hvp")  # f must be scalar and real, as in the other modes
        return t
    g = _jacfwd_flat(directional, x, None, scalar_out=True)
    if not any(np.iscomplexobj(primal(leaf)) for leaf in x_leaves):
        return g
    # a complex x: the convention's ∂/∂x − i ∂/∂y, the second from directions
    # i·e_k of the complex leaves (none along real ones)
    is_c = [np.iscomplexobj(primal(leaf)) for leaf in x_leaves]
    g_im = _jacfwd_flat(directional, x, None, scalar_out=True,
                        units=[1j if c else 0.0 for c in is_c])
    (g_leaves, tree), (im_leaves, _) = tree_flatten(g), tree_flatten(g_im)
    return tree_unflatten(tree, [a - 1j * b if c else a
                                 for a, b, c in zip(g_leaves, im_leaves, is_c)])


# ---- Jacobians ---------------------------------------------------------------------
def _ravel(tree):
    leaves, td = tree_flatten(tree)
    leaves = [_float_leaf(x, f"input leaf {i}") for i, x in enumerate(leaves)]
    shapes = [np.shape(primal(x)) for x in leaves]
    sizes = [int(np.prod(s)) for s in shapes]
    return leaves, td, shapes, sizes


def _basis_chunks(shapes, sizes, chunk, dtype, units=None, dtypes=None):
    """Yield (start, stop, tangent leaves) with a batch of unit directions:
    the standard basis, times ``units[i]`` in leaf i if given, each leaf in
    its own dtype ``dtypes[i]`` (a real leaf of a mixed pytree stays real)."""
    n = sum(sizes)
    offsets = np.cumsum([0] + sizes)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        k = stop - start
        eye = np.zeros((k, n), dtype=dtype)
        eye[np.arange(k), np.arange(start, stop)] = 1.0
        leaves = []
        for i in range(len(shapes)):
            block = eye[:, offsets[i]:offsets[i + 1]].reshape((k,) + shapes[i])
            if units is not None:
                block = block * units[i]
            if dtypes is not None and block.dtype != dtypes[i]:
                block = (np.real(block) if dtypes[i].kind != "c" else block).astype(dtypes[i])
            leaves.append(block)
        yield start, stop, leaves


def _jacfwd_flat(f, x, chunk_size, scalar_out=False, units=None):
    """Forward-mode derivative of f at x (a pytree); for scalar_out the result
    is shaped like x (a gradient), else out.shape + x.shape per leaf."""
    leaves, td, shapes, sizes = _ravel(x)
    n = sum(sizes)
    if chunk_size is not None and (isinstance(chunk_size, bool) or int(chunk_size) != chunk_size
                                   or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk = max(1, n if chunk_size is None else min(int(chunk_size), n))
    dtype = np.result_type(*[primal(l) for l in leaves]) if leaves else np.float64
    pieces = []
    out_tree = None
    out_val = None
    dtypes = [np.result_type(primal(l)) for l in leaves]
    dtypes = [d if d.kind in "fc" else np.dtype(np.float64) for d in dtypes]
    for start, stop, basis in _basis_chunks(shapes, sizes, chunk, dtype, units, dtypes):
        out_val, t_out = jvp(lambda *ls: f(tree_unflatten(td, ls)), tuple(leaves),
                             tuple(basis), batched=True)
        t_leaves, out_tree = tree_flatten(t_out)
        pieces.append(t_leaves)
    if n == 0:
        out_val = f(tree_unflatten(td, leaves))
        o_leaves, out_tree = tree_flatten(out_val)
        pieces = [[np.zeros((0,) + np.shape(primal(o))) for o in o_leaves]]
    columns = [np.concatenate([p[j] for p in pieces], axis=0) if len(pieces) > 1 else pieces[0][j]
               for j in range(out_tree.num_leaves)]
    offsets = np.cumsum([0] + sizes)
    results = []
    for col in columns:
        # col: (n,) + out_shape  ->  out_shape + x_shape for each input leaf
        out_shape = np.shape(primal(col))[1:]
        per_leaf = []
        for i, s in enumerate(shapes):
            block = col[offsets[i]:offsets[i + 1]]
            block = np.moveaxis(block, 0, -1) if out_shape else block
            per_leaf.append(np.reshape(block, out_shape + s))
        results.append(tree_unflatten(td, per_leaf))
    if scalar_out:
        return results[0]
    return tree_unflatten(out_tree, results)


def _aux_pair(out, fname: str):
    """``(output, aux)`` of an f called with ``has_aux=True``."""
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise TypeError(f"with has_aux=True, f must return a pair (output, aux); {fname} got "
                        f"{type(out).__name__}")
    return out


def _capturing_aux(f, fname: str):
    """f without its aux, and the list that holds the aux of its last call,
    as plain values (an aux is never differentiated: JAX's has_aux)."""
    store = []

    def without_aux(*args, **kwargs):
        out, aux = _aux_pair(f(*args, **kwargs), fname)
        store[:] = [aux]
        return out

    return without_aux, store


def _detach_tree(tree):
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, [primal(v) for v in leaves])


def stop_gradient(x: Any) -> Any:
    """``x`` with no derivative: every dualad transformation, at every level of
    nesting, sees a constant (JAX's ``stop_gradient``).  Pytrees leaf by leaf.

    >>> import numpy as np, dualad as ad
    >>> ad.grad(lambda x: x * ad.stop_gradient(x))(3.0).item()
    3.0
    """
    return _detach_tree(x)


def _partial(f, args, kwargs, argnums):
    """f as a function of the differentiated argument(s) alone, and their value."""
    nums = _check_argnums(argnums, len(args))
    single = not isinstance(argnums, (tuple, list))

    def partial(diff):
        full = list(args)
        for i, d in zip(nums, (diff,) if single else diff):
            full[i] = d
        return f(*full, **kwargs)

    for i in nums:
        _check_something_to_differentiate(args[i], f"argument {i}")
    x = args[nums[0]] if single else tuple(args[i] for i in nums)
    return partial, x


def jacfwd(f: Callable, argnums: int | Sequence[int] = 0, *, chunk_size: int | None = None,
           holomorphic: bool = False, has_aux: bool = False) -> Callable:
    """Jacobian by forward mode: ``out.shape + in.shape``.

    Complex inputs need ``holomorphic=True`` (as in JAX): the Jacobian is
    then ``f'(z)``; for any other f of complex values it would not be one
    complex matrix (treat the real and imaginary parts as real inputs).

    Uses vector mode: ``chunk_size`` directions per pass (default all n at
    once), so a Jacobian needs ``ceil(n / chunk_size)`` passes.  Pytrees: the
    result is the output's structure holding, per output leaf, the input's
    structure of Jacobian blocks (as in JAX).

    >>> import numpy as np, dualad as ad
    >>> ad.jacfwd(lambda x: x ** 2)(np.array([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]

    ``has_aux=True``: f returns ``(output, aux)``, the result is ``(jacobian, aux)``.
    """
    def jac(*args, **kwargs):
        g, store = _capturing_aux(f, "jacfwd") if has_aux else (f, None)
        partial, x = _partial(g, args, kwargs, argnums)
        if holomorphic:
            _check_holomorphic_inputs(x, "jacfwd")
        else:
            _check_real_inputs(x, "jacfwd")
        result = _jacfwd_flat(partial, x, chunk_size)
        return (result, _detach_tree(store[0])) if has_aux else result

    jac.__name__ = f"jacfwd({getattr(f, '__name__', 'f')})"
    return jac


def _pull_batch(pullback, o_tree, zeros: list, j: int, U) -> list:
    """``k`` cotangents of output leaf ``j`` (the rows of ``U``, shape
    ``(k,) + leaf shape``) pulled back in one backward pass: the pullback is
    linear in its cotangent, so its forward-mode derivative at any cotangent
    in the ``k`` directions ``U`` is the ``k`` pulled-back rows -- vector
    mode through the backward pass, whose rules already handle a batch axis
    of tangents.  The cotangent it is taken at is ones, not zeros: a zero
    one would meet an infinite derivative (sqrt at 0) as 0 × inf, which the
    NaN-safe rules resolve differently from the pulled-back rows themselves.
    Returns one ``(k,) + input shape`` array per input leaf."""
    def pull(u):
        seeds = list(zeros)
        seeds[j] = u
        return tree_flatten(pullback(tree_unflatten(o_tree, seeds))[0])[0]

    _, rows = jvp(pull, (np.ones_like(zeros[j]),), (U,), batched=True)
    return rows


def _pull_stacked(pullback, o_tree, out_vals, U_leaves: list):
    """The cotangents ``U_leaves`` (one ``(k,) + shape`` array per output
    leaf) pulled back in one backward pass, as :func:`_pull_batch` does for
    one leaf: a tree of ``(k,) + input shape`` arrays (``dualad.vmap``)."""
    ones = tuple(_zeros(o) + 1 for o in out_vals)
    return jvp(lambda *u: pullback(tree_unflatten(o_tree, u)), ones, tuple(U_leaves),
               batched=True)[1]


def _identity(m: int, dtype) -> np.ndarray:
    """``np.eye(m, dtype=dtype)``, read-only, made once per size (core.IDENTITY_SEEDS)."""
    key = (m, np.dtype(dtype))
    eye = core.IDENTITY_SEEDS.get(key)
    if eye is None:
        eye = np.eye(m, dtype=dtype)
        if m > core.IDENTITY_MAX_SIZE:
            return eye
        eye.flags.writeable = False
        if len(core.IDENTITY_SEEDS) >= core.IDENTITY_MEMO:
            core.IDENTITY_SEEDS.clear()
        core.IDENTITY_SEEDS[key] = eye
    return eye


def jacrev(f: Callable, argnums: int | Sequence[int] = 0, *, holomorphic: bool = False,
           has_aux: bool = False) -> Callable:
    """Jacobian by reverse mode: ``out.shape + in.shape``, from one tape and
    one backward pass that pulls every output entry's cotangent back at once
    (vector mode through the pullback).

    Complex outputs need ``holomorphic=True`` (as in JAX; then the inputs
    are complex too).  A real output of complex inputs gives rows in the
    convention of :func:`value_and_grad` (``∂/∂x − i ∂/∂y``).

    >>> import numpy as np, dualad as ad
    >>> ad.jacrev(lambda x: x ** 2)(np.array([1.0, 2.0])).tolist()
    [[2.0, 0.0], [0.0, 4.0]]

    ``has_aux=True``: f returns ``(output, aux)``, the result is ``(jacobian, aux)``.
    """
    def jac(*args, **kwargs):
        if has_aux:
            g, store = _capturing_aux(f, "jacrev")
            return jacrev(g, argnums, holomorphic=holomorphic)(*args, **kwargs), \
                _detach_tree(store[0])
        partial, x = _partial(f, args, kwargs, argnums)
        if holomorphic:
            _check_holomorphic_inputs(x, "jacrev")
        out, pullback = vjp(partial, x)
        o_leaves, o_tree = tree_flatten(out)
        for o in o_leaves:
            _check_output_kind(primal(o), "jacrev", holomorphic)
        in_leaves, in_tree = tree_flatten(x)
        in_shapes = [np.shape(primal(v)) for v in in_leaves]
        results = []
        for j, o in enumerate(o_leaves):
            o_shape = np.shape(primal(o))
            m = int(np.prod(o_shape))
            zeros = [_zeros(ol) for ol in o_leaves]
            basis = _identity(m, zeros[j].dtype).reshape((m,) + o_shape)
            rows = _pull_batch(pullback, o_tree, zeros, j, basis) if m else \
                [np.zeros((0,) + s) for s in in_shapes]
            blocks = [np.reshape(r, o_shape + s) for r, s in zip(rows, in_shapes)]
            results.append(tree_unflatten(in_tree, blocks))
        return tree_unflatten(o_tree, results)

    jac.__name__ = f"jacrev({getattr(f, '__name__', 'f')})"
    return jac


def hessian(f: Callable, argnums: int | Sequence[int] = 0, *, chunk_size: int | None = None,
            holomorphic: bool = False, has_aux: bool = False) -> Callable:
    """Dense Hessian, forward-over-reverse: ``jacfwd(jacrev(f))``, shaped
    ``out.shape + in.shape + in.shape``; ``chunk_size`` as in :func:`jacfwd`,
    ``holomorphic`` as in both (complex inputs need it).  ``has_aux=True``: f
    returns ``(output, aux)``, the result is ``(hessian, aux)``.

    >>> import numpy as np, dualad as ad
    >>> ad.hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0])).tolist()
    [[6.0, 0.0], [0.0, 12.0]]
    """
    inner = jacfwd(jacrev(f, argnums, holomorphic=holomorphic), argnums, chunk_size=chunk_size,
                   holomorphic=holomorphic)

    def hess(*args, **kwargs):
        if has_aux:
            g, store = _capturing_aux(f, "hessian")
            return hessian(g, argnums, chunk_size=chunk_size,
                           holomorphic=holomorphic)(*args, **kwargs), _detach_tree(store[0])
        if not holomorphic:
            _check_real_inputs(_partial(f, args, kwargs, argnums)[1], "hessian")
        return inner(*args, **kwargs)

    hess.__name__ = f"hessian({getattr(f, '__name__', 'f')})"
    return hess
