"""A change seen against the document's history: capture artefacts and returns to known text.

Capture artefacts (a truncated snapshot and its restoration, a page served in
its other regional variant and back, another document captured at the same
URL and back) look like rewrites when compared with the latest version only.
Compared with the versions before it they are a return to known text, which a
reader should see as "back to the version of <date>", not as a change of terms.

What the labels teach (changes-dev*.jsonl): going back to an earlier text is
cosmetic only when the version it replaces was itself an artefact of that
text (cut short, empty, its other regional variant, another document). When
the version in between was a real policy (a service that published a new
clause and withdrew it), going back is a real change and is judged on its
edits; it still names the version it returns to.

Pure: callers pass the earlier versions' texts (oldest first).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tos_watch.classify.canonical import containment, shingles, text_words
from tos_watch.models import PriorVersion

__all__ = ["Judgement", "PriorVersion", "artefact_of", "cut_short", "find_restoration", "judge",
           "regional_variant"]

# Thresholds, each with a wide margin on the labelled sets (benchmarks/history_eval.py prints the figures).
NEAR = 0.95  # shingle containment both ways for an earlier version to be a candidate: restorations 0.975+
OTHER_DOCUMENT = 0.05  # containment both ways under this: another document (captured swaps 0.008, rewrites 0.08+)
VARIANT = 0.85  # regional variants share 0.905+ of their shingles; a policy and its revision 0.60-0.75
SPELLING_PAIRS = 3  # words that differ only in en-GB/en-US spelling, for two texts to be regional variants
CUT_SHARE = 0.95  # a truncated capture keeps at most this share of the words
MIN_WORDS = 50  # under this a text is too short to judge by its shingles
LINES_KEPT = 0.9  # a truncated capture keeps all its lines but the cut one
RETURN_RATIO = 0.25  # a returning text is at least four times nearer the earlier version than the latest


@dataclass(frozen=True, slots=True)
class Judgement:
    """What the history says about a change.

    `cosmetic` True: the change is an artefact, whatever its edits. False:
    judge the edits between `baseline` and the new text (the restored version
    when the one in between was an artefact; the latest version otherwise).
    """

    kind: str  # "restoration", "revert", "truncated", "empty capture"
    summary: str
    cosmetic: bool
    restores: PriorVersion | None = None
    baseline: str | None = None


@dataclass(frozen=True, slots=True)
class _Print:
    words: list[str]
    shingles: set[int]


@functools.lru_cache(maxsize=8)  # one judgement reads old, new and a few earlier versions; cleared after it
def _print(text: str) -> _Print:
    words = text_words(text)
    return _Print(words, shingles(words))


def find_restoration(new: str, history: Sequence[PriorVersion]) -> PriorVersion | None:
    """The most recent earlier version whose text equals the new text, or has the same canonical words."""
    words = _print(new).words
    for prior in reversed(history):
        if prior.text == new or _print(prior.text).words == words:
            return prior
    return None


def _nearest(old: str, new: str, history: Sequence[PriorVersion]) -> PriorVersion | None:
    """The earlier version the new text returns to: equal to it, or far nearer to it than to the latest.

    Near means at most 1 - NEAR of either text's shingles unshared, and under a
    quarter of what the new text does not share with the latest version: an
    ordinary edit leaves the new text nearest the version it edits.
    """
    fo, fn = _print(old), _print(new)
    if fo.words == fn.words:
        return None  # nothing to return from
    exact = find_restoration(new, history)
    if exact is not None or len(fn.words) < MIN_WORDS:
        return exact
    best, best_gap = None, min(1.0 - NEAR, RETURN_RATIO * _gap(fo, fn))
    for prior in reversed(history):
        fp = _print(prior.text)
        if not _similar_size(fp, fn):
            continue
        gap = _gap(fp, fn)
        if gap <= best_gap:
            best, best_gap = prior, gap
    return best


def _gap(a: _Print, b: _Print) -> float:
    """The larger share of either text's shingles that the other lacks: 0 for equal texts."""
    return 1.0 - min(containment(a.shingles, b.shingles), containment(b.shingles, a.shingles))


def _similar_size(a: _Print, b: _Print) -> bool:
    """Texts whose word counts differ by more than 1 - NEAR cannot be near: skip the set intersection."""
    return min(len(a.words), len(b.words)) >= NEAR * max(len(a.words), len(b.words))


