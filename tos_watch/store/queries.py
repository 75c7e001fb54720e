"""Read queries for the web view and its API: the one query layer both are built on.

Every list is paginated in SQL (limit/offset plus a total) so no page reads more than
it shows; names are matched case-insensitively, as the commands match them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from tos_watch.errors import NotFoundError
from tos_watch.models import VersionInfo
from tos_watch.store.facts import SEVERITY_RANK, change_facts
from tos_watch.store.schema import documents, snapshots, versions
from tos_watch.store.search import SearchHit, search
from tos_watch.store.sql import ChangeRecord, DocumentState, SnapshotPart, SqlStore, _version, utc

SEVERITY_NAMES = {rank: name for name, rank in SEVERITY_RANK.items()}
PROBLEM_STATUSES = ("failed", "suspect")


@dataclass(frozen=True)
class ChangeFilter:
    """What the dashboard narrows changes to; empty fields do not filter."""

    service: str | None = None
    category: str | None = None
    direction: str | None = None
    min_severity: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    include_cosmetic: bool = False


@dataclass(frozen=True)
class ChangeItem:
    """A recorded change, with its verdict as columns (see facts.py) and its predecessor's id."""

    version: VersionInfo
    previous_id: int
    severity: str
    cosmetic: bool
    classified: bool
    categories: dict[str, str]
    clauses: int
    words: tuple[int, int] = (0, 0)  # added, removed


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    limit: int
    offset: int
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentRow:
    state: DocumentState
    last_change: ChangeItem | None


