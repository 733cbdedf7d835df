"""The web UI against a live server: a signed-in browser (Debian's chromium driven by
Playwright), screenshots of every page, and an accessibility check with axe-core.

Screenshots go to LAMINA_TEST_OUTPUT (default build/test-output) under `web/`. The
browser and axe-core are installed by scripts/ensure-test-tools (run by `make test`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from lamina.config import DEMO_CHARTS, Services, Settings, build_services, demo_documents
from lamina.domain.models import Role
from lamina.services import auth, demo
from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("LAMINA_TEST_CHROMIUM", "/usr/bin/chromium"))
AXE = Path(
    os.environ.get(
        "LAMINA_TEST_AXE", ROOT / ".venv" / "web-test" / "node_modules" / "axe-core" / "axe.min.js"
    )
)
OUTPUT = Path(os.environ.get("LAMINA_TEST_OUTPUT", ROOT / "build" / "test-output")) / "web"
# axe-core impacts that fail a page.
BLOCKING = {"serious", "critical"}


@dataclass
class Site:
    url: str
    services: Services
    token: str
    """An admin token of the demo org."""

    def token_for(self, role: Role, org: str = demo.DEMO_ORG) -> str:
        return str(auth.create_token(self.services.store, org_slug=org, role=role))


def api(site: Site, token: str | None = None) -> httpx.Client:
    """An API client with a bearer token (the demo org's admin token by default)."""
    headers = {"Authorization": f"Bearer {token or site.token}"}
    return httpx.Client(base_url=site.url, headers=headers, timeout=60)


def session(site: Site, token: str | None = None) -> tuple[httpx.Client, str]:
    """A client holding a session cookie (the site's admin token by default) as a browser
    does after signing in, and the session's CSRF token for writes to the API."""
    client = httpx.Client(base_url=site.url, timeout=60)
    form = client.get("/sign-in")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert nonce, form.text
    done = client.post(
        "/sign-in", data={"token": token or site.token, "csrf": nonce.group(1), "next": "/"}
    )
    assert done.status_code == 303, done.text
    home = client.get("/")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', home.text)
    assert csrf, home.text
    return client, csrf.group(1)


def demo_services(tmp: Path) -> Services:
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'lamina.db'}",
        demo=False,
        data_dir=tmp / "data",
        local_roots=(
            DEMO_CHARTS,
            Path(__file__).parents[1] / "charts",
            Path(tempfile.gettempdir()),
        ),
        allow_local_targets=True,
        queue_url=f"sqlite:///{tmp / 'data' / 'queue.db'}",
        worker_threads=1,
    )
    return build_services(settings)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """`make serve` in small: the demo catalog on SQLite, served on a loopback port, with an
    embedded job worker."""
    wired = demo_services(tmp_path)
    token = demo.seed(wired.store, wired.profiles, wired.registries, demo_documents(), DEMO_CHARTS)
    assert token
    try:
        with LiveServer(wired) as url:
            yield Site(url=url, services=wired, token=token)
    finally:
        wired.store.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-test-tools (make test does)")
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A browser tab signed in to the demo org as admin."""
    context = browser.new_context(base_url=site.url)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    sign_in(tab, site.token)
    yield tab
    context.close()


def sign_in(tab: Any, token: str) -> None:
    """Sign the tab in (its context's base_url is the site)."""
    tab.goto("/sign-in")
    tab.get_by_label("API token").fill(token)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(re.compile(r".*/($|\?)"))


def shot(tab: Any, name: str) -> Path:
    """Save a full-page screenshot of the tab as `<name>.png` under the output folder."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path


def accessible(tab: Any) -> None:
    """axe-core finds no serious or critical violation of WCAG 2 A/AA on the page."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run scripts/ensure-test-tools (make test does)")
    # Evaluated by the driver, not added as a script tag, which the page's CSP refuses.
    tab.evaluate(f"() => {{ {AXE.read_text()}\n; window.axe = axe; }}")
    found = tab.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations
             .map(v => ({id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    blocking = [v for v in found if v["impact"] in BLOCKING]
    assert blocking == [], f"accessibility violations at {tab.url}: {blocking}"
