"""A small multinomial naive Bayes over clause words, used beside the lexicon.

Why: the lexicon knows the taxonomy's vocabulary but not how ToS;DR-style
clauses phrase it; a word model trained on the labelled clauses learns the
phrasing (and what "none" clauses look like) from 800 examples, costs
microseconds per clause and needs no dependency. Weights live in
`_weights.py` (a Python literal, so it ships with the package); `train()`
rebuilds them (see benchmarks/eval_classifier.py --train). Pure code.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[a-z][a-z'-]+")
_STOP = frozenset(["the", "a", "an", "of", "and", "or", "to", "in", "on", "for", "by", "with", "as", "is", "are", "be", "it", "this", "that"])


def features(text: str) -> list[str]:
    """Lower-cased words and adjacent word pairs (stop words dropped from pairs only)."""
    words = _WORD.findall(text.lower())
    content = [w for w in words if w not in _STOP]
    return words + [f"{a}_{b}" for a, b in itertools.pairwise(content)]


@dataclass(frozen=True)
class NaiveBayes:
    """Log priors and per-class log likelihoods; unseen features are ignored."""

    priors: dict[str, float]
    loglik: dict[str, dict[str, float]]
    default: dict[str, float]  # log likelihood of a feature the class never saw

    def posteriors(self, text: str) -> dict[str, float]:
        """P(class | text), over the classes the model was trained on."""
        feats = [f for f in features(text) if any(f in ll for ll in self.loglik.values())]
        logp = {c: self.priors[c] + sum(self.loglik[c].get(f, self.default[c]) for f in feats)
                for c in self.priors}
        top = max(logp.values())
        z = sum(math.exp(v - top) for v in logp.values())
        return {c: math.exp(v - top) / z for c, v in logp.items()}


def train(texts: Sequence[str], labels: Sequence[str], *, alpha: float = 0.5, min_count: int = 2) -> NaiveBayes:
    """Fit the model; features seen fewer than `min_count` times are dropped to keep the file small."""
    totals: Counter[str] = Counter()
    for text in texts:
        totals.update(set(features(text)))
    vocab = {f for f, n in totals.items() if n >= min_count}
    per_class: dict[str, Counter[str]] = {}
    for text, label in zip(texts, labels):
        per_class.setdefault(label, Counter()).update(f for f in features(text) if f in vocab)
    n = len(labels)
    label_counts = Counter(labels)
    priors = {c: math.log(label_counts[c] / n) for c in per_class}
    loglik: dict[str, dict[str, float]] = {}
    default: dict[str, float] = {}
    for c, counts in per_class.items():
        denom = sum(counts.values()) + alpha * len(vocab)
        loglik[c] = {f: round(math.log((k + alpha) / denom), 3) for f, k in counts.items()}
        default[c] = round(math.log(alpha / denom), 3)
    return NaiveBayes(priors, loglik, default)


def folds(n: int, k: int) -> Iterable[tuple[list[int], list[int]]]:
    """Deterministic k-fold split of range(n) (every k-th item), for cross-validated scores."""
    for f in range(k):
        test = [i for i in range(n) if i % k == f]
        train_idx = [i for i in range(n) if i % k != f]
        yield train_idx, test
