"""`lamina profiles instantiations|deprecate|undeprecate|rollout`: a profile across the fleet.

The commands are registered on the `profiles` group (see profiles.py).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lamina.cli import jobs, output, parameters
from lamina.cli.client import EXIT_API_ERROR, ApiClient
from lamina.cli.common import (
    CLUSTERS,
    DEFAULT_SERVER,
    PROFILES,
    OutputOption,
    ProfileArg,
    ServerOption,
    TokenOption,
    connect,
    fetch_all,
)
from lamina.cli.output import OutputFormat
from lamina.cli.parameters import ParamFileOption

VersionNumber = Annotated[int, typer.Argument(min=1, help="Version number of the profile.")]

STATUS_WORDS = {"would_change": "would change"}


def list_instantiations(
    profile_id: ProfileArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the clusters running a profile: the version each runs and whether it is behind.

    An instantiation is outdated when its version is older than the profile's current
    version, or deprecated.
    """
    with connect(server, token) as api:
        data = api.get(f"{PROFILES}/{profile_id}/instantiations")
    output.emit(data, fmt, lambda rows: _render_instantiations(profile_id, rows))


def _render_instantiations(profile_id: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        output.message(f"No cluster runs profile {profile_id}.")
        return
    columns = ("ID", "CLUSTER", "CLUSTER ID", "VERSION", "OUTDATED", "COMMITTED")
    cells = [
        (r["id"], r["cluster"], r["cluster_id"], r["version"], r["outdated"], r["committed_at"])
        for r in rows
    ]
    outdated = sum(bool(r["outdated"]) for r in rows)
    summary = f"{len(rows)} instantiation{'s' if len(rows) != 1 else ''}, {outdated} outdated"
    output.show(output.table(columns, cells), summary)


def deprecate(
    profile_id: ProfileArg,
    version: VersionNumber,
    reason: Annotated[
        str,
        typer.Option(
            "--reason", help="Why (shown to anyone who tries to instantiate the version)."
        ),
    ],
    note: Annotated[
        str | None, typer.Option("--note", help="A longer note, e.g. what to move to.")
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Deprecate a version: it can no longer be instantiated and its instantiations count as
    outdated. The profile's current version moves to the newest stable version left."""
    body: dict[str, Any] = {"reason": reason}
    if note is not None:
        body["note"] = note
    with connect(server, token) as api:
        data = api.post(f"{PROFILES}/{profile_id}/versions/{version}/deprecation", body)
    output.emit(data, fmt, lambda profile: _render_deprecated(version, profile))


def _render_deprecated(version: int, profile: dict[str, Any]) -> None:
    current = profile["current_version"]
    now = (
        f"its current version is {current}"
        if current is not None
        else "no stable version is left to instantiate"
    )
    output.message(f"deprecated version {version} of {profile['name']}; {now}")


def undeprecate(
    profile_id: ProfileArg,
    version: VersionNumber,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
) -> None:
    """Lift a version's deprecation: it can be instantiated again."""
    with connect(server, token) as api:
        api.delete(f"{PROFILES}/{profile_id}/versions/{version}/deprecation")
    output.message(f"lifted the deprecation of version {version} of profile {profile_id}")


def rollout(
    profile_id: ProfileArg,
    version: Annotated[int, typer.Option("--version", min=1, help="Version to roll out.")],
    clusters: Annotated[
        list[str] | None,
        typer.Option(
            "--cluster", metavar="NAME", help="Only this cluster (repeatable; default: all)."
        ),
    ] = None,
    selector: Annotated[
        str | None,
        typer.Option("--selector", "-l", help="Only clusters whose labels match, like 'env=prod'."),
    ] = None,
    all_instantiations: Annotated[
        bool,
        typer.Option(
            "--all-instantiations",
            help="Also redo instantiations already at --version or newer (default: only "
            "older ones).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Report which clusters would change; commit nothing."),
    ] = False,
    continue_on_error: Annotated[
        bool,
        typer.Option(
            "--continue-on-error", help="Go on after a failed cluster (default: stop there)."
        ),
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=500, help="Clusters per batch.")
    ] = 10,
    commit_each: Annotated[
        bool,
        typer.Option(
            "--commit-each",
            help="A commit per cluster (default: the clusters of a batch sharing a Git "
            "repository and branch are committed together).",
        ),
    ] = False,
    params: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="NAME=VALUE",
            help="A parameter value for every cluster (repeatable), e.g. one the version "
            "newly requires; text is converted to the parameter's type; NAME=@FILE reads "
            "the value from FILE.",
        ),
    ] = None,
    param_file: ParamFileOption = None,
    detach: Annotated[
        bool,
        typer.Option("--detach", help="Queue the rollout and print its job; do not watch it."),
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Upgrade a profile's instantiations across the fleet to one version, one commit each.

    Prints one line per cluster (committed, failed, skipped, or would change with
    --dry-run) and a summary. It stops at the first failure unless --continue-on-error;
    the exit code is 1 when a cluster failed. A dry run renders and diffs every cluster as
    the real run would, never stops early, and keeps each changing cluster's stack draft:
    `stack diff CLUSTER DRAFT` shows it in full.

    The rollout runs as a job on the server's workers: this command prints each cluster as
    it is done; Ctrl-C stops watching, not the rollout (`lamina jobs cancel JOB` does).
    """
    body: dict[str, Any] = {
        "version": version,
        "clusters": clusters or None,
        "selector": selector or "",
        "only_outdated": not all_instantiations,
        "dry_run": dry_run,
        "continue_on_error": continue_on_error,
        "batch_size": batch_size,
        "batch_commits": not commit_each,
        "parameters": parameters.as_list(parameters.supplied(params, param_file)),
    }
    table = fmt is OutputFormat.TABLE
    with connect(server, token) as api:
        name = str(api.get(f"{PROFILES}/{profile_id}")["profile"]["name"])
        width = _announce(api, profile_id, name, body)
        job = api.post(f"{PROFILES}/{profile_id}/rollout", body)
        if detach:
            output.step(
                f"queued as job {job['id']}; follow it with: lamina jobs show {job['id']} --follow"
            )
            output.emit(job, fmt, lambda data: output.message(f"job {data['id']} {data['state']}"))
            return
        output.step(f"job {job['id']} (Ctrl-C stops watching; the rollout goes on)")
        shown = (lambda r: output.message(result_line(r, width))) if table else None
        final = jobs.follow(api, int(job["id"]), shown)
    if table:
        _summary(name, final, dry_run=dry_run)
    else:
        output.print_data(final, fmt)
    if final["counts"].get("failed") or final["state"] == "failed":
        if not (continue_on_error or dry_run) and table:
            output.step("stopped at the first failure; --continue-on-error goes on past it")
        raise typer.Exit(EXIT_API_ERROR)


def _announce(api: ApiClient, profile_id: str, name: str, body: dict[str, Any]) -> int:
    """Print the progress line before the rollout; the width of its clusters' names."""
    rows: list[dict[str, Any]] = api.get(f"{PROFILES}/{profile_id}/instantiations")
    chosen = rows
    if body["clusters"] is not None:
        named = set(body["clusters"])
        chosen = [r for r in chosen if r["cluster"] in named]
        missing = sorted(named - {r["cluster"] for r in rows})
        output.warn(
            [
                {"path": "--cluster", "code": "", "message": f"{c} does not run {name}"}
                for c in missing
            ]
        )
    if body["selector"]:
        params = {"selector": body["selector"], "page_size": 200}
        matching = {c["name"] for c in fetch_all(api, CLUSTERS, params)["result"]}
        chosen = [r for r in chosen if r["cluster"] in matching]
    version = body["version"]
    pending = {r["cluster"] for r in chosen if not body["only_outdated"] or r["version"] < version}
    current = len({r["cluster"] for r in chosen}) - len(pending)
    verb = "checking (dry run)" if body["dry_run"] else "rolling out"
    line = f"{verb} version {version} of {name} to {len(pending)} cluster"
    line += "" if len(pending) == 1 else "s"
    if current:
        line += f" ({current} already at version {version} or newer)"
    output.step(line + "…")
    return max((len(r["cluster"]) for r in chosen), default=0)


def result_line(result: dict[str, Any], width: int) -> str:
    """One cluster's line of a rollout: name, status, what happened."""
    detail = result["detail"]
    status = STATUS_WORDS.get(result["status"], result["status"])
    return f"{result['cluster']:<{width}}  {status:<12}  {_detail(detail)}".rstrip()


def _summary(name: str, job: dict[str, Any], *, dry_run: bool) -> None:
    counts = job["counts"]
    first = "would_change" if dry_run else "committed"
    shown = [
        f"{counts.get(status, 0)} {STATUS_WORDS.get(status, status)}"
        for status in (first, "failed", "skipped")
    ]
    where = f"version {job['request']['version']} of {name}"
    if dry_run:
        output.message(f"dry run of {where}: {', '.join(shown)}; nothing was committed")
    else:
        output.message(f"rollout of {where}: {', '.join(shown)}")
    if job["state"] == "cancelled":
        output.message(
            f"job {job['id']} was cancelled after {job['done']} of {job['total']} clusters"
        )
    elif job["state"] == "failed" and job.get("error") and not counts.get("failed"):
        output.message(f"job {job['id']} failed: {job['error']}")


def _detail(result: dict[str, Any]) -> str:
    if result["status"] == "committed":
        return f"revision {result['revision']}, commit {result['commit_sha']}"
    changes = result.get("changes")
    if result["status"] == "would_change" and changes:
        return (
            f"version {changes['version_from']} → {changes['version_to']}: "
            f"{changes['added']} added, {changes['changed']} changed, "
            f"{changes['removed']} removed, {changes['parameters']} parameter changes "
            f"(stack draft {result['draft_id']})"
        )
    # One line per cluster: a multi-line reason (e.g. what a Git hook printed) is joined.
    lines = str(result["reason"] or "").splitlines()
    return " ".join(line.strip() for line in lines if line.strip())
