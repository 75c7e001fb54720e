"""The daemon: one per data directory, checks on schedule, digests on schedule, clean shutdown.

Single instance: an exclusive fcntl.flock on <data dir>/daemon.lock, held for the
process's life (the kernel drops it if the process dies, so a crash never leaves a
stale lock). `digest --send` takes the same lock, so two processes never send the
same digest. SIGTERM/SIGINT stop new work and let in-flight checks finish for up to
`GRACE_SECONDS`; a second signal, or the grace running out, abandons them. That is
safe because each check is one store transaction: an abandoned check is rolled back
by the database and the document is simply checked again on the next run.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from tos_watch.config import Settings
from tos_watch.errors import ConfigError, StoreError
from tos_watch.memory import release_memory, tune_malloc
from tos_watch.schedules import ScheduleError, parse_schedule

log = logging.getLogger("tos_watch.daemon")

ONE_OFF_WRITERS = ("check", "digest", "reextract", "import history")  # a daemon waits for these to end
GRACE_SECONDS = float(os.environ.get("TOS_WATCH_GRACE_SECONDS", "30"))
ALERT_SECONDS = float(os.environ.get("TOS_WATCH_ALERT_SECONDS", "5"))  # pending alerts go out within this
LOCK_NAME = "daemon.lock"


@contextmanager
def instance_lock(data_dir: Path, purpose: str = "daemon", *,
                  wait_for: tuple[str, ...] = ()) -> Iterator[IO[str]]:
    """Hold the data directory's lock, or fail with one line naming the holder.

    `wait_for`: holders (by purpose, e.g. "check") worth waiting for rather than failing:
    a daemon started during a one-off `tos-watch check` starts when that check is done.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    handle = open(path, "a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            if any(holder.startswith(f"tos-watch {w} ") for w in wait_for):
                log.info(f"waiting for {holder} to finish", extra={"holder": holder})
                fcntl.flock(handle, fcntl.LOCK_EX)
            else:
                raise StoreError(f"{data_dir}: already in use by {holder}; a single daemon runs per data "
                                 "directory (stop it first, or use another storage dir)") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"tos-watch {purpose} (pid {os.getpid()})\n")
        handle.flush()
        yield handle
    finally:
        handle.close()  # closing releases the flock


def lock_holder(data_dir: Path) -> str | None:
    """Who holds the data directory's lock ("tos-watch daemon (pid 12)"), or None when free."""
    path = data_dir / LOCK_NAME
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return handle.read().strip() or "another process"
    return None


def validate_intervals(settings: Settings) -> None:
    """Per-document `interval` strings must parse; one line naming the document if not."""
    for i, doc in enumerate(settings.documents):
        if doc.interval is not None:
            try:
                parse_schedule(doc.interval)
            except ScheduleError as exc:
                raise ConfigError(str(exc), source=str(settings.path),
                                  where=f'documents[{i}] ("{doc.label}")') from exc


def require_documents(settings: Settings) -> None:
    """An empty watchlist is a mistake to say, not a run that checks nothing and exits 0."""
    if not settings.documents:
        raise ConfigError("the watchlist has no [[documents]]: nothing to check; add some with `tos-watch init` "
                          "(a starter watchlist) or `tos-watch import declarations DIR` (Open Terms Archive)",
                          source=str(settings.path) if settings.path else None)


@dataclass
class Runtime:
    """What the scheduled jobs need; set once by `run()` for the life of the process."""

    settings: Settings
    store: Any
    sender: Any
    scheduler: Any = None
    stopping: threading.Event = field(default_factory=threading.Event)
    busy: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    alert_lock: threading.Lock = field(default_factory=threading.Lock)
    doc_locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)

    @contextmanager
    def documents_locked(self, docs: list[Any]) -> Iterator[None]:
        """Hold each document's lock, in one order: a document is never checked twice at once."""
        with self.lock:
            locks = [self.doc_locks.setdefault(d.key, threading.Lock()) for d in sorted(docs, key=lambda d: d.key)]
        for held in locks:
            held.acquire()
        try:
            yield
        finally:
            for held in locks:
                held.release()
    queue: Any = None  # with [queue]: checks are queued for workers (cluster.Enqueuer), not run here

    @contextmanager
    def working(self) -> Iterator[None]:
        with self.lock:
            self.busy += 1
        try:
            yield
        finally:
            with self.lock:
                self.busy -= 1


_runtime: Runtime | None = None


def _rt() -> Runtime:
    if _runtime is None:
        raise RuntimeError("tos_watch.daemon jobs run only inside `tos-watch daemon`")
    return _runtime


