"""Every route against every role and another org: the minimum role is stated per route.

A route added without an entry here fails `test_every_route_states_its_minimum_role`.
Below its role a route answers 403 (problem+json); at or above it, never 401/403; on another
org's object, 404. One live server per backend; the objects are made once and reused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from lamina.adapters import yamlio
from lamina.api.app import create_app
from lamina.config import Services
from lamina.domain.models import Role
from tests.documents import numbered
from tests.fixtures.gitrepos import BareRepo

V, E, A = Role.VIEWER, Role.EDITOR, Role.ADMIN
PROFILES = "/api/v1/org/stack-profiles"
DRAFTS = f"{PROFILES}/drafts"
CLUSTERS = "/api/v1/org/clusters"
CHARTS_DIR = Path(__file__).parents[1] / "charts"
MISSING = 999999
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Call:
    """A route's minimum role (None: no token needed) and a request it accepts."""

    role: Role | None
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    yaml: Any = None


def _cluster_body(name: str) -> dict[str, Any]:
    return {"name": name, "gitops": {"url": "https://git.example.com/fleet.git"}}


RENDER = Call(V, json={})
_SOURCE = {"name": "roles-source", "kind": "git", "url": "file:///tmp/roles-catalog"}
LAYER = {"layer": "layer-0"}

