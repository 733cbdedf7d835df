"""`lamina drafts …`: create, edit, validate and publish drafts (editable working copies)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from lamina.adapters import yamlio
from lamina.cli import output
from lamina.cli.common import (
    DEFAULT_SERVER,
    DRAFTS,
    DraftArg,
    OutputOption,
    PageOption,
    PageSizeOption,
    ServerOption,
    TokenOption,
    connect,
    get_and_emit,
    profile_document,
    profile_id,
    read_source,
    update_body,
)
from lamina.cli.output import OutputFormat
from lamina.cli.profiles import render_published
from lamina.domain import document
from lamina.domain.models import Visibility

app = typer.Typer(
    help="Create, edit, validate and publish drafts of stack profiles.", no_args_is_help=True
)


@app.command("create")
def create_draft(
    name: Annotated[str | None, typer.Option(help="Name of a new, empty profile draft.")] = None,
    profile: Annotated[
        str | None,
        typer.Option("--profile", metavar="PROFILE", help="Name or id of a profile to start from."),
    ] = None,
    from_version: Annotated[
        int | None,
        typer.Option(
            "--from-version", min=1, help="Version of --profile to copy (default: latest)."
        ),
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Create a draft: empty (--name) or copied from a profile version (--profile)."""
    body: dict[str, Any] = {"name": name, "from_version": from_version}
    with connect(server, token) as api:
        if profile is not None:
            body["profile_id"] = profile_id(api, profile)
        data = api.post(DRAFTS, {k: v for k, v in body.items() if v is not None})
    output.emit(data, fmt, render_created)


def render_created(data: dict[str, Any]) -> None:
    output.message(f"created draft {data['id']} ({data['name']})")


@app.command("list")
def list_drafts(
    name: Annotated[str | None, typer.Option(help="Only drafts of this profile name.")] = None,
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the org's drafts, most recently updated first."""
    params = {"name": name, "page": page, "page_size": page_size}
    get_and_emit(server, token, DRAFTS, params, fmt, _render_list)


def _render_list(data: dict[str, Any]) -> None:
    columns = ("ID", "NAME", "PROFILE", "BASE", "VERSION", "UPDATED")
    rows = [
        (d["id"], d["name"], d["profile_id"], d["base_version"], d["version"], d["updated_at"])
        for d in data["result"]
    ]
    output.show(output.table(columns, rows, wrap=("NAME",)), output.page_footer(data))


@app.command("show")
def show_draft(
    draft_id: DraftArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show a draft: a summary, then its document as YAML (ready for `drafts update -f`)."""
    with connect(server, token) as api:
        data = api.get(f"{DRAFTS}/{draft_id}")
    output.emit(data, fmt, _render_draft)


def _render_draft(data: dict[str, Any]) -> None:
    summary = output.fields(
        [
            ("ID", data["id"]),
            ("Name", data["name"]),
            ("Profile", data["profile_id"]),
            ("Base version", data["base_version"]),
            ("Edit version", data["version"]),
            ("Updated", data["updated_at"]),
        ]
    )
    output.show(summary, Text(""))
    spec = document.compose_spec(data["spec"], data["parameters"])
    typer.echo(yamlio.dump(document.assemble(data["metadata"], spec)), nl=False)


@app.command("update")
def update_draft(
    draft_id: DraftArg,
    file: Annotated[
        str, typer.Option("--file", "-f", help="Profile document (YAML); '-' reads stdin.")
    ],
    version: Annotated[
        int | None,
        typer.Option(
            "--version", min=1, help="Edit version you last read (default: the draft's current)."
        ),
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Replace a draft's metadata, parameters and spec with a profile document's."""
    doc = profile_document(read_source(file), file)
    with connect(server, token) as api:
        if version is None:
            version = int(api.get(f"{DRAFTS}/{draft_id}")["version"])
        data = api.post(f"{DRAFTS}/{draft_id}", update_body(doc, version))
    output.emit(data, fmt, _render_updated)


def _render_updated(data: dict[str, Any]) -> None:
    output.message(f"updated draft {data['id']} ({data['name']}), now at edit {data['version']}")


@app.command("validate")
def validate_draft(
    draft_id: DraftArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Validate a draft; prints errors and warnings (PATH CODE MESSAGE), exit 1 if invalid."""
    with connect(server, token) as api:
        report = api.post(f"{DRAFTS}/{draft_id}/validate")
    output.emit(report, fmt, lambda data: render_report(draft_id, data))
    if not report["valid"]:
        raise typer.Exit(1)


def render_report(draft_id: str, report: dict[str, Any]) -> None:
    errors, warnings = report["errors"], report["warnings"]
    verdict = "valid" if report["valid"] else f"invalid ({len(errors)} errors)"
    output.message(f"draft {draft_id} is {verdict}, {len(warnings)} warnings")
    if errors:
        output.show(output.issues_table("Errors", errors))
    if warnings:
        output.show(output.issues_table("Warnings", warnings))


@app.command("publish")
def publish_draft(
    draft_id: DraftArg,
    channel: Annotated[
        str | None, typer.Option(help="Release channel (default: the document's, else stable).")
    ] = None,
    changelog: Annotated[str | None, typer.Option(help="What changed in this version.")] = None,
    visibility: Annotated[
        Visibility | None, typer.Option(help="Who may see the profile.", case_sensitive=False)
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Publish a valid draft as the next version of its profile (the draft is then removed)."""
    body = publish_body(channel, changelog, visibility)
    with connect(server, token) as api:
        data = api.post(f"{DRAFTS}/{draft_id}/publish", body)
    output.emit(data, fmt, render_published)


def publish_body(
    channel: str | None, changelog: str | None, visibility: Visibility | None = None
) -> dict[str, Any]:
    body = {"channel": channel, "changelog": changelog, "visibility": visibility}
    return {k: str(v) for k, v in body.items() if v is not None}


@app.command("delete")
def delete_draft(
    draft_id: DraftArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
) -> None:
    """Delete a draft (published versions are not affected)."""
    with connect(server, token) as api:
        api.delete(f"{DRAFTS}/{draft_id}")
    output.message(f"deleted draft {draft_id}")
