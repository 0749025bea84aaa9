"""Complex numbers: the convention, every elementwise rule on complex
arguments at order 2 in both modes, and mixed real/complex code.

The convention (JAX's and HIPS autograd's): tangents push forward as
usual; a pullback is the linear transpose of the JVP under the real inner
product ``Re Σ u·v`` (no conjugation); for a real ``f`` of ``z = x + iy``,
``grad(f)(z) = ∂f/∂x − i ∂f/∂y``.  Expected values below are worked out by
hand from that definition, never produced by dualad.

The module also exports a ``HONOURED`` table (tests/test_keywords.py) for
the functions that only complex arguments make differentiable.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads, numerical_jvp

RNG = np.random.default_rng(11)
Z = np.array([0.7 + 0.4j, -0.5 + 1.1j, 1.3 - 0.8j])  # away from branch cuts and 0
Z_UNIT = np.array([0.3 + 0.2j, -0.4 + 0.1j, 0.2 - 0.5j])  # |z| < 1: arcsin, arctanh...

HONOURED = {
    np.angle: {"z": [((Z,), {})], "deg": [((Z,), {"deg": True}), ((np.array([1.5, -2.0]),), {"deg": True})]},
    np.imag: {"val": [((Z,), {}), ((np.array([1.5, -2.0]),), {})]},
}


# ---- every elementwise function with a complex loop --------------------------------------------
ELEMENTWISE = {
    "exp": (np.exp, Z), "exp2": (np.exp2, Z), "expm1": (np.expm1, Z),
    "log": (np.log, Z), "log2": (np.log2, Z), "log10": (np.log10, Z), "log1p": (np.log1p, Z),
    "sqrt": (np.sqrt, Z), "square": (np.square, Z), "reciprocal": (np.reciprocal, Z),
    "sin": (np.sin, Z), "cos": (np.cos, Z), "tan": (np.tan, Z),
    "arcsin": (np.arcsin, Z_UNIT), "arccos": (np.arccos, Z_UNIT), "arctan": (np.arctan, Z_UNIT),
    "sinh": (np.sinh, Z), "cosh": (np.cosh, Z), "tanh": (np.tanh, Z),
    "arcsinh": (np.arcsinh, Z_UNIT), "arccosh": (np.arccosh, Z), "arctanh": (np.arctanh, Z_UNIT),
    "negative": (np.negative, Z), "positive": (np.positive, Z),
    "abs": (np.abs, Z), "absolute": (np.absolute, Z), "angle": (np.angle, Z),
    "real": (np.real, Z), "imag": (np.imag, Z), "conj": (np.conj, Z), "conjugate": (np.conjugate, Z),
    "sign": (np.sign, Z), "real_attr": (lambda z: z.real * z.imag, Z),
    "conj_method": (lambda z: z.conj() * z, Z),
    "power_scalar": (lambda z: z ** 2.5, Z), "power_int": (lambda z: z ** 3, Z),
    "power_complex_exponent": (lambda z: z ** (0.5 + 0.25j), Z),
    "abs_squared": (lambda z: np.abs(z) ** 2, Z),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_rules_on_complex_arguments(name):
    f, z = ELEMENTWISE[name]
    check_grads(f, (z,), order=2, modes=("fwd", "rev"))


BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "power": np.power, "true_divide": np.true_divide,
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_rules_on_complex_arguments(name):
    f = BINARY[name]
    w = np.array([0.9 - 0.3j, 0.4 + 0.6j, -1.2 + 0.2j])
    check_grads(f, (Z, w), order=2)
    check_grads(lambda z, x: f(z, x), (Z, np.array([0.6, 1.7, 0.9])), order=2)  # mixed
    check_grads(lambda x, z: f(x, z), (np.array([0.6, 1.7, 0.9]), w), order=2)


def test_broadcasting_with_complex_and_real_arguments():
    x = np.array([[0.3], [1.2]])
    check_grads(lambda z, x: np.sin(z * x + 1j * x), (Z, x), order=2)


# ---- the convention, by hand ------------------------------------------------------------------
def test_grad_of_abs_squared_is_twice_the_conjugate():
    z = np.array([1.0 + 2.0j, -0.5 + 0.25j, 3.0 - 1.0j])
    g = ad.grad(lambda z: np.sum(np.abs(z) ** 2))(z)
    assert g.dtype == np.complex128
    np.testing.assert_allclose(g, 2 * np.conj(z), rtol=1e-14)


CONVENTION = [
    # (f, z, ∂f/∂x − i ∂f/∂y worked out by hand)
    ("real", lambda z: np.sum(np.real(z)), Z, np.ones(3, complex)),
    ("imag", lambda z: np.sum(np.imag(z)), Z, -1j * np.ones(3)),
    ("abs", lambda z: np.sum(np.abs(z)), Z, np.conj(Z) / np.abs(Z)),
    ("angle", lambda z: np.sum(np.angle(z)), Z, (-Z.imag - 1j * Z.real) / np.abs(Z) ** 2),
    ("re_of_z_squared", lambda z: np.sum(np.real(z * z)), Z, 2 * Z.real - 1j * (-2 * Z.imag)),
    ("im_of_z_squared", lambda z: np.sum(np.imag(z * z)), Z, 2 * Z.imag - 1j * (2 * Z.real)),
    ("re_of_conj_times_z", lambda z: np.sum(np.real(np.conj(z) * z)), Z, 2 * np.conj(Z)),
    ("x_times_y", lambda z: np.sum(z.real * z.imag), Z, Z.imag - 1j * Z.real),
]


@pytest.mark.parametrize("name, f, z, expected", CONVENTION, ids=[c[0] for c in CONVENTION])
def test_grad_convention(name, f, z, expected):
    g = ad.grad(f)(z)
    assert g.dtype == np.complex128
    np.testing.assert_allclose(g, expected, rtol=1e-13, atol=1e-15)
    # descend along the conjugate: a small step lowers f
    assert f(z - 1e-4 * np.conj(g)) < f(z)


def test_holomorphic_jacobians_of_exp_are_diagonal_exp():
    for jac in (ad.jacfwd, ad.jacrev):
        J = jac(np.exp, holomorphic=True)(Z)
        np.testing.assert_allclose(J, np.diag(np.exp(Z)), rtol=1e-14)


def test_holomorphic_grad_and_value_and_grad():
    z = 0.3 + 0.8j
    np.testing.assert_allclose(ad.grad(lambda z: z ** 3, holomorphic=True)(z), 3 * z ** 2)
    value, g = ad.value_and_grad(lambda z: np.sin(z), holomorphic=True)(z)
    np.testing.assert_allclose(value, np.sin(z))
    np.testing.assert_allclose(g, np.cos(z))


def test_holomorphic_hessian():
    H = ad.hessian(lambda z: np.sum(z ** 3), holomorphic=True)(Z)
    np.testing.assert_allclose(H, np.diag(6 * Z), rtol=1e-14)


def test_vjp_is_the_transpose_without_conjugation():
    # f(z) = c z (holomorphic): the pullback of u is u c, not u conj(c)
    c = 0.5 - 2.0j
    _, pullback = ad.vjp(lambda z: c * z, Z)
    u = np.array([1.0 + 1j, 2.0, -1j])
    np.testing.assert_allclose(pullback(u)[0], u * c)


@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_hvp_of_a_real_function_of_complex_values_in_every_mode(mode):
    f = lambda z: np.sum(np.abs(z) ** 4 + np.real(z) * np.imag(z) ** 2)
    v = np.array([0.3 - 1j, 2 + 0.5j, -0.2 + 0.1j])
    expected = numerical_jvp(ad.grad(f), (Z,), (v,))  # d/dε ∇f(z + εv)
    np.testing.assert_allclose(ad.hvp(f, Z, v, mode=mode), expected, rtol=1e-6, atol=1e-8)


def test_mixed_real_and_complex_code_gives_real_derivatives():
    def f(x, y):
        z = x + 1j * y
        return np.sum(np.abs(z) ** 2 + np.angle(z) + np.real(z * z) * np.imag(z))
    x, y = np.array([0.5, -1.0]), np.array([0.7, 0.2])
    gx, gy = ad.grad(f, argnums=(0, 1))(x, y)
    assert gx.dtype == gy.dtype == np.float64
    check_grads(f, (x, y), order=2)
    # the same function of z: its convention gradient is gx - i gy
    g = ad.grad(lambda z: f(np.real(z), np.imag(z)))(x + 1j * y)
    np.testing.assert_allclose(g, gx - 1j * gy, rtol=1e-13)


def test_a_real_input_promoted_by_a_complex_constant():
    x = np.array([0.4, 1.3])
    g = ad.grad(lambda x: np.sum(np.abs(x * (1 + 2j) + 0.5j) ** 2))(x)
    assert g.dtype == np.float64
    # |x(1+2i) + i/2|² = x² + (2x + 1/2)²: derivative 2x + 4(2x + 1/2)
    np.testing.assert_allclose(g, 2 * x + 4 * (2 * x + 0.5), rtol=1e-14)


def test_real_sign_has_zero_derivative_and_complex_sign_is_z_over_abs():
    x = np.array([-1.5, 0.5, 2.0])
    assert np.all(ad.grad(lambda x: np.sum(np.sign(x) * 3.0))(x) == 0.0)
    # sign(z) = z/|z| at 0 is 0, with derivative 0 (as abs and angle)
    z0 = np.array([0j, 1 + 1j])
    _, t = ad.jvp(np.sign, (z0,), (np.array([1 + 1j, 0j]),))
    assert t[0] == 0


def test_abs_and_angle_at_zero_take_zero():
    z0 = np.array([0j])
    assert ad.grad(lambda z: np.sum(np.abs(z)))(z0)[0] == 0
    assert ad.grad(lambda z: np.sum(np.angle(z)))(z0)[0] == 0


def test_vector_mode_and_linearize_with_complex_tangents():
    f = lambda z: np.sin(z) * np.conj(z)
    V = np.stack([np.ones(3) + 0j, 1j * np.ones(3), Z])
    _, T = ad.jvp(f, (Z,), (V,), batched=True)
    for i in range(3):
        np.testing.assert_allclose(T[i], ad.jvp(f, (Z,), (V[i],))[1], rtol=1e-14)
    _, f_jvp = ad.linearize(f, Z)
    np.testing.assert_allclose(f_jvp(V[2]), ad.jvp(f, (Z,), (V[2],))[1], rtol=1e-14)


def test_checkpoint_with_complex_values():
    inner = ad.checkpoint(lambda z: np.exp(1j * z) * z)
    f = lambda z: np.sum(np.abs(inner(z)) ** 2)
    np.testing.assert_allclose(ad.grad(f)(Z), ad.grad(lambda z: np.sum(np.abs(np.exp(1j * z) * z) ** 2))(Z),
                               rtol=1e-13)


def test_perturbation_confusion_with_complex_perturbations():
    # Siskind & Pearlmutter: d/dx [x · d/dy (x + y)] = 1, with complex x and y
    def outer(x):
        inner = ad.grad(lambda y: np.real(x * y) , holomorphic=False)
        return x * np.sum(inner(np.array(1.0 + 0j)))
    x = 0.7 + 0.2j
    d = ad.jvp(outer, (x,), (1.0 + 0j,))[1]
    # inner gradient of Re(x y) in y is x (convention: ∂/∂a − i ∂/∂b of Re(x(a+ib)) = x)
    # so outer(x) = x · x and its derivative along 1 is 2x
    np.testing.assert_allclose(d, 2 * x)


def test_complex_values_are_not_modified():
    z = Z.copy()
    ad.grad(lambda z: np.sum(np.abs(np.exp(z)) ** 2))(z)
    np.testing.assert_array_equal(z, Z)


# ---- SciPy operators -------------------------------------------------------------------------
def test_jacobian_operator_of_a_holomorphic_function():
    import scipy.sparse.linalg as sla
    from dualad.optimize import JacobianOperator
    F = lambda z: np.stack([z[0] * z[1], np.exp(z[2]), z[0] ** 2 + z[2]])
    J = JacobianOperator(F, Z, holomorphic=True)
    dense = np.array([[Z[1], Z[0], 0], [0, 0, np.exp(Z[2])], [2 * Z[0], 0, 1]])  # by hand
    np.testing.assert_allclose(J.toarray(), dense, rtol=1e-14)
    u = np.array([1.0 + 1j, 2.0, -1j])
    np.testing.assert_allclose(J.H @ u, dense.conj().T @ u, rtol=1e-14)  # SciPy's adjoint
    np.testing.assert_allclose(J.T @ u, dense.T @ u, rtol=1e-14)
    np.testing.assert_allclose(J.H.matmat(np.eye(3)), dense.conj().T, rtol=1e-14)
    x, info = sla.gmres(J, u, rtol=1e-12)
    assert info == 0
    np.testing.assert_allclose(dense @ x, u, rtol=1e-9)


def test_operators_refuse_what_is_not_complex_linear():
    from dualad.optimize import HessianOperator, JacobianOperator
    with pytest.raises(TypeError, match="real and imaginary parts"):
        HessianOperator(lambda z: np.sum(np.abs(z) ** 2), Z)
    with pytest.raises(TypeError, match="holomorphic=True"):
        JacobianOperator(lambda z: z * 2.0, Z)
    with pytest.raises(TypeError, match="complex values at a real x"):
        JacobianOperator(lambda x: x * 1j, np.ones(2))


# ---- shape functions, indexing and where on complex values ---------------------------------------
M = np.array([[0.7 + 0.4j, -0.5 + 1.1j, 1.3 - 0.8j], [0.2 - 0.3j, 0.9 + 0.1j, -1.0 + 0.5j]])
SHAPE = {
    "reshape": lambda z: np.reshape(z, (3, 2)) * 2,
    "transpose": lambda z: z.T * z.T,
    "basic_index": lambda z: z[0, 1:] * z[1, :2],
    "fancy_index": lambda z: z[[0, 1, 1], [2, 0, 0]],
    "boolean_index": lambda z: z[np.array([[True, False, True], [False, True, True]])] ** 2,
    "where": lambda z: np.where(np.real(z) > 0, z, z ** 2),
    "where_real_branch": lambda z: np.where(np.real(z) > 0, z, np.abs(z)),
    "concatenate": lambda z: np.concatenate([z, z ** 2], axis=0),
    "stack": lambda z: np.stack([z, 1j * z]),
    "flip_roll": lambda z: np.flip(z) * np.roll(z, 1),
    "broadcast_to": lambda z: np.broadcast_to(z[0], (2, 3)) * z,
    "pad": lambda z: np.pad(z, 1),
    "take": lambda z: np.take(z, [0, 2], axis=1),
    "diag_tril": lambda z: np.diag(z[:, :2]) + np.tril(z)[1, :2],
    "ravel_flatten": lambda z: z.ravel() * z.flatten(),
    "swap_moveaxis": lambda z: np.swapaxes(z[None], 0, 2) * np.moveaxis(z[None], 1, 0).T,
    "expand_squeeze": lambda z: np.squeeze(np.expand_dims(z, 0) ** 2),
    "copy": lambda z: np.copy(z) * z.copy(),
    "astype_same_kind": lambda z: z.astype(np.complex128) * z,
    "sort_by_real_part": lambda z: np.sort(np.real(z), axis=1) + np.imag(z),
    "max_of_abs": lambda z: np.max(np.abs(z), axis=0),
}


@pytest.mark.parametrize("name", sorted(SHAPE))
def test_shape_and_indexing_rules_on_complex_arguments(name):
    check_grads(SHAPE[name], (M,), order=2)


def test_a_real_matrix_times_a_complex_one_gives_a_real_cotangent():
    A = np.array([[1.0, 2.0], [0.5, -1.0], [0.0, 3.0]])
    g = ad.grad(lambda A: np.sum(np.abs(M @ A) ** 2))(A)
    assert g.dtype == np.float64
    check_grads(lambda A: M @ A, (A,), order=2)
    # by hand: Σ |M A|² = tr(Aᵀ Mᴴ M A): gradient 2 Re(Mᴴ M) A
    np.testing.assert_allclose(g, 2 * np.real(M.conj().T @ M) @ A, rtol=1e-13)


# ---- traps found in review ---------------------------------------------------------------------
def test_large_real_plus_imaginary_parts_in_reverse_mode():
    # x + 1j * x at n ≥ IN_PLACE_MIN_SIZE: the real argument's cotangent must not
    # be a view of the complex one, which is later multiplied in place
    x = np.linspace(0.5, 1.5, 5000)
    f = lambda x: np.sum(np.real(np.exp(x + 1j * x)))  # Σ eˣ cos x
    expected = np.exp(x) * (np.cos(x) - np.sin(x))
    np.testing.assert_allclose(ad.grad(f)(x), expected, rtol=1e-12)
    for mode in ad.HVP_MODES[:3]:
        v = np.cos(x)
        np.testing.assert_allclose(ad.hvp(f, x, v, mode=mode), -2 * np.exp(x) * np.sin(x) * v,
                                   rtol=1e-10, atol=1e-10)


FRESH = [
    # a complex constant inside a checkpoint only: Σ Re(q w), q = Re(x w), w = C x
    """
