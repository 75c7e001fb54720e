"""The comparison of two versions of a document: word counts and the classifier's verdict.

A module of its own so that a worker process can import it without the fetch
and store stacks: `compare_versions` is the CPU-heavy step of a changed check.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from tos_watch import classify


@dataclass(frozen=True)
class Comparison:
    """What changed between the latest version and the new text."""

    assessment: dict[str, Any] | None
    words: tuple[int, int]


def compare_versions(old: str, new: str) -> Comparison:
    """Word counts and the classifier's verdict on the change."""
    return Comparison(classify.assess(old, new).to_json(), word_counts(old, new))


def word_counts(old: str, new: str) -> tuple[int, int]:
    """Words added and removed, as multisets: moved text counts zero, and it costs one pass.

    The paragraph-aligned diff (tos_watch.diff) is for showing a change; counting
    needs no alignment, and the diff costs 30 ms a page where this costs 1.
    """
    before, after = Counter(old.split()), Counter(new.split())
    return sum((after - before).values()), sum((before - after).values())
