"""Spectral linear algebra: svd, svdvals, eig, eigvals, pinv, lstsq, and
the norms, condition numbers and rank built on singular values.

``svd``, ``svdvals``, ``eig``, ``pinv`` and ``lstsq`` are primitives whose
implementation is NumPy's own call, so a traced value is NumPy's; the rules
are NumPy calls on the traced factors, so every nesting composes.
``eigvals`` is ``eig``'s eigenvalues (its derivative needs the
eigenvectors, so they are computed too); ``svd(hermitian=True)`` is
composed from ``eigh`` as NumPy computes it (so for complex input its
vectors take eigh's gauge, ``diag(Vᴴ dV) = 0``); ``matrix_norm``, ``norm`` with
``ord=2, -2, 'nuc'`` of matrices and ``cond`` are compositions;
``matrix_rank``, an integer, has no derivative.

Conventions (docs/kinks.md lists the degenerate points):

* ``svd``: with ``dP = U1ᴴ dA V1`` (U1, V1 the first k = min(m, n)
  columns) and H, K its Hermitian and skew parts, ``ds = Re diag(dP)``,
  ``Uᴴ dU = H/(s_j - s_i) + K/(s_i + s_j)`` and
  ``Vᴴ dV = H/(s_j - s_i) - K/(s_i + s_j)`` off the diagonal (the classic
  ``(dP S + S dPᴴ)/(s_j² - s_i²)``, split so that only H's term is singular
  at a tie), plus the parts outside the span of U1 (V1):
  ``(I - U1U1ᴴ) dA V1 S⁻¹``.  At repeated singular values -- equal to
  rounding, ``|s_i - s_j| <= k·eps·max s`` -- U and V are not unique and
  ``1/(s_j - s_i)`` is taken as 0: finite, and exact for the polar factor
  ``U Vh`` and every quantity that needs only the skew term.  A zero
  singular value enters ``S⁻¹`` as 0.  ``s`` itself has the derivative
  ``Re diag(dP)`` everywhere (at a zero singular value one of the
  one-sided slopes, like ``abs``).
* Complex ``svd``: each pair (u_i, v_i) is defined up to one common phase.
  The derivative takes the gauge ``diag(Vᴴ dV) = 0`` and puts the phase's
  rate into U: ``Im diag(Uᴴ dU) = Im diag(dP) / s`` (0 at s = 0), as JAX
  does.  Every quantity invariant under ``u_i, v_i -> e^{iφ} u_i, e^{iφ} v_i``
  (``U diag(f(s)) Vh``, ``U Vh``, ``|U|²``, projectors) gets its exact
  derivative; NumPy's own phases follow LAPACK's algorithm and differ.
  For real input the signs are locally constant and NumPy's U, V are
  differentiated exactly.
* ``svd(full_matrices=True)`` of a non-square matrix: the extra columns U2
  (or V2) are any orthonormal basis of the complement, not unique.  The
  derivative rotates them as little as possible: ``U2ᴴ dU2 = 0`` and
  ``U1ᴴ dU2 = -(U2ᴴ dU1)ᴴ``, so U stays unitary to first order and the
  complement's projector ``U2 U2ᴴ`` gets its exact derivative; NumPy's
  (LAPACK's) particular basis is not what is differentiated.
* ``eig``: ``dλ = diag(V⁻¹ dA V)``; ``dV = V (E ∘ (V⁻¹ dA V)) + V diag(c)``
  with ``E_ij = 1/(λ_j - λ_i)`` (0 on the diagonal and at eigenvalues
  equal to rounding, where V is undefined).  ``c`` keeps NumPy's normalisation:
  LAPACK's geev returns columns of unit 2-norm whose entry of largest
  modulus is real, so ``Re c_j`` keeps ``|v_j| = 1`` and ``Im c_j`` keeps
  that entry real -- the derivative is that of the eigenvectors NumPy
  returns (wherever the largest entry of each column is unique).  For
  real input the eigenvalues and vectors are real or complex, as NumPy
  returns them; the cotangent of the real input is real.
* ``pinv``: the derivative of the Moore-Penrose inverse at constant rank,
  ``dA⁺ = -A⁺ dA A⁺ + A⁺A⁺ᴴ dAᴴ (I - AA⁺) + (I - A⁺A) dAᴴ A⁺ᴴA⁺``, with
  ``A⁺`` NumPy's (its cutoff ``rcond``/``rtol``).  The rank is held fixed:
  exact for a matrix whose dropped singular values are 0 (along directions
  that keep the rank; across a rank change pinv is discontinuous); where
  NumPy's cutoff drops small nonzero singular values it is the formula at
  the rank-r truncation, without the truncation's own dependence on them.
* ``lstsq``: ``x = A⁺b`` at NumPy's cutoff, differentiated as pinv (at
  constant rank); the residuals (present only at full column rank with
  m > n) have ``d|r|² = 2 Re Σ conj(r) (db - dA x)``; ``rank`` is NumPy's
  integer; ``s``, LAPACK's (gelsd), is differentiated as ``svdvals(a)``.
* ``norm``/``matrix_norm`` with ``ord=2`` / ``-2`` are the max / min of the
  singular values: at a tie (to rounding) the derivative is split equally
  among the tied values, the average of the subgradients
  ``Re u_iᴴ dA v_i`` over the repeated subspace; ``'nuc'`` is their sum.
* ``cond`` is inf at a singular matrix (NumPy's value), with derivative 0.
"""

