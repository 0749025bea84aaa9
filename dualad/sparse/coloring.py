"""Colourings of sparsity patterns, and recovery of sparse derivatives from compressed passes.

What this module lets you do: given the boolean sparsity pattern of a Jacobian (m x n) or of a
symmetric Hessian (n x n), group columns (or rows) into few *colours* so that one JVP (VJP, HVP)
per colour gives every nonzero, and then put the compressed results back into a
``scipy.sparse.csr_array`` with exactly the pattern's structure.

The invariant it keeps: every colouring returned here is structurally valid for direct recovery
(checked by ``check_column_coloring`` / ``check_star_coloring``); colour counts are heuristic.

Layout is batch-first, like dualad's vector mode: ``seeds(colors)`` is a (c, n) block whose row k
is the 0/1 indicator of colour k, and a compressed Jacobian is the (c, m) block of the c JVPs.

Colourings
----------
- ``column_coloring``: distance-2 colouring of the columns, i.e. a distance-1 colouring of the
  column-intersection graph (adjacency = pattern of P^T P): two columns of one colour never share a
  row, so ``J[i, j] = (J @ seeds[colors[j]])[i]`` (Curtis, Powell & Reid).
- ``row_coloring``: the same on the transpose; recovered from VJPs.
- ``star_coloring``: for a symmetric Hessian pattern, a distance-1 colouring in which every path on
  four vertices uses at least three colours (Gebremedhin, Manne & Pothen 2005, "What color is your
  Jacobian?", SIAM Review 47(4); the greedy is their 2007 star-set algorithm, see _greedy_star).
  Symmetry is what makes it cheaper than a distance-2 colouring: an arrow-head Hessian needs 2
  colours instead of n, because each off-diagonal entry H[i, j] needs to be isolated in only one
  of its two copies H[i, j], H[j, i].

Orders (the ``order=`` argument; a greedy colouring gives each vertex, in that order, the smallest
colour its constraints allow)
- ``"natural"``: vertices 0, 1, ..., n-1. Cheapest; optimal on banded patterns.
- ``"largest_first"``: by decreasing degree (ties by index): hubs first, so an arrow-head's hub
  takes colour 0 and all its leaves share colour 1.
- ``"smallest_last"``: repeatedly remove a vertex of smallest remaining degree and colour in reverse
  removal order (Matula & Beck); never needs more than the graph's degeneracy + 1 colours.
- ``"dsatur"`` (column and row colourings only): Brelaz's dynamic order -- next is the uncoloured
  vertex seeing the most distinct colours (ties: the most recently saturated; the first vertex
  has largest degree), so the colouring grows as one front. It is the one
  order here that finds the optimal 5 colours of the 2-D five-point stencil, where static orders
  give 6 or 7.
- ``"auto"``: tries the orders above and keeps the fewest colours (first one listed on ties). Above
  ``AUTO_FULL_LIMIT`` vertices it tries one or two (each is a Python pass of about 1-3 s at
  n = 10^6): dsatur for column/row colourings; natural for star colourings, plus largest_first
  when the degrees vary enough for hubs to exist.

Recovery is vectorised: ``column_recovery`` / ``row_recovery`` / ``star_recovery`` validate the
colouring and precompute, for every stored entry, its flat position in the compressed block; the
returned ``Recovery`` turns each new compressed block into a csr_array with one ``np.take``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

# a sparsity pattern: a boolean (or 0/1) array, or a SciPy sparse matrix or array
Pattern = ArrayLike | sp.sparray | sp.spmatrix

__all__ = [
    "column_coloring",
    "row_coloring",
    "star_coloring",
    "check_column_coloring",
    "check_star_coloring",
    "seeds",
    "recover_columns",
    "recover_rows",
    "recover_star",
    "Recovery",
    "column_recovery",
    "row_recovery",
    "star_recovery",
    "AUTO_FULL_LIMIT",
    "MAX_INTERSECTION_WORK",
    "DenseRowError",
]

class DenseRowError(ValueError):
    """A colouring refused because one dense row (column) would make its
    intersection graph too large: colour the other way instead.

    >>> import numpy as np, scipy.sparse as sp
    >>> arrow = sp.csr_array(sp.vstack([np.ones((1, 40000)), sp.eye(3, 40000)]))
    >>> try:
    ...     column_coloring(arrow)
    ... except DenseRowError:
    ...     print(int(row_coloring(arrow).max()) + 1)
    2
    """


# Beyond this sum of squared row counts, building P^T P (time and memory) is refused.
MAX_INTERSECTION_WORK = 5e8

# Above this many vertices "auto" tries one or two orders instead of all of them.
AUTO_FULL_LIMIT = 200_000

_ORDERS = ("auto", "natural", "largest_first", "smallest_last", "dsatur")


# ----------------------------------------------------------------------------------------------
# Input normalisation
# ----------------------------------------------------------------------------------------------

def _as_pattern(pattern, name: str = "pattern") -> sp.csr_array:
    """Canonical bool csr_array of the structure of ``pattern`` (a copy; the input is untouched).

    Explicitly stored entries count as structural nonzeros whatever their value, except that a
    dense input is read by value (nonzero = True).
    """
    if sp.issparse(pattern):
        if pattern.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got a sparse array of shape {pattern.shape}.")
        csr = sp.csr_array(pattern, copy=True)
        # Structure, not values: a stored explicit zero is still a place where the derivative can be
        # nonzero (detection may store them), so keep it.
        csr = sp.csr_array((np.ones(csr.nnz, dtype=bool), csr.indices, csr.indptr), shape=csr.shape)
        csr.sum_duplicates()
        csr.sort_indices()
        return csr
    if isinstance(pattern, np.ndarray) or isinstance(pattern, (list, tuple)):
        arr = np.asarray(pattern)
        if arr.ndim != 2:
            raise ValueError(
                f"{name} must be a 2-D boolean array or a scipy.sparse array/matrix, got an array "
                f"of shape {arr.shape}. Pass the (m, n) Jacobian pattern, e.g. from "
                f"dualad.sparse.jacobian_sparsity."
            )
        if arr.dtype == object:
            raise ValueError(f"{name} has dtype object; pass a boolean (or numeric) array.")
        return sp.csr_array(arr != 0)
    raise ValueError(
        f"{name} must be a scipy.sparse array/matrix or a 2-D numpy boolean array, got "
        f"{type(pattern).__name__}. Build one with scipy.sparse.csr_array(...) or "
        f"dualad.sparse.jacobian_sparsity(f, x)."
    )


def _check_order(order: str) -> None:
    if order not in _ORDERS:
        raise ValueError(f"order must be one of {_ORDERS}, got {order!r}.")


def _as_colors(colors, n: int, what: str) -> np.ndarray:
    colors = np.asarray(colors)
    if colors.ndim != 1 or colors.shape[0] != n:
        raise ValueError(
            f"colors must be a 1-D integer array with one colour per {what} ({n}), got shape "
            f"{colors.shape}."
        )
    if colors.size and not np.issubdtype(colors.dtype, np.integer):
        if not np.all(np.equal(np.mod(colors, 1), 0)):
            raise ValueError("colors must be integers (colour k = 0, 1, ..., c-1).")
    colors = colors.astype(np.int64)
    if colors.size and colors.min() < 0:
        raise ValueError(f"colors must be >= 0, got a colour {colors.min()}.")
    return colors


def _ncolors(colors: np.ndarray) -> int:
    return int(colors.max()) + 1 if colors.size else 0


# ----------------------------------------------------------------------------------------------
# Graphs and orders
# ----------------------------------------------------------------------------------------------

def _intersection_graph(p: sp.csr_array, what: str = "column") -> sp.csr_array:
    """Adjacency (n, n) of the column-intersection graph: pattern of P^T P without its diagonal."""
    # A row with k nonzeros costs k^2 in P^T P: one dense row of a 10^6-column pattern would ask for
    # 10^12 entries. Refuse early, with the way out, instead of exhausting memory.
    row_nnz = np.diff(p.indptr).astype(np.float64)
    work = float(row_nnz @ row_nnz)
    if work > MAX_INTERSECTION_WORK:
        dense = int(np.argmax(row_nnz))
        other = "row_coloring (VJPs)" if what == "column" else "column_coloring (JVPs)"
        raise DenseRowError(
            f"{what} colouring of this pattern would build an intersection graph of ~{work:.3g} "
            f"entries: {'row' if what == 'column' else 'column'} {dense} alone has "
            f"{int(row_nnz[dense])} nonzeros, and all of its {what}s need distinct colours. Use "
            f"{other}, or a dense Jacobian if the pattern is mostly full."
        )
    # int32 counts cannot wrap to 0 (unlike int8), so no edge is silently lost.
    pi = sp.csr_array((np.ones(p.nnz, dtype=np.int32), p.indices, p.indptr), shape=p.shape)
    g = (pi.T @ pi).tocsr()
    return _strip_diagonal(g)


def _strip_diagonal(g) -> sp.csr_array:
    """Canonical bool csr of g's structure without its diagonal."""
    g = sp.csr_array(g)
    g.sum_duplicates()
    g.sort_indices()
    n = g.shape[0]
    rows = np.repeat(np.arange(n, dtype=g.indices.dtype), np.diff(g.indptr))
    keep = rows != g.indices
    indptr = np.zeros(n + 1, dtype=g.indptr.dtype)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    return sp.csr_array(
        (np.ones(int(indptr[-1]), dtype=bool), g.indices[keep], indptr), shape=g.shape
    )


