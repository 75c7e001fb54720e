"""Bad input at the command line: one clear line on stderr, exit status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

GOOD = '[[documents]]\nservice = "Ring"\ntype = "Privacy Policy"\nurl = "https://ring.com/privacy-notice"\n'


def run(tmp_path: Path, toml: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "tos-watch.toml"
    if toml is not None:
        config.write_text(toml)
    return subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)


@pytest.mark.parametrize("toml, args, expected", [
    (None, ["check"], "configuration file not found"),
    ('[[documents]]\nservice = "Ring\n', ["check"], "not valid TOML"),
    (GOOD.replace("url =", "selct = \"#x\"\nurl ="), ["check"], 'unknown key "selct" (did you mean "select"?)'),
    (GOOD.replace("https://", "ftp://"), ["check"], "url must be an http(s) address"),
    (GOOD + GOOD, ["check"], 'duplicate document "Ring / Privacy Policy"'),
    (GOOD.replace("url =", 'select = "div[["\nurl ='), ["check"], 'invalid CSS selector "div[["'),
    (GOOD, ["history", "Nobody"], 'no versions recorded for "Nobody"'),
    (GOOD, ["diff", "Ring", "Privacy Policy", "--from", "last week"], "no versions recorded"),
    (GOOD, ["check", "--service", "Nobody"], "no service named Nobody"),
])
def test_bad_input_is_one_line_exit_2(tmp_path: Path, toml: str | None, args: list[str], expected: str) -> None:
    result = run(tmp_path, toml, *args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_init_writes_a_valid_starter_watchlist(tmp_path: Path) -> None:
    result = run(tmp_path, None, "init")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "tos-watch.toml").read_text()
    assert "https://ring.com/privacy-notice" in text and "https://ring.com/terms" in text
    again = run(tmp_path, None, "init")
    assert again.returncode == 2 and "already exists" in again.stderr
    from tos_watch.config import load_settings

    services = {d.service for d in load_settings(str(tmp_path / "tos-watch.toml")).documents}
    assert {"Ring", "Google Nest", "Amazon.com"} <= services


def test_every_command_has_help() -> None:
    from tos_watch.cli import main

    for name, command in main.commands.items():
        result = subprocess.run([sys.executable, "-m", "tos_watch", name, "--help"], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0 and "Usage:" in result.stdout, name
        assert command.help, f"{name} has no help text"
