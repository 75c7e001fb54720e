"""Bytes of one fetched page -> normalised Markdown. Pure: no I/O, no clock.

    decode ─► parse (BeautifulSoup + lxml) ─► remove ─► select ─► prune noise
           ─► rewrite links ─► markdownify ─► normalise_markdown

Selection and removal use OTA's vocabulary: a CSS selector string or a
`RangeSelector` (content between two anchors). A `select` that matches nothing
raises `SelectorError`, so a redesigned page is a loud failure rather than a
silently empty version. A plain `remove` selector that matches nothing is
ignored (noise such as a cookie banner comes and goes), as OTA does; a range's
anchors must match in both `select` and `remove`.

Normalisation decisions (see `normalise_markdown`): NFC, not NFKC, because
NFKC rewrites meaningful characters ("m²" -> "m2", "ﬁ" -> "fi"); only the
compatibility *spaces* (nbsp, thin, ideographic...) become ASCII spaces.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import charset_normalizer
import soupsieve
from bs4 import BeautifulSoup, PageElement, Tag
from markdownify import MarkdownConverter

from tos_watch.errors import EmptyTextError, ExtractError, SelectorError
from tos_watch.models import RangeSelector, Selector, Source

__all__ = [
    "combine",
    "decode",
    "extract",
    "extract_pdf",
    "normalise_markdown",
    "validate_selector",
]

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
_LINE_BREAKS = re.compile(r"\r\n|[\r\v\f\x85\u2028\u2029]")
_SETEXT = re.compile(r"^(=+|-+)$")
_BLOCK_START = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|#|\||>)")
_THEMATIC = re.compile(r"^ {0,3}([-*_])(?: *\1){2,}$")
_BULLET = re.compile(r"^(\s*)[*+](\s+)(?=\S)")
_ATX_CLOSE = re.compile(r"^(#{1,6}\s.*?)\s+#+$")
_INNER_SPACES = re.compile(r"(?<=\S) {2,}")


def _expand_indent(line: str) -> str:
    """Leading tabs become four spaces (list nesting); other whitespace is collapsed later."""
    stripped = line.lstrip(" \t")
    indent = line[: len(line) - len(stripped)].replace("\t", "    ")
    return indent + stripped


def _normalise_line(line: str) -> str:
    """One line's markers and spacing in their canonical form."""
    line = _INNER_SPACES.sub(" ", _SPACES.sub(" ", line).rstrip())
    if _THEMATIC.match(line):  # "* * *" is a rule, not a bullet; _canonical_blocks rewrites it
        return line
    line = _BULLET.sub(r"\1-\2", line)
    return _ATX_CLOSE.sub(r"\1", line)


def _canonical_blocks(lines: list[str]) -> list[str]:
    """Setext headings -> ATX "#"; thematic breaks -> "---" with a blank line before it."""
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        if _SETEXT.match(line) and prev.strip() and not _BLOCK_START.match(prev):
            out[-1] = ("# " if line[0] == "=" else "## ") + prev.strip()
        elif _THEMATIC.match(line):
            out.extend(["", "---", ""])
        else:
            out.append(line)
    return out


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
    text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    lines = [_expand_indent(line) for line in _LINE_BREAKS.sub("\n", text).split("\n")]
    lines = _canonical_blocks([_normalise_line(line) for line in lines])
    lines = _collapse_blank_runs(lines)
    return "\n".join(lines) + "\n" if lines else ""


def combine(parts: list[str]) -> str:
    """Join the extracted sources of one document, a blank line between them."""
    return normalise_markdown("\n\n".join(part for part in parts if part.strip()))


# ---------------------------------------------------------------- selectors


