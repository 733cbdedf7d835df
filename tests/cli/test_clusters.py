"""`lamina clusters|stack …` and the fleet commands of `lamina profiles …`, against the live
server and real bare Git repositories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.cli.conftest import WEB_PLATFORM, Cli, variant
from tests.fixtures.gitrepos import BareRepo

GIT_TOKEN = "ghp_T0ken-Never-Shown-42"
# Version 2 of WEB_PLATFORM: a newer chart and two replicas instead of the chart's one.
SECOND = variant(chart="1.1.0").replace("values: {", "values: {replicaCount: 2, ")


def api(cli: Cli, path: str) -> Any:
    headers = {"Authorization": f"Bearer {cli.token}"}
    response = httpx.get(f"{cli.server}/api/v1/org{path}", headers=headers)
    response.raise_for_status()
    return response.json()


def import_profile(cli: Cli, text: str = WEB_PLATFORM) -> int:
    return int(cli.json("profiles", "import", cli.file(text))["profile"]["id"])


def create_cluster(cli: Cli, name: str, repo: BareRepo, *labels: str) -> int:
    args = [f"--label={label}" for label in labels or ("env=prod",)]
    created = cli.json("clusters", "create", name, "--git-url", repo.url, *args)
    return int(created["id"])


def deployed(cli: Cli, name: str, repo: BareRepo, profile: int, *labels: str) -> int:
    """A cluster running version 1 of `profile`, committed; returns its ID."""
    cluster = create_cluster(cli, name, repo, *labels)
    done = cli.json(
        "stack",
        "instantiate",
        str(cluster),
        "--profile",
        str(profile),
        "-p",
        "domain=a.example",
        "--deploy",
    )
    assert done["revision"] == 1, done
    return cluster


def test_clusters_create_list_show_update_and_delete(cli: Cli, bare_repo: BareRepo) -> None:
    created = cli.ok(
        "clusters",
        "create",
        "eu-1",
        "--git-url",
        bare_repo.url,
        "--label",
        "env=prod",
        "--label",
        "region=eu",
        "--kubernetes-version",
        "1.31.2",
        "--mode",
        "flux",
    )
    ident = api(cli, "/clusters")["result"][0]["id"]
    assert created.stdout == f"created cluster {ident} (eu-1)\n"
    assert "lamina stack instantiate eu-1 --profile PROFILE" in created.stderr
    create_cluster(cli, "us-1", bare_repo, "env=dev", "region=us")
    table = cli.ok("clusters", "list").stdout
    for text in ("ID", "LABELS", "KUBERNETES", "MODE", "REVISION", "GIT URL", "eu-1", "us-1"):
        assert text in table
    assert "env=prod, region=eu" in table and "flux" in table and "page 1 of 1 (total 2)" in table
    assert cli.json("clusters", "list") == api(cli, "/clusters")
    chosen = cli.json("clusters", "list", "--selector", "env=prod,region in (eu,ap)")
    assert [c["name"] for c in chosen["result"]] == ["eu-1"]
    paged = cli.json("clusters", "list", "--page-size", "1", "--all")
    assert [c["name"] for c in paged["result"]] == ["eu-1", "us-1"]
    bad = cli("clusters", "list", "--selector", "env in prod")
    assert bad.exit_code == 1 and "selector" in bad.stderr

    shown = cli.ok("clusters", "show", "eu-1").stdout
    for text in ("eu-1", "1.31.2", bare_repo.url, "clusters/eu-1", "Git token", "none"):
        assert text in shown
    assert cli.json("clusters", "show", str(ident)) == api(cli, f"/clusters/{ident}")
    assert cli.json("clusters", "show", "eu-1") == api(cli, f"/clusters/{ident}")
    unknown = cli("clusters", "show", "eu-9")
    assert unknown.exit_code == 1 and "No cluster is named 'eu-9'" in unknown.stderr

    updated = cli.ok(
        "clusters",
        "update",
        "eu-1",
        "--label",
        "env=staging",
        "--label",
        "region-",
        "--label",
        "tier=web",
        "--branch",
        "live",
    )
    assert updated.stdout == f"updated cluster {ident} (eu-1)\n"
    after = api(cli, f"/clusters/{ident}")
    assert after["labels"] == {"env": "staging", "tier": "web"}
    assert (after["gitops"]["branch"], after["gitops"]["mode"]) == ("live", "flux")
    nothing = cli("clusters", "update", str(ident))
    assert nothing.exit_code == 2 and "Nothing to change" in nothing.stderr
    invalid = cli("clusters", "create", "Bad Name", "--git-url", "nope")
    assert invalid.exit_code == 1 and invalid.stdout == ""
    assert "  name: " in invalid.stderr and "  gitops.url: " in invalid.stderr

    refused = cli("clusters", "delete", str(ident), input="n\n")
    assert refused.exit_code == 1 and "Forget cluster" in refused.stderr
    cli.ok("clusters", "delete", str(ident), "--yes")
    gone = cli("clusters", "show", str(ident))
    assert gone.exit_code == 1 and f"Cluster {ident} does not exist" in gone.stderr


def test_the_git_token_comes_from_stdin_or_the_environment_and_is_never_printed(
    cli: Cli, bare_repo: BareRepo
) -> None:
    args = ("--git-url", bare_repo.url, "--git-username", "ci")
    piped = cli.ok("clusters", "create", "piped", *args, "--git-token-stdin", input=GIT_TOKEN)
    assert "with a Git token" in piped.stdout
    from_env = cli("clusters", "create", "env", *args, "-o", "yaml", LAMINA_GIT_TOKEN=GIT_TOKEN)
    assert from_env.exit_code == 0, from_env.output
    listed = cli.ok("clusters", "list", "-o", "json")
    shown = cli.ok("clusters", "show", str(cli.json("clusters", "list")["result"][0]["id"]))
    for result in (piped, from_env, listed, shown):
        assert GIT_TOKEN not in result.stdout + result.stderr
    assert [c["gitops"]["has_token"] for c in api(cli, "/clusters")["result"]] == [True, True]
    assert "stored" in shown.stdout
    plain = cli.json("clusters", "create", "plain", "--git-url", bare_repo.url)
    assert plain["gitops"]["has_token"] is False
    rotated = cli("clusters", "update", str(plain["id"]), "--git-token-stdin", input=GIT_TOKEN)
    assert rotated.exit_code == 0 and GIT_TOKEN not in rotated.output
    assert api(cli, f"/clusters/{plain['id']}")["gitops"]["has_token"] is True

    as_option = cli("clusters", "create", "x", *args, "--git-token", GIT_TOKEN)
    assert as_option.exit_code == 2 and GIT_TOKEN not in as_option.output
    empty = cli("clusters", "create", "y", *args, "--git-token-stdin", input="\n")
    assert empty.exit_code == 2 and "No Git token on stdin" in empty.stderr
    in_url = f"https://ci:{GIT_TOKEN}@git.example.com/fleet.git"
    leaked = cli("clusters", "create", "z", "--git-url", in_url)
    assert leaked.exit_code == 2 and "--git-token-stdin" in leaked.stderr
    assert GIT_TOKEN not in leaked.output
    assert api(cli, "/clusters")["total_count"] == 3


def test_instantiate_diff_and_commit(cli: Cli, bare_repo: BareRepo) -> None:
    profile = import_profile(cli)
    cluster = create_cluster(cli, "eu-1", bare_repo)
    missing = cli("stack", "instantiate", str(cluster), "--profile", str(profile))
    assert missing.exit_code == 1 and "  parameters.domain: " in missing.stderr
    proposed = cli.ok(
        "stack", "instantiate", "eu-1", "--profile", "web-platform", "-p", "domain=shop.example"
    )
    assert api(cli, f"/clusters/{cluster}")["revision"] == 0 and bare_repo.log() == []
    assert proposed.stdout.startswith("created stack draft ")
    assert "on cluster eu-1, adding profile web-platform version 1" in proposed.stdout
    draft_id = int(proposed.stdout.split()[3])
    assert f"lamina stack diff eu-1 {draft_id}" in proposed.stderr

    review = cli.ok("stack", "diff", "eu-1", str(draft_id)).stdout
    changes = api(cli, f"/clusters/{cluster}/stack-drafts/{draft_id}/diff")
    added = changes["added"]
    assert review.startswith(f"{len(added)} added, 0 changed, 0 removed")
    assert "Added objects" in review and "Removed objects" not in review
    for kind in ("Deployment", "Service", "ConfigMap"):
        assert kind in review and kind in {a["kind"] for a in added}
    assert "web-platform/ingress" in review
    assert cli.json("stack", "diff", str(cluster), str(draft_id)) == changes

    committed = cli.ok("stack", "commit", str(cluster), str(draft_id), "-m", "Add web-platform")
    assert committed.stdout == (
        f"committed revision 1 of cluster {cluster} (commit {bare_repo.head()})\n"
    )
    assert bare_repo.log() == ["Add web-platform"]
    files = bare_repo.files_at("main", "clusters/eu-1")
    assert "kustomization.yaml" in files and "shop.example" in files["lamina.yaml"]
    # A retry (an answer lost on the way) gets the same answer, and commits nothing more.
    again = cli.ok("stack", "commit", str(cluster), str(draft_id))
    assert again.stdout == committed.stdout and bare_repo.log() == ["Add web-platform"]
    missing = cli("stack", "commit", str(cluster), str(draft_id + 1000))
    assert missing.exit_code == 1 and f"Stack draft {draft_id + 1000} does not" in missing.stderr


def test_deploy_commits_at_once_and_discard_drops_a_draft(cli: Cli, bare_repo: BareRepo) -> None:
    profile = import_profile(cli)
    cluster = create_cluster(cli, "eu-1", bare_repo)
    args = ("stack", "instantiate", str(cluster), "--profile", str(profile))
    deployed = cli.ok(*args, "-p", "domain=a.example", "--deploy")
    assert deployed.stdout.startswith(
        f"committed revision 1 of cluster {cluster} (commit {bare_repo.head()})"
    )
    assert bare_repo.log()[0].startswith("lamina: instantiate on eu-1")

    again = cli(*args, "-p", "domain=a.example")
    assert again.exit_code == 1 and "already runs" in again.stderr  # upgrade it instead

    second = create_cluster(cli, "eu-2", bare_repo)
    values = cli.file("ingress:\n  replicaCount: 3\n", "values.yaml")
    args = ("stack", "instantiate", str(second), "--profile", str(profile))
    draft = cli.json(*args, "-p", "domain=a.example", "--values", values)["draft_id"]
    review = cli.ok("stack", "diff", str(second), str(draft)).stdout
    assert " added, 0 changed, 0 removed" in review.splitlines()[0]
    assert "Deployment" in review and "\x1b[" not in review
    cluster = second
    discarded = cli.ok("stack", "discard", str(cluster), str(draft))
    assert discarded.stdout == f"discarded stack draft {draft} of cluster {cluster}\n"
    gone = cli("stack", "diff", str(cluster), str(draft))
    assert gone.exit_code == 1 and "does not exist" in gone.stderr
    bad = cli(*args, "-p", "domain")
    assert bad.exit_code == 2 and "expected NAME=VALUE" in bad.stderr


def test_upgrade_to_a_second_version_and_uninstall(cli: Cli, bare_repo: BareRepo) -> None:
    profile = import_profile(cli)
    cluster = deployed(cli, "eu-1", bare_repo, profile)
    import_profile(cli, SECOND)
    listed = cli.ok("profiles", "instantiations", str(profile)).stdout
    [row] = cli.json("profiles", "instantiations", str(profile))
    assert (row["cluster"], row["version"], row["outdated"]) == ("eu-1", 1, True)
    assert "eu-1" in listed and "OUTDATED" in listed and "1 instantiation, 1 outdated" in listed

    upgraded = cli.ok("stack", "upgrade", str(cluster), str(row["id"]))
    assert f"upgrading instantiation {row['id']} to version 2" in upgraded.stdout
    draft = int(upgraded.stdout.split()[3])
    review = cli.ok("stack", "diff", str(cluster), str(draft)).stdout
    assert "Changed objects" in review and "-  replicas: 1\n+  replicas: 2" in review
    assert "revision 2" in cli.ok("stack", "commit", str(cluster), str(draft)).stdout
    assert bare_repo.log()[0] == "lamina: upgrade on eu-1 (revision 2)"
    assert cli.json("profiles", "instantiations", str(profile))[0]["version"] == 2

    changed = cli.ok("stack", "upgrade", str(cluster), str(row["id"]), "-p", "domain=b.example")
    review = cli.ok("stack", "diff", str(cluster), changed.stdout.split()[3]).stdout
    assert "Parameter changes" in review and '"a.example"' in review and '"b.example"' in review
    cli.ok("stack", "discard", str(cluster), changed.stdout.split()[3])

    removal = cli.ok("stack", "uninstall", str(cluster), str(row["id"]))
    assert f"removing instantiation {row['id']}" in removal.stdout
    review = cli.ok("stack", "diff", str(cluster), removal.stdout.split()[3]).stdout
    assert "Removed objects" in review and "Deployment" in review
    cli.ok("stack", "commit", str(cluster), removal.stdout.split()[3])
    none = cli.ok("profiles", "instantiations", str(profile)).stdout
    assert none == f"No cluster runs profile {profile}.\n"


def test_rollout_reports_each_cluster_and_exits_1_on_a_failure(cli: Cli, tmp_path: Path) -> None:
    profile = import_profile(cli)
    repos = [BareRepo(tmp_path / f"repo-{i}") for i in range(3)]
    for i, repo in enumerate(repos):
        deployed(cli, f"fleet-{i}", repo, profile, f"env={'dev' if i == 2 else 'prod'}")
    import_profile(cli, SECOND)
    repos[1].reject_pushes("branch is frozen")

    dry = cli.ok("profiles", "rollout", str(profile), "--version", "2", "--dry-run")
    assert "checking (dry run) version 2 of web-platform to 3 clusters…" in dry.stderr
    assert dry.stdout.count("would change") == 4  # three clusters and the summary
    assert "nothing was committed" in dry.stdout
    assert dry.stdout.count("version 1 → 2: ") == 3 and "(stack draft " in dry.stdout
    unknown = cli("profiles", "rollout", str(profile), "--version", "2", "-p", "nope=1")
    assert unknown.exit_code == 1 and "parameters.nope" in unknown.stderr
    assert [r.head() is not None for r in repos] == [True] * 3
    heads = [r.head() for r in repos]

    stopped = cli("profiles", "rollout", str(profile), "--version", "2", "--batch-size", "2")
    assert stopped.exit_code == 1
    assert "rolling out version 2 of web-platform to 3 clusters…" in stopped.stderr
    assert "--continue-on-error" in stopped.stderr
    lines = stopped.stdout.splitlines()
    assert lines[0].startswith("fleet-0  committed     revision 2, commit ")
    assert lines[1].startswith("fleet-1  failed") and "branch is frozen" in lines[1]
    assert lines[2] == "fleet-2  skipped       stopped after a failure"
    assert lines[3] == "rollout of version 2 of web-platform: 1 committed, 1 failed, 1 skipped"
    assert [r.head() == h for r, h in zip(repos, heads, strict=True)] == [False, True, True]

    onward = cli(
        "profiles",
        "rollout",
        str(profile),
        "--version",
        "2",
        "--continue-on-error",
        "--selector",
        "env=prod",
        "--cluster",
        "fleet-1",
        "--cluster",
        "nowhere",
        "-o",
        "json",
    )
    assert onward.exit_code == 1
    assert "rolling out version 2 of web-platform to 1 cluster…" in onward.stderr
    assert "warning: --cluster: nowhere does not run web-platform" in onward.stderr
    answer = json.loads(onward.stdout)
    assert [(r["cluster"], r["status"]) for r in answer["results"]] == [("fleet-1", "failed")]

    repos[1].allow_pushes()
    rest = cli.ok("profiles", "rollout", str(profile), "--version", "2")
    assert "to 2 clusters (1 already at version 2 or newer)…" in rest.stderr
    assert rest.stdout.startswith("fleet-0  skipped       already at 2\n")
    assert rest.stdout.endswith(": 2 committed, 0 failed, 1 skipped\n")
    versions = {
        r["cluster"]: r["version"] for r in api(cli, f"/stack-profiles/{profile}/instantiations")
    }
    assert versions == {"fleet-0": 2, "fleet-1": 2, "fleet-2": 2}


def test_deprecate_and_undeprecate(cli: Cli, profile_id: int, bare_repo: BareRepo) -> None:
    cluster = create_cluster(cli, "eu-1", bare_repo)
    done = cli.ok("profiles", "deprecate", str(profile_id), "1", "--reason", "CVE-2026-1")
    assert done.stdout == "deprecated version 1 of web-platform; its current version is 2\n"
    args = ("stack", "instantiate", str(cluster), "--profile", str(profile_id), "-p", "domain=x")
    refused = cli(*args, "--version", "1")
    assert refused.exit_code == 1 and "deprecated: CVE-2026-1" in refused.stderr
    last = cli.json("profiles", "deprecate", str(profile_id), "2", "--reason", "r", "--note", "n")
    assert last["current_version"] is None
    no_stable = cli.ok("profiles", "deprecate", str(profile_id), "2", "--reason", "again").stdout
    assert "no stable version is left to instantiate" in no_stable
    lifted = cli.ok("profiles", "undeprecate", str(profile_id), "1")
    assert lifted.stdout == f"lifted the deprecation of version 1 of profile {profile_id}\n"
    assert api(cli, f"/stack-profiles/{profile_id}")["profile"]["current_version"] == 1
    assert cli.json(*args)["profile_version"] == 1
    twice = cli("profiles", "undeprecate", str(profile_id), "1")
    assert twice.exit_code == 1 and "is not deprecated" in twice.stderr
    no_reason = cli("profiles", "deprecate", str(profile_id), "1")
    assert no_reason.exit_code == 2 and "--reason" in no_reason.stderr


def test_a_stale_stack_draft_is_refused(cli: Cli, bare_repo: BareRepo) -> None:
    profile = import_profile(cli)
    cluster = create_cluster(cli, "eu-1", bare_repo)
    args = ("stack", "instantiate", str(cluster), "--profile", str(profile), "-p", "domain=a.b")
    first, second = cli.json(*args)["draft_id"], cli.json(*args)["draft_id"]
    assert cli.json("stack", "commit", str(cluster), str(first)) == {
        "revision": 1,
        "commit_sha": bare_repo.head(),
    }
    stale = cli("stack", "commit", str(cluster), str(second))
    assert stale.exit_code == 1 and stale.stdout == ""
    assert "moved to revision 1 since this draft was made against 0" in stale.stderr
    assert bare_repo.log() == ["lamina: instantiate on eu-1 (revision 1)"]
