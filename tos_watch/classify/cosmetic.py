"""Tell cosmetic edits from substantive ones.

Most real changes are cosmetic (link targets, dates, punctuation, renames,
banners); a tracker that cries wolf on them is useless. Two tools: `key()`
maps a sentence to a form where cosmetic differences vanish, so equal keys
mean "nothing of substance changed"; the `*_is_cosmetic` predicates judge the
sentences that still differ after that.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata

from tos_watch.classify.gates import contains_any, has_case_twin, lowered_regex, needles

_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[((?:\\\]|[^\]])*)\]\((?:<[^>]*>|[^)\s]*)(?:\s+\"[^\"]*\")?\)")
_REF_LINK = re.compile(r"\[([^\]]*)\]\[[^\]]*\]")
_ANGLE = re.compile(r"<[^>\s]+>")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\[email(?:&#160;|\s)*protected\]", re.IGNORECASE)
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december"
           "|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DATE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\.?,?\s+\d{{4}}"
    rf"|(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|(?:{_MONTHS})\.?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}[/.]\d{1,2}[/.]\d{2,4})\b",
    re.IGNORECASE,
)
_NUMBERING = re.compile(r"^\s*(?:[(\[]?(?:\d{1,3}(?:\.\d{1,3})*|[a-z]|[ivxlc]{1,5})[.)\]:]\s*)+",
                        re.IGNORECASE)
_XREF = re.compile(r"\b(section|article|clause|paragraph|part|§)\s*\(?[\divxlc]+(?:\.\d+)*\)?(?:\([a-z0-9]+\))*",
                   re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")
_DATE_LINE = re.compile(r"^(?:this\s+\w+\s+(?:policy|notice|terms?)\s+(?:is|was)\s+)?"
                        r"(?:last\s+|most\s+recently\s+)?(?:updated|modified|revised|effective|amended|"
                        r"published|version|valid|in\s+effect|date)\b", re.IGNORECASE)
# Banners, page furniture and notices of the update itself, anywhere in a sentence ...
_BANNER = re.compile(
    r"(?:we(?:'|’)re|we\s+are|we\s+have|we(?:'|’)ve|we\s+will\s+be)\s+(?:updating|updated|changing|making\s+changes)"
    r"|\b(?:upcoming|coming)\s+(?:changes|update)|\bpreview\s+(?:the|our)\b|\bwill\s+(?:take|come\s+into)\s+effect\b"
    r"|\bclick\s+here\b|\blearn\s+more\b|\bback\s+to\s+top\b|\bprint\b|\bdownload\s+(?:a\s+)?pdf\b"
    r"|\btable\s+of\s+contents\b|\b(?:previous|prior)\s+versions?\b|\barchived?\s+versions?\b"
    r"|\bupdates?\s+to\s+(?:our|the|these|this)\s+(?:terms|privacy|policy)",
    re.IGNORECASE,
)
# ... and sentences that open by sending the reader elsewhere ("See our cookie page for details").
_SEE_ALSO = re.compile(r"^(?:please\s+)?(?:see|visit|refer\s+to|read|view|go\s+to|check\s+out)\b.{0,160}"
                       r"(?:\bfor\s+(?:more|additional|further|details)|\bpage\b|\bhere\b|\bdisclosures\b)",
                       re.IGNORECASE)
# The same, for lower-cased text: faster than IGNORECASE. Kept apart because the banner words
# give a substring test that rules out most sentences, while "see ... for" would rule out none.
_BANNER_LOW = re.compile(lowered_regex(_BANNER.pattern))
_BANNER_NEEDLES = needles(_BANNER_LOW)
_SEE_ALSO_LOW = re.compile(lowered_regex(_SEE_ALSO.pattern))
_UI_ARTIFACT = re.compile(r"opens?\s+(?:in\s+)?(?:a\s+)?(?:new\s+)?(?:email\s+client|window|tab)\b"
                          r"|\bcopy\s+\.?md\b|\(opens[^)]*\)", re.IGNORECASE)
_NAV = re.compile(r"^[^|]{1,60}(?:\s\|\s+[^|]{1,60}){2,}$")
# Words whose insertion, deletion or swap is grammar, not substance ("data at the user level").
_FILLER = frozenset([
    "a", "an", "the", "that", "this", "these", "those", "which", "who", "also", "just", "simply",
    "then", "there", "here", "its", "their", "your", "his", "her", "of", "in", "on", "at", "to",
    "for", "by", "with", "as", "is", "are", "be", "been", "it", "so", "very", "where", "available",
    "please", "s", "e", "g", "i", "om"
])
# Tokens whose change is never a typo: a one-letter edit that flips meaning.
_MEANINGFUL = frozenset([
    "not", "now", "no", "nor", "may", "must", "all", "any", "only", "will", "shall", "can",
    "cannot", "sell", "share"
])


@functools.lru_cache(maxsize=4096)
def plain(text: str) -> str:
    """Markdown without link targets, images, emphasis or escapes: what a reader sees."""
    text = unicodedata.normalize("NFKC", text)
    if "[" in text:  # each substitution only when its marker occurs: most sentences have none
        text = _IMAGE.sub(" ", text)
        text = _LINK.sub(r"\1", text)
        text = _REF_LINK.sub(r"\1", text)
    if "<" in text:
        text = _ANGLE.sub(" ", text)
    if "\\" in text:
        text = _ESCAPE.sub(r"\1", text)
    text = _MARKUP.sub(" ", text)
    return " ".join(text.split())


_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])")
_MARKUP = re.compile(r"[*_`#>|]+")
_QUOTES = re.compile(r"['’‘`´]")
_DIGIT = re.compile(r"\d")


@functools.lru_cache(maxsize=4096)
def key(text: str) -> str:
    """Comparison key: equal keys mean the sentences differ only cosmetically."""
    text = plain(text)
    low = text.lower()
    # The key keeps lower case only. Where lower-casing keeps every length and IGNORECASE sees no
    # case twin (see `gates`), the patterns' lower-cased twins find the same matches in the
    # lower-cased text, case-sensitively and several times faster.
    fast = len(low) == len(text) and not has_case_twin(text)
    ui_artifact, url, email, date, numbering, xref = _KEY_PATTERNS_LOW if fast else _KEY_PATTERNS
    if fast:
        text = low
    if "open" in low or "copy" in low:
        text = ui_artifact.sub(" ", text)
    if "http" in low or "www" in low:
        text = url.sub(" ", text)
    if "@" in text or "email" in low:
        text = email.sub(" ", text)
    if _DIGIT.search(text):
        text = date.sub(" ", text)
    text = numbering.sub(" ", text)
    if not fast or contains_any(text, _XREF_NEEDLES):  # few sentences cite a section: skip the scan
        text = xref.sub(r"\1", text)
    return " ".join(_WORD.findall(_QUOTES.sub("", text.lower())))


_KEY_PATTERNS = (_UI_ARTIFACT, _URL, _EMAIL, _DATE, _NUMBERING, _XREF)
_KEY_PATTERNS_LOW = tuple(re.compile(lowered_regex(p.pattern)) for p in _KEY_PATTERNS)
_XREF_NEEDLES = needles(_KEY_PATTERNS_LOW[-1])


def words(text: str) -> list[str]:
    """Words as a reader sees them (case kept, for rename detection); an e-mail address is one word."""
    text = _EMAIL.sub(f" {_ADDRESS} ", _UI_ARTIFACT.sub(" ", plain(_URL.sub(" ", text))))
    return _READER_WORD.findall(text)


_READER_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’.\-]*[A-Za-z0-9]|[A-Za-z0-9]")


_ADDRESS = "EMAILADDRESS"
# Words that only introduce a contact detail: "or at", "by email to", "contact us via".
_CONTACT_WORDS = frozenset(["or", "and", "at", "via", "by", "to", "email", "e-mail", "mail", "contact", "us",
                            "write", "writing", _ADDRESS.lower()])


def _is_contact_edit(tokens: list[str]) -> bool:
    """An e-mail address added, removed or replaced with its connecting words: a contact detail,
    which the taxonomy counts with address updates as cosmetic."""
    low = [t.lower() for t in tokens]
    return _ADDRESS.lower() in low and all(t in _CONTACT_WORDS or is_filler(t) for t in low)


def is_title(text: str) -> bool:
    """A short line of capitalised words without sentence punctuation: a page title or heading.

    Why: pages often carry their title as a plain paragraph; renaming one
    ("Privacy Policy" -> "Privacy Policy | Example Policy") changes no clause.
    """
    toks = words(text)
    if not 0 < len(toks) <= 8 or plain(text).rstrip().endswith((".", ":", ";", ",")):
        return False
    return all(t[:1].isupper() or t[:1].isdigit() or is_filler(t) or t.lower() in ("and", "or", "&")
               for t in toks)


def _is_typo(a: str, b: str) -> bool:
    """A one- or two-letter slip in a longer word, never a number or a meaning word."""
    if any(c.isdigit() for c in a + b) or a.lower() in _MEANINGFUL or b.lower() in _MEANINGFUL:
        return False
    if min(len(a), len(b)) < 4:
        return False
    return difflib.SequenceMatcher(None, a.lower(), b.lower()).ratio() >= 0.8


def _is_name(tokens: list[str]) -> bool:
    """A short run of capitalised words: a company or product name."""
    return 0 < len(tokens) <= 3 and all(t[:1].isupper() for t in tokens)


@functools.lru_cache(maxsize=2048)
def pair_is_cosmetic(old: str, new: str) -> bool:
    """Old and new sentence differ only by key, typos, or a company/product rename.

    Cached: a check meets the same edited sentence in every copy of a policy.
    """
    if key(old) == key(new) or (is_boilerplate(old) and is_boilerplate(new)):
        return True
    a = [w for w in words(old) if not (w[0].isdigit() and _DATE.fullmatch(w))]  # a one-word date starts
    b = [w for w in words(new) if not (w[0].isdigit() and _DATE.fullmatch(w))]  # with a digit
    ops = difflib.SequenceMatcher(None, [w.lower() for w in a], [w.lower() for w in b], autojunk=False)
    for tag, i1, i2, j1, j2 in ops.get_opcodes():
        if tag == "equal":
            continue
        left, right = a[i1:i2], b[j1:j2]
        if tag == "replace" and len(left) == len(right) == 1 and _is_typo(left[0], right[0]):
            continue
        if tag == "replace" and _is_name(left) and _is_name(right):
            continue
        if all(is_filler(w) for w in left + right) or _is_contact_edit(left + right):
            continue
        return False
    return True


@functools.lru_cache(maxsize=8192)
def is_filler(word: str) -> bool:
    """A word whose insertion or swap changes no substance: articles, pronouns, stray letters."""
    low = word.lower().strip("'’.")
    return low in _FILLER or (len(low) <= 2 and low.isalpha() and low not in _MEANINGFUL)


@functools.lru_cache(maxsize=4096)
def is_boilerplate(text: str) -> bool:
    """A date line, banner, cross-reference, navigation bar or link list: never a clause.

    Cached: both the pairing and the lone-sentence checks ask, and a check meets
    the same sentences in many documents.
    """
    k = key(text)
    if not k:
        return True
    size = len(k.split())
    if _DATE_LINE.match(k) and size <= 12:
        return True
    if size <= 40 and _is_banner(plain(text).lower()):
        return True
    if "|" in text and not text.lstrip().startswith("|") and _NAV.match(" ".join(_LINK.sub(r"\1", text).split())):
        return True
    # nothing but links: navigation, a table of contents, promotion
    return "[" in text and not key(_LINK.sub("", _IMAGE.sub("", text)))


def _is_banner(low: str) -> bool:
    """A lower-cased plain sentence that is a banner or sends the reader elsewhere."""
    return bool(_SEE_ALSO_LOW.match(low) or (contains_any(low, _BANNER_NEEDLES) and _BANNER_LOW.search(low)))


def lone_is_cosmetic(text: str, kind: str) -> bool:
    """An added or removed sentence with no substance: boilerplate, a heading, a stray fragment."""
    return kind == "heading" or is_boilerplate(text) or len(key(text).split()) <= 3
