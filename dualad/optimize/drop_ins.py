"""Drop-ins for ``scipy.optimize``, and the callables its functions take.

What this module lets you do
----------------------------
Call :func:`minimize` and :func:`least_squares` as you would SciPy's, and
get, for the method chosen, every derivative it can use from dualad;
or build SciPy's ``jac``, ``hess`` and ``hessp`` arguments for plain
``scipy.optimize`` calls with :func:`fun_and_jac`, :func:`jac`,
:func:`hess` and :func:`hessp`.

The invariant
-------------
What SciPy receives is SciPy's own interface on the flat vector (see
:mod:`dualad.optimize.flat`); what a method gets is decided by one table,
``_METHOD_NEEDS``, and a derivative the user passes is always used as given.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np
import scipy.optimize as _so
import scipy.sparse as _sp
from numpy.typing import ArrayLike

from .. import sparse as _sparse
from ..api import value_and_grad
from ..staging import replay as _replay
from .flat import _plain_x, _Ravel, _scalar_output
from .objective import _ScalarObjective, _VectorFunction
from .operators import HessianOperator, JacobianOperator, _HessianProducts
from .sparse_functions import (_pattern, _sparse_constraint_hess, _sparse_hessian,
                               _SparseVectorFunction)

# What each scipy.optimize.minimize method can use (keys are lower case, as
# SciPy matches them).
_METHOD_NEEDS = {
    "nelder-mead": "value", "powell": "value", "cobyla": "value", "cobyqa": "value",
    "cg": "grad", "bfgs": "grad", "l-bfgs-b": "grad", "tnc": "grad", "slsqp": "grad",
    "newton-cg": "hess", "trust-constr": "hess",
    "trust-ncg": "hessp", "trust-krylov": "hessp",
    "dogleg": "dense", "trust-exact": "dense",
}
MINIMIZE_METHODS = ("Nelder-Mead", "Powell", "CG", "BFGS", "Newton-CG", "L-BFGS-B",
                    "TNC", "COBYLA", "COBYQA", "SLSQP", "trust-constr", "dogleg",
                    "trust-ncg", "trust-exact", "trust-krylov")
_CONSTRAINED = ("cobyla", "cobyqa", "slsqp", "trust-constr")
# The methods whose hess may return a scipy.sparse matrix (both only multiply by it).
SPARSE_HESSIAN_METHODS = ("Newton-CG", "trust-constr")


# ---- helpers for plain scipy.optimize ------------------------------------------------
def fun_and_jac(fun: Callable, *, replay: bool = True) -> Callable:
    """``fun`` as SciPy's ``jac=True`` objective: ``(x, *args) -> (value, gradient)``.

    Both come from one reverse pass, a :func:`dualad.replay` program
    recorded at the first call (``args`` are its arguments: arrays are
    inputs, Python numbers part of the signature); ``replay=False`` for an
    impure ``fun`` (see :func:`minimize`).

    >>> import numpy as np, scipy.optimize
    >>> from dualad.optimize import fun_and_jac
    >>> f = lambda x, c: np.sum((x - c) ** 2)
    >>> res = scipy.optimize.minimize(fun_and_jac(f), np.zeros(3), args=(2.0,),
    ...                               jac=True, method="BFGS")
    >>> np.round(res.x, 6).tolist()
    [2.0, 2.0, 2.0]
    """
    vg = value_and_grad(lambda x, *args: _scalar_output(fun(x, *args)))
    if replay:
        vg = _replay(vg)

    def fg(x, *args):
        value, g = vg(_plain_x(x), *args)
        return float(np.reshape(value, ())), np.asarray(g)

    fg.__name__ = f"fun_and_jac({getattr(fun, '__name__', 'fun')})"
    return fg


def jac(fun: Callable, operator: bool = False, *, replay: bool = True) -> Callable:
    """SciPy's ``jac`` for ``fun``: the gradient of a scalar function, the
    Jacobian (m, n) of a vector function, or with ``operator=True`` a
    :class:`JacobianOperator` (for ``least_squares(..., tr_solver="lsmr")``).

    The derivative programs are :func:`dualad.replay` recordings kept for
    later calls with the same ``args`` and keyword arguments;
    ``replay=False`` for an impure ``fun`` (see :func:`minimize`).

    >>> import numpy as np, scipy.optimize
    >>> from dualad.optimize import jac
    >>> F = lambda x: np.stack([x[0] - 1.0, 10.0 * (x[1] - x[0] ** 2)])
    >>> res = scipy.optimize.least_squares(F, np.zeros(2), jac=jac(F))
    >>> np.round(res.x, 6).tolist()
    [1.0, 1.0]
    """
    state: dict = {}

    def jacobian(x, *args, **kwargs):
        x = _plain_x(x)
        if not replay:
            out_ndim = []

            def F(z, *a):
                out = fun(z, *a, **kwargs)
                out_ndim.append(np.ndim(out))
                return out

            J = JacobianOperator(F, x, args, replay=False)
            if operator:
                return J
            if out_ndim[0] == 0:  # a scalar function: its gradient
                return J.toarray()[0]
            return J.toarray()
        vf = state.get("vf")
        if vf is None or state["shape"] != x.shape or state["keys"] != tuple(kwargs) \
                or not _same_args(state["args"], args + tuple(kwargs.values())):
            vf = state["vf"] = _VectorFunction(lambda z, *a: fun(z, *a, **kwargs),
                                               _Ravel(x), args)
            state["keys"], state["shape"] = tuple(kwargs), x.shape
            state["args"] = _kept(args + tuple(kwargs.values()))
            state["scalar"] = np.ndim(fun(x, *args, **kwargs)) == 0
        if operator:
            return vf.operator(x)
        J = vf.dense(x)
        return J[0] if state["scalar"] else J

    jacobian.__name__ = f"jac({getattr(fun, '__name__', 'fun')})"
    return jacobian


def hess(fun: Callable, dense: bool = False, *, replay: bool = True) -> Callable:
    """SciPy's ``hess`` for ``fun``: ``(x, *args) ->`` a :class:`HessianOperator`
    (for Newton-CG and trust-constr), or with ``dense=True`` the (n, n) array
    (for trust-exact and dogleg).

    The operators of successive calls share :func:`dualad.replay` programs
    while ``args`` stay the same; ``replay=False`` for an impure ``fun``
    (see :func:`minimize`).

    >>> import numpy as np, scipy.optimize
    >>> from dualad.optimize import fun_and_jac, hess
    >>> f = lambda x: np.sum(np.cosh(x - 1.0))
    >>> res = scipy.optimize.minimize(fun_and_jac(f), np.zeros(4), jac=True,
    ...                               hess=hess(f), method="Newton-CG")
    >>> np.round(res.x, 6).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    state: dict = {}

    def hessian(x, *args):
        if not replay:
            H = HessianOperator(fun, _plain_x(x), args, replay=False)
            return H.toarray() if dense else H
        obj = _objective_for(state, fun, _plain_x(x), args)
        return obj.hess_dense(x) if dense else obj.hess_operator(x)

    hessian.__name__ = f"hess({getattr(fun, '__name__', 'fun')})"
    return hessian


