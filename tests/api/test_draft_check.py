"""POST …/drafts/{draft}/check: the validate route's report for unsaved text, with lines."""

from __future__ import annotations

from typing import Any

import httpx

from lamina.adapters import yamlio
from lamina.domain.models import Role
from tests.api.test_journey import DRAFTS, import_doc
from tests.documents import numbered

YAML = {"Content-Type": "application/yaml"}


def _draft(client: httpx.Client, name: str = "checked") -> dict[str, Any]:
    answer = import_doc(client, numbered(name), as_draft="true")
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _check(client: httpx.Client, draft: int, text: str) -> httpx.Response:
    return client.post(f"{DRAFTS}/{draft}/check", content=text, headers=YAML)


def test_a_valid_document_has_no_issues_and_comes_back_parsed(client: httpx.Client) -> None:
    draft = _draft(client)
    answer = _check(client, draft["id"], yamlio.dump(numbered("checked")))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["valid"] is True
    assert [i for i in body["issues"] if i["severity"] == "error"] == []
    assert body["document"]["metadata"]["name"] == "checked"


def test_issues_carry_their_path_and_line(client: httpx.Client) -> None:
    draft = _draft(client)
    doc = numbered("checked")
    doc["spec"]["layers"][0]["surprise"] = 1  # an unknown field
    doc["spec"]["parameters"][0]["required"] = "yes"  # a wrong type
    text = yamlio.dump(doc)
    body = _check(client, draft["id"], text).json()
    assert body["valid"] is False
    found = {i["path"]: i for i in body["issues"]}
    unknown = found["spec.layers[0].surprise"]
    assert unknown["code"] == "unknown_field" and unknown["severity"] == "error"
    assert text.splitlines()[unknown["line"] - 1].strip() == "surprise: 1"
    wrong = found["spec.parameters[0].required"]
    assert text.splitlines()[wrong["line"] - 1].strip() == "required: 'yes'"


def test_broken_yaml_is_an_issue_at_its_line(client: httpx.Client) -> None:
    draft = _draft(client)
    text = "apiVersion: lamina.dev/v1\nmetadata:\n  name: x\nspec: [\n  layers:\n"
    answer = _check(client, draft["id"], text)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["valid"] is False and body["document"] is None
    [issue] = body["issues"]
    assert issue["code"] == "invalid_yaml" and issue["line"] is not None


def test_checking_never_changes_the_stored_draft(client: httpx.Client) -> None:
    draft = _draft(client)
    before = client.get(f"{DRAFTS}/{draft['id']}").json()
    other = numbered("renamed-by-check", layers=3)
    assert _check(client, draft["id"], yamlio.dump(other)).json()["valid"] is True
    assert _check(client, draft["id"], "not: [valid").status_code == 200
    assert client.get(f"{DRAFTS}/{draft['id']}").json() == before


def test_a_viewer_may_not_check(client: httpx.Client, server_url: str, make_token: Any) -> None:
    draft = _draft(client)
    headers = {"Authorization": f"Bearer {make_token('acme', Role.VIEWER.value)}", **YAML}
    answer = httpx.post(
        f"{server_url}{DRAFTS}/{draft['id']}/check", content="a: 1\n", headers=headers
    )
    assert answer.status_code == 403, answer.text
