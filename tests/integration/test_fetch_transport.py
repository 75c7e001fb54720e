"""The Fetcher's connections: reused by default, one per request on request, acknowledged at once."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tos_watch import transport
from tos_watch.fetch import Fetcher, FetchSettings

PAGE = b"<html><body><main>" + b"<p>Your recordings are kept for 60 days.</p>" * 400 + b"</main></body></html>"


def nagle_server() -> tuple[type[BaseHTTPRequestHandler], list[int]]:
    """A keep-alive handler that writes headers and body in two sends, Nagle on: the pattern that stalls."""
    connections: list[int] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with lock:
                connections.append(1)

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(PAGE)))
            self.end_headers()  # one send for the headers ...
            self.wfile.write(PAGE)  # ... and one for the body

    return Handler, connections


def fetch_many(base: str, n: int, settings: FetchSettings) -> list[bytes]:
    async def run() -> list[bytes]:
        async with Fetcher(settings) as fetcher:
            return [(await fetcher.fetch(f"{base}page/{i}")).content for i in range(n)]

    return asyncio.run(run())


def test_pages_come_over_one_reused_connection(loopback_http: Callable[..., str]) -> None:
    handler, connections = nagle_server()
    bodies = fetch_many(loopback_http(handler), 20, FetchSettings(respect_robots=False, concurrency=1))
    assert bodies == [PAGE] * 20
    assert len(connections) == 1


def test_keep_alive_off_opens_a_connection_per_request(loopback_http: Callable[..., str]) -> None:
    handler, connections = nagle_server()
    bodies = fetch_many(loopback_http(handler), 5, FetchSettings(respect_robots=False, keep_alive=False))
    assert bodies == [PAGE] * 5
    assert len(connections) == 5


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="TCP_QUICKACK is Linux only")
def test_every_read_asks_for_an_immediate_ack(loopback_http: Callable[..., str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads go through the quick-ack stream on a real TCP socket, so the delayed-ACK stall cannot happen."""
    reads: list[bool] = []  # per read: the flag was set on the connection's socket without error
    original = transport._QuickAckStream.read

    async def counting_read(self: transport._QuickAckStream, max_bytes: int, timeout: float | None = None) -> bytes:
        data = await original(self, max_bytes, timeout)
        reads.append(self._socket is not None)  # a failed setsockopt drops the socket
        return data

    monkeypatch.setattr(transport._QuickAckStream, "read", counting_read)
    handler, _ = nagle_server()
    assert fetch_many(loopback_http(handler), 3, FetchSettings(respect_robots=False)) == [PAGE] * 3
    assert reads and all(reads)
