"""`lamina catalog …` against the live server, a Git catalog and a loopback HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.test_catalog import GitCatalog, Served, entry, profile_doc
from tests.cli.conftest import Cli


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "www")
    yield server
    server.close()


def test_sources_search_install_and_update(cli: Cli, tmp_path: Path, served: Served) -> None:
    repo = GitCatalog(tmp_path / "repo")
    repo.commit(
        {
            "catalog.yaml": {"profiles": [entry("team-apps", "1.0.0", "team-apps.yaml")]},
            "team-apps.yaml": profile_doc("team-apps", description="Team apps"),
        }
    )
    added = cli.ok("catalog", "sources", "add", "team", "--url", repo.url, "--admins-only")
    assert added.stdout.startswith("added catalog source ") and "access admins" in added.stdout
    assert "lamina catalog sources sync team" in added.stderr
    assert cli.ok("catalog", "sources", "sync", "team").stdout == (
        "synced catalog source team: 1 entry\n"
    )
    table = cli.ok("catalog", "sources", "list").stdout
    for text in ("ACCESS", "ENTRIES", "team", "git", "admins"):
        assert text in table
    assert "access all" in cli.ok("catalog", "sources", "grant", "team").stdout
    assert "access admins" in cli.ok("catalog", "sources", "revoke", "team").stdout

    found = cli.ok("catalog", "search", "team").stdout
    assert "catalog" in found and "team-apps" in found and "1.0.0" in found
    installed = cli.ok("catalog", "install", "team-apps").stdout
    assert installed == "team-apps 1.0.0 from source team: published as version 1\n"
    shown = cli.ok("catalog", "show", "team-apps").stdout
    assert "team-apps (own): version 1" in shown and "team-apps (source team)" in shown

    repo.commit(
        {"catalog.yaml": {"profiles": [entry("team-apps", "1.2.0", "team-apps.yaml")]}},
    )
    repo.commit({"team-apps.yaml": profile_doc("team-apps", description="Newer")})
    cli.ok("catalog", "sources", "sync", "team")
    assert "available" in cli.ok("catalog", "search", "team-apps").stdout
    updated = cli.ok("catalog", "update", "team-apps").stdout
    assert updated == "team-apps 1.2.0 from source team: published as version 2\n"
    again = cli("catalog", "update", "team-apps")
    assert again.exit_code == 1 and "up to date" in again.stderr

    served.write({"solo.yaml": profile_doc("solo")})
    by_url = cli.json("catalog", "install", "--url", served.url("solo.yaml"))
    assert by_url["origin"]["source"] is None and by_url["published_version"] == 1
    usage = cli("catalog", "install", "solo", "--url", served.url("solo.yaml"))
    assert usage.exit_code == 2
    unknown = cli("catalog", "install", "nothing-like-it")
    assert unknown.exit_code == 2 and "no source lists it" in unknown.stderr

    repo.commit({"catalog.yaml": {"profiles": [{"name": "broken"}]}})
    failed = cli("catalog", "sources", "sync", "team")
    assert failed.exit_code == 1
    assert '["catalog.yaml"].profiles[0].version' in failed.stderr
    deleted = cli.ok("catalog", "sources", "delete", "team", "--yes").stdout
    assert deleted == "deleted catalog source team\n"
    assert cli.json("catalog", "sources", "list")["total_count"] == 0
