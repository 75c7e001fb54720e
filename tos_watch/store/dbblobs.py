"""Content-addressed blobs in the database: raw snapshots and version texts without a shared disk.

The same interface as blobs.BlobStore (`put` returns the SHA-256, `get` returns the
bytes), so every reader (history, diff, digest, feed, re-extraction) works unchanged.
A blob is written in its own short transaction before the check's transaction names
it, as with files: a crash can leave an unreferenced blob, never a missing one. Writing
the same content twice is one `INSERT ... ON CONFLICT DO NOTHING`. Blobs a store wrote
as files before it moved to the database are still read from the data directory.
"""

from __future__ import annotations

import zlib

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from tos_watch.errors import StoreError
from tos_watch.store.blobs import BlobStore, sha256


class DatabaseBlobStore:
    """Blobs in `table` (digest, data), optionally zlib-compressed; older files as a fallback."""

    def __init__(self, engine: Engine, table: sa.Table, *, compress: bool, files: BlobStore) -> None:
        self.engine = engine
        self.table = table
        self.compress = compress
        self.files = files
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self._put = insert(table).on_conflict_do_nothing(index_elements=["digest"])
        self._get = sa.select(table.c.data).where(table.c.digest == sa.bindparam("digest"))

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        payload = zlib.compress(data, 1) if self.compress else data
        try:
            with self.engine.begin() as c:
                c.execute(self._put, {"digest": digest, "data": payload})
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot write blob {digest[:12]} to the database: {exc.__class__.__name__}") from exc
        return digest

    def get(self, digest: str) -> bytes:
        with self.engine.connect() as c:
            payload = c.execute(self._get, {"digest": digest}).scalar()
        if payload is None:
            return self.files.get(digest)  # written as a file before the store kept blobs in the database
        return zlib.decompress(payload) if self.compress else bytes(payload)
