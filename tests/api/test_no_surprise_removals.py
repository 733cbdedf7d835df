"""No write removes another instantiation's objects by surprise.

Cluster eu-1 runs two committed profiles, `alpha` and `bravo`. Every write route of the app
is then called once, in an order that keeps the world usable, with a body that really
writes. After each write: every stack draft it made removes none of bravo's objects (only
writes aimed at alpha's instantiation may remove, and only alpha's objects); a fresh stack
draft adding an unrelated profile removes nothing at all; and when the write committed, the
cluster's Git tree still holds bravo's objects. Last, an explicit uninstall of bravo shows
that the same check does catch a removal.

A write route added without a step in `STEPS` fails
`test_no_write_removes_another_instantiations_objects`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi.routing import iter_route_contexts

from lamina.adapters import yamlio
from lamina.api.app import create_app
from lamina.config import Services
from lamina.domain.models import Role
from lamina.services import auth
from tests.api.jobs import JOBS, run_rollout, wait_for
from tests.api.test_catalog import GitCatalog
from tests.api.test_clusters import CLUSTERS, commit, register
from tests.api.test_exactly_once import manifests_profile
from tests.api.test_journey import DRAFTS, PROFILES, import_doc, update_draft
from tests.documents import numbered
from tests.fixtures.gitrepos import BareRepo

REGISTRIES = "/api/v1/org/registries"
CATALOG_SOURCES = "/api/v1/org/catalog-sources"
CATALOG = "/api/v1/org/catalog"
IMPORTS = "/api/v1/org/imports"
IMPORTED = Path(__file__).parents[1] / "importers"
YAML = {"Content-Type": "application/yaml"}
TOKENS = "/api/v1/org/tokens"
CHARTS_DIR = Path(__file__).parents[1] / "charts"
EU1 = f"{CLUSTERS}/eu-1"
PROTECTED = "bravo"  # the instantiation whose objects no write here may remove
TARGETED = "alpha"  # the instantiation some writes aim at explicitly
BRAVO_OBJECT = "name: bravo-settings"


@dataclass
class World:
    """The admin client, eu-1's repository, and the objects the steps made so far."""

    client: httpx.Client
    repo: BareRepo
    ids: dict[str, Any] = field(default_factory=dict)


@dataclass
class Effect:
    """What a write made: the stack drafts of eu-1 with their diffs (read as soon as each
    was made, before a commit of the same step consumed it), and which profile's objects
    those drafts may remove (None: nobody's)."""

    drafts: dict[int, Any] = field(default_factory=dict)
    may_remove: str | None = None


def _ok(answer: httpx.Response) -> Any:
    assert answer.is_success, f"{answer.request.method} {answer.request.url}: {answer.text}"
    return answer.json() if answer.content else None


def _instantiation(w: World, profile: str) -> int:
    stack = _ok(w.client.get(f"{EU1}/stack"))
    [found] = [
        i["instantiation_id"] for i in stack["instantiations"] if i["profile"]["name"] == profile
    ]
    return int(found)


def _diff(w: World, draft_id: int) -> Any:
    return _ok(w.client.get(f"{EU1}/stack-drafts/{draft_id}/diff"))


def _made(w: World, *drafts: int) -> dict[int, Any]:
    return {draft: _diff(w, draft) for draft in drafts}


def _removed_of(diff: Any, profile: str) -> list[str]:
    return [
        f"{r['kind']}/{r['namespace']}/{r['name']} ({r['layer']})"
        for r in diff["removed"]
        if r["layer"].startswith(f"{profile}/")
    ]


def _chart_doc(name: str, object_name: str) -> dict[str, Any]:
    """A profile of one ConfigMap and one chart layer from registry `stable`."""
    doc = numbered(name)
    doc["spec"]["layers"][0]["manifests"][0]["metadata"]["name"] = object_name
    doc["spec"]["layers"].append(
        {
            "name": "web",
            "category": "apps",
            "namespace": f"{name}-web",
            "chart": {"repository": "stable", "name": "webapp", "version": "1.0.0"},
        }
    )
    return doc


# -- the steps, one per write route, in the order they run -------------------------------


