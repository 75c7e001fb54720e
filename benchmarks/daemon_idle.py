"""How much an idle `tos-watch daemon` costs between checks: CPU seconds and resident memory.

Run by hand:

    .venv/bin/python benchmarks/daemon_idle.py [--documents 83] [--seconds 60]

Starts shared/tools/policy_site.py, a daemon watching `--documents` of its pages
(check every 6h, digest daily: nothing is due during the measurement), waits until
the first check of every document is recorded, then samples /proc/<pid> over
`--seconds`: CPU time used (user + system) and RSS (current and peak). Targets:
under 1% of one core and an idle RSS under 100 MB (the peak, during the first
burst of checks, is reported too). Results on stdout and in
benchmarks/results/daemon_idle.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT.parent / "shared" / "tools" / "policy_site.py"
RESULTS = ROOT / "benchmarks" / "results"
CPU_TARGET = 0.01  # fraction of one core
RSS_TARGET_MB = 100.0
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (fields 14 and 15 of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_mb(pid: int) -> tuple[float, float]:
    """Current and peak resident set size, in MB."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def start_site() -> tuple[subprocess.Popen[bytes], str]:
    site = subprocess.Popen([sys.executable, str(SITE), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert site.stdout is not None
    banner = site.stdout.readline().decode()
    return site, banner[banner.index("http://"):].strip().rstrip("/")


def write_config(folder: Path, base: str, count: int) -> Path:
    with urllib.request.urlopen(f"{base}/_site/documents", timeout=30) as response:
        docs = json.loads(response.read())[:count]
    lines = [f'[storage]\ndir = "{folder / "data"}"',
             '[schedule]\ncheck = "every 6h"\njitter = "10m"\ndigest = "daily at 08:00"']
    for d in docs:
        lines.append(f'[[documents]]\nservice = {json.dumps(d["service"])}\ntype = {json.dumps(d["document"])}\n'
                     f'url = "{base}{d["url"]}"\nselect = ["#content"]')
    config = folder / "tos-watch.toml"
    config.write_text("\n\n".join(lines) + "\n")
    return config


def checked(folder: Path) -> int:
    try:
        with sqlite3.connect(folder / "data" / "tos-watch.db", timeout=30) as c:
            return int(c.execute("SELECT count(*) FROM documents WHERE last_checked_at IS NOT NULL").fetchone()[0])
    except sqlite3.Error:
        return 0


def measure(documents: int, seconds: float) -> dict[str, Any]:
    site, base = start_site()
    folder = Path(tempfile.mkdtemp(prefix="tos-watch-idle-"))
    config = write_config(folder, base, documents)
    daemon = subprocess.Popen([sys.executable, "-m", "tos_watch", "--config", str(config), "daemon",
                               "--log-level", "WARNING"], cwd=ROOT)
    try:
        deadline = time.monotonic() + 600
        while checked(folder) < documents and time.monotonic() < deadline:
            time.sleep(0.5)  # polling the database for the first checks
        startup_rss, startup_peak = memory_mb(daemon.pid)
        cpu0, t0 = cpu_seconds(daemon.pid), time.monotonic()
        samples = []
        while time.monotonic() - t0 < seconds:
            time.sleep(1)
            samples.append(memory_mb(daemon.pid)[0])
        cpu, wall = cpu_seconds(daemon.pid) - cpu0, time.monotonic() - t0
        rss, peak = memory_mb(daemon.pid)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(60)
        site.terminate()
        site.wait(10)
    return {"documents": documents, "checked": checked(folder), "idle_seconds": round(wall, 1),
            "idle_cpu_seconds": round(cpu, 3), "idle_cpu_percent": round(100 * cpu / wall, 3),
            "rss_mb": round(rss, 1), "rss_max_idle_mb": round(max(samples), 1), "peak_rss_mb": round(peak, 1),
            "rss_after_first_checks_mb": round(startup_rss, 1),
            "ok": cpu / wall < CPU_TARGET and max(samples) < RSS_TARGET_MB}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=83)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    result = measure(args.documents, args.seconds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "daemon_idle.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"targets: idle CPU < {CPU_TARGET:.0%} of a core, idle RSS < {RSS_TARGET_MB:.0f} MB: "
          + ("met" if result["ok"] else "NOT met"))


if __name__ == "__main__":
    main()
