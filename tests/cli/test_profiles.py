"""`lamina profiles …` against the live server, in table, JSON and YAML modes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from lamina.adapters import yamlio
from lamina.config import Services
from tests.cli.conftest import INVALID, WEB_PLATFORM, Cli, live, variant
from tests.documents import numbered


def api(cli: Cli, path: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {cli.token}"}
    response = httpx.get(f"{cli.server}/api/v1/org/stack-profiles{path}", headers=headers)
    response.raise_for_status()
    return response


def test_import_and_list_in_table_and_json(cli: Cli) -> None:
    imported = cli.ok("profiles", "import", cli.file(WEB_PLATFORM))
    assert imported.stdout == "published web-platform version 1 (stable)\n"
    table = cli.ok("profiles", "list").stdout
    for word in ("ID", "NAME", "TYPE", "LATEST", "CURRENT", "CATEGORY", "TAGS", "VISIBILITY"):
        assert word in table
    assert "web-platform" in table and "organisation" in table
    assert "page 1 of 1 (total 1)" in table
    assert cli.json("profiles", "list") == api(cli, "").json()


def test_list_filters_and_all_follows_pages(cli: Cli) -> None:
    for name in ("alpha", "beta", "gamma"):
        cli.ok("profiles", "import", cli.file(variant(name)))
    one = cli.ok("profiles", "list", "--page-size", "1", "--page", "2").stdout
    assert "beta" in one and "alpha" not in one and "page 2 of 3 (total 3)" in one
    everything = cli.json("profiles", "list", "--page-size", "1", "--all")
    assert [p["name"] for p in everything["result"]] == ["alpha", "beta", "gamma"]
    assert everything["total_count"] == 3
    found = cli.json(
        "profiles", "list", "--search", "amm", "--category", "platform", "--tag", "web"
    )
    assert [p["name"] for p in found["result"]] == ["gamma"]


def test_show_in_table_json_and_yaml(cli: Cli, profile_id: int) -> None:
    table = cli.ok("profiles", "show", str(profile_id)).stdout
    assert "web-platform" in table and "Web stack" in table and "Versions" in table
    assert "Update status: up to date" in table
    assert cli.json("profiles", "show", str(profile_id)) == api(cli, f"/{profile_id}").json()
    as_yaml = cli.ok("profiles", "show", str(profile_id), "-o", "yaml").stdout
    assert yamlio.load(as_yaml) == api(cli, f"/{profile_id}").json()
    by_name = cli.json("profiles", "show", "web-platform")
    assert by_name == api(cli, f"/{profile_id}").json()
    assert cli.ok("profiles", "show", "web-platform").stdout == table


def test_diff_in_table_and_json(cli: Cli, profile_id: int) -> None:
    table = cli.ok("profiles", "diff", str(profile_id)).stdout
    assert cli.ok("profiles", "diff", "web-platform").stdout == table
    assert "Changes from version 1 to version 2" in table
    assert "spec.layers[ingress].chart.version" in table and "changed" in table
    assert '"1.0.0"' in table and '"1.1.0"' in table
    assert (
        cli.json("profiles", "diff", str(profile_id), "--from", "1", "--to", "2")
        == api(cli, f"/{profile_id}/diff?from_version=1&to_version=2").json()
    )
    same = cli.ok("profiles", "diff", str(profile_id), "--from", "2", "--to", "2").stdout
    assert same == "No changes from version 2 to version 2.\n"
    long = variant(chart="1.1.0").replace("{host:", "{motd: " + "x" * 300 + ", host:")
    cli.ok("profiles", "import", cli.file(long))
    added = cli.ok("profiles", "diff", str(profile_id)).stdout
    assert "spec.layers[ingress].values.controller.motd" in added
    assert "…" in added and "x" * 100 not in added


def test_export_writes_the_api_yaml_unchanged(cli: Cli, profile_id: int, tmp_path: Path) -> None:
    latest = cli.ok("profiles", "export", str(profile_id)).stdout
    assert latest == api(cli, f"/{profile_id}/versions/2/iac-export").text
    assert yamlio.load(latest)["metadata"]["version"] == 2
    target = tmp_path / "v1.yaml"
    cli.ok("profiles", "export", str(profile_id), "--version", "1", "-f", str(target))
    assert target.read_bytes() == api(cli, f"/{profile_id}/versions/1/iac-export").content
    missing = cli("profiles", "export", str(profile_id), "--version", "9")
    assert missing.exit_code == 1 and "has no version 9" in missing.stderr


def test_import_from_stdin_as_draft(cli: Cli) -> None:
    created = cli.ok("profiles", "import", "-", "--as-draft", input=live(WEB_PLATFORM)).stdout
    assert created.startswith("created draft ") and "(web-platform)" in created
    drafts = cli.json("drafts", "list")
    assert [d["name"] for d in drafts["result"]] == ["web-platform"]
    assert cli.json("profiles", "list")["total_count"] == 0


def test_delete_asks_unless_yes(cli: Cli, profile_id: int) -> None:
    refused = cli("profiles", "delete", str(profile_id), input="n\n")
    assert refused.exit_code == 1 and "Delete profile" in refused.stderr
    assert cli.json("profiles", "list")["total_count"] == 1
    confirmed = cli.ok("profiles", "delete", str(profile_id), input="y\n")
    # (the test runner echoes the typed answer to stdout)
    assert confirmed.stdout.endswith(f"\ndeleted profile {profile_id}\n")
    cli.ok("profiles", "import", cli.file(WEB_PLATFORM))
    new_id = cli.json("profiles", "list")["result"][0]["id"]
    cli.ok("profiles", "delete", str(new_id), "--yes")
    gone = cli("profiles", "show", str(new_id))
    assert gone.exit_code == 1
    assert f"Error: Not found: Profile {new_id} does not exist" in gone.stderr


def test_delete_refuses_a_nested_profile_and_force_archives_it(cli: Cli) -> None:
    base, edge = numbered("base-cm"), numbered("edge")
    base["spec"]["layers"][0]["manifests"][0]["metadata"]["name"] = "base-settings"
    edge["spec"]["layers"].append({"name": "core", "profile": {"name": "base-cm", "version": 1}})
    cli.ok("profiles", "import", cli.file(yamlio.dump(base), "base.yaml"))
    cli.ok("profiles", "import", cli.file(yamlio.dump(edge), "edge.yaml"))
    [base_id] = [p["id"] for p in cli.json("profiles", "list")["result"] if p["name"] == "base-cm"]
    refused = cli("profiles", "delete", str(base_id), "--yes")
    assert refused.exit_code == 1
    assert "Profile 'base-cm' is nested by 'edge' v1" in refused.stderr
    archived = cli.ok("profiles", "delete", str(base_id), "--force", "--yes")
    assert archived.stdout == f"archived profile {base_id}\n"
    assert [p["name"] for p in cli.json("profiles", "list")["result"]] == ["edge"]
    assert cli.json("profiles", "show", str(base_id))["profile"]["archived"] is True


def test_api_errors_exit_1_with_title_detail_and_paths(cli: Cli) -> None:
    invalid = cli("profiles", "import", cli.file(INVALID))
    assert invalid.exit_code == 1 and invalid.stdout == ""
    assert "Error: Invalid input: The profile has 2 errors" in invalid.stderr
    assert "  spec.layers[0].chart.version: " in invalid.stderr
    assert "(invalid_chart_version)" in invalid.stderr
    no_token = cli("profiles", "list", LAMINA_TOKEN="")
    assert no_token.exit_code == 1
    assert "Unauthorized" in no_token.stderr and "LAMINA_TOKEN" in no_token.stderr
    bad_token = cli("profiles", "list", "--token", "lam_unknown")
    assert bad_token.exit_code == 1 and "token is unknown" in bad_token.stderr


def test_show_prints_the_lock_of_the_latest_version_and_of_one_version(cli: Cli) -> None:
    cli.ok("profiles", "import", cli.file(variant("ranged", chart="^1.0.0")))
    [profile] = cli.json("profiles", "list")["result"]
    table = cli.ok("profiles", "show", str(profile["id"])).stdout
    assert "Lock of version 1" in table
    row = next(line for line in table.splitlines() if line.strip().startswith("ingress"))
    assert row.split()[:5] == ["ingress", "webapp", live("@CHART_REPO@"), "^1.0.0", "1.1.0"]
    assert "sha256:" in table
    one = cli.ok("profiles", "show", str(profile["id"]), "--version", "1").stdout
    assert "Channel" in one and "stable" in one and "Lock of version 1" in one and "1.1.0" in one
    detail = cli.json("profiles", "show", str(profile["id"]), "--version", "1")
    assert detail == api(cli, f"/{profile['id']}/versions/1").json()
    assert detail["lock"][0]["version"] == "1.1.0"
    missing = cli("profiles", "show", str(profile["id"]), "--version", "9")
    assert missing.exit_code == 1 and "Not found" in missing.stderr


def test_show_says_when_a_version_is_not_locked(cli: Cli, services: Services) -> None:
    cli.ok("profiles", "import", cli.file(WEB_PLATFORM))
    [profile] = cli.json("profiles", "list")["result"]
    with services.store.unit_of_work(write=True) as uow:
        first = uow.versions.get(profile["id"], 1)
        assert first is not None
        uow.versions.add(replace(first, version=2, lock=None, draft_id=None))
    shown = cli.ok("profiles", "show", str(profile["id"]), "--version", "2").stdout
    assert "Lock of version 2: not locked" in shown
