"""Settings and watchlist: one TOML file, validated in one place.

Precedence: defaults in code < tos-watch.toml < TOS_WATCH_* environment < CLI flags.
The file is found at --config, else $TOS_WATCH_CONFIG, else ./tos-watch.toml.
Every problem is a ConfigError naming the file, the entry and the key, with a
suggestion for misspelt keys: `tos-watch.toml, documents[3]: unknown key "selct"
(did you mean "select"?)`.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from tos_watch.errors import ConfigError
from tos_watch.models import Document, RangeSelector, Selector, Source
from tos_watch.schedules import ScheduleError, parse_duration, parse_schedule
from tos_watch.selectors import css_problem

CONFIG_ENV = "TOS_WATCH_CONFIG"
DEFAULT_CONFIG = "tos-watch.toml"
CATEGORIES = ("licensing", "access", "retention", "biometrics", "ai_training", "user_rights", "changes",
              "disputes")
SEVERITIES = ("none", "low", "medium", "high")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


@dataclass(frozen=True)
class StorageSettings:
    dir: Path = Path("snapshots")
    database_url: str | None = None  # default: SQLite file inside `dir`
    blobs: str | None = None  # "files" or "database"; default: database on PostgreSQL, files on SQLite

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{self.dir / 'tos-watch.db'}"

    @property
    def blobs_in_database(self) -> bool:
        return self.blobs == "database" if self.blobs else self.url.startswith("postgresql")


@dataclass(frozen=True)
class QueueSettings:
    """[queue]: checks go to a distributed task queue (Procrastinate, in PostgreSQL) run by workers."""

    url: str  # libpq connection string of the queue's database (default: the store's)
    stalled_after: float = 30.0  # seconds without a worker heartbeat before its checks are taken over


@dataclass(frozen=True)
class FetchOptions:
    """What the [fetch] table may set; fetch.FetchSettings takes these as keyword arguments."""

    values: dict[str, Any] = field(default_factory=dict)


FETCH_KEYS: dict[str, type | tuple[type, ...]] = {
              "user_agent": str, "concurrency": int, "per_host": int, "connect_timeout": (int, float),
              "read_timeout": (int, float), "total_timeout": (int, float), "retries": int,
              "backoff": (int, float), "max_retry_after": (int, float), "max_bytes": int,
              "max_redirects": int, "respect_robots": bool, "keep_alive": bool, "host_delay": (int, float),
              "robots_ttl": (int, float)}


@dataclass(frozen=True)
class ScheduleSettings:
    check: str = "every 6h"
    jitter: str = "10m"
    digest: str = "daily at 08:00"
    timezone: str = "UTC"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    starttls: bool = True
    tls: bool = False  # implicit TLS (port 465)
    username: str | None = None
    password_env: str | None = None
    sender: str = "tos_watch <tos-watch@localhost>"
    timeout: float = 30.0

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env) if self.password_env else None


@dataclass(frozen=True)
class Subscriber:
    email: str | None = None  # the digest (and e-mail alerts) go here; None: alert channels only
    services: tuple[str, ...] | None = None
    categories: tuple[str, ...] | None = None
    min_severity: str = "low"
    include_cosmetic: bool = False
    alert: str | None = None  # send at once changes at or above this severity; None: no alerts
    notify: tuple[str, ...] = ()  # Apprise URLs as written, ${NAME} unexpanded (secrets stay out of Settings)
    name: str | None = None  # how logs and the journal name an alert-only subscriber

    @property
    def key(self) -> str:
        """The subscriber's stable name in journals and logs: e-mail, else name, else first channel."""
        return self.email or self.name or f"notify:{self.notify[0].split('://')[0]}"


@dataclass(frozen=True)
class DigestSettings:
    send_empty: bool = False
    max_changes: int = 200  # beyond this the digest summarises the overflow
    outbox: Path | None = None  # where .eml files go when no SMTP is configured; default <storage>/outbox
    backlog: str = "7d"  # a new subscriber's first digest covers changes recorded this long before
    retry: str = "5m"  # first retry after a failed send; doubles each time
    retry_max: str = "6h"  # longest wait between retries


