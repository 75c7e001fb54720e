"""Checks on a cluster: Procrastinate workers over one PostgreSQL, against the single-process daemon path.

Run by hand:
    .venv/bin/python benchmarks/scale.py --replicas 1205 --workers 4            # 100,015 documents
    .venv/bin/python benchmarks/scale.py --replicas 10 --workers 1,2,4 --single-process

For each worker count, on a fresh database of a throwaway PostgreSQL server (tests/support/postgres.py)
and the replay site with --replicas K (83 × K documents): three epochs, as in cycle.py: first check
(epoch 0), change check (epoch 1), no-change check (epoch 1 again). Each epoch queues every document
as the scheduler does (timed: the queue's intake), then starts N `tos-watch worker --exit-when-empty`
processes (stand-ins for machines) and waits for them to empty the queue. Reported: documents per
second (wall, workers' start-up included), CPU per document (workers, and PostgreSQL's own),
peak RSS per worker, and the database's size after the two epochs. `--single-process` times
`tos-watch check` (the daemon's check path) on SQLite for comparison. Results on stdout and in
benchmarks/results/scale-<K>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import sqlalchemy as sa  # noqa: E402
from cycle import LAUNCHER, RESULTS, TOS_PYTHON, Site, run_child, service_of  # noqa: E402

from tests.support.postgres import postgres_server  # noqa: E402

PHASES = (("first", 0), ("change", 1), ("no-change", 1))


@dataclass
class Measure:
    replicas: int
    documents: int
    mode: str  # "workers=N" or "single process"
    phase: str
    queue_s: float  # queueing every document (the scheduler's side); 0 for the single process
    wall_s: float
    docs_per_s: float
    cpu_ms_per_doc: float  # the tool's processes
    pg_cpu_ms_per_doc: float  # PostgreSQL's processes
    peak_mb_per_worker: float
    status: str


def pg_cpu_s(url: str) -> float:
    """CPU of the PostgreSQL server's processes so far (postmaster, live backends, reaped ones)."""
    engine = sa.create_engine(url)
    with engine.connect() as c:
        data_dir = c.execute(sa.text("SHOW data_directory")).scalar()
    engine.dispose()
    pid = int(Path(str(data_dir), "postmaster.pid").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")

    def stat(p: int) -> list[str]:
        return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
    fields = stat(pid)
    total = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            total += sum(int(x) for x in stat(int(child))[11:13])
        except OSError:
            pass
    return total / ticks


def fresh_database(server: str, name: str) -> str:
    engine = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


def write_config(work: Path, base: str, docs: list[dict[str, Any]], url: str | None) -> Path:
    lines = [f"[storage]\ndir = {json.dumps(str(work / 'data'))}"]
    if url:
        lines += [f"database_url = {json.dumps(url)}", "\n[queue]"]
    for doc in docs:
        lines.append(f"\n[[documents]]\nservice = {json.dumps(service_of(doc))}\n"
                     f"type = {json.dumps(doc['document'])}\nurl = {json.dumps(base + doc['url'])}\n"
                     'select = ["#content"]')
    path = work / "tos-watch.toml"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def run_workers(config: Path, n: int, concurrency: int, work: Path, stem: str, timeout: float) -> list[tuple]:
    """Start n workers that stop when the queue is empty; each one's (wall, cpu, peak MB, status)."""
    cmd = [str(TOS_PYTHON), "-m", "tos_watch", "--config", str(config), "worker", "--exit-when-empty",
           "--concurrency", str(concurrency), "--log-level", "WARNING"]
    procs = []
    for i in range(n):
        out = work / f"{stem}-w{i}.out"
        procs.append((subprocess.Popen([sys.executable, "-c", LAUNCHER, str(out.with_suffix(".rusage")), *cmd],
                                       stdout=out.open("w"), stderr=out.with_suffix(".err").open("w")), out))
    results = []
    for proc, out in procs:
        try:
            proc.wait(timeout)
            results.append(tuple(json.loads(out.with_suffix(".rusage").read_text())))
        except subprocess.TimeoutExpired:
            proc.kill()
            results.append((timeout, 0.0, 0.0, -9))
    return results


def leftover(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        n = c.execute(sa.text("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')")).scalar()
    engine.dispose()
    return int(n or 0)


def cluster_run(server: str, site: Site, docs: list[dict[str, Any]], workers: int, concurrency: int,
                replicas: int, timeout: float) -> tuple[list[Measure], dict[str, Any]]:
    from tos_watch.cluster import watchlist_hash
    from tos_watch.config import load_settings
    from tos_watch.queue import defer_all, probe

    url = fresh_database(server, f"scale_{replicas}_{workers}")
    queue_url = url.replace("postgresql+psycopg://", "postgresql://")
    work = Path(tempfile.mkdtemp(prefix=f"scale-{workers}-"))
    config = write_config(work, site.base, docs, url)
    settings = load_settings(str(config))
    digest = watchlist_hash(settings.documents)
    keys = [(d.service, d.type) for d in settings.documents]
    probe(queue_url)
    from tos_watch.store import open_store  # the schema and document rows, once, as the scheduler makes them
    store = open_store(settings.storage)
    store.document_ids(list(settings.documents))
    store.close()
    measures = []
    for phase, epoch in PHASES:
        site.epoch(epoch)
        started = time.monotonic()
        defer_all(queue_url, keys, digest)
        queued = time.monotonic() - started
        progress(f"r{replicas} workers={workers} {phase}: queued {len(keys)} in {queued:.1f}s; running ...")
        pg_before = pg_cpu_s(url)
        started = time.monotonic()
        results = run_workers(config, workers, concurrency, work, phase, timeout)
        wall = time.monotonic() - started
        pg = pg_cpu_s(url) - pg_before
        left = leftover(url)
        codes = [r[3] for r in results]
        status = "ok" if not any(codes) and left == 0 else f"exit {codes}, {left} left"
        n = len(keys)
        measures.append(Measure(replicas, n, f"workers={workers}", phase, round(queued, 2), round(wall, 2),
                                round(n / wall, 1), round(1000 * sum(r[1] for r in results) / n, 2),
                                round(1000 * pg / n, 2), round(max(r[2] for r in results), 1), status))
        progress(f"  {measures[-1]}")
    return measures, database_size(url)


def database_size(url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        total = c.execute(sa.text("SELECT pg_database_size(current_database())")).scalar()
        tables = dict(c.execute(sa.text(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC LIMIT 8")).all())
        counts = {t: c.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                  for t in ("versions", "snapshots", "raw_blobs", "text_blobs", "procrastinate_jobs")}
    engine.dispose()
    return {"bytes": total, "tables": tables, "rows": counts}


def single_process(site: Site, docs: list[dict[str, Any]], replicas: int, timeout: float) -> list[Measure]:
    work = Path(tempfile.mkdtemp(prefix="scale-single-"))
    config = write_config(work, site.base, docs, None)
    measures = []
    for phase, epoch in PHASES:
        site.epoch(epoch)
        progress(f"r{replicas} single process {phase} ...")
        cmd = [str(TOS_PYTHON), "-m", "tos_watch", "--config", str(config), "check", "--json"]
        wall, cpu, peak, status = run_child(cmd, work / f"{phase}.json", timeout)
        n = len(docs)
        measures.append(Measure(replicas, n, "single process", phase, 0.0, round(wall, 2), round(n / wall, 1),
                                round(1000 * cpu / n, 2), 0.0, round(peak, 1), status if status != "exit 1" else "ok"))
        progress(f"  {measures[-1]}")
    return measures


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def markdown(measures: list[Measure], sizes: dict[str, Any]) -> str:
    head = ["documents", "mode", "phase", "queue s", "wall s", "docs/s", "CPU ms/doc", "PG CPU ms/doc",
            "peak MB/worker", "status"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in measures:
        rows.append(f"| {m.documents:,} | {m.mode} | {m.phase} | {m.queue_s} | {m.wall_s} | {m.docs_per_s} | "
                    f"{m.cpu_ms_per_doc} | {m.pg_cpu_ms_per_doc} | {m.peak_mb_per_worker} | {m.status} |")
    for mode, size in sizes.items():
        rows.append(f"\n{mode}: database {size['bytes'] / 1e6:.1f} MB after the epochs; rows {size['rows']}; "
                    f"largest tables (MB) {({k: round(v / 1e6, 1) for k, v in size['tables'].items()})}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replicas", type=int, default=10)
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--concurrency", type=int, default=8, help="checks in flight per worker")
    parser.add_argument("--single-process", action="store_true", help="also time `tos-watch check` on SQLite")
    parser.add_argument("--timeout", type=float, default=7200)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, postgres_server() as server:
        site = Site(args.replicas, Path(tmp) / "site.log")
        try:
            docs = site.documents()
            measures: list[Measure] = []
            sizes: dict[str, Any] = {}
            if args.single_process:
                measures += single_process(site, docs, args.replicas, args.timeout)
            for n in (int(w) for w in args.workers.split(",")):
                found, size = cluster_run(server, site, docs, n, args.concurrency, args.replicas, args.timeout)
                measures += found
                sizes[f"workers={n}"] = size
        finally:
            site.stop()
    text = markdown(measures, sizes)
    stem = RESULTS / f"scale-{args.replicas}"
    stem.with_suffix(".json").write_text(json.dumps({"measures": [asdict(m) for m in measures], "sizes": sizes,
                                                     "load": os.getloadavg()}, indent=2, default=str))
    stem.with_suffix(".md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
