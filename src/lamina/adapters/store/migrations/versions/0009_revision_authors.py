"""Who committed each stack revision: the committing token's label.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stack_revisions") as batch:
        batch.add_column(sa.Column("committed_by", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stack_revisions") as batch:
        batch.drop_column("committed_by")
