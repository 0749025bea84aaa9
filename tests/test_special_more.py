"""scipy.special functions of dualad/rules/special_more.py beyond the rule
table: the series used near the closed forms' removable singularities, the
complex arguments, and the parameters held constant."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp

import dualad as ad
from dualad.testing import check_grads


def _richardson(f, x, h=1e-3):
    """f'(x) by central differences extrapolated twice (error ~ h⁶)."""
    d = lambda h: (f(x + h) - f(x - h)) / (2 * h)
    d1, d2, d4 = d(h), d(h / 2), d(h / 4)
    e1, e2 = (4 * d2 - d1) / 3, (4 * d4 - d2) / 3
    return (16 * e2 - e1) / 15


def _derivative(f):
    return lambda x: ad.jvp(f, (x,), (np.ones_like(x),))[1]


# the series switch at |x - centre| = 1e-2: points on both sides and at the centre
SERIES = [
    (sp.exprel, 0.0), (sp.ellipk, 0.0), (sp.ellipe, 0.0), (sp.ellipkm1, 1.0), (sp.spence, 1.0),
]


@pytest.mark.parametrize("f, centre", SERIES, ids=[f.__name__ for f, _ in SERIES])
def test_derivatives_across_the_series_switch(f, centre):
    offsets = np.array([-0.0101, -0.0099, -1e-4, 0.0, 1e-4, 0.0099, 0.0101, 0.05])
    x = centre + offsets
    if f is sp.ellipkm1:
        x = x[x <= 1.0]  # ellipkm1(p) needs p <= 1 (m = 1 - p >= 0)
    np.testing.assert_allclose(_derivative(f)(x), _richardson(f, x), rtol=1e-9, atol=1e-12)
    # second derivative: the first one differentiated again, against differences of SciPy's
    second = ad.jvp(_derivative(f), (x,), (np.ones_like(x),))[1]
    np.testing.assert_allclose(second, _richardson(lambda y: _richardson(f, y, 1e-2), x, 1e-2),
                               rtol=1e-5, atol=1e-8)
    check_grads(f, (x,), order=2)


def test_limits_at_the_removable_singularities():
    """Known values: exprel'(0) = 1/2 and exprel''(0) = 1/3 (e^x's series),
    K'(0) = π/8, E'(0) = -π/8, spence'(1) = -1."""
    zero, one = np.array([0.0]), np.array([1.0])
    np.testing.assert_allclose(_derivative(sp.exprel)(zero), 0.5, rtol=1e-15)
    np.testing.assert_allclose(ad.jvp(_derivative(sp.exprel), (zero,), (one,))[1], 1 / 3, rtol=1e-14)
    np.testing.assert_allclose(_derivative(sp.ellipk)(zero), math.pi / 8, rtol=1e-15)
    np.testing.assert_allclose(_derivative(sp.ellipe)(zero), -math.pi / 8, rtol=1e-15)
    np.testing.assert_allclose(_derivative(sp.spence)(one), -1.0, rtol=1e-15)


HOLOMORPHIC = ["erfcx", "erfi", "dawsn", "wofz", "exp1", "expi", "spence", "expm1", "log1p"]


@pytest.mark.parametrize("name", HOLOMORPHIC)
def test_complex_arguments(name):
    f = getattr(sp, name)
    z = np.array([0.4 + 0.3j, 1.2 - 0.7j, -0.5 + 0.9j])
    v = np.array([1.0 + 0.5j, -0.3 + 1.0j, 0.7 - 0.2j])
    value, tangent = ad.jvp(f, (z,), (v,))
    np.testing.assert_array_equal(value, f(z))
    h = 1e-6
    np.testing.assert_allclose(tangent, (f(z + h * v) - f(z - h * v)) / (2 * h), rtol=1e-7)
    check_grads(lambda z: np.abs(f(z)) ** 2, (z,), order=2)


def test_wofz_of_a_real_argument_has_a_real_cotangent():
    x = np.array([0.3, -1.1])
    g = ad.grad(lambda x: np.sum(np.imag(sp.wofz(x)) * np.real(sp.wofz(2 * x))))(x)
    assert g.dtype == np.float64
    check_grads(lambda x: np.imag(sp.wofz(x)) * np.real(sp.wofz(2 * x)), (x,), order=2)


CONSTANT_PARAMETERS = [
    ("stdtr", "df", lambda d, x: sp.stdtr(d, x)), ("chdtr", "v", lambda d, x: sp.chdtr(d, x)),
    ("pdtr", "k", lambda d, x: sp.pdtr(d, x)), ("fdtr", "dfd", lambda d, x: sp.fdtr(2.0, d, x)),
    ("gammaincinv", "a", lambda d, x: sp.gammaincinv(d, x / 3)),
    ("betaincinv", "b", lambda d, x: sp.betaincinv(1.5, d, x / 3)),
    ("gdtr", "b", lambda d, x: sp.gdtr(1.5, d, x)), ("hyp1f1", "b", lambda d, x: sp.hyp1f1(1.0, d, x)),
    ("hyp2f1", "c", lambda d, x: sp.hyp2f1(0.5, 1.0, d, x / 3)),
]


@pytest.mark.parametrize("name, param, f", CONSTANT_PARAMETERS, ids=[c[0] for c in CONSTANT_PARAMETERS])
def test_a_traced_shape_parameter_is_refused_by_name(name, param, f):
    x = np.array([0.4, 0.9])
    with pytest.raises(TypeError, match=rf"{param}= of scipy\.special\.{name}"):
        ad.grad(lambda d: np.sum(f(d, x)))(np.array([2.5, 3.5]))
    # held constant, the variable is still differentiated
    check_grads(lambda x: f(np.array([2.5, 3.5]), x), (x,), order=2)


def test_gdtr_in_its_rate():
    """gdtr(a, b, x) is the gamma cdf with rate a: differentiated in a and x."""
    a, x = np.array([0.5, 1.5, 3.0]), np.array([0.7, 2.0, 0.4])
    f = lambda a, x: sp.gdtr(a, 2.5, x)
    np.testing.assert_allclose(_derivative(lambda a: f(a, x))(a), _richardson(lambda a: f(a, x), a),
                               rtol=1e-9)
    check_grads(f, (a, x), order=2)


def test_inverses_invert():
    """The inverse cdfs' derivatives are the reciprocals of the cdfs' (the
    chain rule through f(f⁻¹(y)) = y is the identity)."""
    y = np.array([0.1, 0.45, 0.8])
    for forward, inverse in [(lambda x: sp.gammainc(2.5, x), lambda y: sp.gammaincinv(2.5, y)),
                             (lambda x: sp.betainc(2.5, 1.5, x), lambda y: sp.betaincinv(2.5, 1.5, y)),
                             (lambda t: sp.stdtr(4.0, t), lambda p: sp.stdtrit(4.0, p))]:
        _, t = ad.jvp(lambda y: forward(inverse(y)), (y,), (np.ones(3),))
        np.testing.assert_allclose(t, 1.0, rtol=1e-10)