@dataclass(frozen=True)
class FeedSettings:
    serve: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    entries: int = 100


@dataclass(frozen=True)
class WebSettings:
    """The web view: loopback by default; any other address needs a bearer token from the environment."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8421
    token_env: str | None = None
    base_url: str | None = None  # how users reach the web view; alerts and digests link to it

    @property
    def token(self) -> str | None:
        return os.environ.get(self.token_env) if self.token_env else None

    @property
    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")


@dataclass(frozen=True)
class Settings:
    path: Path | None = None
    storage: StorageSettings = StorageSettings()
    fetch: FetchOptions = FetchOptions()
    schedule: ScheduleSettings = ScheduleSettings()
    smtp: SmtpSettings | None = None
    subscribers: tuple[Subscriber, ...] = ()
    digest: DigestSettings = DigestSettings()
    feed: FeedSettings = FeedSettings()
    documents: tuple[Document, ...] = ()
    web: WebSettings = WebSettings()
    queue: QueueSettings | None = None

    @property
    def outbox(self) -> Path:
        return self.digest.outbox or self.storage.dir / "outbox"

    def find_documents(self, service: str, doc_type: str | None = None) -> list[Document]:
        """Documents of a service (case-insensitive), optionally of one type."""
        found = [d for d in self.documents if d.service.casefold() == service.casefold()]
        if doc_type is not None:
            found = [d for d in found if d.type.casefold() == doc_type.casefold()]
        return found


# --- locating and reading the file ---------------------------------------------------------------


def config_path(flag: str | None) -> Path:
    """Where the configuration is: --config, else $TOS_WATCH_CONFIG, else ./tos-watch.toml."""
    return Path(flag or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(flag: str | None = None) -> Settings:
    """Read and validate the configuration file; every problem is one ConfigError."""
    path = config_path(flag)
    if not path.is_file():
        hint = " (run `tos-watch init` to write a starter watchlist)" if not flag else ""
        raise ConfigError(f"configuration file not found{hint}", source=str(path))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", source=str(path)) from exc
    return parse_settings(raw, source=str(path), base=path.resolve().parent)


def parse_settings(raw: dict[str, Any], *, source: str = DEFAULT_CONFIG, base: Path | None = None) -> Settings:
    """Validate a parsed TOML mapping into Settings (environment overrides applied last)."""
    p = _Parser(source)
    p.keys(raw, {"storage", "fetch", "schedule", "smtp", "subscribers", "digest", "feed", "documents", "web",
                 "queue"}, "")
    storage = _storage(p, p.table(raw, "storage", ""), base)
    settings = Settings(
        path=Path(source), storage=storage,
        fetch=_fetch(p, p.table(raw, "fetch", "")),
        schedule=_schedule(p, p.table(raw, "schedule", "")),
        smtp=_smtp(p, raw.get("smtp")),
        subscribers=tuple(_subscriber(p, s, f"subscribers[{i}]")
                          for i, s in enumerate(p.array(raw, "subscribers", ""))),
        digest=_digest(p, p.table(raw, "digest", ""), base),
        feed=_feed(p, p.table(raw, "feed", "")),
        documents=_documents(p, p.array(raw, "documents", "")),
        web=_web(p, p.table(raw, "web", "")),
        queue=_queue(p, raw.get("queue"), storage),
    )
    return settings  # subscribers without [smtp]: digests go to the outbox; the daemon says so in its log


# --- sections ------------------------------------------------------------------------------------


def _storage(p: _Parser, t: dict[str, Any], base: Path | None) -> StorageSettings:
    p.keys(t, {"dir", "database_url", "blobs"}, "storage")
    directory = Path(os.environ.get("TOS_WATCH_STORAGE_DIR") or p.text(t, "dir", "storage", "snapshots"))
    if not directory.is_absolute() and base is not None and "TOS_WATCH_STORAGE_DIR" not in os.environ:
        directory = base / directory
    url = os.environ.get("TOS_WATCH_DATABASE_URL") or p.text(t, "database_url", "storage", None)
    blobs = p.text(t, "blobs", "storage", None)
    if blobs not in (None, "files", "database"):
        p.fail("storage", f'blobs must be "files" or "database", got "{blobs}"')
    return StorageSettings(dir=directory, database_url=url, blobs=blobs)


def _queue(p: _Parser, t: Any, storage: StorageSettings) -> QueueSettings | None:
    """[queue] needs a PostgreSQL store: every machine must see the same versions."""
    if t is None:
        return None
    if not isinstance(t, dict):
        p.fail("queue", "must be a table ([queue])")
    p.keys(t, {"url", "stalled_after"}, "queue")
    if not storage.url.startswith("postgresql"):
        p.fail("queue", "needs a PostgreSQL store shared by every machine: set [storage] database_url = "
                        '"postgresql+psycopg://user@host/db"')
    url = os.environ.get("TOS_WATCH_QUEUE_URL") or p.text(t, "url", "queue", None) or storage.url
    if not url.startswith(("postgresql", "postgres://")):
        p.fail("queue", f'url must be a PostgreSQL address (postgresql://user@host/db), got "{url}"')
    stalled = p.number(t, "stalled_after", "queue", 30.0)
    if stalled <= 0:
        p.fail("queue", '"stalled_after" must be positive')
    return QueueSettings(url=url.replace("postgresql+psycopg://", "postgresql://", 1), stalled_after=float(stalled))


def _fetch(p: _Parser, t: dict[str, Any]) -> FetchOptions:
    p.keys(t, set(FETCH_KEYS), "fetch")
    for key, value in t.items():
        kind = FETCH_KEYS[key]
        if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
            p.fail("fetch", f'"{key}" has the wrong type ({type(value).__name__})')
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
            p.fail("fetch", f'"{key}" must be positive')
    return FetchOptions(dict(t))


def _schedule(p: _Parser, t: dict[str, Any]) -> ScheduleSettings:
    p.keys(t, {"check", "jitter", "digest", "timezone"}, "schedule")
    d = ScheduleSettings()
    settings = ScheduleSettings(check=p.text(t, "check", "schedule", d.check),
                                jitter=p.text(t, "jitter", "schedule", d.jitter),
                                digest=p.text(t, "digest", "schedule", d.digest),
                                timezone=p.text(t, "timezone", "schedule", d.timezone))
    try:  # fail at load, one line, rather than when the daemon first schedules a job
        parse_schedule(settings.check)
        parse_schedule(settings.digest)
        parse_duration(settings.jitter)
    except ScheduleError as exc:
        p.fail("schedule", str(exc))
    try:
        zoneinfo.ZoneInfo(settings.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        p.fail("schedule", f'unknown timezone "{settings.timezone}"; use an IANA name such as "Europe/Paris"')
    return settings


def _smtp(p: _Parser, t: Any) -> SmtpSettings | None:
    if t is None:
        return None
    if not isinstance(t, dict):
        p.fail("smtp", "must be a table")
    keys = {"host", "port", "starttls", "tls", "username", "password_env", "from", "timeout"}
    if "password" in t:
        p.fail("smtp", 'secrets are read only from the environment: use password_env = "VARIABLE"')
    p.keys(t, keys, "smtp")
    host = p.text(t, "host", "smtp", None)
    if not host:
        p.fail("smtp", 'missing "host"')
    return SmtpSettings(host=host, port=p.integer(t, "port", "smtp", 587),
                        starttls=p.flag(t, "starttls", "smtp", True), tls=p.flag(t, "tls", "smtp", False),
                        username=p.text(t, "username", "smtp", None),
                        password_env=p.text(t, "password_env", "smtp", None),
                        sender=p.text(t, "from", "smtp", SmtpSettings.sender),
                        timeout=float(p.number(t, "timeout", "smtp", 30.0)))


def _subscriber(p: _Parser, t: Any, where: str) -> Subscriber:
    if not isinstance(t, dict):
        p.fail(where, "must be a table")
    p.keys(t, {"email", "services", "categories", "min_severity", "include_cosmetic", "alert", "notify", "name"},
           where)
    email, name = p.text(t, "email", where, None), p.text(t, "name", where, None)
    where = f'{where} ("{email or name}")' if email or name else where
    if email is not None and not _EMAIL.match(email):
        p.fail(where, f'"email" must be an email address, got {email!r}')
    notify = _notify_urls(p, t, where)
    if not email and not notify:
        p.fail(where, 'needs an "email" (for the digest) or "notify" channels (Apprise URLs), or both')
    categories = p.strings(t, "categories", where)
    for c in categories or ():
        if c not in CATEGORIES:
            p.fail(where, f'unknown category "{c}"{_suggest(c, CATEGORIES)}; one of {", ".join(CATEGORIES)}')
    severity = p.text(t, "min_severity", where, "low")
    if severity not in SEVERITIES:
        p.fail(where, f'min_severity must be one of {", ".join(SEVERITIES)}, got "{severity}"')
    alert = p.text(t, "alert", where, "none")
    if alert not in SEVERITIES:
        p.fail(where, f'alert must be one of {", ".join(SEVERITIES)}, got "{alert}"')
    return Subscriber(email=email, services=p.strings(t, "services", where), categories=categories,
                      min_severity=severity, include_cosmetic=p.flag(t, "include_cosmetic", where, False),
                      alert=None if alert == "none" else alert, notify=notify, name=name)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$", re.IGNORECASE)


def expand_secrets(url: str) -> str:
    """A channel URL with its ${NAME} references replaced from the environment (KeyError if unset)."""
    return _ENV_REF.sub(lambda m: os.environ[m.group(1)], url)


def secret_values(url: str) -> list[str]:
    """The environment values a channel URL refers to: what every message about it must mask."""
    return [os.environ[n] for n in _ENV_REF.findall(url) if os.environ.get(n)]


def _notify_urls(p: _Parser, t: dict[str, Any], where: str) -> tuple[str, ...]:
    """Apprise URLs: each scheme://..., each ${NAME} set in the environment (checked now, used later)."""
    urls = p.strings(t, "notify", where) or ()
    for j, url in enumerate(urls):
        shown = f"notify[{j}] ({url.split('://')[0]}://…)" if "://" in url else f"notify[{j}]"
        if not _SCHEME.match(url):
            p.fail(where, f"{shown}: not a channel URL (scheme://..., e.g. ntfy://ntfy.sh/topic)")
        missing = [n for n in _ENV_REF.findall(url) if n not in os.environ]
        if missing:
            p.fail(where, f"{shown}: ${{{missing[0]}}} is not set in the environment "
                          "(channel secrets are read only from the environment)")
    return tuple(urls)