from __future__ import annotations

import numpy as np

from ..core import Box, concrete, is_complex, ndim_of, note_complex, primal, shape_of
from ..extend import Primitive, nondiff, register
from .linalg import (_conj, _mH, _mT, _read_triangle, _read_triangle_T, diagonal, eigh_p,
                     inv_p, matmul_p, norm, solve_p)
from .reductions import sum_p
from .shape import moveaxis, reshape, take_along_axis

__all__ = ["svd_p", "svdvals_p", "eig_p", "pinv_p", "lstsq_p"]

_NoValue = np._NoValue
_SVDResult = type(np.linalg.svd(np.eye(1)))
_EigResult = type(np.linalg.eig(np.eye(1)))


def _array(x):
    """A traced value as it is; anything else as NumPy's array."""
    return x if isinstance(x, Box) else np.asarray(x)


def _eye(n, like):
    return np.eye(n, dtype=np.result_type(primal(like)))


def _matrices(a, square: bool = False) -> None:
    """NumPy's LinAlgError for input that is not a (stack of) matrices."""
    if ndim_of(a) < 2:
        raise np.linalg.LinAlgError(f"{ndim_of(a)}-dimensional array given. Array must be "
                                    "at least two-dimensional")
    m, n = shape_of(a)[-2:]
    if square and m != n:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")


# ---- svd, svdvals -----------------------------------------------------------------------
def _inverse_gaps(w, sign: float = -1.0):
    """``1/(w_j - w_i)`` (``sign=-1``) or ``1/(w_j + w_i)`` (``sign=+1``) at
    ``[..., i, j]``: 0 on the diagonal and wherever the denominator is 0 to
    rounding, ``|w_j ± w_i| <= n·eps·max|w|`` -- a repeated eigenvalue or
    singular value, whose subspace has no unique basis (docs/kinks.md); a
    computed repeated value differs from its twin by rounding, and its
    reciprocal would only amplify rounding.  Traced in ``w``; the mask reads
    the primal values."""
    p = primal(w)
    n = shape_of(w)[-1]
    scale = np.max(np.abs(p), axis=-1, keepdims=True)[..., None] if n else 0.0
    tol = n * np.finfo(p.dtype).eps * scale
    zero = (np.abs(p[..., None, :] + sign * p[..., :, None]) <= tol) | np.eye(n, dtype=bool)
    gap = w[..., None, :] + sign * w[..., :, None]
    return np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, gap))


def _inverse_values(s):
    """``1/s`` where ``s > 0``, 0 where ``s == 0`` (the zero singular values)."""
    zero = primal(s) == 0
    return np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, s))


def _svd_parts(out, full_matrices: bool):
    """(U1, s, V1, U2, V2): the first k columns of U and V, and the extra
    columns of the full factors (None when there are none)."""
    U, s, Vh = out
    k = shape_of(s)[-1]
    V = _mH(Vh)
    U1, V1 = (U[..., :, :k], V[..., :, :k]) if full_matrices else (U, V)
    U2 = U[..., :, k:] if full_matrices and shape_of(U)[-1] > k else None
    V2 = V[..., :, k:] if full_matrices and shape_of(V)[-1] > k else None
    return U1, s, V1, U2, V2


