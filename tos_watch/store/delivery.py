"""Digest delivery bookkeeping: which changes each subscriber has been sent, and every attempt.

The protocol that loses nothing and sends nothing twice:

1. `start()` writes a digest row with status "sending", its Message-ID and the version
   ids it covers, and commits, *before* the message goes to SMTP.
2. After the server accepted it, `sent()` marks the row "sent" and inserts one
   `deliveries` row per (subscriber, version) in the same transaction.
3. If sending fails, `failed()` marks the row "failed" and schedules a retry with
   backoff; no delivery rows are written, so the changes stay pending.
4. A row still "sending" at start-up means we crashed between steps 1 and 2. We cannot
   know whether the server accepted it, so `resolve_interrupted()` settles it
   conservatively as "uncertain": its changes count as delivered (never sent twice) and
   the subscriber's next digest names the uncertain message so nothing is silently lost.
   The window is the few milliseconds between the server's 250 reply and our commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tos_watch.store.schema import metadata, versions

subscriptions = sa.Table(
    "subscriptions", metadata,
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),  # changes before this are not theirs
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),  # consecutive failed sends
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
)

digests = sa.Table(
    "digests", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscriber", sa.String(320), nullable=False, index=True),
    sa.Column("message_id", sa.String(250), nullable=False, unique=True),
    sa.Column("status", sa.String(20), nullable=False),  # sending | sent | failed | uncertain
    sa.Column("transport", sa.String(20), nullable=False),  # smtp | outbox
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("version_ids", sa.JSON, nullable=False),
    sa.Column("change_count", sa.Integer, nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("noted_in", sa.Integer),  # for "uncertain" rows: the digest that told the subscriber
)

deliveries = sa.Table(
    "deliveries", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscriber", sa.String(320), nullable=False),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id"), nullable=False),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("subscriber", "version_id", name="uq_deliveries_subscriber_version"),
)


@dataclass(frozen=True)
class DigestRow:
    """One attempt to deliver a digest, as recorded."""

    id: int
    subscriber: str
    message_id: str
    status: str
    transport: str
    created_at: datetime
    finished_at: datetime | None
    change_count: int
    error: str | None


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _row(r: Any) -> DigestRow:
    return DigestRow(r.id, r.subscriber, r.message_id, r.status, r.transport, _utc(r.created_at) or r.created_at,
                     _utc(r.finished_at), r.change_count, r.error)


class DeliveryLog:
    """The delivery tables, over the store's engine. Every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def register(self, emails: list[str], now: datetime, backlog: timedelta) -> None:
        """Remember subscribers on first sight; a new one receives changes from `backlog` ago on."""
        with self.engine.begin() as c:
            known = set(c.execute(sa.select(subscriptions.c.email)).scalars())
            for email in emails:
                if email not in known:
                    c.execute(subscriptions.insert().values(email=email, since=now - backlog, failures=0))

    def since(self, email: str) -> datetime | None:
        with self.engine.connect() as c:
            return _utc(c.execute(sa.select(subscriptions.c.since).where(subscriptions.c.email == email)).scalar())

    def delivered(self, email: str) -> set[int]:
        """Version ids already delivered to (or settled for) a subscriber."""
        with self.engine.connect() as c:
            return set(c.execute(sa.select(deliveries.c.version_id)
                                 .where(deliveries.c.subscriber == email)).scalars())

    def start(self, email: str, message_id: str, version_ids: list[int], transport: str, now: datetime) -> int:
        """Step 1: record the attempt before the message leaves; committed on return."""
        with self.engine.begin() as c:
            result = c.execute(digests.insert().values(
                subscriber=email, message_id=message_id, status="sending", transport=transport,
                created_at=now, version_ids=sorted(version_ids), change_count=len(version_ids)))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def sent(self, digest_id: int, now: datetime, noted: tuple[int, ...] = ()) -> None:
        """Step 2: the server accepted it; mark sent and record deliveries, atomically."""
        with self.engine.begin() as c:
            row = c.execute(sa.select(digests).where(digests.c.id == digest_id)).one()
            c.execute(digests.update().where(digests.c.id == digest_id).values(status="sent", finished_at=now))
            self._deliver(c, row.subscriber, row.version_ids, digest_id, now)
            if noted:
                c.execute(digests.update().where(digests.c.id.in_(list(noted))).values(noted_in=digest_id))
            c.execute(subscriptions.update().where(subscriptions.c.email == row.subscriber)
                      .values(failures=0, next_attempt_at=None))

    @staticmethod
    def _deliver(c: Connection, email: str, version_ids: list[int], digest_id: int, now: datetime) -> None:
        done = set(c.execute(sa.select(deliveries.c.version_id).where(
            deliveries.c.subscriber == email, deliveries.c.version_id.in_(version_ids))).scalars())
        existing = set(c.execute(sa.select(versions.c.id).where(versions.c.id.in_(version_ids))).scalars())
        rows = [{"subscriber": email, "version_id": v, "digest_id": digest_id, "delivered_at": now}
                for v in version_ids if v not in done and v in existing]
        if rows:
            c.execute(deliveries.insert(), rows)

    def failed(self, digest_id: int, error: str, now: datetime, base: float, cap: float) -> datetime:
        """Step 3: not accepted; the changes stay pending. Returns when to try again (exponential)."""
        with self.engine.begin() as c:
            row = c.execute(sa.select(digests).where(digests.c.id == digest_id)).one()
            c.execute(digests.update().where(digests.c.id == digest_id)
                      .values(status="failed", finished_at=now, error=error[:2000]))
            failures = (c.execute(sa.select(subscriptions.c.failures)
                                  .where(subscriptions.c.email == row.subscriber)).scalar() or 0) + 1
            retry_at = now + timedelta(seconds=min(cap, base * 2 ** (failures - 1)))
            c.execute(subscriptions.update().where(subscriptions.c.email == row.subscriber)
                      .values(failures=failures, next_attempt_at=retry_at))
            return retry_at

    def resolve_interrupted(self, now: datetime) -> list[DigestRow]:
        """Step 4: settle rows left "sending" by a crash as "uncertain" (delivered, never resent)."""
        with self.engine.begin() as c:
            rows = c.execute(sa.select(digests).where(digests.c.status == "sending")).all()
            for r in rows:
                c.execute(digests.update().where(digests.c.id == r.id).values(
                    status="uncertain", finished_at=now,
                    error="interrupted after the message was handed to the server; not resent"))
                self._deliver(c, r.subscriber, r.version_ids, r.id, now)
        return [_row(r) for r in rows]

    def uncertain(self, email: str) -> list[DigestRow]:
        """Uncertain digests the subscriber has not yet been told about."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(digests).where(digests.c.subscriber == email,
                                                      digests.c.status == "uncertain",
                                                      digests.c.noted_in.is_(None))).all()
        return [_row(r) for r in rows]

    def retry_state(self) -> dict[str, tuple[int, datetime | None]]:
        """Per subscriber: consecutive failures and when the next attempt is due."""
        with self.engine.connect() as c:
            return {r.email: (r.failures, _utc(r.next_attempt_at)) for r in c.execute(sa.select(subscriptions))}

    def last_digests(self) -> list[DigestRow]:
        """The newest digest attempt of each subscriber, for `tos-watch status`."""
        latest = sa.select(sa.func.max(digests.c.id)).group_by(digests.c.subscriber).scalar_subquery()
        with self.engine.connect() as c:
            rows = c.execute(sa.select(digests).where(digests.c.id.in_(latest))
                             .order_by(digests.c.subscriber)).all()
        return [_row(r) for r in rows]

    def history(self, email: str | None = None) -> list[DigestRow]:
        """Every digest attempt, oldest first."""
        query = sa.select(digests).order_by(digests.c.id)
        if email is not None:
            query = query.where(digests.c.subscriber == email)
        with self.engine.connect() as c:
            return [_row(r) for r in c.execute(query)]
