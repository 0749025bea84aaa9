"""dualad.replay on randomly generated programs, against eager dualad.

A seeded generator writes a program as a list of instructions over a pool
of values (the input first): unary and binary ufuncs, reductions, slicing
and fancy indexing, ``where`` on a mask, ``matmul``, reshapes and
transposes, ``concatenate``.  Every op is smooth on the whole real line (no
domains to respect), so the program is replayed at points drawn afresh.
For each program ``f``, ``grad`` of its sum, a JVP and the fwd-over-rev HVP
are recorded at one point and replayed at two others; every result must
equal eager dualad's at the same point.  The last test breaks the program
simplifier on purpose and checks that this comparison notices.
"""

from __future__ import annotations

import numpy as np
import pytest

import dualad as ad
from dualad.staging import program as staging_program
from dualad.staging.trace import Slot

RTOL, ATOL = 1e-10, 1e-12

UNARY = [
    ("sin", np.sin), ("cos", np.cos), ("tanh", np.tanh), ("arctan", np.arctan),
    ("square", np.square), ("softplus", lambda a: np.log1p(np.exp(-np.abs(a))) + np.maximum(a, 0)),
    ("bump", lambda a: np.exp(-a * a)), ("twice", lambda a: a * 2.0),
    ("hypot1", lambda a: np.sqrt(a * a + 1.0)), ("neg", np.negative),
]
BINARY = [
    ("add", np.add), ("subtract", np.subtract), ("multiply", np.multiply),
    ("ratio", lambda a, b: a / (1.0 + b * b)), ("hypot", lambda a, b: np.hypot(a, b) + 1.0),
    ("where", lambda a, b: np.where(a > 0.1, a * b, np.sin(b))),
    ("maximum", np.maximum),
]


def generate(seed, n_steps=10, large=False):
    """(input shape, instructions): each instruction is (name, function,
    argument indices into the pool) and appends one value to the pool.
    ``large``: a vector long enough for the program to reuse buffers
    (no matmul, whose Gram matrix would be n x n)."""
    rng = np.random.default_rng(seed)
    if large:
        shape = (int(rng.integers(2 * staging_program.BUFFER_MIN_SIZE,
                                  3 * staging_program.BUFFER_MIN_SIZE)),)
    else:
        shape = tuple(int(s) for s in rng.integers(1, 5, size=rng.integers(1, 3)))
    shapes = [shape]
    steps = []

    def same_shape(s):
        return [i for i, t in enumerate(shapes) if t == s]

    while len(steps) < n_steps:
        i = int(rng.integers(len(shapes)))
        s = shapes[i]
        kind = rng.choice(["unary", "binary", "reduce", "slice", "take", "reshape",
                           "transpose", "matmul", "concatenate"])
        if kind == "unary":
            name, fn = UNARY[rng.integers(len(UNARY))]
            steps.append((name, fn, (i,)))
            shapes.append(s)
        elif kind == "binary":
            name, fn = BINARY[rng.integers(len(BINARY))]
            j = int(rng.choice(same_shape(s) + [k for k, t in enumerate(shapes) if t == ()]))
            steps.append((name, fn, (i, j) if rng.random() < 0.5 else (j, i)))
            shapes.append(s if shapes[j] == s or s != () else shapes[j])
        elif kind == "reduce" and s:
            axis = int(rng.integers(len(s)))
            name, fn = [("sum", np.sum), ("mean", np.mean), ("max", np.max),
                        ("prod", np.prod)][rng.integers(4)]
            steps.append((f"{name}-{axis}", lambda a, fn=fn, axis=axis: fn(a, axis=axis), (i,)))
            shapes.append(s[:axis] + s[axis + 1:])
        elif kind == "slice" and s and s[0] > 1:
            if rng.random() < 0.5:
                steps.append(("tail", lambda a: a[1:], (i,)))
                shapes.append((s[0] - 1,) + s[1:])
            else:
                steps.append(("reverse", lambda a: a[::-1], (i,)))
                shapes.append(s)
        elif kind == "take" and s:
            index = rng.integers(0, s[-1], size=3)
            steps.append(("take", lambda a, index=index: a[..., index], (i,)))
            shapes.append(s[:-1] + (3,))
        elif kind == "reshape" and s:
            steps.append(("ravel-column", lambda a: np.reshape(a, (-1, 1)), (i,)))
            shapes.append((int(np.prod(s)), 1))
        elif kind == "transpose" and len(s) == 2:
            steps.append(("transpose", np.transpose, (i,)))
            shapes.append(s[::-1])
        elif kind == "matmul" and len(s) == 2 and not large:
            partners = [k for k, t in enumerate(shapes) if len(t) in (1, 2) and t[0] == s[1]]
            if partners:
                j = int(rng.choice(partners))
                steps.append(("matmul", np.matmul, (i, j)))
                shapes.append((s[0],) + shapes[j][1:])
            else:
                steps.append(("gram", lambda a: a @ a.T, (i,)))
                shapes.append((s[0], s[0]))
        elif kind == "concatenate" and s:
            partners = [k for k, t in enumerate(shapes) if len(t) == len(s) and t[1:] == s[1:]]
            j = int(rng.choice(partners))
            steps.append(("concatenate", lambda a, b: np.concatenate([a, b]), (i, j)))
            shapes.append((s[0] + shapes[j][0],) + s[1:])
    return shape, steps