# --- jobs: module-level functions with string arguments, so APScheduler can persist them ---


def check_job(service: str, doc_type: str) -> None:
    """Check one document now (the scheduler never runs two checks of one document at once)."""
    from tos_watch.pipeline import run_check

    rt = _rt()
    if rt.stopping.is_set():
        return
    docs = rt.settings.find_documents(service, doc_type)
    if not docs:
        log.warning("document no longer configured; skipped", extra={"service": service, "type": doc_type})
        return
    if rt.queue is not None:
        rt.queue.enqueue(docs)
        return
    started = time.monotonic()
    with rt.working(), rt.documents_locked(docs):
        report = run_check(docs, rt.store, rt.settings)
    release_memory()
    if any(o.status.value == "changed" for o in report.outcomes):
        _alerts(rt)
    for o in report.outcomes:
        extra: dict[str, Any] = {"service": service, "type": doc_type, "status": o.status.value,
                 "seconds": round(time.monotonic() - started, 2)}
        if o.error:
            extra["error"] = o.error
        if o.assessment:
            extra["severity"] = o.assessment.get("severity")
        (log.warning if o.status.value in ("failed", "suspect") else log.info)("checked", extra=extra)


def alert_job() -> None:
    """Every few seconds: run checks asked for by `check --via-daemon`, then send pending alerts."""
    from tos_watch.check_requests import serve_requests

    rt = _rt()
    if rt.stopping.is_set():
        return
    with rt.working():
        serve_requests(rt.store, rt.settings, rt.documents_locked)
    _alerts(rt)


def _alerts(rt: Runtime) -> None:
    """One alert pass; skipped when another is running (it, or the next pass, sends what is due)."""
    from tos_watch.notify.alerts import send_alerts

    if not rt.alert_lock.acquire(blocking=False):
        return
    try:
        with rt.working():
            send_alerts(rt.settings, rt.store, rt.sender)
    finally:
        rt.alert_lock.release()


def digest_job() -> None:
    """The scheduled digest: every subscriber's digest, then a retry for any that failed."""
    _send(only_due_retries=False)


def retry_job() -> None:
    """Retry digests whose backoff has elapsed."""
    _send(only_due_retries=True)


def _send(*, only_due_retries: bool) -> None:
    from tos_watch.notify.deliver import send_digests

    rt = _rt()
    with rt.working(), rt.send_lock:  # the digest and retry jobs must never build the same digest at once
        results = send_digests(rt.settings, rt.store, rt.sender, only_due_retries=only_due_retries)
    retry_at = [r.retry_at for r in results if r.retry_at is not None]
    if retry_at and rt.scheduler is not None:
        from tos_watch.scheduler import schedule_retry
        schedule_retry(rt.scheduler, min(retry_at))


# --- the run loop ----------------------------------------------------------------------------


def run(settings: Settings, *, workers: int = 4) -> int:
    """Run until SIGTERM/SIGINT. Returns the exit status."""
    global _runtime
    from tos_watch import scheduler as glue
    from tos_watch.cluster import scheduling
    from tos_watch.notify.deliver import make_sender, register
    from tos_watch.store import open_store

    validate_intervals(settings)
    require_documents(settings)
    _check_web(settings)
    tune_malloc()
    with instance_lock(settings.storage.dir, wait_for=ONE_OFF_WRITERS), ExitStack() as cluster:
        store = open_store(settings.storage)
        cluster.callback(store.close)
        queue = cluster.enter_context(scheduling(settings, store))  # None without [queue]
        sender = make_sender(settings)
        _runtime = rt = Runtime(settings, store, sender, queue=queue)
        _startup_notes(settings, store, sender)
        sched = glue.make_scheduler(store.engine, settings.schedule.timezone, workers)
        glue.watch_events(sched)
        rt.scheduler = sched
        _install_signals(rt)
        sched.start(paused=True)  # sync first, so a stale job never runs before it is removed
        s = settings.schedule
        glue.sync_jobs(sched, settings.documents, check=s.check, jitter=s.jitter, digest=s.digest,
                       timezone_name=s.timezone)
        _reschedule_retries(register(settings, store, datetime.now(timezone.utc)), sched)
        glue.schedule_alerts(sched, ALERT_SECONDS)
        feed_server = _start_feed(settings, store)
        web_server = _start_web(settings, store)
        sched.resume()
        log.info("daemon started", extra={"pid": os.getpid(), "documents": len(settings.documents),
                                          "subscribers": len(settings.subscribers)})
        rt.stopping.wait()
        if web_server is not None:
            web_server.stop()
        _shutdown(rt, sched, feed_server)
    return 0


