"""Registries and packs through real HTTP: register, sync, browse charts, versions and values.

Every registry here is a live one on 127.0.0.1 (session fixtures of tests/fixtures).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lamina.adapters import yamlio
from lamina.adapters.helm import package_chart
from tests.api.test_render import DRAFTS, chart_layer, draft_of, ok, render_draft, stack
from tests.fixtures.chartrepo import ChartRepoServer
from tests.fixtures.charts import CHART_NAMES, CHARTS_DIR, local_chart_names
from tests.fixtures.pytest_plugin import REPO_PASSWORD, REPO_USERNAME

REGISTRIES = "/api/v1/org/registries"
PACKS = "/api/v1/org/packs"
PROBLEM = "application/problem+json"
# Every archive the test chart repository serves (tests/fixtures/charts.py).
REPO_PACKS = 7  # webapp 1.0.0, 1.1.0, 2.0.0-rc.1; umbrella, modern, broken, crd-user 1.0.0


def register(http: httpx.Client, name: str, kind: str, url: str, **extra: Any) -> httpx.Response:
    return http.post(REGISTRIES, json={"name": name, "kind": kind, "url": url, **extra})


def registered(http: httpx.Client, name: str, kind: str, url: str, **extra: Any) -> dict[str, Any]:
    response = register(http, name, kind, url, **extra)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def sync(http: httpx.Client, registry: dict[str, Any]) -> httpx.Response:
    return http.post(f"{REGISTRIES}/{registry['id']}/sync")


def synced(http: httpx.Client, name: str, kind: str, url: str, **extra: Any) -> dict[str, Any]:
    """Register and sync a registry; the sync answer."""
    response = sync(http, registered(http, name, kind, url, **extra))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def packs(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    response = http.get(PACKS, params=params)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["result"]
    return result


def issues(response: httpx.Response) -> set[tuple[str, str]]:
    assert response.headers["content-type"] == PROBLEM, response.text
    return {(e["path"], e["code"]) for e in response.json()["errors"]}


@pytest.fixture
def as_org(
    server_url: str, make_token: Callable[..., str]
) -> Iterator[Callable[..., httpx.Client]]:
    opened: list[httpx.Client] = []

    def make(org: str, role: str = "admin") -> httpx.Client:
        http = httpx.Client(
            base_url=server_url,
            headers={"Authorization": f"Bearer {make_token(org, role)}"},
            timeout=30,
        )
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()


@pytest.fixture(scope="module")
def oci_webapp(oci_registry: Any, chart_archives: dict[str, Path]) -> Any:
    """The OCI registry holding webapp 1.0.0 and 1.1.0 (pushed once per module)."""
    for key in ("webapp-1.0.0", "webapp-1.1.0"):
        oci_registry.push(chart_archives[key])
    return oci_registry


# --- helm repositories ------------------------------------------------------------------


def test_helm_registry_syncs_and_lists_newest_stable_packs(
    client: httpx.Client, chart_repo: Any
) -> None:
    created = registered(client, "stable", "helm", chart_repo.url + "/")
    assert created["kind"] == "helm" and created["url"] == chart_repo.url  # trailing / dropped
    assert created["has_password"] is False and created["synced_at"] is None
    answer = sync(client, created)
    assert answer.status_code == 200, answer.text
    assert answer.json()["packs_count"] == REPO_PACKS
    assert answer.json()["registry"]["synced_at"] is not None
    assert answer.json()["registry"]["sync_error"] is None

    listed = client.get(PACKS).json()
    assert listed["total_count"] == 5
    rows = {row["name"]: row for row in listed["result"]}
    assert sorted(rows) == ["broken", "crd-user", "modern", "umbrella", "webapp"]
    assert rows["webapp"] == {
        "name": "webapp",
        "registry": "stable",
        "latest_version": "1.1.0",  # the newest stable, not 2.0.0-rc.1
        "description": "A small web application for the Lamina test suite",
        "app_version": "1.25.0",
    }
    assert rows["umbrella"]["app_version"] == "3.1.0"

    assert [row["name"] for row in packs(client, search="WEB")] == ["webapp"]
    assert [row["name"] for row in packs(client, search="subchart")] == ["umbrella"]
    assert packs(client, search="%") == []
    page = client.get(PACKS, params={"page": 2, "page_size": 2}).json()
    assert [row["name"] for row in page["result"]] == ["modern", "umbrella"]
    assert page["total_count"] == 5


def test_registry_filter_separates_registries(client: httpx.Client, chart_repo: Any) -> None:
    synced(client, "first", "helm", chart_repo.url)
    synced(client, "second", "local", str(CHARTS_DIR))
    served = len(CHART_NAMES)
    assert client.get(PACKS).json()["total_count"] == served + len(local_chart_names())
    assert {row["registry"] for row in packs(client, registry="second")} == {"second"}
    webapp = packs(client, registry="first", search="webapp")
    assert [(r["registry"], r["latest_version"]) for r in webapp] == [("first", "1.1.0")]
    assert packs(client, registry="nowhere") == []


def test_versions_newest_first_and_prereleases_on_request(
    client: httpx.Client, chart_repo: Any
) -> None:
    synced(client, "stable", "helm", chart_repo.url)
    stable = client.get(f"{PACKS}/stable/webapp")
    assert stable.status_code == 200, stable.text
    assert [v["version"] for v in stable.json()] == ["1.1.0", "1.0.0"]
    first = stable.json()[0]
    assert first["name"] == "webapp" and first["app_version"] == "1.25.0"
    assert first["digest"].startswith("sha256:") and first["deprecated"] is False
    every = client.get(f"{PACKS}/stable/webapp", params={"include_prerelease": "true"}).json()
    assert [v["version"] for v in every] == ["2.0.0-rc.1", "1.1.0", "1.0.0"]
    assert client.get(f"{PACKS}/stable/nothing").status_code == 404
    assert client.get(f"{PACKS}/elsewhere/webapp").status_code == 404


def test_values_are_complete_defaults_with_the_schema(
    client: httpx.Client, chart_repo: Any
) -> None:
    synced(client, "stable", "helm", chart_repo.url)
    webapp = client.get(f"{PACKS}/stable/webapp/versions/1.1.0/values")
    assert webapp.status_code == 200, webapp.text
    body = webapp.json()
    assert (body["name"], body["version"]) == ("webapp", "1.1.0")
    assert body["values"] == yamlio.load((CHARTS_DIR / "webapp" / "values.yaml").read_text())
    schema = json.loads((CHARTS_DIR / "webapp" / "values.schema.json").read_text())
    assert body["schema"] == schema

    umbrella = client.get(f"{PACKS}/stable/umbrella/versions/1.0.0/values").json()
    assert umbrella["schema"] is None
    assert umbrella["values"]["app"] == {"name": "shop", "port": 8080}
    # The subchart's own defaults under its key, the parent's overrides winning, and
    # `global` copied in (as Helm coalesces them).
    assert umbrella["values"]["redis-lite"] == {
        "enabled": True,
        "replicas": 2,
        "image": "redis:7.2-alpine",
        "port": 6379,
        "persistence": {"enabled": True, "size": "2Gi"},
        "global": {"environment": "test"},
    }
    modern = client.get(f"{PACKS}/stable/modern/versions/1.0.0/values").json()
    assert modern == {
        "name": "modern",
        "version": "1.0.0",
        "values": {"message": "hello"},
        "schema": None,
    }

    assert client.get(f"{PACKS}/stable/webapp/versions/9.9.9/values").status_code == 404
    prerelease = client.get(f"{PACKS}/stable/webapp/versions/2.0.0-rc.1/values")
    assert prerelease.status_code == 200 and prerelease.json()["schema"] == schema


@pytest.fixture(scope="module")
def many_versions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartRepoServer]:
    """A repository of webapp versions that sort differently as text and as semver, a
    prerelease and a deprecated newest version."""
    root = tmp_path_factory.mktemp("many-versions")
    deprecated = root / "deprecated" / "webapp"
    shutil.copytree(CHARTS_DIR / "webapp", deprecated)
    with (deprecated / "Chart.yaml").open("a") as chart_yaml:
        chart_yaml.write("deprecated: true\n")
    archives = []
    for version, source in [
        ("0.9.0", CHARTS_DIR / "webapp"),
        ("1.2.0", CHARTS_DIR / "webapp"),
        ("1.9.0", CHARTS_DIR / "webapp"),
        ("1.10.0", CHARTS_DIR / "webapp"),
        ("1.10.0-beta.1", CHARTS_DIR / "webapp"),
        ("2.0.0", deprecated),
    ]:
        archive = root / f"webapp-{version}.tgz"
        archive.write_bytes(package_chart(source, version=version))
        archives.append(archive)
    with ChartRepoServer(archives) as served:
        yield served


def test_versions_sort_by_semver_and_hide_deprecated(
    client: httpx.Client, many_versions: ChartRepoServer
) -> None:
    assert synced(client, "many", "helm", many_versions.url)["packs_count"] == 6
    [row] = packs(client)
    assert row["latest_version"] == "1.10.0"  # not 1.9.0 (text order), not deprecated 2.0.0
    url = f"{PACKS}/many/webapp"
    assert [v["version"] for v in client.get(url).json()] == ["1.10.0", "1.9.0", "1.2.0", "0.9.0"]
    pre = client.get(url, params={"include_prerelease": "true"}).json()
    assert [v["version"] for v in pre][:3] == ["1.10.0", "1.10.0-beta.1", "1.9.0"]
    every = client.get(url, params={"include_deprecated": "true"}).json()
    assert [(v["version"], v["deprecated"]) for v in every][:2] == [
        ("2.0.0", True),
        ("1.10.0", False),
    ]


# --- credentials ----------------------------------------------------------------------------


def test_private_repository_password_is_never_returned(
    client: httpx.Client, private_chart_repo: Any
) -> None:
    created = register(
        client,
        "private",
        "helm",
        private_chart_repo.url,
        username=REPO_USERNAME,
        password=REPO_PASSWORD,
    )
    assert created.status_code == 201, created.text
    assert REPO_PASSWORD not in created.text and '"password"' not in created.text
    assert created.json()["has_password"] is True
    assert created.json()["username"] == REPO_USERNAME

    answer = sync(client, created.json())
    assert answer.status_code == 200, answer.text
    assert answer.json()["packs_count"] == REPO_PACKS
    assert REPO_PASSWORD not in answer.text
    # Archives (at URLs relative to the repository) are fetched with the credentials too.
    values = client.get(f"{PACKS}/private/webapp/versions/1.0.0/values")
    assert values.status_code == 200, values.text
    assert values.json()["values"]["replicaCount"] == 1

    listed = client.get(REGISTRIES)
    assert listed.status_code == 200
    assert REPO_PASSWORD not in listed.text
    assert [r["has_password"] for r in listed.json()["result"]] == [True]
    assert "password" not in listed.json()["result"][0]


def test_wrong_password_records_the_sync_error_without_the_password(
    client: httpx.Client, private_chart_repo: Any
) -> None:
    wrong = "Wr0ng-Passw0rd-xyz"
    registry = registered(
        client, "private", "helm", private_chart_repo.url, username=REPO_USERNAME, password=wrong
    )
    answer = sync(client, registry)
    assert answer.status_code == 502, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert wrong not in answer.text and REPO_PASSWORD not in answer.text
    assert "401" in answer.text or "nauthori" in answer.text

    stored = client.get(REGISTRIES).json()["result"][0]
    assert stored["sync_error"] and wrong not in stored["sync_error"]
    assert stored["synced_at"] is not None
    assert packs(client) == []

    anonymous = registered(client, "no-creds", "helm", private_chart_repo.url)
    assert sync(client, anonymous).status_code == 502


# --- OCI and local --------------------------------------------------------------------------


def test_oci_registry_lists_the_tags_of_its_charts(client: httpx.Client, oci_webapp: Any) -> None:
    created = register(client, "oci", "oci", oci_webapp.url, charts=["webapp", "absent"])
    assert created.status_code == 201, created.text
    assert created.json()["charts"] == ["webapp", "absent"]
    answer = sync(client, created.json())
    assert answer.status_code == 200, answer.text
    assert answer.json()["packs_count"] == 2  # a chart the registry does not know has none
    versions = client.get(f"{PACKS}/oci/webapp").json()
    assert [v["version"] for v in versions] == ["1.1.0", "1.0.0"]
    assert [(r["name"], r["latest_version"]) for r in packs(client)] == [("webapp", "1.1.0")]
    # Tags carry no metadata: the newest version's Chart.yaml fills the pack list.
    [listed] = packs(client)
    assert listed["description"] and listed["app_version"]
    assert versions[0]["digest"].startswith("sha256:")
    values = client.get(f"{PACKS}/oci/webapp/versions/1.0.0/values")
    assert values.status_code == 200, values.text
    assert values.json()["values"]["image"]["repository"] == "nginx"

    # Chart layers may name the registry or the oci:// reference itself.
    for repository in ("oci", oci_webapp.url):
        doc = stack("from-oci", chart_layer("web", repository, version="^1.0"))
        draft_id = draft_of(client, doc)
        answer = ok(render_draft(client, draft_id))
        assert answer["layers"][0]["objects_count"] == 3
        effective = client.get(f"{DRAFTS}/{draft_id}/effective-values", params={"layer": "web"})
        assert ok(effective)["chart"]["version"] == "1.1.0"


def test_local_registry_must_lie_under_the_local_roots(client: httpx.Client) -> None:
    # The suite shares the temp folder as a root (its Git remotes live there): paths
    # outside it and the test charts are refused. Per-org roots: tests/api/test_targets.py.
    # (`..` enough to climb out of any checkout, wherever it lies: the path ends at /etc)
    climb = "/..".join([str(CHARTS_DIR)] + [""] * (len(CHARTS_DIR.parts) + 1))
    for url in ("/usr/share", "/etc", f"{climb}/etc"):
        refused = register(client, "outside", "local", url)
        assert refused.status_code == 422, (url, refused.text)
        assert issues(refused) == {("url", "target_not_allowed")}
    missing = register(client, "missing", "local", str(CHARTS_DIR / "no-such-dir"))
    assert missing.status_code == 422
    assert client.get(REGISTRIES).json()["total_count"] == 0

    answer = synced(client, "local", "local", str(CHARTS_DIR))
    # every chart directory at its own version
    assert answer["packs_count"] == len(local_chart_names())
    assert answer["registry"]["kind"] == "local"
    assert [v["version"] for v in client.get(f"{PACKS}/local/webapp").json()] == ["1.0.0"]
    umbrella = client.get(f"{PACKS}/local/umbrella/versions/1.0.0/values").json()
    assert umbrella["values"]["redis-lite"]["port"] == 6379


# --- validation, deletion, isolation --------------------------------------------------------


def test_invalid_registries_are_refused_with_paths(client: httpx.Client, chart_repo: Any) -> None:
    bad = register(client, "Bad_Name", "helm", "ftp://127.0.0.1/charts")
    assert bad.status_code == 422
    assert issues(bad) == {("name", "invalid_name"), ("url", "invalid_value")}
    no_scheme = register(client, "plain", "helm", "127.0.0.1/charts")
    assert issues(no_scheme) == {("url", "invalid_value")}
    oci_http = register(client, "oci", "oci", chart_repo.url)
    assert issues(oci_http) == {("url", "invalid_value"), ("charts", "missing_field")}
    no_charts = register(client, "oci", "oci", "oci://127.0.0.1:5000/charts")
    assert issues(no_charts) == {("charts", "missing_field")}
    kind = register(client, "svn", "svn", "https://example.invalid")
    assert kind.status_code == 422 and {p for p, _ in issues(kind)} == {"kind"}
    extra = client.post(
        REGISTRIES, json={"name": "x", "kind": "helm", "url": "https://x", "token": 1}
    )
    assert extra.status_code == 422 and {p for p, _ in issues(extra)} == {"token"}
    assert client.get(REGISTRIES).json()["total_count"] == 0

    registered(client, "taken", "helm", chart_repo.url)
    again = register(client, "taken", "helm", chart_repo.url)
    assert issues(again) == {("name", "duplicate_name")}


def test_delete_removes_the_registry_and_its_packs(client: httpx.Client, chart_repo: Any) -> None:
    registry = synced(client, "stable", "helm", chart_repo.url)["registry"]
    assert client.delete(f"{REGISTRIES}/{registry['id']}").status_code == 204
    assert client.get(REGISTRIES).json()["total_count"] == 0
    assert packs(client) == []
    assert client.get(f"{PACKS}/stable/webapp").status_code == 404
    assert client.delete(f"{REGISTRIES}/{registry['id']}").status_code == 404
    assert client.post(f"{REGISTRIES}/{registry['id']}/sync").status_code == 404


def test_other_orgs_and_viewers(
    client: httpx.Client, chart_repo: Any, as_org: Callable[..., httpx.Client]
) -> None:
    registry = synced(client, "stable", "helm", chart_repo.url)["registry"]
    other = as_org("globex")
    assert other.get(REGISTRIES).json()["total_count"] == 0
    assert other.post(f"{REGISTRIES}/{registry['id']}/sync").status_code == 404
    assert other.delete(f"{REGISTRIES}/{registry['id']}").status_code == 404
    assert other.get(PACKS).json()["total_count"] == 0
    assert other.get(f"{PACKS}/stable/webapp").status_code == 404
    assert other.get(f"{PACKS}/stable/webapp/versions/1.0.0/values").status_code == 404
    # A chart layer of another org cannot name the registry either.
    draft_id = draft_of(other, stack("theirs", chart_layer("web", "stable")))
    refused = render_draft(other, draft_id)
    assert refused.status_code == 422
    assert [(e["path"], e["code"]) for e in refused.json()["errors"]] == [
        ("spec.layers[0].chart.repository", "unknown_registry")
    ]
    # The same name is free in another org.
    assert register(other, "stable", "helm", chart_repo.url).status_code == 201

    viewer = as_org("acme", "viewer")
    assert viewer.get(REGISTRIES).json()["total_count"] == 1
    assert viewer.get(PACKS).json()["total_count"] == 5
    assert register(viewer, "mine", "helm", chart_repo.url).status_code == 403
    assert viewer.post(f"{REGISTRIES}/{registry['id']}/sync").status_code == 403
    assert viewer.delete(f"{REGISTRIES}/{registry['id']}").status_code == 403
    assert httpx.get(f"{client.base_url}{REGISTRIES}").status_code == 401
