"""Keeps freed memory inside the process (glibc on Linux), so per-frame buffers are reused, not faulted in again.

Each frame allocates the same few megabytes of activations. By default glibc hands blocks that large straight back
to the kernel when they are freed, and the next frame pays a page fault for every 4 KiB of them again. On the 2-core
development machine that made the single model 1.6x slower per frame (17,000 page faults per 10 frames).
"""
import ctypes
import sys

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
_MMAP_THRESHOLD = 32 << 20  # glibc's largest allowed value on 64-bit
_TRIM_THRESHOLD = 256 << 20
_TOP_PAD = 16 << 20
_applied = False


def keep_freed_memory() -> bool:
    """Applies the settings once per process; False where the C library has no glibc mallopt (macOS, Windows, musl)."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = all(mallopt(option, value) == 1 for option, value in (
        (_M_MMAP_THRESHOLD, _MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD), (_M_TOP_PAD, _TOP_PAD)))
    return _applied
