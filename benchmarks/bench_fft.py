"""FFT benchmark: gradient and HVP of a spectral filter, as ratios to f.

Run:  python benchmarks/bench_fft.py [--quick]

Two workloads, each at n = 2**16 and 2**20 (``--quick``: 2**16 only):

* the filter -- ``f(x) = sum(irfft(rfft(x) * H, n) ** 2)`` with a fixed
  complex filter H (a Gaussian low-pass with a delay).  Targets: gradient
  <= 3x f, forward-over-reverse HVP <= 8x f.
* a nonlinear spectrum -- an elementwise function of the spectrum between
  the transforms, ``rfft(x) * H / (1 + |rfft(x)|² / n)``, then the same.
  No target: its derivative adds complex elementwise work (a division, an
  absolute value) that costs as much as the transforms at n = 2**16.

f costs two real FFTs of length n; a gradient needs two more (the
transposes of rfft and irfft are an irfft and an rfft), an HVP pushes a
tangent beside each of the four.  The "op-by-op floor" is the filter's
value and gradient hand-written in NumPy with the same transforms -- what
any library running NumPy one operation at a time must do at least.

All figures are ratios measured in this one run (best of repeats).  Fresh
pages for large temporaries dominate on some machines, so both workloads are
timed with glibc's default allocator and after ``dualad.tune_allocator()``
(as ``bench_core.py`` does).
"""

from __future__ import annotations

import argparse

import numpy as np

import dualad as ad
from timing import best_time


def make_filter(n: int) -> np.ndarray:
    k = np.arange(n // 2 + 1)
    return np.exp(-(k / (n / 8)) ** 2) * np.exp(-2j * np.pi * k * 3 / n)


def filtered_energy(H, n):
    def f(x):
        return np.sum(np.fft.irfft(np.fft.rfft(x) * H, n) ** 2)
    return f


def nonlinear_energy(H, n):
    def f(x):
        X = np.fft.rfft(x)
        return np.sum(np.fft.irfft(X * H / (1 + np.abs(X) ** 2 / n), n) ** 2)
    return f


def floor_gradient(H, n):
    """The filter's value and gradient by hand: y = irfft(rfft(x) H), then
    the transposes (irfft's is w · conj(rfft(·)) scaled by 1/n, rfft's is
    irfft(conj(·) / w) scaled by n, w the Hermitian weights)."""
    w = np.full(n // 2 + 1, 2.0)
    w[0] = w[-1] = 1.0

    def value_and_grad(x):
        y = np.fft.irfft(np.fft.rfft(x) * H, n)
        gy = 2.0 * y
        gX = np.conjugate(np.fft.rfft(gy, norm="forward")) * w * H
        return np.sum(y ** 2), np.fft.irfft(np.conjugate(gX) / w, n, norm="forward")
    return value_and_grad


def report(title, base, rows):
    print(f"\n{title}")
    print(f"  {'what':<28}{'best time':>12}{'ratio':>9}")
    print(f"  {'f (plain NumPy)':<28}{base * 1e3:>10.2f}ms{1.0:>9.2f}")
    for name, t in rows:
        print(f"  {name:<28}{t * 1e3:>10.2f}ms{t / base:>9.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 2**16 only, fewer repeats")
    args = parser.parse_args(argv)
    sizes = (2 ** 16,) if args.quick else (2 ** 16, 2 ** 20)
    for allocator in ("glibc's default allocator", "dualad.tune_allocator()"):
        if allocator.startswith("dualad") and not ad.tune_allocator():
            print("\n(no glibc mallopt here: the tuned-allocator run is skipped)")
            break
        for n in sizes:
            repeat = 5 if args.quick else (15 if n <= 2 ** 16 else 7)
            rng = np.random.default_rng(0)
            x, v = rng.standard_normal(n), rng.standard_normal(n)
            H = make_filter(n)
            workloads = (("filter", filtered_energy), ("nonlinear spectrum", nonlinear_energy))
            for label, make in workloads:
                f = make(H, n)
                g = ad.grad(f)
                base = best_time(lambda: f(x), repeat)
                rows = [("gradient", best_time(lambda: g(x), repeat)),
                        ("HVP fwd-over-rev", best_time(lambda: ad.hvp(f, x, v), repeat))]
                if make is filtered_energy:
                    floor = floor_gradient(H, n)
                    assert np.allclose(floor(x)[1], g(x))
                    rows.append(("op-by-op floor: gradient", best_time(lambda: floor(x), repeat)))
                targets = ("targets: gradient <= 3, HVP <= 8" if make is filtered_energy
                           else "no target")
                report(f"{label}, n = 2**{n.bit_length() - 1}, {allocator} ({targets})",
                       base, rows)


if __name__ == "__main__":
    main()
