"""dualad.scipy.stats: SciPy's values (domains, supports, edges included) and
derivatives by finite differences in x and every continuous parameter."""

import warnings

import numpy as np
import pytest
import scipy.stats as ss

import dualad as ad
import dualad.scipy.stats as ds
from dualad.testing import check_grads

X = np.array([-np.inf, -3.0, -1.0, -0.0, 0.0, 0.3, 0.5, 1.0, 2.0, 7.0, 40.0, np.inf, np.nan])
LOC_SCALE = [(0.0, 1.0), (0.5, 2.0), (-1.0, 0.3), (0.0, 0.0), (0.0, -1.0), (np.nan, 1.0)]
CONTINUOUS = {
    "norm": [()], "cauchy": [()], "logistic": [()], "laplace": [()], "expon": [()],
    "uniform": [()],
    "t": [(0.5,), (3.0,), (np.inf,), (-1.0,), (0.0,)],
    "gamma": [(0.5,), (1.0,), (2.5,), (-1.0,), (0.0,)],
    "chi2": [(1.0,), (2.0,), (5.0,), (-1.0,)],
    "beta": [(0.5, 2.0), (1.0, 1.0), (3.0, 0.7), (-1.0, 2.0), (2.0, 0.0)],
    "lognorm": [(0.5,), (2.0,), (0.0,), (-1.0,)],
}
TAILS = ("cdf", "logcdf", "sf", "logsf")
HAS_TAILS = set(CONTINUOUS)


def scipy_value(dist, method, *args, **kwds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(getattr(ss, dist), method)(*args, **kwds)


def assert_same(got, expected):
    got = np.asarray(got)
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300, equal_nan=True)


SUPPORTED = [(name, method) for name in sorted(CONTINUOUS) for method in ("logpdf", "pdf") + TAILS
             if method not in TAILS or name in HAS_TAILS]


@pytest.mark.parametrize("name, method", SUPPORTED, ids=[f"{n}-{m}" for n, m in SUPPORTED])
def test_continuous_values_match_scipy(name, method):
    for shapes in CONTINUOUS[name]:
        for loc, scale in LOC_SCALE:
            expected = scipy_value(name, method, X, *shapes, loc=loc, scale=scale)
            got = getattr(getattr(ds, name), method)(X, *shapes, loc=loc, scale=scale)
            assert_same(got, expected)


def test_positional_loc_scale_and_scalars():
    assert_same(ds.norm.logpdf(0.3, 1.0, 2.0), ss.norm.logpdf(0.3, 1.0, 2.0))
    assert_same(ds.gamma.pdf(1.5, 2.0, 0.5, 3.0), ss.gamma.pdf(1.5, 2.0, 0.5, 3.0))
    assert_same(ds.beta.logpdf(0.25, a=2.0, b=3.0), ss.beta.logpdf(0.25, a=2.0, b=3.0))
    assert_same(ds.t.logpdf(0.7, df=4.0), ss.t.logpdf(0.7, df=4.0))
    assert_same(ds.lognorm.logpdf(2.0, s=0.8), ss.lognorm.logpdf(2.0, s=0.8))


def test_parameters_broadcast():
    x = np.linspace(0.1, 3.0, 4)[:, None]
    a = np.array([0.5, 1.0, 3.0])
    assert_same(ds.gamma.logpdf(x, a, scale=np.array([1.0, 2.0, 0.5])),
                ss.gamma.logpdf(x, a, scale=np.array([1.0, 2.0, 0.5])))


K = np.array([-1.0, 0.0, 1.0, 1.5, 2.0, 3.0, 10.0, np.nan])
DISCRETE = {
    "poisson": [(0.0,), (1.5,), (-1.0,), (20.0,)],
    "binom": [(3, 0.3), (3, 0.0), (3, 1.0), (2.5, 0.3), (3, 1.5), (0, 0.5), (10, 0.9)],
    "nbinom": [(2.0, 0.3), (0.5, 1.0), (0.0, 0.5), (3.0, 0.0), (3.0, 1.2)],
}


