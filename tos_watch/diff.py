"""What changed between two versions, paragraph by paragraph and word by word. Pure.

Paragraphs are aligned with difflib; a deleted and an inserted paragraph that
resemble each other in the same place become one "replace" with a word diff;
a paragraph that left one place and reappears (near-)identically elsewhere
becomes one "move". Every old paragraph appears in exactly one block's `old`
side and every new paragraph in exactly one block's `new` side, so either
version can be rebuilt from the blocks (the tests check this on real history).

Renderers: terminal (ANSI or plain markers), unified text, JSON, standalone HTML.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

__all__ = [
    "Block",
    "WordOp",
    "diff_texts",
    "diff_words",
    "render_html",
    "render_json",
    "render_terminal",
    "render_unified",
    "split_paragraphs",
    "stats",
    "tokenise",
]

REPLACE_RATIO = 0.5  # paragraphs at least this similar (by words) are one edited paragraph
MOVE_RATIO = 0.85  # a moved paragraph may change this little on the way
_SEARCH_WINDOW = 40  # candidates looked at per paragraph, bounding the cost of a rewrite
_FUZZY_MOVE_BUDGET = 40_000  # pairs compared when looking for edited moves


@dataclass(frozen=True)
class WordOp:
    """A run of tokens that is equal, inserted or deleted."""

    tag: str  # "equal" | "insert" | "delete"
    text: str


@dataclass(frozen=True)
class Block:
    """One paragraph-level piece of a diff; indices are 0-based paragraph positions."""

    kind: str  # "equal" | "insert" | "delete" | "replace" | "move"
    old: str | None
    new: str | None
    old_index: int | None
    new_index: int | None
    words: tuple[WordOp, ...] = ()  # for "replace", and for a "move" whose text changed


# ---------------------------------------------------------------- paragraphs and tokens

_LIST_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s")


def split_paragraphs(text: str) -> list[str]:
    """Markdown blocks separated by blank lines; each top-level list item is its own block.

    A list item per block because policies grow by items ("we also collect...")
    and one added item should read as one insertion, not a rewritten list. A
    table stays one block: its header gives the rows their meaning.
    """
    paragraphs: list[str] = []
    for chunk in re.split(r"\n[ \t]*\n", text.strip("\n")):
        current: list[str] = []
        for line in chunk.split("\n"):
            if _LIST_ITEM.match(line) and current:
                paragraphs.append("\n".join(current))
                current = []
            current.append(line.rstrip())
        if any(line.strip() for line in current):
            paragraphs.append("\n".join(current))
    return paragraphs


# A word keeps inner apostrophes, dots, commas, hyphens ("don't", "30,000",
# "e-mail", "1.5") so numbers and contractions change as one token; other
# punctuation stands alone so "days." -> "days," is a one-character edit.
_TOKEN = re.compile(r"\s*(?:\w+(?:['’.,:/@-]\w+)*|[^\w\s])", re.UNICODE)


def tokenise(text: str) -> list[str]:
    """Tokens that each carry their leading whitespace, so joining them rebuilds the text."""
    tokens = _TOKEN.findall(text)
    tail = text[sum(map(len, tokens)):]
    if tail:
        tokens.append(tail)
    return tokens


def _keys(tokens: Sequence[str]) -> list[str]:
    return [t.strip() for t in tokens]


def diff_words(old: str, new: str) -> tuple[WordOp, ...]:
    """Word-level diff; equal runs take the new text's spacing. Adjacent same-tag runs merged."""
    a, b = tokenise(old), tokenise(new)
    ops: list[WordOp] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, _keys(a), _keys(b), autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(WordOp("equal", "".join(b[j1:j2])))
            continue
        if i2 > i1:
            ops.append(WordOp("delete", "".join(a[i1:i2])))
        if j2 > j1:
            ops.append(WordOp("insert", "".join(b[j1:j2])))
    return tuple(ops)


@lru_cache(maxsize=8192)
def _word_keys(text: str) -> tuple[str, ...]:
    """Tokens without their spacing; cached because pairing compares each paragraph many times."""
    return tuple(_keys(tokenise(text)))


def _similarity(a: str, b: str) -> float:
    """Word-level similarity in [0, 1], with cheap upper bounds tried first."""
    sm = SequenceMatcher(None, _word_keys(a), _word_keys(b), autojunk=False)
    if sm.real_quick_ratio() < REPLACE_RATIO or sm.quick_ratio() < REPLACE_RATIO:
        return 0.0
    return sm.ratio()


