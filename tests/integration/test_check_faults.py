"""Every fault page of the replay site ends as a clear per-document outcome, in bounded time,
and the rest of the check completes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.integration.conftest import PolicySite
from tests.integration.test_check_replay import tos_watch

# fault -> what the outcome must say (None: fetched correctly)
FAULTS = {
    "500": "HTTP 500", "503": "HTTP 503", "429": "HTTP 429", "slow": "timed out", "hang": "timed out",
    "huge": "larger than", "redirect-loop": "redirects", "binary": "not a web page", "empty": "empty",
    "truncated": "closed before the body was complete", "blocked": "HTTP 403", "latin1": None, "flaky": None,
}


def test_fault_pages_fail_clearly_and_the_run_completes(tmp_path: Path, policy_site_factory) -> None:
    site: PolicySite = policy_site_factory()
    real = site.documents()[:3]
    entries = [(f"Fault {name}", "Terms", site.page(f"/_faults/{name}"), None) for name in FAULTS]
    entries += [(d["service"], d["document"], site.page(d["url"]), "#content") for d in real]
    entries.append(("Moved", "Privacy Policy", site.page(real[0]["url"]), "#no-such-block"))
    config = tmp_path / "tos-watch.toml"
    lines = [f'[storage]\ndir = "{tmp_path / "data"}"\n', "[fetch]", "total_timeout = 4", "read_timeout = 3",
             "retries = 2", "backoff = 0.05", "max_retry_after = 1", "max_bytes = 2000000", ""]
    for service, doc_type, url, select in entries:
        lines += ["[[documents]]", f"service = {json.dumps(service)}", f"type = {json.dumps(doc_type)}",
                  f"url = {json.dumps(url)}"] + ([f"select = {json.dumps([select])}"] if select else []) + [""]
    config.write_text("\n".join(lines))

    started = time.monotonic()
    result = tos_watch(config, "check", "--json", timeout=180)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr[-2000:]  # some failed
    report = json.loads(result.stdout)
    failed = {f["service"]: f["error"] for f in report["failed"]}
    seen = {f["service"] for f in report["first_seen"]}
    for name, expected in FAULTS.items():
        if expected is None:
            assert f"Fault {name}" in seen, failed.get(f"Fault {name}")
        else:
            assert expected in failed[f"Fault {name}"], (name, failed.get(f"Fault {name}"))
    assert {d["service"] for d in real} <= seen
    assert 'selector "#no-such-block" matched nothing' in failed["Moved"]
    assert report["checked"] == len(entries)
    assert elapsed < 90, f"a check with every fault page took {elapsed:.0f}s"


def test_latin1_page_is_decoded(tmp_path: Path, policy_site: PolicySite) -> None:
    config = tmp_path / "tos-watch.toml"
    config.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n[[documents]]\nservice = "Latin"\n'
                      f'type = "Terms"\nurl = "{policy_site.page("/_faults/latin1")}"\n')
    assert tos_watch(config, "check").returncode == 0
    shown = tos_watch(config, "history", "Latin", "--json")
    assert json.loads(shown.stdout)[0]["size"] > 0
    text = next((tmp_path / "data" / "versions").rglob("*.md")).read_text(encoding="utf-8")
    assert "Données conservées pendant 30 jours." in text
