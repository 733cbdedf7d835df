"""Rendered objects and Git files stored once by content digest; drafts and revisions keep
references (`sha256:<hex>`) to them (existing rows are converted); rendered chart output
kept by the digest of its inputs.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PREFIX = "sha256:"


def upgrade() -> None:
    blobs = op.create_table(
        "content_blobs",
        sa.Column("digest", sa.String(71), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "render_outputs",
        sa.Column("key", sa.String(71), primary_key=True),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    conn = op.get_bind()
    known: set[str] = set()
    for table, has_files in (("stack_revisions", False), ("stack_drafts", True)):
        columns = "id, objects, files" if has_files else "id, objects"
        for row in conn.execute(sa.text(f"SELECT {columns} FROM {table}")).mappings().all():
            values: dict[str, Any] = {
                "objects": _objects(_json(row["objects"]), known, conn, blobs)
            }
            if has_files:
                values["files"] = _files(_json(row["files"]), known, conn, blobs)
            stored = sa.table(table, sa.column("id"), *(sa.column(k, sa.JSON) for k in values))
            conn.execute(sa.update(stored).where(stored.c.id == row["id"]).values(**values))


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _ref(text: str, known: set[str], conn: sa.Connection, blobs: sa.Table) -> str:
    ref = PREFIX + hashlib.sha256(text.encode()).hexdigest()
    if ref not in known:
        conn.execute(sa.insert(blobs).values(digest=ref, text=text))
        known.add(ref)
    return ref


def _objects(objects: dict[str, list[str]], known: set[str], conn: Any, blobs: Any) -> Any:
    return {key: [layer, _ref(text, known, conn, blobs)] for key, (layer, text) in objects.items()}


def _files(files: dict[str, str], known: set[str], conn: Any, blobs: Any) -> Any:
    return {path: _ref(text, known, conn, blobs) for path, text in files.items()}


def downgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT digest, text FROM content_blobs")).all()
    texts: dict[str, str] = {row[0]: row[1] for row in rows}
    for table, has_files in (("stack_revisions", False), ("stack_drafts", True)):
        columns = "id, objects, files" if has_files else "id, objects"
        for row in conn.execute(sa.text(f"SELECT {columns} FROM {table}")).mappings().all():
            objects = _json(row["objects"])
            values: dict[str, Any] = {
                "objects": {k: [layer, texts.get(v, v)] for k, (layer, v) in objects.items()}
            }
            if has_files:
                values["files"] = {p: texts.get(v, v) for p, v in _json(row["files"]).items()}
            stored = sa.table(table, sa.column("id"), *(sa.column(k, sa.JSON) for k in values))
            conn.execute(sa.update(stored).where(stored.c.id == row["id"]).values(**values))
    op.drop_table("render_outputs")
    op.drop_table("content_blobs")
