"""cluster: blobs in the database, the scheduler's shared state, cluster-wide host politeness

Revision ID: 0004_cluster
Revises: 0003_alerts
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_cluster"
down_revision = "0003_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name in ("raw_blobs", "text_blobs"):  # content-addressed: raw pages (zlib) and version texts
        op.create_table(name, sa.Column("digest", sa.String(64), primary_key=True),
                        sa.Column("data", sa.LargeBinary, nullable=False))
    op.create_table(  # what the scheduler tells workers (the watchlist's hash)
        "cluster_state",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(  # per host: when the next request may start, and a Retry-After pause
        "fetch_hosts",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("next_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(  # per host: `per_host` request slots, each leased for at most one attempt
        "fetch_host_slots",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holder", sa.String(100)),
    )
    op.create_table(
        "robots_cache",
        sa.Column("origin", sa.String(300), primary_key=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )


def downgrade() -> None:
    for name in ("robots_cache", "fetch_host_slots", "fetch_hosts", "cluster_state", "text_blobs", "raw_blobs"):
        op.drop_table(name)
