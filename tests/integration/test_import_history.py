"""`tos-watch import history`: an OTA-style versions repository built from ../shared/corpus.

The repository holds real texts at their real dates (tests/support/ota_repo.py),
plus technical-upgrade commits wherever the corpus repeats a text. After the import,
`tos-watch history` must list exactly the manifest's versions and dates (a repeated
text is not a new version: OTA recorded a re-extraction there, not a change), each
change classified; importing again adds nothing; diff works across imported versions.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.support.ota_repo import BuiltRepo, build_versions_repo
from tos_watch.cli import main

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="the git CLI builds the test repository")

SUBSET = {"Google Nest", "CafeMom", "TikTok", "WinEveryGame", "Academia.edu"}  # repeats, an empty version


def _corpus(shared_dir: Path) -> Path:
    corpus = shared_dir / "corpus"
    if not (corpus / "manifest.json").is_file():
        pytest.skip(f"{corpus}/manifest.json not found: the corpus histories are needed")
    return corpus


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "tos-watch.toml"
    config.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return config


def _run(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _history(config: Path, service: str) -> list[dict[str, Any]]:
    return json.loads(_run(config, "history", service, "--json"))  # type: ignore[no-any-return]


def _assert_history_matches(config: Path, built: BuiltRepo) -> None:
    for service in sorted({s for s, _ in built.expected}):
        listed = _history(config, service)
        for (s, doc_type), dates in built.expected.items():
            if s != service:
                continue
            got = [v for v in listed if v["type"] == doc_type]
            assert [datetime.fromisoformat(v["recorded_at"]) for v in got] == dates, (service, doc_type)
            assert {v["origin"] for v in got} == {"import"}


@pytest.fixture
def subset_repo(shared_dir: Path, tmp_path: Path) -> BuiltRepo:
    return build_versions_repo(_corpus(shared_dir), tmp_path / "versions", services=SUBSET)


def test_import_lists_the_manifest_versions_and_dates_and_is_idempotent(subset_repo: BuiltRepo,
                                                                        tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = json.loads(_run(config, "import", "history", str(subset_repo.path), "--json"))
    expected_versions = sum(len(d) for d in subset_repo.expected.values())
    assert first["recorded"] == expected_versions
    assert first["technical_skipped"] == subset_repo.technical > 0
    assert first["documents"] == len(subset_repo.expected)
    _assert_history_matches(config, subset_repo)
    again = json.loads(_run(config, "import", "history", str(subset_repo.path), "--json"))
    assert again["recorded"] == 0 and again["already_imported"] == expected_versions


def test_imported_changes_are_classified_and_diffable(subset_repo: BuiltRepo, tmp_path: Path) -> None:
    config = _config(tmp_path)
    _run(config, "import", "history", str(subset_repo.path), "--service", "google nest", "--quiet")
    listed = _history(config, "Google Nest")
    dates = [datetime.fromisoformat(v["recorded_at"]) for v in listed]
    assert dates == subset_repo.expected[("Google Nest", "Privacy Policy")]
    assert dates[-1].year - dates[0].year >= 2  # years of history, not one day of checks
    assert all(v["flags"] for v in listed[1:]), "every imported change carries the classifier's flags"
    table = _run(config, "history", "Google Nest")
    assert "Privacy Policy" in table and f"{dates[0]:%Y-%m-%d}" in table
    unified = _run(config, "diff", "Google Nest", "Privacy Policy", "--format", "unified")
    assert unified.startswith("---") or "@@" in unified
    assert not _history_services(config, "TikTok")  # --service imported only Google Nest


def _history_services(config: Path, service: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["--config", str(config), "history", service, "--json"])
    return json.loads(result.output) if result.exit_code == 0 else []


def test_unknown_service_is_a_clear_error(subset_repo: BuiltRepo, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--config", str(_config(tmp_path)), "import", "history",
                                       str(subset_repo.path), "--service", "Nobody"])
    assert result.exit_code == 2 and "no versions of Nobody" in result.output


def test_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    result = CliRunner().invoke(main, ["--config", str(_config(tmp_path)), "import", "history",
                                       str(tmp_path / "plain")])
    assert result.exit_code == 2 and "not a git repository" in result.output


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_whole_corpus_history_round_trips(shared_dir: Path, tmp_path: Path) -> None:
    """All 83 documents (~740 versions): every manifest date comes back. Slow: it classifies every change."""
    built = build_versions_repo(_corpus(shared_dir), tmp_path / "versions")
    config = _config(tmp_path)
    report = json.loads(_run(config, "import", "history", str(built.path), "--json"))
    assert report["recorded"] == sum(len(d) for d in built.expected.values())
    _assert_history_matches(config, built)