@pytest.mark.parametrize("name", sorted(DISCRETE))
@pytest.mark.parametrize("method", ["logpmf", "pmf"] + list(TAILS))
def test_discrete_values_match_scipy(name, method):
    for shapes in DISCRETE[name]:
        for loc in (0, 1):
            expected = scipy_value(name, method, K, *shapes, loc=loc)
            assert_same(getattr(getattr(ds, name), method)(K, *shapes, loc=loc), expected)


@pytest.mark.parametrize("name, shapes, x", [
    ("norm", (), np.array([-1.3, 0.2, 2.5])),
    ("cauchy", (), np.array([-1.3, 0.2, 2.5])),
    ("logistic", (), np.array([-1.3, 0.2, 2.5])),
    ("laplace", (), np.array([-1.3, 0.2, 2.5])),
    ("expon", (), np.array([0.2, 0.9, 2.5])),
    ("uniform", (), np.array([0.2, 0.9, 1.3])),
    ("t", (3.5,), np.array([-1.3, 0.2, 2.5])),
    ("gamma", (2.5,), np.array([0.3, 0.9, 2.5])),
    ("chi2", (3.5,), np.array([0.3, 0.9, 2.5])),
    ("beta", (2.5, 1.7), np.array([0.3, 0.35, 0.45])),
    ("lognorm", (0.8,), np.array([0.3, 0.9, 2.5])),
])
def test_continuous_derivatives_in_x_and_every_parameter(name, shapes, x):
    dist = getattr(ds, name)
    methods = ("logpdf", "pdf") + (TAILS if name in HAS_TAILS else ())
    for method in methods:
        fn = getattr(dist, method)
        check_grads(lambda x, loc, scale, *shapes: fn(x, *shapes, loc=loc, scale=scale),
                    (x, 0.1, 1.3) + shapes, order=2)


@pytest.mark.parametrize("method", TAILS)
def test_laplace_and_expon_tails_on_both_sides(method):
    # both branches of the piecewise formulas, far into the tails
    x = np.array([-30.0, -2.0, -0.4, 0.4, 2.0, 30.0])
    assert_same(getattr(ds.laplace, method)(x), scipy_value("laplace", method, x))
    check_grads(getattr(ds.laplace, method), (x,), order=2)
    y = np.array([1e-3, 0.4, 2.0, 30.0])
    assert_same(getattr(ds.expon, method)(y), scipy_value("expon", method, y))
    check_grads(getattr(ds.expon, method), (y,), order=2)


@pytest.mark.parametrize("name, shapes, k", [
    ("poisson", (2.5,), np.array([0, 1, 4, 7])),
    ("binom", (9, 0.3), np.array([0, 2, 5, 9])),
    ("nbinom", (3.5, 0.4), np.array([0, 2, 5, 9])),
])
def test_discrete_derivatives_in_continuous_parameters(name, shapes, k):
    dist = getattr(ds, name)
    methods = ("logpmf", "pmf") + TAILS
    # the tails are constant (0 or 1) from the top of the support on: below it
    k_tails = k[k < shapes[0]] if name == "binom" else k
    if name == "binom":   # n is an integer
        fns = [lambda p, m=m: getattr(dist, m)(k if m in ("logpmf", "pmf") else k_tails, shapes[0], p)
               for m in methods]
        check_args = (shapes[1],)
    else:
        fns = [lambda *s, m=m: getattr(dist, m)(k, *s) for m in methods]
        check_args = shapes
    for fn in fns:
        check_grads(fn, check_args, order=2)


