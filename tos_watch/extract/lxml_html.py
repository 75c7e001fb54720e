"""The fast HTML path: lxml parse, cssselect selection, html-to-markdown (Rust) conversion.

About ten times faster than the soup path. `NeedsSoup` hands a page back to
the soup path when this one cannot honour it exactly: a selector cssselect
cannot translate (soupsieve-only pseudo-classes), or a page beyond libxml2's
safety limits (nesting deeper than 256 levels, a text node over 10 MB), which
libxml2 truncates rather than parses. `huge_tree` stays off: the limits are a
guard against hostile pages, and the soup path handles what lies past them.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from functools import lru_cache

import html_to_markdown
import lxml.html
from cssselect import HTMLTranslator
from cssselect import SelectorError as CssSelectorError
from lxml import etree
from lxml.html import HtmlElement

from tos_watch.errors import ExtractError, SelectorError
from tos_watch.extract.rules import CHROME, MAIN_CANDIDATES, NOISE_TAGS, SECTIONING, hidden_by_attrs, link_target
from tos_watch.extract.text import normalise_markdown
from tos_watch.models import RangeSelector, Selector, Source

Spans = dict[etree._Element, tuple[int, int]]


class NeedsSoup(Exception):  # noqa: N818 - a signal to switch paths, not an error anyone sees
    """This page or selector is beyond the lxml path; the soup path handles it."""


# lxml refuses a str that still carries an encoding declaration; the text is already decoded.
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_TRANSLATOR = HTMLTranslator()
# Matching the soup path's markdownify settings: ATX headings, "-" bullets, inline links,
# "*"/"_" escaped, no wrapping; preprocessing off because pruning is ours.
_OPTIONS = html_to_markdown.ConversionOptions(
    heading_style="atx", bullets="-", autolinks=False, wrap=False, extract_metadata=False,
    escape_asterisks=True, escape_underscores=True, escape_misc=False, link_style="inline", compact_tables=True,
    preprocessing=html_to_markdown.PreprocessingOptions(enabled=False),
)


@lru_cache(maxsize=1024)
def _xpath(css: str) -> str | None:
    """The XPath for a CSS selector, None when cssselect cannot translate it."""
    try:
        return _TRANSLATOR.css_to_xpath(css)
    except CssSelectorError:
        return None


def _select_all(root: HtmlElement, css: str) -> list[HtmlElement]:
    """CSS matches in document order (the root itself included, as soupsieve does on a soup)."""
    xpath = _xpath(css)
    if xpath is None:
        raise NeedsSoup(css)
    try:
        return [el for el in root.xpath(xpath) if isinstance(el, etree._Element)]
    except etree.XPathError as exc:
        raise NeedsSoup(css) from exc


def _selectors(source: Source) -> Iterator[str]:
    """Every CSS selector a source names, range anchors included."""
    for sel in (*source.select, *source.remove):
        if isinstance(sel, RangeSelector):
            yield from (s for s in (sel.start_before, sel.start_after, sel.end_before, sel.end_after) if s)
        else:
            yield sel


def _parse(html: str) -> HtmlElement | None:
    """The document tree; None for a page with no markup at all."""
    parser = lxml.html.HTMLParser()  # one per call: lxml parsers must not be shared between threads
    try:
        root = lxml.html.document_fromstring(_XML_DECLARATION.sub("", html, count=1), parser=parser)
    except etree.ParserError:  # "Document is empty"
        return None
    except ValueError as exc:
        raise NeedsSoup("lxml refused the text") from exc
    if any(e.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT for e in parser.error_log):
        raise NeedsSoup("libxml2 resource limit")
    return root


def _replace_with_text(el: etree._Element, text: str) -> None:
    """Remove `el` and its subtree, keeping its tail: `text` + tail join the preceding text."""
    parent = el.getparent()
    if parent is None:  # the document root itself: empty it
        el.clear()
        return
    joined = text + (el.tail or "")
    previous = el.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + joined
    else:
        parent.text = (parent.text or "") + joined
    parent.remove(el)


# ---------------------------------------------------------------- range selectors


def _positions(root: etree._Element) -> Spans:
    """Pre-order (start, end) of every element; an element's text sits at start + 1, its tail at end + 1."""
    spans: Spans = {}
    counter = 0
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            spans[el] = (counter, -1)
            counter += 2 if isinstance(el.tag, str) and el.text else 1
        else:
            spans[el] = (spans[el][0], counter - 1)
            counter += 1 if el.tail and el is not root else 0
    return spans


