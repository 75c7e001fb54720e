"""Which changes a subscriber gets, and the digest model the templates render. Pure: no I/O.

A change reaches a subscriber when it was recorded by a fetch (imports and
re-extractions never alert) after the subscriber's start, is not yet delivered,
and passes their filters (services, categories, min_severity). Cosmetic changes
are counted, not listed, unless the subscriber asked for them. Counted and
overflowing changes are still *covered* by the digest, so they are marked
delivered with it and never counted twice.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tos_watch.config import SEVERITIES, Subscriber
from tos_watch.notify.plain import markdown_to_text
from tos_watch.store import ChangeRecord, DocumentState

MAX_CLAUSES = 4  # clauses shown per change; the rest are counted
CONTEXT_WORDS = 12  # unchanged words kept either side of an edit
MAX_CLAUSE_WORDS = 160  # a clause longer than this is cut (the rest is in `tos-watch diff`)
_TOKEN = re.compile(r"\S+\s*")


@dataclass(frozen=True)
class Segment:
    """A run of words in a changed clause: kind is "same", "added", "removed" or "gap"."""

    kind: str
    text: str


@dataclass(frozen=True)
class ClauseView:
    section: str
    summary: str
    severity: str
    categories: dict[str, str]
    segments: tuple[Segment, ...]
    evidence: tuple[str, ...] = ()  # per flag: "access broadens: “contractors”"


@dataclass(frozen=True)
class ChangeView:
    version_id: int
    service: str
    doc_type: str
    url: str
    recorded_at: datetime
    severity: str
    cosmetic: bool
    categories: dict[str, str]
    summary: str
    clauses: tuple[ClauseView, ...] = ()
    more_clauses: int = 0
    alerted: bool = False  # already sent to the subscriber as an immediate alert


@dataclass(frozen=True)
class ServiceGroup:
    service: str
    changes: tuple[ChangeView, ...]


@dataclass(frozen=True)
class SeverityGroup:
    severity: str
    services: tuple[ServiceGroup, ...]


@dataclass(frozen=True)
class Problem:
    """A document that failed its last check or looks withdrawn (suspect)."""

    service: str
    doc_type: str
    url: str
    status: str
    detail: str
    checked_at: datetime | None


@dataclass(frozen=True)
class Digest:
    """One subscriber's digest for one period. `version_ids` is everything it covers."""

    subscriber: str
    generated_at: datetime
    groups: tuple[SeverityGroup, ...]
    listed: int
    cosmetic_count: int
    overflow: tuple[tuple[str, str, int], ...]  # (service, severity, count) not listed for size
    problems: tuple[Problem, ...]
    version_ids: tuple[int, ...]
    uncertain: tuple[str, ...] = ()  # earlier messages that may not have arrived (Message-IDs)
    notes: tuple[str, ...] = field(default_factory=tuple)
    channel_problems: tuple[str, ...] = ()  # alert channels that keep failing

    @property
    def empty(self) -> bool:
        """Nothing worth an email: cosmetic changes alone wait, counted, for the next real digest."""
        # an uncertain note waits for news
        return not (self.listed or self.overflow or self.problems or self.channel_problems)

    @property
    def overflow_count(self) -> int:
        return sum(n for _, _, n in self.overflow)

    @property
    def subject(self) -> str:
        parts = [f"{self.listed + self.overflow_count} change{'s' if self.listed + self.overflow_count != 1 else ''}"]
        top = next((g.severity for g in self.groups), None)
        if top in ("high", "medium"):
            parts.append(f"{sum(len(s.changes) for g in self.groups if g.severity == top for s in g.services)} {top}")
        problems = len(self.problems) + len(self.channel_problems)
        if problems:
            parts.append(f"{problems} problem{'s' if problems != 1 else ''}")
        return "tos-watch digest: " + ", ".join(parts)


def rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def wants_service(sub: Subscriber, service: str) -> bool:
    return sub.services is None or service.casefold() in {s.casefold() for s in sub.services}


