"""A full check cycle on the replay site, tos_watch against urlwatch: wall, CPU and peak memory.

Run by hand: .venv/bin/python benchmarks/cycle.py [--replicas 10] [--replicas 100] [--tools tos_watch,urlwatch]
For each size the script starts shared/tools/policy_site.py with --replicas K (83 × K pages) and,
for each tool on a fresh data directory, times three checks as child processes: the first check
(epoch 0), a change check (after POST /_site/epoch/1) and a no-change check (same epoch again).
urlwatch runs from its own venv (benchmarks/.venv-urlwatch); see benchmarks/README.md.
Results: a table on stdout and benchmarks/results/cycle-<K>.{json,md}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SITE_SCRIPT = SHARED / "tools" / "policy_site.py"
RESULTS = ROOT / "benchmarks" / "results"
TOS_PYTHON = ROOT / ".venv" / "bin" / "python"
URLWATCH = ROOT / "benchmarks" / ".venv-urlwatch" / "bin" / "urlwatch"
PHASES = ("first", "change", "no-change")
SWITCH_TO = {"first": 0, "change": 1}  # site epoch set before the phase; the no-change check leaves it alone
RATIO_TARGETS = {"change": 2.0, "no-change": 5.0}  # urlwatch wall / tos_watch wall, at least
MEMORY_TARGET_MB = 150.0  # tos_watch peak RSS, below
URLWATCH_SUMMARY = re.compile(r"^\d+\. (NEW|CHANGED|ERROR|UNCHANGED): ", re.M)


@dataclass
class Measure:
    """One tool's phase: resources of its child process and what it reported."""

    replicas: int
    tool: str
    phase: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    site_cpu_s: float  # the replay site's own CPU during the phase (it shares the 2 cores)
    status: str  # "ok", "exit N" or "timeout"
    load: float  # 1-minute load average after the phase: other work on the 2 cores skews wall times
    new: int = 0
    changed: int = 0
    suspect: int = 0  # tos_watch holds back a version that lost most of its text until the next check
    unchanged: int = 0
    failed: int = 0


class Site:
    """The replay site as a child process on a free port."""

    def __init__(self, replicas: int, log: Path) -> None:
        if not SITE_SCRIPT.exists():
            sys.exit(f"cycle.py: replay site not found at {SITE_SCRIPT} (shared/ must sit beside the repo)")
        self.proc = subprocess.Popen([sys.executable, str(SITE_SCRIPT), "--port", "0", "--replicas", str(replicas)],
                                     stdout=subprocess.PIPE, stderr=log.open("w"), text=True)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        if not found:
            self.proc.kill()
            sys.exit(f"cycle.py: replay site did not start: {first!r} (see {log})")
        self.base = f"http://127.0.0.1:{found.group(1)}"

    def documents(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.base + "/_site/documents") as resp:
            return list(json.load(resp))

    def epoch(self, k: int) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.base}/_site/epoch/{k}", data=b"", method="POST")).read()

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# Each tool runs under this small launcher, itself a fresh interpreter: on Linux a child's ru_maxrss
# counts the RSS of the process it was forked from, so forking the tool from this script (whose RSS
# grows as it reads outputs) would report that instead of the tool's own peak. ru_maxrss is also the
# largest single process, not the sum: the launcher samples the summed RSS of the tool's whole process
# tree (tos_watch's classification worker included) every 0.1 s and reports the larger of the two.
LAUNCHER = """import json, os, sys, time
def descendants(pid):
    # /proc/PID/task/TID/children names a thread's children: cheap, unlike scanning all of /proc,
    # so the sampling takes little from the two cores the tools share.
    out = [pid]
    for p in out:
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    out += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return out
def tree_rss_kb(root):
    total = 0
    for p in descendants(root):
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, IndexError, ValueError):
            pass
    return total
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
peak_kb = 0
while True:
    done, status, usage = os.wait4(pid, os.WNOHANG)
    if done:
        break
    peak_kb = max(peak_kb, tree_rss_kb(pid))
    time.sleep(0.1)
with open(sys.argv[1], "w") as f:
    json.dump([time.perf_counter() - start, usage.ru_utime + usage.ru_stime, max(usage.ru_maxrss, peak_kb) / 1024,
               os.waitstatus_to_exitcode(status)], f)
"""


def run_child(cmd: list[str], out: Path, timeout: float,
              env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """Run cmd with stdout to `out`; return wall s, CPU s (user+sys, children included), peak RSS MB, status."""
    measured = out.with_suffix(".rusage")
    measured.unlink(missing_ok=True)
    start = time.monotonic()
    with out.open("w") as sink, out.with_suffix(".err").open("w") as err:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(measured), *cmd], stdout=sink, stderr=err,
                                env=env, start_new_session=True)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the tool share its process group
        proc.wait()
        return time.monotonic() - start, 0.0, 0.0, "timeout"
    wall, cpu, peak, code = json.loads(measured.read_text())
    return wall, cpu, peak, "ok" if code == 0 else f"exit {code}"


