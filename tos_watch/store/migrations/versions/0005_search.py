"""full-text search over current versions; change facts for filtering

Revision ID: 0005_search
Revises: 0004_cluster
Create Date: 2026-12-02

Creates the search index (FTS5 on SQLite, tsvector + GIN on PostgreSQL) and fills it
with every document's current text, read through the blob store the store passes in
(files in the data directory, or the database's blob tables on a cluster store).
"""
import sqlalchemy as sa
from alembic import context, op

from tos_watch.store.facts import change_facts, facts_row
from tos_watch.store.schema import versions
from tos_watch.store.search import create_index, drop_index, index_current

revision = "0005_search"
down_revision = "0004_cluster"
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
    texts = context.config.attributes.get("texts")
    if texts is None:
        return  # run outside the store (no texts at hand): the index fills as versions are recorded
    for document_id, version_id, text_hash in conn.execute(_CURRENT).all():
        index_current(conn, document_id, version_id, texts.get(text_hash).decode("utf-8"))


def _backfill_facts(conn: sa.engine.Connection) -> None:
    """Facts of every recorded version, a thousand rows per statement."""
    v = versions.c  # typed columns: SQLite hands back text for dates and JSON to a plain text query
    rows = conn.execute(sa.select(v.id, v.document_id, v.recorded_at, v.assessment))
    while batch := rows.fetchmany(1000):
        conn.execute(change_facts.insert(), [facts_row(r.id, r.document_id, r.recorded_at, r.assessment)
                                             for r in batch])


def downgrade() -> None:
    drop_index(op.get_bind())
    change_facts.drop(op.get_bind())