def _concat_columns(first, second):
    from .shape import concatenate
    return first if second is None else concatenate([first, second], axis=-1)


def _svd_jvp(tangents, out, a, full_matrices):
    (t,) = tangents
    U1, s, V1, U2, V2 = _svd_parts(out, full_matrices)
    m, n = shape_of(a)[-2:]
    k = shape_of(s)[-1]
    sinv = _inverse_values(s)
    dP = matmul_p(matmul_p(_mH(U1), t), V1)
    dd = diagonal(dP, 0, -2, -1)
    ds = np.real(dd) if is_complex(dd) else dd
    # Uᴴ dU = H/(s_j - s_i) + K/(s_i + s_j), Vᴴ dV = H/(s_j - s_i) - K/(s_i + s_j),
    # H and K the Hermitian and skew parts of dP (only H's term is singular at a tie)
    dPh = _mH(dP)
    h = _inverse_gaps(s) * (dP + dPh) * 0.5
    k_ = _inverse_gaps(s, +1.0) * (dP - dPh) * 0.5
    omega_u, omega_v = h + k_, h - k_
    if is_complex(dP):
        # the pair's common phase: its rate goes to U, diag(Vᴴ dV) = 0
        omega_u = omega_u + (np.imag(dd) * sinv * 1j)[..., None, :] * _eye(k, dP)
    dU1 = matmul_p(U1, omega_u)
    dV1 = matmul_p(V1, omega_v)
    tV1 = matmul_p(t, V1)                        # the parts outside span(U1), span(V1)
    thU1 = matmul_p(_mH(t), U1) if n > k else None
    if m > k:
        outside = tV1 - matmul_p(U1, matmul_p(_mH(U1), tV1))
        dU1 = dU1 + outside * sinv[..., None, :]
    if n > k:
        outside = thU1 - matmul_p(V1, matmul_p(_mH(V1), thU1))
        dV1 = dV1 + outside * sinv[..., None, :]
    dU, dV = dU1, dV1
    if U2 is not None:   # dU2 = -U1 S⁻¹ V1ᴴ dAᴴ U2: the least rotation of the complement
        dU = _concat_columns(dU1, -matmul_p(U1, sinv[..., :, None] * matmul_p(_mH(tV1), U2)))
    if V2 is not None:   # dV2 = -V1 S⁻¹ U1ᴴ dA V2
        dV = _concat_columns(dV1, -matmul_p(V1, sinv[..., :, None] * matmul_p(_mH(thU1), V2)))
    return dU, ds, _mH(dV)


def _svd_vjp(g, out, a, full_matrices):
    # the transpose of _svd_jvp under Re Σ ḡ·t (plain transposes; a map
    # t -> X tᴴ Y has the transpose g -> conj(Y gᵀ X))
    gU, gs, gVh = g
    U1, s, V1, U2, V2 = _svd_parts(out, full_matrices)
    m, n = shape_of(a)[-2:]
    k = shape_of(s)[-1]
    sinv = _inverse_values(s)
    gV = None if gVh is None else _mH(gVh)
    gU1 = None if gU is None else gU[..., :, :k]
    gV1 = None if gV is None else gV[..., :, :k]
    ga = 0.0
    g_u = 0.0 if gU1 is None else matmul_p(_mT(U1), gU1)   # of Uᴴ dU
    g_v = 0.0 if gV1 is None else matmul_p(_mT(V1), gV1)   # of Vᴴ dV
    gP = 0.0
    if gU1 is not None or gV1 is not None:
        g_h = _inverse_gaps(s) * (g_u + g_v)                # of H and K, then of dP
        g_k = _inverse_gaps(s, +1.0) * (g_u - g_v)
        gP = (g_h + _mH(g_h) + g_k - _mH(g_k)) * 0.5
    if gU1 is not None:
        if is_complex(g_u):
            gd = np.imag(diagonal(g_u, 0, -2, -1)) * sinv * 1j
            gP = gP + gd[..., None, :] * _eye(k, g_u)
        if m > k:
            w = gU1 * sinv[..., None, :]
            w = w - matmul_p(_conj(U1), matmul_p(_mT(U1), w))
            ga = ga + matmul_p(w, _mT(V1))
    if gV1 is not None and n > k:
        w = _mH(gV1)
        w = w - matmul_p(matmul_p(w, _conj(V1)), _mT(V1))
        ga = ga + matmul_p(_conj(U1) * sinv[..., None, :], w)
    if gs is not None:
        gP = gP + gs[..., :, None] * _eye(k, gs)
    if type(gP) is not float:
        ga = ga + matmul_p(matmul_p(_conj(U1), gP), _mT(V1))
    if U2 is not None and gU is not None:
        gU2 = gU[..., :, k:]
        # dU2 = X tᴴ U2 with X = -U1 S⁻¹ V1ᴴ: conj(U2 gU2ᵀ X)
        ga = ga - matmul_p(matmul_p(matmul_p(_conj(U2), _mH(gU2)), _conj(U1) * sinv[..., None, :]),
                           _mT(V1))
    if V2 is not None and gV is not None:
        gV2 = gV[..., :, k:]
        # dV2 = -V1 S⁻¹ U1ᴴ t V2: -(conj(U1) S⁻¹ V1ᵀ) gV2 V2ᵀ
        ga = ga - matmul_p(matmul_p(_conj(U1) * sinv[..., None, :],
                                    matmul_p(_mT(V1), gV2)), _mT(V2))
    if type(ga) is float:
        return (None,)
    return (ga,)


