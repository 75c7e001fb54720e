"""The distributed task queue: Procrastinate over PostgreSQL, and the only module that imports it.

Why Procrastinate: a cluster needs a shared PostgreSQL store anyway, and Procrastinate
keeps its queue in PostgreSQL too, so there is no broker to run. It gives what a check
needs: per-job locks (`lock`: at most one check of a document runs at a time), queueing
locks (`queueing_lock`: a document already waiting is not queued twice), retries, worker
heartbeats (stalled jobs of a dead worker are found and retried), and a graceful stop
on SIGTERM that lets running jobs finish.

Tasks are small named functions that take ids: a check takes a document's service and
type, and the hash of the watchlist it was scheduled from. Idempotency lives in the
task and the store (see cluster.py), not in the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import procrastinate
import psycopg

from tos_watch.errors import StoreError

log = logging.getLogger("tos_watch.queue")

CHECKS = "checks"  # the queue's name
CHECK_TASK = "tos_watch.check"
SCHEMA_LOCK = (0x7457, 100)  # advisory lock while creating the queue's tables: two first starts race
STALE_WATCHLIST_WAIT = 30  # seconds before a check from another watchlist is offered to the workers again

KEEP_HOURS = 1  # finished checks kept for `status` (its rate is over the last 5 minutes); failed ones stay
PRUNE_EVERY = 600  # seconds between two prunings, on each worker

Handler = Callable[[str, str, str], Awaitable[str]]


class StaleWatchlist(Exception):
    """This worker's watchlist is not the one the check was scheduled from; another worker may take it."""


app = procrastinate.App(connector=procrastinate.PsycopgConnector())
_handler: Handler | None = None


@app.task(name=CHECK_TASK, queue=CHECKS, retry=procrastinate.RetryStrategy(
    max_attempts=20, wait=STALE_WATCHLIST_WAIT, retry_exceptions={StaleWatchlist}))
async def check(service: str, doc_type: str, watchlist: str) -> str:
    """Check one document (a task takes ids; the worker's handler does the work)."""
    if _handler is None:
        raise RuntimeError("tos_watch.check runs only inside `tos-watch worker`")
    return await _handler(service, doc_type, watchlist)


def document_lock(service: str, doc_type: str) -> str:
    return f"document:{service}|{doc_type}"


# --- connecting ----------------------------------------------------------------------------


def probe(url: str) -> None:
    """Fail with one line when the queue's database is unreachable; create its tables on first use."""
    try:
        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s, %s)", SCHEMA_LOCK)
            if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone() == (None,):
                conn.execute(app.schema_manager.get_schema().encode())
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", SCHEMA_LOCK)
    except psycopg.Error as exc:
        raise StoreError(f"cannot reach the queue's database {_safe(url)}: "
                         f"{(str(exc).strip().splitlines() or [type(exc).__name__])[-1]}") from exc


