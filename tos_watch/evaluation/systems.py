"""The classifier variants the yardstick compares, each as a `System` (fit on a training fold).

Alignment, the rules' verdicts and edit features are computed once per
change (`EditCache`) and reused across folds and variants, so k-fold costs
one alignment per pair and a few logistic-regression fits per fold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tos_watch.classify.assess import apply_judge, summarise
from tos_watch.classify.categories import categorize
from tos_watch.classify.learned import RULES_ONLY, EditJudge
from tos_watch.classify.model import NaiveBayes, train
from tos_watch.evaluation.data import LabelledChange
from tos_watch.evaluation.training import EditCache, TrainingConfig, fit_judge

CACHE = EditCache()


@dataclass(frozen=True)
class Fitted:
    """An edit judge and the clause word model, both fitted on the training fold."""

    judge_model: EditJudge
    clause_model: NaiveBayes

    def judge(self, change: LabelledChange) -> dict[str, Any]:
        judged = CACHE.get(change)
        if judged.artefact is not None:
            return judged.artefact.to_json()
        changes = [c if f is None or self.judge_model is RULES_ONLY else apply_judge(c, f, self.judge_model)
                   for c, f in zip(judged.changes, judged.features)]
        return summarise(changes, judged.history).to_json()

    def categorize(self, text: str) -> list[str]:
        return categorize(text, self.clause_model, self.judge_model)


def _system(config: TrainingConfig | None) -> Callable[[Sequence[LabelledChange], Sequence[Mapping[str, Any]]],
                                                       Fitted]:
    def fit(changes: Sequence[LabelledChange], clauses: Sequence[Mapping[str, Any]]) -> Fitted:
        judge = RULES_ONLY if config is None else fit_judge(changes, clauses, CACHE, config)
        return Fitted(judge, train([c["text"] for c in clauses], [c["category"] for c in clauses]))

    return fit


# The first is the headline (what ships); the others are its ablations.
SYSTEMS = {
    "learned": _system(TrainingConfig()),
    "rules+edit model": _system(TrainingConfig(categories=False)),
    "rules+category gate": _system(TrainingConfig(substantive=False)),
    "rules": _system(None),
}
