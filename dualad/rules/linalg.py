"""Linear algebra: matmul, einsum, solve, inv, det, slogdet, cholesky, eigh, qr, norm.

``matmul`` and ``einsum`` are primitives; ``dot``, ``tensordot``, ``inner``,
``outer``, ``vdot``, ``vecdot``, ``matvec``, ``vecmat``, ``multi_dot``,
``matrix_power``, ``trace``, ``diagonal``, ``diag``, ``tril`` and ``triu``
are built on them and on the shape primitives; ``tensorsolve`` and
``tensorinv`` on ``solve`` and ``inv``; ``vector_norm`` on ``norm``'s
vector norms.  ``einsum`` takes the subscripts string and the sublist form.

Conventions:
* ``cholesky``, ``eigh`` and ``eigvalsh`` read only one triangle of their
  input, and are differentiated as the function NumPy computes: of the
  symmetric matrix made from that triangle, ``tril(A) + tril(A, -1)ᵀ``
  (``UPLO='L'``, ``cholesky``) or ``triu(A) + triu(A, 1)ᵀ`` (``UPLO='U'``,
  ``cholesky(upper=True)``).  Entries of the other triangle have derivative 0.
  For complex input the matrix is Hermitian, ``tril(A, -1) + tril(A, -1)ᴴ``
  plus the *real part* of A's diagonal (LAPACK ignores its imaginary part,
  which so has derivative 0 too).
* ``eigh`` assumes distinct eigenvalues (its derivative is undefined at a
  repeated one and comes out infinite there).  Complex eigenvectors are
  defined up to a phase each; the derivative takes the gauge
  ``diag(Vᴴ dV) = 0`` (see the eigh section), exact for every quantity that
  does not depend on the phases.
* ``det`` is differentiable everywhere, singular matrices included.  Its
  derivative, the cofactor matrix, is ``det(A) A⁻ᵀ`` wherever
  ``np.linalg.inv(A)`` succeeds, however ill-conditioned ``A``: det and inv
  come from the same LU factors, and their product is the cofactor matrix
  to rounding relative to its size (a cofactor that is itself tiny, near
  rank n-2, loses relative accuracy).  Where det under- or overflows (0,
  subnormal or inf while ``A`` is invertible) the product is formed as
  ``sign · exp(log|det A| - c) · A⁻ᵀ · eᶜ`` with the constant
  ``c = log|det A|``, so that an entry is 0 or inf only if its value is
  (second derivatives, through A⁻¹ twice, overflow where A⁻¹ ⊗ A⁻¹ does).
  At a matrix singular only to rounding (cond ~ 1/eps) the first
  derivative stays accurate; the second, through A⁻¹, has relative error
  ~ cond·eps.
  Only at an exactly singular matrix (``inv`` raises) does it come from the
  n² minors, O(n⁴) memory and O(n⁵) time; that is supported for
  n <= ``MINORS_MAX_N`` (32) and ``MINORS_MAX_ENTRIES`` minor entries at
  once, beyond which :class:`SingularDerivativeError` is raised.  In a
  stack only the singular matrices take the minors.
* ``slogdet``: the derivative of ``logabsdet`` is ``A⁻ᵀ`` wherever ``inv``
  succeeds.  At an exactly singular matrix ``logabsdet`` is ``-inf`` and its
  derivative ``cofactor(A) / det(A)``, entries ±inf (nan where a cofactor is
  0 too), from the minors with det's limits; ``sign`` has derivative 0.
  For complex ``A`` the sign ``det/|det|`` moves on the unit circle and has
  a derivative (``i · sign · Im tr(A⁻¹ dA)``; 0 at a singular matrix, where
  the sign is 0), and ``logabsdet = Re log det`` has factor ``F = A⁻ᵀ``.
* Empty stacks and 0x0 matrices (det 1, logabsdet 0) have derivatives of
  their own, empty, shape.
* ``norm`` (2-norm / Frobenius) has derivative 0 at 0, a subgradient.
* ``qr`` is differentiated as NumPy computes it: R's diagonal has LAPACK's
  signs (real, of either sign), locally constant except where a column is
  already upper triangular -- there LAPACK leaves it unreflected and the
  sign flips for an arbitrarily close matrix, and the derivative is that of
  the branch taken.  ``mode='complete'`` of a tall matrix has Q's extra
  columns in the gauge ``Q₂ᴴ dQ₂ = 0``; ``mode='raw'`` is refused.  The
  derivative needs R's diagonal free of zeros (the first min(m, n) columns
  independent) and raises LinAlgError otherwise.  See the qr section.

Complex values (JAX's convention, see dualad.rules.elementwise): products,
``solve``, ``inv`` and ``det`` are holomorphic, and their pullbacks use plain
transposes, never conjugate ones -- the pairing ``Re Σ ḡ·t`` has no
conjugation.  ``vdot`` and ``vecdot`` conjugate their first argument, as
NumPy does.  ``norm`` and ``logabsdet`` of complex input are real.
``svd`` and the norms built on it are in :mod:`.spectral`.  ``qr`` takes
complex input (Qᴴ in its rules), and ``vecmat`` conjugates its vector, as
NumPy does.
"""

from __future__ import annotations

import operator
import string

import numpy as np

from ..core import Box, is_complex, ndim_of, note_complex, primal, shape_of, unbroadcast
from ..extend import Primitive, nondiff, refuse, register
from .reductions import _keepdims_shape, normalize_axes, sum_p
from .shape import (Index, astype, concatenate_p, getitem, moveaxis, reshape, scatter_add_p,
                    swapaxes, transpose)


def _mT(x):
    return swapaxes(x, -1, -2)


def _conj(x):
    """conj(x) for a complex ``x``; a real one as it is."""
    return np.conjugate(x) if is_complex(x) else x


def _mH(x):
    """The conjugate transpose over the last two axes (a real ``x``'s transpose)."""
    return _conj(_mT(x))


def _axis(axis, ndim: int) -> int:
    """One axis as a negative index (AxisError when out of range)."""
    return normalize_axes(operator.index(axis), ndim)[0]


def _as_dtype(x, dtype):
    """``x`` cast to the floating or complex ``dtype`` (a traced cast for a
    traced ``x``)."""
    if isinstance(x, Box):
        return astype(x, dtype)
    return np.asarray(x).astype(dtype, copy=False)


def _inexact_dtype(function: str, dtype):
    """``dtype=`` checked: the np.dtype for a floating or complex one,
    ``None`` for an integer or bool one (NumPy's value, no derivative);
    others refused."""
    dtype = np.dtype(dtype)
    if dtype.kind in "fc":
        if dtype.kind == "c":
            note_complex()  # a complex value from real inputs
        return dtype
    if dtype.kind in "biu":
        return None
    refuse(function, "dtype", f"{dtype} results are not differentiated")


def _refuse_out(function: str, out) -> None:
    if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
        refuse(function, "out", "derivatives need every intermediate value; "
               "assign the result to a new variable instead")


def _refuse_gufunc_options(function: str, *, casting, order, subok, signature) -> None:
    if casting != "same_kind":
        refuse(function, "casting")
    if order != "K":
        refuse(function, "order")
    if subok is not True:
        refuse(function, "subok")
    if signature is not None:
        refuse(function, "signature")


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
        if which == 1 and na == 2 and nb == 2:     # A @ t_b, t_b (k, n, p): one product
            k, n, p = shape_of(t)
            m = shape_of(a)[0]
            if p == 1:                             # (k, n) @ Aᵀ -> (k, m), as a column each
                return reshape(matmul_p(reshape(t, (k, n)), _mT(a)), (k, m, 1))
            r = matmul_p(a, reshape(np.transpose(t, (1, 0, 2)), (n, k * p)))
            return np.transpose(reshape(r, (m, k, p)), (1, 0, 2))
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
    if which == 1 and ndim_of(a) == 2 and ndim_of(b) == 1:
        return matmul_p(g, a)  # A @ x: x̄ = ḡ A, one product, no reshapes (grads of A @ x)
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


