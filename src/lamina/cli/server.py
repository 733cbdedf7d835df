"""`lamina serve` and `lamina token create`: commands that use the store directly."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

import lamina
from lamina.cli import output
from lamina.cli.client import EXIT_API_ERROR, EXIT_USAGE, CliError
from lamina.cli.common import OutputOption
from lamina.cli.output import OutputFormat
from lamina.domain.models import Role
from lamina.settings import SETTINGS

# The server stack (FastAPI, the store, the Helm engine) is imported inside the commands
# that run it, so the client commands sharing this CLI start fast.
if TYPE_CHECKING:
    from lamina.config import Services, Settings

DOCS_PATH = "/api/v1/docs"
_PASSWORD = re.compile(r"(://[^:/@]+):[^@]*@")

token_app = typer.Typer(
    help="Issue API tokens straight into the database (LAMINA_DATABASE_URL); list and "
    "revoke them over the API.",
    no_args_is_help=True,
)


def serve(
    host: Annotated[
        str, typer.Option(envvar="LAMINA_HOST", help="Address to listen on.", show_envvar=True)
    ] = SETTINGS["LAMINA_HOST"][0],
    port: Annotated[
        int,
        typer.Option(
            envvar="LAMINA_PORT", min=1, max=65535, help="Port to listen on.", show_envvar=True
        ),
    ] = int(SETTINGS["LAMINA_PORT"][0]),
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="API processes (PostgreSQL only; SQLite serves from one process).",
        ),
    ] = 1,
) -> None:
    """Run the Lamina API on the database of LAMINA_DATABASE_URL (migrated on start).

    Into a database without a `demo` org, the demo org is seeded with example profiles and
    its token is printed (set LAMINA_DEMO=0 to skip).
    """
    import uvicorn

    from lamina.api import logs
    from lamina.api.app import create_app
    from lamina.config import Settings, build_services

    settings = replace(Settings(), host=host, port=port)
    if workers > 1 and not settings.database_url.startswith(("postgresql", "postgres")):
        raise CliError(
            "--workers needs PostgreSQL",
            "SQLite serves from one process: set LAMINA_DATABASE_URL to a PostgreSQL database",
            exit_code=EXIT_USAGE,
        )
    wired = build_services(settings)
    try:
        tools = _checked_tools(wired)
        token = _seed_demo(wired) if settings.demo else None
        # Commits a crash left between push and record are settled with their remotes,
        # off the start path: an unreachable remote must not keep the API down.
        threading.Thread(target=wired.stacks.reconcile_pending, daemon=True).start()
        _announce(settings, token)
        output.message(tools)
        # uvicorn's logging setup keeps a logger's filters, so this survives it.
        logs.install_access_redaction()
        worker = wired.embedded_worker() if settings.worker_threads > 0 else None
        if worker is not None:
            worker.start()
        try:
            if workers > 1:
                # Each process builds its own services from the same environment; this one
                # migrated and seeded the store, supervises them and runs the job workers.
                uvicorn.run(
                    "lamina.api.app:app_from_environment",
                    factory=True,
                    host=host,
                    port=port,
                    workers=workers,
                    log_level="info",
                )
            else:
                uvicorn.run(create_app(wired), host=host, port=port, log_level="info")
        finally:
            if worker is not None:
                worker.stop()
    finally:
        wired.store.dispose()


def worker(
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            min=1,
            max=64,
            help="Jobs run at once by this process.",
        ),
    ] = 2,
) -> None:
    """Run queued jobs (rollouts) until stopped with Ctrl-C or SIGTERM.

    Start as many as you like, on as many machines, against the same LAMINA_DATABASE_URL
    and LAMINA_QUEUE_URL: each job runs on one worker at a time, each cluster is delivered
    by one worker at a time, and a job whose worker died resumes on another. On Ctrl-C the
    worker finishes the cluster it is on and stops; a second Ctrl-C stops at once (the job
    resumes elsewhere). To run jobs only in workers, give the API process
    LAMINA_WORKER_THREADS=0.
    """
    import logging

    from lamina.config import Settings, build_services

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = replace(Settings(), demo=False)
    wired = build_services(settings)
    try:
        output.message(
            f"worker: {threads} threads on the queue {mask_password(wired.queue.url)}, "
            f"store {mask_password(settings.database_url)}"
        )
        wired.embedded_worker(workers=threads).run()
    finally:
        wired.store.dispose()


def _checked_tools(wired: Services) -> str:
    """One line naming the tool versions; ToolMissing when kustomize is not the pinned one."""
    from lamina.adapters import toolchain

    wired.kustomizer.check()
    shown = [
        f"{tool.name} {tool.version or 'not installed'}"
        for tool in toolchain.report(wired.kustomizer)
    ]
    return "Tools: " + ", ".join(shown)


def show_version(
    tool: Annotated[
        str,
        typer.Option(
            "--kustomize",
            envvar="LAMINA_KUSTOMIZE",
            help="kustomize or kubectl binary to check (default: the pinned one).",
            show_envvar=True,
        ),
    ] = "",
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Print Lamina's version and the versions of the tools it runs on this machine:
    kustomize (checked against the pinned version), the Helm engine, git and sops."""
    from lamina.adapters import toolchain
    from lamina.adapters.kustomize import KustomizeBuilder

    tools = toolchain.report(KustomizeBuilder(tool=tool or None))
    data = {
        "version": lamina.__version__,
        "tools": {
            t.name: {"version": t.version, "path": t.path, "problem": t.problem} for t in tools
        },
    }
    output.emit(data, fmt, _render_versions)
    if any(t.problem for t in tools if t.name == "kustomize"):
        raise typer.Exit(EXIT_API_ERROR)