def matches(sub: Subscriber, change: ChangeRecord) -> bool:
    """The subscriber's filters, cosmetic aside: service, categories, minimum severity."""
    a = change.version.assessment or {}
    if not wants_service(sub, change.version.document_service):
        return False
    if sub.categories is not None and not set(sub.categories) & set(a.get("categories") or {}):
        return False
    return rank(_severity(a.get("severity"))) >= rank(sub.min_severity)


def pending(sub: Subscriber, changes: list[Any], delivered: set[int], since: datetime | None) -> list[Any]:
    """Changes due to a subscriber: fetched, after their start, not yet delivered, through their filters."""
    out = []
    for ch in changes:
        v = ch.version
        if v.origin != "fetch" or v.id in delivered or (since is not None and v.recorded_at <= since):
            continue
        cosmetic = bool((v.assessment or {}).get("cosmetic"))
        if cosmetic and not sub.include_cosmetic:
            if wants_service(sub, v.document_service):
                out.append(ch)  # counted in the digest, not listed
        elif matches(sub, ch):
            out.append(ch)
    return out


def word_diff(old: str, new: str) -> tuple[Segment, ...]:
    """Old and new clause merged word by word; long unchanged runs shortened to their edges."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            segments.extend(_context(a[i1:i2], first=not segments, last=i2 == len(a)))
            continue
        if i2 > i1:
            segments.append(Segment("removed", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("added", "".join(b[j1:j2])))
    return _cap(segments)


def _context(words: list[str], *, first: bool, last: bool) -> list[Segment]:
    keep = CONTEXT_WORDS
    if len(words) <= 2 * keep + 3:
        return [Segment("same", "".join(words))]
    head = [] if first else [Segment("same", "".join(words[:keep]))]
    tail = [] if last else [Segment("same", "".join(words[-keep:]))]
    return head + [Segment("gap", "… ")] + tail


def _cap(segments: list[Segment]) -> tuple[Segment, ...]:
    out, count = [], 0
    for s in segments:
        words = s.text.split()
        if count + len(words) > MAX_CLAUSE_WORDS:
            out.append(Segment(s.kind, " ".join(words[:max(0, MAX_CLAUSE_WORDS - count)]) + " "))
            out.append(Segment("gap", "… (cut; see `tos-watch diff`)"))
            break
        out.append(s)
        count += len(words)
    return tuple(out)


def change_view(ch: ChangeRecord) -> ChangeView:
    """A change as the digest shows it: flags, a one-line summary and its substantive clauses."""
    v, a = ch.version, ch.version.assessment or {}
    clauses = [c for c in a.get("changes") or () if not c.get("cosmetic")]
    views = tuple(ClauseView(section=markdown_to_text(str(c.get("section") or "")),
                             summary=str(c.get("summary") or ""),
                             severity=str(c.get("severity") or "none"), categories=_cats(c.get("categories")),
                             segments=word_diff(markdown_to_text(str(c.get("old") or "")),
                                                markdown_to_text(str(c.get("new") or ""))),
                             evidence=_evidence(c))
                  for c in clauses[:MAX_CLAUSES])
    categories = _cats(a.get("categories"))
    return ChangeView(version_id=v.id, service=v.document_service, doc_type=v.document_type, url=ch.url,
                      recorded_at=v.recorded_at, severity=_severity(a.get("severity")),
                      cosmetic=bool(a.get("cosmetic")), categories=categories,
                      summary=one_line(categories, len(clauses), a), clauses=views,
                      more_clauses=max(0, len(clauses) - MAX_CLAUSES))


def _evidence(clause: dict[str, Any]) -> tuple[str, ...]:
    """The words that raised each of a clause's flags."""
    found: dict[str, Any] = clause["evidence"] if isinstance(clause.get("evidence"), dict) else {}
    def words(cat: str) -> str:
        return ", ".join(f"“{markdown_to_text(str(w))}”" for w in found.get(cat, ()))

    return tuple(f"{cat.replace('_', ' ')} {direction}: {words(cat)}"
                 for cat, direction in _cats(clause.get("categories")).items() if found.get(cat))