def _digest(p: _Parser, t: dict[str, Any], base: Path | None) -> DigestSettings:
    p.keys(t, {"send_empty", "max_changes", "outbox", "backlog", "retry", "retry_max"}, "digest")
    outbox = p.text(t, "outbox", "digest", None)
    path = Path(outbox) if outbox else None
    if path is not None and not path.is_absolute() and base is not None:
        path = base / path
    d = DigestSettings()
    durations = {k: p.text(t, k, "digest", getattr(d, k)) for k in ("backlog", "retry", "retry_max")}
    for key, value in durations.items():
        try:
            parse_duration(value)
        except ScheduleError as exc:
            p.fail("digest", f'"{key}": {exc}')
    max_changes = p.integer(t, "max_changes", "digest", 200)
    if max_changes < 1:
        p.fail("digest", '"max_changes" must be at least 1')
    return DigestSettings(send_empty=p.flag(t, "send_empty", "digest", False), max_changes=max_changes,
                          outbox=path, **durations)


def _feed(p: _Parser, t: dict[str, Any]) -> FeedSettings:
    p.keys(t, {"serve", "host", "port", "entries"}, "feed")
    return FeedSettings(serve=p.flag(t, "serve", "feed", False), host=p.text(t, "host", "feed", "127.0.0.1"),
                        port=p.integer(t, "port", "feed", 8080), entries=p.integer(t, "entries", "feed", 100))


