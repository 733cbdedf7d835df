"""Named locks held outside any database transaction, across threads and processes.

A lock guards long work on one object (a Git push for one cluster) without holding a
database transaction open: on SQLite an `flock` on a file beside the database, on PostgreSQL
a session advisory lock on a connection of its own. Both die with the process that holds
them, so whoever takes a lock knows that no live worker is inside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lamina.domain.errors import Conflict

POLL_SECONDS = 0.05

_local: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


def _thread_lock(key: str) -> threading.Lock:
    with _local_guard:
        return _local.setdefault(key, threading.Lock())


class NamedLocks:
    """`hold(name, key)` blocks until the lock is free or `timeout` seconds pass (Conflict)."""

    def __init__(self, engine: Engine, *, scope: str, timeout: float = 180.0) -> None:
        self._engine = engine
        self._scope = scope
        self._timeout = timeout
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._folder = Path(f"{database}.locks") if database and database != ":memory:" else None

    @contextlib.contextmanager
    def hold(self, name: str, key: int, *, what: str) -> Iterator[None]:
        deadline = time.monotonic() + self._timeout
        local = _thread_lock(f"{self._scope}\0{self._engine.url}\0{name}\0{key}")
        if not local.acquire(timeout=self._timeout):
            raise _busy(what)
        try:
            if self._engine.dialect.name == "postgresql":
                with self._advisory(name, key, deadline, what):
                    yield
            elif self._folder is not None:
                with _file_lock(self._folder / f"{name}-{key}.lock", deadline, what):
                    yield
            else:
                yield
        finally:
            local.release()

    @contextlib.contextmanager
    def hold_many(self, name: str, keys: list[int], *, what: str) -> Iterator[None]:
        """Several keys' locks, taken in ascending order (so that holders of overlapping
        sets never wait on each other in a circle); on PostgreSQL all on one connection."""
        deadline = time.monotonic() + self._timeout
        ordered = sorted(set(keys))
        with contextlib.ExitStack() as held:
            for key in ordered:
                local = _thread_lock(f"{self._scope}\0{self._engine.url}\0{name}\0{key}")
                if not local.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    raise _busy(what)
                held.callback(local.release)
            if self._engine.dialect.name == "postgresql":
                held.enter_context(self._advisory_many(name, ordered, deadline, what))
            elif self._folder is not None:
                for key in ordered:
                    held.enter_context(
                        _file_lock(self._folder / f"{name}-{key}.lock", deadline, what)
                    )
            yield

    @contextlib.contextmanager
    def _advisory_many(
        self, name: str, keys: list[int], deadline: float, what: str
    ) -> Iterator[None]:
        space = zlib.crc32(f"{self._scope}\0{name}".encode()) & 0x7FFFFFFF
        taken: list[int] = []
        with self._engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            take = sa.text("SELECT pg_try_advisory_lock(:space, :key)")
            try:
                for key in keys:
                    while not conn.execute(take, {"space": space, "key": key}).scalar_one():
                        if time.monotonic() > deadline:
                            raise _busy(what)
                        time.sleep(POLL_SECONDS)
                    taken.append(key)
                yield
            finally:
                for key in reversed(taken):
                    conn.execute(
                        sa.text("SELECT pg_advisory_unlock(:space, :key)"),
                        {"space": space, "key": key},
                    )

    @contextlib.contextmanager
    def _advisory(self, name: str, key: int, deadline: float, what: str) -> Iterator[None]:
        # Advisory locks are per database; the scope (the schema) keeps tenants of one
        # database, such as test schemas, from waiting on each other's keys.
        space = zlib.crc32(f"{self._scope}\0{name}".encode()) & 0x7FFFFFFF
        args = {"space": space, "key": key}
        with self._engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            take = sa.text("SELECT pg_try_advisory_lock(:space, :key)")
            while not conn.execute(take, args).scalar_one():
                if time.monotonic() > deadline:
                    raise _busy(what)
                time.sleep(POLL_SECONDS)
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:space, :key)"), args)


@contextlib.contextmanager
def _file_lock(path: Path, deadline: float, what: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as handle:
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _busy(what) from None
                time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _busy(what: str) -> Conflict:
    return Conflict(f"{what} is busy with another commit; try again when it has finished")
