"""Engines, transactions and migrations for the SQL store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from lamina.adapters.store.repositories import SqlUnitOfWork
from lamina.domain.errors import DuplicateKey, ImmutableVersion

_HERE = Path(__file__).parent
WRITE_OPTION = "lamina_write"


def _prepare_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN; we issue BEGIN ourselves so that
    # writers take the write lock up front (BEGIN IMMEDIATE) and never deadlock upgrading.
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _engine_for(url: str, schema: str | None) -> Engine:
    sa_url = sa.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            sa_url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )
        _prepare_sqlite(engine)
        return engine
    if sa_url.get_backend_name() == "postgresql" and sa_url.drivername == "postgresql":
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return sa.create_engine(sa_url, connect_args=connect_args, pool_size=10, pool_pre_ping=True)


def _translate(error: exc.DBAPIError) -> Exception:
    text = str(error.orig)
    if "profile versions are immutable" in text:
        return ImmutableVersion("Published versions are immutable; publish a new version instead")
    if isinstance(error, exc.IntegrityError):
        return DuplicateKey("The change conflicts with stored data (a name or number is taken)")
    return error


class SqlStore:
    """The store port over SQLAlchemy Core; one connection and transaction per unit of work."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self.engine = _engine_for(url, schema)
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self, *, write: bool = False) -> Iterator[SqlUnitOfWork]:
        engine = self._writer if write else self.engine
        try:
            with engine.begin() as conn:
                yield SqlUnitOfWork(conn)
        except exc.DBAPIError as error:
            translated = _translate(error)
            if translated is error:
                raise
            raise translated from error

    def migrate(self) -> None:
        """Bring the schema to the newest migration."""
        config = Config()
        config.set_main_option("script_location", str(_HERE / "migrations"))
        with self._writer.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def create_store(url: str, *, schema: str | None = None) -> SqlStore:
    return SqlStore(url, schema=schema)