def _web(p: _Parser, t: dict[str, Any]) -> WebSettings:
    p.keys(t, {"enabled", "host", "port", "token_env", "base_url"}, "web")
    port = p.integer(t, "port", "web", 8421)
    if not 0 <= port <= 65535:
        p.fail("web", f'"port" must be between 0 and 65535, got {port}')
    base_url = p.text(t, "base_url", "web", None)
    if base_url is not None and urlsplit(base_url).scheme not in ("http", "https"):
        p.fail("web", f'base_url must be an http(s) address, got "{base_url}"')
    return WebSettings(enabled=p.flag(t, "enabled", "web", False), host=p.text(t, "host", "web", "127.0.0.1"),
                       port=port, token_env=p.text(t, "token_env", "web", None),
                       base_url=base_url.rstrip("/") if base_url else None)


# --- documents -----------------------------------------------------------------------------------

DOCUMENT_KEYS = {"service", "type", "url", "select", "remove", "render", "interval", "combine",
                 "remove_query_params"}
SOURCE_KEYS = {"url", "select", "remove", "render", "remove_query_params"}
RANGE_KEYS = {"start_before": "start_before", "startBefore": "start_before", "start_after": "start_after",
              "startAfter": "start_after", "end_before": "end_before", "endBefore": "end_before",
              "end_after": "end_after", "endAfter": "end_after"}


