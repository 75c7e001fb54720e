"""A change back to text the document already had is a restoration, not a rewrite."""

from __future__ import annotations

from datetime import datetime, timezone

from tos_watch.classify import assess
from tos_watch.classify.history import PriorVersion

FULL = "# Terms\n\nWe keep your recordings for 60 days.\n\nYou grant us a licence to your videos."
TRUNCATED = "# Terms\n\nWe keep your recordings for 60 days."


def test_restored_text_is_cosmetic_and_names_the_earlier_version() -> None:
    earlier = PriorVersion(FULL, datetime(2024, 5, 1, tzinfo=timezone.utc), 12)
    result = assess(TRUNCATED, FULL, history=[earlier]).to_json()
    assert result["cosmetic"] is True
    assert result["restores"] == {"version_id": 12, "recorded_at": "2024-05-01T00:00:00+00:00"}


def test_without_history_the_same_change_is_judged_on_its_edits() -> None:
    result = assess(TRUNCATED, FULL).to_json()
    assert "restores" not in result
    assert result["cosmetic"] is False
