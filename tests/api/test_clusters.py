"""Clusters and GitOps delivery, end to end through real HTTP and real Git repositories."""

from __future__ import annotations

import concurrent.futures
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.api.jobs import run_rollout
from tests.api.test_journey import DRAFTS, PROFILES, import_doc, update_draft
from tests.documents import web_platform
from tests.fixtures.gitrepos import BareRepo

CLUSTERS = "/api/v1/org/clusters"
SECRET = "s3cret-Value-42"


def register(client: httpx.Client, name: str, repo: BareRepo, **extra: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "labels": extra.pop("labels", {"env": "prod"}),
        "kubernetes_version": "1.31.2",
        "gitops": {"url": repo.url, "branch": "main", "path": "clusters", **extra},
    }
    created = client.post(CLUSTERS, json=body)
    assert created.status_code == 201, created.text
    return dict(created.json())


def instantiate(
    client: httpx.Client, cluster: dict[str, Any], profile_id: int, **extra: Any
) -> httpx.Response:
    body = {
        "profile_id": profile_id,
        "parameters": [
            {"name": "domain", "value": "shop.example.com"},
            {"name": "admin_password", "value": SECRET},
        ],
        **extra,
    }
    return client.post(f"{CLUSTERS}/{cluster['id']}/stacks/from-profile", json=body)


def commit(client: httpx.Client, cluster: dict[str, Any], draft_id: int) -> httpx.Response:
    return client.post(f"{CLUSTERS}/{cluster['id']}/stack-drafts/{draft_id}/commit", json={})


def publish_v2(client: httpx.Client, profile_id: int) -> None:
    draft = client.post(DRAFTS, json={"profile_id": profile_id}).json()
    doc = web_platform()
    doc["spec"]["layers"][0]["values"]["replicaCount"] = 3
    assert update_draft(client, draft, doc).status_code == 200
    assert client.post(f"{DRAFTS}/{draft['id']}/publish").status_code == 201


def kustomize(repo: BareRepo, directory: str, tmp_path: Path) -> str:
    files = repo.files_at("main", directory)
    assert files, f"nothing under {directory}"
    for path, text in files.items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    built = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stderr
    return built.stdout


def test_the_whole_journey(client: httpx.Client, bare_repo: BareRepo, tmp_path: Path) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    cluster = register(client, "eu-1", bare_repo)
    assert "token" not in cluster["gitops"] and cluster["gitops"]["has_token"] is False

    proposed = instantiate(client, cluster, profile_id)
    assert proposed.status_code == 201, proposed.text
    draft = proposed.json()
    assert draft["profile_version"] == 1 and draft["addons_count"] == 1
    assert draft["manifests_count"] >= 4

    review = client.get(f"{CLUSTERS}/{cluster['id']}/stack-drafts/{draft['draft_id']}/diff")
    assert review.status_code == 200, review.text
    changes = review.json()
    assert changes["removed"] == [] and changes["changed"] == []
    assert {c["kind"] for c in changes["added"]} >= {"Deployment", "ConfigMap", "Service"}
    assert SECRET not in review.text

    done = commit(client, cluster, draft["draft_id"])
    assert done.status_code == 200, done.text
    assert done.json()["revision"] == 1 and len(done.json()["commit_sha"]) == 40
    built = kustomize(bare_repo, "clusters/eu-1", tmp_path / "v1")
    assert "kind: Deployment" in built and "shop.example.com" in built
    lamina = bare_repo.files_at("main", "clusters/eu-1")["lamina.yaml"]
    assert "web-platform" in lamina and SECRET not in lamina

    detail = client.get(f"{PROFILES}/{profile_id}").json()
    assert detail["update_status"] == {
        "outdated_instantiation_count": 0,
        "has_update_available": False,
    }
    publish_v2(client, profile_id)
    detail = client.get(f"{PROFILES}/{profile_id}").json()
    assert detail["update_status"] == {
        "outdated_instantiation_count": 1,
        "has_update_available": True,
    }
    [row] = client.get(f"{PROFILES}/{profile_id}/instantiations").json()
    assert row["cluster"] == "eu-1" and row["version"] == 1 and row["outdated"] is True

    upgraded = client.post(
        f"{CLUSTERS}/{cluster['id']}/instantiations/{row['id']}/upgrade", json={}
    )
    assert upgraded.status_code == 201, upgraded.text
    assert upgraded.json()["profile_version"] == 2
    review = client.get(
        f"{CLUSTERS}/{cluster['id']}/stack-drafts/{upgraded.json()['draft_id']}/diff"
    ).json()
    [changed] = [c for c in review["changed"] if c["kind"] == "Deployment"]
    assert "-  replicas: 2" in changed["diff"] and "+  replicas: 3" in changed["diff"]
    assert commit(client, cluster, upgraded.json()["draft_id"]).json()["revision"] == 2
    detail = client.get(f"{PROFILES}/{profile_id}").json()
    assert detail["update_status"]["outdated_instantiation_count"] == 0
    assert bare_repo.log()[0].startswith("lamina: upgrade")

    removal = client.delete(f"{CLUSTERS}/{cluster['id']}/instantiations/{row['id']}")
    assert removal.status_code == 201, removal.text
    review = client.get(
        f"{CLUSTERS}/{cluster['id']}/stack-drafts/{removal.json()['draft_id']}/diff"
    ).json()
    assert review["added"] == [] and {c["kind"] for c in review["removed"]} >= {"Deployment"}
    assert commit(client, cluster, removal.json()["draft_id"]).json()["revision"] == 3
    assert client.get(f"{PROFILES}/{profile_id}/instantiations").json() == []

    for blob in bare_repo.all_blobs():
        assert SECRET.encode() not in blob