def matmul(x1, x2, /, out=None, *, axes=None, axis=None, keepdims=False,
           casting="same_kind", order="K", dtype=None, subok=True, signature=None):
    """np.matmul (a gufunc: NumPy hands its keyword arguments through)."""
    _refuse_out("numpy.matmul", out)
    if axes is not None:
        refuse("numpy.matmul", "axes")
    if axis is not None:
        refuse("numpy.matmul", "axis", "NumPy allows it only for one shared core dimension")
    if keepdims:
        refuse("numpy.matmul", "keepdims", "NumPy allows it only for reductions")
    _refuse_gufunc_options("numpy.matmul", casting=casting, order=order, subok=subok,
                           signature=signature)
    if ndim_of(x1) == 0 or ndim_of(x2) == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    if dtype is not None:
        dt = _inexact_dtype("numpy.matmul", dtype)
        if dt is None:  # integer or bool: NumPy's value (or its casting error)
            return np.matmul(primal(x1), primal(x2), dtype=dtype)
        x1, x2 = _as_dtype(x1, dt), _as_dtype(x2, dt)
    return matmul_p(x1, x2)


def dot(a, b, out=None):
    _refuse_out("numpy.dot", out)
    na, nb = ndim_of(a), ndim_of(b)
    if na == 0 or nb == 0:
        return a * b
    if nb <= 2:
        return matmul_p(a, b) if na <= 2 or nb == 1 else tensordot(a, b, ([-1], [0]))
    return tensordot(a, b, ([-1], [-2]))


