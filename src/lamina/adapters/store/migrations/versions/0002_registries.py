"""Registries and the pack versions their indexes list.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "registries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("orgs.id", ondelete="CASCADE", name="fk_registries_org_id_orgs"),
            nullable=False,
        ),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("username", sa.Text, nullable=True),
        sa.Column("password_sealed", sa.Text, nullable=True),
        sa.Column("charts", sa.JSON, nullable=False),
        sa.Column("synced_at", TS, nullable=True),
        sa.Column("sync_error", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_registries_org_id_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "pack_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "registry_id",
            sa.Integer,
            sa.ForeignKey(
                "registries.id", ondelete="CASCADE", name="fk_pack_versions_registry_id_registries"
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("app_version", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("kube_version", sa.String(200), nullable=False),
        sa.Column("deprecated", sa.Boolean, nullable=False),
        sa.Column("urls", sa.JSON, nullable=False),
        sa.Column("created", sa.String(64), nullable=False),
        sa.Column("is_latest", sa.Boolean, nullable=False),
        sa.UniqueConstraint(
            "registry_id", "name", "version", name="uq_pack_versions_registry_id_name_version"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_pack_versions_registry_id_is_latest", "pack_versions", ["registry_id", "is_latest"]
    )


def downgrade() -> None:
    op.drop_table("pack_versions")
    op.drop_table("registries")
