"""Discrete Fourier transforms: ``numpy.fft``.

Four primitives -- ``fft``, ``ifft``, ``rfft`` and ``irfft`` along one axis
-- and every other function of ``numpy.fft`` composed of them exactly as
NumPy composes it (the n-dimensional transforms axis by axis in NumPy's
order, ``hfft``/``ihfft`` as conjugated ``irfft``/``rfft`` with the norm
swapped, the shifts as rolls), so values, dtypes and errors are NumPy's.

The transforms are linear, so each JVP is the same transform of the
tangent.  Each VJP is the transpose of that linear map under the pairing
``⟨u, v⟩ = Re Σ u·v`` (no conjugation, dualad's convention), which is cheap
because the DFT matrix ``D = [ω^{jk}]``, ``ω = e^{-2πi/n}``, is symmetric:

* ``fft(x, n)`` is ``s · D · fit_n(x)``, where ``fit_n`` zero-pads or cuts
  ``x`` to length ``n`` and ``s`` is 1, 1/√n or 1/n for the norms
  ``backward``, ``ortho``, ``forward``.  Its transpose is ``fit_m`` (back to
  the input's length ``m``: cut what was padded, zero-pad what was cut)
  of ``fft(g, n)`` with the same norm; ``ifft`` likewise, with ``D̄``.
* ``rfft(x, n)`` keeps the first ``L = n//2 + 1`` rows of ``fft``.  Its
  transpose zero-extends ``g`` to ``n`` rows and applies ``s·D``; the input
  is real, so only the real part counts: ``Re Σ_{j<L} g_j ω^{jk}``.
* ``irfft(X, n)`` reads ``X_0 .. X_{L-1}`` and fills the other half of the
  spectrum with their conjugates (Hermitian symmetry), so as a real-linear
  map of ``X`` it is ``irfft(X)_k = Re Σ_{j<L} (w_j s) X_j ω^{-jk}`` with
  the **Hermitian weights** ``w_0 = 1``, ``w_j = 2`` for ``0 < j < n/2``
  (each stands for itself and its conjugate mirror ``X_{n-j}``) and
  ``w_{n/2} = 1`` for even ``n`` (the Nyquist bin is its own mirror).  The
  imaginary parts of ``X_0`` (and of ``X_{n/2}``) are read as zero.  The
  transpose is ``X̄_j = w_j s Σ_k g_k ω^{-jk} = w ⊙ ifft(g, n)[:L]``, whose
  entries 0 (and n/2) are real: exactly the directions ``irfft`` ignores.

Both real transposes are computed with the real transforms, at half the
cost of a complex one: for real ``g``, ``s Σ_k g_k ω^{-jk}`` is
``conj(rfft(g))_j`` with the norm swapped (``rfft``'s ``s`` for ``backward``
is ``ifft``'s for ``forward``), and ``Re Σ_{j<L} g_j ω^{jk}`` is ``irfft``
of ``conj(g) / w``, the weights undoing the ones ``irfft`` applies.

>>> import numpy as np, dualad as ad
>>> x = np.array([1.0, 2.0, 0.5, -1.0])
>>> g = ad.grad(lambda x: np.sum(np.fft.irfft(np.fft.rfft(x), 4) ** 2))(x)
>>> np.allclose(g, 2 * x)
True
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.array_utils import normalize_axis_index

from ..core import Box, is_complex, ndim_of, note_complex, shape_of
from ..extend import Primitive, refuse, register
from .shape import roll

__all__ = ["fft_p", "ifft_p", "rfft_p", "irfft_p"]

_NORMS = {None: "backward", "backward": "backward", "ortho": "ortho", "forward": "forward"}
# The scale 1, 1/√n, 1/n of a forward transform is an inverse one's for the
# swapped norm: the real transposes, which run the other direction, use it.
_SWAPPED = {"backward": "forward", "ortho": "ortho", "forward": "backward"}


def _array(a):
    """A traced value as it is, anything else as NumPy reads it (np.asarray)."""
    return a if isinstance(a, Box) else np.asarray(a)


def _refuse_out(name: str, out) -> None:
    if out is not None:
        refuse(f"numpy.fft.{name}", "out", "dualad cannot write a result in place; "
               "assign it to a new variable instead")


def _norm(norm):
    """``norm`` spelled out (None is "backward"); any other value is passed
    on unchanged, for NumPy to raise its own error."""
    return _NORMS.get(norm, norm) if norm is None or isinstance(norm, str) else norm


def _swap(norm):
    return _SWAPPED.get(_norm(norm), norm)


def _fit(v, length: int, axis: int):
    """``v`` cut or zero-padded to ``length`` along the negative ``axis``:
    the transpose of the one that fitted an input to the transform length."""
    have = shape_of(v)[axis]
    if have > length:
        return v[(Ellipsis, slice(0, length)) + (slice(None),) * (-axis - 1)]
    if have < length:
        widths = [(0, 0)] * ndim_of(v)
        widths[axis] = (0, length - have)
        return np.pad(v, widths)
    return v


def _real(v):
    return np.real(v) if is_complex(v) else v


def _weights(n: int, axis: int, like, power: float = 1.0):
    """The Hermitian weights ``w`` of ``irfft`` of length ``n`` (module
    docstring) to the ``power`` 1 or -1, shaped to broadcast along the
    negative ``axis``, in the real dtype of ``like``."""
    w = np.full(n // 2 + 1, 2.0 ** power, dtype=np.finfo(np.result_type(like)).dtype)
    w[0] = 1.0
    if n % 2 == 0:
        w[-1] = 1.0  # the Nyquist bin is its own mirror
    return w.reshape((-1,) + (1,) * (-axis - 1))


def _fitted_back(ct, x, axis: int):
    """A cotangent of the transform's input: fitted back to the input's
    length along ``axis``; its real part for a real input."""
    ct = _fit(ct, shape_of(x)[axis], axis)
    return ct if is_complex(x) else np.real(ct)


def _fft_vjp(g, out, x, n, axis, norm):
    return _fitted_back(fft_p(g, n=n, axis=axis, norm=norm), x, axis)  # D is symmetric


def _ifft_vjp(g, out, x, n, axis, norm):
    return _fitted_back(ifft_p(g, n=n, axis=axis, norm=norm), x, axis)


def _rfft_vjp(g, out, x, n, axis, norm):
    """``Re Σ_{j<L} g_j ω^{jk}``, scaled, computed as ``irfft(conj(g) / w)``."""
    g = np.conjugate(g) * _weights(n, axis, out.dtype, -1.0)
    return _fitted_back(irfft_p(g, n=n, axis=axis, norm=_SWAPPED[norm]), x, axis)


def _irfft_vjp(g, out, x, n, axis, norm):
    """``w ⊙ ifft(g)[:L]`` of the real ``g``, computed as ``w ⊙ conj(rfft(g))``."""
    spectrum = np.conjugate(rfft_p(_real(g), n=n, axis=axis, norm=_SWAPPED[norm]))
    return _fitted_back(spectrum * _weights(n, axis, out.dtype), x, axis)


def _declare(name, numpy_function, vjp):
    """A transform along one negative axis, to length ``n``: linear, so its
    JVP is itself applied to the tangent (whose batch axes stay in front).
    Its rules read only shapes and dtypes, so the tape keeps no values."""
    def jvp(t, out, x, n, axis, norm):
        return prim(t, n=n, axis=axis, norm=norm)
    prim = Primitive(name, lambda x, n, axis, norm: numpy_function(x, n, axis, norm),
                     jvp=(jvp,), vjp=(vjp,), residuals=(frozenset(),),
                     doc=f"np.fft.{name} along one negative axis, to length n.")
    return prim


fft_p = _declare("fft", np.fft.fft, _fft_vjp)
ifft_p = _declare("ifft", np.fft.ifft, _ifft_vjp)
rfft_p = _declare("rfft", np.fft.rfft, _rfft_vjp)
irfft_p = _declare("irfft", np.fft.irfft, _irfft_vjp)


# ---- the 1-D transforms ------------------------------------------------------------
def _one_axis(prim, name, a, n, axis, norm, out, default_n):
    """``prim`` of ``a`` with NumPy's defaults: ``n`` from the input's
    length along ``axis``, ``axis`` made negative (so batched tangents
    keep their leading axes).  NumPy itself checks ``n`` and ``norm``."""
    _refuse_out(name, out)
    a = _array(a)
    length = shape_of(a)[axis]  # NumPy's IndexError for a 0-d input
    axis = normalize_axis_index(axis, ndim_of(a)) - ndim_of(a)
    if prim is not irfft_p:
        note_complex()
    n = default_n(length) if n is None else n
    return prim(a, n=n, axis=axis, norm=_norm(norm))


def fft(a, n=None, axis=-1, norm=None, out=None):
    return _one_axis(fft_p, "fft", a, n, axis, norm, out, lambda m: m)


def ifft(a, n=None, axis=-1, norm=None, out=None):
    return _one_axis(ifft_p, "ifft", a, n, axis, norm, out, lambda m: m)


def rfft(a, n=None, axis=-1, norm=None, out=None):
    return _one_axis(rfft_p, "rfft", a, n, axis, norm, out, lambda m: m)


def irfft(a, n=None, axis=-1, norm=None, out=None):
    return _one_axis(irfft_p, "irfft", a, n, axis, norm, out, lambda m: (m - 1) * 2)


def hfft(a, n=None, axis=-1, norm=None, out=None):
    """np.fft.hfft: ``irfft`` of the conjugate, with the norm swapped."""
    _refuse_out("hfft", out)
    a = _array(a)
    return irfft(np.conjugate(a), n, axis, _swap(norm))


def ihfft(a, n=None, axis=-1, norm=None, out=None):
    """np.fft.ihfft: the conjugate of ``rfft``, with the norm swapped."""
    _refuse_out("ihfft", out)
    return np.conjugate(rfft(a, n, axis, _swap(norm)))


# ---- n-dimensional transforms: one axis at a time, in NumPy's order -----------------
def _sizes_and_axes(a, s, axes, inverse_real=False):
    """``s`` and ``axes`` as NumPy's n-dimensional transforms read them:
    by default every axis (or the last ``len(s)``) at its length; ``-1`` in
    ``s`` is the input's length; an inverse real transform's last length
    defaults to ``2 (m - 1)``.  NumPy's warnings for ``s`` without ``axes``
    and for ``None`` in ``s``."""
    shape = shape_of(a)
    given = s is not None
    if given:
        s = list(s)
    else:
        s = list(shape) if axes is None else list(np.take(shape, axes))
    if axes is None:
        if given:
            warnings.warn("`axes` should not be `None` if `s` is not `None` "
                          "(deprecated in NumPy 2.0): pass `axes` too", DeprecationWarning,
                          stacklevel=5)
        axes = list(range(-len(s), 0))
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if inverse_real and not given:
        s[-1] = (shape[axes[-1]] - 1) * 2
    if None in s:
        warnings.warn("passing None in `s` is deprecated in NumPy 2.0: pass the default "
                      "length of the 1-D transform instead", DeprecationWarning, stacklevel=5)
    return [shape[ax] if size == -1 else size for size, ax in zip(s, axes)], list(axes)


def _each_axis(transform, name):
    def transform_nd(a, s, axes, norm, out):
        _refuse_out(name, out)
        a = _array(a)
        s, axes = _sizes_and_axes(a, s, axes)
        for size, ax in reversed(list(zip(s, axes))):
            a = transform(a, size, ax, norm)
        return a
    return transform_nd


_fftn, _ifftn = _each_axis(fft, "fftn"), _each_axis(ifft, "ifftn")
_fft2, _ifft2 = _each_axis(fft, "fft2"), _each_axis(ifft, "ifft2")


def fftn(a, s=None, axes=None, norm=None, out=None):
    return _fftn(a, s, axes, norm, out)


def ifftn(a, s=None, axes=None, norm=None, out=None):
    return _ifftn(a, s, axes, norm, out)


def fft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return _fft2(a, s, axes, norm, out)


def ifft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return _ifft2(a, s, axes, norm, out)


def _rfftn(a, s, axes, norm, out, name):
    """``rfft`` along the last axis, then ``fft`` along the others, last first."""
    _refuse_out(name, out)
    a = _array(a)
    s, axes = _sizes_and_axes(a, s, axes)
    a = rfft(a, s[-1], axes[-1], norm)
    for size, ax in reversed(list(zip(s[:-1], axes[:-1]))):
        a = fft(a, size, ax, norm)
    return a


def _irfftn(a, s, axes, norm, out, name):
    """``ifft`` along every axis but the last, first first, then ``irfft``."""
    _refuse_out(name, out)
    a = _array(a)
    s, axes = _sizes_and_axes(a, s, axes, inverse_real=True)
    for size, ax in zip(s[:-1], axes[:-1]):
        a = ifft(a, size, ax, norm)
    return irfft(a, s[-1], axes[-1], norm)


def rfftn(a, s=None, axes=None, norm=None, out=None):
    return _rfftn(a, s, axes, norm, out, "rfftn")


def rfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return _rfftn(a, s, axes, norm, out, "rfft2")


def irfftn(a, s=None, axes=None, norm=None, out=None):
    return _irfftn(a, s, axes, norm, out, "irfftn")


def irfft2(a, s=None, axes=(-2, -1), norm=None, out=None):
    return _irfftn(a, s, axes, norm, out, "irfft2")


# ---- shifts ---------------------------------------------------------------------------
def _shift(x, axes, sign):
    x = _array(x)
    shape = shape_of(x)
    if axes is None:
        axes = tuple(range(len(shape)))
        shift = [sign * (n // 2) for n in shape]
    elif isinstance(axes, (int, np.integer)):
        shift = sign * (shape[axes] // 2)
    else:
        shift = [sign * (shape[ax] // 2) for ax in axes]
    return roll(x, shift, axes)


def fftshift(x, axes=None):
    """np.fft.fftshift: the zero frequency rolled to the middle."""
    return _shift(x, axes, 1)


def ifftshift(x, axes=None):
    """np.fft.ifftshift: the inverse roll of fftshift."""
    return _shift(x, axes, -1)


for _function in (fft, ifft, rfft, irfft, hfft, ihfft, fftn, ifftn, fft2, ifft2,
                  rfftn, rfft2, irfftn, irfft2, fftshift, ifftshift):
    register(getattr(np.fft, _function.__name__), _function)
