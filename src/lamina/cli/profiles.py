"""`lamina profiles …`: list, show, diff, export, import, clone and delete stack profiles; the fleet
commands (instantiations, deprecate, undeprecate, rollout) live in fleet.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lamina.cli import fleet, output
from lamina.cli.client import EXIT_USAGE, CliError
from lamina.cli.common import (
    DEFAULT_SERVER,
    PROFILES,
    OutputOption,
    PageOption,
    PageSizeOption,
    ProfileArg,
    ServerOption,
    TokenOption,
    YesOption,
    connect,
    delete_after_asking,
    fetch_all,
    read_source,
    write_file,
)
from lamina.cli.output import OutputFormat

TARGET_TOKEN_HEADER = "X-Lamina-Target-Token"

app = typer.Typer(
    help="Browse, diff, export, import, clone and delete the org's stack profiles; see where they "
    "run, deprecate versions and roll them out.",
    no_args_is_help=True,
)


@app.command("list")
def list_profiles(
    search: Annotated[
        str | None, typer.Option(help="Text to find in names and descriptions.")
    ] = None,
    category: Annotated[str | None, typer.Option(help="Only profiles of this category.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only profiles carrying this tag.")] = None,
    include_public: Annotated[
        bool, typer.Option("--include-public", help="Also list public profiles of other orgs.")
    ] = False,
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    all_pages: Annotated[
        bool, typer.Option("--all", help="Follow every page and print all profiles.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the profiles of the org, a page at a time."""
    params: dict[str, Any] = {
        "search": search,
        "category": category,
        "tag": tag,
        "include_public": include_public or None,
        "page": page,
        "page_size": page_size,
    }
    with connect(server, token) as api:
        data = fetch_all(api, PROFILES, params) if all_pages else api.get(PROFILES, params)
    output.emit(data, fmt, _render_list)


def _render_list(data: dict[str, Any]) -> None:
    columns = ("ID", "NAME", "TYPE", "LATEST", "CURRENT", "CATEGORY", "TAGS", "VISIBILITY")
    rows = [
        (
            p["id"],
            p["name"],
            p["type"],
            p["latest_version"],
            p["current_version"],
            p["category"],
            p["tags"],
            p["visibility"],
        )
        for p in data["result"]
    ]
    table = output.table(columns, rows, wrap=("TAGS",))
    output.show(table, output.page_footer(data))


@app.command("show")
def show_profile(
    profile_id: ProfileArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help="Show this version: its fields and its lock."),
    ] = None,
) -> None:
    """Show a profile: its fields, its versions, its update status and the latest version's
    lock (each chart as requested and as pinned at publish); `--version N` shows one version."""
    with connect(server, token) as api:
        if version is not None:
            data = api.get(f"{PROFILES}/{profile_id}/versions/{version}")
            output.emit(data, fmt, _render_version)
            return
        data = api.get(f"{PROFILES}/{profile_id}")
    output.emit(data, fmt, _render_detail)


def _render_version(data: dict[str, Any]) -> None:
    summary = output.fields(
        [
            ("Version", data["version"]),
            ("Channel", data["channel"]),
            ("Created", data["created_at"]),
            ("Changelog", data["changelog"]),
        ]
    )
    output.show(summary, _lock_table(data))


def _render_detail(data: dict[str, Any]) -> None:
    p = data["profile"]
    summary = output.fields(
        [
            ("ID", p["id"]),
            ("Name", p["name"]),
            ("Description", p["description"]),
            ("Type", p["type"]),
            ("Category", p["category"]),
            ("Tags", p["tags"]),
            ("Visibility", p["visibility"]),
            ("Latest version", p["latest_version"]),
            ("Current version", p["current_version"]),
        ]
    )
    rows = [(v["version"], v["channel"], v["created_at"], v["changelog"]) for v in data["versions"]]
    columns = ("VERSION", "CHANNEL", "CREATED", "CHANGELOG")
    versions = output.table(columns, rows, title="Versions", wrap=("CHANGELOG",))
    latest = data.get("latest_version_detail")
    lock = [_lock_table(latest)] if latest else []
    output.show(summary, versions, *lock, _status_line(data["update_status"]))


