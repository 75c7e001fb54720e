"""Content-addressed files: raw snapshots (compressed) and version texts (plain Markdown).

A file's name is the SHA-256 of its content, so writing the same page twice
costs nothing and a half-written file can never be mistaken for a real one:
content goes to a temporary file in the same directory and is renamed into
place, which is atomic on POSIX, so a killed process never leaves a partial
file. Nothing is fsynced: like SQLite in WAL mode with synchronous=NORMAL, the
store survives any process crash, and only a power loss could drop the last
moments of a run (whose database rows would go with them); an fsync per file
would cost more than the rest of a check.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from pathlib import Path
from typing import Protocol

from tos_watch.errors import StoreError


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Blobs(Protocol):
    """Content-addressed bytes: files here, or a database table (dbblobs.py)."""

    def put(self, data: bytes) -> str: ...
    def get(self, digest: str) -> bytes: ...


class BlobStore:
    """Files under `root`, named by hash, fanned out by the hash's first two characters."""

    def __init__(self, root: Path, *, suffix: str, compress: bool) -> None:
        self.root = root
        self.suffix = suffix
        self.compress = compress

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / f"{digest}{self.suffix}"

    def put(self, data: bytes) -> str:
        """Store `data` and return its hash; a no-op when it is already there."""
        digest = sha256(data)
        target = self.path(digest)
        if target.exists():
            return digest
        payload = zlib.compress(data, 1) if self.compress else data
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            os.replace(tmp, target)
        except OSError as exc:
            raise StoreError(f"cannot write {target}: {exc}") from exc
        return digest

    def get(self, digest: str) -> bytes:
        try:
            payload = self.path(digest).read_bytes()
        except OSError as exc:
            raise StoreError(f"missing or unreadable file for {digest[:12]} in {self.root}: {exc}") from exc
        return zlib.decompress(payload) if self.compress else payload
