"""Fit the shipped clause-edit judge on all of the dev sets and write tos_watch/classify/data/edit_model.json.

    make model                                   # = .venv/bin/python benchmarks/train_model.py
    .venv/bin/python benchmarks/train_model.py --eval-dir ../shared/eval --out PATH

Needs the `train` extra (scikit-learn). Reads only *-dev files. The model's
metadata names this script, each data file with its SHA-256, the training
settings and random_state, so anyone can rebuild and compare it. The figures
that justify it are out-of-fold (`tos-watch eval`), never this fit's own.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tos_watch.evaluation.data import CHANGE_SETS, CLAUSES, EDITS_SPEC, load_changes, load_clauses  # noqa: E402
from tos_watch.evaluation.training import EditCache, TrainingConfig, fit_judge  # noqa: E402

OUT = ROOT / "tos_watch" / "classify" / "data" / "edit_model.json"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not (args.eval_dir / "changes-dev.jsonl").is_file():
        sys.exit(f"train_model: error: no dev sets in {args.eval_dir}")
    import sklearn

    changes, clauses = load_changes(args.eval_dir), load_clauses(args.eval_dir)
    config = TrainingConfig()
    judge = fit_judge(changes, clauses, EditCache(), config)
    files = [n for n in (*CHANGE_SETS, EDITS_SPEC, "edits.py", CLAUSES) if (args.eval_dir / n).is_file()]
    meta = {"script": "benchmarks/train_model.py", "random_state": 0, "scikit_learn": sklearn.__version__,
            "config": dataclasses.asdict(config), "n_changes": len(changes), "n_clauses": len(clauses),
            "data": {n: _sha256(args.eval_dir / n) for n in files}}
    data = dataclasses.replace(judge, meta=meta).to_json()
    args.out.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    n_weights = sum(len(m["weights"]) for m in [data["substantive"], *data["categories"].values()] if m)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB, {n_weights} weights)")


if __name__ == "__main__":
    main()
