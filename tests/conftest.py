"""Shared fixtures: real stores (SQLite file and PostgreSQL schema), a real HTTP server."""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from lamina.api.app import create_app
from lamina.config import Services, Settings, build_services
from lamina.domain.models import Role
from lamina.services import auth
from tests import documents

pytest_plugins = ["tests.fixtures.pytest_plugin"]

PG_URL = os.environ.get("LAMINA_TEST_DATABASE_URL")
# Git remotes and chart repositories of the tests live on this machine (bare repositories in
# the temp folder, HTTP servers on loopback): services built from the environment allow them.
os.environ.setdefault("LAMINA_ALLOW_LOCAL_TARGETS", "1")
BACKENDS = ["sqlite", "postgresql"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite golden files from current output"
    )


@pytest.fixture(scope="session", autouse=True)
def _documents_use_the_test_chart_repository(chart_repo: Any) -> None:
    documents.CHART_REPO = chart_repo.url


@dataclass
class Database:
    url: str
    schema: str | None


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """An empty database on each backend: a fresh SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield Database(url=f"sqlite:///{tmp_path / 'lamina.db'}", schema=None)
        return
    if not PG_URL:
        pytest.skip("LAMINA_TEST_DATABASE_URL is not set")
    schema = f"lamina_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield Database(url=PG_URL, schema=schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def services(database: Database, tmp_path: Path) -> Iterator[Services]:
    settings = Settings(
        database_url=database.url,
        schema=database.schema,
        demo=False,
        data_dir=tmp_path / "data",
        local_roots=(Path(__file__).parent / "charts", Path(tempfile.gettempdir())),
        allow_local_targets=True,
        # A queue of each test's own; the brokers themselves are tested in test_jobs.py.
        queue_url=f"sqlite:///{tmp_path / 'data' / 'queue.db'}",
    )
    wired = build_services(settings)
    yield wired
    wired.store.dispose()


class LiveServer:
    """The real app served by uvicorn on a loopback port, in a thread."""

    def __init__(self, wired: Services, *, workers: int | None = None) -> None:
        config = uvicorn.Config(
            create_app(wired), host="127.0.0.1", port=0, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        # Job workers inside the server process, as `lamina serve` runs them.
        chosen = wired.settings.worker_threads if workers is None else workers
        self.worker = wired.embedded_worker(workers=chosen) if chosen else None

    def __enter__(self) -> str:
        if self.worker is not None:
            self.worker.start()
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        if self.worker is not None:
            self.worker.stop()


@pytest.fixture
def server_url(services: Services) -> Iterator[str]:
    with LiveServer(services) as url:
        yield url


TokenFactory = Callable[..., str]


@pytest.fixture
def make_token(services: Services) -> TokenFactory:
    def make(org: str = "acme", role: str = "admin") -> str:
        return auth.create_token(services.store, org_slug=org, role=Role(role))

    return make


@pytest.fixture
def client(server_url: str, make_token: TokenFactory) -> Iterator[httpx.Client]:
    """An HTTP client of org `acme` with an admin token, against the live server."""
    token = make_token("acme", "admin")
    with httpx.Client(
        base_url=server_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        yield http
