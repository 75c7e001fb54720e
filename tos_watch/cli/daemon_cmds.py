"""Long-running and notification commands: daemon, digest, feed, status."""

from __future__ import annotations

import json
import logging
import sys
import tomllib
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import click

from tos_watch.config import CATEGORIES, Settings, config_path, load_settings, parse_settings


def _settings(ctx: click.Context, *, embedded_ok: bool = False) -> Settings:
    """The configuration; the daemon alone may fall back to the embedded starter watchlist."""
    obj = ctx.find_root().obj
    if "settings" not in obj:
        flag = obj["config_path"]
        if embedded_ok and not flag and not config_path(None).is_file():
            text = resources.files("tos_watch").joinpath("data/starter.toml").read_text(encoding="utf-8")
            obj["settings"] = parse_settings(tomllib.loads(text), source="embedded starter.toml", base=Path.cwd())
            logging.getLogger("tos_watch.daemon").info(
                f"no {config_path(None)}: watching the embedded starter watchlist (`tos-watch init` to edit it)")
        else:
            from tos_watch.cli.context import checked

            obj["settings"] = checked(load_settings(flag))
    return obj["settings"]  # type: ignore[no-any-return]


def _store(ctx: click.Context, settings: Settings) -> Any:
    from tos_watch.store import open_store

    store = open_store(settings.storage)
    ctx.call_on_close(store.close)
    return store


@click.command()
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Documents checked at the same time (each document one at a time).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--log-level", type=click.Choice(["DEBUG", "INFO", "WARNING"]), default="INFO", show_default=True)
@click.pass_context
def daemon(ctx: click.Context, workers: int, log_format: str, log_level: str) -> None:
    """Check documents on schedule and send digests until stopped (SIGTERM/Ctrl-C)."""
    from tos_watch import daemon as runner

    runner.setup_logging(log_level, as_json=log_format == "json")
    settings = _settings(ctx, embedded_ok=True)
    sys.exit(runner.run(settings, workers=workers))


@click.command()
@click.option("--preview", "preview", type=click.Path(dir_okay=False, writable=True),
              help="Write the next digest as HTML (or .txt / .eml by extension) without sending it.")
@click.option("--send", "send", is_flag=True, help="Send every subscriber's digest now.")
@click.option("--to", "to", default=None, help="Preview the digest of this subscriber (default: the first).")
@click.pass_context
def digest(ctx: click.Context, preview: str | None, send: bool, to: str | None) -> None:
    """Render the next digest (--preview FILE) or send it now (--send)."""
    if bool(preview) == send:
        raise click.UsageError("give exactly one of --preview FILE or --send")
    settings = _settings(ctx)
    store = _store(ctx, settings)
    if preview:
        _preview(settings, store, Path(preview), to)
    else:
        _send_now(settings, store)


def _preview(settings: Settings, store: Any, out: Path, to: str | None) -> None:
    from tos_watch.notify.deliver import prepare, recipients
    from tos_watch.notify.render import build_message

    subs = recipients(settings)
    sub = next((s for s in subs if to is None or (s.email or "").casefold() == to.casefold()), None)
    if sub is None:
        from tos_watch.errors import NotFoundError
        raise NotFoundError(f'no subscriber "{to}" in the configuration')
    digest_, html, text = prepare(settings, store, sub, datetime.now(timezone.utc))
    if out.suffix == ".txt":
        out.write_text(text, encoding="utf-8")
    elif out.suffix == ".eml":
        sender = settings.smtp.sender if settings.smtp else "tos_watch <tos-watch@localhost>"
        out.write_bytes(build_message(digest_, html, text, sender=sender).as_bytes())
    else:
        out.write_text(html, encoding="utf-8")
    state = "nothing to report (would not be sent)" if digest_.empty else "would be sent"
    click.echo(f"wrote {out}: digest for {sub.email}, {digest_.listed} listed, {digest_.cosmetic_count} cosmetic, "
               f"{digest_.overflow_count} summarised, {len(digest_.problems)} problems; {state}")


def _send_now(settings: Settings, store: Any) -> None:
    from tos_watch.daemon import instance_lock, setup_logging
    from tos_watch.notify.deliver import make_sender, send_digests
    from tos_watch.store.delivery import DeliveryLog

    setup_logging("WARNING")
    with instance_lock(settings.storage.dir, purpose="digest --send"):  # never alongside the daemon
        DeliveryLog(store.engine).resolve_interrupted(datetime.now(timezone.utc))
        sender = make_sender(settings)
        results = send_digests(settings, store, sender)
    for r in results:
        click.echo(f"{r.subscriber}: {r.status}" + (f", {r.changes} changes" if r.changes else "")
                   + (f" ({r.detail})" if r.detail else ""))
    sys.exit(1 if any(r.status == "failed" for r in results) else 0)


