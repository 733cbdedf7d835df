"""Engines, transactions and migrations for the SQL store."""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

from lamina.adapters.store.contents import ContentMemo
from lamina.adapters.store.locks import NamedLocks
from lamina.adapters.store.repositories import READ_OPTION, SqlUnitOfWork, version_cache
from lamina.domain.errors import DuplicateKey, ImmutableVersion, LaminaError, StoreUnavailable

_HERE = Path(__file__).parent
WRITE_OPTION = "lamina_write"
WAIT_OPTION = "lamina_wait"


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
        options = conn.get_execution_options()
        queue = options.get(WRITE_OPTION, False) and options.get(WAIT_OPTION, True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if queue else "BEGIN")


_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


POOL_SIZE = 20


def _engine_for(url: str, schema: str | None, pool_size: int = POOL_SIZE) -> Engine:
    sa_url = sa.make_url(url)
    if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
        raise LaminaError(
            f"The database schema {schema!r} is not a plain name (letters, digits, _)"
        )
    if sa_url.get_backend_name() == "sqlite":
        if schema is not None:
            raise LaminaError("A database schema applies to PostgreSQL only, not to SQLite")
        engine = sa.create_engine(
            sa_url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8
        )
        _prepare_sqlite(engine)
        return engine
    if sa_url.get_backend_name() == "postgresql" and sa_url.drivername == "postgresql":
        sa_url = sa_url.set(drivername="postgresql+psycopg")
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    # Connections kept open: enough for the requests a process serves at once, so that
    # a busy server does not open (and PostgreSQL fork) a connection for the overflow of
    # every burst; up to 10 more are opened at a peak and closed when returned.
    engine = sa.create_engine(
        sa_url, connect_args=connect_args, pool_size=pool_size, max_overflow=10
    )
    _ping_when_idle(engine)
    return engine


IDLE_PING_SECONDS = 5.0
_READS = ("SELECT", "WITH", "BEGIN", "PRAGMA", "SHOW")


