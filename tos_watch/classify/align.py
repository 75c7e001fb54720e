"""Align the sentences of two versions into clause edits.

Sentences are compared by their cosmetic key (see `cosmetic.key`), so link,
date and punctuation edits align as equal. What remains is paired by
similarity inside each differing region; a sentence deleted in one place and
inserted unchanged in another is a move; a region whose joined text is equal
on both sides is a split or merge. Both are cosmetic.
"""

from __future__ import annotations

import difflib
import functools
from collections import Counter, defaultdict
from dataclasses import dataclass

from tos_watch.classify import cosmetic
from tos_watch.classify.segment import Layout, Sentence, block_sentences

PAIR_THRESHOLD = 0.45  # below this similarity an old and a new sentence are a removal and an addition
MOVE_THRESHOLD = 0.6  # sentences in different regions pair only when clearly the same clause
MAX_MOVE_CANDIDATES = 900  # lone old x lone new sentences compared for moved, edited clauses


@dataclass(frozen=True)
class Edit:
    """One aligned difference: old and/or new text, with its section heading as context."""

    section: str
    old: str
    new: str
    kind: str  # "modified" | "added" | "removed" | "moved" | "split"
    cosmetic: bool
    fragment: bool = False  # a list item, table row or short line: read with its heading


@dataclass
class _Region:
    old: list[int]
    new: list[int]