@click.command()
@click.option("--service", "services", multiple=True, help="Only this service (repeatable).")
@click.option("--category", "categories", multiple=True, type=click.Choice(CATEGORIES),
              help="Only changes in this category (repeatable).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Entries (default: [feed] entries).")
@click.pass_context
def feed(ctx: click.Context, services: tuple[str, ...], categories: tuple[str, ...], limit: int | None) -> None:
    """Print an Atom feed of recent flagged changes."""
    from tos_watch.notify.feed import build_feed

    settings = _settings(ctx)
    store = _store(ctx, settings)
    body = build_feed(store.changes_since(None), limit=limit or settings.feed.entries,
                      services=services, categories=categories)
    sys.stdout.buffer.write(body)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of tables.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Last and next check of each document, failures, and the last digest of each subscriber."""
    settings = _settings(ctx)
    report = collect(settings, _store(ctx, settings))
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        show(report)


def collect(settings: Settings, store: Any) -> dict[str, Any]:
    """Everything `status` shows, as plain data."""
    from tos_watch.scheduler import check_id, next_runs
    from tos_watch.store.delivery import DeliveryLog

    runs = next_runs(store.engine)
    states = {(s.service, s.type): s for s in store.document_states()}
    docs = []
    for doc in settings.documents:
        st = states.get(doc.key)
        docs.append({"service": doc.service, "type": doc.type, "schedule": doc.interval or settings.schedule.check,
                     "last_check": st.last_checked_at if st else None, "status": st.last_status if st else None,
                     "error": st.last_error if st else None, "versions": st.version_count if st else 0,
                     "next_check": runs.get(check_id(doc))})
    journal = DeliveryLog(store.engine)
    retry = journal.retry_state()
    digests = [{"subscriber": d.subscriber, "status": d.status, "at": d.finished_at or d.created_at,
                "changes": d.change_count, "message_id": d.message_id, "error": d.error,
                "failures": retry.get(d.subscriber, (0, None))[0], "retry_at": retry.get(d.subscriber, (0, None))[1]}
               for d in journal.last_digests()]
    from tos_watch.daemon import lock_holder
    from tos_watch.notify.alerts import FAILING_AFTER
    from tos_watch.store.alerts import AlertLog

    channels = [{"subscriber": c.subscriber, "channel": c.display, "failures": c.failures,
                 "failing": c.failures >= FAILING_AFTER, "error": c.last_error, "retry_at": c.next_attempt_at,
                 "last_ok": c.last_ok_at} for c in AlertLog(store.engine).channels().values()]
    report: dict[str, Any] = {"daemon": lock_holder(settings.storage.dir), "documents": docs,
                              "next_digest": runs.get("digest"), "digests": digests, "daemon_jobs": len(runs),
                              "alert_channels": channels}
    if settings.queue is not None:
        from tos_watch.cli.cluster_cmds import cluster_report
        report["cluster"] = cluster_report(settings)
    return report


def show(report: dict[str, Any]) -> None:
    """Two tables on the terminal: documents, then digests."""
    from rich.console import Console
    from rich.table import Table

    def when(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S %Z") if isinstance(value, datetime) else "-"

    console = Console()
    console.print(f"Daemon: {report['daemon'] or 'not running'}")
    table = Table("service", "type", "schedule", "last check", "status", "next check", "versions", title="Documents")
    for d in report["documents"]:
        status_text = d["status"] or "never checked"
        if d["error"]:
            status_text += f": {d['error'][:60]}"
        table.add_row(d["service"], d["type"], d["schedule"], when(d["last_check"]), status_text,
                      when(d["next_check"]) if report["daemon_jobs"] else "(daemon never ran)", str(d["versions"]))
    console.print(table)
    console.print(f"Next digest: {when(report['next_digest'])}")
    digests = Table("subscriber", "last digest", "at", "changes", "failures", "retry at", title="Digests")
    for g in report["digests"]:
        digests.add_row(g["subscriber"], g["status"] + (f": {g['error'][:60]}" if g["error"] else ""),
                        when(g["at"]), str(g["changes"]), str(g["failures"]), when(g["retry_at"]))
    console.print(digests if report["digests"] else "No digest sent yet.")
    if report.get("alert_channels"):
        alerts = Table("subscriber", "alert channel", "state", "last ok", "retry at", title="Alert channels")
        for c in report["alert_channels"]:
            state = "ok" if not c["failures"] else f"{'FAILING' if c['failing'] else 'failed'} {c['failures']}x"
            alerts.add_row(c["subscriber"], c["channel"], state + (f": {c['error'][:60]}" if c["error"] else ""),
                           when(c["last_ok"]), when(c["retry_at"]))
        console.print(alerts)
    if "cluster" in report:
        from tos_watch.cli.cluster_cmds import show_cluster
        show_cluster(console, report["cluster"])


def register(group: click.Group) -> None:
    for command in (daemon, digest, feed, status):
        group.add_command(command)