def create_registry(w: World) -> Effect:
    body = {"name": "stable", "kind": "local", "url": str(CHARTS_DIR)}
    w.ids["registry"] = _ok(w.client.post(REGISTRIES, json=body))["id"]
    return Effect()


def sync_registry(w: World) -> Effect:
    assert _ok(w.client.post(f"{REGISTRIES}/stable/sync"))["packs_count"] >= 1
    return Effect()


def import_profile(w: World) -> Effect:
    """Alpha's version 2 renames its object, so moving alpha to it removes alpha's object."""
    doc = numbered(TARGETED)
    doc["spec"]["layers"][0]["manifests"][0]["metadata"]["name"] = "alpha-config"
    answer = import_doc(w.client, doc)
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"]["version"] == 2
    return Effect()


def create_draft(w: World) -> Effect:
    draft = _ok(w.client.post(DRAFTS, json={"profile_id": w.ids[PROTECTED]}))
    w.ids["draft"] = draft
    return Effect()


def update_profile_draft(w: World) -> Effect:
    """Bravo's next version holds other objects than the version eu-1 runs."""
    answer = update_draft(w.client, w.ids["draft"], _chart_doc(PROTECTED, "bravo-next"))
    w.ids["draft"] = _ok(answer)
    return Effect()


def validate_draft(w: World) -> Effect:
    report = _ok(w.client.post(f"{DRAFTS}/{w.ids['draft']['id']}/validate"))
    assert report["valid"] is True, report
    return Effect()


def render_draft(w: World) -> Effect:
    rendered = _ok(w.client.post(f"{DRAFTS}/{w.ids['draft']['id']}/render", json={}))
    assert [layer["name"] for layer in rendered["layers"]] == ["layer-0", "web"]
    return Effect()


def draft_effective_values(w: World) -> Effect:
    url = f"{DRAFTS}/{w.ids['draft']['id']}/effective-values"
    assert _ok(w.client.post(url, json={}, params={"layer": "web"}))["layer"] == "web"
    return Effect()


def publish_draft(w: World) -> Effect:
    published = _ok(w.client.post(f"{DRAFTS}/{w.ids['draft']['id']}/publish", json={}))
    assert published["profile"]["name"] == PROTECTED
    assert published["version"]["version"] == 2
    return Effect()


def delete_draft(w: World) -> Effect:
    scratch = _ok(w.client.post(DRAFTS, json={"name": "scratch"}))
    assert w.client.delete(f"{DRAFTS}/{scratch['id']}").status_code == 204
    return Effect()


def render_version(w: World) -> Effect:
    _ok(w.client.post(f"{PROFILES}/{PROTECTED}/versions/1/render", json={}))
    return Effect()


def version_effective_values(w: World) -> Effect:
    url = f"{PROFILES}/{PROTECTED}/versions/2/effective-values"
    assert _ok(w.client.post(url, json={}, params={"layer": "web"}))["layer"] == "web"
    return Effect()


def deprecate_version(w: World) -> Effect:
    """The version eu-1 runs of bravo is deprecated: the probe still renders it."""
    url = f"{PROFILES}/{PROTECTED}/versions/1/deprecation"
    _ok(w.client.post(url, json={"reason": "superseded"}))
    return Effect()


def lift_deprecation(w: World) -> Effect:
    url = f"{PROFILES}/{PROTECTED}/versions/1/deprecation"
    assert w.client.delete(url).status_code == 204
    return Effect()


def patch_profile(w: World) -> Effect:
    _ok(w.client.patch(f"{PROFILES}/{PROTECTED}", json={"description": "Changed"}))
    return Effect()


def capture_profile(w: World) -> Effect:
    captured = _ok(w.client.post(PROFILES, json={"cluster": "eu-1", "name": "captured"}))
    assert captured["profile"]["name"] == "captured"
    return Effect()


def capture_version(w: World) -> Effect:
    _ok(w.client.post(f"{PROFILES}/captured/versions", json={"cluster": "eu-1"}))
    return Effect()


def register_cluster(w: World) -> Effect:
    register(w.client, "scratch-1", w.repo)
    return Effect()


