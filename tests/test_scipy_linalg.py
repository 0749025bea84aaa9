"""dualad.scipy.linalg: SciPy's values for the same arguments and derivatives
by finite differences, for every parameter of every function.

``CALLS`` lists, per function, sample calls that between them pass every
parameter of SciPy's signature (``test_every_parameter_is_exercised``
checks that against ``inspect.signature(scipy.linalg.X)``); each call is
checked against SciPy's value and, in the arguments marked differentiable,
by ``check_grads`` at order 2 (both modes and their four nestings).  The
named tests below pin what a table cannot: the triangle a function reads,
the factor objects carrying derivatives into the solves, the
Gaussian-process likelihood, stacks, vector mode, the refusals and errors,
and the error SciPy's own function raises on a traced value.
"""

from __future__ import annotations

import inspect
import warnings
from typing import NamedTuple

import numpy as np
import pytest
import scipy.linalg as sl

import dualad as ad
import dualad.scipy.linalg as dl
import dualad.scipy.matrix_functions as dmf
from dualad.testing import check_grads

RNG = np.random.default_rng(12)
N = 4
A = RNG.standard_normal((N, N)) + 3 * np.eye(N)              # general, well conditioned
SPD = A @ A.T + np.eye(N)
ASYM = SPD + np.triu(RNG.standard_normal((N, N)), 1)        # SPD below, junk above
Z = A + 1j * RNG.standard_normal((N, N))
HPD = Z @ Z.conj().T + np.eye(N)
B1 = RNG.standard_normal(N)
B2 = RNG.standard_normal((N, 2))
ZB = B1 + 1j * RNG.standard_normal(N)
SPD2 = (lambda m: m @ m.T + N * np.eye(N))(RNG.standard_normal((N, N)))
STACK = RNG.standard_normal((2, N, N)) + 3 * np.eye(N)
SPD_STACK = STACK @ np.swapaxes(STACK, -1, -2)
WIDE = RNG.standard_normal((3, 5))
TALL = RNG.standard_normal((5, 3))
AB = RNG.standard_normal((4, 6)) + np.array([[0], [0], [4], [0]])   # l=1, u=2 (diagonal row 2)
BB = RNG.standard_normal(6)
C3, R4 = RNG.standard_normal(3), RNG.standard_normal(4)


class Call(NamedTuple):
    args: tuple
    kwargs: dict
    diff: tuple = (0,)         # positions of the arguments differentiated
    outputs: object = None     # picks the differentiable, comparable outputs


def _lu_pair(out):
    return out[0]                                      # lu (piv is integer)


def _lu_parts(out):
    return out[-2:]                                    # L, U (P constant)


def _cho_c(out):
    return out[0]


def _phase_free(out):
    """eigh's (w, v) as quantities that do not depend on eigenvector signs
    or phases: w and |v|²."""
    if isinstance(out, (tuple, list)):
        w, v = out
        return w, np.real(v * np.conj(v))
    return out


def _lu_factor_solve(a, b, **kw):
    return dl.lu_solve(dl.lu_factor(a), b, **kw)


def _cho_factor_solve(a, b, lower=False, **kw):
    return dl.cho_solve(dl.cho_factor(a, lower=lower), b, **kw)


