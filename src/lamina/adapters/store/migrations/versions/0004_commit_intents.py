"""Exactly once: commit intents (a stack commit recorded before its push, reconciled after a
crash); each stack revision and profile version remembers the draft it came from.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commit_intents",
        sa.Column(
            "cluster_id",
            sa.Integer,
            sa.ForeignKey(
                "clusters.id", ondelete="CASCADE", name="fk_commit_intents_cluster_id_clusters"
            ),
            primary_key=True,
        ),
        sa.Column("draft_id", sa.Integer, nullable=False),
        sa.Column("marker", sa.String(64), nullable=False),
        sa.Column("base_revision", sa.Integer, nullable=False),
        sa.Column("parent_sha", sa.String(64), nullable=True),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )

    # Plain ADD COLUMN (no batch copy), so the immutability triggers of versions stay.
    op.add_column("stack_revisions", sa.Column("draft_id", sa.Integer, nullable=True))
    op.add_column("profile_versions", sa.Column("draft_id", sa.Integer, nullable=True))


def downgrade() -> None:
    op.drop_column("profile_versions", "draft_id")
    op.drop_column("stack_revisions", "draft_id")
    op.drop_table("commit_intents")