ROUTES: dict[tuple[str, str], Call] = {
    # meta
    ("GET", "/api/v1/docs"): Call(None),
    ("GET", "/api/v1/openapi.json"): Call(None),
    ("GET", "/api/v1/health"): Call(None),
    ("GET", "/api/v1/org"): Call(V),
    ("GET", "/api/v1/version"): Call(V),
    # profiles and versions
    ("GET", PROFILES): Call(V),
    ("POST", PROFILES): Call(E, json={"cluster": "nowhere", "name": "captured"}),
    ("POST", f"{PROFILES}/import"): Call(E, yaml=numbered("imported")),
    ("GET", f"{PROFILES}/{{profile}}"): Call(V),
    ("PATCH", f"{PROFILES}/{{profile}}"): Call(E, json={"description": "Changed"}),
    ("DELETE", f"{PROFILES}/{{profile}}"): Call(E),
    ("GET", f"{PROFILES}/{{profile}}/diff"): Call(V, params={"from": 1, "to": 1}),
    ("GET", f"{PROFILES}/{{profile}}/instantiations"): Call(V),
    ("POST", f"{PROFILES}/{{profile}}/versions"): Call(E, json={"cluster": "nowhere"}),
    ("GET", f"{PROFILES}/{{profile}}/versions/{{number}}"): Call(V),
    ("GET", f"{PROFILES}/{{profile}}/versions/{{number}}/iac-export"): Call(V),
    ("POST", f"{PROFILES}/{{profile}}/versions/{{number}}/render"): RENDER,
    ("GET", f"{PROFILES}/{{profile}}/versions/{{number}}/effective-values"): Call(V, params=LAYER),
    ("POST", f"{PROFILES}/{{profile}}/versions/{{number}}/effective-values"): Call(
        V, json={}, params=LAYER
    ),
    ("POST", f"{PROFILES}/{{profile}}/versions/{{number}}/deprecation"): Call(
        E, json={"reason": "superseded"}
    ),
    ("DELETE", f"{PROFILES}/{{profile}}/versions/{{number}}/deprecation"): Call(E),
    ("POST", f"{PROFILES}/{{profile}}/rollout"): Call(E, json={"version": 1, "dry_run": True}),
    # drafts
    ("GET", DRAFTS): Call(V),
    ("POST", DRAFTS): Call(E, json={"name": "another"}),
    ("GET", f"{DRAFTS}/{{draft}}"): Call(V),
    ("POST", f"{DRAFTS}/{{draft}}"): Call(E, json={"spec": {}, "version": 1}),
    ("DELETE", f"{DRAFTS}/{{draft}}"): Call(E),
    ("POST", f"{DRAFTS}/{{draft}}/validate"): Call(V),
    ("POST", f"{DRAFTS}/{{draft}}/check"): Call(E, yaml=numbered("roles-checked")),
    ("POST", f"{DRAFTS}/{{draft}}/publish"): Call(E, json={}),
    ("POST", f"{DRAFTS}/{{draft}}/render"): RENDER,
    ("GET", f"{DRAFTS}/{{draft}}/effective-values"): Call(V, params=LAYER),
    ("POST", f"{DRAFTS}/{{draft}}/effective-values"): Call(V, json={}, params=LAYER),
    # clusters and stacks
    ("GET", CLUSTERS): Call(V),
    ("POST", CLUSTERS): Call(A, json=_cluster_body("another")),
    ("GET", f"{CLUSTERS}/{{cluster}}"): Call(V),
    ("PATCH", f"{CLUSTERS}/{{cluster}}"): Call(E, json={"labels": {"env": "test"}}),
    ("DELETE", f"{CLUSTERS}/{{cluster}}"): Call(A),
    ("POST", f"{CLUSTERS}/{{cluster}}/stacks/from-profile"): Call(E, json={"profile_id": 1}),
    ("POST", f"{CLUSTERS}/{{cluster}}/instantiations/{{instantiation_id}}/upgrade"): Call(
        E, json={}
    ),
    ("DELETE", f"{CLUSTERS}/{{cluster}}/instantiations/{{instantiation_id}}"): Call(E),
    ("GET", f"{CLUSTERS}/{{cluster}}/stack-drafts/{{draft_id}}/diff"): Call(V),
    ("POST", f"{CLUSTERS}/{{cluster}}/stack-drafts/{{draft_id}}/commit"): Call(E, json={}),
    ("DELETE", f"{CLUSTERS}/{{cluster}}/stack-drafts/{{draft_id}}"): Call(E),
    ("GET", f"{CLUSTERS}/{{cluster}}/stack"): Call(V),
    ("GET", f"{CLUSTERS}/{{cluster}}/stack-drafts"): Call(V),
    ("GET", f"{CLUSTERS}/{{cluster}}/revisions"): Call(V),
    ("POST", f"{CLUSTERS}/{{cluster}}/revisions/{{revision}}/restore"): Call(E),
    # registries and packs
    ("GET", "/api/v1/org/registries"): Call(V),
    ("POST", "/api/v1/org/registries"): Call(
        A, json={"name": "another", "kind": "local", "url": str(CHARTS_DIR)}
    ),
    ("DELETE", "/api/v1/org/registries/{registry}"): Call(A),
    ("POST", "/api/v1/org/registries/{registry}/sync"): Call(A),
    ("GET", "/api/v1/org/packs"): Call(V),
    ("GET", "/api/v1/org/packs/{registry}/{name}"): Call(V),
    ("GET", "/api/v1/org/packs/{registry}/{name}/versions/{version}/values"): Call(V),
    # admin
    ("GET", "/api/v1/org/tokens"): Call(A),
    ("POST", "/api/v1/org/tokens"): Call(A, json={"label": "another"}),
    ("DELETE", "/api/v1/org/tokens/{token_id}"): Call(A),
    ("GET", "/api/v1/org/audit"): Call(A),
    # jobs
    ("GET", "/api/v1/org/jobs"): Call(V),
    ("GET", "/api/v1/org/jobs/{job_id}"): Call(V),
    ("GET", "/api/v1/org/jobs/{job_id}/events"): Call(V),
    ("POST", "/api/v1/org/jobs/{job_id}/cancel"): Call(E),
    # catalog sources and the catalog
    ("GET", "/api/v1/org/catalog-sources"): Call(V),
    ("POST", "/api/v1/org/catalog-sources"): Call(
        A, json={"name": "another", "kind": "http", "url": "http://127.0.0.1:9/c.yaml"}
    ),
    ("POST", "/api/v1/org/catalog-sources/{source}/sync"): Call(A),
    ("PATCH", "/api/v1/org/catalog-sources/{source}"): Call(A, json={"access": "all"}),
    ("DELETE", "/api/v1/org/catalog-sources/{source}"): Call(A),
    ("GET", "/api/v1/org/catalog"): Call(V),
    ("GET", "/api/v1/org/catalog/installed"): Call(V),
    ("POST", "/api/v1/org/catalog/install"): Call(E, json={"source": "missing", "name": "x"}),
    ("POST", "/api/v1/org/catalog/update"): Call(E, json={"name": "missing"}),
    # imports
    ("POST", "/api/v1/org/imports/palette"): Call(
        E, json={"metadata": {"name": "roles-palette"}, "spec": {"template": {"packs": []}}}
    ),
    ("POST", "/api/v1/org/imports/weaveworks"): Call(
        E,
        yaml={
            "apiVersion": "weave.works/v1alpha1",
            "kind": "ProfileDefinition",
            "metadata": {"name": "roles-weaveworks"},
            "spec": {"artifacts": []},
        },
    ),
    # clone
    ("POST", f"{PROFILES}/{{profile}}/clone"): Call(A, json={"target_org": "globex"}),
}

