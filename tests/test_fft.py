"""numpy.fft: every transform at order 2 in both modes, NumPy's values, the
Hermitian weighting of irfft, vector mode, and refusals by name.

Derivatives are checked by ``check_grads`` (finite differences along random
real and imaginary directions, the dot-product identity, all four nestings)
or against values worked out by hand -- the round trips below are
identities, cuts and zero-pads -- never against the rules' own formulas.

The module also exports a ``HONOURED`` table (tests/test_keywords.py): every
parameter of every registered numpy.fft function, with calls that use it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads, numerical_grad

RNG = np.random.default_rng(5)
X = RNG.standard_normal((3, 6))
Z = X + 1j * RNG.standard_normal((3, 6))
X3 = RNG.standard_normal((2, 3, 4))
Z3 = X3 + 1j * RNG.standard_normal((2, 3, 4))
X7 = RNG.standard_normal(7)
X8 = RNG.standard_normal(8)
NORMS = [None, "backward", "ortho", "forward"]

HONOURED = {}
for _name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft"):
    _a = X if _name in ("rfft", "ihfft") else Z
    HONOURED[getattr(np.fft, _name)] = {
        "a": [((_a,), {}), ((X8,), {})],
        "n": [((_a, 4), {}), ((_a, 9), {}), ((_a,), {"n": 5})],
        "axis": [((_a,), {"axis": 0}), ((_a, 4, -2), {})],
        "norm": [((_a,), {"norm": norm}) for norm in NORMS[1:]] + [((_a, 5, 0, "ortho"), {})],
    }
for _name in ("fftn", "ifftn", "fft2", "ifft2", "rfftn", "rfft2", "irfftn", "irfft2"):
    _a = X3 if _name.startswith("rfft") else Z3
    HONOURED[getattr(np.fft, _name)] = {
        "a": [((_a,), {}), ((X,), {})],
        "s": [((_a, (3, 5)), {"axes": (0, 2)}), ((_a, (2, -1)), {"axes": (-1, 1)})],
        "axes": [((_a,), {"axes": (0, 2)}), ((_a,), {"axes": [-1, 0]}), ((_a, None, (1,)), {})],
        "norm": [((_a,), {"norm": norm}) for norm in NORMS[1:]],
    }
for _shift in (np.fft.fftshift, np.fft.ifftshift):
    HONOURED[_shift] = {"x": [((Z3,), {}), ((X,), {})],
                        "axes": [((X3, 1), {}), ((Z3,), {"axes": (0, -1)}), ((X3, [2]), {})]}


# ---- the 1-D transforms, every combination ------------------------------------------------
ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
REAL_ONLY = {"rfft", "ihfft"}  # NumPy refuses complex input
# X and Z have 6 entries along axis -1 and 3 along axis 0: these lengths cut
# and zero-pad along both, odd and even (irfft reads n//2 + 1 of them)
LENGTHS = [None, 1, 2, 4, 5, 8, 9]
ONE_D_CASES = [(name, kind, n, axis, norm)
               for name, kind, n, axis, norm in itertools.product(
                   ONE_D, ["real", "complex"], LENGTHS, [0, -1], NORMS)
               if not (kind == "complex" and name in REAL_ONLY)]


def _one_d(name, n, axis, norm):
    transform = getattr(np.fft, name)
    return lambda a: transform(a, n, axis, norm)


@pytest.mark.parametrize("name, kind, n, axis, norm", ONE_D_CASES,
                         ids=[f"{c[0]}-{c[1]}-n{c[2]}-axis{c[3]}-{c[4]}" for c in ONE_D_CASES])
def test_one_dimensional_transform(name, kind, n, axis, norm):
    a = X if kind == "real" else Z
    f = _one_d(name, n, axis, norm)
    _assert_numpy_value(f, a)
    check_grads(f, (a,), order=2, modes=("fwd", "rev"))


def _assert_numpy_value(f, *args):
    """The traced value is NumPy's, dtype included, in both modes."""
    want = f(*args)
    for got in (ad.jvp(f, args, tuple(np.ones_like(a) for a in args))[0], ad.vjp(f, *args)[0]):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)