def validate_selector(sel: Selector) -> str | None:
    """An error message for an invalid selector (CSS or range), None when it is usable."""
    if isinstance(sel, RangeSelector):
        starts = [s for s in (sel.start_before, sel.start_after) if s is not None]
        ends = [s for s in (sel.end_before, sel.end_after) if s is not None]
        if len(starts) != 1 or len(ends) != 1:
            return "a range selector needs exactly one of start_before/start_after and one of end_before/end_after"
        return validate_selector(starts[0]) or validate_selector(ends[0])
    if not sel.strip():
        return "empty CSS selector"
    try:
        soupsieve.compile(sel)
    except soupsieve.SelectorSyntaxError as exc:
        return f'invalid CSS selector "{sel}": {str(exc).splitlines()[0]}'
    return None


def _select_all(root: Tag, css: str) -> list[Tag]:
    """CSS matches in document order; a syntax error becomes an ExtractError naming the selector."""
    try:
        return list(root.select(css))
    except soupsieve.SelectorSyntaxError as exc:
        raise ExtractError(f'invalid CSS selector "{css}": {str(exc).splitlines()[0]}; '
                           "fix it in the watchlist") from exc


def _anchor(root: Tag, css: str | None, url: str) -> Tag | None:
    """The first element a range anchor names; SelectorError when it names none."""
    if css is None:
        return None
    matches = _select_all(root, css)
    if not matches:
        raise SelectorError(css, url=url)
    return matches[0]


# ---------------------------------------------------------------- range selectors


def _positions(root: Tag) -> dict[int, tuple[int, int]]:
    """Pre-order (start, end) of every node under root, keyed by id(); end = last descendant."""
    spans: dict[int, tuple[int, int]] = {}
    counter = 0
    stack: list[tuple[PageElement, bool]] = [(root, False)]
    starts: dict[int, int] = {}
    while stack:
        node, done = stack.pop()
        if done:
            spans[id(node)] = (starts[id(node)], counter - 1)
            continue
        starts[id(node)] = counter
        counter += 1
        stack.append((node, True))
        if isinstance(node, Tag):
            stack.extend((child, False) for child in reversed(node.contents))
    return spans


def _range_bounds(root: Tag, sel: RangeSelector, url: str) -> tuple[dict[int, tuple[int, int]], int, int]:
    """The range as [first, stop) in pre-order positions, OTA's before/after semantics."""
    spans = _positions(root)
    start_el = _anchor(root, sel.start_before or sel.start_after, url)
    end_el = _anchor(root, sel.end_before or sel.end_after, url)
    if start_el is None or end_el is None:
        raise ExtractError(f"range selector {sel} needs a start and an end anchor")
    first = spans[id(start_el)][0] if sel.start_before else spans[id(start_el)][1] + 1
    stop = spans[id(end_el)][0] if sel.end_before else spans[id(end_el)][1] + 1
    if first >= stop:
        raise ExtractError(f"range selector {sel} is empty: its end comes before its start; fix the selector")
    return spans, first, stop


def _clip(node: PageElement, spans: dict[int, tuple[int, int]], first: int, stop: int,
          soup: BeautifulSoup) -> PageElement | None:
    """A copy of the part of `node` inside [first, stop); partly covered tags are copied shallowly."""
    start, end = spans[id(node)]
    if end < first or start >= stop:
        return None
    if (start >= first and end < stop) or not isinstance(node, Tag):
        return node.__copy__()
    attrs = {k: " ".join(v) if isinstance(v, list) else str(v) for k, v in node.attrs.items()}
    shell = soup.new_tag(node.name, attrs=attrs)
    for child in node.contents:
        if (part := _clip(child, spans, first, stop, soup)) is not None:
            shell.append(part)
    return shell


def _select_range(soup: BeautifulSoup, sel: RangeSelector, url: str) -> Tag:
    """The content between the range's anchors, rebuilt as a detached fragment."""
    spans, first, stop = _range_bounds(soup, sel, url)
    fragment = soup.new_tag("div")
    for child in soup.contents:
        if (part := _clip(child, spans, first, stop, soup)) is not None:
            fragment.append(part)
    return fragment