svd_p = Primitive(
    "svd", lambda a, full_matrices: tuple(np.linalg.svd(a, full_matrices=full_matrices)),
    jvp=_svd_jvp, vjp=_svd_vjp, multiple_results=True,
    doc="(U, s, Vh) of NumPy's svd; see dualad.rules.spectral for the gauge.")


def _svdvals_jvp(t, out, a):
    U, _, Vh = svd_p(a, full_matrices=False)
    d = sum_p(_conj(U) * matmul_p(t, _mH(Vh)), axis=(-2,), keepdims=False)  # diag(Uᴴ t V)
    return np.real(d) if is_complex(d) else d


def _svdvals_vjp(g, out, a):
    U, _, Vh = svd_p(a, full_matrices=False)
    return _conj(matmul_p(U * g[..., None, :], Vh))


svdvals_p = Primitive(
    "svdvals", lambda a: np.linalg.svd(a, compute_uv=False),
    jvp=(_svdvals_jvp,), vjp=(_svdvals_vjp,),
    doc="The singular values (NumPy's svd with compute_uv=False): ds = Re diag(Uᴴ dA V).")


def _hermitian_svd(a, compute_uv: bool):
    """NumPy's svd(hermitian=True): from eigh of the lower triangle, |w|
    sorted in descending order, the signs moved into V."""
    w, V = eigh_p(a, UPLO="L")
    order = np.argsort(np.abs(primal(w)), axis=-1)[..., ::-1]
    s = take_along_axis(np.abs(w), order, axis=-1)
    if not compute_uv:
        return s
    sign = np.take_along_axis(np.copysign(1.0, primal(w)), order, axis=-1)
    U = take_along_axis(V, order[..., None, :], axis=-1)
    Vh = _mH(U * sign[..., None, :].astype(np.finfo(np.result_type(primal(w))).dtype))
    return _SVDResult(U, s, Vh)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False):
    a = _array(a)
    if hermitian:
        _matrices(a, square=True)
        return _hermitian_svd(a, bool(compute_uv))
    _matrices(a)
    if not compute_uv:
        return svdvals_p(a)
    m, n = shape_of(a)[-2:]
    return _SVDResult(*svd_p(a, full_matrices=bool(full_matrices) and m != n))


def svdvals(x, /):
    x = _array(x)
    _matrices(x)
    return svdvals_p(x)


register(np.linalg.svd, svd)
register(np.linalg.svdvals, svdvals)


# ---- eig, eigvals ------------------------------------------------------------------------
def _largest_entries(V):
    """Boolean (..., n, n): True at the entry of each column that LAPACK made
    real, the one of largest modulus -- found among the entries whose
    imaginary part is exactly 0, so that a near-tie in modulus cannot pick
    another one (a constant: it reads primal values)."""
    p = primal(V)
    n = p.shape[-2]
    k = np.argmax(np.where(np.imag(p) == 0, np.abs(p), -1.0), axis=-2)
    return np.arange(n)[:, None] == k[..., None, :]


