"""`lamina apply`: author from Git in one step (draft, validate, publish)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lamina.cli import output
from lamina.cli.client import ApiClient, CliError
from lamina.cli.common import (
    DEFAULT_SERVER,
    DRAFTS,
    PROFILES,
    OutputOption,
    ServerOption,
    TokenOption,
    connect,
    profile_document,
    read_source,
    update_body,
)
from lamina.cli.drafts import publish_body, render_report
from lamina.cli.output import OutputFormat
from lamina.cli.profiles import render_published


def apply(
    file: Annotated[
        str, typer.Option("--file", "-f", help="Profile document (YAML); '-' reads stdin.")
    ],
    channel: Annotated[
        str | None, typer.Option(help="Release channel (default: the document's, else stable).")
    ] = None,
    changelog: Annotated[str | None, typer.Option(help="What changed in this version.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Update and validate the draft but do not publish.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Put a profile document into the org's draft of that name, validate it and publish it.

    The draft named like the document's metadata.name is updated, or created when there is
    none. When the document is invalid the errors are printed, the draft is kept for
    inspection and the exit code is 1.
    """
    raw = read_source(file)
    doc = profile_document(raw, file)
    name = _name_of(doc, file)
    with connect(server, token) as api:
        draft = _upsert_draft(api, name, doc, raw)
        report = _validate(api, draft)
        if dry_run:
            output.emit(report, fmt, lambda data: render_report(draft["id"], data))
            return
        output.step(f"publishing draft {draft['id']}")
        published = api.post(f"{DRAFTS}/{draft['id']}/publish", publish_body(channel, changelog))
    output.emit(published, fmt, render_published)


def _name_of(doc: dict[str, Any], source: str) -> str:
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        issue = {"path": "metadata.name", "code": "missing_field", "message": "A name is required"}
        raise CliError(
            f"{source} has no metadata.name", "apply finds drafts by name", errors=[issue]
        )
    return name


def _upsert_draft(api: ApiClient, name: str, doc: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """The org's draft called `name` holding `doc`: updated when it exists, else created."""
    found = api.get(DRAFTS, {"name": name})["result"]
    if not found:
        draft: dict[str, Any] = api.post_yaml(f"{PROFILES}/import", raw, {"as_draft": True})
        output.step(f"created draft {draft['id']} for {name}")
        return draft
    current = found[0]
    if len(found) > 1:
        output.step(f"{len(found)} drafts are named {name}; using the latest, {current['id']}")
    updated: dict[str, Any] = api.post(
        f"{DRAFTS}/{current['id']}", update_body(doc, current["version"])
    )
    output.step(f"updated draft {updated['id']} for {name}")
    return updated


def _validate(api: ApiClient, draft: dict[str, Any]) -> dict[str, Any]:
    """The draft's validation report; warnings go to stderr, errors raise a CliError."""
    output.step(f"validating draft {draft['id']}")
    report: dict[str, Any] = api.post(f"{DRAFTS}/{draft['id']}/validate")
    output.warn(report["warnings"])
    if not report["valid"]:
        count = len(report["errors"])
        raise CliError(
            f"{draft['name']} is invalid",
            f"{count} error{'s' if count != 1 else ''}; draft {draft['id']} is kept for inspection",
            errors=report["errors"],
            hint=f"See it with `lamina drafts show {draft['id']}`, fix the file and apply again.",
        )
    return report
