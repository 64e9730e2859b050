"""glibc malloc settings for the vision worker, set by the worker itself before torch allocates.

glibc serves blocks above its mmap threshold (dynamic, 128 KiB up to 32 MiB) with a fresh
``mmap`` and returns them with ``munmap`` on free, so a model that allocates and frees the same
large tensors at every decoding step faults their pages in again each time. A fixed, higher
threshold keeps such blocks in the heap, and a trim threshold at least as high keeps glibc from
handing the top of the heap back after every step. Children forked after the call inherit it.
Other C libraries (musl) are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MIB = 1024 * 1024


def malloc_tune(*, mmap_threshold_mb: int, trim_threshold_mb: int) -> bool:
    """Set glibc's mmap and trim thresholds (MiB); 0 leaves a value as it is. True when set."""
    if not mmap_threshold_mb and not trim_threshold_mb:
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        logger.info("No glibc mallopt here; the allocator keeps its defaults")
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    done = True
    if mmap_threshold_mb:
        done &= mallopt(M_MMAP_THRESHOLD, mmap_threshold_mb * MIB) == 1
    if trim_threshold_mb:
        done &= mallopt(M_TRIM_THRESHOLD, trim_threshold_mb * MIB) == 1
    if not done:
        logger.warning(
            "glibc refused mmap threshold %s MiB / trim threshold %s MiB",
            mmap_threshold_mb,
            trim_threshold_mb,
        )
    return bool(done)
