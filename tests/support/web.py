"""Helpers for the web view's tests: a real `tos-watch serve` process, and Chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
STARTUP_SECONDS = 60.0


class Server:
    """A running `tos-watch serve --port 0`; its URL is read from its first line of output."""

    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tos_watch", "--config", str(config), "serve", "--port", "0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
        line = _first_line(self.process, STARTUP_SECONDS)
        if "http://" not in line:
            self.stop()
            raise RuntimeError(f"tos-watch serve did not start: {line!r} {self.stderr()[-2000:]}")
        self.url = line[line.index("http://"):].split()[0]
        self._wait_until_responds(time.monotonic() + STARTUP_SECONDS)

    def _wait_until_responds(self, deadline: float) -> None:
        while True:
            try:
                httpx.get(self.url + "api/v1/openapi.json", timeout=5)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.05)  # polling interval, not a guess at readiness

    def stderr(self) -> str:
        if self.process.poll() is None:
            return ""
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    box: list[bytes] = []
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    return box[0].decode() if box else ""


@contextmanager
def serving(config: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    server = Server(config, *args, env=env)
    try:
        yield server
    finally:
        server.stop()


def browser_skip_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[browser]')"
    if not (Path(CHROMIUM).is_file() or shutil.which("chromium")):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Debian's), or skip with the reason."""
    reason = browser_skip_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
