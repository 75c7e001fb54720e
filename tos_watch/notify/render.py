"""Render a digest as an email: HTML (autoescaped Jinja2, CSS inlined) and plain text.

Autoescape is on for the HTML template, so a policy page containing `<script>` or
markup is shown as text, never injected. Email clients drop <style> blocks, so
css_inline moves the stylesheet into style attributes. A digest whose message would
exceed the size budget is rebuilt with fewer changes listed (the rest summarised).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined

from tos_watch.notify.digest import Digest

MAX_BYTES = 2_000_000  # well under common 10-25 MB limits, and still readable
_html_env = Environment(loader=PackageLoader("tos_watch.notify", "templates"), autoescape=True,
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_text_env = Environment(loader=PackageLoader("tos_watch.notify", "templates"), autoescape=False,
                        undefined=StrictUndefined, trim_blocks=False, lstrip_blocks=True,
                        keep_trailing_newline=True)
_inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def render_html(digest: Digest) -> str:
    """The HTML part, with the stylesheet inlined for email clients."""
    return _inliner.inline(_html_env.get_template("digest.html.j2").render(digest=digest))


def render_text(digest: Digest) -> str:
    """The plain-text part: the same content, edits marked [-removed-] {+added+}."""
    text = _text_env.get_template("digest.txt.j2").render(digest=digest)
    return re.sub(r"\n{3,}", "\n\n", text)


def render_capped(build: Callable[[int], Digest], max_changes: int,
                  budget: int = MAX_BYTES) -> tuple[Digest, str, str]:
    """Render the digest `build(n)` with the largest n <= max_changes whose email fits the budget."""
    n = max_changes
    while True:
        digest = build(n)
        html, text = render_html(digest), render_text(digest)
        if len(html.encode()) + len(text.encode()) <= budget or n == 0:
            return digest, html, text
        n //= 2


def one_line(value: str) -> str:
    """Header-safe text: no line breaks can reach a header (no header injection)."""
    return " ".join(value.split())


def build_message(digest: Digest, html: str, text: str, *, sender: str, message_id: str | None = None) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML preferred by capable clients."""
    msg = EmailMessage()
    msg["From"] = one_line(sender)
    msg["To"] = one_line(digest.subscriber)
    msg["Subject"] = one_line(digest.subject)
    msg["Date"] = formatdate(digest.generated_at.timestamp(), localtime=False)
    msg["Message-ID"] = message_id or new_message_id()
    msg["X-Tos-Watch-Changes"] = str(len(digest.version_ids))
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


def new_message_id() -> str:
    return make_msgid(idstring="digest", domain="tos-watch.local")
