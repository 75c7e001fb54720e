"""A change as the change page shows it: word-level blocks with their clauses' flags. Pure.

The diff's blocks (tos_watch.diff) are matched to the assessment's clauses by text, so
each changed paragraph carries its categories, direction and the evidence words to
highlight. Hostile sizes are bounded here: each side of a block is cut at
MAX_BLOCK_CHARS and the page at MAX_PAGE_CHARS, saying how much was left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from tos_watch.diff import Block, WordOp

MAX_BLOCK_CHARS = 20_000  # per side of one paragraph
MAX_PAGE_CHARS = 300_000  # all paragraphs of one page
_MATCH_PREFIX = 160  # clause text compared with a paragraph's, enough to tell clauses apart


@dataclass(frozen=True)
class Segment:
    tag: str  # "equal" | "insert" | "delete" | "cut" (text left out, with its length)
    text: str
    mark: bool = False  # evidence words of a flagged clause


@dataclass(frozen=True)
class Flag:
    category: str
    direction: str


@dataclass
class BlockView:
    kind: str  # "insert" | "delete" | "replace" | "move" | "skip" (unchanged paragraphs folded)
    inline: list[Segment] = field(default_factory=list)
    old: list[Segment] = field(default_factory=list)
    new: list[Segment] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    severity: str = ""
    section: str = ""
    cosmetic: bool = False
    note: str = ""  # "moved from paragraph 3 to 9", "12 unchanged paragraphs"


@dataclass(frozen=True)
class Redline:
    blocks: list[BlockView]
    hidden_blocks: int  # changed paragraphs beyond the page budget
    cosmetic_blocks: int


def clauses_of(assessment: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The assessment's clause changes, read tolerantly (missing keys, odd types)."""
    changes = (assessment or {}).get("changes")
    return [c for c in changes if isinstance(c, dict)] if isinstance(changes, list) else []


def build(blocks: Sequence[Block], assessment: dict[str, Any] | None) -> Redline:
    """The page's blocks: changed paragraphs with flags, unchanged runs folded into one line."""
    clauses = clauses_of(assessment)
    whole_cosmetic = bool((assessment or {}).get("cosmetic"))
    views: list[BlockView] = []
    budget, hidden, unchanged = MAX_PAGE_CHARS, 0, 0
    for block in blocks:
        if block.kind == "equal":
            unchanged += 1
            continue
        if unchanged:
            views.append(BlockView("skip", note=_paragraphs(unchanged) + " unchanged"))
            unchanged = 0
        if budget <= 0:
            hidden += 1
            continue
        view = _block_view(block, _matching(block, clauses), whole_cosmetic, min(budget, MAX_BLOCK_CHARS))
        budget -= sum(len(s.text) for s in view.inline if s.tag != "cut")
        views.append(view)
    if unchanged and views:
        views.append(BlockView("skip", note=_paragraphs(unchanged) + " unchanged"))
    return Redline(views, hidden, sum(1 for v in views if v.cosmetic))


def _paragraphs(n: int) -> str:
    return f"{n} paragraph{'s' if n != 1 else ''}"