def _documents(p: _Parser, entries: list[Any]) -> tuple[Document, ...]:
    documents: list[Document] = []
    seen: dict[tuple[str, str], int] = {}
    for i, t in enumerate(entries):
        doc = parse_document(p, t, f"documents[{i}]")
        key = (doc.service.casefold(), doc.type.casefold())
        if key in seen:
            p.fail(f"documents[{i}]", f'duplicate document "{doc.label}" (also documents[{seen[key]}])')
        seen[key] = i
        documents.append(doc)
    return tuple(documents)


def parse_document(p: _Parser, t: Any, where: str) -> Document:
    """One [[documents]] entry: service, type, and either url (+select/remove) or combine."""
    if not isinstance(t, dict):
        p.fail(where, "must be a table")
    p.keys(t, DOCUMENT_KEYS, where)
    service, doc_type = p.text(t, "service", where, None), p.text(t, "type", where, None)
    if not service or not doc_type:
        p.fail(where, 'needs both "service" and "type" (e.g. service = "Ring", type = "Privacy Policy")')
    where = f'{where} ("{service} / {doc_type}")'
    if "combine" in t:
        if "url" in t:
            p.fail(where, 'give either "url" or "combine", not both')
        parts = p.array(t, "combine", where)
        if not parts:
            p.fail(where, '"combine" needs at least one source')
        sources = tuple(_source(p, s, f"{where}.combine[{j}]", inherit=t) for j, s in enumerate(parts))
    else:
        sources = (_source(p, t, where, inherit={}),)
    interval = p.text(t, "interval", where, None)
    if interval is not None:
        try:
            parse_schedule(interval)
        except ScheduleError as exc:
            p.fail(where, f"interval: {exc}")
    return Document(service=service, type=doc_type, sources=sources, interval=interval)


