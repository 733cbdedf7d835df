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
    fetch_all,
    load_document,
    profile_document,
    read_source,
    update_body,
)
from lamina.cli.drafts import publish_body, render_report
from lamina.cli.output import OutputFormat
from lamina.cli.profiles import render_published
from lamina.domain import document


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
    """Put a profile document into a draft of its profile, validate it and publish it.

    A document equal to the profile's latest version (same spec, profile fields and
    channel; the changelog aside) publishes nothing and prints "unchanged". Otherwise the
    profile's draft named like the document's metadata.name is updated, or created when
    there is none; drafts of other profiles are never used. When the document is invalid
    the errors are printed, the draft is kept for inspection and the exit code is 1.
    """
    raw = read_source(file)
    doc = profile_document(raw, file)
    name = _name_of(doc, file)
    with connect(server, token) as api:
        profile = _profile_named(api, name)
        kept = _unchanged(api, profile, doc, channel) if profile else None
        if kept is not None:
            output.emit(kept, fmt, render_published)
            return
        draft = _upsert_draft(api, name, doc, raw, profile)
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


def _profile_named(api: ApiClient, name: str) -> dict[str, Any] | None:
    found = fetch_all(api, PROFILES, {"search": name})["result"]
    return next((p for p in found if p["name"] == name), None)


def _unchanged(
    api: ApiClient, profile: dict[str, Any], doc: dict[str, Any], channel: str | None
) -> dict[str, Any] | None:
    """The answer for a document equal to the profile's latest version, else None."""
    number = profile["latest_version"]
    raw = api.get_bytes(f"{PROFILES}/{profile['id']}/versions/{number}/iac-export")
    latest = load_document(raw, f"version {number} of {profile['name']}")
    if not document.same_content(doc, latest, channel=channel):
        return None
    version = {"version": number, "channel": latest["metadata"]["channel"]}
    return {
        "profile": {"id": profile["id"], "name": profile["name"]},
        "version": version,
        "unchanged": True,
    }


def _upsert_draft(
    api: ApiClient, name: str, doc: dict[str, Any], raw: bytes, profile: dict[str, Any] | None
) -> dict[str, Any]:
    """The draft apply owns, holding `doc`: updated when it exists, else created.

    For an existing profile that is a draft tied to it; for a new profile, a draft of no
    profile with the document's name. Drafts of other profiles are never touched.
    """
    owner = profile["id"] if profile else None
    named = api.get(DRAFTS, {"name": name})["result"]
    found = [d for d in named if d["profile_id"] == owner]
    if found:
        current = found[0]
        if len(found) > 1:
            output.step(f"{len(found)} drafts of {name}; using the latest, {current['id']}")
    elif profile is None:
        created: dict[str, Any] = api.post_yaml(f"{PROFILES}/import", raw, {"as_draft": True})
        output.step(f"created draft {created['id']} for {name}")
        return created
    else:  # seeded from the profile, so it is tied to it; the update puts `doc` in
        current = api.post(DRAFTS, {"profile_id": profile["id"]})
        output.step(f"created draft {current['id']} for {name}")
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