def _eig_jvp(tangents, out, a):
    (t,) = tangents
    w, V = out
    P = solve_p(V, matmul_p(t, V))                   # V⁻¹ dA V
    dw = diagonal(P, 0, -2, -1)
    dV = matmul_p(V, _inverse_gaps(w) * P)
    # NumPy's normalisation: unit columns whose largest entry is real
    c = -np.real(sum_p(_conj(V) * dV, axis=(-2,), keepdims=False))
    if is_complex(dV):
        largest = _largest_entries(V)
        r = np.real(sum_p(np.where(largest, V, 0.0), axis=(-2,), keepdims=False))
        dv_k = sum_p(np.where(largest, dV, 0.0), axis=(-2,), keepdims=False)
        c = c - (np.imag(dv_k) / r) * 1j
    return dw, dV + V * c[..., None, :]


def _eig_vjp(g, out, a):
    gw, gV = g
    w, V = out
    gP = 0.0
    if gV is not None:
        h = sum_p(gV * V, axis=(-2,), keepdims=False)
        g0 = gV - np.real(h)[..., None, :] * _conj(V)
        if is_complex(V) or is_complex(gV):
            largest = _largest_entries(V)
            r = np.real(sum_p(np.where(largest, V, 0.0), axis=(-2,), keepdims=False))
            g0 = g0 + np.where(largest, (np.imag(h) / r * -1j)[..., None, :], 0.0)
        gP = _inverse_gaps(w) * matmul_p(_mT(V), g0)
    if gw is not None:
        gP = gP + gw[..., :, None] * _eye(shape_of(w)[-1], gw)
    if type(gP) is float:
        return (None,)
    return (solve_p(_mT(V), matmul_p(gP, _mT(V))),)   # V⁻ᵀ gP Vᵀ


eig_p = Primitive("eig", lambda a: tuple(np.linalg.eig(a)), jvp=_eig_jvp, vjp=_eig_vjp,
                  multiple_results=True,
                  doc="(w, V) of NumPy's eig; V differentiated in LAPACK's gauge.")


def eig(a):
    a = _array(a)
    _matrices(a, square=True)
    if not is_complex(a):
        note_complex()  # the eigenvalues of a real matrix may be complex
    return _EigResult(*eig_p(a))


def eigvals(a):
    """The eigenvalues of eig (NumPy's eigvals, to rounding)."""
    return eig(a)[0]


register(np.linalg.eig, eig)
register(np.linalg.eigvals, eigvals)


# ---- pinv -------------------------------------------------------------------------------
def _pinv_terms(a, X, hermitian):
    """(A, I - A X, I - X A) for the pinv rules, A the matrix NumPy reads."""
    A = _read_triangle(a, lower=True) if hermitian else a
    m, n = shape_of(a)[-2:]
    return A, _eye(m, X) - matmul_p(A, X), _eye(n, X) - matmul_p(X, A)


def _pinv_jvp(t, out, a, rcond, hermitian):
    X = out
    A, left, right = _pinv_terms(a, X, hermitian)
    dA = _read_triangle(t, lower=True) if hermitian else t
    dAh = _mH(dA)
    XXh = matmul_p(X, _mH(X))
    XhX = matmul_p(_mH(X), X)
    return (-matmul_p(matmul_p(X, dA), X) + matmul_p(matmul_p(XXh, dAh), left)
            + matmul_p(matmul_p(right, dAh), XhX))


def _pinv_vjp(g, out, a, rcond, hermitian):
    X = out
    A, left, right = _pinv_terms(a, X, hermitian)
    XXh = matmul_p(X, _mH(X))
    XhX = matmul_p(_mH(X), X)
    gT = _mT(g)
    ga = (-matmul_p(matmul_p(_mT(X), g), _mT(X))
          + _conj(matmul_p(matmul_p(left, gT), XXh))
          + _conj(matmul_p(matmul_p(XhX, gT), right)))
    if hermitian:
        ga = _read_triangle_T(ga, lower=True)
    return ga


pinv_p = Primitive(
    "pinv", lambda a, rcond, hermitian: np.linalg.pinv(a, rcond=rcond, hermitian=hermitian),
    jvp=(_pinv_jvp,), vjp=(_pinv_vjp,),
    doc="NumPy's pinv, differentiated at constant rank (the classic formula).")


