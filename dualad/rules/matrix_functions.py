"""Matrix functions: ``scipy.linalg`` expm, expm_frechet, logm, sqrtm,
solve_sylvester and solve_continuous_lyapunov, as primitives.

Each implementation is SciPy's own function on the primal arrays (so the
values are SciPy's, batched over leading axes as SciPy 1.17 batches them);
each rule computes with these primitives again, on the values it is handed,
so every order and nesting works.  The drop-ins with SciPy's signatures are
in :mod:`dualad.scipy.matrix_functions`.

The derivatives, and why they are computed this way
---------------------------------------------------
* ``expm``: the Fréchet derivative ``L(A, E)`` is SciPy's ``expm_frechet``
  (Al-Mohy & Higham's Padé algorithm, about 3 times the cost of one
  ``expm``), not the upper-right block of ``expm([[A, E], [0, A]])`` (8
  times, a 2n x 2n exponential).  The VJP is ``L(Aᵀ, ḡ)``: under dualad's
  pairing ``Re Σ ḡ·t`` (no conjugation) ``E -> L(A, E)`` has the adjoint
  ``G -> L(Aᵀ, G)``, for complex ``A`` too (the transpose, not ``Aᴴ``).
* ``expm_frechet`` (outputs ``expm(A)`` and ``L(A, E)``): with
  ``B = [[A, cE], [0, A]]``, ``expm(B) = [[e^A, c·L(A, E)], [0, e^A]]``, so
  one 2n x 2n Fréchet derivative ``L(B, [[dA, c·dE], [0, dA]])`` gives both
  tangents (upper-left: ``d e^A``; upper-right: ``c·dL``), and one
  ``L(Bᵀ, [[ḡ₁, ḡ₂/c], [0, 0]])`` both cotangents (``Ā`` is the sum of its
  diagonal blocks, ``Ē`` its upper-right block times ``c``).  ``c`` is the
  constant ``‖A‖/‖E‖`` (1 when either is 0), which keeps the block's norm,
  and so the Padé scaling, that of ``A``; the result is linear in ``E``, so
  the scaling is exact.  Only ``dE`` given: ``dL = L(A, dE)``, n x n.
* ``logm``: ``L(A, E)`` is the upper-right block of
  ``logm([[A, cE], [0, A]]) / c`` (about 8 logm's: SciPy has no Fréchet
  derivative of the logarithm, and this is exact to rounding, also for
  non-normal ``A``); the VJP is ``L(Aᵀ, ḡ)``.  Near the branch cut (an
  eigenvalue on or near the negative real axis) the block is taken at
  ``e^{-iφ} A`` instead, its spectrum turned away from the cut, with
  ``L(A, E) = e^{-iφ} L(e^{-iφ} A, E)`` (exact: see ``_frechet_log``):
  rounding splits the block's double eigenvalues, which at ``A`` itself
  could fall on both sides of the cut.  Elsewhere, for a real ``A`` a
  complex direction (a cotangent of a complex logarithm) is split into its
  real and imaginary parts, two real blocks (real arithmetic, SciPy's real
  path, as for ``A``).
* ``sqrtm``: ``X = sqrtm(A)`` satisfies ``X X = A``, so ``dX`` solves the
  Sylvester equation ``X dX + dX X = dA`` -- one ``solve_sylvester`` (two
  n x n Schur decompositions), much cheaper than the 2n x 2n block
  ``sqrtm`` (8 times one sqrtm).  The VJP solves ``Xᵀ G + G Xᵀ = ḡ``.
* ``solve_sylvester`` (``AX + XB = Q``): ``dX`` solves
  ``A dX + dX B = dQ - dA X - X dB``; the VJP solves the transposed
  equation ``Aᵀ G + G Bᵀ = ḡ`` and gives ``Q̄ = G``, ``Ā = -G Xᵀ``,
  ``B̄ = -Xᵀ G``.
* ``solve_continuous_lyapunov`` (``AX + XAᴴ = Q``): ``dX`` solves
  ``A dX + dX Aᴴ = dQ - dA X - X dAᴴ``; the VJP solves the Lyapunov equation
  of ``Aᵀ``, ``Aᵀ G + G conj(A) = ḡ``, and gives ``Q̄ = G``,
  ``Ā = -(G Xᵀ + conj(Gᵀ X))`` -- ``Aᴴ`` makes ``X`` not holomorphic in a
  complex ``A``, whence the conjugate (for a real ``A``: ``-(G Xᵀ + Gᵀ X)``).

Real ``A`` with eigenvalues on the negative real axis: SciPy's ``logm`` and
``sqrtm`` return complex values, and so do their tangents; cotangents of a
real ``A`` are real (dualad takes the real part, dualad.chain.real_for).
Degenerate points (singular ``A``, eigenvalues on the branch cut of complex
``A``, singular Sylvester equations) are in docs/kinks.md.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from ..core import is_complex, ndim_of, primal, shape_of, unbroadcast
from ..extend import Primitive
from .linalg import _mH, _mT


# ---- shapes: blocks, vector-mode tangents --------------------------------------------
def _lift(t, arg, shape):
    """``t`` -- ``arg`` itself or a tangent of it -- broadcast to ``shape``
    (..., m, n), a tangent's vector-mode axes (if any) kept in front."""
    bd = ndim_of(t) - ndim_of(arg)
    s = shape_of(t)
    if bd:
        t = np.reshape(t, s[:bd] + (1,) * (len(shape) - ndim_of(arg)) + s[bd:])
    want = s[:bd] + tuple(shape)
    return t if shape_of(t) == want else np.broadcast_to(t, want)


