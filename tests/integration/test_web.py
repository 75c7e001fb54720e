"""The web view in a real browser and its JSON API over HTTP, on a store filled from the replay site.

One store for the module: every corpus document checked at epoch 0, then at epoch 1
(so most documents have one classified change), served by a real `tos-watch serve`.
Chromium (Debian's, through Playwright) reads the pages as a user would: the
dashboard, a category filter, a change with its flagged clause and highlighted
evidence, the side-by-side toggle, the permalink, a phrase search.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.integration.conftest import PolicySite
from tests.integration.test_check_replay import check_json, write_watchlist
from tests.support.web import Server, chromium, serving
from tos_watch.config import load_settings
from tos_watch.store import open_store


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory, policy_site: PolicySite) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("web")
    config = write_watchlist(tmp / "tos-watch.toml", policy_site, policy_site.documents())
    first = check_json(config)
    with policy_site.at_epoch(1):
        second = check_json(config)
    assert first["first_seen"] and second["changed"], "the replay site should give versions and changes"
    return {"config": config, "changed": second["changed"]}


@pytest.fixture(scope="module")
def server(replayed: dict[str, Any]) -> Iterator[Server]:
    with serving(replayed["config"]) as s:
        yield s


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    p = context.new_page()
    p.errors = []
    p.on("pageerror", lambda exc: p.errors.append(str(exc)))
    p.on("console", lambda m: p.errors.append(m.text) if m.type == "error" else None)
    yield p
    context.close()


def path(service: str, doc_type: str) -> str:
    return f"services/{quote(service, safe='')}/{quote(doc_type, safe='')}"


def flagged_change(replayed: dict[str, Any], category: str) -> dict[str, Any]:
    """A change of the second check flagged in `category`, with a clause whose evidence names words."""
    for change in replayed["changed"]:
        for clause in change.get("changes", []):
            if not clause.get("cosmetic") and category in (clause.get("evidence") or {}):
                return change
    pytest.fail(f"no change flagged {category} in the replay: the classifier or the corpus changed")


# --- in the browser ----------------------------------------------------------------------------


def test_dashboard_filter_by_category_then_open_the_flagged_change(server: Server, page: Any,
                                                                  replayed: dict[str, Any]) -> None:
    page.goto(server.url)
    assert page.locator("h1").inner_text() == "Recent changes"
    rows = page.locator("li.change")
    assert rows.count() > 5
    page.select_option("select[name=category]", "licensing")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"category=licensing"))
    rows = page.locator("li.change")
    assert rows.count() >= 1
    for text in rows.locator(".flags").all_inner_texts():
        assert "licensing" in text  # every listed change is flagged in the chosen category
    severities = [s.lower() for s in rows.locator(".sev").all_inner_texts()]
    order = {"high": 3, "medium": 2, "low": 1, "none": 0}
    assert [order[s] for s in severities] == sorted((order[s] for s in severities), reverse=True)

    rows.first.locator("a.permalink").click()
    page.wait_for_url(re.compile(r"/changes/\d+$"))
    block = page.locator("section.block.flagged", has=page.locator(".flag", has_text="licensing")).first
    assert block.is_visible()
    marked = {m.lower() for m in block.locator(".inline mark").all_inner_texts()}
    version_id = int(page.url.rsplit("/", 1)[1])
    change = next(c for c in replayed["changed"] if c.get("version_id") == version_id)
    evidence = {w.lower() for clause in change["changes"] for words in (clause.get("evidence") or {}).values()
                for w in words}
    assert marked and marked <= evidence  # the highlighted words are the classifier's evidence
    assert page.errors == []


def test_toggle_side_by_side_and_follow_the_permalink(server: Server, page: Any,
                                                      replayed: dict[str, Any]) -> None:
    change = flagged_change(replayed, "access")
    page.goto(server.url + path(change["service"], change["type"]) + f"/changes/{change['version_id']}")
    first = page.locator("section.block.flagged").first
    assert first.locator(".inline").is_visible() and not first.locator(".side").is_visible()
    page.click("#view-toggle")
    assert first.locator(".side .new").is_visible() and not first.locator(".inline").is_visible()
    assert "view=side" in page.url  # the toggle is kept in the address, so a reload keeps it
    assert page.locator("#view-toggle").inner_text() == "Inline"
    old_words = " ".join(page.locator(".side .old del").all_inner_texts())
    new_words = " ".join(page.locator(".side .new ins").all_inner_texts())
    assert old_words.strip() or new_words.strip()
    assert not page.locator(".side .old ins").count()  # old side shows no insertions, new side no deletions
    assert not page.locator(".side .new del").count()

    page.click("a.permalink")
    page.wait_for_url(re.compile(rf"/changes/{change['version_id']}$"))
    assert change["service"] in page.locator(".crumbs").inner_text()
    assert page.locator("section.block.flagged .inline").first.is_visible()  # the permalink opens inline
    assert page.errors == []


def _current_texts(replayed: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Every document's latest text, read from the store itself (not through the server under test)."""
    settings = load_settings(str(replayed["config"]))
    store = open_store(settings.storage)
    try:
        latest = {doc.key: store.latest_version(doc) for doc in settings.documents}
        return {key: store.version_text(v) for key, v in latest.items() if v is not None}
    finally:
        store.close()


