"""Drop-in, differentiable versions of SciPy's linear algebra (``scipy.linalg``).

SciPy's ``scipy.linalg`` functions convert their inputs with ``np.asarray``,
which a dualad value refuses (its derivative would be lost).  The functions
here have SciPy's signatures and values and are written with NumPy calls that
dispatch into dualad (``np.linalg.solve``, ``np.linalg.cholesky``,
``np.linalg.eigh``, indexing...) and with two primitives declared for them
in :mod:`dualad.rules.factorizations` (``solve_triangular_p``,
``lu_factor_p``), so they differentiate in every mode and nesting, real and
complex, and over stacks of matrices where SciPy 1.17 accepts stacks (a right-hand side ``b`` is a vector only when it
is 1-D; otherwise ``(..., n, k)``, its stack broadcast against ``a``'s).

The invariant: a function that reads only part of its input -- one triangle
(``solve(assume_a='sym'|'her'|'pos', lower=)``, ``solve_triangular``,
``cho_factor``, ``cholesky``, ``eigh``), the diagonal and its neighbours
(``assume_a='diagonal'|'tridiagonal'``), the band of ``solve_banded``'s
``ab`` -- is differentiated as the function SciPy computes: entries it does
not read have derivative exactly 0, as for ``np.linalg.cholesky`` and
``np.linalg.eigh`` (dualad.rules.linalg).  ``assume_a=None`` lets SciPy pick
a solver from ``a``'s structure; that choice does not change the function
(every solver solves ``a x = b``), so its derivative is the general one.

Keywords that only allow SciPy to reuse memory (``overwrite_a``,
``overwrite_b``, ``overwrite_ab``) are honoured by never writing into the
inputs; ``check_finite=True`` raises SciPy's ``ValueError`` for infs or NaNs.
Factor objects carry derivatives: ``cho_factor`` returns ``(c, lower)`` with
``c`` traced (its unused triangle holds ``a``'s entries, as SciPy's does),
``lu_factor`` returns ``(lu, piv)`` with ``lu`` traced and ``piv`` integer,
and ``cho_solve`` / ``lu_solve`` differentiate through them.

>>> import numpy as np, dualad as ad
>>> from dualad.scipy.linalg import cho_factor, cho_solve
>>> K = np.array([[2.0, 0.5], [0.5, 1.0]]); y = np.array([1.0, -1.0])
>>> f = lambda K: 0.5 * y @ cho_solve(cho_factor(K), y)
>>> g = ad.grad(f)(K)            # -0.5 K⁻¹ y yᵀ K⁻¹ on the upper triangle read
>>> bool(np.allclose(np.tril(g, -1), 0))
True
"""

from __future__ import annotations

import operator

import numpy as np
import scipy.linalg

from ..core import lowest, Box, concrete, is_complex, ndim_of, primal, shape_of
from ..extend import refuse, register_replacement
from ..rules.factorizations import (_eye_like, _permutation, _take_rows, _tri_solve, _triangle,
                                    _triangle_mask, lu_factor_p)
from ..rules.linalg import _mH, _mT, _read_triangle, matmul_p
from . import matrix_functions as _matrix_functions
from .matrix_functions import (expm, expm_frechet, logm, solve_continuous_lyapunov,  # noqa: F401
                               solve_sylvester, sqrtm)

# SciPy has the matrix functions in scipy.linalg too: dualad's live in
# dualad.scipy.matrix_functions and are re-exported here.
_OWN = ["solve", "solve_triangular", "cho_factor", "cho_solve", "lu_factor", "lu_solve",
        "lu", "cholesky", "inv", "det", "eigh", "eigvalsh", "solve_banded", "block_diag",
        "toeplitz", "circulant", "qr", "svd"]
__all__ = _OWN + list(_matrix_functions.__all__)


# ---- helpers --------------------------------------------------------------------------
def _array(x):
    """``x`` as an array of a LAPACK type (SciPy takes lists and integers);
    a traced value as it is."""
    if isinstance(x, Box):
        return x
    x = np.asarray(x)
    if x.dtype.kind in "biu":
        return x.astype(np.float64)
    if x.dtype.kind not in "fc":
        raise ValueError(f"array type {x.dtype} is not supported")
    return x


