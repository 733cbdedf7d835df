"""The target policy through the API: what a strict server refuses, org roots, checks at use,
and registry failures that do not tell which ports listen."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from lamina.config import Services, Settings, build_services
from lamina.domain.models import Role
from lamina.services import auth, targets
from tests.api.test_journey import import_doc
from tests.conftest import Database, LiveServer
from tests.documents import numbered
from tests.fixtures.chartrepo import ChartRepoServer
from tests.fixtures.gitrepos import BareRepo

CLUSTERS = "/api/v1/org/clusters"
REGISTRIES = "/api/v1/org/registries"
CHARTS_DIR = Path(__file__).parent.parent / "charts"


def wire(database: Database, tmp_path: Path, *, allow_local: bool, roots: str = "") -> Services:
    shared, by_org = targets.parse_roots(roots)
    return build_services(
        Settings(
            database_url=database.url,
            schema=database.schema,
            demo=False,
            data_dir=tmp_path / "data",
            local_roots=shared,
            org_local_roots=by_org,
            allow_local_targets=allow_local,
        )
    )


@contextmanager
def serving(wired: Services, *orgs: str) -> Iterator[dict[str, httpx.Client]]:
    """Admin clients of `orgs` against the live app of `wired`."""
    with LiveServer(wired) as url:
        clients = {
            org: httpx.Client(
                base_url=url,
                headers={"Authorization": f"Bearer {token(wired, org)}"},
                timeout=30,
            )
            for org in orgs
        }
        try:
            yield clients
        finally:
            for client in clients.values():
                client.close()
            wired.store.dispose()


def token(wired: Services, org: str) -> str:
    return auth.create_token(wired.store, org_slug=org, role=Role.ADMIN)


def cluster(client: httpx.Client, name: str, url: str, **gitops: Any) -> httpx.Response:
    body = {"name": name, "gitops": {"url": url, **gitops}}
    return client.post(CLUSTERS, json=body)


def registry(client: httpx.Client, name: str, kind: str, url: str) -> httpx.Response:
    body: dict[str, Any] = {"name": name, "kind": kind, "url": url}
    if kind == "oci":
        body["charts"] = ["webapp"]
    return client.post(REGISTRIES, json=body)


def refusal(answer: httpx.Response) -> tuple[str, str]:
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    return error["path"], error["code"]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def resetting_port() -> Iterator[int]:
    """A loopback port that accepts connections and resets them at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()


def test_a_strict_server_refuses_local_targets(
    database: Database, tmp_path: Path, bare_repo: BareRepo
) -> None:
    wired = wire(database, tmp_path, allow_local=False, roots=str(tmp_path))
    with serving(wired, "acme") as clients:
        acme = clients["acme"]
        port = closed_port()
        for url in (
            bare_repo.url,
            f"http://127.0.0.1:{port}/org/fleet.git",
            f"https://127.0.0.1:{port}/org/fleet.git",
            "https://localhost/org/fleet.git",
            "https://[::1]/org/fleet.git",
            "https://169.254.169.254/latest.git",
            "https://10.0.0.1/fleet.git",
            "git@192.168.0.1:org/fleet.git",
            "ssh://-oProxyCommand=touch/x.git",
        ):
            assert refusal(cluster(acme, "eu-1", url)) == ("gitops.url", "target_not_allowed")
        for kind, url in (
            ("helm", f"http://127.0.0.1:{port}/charts"),
            ("helm", f"https://127.0.0.1:{port}/charts"),
            ("oci", f"oci://127.0.0.1:{port}/charts"),
            ("helm", "https://100.64.0.1/charts"),
        ):
            assert refusal(registry(acme, "r", kind, url)) == ("url", "target_not_allowed")
        created = cluster(acme, "eu-1", "https://git.example.com/org/fleet.git")
        assert created.status_code == 201, created.text
        moved = acme.patch(
            f"{CLUSTERS}/{created.json()['id']}", json={"gitops": {"url": bare_repo.url}}
        )
        assert refusal(moved) == ("gitops.url", "target_not_allowed")
        # Local registries are paths the operator made roots: allowed in either mode.
        assert registry(acme, "local", "local", str(tmp_path)).status_code == 201


def test_git_targets_that_cannot_work_are_refused_at_create(client: httpx.Client) -> None:
    url = "https://git.example.com/org/fleet.git"
    for gitops, path in (
        ({"branch": "HEAD"}, "gitops.branch"),
        ({"branch": "a..b"}, "gitops.branch"),
        ({"branch": "-f"}, "gitops.branch"),
        ({"branch": "refs/tags/v1"}, "gitops.branch"),
        ({"path": ".git/hooks"}, "gitops.path"),
        ({"path": "clusters/.git"}, "gitops.path"),
        ({"path": "../.."}, "gitops.path"),
        ({"path": "/etc/clusters"}, "gitops.path"),
    ):
        answer = cluster(client, "eu-1", url, **gitops)
        assert answer.status_code == 422, (gitops, answer.text)
        assert [e["path"] for e in answer.json()["errors"]] == [path], gitops
    created = cluster(client, "eu-1", url, branch="refs/heads/prod")
    assert created.status_code == 201, created.text
    assert created.json()["gitops"]["branch"] == "prod"


