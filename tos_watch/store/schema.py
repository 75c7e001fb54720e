"""The database schema, as SQLAlchemy Core tables on one MetaData.

Texts and raw pages live in files (see blobs.py); the database holds what they
are, whose they are and when they were seen. Alembic migrations in
migrations/versions/ create and evolve these tables; this module is their
current shape for queries.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

documents = sa.Table(
    "documents", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("service", sa.String(200), nullable=False),
    sa.Column("type", sa.String(200), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_checked_at", sa.DateTime(timezone=True)),
    sa.Column("last_status", sa.String(20)),
    sa.Column("last_error", sa.Text),
    sa.Column("validators", sa.JSON),  # per source: the server's ETag/Last-Modified, echoed next time
    sa.Column("suspect_hash", sa.String(64)),  # text that lost most of the document, awaiting confirmation
    sa.UniqueConstraint("service", "type", name="uq_documents_service_type"),
)

snapshots = sa.Table(
    "snapshots", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False, index=True),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("parts", sa.JSON, nullable=False),  # per source: {hash, url, content_type, status}
)

versions = sa.Table(
    "versions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("text_hash", sa.String(64), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id")),
    sa.Column("previous_id", sa.Integer, sa.ForeignKey("versions.id")),
    sa.Column("origin", sa.String(20), nullable=False),  # fetch | import | reextract
    sa.Column("source_ref", sa.String(100)),  # e.g. the OTA commit an imported version came from
    sa.Column("assessment", sa.JSON),  # classifier output for the change from previous_id
    sa.Column("words_added", sa.Integer, nullable=False, server_default="0"),
    sa.Column("words_removed", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("document_id", "source_ref", name="uq_versions_document_source_ref"),
    sa.Index("ix_versions_document_recorded", "document_id", "recorded_at"),
)

# --- cluster (0004): blobs in the database when no disk is shared; the scheduler's notes; politeness ---

raw_blobs = sa.Table("raw_blobs", metadata, sa.Column("digest", sa.String(64), primary_key=True),
                     sa.Column("data", sa.LargeBinary, nullable=False))
text_blobs = sa.Table("text_blobs", metadata, sa.Column("digest", sa.String(64), primary_key=True),
                      sa.Column("data", sa.LargeBinary, nullable=False))
cluster_state = sa.Table(
    "cluster_state", metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
