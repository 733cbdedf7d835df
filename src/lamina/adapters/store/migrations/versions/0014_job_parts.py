"""Jobs split into parts: a rollout over several Git targets that never stops early (a dry
run, or one that goes on after failures) runs as parts, one or more Git targets each,
which workers claim and resume apart. A part names its job (`parent_id`); a job split so
(`parts` > 0) is never claimed itself and ends when its last part ends.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("parts", sa.Integer, nullable=False, server_default="0"))
    # No foreign key: adding one rebuilds the table on SQLite. Parts go with their job's org.
    op.create_index("ix_jobs_parent_id", "jobs", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_parent_id", "jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("parts")
        batch.drop_column("parent_id")
