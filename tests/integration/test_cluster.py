"""A cluster on real servers: PostgreSQL (store and Procrastinate queue), the replay site, worker processes.

Each test gets a fresh database on one PostgreSQL server. The cluster's result is
compared with what one `tos-watch check` process records on SQLite: the same
versions (document and text hash), nothing twice, nothing lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.integration.conftest import PolicySite
from tests.integration.test_check_replay import write_watchlist
from tests.support.postgres import postgres_server

pytest.importorskip("procrastinate", reason="procrastinate (the cluster's task queue) is not installed")

FAST = {"TOS_WATCH_HEARTBEAT": "0.5"}


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh database on the module's server."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:40]
    engine = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return pg_server.rsplit("/", 1)[0] + "/" + name


def cluster_watchlist(path: Path, site: PolicySite, docs: list[dict[str, Any]], url: str, **fetch: Any) -> Path:
    write_watchlist(path, site, docs, **fetch)
    text = path.read_text().replace("[storage]\n", f"[storage]\ndatabase_url = {json.dumps(url)}\n", 1)
    path.write_text(text + '\n[queue]\nstalled_after = 3\n\n[schedule]\ncheck = "every 6h"\njitter = "1s"\n')
    return path


def start(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tos_watch", "--config", str(config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **FAST})


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=300, env={**os.environ, **FAST})


def jobs(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            if c.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is None:
                return {}
            return {str(s): int(n) for s, n in c.execute(sa.text(
                "SELECT status, count(*) FROM procrastinate_jobs GROUP BY status"))}
    finally:
        engine.dispose()


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 240, procs: tuple[Any, ...] = ()) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for p in procs:
            assert p.poll() is None, f"{what}: a process exited early: {p.stderr.read()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def drained(url: str, total: int) -> Callable[[], bool]:
    def done() -> bool:
        j = jobs(url)
        return sum(j.values()) >= total and not j.get("todo") and not j.get("doing")
    return done


def versions(url: str) -> list[tuple[str, str, str]]:
    """Every version as (service, type, text hash), sorted: what a store recorded."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return sorted((r[0], r[1], r[2]) for r in c.execute(sa.text(
                "SELECT d.service, d.type, v.text_hash FROM versions v JOIN documents d ON d.id = v.document_id")))
    finally:
        engine.dispose()


def stop(*procs: subprocess.Popen[str]) -> list[int]:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=60))
        except subprocess.TimeoutExpired:
            p.kill()
            codes.append(p.wait())
    return codes


def reference(tmp: Path, site: PolicySite, docs: list[dict[str, Any]], epochs: int) -> list[list[tuple[str, str, str]]]:
    """What one process on SQLite records after each epoch."""
    (tmp / "ref").mkdir()
    config = write_watchlist(tmp / "ref" / "tos-watch.toml", site, docs)
    out = []
    for k in range(epochs):
        site.set_epoch(k)
        result = run(config, "check")
        assert result.returncode in (0, 1), result.stderr[-2000:]
        out.append(versions(f"sqlite:///{tmp / 'ref' / 'data' / 'tos-watch.db'}"))
    site.set_epoch(0)
    return out


def defer_all(url: str, docs: list[dict[str, Any]], watchlist: str, *, duplicate: bool = False) -> int:
    from tos_watch.queue import defer_once

    queue_url = url.replace("postgresql+psycopg://", "postgresql://")
    n = 0
    for d in docs:
        defer_once(queue_url, d["service"], d["document"], watchlist)
        n += 1
        if duplicate:  # a second delivery of the same check, without the engine's lock: the store must hold
            defer_once(queue_url, d["service"], d["document"], watchlist, lock=False)
            n += 1
    return n


def watchlist_of(config: Path) -> str:
    from tos_watch.cluster import watchlist_hash
    from tos_watch.config import load_settings

    return watchlist_hash(load_settings(str(config)).documents)