def _plain(x):
    """``x`` as an array of its own type (the special matrices keep it)."""
    return x if isinstance(x, Box) else np.asarray(x)


def _check_finite(check_finite, *arrays):
    if check_finite:
        for x in arrays:
            if not np.all(np.isfinite(concrete(x))):
                raise ValueError("array must not contain infs or NaNs")


def _square(function, a, minimum=2):
    if ndim_of(a) < minimum:
        raise ValueError(f"{function}: expected at least ndim=2, got {ndim_of(a)}")
    if shape_of(a)[-1] != shape_of(a)[-2]:
        raise ValueError(f"{function}: expected square matrix, got shape {shape_of(a)}")


def _rhs(function, a, b):
    """``b`` as a matrix (..., n, k) and whether it was a vector; its rows
    checked against ``a``'s."""
    vector = ndim_of(b) == 1
    if ndim_of(b) == 0:
        raise ValueError(f"{function}: b must be at least 1-D")
    rows = shape_of(b)[0] if vector else shape_of(b)[-2]
    if rows != shape_of(a)[-1]:
        raise ValueError(f"{function}: incompatible shapes: a {shape_of(a)} and b {shape_of(b)}")
    return (b[:, None] if vector else b), vector


def _symmetric(a, lower: bool):
    """The symmetric matrix built from one triangle (plain transpose, also for
    complex ``a``: LAPACK's ``sysv``)."""
    return _triangle(a, lower) + _mT(_triangle(a, lower, strict=True))


def _hermitian(a, lower: bool):
    """The matrix LAPACK's Hermitian routines read: one triangle, its
    conjugate transpose, the real part of the diagonal (a real ``a``: the
    symmetric matrix)."""
    return _read_triangle(a, lower) if is_complex(a) else _symmetric(a, lower)


def _bool(function, name, value):
    if isinstance(value, Box):
        refuse(function, name, "it is a flag, not a value to differentiate")
    return bool(value)


def _lu_factor(function, a, check_finite):
    a = _array(a)
    if ndim_of(a) < 2:
        raise ValueError(f"{function}: expected a 2-D array (or a stack of them), got "
                         f"shape {shape_of(a)}")
    _check_finite(check_finite, a)
    packed, piv = lu_factor_p(a)
    return packed, lowest(piv)