def _severity(value: Any) -> str:
    """Unknown or missing severity counts as low: shown by default, never hidden by accident."""
    return str(value) if value in SEVERITIES else "low"


def _cats(value: Any) -> dict[str, str]:
    """Categories as {category: direction}; a bare list means directions unknown."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    return {str(k): "neutral" for k in value or ()}


def one_line(categories: dict[str, str], clause_count: int, a: dict[str, Any]) -> str:
    """The change in one line: its category directions and how many clauses moved, and what the
    history says of it ("back to the version of 2024-05-01, after a truncated capture")."""
    if a.get("summary"):
        return str(a["summary"])
    if not a:
        return "text changed (not classified)"
    artefact: dict[str, Any] = a["artefact"] if isinstance(a.get("artefact"), dict) else {}
    if artefact.get("summary"):
        said = str(artefact["summary"])
        return said[0].upper() + said[1:] if a.get("cosmetic") else f"{said[0].upper()}{said[1:]}; " + \
            one_line(categories, clause_count, {k: v for k, v in a.items() if k != "artefact"})
    where = f"{clause_count} clause{'s' if clause_count != 1 else ''} changed"
    if not categories:
        return f"{where}, no watched category"
    flags = "; ".join(f"{d} {c.replace('_', ' ')}" for c, d in categories.items())
    return f"{flags[0].upper()}{flags[1:]} ({where})"


def problems(sub: Subscriber, states: list[DocumentState]) -> tuple[Problem, ...]:
    """Documents whose last check failed or looked withdrawn, for the subscriber's services."""
    out = []
    for s in states:
        if s.last_status in ("failed", "suspect") and wants_service(sub, s.service):
            detail = s.last_error or ("most of the text vanished: withdrawn or broken page?"
                                      if s.last_status == "suspect" else "check failed")
            out.append(Problem(s.service, s.type, s.url, s.last_status, detail, s.last_checked_at))
    return tuple(out)


def build_digest(sub: Subscriber, changes: list[ChangeRecord], states: list[DocumentState], now: datetime, *,
                 max_changes: int, uncertain: tuple[str, ...] = (), alerted: frozenset[int] = frozenset(),
                 channel_problems: tuple[str, ...] = ()) -> Digest:
    """Group a subscriber's pending changes by severity then service; overflow beyond max_changes."""
    listed_src = [c for c in changes if sub.include_cosmetic or not (c.version.assessment or {}).get("cosmetic")]
    cosmetic_count = len(changes) - len(listed_src)
    views = sorted((replace(change_view(c), alerted=c.version.id in alerted) for c in listed_src),
                   key=lambda v: (-rank(v.severity), v.service.casefold(), v.doc_type, v.recorded_at))
    shown, rest = views[:max_changes], views[max_changes:]
    overflow = Counter((v.service, v.severity) for v in rest)
    return Digest(subscriber=sub.key, generated_at=now, groups=_group(shown), listed=len(shown),
                  cosmetic_count=cosmetic_count,
                  overflow=tuple(sorted(((s, sev, n) for (s, sev), n in overflow.items()),
                                        key=lambda t: (-rank(t[1]), t[0].casefold()))),
                  problems=problems(sub, states), version_ids=tuple(sorted(c.version.id for c in changes)),
                  uncertain=uncertain, channel_problems=channel_problems)


def _group(views: list[ChangeView]) -> tuple[SeverityGroup, ...]:
    groups: list[SeverityGroup] = []
    for severity in reversed(SEVERITIES):
        of_sev = [v for v in views if v.severity == severity]
        services: dict[str, list[ChangeView]] = {}
        for v in of_sev:
            services.setdefault(v.service, []).append(v)
        if services:
            groups.append(SeverityGroup(severity, tuple(ServiceGroup(s, tuple(c)) for s, c in services.items())))
    return tuple(groups)
