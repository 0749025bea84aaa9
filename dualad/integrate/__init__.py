"""Exact Jacobians behind ``scipy.integrate``.

What this module lets you do
----------------------------
Integrate a stiff ODE with SciPy's implicit solvers without writing its
Jacobian: :func:`solve_ivp` is a drop-in for ``scipy.integrate.solve_ivp``
that hands ``"BDF"``, ``"Radau"`` and ``"LSODA"`` an exact ``jac(t, y)``
from dualad -- a sparse ``csr_array`` from a coloured, compressed
evaluation (:class:`dualad.sparse.SparseJacobian`) for large systems, a
dense array otherwise.  :func:`ode_jac` builds that ``jac`` for a plain
``scipy.integrate`` call.

>>> import numpy as np
>>> from dualad.integrate import solve_ivp
>>> def robertson(t, y):
...     return np.stack([-0.04 * y[0] + 1e4 * y[1] * y[2],
...                      0.04 * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
...                      3e7 * y[1] ** 2])
>>> sol = solve_ivp(robertson, (0.0, 40.0), np.array([1.0, 0.0, 0.0]), method="BDF",
...                 rtol=1e-6, atol=1e-10)
>>> bool(sol.success), round(float(sol.y[0, -1]), 3)
(True, 0.716)

The invariant
-------------
What SciPy receives is SciPy's own call: the user's ``fun``, ``y0``,
``args`` and options go through unchanged, and a ``jac`` the user gives is
used as given.  Only a missing ``jac`` of an implicit method is filled in,
and it is exact: the pattern of a sparse one is found once, at ``(t0,
y0)``, and holds for every ``y`` (a *global* pattern, see
:mod:`dualad.sparse.detect`); each call then costs one vector-mode pass
with as many directions as the pattern has colours.

When the Jacobian is sparse
---------------------------
* ``jac_sparsity`` given (SciPy's own option, an (n, n) array or sparse
  matrix): it is the pattern of the exact sparse Jacobian; it must contain
  every entry that can be nonzero.
* ``jac_sparsity="auto"``: the pattern is detected, whatever n.
* otherwise: for n > :data:`SPARSE_MIN_SIZE` (100) the pattern is detected
  and used when it fills at most :data:`SPARSE_MAX_DENSITY` (a quarter) of
  the matrix; small or nearly dense systems get the dense Jacobian
  (``dualad.jacfwd``), which SciPy's dense LU handles best there.

``"LSODA"`` takes dense Jacobians only: it gets the same values as a dense
array.  A ``fun`` that branches in Python on ``t`` so that its pattern
changes with ``t`` (a source switched on at t = 1 that couples new
entries, say) needs an explicit ``jac_sparsity`` covering every ``t``; one
that branches in Python on ``y`` cannot have a global pattern: detection
raises :class:`dualad.sparse.BranchOnValue`, and the default choice then
falls back to the dense Jacobian with a warning.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import scipy.integrate as _si
import scipy.sparse as _sp

from .. import sparse as _sparse
from ..api import jacfwd

__all__ = ["solve_ivp", "ode_jac", "SPARSE_MIN_SIZE", "SPARSE_MAX_DENSITY"]

SPARSE_MIN_SIZE = 100
SPARSE_MAX_DENSITY = 0.25

# The implicit solvers, whose Newton iterations use jac; LSODA's is dense only.
_IMPLICIT = {"BDF": _si.BDF, "Radau": _si.Radau, "LSODA": _si.LSODA}

_TRACE_HINT = ("(dualad.integrate differentiates fun with dualad to give the implicit "
               "solver an exact jac; if fun cannot be traced, call "
               "scipy.integrate.solve_ivp directly, or pass jac=... yourself.)")


def _implicit_name(method) -> str | None:
    """'BDF', 'Radau', 'LSODA' for those methods (names or solver classes), else None."""
    if isinstance(method, str):
        return method if method in _IMPLICIT else None
    if isinstance(method, type):
        for name, cls in _IMPLICIT.items():
            if issubclass(method, cls):
                return name
    return None


def _as_pattern(sparsity, n: int) -> _sp.csr_array:
    return _sparse.as_pattern(sparsity, (n, n), "jac_sparsity",
                              f"d fun / d y for y0 of {n} entries (or pass 'auto')")


def ode_jac(fun: Callable, t0: float, y0, *, args: tuple | None = None,
            vectorized: bool = False, jac_sparsity=None, dense: bool = False) -> Callable:
    """An exact ``jac(t, y)`` of ``fun(t, y, *args)`` with respect to ``y``, for SciPy.

    Returns a sparse ``csr_array`` or a dense array following the rule in
    the module notes (``dense=True`` converts a sparse one, as ``"LSODA"``
    needs).  The pattern, if any, is detected once at ``(t0, y0)``.  With
    ``vectorized=True``, ``fun`` is called as SciPy calls a vectorized one,
    with ``y`` of shape (n, 1).  The returned callable takes and ignores
    extra positional arguments (SciPy passes ``args`` to ``jac`` too, and
    they are bound here already); its ``kind`` attribute says ``"sparse"``
    or ``"dense"``, and ``sparsity`` holds the pattern used (or None).

    >>> import numpy as np, scipy.integrate
    >>> from dualad.integrate import ode_jac
    >>> f = lambda t, y: np.concatenate([y[1:] - y[:-1], -y[-1:]]) * (1.0 + t)
    >>> jac = ode_jac(f, 0.0, np.ones(4), jac_sparsity="auto")
    >>> jac.kind, jac(1.0, np.ones(4)).toarray()[0].tolist()
    ('sparse', [-2.0, 2.0, 0.0, 0.0])
    >>> sol = scipy.integrate.solve_ivp(f, (0.0, 1.0), np.ones(4), method="Radau", jac=jac)
    >>> bool(sol.success)
    True
    """
    extra = tuple(args) if args is not None else ()
    y0 = np.asarray(y0, dtype=float).reshape(-1)
    n = y0.size
    current = {"t": t0}  # the t a call is made at; the traced functions read it

    if vectorized:
        def g(y):
            return np.reshape(fun(current["t"], y[:, None], *extra), (-1,))
    else:
        def g(y):
            return np.reshape(fun(current["t"], y, *extra), (-1,))

    evaluate = None  # the SparseJacobian, if the Jacobian is to be sparse
    explicit = jac_sparsity is not None
    if isinstance(jac_sparsity, str):
        if jac_sparsity != "auto":
            raise ValueError(f"jac_sparsity={jac_sparsity!r}: pass an (n, n) pattern, "
                             "'auto' to detect it, or None for the default rule")
        jac_sparsity = None
    pattern = None if jac_sparsity is None else _as_pattern(jac_sparsity, n)
    try:
        if pattern is not None:
            # g reads the current t from a closure: not a pure function of y, so
            # its evaluations run eagerly (dualad.replay would keep the first t)
            evaluate = _sparse.SparseJacobian(g, y0, sparsity=pattern, replay=False)
        elif explicit or n > SPARSE_MIN_SIZE:
            evaluate = _sparse.SparseJacobian(g, y0, replay=False)
    except _sparse.BranchOnValue as exc:
        if explicit:
            raise
        warnings.warn(f"dualad.integrate: fun's sparsity pattern could not be detected "
                      f"for every y ({exc}); using the dense exact Jacobian "
                      f"({n} directions per call). Pass jac_sparsity to make it sparse.",
                      RuntimeWarning, stacklevel=3)
    except TypeError as exc:
        _add_hint(exc)
        raise
    if evaluate is not None and evaluate.shape != (n, n):
        raise ValueError(f"fun returned {evaluate.shape[0]} values for y0 of {n} entries; "
                         "solve_ivp needs fun(t, y) of the same size as y")
    if evaluate is not None and not explicit and \
            evaluate.sparsity.nnz > SPARSE_MAX_DENSITY * n * n:
        evaluate = None  # nearly dense: a dense LU beats a sparse one

    if evaluate is not None:
        def jac(t, y, *_bound_args):
            current["t"] = t
            J = evaluate(np.asarray(y, dtype=float).reshape(-1))
            return J.toarray() if dense else J
        jac.kind = "dense" if dense else "sparse"
    else:
        dense_jac = jacfwd(g)

        def jac(t, y, *_bound_args):
            current["t"] = t
            try:
                return np.asarray(dense_jac(np.asarray(y, dtype=float).reshape(-1)))
            except TypeError as exc:
                _add_hint(exc)
                raise
        jac.kind = "dense"
    jac.sparsity = None if evaluate is None else evaluate.sparsity
    jac.sparse_jacobian = evaluate
    jac.__name__ = f"ode_jac({getattr(fun, '__name__', 'fun')})"
    return jac


def _add_hint(exc: BaseException) -> None:
    if hasattr(exc, "add_note"):  # Python >= 3.11
        exc.add_note(_TRACE_HINT)


def solve_ivp(fun: Callable, t_span, y0, method="RK45", t_eval=None, dense_output: bool = False,
              events=None, vectorized: bool = False, args=None, **options):
    """Drop-in for ``scipy.integrate.solve_ivp`` with exact Jacobians for implicit methods.

    For ``method="BDF"``, ``"Radau"`` or ``"LSODA"`` (names or the solver
    classes) without a ``jac`` in ``options``, dualad supplies an exact
    ``jac(t, y)`` (:func:`ode_jac`): sparse for large systems, with the
    pattern from ``jac_sparsity`` if you give one (or ``"auto"`` to detect
    it), detected at ``(t0, y0)`` for n > 100, dense otherwise; LSODA gets
    dense arrays.  Everything else -- explicit methods, a ``jac`` you pass,
    complex ``y0`` (dualad's Jacobian is real) -- goes to SciPy unchanged,
    and the result is SciPy's ``OdeResult``; its ``njev`` counts the exact
    Jacobians.  ``vectorized=True`` works as in SciPy (the Jacobian calls
    ``fun`` with ``y`` of shape (n, 1)).  A detected pattern is found at
    ``(t0, y0)`` and holds for every ``y``; if ``fun`` branches in Python on
    ``t`` so that its pattern changes with ``t``, pass a ``jac_sparsity``
    that covers every ``t`` (entries outside the pattern are never computed).

    >>> import numpy as np
    >>> from dualad.integrate import solve_ivp
    >>> n = 200; h = 1.0 / (n + 1)
    >>> def heat(t, u):  # u'' + u(1 - u), zero at both ends: stiff, tridiagonal
    ...     up = np.concatenate([u[1:], [0.0]]); um = np.concatenate([[0.0], u[:-1]])
    ...     return (up - 2.0 * u + um) / h ** 2 + u * (1.0 - u)
    >>> sol = solve_ivp(heat, (0.0, 0.1), np.full(n, 0.5), method="BDF")
    >>> bool(sol.success), sol.njev < 10
    (True, True)
    """
    name = _implicit_name(method)
    y0_arr = np.asarray(y0)
    if name is not None and options.get("jac") is None and y0_arr.dtype.kind in "biuf":
        jac_sparsity = options.pop("jac_sparsity", None)
        try:
            bound = tuple(args) if args is not None else None
        except TypeError:
            bound = None  # SciPy raises its own message about args below
        if args is None or bound is not None:
            options["jac"] = ode_jac(fun, t_span[0], y0_arr, args=bound, vectorized=vectorized,
                                     jac_sparsity=jac_sparsity, dense=name == "LSODA")
    return _si.solve_ivp(fun, t_span, y0, method=method, t_eval=t_eval,
                         dense_output=dense_output, events=events, vectorized=vectorized,
                         args=args, **options)
