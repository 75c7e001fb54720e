"""The domain's values: frozen dataclasses with no I/O.

A *document* is one terms page of one *service* ("Ring" / "Privacy Policy"),
made of one or more *sources* (several when OTA's `combine` joins pages).
A check fetches each source into a raw *snapshot*, extracts a clean *version*
(normalised Markdown) and records it only when its text changed. Each check of
a document ends in exactly one *outcome*; a run collects them in a report.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RangeSelector:
    """OTA's range selector: the content between two anchors, each a CSS selector.

    Exactly one of start_before/start_after and one of end_before/end_after is set.
    """

    start_before: str | None = None
    start_after: str | None = None
    end_before: str | None = None
    end_after: str | None = None


Selector = str | RangeSelector


@dataclass(frozen=True, slots=True)
class Source:
    """One page a document is read from: where, and which part of it is the text."""

    url: str
    select: tuple[Selector, ...] = ()
    remove: tuple[Selector, ...] = ()
    render: str = "http"  # "http" or "browser" (JavaScript-rendered)
    remove_query_params: tuple[str, ...] = ()  # OTA's built-in filter: strip these from link URLs


@dataclass(frozen=True, slots=True)
class Document:
    """A watched terms document of a service."""

    service: str
    type: str
    sources: tuple[Source, ...]
    interval: str | None = None  # per-document schedule override, e.g. "every 12h"

    @property
    def url(self) -> str:
        return self.sources[0].url

    @property
    def key(self) -> tuple[str, str]:
        return (self.service, self.type)

    @property
    def label(self) -> str:
        return f"{self.service} / {self.type}"


@dataclass(frozen=True, slots=True)
class Validators:
    """What the server said about its copy, echoed back for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A fetched page; `not_modified` when the server answered 304."""

    url: str  # final URL after redirects
    status: int
    content: bytes
    content_type: str
    validators: Validators
    not_modified: bool = False
    elapsed: float = 0.0


class Status(str, enum.Enum):
    FIRST_SEEN = "first_seen"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    SUSPECT = "suspect"  # most of the text vanished: possibly withdrawn or broken, not recorded yet
    FAILED = "failed"


class RawJson(str):
    """A JSON document serialised where it was made (the comparison worker): stored as it is.

    Why: decoding a worker's assessment only to encode it again for the database
    was 5% of a change check's main process, its critical path.
    """


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """A recorded version as the store describes it (text kept apart, by hash)."""

    id: int
    document_service: str
    document_type: str
    recorded_at: datetime
    text_hash: str
    size: int
    origin: str = "fetch"  # "fetch", "import", "reextract"
    assessment: dict[str, Any] | None = None  # classifier output for the change that made it


@dataclass(frozen=True, slots=True)
class PriorVersion:
    """An earlier version of a document, older than the one a change is compared against."""

    text: str
    recorded_at: datetime | None = None
    version_id: int | None = None

    @property
    def date(self) -> str:
        return self.recorded_at.date().isoformat() if self.recorded_at else "an earlier version"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one check of one document ended in. Failures are values, not exceptions."""

    document: Document
    status: Status
    error: str | None = None
    transient: bool = False
    version: VersionInfo | None = None
    previous: VersionInfo | None = None
    assessment: dict[str, Any] | None = None
    words_added: int = 0
    words_removed: int = 0
    note: str | None = None

    def summary(self) -> dict[str, Any]:
        """The outcome as `check --json` reports it."""
        out: dict[str, Any] = {"service": self.document.service, "type": self.document.type}
        if self.status is Status.FAILED:
            out.update(url=self.document.url, error=self.error, transient=self.transient)
        if self.status is Status.SUSPECT:
            out.update(url=self.document.url, reason=self.note)
        if self.status is Status.CHANGED:
            out.update(words_added=self.words_added, words_removed=self.words_removed)
            if self.version is not None:
                out["version_id"] = self.version.id
            if self.assessment is not None:
                out.update(self.assessment)
        return out


@dataclass
class RunReport:
    """All outcomes of one run over a watchlist."""

    outcomes: list[Outcome] = field(default_factory=list)

    def by_status(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is status]

    @property
    def ok(self) -> bool:
        return not self.by_status(Status.FAILED)

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": len(self.outcomes),
            "first_seen": [o.summary() for o in self.by_status(Status.FIRST_SEEN)],
            "changed": [o.summary() for o in self.by_status(Status.CHANGED)],
            "unchanged": len(self.by_status(Status.UNCHANGED)),
            "suspect": [o.summary() for o in self.by_status(Status.SUSPECT)],
            "failed": [o.summary() for o in self.by_status(Status.FAILED)],
        }
