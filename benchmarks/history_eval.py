"""Measure the history detectors (tos_watch.classify.history) on every labelled set and on the corpus.

Run by hand:

    .venv/bin/python benchmarks/history_eval.py            # labelled sets, near-miss controls, corpus timing
    .venv/bin/python benchmarks/history_eval.py --verbose  # also list every item a detector fires on

For each labelled change the detectors see the versions of the same document
recorded before its old version, as the pipeline does. "caught" counts labelled
cosmetic changes the detectors call cosmetic; "false cosmetic" counts labelled
substantive ones they call cosmetic (the failure that matters: it must be 0).
A restoration "with changes" hands the comparison with the restored version
to the clause classifier, whose verdict is shown too.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tos_watch.classify import assess  # noqa: E402
from tos_watch.classify.history import PriorVersion, judge  # noqa: E402
from tos_watch.store.history import RECENT_DISTINCT  # noqa: E402

SHARED = ROOT.parent / "shared"
CORPUS, EVAL = SHARED / "corpus", SHARED / "eval"
Item = tuple[str, bool, str, str, list[PriorVersion]]  # id, labelled cosmetic, old, new, history


def _when(name: str) -> datetime:
    return datetime.strptime(name.removesuffix(".md"), "%Y-%m-%dT%H-%M-%SZ")


def _versions(doc: Path) -> list[Path]:
    return sorted(doc.glob("*.md")) if doc.is_dir() else []


def _history(doc: Path, before: str) -> list[PriorVersion]:
    return [PriorVersion(p.read_text(encoding="utf-8"), _when(p.name)) for p in _versions(doc) if p.name < before]


def bounded(history: list[PriorVersion], old: str, new: str) -> list[PriorVersion]:
    """What a check passes (store.history): an exact return at any age, and the last few distinct texts."""
    recent: list[PriorVersion] = []
    for prior in reversed(history):
        if prior.text != old and all(p.text != prior.text for p in recent) and len(recent) < RECENT_DISTINCT:
            recent.append(prior)
    same = next((p for p in reversed(history) if p.text == new), None)
    if same is not None and same not in recent:
        recent.append(same)
    return sorted(recent, key=lambda p: p.recorded_at or datetime.min)


def _load(name: str) -> list[dict]:
    with (EVAL / name).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def corpus_changes(name: str) -> Iterator[Item]:
    for it in _load(name):
        doc = CORPUS / it["service"] / it["document"]
        yield (it["id"], it["cosmetic"], (doc / it["old"]).read_text(encoding="utf-8"),
               (doc / it["new"]).read_text(encoding="utf-8"), _history(doc, it["old"]))


def pairs_dev() -> Iterator[Item]:
    for it in _load("pairs-dev.jsonl"):
        old = (EVAL / "pairs" / it["id"] / "old.md").read_text(encoding="utf-8")
        new = (EVAL / "pairs" / it["id"] / "new.md").read_text(encoding="utf-8")
        stamp = it["date"][:19].replace(":", "-") + "Z.md"
        history = _history(CORPUS / it["service"] / it["document"], stamp)
        while history and history[-1].text in (old, new):  # the pair's own versions are not its history
            history.pop()
        yield it["id"], it["cosmetic"], old, new, history


def _edits_module():
    spec = importlib.util.spec_from_file_location("edits", EVAL / "edits.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def edits_dev(out: Path) -> Iterator[Item]:
    for e, old, new in _edits_module().build(CORPUS, EVAL / "edits-dev.json", out):
        history = _history(CORPUS / e["doc"], e["file"])
        yield e["id"], e["cosmetic"], old.read_text(encoding="utf-8"), new.read_text(encoding="utf-8"), history


def near_miss_controls(out: Path) -> Iterator[Item]:
    """Each edit after a truncated capture of its base: the new text is the restored base plus one edit.

    The detectors must not call these restorations outright: the edit is a real
    change (or a cosmetic control) between two otherwise identical versions.
    """
    for e, old, new in _edits_module().build(CORPUS, EVAL / "edits-dev.json", out):
        base = old.read_text(encoding="utf-8")
        cut = base[: int(len(base) * 0.6)].rstrip()
        while cut and not cut[-1].isalnum():
            cut = cut[:-1]
        prior = PriorVersion(base, _when(e["file"]))
        yield f"{e['id']}-after-cut", e["cosmetic"], cut, new.read_text(encoding="utf-8"), [prior]


def score(name: str, items: Iterator[Item], verbose: bool) -> None:
    tally: Counter[str] = Counter()
    for item_id, cosmetic, old, new, everything in items:
        history = bounded(everything, old, new)
        tally["items"] += 1
        tally["cosmetic" if cosmetic else "substantive"] += 1
        verdict = judge(old, new, history)
        if verdict is None:
            continue
        tally[f"{verdict.kind}"] += 1
        if verdict.cosmetic:
            tally["caught" if cosmetic else "FALSE cosmetic"] += 1
        elif verdict.baseline is not None:
            said = assess(old, new, history=history).cosmetic
            tally[f"with changes, classifier says {'cosmetic' if said else 'substantive'}, "
                  f"label {'cosmetic' if cosmetic else 'substantive'}"] += 1
        if verbose:
            print(f"  {item_id:14} label={'cosmetic' if cosmetic else 'SUBST':8} {verdict.kind:12} "
                  f"cosmetic={verdict.cosmetic!s:5} {verdict.summary}")
    print(f"{name}: " + ", ".join(f"{k} {v}" for k, v in tally.items()))


def corpus_run(verbose: bool) -> None:
    """Every consecutive corpus pair with its preceding versions as history: how many fire, and the time."""
    fired: Counter[str] = Counter()
    pairs, spent = 0, 0.0
    for doc in sorted(p for p in CORPUS.glob("*/*") if p.is_dir()):
        paths = _versions(doc)
        texts = [p.read_text(encoding="utf-8") for p in paths]
        for i, (old, new) in enumerate(itertools.pairwise(texts)):
            history = bounded([PriorVersion(t, _when(p.name)) for p, t in zip(paths[:i], texts[:i])], old, new)
            t0 = time.process_time()
            verdict = judge(old, new, history)
            spent += time.process_time() - t0
            pairs += 1
            if verdict is not None:
                fired[f"{verdict.kind} ({'cosmetic' if verdict.cosmetic else 'judged on edits'})"] += 1
                if verbose:
                    print(f"  {doc.parent.name}/{doc.name} {paths[i + 1].name}: {verdict.summary}")
    print(f"corpus: {pairs} consecutive pairs, detectors fire on {sum(fired.values())}: "
          + ", ".join(f"{k} {v}" for k, v in sorted(fired.items())))
    print(f"corpus: judge() {spent:.2f} s CPU in all, {1000 * spent / max(pairs, 1):.1f} ms a pair")


def worker_memory(with_history: bool) -> tuple[float, float, float]:
    """Every consecutive corpus pair through one comparison worker: its RSS after start-up, its peak, the time.

    The same JSON-lines protocol a long check run uses (workers.Comparer), with
    or without the bounded history, so the two peaks compare what a run pays.
    """
    from tos_watch.workers import _history_json, _same_package_env

    proc = subprocess.Popen([sys.executable, "-m", "tos_watch.compare_worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=_same_package_env())
    assert proc.stdin is not None and proc.stdout is not None
    started, t0 = 0.0, time.perf_counter()
    for n, (old, new, history) in enumerate(_corpus_pairs()):
        request = {"id": n, "old": old, "new": new, "history": _history_json(history, new) if with_history else []}
        proc.stdin.write(json.dumps(request).encode() + b"\n")
        proc.stdin.flush()
        proc.stdout.readline()
        if n == 0:
            started = _rss_mb(proc.pid, "VmRSS")
    peak = _rss_mb(proc.pid, "VmHWM")
    proc.stdin.close()
    proc.wait()
    return started, peak, time.perf_counter() - t0


def _rss_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _corpus_pairs() -> Iterator[tuple[str, str, list[PriorVersion]]]:
    for doc in sorted(p for p in CORPUS.glob("*/*") if p.is_dir()):
        paths = _versions(doc)
        texts = [p.read_text(encoding="utf-8") for p in paths]
        for i, (old, new) in enumerate(itertools.pairwise(texts)):
            yield old, new, bounded([PriorVersion(t, _when(p.name)) for p, t in zip(paths[:i], texts[:i])], old, new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every item a detector fires on")
    parser.add_argument("--worker", action="store_true", help="only measure the comparison worker's memory")
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"history_eval: {SHARED} is absent: it needs ../shared/corpus and ../shared/eval")
    if args.worker:
        for with_history in (False, True):
            started, peak, seconds = worker_memory(with_history)
            print(f"comparison worker, {'with' if with_history else 'without'} history: RSS {started:.1f} MB after "
                  f"the first pair, peak {peak:.1f} MB over every corpus pair, {seconds:.1f} s")
        return
    for name in ("changes-dev.jsonl", "changes-dev2.jsonl", "changes-dev-large.jsonl"):
        score(name, corpus_changes(name), args.verbose)
    score("pairs-dev.jsonl", pairs_dev(), args.verbose)
    with tempfile.TemporaryDirectory() as tmp:
        score("edits-dev.json", edits_dev(Path(tmp) / "edits"), args.verbose)
        score("near-miss controls (edit after a truncated capture)", near_miss_controls(Path(tmp) / "nm"),
              args.verbose)
    corpus_run(args.verbose)


if __name__ == "__main__":
    main()
