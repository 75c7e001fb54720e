"""Worker processes for the CPU-heavy step of a changed check, `compare_versions`.

A worker imports only `tos_watch.compare` (the classifier), so it starts in a
tenth of a second without the fetch and store stacks. `Comparer` decides, per
run, whether a worker process is worth it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tos_watch.compare import Comparison

log = logging.getLogger(__name__)

# A run of at least this many documents classifies in a worker process when there is a second core:
# the process costs ~0.1 s and ~25 MB to start, which a daemon's one-document checks never win back.
PROCESS_MIN_DOCUMENTS = 50
ORPHAN_POLL_S = 0.5  # how often a worker checks that its parent is still alive


def _compare(old: str, new: str) -> Comparison:
    """compare_versions, imported where it runs: the classifier loads only in a process that classifies."""
    from tos_watch.compare import compare_versions

    return compare_versions(old, new)


def _worker_init(parent: int) -> None:
    """Ignore Ctrl-C (the parent stops the workers) and exit when the parent is gone.

    Why the watch: a worker blocks reading its task queue, whose other end it
    also holds, so a parent killed with SIGKILL would leave it waiting forever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def exit_when_orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL_S)
        os._exit(1)

    threading.Thread(target=exit_when_orphaned, name="orphan-watch", daemon=True).start()


def compare_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for compare_versions.

    spawn, not fork: a fresh interpreter inherits neither the parent's threads
    (event loop, git reader) nor its memory, and imports only this module.
    """
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init, initargs=(os.getpid(),))


class Comparer:
    """Where one run compares versions: a worker process, started at the first change, or a thread.

    Why a process: classification is pure-Python CPU work; in a thread it shares
    one core with fetching and extraction under the GIL, in a process it has the
    second core to itself.
    """

    def __init__(self, documents: int) -> None:
        self._use_process = documents >= PROCESS_MIN_DOCUMENTS and (os.cpu_count() or 1) > 1
        self._pool: ProcessPoolExecutor | None = None

    async def compare(self, old: str, new: str) -> Comparison:
        if self._use_process:
            try:
                if self._pool is None:
                    self._pool = compare_pool(1)
                return await asyncio.wrap_future(self._pool.submit(_compare, old, new))
            except (BrokenProcessPool, OSError) as exc:  # killed, or no processes left: finish in a thread
                log.warning("comparison worker unavailable (%s); comparing in this process", exc)
                self._use_process = False
                self.close()
        return await asyncio.to_thread(_compare, old, new)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
