"""`tos-watch check --via-daemon`: the command asks, the running daemon checks, the command reads the result.

One writer per store: while a daemon holds the data directory's lock, a `check` of its own
would race the daemon's checks on the same new version, so it refuses and points here.
The request is a row in `check_requests` (the store the daemon already reads, so it works
wherever the store is, SQLite or PostgreSQL); the daemon's alert pass, every few seconds,
runs the check under its per-document locks, writes a summary and sends the alerts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from tos_watch.config import Settings
from tos_watch.errors import StoreError
from tos_watch.models import Document
from tos_watch.store.schema import metadata

log = logging.getLogger("tos_watch.daemon")

check_requests = sa.Table(
    "check_requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("services", sa.JSON),  # None: every document
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("done_at", sa.DateTime(timezone=True)),
    sa.Column("result", sa.JSON),
)


def ask(engine: Any, services: list[str] | None) -> int:
    with engine.begin() as c:
        result = c.execute(check_requests.insert().values(services=services, requested_at=datetime.now(timezone.utc)))
        return int(result.inserted_primary_key[0])


def wait(engine: Any, request_id: int, timeout: float, alive: Callable[[], bool]) -> list[dict[str, Any]]:
    """The daemon's outcomes for the request; StoreError if the daemon stops or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as c:
            row = c.execute(sa.select(check_requests).where(check_requests.c.id == request_id)).one()
        if row.done_at is not None:
            return list((row.result or {}).get("outcomes") or [])
        if not alive():
            raise StoreError("the daemon stopped before running the check; run `tos-watch check` now")
        if time.monotonic() > deadline:
            raise StoreError(f"the daemon has not run the check after {timeout:.0f}s (busy?); "
                             "it stays queued and runs on the daemon's next pass")
        time.sleep(0.2)  # polling the store for the daemon's answer


def serve_requests(store: Any, settings: Settings,
                   locked: Callable[[list[Document]], AbstractContextManager[None]]) -> None:
    """Run every pending request (in the daemon), recording each document's outcome."""
    from tos_watch.pipeline import run_check

    with store.engine.connect() as c:
        pending = c.execute(sa.select(check_requests).where(check_requests.c.done_at.is_(None))
                            .order_by(check_requests.c.id)).all()
    for row in pending:
        wanted = {s.casefold() for s in row.services or ()}
        docs = [d for d in settings.documents if not wanted or d.service.casefold() in wanted]
        log.info("check asked for by `tos-watch check --via-daemon`", extra={"documents": len(docs)})
        with locked(docs):
            report = run_check(docs, store, settings)
        outcomes = [{"service": o.document.service, "type": o.document.type, "status": o.status.value,
                     "error": o.error} for o in report.outcomes]
        with store.engine.begin() as c:
            c.execute(check_requests.update().where(check_requests.c.id == row.id).values(
                done_at=datetime.now(timezone.utc), result={"outcomes": outcomes}))
