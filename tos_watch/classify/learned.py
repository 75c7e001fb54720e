"""The learned clause-edit judge: logistic regressions over `features.edit_features`, in pure Python.

Why pure Python: a check's comparison worker imports only the classifier and
runs close to its memory limit, so scikit-learn and SciPy stay out of the
check path. They fit the model (benchmarks/train_model.py, `make model`);
this module only reads its weights from `data/edit_model.json` (package
data, loaded once on first use; reading it is the module's only I/O).

The judge decides two things the rules cannot fit by hand: whether an edit
the rules left standing is substantive (P below `threshold` makes it
cosmetic), and which of the lexicon's flagged categories the edit really
changes (a flag whose P is below `gate` is dropped). Evidence stays the
lexicon's trigger words, so every flag still says why.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MODEL_RESOURCE = "data/edit_model.json"


@dataclass(frozen=True)
class LinearModel:
    """A fitted logistic regression: one weight per feature name, and an intercept."""

    weights: Mapping[str, float]
    intercept: float = 0.0

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.intercept + sum(v * self.weights.get(k, 0.0) for k, v in features.items())
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class EditJudge:
    """P(substantive) of an edit, and P(category) per category the lexicon may flag."""

    substantive: LinearModel | None = None
    categories: Mapping[str, LinearModel] = field(default_factory=dict)
    threshold: float = 0.5
    gate: float = 0.5
    meta: Mapping[str, Any] = field(default_factory=dict)
    alone: float = 1.1  # P at which a category the lexicon missed is flagged anyway (> 1: never)
    high: float = 0.0  # P(substantive) an edit needs to be reported at high severity (else medium)
    clause_alone: float = 1.1  # P(category) at which a lone clause (`categorize`) is flagged (> 1: never)

    def substantive_probability(self, features: Mapping[str, float]) -> float:
        return 1.0 if self.substantive is None else self.substantive.probability(features)

    def is_substantive(self, features: Mapping[str, float]) -> bool:
        return self.substantive is None or self.substantive.probability(features) >= self.threshold

    def keeps(self, category: str, features: Mapping[str, float]) -> bool:
        model = self.categories.get(category)
        return model is None or model.probability(features) >= self.gate

    def adds(self, category: str, features: Mapping[str, float]) -> bool:
        model = self.categories.get(category)
        return model is not None and self.alone <= 1.0 and model.probability(features) >= self.alone

    def reasons(self, category: str, features: Mapping[str, float], n: int = 3) -> list[str]:
        """The changed words that weigh most for a category: the evidence of a flag the model added."""
        model = self.categories.get(category)
        if model is None:
            return []
        scored = sorted(((model.weights.get(k, 0.0) * v, k) for k, v in features.items()
                         if k.startswith(("add:", "del:"))), reverse=True)
        return [k.split(":", 1)[1] for w, k in scored[:n] if w > 0]

    def to_json(self) -> dict[str, Any]:
        def one(m: LinearModel) -> dict[str, Any]:
            return {"intercept": round(m.intercept, 6),
                    "weights": {k: round(v, 5) for k, v in sorted(m.weights.items()) if abs(v) >= 1e-5}}

        return {"meta": dict(self.meta), "threshold": self.threshold, "gate": self.gate, "alone": self.alone,
                "high": self.high, "clause_alone": self.clause_alone,
                "substantive": one(self.substantive) if self.substantive else None,
                "categories": {c: one(m) for c, m in sorted(self.categories.items())}}


def from_json(data: Mapping[str, Any]) -> EditJudge:
    def one(d: Mapping[str, Any] | None) -> LinearModel | None:
        return None if d is None else LinearModel(dict(d["weights"]), float(d["intercept"]))

    cats = {c: m for c, d in data.get("categories", {}).items() if (m := one(d)) is not None}
    return EditJudge(one(data.get("substantive")), cats, float(data.get("threshold", 0.5)),
                     float(data.get("gate", 0.5)), dict(data.get("meta", {})), float(data.get("alone", 1.1)),
                     float(data.get("high", 0.0)), float(data.get("clause_alone", 1.1)))


RULES_ONLY = EditJudge()


@functools.cache
def shipped_judge() -> EditJudge:
    """The judge fitted on all of the dev sets, or the rules alone if no model file is shipped."""
    resource = importlib.resources.files("tos_watch.classify").joinpath(MODEL_RESOURCE)
    if not resource.is_file():
        return RULES_ONLY
    return from_json(json.loads(resource.read_text(encoding="utf-8")))
