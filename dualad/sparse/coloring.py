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
  Jacobian?", SIAM Review 47(4), Algorithm 4.1). Symmetry is what makes it cheaper than a
  distance-2 colouring: an arrow-head Hessian needs 2 colours instead of n, because each
  off-diagonal entry H[i, j] needs to be isolated in only one of its two copies H[i, j], H[j, i].

Orders (the ``order=`` argument; a greedy colouring gives each vertex, in that order, the smallest
colour its constraints allow)
- ``"natural"``: vertices 0, 1, ..., n-1. Cheapest; optimal on banded patterns.
- ``"largest_first"``: by decreasing degree (ties by index): hubs first, so an arrow-head's hub
  takes colour 0 and all its leaves share colour 1.
- ``"smallest_last"``: repeatedly remove a vertex of smallest remaining degree and colour in reverse
  removal order (Matula & Beck); never needs more than the graph's degeneracy + 1 colours.
- ``"dsatur"`` (column and row colourings only): Brelaz's dynamic order -- next is the uncoloured
  vertex seeing the most distinct colours (ties: larger degree, then smaller index). It is the one
  order here that finds the optimal 5 colours of the 2-D five-point stencil, where static orders
  give 6 or 7.
- ``"auto"``: tries the orders above and keeps the fewest colours (first one listed on ties). Above
  ``AUTO_FULL_LIMIT`` vertices it only tries the linear-time orders (natural, largest_first, and
  dsatur for column/row colourings), since smallest-last needs a heap pass.
