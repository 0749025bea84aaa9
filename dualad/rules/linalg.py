"""Linear algebra: matmul, einsum, solve, inv, det, slogdet, cholesky, eigh, norm.

``matmul`` and ``einsum`` are primitives; ``dot``, ``tensordot``, ``inner``,
``outer``, ``vdot``, ``trace``, ``diagonal``, ``diag``, ``tril`` and ``triu``
are built on them and on the shape primitives.

Conventions:
* ``cholesky`` and ``eigh`` read only one triangle of their input, so they
  are differentiated as functions of the *symmetric part* ``(A + Aᵀ)/2``:
  tangents are symmetrised before use and cotangents come out symmetric.
* ``eigh`` assumes distinct eigenvalues (its derivative is undefined at a
  repeated one and comes out infinite there).
* ``norm`` (2-norm / Frobenius) has derivative 0 at 0, a subgradient.
"""

from __future__ import annotations

import string

import numpy as np

from ..core import Box, Primitive, ndim_of, primal, register, shape_of, unbroadcast
from .reductions import _keepdims_shape, normalize_axes, sum_p
from .shape import (Index, getitem, moveaxis, reshape, scatter_add_p, swapaxes,
                    transpose)


def _mT(x):
    return swapaxes(x, -1, -2)


def _sym(t):
    return 0.5 * (t + _mT(t))


# ---- matmul ---------------------------------------------------------------------
def _promoted(a, b):
    """Shapes of a and b as matmul sees them (1-D operands made matrices)."""
    sa, sb = shape_of(a), shape_of(b)
    sa2 = (1,) + sa if len(sa) == 1 else sa
    sb2 = sb + (1,) if len(sb) == 1 else sb
    return sa2, sb2


def _matmul_tangent(t, a, b, which):
    """The tangent ``t_a @ b`` (which=0) or ``a @ t_b`` (which=1), with any
    leading batch axes of ``t`` kept in front of the result."""
    x = a if which == 0 else b
    bd = ndim_of(t) - ndim_of(x)
    if not bd:
        return matmul_p(t, b) if which == 0 else matmul_p(a, t)
    lead = shape_of(t)[:bd]
    na, nb = ndim_of(a), ndim_of(b)
    if bd == 1 and na <= 2 and nb <= 2:
        # k directions as one matrix product instead of k stacked ones.
        if which == 1 and na == 2 and nb == 1:    # A @ t_b: (k, n) @ Aᵀ -> (k, m)
            return matmul_p(t, _mT(a))
        if which == 0 and na == 1:                 # t_a @ b: (k, n) @ b
            return matmul_p(t, b)
        if which == 0 and na == 2:                 # t_a @ b: (k·m, n) @ b
            k, m, n = shape_of(t)
            r = matmul_p(reshape(t, (k * m, n)), b)
            return reshape(r, (k, m) + shape_of(b)[1:])
    sa2, sb2 = _promoted(a, b)
    own, other = (sa2, sb2) if which == 0 else (sb2, sa2)
    batch_rank = max(len(own), len(other)) - 2
    t2 = reshape(t, lead + (1,) * (batch_rank - (len(own) - 2)) + own)
    other_val = a if which == 1 else b
    other_val = reshape(other_val, other) if shape_of(other_val) != other else other_val
    r = matmul_p(t2, other_val) if which == 0 else matmul_p(other_val, t2)
    out_shape = np.broadcast_shapes(sa2[:-2], sb2[:-2]) + (sa2[-2], sb2[-1])
    want = out_shape[:-2] + ((sa2[-2],) if len(shape_of(a)) > 1 else ()) + \
        ((sb2[-1],) if len(shape_of(b)) > 1 else ())
    return reshape(r, lead + want)


def _matmul_vjp(g, a, b, which):
    sa2, sb2 = _promoted(a, b)
    full = np.broadcast_shapes(sa2[:-2], sb2[:-2]) + (sa2[-2], sb2[-1])
    g2 = reshape(g, full)
    if which == 0:
        ga = matmul_p(g2, _mT(reshape(b, sb2)))
        return reshape(unbroadcast(ga, sa2), shape_of(a))
    gb = matmul_p(_mT(reshape(a, sa2)), g2)
    return reshape(unbroadcast(gb, sb2), shape_of(b))


matmul_p = Primitive(
    "matmul", np.matmul,
    jvp=(lambda t, out, a, b: _matmul_tangent(t, a, b, 0),
         lambda t, out, a, b: _matmul_tangent(t, a, b, 1)),
    vjp=(lambda g, out, a, b: _matmul_vjp(g, a, b, 0),
         lambda g, out, a, b: _matmul_vjp(g, a, b, 1)))


