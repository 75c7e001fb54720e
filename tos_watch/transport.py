"""The Fetcher's HTTP transport: httpx's own, on connections that acknowledge at once.

Why: many servers (Python's http.server among them, and the replay site) write
a response's headers and body in two sends with Nagle's algorithm on. The body
then waits until the headers are acknowledged, and on a reused (keep-alive)
connection Linux delays that acknowledgement by 40 ms: every page fetched on a
kept-alive connection cost 40 ms of waiting (benchmarks/http_floor.py shows it).
Setting TCP_QUICKACK before each read acknowledges at once; the flag is not
sticky, so it is set every time. Elsewhere than Linux this is httpx unchanged.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

_QUICKACK = getattr(socket, "TCP_QUICKACK", None)  # Linux only


class _QuickAckStream(httpcore.AsyncNetworkStream):
    """A network stream that asks the kernel to acknowledge the next segment without delay."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._socket: socket.socket | None = stream.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._socket is not None and _QUICKACK is not None:
            try:
                self._socket.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:  # not a TCP socket after all: read normally from now on
                self._socket = None
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _QuickAckStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class QuickAckBackend(httpcore.AsyncNetworkBackend):
    """httpcore's asyncio backend, its TCP streams wrapped in `_QuickAckStream`."""

    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _QuickAckStream(stream)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        return await self._backend.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def quick_ack_transport(limits: httpx.Limits, ssl_context: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """httpx's transport with the same connection pool settings, on QuickAckBackend connections.

    httpx does not take a network backend, so its pool is rebuilt around one;
    its request and response handling is kept as it is. `ssl_context` is shared
    with the caller: loading the CA bundle costs 15 ms each time.
    """
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits)
    if _QUICKACK is None:
        return transport
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context, max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections, keepalive_expiry=limits.keepalive_expiry,
        network_backend=QuickAckBackend())
    return transport
