"""`tos-watch daemon` as a user runs it: a subprocess over the replay site, a real SMTP server.

Every wait is a bounded polling loop on observable state (the database, the SMTP
recorder, the process), never a sleep-and-hope.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import PolicySite
from tests.integration.test_digest_delivery import SmtpServer, body, free_port

DOCS = [("Academia.edu", "Privacy Policy", "/academia-edu/privacy-policy"),
        ("Proctorio", "Terms of Service", "/proctorio/terms-of-service")]
SUBSCRIBERS = """
[[subscribers]]
email = "all@example.org"

[[subscribers]]
email = "proctorio@example.org"
services = ["Proctorio"]
categories = ["biometrics"]
min_severity = "medium"

[[subscribers]]
email = "nothing@example.org"
categories = ["ai_training"]
min_severity = "high"
"""


def write_config(tmp: Path, site: PolicySite, smtp_port: int | None, *, digest: str, check: str = "every 1s",
                 extra: str = "") -> Path:
    lines = [f'[storage]\ndir = "{tmp / "data"}"', "[fetch]\nretries = 1\nbackoff = 0.05\ntotal_timeout = 20",
             f'[schedule]\ncheck = "{check}"\njitter = "0"\ndigest = "{digest}"',
             '[digest]\nretry = "1s"\nretry_max = "2s"\nbacklog = "1d"', SUBSCRIBERS, extra]
    if smtp_port:
        lines.append(f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nstarttls = false\ntimeout = 5')
    for service, doc_type, path in DOCS:
        lines.append(f'[[documents]]\nservice = "{service}"\ntype = "{doc_type}"\n'
                     f'url = "{site.page(path)}"\nselect = ["#content"]')
    config = tmp / "tos-watch.toml"
    config.write_text("\n\n".join(lines) + "\n")
    return config


class Daemon:
    """A `tos-watch daemon` subprocess whose log goes to a file."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.log = config.parent / f"daemon-{time.monotonic_ns()}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "tos_watch", "--config", str(config), "daemon"],
                                            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    # Beyond the daemon's 30 s grace for in-flight work (a loaded machine can take most of it).
    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout)


@pytest.fixture
def daemons() -> Iterator[Callable[..., Daemon]]:
    started: list[Daemon] = []

    def start(config: Path, **kw: Any) -> Daemon:
        d = Daemon(config, **kw)
        started.append(d)
        return d
    yield start
    for d in started:
        if d.process.poll() is None:
            d.process.kill()
            d.process.wait()


