"""An Atom feed of recent flagged changes, filterable by service and category.

"Flagged" means substantive (not cosmetic) and recorded by a fetch. Entry content
is the digest's own HTML for that change, escaped by Jinja2 like the email, so page
text cannot inject markup into a feed reader either. The daemon can serve it over
HTTP (read-only, loopback by default) when [feed] serve = true.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from feedgen.feed import FeedGenerator
from jinja2 import Environment

from tos_watch.config import CATEGORIES, Settings
from tos_watch.errors import ConfigError
from tos_watch.notify.digest import ChangeView, change_view

_entry = Environment(autoescape=True).from_string(
    "<p><strong>{{ c.severity }}</strong>: {{ c.summary }}</p>"
    "{% for cl in c.clauses %}<p>{% if cl.section %}<em>{{ cl.section }}</em>: {% endif %}"
    "{% for s in cl.segments %}{% if s.kind == 'added' %}<ins>{{ s.text }}</ins>"
    "{% elif s.kind == 'removed' %}<del>{{ s.text }}</del>{% else %}{{ s.text }}{% endif %}{% endfor %}</p>"
    "{% endfor %}")


def flagged(changes: list[Any], services: tuple[str, ...] = (), categories: tuple[str, ...] = ()) -> list[Any]:
    """Substantive fetched changes, optionally limited to some services and categories."""
    for c in categories:
        if c not in CATEGORIES:
            raise ConfigError(f'unknown category "{c}"; one of {", ".join(CATEGORIES)}')
    wanted = {s.casefold() for s in services}
    out = []
    for ch in changes:
        a = ch.version.assessment or {}
        if ch.version.origin != "fetch" or a.get("cosmetic"):
            continue
        if wanted and ch.version.document_service.casefold() not in wanted:
            continue
        if categories and not set(categories) & set(a.get("categories") or {}):
            continue
        out.append(ch)
    return out


def build_feed(changes: list[Any], *, limit: int, link: str = "https://github.com/tos-watch",
               services: tuple[str, ...] = (), categories: tuple[str, ...] = ()) -> bytes:
    """Atom XML of the newest `limit` flagged changes, newest first."""
    fg = FeedGenerator()
    scope = ", ".join(services + categories)
    fg.id("urn:tos-watch:changes" + (":" + scope if scope else ""))
    fg.title("tos-watch: terms changes" + (f" ({scope})" if scope else ""))
    fg.link(href=link, rel="alternate")
    fg.author({"name": "tos-watch"})
    fg.subtitle("Flagged changes to watched privacy policies and terms of service")
    chosen = flagged(changes, services, categories)[-limit:]
    fg.updated(chosen[-1].version.recorded_at if chosen else datetime.now(timezone.utc))
    for ch in chosen:  # feedgen prepends each entry, so oldest-first input gives newest-first output
        _add_entry(fg, change_view(ch))
    return fg.atom_str(pretty=True)  # type: ignore[no-any-return]


def _add_entry(fg: FeedGenerator, c: ChangeView) -> None:
    e = fg.add_entry()
    e.id(f"urn:tos-watch:version:{c.version_id}")
    e.title(f"{c.service} / {c.doc_type}: {c.summary}")
    e.link(href=c.url)
    e.updated(c.recorded_at)
    e.published(c.recorded_at)
    for cat in c.categories:
        e.category(term=cat, label=f"{cat} {c.categories[cat]}")
    e.content(_entry.render(c=c), type="html")


def serve_feed(settings: Settings, store: Any) -> ThreadingHTTPServer:
    """Serve /feed.atom?service=X&category=Y in a daemon thread; returns the server to shut down."""
    limit = settings.feed.entries

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlsplit(self.path)
            if url.path not in ("/", "/feed.atom"):
                self.send_error(404, "only /feed.atom is served")
                return
            q = parse_qs(url.query)
            try:
                body = build_feed(store.changes_since(None), limit=limit, services=tuple(q.get("service", ())),
                                  categories=tuple(q.get("category", ())))
            except ConfigError as exc:
                self.send_error(400, str(exc))
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass  # the daemon's own logs are enough

    server = ThreadingHTTPServer((settings.feed.host, settings.feed.port), Handler)
    threading.Thread(target=server.serve_forever, name="feed", daemon=True).start()
    return server