# Requests whose role depends on the body, beyond each route's minimum.
EXTRA: list[tuple[str, str, Call]] = [
    ("PATCH", f"{CLUSTERS}/{{cluster}}", Call(A, json={"gitops": {"branch": "next"}})),
]


def test_every_route_states_its_minimum_role(services: Services) -> None:
    app = create_app(services)
    served = {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        # Web pages need a session (tests/web check them); these are the API's routes.
        if route.methods and route.path.startswith("/api/")
        for method in route.methods - {"HEAD"}
    }
    assert sorted(served - ROUTES.keys()) == [], "routes without a minimum role here"
    assert sorted(ROUTES.keys() - served) == [], "entries of routes that no longer exist"


@dataclass
class World:
    """acme's objects, and clients of acme at each role and of globex as admin."""

    ids: dict[str, Any]
    clients: dict[Role, httpx.Client]
    other: httpx.Client


def _ok(answer: httpx.Response) -> Any:
    assert answer.is_success, answer.text
    return answer.json()


def _import(http: httpx.Client, doc: Any) -> Any:
    headers = {"Content-Type": "application/yaml"}
    return http.post(f"{PROFILES}/import", content=yamlio.dump(doc), headers=headers)


def _build(admin: httpx.Client, repo: BareRepo) -> dict[str, Any]:
    """Every kind of object a route names, in acme."""
    profile = _ok(_import(admin, numbered("roles-profile")))["profile"]["id"]
    apart = numbered("roles-second")
    apart["spec"]["layers"][0]["namespace"] = "second"  # objects of its own
    second = _ok(_import(admin, apart))["profile"]["id"]
    draft = _ok(admin.post(DRAFTS, json={"name": "roles-draft"}))["id"]
    registry = _ok(
        admin.post(
            "/api/v1/org/registries",
            json={"name": "stable", "kind": "local", "url": str(CHARTS_DIR)},
        )
    )["id"]
    _ok(admin.post(f"/api/v1/org/registries/{registry}/sync"))
    body = _cluster_body("eu-1") | {"gitops": {"url": repo.url}}
    cluster = _ok(admin.post(CLUSTERS, json=body))["id"]
    stack = f"{CLUSTERS}/{cluster}"
    first = _ok(admin.post(f"{stack}/stacks/from-profile", json={"profile_id": profile}))
    _ok(admin.post(f"{stack}/stack-drafts/{first['draft_id']}/commit", json={}))
    [row] = _ok(admin.get(f"{PROFILES}/{profile}/instantiations"))
    pending = _ok(admin.post(f"{stack}/stacks/from-profile", json={"profile_id": second}))
    token = _ok(admin.post("/api/v1/org/tokens", json={"label": "spare"}))["id"]
    # A dry-run job: it changes nothing, and its routes need one.
    job = _ok(admin.post(f"{PROFILES}/{profile}/rollout", json={"version": 1, "dry_run": True}))
    return {
        "job_id": job["id"],
        "profile": profile,
        "number": 1,
        "draft": draft,
        "draft_id": pending["draft_id"],
        "cluster": cluster,
        "revision": 1,
        "instantiation_id": row["id"],
        "registry": registry,
        "name": "webapp",
        "version": "1.0.0",
        "token_id": token,
        "source": _ok(admin.post("/api/v1/org/catalog-sources", json=_SOURCE))["id"],
    }


