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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tos_watch import classify, diff
from tos_watch.config import Settings
from tos_watch.errors import DocumentError, EmptyTextError, ExtractError
from tos_watch.extract import combine, extract
from tos_watch.fetch import Fetcher, FetchSettings
from tos_watch.models import (
    Document,
    FetchResult,
    Outcome,
    RunReport,
    Source,
    Status,
    Validators,
    VersionInfo,
)
from tos_watch.store import CheckRecord, SnapshotPart, Store, text_hash

log = logging.getLogger(__name__)

SUSPECT_RATIO = 0.2  # a version under 20% of the previous one is probably a broken page, not a rewrite

Progress = Callable[[Outcome], None]


@dataclass(frozen=True)
class Comparison:
    """What changed between the latest version and the new text."""

    assessment: dict[str, Any] | None
    words: tuple[int, int]


def compare_versions(old: str, new: str) -> Comparison:
    """Word counts from the diff and the classifier's verdict on the change."""
    blocks = diff.diff_texts(old, new)
    return Comparison(classify.assess(old, new).to_json(), diff.stats(blocks))


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


async def _fetch_all(doc: Document, fetcher: Fetcher, store: Store) -> list[FetchResult] | None:
    """Fetch every source; None when the server says nothing changed since last time."""
    validators = store.validators(doc) if store.latest_version(doc) else None
    if not validators or len(validators) != len(doc.sources):
        validators = [None] * len(doc.sources)  # type: ignore[list-item]
    results = await asyncio.gather(*(_fetch_source(fetcher, s, v) for s, v in zip(doc.sources, validators)))
    if all(r.not_modified for r in results):
        return None
    if any(r.not_modified for r in results):  # combined document, some parts unchanged: fetch those in full
        results = [await _fetch_source(fetcher, s, None) if r.not_modified else r
                   for s, r in zip(doc.sources, results)]
    return list(results)


async def check_document(doc: Document, fetcher: Fetcher, store: Store) -> Outcome:
    """Check one document end to end; every failure becomes a FAILED outcome."""
    now = datetime.now(UTC)
    try:
        results = await _fetch_all(doc, fetcher, store)
        if results is None:
            store.save_check(CheckRecord(doc, now, Status.UNCHANGED.value))
            return Outcome(doc, Status.UNCHANGED, note="not modified (304)")
        text = await _extract_text(doc, results, store)
        return await _record(doc, store, now, results, text)
    except DocumentError as exc:
        return _failed(doc, store, now, str(exc), transient=exc.transient)
    except Exception as exc:  # a bug must not stop the run; it is logged and reported for this document
        log.exception("internal error checking %s", doc.label)
        return _failed(doc, store, now, f"internal error: {exc.__class__.__name__}: {exc}", transient=False)


async def _extract_text(doc: Document, results: list[FetchResult], store: Store) -> str:
    """The new text; a page gone blank is empty text (held back as suspect), not a failure."""
    try:
        return await asyncio.to_thread(extract_document, doc, results)
    except EmptyTextError:
        if store.latest_version(doc) is None:
            raise
        return ""


def _failed(doc: Document, store: Store, now: datetime, error: str, *, transient: bool) -> Outcome:
    try:
        store.save_check(CheckRecord(doc, now, Status.FAILED.value, error=error,
                                     suspect_hash=store.suspect_hash(doc)))
    except Exception:  # the outcome still reaches the user even if the store is unwritable
        log.exception("cannot record the failure of %s", doc.label)
    return Outcome(doc, Status.FAILED, error=error, transient=transient)


