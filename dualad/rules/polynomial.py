"""Polynomials: poly, polyadd, polysub, polymul, polyder, polyint, polydiv,
vander and roots (np.polyval is in :mod:`.linalg`).

Each function is NumPy's own algorithm written with differentiable
operations -- the same arithmetic in the same order, so a traced call
returns NumPy's value -- except ``roots``, which is a primitive: its value
is NumPy's ``np.roots`` (the eigenvalues of the companion matrix) and its
derivative comes from the implicit function theorem.  At a simple root
``r`` of ``p``, ``p(r) = 0`` gives ``dp(r) + p'(r) dr = 0``, so

    dr = -dp(r) / p'(r),   dp(r) = Σ_j dp_j r^(N-1-j),

a formula in ``p`` and the roots that is written with NumPy calls (so the
rules have rules of their own, for every order).  For real coefficients
with complex roots the output is complex and the cotangent of the
coefficients is the real part of ``Σ_i -ḡ_i r_i^(N-1-j) / p'(r_i)``
(docs/complex-numbers.md).  A repeated root has no derivative (it moves
like the square root of a perturbation): there ``p'(r)`` is 0 up to
rounding and the formula is huge, or infinite (docs/kinks.md).

``poly`` and ``polydiv`` loop over the roots and the quotient's
coefficients as NumPy does (each step is a whole-array operation);
``polymul`` is one outer product summed along its anti-diagonals.
``poly`` of a square matrix (its characteristic polynomial, from the
eigenvalues) needs ``np.linalg.eigvals``, and is refused while dualad has
no rule for it.  ``np.poly1d`` holds traced coefficients (its methods call
these functions on them); a poly1d argument gives a poly1d result, as in
NumPy.
"""

from __future__ import annotations

import operator

import numpy as np

from ..core import lowest, FUNCTION_RULES, Box, ndim_of, primal, shape_of
from ..extend import Primitive, refuse, register
from .shape import Index, _holds_box, _traced_array, scatter_add_p

__all__ = ["roots_p"]


def _array(x):
    return x if isinstance(x, Box) else np.asarray(x)


def _atleast_1d(x):
    x = _array(x)
    return np.reshape(x, (1,)) if ndim_of(x) == 0 else x


def _dtype(x) -> np.dtype:
    return np.result_type(primal(x))


def _coeffs(p):
    """A poly1d's coefficients (which may be traced), or ``p`` itself."""
    return p.coeffs if isinstance(p, np.poly1d) else p


def _as_poly1d(value, *inputs):
    """``value`` as a poly1d when any of ``inputs`` is one, as NumPy returns it."""
    return np.poly1d(value) if any(isinstance(p, np.poly1d) for p in inputs) else value


def _joined(*parts):
    """np.concatenate of the non-empty pieces (1-d)."""
    parts = [p for p in parts if shape_of(p)[0]]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts)


# ---- poly: roots to coefficients --------------------------------------------------------
def _poly(seq_of_zeros):
    """np.poly: the coefficients of Π (x - r_k), built as NumPy builds them,
    one factor at a time (the convolution of ``a`` with ``[1, -r_k]`` is
    ``a[i] - r_k a[i-1]``, exactly NumPy's two products)."""
    seq = _coeffs(seq_of_zeros)
    if isinstance(seq, (list, tuple)) and _holds_box(seq):  # np.poly([r1, r2]): NumPy
        seq = _traced_array(seq)                             # dispatches on each root
    seq = _atleast_1d(seq)
    shape = shape_of(seq)
    if len(shape) == 2 and shape[0] == shape[1] and shape[0] != 0:
        if np.linalg.eigvals not in FUNCTION_RULES:
            refuse("numpy.poly", "seq_of_zeros",
                   "a square matrix stands for its characteristic polynomial, whose "
                   "coefficients come from np.linalg.eigvals, which dualad does not "
                   "differentiate; pass the eigenvalues (a 1-d array of roots) instead")
        seq = np.linalg.eigvals(seq)
    elif len(shape) != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    n = shape_of(seq)[0]
    if n == 0:
        return 1.0
    dtype = _dtype(seq)
    a = np.ones((1,), dtype=dtype)
    zero = np.zeros((1,), dtype=dtype)
    for k in range(n):
        a = np.concatenate([a, zero]) - seq[k] * np.concatenate([zero, a])
    if _dtype(a).kind == "c":
        roots = lowest(seq, complex)
        if np.all(np.sort(roots) == np.sort(roots.conjugate())):
            a = np.real(a)  # conjugate pairs: NumPy keeps the real part
    return a