# ---- n-dimensional transforms -----------------------------------------------------------------
ND = ["fftn", "ifftn", "fft2", "ifft2", "rfftn", "rfft2", "irfftn", "irfft2"]
SHAPES_AND_AXES = [
    (None, None), (None, (0, 2)), (None, (-1, 0)), ((3, 5), (1, 2)), ((2, -1, 3), (2, 0, 1)),
    ((4,), (0,)), ((2, 7), (0, 0)), ((5, 2), (-1, -3)),
]
ND_CASES = [(name, kind, s, axes, norm)
            for name, kind, (s, axes), norm in itertools.product(
                ND, ["real", "complex"], SHAPES_AND_AXES, [None, "ortho", "forward"])
            if not (kind == "complex" and name.startswith("rfft"))
            and not (name.endswith("2") and (axes is None or len(axes) != 2))]


@pytest.mark.parametrize("name, kind, s, axes, norm", ND_CASES,
                         ids=[f"{c[0]}-{c[1]}-s{c[2]}-axes{c[3]}-{c[4]}" for c in ND_CASES])
def test_n_dimensional_transform(name, kind, s, axes, norm):
    a = X3 if kind == "real" else Z3
    transform = getattr(np.fft, name)
    kwargs = {"norm": norm} | ({} if s is None else {"s": s})
    kwargs |= {} if axes is None else {"axes": axes}
    f = lambda a: transform(a, **kwargs)
    _assert_numpy_value(f, a)
    check_grads(f, (a,), order=2, modes=("fwd", "rev"))


def test_two_dimensional_defaults_transform_the_last_two_axes():
    for name in ("fft2", "ifft2", "rfft2", "irfft2"):
        f = getattr(np.fft, name)
        _assert_numpy_value(f, X3)
        check_grads(f, (X3,), order=2)


@pytest.mark.parametrize("name", ND)
def test_shapes_without_axes_warn_as_numpy_does(name):
    f = getattr(np.fft, name)
    with pytest.warns(DeprecationWarning):
        want = f(X3, (3, 4), None)
    with pytest.warns(DeprecationWarning):
        got, _ = ad.jvp(lambda a: f(a, (3, 4), None), (X3,), (X3,))
    np.testing.assert_array_equal(got, want)


# ---- shifts and frequencies -------------------------------------------------------------------
@pytest.mark.parametrize("shift", [np.fft.fftshift, np.fft.ifftshift],
                         ids=["fftshift", "ifftshift"])
@pytest.mark.parametrize("axes", [None, 0, -1, (0, 2), [1], (2, 2)])
def test_shifts(shift, axes):
    for a in (X3, Z3, X7):
        if axes is not None and np.ndim(a) == 1:
            continue
        f = lambda a: shift(a, axes)
        _assert_numpy_value(f, a)
        check_grads(f, (a,), order=2)


def test_ifftshift_undoes_fftshift():
    g = ad.grad(lambda a: np.sum(np.real(np.fft.ifftshift(np.fft.fftshift(a))) * X3))(Z3)
    np.testing.assert_array_equal(g, X3)


@pytest.mark.parametrize("freq", [np.fft.fftfreq, np.fft.rfftfreq], ids=["fftfreq", "rfftfreq"])
@pytest.mark.parametrize("n", [5, 6])
def test_frequencies_are_differentiated_in_the_spacing(freq, n):
    """fftfreq and rfftfreq are not dispatched by NumPy (no array argument):
    NumPy's own code computes ``integers * (1 / (n d))`` on the traced ``d``."""
    for d in (np.array(0.3), np.float32(0.3), 0.3):
        value, tangent = ad.jvp(lambda d: freq(n, d), (d,), (1.0,))
        want = freq(n, d)
        assert value.dtype == want.dtype
        np.testing.assert_allclose(value, want, rtol=1e-15)
        np.testing.assert_allclose(tangent, -want / 0.3, rtol=1e-6)  # d/dd (k / (n d))
    check_grads(lambda d: freq(n, d), (np.array(0.3),), order=2)
    _, tangent = ad.jvp(lambda d: freq(n, d, device="cpu"), (0.3,), (1.0,))
    np.testing.assert_allclose(tangent, -freq(n, 0.3) / 0.3, rtol=1e-12)


# ---- dtypes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ONE_D + ND)
def test_float32_stays_single_precision(name):
    transform = getattr(np.fft, name)
    a = X3.astype(np.float32)
    _assert_numpy_value(transform, a)
    if name not in REAL_ONLY and not name.startswith("rfft"):
        _assert_numpy_value(transform, Z3.astype(np.complex64))
    # a real function of a float32 input has a float32 gradient
    g = ad.grad(lambda a: np.sum(np.abs(transform(a)) ** 2))(a)
    assert g.dtype == np.float32


