"""Vector mode on arrays large enough for the forward chain rule to sum
batched tangents in place (chain.IN_PLACE_MIN_SIZE): the batched JVP must
equal one JVP per direction, and nothing the caller passed may change."""

import numpy as np
import pytest

import dualad as ad
from dualad import chain

N = chain.IN_PLACE_MIN_SIZE + 7
rng = np.random.default_rng(3)

FUNCTIONS = {
    "sum-chain": lambda x: x[2:] + x[1:-1] + x[:-2] - 4 * x[1:-1] + np.exp(x[1:-1]),
    "differences": lambda x: (x[2:] - x[1:-1]) - (x[1:-1] - x[:-2]),
    "same-tangent-twice": lambda x: x + x - x * 2.0 + x,
    "products": lambda x: x[1:] * x[:-1] + np.sin(x[1:]) * x[:-1] - x[1:] / (2 + x[:-1] ** 2),
    "broadcast-into-larger": lambda x: x[:N // 2 * 2].reshape(-1, 2)[:, :1] + x[:N // 2 * 2].reshape(-1, 2),
    "broadcast-row": lambda x: x[:12].reshape(3, 4)[:1] - x[:N // 4 * 4].reshape(-1, 4),
    "to-complex": lambda x: np.real((x + 1j * x[::-1]) * x - 1j * x),
    "float32": lambda x: (x.astype(np.float32) + x.astype(np.float32) ** 2 - x.astype(np.float32)),
    "where": lambda x: np.where(x > 0, x, 0.5 * x) + np.maximum(x, -x[::-1]) - x,
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_batched_jvp_equals_single_jvps(name):
    f = FUNCTIONS[name]
    x = rng.standard_normal(N)
    V = rng.standard_normal((3, N))
    x_copy, V_copy = x.copy(), V.copy()
    _, batched = ad.jvp(f, (x,), (V,), batched=True)
    for k in range(3):
        _, single = ad.jvp(f, (x,), (V[k],))
        np.testing.assert_allclose(batched[k], single, rtol=1e-6 if name == "float32" else 1e-12,
                                   atol=1e-6 if name == "float32" else 1e-12)
    # and against central differences, so that agreement is not a shared error
    h = 1e-3 if name == "float32" else 1e-6  # float32 rounds at ~1e-7
    fd = (np.asarray(f(x + h * V[0]), float) - np.asarray(f(x - h * V[0]), float)) / (2 * h)
    np.testing.assert_allclose(batched[0], fd, rtol=1e-2 if name == "float32" else 1e-5,
                               atol=1e-2 if name == "float32" else 1e-6)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(V, V_copy)


def test_tangents_of_a_batched_pass_are_not_aliased():
    """The tangent of an intermediate is not summed into: an output that
    reuses an intermediate keeps its own value."""
    x = rng.standard_normal(N)
    V = rng.standard_normal((2, N))

    def f(x):
        a = x * 3.0
        b = a + x          # b's tangent is a's plus x's: a's must stay intact
        return np.concatenate([a, b])

    _, t = ad.jvp(f, (x,), (V,), batched=True)
    np.testing.assert_allclose(t[:, :N], 3 * V)
    np.testing.assert_allclose(t[:, N:], 4 * V)
