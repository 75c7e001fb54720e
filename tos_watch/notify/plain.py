"""Clause text as a reader sees it: the Markdown that extraction stores, reduced to plain text. Pure.

Versions are stored as Markdown, so a quoted clause would otherwise show `**Dailymotion**`,
`[our partners](https://...)` or `| Data | Purpose |`. Every notification format (e-mail
HTML and text, alerts, the Atom feed) quotes the *text*: emphasis dropped, a link reduced to
its words (its target never shown, so a `javascript:` link cannot reach a reader), images to
their alt text, raw HTML tags dropped (the words between them kept), table rows to cells
joined by " · ". HTML parts then escape this text like any other (Jinja2 autoescape), so
page text never becomes markup.
Parsing is markdown-it-py's (CommonMark, already installed with rich), not regular expressions.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

_TABLE_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_TABLE_RULE = re.compile(r"^[\s|:\-]+$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_SPACES = re.compile(r"[ \t]+")
_TAG = re.compile(r"<[^>]*>")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True})  # raw HTML is parsed so that it can be dropped
    md.validateLink = lambda url: True  # type: ignore[method-assign]  # parse every link, even javascript:, so its target is dropped
    return md


def _table_rows(markdown: str) -> str:
    """`| a | b |` lines as `a · b`; separator rows (`|---|---|`) dropped."""
    lines = []
    for line in markdown.splitlines():
        row = _TABLE_ROW.match(line)
        if row is None:
            lines.append(line)
        elif not _TABLE_RULE.match(line):
            cells = [c.strip() for c in _CELL_SPLIT.split(row.group(1))]
            lines.append(" · ".join(c for c in cells if c))
    return "\n".join(lines)


def _inline_text(token: Token) -> str:
    out = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            out.append(" ")
        elif child.type == "image":
            out.append(child.content or "")  # its alt text; the image address is never shown
    return "".join(out)


def markdown_to_text(markdown: str) -> str:
    """The words of a Markdown fragment, one line per block, no markup left."""
    if not markdown:
        return ""
    blocks = [_inline_text(t) if t.type == "inline" else html.unescape(_TAG.sub(" ", t.content))
              for t in _parser().parse(_table_rows(markdown)) if t.type in ("inline", "html_block")]
    if not blocks:  # a fragment that is only markup the parser dropped (e.g. a rule)
        return ""
    text = " ".join(_SPACES.sub(" ", b).strip() for b in blocks if b.strip())
    return text.replace("\\|", "|")
