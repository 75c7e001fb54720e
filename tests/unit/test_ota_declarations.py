"""OTA declarations -> watchlist Documents: table-driven over the format's features."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tos_watch.models import Document, RangeSelector, Source
from tos_watch.ota.declarations import load_declarations, parse_service

URL = "https://example.com/privacy"
URL2 = "https://example.com/privacy/annex"


def _doc(terms: dict[str, Any]) -> Document:
    documents, warnings = parse_service("Example", {"name": "Example", "terms": {"Privacy Policy": terms}})
    assert len(documents) == 1, warnings
    return documents[0]


@pytest.mark.parametrize(("terms", "expected"), [
    ({"fetch": URL}, Source(url=URL)),
    ({"fetch": URL, "select": "main"}, Source(url=URL, select=("main",))),
    ({"fetch": URL, "select": ["main", "#annex"], "remove": ".cookie, nav"},
     Source(url=URL, select=("main", "#annex"), remove=(".cookie, nav",))),
    ({"fetch": URL, "select": {"startAfter": "#intro", "endBefore": "footer"}},
     Source(url=URL, select=(RangeSelector(start_after="#intro", end_before="footer"),))),
    ({"fetch": URL, "select": ["main", {"startBefore": "h2#a", "endAfter": "h2#b"}],
      "remove": [{"startBefore": ".ad-start", "endBefore": ".ad-end"}, "aside"]},
     Source(url=URL, select=("main", RangeSelector(start_before="h2#a", end_after="h2#b")),
            remove=(RangeSelector(start_before=".ad-start", end_before=".ad-end"), "aside"))),
    ({"fetch": URL, "executeClientScripts": True}, Source(url=URL, render="browser")),
    ({"fetch": URL, "executeClientScripts": False}, Source(url=URL)),
    ({"fetch": URL, "filter": [{"removeQueryParams": ["utm_source", "utm_medium"]}]},
     Source(url=URL, remove_query_params=("utm_source", "utm_medium"))),
])
def test_single_source_features(terms: dict[str, Any], expected: Source) -> None:
    document = _doc(terms)
    assert document.sources == (expected,)
    assert (document.service, document.type) == ("Example", "Privacy Policy")


def test_combine_inherits_document_level_properties_unless_a_part_overrides_them() -> None:
    document = _doc({"select": "main", "remove": ".nav", "executeClientScripts": True,
                     "filter": [{"removeQueryParams": ["h"]}],
                     "combine": [{"fetch": URL}, {"fetch": URL2, "select": "#annex", "executeClientScripts": False}]})
    assert document.sources == (
        Source(url=URL, select=("main",), remove=(".nav",), render="browser", remove_query_params=("h",)),
        Source(url=URL2, select=("#annex",), remove=(".nav",), render="http", remove_query_params=("h",)),
    )


def test_custom_filters_are_skipped_with_one_warning_naming_them() -> None:
    documents, warnings = parse_service("Example", {"terms": {"Terms of Service": {
        "fetch": URL, "select": "main",
        "filter": ["removeNavigationHeaders", {"removeQueryParams": ["sig"]}, {"removeCloudflareEmail": "x"}]}}})
    assert documents[0].sources[0].remove_query_params == ("sig",)
    assert len(warnings) == 1 and warnings[0].imported
    assert "removeNavigationHeaders" in warnings[0].message and "removeCloudflareEmail" in warnings[0].message
    assert str(warnings[0]).startswith("Example / Terms of Service: custom filters skipped")


@pytest.mark.parametrize(("terms", "reason"), [
    ({"select": "main"}, 'no "fetch" URL'),
    ({"fetch": "ftp://example.com/x"}, "http(s)"),
    ({"fetch": URL, "select": "main >>> p"}, "invalid CSS selector"),
    ({"fetch": URL, "select": {"startBefore": "h1"}}, "one start and one end"),
    ({"fetch": URL, "select": {"startBefore": "h1", "endBefore": "h2", "until": "x"}}, "unknown range"),
    ({"combine": []}, "non-empty"),
    ({"fetch": URL, "select": 3}, "CSS string or a range"),
])
def test_unusable_documents_become_warnings_not_exceptions(terms: dict[str, Any], reason: str) -> None:
    documents, warnings = parse_service("Example", {"terms": {"Privacy Policy": terms, "Terms": {"fetch": URL}}})
    assert [d.type for d in documents] == ["Terms"]  # the other document of the service still imports
    assert len(warnings) == 1 and not warnings[0].imported and reason in warnings[0].message


def test_folder_reading_uses_the_file_name_as_service_and_ignores_history(tmp_path: Path) -> None:
    (tmp_path / "Honkai- Star Rail.json").write_text(json.dumps(
        {"name": "Honkai: Star Rail", "terms": {"Privacy Policy": {"fetch": URL}}}), encoding="utf-8")
    (tmp_path / "Honkai- Star Rail.history.json").write_text(json.dumps(
        {"Privacy Policy": [{"fetch": URL2, "validUntil": "2020-01-01T00:00:00Z"}]}), encoding="utf-8")
    (tmp_path / "Broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "Retired.json").write_text(json.dumps({"name": "Retired", "terms": {}}), encoding="utf-8")
    result = load_declarations(tmp_path)
    assert [(d.service, d.url) for d in result.documents] == [("Honkai- Star Rail", URL)]
    assert result.services == 3
    assert sorted(w.service for w in result.rejected) == ["Broken", "Retired"]
    only = load_declarations(tmp_path, ["honkai- star rail"])
    assert only.services == 1 and not only.warnings