async def _record(doc: Document, store: Store, now: datetime, results: list[FetchResult],
                  text: str) -> Outcome:
    """Compare the new text with the latest version and save the outcome."""
    validators = [r.validators for r in results]
    parts = [SnapshotPart(r.url, r.content, r.content_type, r.status) for r in results]
    latest = store.latest_version(doc)
    if latest is None:
        version = store.save_check(CheckRecord(doc, now, Status.FIRST_SEEN.value, validators=validators,
                                               parts=parts, text=text))
        return Outcome(doc, Status.FIRST_SEEN, version=version)
    new_hash = text_hash(text)
    if new_hash == latest.text_hash:
        store.save_check(CheckRecord(doc, now, Status.UNCHANGED.value, validators=validators))
        return Outcome(doc, Status.UNCHANGED)
    if _lost_most_text(text, latest) and store.suspect_hash(doc) != new_hash:
        return _suspect(doc, store, now, parts, text, latest)
    old = store.version_text(latest)
    comparison = await asyncio.to_thread(compare_versions, old, text)
    version = store.save_check(CheckRecord(doc, now, Status.CHANGED.value, validators=validators, parts=parts,
                                           text=text, assessment=comparison.assessment,
                                           words=comparison.words))
    return Outcome(doc, Status.CHANGED, version=version, previous=latest, assessment=comparison.assessment,
                   words_added=comparison.words[0], words_removed=comparison.words[1])


def _lost_most_text(text: str, latest: VersionInfo) -> bool:
    return len(text) < SUSPECT_RATIO * latest.size


def _suspect(doc: Document, store: Store, now: datetime, parts: list[SnapshotPart], text: str,
             latest: VersionInfo) -> Outcome:
    """Hold back a version that lost most of the text until a second check shows the same."""
    note = (f"the page now has {len(text):,} characters, {len(text) / max(latest.size, 1):.0%} of the "
            f"previous version's {latest.size:,}: possibly withdrawn or broken; recorded only if it persists")
    store.save_check(CheckRecord(doc, now, Status.SUSPECT.value, error=note, parts=parts,
                                 suspect_hash=text_hash(text)))
    return Outcome(doc, Status.SUSPECT, note=note, previous=latest)


def fetch_settings(settings: Settings) -> FetchSettings:
    return FetchSettings(**settings.fetch.values)


async def run_check_async(documents: Sequence[Document], store: Store, settings: Settings,
                          progress: Progress | None = None) -> RunReport:
    """Check documents concurrently; outcomes come back in watchlist order."""
    fetch_cfg = fetch_settings(settings)
    slots = asyncio.Semaphore(max(1, fetch_cfg.concurrency))
    order = {doc.key: i for i, doc in enumerate(documents)}

    async with Fetcher(fetch_cfg) as fetcher:
        async def one(doc: Document) -> Outcome:
            async with slots:
                outcome = await check_document(doc, fetcher, store)
            if progress is not None:
                progress(outcome)
            return outcome

        outcomes = await asyncio.gather(*(one(doc) for doc in documents))
    return RunReport(sorted(outcomes, key=lambda o: order[o.document.key]))


def run_check(documents: Sequence[Document], store: Store, settings: Settings,
              progress: Progress | None = None) -> RunReport:
    """Synchronous entry point for the CLI, the scheduler and workers."""
    return asyncio.run(run_check_async(documents, store, settings, progress))


def reextract(doc: Document, store: Store) -> VersionInfo | None:
    """Re-extract the latest raw snapshot with the document's current selectors.

    The result is recorded as a `reextract` version, which is never reported as a
    change: a fixed selector must not alert anyone. None when the text is the same.
    """
    snapshot = store.latest_snapshot(doc)  # type: ignore[attr-defined]
    if snapshot is None:
        raise ExtractError(f"{doc.label}: no raw snapshot to re-extract; run `tos-watch check` first")
    snapshot_id, _fetched_at, parts = snapshot
    if len(parts) != len(doc.sources):
        raise ExtractError(f"{doc.label}: its sources changed since the last fetch; run `tos-watch check`")
    results = [FetchResult(p.url, p.status, p.content, p.content_type, Validators()) for p in parts]
    text = extract_document(doc, results)
    return store.record_version(doc, text, datetime.now(UTC), origin="reextract",
                                snapshot_id=snapshot_id)
