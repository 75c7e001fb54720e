"""Pure pieces of the web view: the redline model, search query building, change facts, [web] config."""

from __future__ import annotations

import pytest

from tos_watch.config import parse_settings
from tos_watch.diff import diff_texts
from tos_watch.errors import ConfigError
from tos_watch.store.facts import facts_row
from tos_watch.store.search import MATCH_END, MATCH_START, fts5_query
from tos_watch.web import redline
from tos_watch.web.pages import split_marks
from tos_watch.web.serve import bind_token, is_loopback

OLD = "# Terms\n\nWe keep recordings for 30 days.\n\nContact us."
NEW = "# Terms\n\nWe keep recordings for 3 years and may license them.\n\nContact us."
ASSESSMENT = {"cosmetic": False, "categories": {"retention": "broadens"}, "severity": "high", "changes": [
    {"section": "Terms", "old": "We keep recordings for 30 days.", "new": "We keep recordings for 3 years and "
     "may license them.", "kind": "modified", "cosmetic": False, "categories": {"retention": "broadens"},
     "evidence": {"retention": ["3 years", "keep"]}, "severity": "high", "summary": "retention broadens"}]}


def test_a_changed_clause_carries_its_flags_and_marks_its_evidence() -> None:
    view = redline.build(diff_texts(OLD, NEW), ASSESSMENT)
    changed = [b for b in view.blocks if b.kind != "skip"]
    assert len(changed) == 1 and changed[0].kind == "replace"
    block = changed[0]
    assert [(f.category, f.direction) for f in block.flags] == [("retention", "broadens")]
    assert {s.text for s in block.inline if s.mark} == {"keep", "3 years"}
    assert {s.tag for s in block.old} <= {"equal", "delete"} and {s.tag for s in block.new} <= {"equal", "insert"}
    html = str(redline.to_html(block.inline))
    assert "<ins>" in html and "<del>" in html and "<mark>3 years</mark>" in html


@pytest.mark.parametrize("assessment", [None, {}, {"changes": "oops"}, {"changes": [1, None]},
                                        {"changes": [{"new": "x", "categories": ["access"], "evidence": 3}]}])
def test_odd_assessments_are_read_tolerantly(assessment: object) -> None:
    view = redline.build(diff_texts(OLD, NEW), assessment)  # type: ignore[arg-type]
    assert [b.kind for b in view.blocks if b.kind != "skip"] == ["replace"]
    row = facts_row(1, 1, None, assessment)  # type: ignore[arg-type]
    assert row["severity"] == 1 and row["cosmetic"] is False


def test_a_restored_or_cosmetic_change_is_folded() -> None:
    cosmetic = {**ASSESSMENT, "cosmetic": True}
    assert all(b.cosmetic for b in redline.build(diff_texts(OLD, NEW), cosmetic).blocks if b.kind != "skip")


def test_huge_paragraphs_are_cut_and_say_how_much() -> None:
    big = "word " * 100_000
    view = redline.build(diff_texts(OLD, OLD + "\n\n" + big), None)
    block = next(b for b in view.blocks if b.kind == "insert")
    assert sum(len(s.text) for s in block.inline if s.tag != "cut") == redline.MAX_BLOCK_CHARS
    assert block.inline[-1].tag == "cut" and block.inline[-1].text == f"{len(big.strip()) - 20_000:,}"


def test_facts_columns() -> None:
    row = facts_row(7, 3, None, '{"severity": "medium", "categories": {"access": "narrows"}, "changes": []}')
    assert row["severity"] == 2 and row["categories"] == " access:narrows " and row["classified"]


@pytest.mark.parametrize(("q", "query"), [
    ("facial recognition", '"facial" "recognition"'),
    ('"facial recognition" data', '"facial recognition" "data"'),
    ("NEAR( a* -x OR", '"NEAR" "a" "x" "OR"'),
    ('"unclosed', '"unclosed"'),
    ("!!!", ""),
])
def test_fts5_queries_never_carry_operators(q: str, query: str) -> None:
    assert fts5_query(q) == query


def test_passages_split_into_marked_pieces() -> None:
    passage = f"we use {MATCH_START}facial{MATCH_END} and {MATCH_START}recognition{MATCH_END}."
    assert split_marks(passage) == [["we use ", False], ["facial", True], [" and ", False],
                                    ["recognition", True], [".", False]]


def test_web_settings_and_bind_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    web = parse_settings({"web": {"enabled": True, "port": 9000, "base_url": "https://tos.example.org/"}}).web
    assert (web.enabled, web.host, web.port, web.public_url) == (True, "127.0.0.1", 9000, "https://tos.example.org")
    assert parse_settings({}).web.port == 8421
    with pytest.raises(ConfigError, match='unknown key "prot"'):
        parse_settings({"web": {"prot": 1}})
    with pytest.raises(ConfigError, match="base_url"):
        parse_settings({"web": {"base_url": "javascript:alert(1)"}})
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("example.org")
    assert bind_token(web, "127.0.0.1") is None
    with pytest.raises(ConfigError, match="refusing"):
        bind_token(web, "0.0.0.0")
    tokened = parse_settings({"web": {"token_env": "TW_TOKEN"}}).web
    with pytest.raises(ConfigError, match="not set"):
        bind_token(tokened, "0.0.0.0")
    monkeypatch.setenv("TW_TOKEN", "abc")
    assert bind_token(tokened, "0.0.0.0") == "abc"