# ---- solve ----------------------------------------------------------------------------
_STRUCTURES = {None: None, "general": "gen", "gen": "gen", "diagonal": "diagonal",
               "tridiagonal": "tridiagonal", "banded": "gen",
               "upper triangular": "upper", "lower triangular": "lower",
               "pos": "pos", "positive definite": "pos", "sym": "sym", "symmetric": "sym",
               "her": "her", "hermitian": "her"}


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False):
    """``scipy.linalg.solve``: x with ``a @ x == b`` (``a.T @ x == b`` if
    ``transposed``), for every ``assume_a`` SciPy accepts.

    ``'sym'``, ``'her'`` and ``'pos'`` read the triangle named by ``lower``
    (``'her'``/``'pos'`` of complex ``a``: the real part of its diagonal);
    ``'diagonal'`` reads the diagonal, ``'tridiagonal'`` three diagonals, the
    triangular ones their triangle; ``'banded'``, ``'gen'`` and ``None`` the
    whole matrix.  The value is SciPy's to rounding (computed by LU, by
    Cholesky for ``'pos'``, by triangular substitution for the triangular
    ones); SciPy's ill-conditioning warning is not repeated."""
    name = "dualad.scipy.linalg.solve"
    if assume_a not in _STRUCTURES:
        raise ValueError(f"{assume_a} is not a recognized matrix structure")
    structure = _STRUCTURES[assume_a]
    lower = _bool(name, "lower", lower)
    transposed = _bool(name, "transposed", transposed)
    a, b = _array(a), _array(b)
    if ndim_of(a) < 2:  # SciPy's atleast_2d and atleast_1d
        a = np.reshape(a, (1, 1)) if ndim_of(a) == 0 else np.reshape(a, (1,) + shape_of(a))
    if ndim_of(b) == 0:
        b = np.reshape(b, (1,))
    _square(name, a)
    _check_finite(check_finite, a, b)
    if is_complex(a) and transposed:
        raise NotImplementedError("scipy.linalg.solve can currently not solve a^T x = b or "
                                  "a^H x = b for complex matrices.")
    if structure == "her" and not is_complex(a):
        structure = "sym"
    if int(np.prod(shape_of(a))) == 1 and ndim_of(a) == 2 and ndim_of(b) >= 1:
        if primal(a).item() == 0:
            raise np.linalg.LinAlgError("A singular matrix detected.")
        return b / np.reshape(a, ())
    rhs, vector = _rhs(name, a, b)
    if structure == "diagonal":
        d = np.diagonal(a, 0, -2, -1)
        if np.any(primal(d) == 0):
            raise np.linalg.LinAlgError("A singular matrix detected.")
        x = rhs / d[..., :, None]
    elif structure in ("upper", "lower"):
        low = structure == "lower"
        x = _tri_solve(_mT(a), rhs, not low) if transposed else _tri_solve(a, rhs, low)
    elif structure == "pos":
        x = _cholesky_solve(np.linalg.cholesky(a, upper=not lower), lower, rhs)
    else:
        if structure == "tridiagonal":
            n = shape_of(a)[-1]
            band = np.abs(np.subtract.outer(np.arange(n), np.arange(n))) <= 1
            m = np.where(band, a, 0.0)
        elif structure == "sym":
            m = _symmetric(a, lower)
        elif structure == "her":
            m = _hermitian(a, lower)
        else:
            m = a
        x = np.linalg.solve(_mT(m) if transposed else m, _broadcast_rhs(m, rhs))
    return x[..., 0] if vector else x


def _broadcast_rhs(a, rhs):
    """``rhs`` (..., n, k) with its stack broadcast to ``a``'s, as SciPy does
    (np.linalg.solve would read a 2-D ``rhs`` under a stack of ``a`` as one
    matrix too, but insists on equal stacks for higher ranks)."""
    batch = np.broadcast_shapes(shape_of(a)[:-2], shape_of(rhs)[:-2])
    want = batch + shape_of(rhs)[-2:]
    return rhs if shape_of(rhs) == want else np.broadcast_to(rhs, want)


def _cholesky_solve(c, lower, rhs):
    """A⁻¹ rhs for A = L Lᴴ (``lower``: c holds L in its lower triangle) or
    A = Uᴴ U (c holds U in its upper one)."""
    if lower:
        return _tri_solve(_mH(c), _tri_solve(c, rhs, True), False)
    return _tri_solve(c, _tri_solve(_mH(c), rhs, True), False)


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    """``scipy.linalg.solve_triangular``: x with ``T @ x == b`` (trans 0 or
    'N'), ``T.T @ x == b`` (1, 'T') or ``T.conj().T @ x == b`` (2, 'C'), T
    the lower or upper triangle of ``a`` (with ones on its diagonal if
    ``unit_diagonal``, which is then not read)."""
    name = "dualad.scipy.linalg.solve_triangular"
    trans = {"N": 0, "T": 1, "C": 2}.get(trans, trans)
    if trans not in (0, 1, 2):
        raise ValueError("trans must be one of 0, 1, 2, 'N', 'T' or 'C'")
    lower = _bool(name, "lower", lower)
    unit = _bool(name, "unit_diagonal", unit_diagonal)
    a, b = _array(a), _array(b)
    _square(name, a)
    _check_finite(check_finite, a, b)
    rhs, vector = _rhs(name, a, b)
    if trans == 0:
        x = _tri_solve(a, rhs, lower, unit)
    else:
        t = _mT(a) if trans == 1 else _mH(a)
        x = _tri_solve(t, rhs, not lower, unit)
    return x[..., 0] if vector else x


