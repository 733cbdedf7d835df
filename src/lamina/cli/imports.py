"""`lamina import`: a profile written for another system (Palette, Weaveworks) as a draft."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

import typer

from lamina.cli import output
from lamina.cli.common import (
    DEFAULT_SERVER,
    OutputOption,
    ServerOption,
    TokenOption,
    connect,
    read_source,
)
from lamina.cli.output import OutputFormat

IMPORTS = "/api/v1/org/imports"
_URL = re.compile(r"^https?://", re.IGNORECASE)


class SourceKind(StrEnum):
    PALETTE = "palette"
    WEAVEWORKS = "weaveworks"


def import_profile(
    source: Annotated[
        str,
        typer.Argument(
            metavar="FILE|URL",
            help="The source document: a file, '-' for stdin, or an http(s) URL the server "
            "fetches.",
            show_default=False,
        ),
    ],
    kind: Annotated[
        SourceKind,
        typer.Option("--from", help="The system the document comes from.", case_sensitive=False),
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="Name the draft's profile (else the source's).")
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Import a Palette cluster profile or a Weaveworks profile as a new draft, and print
    the import report."""
    path = f"{IMPORTS}/{kind.value}"
    params = {"name": name}
    with connect(server, token) as api:
        if _URL.match(source):
            data = api.post(path, {"url": source}, params=params)
        else:
            data = api.post_yaml(path, read_source(source), params=params)
    output.emit(data, fmt, _render)


def _render(data: dict[str, Any]) -> None:
    draft = data["draft"]
    rows = [(n["status"], n["code"], n["path"], n["message"]) for n in data["report"]]
    counts = {s: sum(1 for n in data["report"] if n["status"] == s) for s in _STATUSES}
    summary = ", ".join(f"{counts[s]} {s}" for s in _STATUSES)
    output.show(output.table(("STATUS", "CODE", "PATH", "MESSAGE"), rows, wrap=("MESSAGE",)))
    output.message(f"created draft {draft['id']} ({draft['name']}): {summary}")
    output.message(f"next: lamina drafts validate {draft['id']}")


_STATUSES = ("mapped", "approximated", "unmapped")