def test_scheduler_and_two_workers_record_what_one_process_records(
        tmp_path: Path, policy_site: PolicySite, pg_url: str) -> None:
    docs = policy_site.documents()
    expected = reference(tmp_path, policy_site, docs, epochs=2)
    config = cluster_watchlist(tmp_path / "tos-watch.toml", policy_site, docs, pg_url)
    daemon = start(config, "daemon")
    workers = [start(config, "worker", "--concurrency", "4") for _ in range(2)]
    try:
        wait_for(drained(pg_url, len(docs)), "epoch 0", procs=(daemon, *workers))
        assert versions(pg_url) == expected[0]
        machine2 = tmp_path / "machine2.toml"  # another machine (own data dir), same database
        machine2.write_text(config.read_text().replace(str(tmp_path / "data"), str(tmp_path / "data2")))
        second = run(machine2, "daemon")  # a second scheduler is refused
        assert second.returncode == 2 and "another scheduler already runs" in second.stderr, second.stderr
        assert "Traceback" not in second.stderr
        other = tmp_path / "other.toml"  # a worker with another watchlist is refused at start
        cluster_watchlist(other, policy_site, docs[:-1], pg_url)
        refused = run(other, "worker")
        assert refused.returncode == 2 and "differs from the scheduler's" in refused.stderr, refused.stderr
        status = run(config, "status", "--json")
        assert status.returncode == 0, status.stderr
        cluster = json.loads(status.stdout)["cluster"]
        assert len([w for w in cluster["workers"] if w["alive"]]) == 2 and cluster["waiting"] == 0
        with policy_site.at_epoch(1):  # every check delivered twice, once without the engine's lock
            total = len(docs) + defer_all(pg_url, docs, watchlist_of(config), duplicate=True)
            wait_for(drained(pg_url, total), "epoch 1", procs=(daemon, *workers))
        assert versions(pg_url) == expected[1]
    finally:
        codes = stop(*workers, daemon)
    assert codes == [0, 0, 0]


def test_worker_killed_mid_check_others_finish_and_store_matches(
        tmp_path: Path, policy_site_factory: Callable[..., PolicySite], pg_url: str) -> None:
    site = policy_site_factory("--delay-ms", "300")
    docs = site.documents()
    expected = reference(tmp_path, site, docs, epochs=1)[0]
    config = cluster_watchlist(tmp_path / "tos-watch.toml", site, docs, pg_url)
    victim, survivor = start(config, "worker", "--concurrency", "4"), start(config, "worker", "--concurrency", "4")
    try:
        wait_for(lambda: _tables(pg_url), "queue tables", procs=(victim, survivor))  # the workers create them
        total = defer_all(pg_url, docs, watchlist_of(config))
        wait_for(lambda: jobs(pg_url).get("succeeded", 0) >= 5 and jobs(pg_url).get("doing", 0) >= 2,
                 "checks under way", procs=(victim, survivor))
        victim.kill()  # kill -9 mid-check
        victim.wait()
        wait_for(drained(pg_url, total), "the survivor to finish", procs=(survivor,))
    finally:
        codes = stop(survivor)
    assert codes == [0]
    assert versions(pg_url) == expected


