"""Rendering drafts and versions through real HTTP: layers, parameters, clusters, values,
nested profiles, kustomize layers, errors, golden output and the render cache."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from lamina.adapters import yamlio
from lamina.adapters.helm import HelmEngine
from lamina.config import Services
from tests.api.test_journey import DRAFTS, PROBLEM, PROFILES, import_doc

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "stacks"
SECRET = "hunter2-Sup3r-Secret"
ENGINE = HelmEngine()

# --- documents ----------------------------------------------------------------------------


def stack(name: str, *layers: dict[str, Any], params: Any = (), kind: str = "add-on") -> Any:
    """A profile document holding `layers` and the parameters `params`."""
    return {
        "apiVersion": "lamina.dev/v1",
        "kind": "StackProfile",
        "metadata": {"name": name, "description": f"Profile {name}"},
        "spec": {"type": kind, "parameters": list(params), "layers": list(layers)},
    }


def chart_layer(
    name: str,
    repository: str,
    chart: str = "webapp",
    version: str = "1.0.0",
    *,
    values: dict[str, Any] | None = None,
    namespace: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    layer: dict[str, Any] = {
        "name": name,
        "namespace": namespace or name,
        "chart": {"repository": repository, "name": chart, "version": version},
    }
    if values is not None:
        layer["values"] = values
    return layer | extra


def manifests_layer(
    name: str, *objects: dict[str, Any], namespace: str = "apps", **extra: Any
) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "manifests": list(objects)} | extra


def config_map(name: str, **data: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def deployment(name: str, replicas: Any = 1) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.25"}]},
            },
        },
    }


def infra_layers(kube: str = "1.29.2") -> list[dict[str, Any]]:
    """The os, k8s, cni and csi layers an infra profile needs (descriptors and two small
    manifests layers)."""
    return [
        {"name": "os", "category": "os", "os": {"name": "ubuntu", "version": "22.04"}},
        {"name": "k8s", "category": "k8s", "kubernetes": {"distribution": "k3s", "version": kube}},
        manifests_layer("cni", config_map("cni-config", plugin="flannel"), category="cni"),
        manifests_layer("csi", config_map("csi-config", driver="local-path"), category="csi"),
    ]


# --- HTTP helpers ----------------------------------------------------------------------------


def draft_of(http: httpx.Client, doc: Any) -> int:
    """A new draft holding `doc`; its id."""
    response = import_doc(http, doc, as_draft="true")
    assert response.status_code == 201, response.text
    draft_id: int = response.json()["id"]
    return draft_id


def published(http: httpx.Client, doc: Any) -> tuple[int, int]:
    """(profile id, version number) of `doc` published through the import endpoint."""
    response = import_doc(http, doc)
    assert response.status_code == 201, response.text
    answer = response.json()
    return answer["profile"]["id"], answer["version"]["version"]


def render_draft(
    http: httpx.Client, draft_id: int, fmt: str = "json", **body: Any
) -> httpx.Response:
    return http.post(f"{DRAFTS}/{draft_id}/render", json=body, params={"format": fmt})


def render_version(
    http: httpx.Client, profile_id: int, number: int, fmt: str = "json", **body: Any
) -> httpx.Response:
    url = f"{PROFILES}/{profile_id}/versions/{number}/render"
    return http.post(url, json=body, params={"format": fmt})


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def rendered(http: httpx.Client, doc: Any, **body: Any) -> dict[str, Any]:
    """The JSON render of a new draft holding `doc`."""
    return ok(render_draft(http, draft_of(http, doc), **body))


def layer_objects(answer: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """{layer name: its objects, parsed from its files}, in answer order."""
    return {
        layer["name"]: [obj for text in layer["files"].values() for obj in yamlio.load_all(text)]
        for layer in answer["layers"]
    }


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and name in (None, o["metadata"]["name"])]
    assert len(found) == 1, (kind, name, objects)
    return found[0]


def problem(response: httpx.Response, status: int = 422) -> set[tuple[str, str]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    return {(e["path"], e["code"]) for e in response.json()["errors"]}


def helm_template(
    archive: Path, values: dict[str, Any], *, release: str, namespace: str, kube: str | None = None
) -> dict[str, list[Any]]:
    """What the Helm engine alone renders for the archive: {template path: objects}."""
    chart = ENGINE.load(archive.read_bytes())
    files = ENGINE.render(
        chart,
        values=values,
        release=release,
        namespace=namespace,
        kube_version=kube,
        api_versions=[],
    )
    return {path: yamlio.load_all(text) for path, text in files.items()}


def parsed_files(layer: dict[str, Any]) -> dict[str, list[Any]]:
    return {path: yamlio.load_all(text) for path, text in layer["files"].items()}


# --- charts: the same as helm template -------------------------------------------------------


WEB_VALUES = {
    "replicaCount": 3,
    "image": {"tag": "1.27.1"},
    "config": {"features": {"beta": True}},
    "ingress": {"enabled": True, "host": "shop.example.com"},
}


def test_chart_layer_renders_what_helm_renders(
    client: httpx.Client, chart_repo: Any, chart_archives: dict[str, Path]
) -> None:
    doc = stack("web", chart_layer("web", chart_repo.url, values=WEB_VALUES, namespace="shop"))
    draft_id = draft_of(client, doc)
    answer = ok(render_draft(client, draft_id))
    assert answer["warnings"] == [] and answer["kubernetes_version"] is None
    [layer] = answer["layers"]
    assert layer["name"] == "web" and layer["objects_count"] == 4
    assert sorted(layer["files"]) == [
        "webapp/templates/configmap.yaml",
        "webapp/templates/deployment.yaml",
        "webapp/templates/ingress.yaml",
        "webapp/templates/service.yaml",
    ]
    expected = helm_template(
        chart_archives["webapp-1.0.0"], WEB_VALUES, release="web", namespace="shop"
    )
    assert parsed_files(layer) == expected

    version_id, number = published(client, doc)
    again = ok(render_version(client, version_id, number))
    assert parsed_files(again["layers"][0]) == expected


def test_umbrella_chart_renders_its_subchart(
    client: httpx.Client, chart_repo: Any, chart_archives: dict[str, Path]
) -> None:
    values = {"app": {"name": "store"}, "redis-lite": {"persistence": {"size": "5Gi"}}}
    doc = stack("shop", chart_layer("shop", chart_repo.url, "umbrella", values=values))
    [layer] = rendered(client, doc)["layers"]
    assert sorted(layer["files"]) == [
        "umbrella/charts/redis-lite/templates/service.yaml",
        "umbrella/charts/redis-lite/templates/statefulset.yaml",
        "umbrella/templates/configmap.yaml",
    ]
    assert parsed_files(layer) == helm_template(
        chart_archives["umbrella-1.0.0"], values, release="shop", namespace="shop"
    )
    objects = layer_objects({"layers": [layer]})["shop"]
    statefulset = find(objects, "StatefulSet", "shop-redis-lite")
    assert statefulset["spec"]["replicas"] == 2  # the parent's default for its subchart
    claim = statefulset["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert find(objects, "ConfigMap", "shop-store")["data"]["environment"] == "test"


def test_chart_from_a_registered_registry(client: httpx.Client, chart_repo: Any) -> None:
    registry = client.post(
        "/api/v1/org/registries", json={"name": "stable", "kind": "helm", "url": chart_repo.url}
    ).json()
    doc = stack("web", chart_layer("web", "stable", version="^1.0"))
    draft_id = draft_of(client, doc)
    # Not synced yet: the registry lists no chart.
    assert problem(render_draft(client, draft_id)) == {
        ("spec.layers[0].chart.version", "chart_not_found")
    }
    assert client.post(f"/api/v1/org/registries/{registry['id']}/sync").status_code == 200
    answer = ok(render_draft(client, draft_id))
    assert answer["layers"][0]["objects_count"] == 3
    assert sorted(answer["layers"][0]["files"]) == [
        "webapp/templates/configmap.yaml",
        "webapp/templates/deployment.yaml",
        "webapp/templates/service.yaml",
    ]
    effective = client.get(f"{DRAFTS}/{draft_id}/effective-values", params={"layer": "web"})
    assert ok(effective)["chart"]["version"] == "1.1.0"
    assert ok(effective)["chart"]["repository"] == "stable"
    profile_id, number = published(client, doc)
    assert ok(render_version(client, profile_id, number)) == answer

    unknown = draft_of(client, stack("other", chart_layer("web", "nowhere")))
    assert problem(render_draft(client, unknown)) == {
        ("spec.layers[0].chart.repository", "unknown_registry")
    }


def test_other_orgs_render_only_public_versions(
    client: httpx.Client, chart_repo: Any, server_url: str, make_token: Any
) -> None:
    doc = stack("web", chart_layer("web", chart_repo.url))
    draft_id = draft_of(client, doc)
    private_id, _ = published(client, doc)
    shared = stack("shared", chart_layer("web", chart_repo.url))
    shared["metadata"]["visibility"] = "public"
    public_id, _ = published(client, shared)
    headers = {"Authorization": f"Bearer {make_token('globex')}"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=30) as other:
        assert render_draft(other, draft_id).status_code == 404
        effective = f"{DRAFTS}/{draft_id}/effective-values"
        assert other.get(effective, params={"layer": "web"}).status_code == 404
        assert render_version(other, private_id, 1).status_code == 404
        assert render_version(other, private_id, 2).status_code == 404
        answer = ok(render_version(other, public_id, 1))
        assert answer["layers"][0]["objects_count"] == 3


# --- order and formats -----------------------------------------------------------------------


def test_layers_come_in_dependency_order_infra_first(client: httpx.Client, chart_repo: Any) -> None:
    doc = stack(
        "ordered",
        *infra_layers("1.29.2"),
        manifests_layer("app", config_map("app"), dependsOn=["cache"]),
        manifests_layer("cache", config_map("cache"), dependsOn=["config"]),
        manifests_layer("config", config_map("config")),
        chart_layer("modern", chart_repo.url, "modern"),
        kind="infra",
    )
    answer = rendered(client, doc)
    names = [layer["name"] for layer in answer["layers"]]
    assert names == ["os", "k8s", "cni", "csi", "config", "cache", "app", "modern"]
    assert [layer["objects_count"] for layer in answer["layers"]] == [0, 0, 1, 1, 1, 1, 1, 1]
    assert answer["kubernetes_version"] == "1.29.2"
    modern = find(layer_objects(answer)["modern"], "ConfigMap", "modern-modern")
    assert modern["data"]["kubeVersion"] == "v1.29.2"  # the k8s layer's version reaches Helm

    cluster = rendered(client, doc, cluster={"kubernetes_version": "1.30.1"})
    assert cluster["kubernetes_version"] == "1.30.1"
    modern = find(layer_objects(cluster)["modern"], "ConfigMap", "modern-modern")
    assert modern["data"]["kubeVersion"] == "v1.30.1"
    old = render_draft(client, draft_of(client, doc), cluster={"kubernetes_version": "1.27.3"})
    assert {code for _, code in problem(old)} == {"kube_version_incompatible"}
    bad = render_draft(client, draft_of(client, doc), cluster={"kubernetes_version": "banana"})
    assert {code for _, code in problem(bad)} == {"invalid_kube_version"}


def test_yaml_format_is_one_multi_document_stream(client: httpx.Client, chart_repo: Any) -> None:
    doc = stack(
        "web",
        chart_layer("web", chart_repo.url),
        manifests_layer("extra", config_map("extra", a="1"), deployment("worker")),
    )
    draft_id = draft_of(client, doc)
    answer = ok(render_draft(client, draft_id))
    response = render_draft(client, draft_id, fmt="yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/yaml")
    stream = list(yaml.safe_load_all(response.text))
    assert len(stream) == sum(layer["objects_count"] for layer in answer["layers"]) == 5
    assert stream == [obj for objs in layer_objects(answer).values() for obj in objs]
    assert [(o["kind"], o["metadata"]["name"]) for o in stream][-2:] == [
        ("ConfigMap", "extra"),
        ("Deployment", "worker"),
    ]
    assert render_draft(client, draft_id, fmt="xml").status_code == 422


# --- parameters and clusters ------------------------------------------------------------------


PARAMS = [
    {"name": "replicas", "type": "number", "default": 2},
    {"name": "greeting", "type": "string", "default": "hello"},
    {"name": "token", "type": "secret", "required": True},
    {"name": "debug", "type": "boolean", "default": False},
]


def params_stack(repo: str) -> Any:
    return stack(
        "params",
        chart_layer(
            "web",
            repo,
            values={
                "replicaCount": "${{ params.replicas }}",
                "config": {"greeting": "${{ params.greeting }} (${{ params.replicas }})"},
                "env": [{"name": "TOKEN", "value": "${{ params.token }}"}],
                "ingress": {"enabled": "${{ params.debug }}"},
            },
        ),
        manifests_layer(
            "settings",
            config_map("settings", token="${{ params.token }}", debug="debug=${{ params.debug }}"),
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "token"},
                "stringData": {"token": "${{ params.token }}", "line": "t=${{ params.token }}"},
            },
        ),
        params=PARAMS,
    )


def test_parameters_substitute_with_their_types(client: httpx.Client, chart_repo: Any) -> None:
    draft_id = draft_of(client, params_stack(chart_repo.url))
    supplied = [{"name": "replicas", "value": 4}, {"name": "token", "value": SECRET}]
    objects = layer_objects(ok(render_draft(client, draft_id, parameters=supplied)))
    web = find(objects["web"], "Deployment")
    assert web["spec"]["replicas"] == 4 and isinstance(web["spec"]["replicas"], int)
    assert find(objects["web"], "ConfigMap")["data"]["greeting"] == "hello (4)"
    assert find(objects["settings"], "ConfigMap")["data"]["debug"] == "debug=false"
    # A boolean stays a boolean: the text "false" would switch the ingress on.
    assert [o["kind"] for o in objects["web"]] == ["ConfigMap", "Deployment", "Service"]

    text = [
        {"name": "replicas", "value": "5"},
        {"name": "token", "value": SECRET},
        {"name": "debug", "value": "true"},
    ]
    objects = layer_objects(ok(render_draft(client, draft_id, parameters=text)))
    assert find(objects["web"], "Deployment")["spec"]["replicas"] == 5  # "5" read as a number
    assert find(objects["web"], "Ingress")["spec"]["rules"][0]["host"] == "webapp.example.com"


def test_secret_parameters_are_redacted_everywhere(client: httpx.Client, chart_repo: Any) -> None:
    draft_id = draft_of(client, params_stack(chart_repo.url))
    supplied = [{"name": "token", "value": SECRET}]
    response = render_draft(client, draft_id, parameters=supplied)
    assert response.status_code == 200, response.text
    assert SECRET not in response.text
    objects = layer_objects(response.json())
    env = find(objects["web"], "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "TOKEN", "value": "<redacted>"}]
    assert find(objects["settings"], "Secret")["stringData"] == {
        "token": "<redacted>",
        "line": "t=<redacted>",
    }
    as_yaml = render_draft(client, draft_id, fmt="yaml", parameters=supplied)
    assert as_yaml.status_code == 200 and SECRET not in as_yaml.text
    assert "<redacted>" in as_yaml.text

    in_url = client.get(
        f"{DRAFTS}/{draft_id}/effective-values",
        params={"layer": "web", "param": [f"token={SECRET}", "replicas=3"]},
    )
    assert in_url.status_code == 422 and SECRET not in in_url.text
    assert [e["code"] for e in in_url.json()["errors"]] == ["secret_in_url"]
    effective = client.post(
        f"{DRAFTS}/{draft_id}/effective-values",
        params={"layer": "web"},
        json={"parameters": [{"name": "token", "value": SECRET}, {"name": "replicas", "value": 3}]},
    )
    assert effective.status_code == 200 and SECRET not in effective.text
    assert ok(effective)["values"]["env"] == [{"name": "TOKEN", "value": "<redacted>"}]

    profile_id, number = published(client, params_stack(chart_repo.url))
    version = render_version(client, profile_id, number, parameters=supplied)
    assert version.status_code == 200 and SECRET not in version.text


def test_parameter_errors_name_the_parameter(client: httpx.Client, chart_repo: Any) -> None:
    draft_id = draft_of(client, params_stack(chart_repo.url))
    assert problem(render_draft(client, draft_id)) == {("parameters.token", "missing_required")}
    wrong = [{"name": "token", "value": "x"}, {"name": "replicas", "value": "many"}]
    assert problem(render_draft(client, draft_id, parameters=wrong)) == {
        ("parameters.replicas", "wrong_type")
    }
    unknown = [{"name": "token", "value": "x"}, {"name": "colour", "value": "red"}]
    assert problem(render_draft(client, draft_id, parameters=unknown)) == {
        ("parameters.colour", "unknown_parameter")
    }
    profile_id, number = published(client, params_stack(chart_repo.url))
    assert problem(render_version(client, profile_id, number)) == {
        ("parameters.token", "missing_required")
    }


def test_cluster_name_and_labels_substitute(client: httpx.Client) -> None:
    doc = stack(
        "clustered",
        manifests_layer(
            "where",
            config_map(
                "where",
                cluster="${{ cluster.name }}",
                region="${{ cluster.labels.region }}",
                both="${{ cluster.name }}@${{ cluster.labels.region }}",
                literal="$${{ cluster.name }}",
            ),
        ),
    )
    draft_id = draft_of(client, doc)
    cluster = {"name": "prod-1", "labels": {"region": "eu-west"}}
    objects = layer_objects(ok(render_draft(client, draft_id, cluster=cluster)))
    assert find(objects["where"], "ConfigMap")["data"] == {
        "cluster": "prod-1",
        "region": "eu-west",
        "both": "prod-1@eu-west",
        "literal": "${{ cluster.name }}",
    }
    missing = render_draft(client, draft_id, cluster={"name": "prod-1"})
    assert {code for _, code in problem(missing)} == {"unknown_label"}


# --- values and effective values -------------------------------------------------------------


def test_cluster_values_override_profile_values(client: httpx.Client, chart_repo: Any) -> None:
    values = {"replicaCount": 3, "service": {"type": "NodePort"}}
    doc = stack(
        "web",
        chart_layer("web", chart_repo.url, values=values),
        manifests_layer("extra", config_map("extra")),
    )
    draft_id = draft_of(client, doc)
    overrides = {"web": {"replicaCount": 7, "service": {"port": 8080}}}
    objects = layer_objects(ok(render_draft(client, draft_id, values=overrides)))
    assert find(objects["web"], "Deployment")["spec"]["replicas"] == 7
    service = find(objects["web"], "Service")["spec"]
    assert service["type"] == "NodePort" and service["ports"][0]["port"] == 8080

    deleted = {"web": {"config": {"features": None}}}  # null deletes a default, as in Helm
    objects = layer_objects(ok(render_draft(client, draft_id, values=deleted)))
    assert find(objects["web"], "ConfigMap")["data"] == {"greeting": "hello"}

    for name in ("nope", "extra"):
        refused = render_draft(client, draft_id, values={name: {"a": 1}})
        assert problem(refused) == {(f"values.{name}", "unknown_layer")}


def test_effective_values_are_complete_with_origins(client: httpx.Client, chart_repo: Any) -> None:
    doc = stack(
        "web",
        chart_layer(
            "web",
            chart_repo.url,
            values={"replicaCount": "${{ params.replicas }}", "image": {"tag": "1.27"}},
        ),
        manifests_layer("extra", config_map("extra")),
        params=[{"name": "replicas", "type": "number", "default": 2}],
    )
    draft_id = draft_of(client, doc)
    url = f"{DRAFTS}/{draft_id}/effective-values"
    answer = ok(client.get(url, params={"layer": "web"}))
    assert answer["layer"] == "web"
    assert answer["chart"]["name"] == "webapp" and answer["chart"]["version"] == "1.0.0"
    assert answer["chart"]["digest"].startswith("sha256:")
    values = answer["values"]
    assert values["replicaCount"] == 2  # the parameter's default
    assert values["image"] == {"repository": "nginx", "tag": "1.27", "pullPolicy": "IfNotPresent"}
    assert values["service"] == {"type": "ClusterIP", "port": 80}  # chart defaults included
    assert values["config"]["features"] == {"login": True, "search": False}
    assert answer["origins"] == [
        {"path": "image.tag", "level": "profile", "value": "1.27"},
        {"path": "replicaCount", "level": "profile", "value": 2},
    ]

    for layer in ("nope", "extra"):
        assert problem(client.get(url, params={"layer": layer})) == {("layer", "unknown_layer")}
    bad = client.get(url, params={"layer": "web", "param": "replicas"})
    assert problem(bad) == {("param", "invalid_value")}

    profile_id, number = published(client, doc)
    versioned = client.get(
        f"{PROFILES}/{profile_id}/versions/{number}/effective-values", params={"layer": "web"}
    )
    assert ok(versioned)["values"] == answer["values"]
    assert ok(versioned)["chart"] == answer["chart"]


def test_effective_values_read_param_text_as_render_does(
    client: httpx.Client, chart_repo: Any
) -> None:
    doc = stack(
        "web",
        chart_layer("web", chart_repo.url, values={"replicaCount": "${{ params.replicas }}"}),
        params=[{"name": "replicas", "type": "number", "default": 2}],
    )
    draft_id = draft_of(client, doc)
    supplied = [{"name": "replicas", "value": "5"}]
    objects = layer_objects(ok(render_draft(client, draft_id, parameters=supplied)))
    assert find(objects["web"], "Deployment")["spec"]["replicas"] == 5
    url = f"{DRAFTS}/{draft_id}/effective-values"
    answer = ok(client.get(url, params={"layer": "web", "param": "replicas=5"}))
    assert answer["values"]["replicaCount"] == 5
    assert answer["origins"] == [{"path": "replicaCount", "level": "profile", "value": 5}]
    wrong = client.get(url, params={"layer": "web", "param": "replicas=many"})
    assert problem(wrong) == {("parameters.replicas", "wrong_type")}
    unknown = client.get(url, params={"layer": "web", "param": "colour=red"})
    assert problem(unknown) == {("parameters.colour", "unknown_parameter")}


def test_effective_values_origins_name_only_keys_that_were_set(
    client: httpx.Client, chart_repo: Any
) -> None:
    doc = stack("web", chart_layer("web", chart_repo.url, values={"replicaCount": 3}))
    draft_id = draft_of(client, doc)
    answer = ok(client.get(f"{DRAFTS}/{draft_id}/effective-values", params={"layer": "web"}))
    assert answer["origins"] == [{"path": "replicaCount", "level": "profile", "value": 3}]


# --- nested profiles --------------------------------------------------------------------------


def base_profile(repo: str) -> Any:
    return stack(
        "base",
        manifests_layer("settings", config_map("base-settings", tier="base")),
        chart_layer("web", repo, values={"replicaCount": 2}, dependsOn=["settings"]),
    )


def test_nested_profile_layers_are_named_parent_child(
    client: httpx.Client, chart_repo: Any
) -> None:
    published(client, base_profile(chart_repo.url))
    doc = stack(
        "platform",
        manifests_layer("extra", config_map("extra"), dependsOn=["core"]),
        {"name": "core", "profile": {"name": "base", "version": 1}},
    )
    answer = rendered(client, doc)
    assert [layer["name"] for layer in answer["layers"]] == ["core/settings", "core/web", "extra"]
    objects = layer_objects(answer)
    deployment_ = find(objects["core/web"], "Deployment", "core-web-webapp")
    assert deployment_["metadata"]["namespace"] == "web"
    assert deployment_["spec"]["replicas"] == 2
    assert find(objects["core/settings"], "ConfigMap")["data"] == {"tier": "base"}

    profile_id, number = published(client, doc)
    again = ok(render_version(client, profile_id, number))
    assert layer_objects(again) == objects
    effective = client.get(
        f"{PROFILES}/{profile_id}/versions/{number}/effective-values", params={"layer": "core/web"}
    )
    assert ok(effective)["values"]["replicaCount"] == 2


def test_an_invalid_draft_does_not_render(client: httpx.Client) -> None:
    doc = stack("invalid", {"name": "empty", "namespace": "apps"})
    response = render_draft(client, draft_of(client, doc))
    assert problem(response) == {("spec.layers[0]", "layer_source_missing")}
    assert render_draft(client, 999999).status_code == 404


def test_missing_nested_profile_is_refused(client: httpx.Client) -> None:
    doc = stack("platform", {"name": "core", "profile": {"name": "base", "version": 3}})
    draft_id = draft_of(client, doc)
    assert {code for _, code in problem(render_draft(client, draft_id))} == {
        "nested_profile_not_found"
    }
    report = ok(client.post(f"{DRAFTS}/{draft_id}/validate"))
    assert report["valid"] is False
    assert {e["code"] for e in report["errors"]} == {"nested_profile_not_found"}


# --- kustomize layers -------------------------------------------------------------------------


SMP = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  replicas: 4\n"
JSON6902 = "- op: replace\n  path: /spec/replicas\n  value: 5"


def kustomized(*patches: Any) -> Any:
    return stack(
        "tuned",
        manifests_layer("app", deployment("api"), config_map("api-config", mode="fast")),
        {
            "name": "tune",
            "namespace": "apps",
            "kustomize": {"bases": ["app"], "patches": list(patches)},
        },
    )


def test_kustomize_strategic_merge_patch_takes_over_the_base(client: httpx.Client) -> None:
    answer = rendered(client, kustomized({"patch": SMP}))
    counts = {layer["name"]: layer["objects_count"] for layer in answer["layers"]}
    assert counts == {"app": 0, "tune": 2}  # the base layer's objects moved to the kustomization
    objects = layer_objects(answer)["tune"]
    api = find(objects, "Deployment", "api")
    assert api["spec"]["replicas"] == 4
    assert api["metadata"]["namespace"] == "apps"
    assert find(objects, "ConfigMap", "api-config")["data"] == {"mode": "fast"}


def test_kustomize_json6902_patch(client: httpx.Client) -> None:
    patch = {"target": {"kind": "Deployment", "name": "api"}, "patch": JSON6902}
    objects = layer_objects(rendered(client, kustomized(patch)))
    assert objects["app"] == []
    assert find(objects["tune"], "Deployment", "api")["spec"]["replicas"] == 5


def test_kustomize_inline_resources_take_parameters(client: httpx.Client) -> None:
    doc = stack(
        "inline",
        {
            "name": "tune",
            "namespace": "edge",
            "kustomize": {
                "resources": [config_map("zone", zone="${{ params.zone }}"), deployment("api")],
                "patches": [{"target": {"kind": "Deployment"}, "patch": JSON6902}],
            },
        },
        params=[{"name": "zone", "type": "string", "required": True}],
    )
    answer = rendered(client, doc, parameters=[{"name": "zone", "value": "eu.example"}])
    objects = layer_objects(answer)["tune"]
    assert find(objects, "ConfigMap", "zone")["data"] == {"zone": "eu.example"}
    assert find(objects, "Deployment", "api")["spec"]["replicas"] == 5
    assert {o["metadata"]["namespace"] for o in objects} == {"edge"}


def test_kustomize_over_a_chart_layer(client: httpx.Client, chart_repo: Any) -> None:
    patch = {"target": {"kind": "Deployment"}, "patch": JSON6902}
    doc = stack(
        "tuned",
        chart_layer("web", chart_repo.url, namespace="apps"),
        {"name": "tune", "namespace": "apps", "kustomize": {"bases": ["web"], "patches": [patch]}},
    )
    objects = layer_objects(rendered(client, doc))
    assert objects["web"] == []
    assert find(objects["tune"], "Deployment", "web-webapp")["spec"]["replicas"] == 5
    assert len(objects["tune"]) == 3


# --- errors -----------------------------------------------------------------------------------


def test_broken_chart_fails_naming_layer_and_template(
    client: httpx.Client, chart_repo: Any
) -> None:
    doc = stack(
        "broken",
        manifests_layer("fine", config_map("fine")),
        chart_layer("bad", chart_repo.url, "broken"),
    )
    response = render_draft(client, draft_of(client, doc))
    [(path, code)] = problem(response)
    assert code == "render_failed" and path.startswith("spec.layers[1]")
    message = response.json()["errors"][0]["message"]
    assert "'bad'" in message and "broken/templates/failing.yaml" in message


def test_values_breaking_the_schema_are_refused(client: httpx.Client, chart_repo: Any) -> None:
    doc = stack("web", chart_layer("web", chart_repo.url, values={"replicaCount": "many"}))
    response = render_draft(client, draft_of(client, doc))
    found = problem(response)
    assert found and {code for _, code in found} <= {"values_schema", "invalid_values"}
    assert all(path.startswith("spec.layers[0]") for path, _ in found)
    assert "replicaCount" in response.text


def test_duplicate_objects_across_layers(client: httpx.Client) -> None:
    doc = stack(
        "twice",
        manifests_layer("one", config_map("shared")),
        manifests_layer("two", config_map("shared")),
        manifests_layer("elsewhere", config_map("shared"), namespace="other"),
    )
    draft_id = draft_of(client, doc)
    report = ok(client.post(f"{DRAFTS}/{draft_id}/validate"))
    assert report["valid"] is False
    assert [(e["path"], e["code"]) for e in report["errors"]] == [("two", "duplicate_object")]
    assert "ConfigMap apps/shared" in report["errors"][0]["message"]
    assert problem(client.post(f"{DRAFTS}/{draft_id}/publish")) == {("two", "duplicate_object")}


# --- golden output, determinism and the cache ------------------------------------------------


def golden_stack(repo: str) -> Any:
    return stack(
        "golden-web",
        chart_layer("web", repo, values=WEB_VALUES, namespace="shop"),
        manifests_layer(
            "settings",
            config_map("shop-settings", zone="${{ params.zone }}", cluster="${{ cluster.name }}"),
            namespace="shop",
            dependsOn=["web"],
        ),
        {
            "name": "tune",
            "namespace": "shop",
            "kustomize": {
                "bases": ["web"],
                "patches": [
                    {
                        "target": {"kind": "Deployment", "name": "web-webapp"},
                        "patch": "- op: replace\n  path: /spec/replicas\n  value: 6",
                    }
                ],
            },
        },
        params=[{"name": "zone", "type": "string", "default": "example.org"}],
    )


def test_golden_stack(
    client: httpx.Client, chart_repo: Any, request: pytest.FixtureRequest
) -> None:
    draft_id = draft_of(client, golden_stack(chart_repo.url))
    body = {
        "parameters": [{"name": "zone", "value": "shop.example.com"}],
        "cluster": {"name": "eu-1"},
    }
    response = render_draft(client, draft_id, fmt="yaml", **body)
    assert response.status_code == 200, response.text
    text = response.text
    golden = GOLDEN / "web-stack.yaml"
    if request.config.getoption("--update-golden"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.is_file(), f"{golden} is missing: run pytest with --update-golden"
    assert text == golden.read_text()
    objects = list(yaml.safe_load_all(text))
    kinds = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert ("ConfigMap", "shop-settings") in kinds and ("Deployment", "web-webapp") in kinds
    assert find(objects, "Deployment")["spec"]["replicas"] == 6  # patched by the kustomization
    assert find(objects, "ConfigMap", "shop-settings")["data"]["cluster"] == "eu-1"

    again = render_draft(client, draft_id, fmt="yaml", **body)
    assert again.text == text
    report = ok(client.post(f"{DRAFTS}/{draft_id}/validate"))
    assert report["valid"] is True, report
    profile_id, number = published(client, golden_stack(chart_repo.url))
    assert render_version(client, profile_id, number, fmt="yaml", **body).text == text


def test_rendering_twice_is_identical_and_cached(
    client: httpx.Client, chart_repo: Any, services: Services
) -> None:
    doc = stack(
        "cached",
        chart_layer("web", chart_repo.url, values=WEB_VALUES),
        chart_layer("shop", chart_repo.url, "umbrella"),
    )
    draft_id = draft_of(client, doc)
    first = render_draft(client, draft_id, fmt="yaml")
    assert first.status_code == 200, first.text
    hits = services.render.cache_hits
    second = render_draft(client, draft_id, fmt="yaml")
    assert second.text == first.text
    assert services.render.cache_hits == hits + 2  # both chart layers came from the cache
    assert ok(render_draft(client, draft_id)) == ok(render_draft(client, draft_id))

    hits = services.render.cache_hits
    changed = render_draft(client, draft_id, fmt="yaml", values={"web": {"replicaCount": 9}})
    assert changed.text != first.text
    assert services.render.cache_hits == hits + 1  # the umbrella layer, unchanged, came cached
    objects = [o for o in yaml.safe_load_all(changed.text) if o["kind"] == "Deployment"]
    assert [o["spec"]["replicas"] for o in objects] == [9]


# --- bugs ---------------------------------------------------------------------------------------


def test_cluster_overrides_referencing_parameters_are_not_served_stale(
    client: httpx.Client, chart_repo: Any
) -> None:
    doc = stack(
        "web",
        chart_layer("web", chart_repo.url),
        manifests_layer("zone", config_map("zone", zone="${{ params.zone }}")),
        params=[{"name": "zone", "type": "string", "default": "a.example"}],
    )
    draft_id = draft_of(client, doc)
    overrides = {"web": {"config": {"greeting": "hi ${{ params.zone }} ${{ cluster.name }}"}}}
    seen = []
    for zone, cluster in (("a.example", "one"), ("b.example", "two")):
        answer = render_draft(
            client,
            draft_id,
            parameters=[{"name": "zone", "value": zone}],
            cluster={"name": cluster},
            values=overrides,
        )
        seen.append(find(layer_objects(ok(answer))["web"], "ConfigMap")["data"]["greeting"])
    assert seen == ["hi a.example one", "hi b.example two"]


def test_nested_kustomization_patches_its_own_profiles_base(client: httpx.Client) -> None:
    smp = {"patch": SMP}
    published(
        client,
        stack(
            "tuned-base",
            manifests_layer("app", deployment("api")),
            {
                "name": "tune",
                "namespace": "apps",
                "kustomize": {"bases": ["app"], "patches": [smp]},
            },
        ),
    )
    doc = stack(
        "outer",
        manifests_layer("app", config_map("outer-app"), namespace="outer"),
        {"name": "inner", "profile": {"name": "tuned-base", "version": 1}},
    )
    objects = layer_objects(rendered(client, doc))
    assert list(objects) == ["app", "inner/app", "inner/tune"]
    assert [o["metadata"]["name"] for o in objects["app"]] == ["outer-app"]
    assert objects["inner/app"] == []
    assert find(objects["inner/tune"], "Deployment", "api")["spec"]["replicas"] == 4
