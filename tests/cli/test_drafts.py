"""`lamina drafts …` against the live server: the whole lifecycle, validation and conflicts."""

from __future__ import annotations

from lamina.adapters import yamlio
from tests.cli.conftest import INVALID, WEB_PLATFORM, Cli, live


def new_draft(cli: Cli, name: str = "web-platform") -> int:
    return int(cli.json("drafts", "create", "--name", name)["id"])


def test_draft_lifecycle(cli: Cli) -> None:
    created = cli.ok("drafts", "create", "--name", "web-platform").stdout
    draft = cli.json("drafts", "list", "--name", "web-platform")["result"][0]
    assert created == f"created draft {draft['id']} (web-platform)\n"
    ident = str(draft["id"])
    updated = cli.ok("drafts", "update", ident, "-f", cli.file(WEB_PLATFORM)).stdout
    assert updated == f"updated draft {ident} (web-platform), now at edit 2\n"
    shown = cli.ok("drafts", "show", ident).stdout
    assert "Edit version" in shown and "web-platform" in shown
    document = yamlio.load(shown[shown.index("apiVersion:") :])
    assert document == yamlio.load(live(WEB_PLATFORM))
    assert cli.ok("drafts", "validate", ident).stdout.startswith(f"draft {ident} is valid")
    published = cli.ok(
        "drafts",
        "publish",
        ident,
        "--channel",
        "beta",
        "--changelog",
        "First",
        "--visibility",
        "public",
    )
    assert published.stdout == "published web-platform version 1 (beta)\n"
    assert cli.json("drafts", "list")["total_count"] == 0
    profile = cli.json("profiles", "list")["result"][0]
    assert (profile["visibility"], profile["latest_version"]) == ("public", 1)


def test_validate_failing_shows_paths_and_exits_1(cli: Cli) -> None:
    ident = str(new_draft(cli))
    cli.ok("drafts", "update", ident, "-f", cli.file(INVALID))
    result = cli("drafts", "validate", ident)
    assert result.exit_code == 1
    assert f"draft {ident} is invalid (2 errors)" in result.stdout
    for text in (
        "PATH",
        "CODE",
        "MESSAGE",
        "spec.layers[0].chart.version",
        "invalid_chart_version",
    ):
        assert text in result.stdout
    assert "spec.layers[0].values.controller.host" in result.stdout
    as_json = cli("drafts", "validate", ident, "-o", "json")
    assert as_json.exit_code == 1
    report = yamlio.load(as_json.stdout)
    assert report["valid"] is False
    assert [e["path"] for e in report["errors"]] == [
        "spec.layers[0].chart.version",
        "spec.layers[0].values.controller.host",
    ]
    refused = cli("drafts", "publish", ident)
    assert refused.exit_code == 1 and "  spec.layers[0].chart.version: " in refused.stderr


def test_stale_update_is_refused(cli: Cli) -> None:
    ident = str(new_draft(cli))
    path = cli.file(WEB_PLATFORM)
    cli.ok("drafts", "update", ident, "-f", path, "--version", "1")
    stale = cli("drafts", "update", ident, "-f", path, "--version", "1")
    assert stale.exit_code == 1
    assert "Stale write" in stale.stderr
    assert cli.json("drafts", "show", ident)["version"] == 2


def test_draft_from_a_profile_version_and_delete(cli: Cli, profile_id: int) -> None:
    draft = cli.json("drafts", "create", "--profile", str(profile_id), "--from-version", "1")
    assert (draft["profile_id"], draft["base_version"]) == (profile_id, 1)
    assert draft["spec"]["layers"][0]["chart"]["version"] == "1.0.0"
    as_yaml = yamlio.load(cli.ok("drafts", "show", str(draft["id"]), "-o", "yaml").stdout)
    assert as_yaml == draft | {"updated_at": as_yaml["updated_at"]}
    assert cli.ok("drafts", "delete", str(draft["id"])).stdout == f"deleted draft {draft['id']}\n"
    gone = cli("drafts", "delete", str(draft["id"]))
    assert gone.exit_code == 1 and f"Draft {draft['id']} does not exist" in gone.stderr
    empty = cli("drafts", "create")
    assert empty.exit_code == 1 and "name: Give 'name' or 'profile_id'" in empty.stderr
