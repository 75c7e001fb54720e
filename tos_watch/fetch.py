"""Fetch pages over HTTP: with `transport`, the only modules that import httpx.

`Fetcher.fetch(url, validators)` returns a `FetchResult` (raw bytes, never
decoded here: extraction decodes) or raises `FetchError` with a message a user
understands and a `transient` flag. httpx's exceptions never leave this module.

Politeness and bounds, all from `FetchSettings`:

- at most `concurrency` requests in flight, and `per_host` per host name;
  a waiting request holds no slot while it sleeps between attempts;
- robots.txt is read once per origin per `Fetcher` and honoured;
- every attempt has connect/read timeouts and a total deadline that covers the
  whole streamed body, and the body is cut off past `max_bytes`;
- transient failures (connection errors, timeouts, 429, 500, 502, 503, 504,
  truncated or empty bodies) are retried `retries` times with jittered
  exponential backoff, honouring `Retry-After` on 429/503; no pause between
  attempts is longer than `max_retry_after`.

So one `fetch` takes at most `worst_case_seconds(settings)` once it holds its
slots: one robots.txt attempt, `retries + 1` page attempts of `total_timeout`
each, and `retries` pauses of at most `max_retry_after` (defaults: 45 + 4 * 45
+ 3 * 30 = 315 s). Time spent queueing for a slot is not counted: it is bounded
by the work ahead in the queue, not by this request.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from tos_watch.errors import FetchError
from tos_watch.models import FetchResult, Validators
from tos_watch.transport import quick_ack_transport

DEFAULT_USER_AGENT = "tos_watch/0.1 (+https://github.com/tos-watch/tos-watch; terms-change monitor)"
# What a terms page can be; a missing Content-Type is accepted and left to extraction to judge.
WEB_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain", "application/pdf"})
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_AFTER_STATUSES = frozenset({429, 503})
ROBOTS_MAX_BYTES = 512 * 1024  # Google reads the first 500 KiB of a robots.txt; so do we
ACCEPT = "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.8,*/*;q=0.5"
# Terms pages are often localised by Accept-Language; ask for English so versions compare.
ACCEPT_LANGUAGE = "en-US,en;q=0.9"
NOT_OPEN = "Fetcher is not open: use 'async with Fetcher(settings) as fetcher:'"


@dataclass(frozen=True)
class FetchSettings:
    """How to fetch: limits, timeouts and retry policy. Defaults live here; config builds it."""

    user_agent: str = DEFAULT_USER_AGENT
    concurrency: int = 16  # requests in flight, all hosts together
    per_host: int = 4  # requests in flight to one host name
    connect_timeout: float = 10
    read_timeout: float = 20  # longest silence while waiting for bytes
    total_timeout: float = 45  # one attempt, from connect to the last body byte
    retries: int = 3  # attempts after the first, for transient failures
    backoff: float = 0.5  # base seconds, doubled each attempt, jittered, capped by max_retry_after
    max_retry_after: float = 30  # never pause longer than this between attempts
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    respect_robots: bool = True
    keep_alive: bool = True  # reuse connections to a host; false: a fresh connection per request
    host_delay: float = 0  # least seconds between two requests to one host (across a cluster's workers)
    robots_ttl: float = 86400  # how long a cluster keeps a host's robots.txt before reading it again


# ---------------------------------------------------------------- pure helpers


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or HTTP-date); None if unusable.

    A date in the past means "now" (0); garbage is ignored so the normal backoff applies.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT; be lenient with ones that omit it
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def retry_delay(
    settings: FetchSettings,
    attempt: int,
    retry_after: float | None = None,
    jitter: Callable[[], float] = random.random,
) -> float:
    """Pause before attempt `attempt + 1`: the server's Retry-After, else jittered backoff.

    Backoff is `backoff * 2**(attempt-1)` scaled into [50%, 100%] so that many documents
    failing together do not retry in lockstep. Both are capped by `max_retry_after`.
    """
    if retry_after is not None:
        return min(retry_after, settings.max_retry_after)
    base = settings.backoff * 2 ** max(0, attempt - 1)
    return min(base * (0.5 + jitter() / 2), settings.max_retry_after)


def worst_case_seconds(settings: FetchSettings) -> float:
    """The longest one `fetch` can take once it holds its slots (see the module docstring)."""
    robots = settings.total_timeout if settings.respect_robots else 0.0
    attempts = (settings.retries + 1) * settings.total_timeout
    return robots + attempts + settings.retries * settings.max_retry_after


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header value, lower-cased ("" if none)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_web_content_type(content_type: str | None) -> bool:
    """Whether a page of this Content-Type can hold terms text (HTML, plain text, PDF or unknown)."""
    kind = media_type(content_type)
    return kind == "" or kind in WEB_CONTENT_TYPES


def describe_size(size: int) -> str:
    """A byte count as people say it: "10 MB", "512 KB", "300 bytes"."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"


