"""Built-in test problems for :mod:`dualad.costs` and ``python -m dualad``.

What this module lets you do
----------------------------
Get a function written in plain NumPy and a point to differentiate it at,
of any size, by name::

    >>> from dualad import problems
    >>> inst = problems.make("rosenbrock", n=100)
    >>> inst.n, inst.m, round(float(inst.f(inst.x)), 1)
    (100, 1, 24926.0)

Every problem is deterministic: the same name, sizes and seed give the same
function (its data) and the same point.

The invariant
-------------
``n`` is always the size of the input that is differentiated and ``m`` the
size of the output (1 for a scalar loss), so the costs of a Jacobian --
``n`` forward passes against ``m`` reverse passes -- read directly off an
instance.  Each problem's *second size*, set with ``m=`` (``--m`` on the
command line), means what ``Problem.m_meaning`` says: the number of rows of
``A`` for ``tanh(A @ x)``, the number of samples for the two losses, the
length of the chain.

Problems
--------
``rosenbrock``
    Extended (chained) Rosenbrock, the same function as
    :func:`scipy.optimize.rosen`, so SciPy's hand-written ``rosen_der`` and
    ``rosen_hess_prod`` are exact references.  The point is the classic start
    ``(-1.2, 1, -1.2, 1, ...)``.
``logistic``
    L2-regularised logistic regression, mean log-loss over ``m`` synthetic
    samples with ``n`` features.
``mlp``
    Mean squared error of a one-hidden-layer tanh network (8 inputs, batch
    of ``m``) as a function of all its parameters, flattened; the hidden
    width is chosen so that the parameter count is at most ``n``.
``chain``
    ``m`` steps of ``y = tanh(1.1 y) + 0.05 y`` on a vector of ``n``, then a
    sum of squares: a long chain of small operations, where the cost is the
    interpreter's overhead per operation and a tape grows with ``m``.
``bratu``, ``bratu-1d``
    The residual of the Bratu problem ``-Δu = λ exp(u)`` (λ = 6) with zero
    boundary values, discretised by finite differences: on a ``k x k`` grid
    (``n = k²``, the largest square at most ``n``; five-point stencil, a
    Jacobian with 5 colours) and on a line of ``n`` points (three-point
    stencil, tridiagonal: 3 colours).  Vector-valued, ``m = n``: the
    problems where the sparse Jacobian of :mod:`dualad.sparse` wins.
``tanh``, ``tanh-wide``, ``tanh-square``, ``tanh-tall``
    ``F(x) = tanh(A @ x)`` with ``A`` of shape ``(m, n)``: a vector-valued
    function whose Jacobian is ``m x n``.  ``tanh`` defaults to ``m = 100``;
    wide, square and tall default to ``m = n // 10``, ``n`` and ``10 n``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Problem", "Instance", "PROBLEMS", "get", "make", "names", "rosenbrock",
           "bratu", "bratu_1d", "BRATU_LAMBDA"]


@dataclass(frozen=True)
class Instance:
    """A problem at one size: ``f`` and the point ``x`` to differentiate it at."""

    name: str
    f: Callable
    x: np.ndarray
    n: int
    m: int
    description: str

    @property
    def label(self) -> str:
        return f"{self.name} (n={self.n}, m={self.m})"


@dataclass(frozen=True)
class Problem:
    """A named family of functions, built at a size by :meth:`make`."""

    name: str
    description: str
    scalar: bool
    default_n: int
    m_meaning: str
    _build: Callable
    _default_m: Callable

    def default_m(self, n: int) -> int:
        return int(self._default_m(n))

    def make(self, n: int | None = None, m: int | None = None, seed: int = 0) -> Instance:
        """The problem with input size ``n`` and second size ``m`` (see ``m_meaning``).

        >>> make = get("tanh-tall").make
        >>> inst = make(n=20)
        >>> inst.m, inst.f(inst.x).shape
        (200, (200,))
        """
        n = self.default_n if n is None else _positive(n, "n")
        m = self.default_m(n) if m is None else _positive(m, "m")
        f, x, m_out = self._build(n, m, np.random.default_rng(seed))
        x = np.asarray(x, dtype=np.float64)
        return Instance(self.name, f, x, int(x.size), int(m_out), self.description)


def _positive(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


# ---- the functions, in plain NumPy ---------------------------------------------------
def rosenbrock(x):
    """Extended (chained) Rosenbrock; equals ``scipy.optimize.rosen``."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _rosenbrock(n, m, rng):
    x = np.where(np.arange(n) % 2 == 0, -1.2, 1.0)
    return rosenbrock, x, 1


def _logistic(n, m, rng):
    features = rng.standard_normal((m, n)) / np.sqrt(n)
    w_true = rng.standard_normal(n)
    labels = np.where(features @ w_true + 0.1 * rng.standard_normal(m) > 0, 1.0, -1.0)
    lam = 1e-2

    def logistic_loss(w):
        margins = labels * (features @ w)
        return np.mean(np.logaddexp(0.0, -margins)) + 0.5 * lam * np.sum(w * w)

    return logistic_loss, 0.1 * rng.standard_normal(n), 1


_MLP_INPUTS = 8