def _cutoff(rcond, rtol, shape, dtype):
    """NumPy's relative cutoff of pinv from ``rcond`` and ``rtol``."""
    if rcond is None:
        if rtol is _NoValue:
            return 1e-15
        if rtol is None:
            return max(shape[-2:]) * np.finfo(dtype).eps
        return primal(rtol)
    if rtol is not _NoValue:
        raise ValueError("`rtol` and `rcond` can't be both set.")
    return primal(rcond)


def _constant(value):
    """A cutoff as a parameter: a float, or NumPy's array (one per matrix)."""
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value


def pinv(a, rcond=None, hermitian=False, *, rtol=_NoValue):
    a = _array(a)
    _matrices(a, square=bool(hermitian))
    cut = _cutoff(rcond, rtol, shape_of(a), np.result_type(primal(a)))
    if 0 in shape_of(a)[-2:]:
        return np.linalg.pinv(primal(a), rcond=cut, hermitian=bool(hermitian))
    return pinv_p(a, rcond=_constant(cut), hermitian=bool(hermitian))


register(np.linalg.pinv, pinv)


# ---- lstsq -------------------------------------------------------------------------------
def _columns(v, vector):
    return v[..., None] if vector else v


_RANK_TYPE = type(np.linalg.lstsq(np.eye(1), np.ones(1), rcond=None)[2])


def _lstsq_impl(a, b, rcond):
    x, residuals, rank, s = np.linalg.lstsq(a, b, rcond=rcond)
    # the rank travels as a float output with no derivative (one LAPACK call for all four)
    return x, residuals, np.asarray(rank, dtype=float), s


def _lstsq_jvp(tangents, out, a, b, rcond):
    ta, tb = tangents
    x, residuals, _, _ = out
    vector = ndim_of(b) == 1
    X = pinv_p(a, rcond=rcond, hermitian=False)   # A⁺ at lstsq's cutoff
    x2, b2 = _columns(x, vector), _columns(b, vector)
    r = b2 - matmul_p(a, x2)
    dx = dres = ds = None
    if ta is not None:
        tah = _mH(ta)
        right = _eye(shape_of(a)[-1], X) - matmul_p(X, a)
        dx = (-matmul_p(X, matmul_p(ta, x2))
              + matmul_p(matmul_p(X, _mH(X)), matmul_p(tah, r))
              + matmul_p(right, matmul_p(tah, matmul_p(_mH(X), x2))))
        inner = -matmul_p(ta, x2)
        ds = _svdvals_jvp(ta, None, a)
    if tb is not None:
        tb2 = _columns(tb, vector)
        dxb = matmul_p(X, tb2)
        dx = dxb if dx is None else dx + dxb
        inner = tb2 if ta is None else inner + tb2
    if shape_of(residuals)[-1]:
        # at full column rank rᴴA = 0: d|r|² = 2 Re Σ conj(r) (db - dA x)
        d = 2.0 * sum_p(_conj(r) * inner, axis=(-2,), keepdims=False)
        dres = np.real(d) if is_complex(d) else d
    return (dx[..., 0] if vector else dx), dres, None, ds


def _lstsq_vjp(g, out, a, b, rcond):
    gx, gres, _, gs = g
    x, residuals, _, _ = out
    vector = ndim_of(b) == 1
    X = pinv_p(a, rcond=rcond, hermitian=False)
    x2, b2 = _columns(x, vector), _columns(b, vector)
    r = b2 - matmul_p(a, x2)
    ga = gb = None
    if gx is not None:
        gx2 = _columns(gx, vector)
        right = _eye(shape_of(a)[-1], X) - matmul_p(X, a)
        gxT = _mT(gx2)
        ga = (-matmul_p(matmul_p(_mT(X), gx2), _mT(x2))
              + _conj(matmul_p(matmul_p(r, gxT), matmul_p(X, _mH(X))))
              + _conj(matmul_p(matmul_p(matmul_p(_mH(X), x2), gxT), right)))
        gb = matmul_p(_mT(X), gx2)
    if gres is not None and shape_of(residuals)[-1]:
        w = 2.0 * _conj(r) * gres[..., None, :]
        ga_r = -matmul_p(w, _mT(x2))
        ga = ga_r if ga is None else ga + ga_r
        gb = w if gb is None else gb + w
    if gs is not None:
        ga_s = _svdvals_vjp(gs, None, a)
        ga = ga_s if ga is None else ga + ga_s
    if gb is not None and vector:
        gb = gb[..., 0]
    return ga, gb


