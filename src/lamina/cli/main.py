"""The `lamina` command: wires the command groups and turns errors into exit codes.

Exit codes: 0 success, 1 the API (or the store) refused the request, 2 usage error,
3 the server is unreachable.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

import lamina
from lamina.cli import output
from lamina.cli.client import EXIT_API_ERROR, CliError
from lamina.domain.errors import LaminaError

# The commands, loaded only when used: `lamina profiles list` imports the profiles module
# and nothing of the others, which keeps every command's start-up short. Each entry is
# (module, attribute, the line `lamina --help` shows for it); a group's attribute is its
# Typer app, a command's its function. tests/cli/test_local.py checks these lines against
# the commands' own help.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "apply": (
        "lamina.cli.apply",
        "apply",
        "Put a profile document into a draft of its profile, validate it and publish it.",
    ),
    "render": (
        "lamina.cli.render",
        "render",
        "Render a draft (--draft) or a published version (--profile) for one cluster.",
    ),
    "serve": (
        "lamina.cli.server",
        "serve",
        "Run the Lamina API on the database of LAMINA_DATABASE_URL (migrated on start).",
    ),
    "worker": (
        "lamina.cli.server",
        "worker",
        "Run queued jobs (rollouts) until stopped with Ctrl-C or SIGTERM.",
    ),
    "version": (
        "lamina.cli.server",
        "show_version",
        "Print Lamina's version and the versions of the tools it runs on this machine:\n"
        "kustomize (checked against the pinned version), the Helm engine, git and sops.",
    ),
    "profiles": (
        "lamina.cli.profiles",
        "app",
        "Browse, diff, export, import, clone and delete the org's stack profiles; see where they "
        "run, deprecate versions and roll them out.",
    ),
    "drafts": (
        "lamina.cli.drafts",
        "app",
        "Create, edit, validate and publish drafts of stack profiles.",
    ),
    "registries": (
        "lamina.cli.registries",
        "app",
        "Register, list, sync and delete the org's chart registries (pack sources).",
    ),
    "packs": (
        "lamina.cli.packs",
        "app",
        "Browse the charts (packs) of synced registries: versions and default values.",
    ),
    "clusters": (
        "lamina.cli.clusters",
        "app",
        "Register, list, show, change and forget the org's clusters (GitOps targets).",
    ),
    "stack": (
        "lamina.cli.stacks",
        "app",
        "Add, upgrade and remove profiles on a cluster: each change is a stack draft to "
        "review (diff) and commit to the cluster's Git branch.",
    ),
    "token": (
        "lamina.cli.tokens",
        "app",
        "Issue API tokens straight into the database (LAMINA_DATABASE_URL); list and "
        "revoke them over the API.",
    ),
    "jobs": (
        "lamina.cli.jobs",
        "app",
        "Follow and cancel the org's jobs: rollouts run by the server's workers.",
    ),
    "catalog": (
        "lamina.cli.catalog",
        "app",
        "Search the catalog (own, public and catalog profiles), install and update profiles "
        "from catalog sources, and manage the sources.",
    ),
    "audit": (
        "lamina.cli.audit",
        "app",
        "Read the org's audit log of writes (admins only).",
    ),
    "import": (
        "lamina.cli.imports",
        "import_profile",
        "Import a Palette cluster profile or a Weaveworks profile as a new draft, and print\n"
        "the import report.",
    ),
}


def load_command(name: str) -> Any:
    """The click command of `lamina NAME`, built from its module."""
    module, attribute, _ = COMMANDS[name]
    found = getattr(importlib.import_module(module), attribute)
    if isinstance(found, typer.Typer):
        command: Any = typer.main.get_group(found)  # a group even with one command
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(found)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LaminaGroup(TyperGroup):
    """The root group: loads a command when it is used, reports a CliError (or a service's
    LaminaError) and exits with its code."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self._listing:  # the root help only lists names and lines: load nothing
            return TyperGroup(name=cmd_name, help=COMMANDS[cmd_name][2])
        self.commands[cmd_name] = load_command(cmd_name)
        return self.commands[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

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
