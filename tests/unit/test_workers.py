"""The comparison worker process: same verdicts as in-process, survives its own death, dies with its parent."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from tos_watch.compare import Comparison, compare_versions
from tos_watch.models import RawJson
from tos_watch.workers import PROCESS_MIN_DOCUMENTS, Comparer

OLD = """# Terms of Service

## Your content

You grant us a license to host your recordings so that we can provide the Service.

## Retention

We delete recordings after 60 days.
"""
NEW = """# Terms of Service

## Your content

You grant us an irrevocable, perpetual, worldwide license to use, copy and distribute your recordings.

## Retention

We may keep recordings indefinitely and share them with law enforcement.
"""
T = TypeVar("T")
EXPECTED = compare_versions(OLD, NEW)


def same_verdict(comparison: Comparison) -> bool:
    """The worker's Comparison (assessment as JSON text, verdict given) says what compare_versions says."""
    assessment = comparison.assessment
    if isinstance(assessment, RawJson):
        assessment = json.loads(assessment)
    return (assessment, comparison.words, comparison.summary()) == (EXPECTED.assessment, EXPECTED.words,
                                                                     EXPECTED.summary())


def with_comparer(documents: int, body: Callable[[Comparer], Awaitable[T]]) -> T:
    async def run() -> T:
        comparer = Comparer(documents)
        try:
            return await body(comparer)
        finally:
            await comparer.aclose()

    return asyncio.run(run())


def test_a_long_run_compares_in_a_worker_process_with_the_same_verdict() -> None:
    async def body(comparer: Comparer) -> tuple[list[Comparison], int | None]:
        results = await asyncio.gather(*(comparer.compare(OLD, NEW) for _ in range(5)))  # queued together
        return results, comparer.worker_pid

    results, worker = with_comparer(PROCESS_MIN_DOCUMENTS, body)
    assert worker is not None and worker != os.getpid()
    assert len(results) == 5 and all(same_verdict(r) for r in results)
    verdict = results[0].summary()
    assert verdict is not None and {"licensing", "retention"} <= set(verdict["categories"])


def test_a_short_run_compares_in_this_process() -> None:
    async def body(comparer: Comparer) -> tuple[Comparison, int | None]:
        return await comparer.compare(OLD, NEW), comparer.worker_pid

    result, worker = with_comparer(1, body)
    assert result == EXPECTED and worker is None


def test_a_killed_worker_is_replaced_by_in_process_comparison(caplog: pytest.LogCaptureFixture) -> None:
    async def body(comparer: Comparer) -> tuple[Comparison, Comparison]:
        first = await comparer.compare(OLD, NEW)
        assert comparer.worker_pid is not None
        os.kill(comparer.worker_pid, signal.SIGKILL)
        await asyncio.sleep(0.3)
        return first, await comparer.compare(OLD, NEW)

    with caplog.at_level(logging.WARNING):
        first, second = with_comparer(PROCESS_MIN_DOCUMENTS, body)
    assert same_verdict(first) and second == EXPECTED  # the second came from this process
    assert "comparison worker unavailable" in caplog.text


PARENT = f"""
import asyncio, time
from tos_watch.workers import Comparer
async def main():
    comparer = Comparer(1000)
    await comparer.compare({OLD!r}, {NEW!r})
    print(comparer.worker_pid, flush=True)
    time.sleep(60)
asyncio.run(main())
"""


def test_a_worker_does_not_outlive_a_killed_parent() -> None:
    """kill -9 of a check must not leave its worker behind."""
    assert_workers_exit_with_parent(PARENT)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def test_an_error_in_the_worker_fails_that_comparison_only() -> None:
    async def body(comparer: Comparer) -> Comparison:
        with pytest.raises(RuntimeError, match="in the comparison worker"):
            await comparer.compare(None, NEW)  # type: ignore[arg-type]  # a bug's input: not a text
        return await comparer.compare(OLD, NEW)

    assert same_verdict(with_comparer(PROCESS_MIN_DOCUMENTS, body))


POOL_PARENT = """
import time
from tos_watch.workers import compare_pool
pool = compare_pool(1)
pool.submit(int, "1").result()
print(*pool._processes, flush=True)
time.sleep(60)
"""


def test_an_importer_pool_worker_does_not_outlive_a_killed_parent() -> None:
    assert_workers_exit_with_parent(POOL_PARENT)


def assert_workers_exit_with_parent(script: str) -> None:
    """Run `script`, which prints its workers' pids and sleeps; kill it; its workers must exit soon after."""
    # stderr dropped: a killed pool parent's resource tracker reports the semaphores it had to clean up
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert workers
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, f"workers {workers} still running after their parent was killed"
        time.sleep(0.1)