def test_gaussian_log_likelihood_gradient_in_loc_and_scale():
    data = np.array([0.3, -1.2, 2.2, 0.9, 1.4])
    mu, sigma = 0.4, 1.7

    def loglik(mu, sigma):
        return np.sum(ds.norm.logpdf(data, loc=mu, scale=sigma))
    g_mu, g_sigma = ad.grad(loglik, argnums=(0, 1))(mu, sigma)
    r = data - mu
    np.testing.assert_allclose(g_mu, np.sum(r) / sigma**2, rtol=1e-12)
    np.testing.assert_allclose(g_sigma, -len(data) / sigma + np.sum(r**2) / sigma**3, rtol=1e-12)
    np.testing.assert_allclose(loglik(mu, sigma), np.sum(ss.norm.logpdf(data, mu, sigma)),
                               rtol=1e-13)


def test_poisson_log_likelihood_gradient_is_sum_k_over_mu_minus_n():
    k = np.array([0, 3, 1, 4, 2])
    g = ad.grad(lambda mu: np.sum(ds.poisson.logpmf(k, mu)))(1.7)
    np.testing.assert_allclose(g, np.sum(k) / 1.7 - len(k), rtol=1e-12)


def test_gamma_logpdf_derivative_in_shape_is_log_x_minus_digamma():
    from scipy.special import digamma as raw_digamma
    x, a = 2.3, 1.8
    g = ad.grad(lambda a: ds.gamma.logpdf(x, a))(a)
    np.testing.assert_allclose(g, np.log(x) - raw_digamma(a), rtol=1e-12)


def test_out_of_domain_entries_give_zero_derivative_and_leave_others_finite():
    scale = np.array([1.5, -1.0, 0.0])
    x = np.array([0.4, 0.4, 0.4])
    value = ds.norm.logpdf(x, scale=scale)
    assert np.isfinite(value[0]) and np.isnan(value[1:]).all()
    g = ad.grad(lambda s: np.sum(np.where(np.isnan(ds.norm.logpdf(x, scale=s)), 0.0,
                                          ds.norm.logpdf(x, scale=s))))(scale)
    np.testing.assert_allclose(g, [-1 / 1.5 + 0.4**2 / 1.5**3, 0.0, 0.0], rtol=1e-12)
    # outside the support: -inf, zero derivative
    gx = ad.grad(lambda x: np.sum(np.maximum(ds.expon.logpdf(x), -5.0)))(np.array([-1.0, 2.0]))
    np.testing.assert_array_equal(gx, [0.0, -1.0])


def test_multivariate_normal_values_match_scipy():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 3))
    cov, mean = a @ a.T + np.eye(3), rng.normal(size=3)
    xs = rng.normal(size=(2, 4, 3))
    for x in (xs, xs[0], xs[0, 0]):
        assert_same(ds.multivariate_normal.logpdf(x, mean, cov),
                    ss.multivariate_normal.logpdf(x, mean, cov))
        assert_same(ds.multivariate_normal.pdf(x, mean=mean, cov=cov),
                    ss.multivariate_normal.pdf(x, mean=mean, cov=cov))
    diag = np.array([1.0, 2.0, 0.5])
    assert_same(ds.multivariate_normal.logpdf(xs[0], mean, diag),
                ss.multivariate_normal.logpdf(xs[0], mean, diag))
    assert_same(ds.multivariate_normal.logpdf(xs[0], mean, 2.5),
                ss.multivariate_normal.logpdf(xs[0], mean, 2.5))
    assert_same(ds.multivariate_normal.logpdf(np.array([0.3, 0.8]), 1.0, 2.0),
                ss.multivariate_normal.logpdf(np.array([0.3, 0.8]), 1.0, 2.0))
    assert_same(ds.multivariate_normal.logpdf(0.3), ss.multivariate_normal.logpdf(0.3))


def test_multivariate_normal_derivatives_in_x_mean_and_cov():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(3, 3))
    x, mean = rng.normal(size=(4, 3)), rng.normal(size=3)
    check_grads(lambda x, m, a: ds.multivariate_normal.logpdf(x, m, a @ a.T + np.eye(3)),
                (x, mean, a), order=2)
    check_grads(lambda x, m, c: ds.multivariate_normal.logpdf(x, m, c),
                (x[0], mean, a @ a.T + np.eye(3)), order=2)


