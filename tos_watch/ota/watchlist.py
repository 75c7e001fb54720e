"""Write imported Documents into the TOML watchlist as ordinary [[documents]] entries.

Imported entries are appended to the user's own tos-watch.toml (under a comment
saying where and when they came from) rather than kept as a linked declarations
folder: the watchlist stays the one file that says what is watched, every entry
can be edited or deleted like a hand-written one, and nothing breaks when the
OTA checkout moves. Documents already in the watchlist (same service and type,
case-insensitive) are left alone, so importing twice adds nothing.

The serializer is a few lines rather than a dependency: the entries only hold
strings, arrays and inline tables, and a TOML basic string is a JSON string
(same escapes) apart from DEL, which JSON leaves raw. The new file is parsed
and validated in full before it replaces the old one, atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tos_watch.config import parse_settings
from tos_watch.errors import ConfigError
from tos_watch.models import Document, Selector, Source


@dataclass
class AppendResult:
    """Which documents an import added and which the watchlist already had."""

    added: list[Document] = field(default_factory=list)
    existing: list[Document] = field(default_factory=list)
    text: str = ""  # the TOML that was (or, on a dry run, would be) appended


def toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes, plus DEL, which TOML forbids raw."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _array(values: Sequence[str]) -> str:
    return "[" + ", ".join(toml_string(v) for v in values) + "]"


def _selector(selector: Selector) -> str:
    if isinstance(selector, str):
        return toml_string(selector)
    anchors = {k: getattr(selector, k) for k in ("start_before", "start_after", "end_before", "end_after")}
    return "{ " + ", ".join(f"{k} = {toml_string(v)}" for k, v in anchors.items() if v is not None) + " }"


def _source_pairs(source: Source) -> list[tuple[str, str]]:
    """The key = value pairs of one source, defaults left out."""
    pairs = [("url", toml_string(source.url))]
    for key in ("select", "remove"):
        selectors: tuple[Selector, ...] = getattr(source, key)
        if selectors:
            pairs.append((key, "[" + ", ".join(_selector(s) for s in selectors) + "]"))
    if source.render != "http":
        pairs.append(("render", toml_string(source.render)))
    if source.remove_query_params:
        pairs.append(("remove_query_params", _array(source.remove_query_params)))
    return pairs


def render_entry(document: Document, notes: Sequence[str] = ()) -> str:
    """One [[documents]] table; `notes` become comments above it (e.g. skipped filters)."""
    lines = [f"# {note}" for note in notes]
    lines += ["[[documents]]", f"service = {toml_string(document.service)}",
              f"type = {toml_string(document.type)}"]
    if len(document.sources) == 1:
        lines += [f"{k} = {v}" for k, v in _source_pairs(document.sources[0])]
    else:
        lines.append("combine = [")
        for source in document.sources:
            lines.append("  { " + ", ".join(f"{k} = {v}" for k, v in _source_pairs(source)) + " },")
        lines.append("]")
    if document.interval:
        lines.append(f"interval = {toml_string(document.interval)}")
    return "\n".join(lines) + "\n"


def render_entries(documents: Sequence[Document], header: str,
                   notes: dict[tuple[str, str], list[str]] | None = None) -> str:
    """A comment block followed by one entry per document, ready to append."""
    notes = notes or {}
    body = "\n".join(render_entry(d, notes.get(d.key, ())) for d in documents)
    return f"\n# {header}\n\n{body}"


def existing_keys(path: Path) -> set[tuple[str, str]]:
    """(service, type) of every document already in the watchlist, case-folded."""
    if not path.is_file():
        return set()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read the watchlist to append to it: {exc}", source=str(path)) from exc
    entries = raw.get("documents", [])
    return {(str(e.get("service", "")).casefold(), str(e.get("type", "")).casefold())
            for e in entries if isinstance(e, dict)}


def append_documents(path: Path, documents: Sequence[Document], header: str, *,
                     notes: dict[tuple[str, str], list[str]] | None = None,
                     dry_run: bool = False) -> AppendResult:
    """Append the documents the watchlist lacks; validate the result before writing it."""
    have = existing_keys(path)
    result = AppendResult()
    for document in documents:
        key = (document.service.casefold(), document.type.casefold())
        (result.existing if key in have else result.added).append(document)
        have.add(key)
    if not result.added:
        return result
    result.text = render_entries(result.added, header, notes)
    if dry_run:
        return result
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    new = old + ("" if not old or old.endswith("\n") else "\n") + result.text
    try:
        parse_settings(tomllib.loads(new), source=str(path), base=path.resolve().parent)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"appending the imported entries would make the file invalid TOML ({exc}); "
                          "is `documents` written as an inline array?", source=str(path)) from exc
    _write_atomically(path, new)
    return result


def _write_atomically(path: Path, text: str) -> None:
    """Replace the file in one rename, so a crash never leaves half a watchlist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
