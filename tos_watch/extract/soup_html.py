"""The fallback HTML path: BeautifulSoup(lxml) + soupsieve + markdownify.

Slower (~12 ms a page) than the lxml path, but soupsieve understands every
selector `validate_selector` accepts, including its own pseudo-classes that
cssselect cannot translate, and BeautifulSoup builds trees deeper than
libxml2's 256-level guard. `extract_with_soup` is used for exactly those pages.
"""

from __future__ import annotations

from typing import Any

import soupsieve
from bs4 import BeautifulSoup, PageElement, Tag
from markdownify import MarkdownConverter

from tos_watch.errors import ExtractError, SelectorError
from tos_watch.extract.rules import (
    CHROME,
    MAIN_CANDIDATES,
    NOISE_TAGS,
    SECTIONING,
    hidden_by_attrs,
    invalid_selector,
    link_target,
)
from tos_watch.extract.text import normalise_markdown
from tos_watch.models import RangeSelector, Source


def _select_all(root: Tag, css: str) -> list[Tag]:
    """CSS matches in document order; a syntax error becomes an ExtractError naming the selector."""
    try:
        return list(root.select(css))
    except soupsieve.SelectorSyntaxError as exc:
        raise invalid_selector(css, str(exc).splitlines()[0]) from exc

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


def _is_noise(tag: Tag) -> bool:
    """Elements whose text is never part of a policy: code, chrome, controls, hidden nodes."""
    if tag.name in NOISE_TAGS or hidden_by_attrs(tag.attrs):
        return True
    return tag.name in CHROME and tag.find_parent(list(SECTIONING)) is None


def _rewrite_link(tag: Tag, base_url: str, drop_params: frozenset[str]) -> None:
    """Absolute link URLs minus tracking parameters; unusable targets lose their href."""
    url = link_target(str(tag.get("href") or ""), base_url, drop_params)
    if url is None:
        tag.attrs.pop("href", None)
    else:
        tag["href"] = url


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
    for css in MAIN_CANDIDATES:
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


def _soup_markdown(html: str, source: Source) -> str:
    """Parse, cut the configured part out, drop noise and convert it to Markdown."""
    soup = BeautifulSoup(html, "lxml", element_classes={Tag: _FastTag})
    _remove(soup, source)
    roots = _selected(soup, source)
    drop = frozenset(source.remove_query_params)
    for root in roots:
        _prune(root, source.url, drop)
    return normalise_markdown("\n\n".join(_CONVERTER.convert_soup(root) for root in roots))


def extract_with_soup(html: str, source: Source) -> str:
    """`_soup_markdown`, with runaway nesting reported as an ExtractError rather than a crash."""
    try:
        return _soup_markdown(html, source)
    except RecursionError as exc:  # markdownify and range clipping recurse once per level of nesting
        where = f" at {source.url}" if source.url else ""
        raise ExtractError(f"page nests its tags too deeply to convert{where} (thousands of levels); "
                           "select a shallower part of the page") from exc
