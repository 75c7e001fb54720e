"""normalise_markdown: one canonical byte sequence per text, idempotent."""

from __future__ import annotations

from pathlib import Path

import pytest

from tos_watch.extract import combine, normalise_markdown

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = SHARED / "corpus"

CASES = [
    ("nbsp", "30\u00a0days", "30 days\n"),
    ("narrow nbsp and thin space", "10\u202f%\u2009off", "10 % off\n"),
    ("ideographic space", "a\u3000b", "a b\n"),
    ("crlf", "a\r\nb\r\n", "a\nb\n"),
    ("lone cr and line separator", "a\rb\u2028c", "a\nb\nc\n"),
    ("zero-width space and bom", "\ufeffpri\u200bvacy", "privacy\n"),
    ("soft hyphen", "pri\u00advacy", "privacy\n"),
    ("zwj kept", "a\u200db", "a\u200db\n"),
    ("control chars dropped", "a\x00b\x1bc", "abc\n"),
    ("tabs inside a line", "a\t\tb", "a b\n"),
    ("leading tab is indentation", "- a\n\t- b", "- a\n    - b\n"),
    ("trailing spaces", "a   \nb\t", "a\nb\n"),
    ("inner space runs", "a    b", "a b\n"),
    ("blank runs", "a\n\n\n\nb\n \n\n", "a\n\nb\n"),
    ("leading blank lines", "\n\n\na", "a\n"),
    ("star bullets", "* a\n* b", "- a\n- b\n"),
    ("plus bullets nested", "+ a\n  + b", "- a\n  - b\n"),
    ("bold is not a bullet", "**Bold** text", "**Bold** text\n"),
    ("setext h1", "Title\n=====\n\ntext", "# Title\n\ntext\n"),
    ("setext h2", "Sub\n---", "## Sub\n"),
    ("atx closing hashes", "## Sub ##", "## Sub\n"),
    ("thematic break", "a\n\n* * *\n\nb", "a\n\n---\n\nb\n"),
    ("thematic break right after text", "a\n***\nb", "a\n\n---\n\nb\n"),
    ("nfc", "cafe\u0301", "caf\u00e9\n"),
    ("nfkc not applied", "m\u00b2 \ufb01le", "m\u00b2 \ufb01le\n"),
    ("empty", "", ""),
    ("only whitespace", " \n\t\n\u00a0", ""),
    ("single final newline", "a\n\n\n", "a\n"),
]


@pytest.mark.parametrize(("name", "raw", "expected"), CASES, ids=[c[0] for c in CASES])
def test_normalise(name: str, raw: str, expected: str) -> None:
    assert normalise_markdown(raw) == expected


@pytest.mark.parametrize(("name", "raw", "expected"), CASES, ids=[c[0] for c in CASES])
def test_normalise_is_idempotent(name: str, raw: str, expected: str) -> None:
    once = normalise_markdown(raw)
    assert normalise_markdown(once) == once


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["a\n", "b\n"], "a\n\nb\n"),
        (["a\n\n\n", "", "  \n", "b"], "a\n\nb\n"),
        ([], ""),
    ],
)
def test_combine(parts: list[str], expected: str) -> None:
    assert combine(parts) == expected


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"shared corpus not found at {CORPUS}")
def test_idempotent_over_the_corpus() -> None:
    """Every real version: normalising twice changes nothing and is deterministic."""
    files = sorted(CORPUS.glob("*/*/*.md"))
    assert len(files) > 700
    for path in files:
        once = normalise_markdown(path.read_text("utf-8"))
        assert normalise_markdown(once) == once, path
