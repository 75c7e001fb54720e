"""Digest selection, model and rendering, on real corpus changes classified by tos_watch itself.

No sockets and no database: changes are built as the store would hand them over.
"""

from __future__ import annotations

import email
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tos_watch.classify import assess
from tos_watch.config import Subscriber
from tos_watch.models import VersionInfo
from tos_watch.notify.digest import build_digest, pending, word_diff
from tos_watch.notify.feed import build_feed
from tos_watch.notify.render import build_message, render_capped, render_html, render_text
from tos_watch.store import ChangeRecord, DocumentState

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


def State(service: str, doc_type: str, url: str, at: datetime | None, status: str | None,  # noqa: N802
          error: str | None) -> DocumentState:
    """A document's last check, as the store reports it."""
    return DocumentState(0, service, doc_type, url, at, status, error, 1, at)


def corpus_change(service: str, doc: str, index: int, vid: int, **overrides: Any) -> ChangeRecord:
    """The index-th real change of a corpus document, classified."""
    folder = CORPUS / service / doc
    if not folder.is_dir():
        pytest.skip("../shared/corpus not found")
    files = sorted(folder.glob("*.md"))
    old, new = files[index].read_text(encoding="utf-8"), files[index + 1].read_text(encoding="utf-8")
    return make_change(service, doc, vid, assess(old, new).to_json(), **overrides)


def make_change(service: str, doc: str, vid: int, assessment: dict[str, Any] | None, *,
                origin: str = "fetch", at: datetime = NOW - timedelta(hours=1)) -> ChangeRecord:
    v = VersionInfo(vid, service, doc, at, f"h{vid}", 100, origin, assessment)
    prev = VersionInfo(vid + 100000, service, doc, at - timedelta(days=1), f"p{vid}", 100)
    return ChangeRecord(v, prev, f"https://example.org/{service}/{doc}".replace(" ", "-"))


def flagged(service: str, vid: int, severity: str, cats: dict[str, str], old: str = "We keep data.",
            new: str = "We keep data forever.", **kw: Any) -> ChangeRecord:
    a = {"cosmetic": False, "categories": cats, "severity": severity,
         "changes": [{"section": "Retention", "old": old, "new": new, "categories": cats,
                      "severity": severity, "summary": "modified", "cosmetic": False}]}
    return make_change(service, "Privacy Policy", vid, a, **kw)


COSMETIC = {"cosmetic": True, "categories": {}, "severity": "none", "changes": []}


def test_filters_services_categories_severity_and_origin() -> None:
    changes = [flagged("Ring", 1, "high", {"retention": "broadens"}),
               flagged("Ring", 2, "low", {"licensing": "broadens"}),
               flagged("Bing", 3, "medium", {"retention": "narrows"}),
               flagged("Ring", 4, "high", {"retention": "broadens"}, origin="reextract"),
               flagged("Ring", 5, "high", {"retention": "broadens"}, origin="import"),
               make_change("Ring", "Terms", 6, COSMETIC)]
    sub = Subscriber("a@b.org", services=("ring",), categories=("retention", "access"), min_severity="medium")
    assert [c.version.id for c in pending(sub, changes, set(), None)] == [1, 6]  # 6: cosmetic, counted
    assert [c.version.id for c in pending(sub, changes, {1}, None)] == [6]
    everyone = Subscriber("all@b.org")
    assert [c.version.id for c in pending(everyone, changes, set(), None)] == [1, 2, 3, 6]
    assert pending(everyone, changes, set(), NOW) == []  # all recorded before the subscriber's start


def test_grouped_by_severity_then_service_cosmetic_counted() -> None:
    changes = [flagged("Ring", 1, "medium", {"retention": "broadens"}),
               flagged("Bing", 2, "high", {"access": "broadens"}),
               flagged("Alexa", 3, "medium", {"licensing": "narrows"}),
               make_change("Ring", "Terms", 4, COSMETIC)]
    d = build_digest(Subscriber("a@b.org"), changes, [], NOW, max_changes=200)
    assert [(g.severity, [s.service for s in g.services]) for g in d.groups] == [
        ("high", ["Bing"]), ("medium", ["Alexa", "Ring"])]
    assert (d.listed, d.cosmetic_count, d.version_ids) == (3, 1, (1, 2, 3, 4))
    text = render_text(d)
    assert "1 cosmetic counted, not listed" in text and "[-data.-] {+data forever.+}" in text
    with_cosmetic = build_digest(Subscriber("a@b.org", include_cosmetic=True), changes, [], NOW, max_changes=200)
    assert with_cosmetic.listed == 4


def test_cosmetic_only_digest_is_empty_and_waits() -> None:
    d = build_digest(Subscriber("a@b.org"), [make_change("Ring", "Terms", 4, COSMETIC)], [], NOW, max_changes=9)
    assert d.empty and d.cosmetic_count == 1