def _block(a, b, d):
    """``[[a, b], [0, d]]`` over the last two axes (all of one shape)."""
    zeros = np.zeros(shape_of(d), dtype=np.result_type(primal(a), primal(b), primal(d)))
    return np.concatenate([np.concatenate([a, b], axis=-1),
                           np.concatenate([zeros, d], axis=-1)], axis=-2)


def _scale(A, E):
    """The constant ``‖A‖/‖E‖`` per matrix (1 where either is 0), shaped
    (..., 1, 1): scales a direction to the size of the matrix."""
    a = np.linalg.norm(primal(A), axis=(-2, -1), keepdims=True)
    e = np.linalg.norm(primal(E), axis=(-2, -1), keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = a / e
    return np.where(np.isfinite(c) & (c > 0), c, 1.0)


def _empty(x) -> bool:
    return 0 in shape_of(x)


def _real_like(out, t):
    """``t`` real where ``out`` is (SciPy returns a real logarithm when the
    imaginary parts are negligible; a block may keep them)."""
    return np.real(t) if is_complex(t) and not is_complex(out) else t


# ---- expm and its Fréchet derivative ---------------------------------------------------
def _expm_frechet_impl(A, E, method=None, check_finite=True):
    return scipy.linalg.expm_frechet(A, E, method=method, compute_expm=True,
                                     check_finite=check_finite)


def _frechet_exp(A, E):
    """``L(A, E)``, the Fréchet derivative of expm at A in direction E."""
    if _empty(A) or _empty(E):
        shape = np.broadcast_shapes(shape_of(A), shape_of(E))
        return np.zeros(shape, dtype=np.result_type(primal(A), primal(E)))
    return expm_frechet_p(A, E)[1]


def _expm_frechet_jvp(tangents, out, A, E, method=None, check_finite=True):
    tA, tE = tangents
    if tA is None:
        return (None, None) if tE is None else (None, _frechet_exp(A, tE))
    shape = np.broadcast_shapes(shape_of(A), shape_of(E))
    if _empty(A) or _empty(E):
        zeros = np.zeros(shape_of(tA)[:ndim_of(tA) - ndim_of(A)] + shape,
                         dtype=np.result_type(primal(A), primal(E)))
        return zeros, zeros
    n = shape[-1]
    c = _scale(A, E)
    tA = _lift(tA, A, shape)
    tE = np.zeros(shape_of(tA)) if tE is None else _lift(tE, E, shape)
    A, E = _lift(A, A, shape), _lift(E, E, shape)
    X = _frechet_exp(_block(A, E * c, A), _block(tA, tE * c, tA))
    return X[..., :n, :n], X[..., :n, n:] / c


def _expm_frechet_vjp(g, out, A, E, method=None, check_finite=True):
    g1, g2 = g
    if g2 is None:
        return (None if g1 is None else unbroadcast(_frechet_exp(_mT(A), g1), shape_of(A))), None
    shape = np.broadcast_shapes(shape_of(A), shape_of(E))
    if _empty(A) or _empty(E):
        return np.zeros(shape_of(A)), np.zeros(shape_of(E))
    n = shape[-1]
    c = _scale(A, E)
    if g1 is None:
        g1 = np.zeros(shape, dtype=np.result_type(primal(g2)))
    B = _block(_lift(A, A, shape), _lift(E, E, shape) * c, _lift(A, A, shape))
    X = _frechet_exp(_mT(B), _block(g1, g2 / c, np.zeros(shape)))
    gA = X[..., :n, :n] + X[..., n:, n:]
    gE = X[..., :n, n:] * c
    return unbroadcast(gA, shape_of(A)), unbroadcast(gE, shape_of(E))


expm_frechet_p = Primitive("expm_frechet", _expm_frechet_impl, jvp=_expm_frechet_jvp,
                           vjp=_expm_frechet_vjp, multiple_results=True)


expm_p = Primitive(
    "expm", scipy.linalg.expm,
    jvp=(lambda t, out, A: _frechet_exp(A, t),),
    vjp=(lambda g, out, A: _frechet_exp(_mT(A), g),))


# ---- logm: the block formula -----------------------------------------------------------
def _rotation(A):
    """The constant angle ``φ`` (shaped (..., 1, 1)) that turns the
    spectrum of ``A`` away from the branch cut of the logarithm: 0 unless an
    eigenvalue lies within π/4 of the negative real axis, else the middle
    of the eigenvalues' arguments, so that every eigenvalue of ``e^{-iφ} A``
    is as far from the cut as the spectrum allows.  A real negative
    eigenvalue has the argument +π, as in SciPy's logarithm."""
    eig = np.linalg.eigvals(primal(A))
    theta = np.where((eig.imag == 0) & (eig.real < 0), np.pi, np.angle(eig))
    top, bottom = np.max(theta, axis=-1), np.min(theta, axis=-1)
    phi = np.where(top > 0.75 * np.pi, 0.5 * (top + bottom), 0.0)
    return phi[..., None, None]


def _frechet_log(A, E):
    """``L(A, E)`` of logm, from the block ``logm([[A, cE], [0, A]])``.

    Where an eigenvalue of ``A`` lies on or near the negative real axis
    (SciPy's logarithm is complex there, with ``+iπ`` for a real negative
    eigenvalue) the block is not taken at ``A``: its eigenvalues are
    ``A``'s, doubled, and rounding splits a double eigenvalue by about
    ``sqrt(eps)`` (``eps^(1/4)`` in the blocks of the second derivative) --
    onto both sides of the cut, where the logarithm jumps by ``2πi``.
    Instead ``logm(A) = logm(e^{-iφ} A) + iφ I`` exactly (no argument wraps
    around, see :func:`_rotation`), so ``L(A, E) = e^{-iφ} L(e^{-iφ} A, E)``
    with the spectrum of ``e^{-iφ} A`` away from the cut.

    SciPy's logm is called without its warnings here: the call on ``A``
    itself has warned already if ``A`` is singular or its logarithm
    inaccurate, and the blocks' own error estimates sit near SciPy's
    threshold (1000 eps) for well-conditioned ``A`` and would warn at random."""
    shape = np.broadcast_shapes(shape_of(A), shape_of(E))
    if 0 in shape:
        return np.zeros(shape, dtype=np.result_type(primal(A), primal(E)))
    phi = _rotation(A)
    if np.any(phi):
        turn = np.exp(-1j * phi)
        return turn * _frechet_log_block(A * turn, E, shape)
    if not is_complex(A) and is_complex(E):  # two real blocks: SciPy's real path
        return (_frechet_log_block(A, np.real(E), shape)
                + 1j * _frechet_log_block(A, np.imag(E), shape))
    return _frechet_log_block(A, E, shape)


def _frechet_log_block(A, E, shape):
    """The upper-right block of ``logm([[A, cE], [0, A]]) / c``."""
    n = shape[-1]
    c = _scale(A, E)
    A = np.broadcast_to(A, shape) if shape_of(A) != shape else A
    return logm_p(_block(A, E * c, A), quiet=True)[..., :n, n:] / c


def _logm_impl(A, quiet=False):
    if quiet:  # the drop-in has called SciPy itself (with the user's disp=), or a rule
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return scipy.linalg.logm(A)
    return scipy.linalg.logm(A)


logm_p = Primitive(
    "logm", _logm_impl,
    jvp=(lambda t, out, A, quiet=False: _real_like(out, _frechet_log(A, t)),),
    vjp=(lambda g, out, A, quiet=False: _frechet_log(_mT(A), g),))


# ---- the Sylvester and Lyapunov equations ----------------------------------------------
def _complex_if_any(solver):
    """SciPy's solver with every argument made complex when one is.

    SciPy 1.17 solves a real ``a`` (or ``b``) with a complex right-hand side
    by handing the *real* Schur form of ``a`` -- quasi-triangular, with 2 x 2
    blocks for complex eigenvalue pairs -- to the complex LAPACK solver,
    which reads it as triangular: the result is then not a solution (a
    residual of 1e3 for a random 3 x 3 ``a``).  Made complex first, the
    arguments get the complex Schur form and the solution."""
    def solve(*args):
        if any(np.iscomplexobj(x) for x in args) and not all(np.iscomplexobj(x) for x in args):
            args = [np.asarray(x) + 0j if not np.iscomplexobj(x) else x for x in args]
        return solver(*args)
    solve.__name__ = solver.__name__
    solve.__doc__ = solver.__doc__
    return solve


def _sylvester_jvp(tangents, out, a, b, q):
    X = out
    ta, tb, tq = tangents
    if ta is None and tb is None and tq is None:
        return None
    shape = shape_of(X)
    rhs = None
    if tq is not None:
        rhs = _lift(tq, q, shape)
    if ta is not None:
        term = -(_lift(ta, a, shape[:-1] + (shape[-2],)) @ X)
        rhs = term if rhs is None else rhs + term
    if tb is not None:
        term = -(X @ _lift(tb, b, shape[:-2] + (shape[-1],) * 2))
        rhs = term if rhs is None else rhs + term
    if _empty(X):
        return rhs
    return solve_sylvester_p(a, b, rhs)


def _sylvester_vjp(g, out, a, b, q):
    X = out
    if _empty(X):
        return tuple(np.zeros(shape_of(x)) for x in (a, b, q))
    G = solve_sylvester_p(_mT(a), _mT(b), g)
    return (unbroadcast(-(G @ _mT(X)), shape_of(a)), unbroadcast(-(_mT(X) @ G), shape_of(b)),
            unbroadcast(G, shape_of(q)))


solve_sylvester_p = Primitive("solve_sylvester", _complex_if_any(scipy.linalg.solve_sylvester),
                              jvp=_sylvester_jvp, vjp=_sylvester_vjp)


def _lyapunov_jvp(tangents, out, a, q):
    X = out
    ta, tq = tangents
    if ta is None and tq is None:
        return None
    shape = shape_of(X)
    rhs = None if tq is None else _lift(tq, q, shape)
    if ta is not None:
        ta = _lift(ta, a, shape)
        term = -(ta @ X + X @ _mH(ta))
        rhs = term if rhs is None else rhs + term
    if _empty(X):
        return rhs
    return solve_continuous_lyapunov_p(a, rhs)


def _lyapunov_vjp(g, out, a, q):
    X = out
    if _empty(X):
        return np.zeros(shape_of(a)), np.zeros(shape_of(q))
    G = solve_continuous_lyapunov_p(_mT(a), g)
    GXt = G @ _mT(X)
    GtX = _mT(G) @ X
    gA = -(GXt + (np.conjugate(GtX) if is_complex(GtX) else GtX))
    return unbroadcast(gA, shape_of(a)), unbroadcast(G, shape_of(q))


solve_continuous_lyapunov_p = Primitive(
    "solve_continuous_lyapunov", _complex_if_any(scipy.linalg.solve_continuous_lyapunov),
    jvp=_lyapunov_jvp, vjp=_lyapunov_vjp)


# ---- sqrtm: a Sylvester equation --------------------------------------------------------
def _sqrtm_impl(A, quiet=False):
    if quiet:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return scipy.linalg.sqrtm(A)
    return scipy.linalg.sqrtm(A)


def _where_finite(out, direction, solve):
    """``solve(S)`` for the square root ``S = out``, NaN for the matrices of
    a stack where SciPy's root is not finite (a matrix with no square root,
    ``[[0, 1], [0, 0]]``, gets ``inf`` entries) and the direction is not
    zero (a zero direction gives 0): those are replaced by the identity for
    the solve, so the others keep their derivatives."""
    bad = ~np.all(np.isfinite(primal(out)), axis=(-2, -1), keepdims=True)
    if not bad.any():
        return solve(out)
    safe = np.where(bad, np.eye(shape_of(out)[-1]), out)
    zero = np.all(primal(direction) == 0, axis=(-2, -1), keepdims=True)
    return np.where(bad, np.where(zero, 0.0, np.nan), solve(safe))


def _sqrtm_jvp(t, out, A, quiet=False):
    if _empty(out):
        return t
    return _where_finite(out, t, lambda S: solve_sylvester_p(S, S, t))


def _sqrtm_vjp(g, out, A, quiet=False):
    if _empty(out):
        return g
    return _where_finite(out, g, lambda S: solve_sylvester_p(_mT(S), _mT(S), g))


sqrtm_p = Primitive("sqrtm", _sqrtm_impl, jvp=(_sqrtm_jvp,), vjp=(_sqrtm_vjp,))
