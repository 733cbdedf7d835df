"""Deleting what is in use is refused, naming what uses it; archiving a profile keeps the
clusters that run it working. Real HTTP, real Git repositories, both stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.test_clusters import CLUSTERS, commit, register
from tests.api.test_exactly_once import manifests_profile, stack_draft
from tests.api.test_journey import DRAFTS, PROBLEM, PROFILES, import_doc, update_draft
from tests.api.test_registries import REGISTRIES, synced
from tests.documents import numbered, web_platform
from tests.fixtures.gitrepos import BareRepo


@pytest.fixture
def repos() -> Iterator[list[BareRepo]]:
    made = [BareRepo(), BareRepo()]
    yield made
    for repo in made:
        repo.cleanup()


def committed(client: httpx.Client, cluster: dict[str, Any], profile_id: int) -> None:
    done = commit(client, cluster, stack_draft(client, cluster, profile_id))
    assert done.status_code == 200, done.text


def refused(answer: httpx.Response) -> str:
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    return str(answer.json()["detail"])


def review(client: httpx.Client, cluster: dict[str, Any], answer: httpx.Response) -> Any:
    assert answer.status_code == 201, answer.text
    draft = answer.json()["draft_id"]
    shown = client.get(f"{CLUSTERS}/{cluster['id']}/stack-drafts/{draft}/diff")
    assert shown.status_code == 200, shown.text
    return draft, shown.json()


def listed(client: httpx.Client, **params: Any) -> set[str]:
    return {p["name"] for p in client.get(PROFILES, params=params).json()["result"]}


def test_a_running_profile_is_kept_and_archived_only_by_force(
    client: httpx.Client, repos: list[BareRepo]
) -> None:
    shared = manifests_profile(client, "shared-web")
    eu1, eu2 = register(client, "eu-1", repos[0]), register(client, "eu-2", repos[1])
    for cluster in (eu1, eu2):
        committed(client, cluster, shared)

    detail = refused(client.delete(f"{PROFILES}/{shared}"))
    assert "Profile 'shared-web' runs on 2 clusters: eu-1, eu-2" in detail
    assert "force=true" in detail
    assert client.get(f"{PROFILES}/{shared}").json()["profile"]["archived"] is False
    assert len(client.get(f"{PROFILES}/{shared}/instantiations").json()) == 2

    archived = client.delete(f"{PROFILES}/{shared}", params={"force": "true"})
    assert archived.status_code == 200, archived.text
    assert archived.json()["archived"] is True and archived.json()["archived_at"]
    assert "shared-web" not in listed(client)
    assert listed(client, search="shared") == set()
    shown = client.get(f"{PROFILES}/{shared}")
    assert shown.status_code == 200 and shown.json()["profile"]["archived"] is True

    # An unrelated change on eu-1 keeps the archived profile's objects.
    other = manifests_profile(client, "other-web")
    draft, changes = review(
        client,
        eu1,
        client.post(f"{CLUSTERS}/{eu1['id']}/stacks/from-profile", json={"profile_id": other}),
    )
    assert changes["removed"] == [] and changes["changed"] == []
    assert [c["name"] for c in changes["added"]] == ["other-web-settings"]
    assert commit(client, eu1, draft).status_code == 200

    # Uninstalling the archived profile still renders what it removes.
    [on_eu2] = [
        row
        for row in client.get(f"{PROFILES}/{shared}/instantiations").json()
        if row["cluster"] == "eu-2"
    ]
    draft, changes = review(
        client, eu2, client.delete(f"{CLUSTERS}/{eu2['id']}/instantiations/{on_eu2['id']}")
    )
    assert [c["name"] for c in changes["removed"] if c["kind"] == "ConfigMap"] == [
        "shared-web-settings"
    ]
    assert commit(client, eu2, draft).status_code == 200
    assert client.delete(f"{CLUSTERS}/{eu2['id']}").status_code == 204

    # A cluster that runs profiles is forgotten only by force, and its repository stays.
    detail = refused(client.delete(f"{CLUSTERS}/{eu1['id']}"))
    assert "Cluster 'eu-1' runs 2 profiles: 'other-web', 'shared-web'" in detail
    history = repos[0].log()
    forgotten = client.delete(f"{CLUSTERS}/{eu1['id']}", params={"force": "true"})
    assert forgotten.status_code == 204, forgotten.text
    assert client.get(f"{CLUSTERS}/{eu1['id']}").status_code == 404
    assert repos[0].log() == history

    # Once nothing runs it, the archived profile can be deleted.
    assert client.delete(f"{PROFILES}/{shared}").status_code == 204
    assert client.get(f"{PROFILES}/{shared}").status_code == 404


def test_a_nested_profile_names_its_parents(client: httpx.Client) -> None:
    base = manifests_profile(client, "base-web")
    doc = numbered("edge")
    doc["spec"]["layers"].append({"name": "core", "profile": {"name": "base-web", "version": 1}})
    answer = import_doc(client, doc)
    assert answer.status_code == 201, answer.text
    edge = answer.json()["profile"]["id"]

    assert refused(client.delete(f"{PROFILES}/{base}")) == (
        "Profile 'base-web' is nested by 'edge' v1; archive it with force=true instead"
    )
    assert client.get(f"{PROFILES}/{base}").status_code == 200
    assert client.delete(f"{PROFILES}/{edge}").status_code == 204
    assert client.delete(f"{PROFILES}/{base}").status_code == 204


def test_a_registry_whose_charts_are_used_is_kept(client: httpx.Client, chart_repo: Any) -> None:
    registry = synced(client, "stable", "helm", chart_repo.url)["registry"]
    doc = web_platform()
    doc["spec"]["layers"][0]["chart"]["repository"] = "stable"
    answer = import_doc(client, doc)
    assert answer.status_code == 201, answer.text
    profile = answer.json()["profile"]["id"]
    draft = client.post(DRAFTS, json={"name": "drafted"}).json()
    doc["metadata"]["name"] = "drafted"
    assert update_draft(client, draft, doc).status_code == 200

    detail = refused(client.delete(f"{REGISTRIES}/{registry['id']}"))
    assert detail == (
        f"Registry 'stable' has charts used by 'web-platform' v1, draft 'drafted' ({draft['id']})"
    )
    assert client.delete(f"{PROFILES}/{profile}").status_code == 204
    assert client.delete(f"{DRAFTS}/{draft['id']}").status_code == 204
    assert client.delete(f"{REGISTRIES}/{registry['id']}").status_code == 204