def matmul(a, b, **kwargs):
    if kwargs.get("out") is not None:
        raise TypeError("dualad cannot write np.matmul's result in place (out=...)")
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    return matmul_p(a, b)


def dot(a, b, out=None):
    if out is not None:
        raise TypeError("dualad cannot write np.dot's result in place (out=...)")
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return a * b
    if nb <= 2:
        return matmul_p(a, b) if na <= 2 or nb == 1 else tensordot(a, b, ([-1], [0]))
    return tensordot(a, b, ([-1], [-2]))


def tensordot(a, b, axes=2):
    na, nb = ndim_of(a), ndim_of(b)
    if np.ndim(axes) == 0:
        axes = (list(range(na - axes, na)), list(range(axes)))
    ax_a, ax_b = axes
    ax_a = [ax_a] if np.ndim(ax_a) == 0 else list(ax_a)
    ax_b = [ax_b] if np.ndim(ax_b) == 0 else list(ax_b)
    ax_a = [x % na for x in ax_a]
    ax_b = [x % nb for x in ax_b]
    sa, sb = shape_of(a), shape_of(b)
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [i for i in range(nb) if i not in ax_b]
    n_sum = int(np.prod([sa[i] for i in ax_a]))
    a2 = reshape(transpose(a, free_a + ax_a), (-1, n_sum))
    b2 = reshape(transpose(b, ax_b + free_b), (n_sum, -1))
    return reshape(matmul_p(a2, b2), tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


def inner(a, b):
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return a * b
    return tensordot(a, b, ([-1], [-1]))


def outer(a, b, out=None):
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def vdot(a, b):
    return sum_p(reshape(a, (-1,)) * reshape(b, (-1,)), axis=(-1,), keepdims=False)


register(np.matmul, matmul)
register(np.dot, dot)
register(np.tensordot, tensordot)
register(np.inner, inner)
register(np.outer, outer)
register(np.vdot, vdot)
if hasattr(np, "vecdot"):
    register(np.vecdot, lambda x1, x2, axis=-1: sum_p(x1 * x2, axis=(axis if axis < 0 else axis - max(ndim_of(x1), ndim_of(x2)),), keepdims=False))


# ---- einsum ---------------------------------------------------------------------
def _parse_einsum(subscripts: str, shapes):
    subscripts = subscripts.replace(" ", "")
    ins, arrow, out = subscripts.partition("->")
    ins = ins.split(",")
    if len(ins) != len(shapes):
        raise ValueError("einsum: number of subscripts does not match the number of operands")
    used = {c for c in subscripts if c.isalpha()}
    free = [c for c in string.ascii_letters if c not in used]
    ell_nd = max([len(s) - (len(sub) - 3) for sub, s in zip(ins, shapes) if "..." in sub] or [0])
    ell = "".join(free[:ell_nd])
    ins = [sub.replace("...", ell[ell_nd - (len(s) - (len(sub) - 3)):]) if "..." in sub else sub
           for sub, s in zip(ins, shapes)]
    if not arrow:
        joined = "".join(ins)
        out = ell + "".join(sorted(c for c in set(joined) if joined.count(c) == 1 and c not in ell))
    else:
        out = out.replace("...", ell)
    return ins, out


def _spare_letter(ins, out):
    used = set("".join(ins) + out)
    return next(c for c in string.ascii_letters if c not in used)


def _einsum_impl(*ops, ins, out):
    return np.einsum(",".join(ins) + "->" + out, *ops, optimize=len(ops) > 2)


def _einsum_jvp(tangents, out_val, *ops, ins, out):
    result = None
    for i, t in enumerate(tangents):
        if t is None:
            continue
        bd = ndim_of(t) - ndim_of(ops[i])
        ins_i, out_i = list(ins), out
        if bd:
            z = _spare_letter(ins, out)
            ins_i[i] = z + ins_i[i]
            out_i = z + out
        c = einsum_p(*ops[:i], t, *ops[i + 1:], ins=tuple(ins_i), out=out_i)
        result = c if result is None else result + c
    return result


def _einsum_vjp_i(i):
    def rule(g, out_val, *ops, ins, out):
        present = set(out).union(*[set(s) for j, s in enumerate(ins) if j != i])
        target = "".join(c for c in ins[i] if c in present)
        others = [op for j, op in enumerate(ops) if j != i]
        other_subs = [s for j, s in enumerate(ins) if j != i]
        r = einsum_p(g, *others, ins=(out,) + tuple(other_subs), out=target)
        shape = shape_of(ops[i])
        sizes = dict(zip(ins[i], shape))
        # an axis of size 1 that einsum broadcast against the other operands
        spread = tuple(j - len(target) for j, (c, n) in enumerate(zip(target, shape_of(r)))
                       if sizes[c] == 1 and n != 1)
        if spread:
            r = sum_p(r, axis=spread, keepdims=True)
        if target != ins[i]:
            # letters only in this operand were summed out: broadcast back
            r = reshape(r, tuple(n if c in present else 1 for c, n in zip(ins[i], shape)))
            r = np.broadcast_to(r, shape)
        return r
    return rule


def _einsum_vjp(g, out_val, *ops, ins, out):
    return tuple(_einsum_vjp_i(i)(g, out_val, *ops, ins=ins, out=out) for i in range(len(ops)))


einsum_p = Primitive("einsum", _einsum_impl, jvp=_einsum_jvp, vjp=_einsum_vjp)


def einsum(subscripts, *operands, out=None, optimize=False, **kwargs):
    if out is not None:
        raise TypeError("dualad cannot write np.einsum's result in place (out=...)")
    if not isinstance(subscripts, str):
        raise TypeError("dualad supports np.einsum with a subscripts string only")
    ins, outs = _parse_einsum(subscripts, [shape_of(o) for o in operands])
    operands = list(operands)
    for i, sub in enumerate(ins):
        # A letter repeated within one operand ("ii", "iji") takes a
        # diagonal: do that first with np.diagonal, which moves the diagonal
        # to the last axis, so einsum_p only sees distinct letters.
        for c in sub:
            while sub.count(c) > 1:
                p1 = sub.index(c)
                p2 = sub.index(c, p1 + 1)
                operands[i] = diagonal(operands[i], 0, p1, p2)
                sub = sub[:p1] + sub[p1 + 1:p2] + sub[p2 + 1:] + c
        ins[i] = sub
    return einsum_p(*operands, ins=tuple(ins), out=outs)


register(np.einsum, einsum)


# ---- diagonal, trace, diag, tril, triu -----------------------------------------
def diagonal(a, offset=0, axis1=0, axis2=1):
    a = moveaxis(a, [axis1, axis2], [-2, -1])
    rows, cols = shape_of(a)[-2:]
    n = max(0, min(rows - max(0, -offset), cols - max(0, offset)))
    i = np.arange(n) + max(0, -offset)
    j = np.arange(n) + max(0, offset)
    return getitem(a, (Ellipsis, i, j))


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return sum_p(diagonal(a, offset, axis1, axis2), axis=(-1,), keepdims=False)


def diag(v, k=0):
    nd = ndim_of(v)
    if nd == 2:
        return diagonal(v, k)
    if nd != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = shape_of(v)[0]
    size = n + abs(k)
    i = np.arange(n) + max(0, -k)
    j = np.arange(n) + max(0, k)
    return scatter_add_p(v, index=Index((i, j), 2), shape=(size, size))


def _triangle(lower):
    def f(m, k=0):
        dims = shape_of(m)[-2:]  # a 1-D input is broadcast to a square, as NumPy does
        mask = np.tri(*dims, k=k, dtype=bool)
        if not lower:
            mask = ~np.tri(*dims, k=k - 1, dtype=bool)
        return np.where(mask, m, 0.0)
    return f


register(np.diagonal, diagonal)
register(np.trace, trace)
register(np.diag, diag)
register(np.tril, _triangle(True))
register(np.triu, _triangle(False))


# ---- norm -------------------------------------------------------------------------
def _safe(out):
    return np.where(primal(out) == 0, 1.0, out)


def _keep(v, x, axis, keepdims):
    return v if keepdims else reshape(v, _keepdims_shape(shape_of(x), axis))


l2norm_p = Primitive(
    "l2norm", lambda x, axis, keepdims: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)),
    jvp=(lambda t, out, x, axis, keepdims:
         sum_p(x * t, axis=axis, keepdims=keepdims) / _safe(out),),
    vjp=(lambda g, out, x, axis, keepdims: _keep(g / _safe(out), x, axis, keepdims) * x,),
    doc="2-norm over ``axis``; its derivative at 0 is 0 (a subgradient).")