def _render_versions(data: dict[str, Any]) -> None:
    rows = [
        (name, tool["version"], tool["path"], tool["problem"])
        for name, tool in data["tools"].items()
    ]
    table = output.table(("TOOL", "VERSION", "PATH", "PROBLEM"), rows, wrap=("PATH", "PROBLEM"))
    output.show(f"lamina {data['version']}", table)


def _seed_demo(wired: Services) -> str | None:
    from lamina.config import DEMO_CHARTS, demo_documents
    from lamina.services import demo

    return demo.seed(wired.store, wired.profiles, wired.registries, demo_documents(), DEMO_CHARTS)


def _announce(settings: Settings, demo_token: str | None) -> None:
    from lamina.services import demo

    url = base_url(settings.host, settings.port)
    output.message(f"Lamina listening on {url} (database {mask_password(settings.database_url)})")
    output.message(f"Web UI: {url}/ (sign in with an API token)")
    output.message(f"API docs: {url}{DOCS_PATH}")
    if demo_token is None:
        output.message(
            "Get a token for an org with: "
            f"lamina token create --org {demo.DEMO_ORG} (same LAMINA_DATABASE_URL)"
        )
        return
    server_env = "" if url == SETTINGS["LAMINA_SERVER"][0] else f"export LAMINA_SERVER={url}\n  "
    output.message(
        f"\nSeeded the demo org '{demo.DEMO_ORG}'. Its admin token (shown only now):\n"
        f"  {demo_token}\n"
        f"Sign in to the web UI at {url}/ with it, or try:\n"
        f"  {server_env}export LAMINA_TOKEN={demo_token}\n"
        f"  lamina profiles list\n"
        f'  curl -H "Authorization: Bearer $LAMINA_TOKEN" {url}/api/v1/org/stack-profiles\n'
    )


def base_url(host: str, port: int) -> str:
    """The URL clients use: a wildcard address is reached on loopback; IPv6 goes in brackets."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def mask_password(url: str) -> str:
    return _PASSWORD.sub(r"\1:***@", url)


@token_app.command("create")
def create_token(
    org: Annotated[str, typer.Option(help="Slug of the org (created if it does not exist).")],
    role: Annotated[
        Role, typer.Option(help="What the token may do.", case_sensitive=False)
    ] = Role.ADMIN,
    label: Annotated[str, typer.Option(help="A note to recognise the token by.")] = "",
    expires_in_days: Annotated[
        int | None,
        typer.Option(min=1, max=3650, help="Refuse the token after this many days (else never)."),
    ] = None,
) -> None:
    """Create an API token for an org and print only the token.

    For example: export LAMINA_TOKEN=$(lamina token create --org acme)
    """
    from lamina.config import Settings, build_services
    from lamina.services import auth

    wired = build_services(replace(Settings(), demo=False))
    try:
        expires_at = auth.expiry(now=datetime.now(UTC), expires_in_days=expires_in_days)
        token = auth.create_token(
            wired.store, org_slug=org, role=role, label=label, expires_at=expires_at
        )
    finally:
        wired.store.dispose()
    typer.echo(token)