def _remove_range(soup: BeautifulSoup, sel: RangeSelector, url: str) -> None:
    """Remove every node wholly inside the range; partly covered ancestors stay."""
    spans, first, stop = _range_bounds(soup, sel, url)
    doomed: list[PageElement] = []
    stack: list[PageElement] = list(soup.contents)
    while stack:
        node = stack.pop()
        start, end = spans[id(node)]
        if start >= first and end < stop:
            doomed.append(node)
        elif isinstance(node, Tag) and end >= first and start < stop:
            stack.extend(node.contents)
    for node in doomed:
        node.extract()


# ---------------------------------------------------------------- HTML -> Markdown

_NOISE_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "svg", "nav", "form",
                         "button", "select", "textarea", "input", "object", "embed", "canvas"})
# A header/footer is page chrome (ARIA banner/contentinfo) only outside sectioning content.
_SECTIONING = ["article", "aside", "main", "nav", "section"]
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_MAIN_CANDIDATES = ("main", "[role=main]", "article", "#content", ".content", "body")


def _is_noise(tag: Tag) -> bool:
    """Elements whose text is never part of a policy: code, chrome, controls, hidden nodes."""
    if tag.name in _NOISE_TAGS:
        return True
    attrs = tag.attrs
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    if "style" in attrs and _HIDDEN_STYLE.search(str(attrs["style"])):
        return True
    return tag.name in ("header", "footer") and tag.find_parent(_SECTIONING) is None


def _rewrite_link(tag: Tag, base_url: str, drop_params: frozenset[str]) -> None:
    """Absolute link URLs (as OTA stores them), minus tracking parameters the source names."""
    href = str(tag.get("href") or "").strip()
    if not href or href.lower().startswith(("javascript:", "data:")):
        tag.attrs.pop("href", None)
        return
    url = urljoin(base_url, href) if base_url else href
    if drop_params:
        url = _strip_query_params(url, drop_params)
    tag["href"] = url


