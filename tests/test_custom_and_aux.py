"""custom_jvp / custom_vjp in every mode and nesting, has_aux everywhere,
stop_gradient, hvp's args=, and the errors for what f returns."""

import numpy as np
import pytest

import dualad as ad
from dualad.testing import check_grads

rng = np.random.default_rng(11)
X = rng.uniform(-1.5, 1.5, 4)
Y = rng.uniform(0.5, 1.5, 4)


# ---- custom rules ---------------------------------------------------------------------------
@ad.custom_jvp
def softplus(x):
    return np.log1p(np.exp(x))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t / (1 + np.exp(-x))


@ad.custom_vjp
def sin_times(x, y):
    return np.sin(x) * y


def _sin_times_fwd(x, y):
    return sin_times(x, y), (x, y)


def _sin_times_bwd(res, g):
    x, y = res
    return g * np.cos(x) * y, g * np.sin(x)


sin_times.defvjp(_sin_times_fwd, _sin_times_bwd)

power = ad.custom_jvp(lambda p, x: x ** p, nondiff_argnums=(0,))
power.defjvp(lambda p, primals, tangents: (primals[0] ** p,
                                           p * primals[0] ** (p - 1) * tangents[0]))


@pytest.mark.parametrize("f, args", [
    (softplus, (X,)),
    (sin_times, (X, Y)),
    (lambda x: power(3, x), (Y,)),
    (lambda x, y: softplus(sin_times(x, y)) * x, (X, Y)),
], ids=["custom_jvp", "custom_vjp", "nondiff_argnums", "composed"])
def test_custom_rules_in_every_mode_and_nesting(f, args):
    # against central differences: JVP and VJP maps, then each differentiated
    # again in both modes (forward-over-forward ... reverse-over-reverse)
    check_grads(f, args, order=2, modes=("fwd", "rev"))


def test_custom_rules_in_vector_mode_and_hvp():
    J = ad.jacfwd(lambda x: sin_times(x, Y))(X)
    np.testing.assert_allclose(J, np.diag(np.cos(X) * Y), rtol=1e-13)
    Jr = ad.jacrev(softplus)(X)
    np.testing.assert_allclose(Jr, np.diag(1 / (1 + np.exp(-X))), rtol=1e-13)
    f = lambda x: np.sum(sin_times(x, x) + softplus(x))
    v = rng.standard_normal(4)
    expected = (-np.sin(X) * X + 2 * np.cos(X)) * v + np.exp(-X) / (1 + np.exp(-X)) ** 2 * v
    for mode in ad.HVP_MODES:
        np.testing.assert_allclose(ad.hvp(f, X, v, mode=mode), expected, rtol=1e-10)


def test_the_custom_rule_is_the_one_used():
    """A rule that differs from the true derivative is followed, so it is really used."""
    halved = ad.custom_jvp(np.sin)
    halved.defjvp(lambda primals, tangents: (np.sin(primals[0]), 0.5 * tangents[0] * np.cos(primals[0])))
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(halved(x)))(X), 0.5 * np.cos(X))
    clipped = ad.custom_vjp(lambda x: x)
    clipped.defvjp(lambda x: (x, None), lambda res, g: (np.clip(g, -0.5, 0.5),))
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(3.0 * clipped(x)))(X), 0.5)


def test_custom_function_without_a_rule_says_so():
    bare = ad.custom_vjp(np.exp)
    with pytest.raises(TypeError, match="defvjp"):
        bare(X)


# ---- has_aux --------------------------------------------------------------------------------
def _with_aux(x):
    return np.sum(x ** 3), {"mean": np.mean(x), "label": "run"}


def test_has_aux_on_jvp_jacfwd_jacrev_hessian():
    v = np.ones(4)
    out, t, aux = ad.jvp(_with_aux, (X,), (v,), has_aux=True)
    assert float(out) == pytest.approx(np.sum(X ** 3))
    assert float(t) == pytest.approx(np.sum(3 * X ** 2))
    assert aux["label"] == "run" and float(aux["mean"]) == pytest.approx(np.mean(X))
    assert type(aux["mean"]) is not ad.core.Box and not isinstance(aux["mean"], ad.core.Box)
    vec = lambda x: (x ** 2, np.sum(x))
    for jac in (ad.jacfwd, ad.jacrev):
        J, aux = jac(vec, has_aux=True)(X)
        np.testing.assert_allclose(J, np.diag(2 * X))
        assert float(aux) == pytest.approx(np.sum(X))
    H, aux = ad.hessian(_with_aux, has_aux=True)(X)
    np.testing.assert_allclose(H, np.diag(6 * X))
    assert aux["label"] == "run"


def test_has_aux_needs_a_pair():
    with pytest.raises(TypeError, match="pair"):
        ad.jacfwd(lambda x: x ** 2, has_aux=True)(X)


# ---- stop_gradient --------------------------------------------------------------------------
def test_stop_gradient_is_a_constant_at_every_level():
    np.testing.assert_allclose(ad.grad(lambda x: np.sum(x * ad.stop_gradient(x)))(X), X)
    np.testing.assert_allclose(ad.hessian(lambda x: np.sum(x ** 2 * ad.stop_gradient(x)))(X),
                               np.diag(2 * X))
    _, t = ad.jvp(lambda x: ad.stop_gradient(np.sin(x)) + x, (X,), (np.ones(4),))
    np.testing.assert_allclose(t, 1.0)
    # an inner transformation's stop_gradient also stops the outer one:
    # d/dx Σ 2·sg(x)·x = 2·sg(x), not 4x
    g = ad.grad(lambda x: ad.grad(lambda y: np.sum(ad.stop_gradient(x) * y ** 2))(x).sum())(X)
    np.testing.assert_allclose(g, 2 * X)
    tree = ad.stop_gradient({"a": X, "b": (1.0,)})
    assert set(tree) == {"a", "b"}


# ---- hvp args= ------------------------------------------------------------------------------
def test_hvp_takes_further_arguments():
    f = lambda x, A, c: c * x @ A @ x
    A = rng.standard_normal((4, 4))
    v = rng.standard_normal(4)
    for mode in ad.HVP_MODES:
        np.testing.assert_allclose(ad.hvp(f, X, v, mode, args=(A, 2.0)),
                                   2.0 * (A + A.T) @ v, rtol=1e-12)
    with pytest.raises(TypeError, match="tuple"):
        ad.hvp(f, X, v, args=A)


# ---- what f returns -------------------------------------------------------------------------
@pytest.mark.parametrize("transform", [
    lambda f: ad.grad(f)(X), lambda f: ad.jacfwd(f)(X), lambda f: ad.jacrev(f)(X),
    lambda f: ad.vjp(f, X), lambda f: ad.jvp(f, (X,), (X,))])
def test_f_returning_none_is_named(transform):
    def forgot_return(x):
        np.sum(x ** 2)
    with pytest.raises(TypeError, match="returned None.*return"):
        transform(forgot_return)


def test_a_pair_without_has_aux_suggests_it():
    with pytest.raises(TypeError, match="has_aux=True"):
        ad.grad(lambda x: (np.sum(x), "aux"))(X)
