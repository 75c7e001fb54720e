"""digest delivery: subscriptions, digests, deliveries

Revision ID: 0002_delivery
Revises: 0001_initial
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_delivery"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscriber", sa.String(320), nullable=False),
        sa.Column("message_id", sa.String(250), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("transport", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("version_ids", sa.JSON, nullable=False),
        sa.Column("change_count", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("noted_in", sa.Integer),
        sa.UniqueConstraint("message_id", name="uq_digests_message_id"),
    )
    op.create_index("ix_digests_subscriber", "digests", ["subscriber"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscriber", sa.String(320), nullable=False),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id"), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subscriber", "version_id", name="uq_deliveries_subscriber_version"),
    )


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_index("ix_digests_subscriber", "digests")
    op.drop_table("digests")
    op.drop_table("subscriptions")
