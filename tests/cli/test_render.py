"""`lamina render` against the live server: versions and drafts, parameters, cluster overrides
and effective values, in table, JSON and YAML modes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lamina.adapters import yamlio
from tests.cli.conftest import Cli

PROFILES = "/api/v1/org/stack-profiles"

# A chart layer from the live repository and a manifests layer that depends on it.
SHOP = """\
apiVersion: lamina.dev/v1
kind: StackProfile
metadata: {name: shop, description: Web shop, category: apps}
spec:
  type: add-on
  parameters:
    - {name: domain, type: string, required: true}
    - {name: replicas, type: number, default: 1}
  layers:
    - name: web
      category: apps
      namespace: shop
      chart: {repository: "@CHART_REPO@", name: webapp, version: 1.0.0}
      values:
        replicaCount: "${{ params.replicas }}"
        ingress: {enabled: true, host: "${{ params.domain }}"}
    - name: settings
      category: apps
      namespace: shop
      dependsOn: [web]
      manifests:
        - apiVersion: v1
          kind: ConfigMap
          metadata: {name: settings}
          data: {cluster: "${{ cluster.name }}", domain: "${{ params.domain }}"}
"""


@pytest.fixture
def version_id(cli: Cli) -> int:
    """The profile `shop`, published as version 1."""
    return int(cli.json("profiles", "import", cli.file(SHOP))["profile"]["id"])


def render_api(cli: Cli, path: str, body: dict[str, Any], **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {cli.token}"}
    answer = httpx.post(
        f"{cli.server}{PROFILES}{path}", json=body, params=params, headers=headers, timeout=30
    )
    answer.raise_for_status()
    return answer


def objects(stream: str) -> dict[str, dict[str, Any]]:
    """The documents of a YAML stream by `Kind/name`."""
    found = [doc for doc in yamlio.load_all(stream) if isinstance(doc, dict)]
    return {f"{doc['kind']}/{doc['metadata']['name']}": doc for doc in found}


def test_render_a_version_in_table_json_and_yaml(cli: Cli, version_id: int) -> None:
    args = ("render", "--profile", str(version_id), "-p", "domain=shop.example.org")
    table = cli.ok(*args)
    assert f"using version 1 of profile {version_id} (its latest)" in table.stderr
    assert table.stdout.startswith("rendered 2 layers, ")
    for text in ("LAYER", "OBJECTS", "FILES", "web", "settings", "templates/deployment.yaml"):
        assert text in table.stdout
    body = {"parameters": [{"name": "domain", "value": "shop.example.org"}]}
    answer = render_api(cli, f"/{version_id}/versions/1/render", body)
    assert cli.json(*args) == answer.json()
    stream = cli.ok(*args, "--version", "1", "-o", "yaml").stdout
    assert stream == render_api(cli, f"/{version_id}/versions/1/render", body, format="yaml").text
    assert stream.count("\n---\n") >= 3
    rendered = objects(stream)
    deployment = next(doc for key, doc in rendered.items() if key.startswith("Deployment/"))
    assert deployment["metadata"]["namespace"] == "shop"
    assert rendered["ConfigMap/settings"]["data"]["domain"] == "shop.example.org"


def test_render_a_draft(cli: Cli) -> None:
    draft = cli.json("profiles", "import", cli.file(SHOP), "--as-draft")["id"]
    args = ("render", "--draft", str(draft), "-p", "domain=draft.example.org")
    assert "templates/service.yaml" in cli.ok(*args).stdout
    data = cli.json(*args)
    assert [layer["name"] for layer in data["layers"]] == ["web", "settings"]
    assert data["layers"][1]["files"] == {
        "manifests[0]": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n"
        "  cluster: ''\n  domain: draft.example.org\n"
    }
    as_yaml = objects(cli.ok(*args, "-o", "yaml").stdout)
    assert any(key.startswith("Deployment/") for key in as_yaml)
    assert as_yaml["ConfigMap/settings"]["data"]["domain"] == "draft.example.org"
    bad = cli("render", "--draft", str(draft), "--version", "1")
    assert bad.exit_code == 2 and "--version goes with --profile" in bad.stderr


def test_parameters_are_converted_to_their_types(cli: Cli, version_id: int) -> None:
    stream = cli.ok(
        "render",
        "--profile",
        str(version_id),
        "-p",
        "domain=shop.example.org",
        "-p",
        "replicas=3",
        "-o",
        "yaml",
    ).stdout
    deployment = next(doc for key, doc in objects(stream).items() if key.startswith("Deployment/"))
    assert deployment["spec"]["replicas"] == 3
    ingress = next(doc for key, doc in objects(stream).items() if key.startswith("Ingress/"))
    assert ingress["spec"]["rules"][0]["host"] == "shop.example.org"
    wrong = cli("render", "--profile", str(version_id), "-p", "domain=x", "-p", "replicas=many")
    assert wrong.exit_code == 1 and "parameters.replicas" in wrong.stderr


def test_a_missing_required_parameter_exits_1_naming_it(cli: Cli, version_id: int) -> None:
    for fmt in ("table", "yaml"):
        result = cli("render", "--profile", str(version_id), "-o", fmt)
        assert result.exit_code == 1 and result.stdout == ""
        assert "parameters.domain" in result.stderr


def test_cluster_values_and_facts(cli: Cli, version_id: int) -> None:
    values = cli.tmp_path / "values.yaml"
    values.write_text("web:\n  image: {tag: '9.9'}\n  replicaCount: 2\n")
    args = ("render", "--profile", str(version_id), "-p", "domain=shop.example.org")
    stream = cli.ok(
        *args, "--values", str(values), "--cluster", "eu-1", "--label", "tier=prod", "-o", "yaml"
    ).stdout
    rendered = objects(stream)
    deployment = next(doc for key, doc in rendered.items() if key.startswith("Deployment/"))
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:9.9"
    assert rendered["ConfigMap/settings"]["data"]["cluster"] == "eu-1"
    piped = cli.ok(*args, "--values", "-", "--kube-version", "1.29.0", "-o", "json", input="{}")
    assert piped.stdout and '"kubernetes_version": "1.29.0"' in piped.stdout
    values.write_text("nope: {replicaCount: 2}\n")
    unknown = cli(*args, "--values", str(values))
    assert unknown.exit_code == 1 and "  values.nope: " in unknown.stderr
    values.write_text("web: [1, 2]\n")
    malformed = cli(*args, "--values", str(values))
    assert malformed.exit_code == 1 and "is not a values file" in malformed.stderr
    assert "  web: Expected a mapping" in malformed.stderr


def test_effective_values_of_a_layer(cli: Cli, version_id: int) -> None:
    args = ("render", "--profile", str(version_id), "--layer", "web", "--effective-values")
    result = cli.ok(*args, "-p", "domain=shop.example.org")
    values_text, _, table = result.stdout.partition("\n\n")
    values = yamlio.load(values_text)
    assert values["ingress"] == {"enabled": True, "host": "shop.example.org"}
    assert values["image"]["repository"] == "nginx"  # a chart default
    for text in ("PATH", "LEVEL", "VALUE", "ingress.host", "profile", "webapp 1.0.0"):
        assert text in table
    data = cli.json(*args, "-p", "domain=shop.example.org")
    assert data["layer"] == "web" and data["chart"]["version"] == "1.0.0"
    assert {o["path"]: o["level"] for o in data["origins"]}["ingress.host"] == "profile"
    no_layer = cli("render", "--profile", str(version_id), "--effective-values")
    assert no_layer.exit_code == 2 and "--layer" in no_layer.stderr
    with_values = cli(*args, "--values", "-", input="{}")
    assert with_values.exit_code == 2 and "--values cannot be combined" in with_values.stderr
    unknown = cli(
        "render", "--profile", str(version_id), "--layer", "settings", "--effective-values"
    )
    assert unknown.exit_code == 1 and "No chart layer named 'settings'" in unknown.stderr


def test_usage_errors_exit_2(cli: Cli, version_id: int) -> None:
    for args in (
        (),
        ("--draft", "1", "--profile", str(version_id)),
        ("--profile", str(version_id), "-p", "domain"),
        ("--profile", str(version_id), "--label", "=x"),
        ("--profile", str(version_id), "--layer", "web"),
    ):
        result = cli("render", *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == "" and "Error: " in result.stderr
    assert "NAME=VALUE" in cli("render", "--profile", "1", "-p", "domain").stderr
    missing = cli("render", "--profile", str(version_id), "--values", str(cli.tmp_path / "no"))
    assert missing.exit_code == 2 and "Cannot read" in missing.stderr
    unknown = cli("render", "--profile", "999", "-p", "domain=x")
    assert unknown.exit_code == 1 and "Profile 999 does not exist" in unknown.stderr
