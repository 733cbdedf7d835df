"""The profile page (versions, layers, parameters, clusters, actions) and the diff page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from lamina.adapters import yamlio
from lamina.domain.models import Role
from tests.fixtures.gitrepos import BareRepo
from tests.web.conftest import Site, accessible, session, shot

PROFILES = "/api/v1/org/stack-profiles"
DRAFTS = f"{PROFILES}/drafts"
CLUSTERS = "/api/v1/org/clusters"


def _ok(answer: httpx.Response) -> Any:
    assert answer.is_success, answer.text
    return answer.json()


def _admin(site: Site) -> httpx.Client:
    headers = {"Authorization": f"Bearer {site.token}"}
    return httpx.Client(base_url=site.url, headers=headers, timeout=60)


def publish_v2(admin: httpx.Client) -> None:
    """web-platform v2 on stable: one value and one parameter default changed."""
    profile = _ok(admin.get(f"{PROFILES}/web-platform"))["profile"]
    draft = _ok(admin.post(DRAFTS, json={"profile_id": profile["id"], "from_version": 1}))
    spec = draft["spec"]
    spec["layers"][0]["values"]["replicaCount"] = 5
    parameters = draft["parameters"]
    parameters[1]["default"] = 3
    body = {"spec": spec, "parameters": parameters, "version": draft["version"]}
    _ok(admin.post(f"{DRAFTS}/{draft['id']}", json=body))
    publish = {"channel": "stable", "changelog": "Five replicas"}
    _ok(admin.post(f"{DRAFTS}/{draft['id']}/publish", json=publish))


def run_v1_on_a_cluster(admin: httpx.Client, tmp_path: Path) -> None:
    repo = BareRepo(tmp_path / "eu-1.git")
    _ok(admin.post(CLUSTERS, json={"name": "eu-1", "gitops": {"url": repo.url}}))
    profile = _ok(admin.get(f"{PROFILES}/web-platform"))["profile"]["id"]
    body = {
        "profile_id": profile,
        "version": 1,
        "parameters": [{"name": "domain", "value": "shop.example.com"}],
        "deploy": True,
    }
    _ok(admin.post(f"{CLUSTERS}/eu-1/stacks/from-profile", json=body))


@pytest.fixture
def two_versions(site: Site, tmp_path: Path) -> Site:
    """web-platform v1 runs on eu-1; v2 is the current version, so eu-1 is outdated."""
    with _admin(site) as admin:
        run_v1_on_a_cluster(admin, tmp_path)
        publish_v2(admin)
    return site


def test_profile_page_shows_versions_layers_parameters_and_clusters(
    two_versions: Site, page: Any
) -> None:
    page.goto("/profiles/web-platform?version=1")
    shot(page, "profile")
    accessible(page)
    versions = page.locator("#versions tbody tr")
    assert versions.count() == 2
    assert "Five replicas" in versions.first.inner_text()
    layers = page.locator("#layers tbody tr")
    assert layers.nth(0).locator("th").inner_text() == "ingress"  # install order
    assert re.search(r"gateway@1\.\d+\.\d+ from demo", layers.nth(0).inner_text())
    assert "2 inline manifests" in layers.nth(1).inner_text()
    assert "domain" in page.locator("#parameters").inner_text()
    cluster = page.locator("#instantiations tbody tr").first
    assert "outdated" in cluster.inner_text()
    assert cluster.get_by_role("link", name="eu-1").get_attribute("href") == "/clusters/eu-1"
    for name in ("Export IaC", "Roll out", "Instantiate"):
        assert page.get_by_role("link", name=name).is_visible()
    assert (
        page.get_by_role("link", name="Instantiate").get_attribute("href")
        == "/profiles/web-platform/instantiate?version=1"
    )
    # Deprecate version 1 with a reason, then undeprecate it.
    page.get_by_label("Reason").fill("superseded by v2")
    page.get_by_role("button", name="Deprecate version 1").click()
    page.get_by_role("button", name="Undeprecate version 1").wait_for()
    assert "superseded by v2" in page.locator("#versions").inner_text()
    page.get_by_role("button", name="Undeprecate version 1").click()
    page.get_by_role("button", name="Deprecate version 1").wait_for()
    # Compare: the diff page highlights the value and the parameter default.
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r".*/profiles/web-platform/diff\?from=1&to=2"))
    shot(page, "version-diff")
    accessible(page)


def test_profile_page_details_over_http(two_versions: Site) -> None:
    client, _ = session(two_versions)
    html = client.get("/profiles/web-platform").text  # the latest version by default
    assert "Version 2" in html and "New draft from this version" in html
    assert 'data-api="POST /api/v1/org/stack-profiles/drafts"' in html
    assert '/api/v1/org/stack-profiles/web-platform/versions/2/iac-export"' in html
    assert client.get("/api/v1/org/stack-profiles/web-platform/versions/2/iac-export").is_success
    assert client.get("/profiles/web-platform?version=9").status_code == 404
    assert client.get("/profiles/nothing-here").status_code == 404


def test_a_viewer_sees_no_write_actions(two_versions: Site) -> None:
    client, _ = session(two_versions, two_versions.token_for(Role.VIEWER))
    html = client.get("/profiles/web-platform").text
    assert "Version 2" in html and "eu-1" in html
    for action in ("New draft from this version", "Deprecate version", "Roll out", "Instantiate"):
        assert action not in html


def test_another_orgs_public_profile_is_read_only(site: Site) -> None:
    other = site.token_for(Role.ADMIN, org="globex")
    headers = {"Authorization": f"Bearer {other}", "Content-Type": "application/yaml"}
    doc = yamlio.load(
        "apiVersion: lamina.dev/v1\nkind: StackProfile\n"
        "metadata: {name: shared, visibility: public, description: Shared by globex}\n"
        "spec:\n  type: add-on\n  layers:\n  - name: cm\n    namespace: apps\n    manifests:\n"
        "    - {apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {a: b}}\n"
    )
    made = httpx.post(
        f"{site.url}{PROFILES}/import", content=yamlio.dump(doc), headers=headers, timeout=60
    )
    assert made.status_code == 201, made.text
    profile_id = made.json()["profile"]["id"]
    client, _ = session(site)
    page = client.get(f"/profiles/{profile_id}")
    assert page.status_code == 200, page.text
    assert "Shared by globex" in page.text and "1 inline manifest" in page.text
    for action in ("New draft", "Deprecate", "Roll out", "Instantiate", "Clusters running it"):
        assert action not in page.text
    assert f"/api/v1/org/stack-profiles/{profile_id}/versions/1/iac-export" in page.text


def test_diff_page_highlights_values_and_parameters(two_versions: Site) -> None:
    client, _ = session(two_versions)
    html = client.get("/profiles/web-platform/diff", params={"from": 1, "to": 2}).text
    assert "v1 → v2" in html
    ingress = html[html.index('id="layer-1"') : html.index('id="layer-2"')]
    assert "changed" in ingress
    assert re.search(
        r"values\.replicaCount.*?<del><code>\$\{\{ params\.replicas \}\}", ingress, re.S
    )
    assert "<ins><code>5</code></ins>" in ingress
    issuer = html[html.index('id="layer-2"') :]
    assert "unchanged" in issuer[:300]
    params = html[html.index("<h2>Parameters</h2>") :]
    assert re.search(
        r"\[replicas\]\.default.*?<del><code>2</code></del>.*?<ins><code>3</code>", params, re.S
    )
    assert "Five replicas" in html and "First version of the web platform" in html
    same = client.get("/profiles/web-platform/diff", params={"from": 2, "to": 2}).text
    assert "No parameter changed." in same
