"""fetch against real loopback servers: the replay site's fault pages, conditional GETs,
robots.txt, size and redirect caps, and the concurrency limits. No mocks of httpx."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import replace
from http.server import BaseHTTPRequestHandler
from socket import socket
from typing import Any, TypeVar

import pytest

from tos_watch.errors import FetchError
from tos_watch.fetch import Fetcher, FetchSettings, worst_case_seconds
from tos_watch.models import FetchResult, Validators

T = TypeVar("T")

# Small timeouts so the whole fault suite runs in seconds; 1 MB so "huge" (200 MB) trips the cap.
FAST = FetchSettings(
    connect_timeout=1,
    read_timeout=1,
    total_timeout=3,
    retries=2,
    backoff=0.05,
    max_retry_after=1,
    max_bytes=1024 * 1024,
)
SLACK = 2.0  # seconds of scheduling noise allowed on top of the documented bound


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch_once(
    url: str, settings: FetchSettings = FAST, validators: Validators | None = None
) -> FetchResult:
    async with Fetcher(settings) as fetcher:
        return await fetcher.fetch(url, validators)


def fetch_error(url: str, settings: FetchSettings = FAST) -> tuple[FetchError, float]:
    """The FetchError a fetch raises, and how long it took to give up."""
    started = time.monotonic()
    with pytest.raises(FetchError) as caught:
        run(fetch_once(url, settings))
    return caught.value, time.monotonic() - started


# ---------------------------------------------------------------- fault pages


@pytest.mark.parametrize(
    ("fault", "message", "transient"),
    [
        ("500", "HTTP 500 Internal Server Error after 3 attempts", True),
        ("503", "HTTP 503 Service Unavailable after 3 attempts", True),
        ("429", "HTTP 429 Too Many Requests after 3 attempts", True),
        ("slow", "timed out after 1s waiting for a response (gave up after 3 attempts)", True),
        ("hang", "timed out after 1s reading the body (gave up after 3 attempts)", True),
        ("huge", "body larger than 1 MB limit", False),
        ("redirect-loop", "more than 5 redirects (redirect loop?)", False),
        ("binary", "not a web page: content type application/octet-stream", False),
        ("empty", "empty response body (gave up after 3 attempts)", True),
        ("truncated", "connection closed before the body was complete (got 28 of 5000 bytes)", True),
        ("blocked", "HTTP 403 Forbidden: access denied (blocked or bot wall?)", False),
    ],
)
def test_fault_page_fails_clearly_and_in_bounded_time(
    policy_site: Any, fault: str, message: str, transient: bool
) -> None:
    url = policy_site.page(f"/_faults/{fault}")
    error, took = fetch_error(url)
    assert message in str(error)
    assert error.transient is transient
    assert error.url.startswith(policy_site.url)
    assert took < worst_case_seconds(FAST) + SLACK


@pytest.mark.parametrize("fault", ["429", "503"])
def test_retry_after_is_honoured_up_to_the_cap(policy_site: Any, fault: str) -> None:
    # The site sends Retry-After: 1 and max_retry_after is 1: two pauses of about 1 s each.
    _, took = fetch_error(policy_site.page(f"/_faults/{fault}"))
    assert 2 * 0.95 <= took < 2 + SLACK


def test_500_uses_short_backoff_not_retry_after(policy_site: Any) -> None:
    _, took = fetch_error(policy_site.page("/_faults/500"))
    assert took < 1.0  # two backoff pauses of at most 0.05 s and 0.1 s


def test_flaky_page_succeeds_after_retries(policy_site: Any) -> None:
    result = run(fetch_once(policy_site.page("/_faults/flaky")))
    assert result.status == 200
    assert b"Third time lucky" in result.content


def test_latin1_page_keeps_its_raw_bytes(policy_site: Any) -> None:
    result = run(fetch_once(policy_site.page("/_faults/latin1")))
    expected = "<html><body><main><p>Données conservées pendant 30 jours.</p></main></body></html>"
    assert result.content == expected.encode("latin-1")
    assert result.content_type == "text/html; charset=iso-8859-1"


def test_total_deadline_covers_the_body(policy_site: Any) -> None:
    # "hang" sends headers and 6 bytes, then nothing for 60 s; the read timeout alone would wait 5 s.
    settings = replace(FAST, read_timeout=5, total_timeout=1.5, retries=0)
    error, took = fetch_error(policy_site.page("/_faults/hang"), settings)
    assert str(error) == "timed out after 1.5s reading the body"
    assert error.transient
    assert took < 1.5 + SLACK


def test_missing_page_is_permanent(policy_site: Any) -> None:
    error, _ = fetch_error(policy_site.page("/no-such-service/terms"))
    assert str(error) == "HTTP 404 Not Found: the document may have moved or been withdrawn"
    assert not error.transient


def test_connection_refused() -> None:
    with socket() as probe:  # a port nobody listens on: bound, then released
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error, _ = fetch_error(f"http://127.0.0.1:{port}/terms", replace(FAST, retries=1))
    assert str(error) == "connection refused (gave up after 2 attempts)"
    assert error.transient


def test_fetcher_must_be_opened() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        run(Fetcher(FAST).fetch("http://127.0.0.1:1/"))


# ---------------------------------------------------------------- real pages


def first_document_url(policy_site: Any, min_versions: int = 1) -> str:
    doc = next(d for d in policy_site.documents() if len(d["versions"]) >= min_versions)
    return str(policy_site.page(doc["url"]))


def test_real_page_then_conditional_get_is_not_modified(policy_site: Any) -> None:
    url = first_document_url(policy_site)

    async def twice() -> tuple[FetchResult, FetchResult, FetchResult]:
        async with Fetcher(FAST) as fetcher:
            first = await fetcher.fetch(url)
            by_etag = await fetcher.fetch(url, first.validators)
            by_date = await fetcher.fetch(url, Validators(last_modified=first.validators.last_modified))
            return first, by_etag, by_date

    first, by_etag, by_date = run(twice())
    assert (first.status, first.not_modified, first.url) == (200, False, url)
    assert first.validators.etag and first.validators.last_modified
    assert b'<main id="content">' in first.content
    assert first.content_type.startswith("text/html")
    for again in (by_etag, by_date):
        assert (again.status, again.not_modified, again.content) == (304, True, b"")
        assert again.validators == first.validators


def test_changed_page_answers_200_to_old_validators(policy_site: Any) -> None:
    url = first_document_url(policy_site, min_versions=2)
    old = run(fetch_once(url))
    with policy_site.at_epoch(1):
        new = run(fetch_once(url, validators=old.validators))
    assert (new.status, new.not_modified) == (200, False)
    assert new.validators.etag != old.validators.etag


def test_robots_disallow_is_honoured(policy_site: Any) -> None:
    error, _ = fetch_error(policy_site.page("/_private/terms"))
    assert "blocked by robots.txt" in str(error)
    assert not error.transient
    # ...unless told not to respect robots.txt: then the site's own 404 comes back.
    error, _ = fetch_error(policy_site.page("/_private/terms"), replace(FAST, respect_robots=False))
    assert str(error).startswith("HTTP 404")


# ---------------------------------------------------------------- local servers


def test_body_without_content_length_is_cut_at_the_cap(loopback_http: Callable[..., str]) -> None:
    class Endless(BaseHTTPRequestHandler):
        """Chunked HTML with no Content-Length, so only the streamed count can stop it."""

        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"<p>" + b"x" * 65_000 + b"</p>"
            try:
                for _ in range(1000):  # about 65 MB if nobody stops reading
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                pass

    base = loopback_http(Endless)
    error, took = fetch_error(base + "terms", replace(FAST, respect_robots=False))
    assert str(error) == "body larger than 1 MB limit"
    assert not error.transient
    assert took < FAST.total_timeout


@pytest.mark.parametrize(("robots_status", "robots_body"), [(404, b"nothing"), (500, b"oops")])
def test_missing_or_broken_robots_txt_allows(
    loopback_http: Callable[..., str], robots_status: int, robots_body: bytes
) -> None:
    class Site(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            status, body = (robots_status, robots_body) if self.path == "/robots.txt" else (200, b"<p>ok</p>")
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    result = run(fetch_once(loopback_http(Site) + "terms"))
    assert result.content == b"<p>ok</p>"


class Tally:
    """What a set of loopback servers saw: requests in flight, overall and per host."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: Counter[str] = Counter()
        self.peak_host: Counter[str] = Counter()
        self.peak_total = 0
        self.robots: Counter[str] = Counter()
        self.pages = 0

    def enter(self, host: str) -> None:
        with self.lock:
            self.active[host] += 1
            self.peak_host[host] = max(self.peak_host[host], self.active[host])
            self.peak_total = max(self.peak_total, sum(self.active.values()))

    def leave(self, host: str) -> None:
        with self.lock:
            self.active[host] -= 1
            self.pages += 1


