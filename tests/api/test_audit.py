"""The audit log: every write with its actor, route, target and status; never a secret."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.api.test_clusters import CLUSTERS, SECRET, commit, instantiate, register
from tests.api.test_journey import DRAFTS, PROFILES, import_doc
from tests.documents import web_platform
from tests.fixtures.gitrepos import BareRepo

AUDIT = "/api/v1/org/audit"
REGISTRY_PASSWORD = "reg-Pa55word-9f3"
GIT_TOKEN = "git-T0ken-7c1"
QUERY_SECRET = "q-Secret-55e"


@pytest.fixture
def as_org(server_url: str, make_token: Callable[..., str]) -> Iterator[Callable[..., Any]]:
    opened: list[httpx.Client] = []

    def make(org: str, role: str = "admin") -> httpx.Client:
        token = make_token(org, role)
        http = httpx.Client(base_url=server_url, headers={"Authorization": f"Bearer {token}"})
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()


def events(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    answer = http.get(AUDIT, params={"page_size": 200, **params})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["result"])


def test_a_journey_of_writes_is_in_the_audit_log(
    client: httpx.Client, as_org: Callable[..., httpx.Client], bare_repo: BareRepo, chart_repo: Any
) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    registry = client.post(
        "/api/v1/org/registries",
        json={
            "name": "stable",
            "kind": "helm",
            "url": chart_repo.url,
            "username": "robot",
            "password": REGISTRY_PASSWORD,
        },
    )
    assert registry.status_code == 201, registry.text
    cluster = register(client, "eu-1", bare_repo, username="bot", token=GIT_TOKEN)
    draft = client.post(DRAFTS, json={"profile_id": profile_id}).json()
    effective = client.post(
        f"{DRAFTS}/{draft['id']}/effective-values",
        params={"layer": "ingress", "note": QUERY_SECRET},
        json={"parameters": [{"name": "admin_password", "value": SECRET}]},
    )
    assert effective.status_code == 200, effective.text
    proposed = instantiate(client, cluster, profile_id)
    assert proposed.status_code == 201, proposed.text
    stack_draft = proposed.json()["draft_id"]
    assert commit(client, cluster, stack_draft).status_code == 200

    editor = as_org("acme", "editor")
    assert editor.delete(f"{CLUSTERS}/{cluster['id']}").status_code == 403
    assert editor.get(AUDIT).status_code == 403
    viewer = as_org("acme", "viewer")
    assert viewer.post(DRAFTS, json={"name": "nope"}).status_code == 403
    assert viewer.get(AUDIT).status_code == 403
    assert client.post(DRAFTS, json={"name": 7, "spec": "x"}).status_code == 422
    other = as_org("globex")
    assert other.post(DRAFTS, json={"name": "theirs"}).status_code == 201
    assert other.delete(f"{CLUSTERS}/{cluster['id']}").status_code == 404

    found = events(client)
    assert [(e["method"], e["route"], e["status"], e["role"]) for e in found] == [
        ("POST", DRAFTS, 422, "admin"),
        ("POST", DRAFTS, 403, "viewer"),
        ("DELETE", CLUSTERS + "/{cluster}", 403, "editor"),
        ("POST", CLUSTERS + "/{cluster}/stack-drafts/{draft_id}/commit", 200, "admin"),
        ("POST", CLUSTERS + "/{cluster}/stacks/from-profile", 201, "admin"),
        ("POST", DRAFTS + "/{draft}/effective-values", 200, "admin"),
        ("POST", DRAFTS, 201, "admin"),
        ("POST", CLUSTERS, 201, "admin"),
        ("POST", "/api/v1/org/registries", 201, "admin"),
        ("POST", PROFILES + "/import", 201, "admin"),
    ]
    committed = found[3]
    assert committed["target"] == {"cluster_id": cluster["id"], "draft_id": stack_draft}
    assert committed["action"] == f"POST {CLUSTERS}/{{cluster}}/stack-drafts/{{draft_id}}/commit"
    assert committed["result"] == "ok" and found[0]["result"] == "error"
    assert found[1]["actor"] == "viewer" and committed["actor"] == "admin"
    assert committed["token_id"] > 0 and committed["at"]
    assert found[0]["id"] > found[1]["id"]  # newest first

    text = json.dumps(found)
    for secret in (SECRET, REGISTRY_PASSWORD, GIT_TOKEN, QUERY_SECRET, "robot", "bot"):
        assert secret not in text, secret

    # Filtering, paging, and another org's view.
    commits = events(client, action="/commit")
    assert [e["id"] for e in commits] == [committed["id"]]
    assert len(events(client, action="post /api/v1/org/stack-profiles/drafts")) == 4
    paged = client.get(AUDIT, params={"page": 2, "page_size": 4}).json()
    assert paged["total_count"] == 10 and paged["page"] == 2
    assert [e["id"] for e in paged["result"]] == [e["id"] for e in found[4:8]]
    theirs = events(other)
    assert [(e["method"], e["status"]) for e in theirs] == [("DELETE", 404), ("POST", 201)]
    assert all(e["id"] not in {t["id"] for t in theirs} for e in found)


def test_requests_without_a_valid_token_are_not_recorded(
    client: httpx.Client, server_url: str
) -> None:
    assert httpx.post(f"{server_url}{DRAFTS}", json={"name": "x"}).status_code == 401
    forged = {"Authorization": "Bearer lam_forged"}
    assert (
        httpx.post(f"{server_url}{DRAFTS}", json={"name": "x"}, headers=forged).status_code == 401
    )
    assert client.get(PROFILES).status_code == 200  # reads are not recorded either
    assert events(client) == []
