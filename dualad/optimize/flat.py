"""SciPy's flat float vectors, and what the user's functions take and return.

What this module lets you do
----------------------------
Move between the pytree ``x0`` a user optimises (dicts, tuples, lists of
arrays) and the one flat float vector SciPy works on, and check the values
crossing that border: product directions, objective values, points.

The invariant
-------------
``fun`` always sees ``x`` in ``x0``'s structure and SciPy always sees flat
float vectors of one dtype; :class:`_Ravel` is the only place that maps
between the two.
"""

from __future__ import annotations

import numpy as np

from ..api import tree_flatten, tree_unflatten


class _Ravel:
    """The map between a pytree shaped like ``x0`` and SciPy's flat float vector.

    A single array leaf keeps SciPy's convention (a scalar becomes shape (1,));
    ``unravel`` works on dualad's traced values too, so functions of the
    pytree can be differentiated with respect to the flat vector.
    """

    def __init__(self, x0, what: str = "x0", complex_ok: bool = False, complex_hint: str = ""):
        if type(x0) in (list, tuple) and _all_numbers(x0):
            x0 = np.asarray(x0)  # SciPy's x0=[1.0, 2.0]: an array, not a pytree
        leaves, self.treedef = tree_flatten(x0)
        if not leaves:
            raise ValueError(f"{what} has no entries to optimise")
        arrays = []
        for i, leaf in enumerate(leaves):
            where = what if self.treedef.kind == "leaf" else f"{what} leaf {i}"
            try:
                a = np.asarray(leaf)
            except Exception as exc:
                raise TypeError(f"{where} is a {type(leaf).__name__}, not an array") from exc
            kind = a.dtype.kind
            if kind in "iub":  # SciPy converts integer x0 to float64 too
                a = a.astype(np.float64)
            elif kind == "c" and not complex_ok:
                raise TypeError(
                    f"{where} is complex ({a.dtype}); SciPy's optimisers, and the Hessian "
                    "of a real function of complex values (which is not complex-linear), "
                    "work on real vectors. Optimise over the real and imaginary parts, "
                    "e.g. fun(np.concatenate([z.real, z.imag])), with z rebuilt inside."
                    + complex_hint)
            elif kind not in "fc":
                raise TypeError(f"{where} has dtype {a.dtype}; expected real numbers "
                                "(floats, or integers which are converted to float64)")
            arrays.append(a)
        self.single = self.treedef.kind == "leaf"
        if self.single and arrays[0].ndim == 0:
            arrays[0] = arrays[0].reshape(1)
        self.shapes = [a.shape for a in arrays]
        self.sizes = [a.size for a in arrays]
        self.offsets = np.cumsum([0] + self.sizes).tolist()
        self.dtype = np.result_type(*arrays)
        self.n = self.offsets[-1]
        self.is_flat = self.single and len(self.shapes[0]) == 1
        self.x0 = np.concatenate([a.reshape(-1) for a in arrays]).astype(self.dtype)

    def unravel(self, flat):
        """The pytree for a flat vector (traced or not), as ``fun`` should see it."""
        if self.is_flat:
            return flat
        if self.single:
            return np.reshape(flat, self.shapes[0])
        leaves = [np.reshape(flat[a:b], s)
                  for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]
        return tree_unflatten(self.treedef, leaves)

    def unravel_result(self, flat):
        """Like :meth:`unravel` for a final result: copies, 0-d leaves as NumPy scalars."""
        if self.is_flat:
            return flat
        flat = np.array(flat, dtype=self.dtype)
        if self.single:
            return flat.reshape(self.shapes[0])
        leaves = [flat[a:b].reshape(s)[()] if s == () else flat[a:b].reshape(s)
                  for a, b, s in zip(self.offsets[:-1], self.offsets[1:], self.shapes)]
        return tree_unflatten(self.treedef, leaves)

    def ravel(self, value, what: str):
        """A flat vector from a user's result: a pytree like x0, or any array of n numbers."""
        if not self.single:
            leaves, treedef = tree_flatten(value)
            if treedef == self.treedef:
                return np.concatenate([np.asarray(l, dtype=self.dtype).reshape(-1)
                                       for l in leaves])
        flat = np.asarray(value, dtype=self.dtype).reshape(-1)
        if flat.size != self.n:
            raise ValueError(f"{what} returned {flat.size} numbers; expected {self.n} "
                             "(one per entry of x0), or a pytree shaped like x0")
        return flat


def _all_numbers(seq) -> bool:
    """A (nested) list or tuple holding only Python or NumPy scalars."""
    return all(_all_numbers(e) if type(e) in (list, tuple)
               else isinstance(e, (int, float, np.number, np.bool_)) for e in seq)


def _as_vector(v, n: int, dtype, what: str):
    """A product's input as a flat float vector (SciPy probes with int8 vectors)."""
    if type(v) is np.ndarray and v.dtype == dtype and v.shape == (n,):
        return v  # already right: the common case, checked cheaply
    v = np.asarray(v)
    if v.dtype.kind not in "fiub":
        raise TypeError(f"{what} has dtype {v.dtype}; expected real numbers")
    v = v.astype(dtype, copy=False).reshape(-1)
    if v.size != n:
        raise ValueError(f"{what} has {v.size} entries; expected {n}")
    return v


def _scalar_output(out, what: str = "the objective"):
    """``out`` as a 0-d value; a size-1 array counts as a scalar, as in SciPy."""
    if isinstance(out, (tuple, list, dict)):
        raise ValueError(f"{what} must return a scalar, but it returned a "
                         f"{type(out).__name__}. (If it returns (value, gradient), "
                         "pass jac=True.)")
    size = np.size(out)
    if size != 1:
        raise ValueError(f"{what} must return a scalar, but it returned an array of "
                         f"shape {np.shape(out)}. For residuals use least_squares; "
                         "otherwise reduce them, e.g. np.sum(r ** 2).")
    if np.ndim(out):
        out = np.reshape(out, ())
    return out


def _plain_x(x):
    """A point as a float array (an integer one becomes float64, as SciPy converts x0)."""
    x = np.asarray(x)
    return x.astype(np.float64) if x.dtype.kind != "f" else x
