"""One value pipeline: a HelmRelease written in flux mode installs exactly the objects that
rendered mode commits for the same stack, under the same release name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from lamina.adapters import yamlio
from lamina.adapters.helm import HelmEngine, package_chart
from tests.api.test_clusters import CLUSTERS, commit, instantiate, register
from tests.api.test_journey import import_doc
from tests.documents import web_platform
from tests.fixtures.charts import CHARTS_DIR
from tests.fixtures.gitrepos import BareRepo

LAYER = "01-web-platform.ingress"
OVERRIDES = {
    "ingress": {
        # Deep into a map the profile set with references, and a list replaced whole.
        "config": {"features": {"search": True}, "greeting": "overridden"},
        "env": [{"name": "LOG_LEVEL", "value": "debug"}],
        "podLabels": {"zone": "override"},
    }
}


def profile_with_references() -> dict[str, Any]:
    doc = web_platform()
    values = doc["spec"]["layers"][0]["values"]
    values["podLabels"] = {
        "tier": "${{ params.tier }}",
        "zone": "${{ params.domain }}",
        "env": "${{ cluster.labels.env }}",
    }
    values["config"]["features"] = {"login": "${{ params.tier }}"}
    return doc


def objects_of(files: dict[str, str]) -> dict[tuple[str, str], Any]:
    """{(kind, name): object without its namespace} of a folder's object files."""
    found = {}
    for path, text in files.items():
        if path.endswith("kustomization.yaml"):
            continue
        for obj in yamlio.load_all(text):
            metadata = {k: v for k, v in obj["metadata"].items() if k != "namespace"}
            found[(obj["kind"], obj["metadata"]["name"])] = {**obj, "metadata": metadata}
    return found


def set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    """Set a `valuesFrom.targetPath` (`a.b.c`, no escapes or indexes used here)."""
    *parents, last = path.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[last] = value


def install_as_helm_controller(release: dict[str, Any], kube_version: str) -> dict[Any, Any]:
    """What Flux's helm-controller installs for `release`: its values, each `valuesFrom`
    key set at its target path (here the placeholder the rendered mode holds too), rendered
    by the Helm engine under `spec.releaseName` in the release's namespace."""
    spec = release["spec"]
    values = dict(spec.get("values") or {})
    for source in spec.get("valuesFrom") or []:
        set_path(values, source["targetPath"], "${lamina_secret_" + source["valuesKey"] + "}")
    engine = HelmEngine()
    chart = engine.load(package_chart(CHARTS_DIR / spec["chart"]["spec"]["chart"]))
    files = engine.render(
        chart,
        values=values,
        release=spec["releaseName"],
        namespace=release["metadata"]["namespace"],
        kube_version=kube_version,
        api_versions=[],
    )
    return objects_of({path: text for path, text in files.items() if path.endswith(".yaml")})


def test_a_helm_release_installs_what_rendered_mode_commits(
    client: httpx.Client, tmp_path: Path
) -> None:
    profile_id = import_doc(client, profile_with_references()).json()["profile"]["id"]
    plain_repo, flux_repo = BareRepo(tmp_path / "plain.git"), BareRepo(tmp_path / "flux.git")
    plain = register(client, "plain", plain_repo)
    fluxed = register(client, "fluxed", flux_repo, mode="flux")
    for cluster in (plain, fluxed):
        made = instantiate(client, cluster, profile_id, values=OVERRIDES)
        assert made.status_code == 201, made.text
        assert "flux_cannot_fetch" not in {w["code"] for w in made.json()["warnings"]}
        assert commit(client, cluster, made.json()["draft_id"]).status_code == 200

    committed = objects_of(plain_repo.files_at("main", f"clusters/plain/{LAYER}"))
    [release_text] = [
        text
        for path, text in flux_repo.files_at("main", f"clusters/fluxed/{LAYER}").items()
        if "helmrelease" in path
    ]
    release = yamlio.load(release_text)
    assert release["spec"]["releaseName"] == "ingress"
    assert release["spec"]["values"]["config"]["features"] == {"login": "dev", "search": True}
    assert release["spec"]["values"]["podLabels"] == {
        "tier": "dev",
        "zone": "override",
        "env": "prod",
    }
    assert release["spec"]["valuesFrom"] == [
        {
            "kind": "Secret",
            "name": "lamina-web-platform-secrets",
            "valuesKey": "admin_password",
            "targetPath": "config.password",
        }
    ]
    installed = install_as_helm_controller(release, plain["kubernetes_version"])
    assert installed == committed
    assert any("search" in str(o) for o in installed.values())


def test_flux_refuses_a_secret_inside_a_longer_value(
    client: httpx.Client, bare_repo: BareRepo
) -> None:
    doc = web_platform()
    doc["spec"]["layers"][0]["values"]["config"]["greeting"] = "pw=${{ params.admin_password }}"
    profile_id = import_doc(client, doc).json()["profile"]["id"]
    fluxed = register(client, "fluxed", bare_repo, mode="flux")
    refused = instantiate(client, fluxed, profile_id)
    assert refused.status_code == 422, refused.text
    [issue] = refused.json()["errors"]
    assert issue["code"] == "secret_inside_text"
    assert issue["path"] == "web-platform/ingress.values.config.greeting"
    assert client.get(f"{CLUSTERS}/{fluxed['id']}").json()["revision"] == 0


def test_flux_says_when_it_cannot_fetch_a_chart(client: httpx.Client, bare_repo: BareRepo) -> None:
    made = client.post(
        "/api/v1/org/registries", json={"name": "bundled", "kind": "local", "url": str(CHARTS_DIR)}
    )
    assert made.status_code == 201, made.text
    assert client.post(f"/api/v1/org/registries/{made.json()['id']}/sync").status_code == 200
    doc = web_platform()
    doc["spec"]["layers"][0]["chart"]["repository"] = "bundled"
    profile_id = import_doc(client, doc).json()["profile"]["id"]
    fluxed = register(client, "fluxed", bare_repo, mode="flux")
    drafted = instantiate(client, fluxed, profile_id)
    assert drafted.status_code == 201, drafted.text
    [warning] = [w for w in drafted.json()["warnings"] if w["code"] == "flux_cannot_fetch"]
    assert warning["path"] == "web-platform/ingress" and "bundled" in warning["message"]
    assert commit(client, fluxed, drafted.json()["draft_id"]).status_code == 200
    folder = bare_repo.files_at("main", f"clusters/fluxed/{LAYER}")
    assert not any("helmrelease" in path for path in folder)
    assert any("deployment" in path for path in folder)
