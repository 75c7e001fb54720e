"""`tos-watch eval`: the classifier's out-of-fold scores on the labelled dev sets.

The headline is out-of-fold (k folds grouped by service, every trained part
fitted inside its fold); in-sample figures are printed only on request and
labelled so. Beside it: each ablation and the plain keyword baseline.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

import tos_watch

EXIT_USAGE = 2
TARGETS = {"substantive_acc": 0.95, "category_f1": 0.80, "mission_f1": 0.82, "direction_acc": 0.88,
           "edits_exact_acc": 0.85, "cosmetic_at_high": 0.01, "clauses_mission_mean_f1": 0.75,
           "clauses_f1_retention": 0.65}
CHANGE_MEASURES = ("substantive_acc", "category_f1", "mission_f1", "direction_acc", "exact_acc", "edits_exact_acc",
                   "alarm_recall", "cosmetic_at_none", "cosmetic_at_low", "cosmetic_at_medium", "cosmetic_at_high")
AT_MOST = frozenset({"cosmetic_at_high"})


def default_eval_dir() -> Path:
    """Where the labelled sets live: $TOS_WATCH_EVAL_DIR, else ../shared/eval beside the project."""
    env = os.environ.get("TOS_WATCH_EVAL_DIR")
    return Path(env) if env else Path(tos_watch.__file__).resolve().parents[1].parent / "shared" / "eval"


def _target(key: str) -> str:
    t = TARGETS.get(key)
    return "" if t is None else f"<= {t:.2f}" if key in AT_MOST else f">= {t:.2f}"


def _table(title: str, columns: dict[str, dict[str, float]], keys: list[str], targets: bool = True) -> Any:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("measure")
    for col in columns:
        table.add_column(col, justify="right")
    if targets:
        table.add_column("target", justify="right")
    for key in keys:
        cells = [f"{columns[c][key]:.3f}" if key in columns[c] else "" for c in columns]
        table.add_row(key, *cells, *([_target(key)] if targets else []))
    return table


def flat(scores: dict[str, dict[str, float]]) -> dict[str, float]:
    """One system's headline measures as one mapping: all changes, and clauses_* for the clause set."""
    out = {**scores["all"], **{f"clauses_{k}": v for k, v in scores["clauses"].items()}}
    if "edits-dev" in scores:
        out["edits_exact_acc"] = scores["edits-dev"]["exact_acc"]
    return out


def print_eval(result: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console()
    oof = result["oof"]
    headline = next(iter(oof))
    columns = {name: flat(s) for name, s in oof.items()}
    columns["keyword baseline"] = flat(result["baseline"])
    clause_keys = sorted({k for c in columns.values() for k in c if k.startswith("clauses_")})
    console.print(_table(f"OUT-OF-FOLD on {result['n_changes']} labelled changes and {result['n_clauses']} clauses "
                         f"({result['k']} folds grouped by service)", columns,
                         list(CHANGE_MEASURES) + clause_keys))
    datasets = [d for d in oof[headline] if d not in ("all", "clauses")]
    console.print(_table(f"{headline}, out-of-fold, per dataset",
                         {f"{d.removeprefix('changes-')} ({oof[headline][d]['n']:.0f})": oof[headline][d]
                          for d in datasets}, [m for m in CHANGE_MEASURES if m != "edits_exact_acc"]))
    for name, s in result.get("in_sample", {}).items():
        console.print(_table(f"IN-SAMPLE (fitted on the items it scores: optimistic, not a yardstick): {name}",
                             {"in-sample": flat(s)}, list(CHANGE_MEASURES) + clause_keys, targets=False))
    click.echo("mission = licensing, access, retention; direction over categories flagged by both; "
               "exact = cosmetic flag, categories and directions all right (edits_exact_acc: on edits-dev); "
               "cosmetic_at_* = share of the "
               "cosmetic changes reported at that severity; alarm_recall = share of the changes labelled "
               "as broadening licensing, access or retention that are reported high; the baseline reports no severity")


@click.command("eval")
@click.option("--eval-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Directory of the labelled sets (default: $TOS_WATCH_EVAL_DIR or ../shared/eval).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--folds", "k", type=click.IntRange(2, 20), default=5, show_default=True,
              help="Cross-validation folds (grouped by service).")
@click.option("--in-sample", "with_in_sample", is_flag=True, help="Also print in-sample figures (optimistic).")
def eval_cmd(eval_dir: Path | None, as_json: bool, k: int, with_in_sample: bool) -> None:
    """Score the classifier out-of-fold on the dev sets, with its ablations and a keyword baseline."""
    from tos_watch.evaluation import evaluate

    eval_dir = eval_dir or default_eval_dir()
    if not (eval_dir / "changes-dev.jsonl").is_file():
        click.echo(f"tos-watch: error: no dev sets in {eval_dir}; pass --eval-dir", err=True)
        sys.exit(EXIT_USAGE)
    result = evaluate(eval_dir, k=k, with_in_sample=with_in_sample,
                      progress=None if as_json else lambda s: click.echo(s, err=True))
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        print_eval(result)
