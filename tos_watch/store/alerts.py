"""Alert bookkeeping: which change went to which subscriber's channel, and each channel's health.

The same protocol as the digest's (store/delivery.py), per (subscriber, channel, version):

1. `start()` writes the alert row "sending" and commits *before* the channel is called.
2. After the channel accepted it, `sent()` marks it "sent" and clears the channel's failures.
3. If the channel refused or was unreachable, `failed()` marks it "failed" and puts the whole
   channel on exponential backoff (other channels are untouched, so nothing they accepted
   is resent); a later pass turns the row back to "sending" and tries again.
4. A row still "sending" at start-up means a crash between the channel's acceptance and
   step 2 (or during the call). `resolve_interrupted()` settles it as "uncertain": counted
   as alerted, never resent. A duplicate alert is worse than one that may be missing, and
   the change is still listed in the digest, so nothing is lost for good.

Only the holder of the data directory's lock (the daemon, or `check` run on its own)
sends, so two processes never call the same channel for the same change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tos_watch.store.schema import metadata

alert_targets = sa.Table(
    "alert_targets", metadata,
    sa.Column("subscriber", sa.String(320), primary_key=True),
    sa.Column("channel", sa.String(64), primary_key=True),  # a hash of the URL as configured
    sa.Column("display", sa.String(500), nullable=False),  # the URL with secrets masked
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),  # changes before this are not alerted
    sa.Column("failures", sa.Integer, nullable=False, server_default="0"),  # consecutive failed sends
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("last_ok_at", sa.DateTime(timezone=True)),
)

alerts = sa.Table(
    "alerts", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("subscriber", sa.String(320), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # sending | sent | failed | uncertain
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("detail", sa.Text),
    sa.UniqueConstraint("subscriber", "channel", "version_id", name="uq_alerts_subscriber_channel_version"),
)

DONE = ("sent", "uncertain")


@dataclass(frozen=True)
class ChannelState:
    """One subscriber channel's health, for `status`, the digest and the retry timer."""

    subscriber: str
    channel: str
    display: str
    since: datetime
    failures: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_ok_at: datetime | None


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


class AlertLog:
    """The alert tables, over the store's engine. Every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def register(self, targets: list[tuple[str, str, str]], now: datetime, backlog: timedelta) -> None:
        """Remember (subscriber, channel, display) on first sight: alerts start `backlog` before now."""
        with self.engine.begin() as c:
            known = {(r.subscriber, r.channel): r.display for r in c.execute(sa.select(alert_targets))}
            for sub, channel, display in targets:
                if (sub, channel) not in known:
                    c.execute(alert_targets.insert().values(subscriber=sub, channel=channel, display=display,
                                                            since=now - backlog, failures=0))
                elif known[(sub, channel)] != display:
                    c.execute(alert_targets.update().where(alert_targets.c.subscriber == sub,
                                                           alert_targets.c.channel == channel)
                              .values(display=display))

    def channels(self) -> dict[tuple[str, str], ChannelState]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(alert_targets).order_by(alert_targets.c.subscriber,
                                                               alert_targets.c.channel)).all()
        return {(r.subscriber, r.channel): ChannelState(
            r.subscriber, r.channel, r.display, _utc(r.since) or r.since, r.failures, _utc(r.next_attempt_at),
            r.last_error, _utc(r.last_ok_at)) for r in rows}

    def done(self, subscriber: str, channel: str) -> set[int]:
        """Version ids this channel has accepted (or that a crash settled as uncertain)."""
        with self.engine.connect() as c:
            return set(c.execute(sa.select(alerts.c.version_id).where(
                alerts.c.subscriber == subscriber, alerts.c.channel == channel,
                alerts.c.status.in_(DONE))).scalars())

    def alerted(self, subscriber: str) -> set[int]:
        """Version ids at least one of the subscriber's channels accepted: the digest marks them."""
        with self.engine.connect() as c:
            return set(c.execute(sa.select(alerts.c.version_id).where(
                alerts.c.subscriber == subscriber, alerts.c.status.in_(DONE))).scalars())

    def start(self, subscriber: str, channel: str, version_id: int, now: datetime) -> int:
        """Step 1: the row says "sending" before the channel is called; committed on return."""
        where = (alerts.c.subscriber == subscriber, alerts.c.channel == channel, alerts.c.version_id == version_id)
        with self.engine.begin() as c:
            row = c.execute(sa.select(alerts.c.id, alerts.c.attempts).where(*where)).first()
            if row is None:
                result = c.execute(alerts.insert().values(subscriber=subscriber, channel=channel,
                                                          version_id=version_id, status="sending", attempts=1,
                                                          created_at=now))
                return int(result.inserted_primary_key[0])  # type: ignore[index]
            c.execute(alerts.update().where(alerts.c.id == row.id).values(status="sending",
                                                                          attempts=row.attempts + 1))
            return int(row.id)

    def sent(self, alert_id: int, now: datetime, detail: str) -> None:
        """Step 2: accepted; the channel is healthy again."""
        with self.engine.begin() as c:
            row = c.execute(sa.select(alerts).where(alerts.c.id == alert_id)).one()
            c.execute(alerts.update().where(alerts.c.id == alert_id)
                      .values(status="sent", finished_at=now, detail=detail[:2000]))
            c.execute(alert_targets.update().where(alert_targets.c.subscriber == row.subscriber,
                                                   alert_targets.c.channel == row.channel)
                      .values(failures=0, next_attempt_at=None, last_error=None, last_ok_at=now))

    def failed(self, alert_id: int, error: str, now: datetime, base: float, cap: float) -> datetime:
        """Step 3: not accepted; the change stays pending and the channel waits (exponential backoff)."""
        with self.engine.begin() as c:
            row = c.execute(sa.select(alerts).where(alerts.c.id == alert_id)).one()
            c.execute(alerts.update().where(alerts.c.id == alert_id)
                      .values(status="failed", finished_at=now, detail=error[:2000]))
            target = (alert_targets.c.subscriber == row.subscriber, alert_targets.c.channel == row.channel)
            failures = (c.execute(sa.select(alert_targets.c.failures).where(*target)).scalar() or 0) + 1
            retry_at = now + timedelta(seconds=min(cap, base * 2 ** (failures - 1)))
            c.execute(alert_targets.update().where(*target).values(
                failures=failures, next_attempt_at=retry_at, last_error=error[:2000]))
            return retry_at

    def resolve_interrupted(self, now: datetime) -> list[dict[str, Any]]:
        """Step 4: rows left "sending" by a crash become "uncertain": counted as alerted, not resent."""
        with self.engine.begin() as c:
            rows = [dict(r._mapping) for r in c.execute(sa.select(alerts).where(alerts.c.status == "sending"))]
            if rows:
                c.execute(alerts.update().where(alerts.c.id.in_([r["id"] for r in rows])).values(
                    status="uncertain", finished_at=now,
                    detail="interrupted while the channel was being called; not resent"))
        return rows

    def history(self) -> list[dict[str, Any]]:
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(sa.select(alerts).order_by(alerts.c.id))]