def _mlp(n, m, rng):
    d = _MLP_INPUTS
    hidden = max(1, (n - 1) // (d + 2))
    inputs = rng.standard_normal((m, d))
    targets = np.sin(inputs @ rng.standard_normal(d))
    sizes = [d * hidden, hidden, hidden, 1]
    bounds = np.cumsum([0] + sizes)

    def mlp_loss(theta):
        w1 = np.reshape(theta[bounds[0]:bounds[1]], (d, hidden))
        b1 = theta[bounds[1]:bounds[2]]
        w2 = theta[bounds[2]:bounds[3]]
        b2 = theta[bounds[3]]
        hidden_units = np.tanh(inputs @ w1 + b1)
        residual = hidden_units @ w2 + b2 - targets
        return np.mean(residual ** 2)

    theta = rng.standard_normal(int(bounds[-1])) / np.sqrt(d)
    return mlp_loss, theta, 1


def _chain(n, m, rng):
    def chain(y):
        for _ in range(m):
            y = np.tanh(1.1 * y) + 0.05 * y
        return np.sum(y ** 2)

    return chain, np.linspace(-1.0, 1.0, n), 1


BRATU_LAMBDA = 6.0


def bratu(u: np.ndarray) -> np.ndarray:
    """The 2-D Bratu residual ``Δu + λ exp(u)`` on the square grid that ``u``
    (of size ``k²``, flattened) fills, with zero boundary values.

    >>> bratu(np.zeros(9)).tolist() == [BRATU_LAMBDA] * 9
    True
    """
    k = math.isqrt(u.size)
    grid = np.reshape(u, (k, k))
    h2 = (1.0 / (k + 1)) ** 2
    padded = np.pad(grid, 1)  # the zero boundary
    laplacian = (padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:]
                 - 4.0 * grid) / h2
    return np.reshape(laplacian + BRATU_LAMBDA * np.exp(grid), -1)


def bratu_1d(u: np.ndarray) -> np.ndarray:
    """The 1-D Bratu residual ``u'' + λ exp(u)`` with zero boundary values.

    >>> bratu_1d(np.zeros(3)).tolist() == [BRATU_LAMBDA] * 3
    True
    """
    h2 = (1.0 / (u.size + 1)) ** 2
    padded = np.pad(u, 1)
    return (padded[:-2] - 2.0 * u + padded[2:]) / h2 + BRATU_LAMBDA * np.exp(u)


def _bratu(n, m, rng):
    k = math.isqrt(n)
    # a smooth bump, inside the basin of the lower solution
    s = np.arange(1, k + 1) / (k + 1)
    return bratu, 0.5 * np.ravel(np.outer(np.sin(np.pi * s), np.sin(np.pi * s))), k * k


def _bratu_1d(n, m, rng):
    s = np.arange(1, n + 1) / (n + 1)
    return bratu_1d, 0.5 * np.sin(np.pi * s), n


def _tanh(n, m, rng):
    a = rng.standard_normal((m, n)) / np.sqrt(n)

    def tanh_affine(x):
        return np.tanh(a @ x)

    return tanh_affine, rng.standard_normal(n), m


PROBLEMS: dict[str, Problem] = {p.name: p for p in [
    Problem("rosenbrock", "extended (chained) Rosenbrock, = scipy.optimize.rosen",
            True, 1000, "unused", _rosenbrock, lambda n: 1),
    Problem("logistic", "L2-regularised logistic regression, synthetic data",
            True, 1000, "number of samples (default 200)", _logistic, lambda n: 200),
    Problem("mlp", "one-hidden-layer tanh MLP, mean squared error over its parameters",
            True, 1000, "batch size (default 64)", _mlp, lambda n: 64),
    Problem("chain", "m steps of y = tanh(1.1 y) + 0.05 y, then sum(y**2)",
            True, 10, "chain length (default 1000)", _chain, lambda n: 1000),
    Problem("bratu", "2-D Bratu residual, five-point stencil on a k x k grid (n = k^2)",
            False, 2500, "unused (m = n)", _bratu, lambda n: n),
    Problem("bratu-1d", "1-D Bratu residual, three-point stencil (tridiagonal Jacobian)",
            False, 2000, "unused (m = n)", _bratu_1d, lambda n: n),
    Problem("tanh", "F(x) = tanh(A @ x), A of shape (m, n)",
            False, 100, "rows of A (default 100)", _tanh, lambda n: 100),
    Problem("tanh-wide", "F(x) = tanh(A @ x), wide A: m = n // 10",
            False, 1000, "rows of A (default n // 10)", _tanh, lambda n: max(1, n // 10)),
    Problem("tanh-square", "F(x) = tanh(A @ x), square A: m = n",
            False, 300, "rows of A (default n)", _tanh, lambda n: n),
    Problem("tanh-tall", "F(x) = tanh(A @ x), tall A: m = 10 n",
            False, 100, "rows of A (default 10 n)", _tanh, lambda n: 10 * n),
]}


def names() -> list[str]:
    """The built-in problems' names."""
    return list(PROBLEMS)


def get(name: str) -> Problem:
    """The problem called ``name``; ``ValueError`` listing the names if unknown."""
    try:
        return PROBLEMS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown problem {name!r}; choose one of: "
                         f"{', '.join(PROBLEMS)}") from None


def make(name: str, n: int | None = None, m: int | None = None, seed: int = 0) -> Instance:
    """Shortcut for ``get(name).make(n, m, seed)``."""
    return get(name).make(n, m, seed)