@pytest.fixture
def world(
    server_url: str, make_token: Any, bare_repo: BareRepo
) -> Any:  # Iterator[World], kept loose for the fixture decorator
    def client(org: str, role: Role) -> httpx.Client:
        headers = {"Authorization": f"Bearer {make_token(org, role.value)}"}
        return httpx.Client(base_url=server_url, headers=headers, timeout=60)

    clients = {role: client("acme", role) for role in Role}
    other = client("globex", Role.ADMIN)
    try:
        yield World(_build(clients[A], bare_repo), clients, other)
    finally:
        for http in [*clients.values(), other]:
            http.close()


def _fill(path: str, ids: dict[str, Any], *, missing: bool) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if missing:
            return "missing" if isinstance(ids[name], str) else str(MISSING)
        return str(ids[name])

    return re.sub(r"\{(\w+)\}", value, path)


def _send(http: httpx.Client, method: str, url: str, call: Call) -> httpx.Response:
    if call.yaml is not None:
        headers = {"Content-Type": "application/yaml"}
        content = yamlio.dump(call.yaml)
        return http.request(method, url, content=content, headers=headers, params=call.params)
    return http.request(method, url, json=call.json, params=call.params)


def _cases() -> list[tuple[str, str, Call]]:
    return [(m, p, c) for (m, p), c in ROUTES.items() if c.role is not None] + EXTRA


def test_every_route_enforces_its_role_and_org(world: World, subtests: Any) -> None:
    for method, path, call in _cases():
        assert call.role is not None
        has_ids = "{" in path
        for role in Role:
            with subtests.test(route=f"{method} {path}", role=role.value):
                if not role.allows(call.role):
                    url = _fill(path, world.ids, missing=False)
                    answer = _send(world.clients[role], method, url, call)
                    assert answer.status_code == 403, answer.text
                    assert answer.headers["content-type"] == PROBLEM
                    continue
                # Writes at the role aim at missing objects, so the shared ones survive.
                url = _fill(path, world.ids, missing=has_ids and method != "GET")
                answer = _send(world.clients[role], method, url, call)
                assert answer.status_code not in (401, 403), answer.text
        if has_ids:
            with subtests.test(route=f"{method} {path}", org="other"):
                url = _fill(path, world.ids, missing=False)
                answer = _send(world.other, method, url, call)
                assert answer.status_code == 404, answer.text


# What `_build` named each object that a path may name by name or by id.
NAMES = {
    "profile": "roles-profile",
    "draft": "roles-draft",
    "cluster": "eu-1",
    "registry": "stable",
}
NAMED = re.compile(r"\{(" + "|".join(NAMES) + r")\}")
BELOW = {E: V, A: E}


def test_every_path_takes_a_name_or_an_id(world: World, subtests: Any) -> None:
    """Each segment naming a profile, draft, cluster or registry takes its name or its id.

    Reads (and previews, which change nothing) answer the same by name as by id. A write
    by name, sent one role too low, answers 403: the name was found and the role checked,
    while the shared objects stay as they are. Another org's names find nothing."""
    admin = world.clients[A]
    cases = [(m, p, c) for m, p, c in _cases() if NAMED.search(p)]
    assert len(cases) >= 30, "every named route is covered"
    for method, path, call in cases:
        assert call.role is not None
        by_id = _fill(path, world.ids, missing=False)
        by_name = _fill(path, world.ids | NAMES, missing=False)
        assert by_id != by_name
        with subtests.test(route=f"{method} {path}", by="name"):
            if call.role == V:
                expected = _send(admin, method, by_id, call)
                answer = _send(admin, method, by_name, call)
                assert answer.status_code == expected.status_code != 404, answer.text
                assert answer.content == expected.content
            else:
                answer = _send(world.clients[BELOW[call.role]], method, by_name, call)
                assert answer.status_code == 403, answer.text
        with subtests.test(route=f"{method} {path}", by="another org's name"):
            answer = _send(world.other, method, by_name, call)
            assert answer.status_code == 404, answer.text
