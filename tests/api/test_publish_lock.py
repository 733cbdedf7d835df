"""Publishing pins every chart (the version's lock), and refuses what does not check out.

The lock never shows in the version's document; it shows in what a version renders and in
the `chart` of its effective values. Tests that change a repository's content serve their
own copy of the test chart repository (`repo`), so the session-wide one stays as it is.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import helm_python
import httpx
import pytest

from lamina.adapters import yamlio
from lamina.adapters.helm import HelmEngine, package_chart
from lamina.config import Services, build_services
from tests.api.test_journey import DRAFTS, PROBLEM, PROFILES, import_doc
from tests.api.test_render import (
    chart_layer,
    config_map,
    deployment,
    draft_of,
    find,
    infra_layers,
    layer_objects,
    manifests_layer,
    ok,
    render_draft,
    render_version,
    stack,
)
from tests.conftest import LiveServer
from tests.fixtures.chartrepo import ChartRepoServer
from tests.fixtures.charts import CHARTS_DIR

REGISTRIES = "/api/v1/org/registries"
VERSION_LABEL = "app.kubernetes.io/version"


@pytest.fixture
def repo(chart_archives: dict[str, Path]) -> Iterator[ChartRepoServer]:
    """A chart repository of this test only, serving every test archive."""
    with ChartRepoServer(chart_archives.values()) as served:
        yield served


def reindex(repo: ChartRepoServer) -> None:
    """Regenerate the repository's index.yaml from the archives it now holds."""
    helm_python.repo_index_generate(repo.directory, base_url=repo.url)


def webapp_archive(tmp_path: Path, version: str, app_version: str) -> bytes:
    """webapp packaged at `version`, its appVersion (the `app.kubernetes.io/version` label
    of every object) changed so that renders tell the versions apart."""
    copy = tmp_path / f"webapp-{version}"
    shutil.copytree(CHARTS_DIR / "webapp", copy)
    chart_yaml = copy / "Chart.yaml"
    chart_yaml.write_text(chart_yaml.read_text().replace('"1.25.0"', f'"{app_version}"'))
    return package_chart(copy, version=version)


def web_doc(repository: str, version: str, name: str = "pinned") -> Any:
    return stack(name, chart_layer("web", repository, version=version, values={"replicaCount": 2}))


def app_versions(answer: dict[str, Any]) -> set[str]:
    """The `app.kubernetes.io/version` labels of the web layer's objects."""
    objects = layer_objects(answer)["web"]
    return {o["metadata"]["labels"][VERSION_LABEL] for o in objects if "labels" in o["metadata"]}


def locked(http: httpx.Client, profile_id: int, number: int) -> dict[str, Any]:
    """The lock entry of the `web` layer of a version, as its effective values show it."""
    url = f"{PROFILES}/{profile_id}/versions/{number}/effective-values"
    chart: dict[str, Any] = ok(http.get(url, params={"layer": "web"}))["chart"]
    return chart


def publish(http: httpx.Client, doc: Any) -> tuple[int, int]:
    response = import_doc(http, doc)
    assert response.status_code == 201, response.text
    return response.json()["profile"]["id"], response.json()["version"]["version"]


def digest_of(data: bytes) -> str:
    return HelmEngine().digest(data)


# --- the lock ----------------------------------------------------------------------------------


def test_publish_pins_the_newest_stable_and_later_charts_do_not_move_it(
    client: httpx.Client, repo: ChartRepoServer, chart_archives: dict[str, Path], tmp_path: Path
) -> None:
    registry = client.post(REGISTRIES, json={"name": "charts", "kind": "helm", "url": repo.url})
    sync_url = f"{REGISTRIES}/{registry.json()['id']}/sync"
    assert ok(client.post(sync_url))["packs_count"] == 7
    doc = web_doc("charts", "^1.0")
    profile_id, number = publish(client, doc)

    # The version's document is as written: the range, no lock.
    detail = ok(client.get(f"{PROFILES}/{profile_id}/versions/{number}"))
    assert detail["spec"]["layers"] == doc["spec"]["layers"]
    exported = yamlio.load(client.get(f"{PROFILES}/{profile_id}/versions/1/iac-export").text)
    assert exported["spec"] == doc["spec"]
    # The lock: the newest stable version (not 2.0.0-rc.1), with the archive's digest.
    assert locked(client, profile_id, number) == {
        "repository": "charts",
        "name": "webapp",
        "version": "1.1.0",
        "digest": digest_of(chart_archives["webapp-1.1.0"].read_bytes()),
    }
    assert app_versions(ok(render_version(client, profile_id, number))) == {"1.25.0"}

    newer = webapp_archive(tmp_path, "1.2.0", "1.26.0")
    repo.put("webapp-1.2.0.tgz", newer)
    reindex(repo)
    assert ok(client.post(sync_url))["packs_count"] == 8

    created = client.post(DRAFTS, json={"profile_id": profile_id})
    assert created.status_code == 201, created.text
    draft = created.json()
    assert app_versions(ok(render_draft(client, draft["id"]))) == {"1.26.0"}
    effective = client.get(f"{DRAFTS}/{draft['id']}/effective-values", params={"layer": "web"})
    assert ok(effective)["chart"]["version"] == "1.2.0"
    # The published version still renders its pinned chart.
    assert app_versions(ok(render_version(client, profile_id, number))) == {"1.25.0"}
    assert locked(client, profile_id, number)["version"] == "1.1.0"

    second = client.post(f"{DRAFTS}/{draft['id']}/publish")
    assert second.status_code == 201, second.text
    assert second.json()["version"]["version"] == 2
    assert locked(client, profile_id, 2)["digest"] == digest_of(newer)
    assert app_versions(ok(render_version(client, profile_id, 2))) == {"1.26.0"}
    assert app_versions(ok(render_version(client, profile_id, 1))) == {"1.25.0"}


