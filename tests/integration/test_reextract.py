"""A changed selector re-extracts stored pages without refetching, and never alerts."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.conftest import PolicySite
from tests.integration.test_check_replay import tos_watch


def write(config: Path, url: str, remove: str | None) -> None:
    extra = f'remove = ["{remove}"]\n' if remove else ""
    config.write_text(f'[storage]\ndir = "{config.parent / "data"}"\n[[documents]]\nservice = "Acme"\n'
                      f'type = "Terms"\nurl = "{url}"\nselect = ["#content"]\n{extra}')


def test_reextract_applies_new_selectors_silently(tmp_path: Path, policy_site: PolicySite) -> None:
    url = policy_site.page(policy_site.documents()[0]["url"])
    config = tmp_path / "tos-watch.toml"
    write(config, url, None)
    assert tos_watch(config, "check").returncode == 0
    write(config, url, "h1, h2")  # the user now drops the headings
    hits_before = policy_site.state()["hits"]
    result = tos_watch(config, "reextract")
    assert result.returncode == 0, result.stderr
    assert "new text recorded" in result.stdout
    assert policy_site.state()["hits"] == hits_before  # nothing was fetched
    versions = json.loads(tos_watch(config, "history", "Acme", "--json").stdout)
    assert [v["origin"] for v in versions] == ["fetch", "reextract"]
    recheck = json.loads(tos_watch(config, "check", "--json").stdout)
    assert recheck["changed"] == [] and recheck["unchanged"] == 1
    assert "unchanged" in tos_watch(config, "reextract").stdout  # idempotent


def test_reextract_before_any_check_says_what_to_do(tmp_path: Path, policy_site: PolicySite) -> None:
    config = tmp_path / "tos-watch.toml"
    write(config, policy_site.page("/nowhere"), None)
    result = tos_watch(config, "reextract")
    assert result.returncode == 1 and "run `tos-watch check` first" in result.stderr
