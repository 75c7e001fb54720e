"""Out-of-fold scores: k folds grouped by service, every trained part fitted inside its fold.

A service's changes and clauses share one fold (pairs of one service are
often the same edit in two documents, or a change and its reversal), so no
test item has a sibling in training. The measures are `classify.scoring`'s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tos_watch.classify.scoring import (
    alarm_recall,
    change_scores,
    clause_scores,
    cosmetic_severity_shares,
    exact_rate,
    keyword_categories,
    keyword_compare,
)
from tos_watch.evaluation.data import LabelledChange, service_key

K_FOLDS = 5


class Fitted(Protocol):
    """A classifier whose trained parts have seen only the training fold."""

    def judge(self, change: LabelledChange) -> dict[str, Any]: ...

    def categorize(self, text: str) -> list[str]: ...


# Fit on (training changes, training clauses); the fitted system judges the test fold.
System = Callable[[Sequence[LabelledChange], Sequence[Mapping[str, Any]]], Fitted]


def group_folds(keys: Sequence[str], k: int = K_FOLDS) -> dict[str, int]:
    """Fold of each group: largest groups first, each to the lightest fold (balanced, deterministic)."""
    sizes = Counter(keys)
    load = [0] * k
    out: dict[str, int] = {}
    for key, n in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        fold = min(range(k), key=lambda f: (load[f], f))
        out[key] = fold
        load[fold] += n
    return out


@dataclass(frozen=True)
class Predictions:
    """Out-of-fold judgements of every change and categories of every clause."""

    changes: dict[str, dict[str, Any]]
    clauses: dict[str, list[str]]


def out_of_fold(system: System, changes: Sequence[LabelledChange], clauses: Sequence[Mapping[str, Any]],
                k: int = K_FOLDS, progress: Callable[[str], None] | None = None) -> Predictions:
    """Fit `system` k times, each time without one fold's services, and predict that fold."""
    fold_of = group_folds([service_key(c.service) for c in changes] + [service_key(c["service"]) for c in clauses], k)
    pred = Predictions({}, {})
    for fold in range(k):
        if progress:
            progress(f"fold {fold + 1}/{k}")
        fitted = system([c for c in changes if fold_of[service_key(c.service)] != fold],
                        [c for c in clauses if fold_of[service_key(c["service"])] != fold])
        for c in changes:
            if fold_of[service_key(c.service)] == fold:
                pred.changes[c.id] = fitted.judge(c)
        for cl in clauses:
            if fold_of[service_key(cl["service"])] == fold:
                pred.clauses[cl["id"]] = fitted.categorize(cl["text"])
    return pred


def in_sample(system: System, changes: Sequence[LabelledChange], clauses: Sequence[Mapping[str, Any]]) -> Predictions:
    """Fitted on everything and scored on the same items: optimistic, for reference only."""
    fitted = system(changes, clauses)
    return Predictions({c.id: fitted.judge(c) for c in changes}, {cl["id"]: fitted.categorize(cl["text"])
                                                                  for cl in clauses})


def keyword_baseline(changes: Sequence[LabelledChange], clauses: Sequence[Mapping[str, Any]]) -> Predictions:
    """The taxonomy's typical words as plain keywords (nothing trained)."""
    return Predictions({c.id: keyword_compare(c.old, c.new) for c in changes},
                       {cl["id"]: keyword_categories(cl["text"]) for cl in clauses})


def change_measures(gold: Sequence[Mapping[str, Any]], pred: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """Every change measure: the four headline scores, edits exactly right, cosmetic changes per severity."""
    out = change_scores(gold, pred)
    out["exact_acc"] = exact_rate(gold, pred)
    out["alarm_recall"] = alarm_recall(gold, pred)
    out.update({f"cosmetic_at_{s}": v for s, v in cosmetic_severity_shares(gold, pred).items()})
    out["n"] = float(len(gold))
    return out


def score(pred: Predictions, changes: Sequence[LabelledChange],
          clauses: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Scores over all changes, per dataset, and on the clauses."""
    gold = [{**c.label, "id": c.id} for c in changes]
    out = {"all": change_measures(gold, pred.changes)}
    for dataset in dict.fromkeys(c.dataset for c in changes):
        out[dataset] = change_measures([g for g, c in zip(gold, changes) if c.dataset == dataset], pred.changes)
    out["clauses"] = clause_scores(clauses, pred.clauses)
    return out