def test_multivariate_normal_gradient_in_mean_is_precision_times_residual():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 3))
    cov, mean, x = a @ a.T + np.eye(3), rng.normal(size=3), rng.normal(size=3)
    g = ad.grad(lambda m: ds.multivariate_normal.logpdf(x, m, cov))(mean)
    np.testing.assert_allclose(g, np.linalg.inv(cov) @ (x - mean), rtol=1e-10)
    gc = ad.grad(lambda c: ds.multivariate_normal.logpdf(x, mean, (c + c.T) / 2))(cov)
    p = np.linalg.inv(cov)
    r = p @ (x - mean)
    np.testing.assert_allclose(gc, -0.5 * p + 0.5 * np.outer(r, r), rtol=1e-9, atol=1e-12)


def test_dirichlet_values_match_scipy_and_refuse_as_scipy():
    rng = np.random.default_rng(4)
    alpha = np.array([0.5, 2.0, 3.0])
    xs = rng.dirichlet(alpha, size=4).T
    for x in (xs, xs[:2], xs[:, 0], xs[:2, 0]):
        assert_same(ds.dirichlet.logpdf(x, alpha), ss.dirichlet.logpdf(x, alpha))
        assert_same(ds.dirichlet.pdf(x, alpha=alpha), ss.dirichlet.pdf(x, alpha=alpha))
    for bad_x, bad_alpha in [(np.array([0.5, 0.6, -0.1]), alpha),
                             (np.array([0.5, 0.6, 0.1]), alpha),
                             (np.array([0.0, 0.4, 0.6]), alpha),
                             (np.array([0.2, 0.2, 0.6]), -alpha),
                             (np.array([0.2, 0.8]), np.ones(4))]:
        with pytest.raises(ValueError):
            ss.dirichlet.logpdf(bad_x, bad_alpha)
        with pytest.raises(ValueError):
            ds.dirichlet.logpdf(bad_x, bad_alpha)


def test_dirichlet_derivatives_in_x_and_alpha():
    x = np.array([[0.2, 0.5], [0.3, 0.1]])   # the last component is 1 - sum
    check_grads(lambda x, a: ds.dirichlet.logpdf(x, a), (x, np.array([0.5, 2.0, 3.0])),
                order=2)
    alpha = np.array([1.5, 2.0, 3.0])
    xf = np.array([0.2, 0.3, 0.5])
    from scipy.special import digamma as raw_digamma
    g = ad.grad(lambda a: ds.dirichlet.logpdf(xf, a))(alpha)
    np.testing.assert_allclose(g, np.log(xf) - raw_digamma(alpha) + raw_digamma(alpha.sum()),
                               rtol=1e-12)


def test_frozen_distributions():
    assert_same(ds.norm(1.0, 2.0).logpdf(X), ss.norm(1.0, 2.0).logpdf(X))
    assert_same(ds.gamma(2.5, scale=0.5).pdf(X), scipy_value("gamma", "pdf", X, 2.5, scale=0.5))
    assert_same(ds.poisson(3.0).logpmf(K), scipy_value("poisson", "logpmf", K, 3.0))
    assert_same(ds.beta(a=2.0, b=3.0).logpdf(0.4), ss.beta(a=2.0, b=3.0).logpdf(0.4))
    g = ad.grad(lambda s: ds.norm(0.0, s).logpdf(1.0))(2.0)
    np.testing.assert_allclose(g, -1 / 2.0 + 1 / 2.0**3, rtol=1e-12)
    m = np.array([0.1, 0.2])
    assert_same(ds.multivariate_normal(m, np.eye(2)).logpdf(np.zeros(2)),
                ss.multivariate_normal(m, np.eye(2)).logpdf(np.zeros(2)))
    assert_same(ds.gamma(2.0).cdf(X), scipy_value("gamma", "cdf", X, 2.0))
    assert_same(ds.nbinom(2.5, 0.3).logsf(K), scipy_value("nbinom", "logsf", K, 2.5, 0.3))


