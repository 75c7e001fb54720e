"""APScheduler glue, and the only module that imports APScheduler.

Jobs live in a SQLAlchemyJobStore in the store's own database, so schedules survive
restarts. Each job names an importable function by text ("tos_watch.daemon:check_job")
with plain string arguments, so it can be pickled and reloaded by a new process.
Job defaults give the guarantees the daemon promises: one run of a job at a time
(max_instances=1: a document is never checked twice at once), runs missed during
downtime coalesced into one (coalesce=True), and late runs always run
(misfire_grace_time=None) rather than being silently dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from tos_watch.models import Document
from tos_watch.schedules import TriggerSpec, parse_duration, parse_schedule

log = logging.getLogger("tos_watch.scheduler")

JOBS_TABLE = "apscheduler_jobs"
CHECK_JOB = "tos_watch.daemon:check_job"
DIGEST_JOB = "tos_watch.daemon:digest_job"
RETRY_JOB = "tos_watch.daemon:retry_job"
DIGEST_ID = "digest"
RETRY_ID = "digest-retry"
ALERT_JOB = "tos_watch.daemon:alert_job"
ALERT_ID = "alerts"


def check_id(doc: Document) -> str:
    return f"check:{doc.service}|{doc.type}"


def make_trigger(spec: TriggerSpec, timezone_name: str, jitter: float = 0.0) -> BaseTrigger:
    """A TriggerSpec (pure, from schedules.py) as an APScheduler trigger."""
    j = int(jitter) or None
    if spec.kind == "interval":
        return IntervalTrigger(seconds=spec.seconds, timezone=timezone_name, jitter=j)
    return CronTrigger(timezone=timezone_name, jitter=j, **spec.cron)


class _Scheduler(BackgroundScheduler):
    """APScheduler 3 makes one more pass over due jobs after shutdown(); submitting them fails
    and their next run is advanced, so a job due at that instant would be skipped for a whole
    period. Skipping that last pass leaves it due, and it runs after the restart."""

    def _process_jobs(self) -> float | None:
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()  # type: ignore[no-any-return]


def make_scheduler(engine: Any, timezone_name: str, workers: int) -> BackgroundScheduler:
    """A scheduler whose jobs persist in the store's database."""
    return _Scheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=max(1, workers))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=timezone_name)


def watch_events(scheduler: BackgroundScheduler) -> None:
    """Log what APScheduler would otherwise only print: crashed jobs, overlaps refused, misses."""
    def on_event(event: JobEvent) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error("job crashed", extra={"job": event.job_id, "error": repr(getattr(event, "exception", None))})
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("previous run still going; this run skipped", extra={"job": event.job_id})
        else:
            log.warning("job run missed", extra={"job": event.job_id})
    scheduler.add_listener(on_event, EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)


def sync_jobs(scheduler: BackgroundScheduler, documents: Iterable[Document], *, check: str, jitter: str,
              digest: str, timezone_name: str, now: datetime | None = None) -> dict[str, str]:
    """Make the persisted jobs match the configuration, keeping the next run of unchanged ones.

    New documents are checked at once; a changed schedule takes effect from its next run;
    documents gone from the watchlist lose their job. Returns {job id: schedule text}.
    """
    now = now or datetime.now(timezone.utc)
    jitter_s = parse_duration(jitter)
    wanted: dict[str, tuple[str, BaseTrigger, list[str], str]] = {}
    for doc in documents:
        text = doc.interval or check
        wanted[check_id(doc)] = (f"check {doc.label} ({text}, jitter {jitter})",
                                 make_trigger(parse_schedule(text), timezone_name, jitter_s),
                                 [doc.service, doc.type], CHECK_JOB)
    wanted[DIGEST_ID] = (f"digest ({digest}, {timezone_name})",
                         make_trigger(parse_schedule(digest), timezone_name), [], DIGEST_JOB)
    existing = {job.id: job for job in scheduler.get_jobs()}
    for job_id in existing:
        if job_id not in wanted and job_id not in (RETRY_ID, ALERT_ID):
            log.info("job removed (no longer configured)", extra={"job": job_id})
            scheduler.remove_job(job_id)
    for job_id, (name, trigger, args, func) in wanted.items():
        old = existing.get(job_id)
        if old is not None and old.name == name:
            continue  # unchanged: keep its persisted next run time
        first = now if old is None and func == CHECK_JOB else None
        scheduler.add_job(func, trigger=trigger, args=args, id=job_id, name=name, replace_existing=True,
                          **({"next_run_time": first} if first else {}))
        log.info("job scheduled", extra={"job": job_id, "schedule": name})
    return {job_id: spec[0] for job_id, spec in wanted.items()}


def schedule_retry(scheduler: BackgroundScheduler, when: datetime) -> None:
    """One persistent one-shot job that retries failed digests when the earliest is due."""
    current = scheduler.get_job(RETRY_ID)
    if current is not None and current.next_run_time is not None and current.next_run_time <= when:
        return
    scheduler.add_job(RETRY_JOB, trigger=DateTrigger(run_date=when), id=RETRY_ID, name="digest retry",
                      replace_existing=True)
    log.info("digest retry scheduled", extra={"at": when.isoformat()})


def schedule_alerts(scheduler: BackgroundScheduler, seconds: float) -> None:
    """The alert pass every few seconds: pending and retried alerts, and `check --via-daemon` requests."""
    scheduler.add_job(ALERT_JOB, trigger=IntervalTrigger(seconds=seconds), id=ALERT_ID, name="alerts",
                      replace_existing=True, next_run_time=datetime.now(timezone.utc))


def next_runs(engine: Any) -> dict[str, datetime | None]:
    """Persisted jobs' next run times, read without starting a scheduler (for `tos-watch status`)."""
    store = SQLAlchemyJobStore(engine=engine, tablename=JOBS_TABLE)
    store.start(None, "default")  # type: ignore[arg-type]  # creates the table if missing; reads only
    try:
        return {job.id: job.next_run_time for job in store.get_all_jobs()}
    except LookupError:  # a job naming a function that no longer exists
        return {}
