"""What a learned judge reads about one clause edit: general, structural features, no service names.

Which kinds of tokens changed (digits, dates, URLs, e-mails, capitalised
names, list items), how much changed, the words removed, added and kept, the
section heading, modal verbs and negation added or removed, and which
categories the lexicon flagged. Sparse: a mapping of feature name to value,
scored by `learned.LinearModel` in pure Python. Names are stable strings
because the shipped model is keyed by them.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable

from tos_watch.classify.cosmetic import plain

_TOKEN = re.compile(r"[a-z0-9][a-z0-9'’\-]*[a-z0-9]|[a-z0-9]")
_CASED = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
_URL = re.compile(r"(?:https?://|www\.)\S+|\]\(", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\[email(?:&#160;|\s)*protected\]", re.IGNORECASE)
_PHONE = re.compile(r"\+?\d[\d\s().-]{7,}\d")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
_MONTH = frozenset("january february march april may june july august september october november december".split())
_ADDRESS = frozenset("street st avenue ave road rd suite floor building boulevard blvd po box plaza lane drive "
                     "dublin london california ca ireland inc ltd llc gmbh limited corporation corp bv sa ag".split())
_MODALS = frozenset("may might can could will shall must should".split())
_NEGATION = frozenset("not no never nor without cannot none only solely except unless".split())
_STOP = frozenset("the a an of and or to in on for by with as is are be it this that these those at from".split())
_BANNER = re.compile(r"\b(?:updat\w*|effective|changes?\s+to|new\s+version|revised|will\s+take\s+effect|"
                     r"coming\s+soon|starting|as\s+of)\b", re.IGNORECASE)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(plain(text).lower())


def _diff(a: list[str], b: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Removed, added and kept tokens of a word-level diff."""
    removed: list[str] = []
    added: list[str] = []
    kept: list[str] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            kept += a[i1:i2]
        else:
            removed += a[i1:i2]
            added += b[j1:j2]
    return removed, added, kept


def _kind_of(token: str) -> str:
    if _YEAR.match(token) or token in _MONTH:
        return "date"
    if any(c.isdigit() for c in token):
        return "digit"
    if token in _MODALS:
        return "modal"
    if token in _NEGATION:
        return "neg"
    if token in _ADDRESS:
        return "address"
    return "stop" if token in _STOP else "word"


def _bucket(n: float) -> int:
    return min(6, int(math.log2(1 + n)))


def _words(prefix: str, tokens: Iterable[str]) -> dict[str, float]:
    return {f"{prefix}:{t}": 1.0 for t in tokens if t not in _STOP and len(t) > 1 and not t.isdigit()}


def _capitalised_share(text: str, changed: set[str]) -> float:
    """Share of the changed words written with a capital: names, products, places."""
    cased = [w for w in _CASED.findall(plain(text)) if w.lower() in changed]
    return sum(w[:1].isupper() for w in cased) / len(cased) if cased else 0.0


def edit_features(section: str, old: str, new: str, kind: str, fragment: bool,
                  flagged: Iterable[str]) -> dict[str, float]:
    """Sparse features of one edit; `flagged` are the categories the lexicon flagged on it."""
    a, b = _tokens(old), _tokens(new)
    removed, added, kept = _diff(a, b)
    changed = removed + added
    f: dict[str, float] = {"bias": 1.0, f"kind:{kind}": 1.0, f"size:{_bucket(len(changed))}": 1.0,
                           f"total:{_bucket(len(a) + len(b))}": 1.0}
    if fragment:
        f["fragment"] = 1.0
    share = len(changed) / max(1, len(a) + len(b))
    f["changed_share"] = share
    f[f"share:{min(4, int(share * 5))}"] = 1.0
    for side, toks in (("del", removed), ("add", added)):
        for t in toks:
            key = f"{side}_kind:{_kind_of(t)}"
            f[key] = f.get(key, 0.0) + 1.0 / max(1, len(changed))
        f.update(_words(side, toks))
        if any(t in _MODALS for t in toks):
            f[f"{side}_modal"] = 1.0
        if any(t in _NEGATION for t in toks):
            f[f"{side}_neg"] = 1.0
    f.update(_words("keep", set(kept)))
    f.update(_words("sec", _tokens(section)[:8]))
    for name, pattern in (("url", _URL), ("email", _EMAIL), ("phone", _PHONE)):
        if len(pattern.findall(old)) != len(pattern.findall(new)):
            f[f"{name}_changed"] = 1.0
    f["capitalised"] = _capitalised_share(old + " " + new, set(changed))
    if _BANNER.search(plain(new if kind != "removed" else old)):
        f["banner_words"] = 1.0
    if changed and all(_kind_of(t) in ("date", "digit", "stop") for t in changed):
        f["only_numbers"] = 1.0
    for c in flagged:
        f[f"lex:{c}"] = 1.0
    if not flagged:
        f["lex:none"] = 1.0
    return f
