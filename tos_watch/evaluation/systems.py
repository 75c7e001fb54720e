"""The classifier variants the yardstick compares, each as a `System` (fit on a training fold).

Judgements that read no trained part are computed once per change and reused
across folds (`_RuleCache`), so k-fold costs one alignment per pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tos_watch.classify import assess
from tos_watch.classify.categories import categorize
from tos_watch.classify.model import NaiveBayes, train
from tos_watch.evaluation.data import LabelledChange


@dataclass
class _RuleCache:
    """Assessments by the rules alone, keyed by change id."""

    done: dict[str, dict[str, Any]] = field(default_factory=dict)

    def judge(self, change: LabelledChange) -> dict[str, Any]:
        if change.id not in self.done:
            self.done[change.id] = assess(change.old, change.new, history=change.history).to_json()
        return self.done[change.id]


_RULES = _RuleCache()


@dataclass(frozen=True)
class RulesFitted:
    """The hand-written change rules, and the clause word model fitted on the training clauses."""

    clause_model: NaiveBayes

    def judge(self, change: LabelledChange) -> dict[str, Any]:
        return _RULES.judge(change)

    def categorize(self, text: str) -> list[str]:
        return categorize(text, self.clause_model)


def rules(changes: Sequence[LabelledChange], clauses: Sequence[Mapping[str, Any]]) -> RulesFitted:
    """Rules only for changes; the naive Bayes clause model is the one trained part."""
    return RulesFitted(train([c["text"] for c in clauses], [c["category"] for c in clauses]))


SYSTEMS = {"rules": rules}
