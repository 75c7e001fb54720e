"""One check of one document, and a run over a watchlist.

`check_document` is the unit of work: fetch every source of a document
(conditionally), extract its text, compare with the latest version, classify
the change, and save it all in one store transaction. It always returns an
Outcome; one broken page never stops a run. `run_check` runs many of them
concurrently, with at most `concurrency` documents in flight so memory stays
flat however long the watchlist is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from tos_watch.config import Settings
from tos_watch.errors import DocumentError, EmptyTextError, ExtractError
from tos_watch.extract import combine, extract
from tos_watch.fetch import Fetcher, FetchSettings
from tos_watch.memory import release_memory, tune_malloc
from tos_watch.models import (
    Document,
    FetchResult,
    Outcome,
    PriorVersion,
    RunReport,
    Source,
    Status,
    Validators,
    VersionInfo,
)
from tos_watch.store import CheckRecord, CheckState, SnapshotPart, Store, text_hash
from tos_watch.workers import Comparer

log = logging.getLogger(__name__)

SUSPECT_RATIO = 0.2  # a version under 20% of the previous one is probably a broken page, not a rewrite
STATE_BATCH = 200  # unchanged/failed checks written per transaction in a run
# Extraction is CPU-bound Python, and a long run classifies in its worker process: one thread, as a
# second only contends for the GIL with the event loop (830-document change check: 7.2 s -> 6.9 s).
CPU_THREADS = 1

Progress = Callable[[Outcome], None]


def extract_document(doc: Document, results: Sequence[FetchResult]) -> str:
    """The document's text: each source extracted, then joined in order."""
    texts = [extract(r.content, r.content_type, source) for source, r in zip(doc.sources, results)]
    return combine(texts) if len(texts) > 1 else texts[0]


async def _fetch_source(fetcher: Fetcher, source: Source, validators: Validators | None) -> FetchResult:
    if source.render == "browser":
        from tos_watch import browser  # optional extra: imported only when a document needs it

        return await browser.render_page(source.url, wait_for=_anchors(source))
    return await fetcher.fetch(source.url, validators)


def _anchors(source: Source) -> list[str]:
    """The CSS selectors a rendered page must show before it is read, range anchors included."""
    anchors: list[str] = []
    for selector in source.select:
        if isinstance(selector, str):
            anchors.append(selector)
        else:
            anchors += [a for a in (selector.start_before, selector.start_after, selector.end_before,
                                    selector.end_after) if a]
    return anchors


class CheckWriter:
    """Saves checks: versions at once, in their own transaction; plain state updates in batches.

    An unchanged or failed check only moves `last_checked_at`; losing a batch of those
    in a crash loses nothing recorded, and writing them one transaction each would cost
    more than the check itself.
    """

    def __init__(self, store: Store, batch: int = 1) -> None:
        self.store = store
        self.batch = batch
        self.pending: list[CheckRecord] = []

    def save(self, record: CheckRecord) -> VersionInfo | None:
        if record.text is not None or record.parts is not None:
            return self.store.save_check(record)
        self.pending.append(record)
        if len(self.pending) >= self.batch:
            self.flush()
        return None

    def flush(self) -> None:
        records, self.pending = self.pending, []
        self.store.save_states(records)


@dataclass(frozen=True)
class _Check:
    """One check in progress: the document, what the store knew of it, where results go."""

    doc: Document
    state: CheckState
    writer: CheckWriter
    comparer: Comparer
    now: datetime

    def save(self, status: Status, **fields: Any) -> VersionInfo | None:
        return self.writer.save(CheckRecord(self.doc, self.now, status.value, **fields))


async def _fetch_all(check: _Check, fetcher: Fetcher) -> list[FetchResult] | None:
    """Fetch every source; None when the server says nothing changed since last time."""
    doc = check.doc
    validators: list[Validators | None] = [None] * len(doc.sources)
    known = check.state.validators
    if check.state.latest is not None and known and len(known) == len(doc.sources):
        validators = list(known)
    results = await asyncio.gather(*(_fetch_source(fetcher, s, v) for s, v in zip(doc.sources, validators)))
    if all(r.not_modified for r in results):
        return None
    if any(r.not_modified for r in results):  # combined document, some parts unchanged: fetch those in full
        results = [await _fetch_source(fetcher, s, None) if r.not_modified else r
                   for s, r in zip(doc.sources, results)]
    return list(results)


