"""Digest delivery against a REAL SMTP server (aiosmtpd on loopback) and a real SQLite store.

Each test records real classified corpus changes in a fresh store, then sends digests
while the server accepts, refuses (550/451), disappears or reappears. What must hold:
a change is marked delivered only after the server accepted the message, nothing is
lost when sending fails, and nothing is sent twice, even across a crash after acceptance.
"""

from __future__ import annotations

import email
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tos_watch.classify import assess
from tos_watch.config import Settings, SmtpSettings, StorageSettings, Subscriber
from tos_watch.models import Document, Source
from tos_watch.notify.deliver import send_digests
from tos_watch.notify.digest import build_digest
from tos_watch.notify.render import build_message, render_html, render_text
from tos_watch.notify.send import SendError, SmtpSender
from tos_watch.store import open_store
from tos_watch.store.delivery import DeliveryLog

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"


def free_port() -> int:
    """aiosmtpd's Controller cannot take port 0: find a free port by binding one first."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    """An aiosmtpd handler that records accepted messages, or refuses them on demand."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse: str | None = None  # e.g. "550 5.7.1 rejected" or "451 4.3.0 try later"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.refuse:
            return self.refuse
        self.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[arg-type]
        return "250 2.0.0 OK queued"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


class SmtpServer:
    """A loopback SMTP server that can be stopped and started again on the same port."""

    def __init__(self, **controller_options: Any) -> None:
        self.port = free_port()
        self.handler = Recorder()
        self.options = controller_options
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()  # returns once the server answers: no sleep needed

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def corpus_texts(service: str, doc: str) -> list[str]:
    folder = CORPUS / service / doc
    if not folder.is_dir():
        pytest.skip("../shared/corpus not found")
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))]


DOCS = {"Academia.edu": Document("Academia.edu", "Privacy Policy", (Source("https://academia.example/p"),)),
        "Proctorio": Document("Proctorio", "Terms of Service", (Source("https://proctorio.example/t"),))}


def record_change(store: Any, name: str, i: int, at: datetime) -> int:
    """Record versions i and i+1 of a corpus document, the second with its real assessment."""
    doc = DOCS[name]
    texts = corpus_texts(doc.service, doc.type)
    if store.latest_version(doc) is None:
        store.record_version(doc, texts[i], at - timedelta(minutes=5), origin="fetch")
    v = store.record_version(doc, texts[i + 1], at, origin="fetch",
                             assessment=assess(texts[i], texts[i + 1]).to_json())
    assert v is not None
    return int(v.id)


def make_settings(tmp_path: Path, port: int | None, subscribers: tuple[Subscriber, ...], **smtp: Any) -> Settings:
    smtp_settings = SmtpSettings(host="127.0.0.1", port=port, starttls=False, timeout=5, **smtp) if port else None
    return Settings(storage=StorageSettings(dir=tmp_path / "data"), smtp=smtp_settings, subscribers=subscribers,
                    digest=__import__("tos_watch.config", fromlist=["DigestSettings"]).DigestSettings(
                        backlog="30d", retry="1s", retry_max="10s"))


ALL = Subscriber("all@example.org")
PROCTORIO_ONLY = Subscriber("p@example.org", services=("proctorio",), categories=("biometrics",),
                            min_severity="medium")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    s = open_store(StorageSettings(dir=tmp_path / "data"))
    yield s
    s.close()


def send(settings: Settings, store: Any, **kw: Any) -> dict[str, str]:
    sender = SmtpSender(settings.smtp) if settings.smtp else __import__(
        "tos_watch.notify.send", fromlist=["OutboxSender"]).OutboxSender(settings.outbox)
    return {r.subscriber: r.status for r in send_digests(settings, store, sender, **kw)}


def test_one_digest_per_subscriber_with_filters(tmp_path: Path, store: Any, smtp_server: SmtpServer) -> None:
    now = datetime.now(timezone.utc)
    record_change(store, "Academia.edu", 2, now - timedelta(hours=2))  # access broadens, high
    record_change(store, "Proctorio", 1, now - timedelta(hours=1))  # biometrics broadens
    settings = make_settings(tmp_path, smtp_server.port, (ALL, PROCTORIO_ONLY))
    assert send(settings, store) == {"all@example.org": "sent", "p@example.org": "sent"}
    everyone, filtered = smtp_server.handler.to("all@example.org"), smtp_server.handler.to("p@example.org")
    assert len(everyone) == 1 and len(filtered) == 1
    assert "Academia.edu" in body(everyone[0]) and "Proctorio" in body(everyone[0])
    assert "Proctorio" in body(filtered[0]) and "Academia.edu" not in body(filtered[0])
    assert send(settings, store) == {"all@example.org": "empty", "p@example.org": "empty"}
    assert len(smtp_server.handler.messages) == 2  # nothing twice


def body(msg: Message) -> str:
    return "".join(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_maintype() == "text")


