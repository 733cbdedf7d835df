"""The `lamina` command: wires the command groups and turns errors into exit codes.

Exit codes: 0 success, 1 the API (or the store) refused the request, 2 usage error,
3 the server is unreachable.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

import lamina
from lamina.cli import (
    apply,
    audit,
    clusters,
    drafts,
    output,
    packs,
    profiles,
    registries,
    render,
    server,
    stacks,
    tokens,
)
from lamina.cli.client import EXIT_API_ERROR, CliError
from lamina.domain.errors import LaminaError


class LaminaGroup(TyperGroup):
    """The root group: reports a CliError (or a service's LaminaError) and exits with its code."""

    def invoke(self, ctx: Any) -> Any:  # Typer's vendored click Context
        try:
            return super().invoke(ctx)
        except CliError as error:
            output.report_error(error)
            raise typer.Exit(error.exit_code) from None
        except LaminaError as error:
            issues = [issue.as_dict() for issue in error.issues]
            output.report_error(CliError(error.title, error.detail, errors=issues))
            raise typer.Exit(EXIT_API_ERROR) from None


app = typer.Typer(
    name="lamina",
    cls=LaminaGroup,
    help="Lamina: typed, versioned, parameterised stack profiles for Kubernetes fleets.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(profiles.app, name="profiles")
app.add_typer(drafts.app, name="drafts")
app.add_typer(registries.app, name="registries")
app.add_typer(packs.app, name="packs")
app.add_typer(clusters.app, name="clusters")
app.add_typer(stacks.app, name="stack")
server.token_app.command("list")(tokens.list_tokens)
server.token_app.command("revoke")(tokens.revoke_token)
app.add_typer(server.token_app, name="token")
app.add_typer(audit.app, name="audit")
app.command("apply")(apply.apply)
app.command("render")(render.render)
app.command("serve")(server.serve)
app.command("version")(server.show_version)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"lamina {lamina.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Lamina: typed, versioned, parameterised stack profiles for Kubernetes fleets.

    Client commands talk to the API at --server (LAMINA_SERVER) with --token (LAMINA_TOKEN).
    """
