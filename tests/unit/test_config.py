"""Config validation: every mistake a hand-written watchlist can hold gives one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tos_watch.config import config_path, load_settings, parse_settings
from tos_watch.errors import ConfigError
from tos_watch.models import RangeSelector

GOOD_DOC = {"service": "Ring", "type": "Privacy Policy", "url": "https://ring.com/privacy-notice"}


def test_minimal_watchlist_gets_defaults() -> None:
    settings = parse_settings({"documents": [GOOD_DOC]}, base=Path("/data"))
    doc = settings.documents[0]
    assert doc.url == "https://ring.com/privacy-notice" and doc.sources[0].select == ()
    assert settings.storage.dir == Path("/data/snapshots")
    assert settings.storage.url == "sqlite:////data/snapshots/tos-watch.db"
    assert settings.schedule.check == "every 6h" and settings.smtp is None


def test_selectors_ranges_and_combine() -> None:
    doc = dict(GOOD_DOC, select=["#content", {"startBefore": "h1", "endAfter": "#end"}], remove=".cookie")
    combined = {"service": "Ring", "type": "Terms", "select": "main",
                "combine": [{"url": "https://ring.com/a"}, {"url": "https://ring.com/b", "select": "#b"}]}
    settings = parse_settings({"documents": [doc, combined]})
    first, second = settings.documents
    assert first.sources[0].select == ("#content", RangeSelector(start_before="h1", end_after="#end"))
    assert first.sources[0].remove == (".cookie",)
    assert [s.url for s in second.sources] == ["https://ring.com/a", "https://ring.com/b"]
    assert second.sources[0].select == ("main",) and second.sources[1].select == ("#b",)


@pytest.mark.parametrize("raw, message", [
    ({"documents": [dict(GOOD_DOC, selct="#x")]}, 'unknown key "selct" (did you mean "select"?)'),
    ({"storag": {}}, 'unknown key "storag" (did you mean "storage"?)'),
    ({"documents": [{"service": "Ring", "type": "Privacy Policy"}]}, 'missing "url"'),
    ({"documents": [dict(GOOD_DOC, url="ftp://ring.com/x")]}, "url must be an http(s) address"),
    ({"documents": [dict(GOOD_DOC, url="ring.com/privacy")]}, "url must be an http(s) address"),
    ({"documents": [{"url": "https://ring.com"}]}, 'needs both "service" and "type"'),
    ({"documents": [GOOD_DOC, dict(GOOD_DOC, url="https://ring.com/other")]},
     'duplicate document "Ring / Privacy Policy" (also documents[0])'),
    ({"documents": [dict(GOOD_DOC, select="div[")]}, 'invalid CSS selector "div["'),
    ({"documents": [dict(GOOD_DOC, remove=["p >> a"])]}, 'invalid CSS selector "p >> a"'),
    ({"documents": [dict(GOOD_DOC, select=[{"startBefore": "h1"}])]}, "a range selector needs one of"),
    ({"documents": [dict(GOOD_DOC, render="chrome")]}, 'render must be "http" or "browser"'),
    ({"documents": [dict(GOOD_DOC, select=3)]}, "a selector must be a CSS string or a range table"),
    ({"documents": {"service": "x"}}, '"documents" must be an array of tables'),
    ({"subscribers": [{"email": "not-an-address"}]}, '"email" must be an email address'),
    ({"subscribers": [{"email": "a@b.org", "categories": ["licence"]}]},
     'unknown category "licence" (did you mean "licensing"?)'),
    ({"subscribers": [{"email": "a@b.org", "min_severity": "urgent"}]}, "min_severity must be one of"),
    ({"smtp": {"port": 25}}, 'missing "host"'),
    ({"smtp": {"host": "h", "password": "hunter2"}}, "secrets are read only from the environment"),
    ({"fetch": {"concurency": 3}}, 'unknown key "concurency" (did you mean "concurrency"?)'),
    ({"fetch": {"concurrency": "many"}}, '"concurrency" has the wrong type'),
    ({"fetch": {"max_bytes": 0}}, '"max_bytes" must be positive'),
    ({"documents": [dict(GOOD_DOC, interval="every fortnight-ish")]}, "interval:"),
    ({"schedule": {"check": "whenever"}}, "whenever"),
    ({"schedule": {"timezone": "Mars/Olympus"}}, 'unknown timezone "Mars/Olympus"'),
])
def test_bad_config_is_one_clear_error(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(raw, source="tos-watch.toml")
    text = str(caught.value)
    assert message in text
    assert text.startswith("tos-watch.toml") and "\n" not in text


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "tos-watch.toml"
    path.write_text('[[documents]]\nservice = "Ring"\ntype = "Privacy Policy\n')
    with pytest.raises(ConfigError, match=r"line 3"):
        load_settings(str(path))


def test_missing_file_suggests_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOS_WATCH_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="tos-watch init"):
        load_settings(None)


def test_config_path_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOS_WATCH_CONFIG", "/etc/env.toml")
    assert config_path("flag.toml") == Path("flag.toml")
    assert config_path(None) == Path("/etc/env.toml")
    monkeypatch.delenv("TOS_WATCH_CONFIG")
    assert config_path(None) == Path("tos-watch.toml")


def test_environment_overrides_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOS_WATCH_STORAGE_DIR", str(tmp_path / "elsewhere"))
    settings = parse_settings({"storage": {"dir": "snapshots"}}, base=Path("/data"))
    assert settings.storage.dir == tmp_path / "elsewhere"
