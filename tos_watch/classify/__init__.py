"""Clause classification: is a change cosmetic, which categories it touches, which way, how severe.

Pure (no I/O). Pipeline: `segment` (blocks, sentences) -> `align` (clause
edits, moves, splits) -> `cosmetic` (what a reader would not notice) ->
`categories` + `lexicon` (what a clause is about, with evidence) ->
`direction` (broadens / narrows / neutral) -> `severity`. `gates` gives every
regex cheap preconditions (word prefixes, substrings), so most cues never run
on most clauses; `model` loads the naive Bayes counts from
`data/nb_weights.json` on first use.
"""

from __future__ import annotations

from tos_watch.classify.assess import Assessment, ClauseChange, assess
from tos_watch.classify.categories import CATEGORIES, categorize, categorize_with_evidence
from tos_watch.classify.severity import SEVERITIES

__all__ = ["CATEGORIES", "SEVERITIES", "Assessment", "ClauseChange", "assess", "categorize",
           "categorize_with_evidence"]
