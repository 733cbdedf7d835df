"""The job queue on Huey: carries "run job N" from the API to the workers.

The store holds every job, its lease and its results; the queue only rings the bell. So a
message lost with a dying worker loses nothing: recovery finds the job in the store (still
queued, or running under a lease that ran out) and enqueues it again, and claiming a job
is a single conditional update, so a job enqueued twice still runs once at a time.

Where the bell rings follows `LAMINA_QUEUE_URL`:
- empty: beside the store: a SQLite file in the data directory for a SQLite store, the
  store's own PostgreSQL database (its queue named after the schema) for PostgreSQL;
- `redis://host:port/db`: Redis, for workers on many machines;
- `postgresql://…`: a PostgreSQL database of its own;
- `sqlite:///path`: a SQLite file (one machine).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import huey
from huey.consumer import Consumer

log = logging.getLogger("lamina.jobs")
_TASK = "lamina.run_job"
Runner = Callable[[int], None]


def huey_for(url: str, *, name: str) -> huey.Huey:
    """A Huey instance on the broker `url` names (see the module docstring)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return huey.RedisHuey(name, url=url)
    if url.startswith(("postgresql://", "postgres://")):
        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        return huey.PostgresHuey(name, dsn=dsn, table_prefix="lamina_queue")
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return huey.SqliteHuey(name, filename=str(path))
    if url == "memory://":
        return huey.MemoryHuey(name)
    raise ValueError(
        f"Unsupported job queue URL {url!r}: use redis://, postgresql:// or sqlite:///"
    )


def queue_name(database_url: str, schema: str | None) -> str:
    """The queue's name on its broker, one per store: two installations (or two test
    databases) sharing a Redis never take each other's jobs."""
    store = f"{database_url}\0{schema or ''}".encode()
    return f"lamina-{hashlib.sha256(store).hexdigest()[:16]}"


def default_url(database_url: str, data_dir: Path) -> str:
    """The queue beside the store: its PostgreSQL database, or a SQLite file in `data_dir`."""
    if database_url.startswith(("postgresql", "postgres")):
        return "postgresql://" + database_url.split("://", 1)[1]
    return f"sqlite:///{data_dir / 'queue.db'}"


class HueyQueue:
    """Enqueue jobs, and (in a worker) run them with a pool of threads or processes."""

    def __init__(self, url: str, *, name: str = "lamina") -> None:
        self.url = url
        self._name = name
        self._runner: Runner | None = None
        self._opened: tuple[huey.Huey, Any] | None = None
        self._opening = threading.Lock()

    def _open(self) -> tuple[huey.Huey, Any]:
        """The Huey instance and its task, made on first use: a broker (or a data directory)
        that cannot be used fails the work that needs it, not the server's start."""
        with self._opening:
            if self._opened is None:
                made = huey_for(self.url, name=self._name)
                self._opened = (made, made.task(name=_TASK)(self._run))
            return self._opened

    @property
    def _huey(self) -> huey.Huey:
        return self._open()[0]

    def enqueue(self, job_id: int) -> None:
        self._open()[1](job_id)

    def _run(self, job_id: int) -> None:
        if self._runner is None:
            raise RuntimeError("This process has no job runner: start it with `lamina worker`")
        self._runner(job_id)

    def consumer(self, runner: Runner, *, workers: int, kind: str = "thread") -> Consumer:
        """A Huey consumer running `runner(job_id)` for each message, `workers` at once."""
        self._runner = runner
        return _QuietConsumer(
            self._huey,
            workers=max(1, workers),
            worker_type=kind,
            periodic=False,
            initial_delay=0.05,
            max_delay=1.0,
            check_worker_health=True,
        )

    def pending(self) -> int:
        """Messages waiting in the queue."""
        return int(self._huey.pending_count())

    def flush(self) -> None:
        """Drop every waiting message (tests; the store still holds the jobs)."""
        self._huey.flush()


class _QuietConsumer(Consumer):  # type: ignore[misc]  # Huey ships no type hints
    """A consumer that leaves signal handling to its host outside the main thread."""

    def _set_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            super()._set_signal_handlers()


class EmbeddedWorker:
    """A consumer on threads inside another process (the API server of `make serve`),
    plus a recovery loop that enqueues again the jobs a dead worker left behind. In the
    background, a queue that cannot be opened yet (an unusable data directory, a broker
    that is down) is retried by the recovery loop instead of failing the server."""

    def __init__(
        self,
        queue: HueyQueue,
        runner: Runner,
        recover: Callable[[], Any],
        *,
        workers: int,
        every: float,
    ) -> None:
        self._queue = queue
        self._runner = runner
        self._workers = workers
        self._consumer: Consumer | None = None
        self._recover = recover
        self._every = every
        self._stop = threading.Event()
        self._loop = threading.Thread(target=self._recovering, name="lamina-jobs", daemon=True)

    def start(self) -> None:
        """Run in the background (inside the API server)."""
        self._started()
        self._loop.start()

    def run(self) -> None:
        """Run in the foreground until SIGINT or SIGTERM (`lamina worker`)."""
        consumer = self._queue.consumer(self._runner, workers=self._workers)
        self._consumer = consumer
        self._loop.start()
        try:
            consumer.run()
        finally:
            self._stop.set()
            self._loop.join(timeout=5)

    def stop(self) -> None:
        self._stop.set()
        if self._consumer is not None:
            self._consumer.stop(graceful=True)
        self._loop.join(timeout=5)

    def _started(self) -> bool:
        """Whether the background consumer runs (starting it when it does not yet)."""
        if self._consumer is None:
            try:
                consumer = self._queue.consumer(self._runner, workers=self._workers)
                consumer.start()
            except Exception as error:
                log.error("Job workers cannot start yet: %s", error)
                return False
            self._consumer = consumer
        return True

    def _recovering(self) -> None:
        while not self._stop.is_set():
            try:
                if self._started():
                    self._recover()
            except Exception:  # the next round tries again; a worker must outlive a blip
                log.exception("Could not recover unfinished jobs")
            self._stop.wait(self._every)
