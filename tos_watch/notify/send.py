"""Handing a message over: SMTP (the only smtplib import) or a local outbox folder of .eml files.

`send()` returns only once the message is accepted (the server's 250 after DATA,
or the file renamed into place); anything else raises SendError, whose message
says what failed and where and whose `transient` flag says whether to retry soon.
Every failure is retried by the caller with backoff anyway: a refused message
(a 5xx) may be accepted after the operator fixes the server.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol

from tos_watch.config import SmtpSettings
from tos_watch.errors import TosWatchError


class SendError(TosWatchError):
    """The message was not accepted; nothing was delivered."""

    def __init__(self, message: str, *, transient: bool) -> None:
        self.transient = transient
        super().__init__(message)


class Sender(Protocol):
    """Something that delivers a whole message or raises SendError."""

    transport: str

    def describe(self) -> str: ...
    def send(self, msg: EmailMessage) -> str: ...


class SmtpSender:
    """SMTP with STARTTLS (port 587), implicit TLS (465) or plain (tests, local relays), and AUTH."""

    transport = "smtp"

    def __init__(self, settings: SmtpSettings, context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.context = context or ssl.create_default_context()

    def describe(self) -> str:
        s = self.settings
        mode = "implicit TLS" if s.tls else "STARTTLS" if s.starttls else "plain"
        return f"smtp://{s.host}:{s.port} ({mode}{', auth as ' + s.username if s.username else ''})"

    def send(self, msg: EmailMessage) -> str:
        """Deliver one message; return the server's acceptance reply."""
        where = f"SMTP server {self.settings.host}:{self.settings.port}"
        try:
            smtp = self._connect()
            try:
                refused = smtp.send_message(msg)
            finally:
                _quit(smtp)  # after acceptance nothing the server says can make this a failure
            if refused:  # one recipient per digest, so a partial refusal is a refusal
                raise SendError(f"{where} refused {', '.join(refused)}", transient=False)
            return f"accepted by {where}"
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"{where}: authentication failed ({exc.smtp_code} {_text(exc.smtp_error)}); "
                            f"check username and ${self.settings.password_env}", transient=False) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = ", ".join(f"{r} {c} {_text(m)}" for r, (c, m) in exc.recipients.items())
            raise SendError(f"{where} refused the recipient: {codes}", transient=_transient(exc.recipients)) from exc
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"{where} refused the message: {exc.smtp_code} {_text(exc.smtp_error)}",
                            transient=400 <= exc.smtp_code < 500) from exc
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise SendError(f"{where} unreachable or failed: {exc.__class__.__name__}: {exc}",
                            transient=True) from exc

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp: smtplib.SMTP
        if s.tls:
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self.context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.starttls and not s.tls:
                smtp.starttls(context=self.context)
                smtp.ehlo()
            if s.username:
                password = s.password
                if password is None:
                    raise SendError(f"SMTP username is set but ${s.password_env or 'password_env'} is not "
                                    "in the environment", transient=False)
                smtp.login(s.username, password)
        except BaseException:
            smtp.close()
            raise
        return smtp


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _transient(recipients: dict[str, tuple[int, bytes]]) -> bool:
    return all(400 <= code < 500 for code, _ in recipients.values())


class OutboxSender:
    """Writes each message as an .eml file in a folder, atomically: no SMTP needed on a fresh machine."""

    transport = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def describe(self) -> str:
        return f"outbox folder {self.folder} (.eml files; no [smtp] configured)"

    def send(self, msg: EmailMessage) -> str:
        """Write to a temporary file, fsync, then rename: a reader never sees half a message."""
        name = _file_name(msg)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as f:
                f.write(msg.as_bytes())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.folder / name)
        except OSError as exc:
            raise SendError(f"cannot write to outbox {self.folder}: {exc}", transient=True) from exc
        return f"written to {self.folder / name}"


def _file_name(msg: EmailMessage) -> str:
    """<UTC time>-<recipient>-<message id>.eml, safe on every file system."""
    when = parsedate_to_datetime(str(msg["Date"])).strftime("%Y%m%dT%H%M%SZ") if msg["Date"] else "undated"
    ident = "".join(ch if ch.isalnum() else "_" for ch in str(msg["Message-ID"]).strip("<>").split("@")[0])
    to = "".join(ch if ch.isalnum() or ch in "@.-" else "_" for ch in str(msg["To"]))
    return f"{when}-{to}-{ident[-24:]}.eml"

