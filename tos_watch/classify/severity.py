"""Severity of a change and of a version: what orders everything users see.

The mission categories (what users asked for first, plus the two most
invasive uses of their data) broadening is "high"; other broadenings and any
movement in a mission category are "medium"; any other substance is "low";
cosmetic edits are "none".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SEVERITIES: tuple[str, ...] = ("none", "low", "medium", "high")
HIGH_WHEN_BROADENED = frozenset({"licensing", "access", "retention", "biometrics", "ai_training"})


def change_severity(cosmetic: bool, categories: Mapping[str, str]) -> str:
    """Severity of one clause change from its flags and their directions."""
    if cosmetic:
        return "none"
    if any(c in HIGH_WHEN_BROADENED and d == "broadens" for c, d in categories.items()):
        return "high"
    if any(d == "broadens" or c in HIGH_WHEN_BROADENED for c, d in categories.items()):
        return "medium"
    return "low"


def max_severity(levels: Iterable[str]) -> str:
    """The highest of several severities ("none" for none)."""
    return max(levels, key=SEVERITIES.index, default="none")