def norm(x, ord=None, axis=None, keepdims=False):
    nd = ndim_of(x)
    if axis is None:
        if ord is None:  # 2-norm of the flattened array, whatever its rank
            return l2norm_p(x, axis=tuple(range(-nd, 0)), keepdims=bool(keepdims))
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))  # then ``ord`` is the vector or the matrix norm's
    axes = normalize_axes(axis, nd)
    if len(axes) == 1:
        if ord is None or ord == 2:
            return l2norm_p(x, axis=axes, keepdims=bool(keepdims))
        if ord == np.inf:
            return np.max(np.abs(x), axis=axes, keepdims=keepdims)
        if ord == -np.inf:
            return np.min(np.abs(x), axis=axes, keepdims=keepdims)
        if ord == 0:
            return np.sum(primal(x) != 0, axis=axes, keepdims=keepdims).astype(float)
        if ord == 1:
            return np.sum(np.abs(x), axis=axes, keepdims=keepdims)
        if isinstance(ord, str):
            raise ValueError(f"Invalid norm order '{ord}' for vectors")
        return np.sum(np.abs(x) ** ord, axis=axes, keepdims=keepdims) ** (1.0 / ord)
    if len(axes) == 2:
        r, c = axes
        if ord in (None, "fro"):
            return l2norm_p(x, axis=axes, keepdims=bool(keepdims))
        if ord in (1, -1, np.inf, -np.inf):
            summed_axis, pick_axis = (r, c) if ord in (1, -1) else (c, r)
            s = np.sum(np.abs(x), axis=summed_axis, keepdims=True)
            pick = np.max if ord > 0 else np.min
            res = pick(s, axis=pick_axis, keepdims=True)
            return res if keepdims else reshape(res, tuple(
                n for i, n in enumerate(shape_of(x)) if i - nd not in axes))
        raise TypeError(f"dualad has no rule for np.linalg.norm with ord={ord!r} "
                        "(it needs singular values)")
    raise ValueError("Improper number of dimensions to norm.")