def _reads_only(engine: Engine) -> None:
    """A unit of work not opened for writing may only read: a write statement in it is a
    programming error, refused before it reaches the database."""

    @event.listens_for(engine, "before_cursor_execute")
    def guard(conn: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if not conn.get_execution_options().get(READ_OPTION, False):
            return
        if not statement.lstrip()[:7].upper().startswith(_READS):
            raise LaminaError(f"A write in a read-only unit of work: {statement[:80]!r}")


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use when it sat idle for IDLE_PING_SECONDS: one
    the server dropped meanwhile (a restart, an idle timeout) is replaced before it can
    fail a request. Busy connections are not pinged, so a request under load costs no
    extra round trip (what `pool_pre_ping` would add to every checkout)."""

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as error:  # the pool drops it and checks out another
            raise exc.DisconnectionError(str(error)) from error


# SQLite's words for a database file it can no longer use.
_SQLITE_GONE = (
    "attempt to write a readonly database",
    "unable to open database file",
    "disk i/o error",
    "database disk image is malformed",
    "file is not a database",
    "no such table",
)


def _translate(error: exc.DBAPIError, dialect: str) -> Exception:
    text = str(error.orig)
    if "profile versions are immutable" in text:
        return ImmutableVersion("Published versions are immutable; publish a new version instead")
    if isinstance(error, exc.IntegrityError):
        return DuplicateKey("The change conflicts with stored data (a name or number is taken)")
    if dialect == "sqlite" and any(words in text.lower() for words in _SQLITE_GONE):
        return StoreUnavailable(f"The database cannot be used: {text}; nothing was recorded")
    if dialect == "postgresql" and isinstance(error, exc.OperationalError):
        first_line = text.strip().splitlines()[0] if text.strip() else "connection failed"
        return StoreUnavailable(f"The database is unreachable: {first_line}")
    return error


class _FileIdentity:
    """The SQLite file this store opened, so that a file deleted or replaced under the running
    process is noticed instead of writes going to an unlinked inode (lost at restart)."""

    def __init__(self, url: sa.URL) -> None:
        database = url.database or ""
        in_memory = url.get_backend_name() != "sqlite" or database in ("", ":memory:")
        self.path = None if in_memory or database.startswith("file:") else Path(database)
        self._seen: tuple[int, int] | None = None

    def check(self) -> None:
        """StoreUnavailable when the file is gone or is not the one first opened."""
        if self.path is None:
            return
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            if self._seen is None:
                return  # not created yet: the first connection creates it
            raise StoreUnavailable(
                f"The database file {self.path} was deleted while the server runs; "
                "restore it and restart Lamina"
            ) from None
        except OSError as error:
            raise StoreUnavailable(
                f"The database file {self.path} cannot be read: {error}"
            ) from error
        current = (stat.st_dev, stat.st_ino)
        if self._seen is None:
            self._seen = current
        elif current != self._seen:
            raise StoreUnavailable(
                f"The database file {self.path} was replaced while the server runs; "
                "restart Lamina to use the new file"
            )


class SqlStore:
    """The store port over SQLAlchemy Core; one connection and transaction per unit of work."""

    def __init__(self, url: str, *, schema: str | None = None, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.engine = _engine_for(url, schema, pool_size)
        self._file = _FileIdentity(sa.make_url(url))
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})
        self._eager = self.engine.execution_options(**{WRITE_OPTION: True, WAIT_OPTION: False})
        # PostgreSQL reads run without BEGIN and COMMIT (two round trips less per unit of
        # work): at READ COMMITTED every statement takes a snapshot of its own anyway, and
        # the guard below keeps a read unit of work from writing, so none can half-write.
        autocommit = {"isolation_level": "AUTOCOMMIT"} if self.dialect == "postgresql" else {}
        self._reader = self.engine.execution_options(**{READ_OPTION: True}, **autocommit)
        _reads_only(self.engine)
        self._locks = NamedLocks(self.engine, scope=schema or "")
        self._versions = version_cache()
        self._contents = ContentMemo()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self, *, write: bool = False, wait: bool = True) -> Iterator[SqlUnitOfWork]:
        engine = (self._writer if wait else self._eager) if write else self._reader
        self._file.check()
        try:
            with engine.begin() as conn:
                uow = SqlUnitOfWork(conn, self._versions, self._contents)
                yield uow
            uow.committed()
        except exc.DBAPIError as error:
            translated = _translate(error, self.dialect)
            if translated is error:
                raise
            raise translated from error

    def cluster_lock(self, cluster_id: int, *, what: str) -> AbstractContextManager[None]:
        """Held (outside any transaction) while one cluster's commit is pushed and recorded;
        across threads and processes. Conflict naming `what` after a long wait."""
        return self._locks.hold("cluster", cluster_id, what=what)

    def cluster_locks(self, cluster_ids: list[int], *, what: str) -> AbstractContextManager[None]:
        """Several clusters' commit locks at once, all or none (a batch commit)."""
        return self._locks.hold_many("cluster", cluster_ids, what=what)

    def delivery_lock(self, target: str, *, what: str) -> AbstractContextManager[None]:
        """Held while a job delivers to one Git target, across threads and processes."""
        key = zlib.crc32(target.encode()) & 0x7FFFFFFF
        return self._locks.hold("deliver", key, what=what)

    def check(self) -> None:
        """StoreUnavailable unless the database is there, the same one, and answers."""
        with self.unit_of_work() as uow:
            uow.orgs.get_by_slug("")

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema to `revision` (the newest migration by default)."""
        config = Config()
        config.set_main_option("script_location", str(_HERE / "migrations"))
        with self._writer.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
        self._file.check()

    def dispose(self) -> None:
        self.engine.dispose()


def create_store(url: str, *, schema: str | None = None, pool_size: int = POOL_SIZE) -> SqlStore:
    return SqlStore(url, schema=schema, pool_size=pool_size)
