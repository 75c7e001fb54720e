"""Cluster commands: `tos-watch worker`, and the queue's part of `tos-watch status`."""

from __future__ import annotations

import sys
from typing import Any

import click

from tos_watch.config import Settings


@click.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Checks this worker runs at the same time.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING"]), default="INFO", show_default=True)
@click.option("--drain", type=click.FloatRange(0), default=None,
              help="On SIGTERM, wait at most this many seconds for running checks (default: until they finish).")
@click.option("--exit-when-empty", is_flag=True, hidden=True, help="Stop once the queue is empty (benchmarks).")
@click.pass_context
def worker(ctx: click.Context, concurrency: int, log_format: str, log_level: str, drain: float | None,
           exit_when_empty: bool) -> None:
    """Take checks from the [queue] and run them, until SIGTERM (running checks finish first)."""
    import os

    from tos_watch import cluster, queue
    from tos_watch.cli.context import settings_only
    from tos_watch.daemon import setup_logging

    setup_logging(log_level, as_json=log_format == "json")
    settings = settings_only(ctx)
    beat = float(os.environ.get("TOS_WATCH_HEARTBEAT", "10"))  # tests and benchmarks shorten it
    stalled = settings.queue.stalled_after if settings.queue else 30.0
    options = queue.WorkerOptions(concurrency=concurrency, stalled_after=stalled, heartbeat=min(beat, stalled / 3),
                                  poll=min(5.0, stalled / 3), drain=drain, wait=not exit_when_empty)
    sys.exit(cluster.run_worker(settings, concurrency=concurrency, options=options))


def cluster_report(settings: Settings) -> dict[str, Any]:
    from tos_watch import queue

    assert settings.queue is not None
    return queue.queue_status(settings.queue.url, settings.queue.stalled_after)


def show_cluster(console: Any, report: dict[str, Any]) -> None:
    from rich.table import Table

    console.print(f"Queue: {report['waiting']} checks waiting, {report['scheduled_later']} scheduled later, "
                  f"{report['running']} running")
    workers = Table("worker", "alive", "last heartbeat", "checks/min (5 min)", title="Workers")
    for w in report["workers"]:
        workers.add_row(str(w["id"]), "yes" if w["alive"] else "NO (stalled)", f"{w['heartbeat_age']:.0f}s ago",
                        f"{w['checks_per_minute']:.1f}")
    console.print(workers if report["workers"] else "No worker is running: start `tos-watch worker` on some machine.")
    if report["stuck"]:
        stuck = Table("job", "service", "type", "why", title="Stuck")
        for s in report["stuck"]:
            stuck.add_row(str(s["job"]), str(s["service"]), str(s["type"]), s["why"])
        console.print(stuck)


def register(group: click.Group) -> None:
    group.add_command(worker)
