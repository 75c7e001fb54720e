"""Politeness across a cluster: per-host request slots, spacing, pauses and robots.txt, shared in PostgreSQL.

Every worker's Fetcher asks this gate before each request, so `[fetch] per_host` and
`host_delay` hold for all workers together, a `Retry-After` from a host pauses it for
every worker, and robots.txt is fetched once per host per `robots_ttl`, not once per
worker. A slot is a lease (one row per host and slot number) that expires after one
attempt's deadline, so a killed worker's slots come back by themselves. The SQL runs in
a small thread pool of its own: the event loop never waits on the database, and the
extraction thread is never taken.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

POLL = 0.05  # seconds between tries for a busy host's slot (a host's own spacing is waited for exactly)

_ENSURE = [sa.text("INSERT INTO fetch_hosts (host, next_start, paused_until) VALUES (:host, now(), now()) "
                   "ON CONFLICT DO NOTHING"),
           sa.text("INSERT INTO fetch_host_slots (host, slot, lease_until) SELECT :host, g, now() "
                   "FROM generate_series(0, :n - 1) g ON CONFLICT DO NOTHING")]
_HOST = sa.text("SELECT extract(epoch FROM greatest(next_start, paused_until) - now()) FROM fetch_hosts "
                "WHERE host = :host FOR UPDATE")
_TAKE = sa.text("UPDATE fetch_host_slots SET lease_until = now() + :lease * interval '1 second', holder = :holder "
                "WHERE host = :host AND slot = (SELECT slot FROM fetch_host_slots WHERE host = :host AND slot < :n "
                "AND lease_until <= now() ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING slot")
_SPACE = sa.text("UPDATE fetch_hosts SET next_start = now() + :delay * interval '1 second' WHERE host = :host")
_GIVE = sa.text("UPDATE fetch_host_slots SET lease_until = now(), holder = NULL "
                "WHERE host = :host AND slot = :slot AND holder = :holder")
_PAUSE = sa.text("UPDATE fetch_hosts SET paused_until = greatest(paused_until, now() + :s * interval '1 second') "
                 "WHERE host = :host")
_ROBOTS = sa.text("SELECT status, body, extract(epoch FROM now() - fetched_at) AS age FROM robots_cache "
                  "WHERE origin = :origin")
_CLAIM = sa.text(
    "INSERT INTO robots_cache (origin, fetched_at, status, body) VALUES (:origin, now(), -1, '') "
    "ON CONFLICT (origin) DO UPDATE SET status = -1, fetched_at = now(), body = '' "
    "WHERE (robots_cache.status <> -1 AND robots_cache.fetched_at <= now() - :ttl * interval '1 second') "
    "OR (robots_cache.status = -1 AND robots_cache.fetched_at <= now() - :timeout * interval '1 second') "
    "RETURNING origin")
_KEEP = sa.text("UPDATE robots_cache SET status = :status, body = :body, fetched_at = now() WHERE origin = :origin")


class HostGate:
    """Cluster-wide per-host limits for one worker process."""

    def __init__(self, engine: Engine, *, holder: str) -> None:
        self.engine = engine
        self.holder = holder
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="host-gate")
        self._known: set[str] = set()

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    @asynccontextmanager
    async def slot(self, host: str, *, per_host: int, delay: float, lease: float) -> AsyncIterator[None]:
        """Hold one of the host's `per_host` slots, `delay` seconds after the cluster's previous request."""
        while True:
            taken, wait = await self._run(self._take, host, per_host, delay, lease)
            if taken is not None:
                break
            await asyncio.sleep(max(POLL, min(wait, 5.0)))
        try:
            yield
        finally:
            await self._run(self._give, host, taken)

    def _take(self, host: str, per_host: int, delay: float, lease: float) -> tuple[int | None, float]:
        with self.engine.begin() as c:
            if host not in self._known:
                for stmt in _ENSURE:
                    c.execute(stmt, {"host": host, "n": per_host})
                self._known.add(host)
            wait = float(c.execute(_HOST, {"host": host}).scalar() or 0)
            if wait > 0:
                return None, wait
            slot = c.execute(_TAKE, {"host": host, "n": per_host, "lease": lease, "holder": self.holder}).scalar()
            if slot is None:
                return None, POLL
            c.execute(_SPACE, {"host": host, "delay": delay})
            return int(slot), 0.0

    def _give(self, host: str, slot: int) -> None:
        with self.engine.begin() as c:
            c.execute(_GIVE, {"host": host, "slot": slot, "holder": self.holder})

    async def pause(self, host: str, seconds: float) -> None:
        """A 429/503 with Retry-After: no worker sends this host anything for `seconds`."""
        def run() -> None:
            with self.engine.begin() as c:
                c.execute(_PAUSE, {"host": host, "s": seconds})
        await self._run(run)

    async def robots(self, origin: str, *, ttl: float, timeout: float,
                     load: Callable[[], Awaitable[tuple[int, str]]]) -> tuple[int, str]:
        """An origin's robots.txt (status, text), fetched by one worker per `ttl` and shared."""
        while True:
            row = await self._run(self._read, origin)
            if row is not None and row.status != -1 and row.age < ttl:
                return int(row.status), str(row.body)
            if row is None or row.status != -1 or row.age >= timeout:
                if await self._run(self._claim, origin, ttl, timeout):
                    status, text = await load()
                    await self._run(self._keep, origin, status, text)
                    return status, text
            await asyncio.sleep(POLL)  # another worker is fetching it right now

    def _read(self, origin: str) -> Any:
        with self.engine.connect() as c:
            return c.execute(_ROBOTS, {"origin": origin}).first()

    def _claim(self, origin: str, ttl: float, timeout: float) -> bool:
        with self.engine.begin() as c:
            return c.execute(_CLAIM, {"origin": origin, "ttl": ttl, "timeout": timeout}).first() is not None

    def _keep(self, origin: str, status: int, text: str) -> None:
        with self.engine.begin() as c:
            c.execute(_KEEP, {"origin": origin, "status": status, "body": text.replace("\x00", "")})
