"""Read Open Terms Archive service declarations into ordinary watchlist Documents.

An OTA declarations folder holds `<service id>.json` files:

    {"name": "Google Nest",
     "terms": {"Privacy Policy": {"fetch": URL, "select": ..., "remove": ...,
                                  "executeClientScripts": true, "filter": [...]},
               "Terms of Service": {"combine": [{"fetch": URL, ...}, ...], "select": ...}}}

`select`/`remove` are a CSS selector, a range selector ({startBefore|startAfter,
endBefore|endAfter}) or an array of both. `combine` joins several pages into one
document; properties at the document level apply to every part that does not set
its own. `filter` names JavaScript functions shipped beside the declaration: the
one built-in, `{"removeQueryParams": [...]}`, maps to `remove_query_params`; every
other filter is code we do not have, so the document is imported without it and
a warning says which filters were skipped. A document that cannot be watched at
all (no URL, an invalid selector) is a warning too, never an exception: one bad
declaration must not stop an import of hundreds.

The service is named by its OTA *id* (the file name), not its display `name`,
because the id is what OTA's versions repositories use as directory names: a
watchlist imported here and a history imported by history.py then agree.
`<service>.history.json` files (past declarations) are ignored: a watchlist
tracks what is valid now.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tos_watch.models import Document, RangeSelector, Selector, Source
from tos_watch.selectors import css_problem

BUILTIN_QUERY_FILTER = "removeQueryParams"
RANGE_KEYS = {"startBefore": "start_before", "startAfter": "start_after",
              "endBefore": "end_before", "endAfter": "end_after"}
INHERITED = ("select", "remove", "executeClientScripts", "filter")  # document level -> combine parts


@dataclass(frozen=True)
class ImportWarning:
    """One thing an import could not carry over, said where and what it means."""

    service: str
    type: str | None
    message: str
    imported: bool  # True: the document was imported anyway (e.g. without a custom filter)

    def __str__(self) -> str:
        where = f"{self.service} / {self.type}" if self.type else self.service
        return f"{where}: {self.message}"


@dataclass
class DeclarationsImport:
    """What reading a declarations folder produced: the documents and every warning."""

    documents: list[Document] = field(default_factory=list)
    warnings: list[ImportWarning] = field(default_factory=list)
    services: int = 0

    @property
    def rejected(self) -> list[ImportWarning]:
        """Documents that could not be imported at all."""
        return [w for w in self.warnings if not w.imported]

    @property
    def filters_skipped(self) -> list[ImportWarning]:
        """Documents imported without their custom JavaScript filters."""
        return [w for w in self.warnings if w.imported]


class _Unusable(Exception):
    """A document declaration that cannot become a watchlist entry; becomes a warning."""


def load_declarations(folder: Path, services: Iterable[str] | None = None) -> DeclarationsImport:
    """Read every `<service>.json` of an OTA declarations folder (or only the named services)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a directory (expected an OTA declarations folder)")
    wanted = {s.casefold() for s in services} if services is not None else None
    result = DeclarationsImport()
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(".history.json") or path.name.endswith(".filters.json"):
            continue
        service = path.stem
        if wanted is not None and service.casefold() not in wanted:
            continue
        result.services += 1
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            result.warnings.append(ImportWarning(service, None, f"unreadable declaration {path.name}: {exc}",
                                                 imported=False))
            continue
        documents, warnings = parse_service(service, data)
        result.documents.extend(documents)
        result.warnings.extend(warnings)
    return result


def parse_service(service: str, data: Any) -> tuple[list[Document], list[ImportWarning]]:
    """One service declaration -> its documents, and a warning per document it had to bend."""
    terms = data.get("terms") if isinstance(data, dict) else None
    if not isinstance(terms, dict):
        return [], [ImportWarning(service, None, 'no "terms" object in the declaration', imported=False)]
    if not terms:
        return [], [ImportWarning(service, None, 'declares no current documents ("terms" is empty; '
                                  "retired ones are only in its .history.json)", imported=False)]
    documents: list[Document] = []
    warnings: list[ImportWarning] = []
    for doc_type, declaration in terms.items():
        try:
            document, skipped = parse_terms(service, doc_type, declaration)
        except _Unusable as exc:
            warnings.append(ImportWarning(service, doc_type, f"not imported: {exc}", imported=False))
            continue
        documents.append(document)
        if skipped:
            names = ", ".join(skipped)
            warnings.append(ImportWarning(
                service, doc_type, f"custom filters skipped (their JavaScript is not available): {names}; "
                "the text may keep noise those filters removed", imported=True))
    return documents, warnings


