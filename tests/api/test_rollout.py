"""Safe rollouts through real HTTP and real Git repositories: defaults follow the version,
a dry run predicts the real run, and rollouts take parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.api.jobs import run_rollout
from tests.api.test_clusters import CLUSTERS, commit, instantiate, register
from tests.api.test_jobs import app_profile
from tests.api.test_journey import PROFILES, import_doc
from tests.documents import numbered
from tests.fixtures.gitrepos import BareRepo


def service(
    version: int, *, replicas: int = 2, extra: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A small manifests-only profile whose ConfigMap shows its parameters."""
    doc = numbered("svc")
    doc["metadata"]["changelog"] = f"version {version}"
    doc["spec"]["parameters"] = [
        {"name": "zone", "type": "string", "default": "example.org", "pattern": "^[a-z.]+$"},
        {"name": "replicas", "type": "number", "default": replicas},
        *(extra or []),
    ]
    data = doc["spec"]["layers"][0]["manifests"][0]["data"]
    data["replicas"] = "replicas=${{ params.replicas }}"
    for param in extra or []:
        data[param["name"]] = f"${{{{ params.{param['name']} }}}}"
    return doc


def publish(client: httpx.Client, doc: dict[str, Any]) -> int:
    published = import_doc(client, doc)
    assert published.status_code == 201, published.text
    return int(published.json()["profile"]["id"])


def deploy(
    client: httpx.Client, cluster: dict[str, Any], profile_id: int, version: int, **values: Any
) -> None:
    parameters = [{"name": name, "value": value} for name, value in values.items()]
    made = instantiate(client, cluster, profile_id, version=version, parameters=parameters)
    assert made.status_code == 201, made.text
    assert commit(client, cluster, made.json()["draft_id"]).status_code == 200


def rendered(repo: BareRepo) -> str:
    return "\n".join(repo.files_at("main", "clusters").values())


def rollout(client: httpx.Client, profile_id: int, **body: Any) -> dict[str, Any]:
    return run_rollout(client, profile_id, {"version": 2, **body})


def test_a_changed_default_reaches_clusters_on_upgrade_and_rollout(
    client: httpx.Client, tmp_path: Path
) -> None:
    profile_id = publish(client, service(1))
    repos = [BareRepo(tmp_path / f"repo-{i}") for i in range(3)]
    upgraded, rolled, pinned = (register(client, f"c-{i}", r) for i, r in enumerate(repos))
    deploy(client, upgraded, profile_id, 1)
    deploy(client, rolled, profile_id, 1)
    deploy(client, pinned, profile_id, 1, replicas="2")  # supplied, even if equal to the default
    assert "replicas=2" in rendered(repos[0])
    publish(client, service(2, replicas=3))

    [row] = [
        r
        for r in client.get(f"{PROFILES}/{profile_id}/instantiations").json()
        if r["cluster"] == "c-0"
    ]
    draft = client.post(f"{CLUSTERS}/{upgraded['id']}/instantiations/{row['id']}/upgrade", json={})
    assert draft.status_code == 201, draft.text
    review = client.get(
        f"{CLUSTERS}/{upgraded['id']}/stack-drafts/{draft.json()['draft_id']}/diff"
    ).json()
    assert review["parameters"] == [
        {
            "profile_id": profile_id,
            "name": "replicas",
            "from": 2,
            "to": 3,
            "from_default": True,
            "to_default": True,
        }
    ]
    [changed] = review["changed"]
    assert (
        "-  replicas: replicas=2" in changed["diff"]
        and "+  replicas: replicas=3" in changed["diff"]
    )
    assert commit(client, upgraded, draft.json()["draft_id"]).status_code == 200
    assert "replicas=3" in rendered(repos[0])

    answer = rollout(client, profile_id)
    by_cluster = {r["cluster"]: r for r in answer["results"]}
    assert by_cluster["c-0"]["status"] == "skipped"
    assert by_cluster["c-1"]["status"] == "committed"
    assert by_cluster["c-1"]["changes"] == {
        "version_from": 1,
        "version_to": 2,
        "added": 0,
        "changed": 1,
        "removed": 0,
        "parameters": 1,
    }
    assert "replicas=3" in rendered(repos[1])
    # A value the operator supplied stays, even where it matched the old default.
    assert by_cluster["c-2"]["status"] == "committed"
    assert by_cluster["c-2"]["changes"]["parameters"] == 0
    assert "replicas=2" in rendered(repos[2])