def test_stale_drafts_and_concurrent_commits(client: httpx.Client, bare_repo: BareRepo) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    cluster = register(client, "eu-2", bare_repo)
    first = instantiate(client, cluster, profile_id).json()["draft_id"]
    second = instantiate(client, cluster, profile_id, values={"ingress": {"replicaCount": 4}})
    assert commit(client, cluster, first).status_code == 200
    stale = commit(client, cluster, second.json()["draft_id"])
    assert stale.status_code == 409
    assert client.get(f"{CLUSTERS}/{cluster['id']}").json()["revision"] == 1


def test_a_rejected_push_records_nothing(client: httpx.Client, bare_repo: BareRepo) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    cluster = register(client, "eu-3", bare_repo)
    draft = instantiate(client, cluster, profile_id).json()["draft_id"]
    bare_repo.reject_pushes("protected branch: reviews required")
    refused = commit(client, cluster, draft)
    assert refused.status_code == 502, refused.text
    assert "reviews required" in refused.json()["detail"]
    assert client.get(f"{CLUSTERS}/{cluster['id']}").json()["revision"] == 0
    assert client.get(f"{PROFILES}/{profile_id}/instantiations").json() == []
    bare_repo.allow_pushes()
    assert commit(client, cluster, draft).status_code == 200


def test_deprecated_versions_and_validation(client: httpx.Client, bare_repo: BareRepo) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    cluster = register(client, "eu-4", bare_repo)
    missing = client.post(
        f"{CLUSTERS}/{cluster['id']}/stacks/from-profile", json={"profile_id": profile_id}
    )
    assert missing.status_code == 422
    assert {e["path"] for e in missing.json()["errors"]} == {
        "parameters.domain",
        "parameters.admin_password",
    }
    deprecated = client.post(
        f"{PROFILES}/{profile_id}/versions/1/deprecation", json={"reason": "CVE-2026-1"}
    )
    assert deprecated.status_code == 200, deprecated.text
    refused = instantiate(client, cluster, profile_id, version=1)
    assert refused.status_code == 409 and "CVE-2026-1" in refused.json()["detail"]
    assert client.delete(f"{PROFILES}/{profile_id}/versions/1/deprecation").status_code == 204
    assert instantiate(client, cluster, profile_id, version=1).status_code == 201


def test_fleet_rollout_stops_at_a_failing_cluster(client: httpx.Client, tmp_path: Path) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    repos = [BareRepo(tmp_path / f"repo-{i}") for i in range(3)]
    clusters = [register(client, f"fleet-{i}", repo) for i, repo in enumerate(repos)]
    for cluster in clusters:
        draft = instantiate(client, cluster, profile_id).json()["draft_id"]
        assert commit(client, cluster, draft).status_code == 200
    publish_v2(client, profile_id)
    repos[1].reject_pushes("frozen")

    dry = run_rollout(client, profile_id, {"version": 2, "dry_run": True})
    assert [r["status"] for r in dry["results"]] == ["would_change"] * 3
    assert dry["state"] == "succeeded"

    stopped = run_rollout(client, profile_id, {"version": 2, "batch_size": 2})
    statuses = [(r["cluster"], r["status"]) for r in stopped["results"]]
    assert statuses == [("fleet-0", "committed"), ("fleet-1", "failed"), ("fleet-2", "skipped")]
    assert "frozen" in stopped["results"][1]["reason"]
    assert stopped["state"] == "failed"

    onward = run_rollout(client, profile_id, {"version": 2, "continue_on_error": True})
    assert onward["state"] == "succeeded"
    # It goes on after failures, so its parts (one per repository) run at once: its
    # results come in the order the clusters finished.
    statuses = {r["cluster"]: r["status"] for r in onward["results"]}
    assert statuses == {"fleet-0": "skipped", "fleet-1": "failed", "fleet-2": "committed"}
    rows = client.get(f"{PROFILES}/{profile_id}/instantiations").json()
    assert {r["cluster"]: r["version"] for r in rows} == {"fleet-0": 2, "fleet-1": 1, "fleet-2": 2}
    detail = client.get(f"{PROFILES}/{profile_id}").json()
    assert detail["update_status"]["outdated_instantiation_count"] == 1


