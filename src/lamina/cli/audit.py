"""`lamina audit list`: the org's audit log of writes (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lamina.cli import output
from lamina.cli.common import (
    AUDIT,
    DEFAULT_SERVER,
    OutputOption,
    PageOption,
    PageSizeOption,
    ServerOption,
    TokenOption,
    get_and_emit,
)
from lamina.cli.output import OutputFormat

app = typer.Typer(help="Read the org's audit log of writes (admins only).", no_args_is_help=True)


@app.command("list")
def list_events(
    action: Annotated[
        str | None,
        typer.Option(help="Keep actions containing this text, e.g. 'DELETE' or '/clusters'."),
    ] = None,
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the org's writes, newest first: when, who, what, on what, and the status."""
    get_and_emit(
        server,
        token,
        AUDIT,
        {"page": page, "page_size": page_size, "action": action},
        fmt,
        _render_list,
    )


def _render_list(data: dict[str, Any]) -> None:
    columns = ("ID", "AT", "ACTOR", "ROLE", "ACTION", "TARGET", "STATUS")
    rows = [
        (
            e["id"],
            e["at"],
            e["actor"],
            e["role"],
            e["action"],
            output.compact(e["target"]),
            f"{e['status']} {e['result']}",
        )
        for e in data["result"]
    ]
    output.show(output.table(columns, rows, wrap=("ACTION",)), output.page_footer(data))
