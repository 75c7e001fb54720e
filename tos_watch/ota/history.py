"""Read an Open Terms Archive versions repository: one commit per recorded version.

Layout: `<service id>/<terms type>.md`, one file changed per commit, the commit
date the date the version was recorded, the title saying why:

    First record of S T | Record new changes of S T   (and the older Start tracking | Update)
    Apply technical or declaration upgrade on S T     (and the older Refilter)

The last two re-extract an old snapshot with new rules: nothing changed at the
service, so they are skipped (and counted), as OTA itself does when it reports
changes.

Reading uses the git command line: one `git log --raw` lists every commit with
the blob each one wrote, then one `git cat-file --batch` process streams the
blobs. Measured on a 7,520-commit repository built from ../shared/corpus
(benchmarks/import_speed.py, 2 busy CPUs): git CLI 2,100 versions/s, pygit2 620,
dulwich 270 (it diffs every tree in pure Python). pygit2 would also be a
compiled dependency; dulwich stays as the fallback where no `git` is installed.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import IO

from tos_watch.errors import TosWatchError

CHANGE_PREFIXES = ("First record of", "Record new changes of", "Start tracking", "Update")
TECHNICAL_PREFIXES = ("Apply technical or declaration upgrade on", "Refilter")
VERSION_SUFFIX = ".md"


class HistoryError(TosWatchError):
    """The versions repository cannot be read."""


@dataclass(frozen=True)
class VersionEntry:
    """One version file written by one commit, before its text is read."""

    service: str
    type: str
    recorded_at: datetime
    commit: str
    blob: str
    path: str


@dataclass(frozen=True)
class RecordedVersion:
    """One version of one document as the OTA repository recorded it."""

    service: str
    type: str
    recorded_at: datetime
    text: str
    commit: str


@dataclass
class Listing:
    """The versions a repository holds, oldest first, and what was left out."""

    entries: list[VersionEntry]
    technical_skipped: int = 0  # technical-upgrade / refilter commits
    other_files: int = 0  # files that are not <service>/<type>.md (README, snapshots...)
    deleted: int = 0


def is_technical(title: str) -> bool:
    """Whether a commit re-rendered an old snapshot rather than recording a change."""
    return title.startswith(TECHNICAL_PREFIXES)


def document_of(path: str) -> tuple[str, str] | None:
    """(service, type) of a version file path, or None for anything else in the repository."""
    parts = PurePosixPath(path).parts
    if len(parts) != 2 or not parts[1].endswith(VERSION_SUFFIX) or parts[0].startswith("."):
        return None
    return parts[0], parts[1][: -len(VERSION_SUFFIX)]


def _wanted(service: str, services: set[str] | None) -> bool:
    return services is None or service.casefold() in services


# --- git command line --------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> list[str]:
    return ["git", "-C", str(repo), "-c", "core.quotepath=off", *args]


def list_versions(repo: Path, services: Iterable[str] | None = None) -> Listing:
    """Every version file the repository's commits wrote, oldest first (`git log --raw`)."""
    wanted = {s.casefold() for s in services} if services is not None else None
    pathspec = [f":(icase){s}/" for s in services] if services is not None else []
    command = _git(repo, "log", "--reverse", "--no-merges", "-z", "--raw", "--no-abbrev", "--no-renames",
                   "--format=%x1e%H %at %s", "--", *pathspec)
    try:
        out = subprocess.run(command, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = (getattr(exc, "stderr", b"") or b"").decode(errors="replace").strip() or str(exc)
        raise HistoryError(f"{repo}: cannot read the git history ({detail}); "
                           "is it an OTA versions repository?") from exc
    listing = Listing(entries=[])
    for record in out.split(b"\x1e")[1:]:
        header, _, raw = record.partition(b"\0")
        sha, stamp, title = header.decode("utf-8", errors="replace").split(" ", 2)
        fields = raw.strip(b"\n").split(b"\0")
        changes = list(zip(fields[0::2], fields[1::2]))
        if is_technical(title):
            listing.technical_skipped += 1
            continue
        when = datetime.fromtimestamp(int(stamp), tz=timezone.utc)
        for meta, path_bytes in changes:
            _add(listing, wanted, sha, when, meta.decode().split(), path_bytes.decode("utf-8", "replace"))
    return listing


def _add(listing: Listing, wanted: set[str] | None, sha: str, when: datetime, meta: list[str],
         path: str) -> None:
    """File one `--raw` line of a commit into the listing."""
    document = document_of(path)
    if document is None:
        listing.other_files += 1
    elif meta[-1] == "D":
        listing.deleted += 1
    elif _wanted(document[0], wanted):
        listing.entries.append(VersionEntry(document[0], document[1], when, sha, meta[3], path))


def read_versions(repo: Path, entries: Sequence[VersionEntry]) -> Iterator[RecordedVersion]:
    """The texts of listed versions, streamed from one `git cat-file --batch` process."""
    process = subprocess.Popen(_git(repo, "cat-file", "--batch"), stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdin is not None and process.stdout is not None
    writer = threading.Thread(target=_request_blobs, args=(process.stdin, entries), daemon=True)
    writer.start()
    try:
        for entry in entries:
            text = _read_blob(process.stdout, entry)
            yield RecordedVersion(entry.service, entry.type, entry.recorded_at, text, entry.commit)
    finally:
        process.stdout.close()
        process.kill()
        process.wait()
        writer.join()


def _request_blobs(stdin: IO[bytes], entries: Sequence[VersionEntry]) -> None:
    """Feed blob names to cat-file from a thread, so its output pipe never fills and blocks us."""
    try:
        for entry in entries:
            stdin.write(entry.blob.encode() + b"\n")
        stdin.close()
    except (BrokenPipeError, ValueError, OSError):
        pass  # the reader stopped early (error or abandoned iteration)


def _read_blob(stdout: IO[bytes], entry: VersionEntry) -> str:
    header = stdout.readline().split()
    if len(header) != 3 or header[1] != b"blob":
        raise HistoryError(f"git cat-file could not read {entry.path} at {entry.commit[:12]}: {header!r}")
    content = stdout.read(int(header[2]))
    stdout.read(1)  # the newline after each object
    return content.decode("utf-8", errors="replace")


# --- dulwich (fallback without a git binary, and the benchmark's comparison) -------------------


def iter_versions_dulwich(repo: Path, services: Iterable[str] | None = None) -> Iterator[RecordedVersion]:
    """The same versions as the git CLI path, by walking the history with dulwich."""
    from dulwich.diff_tree import tree_changes
    from dulwich.repo import Repo

    wanted = {s.casefold() for s in services} if services is not None else None
    with Repo(str(repo)) as r:
        for walk_entry in r.get_walker(reverse=True):
            commit = walk_entry.commit
            if len(commit.parents) > 1:
                continue
            title = commit.message.decode("utf-8", errors="replace").split("\n", 1)[0]
            if is_technical(title):
                continue
            parent_tree = r[commit.parents[0]].tree if commit.parents else None  # type: ignore[attr-defined]
            when = datetime.fromtimestamp(commit.author_time, tz=timezone.utc)
            for change in tree_changes(r.object_store, parent_tree, commit.tree):
                if change.new is None or change.new.path is None or change.new.sha is None:
                    continue
                document = document_of(change.new.path.decode("utf-8", errors="replace"))
                if document is None or not _wanted(document[0], wanted):
                    continue
                text = r[change.new.sha].as_raw_string().decode("utf-8", errors="replace")
                yield RecordedVersion(document[0], document[1], when, text, commit.id.decode())


def iter_versions(repo: Path, services: Iterable[str] | None = None) -> Iterator[RecordedVersion]:
    """Every recorded version, oldest first, by the fastest reader available here."""
    if not (repo / ".git").exists() and not (repo / "HEAD").exists():
        raise HistoryError(f"{repo}: not a git repository (expected an OTA versions repository)")
    if shutil.which("git") is None:
        yield from iter_versions_dulwich(repo, services)
        return
    listing = list_versions(repo, services)
    yield from read_versions(repo, listing.entries)
