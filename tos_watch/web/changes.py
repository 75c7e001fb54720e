"""The change page's data: a version against its predecessor, or any two versions compared.

The diff is tos_watch.diff's, the same blocks `tos-watch diff` prints; the clause
flags come from the newer version's stored assessment, which describes the change
from its predecessor only (an arbitrary compare shows the redline without them).
"""

from __future__ import annotations

from typing import Any

from tos_watch import diff as difflib_views
from tos_watch.cli.diffdoc import diff_document
from tos_watch.errors import ConfigError, NotFoundError
from tos_watch.models import VersionInfo
from tos_watch.store import SqlStore
from tos_watch.store.queries import Queries
from tos_watch.web import pages, redline

MAX_DIFF_CHARS = 8_000_000  # both texts together; beyond this the page says so instead of diffing


def resolve(qs: Queries, document_id: int, value: str, name: str, *, end_of_day: bool) -> VersionInfo:
    """A version named by id ("812") or by the date it was in force ("2024-05-01")."""
    if value.isdigit():
        return qs.version(document_id, int(value))
    return qs.version_at(document_id, pages.parse_date(value, name, end_of_day=end_of_day))


def versions_to_compare(qs: Queries, document_id: int, from_: str | None,
                        to: str | None) -> tuple[VersionInfo, VersionInfo]:
    """As `tos-watch diff`: `to` defaults to the latest, `from` to the version before `to`."""
    latest = qs.latest(document_id)
    if latest is None:
        raise NotFoundError("this document has no versions yet")
    new = resolve(qs, document_id, to, "to", end_of_day=True) if to else latest
    if from_:
        return resolve(qs, document_id, from_, "from", end_of_day=False), new
    item = qs.change(document_id, new.id)
    if not item.previous_id:
        raise NotFoundError(f"version {new.id} is the first version: nothing to compare it with")
    return qs.version(document_id, item.previous_id), new


def blocks_of(store: SqlStore, old: VersionInfo, new: VersionInfo) -> list[difflib_views.Block]:
    old_text, new_text = store.version_text(old), store.version_text(new)
    if len(old_text) + len(new_text) > MAX_DIFF_CHARS:
        raise ConfigError(f"these versions are too large to compare here ({len(old_text):,} and "
                                f"{len(new_text):,} characters); use `tos-watch diff`")
    return difflib_views.diff_texts(old_text, new_text)


def diff_json(qs: Queries, store: SqlStore, service: str, doc_type: str, from_: str | None,
              to: str | None) -> dict[str, Any]:
    """The API's diff: exactly what `tos-watch diff --format json` prints."""
    state = qs.document(service, doc_type)
    old, new = versions_to_compare(qs, state.id, from_, to)
    return diff_document(old, new, blocks_of(store, old, new))


def change_page(qs: Queries, store: SqlStore, service: str, doc_type: str, version_id: int) -> dict[str, Any]:
    state = qs.document(service, doc_type)
    item = qs.change(state.id, version_id)
    new = item.version
    old = qs.version(state.id, item.previous_id) if item.previous_id else None
    before, after = qs.neighbours(state.id, new)
    data = _page(qs, store, state.id, old, new, new.assessment if old else None)
    data.update(change=pages.change_json(item), previous_change=before, next_change=after, compare=False)
    return data


def compare_page(qs: Queries, store: SqlStore, service: str, doc_type: str, from_: str | None,
                 to: str | None) -> dict[str, Any]:
    state = qs.document(service, doc_type)
    old, new = versions_to_compare(qs, state.id, from_, to)
    item = qs.change(state.id, new.id)
    direct = item.previous_id == old.id  # the stored assessment describes exactly this change
    data = _page(qs, store, state.id, old, new, new.assessment if direct else None)
    data.update(change=pages.change_json(item), previous_change=None, next_change=None, compare=not direct)
    return data


def _page(qs: Queries, store: SqlStore, document_id: int, old: VersionInfo | None, new: VersionInfo,
          assessment: dict[str, Any] | None) -> dict[str, Any]:
    blocks = blocks_of(store, old, new) if old else [
        difflib_views.Block("insert", None, p, None, i) for i, p in
        enumerate(difflib_views.split_paragraphs(store.version_text(new)))]
    added, removed = difflib_views.stats(blocks)
    restores = (assessment or {}).get("restores")
    return {"service": new.document_service, "type": new.document_type,
            "doc_path": pages.document_path(new.document_service, new.document_type),
            "old": pages.version_json(old) if old else None, "new": pages.version_json(new),
            "redline": redline.build(blocks, assessment), "added": added, "removed": removed,
            "moved": sum(1 for b in blocks if b.kind == "move"),
            "has_snapshot": qs.has_snapshot(new.id), "restores": restores if isinstance(restores, dict) else None,
            "clauses": [c for c in redline.clauses_of(assessment) if not c.get("cosmetic")]}
