"""The pack pages: registries and charts, a chart's versions, one version's default values
and values schema."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from lamina.domain.models import Role
from tests.web.conftest import Site, accessible, api, session, shot


def test_browse_packs_to_a_version_with_values_and_schema(page: Any, site: Site) -> None:
    page.goto("/packs")
    shot(page, "packs")
    accessible(page)
    registry = page.locator("table.list").first
    assert "demo" in registry.inner_text() and "local" in registry.inner_text()
    # Admin: reads the index again. The form posts and the answer reloads the page; wait for
    # that navigation, or a later click may land on the old page and be lost to the reload.
    with page.expect_navigation():
        page.get_by_role("button", name="Sync demo").click()
    assert page.locator("[data-summary]").first.inner_text() == ""
    assert "never" not in page.locator("table.list").first.inner_text()

    page.get_by_role("link", name="gateway", exact=True).click()
    page.wait_for_url(re.compile(r".*/packs/demo/gateway$"))
    shot(page, "pack-versions")
    accessible(page)
    assert page.get_by_role("columnheader", name="Digest").is_visible()

    page.get_by_role("link", name="1.4.0").click()
    page.wait_for_url(re.compile(r".*/packs/demo/gateway/1\.4\.0$"))
    shot(page, "pack-version")
    accessible(page)
    assert "replicaCount" in page.locator("pre#values").inner_text()
    assert '"type"' in page.locator("pre#schema").inner_text()

    page.goto("/packs/demo/metrics/2.1.0")
    assert "No schema" in page.locator("#schema").inner_text()
    accessible(page)


def test_packs_search_filter_and_pages(site: Site, tmp_path: Path) -> None:
    empty = tmp_path / "no-charts"
    empty.mkdir()
    made = api(site).post(
        "/api/v1/org/registries", json={"name": "empty", "kind": "local", "url": str(empty)}
    )
    assert made.status_code == 201, made.text
    client, _ = session(site)
    everything = client.get("/packs")
    assert everything.status_code == 200
    counts = {
        name: re.search(
            rf'registry={name}">{name}</a></td>.*?<td>(\d+)</td>', everything.text, re.S
        )
        for name in ("demo", "empty")
    }
    assert {n: m.group(1) for n, m in counts.items() if m} == {"demo": "4", "empty": "0"}
    assert all(name in everything.text for name in ("gateway", "metrics", "cni-lite"))
    found = client.get("/packs", params={"search": "metrics"})
    rows = re.findall(r'href="/packs/demo/([a-z-]+)"', found.text)
    assert rows == ["metrics"]
    nothing = client.get("/packs", params={"registry": "nowhere"})
    assert "No chart matches." in nothing.text


def test_a_viewer_sees_no_sync_button(site: Site) -> None:
    client, _ = session(site, site.token_for(Role.VIEWER))
    answer = client.get("/packs")
    assert answer.status_code == 200
    assert "demo" in answer.text and "/sync" not in answer.text


def test_an_unknown_chart_or_version_is_an_error_page(site: Site) -> None:
    client, _ = session(site)
    missing = client.get("/packs/demo/no-such-chart")
    assert missing.status_code == 404 and "no-such-chart" in missing.text
    version = client.get("/packs/demo/gateway/9.9.9")
    assert version.status_code == 404 and "9.9.9" in version.text
    needs_session = httpx.get(f"{site.url}/packs/demo/gateway")
    assert needs_session.status_code == 303
