"""A change seen against the document's history: is the new text one the document already had?

Capture artefacts (a truncated snapshot and its restoration, a page served in
its other regional variant and back, another document captured at the same
URL and back) look like rewrites when compared with the latest version only.
Compared with the versions before it they are a return to known text, which a
reader should see as "back to the version of <date>", not as a change of terms.

Pure: callers pass the earlier versions' texts (oldest first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class PriorVersion:
    """An earlier version of the same document, older than the one being compared against."""

    text: str
    recorded_at: datetime | None = None
    version_id: int | None = None


def find_restoration(new: str, history: Sequence[PriorVersion]) -> PriorVersion | None:
    """The most recent earlier version whose text equals the new text, if any."""
    for prior in reversed(history):
        if prior.text == new:
            return prior
    return None