def test_a_dry_run_predicts_the_real_run(client: httpx.Client, tmp_path: Path) -> None:
    profile_id = publish(client, service(1))
    repos = [BareRepo(tmp_path / f"repo-{i}") for i in range(4)]
    clusters = [register(client, f"fleet-{i}", repo) for i, repo in enumerate(repos)]
    doc = service(2, replicas=3)
    doc["spec"]["parameters"][0]["pattern"] = "^[a-z]+[.][a-z]+$"
    deploy(client, clusters[0], profile_id, 1)
    deploy(client, clusters[1], profile_id, 1, zone="a.b.example")  # fails v2's pattern
    deploy(client, clusters[2], profile_id, 1, replicas="5")  # only the version changes
    publish(client, doc)
    deploy(client, clusters[3], profile_id, 2)  # current: nothing would change
    heads = [repo.head() for repo in repos]

    dry = rollout(client, profile_id, dry_run=True, only_outdated=False)
    assert [repo.head() for repo in repos] == heads
    assert dry["dry_run"] is True and dry["committed"] == 0
    assert (dry["would_change"], dry["skipped"], dry["failed"]) == (2, 1, 1)
    planned = {r["cluster"]: r for r in dry["results"]}
    assert {name: r["status"] for name, r in planned.items()} == {
        "fleet-0": "would_change",
        "fleet-1": "failed",
        "fleet-2": "would_change",
        "fleet-3": "skipped",
    }
    assert "pattern" in planned["fleet-1"]["reason"]
    assert planned["fleet-2"]["changes"]["parameters"] == 0
    assert planned["fleet-2"]["changes"]["version_to"] == 2
    full = client.get(
        f"{CLUSTERS}/{clusters[0]['id']}/stack-drafts/{planned['fleet-0']['draft_id']}/diff"
    ).json()
    assert [(p["name"], p["from"], p["to"]) for p in full["parameters"]] == [("replicas", 2, 3)]
    assert planned["fleet-3"]["draft_id"] is None

    # The dry run never stops early; the real run goes on past the failure to compare.
    real = rollout(client, profile_id, only_outdated=False, continue_on_error=True)
    done = {r["cluster"]: r for r in real["results"]}
    outcome = {"would_change": "committed", "skipped": "skipped", "failed": "failed"}
    assert {n: done[n]["status"] for n in done} == {
        n: outcome[r["status"]] for n, r in planned.items()
    }
    for name, step in planned.items():
        assert done[name]["changes"] == step["changes"]
        assert done[name]["reason"] == step["reason"]
    assert real["dry_run"] is False and real["would_change"] == 0


def test_a_dry_run_replaces_the_drafts_earlier_dry_runs_kept(
    client: httpx.Client, tmp_path: Path
) -> None:
    shop = publish(client, service(1))
    blog = publish(client, app_profile("blog", 1))
    shared = BareRepo(tmp_path / "shared")  # one Git target: the clusters' drafts together
    clusters = [register(client, f"fleet-{i}", shared) for i in range(2)]
    for cluster in clusters:
        deploy(client, cluster, shop, 1)
        deploy(client, cluster, blog, 1)
    publish(client, service(2, replicas=3))
    publish(client, app_profile("blog", 2))
    running = client.get(f"{PROFILES}/{shop}/instantiations").json()
    on_first = next(row["id"] for row in running if row["cluster"] == "fleet-0")
    by_hand = client.post(  # an upgrade drafted by hand, which no dry run replaces
        f"{CLUSTERS}/{clusters[0]['id']}/instantiations/{on_first}/upgrade", json={"version": 2}
    )
    assert by_hand.status_code == 201, by_hand.text

    def drafts(cluster: dict[str, Any]) -> set[int]:
        listed = client.get(f"{CLUSTERS}/{cluster['id']}/stack-drafts", params={"page_size": 100})
        assert listed.status_code == 200, listed.text
        return {d["id"] for d in listed.json()["result"]}

    def kept(result: dict[str, Any]) -> dict[str, int]:
        assert result["would_change"] == 2, result
        return {r["cluster"]: r["draft_id"] for r in result["results"]}

    first = kept(rollout(client, shop, dry_run=True))
    of_blog = kept(rollout(client, blog, dry_run=True))
    second = kept(rollout(client, shop, dry_run=True))

    mine = by_hand.json()["draft_id"]
    assert drafts(clusters[0]) == {mine, of_blog["fleet-0"], second["fleet-0"]}
    assert drafts(clusters[1]) == {of_blog["fleet-1"], second["fleet-1"]}
    for name, draft_id in first.items():
        cluster = clusters[int(name.removeprefix("fleet-"))]
        gone = client.get(f"{CLUSTERS}/{cluster['id']}/stack-drafts/{draft_id}/diff")
        assert gone.status_code == 404, gone.text
    done = commit(client, clusters[1], second["fleet-1"])
    assert done.status_code == 200, done.text


