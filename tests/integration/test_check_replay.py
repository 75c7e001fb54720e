"""End to end over the real corpus: `tos-watch check` against the replay site.

Epoch 0 records all 83 documents; after the site moves to epoch 1, exactly the
documents whose text changed are reported; a further check, made without any
conditional-GET help so every page arrives with fresh noise, reports nothing.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import markdown
import pytest
from bs4 import BeautifulSoup

from tests.integration.conftest import PolicySite


def write_watchlist(path: Path, site: PolicySite, documents: list[dict[str, Any]], **fetch: Any) -> Path:
    """A tos-watch.toml watching every given document of the replay site."""
    lines = ['[storage]', f'dir = "{path.parent / "data"}"', "", "[fetch]", "retries = 1", "backoff = 0.05",
             "max_retry_after = 1", "total_timeout = 20"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in fetch.items()]
    for d in documents:
        lines += ["", "[[documents]]", f"service = {json.dumps(d['service'])}",
                  f"type = {json.dumps(d['document'])}", f"url = {json.dumps(site.page(d['url']))}",
                  'select = ["#content"]']
    path.write_text("\n".join(lines) + "\n")
    return path


def tos_watch(config: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=timeout)


def check_json(config: Path) -> dict[str, Any]:
    result = tos_watch(config, "check", "--json")
    assert result.returncode in (0, 1), result.stderr[-3000:]
    return json.loads(result.stdout)


def keys(items: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(i["service"], i["type"]) for i in items}


def rendered(shared: Path, service: str, document: str, index: int) -> str:
    """The HTML the site shows for a document's version `index` (clamped like the site)."""
    manifest = json.loads((shared / "corpus" / "manifest.json").read_text())
    entry = next(e for e in manifest if e["service"] == service and e["document"] == document)
    versions = sorted(entry["versions"], key=lambda v: v["date"])
    file = versions[min(index, len(versions) - 1)]["file"]
    text = (shared / "corpus" / service / document / file).read_text(encoding="utf-8")
    return markdown.markdown(text, extensions=["tables"])


def words(html: str) -> list[str]:
    return BeautifulSoup(html, "lxml").get_text(" ").split()


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory, policy_site: PolicySite) -> dict[str, Any]:
    """Run the three checks once for the module's assertions."""
    tmp = tmp_path_factory.mktemp("replay")
    documents = policy_site.documents()
    config = write_watchlist(tmp / "tos-watch.toml", policy_site, documents)
    first = check_json(config)
    with policy_site.at_epoch(1):
        second = check_json(config)
        db = sqlite3.connect(tmp / "data" / "tos-watch.db")
        with db:
            db.execute("UPDATE documents SET validators = NULL")  # no 304s: every page comes with new noise
        db.close()
        third = check_json(config)
    return {"documents": documents, "first": first, "second": second, "third": third, "config": config}


def test_first_check_records_every_document(replay: dict[str, Any]) -> None:
    first = replay["first"]
    assert first["failed"] == [] and first["changed"] == []
    assert first["checked"] == len(replay["documents"]) == 83
    assert keys(first["first_seen"]) == {(d["service"], d["document"]) for d in replay["documents"]}


def test_epoch_one_reports_exactly_the_changed_documents(replay: dict[str, Any], shared_dir: Path) -> None:
    html_changed, text_changed = set(), set()
    for d in replay["documents"]:
        old, new = (rendered(shared_dir, d["service"], d["document"], i) for i in (0, 1))
        if old != new:
            html_changed.add((d["service"], d["document"]))
        if words(old) != words(new):
            text_changed.add((d["service"], d["document"]))
    second = replay["second"]
    reported = keys(second["changed"]) | keys(second["suspect"])
    assert second["failed"] == [] and second["first_seen"] == []
    assert text_changed <= reported <= html_changed
    assert second["unchanged"] == 83 - len(reported)
    for change in second["changed"]:  # every change carries the classifier's verdict, and its evidence
        assert {"cosmetic", "categories", "severity", "changes"} <= set(change)
        assert change["cosmetic"] or change["changes"]
        for clause in change["changes"]:
            assert {"section", "kind", "categories", "evidence", "severity", "summary"} <= set(clause)


def test_check_after_noise_only_reports_nothing_new(replay: dict[str, Any]) -> None:
    """Page noise changes nothing; only the pages held back as suspect, still broken, are now recorded."""
    second, third = replay["second"], replay["third"]
    assert second["suspect"], "the corpus has blank and truncated versions at epoch 1"
    assert (third["first_seen"], third["failed"], third["suspect"]) == ([], [], [])
    assert keys(third["changed"]) == keys(second["suspect"])
    assert third["unchanged"] == 83 - len(second["suspect"])


def test_history_and_diff_show_the_recorded_change(replay: dict[str, Any]) -> None:
    change = replay["second"]["changed"][0]
    history = tos_watch(replay["config"], "history", change["service"], change["type"], "--json")
    assert history.returncode == 0, history.stderr
    assert len(json.loads(history.stdout)) == 2
    for fmt in ("terminal", "unified", "json", "html"):
        shown = tos_watch(replay["config"], "diff", change["service"], change["type"], "--format", fmt)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.strip()
    as_json = json.loads(tos_watch(replay["config"], "diff", change["service"], change["type"],
                                   "--format", "json").stdout)
    assert as_json["blocks"] and all(b["kind"] != "equal" for b in as_json["blocks"])


def test_check_killed_midway_leaves_a_consistent_store(tmp_path: Path,
                                                       policy_site_factory: Any) -> None:
    site = policy_site_factory("--delay-ms", "150")
    documents = site.documents()
    config = write_watchlist(tmp_path / "tos-watch.toml", site, documents, concurrency=4)
    db_path = tmp_path / "data" / "tos-watch.db"
    proc = subprocess.Popen([sys.executable, "-m", "tos_watch", "--config", str(config), "check"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while _count(db_path, "versions") < 10:
            assert proc.poll() is None and time.monotonic() < deadline, "check ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    recorded = _count(db_path, "versions")
    assert 10 <= recorded < 83
    _assert_consistent(tmp_path / "data")
    rerun = check_json(config)
    assert len(rerun["first_seen"]) == 83 - recorded and rerun["failed"] == []
    assert _count(db_path, "versions") == 83
    _assert_consistent(tmp_path / "data")


def _count(db_path: Path, table: str) -> int:
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path, timeout=5) as db:
            return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def _assert_consistent(data: Path) -> None:
    """The database is intact and every file it names exists."""
    with sqlite3.connect(data / "tos-watch.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for (text_hash,) in db.execute("SELECT text_hash FROM versions"):
            assert (data / "versions" / text_hash[:2] / f"{text_hash}.md").is_file()
        for (parts,) in db.execute("SELECT parts FROM snapshots"):
            for part in json.loads(parts):
                assert (data / "raw" / part["hash"][:2] / f"{part['hash']}.z").is_file()
