"""Immediate alerts through REAL receivers on loopback: an HTTP server taking Apprise's json:// and
form:// posts, and the aiosmtpd server for e-mail, over a real SQLite store of real corpus changes.

What must hold: one alert per change per channel; a channel down is retried with backoff and
delivers once after it is back, without resending on the channels that accepted; a crash
between a channel's acceptance and the bookkeeping does not resend; filters and levels apply;
hostile page text is inert in every format; secrets never reach a message, the store or a log.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from tests.integration.test_digest_delivery import SmtpServer, body, free_port, record_change
from tos_watch.classify import assess
from tos_watch.config import DigestSettings, Settings, SmtpSettings, StorageSettings, Subscriber, WebSettings
from tos_watch.models import Document, Source
from tos_watch.notify.alerts import failing_channels, send_alerts
from tos_watch.notify.deliver import prepare
from tos_watch.notify.feed import build_feed
from tos_watch.notify.send import SmtpSender
from tos_watch.store import open_store
from tos_watch.store.alerts import AlertLog


class Receiver:
    """A loopback HTTP server recording each POST (path, decoded body); stoppable and restartable on its port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    data = json.loads(raw)
                else:
                    data = {k: v[0] for k, v in parse_qs(raw).items()}
                posts.append((self.path.split("?")[0], data))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)  # bound: ready when this returns
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            assert self.thread is not None
            self.thread.join(10)
            self.server = None

    def at(self, path: str) -> list[dict[str, Any]]:
        return [data for p, data in self.posts if p == path]

    def url(self, scheme: str, path: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    s = open_store(StorageSettings(dir=tmp_path / "data"))
    yield s
    s.close()


def make_settings(tmp_path: Path, smtp_port: int | None, *subs: Subscriber, base_url: str | None = None) -> Settings:
    smtp = SmtpSettings(host="127.0.0.1", port=smtp_port, starttls=False, timeout=5) if smtp_port else None
    return Settings(storage=StorageSettings(dir=tmp_path / "data"), smtp=smtp, subscribers=subs,
                    digest=DigestSettings(backlog="30d", retry="20s", retry_max="40s"),
                    web=WebSettings(base_url=base_url))


def alerts(settings: Settings, store: Any, now: datetime | None = None) -> list[tuple[str, str, int | None]]:
    sender = SmtpSender(settings.smtp) if settings.smtp else None
    return [(r.channel, r.status, r.version_id) for r in send_alerts(settings, store, sender, now=now)]


def test_one_alert_per_change_per_channel(tmp_path: Path, store: Any, receiver: Receiver,
                                          smtp_server: SmtpServer) -> None:
    version = record_change(store, "Academia.edu", 2, datetime.now(timezone.utc) - timedelta(minutes=1))
    desk = Subscriber("desk@example.org", alert="high",
                      notify=(receiver.url("json", "/desk"), receiver.url("form", "/desk-form")))
    settings = make_settings(tmp_path, smtp_server.port, desk, base_url="https://tos.example.org/watch")
    assert sorted(s for _, s, _ in alerts(settings, store)) == ["sent", "sent", "sent"]
    assert alerts(settings, store) == []  # nothing twice
    [posted], [form] = receiver.at("/desk"), receiver.at("/desk-form")
    [mail] = smtp_server.handler.to("desk@example.org")
    link = f"https://tos.example.org/watch/services/Academia.edu/Privacy%20Policy/changes/{version}"
    for text in (posted["message"], form["message"], body(mail)):
        assert "Academia.edu / Privacy Policy" in text and "high" in text and "access broadens" in text
        assert link in text
    assert "{+" in posted["message"] or "[-" in posted["message"]  # the flagged clause, edits marked
    assert "<ins>" in body(mail) or "<del>" in body(mail)
    assert posted["title"] == "tos-watch: high change in Academia.edu / Privacy Policy"
    digest, html, text = prepare(settings, store, desk, datetime.now(timezone.utc))
    assert "(alerted)" in text and ">alerted<" in html  # the digest still lists it, marked


def test_channel_down_then_up_delivers_once_without_resending_others(
        tmp_path: Path, store: Any, receiver: Receiver, smtp_server: SmtpServer) -> None:
    first = record_change(store, "Proctorio", 0, datetime.now(timezone.utc) - timedelta(minutes=3))
    desk = Subscriber("desk@example.org", alert="medium", notify=(receiver.url("json", "/desk"),))
    settings = make_settings(tmp_path, smtp_server.port, desk)
    receiver.stop()
    results = alerts(settings, store)
    assert sorted(s for _, s, _ in results) == ["failed", "sent"]  # e-mail accepted, the webhook down
    state = AlertLog(store.engine).channels()
    [down] = [c for c in state.values() if c.failures]
    assert down.next_attempt_at is not None and "127.0.0.1" in down.display
    assert alerts(settings, store) == []  # backing off: no attempt before its time
    second = record_change(store, "Proctorio", 1, datetime.now(timezone.utc) - timedelta(minutes=1))
    receiver.start()
    later = datetime.now(timezone.utc) + timedelta(minutes=1)
    results = alerts(settings, store, now=later)
    assert sorted(results) == sorted([(f"json://127.0.0.1:{receiver.port}/…", "sent", first),
                                      (f"json://127.0.0.1:{receiver.port}/…", "sent", second),
                                      ("email desk@example.org", "sent", second)])
    assert len(receiver.at("/desk")) == 2 and len(smtp_server.handler.to("desk@example.org")) == 2
    assert alerts(settings, store, now=later + timedelta(minutes=1)) == []


def test_a_channel_that_keeps_failing_is_reported(tmp_path: Path, store: Any) -> None:
    record_change(store, "Academia.edu", 2, datetime.now(timezone.utc) - timedelta(minutes=1))
    port = free_port()  # nothing listens there
    desk = Subscriber("desk@example.org", alert="low", notify=(f"json://127.0.0.1:{port}/gone",))
    settings = make_settings(tmp_path, None, desk)
    now = datetime.now(timezone.utc)
    for i in range(3):
        assert [s for _, s, _ in alerts(settings, store, now=now + timedelta(minutes=i))] == ["failed", "failed"]
    failing = {c.display for c in failing_channels(store, desk.key)}
    assert failing == {"email desk@example.org", f"json://127.0.0.1:{port}/…"}
    digest, html, text = prepare(settings, store, desk, datetime.now(timezone.utc))
    assert "alert channel json://127.0.0.1" in text and "3 failures in a row" in html
    from tos_watch.cli.daemon_cmds import collect

    shown = {c["channel"]: c for c in collect(settings, store)["alert_channels"]}  # what `status` prints
    assert shown[f"json://127.0.0.1:{port}/…"]["failing"] and shown[f"json://127.0.0.1:{port}/…"]["failures"] == 3


def test_notify_test_says_which_channels_work(tmp_path: Path, receiver: Receiver, smtp_server: SmtpServer) -> None:
    down = f"form://127.0.0.1:{free_port()}/nobody"
    config = tmp_path / "tos-watch.toml"
    config.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n'
                      f'[smtp]\nhost = "127.0.0.1"\nport = {smtp_server.port}\nstarttls = false\n'
                      f'[[subscribers]]\nemail = "desk@example.org"\nalert = "high"\n'
                      f'notify = ["{receiver.url("json", "/t")}", "{down}"]\n')
    result = subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), "notify", "--test",
                             "DESK@example.org"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"json://127.0.0.1:{receiver.port}/…: ok"
    assert lines[1].startswith("form://127.0.0.1:") and ": FAILED: " in lines[1]
    assert lines[2] == "email desk@example.org: ok"
    assert receiver.at("/t")[0]["title"] == "tos-watch: test alert"
    assert smtp_server.handler.to("desk@example.org")[0]["Subject"] == "tos-watch: test alert"


