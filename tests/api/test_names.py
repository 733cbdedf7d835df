"""Names in paths: the rules that keep every profile, cluster, registry and draft reachable
by name, the answer when a name is shared, and the audit trail recording the ids named.

That every route takes a name or an id is shown route by route in test_roles.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.api.test_clusters import CLUSTERS, register
from tests.api.test_journey import DRAFTS, PROFILES, import_doc
from tests.documents import web_platform
from tests.fixtures.gitrepos import BareRepo

REGISTRIES = "/api/v1/org/registries"
CHARTS_DIR = Path(__file__).parents[1] / "charts"


def _issues(answer: httpx.Response) -> list[tuple[str, str]]:
    return [(e["path"], e["code"]) for e in answer.json()["errors"]]


def test_new_names_cannot_read_as_ids_or_fixed_segments(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    cluster = client.post(CLUSTERS, json={"name": "1234", "gitops": {"url": bare_repo.url}})
    assert cluster.status_code == 422, cluster.text
    assert _issues(cluster) == [("name", "invalid_name")]
    assert "digits only" in cluster.json()["errors"][0]["message"]
    registry = client.post(REGISTRIES, json={"name": "42", "kind": "local", "url": str(CHARTS_DIR)})
    assert registry.status_code == 422 and _issues(registry) == [("name", "invalid_name")]
    for name in ("7", "drafts", "import"):
        answer = import_doc(client, web_platform(name=name))
        assert answer.status_code == 422, answer.text
        assert ("metadata.name", "invalid_name") in _issues(answer)
    assert client.get(PROFILES).json()["total_count"] == 0
    assert client.get(CLUSTERS).json()["total_count"] == 0
    assert client.get(REGISTRIES).json()["total_count"] == 0

    # Names with digits and letters are fine; a cluster keeps working under its name.
    made = register(client, "eu-1", bare_repo)
    renamed = client.patch(f"{CLUSTERS}/eu-1", json={"name": "2024"})
    assert renamed.status_code == 422 and _issues(renamed) == [("name", "invalid_name")]
    assert client.patch(f"{CLUSTERS}/eu-1", json={"name": "eu-2"}).status_code == 200
    assert client.get(f"{CLUSTERS}/eu-2").json()["id"] == made["id"]
    gone = client.get(f"{CLUSTERS}/eu-1")
    assert gone.status_code == 404
    assert gone.json()["detail"] == "No cluster is named 'eu-1' in this org"


def test_a_shared_draft_name_answers_409_with_the_ids(client: httpx.Client) -> None:
    first = client.post(DRAFTS, json={"name": "next"}).json()
    assert client.get(f"{DRAFTS}/next").json()["id"] == first["id"]
    second = client.post(DRAFTS, json={"name": "next"}).json()
    shared = client.get(f"{DRAFTS}/next")
    assert shared.status_code == 409, shared.text
    detail = shared.json()["detail"]
    assert str(first["id"]) in detail and str(second["id"]) in detail and "use the id" in detail
    refused = client.delete(f"{DRAFTS}/next")
    assert refused.status_code == 409
    assert client.get(DRAFTS).json()["total_count"] == 2, "nothing was deleted"
    assert client.delete(f"{DRAFTS}/{second['id']}").status_code == 204
    assert client.get(f"{DRAFTS}/next").json()["id"] == first["id"]


def test_the_audit_log_records_the_ids_that_names_named(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    imported = import_doc(client, web_platform()).json()
    cluster = register(client, "eu-1", bare_repo)
    patched = client.patch(f"{CLUSTERS}/eu-1", json={"labels": {"env": "dev"}})
    assert patched.status_code == 200, patched.text
    missing = client.patch(f"{CLUSTERS}/eu-9", json={"labels": {"env": "dev"}})
    assert missing.status_code == 404
    deprecated = client.post(
        f"{PROFILES}/web-platform/versions/1/deprecation", json={"reason": "superseded"}
    )
    assert deprecated.status_code == 200, deprecated.text
    found: list[dict[str, Any]] = client.get("/api/v1/org/audit").json()["result"]
    targets = [(e["route"], e["target"], e["status"]) for e in found[:3]]
    assert targets == [
        (
            f"{PROFILES}/{{profile}}/versions/{{number}}/deprecation",
            {"profile_id": imported["profile"]["id"], "number": 1},
            200,
        ),
        (f"{CLUSTERS}/{{cluster}}", {"cluster": "eu-9"}, 404),
        (f"{CLUSTERS}/{{cluster}}", {"cluster_id": cluster["id"]}, 200),
    ]
