"""Search index: the substring search of profiles and packs answers from an index.

PostgreSQL: GIN trigram indexes (pg_trgm) on name and description, which the
`col ILIKE '%x%'` of the search uses (trigram indexes serve ILIKE; they hold lower-cased
trigrams). SQLite: FTS5 tables with the trigram tokenizer,
external content over the same columns, kept in step by triggers.

When the index cannot be made (pg_trgm not installable by this role, SQLite older than 3.34
or built without FTS5), the migration leaves it out and search keeps scanning the table with
the same results.

Later migrations must not rebuild `profiles` or `pack_versions` with a batch copy on SQLite:
the copy drops the triggers that keep the FTS5 tables in step.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import logging
import sqlite3

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

# (table, FTS5 table) pairs; both index the `name` and `description` columns.
TABLES = (("profiles", "profiles_fts"), ("pack_versions", "pack_versions_fts"))
COLUMNS = ("name", "description")


def _pg_trgm_schema(conn: sa.Connection) -> str | None:
    return conn.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_trgm'"
    ).scalar()


def _ensure_pg_trgm(conn: sa.Connection) -> str | None:
    """The schema holding pg_trgm, installing it (into `public` when that exists, so that
    dropping one application schema never drops it) when allowed; None when it cannot be."""
    schema = _pg_trgm_schema(conn)
    if schema is not None:
        return schema
    has_public = conn.exec_driver_sql(
        "SELECT 1 FROM pg_namespace WHERE nspname = 'public'"
    ).scalar()
    target = " SCHEMA public" if has_public else ""
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS pg_trgm{target}")
    except sa.exc.DBAPIError as error:
        # Another migration may have installed it meanwhile; otherwise it is not allowed.
        schema = _pg_trgm_schema(conn)
        if schema is None:
            log.warning("pg_trgm is unavailable (%s); search scans the table", error.orig)
        return schema
    return _pg_trgm_schema(conn)


def _pg_indexes() -> list[tuple[str, str, str]]:
    return [
        (f"ix_{table}_{column}_trgm", table, column) for table, _ in TABLES for column in COLUMNS
    ]


# Profiles change one at a time: their index takes each row at once (no pending list), so
# that a search right after a write, and the planner's estimate, need no VACUUM first.
# Packs arrive by the thousand at each sync: the pending list batches them.
PG_INDEX_OPTIONS = {"profiles": " WITH (fastupdate = off)", "pack_versions": ""}


def _fts5_trigram_available() -> bool:
    """Whether the SQLite library this process uses has FTS5 and its trigram tokenizer."""
    if sqlite3.sqlite_version_info < (3, 34, 0):
        return False
    probe = sqlite3.connect(":memory:")
    try:
        probe.execute("CREATE VIRTUAL TABLE probe USING fts5(x, tokenize='trigram')")
    except sqlite3.Error:
        return False
    finally:
        probe.close()
    return True


def _sqlite_upgrade(conn: sa.Connection) -> None:
    if not _fts5_trigram_available():
        log.warning("SQLite lacks FTS5 with the trigram tokenizer; search scans the table")
        return
    for table, fts in TABLES:
        conn.exec_driver_sql(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(name, description,"
            f" content='{table}', content_rowid='id', tokenize='trigram')"
        )
        conn.exec_driver_sql(
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN"
            f" INSERT INTO {fts}(rowid, name, description)"
            " VALUES (new.id, new.name, new.description); END"
        )
        conn.exec_driver_sql(
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN"
            f" INSERT INTO {fts}({fts}, rowid, name, description)"
            " VALUES ('delete', old.id, old.name, old.description); END"
        )
        conn.exec_driver_sql(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF id, name, description ON {table} BEGIN"
            f" INSERT INTO {fts}({fts}, rowid, name, description)"
            " VALUES ('delete', old.id, old.name, old.description);"
            f" INSERT INTO {fts}(rowid, name, description)"
            " VALUES (new.id, new.name, new.description); END"
        )
        conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_upgrade(conn)
        return
    if conn.dialect.name != "postgresql":
        return
    schema = _ensure_pg_trgm(conn)
    if schema is None:
        return
    opclass = f'"{schema}".gin_trgm_ops'
    for index, table, column in _pg_indexes():
        conn.exec_driver_sql(
            f"CREATE INDEX IF NOT EXISTS {index} ON {table}"
            f" USING gin ({column} {opclass}){PG_INDEX_OPTIONS[table]}"
        )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for _table, fts in TABLES:
            for action in ("insert", "delete", "update"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {fts}_{action}")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {fts}")
        return
    if conn.dialect.name == "postgresql":
        # pg_trgm stays: other schemas of the same database may use it.
        for index, _table, _column in _pg_indexes():
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index}")