def tensordot(a, b, axes=2):
    na, nb = ndim_of(a), ndim_of(b)
    sa, sb = shape_of(a), shape_of(b)
    try:
        iter(axes)
    except TypeError:
        axes = operator.index(axes)
        ax_a, ax_b = list(range(-axes, 0)), list(range(axes))
    else:
        ax_a, ax_b = axes
    ax_a = [ax_a] if np.ndim(ax_a) == 0 else list(ax_a)
    ax_b = [ax_b] if np.ndim(ax_b) == 0 else list(ax_b)
    # NumPy's checks: no repeats, as many axes on each side, equal lengths pairwise
    if len(set(ax_a)) != len(ax_a) or len(set(ax_b)) != len(ax_b):
        raise ValueError("duplicate axes are not allowed in tensordot")
    if len(ax_a) != len(ax_b) or any(sa[i] != sb[j] for i, j in zip(ax_a, ax_b)):
        raise ValueError("shape-mismatch for sum")
    ax_a = [operator.index(x) % na for x in ax_a]
    ax_b = [operator.index(x) % nb for x in ax_b]
    free_a = [i for i in range(na) if i not in ax_a]
    free_b = [i for i in range(nb) if i not in ax_b]
    n_sum = int(np.prod([sa[i] for i in ax_a]))
    a2 = reshape(transpose(a, free_a + ax_a), (-1, n_sum))
    b2 = reshape(transpose(b, ax_b + free_b), (n_sum, -1))
    return reshape(matmul_p(a2, b2), tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


def inner(a, b, /):
    if ndim_of(a) == 0 or ndim_of(b) == 0:
        return a * b
    return tensordot(a, b, ([-1], [-1]))


def outer(a, b, out=None):
    _refuse_out("numpy.outer", out)
    return reshape(a, (-1, 1)) * reshape(b, (1, -1))


def vdot(a, b, /):
    """np.vdot: ``Σ conj(a)·b`` over the flattened arrays (conjugate-linear
    in ``a``, which its rule, conj's, handles)."""
    if int(np.prod(shape_of(a))) != int(np.prod(shape_of(b))):
        raise ValueError("vectors have different lengths")
    return sum_p(reshape(_conj(a), (-1,)) * reshape(b, (-1,)), axis=(-1,), keepdims=False)


def vecdot(x1, x2, /, out=None, *, axes=None, axis=None, keepdims=False,
           casting="same_kind", order="K", dtype=None, subok=True, signature=None):
    """np.vecdot (a gufunc ``(n),(n)->()``): ``Σ conj(x1)·x2`` along ``axis``,
    which names each operand's vector axis, counted in that operand's own
    dimensions."""
    _refuse_out("numpy.vecdot", out)
    if axes is not None:
        refuse("numpy.vecdot", "axes", "use axis= for one shared vector axis")
    if keepdims:
        refuse("numpy.vecdot", "keepdims")
    if dtype is not None:
        refuse("numpy.vecdot", "dtype", "cast the operands instead")
    _refuse_gufunc_options("numpy.vecdot", casting=casting, order=order, subok=subok,
                           signature=signature)
    if ndim_of(x1) == 0 or ndim_of(x2) == 0:
        raise ValueError("vecdot: Input operand does not have enough dimensions")
    axis = -1 if axis is None else axis
    x1 = moveaxis(x1, _axis(axis, ndim_of(x1)), -1)
    x2 = moveaxis(x2, _axis(axis, ndim_of(x2)), -1)
    n1, n2 = shape_of(x1)[-1], shape_of(x2)[-1]
    if n1 != n2:
        raise ValueError("vecdot: Input operand 1 has a mismatch in its core dimension 0, "
                         f"with gufunc signature (n),(n)->() (size {n2} is different from {n1})")
    return sum_p(_conj(x1) * x2, axis=(-1,), keepdims=False)


register(np.matmul, matmul)
register(np.dot, dot)
register(np.tensordot, tensordot)
register(np.inner, inner)
register(np.outer, outer)
register(np.vdot, vdot)
if hasattr(np, "vecdot"):  # NumPy >= 2
    register(np.vecdot, vecdot)


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


def _sublist_label(label) -> str:
    """One entry of an einsum sublist as a subscript letter, as NumPy reads
    it: 0-25 are 'A'-'Z', 26-51 'a'-'z', Ellipsis '...'."""
    if label is Ellipsis:
        return "..."
    try:
        label = operator.index(label)
    except TypeError:
        raise TypeError("each subscript must be either an integer or an ellipsis") from None
    if not 0 <= label < 52:
        raise ValueError("subscript is not within the valid range [0, 52)")
    return chr(ord("A") + label) if label < 26 else chr(ord("a") + label - 26)


def _sublist_subscripts(operands):
    """The sublist form ``einsum(op0, sublist0, op1, sublist1, ..., [sublistout])``
    as (the subscripts string, the operands)."""
    arrays, subs = list(operands[0::2]), list(operands[1::2])
    out = None
    if len(operands) % 2:  # an odd count: the last entry is the output sublist
        out = arrays.pop()
    if not subs or len(subs) != len(arrays):
        raise ValueError("einsum: the sublist form needs an operand and a sublist for each input")
    spec = ",".join("".join(_sublist_label(c) for c in sub) for sub in subs)
    if out is not None:
        spec += "->" + "".join(_sublist_label(c) for c in out)
    return spec, arrays


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
            # letters only in this operand were summed out: axes of size 1 for them
            got = dict(zip(target, shape_of(r)))
            r = reshape(r, tuple(got[c] if c in present else 1 for c in ins[i]))
        if shape_of(r) != shape:
            # ... and axes the other operands had of size 1 (broadcast by einsum): spread back
            r = np.broadcast_to(r, shape)
        return r
    return rule


def _einsum_vjp(g, out_val, *ops, ins, out):
    return tuple(_einsum_vjp_i(i)(g, out_val, *ops, ins=ins, out=out) for i in range(len(ops)))


einsum_p = Primitive("einsum", _einsum_impl, jvp=_einsum_jvp, vjp=_einsum_vjp)


_CASTINGS = ("no", "equiv", "safe", "same_kind", "unsafe")


# np.einsum_path: a contraction order and a report, which depend only on the
# operands' shapes -- no float output, so no derivative (NumPy's einsum never
# calls it on traced operands: this einsum runs instead)
register(np.einsum_path, nondiff(np.einsum_path))


def einsum(*operands, out=None, optimize=False, **kwargs):
    """np.einsum, in the subscripts-string form and the sublist form
    ``einsum(op0, sublist0, op1, sublist1, ..., [sublistout])``; ``dtype``,
    ``casting`` and ``optimize`` (the contraction order: the value to
    rounding; a path is checked as NumPy checks it) honoured."""
    _refuse_out("numpy.einsum", out)
    dtype = kwargs.pop("dtype", None)
    order = kwargs.pop("order", "K")
    casting = kwargs.pop("casting", "safe")
    for name in kwargs:
        refuse("numpy.einsum", name, "NumPy's einsum has no such argument")
    if order != "K":
        refuse("numpy.einsum", "order")
    if not (optimize is None or isinstance(optimize, (bool, str, list, tuple))):
        raise TypeError(f"einsum: optimize={optimize!r} is not a contraction path")
    if casting not in _CASTINGS:
        raise ValueError(f"casting must be one of {', '.join(map(repr, _CASTINGS))} "
                         f"(got {casting!r})")
    if not operands:
        raise TypeError("einsum(): must specify the einstein sum subscripts string "
                        "and at least one operand")
    if isinstance(operands[0], str):
        subscripts, operands = operands[0], list(operands[1:])
    else:
        subscripts, operands = _sublist_subscripts(operands)
    if isinstance(optimize, (list, tuple)):  # a path given: NumPy's errors for a bad one
        np.einsum_path(subscripts, *[primal(o) for o in operands], optimize=list(optimize))
    # NumPy casts every operand to ``dtype`` (default: their common type)
    # under the rule ``casting``.
    dtypes = [np.result_type(primal(o)) if isinstance(o, Box) else np.asarray(o).dtype
              for o in operands]
    target = np.dtype(dtype) if dtype is not None else np.result_type(*dtypes)
    for i, d in enumerate(dtypes):
        if not np.can_cast(d, target, casting):
            raise TypeError(f"Iterator operand {i} dtype could not be cast from {d!r} "
                            f"to {target!r} according to the rule {casting!r}")
    if target.kind in "biu":  # NumPy's value, no derivative
        return np.einsum(subscripts, *[primal(o) for o in operands], dtype=dtype,
                         casting=casting, optimize=optimize)
    if target.kind not in "fc":
        refuse("numpy.einsum", "dtype", f"{target} results are not differentiated")
    if target.kind == "c":
        note_complex()  # complex from real operands, under dtype=
    operands = [o if d == target else _as_dtype(o, target) for o, d in zip(operands, dtypes)]
    ins, outs = _parse_einsum(subscripts, [shape_of(o) for o in operands])
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
    nd = ndim_of(a)
    if nd < 2:
        raise ValueError("diag requires an array of at least two dimensions")
    axis1, axis2 = _axis(axis1, nd), _axis(axis2, nd)
    if axis1 == axis2:
        raise ValueError("axis1 and axis2 cannot be the same")
    offset = operator.index(offset)
    a = moveaxis(a, [axis1, axis2], [-2, -1])
    rows, cols = shape_of(a)[-2:]
    n = max(0, min(rows - max(0, -offset), cols - max(0, offset)))
    i = np.arange(n) + max(0, -offset)
    j = np.arange(n) + max(0, offset)
    return getitem(a, (Ellipsis, i, j))


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    _refuse_out("numpy.trace", out)
    if dtype is not None:
        dt = _inexact_dtype("numpy.trace", dtype)
        if dt is None:  # integer or bool: NumPy's value, no derivative
            return np.trace(primal(a), offset, axis1, axis2, dtype=dtype)
    d = diagonal(a, offset, axis1, axis2)
    if dtype is not None:
        d = _as_dtype(d, dt)  # NumPy sums in ``dtype``
    return sum_p(d, axis=(-1,), keepdims=False)


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


def _abs2_sum(x, axis, keepdims):
    re, im = np.real(x), np.imag(x)
    return np.sum(re * re + im * im, axis=axis, keepdims=keepdims)


l2norm_complex_p = Primitive(
    "l2norm", lambda x, axis, keepdims: np.sqrt(_abs2_sum(x, axis, keepdims)),
    jvp=(lambda t, out, x, axis, keepdims:
         np.real(sum_p(np.conjugate(x) * t, axis=axis, keepdims=keepdims)) / _safe(out),),
    vjp=(lambda g, out, x, axis, keepdims:
         _keep(g / _safe(out), x, axis, keepdims) * np.conjugate(x),),
    doc="2-norm ``sqrt Σ |x|²`` of complex x over ``axis``, a real value: "
        "F = conj(x) / norm (0 at 0, a subgradient).")


def l2norm(x, axis: tuple, keepdims: bool):
    """The 2-norm over ``axis`` (negative indices) of a real or complex ``x``."""
    prim = l2norm_complex_p if is_complex(x) else l2norm_p
    return prim(x, axis=axis, keepdims=keepdims)


def _vector_norm(x, ord, axes: tuple, keepdims):
    """The vector ``ord``-norm over ``axes`` (negative indices), as
    np.linalg.norm computes it for one axis: 2 (and None) through
    :func:`l2norm`, ±inf the largest/smallest ``|x|``, 0 the count of
    nonzero entries (derivative 0), any other p ``(Σ |x|^p)^(1/p)``."""
    if ord is None or ord == 2:
        return l2norm(x, axis=axes, keepdims=bool(keepdims))
    if ord == np.inf:
        return np.max(np.abs(x), axis=axes, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(np.abs(x), axis=axes, keepdims=keepdims)
    if ord == 0:  # the count of nonzero entries: derivative 0
        dt = np.result_type(primal(x))
        count = np.sum(primal(x) != 0, axis=axes, keepdims=keepdims)
        return count.astype(np.finfo(dt).dtype if dt.kind in "fc" else np.float64)
    if ord == 1:
        return np.sum(np.abs(x), axis=axes, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    return np.sum(np.abs(x) ** ord, axis=axes, keepdims=keepdims) ** (1.0 / ord)


def norm(x, ord=None, axis=None, keepdims=False):
    nd = ndim_of(x)
    if axis is None:
        if ord is None:  # 2-norm of the flattened array, whatever its rank
            return l2norm(x, axis=tuple(range(-nd, 0)), keepdims=bool(keepdims))
        if nd not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(nd))  # then ``ord`` is the vector or the matrix norm's
    axes = normalize_axes(axis, nd)
    if len(axes) == 1:
        return _vector_norm(x, ord, axes, keepdims)
    if len(axes) == 2:
        # Matrix norms: axis[0] is the row axis and axis[1] the column axis,
        # in the order given (normalize_axes sorts them).
        r, c = (_axis(ax, nd) for ax in axis)
        if ord in (None, "fro"):
            return l2norm(x, axis=axes, keepdims=bool(keepdims))
        if ord in (1, -1, np.inf, -np.inf):
            # 1: the largest column sum (sum over rows); inf: the largest row sum
            summed_axis, pick_axis = (r, c) if ord in (1, -1) else (c, r)
            s = np.sum(np.abs(x), axis=summed_axis, keepdims=True)
            pick = np.max if ord > 0 else np.min
            res = pick(s, axis=pick_axis, keepdims=True)
            return res if keepdims else reshape(res, tuple(
                n for i, n in enumerate(shape_of(x)) if i - nd not in axes))
        if ord in (2, -2, "nuc"):
            from .spectral import singular_value_norm  # built on svd, which builds on this module
            return singular_value_norm(x, ord, (r, c), bool(keepdims))
        raise ValueError("Invalid norm order for matrices.")
    raise ValueError("Improper number of dimensions to norm.")


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """np.linalg.vector_norm: the vector norm of ``norm`` over any number of
    axes (all of them for ``axis=None``), which NumPy first gathers into one
    leading axis; ``keepdims`` leaves them as axes of size 1."""
    shape = shape_of(x)
    if axis is None:
        flat, axes = reshape(x, (-1,)), (-1,)
    elif isinstance(axis, tuple):
        chosen = normalize_axes(axis, len(shape))
        rest = [i for i in range(len(shape)) if i - len(shape) not in chosen]
        order = [operator.index(i) % len(shape) for i in axis] + rest
        gathered = int(np.prod([shape[i] for i in order[:len(axis)]]))
        flat = reshape(transpose(x, order), (gathered,) + tuple(shape[i] for i in rest))
        axes = (-1 - len(rest),)  # the gathered axis, in front of the rest
    else:
        flat, axes = x, (_axis(axis, len(shape)),)
    res = _vector_norm(flat, ord, axes, False)
    if keepdims:
        kept = normalize_axes(tuple(range(len(shape))) if axis is None else axis, len(shape))
        res = reshape(res, tuple(1 if i - len(shape) in kept else n for i, n in enumerate(shape)))
    return res


register(np.linalg.norm, norm)
if hasattr(np.linalg, "vector_norm"):  # NumPy >= 2
    register(np.linalg.vector_norm, vector_norm)


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


# Exactly singular matrices get det's derivative from their minors: n² of
# them, (n-1)² entries each -- O(n⁴) memory and O(n⁵) time per matrix.  Above
# these limits the derivative is refused (SingularDerivativeError) rather
# than exhausting memory.  A second derivative at rank <= n-2 takes minors of
# the minors, which the entry limit also bounds.
MINORS_MAX_N = 32
MINORS_MAX_ENTRIES = 2 ** 26


class SingularDerivativeError(np.linalg.LinAlgError, TypeError):
    """The derivative of det or slogdet at an exactly singular matrix too
    large for its minors (see ``MINORS_MAX_N``, ``MINORS_MAX_ENTRIES``)."""


def _invert(a):
    """``(b, inv(b), singular)``: ``singular`` is a boolean mask over the stack
    of ``a``, True where np.linalg.inv raises (None when it raises nowhere),
    and ``b`` is ``a`` with the identity in place of those matrices, so
    that ``inv(b)`` (traced like ``a``) exists.  The mask reads primal
    values: it chooses a branch, it is not differentiated."""
    try:
        return a, inv_p(a), None
    except np.linalg.LinAlgError:
        pass
    p = primal(a)
    # inv raises exactly when LAPACK's LU finds a zero pivot, and then
    # slogdet, from the same LU, gives the sign 0.
    singular = np.linalg.slogdet(p)[0] == 0
    b = np.where(singular[..., None, None], np.eye(p.shape[-1], dtype=p.dtype), a)
    return b, inv_p(b), singular


def _per_matrix(singular, a, regular, at_singular):
    """``regular`` with each matrix where ``singular`` is True replaced by
    ``at_singular`` of that matrix of ``a``, computed for those only."""
    if singular is None:
        return regular
    if singular.all():
        return at_singular(a)
    special = at_singular(getitem(a, singular))             # (k, n, n)
    rows = np.maximum(np.cumsum(singular) - 1, 0).reshape(singular.shape)
    return np.where(singular[..., None, None], getitem(special, rows), regular)


def _cofactors(a):
    """The cofactor matrix, ``C_ij = (-1)^(i+j) det(a without row i and
    column j)``, from the n² minors: finite at every matrix, and
    differentiable to any order through det's own rules."""
    shape, dtype = shape_of(a), np.result_type(primal(a))
    n = shape[-1]
    entries = int(np.prod(shape[:-2])) * n * n * (n - 1) * (n - 1)
    if n > MINORS_MAX_N or entries > MINORS_MAX_ENTRIES:
        raise SingularDerivativeError(
            f"the derivative of det or slogdet at an exactly singular {n}x{n} matrix "
            f"is computed from its n² minors and is supported for n <= MINORS_MAX_N "
            f"= {MINORS_MAX_N}, at most MINORS_MAX_ENTRIES = {MINORS_MAX_ENTRIES} minor "
            f"entries at once (here {entries}); differentiate at a nearby invertible "
            "matrix instead, e.g. add a small multiple of the identity")
    if n == 1:  # the minor is the empty matrix, of determinant 1
        return np.ones(shape, dtype=dtype)
    keep = np.array([[r for r in range(n) if r != i] for i in range(n)])  # (n, n-1)
    rows = np.repeat(keep, n, axis=0)[:, :, None]  # minor i·n + j drops row i ...
    cols = np.tile(keep, (n, 1))[:, None, :]       # ... and column j
    minors = getitem(a, (Ellipsis, rows, cols))     # (..., n², n-1, n-1)
    signs = ((-1) ** np.add.outer(np.arange(n), np.arange(n))).astype(dtype)
    return reshape(det_p(minors), shape) * signs


def _rescaled_det_times(b, ib):
    """``det(b) · inv(b)ᵀ`` for invertible ``b`` whose det may under- or
    overflow: ``sign · exp(L - c) · inv(b)ᵀ · e^c`` with ``L = log|det b|``
    and the constant ``c`` its value, ``e^c`` applied in factors that stay
    representable, so an entry is 0 or inf only if its value is."""
    p = primal(b)
    dtype = p.dtype
    sign, c = np.linalg.slogdet(p)
    c = np.where(np.isfinite(c), c, 0.0).astype(np.finfo(dtype).dtype)  # a nan matrix stays nan
    steps = max(1, int(np.ceil(np.abs(c).max() / (np.log(np.finfo(dtype).max) / 2))))
    factor = np.exp(c / steps)[..., None, None]
    if is_complex(b):  # the sign varies with b: traced, for the derivatives of this one
        sign, logabsdet = slogdet_complex_p(b)
    else:              # ±1, piecewise constant
        sign, logabsdet = sign.astype(dtype), logabsdet_p(b)
    g = (sign * np.exp(logabsdet - c))[..., None, None] * _mT(ib)
    with np.errstate(over="ignore", under="ignore"):
        for _ in range(steps):  # towards the result's size: no spurious inf or 0
            g = g * factor
    return g


def _det_grad(a, out):
    """∂ det a / ∂a, the cofactor matrix: ``det(a) · a⁻ᵀ`` where ``a`` is
    invertible, rescaled where det under- or overflows; from the minors
    where ``a`` is exactly singular."""
    b, ib, singular = _invert(a)
    d = primal(out)
    tiny = np.finfo(np.result_type(d)).tiny
    unrepresentable = (np.abs(d) < tiny) | np.isinf(d)  # 0, subnormal or ±inf
    if singular is not None:
        unrepresentable &= ~singular
    if np.any(unrepresentable):
        regular = _rescaled_det_times(b, ib)
    else:
        regular = out[..., None, None] * _mT(ib)
    return _per_matrix(singular, a, regular, _cofactors)


def _det_jvp(t, out, a):
    return sum_p(_det_grad(a, out) * t, axis=(-2, -1), keepdims=False)


def _det_vjp(g, out, a):
    return g[..., None, None] * _det_grad(a, out)


det_p = Primitive("det", np.linalg.det, jvp=(_det_jvp,), vjp=(_det_vjp,))


def _cofactors_over_det(a):
    with np.errstate(divide="ignore", invalid="ignore"):
        return _cofactors(a) / det_p(a)[..., None, None]


def _logabsdet_grad(a, inverted=None):
    """∂ log|det a| / ∂a = a⁻ᵀ wherever the inverse exists; cofactors / det
    where ``a`` is exactly singular -- ±inf (nan where a cofactor is 0 too).
    For a complex ``a`` this is F, the factor of the real log|det a| = Re log det a
    (F = (log det)' = a⁻ᵀ, as for the real part of any holomorphic function).
    ``inverted``: :func:`_invert`'s result for ``a``, if already computed."""
    _, ib, singular = _invert(a) if inverted is None else inverted
    return _per_matrix(singular, a, _mT(ib), _cofactors_over_det)


def _logabsdet_jvp(t, out, a):
    grad = _logabsdet_grad(a)
    with np.errstate(invalid="ignore"):
        dot = sum_p(grad * t, axis=(-2, -1), keepdims=False)
    return np.real(dot) if is_complex(dot) else dot


def _logabsdet_vjp(g, out, a):
    grad = _logabsdet_grad(a)
    with np.errstate(invalid="ignore"):
        return g[..., None, None] * grad


logabsdet_p = Primitive(
    "logabsdet", lambda a: np.linalg.slogdet(a)[1],
    jvp=(_logabsdet_jvp,), vjp=(_logabsdet_vjp,),
    doc="log|det a|: -inf at a singular matrix, where its derivative is "
        "cofactors / det (entries ±inf, or nan where a cofactor is 0 too).")


# slogdet of a complex matrix: sign = det/|det| = e^{iθ} (θ = Im log det) and
# logabsdet = Re log det both vary.  With s = Σ (a⁻ᵀ ∘ t) = tr(a⁻¹ t), the
# derivative of log det in direction t:
#     d logabsdet = Re s,    d sign = i · sign · Im s.
# The pullback is the transpose under Re Σ ū·v: for cotangents (s̄, l̄) of
# (sign, logabsdet), ā = (l̄ + i Im(sign · s̄)) · a⁻ᵀ, because
# Re(s̄ · i sign Im s) = -Im(sign s̄) Im s = Re(i Im(sign s̄) · s).
# At an exactly singular matrix the sign is 0 and its terms vanish (a⁻ᵀ is
# then that of the identity, finite); logabsdet's derivative is det's limit.
def _slogdet_factors(a):
    """(F of logabsdet, a⁻ᵀ for the sign's derivative: finite everywhere)."""
    inverted = _invert(a)
    return _logabsdet_grad(a, inverted), _mT(inverted[1])


def _slogdet_complex_jvp(tangents, out, a):
    (t,) = tangents
    sign, _ = out
    f_log, f_sign = _slogdet_factors(a)
    with np.errstate(invalid="ignore"):
        d_log = np.real(sum_p(f_log * t, axis=(-2, -1), keepdims=False))
    d_sign = sign * (np.imag(sum_p(f_sign * t, axis=(-2, -1), keepdims=False)) * 1j)
    return d_sign, d_log


def _slogdet_complex_vjp(g, out, a):
    g_sign, g_log = g
    sign, _ = out
    f_log, f_sign = _slogdet_factors(a)
    total = None
    if g_log is not None:
        with np.errstate(invalid="ignore"):
            total = g_log[..., None, None] * f_log
    if g_sign is not None:
        # (imag(...) * 1j, not 1j * imag(...): a NumPy scalar on the left stays one)
        term = (np.imag(sign * g_sign) * 1j)[..., None, None] * f_sign
        total = term if total is None else total + term
    return (total,)


slogdet_complex_p = Primitive(
    "slogdet", lambda a: tuple(np.linalg.slogdet(a)),
    jvp=_slogdet_complex_jvp, vjp=_slogdet_complex_vjp, multiple_results=True,
    doc="(sign, log|det a|) of a complex matrix: sign = det/|det| (0 at a "
        "singular matrix, with derivative 0 there), logabsdet real.")

_SlogdetResult = type(np.linalg.slogdet(np.eye(1)))
_EighResult = type(np.linalg.eigh(np.eye(1)))


def slogdet(a):
    if is_complex(a):
        return _SlogdetResult(*slogdet_complex_p(a))
    sign = np.linalg.slogdet(primal(a))[0]  # ±1 or 0, piecewise constant: derivative 0
    return _SlogdetResult(sign, logabsdet_p(a))


def solve(a, b):
    return solve_p(a, b)


register(np.linalg.solve, solve)
register(np.linalg.inv, lambda a: inv_p(a))
register(np.linalg.det, lambda a: det_p(a))
register(np.linalg.slogdet, slogdet)


# ---- the triangle that cholesky and eigh read ---------------------------------------------
def _triangle_masks(n: int, lower: bool):
    """(the triangle read with its diagonal, the same without it, the diagonal)."""
    keep = np.tri(n, dtype=bool) if lower else np.tri(n, dtype=bool).T
    strict = np.tri(n, k=-1, dtype=bool) if lower else np.tri(n, k=-1, dtype=bool).T
    return keep, strict, np.eye(n, dtype=bool)


def _read_triangle(t, lower: bool):
    """The symmetric (Hermitian) matrix NumPy builds from one triangle of
    ``t``: ``tril(t) + tril(t, -1)ᵀ`` (lower) or ``triu(t) + triu(t, 1)ᵀ``;
    for complex ``t`` the conjugate transpose, with the real part of the
    diagonal (LAPACK ignores its imaginary part)."""
    keep, strict, eye = _triangle_masks(shape_of(t)[-1], lower)
    if is_complex(t):
        off = np.where(strict, t, 0.0)
        return off + _mH(off) + np.where(eye, np.real(t), 0.0)
    return np.where(keep, t, 0.0) + _mT(np.where(strict, t, 0.0))


def _read_triangle_T(g, lower: bool):
    """The transpose of :func:`_read_triangle` (under Re Σ ḡ·t): the
    cotangent of the matrix read, given that ``g`` of the matrix built from
    it.  Complex: ``g + conj(g)ᵀ`` on the strict triangle, ``Re g`` on the
    diagonal (Re(ḡ_ij conj(t_ji)) = Re(conj(ḡ_ij) t_ji))."""
    keep, strict, eye = _triangle_masks(shape_of(g)[-1], lower)
    if is_complex(g):
        return np.where(strict, g + _mH(g), 0.0) + np.where(eye, np.real(g), 0.0)
    return np.where(keep, g, 0.0) + np.where(strict, _mT(g), 0.0)


# ---- cholesky ----------------------------------------------------------------------------
def _phi(x):
    """Lower triangle with half the diagonal."""
    n = shape_of(x)[-1]
    real = np.finfo(np.result_type(primal(x))).dtype  # float32 for complex64 x
    return x * (np.tri(n, n, -1) + 0.5 * np.eye(n)).astype(real)


# S = L Lᴴ, with L lower triangular of real positive diagonal (for real input
# Lᴴ = Lᵀ).  From dS = dL Lᴴ + L dLᴴ, L⁻¹ dS L⁻ᴴ = L⁻¹dL + (L⁻¹dL)ᴴ with
# L⁻¹dL lower triangular of real diagonal, so L⁻¹dL = Φ(L⁻¹ dS L⁻ᴴ).
def _cholesky_jvp(t, out, a, upper):
    # dL = L Φ(L⁻¹ dS L⁻ᴴ), dS the tangent of the Hermitian matrix NumPy reads;
    # upper=True returns U = Lᴴ
    L = _mH(out) if upper else out
    y = solve_p(L, _read_triangle(t, lower=not upper))  # L⁻¹ dS
    s = _mT(solve_p(_conj(L), _mT(y)))                   # y L⁻ᴴ = (conj(L)⁻¹ yᵀ)ᵀ
    dL = matmul_p(L, _phi(s))
    return _mH(dL) if upper else dL


def _cholesky_vjp(g, out, a, upper):
    # the transpose of the JVP (plain transposes: the pairing is Re Σ ḡ·t):
    # S̄ = L⁻ᵀ Φ(Lᵀ L̄) conj(L)⁻¹, then back to the triangle read; from U = Lᴴ, L̄ = Ūᴴ
    L, gL = (_mH(out), _mH(g)) if upper else (out, g)
    p = _phi(matmul_p(_mT(L), gL))
    z = solve_p(_mT(L), p)                                # L⁻ᵀ p
    return _read_triangle_T(_mT(solve_p(_mH(L), _mT(z))), lower=not upper)  # z conj(L)⁻¹


# np.linalg.cholesky reads the lower triangle, and the upper one with upper=True.
cholesky_p = Primitive("cholesky", lambda a, upper: np.linalg.cholesky(a, upper=upper),
                       jvp=(_cholesky_jvp,), vjp=(_cholesky_vjp,))


def cholesky(a, /, *, upper=False):
    return cholesky_p(a, upper=bool(upper))


register(np.linalg.cholesky, cholesky)


# ---- eigh, eigvalsh ------------------------------------------------------------------------
# S = V diag(w) Vᴴ with V unitary (orthogonal for real S), w real.  With
# M = Vᴴ dS V (Hermitian): dw = Re diag(M), and Ω = Vᴴ dV has Ω_ij =
# M_ij / (w_j - w_i) off the diagonal.
#
# The gauge.  Each column of V is defined only up to a phase e^{iφ} (a sign
# for real S), and Ω's diagonal is that phase's rate of change: unitarity,
# d(vᴴv) = 2 Re(vᴴ dv) = 0, fixes its real part to 0, and nothing fixes its
# imaginary part.  We choose it 0 too, as JAX does: diag(Vᴴ dV) = 0, i.e.
# dV = V (F ∘ M).  NumPy's (LAPACK's) phases follow a different rule, so
# for complex input this dV is the derivative of NumPy's V only up to a
# term V diag(iθ) with real θ; every function invariant under
# V -> V diag(e^{iφ}) -- V diag(f(w)) Vᴴ, |V|², eigenprojectors -- gets its
# exact derivative, in both modes (the pullback is this JVP's transpose).
# For real S the choice is no choice: Ω is antisymmetric and real.
def _gaps(w):
    """F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it."""
    n = shape_of(w)[-1]
    eye = np.eye(n, dtype=bool)
    diff = w[..., None, :] - w[..., :, None]
    return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, diff))


