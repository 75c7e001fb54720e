"""Fit the learned clause-edit judge from labelled changes and ToS;DR clauses (needs scikit-learn).

Edit-level examples come from the change labels: every aligned edit the
rules leave substantive is an example; in a cosmetic change each one is
cosmetic; in a substantive change the edits that an evidence quote covers
are substantive, under the quote's category (a change with one such edit
needs no quote). Other edits of a substantive change are left out: the
labels do not say what they are. ToS;DR clauses add category examples, read
as added clauses. Fitted by `fit_judge` inside each cross-validation fold,
and on all of the dev sets for the shipped model (`make model`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tos_watch.classify.align import align
from tos_watch.classify.assess import Assessment, ClauseChange, artefact, change_features, classify_edit
from tos_watch.classify.categories import CATEGORIES, categorize_with_evidence
from tos_watch.classify.features import edit_features
from tos_watch.classify.history import Judgement
from tos_watch.classify.history import judge as judge_history
from tos_watch.classify.learned import EditJudge, LinearModel
from tos_watch.evaluation.data import LabelledChange

_WORD = re.compile(r"[a-z0-9]{2,}")
MATCH = 0.6  # share of a quote's words (or of the edit's) the other must hold to count as the same text
MIN_FEATURE_COUNT = 2
SKIP_COSMETIC_SETS = frozenset({"changes-dev-large"})  # its cosmetic pairs are capture artefacts: history's job


@dataclass(frozen=True)
class JudgedEdits:
    """One change's clause changes by the rules, each substantive one with its features (computed once)."""

    changes: tuple[ClauseChange, ...]
    features: tuple[dict[str, float] | None, ...]
    history: Judgement | None = None  # what the document's history says (as in `assess`)
    artefact: Assessment | None = None  # set when the history alone makes the change cosmetic


@dataclass
class EditCache:
    by_id: dict[str, JudgedEdits] = field(default_factory=dict)

    def get(self, change: LabelledChange) -> JudgedEdits:
        if change.id not in self.by_id:
            self.by_id[change.id] = _judge_by_rules(change)
        return self.by_id[change.id]


def _judge_by_rules(change: LabelledChange) -> JudgedEdits:
    verdict = judge_history(change.old, change.new, change.history)
    if verdict is not None and verdict.cosmetic:
        return JudgedEdits((), (), verdict, artefact(change.old, change.new, verdict))
    baseline = verdict.baseline if verdict is not None and verdict.baseline else change.old
    edits = align(baseline, change.new)
    rules = [classify_edit(e) for e in edits]
    feats = [None if r.cosmetic else change_features(r, e.fragment) for r, e in zip(rules, edits)]
    return JudgedEdits(tuple(rules), tuple(feats), verdict)


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _covers(quote: set[str], edit: set[str]) -> bool:
    """Quote and edit are the same text: most of one's words are in the other."""
    if not quote or not edit:
        return False
    common = len(quote & edit)
    return common / len(quote) >= MATCH or (len(edit) >= 3 and common / len(edit) >= MATCH)


def edit_examples(change: LabelledChange, judged: JudgedEdits) -> Iterable[tuple[dict[str, float], bool, set[str]]]:
    """(features, substantive?, categories) of the edits this change's labels say something about."""
    candidates = [(c, f) for c, f in zip(judged.changes, judged.features) if f is not None]
    label = change.label
    if label["cosmetic"]:
        if change.dataset not in SKIP_COSMETIC_SETS:
            yield from ((f, False, set()) for _, f in candidates)
        return
    evidence: Mapping[str, str] = label.get("evidence") or {}
    if len(candidates) == 1 and not evidence:
        yield candidates[0][1], True, set(label["categories"])
        return
    quotes = [(c, _words(q)) for c, q in evidence.items() if q]
    for ch, f in candidates:
        words = _words(f"{ch.old} {ch.new}")
        cats = {c for c, q in quotes if _covers(q, words)}
        if cats:
            yield f, True, cats - {""}


