"""alerts: alert_targets, alerts, check_requests, and APScheduler's apscheduler_jobs

Revision ID: 0003_alerts
Revises: 0002_delivery
Create Date: 2026-12-02

apscheduler_jobs has APScheduler 3's own shape (SQLAlchemyJobStore: id, next_run_time,
job_state). A store whose daemon already ran has the table, made by APScheduler; it is kept.
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_alerts"
down_revision = "0002_delivery"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_targets",
        sa.Column("subscriber", sa.String(320), primary_key=True),
        sa.Column("channel", sa.String(64), primary_key=True),
        sa.Column("display", sa.String(500), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text),
        sa.Column("last_ok_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscriber", sa.String(320), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, sa.ForeignKey("versions.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("detail", sa.Text),
        sa.UniqueConstraint("subscriber", "channel", "version_id", name="uq_alerts_subscriber_channel_version"),
    )
    op.create_table(
        "check_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("services", sa.JSON),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("result", sa.JSON),
    )
    if not sa.inspect(op.get_bind()).has_table("apscheduler_jobs"):
        op.create_table(
            "apscheduler_jobs",
            sa.Column("id", sa.Unicode(191), primary_key=True),
            sa.Column("next_run_time", sa.Float(25), index=True),
            sa.Column("job_state", sa.LargeBinary, nullable=False),
        )


def downgrade() -> None:
    op.drop_table("check_requests")
    op.drop_table("alerts")
    op.drop_table("alert_targets")  # apscheduler_jobs stays: APScheduler made it before this revision
