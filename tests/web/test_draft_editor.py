"""The draft editor: live checks marked in the gutter, save, preview, publish."""

from __future__ import annotations

import re
from typing import Any

from lamina.domain.models import Role
from tests.web.conftest import Site, accessible, api, session, shot

DRAFTS = "/api/v1/org/stack-profiles/drafts"


def test_new_draft_break_fix_save_and_publish(page: Any, site: Site) -> None:
    page.goto("/profiles/web-platform")
    page.get_by_role("button", name="New draft from this version").click()
    page.wait_for_url(re.compile(r".*/drafts/\d+$"))
    editor = page.get_by_label("Profile document (YAML)")
    status = page.locator("#check-state")
    status.filter(has_text="No issues").wait_for()
    shot(page, "draft-editor")
    accessible(page)

    # An unknown field and a wrong type: each listed with its path, its line marked.
    text = editor.input_value()
    broken = text.replace("  - name: ingress\n", "  - name: ingress\n    colour: blue\n", 1)
    broken = broken.replace("required: true", "required: maybe", 1)
    editor.fill(broken)
    status.filter(has_text="2 issues to fix").wait_for()
    issues = page.locator("#issues li")
    listed = issues.all_inner_texts()
    assert any("spec.layers[0].colour" in item for item in listed), listed
    assert any("spec.parameters[0].required" in item for item in listed), listed
    line = broken.splitlines().index("    colour: blue") + 1
    marker = page.locator(f"#gutter span[data-line='{line}']")
    assert marker.get_attribute("class") == "bad"
    assert "colour" in (marker.get_attribute("aria-label") or "")
    issues.filter(has_text="colour").get_by_role("button").click()
    assert page.evaluate("document.activeElement.id") == "yaml"
    shot(page, "draft-editor-issues")
    accessible(page)

    # Fixed, changed and saved; the render preview shows the layers' objects.
    fixed = text.replace("replicaCount: ${{ params.replicas }}", "replicaCount: 4", 1)
    editor.fill(fixed)
    status.filter(has_text="No issues").wait_for()
    assert page.locator("#gutter .bad").count() == 0
    page.get_by_role("button", name="Save", exact=True).click()
    status.filter(has_text="Saved (edit 2)").wait_for()
    page.get_by_label("domain (required)").fill("shop.example.com")
    page.get_by_role("button", name="Render").click()
    page.locator("#render-output details").first.wait_for()
    assert "ingress" in page.locator("#render-output").inner_text()
    page.get_by_role("button", name="Show values").click()
    page.locator("#values-output table").wait_for()
    assert "replicaCount" in page.locator("#values-output").inner_text()
    shot(page, "draft-editor-preview")

    # Publish with a channel and a changelog: the profile page shows the new version.
    page.get_by_role("button", name="Publish…").click()
    page.get_by_label("Channel").fill("beta")
    page.get_by_label("Changelog").fill("Four replicas, fixed")
    accessible(page)
    page.get_by_role("button", name="Publish", exact=True).click()
    page.wait_for_url(re.compile(r".*/profiles/web-platform\?version=2$"))
    versions = page.locator("#versions tbody tr").first.inner_text()
    assert "v2" in versions and "beta" in versions and "Four replicas, fixed" in versions


def test_a_stale_save_is_explained_and_metadata_saves(page: Any, site: Site) -> None:
    admin = api(site)
    draft = admin.post(DRAFTS, json={"name": "fresh"}).json()
    page.goto(f"/drafts/{draft['id']}")
    page.locator("#check-state").filter(has_text="No issues").wait_for()
    page.get_by_label("Description").fill("Edited in the browser")
    page.get_by_label("Tags").fill("a, b")
    page.get_by_role("button", name="Save details").click()
    page.get_by_label("Description").filter(has_text="Edited in the browser").wait_for()
    stored = admin.get(f"{DRAFTS}/{draft['id']}").json()
    assert stored["metadata"]["description"] == "Edited in the browser"
    assert stored["metadata"]["tags"] == ["a", "b"] and stored["version"] == 2
    # Someone else saves meanwhile: this page's save is refused with a clear message.
    body = {"spec": stored["spec"], "metadata": stored["metadata"], "version": 2}
    assert admin.post(f"{DRAFTS}/{draft['id']}", json=body).status_code == 200
    page.get_by_role("button", name="Save", exact=True).click()
    summary = page.locator("#save-form [data-summary]")
    summary.filter(has_text="changed elsewhere").wait_for()


def test_draft_page_over_http(site: Site) -> None:
    admin = api(site)
    draft = admin.post(DRAFTS, json={"name": "plain"}).json()
    client, _ = session(site)
    html = client.get(f"/drafts/{draft['id']}").text
    assert "name: plain" in html and 'data-editable="true"' in html
    assert client.get("/drafts/plain").status_code == 200  # by name
    assert client.get("/drafts/999999").status_code == 404
    viewer, _ = session(site, site.token_for(Role.VIEWER))
    seen = viewer.get(f"/drafts/{draft['id']}").text
    assert 'data-editable="false"' in seen and "Publish…" not in seen and "readonly" in seen
