"""scipy.special functions beyond the first few: gamma and beta functions,
inverses of erf and ndtr, entropies, robust losses, Box-Cox, Hurwitz zeta,
Bessel functions and the incomplete gamma and beta functions.

Values are compared with SciPy's own, derivatives with central finite
differences (``check_grads``, order 2, every mode) or with closed forms
known independently of the rules (``gammainc(1, x) = 1 - exp(-x)``...);
edge points follow docs/kinks.md; every refusal names its argument.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp

import dualad as ad
from dualad.scipy.special import multigammaln, polygamma
from dualad.testing import check_grads, numerical_jvp

X = np.array([0.35, 1.1, 2.7])
SIGNED = np.array([-35.0, -2.2, -0.3, 0.4, 1.9, 45.0])

UNARY = {  # function: inputs on several domains
    sp.gamma: [X, np.array([-2.6, -0.4, 5.5])],
    sp.rgamma: [X, np.array([-2.6, -1.3, -0.4])],
    sp.loggamma: [X, np.array([8.0, 25.0])],
    sp.erfinv: [np.array([-0.95, -0.2, 0.0, 0.6, 0.99])],
    sp.erfcinv: [np.array([0.02, 0.5, 1.0, 1.7, 1.98])],
    sp.ndtri: [np.array([0.001, 0.2, 0.5, 0.9, 0.999])],
    sp.log_expit: [np.array([-40.0, -3.0, 0.0, 2.5, 40.0])],
    sp.softplus: [np.array([-40.0, -3.0, 0.0, 2.5, 40.0])],
    sp.entr: [np.array([2e-3, 0.2, 1.0, 4.0])],
    sp.j0: [X, np.array([15.0, 40.0])], sp.j1: [X, np.array([-7.0, 15.0, 40.0])],
    sp.y0: [X, np.array([15.0, 40.0])], sp.y1: [X, np.array([15.0, 40.0])],
    sp.i0: [SIGNED[1:-1]], sp.i1: [SIGNED[1:-1]],
    sp.i0e: [SIGNED], sp.i1e: [SIGNED],
    sp.k0: [X, np.array([30.0])], sp.k1: [X, np.array([30.0])],
    sp.k0e: [X, np.array([80.0, 600.0])], sp.k1e: [X, np.array([80.0, 600.0])],
}
UNARY_CASES = [(f, x) for f, xs in UNARY.items() for x in xs]
UNARY_IDS = [f"{f.__name__}-{i}" for f, xs in UNARY.items() for i in range(len(xs))]


def _traced_value(f, *args):
    value, _ = ad.jvp(f, args, tuple(np.ones_like(a) for a in args))
    return value


@pytest.mark.parametrize("f, x", UNARY_CASES, ids=UNARY_IDS)
def test_unary_value_is_scipys_and_derivatives_match_finite_differences(f, x):
    np.testing.assert_allclose(_traced_value(f, x), f(x), rtol=1e-14, atol=0)
    check_grads(f, (x,), order=2)


ORDERS = [0.0, 1.0, 2.5, -1.5]


@pytest.mark.parametrize("name", ["jv", "yv", "iv", "ive", "kv", "kve"])
@pytest.mark.parametrize("v", ORDERS)
def test_bessel_of_real_order_in_its_argument(name, v):
    f = getattr(sp, name)
    z = np.array([0.3, 1.7, 6.0, 30.0])
    np.testing.assert_allclose(_traced_value(lambda z: f(v, z), z), f(v, z), rtol=1e-14)
    check_grads(lambda z: f(v, z), (z,), order=2)


@pytest.mark.parametrize("name", ["jv", "yv", "iv", "kv", "kve"])
def test_bessel_of_complex_argument_is_holomorphic(name):
    f = getattr(sp, name)
    z = np.array([0.7 + 0.4j, -1.2 + 2.0j, 3.0 - 0.5j])
    check_grads(lambda z: f(1.5, z), (z,), order=2)
    # f'(z) from a complex step along the real and the imaginary axis agree
    d = ad.grad(lambda z: f(1.5, z), holomorphic=True)(z[0])
    h = 1e-6
    for step in (h, 1j * h):
        fd = (f(1.5, z[0] + step) - f(1.5, z[0] - step)) / (2 * step)
        np.testing.assert_allclose(d, fd, rtol=1e-6)


def test_ive_at_negative_argument_and_integer_order():
    z = np.array([-40.0, -3.0, -0.5, 0.5, 3.0, 40.0])
    for v in (0.0, 1.0, 3.0):
        check_grads(lambda z: sp.ive(v, z), (z,), order=2)


@pytest.mark.parametrize("f, args", [
    (sp.beta, (np.array([0.4, 1.0, 3.5]), np.array([2.0, 0.7, 5.0]))),
    (sp.betaln, (np.array([0.4, 1.0, 30.0]), np.array([2.0, 0.7, 50.0]))),
    (sp.rel_entr, (np.array([0.1, 1.0, 3.0]), np.array([2.0, 1.0, 0.4]))),
    (sp.kl_div, (np.array([0.1, 1.0, 3.0]), np.array([2.0, 1.0, 0.4]))),
    (sp.huber, (np.array([1.0, 1.0, 0.5, 2.0]), np.array([0.3, -1.7, 0.2, -5.0]))),
    (sp.pseudo_huber, (np.array([0.2, 1.0, 3.0]), np.array([-2.0, 0.4, 7.0]))),
    (sp.boxcox, (np.array([0.3, 1.0, 4.0]), np.array([-1.0, 0.5, 2.5]))),
    (sp.inv_boxcox, (np.array([0.3, -0.4, 1.5]), np.array([-1.0, 0.5, 2.5]))),
], ids=["beta", "betaln", "rel_entr", "kl_div", "huber", "pseudo_huber", "boxcox", "inv_boxcox"])
def test_binary_value_is_scipys_and_derivatives_match_finite_differences(f, args):
    np.testing.assert_allclose(_traced_value(f, *args), f(*args), rtol=1e-14)
    check_grads(f, args, order=2)


@pytest.mark.parametrize("lmbda", [0.0, 1e-9, -1e-5, 3e-3, -0.02, 0.5])
def test_boxcox_and_its_inverse_near_lambda_zero(lmbda):
    x = np.array([0.2, 1.0, 3.0, 9.0])
    lam = np.full(4, lmbda)
    check_grads(sp.boxcox, (x, lam), order=2)
    check_grads(sp.inv_boxcox, (np.array([-0.8, 0.0, 0.5, 1.5]), lam), order=2)


def test_boxcox_lambda_derivatives_at_zero_are_the_limits():
    x, y = 2.5, 0.8
    L = math.log(x)
    d1 = ad.grad(lambda lam: sp.boxcox(x, lam))(0.0)
    d2 = ad.hessian(lambda lam: sp.boxcox(x, lam))(0.0)
    # (x**lam - 1)/lam = L + lam L²/2 + lam² L³/6 + ...
    np.testing.assert_allclose([d1, d2], [L ** 2 / 2, L ** 3 / 3], rtol=1e-12)
    # (1 + lam y)**(1/lam) = e**y (1 - lam y²/2 + ...)
    np.testing.assert_allclose(ad.grad(lambda lam: sp.inv_boxcox(y, lam))(0.0),
                               -math.exp(y) * y * y / 2, rtol=1e-12)
    # and the round trip is the identity, in x and in lambda
    g = ad.grad(lambda x, lam: sp.inv_boxcox(sp.boxcox(x, lam), lam), argnums=(0, 1))(x, 0.0)
    np.testing.assert_allclose(g, [1.0, 0.0], atol=1e-12)


def test_closed_forms_known_independently():
    euler = 0.5772156649015329
    assert math.isclose(ad.grad(sp.gamma)(1.0), -euler, rel_tol=1e-12)
    assert math.isclose(ad.grad(sp.loggamma)(1.0), -euler, rel_tol=1e-12)
    assert math.isclose(ad.grad(sp.rgamma)(1.0), euler, rel_tol=1e-12)
    assert math.isclose(ad.grad(sp.erfinv)(0.0), math.sqrt(math.pi) / 2, rel_tol=1e-14)
    assert math.isclose(ad.grad(sp.erfcinv)(1.0), -math.sqrt(math.pi) / 2, rel_tol=1e-14)
    assert math.isclose(ad.grad(sp.ndtri)(0.5), math.sqrt(2 * math.pi), rel_tol=1e-14)
    assert math.isclose(ad.hessian(sp.ndtri)(0.5), 0.0, abs_tol=1e-12)
    assert math.isclose(ad.grad(sp.log_expit)(0.0), 0.5, rel_tol=1e-14)
    assert math.isclose(ad.grad(sp.entr)(1.0), -1.0, rel_tol=1e-14)
    assert math.isclose(ad.grad(sp.i0)(0.0), 0.0, abs_tol=0)
    assert math.isclose(ad.hessian(sp.i0)(0.0), 0.5, rel_tol=1e-14)   # I0 = 1 + x²/4 + ...
    assert math.isclose(ad.grad(sp.j1)(0.0), 0.5, rel_tol=1e-14)      # J1 = x/2 - ...
    assert math.isclose(ad.grad(sp.i1e)(0.0), 0.5, rel_tol=1e-14)
    x = np.array([0.1, 1.0, 4.0])
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(sp.gammainc(1.0, x)))(x), np.exp(-x))
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(sp.gammaincc(1.0, x)))(x), -np.exp(-x))
    u = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(ad.grad(lambda u: np.sum(sp.betainc(2.0, 1.0, u)))(u), 2 * u)
    np.testing.assert_allclose(ad.grad(lambda u: np.sum(sp.betaincc(1.0, 1.0, u)))(u), -np.ones(3))
    # Hurwitz zeta: d/dq zeta(2, q) = -2 zeta(3, q); zeta(3, 1) is Apéry's constant
    assert math.isclose(ad.grad(lambda q: sp.zeta(2.0, q))(1.0), -2 * 1.2020569031595942,
                        rel_tol=1e-12)
    # beta(a, 1) = 1/a
    assert math.isclose(ad.grad(lambda a: sp.beta(a, 1.0))(2.0), -0.25, rel_tol=1e-12)
    # pseudo_huber(1, r) = sqrt(1 + r²) - 1
    assert math.isclose(ad.grad(lambda r: sp.pseudo_huber(1.0, r))(3.0), 3 / math.sqrt(10),
                        rel_tol=1e-14)


@pytest.mark.parametrize("a", [0.3, 1.0, 4.5])
def test_incomplete_gamma_and_beta_in_x(a):
    x = np.array([0.05, 0.8, 3.0, 12.0])
    for f in (sp.gammainc, sp.gammaincc):
        np.testing.assert_allclose(_traced_value(lambda x: f(a, x), x), f(a, x), rtol=1e-14)
        check_grads(lambda x: f(a, x), (x,), order=2)
    u = np.array([0.02, 0.3, 0.7, 0.97])
    for f in (sp.betainc, sp.betaincc):
        np.testing.assert_allclose(_traced_value(lambda u: f(a, 2.0, u), u), f(a, 2.0, u), rtol=1e-14)
        check_grads(lambda u: f(a, 2.0, u), (u,), order=2)
        check_grads(lambda u: f(1.5, a, u), (u,), order=2)


# ---- incomplete gamma and beta functions in their shape parameters ---------------------------
def _richardson(f, p, levels=5):
    """df/dp at ``p`` (f > 0) by Richardson extrapolation of central
    differences of log f, from SciPy's own ``f`` (steps h, h/2, ... with
    h = min(p/8, 1/4)): independent of dualad's rules.  log f is close to
    linear where f itself spans orders of magnitude."""
    value, log_f = f(p), lambda t: np.log(f(t))
    h = min(p / 8, 0.25)
    table = [[(log_f(p + h) - log_f(p - h)) / (2 * h)]]
    for i in range(1, levels):
        h = h / 2
        row = [(log_f(p + h) - log_f(p - h)) / (2 * h)]
        for j in range(1, i + 1):
            row.append(row[j - 1] + (row[j - 1] - table[i - 1][j - 1]) / (4 ** j - 1))
        table.append(row)
    return value * table[-1][-1]


def _reference(f, complement, p):
    """df/dp by Richardson extrapolation of whichever of f and its complement
    1 - f (SciPy's, e.g. gammainc and gammaincc) is the smaller: the other
    rounds towards 1 and its differences lose the digits."""
    return _richardson(f, p) if f(p) <= 0.5 else -_richardson(complement, p)


def _shape_derivative(f, args, i):
    """The derivative of ``f`` in its argument ``i``, elementwise, by grad."""
    def scalar(p):
        return np.sum(f(*args[:i], p, *args[i + 1:]))
    return ad.grad(scalar)(args[i])


# (a, x): small and large a; x near 0, near a (where the series meets the
# continued fraction, at x = a + 1), and x >> a
# (P and Q both representable: neither underflows to 0)
GAMMA_POINTS = [(a, x) for a in (0.05, 0.3, 1.0, 2.5, 12.0, 90.0)
                for x in (1e-4, 0.2 * a, a, a + 1.0, 1.4 * a + 2.0, 4 * a + 8.0)
                if sp.gammainc(a, x) > 1e-300 and sp.gammaincc(a, x) > 1e-300]


@pytest.mark.parametrize("f, g", [(sp.gammainc, sp.gammaincc), (sp.gammaincc, sp.gammainc)],
                         ids=["gammainc", "gammaincc"])
def test_incomplete_gamma_in_its_shape_matches_richardson_extrapolation(f, g):
    a, x = (np.array(v) for v in zip(*GAMMA_POINTS))
    got = _shape_derivative(f, (a, x), 0)
    expected = np.array([_reference(lambda t: f(t, xi), lambda t: g(t, xi), ai)
                         for ai, xi in zip(a, x)])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)
    # reverse and forward mode agree to rounding, and the value is SciPy's
    _, tangent = ad.jvp(lambda a: f(a, x), (a,), (np.ones_like(a),))
    np.testing.assert_allclose(tangent, got, rtol=1e-13, atol=0)
    np.testing.assert_array_equal(_traced_value(lambda a: f(a, x), a), f(a, x))


# (a, b, x): small and large shapes; x near 0 and 1 and near the mean, where
# the fraction of I_x(a, b) meets that of 1 - I_{1-x}(b, a)
BETA_POINTS = [(a, b, x) for a, b in ((0.05, 0.4), (0.5, 3.0), (1.0, 1.0), (2.0, 2.0), (4.0, 0.7),
                                      (15.0, 40.0), (80.0, 60.0))
               for x in (1e-4, 0.03, a / (a + b), (a + 1) / (a + b + 2), 0.6, 0.97)
               if sp.betainc(a, b, x) > 1e-300 and sp.betaincc(a, b, x) > 1e-300]


@pytest.mark.parametrize("f, g", [(sp.betainc, sp.betaincc), (sp.betaincc, sp.betainc)],
                         ids=["betainc", "betaincc"])
def test_incomplete_beta_in_its_shapes_matches_richardson_extrapolation(f, g):
    a, b, x = (np.array(v) for v in zip(*BETA_POINTS))
    for i in (0, 1):
        got = _shape_derivative(f, (a, b, x), i)
        if i == 0:
            expected = [_reference(lambda t: f(t, bi, xi), lambda t: g(t, bi, xi), ai)
                        for ai, bi, xi in zip(a, b, x)]
        else:
            expected = [_reference(lambda t: f(ai, t, xi), lambda t: g(ai, t, xi), bi)
                        for ai, bi, xi in zip(a, b, x)]
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0, err_msg=f"shape {i}")


@pytest.mark.parametrize("a", [0.05, 0.7, 3.0, 40.0])
def test_incomplete_gamma_second_order_in_every_argument(a):
    x = np.array([0.01, 0.5, a, a + 1.5, 3 * a + 5])
    shapes = np.full_like(x, a)
    for f in (sp.gammainc, sp.gammaincc):
        check_grads(f, (shapes, x), order=2)


@pytest.mark.parametrize("a, b", [(0.05, 0.5), (0.8, 2.5), (3.0, 3.0), (30.0, 12.0)])
def test_incomplete_beta_second_order_in_every_argument(a, b):
    x = np.array([0.002, 0.2, a / (a + b), 0.75, 0.995])
    for f in (sp.betainc, sp.betaincc):
        check_grads(f, (np.full_like(x, a), np.full_like(x, b), x), order=2)


def test_shape_hessians_agree_across_nestings_and_vector_mode():
    a, x = np.array([0.4, 2.0, 7.5]), np.array([0.3, 3.5, 6.0])
    b = np.array([1.5, 0.6, 9.0])
    u = np.array([0.1, 0.5, 0.8])

    def f(p):
        return np.sum(sp.gammainc(p, x) * sp.betaincc(p, b, u) + sp.betainc(2.0, p, u) ** 2)
    v = np.array([0.3, -1.0, 0.7])
    hvps = [ad.hvp(f, a, v, mode=m) for m in ("fwd-over-rev", "rev-over-fwd", "rev-over-rev",
                                             "fwd-over-fwd")]
    for h in hvps[1:]:
        np.testing.assert_allclose(h, hvps[0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ad.hessian(f)(a) @ v, hvps[0], rtol=1e-10, atol=1e-14)
    # vector mode: the Jacobian of gammaincc in a, column by column
    jac = ad.jacfwd(lambda p: sp.gammaincc(p, x))(a)
    np.testing.assert_allclose(jac, ad.jacrev(lambda p: sp.gammaincc(p, x))(a), rtol=1e-13)
    assert np.count_nonzero(jac - np.diag(np.diag(jac))) == 0


def test_incomplete_gamma_shape_derivative_closed_forms():
    # P(1, x) = 1 - e^-x; dP/da at a = 1 is -(e^-x) (log x) - E1(x)... checked instead
    # through P(a + 1, x) = P(a, x) - x^a e^-x / Gamma(a + 1), differentiated in a
    a, x = np.array([0.3, 1.0, 4.0]), np.array([0.5, 2.0, 9.0])
    lhs = _shape_derivative(sp.gammainc, (a + 1, x), 0)
    rhs = (_shape_derivative(sp.gammainc, (a, x), 0)
           - np.exp(a * np.log(x) - x - sp.gammaln(a + 1)) * (np.log(x) - sp.digamma(a + 1)))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-11)
    # I_x(a, b) + I_{1-x}(b, a) = 1: derivatives in a cancel
    b, u = np.array([2.0, 0.5, 7.0]), np.array([0.2, 0.6, 0.9])
    d1 = _shape_derivative(sp.betainc, (a, b, u), 0)
    d2 = _shape_derivative(lambda b_, a_, y: sp.betainc(b_, a_, y), (b, a, 1 - u), 1)
    np.testing.assert_allclose(d1, -d2, rtol=1e-11)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_incomplete_gamma_and_beta_shape_derivative_at_edges():
    # x = 0 and x = inf (beta: x = 0 and 1): the value is 0 or 1 for every shape
    a = np.array([0.5, 2.0, 2.0])
    x = np.array([0.0, 0.0, np.inf])
    for f in (sp.gammainc, sp.gammaincc):
        g = ad.grad(lambda a: np.sum(f(a, x)))(a)
        np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    u = np.array([0.0, 1.0, 1.0])
    for f in (sp.betainc, sp.betaincc):
        for i in (0, 1):
            g = ad.grad(lambda *ab: np.sum(f(*ab, u)), argnums=i)(a, a[::-1].copy())
            np.testing.assert_array_equal(g, [0.0, 0.0, 0.0])
    # outside the domain (a <= 0, x < 0) SciPy gives NaN and the derivative is NaN
    _, t = ad.jvp(lambda a: sp.gammainc(a, np.array([1.0, -1.0])), (np.array([-0.5, 2.0]),),
                  (np.ones(2),))
    assert np.all(np.isnan(t))
    _, t = ad.jvp(lambda b: sp.betainc(2.0, b, np.array([0.5, 1.5])), (np.array([-0.5, 2.0]),),
                  (np.ones(2),))
    assert np.all(np.isnan(t))


def test_integer_shapes_where_the_fractions_terminate():
    # at integer a (b) the continued fractions end early, their derivatives do not
    a, x = np.array([1.0, 2.0, 5.0]), np.array([3.0, 7.0, 9.0])
    got = _shape_derivative(sp.gammaincc, (a, x), 0)
    expected = [_reference(lambda t: sp.gammaincc(t, xi), lambda t: sp.gammainc(t, xi), ai)
                for ai, xi in zip(a, x)]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    a, b, u = np.array([1.0, 3.0, 2.0]), np.array([15.0, 2.0, 4.0]), np.array([0.2, 0.7, 0.1])
    got = _shape_derivative(sp.betainc, (a, b, u), 1)
    expected = [_reference(lambda t: sp.betainc(ai, t, ui), lambda t: sp.betaincc(ai, t, ui), bi)
                for ai, bi, ui in zip(a, b, u)]
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_shape_derivative_beyond_its_range_says_so():
    # the series would need some 280000 terms: refused, not silently truncated
    with pytest.raises(ArithmeticError, match="scipy.special.gammainc.*constant shape"):
        ad.grad(lambda a: sp.gammainc(a, 1e9))(1e9)
    with pytest.raises(ArithmeticError, match="scipy.special.betainc.*constant shape"):
        ad.grad(lambda a: sp.betainc(a, 1e10, 0.5))(1e10)
    # while a million is fine: dP/da at x = a is close to -1/sqrt(2 pi a)
    np.testing.assert_allclose(ad.grad(lambda a: sp.gammainc(a, 1e6))(1e6),
                               -1 / math.sqrt(2 * math.pi * 1e6), rtol=1e-3)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_loggamma_of_negative_real_is_nan_with_its_derivative():
    x = np.array([-2.5, -0.5])
    value, t = ad.jvp(sp.loggamma, (x,), (np.ones(2),))
    assert np.all(np.isnan(value)) and np.all(np.isnan(t))
    # gammaln there is log|gamma|, with derivative digamma
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(sp.gammaln(x)))(x),
                               numerical_jvp(sp.gammaln, (x,), (np.ones(2),)), rtol=1e-7)


def test_zeta_in_q():
    q = np.array([0.2, 1.0, 3.5, 40.0])
    for x in (1.5, 2.0, 4.0):
        np.testing.assert_allclose(_traced_value(lambda q: sp.zeta(x, q), q), sp.zeta(x, q), rtol=1e-14)
        check_grads(lambda q: sp.zeta(x, q), (q,), order=2)
    # below x = 1 SciPy returns NaN, and the derivative is NaN with it
    _, t = ad.jvp(lambda q: sp.zeta(0.5, q), (q,), (np.ones(4),))
    assert np.all(np.isnan(t))


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_polygamma_replacement(n):
    x = np.array([0.3, 1.0, 2.5, 10.0])
    np.testing.assert_array_equal(_traced_value(lambda x: polygamma(n, x), x), sp.polygamma(n, x))
    check_grads(lambda x: polygamma(n, x), (x,), order=2)


def test_polygamma_replacement_is_named_by_scipys_version():
    with pytest.raises(TypeError, match="dualad.scipy.special.polygamma"):
        ad.grad(lambda x: sp.polygamma(1, x))(2.0)
    with pytest.raises(TypeError, match="dualad.scipy.special.multigammaln"):
        ad.grad(lambda a: sp.multigammaln(a, 2))(2.0)


@pytest.mark.parametrize("d", [1, 2, 4])
def test_multigammaln_replacement(d):
    a = np.array([2.1, 3.0, 7.5])
    np.testing.assert_allclose(_traced_value(lambda a: multigammaln(a, d), a), sp.multigammaln(a, d),
                               rtol=1e-14)
    check_grads(lambda a: multigammaln(a, d), (a,), order=2)
    with pytest.raises(ValueError, match="condition"):
        multigammaln(np.array([0.5 * (d - 1)]), d)


# ---- edge points (docs/kinks.md) ----------------------------------------------------------
def _both_modes_grad(f, x):
    g = ad.grad(lambda x: np.sum(f(x)))(x)
    np.testing.assert_array_equal(g, ad.jacfwd(lambda x: np.sum(f(x)))(x))
    return g


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_entropies_at_zero():
    # entr(x) = -x log x: the one-sided limit +inf at 0
    assert _both_modes_grad(sp.entr, np.array([0.0]))[0] == np.inf
    # rel_entr(0, y) = 0 and kl_div(0, y) = y for every y > 0: derivatives 0 and 1 in y
    y = np.array([0.5, 2.0])
    np.testing.assert_array_equal(_both_modes_grad(lambda y: sp.rel_entr(np.zeros(2), y), y), [0.0, 0.0])
    np.testing.assert_array_equal(_both_modes_grad(lambda y: sp.kl_div(np.zeros(2), y), y), [1.0, 1.0])
    # at x = y = 0 both are 0 for every y >= 0: rel_entr's derivative in y is 0, not 0/0
    np.testing.assert_array_equal(_both_modes_grad(lambda y: sp.rel_entr(np.zeros(1), y), np.zeros(1)),
                                  [0.0])
    assert _both_modes_grad(lambda x: sp.rel_entr(x, np.ones(1)), np.zeros(1))[0] == -np.inf


def test_huber_at_its_kinks():
    # value and slope continuous at |r| = delta: slope ±delta from both sides
    r = np.array([-1.5, 1.5])
    g = _both_modes_grad(lambda r: sp.huber(1.5, r), r)
    np.testing.assert_array_equal(g, [-1.5, 1.5])
    eps = 1e-7
    for side in (-eps, eps):
        np.testing.assert_allclose(ad.grad(lambda r: sp.huber(1.5, r))(1.5 + side), 1.5, atol=2e-7)
    # the second derivative at the kink is the inside one, 1 (the closed interval)
    assert ad.hessian(lambda r: sp.huber(1.5, r))(1.5) == 1.0
    assert ad.hessian(lambda r: sp.huber(1.5, r))(1.5 + 1e-3) == 0.0
    # in delta: |r| - delta outside, 0 inside and at the kink
    assert ad.grad(lambda d: sp.huber(d, 2.0))(0.5) == 1.5
    assert ad.grad(lambda d: sp.huber(d, 0.3))(0.5) == 0.0
    assert ad.grad(lambda d: sp.huber(d, 0.5))(0.5) == 0.0


def test_scaled_bessel_i_at_zero():
    # i0e(x) = exp(-|x|) I0(x) has slopes ∓1 beside 0; 0 at 0, as abs'(0) = 0
    assert _both_modes_grad(sp.i0e, np.array([0.0]))[0] == 0.0
    np.testing.assert_allclose(ad.grad(sp.i0e)(1e-8), -1.0, rtol=1e-7)
    np.testing.assert_allclose(ad.grad(sp.i0e)(-1e-8), 1.0, rtol=1e-7)
    assert _both_modes_grad(lambda z: sp.ive(0.0, z), np.array([0.0]))[0] == 0.0


def test_large_arguments_of_scaled_bessel_functions_stay_finite():
    x = np.array([700.0, 5e3, 1e5])
    for f in (sp.i0e, sp.i1e, sp.k0e, sp.k1e, lambda x: sp.ive(2.5, x), lambda x: sp.kve(2.5, x)):
        g = _both_modes_grad(f, x)
        assert np.all(np.isfinite(g))
        # elementwise: the JVP along x is x·f'(x) entry by entry (steps relative to x)
        np.testing.assert_allclose(g * x, numerical_jvp(f, (x,), (x,)), rtol=1e-6, atol=0)


# ---- refusals -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["jv", "yv", "iv", "ive", "kv", "kve"])
def test_traced_bessel_order_is_refused_by_name(name):
    f = getattr(sp, name)
    with pytest.raises(TypeError, match=f"v= of scipy.special.{name}.*order"):
        ad.grad(lambda v: f(v, 1.3))(1.5)
    with pytest.raises(TypeError, match="v="):
        ad.vjp(lambda v, z: f(v, z), np.array([1.5]), np.array([1.3]))


@pytest.mark.parametrize("f, argnum, name", [
    (lambda s, q: sp.zeta(s, q), 0, "x= of scipy.special.zeta"),
])
def test_traced_shape_parameter_is_refused_by_name(f, argnum, name):
    with pytest.raises(TypeError, match=name):
        ad.grad(f, argnums=argnum)(1.5, 0.4)
    # the other argument alone is differentiated
    assert np.isfinite(ad.grad(f, argnums=1)(1.5, 0.4))


@pytest.mark.parametrize("f, name", [(sp.gamma, "gamma"), (sp.rgamma, "rgamma"),
                                     (sp.loggamma, "loggamma"),
                                     (lambda z: sp.ive(1.0, z), "ive")])
def test_complex_argument_is_refused_by_name(f, name):
    with pytest.raises(TypeError, match=f"scipy.special.{name}.*complex"):
        ad.jvp(f, (np.array([1.5 + 0.5j]),), (np.array([1.0 + 0j]),))


def test_polygamma_refuses_complex_arguments():
    with pytest.raises(TypeError, match="x= of dualad.scipy.special.polygamma.*complex"):
        ad.jvp(lambda z: polygamma(1, z), (np.array([1.5 + 0.5j]),), (np.array([1.0 + 0j]),))


def test_polygamma_refuses_a_traced_order():
    with pytest.raises(TypeError, match="n= of dualad.scipy.special.polygamma"):
        ad.grad(lambda n: polygamma(n, 2.0))(1.0)


# ---- logsumexp: SciPy 1.17's semantics -------------------------------------------------------
from dualad.scipy.special import logsumexp  # noqa: E402

_A = np.array([[0.3, -1.2, 2.0, 0.5], [1.1, 0.0, -0.7, 3.0], [-2.0, 0.4, 0.9, 1.6]])
_B = np.array([[1.0, -0.5, 2.0, 0.0], [0.3, 1.5, -2.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
LOGSUMEXP_CALLS = [
    (_A, {}), (_A, {"axis": 0}), (_A, {"axis": (0, 1), "keepdims": True}), (_A, {"axis": -1, "b": _B}),
    (_A, {"b": _B, "return_sign": True}), (_A, {"axis": 1, "b": _B, "return_sign": True, "keepdims": True}),
    (np.array([1.0, 2.0]), {"b": [1.0, -1.0]}),                       # negative sum: NaN
    (np.array([1.0, 2.0]), {"b": [1.0, -1.0], "return_sign": True}),  # ... or its sign
    (np.array([1.0, np.inf]), {"b": [1.0, 0.0]}),                     # b = 0 excludes even inf
    (np.array([1.0, np.nan]), {"b": [1.0, 0.0]}),                     # ... and NaN
    (np.array([1.0, 2.0]), {"b": [0.0, 0.0]}), (np.array([1.0, 2.0]), {"b": [0.0, 0.0], "return_sign": True}),
    (np.array([-np.inf, -np.inf]), {}), (np.array([1.0, np.inf]), {}),
    (np.array([np.inf, np.inf]), {"b": [1.0, -1.0]}),
    (np.array([]), {}), (np.zeros((0, 3)), {"axis": 0}), (3.0, {}), (3.0, {"b": 2.0, "keepdims": True}),
    (_A[0], {"b": _B[:2]}),                                           # a broadcast against b
    (np.array([1 + 2j, 3 - 1j, 0.5 + 4j]), {}), (np.array([1 + 2j, 3 - 1j, 0.5 + 4j]), {"return_sign": True}),
    (np.array([1 + 3j, 1 + 3j]), {}), (np.array([1.0, 2.0]), {"b": np.array([1j, 2.0])}),
    (np.array([1, 2, 3]), {}), (np.array([1e308, 1e308]), {}),
]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("a, kwargs", LOGSUMEXP_CALLS, ids=[str(i) for i in range(len(LOGSUMEXP_CALLS))])
def test_logsumexp_values_are_scipys(a, kwargs):
    expected = sp.logsumexp(a, **kwargs)
    got = logsumexp(a, **kwargs)
    # and traced in a (and b), the same values
    traced = _traced_value(lambda a: logsumexp(a, **kwargs), np.asarray(a, float)) \
        if np.size(a) and not np.iscomplexobj(a) else got
    for value in (got, traced):
        pairs = zip(value, expected) if isinstance(expected, tuple) else [(value, expected)]
        for g, e in pairs:
            assert np.shape(g) == np.shape(e) and np.result_type(g) == np.result_type(e)
            np.testing.assert_allclose(g, e, rtol=1e-14, atol=0)


def test_logsumexp_derivatives_in_a_and_b():
    b = _B + 2.5
    check_grads(lambda a, b: logsumexp(a, axis=1, b=b), (_A, b), order=2)
    check_grads(lambda a, b: logsumexp(a, axis=0, b=b, keepdims=True), (_A, b[:, :1]), order=2)
    check_grads(lambda a, b: logsumexp(a, b=b, return_sign=True)[0], (_A, _B), order=2)
    check_grads(lambda a: logsumexp(a, axis=(0, 1)), (_A,), order=2)
    # the sign is a constant; the log of |sum| is differentiated where the sum is negative
    (value, sign), pullback = ad.vjp(lambda b: logsumexp(np.array([1.0, 2.0]), b=b, return_sign=True),
                                     np.array([1.0, -1.0]))
    assert sign == -1.0
    s = np.e - np.e ** 2
    np.testing.assert_allclose(pullback((1.0, 0.0))[0], np.exp([1.0, 2.0]) / s, rtol=1e-14)


def test_logsumexp_of_complex_input_is_holomorphic():
    z = np.array([0.3 + 0.4j, -1.0 + 2.0j, 0.8 - 0.2j])
    f = lambda z: logsumexp(z)
    check_grads(f, (z,), order=2)
    g = ad.grad(f, holomorphic=True)(z)
    np.testing.assert_allclose(g, np.exp(z) / np.sum(np.exp(z)), rtol=1e-14)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_logsumexp_excluded_and_degenerate_entries():
    # b = 0 excludes an entry: derivative exactly 0 in a there, even at inf or NaN
    a = np.array([1.0, np.inf, np.nan])
    g = ad.grad(lambda a: logsumexp(a, b=np.array([1.0, 0.0, 0.0])))(a)
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0])
    # where the result is not finite (all weights 0: -inf; a negative sum: NaN) the
    # derivative is 0, in both modes (docs/kinks.md)
    for b in (np.array([0.0, 0.0]), np.array([1.0, -1.0])):
        for d in (ad.grad(lambda b: logsumexp(np.array([1.0, 2.0]), b=b))(b),
                  ad.jacfwd(lambda b: logsumexp(np.array([1.0, 2.0]), b=b))(b)):
            np.testing.assert_array_equal(d, [0.0, 0.0])