CALLS = {
    "solve": [
        Call((A, B1), {}, (0, 1)), Call((A, B2), {"transposed": True}, (0, 1)),
        Call((Z, ZB), {}, (0, 1)),
        Call((ASYM, B2), {"assume_a": "sym", "lower": True}, (0, 1)),
        Call((ASYM.T, B1), {"assume_a": "symmetric"}),
        Call((Z, ZB), {"assume_a": "sym"}, (0, 1)),
        Call((HPD, ZB), {"assume_a": "her", "lower": True}, (0, 1)),
        Call((Z + 4 * np.eye(N), ZB), {"assume_a": "hermitian"}),
        Call((ASYM, B1), {"assume_a": "her", "lower": True}),  # real: as 'sym'
        Call((ASYM, B2), {"assume_a": "pos", "lower": True}, (0, 1)),
        Call((ASYM.T, B1), {"assume_a": "positive definite"}),
        Call((HPD, ZB), {"assume_a": "pos"}, (0, 1)),
        Call((A, B2), {"assume_a": "gen", "overwrite_a": True, "overwrite_b": True}, (0, 1)),
        Call((A, B1), {"assume_a": "general", "check_finite": False}),
        Call((A, B2), {"assume_a": "diagonal"}, (0, 1)), Call((Z, ZB), {"assume_a": "diagonal"}),
        Call((A, B1), {"assume_a": "tridiagonal", "transposed": True}, (0, 1)),
        Call((np.triu(np.tril(A, 2), -1), B1), {"assume_a": "banded"}, (0, 1)),
        Call((A, B2), {"assume_a": "upper triangular"}, (0, 1)),
        Call((A, B1), {"assume_a": "lower triangular", "transposed": True}, (0, 1)),
        Call((Z, ZB), {"assume_a": "upper triangular"}),
        Call((STACK, B1), {}, (0, 1)), Call((STACK, B2), {"assume_a": "pos"}),
        Call((SPD_STACK[0], np.stack([B2, B2])), {"assume_a": "sym"}, (0, 1)),
        Call((np.array([[2.5]]), np.array([1.0, -2.0])), {}, (0, 1)),   # SciPy's 1x1 case
        Call((np.array(2.5), np.array(-2.0)), {}, (0, 1)),               # scalars: 1x1 and (1,)
    ],
    "solve_triangular": [
        Call((A, B1), {}, (0, 1)), Call((A, B2), {"lower": True}, (0, 1)),
        Call((A, B2), {"trans": 1}, (0, 1)), Call((A, B1), {"trans": "T", "lower": True}),
        Call((Z, ZB), {"trans": 2}, (0, 1)), Call((Z, ZB), {"trans": "C", "lower": True}),
        Call((A, B2), {"trans": "N", "unit_diagonal": True}, (0, 1)),
        Call((Z, ZB), {"unit_diagonal": True, "lower": True}, (0, 1)),
        Call((A, B1), {"overwrite_b": True, "check_finite": False}),
        Call((STACK, B2), {"lower": True}, (0, 1)), Call((A, np.stack([B2, B2])), {}, (0, 1)),
    ],
    "cho_factor": [
        Call((ASYM.T,), {}, outputs=_cho_c), Call((ASYM,), {"lower": True}, outputs=_cho_c),
        Call((HPD,), {"lower": True}, outputs=_cho_c),
        Call((SPD,), {"overwrite_a": True, "check_finite": False}, outputs=_cho_c),
        Call((SPD_STACK,), {}, outputs=_cho_c),
    ],
    "cho_solve": [
        Call(((sl.cho_factor(SPD)[0], False), B1), {}, (1,)),
        Call(((sl.cho_factor(SPD, lower=True)[0], True), B2), {"overwrite_b": True}, (1,)),
        Call(((sl.cho_factor(HPD)[0], False), ZB), {"check_finite": False}, (1,)),
        Call(((sl.cho_factor(SPD_STACK)[0], False), B2), {}, (1,)),
    ],
    "lu_factor": [
        Call((A,), {}, outputs=_lu_pair), Call((Z,), {"overwrite_a": True}, outputs=_lu_pair),
        Call((WIDE,), {"check_finite": False}, outputs=_lu_pair),
        Call((TALL,), {}, outputs=_lu_pair), Call((STACK,), {}, outputs=_lu_pair),
    ],
    "lu_solve": [
        Call((sl.lu_factor(A), B1), {}, (1,)), Call((sl.lu_factor(A), B2), {"trans": 1}, (1,)),
        Call((sl.lu_factor(Z), ZB), {"trans": 2, "overwrite_b": True}, (1,)),
        Call((sl.lu_factor(A), B2), {"check_finite": False}, (1,)),
        Call((sl.lu_factor(STACK), B2), {"trans": 1}, (1,)),
    ],
    "lu": [
        Call((A,), {}, outputs=_lu_parts), Call((Z,), {"permute_l": True}),
        Call((WIDE,), {"p_indices": True}, outputs=_lu_parts),
        Call((TALL,), {"permute_l": True, "p_indices": True}),
        Call((TALL,), {"overwrite_a": True, "check_finite": False}, outputs=_lu_parts),
        Call((STACK,), {}, outputs=_lu_parts),
    ],
    "cholesky": [
        Call((ASYM.T,), {}), Call((ASYM,), {"lower": True}), Call((HPD,), {}),
        Call((SPD,), {"overwrite_a": True, "check_finite": False}), Call((SPD_STACK,), {"lower": True}),
    ],
    "inv": [
        Call((A,), {}), Call((Z,), {"overwrite_a": True, "check_finite": False}),
        Call((A,), {"assume_a": "general"}), Call((A,), {"assume_a": "gen"}),
        Call((A,), {"assume_a": "diagonal"}),
        Call((A,), {"assume_a": "upper triangular"}), Call((Z,), {"assume_a": "lower triangular"}),
        Call((ASYM,), {"assume_a": "pos", "lower": True}), Call((HPD,), {"assume_a": "pos"}),
        Call((ASYM,), {"assume_a": "sym", "lower": True}), Call((Z,), {"assume_a": "sym"}),
        Call((HPD,), {"assume_a": "her", "lower": True}), Call((STACK,), {}),
    ],
    "det": [
        Call((A,), {}), Call((Z,), {"overwrite_a": True}), Call((STACK,), {"check_finite": False}),
    ],
    "eigh": [
        Call((SPD,), {}, outputs=_phase_free), Call((ASYM,), {"lower": True}, outputs=_phase_free),
        Call((ASYM.T,), {"lower": False, "eigvals_only": True}),
        Call((HPD,), {"driver": "evd"}, outputs=_phase_free),
        Call((SPD,), {"subset_by_index": (1, 2), "driver": "evr"}, outputs=_phase_free),
        Call((SPD,), {"subset_by_value": (-np.inf, 14.0), "driver": "evx"}, outputs=_phase_free),
        Call((SPD,), {"driver": "ev", "overwrite_a": True, "check_finite": False},
             outputs=_phase_free),
        Call((SPD, SPD2), {}, (0, 1), outputs=_phase_free),
        Call((SPD, SPD2), {"type": 2, "lower": False, "driver": "gvd"}, (0, 1), outputs=_phase_free),
        Call((SPD, SPD2), {"type": 3, "overwrite_b": True, "driver": "gv"}, (0, 1),
             outputs=_phase_free),
        Call((HPD, SPD2 + 0j), {"type": 1, "driver": "gvx"}, (0, 1), outputs=_phase_free),
        Call((SPD_STACK,), {}, outputs=_phase_free),
    ],
    "eigvalsh": [
        Call((SPD,), {}), Call((ASYM.T,), {"lower": False}), Call((HPD,), {"driver": "evr"}),
        Call((SPD,), {"subset_by_index": (0, 1), "overwrite_a": True}),
        Call((SPD,), {"subset_by_value": (5.0, np.inf), "check_finite": False}),
        Call((SPD, SPD2), {"type": 3, "overwrite_b": True}, (0, 1)),
        Call((SPD_STACK,), {}),
    ],
    "solve_banded": [
        Call(((1, 2), AB, BB), {}, (1, 2)),
        Call(((1, 2), AB + 1j * AB[::-1], BB), {"overwrite_ab": True}, (1, 2)),
        Call(((2, 1), AB, np.stack([BB, BB], axis=1)), {"overwrite_b": True, "check_finite": False},
             (1, 2)),
        Call(((0, 0), np.array([[2.0, -3.0, 0.5]]), np.array([1.0, 2.0, 3.0])), {}, (1, 2)),
        Call(((1, 1), np.stack([AB[1:], 2 * AB[1:]]), BB), {}, (1, 2)),
    ],
    "block_diag": [
        Call((A[:2, :3], np.array(2.5), B1[:3], np.ones((2, 0))), {}, (0, 1, 2)),
        Call((Z[:2], A[:1, :2]), {}, (0, 1)), Call((), {}, ()),
        Call((STACK[:, :2, :3], B2, np.ones((1, 1, 1))), {}, (0, 1)),
    ],
    "toeplitz": [
        Call((C3, R4), {}, (0, 1)), Call((C3 + 1j * C3[::-1],), {}, (0,)),
        Call((np.stack([C3, -C3]), R4), {}, (0, 1)), Call((np.array(1.5),), {}, (0,)),
    ],
    "circulant": [
        Call((R4,), {}), Call((R4 + 1j,), {}), Call((np.stack([C3, 2 * C3]),), {}),
    ],
}

