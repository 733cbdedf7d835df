"""Printing: rich tables for people, JSON or YAML for scripts, messages on stderr."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any

import typer
from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from lamina.cli.client import CliError

CELL_LIMIT = 60


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


def console(*, stderr: bool = False) -> Console:
    """A console on the current stdout or stderr (made per call so tests and pipes are honoured)."""
    probe = Console(stderr=stderr)
    # Piped output is read by people with pagers and by grep: do not squeeze it to 80 columns.
    width = None if probe.is_terminal else 160
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def emit(data: Any, fmt: OutputFormat, render: Callable[[Any], None]) -> None:
    """Print `data` (the API's JSON) with `render` for tables, else as JSON or YAML unchanged."""
    if fmt is OutputFormat.TABLE:
        render(data)
    else:
        print_data(data, fmt)


def print_data(data: Any, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.YAML:
        from lamina.adapters import yamlio  # only YAML output needs the YAML library

        typer.echo(yamlio.dump(data), nl=False)
    else:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def show(*renderables: RenderableType) -> None:
    out = console()
    for item in renderables:
        out.print(item)


def message(text: str) -> None:
    """One plain line on stdout (no markup)."""
    typer.echo(text)


def step(text: str) -> None:
    """A progress line on stderr."""
    console(stderr=True).print(Text("• " + text, style="dim"))


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    wrap: Sequence[str] = (),
) -> Table:
    """A table of plain cells (never read as markup; None shows as '-').

    Only the `wrap` columns wrap when the terminal is narrow; the others are cut with '…'.
    """
    grid = Table(
        title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD, show_edge=False
    )
    for name in columns:
        if name in wrap:
            grid.add_column(name, overflow="fold")
        else:
            grid.add_column(name, no_wrap=True, overflow="ellipsis")
    for row in rows:
        grid.add_row(*(cell(value) for value in row))
    return grid


def fields(pairs: Iterable[tuple[str, Any]]) -> Table:
    """A two-column list of labelled values."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    for label, value in pairs:
        grid.add_row(Text(label), cell(value))
    return grid


def cell(value: Any) -> Text:
    if value is None:
        return Text("-")
    if isinstance(value, list):
        return Text(", ".join(str(v) for v in value))
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    return Text(str(value))


def compact(value: Any, limit: int = CELL_LIMIT) -> str:
    """A value as one line of JSON, cut at `limit` characters."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def page_footer(data: dict[str, Any]) -> Text:
    total, size = int(data["total_count"]), max(1, int(data["page_size"]))
    pages = max(1, math.ceil(total / size))
    return Text(f"page {data['page']} of {pages} (total {total})", style="dim")


def issue_line(issue: dict[str, Any]) -> str:
    """`PATH: message (code)`; the whole document's path shows as <document>."""
    path = issue.get("path") or "<document>"
    code = f" ({issue['code']})" if issue.get("code") else ""
    return f"{path}: {issue.get('message', '')}{code}"


def issues_table(title: str, issues: list[dict[str, Any]]) -> Table:
    rows = [
        (i.get("path") or "<document>", i.get("code", ""), i.get("message", "")) for i in issues
    ]
    return table(("PATH", "CODE", "MESSAGE"), rows, title=title, wrap=("PATH", "MESSAGE"))


def warn(issues: list[dict[str, Any]]) -> None:
    err = console(stderr=True)
    for issue in issues:
        err.print(Text("warning: ", style="yellow") + Text(issue_line(issue)))


def report_error(error: CliError) -> None:
    """The error's title and detail, each issue as `PATH: message (code)` and a hint, on stderr."""
    err = console(stderr=True)
    headline = error.title if not error.detail else f"{error.title}: {error.detail}"
    err.print(Text("Error: ", style="bold red") + Text(headline))
    for issue in error.errors:
        err.print(Text("  " + issue_line(issue)))
    if error.hint:
        err.print(Text("Hint: ", style="bold") + Text(error.hint))