def program_of(steps):
    """The generated program as a function: the last value, and the sum of
    every value (so the scalar version depends on all of them)."""
    def f(x):
        pool = [x]
        for _, fn, args in steps:
            pool.append(fn(*(pool[k] for k in args)))
        return pool[-1]

    def scalar(x):
        pool = [x]
        for _, fn, args in steps:
            pool.append(fn(*(pool[k] for k in args)))
        total = 0.0
        for k, value in enumerate(pool[1:]):
            total = total + np.sum(value) * (1.0 + 0.1 * k)
        return total
    return f, scalar


def disagreements(seed, n_points=3, large=False, reused=None):
    """Where replay and eager differ for the program of ``seed``: a list of
    messages (empty when every transformation agrees at every point).
    ``reused`` (a list) collects each program's count of reused buffers."""
    shape, steps = generate(seed, large=large)
    f, scalar = program_of(steps)
    rng = np.random.default_rng(seed + 10_000)
    v = rng.standard_normal(shape)
    transformations = {
        "f": (f, lambda x: (x,)),
        "grad": (ad.grad(scalar), lambda x: (x,)),
        "jvp": (lambda x, t: ad.jvp(f, (x,), (t,)), lambda x: (x, v)),
        "hvp": (lambda x, t: ad.hvp(scalar, x, t), lambda x: (x, v)),
    }
    found = []
    for name, (fn, args_at) in transformations.items():
        replayed = ad.replay(fn)
        for k in range(n_points):
            args = args_at(rng.standard_normal(shape) * 1.5)
            want = fn(*args)
            try:
                got = replayed(*args)
            except Exception as e:  # noqa: BLE001 -- a broken program may fail any way
                found.append(f"{name} at point {k}: {type(e).__name__}: {e}")
                continue
            g_leaves, g_tree = ad.tree_flatten(got)
            w_leaves, w_tree = ad.tree_flatten(want)
            if g_tree != w_tree:
                found.append(f"{name} at point {k}: structure {g_tree} vs {w_tree}")
                continue
            for a, b in zip(g_leaves, w_leaves):
                if np.shape(a) != np.shape(b) or not np.allclose(a, b, rtol=RTOL, atol=ATOL):
                    found.append(f"{name} at point {k}: {a!r} vs eager {b!r}")
        if reused is not None:
            reused.extend(p.n_reused for p in replayed.programs())
        if replayed.replays == 0 and not (name != "f" and _mask_guarded(steps)):
            found.append(f"{name}: never replayed ({replayed.recordings} recordings)")
    return found


def _mask_guarded(steps):
    """Whether derivatives of the program guard on a mask: dualad's rule for
    np.where converts the condition with np.asarray, which the recording
    sees as Python reading the whole mask, so a new mask records again."""
    return any(name == "where" for name, _, _ in steps)


def _describe(seed, large=False):
    shape, steps = generate(seed, large=large)
    return f"input {shape}: " + ", ".join(f"{name}{args}" for name, _, args in steps)


@pytest.mark.parametrize("seed", range(100))
def test_random_program_replays_as_eager(seed):
    found = disagreements(seed)
    assert not found, f"program {_describe(seed)}:\n" + "\n".join(found)


@pytest.mark.parametrize("seed", range(12))
def test_large_random_program_replays_as_eager(seed):
    reused = []
    found = disagreements(1000 + seed, large=True, reused=reused)
    assert not found, f"program {_describe(1000 + seed, large=True)}:\n" + "\n".join(found)
    assert sum(reused) > 0, "no buffer was reused: the test does not reach plan_buffers"


def test_generator_covers_every_kind_of_op():
    names = {name.split("-")[0] for seed in range(100) for name, _, _ in generate(seed)[1]}
    expected = {n for n, _ in UNARY} | {n for n, _ in BINARY} | {
        "sum", "mean", "max", "prod", "tail", "reverse", "take", "ravel", "transpose",
        "matmul", "gram", "concatenate"}
    assert expected <= names, f"never generated: {sorted(expected - names)}"


def test_the_comparison_catches_a_miscompiled_program(monkeypatch):
    """Fold ``x * 2`` as ``x`` in the simplifier: the recording stays right
    (it is eager), so only the replays are wrong -- and the checker says so."""
    identity_of = staging_program._identity_of

    def broken(step, values, consts, producers):
        if (step.fn is np.multiply and not step.kwargs and len(step.args) == 2
                and type(step.args[0]) is Slot and type(step.args[1]) is float
                and step.args[1] == 2.0):
            return step.args[0].index
        return identity_of(step, values, consts, producers)

    seeds = [s for s in range(200) if any(name == "twice" for name, _, _ in generate(s)[1])]
    assert len(seeds) >= 5
    monkeypatch.setattr(staging_program, "_identity_of", broken)
    caught = [s for s in seeds[:5] if disagreements(s)]
    assert caught, "a program that folds x * 2 as x went unnoticed"
    monkeypatch.undo()
    assert not any(disagreements(s) for s in seeds[:5])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # overwritten values overflow
def test_the_comparison_catches_a_buffer_lent_by_a_view(monkeypatch):
    """Let every op count as owning its memory (a slice, a reshape or a
    transpose too): buffers still in use through a view get overwritten, and
    the large programs' comparison says so."""
    monkeypatch.setattr(staging_program, "_fresh", lambda op, value: type(value) is np.ndarray)
    caught = [s for s in range(12) if disagreements(1000 + s, large=True)]
    assert caught, "overwriting live buffers went unnoticed"
