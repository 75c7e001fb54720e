"""Classifier commands: `compare` two files, `classify` clauses, `eval` on the dev sets.

The batch modes (`--jsonl`) read one JSON object per line on stdin and write
one per line on stdout; a bad line becomes {"id", "error"} and the batch goes
on. This module does the file reading that `tos_watch.classify` must not.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

import tos_watch
from tos_watch.classify import assess, categorize
from tos_watch.classify.model import folds, train
from tos_watch.classify.scoring import (
    MISSION,
    change_scores,
    clause_scores,
    keyword_categories,
    keyword_compare,
)

EXIT_USAGE = 2
TARGETS = {"substantive_acc": 0.95, "category_f1": 0.80, "mission_f1": 0.80, "direction_acc": 0.85,
           "clauses_mission_mean_f1": 0.75}


def default_eval_dir() -> Path:
    """Where the labelled sets live: $TOS_WATCH_EVAL_DIR, else ../shared/eval beside the project."""
    env = os.environ.get("TOS_WATCH_EVAL_DIR")
    return Path(env) if env else Path(tos_watch.__file__).resolve().parents[1].parent / "shared" / "eval"


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


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def pair_paths(eval_dir: Path, item: dict[str, Any]) -> tuple[Path, Path]:
    """Old and new file of a labelled change: a corpus pair or a pairs/<id>/ directory."""
    if "old" in item and "service" in item and "document" in item:
        base = eval_dir.parent / "corpus" / item["service"] / item["document"]
        return base / item["old"], base / item["new"]
    return eval_dir / "pairs" / item["id"] / "old.md", eval_dir / "pairs" / item["id"] / "new.md"


def cross_validated_clauses(clauses: list[dict[str, Any]], k: int = 5) -> dict[str, float]:
    """Clause scores where each fold's word model never saw that fold: the shipped model trained on
    all of clauses-dev would score itself, so only these numbers are honest."""
    pred: dict[str, list[str]] = {}
    for train_idx, test_idx in folds(len(clauses), k):
        model = train([clauses[i]["text"] for i in train_idx], [clauses[i]["category"] for i in train_idx])
        for i in test_idx:
            pred[clauses[i]["id"]] = categorize(clauses[i]["text"], model)
    return clause_scores(clauses, pred)


def evaluate(eval_dir: Path) -> dict[str, dict[str, float]]:
    """Scores of the classifier and the keyword baseline on the dev sets."""
    labelled = load_jsonl(eval_dir / "changes-dev.jsonl") + load_jsonl(eval_dir / "pairs-dev.jsonl")
    ours: dict[str, dict[str, Any]] = {}
    base: dict[str, dict[str, Any]] = {}
    for item in labelled:
        old_path, new_path = pair_paths(eval_dir, item)
        old, new = read_version(old_path), read_version(new_path)
        ours[item["id"]] = assess(old, new).to_json()
        base[item["id"]] = keyword_compare(old, new)
    clauses = load_jsonl(eval_dir / "clauses-dev.jsonl")
    ours_c = cross_validated_clauses(clauses)
    base_c = clause_scores(clauses, {c["id"]: keyword_categories(c["text"]) for c in clauses})
    result = {}
    for name, pred, cl in (("ours", ours, ours_c), ("baseline", base, base_c)):
        scores = change_scores(labelled, pred)
        scores.update({f"clauses_{k}": v for k, v in cl.items()})
        result[name] = scores
    return result


def _print_eval(result: dict[str, dict[str, float]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Classifier on the dev sets (changes-dev + pairs-dev; clauses-dev 5-fold CV)")
    for col in ("measure", "ours", "keyword baseline", "target"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    for key in result["ours"]:
        if key == "direction_n":
            continue
        target = TARGETS.get(key)
        table.add_row(key, f"{result['ours'][key]:.3f}", f"{result['baseline'].get(key, 0.0):.3f}",
                      f">= {target:.2f}" if target else "")
    Console().print(table)
    click.echo(f"mission categories: {', '.join(MISSION)}; direction over "
               f"{int(result['ours']['direction_n'])} categories flagged by both")


@click.command("eval")
@click.option("--eval-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory of the labelled sets (default: $TOS_WATCH_EVAL_DIR or ../shared/eval).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def eval_cmd(eval_dir: Path | None, as_json: bool) -> None:
    """Score the classifier and a plain keyword baseline on the dev sets."""
    eval_dir = eval_dir or default_eval_dir()
    if not (eval_dir / "changes-dev.jsonl").is_file():
        click.echo(f"tos-watch: error: no dev sets in {eval_dir}; pass --eval-dir", err=True)
        sys.exit(EXIT_USAGE)
    result = evaluate(eval_dir)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        _print_eval(result)


def register(group: click.Group) -> None:
    """Add the classifier commands to the `tos-watch` group."""
    for command in (compare, classify, eval_cmd):
        group.add_command(command)