def restarted(services: Services, **settings: Any) -> Services:
    """The services of a new server process over the same database (same settings unless
    `settings` changes some): nothing in memory, chart archives only from the blob store."""
    return build_services(replace(services.settings, **settings), migrate=False)


def test_the_lock_digest_protects_a_version_when_the_repository_changes(
    client: httpx.Client,
    services: Services,
    repo: ChartRepoServer,
    tmp_path: Path,
) -> None:
    profile_id, number = publish(client, web_doc(repo.url, "1.1.0"))
    before = ok(render_version(client, profile_id, number))
    pinned = locked(client, profile_id, number)

    (repo.directory / "webapp-1.1.0.tgz").unlink()
    reindex(repo)
    headers = dict(client.headers)
    # A restarted server has only its blob store (archives by digest) to render from.
    fresh = restarted(services)
    try:
        with LiveServer(fresh) as url, httpx.Client(base_url=url, headers=headers) as http:
            assert ok(render_version(http, profile_id, number)) == before
            assert locked(http, profile_id, number) == pinned
            # A draft resolves again: 1.1.0 is gone from the repository.
            draft_id = draft_of(http, web_doc(repo.url, "1.1.0", name="again"))
            refused = render_draft(http, draft_id)
            assert refused.status_code == 422, refused.text
            assert {e["code"] for e in refused.json()["errors"]} == {"chart_not_found"}
    finally:
        fresh.store.dispose()

    # Another archive under the pinned version and no blob store: the digest refuses it.
    repo.put("webapp-1.1.0.tgz", webapp_archive(tmp_path, "1.1.0", "6.6.6"))
    reindex(repo)
    empty = restarted(services, data_dir=tmp_path / "empty-data")
    try:
        with LiveServer(empty) as url, httpx.Client(base_url=url, headers=headers) as http:
            tampered = render_version(http, profile_id, number)
            assert tampered.status_code == 422, tampered.text
            assert tampered.headers["content-type"] == PROBLEM
            codes = {e["code"] for e in tampered.json()["errors"]}
            assert codes == {"chart_digest_mismatch"}
            assert "6.6.6" not in tampered.text
    finally:
        empty.store.dispose()


# --- refusals ----------------------------------------------------------------------------------


def widget(name: str) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}}


def refusal_cases(repo: str) -> dict[str, tuple[Any, set[tuple[str, str]]]]:
    """name -> (document, the (path, code) errors validate and publish report)."""
    bad_values = {"replicaCount": "many"}
    return {
        "chart_not_found": (
            stack("refused", chart_layer("web", repo, version="9.9.9")),
            {("spec.layers[0].chart.version", "chart_not_found")},
        ),
        "unknown_registry": (
            stack("refused", chart_layer("web", "nowhere")),
            {("spec.layers[0].chart.repository", "unknown_registry")},
        ),
        "registry_unavailable": (
            stack("refused", chart_layer("web", "http://127.0.0.1:9/charts")),
            {("spec.layers[0].chart.repository", "registry_unavailable")},
        ),
        "values_schema": (
            stack("refused", chart_layer("web", repo, values=bad_values)),
            {("spec.layers[0]", "values_schema|invalid_values")},
        ),
        "kube_version_incompatible": (
            stack(
                "refused", *infra_layers("1.27.3"), chart_layer("new", repo, "modern"), kind="infra"
            ),
            {("spec.layers[4].chart", "kube_version_incompatible")},
        ),
        "invalid_object": (
            stack("refused", manifests_layer("apps", deployment("api", replicas="three"))),
            {("apps", "invalid_object")},
        ),
        "duplicate_object": (
            stack(
                "refused",
                manifests_layer("one", config_map("shared", a="1")),
                manifests_layer("two", config_map("shared", a="2")),
            ),
            {("two", "duplicate_object")},
        ),
        "render_failed": (
            stack("refused", chart_layer("bad", repo, "broken")),
            {("spec.layers[0]", "render_failed")},
        ),
    }


