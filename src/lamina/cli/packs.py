"""`lamina packs …`: browse the charts of synced registries, their versions and values."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

import typer

from lamina.adapters import yamlio
from lamina.cli import output
from lamina.cli.common import (
    DEFAULT_SERVER,
    PACKS,
    OutputOption,
    PageOption,
    PageSizeOption,
    ServerOption,
    TokenOption,
    connect,
    fetch_all,
)
from lamina.cli.output import OutputFormat

app = typer.Typer(
    help="Browse the charts (packs) of synced registries: versions and default values.",
    no_args_is_help=True,
)

RegistryName = Annotated[str, typer.Argument(help="Name of the registry (see `registries list`).")]
ChartName = Annotated[str, typer.Argument(help="Name of the chart (see `packs list`).")]


def pack_path(registry: str, name: str) -> str:
    return f"{PACKS}/{quote(registry, safe='')}/{quote(name, safe='')}"


@app.command("list")
def list_packs(
    search: Annotated[
        str | None, typer.Option(help="Text to find in chart names and descriptions.")
    ] = None,
    registry: Annotated[
        str | None, typer.Option(help="Only the charts of this registry (by name).")
    ] = None,
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    all_pages: Annotated[
        bool, typer.Option("--all", help="Follow every page and print all charts.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the charts of the org's synced registries, each at its newest stable version."""
    params: dict[str, Any] = {
        "search": search,
        "registry": registry,
        "page": page,
        "page_size": page_size,
    }
    with connect(server, token) as api:
        data = fetch_all(api, PACKS, params) if all_pages else api.get(PACKS, params)
    output.emit(data, fmt, _render_list)


def _render_list(data: dict[str, Any]) -> None:
    columns = ("REGISTRY", "NAME", "LATEST", "APP VERSION", "DESCRIPTION")
    rows = [
        (p["registry"], p["name"], p["latest_version"], p["app_version"], p["description"])
        for p in data["result"]
    ]
    table = output.table(columns, rows, wrap=("DESCRIPTION",))
    output.show(table, output.page_footer(data))


@app.command("versions")
def list_versions(
    registry: RegistryName,
    name: ChartName,
    pre: Annotated[
        bool, typer.Option("--pre", help="Also list pre-releases (like 2.0.0-rc.1).")
    ] = False,
    deprecated: Annotated[
        bool, typer.Option("--deprecated", help="Also list deprecated versions.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List a chart's versions, newest first by semantic version."""
    params = {"include_prerelease": pre or None, "include_deprecated": deprecated or None}
    with connect(server, token) as api:
        data = api.get(pack_path(registry, name), params)
    output.emit(data, fmt, _render_versions)


def _render_versions(data: list[dict[str, Any]]) -> None:
    columns = ("VERSION", "APP VERSION", "KUBERNETES", "DEPRECATED", "CREATED", "DIGEST")
    rows = [
        (
            v["version"],
            v["app_version"],
            v["kube_version"] or None,
            v["deprecated"],
            v["created"] or None,
            _short(v["digest"]),
        )
        for v in data
    ]
    output.show(output.table(columns, rows))


def _short(digest: str) -> str | None:
    """sha256:0123456789ab… (the first 12 hex digits)."""
    if not digest:
        return None
    algorithm, _, hex_digits = digest.rpartition(":")
    prefix = f"{algorithm}:" if algorithm else ""
    return f"{prefix}{hex_digits[:12]}…" if len(hex_digits) > 12 else digest


@app.command("values")
def show_values(
    registry: RegistryName,
    name: ChartName,
    version: Annotated[str, typer.Argument(help="Exact version of the chart, like 1.2.3.")],
    schema: Annotated[
        bool,
        typer.Option("--schema", help="Print the values schema (JSON Schema) instead, as YAML."),
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Print a chart version's complete default values as YAML (subcharts included).

    With -o json or -o yaml the whole answer {name, version, values, schema} is printed.
    """
    path = f"{pack_path(registry, name)}/versions/{quote(version, safe='')}/values"
    with connect(server, token) as api:
        data = api.get(path)
    output.emit(data, fmt, lambda found: _render_values(found, schema=schema))


def _render_values(data: dict[str, Any], *, schema: bool) -> None:
    if not schema:
        typer.echo(yamlio.dump(data["values"]), nl=False)
    elif data["schema"] is None:
        output.step(f"{data['name']} {data['version']} has no values schema")
    else:
        typer.echo(yamlio.dump(data["schema"]), nl=False)
