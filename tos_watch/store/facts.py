"""Change facts: each version's verdict in columns, so lists of changes filter and sort in SQL.

The assessment JSON stays the record; this table copies the few fields the web view
filters and sorts on (severity, cosmetic, categories with direction), which would
otherwise mean decoding every assessment on every page. Written with the version, in
its transaction; the 0005_search migration fills it for existing stores.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tos_watch.models import RawJson
from tos_watch.store.schema import metadata

SEVERITY_RANK = {"none": 0, "low": 1, "medium": 2, "high": 3}
UNKNOWN_SEVERITY = 1  # a change without a known severity shows as low: listed, never hidden by accident

change_facts = sa.Table(
    "change_facts", metadata,
    sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), primary_key=True),
    sa.Column("document_id", sa.Integer, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("severity", sa.Integer, nullable=False),
    sa.Column("cosmetic", sa.Boolean, nullable=False),
    sa.Column("classified", sa.Boolean, nullable=False),
    sa.Column("categories", sa.String(400), nullable=False),  # " licensing:broadens access:narrows "
    sa.Column("clauses", sa.Integer, nullable=False),
    sa.Index("ix_change_facts_rank", "severity", "recorded_at"),
    sa.Index("ix_change_facts_recorded", "recorded_at"),
)


def facts_row(version_id: int, document_id: int, recorded_at: Any,
              assessment: dict[str, Any] | RawJson | str | None) -> dict[str, Any]:
    """The facts of one version's assessment, read tolerantly (missing or odd keys are defaults)."""
    a: Any = json.loads(assessment) if isinstance(assessment, str) else assessment
    a = a if isinstance(a, dict) else {}
    cats = a.get("categories") or {}
    if not isinstance(cats, dict):
        cats = {str(c): "neutral" for c in cats} if isinstance(cats, list) else {}
    changes = a.get("changes") if isinstance(a.get("changes"), list) else []
    substantive = [c for c in changes if isinstance(c, dict) and not c.get("cosmetic")]
    return {"version_id": version_id, "document_id": document_id, "recorded_at": recorded_at,
            "severity": SEVERITY_RANK.get(str(a.get("severity")), UNKNOWN_SEVERITY),
            "cosmetic": bool(a.get("cosmetic")), "classified": bool(a),
            "categories": " " + " ".join(f"{k}:{v}" for k, v in sorted(cats.items())) + " ",
            "clauses": len(substantive)}


def record_facts(conn: Connection, version_id: int, document_id: int, recorded_at: Any,
                 assessment: dict[str, Any] | RawJson | None) -> None:
    conn.execute(change_facts.insert(), facts_row(version_id, document_id, recorded_at, assessment))