# ---- Cholesky ------------------------------------------------------------------------------
def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """``scipy.linalg.cholesky``: U with ``a = Uᴴ U`` (``lower``: L with
    ``a = L Lᴴ``), reading that triangle of ``a``; zeros in the other."""
    lower = _bool("dualad.scipy.linalg.cholesky", "lower", lower)
    a = _array(a)
    _square("dualad.scipy.linalg.cholesky", a)
    _check_finite(check_finite, a)
    return np.linalg.cholesky(a, upper=not lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``scipy.linalg.cho_factor``: ``(c, lower)`` with the Cholesky factor in
    one triangle of ``c`` and ``a``'s own entries in the other, as SciPy
    leaves them (they have derivative 1 in ``a``, and cho_solve does not
    read them)."""
    lower = _bool("dualad.scipy.linalg.cho_factor", "lower", lower)
    a = _array(a)
    _square("dualad.scipy.linalg.cho_factor", a)
    _check_finite(check_finite, a)
    factor = np.linalg.cholesky(a, upper=not lower)
    c = np.where(_triangle_mask(*shape_of(a)[-2:], lower), factor, a)
    if ndim_of(a) > 2:  # SciPy returns the flag once per matrix of a stack
        return c, np.full(shape_of(a)[:-2], lower)
    return c, lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """``scipy.linalg.cho_solve``: A⁻¹ b from cho_factor's ``(c, lower)``."""
    name = "dualad.scipy.linalg.cho_solve"
    c, lower = c_and_lower
    if isinstance(lower, Box):
        refuse(name, "c_and_lower", "its lower flag is not a value to differentiate")
    flags = np.asarray(lower, dtype=bool)
    if flags.size == 0 or np.any(flags != flags.flat[0]):
        refuse(name, "c_and_lower", "for a stack whose matrices use different triangles; "
               "solve them one triangle at a time")
    lower = bool(flags.flat[0])
    c, b = _array(c), _array(b)
    _square(name, c)
    _check_finite(check_finite, c, b)
    rhs, vector = _rhs(name, c, b)
    x = _cholesky_solve(c, lower, rhs)
    return x[..., 0] if vector else x


# ---- LU ----------------------------------------------------------------------------------------
def lu_factor(a, overwrite_a=False, check_finite=True):
    """``scipy.linalg.lu_factor``: ``(lu, piv)``, LAPACK's packed L and U
    (traced) and its row swaps (integers), for square or rectangular ``a``."""
    return _lu_factor("dualad.scipy.linalg.lu_factor", a, check_finite)


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """``scipy.linalg.lu_solve``: x with ``a @ x == b`` (trans 0),
    ``a.T @ x == b`` (1) or ``a.conj().T @ x == b`` (2) from lu_factor's
    ``(lu, piv)``."""
    name = "dualad.scipy.linalg.lu_solve"
    packed, piv = lu_and_piv
    if isinstance(piv, Box) and not piv._bottom:  # a staged piv (dualad.replay) is data
        refuse(name, "lu_and_piv", "piv holds integer row swaps, not values to differentiate")
    if trans not in (0, 1, 2):
        raise ValueError("trans must be 0, 1 or 2")
    packed, b = _array(packed), _array(b)
    _square(name, packed)
    _check_finite(check_finite, packed, b)
    rhs, vector = _rhs(name, packed, b)
    perm = _permutation(np.asarray(piv), shape_of(packed)[-1])
    if trans == 0:
        y = _take_rows(_broadcast_rhs(packed, rhs), perm)
        x = _tri_solve(packed, _tri_solve(packed, y, True, True), False)
    else:
        t = _mT(packed) if trans == 1 else _mH(packed)
        y = _tri_solve(t, _tri_solve(t, rhs, True), False, True)
        x = _take_rows(_broadcast_rhs(packed, y), np.argsort(perm, axis=-1))
    return x[..., 0] if vector else x


def lu(a, permute_l=False, overwrite_a=False, check_finite=True, p_indices=False):
    """``scipy.linalg.lu``: ``(P, L, U)`` with ``a = P @ L @ U`` for square or
    rectangular ``a`` (``p_indices``: ``p`` with ``a = L[p] @ U``;
    ``permute_l``: ``(P @ L, U)``).  P is constant; L and U are traced."""
    name = "dualad.scipy.linalg.lu"
    permute_l = _bool(name, "permute_l", permute_l)
    p_indices = _bool(name, "p_indices", p_indices)
    packed, piv = _lu_factor(name, a, check_finite)
    m, n = shape_of(packed)[-2:]
    k = min(m, n)
    dtype = np.result_type(primal(packed))
    low = _triangle(packed[..., :, :k], True, strict=True) + np.eye(m, k, dtype=dtype)
    up = _triangle(packed[..., :k, :], False)
    where = np.argsort(_permutation(piv, m), axis=-1).astype(np.int32)  # a = L[where] @ U
    if permute_l:
        return _take_rows(low, where), up
    if p_indices:
        return where, low, up
    eye = np.eye(m, dtype=np.finfo(dtype).dtype)
    return eye[where], low, up  # P[where[r], r] = 1


# ---- inv, det -----------------------------------------------------------------------------------
_INV_STRUCTURES = {None: "gen", "general": "gen", "gen": "gen", "diagonal": "diagonal",
                   "upper triangular": "upper", "lower triangular": "lower",
                   "pos": "pos", "sym": "sym", "her": "her"}


def inv(a, overwrite_a=False, check_finite=True, *, assume_a=None, lower=False):
    """``scipy.linalg.inv``, for every ``assume_a`` SciPy accepts, reading
    what SciPy reads (see :func:`solve`).  ``assume_a='diagonal'`` returns,
    as SciPy 1.17 does, ``a`` with its diagonal replaced by its reciprocal."""
    name = "dualad.scipy.linalg.inv"
    if assume_a not in _INV_STRUCTURES:
        raise KeyError(assume_a)  # SciPy's error for an unknown structure
    structure = _INV_STRUCTURES[assume_a]
    lower = _bool(name, "lower", lower)
    a = _array(a)
    _square(name, a)
    _check_finite(check_finite, a)
    if structure == "her" and not is_complex(a):
        structure = "sym"
    if structure == "diagonal":
        eye = np.eye(shape_of(a)[-1], dtype=bool)
        if np.any(np.diagonal(primal(a), 0, -2, -1) == 0):
            raise np.linalg.LinAlgError("A singular matrix detected.")
        return np.where(eye, 1.0 / np.where(eye, a, 1.0), a)
    if structure in ("upper", "lower"):
        low = structure == "lower"
        return _triangle(_tri_solve(a, np.broadcast_to(_eye_like(a), shape_of(a)), low), low)
    if structure == "pos":
        c = np.linalg.cholesky(a, upper=not lower)
        return _cholesky_solve(c, lower, np.broadcast_to(_eye_like(a), shape_of(a)))
    if structure == "sym":
        a = _symmetric(a, lower)
    elif structure == "her":
        a = _hermitian(a, lower)
    return np.linalg.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    """``scipy.linalg.det`` (differentiable at singular matrices too, see
    np.linalg.det in dualad.rules.linalg)."""
    a = _array(a)
    _square("dualad.scipy.linalg.det", a)
    _check_finite(check_finite, a)
    return np.linalg.det(a)


# ---- eigh, eigvalsh ---------------------------------------------------------------------------
_DRIVERS = {"ev", "evd", "evr", "evx"}
_GENERALIZED_DRIVERS = {"gv", "gvd", "gvx"}


def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
         type=1, check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """``scipy.linalg.eigh``: eigenvalues (ascending) and eigenvectors of the
    Hermitian matrix made from one triangle of ``a`` (``lower``), or of the
    generalized problem with positive definite ``b`` (same triangle):
    ``type`` 1 ``a v = w b v``, 2 ``a b v = w v``, 3 ``b a v = w v``, with
    SciPy's normalisation (``vᴴ b v = 1``; type 3 ``vᴴ b⁻¹ v = 1``).

    ``subset_by_index=(lo, hi)`` keeps eigenvalues lo..hi, ``subset_by_value
    =(lo, hi)`` those in (lo, hi]; ``driver`` chooses SciPy's algorithm and
    is checked but does not change the function.  Eigenvectors are defined
    up to a sign (a phase for complex input) each: they may differ from
    SciPy's by one, as NumPy's do; their derivatives take the gauge of
    np.linalg.eigh.  Distinct eigenvalues are assumed (see docs/kinks.md)."""
    name = "dualad.scipy.linalg.eigh"
    lower = _bool(name, "lower", lower)
    eigvals_only = _bool(name, "eigvals_only", eigvals_only)
    if b is not None and type not in (1, 2, 3):  # SciPy reads it only with b
        raise ValueError(f"'type' keyword must be 1, 2, or 3; got {type!r}")
    allowed = _DRIVERS if b is None else _GENERALIZED_DRIVERS
    if driver is not None and driver not in allowed:
        raise ValueError(f"'{driver}' is not a valid driver for this problem; use one of "
                         f"{', '.join(sorted(allowed))} (or None)")
    if subset_by_index is not None and subset_by_value is not None:
        raise ValueError("Either index or value subset can be requested.")
    subset = subset_by_index is not None or subset_by_value is not None
    if subset and driver in ("ev", "evd", "gv", "gvd"):
        raise ValueError(f'"{driver}" cannot compute subsets of eigenvalues')
    a = _array(a)
    _square(name, a)
    _check_finite(check_finite, a)
    n = shape_of(a)[-1]
    uplo = "L" if lower else "U"
    if b is None:
        w, v = np.linalg.eigh(a, UPLO=uplo)
    else:
        b = _array(b)
        _square(name, b)
        _check_finite(check_finite, b)
        if shape_of(b)[-1] != n:
            raise ValueError(f"wrong b dimensions {shape_of(b)}, should be {shape_of(a)}")
        factor = np.linalg.cholesky(b, upper=not lower)
        chol = factor if lower else _mH(factor)           # b = L Lᴴ
        s = _hermitian(a, lower)
        if type == 1:                                      # L⁻¹ s L⁻ᴴ
            y = _tri_solve(chol, s, True)
            m = _mH(_tri_solve(chol, _mH(y), True))
        else:                                              # Lᴴ s L
            m = matmul_p(matmul_p(_mH(chol), s), chol)
        w, v = np.linalg.eigh(m, UPLO="L")
        v = matmul_p(chol, v) if type == 3 else _tri_solve(_mH(chol), v, False)
    if subset_by_index is not None:
        lo, hi = (operator.index(i) for i in subset_by_index)
        if not 0 <= lo <= hi < n:
            raise ValueError(f"Requested eigenvalue indices are not valid. Valid range is "
                             f"[0, {n - 1}] and start <= end, but start={lo}, end={hi} is given")
        w, v = w[..., lo:hi + 1], v[..., :, lo:hi + 1]
    elif subset_by_value is not None:
        lo, hi = subset_by_value
        if not lo < hi:
            raise ValueError(f"Requested eigenvalue bounds are not valid: low < high is "
                             f"required, but low={lo}, high={hi} is given")
        if ndim_of(a) > 2:
            refuse(name, "subset_by_value", "for a stack of matrices (each may keep a "
                   "different number); select from the full result instead")
        keep = np.flatnonzero((primal(w) > lo) & (primal(w) <= hi))
        w, v = w[keep], v[:, keep]
    return w if eigvals_only else (w, v)


def eigvalsh(a, b=None, *, lower=True, overwrite_a=False, overwrite_b=False, type=1,
             check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """``scipy.linalg.eigvalsh``: the eigenvalues of :func:`eigh`."""
    return eigh(a, b, lower=lower, eigvals_only=True, type=type, check_finite=check_finite,
                subset_by_index=subset_by_index, subset_by_value=subset_by_value, driver=driver)


# ---- banded systems --------------------------------------------------------------------------
def solve_banded(l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True):
    """``scipy.linalg.solve_banded``: x with ``a @ x == b`` for the banded
    ``a`` stored in ``ab`` (``a[i, j] = ab[u + i - j, j]``).  ``ab``'s unused
    corners are not read (derivative 0).  Solved as a dense system (O(n³),
    not SciPy's O(n (l+u)²)), SciPy's value to rounding."""
    name = "dualad.scipy.linalg.solve_banded"
    nlower, nupper = l_and_u
    if isinstance(nlower, Box) or isinstance(nupper, Box):
        refuse(name, "l_and_u", "the numbers of diagonals are integers")
    nlower, nupper = operator.index(nlower), operator.index(nupper)
    ab, b = _array(ab), _array(b)
    _check_finite(check_finite, ab, b)
    if ndim_of(ab) < 2:
        raise ValueError(f"{name}: ab must be at least 2-D, got shape {shape_of(ab)}")
    if shape_of(ab)[-2] != nlower + nupper + 1:
        raise ValueError(f"invalid values for the number of lower and upper diagonals: "
                         f"l+u+1 ({nlower + nupper + 1}) does not equal ab.shape[0] "
                         f"({shape_of(ab)[-2]})")
    n = shape_of(ab)[-1]
    i, j = np.indices((n, n))
    row = nupper + i - j
    inside = (row >= 0) & (row <= nlower + nupper)
    dense = np.where(inside, ab[..., np.clip(row, 0, nlower + nupper), j], 0.0)
    rhs, vector = _rhs(name, dense, b)
    x = np.linalg.solve(dense, _broadcast_rhs(dense, rhs))
    return x[..., 0] if vector else x


# ---- special matrices --------------------------------------------------------------------------
def block_diag(*arrs):
    """``scipy.linalg.block_diag``: the arrays (0-D and 1-D ones as rows)
    along the diagonal of a matrix of zeros; leading axes are a stack,
    broadcast across the arrays, as SciPy 1.17 does."""
    if arrs == ():
        arrs = ([],)
    arrs = [_plain(a) for a in arrs]
    arrs = [np.reshape(a, (1,) * (2 - ndim_of(a)) + shape_of(a)) if ndim_of(a) < 2 else a
            for a in arrs]
    batch = np.broadcast_shapes(*[shape_of(a)[:-2] for a in arrs])
    arrs = [a if shape_of(a)[:-2] == batch else np.broadcast_to(a, batch + shape_of(a)[-2:])
            for a in arrs]
    dtype = np.result_type(*[primal(a) for a in arrs])
    cols = [shape_of(a)[-1] for a in arrs]
    rows = []
    for k, a in enumerate(arrs):
        r = shape_of(a)[-2]
        left, right = sum(cols[:k]), sum(cols[k + 1:])
        rows.append(np.concatenate([np.zeros(batch + (r, left), dtype), _cast(a, dtype),
                                    np.zeros(batch + (r, right), dtype)], axis=-1))
    return np.concatenate(rows, axis=-2)


def _cast(a, dtype):
    return a if np.result_type(primal(a)) == dtype else a.astype(dtype)


def toeplitz(c, r=None):
    """``scipy.linalg.toeplitz``: first column ``c``, first row ``r``
    (``conj(c)`` by default; ``r[..., 0]`` is not read); stacks broadcast."""
    c = _plain(c)
    c = np.reshape(c, (1,)) if ndim_of(c) == 0 else c
    r = np.conjugate(c) if r is None else _plain(r)
    r = np.reshape(r, (1,)) if ndim_of(r) == 0 else r
    batch = np.broadcast_shapes(shape_of(c)[:-1], shape_of(r)[:-1])
    c = np.broadcast_to(c, batch + shape_of(c)[-1:])
    r = np.broadcast_to(r, batch + shape_of(r)[-1:])
    nc, nr = shape_of(c)[-1], shape_of(r)[-1]
    vals = np.concatenate([c[..., ::-1], r[..., 1:]], axis=-1)
    index = (nc - 1) - np.arange(nc)[:, None] + np.arange(nr)[None, :]
    return vals[..., index]


def circulant(c):
    """``scipy.linalg.circulant``: the matrix with first column ``c``, each
    column the one before rotated down by one; stacks of ``c`` give stacks."""
    c = _plain(c)
    c = np.reshape(c, (1,)) if ndim_of(c) == 0 else c
    n = shape_of(c)[-1]
    index = (np.arange(n)[:, None] - np.arange(n)[None, :]) % n
    return c[..., index]


# ---- svd: SciPy's names for NumPy's decomposition ------------------------------------------
def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True,
        lapack_driver="gesdd"):
    """``scipy.linalg.svd``: ``(U, s, Vh)`` (``s`` alone without
    ``compute_uv``) from np.linalg.svd.  ``lapack_driver`` picks SciPy's
    algorithm and does not change the function: singular vectors are
    defined up to a sign (a phase) per pair, and may differ from SciPy's by
    one.  The derivative conventions are np.linalg.svd's."""
    name = "dualad.scipy.linalg.svd"
    if lapack_driver not in ("gesdd", "gesvd"):
        raise ValueError(f'lapack_driver must be "gesdd" or "gesvd", not "{lapack_driver}"')
    full_matrices = _bool(name, "full_matrices", full_matrices)
    compute_uv = _bool(name, "compute_uv", compute_uv)
    a = _array(a)
    if ndim_of(a) < 2:
        raise ValueError("expected matrix")
    _check_finite(check_finite, a)
    if not compute_uv:
        return np.linalg.svd(a, compute_uv=False)
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return u, s, vh


# ---- qr: SciPy's names for NumPy's decomposition --------------------------------------------
_QR_MODES = {"full": "complete", "economic": "reduced", "r": "r"}


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """``scipy.linalg.qr`` from np.linalg.qr: ``mode='full'`` is NumPy's
    ``'complete'`` (Q (M, M)), ``'economic'`` its ``'reduced'``, ``'r'``
    returns ``(R,)`` with R (M, N) as SciPy does; ``'raw'`` is refused.
    ``pivoting=True`` adds SciPy's column permutation P (integers, constant)
    and factors ``a[:, P]``.  ``lwork`` (LAPACK's workspace size) does not
    change the result; too small a value is an error, as in SciPy."""
    name = "dualad.scipy.linalg.qr"
    if mode not in ("full", "r", "economic", "raw"):
        raise ValueError("Mode argument should be one of ['full', 'r', 'economic', 'raw']")
    if mode == "raw":
        refuse(name, "mode", "mode='raw' returns LAPACK's Householder reflectors, which "
               "have no derivative rule; use mode='economic' or 'full'")
    pivoting = _bool(name, "pivoting", pivoting)
    a = _array(a)
    if ndim_of(a) < 2:
        raise ValueError("expected a 2-D array")
    _check_finite(check_finite, a)
    m, n = shape_of(a)[-2:]
    if lwork is not None and lwork != -1:
        need = max(0 if pivoting else n, 0 if mode == "r" else (m if mode == "full" else min(m, n)))
        if operator.index(lwork) < max(need, 1 if need else 0):
            raise ValueError(f"lwork={lwork} is too small for this QR: LAPACK needs at least "
                             f"{need} (or pass lwork=None)")
    extra = ()
    if pivoting:
        with np.errstate(all="ignore"):
            perm = scipy.linalg.qr(np.asarray(primal(a)), mode="r", pivoting=True,
                                   check_finite=False)[1]
        a = a[..., :, perm] if perm.ndim == 1 else np.take_along_axis(a, perm[..., None, :], axis=-1)
        extra = (perm,)
    if mode == "r":
        r = np.linalg.qr(a, mode="complete")[1] if m > n else np.linalg.qr(a, mode="r")
        return (r,) + extra
    q, r = np.linalg.qr(a, mode=_QR_MODES[mode])
    return (q, r) + extra


for _name in _OWN:  # (dualad.scipy.matrix_functions registers its own)
    register_replacement(f"scipy.linalg.{_name}", f"dualad.scipy.linalg.{_name}")
