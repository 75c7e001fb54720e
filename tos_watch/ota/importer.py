"""Import an OTA versions repository into the store, as versions with their real dates.

Each version is recorded with origin "import" and its commit as `source_ref`, so
importing twice adds nothing (the store refuses a second version with the same
source_ref, and we skip those before classifying, which is the costly part).
Each change is compared with the version before it exactly as a fetched change
is (`compare.compare_versions`: diff word counts + classifier verdict), so
history, diff and digests treat imported versions like fetched ones.

A document the watchlist does not name is recorded under a placeholder URL
pointing at its file in the repository; `tos-watch check` replaces the URL
once the document is added to the watchlist.
"""

from __future__ import annotations

import os
import shutil
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from tos_watch.compare import Comparison, compare_versions
from tos_watch.models import Document, PriorVersion, Source
from tos_watch.ota.history import RecordedVersion, iter_versions_dulwich, list_versions, read_versions
from tos_watch.store import SqlStore, text_hash
from tos_watch.store.history import RECENT_DISTINCT
from tos_watch.store.schema import documents as documents_table
from tos_watch.store.schema import versions as versions_table
from tos_watch.workers import compare_pool

Progress = Callable[[RecordedVersion, int | None], None]  # (version just read, total or None when unknown)


@dataclass
class HistoryImport:
    """What one import did, for the command's summary."""

    recorded: int = 0
    already_imported: int = 0  # same commit recorded by an earlier import
    unchanged: int = 0  # same text as the version it follows: nothing to record
    technical_skipped: int = 0  # technical-upgrade / refilter commits
    documents: set[tuple[str, str]] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def seen(self) -> int:
        return self.recorded + self.already_imported + self.unchanged

    @property
    def rate(self) -> float:
        """Versions read per second, the figure benchmarks/import_speed.py reports."""
        return self.seen / self.seconds if self.seconds else 0.0


def _stream(repo: Path, services: Iterable[str] | None,
            report: HistoryImport) -> tuple[Iterator[RecordedVersion], int | None]:
    """The versions and their count (None with the dulwich fallback, which cannot list first)."""
    if shutil.which("git") is None:
        return iter_versions_dulwich(repo, services), None
    listing = list_versions(repo, services)
    report.technical_skipped = listing.technical_skipped
    return read_versions(repo, listing.entries), len(listing.entries)


def imported_refs(store: SqlStore, doc: Document) -> set[str]:
    """The source_refs already recorded for a document: one query instead of one per version."""
    query = (sa.select(versions_table.c.source_ref)
             .join(documents_table, documents_table.c.id == versions_table.c.document_id)
             .where(documents_table.c.service == doc.service, documents_table.c.type == doc.type,
                    versions_table.c.source_ref.is_not(None)))
    with store.engine.connect() as c:
        return {row[0] for row in c.execute(query)}


class _DocumentState:
    """Per document: which commits the store has, the text the next version follows, and the history.

    The history is bounded as a check's is (store.history): the time of every
    text seen, by hash, for exact returns; the last few distinct texts,
    compressed (every document of an import holds a state), for near ones.
    """

    def __init__(self, store: SqlStore, doc: Document, version: RecordedVersion) -> None:
        self.doc = doc
        self.refs = imported_refs(store, doc)
        earlier = [v for v in store.versions(doc.service, doc.type) if v.recorded_at <= version.recorded_at]
        self.previous: str | None = store.version_text(earlier[-1]) if earlier else None
        self.previous_at = earlier[-1].recorded_at if earlier else None
        self.seen: dict[str, datetime] = {v.text_hash: v.recorded_at for v in earlier}
        self.recent: deque[tuple[str, bytes, datetime]] = deque(maxlen=RECENT_DISTINCT)
        for v in earlier[-RECENT_DISTINCT - 1:-1]:
            self._remember(v.text_hash, store.version_text(v), v.recorded_at)

    def history(self, new: str) -> list[PriorVersion]:
        """The versions before the previous one that `new` may return to, oldest first."""
        new_hash = text_hash(new)
        priors = [PriorVersion(zlib.decompress(z).decode("utf-8"), at) for h, z, at in self.recent if h != new_hash]
        at = self.seen.get(new_hash)
        if at is not None and at != self.previous_at:
            priors.append(PriorVersion(new, at))
        return sorted(priors, key=lambda p: p.recorded_at or datetime.min)

    def advance(self, text: str, at: datetime) -> None:
        """`text` (recorded at `at`) follows the previous text, which joins the history."""
        if self.previous is not None and self.previous_at is not None and self.previous != text:
            self._remember(text_hash(self.previous), self.previous, self.previous_at)
        self.previous, self.previous_at = text, at
        self.seen[text_hash(text)] = at

    def _remember(self, digest: str, text: str, at: datetime) -> None:
        for item in [i for i in self.recent if i[0] == digest]:
            self.recent.remove(item)
        self.recent.append((digest, zlib.compress(text.encode("utf-8"), 1), at))