def service_of(doc: dict[str, Any]) -> str:
    """Service name made unique per replica: the copies live under /r<k>/."""
    found = re.match(r"/r(\d+)/", doc["url"])
    return f"{doc['service']} r{found.group(1) if found else 0}"


class Tool(Protocol):
    """A change tracker under test: setup writes its files for the documents, then cmd runs one check."""

    name: str
    cmd: list[str]
    env: dict[str, str] | None

    def setup(self, work: Path, base: str, docs: list[dict[str, Any]]) -> None: ...

    def counts(self, output: str) -> dict[str, int]: ...


class TosWatch:
    name = "tos_watch"
    cmd: list[str]
    env: dict[str, str] | None = None

    def setup(self, work: Path, base: str, docs: list[dict[str, Any]]) -> None:
        # tos_watch as users run it: its default fetch settings (16 requests in flight, 4 per host),
        # as urlwatch runs with its own (10 threads).
        lines = [f"[storage]\ndir = {json.dumps(str(work / 'data'))}\n"]
        for doc in docs:
            lines.append(f"[[documents]]\nservice = {json.dumps(service_of(doc))}\n"
                         f"type = {json.dumps(doc['document'])}\nurl = {json.dumps(base + doc['url'])}\n"
                         'select = ["#content"]\n')
        (work / "tos-watch.toml").write_text("\n".join(lines), "utf-8")
        self.cmd = [str(TOS_PYTHON), "-m", "tos_watch", "--config", str(work / "tos-watch.toml"), "check", "--json"]

    def counts(self, output: str) -> dict[str, int]:
        try:
            report = json.loads(output)
        except ValueError:
            return {}
        return {"new": len(report["first_seen"]), "changed": len(report["changed"]),
                "suspect": len(report["suspect"]), "unchanged": report["unchanged"], "failed": len(report["failed"])}


class UrlWatch:
    """urlwatch 2.29 with its defaults (10 worker threads, ETag / If-Modified-Since), stdout reporter only."""

    name = "urlwatch"
    cmd: list[str]
    env: dict[str, str] | None

    def __init__(self, method: str) -> None:
        self.method = method

    def setup(self, work: Path, base: str, docs: list[dict[str, Any]]) -> None:
        if not URLWATCH.exists():
            sys.exit(f"cycle.py: {URLWATCH} missing; see benchmarks/README.md to install urlwatch")
        jobs = [{"name": f"{service_of(d)} / {d['document']}", "url": base + d["url"],
                 "filter": [{"css": "#content"}, {"html2text": self.method}]} for d in docs]
        # JSON is YAML: one job per YAML document.
        (work / "urls.yaml").write_text("\n---\n".join(json.dumps(j) for j in jobs) + "\n", "utf-8")
        config = {"report": {"stdout": {"enabled": True, "color": False}, "email": {"enabled": False}}}
        (work / "config.yaml").write_text(json.dumps(config), "utf-8")
        self.cmd = [str(URLWATCH), "--urls", str(work / "urls.yaml"), "--config", str(work / "config.yaml"),
                    "--cache", str(work / "cache.db"), "--hooks", str(work / "hooks.py")]
        self.env = {**os.environ, "XDG_CONFIG_HOME": str(work), "XDG_CACHE_HOME": str(work)}
        self.total = len(docs)

    def counts(self, output: str) -> dict[str, int]:
        verbs = URLWATCH_SUMMARY.findall(output)
        found = {"new": verbs.count("NEW"), "changed": verbs.count("CHANGED"), "failed": verbs.count("ERROR")}
        return {**found, "unchanged": self.total - sum(found.values())}  # unchanged jobs are not listed


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run_tool(tool: Tool, site: Site, replicas: int, timeout: float, stem: str) -> list[Measure]:
    """The three phases for one tool on a fresh data directory, the site reset to epoch 0 first."""
    docs = site.documents()
    with tempfile.TemporaryDirectory(prefix=f"cycle-{tool.name}-") as tmp:  # outputs are kept in RESULTS
        tool.setup(Path(tmp), site.base, docs)
        results = []
        for phase in PHASES:
            if phase in SWITCH_TO:
                site.epoch(SWITCH_TO[phase])
            progress(f"r{replicas} {tool.name}: {phase} check of {len(docs)} documents ...")
            results.append(run_phase(tool, site, replicas, phase, timeout, stem))
    return results


def run_phase(tool: Tool, site: Site, replicas: int, phase: str, timeout: float, stem: str) -> Measure:
    """One check by one tool, its output kept as results/<stem>-<tool>-<phase>.out."""
    site_cpu = site.cpu_s()
    out = RESULTS / f"{stem}-{tool.name}-{phase}.out"
    wall, cpu, peak, status = run_child(tool.cmd, out, timeout, tool.env)
    counts = tool.counts(out.read_text("utf-8", "replace"))
    m = Measure(replicas, tool.name, phase, round(wall, 2), round(cpu, 2), round(peak, 1),
                round(site.cpu_s() - site_cpu, 2), status, round(os.getloadavg()[0], 1), **counts)
    progress(f"  {m.wall_s} s wall, {m.cpu_s} s CPU, {m.peak_mb} MB peak, {status}; new {m.new}, "
             f"changed {m.changed}, suspect {m.suspect}, unchanged {m.unchanged}, failed {m.failed}")
    if status != "ok":
        progress("  stderr tail: " + out.with_suffix(".err").read_text("utf-8", "replace")[-600:])
    return m