def _strip_query_params(url: str, drop: frozenset[str]) -> str:
    """Drop the named query parameters, leaving the others byte for byte as they were."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [p for p in parts.query.split("&") if (parse_qsl(p, keep_blank_values=True) or [(p, "")])[0][0]
            not in drop]
    return urlunsplit(parts._replace(query="&".join(kept)))


def _prune(root: Tag, base_url: str, drop_params: frozenset[str]) -> None:
    """Drop noise under root (not root itself, which the user chose) and rewrite its links."""
    stack = [root]
    while stack:
        tag = stack.pop()
        for child in list(tag.children):
            if not isinstance(child, Tag):
                continue
            if _is_noise(child):
                child.extract()
                continue
            if child.name == "a":
                _rewrite_link(child, base_url, drop_params)
            stack.append(child)


def _main_content(soup: BeautifulSoup) -> Tag:
    """No selector configured: the first main-content container that holds text."""
    for css in _MAIN_CANDIDATES:
        found = soup.select_one(css)
        if found is not None and found.get_text(strip=True):
            return found
    return soup


def _selected(soup: BeautifulSoup, source: Source) -> list[Tag]:
    """The subtrees `source.select` names, in selector order, nested duplicates dropped."""
    if not source.select:
        return [_main_content(soup)]
    chosen: list[Tag] = []
    for sel in source.select:
        if isinstance(sel, RangeSelector):
            chosen.append(_select_range(soup, sel, source.url))
            continue
        matches = _select_all(soup, sel)
        if not matches:
            raise SelectorError(sel, url=source.url)
        chosen.extend(matches)
    ids = {id(tag) for tag in chosen}
    return [tag for tag in chosen if not any(id(parent) in ids for parent in tag.parents)]


def _remove(soup: BeautifulSoup, source: Source) -> None:
    """Apply `source.remove`; plain selectors may match nothing, range anchors may not."""
    for sel in source.remove:
        if isinstance(sel, RangeSelector):
            _remove_range(soup, sel, source.url)
        else:
            for tag in _select_all(soup, sel):
                tag.extract()


class _FastTag(Tag):
    """A Tag whose find_parent(name) walks parents directly.

    markdownify calls `find_parent("pre")` once per element; bs4's generic
    filter machinery made that a sixth of extraction time.
    """

    def find_parent(self, name: Any = None, attrs: Any = {}, **kwargs: Any) -> Any:  # noqa: B006
        if not isinstance(name, str) or attrs or kwargs:
            return super().find_parent(name, attrs, **kwargs)
        parent = self.parent
        while parent is not None and parent.name != name:
            parent = parent.parent
        return parent


class _Converter(MarkdownConverter):
    """markdownify with images reduced to their alt text: image URLs carry cache-busting noise."""

    def convert_img(self, el: Tag, text: str, parent_tags: set[str]) -> str:
        return str(el.attrs.get("alt") or "")


_CONVERTER = _Converter(heading_style="atx", bullets="-", autolinks=False, escape_misc=False)


def _html_to_markdown(html: str, source: Source) -> str:
    """Parse, cut the configured part out, drop noise and convert it to Markdown."""
    soup = BeautifulSoup(html, "lxml", element_classes={Tag: _FastTag})
    _remove(soup, source)
    roots = _selected(soup, source)
    drop = frozenset(source.remove_query_params)
    for root in roots:
        _prune(root, source.url, drop)
    return normalise_markdown("\n\n".join(_CONVERTER.convert_soup(root) for root in roots))


# ---------------------------------------------------------------- entry points

_HTML_TYPES = {"text/html", "application/xhtml+xml", "application/xml", "text/xml"}
_TEXT_TYPES = {"text/plain", "text/markdown", "text/x-markdown"}
_HTML_SNIFF = re.compile(r"<(?:!doctype|html|head|body|main|article|div|p|h[1-6])\b", re.IGNORECASE)


def _mime(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _is_pdf(content: bytes, content_type: str | None) -> bool:
    return _mime(content_type) == "application/pdf" or content.lstrip()[:5] == b"%PDF-"


def _looks_binary(content: bytes, content_type: str | None) -> bool:
    """NUL bytes in the first 4 KB mean binary, unless the page declares UTF-16/32."""
    wide = "utf-16" in (content_type or "").lower() or "utf-32" in (content_type or "").lower()
    return not wide and not content.startswith((b"\xff\xfe", b"\xfe\xff")) and b"\x00" in content[:4096]


def _is_junk(text: str) -> bool:
    """Text that decoded to mostly replacement or control characters is not a page."""
    sample = text[:8192]
    bad = sum(1 for c in sample if c == "\ufffd" or (ord(c) < 32 and c not in "\t\n\r\f"))
    return bool(sample) and bad / len(sample) > 0.05


def extract(content: bytes, content_type: str | None, source: Source) -> str:
    """The normalised Markdown text of one fetched page (HTML, plain text or PDF)."""
    if _is_pdf(content, content_type):
        return extract_pdf(content)
    where = f" at {source.url}" if source.url else ""
    if _looks_binary(content, content_type):
        raise ExtractError(f"page has no readable text{where} (binary content, {_mime(content_type) or 'no type'})")
    text = decode(content, content_type)
    if _is_junk(text):
        raise ExtractError(f"page has no readable text{where} (undecodable bytes)")
    mime = _mime(content_type)
    is_html = mime in _HTML_TYPES or (mime not in _TEXT_TYPES and _HTML_SNIFF.search(text[:4096]))
    result = _html_to_markdown(text, source) if is_html else normalise_markdown(text)
    if not result.strip():
        raise EmptyTextError(f"page has no readable text{where}; check the page or its selectors")
    return result


def extract_pdf(content: bytes) -> str:
    """Text of every page of a PDF, joined and normalised; a scanned PDF is an error."""
    from pypdf import PdfReader  # imported here: most checks never see a PDF
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(content))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise ExtractError(f"PDF could not be read ({exc}); the file may be damaged") from exc
    text = normalise_markdown("\n\n".join(pages))
    if not text.strip():
        raise ExtractError("PDF has no text layer (scanned image?); tos-watch cannot read text from images")
    return text
