"""Worker processes for the CPU-heavy step of a changed check, `compare_versions`.

A worker imports only `tos_watch.compare` (the classifier), so it starts in a
tenth of a second without the fetch and store stacks.

- `Comparer`: where one check run compares versions. A long run starts one
  worker (`python -m tos_watch.compare_worker`) at its first change and talks to it
  over its stdin and stdout, one JSON line per request and per reply, so the
  event loop keeps several comparisons queued and the worker never waits.
  Not multiprocessing: its resource-tracker process and queue threads cost
  13 MB and a thread per pool for nothing here, and a worker blocked on a
  multiprocessing queue outlives a parent killed with SIGKILL, where a worker
  reading a pipe sees end-of-file and exits.
- `compare_pool`: a process pool for the synchronous OTA history importer.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tos_watch.compare import Comparison
    from tos_watch.models import PriorVersion

log = logging.getLogger(__name__)

# A run of at least this many documents classifies in a worker process when there is a second core:
# the process costs ~0.15 s and ~20 MB to start, which a daemon's one-document checks never win back.
PROCESS_MIN_DOCUMENTS = 50
LINE_LIMIT = 256 * 1024 * 1024  # one reply line: an assessment quotes the clauses it flags
STOP_TIMEOUT_S = 5.0
ORPHAN_POLL_S = 0.5  # how often a pool worker checks that its parent is alive


class WorkerGone(Exception):
    """The worker process exited or could not start; the run compares in-process instead."""


def _compare(old: str, new: str, history: Sequence[PriorVersion] = ()) -> Comparison:
    """compare_versions, imported where it runs: the classifier loads only in a process that classifies."""
    from tos_watch.compare import compare_versions

    return compare_versions(old, new, history)


# --- the run's side ---------------------------------------------------------------------------


class Comparer:
    """Where one run compares versions: a worker process, started at the first change, or a thread.

    Why a process: classification is pure-Python CPU work; in a thread it shares
    one core with fetching and extraction under the GIL, in a process it has the
    second core to itself.
    """

    def __init__(self, documents: int) -> None:
        self._use_process = documents >= PROCESS_MIN_DOCUMENTS and (os.cpu_count() or 1) > 1
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self._pending: dict[int, asyncio.Future[Comparison]] = {}
        self._ids = itertools.count()

    @property
    def worker_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    async def compare(self, old: str, new: str, history: Sequence[PriorVersion] = ()) -> Comparison:
        if self._use_process:
            try:
                return await self._in_worker(old, new, history)
            except WorkerGone as exc:
                if self._use_process:  # the comparisons queued when it died all land here: warn once
                    log.warning("comparison worker unavailable (%s); comparing in this process", exc)
                    self._use_process = False
        return await asyncio.to_thread(_compare, old, new, history)

    async def _in_worker(self, old: str, new: str, history: Sequence[PriorVersion]) -> Comparison:
        proc = await self._started()
        assert proc.stdin is not None
        request_id = next(self._ids)
        reply: asyncio.Future[Comparison] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = reply
        try:
            request = {"id": request_id, "old": old, "new": new, "history": _history_json(history, new)}
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            self._pending.pop(request_id, None)
            raise WorkerGone(f"worker exited: {exc}") from exc
        return await reply

    async def _started(self) -> asyncio.subprocess.Process:
        async with self._starting:
            if self._proc is None:
                try:
                    self._proc = await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "tos_watch.compare_worker", stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE, limit=LINE_LIMIT, env=_same_package_env())
                except OSError as exc:
                    raise WorkerGone(f"cannot start: {exc}") from exc
                self._reader = asyncio.create_task(self._read_replies(self._proc))
            elif self._proc.returncode is not None:
                raise WorkerGone(f"worker exited with status {self._proc.returncode}")
            return self._proc

    async def _read_replies(self, proc: asyncio.subprocess.Process) -> None:
        """Hand each reply to the comparison awaiting it; when the worker is gone, fail the rest."""
        from tos_watch.compare import Comparison
        from tos_watch.models import RawJson

        assert proc.stdout is not None
        try:
            while line := await proc.stdout.readline():
                reply = json.loads(line)
                waiting = self._pending.pop(reply["id"], None)
                if waiting is None or waiting.done():
                    continue
                if "error" in reply:
                    waiting.set_exception(RuntimeError(f"in the comparison worker: {reply['error']}"))
                else:
                    waiting.set_result(Comparison(RawJson(reply["assessment"]), tuple(reply["words"]),
                                                  reply["verdict"]))
        except (ValueError, asyncio.LimitOverrunError) as exc:
            log.error("comparison worker sent an unreadable reply: %s", exc)
        finally:
            gone = WorkerGone(f"worker exited with status {proc.returncode}")
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(gone)
            self._pending.clear()

    async def aclose(self) -> None:
        """Close the worker's input (it exits at end-of-file) and wait for it; kill it if it hangs."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            await self._reader


def _history_json(history: Sequence[PriorVersion], new: str) -> list[dict[str, object]]:
    """The earlier versions as a request carries them (read back by compare.history_from_json).

    A text equal to the new one goes as null, not a second copy. Written here, not
    in tos_watch.compare, so that the run's process never imports the classifier.
    """
    return [{"text": None if p.text == new else p.text, "version_id": p.version_id,
             "recorded_at": p.recorded_at.isoformat() if p.recorded_at else None} for p in history]


def _same_package_env() -> dict[str, str]:
    """The environment with this tos_watch first on the path: the worker must run the same code."""
    here = str(Path(__file__).resolve().parents[1])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": here + (os.pathsep + path if path else "")}


# --- the importer's pool ----------------------------------------------------------------------


def _pool_worker_init(parent: int) -> None:
    """Ignore Ctrl-C (the parent stops the pool) and exit once the parent is gone.

    Why the watch: a pool worker blocks on its task queue, whose write end it
    also holds, so a parent killed with SIGKILL would leave it waiting forever.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def exit_when_orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL_S)
        os._exit(1)

    threading.Thread(target=exit_when_orphaned, name="orphan-watch", daemon=True).start()


def compare_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes for compare_versions, for synchronous callers.

    spawn, not fork: a fresh interpreter inherits neither the parent's threads
    (the git reader's) nor its memory, and imports only what it runs.
    """
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_pool_worker_init, initargs=(os.getpid(),))
