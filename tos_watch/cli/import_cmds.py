"""`tos-watch import declarations|history`: bring Open Terms Archive data into tos_watch.

    tos-watch import declarations PATH [--service NAME]... [--dry-run] [--json]
    tos-watch import history PATH [--service NAME]... [--quiet] [--json]

Declarations become ordinary [[documents]] entries appended to the watchlist
(see tos_watch/ota/watchlist.py for why the TOML and not a linked folder);
a versions repository becomes dated versions in the store, classified like
fetched ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tos_watch.cli.context import open_settings_and_store, stderr
from tos_watch.config import config_path
from tos_watch.errors import NotFoundError
from tos_watch.ota.declarations import DeclarationsImport, load_declarations
from tos_watch.ota.history import RecordedVersion
from tos_watch.ota.importer import HistoryImport, import_history
from tos_watch.ota.watchlist import AppendResult, append_documents

MAX_WARNINGS_SHOWN = 400


@click.group("import")
def import_group() -> None:
    """Import Open Terms Archive declarations (as watchlist entries) or version history (into the store)."""


@import_group.command("declarations")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--service", "services", multiple=True, help="Import only this service (repeatable).")
@click.option("--dry-run", is_flag=True, help="Print the entries that would be appended; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts and warnings as one JSON object.")
@click.pass_context
def declarations_cmd(ctx: click.Context, path: Path, services: tuple[str, ...], dry_run: bool,
                     as_json: bool) -> None:
    """Append the documents declared in an OTA declarations folder (PATH) to the watchlist."""
    found = load_declarations(path, services or None)
    _check_services_found(path, services, found)
    target = config_path(ctx.find_root().obj["config_path"])
    header = f"imported from OTA {path.resolve()} on {datetime.now(timezone.utc):%Y-%m-%d}"
    result = append_documents(target, found.documents, header, notes=_notes(found), dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(_declarations_json(found, result, target, dry_run), indent=2, ensure_ascii=False))
        return
    if dry_run and result.text:
        click.echo(result.text)
    for warning in found.warnings[:MAX_WARNINGS_SHOWN]:
        click.echo(f"warning: {warning}", err=True)
    verb = "would append" if dry_run else "appended"
    click.echo(f"{verb} {_n(len(result.added), 'document')} from {_n(found.services, 'service')} to {target}; "
               f"{len(result.existing)} already in the watchlist; {_n(len(found.warnings), 'warning')} "
               f"({len(found.filters_skipped)} imported without their custom filters, "
               f"{len(found.rejected)} services or documents not imported)")


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _notes(found: DeclarationsImport) -> dict[tuple[str, str], list[str]]:
    """Comments above an entry saying which OTA filters it lost, so a reader of the TOML knows."""
    return {(w.service, w.type): [f"OTA {w.message}"] for w in found.filters_skipped if w.type is not None}


def _check_services_found(path: Path, services: tuple[str, ...], found: DeclarationsImport) -> None:
    if services and found.services < len({s.casefold() for s in services}):
        known = {p.stem.casefold() for p in path.glob("*.json")}
        missing = [s for s in services if s.casefold() not in known]
        raise NotFoundError(f"{path}: no declaration for {', '.join(missing)} (expected <service>.json)")


def _declarations_json(found: DeclarationsImport, result: AppendResult, target: Path,
                       dry_run: bool) -> dict[str, Any]:
    return {"watchlist": str(target), "dry_run": dry_run, "services": found.services,
            "documents": len(found.documents), "added": len(result.added),
            "already_present": len(result.existing), "filters_skipped": len(found.filters_skipped),
            "not_imported": len(found.rejected),
            "warnings": [{"service": w.service, "type": w.type, "message": w.message, "imported": w.imported}
                         for w in found.warnings]}


@import_group.command("history")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--service", "services", multiple=True, help="Import only this service (repeatable).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as one JSON object.")
@click.pass_context
def history_cmd(ctx: click.Context, path: Path, services: tuple[str, ...], quiet: bool, as_json: bool) -> None:
    """Import the version history of an OTA versions repository (PATH, a git clone) into the store."""
    from tos_watch.daemon import instance_lock

    settings, store = open_settings_and_store(ctx)
    with instance_lock(settings.storage.dir, purpose="import history"), _progress(quiet=quiet or as_json) as advance:
        report = import_history(store, path, services=services or None, watchlist=settings.documents,
                                progress=advance)
    if services and not report.documents and not report.technical_skipped:
        raise NotFoundError(f"{path}: no versions of {', '.join(services)} (expected <service>/<type>.md)")
    if as_json:
        click.echo(json.dumps(_history_json(report), indent=2))
        return
    click.echo(f"imported {_n(report.recorded, 'version')} of {_n(len(report.documents), 'document')} from {path} "
               f"in {report.seconds:.1f}s ({report.rate:.0f} versions/s); "
               f"{report.already_imported} already imported, {report.unchanged} unchanged, "
               f"{report.technical_skipped} technical-upgrade commits skipped")


def _history_json(report: HistoryImport) -> dict[str, Any]:
    return {"recorded": report.recorded, "already_imported": report.already_imported,
            "unchanged": report.unchanged, "technical_skipped": report.technical_skipped,
            "documents": len(report.documents), "seconds": round(report.seconds, 3),
            "versions_per_second": round(report.rate, 1)}


@contextmanager
def _progress(*, quiet: bool) -> Iterator[Callable[[RecordedVersion, int | None], None]]:
    """A progress bar on stderr (terminals only), sized once the repository has been listed."""
    if quiet or not stderr.is_terminal:
        yield lambda _version, _total: None
        return
    columns = (TextColumn("[bold]importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[last]}"))
    with Progress(*columns, console=stderr, transient=True) as progress:
        task = progress.add_task("importing", total=None, last="")

        def advance(version: RecordedVersion, total: int | None) -> None:
            progress.update(task, advance=1, total=total, last=f"{version.service} / {version.type}")

        yield advance


def register(group: click.Group) -> None:
    group.add_command(import_group)
