"""The comparison worker process: same verdicts as in-process, survives its own death, dies with its parent."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time

import pytest

from tos_watch.compare import compare_versions
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


def _worker_pids(comparer: Comparer) -> list[int]:
    pool = comparer._pool
    return list(pool._processes) if pool is not None and pool._processes else []  # type: ignore[attr-defined]


def test_a_long_run_compares_in_a_worker_process_with_the_same_verdict() -> None:
    comparer = Comparer(PROCESS_MIN_DOCUMENTS)
    try:
        result = asyncio.run(comparer.compare(OLD, NEW))
        workers = _worker_pids(comparer)
    finally:
        comparer.close()
    assert workers and os.getpid() not in workers
    assert result == compare_versions(OLD, NEW)
    assert result.assessment is not None and {"licensing", "retention"} <= set(result.assessment["categories"])


def test_a_short_run_compares_in_this_process() -> None:
    comparer = Comparer(1)
    assert asyncio.run(comparer.compare(OLD, NEW)) == compare_versions(OLD, NEW)
    assert comparer._pool is None


def test_a_killed_worker_is_replaced_by_in_process_comparison(caplog: pytest.LogCaptureFixture) -> None:
    comparer = Comparer(PROCESS_MIN_DOCUMENTS)

    async def compare_kill_compare() -> tuple[object, object]:
        first = await comparer.compare(OLD, NEW)
        for pid in _worker_pids(comparer):
            os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.2)
        return first, await comparer.compare(OLD, NEW)

    with caplog.at_level(logging.WARNING):
        try:
            first, second = asyncio.run(compare_kill_compare())
        finally:
            comparer.close()
    assert first == second == compare_versions(OLD, NEW)
    assert "comparison worker unavailable" in caplog.text


PARENT = f"""
import asyncio, sys, time
from tos_watch.workers import Comparer
comparer = Comparer(1000)
asyncio.run(comparer.compare({OLD!r}, {NEW!r}))
print(*comparer._pool._processes, flush=True)
time.sleep(60)
"""


def test_a_worker_does_not_outlive_a_killed_parent() -> None:
    """kill -9 of a check must not leave its worker behind."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert workers
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, f"worker {workers} still running after its parent was killed"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
