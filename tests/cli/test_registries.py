"""`lamina registries …` and `lamina packs …` against the live server and chart registries."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lamina.adapters import yamlio
from tests.cli.conftest import Cli
from tests.fixtures.pytest_plugin import REPO_PASSWORD, REPO_USERNAME

CHARTS = Path(__file__).parents[1] / "charts"


def synced_helm(cli: Cli, url: str, name: str = "charts") -> int:
    """A helm registry on `url`, synced; returns its ID."""
    created = cli.json("registries", "create", name, "--kind", "helm", "--url", url)
    cli.ok("registries", "sync", str(created["id"]))
    return int(created["id"])


def test_create_list_sync_and_delete_a_helm_registry(cli: Cli, chart_repo: Any) -> None:
    created = cli.ok("registries", "create", "charts", "--kind", "helm", "--url", chart_repo.url)
    ident = cli.json("registries", "list")["result"][0]["id"]
    assert created.stdout == f"created registry {ident} (charts)\n"
    assert f"lamina registries sync {ident}" in created.stderr
    table = cli.ok("registries", "list").stdout
    for text in ("ID", "KIND", "URL", "PASSWORD", "SYNCED", "charts", "helm", chart_repo.url):
        assert text in table
    assert "page 1 of 1 (total 1)" in table
    synced = cli.ok("registries", "sync", str(ident))
    count = cli.json("registries", "sync", str(ident))["packs_count"]
    assert count > 1
    assert synced.stdout == f"synced registry {ident} (charts): {count} packs\n"
    assert f"syncing registry {ident}" in synced.stderr
    assert cli.json("registries", "list")["result"][0]["synced_at"] is not None
    refused = cli("registries", "delete", str(ident), input="n\n")
    assert refused.exit_code == 1 and "Delete registry" in refused.stderr
    assert cli.ok("registries", "delete", str(ident), "--yes").stdout == (
        f"deleted registry {ident}\n"
    )
    assert cli.json("registries", "list")["total_count"] == 0
    gone = cli("registries", "sync", str(ident))
    assert gone.exit_code == 1 and f"Registry {ident} does not exist" in gone.stderr


def test_packs_list_versions_and_values(cli: Cli, chart_repo: Any) -> None:
    synced_helm(cli, chart_repo.url)
    table = cli.ok("packs", "list").stdout
    for text in ("REGISTRY", "LATEST", "APP VERSION", "webapp", "umbrella", "1.1.0"):
        assert text in table
    found = cli.json("packs", "list", "--search", "webapp", "--registry", "charts")
    assert [(p["name"], p["latest_version"]) for p in found["result"]] == [("webapp", "1.1.0")]
    every = cli.json("packs", "list", "--page-size", "1", "--all")
    assert len(every["result"]) == every["total_count"] > 1
    versions = cli.ok("packs", "versions", "charts", "webapp").stdout
    assert "1.1.0" in versions and "1.0.0" in versions and "2.0.0-rc.1" not in versions
    assert "sha256:" in versions and "…" in versions
    pre = cli.json("packs", "versions", "charts", "webapp", "--pre")
    assert [v["version"] for v in pre] == ["2.0.0-rc.1", "1.1.0", "1.0.0"]
    values = cli.ok("packs", "values", "charts", "webapp", "1.0.0").stdout
    assert yamlio.load(values) == yamlio.load((CHARTS / "webapp" / "values.yaml").read_text())
    schema = yamlio.load(cli.ok("packs", "values", "charts", "webapp", "1.0.0", "--schema").stdout)
    assert schema["required"] == ["replicaCount", "image"]
    whole = cli.json("packs", "values", "charts", "webapp", "1.0.0")
    assert whole["values"] == yamlio.load(values) and whole["schema"] == schema
    missing = cli("packs", "versions", "charts", "nope")
    assert missing.exit_code == 1 and "No chart 'nope' in registry 'charts'" in missing.stderr


def test_password_comes_from_stdin_or_the_environment_and_is_never_printed(
    cli: Cli, private_chart_repo: Any
) -> None:
    args = ("--kind", "helm", "--url", private_chart_repo.url, "--username", REPO_USERNAME)
    piped = cli.ok("registries", "create", "piped", *args, "--password-stdin", input=REPO_PASSWORD)
    from_env = cli(
        "registries", "create", "env", *args, "-o", "json", LAMINA_REGISTRY_PASSWORD=REPO_PASSWORD
    )
    assert from_env.exit_code == 0, from_env.output
    listed = cli.ok("registries", "list", "-o", "yaml")
    for result in (piped, from_env, listed):
        assert REPO_PASSWORD not in result.stdout + result.stderr
    assert "with a password" in piped.stdout
    registries = yamlio.load(listed.stdout)["result"]
    assert [(r["name"], r["has_password"]) for r in registries] == [("env", True), ("piped", True)]
    for registry in registries:  # the private repository accepts the stored password
        assert cli.json("registries", "sync", str(registry["id"]))["packs_count"] > 1
    anonymous = cli("registries", "create", "anon", *args[:4], LAMINA_REGISTRY_PASSWORD="pw")
    assert anonymous.exit_code == 0 and "with a password" not in anonymous.stdout
    no_user = cli("registries", "create", "y", *args[:4], "--password-stdin", input="pw\n")
    assert no_user.exit_code == 2 and "--password-stdin needs --username" in no_user.stderr
    as_option = cli("registries", "create", "z", *args, "--password", REPO_PASSWORD)
    assert as_option.exit_code == 2 and REPO_PASSWORD not in as_option.output


@pytest.mark.parametrize("kind", ["oci", "local"])
def test_invalid_registries_exit_1_naming_the_field(cli: Cli, kind: str) -> None:
    url = "oci://127.0.0.1:1/charts" if kind == "oci" else "/etc"
    result = cli("registries", "create", "bad", "--kind", kind, "--url", url)
    assert result.exit_code == 1 and result.stdout == ""
    assert "Error: Invalid input: The registry is invalid" in result.stderr
    assert ("  charts: " if kind == "oci" else "  url: ") in result.stderr


def test_oci_registry_indexes_the_named_charts(
    cli: Cli, oci_registry: Any, chart_archives: dict[str, Path]
) -> None:
    oci_registry.push(chart_archives["webapp-1.0.0"])
    created = cli.json(
        "registries",
        "create",
        "oci",
        "--kind",
        "oci",
        "--url",
        oci_registry.url,
        "--chart",
        "webapp",
        "--chart",
        "absent",
    )
    assert created["charts"] == ["webapp", "absent"]
    # The session's registry may hold more webapp tags pushed by other tests.
    synced = cli.ok("registries", "sync", str(created["id"])).stdout
    assert re.search(r": \d+ packs?\n$", synced)
    versions = cli.json("packs", "versions", "oci", "webapp")
    assert "1.0.0" in [v["version"] for v in versions]
    assert "webapp, absent" in cli.ok("registries", "list").stdout
    values = yamlio.load(cli.ok("packs", "values", "oci", "webapp", "1.0.0").stdout)
    assert values["image"]["repository"] == "nginx"
