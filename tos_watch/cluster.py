"""A cluster: one scheduler queues due checks, any number of workers on any machines run them.

The exactly-once effect over the queue's at-least-once delivery comes from the check
itself, not the queue: a check reads the document's state after taking the document's
lock (a PostgreSQL advisory lock, released by the server if the worker dies), and
saves everything in one transaction (`check_document`). So a check delivered twice
finds the first one's version and records "unchanged"; a check cut short by `kill -9`
rolled back and is simply run again; two deliveries at once never overlap, the second
finds the lock taken and leaves the work to the first. Digests are sent only by the
scheduler, of which there is one per database (another advisory lock).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from tos_watch import queue
from tos_watch.config import Settings
from tos_watch.errors import ConfigError, StoreError
from tos_watch.models import Document
from tos_watch.store import SqlStore
from tos_watch.store.cluster import WATCHLIST, ClusterStore

log = logging.getLogger("tos_watch.cluster")


def watchlist_hash(documents: Sequence[Document]) -> str:
    """What must be equal on the scheduler and every worker: the documents and how to read them."""
    return hashlib.sha256(repr(tuple(documents)).encode("utf-8")).hexdigest()[:16]


def require_queue(settings: Settings) -> str:
    if settings.queue is None:
        raise ConfigError('no [queue] table: a worker takes checks from a queue (add [queue] url = '
                          '"postgresql://user@host/db" beside a PostgreSQL [storage] database_url)',
                          source=str(settings.path) if settings.path else None)
    queue.probe(settings.queue.url)
    return settings.queue.url


# --- the scheduler's side ------------------------------------------------------------------


class Enqueuer:
    """What the daemon's check jobs do with [queue]: put the document on the queue."""

    def __init__(self, deferrer: queue.Deferrer, watchlist: str) -> None:
        self.deferrer = deferrer
        self.watchlist = watchlist

    def enqueue(self, docs: Sequence[Document]) -> None:
        for doc in docs:
            queued = self.deferrer.defer(doc.service, doc.type, self.watchlist)
            (log.info if queued else log.warning)(
                "queued" if queued else "previous check still waiting in the queue; not queued twice",
                extra={"service": doc.service, "type": doc.type})


@contextmanager
def scheduling(settings: Settings, store: SqlStore) -> Iterator[Enqueuer | None]:
    """With [queue]: be the cluster's one scheduler, publish the watchlist's hash, and queue checks."""
    if settings.queue is None:
        yield None
        return
    url = require_queue(settings)
    shared = ClusterStore(store.engine)
    with shared.scheduler_lock():
        with shared.registering():
            store.document_ids(list(settings.documents))
        digest = watchlist_hash(settings.documents)
        shared.put(WATCHLIST, digest)
        with queue.Deferrer(url).open() as deferrer:
            yield Enqueuer(deferrer, digest)


# --- the worker's side ---------------------------------------------------------------------


@dataclass
class _Stale:
    seen: bool = False


class Worker:
    """Runs the checks a worker takes from the queue, one document at a time across the cluster."""

    def __init__(self, settings: Settings, store: SqlStore, concurrency: int) -> None:
        self.settings = settings
        self.store = store
        self.watchlist = watchlist_hash(settings.documents)
        # Each running check holds one connection for its document's lock, beside the store's pool.
        self.locks = ClusterStore(sa.create_engine(store.engine.url, pool_size=concurrency + 1, max_overflow=2))
        self.by_key = {doc.key: doc for doc in settings.documents}
        self.stale = _Stale()
        self.fetcher: object | None = None
        self.comparer: object | None = None

    def register_documents(self) -> None:
        """Learn every document's row id in one query now, not one table scan per first check."""
        with self.locks.registering():
            self.store.document_ids(list(self.settings.documents))

    def check_watchlist(self) -> None:
        """Refuse to start with a watchlist other than the scheduler's: one line, exit 2."""
        published = self.locks.get(WATCHLIST)
        if published is not None and published != self.watchlist:
            raise ConfigError(f"this worker's watchlist (hash {self.watchlist}, {len(self.by_key)} documents) differs "
                              f"from the scheduler's (hash {published}): give every machine the same "
                              "[[documents]], then restart the worker", source=str(self.settings.path))

    async def handle(self, service: str, doc_type: str, watchlist: str) -> str:
        """One queued check: the document's lock, a fresh state, one transaction (pipeline.check_document)."""
        from tos_watch.pipeline import check_document

        if watchlist != self.watchlist:
            self._stop_stale(watchlist)
            raise queue.StaleWatchlist(f"scheduled from watchlist {watchlist}; this worker has {self.watchlist}")
        doc = self.by_key.get((service, doc_type))
        if doc is None:
            log.warning("document not configured on this worker; skipped", extra={"service": service, "type": doc_type})
            return "skipped"
        with self.locks.document_lock(self.store.document_id(doc)) as mine:
            if not mine:  # a duplicate delivery while the first still runs: the first records the result
                log.info("already being checked elsewhere; left to that check", extra={"service": service,
                                                                                      "type": doc_type})
                return "duplicate"
            outcome = await check_document(doc, self.fetcher, self.store, comparer=self.comparer)  # type: ignore[arg-type]
        extra = {"service": service, "type": doc_type, "status": outcome.status.value}
        if outcome.error:
            extra["error"] = outcome.error
        (log.warning if outcome.status.value in ("failed", "suspect") else log.info)("checked", extra=extra)
        return outcome.status.value

    def _stop_stale(self, scheduled: str) -> None:
        if not self.stale.seen:
            self.stale.seen = True
            log.error("the scheduler's watchlist changed: this worker stops (its checks go to other workers)",
                      extra={"scheduler": scheduled, "worker": self.watchlist})
            os.kill(os.getpid(), signal.SIGTERM)  # the engine's own graceful stop: running checks finish

    async def run(self, options: queue.WorkerOptions) -> int:
        from tos_watch.fetch import Fetcher
        from tos_watch.pipeline import CPU_THREADS, fetch_settings
        from tos_watch.workers import Comparer

        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=CPU_THREADS))
        self.comparer = comparer = Comparer(1)  # worker processes are the parallelism: compare in a thread
        async with Fetcher(fetch_settings(self.settings), gate=self._gate()) as fetcher:
            self.fetcher = fetcher
            try:
                await queue.run_worker(require_queue(self.settings), self.handle, options)
            finally:
                await comparer.aclose()
        if self.stale.seen:
            raise ConfigError("stopped: the scheduler now runs another watchlist; update this machine's "
                              "configuration and restart the worker", source=str(self.settings.path))
        return 0

    def _gate(self) -> object | None:
        from tos_watch.store.hosts import HostGate

        return HostGate(self.locks.engine, holder=f"{os.uname().nodename}:{os.getpid()}")


def run_worker(settings: Settings, *, concurrency: int, options: queue.WorkerOptions) -> int:
    """`tos-watch worker`: take checks from the queue until SIGTERM; exit 2 on bad configuration."""
    from tos_watch.memory import tune_malloc
    from tos_watch.store import open_store

    require_queue(settings)
    tune_malloc()
    store = open_store(settings.storage)
    try:
        worker = Worker(settings, store, concurrency)
        worker.check_watchlist()
        worker.register_documents()
        return asyncio.run(worker.run(options))
    except sa.exc.OperationalError as exc:
        raise StoreError(f"lost the database: {str(exc).splitlines()[0]}") from exc
    finally:
        store.close()
