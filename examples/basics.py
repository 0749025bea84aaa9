"""dualad in one screen: JVP, VJP, gradient, the four HVP nestings, Jacobians.

Run:  python examples/basics.py
"""

import numpy as np

import dualad as ad


def f(x):
    """Plain NumPy: dualad needs no special import inside the function."""
    return np.sum(np.tanh(x) ** 2) + x[0] * np.log1p(x[1] ** 2)


def main():
    x = np.array([0.3, -1.2, 2.0])
    v = np.array([1.0, 0.5, -1.0])

    y, y_dot = ad.jvp(f, (x,), (v,))           # forward mode: one pass gives J v
    print(f"f(x) = {y:.6f}   J v = {y_dot:.6f}")

    y, pullback = ad.vjp(f, x)                 # reverse mode: one pass gives uᵀJ
    (x_bar,) = pullback(1.0)
    print("∇f(x) =", x_bar)

    for mode in ad.HVP_MODES:                  # the four nestings agree
        print(f"H v ({mode:>12}) =", ad.hvp(f, x, v, mode=mode))
    print("H @ v (dense)       =", ad.hessian(f)(x) @ v)

    F = lambda x: np.tanh(np.outer(x, x)).ravel()   # R^3 -> R^9
    J = ad.jacfwd(F, chunk_size=2)(x)           # 2 forward passes of 2 directions
    assert np.allclose(J, ad.jacrev(F)(x))
    print("Jacobian of F, shape", J.shape)

    # Perturbation confusion check: d/dx [x · d/dy (x + y)] at x = 1 is 1.
    inner = lambda x: ad.grad(lambda y: x + y)(1.0)
    print("d/dx [x · d/dy (x + y)] at x = 1:", ad.grad(lambda x: x * inner(x))(1.0))


if __name__ == "__main__":
    main()