import numpy as np, dualad as ad
C = 0.6 - 0.8j
seg = ad.checkpoint(lambda x: x * C)
def f(x):
    w = seg(x)
    return np.sum(np.real(np.real(x * w) * w))
x = np.array([1.0, 1.1, 0.9])
g = ad.grad(f)(x)
assert g.dtype == np.float64, g
np.testing.assert_allclose(g, 3 * 0.6 ** 2 * x ** 2, rtol=1e-13)
""",
    # a user's primitive whose implementation makes complex values
    """
import numpy as np, dualad as ad
cis = ad.elementwise("cis", lambda t: np.exp(1j * t), lambda out, t: 1j * out)
f = lambda x: np.sum(np.real(cis(np.real(cis(x)))))
x = np.array([0.3, -1.2, 2.0])
g = ad.grad(f)(x)
assert g.dtype == np.float64, g
np.testing.assert_allclose(g, np.sin(np.cos(x)) * np.sin(x), rtol=1e-13)
""",
]


@pytest.mark.parametrize("script", FRESH, ids=["checkpoint", "user_primitive"])
def test_complex_values_made_where_dualad_does_not_look_in_a_fresh_process(script):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_rules_derived_by_transposition_keep_imaginary_parts():
    jvp_only = ad.Primitive("exp_j", np.exp, jvp=(lambda t, out, z: t * out,))
    vjp_only = ad.Primitive("exp_v", np.exp, vjp=(lambda g, out, z: g * out,))
    for prim in (jvp_only, vjp_only):
        check_grads(lambda z: prim(z) * (1 + 1j), (Z,), order=1)
    cis = ad.Primitive("cis_v", lambda t: np.exp(1j * t), vjp=(lambda g, out, t: np.real(g * 1j * out),))
    _, t = ad.jvp(cis, (np.array([0.3, 1.0]),), (np.ones(2),))
    np.testing.assert_allclose(t, 1j * np.exp(1j * np.array([0.3, 1.0])), rtol=1e-14)


def test_power_of_a_negative_real_base_with_a_complex_exponent():
    for base in (-2.0, np.array([-2.0, -0.5])):
        check_grads(lambda z: np.power(base, z), (np.array([0.3 + 0.1j, -0.7 + 0.4j]),), order=2)
    check_grads(lambda x, z: x ** z, (np.array([-2.0, -0.5]), np.array([0.3 + 0.1j, 1.7 + 0.4j])),
                order=2)


@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_abs_and_angle_have_second_derivative_zero_at_zero(mode):
    for f in (lambda z: np.sum(np.abs(z)), lambda z: np.sum(np.angle(z))):
        np.testing.assert_array_equal(ad.hvp(f, np.array([0j]), np.array([1 + 1j]), mode=mode), 0)


def test_angle_of_tiny_values_does_not_underflow():
    z = np.array([1e-200 * (1 + 1j)])
    np.testing.assert_allclose(ad.grad(lambda z: np.sum(np.angle(z)))(z), -1j / z, rtol=1e-14)


def test_fabs_of_complex_values_is_numpys_error():
    with pytest.raises(TypeError, match="fabs"):
        ad.grad(lambda z: np.sum(np.fabs(z)))(Z)


def test_transposes_and_adjoints_of_a_complex_jacobian_operator():
    from dualad.optimize import JacobianOperator
    F = lambda z: np.stack([z[0] * z[1] + 2j * z[0], np.exp(z[1])])
    z = Z[:2]
    J = JacobianOperator(F, z, holomorphic=True)
    A = np.array([[z[1] + 2j, z[0]], [0, np.exp(z[1])]])  # by hand
    u = np.array([1 + 2j, -0.5j])
    for op, M in [(J.H.T, A.conj()), (J.T.T, A), (J.T.H, A.conj()), (J.H.H, A), (J.T, A.T)]:
        np.testing.assert_allclose(op @ u, M @ u, rtol=1e-14)
        np.testing.assert_allclose(op.rmatvec(u), M.conj().T @ u, rtol=1e-14)


def test_dtypes_of_complex_results():
    import warnings
    z64 = Z.astype(np.complex64)
    assert ad.jvp(lambda z: z * 2, (z64,), (z64,))[1].dtype == np.complex64
    assert ad.jvp(lambda x: x + 1j, (1.0,), (1.0,))[1].dtype == np.complex128
    for mode in ad.HVP_MODES:
        assert ad.hvp(lambda z: np.sum(np.real(z) ** 2), Z, np.ones(3), mode=mode).dtype == np.complex128
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lin = ad.linearize_grad(lambda z: np.sum(np.abs(z) ** 4), Z)
        np.testing.assert_allclose(lin.hvp(Z), ad.hvp(lambda z: np.sum(np.abs(z) ** 4), Z, Z))


@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_hvp_of_a_pytree_with_real_and_complex_leaves(mode):
    f = lambda p: np.sum(np.abs(p["z"]) ** 4 + p["x"] ** 2 * np.real(p["z"][0]))
    p = {"x": np.array([0.5, 2.0]), "z": np.array([1 + 1j, -0.3j])}
    v = {"x": np.array([1.0, -1.0]), "z": np.array([0.5j, 1 + 0j])}
    h = ad.hvp(f, p, v, mode=mode)
    assert h["x"].dtype == np.float64
    g = ad.grad(f)
    eps = 1e-6
    plus = g({k: p[k] + eps * v[k] for k in p})
    minus = g({k: p[k] - eps * v[k] for k in p})
    for k in p:
        np.testing.assert_allclose(h[k], (plus[k] - minus[k]) / (2 * eps), rtol=1e-6, atol=1e-8)


def test_numerical_grad_of_complex_inputs_follows_the_convention():
    from dualad.testing import numerical_grad
    z = np.array([1 + 2j, 0.5 - 1j])
    np.testing.assert_allclose(numerical_grad(lambda z: np.sum(np.abs(z) ** 2), z), 2 * np.conj(z),
                               rtol=1e-8)