async def check_document(doc: Document, fetcher: Fetcher, store: Store, *, state: CheckState | None = None,
                         writer: CheckWriter | None = None, comparer: Comparer | None = None) -> Outcome:
    """Check one document end to end; every failure becomes a FAILED outcome."""
    check = _Check(doc, state or store.check_state(doc), writer or CheckWriter(store), comparer or Comparer(1),
                   datetime.now(UTC))
    try:
        results = await _fetch_all(check, fetcher)
        if results is None:
            check.save(Status.UNCHANGED)
            return Outcome(doc, Status.UNCHANGED, note="not modified (304)")
        text = await _extract_text(check, results)
        return await _record(check, store, results, text)
    except DocumentError as exc:
        return _failed(check, str(exc), transient=exc.transient)
    except Exception as exc:  # a bug must not stop the run; it is logged and reported for this document
        log.exception("internal error checking %s", doc.label)
        return _failed(check, f"internal error: {exc.__class__.__name__}: {exc}", transient=False)


async def _extract_text(check: _Check, results: list[FetchResult]) -> str:
    """The new text; a page gone blank is empty text (held back as suspect), not a failure."""
    try:
        return await asyncio.to_thread(extract_document, check.doc, results)
    except EmptyTextError:
        if check.state.latest is None:
            raise
        return ""


def _failed(check: _Check, error: str, *, transient: bool) -> Outcome:
    try:
        check.save(Status.FAILED, error=error, suspect_hash=check.state.suspect_hash)
    except Exception:  # the outcome still reaches the user even if the store is unwritable
        log.exception("cannot record the failure of %s", check.doc.label)
    return Outcome(check.doc, Status.FAILED, error=error, transient=transient)


async def _record(check: _Check, store: Store, results: list[FetchResult], text: str) -> Outcome:
    """Compare the new text with the latest version and save the outcome."""
    doc, latest = check.doc, check.state.latest
    validators = [r.validators for r in results]
    parts = [SnapshotPart(r.url, r.content, r.content_type, r.status) for r in results]
    if latest is None:
        version = check.save(Status.FIRST_SEEN, validators=validators, parts=parts, text=text)
        return Outcome(doc, Status.FIRST_SEEN, version=version)
    new_hash = text_hash(text)
    if new_hash == latest.text_hash:
        check.save(Status.UNCHANGED, validators=validators)
        return Outcome(doc, Status.UNCHANGED)
    if _lost_most_text(text, latest) and check.state.suspect_hash != new_hash:
        return _suspect(check, parts, text, latest)
    old = store.version_text(latest)
    comparison = await check.comparer.compare(old, text, prior_versions(store, latest, new_hash, text))
    version = check.save(Status.CHANGED, validators=validators, parts=parts, text=text,
                         assessment=comparison.assessment, words=comparison.words)
    return Outcome(doc, Status.CHANGED, version=_without_assessment(version),
                   assessment=comparison.summary(), words_added=comparison.words[0],
                   words_removed=comparison.words[1])


def prior_versions(store: Store, latest: VersionInfo, new_hash: str, text: str) -> list[PriorVersion]:
    """The versions before the latest that the new text may return to, oldest first (see store.history).

    An exact match carries the new text itself: its own text need not be read.
    """
    earlier = store.earlier_versions(latest, new_hash)
    same = earlier.same_text
    priors = [PriorVersion(store.version_text(v), v.recorded_at, v.id) for v in earlier.recent
              if same is None or v.id != same.id]
    if same is not None:
        priors.append(PriorVersion(text, same.recorded_at, same.id))
    return sorted(priors, key=lambda p: (p.recorded_at or latest.recorded_at, p.version_id or 0))


def _without_assessment(version: VersionInfo | None) -> VersionInfo | None:
    """The report keeps the summary only; the full assessment (clause texts) lives in the store."""
    return replace(version, assessment=None) if version is not None else None


CLAUSE_EXCERPT = 300  # characters of a flagged clause quoted beside its trigger words