def _largest_first(g: sp.csr_array) -> np.ndarray:
    return np.argsort(-np.diff(g.indptr), kind="stable")


def _smallest_last(g: sp.csr_array) -> np.ndarray:
    n = g.shape[0]
    degree = np.diff(g.indptr)
    deg = degree.tolist()
    indices, indptr = g.indices.tolist(), g.indptr.tolist()
    removed = [False] * n
    # Bucket queue by current degree (a heap is 10x slower at 10^6); a vertex gets a new entry at
    # each decrement and stale ones are skipped. Filled in reverse so ties pop the smaller index.
    buckets = [[] for _ in range(int(degree.max(initial=0)) + 1)]
    for v in range(n - 1, -1, -1):
        buckets[deg[v]].append(v)
    low = 0
    removal = []
    while len(removal) < n:
        while not buckets[low]:
            low += 1
        v = buckets[low].pop()
        if removed[v] or deg[v] != low:
            continue
        removed[v] = True
        removal.append(v)
        for w in indices[indptr[v]:indptr[v + 1]]:
            if not removed[w]:
                d = deg[w] - 1
                deg[w] = d
                buckets[d].append(w)
                if d < low:
                    low = d
    return np.array(removal[::-1], dtype=np.int64)


def _static_order(g: sp.csr_array, order: str) -> np.ndarray:
    if order == "natural":
        return np.arange(g.shape[0], dtype=np.int64)
    if order == "largest_first":
        return _largest_first(g)
    if order == "smallest_last":
        return _smallest_last(g)
    raise AssertionError(order)


