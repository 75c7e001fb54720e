"""Alert channels: Apprise URLs (the only apprise import) and the subscriber's e-mail address.

A channel is named in journals and logs by a hash of the URL *as configured* (with its
`${NAME}` references unexpanded) and shown as `scheme://host/…`, so neither a secret
from the environment nor a token in the path reaches the store, a log line or `status`.
Everything Apprise says about a failure passes through `mask()` before it is kept.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from tos_watch.config import Settings, Subscriber, expand_secrets, secret_values
from tos_watch.errors import ConfigError
from tos_watch.notify.send import Sender, SendError

log = logging.getLogger("tos_watch.alerts")


@dataclass(frozen=True)
class Channel:
    """One place a subscriber's alerts go: an Apprise URL, or their e-mail address over SMTP."""

    subscriber: str
    key: str
    display: str
    url: str | None = None  # the Apprise URL as configured (None: e-mail)
    email: str | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def mask(self, text: str) -> str:
        """Text with every secret value this channel uses replaced by ***."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def display(url: str) -> str:
    """`scheme://host/…`: enough to recognise a channel, nothing secret (no user, password, path or query)."""
    scheme, _, rest = url.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    host = netloc.rsplit("@", 1)[-1]
    return f"{scheme}://{host}{'/…' if rest.strip('/') != host else ''}"


def channel_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def channels_of(sub: Subscriber) -> list[Channel]:
    """The subscriber's alert channels: each notify URL, then the e-mail address if any."""
    out = [Channel(sub.key, channel_key(url), display(url), url=url, secrets=tuple(secret_values(url)))
           for url in sub.notify]
    if sub.email:
        out.append(Channel(sub.key, channel_key("mailto:" + sub.email), f"email {sub.email}", email=sub.email))
    return out


def alerting(settings: Settings) -> list[Subscriber]:
    return [s for s in settings.subscribers if s.alert is not None]


def _quiet_apprise() -> None:
    """Apprise logs URLs (and so tokens) on failure: keep it out of our logs; we log masked text."""
    logger = logging.getLogger("apprise")
    logger.propagate = False
    logger.setLevel(logging.CRITICAL)


def _instantiate(url: str) -> tuple[Any, str]:
    """The Apprise plugin for a URL with secrets expanded, or None and Apprise's reason."""
    import apprise

    _quiet_apprise()
    with apprise.LogCapture(level=logging.WARNING) as captured:
        plugin = apprise.Apprise.instantiate(expand_secrets(url), suppress_exceptions=True)
    return plugin, _said(captured.getvalue())


_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def _said(log_text: str) -> str:
    """Apprise's last words on a URL, without the URLs it quotes (they carry tokens, partly masked)."""
    return _URL.sub("<url>", " ".join(line.split(" - ", 2)[-1] for line in log_text.splitlines()[-2:]))


def check_channels(settings: Settings) -> None:
    """Every notify URL must be one Apprise can use: one ConfigError naming the subscriber if not."""
    for i, sub in enumerate(settings.subscribers):
        for j, url in enumerate(sub.notify):
            plugin, reason = _instantiate(url)
            if plugin is None:
                mask = Channel(sub.key, "", "", secrets=tuple(secret_values(url))).mask
                scheme = urlsplit(url).scheme
                raise ConfigError(f'notify[{j}] ({display(url)}): not a usable Apprise URL'
                                  f'{" (unknown scheme " + repr(scheme) + ")" if _unknown(scheme) else ""}: '
                                  f'{mask(reason) or "rejected"}; see https://github.com/caronc/apprise/wiki',
                                  source=str(settings.path), where=f'subscribers[{i}] ("{sub.key}")')


def _unknown(scheme: str) -> bool:
    from apprise.manager_plugins import NotificationManager

    return scheme.lower() not in NotificationManager()


@dataclass(frozen=True)
class Message:
    """One alert, in the forms channels take."""

    title: str
    text: str
    email: EmailMessage | None = None


def deliver(channel: Channel, message: Message, sender: Sender | None) -> str:
    """Hand one alert to one channel; returns how it was accepted, raises SendError (masked) if not."""
    if channel.email is not None:
        if sender is None or message.email is None:
            raise SendError("no e-mail sender configured", transient=False)
        return sender.send(message.email)
    assert channel.url is not None
    import apprise

    plugin, reason = _instantiate(channel.url)
    if plugin is None:
        raise SendError(f"{channel.display}: {channel.mask(reason) or 'not a usable Apprise URL'}", transient=False)
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = plugin.notify(body=message.text, title=message.title, notify_type=apprise.NotifyType.WARNING)
    if not ok:
        said = _said(captured.getvalue())
        raise SendError(f"{channel.display}: {channel.mask(said) or 'not accepted'}", transient=True)
    return f"accepted by {channel.display}"


def find_subscriber(settings: Settings, who: str) -> Subscriber | None:
    """A subscriber by e-mail or name, case-insensitively."""
    wanted = who.casefold()
    return next((s for s in settings.subscribers
                 if wanted in {(s.email or "").casefold(), (s.name or "").casefold()}), None)


def keys(channels: Iterable[Channel]) -> list[tuple[str, str, str]]:
    return [(c.subscriber, c.key, c.display) for c in channels]