# ---- sums, products, derivatives and integrals of polynomials ------------------------
def _padded_pair(a1, a2):
    """The two coefficient arrays at one length, zeros in front, as NumPy's
    polyadd pads them (each pad in the dtype of the array it pads)."""
    a1, a2 = _atleast_1d(a1), _atleast_1d(a2)
    diff = shape_of(a2)[0] - shape_of(a1)[0]
    if diff > 0:
        a1 = np.concatenate([np.zeros(diff, _dtype(a1)), a1])
    elif diff < 0:
        a2 = np.concatenate([np.zeros(-diff, _dtype(a2)), a2])
    return a1, a2


def _polyadd(a1, a2):
    b1, b2 = _padded_pair(_coeffs(a1), _coeffs(a2))
    return _as_poly1d(b1 + b2, a1, a2)


def _polysub(a1, a2):
    b1, b2 = _padded_pair(_coeffs(a1), _coeffs(a2))
    return _as_poly1d(b1 - b2, a1, a2)


def convolve_full(a, v):
    """The full convolution of two 1-d arrays (np.convolve's default mode):
    their outer product summed along its anti-diagonals, a scatter-add."""
    a, v = _array(a), _array(v)
    if ndim_of(a) != 1 or ndim_of(v) != 1:
        np.convolve(np.empty(shape_of(a)), np.empty(shape_of(v)))  # NumPy's error
    n, m = shape_of(a)[0], shape_of(v)[0]
    if n == 0:
        raise ValueError("a cannot be empty")
    if m == 0:
        raise ValueError("v cannot be empty")
    products = np.reshape(a[:, None] * v[None, :], (-1,))
    positions = (np.arange(n)[:, None] + np.arange(m)[None, :]).ravel()
    dtype = _dtype(products)
    if dtype.kind not in "fc":
        return np.convolve(primal(a), primal(v))
    return scatter_add_p(products, index=Index((positions,), 1), shape=(n + m - 1,))


def _polymul(a1, a2):
    """np.polymul: the convolution of the coefficients."""
    product = convolve_full(_atleast_1d(_coeffs(a1)), _atleast_1d(_coeffs(a2)))
    return _as_poly1d(product, a1, a2)


