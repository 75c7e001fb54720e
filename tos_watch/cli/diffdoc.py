"""The JSON document `tos-watch diff --format json` prints, shared with the web API's diff endpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tos_watch.cli.render import evidence_lines, version_flags
from tos_watch.models import VersionInfo

if TYPE_CHECKING:
    from tos_watch.diff import Block


def version_json(v: VersionInfo) -> dict[str, Any]:
    return {"id": v.id, "service": v.document_service, "type": v.document_type,
            "recorded_at": v.recorded_at.isoformat(), "size": v.size, "origin": v.origin,
            "flags": version_flags(v)}


def explanation(v: VersionInfo) -> list[str]:
    """Why the version was judged as it was: its flags, then each flagged clause's trigger words."""
    return [" ".join(version_flags(v))] + evidence_lines(v.assessment) if v.assessment else []


def diff_document(old: VersionInfo, new: VersionInfo, blocks: list[Block]) -> dict[str, Any]:
    """Both versions, the newer one's assessment and why, and the changed blocks."""
    from tos_watch import diff as difflib_views  # only diffs need it (and it is the heavy import)

    return {"service": new.document_service, "type": new.document_type, "from": version_json(old),
            "to": version_json(new), "assessment": new.assessment, "explanation": explanation(new),
            "blocks": difflib_views.render_json(blocks)}
