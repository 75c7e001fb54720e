"""Which clause categories a text touches, with the words that triggered each.

Scores are sums of the distinct lexicon cues that match (see `lexicon`); a
category is flagged at THRESHOLD. Evidence is the matched words, so a user
can see why a change was flagged.
"""

from __future__ import annotations

import difflib
import re

from tos_watch.classify.cosmetic import is_filler, plain
from tos_watch.classify.lexicon import CUES
from tos_watch.classify.model import NaiveBayes

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
_MAX_EVIDENCE = 60  # characters of one matched phrase shown as evidence


def _trim(phrase: str) -> str:
    """Evidence phrases can span a sentence; keep their two ends readable."""
    phrase = " ".join(phrase.split())
    if len(phrase) <= _MAX_EVIDENCE:
        return phrase
    return f"{phrase[:28]} … {phrase[-28:]}"


def scores(text: str) -> dict[str, tuple[float, list[str]]]:
    """Per category: cue score and evidence phrases (only categories with any cue)."""
    text = plain(text)
    out: dict[str, tuple[float, list[str]]] = {}
    for category, cues in CUES.items():
        total = 0.0
        evidence: list[str] = []
        for cue in cues:
            m = cue.pattern.search(text)
            if m:
                total += cue.weight
                evidence.append(_trim(m.group(0)))
        if total > 0:
            out[category] = (total, evidence)
    return out


def categorize_with_evidence(text: str) -> dict[str, list[str]]:
    """Flagged categories of one clause, each with its evidence, in taxonomy order."""
    found = scores(text)
    return {c: found[c][1] for c in CATEGORIES if c in found and found[c][0] >= THRESHOLD}


_MODEL: list[NaiveBayes] = []


def default_model() -> NaiveBayes:
    """The shipped clause model, built on first use from `_weights`."""
    if not _MODEL:
        from tos_watch.classify import _weights

        _MODEL.append(NaiveBayes(_weights.PRIORS, _weights.LOGLIK, _weights.DEFAULT))
    return _MODEL[0]


def categorize(text: str, model: NaiveBayes | None = None) -> list[str]:
    """Categories of one clause (empty: none): lexicon cues, gated and completed by the word model."""
    model = model or default_model()
    found = scores(text)
    post = model.posteriors(plain(text))
    out: list[str] = []
    for c in CATEGORIES:
        lex = found.get(c, (0.0, []))[0]
        p = post.get(c)
        if p is None:  # no training examples (biometrics, ai_training): lexicon alone
            flagged = lex >= THRESHOLD
        else:
            flagged = (lex >= THRESHOLD and p >= MODEL_GATE.get(c, 0.0)) or p >= MODEL_ALONE
        if flagged:
            out.append(c)
    return out


def _changed_spans(a: str, b: str) -> tuple[list[Span], list[Span]]:
    """Character spans of the words that differ between two plain texts (filler words ignored)."""
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


def _touched(text: str, spans: list[Span], category: str) -> list[str]:
    """Evidence of the category's cues that sit on a changed word of `text`."""
    hits: list[str] = []
    for cue in CUES[category]:
        for m in cue.pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in spans):
                hits.append(_trim(m.group(0)))
                break
    return hits


def flag_change(old: str, new: str, context: str = "") -> dict[str, list[str]]:
    """Categories a clause change touches, with evidence.

    A category is flagged when the old or new clause scores for it *and* one of
    its cues sits on a changed word: editing the payment terms inside a
    sentence that also mentions a licence does not touch licensing. `context`
    (the section heading) is read before fragments such as table rows.
    """
    prefix = f"{plain(context)}: " if context else ""
    a, b = plain(old), plain(new)
    spans_a, spans_b = _changed_spans(a, b)
    shift = len(prefix)
    texts = [(prefix + a if a else "", [(s + shift, e + shift) for s, e in spans_a]),
             (prefix + b if b else "", [(s + shift, e + shift) for s, e in spans_b])]
    side_scores = [scores(t) for t, _ in texts if t]
    out: dict[str, list[str]] = {}
    for category in CATEGORIES:
        best = max((sc.get(category, (0.0, []))[0] for sc in side_scores), default=0.0)
        if best < THRESHOLD:
            continue
        evidence = [w for t, sp in texts if t for w in _touched(t, sp, category)]
        if evidence:
            out[category] = list(dict.fromkeys(evidence))
    return out
