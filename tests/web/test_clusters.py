"""The cluster pages: the list with a label selector, and one cluster with what it runs, its
open stack drafts and its history, with upgrade and restore leading to a review page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lamina.domain.models import Role
from tests.api.test_clusters import CLUSTERS, register
from tests.api.test_jobs import deploy, publish
from tests.fixtures.gitrepos import BareRepo
from tests.web.conftest import Site, accessible, api, session, shot


def test_the_cluster_list_filters_by_label_selector(site: Site, tmp_path: Path) -> None:
    admin = api(site)
    repo = BareRepo(tmp_path / "fleet.git")
    register(admin, "shop-prod", repo, labels={"env": "prod", "region": "eu"})
    register(admin, "shop-dev", repo, labels={"env": "dev"}, mode="flux")
    client, _ = session(site, site.token_for(Role.VIEWER))

    every = client.get("/clusters")
    assert every.status_code == 200
    assert "shop-prod" in every.text and "shop-dev" in every.text
    assert f"{repo.url}#main/clusters" in every.text and "flux" in every.text

    prod = client.get("/clusters", params={"selector": "env=prod,region in (eu,us)"})
    assert "/clusters/shop-prod" in prod.text and "/clusters/shop-dev" not in prod.text
    assert 'value="env=prod,region in (eu,us)"' in prod.text  # the filter stays in its field

    bad = client.get("/clusters", params={"selector": "env in ("})
    assert bad.status_code == 400
    assert 'id="selector-error"' in bad.text and 'aria-invalid="true"' in bad.text


def test_a_cluster_page_shows_what_it_runs_and_its_history(
    page: Any, site: Site, tmp_path: Path
) -> None:
    """After commits made through the API, the cluster page lists the instantiations (one
    outdated, with an upgrade) and the revisions with their commits; restoring the first
    revision and upgrading each lead to the review page of a new stack draft."""
    admin = api(site)
    app = publish(admin, "app", 1)
    other = publish(admin, "tools", 1)
    cluster = register(admin, "shop", BareRepo(tmp_path / "shop.git"), labels={"env": "prod"})
    deploy(admin, cluster, app)
    deploy(admin, cluster, other)
    publish(admin, "app", 2)  # the cluster's app is now outdated
    revisions = admin.get(f"{CLUSTERS}/shop/revisions").json()["result"]
    assert [r["revision"] for r in revisions] == [2, 1]

    page.goto("/clusters")
    shot(page, "clusters")
    accessible(page)
    page.get_by_role("link", name="shop", exact=True).click()
    page.wait_for_url(re.compile(r".*/clusters/shop$"))
    shot(page, "cluster")
    accessible(page)
    runs = page.locator("table[aria-labelledby=runs]")
    assert runs.get_by_role("link", name="app").get_attribute("href") == "/profiles/app"
    assert "outdated" in runs.locator("tr", has_text="app").inner_text()
    history = page.locator("table[aria-labelledby=history]").inner_text()
    for r in revisions:
        assert r["commit_sha"][:8] in history
    assert "Restore revision 2" not in page.content()  # the current one

    page.get_by_role("button", name="Restore revision 1").click()
    page.wait_for_url(re.compile(r".*/clusters/shop/drafts/\d+$"))
    restored = int(page.url.rsplit("/", 1)[1])
    page.goto("/clusters/shop")
    page.get_by_role("button", name="Upgrade app to its current version").click()
    page.wait_for_url(re.compile(r".*/clusters/shop/drafts/\d+$"))
    upgraded = int(page.url.rsplit("/", 1)[1])
    assert upgraded != restored

    client, _ = session(site)
    shown = client.get("/clusters/shop").text
    for draft in (restored, upgraded):
        assert f'href="/clusters/shop/drafts/{draft}"' in shown
    drafts = admin.get(f"{CLUSTERS}/shop/stack-drafts").json()["result"]
    assert {d["action"] for d in drafts} >= {"restore"}


def test_a_viewer_sees_no_upgrade_or_restore(site: Site, tmp_path: Path) -> None:
    admin = api(site)
    app = publish(admin, "app", 1)
    cluster = register(admin, "shop", BareRepo(tmp_path / "shop.git"))
    deploy(admin, cluster, app)
    publish(admin, "app", 2)
    client, _ = session(site, site.token_for(Role.VIEWER))
    shown = client.get("/clusters/shop")
    assert shown.status_code == 200
    assert "outdated" in shown.text and "data-api" not in shown.text
    assert client.get("/clusters/nowhere").status_code == 404
