"""Signing in and out, the session cookie, CSRF, and the catalog page."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lamina.domain.models import Role
from tests.web.conftest import Site, accessible, api, session, shot, sign_in

PROFILES = "/api/v1/org/stack-profiles"


def test_the_session_cookie_is_http_only_and_strict(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    form = client.get("/sign-in")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    done = client.post("/sign-in", data={"token": site.token, "csrf": nonce, "next": "/"})
    cookie = next(
        v for k, v in done.headers.multi_items() if k == "set-cookie" and "lamina_session" in v
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert site.token not in cookie  # sealed, not the token itself
    assert done.headers["location"] == "/"


def test_pages_need_a_session_and_come_back_after_sign_in(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    answer = client.get("/?search=web")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2F%3Fsearch%3Dweb"


def test_a_wrong_token_is_refused_at_its_field(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    form = client.get("/sign-in")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    answer = client.post("/sign-in", data={"token": "lam_nope", "csrf": nonce})
    assert answer.status_code == 401
    assert 'id="token-error"' in answer.text and "lamina_session" not in answer.headers.get(
        "set-cookie", ""
    )


def test_sign_in_without_its_form_token_is_refused(site: Site) -> None:
    answer = httpx.post(f"{site.url}/sign-in", data={"token": site.token, "csrf": "forged"})
    assert answer.status_code == 403
    assert "lamina_session" not in answer.headers.get("set-cookie", "")


def test_next_never_leaves_the_site(site: Site) -> None:
    client = httpx.Client(base_url=site.url)
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        form = client.get("/sign-in")
        nonce = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        done = client.post("/sign-in", data={"token": site.token, "csrf": nonce, "next": target})
        assert done.headers["location"] == "/"


def test_a_cookie_write_needs_the_csrf_header(site: Site) -> None:
    client, csrf = session(site)
    body = {"description": "changed by the browser"}
    refused = client.patch(f"{PROFILES}/web-platform", json=body)
    assert refused.status_code == 403
    assert "X-CSRF-Token" in refused.json()["detail"]
    wrong = client.patch(f"{PROFILES}/web-platform", json=body, headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    assert (
        client.get(f"{PROFILES}/web-platform").json()["profile"]["description"]
        != body["description"]
    )
    done = client.patch(f"{PROFILES}/web-platform", json=body, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text
    assert done.json()["description"] == body["description"]


def test_a_cookie_session_keeps_the_tokens_role(site: Site) -> None:
    client, csrf = session(site, site.token_for(Role.VIEWER))
    answer = client.patch(
        f"{PROFILES}/web-platform", json={"description": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 403
    assert "role" in answer.json()["detail"].lower()


def test_a_revoked_token_ends_its_sessions(site: Site) -> None:
    token = site.token_for(Role.VIEWER)
    client, _ = session(site, token)
    assert client.get("/").status_code == 200
    admin = api(site)
    mine = [t for t in admin.get("/api/v1/org/tokens").json()["result"] if t["role"] == "viewer"]
    assert admin.delete(f"/api/v1/org/tokens/{mine[-1]['id']}").status_code == 204
    assert client.get("/").status_code == 303
    assert client.get(f"{PROFILES}").status_code == 401


def test_sign_out_needs_its_token_and_drops_the_cookie(site: Site) -> None:
    client, csrf = session(site)
    assert client.post("/sign-out", data={"csrf": "forged"}).status_code == 403
    assert client.get("/").status_code == 200
    done = client.post("/sign-out", data={"csrf": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/sign-in"
    assert client.get("/").status_code == 303


FORGED_FORM = """<!doctype html><title>x</title>
<form id="f" method="post" action="{site}/sign-out"><input name="csrf" value="guess"></form>
<script>document.getElementById("f").submit()</script>"""
FORGED_FETCH = """<!doctype html><title>x</title><script>
fetch("{site}/api/v1/org/stack-profiles/web-platform", {{method: "PATCH",
  credentials: "include", headers: {{"Content-Type": "text/plain"}},
  body: JSON.stringify({{description: "forged"}})}})
  .then(r => document.title = "status " + r.status, () => document.title = "blocked");
</script>"""


@pytest.fixture
def attacker(site: Site) -> Iterator[str]:
    """Another site (another loopback address) whose pages write to Lamina."""
    pages = {
        "/form": FORGED_FORM.format(site=site.url).encode(),
        "/fetch": FORGED_FETCH.format(site=site.url).encode(),
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.2:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_forged_cross_site_write_is_refused(browser: Any, site: Site, attacker: str) -> None:
    """A signed-in browser visits another site whose pages write to Lamina, by a form post
    and by a script: the session survives and nothing changes."""
    bearer = {"Authorization": f"Bearer {site.token}"}
    before = httpx.get(f"{site.url}{PROFILES}/web-platform", headers=bearer).json()["profile"]
    context = browser.new_context(base_url=site.url)
    tab = context.new_page()
    sign_in(tab, site.token)
    tab.goto(f"{attacker}/form")
    tab.wait_for_load_state("networkidle")
    tab.goto(f"{attacker}/fetch")
    tab.wait_for_function("document.title !== 'x'")
    assert tab.title() != "status 200"
    tab.goto("/")
    assert tab.get_by_role("button", name="Sign out").is_visible()  # still signed in
    after = httpx.get(f"{site.url}{PROFILES}/web-platform", headers=bearer).json()["profile"]
    assert after == before
    context.close()


def test_catalog_search_filters_and_badges(page: Any, site: Site) -> None:
    shot(page, "catalog")
    accessible(page)
    rows = page.locator("table.list tbody tr")
    assert rows.count() >= 3
    page.get_by_label("Search").fill("edge")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r".*search=edge.*"))
    assert page.locator("table.list tbody tr").count() == 1
    assert "edge" in page.locator("table.list tbody tr").inner_text()
    shot(page, "catalog-search")


def test_sign_in_page_is_accessible(browser: Any, site: Site) -> None:
    context = browser.new_context(base_url=site.url)
    tab = context.new_page()
    tab.goto("/sign-in")
    shot(tab, "sign-in")
    accessible(tab)
    tab.get_by_label("API token").fill("lam_wrong")
    tab.get_by_role("button", name="Sign in").click()
    assert tab.locator("#token-error").is_visible()
    accessible(tab)
    context.close()