CRASH_AFTER_ACCEPTANCE = """
import os, sys
from datetime import datetime, timezone
from tos_watch.config import Settings, StorageSettings, Subscriber
from tos_watch.notify.alerts import send_alerts
from tos_watch.store import open_store
from tos_watch.store.alerts import AlertLog

AlertLog.sent = lambda *a, **k: os._exit(9)  # the channel accepted; the process dies before the bookkeeping
sub = Subscriber(name="desk", alert="low", notify=(sys.argv[2],))
settings = Settings(storage=StorageSettings(dir=__import__("pathlib").Path(sys.argv[1])), subscribers=(sub,))
send_alerts(settings, open_store(settings.storage), None)
"""


def test_crash_between_acceptance_and_bookkeeping_does_not_resend(tmp_path: Path, store: Any,
                                                                  receiver: Receiver) -> None:
    record_change(store, "Academia.edu", 2, datetime.now(timezone.utc) - timedelta(minutes=1))
    url = receiver.url("json", "/desk")
    crashed = subprocess.run([sys.executable, "-c", CRASH_AFTER_ACCEPTANCE, str(tmp_path / "data"), url],
                             capture_output=True, timeout=120)
    assert crashed.returncode == 9, crashed.stderr.decode()[-2000:]
    assert len(receiver.at("/desk")) == 1
    settings = make_settings(tmp_path, None, Subscriber(name="desk", alert="low", notify=(url,)))
    journal = AlertLog(store.engine)
    assert [r["status"] for r in journal.history()] == ["sending"]
    assert len(journal.resolve_interrupted(datetime.now(timezone.utc))) == 1  # what a restart does first
    assert alerts(settings, store) == []
    assert len(receiver.at("/desk")) == 1 and [r["status"] for r in journal.history()] == ["uncertain"]


