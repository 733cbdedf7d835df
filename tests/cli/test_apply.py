"""`lamina apply`: the one-step authoring flow from a file in Git."""

from __future__ import annotations

from tests.cli.conftest import INVALID, WEB_PLATFORM, Cli, variant

UNUSED = WEB_PLATFORM.replace(
    "required: true}", "required: true}\n    - {name: unused, type: string, default: x}"
)


def test_apply_creates_then_publishes_version_2(cli: Cli) -> None:
    first = cli.ok("apply", "-f", cli.file(WEB_PLATFORM))
    assert first.stdout == "published web-platform version 1 (stable)\n"
    assert "created draft" in first.stderr and "validating" in first.stderr
    second = cli.ok(
        "apply", "-f", cli.file(UNUSED, "v2.yaml"), "--channel", "beta", "--changelog", "More"
    )
    assert second.stdout == "published web-platform version 2 (beta)\n"
    assert "warning: spec.parameters" in second.stderr and "(unused_parameter)" in second.stderr
    profile_id = cli.json("profiles", "list")["result"][0]["id"]
    versions = cli.json("profiles", "show", str(profile_id))["versions"]
    newest = versions[0]
    assert (newest["version"], newest["channel"], newest["changelog"]) == (2, "beta", "More")
    assert cli.json("drafts", "list")["total_count"] == 0


def test_apply_dry_run_keeps_the_draft_then_apply_updates_it(cli: Cli) -> None:
    dry = cli.ok("apply", "-f", cli.file(WEB_PLATFORM), "--dry-run")
    assert "is valid" in dry.stdout and "published" not in dry.stdout
    assert cli.json("profiles", "list")["total_count"] == 0
    draft_id = cli.json("drafts", "list", "--name", "web-platform")["result"][0]["id"]
    applied = cli.ok("apply", "-f", cli.file(variant(chart="1.1.0")), "-o", "json")
    assert f"updated draft {draft_id}" in applied.stderr
    assert "published" not in applied.stdout
    assert '"version": 1' in applied.stdout and '"channel": "stable"' in applied.stdout
    assert cli.json("drafts", "list")["total_count"] == 0


def test_apply_invalid_file_exits_1_showing_paths(cli: Cli) -> None:
    result = cli("apply", "-f", cli.file(INVALID))
    assert result.exit_code == 1 and result.stdout == ""
    assert "Error: web-platform is invalid: 2 errors" in result.stderr
    assert "  spec.layers[0].chart.version: " in result.stderr
    assert "  spec.layers[0].values.controller.host: " in result.stderr
    assert cli.json("drafts", "list")["total_count"] == 1
    nameless = cli("apply", "-f", cli.file("apiVersion: lamina.dev/v1\nspec: {type: add-on}\n"))
    assert nameless.exit_code == 1 and "metadata.name" in nameless.stderr
    broken = cli("apply", "-f", cli.file("spec: [\n"))
    assert broken.exit_code == 1 and "not valid YAML" in broken.stderr and "line 2" in broken.stderr
    missing = cli("apply", "-f", str(cli.tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "Cannot read" in missing.stderr


def test_apply_twice_publishes_once(cli: Cli) -> None:
    path = cli.file(WEB_PLATFORM)
    cli.ok("apply", "-f", path)
    again = cli.ok("apply", "-f", path, "--changelog", "Nothing new")
    assert again.stdout == (
        "unchanged: web-platform version 1 (stable) already holds this document; "
        "nothing published\n"
    )
    assert "draft" not in again.stderr
    kept = cli.json("apply", "-f", path)
    assert kept["unchanged"] is True and kept["version"]["version"] == 1
    profile = cli.json("profiles", "list")["result"][0]
    assert profile["latest_version"] == 1
    assert cli.json("drafts", "list")["total_count"] == 0
    # Another channel is a change: the same spec is published on it.
    beta = cli.ok("apply", "-f", path, "--channel", "beta")
    assert beta.stdout == "published web-platform version 2 (beta)\n"


def test_apply_leaves_a_same_named_draft_of_another_profile_alone(cli: Cli) -> None:
    cli.ok("apply", "-f", cli.file(WEB_PLATFORM))
    cli.ok("apply", "-f", cli.file(variant("other"), "other.yaml"))
    other_id = next(p["id"] for p in cli.json("profiles", "list")["result"] if p["name"] == "other")
    # A draft of `other`, renamed like web-platform: same name, another profile.
    stray = cli.json("drafts", "create", "--profile", str(other_id))
    cli.ok("drafts", "update", str(stray["id"]), "-f", cli.file(WEB_PLATFORM, "stray.yaml"))
    changed = cli.ok("apply", "-f", cli.file(variant(chart="1.1.0"), "v2.yaml"))
    assert changed.stdout == "published web-platform version 2 (stable)\n"
    assert f"draft {stray['id']}" not in changed.stderr
    left = cli.json("drafts", "list")["result"]
    assert [(d["id"], d["profile_id"], d["name"]) for d in left] == [
        (stray["id"], other_id, "web-platform")
    ]