# ----------------------------------------------------------------------------------------------
# Greedy distance-1 colouring (column colourings run it on the intersection graph)
# ----------------------------------------------------------------------------------------------
# The loops below are plain Python over lists: per vertex they do a few integer operations and
# one pass over its neighbours, with the forbidden colours of a vertex kept as a Python int bit
# mask (so there is no limit on the number of colours). Measured at n = 10^6 (five-point stencil,
# 12 neighbours a vertex) the natural greedy takes well under a second.

def _lowest_free(mask: int) -> int:
    return (~mask & (mask + 1)).bit_length() - 1


def _greedy_distance1(g: sp.csr_array, order: np.ndarray) -> np.ndarray:
    n = g.shape[0]
    indices, indptr = g.indices.tolist(), g.indptr.tolist()
    mask = [0] * n
    color = [0] * n
    for v in order.tolist():
        c = _lowest_free(mask[v])
        color[v] = c
        bit = 1 << c
        for w in indices[indptr[v]:indptr[v + 1]]:
            mask[w] |= bit
    return np.array(color, dtype=np.int64)


def _dsatur(g: sp.csr_array) -> np.ndarray:
    n = g.shape[0]
    indices, indptr = g.indices.tolist(), g.indptr.tolist()
    mask = [0] * n
    sat = [0] * n
    color = [-1] * n
    # Bucket queue by saturation instead of a heap (3x faster at 10^6, same colour counts on our
    # stencils): buckets[s] holds vertices last seen with saturation s, stale entries are skipped
    # when popped. Ties go to the most recently saturated vertex, which keeps the colouring growing
    # as one front (that is what finds the five-point stencil's 5 colours); the initial bucket is
    # sorted so the first vertex is one of largest degree.
    buckets = [np.argsort(np.diff(g.indptr), kind="stable").tolist()]
    top = 0
    remaining = n
    while remaining:
        bucket = buckets[top]
        if not bucket:
            top -= 1
            continue
        v = bucket.pop()
        if color[v] >= 0 or sat[v] != top:
            continue
        c = _lowest_free(mask[v])
        color[v] = c
        remaining -= 1
        bit = 1 << c
        for w in indices[indptr[v]:indptr[v + 1]]:
            mw = mask[w]
            if not mw & bit:
                mask[w] = mw | bit
                if color[w] < 0:
                    s = sat[w] + 1
                    sat[w] = s
                    if s > top:
                        top = s
                        if s == len(buckets):
                            buckets.append([])
                    buckets[s].append(w)
    return np.array(color, dtype=np.int64)