def patch_cluster(w: World) -> Effect:
    body = {"labels": {"env": "staging"}, "kubernetes_version": "1.30.4"}
    _ok(w.client.patch(EU1, json=body))
    return Effect()


def instantiate(w: World) -> Effect:
    body = {"profile_id": w.ids["charlie"]}
    draft = _ok(w.client.post(f"{EU1}/stacks/from-profile", json=body))["draft_id"]
    w.ids["charlie_draft"] = draft
    return Effect(_made(w, draft))


def commit_draft(w: World) -> Effect:
    committed = _ok(commit(w.client, {"id": "eu-1"}, w.ids["charlie_draft"]))
    assert committed["revision"] == 3
    return Effect()


def discard_draft(w: World) -> Effect:
    body = {"profile_id": w.ids["probe"]}
    draft = _ok(w.client.post(f"{EU1}/stacks/from-profile", json=body))["draft_id"]
    assert w.client.delete(f"{EU1}/stack-drafts/{draft}").status_code == 204
    return Effect()


def upgrade(w: World) -> Effect:
    url = f"{EU1}/instantiations/{_instantiation(w, TARGETED)}/upgrade"
    draft = _ok(w.client.post(url, json={"version": 2}))["draft_id"]
    made = _made(w, draft)
    removed = made[draft]["removed"]
    assert [r["name"] for r in removed] == ["alpha-settings"], removed
    return Effect(made, may_remove=TARGETED)


def rollout(w: World) -> Effect:
    """A dry run keeps its draft for review; the real run then commits alpha's version 2."""
    dry = run_rollout(w.client, TARGETED, {"version": 2, "dry_run": True})
    drafts = [r["draft_id"] for r in dry["results"] if r["draft_id"] is not None]
    assert dry["would_change"] == 1 and len(drafts) == 1, dry
    made = _made(w, *drafts)
    removed = made[drafts[0]]["removed"]
    assert [r["name"] for r in removed] == ["alpha-settings"], removed
    done = run_rollout(w.client, TARGETED, {"version": 2})
    assert done["committed"] == 1, done
    return Effect(made, may_remove=TARGETED)


# Holds a push to the remote until the test lets it go, so a job is surely running.
_HELD_HOOK = """#!/bin/sh
touch "{pushed}"
while [ ! -e "{release}" ]; do sleep 0.05; done
"""


def cancel_job(w: World) -> Effect:
    """A rollout of charlie's next version to another cluster, cancelled while it pushes."""
    held = BareRepo()
    try:
        cluster = register(w.client, "held-1", held)
        body = {"profile_id": w.ids["charlie"], "deploy": True}
        _ok(w.client.post(f"{CLUSTERS}/{cluster['id']}/stacks/from-profile", json=body))
        doc = numbered("charlie")
        doc["spec"]["layers"][0]["manifests"][0]["metadata"]["name"] = "charlie-config"
        assert import_doc(w.client, doc).status_code == 201
        pushed, release = held.path / "pushed", held.path / "release"
        hook = held.path / "hooks" / "post-receive"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(_HELD_HOOK.format(pushed=pushed, release=release))
        hook.chmod(0o755)
        request = {"version": 2, "clusters": ["held-1"]}
        started = w.client.post(f"{PROFILES}/charlie/rollout", json=request)
        assert started.status_code == 202, started.text
        try:
            deadline = time.monotonic() + 60
            while not pushed.exists():
                assert time.monotonic() < deadline, "the rollout never pushed"
                time.sleep(0.02)
            job = _ok(w.client.post(f"{JOBS}/{started.json()['id']}/cancel"))
            assert job["cancel_requested"] is True, job
        finally:
            release.touch()
        assert wait_for(w.client, started.json()["id"])["state"] in ("cancelled", "succeeded")
        answer = w.client.delete(f"{CLUSTERS}/held-1", params={"force": "true"})
        assert answer.status_code == 204, answer.text
    finally:
        held.cleanup()
    return Effect()


def restore(w: World) -> Effect:
    """Revision 3 ran alpha's version 1 next to bravo and charlie: only alpha changes back."""
    draft = _ok(w.client.post(f"{EU1}/revisions/3/restore"))["draft_id"]
    made = _made(w, draft)
    removed = made[draft]["removed"]
    assert [r["name"] for r in removed] == ["alpha-config"], removed
    return Effect(made, may_remove=TARGETED)


