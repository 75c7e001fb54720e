"""Classifier commands: `compare` two files, `classify` clauses, `eval` on the dev sets (in `eval_cmd`).

The batch modes (`--jsonl`) read one JSON object per line on stdin and write
one per line on stdout; a bad line becomes {"id", "error"} and the batch goes
on. This module does the file reading that `tos_watch.classify` must not.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from tos_watch.classify import assess, categorize
from tos_watch.cli.eval_cmd import eval_cmd

EXIT_USAGE = 2


def _is_html(path: Path, data: bytes) -> bool:
    head = data[:2048].lstrip().lower()
    return path.suffix.lower() in (".html", ".htm") or head.startswith((b"<!doctype html", b"<html"))


def read_version(path: Path) -> str:
    """A local file as normalised Markdown: HTML goes through the extractor, text is read as is."""
    data = path.read_bytes()
    if not _is_html(path, data):
        return data.decode("utf-8", errors="replace")
    try:
        from tos_watch.extract import extract  # type: ignore[attr-defined]
        from tos_watch.models import Source
    except ImportError:  # FALLBACK until tos_watch.extract lands: plain text, no Markdown structure
        from bs4 import BeautifulSoup

        return str(BeautifulSoup(data, "lxml").get_text("\n\n"))
    return str(extract(data, "text/html", Source(url=path.resolve().as_uri())))


def _compare_paths(old: str, new: str) -> dict[str, Any]:
    return assess(read_version(Path(old)), read_version(Path(new))).to_json()


def _jsonl_lines(stream: Any, handle: Callable[[dict[str, Any]], dict[str, Any]]) -> Iterator[str]:
    """Apply `handle` to each JSON line; a bad line yields an error object instead of stopping the batch."""
    for n, line in enumerate(stream, 1):
        if not line.strip():
            continue
        item_id: Any = None
        try:
            item = json.loads(line)
            if not isinstance(item, dict):
                raise TypeError("expected a JSON object")
            item_id = item.get("id")
            out = {"id": item_id, **handle(item)}
        except (ValueError, KeyError, TypeError, OSError) as exc:
            reason = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            out = {"id": item_id, "error": f"line {n}: {reason}"}
        yield json.dumps(out, ensure_ascii=False)


def _compare_item(item: dict[str, Any]) -> dict[str, Any]:
    return _compare_paths(str(item["old"]), str(item["new"]))


def _classify_item(item: dict[str, Any]) -> dict[str, Any]:
    text = item["text"]
    if not isinstance(text, str):
        raise TypeError('"text" must be a string')
    return {"categories": categorize(text)}


def _print_human(result: dict[str, Any]) -> None:
    """A readable list of substantive changes, most severe first."""
    from rich.console import Console

    console = Console()
    verdict = "cosmetic only" if result["cosmetic"] else "substantive"
    flags = ", ".join(f"{c} {d}" for c, d in result["categories"].items()) or "no watched category"
    console.print(f"[bold]{verdict}[/bold] — severity {result['severity']} — {flags}")
    cosmetic = [c for c in result["changes"] if c["cosmetic"]]
    for ch in result["changes"]:
        if ch["cosmetic"]:
            continue
        console.print(f"\n[bold]\\[{ch['severity']}][/bold] {ch['section'] or '(top)'}: {ch['summary']}")
        if ch["old"]:
            console.print(f"  [red]- {ch['old'][:400]}[/red]", highlight=False)
        if ch["new"]:
            console.print(f"  [green]+ {ch['new'][:400]}[/green]", highlight=False)
        for cat, words in ch["evidence"].items():
            console.print(f"    {cat}: {'; '.join(words)}", highlight=False)
    if cosmetic:
        console.print(f"\n({len(cosmetic)} cosmetic edits not shown)")


@click.command("compare")
@click.argument("old", required=False, type=click.Path(exists=True, dir_okay=False))
@click.argument("new", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the assessment as one JSON object.")
@click.option("--jsonl", is_flag=True, help='Batch: read {"id", "old", "new"} lines on stdin.')
def compare(old: str | None, new: str | None, as_json: bool, jsonl: bool) -> None:
    """Compare two local versions (Markdown, HTML or text) and flag what changed."""
    if jsonl:
        for out in _jsonl_lines(sys.stdin, _compare_item):
            click.echo(out)
        return
    if not old or not new:
        click.echo("tos-watch: error: compare needs OLD and NEW files, or --jsonl", err=True)
        sys.exit(EXIT_USAGE)
    result = _compare_paths(old, new)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print_human(result)


@click.command("classify")
@click.option("--jsonl", is_flag=True, required=True, help='Read {"id", "text"} lines on stdin.')
def classify(jsonl: bool) -> None:
    """Categories of each clause read on stdin."""
    for out in _jsonl_lines(sys.stdin, _classify_item):
        click.echo(out)


def register(group: click.Group) -> None:
    """Add the classifier commands to the `tos-watch` group."""
    for command in (compare, classify, eval_cmd):
        group.add_command(command)