def test_rollout_parameters_and_missing_ones(client: httpx.Client, tmp_path: Path) -> None:
    profile_id = publish(client, service(1))
    repos = [BareRepo(tmp_path / f"repo-{i}") for i in range(2)]
    clusters = [register(client, f"p-{i}", repo) for i, repo in enumerate(repos)]
    for cluster in clusters:
        deploy(client, cluster, profile_id, 1)
    required = [
        {"name": "owner", "type": "string", "required": True},
        {"name": "region", "type": "string", "required": True},
    ]
    publish(client, service(2, extra=required))

    none = rollout(client, profile_id, continue_on_error=True)
    assert [(r["status"], r["missing_parameters"]) for r in none["results"]] == [
        ("failed", ["owner", "region"])
    ] * 2
    assert none["results"][0]["reason"] == "missing required parameters: owner, region"

    some = rollout(client, profile_id, dry_run=True, parameters=[{"name": "owner", "value": "sre"}])
    assert [r["missing_parameters"] for r in some["results"]] == [["region"]] * 2

    unknown = client.post(
        f"{PROFILES}/{profile_id}/rollout",
        json={"version": 2, "parameters": [{"name": "nope", "value": "x"}]},
    )
    assert unknown.status_code == 422
    assert [e["path"] for e in unknown.json()["errors"]] == ["parameters.nope"]
    wrong = client.post(
        f"{PROFILES}/{profile_id}/rollout",
        json={"version": 2, "parameters": [{"name": "replicas", "value": "many"}]},
    )
    assert wrong.status_code == 422

    given = [{"name": "owner", "value": "sre"}, {"name": "region", "value": "eu"}]
    answer = rollout(client, profile_id, parameters=given)
    assert [r["status"] for r in answer["results"]] == ["committed"] * 2
    assert all(r["changes"]["parameters"] == 2 for r in answer["results"])
    for repo in repos:
        text = rendered(repo)
        assert "owner: sre" in text and "region: eu" in text and "replicas=2" in text


def test_a_rollout_keeps_parameter_values_only_while_it_runs(
    client: httpx.Client, services: Any, tmp_path: Path
) -> None:
    profile_id = publish(client, service(1))
    cluster = register(client, "kept-1", BareRepo(tmp_path / "repo"))
    deploy(client, cluster, profile_id, 1)
    publish(client, service(2, extra=[{"name": "owner", "type": "string", "required": True}]))
    done = rollout(client, profile_id, parameters=[{"name": "owner", "value": "sre-team"}])
    assert [r["status"] for r in done["results"]] == ["committed"]
    with services.store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT request, secrets_sealed FROM jobs").all()
    requests = [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in rows]
    assert [(r["parameters"], row[1]) for r, row in zip(requests, rows, strict=True)] == [
        (["owner"], None)
    ]


def test_clusters_with_other_credentials_get_commits_of_their_own(
    client: httpx.Client, tmp_path: Path
) -> None:
    """Two clusters on one repository, one with a token of its own: its folder is not
    written with the other's credentials, so the batch makes two commits."""
    profile_id = publish(client, service(1))
    repo = BareRepo(tmp_path / "shared")
    plain = register(client, "cred-1", repo)
    tokened = register(client, "cred-2", repo, token="tok-of-its-own")
    for cluster in (plain, tokened):
        deploy(client, cluster, profile_id, 1)
    before = len(repo.log())
    publish(client, service(2, replicas=3))
    done = rollout(client, profile_id)
    assert [r["status"] for r in done["results"]] == ["committed", "committed"]
    assert len(repo.log()) == before + 2
    assert len({r["commit_sha"] for r in done["results"]}) == 2
