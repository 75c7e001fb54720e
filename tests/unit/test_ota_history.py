"""Reading an OTA versions repository: which commits are versions, their dates and texts.

The repository is made here with the git CLI, one commit per recorded version, the
way OTA writes them; both readers (git CLI, dulwich) must agree on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tos_watch.ota.history import (
    HistoryError,
    document_of,
    is_technical,
    iter_versions,
    iter_versions_dulwich,
    list_versions,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="the git CLI is needed to build the repository")

COMMITS: list[tuple[str, str, dict[str, str | None]]] = [  # (date, title, {path: text or None to delete})
    ("2019-03-01T10:00:00Z", "Start tracking Ring Privacy Policy", {"Ring/Privacy Policy.md": "v1\n"}),
    ("2020-05-02T11:00:00Z", "Update Ring Privacy Policy", {"Ring/Privacy Policy.md": "v2\n"}),
    ("2020-06-01T00:00:00Z", "Refilter Ring Privacy Policy", {"Ring/Privacy Policy.md": "v2 refiltered\n"}),
    ("2021-01-01T00:00:00Z", "Add README", {"README.md": "versions of terms\n"}),
    ("2023-07-04T09:30:00Z", "First record of Wö’s Café Terms of Service",
     {"Wö’s Café/Terms of Service.md": "terms é\n"}),
    ("2024-02-02T02:02:02Z", "Apply technical or declaration upgrade on Ring Privacy Policy",
     {"Ring/Privacy Policy.md": "v2 upgraded\n"}),
    ("2024-03-03T03:03:03Z", "Record new changes of Ring Privacy Policy", {"Ring/Privacy Policy.md": "v3\n"}),
    ("2024-04-04T04:04:04Z", "Record new changes of Ring Privacy Policy", {"Ring/Privacy Policy.md": None}),
]
EXPECTED = [
    ("Ring", "Privacy Policy", "2019-03-01T10:00:00+00:00", "v1\n"),
    ("Ring", "Privacy Policy", "2020-05-02T11:00:00+00:00", "v2\n"),
    ("Wö’s Café", "Terms of Service", "2023-07-04T09:30:00+00:00", "terms é\n"),
    ("Ring", "Privacy Policy", "2024-03-03T03:03:03+00:00", "v3\n"),
]


def _commit(repo: Path, date: str, title: str, files: dict[str, str | None]) -> None:
    for name, text in files.items():
        path = repo / name
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_NAME": "OTA",
           "GIT_AUTHOR_EMAIL": "bot@example.org", "GIT_COMMITTER_NAME": "OTA",
           "GIT_COMMITTER_EMAIL": "bot@example.org"}
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", title], check=True, env=env)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("versions")
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    for date, title, files in COMMITS:
        _commit(path, date, title, files)
    return path


def _flat(versions: object) -> list[tuple[str, str, str, str]]:
    return [(v.service, v.type, v.recorded_at.isoformat(), v.text) for v in versions]  # type: ignore[attr-defined]


def test_git_reader_lists_real_versions_with_commit_dates(repo: Path) -> None:
    assert _flat(iter_versions(repo)) == EXPECTED
    listing = list_versions(repo)
    assert (listing.technical_skipped, listing.other_files, listing.deleted) == (2, 1, 1)
    assert all(len(e.commit) == 40 for e in listing.entries)


def test_dulwich_reader_agrees_with_git(repo: Path) -> None:
    assert _flat(iter_versions_dulwich(repo)) == EXPECTED
    assert [v.commit for v in iter_versions_dulwich(repo)] == [v.commit for v in iter_versions(repo)]


@pytest.mark.parametrize("services", [["ring"], ["RING"], ["Wö’s Café"], ["Ring", "wö’s café"], ["Nobody"]])
def test_service_filter_is_case_insensitive(repo: Path, services: list[str]) -> None:
    wanted = {s.casefold() for s in services}
    expected = [e for e in EXPECTED if e[0].casefold() in wanted]
    assert _flat(iter_versions(repo, services)) == expected
    assert _flat(iter_versions_dulwich(repo, services)) == expected


@pytest.mark.parametrize(("title", "technical"), [
    ("Apply technical or declaration upgrade on X Y", True), ("Refilter X Y", True),
    ("Record new changes of X Y", False), ("First record of X Y", False), ("Update X Y", False),
    ("Start tracking X Y", False),
])
def test_technical_titles(title: str, technical: bool) -> None:
    assert is_technical(title) is technical


@pytest.mark.parametrize(("path", "expected"), [
    ("Ring/Privacy Policy.md", ("Ring", "Privacy Policy")), ("README.md", None),
    ("Ring/sub/Privacy Policy.md", None), ("Ring/Privacy Policy.html", None), (".github/x.md", None),
])
def test_document_of(path: str, expected: tuple[str, str] | None) -> None:
    assert document_of(path) == expected


def test_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match="not a git repository"):
        list(iter_versions(tmp_path))


def test_dates_are_aware_utc(repo: Path) -> None:
    first = next(iter(iter_versions(repo)))
    assert first.recorded_at == datetime(2019, 3, 1, 10, 0, tzinfo=timezone.utc)
