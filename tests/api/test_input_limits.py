"""Input the stores cannot hold is refused with 422 at a path, never a 500: ids out of
range, control characters; plus the framing answers (413, 405) and the OpenAPI contract."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from lamina.adapters import yamlio
from lamina.config import Services
from tests.api.test_journey import DRAFTS, PROFILES, import_doc, update_draft
from tests.conftest import TokenFactory
from tests.documents import web_platform

PROBLEM = "application/problem+json"
CLUSTERS = "/api/v1/org/clusters"
TOO_BIG = [2**31, 2**63, 2**64 + 1]


class KeepAlive:
    """One HTTP/1.1 connection, to prove that an answer leaves it usable."""

    def __init__(self, server_url: str, token: str) -> None:
        parts = urlsplit(server_url)
        self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        assert response.getheader("connection") != "close"
        return response.status, json.loads(payload) if payload else None

    @property
    def socket(self) -> object:
        return self.conn.sock


@pytest.fixture
def keepalive(server_url: str, make_token: TokenFactory) -> Iterator[KeepAlive]:
    conn = KeepAlive(server_url, make_token("acme", "admin"))
    yield conn
    conn.conn.close()


def paths_of(problem: dict[str, Any]) -> list[str]:
    return [issue["path"] for issue in problem["errors"]]


@pytest.mark.parametrize("big", TOO_BIG)
@pytest.mark.parametrize(
    ("method", "path", "body", "where"),
    [
        ("GET", f"{PROFILES}/1/versions/{{n}}", None, "number"),
        ("GET", f"{CLUSTERS}?page={{n}}", None, "page"),
        ("GET", f"{PROFILES}/1/diff?from_version={{n}}", None, "from_version"),
        ("POST", DRAFTS, {"profile_id": "{n}"}, "profile_id"),
        (
            "POST",
            f"{CLUSTERS}/1/stacks/from-profile",
            {"profile_id": 1, "version": "{n}"},
            "version",
        ),
    ],
)
def test_out_of_range_integers_answer_422_and_keep_the_connection(
    keepalive: KeepAlive, method: str, path: str, body: Any, where: str, big: int
) -> None:
    if body is not None:
        body = {k: big if v == "{n}" else v for k, v in body.items()}
    status, problem = keepalive.request(method, path.format(n=big), body)
    assert status == 422, problem
    assert where in paths_of(problem)
    first = keepalive.socket
    status, who = keepalive.request("GET", "/api/v1/org")
    assert status == 200 and who["org"] == "acme"
    assert keepalive.socket is first


@pytest.mark.parametrize("number", [0, 2**31 - 1, *TOO_BIG])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"{PROFILES}/{{n}}", None),
        ("DELETE", f"{DRAFTS}/{{n}}", None),
        ("PATCH", f"{CLUSTERS}/{{n}}", {"name": "x"}),
        ("POST", "/api/v1/org/registries/{n}/sync", None),
    ],
)
def test_a_number_no_row_can_have_is_simply_not_found(
    keepalive: KeepAlive, method: str, path: str, body: Any, number: int
) -> None:
    """A segment of digits only is an id; one out of the id range names nothing."""
    status, problem = keepalive.request(method, path.format(n=number), body)
    assert status == 404, problem
    first = keepalive.socket
    status, _ = keepalive.request("GET", "/api/v1/org")
    assert status == 200 and keepalive.socket is first


@pytest.mark.parametrize(
    ("segment", "status"),
    [("web%00platform", 422), ("web%07platform", 422), ("x" * 254, 422), ("%20", 404)],
)
def test_a_name_segment_the_store_cannot_hold_is_refused(
    keepalive: KeepAlive, segment: str, status: int
) -> None:
    answer, problem = keepalive.request("GET", f"{PROFILES}/{segment}")
    assert answer == status, problem
    if status == 422:
        assert paths_of(problem) == ["profile"]


def test_nul_in_a_name_is_refused_and_nothing_is_stored(client: httpx.Client) -> None:
    answer = client.post(DRAFTS, json={"name": "web\x00platform"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    assert paths_of(answer.json()) == ["name"]
    assert client.get(DRAFTS).json()["total_count"] == 0
    tab = client.post(DRAFTS, json={"name": "web\tplatform"})
    assert tab.status_code == 422, "names are single-line"


def test_control_characters_in_a_description_are_refused_but_newlines_are_fine(
    client: httpx.Client,
) -> None:
    created = import_doc(client, web_platform())
    assert created.status_code == 201, created.text
    profile_id = created.json()["profile"]["id"]
    bad = client.patch(f"{PROFILES}/{profile_id}", json={"description": "a\x00b"})
    assert bad.status_code == 422
    assert paths_of(bad.json()) == ["description"]
    bell = client.patch(f"{PROFILES}/{profile_id}", json={"description": "a\x07b"})
    assert bell.status_code == 422
    fine = client.patch(f"{PROFILES}/{profile_id}", json={"description": "two\nlines\tok"})
    assert fine.status_code == 200, fine.text
    assert fine.json()["description"] == "two\nlines\tok"


def test_nul_in_a_query_parameter_is_refused(client: httpx.Client) -> None:
    answer = client.get(PROFILES, params={"search": "a\x00b"})
    assert answer.status_code == 422
    assert paths_of(answer.json()) == ["search"]


def test_nul_in_a_yaml_import_is_refused_at_its_path(client: httpx.Client) -> None:
    text = yamlio.dump(web_platform()).replace(
        "description: Ingress and monitoring for web workloads",
        'description: "Ingress\\0and monitoring"',
    )
    assert "\\0" in text
    answer = client.post(
        f"{PROFILES}/import", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert answer.status_code == 422, answer.text
    assert paths_of(answer.json()) == ["metadata.description"]
    assert client.get(PROFILES).json()["total_count"] == 0


def test_nul_in_a_json_spec_is_refused_at_its_path(client: httpx.Client) -> None:
    draft = client.post(DRAFTS, json={"name": "web-platform"}).json()
    doc = web_platform()
    doc["spec"]["layers"][0]["values"] = {"greeting": "hi\x00there", "script": "a\nb"}
    answer = update_draft(client, draft, doc)
    assert answer.status_code == 422, answer.text
    assert paths_of(answer.json()) == ["spec.layers[0].values.greeting"]
    doc["spec"]["layers"][0]["values"] = {"bad\x00key": 1}
    answer = update_draft(client, draft, doc)
    assert answer.status_code == 422
    assert paths_of(answer.json()) == ["spec.layers[0].values"]
    assert client.get(f"{DRAFTS}/{draft['id']}").json()["version"] == draft["version"]


def test_a_chunked_body_over_the_limit_answers_413(
    client: httpx.Client, services: Services
) -> None:
    limit = services.settings.max_body_bytes
    chunk = b"x" * 65536

    def body() -> Iterator[bytes]:
        for _ in range(limit // len(chunk) + 2):
            yield chunk

    answer = client.post(
        f"{PROFILES}/drafts", content=body(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 413
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["status"] == 413


def test_405_names_the_allowed_methods(client: httpx.Client) -> None:
    answer = client.put(f"{PROFILES}/1")
    assert answer.status_code == 405
    assert answer.headers["content-type"] == PROBLEM
    allowed = {m.strip() for m in answer.headers["allow"].split(",")}
    assert {"GET", "PATCH", "DELETE"} <= allowed and "PUT" not in allowed


def test_openapi_declares_bearer_auth_and_problem_responses(client: httpx.Client) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert any(s == {**s, "type": "http", "scheme": "bearer"} for s in schemes.values())
    assert "Problem" in spec["components"]["schemas"]
    operation = spec["paths"]["/api/v1/org/stack-profiles/{profile}"]["patch"]
    assert operation["security"]
    for status in ("401", "403", "404", "409", "413", "422"):
        content = operation["responses"][status]["content"]
        assert content == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    render = spec["paths"]["/api/v1/org/stack-profiles/drafts/{draft}/render"]["post"]
    assert {"502", "503"} <= set(render["responses"])
    version = spec["paths"]["/api/v1/org/stack-profiles/{profile}/versions/{number}"]["get"]
    number = next(p for p in version["parameters"] if p["name"] == "number")
    assert number["schema"]["maximum"] == 2**31 - 1
    [profile] = [p for p in version["parameters"] if p["name"] == "profile"]
    assert profile["schema"]["maxLength"] == 253 and "name" in profile["description"]


def test_another_orgs_public_profile_is_read_only(
    client: httpx.Client, server_url: str, make_token: TokenFactory
) -> None:
    published = import_doc(client, web_platform(visibility="public")).json()
    profile_id = published["profile"]["id"]
    other = {"Authorization": f"Bearer {make_token('globex', 'admin')}"}
    with httpx.Client(base_url=server_url, headers=other, timeout=30) as globex:
        assert globex.get(f"{PROFILES}/{profile_id}").status_code == 200
        copy = globex.post(DRAFTS, json={"profile_id": profile_id})
        assert copy.status_code == 201, copy.text
        assert copy.json()["profile_id"] is None, "a copy publishes as a profile of its own"
        writes = [
            ("POST", f"{PROFILES}/{profile_id}/rollout", {"version": 1}),
            ("POST", f"{PROFILES}/{profile_id}/versions/1/deprecation", {"reason": "old"}),
            ("POST", f"{PROFILES}/{profile_id}/versions", {"cluster": "nowhere"}),
            ("PATCH", f"{PROFILES}/{profile_id}", {"description": "mine now"}),
        ]
        for method, path, body in writes:
            answer = globex.request(method, path, json=body)
            assert answer.status_code == 403, (path, answer.text)
        assert client.patch(f"{PROFILES}/{profile_id}", json={"visibility": "organisation"})
        for method, path, body in writes:
            assert globex.request(method, path, json=body).status_code == 404, path


def test_an_unexpected_error_answers_500_problem_and_keeps_the_connection(
    keepalive: KeepAlive, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(services.profiles, "detail", broken)
    status, problem = keepalive.request("GET", f"{PROFILES}/1")
    assert status == 500
    assert problem["title"] == "Internal error" and "a bug" not in problem["detail"]
    first = keepalive.socket
    assert keepalive.request("GET", "/api/v1/org")[0] == 200
    assert keepalive.socket is first
