"""`lamina catalog …`: catalog sources, the catalog search, installs and updates."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lamina.cli import output
from lamina.cli.client import EXIT_USAGE, ApiClient, CliError
from lamina.cli.common import (
    DEFAULT_SERVER,
    OutputOption,
    PageOption,
    PageSizeOption,
    ServerOption,
    TokenOption,
    YesOption,
    connect,
    delete_after_asking,
    get_and_emit,
    segment,
)
from lamina.cli.output import OutputFormat

SOURCES = "/api/v1/org/catalog-sources"
CATALOG = "/api/v1/org/catalog"

app = typer.Typer(
    help="Search the catalog (own, public and catalog profiles), install and update "
    "profiles from catalog sources, and manage the sources.",
    no_args_is_help=True,
)
sources = typer.Typer(
    help="List, add, sync, grant, revoke and delete the org's catalog sources (admins).",
    no_args_is_help=True,
)
app.add_typer(sources, name="sources")

SourceArg = Annotated[
    str,
    typer.Argument(
        metavar="SOURCE",
        help="Name or id of the catalog source (see `catalog sources list`).",
        callback=segment,
        show_default=False,
    ),
]


@sources.command("list")
def list_sources(
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the org's catalog sources with their access and last sync."""
    params = {"page": page, "page_size": page_size}
    get_and_emit(server, token, SOURCES, params, fmt, _render_sources)


def _render_sources(data: dict[str, Any]) -> None:
    columns = (
        "ID",
        "NAME",
        "KIND",
        "URL",
        "BRANCH",
        "PATH",
        "ACCESS",
        "ENTRIES",
        "SYNCED",
        "ERROR",
    )
    rows = [
        (
            s["id"],
            s["name"],
            s["kind"],
            s["url"],
            s["branch"],
            s["path"],
            s["access"],
            s["entries_count"],
            s["synced_at"],
            s["last_error"],
        )
        for s in data["result"]
    ]
    output.show(output.table(columns, rows, wrap=("URL", "ERROR")), output.page_footer(data))