def uninstall(w: World) -> Effect:
    url = f"{EU1}/instantiations/{_instantiation(w, TARGETED)}"
    draft = _ok(w.client.delete(url))["draft_id"]
    made = _made(w, draft)
    removed = made[draft]["removed"]
    assert [r["name"] for r in removed] == ["alpha-config"], removed
    _ok(commit(w.client, {"id": "eu-1"}, draft))
    return Effect(made, may_remove=TARGETED)


def check_draft(w: World) -> Effect:
    """The editor's live check of a text: it stores nothing."""
    draft = _ok(w.client.post(DRAFTS, json={"name": "checked"}))["id"]
    text = yamlio.dump(numbered("checked"))
    answer = w.client.post(f"{DRAFTS}/{draft}/check", content=text, headers=YAML)
    assert _ok(answer)["valid"] is True
    return Effect()


def add_catalog_source(w: World) -> Effect:
    catalog = GitCatalog(Path(tempfile.mkdtemp(prefix="lamina-catalog-")) / "repo")
    catalog.commit(
        {
            "catalog.yaml": {"profiles": [_entry("echo", "1.0.0")]},
            "echo-1.0.0.yaml": numbered("echo"),
        }
    )
    w.ids["catalog"] = catalog
    body = {"name": "team", "kind": "git", "url": catalog.url}
    _ok(w.client.post(CATALOG_SOURCES, json=body))
    return Effect()


def sync_catalog_source(w: World) -> Effect:
    assert _ok(w.client.post(f"{CATALOG_SOURCES}/team/sync"))["source"]["entries_count"] == 1
    return Effect()


def restrict_catalog_source(w: World) -> Effect:
    assert _ok(w.client.patch(f"{CATALOG_SOURCES}/team", json={"access": "admins"}))
    return Effect()


def install_from_catalog(w: World) -> Effect:
    _ok(w.client.post(f"{CATALOG}/install", json={"source": "team", "name": "echo"}))
    return Effect()


def update_from_catalog(w: World) -> Effect:
    newer = numbered("echo", 2)
    w.ids["catalog"].commit(
        {
            "catalog.yaml": {"profiles": [_entry("echo", "1.0.0"), _entry("echo", "1.1.0")]},
            "echo-1.1.0.yaml": newer,
        }
    )
    _ok(w.client.post(f"{CATALOG_SOURCES}/team/sync"))
    assert _ok(w.client.post(f"{CATALOG}/update", json={"name": "echo"}))["published_version"] == 2
    return Effect()


def delete_catalog_source(w: World) -> Effect:
    assert w.client.delete(f"{CATALOG_SOURCES}/team").status_code == 204
    shutil.rmtree(w.ids["catalog"].path.parent, ignore_errors=True)
    return Effect()


def _entry(name: str, version: str) -> dict[str, str]:
    return {"name": name, "version": version, "url": f"{name}-{version}.yaml"}


def _importer(kind: str, source: str, content_type: str) -> Callable[[World], Effect]:
    """The step posting a source document written for the suite to an importer: a draft."""

    def step(w: World) -> Effect:
        answer = w.client.post(
            f"{IMPORTS}/{kind}",
            content=(IMPORTED / source).read_text(),
            headers={"Content-Type": content_type},
        )
        assert answer.status_code == 201, answer.text
        return Effect()

    return step


def clone_profile(w: World) -> Effect:
    """charlie (manifests only) cloned into another org: nothing of eu-1 changes."""
    target = w.ids["other_org_token"]
    answer = w.client.post(
        f"{PROFILES}/charlie/clone",
        json={"target_org": "globex"},
        headers={"X-Lamina-Target-Token": target},
    )
    assert answer.status_code == 201, answer.text
    return Effect()


def create_token(w: World) -> Effect:
    w.ids["token"] = _ok(w.client.post(TOKENS, json={"label": "spare"}))["id"]
    return Effect()


def revoke_token(w: World) -> Effect:
    assert w.client.delete(f"{TOKENS}/{w.ids['token']}").status_code == 204
    return Effect()


