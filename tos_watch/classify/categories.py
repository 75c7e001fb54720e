"""Which clause categories a text touches, with the words that triggered each.

Scores are sums of the distinct lexicon cues that match (see `lexicon`); a
category is flagged at THRESHOLD. Evidence is the matched words, so a user
can see why a change was flagged.
"""

from __future__ import annotations

import difflib
import functools
import re

from tos_watch.classify.cosmetic import is_filler, plain
from tos_watch.classify.features import edit_features
from tos_watch.classify.gates import word_prefixes
from tos_watch.classify.learned import EditJudge, shipped_judge
from tos_watch.classify.lexicon import CUES, Cue
from tos_watch.classify.model import NaiveBayes, shipped_model

Span = tuple[int, int]
_TOKEN = re.compile(r"\w+")

CATEGORIES: tuple[str, ...] = ("licensing", "access", "retention", "biometrics", "ai_training",
                               "user_rights", "changes", "disputes")
THRESHOLD = 1.0
# The word model gates lexicon flags only where it saw >= 50 labelled clauses (licensing, access,
# changes, disputes): below that (retention, user_rights) its posteriors are noise. A clause the model
# is sure of (P >= MODEL_ALONE) is flagged even without a lexicon cue.
MODEL_GATE = {"licensing": 0.1, "access": 0.1, "changes": 0.1, "disputes": 0.1}
MODEL_ALONE = 0.8
# ... unless a veto cue (security wording around "unauthorised access") pushes the lexicon score below 0:
# naive Bayes posteriors are overconfident, and a veto is a reading the word model cannot make.
_MAX_EVIDENCE = 60  # characters of one matched phrase shown as evidence


def _trim(phrase: str) -> str:
    """Evidence phrases can span a sentence; keep their two ends readable."""
    phrase = " ".join(phrase.split())
    if len(phrase) <= _MAX_EVIDENCE:
        return phrase
    return f"{phrase[:28]} … {phrase[-28:]}"


Hit = tuple[Cue, Span]


@functools.lru_cache(maxsize=1024)
def _hits(text: str) -> dict[str, tuple[Hit, ...]]:
    """Per category, the cues that match a plain text, each with the span of its first match.

    Cached because `flag_change` reads the same text for scores and for evidence,
    and a flapping page shows the same clauses again and again.
    """
    low = text.lower()
    prefixes = word_prefixes(low)  # the same set; keyed by the lower-cased text, as `direction` asks again
    out: dict[str, tuple[Hit, ...]] = {}
    for category, cues in CUES.items():
        found = tuple((cue, m.span()) for cue in cues if (m := cue.search(prefixes, text, low)))
        if found:
            out[category] = found
    return out


def scores(text: str) -> dict[str, tuple[float, list[str]]]:
    """Per category: cue score and evidence phrases (only categories with any cue)."""
    text = plain(text)
    return {category: (sum(cue.weight for cue, _ in found), [_trim(text[s:e]) for cue, (s, e) in found
                                                              if cue.weight > 0])
            for category, found in _hits(text).items()}


def categorize_with_evidence(text: str) -> dict[str, list[str]]:
    """Flagged categories of one clause, each with its evidence, in taxonomy order."""
    found = scores(text)
    return {c: found[c][1] for c in CATEGORIES if c in found and found[c][0] >= THRESHOLD}


def default_model() -> NaiveBayes:
    """The shipped clause model, loaded on first use from the package data."""
    return shipped_model()


def categorize(text: str, model: NaiveBayes | None = None, judge: EditJudge | None = None) -> list[str]:
    """Categories of one clause (empty: none): lexicon cues, gated and completed by the word model,
    and completed by the edit judge's category model, which reads the clause as an added one."""
    model = model or default_model()
    judge = shipped_judge() if judge is None else judge
    found = scores(text)
    post = model.posteriors(plain(text))
    out: list[str] = []
    features: dict[str, float] | None = None
    for c in CATEGORIES:
        if judge.clause_alone <= 1.0 and c in judge.categories:
            if features is None:
                lexicon_flags = [k for k in CATEGORIES if k in found and found[k][0] >= THRESHOLD]
                features = edit_features("", "", text, "added", len(text.split()) < 12, lexicon_flags)
            if judge.categories[c].probability(features) >= judge.clause_alone:
                out.append(c)
                continue
        lex = found.get(c, (0.0, []))[0]
        p = post.get(c)
        if p is None:  # no training examples (biometrics, ai_training): lexicon alone
            flagged = lex >= THRESHOLD
        else:
            flagged = (lex >= THRESHOLD and p >= MODEL_GATE.get(c, 0.0)) or (p >= MODEL_ALONE and lex >= 0.0)
        if flagged:
            out.append(c)
    return out


def _changed_spans(a: str, b: str) -> tuple[list[Span], list[Span]]:
    """Character spans of the words that differ between two plain texts (filler words ignored)."""
    if not a or not b:  # an added or removed clause: all of it changed, one span is enough
        return ([(0, len(a))] if a else []), ([(0, len(b))] if b else [])
    ta, tb = list(_TOKEN.finditer(a)), list(_TOKEN.finditer(b))
    matcher = difflib.SequenceMatcher(None, [m.group().lower() for m in ta], [m.group().lower() for m in tb],
                                      autojunk=False)
    spans_a: list[Span] = []
    spans_b: list[Span] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            spans_a += [m.span() for m in ta[i1:i2] if not is_filler(m.group())]
            spans_b += [m.span() for m in tb[j1:j2] if not is_filler(m.group())]
    return spans_a, spans_b


def _touched(text: str, spans: list[Span], found: tuple[Hit, ...]) -> list[str]:
    """Evidence of a category's cues (`found` in `text`, a plain text) that sit on a changed word."""
    hits: list[str] = []
    if not spans:
        return hits
    low = text.lower()
    for cue, first in found:
        if cue.weight <= 0:
            continue
        for m in cue.finditer(text, low, first[0]):
            if any(s < m.end() and m.start() < e for s, e in spans):
                hits.append(_trim(text[m.start():m.end()]))
                break
    return hits


def flag_change(old: str, new: str, context: str = "") -> dict[str, list[str]]:
    """Categories a clause change touches, with evidence.

    A category is flagged when the old or new clause scores for it *and* one of
    its cues sits on a changed word: editing the payment terms inside a
    sentence that also mentions a licence does not touch licensing. `context`
    (the section heading) is read before fragments such as table rows.
    """
    return flag_plain_change(plain(old), plain(new), f"{plain(context)}: " if context else "")


def flag_plain_change(a: str, b: str, prefix: str = "") -> dict[str, list[str]]:
    """`flag_change` of clauses already plain (`cosmetic.plain`), the context as the prefix it reads."""
    spans_a, spans_b = _changed_spans(a, b)
    shift = len(prefix)
    texts = [(t, [(s + shift, e + shift) for s, e in sp]) for t, sp in ((a, spans_a), (b, spans_b)) if t]
    texts = [(prefix + t, sp) for t, sp in texts]  # the texts are plain already
    side_hits = [_hits(t) for t, _ in texts]
    out: dict[str, list[str]] = {}
    for category in CATEGORIES:
        best = max((sum(cue.weight for cue, _ in h.get(category, ())) for h in side_hits), default=0.0)
        if best < THRESHOLD:
            continue
        evidence = [w for (t, sp), h in zip(texts, side_hits) for w in _touched(t, sp, h.get(category, ()))]
        if evidence:
            out[category] = list(dict.fromkeys(evidence))
    return out
