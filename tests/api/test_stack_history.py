"""What a cluster runs and ran, and the way back to an earlier revision, through real HTTP
and real Git repositories."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_clusters import CLUSTERS, SECRET, commit, instantiate, register
from tests.api.test_exactly_once import manifests_profile
from tests.api.test_journey import PROFILES, import_doc
from tests.documents import web_platform
from tests.fixtures.gitrepos import BareRepo


def editor(client: httpx.Client, label: str) -> httpx.Client:
    """A client of the same org and server with an editor token labelled `label`."""
    created = client.post("/api/v1/org/tokens", json={"label": label, "role": "editor"})
    assert created.status_code == 201, created.text
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    return httpx.Client(base_url=client.base_url, headers=headers, timeout=30)


def draft_id(answer: httpx.Response) -> int:
    assert answer.status_code == 201, answer.text
    return int(answer.json()["draft_id"])


def committed(client: httpx.Client, cluster: dict[str, Any], draft: int) -> dict[str, Any]:
    done = commit(client, cluster, draft)
    assert done.status_code == 200, done.text
    return dict(done.json())


def test_show_drafts_history_and_restore(client: httpx.Client, bare_repo: BareRepo) -> None:
    a = import_doc(client, web_platform()).json()["profile"]["id"]
    b = manifests_profile(client, "extras")
    cluster = register(client, "eu-1", bare_repo)
    base = f"{CLUSTERS}/{cluster['id']}"
    answers: list[str] = []

    with editor(client, "ci-pipeline") as ci:
        first = committed(ci, cluster, draft_id(instantiate(ci, cluster, a)))
    proposed = client.post(f"{base}/stacks/from-profile", json={"profile_id": b})
    second_draft = draft_id(proposed)
    pending = client.get(f"{base}/stack-drafts")
    assert pending.status_code == 200, pending.text
    [open_draft] = pending.json()["result"]
    assert pending.json()["total_count"] == 1 and pending.json()["page"] == 1
    assert open_draft["id"] == second_draft and open_draft["action"] == "instantiate"
    assert open_draft["base_revision"] == 1 and open_draft["stale"] is False
    assert open_draft["warnings_count"] == len(proposed.json()["warnings"])
    assert open_draft["created_at"]
    second = committed(client, cluster, second_draft)
    assert second["revision"] == 2

    shown = client.get(f"{base}/stack")
    assert shown.status_code == 200, shown.text
    stack = shown.json()
    answers.append(shown.text)
    assert stack["revision"] == 2 and stack["commit_sha"] == second["commit_sha"]
    by_profile = {i["profile"]["name"]: i for i in stack["instantiations"]}
    assert set(by_profile) == {"web-platform", "extras"}
    web = by_profile["web-platform"]
    assert web["profile"]["id"] == a and web["version"] == 1 and web["outdated"] is False
    assert web["bindings"] == {"domain": "shop.example.com"}
    assert web["secrets"] == ["admin_password"]
    layers = stack["objects"]
    assert layers["extras/layer-0"] == 1 and layers["web-platform/dashboards"] == 1, layers
    assert layers["web-platform/ingress"] >= 3

    history = client.get(f"{base}/revisions")
    assert history.status_code == 200, history.text
    rows = history.json()["result"]
    assert [r["revision"] for r in rows] == [2, 1] and history.json()["total_count"] == 2
    assert rows[1]["commit_sha"] == first["commit_sha"]
    assert rows[1]["committed_by"] == "ci-pipeline"
    assert rows[0]["message"].startswith("lamina: instantiate on eu-1")
    assert rows[0]["committed_at"]
    paged = client.get(f"{base}/revisions", params={"page": 2, "page_size": 1}).json()
    assert [r["revision"] for r in paged["result"]] == [1] and paged["total_count"] == 2

    # Revision 3 removes extras, revision 4 adds it again: drafts made on 3 are stale.
    extras = by_profile["extras"]["instantiation_id"]
    committed(client, cluster, draft_id(client.delete(f"{base}/instantiations/{extras}")))
    restored_current = draft_id(client.post(f"{base}/revisions/3/restore"))
    add_b = {"profile_id": b}
    old = draft_id(client.post(f"{base}/stacks/from-profile", json=add_b))
    committed(client, cluster, draft_id(client.post(f"{base}/stacks/from-profile", json=add_b)))
    drafts = client.get(f"{base}/stack-drafts").json()
    assert {d["id"]: d["stale"] for d in drafts["result"]} == {restored_current: True, old: True}
    assert {d["action"] for d in drafts["result"]} == {"restore", "instantiate"}

    # Restoring the current revision changes nothing.
    same = draft_id(client.post(f"{base}/revisions/4/restore"))
    review = client.get(f"{base}/stack-drafts/{same}/diff").json()
    assert review == {"added": [], "changed": [], "removed": [], "parameters": []}

    # Back to revision 1: the extras objects go, and the tree is revision 1's again.
    back = client.post(f"{base}/revisions/1/restore")
    assert back.json()["profile_version"] is None and back.json()["addons_count"] == 1
    answers.append(back.text)
    review = client.get(f"{base}/stack-drafts/{draft_id(back)}/diff")
    answers.append(review.text)
    changes = review.json()
    assert changes["added"] == [] and changes["changed"] == []
    assert [(o["kind"], o["name"]) for o in changes["removed"]] == [
        ("ConfigMap", "extras-settings")
    ]
    done = committed(client, cluster, draft_id(back))
    assert done["revision"] == 5
    directory = "clusters/eu-1"
    assert bare_repo.files_at(done["commit_sha"], directory) == bare_repo.files_at(
        first["commit_sha"], directory
    )
    assert bare_repo.log()[0].startswith("lamina: restore on eu-1")

    answers += [
        client.get(f"{base}/stack").text,
        client.get(f"{base}/revisions").text,
        client.get(f"{base}/stack-drafts").text,
    ]
    for text in answers:
        assert SECRET not in text


def test_restore_refuses_deleted_versions_and_unknown_revisions(
    client: httpx.Client, bare_repo: BareRepo, make_token: Any
) -> None:
    b = manifests_profile(client, "extras")
    cluster = register(client, "eu-2", bare_repo)
    base = f"{CLUSTERS}/{cluster['id']}"
    committed(
        client,
        cluster,
        draft_id(client.post(f"{base}/stacks/from-profile", json={"profile_id": b})),
    )
    [row] = client.get(f"{base}/stack").json()["instantiations"]
    committed(
        client, cluster, draft_id(client.delete(f"{base}/instantiations/{row['instantiation_id']}"))
    )
    assert client.get(f"{base}/stack").json()["instantiations"] == []
    assert client.get(f"{base}/stack").json()["objects"] == {}

    missing = client.post(f"{base}/revisions/9/restore")
    assert missing.status_code == 404, missing.text
    gone = client.delete(f"{PROFILES}/{b}")
    assert gone.status_code == 204, gone.text
    refused = client.post(f"{base}/revisions/1/restore")
    assert refused.status_code == 409, refused.text
    assert "version 1" in refused.json()["detail"]

    viewer = {"Authorization": f"Bearer {make_token('acme', 'viewer')}"}
    assert client.get(f"{base}/revisions", headers=viewer).status_code == 200
    assert client.get(f"{base}/stack", headers=viewer).status_code == 200
    assert client.post(f"{base}/revisions/2/restore", headers=viewer).status_code == 403