# ---- the Hermitian weighting of irfft -----------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 5, 6, 7, 8])
@pytest.mark.parametrize("length", ["exact", "shorter", "longer"])
@pytest.mark.parametrize("norm", NORMS)
def test_irfft_hermitian_weighting_against_finite_differences(n, length, norm):
    """irfft reads X_0 .. X_{n//2} and mirrors them, so X_j for 0 < j < n/2
    counts twice and X_0 (and X_{n/2} for even n) once, with its imaginary
    part ignored.  The gradient of ``sum(irfft(X, n) * c)`` is
    ``∂f/∂Re X − i ∂f/∂Im X``, here taken entry by entry by central
    differences in the real and the imaginary parts."""
    size = {"exact": n // 2 + 1, "shorter": max(n // 2, 1), "longer": n // 2 + 3}[length]
    rng = np.random.default_rng(n * 10 + size)
    X0 = rng.standard_normal(size) + 1j * rng.standard_normal(size)
    c = rng.standard_normal(n)
    f = lambda X: np.sum(np.fft.irfft(X, n, norm=norm) * c)
    g = ad.grad(f)(X0)
    d_re = numerical_grad(lambda re: f(re + 1j * X0.imag), X0.real)
    d_im = numerical_grad(lambda im: f(X0.real + 1j * im), X0.imag)
    np.testing.assert_allclose(g, d_re - 1j * d_im, rtol=1e-7, atol=1e-9)
    # the entries irfft ignores have no derivative: beyond n//2, and the
    # imaginary parts of the zero and (even n) Nyquist bins
    assert np.all(g[n // 2 + 1:] == 0)
    assert abs(g[0].imag) < 1e-12
    if n % 2 == 0 and size > n // 2:
        assert abs(g[n // 2].imag) < 1e-12
    # forward mode, along each real and imaginary unit direction, agrees
    for j, e in enumerate(np.eye(size)):
        d_re_j = ad.jvp(f, (X0,), (e + 0j,))[1]
        d_im_j = ad.jvp(f, (X0,), (1j * e,))[1]
        np.testing.assert_allclose(d_re_j - 1j * d_im_j, g[j], rtol=1e-12, atol=1e-12)


def test_irfft_of_a_real_spectrum_has_a_real_gradient():
    c = RNG.standard_normal(7)
    g = ad.grad(lambda X: np.sum(np.fft.irfft(X, 7) * c))(X8[:4])
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, numerical_grad(lambda X: np.sum(np.fft.irfft(X, 7) * c), X8[:4]),
                               rtol=1e-7, atol=1e-9)


# ---- round trips: identities, cuts and zero-pads -----------------------------------------------
@pytest.mark.parametrize("n", [6, 7, 4, 5, 11, 12])
@pytest.mark.parametrize("norm", NORMS)
def test_irfft_of_rfft_round_trip_in_every_mode(n, norm):
    """``irfft(rfft(x, n), n)`` is ``x`` cut or zero-padded to ``n`` entries
    (``x`` has 8 along the axis, so n = 4..7 cut it and 11, 12 pad it), for
    even and odd ``n``: its JVP is ``v`` fitted to n, the gradient of
    ``sum(c * y)`` is ``c`` fitted back to 8, and the Hessian of
    ``sum(y ** 2)`` is 2 on the kept entries and 0 on the cut ones."""
    x = RNG.standard_normal((2, 8))
    v = RNG.standard_normal((2, 8))
    c = RNG.standard_normal((2, n))
    keep = min(n, 8)

    def fit(a):
        return np.concatenate([a[:, :keep], np.zeros((2, n - keep))], axis=1)

    def back(a):
        return np.concatenate([a[:, :keep], np.zeros((2, 8 - keep))], axis=1)
    round_trip = lambda x: np.fft.irfft(np.fft.rfft(x, n, norm=norm), n, norm=norm)
    value, tangent = ad.jvp(round_trip, (x,), (v,))
    np.testing.assert_allclose(value, fit(x), atol=1e-13)
    np.testing.assert_allclose(tangent, fit(v), atol=1e-13)
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(c * round_trip(x)))(x), back(c), atol=1e-13)
    energy = lambda x: np.sum(round_trip(x) ** 2)
    for mode in ("fwd-over-rev", "rev-over-fwd", "rev-over-rev"):
        np.testing.assert_allclose(ad.hvp(energy, x, v, mode=mode), 2 * back(v), atol=1e-12)
    np.testing.assert_allclose(ad.linearize_grad(energy, x[0]).hvp(v[0]), 2 * back(v)[0],
                               atol=1e-12)
    check_grads(round_trip, (x,), order=2)


@pytest.mark.parametrize("name, inverse", [("fft", "ifft"), ("ifft", "fft"), ("fftn", "ifftn"),
                                           ("fft2", "ifft2"), ("hfft", "ihfft")])
def test_transform_then_inverse(name, inverse):
    """Each pair undoes itself, so the gradients of the real and imaginary
    parts of the round trip, paired with ``c``, are ``c`` and ``-i c``
    (∂/∂Re − i ∂/∂Im).  ``ihfft(hfft(a, 6), 6)`` reads ``a`` as the first
    half of a Hermitian signal: the imaginary parts of entries 0 and 3 (the
    zero and Nyquist bins) are dropped, and have no derivative."""
    forward, backward = getattr(np.fft, name), getattr(np.fft, inverse)
    if name == "hfft":
        round_trip = lambda a: backward(forward(a, 6), 6)
    else:
        round_trip = lambda a: backward(forward(a))
    c = RNG.standard_normal(Z3.shape)
    kept = np.ones(Z3.shape)
    if name == "hfft":
        kept[..., [0, 3]] = 0.0
    g_re = ad.grad(lambda a: np.sum(np.real(round_trip(a)) * c))(Z3)
    g_im = ad.grad(lambda a: np.sum(np.imag(round_trip(a)) * c))(Z3)
    np.testing.assert_allclose(g_re, c, atol=1e-13)
    np.testing.assert_allclose(g_im, -1j * c * kept, atol=1e-13)
    check_grads(round_trip, (Z3,), order=2)


def test_rfftn_then_irfftn_is_the_identity():
    c = RNG.standard_normal(X3.shape)
    g = ad.grad(lambda a: np.sum(np.fft.irfftn(np.fft.rfftn(a), a.shape, axes=(0, 1, 2)) * c))(X3)
    np.testing.assert_allclose(g, c, atol=1e-13)


def test_parseval_gradient_with_ortho_norm():
    """With norm='ortho' the DFT is unitary: ‖fft(z)‖² = ‖z‖², whose
    gradient is 2 conj(z) (dualad's convention: ∂/∂Re − i ∂/∂Im)."""
    g = ad.grad(lambda z: np.sum(np.abs(np.fft.fft(z, norm="ortho")) ** 2))(Z)
    np.testing.assert_allclose(g, 2 * np.conj(Z), rtol=1e-12)
    g = ad.grad(lambda x: np.sum(np.abs(np.fft.fft2(x, norm="ortho")) ** 2))(X)
    np.testing.assert_allclose(g, 2 * X, rtol=1e-12)


# ---- vector mode -------------------------------------------------------------------------
VECTOR = {
    "fft-axis0-pad": (lambda a: np.fft.fft(a, 5, axis=0), Z),
    "ifft-cut-ortho": (lambda a: np.fft.ifft(a, 4, norm="ortho"), Z),
    "rfft-odd": (lambda a: np.fft.rfft(a, 7, axis=0), X),
    "irfft-even-axis0": (lambda a: np.fft.irfft(a, 6, axis=0, norm="forward"), Z),
    "irfft-odd": (lambda a: np.fft.irfft(a, 9), Z),
    "rfft2": (lambda a: np.fft.rfft2(a, (4, 5)), X),
    "irfftn": (lambda a: np.fft.irfftn(a, axes=(0, 1)), Z),
    "hfft": (lambda a: np.fft.hfft(a, 7), Z),
    "filter": (lambda a: np.fft.irfft(np.fft.rfft(a) * np.fft.rfft(a[::-1]), 6) ** 2, X),
}


@pytest.mark.parametrize("name", sorted(VECTOR))
def test_vector_mode_equals_single_jvps(name):
    """k directions in one pass equal k single JVPs -- for the transform,
    and for its VJP map run on batched duals (forward-over-reverse with a
    batch axis, what ``hessian`` does)."""
    f, a = VECTOR[name]
    rng = np.random.default_rng(3)

    def directions(like, k=3):
        d = rng.standard_normal((k,) + np.shape(like))
        return d + 1j * rng.standard_normal(d.shape) if np.iscomplexobj(like) else d

    V = directions(a)
    _, batched = ad.jvp(f, (a,), (V,), batched=True)
    singles = np.stack([ad.jvp(f, (a,), (v,))[1] for v in V])
    np.testing.assert_allclose(batched, singles, rtol=1e-12, atol=1e-12)
    u = directions(f(a), 1)[0]
    vjp_map = lambda a, u: ad.vjp(f, a)[1](u)[0]
    U = directions(u)
    _, batched = ad.jvp(vjp_map, (a, u), (V, U), batched=True)
    singles = np.stack([ad.jvp(vjp_map, (a, u), (v, w))[1] for v, w in zip(V, U)])
    np.testing.assert_allclose(batched, singles, rtol=1e-12, atol=1e-12)


def test_hessian_through_a_filter():
    """``sum(irfft(rfft(x) * H) ** 2)`` is the quadratic form of the circulant
    C = irfft(H · rfft(·)): Hessian 2 CᵀC, with C's columns by transforming
    the identity in plain NumPy."""
    n = 8
    H = np.fft.rfft(RNG.standard_normal(n))
    C = np.fft.irfft(np.fft.rfft(np.eye(n), axis=0) * H[:, None], n, axis=0)
    f = lambda x: np.sum(np.fft.irfft(np.fft.rfft(x) * H, n) ** 2)
    np.testing.assert_allclose(ad.hessian(f)(X8), 2 * C.T @ C, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ad.jacrev(ad.jacrev(f))(X8), 2 * C.T @ C, rtol=1e-12, atol=1e-12)


def test_large_arrays_keep_no_values_on_the_tape():
    """The rules read only shapes and dtypes: above the tape's pruning size
    the transforms' inputs and outputs are kept as Residuals, in every mode."""
    n = 8192
    x = RNG.standard_normal(n)
    H = np.fft.rfft(RNG.standard_normal(n)) / n
    f = lambda x: np.sum(np.fft.irfft(np.fft.rfft(x) * H, n) ** 2)
    check_grads(f, (x,), order=2)
    v = RNG.standard_normal(n)
    hv = ad.hvp(f, x, v)
    np.testing.assert_allclose(ad.linearize_grad(f, x).hvp(v), hv, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ad.hvp(f, x, v, mode="rev-over-rev"), hv, rtol=1e-10, atol=1e-12)


# ---- NumPy's errors, and refusals by name ------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda a: np.fft.fft(a, 0),
    lambda a: np.fft.fft(a, 2.0),
    lambda a: np.fft.ifft(a, True),
    lambda a: np.fft.rfft(a, norm="x"),
    lambda a: np.fft.hfft(a, norm="x"),
    lambda a: np.fft.irfft(a[:, :1]),          # n = 0 by default
    lambda a: np.fft.fft(a, axis=2),
    lambda a: np.fft.fft(a[0, 0]),             # 0-d
    lambda a: np.fft.rfft(a * 1j),             # complex input
    lambda a: np.fft.fftn(a, (2, 3), axes=(0,)),
    lambda a: np.fft.fftshift(a, axes=3),
], ids=["n0", "n-float", "n-bool", "norm", "hfft-norm", "irfft-n0", "axis", "0-d", "rfft-complex",
        "s-axes-lengths", "shift-axis"])
def test_numpy_errors_are_numpys(call):
    with pytest.raises(Exception) as numpy_error:
        call(X)
    with pytest.raises(type(numpy_error.value)):
        ad.jvp(call, (X,), (X,))
    with pytest.raises(type(numpy_error.value)):
        ad.vjp(call, X)


REFUSED = [(name, getattr(np.fft, name)) for name in ONE_D + ND]


@pytest.mark.parametrize("name, transform", REFUSED, ids=[r[0] for r in REFUSED])
def test_out_is_refused_by_name(name, transform):
    a = X3.astype(complex) if not name.startswith("rfft") and name != "ihfft" else X3
    out = np.empty_like(transform(a))
    for mode in ("jvp", "vjp"):
        f = lambda a: transform(a, out=out)
        message = rf"dualad does not support the argument out= of numpy\.fft\.{name}:"
        with pytest.raises(TypeError, match=message):
            ad.jvp(f, (a,), (a,)) if mode == "jvp" else ad.vjp(f, a)
    # out=None is NumPy's default and changes nothing
    _assert_numpy_value(lambda a: transform(a, out=None), a)