def test_filters_and_levels(tmp_path: Path, store: Any, receiver: Receiver) -> None:
    now = datetime.now(timezone.utc)
    medium = record_change(store, "Proctorio", 0, now - timedelta(minutes=2))  # disputes broadens, medium
    high = record_change(store, "Academia.edu", 2, now - timedelta(minutes=1))  # access broadens, high

    def sub(name: str, **kw: Any) -> Subscriber:
        return Subscriber(name=name, notify=(receiver.url("json", f"/{name}"),), **kw)

    settings = make_settings(tmp_path, None, sub("high", alert="high"), sub("medium", alert="medium"),
                             sub("proctorio", alert="low", services=("proctorio",)),
                             sub("biometrics", alert="low", categories=("biometrics",)),
                             sub("min-high", alert="low", min_severity="high"), sub("off"))
    alerts(settings, store)
    got = {name: sorted(p["message"].split(" / ")[0] for p in receiver.at(f"/{name}"))
           for name in ("high", "medium", "proctorio", "biometrics", "min-high", "off")}
    assert got == {"high": ["Academia.edu"], "medium": ["Academia.edu", "Proctorio"], "proctorio": ["Proctorio"],
                   "biometrics": [], "min-high": ["Academia.edu"], "off": []}
    assert medium and high


HOSTILE_OLD = "## Sharing\n\nWe share your data with **nobody**."
HOSTILE_NEW = ("## Sharing\n\nWe share your data with **[our partners](javascript:alert(1))** "
               "<script>alert(2)</script> and sell it to:\n\n| Advertisers | Brokers |\n|---|---|\n"
               "| who keep it | forever |")


def test_hostile_page_text_is_inert_in_every_format(tmp_path: Path, store: Any, receiver: Receiver,
                                                    smtp_server: SmtpServer) -> None:
    doc = Document("Evil <b>Corp</b>", "Privacy Policy", (Source("https://evil.example/p"),))
    now = datetime.now(timezone.utc)
    store.record_version(doc, HOSTILE_OLD, now - timedelta(minutes=2), origin="fetch")
    store.record_version(doc, HOSTILE_NEW, now - timedelta(minutes=1), origin="fetch",
                         assessment=assess(HOSTILE_OLD, HOSTILE_NEW).to_json())
    desk = Subscriber("desk@example.org", alert="low", min_severity="none", notify=(receiver.url("json", "/d"),))
    settings = make_settings(tmp_path, smtp_server.port, desk)
    assert sorted(s for _, s, _ in alerts(settings, store)) == ["sent", "sent"]
    [posted] = receiver.at("/d")
    [mail] = smtp_server.handler.to("desk@example.org")
    html_part = next(p.get_payload(decode=True).decode() for p in mail.walk() if p.get_content_type() == "text/html")
    _digest, digest_html, digest_text = prepare(settings, store, desk, datetime.now(timezone.utc))
    feed = build_feed(store.changes_since(None), limit=5).decode()
    for name, text in {"json": posted["message"], "mail": body(mail), "digest text": digest_text,
                       "digest html": digest_html, "feed": feed}.items():
        assert "javascript:" not in text and "**" not in text and "| Advertisers |" not in text, name
        assert "our partners" in text, name
    for html in (html_part, digest_html):
        assert "<script" not in html and "<b>Corp" not in html and "&lt;b&gt;Corp" in html
    assert "<script" not in feed


def test_secrets_are_read_from_the_environment_and_never_kept(tmp_path: Path, store: Any, receiver: Receiver,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    record_change(store, "Academia.edu", 2, datetime.now(timezone.utc) - timedelta(minutes=1))
    os.environ["TOS_WATCH_TEST_HOOK_TOKEN"] = "s3cr3t-token-value"
    try:
        url = f"json://hook:${{TOS_WATCH_TEST_HOOK_TOKEN}}@127.0.0.1:{receiver.port}/secret"
        settings = make_settings(tmp_path, None, Subscriber(name="desk", alert="low", notify=(url,)))
        assert [s for _, s, _ in alerts(settings, store)] == ["sent"]
        receiver.stop()
        record_change(store, "Proctorio", 0, datetime.now(timezone.utc))
        assert [s for _, s, _ in alerts(settings, store)] == ["failed"]
    finally:
        del os.environ["TOS_WATCH_TEST_HOOK_TOKEN"]
    assert len(receiver.at("/secret")) == 1
    with store.engine.connect() as c:
        dump = "\n".join(str(tuple(r)) for t in ("alerts", "alert_targets")
                         for r in c.exec_driver_sql(f"SELECT * FROM {t}"))
    assert "s3cr3t" not in dump and "127.0.0.1" in dump
    assert "alert not delivered" in caplog.text and "s3cr3t" not in caplog.text  # Apprise's own logs included
