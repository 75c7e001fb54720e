"""What counts as page noise and how links are rewritten: shared by the lxml and soup paths.

Both paths must agree byte for byte on these rules, so they live in one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from tos_watch.errors import ExtractError

NOISE_TAGS = frozenset({"script", "style", "noscript", "template", "iframe", "svg", "nav", "form",
                        "button", "select", "textarea", "input", "object", "embed", "canvas"})
# A header/footer is page chrome (ARIA banner/contentinfo) only outside sectioning content.
SECTIONING = ("article", "aside", "main", "nav", "section")
CHROME = ("header", "footer")
HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
MAIN_CANDIDATES = ("main", "[role=main]", "article", "#content", ".content", "body")


def hidden_by_attrs(attrs: Mapping[str, Any]) -> bool:
    """`hidden`, aria-hidden="true" or an inline style that hides the element."""
    if "hidden" in attrs or str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    return "style" in attrs and HIDDEN_STYLE.search(str(attrs["style"])) is not None


@lru_cache(maxsize=4096)  # the same site links recur on every page: urljoin was a tenth of extraction
def link_target(href: str, base_url: str, drop_params: frozenset[str]) -> str | None:
    """The absolute URL a link is stored with (as OTA does), minus tracking parameters.

    None for links with no usable target (empty, javascript:, data:): they keep only their text.
    """
    href = href.strip()
    if not href or href.lower().startswith(("javascript:", "data:")):
        return None
    url = urljoin(base_url, href) if base_url else href
    return strip_query_params(url, drop_params) if drop_params else url


def strip_query_params(url: str, drop: frozenset[str]) -> str:
    """Drop the named query parameters, leaving the others byte for byte as they were."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [p for p in parts.query.split("&") if (parse_qsl(p, keep_blank_values=True) or [(p, "")])[0][0]
            not in drop]
    return urlunsplit(parts._replace(query="&".join(kept)))


def invalid_selector(css: str, reason: str) -> ExtractError:
    """The error for a selector no CSS engine accepts, naming it and what to do."""
    return ExtractError(f'invalid CSS selector "{css}": {reason}; fix it in the watchlist')
