"""A small multinomial naive Bayes over clause words, used beside the lexicon.

Why: the lexicon knows the taxonomy's vocabulary but not how ToS;DR-style
clauses phrase it; a word model trained on the labelled clauses learns the
phrasing (and what "none" clauses look like) from 800 examples, costs
microseconds per clause and needs no dependency. Weights live in
`data/nb_weights.json` (package data, read once on first use: a data file
parses faster and diffs smaller than a 200 KiB Python literal); `train()`
rebuilds them (see benchmarks/eval_classifier.py --train). Reading the shipped
package resource is the module's only I/O.
"""

from __future__ import annotations

import functools
import importlib.resources
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

WEIGHTS_RESOURCE = "data/nb_weights.json"

_WORD = re.compile(r"[a-z][a-z'-]+")
_STOP = frozenset([
    "the", "a", "an", "of", "and", "or", "to", "in", "on", "for", "by", "with", "as", "is", "are",
    "be", "it", "this", "that"
])


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


@functools.cache
def shipped_model() -> NaiveBayes:
    """The model trained on all of clauses-dev, built once from the package's count file."""
    raw = importlib.resources.files("tos_watch.classify").joinpath(WEIGHTS_RESOURCE).read_text(encoding="utf-8")
    return from_counts(json.loads(raw))


def count_features(texts: Sequence[str], labels: Sequence[str], *, alpha: float = 0.5,
                   min_count: int = 2) -> dict[str, Any]:
    """Training counts as a compact JSON object: the vocabulary once, then per class (index gap, count) pairs.

    Counts, not log weights, are stored: small integers, and the log arithmetic
    lives in one place (`from_counts`). Features in fewer than `min_count` clauses are dropped.
    """
    totals: Counter[str] = Counter()
    for text in texts:
        totals.update(set(features(text)))
    vocab = sorted(f for f, n in totals.items() if n >= min_count)
    index = {f: i for i, f in enumerate(vocab)}
    per_class: dict[str, Counter[int]] = {}
    for text, label in zip(texts, labels):
        per_class.setdefault(label, Counter()).update(index[f] for f in features(text) if f in index)
    packed: dict[str, list[int]] = {}
    for c, counts in sorted(per_class.items()):
        flat, last = [], 0
        for i in sorted(counts):
            flat += [i - last, counts[i]]
            last = i
        packed[c] = flat
    return {"alpha": alpha, "labels": dict(sorted(Counter(labels).items())), "vocab": vocab, "counts": packed}


def from_counts(data: dict[str, Any]) -> NaiveBayes:
    """Log priors and smoothed log likelihoods from `count_features` output."""
    alpha, vocab, n = float(data["alpha"]), data["vocab"], sum(data["labels"].values())
    priors = {c: math.log(data["labels"][c] / n) for c in data["counts"]}
    loglik: dict[str, dict[str, float]] = {}
    default: dict[str, float] = {}
    for c, flat in data["counts"].items():
        idx = list(itertools.accumulate(flat[0::2]))
        denom = sum(flat[1::2]) + alpha * len(vocab)
        loglik[c] = {vocab[i]: math.log((k + alpha) / denom) for i, k in zip(idx, flat[1::2])}
        default[c] = math.log(alpha / denom)
    return NaiveBayes(priors, loglik, default)


def train(texts: Sequence[str], labels: Sequence[str], *, alpha: float = 0.5, min_count: int = 2) -> NaiveBayes:
    """Fit the model on labelled clauses."""
    return from_counts(count_features(texts, labels, alpha=alpha, min_count=min_count))


def folds(n: int, k: int) -> Iterable[tuple[list[int], list[int]]]:
    """Deterministic k-fold split of range(n) (every k-th item), for cross-validated scores."""
    for f in range(k):
        test = [i for i in range(n) if i % k == f]
        train_idx = [i for i in range(n) if i % k != f]
        yield train_idx, test