def status_error(status: int, url: str, retry_after: str | None = None) -> FetchError | None:
    """The FetchError a final (post-redirect) HTTP status means, or None for 2xx/304."""
    if 200 <= status < 300 or status == 304:
        return None
    try:
        name = f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        name = f"HTTP {status}"
    if status in (401, 403):
        return FetchError(f"{name}: access denied (blocked or bot wall?)", url=url)
    if status in (404, 410):
        return FetchError(f"{name}: the document may have moved or been withdrawn", url=url)
    if status in TRANSIENT_STATUSES:
        wait = parse_retry_after(retry_after) if status in RETRY_AFTER_STATUSES else None
        return _Retryable(name, url=url, retry_after=wait)
    if 300 <= status < 400:
        return FetchError(f"{name}: a redirect without a usable Location", url=url)
    return FetchError(name, url=url)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def origin_of(url: str) -> str:
    """scheme://host[:port], the unit robots.txt applies to (lower-cased: both are case-blind)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class _Retryable(FetchError):
    """A transient failure worth another attempt now; carries the server's Retry-After."""

    def __init__(self, message: str, *, url: str, retry_after: float | None = None) -> None:
        super().__init__(message, url=url, transient=True)
        self.retry_after = retry_after


@dataclass
class _Progress:
    """How far one attempt got, so a failure can say where it stopped."""

    phase: str = "waiting for a response"
    received: int = 0
    expected: int | None = None


# ---------------------------------------------------------------- the fetcher


@dataclass
class _Slots:
    """The global and per-host semaphores."""

    total: asyncio.Semaphore
    per_host: int
    hosts: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    @asynccontextmanager
    async def hold(self, url: str) -> AsyncIterator[None]:
        """Take the host's slot first, then a global one, so a busy host never idles other hosts."""
        host = (urlsplit(url).hostname or "").lower()
        host_slot = self.hosts.setdefault(host, asyncio.Semaphore(self.per_host))
        async with host_slot, self.total:
            yield


