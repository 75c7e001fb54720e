"""The versions a change is judged against: what the document said before its latest version.

Bounded, because a check must stay cheap at thousands of documents: one
indexed query finds an earlier version with exactly the new text (any age);
the texts of only the last few distinct versions are read, for near-equality.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tos_watch.models import VersionInfo
from tos_watch.store.schema import documents, versions
from tos_watch.store.sql import utc

RECENT_DISTINCT = 4  # texts read for near-equality: capture swaps in the corpus return within two versions


@dataclass(frozen=True, slots=True)
class EarlierVersions:
    """What the store knows before the latest version: an exact match of the new text, and the recent ones."""

    same_text: VersionInfo | None
    recent: list[VersionInfo]  # oldest first, distinct texts, none equal to the latest's


def earlier_versions(engine: Engine, latest: VersionInfo, new_hash: str,
                     limit: int = RECENT_DISTINCT) -> EarlierVersions:
    """The versions of `latest`'s document recorded before it that a new text with `new_hash` may return to."""
    base = (sa.select(versions.c.id, versions.c.recorded_at, versions.c.text_hash, versions.c.size,
                      versions.c.origin, documents.c.service, documents.c.type)
            .join(documents, documents.c.id == versions.c.document_id)
            .where(versions.c.document_id == sa.select(versions.c.document_id)
                   .where(versions.c.id == latest.id).scalar_subquery(),
                   versions.c.id != latest.id, versions.c.recorded_at <= latest.recorded_at))
    newest = sa.func.max(versions.c.id)
    recent_ids = (sa.select(newest).select_from(versions)
                  .where(versions.c.document_id == sa.select(versions.c.document_id)
                         .where(versions.c.id == latest.id).scalar_subquery(),
                         versions.c.id != latest.id, versions.c.text_hash != latest.text_hash,
                         versions.c.recorded_at <= latest.recorded_at)
                  .group_by(versions.c.text_hash).order_by(newest.desc()).limit(limit))
    with engine.connect() as c:
        same = c.execute(base.where(versions.c.text_hash == new_hash)
                         .order_by(versions.c.recorded_at.desc(), versions.c.id.desc()).limit(1)).first()
        ids = [row[0] for row in c.execute(recent_ids)]
        rows = c.execute(base.where(versions.c.id.in_(ids))).all() if ids else []
    recent = sorted((_info(r) for r in rows), key=lambda v: (v.recorded_at, v.id))
    return EarlierVersions(_info(same) if same is not None else None, recent)


def _info(row: sa.Row) -> VersionInfo:  # type: ignore[type-arg]
    return VersionInfo(id=row.id, document_service=row.service, document_type=row.type,
                       recorded_at=utc(row.recorded_at) or row.recorded_at, text_hash=row.text_hash,
                       size=row.size, origin=row.origin)
