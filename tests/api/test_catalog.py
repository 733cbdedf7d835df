"""Catalog sources through real HTTP: a Git repository made with the git program and a
loopback HTTP server, synced, searched, installed from, updated, granted and revoked."""

from __future__ import annotations

import functools
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from lamina.adapters import yamlio
from tests.documents import numbered
from tests.fixtures.gitrepos import git_environment

SOURCES = "/api/v1/org/catalog-sources"
CATALOG = "/api/v1/org/catalog"
PROBLEM = "application/problem+json"


class GitCatalog:
    """A Git repository (branch main) in `path`, whose files are committed with `commit`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        self._env = git_environment(path) | {
            "GIT_AUTHOR_NAME": "Test",
            "GIT_AUTHOR_EMAIL": "test@example.org",
            "GIT_COMMITTER_NAME": "Test",
            "GIT_COMMITTER_EMAIL": "test@example.org",
        }
        self._git("init", "-q", "-b", "main", ".")

    @property
    def url(self) -> str:
        return self.path.resolve().as_uri()

    def _git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.path, env=self._env, check=True, timeout=60)

    def commit(self, files: dict[str, Any], message: str = "catalog") -> None:
        """Write `files` ({path: text, or a value written as YAML}) and commit them."""
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content if isinstance(content, str) else yamlio.dump(content))
        self._git("add", "-A")
        self._git("commit", "-q", "-m", message)


class Served:
    """A folder served over HTTP on 127.0.0.1 from a thread; `url(name)` addresses a file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str = "") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def write(self, files: dict[str, Any]) -> None:
        for name, content in files.items():
            target = self.root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content if isinstance(content, str) else yamlio.dump(content))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def git_catalog(tmp_path: Path) -> GitCatalog:
    return GitCatalog(tmp_path / "catalog-repo")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "www")
    yield server
    server.close()


@pytest.fixture
def as_org(
    server_url: str, make_token: Callable[..., str]
) -> Iterator[Callable[..., httpx.Client]]:
    opened: list[httpx.Client] = []

    def make(org: str = "acme", role: str = "admin") -> httpx.Client:
        headers = {"Authorization": f"Bearer {make_token(org, role)}"}
        http = httpx.Client(base_url=server_url, headers=headers, timeout=60)
        opened.append(http)
        return http

    yield make
    for http in opened:
        http.close()


def profile_doc(name: str, *, description: str = "", layers: int = 1) -> dict[str, Any]:
    doc = numbered(name, layers)
    if description:
        doc["metadata"]["description"] = description
    return doc


