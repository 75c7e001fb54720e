"""Serving the web view with uvicorn: the bind rules, the foreground server and the daemon's thread.

Loopback by default. Any other address needs `[web] token_env`, the name of an
environment variable holding a bearer token, so that a store of findings is never
published to a network by a typo; without it the command refuses in one line.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass

import uvicorn

from tos_watch.config import WebSettings
from tos_watch.errors import ConfigError
from tos_watch.store import SqlStore
from tos_watch.web.app import create_app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def bind_token(web: WebSettings, host: str) -> str | None:
    """The bearer token requests must carry (None: none needed); refuses a public bind without one."""
    if web.token_env:
        token = web.token
        if not token:
            raise ConfigError(f"[web] token_env names ${web.token_env}, which is not set or empty: "
                              "export the bearer token in it")
        return token
    if not is_loopback(host):
        raise ConfigError(f"refusing to serve on {host}, which is not a loopback address, without a bearer "
                          "token: set [web] token_env to the name of an environment variable holding one")
    return None


def bind(host: str, port: int) -> socket.socket:
    """The listening socket (port 0: a free one), bound before uvicorn starts so its address is known."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def make_server(store: SqlStore, web: WebSettings, host: str) -> uvicorn.Server:
    app = create_app(store, token=bind_token(web, host))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", server_header=False)
    return uvicorn.Server(config)


@dataclass
class Running:
    """A web server in a thread of the daemon."""

    server: uvicorn.Server
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_in_thread(store: SqlStore, web: WebSettings) -> Running:
    """Serve in a background thread (the daemon's); uvicorn installs no signal handlers off the main thread."""
    server = make_server(store, web, web.host)
    sock = bind(web.host, web.port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="web", daemon=True)
    thread.start()
    return Running(server, thread, url_of(sock))