def _startup_notes(settings: Settings, store: Any, sender: Any) -> None:
    """Settle digests a crash left mid-send, and say where digests go."""
    from tos_watch.store.delivery import DeliveryLog

    for row in DeliveryLog(store.engine).resolve_interrupted(datetime.now(timezone.utc)):
        log.warning("digest interrupted mid-send by a crash; counted as delivered, not resent",
                    extra={"subscriber": row.subscriber, "message_id": row.message_id,
                           "changes": row.change_count})
    from tos_watch.store.alerts import AlertLog

    for alert in AlertLog(store.engine).resolve_interrupted(datetime.now(timezone.utc)):
        log.warning("alert interrupted mid-send by a crash; counted as sent, not resent",
                    extra={"subscriber": alert["subscriber"], "version": alert["version_id"]})
    log.info("digests go to " + sender.describe(), extra={"via": sender.transport})
    if not settings.subscribers:
        from tos_watch.notify.deliver import LOCAL_RECIPIENT
        log.info(f"no [[subscribers]]: digests are addressed to {LOCAL_RECIPIENT}",
                 extra={"recipient": LOCAL_RECIPIENT})


def _reschedule_retries(journal: Any, sched: Any) -> None:
    from tos_watch.scheduler import schedule_retry

    due = [when for failures, when in journal.retry_state().values() if failures and when is not None]
    if due:
        schedule_retry(sched, max(min(due), datetime.now(timezone.utc)))


def _install_signals(rt: Runtime) -> None:
    def on_signal(signum: int, _frame: Any) -> None:
        if rt.stopping.is_set():
            log.warning("second signal: abandoning in-flight work now", extra={"busy": rt.busy})
            os._exit(1)
        log.info("stopping", extra={"signal": signal.Signals(signum).name, "busy": rt.busy})
        rt.stopping.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)


def _shutdown(rt: Runtime, sched: Any, feed_server: Any) -> None:
    """Stop starting jobs; wait up to the grace period for running ones, then abandon them."""
    sched.shutdown(wait=False)
    if feed_server is not None:
        feed_server.shutdown()
    deadline = time.monotonic() + GRACE_SECONDS
    while rt.busy and time.monotonic() < deadline:
        time.sleep(0.05)  # bounded wait for in-flight checks to commit
    if rt.busy:
        log.warning("grace period over: abandoning in-flight work (rolled back, retried next run)",
                    extra={"busy": rt.busy})
        logging.shutdown()
        os._exit(0)
    log.info("daemon stopped cleanly")


def _start_feed(settings: Settings, store: Any) -> Any:
    if not settings.feed.serve:
        return None
    from tos_watch.notify.feed import serve_feed

    server = serve_feed(settings, store)
    log.info("serving the Atom feed", extra={"url": f"http://{settings.feed.host}:{settings.feed.port}/feed.atom"})
    return server


def _check_web(settings: Settings) -> None:
    """Refuse a public [web] bind without a token before anything starts (one line, exit 2)."""
    if settings.web.enabled:
        from tos_watch.web.serve import bind_token

        bind_token(settings.web, settings.web.host)


def _start_web(settings: Settings, store: Any) -> Any:
    if not settings.web.enabled:
        return None
    from tos_watch.web.serve import start_in_thread

    running = start_in_thread(store, settings.web)
    log.info("serving the web view", extra={"url": running.url})
    return running


# --- structured logs ---------------------------------------------------------------------------

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class KeyValueFormatter(logging.Formatter):
    """`2026-11-24T08:00:00Z INFO checked service="Ring" status=changed`: greppable and readable."""

    def __init__(self, as_json: bool = False) -> None:
        super().__init__()
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        import json

        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        when = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.as_json:
            return json.dumps({"ts": when, "level": record.levelname, "logger": record.name,
                               "event": record.getMessage(), **fields}, default=str)
        pairs = " ".join(f"{k}={json.dumps(v, default=str) if isinstance(v, str) and (' ' in v or not v) else v}"
                         for k, v in fields.items())
        return f"{when} {record.levelname} {record.name}: {record.getMessage()}" + (f" {pairs}" if pairs else "")


def setup_logging(level: str = "INFO", as_json: bool = False) -> None:
    """One handler on stderr for the whole process; APScheduler's own chatter kept to warnings."""
    handler = logging.StreamHandler()
    handler.setFormatter(KeyValueFormatter(as_json))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("procrastinate").setLevel(logging.WARNING)  # the queue's own chatter (cluster workers)