def clause_examples(clauses: Sequence[Mapping[str, Any]]) -> Iterable[tuple[dict[str, float], set[str]]]:
    """ToS;DR clauses as added clauses, labelled with their one category (or none)."""
    for cl in clauses:
        text = cl["text"]
        flagged = categorize_with_evidence(text)
        yield (edit_features("", "", text, "added", len(text.split()) < 12, flagged),
               {cl["category"]} - {"none"})


def _fit(x: list[dict[str, float]], y: list[bool], c_reg: float, weights: list[float] | None = None,
         l1_ratio: float = 1.0) -> LinearModel:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    counts: dict[str, int] = {}
    for row in x:
        for k in row:
            counts[k] = counts.get(k, 0) + 1
    keep = {k for k, n in counts.items() if n >= MIN_FEATURE_COUNT}
    x = [{k: v for k, v in row.items() if k in keep} for row in x]
    vec = DictVectorizer()
    matrix = vec.fit_transform(x).tocsr()
    matrix.indices, matrix.indptr = matrix.indices.astype("int32"), matrix.indptr.astype("int32")  # liblinear
    model = LogisticRegression(C=c_reg, l1_ratio=l1_ratio, class_weight="balanced", max_iter=2000,
                               solver="liblinear", random_state=0)
    model.fit(matrix, y, sample_weight=weights)
    names = vec.get_feature_names_out()
    return LinearModel({str(n): float(w) for n, w in zip(names, model.coef_[0]) if w}, float(model.intercept_[0]))


@dataclass(frozen=True)
class TrainingConfig:
    substantive: bool = True
    categories: bool = True
    c_substantive: float = 1.0  # C chosen out-of-fold (L1 0.3 / 1 / 3: substantive 0.863 / 0.870 / 0.870)
    c_category: float = 1.0
    threshold: float = 0.4  # chosen out-of-fold (0.3 / 0.4 / 0.5: substantive 0.861 / 0.870 / 0.852)
    gate: float = 0.3
    alone: float = 1.1  # P at which the category model flags a category the lexicon did not (> 1: never)
    min_category_examples: int = 15
    high: float = 0.8  # chosen out-of-fold: cosmetic reported high 4.2% -> 2.7%, alarms reported high 68% -> 59%
    clause_alone: float = 1.1
    change_weight_power: float = 0.5
    l1_ratio: float = 1.0  # L1: sparse, so a small file and few weights in the check path's memory


def fit_judge(changes: Sequence[LabelledChange], clauses: Sequence[Mapping[str, Any]], cache: EditCache,
              config: TrainingConfig = TrainingConfig()) -> EditJudge:
    """The edit judge fitted on these changes and clauses only."""
    rows: list[tuple[dict[str, float], bool, set[str]]] = []
    weights: list[float] = []
    for ch in changes:
        mine = list(edit_examples(ch, cache.get(ch)))
        rows += mine
        weights += [max(1, len(mine)) ** -config.change_weight_power] * len(mine)  # a long change is not many votes
    substantive = None
    if config.substantive and len({y for _, y, _ in rows}) == 2:
        substantive = _fit([f for f, _, _ in rows], [y for _, y, _ in rows], config.c_substantive, weights,
                           config.l1_ratio)
    cats: dict[str, LinearModel] = {}
    if config.categories:
        cat_rows = [(f, cs) for f, y, cs in rows if y] + list(clause_examples(clauses))
        for c in CATEGORIES:
            ys = [c in cs for _, cs in cat_rows]
            if sum(ys) >= config.min_category_examples:
                cats[c] = _fit([f for f, _ in cat_rows], ys, config.c_category, l1_ratio=config.l1_ratio)
    return EditJudge(substantive, cats, config.threshold, config.gate, alone=config.alone, high=config.high,
                     clause_alone=config.clause_alone)
