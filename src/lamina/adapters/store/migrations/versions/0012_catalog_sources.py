"""Catalog sources and the origins of the profiles installed from them.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "catalog_sources",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("orgs.id", ondelete="CASCADE", name="fk_catalog_sources_org_id_orgs"),
            nullable=False,
        ),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("branch", sa.String(200), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("access", sa.String(16), nullable=False),
        sa.Column("entries", sa.JSON, nullable=False),
        sa.Column("synced_at", TS, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_catalog_sources_org_id_name"),
        sqlite_autoincrement=True,
    )
    # A table apart from `profiles`: 0011 forbids rebuilding that one on SQLite.
    op.create_table(
        "catalog_installs",
        sa.Column(
            "profile_id",
            sa.Integer,
            sa.ForeignKey(
                "profiles.id", ondelete="CASCADE", name="fk_catalog_installs_profile_id_profiles"
            ),
            primary_key=True,
        ),
        sa.Column(
            "source_id",
            sa.Integer,
            sa.ForeignKey(
                "catalog_sources.id",
                ondelete="SET NULL",
                name="fk_catalog_installs_source_id_catalog_sources",
            ),
            nullable=True,
        ),
        sa.Column("source_name", sa.String(63), nullable=False),
        sa.Column("entry", sa.String(63), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("installed_at", TS, nullable=False),
    )
    op.create_index("ix_catalog_installs_source_id", "catalog_installs", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_catalog_installs_source_id", table_name="catalog_installs")
    op.drop_table("catalog_installs")
    op.drop_table("catalog_sources")
