"""Imported Documents -> [[documents]] TOML appended to the watchlist, read back unchanged."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tos_watch.config import load_settings, parse_settings
from tos_watch.errors import ConfigError
from tos_watch.models import Document, RangeSelector, Source
from tos_watch.ota.watchlist import append_documents, render_entry, toml_string

TRICKY = 'Wö’s "quoted" \\ back\tslash \x7f\x01 é'
DOCUMENTS = [
    Document("Plain", "Privacy Policy", (Source(url="https://example.com/p"),)),
    Document(TRICKY, "Terms of Service", (Source(
        url="https://example.com/t?a=1&b=2", select=("main", RangeSelector(start_after="#intro", end_before="footer")),
        remove=(".cookie, nav", RangeSelector(start_before="h2", end_after="h3")), render="browser",
        remove_query_params=("utm_source", "h")),)),
    Document("Combined", "Terms of Service", (
        Source(url="https://example.com/a", select=("main#content",), remove=(".bc",)),
        Source(url="https://example.com/b", render="browser"))),
]
HEADER = "[storage]\ndir = \"data\"\n\n[[documents]]\nservice = \"Plain\"\ntype = \"privacy policy\"\n" \
         "url = \"https://example.com/old\"\n"


def test_toml_strings_round_trip() -> None:
    assert tomllib.loads(f"x = {toml_string(TRICKY)}")["x"] == TRICKY


def test_every_entry_reads_back_as_the_same_document() -> None:
    text = "\n".join(render_entry(d) for d in DOCUMENTS)
    assert parse_settings(tomllib.loads(text)).documents == tuple(DOCUMENTS)


def test_append_skips_documents_already_watched_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "tos-watch.toml"
    path.write_text(HEADER, encoding="utf-8")
    first = append_documents(path, DOCUMENTS, "imported from OTA test on 2026-01-01",
                             notes={("Combined", "Terms of Service"): ["OTA custom filters skipped: cleanUrls"]})
    assert [d.service for d in first.added] == [TRICKY, "Combined"]
    assert [d.service for d in first.existing] == ["Plain"]  # case-insensitive match on (service, type)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEADER) and "# imported from OTA test on 2026-01-01" in text
    assert "# OTA custom filters skipped: cleanUrls\n[[documents]]\nservice = \"Combined\"" in text
    settings = load_settings(str(path))
    assert settings.documents[1:] == tuple(DOCUMENTS[1:])
    assert settings.storage.dir == tmp_path / "data"  # the user's own settings survive untouched
    again = append_documents(path, DOCUMENTS, "again")
    assert not again.added and path.read_text(encoding="utf-8") == text


def test_dry_run_changes_nothing_and_missing_file_is_created(tmp_path: Path) -> None:
    path = tmp_path / "new.toml"
    dry = append_documents(path, DOCUMENTS, "h", dry_run=True)
    assert not path.exists() and "[[documents]]" in dry.text and len(dry.added) == 3
    append_documents(path, DOCUMENTS, "h")
    assert load_settings(str(path)).documents == tuple(DOCUMENTS)


def test_a_watchlist_that_cannot_take_appended_tables_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "tos-watch.toml"
    original = 'documents = [{ service = "A", type = "B", url = "https://example.com/" }]\n'
    path.write_text(original, encoding="utf-8")
    with pytest.raises(ConfigError, match="inline array"):
        append_documents(path, DOCUMENTS, "h")
    assert path.read_text(encoding="utf-8") == original
