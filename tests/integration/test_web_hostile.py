"""The web view with hostile page text, huge changes, and the bearer token rules.

Texts are recorded through the store's own API (as an import records them) so the
hostile strings reach the pages unchanged: a `<script>`, `javascript:` links,
markup in a service's name (with a "/" in it), and a 5 MB single-paragraph change.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.web import Server, chromium, serving
from tos_watch.config import StorageSettings
from tos_watch.models import Document, Source
from tos_watch.store import open_store

SCRIPT = "<script>alert('owned')</script>"
EVIL = Document('Evil <b>Co</b> & "Sons"/EU', "Privacy <img src=x onerror=alert(1)>", (Source("http://127.0.0.1/"),))
HUGE = Document("Huge", "Terms of Service", (Source("http://127.0.0.1/huge"),))
BIG_PARAGRAPH = "We may license your content " + "and share it with partners " * 190_000  # about 5 MB


def _assessment() -> dict[str, Any]:
    clause = {"section": f"Section {SCRIPT}", "old": "", "new": f"We run {SCRIPT} on every page.",
              "kind": "added", "cosmetic": False, "categories": {"licensing": "broadens"},
              "evidence": {"licensing": ["license", SCRIPT]}, "severity": "high",
              "summary": f"added: licensing broadens {SCRIPT}"}
    return {"cosmetic": False, "categories": {"licensing": "broadens"}, "severity": "high", "changes": [clause]}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("hostile")
    store = open_store(StorageSettings(dir=tmp / "data"))
    t0, t1 = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    store.record_version(EVIL, "# Policy\n\nWe keep your data.", t0, origin="import", source_ref="a")
    evil = store.record_version(EVIL, f"# Policy\n\nWe keep your data. We run {SCRIPT} on every page.\n\n"
                                "[Click here](javascript:alert(document.cookie)) to license us.", t1,
                                origin="import", source_ref="b", assessment=_assessment())
    store.record_version(HUGE, "# Terms\n\nShort terms.", t0, origin="import", source_ref="a")
    huge = store.record_version(HUGE, f"# Terms\n\nShort terms.\n\n{BIG_PARAGRAPH}\n\nThe end.", t1,
                                origin="import", source_ref="b")
    store.close()
    assert evil is not None and huge is not None
    config = tmp / "tos-watch.toml"
    config.write_text(f'[storage]\ndir = "{tmp / "data"}"\n')
    return {"config": config, "evil": evil.id, "huge": huge.id, "tmp": tmp}


@pytest.fixture(scope="module")
def server(hostile: dict[str, Any]) -> Iterator[Server]:
    with serving(hostile["config"]) as s:
        yield s


def page_of(doc: Document, version_id: int) -> str:
    return f"services/{quote(doc.service, safe='')}/{quote(doc.type, safe='')}/changes/{version_id}"


def test_hostile_text_is_escaped_everywhere(server: Server, hostile: dict[str, Any]) -> None:
    doc_path = f"services/{quote(EVIL.service, safe='')}/{quote(EVIL.type, safe='')}"
    for url in (page_of(EVIL, hostile["evil"]), page_of(EVIL, hostile["evil"]) + "?view=side", doc_path,
                f"services/{quote(EVIL.service, safe='')}", "", "?cosmetic=1", "search?q=" + quote(SCRIPT),
                "search?q=page"):
        got = httpx.get(server.url + url)
        assert got.status_code == 200, url
        assert "default-src 'none'" in got.headers["content-security-policy"]
        assert SCRIPT not in got.text and "<img src=x" not in got.text and "<b>Co</b>" not in got.text, url
        assert 'href="javascript:' not in got.text.lower()
        assert got.text.count("<script") == 1  # only the page's own /static/toggle.js


def test_the_browser_shows_hostile_text_as_text(server: Server, hostile: dict[str, Any]) -> None:
    with chromium() as browser:
        page = browser.new_page()
        dialogs: list[str] = []

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(server.url + page_of(EVIL, hostile["evil"]))
        block = page.locator("section.block.flagged").first
        assert SCRIPT in block.locator(".inline").inner_text()  # shown to the reader, not run
        assert SCRIPT in [m for m in block.locator(".inline mark").all_inner_texts()]
        assert "licensing broadens" in block.locator(".block-head").inner_text()
        assert EVIL.service in page.locator(".crumbs").inner_text()
        page.goto(server.url + "search?q=" + quote(SCRIPT))
        assert dialogs == []


def test_a_5mb_paragraph_is_cut_to_a_bounded_page(server: Server, hostile: dict[str, Any]) -> None:
    got = httpx.get(server.url + page_of(HUGE, hostile["huge"]), timeout=60)
    assert got.status_code == 200
    assert len(got.content) < 300_000  # three renderings of at most 20,000 characters each, plus the page
    assert "more characters not shown" in got.text and "We may license your content" in got.text
    doc = httpx.get(server.url + f"services/{quote(HUGE.service)}/{quote(HUGE.type)}", timeout=60)
    assert len(doc.content) < 400_000 and "more characters" in doc.text
    whole = httpx.get(server.url + f"api/v1/services/Huge/{quote(HUGE.type)}/versions/{hostile['huge']}/text",
                      timeout=60).json()["text"]
    assert BIG_PARAGRAPH in whole  # the API serves the whole text


# --- the bearer token -----------------------------------------------------------------------------


def _config(hostile: dict[str, Any], web: str) -> Path:
    path = hostile["tmp"] / f"web-{abs(hash(web))}.toml"
    path.write_text(f'[storage]\ndir = "{hostile["tmp"] / "data"}"\n\n[web]\n{web}\n')
    return path


def test_a_public_address_without_a_token_is_refused(hostile: dict[str, Any]) -> None:
    for args, web in ((["--host", "0.0.0.0"], ""), ([], 'host = "0.0.0.0"'),
                      (["--host", "0.0.0.0"], 'token_env = "TOS_WATCH_TEST_UNSET_TOKEN"')):
        done = subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(_config(hostile, web)), "serve",
                               "--port", "0", *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and ("refusing" in lines[0] or "not set" in lines[0]), done.stderr


def test_with_a_token_requests_without_it_get_401(hostile: dict[str, Any]) -> None:
    config = _config(hostile, 'token_env = "TOS_WATCH_TEST_TOKEN"')
    with serving(config, "--host", "0.0.0.0", env={"TOS_WATCH_TEST_TOKEN": "s3cret-token"}) as s:
        url = s.url.replace("0.0.0.0", "127.0.0.1")
        for path in ("", "api/v1/services"):
            bare = httpx.get(url + path)
            assert bare.status_code == 401 and bare.json()["status"] == 401
            assert bare.headers["www-authenticate"] == "Bearer"
            wrong = httpx.get(url + path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            ok = httpx.get(url + path, headers={"Authorization": "Bearer s3cret-token"})
            assert ok.status_code == 200