def cut_short(short: str, full: str, *, clean_cut: bool = False) -> bool:
    """Is `short` a capture of `full` that stops part-way, mid-sentence or mid-word?

    A clean cut at a paragraph end is not enough on its own (`clean_cut` False):
    a service may really drop its last sections. A capture that stops inside a
    sentence is no publication. Followed by a return to the full text, a clean
    cut is a truncated capture too.
    """
    fs, ff = _print(short).words, _print(full).words
    if not fs or len(fs) > CUT_SHARE * len(ff):
        return False
    n = len(fs) - 1
    if fs[:n] != ff[:n] or not ff[n].startswith(fs[n]):
        return False
    last = short.rstrip().rsplit("\n", 1)[-1].rstrip("_*` ")
    return clean_cut or (bool(last) and last[-1].isalnum())


def _other_document(a: _Print, b: _Print) -> bool:
    return (min(len(a.words), len(b.words)) >= MIN_WORDS
            and max(containment(a.shingles, b.shingles), containment(b.shingles, a.shingles)) < OTHER_DOCUMENT)


def spelling_pairs(a: str, b: str) -> int:
    """How many differing words the en-GB/en-US spelling map makes equal."""
    raw = _residual(Counter(text_words(a, spelling=False)), Counter(text_words(b, spelling=False)))
    return (raw - _residual(Counter(_print(a).words), Counter(_print(b).words))) // 2


def _residual(a: Counter[str], b: Counter[str]) -> int:
    return sum((a - b).values()) + sum((b - a).values())


def regional_variant(a: str, b: str) -> bool:
    """Are `a` and `b` one text in its two regional variants (en-GB and en-US spelling, locale links)?"""
    fa, fb = _print(a), _print(b)
    close = min(containment(fa.shingles, fb.shingles), containment(fb.shingles, fa.shingles)) >= VARIANT
    return close and spelling_pairs(a, b) >= SPELLING_PAIRS


def artefact_of(capture: str, text: str) -> str | None:
    """How `capture` is a faulty capture of `text`, or None when it is a version in its own right."""
    fc, ft = _print(capture), _print(text)
    if not fc.words and len(ft.words) >= MIN_WORDS:
        return "an empty capture"
    if cut_short(capture, text, clean_cut=True):
        return "a truncated capture"
    if _other_document(fc, ft):
        return "another document captured at the same address"
    if regional_variant(capture, text):
        return "its other regional variant"
    return None


def judge(old: str, new: str, history: Sequence[PriorVersion] = ()) -> Judgement | None:
    """What the history says about the change from `old` to `new`; None when it says nothing.

    Cheap for an ordinary edit: the canonical words (20-60 ms a long page) are
    computed only when the raw lines say a cut or a return is possible: the new
    text shares more of its lines with an earlier version than with the latest.
    """
    if not history and len(new) >= CUT_SHARE * len(old):
        return None  # neither a return nor a cut: the common case costs nothing
    try:
        return _judge(old, new, history)
    finally:
        _print.cache_clear()  # a worker classifies thousands of pages: keep no page's words


def _judge(old: str, new: str, history: Sequence[PriorVersion]) -> Judgement | None:
    new_lines, old_lines = _lines(new), _lines(old)
    from_old = _share(new_lines, old_lines)
    if len(new) < len(old) and from_old >= LINES_KEPT:
        if not _print(new).words and len(_print(old).words) >= MIN_WORDS:
            return Judgement("empty capture", "empty capture: the page returned no text", True)
        if cut_short(new, old):
            share = len(_print(new).words) / max(len(_print(old).words), 1)
            return Judgement("truncated", f"truncated capture: stops mid-sentence after {share:.0%} of the text",
                             True)
    candidates = [p for p in history if p.text == new or _share(new_lines, _lines(p.text)) > from_old]
    prior = _nearest(old, new, candidates) if candidates else None
    if prior is None:
        return None
    was = artefact_of(old, prior.text)
    back = f"back to the version of {prior.date}"
    if was is None:
        return Judgement("revert", f"{back}: undoes the changes of the latest version", False, prior)
    if _print(prior.text).words == _print(new).words:
        return Judgement("restoration", f"{back}, after {was}", True, prior)
    return Judgement("restoration", f"{back}, after {was}, with changes", False, prior, prior.text)


def _lines(text: str) -> set[int]:
    return {hash(line.strip()) for line in text.splitlines() if line.strip()}


def _share(part: set[int], whole: set[int]) -> float:
    """The share of `part`'s distinct lines that `whole` has (1.0 for an empty part)."""
    return len(part & whole) / len(part) if part else 1.0
