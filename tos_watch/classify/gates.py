"""Cheap preconditions for regular expressions: the words a match must contain.

Why: the lexicon's cue patterns scan every position with wide alternations and
gaps, and most cues cannot match most clauses. A pattern's *gates* are read off
its parse tree: for every top-level element that starts a word (after ``\\b`` or required whitespace),
the literal word prefixes it can begin with. A text whose words offer none of
one gate's prefixes cannot match, and a set test is one C call. A pattern's
*needles* are the same idea for one text that is searched once: literal
strings one of which every match contains, tested with `in`.
"""

from __future__ import annotations

import functools
import itertools
import re
from re import _constants as _sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

_GATE_LEN = 6  # prefixes are cut to this many characters, so a text's prefix set stays small
_WORDS = re.compile(r"\w+")
_ZERO_WIDTH = {_sre.ASSERT, _sre.ASSERT_NOT}
Gates = tuple[frozenset[str], ...]


@functools.lru_cache(maxsize=32)  # per-text sets are large; reuse is within one clause change
def word_prefixes(text: str) -> frozenset[str]:
    """Every lower-case prefix (up to _GATE_LEN characters) of every word of a text: what gates test."""
    return frozenset(itertools.chain.from_iterable(map(_prefixes_of, set(_WORDS.findall(text.lower())))))


@functools.lru_cache(maxsize=16384)
def _prefixes_of(word: str) -> tuple[str, ...]:
    return tuple(word[:k] for k in range(1, min(len(word), _GATE_LEN) + 1))


def passes(gates: Gates, prefixes: frozenset[str]) -> bool:
    """Whether a text with these word prefixes can match: every gate meets them."""
    return all(not gate.isdisjoint(prefixes) for gate in gates)


def _prefixes(seq: Any, at_word: bool = False) -> set[str] | None:
    """Word prefixes one of which every match of a parsed sequence starts with (None: unknown).

    Only alphanumeric literals right after a word boundary count, so a prefix is the start of a word.
    """
    out = ""
    for op, av in seq:
        if op in _ZERO_WIDTH:
            continue
        if op is _sre.AT:
            at_word = at_word or av is _sre.AT_BOUNDARY
            continue
        if op is _sre.LITERAL and at_word and chr(av).isalnum():
            out += chr(av).lower()
            continue
        if out:
            return {out}
        if op is _sre.SUBPATTERN:
            return _prefixes(av[3], at_word)
        if op is _sre.BRANCH:
            parts = [_prefixes(branch, at_word) for branch in av[1]]
            return None if any(p is None for p in parts) else set().union(*parts)  # type: ignore[arg-type]
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[0] >= 1:
            return _prefixes(av[2], at_word)
        return None
    return {out} if out else None


def _word_edge(op: Any, av: Any) -> bool:
    """Whether a parsed element leaves the match at a word's start: a boundary or required whitespace."""
    if op is _sre.AT:
        return av is _sre.AT_BOUNDARY
    return op is _sre.MAX_REPEAT and av[0] >= 1 and list(av[2]) == [(_sre.IN, [(_sre.CATEGORY, _sre.CATEGORY_SPACE)])]


def gates(regex: str) -> Gates:
    """Word-prefix sets a text must meet for the regex to match: one per required word-start element."""
    seq = list(_parser.parse(regex, re.IGNORECASE))
    found: list[frozenset[str]] = []
    for i, (op, _av) in enumerate(seq):
        if op is _sre.AT or op in _ZERO_WIDTH or not (i == 0 or _word_edge(*seq[i - 1])):
            continue
        prefixes = _prefixes(seq[i:], at_word=i > 0)
        if prefixes and all(prefixes):
            found.append(frozenset(p[:_GATE_LEN] for p in prefixes))
    return tuple(dict.fromkeys(found))


def lowered_regex(regex: str) -> str:
    """A regex for lower-cased text: literal letters lower-cased, escapes (\\S, \\B, \\W) kept as written.

    Matching lower-cased text case-sensitively is several times faster than IGNORECASE.
    """
    out: list[str] = []
    escaped = False
    for ch in regex:
        out.append(ch if escaped else ch.lower())
        escaped = not escaped and ch == "\\"
    return "".join(out)


def needles(pattern: re.Pattern[str]) -> frozenset[str] | None:
    """Literal strings one of which every match of a pattern contains (None: none known).

    Read off the parse tree like `gates`: of the required elements in sequence (a
    literal run, a group, an alternation whose every branch has needles, a repeat
    of at least one), the one whose shortest needle is longest. None for an
    IGNORECASE pattern, whose literals match other cases: use its `lowered_regex` twin.
    """
    if pattern.flags & re.IGNORECASE:
        return None
    found = _needles(list(_parser.parse(pattern.pattern)))
    return frozenset(found) if found else None


def _needles(seq: Any) -> set[str] | None:
    """Needles of a parsed sequence (see `needles`)."""
    candidates: list[set[str]] = []
    run = ""
    for op, av in seq:
        if op is _sre.LITERAL:
            run += chr(av)
            continue
        if run:
            candidates.append({run})
            run = ""
        found: set[str] | None = None
        if op is _sre.SUBPATTERN and not av[1] & re.IGNORECASE:
            found = _needles(av[3])
        elif op is _sre.BRANCH:
            parts = [_needles(branch) for branch in av[1]]
            found = None if any(p is None for p in parts) else set().union(*parts)  # type: ignore[arg-type]
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT) and av[0] >= 1:
            found = _needles(av[2])
        if found:  # anything else (a class, an assertion, an optional part) requires no literal
            candidates.append(found)
    if run:
        candidates.append({run})
    return max(candidates, key=lambda c: min(map(len, c)), default=None)


def contains_any(text: str, strings: frozenset[str] | None) -> bool:
    """Whether `text` contains one of `strings` (None: unknown, so True)."""
    return strings is None or any(s in text for s in strings)


# The non-ASCII characters IGNORECASE matching takes for an ASCII letter: İ, ı, ſ and the Kelvin sign
# (all of them, though `str.lower` turns the last into "k").
_CASE_TWINS = re.compile("[\u0130\u0131\u017f\u212a]")


def has_case_twin(text: str) -> bool:
    """Whether `text` holds a character that IGNORECASE matching takes for an ASCII letter.

    Where none occurs and lower-casing keeps the length, a pattern's
    `lowered_regex` twin finds the same matches in the lower-cased text.
    """
    return _CASE_TWINS.search(text) is not None
