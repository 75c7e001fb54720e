"""Build an OTA-style versions git repository from ../shared/corpus histories (real texts, real dates).

One commit per version, `<service>/<type>.md`, committed at the version's date and
titled the way OTA titles them (the deprecated "Start tracking"/"Update" before
2022, the current prefixes after). Where the corpus repeats a text (OTA re-extracted
a snapshot), the repository gets a technical-upgrade commit instead, with a marker
line so git sees a change: an importer must skip it. `git fast-import` writes the
whole repository in one process, so even tens of thousands of commits take seconds.
Used by tests/integration/test_import_history.py and benchmarks/import_speed.py.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

MODERN = datetime.fromisoformat("2022-01-01T00:00:00+00:00")


@dataclass
class BuiltRepo:
    """The repository and what an importer should find in it."""

    path: Path
    expected: dict[tuple[str, str], list[datetime]] = field(default_factory=dict)  # real versions
    technical: int = 0  # technical-upgrade commits, to be skipped
    commits: int = 0


@dataclass(frozen=True)
class _Planned:
    when: datetime
    service: str
    type: str
    text: bytes
    title: str


def _plan(corpus: Path, copies: int, services: set[str] | None) -> tuple[list[_Planned], BuiltRepo]:
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    built = BuiltRepo(path=Path())
    planned: list[_Planned] = []
    for copy in range(copies):
        for entry in manifest:
            if services is not None and entry["service"] not in services:
                continue
            service = entry["service"] if copy == 0 else f"{entry['service']} (copy {copy})"
            planned.extend(_document_commits(corpus, entry, service, built))
    planned.sort(key=lambda p: p.when)
    return planned, built


def _document_commits(corpus: Path, entry: dict, service: str, built: BuiltRepo) -> list[_Planned]:
    doc_type, previous = entry["document"], None
    commits: list[_Planned] = []
    for version in entry["versions"]:
        text = (corpus / entry["service"] / doc_type / version["file"]).read_bytes()
        when = datetime.fromisoformat(version["date"])
        subject = f"{service} {doc_type}"
        if text == previous:  # a re-extraction of the same snapshot: a technical upgrade
            title = (
                "Apply technical or declaration upgrade on " if when >= MODERN else "Refilter "
            ) + subject
            commits.append(_Planned(when, service, doc_type, text + b"\n<!-- re-extracted -->\n", title))
            built.technical += 1
            continue
        first = previous is None
        if when >= MODERN:
            title = ("First record of " if first else "Record new changes of ") + subject
        else:
            title = ("Start tracking " if first else "Update ") + subject
        commits.append(_Planned(when, service, doc_type, text, title))
        built.expected.setdefault((service, doc_type), []).append(when)
        previous = text
    return commits


def _stream(planned: list[_Planned]) -> bytes:
    """A git fast-import stream: one blob and one commit per planned version."""
    out: list[bytes] = []
    for i, p in enumerate(planned):
        stamp = f"{int(p.when.timestamp())} +0000"
        message = f"{p.title}\n\nThis version was recorded after extracting from snapshot {i:040x}\n".encode()
        out.append(b"commit refs/heads/main\n")
        out.append(f"mark :{i + 1}\nauthor OTA-Bot <bot@opentermsarchive.org> {stamp}\n".encode())
        out.append(f"committer OTA-Bot <bot@opentermsarchive.org> {stamp}\n".encode())
        out.append(b"data %d\n%s\n" % (len(message), message))
        if i:
            out.append(f"from :{i}\n".encode())
        out.append(f"M 100644 inline {p.service}/{p.type}.md\n".encode())
        out.append(b"data %d\n%s\n" % (len(p.text), p.text))
    return b"".join(out)


def build_versions_repo(
    corpus: Path, dest: Path, *, copies: int = 1, services: set[str] | None = None
) -> BuiltRepo:
    """Write the repository at `dest`; `copies` > 1 repeats the corpus under renamed services."""
    planned, built = _plan(corpus, copies, services)
    subprocess.run(["git", "init", "-q", "-b", "main", str(dest)], check=True)
    subprocess.run(["git", "-C", str(dest), "fast-import", "--quiet"], input=_stream(planned), check=True)
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", "main"], check=True)
    built.path = dest
    built.commits = len(planned)
    return built
