"""The classifier's yardstick: out-of-fold scores on the labelled dev sets, beside a keyword baseline.

Does file I/O (reads ../shared/eval and the corpus), so it sits above
`classify`, which stays pure. `evaluate()` is what `tos-watch eval`, the
benchmark script and the CI quality gate share.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tos_watch.evaluation.crossval import K_FOLDS, in_sample, keyword_baseline, out_of_fold, score
from tos_watch.evaluation.data import load_changes, load_clauses
from tos_watch.evaluation.systems import SYSTEMS


def evaluate(eval_dir: Path, *, systems: tuple[str, ...] | None = None, k: int = K_FOLDS,
             with_in_sample: bool = False, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """{"oof": {system: scores}, "baseline": scores, "in_sample"?: {...}, "k", "n_changes", "n_clauses"}.

    `scores` is {"all" | dataset | "clauses": {measure: value}}. The first
    system is the headline; the others are its ablations.
    """
    changes, clauses = load_changes(eval_dir), load_clauses(eval_dir)
    names = systems or tuple(SYSTEMS)
    result: dict[str, Any] = {"k": k, "n_changes": len(changes), "n_clauses": len(clauses), "oof": {}}
    for name in names:
        if progress:
            progress(f"{name}: out-of-fold")
        result["oof"][name] = score(out_of_fold(SYSTEMS[name], changes, clauses, k, progress), changes, clauses)
    result["baseline"] = score(keyword_baseline(changes, clauses), changes, clauses)
    if with_in_sample:
        result["in_sample"] = {name: score(in_sample(SYSTEMS[name], changes, clauses), changes, clauses)
                               for name in names}
    return result