def _source(p: _Parser, t: Any, where: str, inherit: dict[str, Any]) -> Source:
    if not isinstance(t, dict):
        p.fail(where, "must be a table with a url")
    if inherit:
        p.keys(t, SOURCE_KEYS, where)
    url = p.text(t, "url", where, None)
    if not url:
        p.fail(where, 'missing "url"')
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        p.fail(where, f'url must be an http(s) address, got "{url}"')
    render = p.text(t, "render", where, None) or p.text(inherit, "render", where, "http")
    if render not in ("http", "browser"):
        p.fail(where, f'render must be "http" or "browser", got "{render}"')
    return Source(url=url, select=_selectors(p, t.get("select", inherit.get("select")), where, "select"),
                  remove=_selectors(p, t.get("remove", inherit.get("remove")), where, "remove"),
                  render=render,
                  remove_query_params=tuple(p.strings(t, "remove_query_params", where)
                                            or p.strings(inherit, "remove_query_params", where) or ()))


def _selectors(p: _Parser, value: Any, where: str, key: str) -> tuple[Selector, ...]:
    """A selector or a list of them; each a CSS string or a range table."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(_selector(p, item, f"{where}.{key}") for item in items)


def _selector(p: _Parser, item: Any, where: str) -> Selector:
    if isinstance(item, str):
        problem = css_problem(item)
        if problem:
            p.fail(where, f'invalid CSS selector "{item}": {problem}')
        return item
    if isinstance(item, dict):
        p.keys(item, set(RANGE_KEYS), where)
        fields = {RANGE_KEYS[k]: _selector(p, v, where) for k, v in item.items()}
        starts = [k for k in fields if k.startswith("start")]
        ends = [k for k in fields if k.startswith("end")]
        if len(starts) != 1 or len(ends) != 1:
            p.fail(where, "a range selector needs one of startBefore/startAfter and one of endBefore/endAfter")
        return RangeSelector(**fields)  # type: ignore[arg-type]
    p.fail(where, f"a selector must be a CSS string or a range table, got {type(item).__name__}")


# --- the validating reader -----------------------------------------------------------------------


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


class _Parser:
    """Typed getters that fail with ConfigError naming the file, entry and key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> NoReturn:
        raise ConfigError(message, source=self.source, where=where or None)

    def keys(self, t: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in t:
            if key not in allowed:
                self.fail(where, f'unknown key "{key}"{_suggest(key, allowed)}')

    def table(self, t: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        value = t.get(key, {})
        if not isinstance(value, dict):
            self.fail(where, f'"{key}" must be a table ([{key}])')
        return value

    def array(self, t: dict[str, Any], key: str, where: str) -> list[Any]:
        value = t.get(key, [])
        if not isinstance(value, list):
            self.fail(where, f'"{key}" must be an array of tables ([[{key}]])')
        return value

    def _typed(self, t: dict[str, Any], key: str, where: str, default: Any, kind: Any, name: str) -> Any:
        value = t.get(key, default)
        if value is not default and (not isinstance(value, kind) or isinstance(value, bool) and kind is not bool):
            self.fail(where, f'"{key}" must be {name}, got {value!r}')
        return value

    def text(self, t: dict[str, Any], key: str, where: str, default: Any) -> Any:
        return self._typed(t, key, where, default, str, "a string")

    def integer(self, t: dict[str, Any], key: str, where: str, default: int) -> int:
        return self._typed(t, key, where, default, int, "an integer")  # type: ignore[no-any-return]

    def number(self, t: dict[str, Any], key: str, where: str, default: float) -> float:
        return self._typed(t, key, where, default, (int, float), "a number")  # type: ignore[no-any-return]

    def flag(self, t: dict[str, Any], key: str, where: str, default: bool) -> bool:
        return self._typed(t, key, where, default, bool, "true or false")  # type: ignore[no-any-return]

    def strings(self, t: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
        value = t.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(where, f'"{key}" must be a list of strings')
        return tuple(value)