def _matching(block: Block, clauses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The assessment's clauses that lie in this paragraph (or that this paragraph lies in)."""
    found = []
    for clause in clauses:
        for side, text in (("new", block.new), ("old", block.old)):
            ctext = str(clause.get(side) or "").strip()
            if text and ctext and (ctext[:_MATCH_PREFIX] in text or text.strip()[:_MATCH_PREFIX] in ctext):
                found.append(clause)
                break
    return found


def _block_view(block: Block, clauses: list[dict[str, Any]], whole_cosmetic: bool, limit: int) -> BlockView:
    words = _evidence_pattern(clauses)
    if block.kind == "insert":
        ops: tuple[WordOp, ...] = (WordOp("insert", block.new or ""),)
    elif block.kind == "delete":
        ops = (WordOp("delete", block.old or ""),)
    else:
        ops = block.words or (WordOp("equal", block.new or ""),)
    view = BlockView(block.kind, inline=_cut(_marked(ops, words), limit),
                     old=_cut(_marked([o for o in ops if o.tag != "insert"], words), limit),
                     new=_cut(_marked([o for o in ops if o.tag != "delete"], words), limit))
    flags = {(str(cat), str(d)) for c in clauses if not c.get("cosmetic") for cat, d in _categories(c).items()}
    view.flags = [Flag(c, d) for c, d in sorted(flags)]
    view.summaries = list(dict.fromkeys(str(c["summary"]) for c in clauses if c.get("summary")))
    view.severity = max((str(c.get("severity") or "") for c in clauses), key=_rank, default="")
    view.section = next((str(c["section"]) for c in clauses if c.get("section")), "")
    view.cosmetic = whole_cosmetic or bool(clauses) and all(c.get("cosmetic") for c in clauses)
    if block.kind == "move":
        view.note = f"moved from paragraph {(block.old_index or 0) + 1} to {(block.new_index or 0) + 1}"
    return view


def _rank(severity: str) -> int:
    return {"low": 1, "medium": 2, "high": 3}.get(severity, 0)


def _categories(clause: dict[str, Any]) -> dict[str, str]:
    cats = clause.get("categories")
    if isinstance(cats, dict):
        return {str(k): str(v) for k, v in cats.items()}
    return {str(c): "neutral" for c in cats} if isinstance(cats, list) else {}


def _evidence_pattern(clauses: Iterable[dict[str, Any]]) -> re.Pattern[str] | None:
    words: set[str] = set()
    for clause in clauses:
        evidence = clause.get("evidence")
        if isinstance(evidence, dict) and not clause.get("cosmetic"):
            for triggers in evidence.values():
                if isinstance(triggers, list):
                    words.update(str(t) for t in triggers if str(t).strip())
    if not words:
        return None
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _marked(ops: Iterable[WordOp], pattern: re.Pattern[str] | None) -> list[Segment]:
    """Segments of the word ops, with evidence words split out and marked."""
    out: list[Segment] = []
    for op in ops:
        if pattern is None:
            out.append(Segment(op.tag, op.text))
            continue
        pos = 0
        for m in pattern.finditer(op.text):
            if m.start() > pos:
                out.append(Segment(op.tag, op.text[pos:m.start()]))
            out.append(Segment(op.tag, m.group(), mark=True))
            pos = m.end()
        if pos < len(op.text):
            out.append(Segment(op.tag, op.text[pos:]))
    return out


def _cut(segments: list[Segment], limit: int) -> list[Segment]:
    """At most `limit` characters, then one "cut" segment saying how many were left out."""
    out: list[Segment] = []
    used = 0
    for i, seg in enumerate(segments):
        if used + len(seg.text) > limit:
            out.append(Segment(seg.tag, seg.text[:max(limit - used, 0)], seg.mark))
            rest = len(seg.text) - max(limit - used, 0) + sum(len(s.text) for s in segments[i + 1:])
            out.append(Segment("cut", f"{rest:,}"))
            return out
        out.append(seg)
        used += len(seg.text)
    return out


_TAGS = {"insert": "ins", "delete": "del"}


def to_html(segments: Sequence[Segment]) -> Markup:
    """Segments as HTML, every text escaped (a Jinja2 filter: a macro per word was most of the page's time)."""
    out: list[str] = []
    for s in segments:
        if s.tag == "cut":
            out.append(f'<span class="cut">[… {escape(s.text)} more characters not shown: see the API '
                       "or <code>tos-watch diff</code>]</span>")
            continue
        text = f"<mark>{escape(s.text)}</mark>" if s.mark else str(escape(s.text))
        tag = _TAGS.get(s.tag)
        out.append(f"<{tag}>{text}</{tag}>" if tag else text)
    return Markup("".join(out))