@pytest.mark.parametrize("call, message", [
    (lambda: ds.gamma.ppf(0.3, 2.0), r"gamma has no differentiable ppf"),
    (lambda: ds.poisson.ppf(0.3, 2.0), r"poisson has no differentiable ppf"),
    (lambda: ds.norm.ppf(0.3), r"norm has no differentiable ppf.*scipy\.stats\.norm\.ppf"),
    (lambda: ds.norm.rvs(size=3), r"norm has no differentiable rvs"),
    (lambda: ds.multivariate_normal.cdf(np.zeros(2)), r"multivariate_normal has no "
                                                      r"differentiable cdf"),
])
def test_refused_methods_name_what_they_need(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_attributes_scipy_lacks_are_attribute_errors():
    with pytest.raises(AttributeError):
        ds.norm.no_such_method
    assert not hasattr(ds.norm, "no_such_method")


def test_bad_arguments_are_type_errors():
    with pytest.raises(TypeError, match="missing the shape parameter"):
        ds.gamma.logpdf(1.0)
    with pytest.raises(TypeError, match="unexpected keyword 'sigma'"):
        ds.norm.logpdf(1.0, sigma=2.0)
    with pytest.raises(TypeError, match="multiple values for 'loc'"):
        ds.norm.logpdf(1.0, 0.0, loc=1.0)


def test_scipy_own_distributions_name_the_replacement():
    with pytest.raises(TypeError, match=r"dualad\.scipy\.stats\.norm\.logpdf"):
        ad.grad(lambda x: np.sum(ss.norm.logpdf(x)))(np.array([0.1, 0.2]))


@pytest.mark.parametrize("call, replacement", [
    (lambda x: ss.gamma.logpdf(x, 2.0), "dualad.scipy.stats.gamma.logpdf"),
    (lambda x: ss.beta.pdf(0.3, x, 2.0), "dualad.scipy.stats.beta.pdf"),
    (lambda mu: ss.poisson.logpmf([1, 2], mu), "dualad.scipy.stats.poisson.logpmf"),
    (lambda x: ss.multivariate_normal.logpdf(x, np.zeros(2)),
     "dualad.scipy.stats.multivariate_normal.logpdf"),
])
def test_each_scipy_method_names_its_own_replacement(call, replacement):
    with pytest.raises(TypeError) as info:
        ad.grad(lambda x: np.sum(call(x)))(np.array([1.1, 1.2]))
    assert f"use {replacement} (same signature) instead" in str(info.value)


def test_a_frozen_scipy_distribution_points_to_the_frozen_replacement():
    # SciPy's frozen object holds an unexported copy: only its class is known
    with pytest.raises(TypeError) as info:
        ad.grad(lambda x: np.sum(ss.norm(0.0, 2.0).cdf(x)))(np.array([1.1, 1.2]))
    assert "inside scipy.stats.rv_continuous" in str(info.value)
    assert "dualad.scipy.stats.norm(loc, scale).cdf" in str(info.value)


def test_a_method_refused_here_is_not_named_as_a_replacement():
    with pytest.raises(TypeError) as info:
        ad.grad(lambda q: np.sum(ss.norm.ppf(q)))(np.array([0.1, 0.2]))
    assert "scipy.stats.norm.ppf" in str(info.value)
    assert "dualad.scipy.stats" not in str(info.value)


@pytest.mark.parametrize("name, shapes", [("norm", ()), ("expon", ()), ("gamma", (2.0,)),
                                          ("uniform", ()), ("beta", (2.0, 3.0))])
def test_infinite_and_outside_x_leave_parameter_derivatives_finite(name, shapes):
    # the entries at x = ±inf or outside the support have a constant value
    # (-inf), so masking them out leaves exactly the derivative of the others
    dist = getattr(ds, name)
    x = np.array([-np.inf, -2.0, 0.4, 0.6, 3.0, np.inf])
    keep = np.isfinite(scipy_value(name, "logpdf", x, *shapes, loc=0.1, scale=1.2))

    def masked(loc, scale):
        return np.sum(np.where(keep, dist.logpdf(x, *shapes, loc=loc, scale=scale), 0.0))

    def kept_only(loc, scale):
        return np.sum(dist.logpdf(x[keep], *shapes, loc=loc, scale=scale))
    for argnum in (0, 1):
        got = ad.grad(masked, argnums=argnum)(0.1, 1.2)
        assert np.isfinite(got)
        np.testing.assert_allclose(got, ad.grad(kept_only, argnums=argnum)(0.1, 1.2),
                                   rtol=1e-12)
    if name in HAS_TAILS:
        inner = np.isfinite(x)
        for method in ("cdf", "sf"):
            fn = getattr(dist, method)
            got = ad.grad(lambda s: np.sum(fn(x, *shapes, scale=s)))(1.2)
            np.testing.assert_allclose(
                got, ad.grad(lambda s: np.sum(fn(x[inner], *shapes, scale=s)))(1.2), rtol=1e-12)


def test_lists_are_taken_as_scipy_takes_them():
    assert_same(ds.norm.logpdf([0.1, 2.0], [0.0, 1.0], [1.0, 3.0]),
                ss.norm.logpdf([0.1, 2.0], [0.0, 1.0], [1.0, 3.0]))
    assert_same(ds.gamma.logpdf([0.5, 2.0], [1.5, 2.0]),
                ss.gamma.logpdf([0.5, 2.0], [1.5, 2.0]))
    assert_same(ds.binom.pmf([0, 2], [3, 4], [0.2, 0.5]), ss.binom.pmf([0, 2], [3, 4], [0.2, 0.5]))
    assert_same(ds.multivariate_normal.logpdf([0.2, 0.1], [0.0, 1.0], [[2.0, 0.3], [0.3, 1.0]]),
                ss.multivariate_normal.logpdf([0.2, 0.1], [0.0, 1.0], [[2.0, 0.3], [0.3, 1.0]]))
    assert_same(ds.dirichlet.logpdf([0.2, 0.8], [2.0, 3.0]), ss.dirichlet.logpdf([0.2, 0.8], [2.0, 3.0]))


def test_gaussian_log_likelihood_hessian_in_loc_and_scale():
    data = np.array([0.3, -1.2, 2.2, 0.9, 1.4])
    n = len(data)

    def loglik(theta):
        return np.sum(ds.norm.logpdf(data, loc=theta[0], scale=theta[1]))
    mu, sigma = 0.4, 1.7
    r = data - mu
    expected = np.array([[-n / sigma**2, -2 * np.sum(r) / sigma**3],
                         [-2 * np.sum(r) / sigma**3, n / sigma**2 - 3 * np.sum(r**2) / sigma**4]])
    np.testing.assert_allclose(ad.hessian(loglik)(np.array([mu, sigma])), expected, rtol=1e-12)
    np.testing.assert_allclose(ad.jacfwd(ad.grad(loglik))(np.array([mu, sigma])), expected,
                               rtol=1e-12)


def test_multivariate_normal_derivatives_in_diagonal_and_scalar_cov():
    rng = np.random.default_rng(5)
    x, mean = rng.normal(size=(4, 3)), rng.normal(size=3)
    check_grads(lambda x, m, d: ds.multivariate_normal.logpdf(x, m, d),
                (x, mean, np.array([1.0, 2.0, 0.5])), order=2)
    check_grads(lambda m, c: ds.multivariate_normal.logpdf(x, m, c), (mean, 1.7), order=2)
    # d/dc of a scalar covariance c·I: -d/(2c) + |x - m|²/(2c²), summed over points
    g = ad.grad(lambda c: np.sum(ds.multivariate_normal.logpdf(x, mean, c)))(1.7)
    np.testing.assert_allclose(g, np.sum(-3 / (2 * 1.7) + np.sum((x - mean)**2, axis=1) / (2 * 1.7**2)),
                               rtol=1e-12)


# ---- tails in the shape parameters (through the incomplete gamma and beta functions) -------
@pytest.mark.parametrize("name, shapes, x", [
    ("t", (0.3,), np.array([-4.0, -0.2, 0.0, 0.6, 30.0])),
    ("t", (60.0,), np.array([-5.0, -0.2, 0.0, 1.1, 3.0])),
    ("gamma", (0.1,), np.array([0.01, 0.05, 0.8, 6.0])),
    ("gamma", (40.0,), np.array([20.0, 39.0, 41.5, 70.0])),
    ("chi2", (0.5,), np.array([1e-3, 0.3, 2.0, 9.0])),
    ("chi2", (80.0,), np.array([50.0, 79.0, 82.0, 120.0])),
    ("beta", (0.2, 30.0), np.array([1e-3, 0.01, 0.05, 0.3])),
    ("beta", (50.0, 3.0), np.array([0.8, 0.93, 0.95, 0.995])),
])
def test_tails_in_shape_parameters_at_several_scales(name, shapes, x):
    dist = getattr(ds, name)
    for method in TAILS:
        fn = getattr(dist, method)
        assert_same(fn(x, *shapes), scipy_value(name, method, x, *shapes))
        # order 2 for two of the four (the others share their formulas), to save time
        check_grads(lambda x, *s: fn(x, *s), (x,) + shapes,
                    order=2 if method in ("cdf", "logsf") else 1)


def test_t_cdf_through_zero_and_at_infinite_df():
    # the form I_x(df/2, df/2), x = (s + z)/(2s), is smooth at z = 0: there the
    # derivative in z is the density, and in df 0 (the cdf is 1/2 for every df)
    for df in (0.7, 4.0, 50.0):
        g = ad.grad(lambda z, d: ds.t.cdf(z, d), argnums=(0, 1))(0.0, df)
        np.testing.assert_allclose(g[0], ss.t.pdf(0.0, df), rtol=1e-13)
        assert abs(g[1]) < 1e-15
        np.testing.assert_allclose(ad.hessian(lambda z: ds.t.cdf(z, df))(0.0), 0.0, atol=1e-13)
    # df = inf is the normal distribution, as in SciPy
    z = np.array([-2.0, 0.3, 1.5])
    assert_same(ds.t.cdf(z, np.inf), ss.norm.cdf(z))
    np.testing.assert_allclose(ad.grad(lambda z: np.sum(ds.t.logsf(z, np.inf)))(z),
                               ad.grad(lambda z: np.sum(ds.norm.logsf(z)))(z), rtol=1e-14)


def test_discrete_tails_in_their_parameters_agree_across_modes():
    k = np.array([0.0, 3.0, 7.5, 12.0])
    for fn, args in [(lambda mu: ds.poisson.logcdf(k, mu), (np.array(4.2),)),
                     (lambda n, p: ds.nbinom.logcdf(k, n, p), (np.array(2.7), np.array(0.35))),
                     (lambda n, p: ds.nbinom.sf(k, n, p), (np.array(0.4), np.array(0.8))),
                     (lambda p: ds.binom.logsf(k, 14, p), (np.array(0.45),))]:
        check_grads(fn, args, order=2)
        forward = ad.jacfwd(fn, argnums=tuple(range(len(args))))(*args)
        reverse = ad.jacrev(fn, argnums=tuple(range(len(args))))(*args)
        for f_, r_ in zip(forward, reverse):
            np.testing.assert_allclose(f_, r_, rtol=1e-12, atol=1e-300)
    # the cdf of the Poisson distribution in mu: -pmf(k) (its x-derivative, no shape needed)
    np.testing.assert_allclose(ad.grad(lambda mu: ds.poisson.cdf(3, mu))(2.5),
                               -ss.poisson.pmf(3, 2.5), rtol=1e-13)
