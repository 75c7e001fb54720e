"""diff: paragraph alignment with moves and word diffs, and its four renderings."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from tos_watch.diff import (
    Block,
    diff_texts,
    diff_words,
    render_html,
    render_json,
    render_terminal,
    render_unified,
    split_paragraphs,
    stats,
    tokenise,
)

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus"

BASE = ["# Privacy", "We keep your data for 30 days after you close your account.",
        "We share data with advertising partners listed below.", "- Name", "- Email address",
        "You can contact our data protection officer at any time.", "## Changes",
        "We will notify you of material changes by email before they take effect."]


def doc(paragraphs: list[str]) -> str:
    return "\n\n".join(paragraphs) + "\n"


def changed(blocks: list[Block]) -> list[Block]:
    return [b for b in blocks if b.kind != "equal"]


def kinds(blocks: list[Block]) -> list[str]:
    return [b.kind for b in changed(blocks)]


def _moved(p: list[str]) -> list[str]:
    return [p[0], p[5], *p[1:5], *p[6:]]


# (name, new paragraphs, expected changed-block kinds)
DIFF_CASES = [
    ("identical", BASE, []),
    ("word inserted", [*BASE[:1], BASE[1].replace("30 days", "30 calendar days"), *BASE[2:]], ["replace"]),
    ("word replaced", [*BASE[:1], BASE[1].replace("30", "90"), *BASE[2:]], ["replace"]),
    ("paragraph moved", _moved(BASE), ["move"]),
    ("paragraph moved and edited", [BASE[0], BASE[5].replace("any time", "any reasonable time"), *BASE[1:5],
                                    *BASE[6:]], ["move"]),
    ("paragraph added", [*BASE[:3], "We also collect your location when you allow it.", *BASE[3:]], ["insert"]),
    ("paragraph deleted", [*BASE[:2], *BASE[3:]], ["delete"]),
    ("list item added", [*BASE[:5], "- Phone number", *BASE[5:]], ["insert"]),
    ("paragraph split", [*BASE[:1], "We keep your data for 30 days", "after you close your account.", *BASE[2:]],
     ["replace", "insert"]),
    ("everything rewritten", ["Completely different text about nothing in particular."], None),
]


@pytest.mark.parametrize(("name", "new", "expected"), DIFF_CASES, ids=[c[0] for c in DIFF_CASES])
def test_diff_kinds(name: str, new: list[str], expected: list[str] | None) -> None:
    blocks = diff_texts(doc(BASE), doc(new))
    if expected is not None:
        assert kinds(blocks) == expected
    assert_rebuilds(blocks, doc(BASE), doc(new))


def test_word_insert_is_word_level() -> None:
    blocks = diff_texts(doc(BASE), doc([*BASE[:1], BASE[1].replace("30 days", "30 calendar days"), *BASE[2:]]))
    (block,) = changed(blocks)
    assert [(op.tag, op.text) for op in block.words if op.tag != "equal"] == [("insert", " calendar")]
    assert stats(blocks) == (1, 0)


def test_move_is_one_block_and_counts_no_words() -> None:
    blocks = diff_texts(doc(BASE), doc(_moved(BASE)))
    (move,) = changed(blocks)
    assert (move.old_index, move.new_index, move.words) == (5, 1, ())
    assert stats(blocks) == (0, 0)
    assert "moved from ¶6 to ¶2" in render_terminal(blocks, color=False)


def test_stats_for_insert_and_delete() -> None:
    blocks = diff_texts("a b c\n\nkeep this\n", "keep this\n\nd e\n")
    assert stats(blocks) == (2, 3)


@pytest.mark.parametrize(
    ("old", "new", "ops"),
    [
        ("30 days.", "60 days.", [("delete", "30"), ("insert", " 60")]),
        ("We keep data.", "We keep data, forever.", [("insert", ", forever")]),
        ("30,000 users", "40,000 users", [("delete", "30,000"), ("insert", " 40,000")]),
        ("don't sell", "do sell", [("delete", "don't"), ("insert", " do")]),
    ],
)
def test_diff_words(old: str, new: str, ops: list[tuple[str, str]]) -> None:
    result = diff_words(old, new)
    assert [(op.tag, op.text.strip()) for op in result if op.tag != "equal"] == [(t, x.strip()) for t, x in ops]
    assert "".join(op.text for op in result if op.tag != "delete") == new


@pytest.mark.parametrize("text", ["", "a", "  lead and trail  ", "l’été, 1.5 % — ok?", "a\nb\n\n- c"])
def test_tokenise_rebuilds_the_text(text: str) -> None:
    assert "".join(tokenise(text)) == text


@pytest.mark.parametrize(
    ("text", "paragraphs"),
    [
        ("a\n\nb\n", ["a", "b"]),
        ("a\nstill a\n\n\n\nb", ["a\nstill a", "b"]),
        ("- one\n- two\n  - nested\n- three", ["- one", "- two\n  - nested", "- three"]),
        ("1. first\n2. second", ["1. first", "2. second"]),
        ("| a | b |\n| --- | --- |\n| 1 | 2 |", ["| a | b |\n| --- | --- |\n| 1 | 2 |"]),
        ("", []),
    ],
)
def test_split_paragraphs(text: str, paragraphs: list[str]) -> None:
    assert split_paragraphs(text) == paragraphs


def test_identical_texts_render_as_no_change() -> None:
    blocks = diff_texts(doc(BASE), doc(BASE))
    assert render_json(blocks) == []
    assert render_terminal(blocks) == "No changes.\n"
    assert render_unified(blocks, old_label="a", new_label="b") == ""


def test_terminal_markers_and_skipped_runs() -> None:
    blocks = diff_texts(doc(BASE), doc([*BASE[:7], BASE[7].replace("by email", "on our website")]))
    plain = render_terminal(blocks, context=1, color=False)
    assert "[- by email-]" in plain
    assert "{+ on our website+}" in plain
    assert "… 6 unchanged paragraphs …" in plain
    assert "\x1b[" not in plain
    colored = render_terminal(blocks, color=True)
    assert "\x1b[32m" in colored and "\x1b[31;9m" in colored


def test_unified() -> None:
    blocks = diff_texts(doc(BASE), doc([*BASE[:2], *BASE[3:]]))
    text = render_unified(blocks, old_label="v1 (2024-01-01)", new_label="v2", context=1)
    lines = text.splitlines()
    assert lines[:2] == ["--- v1 (2024-01-01)", "+++ v2"]
    assert lines[2].startswith("@@ ")
    assert "-We share data with advertising partners listed below." in lines
    assert f" {BASE[1]}" in lines


def test_json_structure() -> None:
    new = [BASE[0], BASE[5], *BASE[1:5], BASE[6], BASE[7].replace("email", "post"), "New final words."]
    data = render_json(diff_texts(doc(BASE), doc(new)))
    json.dumps(data)  # JSON-able
    assert [d["kind"] for d in data] == ["move", "replace", "insert"]
    assert set(data[0]) == {"kind", "old", "new", "old_index", "new_index", "words"}
    assert ["delete", " email"] in data[1]["words"] and ["insert", " post"] in data[1]["words"]
    assert all(isinstance(w, list) and len(w) == 2 for d in data for w in d["words"])
    assert data[2]["old"] is None and data[2]["new"] == "New final words." and data[2]["new_index"] == 8


@pytest.mark.parametrize(
    "evil",
    ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "</div></body><iframe src=//x>",
     "&lt;already escaped&gt; & \"quotes\" 'single'"],
)
def test_render_html_escapes_everything(evil: str) -> None:
    old = doc([f"Old text {evil} here.", "Stays.", f"Removed {evil}"])
    new = doc([f"New text {evil} here, {evil}.", "Stays.", f"Added {evil}"])
    page = render_html(diff_texts(old, new), title=f"Title {evil}", old_label=f"v1 {evil}", new_label="v2")
    assert "<script" not in page and "<img" not in page and "<iframe" not in page and "onerror=\"" not in page
    assert page.count("<body>") == 1 and page.rstrip().endswith("</body></html>")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "http" not in page.split("<body>")[0]
    assert "<ins>" in page and "<del>" in page


def test_render_html_labels_moves_and_summarises() -> None:
    page = render_html(diff_texts(doc(BASE), doc(_moved(BASE))), title="t", old_label="a", new_label="b")
    assert "moved from ¶6 to ¶2" in page
    assert "0 words added, 0 words removed, 1 paragraph moved" in page


def assert_rebuilds(blocks: list[Block], old: str, new: str) -> None:
    """Each side's paragraphs appear exactly once, in order of their indices, with their text."""
    news = sorted((b.new_index, b.new) for b in blocks if b.new_index is not None)
    olds = sorted((b.old_index, b.old) for b in blocks if b.old_index is not None)
    assert [t for _, t in news] == split_paragraphs(new)
    assert [i for i, _ in news] == list(range(len(news)))
    assert [t for _, t in olds] == split_paragraphs(old)
    assert [i for i, _ in olds] == list(range(len(olds)))
    for block in blocks:
        if block.words:  # the word diff's new side is the new paragraph
            assert "".join(op.text for op in block.words if op.tag != "delete") == block.new
        assert (block.old is None) == (block.old_index is None) and (block.new is None) == (block.new_index is None)


def _histories() -> list[list[Path]]:
    manifest = json.loads((CORPUS / "manifest.json").read_text("utf-8"))
    return [[CORPUS / e["service"] / e["document"] / v["file"] for v in e["versions"]] for e in manifest]


@pytest.mark.skipif(not (CORPUS / "manifest.json").is_file(), reason=f"shared corpus not found at {CORPUS}")
def test_real_consecutive_versions_rebuild_from_blocks() -> None:
    """Every consecutive pair of every corpus document: both sides rebuild from the blocks."""
    pairs = 0
    for history in _histories():
        texts = [path.read_text("utf-8") for path in history]
        for old, new in itertools.pairwise(texts):
            blocks = diff_texts(old, new)
            assert_rebuilds(blocks, old, new)
            if old == new:
                assert not changed(blocks)
            render_html(blocks, title="t", old_label="a", new_label="b")
            pairs += 1
    assert pairs > 600
