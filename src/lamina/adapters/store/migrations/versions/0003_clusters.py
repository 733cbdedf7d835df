"""Clusters, instantiations, stack drafts and revisions, version deprecations.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def _fk(column: str, target: str, table: str) -> sa.Column:  # type: ignore[type-arg]
    ref_table = target.split(".")[0]
    return sa.Column(
        column,
        sa.Integer,
        sa.ForeignKey(target, ondelete="CASCADE", name=f"fk_{table}_{column}_{ref_table}"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("org_id", "orgs.id", "clusters"),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("kubernetes_version", sa.String(64), nullable=False),
        sa.Column("git_url", sa.Text, nullable=False),
        sa.Column("git_branch", sa.String(200), nullable=False),
        sa.Column("git_path", sa.String(500), nullable=False),
        sa.Column("git_mode", sa.String(16), nullable=False),
        sa.Column("git_username", sa.Text, nullable=True),
        sa.Column("git_token_sealed", sa.Text, nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("commit_sha", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_clusters_org_id_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "instantiations",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("org_id", "orgs.id", "instantiations"),
        _fk("cluster_id", "clusters.id", "instantiations"),
        _fk("profile_id", "profiles.id", "instantiations"),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("bindings", sa.JSON, nullable=False),
        sa.Column("secrets_sealed", sa.JSON, nullable=False),
        sa.Column("overrides", sa.JSON, nullable=False),
        sa.Column("committed_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_instantiations_profile_id_version", "instantiations", ["profile_id", "version"]
    )
    op.create_index("ix_instantiations_cluster_id", "instantiations", ["cluster_id"])
    op.create_table(
        "stack_drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("org_id", "orgs.id", "stack_drafts"),
        _fk("cluster_id", "clusters.id", "stack_drafts"),
        sa.Column("base_revision", sa.Integer, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("addons", sa.JSON, nullable=False),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("objects", sa.JSON, nullable=False),
        sa.Column("warnings", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "stack_revisions",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("cluster_id", "clusters.id", "stack_revisions"),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("commit_sha", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("addons", sa.JSON, nullable=False),
        sa.Column("objects", sa.JSON, nullable=False),
        sa.Column("committed_at", TS, nullable=False),
        sa.UniqueConstraint(
            "cluster_id", "revision", name="uq_stack_revisions_cluster_id_revision"
        ),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "version_deprecations",
        sa.Column(
            "profile_id",
            sa.Integer,
            sa.ForeignKey(
                "profiles.id",
                ondelete="CASCADE",
                name="fk_version_deprecations_profile_id_profiles",
            ),
            primary_key=True,
        ),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "version_deprecations",
        "stack_revisions",
        "stack_drafts",
        "instantiations",
        "clusters",
    ):
        op.drop_table(table)