def delete_registry(w: World) -> Effect:
    body = {"name": "spare", "kind": "local", "url": str(CHARTS_DIR)}
    _ok(w.client.post(REGISTRIES, json=body))
    assert w.client.delete(f"{REGISTRIES}/spare").status_code == 204
    return Effect()


def delete_cluster(w: World) -> Effect:
    assert w.client.delete(f"{CLUSTERS}/scratch-1").status_code == 204
    return Effect()


def archive_profile(w: World) -> Effect:
    """Deleting bravo's profile while eu-1 runs it archives it; eu-1 keeps running it."""
    answer = w.client.delete(f"{PROFILES}/{PROTECTED}", params={"force": "true"})
    assert _ok(answer)["archived"] is True
    return Effect()


STEPS: dict[tuple[str, str], Callable[[World], Effect]] = {
    ("POST", REGISTRIES): create_registry,
    ("POST", f"{REGISTRIES}/{{registry}}/sync"): sync_registry,
    ("POST", f"{PROFILES}/import"): import_profile,
    ("POST", DRAFTS): create_draft,
    ("POST", f"{DRAFTS}/{{draft}}"): update_profile_draft,
    ("POST", f"{DRAFTS}/{{draft}}/validate"): validate_draft,
    ("POST", f"{DRAFTS}/{{draft}}/render"): render_draft,
    ("POST", f"{DRAFTS}/{{draft}}/effective-values"): draft_effective_values,
    ("POST", f"{DRAFTS}/{{draft}}/publish"): publish_draft,
    ("DELETE", f"{DRAFTS}/{{draft}}"): delete_draft,
    ("POST", f"{PROFILES}/{{profile}}/versions/{{number}}/render"): render_version,
    ("POST", f"{PROFILES}/{{profile}}/versions/{{number}}/effective-values"): (
        version_effective_values
    ),
    ("POST", f"{PROFILES}/{{profile}}/versions/{{number}}/deprecation"): deprecate_version,
    ("DELETE", f"{PROFILES}/{{profile}}/versions/{{number}}/deprecation"): lift_deprecation,
    ("PATCH", f"{PROFILES}/{{profile}}"): patch_profile,
    ("POST", PROFILES): capture_profile,
    ("POST", f"{PROFILES}/{{profile}}/versions"): capture_version,
    ("POST", CLUSTERS): register_cluster,
    ("PATCH", f"{CLUSTERS}/{{cluster}}"): patch_cluster,
    ("POST", f"{CLUSTERS}/{{cluster}}/stacks/from-profile"): instantiate,
    ("POST", f"{CLUSTERS}/{{cluster}}/stack-drafts/{{draft_id}}/commit"): commit_draft,
    ("DELETE", f"{CLUSTERS}/{{cluster}}/stack-drafts/{{draft_id}}"): discard_draft,
    ("POST", f"{CLUSTERS}/{{cluster}}/instantiations/{{instantiation_id}}/upgrade"): upgrade,
    ("POST", f"{PROFILES}/{{profile}}/rollout"): rollout,
    ("POST", f"{JOBS}/{{job_id}}/cancel"): cancel_job,
    ("POST", f"{CLUSTERS}/{{cluster}}/revisions/{{revision}}/restore"): restore,
    ("DELETE", f"{CLUSTERS}/{{cluster}}/instantiations/{{instantiation_id}}"): uninstall,
    ("POST", f"{DRAFTS}/{{draft}}/check"): check_draft,
    ("POST", CATALOG_SOURCES): add_catalog_source,
    ("POST", f"{CATALOG_SOURCES}/{{source}}/sync"): sync_catalog_source,
    ("PATCH", f"{CATALOG_SOURCES}/{{source}}"): restrict_catalog_source,
    ("POST", f"{CATALOG}/install"): install_from_catalog,
    ("POST", f"{CATALOG}/update"): update_from_catalog,
    ("DELETE", f"{CATALOG_SOURCES}/{{source}}"): delete_catalog_source,
    ("POST", f"{IMPORTS}/palette"): _importer("palette", "palette-addon.json", "application/json"),
    ("POST", f"{IMPORTS}/weaveworks"): _importer(
        "weaveworks", "weaveworks-profile.yaml", "application/yaml"
    ),
    ("POST", f"{PROFILES}/{{profile}}/clone"): clone_profile,
    ("POST", TOKENS): create_token,
    ("DELETE", f"{TOKENS}/{{token_id}}"): revoke_token,
    ("DELETE", f"{REGISTRIES}/{{registry}}"): delete_registry,
    ("DELETE", f"{CLUSTERS}/{{cluster}}"): delete_cluster,
    ("DELETE", f"{PROFILES}/{{profile}}"): archive_profile,
}


