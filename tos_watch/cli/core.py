"""Core commands: init, check, history, diff, reextract."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from importlib import resources

import click

from tos_watch import pipeline
from tos_watch.cli.context import open_settings_and_store, progress_bar
from tos_watch.cli.diffdoc import diff_document, explanation, version_json
from tos_watch.cli.render import history_table, outcome_table, version_flags, write_report_json
from tos_watch.config import config_path
from tos_watch.errors import ConfigError, DocumentError, NotFoundError
from tos_watch.models import Document, VersionInfo
from tos_watch.store import SqlStore

DIFF_FORMATS = ("terminal", "unified", "json", "html")


@click.command()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.pass_context
def init(ctx: click.Context, force: bool) -> None:
    """Write a starter tos-watch.toml watching real policies (Ring, Google Nest, Amazon, ...)."""
    path = config_path(ctx.obj["config_path"])
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; use --force to overwrite it")
    path.write_text(resources.files("tos_watch").joinpath("data/starter.toml").read_text(encoding="utf-8"),
                    encoding="utf-8")
    click.echo(f"wrote {path}: edit its [[documents]], then run `tos-watch check`")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--service", "services", multiple=True, help="Check only this service (repeatable).")
@click.option("--via-daemon", is_flag=True, help="Ask the running daemon to check now, and show what it found.")
@click.pass_context
def check(ctx: click.Context, as_json: bool, services: tuple[str, ...], via_daemon: bool) -> None:
    """Check every document once, then send due alerts; exit 1 when some failed."""
    from tos_watch.cli.one_writer import check_via_daemon, sole_writer
    from tos_watch.daemon import require_documents

    settings, store = open_settings_and_store(ctx)
    require_documents(settings)
    documents = _select(settings.documents, services)
    if via_daemon:
        sys.exit(check_via_daemon(settings, store, list(services) or None))
    with sole_writer(settings, store):
        with progress_bar(len(documents), "checking", quiet=False) as advance:
            report = pipeline.run_check(documents, store, settings, progress=advance)
    if as_json:
        write_report_json(report, store, sys.stdout)
    else:
        outcome_table(report)
    sys.exit(0 if report.ok else 1)


def _select(documents: tuple[Document, ...], services: tuple[str, ...]) -> list[Document]:
    if not services:
        return list(documents)
    wanted = {s.casefold() for s in services}
    chosen = [d for d in documents if d.service.casefold() in wanted]
    known = {d.service.casefold() for d in documents}
    missing = sorted(s for s in services if s.casefold() not in known)
    if missing:
        raise NotFoundError(f"no service named {', '.join(missing)} in the watchlist")
    return chosen


@click.command()
@click.argument("service")
@click.argument("doc_type", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def history(ctx: click.Context, service: str, doc_type: str | None, as_json: bool) -> None:
    """List the versions of a service's documents: date, size, what changed."""
    _settings, store = open_settings_and_store(ctx)
    found = store.versions(service, doc_type)
    if not found:
        raise NotFoundError(f'no versions recorded for "{service}"' + (f' / "{doc_type}"' if doc_type else "")
                            + "; run `tos-watch check` first, or check the name with `tos-watch status`")
    if as_json:
        click.echo(json.dumps([version_json(v) for v in found], indent=2, ensure_ascii=False))
        return
    history_table(found)