def parse_terms(service: str, doc_type: str, declaration: Any) -> tuple[Document, list[str]]:
    """One terms declaration -> a Document and the names of the custom filters it skipped."""
    if not isinstance(declaration, dict):
        raise _Unusable("the declaration is not an object")
    if "combine" in declaration:
        parts = declaration["combine"]
        if not isinstance(parts, list) or not parts:
            raise _Unusable('"combine" must be a non-empty array of source documents')
        inherited = {k: declaration[k] for k in INHERITED if k in declaration}
        merged = [{**inherited, **part} if isinstance(part, dict) else part for part in parts]
    else:
        merged = [declaration]
    sources: list[Source] = []
    skipped: list[str] = []
    for part in merged:
        source, part_skipped = _source(part)
        sources.append(source)
        skipped.extend(name for name in part_skipped if name not in skipped)
    return Document(service=service, type=doc_type, sources=tuple(sources)), skipped


def _source(part: Any) -> tuple[Source, list[str]]:
    if not isinstance(part, dict):
        raise _Unusable("a combined source document is not an object")
    url = part.get("fetch")
    if not isinstance(url, str) or not url:
        raise _Unusable('no "fetch" URL')
    pieces = urlsplit(url)
    if pieces.scheme not in ("http", "https") or not pieces.netloc:
        raise _Unusable(f'"fetch" must be an http(s) URL, got "{url}"')
    query_params, skipped = _filters(part.get("filter"))
    render = "browser" if part.get("executeClientScripts") is True else "http"
    source = Source(url=url, select=_selectors(part.get("select"), "select"),
                    remove=_selectors(part.get("remove"), "remove"), render=render,
                    remove_query_params=query_params)
    return source, skipped


def _filters(value: Any) -> tuple[tuple[str, ...], list[str]]:
    """Split OTA filters into the built-in query-parameter filter and skipped custom ones."""
    if value is None:
        return (), []
    items = value if isinstance(value, list) else [value]
    params: list[str] = []
    skipped: list[str] = []
    for item in items:
        if isinstance(item, dict) and set(item) == {BUILTIN_QUERY_FILTER}:
            names = item[BUILTIN_QUERY_FILTER]
            names = [names] if isinstance(names, str) else names
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise _Unusable(f'"{BUILTIN_QUERY_FILTER}" must list query parameter names')
            params.extend(n for n in names if n not in params)
        elif isinstance(item, str):
            skipped.append(item)
        elif isinstance(item, dict) and item:
            skipped.extend(str(k) for k in item)  # a custom filter with parameters
        else:
            raise _Unusable(f"unrecognised filter {item!r}")
    return tuple(params), skipped


def _selectors(value: Any, key: str) -> tuple[Selector, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    return tuple(_selector(item, key) for item in items)


def _selector(item: Any, key: str) -> Selector:
    if isinstance(item, str):
        problem = css_problem(item)
        if problem:
            raise _Unusable(f'invalid CSS selector in "{key}": "{item}": {problem}')
        return item
    if isinstance(item, dict):
        unknown = [k for k in item if k not in RANGE_KEYS]
        if unknown:
            raise _Unusable(f'unknown range selector key "{unknown[0]}" in "{key}"')
        if not all(isinstance(v, str) for v in item.values()):
            raise _Unusable(f'range selector anchors in "{key}" must be CSS strings')
        fields = {RANGE_KEYS[k]: _selector(v, key) for k, v in item.items()}
        starts = [k for k in fields if k.startswith("start")]
        ends = [k for k in fields if k.startswith("end")]
        if len(starts) != 1 or len(ends) != 1:
            raise _Unusable(f'a range selector in "{key}" needs one start and one end anchor')
        return RangeSelector(**fields)  # type: ignore[arg-type]
    raise _Unusable(f'a selector in "{key}" must be a CSS string or a range object, got {item!r}')
