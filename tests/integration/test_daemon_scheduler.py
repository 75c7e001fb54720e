"""The scheduler glue on a real SQLite job store: schedules persist, change and vanish with the config."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

from tos_watch.models import Document, Source
from tos_watch.scheduler import DIGEST_ID, check_id, make_scheduler, make_trigger, next_runs, sync_jobs
from tos_watch.schedules import parse_schedule

RING = Document("Ring", "Privacy Policy", (Source("https://ring.example/p"),))
NEST = Document("Nest", "Terms", (Source("https://nest.example/t"),), interval="0 6 * * 1")


def boot(engine: sa.Engine, documents: list[Document], check: str = "every 6h") -> dict[str, datetime | None]:
    """Start a scheduler paused (nothing runs), sync the jobs, and stop it: what a daemon start does."""
    sched = make_scheduler(engine, "UTC", 1)
    sched.start(paused=True)
    try:
        sync_jobs(sched, documents, check=check, jitter="10m", digest="daily at 08:00", timezone_name="UTC")
        jobs = {job.id: job for job in sched.get_jobs()}
        for job in jobs.values():  # the guarantees every job carries, persisted with it
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, None)
        return {job_id: job.next_run_time for job_id, job in jobs.items()}
    finally:
        sched.shutdown(wait=False)


def test_schedules_survive_restarts_and_follow_the_config(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    before = datetime.now(timezone.utc)
    first = boot(engine, [RING, NEST])
    assert set(first) == {check_id(RING), check_id(NEST), DIGEST_ID}
    ring_next = first[check_id(RING)]
    assert ring_next is not None and ring_next - before < timedelta(seconds=5)  # new document: checked at once
    nest_next = first[check_id(NEST)]
    assert nest_next is not None and nest_next - before < timedelta(seconds=5)  # its own schedule from then on
    monday = make_trigger(parse_schedule(NEST.interval or ""), "UTC").get_next_fire_time(None, before)
    assert monday is not None and (monday.weekday(), monday.hour) == (0, 6)  # cron "1" is Monday, as in crontab
    digest_next = first[DIGEST_ID]
    assert digest_next is not None and (digest_next.hour, digest_next.minute) == (8, 0)
    assert boot(engine, [RING, NEST]) == first  # a restart keeps every next run time
    assert next_runs(engine) == first  # and `status` reads them without a running scheduler
    changed = boot(engine, [RING], check="every 2h")  # Nest removed, Ring's interval changed
    assert set(changed) == {check_id(RING), DIGEST_ID}
    assert changed[DIGEST_ID] == first[DIGEST_ID]
    ring_changed = changed[check_id(RING)]
    assert ring_changed is not None and ring_changed - datetime.now(timezone.utc) > timedelta(hours=1)
