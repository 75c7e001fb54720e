"""The check summary table shows each change's classifier verdict, and prints page text as text."""

from __future__ import annotations

from tos_watch.cli import render
from tos_watch.models import Document, Outcome, RunReport, Source, Status

DOC = Document("Ring", "Terms of Service", (Source("https://ring.com/terms"),))


def table_text(report: RunReport) -> str:
    render.console.width = 200  # one line per row, whatever terminal runs the tests
    with render.console.capture() as captured:
        render.outcome_table(report)
    return captured.get()


def test_changed_rows_carry_severity_and_categories() -> None:
    verdict = {"cosmetic": False, "categories": {"licensing": "broadens"}, "severity": "high"}
    shown = table_text(RunReport([Outcome(DOC, Status.CHANGED, assessment=verdict, words_added=4)]))
    assert "[high] licensing:broadens" in shown and "+4 / -0 words" in shown
    assert "1 changed" in shown


def test_cosmetic_and_failed_rows() -> None:
    report = RunReport([Outcome(DOC, Status.CHANGED, assessment={"cosmetic": True}),
                        Outcome(Document("X", "[bold]Terms[/bold]", DOC.sources), Status.FAILED, error="HTTP 500")])
    shown = table_text(report)
    assert "cosmetic" in shown and "HTTP 500" in shown
    assert "[bold]Terms[/bold]" in shown  # names from config are not rich markup