def _lock_table(version: dict[str, Any]) -> Table | str:
    """Each chart as its layer requested it and as publishing pinned it."""
    title = f"Lock of version {version['version']}"
    if version.get("lock") is None:
        return f"{title}: not locked (published before versions were locked)"
    rows = [
        (
            row["layer"],
            row["chart"],
            row["repository"],
            _requested(row),
            row["version"] or ("not pinned" if row["chart"] else None),
            row["digest"],
        )
        for row in version["lock"]
    ]
    if not rows:
        return f"{title}: no charts"
    columns = ("LAYER", "CHART", "REPOSITORY", "REQUESTED", "PINNED", "DIGEST")
    return output.table(columns, rows, title=title, wrap=("REPOSITORY", "DIGEST"))


def _requested(row: dict[str, Any]) -> str | None:
    nested = row.get("profile")
    if nested:
        return f"profile {nested['name']} version {nested['version']}"
    constraint: str | None = row["constraint"]
    return constraint


def _status_line(status: dict[str, Any]) -> str:
    outdated = status["outdated_instantiation_count"]
    available = "update available" if status["has_update_available"] else "up to date"
    return f"Update status: {available} ({outdated} outdated instantiations)"


@app.command("diff")
def diff_profile(
    profile_id: ProfileArg,
    from_version: Annotated[
        int | None, typer.Option("--from", min=1, help="Older version (default: the one before).")
    ] = None,
    to_version: Annotated[
        int | None, typer.Option("--to", min=1, help="Newer version (default: the latest).")
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show what changed in the spec between two versions of a profile."""
    params = {"from_version": from_version, "to_version": to_version}
    with connect(server, token) as api:
        data = api.get(f"{PROFILES}/{profile_id}/diff", params)
    output.emit(data, fmt, _render_diff)


def _render_diff(data: dict[str, Any]) -> None:
    span = f"version {data['from_version']} to version {data['to_version']}"
    if not data["changes"]:
        output.message(f"No changes from {span}.")
        return
    rows = [(c["path"], c["op"], *_diff_values(c)) for c in data["changes"]]
    columns = ("PATH", "OP", "FROM", "TO")
    title = f"Changes from {span}"
    output.show(output.table(columns, rows, title=title, wrap=("PATH", "FROM", "TO")))


def _diff_values(change: dict[str, Any]) -> tuple[str, str]:
    old = "" if change["op"] == "added" else output.compact(change.get("from"))
    new = "" if change["op"] == "removed" else output.compact(change.get("to"))
    return old, new


@app.command("export")
def export_profile(
    profile_id: ProfileArg,
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="Version to export (default: latest).")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Write the YAML to this file instead of stdout."),
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
) -> None:
    """Export one version as an IaC document (YAML), exactly as the API returns it."""
    with connect(server, token) as api:
        if version is None:
            version = int(api.get(f"{PROFILES}/{profile_id}")["profile"]["latest_version"])
        body = api.get_bytes(f"{PROFILES}/{profile_id}/versions/{version}/iac-export")
    if file is None:
        typer.echo(body.decode(), nl=False)
        return
    write_file(file, body)
    output.step(f"wrote version {version} of profile {profile_id} to {file}")


@app.command("import")
def import_profile(
    file: Annotated[str, typer.Argument(help="IaC document (YAML) to import; '-' reads stdin.")],
    as_draft: Annotated[
        bool, typer.Option("--as-draft", help="Create a draft instead of publishing a version.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Import an IaC document: publish it as the next version of its profile, or as a draft."""
    raw = read_source(file)
    with connect(server, token) as api:
        data = api.post_yaml(f"{PROFILES}/import", raw, {"as_draft": as_draft})
    output.emit(data, fmt, _render_draft_created if as_draft else render_published)


def render_published(data: dict[str, Any]) -> None:
    version = data["version"]
    shown = f"{data['profile']['name']} version {version['version']} ({version['channel']})"
    if data.get("unchanged"):
        output.message(f"unchanged: {shown} already holds this document; nothing published")
    else:
        output.message(f"published {shown}")


def _render_draft_created(data: dict[str, Any]) -> None:
    output.message(f"created draft {data['id']} ({data['name']})")


@app.command("delete")
def delete_profile(
    profile_id: ProfileArg,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Archive the profile instead, even while clusters run it or other profiles "
            "nest it: hidden from lists, still rendered where it runs.",
        ),
    ] = False,
    yes: YesOption = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
) -> None:
    """Delete a profile and all its versions (asks first unless --yes). Refused while clusters
    run it or other profiles nest it; --force archives it instead."""
    if force:
        delete_after_asking(
            server=server,
            token=token,
            path=f"{PROFILES}/{profile_id}?force=true",
            question=f"Archive profile {profile_id}? Clusters that run it keep running it.",
            yes=yes,
            done=f"archived profile {profile_id}",
        )
        return
    delete_after_asking(
        server=server,
        token=token,
        path=f"{PROFILES}/{profile_id}",
        question=f"Delete profile {profile_id} and all its versions?",
        yes=yes,
        done=f"deleted profile {profile_id}",
    )


