"""A document that goes full -> truncated -> full again -> really changed, checked through the store.

A loopback site serves real MediaFire versions (corpus) as HTML; each step is a
`tos-watch check --json`. The truncated capture and the return to the full text
are cosmetic and say so in check, history, diff and the digest; the real edit
after them is flagged with its clause and trigger words in every output.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tos_watch.config import Subscriber
from tos_watch.notify.digest import build_digest
from tos_watch.notify.render import render_html, render_text
from tos_watch.store import open_store

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "MediaFire" / "Terms of Service"
FULL, CUT = "2024-06-19T18-09-44Z.md", "2024-06-22T18-09-24Z.md"
LICENCE = "worldwide, non-exclusive, royalty-free, sub-licensable and transferable limited license"
PAGE: dict[str, bytes] = {"html": b""}


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = PAGE["html"]
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def serve(markdown_text: str) -> None:
    markdown = pytest.importorskip("markdown")
    PAGE["html"] = ("<html><body><nav>Home | Help</nav><main id=\"content\">"
                    + markdown.markdown(markdown_text) + "</main></body></html>").encode()


def tos_watch(config: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    if not CORPUS.is_dir():
        pytest.skip(f"{CORPUS} not found: the corpus in ../shared is needed")
    full = (CORPUS / FULL).read_text(encoding="utf-8")
    edited = full.replace(LICENCE, "worldwide, perpetual, irrevocable, royalty-free, sub-licensable and "
                                   "transferable license")
    return {"full": full, "cut": (CORPUS / CUT).read_text(encoding="utf-8"), "edited": edited}


def test_truncated_restored_then_edited(tmp_path: Path, texts: dict[str, str],
                                        loopback_http: Callable[..., str]) -> None:
    url = loopback_http(_Page) + "terms"
    config = tmp_path / "tos-watch.toml"
    config.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n\n[[documents]]\nservice = "MediaFire"\n'
                      f'type = "Terms of Service"\nurl = "{url}"\nselect = ["#content"]\n')
    checks = []
    for step in ("full", "cut", "full"):
        serve(texts[step])
        checks.append(json.loads(tos_watch(config, "check", "--json")))
    truncated, restored = checks[1]["changed"][0], checks[2]["changed"][0]
    assert truncated["cosmetic"] is True and truncated["artefact"]["kind"] == "truncated"
    assert restored["cosmetic"] is True and restored["artefact"]["kind"] == "restoration"
    assert restored["artefact"]["summary"].startswith("back to the version of ")
    assert restored["artefact"]["summary"].endswith(", after a truncated capture")

    history = json.loads(tos_watch(config, "history", "MediaFire", "--json"))
    assert len(history) == 3
    day = history[0]["recorded_at"][:10]
    assert restored["restores"]["version_id"] == history[0]["id"]
    assert f"(back to the version of {day}, after a truncated capture)" in history[2]["flags"]
    assert "cosmetic" in history[2]["flags"]

    terminal = tos_watch(config, "diff", "MediaFire", "Terms of Service")
    assert f"back to the version of {day}, after a truncated capture" in terminal.splitlines()[0]
    as_json = json.loads(tos_watch(config, "diff", "MediaFire", "Terms of Service", "--format", "json"))
    assert as_json["assessment"]["restores"]["version_id"] == history[0]["id"]
    assert any("back to the version of" in line for line in as_json["explanation"])

    store = open_store(_storage(config))
    try:
        stored = store.version(history[2]["id"]).assessment
        assert stored is not None and stored["restores"]["version_id"] == history[0]["id"]
    finally:
        store.close()

    serve(texts["edited"])
    edited = json.loads(tos_watch(config, "check", "--json"))["changed"][0]
    _assert_edit_explained(edited, config)


def _assert_edit_explained(edited: dict[str, Any], config: Path) -> None:
    """The real edit: flagged, and every output names the clause and the words that raised the flag."""
    assert edited["cosmetic"] is False and edited["categories"].get("licensing") == "broadens"
    flagged = [c for c in edited["changes"] if c.get("categories")]
    assert flagged and all(c["evidence"] for c in flagged)
    assert any("irrevocable" in c["clause"] for c in flagged)
    words = [w for c in flagged for w in c["evidence"].get("licensing", [])]
    assert words

    for fmt in ("terminal", "unified", "html"):
        out = tos_watch(config, "diff", "MediaFire", "Terms of Service", "--format", fmt)
        assert "licensing broadens" in out, fmt
        assert "irrevocable" in out, fmt
        assert any(w in out for w in words), fmt
    as_json = json.loads(tos_watch(config, "diff", "MediaFire", "Terms of Service", "--format", "json"))
    assert any(line.startswith("licensing broadens: ") and "irrevocable" in line for line in as_json["explanation"])
    flagged_json = [c for c in as_json["assessment"]["changes"] if c.get("categories")]
    assert flagged_json and all(c["evidence"] for c in flagged_json)

    store = open_store(_storage(config))
    try:
        changes = store.changes_since()
        digest = build_digest(Subscriber("reader@example.org", include_cosmetic=True), changes, [],
                              datetime.now(UTC), max_changes=50)
    finally:
        store.close()
    text, html = render_text(digest), render_html(digest)
    for out in (text, html):
        assert "Back to the version of" in out
        assert "Why: licensing broadens: " in out
        assert any(w in out for w in words)


def _storage(config: Path) -> Any:
    from tos_watch.config import load_settings

    return load_settings(str(config)).storage
