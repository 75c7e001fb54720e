"""`tos-watch import declarations` on real OTA declarations (../shared/declarations, 379 services).

Every declared document becomes a watchlist entry or a clear, counted warning; the
real layout's range selectors, combine and custom filters carry over; and
declarations written here for the replay site are imported and checked end to end.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.integration.conftest import PolicySite
from tos_watch.cli import main
from tos_watch.config import load_settings
from tos_watch.models import RangeSelector
from tos_watch.store import open_store


def _declarations(shared_dir: Path) -> Path:
    folder = shared_dir / "declarations"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found: the real OTA declarations are needed")
    return folder


def _invoke(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _import_json(config: Path, folder: Path, *args: str) -> dict[str, Any]:
    return json.loads(_invoke(config, "import", "declarations", str(folder), "--json", *args).output)  # type: ignore[no-any-return]


def _declared(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for path in folder.glob("*.json"):
        if not path.name.endswith(".history.json"):
            for doc_type, terms in json.loads(path.read_text(encoding="utf-8"))["terms"].items():
                found[(path.stem, doc_type)] = terms
    return found


def test_every_real_declaration_becomes_an_entry_or_a_counted_warning(shared_dir: Path, tmp_path: Path) -> None:
    folder = _declarations(shared_dir)
    config = tmp_path / "tos-watch.toml"
    report = _import_json(config, folder)
    declared = _declared(folder)
    watched = {d.key: d for d in load_settings(str(config)).documents}
    rejected = {(w["service"], w["type"]) for w in report["warnings"] if not w["imported"] and w["type"]}
    assert report["services"] == len({s for s, _ in declared}) + len(
        [w for w in report["warnings"] if w["type"] is None])  # services without any current terms
    assert set(watched) | rejected == set(declared) and not set(watched) & rejected
    assert report["added"] == len(watched) and report["documents"] == len(watched)
    with_filters = {k for k, t in declared.items()
                    if any(isinstance(f, str) or set(f) != {"removeQueryParams"} for f in t.get("filter", []))
                    or any(isinstance(f, str) or set(f) != {"removeQueryParams"}
                           for p in t.get("combine", []) for f in p.get("filter", []))}
    assert {(w["service"], w["type"]) for w in report["warnings"] if w["imported"]} == with_filters
    assert report["filters_skipped"] == len(with_filters) > 0
    browser = {k for k, t in declared.items() if t.get("executeClientScripts") is True}
    assert browser and all(watched[k].sources[0].render == "browser" for k in browser if k in watched)
    again = _import_json(config, folder)
    assert again["added"] == 0 and again["already_present"] == len(watched)


def test_real_layout_with_ranges_combine_and_a_custom_filter(shared_dir: Path, tmp_path: Path) -> None:
    source = _declarations(shared_dir)
    folder = tmp_path / "declarations"
    folder.mkdir()
    for service in ("ASUS", "Ikea", "AdSense", "Coinbase"):
        for suffix in (".json", ".history.json"):
            if (source / f"{service}{suffix}").exists():
                shutil.copy(source / f"{service}{suffix}", folder)
    (folder / "ASUS.filters.js").write_text("export function removeSecurityUpdates() {}\n", encoding="utf-8")
    config = tmp_path / "tos-watch.toml"
    report = _import_json(config, folder)
    docs = {d.key: d for d in load_settings(str(config)).documents}
    asus = docs[("ASUS", "Vulnerability Disclosure Policy")].sources[0]
    assert asus.select[0] == RangeSelector(start_before="#member-page-content",
                                           end_before="#member-page-content h3:nth-last-of-type(3)")
    assert any("removeSecurityUpdates" in w["message"] for w in report["warnings"] if w["service"] == "ASUS")
    ikea = docs[("Ikea", "Terms of Service")]
    assert len(ikea.sources) == 3 and all(s.select == ("main#content",) for s in ikea.sources)
    assert docs[("AdSense", "Privacy Policy")].sources[0].remove_query_params == (
        "utm_source", "utm_medium", "utm_campaign")
    coinbase = docs[("Coinbase", "Terms of Service")].sources[0]
    assert coinbase.render == "browser" and isinstance(coinbase.select[0], RangeSelector)
    text = config.read_text(encoding="utf-8")
    assert "# OTA custom filters skipped" in text and "# imported from OTA" in text


def _replay_declarations(folder: Path, site: PolicySite, docs: list[dict[str, Any]]) -> None:
    """OTA declarations for three replay-site pages: a range selector, a combine, a custom filter."""
    folder.mkdir()
    first, second, third = docs[:3]
    declarations = {
        first["service"]: {first["document"]: {
            "fetch": site.page(first["url"]),
            "select": {"startAfter": "aside.sidebar", "endBefore": "footer.site-footer"},
            "remove": [".cookie-banner", "nav"], "filter": ["removeDaysAgo", {"removeQueryParams": ["utm_source"]}]}},
        second["service"]: {f"{second['document']} (combined)": {
            "select": "main#content",
            "combine": [{"fetch": site.page(second["url"])}, {"fetch": site.page(third["url"])}]}},
    }
    for service, terms in declarations.items():
        (folder / f"{service}.json").write_text(json.dumps({"name": service, "terms": terms}), encoding="utf-8")


def test_declarations_for_the_replay_site_check_end_to_end(policy_site: PolicySite, tmp_path: Path) -> None:
    docs: list[dict[str, Any]] = []
    for doc in policy_site.documents():  # three pages of three services, each with a plain sentence to find
        if doc["service"] not in {d["service"] for d in docs} and _plain_sentence(doc) and len(docs) < 3:
            docs.append(doc)
    folder = tmp_path / "declarations"
    _replay_declarations(folder, policy_site, docs)
    config = tmp_path / "tos-watch.toml"
    config.write_text(f'[storage]\ndir = "{tmp_path / "data"}"\n\n[fetch]\nretries = 1\n', encoding="utf-8")
    report = _import_json(config, folder)
    assert report["added"] == 2 and report["filters_skipped"] == 1
    result = CliRunner().invoke(main, ["--config", str(config), "check", "--json"])
    checked = json.loads(result.output)
    assert result.exit_code == 0 and not checked["failed"], checked
    assert len(checked["first_seen"]) == 2
    ranged = json.loads(_invoke(config, "history", docs[0]["service"], "--json").output)
    assert len(ranged) == 1
    combined = json.loads(_invoke(config, "history", docs[1]["service"], "--json").output)
    assert combined[0]["type"] == f"{docs[1]['document']} (combined)"
    texts = _stored_texts(config)
    ranged_text = texts[(docs[0]["service"], docs[0]["document"])]
    for noise in ("We use cookies", "You may also like", "Page generated", "Careers"):
        assert noise not in ranged_text  # the range and the removals cut the page's furniture away
    assert str(_plain_sentence(docs[0])) in " ".join(ranged_text.split())
    combined_text = " ".join(texts[(docs[1]["service"], f"{docs[1]['document']} (combined)")].split())
    first, second = _plain_sentence(docs[1]), _plain_sentence(docs[2])
    assert first and second and first in combined_text and second in combined_text
    assert combined_text.index(first) < combined_text.index(second)  # parts joined in declaration order


def _stored_texts(config: Path) -> dict[tuple[str, str], str]:
    store = open_store(load_settings(str(config)).storage)
    try:
        return {(s.service, s.type): store.version_text(store.versions(s.service, s.type)[-1])
                for s in store.document_states()}
    finally:
        store.close()


def _plain_sentence(doc: dict[str, Any]) -> str | None:
    """A line of the document's first corpus version with no Markdown syntax in it."""
    shared = Path(__file__).resolve().parents[2].parent / "shared"
    manifest = json.loads((shared / "corpus" / "manifest.json").read_text(encoding="utf-8"))
    entry = next(e for e in manifest if e["service"] == doc["service"] and e["document"] == doc["document"])
    first = sorted(entry["versions"], key=lambda v: v["date"])[0]["file"]
    lines = (shared / "corpus" / doc["service"] / doc["document"] / first).read_text(encoding="utf-8").splitlines()
    plain = [ln.strip() for ln in lines if len(ln.strip()) > 40 and re.fullmatch(r"[\w ,.;:'’()-]+", ln.strip())]
    return plain[0] if plain else None