def _polyder(p, m=1):
    """np.polyder: ``m`` times ``p[:-1] * [n, n-1, ..., 1]``."""
    m = int(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    y = _array(_coeffs(p))
    for _ in range(m):
        n = len(y) - 1
        y = y[:-1] * np.arange(n, 0, -1)
    return _as_poly1d(y, p)


def _polyint(p, m=1, k=None):
    """np.polyint: ``m`` times ``p / [n, ..., 1]`` followed by an
    integration constant from ``k`` (which may be traced; NumPy dispatches
    on ``p`` alone, so a traced ``k`` reaches here with a traced ``p``)."""
    m = int(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    if k is None:
        k = np.zeros(m, float)
    k = _atleast_1d(k)
    if shape_of(k)[0] == 1 and m > 1:
        k = k[0] * np.ones(m, float)
    if shape_of(k)[0] < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    y = _array(_coeffs(p))
    for i in range(m):
        y = np.concatenate([y / np.arange(len(y), 0, -1), np.reshape(k[i], (1,))])
    return _as_poly1d(y, p)


def _polydiv(u, v):
    """np.polydiv by NumPy's long division, step by step: the quotient's
    coefficients one at a time, each subtracted from the remainder; the
    remainder's leading entries within 1e-8 of 0 dropped, as NumPy drops
    them (decided on the values)."""
    inputs = (u, v)
    u = _atleast_1d(_coeffs(u)) + 0.0
    v = _atleast_1d(_coeffs(v)) + 0.0
    dtype = _dtype(u[0] + v[0])
    m, n = shape_of(u)[0] - 1, shape_of(v)[0] - 1
    scale = 1. / v[0]
    r = u if _dtype(u) == dtype else u.astype(dtype)
    quotient = []
    for k in range(m - n + 1):
        d = scale * r[k]
        quotient.append(d)
        r = _joined(r[:k], r[k:k + n + 1] - d * v, r[k + n + 1:])
    q = np.stack(quotient) if quotient else np.zeros((1,), dtype)
    if _dtype(q) != dtype:
        q = q.astype(dtype)
    while np.allclose(primal(r)[0], 0, rtol=1e-14) and shape_of(r)[-1] > 1:
        r = r[1:]
    return _as_poly1d(q, *inputs), _as_poly1d(r, *inputs)


# ---- vander --------------------------------------------------------------------------------
def _vander(x, N=None, increasing=False):
    """np.vander: a column of ones and the cumulative products of ``x``
    (NumPy's ``multiply.accumulate``), in ``promote_types(x.dtype, int)``."""
    x = _array(x)
    if ndim_of(x) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = shape_of(x)[0]
    N = n if N is None else operator.index(N)
    dtype = np.promote_types(_dtype(x), int)
    if N < 0 or dtype.kind not in "fc":
        return np.vander(primal(x), N, increasing)  # NumPy's error, or an integer value
    if _dtype(x) != dtype:
        x = x.astype(dtype)
    columns = [np.ones((n, min(N, 1)), dtype)]
    if N > 1:
        columns.append(np.cumprod(np.broadcast_to(x[:, None], (n, N - 1)), axis=1))
    v = np.concatenate(columns, axis=1) if len(columns) > 1 else columns[0]
    return v if increasing else v[:, ::-1]


# ---- roots --------------------------------------------------------------------------------
def _roots_powers(out, p):
    """``V[i, j] = r_i^(N-1-j)`` and ``p'(r_i)``, from the values given."""
    N = shape_of(p)[-1]
    return np.vander(out, N), np.polyval(np.polyder(p), out)


def _roots_jvp(t, out, p):
    V, slope = _roots_powers(out, p)
    return -np.matmul(t, np.transpose(V)) / slope


def _roots_vjp(g, out, p):
    V, slope = _roots_powers(out, p)
    ct = -np.matmul(g / slope, V)
    return ct if _dtype(p).kind == "c" else np.real(ct)


roots_p = Primitive(
    "roots", np.roots, jvp=(_roots_jvp,), vjp=(_roots_vjp,), value_shaped=True,
    doc="np.roots of a 1-d array of floating or complex coefficients.")


def _roots(p):
    """np.roots: NumPy's value (the companion matrix's eigenvalues, real
    when they all are); the implicit-function derivative of each root."""
    p = _atleast_1d(_coeffs(p))
    if ndim_of(p) != 1:
        raise ValueError("Input must be a rank-1 array.")
    if _dtype(p).kind not in "fc":
        return np.roots(primal(p))
    if not np.count_nonzero(primal(p)) or shape_of(p)[0] == 1 or \
            np.flatnonzero(primal(p))[0] == shape_of(p)[0] - 1:
        return np.roots(primal(p))  # no roots (a constant polynomial)
    return roots_p(p)


register(np.poly, _poly)
register(np.polyadd, _polyadd)
register(np.polysub, _polysub)
register(np.polymul, _polymul)
register(np.polyder, _polyder)
register(np.polyint, _polyint)
register(np.polydiv, _polydiv)
register(np.vander, _vander)
register(np.roots, _roots)