def _best_distance1(g: sp.csr_array, order: str, bound: int = 0) -> np.ndarray:
    """The colouring of ``order``; for "auto", the fewest colours among several
    orders, stopping early at ``bound`` (a lower bound: no order can do better)."""
    _check_order(order)
    n = g.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if order == "dsatur":
        return _dsatur(g)
    if order != "auto":
        return _greedy_distance1(g, _static_order(g, order))
    if n <= AUTO_FULL_LIMIT:
        candidates = ["dsatur", "natural", "largest_first", "smallest_last"]
    else:
        candidates = ["dsatur"]
    best = None
    for name in candidates:
        colors = _dsatur(g) if name == "dsatur" else _greedy_distance1(g, _static_order(g, name))
        if best is None or _ncolors(colors) < _ncolors(best):
            best = colors
        if _ncolors(best) <= bound:
            break
    return best


# ----------------------------------------------------------------------------------------------
# Public colourings
# ----------------------------------------------------------------------------------------------

def column_coloring(pattern: Pattern, order: str = "auto") -> np.ndarray:
    """Colour the columns of an (m, n) pattern so that no two columns of one colour share a row.

    Returns an int64 array of length n with colours 0..c-1. Then ``J @ seeds(colors).T`` (c JVPs)
    holds every nonzero of J, recovered by ``recover_columns``.

    >>> import numpy as np, scipy.sparse as sp
    >>> tridiagonal = sp.diags_array([1, 1, 1], offsets=[-1, 0, 1], shape=(6, 6), dtype=bool)
    >>> colors = column_coloring(tridiagonal)
    >>> int(colors.max()) + 1, len(set(colors[:3].tolist()))
    (3, 3)
    """
    p = _as_pattern(pattern)
    # the columns of one row all need different colours: its count bounds the colours below
    bound = int(np.diff(p.indptr).max()) if p.shape[0] else 0
    return _best_distance1(_intersection_graph(p), order, bound)


def row_coloring(pattern: Pattern, order: str = "auto") -> np.ndarray:
    """Colour the rows of an (m, n) pattern so that no two rows of one colour share a column.

    Returns an int64 array of length m; recover with ``recover_rows`` from c VJPs
    ``seeds(row_colors) @ J``.

    >>> import numpy as np
    >>> row_coloring(np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], bool)).tolist()
    [0, 1, 1, 1]
    """
    p = _as_pattern(pattern)
    pt = sp.csr_array(p.T)
    bound = int(np.diff(pt.indptr).max()) if pt.shape[0] else 0
    return _best_distance1(_intersection_graph(pt, "row"), order, bound)


def _mirror(p: sp.csr_array) -> np.ndarray | None:
    """For a canonical square csr p: position of entry (j, i) for each stored (i, j), in csr
    order, or None if the structure is not symmetric. One C-level transpose, no search."""
    positions = sp.csr_array((np.arange(p.nnz, dtype=np.int64), p.indices, p.indptr), shape=p.shape)
    t = positions.T.tocsr()
    t.sort_indices()
    if not (np.array_equal(t.indptr, p.indptr) and np.array_equal(t.indices, p.indices)):
        return None
    return t.data


def _raise_not_symmetric(p: sp.csr_array) -> None:
    asym = p != p.T
    coo = asym.tocoo()
    i, j = int(coo.row[0]), int(coo.col[0])
    raise ValueError(
        f"star colouring needs a symmetric pattern, but entry ({i}, {j}) is "
        f"{'stored' if p[i, j] else 'missing'} while ({j}, {i}) is "
        f"{'stored' if p[j, i] else 'missing'}. Symmetrise it first, e.g. pattern + pattern.T."
    )


def _check_square(p: sp.csr_array) -> None:
    if p.shape[0] != p.shape[1]:
        raise ValueError(
            f"star colouring needs a square symmetric (n, n) Hessian pattern, got shape {p.shape}. "
            f"For a Jacobian use column_coloring or row_coloring."
        )


def _symmetric_graph(pattern, name: str = "pattern") -> tuple[sp.csr_array, np.ndarray]:
    """The adjacency graph (diagonal removed) of a symmetric pattern, and its mirror positions."""
    p = _as_pattern(pattern, name)
    _check_square(p)
    g = _strip_diagonal(p)
    mirror = _mirror(g)
    if mirror is None:
        _raise_not_symmetric(g)
    return g, mirror


