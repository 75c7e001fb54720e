"""The comparison of two versions of a document: word counts and the classifier's verdict.

A module of its own so that a worker process can import it without the fetch
and store stacks: `compare_versions` is the CPU-heavy step of a changed check.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tos_watch import classify
from tos_watch.models import PriorVersion, RawJson


@dataclass(frozen=True)
class Comparison:
    """What changed between the latest version and the new text."""

    assessment: dict[str, Any] | RawJson | None
    words: tuple[int, int]
    verdict: dict[str, Any] | None = None  # given with a RawJson assessment, which is not read back

    def summary(self) -> dict[str, Any] | None:
        """The verdict: cosmetic, categories and severity, without the clauses."""
        if self.verdict is not None or self.assessment is None or isinstance(self.assessment, RawJson):
            return self.verdict
        return verdict(self.assessment)


def compare_versions(old: str, new: str, history: Sequence[PriorVersion] = ()) -> Comparison:
    """Word counts and the classifier's verdict on the change, judged against the earlier versions too."""
    return Comparison(classify.assess(old, new, history=history).to_json(), word_counts(old, new))


def history_from_json(items: Sequence[dict[str, Any]], new: str) -> list[PriorVersion]:
    """The earlier versions a worker request carries (written by workers._history_json); null text: the new one."""
    return [PriorVersion(new if i["text"] is None else i["text"],
                         datetime.fromisoformat(i["recorded_at"]) if i["recorded_at"] else None, i["version_id"])
            for i in items]


def verdict(assessment: dict[str, Any]) -> dict[str, Any]:
    """What a run keeps in memory of a change: the verdict only (the store keeps the rest).

    A run over thousands of changed documents must not hold every clause it read.
    """
    kept = {"cosmetic": assessment.get("cosmetic"), "categories": assessment.get("categories", {}),
            "severity": assessment.get("severity")}
    return kept | {k: assessment[k] for k in ("restores", "artefact") if k in assessment}


def word_counts(old: str, new: str) -> tuple[int, int]:
    """Words added and removed, as multisets (`str.split` words): moved text counts zero.

    The paragraph-aligned diff (tos_watch.diff) is for showing a change; counting
    needs no alignment, and the diff costs 30 ms a page where this costs a fraction of one.
    """
    before, after = _unshared_words(old, new)
    return sum((after - before).values()), sum((before - after).values())


def _unshared_words(old: str, new: str) -> tuple[Counter[str], Counter[str]]:
    """The words of the lines each version does not share with the other, as multisets.

    Why these give the same counts as all the words: a newline separates words,
    so a text's words are the sum of its lines' words, and the lines both
    versions share add the same words to both sides, which multiset difference
    cancels ((A + C) - (B + C) == A - B). Most lines of a changed page are
    unchanged, so few are split into words.
    """
    old_lines, new_lines = Counter(old.split("\n")), Counter(new.split("\n"))
    return (Counter("\n".join((old_lines - new_lines).elements()).split()),
            Counter("\n".join((new_lines - old_lines).elements()).split()))
