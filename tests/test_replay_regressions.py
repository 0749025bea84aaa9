"""Regressions of dualad.replay, each once a wrong result, a leak or a
program that never replayed: common-subexpression keys that told an input
from a constant apart only by position, a shared Mismatch collecting
tracebacks, numbers turned into arrays of the wrong loop, np.where's mask
guarded as a whole value, and a view (np.real) lending its buffer."""
import numpy as np
import pytest

import dualad as ad


def test_cse_does_not_confuse_an_input_with_a_constant():
    c0, c1 = np.array([2.0, 3.0]), np.array([5.0, 7.0])
    f = lambda x, y: c0 * y + x * c1  # noqa: E731
    r = ad.replay(f)
    x, y = np.array([1.0, 1.0]), np.array([10.0, 100.0])
    r(x, y)
    np.testing.assert_array_equal(r(x, y), f(x, y))  # replay gives [40, 600], eager [25, 307]


def test_cse_complex_angle_from_the_rule_table():
    f = lambda x, y: np.angle(x + 1j * y) + np.angle(x * (1 - 2j), deg=True)  # noqa: E731
    r = ad.replay(f)
    x, y = np.array([-0.4, -0.6, 0.7]), np.array([0.5, -1.4, 1.2])
    r(x, y)
    np.testing.assert_allclose(r(x, y), f(x, y), rtol=1e-12)


def test_mismatches_do_not_keep_the_failed_replays_frames_alive():
    """program._MISMATCH is one shared exception instance; each ``raise M``
    adds the failed program's frame (and __call__'s) to its __traceback__,
    which is never cleared: every abandoned replay's locals (all its
    intermediate arrays) stay alive, without bound."""
    import tracemalloc

    def f(x):
        y = x * 2
        if y[0] > 0:
            return y * 2
        return y * 3
    r = ad.replay(f)
    pos, neg = np.ones(10**6), -np.ones(10**6)
    r(pos), r(neg), r(pos), r(neg)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(5):
            r(pos), r(neg)  # each call: one guard mismatch, then the other program replays
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert r.recordings == 2
    assert after - before < 4 * 10**6, f"{(after - before) / 1e6:.0f} MB kept by 10 mismatches"