# the functions of this module (the matrix functions it re-exports are tested in their own)
OWN = [name for name in dl.__all__ if name not in dmf.__all__]

CASES = [(name, i, call) for name, calls in CALLS.items() for i, call in enumerate(calls)]
IDS = [f"{name}-{i}" for name, i, _ in CASES]


def _scipy(name, args, kwargs):
    """SciPy's value, on copies (its overwrite_* may write into them)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(sl, name)(*[_copy(a) for a in args], **kwargs)


def _leaves(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _comparable(name, out):
    if name in ("eigh",):
        return _phase_free(out)
    return out


@pytest.mark.parametrize("name, i, call", CASES, ids=IDS)
def test_value_matches_scipy(name, i, call):
    expected = _leaves(_comparable(name, _scipy(name, call.args, call.kwargs)))
    got = _leaves(_comparable(name, getattr(dl, name)(*call.args, **call.kwargs)))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        if isinstance(e, (bool, np.bool_)) or np.asarray(e).dtype == bool:
            np.testing.assert_array_equal(g, e)
            continue
        g = np.asarray(ad.core.primal(g))
        assert g.shape == np.shape(e) and g.dtype == np.asarray(e).dtype, (g.shape, g.dtype)
        np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name, i, call", [c for c in CASES if c[2].diff],
                         ids=[i for i, c in zip(IDS, CASES) if c[2].diff])
def test_derivatives_by_finite_differences(name, i, call):
    function = getattr(dl, name)
    pick = call.outputs or (lambda out: out)

    def f(*diffed):
        args = list(call.args)
        for position, value in zip(call.diff, diffed):
            args[position] = value
        return pick(function(*args, **call.kwargs))
    check_grads(f, [call.args[p] for p in call.diff], order=2, atol=1e-5, rtol=1e-5)


def test_every_parameter_is_exercised():
    """Each parameter of SciPy's signature is passed by some call above,
    at a value other than its default where it has one."""
    for name in OWN:
        if name in DECOMPOSITION_CALLS:  # test_decomposition_every_parameter_value_and_derivatives
            continue
        signature = inspect.signature(getattr(sl, name))
        seen = set()
        for call in CALLS[name]:
            bound = signature.bind(*call.args, **call.kwargs)
            for key, value in bound.arguments.items():
                default = signature.parameters[key].default
                if default is inspect.Parameter.empty or not _equal(value, default):
                    seen.add(key)
        missing = set(signature.parameters) - seen
        assert not missing, f"{name}: parameters never exercised: {sorted(missing)}"
        assert inspect.signature(getattr(dl, name)) == signature, name


def _equal(value, default):
    try:
        return bool(value == default)
    except (ValueError, TypeError):
        return False


@pytest.mark.parametrize("name", [n for n in CALLS if n not in ("block_diag", "toeplitz", "circulant")])
def test_overwrite_never_writes_and_check_finite_checks(name):
    """overwrite_* is honoured by never writing into the inputs;
    check_finite=True raises SciPy's ValueError for a NaN, as SciPy does."""
    for call in CALLS[name]:
        args = [_copy(a) for a in call.args]
        getattr(dl, name)(*args, **call.kwargs)
        for before, after in zip(call.args, args):
            _assert_same_tree(before, after)
    call = CALLS[name][0]
    position = call.diff[0]
    args = list(call.args)
    bad = np.array(args[position], dtype=np.result_type(args[position], float))
    bad.flat[0] = np.nan
    args[position] = bad
    for module in (sl, dl):
        with pytest.raises(ValueError, match="infs or NaNs"):
            getattr(module, name)(*[_copy(a) for a in args], **call.kwargs)


