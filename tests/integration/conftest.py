"""Fixtures for integration tests: real loopback servers, started once and polled until ready.

`policy_site` is the replay site from ../shared/tools/policy_site.py, shared by the whole
session. Its epoch/clock is global state: a test that moves it must put it back
(`with policy_site.at_epoch(k):`) or start its own site with `start_policy_site(...)`.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import pytest

SHARED_DIR = Path(__file__).resolve().parents[2].parent / "shared"
STARTUP_SECONDS = 60.0  # loading and indexing the corpus; generous for slow CI machines


@dataclass
class PolicySite:
    """A running replay site: its base URL and its control endpoints."""

    url: str  # base URL, ending in "/"
    process: subprocess.Popen[bytes]

    def page(self, path: str) -> str:
        """The absolute URL of a path on this site ("/_faults/500" or "_faults/500")."""
        return self.url + path.lstrip("/")

    def _call(self, path: str, method: str = "GET") -> Any:
        data = b"" if method == "POST" else None
        request = urllib.request.Request(self.page(path), data=data, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def state(self) -> dict[str, Any]:
        return self._call("/_site/state")

    def documents(self) -> list[dict[str, Any]]:
        """Every served document: url (a path), service, document, versions (ISO dates)."""
        return self._call("/_site/documents")

    def set_epoch(self, k: int) -> dict[str, Any]:
        """Make every document show its k-th version (clamped); returns the new state."""
        return self._call(f"/_site/epoch/{k}", "POST")

    def set_clock(self, when: str) -> dict[str, Any]:
        """Make every document show its latest version at an ISO time ("2024-05-01T00:00:00Z")."""
        return self._call(f"/_site/clock/{when}", "POST")

    @contextmanager
    def at_epoch(self, k: int) -> Iterator[PolicySite]:
        """Show epoch k for the duration of a block, then go back to epoch 0."""
        self.set_epoch(k)
        try:
            yield self
        finally:
            self.set_epoch(0)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _require_shared() -> Path:
    """The shared directory, or skip: integration tests need the replay site and corpus."""
    if not (SHARED_DIR / "tools" / "policy_site.py").is_file():
        pytest.skip("../shared not found: the replay site and corpus are needed for integration tests")
    if importlib.util.find_spec("markdown") is None:
        pytest.skip(
            "the 'markdown' package is not installed: the replay site needs it (pip install markdown)"
        )
    return SHARED_DIR


def _first_line(stream: IO[bytes], timeout: float) -> str:
    """Read one line from the child's stdout, giving up after `timeout` seconds."""
    box: list[bytes] = []
    reader = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0].decode() if box else ""


def _wait_until_responds(site: PolicySite, deadline: float) -> None:
    """Poll /_site/state until it answers (the socket is bound before the banner, so it is quick)."""
    while True:
        try:
            site.state()
            return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or site.process.poll() is not None:
                raise
            time.sleep(0.05)  # polling interval, not a guess at readiness


def start_policy_site(*options: str) -> PolicySite:
    """Start policy_site.py on a free port with extra options (e.g. "--replicas", "3")."""
    shared = _require_shared()
    with tempfile.TemporaryFile() as stderr:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, str(shared / "tools" / "policy_site.py"), "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        assert process.stdout is not None
        banner = _first_line(process.stdout, STARTUP_SECONDS)
        if "http://" not in banner:
            process.kill()
            process.wait()
            stderr.seek(0)
            raise RuntimeError(f"policy_site.py did not start: {banner!r} {stderr.read().decode()[-2000:]}")
    url = banner[banner.index("http://") :].strip()
    site = PolicySite(url=url if url.endswith("/") else url + "/", process=process)
    try:
        _wait_until_responds(site, time.monotonic() + STARTUP_SECONDS)
    except BaseException:
        site.stop()
        raise
    return site


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the repository root (skips when absent)."""
    return _require_shared()


@pytest.fixture(scope="session")
def policy_site() -> Iterator[PolicySite]:
    """One replay site for the whole session, at epoch 0. Put the epoch back if you move it."""
    site = start_policy_site()
    try:
        yield site
    finally:
        site.stop()


@pytest.fixture
def policy_site_factory() -> Iterator[Callable[..., PolicySite]]:
    """Start extra replay sites with options, e.g. `policy_site_factory("--fault-rate", "0.5")`;
    each is stopped when the test ends."""
    started: list[PolicySite] = []

    def start(*options: str) -> PolicySite:
        site = start_policy_site(*options)
        started.append(site)
        return site

    yield start
    for site in started:
        site.stop()


@pytest.fixture
def loopback_http() -> Iterator[Callable[..., str]]:
    """Serve a BaseHTTPRequestHandler subclass on a free loopback port in a thread.

    `loopback_http(Handler, host="127.0.0.2")` returns the base URL ("http://127.0.0.2:PORT/");
    any 127.x.y.z works on Linux, which gives tests several distinct hosts. Servers stop with the test.
    """
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def serve(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1") -> str:
        server = ThreadingHTTPServer((host, 0), handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://{host}:{server.server_port}/"

    yield serve
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