def test_clusters_crud_selectors_and_isolation(
    client: httpx.Client, bare_repo: BareRepo, server_url: str, make_token: Any
) -> None:
    register(client, "a", bare_repo, labels={"env": "prod", "region": "eu"}, token="t0ken")
    register(client, "b", bare_repo, labels={"env": "dev", "region": "us"})
    register(client, "c", bare_repo, labels={"env": "prod", "region": "ap"})
    listed = client.get(CLUSTERS, params={"selector": "env=prod,region in (eu,us)"}).json()
    assert [c["name"] for c in listed["result"]] == ["a"]
    assert client.get(CLUSTERS, params={"selector": "!region"}).json()["total_count"] == 0
    bad = client.get(CLUSTERS, params={"selector": "env in prod"})
    assert bad.status_code == 422
    everything = client.get(CLUSTERS).text
    assert "t0ken" not in everything and '"has_token":true' in everything.replace(" ", "")

    cluster_id = listed["result"][0]["id"]
    patched = client.patch(f"{CLUSTERS}/{cluster_id}", json={"labels": {"env": "staging"}})
    assert patched.status_code == 200 and patched.json()["labels"] == {"env": "staging"}
    assert patched.json()["gitops"]["has_token"] is True
    cleared = client.patch(f"{CLUSTERS}/{cluster_id}", json={"gitops": {"token": ""}})
    assert cleared.json()["gitops"]["has_token"] is False
    invalid = client.post(CLUSTERS, json={"name": "Bad Name", "gitops": {"url": "nope"}})
    assert invalid.status_code == 422
    assert {e["path"] for e in invalid.json()["errors"]} == {"name", "gitops.url"}

    other = httpx.Client(
        base_url=server_url, headers={"Authorization": f"Bearer {make_token('globex')}"}
    )
    assert other.get(f"{CLUSTERS}/{cluster_id}").status_code == 404
    assert other.get(CLUSTERS).json()["total_count"] == 0
    assert client.delete(f"{CLUSTERS}/{cluster_id}").status_code == 204


