"""An opt-in allocator setting for large-array work on Linux (glibc).

What this module lets you do
----------------------------
Stop glibc's ``malloc`` from handing freed memory back to the operating
system after every large temporary.  By default glibc returns the top of
the heap (and every block above its mmap threshold) to the OS as soon as it
is freed, so the next array of that size starts on fresh pages: one page
fault per 4 KiB and the kernel zeroing them.  Reverse mode keeps many
intermediates alive and frees them together, so a derivative of a
large-array function pays this on almost every allocation.  Measured on
this project's machines at n = 10⁵, a Hessian-vector product took 7× less
time with the setting than without (``benchmarks/bench_core.py`` prints
both); plain NumPy code with large temporaries gains too.

It changes the whole process (the freed memory stays with the process, so
its resident size stays at its peak), which is why dualad never does it by
itself.  The same effect without code: start Python with the environment
variables ``MALLOC_TRIM_THRESHOLD_`` and ``MALLOC_MMAP_THRESHOLD_`` set.

>>> import dualad
>>> dualad.tune_allocator() in (True, False)   # False where glibc is absent
True
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["tune_allocator"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_allocator(trim_threshold: int = 1 << 30, mmap_threshold: int = 1 << 30) -> bool:
    """Keep up to ``trim_threshold`` bytes of freed heap in the process and serve
    blocks below ``mmap_threshold`` from the heap.  Returns True if glibc
    accepted the settings, False on platforms without glibc's ``mallopt``."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mmap_threshold = min(int(mmap_threshold), 32 << 20)  # glibc's largest allowed value
    ok_trim = mallopt(_M_TRIM_THRESHOLD, int(min(trim_threshold, 2**31 - 1)))
    ok_mmap = mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))
    return bool(ok_trim and ok_mmap)