def summary(measures: list[Measure]) -> list[dict[str, Any]]:
    """urlwatch/tos_watch wall and CPU ratios per phase, and whether each target is met."""
    rows: list[dict[str, Any]] = []
    by = {(m.tool, m.phase): m for m in measures}
    for phase in PHASES:
        tw, uw = by.get(("tos_watch", phase)), by.get(("urlwatch", phase))
        if tw and uw and "timeout" not in (tw.status, uw.status):
            target = RATIO_TARGETS.get(phase)
            wall = uw.wall_s / tw.wall_s
            caveat = "".join(f" ({m.tool} {m.status})" for m in (tw, uw) if m.status != "ok")
            rows.append({"check": f"{phase}: urlwatch/tos_watch{caveat}", "value": f"{wall:.2f}×",
                         "cpu": f"{uw.cpu_s / max(tw.cpu_s, 0.01):.2f}×",
                         "target": f"≥ {target}×" if target else "-",
                         "met": ("yes" if wall >= target else "NO") if target else "-"})
    peak = max((m.peak_mb for m in measures if m.tool == "tos_watch"), default=None)
    if peak is not None:
        rows.append({"check": "tos_watch peak memory", "value": f"{peak} MB", "cpu": "-",
                     "target": f"< {MEMORY_TARGET_MB:.0f} MB", "met": "yes" if peak < MEMORY_TARGET_MB else "NO"})
    return rows


def markdown(replicas: int, docs: int, measures: list[Measure], checks: list[dict[str, Any]]) -> str:
    head = ["tool", "phase", "wall s", "CPU s", "peak MB", "site CPU s", "new", "changed", "suspect",
            "unchanged", "failed", "status", "load"]
    lines = [f"### --replicas {replicas} ({docs} documents)", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for m in measures:
        cells = [m.tool, m.phase, m.wall_s, m.cpu_s, m.peak_mb, m.site_cpu_s, m.new, m.changed, m.suspect,
                 m.unchanged, m.failed, m.status, m.load]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if checks:
        lines += ["", "| check | wall | CPU | target | met |", "|---|---|---|---|---|"]
        lines += [f"| {c['check']} | {c['value']} | {c['cpu']} | {c['target']} | {c['met']} |" for c in checks]
    return "\n".join(lines) + "\n"


def sources_digest() -> str:
    """A digest of tos_watch/**/*.py, so a result names the code it measured, committed or not."""
    digest = hashlib.sha1()
    for path in sorted((ROOT / "tos_watch").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def bench(replicas: int, tools: list[Tool], timeout: float, variant: str = "") -> str:
    """One size: every tool's three phases; results in results/cycle-<K><variant>.{json,md}."""
    stem = f"cycle-{replicas}{variant}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    site = Site(replicas, RESULTS / f"site-{replicas}.log")
    try:
        docs = len(site.documents())
        progress(f"replay site: {docs} documents on {site.base}")
        measures = [m for tool in tools for m in run_tool(tool, site, replicas, timeout, stem)]
    finally:
        site.stop()
    checks = summary(measures)
    table = markdown(replicas, docs, measures, checks)
    meta = {"replicas": replicas, "documents": docs, "cpus": os.cpu_count(), "python": sys.version.split()[0],
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "tos_watch_sources": sources_digest()}
    (RESULTS / f"{stem}.json").write_text(
        json.dumps({**meta, "measures": [asdict(m) for m in measures], "checks": checks}, indent=2), "utf-8")
    (RESULTS / f"{stem}.md").write_text(table, "utf-8")
    return table


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, action="append", help="site size, 83 × K pages (repeatable; "
                    "default: 10 then 100)")
    ap.add_argument("--tools", default="tos_watch,urlwatch", help="comma-separated: tos_watch, urlwatch")
    ap.add_argument("--timeout", type=float, default=15, help="minutes before a phase is stopped (default 15)")
    ap.add_argument("--urlwatch-html2text", default="pyhtml2text", choices=["pyhtml2text", "re", "bs4"],
                    help="urlwatch's html2text method (default pyhtml2text: Markdown, like tos_watch)")
    a = ap.parse_args(argv)
    known: dict[str, Callable[[], Tool]] = {"tos_watch": TosWatch, "urlwatch": lambda: UrlWatch(a.urlwatch_html2text)}
    names = [t.strip() for t in a.tools.split(",") if t.strip()]
    if unknown := [n for n in names if n not in known]:
        sys.exit(f"cycle.py: unknown tool(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    # Runs other than the default comparison get their own result files.
    variant = "" if names == list(known) else "-" + "+".join(names)
    variant += "" if a.urlwatch_html2text == "pyhtml2text" or "urlwatch" not in names else f"-{a.urlwatch_html2text}"
    for replicas in a.replicas or [10, 100]:
        print(bench(replicas, [known[n]() for n in names], a.timeout * 60, variant), flush=True)


if __name__ == "__main__":
    main()
