"""A secret parameter goes through a whole journey on a real `lamina serve` process and
appears in none of its logs, nor in the GitOps repository."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from lamina.config import Settings, build_services
from lamina.domain.models import Role
from lamina.services import auth
from tests.api.test_clusters import CLUSTERS, commit, register
from tests.api.test_journey import DRAFTS, PROFILES, import_doc
from tests.documents import web_platform
from tests.fixtures.gitrepos import BareRepo

CHARTS = Path(__file__).parents[1] / "charts"
SECRET = f"hunter2-{uuid.uuid4().hex}"


@dataclass
class Served:
    http: httpx.Client
    logs: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> str:
        """Stop the server and return everything it wrote."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.logs.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path, bare_repo: BareRepo) -> Iterator[Served]:
    database = f"sqlite:///{tmp_path / 'lamina.db'}"
    wired = build_services(Settings(database_url=database, demo=False, data_dir=tmp_path / "d"))
    token = auth.create_token(wired.store, org_slug="acme", role=Role.ADMIN)
    wired.store.dispose()
    port = free_port()
    env = {
        **os.environ,
        "LAMINA_DATABASE_URL": database,
        "LAMINA_DATA_DIR": str(tmp_path / "d"),
        "LAMINA_DEMO": "0",
        "LAMINA_LOCAL_ROOTS": f"{CHARTS}:{bare_repo.path.parent}",
        "LAMINA_ALLOW_LOCAL_TARGETS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    logs = tmp_path / "server.log"
    lamina = Path(sys.executable).parent / "lamina"
    with logs.open("wb") as sink:
        process = subprocess.Popen(
            [str(lamina), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    served = Served(http=http, logs=logs, process=process)
    try:
        wait_until_up(http, process, logs)
        yield served
    finally:
        http.close()
        served.stop()


def wait_until_up(http: httpx.Client, process: subprocess.Popen[bytes], logs: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"lamina serve exited: {logs.read_text()}")
        try:
            if http.get("/api/v1/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail("lamina serve did not start")


def test_a_secret_never_reaches_logs_or_git(served: Served, bare_repo: BareRepo) -> None:
    http = served.http
    secret_param = {"name": "admin_password", "value": SECRET}
    domain = {"name": "domain", "value": "shop.example.com"}
    draft = import_doc(http, web_platform(), as_draft="true")
    assert draft.status_code == 201, draft.text
    created = import_doc(http, web_platform())
    assert created.status_code == 201, created.text
    profile_id = created.json()["profile"]["id"]
    version = f"{PROFILES}/{profile_id}/versions/1"

    for base in (f"{DRAFTS}/{draft.json()['id']}", version):
        in_url = http.get(
            f"{base}/effective-values",
            params={"layer": "ingress", "param": [f"admin_password={SECRET}", "replicas=2"]},
        )
        assert in_url.status_code == 422, in_url.text
        assert in_url.json()["errors"][0]["code"] == "secret_in_url"
        in_body = http.post(
            f"{base}/effective-values",
            params={"layer": "ingress"},
            json={"parameters": [secret_param, domain]},
        )
        assert in_body.status_code == 200, in_body.text
        assert SECRET not in in_body.text

    rendered = http.post(f"{version}/render", json={"parameters": [secret_param, domain]})
    assert rendered.status_code == 200, rendered.text
    wrong = http.post(
        f"{version}/render",
        json={"parameters": [{"name": "admin_password", "value": 7}, domain]},
    )
    assert SECRET not in wrong.text

    cluster = register(http, "eu-1", bare_repo)
    proposed = http.post(
        f"{CLUSTERS}/{cluster['id']}/stacks/from-profile",
        json={"profile_id": profile_id, "parameters": [secret_param, domain]},
    )
    assert proposed.status_code == 201, proposed.text
    done = commit(http, cluster, proposed.json()["draft_id"])
    assert done.status_code == 200, done.text

    logs = served.stop()
    assert "GET /api/v1/org/stack-profiles" in logs  # the access log was captured
    assert "param=admin_password=<redacted>" in logs
    assert SECRET not in logs
    assert bare_repo.all_blobs()
    for blob in bare_repo.all_blobs():
        assert SECRET.encode() not in blob
