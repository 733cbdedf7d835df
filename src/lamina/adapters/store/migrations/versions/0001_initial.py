"""Initial schema: orgs, tokens, profiles, versions, drafts.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)

# Versions are immutable: the database itself refuses any UPDATE of a stored version.
SQLITE_TRIGGER = """
CREATE TRIGGER profile_versions_immutable BEFORE UPDATE ON profile_versions
BEGIN SELECT RAISE(ABORT, 'profile versions are immutable'); END
"""
POSTGRES_FUNCTION = """
CREATE FUNCTION lamina_refuse_version_update() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'profile versions are immutable'
  USING ERRCODE = 'integrity_constraint_violation';
END
$$ LANGUAGE plpgsql
"""
POSTGRES_TRIGGER = """
CREATE TRIGGER profile_versions_immutable BEFORE UPDATE ON profile_versions
FOR EACH ROW EXECUTE FUNCTION lamina_refuse_version_update()
"""


def _create_table(name: str, *items: Any) -> None:
    # AUTOINCREMENT: SQLite must never hand a deleted row's id to a new row.
    op.create_table(name, *items, sqlite_autoincrement=True)


def upgrade() -> None:
    _create_table(
        "orgs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("slug", name="uq_orgs_slug"),
    )
    _create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("orgs.id", ondelete="CASCADE", name="fk_api_tokens_org_id_orgs"),
            nullable=False,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    _create_table(
        "profiles",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("orgs.id", ondelete="CASCADE", name="fk_profiles_org_id_orgs"),
            nullable=False,
        ),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.String(200), nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("current_version", sa.Integer, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("org_id", "name", name="uq_profiles_org_id_name"),
    )
    op.create_index("ix_profiles_org_id_category", "profiles", ["org_id", "category"])
    op.create_index("ix_profiles_visibility", "profiles", ["visibility"])
    op.create_table(
        "profile_tags",
        sa.Column(
            "profile_id",
            sa.Integer,
            sa.ForeignKey(
                "profiles.id", ondelete="CASCADE", name="fk_profile_tags_profile_id_profiles"
            ),
            primary_key=True,
        ),
        sa.Column("tag", sa.String(200), primary_key=True),
    )
    op.create_index("ix_profile_tags_tag", "profile_tags", ["tag"])
    _create_table(
        "profile_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "profile_id",
            sa.Integer,
            sa.ForeignKey(
                "profiles.id", ondelete="CASCADE", name="fk_profile_versions_profile_id_profiles"
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("changelog", sa.Text, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("lock", sa.JSON, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("profile_id", "version", name="uq_profile_versions_profile_id_version"),
    )
    _create_table(
        "drafts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "org_id",
            sa.Integer,
            sa.ForeignKey("orgs.id", ondelete="CASCADE", name="fk_drafts_org_id_orgs"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column(
            "profile_id",
            sa.Integer,
            sa.ForeignKey("profiles.id", ondelete="SET NULL", name="fk_drafts_profile_id_profiles"),
            nullable=True,
        ),
        sa.Column("base_version", sa.Integer, nullable=True),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_drafts_org_id_name", "drafts", ["org_id", "name"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER profile_versions_immutable ON profile_versions")
        op.execute("DROP FUNCTION lamina_refuse_version_update()")
    for table in ("drafts", "profile_versions", "profile_tags", "profiles", "api_tokens", "orgs"):
        op.drop_table(table)