def matches(found: list[dict[str, Any]], expected: set[tuple[str, str]]) -> bool:
    """Whether every expected (path prefix, code|code) has an error, and no other error."""

    def fits(error: dict[str, Any], want: tuple[str, str]) -> bool:
        return error["path"].startswith(want[0]) and error["code"] in want[1].split("|")

    return all(any(fits(e, w) for w in expected) for e in found) and all(
        any(fits(e, w) for e in found) for w in expected
    )


@pytest.mark.parametrize(
    "case",
    [
        "chart_not_found",
        "unknown_registry",
        "registry_unavailable",
        "values_schema",
        "kube_version_incompatible",
        "invalid_object",
        "duplicate_object",
        "render_failed",
    ],
)
def test_validate_and_publish_refuse_and_store_nothing(
    client: httpx.Client, chart_repo: Any, case: str
) -> None:
    doc, expected = refusal_cases(chart_repo.url)[case]
    draft_id = draft_of(client, doc)
    report = ok(client.post(f"{DRAFTS}/{draft_id}/validate"))
    assert report["valid"] is False
    assert matches(report["errors"], expected), report["errors"]

    refused = client.post(f"{DRAFTS}/{draft_id}/publish")
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert matches(refused.json()["errors"], expected), refused.text
    imported = import_doc(client, doc)
    assert imported.status_code == 422, imported.text
    assert matches(imported.json()["errors"], expected), imported.text

    assert client.get(PROFILES).json()["total_count"] == 0
    assert client.get(f"{DRAFTS}/{draft_id}").status_code == 200  # the draft stays


def test_refused_publish_of_a_next_version_leaves_the_profile_as_it_was(
    client: httpx.Client, chart_repo: Any
) -> None:
    profile_id, _ = publish(client, web_doc(chart_repo.url, "1.0.0"))
    before = ok(client.get(f"{PROFILES}/{profile_id}"))
    refused = import_doc(client, web_doc(chart_repo.url, "9.9.9"))
    assert refused.status_code == 422
    assert ok(client.get(f"{PROFILES}/{profile_id}")) == before
    assert client.get(f"{PROFILES}/{profile_id}/versions/2").status_code == 404


def test_unknown_kinds_only_warn_and_publish(client: httpx.Client, chart_repo: Any) -> None:
    doc = stack(
        "custom",
        chart_layer("widgets", chart_repo.url, "crd-user"),
        manifests_layer("more", widget("extra")),
    )
    draft_id = draft_of(client, doc)
    report = ok(client.post(f"{DRAFTS}/{draft_id}/validate"))
    assert report["valid"] is True and report["errors"] == []
    assert sorted((w["path"], w["code"]) for w in report["warnings"]) == [
        ("more", "unknown_kind"),
        ("widgets", "unknown_kind"),
    ]
    assert any("Widget" in w["message"] for w in report["warnings"])
    published = client.post(f"{DRAFTS}/{draft_id}/publish")
    assert published.status_code == 201, published.text
    profile_id, number = published.json()["profile"]["id"], published.json()["version"]["version"]
    objects = layer_objects(ok(render_version(client, profile_id, number)))
    assert find(objects["widgets"], "Widget")["metadata"]["name"] == "widgets-widget"
    assert find(objects["widgets"], "Widget")["spec"] == {"size": 3, "colour": "blue"}


def test_an_archive_that_no_longer_matches_the_index_is_refused(
    client: httpx.Client, repo: ChartRepoServer, tmp_path: Path
) -> None:
    # Same name and version, other bytes, and an index still stating the old digest.
    repo.put("webapp-1.0.0.tgz", webapp_archive(tmp_path, "1.0.0", "9.9.9"))
    draft_id = draft_of(client, web_doc(repo.url, "1.0.0"))
    refused = render_draft(client, draft_id)
    assert refused.status_code == 422, refused.text
    assert {e["code"] for e in refused.json()["errors"]} == {"chart_digest_mismatch"}
    report = ok(client.post(f"{DRAFTS}/{draft_id}/validate"))
    assert [(e["path"], e["code"]) for e in report["errors"]] == [
        ("spec.layers[0].chart", "chart_digest_mismatch")
    ]
    assert client.post(f"{DRAFTS}/{draft_id}/publish").status_code == 422
    assert client.get(PROFILES).json()["total_count"] == 0


def test_render_errors_of_a_chart_archive_name_the_layer(
    client: httpx.Client, repo: ChartRepoServer, tmp_path: Path
) -> None:
    repo.put("webapp-1.0.0.tgz", webapp_archive(tmp_path, "1.0.0", "9.9.9"))
    refused = render_draft(client, draft_of(client, web_doc(repo.url, "1.0.0")))
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["code"] == "chart_digest_mismatch"
    assert error["path"].startswith("spec.layers[0]")
    assert "'web'" in error["message"]