register(np.linalg.norm, norm)


# ---- solve, inv, det, slogdet ---------------------------------------------------------
def _solve_any(a, rhs, vector: bool):
    """solve(a, rhs) where rhs is a vector (…, n) or a matrix (…, n, m)."""
    if vector:
        return solve_p(a, rhs[..., None])[..., 0]
    return solve_p(a, rhs)


def _align_batched(t, x, nd):
    """A batched tangent ``t`` of ``x`` with unit axes inserted after its
    batch axes, so that its own part has rank ``nd``.  Needed where ``x``
    has fewer broadcast (stack) axes than the other operand: NumPy aligns
    trailing axes, so the batch axis would otherwise meet the other
    operand's stack axes.  Unbatched tangents broadcast by themselves."""
    bd = ndim_of(t) - ndim_of(x)
    if not bd or ndim_of(x) >= nd:
        return t
    s = shape_of(t)
    return reshape(t, s[:bd] + (1,) * (nd - ndim_of(x)) + s[bd:])


def _solve_jvp_a(t, out, a, b):
    # d(A⁻¹b) = -A⁻¹ dA x
    vector = ndim_of(b) == 1
    t = _align_batched(t, a, max(ndim_of(a), ndim_of(out)))
    x_col = out[..., None] if vector else out
    dx = -matmul_p(t, x_col)
    if vector:
        dx = dx[..., 0]
    return _solve_any(a, dx, vector)


def _solve_jvp_b(t, out, a, b):
    return _solve_any(a, _align_batched(t, b, ndim_of(out)), ndim_of(b) == 1)


def _solve_vjp_b(g, out, a, b):
    return unbroadcast(_solve_any(_mT(a), g, ndim_of(b) == 1), shape_of(b))


def _solve_vjp_a(g, out, a, b):
    vector = ndim_of(b) == 1
    gb = _solve_any(_mT(a), g, vector)
    if vector:
        ga = -(gb[..., :, None] * out[..., None, :])
    else:
        ga = -matmul_p(gb, _mT(out))
    return unbroadcast(ga, shape_of(a))


solve_p = Primitive(
    "solve", np.linalg.solve,
    jvp=(_solve_jvp_a, _solve_jvp_b),
    vjp=(_solve_vjp_a, _solve_vjp_b))

inv_p = Primitive(
    "inv", np.linalg.inv,
    jvp=(lambda t, out, a: -matmul_p(matmul_p(out, t), out),),
    vjp=(lambda g, out, a: -matmul_p(matmul_p(_mT(out), g), _mT(out)),))


def _inv_T(a):
    return _mT(inv_p(a))


det_p = Primitive(
    "det", np.linalg.det,
    jvp=(lambda t, out, a: out * sum_p(_inv_T(a) * t, axis=(-2, -1), keepdims=False),),
    vjp=(lambda g, out, a: (g * out)[..., None, None] * _inv_T(a),))