class Queries:
    """The web view's reads over one store."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.engine = store.engine

    # --- documents ---------------------------------------------------------------------------

    def document(self, service: str, doc_type: str) -> DocumentState:
        rows = [d for d in self._states(service) if d.type.casefold() == doc_type.casefold()]
        if not rows:
            raise NotFoundError(f'no document "{doc_type}" of service "{service}"')
        return rows[0]

    def service_documents(self, service: str) -> list[DocumentRow]:
        """A service's documents, each with its last change."""
        states = self._states(service)
        if not states:
            raise NotFoundError(f'no service named "{service}"')
        last = self._last_changes([s.id for s in states])
        return [DocumentRow(s, last.get(s.id)) for s in states]

    def services(self, *, limit: int, offset: int) -> Page:
        """Services by name, each with its document count, version count and problems."""
        counts = (sa.select(versions.c.document_id, sa.func.count().label("n"),
                            sa.func.max(versions.c.recorded_at).label("latest"))
                  .group_by(versions.c.document_id).subquery())
        failing = sa.case((documents.c.last_status.in_(PROBLEM_STATUSES), 1), else_=0)
        query = (sa.select(documents.c.service, sa.func.count().label("documents"),
                           sa.func.coalesce(sa.func.sum(counts.c.n), 0).label("versions"),
                           sa.func.max(counts.c.latest).label("latest"), sa.func.sum(failing).label("problems"))
                 .outerjoin(counts, counts.c.document_id == documents.c.id)
                 .group_by(documents.c.service).order_by(documents.c.service))
        with self.engine.connect() as c:
            total = c.execute(sa.select(sa.func.count(sa.distinct(documents.c.service)))).scalar() or 0
            rows = c.execute(query.limit(limit).offset(offset)).all()
        items = [{"service": r.service, "documents": r.documents, "versions": int(r.versions),
                  "latest_recorded_at": utc(r.latest), "problems": int(r.problems or 0)} for r in rows]
        return Page(items, int(total), limit, offset)

    def problems(self, *, limit: int = 50) -> list[DocumentState]:
        """Documents whose last check failed or looked withdrawn, longest-standing first."""
        return [s for s in self._states(None, problems_only=True)][:limit]

    def last_good_fetch(self, document_id: int) -> datetime | None:
        with self.engine.connect() as c:
            return utc(c.execute(sa.select(sa.func.max(snapshots.c.fetched_at))
                                 .where(snapshots.c.document_id == document_id)).scalar())

    def _states(self, service: str | None, *, problems_only: bool = False) -> list[DocumentState]:
        counts = (sa.select(versions.c.document_id, sa.func.count().label("n"),
                            sa.func.max(versions.c.recorded_at).label("latest"))
                  .group_by(versions.c.document_id).subquery())
        query = (sa.select(documents, counts.c.n, counts.c.latest)
                 .outerjoin(counts, counts.c.document_id == documents.c.id)
                 .order_by(documents.c.service, documents.c.type))
        if service is not None:
            query = query.where(sa.func.lower(documents.c.service) == service.lower())
        if problems_only:
            query = query.where(documents.c.last_status.in_(PROBLEM_STATUSES))
        with self.engine.connect() as c:
            return [DocumentState(r.id, r.service, r.type, r.url, utc(r.last_checked_at), r.last_status,
                                  r.last_error, r.n or 0, utc(r.latest)) for r in c.execute(query)]

    # --- versions ----------------------------------------------------------------------------

    def timeline(self, document_id: int, *, limit: int, offset: int) -> Page:
        """A document's versions, newest first, each with the verdict of the change that made it."""
        query = (self._change_query().where(versions.c.document_id == document_id)
                 .order_by(versions.c.recorded_at.desc(), versions.c.id.desc()))
        with self.engine.connect() as c:
            total = c.execute(sa.select(sa.func.count()).where(versions.c.document_id == document_id)).scalar()
            rows = c.execute(query.limit(limit).offset(offset)).all()
        return Page([_change_item(r) for r in rows], int(total or 0), limit, offset)

    def version(self, document_id: int, version_id: int) -> VersionInfo:
        """A version of this document; NotFound for an unknown id or another document's version."""
        with self.engine.connect() as c:
            row = c.execute(self.store._version_query().where(versions.c.id == version_id,
                                                               versions.c.document_id == document_id)).first()
        if row is None:
            raise NotFoundError(f"version {version_id} is not a version of this document")
        return _version(row)

    def change(self, document_id: int, version_id: int) -> ChangeItem:
        """A version with its verdict and predecessor (previous_id 0 for a first version)."""
        with self.engine.connect() as c:
            row = c.execute(self._change_query(with_assessment=True).where(
                versions.c.id == version_id, versions.c.document_id == document_id)).first()
        if row is None:
            raise NotFoundError(f"version {version_id} is not a version of this document")
        return _change_item(row)

    def version_at(self, document_id: int, when: datetime) -> VersionInfo:
        """The version in force at a time: the last one recorded on or before it."""
        with self.engine.connect() as c:
            row = c.execute(self.store._version_query().where(
                versions.c.document_id == document_id, versions.c.recorded_at <= when)
                .order_by(versions.c.recorded_at.desc(), versions.c.id.desc()).limit(1)).first()
        if row is None:
            raise NotFoundError(f"no version of this document was recorded on or before {when:%Y-%m-%d %H:%M}")
        return _version(row)

    def latest(self, document_id: int) -> VersionInfo | None:
        with self.engine.connect() as c:
            row = c.execute(self.store._version_query().where(versions.c.document_id == document_id)
                            .order_by(versions.c.recorded_at.desc(), versions.c.id.desc()).limit(1)).first()
        return _version(row) if row else None

    def neighbours(self, document_id: int, version: VersionInfo) -> tuple[int | None, int | None]:
        """The previous and next change of the same document (versions that have a predecessor)."""
        base = sa.select(versions.c.id).where(versions.c.document_id == document_id,
                                               versions.c.previous_id.is_not(None))
        key = sa.tuple_(versions.c.recorded_at, versions.c.id)
        at = sa.tuple_(sa.literal(version.recorded_at), sa.literal(version.id))
        with self.engine.connect() as c:
            before = c.execute(base.where(key < at).order_by(versions.c.recorded_at.desc(), versions.c.id.desc())
                               .limit(1)).scalar()
            after = c.execute(base.where(key > at).order_by(versions.c.recorded_at, versions.c.id)
                              .limit(1)).scalar()
        return before, after

    def has_snapshot(self, version_id: int) -> bool:
        with self.engine.connect() as c:
            return c.execute(sa.select(versions.c.snapshot_id).where(versions.c.id == version_id)).scalar() \
                is not None

    def snapshot_parts(self, version_id: int) -> list[SnapshotPart]:
        """The raw pages a fetched version was extracted from (none for imported versions)."""
        query = (sa.select(snapshots.c.parts).join(versions, versions.c.snapshot_id == snapshots.c.id)
                 .where(versions.c.id == version_id))
        with self.engine.connect() as c:
            parts = c.execute(query).scalar()
        if not parts:
            raise NotFoundError(f"version {version_id} has no raw snapshot (imported versions keep none)")
        return [SnapshotPart(p["url"], self.store.raw.get(p["hash"]), p["content_type"], p.get("status", 200))
                for p in parts]

    # --- changes -----------------------------------------------------------------------------

    def changes(self, f: ChangeFilter, *, limit: int, offset: int) -> Page:
        """Recorded changes, most severe first then newest; cosmetic ones counted unless asked for."""
        where = self._change_filter(f)
        base = (sa.select(sa.func.count()).select_from(change_facts)
                .join(versions, versions.c.id == change_facts.c.version_id)
                .join(documents, documents.c.id == versions.c.document_id).where(*where))
        query = (self._change_query().where(*where, sa.or_(change_facts.c.cosmetic.is_(False),
                                                            sa.literal(f.include_cosmetic)))
                 .order_by(change_facts.c.severity.desc(), versions.c.recorded_at.desc(), versions.c.id.desc()))
        with self.engine.connect() as c:
            cosmetic = c.execute(base.where(change_facts.c.cosmetic.is_(True))).scalar() or 0
            total = c.execute(base).scalar() or 0
            rows = c.execute(query.limit(limit).offset(offset)).all()
        shown = total if f.include_cosmetic else total - cosmetic
        return Page([_change_item(r) for r in rows], int(shown), limit, offset, {"cosmetic": int(cosmetic)})

    @staticmethod
    def _change_filter(f: ChangeFilter) -> list[Any]:
        where: list[Any] = [versions.c.previous_id.is_not(None), versions.c.origin != "reextract"]
        if f.service:
            where.append(sa.func.lower(documents.c.service) == f.service.lower())
        if f.category or f.direction:
            # categories is " licensing:broadens access:narrows ": spaces delimit each pair
            pattern = f"% {f.category}:{f.direction} %" if f.category and f.direction else \
                f"% {f.category}:%" if f.category else f"%:{f.direction} %"
            where.append(change_facts.c.categories.like(pattern))
        if f.min_severity:
            where.append(change_facts.c.severity >= SEVERITY_RANK[f.min_severity])
        if f.since:
            where.append(versions.c.recorded_at >= f.since)
        if f.until:
            where.append(versions.c.recorded_at <= f.until)
        return where

    def _last_changes(self, document_ids: Sequence[int]) -> dict[int, ChangeItem]:
        ranked = (sa.select(versions.c.id, sa.func.row_number().over(
            partition_by=versions.c.document_id,
            order_by=(versions.c.recorded_at.desc(), versions.c.id.desc())).label("rank"))
            .where(versions.c.document_id.in_(list(document_ids)), versions.c.previous_id.is_not(None))
            .subquery())
        query = self._change_query().join(ranked, ranked.c.id == versions.c.id).where(ranked.c.rank == 1)
        with self.engine.connect() as c:
            return {r.document_id: _change_item(r) for r in c.execute(query)}

    def _change_query(self, with_assessment: bool = False) -> sa.Select[Any]:
        return (self.store._version_query(with_assessment=with_assessment)
                .add_columns(change_facts.c.severity.label("f_severity"), change_facts.c.cosmetic.label("f_cosmetic"),
                             change_facts.c.classified.label("f_classified"),
                             change_facts.c.categories.label("f_categories"), change_facts.c.clauses.label("f_clauses"))
                .outerjoin(change_facts, change_facts.c.version_id == versions.c.id))

    def feed_changes(self, *, services: Sequence[str], category: str | None, limit: int) -> list[ChangeRecord]:
        """The newest flagged (substantive, fetched) changes, oldest first, as the Atom feed takes them."""
        where = self._change_filter(ChangeFilter(category=category))
        where += [change_facts.c.cosmetic.is_(False), versions.c.origin == "fetch"]
        if services:
            where.append(sa.func.lower(documents.c.service).in_([s.lower() for s in services]))
        query = (self.store._version_query().add_columns(documents.c.url).join(
            change_facts, change_facts.c.version_id == versions.c.id).where(*where)
            .order_by(versions.c.recorded_at.desc(), versions.c.id.desc()).limit(limit))
        with self.engine.connect() as c:
            rows = c.execute(query).all()
        previous = {v.id: v for v in self.store._versions_by_id({r.previous_id for r in rows})}
        return [ChangeRecord(_version(r), previous[r.previous_id], r.url) for r in reversed(rows)]

    # --- search ------------------------------------------------------------------------------

    def search(self, q: str, *, limit: int, offset: int) -> list[SearchHit]:
        with self.engine.connect() as c:
            return search(c, q, limit=limit, offset=offset)


def _change_item(r: Any) -> ChangeItem:
    cats = dict(pair.split(":", 1) for pair in (r.f_categories or "").split() if ":" in pair)
    severity = SEVERITY_NAMES.get(r.f_severity if r.f_severity is not None else 1, "low")
    return ChangeItem(version=_version(r), previous_id=int(r.previous_id or 0), severity=severity,
                      cosmetic=bool(r.f_cosmetic), classified=bool(r.f_classified), categories=cats,
                      clauses=int(r.f_clauses or 0), words=(int(r.words_added or 0), int(r.words_removed or 0)))
