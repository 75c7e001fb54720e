"""Immediate alerts: one short message per change, per subscriber channel, recorded so none is sent twice.

A change is alerted to a subscriber when it was recorded by a fetch, is not cosmetic, passes
their digest filters (services, categories, min_severity) and is at or above their `alert`
level. See store/alerts.py for the protocol (row "sending" before the channel is called,
"sent" after it accepted, backoff per channel on failure, "uncertain" after a crash).
Callers hold the data directory's lock (daemon.instance_lock), so one process sends.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import quote

from jinja2 import Environment

from tos_watch.config import SEVERITIES, Settings, Subscriber
from tos_watch.notify.channels import Channel, Message, alerting, channels_of, deliver, keys
from tos_watch.notify.digest import ChangeView, ClauseView, change_view, matches, rank
from tos_watch.notify.render import one_line
from tos_watch.notify.send import Sender, SendError
from tos_watch.schedules import parse_duration
from tos_watch.store.alerts import AlertLog, ChannelState

log = logging.getLogger("tos_watch.alerts")

BACKLOG = timedelta(hours=1)  # a channel seen for the first time gets changes recorded this recently
FAILING_AFTER = 3  # consecutive failures after which a channel is reported as a problem
# An alert not delivered within this is no longer immediate: it is dropped (the digest still lists the
# change), which also bounds what each pass, every few seconds, reads.
WINDOW = timedelta(days=2)


@dataclass(frozen=True)
class AlertResult:
    subscriber: str
    channel: str  # its masked display
    version_id: int | None
    status: str  # sent | failed
    detail: str = ""
    retry_at: datetime | None = None


def wants_alert(sub: Subscriber, change: Any) -> bool:
    """Fetched, substantive, through the subscriber's filters and at or above their alert level."""
    a = change.version.assessment or {}
    if sub.alert is None or change.version.origin != "fetch" or a.get("cosmetic") or not matches(sub, change):
        return False
    severity = a.get("severity") if a.get("severity") in SEVERITIES else "low"  # as the digest counts it
    return rank(str(severity)) >= rank(sub.alert)


def permalink(settings: Settings, view: ChangeView) -> str | None:
    """The web view's page for the change, when [web] base_url says where the web view is."""
    base = settings.web.base_url
    if not base:
        return None
    return f"{base}/services/{quote(view.service, safe='')}/{quote(view.doc_type, safe='')}/changes/{view.version_id}"


def flagged_clause(view: ChangeView) -> ClauseView | None:
    """The clause that made the change matter: the most severe, the first among equals."""
    if not view.clauses:
        return None
    return max(view.clauses, key=lambda c: rank(c.severity) if c.severity in SEVERITIES else 0)


def _marked(clause: ClauseView) -> str:
    parts = []
    for seg in clause.segments:
        text = seg.text.strip()
        if seg.kind == "added":
            parts.append(f"{{+{text}+}}")
        elif seg.kind == "removed":
            parts.append(f"[-{text}-]")
        elif text:
            parts.append(text)
    return " ".join(parts)


def alert_text(view: ChangeView, link: str | None) -> tuple[str, str]:
    """(title, body) in plain text: page words never become markup here, and links are ours only."""
    title = one_line(f"tos-watch: {view.severity} change in {view.service} / {view.doc_type}")
    cats = "; ".join(f"{c.replace('_', ' ')} {d}" for c, d in view.categories.items()) or "no watched category"
    lines = [f"{view.service} / {view.doc_type}: {view.summary}",
             f"Severity: {view.severity}. Categories: {cats}.",
             f"Recorded {view.recorded_at:%Y-%m-%d %H:%M} UTC (version {view.version_id})."]
    clause = flagged_clause(view)
    if clause is not None:
        lines += ["", (f"[{clause.section}] " if clause.section else "") + _marked(clause),
                  "Marks: [-removed-] {+added+}"]
    lines += ["", f"Diff: {link}" if link else
              f'Diff: tos-watch diff "{view.service}" "{view.doc_type}"  (page: {view.url})']
    return title, "\n".join(lines)


_html = Environment(autoescape=True).from_string(
    "<p><strong>{{ v.service }} / {{ v.doc_type }}</strong>: {{ v.summary }}</p>"
    "<p>Severity: <strong>{{ v.severity }}</strong>. Categories: "
    "{% for c, d in v.categories.items() %}{{ c | replace('_', ' ') }} {{ d }}{{ '; ' if not loop.last }}"
    "{% else %}no watched category{% endfor %}.</p>"
    "{% if cl %}<p>{% if cl.section %}<em>{{ cl.section }}</em>: {% endif %}{% for s in cl.segments %}"
    "{% if s.kind == 'added' %}<ins>{{ s.text }}</ins>{% elif s.kind == 'removed' %}<del>{{ s.text }}</del>"
    "{% else %}{{ s.text }}{% endif %}{% endfor %}</p>{% endif %}"
    "<p>{% if link %}<a href=\"{{ link }}\">See the diff</a>{% else %}"
    "<code>tos-watch diff \"{{ v.service }}\" \"{{ v.doc_type }}\"</code>{% endif %}</p>")


