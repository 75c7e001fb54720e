"""Score the clause classifier on the dev sets, cross-validate the word model, time a whole check.

Run by hand:

    .venv/bin/python benchmarks/eval_classifier.py            # dev table + 5-fold CV + timing
    .venv/bin/python benchmarks/eval_classifier.py --train    # rebuild tos_watch/classify/data/nb_weights.json

Only the *-dev files are read here; holdouts are scored blind elsewhere.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tos_watch.classify import assess  # noqa: E402
from tos_watch.classify.categories import categorize  # noqa: E402
from tos_watch.classify.model import count_features  # noqa: E402
from tos_watch.classify.scoring import clause_scores  # noqa: E402

SHARED = ROOT.parent / "shared"
WEIGHTS = ROOT / "tos_watch" / "classify" / "data" / "nb_weights.json"


def load(name: str) -> list[dict]:
    with (SHARED / "eval" / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_weights() -> None:
    """Count features over all of clauses-dev and write them as the shipped JSON count file."""
    items = load("clauses-dev.jsonl")
    data = count_features([i["text"] for i in items], [i["category"] for i in items])
    WEIGHTS.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {WEIGHTS} ({WEIGHTS.stat().st_size // 1024} KiB, {len(data['vocab'])} features)")


def time_corpus() -> dict[str, float]:
    """Assess every consecutive pair of versions in the corpus: wall and CPU totals, per-pair percentiles."""
    times: list[float] = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for doc in sorted(p for p in (SHARED / "corpus").glob("*/*") if p.is_dir()):
        texts = [v.read_text(encoding="utf-8") for v in sorted(doc.glob("*.md"))]
        for old, new in itertools.pairwise(texts):
            t0 = time.perf_counter()
            assess(old, new)
            times.append(time.perf_counter() - t0)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    times.sort()
    return {"pairs": len(times), "total_s": total, "cpu_s": cpu, "median_ms": 1000 * times[len(times) // 2],
            "p95_ms": 1000 * times[int(len(times) * 0.95)], "worst_ms": 1000 * times[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="rebuild the shipped word-model weights")
    parser.add_argument("--no-timing", action="store_true", help="skip timing the corpus")
    args = parser.parse_args()
    if args.train:
        write_weights()
        return
    from tos_watch.cli.classify_cmds import _print_eval, evaluate

    _print_eval(evaluate(SHARED / "eval"))
    items = load("clauses-dev.jsonl")
    fitted = clause_scores(items, {i["id"]: categorize(i["text"]) for i in items})
    print("for reference, shipped model on its own training clauses (optimistic): "
          + ", ".join(f"{k}={v:.3f}" for k, v in fitted.items()))
    if not args.no_timing:
        t = time_corpus()
        print(f"assess() on {t['pairs']:.0f} consecutive corpus pairs: {t['total_s']:.2f} s total "
              f"({t['cpu_s']:.2f} s CPU), median {t['median_ms']:.1f} ms, 95th percentile {t['p95_ms']:.0f} ms, "
              f"worst {t['worst_ms']:.0f} ms")


if __name__ == "__main__":
    main()