@click.command("diff")
@click.argument("service")
@click.argument("doc_type")
@click.option("--from", "from_", help="Compare from the version current at this date (YYYY-MM-DD).")
@click.option("--to", help="Compare to the version current at this date (default: the latest).")
@click.option("--format", "fmt", type=click.Choice(DIFF_FORMATS), default="terminal", show_default=True)
@click.option("--context", default=1, show_default=True, help="Unchanged paragraphs shown around changes.")
@click.pass_context
def diff_cmd(ctx: click.Context, service: str, doc_type: str, from_: str | None, to: str | None, fmt: str,
             context: int) -> None:
    """Show what changed in a document: the latest change, or between two dates."""
    _settings, store = open_settings_and_store(ctx)
    old, new = _pick_versions(store.versions(service, doc_type), service, doc_type, from_, to)
    from tos_watch import diff as difflib_views  # only this command shows diffs

    blocks = difflib_views.diff_texts(store.version_text(old), store.version_text(new))
    old_label = f"{old.recorded_at:%Y-%m-%d %H:%M} (v{old.id})"
    new_label = f"{new.recorded_at:%Y-%m-%d %H:%M} (v{new.id})"
    notes = explanation(new)
    if fmt == "json":

        click.echo(json.dumps(diff_document(old, new, blocks), indent=2, ensure_ascii=False))
    elif fmt == "html":
        click.echo(difflib_views.render_html(blocks, title=f"{new.document_service} / {new.document_type}",
                                             old_label=old_label, new_label=new_label, notes=notes))
    elif fmt == "unified":
        click.echo("".join(f"# {line}\n" for line in notes)  # before the --- line: patch tools skip it
                   + difflib_views.render_unified(blocks, old_label=old_label, new_label=new_label, context=context))
    else:
        click.echo(f"{new.document_service} / {new.document_type}: {old_label} → {new_label}"
                   f"  {' '.join(version_flags(new))}")
        for line in notes[1:]:
            click.echo(f"  {line}")
        click.echo(difflib_views.render_terminal(blocks, context=context, color=sys.stdout.isatty()))


def _parse_date(value: str, option: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a date (use YYYY-MM-DD or an ISO 8601 time)") from None
    if len(value) == 10:  # a bare date means the end of that day
        parsed = parsed.replace(hour=23, minute=59, second=59)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _pick_versions(found: list[VersionInfo], service: str, doc_type: str, from_: str | None,
                   to: str | None) -> tuple[VersionInfo, VersionInfo]:
    """The two versions to compare: those current at --from and --to, else the latest change."""
    if not found:
        raise NotFoundError(f'no versions recorded for "{service}" / "{doc_type}"')
    end = _parse_date(to, "--to") if to else None
    upto = [v for v in found if end is None or v.recorded_at <= end]
    if not upto:
        raise NotFoundError(f"no version of {service} / {doc_type} exists on or before {to}")
    new = upto[-1]
    if from_:
        start = _parse_date(from_, "--from")
        before = [v for v in found if v.recorded_at <= start]
        old = before[-1] if before else found[0]
    else:
        if len(upto) < 2:
            raise NotFoundError(f"{service} / {doc_type} has only one version so far: nothing to compare")
        old = upto[-2]
    return old, new


@click.command()
@click.argument("service", required=False)
@click.argument("doc_type", required=False)
@click.pass_context
def reextract(ctx: click.Context, service: str | None, doc_type: str | None) -> None:
    """Re-extract stored raw snapshots with the current selectors (no refetch, no alerts)."""
    settings, store = open_settings_and_store(ctx)
    documents = settings.find_documents(service, doc_type) if service else list(settings.documents)
    if service and not documents:
        raise NotFoundError(f'no document "{service}"{" / " + doc_type if doc_type else ""} in the watchlist')
    from tos_watch.daemon import instance_lock

    failures = 0
    with instance_lock(settings.storage.dir, purpose="reextract"):  # one writer per store
        for doc in documents:
            failures += _reextract_one(doc, store)
    sys.exit(1 if failures else 0)


def _reextract_one(doc: Document, store: SqlStore) -> int:
    try:
        version = pipeline.reextract(doc, store)
    except DocumentError as exc:
        click.echo(f"{doc.label}: failed: {exc}", err=True)
        return 1
    if version is None:
        click.echo(f"{doc.label}: unchanged")
    else:
        click.echo(f"{doc.label}: new text recorded (v{version.id}, not reported as a change)")
    return 0


def register(group: click.Group) -> None:
    for command in (init, check, history, diff_cmd, reextract):
        group.add_command(command)

