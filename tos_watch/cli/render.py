"""What check and history print: rich tables (page text as plain text, never markup) and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from tos_watch.models import Outcome, RunReport, Status, VersionInfo
from tos_watch.pipeline import clause_excerpt, summarise
from tos_watch.store import Store

console = Console()

STATUS_STYLE = {Status.FIRST_SEEN: "cyan", Status.CHANGED: "bold yellow", Status.UNCHANGED: "dim",
                Status.SUSPECT: "magenta", Status.FAILED: "bold red"}


def version_flags(v: VersionInfo) -> list[str]:
    """Short flags for a version's change: severity, categories with direction, or cosmetic."""
    return assessment_flags(v.assessment)


def assessment_flags(a: dict[str, Any] | None) -> list[str]:
    """Flags from a classifier verdict: "[high] access:broadens", "cosmetic" or "substantive", then
    what the history says ("(back to the version of 2024-05-01, after a truncated capture)")."""
    if not a:
        return []
    artefact = a.get("artefact") or {}
    said = [f"({artefact['summary']})"] if isinstance(artefact, dict) and artefact.get("summary") else []
    if a.get("cosmetic"):
        return ["cosmetic", *said]
    flags = [f"{cat}:{direction}" for cat, direction in sorted(a.get("categories", {}).items())]
    severity = a.get("severity")
    return ([f"[{severity}]"] if severity and severity != "none" else []) + (flags or ["substantive"]) + said


def evidence_lines(a: dict[str, Any] | None) -> list[str]:
    """Why each flag was raised: category and direction, the trigger words, the clause they are in."""
    lines = []
    for change in (a or {}).get("changes") or ():
        for cat, direction in (change.get("categories") or {}).items():
            words = ", ".join(f"“{w}”" for w in (change.get("evidence") or {}).get(cat, ()))
            where = f" in [{change['section']}]" if change.get("section") else ""
            lines.append(f"{cat} {direction}: {words or '(no trigger words)'}{where}: {clause_excerpt(change)}")
    return lines


def outcome_table(report: RunReport) -> None:
    """The summary after a check: what changed and what failed, then the counts."""
    table = Table(title="tos-watch check", show_lines=False)
    for column in ("service", "document", "outcome", "detail"):
        table.add_column(column)
    for o in report.outcomes:
        if o.status is Status.UNCHANGED:
            continue
        table.add_row(Text(o.document.service), Text(o.document.type),
                      Text(o.status.value, style=STATUS_STYLE[o.status]), Text(_detail(o)))
    if table.row_count:
        console.print(table)
    counts = ", ".join(f"{len(report.by_status(s))} {s.value.replace('_', ' ')}" for s in Status)
    console.print(f"{len(report.outcomes)} documents checked: {counts}")


def _detail(o: Outcome) -> str:
    if o.status is Status.FAILED:
        return o.error or ""
    if o.status is Status.SUSPECT:
        return o.note or ""
    if o.status is Status.CHANGED:
        flags = " ".join(assessment_flags(o.assessment))
        return f"+{o.words_added} / -{o.words_removed} words  {flags}"
    if o.status is Status.FIRST_SEEN and o.version:
        return f"{o.version.size:,} characters recorded"
    return ""


def history_table(found: list[VersionInfo]) -> None:
    """Versions grouped by document type, oldest first."""
    table = Table(title=f"{found[0].document_service}: versions")
    for column in ("document", "#", "recorded", "size", "origin", "what changed"):
        table.add_column(column)
    counters: dict[str, int] = {}
    for v in found:
        counters[v.document_type] = counters.get(v.document_type, 0) + 1
        n = counters[v.document_type]
        what = "first version" if n == 1 else (" ".join(version_flags(v)) or "changed")
        table.add_row(Text(v.document_type), str(n), f"{v.recorded_at:%Y-%m-%d %H:%M}", f"{v.size:,}",
                      v.origin, Text(what))
    console.print(table)


DETAIL_CHUNK = 200  # changed documents whose stored assessments are read per query


def write_report_json(report: RunReport, store: Store, out: IO[str]) -> None:
    """`check --json`, written piece by piece: each change's details are read back from the store
    as it is written, so a run over thousands of changed documents never holds them all."""
    def listed(status: Status) -> str:
        return _dumps([o.summary() for o in report.by_status(status)])

    out.write(f'{{"checked": {len(report.outcomes)}, "first_seen": {listed(Status.FIRST_SEEN)}, "changed": [')
    for i, entry in enumerate(_changed_entries(report.by_status(Status.CHANGED), store)):
        out.write((", " if i else "") + _dumps(entry))
    out.write(f'], "unchanged": {len(report.by_status(Status.UNCHANGED))}, "suspect": {listed(Status.SUSPECT)}, '
              f'"failed": {listed(Status.FAILED)}}}\n')


def _changed_entries(changed: list[Outcome], store: Store) -> Iterator[dict[str, Any]]:
    for start in range(0, len(changed), DETAIL_CHUNK):
        chunk = changed[start:start + DETAIL_CHUNK]
        stored = store.assessments([o.version.id for o in chunk if o.version is not None])
        for outcome in chunk:
            entry = outcome.summary()
            full = stored.get(outcome.version.id) if outcome.version is not None else None
            details = summarise(full)
            entry["changes"] = details["changes"] if details else []
            yield entry


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
