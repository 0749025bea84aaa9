"""Drop-in, differentiable versions of SciPy's matrix functions.

``scipy.linalg.expm``, ``expm_frechet``, ``logm``, ``sqrtm``,
``solve_sylvester`` and ``solve_continuous_lyapunov`` convert their input
with ``np.asarray``, which a dualad value refuses.  The functions here have
SciPy 1.17's signatures and return SciPy's values (each calls SciPy's
function on the primal arrays, batched over leading axes as SciPy is), and
are differentiable in every array argument, real or complex, in every mode
and nesting.  The rules, and the reasons for their formulations, are in
:mod:`dualad.rules.matrix_functions`; degenerate points in docs/kinks.md.

Two departures from SciPy 1.17, both where SciPy's result is wrong:
``solve_sylvester`` and ``solve_continuous_lyapunov`` with a real ``a`` (or
``b``) and a complex right-hand side solve the equation (SciPy hands the
real Schur form of ``a`` to the complex solver, and returns a matrix that
is not a solution when ``a`` has complex eigenvalues); and ``sqrtm`` of a
0-d or one-element 1-D input, for which SciPy returns ``[[exp(a)]]``, is
refused (pass a (1, 1) array).

>>> import numpy as np, dualad as ad
>>> from dualad.scipy.matrix_functions import expm
>>> t = ad.grad(lambda s: np.trace(expm(s * np.eye(2))))(0.0)   # d/ds 2 e^s at 0
>>> round(float(t), 12)
2.0
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg._matfuncs import _NoValue  # SciPy's "not given" marker: the same signatures

from ..core import primal, shape_of
from ..extend import register_replacement
from ..rules.matrix_functions import (expm_frechet_p, expm_p, logm_p, solve_continuous_lyapunov_p,
                                      solve_sylvester_p, sqrtm_p)

__all__ = ["expm", "expm_frechet", "logm", "sqrtm", "solve_sylvester",
           "solve_continuous_lyapunov"]


def _as_matrix_or_scalar(A):
    """SciPy's expm takes a 0-d or one-element 1-D input as a 1 x 1 matrix."""
    if len(shape_of(A)) < 2 and int(np.prod(shape_of(A))) == 1:
        return np.reshape(A, (1, 1))
    return A


def expm(A):
    """The matrix exponential of ``A`` (..., n, n); SciPy's signature and value.

    Its derivative is SciPy's ``expm_frechet`` (see dualad.rules.matrix_functions).

    >>> import numpy as np, dualad as ad
    >>> A = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> ad.jvp(expm, (A,), (np.eye(2),))[1].tolist()   # d/dε e^(A + εI) = e^A
    [[1.0, 1.0], [0.0, 1.0]]
    """
    return expm_p(_as_matrix_or_scalar(A))


def expm_frechet(A, E, method=None, compute_expm=True, check_finite=True):
    """``(expm(A), L(A, E))``, the exponential and its Fréchet derivative at
    ``A`` in direction ``E``; only ``L(A, E)`` when ``compute_expm=False``.
    SciPy's signature and values; ``method`` (None, 'SPS', 'blockEnlarge')
    and ``check_finite`` are SciPy's for the values; the derivatives of both
    outputs, in ``A`` and ``E``, are computed with the default method.

    >>> import numpy as np, dualad as ad
    >>> A, E = np.diag([1.0, 2.0]), np.ones((2, 2))
    >>> f = lambda A: np.sum(expm_frechet(A, E, compute_expm=False))
    >>> ad.grad(f)(A).shape
    (2, 2)
    """
    expm_A, frechet = expm_frechet_p(A, E, method=method, check_finite=check_finite)
    return (expm_A, frechet) if compute_expm else frechet


