"""Scores of the classifier against labelled items, and the plain keyword baseline.

Pure functions over already-loaded items, so the CLI (`tos-watch eval`), the
benchmark script and the quality-gate test share one definition of each
measure. A "prediction" is what `compare --jsonl` prints per pair.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tos_watch.classify.categories import CATEGORIES

MISSION = ("licensing", "access", "retention")

# The taxonomy's "typical words" column, matched as plain keywords: the baseline to beat.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "licensing": ("license", "licence", "grant", "perpetual", "irrevocable", "sublicense", "royalty-free",
                  "ownership", "intellectual property"),
    "access": ("share", "disclose", "access", "third parties", "affiliates", "law enforcement", "government",
               "sell", "transfer"),
    "retention": ("retain", "keep", "store", "delete", "days", "months", "years", "indefinitely", "period"),
    "biometrics": ("facial recognition", "face", "biometric", "voiceprint", "fingerprint"),
    "ai_training": ("train", "machine learning", "artificial intelligence", "model", "annotate"),
    "user_rights": ("right to access", "delete your data", "opt out", "withdraw consent", "export"),
    "changes": ("modify these terms", "notify you", "continued use"),
    "disputes": ("arbitration", "class action", "governing law", "liable", "indemnify"),
}


def keyword_categories(text: str) -> list[str]:
    """Baseline: every category one of whose typical words occurs in the text."""
    low = text.lower()
    return [c for c in CATEGORIES if any(re.search(rf"\b{re.escape(k)}", low) for k in KEYWORDS[c])]


def keyword_compare(old: str, new: str) -> dict[str, Any]:
    """Baseline for a pair: a line diff; cosmetic iff only whitespace changed; every flag 'broadens'."""
    a = [" ".join(line.split()) for line in old.splitlines() if line.strip()]
    b = [" ".join(line.split()) for line in new.splitlines() if line.strip()]
    changed: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            changed += a[i1:i2] + b[j1:j2]
    cats = keyword_categories("\n".join(changed))
    return {"cosmetic": not changed, "categories": {c: "broadens" for c in cats}}


@dataclass
class _Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: set[str], pred: set[str]) -> None:
        self.tp += len(gold & pred)
        self.fp += len(pred - gold)
        self.fn += len(gold - pred)

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 1.0


def change_scores(gold: Sequence[Mapping[str, Any]], pred: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Substantive accuracy, category micro-F1, mission F1 and direction accuracy over labelled pairs."""
    correct = 0
    micro, mission = _Counts(), _Counts()
    dir_ok = dir_n = 0
    for item in gold:
        p = pred[item["id"]]
        correct += bool(p.get("cosmetic")) == bool(item["cosmetic"])
        g_cats: dict[str, str] = item["categories"]
        p_cats: dict[str, str] = p.get("categories", {})
        micro.add(set(g_cats), set(p_cats))
        mission.add({c for c in g_cats if c in MISSION}, {c for c in p_cats if c in MISSION})
        for c in set(g_cats) & set(p_cats):
            dir_n += 1
            dir_ok += g_cats[c] == p_cats[c]
    return {"substantive_acc": correct / len(gold) if gold else 0.0, "category_f1": micro.f1,
            "mission_f1": mission.f1, "direction_acc": dir_ok / dir_n if dir_n else 0.0,
            "direction_n": float(dir_n)}


def clause_scores(gold: Iterable[Mapping[str, Any]], pred: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Per-category F1 of clause predictions against single ToS;DR labels, and the mission mean."""
    counts = {c: _Counts() for c in CATEGORIES}
    for item in gold:
        g = {item["category"]} - {"none"}
        p = set(pred[item["id"]])
        for c in CATEGORIES:
            counts[c].add(g & {c}, p & {c})
    out = {f"f1_{c}": counts[c].f1 for c in CATEGORIES if counts[c].tp + counts[c].fn > 0}
    out["mission_mean_f1"] = sum(counts[c].f1 for c in MISSION) / len(MISSION)
    return out


def exact_rate(gold: Sequence[Mapping[str, Any]], pred: Mapping[str, Mapping[str, Any]]) -> float:
    """Share of changes judged exactly right: cosmetic flag, categories and every direction equal."""
    ok = sum(bool(pred[g["id"]].get("cosmetic")) == bool(g["cosmetic"])
             and dict(pred[g["id"]].get("categories", {})) == dict(g["categories"]) for g in gold)
    return ok / len(gold) if gold else 0.0


def cosmetic_severity_shares(gold: Sequence[Mapping[str, Any]],
                             pred: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Of the changes labelled cosmetic, the share reported at each severity ("none" is right)."""
    cosmetic = [g for g in gold if g["cosmetic"]]
    shares = {level: 0.0 for level in ("none", "low", "medium", "high")}
    for g in cosmetic:
        level = str(pred[g["id"]].get("severity", "none"))
        shares[level] = shares.get(level, 0.0) + 1 / len(cosmetic)
    return shares


def alarm_recall(gold: Sequence[Mapping[str, Any]], pred: Mapping[str, Mapping[str, Any]]) -> float:
    """Of the changes labelled as broadening licensing, access or retention, the share reported high."""
    alarms = [g for g in gold if any(g["categories"].get(c) == "broadens" for c in MISSION)]
    return sum(pred[g["id"]].get("severity") == "high" for g in alarms) / len(alarms) if alarms else 0.0
