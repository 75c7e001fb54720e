"""How fast can any client fetch the replay site? The floor under cycle.py's checks.

Run by hand: .venv/bin/python benchmarks/http_floor.py [--replicas 10] [--concurrency 1,2,4,10]
Starts shared/tools/policy_site.py with --replicas K and, with nothing but the requests themselves
(no extraction, no store), times:
  - the no-change check's traffic: one conditional GET per page, carrying the page's own ETag and
    Last-Modified (every answer is a 304), by bare httpx and by raw asyncio sockets;
  - the change check's traffic: one full GET per page by bare httpx, on reused (keep-alive)
    connections and on a fresh connection per request;
  - both again through tos_watch's Fetcher (keep-alive, immediate ACKs: see tos_watch/transport.py).
Wall seconds include the interpreter's start and the client's import. Results: a table on stdout
and benchmarks/results/http-floor-<K>.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cycle import RESULTS, ROOT, Site  # noqa: E402

# One client run, as a fresh interpreter so that start-up and import count as they do for a tool.
CLIENT = r'''
import asyncio, json, sys, time
mode, conc, pages_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pages = json.load(open(pages_file))
if mode.startswith("httpx"):
    import httpx
    keep = mode != "httpx-fresh"
    async def run():
        limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc if keep else 0)
        async with httpx.AsyncClient(limits=limits) as client:
            sem = asyncio.Semaphore(conc)
            async def one(page):
                headers = {"If-None-Match": page["etag"], "If-Modified-Since": page["modified"]} \
                    if mode == "httpx-304" else {}
                async with sem:
                    r = await client.get(page["url"], headers=headers)
                    return r.status_code
            return await asyncio.gather(*(one(p) for p in pages))
elif mode.startswith("fetcher"):  # tos_watch's own client: keep-alive, immediate ACKs, retries, limits
    from tos_watch.fetch import Fetcher, FetchSettings
    from tos_watch.models import Validators
    async def run():
        settings = FetchSettings(concurrency=conc, per_host=conc, respect_robots=False)
        async with Fetcher(settings) as fetcher:
            sem = asyncio.Semaphore(conc)
            async def one(page):
                validators = Validators(page["etag"], page["modified"]) if mode == "fetcher-304" else None
                async with sem:
                    r = await fetcher.fetch(page["url"], validators)
                    return 304 if r.not_modified else r.status
            return await asyncio.gather(*(one(p) for p in pages))
else:  # raw sockets: a request written by hand, the answer read to the end
    async def run():
        sem = asyncio.Semaphore(conc)
        async def one(page):
            host, rest = page["url"].split("//", 1)[1].split("/", 1)
            name, port = host.split(":")
            async with sem:
                reader, writer = await asyncio.open_connection(name, int(port))
                writer.write((f"GET /{rest} HTTP/1.1\r\nHost: {host}\r\nIf-None-Match: {page['etag']}\r\n"
                              f"If-Modified-Since: {page['modified']}\r\nConnection: close\r\n\r\n").encode())
                data = await reader.read()
                writer.close()
                return int(data[9:12])
        return await asyncio.gather(*(one(p) for p in pages))
codes = asyncio.run(run())
print(json.dumps(sorted(set(codes))))
'''

MODES = {  # name: (what it shows, expected status)
    "raw-304": ("conditional GETs, raw sockets", 304),
    "httpx-304": ("conditional GETs, httpx", 304),
    "httpx-keepalive": ("full GETs, httpx, reused connections", 200),
    "httpx-fresh": ("full GETs, httpx, a connection per request", 200),
    "fetcher-304": ("conditional GETs, tos_watch Fetcher (keep-alive, quick ACK)", 304),
    "fetcher-200": ("full GETs, tos_watch Fetcher (keep-alive, quick ACK)", 200),
}


def pages_with_validators(site: Site) -> list[dict[str, str]]:
    """Every page's URL with the ETag and Last-Modified it answers with now."""
    out = []
    for doc in site.documents():
        url = site.base + doc["url"]
        with urllib.request.urlopen(url) as resp:
            resp.read()
            out.append({"url": url, "etag": resp.headers["ETag"], "modified": resp.headers["Last-Modified"]})
    return out


def time_client(mode: str, concurrency: int, pages_file: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CLIENT, mode, str(concurrency), str(pages_file)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    wall = time.perf_counter() - start
    codes = done.stdout.strip() if done.returncode == 0 else f"error: {done.stderr.strip()[-200:]}"
    return wall, codes


def bench(replicas: int, concurrencies: list[int], progress: Callable[[str], None]) -> str:
    RESULTS.mkdir(parents=True, exist_ok=True)
    site = Site(replicas, RESULTS / f"site-floor-{replicas}.log")
    rows: list[dict[str, Any]] = []
    try:
        pages = pages_with_validators(site)
        with tempfile.TemporaryDirectory() as tmp:
            pages_file = Path(tmp) / "pages.json"
            pages_file.write_text(json.dumps(pages), "utf-8")
            for mode, (what, expected) in MODES.items():
                for conc in concurrencies:
                    wall, codes = time_client(mode, conc, pages_file)
                    ok = codes == f"[{expected}]"
                    rows.append({"mode": mode, "what": what, "concurrency": conc, "wall_s": round(wall, 2),
                                 "answers": codes, "ok": ok})
                    progress(f"{mode} x{conc}: {wall:.2f} s {codes}")
    finally:
        site.stop()
    lines = [f"### {len(pages)} pages (--replicas {replicas}), {os.cpu_count()} CPUs", "",
             "| client | concurrency | wall s | answers |", "|---|---|---|---|"]
    lines += [f"| {r['what']} | {r['concurrency']} | {r['wall_s']} | {r['answers']} |" for r in rows]
    table = "\n".join(lines) + "\n"
    (RESULTS / f"http-floor-{replicas}.md").write_text(table, "utf-8")
    return table


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=10, help="site size, 83 × K pages (default 10)")
    ap.add_argument("--concurrency", default="1,2,4,10", help="comma-separated requests in flight")
    a = ap.parse_args(argv)
    concurrencies = [int(c) for c in a.concurrency.split(",") if c.strip()]
    print(bench(a.replicas, concurrencies, lambda m: print(m, file=sys.stderr, flush=True)))


if __name__ == "__main__":
    main()
