"""Jobs: long work over many clusters (rollouts), with their per-cluster results.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("orgs.id", ondelete="CASCADE", name="fk_jobs_org_id_orgs"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("secrets_sealed", sa.Text, nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_id", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("finished_at", TS, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_jobs_org_id_id", "jobs", ["org_id", "id"])
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_table(
        "job_results",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "job_id",
            sa.Integer,
            sa.ForeignKey("jobs.id", ondelete="CASCADE", name="fk_job_results_job_id_jobs"),
            nullable=False,
        ),
        sa.Column("cluster_id", sa.Integer, nullable=False),
        sa.Column("cluster", sa.String(63), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("job_id", "cluster_id", name="uq_job_results_job_id_cluster_id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("job_results")
    op.drop_index("ix_jobs_state", table_name="jobs")
    op.drop_index("ix_jobs_org_id_id", table_name="jobs")
    op.drop_table("jobs")