def summarise(assessment: dict[str, Any] | None) -> dict[str, Any] | None:
    """The assessment without the full clause texts: verdict, and each change's kind, flags and
    evidence; a flagged change keeps an excerpt of its clause, so every flag says where it is."""
    if assessment is None:
        return None
    changes = [_summary_of(change) for change in assessment.get("changes", [])]
    return {**assessment, "changes": changes}


def _summary_of(change: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in change.items() if k not in ("old", "new")}
    if change.get("categories"):
        out["clause"] = clause_excerpt(change)
    return out


def clause_excerpt(change: dict[str, Any]) -> str:
    """The flagged clause as it now reads (as it read, when removed), cut to CLAUSE_EXCERPT characters."""
    text = " ".join(str(change.get("new") or change.get("old") or change.get("clause") or "").split())
    return text if len(text) <= CLAUSE_EXCERPT else text[:CLAUSE_EXCERPT - 1] + "…"


def _lost_most_text(text: str, latest: VersionInfo) -> bool:
    return len(text) < SUSPECT_RATIO * latest.size


def _suspect(check: _Check, parts: list[SnapshotPart], text: str, latest: VersionInfo) -> Outcome:
    """Hold back a version that lost most of the text until a second check shows the same."""
    note = (f"the page now has {len(text):,} characters, {len(text) / max(latest.size, 1):.0%} of the "
            f"previous version's {latest.size:,}: possibly withdrawn or broken; recorded only if it persists")
    check.save(Status.SUSPECT, error=note, parts=parts, suspect_hash=text_hash(text))
    return Outcome(check.doc, Status.SUSPECT, note=note, previous=latest)


def fetch_settings(settings: Settings) -> FetchSettings:
    return FetchSettings(**settings.fetch.values)


async def run_check_async(documents: Sequence[Document], store: Store, settings: Settings,
                          progress: Progress | None = None) -> RunReport:
    """Check documents concurrently; outcomes come back in watchlist order."""
    fetch_cfg = fetch_settings(settings)
    order = {doc.key: i for i, doc in enumerate(documents)}
    states = store.check_states(documents)
    if len(documents) >= STATE_BATCH:  # a long watchlist's parsing and state rows leave garbage behind
        release_memory()
    writer = CheckWriter(store, batch=STATE_BATCH)
    comparer = Comparer(len(documents))

    pending = iter(documents)
    outcomes: list[Outcome] = []
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=CPU_THREADS))

    async def worker(fetcher: Fetcher) -> None:
        # A fixed pool of workers pulling from one iterator: memory does not grow with the watchlist.
        for doc in pending:
            outcome = await check_document(doc, fetcher, store, state=states.pop(doc.key), writer=writer,
                                           comparer=comparer)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)

    async with Fetcher(fetch_cfg) as fetcher:
        try:
            await asyncio.gather(*(worker(fetcher) for _ in range(max(1, fetch_cfg.concurrency))))
        finally:
            try:
                writer.flush()
            finally:
                await comparer.aclose()
    return RunReport(sorted(outcomes, key=lambda o: order[o.document.key]))


def run_check(documents: Sequence[Document], store: Store, settings: Settings,
              progress: Progress | None = None) -> RunReport:
    """Synchronous entry point for the CLI, the scheduler and workers."""
    tune_malloc()
    return asyncio.run(run_check_async(documents, store, settings, progress))


def reextract(doc: Document, store: Store) -> VersionInfo | None:
    """Re-extract the latest raw snapshot with the document's current selectors.

    The result is recorded as a `reextract` version, which is never reported as a
    change: a fixed selector must not alert anyone. None when the text is the same.
    """
    snapshot = store.latest_snapshot(doc)
    if snapshot is None:
        raise ExtractError(f"{doc.label}: no raw snapshot to re-extract; run `tos-watch check` first")
    snapshot_id, _fetched_at, parts = snapshot
    if len(parts) != len(doc.sources):
        raise ExtractError(f"{doc.label}: its sources changed since the last fetch; run `tos-watch check`")
    results = [FetchResult(p.url, p.status, p.content, p.content_type, Validators()) for p in parts]
    text = extract_document(doc, results)
    return store.record_version(doc, text, datetime.now(UTC), origin="reextract",
                                snapshot_id=snapshot_id)
