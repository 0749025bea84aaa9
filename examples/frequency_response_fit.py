"""Fit a complex frequency response with exact gradients of complex code.

A first-order low-pass filter H(ω) = g / (1 + iωτ) is measured, with noise,
at a few frequencies.  The loss is the squared distance between model and
data in the complex plane, a real function of real parameters (g, τ) that
computes with complex numbers on the way.  dualad differentiates it as
written; the gradient is real, because the parameters are.

The same loss written as a function of one complex parameter shows the
convention for complex inputs: the gradient is ∂L/∂x − i ∂L/∂y, and the
descent direction is its conjugate.

Run:  python examples/frequency_response_fit.py
"""

import sys

import numpy as np
import scipy.optimize

import dualad as ad

omega = np.linspace(0.1, 10.0, 40)
rng = np.random.default_rng(0)
true_g, true_tau = 2.0, 0.7
data = true_g / (1 + 1j * omega * true_tau)
data = data + 0.01 * (rng.standard_normal(40) + 1j * rng.standard_normal(40))


def loss(p):
    g, tau = p[0], p[1]
    model = g / (1 + 1j * omega * tau)
    return np.sum(np.abs(model - data) ** 2)


res = scipy.optimize.minimize(loss, np.array([1.0, 0.1]), jac=ad.grad(loss), method="BFGS")
g_fit = ad.grad(loss)(res.x)
print(f"dualad + BFGS: gain {res.x[0]:.4f} (true {true_g}), time constant {res.x[1]:.4f} "
      f"(true {true_tau}); gradient at the fit {g_fit} (real, as the parameters)")


# One complex parameter c = g·exp(iφ): a real loss of a complex input.
def loss_c(c):
    return np.sum(np.abs(c / (1 + 1j * omega * res.x[1]) - data) ** 2)


c = 1.0 + 0.5j
for _ in range(200):
    c = c - 0.01 * np.conj(ad.grad(loss_c)(c))  # descend along the conjugate
b = 1 / (1 + 1j * omega * res.x[1])
best = np.sum(np.conj(b) * data) / np.sum(np.abs(b) ** 2)  # linear least squares, by hand
print(f"complex gain by gradient descent: {c:.4f} (closed form {best:.4f})")

ok = (res.success and np.allclose(res.x, [true_g, true_tau], atol=0.02) and g_fit.dtype == np.float64
      and abs(c - best) < 1e-6)
if not ok:
    sys.exit("the fits disagree")
