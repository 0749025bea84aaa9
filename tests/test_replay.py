"""dualad.replay on the whole rule table (tests/test_rules.py's ``CASES``).

For every entry, ``f`` itself, its JVP map and its VJP map (a fixed random
cotangent) are replayed; scalar entries also through ``grad`` (every
argument) and the fwd-over-rev HVP (a subset through the other HVP modes),
one-argument entries through ``jacfwd`` and ``jacrev``.  Each replayed
function is recorded at a perturbed point (every entry moved by a relative
1e-6, which keeps it on the case's domain and away from its kinks), then
called at the case's own arguments and at a second perturbed point; every
result is compared with the eager transformation at the same point.  The
program is not compared with itself: eager dualad is the reference.

A result is only a replay if the program ran: each (case, transformation)
must have recorded once and replayed twice, except those named in
``RERECORDS`` -- entries whose recorded guards see values that change under
the perturbation (a comparison, a NaN check) -- which must stay a small part
of the table.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import dualad as ad
from dualad.core import Box
from test_rules import CASES, _is_scalar_float

RTOL, ATOL = 1e-10, 1e-12


def _rng(*names):
    return np.random.default_rng(zlib.crc32("/".join(names).encode()))


def _leaves(tree):
    return ad.tree_flatten(tree)[0]


def _perturbed(args, rng, eps=1e-6):
    return tuple(np.asarray(a * (1 + eps * rng.uniform(-1, 1, np.shape(a)))) for a in args)


def _random_like(tree, rng):
    leaves, td = ad.tree_flatten(tree)
    return ad.tree_unflatten(td, [rng.standard_normal(np.shape(x)) for x in leaves])


def assert_same_result(replayed, eager, what):
    r_leaves, r_td = ad.tree_flatten(replayed)
    e_leaves, e_td = ad.tree_flatten(eager)
    assert r_td == e_td, f"{what}: replay returned structure {r_td}, eager {e_td}"
    for k, (r, e) in enumerate(zip(r_leaves, e_leaves)):
        assert not isinstance(r, Box), f"{what} leaf {k}: a box came back"
        assert np.shape(r) == np.shape(e), f"{what} leaf {k}: shape {np.shape(r)} vs {np.shape(e)}"
        assert np.result_type(r) == np.result_type(e), \
            f"{what} leaf {k}: dtype {np.result_type(r)} vs {np.result_type(e)}"
        np.testing.assert_allclose(r, e, rtol=RTOL, atol=ATOL, equal_nan=True,
                                   err_msg=f"{what} leaf {k}")


def _transformations(case):
    """(name, fn, extra arguments after the case's own) for this case."""
    f, n = case.f, len(case.args)
    rng = _rng(case.id, "directions")
    out = f(*case.args)
    out_leaves = _leaves(out)
    yield "f", f, ()
    tangents = _random_like(case.args, rng)
    yield "jvp", (lambda *xv: ad.jvp(f, xv[:n], xv[n:])), tuple(tangents)
    cotangent = _random_like(out, rng)
    yield "vjp", (lambda *xu: ad.vjp(f, *xu[:n])[1](xu[n])), (cotangent,)
    scalar = len(out_leaves) == 1 and _is_scalar_float(out)
    if scalar:
        yield "grad", ad.grad(f, argnums=tuple(range(n))), ()
        # the HVP in the first argument, the others held fixed (hvp's args=)
        modes = ad.HVP_MODES if zlib.crc32(case.id.encode()) % 4 == 0 else ("fwd-over-rev",)
        for mode in modes:
            yield (f"hvp-{mode}",
                   (lambda x, v, *rest, mode=mode: ad.hvp(f, x, v, mode, args=rest)),
                   "hvp")
    if n == 1:
        yield "jacfwd", ad.jacfwd(f), ()
        yield "jacrev", ad.jacrev(f), ()


# (case id) -> transformations that record again at the perturbed points: their
# programs hold a guard or an op whose outcome changes with the values.
_EVERY = ("f", "jvp", "vjp", "jacfwd", "jacrev")
_DERIVATIVES = ("jvp", "vjp", "jacfwd", "jacrev")
RERECORDS = {
    # a ufunc with a real-order loop on complex arguments: the program passes
    # the order as a complex 0-d array (program._scalars_as_arrays), no loop
    # matches, every replay raises and the call records again
    **dict.fromkeys(["jv-complex", "hyp1f1-complex"], _EVERY),
    # a guard on a whole value (np.asarray of a primal in the library's rule),
    # a NaN in the inputs (an invalid operation at every replay) or a tie
    **dict.fromkeys(["median-ties", "nansum", "nanmean", "nanmax", "nancumsum", "nanmedian",
                     "trim_zeros", "histogram_bin_edges", "corrcoef", "linspace", "geomspace",
                     "lu_factor", "lu_factor-wide", "lu_factor-tall-stack"], _DERIVATIVES),
    **dict.fromkeys(["quantile", "nanquantile", "interp", "interp-period", "cov", "polyfit",
                     "piecewise", "piecewise-constant", "nan_to_num", "gammainc-shape",
                     "gammaincc-shape", "betainc-shapes", "betaincc-shapes", "lu_factor-solve"],
                    ("jvp", "vjp")),
    **dict.fromkeys(["logsumexp-b", "logsumexp-signed"], ("f", "jvp", "vjp")),
}


def _calls(case, extra, rng):
    """The three points: record at a perturbed one, then the case's own, then another."""
    points = [_perturbed(case.args, rng), case.args, _perturbed(case.args, rng)]
    if extra == "hvp":
        v = rng.standard_normal(np.shape(case.args[0]))
        return [(p[0], v) + p[1:] for p in points]
    return [p + extra for p in points]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_replay_equals_eager_on_the_rule_table(case):
    rng = _rng(case.id, "points")
    for name, fn, extra in _transformations(case):
        replayed = ad.replay(fn)
        for k, call in enumerate(_calls(case, extra, rng)):
            assert_same_result(replayed(*call), fn(*call), f"{case.id} {name} at point {k}")
        assert replayed.eager_calls == 0
        if name not in RERECORDS.get(case.id, ()):
            assert (replayed.recordings, replayed.replays) == (1, 2), (
                f"{case.id} {name}: {replayed.recordings} recordings, {replayed.replays} "
                f"replays, {replayed.mismatches} mismatches at three nearby points")


def test_most_of_the_table_replays_without_recording_again():
    pairs = sum(1 for case in CASES for _ in _transformations(case))
    rerecorded = sum(len(v) for v in RERECORDS.values())
    assert set(RERECORDS) <= {c.id for c in CASES}
    assert rerecorded <= 0.05 * pairs, f"{rerecorded} of {pairs} transformations record again"
