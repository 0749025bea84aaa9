"""Compressed evaluation: a sparse Jacobian from as many JVPs as it has colours.

What this module lets you do
----------------------------
Compute the Jacobian of ``f`` (:func:`jacobian`, :class:`SparseJacobian`)
or the Hessian of a scalar ``f`` (:func:`hessian`, :class:`SparseHessian`)
as a ``scipy.sparse.csr_array`` with exact values, at the cost of a few
directional derivatives instead of ``n``.

How
---
Columns of the Jacobian that share no row can be added together into one
direction without their entries mixing: ``J @ (e_j + e_k)`` holds column
``j``'s entries in rows where only ``j`` has some, and ``k``'s elsewhere.
A *colouring* of the columns (:mod:`dualad.sparse.coloring`) groups them so;
one vector-mode JVP pass with one direction per colour (a *seed*) gives the
compressed Jacobian, from which the entries are read back.  When the rows
need fewer colours than the columns, the same is done with VJPs on groups
of rows.  A Hessian is symmetric, so a *star* colouring -- weaker than a
column colouring, often far fewer colours -- still lets every entry be read
back directly from Hessian-vector products (forward-over-reverse, one batched
pass).

The pattern and the colouring are found once (:class:`SparseJacobian`,
:class:`SparseHessian`) and reused at every new ``x``: what a solver does.
Every result has the pattern's structure exactly -- entries that happen
to be zero at this ``x`` are stored as explicit zeros -- so the structure
a sparse factorisation sees does not change between iterates.

Replay
------
The compressed pass is the same computation at every ``x``, with the same
seeds, so by default (``replay=True``) it runs through :func:`dualad.replay`:
recorded at the first call, then replayed without dispatch or boxes.  That
assumes ``f`` is pure, as :mod:`dualad.staging` explains: arrays or numbers
``f`` reads from outside its argument are captured at the first call (pass
``replay=False`` if they change between calls).  When ``f`` does something a
recording cannot repeat (writes into an array in place), the object says so
in ``replay_error`` and computes eagerly from then on.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from ..api import grad, jvp, vjp
from ..staging import Replayed, StagingError, replay as _replay
from . import coloring
from .detect import _check_x, hessian_sparsity, jacobian_sparsity


def _check_real(x, where: str) -> np.ndarray:
    x = _check_x(x, where)
    if x.dtype.kind == "c":
        raise TypeError(f"{where}: x is complex; sparse Jacobians and Hessians are for real "
                        "x (detection works for complex x: dualad.sparse.jacobian_sparsity; "
                        "for complex values use dualad.jacfwd)")
    return x

__all__ = ["jacobian", "hessian", "SparseJacobian", "SparseHessian", "as_pattern"]

# The seeds of one pass hold at most this many entries (colours x inputs, or
# colours x outputs); more colours are split into several passes.
CHUNK_ENTRIES = 20_000_000
# With workers > 1, passes of at least this many seed entries in all are split
# among the threads (smaller ones are not worth a thread).
THREADS_MIN_ENTRIES = 1_000_000
# Replayed passes take the seeds as an argument, fixed (dualad.replay's
# fixed_argnums): the work on the seeds alone is done once, not at every x.
FIXED_SEEDS = (1,)


def _point(x, shape: tuple, where: str) -> np.ndarray:
    """A new point for a detected pattern: real, and of the shape it was detected for."""
    x = _check_real(x, where)
    if x.shape != shape:
        raise ValueError(f"{where}: x has shape {x.shape}; the pattern was detected for "
                         f"shape {shape}")
    return x


def as_pattern(sparsity: ArrayLike | sp.spmatrix | sp.sparray, shape: tuple | None = None,
               what: str = "sparsity",
               expected: str = "the Jacobian of f at x (outputs x inputs, both flattened)"
               ) -> sp.csr_array:
    """A user's sparsity pattern (a dense array or any scipy.sparse matrix) as a
    canonical boolean ``csr_array``, its shape checked against ``shape`` --
    the one place every ``sparsity=`` / ``jac_sparsity=`` argument is read.

    >>> as_pattern([[1, 0], [1, 1]]).toarray().tolist()
    [[True, False], [True, True]]
    """
    try:
        p = sp.csr_array(sparsity if sp.issparse(sparsity) else np.asarray(sparsity) != 0,
                         dtype=bool)
    except Exception as exc:
        raise TypeError(f"{what} must be a 2-D array or scipy.sparse matrix; got "
                        f"{type(sparsity).__name__}") from exc
    if p.ndim != 2:
        raise ValueError(f"{what} must be 2-D; got shape {p.shape}")
    if shape is not None and p.shape != tuple(shape):
        raise ValueError(f"{what} has shape {p.shape}, but {expected} has shape "
                         f"{tuple(shape)}")
    p.eliminate_zeros()
    p.sum_duplicates()
    p.sort_indices()
    return p


def _workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or \
            workers == 0 or workers < -1:
        raise ValueError(f"workers must be a positive int or -1 (all cores); got {workers!r}")
    return (os.cpu_count() or 1) if workers == -1 else int(workers)


def _passes(one_pass: Callable, seeds: np.ndarray, shape: tuple, length: int, width: int,
            workers: int = 1):
    """The compressed products of all colours, ``(c, length)``, and the
    output of one pass: ``one_pass(b, V) -> (out, products)`` on blocks of
    seeds (block ``b``: rows of ``seeds``, reshaped to ``(k,) + shape``; the
    blocks are the same at every call), each block small
    enough for memory, run on ``workers`` threads when there are several
    blocks' worth of work; each block is written into the result by its thread.

    Threads pay off because NumPy releases the GIL inside its loops, and a
    batched pass over large arrays is bound by memory traffic, which two
    cores share better than one; ``f`` must then be safe to call from
    several threads at once (pure NumPy code is)."""
    c = seeds.shape[0]
    per = max(1, CHUNK_ENTRIES // max(width, 1))
    if workers > 1 and c > 1 and c * width >= THREADS_MIN_ENTRIES:
        per = min(per, -(-c // workers))
    blocks = [(s, min(s + per, c)) for s in range(0, c, per)]
    if len(blocks) == 1:  # one pass: its products are the result, uncopied
        out, t = one_pass(0, seeds.reshape((c,) + shape))
        return np.reshape(t, (c, length)), out
    compressed = np.empty((c, length))
    outs = []

    def run(block):
        s, e = block
        out, t = one_pass(s, seeds[s:e].reshape((e - s,) + shape))
        compressed[s:e] = np.reshape(t, (e - s, length))
        return out

    if workers > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(min(workers, len(blocks))) as pool:
            outs = list(pool.map(run, blocks))
    else:
        outs = [run(b) for b in blocks]
    return compressed, (outs[0] if outs else None)


class _Passes:
    """The compressed passes of one sparse object, eager or replayed.

    ``compute(x, V)`` is one pass on a block of seeds ``V``.  Replayed, each
    block of seeds gets its own :class:`dualad.Replayed` (blocks may run on
    several threads at once: each records and replays its own program).  A
    :class:`~dualad.staging.StagingError` (``f`` does something a recording
    cannot repeat) turns replay off for good, keeping the reason."""

    def __init__(self, compute: Callable, replay: bool):
        self.compute = compute
        self.replay = self.check(replay)
        self.error: str | None = None
        self.replayed: dict[int, Replayed] = {}  # first seed of a block -> its replay

    @staticmethod
    def check(replay) -> bool:
        if not isinstance(replay, (bool, np.bool_)):
            raise TypeError(f"replay must be True or False; got {replay!r}")
        return bool(replay)

    def __call__(self, block: int, x, V):
        if self.replay:
            r = self.replayed.get(block)
            if r is None:
                r = self.replayed.setdefault(block, _replay(self.compute,
                                                            fixed_argnums=FIXED_SEEDS))
            try:
                return r(x, V)
            except StagingError as exc:
                self.replay, self.error = False, str(exc)
                self.replayed.clear()
        return self.compute(x, V)


class SparseJacobian:
    """The sparse Jacobian of ``f``, detected and coloured once at ``x0``.

    Calling it at an ``x`` of ``x0``'s shape returns ``J(x)`` as a
    ``scipy.sparse.csr_array`` of shape ``(m, n)`` (outputs and inputs
    flattened in C order), from ``ncolors`` JVPs in one vector-mode pass
    (``mode="forward"``) or ``ncolors`` VJPs (``mode="reverse"``, chosen
    when the rows need fewer colours).

    Parameters
    ----------
    f : callable
        ``f(x) -> array`` of NumPy code.
    x0 : float array
        Where the pattern is detected (and its shape, the shape every later
        ``x`` must have).
    sparsity : array or scipy.sparse matrix, optional
        The pattern, ``(m, n)``, if you know it (a superset is fine: more
        colours, same values); then nothing is detected.
    local : bool
        Detect the pattern at ``x0`` only (see :mod:`dualad.sparse.detect`):
        valid at other points only while ``f`` takes the same branches there.
        A local pattern that misses an entry at a later ``x`` gives a wrong
        Jacobian there; prefer the global default.
    mode : {"auto", "forward", "reverse"}
    workers : int
        Threads for the compressed passes of a large problem (``-1``: all
        cores), as SciPy's ``workers=``.  The colours are split among them;
        ``f`` must then be safe to call from several threads at once (pure
        NumPy code is; code that writes into shared arrays is not).  On two
        cores a batched pass over 10⁶ unknowns runs about 1.7x faster
        (``benchmarks/bench_sparse.py`` prints both).
    replay : bool
        Run the compressed pass through :func:`dualad.replay` (the default):
        recorded at the first call, replayed after.  Assumes ``f`` is pure:
        what it reads from outside its argument (a closure's array, a time
        ``t`` in a dict) is captured at the first call -- pass ``False`` when
        that changes between calls, to compute eagerly at every call.
        ``replay_error`` holds the reason when ``f`` could not be recorded
        and the object went eager.

    >>> import numpy as np
    >>> from dualad.sparse import SparseJacobian
    >>> f = lambda x: x[1:] ** 2 - x[:-1]
    >>> jac = SparseJacobian(f, np.ones(5))
    >>> jac.ncolors, jac(np.arange(5.0)).toarray()[0].tolist()
    (2, [-1.0, 2.0, 0.0, 0.0, 0.0])
    """

    def __init__(self, f: Callable, x0: ArrayLike, *,
                 sparsity: ArrayLike | sp.spmatrix | sp.sparray | None = None,
                 local: bool = False, mode: str = "auto", workers: int = 1,
                 replay: bool = True) -> None:
        if mode not in ("auto", "forward", "reverse"):
            raise ValueError(f"mode must be 'auto', 'forward' or 'reverse'; got {mode!r}")
        x0 = _check_real(x0, "SparseJacobian")
        self.workers = _workers(workers)
        self.f = f
        self.x_shape = x0.shape
        if sparsity is None:
            self.sparsity = jacobian_sparsity(f, x0, local=local)
        else:
            m = np.size(f(np.array(x0)))
            self.sparsity = as_pattern(sparsity, (m, x0.size), "SparseJacobian: sparsity")
        self.shape = self.sparsity.shape
        m, n = self.shape
        if mode == "auto":
            mode, cols, rows = self._choose(m, n)
        else:
            cols = rows = None
        if mode == "reverse":
            self.colors = rows if rows is not None else coloring.row_coloring(self.sparsity)
            self._recover = coloring.row_recovery(self.sparsity, self.colors)
        else:
            self.colors = cols if cols is not None else coloring.column_coloring(self.sparsity)
            self._recover = coloring.column_recovery(self.sparsity, self.colors)
        self.mode = mode
        self.ncolors = int(self.colors.max()) + 1 if self.colors.size else 0
        self._seeds = coloring.seeds(self.colors)
        self._pass = _Passes(self._forward if mode == "forward" else self._reverse, replay)

    @property
    def replay(self) -> bool:
        """Whether the compressed pass is replayed (see ``replay=``); may be
        switched (the programs recorded so far are kept)."""
        return self._pass.replay

    @replay.setter
    def replay(self, value: bool) -> None:
        self._pass.replay = _Passes.check(value)

    @property
    def replay_error(self) -> str | None:
        """Why replay was turned off (``f`` could not be recorded), or None."""
        return self._pass.error

    @property
    def replayed(self) -> list:
        """The :class:`dualad.Replayed` of each block of seeds run so far (one
        block unless there are very many colours), with their counters."""
        return list(self._pass.replayed.values())

    def _forward(self, x, V):
        return jvp(self.f, (x,), (V,), batched=True)

    def _reverse(self, x, seeds):
        """``f(x)`` and the VJPs of the seed rows, ``(c, n)``."""
        out, pullback = vjp(self.f, x)
        out_shape, n = np.shape(out), self.shape[1]
        dtype = np.result_type(out, float)
        rows = [np.reshape(pullback(np.reshape(seeds[i], out_shape).astype(dtype))[0], n)
                for i in range(self.ncolors)]
        return out, (np.stack(rows) if rows else np.zeros((0, n)))

    def _choose(self, m: int, n: int) -> tuple:
        """Forward (columns) or reverse (rows), by fewer colours.  The densest
        row bounds the column colours from below, the densest column the row
        colours: the side with the lower bound is coloured first, the other
        only if its bound leaves it a chance to do better."""
        if not (m and n):
            return "forward", None, None
        p = self.sparsity
        col_bound = int(np.diff(p.indptr).max())
        row_bound = int(np.diff(p.tocsc().indptr).max())

        def colour(side):
            try:
                c = (coloring.column_coloring if side == "forward" else coloring.row_coloring)(p)
            except coloring.DenseRowError:
                return None  # too dense that way to even build its graph
            return c

        first, second = ("forward", "reverse") if col_bound <= row_bound else ("reverse", "forward")
        found = {first: colour(first)}
        best = int(found[first].max()) + 1 if found[first] is not None else None
        if best is None or (row_bound if second == "reverse" else col_bound) < best:
            found[second] = colour(second)
            other = found[second]
            if other is not None and (best is None or int(other.max()) + 1 < best):
                first = second
        mode = first
        return mode, found.get("forward"), found.get("reverse")

    def __repr__(self) -> str:
        return (f"<SparseJacobian {self.shape[0]}x{self.shape[1]}, {self.sparsity.nnz} "
                f"nonzeros, {self.ncolors} colours ({self.mode})>")

    def __call__(self, x: ArrayLike) -> sp.csr_array:
        return self.value_and_jacobian(x)[1]

    def value_and_jacobian(self, x: ArrayLike) -> tuple:
        """``(f(x), J(x))``: the output (as ``f`` returns it) and the csr Jacobian."""
        x = _point(x, self.x_shape, "SparseJacobian")
        m, n = self.shape
        seeds = self._seeds
        if self.mode == "forward":
            compressed, out = _passes(lambda b, V: self._pass(b, x, V), seeds,
                                      self.x_shape, m, n + m, self.workers)
            return (self.f(x) if out is None else out), self._recover(compressed, self.workers)
        out, compressed = self._pass(0, x, seeds)
        return out, self._recover(compressed)


class SparseHessian:
    """The sparse Hessian of a scalar ``f``, detected and star-coloured once at ``x0``.

    Calling it at ``x`` returns ``H(x)`` as a symmetric ``scipy.sparse.csr_array``
    ``(n, n)``, from ``ncolors`` Hessian-vector products in one batched
    forward-over-reverse pass.  ``sparsity``, ``local`` and ``replay`` as for
    :class:`SparseJacobian`.

    >>> import numpy as np
    >>> from dualad.sparse import SparseHessian
    >>> f = lambda x: np.sum(x[:-1] ** 2 * x[1:])
    >>> hess = SparseHessian(f, np.ones(4))
    >>> hess.ncolors, hess(np.ones(4)).toarray()[1].tolist()
    (3, [2.0, 2.0, 2.0, 0.0])
    """

    def __init__(self, f: Callable, x0: ArrayLike, *,
                 sparsity: ArrayLike | sp.spmatrix | sp.sparray | None = None,
                 local: bool = False, replay: bool = True) -> None:
        x0 = _check_real(x0, "SparseHessian")
        self.f = f
        self.x_shape = x0.shape
        n = x0.size
        if sparsity is None:
            self.sparsity = hessian_sparsity(f, x0, local=local)
        else:
            p = as_pattern(sparsity, (n, n), "SparseHessian: sparsity", "the Hessian of f at x")
            if (p != p.T).nnz:
                raise ValueError("SparseHessian: sparsity must be symmetric (a Hessian is); "
                                 "pass sparsity + sparsity.T")
            self.sparsity = p
        self.shape = (n, n)
        self.colors = coloring.star_coloring(self.sparsity)
        self.ncolors = int(self.colors.max()) + 1 if self.colors.size else 0
        self._seeds = coloring.seeds(self.colors)
        self._recover = coloring.star_recovery(self.sparsity, self.colors)
        self._pass = _Passes(self._forward_over_reverse, replay)

    replay = SparseJacobian.replay
    replay_error = SparseJacobian.replay_error
    replayed = SparseJacobian.replayed

    def _forward_over_reverse(self, x, V):
        return jvp(grad(self.f), (x,), (V,), batched=True)

    def __repr__(self) -> str:
        return (f"<SparseHessian {self.shape[0]}x{self.shape[1]}, {self.sparsity.nnz} "
                f"nonzeros, {self.ncolors} colours>")

    def __call__(self, x: ArrayLike) -> sp.csr_array:
        x = _point(x, self.x_shape, "SparseHessian")
        n = self.shape[0]
        compressed, _ = _passes(lambda b, V: self._pass(b, x, V), self._seeds,
                                self.x_shape, n, 2 * n)
        return self._recover(compressed)


def jacobian(f: Callable, x: ArrayLike, *,
             sparsity: ArrayLike | sp.spmatrix | sp.sparray | None = None,
             local: bool = False) -> sp.csr_array:
    """The Jacobian of ``f`` at ``x`` as a ``scipy.sparse.csr_array``, exact,
    from as many JVPs as its pattern has colours.  For repeated evaluation
    at new points build a :class:`SparseJacobian` once (its pass is replayed
    from the second call on; here, for one call, it is not recorded).

    >>> import numpy as np
    >>> from dualad.sparse import jacobian
    >>> jacobian(lambda x: np.diff(x) ** 2, np.array([0.0, 1.0, 3.0])).toarray().tolist()
    [[-2.0, 2.0, 0.0], [0.0, -4.0, 4.0]]
    """
    return SparseJacobian(f, x, sparsity=sparsity, local=local, replay=False)(x)


def hessian(f: Callable, x: ArrayLike, *,
            sparsity: ArrayLike | sp.spmatrix | sp.sparray | None = None,
            local: bool = False) -> sp.csr_array:
    """The Hessian of a scalar ``f`` at ``x`` as a symmetric ``scipy.sparse.csr_array``
    (one evaluation, not recorded: build a :class:`SparseHessian` to reuse).

    >>> import numpy as np
    >>> from dualad.sparse import hessian
    >>> hessian(lambda x: np.sum(x[1:] * x[:-1]), np.ones(3)).toarray().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    return SparseHessian(f, x, sparsity=sparsity, local=local, replay=False)(x)
