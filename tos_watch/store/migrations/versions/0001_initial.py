"""documents, snapshots and versions

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_checked_at", sa.DateTime(timezone=True)),
        sa.Column("last_status", sa.String(20)),
        sa.Column("last_error", sa.Text),
        sa.Column("validators", sa.JSON),
        sa.Column("suspect_hash", sa.String(64)),
        sa.UniqueConstraint("service", "type", name="uq_documents_service_type"),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("parts", sa.JSON, nullable=False),
    )
    op.create_index("ix_snapshots_document_id", "snapshots", ["document_id"])
    op.create_table(
        "versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id")),
        sa.Column("previous_id", sa.Integer, sa.ForeignKey("versions.id")),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("source_ref", sa.String(100)),
        sa.Column("assessment", sa.JSON),
        sa.Column("words_added", sa.Integer, nullable=False, server_default="0"),
        sa.Column("words_removed", sa.Integer, nullable=False, server_default="0"),
        sa.UniqueConstraint("document_id", "source_ref", name="uq_versions_document_source_ref"),
    )
    op.create_index("ix_versions_document_recorded", "versions", ["document_id", "recorded_at"])


def downgrade() -> None:
    op.drop_table("versions")
    op.drop_table("snapshots")
    op.drop_table("documents")