logabsdet_p = Primitive(
    "logabsdet", lambda a: np.linalg.slogdet(a)[1],
    jvp=(lambda t, out, a: sum_p(_inv_T(a) * t, axis=(-2, -1), keepdims=False),),
    vjp=(lambda g, out, a: g[..., None, None] * _inv_T(a),))

_SlogdetResult = type(np.linalg.slogdet(np.eye(1)))
_EighResult = type(np.linalg.eigh(np.eye(1)))


def slogdet(a):
    sign = np.linalg.slogdet(primal(a))[0]
    return _SlogdetResult(sign, logabsdet_p(a))


def solve(a, b):
    return solve_p(a, b)


register(np.linalg.solve, solve)
register(np.linalg.inv, lambda a: inv_p(a))
register(np.linalg.det, lambda a: det_p(a))
register(np.linalg.slogdet, slogdet)


# ---- cholesky ----------------------------------------------------------------------------
def _phi(x):
    """Lower triangle with half the diagonal."""
    n = shape_of(x)[-1]
    return x * (np.tri(n, n, -1) + 0.5 * np.eye(n))


def _cholesky_jvp(t, L, a):
    # dL = L Φ(L⁻¹ dA L⁻ᵀ), dA the symmetric part of t
    y = solve_p(L, _sym(t))
    s = _mT(solve_p(L, _mT(y)))
    return matmul_p(L, _phi(s))


def _cholesky_vjp(g, L, a):
    # adjoint of the JVP: Ā = sym(L⁻ᵀ Φ(Lᵀ L̄) L⁻¹)
    p = _phi(matmul_p(_mT(L), g))
    z = solve_p(_mT(L), p)
    return _sym(_mT(solve_p(_mT(L), _mT(z))))


cholesky_p = Primitive("cholesky", np.linalg.cholesky,
                       jvp=(_cholesky_jvp,), vjp=(_cholesky_vjp,))


def cholesky(a, upper=False):
    L = cholesky_p(a)
    return _mT(L) if upper else L


register(np.linalg.cholesky, cholesky)


# ---- eigh --------------------------------------------------------------------------------
def _gaps(w):
    """F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    n = shape_of(w)[-1]
    eye = np.eye(n, dtype=bool)
    diff = w[..., None, :] - w[..., :, None]
    return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, diff))


def _eigh_jvp(tangents, out, a, UPLO):
    (t,) = tangents
    w, V = out
    m = matmul_p(matmul_p(_mT(V), _sym(t)), V)
    dw = diagonal(m, 0, -2, -1)
    dV = matmul_p(V, _gaps(w) * m)
    return dw, dV


def _eigh_vjp(g, out, a, UPLO):
    gw, gV = g
    w, V = out
    inner_ = 0.0
    if gV is not None:
        inner_ = _gaps(w) * matmul_p(_mT(V), gV)
    if gw is not None:
        n = shape_of(w)[-1]
        inner_ = inner_ + gw[..., :, None] * np.eye(n)
    return (_sym(matmul_p(matmul_p(V, inner_), _mT(V))),)


# ``UPLO`` only says which triangle NumPy reads: it keeps the primal value
# equal to NumPy's; the derivative is that of the symmetric part either way.
eigh_p = Primitive("eigh", lambda a, UPLO: tuple(np.linalg.eigh(a, UPLO)),
                   jvp=_eigh_jvp, vjp=_eigh_vjp, multiple_results=True)


def eigh(a, UPLO="L"):
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    w, V = eigh_p(a, UPLO=UPLO)
    return _EighResult(w, V)


register(np.linalg.eigh, eigh)


# ---- cross products and polynomials -----------------------------------------------------
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """np.cross of 3-vectors along the last axis, from indexing and products."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(a, axisa, -1)
    b = moveaxis(b, axisb, -1)
    if shape_of(a)[-1] != 3 or shape_of(b)[-1] != 3:
        raise TypeError("dualad supports np.cross of 3-vectors only")
    ax, ay, az = (a[..., i] for i in range(3))
    bx, by, bz = (b[..., i] for i in range(3))
    from .shape import stack
    c = stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)
    return moveaxis(c, -1, axisc)


def polyval(p, x):
    """np.polyval by Horner's rule (p and x may both be traced)."""
    if ndim_of(p) != 1:
        raise TypeError("dualad supports np.polyval with a 1-D coefficient array")
    y = p[0] * np.ones_like(primal(x), dtype=float) if ndim_of(x) else p[0] + 0.0 * x
    for k in range(1, shape_of(p)[0]):
        y = y * x + p[k]
    return y


register(np.cross, cross)
register(np.polyval, polyval)
