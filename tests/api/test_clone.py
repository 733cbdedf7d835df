"""Cloning a profile into another org through real HTTP, on both stores.

The source org `acme` takes its charts from the live test chart repository (registry `stable`).
The target org `globex` has other registries: `mirror`, another live repository with webapp
1.0.0 and 1.1.0 only; in some tests also `local-charts` (the test charts directory, webapp
1.0.0) and `upstream` (the source's own repository under another name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lamina.adapters import yamlio
from lamina.services.cloning import TARGET_TOKEN_HEADER
from tests.api.test_journey import import_doc
from tests.api.test_registries import synced
from tests.api.test_render import chart_layer, config_map, manifests_layer, ok, stack
from tests.fixtures.chartrepo import ChartRepoServer
from tests.fixtures.charts import CHARTS_DIR

PROFILES = "/api/v1/org/stack-profiles"
DRAFTS = f"{PROFILES}/drafts"
AUDIT = "/api/v1/org/audit"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def mirror_repo(chart_archives: dict[str, Path]) -> Iterator[ChartRepoServer]:
    """A second live chart repository: webapp 1.0.0 and 1.1.0, nothing else."""
    archives = [chart_archives["webapp-1.0.0"], chart_archives["webapp-1.1.0"]]
    with ChartRepoServer(archives) as repo:
        yield repo


@dataclass
class Orgs:
    source: httpx.Client
    target: httpx.Client
    target_token: str
    source_host: str

    def clone(self, profile: str, token: str | None = None, **body: Any) -> httpx.Response:
        headers = {TARGET_TOKEN_HEADER: self.target_token if token is None else token}
        body.setdefault("target_org", "globex")
        return self.source.post(f"{PROFILES}/{profile}/clone", json=body, headers=headers)


@pytest.fixture
def orgs(
    client: httpx.Client,
    server_url: str,
    make_token: Callable[..., str],
    chart_repo: Any,
    mirror_repo: ChartRepoServer,
) -> Iterator[Orgs]:
    synced(client, "stable", "helm", chart_repo.url)
    token = make_token("globex", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server_url, headers=headers, timeout=60) as target:
        synced(target, "mirror", "helm", mirror_repo.url)
        yield Orgs(client, target, token, urlsplit(chart_repo.url).netloc)


def publish(http: httpx.Client, doc: Any) -> dict[str, Any]:
    response = import_doc(http, doc)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def web(name: str = "web", *layers: dict[str, Any]) -> Any:
    """A profile of `layers` (default: webapp 1.1.0 from `stable`) and a manifests layer."""
    charts = layers or (chart_layer("frontend", "stable", version="1.1.0"),)
    return stack(name, *charts, manifests_layer("extras", config_map("extras", zone="eu")))


def profile_count(http: httpx.Client) -> int:
    return int(http.get(PROFILES).json()["total_count"])


def draft_count(http: httpx.Client) -> int:
    return int(http.get(DRAFTS).json()["total_count"])


def test_an_all_resolved_clone_is_published_and_renders_in_the_target(orgs: Orgs) -> None:
    image = {"image": {"repository": f"{orgs.source_host}/team/webapp", "tag": "1.25"}}
    doc = web("web", chart_layer("frontend", "stable", version="^1.0", values=image))
    publish(orgs.source, doc)  # `^1.0` pins webapp 1.1.0 in the lock

    answer = orgs.clone("web")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["outcome"] == "published" and body["target_org"] == "globex"
    assert body["version"] == {"version": 1, "channel": "stable"}
    report = body["report"]
    assert report["resolved"] == [
        {
            "path": "spec.layers[0].chart",
            "layer": "frontend",
            "chart": "webapp",
            "version": "1.1.0",
            "source_registry": "stable",
            "nested": False,
            "registry": "mirror",
            "resolved_version": "1.1.0",
            "via": "search",
        }
    ]
    assert report["version_missing"] == report["not_found"] == []
    assert report["review"] == [
        {"path": "spec.layers[0].values.image.repository", "host": orgs.source_host}
    ]

    exported = orgs.target.get(f"{PROFILES}/web/versions/1/iac-export")
    chart = yamlio.load(exported.content)["spec"]["layers"][0]["chart"]
    assert chart == {"repository": "mirror", "name": "webapp", "version": "1.1.0"}
    rendered = ok(orgs.target.post(f"{PROFILES}/web/versions/1/render", json={}))
    assert [layer["name"] for layer in rendered["layers"]] == ["frontend", "extras"]
    locked = orgs.target.get(f"{PROFILES}/web/versions/1").json()["lock"]
    assert [(row["repository"], row["version"]) for row in locked] == [("mirror", "1.1.0")]

    again = orgs.clone("web")  # the same document again: nothing new
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    assert profile_count(orgs.target) == 1


def test_a_missing_version_lists_the_nearest_and_stores_nothing(orgs: Orgs) -> None:
    publish(orgs.source, web("rc", chart_layer("frontend", "stable", version="2.0.0-rc.1")))
    answer = orgs.clone("rc")
    assert answer.status_code == 409, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    [error] = body["errors"]
    assert (error["path"], error["code"]) == (
        "spec.layers[0].chart.version",
        "chart_version_missing",
    )
    assert "nearest: 1.1.0, 1.0.0" in error["message"]
    [missing] = body["report"]["version_missing"]
    assert missing["nearest"] == ["1.1.0", "1.0.0"] and missing["registry"] == "mirror"
    assert missing["version"] == "2.0.0-rc.1"
    assert profile_count(orgs.target) == 0 and draft_count(orgs.target) == 0


def test_a_missing_chart_is_not_found_and_stores_nothing(orgs: Orgs) -> None:
    doc = web("two", chart_layer("frontend", "stable"), chart_layer("api", "stable", "modern"))
    publish(orgs.source, doc)
    answer = orgs.clone("two")
    assert answer.status_code == 409, answer.text
    report = answer.json()["report"]
    assert [row["chart"] for row in report["resolved"]] == ["webapp"]
    assert report["not_found"] == [
        {
            "path": "spec.layers[1].chart",
            "layer": "api",
            "chart": "modern",
            "version": "1.0.0",
            "source_registry": "stable",
            "nested": False,
        }
    ]
    errors = {(e["path"], e["code"]) for e in answer.json()["errors"]}
    assert errors == {("spec.layers[1].chart", "chart_not_in_target")}
    assert profile_count(orgs.target) == 0 and draft_count(orgs.target) == 0


def test_the_registry_map_comes_before_the_same_url_and_search(orgs: Orgs, chart_repo: Any) -> None:
    synced(orgs.target, "local-charts", "local", str(CHARTS_DIR))
    publish(orgs.source, web("mapped", chart_layer("frontend", "stable", version="1.0.0")))

    def via(**body: Any) -> tuple[str, str]:
        answer = orgs.clone("mapped", **body)
        assert answer.status_code in (200, 201), answer.text
        [row] = answer.json()["report"]["resolved"]
        return row["registry"], row["via"]

    # Search takes the registries by name: local-charts, then mirror.
    assert via() == ("local-charts", "search")
    assert via(registry_map={"stable": "mirror"}) == ("mirror", "map")
    synced(orgs.target, "upstream", "helm", chart_repo.url + "/")
    assert via() == ("upstream", "url")
    assert via(registry_map={"stable": "mirror"}) == ("mirror", "map")
    versions = orgs.target.get(f"{PROFILES}/mapped").json()["versions"]
    assert len(versions) == 4  # each clone with another registry is the next version

    bad = orgs.clone("mapped", registry_map={"nowhere": "mirror", "stable": "absent"})
    assert bad.status_code == 422, bad.text
    assert [(e["path"], e["code"]) for e in bad.json()["errors"]] == [
        ("registry_map.nowhere", "unknown_registry"),
        ("registry_map.stable", "unknown_registry"),
    ]


def test_allow_unresolved_creates_a_draft_failing_exactly_at_those_charts(orgs: Orgs) -> None:
    doc = web(
        "partial",
        chart_layer("frontend", "stable", version="1.1.0"),
        chart_layer("preview", "stable", version="2.0.0-rc.1"),
        chart_layer("api", "stable", "modern"),
    )
    publish(orgs.source, doc)
    answer = orgs.clone("partial", allow_unresolved=True)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["outcome"] == "draft" and body["version"] is None
    draft = body["draft"]
    assert draft["name"] == "partial" and draft["profile_id"] is None
    charts = [layer.get("chart") for layer in draft["spec"]["layers"]]
    assert charts[:3] == [
        {"repository": "mirror", "name": "webapp", "version": "1.1.0"},
        {"repository": "mirror", "name": "webapp", "version": "2.0.0-rc.1"},
        {"repository": "stable", "name": "modern", "version": "1.0.0"},
    ]
    assert profile_count(orgs.target) == 0

    validated = orgs.target.post(f"{DRAFTS}/{draft['id']}/validate")
    assert validated.status_code == 200, validated.text
    errors = {(e["path"], e["code"]) for e in validated.json()["errors"]}
    assert errors == {
        ("spec.layers[1].chart.version", "chart_not_found"),
        ("spec.layers[2].chart.repository", "unknown_registry"),
    }


def test_nested_profiles_missing_in_the_target_refuse_the_clone(orgs: Orgs) -> None:
    publish(orgs.source, web("base"))
    nested = {"name": "platform-base", "profile": {"name": "base", "version": 1}}
    publish(orgs.source, stack("platform", nested))
    answer = orgs.clone("platform", allow_unresolved=True)
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["report"]["nested_profiles_missing"] == [
        {"path": "spec.layers[0].profile", "name": "base", "version": 1}
    ]
    [chart] = body["report"]["resolved"]  # the nested profile's chart, through the lock
    assert (chart["layer"], chart["nested"], chart["path"]) == (
        "platform-base/frontend",
        True,
        "spec.layers[0].profile",
    )
    assert {(e["path"], e["code"]) for e in body["errors"]} == {
        ("spec.layers[0].profile", "nested_profile_not_found")
    }
    assert draft_count(orgs.target) == 0

    assert orgs.clone("base").status_code == 201  # clone the nested profile first
    cloned = orgs.clone("platform")
    assert cloned.status_code == 201, cloned.text


def test_the_target_token_must_be_an_admin_token_of_the_target_org(
    orgs: Orgs, make_token: Callable[..., str]
) -> None:
    publish(orgs.source, web("web"))
    viewer = make_token("globex", "viewer")
    other_admin = make_token("initech", "admin")
    refused = [
        orgs.clone("web", token=viewer),
        orgs.clone("web", token="lam_not-a-real-token"),
        orgs.clone("web", token=other_admin),
        orgs.clone("web", token=orgs.target_token, target_org="no-such-org"),
        orgs.source.post(f"{PROFILES}/web/clone", json={"target_org": "globex"}),
    ]
    for answer in refused:
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"] == PROBLEM
    # The same words whether or not the org exists.
    assert refused[2].json()["detail"].replace("globex", "ORG") == refused[3].json()[
        "detail"
    ].replace("no-such-org", "ORG")
    assert profile_count(orgs.target) == 0

    own = make_token("acme", "admin")
    same = orgs.clone("web", token=own, target_org="acme")
    assert same.status_code == 422 and same.json()["errors"][0]["path"] == "target_org"

    assert orgs.clone("web").status_code == 201
    source_log = orgs.source.get(AUDIT).text
    target_log = orgs.target.get(AUDIT).json()["result"]
    for secret in (orgs.target_token, viewer, other_admin):
        assert secret not in source_log and secret not in str(target_log)
    [event] = [e for e in target_log if e["route"].endswith("/clone")]
    assert event["target"] == {"source_org": "acme", "profile": "web", "version": 1}


def test_an_editor_cannot_clone_nor_a_viewer_import_with_resolve(
    orgs: Orgs, make_token: Callable[..., str]
) -> None:
    publish(orgs.source, web("web"))
    orgs.source.headers["Authorization"] = f"Bearer {make_token('acme', 'editor')}"
    assert orgs.clone("web").status_code == 403
    orgs.target.headers["Authorization"] = f"Bearer {make_token('globex', 'viewer')}"
    missing = stack("rc", chart_layer("preview", "stable", version="2.0.0-rc.1"))
    assert import_doc(orgs.target, missing, resolve="true").status_code == 403


def test_export_then_import_with_resolve(orgs: Orgs) -> None:
    image = {"image": {"repository": f"{orgs.source_host}/team/webapp"}}
    url_layer = chart_layer("by-url", "<url>", version="1.0.0", values=image)
    publish(orgs.source, web("web", chart_layer("frontend", "stable", version="1.1.0")))
    exported = orgs.source.get(f"{PROFILES}/web/versions/1/iac-export").content
    doc = yamlio.load(exported)

    answer = import_doc(orgs.target, doc, resolve="true")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["version"]["version"] == 1
    [row] = body["resolution"]["resolved"]
    assert (row["registry"], row["via"]) == ("mirror", "search")
    again = orgs.target.get(f"{PROFILES}/web/versions/1/iac-export")
    layer = yamlio.load(again.content)["spec"]["layers"][0]
    assert layer["chart"]["repository"] == "mirror"

    # A chart named by URL: the registry of that URL is looked for first; values naming
    # the URL's host are flagged.
    source_url = f"http://{orgs.source_host}/charts"
    url_layer["chart"]["repository"] = source_url
    with_url = stack("by-url", url_layer)
    refused = import_doc(orgs.target, with_url, resolve="true")
    assert refused.status_code == 201, refused.text
    resolution = refused.json()["resolution"]
    assert resolution["review"] == [
        {"path": "spec.layers[0].values.image.repository", "host": orgs.source_host}
    ]

    missing = stack("rc", chart_layer("preview", "stable", version="2.0.0-rc.1"))
    unresolved = import_doc(orgs.target, missing, resolve="true")
    assert unresolved.status_code == 409, unresolved.text
    assert unresolved.json()["report"]["version_missing"][0]["nearest"] == ["1.1.0", "1.0.0"]
    assert orgs.target.get(f"{PROFILES}/rc").status_code == 404
    as_draft = import_doc(orgs.target, missing, resolve="true", as_draft="true")
    assert as_draft.status_code == 201, as_draft.text
    assert as_draft.json()["spec"]["layers"][0]["chart"]["repository"] == "mirror"
    assert as_draft.json()["resolution"]["version_missing"][0]["layer"] == "preview"

    mapped = import_doc(orgs.target, doc, resolve="true", registry_map="stable=absent")
    assert mapped.status_code == 422
    assert mapped.json()["errors"][0]["path"] == "registry_map.stable"
