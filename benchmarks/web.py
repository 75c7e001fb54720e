"""Server-side time of every web page and API endpoint on a large store: p50 / p95 per endpoint.

Run by hand: .venv/bin/python benchmarks/web.py [--store DIR] [--replicas 100] [-n 30]
Builds (or reuses, with --store) the store benchmarks/cycle.py builds: the replay site with
--replicas K (83 × K documents) checked at epoch 0, then at epoch 1 (one classified change
for most documents). Then calls the ASGI app in-process (Starlette's TestClient: no sockets,
so the time is the server's own: routing, queries, diff, templates), N requests per endpoint,
each change page on a different change so nothing is warm but the database's page cache.
Results: a table on stdout and benchmarks/results/web-<K>.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from cycle import RESULTS, TOS_PYTHON, Site, service_of  # noqa: E402

TARGET_MS = 200.0


def build(store_dir: Path, replicas: int) -> Path:
    """Check the replay site twice into a new data directory; returns the config path."""
    store_dir.mkdir(parents=True, exist_ok=True)
    config = store_dir / "tos-watch.toml"
    site = Site(replicas, store_dir / "site.log")
    try:
        lines = [f"[storage]\ndir = {json.dumps(str(store_dir / 'data'))}\n"]
        for doc in site.documents():
            lines.append(f"[[documents]]\nservice = {json.dumps(service_of(doc))}\n"
                         f"type = {json.dumps(doc['document'])}\nurl = {json.dumps(site.base + doc['url'])}\n"
                         'select = ["#content"]\n')
        config.write_text("\n".join(lines), "utf-8")
        for epoch in (0, 1):
            site.epoch(epoch)
            started = time.monotonic()
            print(f"building: check at epoch {epoch} ...", file=sys.stderr, flush=True)
            subprocess.run([str(TOS_PYTHON), "-m", "tos_watch", "--config", str(config), "check"],
                           stdout=subprocess.DEVNULL, check=False)
            print(f"  {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        site.stop()
    return config


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, help="data directory to build or reuse (default: a new one under /tmp)")
    ap.add_argument("--replicas", type=int, default=100)
    ap.add_argument("-n", type=int, default=30, help="requests per endpoint")
    args = ap.parse_args(argv)
    store_dir = args.store or Path(f"/tmp/tos-watch-web-bench-{args.replicas}")
    config = store_dir / "tos-watch.toml"
    if not (store_dir / "data" / "tos-watch.db").exists():
        config = build(store_dir, args.replicas)

    from starlette.testclient import TestClient

    from tos_watch.config import load_settings
    from tos_watch.store import open_store
    from tos_watch.web.app import create_app

    started = time.monotonic()
    store = open_store(load_settings(str(config)).storage)  # migrates an older store (the backfill is timed)
    migrate_s = time.monotonic() - started
    client = TestClient(create_app(store))
    changes = client.get("/api/v1/changes", params={"limit": 500}).json()
    sample = [c for c in changes["changes"] if c["previous_id"]]
    rng = random.Random(1)
    docs = client.get("/api/v1/services", params={"limit": 500}).json()["services"]

    def pick() -> dict[str, str]:
        return rng.choice(sample)

    def doc_path(c: dict[str, str]) -> str:
        return f"/services/{quote(c['service'], safe='')}/{quote(c['type'], safe='')}"

    endpoints: dict[str, Callable[[], str]] = {
        "dashboard /": lambda: "/",
        "dashboard ?category=licensing&direction=broadens": lambda: "/?category=licensing&direction=broadens",
        "dashboard ?severity=high&offset=200": lambda: "/?severity=high&offset=200",
        "dashboard ?cosmetic=1&since=2020-01-01": lambda: "/?cosmetic=1&since=2020-01-01",
        "services /services": lambda: "/services",
        "service /services/{s}": lambda: f"/services/{quote(rng.choice(docs)['service'], safe='')}",
        "document /services/{s}/{t}": lambda: doc_path(pick()),
        "change .../changes/{id}": lambda: doc_path(c := pick()) + f"/changes/{c['id']}",
        "change ?view=side": lambda: doc_path(c := pick()) + f"/changes/{c['id']}?view=side",
        "compare ?from=&to=": lambda: doc_path(c := pick()) + f"/compare?from={c['previous_id']}&to={c['id']}",
        "search /search?q=facial recognition": lambda: "/search?q=facial+recognition",
        "search /search?q=\"sell your personal information\"": lambda: '/search?q=%22sell+your+personal+information%22',
        "feed /feed.atom": lambda: "/feed.atom",
        "api /changes": lambda: "/api/v1/changes",
        "api /services": lambda: "/api/v1/services",
        "api .../versions": lambda: "/api/v1" + doc_path(pick()) + "/versions",
        "api .../versions/{id}/text": lambda: "/api/v1" + doc_path(c := pick()) + f"/versions/{c['id']}/text",
        "api .../at/{date}": lambda: "/api/v1" + doc_path(pick()) + "/at/2030-01-01",
        "api .../changes/{id} (assessment)": lambda: "/api/v1" + doc_path(c := pick()) + f"/changes/{c['id']}",
        "api .../diff": lambda: "/api/v1" + doc_path(pick()) + "/diff",
        "api /search": lambda: "/api/v1/search?q=biometric",
    }
    rows = []
    for name, url_of in endpoints.items():
        times, sizes = [], []
        for _ in range(args.n):
            url = url_of()
            t = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (url, response.status_code, response.text[:300])
            sizes.append(len(response.content))
        rows.append((name, statistics.median(times), percentile(times, 95), statistics.median(sizes) / 1024))
        print(f"{name:55} p50 {rows[-1][1]:7.1f} ms  p95 {rows[-1][2]:7.1f} ms", file=sys.stderr, flush=True)
    store.close()

    with store.engine.connect() as c:
        import sqlalchemy as sa
        counts = {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in ("documents", "versions")}
    load = os.getloadavg()
    lines = [f"### web view, {counts['documents']:,} documents, {counts['versions']:,} versions "
             f"(`benchmarks/web.py --replicas {args.replicas} -n {args.n}`)", "",
             f"Load average during the run: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} on {os.cpu_count()} cores; "
             f"opening (and migrating) the store took {migrate_s:.1f} s.", "",
             "| endpoint | p50 ms | p95 ms | median KB | under 200 ms (p95) |", "|---|---:|---:|---:|---|"]
    lines += [f"| {n} | {p50:.1f} | {p95:.1f} | {kb:.0f} | {'yes' if p95 < TARGET_MS else 'NO'} |"
              for n, p50, p95, kb in rows]
    table = "\n".join(lines) + "\n"
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"web-{args.replicas}.md").write_text(table, "utf-8")


if __name__ == "__main__":
    main()