def _anchor(root: HtmlElement, css: str | None, url: str) -> HtmlElement | None:
    """The first element a range anchor names; SelectorError when it names none."""
    if css is None:
        return None
    matches = _select_all(root, css)
    if not matches:
        raise SelectorError(css, url=url)
    return matches[0]


def _range_bounds(root: HtmlElement, sel: RangeSelector, url: str) -> tuple[Spans, int, int]:
    """The range as [first, stop) in pre-order positions, OTA's before/after semantics."""
    start_el = _anchor(root, sel.start_before or sel.start_after, url)
    end_el = _anchor(root, sel.end_before or sel.end_after, url)
    if start_el is None or end_el is None:
        raise ExtractError(f"range selector {sel} needs a start and an end anchor")
    spans = _positions(root)
    first = spans[start_el][0] if sel.start_before else spans[start_el][1] + 1
    stop = spans[end_el][0] if sel.end_before else spans[end_el][1] + 1
    if first >= stop:
        raise ExtractError(f"range selector {sel} is empty: its end comes before its start; fix the selector")
    return spans, first, stop


def _append_text(shell: etree._Element, text: str) -> None:
    if len(shell):
        shell[-1].tail = (shell[-1].tail or "") + text
    else:
        shell.text = (shell.text or "") + text


def _clip(el: etree._Element, spans: Spans, first: int, stop: int) -> etree._Element | None:
    """A copy of the part of `el` inside [first, stop); partly covered elements are copied shallowly.

    Recursion is bounded by libxml2's 256-level nesting limit.
    """
    start, end = spans[el]
    if end < first or start >= stop:
        return None
    if start >= first and end < stop:
        whole = copy.deepcopy(el)
        whole.tail = None
        return whole
    shell = el.makeelement(el.tag, dict(el.attrib))
    if el.text and first <= start + 1 < stop:
        shell.text = el.text
    for child in el:
        if (part := _clip(child, spans, first, stop)) is not None:
            shell.append(part)
        if child.tail and first <= spans[child][1] + 1 < stop:
            _append_text(shell, child.tail)
    return shell


def _select_range(root: HtmlElement, sel: RangeSelector, url: str) -> HtmlElement:
    """The content between the range's anchors, rebuilt as a detached fragment."""
    spans, first, stop = _range_bounds(root, sel, url)
    fragment = _clip(root, spans, first, stop)
    return fragment if fragment is not None else root.makeelement("div", {})


def _remove_range(root: HtmlElement, sel: RangeSelector, url: str) -> None:
    """Remove every node wholly inside the range; partly covered ancestors stay."""
    spans, first, stop = _range_bounds(root, sel, url)
    doomed: list[etree._Element] = []
    cut_texts: list[etree._Element] = []
    cut_tails: list[etree._Element] = []
    stack: list[etree._Element] = [root]
    while stack:
        el = stack.pop()
        start, end = spans[el]
        if start >= first and end < stop:
            doomed.append(el)
        elif end >= first and start < stop:
            if isinstance(el.tag, str) and el.text and first <= start + 1 < stop:
                cut_texts.append(el)
            stack.extend(el)
        if el is not root and el.tail and first <= end + 1 < stop:
            cut_tails.append(el)
    for el in cut_texts:
        el.text = None
    for el in cut_tails:
        el.tail = None
    for el in doomed:
        _replace_with_text(el, "")


# ---------------------------------------------------------------- HTML -> Markdown


def _is_noise(el: etree._Element) -> bool:
    """Elements whose text is never part of a policy: code, chrome, controls, hidden nodes, comments."""
    tag = el.tag
    if not isinstance(tag, str):  # comments and processing instructions
        return True
    if tag in NOISE_TAGS or hidden_by_attrs(el.attrib):
        return True
    return tag in CHROME and not any(a.tag in SECTIONING for a in el.iterancestors())


