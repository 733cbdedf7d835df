"""The SQL store (SQLAlchemy + Alembic): SQLite by default, PostgreSQL at scale."""

from lamina.adapters.store.engine import SqlStore, create_store

__all__ = ["SqlStore", "create_store"]