def _eigh_jvp(tangents, out, a, UPLO):
    (t,) = tangents
    w, V = out
    m = matmul_p(matmul_p(_mH(V), _read_triangle(t, lower=UPLO == "L")), V)
    dw = diagonal(m, 0, -2, -1)
    if is_complex(dw):
        dw = np.real(dw)  # M is Hermitian: its diagonal is real, up to rounding
    dV = matmul_p(V, _gaps(w) * m)
    return dw, dV


def _eigh_vjp(g, out, a, UPLO):
    # S̄ = conj(V) (diag(w̄) + F ∘ Vᵀ V̄) Vᵀ, the transpose of dS -> (dw, dV)
    # above under Re Σ ḡ·t, then back to the triangle NumPy read
    gw, gV = g
    w, V = out
    inner_ = 0.0
    if gV is not None:
        inner_ = _gaps(w) * matmul_p(_mT(V), gV)
    if gw is not None:
        n = shape_of(w)[-1]
        inner_ = inner_ + gw[..., :, None] * np.eye(n, dtype=np.result_type(primal(gw)))
    return (_read_triangle_T(matmul_p(matmul_p(_conj(V), inner_), _mT(V)), lower=UPLO == "L"),)


eigh_p = Primitive("eigh", lambda a, UPLO: tuple(np.linalg.eigh(a, UPLO)),
                   jvp=_eigh_jvp, vjp=_eigh_vjp, multiple_results=True)


