"""Split a normalised Markdown version into sections, blocks and sentences.

A clause change is only readable with its heading, so every block carries the
heading it sits under. Blocks are paragraphs, list items and table rows; the
sentence is the unit later aligned, because sentences survive re-wrapping,
paragraph splits and merges, while paragraphs do not.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s*(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_BOLD_LINE = re.compile(r"^\s*(\*\*|__)([^*_]{2,120})(\*\*|__)\s*:?\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[*+\-·•]|\d{1,3}[.)])\s+")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_MARKS = frozenset("*-_|:#=+·•")  # first characters of rules, headings, tables and list items
_HEADING_MARKS = re.compile(r"[*_`#\\]+")
_HRULE = re.compile(r"^\s*([*\-_]\s*){3,}$")
# Split after . ! ? ; when the next sentence starts like one; abbreviations are glued back below.
_SENT_SPLIT = re.compile(r"(?<=[.!?;])\s+(?=[\"“'(\[*_]*[A-Z0-9])")
_ABBREV = re.compile(r"(?:\b(?:e\.g|i\.e|etc|inc|ltd|co|corp|no|vs|u\.s|u\.k|mr|ms|dr|st|art|sec)\.|\b[A-Z]\.)$",
                     re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    """A paragraph, list item or table row, with the heading it sits under."""

    index: int
    section: str
    text: str
    kind: str  # "paragraph" | "heading" | "table" | "list"


@dataclass(frozen=True)
class Sentence:
    """One sentence of a block; `block` indexes into the version's blocks."""

    block: int
    section: str
    text: str


def _strip_heading_marks(text: str) -> str:
    """Heading text without Markdown emphasis, for display as context."""
    return _HEADING_MARKS.sub("", text).strip()


def _line_kind(line: str) -> str:
    """What a Markdown line is: "blank", "text", "rule", "table", "heading", "setext" or "list".

    The first visible character decides most lines without a regex: running text
    is the bulk of every document.
    """
    mark = line.lstrip()[:1]
    if not mark:
        return "blank"
    if mark not in _MARKS and not mark.isdigit():
        return "text"
    if mark == "|":
        return "rule" if _TABLE_RULE.match(line) else "table"
    if mark == "#":
        return "heading" if _HEADING.match(line) else "text"
    # Each pattern is tried only where the mark can start it ("**Bold**" lines are text, and common).
    if (mark in "*-_" and _HRULE.match(line)) or (mark in ":-" and _TABLE_RULE.match(line)):
        return "rule"
    if mark in "=-" and _SETEXT.match(line):
        return "setext"
    return "list" if (mark in "*+-·•" or mark.isdigit()) and _LIST_ITEM.match(line) else "text"


def _joined(lines: list[str]) -> str:
    """The lines of a paragraph as one line."""
    return lines[0].strip() if len(lines) == 1 else " ".join(s.strip() for s in lines)


def _raw_blocks(markdown: str) -> list[tuple[str, str]]:
    """Group lines into (kind, text) blocks: blank lines, list items and table rows separate them."""
    blocks: list[tuple[str, str]] = []
    current: list[str] = []  # the lines of the paragraph being read
    for line in markdown.splitlines():
        # Blank lines and running text are most lines: sorted here, as `_line_kind` would, without a call.
        mark = line.lstrip()[:1]
        if not mark:
            if current:
                blocks.append(("paragraph", _joined(current)))
                current = []
            continue
        kind = "text" if mark not in _MARKS and not mark.isdigit() else _line_kind(line)
        if kind == "text" or (kind == "setext" and not current):
            current.append(line)
            continue
        if kind == "setext":  # the underline makes the lines read so far a heading
            blocks.append(("heading", _joined(current)))
        elif current:
            blocks.append(("paragraph", _joined(current)))
        current = []
        if kind == "heading":
            blocks.append(("heading", _HEADING.match(line).group(2)))  # type: ignore[union-attr]
        elif kind in ("table", "list"):  # a table row or list item is a block of its own
            blocks.append((kind, line.strip()))
    if current:
        blocks.append(("paragraph", _joined(current)))
    return blocks


class Layout:
    """The blocks of one version, each built on demand with its kind and nearest heading.

    Why: aligning two versions compares the text of every block but reads the
    heading of changed blocks only, and most blocks of a changed page are unchanged.
    """

    def __init__(self, markdown: str) -> None:
        raw = _raw_blocks(markdown)
        self.texts = [text for _, text in raw]
        # A paragraph starts with a visible character, so only "**" or "__" can start a bold line.
        self.kinds = ["heading" if kind == "paragraph" and text[:2] in ("**", "__") and _BOLD_LINE.match(text)
                      else kind for kind, text in raw]
        self._headings = [i for i, kind in enumerate(self.kinds) if kind == "heading"]

    def __len__(self) -> int:
        return len(self.texts)

    def section(self, index: int) -> str:
        """The heading a block sits under (a heading sits under itself), for display as context."""
        at = bisect.bisect_right(self._headings, index) - 1
        return _strip_heading_marks(self.texts[self._headings[at]])[:120] if at >= 0 else ""

    def block(self, index: int) -> Block:
        return Block(index, self.section(index), self.texts[index], self.kinds[index])


def blocks(markdown: str) -> list[Block]:
    """Blocks of a version in order, each tagged with its nearest heading."""
    layout = Layout(markdown)
    return [layout.block(i) for i in range(len(layout))]


def split_sentences(text: str) -> list[str]:
    """Sentences of a block; conservative, since a missed split only makes a clause longer."""
    parts = _SENT_SPLIT.split(text.strip())
    merged: list[str] = []
    for part in parts:
        if merged and _ABBREV.search(merged[-1], max(0, len(merged[-1]) - 10)):  # the tail decides
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return [p for p in merged if p.strip()]


def block_sentences(block: Block) -> list[Sentence]:
    """Sentences of one block; table rows and headings stay whole."""
    pieces = [block.text] if block.kind in ("heading", "table") else split_sentences(block.text)
    return [Sentence(block.index, block.section, p) for p in pieces]


def sentences(markdown: str) -> tuple[list[Block], list[Sentence]]:
    """Blocks of a version and all their sentences."""
    bl = blocks(markdown)
    return bl, [s for b in bl for s in block_sentences(b)]