def test_scalar_arguments_keep_their_ufunc_loop():
    """program._scalars_as_arrays turns a Python int argument into a float
    0-d array: np.ldexp(x, 3) then has no loop (TypeError at every replay:
    the program never replays), and scipy's bdtr(3, 10, p) takes the
    deprecated float-n loop (a DeprecationWarning eager never gives)."""
    import warnings
    import scipy.special as sp
    x = np.array([0.25, 0.5])
    r = ad.replay(lambda x: np.ldexp(x, 3))
    r(x), r(x)
    assert r.replays == 1, f"{r.recordings} recordings, {r.mismatches} mismatches"
    b = ad.replay(lambda p: sp.bdtr(3, 10, p))
    b(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b(x)


def test_complex_argument_of_a_real_order_ufunc_replays():
    """The same: sp.jv(1.5, z) with complex z; 1.5 becomes array(1.5+0j), jv
    has no complex-order loop -> TypeError at every replay."""
    import scipy.special as sp
    z = np.array([0.5 + 0.2j, 1.0 - 0.3j])
    r = ad.replay(lambda z: sp.jv(1.5, z))
    r(z), r(z)
    assert r.replays == 1


def test_where_under_grad_replays_for_a_new_mask():
    """Performance, not correctness: dualad.rules.elementwise._np_where does
    np.asarray(primal(condition)), which the recording sees as Python
    reading the whole mask (a guard on every element), so replay(grad(f))
    with np.where records again for every new mask -- and with more than
    MAX_PROGRAMS masks, each call first tries 8 doomed programs (measured:
    200 calls at n = 1000, 200 recordings, 1564 mismatches, 4x slower than
    eager grad)."""
    f = lambda x: np.sum(np.where(x > 0, x ** 2, np.sin(x)))  # noqa: E731
    g = ad.replay(ad.grad(f))
    g(np.array([1.0, -1.0, 2.0]))
    np.testing.assert_allclose(g(np.array([-1.0, 1.0, 2.0])), ad.grad(f)(np.array([-1.0, 1.0, 2.0])))
    assert g.replays == 1, f"{g.recordings} recordings"


def test_a_view_made_by_an_elementwise_primitive_does_not_lend_its_buffer():
    """WRONG RESULTS.  dualad's "real" primitive (rules/elementwise.py
    real_complex, impl np.real) is elementwise, so program._fresh counts its
    result as owning its memory -- but np.real of a complex array is a view
    of it.  plan_buffers then computes cos(real(z)) with out= into that view
    (the in-place path: real(z) dies at the cos), overwriting z's real part
    while z is still needed (z * z later).  The generated line is
    ``s10 = F6(s7, out=s7)`` with s7 = np.real(s5).  Needs n >= 2048."""
    def f(x, y):
        z = x + 1j * y
        r = np.sin(np.real(z))
        return np.sum(r) + np.sum(np.abs(z * z))
    n = 4096
    rng = np.random.default_rng(0)
    x, y, t = rng.standard_normal(n), rng.standard_normal(n), np.ones(n)
    jvp_map = lambda x, y, t: ad.jvp(f, (x, y), (t, t))  # noqa: E731
    r = ad.replay(jvp_map)
    r(x, y, t)
    got, want = r(x, y, t), jvp_map(x, y, t)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    g = ad.replay(ad.grad(f, argnums=(0, 1)))
    g(x, y)
    np.testing.assert_allclose(g(x, y), ad.grad(f, argnums=(0, 1))(x, y), rtol=1e-12)


def test_a_signature_whose_recordings_meet_invalid_operations_settles_on_eager_calls():
    """A recording during which NumPy reports an invalid operation is not kept
    (dualad's derivative code may have acted on the report); a signature that
    keeps doing so stops recording after MAX_MISSES calls and runs eagerly."""
    f = lambda x: np.sum(np.where(x > 0, np.sqrt(x), 0.0))  # noqa: E731
    g = ad.replay(ad.grad(f))
    x = np.array([-1.0, 1.0, 4.0])  # sqrt(-1) on the untaken side: an invalid operation
    with np.errstate(invalid="ignore"):
        results = [g(x) for _ in range(8)]
        want = ad.grad(f)(x)
    for r in results:
        np.testing.assert_array_equal(r, want)
    assert g.recordings == ad.staging.MAX_MISSES
    assert g.eager_calls == 8 - ad.staging.MAX_MISSES
    assert g.programs() == []


@pytest.mark.parametrize("fixed", [0, 1])
def test_a_kept_value_is_never_added_into(fixed):
    """With fixed_argnums, a value computed once per fixed input is kept
    between calls; a sum of scatters fused in place (program.add_at) must add
    into a copy of it.  Before, each call added into the kept value again
    (the third call gave [2, 24, 2, 48])."""
    f = lambda x: np.sum(x[1::2] ** 3 + x[::2] ** 2)  # noqa: E731
    h = ad.replay(lambda x, v: ad.hvp(f, x, v), fixed_argnums=fixed)
    x, v = np.arange(1.0, 5.0), np.ones(4)
    for k in range(4):
        vk = v * (k + 1) if fixed == 0 else v
        xk = x if fixed == 0 else x * (k + 1)
        np.testing.assert_allclose(h(xk, vk), ad.hvp(f, xk, vk), rtol=1e-14)
    assert h.recordings == 1


def test_a_buffer_rewritten_between_its_uses_is_a_new_constant_each_time():
    """An array captured as a constant is copied; when the same array holds
    other values at a later use (a work buffer rewritten in place, even one
    restored at the end), that use gets a copy of its own."""
    buf = np.ones(3)

    def f(x):
        a = x * buf
        buf[:] = 2.0
        b = x * buf
        buf[:] = 1.0  # back to what the first use saw
        return a + b

    r = ad.replay(f)
    for k in range(3):
        x = np.array([1.0, 2.0, 3.0]) * (k + 1)
        np.testing.assert_array_equal(r(x), x * 3.0)
    assert r.recordings == 1 and r.replays == 2


# ---- found by review: each a replay that differed from the eager call ----------------
def test_a_blocked_region_never_writes_a_buffer_read_through_a_reversing_view():
    n = 200_000  # above blocks.BLOCK_MIN
    c = np.linspace(0.5, 1.5, n)
    f = lambda x: np.sum(np.cos(np.flip(np.sin(x))) * c)  # noqa: E731
    g = ad.replay(ad.grad(f))
    for k in range(3):
        x = np.linspace(-2.0, 2.0, n) * (1 + 0.1 * k)
        np.testing.assert_allclose(g(x), ad.grad(f)(x), rtol=1e-12, atol=1e-12)
    plain = ad.replay(lambda x: np.sum((np.sin(x) + np.sin(x)[::-1]) * 2.0))
    for k in range(3):
        x = np.linspace(-2.0, 2.0, n) * (1 + 0.1 * k)
        np.testing.assert_allclose(plain(x), np.sum((np.sin(x) + np.sin(x)[::-1]) * 2.0),
                                   rtol=1e-12)
    a = np.random.default_rng(0).standard_normal((512, 512))
    t = ad.replay(lambda a: np.sum(np.sin(a) * np.sin(a).T))
    t(a)
    np.testing.assert_allclose(t(a * 0.5), np.sum(np.sin(a * 0.5) * np.sin(a * 0.5).T),
                               rtol=1e-12)


def test_an_exception_caught_while_recording_keeps_no_program():
    def solve_or_zero(A, b):
        try:
            return np.linalg.solve(A, b)
        except np.linalg.LinAlgError:
            return b * 0.0

    r = ad.replay(solve_or_zero)
    b = np.ones(2)
    for A in (np.eye(2), np.zeros((2, 2)), 2.0 * np.eye(2), np.zeros((2, 2)), 4.0 * np.eye(2)):
        np.testing.assert_array_equal(r(A, b), solve_or_zero(A, b))
    # only the solving branch is kept: the fallback's program, which never reads A
    # (s0), would have "matched" every later call
    for program in r.programs():
        body = program.source.split("= I", 1)[1]
        assert "s0" in body, program.source


def test_fixed_arguments_tell_minus_zero_from_zero():
    h = ad.replay(lambda x, v: np.arctan2(x, -1.0) * v, fixed_argnums=0)
    v = np.ones(3)
    for x in (np.zeros(3), -np.zeros(3), np.zeros(3)):
        np.testing.assert_array_equal(h(x, v), np.arctan2(x, -1.0) * v)


def test_paired_operations_tell_minus_zero_from_zero():
    def f(a, b):
        return np.arctan2(0.0, a * 2.0) - np.arctan2(-0.0, b * 3.0)

    r = ad.replay(f)
    for k in range(3):
        a, b = -np.ones(3) * (k + 1), -np.ones(3) * (k + 2)
        np.testing.assert_array_equal(r(a, b), f(a, b))


def test_scaling_chains_are_folded_only_where_exact():
    f = lambda x: (x * 2.0) * 0.25  # noqa: E731
    g = lambda x: (x * 0.5) * 3.0  # noqa: E731
    for fn, x in ((f, np.array([1.0, 1e308, 3.0])), (g, np.array([1.0, 5e-324, 2.0]))):
        r = ad.replay(fn)
        with np.errstate(over="ignore"):
            r(x * 1.0)
            np.testing.assert_array_equal(r(x), fn(x))  # overflow and underflow as eagerly


def test_a_folded_output_is_a_new_array_as_the_eager_one():
    x = np.arange(4.0)
    r = ad.replay(lambda x: x[1:] * 1.0)
    r(x)
    out = r(x)
    assert not np.shares_memory(out, x)
    out[0] = 99.0
    np.testing.assert_array_equal(x, np.arange(4.0))
    two = ad.replay(lambda y: (y, y.T * 1.0))
    y = np.ones((3, 3))
    two(y)
    a, b = two(y)
    assert not np.shares_memory(a, b)


def test_a_value_shaped_primitive_checks_its_shape():
    """np.roots drops zero coefficients, so its output's length depends on
    values (Primitive(value_shaped=True)): the replay checks it."""
    f = lambda c: np.sum(np.abs(np.roots(c)))  # noqa: E731
    r = ad.replay(f)
    for c in ([1.0, -3.0, 2.0], [0.0, 1.0, -2.0], [1.0, -3.0, 2.0], [0.0, 1.0, -2.0]):
        assert r(np.array(c)) == pytest.approx(f(np.array(c)), rel=1e-12)
    assert r.recordings == 2 and r.mismatches >= 1
