"""Instantiating a profile from its form, then reviewing, committing or discarding the stack
draft; and the pure line diff the review shows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lamina.domain.textdiff import line_diff
from tests.fixtures.gitrepos import BareRepo
from tests.web.conftest import Site, accessible, api, shot

SECRET = "Sup3r-Secret-Value-42"
CLUSTERS = "/api/v1/org/clusters"
# Every parameter type; `word`'s pattern is one browsers cannot read, so only the API checks it.
ALL_TYPES = """apiVersion: lamina.dev/v1
kind: StackProfile
metadata:
  name: all-types
  description: One parameter of each type
  changelog: First
spec:
  type: add-on
  parameters:
    - {name: host, type: string, required: true, pattern: '^[a-z]+$', description: Host name}
    - {name: word, type: string, pattern: '^(?P<w>[a-z]+)$', description: One word}
    - {name: size, type: number, default: 3, description: How many}
    - {name: debug, type: boolean, default: false, description: Verbose logs}
    - {name: tier, type: enum, enum: [dev, prod], default: dev, description: Tier}
    - {name: token, type: secret, required: true, description: API token}
  layers:
    - name: config
      namespace: apps
      manifests:
        - apiVersion: v1
          kind: ConfigMap
          metadata: {name: all-types, namespace: apps}
          data:
            host: ${{ params.host }}
            size: "count ${{ params.size }}"