def wait_for(what: str, predicate: Callable[[], Any], daemon: Daemon | None = None, timeout: float = 60) -> Any:
    """Poll until predicate() is truthy; fail with the daemon's log if it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if daemon is not None and daemon.process.poll() is not None:
            pytest.fail(f"daemon exited ({daemon.process.returncode}) while waiting for {what}:\n{daemon.text()}")
        time.sleep(0.1)  # polling interval
    pytest.fail(f"timed out waiting for {what}\n" + (daemon.text()[-4000:] if daemon else ""))


def query(tmp: Path, sql: str) -> list[tuple[Any, ...]]:
    db = tmp / "data" / "tos-watch.db"
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # table not created yet
            return []


def versions_per_document(tmp: Path) -> dict[str, int]:
    return dict(query(tmp, "SELECT d.service, count(v.id) FROM documents d JOIN versions v "
                           "ON v.document_id = d.id GROUP BY d.service"))  # type: ignore[arg-type]


def test_daemon_digest_once_per_subscriber_with_filters_across_restarts(
        tmp_path: Path, policy_site: PolicySite, daemons: Callable[..., Daemon]) -> None:
    smtp = SmtpServer()
    smtp.start()
    try:
        config = write_config(tmp_path, policy_site, smtp.port, digest="every 1h")
        d = daemons(config)
        wait_for("first versions", lambda: versions_per_document(tmp_path) == {s: 1 for s, _, _ in DOCS}, d)
        with policy_site.at_epoch(3):
            wait_for("changes", lambda: versions_per_document(tmp_path) == {s: 2 for s, _, _ in DOCS}, d)
            assert d.stop() == 0 and "daemon stopped cleanly" in d.text()  # before the site goes back
        assert smtp.handler.messages == []  # the hourly digest is not due yet
        # Restart with a short digest period: the persisted job is rescheduled, the digest goes out.
        write_config(tmp_path, policy_site, smtp.port, digest="every 2s", check="every 1h")
        d = daemons(config)
        wait_for("two digests", lambda: len(smtp.handler.messages) >= 2, d)
        wait_for("two more digest periods", lambda: d.text().count("digest empty, not sent") >= 6, d)
        assert sorted(m["To"] for m in smtp.handler.messages) == ["all@example.org", "proctorio@example.org"]
        everyone, filtered = smtp.handler.to("all@example.org")[0], smtp.handler.to("proctorio@example.org")[0]
        assert "Academia.edu" in body(everyone) and "Proctorio" in body(everyone)
        assert "Proctorio" in body(filtered) and "Academia.edu" not in body(filtered)
        assert d.stop() == 0
        # A restart after acceptance sends nothing twice.
        d = daemons(config)
        wait_for("digest periods after restart", lambda: d.text().count("digest empty, not sent") >= 6, d)
        assert len(smtp.handler.messages) == 2
        assert d.stop() == 0
    finally:
        smtp.stop()


def test_smtp_down_then_up_delivers_later(tmp_path: Path, policy_site: PolicySite,
                                          daemons: Callable[..., Daemon]) -> None:
    smtp = SmtpServer()  # not started: connection refused
    config = write_config(tmp_path, policy_site, smtp.port, digest="every 2s")
    d = daemons(config)
    try:
        wait_for("first versions", lambda: versions_per_document(tmp_path) == {s: 1 for s, _, _ in DOCS}, d)
        with policy_site.at_epoch(3):  # the whole test at epoch 3, so no further change appears
            wait_for("changes", lambda: versions_per_document(tmp_path) == {s: 2 for s, _, _ in DOCS}, d)
            wait_for("failed sends", lambda: query(tmp_path, "SELECT 1 FROM digests WHERE status = 'failed'"), d)
            assert query(tmp_path, "SELECT count(*) FROM deliveries") == [(0,)]
            d.stop()
            smtp.handler.refuse = "550 5.7.1 relaying denied"  # back, but refusing
            smtp.start()
            d = daemons(config)
            wait_for("refusals", lambda: "refused the message: 550" in d.text(), d)
            assert smtp.handler.messages == []
            smtp.handler.refuse = None
            expected = [("all@example.org", 2), ("proctorio@example.org", 1)]
            wait_for("deliveries recorded after recovery", lambda: query(
                tmp_path, "SELECT subscriber, count(*) FROM deliveries GROUP BY 1 ORDER BY 1") == expected, d)
            assert sorted(m["To"] for m in smtp.handler.messages) == ["all@example.org", "proctorio@example.org"]
            d.stop()
    finally:
        d.stop()
        smtp.stop()


def test_sigterm_mid_check_leaves_a_consistent_store(tmp_path: Path, policy_site_factory: Callable[..., PolicySite],
                                                      daemons: Callable[..., Daemon]) -> None:
    slow = policy_site_factory("--delay-ms", "4000")
    config = write_config(tmp_path, slow, None, digest="every 1h")
    d = daemons(config, env={"TOS_WATCH_GRACE_SECONDS": "0.5"})
    wait_for("daemon started", lambda: "daemon started" in d.text(), d)
    wait_for("checks in flight", lambda: query(tmp_path, "SELECT 1 FROM documents"), d, timeout=20)
    assert d.stop() == 0
    assert "abandoning in-flight work" in d.text() or "daemon stopped cleanly" in d.text()
    assert query(tmp_path, "PRAGMA integrity_check") == [("ok",)]
    assert query(tmp_path, "SELECT count(*) FROM versions WHERE text_hash IS NULL") == [(0,)]
    for (text_hash,) in query(tmp_path, "SELECT text_hash FROM versions"):
        assert list((tmp_path / "data" / "versions").rglob(f"{text_hash}*")), "a version without its text"
    # The next daemon picks up where it stopped and finishes the checks.
    d = daemons(config)
    wait_for("checks completed", lambda: versions_per_document(tmp_path) == {s: 1 for s, _, _ in DOCS}, d,
             timeout=90)
    assert d.stop() == 0


def test_single_daemon_per_data_dir_and_bad_config(tmp_path: Path, policy_site: PolicySite,
                                                    daemons: Callable[..., Daemon]) -> None:
    config = write_config(tmp_path, policy_site, None, digest="every 1h", check="every 1h")
    d = daemons(config)
    wait_for("daemon started", lambda: "daemon started" in d.text(), d)
    second = subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), "daemon"],
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert "already in use by tos-watch daemon (pid" in second.stderr
    status = subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), "status", "--json"],
                            capture_output=True, text=True, timeout=60)
    assert f"pid {d.process.pid}" in json.loads(status.stdout)["daemon"]
    send = subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), "digest", "--send"],
                          capture_output=True, text=True, timeout=60)
    assert send.returncode == 2 and "already in use" in send.stderr  # never two senders at once
    assert d.stop() == 0
    config.write_text(config.read_text().replace('check = "every 1h"', 'check = "every blue moon"'))
    bad = subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), "daemon"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert 'schedule: unknown schedule "every blue moon"' in bad.stderr or "every blue moon" in bad.stderr


def fetch_feed(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def test_status_and_feed_commands(tmp_path: Path, policy_site: PolicySite, daemons: Callable[..., Daemon]) -> None:
    port = free_port()
    config = write_config(tmp_path, policy_site, None, digest="every 1h",
                          extra=f"[feed]\nserve = true\nport = {port}")
    d = daemons(config)
    wait_for("first versions", lambda: versions_per_document(tmp_path) == {s: 1 for s, _, _ in DOCS}, d)
    with policy_site.at_epoch(3):
        wait_for("changes", lambda: versions_per_document(tmp_path) == {s: 2 for s, _, _ in DOCS}, d)
        served = fetch_feed(f"http://127.0.0.1:{port}/feed.atom?category=biometrics")
        assert "<feed" in served and "Proctorio" in served and "Academia.edu" not in served
        assert "Academia.edu" in fetch_feed(f"http://127.0.0.1:{port}/feed.atom?service=academia.edu")
        d.stop()
    status = subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), "status", "--json"],
                            capture_output=True, text=True, timeout=60)
    report = json.loads(status.stdout)
    assert report["daemon"] is None  # stopped: the lock is free
    assert {doc["service"] for doc in report["documents"]} == {s for s, _, _ in DOCS}
    assert all(doc["last_check"] and doc["next_check"] for doc in report["documents"])
    assert report["next_digest"]
    feed = subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), "feed", "--category",
                           "biometrics"], capture_output=True, text=True, timeout=60)
    assert feed.returncode == 0 and "Proctorio" in feed.stdout and "Academia.edu" not in feed.stdout
