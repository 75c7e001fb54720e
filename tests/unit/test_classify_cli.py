"""The classifier commands: compare two files, batch modes, bad input lines."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from tos_watch.cli.classify_cmds import register


def _group() -> click.Group:
    group = click.Group()
    register(group)
    return group


def test_compare_json(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("## Storage\n\nWe keep footage for 60 days.\n")
    (tmp_path / "b.md").write_text("## Storage\n\nWe keep footage indefinitely.\n")
    result = CliRunner().invoke(_group(), ["compare", str(tmp_path / "a.md"), str(tmp_path / "b.md"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["categories"] == {"retention": "broadens"} and out["severity"] == "high"


def test_compare_html_input(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text("<html><body><p>We keep footage for 60 days.</p></body></html>")
    (tmp_path / "b.html").write_text("<html><body><p>We keep footage for 2 years.</p></body></html>")
    result = CliRunner().invoke(_group(), ["compare", str(tmp_path / "a.html"), str(tmp_path / "b.html"),
                                           "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["categories"].get("retention") == "broadens"


def test_compare_jsonl_reports_bad_lines(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("Same text.\n")
    lines = [json.dumps({"id": "ok", "old": str(tmp_path / "a.md"), "new": str(tmp_path / "a.md")}),
             json.dumps({"id": "missing", "old": str(tmp_path / "nope.md"), "new": str(tmp_path / "a.md")}),
             "not json", json.dumps({"id": "nofield"})]
    result = CliRunner().invoke(_group(), ["compare", "--jsonl"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0
    outs = [json.loads(line) for line in result.output.splitlines()]
    assert outs[0]["id"] == "ok" and outs[0]["cosmetic"] is True
    assert all("error" in o for o in outs[1:]) and outs[1]["id"] == "missing"


def test_classify_jsonl() -> None:
    lines = [json.dumps({"id": "1", "text": "We retain your data for 5 years."}),
             json.dumps({"id": "2", "text": 3})]
    result = CliRunner().invoke(_group(), ["classify", "--jsonl"], input="\n".join(lines))
    outs = [json.loads(line) for line in result.output.splitlines()]
    assert outs[0] == {"id": "1", "categories": ["retention"]}
    assert "error" in outs[1]


def test_compare_without_files_is_usage_error() -> None:
    result = CliRunner().invoke(_group(), ["compare"])
    assert result.exit_code == 2
