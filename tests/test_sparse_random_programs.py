"""Sparsity detection on randomly generated programs.

Each program is a random composition of the operations stencil-like code is
made of -- slices, shifts, reshapes and transposes, elementwise functions
of one and two arguments with broadcasting, reductions along an axis,
products with constant (sparse) matrices, ``where`` and ``maximum``,
concatenation -- applied to one input vector.  For each, the detected
pattern must contain every nonzero of the dense Jacobian (``jacfwd``) and
Hessian (``hessian``) computed by dualad itself, at the point and (for the
global pattern) at other random points; the local pattern at the point.
"""

import numpy as np
import pytest

import dualad as ad
from dualad.sparse import hessian_sparsity, jacobian_sparsity

N = 12  # input length: 12 = 3 x 4 for the reshapes


def _unary(rng):
    return rng.choice([np.sin, np.exp, np.tanh, np.square, np.abs, lambda v: v * 2.5,
                       lambda v: -v, np.cbrt, lambda v: np.log1p(v * v)])


def _binary(rng):
    return rng.choice([np.add, np.subtract, np.multiply, np.maximum,
                       lambda a, b: a / (1.5 + b * b), lambda a, b: np.where(a > b, a, b * 3.0),
                       np.hypot])


def _step(rng, v):
    """One random operation on a vector ``v`` (a traced value), returning a vector."""
    n = v.shape[0]
    kind = rng.integers(0, 9)
    if kind == 0 and n > 2:  # a stencil: shifted slices combined
        return _binary(rng)(v[2:], v[:-2]) + v[1:-1]
    if kind == 1:
        return _unary(rng)(v)
    if kind == 2:
        return np.roll(v, int(rng.integers(-3, 4)))
    if kind == 3 and n % 3 == 0:
        m = v.reshape(3, n // 3)
        axis = int(rng.integers(0, 2))
        red = rng.choice([np.sum, np.prod, np.max])
        return np.concatenate([red(m, axis=axis), m.T.ravel()[: n - m.shape[1 - axis]]])
    if kind == 4:  # a constant banded matrix, stored dense
        A = np.zeros((n, n))
        for d in rng.choice([-2, -1, 0, 1, 3], size=2, replace=False):
            A += np.diag(rng.standard_normal(n - abs(d)), d)
        return A @ v
    if kind == 5 and n > 1:
        return _binary(rng)(v[: n // 2 * 2].reshape(-1, 2), v[: n // 2 * 2].reshape(-1, 2)[:, :1]).ravel()
    if kind == 6:
        return np.cumsum(v[::-1])[::-1] * 0.1 + v
    if kind == 7:
        return np.concatenate([v[1::2] * v[::2][: len(v[1::2])], v])[:n]
    return np.pad(v, (1, 1))[1:-1] + np.flip(v) * v


def _program(seed, steps):
    def f(x):
        rng = np.random.default_rng(seed)  # the same operations at every call
        v = x
        for _ in range(steps):
            v = _step(rng, v)
            if v.shape[0] > 3 * N:
                v = v[: 3 * N]
        return v
    return f


def _nonzero(M, rel=1e-9):
    M = np.abs(np.asarray(M))
    return M > rel * max(1.0, M.max(initial=0.0))


SEEDS = list(range(60))


@pytest.mark.parametrize("seed", SEEDS)
def test_jacobian_pattern_contains_every_nonzero(seed):
    f = _program(seed, steps=1 + seed % 4)
    rng = np.random.default_rng(1000 + seed)
    x = rng.uniform(-1.5, 1.5, N)
    x_copy = x.copy()
    P = jacobian_sparsity(f, x).toarray()
    L = jacobian_sparsity(f, x, local=True).toarray()
    np.testing.assert_array_equal(x, x_copy)  # the input is not touched
    assert not (L & ~P).any(), "the local pattern has an entry the global one lacks"
    J = ad.jacfwd(f)(x)
    assert P.shape == J.shape
    assert not (_nonzero(J) & ~L).any(), "local pattern misses a nonzero at x"
    for _ in range(2):
        y = rng.uniform(-1.5, 1.5, N)
        assert not (_nonzero(ad.jacfwd(f)(y)) & ~P).any(), "global pattern misses a nonzero"


@pytest.mark.parametrize("seed", SEEDS)
def test_hessian_pattern_contains_every_nonzero(seed):
    g = _program(seed, steps=1 + seed % 3)
    w = np.random.default_rng(seed).standard_normal(3 * N)
    # a linear read-out (the curvature is the program's own) or a nonlinear one
    outer = (lambda v: v) if seed % 2 else np.sin

    def f(x):
        v = g(x)
        return np.sum(outer(v) * w[: v.shape[0]])

    rng = np.random.default_rng(2000 + seed)
    x = rng.uniform(-1.5, 1.5, N)
    P = hessian_sparsity(f, x).toarray()
    assert (P == P.T).all()
    for y in (x, rng.uniform(-1.5, 1.5, N)):
        H = ad.hessian(f)(y)
        assert not (_nonzero(H, 1e-8) & ~P).any(), "Hessian pattern misses a nonzero"
    L = hessian_sparsity(f, x, local=True).toarray()
    assert not (_nonzero(ad.hessian(f)(x), 1e-8) & ~L).any()


def test_the_generator_makes_sparse_programs():
    """The test above would pass on dense patterns: most generated programs
    must have patterns far from dense, or it tests nothing."""
    sparse = 0
    for seed in SEEDS:
        f = _program(seed, steps=1 + seed % 4)
        P = jacobian_sparsity(f, np.linspace(-1, 1, N))
        sparse += P.nnz < 0.6 * P.shape[0] * P.shape[1]
    assert sparse >= len(SEEDS) // 2