"""

from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sp

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
    "AUTO_FULL_LIMIT",
]

# Above this many vertices "auto" skips smallest-last (a heap pass in Python).
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

def _intersection_graph(p: sp.csr_array) -> sp.csr_array:
    """Adjacency (n, n) of the column-intersection graph: pattern of P^T P without its diagonal."""
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
    deg = np.diff(g.indptr).tolist()
    indices, indptr = g.indices.tolist(), g.indptr.tolist()
    removed = [False] * n
    heap = [(d, v) for v, d in enumerate(deg)]
    heapq.heapify(heap)
    removal = []
    while heap:
        d, v = heapq.heappop(heap)
        if removed[v] or d != deg[v]:
            continue  # a stale heap entry; the vertex has a newer one
        removed[v] = True
        removal.append(v)
        for w in indices[indptr[v]:indptr[v + 1]]:
            if not removed[w]:
                deg[w] -= 1
                heapq.heappush(heap, (deg[w], w))
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


def _best_distance1(g: sp.csr_array, order: str) -> np.ndarray:
    _check_order(order)
    n = g.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if order == "dsatur":
        return _dsatur(g)
    if order != "auto":
        return _greedy_distance1(g, _static_order(g, order))
    if n <= AUTO_FULL_LIMIT:
        candidates = ["natural", "largest_first", "dsatur", "smallest_last"]
    else:
        candidates = ["dsatur", "natural"]
    best = None
    for name in candidates:
        colors = _dsatur(g) if name == "dsatur" else _greedy_distance1(g, _static_order(g, name))
        if best is None or _ncolors(colors) < _ncolors(best):
            best = colors
    return best


# ----------------------------------------------------------------------------------------------
# Public colourings
# ----------------------------------------------------------------------------------------------

def column_coloring(pattern, order: str = "auto") -> np.ndarray:
    """Colour the columns of an (m, n) pattern so that no two columns of one colour share a row.

    Returns an int64 array of length n with colours 0..c-1. Then ``J @ seeds(colors).T`` (c JVPs)
    holds every nonzero of J, recovered by ``recover_columns``.

    >>> import numpy as np, scipy.sparse as sp
    >>> tridiagonal = sp.diags_array([1, 1, 1], offsets=[-1, 0, 1], shape=(6, 6), dtype=bool)
    >>> column_coloring(tridiagonal).tolist()
    [0, 1, 2, 0, 1, 2]
    """
    p = _as_pattern(pattern)
    return _best_distance1(_intersection_graph(p), order)


def row_coloring(pattern, order: str = "auto") -> np.ndarray:
    """Colour the rows of an (m, n) pattern so that no two rows of one colour share a column.

    Returns an int64 array of length m; recover with ``recover_rows`` from c VJPs
    ``seeds(row_colors) @ J``.

    >>> import numpy as np
    >>> row_coloring(np.array([[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]], bool)).tolist()
    [0, 1, 1, 1]
    """
    p = _as_pattern(pattern)
    return _best_distance1(_intersection_graph(sp.csr_array(p.T)), order)


def _symmetric_graph(pattern, name: str = "pattern") -> sp.csr_array:
    p = _as_pattern(pattern, name)
    if p.shape[0] != p.shape[1]:
        raise ValueError(
            f"star colouring needs a square symmetric (n, n) Hessian pattern, got shape {p.shape}. "
            f"For a Jacobian use column_coloring or row_coloring."
        )
    g = _strip_diagonal(p)
    asym = g != g.T
    if asym.nnz:
        coo = asym.tocoo()
        i, j = int(coo.row[0]), int(coo.col[0])
        raise ValueError(
            f"star colouring needs a symmetric pattern, but entry ({i}, {j}) is "
            f"{'stored' if g[i, j] else 'missing'} while ({j}, {i}) is "
            f"{'stored' if g[j, i] else 'missing'}. Symmetrise it first, e.g. pattern + pattern.T."
        )
    return g


def _greedy_star(g: sp.csr_array, order: np.ndarray) -> np.ndarray:
    # GMP 2005, Algorithm 4.1, with one change for speed: "does x have a neighbour y != w coloured
    # like w" is read from a bit mask of the colours seen at least twice around x (w itself is one
    # of them) instead of scanning x's neighbours, so a vertex costs O(deg^2) rather than O(deg^3).
    n = g.shape[0]
    indices, indptr = g.indices.tolist(), g.indptr.tolist()
    color = [-1] * n
    seen_once = [0] * n  # bit c set: some neighbour has colour c
    seen_twice = [0] * n  # bit c set: at least two neighbours have colour c
    for v in order.tolist():
        forbidden = 0
        nbrs = indices[indptr[v]:indptr[v + 1]]
        for w in nbrs:
            cw = color[w]
            if cw >= 0:
                forbidden |= 1 << cw
                for x in indices[indptr[w]:indptr[w + 1]]:
                    cx = color[x]
                    # v - w - x - y would be a two-coloured path on four vertices.
                    if cx >= 0 and x != v and (seen_twice[x] >> cw) & 1:
                        forbidden |= 1 << cx
            else:
                # v and x would be two same-coloured neighbours of an uncoloured w.
                for x in indices[indptr[w]:indptr[w + 1]]:
                    cx = color[x]
                    if cx >= 0 and x != v:
                        forbidden |= 1 << cx
        c = _lowest_free(forbidden)
        color[v] = c
        bit = 1 << c
        for w in nbrs:
            if seen_once[w] & bit:
                seen_twice[w] |= bit
            else:
                seen_once[w] |= bit
    return np.array(color, dtype=np.int64)


def star_coloring(pattern, order: str = "auto") -> np.ndarray:
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
    g = _symmetric_graph(pattern)
    n = g.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if order != "auto":
        return _greedy_star(g, _static_order(g, order))
    candidates = ["natural", "largest_first"]
    if n <= AUTO_FULL_LIMIT:
        candidates.append("smallest_last")
    best = None
    for name in candidates:
        colors = _greedy_star(g, _static_order(g, name))
        if best is None or _ncolors(colors) < _ncolors(best):
            best = colors
    return best


# ----------------------------------------------------------------------------------------------
# Validators
# ----------------------------------------------------------------------------------------------

def check_column_coloring(pattern, colors) -> None:
    """Raise ValueError naming two columns of one colour that share a row; return None if valid.

    >>> import numpy as np
    >>> check_column_coloring(np.eye(3, dtype=bool), [0, 0, 0])
    """
    p = _as_pattern(pattern)
    colors = _as_colors(colors, p.shape[1], "column")
    rows = np.repeat(np.arange(p.shape[0], dtype=np.int64), np.diff(p.indptr))
    key_color = colors[p.indices]
    order = np.lexsort((key_color, rows))
    r, c = rows[order], key_color[order]
    dup = np.flatnonzero((r[1:] == r[:-1]) & (c[1:] == c[:-1]))
    if dup.size:
        k = dup[0]
        cols = p.indices[order]
        raise ValueError(
            f"invalid column colouring: columns {int(cols[k])} and {int(cols[k + 1])} both have "
            f"colour {int(c[k])} and a nonzero in row {int(r[k])}, so their JVP results would mix. "
            f"Give them different colours (column_coloring(pattern) builds a valid one)."
        )


def check_star_coloring(pattern, colors) -> None:
    """Raise ValueError naming an edge or a two-coloured 4-vertex path; return None if valid.

    >>> import numpy as np
    >>> path = np.eye(4, k=1, dtype=bool) | np.eye(4, k=-1, dtype=bool)
    >>> check_star_coloring(path, [0, 1, 0, 2])
    """
    g = _symmetric_graph(pattern)
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

def seeds(colors) -> np.ndarray:
    """The (c, n) float64 block whose row k is the 0/1 indicator of colour k.

    >>> seeds([0, 1, 0]).tolist()
    [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    colors = _as_colors(colors, np.size(colors), "vertex")
    n = colors.size
    out = np.zeros((_ncolors(colors), n), dtype=np.float64)
    out[colors, np.arange(n)] = 1.0
    return out


def _check_compressed(compressed, c: int, length: int, what: str) -> np.ndarray:
    compressed = np.asarray(compressed, dtype=np.float64)
    if compressed.shape != (c, length):
        raise ValueError(
            f"compressed must have shape (ncolors, {what}) = ({c}, {length}) -- one row per colour, "
            f"batch first -- got {compressed.shape}."
        )
    return compressed


def recover_columns(pattern, colors, compressed) -> sp.csr_array:
    """J as csr_array (m, n) from ``compressed[k] = J @ seeds(colors)[k]`` (shape (c, m)).

    The result has exactly the pattern's structure (stored zeros kept) in canonical format.

    >>> import numpy as np
    >>> J = np.array([[1., 2, 0], [0, 3, 4]]); colors = column_coloring(J != 0)
    >>> recover_columns(J != 0, colors, seeds(colors) @ J.T).toarray().tolist()
    [[1.0, 2.0, 0.0], [0.0, 3.0, 4.0]]
    """
    p = _as_pattern(pattern)
    m, n = p.shape
    colors = _as_colors(colors, n, "column")
    compressed = _check_compressed(compressed, _ncolors(colors), m, "m")
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(p.indptr))
    data = compressed[colors[p.indices], rows]
    return sp.csr_array((data, p.indices.copy(), p.indptr.copy()), shape=(m, n))


