"""Alert settings and clause text: bad channel config is one line and exit 2; Markdown reads as words."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.unit.test_cli_errors import GOOD, run
from tos_watch.config import parse_settings
from tos_watch.notify.channels import channels_of, display
from tos_watch.notify.plain import markdown_to_text

SUB = '[[subscribers]]\nemail = "desk@example.org"\nalert = "high"\n'


@pytest.mark.parametrize("subscriber, args, expected", [
    (SUB + 'notify = ["nosuch://host/x"]\n', ["check"],
     'subscribers[0] ("desk@example.org"): notify[0] (nosuch://host/…): not a usable Apprise URL (unknown scheme'),
    (SUB + 'notify = ["not a url"]\n', ["status"], 'subscribers[0] ("desk@example.org"): notify[0]: not a channel URL'),
    (SUB + 'notify = ["json://"]\n', ["daemon"], "notify[0] (json://…): not a channel URL"),
    (SUB + 'notify = ["slack://onlyone"]\n', ["daemon"], "notify[0] (slack://onlyone): not a usable Apprise URL"),
    (SUB + 'notify = ["ntfy://ntfy.example.org/${TOS_WATCH_UNSET_SECRET}"]\n', ["check"],
     "${TOS_WATCH_UNSET_SECRET} is not set in the environment"),
    ('[[subscribers]]\nalert = "high"\n', ["check"], 'needs an "email" (for the digest) or "notify" channels'),
    (SUB.replace('"high"', '"urgent"'), ["check"], "alert must be one of none, low, medium, high"),
    ('[web]\nbase_url = "ftp://x"\n', ["check"], "base_url must be an http(s) address"),
])
def test_bad_channel_config_is_one_line_exit_2(tmp_path: Path, subscriber: str, args: list[str],
                                               expected: str) -> None:
    result = run(tmp_path, subscriber + GOOD, *args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["check", "daemon"])
def test_an_empty_watchlist_is_one_line_exit_2(tmp_path: Path, command: str) -> None:
    result = run(tmp_path, f'[storage]\ndir = "{tmp_path / "data"}"\n', command)
    assert result.returncode == 2, result.stderr
    assert "no [[documents]]" in result.stderr and "tos-watch init" in result.stderr
    assert "tos-watch import declarations" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_alert_only_subscriber_and_secret_references(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_TOKEN", "tok-123456")
    settings = parse_settings({"subscribers": [
        {"name": "desk", "alert": "medium", "notify": ["json://user:${HOOK_TOKEN}@hooks.example.org/tos/x"]},
        {"email": "a@example.org"}], "web": {"base_url": "https://tos.example.org/", "port": 1}})
    desk, digest_only = settings.subscribers
    assert (desk.key, desk.alert, desk.email) == ("desk", "medium", None)
    assert digest_only.alert is None and digest_only.notify == ()
    assert settings.web.base_url == "https://tos.example.org"
    [channel] = channels_of(desk)
    assert channel.display == "json://hooks.example.org/…"  # no user, secret, path
    assert channel.mask(f"failed posting to {os.environ['HOOK_TOKEN']}") == "failed posting to ***"
    assert "tok-123456" not in repr(settings) and "tok-123456" not in repr(channel)


@pytest.mark.parametrize("url, shown", [
    ("slack://TokenA/TokenB/TokenC", "slack://TokenA/…"),
    ("ntfy://ntfy.example.org/privacy-desk", "ntfy://ntfy.example.org/…"),
    ("json://127.0.0.1:8080", "json://127.0.0.1:8080"),
    ("mailtos://user:pass@mail.example.org?to=x@y.org", "mailtos://mail.example.org/…"),
])
def test_channel_display_hides_paths_and_credentials(url: str, shown: str) -> None:
    assert display(url) == shown


@pytest.mark.parametrize("markdown, text", [
    ("“**Dailymotion**” may use _your_ videos", "“Dailymotion” may use your videos"),
    ("See [our partners](https://x.example/p) and [x](javascript:alert(1))", "See our partners and x"),
    ("| Data | Purpose |\n|---|---|\n| email | ads |", "Data · Purpose email · ads"),
    ("## Retention\n\n- kept *30* days\n- then `deleted`", "Retention kept 30 days then deleted"),
    ("<script>alert(1)</script> text &amp; more", "alert(1) text & more"),
    ("![a logo](https://x/y.png) owned by us", "a logo owned by us"),
    ("a \\| b", "a | b"),
    ("", ""),
])
def test_markdown_reads_as_text(markdown: str, text: str) -> None:
    assert markdown_to_text(markdown) == text


def test_readme_alert_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's alert example is a configuration that loads, channels and all."""
    import re
    import tomllib

    from tos_watch.notify.channels import check_channels

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Alerts: at once"):]
    toml = re.search(r"```toml\n(.*?)```", section, re.S)
    assert toml is not None
    for name, value in {"SLACK_A": "T1JJ3T3L2", "SLACK_B": "A1BRTD4JD", "SLACK_C": "TIiajkdnlazkcOXrIdevi7FQ",
                        "MATRIX_USER": "desk", "MATRIX_TOKEN": "tok"}.items():
        monkeypatch.setenv(name, value)
    settings = parse_settings(tomllib.loads(toml.group(1)))
    check_channels(settings)
    assert [(s.key, s.alert, len(s.notify)) for s in settings.subscribers] == [
        ("desk@example.org", "high", 3), ("legal-matrix", "medium", 1)]
    assert settings.web.base_url == "https://tos.example.org"
