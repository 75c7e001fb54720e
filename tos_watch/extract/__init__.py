"""Bytes of one fetched page -> normalised Markdown. Pure: no I/O, no clock.

    decode ─► parse (lxml) ─► remove ─► select (cssselect) ─► prune noise
           ─► rewrite links ─► html-to-markdown ─► normalise_markdown

Modules: `text` (decode, normalise_markdown, combine), `rules` (what is noise,
how links are rewritten), `lxml_html` (the fast path), `soup_html` (the
BeautifulSoup + soupsieve + markdownify fallback for selectors cssselect cannot
translate and pages past libxml2's nesting and size limits).

Selection and removal use OTA's vocabulary: a CSS selector string or a
`RangeSelector` (content between two anchors). A `select` that matches nothing
raises `SelectorError`, so a redesigned page is a loud failure rather than a
silently empty version. A plain `remove` selector that matches nothing is
ignored (noise such as a cookie banner comes and goes), as OTA does; a range's
anchors must match in both `select` and `remove`.
"""

from __future__ import annotations

import io
import re

from tos_watch.errors import EmptyTextError, ExtractError
from tos_watch.extract.lxml_html import NeedsSoup, extract_with_lxml
from tos_watch.extract.text import combine, decode, normalise_markdown
from tos_watch.models import RangeSelector, Selector, Source
from tos_watch.selectors import css_problem

__all__ = [
    "combine",
    "decode",
    "extract",
    "extract_pdf",
    "normalise_markdown",
    "validate_selector",
]


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
    problem = css_problem(sel)
    return f'invalid CSS selector "{sel}": {problem}' if problem else None


def _html_to_markdown(html: str, source: Source) -> str:
    """The lxml path, or the soup path for what the lxml path cannot honour exactly."""
    try:
        return extract_with_lxml(html, source)
    except NeedsSoup:
        from tos_watch.extract.soup_html import extract_with_soup  # BeautifulSoup: 50 ms to import, rarely needed

        return extract_with_soup(html, source)


# ---------------------------------------------------------------- entry points

_HTML_TYPES = {"text/html", "application/xhtml+xml", "application/xml", "text/xml"}
_TEXT_TYPES = {"text/plain", "text/markdown", "text/x-markdown"}
_HTML_SNIFF = re.compile(r"<(?:!doctype|html|head|body|main|article|div|p|h[1-6])\b", re.IGNORECASE)


# U+FFFD and the C0 controls other than tab, newline, carriage return and form feed.
_JUNK_CHARS = re.compile("[\ufffd\x00-\x08\x0b\x0e-\x1f]")


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
    return bool(sample) and len(_JUNK_CHARS.findall(sample)) / len(sample) > 0.05


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