def recover_rows(pattern, row_colors, compressed) -> sp.csr_array:
    """J as csr_array (m, n) from ``compressed[k] = seeds(row_colors)[k] @ J`` (shape (c, n)).

    >>> import numpy as np
    >>> J = np.array([[1., 2, 0], [0, 0, 4]]); rc = row_coloring(J != 0)
    >>> recover_rows(J != 0, rc, seeds(rc) @ J).toarray().tolist()
    [[1.0, 2.0, 0.0], [0.0, 0.0, 4.0]]
    """
    p = _as_pattern(pattern)
    m, n = p.shape
    row_colors = _as_colors(row_colors, m, "row")
    compressed = _check_compressed(compressed, _ncolors(row_colors), n, "n")
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(p.indptr))
    data = compressed[row_colors[rows], p.indices]
    return sp.csr_array((data, p.indices.copy(), p.indptr.copy()), shape=(m, n))


def recover_star(pattern, colors, compressed) -> sp.csr_array:
    """Symmetric H as csr_array (n, n) from ``compressed[k] = H @ seeds(colors)[k]`` (shape (c, n)).

    The result has exactly the pattern's structure (diagonal entries where the pattern stores
    them, stored zeros kept) in canonical format. ``colors`` must be a star colouring.

    >>> import numpy as np
    >>> H = np.array([[2., 1, 1], [1, 3, 0], [1, 0, 4]]); colors = star_coloring(H != 0)
    >>> recover_star(H != 0, colors, seeds(colors) @ H).toarray().tolist()
    [[2.0, 1.0, 1.0], [1.0, 3.0, 0.0], [1.0, 0.0, 4.0]]
    """
    full = _as_pattern(pattern)
    n = full.shape[0]
    if full.shape[0] != full.shape[1]:
        _symmetric_graph(full)  # raises the explanatory error
    colors = _as_colors(colors, n, "row/column")
    compressed = _check_compressed(compressed, _ncolors(colors), n, "n")
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(full.indptr))
    cols = full.indices.astype(np.int64)
    data = compressed[colors[cols], rows]  # right for the diagonal: H[i, i] = (H s_colour[i])[i]
    offdiag = np.flatnonzero(rows != cols)
    if offdiag.size:
        r, c = rows[offdiag], cols[offdiag]
        if np.any(colors[r] == colors[c]):
            check_star_coloring(full, colors)  # raises, naming the same-coloured neighbours
        # Counting all stored entries of row i (its diagonal has i's own colour, which differs
        # from every neighbour's) tells whether j is i's only neighbour with colour[j].
        unique = _unique_neighbour_color(rows, cols, colors, n)[offdiag]
        keys = r * n + c  # sorted: full is canonical csr
        mirror = np.searchsorted(keys, c * n + r)
        mirror = np.minimum(mirror, keys.size - 1)
        if np.any(keys[mirror] != c * n + r):
            _symmetric_graph(full)  # raises, naming an unmatched entry
        # Read each unordered pair {lo, hi} from one source so that H[i, j] and H[j, i] are the
        # same float: row lo of the HVP for colour[hi] if lo sees that colour only at hi,
        # otherwise row hi of the HVP for colour[lo] (a star colouring guarantees one of the two).
        upper = r < c
        direct = np.where(upper, unique, unique[mirror])  # "lo sees colour[hi] only at hi"
        if not np.all(direct | np.where(upper, unique[mirror], unique)):
            check_star_coloring(full, colors)  # raises, naming the two-coloured path
        lo, hi = np.minimum(r, c), np.maximum(r, c)
        data[offdiag] = np.where(direct, compressed[colors[hi], lo], compressed[colors[lo], hi])
    return sp.csr_array((data, full.indices.copy(), full.indptr.copy()), shape=(n, n))
