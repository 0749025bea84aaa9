"""Regression tests for the silently wrong results of the audit (issue 9).

Each case below once returned a wrong value or derivative without a word.
Values are checked against NumPy's own result for the same arguments,
derivatives against central finite differences of the NumPy function --
never against dualad's own formula.  The rule sections' own test modules
(``test_reduction_keywords``, ``test_shape_keywords``, ``test_linalg_exact``,
``test_zero_derivative``, ``test_elementwise_exact``) cover each class of
fault more widely; ``test_keywords`` walks every registered argument.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
import scipy.spatial.distance

import dualad as ad
from dualad import optimize
from dualad.testing import numerical_grad, check_grads, numerical_jvp


fd_grad = numerical_grad  # central differences, entry by entry


X = np.array([1.2, 1.5, 2.5, 0.4])


# ---- zero derivatives that were not zero -----------------------------------------------------
def test_histogram_bin_edges_follow_min_and_max():
    w = np.array([0.3, -1.0, 2.0, 0.5])
    f = lambda x: np.sum(np.histogram(x, bins=3)[1] * w)
    np.testing.assert_allclose(ad.grad(f)(X), fd_grad(f, X), atol=1e-6)
    assert np.any(ad.grad(f)(X) != 0)


def test_histogram_weighted_and_density_counts():
    wts = np.array([0.5, 1.5, 2.0, 1.0])
    f = lambda w: np.sum(np.histogram(X, bins=3, weights=w)[0] * np.arange(1.0, 4.0))
    np.testing.assert_allclose(ad.grad(f)(wts), fd_grad(f, wts), atol=1e-6)
    g = lambda x: np.sum(np.histogram(x, bins=3, density=True)[0] * np.arange(1.0, 4.0))
    np.testing.assert_allclose(ad.grad(g)(X), fd_grad(g, X), atol=1e-5)
    assert np.any(ad.grad(g)(X) != 0)


@pytest.mark.parametrize("kw", [{}, {"return_counts": True}])
def test_unique_values_are_differentiable(kw):
    def f(z):
        out = np.unique(z, **kw)
        values = out[0] if kw else out
        return np.sum(values * np.arange(1.0, 1.0 + values.shape[0]))
    # at a tie the number of unique values jumps, so finite differences are
    # taken where all values are distinct
    y = np.array([2.0, 0.5, 3.0, 1.5])
    np.testing.assert_allclose(ad.grad(f)(y), fd_grad(f, y), atol=1e-6)
    tied = np.array([2.0, 0.5, 2.0, 1.5])
    value = ad.jvp(lambda z: np.unique(z, **kw), (tied,), (np.ones(4),))[0]
    for got, want in zip(ad.tree_flatten(value)[0], ad.tree_flatten(np.unique(tied, **kw))[0]):
        np.testing.assert_array_equal(got, want)


def test_full_like_with_traced_fill_value_and_heaviside_second_argument():
    x = np.array([0.3, 1.1, -2.0])
    g = ad.grad(lambda z: np.sum(np.full_like(z, z[0])))(x)
    np.testing.assert_allclose(g, fd_grad(lambda z: np.sum(np.full_like(z, z[0])), x), atol=1e-8)
    assert g.tolist() == pytest.approx([3.0, 0.0, 0.0])
    h = ad.grad(lambda h: np.heaviside(0.0, h))(0.7)
    assert float(h) == pytest.approx((np.heaviside(0.0, 0.7 + 1e-6) - np.heaviside(0.0, 0.7 - 1e-6)) / 2e-6)


# ---- keywords that were swallowed -------------------------------------------------------------
@pytest.mark.parametrize("fn", [np.var, np.std])
def test_var_and_std_honour_correction(fn):
    x = np.array([1.0, 2.0, 4.0, 7.0])
    value = ad.jvp(lambda z: fn(z, correction=1), (x,), (np.ones(4),))[0]
    assert float(value) == pytest.approx(float(fn(x, correction=1)), rel=1e-14)
    check_grads(lambda z: fn(z, correction=1), (x,), order=2)


def test_dtype_keywords_give_numpy_values():
    x = np.array([1.2, 1.5, 2.5])
    for fn in (np.sum, np.cumsum, np.prod):
        value = ad.jvp(lambda z: fn(z, dtype=int), (x,), (np.ones(3),))[0]
        np.testing.assert_array_equal(value, fn(x, dtype=int))
        assert np.asarray(value).dtype == fn(x, dtype=int).dtype
    value, tangent = ad.jvp(lambda z: np.mean(z, dtype=np.float32), (x,), (np.ones(3),))
    assert np.asarray(value).dtype == np.float32
    assert float(value) == np.mean(x, dtype=np.float32)
    value, tangent = ad.jvp(lambda z: np.exp(z, dtype=np.float32), (x,), (np.ones(3),))
    assert value.dtype == np.float32
    np.testing.assert_array_equal(value, np.exp(x, dtype=np.float32))


def test_unknown_keywords_are_refused_by_name():
    with pytest.raises(TypeError, match="foo"):
        ad.grad(lambda z: np.sum(z, foo=1))(X)
    with pytest.raises(TypeError, match="casting"):
        ad.grad(lambda z: np.sum(np.add(z, 1.0, casting="unsafe")))(X)


@pytest.mark.parametrize("ord", [1, -1, np.inf, -np.inf])
@pytest.mark.parametrize("axis", [(1, 0), (0, 1), (-1, -2), (-2, -1)])
def test_matrix_norm_axis_order_is_kept(ord, axis):
    A = np.array([[1.0, -2.0, 0.5], [0.25, 1.0, -1.5]])
    value = ad.jvp(lambda a: np.linalg.norm(a, ord, axis=axis), (A,), (np.ones_like(A),))[0]
    assert float(value) == pytest.approx(float(np.linalg.norm(A, ord, axis=axis)), rel=1e-14)
    f = lambda a: np.linalg.norm(a, ord, axis=axis)
    np.testing.assert_allclose(ad.grad(f)(A), fd_grad(f, A), atol=1e-6)


def test_batched_matrix_norm_with_swapped_axes():
    A = np.random.default_rng(0).uniform(-1, 1, (3, 2, 4))
    f = lambda a: np.sum(np.linalg.norm(a, 1, axis=(-1, -2)))
    assert float(f(A)) == pytest.approx(float(ad.jvp(f, (A,), (np.ones_like(A),))[0]), rel=1e-14)
    np.testing.assert_allclose(ad.grad(f)(A), fd_grad(f, A), atol=1e-6)


def test_clip_with_crossed_bounds_follows_numpy():
    x = np.array([0.0, 2.0, -3.0])
    value = ad.jvp(lambda z: np.clip(z, 1, -1), (x,), (np.ones(3),))[0]
    np.testing.assert_array_equal(value, np.clip(x, 1, -1))


# ---- complex values: refused until supported ---------------------------------------------------
@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_complex_intermediates_of_real_inputs_give_real_derivatives(mode):
    # values worked out by hand: Re(a + i) = a; |a + i| = sqrt(a² + 1);
    # Re(a · [i, 2]) = [0, 2a]; |exp(i a)| = 1
    _, t = ad.jvp(lambda a: np.real(a + 1j), (0.5,), (1.0,))
    assert np.isrealobj(t) and float(t) == 1.0
    g = ad.grad(lambda a: np.abs(a + 1j))(0.5)
    assert np.isrealobj(g)
    np.testing.assert_allclose(g, 0.5 / np.sqrt(1.25), rtol=1e-14)
    g = ad.grad(lambda a: np.sum(np.real(a * np.array([1j, 2.0]))))(np.ones(2))
    assert np.isrealobj(g)
    np.testing.assert_array_equal(g, [0.0, 2.0])
    h = ad.hvp(lambda a: np.sum(np.abs(np.exp(1j * a)) * a ** 2), np.ones(2), np.ones(2), mode=mode)
    assert np.isrealobj(h)
    np.testing.assert_allclose(h, [2.0, 2.0], rtol=1e-12)


# ---- power at 0 -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ad.HVP_MODES)
def test_power_zero_exponent_at_zero_has_derivative_zero(mode):
    f = lambda x: x ** 0.0
    assert float(ad.grad(f)(0.0)) == 0.0
    assert float(ad.jvp(f, (0.0,), (1.0,))[1]) == 0.0
    assert float(ad.hvp(f, 0.0, 1.0, mode=mode)) == 0.0


# ---- the function NumPy computes -----------------------------------------------------------------
def test_eigh_reads_one_triangle():
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    T = np.array([[0.0, 1.0], [0.0, 0.0]])
    _, t = ad.jvp(lambda a: np.linalg.eigh(a)[0], (A,), (T,))
    np.testing.assert_allclose(t, numerical_jvp(lambda a: np.linalg.eigh(a)[0], (A,), (T,)),
                               atol=1e-7)
    np.testing.assert_allclose(t, [0.0, 0.0], atol=1e-12)


def test_det_of_a_singular_matrix_is_differentiable():
    A = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])  # rank 2
    g = ad.grad(np.linalg.det)(A)
    np.testing.assert_allclose(g, fd_grad(np.linalg.det, A), atol=1e-6)
    assert np.all(np.isfinite(g)) and np.any(g != 0)


# ---- subclasses and special values ------------------------------------------------------------
def test_masked_arrays_and_matrices_are_refused():
    m = np.ma.array([1.0, 2.0], mask=[False, True])
    with pytest.raises(TypeError, match="masked"):
        ad.value_and_grad(lambda x: np.sum(x * x))(m)
    with pytest.raises(TypeError, match="matrix"):
        ad.value_and_grad(lambda x: np.sum(x * x))(np.matrix([[1.0, 2.0]]))
    with pytest.raises(TypeError, match="masked"):
        ad.grad(lambda x: np.sum(x * m))(np.ones(2))
    with pytest.raises(TypeError, match="matrix"):
        ad.grad(lambda x: np.sum(x * np.matrix([[1.0, 2.0]])))(np.ones((1, 2)))


def test_float64_tangent_of_a_float32_primal_promotes():
    x32 = np.array([0.3, 1.0], dtype=np.float32)
    out, t = ad.jvp(lambda x: x * 3.0, (x32,), (np.ones(2),))
    assert out.dtype == np.float32 and t.dtype == np.result_type(np.float32, np.float64)


@pytest.mark.parametrize("bad", [None, (), {}])
def test_nothing_to_differentiate_is_refused(bad):
    with pytest.raises(TypeError, match="nothing to differentiate"):
        ad.grad(lambda x: 1.0)(bad)
    with pytest.raises(TypeError, match="nothing to differentiate"):
        ad.jvp(lambda x: 1.0, (bad,), (bad,))
    with pytest.raises(TypeError, match="nothing to differentiate"):
        ad.vjp(lambda x: 1.0, bad)


# ---- constants as NumPy sees them -------------------------------------------------------------------
def test_list_constant_in_a_hessian_operator():
    f = lambda x: np.sum([1.0, 2.0] * x * x)
    x = np.array([1.0, 3.0])
    v = np.array([0.5, -1.0])
    H = optimize.HessianOperator(f, x)
    np.testing.assert_allclose(H.matvec(v), ad.hvp(f, x, v), rtol=1e-14)
    np.testing.assert_allclose(H.matvec(v), [1.0, -4.0], rtol=1e-14)  # 2·diag(1, 2)·v by hand
    res = optimize.minimize(lambda x: np.sum([1.0, 2.0] * (x - 1.0) ** 2), np.zeros(2),
                            method="Newton-CG")
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-6)


def test_tuple_and_list_constants_in_every_mode():
    f = lambda x: np.sum(np.maximum(x, (0.5, 0.5, 0.5, 0.5)) * [1.0, 2.0, 3.0, 4.0])
    check_grads(f, (X,), order=2)


# ---- errors that name what the user called ------------------------------------------------------
@pytest.mark.parametrize("call, name", [
    (lambda x: scipy.linalg.cho_solve((np.eye(4), True), x), "scipy.linalg.cho_solve"),
    (lambda x: scipy.linalg.solve_triangular(np.eye(4), x), "scipy.linalg.solve_triangular"),
    (lambda x: scipy.optimize.rosen(x), "scipy.optimize.rosen"),
    (lambda x: scipy.spatial.distance.pdist(x[:, None]), "scipy.spatial.distance.pdist"),
    (lambda x: np.vectorize(lambda a: 2 * a)(x), "numpy.vectorize"),
    (lambda x: np.full(3, x[0]), "numpy.full"),
], ids=["cho_solve", "solve_triangular", "rosen", "pdist", "vectorize", "full"])
def test_conversion_error_names_the_function_called(call, name):
    with pytest.raises(TypeError) as info:
        ad.grad(lambda x: np.sum(call(x)))(X)
    assert name in str(info.value)


def test_scipy_function_with_a_replacement_names_it():
    import scipy.special
    with pytest.raises(TypeError) as info:
        ad.grad(lambda x: scipy.special.logsumexp(x))(X)
    assert "dualad.scipy.special.logsumexp" in str(info.value)


def test_ravel_in_fortran_order():
    A = np.arange(6.0).reshape(2, 3)
    value = ad.jvp(lambda a: np.ravel(a, order="F"), (A,), (np.ones_like(A),))[0]
    np.testing.assert_array_equal(value, np.ravel(A, order="F"))


def test_list_passed_as_an_array_says_how_it_was_taken():
    with pytest.raises(TypeError) as info:
        ad.grad(lambda x: np.sum(np.asarray(x) ** 2))([1.0, 2.0])
    assert "pytree" in str(info.value) and "np.array" in str(info.value)


# ---- the whole rule table in float32: NumPy's dtypes and values ---------------------------------
def _rule_cases():
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).parent / "test_rules.py"
    spec = importlib.util.spec_from_file_location("_rule_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


RULE_CASES = _rule_cases()


@pytest.mark.parametrize("case", RULE_CASES, ids=[c.id for c in RULE_CASES])
def test_float32_inputs_give_numpy_dtypes_and_values(case):
    """Traced, every table entry returns NumPy's value *and dtype* for float32
    inputs (an alias registered for a function of other semantics, or a rule
    that promotes to float64, shows up here)."""
    args = tuple(np.asarray(a, dtype=np.float32) for a in case.args)
    expected = case.f(*args)
    value, _ = ad.jvp(case.f, args, tuple(np.ones_like(a) for a in args))
    e_leaves, a_leaves = ad.tree_flatten(expected)[0], ad.tree_flatten(value)[0]
    assert len(e_leaves) == len(a_leaves)
    for a, e in zip(a_leaves, e_leaves):
        assert np.result_type(a) == np.result_type(e), f"dtype {np.result_type(a)}, NumPy's {np.result_type(e)}"
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(e, dtype=float),
                                   rtol=2e-5, atol=1e-6)


# ---- found by the review and the audit of this change ----------------------------------------
def test_deepcopy_keeps_the_derivative_and_pickle_is_refused():
    import copy
    import pickle
    x = np.array([1.3, 2.7, -0.4])
    f = lambda z: np.sum(copy.deepcopy({"w": z})["w"] ** 2)
    np.testing.assert_allclose(ad.grad(f)(x), fd_grad(f, x), atol=1e-6)
    with pytest.raises(TypeError, match="pickled"):
        ad.grad(lambda z: np.sum(pickle.loads(pickle.dumps(z))))(x)


@pytest.mark.parametrize("write", [lambda x, y: np.round(x, 0, y), lambda x, y: np.floor(x, out=y),
                                   lambda x, y: np.isnan(x, out=y)],
                         ids=["round-positional", "floor-keyword", "isnan-into-float"])
def test_a_traced_value_is_never_written_into_by_out(write):
    def f(x):
        y = np.exp(x)
        write(x, y)
        return np.sum(y * y)
    with pytest.raises(TypeError, match="out"):
        ad.grad(f)(np.array([1.3, 2.7, -0.4]))


def test_fwd_over_fwd_hvp_refuses_a_non_scalar_function_like_the_other_modes():
    x = np.array([1.0, 2.0])
    for mode in ad.HVP_MODES:
        with pytest.raises(TypeError, match="scalar"):
            ad.hvp(lambda z: z ** 2, x, x, mode=mode)


def test_masked_tangents_and_cotangents_are_refused():
    x = np.array([1.0, 2.0])
    m = np.ma.masked_array([1.0, 5.0], mask=[False, True])
    with pytest.raises(TypeError, match="masked"):
        ad.jvp(lambda z: np.sum(z * z), (x,), (m,))
    with pytest.raises(TypeError, match="masked"):
        ad.vjp(lambda z: z * z, x)[1](m)


def test_numpy_scalar_constants_behave_as_numpy():
    x = np.array([0.5, 2.0])
    for c in (np.float64(3.0), np.float32(3.0), 3.0, 3):
        f = lambda z: np.sum(z * c + c / z - z ** c)
        value = ad.jvp(f, (x,), (np.ones(2),))[0]
        assert float(value) == pytest.approx(float(f(x)), rel=1e-6)
        np.testing.assert_allclose(ad.grad(f)(x), fd_grad(f, x), rtol=1e-5)


def test_polyval_with_a_list_of_coefficients_promotes_as_numpy():
    x32 = np.array([0.5, 2.0], dtype=np.float32)
    value = ad.jvp(lambda x: np.polyval([1.0, 2.0, 3.0], x), (x32,), (np.ones(2, np.float32),))[0]
    expected = np.polyval([1.0, 2.0, 3.0], x32)
    assert value.dtype == expected.dtype
    np.testing.assert_allclose(value, expected, rtol=1e-12)