def _tables(url: str) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return c.execute(sa.text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None
    finally:
        engine.dispose()


class _CountingHost(BaseHTTPRequestHandler):
    """A host that counts requests in flight and the gaps between their starts."""

    lock = threading.Lock()
    in_flight = 0
    peak = 0
    starts: list[float] = []
    robots = 0

    def do_GET(self) -> None:  # noqa: N802
        cls = type(self)
        if self.path == "/robots.txt":
            with cls.lock:
                cls.robots += 1
            self._send(b"User-agent: *\nAllow: /\n", "text/plain")
            return
        with cls.lock:
            cls.in_flight += 1
            cls.peak = max(cls.peak, cls.in_flight)
            cls.starts.append(time.monotonic())
        time.sleep(0.15)
        with cls.lock:
            cls.in_flight -= 1
        self._send(f"<html><main id='content'><p>Terms {self.path}</p></main></html>".encode(), "text/html")

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def test_per_host_limits_hold_across_two_workers(
        tmp_path: Path, loopback_http: Callable[..., str], policy_site: PolicySite, pg_url: str) -> None:
    base = loopback_http(_CountingHost)
    docs = [{"service": f"S{i}", "document": "Terms", "url": f"{base}terms/{i}"} for i in range(16)]

    class Site:  # write_watchlist's view of a site: absolute URLs pass through
        def page(self, url: str) -> str:
            return url
    config = cluster_watchlist(tmp_path / "tos-watch.toml", Site(), docs, pg_url,  # type: ignore[arg-type]
                               per_host=2, host_delay=0.2, concurrency=8)
    workers = [start(config, "worker", "--concurrency", "8") for _ in range(2)]
    try:
        wait_for(lambda: _tables(pg_url), "queue tables", procs=tuple(workers))
        total = defer_all(pg_url, docs, watchlist_of(config))
        wait_for(drained(pg_url, total), "the checks", procs=tuple(workers))
    finally:
        codes = stop(*workers)
    assert codes == [0, 0]
    assert len(versions(pg_url)) == 16
    assert _CountingHost.peak <= 2, f"{_CountingHost.peak} requests at once to one host, per_host = 2"
    gaps = [b - a for a, b in zip(sorted(_CountingHost.starts), sorted(_CountingHost.starts)[1:])]
    # The gate spaces the requests' starts; a loaded machine may delay one on its way out by
    # some tens of milliseconds, so arrivals are allowed that much closer.
    assert min(gaps) >= 0.15, f"requests {min(gaps):.3f}s apart, host_delay = 0.2"
    assert _CountingHost.robots == 1, "robots.txt is fetched once for the cluster"


@pytest.mark.parametrize("case", ["sqlite store", "unreachable queue"])
def test_bad_cluster_config_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    config = tmp_path / "tos-watch.toml"
    storage = "" if case == "sqlite store" else 'database_url = "postgresql+psycopg://nobody@127.0.0.1:1/none"'
    config.write_text(f'[storage]\ndir = "{tmp_path}"\n{storage}\n[queue]\n\n[[documents]]\nservice = "A"\n'
                      'type = "Terms"\nurl = "http://127.0.0.1:1/"\n')
    for command in ("worker", "daemon"):
        result = run(config, command)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        wanted = ("PostgreSQL store",) if case == "sqlite store" else ("cannot reach", "cannot open the database")
        assert any(w in lines[0] for w in wanted), lines[0]


class _BusyHost(BaseHTTPRequestHandler):
    """Answers its first request with 503 and Retry-After: 1, the rest with a page; notes when each came."""

    seen: list[tuple[str, float]] = []

    def do_GET(self) -> None:  # noqa: N802
        first = not type(self).seen
        type(self).seen.append((self.path, time.monotonic()))
        body = b"<html><main id='content'><p>Terms</p></main></html>"
        self.send_response(503 if first else 200)
        if first:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def test_retry_after_pauses_the_host_for_every_worker(
        tmp_path: Path, loopback_http: Callable[..., str], pg_url: str) -> None:
    import asyncio

    from tos_watch.config import StorageSettings
    from tos_watch.fetch import Fetcher, FetchSettings
    from tos_watch.store import open_store
    from tos_watch.store.hosts import HostGate

    base = loopback_http(_BusyHost)
    store = open_store(StorageSettings(dir=tmp_path, database_url=pg_url))
    settings = FetchSettings(respect_robots=False, retries=1, max_retry_after=5)

    async def two_workers() -> None:
        async with Fetcher(settings, gate=HostGate(store.engine, holder="a")) as a, \
                Fetcher(settings, gate=HostGate(store.engine, holder="b")) as b:
            first = asyncio.create_task(a.fetch(base + "a"))  # 503, Retry-After: 1, then its retry succeeds
            while not _BusyHost.seen:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the pause is recorded when the 503 is read
            await b.fetch(base + "b")  # the other worker waits out the same pause
            await first

    try:
        asyncio.run(two_workers())
    finally:
        store.close()
    paused_at = _BusyHost.seen[0][1]
    b_at = next(t for path, t in _BusyHost.seen if path == "/b")
    assert b_at - paused_at >= 0.9, f"worker b asked {b_at - paused_at:.2f}s after the 503 with Retry-After: 1"


def test_sigterm_lets_running_checks_finish(
        tmp_path: Path, policy_site_factory: Callable[..., PolicySite], pg_url: str) -> None:
    site = policy_site_factory("--delay-ms", "1500")
    docs = site.documents()[:12]
    config = cluster_watchlist(tmp_path / "tos-watch.toml", site, docs, pg_url)
    worker = start(config, "worker", "--concurrency", "3")
    try:
        wait_for(lambda: _tables(pg_url), "queue tables", procs=(worker,))
        defer_all(pg_url, docs, watchlist_of(config))
        wait_for(lambda: jobs(pg_url).get("doing", 0) == 3, "three checks under way", procs=(worker,))
    finally:
        codes = stop(worker)
    assert codes == [0]
    done = jobs(pg_url)
    assert done.get("doing", 0) == 0 and done.get("aborted", 0) == 0, done  # drained, not abandoned
    assert done.get("succeeded", 0) >= 3 and len(versions(pg_url)) == done["succeeded"], done
    assert done.get("todo", 0) == 12 - done["succeeded"], done  # the rest stay queued for other workers