def _prune(root: HtmlElement, base_url: str, drop_params: frozenset[str]) -> None:
    """Drop noise under root (not root itself, which the user chose), rewrite links, images -> alt text."""
    noise: list[etree._Element] = []
    images: list[etree._Element] = []
    links: list[etree._Element] = []
    for el in root.iterdescendants():
        if noise and _inside(el, noise[-1]):
            continue
        if _is_noise(el):
            noise.append(el)
        elif el.tag == "a":
            links.append(el)
            url = link_target(el.get("href") or "", base_url, drop_params)
            if url is None:
                el.attrib.pop("href", None)
            else:
                el.set("href", url)
        elif el.tag == "img":  # image URLs carry cache-busting noise; the alt text is the content
            images.append(el)
    for el in noise:
        _replace_with_text(el, "")
    for el in images:
        _replace_with_text(el, el.get("alt") or "")
    for el in links:  # a link with no text is invisible: markdownify dropped it, "[](url)" would not
        if not (text := el.text_content()).strip():
            _replace_with_text(el, text)


def _inside(el: etree._Element, ancestor: etree._Element) -> bool:
    """Whether `el` lies in `ancestor`'s subtree (descendants come right after it in document order)."""
    parent = el.getparent()
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.getparent()
    return False


def _main_content(root: HtmlElement) -> HtmlElement:
    """No selector configured: the first main-content container that holds text."""
    for css in MAIN_CANDIDATES:
        found = _select_all(root, css)
        if found and found[0].text_content().strip():
            return found[0]
    return root


def _selected(root: HtmlElement, source: Source) -> list[HtmlElement]:
    """The subtrees `source.select` names, in selector order, nested duplicates dropped."""
    if not source.select:
        return [_main_content(root)]
    chosen: list[HtmlElement] = []
    for sel in source.select:
        if isinstance(sel, RangeSelector):
            chosen.append(_select_range(root, sel, source.url))
            continue
        matches = _select_all(root, sel)
        if not matches:
            raise SelectorError(sel, url=source.url)
        chosen.extend(matches)
    ids = set(chosen)
    return [el for el in chosen if not any(parent in ids for parent in el.iterancestors())]


def _remove(root: HtmlElement, selectors: tuple[Selector, ...], url: str) -> None:
    """Apply `source.remove`; plain selectors may match nothing, range anchors may not."""
    for sel in selectors:
        if isinstance(sel, RangeSelector):
            _remove_range(root, sel, url)
        else:
            for el in _select_all(root, sel):
                _replace_with_text(el, "")


# html-to-markdown writes "1\\." for a paragraph that starts with a number, and a blank line
# before each item of a list whose items hold paragraphs; the soup path (and so every
# version stored before) writes neither. Undoing both keeps versions comparable.
_ESCAPED_NUMBER = re.compile(r"^(\s*(?:[-*+] )?\d+)\\([.)])", re.MULTILINE)
_ITEM = re.compile(r"( *)(?:[-*+]|\d+[.)]) ")
_LOOSE_GAP = re.compile(r"\n\n *(?:[-*+]|\d+[.)]) ")


def _tight_lists(markdown: str) -> str:
    """Drop the blank line before a list item whose previous line belongs to the same list."""
    if not _LOOSE_GAP.search(markdown):
        return markdown
    lines = markdown.split("\n")
    out: list[str] = []
    for k, line in enumerate(lines):
        if not line and 0 < k < len(lines) - 1 and (item := _ITEM.match(lines[k + 1])):
            indent, prev = len(item.group(1)), out[-1] if out else ""
            same_list = _ITEM.match(prev) and len(prev) - len(prev.lstrip(" ")) == indent
            if same_list or (prev.strip() and len(prev) - len(prev.lstrip(" ")) > indent):
                continue
        out.append(line)
    return "\n".join(out)


def _to_markdown(el: HtmlElement) -> str:
    """One subtree as Markdown in the soup path's conventions."""
    html = lxml.html.tostring(el, encoding="unicode", with_tail=False)
    markdown = html_to_markdown.convert(html, _OPTIONS).content or ""
    return _ESCAPED_NUMBER.sub(r"\1\2", _tight_lists(markdown))


def extract_with_lxml(html: str, source: Source) -> str:
    """Parse, cut the configured part out, drop noise and convert it to Markdown; NeedsSoup if beyond us."""
    if any(_xpath(css) is None for css in _selectors(source)):
        raise NeedsSoup("selector cssselect cannot translate")
    root = _parse(html)
    if root is None:
        return ""
    _remove(root, source.remove, source.url)
    roots = _selected(root, source)
    drop = frozenset(source.remove_query_params)
    for sub in roots:
        _prune(sub, source.url, drop)
    return normalise_markdown("\n\n".join(_to_markdown(sub) for sub in roots))