@pytest.mark.parametrize("reply", ["550 5.7.1 message refused", "451 4.3.0 try again later"])
def test_refused_then_accepted_loses_nothing(tmp_path: Path, store: Any, smtp_server: SmtpServer,
                                             reply: str) -> None:
    now = datetime.now(timezone.utc)
    first = record_change(store, "Academia.edu", 2, now - timedelta(hours=1))
    settings = make_settings(tmp_path, smtp_server.port, (ALL,))
    smtp_server.handler.refuse = reply
    assert send(settings, store) == {"all@example.org": "failed"}
    journal = DeliveryLog(store.engine)
    assert journal.delivered(ALL.email) == set()
    assert journal.retry_state()[ALL.email][0] == 1
    second = record_change(store, "Proctorio", 1, now)  # more changes arrive while the server refuses
    smtp_server.handler.refuse = None
    assert send(settings, store) == {"all@example.org": "sent"}
    [msg] = smtp_server.handler.messages
    assert "Academia.edu" in body(msg) and "Proctorio" in body(msg)
    assert journal.delivered(ALL.email) == {first, second}
    assert journal.retry_state()[ALL.email] == (0, None)
    assert [d.status for d in journal.history(ALL.email)] == ["failed", "sent"]


def test_server_down_then_back(tmp_path: Path, store: Any, smtp_server: SmtpServer) -> None:
    record_change(store, "Academia.edu", 2, datetime.now(timezone.utc))
    settings = make_settings(tmp_path, smtp_server.port, (ALL,))
    smtp_server.stop()
    assert send(settings, store) == {"all@example.org": "failed"}
    journal = DeliveryLog(store.engine)
    failures, retry_at = journal.retry_state()[ALL.email]
    assert failures == 1 and retry_at is not None
    assert send(settings, store, only_due_retries=True, now=retry_at - timedelta(seconds=1)) == {}  # backoff
    smtp_server.start()
    assert send(settings, store, only_due_retries=True, now=retry_at + timedelta(seconds=1)) == {
        "all@example.org": "sent"}
    assert len(smtp_server.handler.messages) == 1


def test_crash_after_acceptance_never_sends_twice(tmp_path: Path, store: Any, smtp_server: SmtpServer) -> None:
    """The server accepted, then we died before recording it: the restart must not resend."""
    now = datetime.now(timezone.utc)
    vid = record_change(store, "Academia.edu", 2, now - timedelta(hours=1))
    settings = make_settings(tmp_path, smtp_server.port, (ALL,))
    journal = DeliveryLog(store.engine)
    journal.register([ALL.email], now, timedelta(days=30))
    # What send_one does, stopped right after the server's 250 (the crash):
    change = store.changes_since(None)
    digest = build_digest(ALL, change, [], now, max_changes=10)
    msg = build_message(digest, render_html(digest), render_text(digest), sender="t <t@example.org>")
    journal.start(ALL.email, str(msg["Message-ID"]), [vid], "smtp", now)
    SmtpSender(settings.smtp).send(msg)  # type: ignore[arg-type]
    # The restart (a new store handle, as a new process would open):
    store2 = open_store(settings.storage)
    interrupted = DeliveryLog(store2.engine).resolve_interrupted(datetime.now(timezone.utc))
    assert [r.message_id for r in interrupted] == [str(msg["Message-ID"])]
    assert send(settings, store2) == {"all@example.org": "empty"}
    assert len(smtp_server.handler.messages) == 1
    # The next real digest names the message that may not have arrived.
    record_change(store2, "Proctorio", 1, datetime.now(timezone.utc))
    assert send(settings, store2) == {"all@example.org": "sent"}
    last = smtp_server.handler.messages[-1]
    assert str(msg["Message-ID"]) in body(last) and "Academia.edu" not in body(last)
    store2.close()


def test_outbox_without_smtp(tmp_path: Path, store: Any) -> None:
    record_change(store, "Academia.edu", 2, datetime.now(timezone.utc))
    settings = make_settings(tmp_path, None, ())
    assert send(settings, store) == {"tos-watch@localhost": "sent"}
    [eml] = list(settings.outbox.glob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes())
    assert msg.get_content_type() == "multipart/alternative" and "Academia.edu" in body(msg)
    assert not list(settings.outbox.glob(".tmp-*"))  # written atomically


# --- TLS and authentication ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("openssl is needed to make a test certificate")
    return key, cert


def authenticator(server: SMTPProtocol, session: Session, envelope: Envelope, mechanism: str,
                  data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alerts", b"s3cret")
    return AuthResult(success=ok, handled=False)


def tls_contexts(key: Path, cert: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    return server, ssl.create_default_context(cafile=str(cert))


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_tls_and_auth(tmp_path: Path, store: Any, certificate: tuple[Path, Path], mode: str,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    server_ctx, client_ctx = tls_contexts(*certificate)
    # aiosmtpd does not see implicit TLS as TLS for AUTH purposes, so only STARTTLS requires it
    options: dict[str, Any] = {"authenticator": authenticator, "auth_require_tls": mode == "starttls"}
    options.update(tls_context=server_ctx, require_starttls=True) if mode == "starttls" else options.update(
        ssl_context=server_ctx)
    server = SmtpServer(**options)
    server.start()
    try:
        record_change(store, "Academia.edu", 2, datetime.now(timezone.utc))
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
        smtp = SmtpSettings(host="127.0.0.1", port=server.port, starttls=mode == "starttls", tls=mode == "implicit",
                            username="alerts", password_env="TEST_SMTP_PASSWORD", timeout=5)
        with pytest.raises(SendError, match="authentication failed"):
            SmtpSender(smtp, context=client_ctx).send(build_message(
                build_digest(ALL, [], [], datetime.now(timezone.utc), max_changes=1), "<p>x</p>", "x",
                sender="t <t@example.org>"))
        monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
        settings = make_settings(tmp_path, None, (ALL,))
        results = send_digests(settings, store, SmtpSender(smtp, context=client_ctx))
        assert [r.status for r in results] == ["sent"]
        assert len(server.handler.messages) == 1
    finally:
        server.stop()
