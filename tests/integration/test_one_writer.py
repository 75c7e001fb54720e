"""One writer per store, and alerts from the daemon: `tos-watch check` and `tos-watch daemon` at once over
the replay site, with a real HTTP receiver taking the alerts (Apprise json://).

Whatever the interleaving (check refuses while the daemon runs, `--via-daemon` hands the check
over, a daemon started during a check waits for it), every version is recorded once and
every alert-worthy change reaches the channel once.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import PolicySite
from tests.integration.test_alerts import Receiver
from tests.integration.test_daemon import (  # noqa: F401  (daemons: the fixture)
    DOCS,
    Daemon,
    daemons,
    query,
    versions_per_document,
    wait_for,
    write_config,
)

ALERTED = re.compile(r"\(version (\d+)\)")


def tos_watch(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tos_watch", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=180)


def alert_worthy(tmp: Path) -> set[int]:
    """Changes a subscriber with alert = "low" gets: fetched, substantive, low or above."""
    rows = query(tmp, "SELECT id, json_extract(assessment, '$.severity'), json_extract(assessment, '$.cosmetic') "
                      "FROM versions WHERE previous_id IS NOT NULL AND origin = 'fetch'")
    return {int(i) for i, severity, cosmetic in rows if not cosmetic and severity in ("low", "medium", "high")}


def test_check_and_daemon_at_once_record_every_version_once(
        tmp_path: Path, policy_site: PolicySite, daemons: Callable[..., Daemon]) -> None:  # noqa: F811
    receiver = Receiver()
    receiver.start()
    extra = (f'[[subscribers]]\nname = "desk"\nalert = "low"\nnotify = ["{receiver.url("json", "/desk")}"]\n')
    config = write_config(tmp_path, policy_site, None, digest="every 1h", check="every 1s", extra=extra)
    try:
        assert tos_watch(config, "check").returncode == 0  # alone: first versions, nothing to alert
        d = daemons(config)
        wait_for("the daemon", lambda: "daemon started" in d.text(), d)
        policy_site.set_epoch(3)
        refused = tos_watch(config, "check")
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "in use by tos-watch daemon (pid" in refused.stderr and "--via-daemon" in refused.stderr
        rewrite = tos_watch(config, "reextract")  # the other writers refuse alike
        assert rewrite.returncode == 2 and "in use by tos-watch daemon (pid" in rewrite.stderr, rewrite.stderr
        handed = tos_watch(config, "check", "--via-daemon")
        assert handed.returncode == 0, handed.stderr
        assert {f"{s} / {t}" for s, t, _ in DOCS} <= {line.split(":")[0] for line in handed.stdout.splitlines()}
        wait_for("the changes", lambda: versions_per_document(tmp_path) == {s: 2 for s, _, _ in DOCS}, d)
        wait_for("their alerts", lambda: len(receiver.at("/desk")) >= len(alert_worthy(tmp_path)) > 0, d)
        assert d.stop() == 0
        policy_site.set_epoch(9)  # both at once: whichever takes the lock first, the other waits or refuses
        check = subprocess.Popen([sys.executable, "-m", "tos_watch", "--config", str(config), "check"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        d = daemons(config)
        _, err = check.communicate(timeout=180)
        assert check.returncode == 0 or "in use by tos-watch daemon" in err, err
        wait_for("the second change", lambda: versions_per_document(tmp_path)["Proctorio"] == 3, d)
        wait_for("a daemon pass over both", lambda: all(d.text().count(f"service={s}") >= 2 for s in
                                                        ("Academia.edu", "Proctorio")), d)
        wait_for("their alerts", lambda: len(receiver.at("/desk")) >= len(alert_worthy(tmp_path)), d)
        assert d.stop() == 0
    finally:
        policy_site.set_epoch(0)
        receiver.stop()
    assert query(tmp_path, "SELECT document_id, text_hash FROM versions GROUP BY 1, 2 HAVING count(*) > 1") == []
    sent = [int(m) for p in receiver.at("/desk") for m in ALERTED.findall(p["message"])]
    assert sorted(sent) == sorted(alert_worthy(tmp_path))  # every alert-worthy change, each once


def test_check_on_its_own_sends_the_alerts_it_made_due(tmp_path: Path, policy_site: PolicySite) -> None:
    receiver = Receiver()
    receiver.start()
    extra = f'[[subscribers]]\nname = "desk"\nalert = "low"\nnotify = ["{receiver.url("json", "/desk")}"]\n'
    config = write_config(tmp_path, policy_site, None, digest="every 1h", extra=extra)
    try:
        assert tos_watch(config, "check").returncode == 0
        policy_site.set_epoch(3)
        changed = tos_watch(config, "check")
    finally:
        policy_site.set_epoch(0)
        receiver.stop()
    assert changed.returncode == 0, changed.stderr
    due = alert_worthy(tmp_path)
    assert due and sorted(int(m) for p in receiver.at("/desk") for m in ALERTED.findall(p["message"])) == sorted(due)
    assert changed.stderr.count(f"to desk via json://127.0.0.1:{receiver.port}/…: sent") == len(due)
