"""A committed tree applies on a fresh cluster as Helm would: Namespaces and CRDs first, no
test or delete hooks, install hooks replaced by Flux, scope from the schemas and the stack's
CRDs, custom resources validated against the stack's CRDs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import pytest

from lamina.adapters import yamlio
from tests.api.test_clusters import CLUSTERS, commit, kustomize, register
from tests.api.test_journey import DRAFTS, import_doc
from tests.fixtures.charts import CHARTS_DIR
from tests.fixtures.gitrepos import BareRepo

GADGET = {
    "apiVersion": "hooked.example.com/v1",
    "kind": "Gadget",
    "metadata": {"name": "extra"},
    "spec": {"size": 2},
}
OPERATOR: dict[str, Any] = {
    "apiVersion": "lamina.dev/v1",
    "kind": "StackProfile",
    "metadata": {"name": "gadgets", "description": "An operator and its gadgets"},
    "spec": {
        "type": "add-on",
        "layers": [
            {
                "name": "operator",
                "namespace": "operators",
                "chart": {"repository": "bundled", "name": "hooked-operator", "version": "1.0.0"},
            },
            {
                "name": "apps",
                "namespace": "apps",
                "dependsOn": ["operator"],
                "manifests": [GADGET],
            },
            {
                "name": "byo",
                "namespace": "byo",
                "createNamespace": False,  # created by someone else
                "manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}],
            },
        ],
    },
}


@pytest.fixture
def bundled(client: httpx.Client) -> None:
    made = client.post(
        "/api/v1/org/registries", json={"name": "bundled", "kind": "local", "url": str(CHARTS_DIR)}
    )
    assert made.status_code == 201, made.text
    assert client.post(f"/api/v1/org/registries/{made.json()['id']}/sync").status_code == 200


def profile(client: httpx.Client, manifests: list[dict[str, Any]] | None = None) -> int:
    doc = copy.deepcopy(OPERATOR)
    if manifests is not None:
        doc["spec"]["layers"][1]["manifests"] = manifests
    imported = import_doc(client, doc)
    assert imported.status_code in (200, 201), imported.text
    return int(imported.json()["profile"]["id"])


def test_a_committed_stack_applies_on_a_fresh_cluster(
    client: httpx.Client, bundled: None, bare_repo: BareRepo, tmp_path: Path
) -> None:
    profile_id = profile(client)
    cluster = register(client, "fresh", bare_repo)
    drafted = client.post(
        f"{CLUSTERS}/{cluster['id']}/stacks/from-profile",
        json={"profile_id": profile_id, "parameters": []},
    )
    assert drafted.status_code == 201, drafted.text
    [left_out] = [w for w in drafted.json()["warnings"] if w["code"] == "hook_not_committed"]
    assert "operator-cleanup" in left_out["message"] and "pre-delete" in left_out["message"]
    draft_id = drafted.json()["draft_id"]

    diff = client.get(f"{CLUSTERS}/{cluster['id']}/stack-drafts/{draft_id}/diff").json()
    hooks = {change["name"]: change["hook"] for change in diff["added"]}
    assert hooks["operator-migrate"] == ["pre-install", "pre-upgrade"]
    assert hooks["operator-settings"] is None
    assert "operator-ping" not in hooks and "operator-cleanup" not in hooks
    assert commit(client, cluster, draft_id).status_code == 200

    built = [o for o in yamlio.load_all(kustomize(bare_repo, "clusters/fresh", tmp_path)) if o]
    kinds = [o["kind"] for o in built]
    assert kinds[:4] == ["Namespace"] * 2 + ["CustomResourceDefinition"] * 2
    assert sorted(o["metadata"]["name"] for o in built[:2]) == ["apps", "operators"]
    assert [o for o in built if o["kind"] == "Namespace" and o["metadata"]["name"] == "byo"] == []
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in built}
    assert not any(name.endswith(("-ping", "-cleanup")) for _, name in by_name)
    fast = by_name[("GadgetClass", "operator-fast")]
    assert "namespace" not in fast["metadata"]
    assert by_name[("Gadget", "extra")]["metadata"]["namespace"] == "apps"
    assert by_name[("Gadget", "operator")]["metadata"]["namespace"] == "operators"
    migrate = by_name[("Job", "operator-migrate")]["metadata"]["annotations"]
    assert migrate["kustomize.toolkit.fluxcd.io/force"] == "enabled"
    assert migrate["helm.sh/hook-delete-policy"] == "before-hook-creation"


def validate(client: httpx.Client, manifests: list[dict[str, Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(OPERATOR)
    doc["spec"]["layers"][1]["manifests"] = manifests
    draft = client.post(DRAFTS, json={"name": "gadgets"}).json()
    body = {
        "spec": {k: v for k, v in doc["spec"].items() if k != "parameters"},
        "parameters": [],
        "metadata": doc["metadata"],
        "version": draft["version"],
    }
    assert client.post(f"{DRAFTS}/{draft['id']}", json=body).status_code == 200
    report = client.post(f"{DRAFTS}/{draft['id']}/validate")
    assert report.status_code == 200, report.text
    return dict(report.json())


def test_custom_resources_are_validated_against_the_stack_crds(
    client: httpx.Client, bundled: None
) -> None:
    report = validate(client, [GADGET])
    assert report["valid"] is True, report
    assert not [w for w in report["warnings"] if w["code"] == "unknown_kind"]

    broken = {**GADGET, "spec": {"size": 0, "colour": "red"}}
    report = validate(client, [broken])
    assert report["valid"] is False
    problems = sorted(e["message"] for e in report["errors"] if e["code"] == "invalid_object")
    assert [e["path"] for e in report["errors"]] == ["apps", "apps"]
    assert "Gadget apps/extra" in problems[0]
    assert any("spec.colour: unknown field" in p for p in problems)
    assert any("spec.size: 0 is less than the minimum of 1" in p for p in problems)
