"""The fleet pages: profiles with their clusters by version, one profile's clusters and the
rollout form, and a rollout job followed live, cancelled, or run for real after a dry run
(which ran in parts, one per repository)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from lamina.domain.models import Role
from tests.api.jobs import JOBS, PROFILES, wait_for
from tests.api.test_clusters import CLUSTERS
from tests.api.test_jobs import fleet, publish, slow_pushes
from tests.web.conftest import Site, accessible, api, session, shot

DONE = 30_000  # ms a job may take to end on the page


def test_fleet_pages_and_a_rollout_followed_live(page: Any, site: Site, tmp_path: Path) -> None:
    """Two clusters run v1 of `app`, v2 is out: the fleet pages count them by version; a dry
    run started from the form says what would change on each cluster; running it for real
    commits each, and its results arrive live on the job page."""
    admin = api(site)
    app = publish(admin, "app", 1)
    clusters, repos = fleet(admin, tmp_path, 2, app, prefix="edge")
    publish(admin, "app", 2)

    page.goto("/fleet")
    shot(page, "fleet")
    accessible(page)
    row = page.locator("tr", has_text="app").first
    assert "v1: 2 clusters" in row.inner_text() and "2 outdated" in row.inner_text()
    row.get_by_role("link", name="app").click()
    page.wait_for_url(re.compile(r".*/fleet/app$"))
    shot(page, "fleet-profile")
    accessible(page)
    assert "v1: 2 clusters (2 outdated)" in page.locator("table").inner_text()
    assert page.get_by_label("Version", exact=True).input_value() == "2"
    assert page.get_by_role("checkbox", name=re.compile("^Dry run")).is_checked()

    page.get_by_label("Batch size").fill("1")
    page.get_by_role("button", name="Start the rollout").click()
    page.wait_for_url(re.compile(r".*/fleet/jobs/\d+$"))
    dry = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("#job-state")).to_have_text("succeeded", timeout=DONE)
    results = page.locator("#job-results tr")
    assert results.count() == 2
    assert results.filter(has_text="would change").count() == 2
    assert "Would change: 0 added, 1 changed" in results.first.inner_text()
    assert results.first.get_by_role("link", name="Review the stack draft").is_visible()
    assert "succeeded" in page.get_by_role("status").inner_text()
    # A dry run never stops early: its two repositories ran as parts the workers share.
    assert page.locator("#job-parts").inner_text().startswith("2 parts")
    shot(page, "fleet-job-dry-run")
    accessible(page)

    for repo in repos:  # slow enough that results reach the open page one by one
        slow_pushes(repo, 1.0)
    page.get_by_role("button", name="Run for real").click()
    page.wait_for_url(re.compile(rf".*/fleet/jobs/(?!{dry}$)\d+$"))
    real = int(page.url.rsplit("/", 1)[1])
    assert real != dry
    assert page.locator("h1").inner_text().endswith("to v2")  # no "(dry run)"
    assert page.locator("#job-parts").count() == 0  # stops at a failure: one job, in order
    expect(page.locator("#job-state")).to_have_text("succeeded", timeout=DONE)
    assert int(page.locator("#job-results").get_attribute("data-arrived") or 0) >= 1
    assert page.locator("#job-results tr", has_text="committed").count() == 2
    assert page.locator("#job-done").inner_text() == "2"
    assert not page.locator("#job-cancel").is_visible()
    shot(page, "fleet-job")
    accessible(page)
    shown = page.locator("#job-results").inner_text()
    for cluster in clusters:
        sha = admin.get(f"{CLUSTERS}/{cluster['id']}").json()["commit_sha"]
        assert sha[:8] in shown
    versions = admin.get(f"{PROFILES}/{app}/instantiations").json()
    assert {r["version"] for r in versions} == {2}


def test_the_cancel_button_cancels_a_running_rollout(site: Site, tmp_path: Path) -> None:
    admin = api(site)
    app = publish(admin, "app", 1)
    _, repos = fleet(admin, tmp_path, 2, app, prefix="slow")
    publish(admin, "app", 2)
    for repo in repos:
        slow_pushes(repo, 2.0)
    started = admin.post(f"{PROFILES}/{app}/rollout", json={"version": 2, "batch_size": 1})
    assert started.status_code == 202, started.text
    job = started.json()["id"]

    viewer, _ = session(site, site.token_for(Role.VIEWER))
    assert "/cancel" not in viewer.get(f"/fleet/jobs/{job}").text
    client, csrf = session(site)
    running = client.get(f"/fleet/jobs/{job}").text
    cancel = f'data-api="POST {JOBS}/{job}/cancel"'
    assert cancel in running and 'data-finished="false"' in running
    answer = client.post(f"{JOBS}/{job}/cancel", headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200, answer.text
    assert answer.json()["cancel_requested"] is True
    assert wait_for(admin, job, timeout=30)["state"] == "cancelled"
    ended = client.get(f"/fleet/jobs/{job}").text
    assert cancel not in ended and "The job cancelled" in ended
    assert "Run for real" not in ended  # no dry run