def _edge_ids(g: sp.csr_array, mirror: np.ndarray) -> np.ndarray:
    """Undirected edge id of each stored entry: entries (i, j) and (j, i) share one id."""
    rows = np.repeat(np.arange(g.shape[0], dtype=np.int64), np.diff(g.indptr))
    upper = rows < g.indices
    ids = np.cumsum(upper) - 1
    return np.where(upper, ids, ids[mirror])


def _greedy_star(g: sp.csr_array, mirror: np.ndarray, order: np.ndarray) -> np.ndarray:
    # Gebremedhin, Tarafdar, Manne & Pothen 2007 ("New acyclic and star coloring algorithms with
    # application to computing Hessians", SIAM J. Sci. Comput. 29(3), Algorithm 4.1), a refinement
    # of GMP 2005's Algorithm 4.1: it keeps the two-coloured stars built so far (each edge knows its
    # star, each star its hub) and forbids only the colours that would close a two-coloured path
    # through a hub, where the 2005 rule forbade every distance-2 colour around uncoloured
    # vertices. On the five-point Hessian that is 5 colours instead of 6, and an arrow-head in
    # natural order with the hub last gets 2 instead of n.
    n = g.shape[0]
    indices, indptr = g.indices.tolist(), g.indptr.tolist()
    edge = _edge_ids(g, mirror).tolist()
    color = [-1] * n
    treated = [-1] * n  # treated[q] == v: the colours around q are already forbidden for v
    star = [-1] * (max(edge) + 1 if edge else 0)  # edge id -> star id
    hub = []  # star id -> hub vertex; -1 - vertex for a two-vertex star (no hub yet)
    for v in order.tolist():
        forbidden = 0
        first = {}  # colour -> (first neighbour of v with it, that edge's id)
        for k in range(indptr[v], indptr[v + 1]):
            w = indices[k]
            cw = color[w]
            if cw < 0:
                continue
            forbidden |= 1 << cw
            seen = first.get(cw)
            if seen is not None:
                # v has two neighbours q, w coloured cw, so v becomes the hub of a star with
                # leaves cw: a colour next to q or w would make x - q - v - w two-coloured.
                for u in (seen[0], w):
                    if treated[u] != v:
                        for x in indices[indptr[u]:indptr[u + 1]]:
                            if color[x] >= 0:
                                forbidden |= 1 << color[x]
                        treated[u] = v
            else:
                first[cw] = (w, edge[k])
                # w is a leaf of a star whose hub x would, given x's colour, extend
                # v - w - x - (another leaf) into a two-coloured path.
                # (An edge has a star once both ends are coloured: this skips uncoloured x.)
                for kk in range(indptr[w], indptr[w + 1]):
                    s = star[edge[kk]]
                    if s >= 0 and hub[s] == indices[kk]:
                        forbidden |= 1 << color[indices[kk]]
        c = _lowest_free(forbidden)
        color[v] = c
        # Attach each new coloured edge v - w to its two-coloured star.
        for k in range(indptr[v], indptr[v + 1]):
            w = indices[k]
            cw = color[w]
            if cw < 0:
                continue
            for kk in range(indptr[w], indptr[w + 1]):
                x = indices[kk]
                if x != v and color[x] == c:  # v - w - x: a star around hub w
                    s = star[edge[kk]]
                    hub[s] = w
                    star[edge[k]] = s
                    break
            else:
                q, edge_vq = first[cw]
                if q != w:  # w - v - q: a star around hub v
                    s = star[edge_vq]
                    hub[s] = v
                    star[edge[k]] = s
                else:
                    hub.append(-1 - v)
                    star[edge[k]] = len(hub) - 1
    return np.array(color, dtype=np.int64)


def star_coloring(pattern: Pattern, order: str = "auto") -> np.ndarray:
    """Star-colour a symmetric (n, n) Hessian pattern (diagonal stored or not).

    Adjacent vertices get different colours and every path on four vertices uses at least three
    colours, which lets ``recover_star`` read all of H from the c HVPs ``H @ seeds(colors).T``.

    >>> import numpy as np
    >>> arrow = np.eye(5, dtype=bool); arrow[0, :] = arrow[:, 0] = True
    >>> star_coloring(arrow).tolist()
    [0, 1, 1, 1, 1]
    """
    _check_order(order)
    if order == "dsatur":
        raise ValueError(
            "order='dsatur' is for column and row colourings; star_coloring takes 'auto', "
            "'natural', 'largest_first' or 'smallest_last'."
        )
    g, mirror = _symmetric_graph(pattern)
    n = g.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if order != "auto":
        return _greedy_star(g, mirror, _static_order(g, order))
    if n <= AUTO_FULL_LIMIT:
        candidates = ["natural", "largest_first", "smallest_last"]
    else:
        # Degree order only pays when degrees vary (hubs, arrow-heads); on stencils it is natural
        # order reshuffled at the boundary, at twice the cost.
        deg = np.diff(g.indptr)
        spread = deg.max() > 2 * np.median(deg) + 2
        candidates = ["natural", "largest_first"] if spread else ["natural"]
    best = None
    for name in candidates:
        colors = _greedy_star(g, mirror, _static_order(g, name))
        if best is None or _ncolors(colors) < _ncolors(best):
            best = colors
    return best


