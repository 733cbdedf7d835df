"""`lamina registries …`: register, list, sync and delete the org's chart sources."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from lamina.cli import output
from lamina.cli.client import EXIT_USAGE, CliError
from lamina.cli.common import (
    DEFAULT_SERVER,
    REGISTRIES,
    OutputOption,
    PageOption,
    PageSizeOption,
    RegistryArg,
    ServerOption,
    TokenOption,
    YesOption,
    connect,
    delete_after_asking,
    get_and_emit,
)
from lamina.cli.output import OutputFormat
from lamina.domain.models import RegistryKind

PASSWORD_ENV = "LAMINA_REGISTRY_PASSWORD"

app = typer.Typer(
    help="Register, list, sync and delete the org's chart registries (pack sources).",
    no_args_is_help=True,
)


@app.command("list")
def list_registries(
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the org's registries with their last sync (passwords are never shown)."""
    get_and_emit(
        server, token, REGISTRIES, {"page": page, "page_size": page_size}, fmt, _render_list
    )


def _render_list(data: dict[str, Any]) -> None:
    columns = ("ID", "NAME", "KIND", "URL", "USERNAME", "PASSWORD", "CHARTS", "SYNCED", "ERROR")
    rows = [
        (
            r["id"],
            r["name"],
            r["kind"],
            r["url"],
            r["username"],
            r["has_password"],
            r["charts"],
            r["synced_at"],
            r["sync_error"],
        )
        for r in data["result"]
    ]
    table = output.table(columns, rows, wrap=("URL", "CHARTS", "ERROR"))
    output.show(table, output.page_footer(data))


@app.command("create")
def create_registry(
    name: Annotated[str, typer.Argument(help="Name of the registry, a DNS label like 'charts'.")],
    kind: Annotated[
        RegistryKind,
        typer.Option(
            help="helm: an index.yaml repository; oci: an OCI registry; local: a directory.",
            case_sensitive=False,
        ),
    ],
    url: Annotated[
        str,
        typer.Option(
            help="https:// (helm), oci:// (oci), or a directory under LAMINA_LOCAL_ROOTS (local)."
        ),
    ],
    username: Annotated[
        str | None, typer.Option(help="User name for basic auth (with a password).")
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help=f"Read the password from stdin (else from {PASSWORD_ENV} when set).",
        ),
    ] = False,
    charts: Annotated[
        list[str] | None,
        typer.Option(
            "--chart",
            metavar="NAME",
            help="OCI only: a chart to index (repeatable; OCI cannot list them).",
        ),
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Register a chart source; sync it next to index its charts.

    A password is never taken on the command line: pipe it in with --password-stdin or set
    LAMINA_REGISTRY_PASSWORD. It is stored encrypted and never shown again.
    """
    password = _password(password_stdin, username)
    body: dict[str, Any] = {"name": name, "kind": kind.value, "url": url, "charts": charts or []}
    if username:
        body["username"] = username
    if password:
        body["password"] = password
    with connect(server, token) as api:
        data = api.post(REGISTRIES, body)
    output.emit(data, fmt, _render_created)


def _password(from_stdin: bool, username: str | None) -> str | None:
    """The password from stdin (one line, its line break dropped) or the environment."""
    if from_stdin:
        if not username:
            raise CliError("--password-stdin needs --username", exit_code=EXIT_USAGE)
        stdin = typer.get_text_stream("stdin")
        # A person types one line; a pipe may hold a final line break.
        typed = stdin.readline() if stdin.isatty() else stdin.read()
        password = typed.rstrip("\r\n")
        if not password:
            raise CliError("No password on stdin", exit_code=EXIT_USAGE)
        return password
    return (os.environ.get(PASSWORD_ENV) or None) if username else None


def _render_created(data: dict[str, Any]) -> None:
    auth = " with a password" if data["has_password"] else ""
    output.message(f"created registry {data['id']} ({data['name']}){auth}")
    output.step(f"index its charts with: lamina registries sync {data['id']}")


@app.command("sync")
def sync_registry(
    registry_id: RegistryArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Read the registry's index now and replace its packs; prints how many there are."""
    output.step(f"syncing registry {registry_id}")
    with connect(server, token) as api:
        data = api.post(f"{REGISTRIES}/{registry_id}/sync")
    output.emit(data, fmt, _render_synced)


def _render_synced(data: dict[str, Any]) -> None:
    count = data["packs_count"]
    registry = data["registry"]
    output.message(
        f"synced registry {registry['id']} ({registry['name']}): "
        f"{count} pack{'s' if count != 1 else ''}"
    )


@app.command("delete")
def delete_registry(
    registry_id: RegistryArg,
    yes: YesOption = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
) -> None:
    """Delete a registry and its indexed packs (asks first unless --yes)."""
    delete_after_asking(
        server=server,
        token=token,
        path=f"{REGISTRIES}/{registry_id}",
        question=f"Delete registry {registry_id} and its packs?",
        yes=yes,
        done=f"deleted registry {registry_id}",
    )