def _uplo(UPLO) -> str:
    UPLO = UPLO.upper() if isinstance(UPLO, str) else UPLO
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return UPLO


def eigh(a, UPLO="L"):
    w, V = eigh_p(a, UPLO=_uplo(UPLO))
    return _EighResult(w, V)


def eigvalsh(a, UPLO="L"):
    """The eigenvalues of eigh (NumPy's eigvalsh, to rounding)."""
    return eigh_p(a, UPLO=_uplo(UPLO))[0]


register(np.linalg.eigh, eigh)
register(np.linalg.eigvalsh, eigvalsh)


# ---- cross products and polynomials -----------------------------------------------------
def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """np.cross of 3-vectors, from indexing and products (NumPy's operations,
    so the value is NumPy's to the bit)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a = moveaxis(a, _axis(axisa, ndim_of(a)), -1)
    b = moveaxis(b, _axis(axisb, ndim_of(b)), -1)
    dims = (shape_of(a)[-1], shape_of(b)[-1])
    if any(d not in (2, 3) for d in dims):
        raise ValueError("incompatible dimensions for cross product\n"
                         "(dimension must be 2 or 3)")
    if dims != (3, 3):
        raise TypeError("dualad supports np.cross of 3-vectors only (NumPy "
                        "deprecates 2-vectors)")
    ax, ay, az = (a[..., i] for i in range(3))
    bx, by, bz = (b[..., i] for i in range(3))
    from .shape import stack
    c = stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)
    return moveaxis(c, -1, _axis(axisc, ndim_of(c)))


def polyval(p, x):
    """np.polyval by Horner's rule from ``y = zeros_like(x)``, as NumPy
    computes it (p and x may both be traced; p's rows are the coefficients)."""
    if not isinstance(p, Box):
        p = np.asarray(p)  # as NumPy: its entries then promote as NumPy scalars do
    if ndim_of(p) == 0:
        raise TypeError("iteration over a 0-d array")
    y = np.zeros_like(primal(x)) if isinstance(x, Box) else np.zeros_like(np.asarray(x))
    for k in range(shape_of(p)[0]):
        y = y * x + p[k]
    return y


register(np.cross, cross)
register(np.polyval, polyval)


# ---- qr ------------------------------------------------------------------------------------
# A = QR, Q with orthonormal columns, R upper triangular with a real diagonal
# of either sign: LAPACK's Householder QR, whose signs are NumPy's and are
# taken as they come -- locally constant wherever no column is already
# upper triangular (see the conventions in docs/kinks.md).  For A m×n with
# m >= n (Q m×n, R n×n), with B = dA R⁻¹ and C = Qᴴ B:
#     Qᴴ dQ + dR R⁻¹ = C,
# where Ω = Qᴴ dQ is skew-Hermitian (QᴴQ = I) and dR R⁻¹ upper triangular
# with a real diagonal, so
#     Ω = L(C) - L(C)ᴴ + i·Im diag(C)       (L: the strictly lower triangle),
#     dR = (C - Ω) R,    dQ = Q Ω + (B - Q C)  (B - QC: outside Q's range, 0 if m = n).
# For m < n, A = [X Y] with X square: (Q, R₁) is X's QR and R₂ = Qᴴ Y, so
# dR₂ = dQᴴ Y + Qᴴ dY.
# mode='complete' with m > n adds Q₂, an orthonormal basis of the complement
# of Q's range that LAPACK picks among many: it is differentiated in the
# gauge Q₂ᴴ dQ₂ = 0 (Q's columns turn with the range, and no more):
#     dQ₂ = -Q (dQᴴ Q₂),
# the exact derivative of every quantity that does not depend on which basis
# of the complement is taken (Q₂Q₂ᴴ, |Q₂ᴴ v|, ...); R's zero rows have derivative 0.
def _strict_lower(k: int):
    return np.tri(k, k, -1, dtype=bool)


def _qr_omega(c):
    """Ω = L(C) - L(C)ᴴ + i·Im diag(C), the skew-Hermitian part NumPy's
    triangular R leaves to Qᴴ dQ."""
    k = shape_of(c)[-1]
    low = np.where(_strict_lower(k), c, 0.0)
    om = low - _mH(low)
    if is_complex(c):
        om = om + np.where(np.eye(k, dtype=bool), np.imag(c) * 1j, 0.0)
    return om


def _qr_omega_T(m):
    """The transpose of :func:`_qr_omega` under Re Σ ū·v:
    L(M - Mᴴ) + i·Im diag(M)."""
    k = shape_of(m)[-1]
    result = np.where(_strict_lower(k), m - _mH(m), 0.0)
    if is_complex(m):
        result = result + np.where(np.eye(k, dtype=bool), np.imag(m) * 1j, 0.0)
    return result


def _times_inverse(x, r):
    """``x r⁻¹`` (``r`` square, invertible): ``solve(rᵀ, xᵀ)ᵀ``."""
    return _mT(solve_p(_mT(r), _mT(x)))


def _qr_blocks(out, a):
    """(Q₁, R₁, k): the square triangular block R₁ (k×k, k = min(m, n)) and
    the columns of Q it pairs with; checks that R₁ is invertible."""
    q, r = out
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    q1 = q if shape_of(q)[-1] == k else q[..., :, :k]
    r1 = r if shape_of(r)[-2:] == (k, k) else r[..., :k, :k]
    if np.any(np.diagonal(primal(r1), 0, -2, -1) == 0):
        raise np.linalg.LinAlgError(
            "the derivative of qr needs R's diagonal free of zeros: the first "
            "min(m, n) columns of the matrix must be linearly independent (where "
            "they are not, Q is not unique and has no derivative)")
    return q1, r1, k


def _qr_jvp(tangents, out, a, complete):
    (t,) = tangents
    q1, r1, k = _qr_blocks(out, a)
    m, n = shape_of(a)[-2:]
    t1 = t if n == k else t[..., :, :k]
    b = _times_inverse(t1, r1)
    c = matmul_p(_mH(q1), b)
    om = _qr_omega(c)
    dr = matmul_p(c - om, r1)
    dq = matmul_p(q1, om)
    if m > k:
        dq = dq + (b - matmul_p(q1, c))
    if n > k:  # wide: R₂ = Qᴴ Y
        dr2 = matmul_p(_mH(dq), a[..., :, k:]) + matmul_p(_mH(q1), t[..., :, k:])
        dr = concatenate_p(dr, dr2, axis=-1)
    if complete and m > n:
        q2 = out[0][..., :, n:]
        dq2 = -matmul_p(q1, matmul_p(_mH(dq), q2))
        dq = concatenate_p(dq, dq2, axis=-1)
        zeros = np.zeros(shape_of(dr)[:-2] + (m - n, n), dtype=np.result_type(primal(dr)))
        dr = concatenate_p(dr, zeros, axis=-2)
    return dq, dr


def _qr_vjp(g, out, a, complete):
    # the transpose of the JVP under Re Σ ḡ·t (plain transposes; conj(Q) where
    # the JVP has Qᴴ): with M = R̄ Rᵀ - Qᵀ Q̄,
    #     Ā = (Q̄ + conj(Q) (M - Ωᵀ(M))) R⁻ᵀ       (m > n; for m = n the Q̄ terms
    # of dQ's range-complement part cancel, and Ā = conj(Q) (R̄Rᵀ - Ωᵀ(M)) R⁻ᵀ)
    gq, gr = g
    q1, r1, k = _qr_blocks(out, a)
    m, n = shape_of(a)[-2:]
    gq1 = gr1 = gy = None
    if gq is not None:
        gq1 = gq if shape_of(gq)[-1] == k else gq[..., :, :k]
        if complete and m > n:  # dQ₂ = -Q dQᴴ Q₂
            q2 = out[0][..., :, n:]
            gq1 = gq1 - _conj(matmul_p(matmul_p(q2, _mT(gq[..., :, n:])), q1))
    if gr is not None:
        gr1 = gr[..., :k, :k] if shape_of(gr)[-2:] != (k, k) else gr
        if n > k:  # R₂ = Qᴴ Y
            gr2 = gr[..., :, k:]
            extra = matmul_p(_conj(a[..., :, k:]), _mH(gr2))
            gq1 = extra if gq1 is None else gq1 + extra
            gy = matmul_p(_conj(q1), gr2)
    rr = None if gr1 is None else matmul_p(gr1, _mT(r1))
    qq = None if gq1 is None else matmul_p(_mT(q1), gq1)
    mm = rr if qq is None else (-qq if rr is None else rr - qq)
    if mm is None:
        ga = np.zeros(shape_of(a), dtype=np.result_type(primal(q1)))
    else:
        if m > k and qq is not None:
            inner_ = gq1 + matmul_p(_conj(q1), mm - _qr_omega_T(mm))
        else:
            base = -_qr_omega_T(mm) if rr is None else rr - _qr_omega_T(mm)
            inner_ = matmul_p(_conj(q1), base)
        ga = _mT(solve_p(r1, _mT(inner_)))  # inner_ R⁻ᵀ
    if n > k:
        if gy is None:
            gy = np.zeros(shape_of(a)[:-1] + (n - k,), dtype=np.result_type(primal(q1)))
        ga = concatenate_p(ga, gy, axis=-1)
    return (ga,)


def _qr_impl(a, complete):
    return tuple(np.linalg.qr(a, mode="complete" if complete else "reduced"))


qr_p = Primitive("qr", _qr_impl, jvp=_qr_jvp, vjp=_qr_vjp, multiple_results=True,
                 doc="(Q, R) of np.linalg.qr, modes 'reduced' and 'complete' (complete=True).")

_QRResult = type(np.linalg.qr(np.eye(1)))


def qr(a, mode="reduced"):
    """np.linalg.qr, modes 'reduced', 'complete' and 'r'; 'raw' is refused."""
    if mode == "raw":
        refuse("numpy.linalg.qr", "mode", "mode='raw' returns LAPACK's Householder "
               "reflectors, which have no derivative rule; use mode='reduced' (Q and R)")
    if mode not in ("reduced", "complete", "r"):
        if mode in ("f", "full", "e", "economic"):
            refuse("numpy.linalg.qr", "mode", f"mode={mode!r} is deprecated in NumPy; "
                   "use mode='reduced'")
        raise ValueError(f"Unrecognized mode '{mode}'")
    if ndim_of(a) < 2:
        raise np.linalg.LinAlgError(f"{ndim_of(a)}-dimensional array given. "
                                    "Array must be at least two-dimensional")
    if not is_complex(a) and np.result_type(primal(a)).kind != "f":
        a = _as_dtype(a, np.float64)
    q, r = qr_p(a, complete=mode == "complete")
    return r if mode == "r" else _QRResult(q, r)


register(np.linalg.qr, qr)


# ---- matrix_power, multi_dot, tensorsolve, tensorinv ---------------------------------------
def _assert_stacked_square(a):
    if ndim_of(a) < 2:
        raise np.linalg.LinAlgError(f"{ndim_of(a)}-dimensional array given. "
                                    "Array must be at least two-dimensional")
    m, n = shape_of(a)[-2:]
    if m != n:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")


def matrix_power(a, n):
    """np.linalg.matrix_power by NumPy's own sequence of products (so to
    rounding its value): ``inv`` first for ``n < 0``, the identity (a
    constant) for ``n == 0``, repeated squaring for ``|n| > 3``."""
    _assert_stacked_square(a)
    try:
        n = operator.index(n)
    except TypeError as e:
        raise TypeError("exponent must be an integer") from e
    if n == 0:
        return np.broadcast_to(np.eye(shape_of(a)[-1], dtype=np.result_type(primal(a))),
                               shape_of(a)).copy()
    if n < 0:
        a, n = inv_p(a), -n
    if n == 1:
        return a
    if n == 2:
        return matmul_p(a, a)
    if n == 3:
        return matmul_p(matmul_p(a, a), a)
    z = result = None
    while n > 0:
        z = a if z is None else matmul_p(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else matmul_p(result, z)
    return result


def _chain_order(shapes):
    """NumPy's multi_dot parenthesisation of matrices with these shapes: the
    split ``s[i][j]`` of each sub-chain of least scalar-product count (ties
    to the earliest split, as NumPy's dynamic programme)."""
    n = len(shapes)
    p = [shapes[0][0]] + [s[1] for s in shapes]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain_product(arrays, split, i, j):
    if i == j:
        return arrays[i]
    k = split[i][j]
    return matmul_p(_chain_product(arrays, split, i, k), _chain_product(arrays, split, k + 1, j))


def multi_dot(arrays, *, out=None):
    """np.linalg.multi_dot: a 1-D first array is a row, a 1-D last one a
    column, the others must be 2-D; the products in NumPy's optimal order
    (the value to rounding).  Traced and constant arrays may be mixed."""
    _refuse_out("numpy.linalg.multi_dot", out)
    arrays = [a if isinstance(a, Box) else np.asanyarray(a) for a in arrays]
    if len(arrays) < 2:
        raise ValueError("Expecting at least two arrays.")
    if len(arrays) == 2:
        return dot(arrays[0], arrays[1])
    first, last = ndim_of(arrays[0]), ndim_of(arrays[-1])
    if first == 1:
        arrays[0] = reshape(arrays[0], (1, -1))
    if last == 1:
        arrays[-1] = reshape(arrays[-1], (-1, 1))
    for a in arrays:
        if ndim_of(a) != 2:
            raise np.linalg.LinAlgError(f"{ndim_of(a)}-dimensional array given. "
                                        "Array must be two-dimensional")
    if len(arrays) == 3:  # NumPy compares the two orders, ties to A(BC)
        (a0, a1b0), (b1c0, c1) = shape_of(arrays[0]), shape_of(arrays[2])
        if a0 * b1c0 * (a1b0 + c1) < a1b0 * c1 * (a0 + b1c0):
            result = matmul_p(matmul_p(arrays[0], arrays[1]), arrays[2])
        else:
            result = matmul_p(arrays[0], matmul_p(arrays[1], arrays[2]))
    else:
        split = _chain_order([shape_of(a) for a in arrays])
        result = _chain_product(arrays, split, 0, len(arrays) - 1)
    if first == 1 and last == 1:
        return result[0, 0]
    if first == 1 or last == 1:
        return reshape(result, (-1,))
    return result


def tensorsolve(a, b, axes=None):
    """np.linalg.tensorsolve: ``a``'s axes (``axes`` moved to the end
    first) split into b's shape and the solution's, then one ``solve``."""
    a, b = (x if isinstance(x, Box) else np.asarray(x) for x in (a, b))
    an = ndim_of(a)
    if axes is not None:
        order = list(range(an))
        for k in axes:
            order.remove(k)
            order.insert(an, k)
        a = transpose(a, order)
    old_shape = shape_of(a)[-(an - ndim_of(b)):]
    prod = int(np.prod(old_shape))
    if int(np.prod(shape_of(a))) != prod ** 2:
        raise np.linalg.LinAlgError(
            "Input arrays must satisfy the requirement prod(a.shape[b.ndim:]) == "
            "prod(a.shape[:b.ndim])")
    x = solve_p(reshape(a, (prod, prod)), reshape(b, (-1,)))
    return reshape(x, old_shape)


def tensorinv(a, ind=2):
    """np.linalg.tensorinv: the inverse of ``a`` read as a matrix of its
    first ``ind`` axes by the rest."""
    a = a if isinstance(a, Box) else np.asarray(a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    shape = shape_of(a)
    inv_shape = shape[ind:] + shape[:ind]
    prod = int(np.prod(shape[ind:]))
    return reshape(inv_p(reshape(a, (prod, -1))), inv_shape)


register(np.linalg.matrix_power, matrix_power)
register(np.linalg.multi_dot, multi_dot)
register(np.linalg.tensorsolve, tensorsolve)
register(np.linalg.tensorinv, tensorinv)


# ---- matvec, vecmat --------------------------------------------------------------------------
def _matrix_vector_options(function: str, out, axes, axis, keepdims, casting, order, subok,
                           signature):
    _refuse_out(function, out)
    if axes is not None:
        refuse(function, "axes")
    if axis is not None:
        refuse(function, "axis", "NumPy allows it only for one shared core dimension")
    if keepdims:
        refuse(function, "keepdims", "NumPy allows it only for reductions")
    _refuse_gufunc_options(function, casting=casting, order=order, subok=subok,
                           signature=signature)


def _gufunc_dtype(function: str, numpy_function, x1, x2, dtype):
    """(x1, x2) cast to a floating ``dtype``, or NumPy's own value for an
    integer or bool one (no derivative)."""
    dt = _inexact_dtype(function, dtype)
    if dt is None:
        return None, np.asarray(numpy_function(primal(x1), primal(x2), dtype=dtype))
    return (_as_dtype(x1, dt), _as_dtype(x2, dt)), None


def matvec(x1, x2, /, out=None, *, axes=None, axis=None, keepdims=False,
           casting="same_kind", order="K", dtype=None, subok=True, signature=None):
    """np.matvec (a gufunc ``(m,n),(n)->(m)``): ``Σ_n x1[..., m, n] x2[..., n]``."""
    _matrix_vector_options("numpy.matvec", out, axes, axis, keepdims, casting, order, subok,
                           signature)
    if ndim_of(x1) < 2 or ndim_of(x2) < 1:
        raise ValueError("matvec: Input operand does not have enough dimensions")
    if dtype is not None:
        cast, value = _gufunc_dtype("numpy.matvec", np.matvec, x1, x2, dtype)
        if cast is None:
            return value
        x1, x2 = cast
    return matmul_p(x1, x2[..., None])[..., 0]


def vecmat(x1, x2, /, out=None, *, axes=None, axis=None, keepdims=False,
           casting="same_kind", order="K", dtype=None, subok=True, signature=None):
    """np.vecmat (a gufunc ``(n),(n,m)->(m)``): ``Σ_n conj(x1[..., n]) x2[..., n, m]``
    -- the vector conjugated, as NumPy does."""
    _matrix_vector_options("numpy.vecmat", out, axes, axis, keepdims, casting, order, subok,
                           signature)
    if ndim_of(x1) < 1 or ndim_of(x2) < 2:
        raise ValueError("vecmat: Input operand does not have enough dimensions")
    if dtype is not None:
        cast, value = _gufunc_dtype("numpy.vecmat", np.vecmat, x1, x2, dtype)
        if cast is None:
            return value
        x1, x2 = cast
    return matmul_p(_conj(x1)[..., None, :], x2)[..., 0, :]


if hasattr(np, "matvec"):  # NumPy >= 2.2
    register(np.matvec, matvec)
    register(np.vecmat, vecmat)