def _safe(url: str) -> str:
    """A connection string without its password."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unparseable address)"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


def _connector(url: str) -> procrastinate.PsycopgConnector:
    return procrastinate.PsycopgConnector(conninfo=url)


# --- the scheduler's side: deferring -------------------------------------------------------


class Deferrer:
    """Puts checks on the queue from the (synchronous) scheduler."""

    def __init__(self, url: str) -> None:
        self._connector = _connector(url)

    @contextmanager
    def open(self) -> Any:
        with app.replace_connector(self._connector), app.open():
            yield self

    def defer(self, service: str, doc_type: str, watchlist: str) -> bool:
        """Queue a check; False when one of this document is already waiting (not queued twice)."""
        lock = document_lock(service, doc_type)
        try:
            check.configure(lock=lock, queueing_lock=lock).defer(service=service, doc_type=doc_type,
                                                                 watchlist=watchlist)
        except procrastinate.exceptions.AlreadyEnqueued:
            return False
        return True


def defer_once(url: str, service: str, doc_type: str, watchlist: str, *, lock: bool = True) -> int:
    """Queue one check now, outside the scheduler (tests, and the benchmark's duplicate deliveries)."""
    with app.replace_connector(_connector(url)), app.open():
        options: dict[str, Any] = {"lock": document_lock(service, doc_type)} if lock else {}
        return check.configure(**options).defer(service=service, doc_type=doc_type, watchlist=watchlist)


def defer_all(url: str, documents: list[tuple[str, str]], watchlist: str) -> int:
    """Queue checks of many documents as the scheduler does (the benchmark's epoch); how many were queued."""
    deferrer = Deferrer(url)
    with deferrer.open():
        return sum(deferrer.defer(service, doc_type, watchlist) for service, doc_type in documents)


# --- the worker's side -------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerOptions:
    concurrency: int = 4
    stalled_after: float = 30.0  # seconds without a heartbeat: the worker is dead, its checks are retried
    heartbeat: float = 10.0
    poll: float = 5.0
    drain: float | None = None  # longest wait for running checks on SIGTERM (None: until they finish)
    wait: bool = True  # False: stop once the queue is empty (benchmarks)
    extra: dict[str, Any] = field(default_factory=dict)


async def run_worker(url: str, handler: Handler, options: WorkerOptions) -> None:
    """Take checks from the queue until SIGTERM/SIGINT, then let running ones finish."""
    global _handler
    _handler = handler
    connector = _connector(url)
    with app.replace_connector(connector):
        async with app.open_async():
            drain: dict[str, Any] = {} if options.drain is None else {"shutdown_graceful_timeout": options.drain}
            recovery = asyncio.create_task(_recover_stalled(options.stalled_after))
            try:
                await app.run_worker_async(
                    queues=[CHECKS], concurrency=options.concurrency, wait=options.wait,
                    update_heartbeat_interval=options.heartbeat, stalled_worker_timeout=options.stalled_after,
                    fetch_job_polling_interval=options.poll, delete_jobs="never", **drain)
            finally:
                recovery.cancel()
                await asyncio.gather(recovery, return_exceptions=True)


async def _recover_stalled(stalled_after: float) -> None:
    """Offer again the checks of workers whose heartbeat stopped (killed, or cut off from the database);
    now and then, forget finished checks older than KEEP_HOURS (a million documents make millions a day)."""
    pruned = asyncio.get_running_loop().time()
    while True:
        await asyncio.sleep(max(0.5, stalled_after / 3))
        try:
            if asyncio.get_running_loop().time() - pruned > PRUNE_EVERY:
                pruned = asyncio.get_running_loop().time()
                await app.job_manager.delete_old_jobs(nb_hours=KEEP_HOURS, queue=CHECKS)
            for job in await app.job_manager.get_stalled_jobs(queue=CHECKS, seconds_since_heartbeat=stalled_after):
                log.warning("worker stopped mid-check; offering it again", extra={
                    "job": job.id, "service": job.task_kwargs.get("service"), "type": job.task_kwargs.get("doc_type")})
                await app.job_manager.retry_job(job)
        except procrastinate.exceptions.ConnectorException as exc:
            log.warning("cannot look for stalled checks: %s", exc)


# --- status ---------------------------------------------------------------------------------

_STATUS_SQL = {
    "depth": "SELECT count(*) FILTER (WHERE scheduled_at IS NULL OR scheduled_at <= now()), "
             "count(*) FILTER (WHERE scheduled_at > now()) FROM procrastinate_jobs "
             "WHERE queue_name = %(q)s AND status = 'todo'",
    "running": "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %(q)s AND status = 'doing'",
    "workers": "SELECT id, extract(epoch FROM now() - last_heartbeat) FROM procrastinate_workers ORDER BY id",
    "rate": "SELECT j.worker_id, count(*) FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id "
            "WHERE j.queue_name = %(q)s AND e.type IN ('succeeded', 'failed') "
            "AND e.at > now() - interval '5 minutes' GROUP BY j.worker_id",
    "stalled": "SELECT j.id, j.args, j.worker_id, extract(epoch FROM now() - w.last_heartbeat) "
               "FROM procrastinate_jobs j LEFT JOIN procrastinate_workers w ON w.id = j.worker_id "
               "WHERE j.queue_name = %(q)s AND j.status = 'doing' "
               "AND (w.id IS NULL OR w.last_heartbeat < now() - %(stalled)s * interval '1 second')",
    "retrying": "SELECT id, args, attempts, scheduled_at FROM procrastinate_jobs WHERE queue_name = %(q)s "
                "AND status = 'todo' AND attempts > 0 ORDER BY id LIMIT 20",
    "failed": "SELECT j.id, j.args, j.attempts FROM procrastinate_jobs j WHERE j.queue_name = %(q)s "
              "AND j.status = 'failed' AND EXISTS (SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id "
              "AND e.at > now() - interval '1 day') ORDER BY j.id DESC LIMIT 20",
}


def queue_status(url: str, stalled_after: float) -> dict[str, Any]:
    """Queue depth, live workers and their rate, and what is stuck and why."""
    params = {"q": CHECKS, "stalled": stalled_after}
    try:
        with psycopg.connect(url, connect_timeout=10, autocommit=True) as conn:
            rows = {k: conn.execute(sql, params).fetchall() for k, sql in _STATUS_SQL.items()}  # type: ignore[arg-type]
    except psycopg.Error as exc:
        raise StoreError(f"cannot read the queue at {_safe(url)}: {str(exc).strip().splitlines()[-1]}") from exc
    rate = {w: n / 5 for w, n in rows["rate"]}
    workers = [{"id": w, "heartbeat_age": round(float(age), 1), "alive": float(age) < stalled_after,
                "checks_per_minute": rate.get(w, 0.0)} for w, age in rows["workers"]]
    stuck = [_doc(a) | {"job": j, "why": f"worker {w} silent for {float(age or 0):.0f}s: dead or cut off; "
                                           "a live worker takes it over" if w else "its worker is gone; retried soon"}
             for j, a, w, age in rows["stalled"]]
    stuck += [_doc(a) | {"job": j, "why": f"attempt {n} failed; retried at {at:%H:%M:%S} (a worker with another "
                                           "watchlist, or an interrupted check)"} for j, a, n, at in rows["retrying"]]
    stuck += [_doc(a) | {"job": j, "why": f"failed after {n} attempts: no worker had the scheduler's watchlist "
                                           "(see the workers' logs)"} for j, a, n in rows["failed"]]
    return {"waiting": rows["depth"][0][0], "scheduled_later": rows["depth"][0][1],
            "running": rows["running"][0][0], "workers": workers, "stuck": stuck}


def _doc(args: dict[str, Any]) -> dict[str, Any]:
    return {"service": args.get("service"), "type": args.get("doc_type")}