lstsq_p = Primitive("lstsq", _lstsq_impl, jvp=_lstsq_jvp, vjp=_lstsq_vjp, multiple_results=True,
                    doc="(x, residuals, rank, s) of NumPy's lstsq, at constant rank "
                        "(rank as a float, without derivative).")


def lstsq(a, b, rcond=None):
    a, b = _array(a), _array(b)
    if ndim_of(a) != 2 or ndim_of(b) not in (1, 2):
        raise np.linalg.LinAlgError(f"{max(ndim_of(a), ndim_of(b))}-dimensional array given. "
                                    "Array must be two-dimensional")
    m, n = shape_of(a)
    if rcond is None:  # NumPy's default: LAPACK runs in double precision, float32 input too
        rcond = np.finfo(np.float64).eps * max(m, n)
    rcond = float(primal(rcond))
    if 0 in (m, n) or (ndim_of(b) == 2 and shape_of(b)[-1] == 0):  # empty: nothing to differentiate
        return np.linalg.lstsq(primal(a), primal(b), rcond=rcond)
    if is_complex(b) and not is_complex(a):
        note_complex()
    x, residuals, rank, s = lstsq_p(a, b, rcond=rcond)
    return x, residuals, _RANK_TYPE(primal(rank)), s


register(np.linalg.lstsq, lstsq)


# ---- norms and condition numbers ---------------------------------------------------------
def singular_value_norm(x, ord, axes: tuple, keepdims: bool):
    """``norm(x, ord, axis=axes)`` for ``ord`` 2, -2 or 'nuc' of matrices: the
    largest, smallest or summed singular values (NumPy's _multi_svd_norm)."""
    nd = ndim_of(x)
    r, c = axes
    if 0 in (shape_of(x)[r], shape_of(x)[c]):  # empty matrices: NumPy's value, nothing to differentiate
        return np.linalg.norm(primal(x), ord, axes, keepdims)
    s = svdvals_p(moveaxis(x, (r, c), (-2, -1)))
    if ord == "nuc":
        result = np.sum(s, axis=-1)
    else:
        # the largest (smallest) singular values equal to rounding share the
        # derivative equally: a computed repeated value differs by rounding
        p = primal(s)
        k = p.shape[-1]
        tol = k * np.finfo(p.dtype).eps * np.max(p, axis=-1, keepdims=True)
        if ord == 2:
            chosen = p >= np.max(p, axis=-1, keepdims=True) - tol
        else:
            chosen = p <= np.min(p, axis=-1, keepdims=True) + tol
        count = np.sum(chosen, axis=-1).astype(p.dtype)
        result = np.sum(np.where(chosen, s, 0.0), axis=-1) / count
    if keepdims:
        shape = list(shape_of(x))
        shape[r % nd] = shape[c % nd] = 1
        result = reshape(result, tuple(shape))
    return result


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    x = _array(x)
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def cond(x, p=None):
    """np.linalg.cond: from the singular values (p None, 2, -2) or as
    ``norm(x, p) · norm(inv(x), p)``.  NumPy's value is computed first: it
    raises NumPy's errors and tells where cond is inf (a singular matrix,
    where the derivative is taken as 0) or NaN."""
    x = _array(x)
    _matrices(x)
    if 0 in shape_of(x)[-2:]:
        raise np.linalg.LinAlgError("cond is not defined on empty arrays")
    value = np.linalg.cond(concrete(x), p)
    finite = np.isfinite(value)
    if p is None or (not isinstance(p, str) and p in (2, -2)):
        s = svdvals_p(x)
        with np.errstate(all="ignore"):
            r = s[..., -1] / s[..., 0] if p == -2 else s[..., 0] / s[..., -1]
    else:
        _matrices(x, square=True)
        if not finite.any():
            return value
        if not finite.all():  # the singular matrices replaced, so that inv exists
            x = np.where(finite[..., None, None], x, _eye(shape_of(x)[-1], x))
        r = norm(x, p, axis=(-2, -1)) * norm(inv_p(x), p, axis=(-2, -1))
    return r if finite.all() else np.where(finite, r, value)


register(np.linalg.matrix_norm, matrix_norm)
register(np.linalg.cond, cond)
# an integer: no derivative; NumPy computes it on the primal values, every argument included
register(np.linalg.matrix_rank, nondiff(np.linalg.matrix_rank))