class Fetcher:
    """Fetches pages politely and within bounds; use as `async with Fetcher(settings) as f:`."""

    def __init__(self, settings: FetchSettings = FetchSettings(), gate: Any = None) -> None:
        self.settings = settings
        self._gate = gate  # a cluster's shared host limits (store.hosts.HostGate); None: this process alone
        self._client: httpx.AsyncClient | None = None
        self._slots = _Slots(asyncio.Semaphore(settings.concurrency), settings.per_host)
        self._robots: dict[str, RobotFileParser] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}

    async def __aenter__(self) -> Self:
        s = self.settings
        limits = httpx.Limits(max_connections=s.concurrency,
                              max_keepalive_connections=s.concurrency if s.keep_alive else 0)
        ssl_context = httpx.create_ssl_context()  # one for every transport the client builds
        self._client = httpx.AsyncClient(
            headers={"User-Agent": s.user_agent, "Accept": ACCEPT, "Accept-Language": ACCEPT_LANGUAGE},
            timeout=httpx.Timeout(s.read_timeout, connect=s.connect_timeout, pool=s.total_timeout),
            limits=limits,
            verify=ssl_context,
            # A mount, not transport=: proxies from the environment still take their own URLs.
            mounts={"all://": quick_ack_transport(limits, ssl_context)},
            follow_redirects=True,
            max_redirects=s.max_redirects,
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            raise RuntimeError(NOT_OPEN)
        return self._client

    async def fetch(self, url: str, validators: Validators | None = None) -> FetchResult:
        """Fetch one page, conditionally when `validators` are given; raise FetchError on failure.

        `elapsed` covers the whole call: robots.txt, every attempt and the pauses between them.
        """
        started = asyncio.get_running_loop().time()
        if self._client is None:  # fail fast, before robots.txt, when used outside `async with`
            raise RuntimeError(NOT_OPEN)
        if self.settings.respect_robots and not await self._allowed(url):
            raise FetchError("blocked by robots.txt (this page asks robots not to fetch it)", url=url)
        result = await self._fetch_with_retries(url, validators or Validators())
        elapsed = asyncio.get_running_loop().time() - started
        return replace(result, elapsed=elapsed)

    async def _fetch_with_retries(self, url: str, validators: Validators) -> FetchResult:
        """Run attempts under tenacity; on giving up, say how many attempts were made."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.retries + 1),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: isinstance(exc, FetchError) and exc.transient),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(url, validators)
        except FetchError as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            if attempts <= 1:
                raise
            message = _after_attempts(str(exc), attempts)
            raise FetchError(message, url=exc.url, transient=exc.transient) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        """tenacity wait: the failed attempt's Retry-After if it had one, else backoff."""
        exc = state.outcome.exception() if state.outcome else None
        retry_after = exc.retry_after if isinstance(exc, _Retryable) else None
        return retry_delay(self.settings, state.attempt_number, retry_after)

    async def _attempt(self, url: str, validators: Validators) -> FetchResult:
        """One GET under the slots and the total deadline, with httpx errors translated."""
        progress = _Progress()
        total = self.settings.total_timeout
        async with self._slots.hold(url), self._cluster_slot(url):
            try:
                async with asyncio.timeout(total):
                    return await self._get(url, validators, progress)
            except TimeoutError as exc:
                raise _Retryable(f"timed out after {total:g}s {progress.phase}", url=url) from exc
            except httpx.HTTPError as exc:
                raise _translate(exc, url, self.settings, progress) from exc
            except _Retryable as exc:
                if exc.retry_after and self._gate is not None:  # the host asked us all to wait
                    await self._gate.pause(_host(url), min(exc.retry_after, self.settings.max_retry_after))
                raise

    @asynccontextmanager
    async def _cluster_slot(self, url: str) -> AsyncIterator[None]:
        """With a cluster gate: one of the host's slots for all workers together, spaced by host_delay."""
        if self._gate is None:
            yield
            return
        s = self.settings
        async with self._gate.slot(_host(url), per_host=s.per_host, delay=s.host_delay, lease=s.total_timeout + 5):
            yield

    async def _get(self, url: str, validators: Validators, progress: _Progress) -> FetchResult:
        """Send the (conditional) GET and turn the streamed response into a FetchResult."""
        async with self.client.stream("GET", url, headers=_conditional_headers(validators)) as response:
            final_url = str(response.url)
            error = status_error(response.status_code, final_url, response.headers.get("retry-after"))
            if error is not None:
                raise error
            content_type = response.headers.get("content-type", "")
            served = Validators(response.headers.get("etag"), response.headers.get("last-modified"))
            if response.status_code == 304:  # a 304 may omit validators: keep the ones we sent
                served = Validators(
                    served.etag or validators.etag, served.last_modified or validators.last_modified
                )
                return FetchResult(final_url, 304, b"", content_type, served, not_modified=True)
            if not is_web_content_type(content_type):
                raise FetchError(f"not a web page: content type {media_type(content_type)}", url=final_url)
            content = await self._read_body(response, final_url, progress)
            return FetchResult(final_url, response.status_code, content, content_type, served)

    async def _read_body(self, response: httpx.Response, url: str, progress: _Progress) -> bytes:
        """Stream the body, refusing it past max_bytes (declared or actual) and when empty."""
        limit = self.settings.max_bytes
        too_big = FetchError(f"body larger than {describe_size(limit)} limit", url=url)
        progress.expected = _content_length(response)
        if progress.expected is not None and progress.expected > limit:
            raise too_big
        progress.phase = "reading the body"
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            progress.received = response.num_bytes_downloaded
            if size > limit:
                raise too_big
            chunks.append(chunk)
        if size == 0:
            raise _Retryable("empty response body", url=url)
        return b"".join(chunks)

    # ------------------------------------------------------------ robots.txt

    async def _allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url`; one robots.txt request per origin, ever."""
        origin = origin_of(url)
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self._robots:
                self._robots[origin] = await self._load_robots(origin)
        return self._robots[origin].can_fetch(self.settings.user_agent, url)

    async def _load_robots(self, origin: str) -> RobotFileParser:
        """Read an origin's robots.txt once, without retries.

        Missing (any 4xx) means no rules, as RFC 9309 says. Unlike RFC 9309, a 5xx or an
        unreachable robots.txt also means allow: a terms monitor fetches a handful of public
        pages a day, and the page fetch itself will then report the server's real trouble.
        """
        parser = RobotFileParser(f"{origin}/robots.txt")
        if self._gate is not None:  # one fetch per origin for the whole cluster, kept robots_ttl
            status, text = await self._gate.robots(origin, ttl=self.settings.robots_ttl,
                                                   timeout=self.settings.total_timeout + 5,
                                                   load=lambda: self._read_robots(origin))
        else:
            status, text = await self._read_robots(origin)
        # No rules at all (an empty parse) lets every URL through.
        parser.parse(text.splitlines() if 200 <= status < 300 else [])
        return parser

    async def _read_robots(self, origin: str) -> tuple[int, str]:
        try:
            async with self._slots.hold(origin), self._cluster_slot(origin), \
                    asyncio.timeout(self.settings.total_timeout):
                return await self._get_robots(f"{origin}/robots.txt")
        except (httpx.HTTPError, TimeoutError):
            return 0, ""

    async def _get_robots(self, url: str) -> tuple[int, str]:
        """GET robots.txt, keeping only its first ROBOTS_MAX_BYTES."""
        body = bytearray()
        async with self.client.stream("GET", url) as response:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= ROBOTS_MAX_BYTES:
                    break
        return response.status_code, bytes(body[:ROBOTS_MAX_BYTES]).decode("utf-8", errors="replace")


# ---------------------------------------------------------------- translation


def _conditional_headers(validators: Validators) -> dict[str, str]:
    """If-None-Match / If-Modified-Since, echoing the server's values byte for byte."""
    headers = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _content_length(response: httpx.Response) -> int | None:
    """The declared body size, or None when absent or malformed."""
    value = response.headers.get("content-length", "")
    return int(value) if value.strip().isdigit() else None


def _after_attempts(message: str, attempts: int) -> str:
    """ "HTTP 500 Internal Server Error after 4 attempts"; other reasons keep their own wording."""
    if message.startswith("HTTP "):
        return f"{message} after {attempts} attempts"
    return f"{message} (gave up after {attempts} attempts)"


def _translate(exc: httpx.HTTPError, url: str, settings: FetchSettings, progress: _Progress) -> FetchError:
    """The FetchError an httpx exception means, worded for the user."""
    if isinstance(exc, httpx.TooManyRedirects):
        return FetchError(f"more than {settings.max_redirects} redirects (redirect loop?)", url=url)
    if isinstance(exc, httpx.ConnectTimeout):
        return _Retryable(f"timed out after {settings.connect_timeout:g}s connecting", url=url)
    if isinstance(exc, httpx.TimeoutException):
        return _Retryable(f"timed out after {settings.read_timeout:g}s {progress.phase}", url=url)
    if isinstance(exc, httpx.ConnectError):
        return _Retryable(_connect_reason(exc), url=url)
    if isinstance(exc, httpx.RemoteProtocolError) and progress.phase == "reading the body":
        expected = f" of {progress.expected}" if progress.expected is not None else ""
        return _Retryable(
            f"connection closed before the body was complete (got {progress.received}{expected} bytes)",
            url=url,
        )
    if isinstance(exc, httpx.TransportError) and not isinstance(exc, httpx.UnsupportedProtocol):
        return _Retryable(f"connection failed {progress.phase}: {exc or type(exc).__name__}", url=url)
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return FetchError(f"not a fetchable http(s) URL: {exc}", url=url)
    return FetchError(f"could not read the response: {exc or type(exc).__name__}", url=url)


def _connect_reason(exc: httpx.ConnectError) -> str:
    """Name the usual connect failures plainly; fall back to httpx's own words."""
    text = str(exc)
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(cause).lower():
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    if "name or service not known" in text.lower() or "nodename nor servname" in text.lower():
        return "could not resolve the host name (DNS)"
    return f"could not connect: {text or type(exc).__name__}"
