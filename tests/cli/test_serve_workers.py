"""`lamina serve --workers N`: several API processes on PostgreSQL, refused on SQLite."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from lamina.cli.main import app

PG_URL = os.environ.get("LAMINA_TEST_DATABASE_URL", "")
LAMINA = str(Path(sys.executable).with_name("lamina"))


def test_workers_need_postgresql(tmp_path: Path) -> None:
    env = {"LAMINA_DATABASE_URL": f"sqlite:///{tmp_path / 'one.db'}", "LAMINA_DEMO": "0"}
    result = CliRunner().invoke(app, ["serve", "--workers", "2", "--port", "18998"], env=env)
    assert result.exit_code == 2, result.output
    assert "--workers needs PostgreSQL" in result.stderr
    assert not (tmp_path / "one.db").exists(), "nothing was created"


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database (the server migrates its public schema)."""
    if not PG_URL:
        pytest.skip("LAMINA_TEST_DATABASE_URL is not set")
    name = f"lamina_serve_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_two_api_processes_serve_one_postgresql_store(database: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "LAMINA_DATABASE_URL": database,
        "LAMINA_DATA_DIR": str(tmp_path / "data"),
        "LAMINA_DEMO": "1",
        "LAMINA_WORKER_THREADS": "1",
    }
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [LAMINA, "serve", "--port", "18997", "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = "http://127.0.0.1:18997"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        # Both processes started, each with its own services on the one store.
        deadline = time.monotonic() + 30
        while log.read_text().count("Started server process") < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        token = next(w for w in log.read_text().split() if w.startswith("lam_"))
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(20):  # fresh connections, spread over the processes
            with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
                found = http.get("/api/v1/org/stack-profiles").json()
            # The demo catalog was seeded once, by the parent, before the processes started.
            names = [p["name"] for p in found["result"]]
            assert sorted(names) == ["edge-cluster", "observability", "web-platform"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