def _write_routes(services: Services) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in iter_route_contexts(create_app(services).routes)
        # The web UI writes through these routes; its own POSTs only sign in and out.
        if route.methods and route.path.startswith("/api/")
        for method in route.methods - {"GET", "HEAD", "OPTIONS"}
    }


# -- the checks after each write ---------------------------------------------------------


def _check_drafts(w: World, route: str, effect: Effect) -> None:
    for draft, diff in effect.drafts.items():
        assert _removed_of(diff, PROTECTED) == [], (
            f"{route} made stack draft {draft}, which removes {PROTECTED}'s objects"
        )
        others = [r for r in diff["removed"] if not r["layer"].startswith(f"{effect.may_remove}/")]
        assert others == [], f"{route} made stack draft {draft}, which removes {others}"


def _probe(w: World, route: str) -> None:
    """A stack draft adding an unrelated profile removes nothing; it is discarded."""
    body = {"profile_id": w.ids["probe"]}
    draft = _ok(w.client.post(f"{EU1}/stacks/from-profile", json=body))["draft_id"]
    try:
        diff = _diff(w, draft)
        assert diff["removed"] == [], f"after {route}, adding 'probe' removes {diff['removed']}"
        assert [a["name"] for a in diff["added"]] == ["probe-settings"], diff["added"]
    finally:
        assert w.client.delete(f"{EU1}/stack-drafts/{draft}").status_code == 204


def _check_tree(w: World, route: str) -> None:
    files = w.repo.files_at("main", "clusters/eu-1")
    holding = [path for path, text in files.items() if BRAVO_OBJECT in text]
    assert holding, f"after {route}, the committed tree of eu-1 lost {PROTECTED}'s objects"


def _setup(w: World) -> None:
    for name in (TARGETED, PROTECTED, "charlie", "probe"):
        w.ids[name] = manifests_profile(w.client, name)
    eu1 = register(w.client, "eu-1", w.repo)
    for name in (TARGETED, PROTECTED):
        body = {"profile_id": w.ids[name], "deploy": True}
        _ok(w.client.post(f"{CLUSTERS}/{eu1['id']}/stacks/from-profile", json=body))
    assert len(w.repo.log()) == 2
    _check_tree(w, "setup")
    _probe(w, "setup")


def test_no_write_removes_another_instantiations_objects(
    client: httpx.Client, bare_repo: BareRepo, services: Services
) -> None:
    writes = _write_routes(services)
    assert sorted(writes - STEPS.keys()) == [], "write routes without a step here"
    assert sorted(STEPS.keys() - writes) == [], "steps of routes that no longer exist"

    w = World(client, bare_repo)
    w.ids["other_org_token"] = auth.create_token(services.store, org_slug="globex", role=Role.ADMIN)
    _setup(w)
    for (method, path), step in STEPS.items():
        route = f"{method} {path}"
        head = bare_repo.head()
        effect = step(w)
        _check_drafts(w, route, effect)
        _probe(w, route)
        if bare_repo.head() != head:
            _check_tree(w, route)

    # The check can fail: an explicit uninstall of bravo does remove its objects.
    url = f"{EU1}/instantiations/{_instantiation(w, PROTECTED)}"
    draft = _ok(client.delete(url))["draft_id"]
    assert _removed_of(_diff(w, draft), PROTECTED) == [
        f"ConfigMap/apps/bravo-settings ({PROTECTED}/layer-0)"
    ]
    assert client.delete(f"{EU1}/stack-drafts/{draft}").status_code == 204