def test_search_for_a_phrase(server: Server, page: Any, replayed: dict[str, Any]) -> None:
    texts = _current_texts(replayed)
    expected = {key for key, text in texts.items() if re.search(r"facial\s+recognition", text, re.IGNORECASE)}
    assert expected, "the corpus mentions facial recognition"
    page.goto(server.url)
    page.fill("header input[name=q]", '"facial recognition"')
    page.press("header input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    results = page.locator("ol.results > li")
    found = {tuple(t.split(" / ", 1)) for t in results.locator("a").all_inner_texts()}
    assert found == expected
    for i in range(results.count()):
        marks = " ".join(m.lower() for m in results.nth(i).locator("mark").all_inner_texts())
        assert re.search(r"facial\s+recognition", marks)  # the phrase itself is highlighted
    assert page.errors == []


def test_phone_width_has_no_horizontal_scroll(server: Server, browser: Any, replayed: dict[str, Any]) -> None:
    change = flagged_change(replayed, "access")
    context = browser.new_context(viewport={"width": 375, "height": 800})
    p = context.new_page()
    p.goto(server.url + path(change["service"], change["type"]) + f"/changes/{change['version_id']}?view=side")
    assert p.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()


# --- the JSON API --------------------------------------------------------------------------------


def test_assessment_is_what_check_json_gave(server: Server, replayed: dict[str, Any]) -> None:
    for change in replayed["changed"][:10]:
        got = httpx.get(server.url + "api/v1/" + path(change["service"], change["type"])
                        + f"/changes/{change['version_id']}")
        assert got.status_code == 200
        assert got.json() == change


def test_diff_is_what_the_diff_command_prints(server: Server, replayed: dict[str, Any]) -> None:
    change = replayed["changed"][0]
    printed = subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(replayed["config"]), "diff",
                              change["service"], change["type"], "--format", "json"],
                             capture_output=True, text=True, timeout=120, check=True).stdout
    got = httpx.get(server.url + "api/v1/" + path(change["service"], change["type"]) + "/diff")
    assert got.json() == json.loads(printed)
    old_id = got.json()["from"]["id"]
    by_id = httpx.get(server.url + "api/v1/" + path(change["service"], change["type"]) + "/diff",
                      params={"from": old_id, "to": change["version_id"]})
    assert by_id.json() == json.loads(printed)


def test_versions_paginated_and_the_version_in_force(server: Server, replayed: dict[str, Any]) -> None:
    change = replayed["changed"][0]
    base = server.url + "api/v1/" + path(change["service"], change["type"])
    listed = httpx.get(base + "/versions", params={"limit": 1}).json()
    assert listed["page"]["total"] == 2 and len(listed["timeline"]) == 1 and listed["page"]["next_offset"] == 1
    newest, = listed["timeline"]
    older, = httpx.get(base + "/versions", params={"limit": 1, "offset": 1}).json()["timeline"]
    assert newest["id"] == change["version_id"] and newest["previous_id"] == older["id"]
    at_first = httpx.get(base + "/at/" + older["recorded_at"]).json()
    assert at_first["id"] == older["id"] and at_first["text"]
    text = httpx.get(base + f"/versions/{newest['id']}/text").json()["text"]
    assert httpx.get(base + "/at/2999-12-31").json()["text"] == text
    services = httpx.get(server.url + "api/v1/services", params={"limit": 5}).json()
    assert len(services["services"]) == 5 and services["page"]["next_offset"] == 5


@pytest.mark.parametrize(("url", "status", "words"), [
    ("api/v1/services/No%20Such%20Service", 404, "no service"),
    ("api/v1/services/No%20Such/Privacy%20Policy/versions", 404, "no document"),
    ("api/v1/{doc}/at/2024-02-30", 400, "not a date"),
    ("api/v1/{doc}/at/1990-01-01", 404, "no version"),
    ("api/v1/{doc}/versions/{other}", 404, "not a version of this document"),
    ("api/v1/{doc}/changes/{other}", 404, "not a version of this document"),
    ("api/v1/{doc}/diff?from={other}", 404, "not a version of this document"),
    ("api/v1/{doc}/diff?from=yesterday", 400, "not a date"),
    ("api/v1/changes?category=nonsense", 400, "category"),
    ("api/v1/changes?limit=0", 400, "limit"),
    ("api/v1/changes?since=02/03/2024", 400, "since"),
    ("api/v1/search?q=" + "x" * 600, 400, "longer"),
    ("api/v1/no/such/endpoint/here/at/all", 404, "nothing at"),
])
def test_bad_input_is_a_json_error(server: Server, replayed: dict[str, Any], url: str, status: int,
                                   words: str) -> None:
    a, b = replayed["changed"][0], replayed["changed"][1]
    url = url.format(doc=path(a["service"], a["type"]), other=b["version_id"])
    got = httpx.get(server.url + url)
    assert got.status_code == status
    assert got.headers["content-type"].startswith("application/json")
    body = got.json()
    assert body["status"] == status and words in body["message"] and "Traceback" not in got.text


def test_openapi_describes_every_endpoint(server: Server) -> None:
    spec = httpx.get(server.url + "api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    from tos_watch.web.api import routes

    served = {"/api/v1" + r.path.replace(":int", "") for r in routes()} - {"/api/v1/openapi.json"}
    assert set(spec["paths"]) == served


def test_pages_carry_a_strict_csp(server: Server, replayed: dict[str, Any]) -> None:
    change = replayed["changed"][0]
    for url in ("", "services", path(change["service"], change["type"]), "search?q=data"):
        got = httpx.get(server.url + url)
        assert got.status_code == 200
        csp = got.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