def counting_handler(tally: Tally, latency: float) -> type[BaseHTTPRequestHandler]:
    class Counting(BaseHTTPRequestHandler):
        """A page that takes `latency` seconds to serve, so requests overlap and can be counted."""

        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            host = str(self.connection.getsockname()[0])
            if self.path == "/robots.txt":
                with tally.lock:
                    tally.robots[host] += 1
                return self.reply(b"User-agent: *\nDisallow: /private/\n", "text/plain")
            tally.enter(host)
            try:
                time.sleep(latency)  # server-side latency being simulated, not a wait in the test
            finally:
                tally.leave(host)
            self.reply(b"<html><main>terms</main></html>", "text/html")

        def reply(self, body: bytes, ctype: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Counting


def test_concurrency_limits_and_one_robots_per_origin(loopback_http: Callable[..., str]) -> None:
    tally = Tally()
    hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    bases = [loopback_http(counting_handler(tally, latency=0.1), host) for host in hosts]
    urls = [f"{base}terms/{i}" for base in bases for i in range(12)]
    settings = replace(FAST, concurrency=5, per_host=2)

    async def fetch_all() -> list[FetchResult]:
        async with Fetcher(settings) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    results = run(fetch_all())
    assert all(r.status == 200 for r in results)
    assert tally.pages == len(urls)
    assert tally.peak_total == 5  # reached, never passed
    assert dict(tally.peak_host) == {host: 2 for host in hosts}
    assert dict(tally.robots) == {host: 1 for host in hosts}