"""


@pytest.fixture
def cluster(site: Site, tmp_path: Path) -> Iterator[BareRepo]:
    """Cluster `edge-1`, whose GitOps target is a local bare repository."""
    repo = BareRepo(tmp_path / "edge.git")
    made = api(site).post(CLUSTERS, json={"name": "edge-1", "gitops": {"url": repo.url}})
    assert made.status_code == 201, made.text
    yield repo
    repo.cleanup()


def _open_drafts(site: Site) -> list[dict[str, Any]]:
    found = api(site).get(f"{CLUSTERS}/edge-1/stack-drafts").json()
    return list(found["result"])


def test_instantiate_review_commit_and_discard(page: Any, site: Site, cluster: BareRepo) -> None:
    page.goto("/profiles/observability/instantiate")
    shot(page, "instantiate")
    accessible(page)
    page.get_by_label("Cluster", exact=True).select_option("edge-1")
    assert page.locator("#param-admin_password").get_attribute("type") == "password"
    assert page.locator("#param-admin_password").input_value() == ""
    page.locator("#param-retention").fill("two weeks")
    page.locator("#param-admin_password").fill(SECRET)
    page.get_by_role("button", name="Create stack draft").click()
    error = page.locator("#param-retention-error")
    assert "pattern" in error.inner_text()  # refused before anything was sent
    assert page.locator("#param-retention").get_attribute("aria-invalid") == "true"
    assert _open_drafts(site) == []
    shot(page, "instantiate-refused")
    accessible(page)

    page.locator("#param-retention").fill("30d")
    page.get_by_role("button", name="Create stack draft").click()
    page.wait_for_url(re.compile(r".*/clusters/edge-1/drafts/\d+$"))
    draft_url = page.url
    shot(page, "review")
    accessible(page)
    assert SECRET not in page.content()
    layer = page.locator("section.layer").first
    assert "Layer observability/prometheus" in layer.inner_text() and "added" in layer.inner_text()
    assert "admin_password" in page.locator("table.list").inner_text()

    first = page.locator("details.object").first
    first.locator("summary").click()
    assert first.locator("table.diff-unified").is_visible()
    page.get_by_role("button", name="Side by side").click()
    assert first.locator("table.diff-side").is_visible()
    assert not first.locator("table.diff-unified").is_visible()
    assert page.get_by_role("button", name="Side by side").get_attribute("aria-pressed") == "true"
    shot(page, "review-side-by-side")
    accessible(page)

    page.get_by_label("Commit message").fill("monitoring for edge-1")
    page.get_by_role("button", name="Commit").click()
    page.wait_for_url(re.compile(r".*/clusters/edge-1$"))
    assert cluster.log() == ["monitoring for edge-1"]
    assert all(SECRET.encode() not in blob for blob in cluster.all_blobs())
    page.goto(draft_url)
    assert "committed as revision 1" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Commit").count() == 0
    shot(page, "review-committed")
    accessible(page)

    # A second draft, discarded: nothing reaches Git.
    profile = api(site).get("/api/v1/org/stack-profiles/web-platform").json()["profile"]
    made = api(site).post(
        f"{CLUSTERS}/edge-1/stacks/from-profile",
        json={"profile_id": profile["id"], "parameters": [{"name": "domain", "value": "x.io"}]},
    )
    assert made.status_code == 201, made.text
    second = f"/clusters/edge-1/drafts/{made.json()['draft_id']}"
    page.goto(second)
    assert "Layer web-platform/ingress" in page.locator("main").inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Discard").click()
    page.wait_for_url(re.compile(r".*/clusters/edge-1$"))
    assert _open_drafts(site) == [] and cluster.log() == ["monitoring for edge-1"]
    page.goto(second)
    assert "no longer open" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="Discard").count() == 0
    shot(page, "review-discarded")
    accessible(page)


def test_the_form_of_every_parameter_type_and_api_errors_at_their_field(
    page: Any, site: Site, cluster: BareRepo
) -> None:
    imported = api(site).post(
        "/api/v1/org/stack-profiles/import",
        content=ALL_TYPES,
        headers={"Content-Type": "application/yaml"},
    )
    assert imported.status_code == 201, imported.text
    page.goto("/profiles/all-types/instantiate?cluster=edge-1")
    shot(page, "instantiate-all-types")
    accessible(page)
    assert page.locator("#param-debug").get_attribute("role") == "switch"
    assert page.locator("#param-size").get_attribute("type") == "number"
    assert page.locator("#param-size").input_value() == "3"
    assert page.locator("#param-tier").evaluate("e => e.tagName") == "SELECT"
    assert page.locator("#param-token").get_attribute("autocomplete") == "off"
    host = page.locator("#param-host")
    assert host.get_attribute("required") is not None and host.get_attribute("pattern")
    assert "param-host-hint" in (host.get_attribute("aria-describedby") or "")

    page.get_by_role("button", name="Create stack draft").click()  # required fields empty
    assert page.locator("#param-host-error").is_visible()
    assert page.locator("#param-token-error").is_visible()

    host.fill("web")
    page.locator("#param-word").fill("NOT A WORD")  # only the API can tell
    page.locator("#param-token").fill(SECRET)
    page.get_by_role("switch").check()
    page.get_by_role("button", name="Create stack draft").click()
    note = page.locator("#param-word + .field-error")
    note.wait_for()
    assert "pattern" in note.inner_text()
    assert page.locator("#param-word").get_attribute("aria-invalid") == "true"
    assert SECRET not in page.content().replace(page.locator("#param-token").input_value(), "")
    accessible(page)

    page.locator("#param-word").fill("fine")
    page.get_by_role("button", name="Create stack draft").click()
    page.wait_for_url(re.compile(r".*/clusters/edge-1/drafts/\d+$"))
    text = page.locator("main").inner_text()
    assert "ConfigMap apps/all-types" in text and "token" in text and "set" in text
    assert SECRET not in page.content()


def test_the_review_needs_a_draft_of_that_cluster(site: Site, cluster: BareRepo) -> None:
    bearer = {"Authorization": f"Bearer {site.token}"}
    assert httpx.get(f"{site.url}/clusters/edge-1/drafts/1", headers=bearer).status_code == 303
    client = httpx.Client(base_url=site.url, timeout=30)
    form = client.get("/sign-in")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    client.post("/sign-in", data={"token": site.token, "csrf": nonce, "next": "/"})
    assert client.get("/clusters/nowhere/drafts/1").status_code == 404
    gone = client.get("/clusters/edge-1/drafts/12345")
    assert gone.status_code == 404 and "no longer open" in gone.text


def test_line_diff_unified_and_side_by_side() -> None:
    old = "a: 1\nb: 2\nc: 3\n"
    new = "a: 1\nb: 20\nc: 3\nd: 4\n"
    found = line_diff(old, new)
    assert (found.added, found.removed) == (2, 1)
    assert [(r.op, r.text) for r in found.unified] == [
        ("same", "a: 1"),
        ("removed", "b: 2"),
        ("added", "b: 20"),
        ("same", "c: 3"),
        ("added", "d: 4"),
    ]
    assert [(r.op, r.old_text, r.new_text) for r in found.side] == [
        ("same", "a: 1", "a: 1"),
        ("changed", "b: 2", "b: 20"),
        ("same", "c: 3", "c: 3"),
        ("added", None, "d: 4"),
    ]


def test_line_diff_of_added_objects_and_gaps() -> None:
    assert [r.op for r in line_diff("", "x\ny\n").unified] == ["added", "added"]
    assert line_diff("same\n", "same").unified == []
    long = [f"k{i}: {i}" for i in range(20)]
    changed = [*long[:2], "k2: two", *long[3:17], "k17: x", *long[18:]]
    found = line_diff("\n".join(long), "\n".join(changed))
    assert [r.op for r in found.unified].count("gap") == 1
    assert found.unified[0].old == 1 and found.unified[-1].new == 20