def _copy(a):
    if isinstance(a, (tuple, list)):
        return tuple(_copy(x) for x in a)
    return a if isinstance(a, (bool, int)) else np.array(a, copy=True)


def _assert_same_tree(x, y):
    if isinstance(x, (tuple, list)):
        for u, v in zip(x, y):
            _assert_same_tree(u, v)
    else:
        np.testing.assert_array_equal(x, y)


# ---- what each function reads ----------------------------------------------------------------------
def _gradient(f, x):
    return ad.grad(lambda x: np.sum(f(x) * WEIGHTS[:shape(f, x)].reshape(np.shape(f(x)))))(x)


WEIGHTS = RNG.standard_normal(64)


def shape(f, x):
    return int(np.size(f(x)))


@pytest.mark.parametrize("f, unread", [
    (lambda a: dl.solve(a, B1, assume_a="sym"), np.tri(N, k=-1, dtype=bool)),
    (lambda a: dl.solve(a, B1, assume_a="pos", lower=True), ~np.tri(N, dtype=bool)),
    (lambda a: dl.solve(a, B1, assume_a="diagonal"), ~np.eye(N, dtype=bool)),
    (lambda a: dl.solve(a, B1, assume_a="tridiagonal"),
     np.abs(np.subtract.outer(np.arange(N), np.arange(N))) > 1),
    (lambda a: dl.solve(a, B1, assume_a="lower triangular"), ~np.tri(N, dtype=bool)),
    (lambda a: dl.solve_triangular(a, B1, unit_diagonal=True), np.tri(N, dtype=bool)),
    (lambda a: dl.solve_triangular(a, B1, lower=True, trans=1), ~np.tri(N, dtype=bool)),
    (lambda a: dl.cholesky(a), np.tri(N, k=-1, dtype=bool)),
    (lambda a: dl.cho_solve(dl.cho_factor(a, lower=True), B1), ~np.tri(N, dtype=bool)),
    (lambda a: dl.eigvalsh(a, lower=False), np.tri(N, k=-1, dtype=bool)),
    (lambda a: dl.inv(a, assume_a="upper triangular"), np.tri(N, k=-1, dtype=bool)),
])
def test_unread_entries_have_zero_derivative_and_do_not_change_the_value(f, unread):
    """The function SciPy computes ignores those entries: its value does not
    move when they do (checked against SciPy), and their derivative is 0
    exactly, while the entries read have nonzero derivative."""
    x = SPD + 0.1 * A
    moved = np.where(unread, x + 7.0, x)
    np.testing.assert_allclose(f(moved), f(x), rtol=1e-12)
    g = _gradient(f, x)
    assert np.all(g[unread] == 0)
    assert np.all(g[~unread] != 0)


