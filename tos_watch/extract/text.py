"""Text decoding and Markdown normalisation: the two ends of extraction, shared by every format.

Normalisation decisions (see `normalise_markdown`): NFC, not NFKC, because
NFKC rewrites meaningful characters ("m²" -> "m2", "ﬁ" -> "fi"); only the
compatibility *spaces* (nbsp, thin, ideographic...) become ASCII spaces.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

# ---------------------------------------------------------------- decoding

_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:+-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta[^>]{0,512}?charset\s*=\s*[\"']?\s*([\w.:+-]+)", re.IGNORECASE)
# Browsers (WHATWG Encoding) read these labels as windows-1252, which is a superset.
_LATIN1_LABELS = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii", "cp819"}
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _try_decode(content: bytes, label: str) -> str | None:
    """Decode strictly with `label`; None when the label is unknown or the bytes disagree."""
    label = label.strip().lower()
    candidates = ("cp1252", "latin-1") if label in _LATIN1_LABELS else (label,)
    for encoding in candidates:
        try:
            return content.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return None


def _declared_charsets(content: bytes, content_type: str | None) -> Iterator[str]:
    """Charsets the server and the page claim, most authoritative first."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            yield encoding
    if content_type and (header := _HEADER_CHARSET.search(content_type)):
        yield header.group(1)
    if meta := _META_CHARSET.search(content[:2048]):
        yield meta.group(1).decode("ascii", "replace")


def decode(content: bytes, content_type: str | None) -> str:
    """Bytes -> text: header charset, then <meta>, then UTF-8, then detection. Never raises.

    A declared charset the bytes contradict (a header saying utf-8 over cp1252
    bytes) is skipped rather than trusted, so a lying server costs no mojibake.
    """
    for label in _declared_charsets(content, content_type):
        if (text := _try_decode(content, label)) is not None:
            return text
    if (text := _try_decode(content, "utf-8")) is not None:
        return text
    import charset_normalizer  # 2.5 MB and most pages declare their charset: loaded on the first that does not

    best = charset_normalizer.from_bytes(content[:65536]).best()
    if best is not None and (text := _try_decode(content, best.encoding)) is not None:
        return text
    if (text := _try_decode(content, "cp1252")) is not None:
        return text
    return content.decode("utf-8", errors="replace")


# ---------------------------------------------------------------- normalisation

# Regular expressions, not str.translate: translate with a dict is ten times slower.
_SPACES = re.compile("[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Invisible characters (zero-width space, word joiner, BOM, soft hyphen) and C0
# controls only ever add noise to a diff. ZWJ/ZWNJ stay: they carry meaning in
# Persian, Indic scripts and emoji sequences.
_INVISIBLE = re.compile("[\u200b\u2060\ufeff\u00ad\u180e\x00-\x08\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile("[\r\v\f\x85\u2028\u2029]")  # after "\r\n" -> "\n" (str.replace is faster)
_ANY_ODD = re.compile(f"{_SPACES.pattern}|{_INVISIBLE.pattern}|{_LINE_BREAKS.pattern}")
_SETEXT = re.compile(r"^(=+|-+)$")
_BLOCK_START = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|#|\||>)")
_THEMATIC = re.compile(r"^ {0,3}([-*_])(?: *\1){2,}$")
# By the time these run, the only whitespace inside a line is " ".
_TAB_INDENT = re.compile(r"^[ \t]*\t[ \t]*", re.MULTILINE)
# A run of two or more spaces after a non-space; written to start with a literal " ",
# which the regex engine finds fast (a leading lookbehind is tried at every position).
_INNER_SPACES = re.compile(r" (?<=[^\n ] ) +")
_BULLET = re.compile(r"^( *)[*+]( +)(?=\S)")
_ATX_CLOSE = re.compile(r"^(#{1,6} .*?) +#+$")
_MARKER_STARTS = frozenset(" *+#")


def _marked_line(line: str) -> str:
    """"*"/"+" bullets -> "-" ("* * *" is a rule, not a bullet); no closing "#"s on a heading."""
    if _THEMATIC.match(line):
        return line
    return _ATX_CLOSE.sub(r"\1", _BULLET.sub(r"\1-\2", line))


def _normalise_lines(text: str, odd_spaces: bool = True) -> list[str]:
    """Leading tabs -> four spaces (list nesting); spaces canonical; markers canonical.

    Whole-text regexes first, then a per-line pass only for lines that can hold a marker:
    a regex per line on every line was most of the cost of normalising.
    """
    if "\t" in text:
        text = _TAB_INDENT.sub(lambda m: m.group().replace("\t", "    "), text)
    if odd_spaces:  # tabs and Unicode spaces -> " ", after the leading tabs became indentation
        text = _SPACES.sub(" ", text)
    if "  " in text:  # a substring test is far cheaper than the regex, and many pages have no runs
        text = _INNER_SPACES.sub(" ", text)
    lines = text.split("\n")
    return [_marked_line(line.rstrip(" ")) if line[:1] in _MARKER_STARTS else line.rstrip(" ") for line in lines]


def _canonical_blocks(lines: list[str]) -> list[str]:
    """Setext headings -> ATX "#"; thematic breaks -> "---" with a blank line before it."""
    out: list[str] = []
    for line in lines:
        if line[:1] not in _BLOCK_MARKS:  # the common case: an ordinary line
            out.append(line)
            continue
        prev = out[-1] if out else ""
        if _SETEXT.match(line) and prev.strip() and not _BLOCK_START.match(prev):
            out[-1] = ("# " if line[0] == "=" else "## ") + prev.strip()
        elif _THEMATIC.match(line):
            out.extend(["", "---", ""])
        else:
            out.append(line)
    return out


_BLOCK_MARKS = frozenset("=-*_ ")


def _collapse_blank_runs(lines: Iterable[str]) -> list[str]:
    """At most one blank line in a row, none at either end."""
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return out


def normalise_markdown(text: str) -> str:
    """Canonical Markdown, so that only a real change of wording changes the bytes.

    NFC; compatibility spaces -> " "; zero-width and control characters dropped;
    every line break -> "\\n"; trailing spaces stripped, inner runs collapsed;
    "*"/"+" bullets -> "-"; setext headings -> ATX; one blank line at most
    between blocks; exactly one final newline ("" for a text with no content).
    Idempotent.
    """
    text = unicodedata.normalize("NFC", text)
    odd = _ANY_ODD.search(text) is not None  # most extracted pages hold none: one scan instead of three
    if odd:
        text = _LINE_BREAKS.sub("\n", _INVISIBLE.sub("", text).replace("\r\n", "\n"))
    lines = _normalise_lines(text, odd_spaces=odd)
    lines = _collapse_blank_runs(_canonical_blocks(lines))
    return "\n".join(lines) + "\n" if lines else ""


def combine(parts: list[str]) -> str:
    """Join the extracted sources of one document, a blank line between them."""
    return normalise_markdown("\n\n".join(part for part in parts if part.strip()))