def hessp(fun: Callable, *, replay: bool = True) -> Callable:
    """SciPy's ``hessp`` for ``fun``: ``(x, p, *args) -> H(x) @ p``.

    The products are a :func:`dualad.replay` program with ``x`` fixed,
    kept while ``args`` stay the same: the gradient computation runs once
    per ``x``, so the many products a trust-region or CG solver takes at one
    iterate each cost one tangent pass.  With ``replay=False`` the gradient
    computation is recorded on a tape once per ``x`` (the last ``x`` and
    ``args`` are remembered) and each product is one tangent sweep; use it
    for an impure ``fun`` (see :func:`minimize`).

    >>> import numpy as np, scipy.optimize
    >>> from dualad.optimize import fun_and_jac, hessp
    >>> f = lambda x: np.sum(np.cosh(x - 1.0))
    >>> res = scipy.optimize.minimize(fun_and_jac(f), np.zeros(4), jac=True,
    ...                               hessp=hessp(f), method="trust-krylov")
    >>> np.round(res.x, 3).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    state: dict = {}

    def hessian_product(x, p, *args):
        x = _plain_x(x)
        return _objective_for(state, fun, x, args, replay).hessp(x, p)

    hessian_product.__name__ = f"hessp({getattr(fun, '__name__', 'fun')})"
    return hessian_product


def _objective_for(state: dict, fun: Callable, x, args: tuple,
                   replay: bool = True) -> _ScalarObjective:
    """The objective kept in ``state`` for these ``args`` (and x's shape), or a new one:
    its recordings and programs serve every call with the same arguments."""
    obj = state.get("obj")
    if obj is None or state["shape"] != x.shape or not _same_args(state["args"], args):
        obj = state["obj"] = _ScalarObjective(fun, _Ravel(x), args, record=True,
                                              replay=replay)
        state["args"], state["shape"] = _kept(args), x.shape
    return obj


def _kept(args: tuple) -> tuple:
    """What ``_same_args`` compares later calls' arguments with: arrays by value
    (one changed in place is another argument), the rest by identity."""
    return tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)


def _same_args(kept, args) -> bool:
    """Whether ``args`` are the arguments ``kept`` (copies of the arrays) stand for."""
    if len(kept) != len(args):
        return False
    for k, a in zip(kept, args):
        if isinstance(k, np.ndarray):
            if not (isinstance(a, np.ndarray) and a.shape == k.shape and a.dtype == k.dtype
                    and np.array_equal(a, k)):
                return False
        elif k is not a:
            return False
    return True


# ---- minimize -----------------------------------------------------------------------
def _method_key(method) -> str:
    if callable(method):
        return "_custom"
    if not isinstance(method, str) or method.lower() not in _METHOD_NEEDS:
        raise ValueError(f"unknown method {method!r}; scipy.optimize.minimize methods "
                         f"are: {', '.join(MINIMIZE_METHODS)} (or a callable)")
    return method.lower()


def _wrap_callback(callback, ravel: _Ravel):
    """Give the user's callback x in x0's structure (x_flat alongside)."""
    if callback is None or ravel.is_flat:
        return callback
    try:
        params = set(inspect.signature(callback).parameters)
    except (TypeError, ValueError):
        params = set()
    if params == {"intermediate_result"}:
        def wrapped(intermediate_result):
            res = _so.OptimizeResult(intermediate_result)
            res.x_flat = res.x
            res.x = ravel.unravel_result(res.x)
            return callback(intermediate_result=res)
    else:
        def wrapped(xk, *rest):
            return callback(ravel.unravel_result(xk), *rest)
    return wrapped


def _wrap_constraint(con, ravel: _Ravel, key: str, sparse: bool = False,
                     replay: bool = True):
    """A constraint on the pytree made one on the flat vector, with AD derivatives
    where the method uses them and the user gave none (sparse ones with ``sparse``,
    i.e. ``hess="sparse"`` for trust-constr)."""
    wants_jac = key in ("slsqp", "trust-constr", "_custom")
    if isinstance(con, dict):
        con = dict(con)
        args = con.get("args", ())
        args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
        vf = _VectorFunction(con["fun"], ravel, args, replay)
        user_jac = con.get("jac")
        con["args"] = ()
        con["fun"] = vf.plain
        if callable(user_jac):
            con["jac"] = lambda x: np.asarray(user_jac(ravel.unravel(x), *args), dtype=float)
        elif wants_jac:
            con["fun"], con["jac"] = vf.value, vf.dense
            if key == "trust-constr":  # as SciPy would convert it, plus exact Hessians
                lb, ub = (0.0, 0.0) if con.get("type") == "eq" else (0.0, np.inf)
                if not sparse:
                    return _so.NonlinearConstraint(vf.value, lb, ub, jac=vf.dense,
                                                   hess=_constraint_hess(vf.F_flat, replay))
                svf = _SparseVectorFunction(vf.F_flat, ravel.x0)
                return _so.NonlinearConstraint(svf.value, lb, ub, jac=svf.jac,
                                               hess=_sparse_constraint_hess(vf.F_flat,
                                                                            ravel.x0))
        return con
    if isinstance(con, _so.NonlinearConstraint):
        vf = _VectorFunction(con.fun, ravel, (), replay)
        sp_fun = vf.value if wants_jac else vf.plain
        new_jac, new_hess = con.jac, con.hess
        if callable(con.jac):
            new_jac = lambda x, f=con.jac: f(ravel.unravel(x))
        elif wants_jac and sparse:
            # the user's finite-difference pattern, if any, is the exact Jacobian's too
            given = con.finite_diff_jac_sparsity
            svf = _SparseVectorFunction(vf.F_flat, ravel.x0,
                                        None if given is None else _pattern(
                                            given, None, "finite_diff_jac_sparsity"))
            sp_fun, new_jac = svf.value, svf.jac
        elif wants_jac:
            new_jac = vf.dense
        if callable(con.hess):
            new_hess = lambda x, v, h=con.hess: h(ravel.unravel(x), v)
        elif key == "trust-constr" and isinstance(con.hess, _so.BFGS):
            new_hess = _sparse_constraint_hess(vf.F_flat, ravel.x0) if sparse \
                else _constraint_hess(vf.F_flat, replay)
        return _so.NonlinearConstraint(
            sp_fun, con.lb, con.ub, jac=new_jac,
            hess=new_hess, keep_feasible=con.keep_feasible,
            finite_diff_rel_step=con.finite_diff_rel_step,
            finite_diff_jac_sparsity=con.finite_diff_jac_sparsity)
    return con  # LinearConstraint and the like act on the flat vector already


def _constraint_hess(con_fun, replay: bool = True):
    """hess(x, v) = ∇²(v · c)(x) as a HessianOperator (trust-constr's form); with
    ``replay`` every operator shares one set of programs, x and v fixed."""
    if not replay:
        def h(x, v):
            v = np.asarray(v, dtype=float)
            return HessianOperator(lambda z: np.sum(v * con_fun(z)),
                                   np.asarray(x, dtype=float), replay=False)
        return h
    products = _HessianProducts(lambda z, v: np.sum(v * con_fun(z)), n_extra=1)

    def h(x, v):
        x = np.array(x, dtype=float).reshape(-1)  # copies: the operator's own point
        v = np.array(v, dtype=float).reshape(-1)
        return HessianOperator._from_products(products, x, None, None, x.dtype, extra=(v,))
    return h



# ---- bounds for a pytree x0 ----------------------------------------------------------
class _BoundsMismatch(Exception):
    """A bounds object does not follow x0's structure (the message says where)."""


def _walk_like(td, node, leaf_fn, path: str) -> list:
    """``leaf_fn(node, path)`` for each leaf of x0's structure ``td``, reading
    ``node`` in parallel (keys and lengths must agree); results in leaf order."""
    if td.kind == "leaf":
        return [leaf_fn(node, path)]
    if td.kind == "none":
        return []
    if td.kind is dict:
        if not isinstance(node, dict) or set(node) != set(td.keys):
            raise _BoundsMismatch(f"at {path or 'the top'} x0 is a dict with keys "
                                  f"{list(td.keys)}, the bounds give {node!r}")
        return [r for k, c in zip(td.keys, td.children)
                for r in _walk_like(c, node[k], leaf_fn, f"{path}[{k!r}]")]
    if not isinstance(node, (list, tuple)) or len(node) != len(td.children):
        raise _BoundsMismatch(f"at {path or 'the top'} x0 is a {td.kind.__name__} of "
                              f"{len(td.children)}, the bounds give {node!r}")
    return [r for i, c in enumerate(td.children)
            for r in _walk_like(c, node[i], leaf_fn, f"{path}[{i}]")]


def _is_number_or_none(v) -> bool:
    return v is None or (np.ndim(v) == 0 and isinstance(v, (int, float, np.number)))


def _flat_bounds(bounds, ravel: _Ravel):
    """SciPy's bounds for the flat vector, from bounds given for x0's pytree.

    An array x0 keeps SciPy's forms unchanged.  For a pytree x0, SciPy's own
    forms (a ``Bounds``, or n ``(min, max)`` pairs, which win when a reading
    as a pytree would also fit) still work, and so do a pytree like x0 with
    a ``(min, max)`` pair at each leaf and a pair ``(lb, ub)`` of pytrees
    like x0.  A leaf's bound
    is a number or an array of the leaf's shape; None means unbounded.
    """
    if bounds is None or ravel.single:
        return bounds
    shapes = iter(ravel.shapes)

    def values(default, pick):
        def leaf(v, path):
            v = pick(v)
            shape = next(shapes)
            a = np.full(shape, default) if v is None else np.asarray(v, dtype=float)
            try:
                return np.broadcast_to(a, shape).reshape(-1)
            except ValueError:
                raise _BoundsMismatch(f"the bound at {path or 'the top'} has shape "
                                      f"{a.shape}, the leaf of x0 has shape {shape}") from None
        return leaf

    def tree(node, default, pick=lambda v: v):
        nonlocal shapes
        shapes = iter(ravel.shapes)
        return np.concatenate(_walk_like(ravel.treedef, node, values(default, pick), ""))

    if isinstance(bounds, _so.Bounds):
        return bounds  # SciPy's Bounds holds flat arrays (it refuses pytrees)
    if (isinstance(bounds, (list, tuple)) and len(bounds) == ravel.n
            and all(isinstance(b, (list, tuple)) and len(b) == 2
                    and all(_is_number_or_none(v) for v in b) for b in bounds)):
        return bounds  # SciPy's n (min, max) pairs for the flat vector
    problems = []
    try:
        pairs = _walk_like(ravel.treedef, bounds, lambda v, path: v, "")
        if all(isinstance(p, (list, tuple)) and len(p) == 2 for p in pairs):
            return _so.Bounds(tree(bounds, -np.inf, lambda pair: pair[0]),
                              tree(bounds, np.inf, lambda pair: pair[1]))
        problems.append("not every leaf has a (min, max) pair")
    except _BoundsMismatch as exc:
        problems.append(str(exc))
    if isinstance(bounds, (list, tuple)) and len(bounds) == 2:
        try:
            return _so.Bounds(tree(bounds[0], -np.inf), tree(bounds[1], np.inf))
        except _BoundsMismatch as exc:
            problems.append(f"read as (lb, ub): {exc}")
    raise ValueError(
        f"bounds do not match x0, a pytree of structure {ravel.treedef!r} with "
        f"{ravel.n} entries ({'; '.join(problems)}). Pass them as a pytree like x0 with "
        "a (min, max) pair at each leaf, e.g. {'a': (0, None), 'k': (0.0, 5.0)}; or as "
        "(lb, ub) with lb and ub pytrees like x0; or as SciPy's Bounds or "
        f"list of {ravel.n} (min, max) pairs for the flat vector (result.x_flat's order). "
        "None means unbounded.")


def minimize(fun: Callable, x0: Any, args: Any = (), method: str | Callable | None = None,
             jac: Callable | bool | str | None = None,
             hess: Callable | str | _so.HessianUpdateStrategy | None = None,
             hessp: Callable | None = None, bounds: Any = None, constraints: Any = (),
             tol: float | None = None, callback: Callable | None = None,
             options: dict | None = None, *, replay: bool = True) -> _so.OptimizeResult:
    """Drop-in for ``scipy.optimize.minimize`` with exact derivatives from dualad.

    Supplies what the method can use: the value and gradient from one reverse
    pass (SciPy's ``jac=True`` form) for every gradient-based method; ``hess``
    as a :class:`HessianOperator` for Newton-CG and trust-constr; a ``hessp``
    that reuses the recording at the current x for trust-ncg and
    trust-krylov; a dense Hessian for trust-exact and dogleg; nothing for
    Nelder-Mead, Powell, COBYLA and COBYQA.

    ``replay=True`` (the default): the derivatives are :func:`dualad.replay`
    programs, recorded at the first evaluation and replayed at every later
    iterate without boxes or dispatch -- value and gradient one replayed
    ``value_and_grad``, Hessian products replayed with x fixed (the gradient
    computation runs once per iterate, each product only its tangent part),
    dense Hessians a replayed ``hessian``.  ``fun`` must then be pure: its
    side effects happen once per recording, and globals it reads are
    captured at the recording; ``args`` are read once too.  Pass
    ``replay=False`` for impure objectives -- ones that count calls, print,
    or read changing global state -- or when recording costs more than it
    saves, e.g. a function called once; then every evaluation runs ``fun``
    (for Newton-CG, trust-constr and the trust-region methods it records the
    gradient computation on a tape, so the Hessian products at that x reuse
    it).  Both give the same iterates.  Derivative-free methods call ``fun``
    directly either way.

    A ``jac``, ``hess`` or ``hessp`` you pass is used as given (a ``jac``
    string such as ``'2-point'`` or ``False`` switches AD off altogether);
    when you give ``hess`` or ``hessp`` no AD Hessian is added.  Constraint
    functions (dicts or ``NonlinearConstraint``) for SLSQP and trust-constr
    get AD Jacobians when theirs is missing or a finite-difference string,
    and for trust-constr also exact Hessians in place of the default
    ``BFGS`` approximation.

    ``hess="sparse"`` (Newton-CG and trust-constr, the methods that accept a
    sparse Hessian) gives SciPy the exact Hessian as a
    ``scipy.sparse.csr_array`` at each iterate, from
    :class:`dualad.sparse.SparseHessian`: its pattern is detected and
    coloured once at ``x0`` (a global pattern, valid at every x) and each
    Hessian costs one compressed pass with as many directions as colours.
    The gradient is then a reverse pass.  With trust-constr, constraints
    whose derivatives dualad supplies get sparse Jacobians
    (:class:`dualad.sparse.SparseJacobian`; a ``NonlinearConstraint``'s
    ``finite_diff_jac_sparsity``, if given, is used as their pattern) and
    sparse Hessians ``hess(x, v)`` of ``v · c(x)``.  Another method with
    ``hess="sparse"`` raises ``ValueError``.

    ``x0`` may be a pytree (dict, tuple or list of arrays); ``fun`` then
    receives that structure, ``result.x`` has it too, and ``result.x_flat``
    is the flat vector SciPy worked on (also set for array ``x0``).  Your
    ``jac``, ``hess``, ``hessp``, constraint functions and ``callback`` also
    receive x (and ``hessp`` its p) in x0's structure; ``jac`` may return a
    pytree like x0 or a flat vector; constraint Jacobians refer to the flat
    vector.  ``bounds`` may follow x0's structure: a pytree like x0 with a
    ``(min, max)`` pair at each leaf (``{"a": (0, None), "k": (0.0, 5.0)}``),
    or ``(lb, ub)`` with lb and ub pytrees like x0 (a leaf's bound a number
    or an array of its shape, None unbounded); SciPy's flat forms (``Bounds``,
    n pairs) work too, and win when both readings fit.  ``method=None`` picks Newton-CG for an unconstrained problem (exact
    Hessian products make it the natural choice) and SciPy's own choice
    (SLSQP with constraints, L-BFGS-B with bounds) otherwise.

    Raises ``ValueError`` for an unknown method (listing the valid ones) or
    an objective returning more than one number, and ``TypeError`` for a
    complex or non-numeric ``x0``; integer ``x0`` is converted to float64,
    as SciPy does.  NaN or inf values go to SciPy unchanged, which then
    behaves as it documents for the method.  Returns SciPy's
    ``OptimizeResult``; ``result.nhvp`` counts the AD Hessian-vector products.

    >>> import numpy as np
    >>> from dualad.optimize import minimize
    >>> def loss(p, t, y):
    ...     return np.sum((p["a"] * np.exp(-p["k"] * t) - y) ** 2)
    >>> t = np.linspace(0.0, 2.0, 20); y = 3.0 * np.exp(-1.5 * t)
    >>> res = minimize(loss, {"a": 1.0, "k": 1.0}, args=(t, y), method="trust-exact")
    >>> round(float(res.x["a"]), 4), round(float(res.x["k"]), 4)
    (3.0, 1.5)
    """
    args = args if isinstance(args, tuple) else (args,)
    if method is None:
        if constraints:
            method = "SLSQP"
        elif bounds is not None:
            method = "L-BFGS-B"
        else:
            method = "Newton-CG"
    key = _method_key(method)
    sparse = isinstance(hess, str) and hess == "sparse"
    if sparse and key not in ("newton-cg", "trust-constr"):
        raise ValueError(f"hess='sparse' asks for an exact sparse Hessian, which only "
                         f"{' and '.join(SPARSE_HESSIAN_METHODS)} accept, not method={method!r}; "
                         "use one of those, or drop hess and let dualad supply what "
                         "this method can use")
    ravel = _Ravel(x0)
    needs = _METHOD_NEEDS.get(key, "grad")
    user_jac_is_fd = isinstance(jac, str) or jac is False
    use_ad = not user_jac_is_fd
    want_hessian = needs in ("hess", "hessp", "dense") and hess is None and hessp is None \
        and use_ad
    obj = _ScalarObjective(fun, ravel, args, record=want_hessian, first_output=jac is True,
                           replay=replay)

    # What SciPy sees: functions of the flat vector, no args.
    if jac is True:
        def sp_fun(x):
            value, g = fun(ravel.unravel(x), *args)
            return value, ravel.ravel(g, "fun's gradient")
        sp_jac = True
    elif callable(jac):
        sp_fun = obj.value
        sp_jac = lambda x: ravel.ravel(jac(ravel.unravel(x), *args), "jac")  # noqa: E731
    elif user_jac_is_fd or needs == "value":
        sp_fun, sp_jac = obj.value, (jac if user_jac_is_fd else None)
    else:
        sp_fun, sp_jac = obj.fun, obj.grad

    sp_hess, sp_hessp = None, None
    if sparse:
        sp_hess = _sparse_hessian(obj.f_flat, ravel.x0)
    elif hess is not None:
        sp_hess = hess if isinstance(hess, str) or not callable(hess) \
            else (lambda x: hess(ravel.unravel(x), *args))
    if hessp is not None:
        sp_hessp = lambda x, p: ravel.ravel(  # noqa: E731
            hessp(ravel.unravel(x), ravel.unravel_result(p), *args), "hessp")
    if want_hessian:
        if needs == "hess" and replay and key == "newton-cg":
            # Newton-CG calls hessp(x, p) directly, where a hess operator would
            # be wrapped in SciPy's sf.hess(x).dot(p) (one more comparison of x
            # per product); the products are the same
            sp_hessp = obj.hessp
        elif needs == "hess":
            sp_hess = obj.hess_operator
        elif needs == "hessp":
            sp_hessp = obj.hessp
        else:
            sp_hess = obj.hess_dense

    sp_constraints = constraints
    if constraints is not None and key in _CONSTRAINED + ("_custom",):
        many = isinstance(constraints, (list, tuple))
        cons = list(constraints) if many else [constraints]
        sp_constraints = [_wrap_constraint(c, ravel, key, sparse, replay) for c in cons]
        if not many:
            sp_constraints = sp_constraints[0]

    res = _so.minimize(sp_fun, ravel.x0, method=method, jac=sp_jac, hess=sp_hess,
                       hessp=sp_hessp, bounds=_flat_bounds(bounds, ravel),
                       constraints=sp_constraints,
                       tol=tol, callback=_wrap_callback(callback, ravel), options=options)
    res.x_flat = res.x
    res.x = ravel.unravel_result(res.x)
    res.nhvp = obj.nhvp
    return res


# ---- least squares ---------------------------------------------------------------------
def _least_squares_bounds(bounds, ravel: _Ravel):
    """least_squares' ``bounds`` for the flat vector: SciPy's ``(lb, ub)`` of
    numbers (or of flat arrays, or a ``Bounds``) as given; for a pytree x0
    also the forms :func:`minimize` takes (see :func:`_flat_bounds`)."""
    if ravel.single or isinstance(bounds, _so.Bounds):
        return bounds
    if isinstance(bounds, (list, tuple)) and len(bounds) == 2 and all(
            _is_number_or_none(b) or _is_flat_vector(b, ravel.n) for b in bounds):
        # SciPy's (lb, ub): numbers, or arrays for the flat vector
        return tuple((-np.inf if k == 0 else np.inf) if b is None else b
                     for k, b in enumerate(bounds))
    flat = _flat_bounds(bounds, ravel)
    if isinstance(flat, _so.Bounds):
        return flat
    # n (min, max) pairs (minimize's form) as least_squares' (lb, ub)
    return _so.Bounds([-np.inf if lo is None else lo for lo, _ in flat],
                      [np.inf if hi is None else hi for _, hi in flat])


def _is_flat_vector(b, n: int) -> bool:
    if isinstance(b, (dict, tuple)) or b is None:
        return False
    try:
        a = np.asarray(b, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == (n,)


def least_squares(fun: Callable, x0: Any, jac: Callable | str | None = None,
                  bounds: Any = (-np.inf, np.inf), method: str = "trf",
                  ftol: float | None = 1e-8, xtol: float | None = 1e-8,
                  gtol: float | None = 1e-8, x_scale: ArrayLike | str | None = None,
                  loss: str | Callable = "linear", f_scale: float = 1.0,
                  diff_step: ArrayLike | None = None, tr_solver: str | None = None, tr_options: dict | None = None,
                  jac_sparsity: ArrayLike | _sp.spmatrix | _sp.sparray | str | None = None,
                  max_nfev: int | None = None, verbose: int = 0,
                  args: Any = (), kwargs: dict | None = None, callback: Callable | None = None,
                  workers: int | Callable | None = None, *,
                  replay: bool = True) -> _so.OptimizeResult:
    """Drop-in for ``scipy.optimize.least_squares`` with exact Jacobians from dualad.

    With ``jac=None`` (the default here) the Jacobian is a
    :class:`JacobianOperator` (``matvec`` a JVP, ``rmatvec`` a VJP, both
    reusing the evaluation of the residuals at that x) solved with
    ``tr_solver="lsmr"``; it is a dense AD Jacobian when the method needs one:
    ``method="lm"``, ``tr_solver="exact"`` or ``x_scale="jac"``.  A ``jac``
    you pass (a callable or a finite-difference string) is used as given.
    The JVPs and VJPs are :func:`dualad.replay` programs with x fixed, the
    dense Jacobian a replayed ``jacfwd`` or ``jacrev``: pass ``replay=False``
    for impure residual functions, as in :func:`minimize`.

    ``bounds`` for a pytree x0 may follow its structure, as in
    :func:`minimize`: a pytree like x0 with a ``(min, max)`` pair at each
    leaf, or a pair ``(lb, ub)`` of pytrees like x0 (numbers or arrays of the
    leaf's shape; None for unbounded); SciPy's own forms still work.

    ``jac_sparsity="auto"``, or an (m, n) pattern (array or sparse matrix,
    as SciPy takes), makes the Jacobian an exact ``scipy.sparse.csr_array``
    from :class:`dualad.sparse.SparseJacobian`: the pattern is detected (or
    taken) and coloured once at ``x0`` -- a global pattern, valid at every
    iterate -- and each Jacobian is one compressed pass with as many
    directions as colours; ``tr_solver`` defaults to ``"lsmr"``, and
    ``method="lm"`` or ``tr_solver="exact"`` (dense only) raise
    ``ValueError``.  With a finite-difference ``jac`` such as ``"2-point"``,
    ``jac_sparsity="auto"`` hands SciPy's grouped differences the detected
    pattern.

    ``x0`` may be a pytree as in :func:`minimize`; ``result.x`` then has
    its structure and ``result.x_flat`` is the flat vector.  The parameters
    are SciPy's, in SciPy's order, and the others go to SciPy unchanged.

    >>> import numpy as np
    >>> from dualad.optimize import least_squares
    >>> t = np.linspace(0.0, 3.0, 30); y = 2.0 * np.exp(-0.7 * t)
    >>> res = least_squares(lambda p: p[0] * np.exp(-p[1] * t) - y, np.array([1.0, 1.0]))
    >>> np.round(res.x, 6).tolist()
    [2.0, 0.7]
    """
    args = args if isinstance(args, tuple) else (args,)
    kwargs = dict(kwargs or {})
    ravel = _Ravel(x0)
    if not isinstance(method, str) or method not in ("trf", "dogbox", "lm"):
        raise ValueError(f"unknown method {method!r}; least_squares methods are: "
                         "trf, dogbox, lm")
    vf = _VectorFunction(lambda x, *a: fun(x, *a, **kwargs), ravel, args, replay)
    if jac_sparsity is not None and not (isinstance(jac, str) or jac is None):
        raise ValueError("jac_sparsity is the pattern of dualad's exact sparse Jacobian "
                         "(jac=None) or of SciPy's finite differences (jac='2-point', ...); "
                         "with your own jac callable it has no use: drop one of the two")
    if jac is None and jac_sparsity is not None:
        if method == "lm":
            raise ValueError("method='lm' (MINPACK) works with dense Jacobians only, and "
                             "jac_sparsity asks for a sparse one: use method='trf' or "
                             "'dogbox' (sparse trust-region steps by lsmr), or drop "
                             "jac_sparsity for lm with a dense exact Jacobian")
        if tr_solver == "exact":
            raise ValueError("tr_solver='exact' factorises a dense Jacobian, and "
                             "jac_sparsity asks for a sparse one: use tr_solver='lsmr' "
                             "(the default here), or drop jac_sparsity")
        # a given pattern's shape is checked against the residuals at x0
        shape = None if isinstance(jac_sparsity, str) else (vf.plain(ravel.x0).size, ravel.n)
        svf = _SparseVectorFunction(vf.F_flat, ravel.x0,
                                    _pattern(jac_sparsity, shape, "jac_sparsity"))
        sp_fun, sp_jac = svf.value, svf.jac
        tr_solver = tr_solver or "lsmr"
        jac_sparsity = None  # consumed here; SciPy's own is for finite differences
    elif jac is None:
        dense = method == "lm" or tr_solver == "exact" or \
            (isinstance(x_scale, str) and x_scale == "jac")
        sp_jac = (lambda x: vf.dense(x)) if dense else vf.operator
        if not dense and tr_solver is None:
            tr_solver = "lsmr"
        sp_fun = vf.value
    else:
        def sp_fun(x):
            return fun(ravel.unravel(x), *args, **kwargs)
        sp_jac = jac if not callable(jac) else \
            (lambda x: jac(ravel.unravel(x), *args, **kwargs))
        if isinstance(jac_sparsity, str):  # 'auto' for SciPy's grouped finite differences
            _pattern(jac_sparsity, None, "jac_sparsity")
            jac_sparsity = _sparse.jacobian_sparsity(vf.F_flat, ravel.x0)
    options = dict(ftol=ftol, xtol=xtol, gtol=gtol, loss=loss, f_scale=f_scale,
                   diff_step=diff_step, tr_solver=tr_solver, tr_options=tr_options,
                   jac_sparsity=jac_sparsity, max_nfev=max_nfev, verbose=verbose,
                   callback=_wrap_callback(callback, ravel))
    if x_scale is not None:  # SciPy's own default differs between versions
        options["x_scale"] = x_scale
    if workers is not None:
        options["workers"] = workers
    if tr_options is None:
        del options["tr_options"]
    res = _so.least_squares(sp_fun, ravel.x0, jac=sp_jac,
                            bounds=_least_squares_bounds(bounds, ravel), method=method,
                            **options)
    res.x_flat = res.x
    res.x = ravel.unravel_result(res.x)
    return res