def test_cho_factor_other_triangle_is_scipys_and_differentiates():
    """c's unused triangle holds a's entries, as SciPy's does; its
    derivative in a is the identity there."""
    for lower in (False, True):
        c, low = dl.cho_factor(ASYM if lower else ASYM.T, lower=lower)
        c0, low0 = sl.cho_factor(ASYM if lower else ASYM.T, lower=lower)
        np.testing.assert_allclose(c, c0, rtol=1e-12)
        assert low == low0 == lower
    unused = np.triu(np.ones((N, N), bool), 1)
    jac = ad.jacfwd(lambda a: dl.cho_factor(a, lower=True)[0])(ASYM)
    for i, j in zip(*np.nonzero(unused)):
        expected = np.zeros((N, N))
        expected[i, j] = 1.0
        np.testing.assert_array_equal(jac[i, j], expected)


def test_gaussian_process_log_likelihood_order_two():
    """0.5 yᵀ K⁻¹ y + Σ log diag(c): cho_factor's c carries the derivative
    into cho_solve and the log-determinant term; at order 2, in every
    nesting, against finite differences; the gradient is the known
    -½ K⁻¹ y yᵀ K⁻¹ + ½ K⁻¹ of the upper triangle read."""
    y = B1

    def nll(k):
        c, low = dl.cho_factor(k)
        return 0.5 * y @ dl.cho_solve((c, low), y) + np.sum(np.log(np.diag(c)))
    np.testing.assert_allclose(nll(SPD), 0.5 * y @ np.linalg.solve(SPD, y)
                               + 0.5 * np.linalg.slogdet(SPD)[1], rtol=1e-12)
    check_grads(nll, (SPD,), order=2)
    sym = lambda k: np.triu(k) + np.triu(k, 1).T                          # noqa: E731
    full = lambda k: (0.5 * y @ np.linalg.solve(sym(k), y)                 # noqa: E731
                      + 0.5 * np.linalg.slogdet(sym(k))[1])
    np.testing.assert_allclose(ad.grad(nll)(SPD), ad.grad(full)(SPD), rtol=1e-10, atol=1e-12)
    h_fr = ad.hessian(nll)(SPD)                     # forward-over-reverse
    h_rr = ad.jacrev(ad.grad(nll))(SPD)             # reverse-over-reverse
    np.testing.assert_allclose(h_fr, h_rr, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(h_rr, ad.jacrev(ad.grad(full))(SPD), rtol=1e-8, atol=1e-10)
    v = RNG.standard_normal(SPD.shape)
    products = [ad.hvp(nll, SPD, v, mode=mode) for mode in ad.HVP_MODES]
    for p in products[1:]:
        np.testing.assert_allclose(p, products[0], rtol=1e-9, atol=1e-11)


def test_lu_factor_and_lu_solve_differentiate_together():
    """lu_solve(lu_factor(a), b) is a⁻¹ b: its derivatives are those of np.linalg.solve."""
    for t, ref in ((0, lambda a, b: np.linalg.solve(a, b)),
                   (1, lambda a, b: np.linalg.solve(a.T, b))):
        f = lambda a, b: _lu_factor_solve(a, b, trans=t)                   # noqa: E731
        for argnum in (0, 1):
            np.testing.assert_allclose(ad.jacrev(f, argnum)(A, B2), ad.jacfwd(ref, argnum)(A, B2),
                                       rtol=1e-9, atol=1e-12)


def test_lu_reconstructs_and_p_indices_agree():
    for a in (A, WIDE, TALL, Z):
        p, low, up = dl.lu(a)
        np.testing.assert_allclose(p @ low @ up, a, atol=1e-12)
        idx, low2, up2 = dl.lu(a, p_indices=True)
        np.testing.assert_allclose(low2[idx] @ up2, a, atol=1e-12)
        pl, up3 = dl.lu(a, permute_l=True)
        np.testing.assert_allclose(pl @ up3, a, atol=1e-12)
    # the reconstruction P L U differentiates to the identity
    jac = ad.jacfwd(lambda a: (lambda p, l, u: p @ l @ u)(*dl.lu(a)))(TALL)
    np.testing.assert_allclose(jac, np.eye(TALL.size).reshape(TALL.shape * 2), atol=1e-12)


# ---- stacks and vector mode ----------------------------------------------------------------------
@pytest.mark.parametrize("f, args", [
    (lambda a, b: dl.solve(a, b), (STACK, B2)),
    (lambda a, b: dl.solve_triangular(a, b, lower=True), (STACK, B1)),
    (lambda a, b: _cho_factor_solve(a, b), (SPD_STACK, B2)),
    (lambda a, b: _lu_factor_solve(a, b, trans=1), (STACK, B1)),
    (lambda a, b: dl.solve(a, b, assume_a="pos"), (SPD_STACK, B2)),
    (lambda a, b: dl.lu(a)[1] * 1.0 + dl.lu(a)[2] + b[0, 0], (STACK, B2)),
    (lambda a, b: dl.solve_triangular(a, b, trans=1), (A, np.stack([B2, -B2]))),
    (lambda a, b: _lu_factor_solve(a, b), (A, np.stack([B2, -B2]))),
], ids=["solve", "solve_triangular", "cho", "lu_solve", "solve-pos", "lu", "solve_triangular-b-stack",
        "lu_solve-b-stack"])
def test_vector_mode_agrees_with_reverse_mode(f, args):
    """jacfwd (k directions at once, batched tangents) equals jacrev, for
    stacks of matrices whose right-hand side has no stack."""
    for argnum in (0, 1):
        fwd = ad.jacfwd(f, argnum)(*args)
        rev = ad.jacrev(f, argnum)(*args)
        np.testing.assert_allclose(fwd, rev, rtol=1e-9, atol=1e-12)
    directions = RNG.standard_normal((3,) + args[0].shape)
    _, batched = ad.jvp(lambda a: f(a, args[1]), (args[0],), (directions,), batched=True)
    for k in range(3):
        _, single = ad.jvp(lambda a: f(a, args[1]), (args[0],), (directions[k],))
        np.testing.assert_allclose(batched[k], single, rtol=1e-10, atol=1e-12)


def test_hessian_nestings_agree():
    f = lambda a: np.sum(dl.inv(dl.lu_solve(dl.lu_factor(a), a @ a)) ** 2)    # noqa: E731
    g = lambda a: np.sum(dl.eigvalsh(a, SPD2, type=2) ** 3)                     # noqa: E731
    for fn, x in ((f, A), (g, SPD)):
        fr = ad.jacfwd(ad.grad(fn))(x)
        rr = ad.jacrev(ad.grad(fn))(x)
        np.testing.assert_allclose(fr, rr, rtol=1e-8, atol=1e-10)


# ---- refusals and errors -------------------------------------------------------------------------
@pytest.mark.parametrize("call, name", [
    (lambda x: dl.solve(A, B1, lower=x), "lower"),
    (lambda x: dl.solve(A, B1, transposed=x), "transposed"),
    (lambda x: dl.solve_triangular(A, B1, unit_diagonal=x), "unit_diagonal"),
    (lambda x: dl.cho_factor(SPD, lower=x), "lower"),
    (lambda x: dl.lu(A, permute_l=x), "permute_l"),
    (lambda x: dl.lu_solve((A, np.arange(N, dtype=np.int32) + 0 * x), B1), "lu_and_piv"),
    (lambda x: dl.eigh(SPD, eigvals_only=x), "eigvals_only"),
    (lambda x: dl.eigh(SPD_STACK, subset_by_value=(x, 20.0)), "subset_by_value"),
    (lambda x: dl.solve_banded((x, 2), AB, BB), "l_and_u"),
    (lambda x: dl.cho_solve((SPD, x), B1), "c_and_lower"),
    (lambda x: dl.cho_solve((SPD_STACK, np.array([True, False])), B1 * x), "c_and_lower"),
])
def test_refused_by_name(call, name):
    with pytest.raises(TypeError, match=name):
        ad.grad(lambda x: np.sum(call(x)))(1.0)


def test_errors_match_scipys():
    for args, kwargs, error in [
        ((A, B1), {"assume_a": "nonsense"}, ValueError),
        ((Z, ZB), {"transposed": True}, NotImplementedError),
        ((A, B1[:3]), {}, ValueError),
        ((A[:3], B1), {}, ValueError),
        ((-SPD, B1), {"assume_a": "pos"}, np.linalg.LinAlgError),
        ((np.diag([1.0, 0.0, 2.0, 3.0]), B1), {"assume_a": "diagonal"}, np.linalg.LinAlgError),
        ((np.zeros((N, N)), B1), {}, np.linalg.LinAlgError),
    ]:
        for module in (sl, dl):
            with pytest.raises(error):
                module.solve(*args, **kwargs)
    for module in (sl, dl):
        with pytest.raises(np.linalg.LinAlgError):
            module.cholesky(-SPD)
        with pytest.raises(np.linalg.LinAlgError):
            module.cho_factor(-SPD)
        with pytest.raises(KeyError):
            module.inv(A, assume_a="tridiagonal")
        with pytest.raises(ValueError, match="index or value"):
            module.eigh(SPD, subset_by_index=(0, 1), subset_by_value=(0, 1))
        with pytest.raises(ValueError, match="not valid"):
            module.eigh(SPD, subset_by_index=(2, 1))
        with pytest.raises(ValueError):
            module.eigh(SPD, driver="gv")
        with pytest.raises(ValueError, match="cannot compute subsets"):
            module.eigh(SPD, driver="evd", subset_by_index=(0, 1))
        with pytest.raises(ValueError):
            module.eigh(SPD, SPD2, type=4)
        with pytest.raises(ValueError, match="l\\+u\\+1"):
            module.solve_banded((1, 1), AB, BB)


@pytest.mark.parametrize("name", OWN)
def test_scipys_own_function_names_the_drop_in(name):
    """SciPy's function, called on a traced value, raises an error naming
    the dualad.scipy.linalg function of the same name."""
    call = CALLS[name][0] if name in CALLS else DECOMPOSITION_CALLS[name][0]
    position = call.diff[0] if call.diff else 0

    def f(x):
        args = list(call.args)
        args[position] = x
        out = getattr(sl, name)(*args, **call.kwargs)
        return np.sum(np.abs(_leaves(out)[0]))
    x = call.args[position] if call.args else np.ones((1, 1))
    x = np.real(x) if np.iscomplexobj(x) else x
    with pytest.raises(TypeError, match=f"use dualad.scipy.linalg.{name} "):
        ad.grad(f)(x)


# ---- qr (and svd): thin wrappers over np.linalg.qr / np.linalg.svd, whose rules are
# dualad.rules' own; tested apart from the table above on purpose --------------------------------
def _svd_invariants(out):
    """U diag(s) Vh's factors as sign-free quantities: s, |U|², |Vh|² of the
    leading min(M, N) singular pairs, and U[:, :k] * conj(Vh[:k])ᵀ's outer
    products summed (U S Vh itself)."""
    if not isinstance(out, (tuple, list)):
        return out
    u, s, vh = out
    k = s.shape[-1]
    u1, vh1 = u[..., :, :k], vh[..., :k, :]
    return s, np.real(u1 * np.conj(u1)), np.real(vh1 * np.conj(vh1)), (u1 * s[..., None, :]) @ vh1


def _qr_invariants(out):
    """(Q, R) with each column of Q and row of R signed so that R's diagonal
    is nonnegative (the Householder convention may differ between LAPACK
    drivers); a pivoting call's permutation left out (compared on its own)."""
    q, r = out[0], out[1]
    k = min(r.shape[-2], r.shape[-1])
    sign = np.where(np.real(np.diagonal(r, 0, -2, -1)[..., :k]) < 0, -1.0, 1.0)
    return q[..., :, :k] * sign[..., None, :], r[..., :k, :] * sign[..., :, None]


DECOMPOSITION_CALLS = {
    "svd": [
        Call((TALL,), {}, outputs=_svd_invariants), Call((WIDE,), {"full_matrices": False},
                                                         outputs=_svd_invariants),
        Call((Z,), {"lapack_driver": "gesvd", "overwrite_a": True}, outputs=_svd_invariants),
        Call((A,), {"compute_uv": False, "check_finite": False}),
        Call((STACK,), {}, outputs=_svd_invariants),
    ],
    "qr": [
        Call((TALL,), {}, outputs=_qr_invariants), Call((WIDE,), {"mode": "economic"},
                                                        outputs=_qr_invariants),
        Call((TALL,), {"mode": "r"}), Call((WIDE,), {"mode": "r", "lwork": -1}),
        Call((Z,), {"pivoting": True, "overwrite_a": True}, outputs=_qr_invariants),
        Call((TALL,), {"mode": "economic", "pivoting": True, "lwork": 3, "check_finite": False},
             outputs=_qr_invariants),
        Call((STACK,), {"lwork": 4}, outputs=_qr_invariants),
    ],
}


def _values_of(out, pick):
    return [np.asarray(ad.core.primal(x)) for x in _leaves(pick(out) if pick else out)]


@pytest.mark.parametrize("name", sorted(DECOMPOSITION_CALLS))
def test_decomposition_every_parameter_value_and_derivatives(name):
    """qr (and svd): np.linalg.qr / np.linalg.svd underneath; every parameter
    of SciPy's signature is exercised; values equal SciPy's up to the signs
    (phases) of singular vectors and Householder columns; derivatives by
    finite differences at order 2 on the sign-free quantities; the
    permutation of pivoting is SciPy's."""
    signature = inspect.signature(getattr(sl, name))
    assert inspect.signature(getattr(dl, name)) == signature
    seen = set()
    for call in DECOMPOSITION_CALLS[name]:
        bound = signature.bind(*call.args, **call.kwargs)
        seen |= {k for k, v in bound.arguments.items()
                 if signature.parameters[k].default is inspect.Parameter.empty
                 or not _equal(v, signature.parameters[k].default)}
        expected = _scipy(name, call.args, call.kwargs)
        args = [_copy(a) for a in call.args]
        got = getattr(dl, name)(*args, **call.kwargs)
        _assert_same_tree(tuple(call.args), tuple(args))        # overwrite_a: never written
        assert len(_leaves(got)) == len(_leaves(expected))
        for g, e in zip(_leaves(got), _leaves(expected)):
            assert np.shape(g) == np.shape(e) and np.asarray(g).dtype == np.asarray(e).dtype
        for g, e in zip(_values_of(got, call.outputs), _values_of(expected, call.outputs)):
            np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-12)
        if call.kwargs.get("pivoting"):
            np.testing.assert_array_equal(got[-1], expected[-1])
        pick = call.outputs or (lambda out: out)
        check_grads(lambda x: pick(getattr(dl, name)(x, *call.args[1:], **call.kwargs)),
                    (call.args[0],), order=2, atol=1e-5, rtol=1e-5)
    assert seen == set(signature.parameters), sorted(set(signature.parameters) - seen)


