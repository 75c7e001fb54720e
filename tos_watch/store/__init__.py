"""Where versions live: a Store protocol and its SQLAlchemy implementation.

Raw snapshots (compressed, content-addressed) and version texts (Markdown,
content-addressed) are files under the data directory; metadata is in the
database (SQLite in the data directory by default, PostgreSQL by URL), whose
schema Alembic migrates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from tos_watch.models import Document, RawJson, VersionInfo
from tos_watch.store.history import EarlierVersions
from tos_watch.store.sql import (
    ChangeRecord,
    CheckRecord,
    CheckState,
    DocumentState,
    SnapshotPart,
    SqlStore,
    open_store,
    text_hash,
)

__all__ = ["ChangeRecord", "CheckRecord", "CheckState", "DocumentState", "EarlierVersions", "SnapshotPart",
           "SqlStore", "Store", "open_store", "text_hash"]


class Store(Protocol):
    """What the pipeline and the commands need of a store."""

    def check_states(self, docs: Sequence[Document]) -> dict[tuple[str, str], CheckState]: ...
    def check_state(self, doc: Document) -> CheckState: ...
    def save_states(self, records: Sequence[CheckRecord]) -> None: ...
    def latest_version(self, doc: Document) -> VersionInfo | None: ...
    def version_text(self, version: VersionInfo) -> str: ...
    def earlier_versions(self, latest: VersionInfo, new_hash: str) -> EarlierVersions: ...
    def assessments(self, version_ids: Sequence[int]) -> dict[int, dict[str, Any]]: ...
    def versions(self, service: str, doc_type: str | None = None) -> list[VersionInfo]: ...
    def save_check(self, record: CheckRecord) -> VersionInfo | None: ...
    def record_version(self, doc: Document, text: str, recorded_at: datetime, *, origin: str,
                       source_ref: str | None = None, snapshot_id: int | None = None,
                       assessment: dict[str, Any] | RawJson | None = None,
                       words: tuple[int, int] = (0, 0)) -> VersionInfo | None: ...
    def latest_snapshot(self, doc: Document) -> tuple[int, datetime, list[SnapshotPart]] | None: ...
    def changes_since(self, since: datetime | None = None) -> list[ChangeRecord]: ...
    def document_states(self) -> list[DocumentState]: ...
