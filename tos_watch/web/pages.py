"""Each page's data, built once from the query layer: the HTML view renders it, the API returns it.

Query parameters are validated here; a bad one is a ConfigError (400) naming the
parameter, an unknown name or id a NotFoundError (404).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import quote

from tos_watch.config import CATEGORIES, SEVERITIES
from tos_watch.errors import ConfigError
from tos_watch.models import VersionInfo
from tos_watch.notify.digest import one_line
from tos_watch.pipeline import summarise
from tos_watch.store.queries import ChangeFilter, ChangeItem, DocumentRow, Queries
from tos_watch.store.search import MATCH_END, MATCH_START
from tos_watch.store.sql import DocumentState

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
DIRECTIONS = ("broadens", "narrows", "neutral")
MAX_TEXT_CHARS = 200_000  # of a document's current text on its page; the API serves it whole


def q(name: str) -> str:
    return quote(name, safe="")


def document_path(service: str, doc_type: str) -> str:
    return f"/services/{q(service)}/{q(doc_type)}"


def change_path(service: str, doc_type: str, version_id: int) -> str:
    """The change permalink (a shared contract: alerts and digests link here)."""
    return f"{document_path(service, doc_type)}/changes/{version_id}"


# --- parameters ----------------------------------------------------------------------------------


def paging(params: Mapping[str, str]) -> tuple[int, int]:
    limit = _integer(params, "limit", PAGE_SIZE)
    offset = _integer(params, "offset", 0)
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ConfigError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    if offset < 0:
        raise ConfigError(f"offset must be 0 or more, got {offset}")
    return limit, offset


def _integer(params: Mapping[str, str], name: str, default: int) -> int:
    value = params.get(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None


def parse_date(value: str, name: str, *, end_of_day: bool = False) -> datetime:
    """YYYY-MM-DD (the day's start, or its end for an upper bound) or an ISO 8601 time; UTC if unzoned."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{name} {value!r} is not a date (use YYYY-MM-DD or an ISO 8601 time)") from None
    if len(value) == 10 and end_of_day:
        parsed = datetime.combine(parsed.date(), time(23, 59, 59))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _choice(params: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str | None:
    value = params.get(name) or None
    if value is not None and value not in choices:
        raise ConfigError(f'{name} "{value}" is not one of {", ".join(choices)}')
    return value


def change_filter(params: Mapping[str, str]) -> ChangeFilter:
    since, until = params.get("since"), params.get("until")
    return ChangeFilter(service=params.get("service") or None, category=_choice(params, "category", CATEGORIES),
                        direction=_choice(params, "direction", DIRECTIONS),
                        min_severity=_choice(params, "severity", SEVERITIES),
                        since=parse_date(since, "since") if since else None,
                        until=parse_date(until, "until", end_of_day=True) if until else None,
                        include_cosmetic=params.get("cosmetic") in ("1", "true", "on", "yes"))


# --- JSON-able pieces ----------------------------------------------------------------------------


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def version_json(v: VersionInfo) -> dict[str, Any]:
    return {"id": v.id, "service": v.document_service, "type": v.document_type,
            "recorded_at": v.recorded_at.isoformat(), "size": v.size, "origin": v.origin}


def change_json(item: ChangeItem) -> dict[str, Any]:
    v = item.version
    summary = one_line(item.categories, item.clauses, {"severity": item.severity} if item.classified else {})
    if not item.previous_id:
        summary = "first version recorded"
    return {**version_json(v), "previous_id": item.previous_id or None, "severity": item.severity,
            "cosmetic": item.cosmetic, "categories": item.categories, "summary": summary,
            "words_added": item.words[0], "words_removed": item.words[1],
            "url": change_path(v.document_service, v.document_type, v.id)}


def state_json(s: DocumentState) -> dict[str, Any]:
    return {"service": s.service, "type": s.type, "url": s.url, "last_checked_at": _iso(s.last_checked_at),
            "status": s.last_status, "error": s.last_error, "versions": s.version_count,
            "latest_recorded_at": _iso(s.latest_recorded_at), "path": document_path(s.service, s.type)}


def _document_json(row: DocumentRow) -> dict[str, Any]:
    return {**state_json(row.state), "last_change": change_json(row.last_change) if row.last_change else None}


def _page(limit: int, offset: int, total: int) -> dict[str, Any]:
    return {"limit": limit, "offset": offset, "total": total,
            "next_offset": offset + limit if offset + limit < total else None,
            "previous_offset": max(offset - limit, 0) if offset else None}


# --- pages ---------------------------------------------------------------------------------------


def dashboard(qs: Queries, params: Mapping[str, str]) -> dict[str, Any]:
    f = change_filter(params)
    limit, offset = paging(params)
    page = qs.changes(f, limit=limit, offset=offset)
    problems = [{**state_json(s), "last_good_fetch": _iso(qs.last_good_fetch(s.id))} for s in qs.problems()]
    return {"filters": {k: params.get(k, "") for k in ("service", "category", "direction", "severity", "since",
                                                         "until", "cosmetic")},
            "changes": [change_json(c) for c in page.items], "cosmetic_folded": 0 if f.include_cosmetic
            else page.extra["cosmetic"], "page": _page(limit, offset, page.total), "problems": problems}


def services(qs: Queries, params: Mapping[str, str]) -> dict[str, Any]:
    limit, offset = paging(params)
    page = qs.services(limit=limit, offset=offset)
    items = [{**s, "latest_recorded_at": _iso(s["latest_recorded_at"]), "path": f"/services/{q(s['service'])}"}
             for s in page.items]
    return {"services": items, "page": _page(limit, offset, page.total)}


def service(qs: Queries, name: str) -> dict[str, Any]:
    rows = qs.service_documents(name)
    return {"service": rows[0].state.service, "documents": [_document_json(r) for r in rows]}


def document(qs: Queries, service_name: str, doc_type: str, params: Mapping[str, str]) -> dict[str, Any]:
    state = qs.document(service_name, doc_type)
    limit, offset = paging(params)
    page = qs.timeline(state.id, limit=limit, offset=offset)
    return {**state_json(state), "timeline": [change_json(c) for c in page.items],
            "page": _page(limit, offset, page.total)}


def search(qs: Queries, params: Mapping[str, str]) -> dict[str, Any]:
    text = (params.get("q") or "").strip()
    limit, offset = paging(params)
    if len(text) > 500:
        raise ConfigError("q is longer than 500 characters")
    hits = qs.search(text, limit=limit + 1, offset=offset) if text else []
    return {"q": text, "results": [{"service": h.service, "type": h.type, "version_id": h.version_id,
                                    "path": document_path(h.service, h.type),
                                    "passage": h.passage.replace(MATCH_START, "").replace(MATCH_END, ""),
                                    "marked": split_marks(h.passage)} for h in hits[:limit]],
            "page": {"limit": limit, "offset": offset,
                     "next_offset": offset + limit if len(hits) > limit else None,
                     "previous_offset": max(offset - limit, 0) if offset else None}}


def split_marks(passage: str) -> list[list[Any]]:
    """A passage as [text, matched] pairs: the template escapes each piece and marks the matches."""
    out: list[list[Any]] = []
    for i, chunk in enumerate(passage.split(MATCH_START)):
        head, sep, tail = chunk.partition(MATCH_END) if i else ("", "", chunk)
        if head:
            out.append([head, True])
        if tail:
            out.append([tail, False])
    return out


def assessment_json(item: ChangeItem) -> dict[str, Any]:
    """A change's assessment as `check --json` reports a changed document."""
    v = item.version
    out: dict[str, Any] = {"service": v.document_service, "type": v.document_type, "words_added": item.words[0],
                           "words_removed": item.words[1], "version_id": v.id}
    if isinstance(v.assessment, dict):
        out.update(v.assessment)
        try:
            details = summarise(v.assessment)
        except (AttributeError, TypeError):  # a malformed clause list: the verdict alone
            details = None
        out["changes"] = details["changes"] if details else []
    else:
        out["changes"] = []
    return out
