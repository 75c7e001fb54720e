"""The store: SQLAlchemy (SQLite by default, PostgreSQL as the option) plus files.

One check of one document is one transaction (`save_check`): its snapshot, its
new version if the text changed, and the document's state commit together or
not at all, so a crash or `kill -9` mid-run leaves every document either as it
was or fully checked. Files are written before the transaction that names them;
an interrupted run can leave an unreferenced file, never a reference to a
missing one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tos_watch.config import StorageSettings
from tos_watch.errors import NotFoundError, StoreError
from tos_watch.models import Document, RawJson, Validators, VersionInfo
from tos_watch.store.blobs import Blobs, BlobStore, sha256
from tos_watch.store.facts import record_facts
from tos_watch.store.schema import documents, snapshots, versions
from tos_watch.store.search import index_current

if TYPE_CHECKING:
    from tos_watch.store.history import EarlierVersions

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest Alembic revision; a test checks it against the migration scripts. An up-to-date
# database is recognised with one query, without importing Alembic (a tenth of `check`'s start-up).
SCHEMA_REVISION = "0005_search"


@dataclass(frozen=True, slots=True)
class SnapshotPart:
    """One fetched source of a document, as kept for re-extraction."""

    url: str
    content: bytes
    content_type: str
    status: int = 200


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """Everything one check of one document wants to write, saved atomically."""

    document: Document
    checked_at: datetime
    status: str
    error: str | None = None
    validators: list[Validators] | None = None  # None keeps what was there
    parts: list[SnapshotPart] | None = None  # raw pages fetched (None on 304 or failure)
    text: str | None = None  # a new version's text, when the text changed
    assessment: dict[str, Any] | RawJson | None = None
    words: tuple[int, int] = (0, 0)
    suspect_hash: str | None = None


@dataclass(frozen=True, slots=True)
class CheckState:
    """What a check needs to know of a document before fetching it, read in one query per run."""

    validators: list[Validators] | None
    suspect_hash: str | None
    latest: VersionInfo | None


@dataclass(frozen=True, slots=True)
class DocumentState:
    id: int
    service: str
    type: str
    url: str
    last_checked_at: datetime | None
    last_status: str | None
    last_error: str | None
    version_count: int
    latest_recorded_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """A recorded change: a version and the one it replaced."""

    version: VersionInfo
    previous: VersionInfo
    url: str


def utc(dt: datetime | None) -> datetime | None:
    """SQLite drops tzinfo; every datetime we hand out is aware UTC."""
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _connect_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (status, web) never block a running check
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable against process crashes; WAL keeps it consistent
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class SqlStore:
    """Versions and snapshots of documents, in a database and a data directory."""

    def __init__(self, settings: StorageSettings) -> None:
        self.dir = settings.dir
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create data directory {self.dir}: {exc}") from exc
        self.raw: Blobs = BlobStore(self.dir / "raw", suffix=".z", compress=True)
        self.texts: Blobs = BlobStore(self.dir / "versions", suffix=".md", compress=False)
        self.engine: Engine = sa.create_engine(settings.url, future=True, json_serializer=_json_text)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _connect_sqlite)
        if settings.blobs_in_database:  # no shared disk between machines: blobs live beside the rows
            from tos_watch.store.dbblobs import DatabaseBlobStore
            from tos_watch.store.schema import raw_blobs, text_blobs

            self.raw = DatabaseBlobStore(self.engine, raw_blobs, compress=True, files=self.raw)
            self.texts = DatabaseBlobStore(self.engine, text_blobs, compress=False, files=self.texts)
        self._doc_ids: dict[tuple[str, str], int] = {}

    # --- lifecycle ---------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        try:
            if self._revision() == SCHEMA_REVISION:
                return
            from alembic import command
            from alembic.config import Config

            cfg = Config()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            with self.engine.begin() as conn:
                if conn.dialect.name == "postgresql":  # machines of a cluster starting at once migrate one by one
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(29783, 1)"))
                cfg.attributes["connection"] = conn
                cfg.attributes["texts"] = self.texts  # the search migration indexes the current texts
                command.upgrade(cfg, "head")
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot open the database {self.engine.url!r}: {exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0]}") from exc

    def _revision(self) -> str | None:
        """The database's Alembic revision; None for a new database."""
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # --- documents ---------------------------------------------------------------------------

    def document_id(self, doc: Document, conn: Connection | None = None) -> int:
        """The document's row id, creating the row on first sight."""
        cached = self._doc_ids.get(doc.key)
        if cached is not None:
            return cached
        with self._conn(conn) as c:
            row = c.execute(sa.select(documents.c.id, documents.c.url).where(
                documents.c.service == doc.service, documents.c.type == doc.type)).first()
            if row is None:
                doc_id = _insert(c, documents, service=doc.service, type=doc.type, url=doc.url,
                                 created_at=_now())
            else:
                doc_id = row.id
                if row.url != doc.url:
                    c.execute(documents.update().where(documents.c.id == doc_id).values(url=doc.url))
        self._doc_ids[doc.key] = doc_id
        return int(doc_id)

    def document_states(self) -> list[DocumentState]:
        """Every known document with its last check and version count, by service and type."""
        counts = (sa.select(versions.c.document_id, sa.func.count().label("n"),
                            sa.func.max(versions.c.recorded_at).label("latest"))
                  .group_by(versions.c.document_id).subquery())
        query = (sa.select(documents, counts.c.n, counts.c.latest)
                 .outerjoin(counts, counts.c.document_id == documents.c.id)
                 .order_by(documents.c.service, documents.c.type))
        with self.engine.connect() as c:
            return [DocumentState(r.id, r.service, r.type, r.url, utc(r.last_checked_at), r.last_status,
                                  r.last_error, r.n or 0, utc(r.latest)) for r in c.execute(query)]

    def check_states(self, docs: Sequence[Document]) -> dict[tuple[str, str], CheckState]:
        """Validators, suspect text and latest version of many documents, in two queries.

        A run over thousands of documents would otherwise spend most of its time on
        three small queries per document.
        """
        ids = self.document_ids(docs)
        ranked = (sa.select(versions.c.id, sa.func.row_number().over(
            partition_by=versions.c.document_id,
            order_by=(versions.c.recorded_at.desc(), versions.c.id.desc())).label("rank"))
            .where(versions.c.document_id.in_(ids.values())).subquery())
        latest_query = (self._version_query(with_assessment=False).join(ranked, ranked.c.id == versions.c.id)
                        .where(ranked.c.rank == 1))
        with self.engine.connect() as c:
            latest = {(r.service, r.type): _version(r) for r in c.execute(latest_query)}
            rows = c.execute(sa.select(documents.c.service, documents.c.type, documents.c.validators,
                                       documents.c.suspect_hash).where(documents.c.id.in_(ids.values())))
            return {(r.service, r.type): CheckState(_validators(r.validators), r.suspect_hash,
                                                    latest.get((r.service, r.type))) for r in rows}

    def check_state(self, doc: Document) -> CheckState:
        return self.check_states([doc])[doc.key]

    def document_ids(self, docs: Sequence[Document]) -> dict[tuple[str, str], int]:
        """Row ids of many documents, creating the missing rows in one transaction."""
        missing = [d for d in docs if d.key not in self._doc_ids]
        if missing:
            with self.engine.begin() as c:
                known = {(r.service, r.type): r for r in c.execute(
                    sa.select(documents.c.id, documents.c.service, documents.c.type, documents.c.url))}
                for doc in missing:
                    row = known.get(doc.key)
                    if row is not None and row.url == doc.url:  # the common case: one query for them all
                        self._doc_ids[doc.key] = row.id
                    else:
                        self.document_id(doc, c)
        return {d.key: self._doc_ids[d.key] for d in docs}

    def save_states(self, records: Sequence[CheckRecord]) -> None:
        """Save many checks that recorded no text or snapshot (unchanged, failed) in one transaction."""
        if not records:
            return
        with self.engine.begin() as c:
            by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for record in records:
                assert record.text is None and record.parts is None, "save_check records versions"
                state = self._state(record)
                by_columns.setdefault(tuple(state), []).append(
                    {"doc_id": self.document_id(record.document, c), **state})
            for rows in by_columns.values():  # one executemany per set of columns
                c.execute(_SET_STATE, rows)

    # --- versions ----------------------------------------------------------------------------

    def latest_version(self, doc: Document) -> VersionInfo | None:
        query = self._version_query().where(versions.c.document_id == self.document_id(doc)) \
            .order_by(versions.c.recorded_at.desc(), versions.c.id.desc()).limit(1)
        with self.engine.connect() as c:
            row = c.execute(query).first()
        return _version(row) if row else None

    def versions(self, service: str, doc_type: str | None = None) -> list[VersionInfo]:
        """Versions of a service's documents, oldest first (case-insensitive names)."""
        query = self._version_query().where(sa.func.lower(documents.c.service) == service.lower())
        if doc_type is not None:
            query = query.where(sa.func.lower(documents.c.type) == doc_type.lower())
        with self.engine.connect() as c:
            rows = c.execute(query.order_by(documents.c.type, versions.c.recorded_at, versions.c.id)).all()
        return [_version(r) for r in rows]

    def version(self, version_id: int) -> VersionInfo:
        with self.engine.connect() as c:
            row = c.execute(self._version_query().where(versions.c.id == version_id)).first()
        if row is None:
            raise NotFoundError(f"no version with id {version_id}")
        return _version(row)

    def assessments(self, version_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The stored assessments of some versions, by id (those without one are left out)."""
        with self.engine.connect() as c:
            rows = c.execute(sa.select(versions.c.id, versions.c.assessment).where(
                versions.c.id.in_(list(version_ids)), versions.c.assessment.is_not(None)))
            return {r.id: r.assessment for r in rows}

    def version_text(self, version: VersionInfo) -> str:
        return self.texts.get(version.text_hash).decode("utf-8")

    def earlier_versions(self, latest: VersionInfo, new_hash: str) -> EarlierVersions:
        """What a new text may return to: an earlier version with its hash, and the last few distinct ones."""
        from tos_watch.store.history import earlier_versions  # the module imports this one

        return earlier_versions(self.engine, latest, new_hash)

    def changes_since(self, since: datetime | None = None) -> list[ChangeRecord]:
        """Recorded changes (versions with a predecessor), oldest first; re-extractions excluded."""
        query = self._version_query().add_columns(versions.c.previous_id, documents.c.url).where(
            versions.c.previous_id.is_not(None), versions.c.origin != "reextract")
        if since is not None:
            query = query.where(versions.c.recorded_at > since)
        with self.engine.connect() as c:
            rows = c.execute(query.order_by(versions.c.recorded_at, versions.c.id)).all()
        previous = {v.id: v for v in self._versions_by_id({r.previous_id for r in rows})}
        return [ChangeRecord(_version(r), previous[r.previous_id], r.url) for r in rows]

    def _versions_by_id(self, ids: set[int]) -> list[VersionInfo]:
        if not ids:
            return []
        with self.engine.connect() as c:
            return [_version(r) for r in c.execute(self._version_query().where(versions.c.id.in_(ids)))]

    @staticmethod
    def _version_query(with_assessment: bool = True) -> sa.Select[Any]:
        """Versions with their document's names; without the assessment JSON where it is not needed."""
        columns = [c for c in versions.c if with_assessment or c.name != "assessment"]
        return sa.select(*columns, documents.c.service, documents.c.type).join(
            documents, documents.c.id == versions.c.document_id)

    # --- writing -----------------------------------------------------------------------------

    def save_check(self, record: CheckRecord) -> VersionInfo | None:
        """Write one check's snapshot, new version and state in one transaction."""
        text_hash = self.texts.put(record.text.encode("utf-8")) if record.text is not None else None
        parts = [self._store_part(p) for p in record.parts] if record.parts else None
        with self.engine.begin() as c:
            doc_id = self.document_id(record.document, c)
            snapshot_id = None
            if parts is not None:
                snapshot_id = _insert(c, snapshots, document_id=doc_id, fetched_at=record.checked_at,
                                      parts=parts)
            version_id = None
            if record.text is not None and text_hash is not None:
                version_id = self._insert_version(
                    c, doc_id, record.text, text_hash, record.checked_at, origin="fetch",
                    snapshot_id=snapshot_id, assessment=record.assessment, words=record.words)
            c.execute(_SET_STATE, {"doc_id": doc_id, **self._state(record)})
        if version_id is None or text_hash is None or record.text is None:
            return None
        return VersionInfo(version_id, record.document.service, record.document.type, record.checked_at,
                           text_hash, len(record.text), "fetch",
                           None if isinstance(record.assessment, RawJson) else record.assessment)

    @staticmethod
    def _state(record: CheckRecord) -> dict[str, Any]:
        state: dict[str, Any] = {"last_checked_at": record.checked_at, "last_status": record.status,
                                 "last_error": record.error, "suspect_hash": record.suspect_hash}
        if record.validators is not None:
            state["validators"] = [{"etag": v.etag, "last_modified": v.last_modified}
                                   for v in record.validators]
        if record.status == "failed":
            state["validators"] = None  # after a failure, fetch in full next time
        return state

    def _store_part(self, part: SnapshotPart) -> dict[str, Any]:
        return {"hash": self.raw.put(part.content), "url": part.url, "content_type": part.content_type,
                "status": part.status}

    def record_version(self, doc: Document, text: str, recorded_at: datetime, *, origin: str,
                       source_ref: str | None = None, snapshot_id: int | None = None,
                       assessment: dict[str, Any] | RawJson | None = None,
                       words: tuple[int, int] = (0, 0)) -> VersionInfo | None:
        """Record a version from elsewhere (import, re-extraction); None when it adds nothing.

        Idempotent: the same `source_ref` is never recorded twice, and a text equal to
        the version it would follow is not a new version.
        """
        text_hash = self.texts.put(text.encode("utf-8"))
        with self.engine.begin() as c:
            doc_id = self.document_id(doc, c)
            if source_ref and c.execute(sa.select(versions.c.id).where(
                    versions.c.document_id == doc_id, versions.c.source_ref == source_ref)).first():
                return None
            version_id = self._insert_version(c, doc_id, text, text_hash, recorded_at, origin=origin,
                                              snapshot_id=snapshot_id, assessment=assessment, words=words,
                                              source_ref=source_ref)
        if version_id is None:
            return None
        return VersionInfo(version_id, doc.service, doc.type, recorded_at, text_hash, len(text), origin,
                           None if isinstance(assessment, RawJson) else assessment)

    def _insert_version(self, c: Connection, doc_id: int, text: str, text_hash: str, at: datetime, *,
                        origin: str, snapshot_id: int | None, assessment: dict[str, Any] | RawJson | None,
                        words: tuple[int, int], source_ref: str | None = None) -> int | None:
        previous = c.execute(sa.select(versions.c.id, versions.c.text_hash).where(
            versions.c.document_id == doc_id, versions.c.recorded_at <= at)
            .order_by(versions.c.recorded_at.desc(), versions.c.id.desc()).limit(1)).first()
        if previous is not None and previous.text_hash == text_hash:
            return None  # saving the text of the version it follows is a no-op
        new_id = _insert(c, versions, document_id=doc_id, recorded_at=at, text_hash=text_hash, size=len(text),
                         snapshot_id=snapshot_id, previous_id=previous.id if previous else None, origin=origin,
                         source_ref=source_ref, assessment=assessment, words_added=words[0],
                         words_removed=words[1])
        # A version inserted before later ones (history imported after fetching) becomes their predecessor.
        c.execute(versions.update().where(
            versions.c.document_id == doc_id, versions.c.id != new_id, versions.c.recorded_at > at,
            versions.c.previous_id == (previous.id if previous else None)).values(previous_id=new_id))
        record_facts(c, new_id, doc_id, at, assessment)  # the web view's filters and sort, in columns
        if c.execute(sa.select(versions.c.id).where(versions.c.document_id == doc_id,
                                                    versions.c.recorded_at > at).limit(1)).first() is None:
            index_current(c, doc_id, new_id, text)  # search covers current texts only
        return new_id

    # --- snapshots ---------------------------------------------------------------------------

    def latest_snapshot(self, doc: Document) -> tuple[int, datetime, list[SnapshotPart]] | None:
        """The newest raw snapshot of a document, for re-extraction without refetching."""
        with self.engine.connect() as c:
            row = c.execute(sa.select(snapshots).where(snapshots.c.document_id == self.document_id(doc))
                            .order_by(snapshots.c.fetched_at.desc(), snapshots.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        parts = [SnapshotPart(p["url"], self.raw.get(p["hash"]), p["content_type"], p.get("status", 200))
                 for p in row.parts]
        return row.id, utc(row.fetched_at) or _now(), parts

    @contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.engine.begin() as c:
                yield c


def _validators(value: list[dict[str, str | None]] | None) -> list[Validators] | None:
    if not value:
        return None
    return [Validators(etag=v.get("etag"), last_modified=v.get("last_modified")) for v in value]


# A document's state update; the parameters' keys say which columns it sets. One statement for
# every check, compiled once, where .values(...) would build and coerce a new one each time.
_SET_STATE = documents.update().where(documents.c.id == sa.bindparam("doc_id"))


def _json_text(value: Any) -> str:
    """The database's JSON encoder: a RawJson is already JSON text."""
    return value if isinstance(value, RawJson) else json.dumps(value)


def _insert(c: Connection, table: sa.Table, **values: Any) -> int:
    """Insert a row and return its new id."""
    key = c.execute(table.insert(), values).inserted_primary_key  # parameters, not .values(): no new statement
    assert key is not None
    return int(key[0])


def _version(row: Any) -> VersionInfo:
    return VersionInfo(id=row.id, document_service=row.service, document_type=row.type,
                       recorded_at=utc(row.recorded_at) or _now(), text_hash=row.text_hash, size=row.size,
                       origin=row.origin, assessment=getattr(row, "assessment", None))


def _now() -> datetime:
    return datetime.now(UTC)


def text_hash(text: str) -> str:
    return sha256(text.encode("utf-8"))


def open_store(settings: StorageSettings) -> SqlStore:
    """Open (creating and migrating as needed) the store the settings name."""
    store = SqlStore(settings)
    store.migrate()
    return store
