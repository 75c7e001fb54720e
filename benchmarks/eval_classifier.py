"""Score the classifier out-of-fold on the dev sets and time it on every consecutive corpus pair.

Run by hand:

    .venv/bin/python benchmarks/eval_classifier.py                       # OOF tables + timing
    .venv/bin/python benchmarks/eval_classifier.py --old /work/main      # also time that checkout, same run
    .venv/bin/python benchmarks/eval_classifier.py --timing-only --json  # one JSON line of timings

Only the *-dev files are read here; holdouts are scored blind elsewhere. The
model is rebuilt by `make model` (benchmarks/train_model.py), not here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tos_watch.classify import assess  # noqa: E402

SHARED = ROOT.parent / "shared"


def time_corpus() -> dict[str, float]:
    """Assess every consecutive pair of versions in the corpus: wall and CPU totals, per-pair percentiles.

    Each pair is assessed as the pipeline would: with the document's earlier versions as its history.
    """
    from tos_watch.classify.history import PriorVersion

    times: list[float] = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for doc in sorted(p for p in (SHARED / "corpus").glob("*/*") if p.is_dir()):
        texts = [v.read_text(encoding="utf-8") for v in sorted(doc.glob("*.md"))]
        for n, (old, new) in enumerate(itertools.pairwise(texts)):
            history = [PriorVersion(t, None, i) for i, t in enumerate(texts[:n])]
            t0 = time.perf_counter()
            assess(old, new, history=history)
            times.append(time.perf_counter() - t0)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    times.sort()
    return {"pairs": len(times), "total_s": total, "cpu_s": cpu, "median_ms": 1000 * times[len(times) // 2],
            "p95_ms": 1000 * times[int(len(times) * 0.95)], "worst_ms": 1000 * times[-1]}


def time_checkout(checkout: Path) -> dict[str, float]:
    """`time_corpus` of another checkout (its own .venv and code), run in a child process."""
    code = (f"import sys, json; sys.path.insert(0, {str(checkout / 'benchmarks')!r}); "
            f"sys.path.insert(0, {str(checkout)!r}); import eval_classifier as e; print(json.dumps(e.time_corpus()))")
    out = subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-c", code], capture_output=True, text=True,
                         check=True, cwd=checkout)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _line(name: str, t: dict[str, float]) -> str:
    return (f"{name}: assess() on {t['pairs']:.0f} consecutive corpus pairs: {t['total_s']:.2f} s total "
            f"({t['cpu_s']:.2f} s CPU), median {t['median_ms']:.1f} ms, 95th percentile {t['p95_ms']:.0f} ms, "
            f"worst {t['worst_ms']:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-timing", action="store_true", help="skip timing the corpus")
    parser.add_argument("--timing-only", action="store_true", help="only time the corpus")
    parser.add_argument("--old", type=Path, help="another checkout (with .venv) to time in the same run")
    parser.add_argument("--in-sample", action="store_true", help="also print in-sample figures (optimistic)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    out: dict[str, object] = {}
    if not args.timing_only:
        from tos_watch.cli.eval_cmd import print_eval
        from tos_watch.evaluation import evaluate

        result = evaluate(SHARED / "eval", with_in_sample=args.in_sample,
                          progress=lambda s: print(s, file=sys.stderr))
        out["eval"] = result
        if not args.json:
            print_eval(result)
    if not args.no_timing:
        runs = [("new", None), ("old", args.old)] if args.old else [("new", None)]
        for name, checkout in runs + runs[:1] if args.old else runs:  # new, old, new: load drifts
            t = time_corpus() if checkout is None else time_checkout(checkout)
            out.setdefault("timing", {}).setdefault(name, []).append(t)  # type: ignore[union-attr]
            if not args.json:
                print(_line(f"{name} ({checkout or ROOT})", t), flush=True)
        if args.old and not args.json:
            timing = out["timing"]
            new_cpu = min(t["cpu_s"] for t in timing["new"])  # type: ignore[index]
            old_cpu = timing["old"][0]["cpu_s"]  # type: ignore[index]
            print(f"CPU ratio new/old: {new_cpu / old_cpu:.2f} (limit 2.0)")
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