# ----------------------------------------------------------------------------------------------
# Validators
# ----------------------------------------------------------------------------------------------

def check_column_coloring(pattern: Pattern, colors: ArrayLike) -> None:
    """Raise ValueError naming two columns of one colour that share a row; return None if valid.

    >>> import numpy as np
    >>> check_column_coloring(np.eye(3, dtype=bool), [0, 0, 0])
    """
    p = _as_pattern(pattern)
    colors = _as_colors(colors, p.shape[1], "column")
    m = p.shape[0]
    c = _ncolors(colors)
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(p.indptr))
    key = rows * c + colors[p.indices]
    if m * c <= 4 * key.size + 1024:
        clash = np.bincount(key, minlength=m * c)[key] > 1
    else:  # many colours: avoid an m * c table
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        clash = counts[inverse] > 1
    if clash.any():
        first = np.flatnonzero(clash)[0]
        row, colour = int(rows[first]), int(colors[p.indices[first]])
        row_cols = p.indices[p.indptr[row]:p.indptr[row + 1]]
        j, k = (int(v) for v in row_cols[colors[row_cols] == colour][:2])
        raise ValueError(
            f"invalid column colouring: columns {j} and {k} both have colour {colour} and a "
            f"nonzero in row {row}, so their JVP results would mix. Give them different colours "
            f"(column_coloring(pattern) builds a valid one)."
        )


def check_star_coloring(pattern: Pattern, colors: ArrayLike) -> None:
    """Raise ValueError naming an edge or a two-coloured 4-vertex path; return None if valid.

    >>> import numpy as np
    >>> path = np.eye(4, k=1, dtype=bool) | np.eye(4, k=-1, dtype=bool)
    >>> check_star_coloring(path, [0, 1, 0, 2])
    """
    g, _ = _symmetric_graph(pattern)
    n = g.shape[0]
    colors = _as_colors(colors, n, "row/column")
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(g.indptr))
    cols = g.indices.astype(np.int64)
    same = np.flatnonzero(colors[rows] == colors[cols])
    if same.size:
        i, j = int(rows[same[0]]), int(cols[same[0]])
        raise ValueError(
            f"invalid star colouring: adjacent vertices {i} and {j} share colour {int(colors[i])}. "
            f"Use star_coloring(pattern) to build a valid one."
        )
    if not rows.size:
        return
    unique_ij = _unique_neighbour_color(rows, cols, colors, n)
    # (i, j) is recoverable if i sees colour[j] only at j, or j sees colour[i] only at i;
    # failing both is exactly a two-coloured path k - i - j - l.
    unique_ji = _unique_neighbour_color(cols, rows, colors, n)
    bad = np.flatnonzero(~unique_ij & ~unique_ji)
    if bad.size:
        i, j = int(rows[bad[0]]), int(cols[bad[0]])
        nb_i = g.indices[g.indptr[i]:g.indptr[i + 1]]
        nb_j = g.indices[g.indptr[j]:g.indptr[j + 1]]
        k = int(nb_i[(colors[nb_i] == colors[j]) & (nb_i != j)][0])
        l = int(nb_j[(colors[nb_j] == colors[i]) & (nb_j != i)][0])
        raise ValueError(
            f"invalid star colouring: the path {k} - {i} - {j} - {l} uses only colours "
            f"{int(colors[j])} and {int(colors[i])}, so H[{i}, {j}] cannot be read from the HVPs. "
            f"Use star_coloring(pattern) to build a valid one."
        )


def _unique_neighbour_color(rows, cols, colors, n):
    """For each entry (i, j): is j the only neighbour of i with colour colors[j]?"""
    c = _ncolors(colors)
    key = rows * c + colors[cols]
    counts = np.bincount(key, minlength=n * c) if n * c <= 4 * key.size + 1024 else None
    if counts is not None:
        return counts[key] == 1
    # Many colours: count through unique keys rather than an n * c table.
    uniq, inverse, cnt = np.unique(key, return_inverse=True, return_counts=True)
    return cnt[inverse] == 1