def logm(A, disp=_NoValue):
    """The principal matrix logarithm of ``A`` (..., n, n); SciPy's
    signature and value (complex for a real ``A`` with eigenvalues on the
    negative real axis, as SciPy's).

    ``disp`` (deprecated in SciPy 1.16) is SciPy's: given, SciPy is called
    with it (its warnings are raised), and ``disp=False`` returns
    ``(logm(A), errest)`` with SciPy's error estimate, a plain number: it
    estimates rounding error, zero for every ``A`` in exact arithmetic, so
    its derivative is 0.

    >>> import numpy as np, dualad as ad
    >>> float(ad.grad(lambda s: np.trace(logm(s * np.eye(3))))(2.0))   # d/ds 3 log s
    1.5
    """
    if disp is _NoValue:
        return logm_p(A)
    # SciPy itself on the primal value: its warnings and its error estimate
    raw = scipy.linalg.logm(primal(A), disp=disp)
    out = logm_p(A, quiet=True)
    return out if disp else (out, raw[1])


def sqrtm(A, disp=_NoValue, blocksize=_NoValue):
    """The principal matrix square root of ``A`` (..., n, n); SciPy's
    signature and value (complex for a real ``A`` with eigenvalues on the
    negative real axis, as SciPy's).

    ``disp`` and ``blocksize`` (both deprecated in SciPy 1.16;
    ``blocksize`` is unused by SciPy's algorithm) are SciPy's: given, SciPy
    is called with them (its warnings are raised), and ``disp=False``
    returns ``(sqrtm(A), errest)`` with SciPy's error estimate, a plain
    number (zero for every ``A`` in exact arithmetic: derivative 0).

    A 0-d or one-element 1-D ``A`` is refused: SciPy 1.17 returns
    ``[[exp(a)]]`` for it, not a square root; pass a (1, 1) array.

    >>> import numpy as np, dualad as ad
    >>> float(ad.grad(lambda s: np.trace(sqrtm(s * np.eye(2))))(4.0))   # d/ds 2 sqrt(s)
    0.5
    """
    if len(shape_of(A)) < 2 and int(np.prod(shape_of(A))) == 1:
        raise ValueError(
            "sqrtm: a 0-d or one-element 1-D input is refused: "
            "scipy.linalg.sqrtm (SciPy 1.17) returns [[exp(a)]] for it, not a square root. "
            "Pass a (1, 1) array, e.g. np.reshape(a, (1, 1)).")
    if disp is _NoValue and blocksize is _NoValue:
        return sqrtm_p(A)
    kwargs = {k: v for k, v in (("disp", disp), ("blocksize", blocksize)) if v is not _NoValue}
    raw = scipy.linalg.sqrtm(primal(A), **kwargs)  # its warnings and error estimate
    out = sqrtm_p(A, quiet=True)
    return (out, raw[1]) if disp is False else out


def solve_sylvester(a, b, q):
    """``X`` with ``a X + X b = q`` (batched over leading axes); SciPy's
    signature and value, differentiable in ``a``, ``b`` and ``q``.

    >>> import numpy as np, dualad as ad
    >>> a, b = np.diag([1.0, 2.0]), np.diag([3.0])
    >>> ad.jacfwd(lambda q: solve_sylvester(a, b, q))(np.ones((2, 1)))[:, 0, :, 0].tolist()
    [[0.25, 0.0], [0.0, 0.2]]
    """
    return solve_sylvester_p(a, b, q)


def solve_continuous_lyapunov(a, q):
    """``X`` with ``a X + X aᴴ = q`` (batched over leading axes); SciPy's
    signature and value, differentiable in ``a`` and ``q``.

    >>> import numpy as np, dualad as ad
    >>> a = -np.eye(2)
    >>> float(ad.grad(lambda s: np.trace(solve_continuous_lyapunov(s * a, np.eye(2))))(1.0))
    1.0
    """
    return solve_continuous_lyapunov_p(a, q)


for _name in __all__:
    register_replacement(f"scipy.linalg.{_name}", f"dualad.scipy.linalg.{_name}")
del _name
