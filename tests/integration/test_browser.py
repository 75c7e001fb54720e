"""Documents beyond plain HTML, from loopback servers: JavaScript-rendered pages and PDFs.

A JavaScript-rendered policy page is rendered by Playwright + Debian's Chromium.

The page's text exists only after its script runs (inserted after a delay), and it
also asks a second loopback server (another origin) for a tracker: the browser
must wait for the selector, and must never reach the other origin. Skipped with
the reason where Playwright or /usr/bin/chromium is missing; .ci/run installs both.
A generated PDF (and one without a text layer) goes through `tos-watch check` too.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tos_watch.browser import BrowserUnavailable, browser_problem, render_page
from tos_watch.cli import main
from tos_watch.config import load_settings
from tos_watch.extract import extract
from tos_watch.models import Source
from tos_watch.store import open_store

POLICY = "We keep your voice recordings for 30 days and never sell them."


class _Server:
    """A loopback HTTP server in a thread that records every path it was asked for."""

    def __init__(self, pages: dict[str, tuple[str, bytes]]) -> None:
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits.append(self.path)
                content_type, body = pages.get(self.path, ("text/plain", b"not found"))
                self.send_response(200 if self.path in pages else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _page(tracker_url: str) -> bytes:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Privacy</title>
<script src="{tracker_url}/track.js"></script>
<link rel="stylesheet" href="{tracker_url}/style.css"></head>
<body><nav>Home | Products</nav><main id="policy"><p>Loading…</p></main>
<script>
setTimeout(function () {{
  var main = document.getElementById('policy');
  main.innerHTML = '<h1>Privacy Policy</h1><p class="clause">{POLICY}</p>';
}}, 300);
</script></body></html>""".encode()


@pytest.fixture
def servers() -> Iterator[tuple[_Server, _Server]]:
    tracker = _Server({"/track.js": ("application/javascript", b"window.tracked = true;"),
                       "/style.css": ("text/css", b"body{}")})
    site = _Server({"/privacy": ("text/html; charset=utf-8", _page(tracker.url)),
                    "/terms.txt": ("text/plain; charset=utf-8", b"Plain terms.")})
    yield site, tracker
    site.stop()
    tracker.stop()


needs_browser = pytest.mark.skipif(browser_problem() is not None,
                                   reason=f"browser rendering unavailable: {browser_problem()} "
                                          "(apt-get install chromium; pip install playwright)")


@needs_browser
def test_renders_text_inserted_by_javascript_and_stays_off_other_origins(
        servers: tuple[_Server, _Server]) -> None:
    site, tracker = servers
    result = asyncio.run(render_page(f"{site.url}/privacy", wait_for=[".clause"], timeout=20))
    assert result.status == 200
    assert POLICY.encode() in result.content
    text = extract(result.content, result.content_type, Source(url=f"{site.url}/privacy", select=("#policy",)))
    assert "# Privacy Policy" in text and POLICY in text and "Loading" not in text
    assert tracker.hits == [], "the browser reached an origin other than the page's"
    assert site.hits.count("/privacy") == 1


@needs_browser
def test_wait_is_bounded_when_the_selector_never_appears(servers: tuple[_Server, _Server]) -> None:
    site, _ = servers
    result = asyncio.run(render_page(f"{site.url}/privacy", wait_for=[".never-there"], timeout=2))
    assert result.elapsed < 15
    assert b"policy" in result.content


@needs_browser
def test_non_html_is_returned_as_served(servers: tuple[_Server, _Server]) -> None:
    site, _ = servers
    result = asyncio.run(render_page(f"{site.url}/terms.txt", timeout=20))
    assert result.content == b"Plain terms." and result.content_type.startswith("text/plain")


def _check(tmp_path: Path, entries: str) -> tuple[dict[str, Any], Path]:
    """Run `tos-watch check --json` over a watchlist of the given [[documents]] entries."""
    config = tmp_path / "tos-watch.toml"
    config.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n\n[fetch]\nretries = 1\n\n{entries}',
                      encoding="utf-8")
    result = CliRunner().invoke(main, ["--config", str(config), "check", "--json"])
    return json.loads(result.output), config


def _latest_text(config: Path, service: str) -> str:
    store = open_store(load_settings(str(config)).storage)
    try:
        return store.version_text(store.versions(service)[-1])
    finally:
        store.close()


@needs_browser
def test_browser_document_checks_end_to_end(servers: tuple[_Server, _Server], tmp_path: Path) -> None:
    site, tracker = servers
    report, config = _check(tmp_path, f"""[[documents]]
service = "Scripted"
type = "Privacy Policy"
url = "{site.url}/privacy"
select = [".clause"]
render = "browser"
""")
    assert not report["failed"] and len(report["first_seen"]) == 1, report
    assert _latest_text(config, "Scripted").strip() == POLICY
    assert tracker.hits == []


def test_pdf_document_checks_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("reportlab", reason="reportlab generates the test PDF")
    from tests.unit.test_pdf import CLAUSES, _picture_pdf, _text_pdf

    pdfs = _Server({"/terms.pdf": ("application/pdf", _text_pdf()), "/scan.pdf": ("application/pdf", _picture_pdf())})
    try:
        report, config = _check(tmp_path, f"""[[documents]]
service = "Paper"
type = "Terms of Service"
url = "{pdfs.url}/terms.pdf"

[[documents]]
service = "Scanned"
type = "Terms of Service"
url = "{pdfs.url}/scan.pdf"
""")
    finally:
        pdfs.stop()
    assert [d["service"] for d in report["first_seen"]] == ["Paper"]
    assert [d["service"] for d in report["failed"]] == ["Scanned"]
    assert "no text layer" in report["failed"][0]["error"]
    assert CLAUSES[1] in " ".join(_latest_text(config, "Paper").split())


def test_missing_chromium_is_a_clear_document_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOS_WATCH_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(BrowserUnavailable) as caught:
        asyncio.run(render_page("http://127.0.0.1:9/privacy", wait_for=["main"], timeout=1))
    message = str(caught.value)
    assert "/nonexistent/chromium" in message and "apt-get install chromium" in message
    assert caught.value.transient is False
