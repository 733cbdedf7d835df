"""The whole lifecycle in one browser session, as a platform engineer goes through it:
sign in, find a profile, open a draft, break it and see the error at its line, fix and
publish, diff two versions, instantiate a profile with a secret on a cluster whose GitOps
target is a local bare repository, review and commit, see the commit in the cluster's
history, and roll a new version out with a dry run first."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.fixtures.gitrepos import BareRepo
from tests.web.conftest import Site, api, shot, sign_in

SECRET = "journey-Secret-9f3b"
DONE = 30_000  # ms a job may take to end on the page


@pytest.fixture
def edge(site: Site, tmp_path: Path) -> Iterator[BareRepo]:
    """Cluster `edge-7` (labels ring=canary), committing to a local bare repository."""
    repo = BareRepo(tmp_path / "edge-7.git")
    made = api(site).post(
        "/api/v1/org/clusters",
        json={"name": "edge-7", "labels": {"ring": "canary"}, "gitops": {"url": repo.url}},
    )
    assert made.status_code == 201, made.text
    yield repo
    repo.cleanup()


def test_the_whole_lifecycle_in_the_browser(browser: Any, site: Site, edge: BareRepo) -> None:
    context = browser.new_context(base_url=site.url)
    page = context.new_page()
    page.set_default_timeout(15_000)

    # Sign in, then find the profile in the catalog.
    sign_in(page, site.token)
    page.get_by_label("Search").fill("ingress")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="web-platform").click()
    page.wait_for_url(re.compile(r".*/profiles/web-platform$"))
    shot(page, "journey-1-profile")

    # Open a draft from version 1; break it: the error is listed and its line marked.
    page.get_by_role("button", name="New draft from this version").click()
    page.wait_for_url(re.compile(r".*/drafts/\d+$"))
    editor = page.get_by_label("Profile document (YAML)")
    state = page.locator("#check-state")
    state.filter(has_text="No issues").wait_for()
    text = editor.input_value()
    broken = text.replace("  - name: ingress\n", "  - name: ingress\n    replicas: 3\n", 1)
    editor.fill(broken)
    state.filter(has_text="1 issue to fix").wait_for()
    assert "spec.layers[0].replicas" in page.locator("#issues").inner_text()
    line = broken.splitlines().index("    replicas: 3") + 1
    expect(page.locator(f"#gutter span[data-line='{line}']")).to_have_class("bad")
    shot(page, "journey-2-broken-draft")

    # Fix it with a real change, save and publish version 2.
    editor.fill(text.replace("replicaCount: ${{ params.replicas }}", "replicaCount: 5", 1))
    state.filter(has_text="No issues").wait_for()
    page.get_by_role("button", name="Save", exact=True).click()
    state.filter(has_text="Saved").wait_for()
    page.get_by_role("button", name="Publish…").click()
    page.get_by_label("Channel").fill("stable")
    page.get_by_label("Changelog").fill("Five ingress replicas")
    page.get_by_role("button", name="Publish", exact=True).click()
    page.wait_for_url(re.compile(r".*/profiles/web-platform\?version=2$"))
    assert "Five ingress replicas" in page.locator("#versions").inner_text()

    # Diff the two versions: the changed value is shown old and new.
    page.get_by_label("From").select_option("1")
    page.get_by_label("To").select_option("2")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r".*/profiles/web-platform/diff\?.*"))
    changes = page.locator("main").inner_text()
    assert "replicaCount" in changes and "5" in changes
    shot(page, "journey-3-diff")

    # Instantiate observability (a secret parameter) on edge-7, review, commit.
    page.goto("/profiles/observability/instantiate")
    page.get_by_label("Cluster", exact=True).select_option("edge-7")
    page.locator("#param-retention").fill("15d")
    page.locator("#param-admin_password").fill(SECRET)
    page.get_by_role("button", name="Create stack draft").click()
    page.wait_for_url(re.compile(r".*/clusters/edge-7/drafts/\d+$"))
    assert SECRET not in page.content()
    assert "added" in page.locator("section.layer").first.inner_text()
    shot(page, "journey-4-review")
    page.get_by_label("Commit message").fill("observability for edge-7")
    page.get_by_role("button", name="Commit").click()
    page.wait_for_url(re.compile(r".*/clusters/edge-7$"))
    assert edge.log() == ["observability for edge-7"]
    assert all(SECRET.encode() not in blob for blob in edge.all_blobs())

    # The commit is in the cluster's history.
    history = page.locator("table[aria-labelledby=history]").inner_text()
    assert edge.head()[:8] in history
    shot(page, "journey-5-cluster")

    # A new version of observability, rolled out: a dry run first, then for real.
    admin = api(site)
    published = admin.post(
        "/api/v1/org/stack-profiles/import",
        content=_bumped(admin),
        headers={"Content-Type": "application/yaml"},
    )
    assert published.status_code == 201, published.text
    page.goto("/fleet/observability")
    assert page.get_by_role("checkbox", name=re.compile("^Dry run")).is_checked()
    page.get_by_role("button", name="Start the rollout").click()
    page.wait_for_url(re.compile(r".*/fleet/jobs/\d+$"))
    dry = page.url.rsplit("/", 1)[1]
    expect(page.locator("#job-state")).to_have_text("succeeded", timeout=DONE)
    assert page.locator("#job-results tr", has_text="would change").count() == 1
    assert edge.log() == ["observability for edge-7"]  # a dry run commits nothing
    shot(page, "journey-6-dry-run")
    page.get_by_role("button", name="Run for real").click()
    page.wait_for_url(re.compile(rf".*/fleet/jobs/(?!{dry}$)\d+$"))
    expect(page.locator("#job-state")).to_have_text("succeeded", timeout=DONE)
    assert page.locator("#job-results tr", has_text="committed").count() == 1
    assert len(edge.log()) == 2
    page.goto("/clusters/edge-7")
    assert edge.head()[:8] in page.locator("table[aria-labelledby=history]").inner_text()
    shot(page, "journey-7-rolled-out")
    context.close()


def _bumped(admin: httpx.Client) -> str:
    """Observability's document with one more object: the next version."""
    exported = admin.get("/api/v1/org/stack-profiles/observability/versions/1/iac-export")
    assert exported.status_code == 200, exported.text
    text = exported.text
    assert "layers:" in text
    return text.replace(
        "layers:",
        "layers:\n  - name: journey-note\n    namespace: monitoring\n    manifests:\n"
        "    - apiVersion: v1\n      kind: ConfigMap\n      metadata: {name: journey-note}\n"
        "      data: {note: rolled out}",
        1,
    )