def test_capture_a_cluster_as_a_profile(client: httpx.Client, bare_repo: BareRepo) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    cluster = register(client, "captured", bare_repo)
    draft = instantiate(client, cluster, profile_id, values={"ingress": {"replicaCount": 5}})
    assert commit(client, cluster, draft.json()["draft_id"]).status_code == 200

    made = client.post(PROFILES, json={"cluster": "captured", "name": "golden"})
    assert made.status_code == 201, made.text
    golden_id = made.json()["profile"]["id"]
    assert made.json()["version"]["version"] == 1
    exported = client.get(f"{PROFILES}/{golden_id}/versions/1/iac-export").text
    assert SECRET not in exported
    version = client.get(f"{PROFILES}/{golden_id}/versions/1").json()
    by_name = {p["name"]: p for p in version["parameters"]}
    assert by_name["domain"]["default"] == "shop.example.com"
    assert by_name["admin_password"] == {
        "name": "admin_password",
        "type": "secret",
        "required": True,
    }
    layers = {layer["name"]: layer for layer in version["spec"]["layers"]}
    assert layers["web-platform-ingress"]["values"]["replicaCount"] == 5
    assert layers["web-platform-dashboards"]["dependsOn"] == ["web-platform-ingress"]

    again = client.post(f"{PROFILES}/{golden_id}/versions", json={"cluster": cluster["id"]})
    assert again.status_code == 201 and again.json()["version"]["version"] == 2
    seeded = client.post(DRAFTS, json={"source_cluster": "captured", "name": "seeded"})
    assert seeded.status_code == 201 and seeded.json()["name"] == "seeded"
    assert client.post(f"{DRAFTS}/{seeded.json()['id']}/validate").json()["valid"] is True
    empty = register(client, "empty", bare_repo)
    refused = client.post(PROFILES, json={"cluster": empty["id"], "name": "nothing"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "empty_stack"


def test_one_instantiation_per_profile_and_bad_git_targets(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    cluster = register(client, "once", bare_repo)
    deployed = instantiate(client, cluster, profile_id, deploy=True)
    assert deployed.status_code == 201 and deployed.json()["revision"] == 1
    twice = instantiate(client, cluster, profile_id)
    assert twice.status_code == 409 and "already runs" in twice.json()["detail"]

    for gitops, path in (
        ({"url": "https://ci:s3cr3t@git.example.com/x.git"}, "gitops.url"),
        ({"url": bare_repo.url, "branch": "a..b"}, "gitops.branch"),
    ):
        body = {"name": "bad-git", "gitops": gitops}
        refused = client.post(CLUSTERS, json=body)
        assert refused.status_code == 422 and refused.json()["errors"][0]["path"] == path
        assert "s3cr3t" not in refused.text

    deprecated = client.post(
        f"{PROFILES}/{profile_id}/versions/1/deprecation", json={"reason": "old", "note": "n"}
    )
    assert deprecated.status_code == 200
    rows = client.get(f"{PROFILES}/{profile_id}").json()["versions"]
    assert rows[0]["deprecation"] == {"reason": "old", "note": "n"}
    assert client.get(f"{PROFILES}/{profile_id}").json()["update_status"] == {
        "outdated_instantiation_count": 1,
        "has_update_available": True,
    }
    missing = client.post(f"{PROFILES}/{profile_id}/rollout", json={"version": 9})
    assert missing.status_code == 404


def test_two_concurrent_commits_on_one_cluster_one_wins(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    first_id = import_doc(client, web_platform()).json()["profile"]["id"]
    second_id = import_doc(client, web_platform(name="second-stack")).json()["profile"]["id"]
    cluster = register(client, "race", bare_repo)
    drafts = [instantiate(client, cluster, pid).json()["draft_id"] for pid in (first_id, second_id)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda d: commit(client, cluster, d).status_code, drafts))
    assert sorted(answers) == [200, 409]
    assert client.get(f"{CLUSTERS}/{cluster['id']}").json()["revision"] == 1
    assert len(bare_repo.log()) == 1


def test_flux_mode_writes_helm_releases_and_chained_kustomizations(
    client: httpx.Client, bare_repo: BareRepo, tmp_path: Path
) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    cluster = register(client, "flux-1", bare_repo, mode="flux")
    draft = instantiate(client, cluster, profile_id).json()["draft_id"]
    assert commit(client, cluster, draft).status_code == 200
    files = bare_repo.files_at("main", "clusters/flux-1")
    text = "\n".join(files.values())
    assert "kind: HelmRelease" in text and "kind: HelmRepository" in text
    assert "valuesFrom" in text and "lamina-web-platform-secrets" in text
    assert "dependsOn" in text and SECRET not in text
    built = kustomize(bare_repo, "clusters/flux-1", tmp_path / "flux")
    # 00-cluster (Namespaces, never pruned), then one per layer
    assert built.count("kind: Kustomization") == 3 and "name: flux-1-00-cluster" in built


def test_upgrade_names_new_required_parameters_and_drops_removed_ones(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    cluster = register(client, "upgrader", bare_repo)
    assert instantiate(client, cluster, profile_id, deploy=True).status_code == 201
    [row] = client.get(f"{PROFILES}/{profile_id}/instantiations").json()

    draft = client.post(DRAFTS, json={"profile_id": profile_id}).json()
    doc = web_platform()
    parameters = doc["spec"]["parameters"]
    doc["spec"]["parameters"] = [p for p in parameters if p["name"] != "tier"] + [
        {"name": "owner", "type": "string", "required": True},
        {"name": "region", "type": "string", "required": True},
    ]
    doc["spec"]["layers"][0]["values"]["config"]["greeting"] = "${{ params.owner }}"
    doc["spec"]["layers"][1]["manifests"][0]["data"]["region"] = "${{ params.region }}"
    assert update_draft(client, draft, doc).status_code == 200
    assert client.post(f"{DRAFTS}/{draft['id']}/publish").status_code == 201

    url = f"{CLUSTERS}/{cluster['id']}/instantiations/{row['id']}/upgrade"
    missing = client.post(url, json={})
    assert missing.status_code == 422
    assert {e["path"] for e in missing.json()["errors"]} == {
        "parameters.owner",
        "parameters.region",
    }
    given = client.post(
        url,
        json={"parameters": [{"name": "owner", "value": "sre"}, {"name": "region", "value": "eu"}]},
    )
    assert given.status_code == 201, given.text
    assert [w["code"] for w in given.json()["warnings"]] == [
        "parameter_dropped",
        "secrets_as_placeholders",  # the cluster has no age key
    ]
    review = client.get(
        f"{CLUSTERS}/{cluster['id']}/stack-drafts/{given.json()['draft_id']}/diff"
    ).json()
    changed = {(p["name"], p["from"], p["to"]) for p in review["parameters"]}
    assert ("owner", None, "sre") in changed and ("tier", "dev", None) in changed
    assert all(p["name"] != "admin_password" for p in review["parameters"])  # same secret
