"""The pure parts of fetch: Retry-After, backoff bounds, content types, status meanings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tos_watch.errors import FetchError
from tos_watch.fetch import (
    FetchSettings,
    describe_size,
    is_web_content_type,
    media_type,
    origin_of,
    parse_retry_after,
    retry_delay,
    status_error,
    worst_case_seconds,
)

NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("5", 5.0),
        ("  0 ", 0.0),
        ("120", 120.0),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),  # HTTP-date, 30 s ahead
        ("Wednesday, 21-Oct-15 07:29:00 GMT", 60.0),  # obsolete RFC 850 form
        ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),  # in the past: go now
        ("Wed, 21 Oct 2015 07:28:10", 10.0),  # no zone: read as GMT
        ("soon", None),
        ("-3", None),
        ("1.5", None),  # delay-seconds is an integer
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == expected


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [
        (1, 0.0, 0.25),  # half the base at the low end of the jitter
        (1, 1.0, 0.5),
        (2, 1.0, 1.0),
        (3, 1.0, 2.0),
        (10, 1.0, 30.0),  # 256 s of backoff, capped
        (10, 0.0, 30.0),
    ],
)
def test_backoff_is_exponential_jittered_and_capped(attempt: int, jitter: float, expected: float) -> None:
    assert retry_delay(FetchSettings(), attempt, jitter=lambda: jitter) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [(0.0, 0.0), (7.0, 7.0), (30.0, 30.0), (3600.0, 30.0)],
)
def test_retry_after_wins_over_backoff_but_is_capped(retry_after: float, expected: float) -> None:
    assert retry_delay(FetchSettings(), 1, retry_after, jitter=lambda: 1.0) == expected


@pytest.mark.parametrize("attempt", range(1, 40))
def test_no_pause_exceeds_max_retry_after(attempt: int) -> None:
    settings = FetchSettings(backoff=2.0, max_retry_after=5)
    assert 0 <= retry_delay(settings, attempt) <= 5


@pytest.mark.parametrize(
    ("settings", "bound"),
    [
        (FetchSettings(), 45 + 4 * 45 + 3 * 30),
        (FetchSettings(respect_robots=False), 4 * 45 + 3 * 30),
        (FetchSettings(retries=0, total_timeout=3), 3 + 3),
        (FetchSettings(retries=2, total_timeout=3, max_retry_after=1), 3 + 3 * 3 + 2 * 1),
    ],
)
def test_worst_case_seconds(settings: FetchSettings, bound: float) -> None:
    assert worst_case_seconds(settings) == bound


@pytest.mark.parametrize(
    ("content_type", "accepted"),
    [
        ("text/html", True),
        ("text/html; charset=iso-8859-1", True),
        ("TEXT/HTML;charset=UTF-8", True),
        ("application/xhtml+xml", True),
        ("text/plain; charset=utf-8", True),
        ("application/pdf", True),
        ("", True),  # missing: let extraction judge the bytes
        (None, True),
        ("application/octet-stream", False),
        ("image/png", False),
        ("application/json", False),
        ("video/mp4", False),
    ],
)
def test_content_type_acceptance(content_type: str | None, accepted: bool) -> None:
    assert is_web_content_type(content_type) is accepted


def test_media_type_strips_parameters() -> None:
    assert media_type(" Application/PDF ; name=x.pdf") == "application/pdf"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (10 * 1024 * 1024, "10 MB"),
        (1024 * 1024, "1 MB"),
        (1536 * 1024, "1.5 MB"),
        (512 * 1024, "512 KB"),
        (300, "300 bytes"),
    ],
)
def test_describe_size(size: int, text: str) -> None:
    assert describe_size(size) == text


@pytest.mark.parametrize(
    ("status", "retry_after", "message", "transient"),
    [
        (200, None, None, False),
        (203, None, None, False),
        (304, None, None, False),
        (401, None, "HTTP 401 Unauthorized: access denied (blocked or bot wall?)", False),
        (403, None, "HTTP 403 Forbidden: access denied (blocked or bot wall?)", False),
        (404, None, "HTTP 404 Not Found: the document may have moved or been withdrawn", False),
        (410, None, "HTTP 410 Gone: the document may have moved or been withdrawn", False),
        (429, "2", "HTTP 429 Too Many Requests", True),
        (500, None, "HTTP 500 Internal Server Error", True),
        (502, None, "HTTP 502 Bad Gateway", True),
        (503, "1", "HTTP 503 Service Unavailable", True),
        (504, None, "HTTP 504 Gateway Timeout", True),
        (501, None, "HTTP 501 Not Implemented", False),
        (400, None, "HTTP 400 Bad Request", False),
        (302, None, "HTTP 302 Found: a redirect without a usable Location", False),
        (599, None, "HTTP 599", False),
    ],
)
def test_status_meaning(status: int, retry_after: str | None, message: str | None, transient: bool) -> None:
    error = status_error(status, "https://example.com/terms", retry_after)
    if message is None:
        assert error is None
        return
    assert isinstance(error, FetchError)
    assert (str(error), error.transient, error.url) == (message, transient, "https://example.com/terms")


@pytest.mark.parametrize(
    ("status", "header", "wait"),
    [(429, "7", 7.0), (503, "1", 1.0), (503, "nonsense", None), (500, "7", None), (502, None, None)],
)
def test_retry_after_is_read_on_429_and_503_only(status: int, header: str | None, wait: float | None) -> None:
    error = status_error(status, "https://example.com/", header)
    assert getattr(error, "retry_after", "missing") == wait


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://example.com/legal/terms?x=1", "https://example.com"),
        ("http://127.0.0.1:8765/a/b", "http://127.0.0.1:8765"),
        ("HTTPS://Example.COM", "https://example.com"),
    ],
)
def test_origin_of(url: str, origin: str) -> None:
    assert origin_of(url) == origin
