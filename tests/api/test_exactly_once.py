"""Exactly once: one draft publishes once, a commit is recorded once with the SHA that was
pushed (also across a kill -9 between push and record), and a slow remote delays only its
own cluster."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from lamina.config import Services, Settings, build_services
from lamina.domain.errors import StaleWrite
from lamina.domain.models import Principal, Role
from lamina.services import publishing
from tests.api.test_clusters import CLUSTERS, commit, register
from tests.api.test_journey import DRAFTS, PROFILES, import_doc, update_draft
from tests.conftest import PG_URL, TokenFactory
from tests.documents import numbered
from tests.fixtures.gitrepos import BareRepo

# A post-receive hook runs after the remote moved its branch, while the pushing client still
# waits for the answer: the window between "pushed" and "recorded".
_SLOW_HOOK = """#!/bin/sh
echo $$ > "{pid}"
touch "{flag}"
exec sleep {seconds}
"""


def slow_down(repo: BareRepo, seconds: float, flag: Path) -> Path:
    """Make every push to `repo` wait `seconds` after it landed; `flag` appears when one
    has landed. The returned file holds the pid of the waiting hook."""
    pid = flag.with_suffix(".pid")
    hook = repo.path / "hooks" / "post-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(_SLOW_HOOK.format(pid=pid, flag=flag, seconds=seconds))
    hook.chmod(0o755)
    return pid


def manifests_profile(client: httpx.Client, name: str) -> int:
    """A profile of one ConfigMap named after the profile, so stacks can hold several."""
    doc = numbered(name)
    doc["spec"]["layers"][0]["manifests"][0]["metadata"]["name"] = f"{name}-settings"
    answer = import_doc(client, doc)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["profile"]["id"])


def stack_draft(client: httpx.Client, cluster: dict[str, Any], profile_id: int) -> int:
    answer = client.post(
        f"{CLUSTERS}/{cluster['id']}/stacks/from-profile", json={"profile_id": profile_id}
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["draft_id"])


def test_one_draft_published_concurrently_becomes_one_version(client: httpx.Client) -> None:
    draft = client.post(DRAFTS, json={"name": "raced"}).json()
    doc = numbered("raced")
    edited = update_draft(client, draft, doc)
    assert edited.status_code == 200, edited.text

    def publish(_: int) -> int:
        return client.post(f"{DRAFTS}/{draft['id']}/publish").status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = sorted(pool.map(publish, range(8)))
    assert answers == [201] + [409] * 7
    listed = client.get(PROFILES, params={"search": "raced"}).json()["result"]
    assert [row["latest_version"] for row in listed] == [1]


def test_a_draft_edited_while_publishing_is_not_published_stale(
    client: httpx.Client, services: Services
) -> None:
    draft = client.post(DRAFTS, json={"name": "edited"}).json()
    assert update_draft(client, draft, numbered("edited")).status_code == 200
    with services.store.unit_of_work() as uow:
        org = uow.orgs.get_by_slug("acme")
    assert org is not None
    who = Principal(org_id=org.id, org_slug="acme", role=Role.ADMIN)
    read_before_the_edit = (draft["id"], draft["version"])
    with pytest.raises(StaleWrite):
        publishing.publish(
            services.store,
            who,
            doc=numbered("edited"),
            now=datetime.now(UTC),
            draft=read_before_the_edit,
        )
    assert client.get(f"{DRAFTS}/{draft['id']}").status_code == 200
    assert client.get(PROFILES, params={"search": "edited"}).json()["total_count"] == 0


def test_a_retried_commit_answers_the_same_revision(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    profile_id = manifests_profile(client, "retried")
    cluster = register(client, "retry-1", bare_repo)
    draft_id = stack_draft(client, cluster, profile_id)
    first = commit(client, cluster, draft_id)
    again = commit(client, cluster, draft_id)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert first.json()["commit_sha"] == bare_repo.head()
    assert len(bare_repo.log()) == 1


def test_a_slow_remote_delays_only_its_own_cluster(
    server_url: str, make_token: TokenFactory, tmp_path: Path
) -> None:
    slow_repo, other_repo = BareRepo(tmp_path / "slow.git"), BareRepo(tmp_path / "fast.git")
    acme = httpx.Client(
        base_url=server_url, headers={"Authorization": f"Bearer {make_token('acme')}"}, timeout=60
    )
    beta = httpx.Client(
        base_url=server_url, headers={"Authorization": f"Bearer {make_token('beta')}"}, timeout=60
    )
    with acme, beta:
        slow_cluster = register(acme, "slow", slow_repo)
        slow_draft = stack_draft(acme, slow_cluster, manifests_profile(acme, "slowly"))
        fast_cluster = register(beta, "fast", other_repo)
        pushed = tmp_path / "pushed"
        slow_down(slow_repo, 4, pushed)

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            slow = pool.submit(commit, acme, slow_cluster, slow_draft)
            deadline = time.monotonic() + 20
            while not pushed.exists():
                assert time.monotonic() < deadline, "the slow push never landed"
                time.sleep(0.02)
            latencies = []
            for step in range(3):
                started = time.monotonic()
                draft = beta.post(DRAFTS, json={"name": f"meanwhile-{step}"})
                imported = manifests_profile(beta, f"meanwhile-import-{step}")
                fast = commit(beta, fast_cluster, stack_draft(beta, fast_cluster, imported))
                latencies.append(time.monotonic() - started)
                assert draft.status_code == 201
                assert fast.status_code == 200, fast.text
            assert not slow.done(), "the slow push finished before the other org was measured"
            assert slow.result().status_code == 200
    # The other org's writes never waited for the 4 s push (a generous bound for 2 cores).
    assert max(latencies) < 2.0, latencies


# -- kill -9 between the push and the record ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL a separate server process can use: a SQLite file, or a whole new
    PostgreSQL database (a process cannot be pointed at a schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.db'}"
        return
    if not PG_URL:
        pytest.skip("LAMINA_TEST_DATABASE_URL is not set")
    name = f"lamina_crash_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield str(sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class ServerProcess:
    """`lamina serve` in a process of its own, which the test may kill -9."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.url = f"http://127.0.0.1:{env['LAMINA_PORT']}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "lamina"), "serve"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def test_a_kill_between_push_and_record_is_settled_with_the_pushed_sha(
    own_database: str, tmp_path: Path
) -> None:
    remote = BareRepo(tmp_path / "fleet.git")
    env = {
        **os.environ,
        "LAMINA_DATABASE_URL": own_database,
        "LAMINA_DEMO": "0",
        "LAMINA_DATA_DIR": str(tmp_path / "data"),
        "LAMINA_HOST": "127.0.0.1",
        "LAMINA_PORT": str(_free_port()),
        "LAMINA_ALLOW_LOCAL_TARGETS": "1",
        "LAMINA_LOCAL_ROOTS": str(tmp_path),
    }
    server = ServerProcess(env, tmp_path / "server.log")
    server.start()
    try:
        token = subprocess.run(
            [str(Path(sys.executable).parent / "lamina"), "token", "create", "--org", "acme"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            cluster = register(client, "eu-1", remote)
            first = stack_draft(client, cluster, manifests_profile(client, "base"))
            assert commit(client, cluster, first).json()["revision"] == 1
            second = stack_draft(client, cluster, manifests_profile(client, "extra"))
            before = remote.head()

            pushed = tmp_path / "pushed"
            hook_pid = slow_down(remote, 120, pushed)
            interrupted = threading.Thread(
                target=_quietly, args=(lambda: commit(client, cluster, second),), daemon=True
            )
            interrupted.start()
            deadline = time.monotonic() + 30
            while not pushed.exists():
                assert time.monotonic() < deadline, server.log.read_text()
                time.sleep(0.02)
            server.kill()
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(hook_pid.read_text()), signal.SIGKILL)
        (remote.path / "hooks" / "post-receive").unlink()
        interrupted.join(timeout=30)

        pushed_sha = remote.head()
        assert pushed_sha != before
        assert "Lamina-Commit: " in remote.git("log", "-1", "--format=%B").decode()
        _assert_recorded_revision(own_database, tmp_path, cluster["id"], revision=1, pending=True)

        server.start()
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            retried = commit(client, cluster, second)
            assert retried.status_code == 200, retried.text
            assert retried.json() == {"revision": 2, "commit_sha": pushed_sha}
            shown = client.get(f"{CLUSTERS}/{cluster['id']}").json()
            assert (shown["revision"], shown["commit_sha"]) == (2, pushed_sha)
            # Nothing is left pending: the next change commits normally on top.
            third = stack_draft(client, cluster, manifests_profile(client, "more"))
            assert commit(client, cluster, third).json()["revision"] == 3
        assert len(remote.log()) == 3
        _assert_recorded_revision(own_database, tmp_path, cluster["id"], revision=3, pending=False)
    finally:
        server.stop()


def _quietly(call: Any) -> None:
    with contextlib.suppress(httpx.HTTPError):
        call()


def _assert_recorded_revision(
    url: str, tmp_path: Path, cluster_id: int, *, revision: int, pending: bool
) -> None:
    settings = replace(Settings(), database_url=url, demo=False, data_dir=tmp_path / "reader")
    wired = build_services(settings, migrate=False)
    try:
        with wired.store.unit_of_work() as uow:
            assert uow.clusters.org_of(cluster_id) is not None
            row = uow.stacks.last_revision(cluster_id)
            assert row is not None and row.revision == revision
            assert (uow.stacks.intent(cluster_id) is not None) is pending
    finally:
        wired.store.dispose()
