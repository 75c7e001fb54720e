"""Keep a long run's memory flat: fewer malloc arenas, freed pages given back.

CPython's allocations from several threads (extraction and classification run in
worker threads) land in one glibc arena per thread, which fragments and keeps
RSS high long after the pages are gone. Two arenas are enough for this workload.
Elsewhere than glibc both calls are no-ops.
"""

from __future__ import annotations

import ctypes
import gc
from typing import Any

_libc: Any = None


def tune_malloc() -> None:
    """Limit glibc to two malloc arenas (M_ARENA_MAX); call once, early."""
    global _libc
    if _libc is not None:
        return
    try:
        _libc = ctypes.CDLL("libc.so.6")
        _libc.mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        _libc = None


def release_memory() -> None:
    """Free reference cycles (parsed pages hold some) and return freed heap pages to the OS."""
    gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)
