"""A version's canonical words: what is left of a text when capture noise is taken out.

Two captures of one published text differ in ways no reader sees: whitespace,
list markers and numbering style, emphasis and table markup, link targets and
their tracking parameters, curly or straight quotes, zero-width characters,
and, when the page is served in its other regional variant, en-GB or en-US
spelling ("licence"/"license", "organisation"/"organization"). `words()` maps
a text to a word list where all of these vanish; the history detectors compare
versions on it. The spelling map is a set of suffix rules applied to both
sides alike, so a rule that also folds two unrelated words into one costs only
a missed difference between them, never an invented one.

Pure; no I/O.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence

_INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[((?:\\\]|[^\]])*)\]\((?:<[^>]*>|[^)\s]*)(?:\s+\"[^\"]*\")?\)")
_REF = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
_URL = re.compile(r"<?(?:https?://|mailto:|www\.)[^\s>)\]]*>?", re.IGNORECASE)
_TAG = re.compile(r"</?[a-z][^>]{0,200}>", re.IGNORECASE)
# A list marker or clause number at the start of a line: "- ", "1. ", "(a) ", "3.2.1 ", "iv) ".
_MARKER = re.compile(r"^[ \t>#*+\-|]*(?:(?:\(?(?:\d{1,3}(?:\.\d{1,3})*|[a-z]|[ivxlc]{1,6})[.)\]:]|"
                     r"\d{1,3}(?:\.\d{1,3})+)[ \t]+)*", re.IGNORECASE | re.MULTILINE)
_WORD = re.compile(r"[^\W_]+")
# en-GB -> en-US: suffix rules, longest first; applied to words of five letters or more.
_SPELLING = tuple((re.compile(p + r"$"), r) for p, r in (
    (r"is(e|es|ed|ing|ation|ations|er|ers|able)", r"iz\1"),
    (r"ys(e|es|ed|ing|is)", r"yz\1"),
    (r"(..)our(s|ed|ing|ite|ites|able|ably|al|hood|hoods|ly)?", r"\1or\2"),
    (r"([^aeiou])tre(s)?", r"\1ter\2"),
    (r"ogue(s)?", r"og\1"),
    (r"ence(s)?", r"ense\1"),
    (r"ement", r"ment"),
    (r"amme(s)?", r"am\1"),
))
_WORDS = {"whilst": "while", "amongst": "among", "towards": "toward", "learnt": "learned",
          "enquiry": "inquiry", "enquiries": "inquiries", "cheque": "check", "tyre": "tire",
          "aluminium": "aluminum", "grey": "gray", "mum": "mom", "postcode": "zip"}


def text_words(text: str, *, spelling: bool = True) -> list[str]:
    """The canonical words of a Markdown (or plain) text, in order; `spelling=False` keeps en-GB/en-US apart."""
    if not text.isascii():  # most pages are; NFKC and the scan for invisible characters cost 20 ms on 60 kB
        text = unicodedata.normalize("NFKC", text)
        for char in _INVISIBLE:
            if char in text:
                text = text.replace(char, "")
    text = _IMAGE.sub(r" \1 ", text)
    text = _REF.sub(r" \1 ", _LINK.sub(r" \1 ", text))
    text = _TAG.sub(" ", _URL.sub(" ", text))
    found = _WORD.findall(_MARKER.sub("", text.lower()))
    return [_spelling(w) for w in found] if spelling else found


@functools.lru_cache(maxsize=65536)  # a document has a few thousand distinct words; the rules cost 20 us each
def _spelling(word: str) -> str:
    word = word.replace("ll", "l")  # cancelled/canceled, fulfil/fulfill, enrol/enroll
    if word in _WORDS:
        return _WORDS[word]
    if len(word) < 5 or word.isdigit():
        return word
    for pattern, repl in _SPELLING:
        new = pattern.sub(repl, word, count=1)
        if new != word:
            return new
    return word


def shingles(words: Sequence[str], size: int = 5) -> set[int]:
    """The hashes of a word list's runs of `size` words (a text shorter than that: its one run)."""
    if len(words) < size:
        return {hash(tuple(words))} if words else set()
    return {hash(tuple(words[i:i + size])) for i in range(len(words) - size + 1)}


def containment(part: set[int], whole: set[int]) -> float:
    """The share of `part`'s shingles that `whole` has: 1.0 when all of one text is inside the other."""
    return len(part & whole) / len(part) if part else 1.0
