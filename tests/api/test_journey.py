"""The authoring journey through real HTTP against the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import concurrent.futures
from typing import Any

import httpx

from lamina.adapters import yamlio
from tests.documents import web_platform

PROFILES = "/api/v1/org/stack-profiles"
DRAFTS = f"{PROFILES}/drafts"
PROBLEM = "application/problem+json"


def import_doc(http: httpx.Client, doc: Any, **params: str) -> httpx.Response:
    return http.post(
        f"{PROFILES}/import",
        content=yamlio.dump(doc),
        headers={"Content-Type": "application/yaml"},
        params=params,
    )


def update_draft(http: httpx.Client, draft: dict[str, Any], doc: dict[str, Any]) -> httpx.Response:
    spec = {k: v for k, v in doc["spec"].items() if k != "parameters"}
    body = {
        "spec": spec,
        "parameters": doc["spec"].get("parameters", []),
        "metadata": doc["metadata"],
        "version": draft["version"],
    }
    return http.post(f"{DRAFTS}/{draft['id']}", json=body)


def test_draft_to_versions_diff_and_export(client: httpx.Client) -> None:
    draft = client.post(DRAFTS, json={"name": "web-platform"}).json()
    assert draft["version"] == 1 and draft["spec"]["type"] == "add-on"

    updated = update_draft(client, draft, web_platform())
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2

    stale = update_draft(client, draft, web_platform(description="lost update"))
    assert stale.status_code == 409
    assert stale.headers["content-type"] == PROBLEM
    assert client.get(f"{DRAFTS}/{draft['id']}").json()["metadata"]["description"] == (
        "Ingress and monitoring for web workloads"
    )

    report = client.post(f"{DRAFTS}/{draft['id']}/validate").json()
    assert report["valid"] is True, report

    published = client.post(
        f"{DRAFTS}/{draft['id']}/publish", json={"changelog": "First cut"}
    ).json()
    profile_id = published["profile"]["id"]
    assert published["version"] == {"version": 1, "channel": "stable"}
    assert client.get(f"{DRAFTS}/{draft['id']}").status_code == 404

    second = client.post(DRAFTS, json={"profile_id": profile_id}).json()
    assert second["base_version"] == 1
    doc = web_platform()
    doc["spec"]["layers"].reverse()
    doc["spec"]["layers"][1]["chart"]["version"] = "1.1.0"
    assert update_draft(client, second, doc).status_code == 200
    v2 = client.post(
        f"{DRAFTS}/{second['id']}/publish", json={"channel": "beta", "changelog": "Bump"}
    )
    assert v2.json()["version"] == {"version": 2, "channel": "beta"}

    detail = client.get(f"{PROFILES}/{profile_id}").json()
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["profile"]["latest_version"] == 2
    assert detail["profile"]["current_version"] == 1  # latest on the stable channel
    assert detail["latest_version_detail"]["changelog"] == "Bump"
    assert detail["update_status"] == {
        "outdated_instantiation_count": 0,
        "has_update_available": False,
    }

    changes = client.get(f"{PROFILES}/{profile_id}/diff?from_version=1&to_version=2").json()
    assert changes["from_version"] == 1 and changes["to_version"] == 2
    by_path = {c["path"]: c for c in changes["changes"]}
    assert by_path["spec.layers[ingress].chart.version"] == {
        "path": "spec.layers[ingress].chart.version",
        "op": "changed",
        "from": "1.0.0",
        "to": "1.1.0",
    }

    version = client.get(f"{PROFILES}/{profile_id}/versions/1").json()
    assert [p["name"] for p in version["parameters"]][:2] == ["domain", "replicas"]
    assert "parameters" not in version["spec"]

    exported = client.get(f"{PROFILES}/{profile_id}/versions/1/iac-export")
    assert exported.headers["content-type"].startswith("application/yaml")
    doc = yamlio.load(exported.text)
    assert doc["metadata"]["version"] == 1
    assert doc["spec"] == web_platform()["spec"]


def test_validate_reports_every_error_with_paths(client: httpx.Client) -> None:
    draft = client.post(DRAFTS, json={"name": "broken"}).json()
    doc = web_platform(name="broken")
    doc["spec"]["layers"][0]["chart"]["version"] = "not a version!"
    doc["spec"]["layers"][1]["dependsOn"] = ["nowhere"]
    doc["spec"]["layers"][1]["surprise"] = True
    doc["spec"]["parameters"][1]["default"] = "two"
    assert update_draft(client, draft, doc).status_code == 200

    report = client.post(f"{DRAFTS}/{draft['id']}/validate").json()
    assert report["valid"] is False
    found = {(e["path"], e["code"]) for e in report["errors"]}
    assert {
        ("spec.layers[0].chart.version", "invalid_chart_version"),
        ("spec.layers[1].dependsOn[0]", "unknown_dependency"),
        ("spec.layers[1].surprise", "unknown_field"),
        ("spec.parameters[1].default", "default_wrong_type"),
    } <= found

    refused = client.post(f"{DRAFTS}/{draft['id']}/publish")
    assert refused.status_code == 422
    assert refused.headers["content-type"] == PROBLEM
    problem = refused.json()
    assert problem["status"] == 422
    assert {(e["path"], e["code"]) for e in problem["errors"]} == found
    assert client.get(PROFILES).json()["total_count"] == 0


def test_import_into_second_org_round_trips(
    client: httpx.Client, server_url: str, make_token: Any
) -> None:
    first = import_doc(client, web_platform())
    assert first.status_code == 201, first.text
    profile_id = first.json()["profile"]["id"]
    again = import_doc(client, web_platform(changelog="Second"))
    assert again.json()["version"]["version"] == 2
    text_a = client.get(f"{PROFILES}/{profile_id}/versions/2/iac-export").text

    other = httpx.Client(
        base_url=server_url, headers={"Authorization": f"Bearer {make_token('globex')}"}
    )
    assert other.get(f"{PROFILES}/{profile_id}").status_code == 404
    imported = other.post(
        f"{PROFILES}/import", content=text_a, headers={"Content-Type": "application/yaml"}
    )
    assert imported.status_code == 201, imported.text
    new_id = imported.json()["profile"]["id"]
    assert imported.json()["version"]["version"] == 1
    text_b = other.get(f"{PROFILES}/{new_id}/versions/1/iac-export").text

    doc_a, doc_b = yamlio.load(text_a), yamlio.load(text_b)
    assert doc_b["metadata"].pop("version") == 1
    assert doc_a["metadata"].pop("version") == 2
    assert doc_a == doc_b
    assert list(doc_a["metadata"]) == list(doc_b["metadata"])
    assert yamlio.dump(doc_a) == yamlio.dump(doc_b)


def test_import_as_draft_and_bad_documents(client: httpx.Client) -> None:
    draft = import_doc(client, web_platform(), as_draft="true")
    assert draft.status_code == 201
    assert draft.json()["name"] == "web-platform"
    assert client.get(PROFILES).json()["total_count"] == 0

    bad_yaml = client.post(f"{PROFILES}/import", content="metadata: [unclosed")
    assert bad_yaml.status_code == 422
    assert bad_yaml.json()["errors"][0]["code"] == "invalid_yaml"
    assert "line" in bad_yaml.json()["errors"][0]["message"]

    not_a_profile = import_doc(client, ["a", "list"])
    assert not_a_profile.status_code == 422
    invalid = import_doc(client, web_platform(name="Not_A_DNS_Name"))
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["path"] == "metadata.name"
    assert client.get(PROFILES).json()["total_count"] == 0


def test_pagination_search_and_filters(client: httpx.Client) -> None:
    for i in range(7):
        tags = ["even"] if i % 2 == 0 else ["odd"]
        doc = web_platform(name=f"stack-{i}", tags=tags, category="edge" if i < 3 else "core")
        assert import_doc(client, doc).status_code == 201
    page = client.get(PROFILES, params={"page": 2, "page_size": 3}).json()
    assert page["total_count"] == 7 and page["page"] == 2 and page["page_size"] == 3
    assert [p["name"] for p in page["result"]] == ["stack-3", "stack-4", "stack-5"]
    assert client.get(PROFILES, params={"tag": "odd"}).json()["total_count"] == 3
    assert client.get(PROFILES, params={"category": "edge"}).json()["total_count"] == 3
    found = client.get(PROFILES, params={"search": "STACK-6"}).json()
    assert [p["name"] for p in found["result"]] == ["stack-6"]
    assert client.get(PROFILES, params={"search": "%"}).json()["total_count"] == 0
    too_big = client.get(PROFILES, params={"page_size": 201})
    assert too_big.status_code == 422 and too_big.json()["errors"][0]["path"] == "page_size"


def test_cursor_pages_walk_the_list_as_offsets_do(client: httpx.Client) -> None:
    """Keyset pages (`cursor` = the previous page's `next_cursor`) give the same rows as
    numbered pages, keep `total_count`, and end with no cursor."""
    for i in range(7):
        assert import_doc(client, web_platform(name=f"stack-{i}", tags=["t"])).status_code == 201
    by_number = [
        [
            p["name"]
            for p in client.get(PROFILES, params={"page": n, "page_size": 3}).json()["result"]
        ]
        for n in (1, 2, 3)
    ]
    walked: list[list[str]] = []
    params: dict[str, Any] = {"page_size": 3, "tag": "t"}
    while True:
        answer = client.get(PROFILES, params=params).json()
        assert answer["total_count"] == 7
        walked.append([p["name"] for p in answer["result"]])
        if answer["next_cursor"] is None:
            break
        params["cursor"] = answer["next_cursor"]
    assert walked == by_number  # the last page of 1 row has no next cursor
    # A profile added before the cursor's position does not shift the next page.
    first = client.get(PROFILES, params={"page_size": 3}).json()
    assert import_doc(client, web_platform(name="a-new-one")).status_code == 201
    after = client.get(PROFILES, params={"page_size": 3, "cursor": first["next_cursor"]})
    assert [p["name"] for p in after.json()["result"]] == ["stack-3", "stack-4", "stack-5"]
    # garbage, not JSON, id 0, a NUL in the name
    for bad in ("x", "bm90IGpzb24", "WyJhIiwgMF0", "WyJcdTAwMDAiLCAxXQ"):
        refused = client.get(PROFILES, params={"cursor": bad})
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["path"] == "cursor"


def test_org_isolation_public_profiles_and_roles(
    client: httpx.Client, server_url: str, make_token: Any
) -> None:
    private = import_doc(client, web_platform(name="private-stack")).json()["profile"]["id"]
    public = import_doc(client, web_platform(name="shared", visibility="public")).json()
    public_id = public["profile"]["id"]

    def as_org(org: str, role: str = "admin") -> httpx.Client:
        token = make_token(org, role)
        return httpx.Client(base_url=server_url, headers={"Authorization": f"Bearer {token}"})

    other = as_org("globex")
    assert other.get(f"{PROFILES}/{private}").status_code == 404
    assert other.get(f"{PROFILES}/{private}/versions/1/iac-export").status_code == 404
    assert other.delete(f"{PROFILES}/{private}").status_code == 404
    assert other.get(PROFILES).json()["total_count"] == 0
    listed = other.get(PROFILES, params={"include_public": "true"}).json()
    assert [p["name"] for p in listed["result"]] == ["shared"]
    assert other.get(f"{PROFILES}/{public_id}").status_code == 200
    assert other.patch(f"{PROFILES}/{public_id}", json={"description": "x"}).status_code == 403
    assert other.delete(f"{PROFILES}/{public_id}").status_code == 403

    viewer = as_org("acme", "viewer")
    assert viewer.get(f"{PROFILES}/{private}").status_code == 200
    assert viewer.post(DRAFTS, json={"name": "nope"}).status_code == 403
    assert viewer.delete(f"{PROFILES}/{private}").status_code == 403

    anonymous = httpx.Client(base_url=server_url)
    assert anonymous.get(PROFILES).status_code == 401
    forged = httpx.Client(base_url=server_url, headers={"Authorization": "Bearer lam_forged"})
    assert forged.get(PROFILES).status_code == 401


def test_patch_and_delete_profile(client: httpx.Client) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    import_doc(client, web_platform(name="taken"))
    patched = client.patch(
        f"{PROFILES}/{profile_id}", json={"description": "New words", "tags": ["a", "b"]}
    )
    assert patched.status_code == 200
    assert patched.json()["tags"] == ["a", "b"]
    assert client.get(PROFILES, params={"tag": "a"}).json()["total_count"] == 1
    assert client.get(PROFILES, params={"tag": "web"}).json()["total_count"] == 1  # "taken"

    clash = client.patch(f"{PROFILES}/{profile_id}", json={"name": "taken"})
    assert clash.status_code == 422 and clash.json()["errors"][0]["code"] == "duplicate_name"
    bad = client.patch(f"{PROFILES}/{profile_id}", json={"name": "Bad Name"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "name"
    unknown = client.patch(f"{PROFILES}/{profile_id}", json={"latest_version": 9})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["path"] == "latest_version"

    exported = yamlio.load(client.get(f"{PROFILES}/{profile_id}/versions/1/iac-export").text)
    assert exported["metadata"]["description"] == "New words"

    assert client.delete(f"{PROFILES}/{profile_id}").status_code == 204
    assert client.get(f"{PROFILES}/{profile_id}").status_code == 404
    assert client.get(f"{PROFILES}/{profile_id}/versions/1").status_code == 404


def test_concurrent_publishes_get_distinct_numbers(client: httpx.Client) -> None:
    profile_id = import_doc(client, web_platform()).json()["profile"]["id"]
    drafts = [client.post(DRAFTS, json={"profile_id": profile_id}).json() for _ in range(6)]

    def publish(draft: dict[str, Any]) -> int:
        response = client.post(f"{DRAFTS}/{draft['id']}/publish")
        assert response.status_code == 201, response.text
        number: int = response.json()["version"]["version"]
        return number

    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
        numbers = sorted(pool.map(publish, drafts))
    assert numbers == [2, 3, 4, 5, 6, 7]


def test_importing_the_latest_version_again_publishes_nothing(client: httpx.Client) -> None:
    first = import_doc(client, web_platform(changelog="First"))
    assert first.status_code == 201, first.text
    profile_id = first.json()["profile"]["id"]
    exported = client.get(f"{PROFILES}/{profile_id}/versions/1/iac-export").text
    for same in (yamlio.dump(web_platform(changelog="First")), exported):
        again = client.post(
            f"{PROFILES}/import", content=same, headers={"Content-Type": "application/yaml"}
        )
        assert again.status_code == 200, again.text
        assert again.json() == {
            "unchanged": True,
            "profile": {"id": profile_id, "name": "web-platform"},
            "version": {"version": 1, "channel": "stable"},
        }
    assert import_doc(client, web_platform(changelog="")).status_code == 200  # none stated
    assert client.get(f"{PROFILES}/{profile_id}").json()["profile"]["latest_version"] == 1
    beta = import_doc(client, web_platform(channel="beta"))
    assert beta.status_code == 201 and beta.json()["version"]["version"] == 2


def test_concurrent_imports_of_a_new_name(client: httpx.Client) -> None:
    def run(i: int) -> int:
        response = import_doc(client, web_platform(name="raced", changelog=f"Run {i}"))
        assert response.status_code == 201, response.text
        number: int = response.json()["version"]["version"]
        return number

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        assert sorted(pool.map(run, range(4))) == [1, 2, 3, 4]


def test_limits_and_problem_format(client: httpx.Client) -> None:
    huge = "a: " + "x" * (5 * 1024 * 1024)
    response = client.post(f"{PROFILES}/import", content=huge)
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    missing = client.get(f"{PROFILES}/999999")
    assert missing.status_code == 404
    assert set(missing.json()) == {"type", "title", "status", "detail", "errors"}
    wrong = client.post(DRAFTS, json={"name": "x", "colour": "blue"})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["path"] == "colour"
    openapi = client.get("/api/v1/openapi.json").json()
    assert f"{DRAFTS}/{{draft}}/publish" in openapi["paths"]
    docs = client.get("/api/v1/docs").text
    assert "https://" not in docs and "http://" not in docs


def test_list_request_statement_count_does_not_grow_with_page_size(
    client: httpx.Client, services: Any
) -> None:
    from tests.adapters.test_store import count_statements

    for i in range(12):
        assert import_doc(client, web_platform(name=f"many-{i:02d}")).status_code == 201
    counts = {}
    for size in (1, 12, 200):
        with count_statements(services) as seen:
            page = client.get(PROFILES, params={"page_size": size, "tag": "web"}).json()
        assert len(page["result"]) == min(size, 12)
        counts[size] = len([sql for sql in seen if not sql.startswith("BEGIN")])
    assert len(set(counts.values())) == 1, counts
    assert counts[1] == 3  # token lookup, count, page


def test_hostile_draft_content_is_refused_and_nothing_changes(client: httpx.Client) -> None:
    draft = client.post(DRAFTS, json={"name": "target"}).json()
    deep: dict[str, Any] = {"type": "add-on"}
    node = deep
    for _ in range(150):
        node["x"] = {}
        node = node["x"]
    response = client.post(f"{DRAFTS}/{draft['id']}", json={"spec": deep, "version": 1})
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "too_deep"
    assert response.json()["errors"][0]["path"].startswith("spec.x.x")
    stored = client.get(f"{DRAFTS}/{draft['id']}").json()
    assert stored["version"] == 1 and stored["spec"] == {"type": "add-on", "layers": []}

    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    refused = client.post(f"{PROFILES}/import", content="\n".join(bomb))
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "too_large"


def test_draft_metadata_never_keeps_an_exported_version(client: httpx.Client) -> None:
    created = import_doc(client, web_platform(version=7), as_draft="true").json()
    assert "version" not in created["metadata"]
    updated = update_draft(client, created, web_platform(version=9)).json()
    assert "version" not in updated["metadata"]
    published = client.post(f"{DRAFTS}/{created['id']}/publish").json()
    assert published["version"]["version"] == 1
    assert client.post(DRAFTS, json={"name": "next"}).json()["id"] != created["id"]
