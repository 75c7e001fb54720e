"""The JSON document `tos-watch diff --format json` prints, shared with the web API's diff endpoint."""

from __future__ import annotations

from typing import Any

from tos_watch import diff as difflib_views
from tos_watch.cli.render import version_flags
from tos_watch.models import VersionInfo


def version_json(v: VersionInfo) -> dict[str, Any]:
    return {"id": v.id, "service": v.document_service, "type": v.document_type,
            "recorded_at": v.recorded_at.isoformat(), "size": v.size, "origin": v.origin,
            "flags": version_flags(v)}


def diff_document(old: VersionInfo, new: VersionInfo, blocks: list[difflib_views.Block]) -> dict[str, Any]:
    """Both versions, the newer one's assessment and the changed blocks."""
    return {"service": new.document_service, "type": new.document_type, "from": version_json(old),
            "to": version_json(new), "assessment": new.assessment, "blocks": difflib_views.render_json(blocks)}
