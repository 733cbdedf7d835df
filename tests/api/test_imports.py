"""Imports over HTTP: a Palette profile round-trips into a draft that validates and renders;
a Weaveworks profile is fetched from a URL; refusals name a path and store nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests import importers

IMPORTS = "/api/v1/org/imports"
DRAFTS = "/api/v1/org/stack-profiles/drafts"
JSON = {"Content-Type": "application/json"}
YAML = {"Content-Type": "application/yaml"}


def register_charts(client: httpx.Client, url: str) -> None:
    created = client.post(
        "/api/v1/org/registries", json={"name": "charts", "kind": "helm", "url": url}
    )
    assert created.status_code == 201, created.text
    assert client.post(f"/api/v1/org/registries/{created.json()['id']}/sync").status_code == 200


def drafts_count(client: httpx.Client) -> int:
    return int(client.get(DRAFTS).json()["total_count"])


def report_of(answer: httpx.Response) -> set[tuple[str, str, str]]:
    return {(n["status"], n["code"], n["path"]) for n in answer.json()["report"]}


def test_a_palette_profile_with_variables_becomes_a_draft_that_validates_and_renders(
    client: httpx.Client, chart_repo: Any
) -> None:
    register_charts(client, chart_repo.url)
    answer = client.post(
        f"{IMPORTS}/palette", content=importers.text("palette-addon.json"), headers=JSON
    )
    assert answer.status_code == 201, answer.text
    draft = answer.json()["draft"]
    assert draft["name"] == "web-addon" and draft["base_version"] is None
    assert [p["name"] for p in draft["parameters"]][:2] == ["replicas", "image_tag"]
    assert ("mapped", "registry_matched", "spec.published.packs[0].registryName") in report_of(
        answer
    )
    assert client.get(f"{DRAFTS}/{draft['id']}").json()["spec"] == draft["spec"]
    checked = client.post(f"{DRAFTS}/{draft['id']}/validate")
    assert checked.status_code == 200 and checked.json()["valid"], checked.text
    bindings = [
        {"name": "replicas", "value": 3},
        {"name": "domain", "value": "web.example.com"},
        {"name": "admin_password", "value": "s3cret"},
        {"name": "tier", "value": "prod"},
    ]
    body = {"parameters": bindings, "cluster": {"name": "eu-1"}}
    rendered = client.post(f"{DRAFTS}/{draft['id']}/render", json=body, params={"format": "json"})
    assert rendered.status_code == 200, rendered.text
    files = {
        name: text for layer in rendered.json()["layers"] for name, text in layer["files"].items()
    }
    everything = "\n".join(files.values())
    assert "replicas: 3" in everything  # a typed number from the parameter
    assert "hello from eu-1" in everything  # {{ .spectro.system.cluster.name }}
    assert "tier: prod" in everything
    # Nothing was published: the profile does not exist until the draft is.
    assert client.get("/api/v1/org/stack-profiles/web-addon").status_code == 404


def test_a_name_can_be_given_and_a_yaml_body_is_read_too(client: httpx.Client) -> None:
    source = importers.palette("palette-cluster.json")
    answer = client.post(f"{IMPORTS}/palette", json=source, params={"name": "aws-prod"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["draft"]["name"] == "aws-prod"
    statuses = {n["status"] for n in answer.json()["report"]}
    assert statuses == {"mapped", "approximated", "unmapped"}
    bad_name = client.post(f"{IMPORTS}/palette", json=source, params={"name": "Not A Name"})
    assert bad_name.status_code == 422


def test_a_weaveworks_profile_is_fetched_from_a_url(client: httpx.Client, chart_repo: Any) -> None:
    register_charts(client, chart_repo.url)
    chart_repo.put(
        "web-stack.yaml",
        importers.text("weaveworks-profile.yaml", chart_repo=chart_repo.url).encode(),
    )
    answer = client.post(f"{IMPORTS}/weaveworks", json={"url": f"{chart_repo.url}/web-stack.yaml"})
    assert answer.status_code == 201, answer.text
    layers = answer.json()["draft"]["spec"]["layers"]
    assert [layer["name"] for layer in layers] == ["webapp", "settings", "odd-name"]
    assert layers[0]["chart"]["repository"] == "charts"
    found = report_of(answer)
    assert ("mapped", "subscription_values", "subscription.spec.values") in found
    assert ("unmapped", "nested_profile_unknown", "spec.artifacts[0].profile") in found


def test_a_nested_profile_the_org_has_becomes_a_nested_layer(
    client: httpx.Client, chart_repo: Any
) -> None:
    base = {
        "apiVersion": "lamina.dev/v1",
        "kind": "StackProfile",
        "metadata": {"name": "base-platform"},
        "spec": {"type": "add-on", "parameters": [], "layers": []},
    }
    published = client.post(
        "/api/v1/org/stack-profiles/import", content=json.dumps(base), headers=YAML
    )
    assert published.status_code == 201, published.text
    text = importers.text("weaveworks-profile.yaml", chart_repo=chart_repo.url)
    answer = client.post(f"{IMPORTS}/weaveworks", content=text, headers=YAML)
    assert answer.status_code == 201, answer.text
    assert answer.json()["draft"]["spec"]["layers"][0] == {
        "name": "base",
        "profile": {"name": "base-platform", "version": 1},
    }


def test_refusals_name_a_path_and_store_nothing(client: httpx.Client, chart_repo: Any) -> None:
    def refused(kind: str, status: int, path: str, code: str, **request: Any) -> None:
        answer = client.post(f"{IMPORTS}/{kind}", **request)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert [(e["path"], e["code"]) for e in answer.json()["errors"]] == [(path, code)]

    refused("palette", 422, "spec", "missing_field", json={"metadata": {"name": "x"}})
    refused("palette", 422, "", "invalid_yaml", content=b"{not json", headers=JSON)
    refused("palette", 422, "", "invalid_yaml", content=b"\xff\xfe", headers=JSON)
    refused("weaveworks", 422, "kind", "invalid_value", content=b"kind: Other\n", headers=YAML)
    refused("weaveworks", 422, "", "missing_field", content=b"# nothing\n", headers=YAML)
    refused("palette", 422, "url", "target_not_allowed", json={"url": "file:///etc/passwd"})
    refused("palette", 422, "url", "target_not_allowed", json={"url": "https://10.0.0.1/p.json"})
    missing = f"{chart_repo.url}/no-such-profile.json"
    refused("palette", 422, "url", "source_unavailable", json={"url": missing})
    chart_repo.put("huge.json", b" " * (4 * 1024 * 1024 + 1))
    refused("palette", 413, "url", "too_large", json={"url": f"{chart_repo.url}/huge.json"})
    assert drafts_count(client) == 0


def test_viewers_cannot_import(server_url: str, make_token: Any) -> None:
    headers = {"Authorization": f"Bearer {make_token('acme', 'viewer')}"}
    with httpx.Client(base_url=server_url, headers=headers) as viewer:
        answer = viewer.post(f"{IMPORTS}/palette", json=importers.palette("palette-addon.json"))
    assert answer.status_code == 403