# ----------------------------------------------------------------------------------------------
# Seeds and recovery
# ----------------------------------------------------------------------------------------------

def seeds(colors: ArrayLike) -> np.ndarray:
    """The (c, n) float64 block whose row k is the 0/1 indicator of colour k.

    >>> seeds([0, 1, 0]).tolist()
    [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    colors = _as_colors(colors, np.size(colors), "vertex")
    n = colors.size
    out = np.zeros((_ncolors(colors), n), dtype=np.float64)
    out[colors, np.arange(n)] = 1.0
    return out


@dataclass(frozen=True)
class Recovery:
    """A recovery plan: where each stored entry of the derivative sits in the compressed block.

    Built once per (pattern, colouring) by ``column_recovery``, ``row_recovery`` or
    ``star_recovery`` (which also validate the colouring); calling it on a compressed block of shape
    ``(ncolors, length)`` is one ``np.take``, which is what a solver pays at every iterate.

    >>> import numpy as np
    >>> J = np.array([[1., 2, 0], [0, 3, 4]]); colors = column_coloring(J != 0)
    >>> plan = column_recovery(J != 0, colors)
    >>> plan(seeds(colors) @ J.T).toarray().tolist()
    [[1.0, 2.0, 0.0], [0.0, 3.0, 4.0]]
    """

    shape: tuple[int, int]  # of the recovered matrix
    ncolors: int
    length: int  # of one compressed row: m for JVPs, n for VJPs and HVPs
    indices: np.ndarray  # canonical csr structure of the pattern
    indptr: np.ndarray
    source: np.ndarray  # flat index into compressed of each stored entry, in csr order
    length_name: str = "n"  # for error messages: "m" (JVP outputs) or "n"

    def __call__(self, compressed: ArrayLike, workers: int = 1) -> sp.csr_array:
        """The matrix from a compressed block; ``workers`` threads share the
        gather of a large one (NumPy's take releases the GIL)."""
        compressed = np.asarray(compressed, dtype=np.float64)
        if compressed.shape != (self.ncolors, self.length):
            raise ValueError(
                f"compressed must have shape (ncolors, {self.length_name}) = "
                f"({self.ncolors}, {self.length}) -- one row per colour, batch first -- got "
                f"{compressed.shape}."
            )
        if workers > 1 and self.source.size >= 1_000_000:
            data = np.empty(self.source.size)
            bounds = np.linspace(0, self.source.size, workers + 1).astype(np.int64)

            def part(i):
                a, b = bounds[i], bounds[i + 1]
                np.take(compressed, self.source[a:b], out=data[a:b])

            with ThreadPoolExecutor(workers) as pool:
                list(pool.map(part, range(workers)))
        else:
            data = np.take(compressed, self.source)
        # Fresh index arrays: a caller (or SciPy) may modify a returned matrix in place.
        return sp.csr_array((data, self.indices.copy(), self.indptr.copy()), shape=self.shape)


def column_recovery(pattern: Pattern, colors: ArrayLike) -> Recovery:
    """Plan reading J (m, n) from the c JVPs ``compressed[k] = J @ seeds(colors)[k]``.

    Raises ValueError if ``colors`` is not a valid column colouring of ``pattern``.

    >>> plan = column_recovery([[True, False], [True, True]], [0, 1])
    >>> plan([[1.0, 2.0], [0.0, 3.0]]).toarray().tolist()
    [[1.0, 0.0], [2.0, 3.0]]
    """
    p = _as_pattern(pattern)
    m, n = p.shape
    colors = _as_colors(colors, n, "column")
    check_column_coloring(p, colors)
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(p.indptr))
    source = colors[p.indices] * m + rows
    return Recovery((m, n), _ncolors(colors), m, p.indices, p.indptr, source, length_name="m")


def row_recovery(pattern: Pattern, row_colors: ArrayLike) -> Recovery:
    """Plan reading J (m, n) from the c VJPs ``compressed[k] = seeds(row_colors)[k] @ J``.

    >>> plan = row_recovery([[True, False], [True, True]], [0, 1])
    >>> plan([[1.0, 0.0], [2.0, 3.0]]).toarray().tolist()
    [[1.0, 0.0], [2.0, 3.0]]
    """
    p = _as_pattern(pattern)
    m, n = p.shape
    row_colors = _as_colors(row_colors, m, "row")
    check_column_coloring(sp.csr_array(p.T), row_colors)
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(p.indptr))
    source = row_colors[rows] * n + p.indices
    return Recovery((m, n), _ncolors(row_colors), n, p.indices, p.indptr, source)