def entry(name: str, version: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": version, "url": url, **extra}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    found: dict[str, Any] = response.json()
    return found


def add_source(http: httpx.Client, name: str, kind: str, url: str, **extra: Any) -> Any:
    return ok(http.post(SOURCES, json={"name": name, "kind": kind, "url": url, **extra}), 201)


def rows(http: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(http.get(CATALOG, params=params))["result"]
    return found


def installed(http: httpx.Client) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in ok(http.get(f"{CATALOG}/installed"))}


def test_git_source_syncs_installs_and_updates(
    client: httpx.Client, git_catalog: GitCatalog
) -> None:
    git_catalog.commit(
        {
            "catalog/catalog.yaml": {
                "profiles": [
                    entry(
                        "team-apps", "1.0.0", "../profiles/team-apps-1.0.0.yaml", maintainer="sre"
                    )
                ]
            },
            "profiles/team-apps-1.0.0.yaml": profile_doc("team-apps", description="First"),
            "README.md": "not read",
        }
    )
    created = add_source(client, "team", "git", git_catalog.url)
    assert created["branch"] == "main" and created["access"] == "all"
    assert created["synced_at"] is None and created["entries_count"] == 0
    synced = ok(client.post(f"{SOURCES}/team/sync"))
    assert synced["source"]["entries_count"] == 1 and synced["source"]["last_error"] is None
    assert synced["entries"][0]["file"] == "catalog/catalog.yaml"
    assert synced["entries"][0]["maintainer"] == "sre"

    [row] = rows(client, source="team")
    assert row["origin"] == "catalog" and row["source"] == "team"
    assert (row["name"], row["version"], row["installed"]) == ("team-apps", "1.0.0", None)

    done = ok(client.post(f"{CATALOG}/install", json={"source": "team", "name": "team-apps"}), 201)
    assert done["published_version"] == 1 and done["latest_version"] == 1
    assert done["origin"]["source"] == "team" and done["origin"]["version"] == "1.0.0"
    assert done["origin"]["url"].endswith("#main:profiles/team-apps-1.0.0.yaml")
    assert done["has_update_available"] is False
    profile = ok(client.get(f"/api/v1/org/stack-profiles/{done['profile_id']}"))
    assert profile["profile"]["description"] == "First"
    again = client.post(f"{CATALOG}/install", json={"source": "team", "name": "team-apps"})
    assert "catalog update team-apps" in problem(again, 409)["detail"]

    # The source lists a newer version: seen only after a sync.
    git_catalog.commit(
        {
            "catalog/catalog.yaml": {
                "profiles": [
                    entry("team-apps", "1.0.0", "../profiles/team-apps-1.0.0.yaml"),
                    entry("team-apps", "1.1.0", "../profiles/team-apps-1.1.0.yaml"),
                ]
            },
            "profiles/team-apps-1.1.0.yaml": profile_doc("team-apps", description="Second"),
        }
    )
    assert installed(client)["team-apps"]["has_update_available"] is False
    ok(client.post(f"{SOURCES}/team/sync"))
    listed = installed(client)["team-apps"]
    assert listed["has_update_available"] is True and listed["available_version"] == "1.1.0"
    by_origin = {r["origin"]: r for r in rows(client, search="team-apps")}
    assert by_origin["own"]["has_update_available"] is True
    assert by_origin["own"]["installed"]["version"] == "1.0.0"
    assert by_origin["catalog"]["has_update_available"] is True
    assert by_origin["catalog"]["versions"] == ["1.1.0", "1.0.0"]

    updated = ok(client.post(f"{CATALOG}/update", json={"name": "team-apps"}))
    assert updated["published_version"] == 2 and updated["latest_version"] == 2
    assert updated["origin"]["version"] == "1.1.0" and updated["has_update_available"] is False
    profile = ok(client.get("/api/v1/org/stack-profiles/team-apps"))
    assert profile["profile"]["description"] == "Second"
    assert installed(client)["team-apps"]["has_update_available"] is False
    current = client.post(f"{CATALOG}/update", json={"name": "team-apps"})
    assert "up to date" in problem(current, 409)["detail"]


def test_git_source_of_profile_documents_under_a_path(
    client: httpx.Client, git_catalog: GitCatalog
) -> None:
    git_catalog.commit(
        {
            "approved/web.yaml": profile_doc("web", description="Web stack"),
            "approved/nested/jobs.yml": profile_doc("jobs"),
            "elsewhere/other.yaml": profile_doc("other"),
            "approved/values.yaml": {"replicaCount": 2},  # neither: skipped
        }
    )
    add_source(client, "docs", "git", git_catalog.url, path="approved/")
    synced = ok(client.post(f"{SOURCES}/docs/sync"))
    assert [e["name"] for e in synced["entries"]] == ["jobs", "web"]
    assert synced["source"]["path"] == "approved"
    done = ok(client.post(f"{CATALOG}/install", json={"source": "docs", "name": "web"}), 201)
    assert done["origin"]["url"].endswith("#main:approved/web.yaml")
    assert [r["name"] for r in rows(client, search="web stack")] == ["web", "web"]
    wrong = client.post(f"{CATALOG}/install", json={"source": "docs", "name": "other"})
    assert "lists no 'other'" in problem(wrong, 404)["detail"]


def test_http_source_installs_and_a_url_no_catalog_lists(
    client: httpx.Client, served: Served
) -> None:
    served.write(
        {
            "catalogs/team.yaml": {
                "apiVersion": "weave.works/v1alpha1",
                "kind": "ProfileCatalogSource",
                "metadata": {"name": "team"},
                "spec": {
                    "profiles": [
                        entry("team-apps", "1.0.0", "../docs/team-apps.yaml"),
                        entry("edge-proxy", "0.3.0", served.url("docs/edge.json")),
                    ]
                },
            },
            "docs/team-apps.yaml": profile_doc("team-apps"),
            "docs/edge.json": profile_doc("edge-proxy"),
            "loose/standalone.yaml": profile_doc("standalone", description="Not listed"),
        }
    )
    add_source(client, "web", "http", served.url("catalogs/team.yaml"))
    assert ok(client.post(f"{SOURCES}/web/sync"))["source"]["entries_count"] == 2
    for name in ("team-apps", "edge-proxy"):
        body = {"source": "web", "name": name, "version": None}
        assert ok(client.post(f"{CATALOG}/install", json=body), 201)["published_version"] == 1
    assert installed(client)["edge-proxy"]["origin"]["url"] == served.url("docs/edge.json")

    url = served.url("loose/standalone.yaml")
    done = ok(client.post(f"{CATALOG}/install", json={"url": url}), 201)
    assert done["name"] == "standalone" and done["published_version"] == 1
    assert done["origin"] == done["origin"] | {"source": None, "url": url, "version": ""}
    assert sorted(installed(client)) == ["edge-proxy", "standalone", "team-apps"]
    # Updating a URL install reads the URL again; unchanged, it publishes nothing.
    same = ok(client.post(f"{CATALOG}/update", json={"name": "standalone"}))
    assert same["published_version"] is None and same["latest_version"] == 1

    not_a_profile = client.post(
        f"{CATALOG}/install", json={"url": served.url("catalogs/team.yaml")}
    )
    assert problem(not_a_profile, 422)["errors"][0]["code"] == "invalid_value"
    both = client.post(f"{CATALOG}/install", json={"url": url, "source": "web", "name": "x"})
    problem(both, 422)
    file_url = client.post(f"{CATALOG}/install", json={"url": "file:///etc/passwd"})
    assert problem(file_url, 422)["errors"][0]["path"] == "url"


def test_editors_install_only_from_sources_granted_to_them(
    client: httpx.Client, served: Served, as_org: Callable[..., httpx.Client]
) -> None:
    served.write({"catalog.yaml": {"profiles": [entry("locked", "1.0.0", "locked.yaml")]}})
    served.write({"locked.yaml": profile_doc("locked")})
    created = add_source(client, "vetted", "http", served.url("catalog.yaml"), access="admins")
    assert created["access"] == "admins"
    ok(client.post(f"{SOURCES}/vetted/sync"))
    editor, viewer = as_org("acme", "editor"), as_org("acme", "viewer")
    body = {"source": "vetted", "name": "locked"}
    refused = problem(editor.post(f"{CATALOG}/install", json=body), 403)
    assert "admins only" in refused["detail"]
    problem(viewer.post(f"{CATALOG}/install", json=body), 403)
    [row] = rows(viewer, source="vetted")
    assert row["access"] == "admins"
    problem(editor.patch(f"{SOURCES}/vetted", json={"access": "all"}), 403)

    assert ok(client.patch(f"{SOURCES}/vetted", json={"access": "all"}))["access"] == "all"
    ok(editor.post(f"{CATALOG}/install", json=body), 201)
    assert ok(client.patch(f"{SOURCES}/vetted", json={"access": "admins"}))["access"] == "admins"
    served.write({"catalog.yaml": {"profiles": [entry("locked", "2.0.0", "locked.yaml")]}})
    ok(client.post(f"{SOURCES}/vetted/sync"))
    problem(editor.post(f"{CATALOG}/update", json={"name": "locked"}), 403)
    assert (
        ok(client.post(f"{CATALOG}/update", json={"name": "locked"}))["published_version"] is None
    )


def test_a_bad_catalog_file_fails_the_sync_with_a_path_into_it(
    client: httpx.Client, git_catalog: GitCatalog, served: Served
) -> None:
    good = {"profiles": [entry("team-apps", "1.0.0", "team-apps.yaml")]}
    git_catalog.commit({"catalog.yaml": good, "team-apps.yaml": profile_doc("team-apps")})
    add_source(client, "team", "git", git_catalog.url)
    ok(client.post(f"{SOURCES}/team/sync"))
    bad = {"profiles": [good["profiles"][0], {"name": "Bad Name", "url": 3}]}
    git_catalog.commit({"catalog.yaml": bad})
    failed = problem(client.post(f"{SOURCES}/team/sync"), 502)
    assert failed["title"] == "Catalog source unavailable"
    assert {(e["path"], e["code"]) for e in failed["errors"]} == {
        ('["catalog.yaml"].profiles[1].name', "invalid_name"),
        ('["catalog.yaml"].profiles[1].version', "missing_field"),
        ('["catalog.yaml"].profiles[1].url', "wrong_type"),
    }
    [source] = ok(client.get(SOURCES))["result"]
    assert source["last_error"].startswith('The catalog has 3 errors: ["catalog.yaml"].profiles[1]')
    assert source["entries_count"] == 1  # the last good entries stay
    git_catalog.commit({"catalog.yaml": "profiles:\n  - name: a\n    name: b\n"})
    broken = problem(client.post(f"{SOURCES}/team/sync"), 502)
    assert broken["errors"][0]["path"].startswith('["catalog.yaml"]')
    assert broken["errors"][0]["code"] == "invalid_yaml"

    served.write({"nothing.yaml": {"kind": "ConfigMap"}})
    add_source(client, "plain", "http", served.url("nothing.yaml"))
    refused = problem(client.post(f"{SOURCES}/plain/sync"), 502)
    assert refused["errors"][0]["code"] == "invalid_value"
    add_source(client, "gone", "http", served.url("missing.yaml"))
    missing = problem(client.post(f"{SOURCES}/gone/sync"), 502)
    assert "HTTP 404" in missing["detail"]
    add_source(client, "branchless", "git", git_catalog.url, branch="nope")
    no_branch = problem(client.post(f"{SOURCES}/branchless/sync"), 502)
    assert "Cannot read branch 'nope'" in no_branch["detail"]


def test_sources_are_checked_when_added(client: httpx.Client, git_catalog: GitCatalog) -> None:
    add_source(client, "team", "git", git_catalog.url)
    repo = git_catalog.url
    cases = [
        ({"name": "team", "kind": "git", "url": repo}, "name", "duplicate_name"),
        ({"name": "Team", "kind": "git", "url": repo}, "name", "invalid_name"),
        ({"name": "x", "kind": "http", "url": "ftp://example.org/c.yaml"}, "url", "invalid_value"),
        ({"name": "x", "kind": "http", "url": "http://10.0.0.1/c"}, "url", "target_not_allowed"),
        ({"name": "x", "kind": "git", "url": "file:///etc"}, "url", "target_not_allowed"),
        ({"name": "x", "kind": "git", "url": repo, "path": "../up"}, "path", "invalid_value"),
        ({"name": "x", "kind": "git", "url": repo, "branch": "a b"}, "branch", "invalid_value"),
        ({"name": "x", "kind": "http", "url": "https://a.example/c", "branch": "m"}, "branch",
         "invalid_value"),
    ]  # fmt: skip
    for body, path, code in cases:
        found = problem(client.post(SOURCES, json=body), 422)
        assert (path, code) in {(e["path"], e["code"]) for e in found["errors"]}, body
    assert ok(client.get(SOURCES))["total_count"] == 1


def test_another_org_cannot_see_or_use_a_source(
    client: httpx.Client, served: Served, as_org: Callable[..., httpx.Client]
) -> None:
    served.write({"c.yaml": {"profiles": [entry("shared", "1.0.0", "shared.yaml")]}})
    served.write({"shared.yaml": profile_doc("shared")})
    source = add_source(client, "team", "http", served.url("c.yaml"))
    ok(client.post(f"{SOURCES}/team/sync"))
    other = as_org("globex", "admin")
    assert ok(other.get(SOURCES))["total_count"] == 0
    assert rows(other) == []
    for ref in ("team", str(source["id"])):
        problem(other.post(f"{SOURCES}/{ref}/sync"), 404)
        problem(other.patch(f"{SOURCES}/{ref}", json={"access": "admins"}), 404)
        problem(other.delete(f"{SOURCES}/{ref}"), 404)
        problem(other.get(CATALOG, params={"source": ref}), 404)
        body = {"source": ref, "name": "shared"}
        problem(other.post(f"{CATALOG}/install", json=body), 404)
    assert [r["name"] for r in rows(client, source="team")] == ["shared"]


def test_search_pages_profiles_then_entries(client: httpx.Client, served: Served) -> None:
    for name in ("alpha", "beta"):
        headers = {"Content-Type": "application/yaml"}
        doc = yamlio.dump(profile_doc(name))
        ok(client.post("/api/v1/org/stack-profiles/import", content=doc, headers=headers), 201)
    listed = [entry(f"entry-{i}", "1.0.0", f"e{i}.yaml") for i in range(3)]
    served.write({"c.yaml": {"profiles": listed}})
    add_source(client, "team", "http", served.url("c.yaml"))
    ok(client.post(f"{SOURCES}/team/sync"))
    seen = []
    for page in (1, 2, 3):
        answer = ok(client.get(CATALOG, params={"page": page, "page_size": 2}))
        assert answer["total_count"] == 5
        seen += [(r["origin"], r["name"]) for r in answer["result"]]
    assert seen == [
        ("own", "alpha"),
        ("own", "beta"),
        ("catalog", "entry-0"),
        ("catalog", "entry-1"),
        ("catalog", "entry-2"),
    ]
    assert [r["name"] for r in rows(client, search="ENTRY-1")] == ["entry-1"]
    ok(client.delete(f"{SOURCES}/team"), 204)
    assert ok(client.get(CATALOG))["total_count"] == 2


def test_deleting_a_source_keeps_its_installed_profiles(
    client: httpx.Client, served: Served
) -> None:
    served.write({"c.yaml": {"profiles": [entry("kept", "1.0.0", "kept.yaml")]}})
    served.write({"kept.yaml": profile_doc("kept")})
    add_source(client, "team", "http", served.url("c.yaml"))
    ok(client.post(f"{SOURCES}/team/sync"))
    ok(client.post(f"{CATALOG}/install", json={"source": "team", "name": "kept"}), 201)
    ok(client.delete(f"{SOURCES}/team"), 204)
    kept = installed(client)["kept"]
    assert kept["origin"]["source"] == "team" and kept["has_update_available"] is False
    gone = client.post(f"{CATALOG}/update", json={"name": "kept"})
    assert "was deleted" in problem(gone, 409)["detail"]
    assert os.path.basename(kept["origin"]["url"]) == "kept.yaml"