def test_failures_and_suspects_have_their_own_section() -> None:
    states = [State("Ring", "Terms", "https://ring.com/t", NOW, "failed", "HTTP 503 from https://ring.com/t"),
              State("Bing", "Privacy Policy", "https://bing.com/p", NOW, "suspect", None),
              State("Alexa", "Terms", "https://a.com/t", NOW, "unchanged", None)]
    d = build_digest(Subscriber("a@b.org"), [], states, NOW, max_changes=9)
    assert not d.empty and [p.service for p in d.problems] == ["Ring", "Bing"]
    html = render_html(d)
    assert "Failures and documents that may have been withdrawn" in html and "HTTP 503" in html
    assert "withdrawn or broken page" in render_text(d)


def test_word_diff_marks_added_and_removed_words() -> None:
    segs = word_diff("We may share your data with partners.", "We may sell your data to partners.")
    kinds = [(s.kind, s.text.strip()) for s in segs]
    assert ("removed", "share") in kinds and ("added", "sell") in kinds and ("added", "to") in kinds


def test_long_unchanged_runs_are_shortened() -> None:
    body = " ".join(f"w{i}" for i in range(300))
    segs = word_diff(body + " old end.", body + " new end.")
    assert any(s.kind == "gap" for s in segs)
    assert sum(len(s.text.split()) for s in segs) < 60


class _Tags(HTMLParser):
    """Every start tag and attribute a browser would see."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def test_page_text_cannot_inject_html() -> None:
    evil_old = "Our policy. <script>alert('x')</script>"
    evil_new = 'Our policy. <img src=x onerror="alert(1)"><a href="javascript:alert(2)">click</a> <b>bold</b>'
    a = {"cosmetic": False, "categories": {"access": "broadens"}, "severity": "high",
         "summary": "<script>steal()</script> summary",
         "changes": [{"section": "<h1>Sec</h1>", "old": evil_old, "new": evil_new, "categories": {},
                      "severity": "high", "summary": "<i>x</i>"}]}
    change = make_change('Evil <Corp> "x" onclick="y"', "Terms", 9, a)
    d = build_digest(Subscriber("a@b.org"), [change], [], NOW, max_changes=9)
    html = render_html(d)
    parser = _Tags()
    parser.feed(html)
    tags = {t for t, _ in parser.tags}
    assert not tags & {"script", "img", "b", "i", "corp"}  # (h1 is the digest's own title)
    assert "Sec" in html and "&lt;h1&gt;Sec" not in html  # clause text is Markdown reduced to words: tags dropped
    assert not [n for _, attrs in parser.tags for n, _ in attrs if n.startswith("on")]
    hrefs = [v or "" for t, attrs in parser.tags if t == "a" for n, v in attrs if n == "href"]
    assert not [h for h in hrefs if "javascript" in h]
    assert "&lt;script&gt;steal" in html  # the classifier's summary is escaped, not stripped
    assert "click" in html and "bold" in html and "&lt;img" not in html
    feed = build_feed([change], limit=10).decode()
    assert "<script" not in feed and "&lt;script" in feed  # content is escaped HTML inside escaped XML


def test_real_corpus_change_renders_multipart_with_inlined_css() -> None:
    change = corpus_change("Academia.edu", "Privacy Policy", 2, 1)
    d = build_digest(Subscriber("a@b.org"), [change], [], NOW, max_changes=9)
    html, text = render_html(d), render_text(d)
    assert "<style" not in html and 'style="' in html  # CSS inlined for email clients
    assert "<ins" in html or "<del" in html
    msg = build_message(d, html, text, sender="tos_watch <t@example.org>")
    parsed = email.message_from_bytes(msg.as_bytes())
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.get_payload()] == ["text/plain", "text/html"]
    assert parsed["Subject"].startswith("tos-watch digest: 1 change")


def test_hundreds_of_changes_stay_under_the_size_cap() -> None:
    base = corpus_change("Academia.edu", "Privacy Policy", 2, 1)
    many = [ChangeRecord(replace(base.version, id=i, document_service=f"Service {i % 40}"), base.previous, base.url)
            for i in range(1, 601)]
    sub = Subscriber("a@b.org")
    d, html, text = render_capped(lambda n: build_digest(sub, many, [], NOW, max_changes=n), 200, budget=1_500_000)
    assert len(html.encode()) + len(text.encode()) <= 1_500_000
    assert d.listed + d.overflow_count == 600 and d.overflow_count >= 400
    assert len(d.version_ids) == 600  # all covered: the overflow is summarised, not lost
    assert "more changes, not listed to keep this email readable" in html


def test_subject_cannot_inject_headers() -> None:
    change = flagged("Ring\r\nBcc: victim@example.org", 1, "high", {"access": "broadens"})
    d = build_digest(Subscriber("a@b.org"), [change], [], NOW, max_changes=9)
    msg = build_message(d, render_html(d), render_text(d), sender="x <x@example.org>")
    assert msg["Bcc"] is None