def star_recovery(pattern: Pattern, colors: ArrayLike) -> Recovery:
    """Plan reading a symmetric H (n, n) from the c HVPs ``compressed[k] = H @ seeds(colors)[k]``.

    Raises ValueError if the pattern is not symmetric or ``colors`` is not a star colouring.

    >>> plan = star_recovery([[True, True], [True, False]], [0, 1])
    >>> plan([[5.0, 1.0], [1.0, 0.0]]).toarray().tolist()
    [[5.0, 1.0], [1.0, 0.0]]
    """
    full = _as_pattern(pattern)
    _check_square(full)
    mirror = _mirror(full)
    if mirror is None:
        _raise_not_symmetric(full)
    n = full.shape[0]
    colors = _as_colors(colors, n, "row/column")
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(full.indptr))
    cols = full.indices.astype(np.int64)
    if np.any((colors[rows] == colors[cols]) & (rows != cols)):
        check_star_coloring(full, colors)  # raises, naming the same-coloured neighbours
    # unique[k] for entry (i, j): j is i's only neighbour with colour[j]. Counting the diagonal
    # entry too is harmless: it has i's own colour, which no neighbour has.
    unique = _unique_neighbour_color(rows, cols, colors, n)
    # Read each unordered pair {lo, hi} from one source so that H[i, j] and H[j, i] are the same
    # float: row lo of the HVP for colour[hi] if lo sees that colour only at hi, otherwise row hi
    # of the HVP for colour[lo] (a star colouring guarantees one of the two). On the diagonal both
    # read (H s_colour[i])[i], which is H[i, i].
    upper = rows <= cols
    direct = np.where(upper, unique, unique[mirror])  # "lo sees colour[hi] only at hi"
    if not np.all(direct | np.where(upper, unique[mirror], unique)):
        check_star_coloring(full, colors)  # raises, naming the two-coloured path
    lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
    source = np.where(direct, colors[hi] * n + lo, colors[lo] * n + hi)
    return Recovery((n, n), _ncolors(colors), n, full.indices, full.indptr, source)


def recover_columns(pattern: Pattern, colors: ArrayLike, compressed: ArrayLike) -> sp.csr_array:
    """J as csr_array (m, n) from ``compressed[k] = J @ seeds(colors)[k]`` (shape (c, m)).

    The result has exactly the pattern's structure (stored zeros kept) in canonical format.
    To recover many times with one pattern, build ``column_recovery(pattern, colors)`` once.

    >>> import numpy as np
    >>> J = np.array([[1., 2, 0], [0, 3, 4]]); colors = column_coloring(J != 0)
    >>> recover_columns(J != 0, colors, seeds(colors) @ J.T).toarray().tolist()
    [[1.0, 2.0, 0.0], [0.0, 3.0, 4.0]]
    """
    return column_recovery(pattern, colors)(compressed)


def recover_rows(pattern: Pattern, row_colors: ArrayLike,
                 compressed: ArrayLike) -> sp.csr_array:
    """J as csr_array (m, n) from ``compressed[k] = seeds(row_colors)[k] @ J`` (shape (c, n)).

    >>> import numpy as np
    >>> J = np.array([[1., 2, 0], [0, 0, 4]]); rc = row_coloring(J != 0)
    >>> recover_rows(J != 0, rc, seeds(rc) @ J).toarray().tolist()
    [[1.0, 2.0, 0.0], [0.0, 0.0, 4.0]]
    """
    return row_recovery(pattern, row_colors)(compressed)


def recover_star(pattern: Pattern, colors: ArrayLike, compressed: ArrayLike) -> sp.csr_array:
    """Symmetric H as csr_array (n, n) from ``compressed[k] = H @ seeds(colors)[k]`` (shape (c, n)).

    The result has exactly the pattern's structure (diagonal entries where the pattern stores
    them, stored zeros kept) in canonical format. ``colors`` must be a star colouring.

    >>> import numpy as np
    >>> H = np.array([[2., 1, 1], [1, 3, 0], [1, 0, 4]]); colors = star_coloring(H != 0)
    >>> recover_star(H != 0, colors, seeds(colors) @ H).toarray().tolist()
    [[2.0, 1.0, 1.0], [1.0, 3.0, 0.0], [1.0, 0.0, 4.0]]
    """
    return star_recovery(pattern, colors)(compressed)