def _regions(old_keys: list[str], new_keys: list[str]) -> list[_Region]:
    """Differing stretches between two sentence sequences, compared by key."""
    matcher = difflib.SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    return [_Region(list(range(i1, i2)), list(range(j1, j2)))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _changed_blocks(old_bl: Layout, new_bl: Layout) -> list[tuple[list[int], list[int]]]:
    """Block ranges whose raw text differs: a cheap first pass, so unchanged text is never re-analysed."""
    matcher = difflib.SequenceMatcher(None, old_bl.texts, new_bl.texts, autojunk=False)
    return [(list(range(i1, i2)), list(range(j1, j2)))
            for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def _cancel_moves(regions: list[_Region], old_keys: list[str], new_keys: list[str]) -> list[int]:
    """Remove sentences deleted in one place and inserted unchanged elsewhere; return moved new indices."""
    added: dict[str, list[int]] = defaultdict(list)
    for r in regions:
        for j in r.new:
            added[new_keys[j]].append(j)
    moved_old: set[int] = set()
    moved_new: list[int] = []
    for r in regions:
        for i in r.old:
            js = added.get(old_keys[i])
            if js and old_keys[i]:
                moved_old.add(i)
                moved_new.append(js.pop())
    gone = set(moved_new)
    for r in regions:
        r.old = [i for i in r.old if i not in moved_old]
        r.new = [j for j in r.new if j not in gone]
    return moved_new


def _scored(olds: list[int], news: list[int], old_keys: list[str], new_keys: list[str],
            threshold: float) -> list[tuple[float, int, int]]:
    """Word-level similarity of every old x new sentence at or above `threshold`, best first."""
    found = _similar(tuple(old_keys[i] for i in olds), tuple(new_keys[j] for j in news), threshold)
    return sorted(((score, olds[a], news[b]) for score, a, b in found), reverse=True)


@functools.lru_cache(maxsize=512)
def _similar(olds: tuple[str, ...], news: tuple[str, ...], threshold: float) -> tuple[tuple[float, int, int], ...]:
    """(ratio, old position, new position) of every old x new sentence key at or above `threshold`.

    Why this shape: most pairs of a rewritten region fail on difflib's
    bag-of-words bounds (real_quick_ratio, quick_ratio), computed here from word
    counts made once per sentence rather than once per pair; difflib's full
    match, with its index of the new sentence built once, runs only on the rest.
    Cached on the keys: every copy of a policy served under several URLs repeats the region.
    """
    old_bags = [_Bag(k) for k in olds]
    out: list[tuple[float, int, int]] = []
    matcher: difflib.SequenceMatcher[str] = difflib.SequenceMatcher(None, autojunk=False)
    for b, new_key in enumerate(news):
        new_bag, indexed = _Bag(new_key), False
        for a, old_bag in enumerate(old_bags):
            if old_bag.real_quick_ratio(new_bag) < threshold or old_bag.quick_ratio(new_bag) < threshold:
                continue
            if not indexed:
                matcher.set_seq2(new_bag.words)
                indexed = True
            matcher.set_seq1(old_bag.words)
            score = matcher.ratio()
            if score >= threshold:
                out.append((score, a, b))
    return tuple(out)


class _Bag:
    """A sentence key's words and their counts: what difflib's cheap similarity bounds read."""

    __slots__ = ("words", "counts")

    def __init__(self, key: str) -> None:
        self.words = key.split()
        self.counts = Counter(self.words)

    def real_quick_ratio(self, other: _Bag) -> float:
        """difflib's real_quick_ratio of the two word lists: the same float, from their lengths."""
        length = len(self.words) + len(other.words)
        return 2.0 * min(len(self.words), len(other.words)) / length if length else 1.0

    def quick_ratio(self, other: _Bag) -> float:
        """difflib's quick_ratio of the two word lists: the same float, from the shared word counts."""
        length = len(self.words) + len(other.words)
        if not length:
            return 1.0
        small, large = sorted((self.counts, other.counts), key=len)
        return 2.0 * sum(min(n, large[w]) for w, n in small.items() if w in large) / length


def _greedy(scored: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """Best-first one-to-one pairing of scored sentence pairs."""
    used_old: set[int] = set()
    used_new: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, i, j in scored:
        if i not in used_old and j not in used_new:
            used_old.add(i)
            used_new.add(j)
            pairs.append((i, j))
    return pairs


def _pair(region: _Region, old_keys: list[str], new_keys: list[str]) -> list[tuple[int | None, int | None]]:
    """Greedy best-first pairing of a region's old and new sentences, then the leftovers alone."""
    scored = (_scored(region.old, region.new, old_keys, new_keys, PAIR_THRESHOLD)
              if len(region.old) * len(region.new) <= 400 else [])
    pairs: list[tuple[int | None, int | None]] = list(_greedy(scored))
    used_old = {i for i, _ in pairs}
    used_new = {j for _, j in pairs}
    pairs += [(i, None) for i in region.old if i not in used_old]
    pairs += [(None, j) for j in region.new if j not in used_new]
    return sorted(pairs, key=lambda p: (p[1] if p[1] is not None else -1, p[0] if p[0] is not None else -1))


def _edit(i: int | None, j: int | None, old_s: list[Sentence], new_s: list[Sentence],
          old_bl: Layout, new_bl: Layout) -> Edit:
    """Build one edit from a pairing, judging whether it is cosmetic."""
    if i is not None and j is not None:
        o, n = old_s[i].text, new_s[j].text
        kinds = {old_bl.kinds[old_s[i].block], new_bl.kinds[new_s[j].block]}
        titles = kinds == {"paragraph"} and cosmetic.is_title(o) and cosmetic.is_title(n)
        is_cosmetic = "heading" in kinds or titles or cosmetic.pair_is_cosmetic(o, n)
        return Edit(new_s[j].section, o, n, "modified", is_cosmetic, _is_fragment(n, kinds))
    if j is not None:
        s, kind = new_s[j], new_bl.kinds[new_s[j].block]
        return Edit(s.section, "", s.text, "added", cosmetic.lone_is_cosmetic(s.text, kind),
                    _is_fragment(s.text, {kind}))
    s, kind = old_s[i], old_bl.kinds[old_s[i].block]  # type: ignore[index]
    return Edit(s.section, s.text, "", "removed", cosmetic.lone_is_cosmetic(s.text, kind),
                _is_fragment(s.text, {kind}))


def _is_fragment(text: str, kinds: set[str]) -> bool:
    """Table rows, list items and short lines say little without their heading."""
    return bool(kinds & {"table", "list"}) or len(text.split()) < 12


def _merge(edits: list[Edit]) -> list[Edit]:
    """Join consecutive substantive edits of one section into one clause change, so it reads whole."""
    out: list[Edit] = []
    for e in edits:
        prev = out[-1] if out else None
        if prev and not e.cosmetic and not prev.cosmetic and prev.section == e.section:
            kind = prev.kind if prev.kind == e.kind else "modified"
            out[-1] = Edit(prev.section, " ".join(filter(None, (prev.old, e.old))),
                           " ".join(filter(None, (prev.new, e.new))), kind, False, prev.fragment and e.fragment)
        else:
            out.append(e)
    return out


def _sentence_regions(old_bl: Layout, new_bl: Layout) -> tuple[list[Sentence], list[Sentence], list[_Region]]:
    """Sentences of the changed blocks only, and the regions where their keys still differ."""
    old_s: list[Sentence] = []
    new_s: list[Sentence] = []
    regions: list[_Region] = []
    for old_idx, new_idx in _changed_blocks(old_bl, new_bl):
        o0, n0 = len(old_s), len(new_s)
        old_s += [s for i in old_idx for s in block_sentences(old_bl.block(i))]
        new_s += [s for j in new_idx for s in block_sentences(new_bl.block(j))]
        sub = _regions([cosmetic.key(s.text) for s in old_s[o0:]], [cosmetic.key(s.text) for s in new_s[n0:]])
        regions += [_Region([o0 + i for i in r.old], [n0 + j for j in r.new]) for r in sub]
    return old_s, new_s, regions


def _pair_moved(pairs: list[list[tuple[int | None, int | None]]], old_keys: list[str],
                new_keys: list[str]) -> list[tuple[int, int]]:
    """Pair sentences left alone in different regions when they are near-identical: a moved, edited clause.

    Why: a clause moved *and* reworded ("audio recordings" -> "video footage")
    otherwise reads as one removal and one addition, each flagged in full. The
    bound keeps a wholesale rewrite from costing a quadratic comparison.
    """
    lone_old = [i for ps in pairs for i, j in ps if j is None and i is not None]
    lone_new = [j for ps in pairs for i, j in ps if i is None and j is not None]
    if not lone_old or not lone_new or len(lone_old) * len(lone_new) > MAX_MOVE_CANDIDATES:
        return []
    out = _greedy(_scored(lone_old, lone_new, old_keys, new_keys, MOVE_THRESHOLD))
    used_old = {i for i, _ in out}
    used_new = {j for _, j in out}
    for ps in pairs:
        ps[:] = [(i, j) for i, j in ps if i not in used_old and j not in used_new]
    return out


def align(old: str, new: str) -> list[Edit]:
    """All edits between two versions, in the order of the new version."""
    old_bl, new_bl = Layout(old), Layout(new)
    old_s, new_s, regions = _sentence_regions(old_bl, new_bl)
    old_keys = [cosmetic.key(s.text) for s in old_s]
    new_keys = [cosmetic.key(s.text) for s in new_s]
    edits: list[Edit] = [Edit(new_s[j].section, new_s[j].text, new_s[j].text, "moved", True)
                         for j in _cancel_moves(regions, old_keys, new_keys)]
    pairs: list[list[tuple[int | None, int | None]]] = []
    for r in regions:
        if not r.old and not r.new:
            continue
        joined_old = " ".join(old_keys[i] for i in r.old)
        if r.old and r.new and joined_old == " ".join(new_keys[j] for j in r.new):
            edits.append(Edit(new_s[r.new[0]].section, " ".join(old_s[i].text for i in r.old),
                              " ".join(new_s[j].text for j in r.new), "split", True))
            continue
        pairs.append(_pair(r, old_keys, new_keys))
    moved = _pair_moved(pairs, old_keys, new_keys)
    for ps in pairs:
        edits.extend(_merge([_edit(i, j, old_s, new_s, old_bl, new_bl) for i, j in ps]))
    edits.extend(_edit(i, j, old_s, new_s, old_bl, new_bl) for i, j in moved)
    return edits
