"""Send each subscriber their digest, recording it so nothing is lost and nothing is sent twice.

See store/delivery.py for the protocol (row "sending" before SMTP, "sent" plus
delivery rows after acceptance, "failed" keeps changes pending, a crash leaves
"sending" which start-up settles as "uncertain"). Callers must hold the daemon
lock (daemon.py), so two processes never send the same digest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tos_watch.config import Settings, Subscriber
from tos_watch.notify.digest import Digest, build_digest, pending
from tos_watch.notify.render import build_message, new_message_id, render_capped
from tos_watch.notify.send import OutboxSender, Sender, SendError, SmtpSender
from tos_watch.schedules import parse_duration
from tos_watch.store.delivery import DeliveryLog

log = logging.getLogger("tos_watch.digest")


@dataclass(frozen=True)
class DigestResult:
    """What happened to one subscriber's digest."""

    subscriber: str
    status: str  # sent | empty | failed | waiting
    changes: int = 0
    message_id: str | None = None
    detail: str = ""
    retry_at: datetime | None = None


def make_sender(settings: Settings) -> Sender:
    """SMTP when [smtp] is configured, else the local outbox folder (said so in the log)."""
    if settings.smtp is not None:
        return SmtpSender(settings.smtp)
    return OutboxSender(settings.outbox)


LOCAL_RECIPIENT = "tos-watch@localhost"


def recipients(settings: Settings) -> tuple[Subscriber, ...]:
    """The subscribers with an e-mail address; with neither subscribers nor SMTP, one local reader of the outbox."""
    if settings.subscribers or settings.smtp is not None:
        return tuple(s for s in settings.subscribers if s.email)  # alert-only subscribers get no digest
    return (Subscriber(email=LOCAL_RECIPIENT),)


def prepare(settings: Settings, store: Any, sub: Subscriber, now: datetime,
            journal: DeliveryLog | None = None) -> tuple[Digest, str, str]:
    """The subscriber's next digest, rendered within the size budget (nothing is recorded)."""
    journal = journal or DeliveryLog(store.engine)
    since = journal.since(sub.key) or now - timedelta(seconds=parse_duration(settings.digest.backlog))
    changes = pending(sub, store.changes_since(since), journal.delivered(sub.key), since)
    states = store.document_states()
    uncertain = tuple(r.message_id for r in journal.uncertain(sub.key))
    alerted, failing = alert_state(store, sub.key)
    return render_capped(lambda n: build_digest(sub, changes, states, now, max_changes=n, uncertain=uncertain,
                                                alerted=alerted, channel_problems=failing),
                         settings.digest.max_changes)


def alert_state(store: Any, subscriber: str) -> tuple[frozenset[int], tuple[str, ...]]:
    """Changes already alerted to the subscriber, and their alert channels that keep failing."""
    from tos_watch.notify.alerts import failing_channels
    from tos_watch.store.alerts import AlertLog

    failing = tuple(f"alert channel {c.display}: {c.failures} failures in a row"
                    + (f", last: {c.last_error[:200]}" if c.last_error else "")
                    for c in failing_channels(store, subscriber))
    return frozenset(AlertLog(store.engine).alerted(subscriber)), failing


def register(settings: Settings, store: Any, now: datetime) -> DeliveryLog:
    journal = DeliveryLog(store.engine)
    journal.register([s.key for s in recipients(settings)], now,
                     timedelta(seconds=parse_duration(settings.digest.backlog)))
    return journal


def send_digests(settings: Settings, store: Any, sender: Sender, *, now: datetime | None = None,
                 only_due_retries: bool = False) -> list[DigestResult]:
    """One digest per subscriber; `only_due_retries` limits it to those whose retry time has come."""
    now = now or datetime.now(timezone.utc)
    journal = register(settings, store, now)
    retry = journal.retry_state()
    results = []
    for sub in recipients(settings):
        failures, due = retry.get(sub.key, (0, None))
        if only_due_retries and not (failures and due is not None and due <= now):
            continue
        results.append(send_one(settings, store, sender, sub, now, journal))
    return results


def send_one(settings: Settings, store: Any, sender: Sender, sub: Subscriber, now: datetime,
             journal: DeliveryLog) -> DigestResult:
    """Build, record, hand over and settle one subscriber's digest."""
    digest, html, text = prepare(settings, store, sub, now, journal)
    if digest.empty and not settings.digest.send_empty:
        log.info("digest empty, not sent", extra={"subscriber": sub.key, "cosmetic": digest.cosmetic_count})
        return DigestResult(sub.key, "empty")
    sender_address = settings.smtp.sender if settings.smtp else "tos_watch <tos-watch@localhost>"
    message_id = new_message_id()
    msg = build_message(digest, html, text, sender=sender_address, message_id=message_id)
    digest_id = journal.start(sub.key, message_id, list(digest.version_ids), sender.transport, now)
    try:
        detail = sender.send(msg)
    except SendError as exc:
        retry_at = journal.failed(digest_id, str(exc), datetime.now(timezone.utc),
                                  parse_duration(settings.digest.retry), parse_duration(settings.digest.retry_max))
        log.warning("digest not delivered; changes stay pending", extra={
            "subscriber": sub.key, "error": str(exc), "retry_at": retry_at.isoformat(),
            "changes": len(digest.version_ids)})
        return DigestResult(sub.key, "failed", len(digest.version_ids), message_id, str(exc), retry_at)
    noted = tuple(r.id for r in journal.uncertain(sub.key) if r.message_id in digest.uncertain)
    journal.sent(digest_id, datetime.now(timezone.utc), noted)
    log.info("digest delivered", extra={"subscriber": sub.key, "message_id": message_id,
                                        "changes": len(digest.version_ids), "listed": digest.listed,
                                        "via": detail})
    return DigestResult(sub.key, "sent", len(digest.version_ids), message_id, detail)
