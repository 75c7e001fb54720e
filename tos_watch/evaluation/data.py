"""The labelled dev sets as one list of changes and one of clauses, each with the service it came from.

Every labelled change (corpus pairs, pairs/<id>/ pairs, edited clauses built
by ../shared/eval/edits.py) becomes a `LabelledChange` with its texts and the
corpus versions of its document before `old` (the history `assess` reads).
Holdout files are never read here.
"""

from __future__ import annotations

import importlib.util
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tos_watch.classify.history import PriorVersion

CHANGE_SETS = ("changes-dev.jsonl", "changes-dev2.jsonl", "changes-dev-large.jsonl", "pairs-dev.jsonl")
EDITS_SPEC = "edits-dev.json"
CLAUSES = "clauses-dev.jsonl"
_STAMP = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})Z")


@dataclass(frozen=True)
class LabelledChange:
    """One labelled pair of versions: texts, gold labels, and the history before `old`."""

    id: str
    dataset: str
    service: str
    old: str
    new: str
    label: dict[str, Any]
    history: tuple[PriorVersion, ...] = field(default=(), repr=False)


def service_key(name: str) -> str:
    """Service names compared across sets ("Academia.edu" and "academia-edu" are one group)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class _Corpus:
    """Reads corpus versions once: a document's versions are shared by many labelled pairs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._texts: dict[Path, str] = {}

    def text(self, path: Path) -> str:
        if path not in self._texts:
            self._texts[path] = path.read_text(encoding="utf-8")
        return self._texts[path]

    def history(self, doc_dir: Path, before: str) -> tuple[PriorVersion, ...]:
        """The document's versions older than file `before`, oldest first."""
        from datetime import datetime, timezone

        out = []
        for n, path in enumerate(sorted(doc_dir.glob("*.md"))):
            if path.name >= before:
                break
            m = _STAMP.match(path.name)
            at = datetime.fromisoformat(f"{m[1]}T{m[2]}:{m[3]}:{m[4]}").replace(tzinfo=timezone.utc) if m else None
            out.append(PriorVersion(self.text(path), at, n))
        return tuple(out)


def _load_edits_module(eval_dir: Path) -> Any:
    spec = importlib.util.spec_from_file_location("tos_watch_eval_edits", eval_dir / "edits.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(eval_dir / "edits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _edited_clauses(eval_dir: Path, corpus: _Corpus) -> list[LabelledChange]:
    """edits-dev.json built into old/new pairs by the set's own edits.py (in a temporary directory)."""
    if not (eval_dir / EDITS_SPEC).is_file():
        return []
    edits = _load_edits_module(eval_dir)
    out = []
    with tempfile.TemporaryDirectory(prefix="tos-watch-edits-") as tmp:
        for e, old_path, new_path in edits.build(corpus.root, eval_dir / EDITS_SPEC, tmp):
            service, document = e["doc"].split("/", 1)
            old = Path(old_path).read_text(encoding="utf-8")
            # The edited span is the evidence of every label, as a quote is in changes-dev2.
            quote = e.get("text") or (old[e["start"]:e["end"]] if "start" in e else "")
            evidence = {c: quote for c in e["categories"]} or ({"": quote} if not e["cosmetic"] else {})
            label = {"categories": e["categories"], "cosmetic": e["cosmetic"], "note": e.get("note", ""),
                     "evidence": evidence}
            out.append(LabelledChange(e["id"], "edits-dev", service, old,
                                      Path(new_path).read_text(encoding="utf-8"), label,
                                      corpus.history(corpus.root / service / document, e["file"])))
    return out


def load_changes(eval_dir: Path) -> list[LabelledChange]:
    """All labelled dev changes, in file order, with texts and history."""
    corpus = _Corpus(eval_dir.parent / "corpus")
    out: list[LabelledChange] = []
    for name in CHANGE_SETS:
        if not (eval_dir / name).is_file():
            continue
        dataset = name.removesuffix(".jsonl")
        for item in load_jsonl(eval_dir / name):
            if "old" in item and "document" in item:
                doc_dir = corpus.root / item["service"] / item["document"]
                old, new = corpus.text(doc_dir / item["old"]), corpus.text(doc_dir / item["new"])
                history = corpus.history(doc_dir, item["old"])
            else:
                base = eval_dir / "pairs" / item["id"]
                old, new = (base / "old.md").read_text(encoding="utf-8"), (base / "new.md").read_text(encoding="utf-8")
                history = ()
            out.append(LabelledChange(item["id"], dataset, item["service"], old, new, item, history))
    return out + _edited_clauses(eval_dir, corpus)


def load_clauses(eval_dir: Path) -> list[dict[str, Any]]:
    return load_jsonl(eval_dir / CLAUSES)
