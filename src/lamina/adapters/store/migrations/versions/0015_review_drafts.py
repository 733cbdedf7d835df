"""Stack drafts a rollout dry run keeps for review name the profile rolled out
(`review_of`): the next dry run of that profile replaces them, so repeated dry runs over a
fleet keep one draft per cluster instead of one per run.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stack_drafts") as batch:
        batch.add_column(sa.Column("review_of", sa.Integer, nullable=True))
    op.create_index(
        "ix_stack_drafts_cluster_id_review_of", "stack_drafts", ["cluster_id", "review_of"]
    )


def downgrade() -> None:
    op.drop_index("ix_stack_drafts_cluster_id_review_of", "stack_drafts")
    with op.batch_alter_table("stack_drafts") as batch:
        batch.drop_column("review_of")
