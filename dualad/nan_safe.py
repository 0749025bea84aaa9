"""The NaN-safe product and the one switch that turns it on.

What this module lets you do
----------------------------
Compute a derivative in which an exactly zero tangent, cotangent or partial
derivative contributes nothing, even next to an infinite or NaN factor:
``0 × inf = 0 × nan = 0`` in chain-rule products.  That is what makes
``np.where(x > 0, x, np.sqrt(-x))`` differentiable at ``x = 1`` in reverse
mode: the untaken branch receives a cotangent of exactly 0, and its own
derivative there is NaN.

How it is caught
----------------
NumPy reports every invalid floating-point operation (``0 × inf``,
``0/0``, ``inf - inf``) to the error handler in force.  While dualad runs
the user's function, a backward pass or a sweep, :func:`watching` installs
a handler that counts the reports (``core.INVALID_EVENTS``) and otherwise
does what the user's setting says (ignore, warn or raise).  Then:

* ``chain`` compares the count before and after each chain-rule product of
  a tangent; if it moved, the product is passed through :func:`fix` (zero
  where a zero factor met a non-finite one), and from the first report on,
  the rest of the block runs NaN-safe (a NaN made there may meet a zero
  factor later without any report).  So forward mode never redoes
  anything: ``jvp`` of ``sum(sqrt(x))`` at 0 with a zero tangent there
  gives the directional derivative in one pass.
* A derivative that still comes out NaN (in reverse mode, a cotangent of
  exactly 0 from ``np.where``'s untaken branch meets a NaN that was computed
  quietly) is redone with the per-thread switch ``core.STATE.nan_safe`` on
  (:func:`switched_on`), under which every product goes through
  :func:`safe_product` -- but only the backward pass or the sweep is
  redone, never the user's function, and only if NumPy reported an invalid
  operation since the tape began: a NaN that came from a NaN input costs
  nothing more.

Inside a block where the user's own code sets ``np.errstate(invalid=...)``
the reports go to the user's setting instead, and such a product stays NaN.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np

from .core import INVALID_EVENTS, NAN_SAFE_THREADS, STATE, primal

__all__ = ["safe_product", "fix", "watching", "switched_on", "has_nan"]


def fix(t, d, product):
    """``product`` (``t * d``) with the entries where a zero factor met an
    infinite or NaN one set to 0; the same object when there are none."""
    nan = np.isnan(primal(product))
    if not nan.any():  # 0 × inf and 0 × nan are NaN, finite products never are
        return product
    zero_times_nonfinite = nan & ((primal(t) == 0) | (primal(d) == 0))
    if not zero_times_nonfinite.any():
        return product
    return np.where(zero_times_nonfinite, 0.0, product)


def safe_product(t, d):
    """``t * d`` with ``0 × inf = 0 × nan = 0``: an exactly zero tangent (or
    cotangent), or an exactly zero partial derivative, contributes nothing
    even next to an infinite or NaN one.

    Only those entries are replaced by a constant 0.  Where both factors are
    finite the product is computed as it is, so that its own derivative
    survives when ``t`` and ``d`` are boxes of an outer transformation
    (a partial derivative that is 0 at the point but not around it, as
    ``log x`` at 1, still has a derivative)."""
    return fix(t, d, t * d)


def _switch(on: bool) -> bool:
    """Set this thread's NaN-safe switch; returns what it was."""
    previous = STATE.nan_safe
    if previous != on:
        with NAN_SAFE_THREADS[1]:
            NAN_SAFE_THREADS[0] += 1 if on else -1
            STATE.nan_safe = on
    return previous


def _reported(mode: str):
    def counted(kind, flag):
        INVALID_EVENTS[0] += 1
        # from the first report on, every chain-rule product of this block is
        # NaN-safe: a NaN made here can meet a zero factor later, quietly
        _switch(True)
        if mode == "warn":
            warnings.warn(f"{kind} encountered", RuntimeWarning, stacklevel=2)
        elif mode == "raise":
            raise FloatingPointError(f"{kind} encountered")
    counted.dualad = True
    return counted


@contextlib.contextmanager
def watching():
    """Count NumPy's reports of invalid operations during the block
    (``core.INVALID_EVENTS``), keeping the user's own setting for them
    (``ignore``, ``warn`` or ``raise``: the report is then issued as NumPy
    would).  Nested blocks share the outermost one; under another setting
    (``call``, ``print``, ``log``) nothing is counted."""
    mode = np.geterr()["invalid"]
    if getattr(np.geterrcall(), "dualad", False) or mode not in ("ignore", "warn", "raise"):
        yield
        return
    previous = STATE.nan_safe
    try:
        with np.errstate(invalid="call", call=_reported(mode)):
            yield
    finally:
        _switch(previous)


@contextlib.contextmanager
def switched_on():
    """NaN-safe chain-rule products for the duration of the block (this thread)."""
    previous = _switch(True)
    try:
        yield
    finally:
        _switch(previous)


def has_nan(values) -> bool:
    """Whether any floating value (raw or boxed; None skipped) holds a NaN:
    one reduction per array, no temporary (an inf - inf in the sum only
    costs a harmless redo)."""
    with np.errstate(invalid="ignore"):
        for v in values:
            if v is None:
                continue
            p = primal(v)
            if type(p) is np.ndarray:
                if p.dtype.kind in "fc" and np.isnan(np.add.reduce(p, axis=None)):
                    return True
            elif np.result_type(p).kind in "fc" and np.isnan(np.sum(p)):
                return True
    return False
