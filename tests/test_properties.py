"""Property-based tests: random compositions of primitives on random shapes.

Hypothesis draws a small program -- a few steps, each a unary elementwise
function on a safe domain, a binary one with broadcasting, a reduction over a
random axis (with or without keepdims), or a shape operation (reshape,
transpose, indexing, concatenation...) -- over shapes that include size-0 and
size-1 axes, and checks it with ``dualad.testing.check_grads(order=2)``:
JVPs against central differences, VJPs through the dot-product identity, and
both derivative maps again, i.e. all four nestings.

Input *values* come from NumPy's generator seeded by Hypothesis, so they are
continuous (no accidental ties at kinks) while the run stays reproducible.

Profiles: ``ci`` (the default, loaded below) is fixed and fast --
derandomized, so every run checks the same programs; set
``DUALAD_HYPOTHESIS_PROFILE=dev`` for a longer randomized search.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import dualad as ad
from dualad.testing import check_grads

settings.register_profile(
    "ci", max_examples=250, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "dev", max_examples=3000, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("DUALAD_HYPOTHESIS_PROFILE", "ci"))

# magnitudes beyond this make finite differences meaningless, not dualad wrong
LIMIT = 1e4

# ---- steps ---------------------------------------------------------------------------
# Unary functions that are smooth on the whole real line (or made so): the
# domain-restricted ones get a positive argument (1 + h^2, exp, ...).
UNARY = {
    "sin(h)": np.sin,
    "cos(h)": np.cos,
    "tanh(h)": np.tanh,
    "arctan(h)": np.arctan,
    "square(h) / 2": lambda h: 0.5 * np.square(h),
    "exp(tanh(h))": lambda h: np.exp(np.tanh(h)),
    "expm1(tanh(h))": lambda h: np.expm1(np.tanh(h)),
    "exp2(sin(h))": lambda h: np.exp2(np.sin(h)),
    "log(1 + h*h)": lambda h: np.log(1.0 + h * h),
    "log1p(h*h)": lambda h: np.log1p(h * h),
    "log2(2 + cos(h))": lambda h: np.log2(2.0 + np.cos(h)),
    "log10(1 + h**2)": lambda h: np.log10(1.0 + h ** 2),
    "sqrt(1 + h*h)": lambda h: np.sqrt(1.0 + h * h),
    "cbrt(2 + sin(h))": lambda h: np.cbrt(2.0 + np.sin(h)),
    "reciprocal(1 + h*h)": lambda h: np.reciprocal(1.0 + h * h),
    "sinh(tanh(h))": lambda h: np.sinh(np.tanh(h)),
    "cosh(tanh(h))": lambda h: np.cosh(np.tanh(h)),
    "arcsinh(h)": np.arcsinh,
    "arccosh(2 + h*h)": lambda h: np.arccosh(2.0 + h * h),
    "arcsin(tanh(h) / 2)": lambda h: np.arcsin(0.5 * np.tanh(h)),
    "arccos(tanh(h) / 2)": lambda h: np.arccos(0.5 * np.tanh(h)),
    "arctanh(tanh(h) / 2)": lambda h: np.arctanh(0.5 * np.tanh(h)),
    "tan(tanh(h))": lambda h: np.tan(np.tanh(h)),
    "h**3": lambda h: h ** 3,
    "-h": lambda h: -h,
}

# Binary functions, smooth in both arguments on the whole plane (maximum and
# minimum away from ties, which continuous random values do not hit).
BINARY = {
    "{a} + {b}": np.add,
    "{a} - {b}": np.subtract,
    "{a} * {b}": np.multiply,
    "{a} / (1 + {b}**2)": lambda a, b: a / (1.0 + b * b),
    "logaddexp({a}, {b})": np.logaddexp,
    "logaddexp2({a}, {b})": np.logaddexp2,
    "arctan2({a}, 2 + {b}**2)": lambda a, b: np.arctan2(a, 2.0 + b * b),
    "hypot({a}, 1 + {b}**2)": lambda a, b: np.hypot(a, 1.0 + b * b),
    "(1 + {a}**2) ** tanh({b})": lambda a, b: (1.0 + a * a) ** np.tanh(b),
    "maximum({a}, {b})": np.maximum,
    "minimum({a}, {b})": np.minimum,
    "where({a} > 0, {a} * {b}, {b})": lambda a, b: np.where(a > 0, a * b, b),
}

REDUCTIONS = {
    "sum": np.sum, "mean": np.mean, "prod": np.prod, "max": np.max, "min": np.min,
    "var": np.var, "std": np.std,
}
# these need something to reduce
NEEDS_ELEMENTS = {"mean", "max", "min", "var", "std"}


def _shapes(max_dims=3):
    """Shapes of up to ``max_dims`` axes of sizes 0 to 3, mostly non-empty."""
    side = st.sampled_from([2, 3, 1, 2, 3, 0])
    return st.integers(0, max_dims).flatmap(
        lambda nd: st.tuples(*[side] * nd))


@st.composite
def broadcast_partner_shape(draw, shape):
    """A shape that broadcasts with ``shape``: a suffix, with some sides set to 1."""
    keep = draw(st.integers(0, len(shape)))
    suffix = shape[len(shape) - keep:]
    return tuple(draw(st.sampled_from([n, 1])) for n in suffix)


class Program:
    """A function of (x, y) built step by step, with a readable description."""

    def __init__(self):
        self.steps = []          # (text, fn(h, x, y) -> h)

    def __call__(self, x, y):
        h = x
        for _, step in self.steps:
            h = step(h, x, y)
        return h

    def __repr__(self):
        return "h = x; " + "; ".join(text for text, _ in self.steps)


def _draw_partner(data, h, x, y, rng):
    """Second operand of a binary step: an input, a value derived from h, or a constant."""
    shape = np.shape(h)
    options = ["sum(y)", "h", "const"]
    for name, v in (("x", x), ("y", y)):
        try:
            np.broadcast_shapes(shape, np.shape(v))
            options.append(name)
        except ValueError:
            pass
    if len(shape) >= 1 and shape[-1] >= 1:
        options.append("h[..., :1]")
    if len(shape) >= 1 and shape[0] >= 1:
        options.append("mean(h, axis=0, keepdims=True)")
    choice = data.draw(st.sampled_from(sorted(options)), label="partner")
    if choice == "const":
        c_shape = data.draw(broadcast_partner_shape(shape), label="constant shape")
        c = rng.uniform(-1.0, 1.0, c_shape)
        return f"const{c_shape}", lambda h, x, y: c
    return choice, {
        "sum(y)": lambda h, x, y: np.sum(y),
        "h": lambda h, x, y: h,
        "x": lambda h, x, y: x,
        "y": lambda h, x, y: y,
        "h[..., :1]": lambda h, x, y: h[..., :1],
        "mean(h, axis=0, keepdims=True)": lambda h, x, y: np.mean(h, axis=0, keepdims=True),
    }[choice]


def _draw_axes(data, ndim):
    """None, one axis (possibly negative) or a tuple of distinct axes."""
    if ndim == 0:
        return data.draw(st.sampled_from([None, ()]), label="axis")
    kind = data.draw(st.sampled_from(["none", "int", "tuple"]), label="axis kind")
    if kind == "none":
        return None
    if kind == "int":
        return data.draw(st.integers(-ndim, ndim - 1), label="axis")
    axes = data.draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True),
                     label="axes")
    return tuple(axes)


def _reduced_size(shape, axis):
    if axis is None:
        axes = range(len(shape))
    else:
        axes = [a % len(shape) for a in np.atleast_1d(axis)] if shape else []
    return int(np.prod([shape[a] for a in axes]))


def _draw_shape_step(data, shape, rng):
    """A shape or indexing operation valid for ``shape``."""
    nd = len(shape)
    options = ["reshape(-1)", "expand_dims", "broadcast_to", "concatenate", "stack", "[None, ...]",
               "transpose"]
    if nd >= 1:
        options += ["flip", "[::2]", "int-array index", "cumsum", "swapaxes", "moveaxis",
                    "boolean mask", "reshape(reversed)", "take", "roll", "sort", "tile", "repeat"]
        if shape[0] >= 1:
            options += ["[i]"]
    if 1 in shape:
        options.append("squeeze")
        options += ["einsum dot", "norm(axis=-1)"]
    if nd >= 2:
        options += ["matmul const", "[..., slice, i]"]
    name = data.draw(st.sampled_from(sorted(options)), label="shape step")
    axis = data.draw(st.integers(-nd, nd - 1), label="shape axis") if nd else 0
    if name == "reshape(-1)":
        return name, lambda h: np.reshape(h, (-1,))
    if name == "reshape(reversed)":
        return name, lambda h: h.reshape(tuple(reversed(shape)))
    if name == "expand_dims":
        a = data.draw(st.integers(-nd - 1, nd), label="new axis")
        return f"expand_dims(h, {a})", lambda h: np.expand_dims(h, a)
    if name == "broadcast_to":
        return f"broadcast_to(h, (2,) + {shape})", lambda h: np.broadcast_to(h, (2,) + shape)
    if name == "concatenate":
        a = axis if nd else None
        if a is None:
            return "concatenate([h, h], axis=None)", lambda h: np.concatenate([h, h], axis=None)
        return f"concatenate([h, 2h], axis={a})", lambda h: np.concatenate([h, 2.0 * h], axis=a)
    if name == "stack":
        a = data.draw(st.integers(-nd - 1, nd), label="stack axis")
        return f"stack([h, sin(h)], axis={a})", lambda h: np.stack([h, np.sin(h)], axis=a)
    if name == "[None, ...]":
        return name, lambda h: h[None, ...]
    if name == "transpose":
        perm = tuple(data.draw(st.permutations(range(nd)), label="perm")) if nd else ()
        return f"transpose(h, {perm})", lambda h: np.transpose(h, perm)
    if name == "flip":
        return f"flip(h, {axis})", lambda h: np.flip(h, axis=axis)
    if name == "[::2]":
        return name, lambda h: h[::2]
    if name == "[i]":
        i = data.draw(st.integers(-shape[0], shape[0] - 1), label="index")
        return f"h[{i}]", lambda h: h[i]
    if name == "[..., slice, i]":
        if shape[-1] == 0:
            return "h[..., 1:, :]", lambda h: h[..., 1:, :]
        i = data.draw(st.integers(0, shape[-1] - 1), label="index")
        return f"h[..., 1:, {i}]", lambda h: h[..., 1:, i]
    if name == "int-array index":
        n = shape[0]
        idx = np.array(data.draw(st.lists(st.integers(-n, n - 1), max_size=5), label="indices")
                       if n else [], dtype=int)
        return f"h[{idx.tolist()}]", lambda h: h[idx]
    if name == "take":
        n = shape[axis]
        idx = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=4), label="indices")
                       if n else [], dtype=int)
        return f"take(h, {idx.tolist()}, axis={axis})", lambda h: np.take(h, idx, axis=axis)
    if name == "boolean mask":
        mask = rng.uniform(size=shape[0]) < 0.5
        return f"h[{mask.tolist()}]", lambda h: h[mask]
    if name == "cumsum":
        return f"cumsum(h, axis={axis})", lambda h: np.cumsum(h, axis=axis)
    if name == "swapaxes":
        b = data.draw(st.integers(0, nd - 1), label="other axis")
        return f"swapaxes(h, {axis}, {b})", lambda h: np.swapaxes(h, axis, b)
    if name == "moveaxis":
        b = data.draw(st.integers(0, nd - 1), label="destination")
        return f"moveaxis(h, {axis}, {b})", lambda h: np.moveaxis(h, axis, b)
    if name == "roll":
        k = data.draw(st.integers(-3, 3), label="shift")
        return f"roll(h, {k}, axis={axis})", lambda h: np.roll(h, k, axis=axis)
    if name == "sort":
        return f"sort(h, axis={axis})", lambda h: np.sort(h, axis=axis)
    if name == "tile":
        return "tile(h, 2)", lambda h: np.tile(h, 2)
    if name == "repeat":
        return f"repeat(h, 2, axis={axis})", lambda h: np.repeat(h, 2, axis=axis)
    if name == "squeeze":
        return "squeeze(h)", lambda h: np.squeeze(h)
    if name == "einsum dot":
        return "einsum('...i,...i->...', h, sin(h))", \
            lambda h: np.einsum("...i,...i->...", h, np.sin(h))
    if name == "norm(axis=-1)":
        return "linalg.norm(1 + h*h, axis=-1)", lambda h: np.linalg.norm(1.0 + h * h, axis=-1)
    # matmul with a constant matrix over the last axis
    m = rng.uniform(-1.0, 1.0, (shape[-1], 2))
    return f"h @ const{m.shape}", lambda h: h @ m


@st.composite
def programs(draw, max_steps=4):
    """(program, x, y): inputs of random shapes and a program valid for them."""
    data = draw(st.data())
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    x_shape = draw(_shapes(), label="x shape")
    y_shape = draw(broadcast_partner_shape(x_shape), label="y shape")
    x = rng.uniform(-1.0, 1.0, x_shape)
    y = rng.uniform(-1.0, 1.0, y_shape)
    program = Program()
    h = x
    for _ in range(draw(st.integers(min(2, max_steps), max_steps), label="steps")):
        kind = draw(st.sampled_from(["unary", "binary", "reduction", "shape"]), label="kind")
        if kind == "unary":
            name = draw(st.sampled_from(sorted(UNARY)), label="unary")
            fn = UNARY[name]
            text, step = f"h = {name}", (lambda fn: lambda h, x, y: fn(h))(fn)
        elif kind == "binary":
            name = draw(st.sampled_from(sorted(BINARY)), label="binary")
            fn = BINARY[name]
            pname, partner = _draw_partner(data, h, x, y, rng)
            swap = draw(st.booleans(), label="swap")
            a, b = (pname, "h") if swap else ("h", pname)
            text = "h = " + name.format(a=a, b=b)
            step = (lambda fn, partner, swap:
                    lambda h, x, y: fn(partner(h, x, y), h) if swap else fn(h, partner(h, x, y)))(
                        fn, partner, swap)
        elif kind == "reduction":
            name = draw(st.sampled_from(sorted(REDUCTIONS)), label="reduction")
            axis = _draw_axes(data, np.ndim(h))
            keepdims = draw(st.booleans(), label="keepdims")
            if name in NEEDS_ELEMENTS and _reduced_size(np.shape(h), axis) == 0:
                name = "sum"
            fn = REDUCTIONS[name]
            text = f"h = np.{name}(h, axis={axis}, keepdims={keepdims})"
            step = (lambda fn, axis, keepdims:
                    lambda h, x, y: fn(h, axis=axis, keepdims=keepdims))(fn, axis, keepdims)
        else:
            text, shape_fn = _draw_shape_step(data, np.shape(h), rng)
            text = f"h = {text}"
            step = (lambda shape_fn: lambda h, x, y: shape_fn(h))(shape_fn)
        h = step(h, x, y)
        program.steps.append((text, step))
    return program, x, y


def _magnitude(program, x, y):
    out = np.asarray(program(x, y))
    return float(np.max(np.abs(out))) if out.size else 0.0


def _smooth_at(program, x, y) -> bool:
    """Are the program's first and second central differences the same at two
    step sizes?  Continuous inputs never sit on a kink by chance, but a program
    can put one there itself -- ``maximum(h, c)`` clamps several entries to the
    same value, whose ``std`` is then exactly 0, where ``std`` has a kink and
    ``where(h > 0, ...)`` a jump that roundoff puts on either side.  Such
    points say nothing about the rules, so they are skipped.  (Only ``f`` is
    evaluated here, never a derivative, so no dualad bug can hide behind it.)"""
    rng = np.random.default_rng(0)
    tx, ty = rng.standard_normal(np.shape(x)), rng.standard_normal(np.shape(y))

    def at(s):
        return np.asarray(program(x + s * tx, y + s * ty), dtype=float)

    def differences(eps):
        plus, minus, mid = at(eps), at(-eps), at(0.0)
        return (plus - minus) / (2 * eps), (plus - 2 * mid + minus) / eps ** 2

    with np.errstate(all="ignore"):
        (d1, s1), (d2, s2) = differences(1e-3), differences(1e-4)
        # first differences down to check_grads' own step, 1e-6: a kink that
        # close changes them from one step to the next
        firsts = [differences(eps)[0] for eps in (1e-5, 1e-6)]
    return (np.allclose(d1, d2, rtol=1e-3, atol=1e-4)
            and np.allclose(s1, s2, rtol=2e-2, atol=1e-2)
            and all(np.allclose(d, d2, rtol=1e-3, atol=1e-4) for d in firsts))


# ---- the properties ----------------------------------------------------------------------
@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("max_steps", [1, 4], ids=["one-step", "compositions"])
@given(data=st.data())
def test_random_programs_pass_check_grads_at_order_2(max_steps, data):
    # single steps check each primitive's rules on their own over random shapes;
    # compositions check how they interact (broadcasting, fan-out, reshaping...)
    program, x, y = data.draw(programs(max_steps=max_steps), label="program")
    note(f"x.shape={x.shape}, y.shape={y.shape}: {program!r}")
    assume(_magnitude(program, x, y) < LIMIT)
    assume(_smooth_at(program, x, y))
    check_grads(program, (x, y), order=2)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@given(data=st.data(), shape=_shapes(max_dims=4), name=st.sampled_from(sorted(REDUCTIONS)),
       keepdims=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_reductions_over_random_axes_and_shapes(data, shape, name, keepdims, seed):
    axis = _draw_axes(data, len(shape))
    if name in NEEDS_ELEMENTS:
        assume(_reduced_size(shape, axis) > 0)
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, shape)
    fn = REDUCTIONS[name]
    f = lambda a: fn(np.tanh(a) + a * a, axis=axis, keepdims=keepdims)
    note(f"np.{name}(tanh(x) + x*x, axis={axis}, keepdims={keepdims}), x.shape={shape}")
    # tanh(a) + a*a is not monotonic: two entries can nearly tie under max / min
    assume(_smooth_at(lambda a, _: f(a), x, 0.0))
    out = f(x)
    traced, _ = ad.jvp(f, (x,), (np.ones(shape),))
    assert np.shape(traced) == np.shape(out)          # the shape NumPy gives
    np.testing.assert_allclose(traced, out, rtol=1e-14, atol=1e-15)
    check_grads(f, (x,), order=2)


@pytest.mark.filterwarnings("error::RuntimeWarning")
@given(case=programs(max_steps=3))
def test_vector_mode_and_jacobians_agree_on_random_programs(case):
    """k tangents at once equal k single JVPs, and jacfwd equals jacrev: check_grads
    works one direction at a time, so vector mode is checked here."""
    program, x, y = case
    note(f"x.shape={x.shape}, y.shape={y.shape}: {program!r}")
    assume(_magnitude(program, x, y) < LIMIT)
    rng = np.random.default_rng(0)
    k = 3
    tx, ty = rng.standard_normal((k,) + x.shape), rng.standard_normal((k,) + y.shape)
    _, batched = ad.jvp(program, (x, y), (tx, ty), batched=True)
    singles = np.stack([ad.jvp(program, (x, y), (tx[i], ty[i]))[1] for i in range(k)])
    np.testing.assert_allclose(batched, singles, rtol=1e-12, atol=1e-12)
    for jf, jr in zip(ad.jacfwd(program, (0, 1))(x, y), ad.jacrev(program, (0, 1))(x, y)):
        np.testing.assert_allclose(jf, jr, rtol=1e-12, atol=1e-12)