def _document_for(version: RecordedVersion, repo: Path, watchlist: dict[tuple[str, str], Document]) -> Document:
    found = watchlist.get((version.service.casefold(), version.type.casefold()))
    if found is not None:
        return found
    placeholder = (repo.resolve() / version.service / f"{version.type}.md").as_uri()
    return Document(service=version.service, type=version.type, sources=(Source(url=placeholder),))


def import_history(store: SqlStore, repo: Path, *, services: Iterable[str] | None = None,
                   watchlist: Sequence[Document] = (), progress: Progress | None = None,
                   jobs: int | None = None) -> HistoryImport:
    """Record every version of the repository (or of the named services) in the store.

    Classifying a change costs ~100x more than reading and storing it, so comparisons
    run in `jobs` processes (default: one per CPU) while versions are still recorded
    one by one in history order, at most a small window ahead of the slowest.
    """
    report = HistoryImport()
    started = time.perf_counter()
    by_key = {(d.service.casefold(), d.type.casefold()): d for d in watchlist}
    states: dict[tuple[str, str], _DocumentState] = {}
    jobs = jobs or os.cpu_count() or 1
    with _comparer(jobs) as compare:
        stream, total = _stream(repo, services, report)
        pending: deque[_Pending] = deque()
        for version in stream:
            key = (version.service, version.type)
            if key not in states:
                states[key] = _DocumentState(store, _document_for(version, repo, by_key), version)
            report.documents.add(key)
            pending.append(_plan(states[key], version, compare))
            while len(pending) > 4 * jobs:
                _finish(store, pending.popleft(), report, progress, total)
        while pending:
            _finish(store, pending.popleft(), report, progress, total)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Pending:
    state: _DocumentState
    version: RecordedVersion
    outcome: str  # "record", "already", "unchanged"
    comparison: Future[Comparison] | None = None


def _plan(state: _DocumentState, version: RecordedVersion, compare: _Compare) -> _Pending:
    """Decide what a version needs, in history order, and start its comparison if any."""
    previous, history = state.previous, state.history(version.text)
    state.advance(version.text, version.recorded_at)
    if version.commit in state.refs:
        return _Pending(state, version, "already")
    if previous == version.text:
        return _Pending(state, version, "unchanged")
    if previous is None:
        return _Pending(state, version, "record")
    return _Pending(state, version, "record", compare(previous, version.text, history))


def _finish(store: SqlStore, item: _Pending, report: HistoryImport, progress: Progress | None,
            total: int | None) -> None:
    """Record one planned version with its comparison's verdict; count what happened."""
    if item.outcome == "already":
        report.already_imported += 1
    elif item.outcome == "unchanged":
        report.unchanged += 1
    else:
        comparison = item.comparison.result() if item.comparison is not None else None
        version = item.version
        recorded = store.record_version(
            item.state.doc, version.text, version.recorded_at, origin="import", source_ref=version.commit,
            assessment=comparison.assessment if comparison else None,
            words=comparison.words if comparison else (0, 0))
        if recorded is None:
            report.unchanged += 1
        else:
            report.recorded += 1
            item.state.refs.add(version.commit)
    if progress is not None:
        progress(item.version, total)


_Compare = Callable[[str, str, list[PriorVersion]], "Future[Comparison]"]


@contextmanager
def _comparer(jobs: int) -> Iterator[_Compare]:
    """compare_versions as futures: in worker processes, or inline (already done) for one job."""
    if jobs <= 1:
        def inline(old: str, new: str, history: list[PriorVersion]) -> Future[Comparison]:
            future: Future[Comparison] = Future()
            future.set_result(compare_versions(old, new, history))
            return future

        yield inline
        return
    with compare_pool(jobs) as pool:
        yield lambda old, new, history: pool.submit(compare_versions, old, new, history)
