"""Assess the change between two versions: cosmetic or not, categories, directions, severity.

`assess()` is the classifier's one entry point for the pipeline: align the
versions into clause edits, flag each substantive edit's categories with
evidence and direction, then roll them up per version.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tos_watch.classify.align import Edit, align
from tos_watch.classify.categories import CATEGORIES, flag_plain_change
from tos_watch.classify.cosmetic import plain
from tos_watch.classify.direction import BROADENS, NARROWS, NEUTRAL, plain_direction
from tos_watch.classify.features import edit_features
from tos_watch.classify.history import Judgement, PriorVersion
from tos_watch.classify.history import judge as judge_history
from tos_watch.classify.learned import RULES_ONLY, EditJudge, shipped_judge
from tos_watch.classify.severity import SEVERITIES, change_severity, max_severity


@dataclass(frozen=True)
class ClauseChange:
    """One changed clause: old and new text under a section heading, with its flags."""

    section: str
    old: str
    new: str
    kind: str
    cosmetic: bool
    categories: dict[str, str] = field(default_factory=dict)
    evidence: dict[str, list[str]] = field(default_factory=dict)
    severity: str = "none"

    @property
    def summary(self) -> str:
        """One line for humans: what kind of edit and what it does."""
        if self.cosmetic:
            return f"cosmetic ({self.kind})"
        if not self.categories:
            return f"substantive {self.kind}, no watched category"
        flags = ", ".join(f"{c} {d}" for c, d in self.categories.items())
        return f"{self.kind}: {flags}"

    def to_json(self) -> dict[str, Any]:
        return {"section": self.section, "old": self.old, "new": self.new, "kind": self.kind,
                "cosmetic": self.cosmetic, "categories": dict(self.categories),
                "evidence": {c: list(v) for c, v in self.evidence.items()}, "severity": self.severity,
                "summary": self.summary}


@dataclass(frozen=True)
class Assessment:
    """The verdict on one pair of versions; changes are ordered most severe first."""

    cosmetic: bool
    categories: dict[str, str]
    severity: str
    changes: tuple[ClauseChange, ...]
    restores: PriorVersion | None = None  # the new text is this earlier version's again
    history: Judgement | None = None  # what the document's history says of the change

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"cosmetic": self.cosmetic, "categories": dict(self.categories),
                               "severity": self.severity, "changes": [c.to_json() for c in self.changes]}
        if self.restores is not None:
            at = self.restores.recorded_at
            out["restores"] = {"version_id": self.restores.version_id,
                               "recorded_at": at.isoformat() if at else None}
        if self.history is not None:
            out["artefact"] = {"kind": self.history.kind, "summary": self.history.summary}
        return out


def classify_edit(edit: Edit) -> ClauseChange:
    """Flag one aligned edit: categories with evidence, a direction each, and a severity."""
    if edit.cosmetic:
        return ClauseChange(edit.section, edit.old, edit.new, edit.kind, True)
    context = edit.section if edit.fragment else ""
    evidence, cats = _flags(plain(edit.old), plain(edit.new), f"{plain(context)}: " if context else "")
    return ClauseChange(edit.section, edit.old, edit.new, edit.kind, False, dict(cats),
                        {c: list(words) for c, words in evidence.items()}, change_severity(False, cats))


@functools.lru_cache(maxsize=1024)
def _flags(old: str, new: str, prefix: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Evidence and direction per category flagged on a change of plain clauses (what `flag_change` reads).

    Cached on the plain texts, the only thing the verdict reads, because a
    check meets the same clause change many times: one policy served under
    several URLs differs only in link targets. Callers copy what they keep.
    """
    evidence = flag_plain_change(old, new, prefix)
    old_low, new_low = old.lower(), new.lower()
    return evidence, {c: plain_direction(c, old_low, new_low) for c in evidence}


def _roll_up(changes: list[ClauseChange]) -> dict[str, str]:
    """A version's direction per category: the majority of its changes' non-neutral directions."""
    votes: dict[str, Counter[str]] = {}
    for ch in changes:
        for c, d in ch.categories.items():
            votes.setdefault(c, Counter())[d] += 1
    out: dict[str, str] = {}
    for c in CATEGORIES:
        if c in votes:
            b, n = votes[c][BROADENS], votes[c][NARROWS]
            out[c] = NEUTRAL if b == n == 0 else BROADENS if b >= n else NARROWS
    return out


