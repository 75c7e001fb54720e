"""What the machines of a cluster share beyond versions: the scheduler's notes and PostgreSQL locks.

Advisory locks, not rows, for "only one at a time": PostgreSQL releases a session's
locks when its connection ends, so a scheduler or worker killed with `kill -9` never
leaves a stale lock behind (the kernel closes its socket; the server notices at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine

from tos_watch.errors import StoreError
from tos_watch.store.schema import cluster_state

LOCK_SPACE = 0x7457  # advisory-lock namespace of tos_watch ("tW"): (space, key) pairs
SCHEDULER_KEY = 0
DOCUMENT_SPACE = LOCK_SPACE + 1  # (space, document id): one check of a document at a time
REGISTER_KEY = 1  # (LOCK_SPACE, 1): machines creating the watchlist's document rows, one at a time
WATCHLIST = "watchlist"


class ClusterStore:
    """Shared state in the store's PostgreSQL database."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name != "postgresql":
            raise StoreError("a cluster needs a PostgreSQL store ([storage] database_url = \"postgresql+psycopg://...\")")
        self.engine = engine

    def put(self, key: str, value: str) -> None:
        stmt = postgresql.insert(cluster_state).values(key=key, value=value, updated_at=datetime.now(UTC))
        with self.engine.begin() as c:
            c.execute(stmt.on_conflict_do_update(index_elements=["key"], set_={
                "value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at}))

    def get(self, key: str) -> str | None:
        with self.engine.connect() as c:
            value = c.execute(sa.select(cluster_state.c.value).where(cluster_state.c.key == key)).scalar()
        return None if value is None else str(value)

    @contextmanager
    def scheduler_lock(self) -> Iterator[None]:
        """Be the cluster's only scheduler for the block, or fail with one line."""
        with self.engine.connect() as c:
            got = c.execute(sa.text("SELECT pg_try_advisory_lock(:s, :k)"),
                            {"s": LOCK_SPACE, "k": SCHEDULER_KEY}).scalar()
            c.commit()
            if not got:
                holder = c.execute(sa.text(
                    "SELECT a.client_addr, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE l.locktype = 'advisory' AND l.classid = :s AND l.objid = :k AND l.granted"),
                    {"s": LOCK_SPACE, "k": SCHEDULER_KEY}).first()
                where = f" (database session {holder.pid} from {holder.client_addr or 'a local socket'})" \
                    if holder else ""
                raise StoreError(f"another scheduler already runs for this database{where}; a cluster has one "
                                 "`tos-watch daemon` and any number of `tos-watch worker`s")
            try:
                yield
            finally:
                c.execute(sa.text("SELECT pg_advisory_unlock(:s, :k)"), {"s": LOCK_SPACE, "k": SCHEDULER_KEY})
                c.commit()

    @contextmanager
    def registering(self) -> Iterator[None]:
        """Machines starting at once create the documents' rows one after the other (unique names)."""
        with self.engine.connect() as c:
            c.execute(sa.text("SELECT pg_advisory_lock(:s, :k)"), {"s": LOCK_SPACE, "k": REGISTER_KEY})
            c.commit()
            try:
                yield
            finally:
                c.execute(sa.text("SELECT pg_advisory_unlock(:s, :k)"), {"s": LOCK_SPACE, "k": REGISTER_KEY})
                c.commit()

    @contextmanager
    def document_lock(self, document_id: int) -> Iterator[bool]:
        """Hold the document's lock for a check; yields False when another check of it holds it."""
        with self.engine.connect() as c:
            got = bool(c.execute(sa.text("SELECT pg_try_advisory_lock(:s, :k)"),
                                 {"s": DOCUMENT_SPACE, "k": document_id}).scalar())
            c.commit()
            try:
                yield got
            finally:
                if got:
                    c.execute(sa.text("SELECT pg_advisory_unlock(:s, :k)"), {"s": DOCUMENT_SPACE, "k": document_id})
                    c.commit()
