"""full-text search over current versions; change facts for filtering

Revision ID: 0005_search
Revises: 0002_delivery
Create Date: 2026-12-02

Creates the search index (FTS5 on SQLite, tsvector + GIN on PostgreSQL) and fills it
with every document's current text, read from the data directory the store passes in.
"""
from pathlib import Path

import sqlalchemy as sa
from alembic import context, op

from tos_watch.store.blobs import BlobStore
from tos_watch.store.facts import change_facts, facts_row
from tos_watch.store.search import create_index, drop_index, index_current

revision = "0005_search"
down_revision = "0002_delivery"
branch_labels = None
depends_on = None

_CURRENT = sa.text(
    "SELECT v.document_id, v.id, v.text_hash FROM versions v WHERE v.id = ("
    "SELECT w.id FROM versions w WHERE w.document_id = v.document_id "
    "ORDER BY w.recorded_at DESC, w.id DESC LIMIT 1)")


def upgrade() -> None:
    conn = op.get_bind()
    change_facts.create(conn)
    _backfill_facts(conn)
    create_index(conn)
    data_dir = context.config.attributes.get("data_dir")
    if data_dir is None:
        return  # run outside the store (no texts at hand): the index fills as versions are recorded
    texts = BlobStore(Path(data_dir) / "versions", suffix=".md", compress=False)
    for document_id, version_id, text_hash in conn.execute(_CURRENT).all():
        index_current(conn, document_id, version_id, texts.get(text_hash).decode("utf-8"))


def _backfill_facts(conn: sa.engine.Connection) -> None:
    """Facts of every recorded version, a thousand rows per statement."""
    rows = conn.execute(sa.text("SELECT id, document_id, recorded_at, assessment FROM versions"))
    while batch := rows.fetchmany(1000):
        conn.execute(change_facts.insert(), [facts_row(r.id, r.document_id, r.recorded_at, r.assessment)
                                             for r in batch])


def downgrade() -> None:
    drop_index(op.get_bind())
    change_facts.drop(op.get_bind())