def test_qr_refusals_and_errors():
    with pytest.raises(TypeError, match="mode"):
        dl.qr(A, mode="raw")
    for module in (sl, dl):
        with pytest.raises(ValueError, match="Mode argument"):
            module.qr(A, mode="reduced")
        with pytest.raises(Exception, match="lwork"):
            module.qr(TALL, lwork=3)
        with pytest.raises(ValueError, match="infs or NaNs"):
            module.qr(np.full((2, 2), np.nan))


def test_svd_errors():
    for module in (sl, dl):
        with pytest.raises(ValueError, match="lapack_driver"):
            module.svd(A, lapack_driver="gesvj")
        with pytest.raises(ValueError, match="expected matrix"):
            module.svd(B1)
        with pytest.raises(ValueError, match="infs or NaNs"):
            module.svd(np.full((2, 2), np.nan))


def test_matrix_functions_are_re_exported():
    """SciPy's matrix functions are in scipy.linalg, so dualad's are in
    dualad.scipy.linalg too -- the name their errors give."""
    for name in dmf.__all__:
        assert getattr(dl, name) is getattr(dmf, name)
    with pytest.raises(TypeError, match="use dualad.scipy.linalg.expm "):
        ad.grad(lambda x: np.sum(sl.expm(x)))(A / 4)
    x = A / 4
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(dl.expm(x)))(x),
                               ad.grad(lambda x: np.sum(dmf.expm(x)))(x))
