"""Rendered objects kept beside a render's files: reading them back costs a JSON parse, not
a YAML parse of the files, so a cluster's unchanged layers need neither Helm nor YAML.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("render_outputs") as batch:
        batch.add_column(sa.Column("objects", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("render_outputs") as batch:
        batch.drop_column("objects")