# ---------------------------------------------------------------- alignment


@dataclass
class _Alignment:
    """Which old paragraph went where: moves (new -> old) and in-place replacements."""

    moves: dict[int, int]
    pairs: dict[int, list[tuple[int, int]]]  # region number -> [(old, new)] in order


def _regions(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    return list(SequenceMatcher(None, a, b, autojunk=False).get_opcodes())


def _exact_moves(a: list[str], b: list[str], changed: list[tuple[int, int, int, int]]) -> dict[int, int]:
    """Inserted paragraphs whose exact text was deleted elsewhere: new index -> old index."""
    deleted: dict[str, list[int]] = defaultdict(list)
    for i1, i2, _, _ in changed:
        for i in range(i1, i2):
            deleted[a[i]].append(i)
    moves: dict[int, int] = {}
    for _, _, j1, j2 in changed:
        for j in range(j1, j2):
            if deleted.get(b[j]):
                moves[j] = deleted[b[j]].pop(0)
    return moves


def _pair_in_place(a: list[str], b: list[str], olds: list[int], news: list[int]) -> list[tuple[int, int]]:
    """Pair similar deleted/inserted paragraphs of one region, keeping their order."""
    pairs: list[tuple[int, int]] = []
    start = 0
    for i in olds:
        best, best_k = REPLACE_RATIO, -1
        for k in range(start, min(len(news), start + _SEARCH_WINDOW)):
            ratio = _similarity(a[i], b[news[k]])
            if ratio >= best:
                best, best_k = ratio, k
        if best_k >= 0:
            pairs.append((i, news[best_k]))
            start = best_k + 1
    return pairs


def _fuzzy_moves(a: list[str], b: list[str], olds: list[int], news: list[int]) -> dict[int, int]:
    """Leftover paragraphs that reappear nearly unchanged elsewhere (bounded work)."""
    if len(olds) * len(news) > _FUZZY_MOVE_BUDGET:
        return {}
    moves: dict[int, int] = {}
    free = list(olds)
    for j in news:
        scored = [(_similarity(a[i], b[j]), i) for i in free]
        ratio, i = max(scored, default=(0.0, -1))
        if ratio >= MOVE_RATIO:
            moves[j] = i
            free.remove(i)
    return moves


def _align(a: list[str], b: list[str], opcodes: list[tuple[str, int, int, int, int]]) -> _Alignment:
    """Moves first (exact), then in-place replacements, then edited moves among the rest."""
    changed = [(i1, i2, j1, j2) for tag, i1, i2, j1, j2 in opcodes if tag != "equal"]
    moves = _exact_moves(a, b, changed)
    moved_old = set(moves.values())
    pairs: dict[int, list[tuple[int, int]]] = {}
    left_old: list[int] = []
    left_new: list[int] = []
    for n, (i1, i2, j1, j2) in enumerate(changed):
        olds = [i for i in range(i1, i2) if i not in moved_old]
        news = [j for j in range(j1, j2) if j not in moves]
        pairs[n] = _pair_in_place(a, b, olds, news) if olds and news else []
        paired_old = {i for i, _ in pairs[n]}
        paired_new = {j for _, j in pairs[n]}
        left_old += [i for i in olds if i not in paired_old]
        left_new += [j for j in news if j not in paired_new]
    if left_old and left_new:
        moves.update(_fuzzy_moves(a, b, left_old, left_new))
    return _Alignment(moves, pairs)


def _region_blocks(a: list[str], b: list[str], region: tuple[int, int, int, int],
                   pairs: list[tuple[int, int]], moves: dict[int, int]) -> Iterator[Block]:
    """Blocks of one changed region: deletions, insertions and moves-in between the replace pairs."""
    i1, i2, j1, j2 = region
    moved_old = set(moves.values())
    oi, nj = i1, j1
    for pi, pj in [*pairs, (i2, j2)]:
        for i in range(oi, pi):
            if i not in moved_old:
                yield Block("delete", a[i], None, i, None)
        for j in range(nj, pj):
            if j in moves:
                i = moves[j]
                words = diff_words(a[i], b[j]) if a[i] != b[j] else ()
                yield Block("move", a[i], b[j], i, j, words)
            else:
                yield Block("insert", None, b[j], None, j)
        if pi < i2:
            yield Block("replace", a[pi], b[pj], pi, pj, diff_words(a[pi], b[pj]))
        oi, nj = pi + 1, pj + 1


def diff_texts(old: str, new: str) -> list[Block]:
    """Paragraph blocks in reading order of the new text (deletions where they were)."""
    a, b = split_paragraphs(old), split_paragraphs(new)
    opcodes = _regions(a, b)
    alignment = _align(a, b, opcodes)
    blocks: list[Block] = []
    region = 0
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == "equal":
            blocks += [Block("equal", a[i], b[j], i, j) for i, j in zip(range(i1, i2), range(j1, j2))]
            continue
        blocks += _region_blocks(a, b, (i1, i2, j1, j2), alignment.pairs[region], alignment.moves)
        region += 1
    return blocks


def _count_words(text: str) -> int:
    return sum(1 for token in tokenise(text) if any(c.isalnum() for c in token))


def stats(blocks: Sequence[Block]) -> tuple[int, int]:
    """(words added, words removed). A moved paragraph counts only the words edited on the way."""
    added = removed = 0
    for block in blocks:
        if block.kind == "insert" and block.new is not None:
            added += _count_words(block.new)
        elif block.kind == "delete" and block.old is not None:
            removed += _count_words(block.old)
        for op in block.words:
            if op.tag == "insert":
                added += _count_words(op.text)
            elif op.tag == "delete":
                removed += _count_words(op.text)
    return added, removed


# ---------------------------------------------------------------- rendering


def _visible(blocks: Sequence[Block], context: int) -> Iterator[Block | int]:
    """Changed blocks and `context` equal blocks around each; an int stands for a skipped run."""
    changed = [k for k, block in enumerate(blocks) if block.kind != "equal"]
    shown = {k for c in changed for k in range(c - context, c + context + 1)}
    skipped = 0
    for k, block in enumerate(blocks):
        if k in shown:
            if skipped:
                yield skipped
                skipped = 0
            yield block
        else:
            skipped += 1
    if skipped:
        yield skipped


def _skipped_label(count: int) -> str:
    return f"… {count} unchanged paragraph{'s' if count != 1 else ''} …"


def _move_label(block: Block) -> str:
    """Paragraph numbers are 1-based for readers: "moved from ¶12 to ¶3"."""
    assert block.old_index is not None and block.new_index is not None
    return f"moved from ¶{block.old_index + 1} to ¶{block.new_index + 1}"


_RED, _GREEN, _CYAN, _DIM, _RESET = "\x1b[31;9m", "\x1b[32m", "\x1b[1;36m", "\x1b[2m", "\x1b[0m"


def _paint(text: str, code: str, color: bool, plain: tuple[str, str]) -> str:
    """Colour each line separately (pagers reset at line ends), or wrap in plain markers."""
    if not color:
        return f"{plain[0]}{text}{plain[1]}"
    return "\n".join(f"{code}{line}{_RESET}" if line else line for line in text.split("\n"))


def _terminal_words(words: Sequence[WordOp], color: bool) -> str:
    parts = []
    for op in words:
        if op.tag == "delete":
            parts.append(_paint(op.text, _RED, color, ("[-", "-]")))
        elif op.tag == "insert":
            parts.append(_paint(op.text, _GREEN, color, ("{+", "+}")))
        else:
            parts.append(op.text)
    return "".join(parts)


def _terminal_block(block: Block, color: bool) -> str:
    if block.kind == "equal":
        return _paint(block.new or "", _DIM, color, ("", ""))
    if block.kind == "insert":
        return _paint(block.new or "", _GREEN, color, ("{+", "+}"))
    if block.kind == "delete":
        return _paint(block.old or "", _RED, color, ("[-", "-]"))
    body = _terminal_words(block.words, color) if block.words else block.new or ""
    if block.kind == "move":
        return _paint(f"↕ {_move_label(block)}", _CYAN, color, ("", "")) + "\n" + body
    return body


def render_terminal(blocks: Sequence[Block], *, context: int = 1, color: bool = True) -> str:
    """Human-readable diff: ANSI red strikethrough/green, or [-removed-] {+added+} markers."""
    if all(block.kind == "equal" for block in blocks):
        return "No changes.\n"
    out = []
    for item in _visible(blocks, context):
        out.append(_paint(_skipped_label(item), _DIM, color, ("", "")) if isinstance(item, int)
                   else _terminal_block(item, color))
    return "\n\n".join(out) + "\n"


def _prefixed(prefix: str, text: str | None) -> list[str]:
    return [prefix + line for line in (text or "").split("\n")]


def _unified_lines(block: Block) -> list[str]:
    if block.kind == "equal":
        return _prefixed(" ", block.new)
    if block.kind == "move":
        body = _prefixed(" ", block.new) if block.old == block.new else \
            _prefixed("-", block.old) + _prefixed("+", block.new)
        return [f"@@ {_move_label(block)} @@", *body]
    lines = _prefixed("-", block.old) if block.old is not None else []
    return lines + (_prefixed("+", block.new) if block.new is not None else [])


def _hunk_header(hunk: list[Block]) -> str:
    """@@ -¶first,count +¶first,count @@ over the hunk's paragraphs (1-based, moves excluded)."""
    olds = [b.old_index for b in hunk if b.old_index is not None and b.kind != "move"]
    news = [b.new_index for b in hunk if b.new_index is not None and b.kind != "move"]
    old = f"-¶{olds[0] + 1},{len(olds)}" if olds else "-¶0,0"
    new = f"+¶{news[0] + 1},{len(news)}" if news else "+¶0,0"
    return f"@@ {old} {new} @@"


def render_unified(blocks: Sequence[Block], *, old_label: str, new_label: str, context: int = 1) -> str:
    """Unified-diff style text, one line per Markdown line, hunks of paragraphs."""
    if all(block.kind == "equal" for block in blocks):
        return ""
    hunks: list[list[Block]] = [[]]
    for item in _visible(blocks, context):
        if isinstance(item, int):
            hunks.append([])
        else:
            hunks[-1].append(item)
    out = [f"--- {old_label}", f"+++ {new_label}"]
    for hunk in (h for h in hunks if h):
        out.append(_hunk_header(hunk))
        for block in hunk:
            out += _unified_lines(block)
    return "\n".join(out) + "\n"


def render_json(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Changed blocks only, as plain JSON-able dicts."""
    return [
        {"kind": b.kind, "old": b.old, "new": b.new, "old_index": b.old_index, "new_index": b.new_index,
         "words": [[op.tag, op.text] for op in b.words]}
        for b in blocks if b.kind != "equal"
    ]


_CSS = """body{font:15px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#222}
.para{white-space:pre-wrap;margin:0 0 1rem;padding:.25rem .5rem;border-left:3px solid transparent}
.equal{color:#666}.insert{border-color:#2a7}.delete{border-color:#c33}.replace{border-color:#d90}
.move{border-color:#36c}.label{font-size:.8rem;color:#36c;font-weight:600}.skip{color:#999;font-style:italic}
ins{background:#dfd;text-decoration:none}del{background:#fdd;color:#900}.summary{font-weight:600}"""


def _html_words(words: Sequence[WordOp]) -> str:
    tags = {"insert": "ins", "delete": "del"}
    return "".join(f"<{tags[op.tag]}>{html.escape(op.text)}</{tags[op.tag]}>" if op.tag in tags
                   else html.escape(op.text) for op in words)


def _html_block(block: Block) -> str:
    if block.kind == "insert":
        body = f"<ins>{html.escape(block.new or '')}</ins>"
    elif block.kind == "delete":
        body = f"<del>{html.escape(block.old or '')}</del>"
    else:
        body = _html_words(block.words) if block.words else html.escape(block.new or "")
    if block.kind == "move":
        body = f'<span class="label">{html.escape(_move_label(block))}</span>\n{body}'
    return f'<div class="para {block.kind}">{body}</div>'


def _summary(blocks: Sequence[Block]) -> str:
    added, removed = stats(blocks)
    moved = sum(1 for b in blocks if b.kind == "move")
    return f"{added} words added, {removed} words removed, {moved} paragraph{'s' if moved != 1 else ''} moved"


def render_html(blocks: Sequence[Block], *, title: str, old_label: str, new_label: str,
                context: int = 1, notes: Sequence[str] = ()) -> str:
    """A standalone page (inline CSS, no scripts or assets); every piece of text is escaped.

    `notes`: the verdict and why (flags, trigger words, clauses), listed under the labels.
    """
    items = [f'<p class="skip">{html.escape(_skipped_label(i))}</p>' if isinstance(i, int) else _html_block(i)
             for i in _visible(blocks, context)] if any(b.kind != "equal" for b in blocks) else \
        ['<p class="skip">No changes.</p>']
    e = html.escape
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>", f'<p class="labels"><del>{e(old_label)}</del> → <ins>{e(new_label)}</ins></p>',
        *([f'<ul class="notes">{"".join(f"<li>{e(n)}</li>" for n in notes)}</ul>'] if notes else []),
        f'<p class="summary">{e(_summary(blocks))}</p>', *items, "</body></html>", ""])