def change_features(change: ClauseChange, fragment: bool) -> dict[str, float]:
    """What the learned judge reads about a clause change the rules left substantive."""
    return edit_features(change.section, change.old, change.new, change.kind, fragment, change.categories)


# A broadened licence, access or retention found by the rules' structured comparison is the
# alarm users run tos_watch for: the learned judge may not clear or demote it (a missed
# alarm costs more than a false one).
ALARMS = frozenset({"licensing", "access", "retention"})


def apply_judge(change: ClauseChange, features: Mapping[str, float], judge: EditJudge) -> ClauseChange:
    """The rules' verdict on one clause change, overruled where the learned judge is confident.

    The judge only takes away: an edit it finds cosmetic loses its flags, and a
    category it finds untouched is dropped. What stays keeps the lexicon's
    evidence and the structured direction, so every flag still says why.
    """
    if change.cosmetic:
        return change
    alarms = {c: d for c, d in change.categories.items() if c in ALARMS and d == BROADENS}
    p_substantive = judge.substantive_probability(features)
    if p_substantive < judge.threshold and not alarms:
        return dataclasses.replace(change, cosmetic=True, categories={}, evidence={}, severity="none")
    cats = {c: d for c, d in change.categories.items() if c in alarms or judge.keeps(c, features)}
    evidence = {c: change.evidence[c] for c in cats}
    for c in CATEGORIES:
        if c not in cats and judge.adds(c, features) and (words := judge.reasons(c, features)):
            old, new = plain(change.old).lower(), plain(change.new).lower()
            cats[c], evidence[c] = plain_direction(c, old, new), words
    ordered = {c: cats[c] for c in CATEGORIES if c in cats}
    severity = change_severity(False, ordered)
    if severity == "high" and p_substantive < judge.high and not alarms:  # else a confident judge, or medium
        severity = "medium"
    if ordered == change.categories and severity == change.severity:
        return change
    return dataclasses.replace(change, categories=ordered, evidence={c: evidence[c] for c in ordered},
                               severity=severity)


def judge_edit(edit: Edit, judge: EditJudge) -> ClauseChange:
    """`classify_edit`, then the learned judge (skipped when it is the rules alone)."""
    change = classify_edit(edit)
    if change.cosmetic or judge is RULES_ONLY:
        return change
    return apply_judge(change, change_features(change, edit.fragment), judge)


def assess(old: str, new: str, *, history: Sequence[PriorVersion] = (), judge: EditJudge | None = None) -> Assessment:
    """Compare two normalised Markdown versions and say what changed, how much it matters, and why.

    `history` holds the versions before `old` (oldest first): a capture
    artefact, or a return to a text one of them had after one, is cosmetic
    whatever the edits (classify.history); a return to a text after a
    real version in between is judged on its edits and names the version.
    `judge` defaults to the shipped learned judge.
    """
    edit_judge = shipped_judge() if judge is None else judge
    verdict = judge_history(old, new, history)
    if verdict is not None and verdict.cosmetic:
        return artefact(old, new, verdict)
    baseline = verdict.baseline if verdict is not None and verdict.baseline else old
    return summarise([judge_edit(e, edit_judge) for e in align(baseline, new)], verdict)


def artefact(old: str, new: str, verdict: Judgement) -> Assessment:
    """A capture artefact (or its undoing): every edit cosmetic, named by what the history says."""
    changes = tuple(ClauseChange(e.section, e.old, e.new, verdict.kind, True) for e in align(old, new))
    return Assessment(True, {}, "none", changes, verdict.restores, verdict)


def summarise(changes: list[ClauseChange], verdict: Judgement | None = None) -> Assessment:
    """A version's verdict from its judged clause changes (and what its history says, if anything)."""
    substantive = [c for c in changes if not c.cosmetic]
    categories = _roll_up(substantive)
    ordered = sorted(changes, key=lambda c: -SEVERITIES.index(c.severity))
    return Assessment(not substantive, categories, max_severity(c.severity for c in substantive) if substantive
                      else "none", tuple(ordered), verdict.restores if verdict else None, verdict)