@app.command("clone")
def clone_profile(
    profile_id: ProfileArg,
    to_org: Annotated[
        str, typer.Option("--to-org", help="Slug of the org to clone into.", show_default=False)
    ],
    target_token: Annotated[
        str,
        typer.Option(
            "--target-token",
            envvar="LAMINA_TARGET_TOKEN",
            help="An admin token of the target org (sent in its own header, never logged).",
            show_default=False,
            show_envvar=True,
        ),
    ],
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="Version to clone (default: latest).")
    ] = None,
    registry_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            metavar="SRC=DST",
            help="Take the charts of source registry SRC from target registry DST (repeatable).",
        ),
    ] = None,
    allow_unresolved: Annotated[
        bool,
        typer.Option(
            "--allow-unresolved",
            help="With charts the target lacks, create a draft there instead of nothing.",
        ),
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Clone a profile version into another org, each chart resolved to the same chart and
    version in that org's registries; nothing is created unless all resolve."""
    body: dict[str, Any] = {
        "target_org": to_org,
        "version": version,
        "registry_map": _pairs(registry_map or []),
        "allow_unresolved": allow_unresolved,
    }
    headers = {TARGET_TOKEN_HEADER: target_token}
    with connect(server, token) as api:
        answer = api.post(f"{PROFILES}/{profile_id}/clone", body, headers=headers)
    output.emit(answer, fmt, _render_clone)


def _pairs(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        source, equals, target = pair.partition("=")
        if not equals or not source or not target:
            raise CliError(f"--map {pair!r} is not SRC=DST", exit_code=EXIT_USAGE)
        mapping[source] = target
    return mapping


def _render_clone(data: dict[str, Any]) -> None:
    report = data["report"]
    rows = [
        (r["path"], r["layer"], r["chart"], r["version"], r["registry"], r["via"])
        for r in report["resolved"]
    ]
    rows += [
        (
            r["path"],
            r["layer"],
            r["chart"],
            r["version"],
            r["registry"],
            "missing: nearest " + (", ".join(r["nearest"]) or "none"),
        )
        for r in report["version_missing"]
    ]
    rows += [
        (r["path"], r["layer"], r["chart"], r["version"], None, "not found")
        for r in report["not_found"]
    ]
    columns = ("PATH", "LAYER", "CHART", "VERSION", "TARGET REGISTRY", "RESOLVED")
    charts = output.table(columns, rows, title="Charts", wrap=("PATH", "RESOLVED"))
    review = [(r["path"], r["host"]) for r in report["review"]]
    shown = [output.table(("PATH", "SOURCE HOST"), review, title="Review")] if review else []
    org = data["target_org"]
    if data["outcome"] == "draft":
        last = f"created draft {data['draft']['id']} ({data['draft']['name']}) in {org}"
    else:
        what = f"{data['profile']['name']} version {data['version']['version']}"
        verb = "unchanged:" if data["outcome"] == "unchanged" else "published"
        last = f"{verb} {what} in {org}"
    output.show(charts, *shown, last)


app.command("instantiations")(fleet.list_instantiations)
app.command("deprecate")(fleet.deprecate)
app.command("undeprecate")(fleet.undeprecate)
app.command("rollout")(fleet.rollout)
