#!/usr/bin/env python3
"""How fast OTA version histories are read and imported; run by hand.

    .venv/bin/python benchmarks/import_speed.py [--copies 10] [--import-copies 1] [--jobs N]

Builds an OTA-style versions repository from ../shared/corpus repeated `--copies`
times under renamed services (752 commits per copy, real texts and dates), then:
  1. reading: versions/s for the git CLI reader (git log --raw + cat-file --batch),
     for dulwich, and for pygit2 when it can be imported (e.g. PYTHONPATH=/tmp/pygit2lib);
  2. storing only: the import with classification stubbed out (the store's ceiling);
  3. the real import (store + diff + classifier) of `--import-copies` copies.
Prints one JSON object; results are not committed (benchmarks/results/ is ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.ota_repo import build_versions_repo  # noqa: E402
from tos_watch.compare import Comparison  # noqa: E402
from tos_watch.config import StorageSettings  # noqa: E402
from tos_watch.ota import importer  # noqa: E402
from tos_watch.ota.history import (  # noqa: E402
    RecordedVersion,
    document_of,
    is_technical,
    iter_versions,
    iter_versions_dulwich,
)
from tos_watch.store import open_store  # noqa: E402

SHARED = ROOT.parent / "shared"


def iter_versions_pygit2(repo: Path) -> Iterable[RecordedVersion]:
    """The same walk with libgit2, for comparison only (pygit2 is not a dependency)."""
    import pygit2

    r = pygit2.Repository(str(repo))
    for commit in r.walk(r.head.target, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE):
        if len(commit.parents) > 1 or is_technical(commit.message.split("\n", 1)[0]):
            continue
        diff = r.diff(commit.parents[0], commit) if commit.parents else commit.tree.diff_to_tree(swap=True)
        when = datetime.fromtimestamp(commit.author.time, tz=timezone.utc)
        for delta in diff.deltas:
            document = document_of(delta.new_file.path)
            if document is None or delta.status_char() == "D":
                continue
            text = r[delta.new_file.id].data.decode("utf-8", errors="replace")
            yield RecordedVersion(document[0], document[1], when, text, str(commit.id))


def time_reader(name: str, read: Callable[[], Iterable[RecordedVersion]]) -> dict[str, Any]:
    started, cpu = time.perf_counter(), time.process_time()
    count = sum(1 for _ in read())
    seconds = time.perf_counter() - started
    return {"reader": name, "versions": count, "seconds": round(seconds, 3),
            "cpu_seconds": round(time.process_time() - cpu, 3), "versions_per_second": round(count / seconds)}


def readers(repo: Path) -> list[dict[str, Any]]:
    results = [time_reader("git CLI", lambda: iter_versions(repo)),
               time_reader("dulwich", lambda: iter_versions_dulwich(repo))]
    try:
        import pygit2  # noqa: F401
    except ImportError:
        results.append({"reader": "pygit2", "skipped": "not importable (pip install --target DIR pygit2)"})
    else:
        results.append(time_reader("pygit2", lambda: iter_versions_pygit2(repo)))
    return results


def timed_import(repo: Path, data: Path, jobs: int, *, classify: bool) -> dict[str, Any]:
    store = open_store(StorageSettings(dir=data))
    original = importer.compare_versions
    if not classify:
        importer.compare_versions = lambda old, new: Comparison(None, (0, 0))  # type: ignore[assignment]
    try:
        report = importer.import_history(store, repo, jobs=jobs if classify else 1)
    finally:
        importer.compare_versions = original  # type: ignore[assignment]
        store.close()
    return {"classified": classify, "jobs": jobs if classify else 1, "versions": report.recorded,
            "seconds": round(report.seconds, 2), "versions_per_second": round(report.rate, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=10, help="corpus copies in the reading benchmark")
    parser.add_argument("--import-copies", type=int, default=1, help="corpus copies in the classified import")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not (SHARED / "corpus" / "manifest.json").is_file():
        raise SystemExit(f"{SHARED}/corpus not found")
    with tempfile.TemporaryDirectory(prefix="tos-watch-import-bench-") as tmp:
        tmp_path = Path(tmp)
        started = time.perf_counter()
        big = build_versions_repo(SHARED / "corpus", tmp_path / "big", copies=args.copies)
        out: dict[str, Any] = {"repository": {"copies": args.copies, "commits": big.commits,
                                              "versions": sum(len(d) for d in big.expected.values()),
                                              "build_seconds": round(time.perf_counter() - started, 2)},
                               "cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}
        out["reading"] = readers(big.path)
        out["store_only"] = timed_import(big.path, tmp_path / "store-only", 1, classify=False)
        small = build_versions_repo(SHARED / "corpus", tmp_path / "small", copies=args.import_copies)
        out["full_import"] = timed_import(small.path, tmp_path / "full", args.jobs, classify=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