def build_alert(settings: Settings, view: ChangeView, to: str | None) -> Message:
    """The alert for one change: text for Apprise channels, a multipart e-mail for the address."""
    link = permalink(settings, view)
    title, text = alert_text(view, link)
    email = None
    if to is not None:
        email = EmailMessage()
        email["From"] = one_line(settings.smtp.sender if settings.smtp else "tos_watch <tos-watch@localhost>")
        email["To"] = one_line(to)
        email["Subject"] = title
        email["Date"] = formatdate(localtime=False)
        email["Message-ID"] = make_msgid(idstring="alert", domain="tos-watch.local")
        email["X-Tos-Watch-Alert"] = str(view.version_id)
        email.set_content(text, subtype="plain", charset="utf-8")
        email.add_alternative(_html.render(v=view, cl=flagged_clause(view), link=link), subtype="html",
                              charset="utf-8")
    return Message(title, text, email)


def send_alerts(settings: Settings, store: Any, sender: Sender | None, *,
                now: datetime | None = None) -> list[AlertResult]:
    """Send every due alert on every channel whose backoff has elapsed; returns what happened."""
    subs = alerting(settings)
    if not subs:
        return []
    now = now or datetime.now(timezone.utc)
    journal = AlertLog(store.engine)
    channels = {sub.key: channels_of(sub) for sub in subs}
    journal.register([k for chans in channels.values() for k in keys(chans)], now, BACKLOG)
    states = journal.channels()
    since = min(states[(c.subscriber, c.key)].since for chans in channels.values() for c in chans)
    changes = store.changes_since(max(since, now - WINDOW))
    results: list[AlertResult] = []
    for sub in subs:
        wanted = [ch for ch in changes if wants_alert(sub, ch)]
        for channel in channels[sub.key]:
            state = states[(sub.key, channel.key)]
            if state.next_attempt_at is not None and state.next_attempt_at > now:
                continue  # backing off; its changes wait, pending
            results += _send_channel(settings, journal, sender, sub, channel, state, wanted)
    return results


def _send_channel(settings: Settings, journal: AlertLog, sender: Sender | None, sub: Subscriber,
                  channel: Channel, state: ChannelState, wanted: list[Any]) -> list[AlertResult]:
    done = journal.done(sub.key, channel.key)
    results = []
    for change in wanted:
        if change.version.id in done or change.version.recorded_at <= state.since:
            continue
        result = send_one(settings, journal, sender, channel, change_view(change))
        results.append(result)
        if result.status == "failed":
            break  # the channel is down: the rest wait for its retry, in order
    return results


def send_one(settings: Settings, journal: AlertLog, sender: Sender | None, channel: Channel,
             view: ChangeView) -> AlertResult:
    """Record, hand over and settle one alert on one channel."""
    message = build_alert(settings, view, channel.email)
    alert_id = journal.start(channel.subscriber, channel.key, view.version_id, datetime.now(timezone.utc))
    try:
        detail = deliver(channel, message, sender)
    except SendError as exc:
        error = channel.mask(str(exc))
        retry_at = journal.failed(alert_id, error, datetime.now(timezone.utc), parse_duration(settings.digest.retry),
                                  parse_duration(settings.digest.retry_max))
        log.warning("alert not delivered; will retry", extra={
            "subscriber": channel.subscriber, "channel": channel.display, "version": view.version_id,
            "error": error, "retry_at": retry_at.isoformat()})
        return AlertResult(channel.subscriber, channel.display, view.version_id, "failed", error, retry_at)
    detail = channel.mask(detail)
    journal.sent(alert_id, datetime.now(timezone.utc), detail)
    log.info("alert delivered", extra={"subscriber": channel.subscriber, "channel": channel.display,
                                       "version": view.version_id, "severity": view.severity})
    return AlertResult(channel.subscriber, channel.display, view.version_id, "sent", detail)


def failing_channels(store: Any, subscriber: str | None = None) -> list[ChannelState]:
    """Channels that failed FAILING_AFTER times in a row: `status` and the digest report them."""
    return [s for s in AlertLog(store.engine).channels().values()
            if s.failures >= FAILING_AFTER and (subscriber is None or s.subscriber == subscriber)]


def next_retry(store: Any) -> datetime | None:
    due = [s.next_attempt_at for s in AlertLog(store.engine).channels().values() if s.next_attempt_at]
    return min(due) if due else None


def send_test(settings: Settings, sub: Subscriber, sender: Sender | None) -> list[tuple[Channel, str | None]]:
    """A test message on each of the subscriber's channels: (channel, None) if accepted, else the error."""
    title = "tos-watch: test alert"
    level = sub.alert or 'none (alerts are off: set alert = "high")'
    text = (f"A test message from tos-watch for {sub.key}: this channel works. Alerts come here for changes "
            f"at or above {level} severity.")
    out: list[tuple[Channel, str | None]] = []
    for channel in channels_of(sub):
        email = None
        if channel.email:
            email = EmailMessage()
            email["From"] = one_line(settings.smtp.sender if settings.smtp else "tos_watch <tos-watch@localhost>")
            email["To"], email["Subject"] = one_line(channel.email), title
            email["Date"], email["Message-ID"] = formatdate(), make_msgid(idstring="test", domain="tos-watch.local")
            email.set_content(text, charset="utf-8")
        try:
            deliver(channel, Message(title, text, email), sender)
            out.append((channel, None))
        except SendError as exc:
            out.append((channel, channel.mask(str(exc))))
    return out