def test_one_orgs_roots_are_not_anothers(database: Database, tmp_path: Path) -> None:
    acme_dir, beta_dir = tmp_path / "acme", tmp_path / "beta"
    acme_repo, beta_repo = BareRepo(acme_dir / "fleet.git"), BareRepo(beta_dir / "fleet.git")
    (beta_dir / "sneaky").symlink_to(acme_dir)
    roots = f"acme={acme_dir}:beta={beta_dir}:{CHARTS_DIR}"
    wired = wire(database, tmp_path, allow_local=True, roots=roots)
    with serving(wired, "acme", "beta") as clients:
        acme, beta = clients["acme"], clients["beta"]
        assert cluster(acme, "eu-1", acme_repo.url).status_code == 201
        assert cluster(beta, "eu-1", beta_repo.url).status_code == 201
        acme_own = tmp_path / "data" / "orgs" / "acme" / "fleet.git"
        for url in (
            acme_repo.url,
            f"file://{beta_dir}/../acme/fleet.git",
            (beta_dir / "sneaky" / "fleet.git").as_uri(),
            acme_own.as_uri(),
        ):
            assert refusal(cluster(beta, "us-1", url)) == ("gitops.url", "target_not_allowed")
        assert refusal(registry(beta, "r", "local", str(acme_dir))) == ("url", "target_not_allowed")
        shared = registry(beta, "shared", "local", str(CHARTS_DIR))
        assert shared.status_code == 201, shared.text
        assert (tmp_path / "data" / "orgs" / "beta").is_dir()  # created when first needed


def test_stored_targets_are_checked_again_at_use(
    database: Database, tmp_path: Path, bare_repo: BareRepo, chart_repo: ChartRepoServer
) -> None:
    lenient = wire(database, tmp_path, allow_local=True, roots=str(Path(bare_repo.url[7:]).parent))
    with serving(lenient, "acme") as clients:
        acme = clients["acme"]
        created = registry(acme, "charts", "helm", chart_repo.url)
        assert created.status_code == 201, created.text
        registry_id = created.json()["id"]
        assert acme.post(f"{REGISTRIES}/{registry_id}/sync").status_code == 200
        eu_1 = cluster(acme, "eu-1", bare_repo.url)
        assert eu_1.status_code == 201
        profile = import_doc(acme, numbered("settings"))
        assert profile.status_code == 201, profile.text
        made = acme.post(
            f"{CLUSTERS}/{eu_1.json()['id']}/stacks/from-profile",
            json={"profile_id": profile.json()["profile"]["id"]},
        )
        assert made.status_code == 201, made.text
        at_create = cluster(acme, "eu-2", f"{chart_repo.url}/x.git")
        assert at_create.status_code == 201  # loopback is fine here

    strict = wire(database, tmp_path, allow_local=False)
    with serving(strict, "acme") as clients:
        acme = clients["acme"]
        synced = acme.post(f"{REGISTRIES}/{registry_id}/sync")
        assert refusal(synced) == ("url", "target_not_allowed")
        values = acme.get("/api/v1/org/packs/charts/webapp/versions/1.0.0/values")
        assert refusal(values) == ("url", "target_not_allowed")
        refused_create = registry(acme, "again", "helm", chart_repo.url)
        assert (
            synced.json()["errors"][0]["message"] == refused_create.json()["errors"][0]["message"]
        )
        # The commit path runs the same check before it pushes; nothing reaches the remote.
        committed = acme.post(
            f"{CLUSTERS}/{eu_1.json()['id']}/stack-drafts/{made.json()['draft_id']}/commit",
            json={},
        )
        assert refusal(committed) == ("gitops.url", "target_not_allowed")
        assert bare_repo.head() is None
        assert acme.get(f"{CLUSTERS}/{eu_1.json()['id']}").json()["revision"] == 0


def test_unreachable_registries_answer_one_message(
    client: httpx.Client, resetting_port: int
) -> None:
    details = []
    for name, port in (("closed", closed_port()), ("resets", resetting_port)):
        url = f"http://127.0.0.1:{port}/charts"
        created = registry(client, name, "helm", url)
        assert created.status_code == 201, created.text
        synced = client.post(f"{REGISTRIES}/{created.json()['id']}/sync")
        assert synced.status_code == 502, synced.text
        details.append(synced.json()["detail"].replace(str(port), "PORT"))
    assert details[0] == details[1] == "Cannot reach the registry at http://127.0.0.1:PORT/charts"