@sources.command("add")
def add_source(
    name: Annotated[str, typer.Argument(help="Name of the source, a DNS label like 'team'.")],
    url: Annotated[str, typer.Option(help="The Git repository, or the catalog file's URL.")],
    git: Annotated[bool, typer.Option("--git", help="A Git repository (the default).")] = False,
    http: Annotated[bool, typer.Option("--http", help="A catalog file served over HTTP.")] = False,
    branch: Annotated[str | None, typer.Option(help="Git: the branch (default main).")] = None,
    path: Annotated[str, typer.Option(help="Git: a folder or file in the repository.")] = "",
    admins_only: Annotated[
        bool, typer.Option("--admins-only", help="Only admins may install from it.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Add a catalog source; sync it next to read its entries."""
    if git and http:
        raise CliError("Give --git or --http, not both", exit_code=EXIT_USAGE)
    body: dict[str, Any] = {
        "name": name,
        "kind": "http" if http else "git",
        "url": url,
        "path": path,
        "access": "admins" if admins_only else "all",
    }
    if branch:
        body["branch"] = branch
    with connect(server, token) as api:
        data = api.post(SOURCES, body)
    output.emit(data, fmt, _render_added)


def _render_added(data: dict[str, Any]) -> None:
    output.message(f"added catalog source {data['id']} ({data['name']}), access {data['access']}")
    output.step(f"read its entries with: lamina catalog sources sync {data['name']}")


@sources.command("sync")
def sync_source(
    source: SourceArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Read the source now and keep its entries; errors name the path in the file."""
    output.step(f"syncing catalog source {source}")
    with connect(server, token) as api:
        data = api.post(f"{SOURCES}/{source}/sync")
    output.emit(data, fmt, _render_synced)


def _render_synced(data: dict[str, Any]) -> None:
    count = data["source"]["entries_count"]
    noun = "entries" if count != 1 else "entry"
    output.message(f"synced catalog source {data['source']['name']}: {count} {noun}")


def _set_access(
    source: str, access: str, server: str, token: str | None, fmt: OutputFormat
) -> None:
    with connect(server, token) as api:
        data = api.patch(f"{SOURCES}/{source}", {"access": access})
    output.emit(
        data, fmt, lambda d: output.message(f"catalog source {d['name']}: access {d['access']}")
    )


@sources.command("grant")
def grant_source(
    source: SourceArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Let the org's editors install from the source (access all)."""
    _set_access(source, "all", server, token, fmt)


@sources.command("revoke")
def revoke_source(
    source: SourceArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Let only admins install from the source (access admins)."""
    _set_access(source, "admins", server, token, fmt)


@sources.command("delete")
def delete_source(
    source: SourceArg,
    yes: YesOption = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
) -> None:
    """Delete a catalog source (asks first unless --yes); installed profiles stay."""
    delete_after_asking(
        server=server,
        token=token,
        path=f"{SOURCES}/{source}",
        question=f"Delete catalog source {source}?",
        yes=yes,
        done=f"deleted catalog source {source}",
    )


@app.command("search")
def search(
    text: Annotated[str | None, typer.Argument(help="Words in the name or description.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source's entries.")] = None,
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Search own profiles, other orgs' public ones and catalog entries together."""
    params = {"search": text, "source": source, "page": page, "page_size": page_size}
    get_and_emit(server, token, CATALOG, params, fmt, _render_rows)


def _render_rows(data: dict[str, Any]) -> None:
    columns = ("ORIGIN", "SOURCE", "NAME", "VERSION", "INSTALLED", "UPDATE", "DESCRIPTION")
    rows = [
        (
            r["origin"],
            r["source"],
            r["name"],
            r["version"],
            r["installed"]["version"] if r["installed"] else None,
            "available" if r["has_update_available"] else "",
            r["description"],
        )
        for r in data["result"]
    ]
    table = output.table(columns, rows, wrap=("DESCRIPTION",))
    output.show(table, output.page_footer(data))


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="The profile or catalog entry's name.")],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Every catalog row of that name: where it comes from, versions, install state."""
    with connect(server, token) as api:
        found = api.get(CATALOG, {"search": name, "page_size": 200})
    matches = [r for r in found["result"] if r["name"] == name]
    if not matches:
        raise CliError(f"Nothing named '{name}' in the catalog")
    output.emit(matches, fmt, _render_show)


def _render_show(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        where = f"source {row['source']}" if row["origin"] == "catalog" else row["origin"]
        output.message(f"{row['name']} ({where}): version {row['version']}")
        details = {
            "description": row["description"],
            "versions": ", ".join(row["versions"]),
            "maintainer": row["maintainer"],
            "prerequisites": ", ".join(row["prerequisites"]),
            "access": row["access"],
            "installed": row["installed"]["version"] if row["installed"] else None,
            "update": "available" if row["has_update_available"] else None,
        }
        for key, value in details.items():
            if value:
                output.message(f"  {key}: {value}")


@app.command("install")
def install(
    name: Annotated[str | None, typer.Argument(help="The catalog entry to install.")] = None,
    source: Annotated[str | None, typer.Option(help="The source that lists it.")] = None,
    version: Annotated[str | None, typer.Option(help="That version (default newest).")] = None,
    url: Annotated[str | None, typer.Option(help="Install the document at this URL.")] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Install a catalog entry (or the profile document at --url) as a new profile.

    Without --source, the one source that lists NAME is used.
    """
    with connect(server, token) as api:
        if url is not None:
            if name or source or version:
                raise CliError("--url takes no NAME, --source or --version", exit_code=EXIT_USAGE)
            data = api.post(f"{CATALOG}/install", {"url": url})
        elif name is None:
            raise CliError("Name an entry to install, or give --url", exit_code=EXIT_USAGE)
        else:
            source = source or _only_source(api, name)
            body = {"source": source, "name": name, "version": version}
            data = api.post(f"{CATALOG}/install", body)
    output.emit(data, fmt, _render_installed)


def _only_source(api: ApiClient, name: str) -> str:
    found = api.get(CATALOG, {"search": name, "page_size": 200})["result"]
    listed = sorted({r["source"] for r in found if r["origin"] == "catalog" and r["name"] == name})
    if len(listed) != 1:
        why = "no source lists it" if not listed else f"listed by {', '.join(listed)}"
        raise CliError(f"Give --source for '{name}': {why}", exit_code=EXIT_USAGE)
    return str(listed[0])


def _render_installed(data: dict[str, Any]) -> None:
    origin = data["origin"]
    where = f"source {origin['source']}" if origin["source"] else origin["url"]
    at = f" {origin['version']}" if origin["version"] else ""
    if data["published_version"] is None:
        output.message(f"{data['name']}: unchanged at version {data['latest_version']}")
    else:
        output.message(
            f"{data['name']}{at} from {where}: published as version {data['published_version']}"
        )


@app.command("update")
def update(
    name: Annotated[str, typer.Argument(help="The installed profile's name.")],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Publish the newer version the profile's source lists as its next version."""
    with connect(server, token) as api:
        data = api.post(f"{CATALOG}/update", {"name": name})
    output.emit(data, fmt, _render_installed)
