"""`lamina jobs list|show|cancel`: long work (rollouts) the server's workers run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

import typer

from lamina.cli import output
from lamina.cli.client import ApiClient
from lamina.cli.common import (
    DEFAULT_SERVER,
    JOBS,
    OutputOption,
    PageOption,
    PageSizeOption,
    ServerOption,
    TokenOption,
    connect,
    get_and_emit,
)
from lamina.cli.output import OutputFormat

app = typer.Typer(
    help="Follow and cancel the org's jobs: rollouts run by the server's workers.",
    no_args_is_help=True,
)
JobId = Annotated[int, typer.Argument(min=1, help="Numeric ID of the job (see `jobs list`).")]
FINISHED = ("succeeded", "failed", "cancelled")
POLL_SECONDS = 0.3
BATCH = 500


def follow(
    api: ApiClient, job_id: int, on_result: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Wait for the job to end, calling `on_result` for each cluster result as it comes;
    the job as it ended, with all its results."""
    after = 0
    results: list[dict[str, Any]] = []
    while True:
        job: dict[str, Any] = api.get(f"{JOBS}/{job_id}", {"after": after, "limit": BATCH})
        for result in job["results"]:
            results.append(result)
            after = int(result["id"])
            if on_result is not None:
                on_result(result)
        if job["state"] in FINISHED and len(job["results"]) < BATCH:
            job["results"] = results
            return job
        if len(job["results"]) < BATCH:
            time.sleep(POLL_SECONDS)


@app.command("list")
def list_jobs(
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the org's jobs, newest first: kind, state, clusters done of all, who, when."""
    params = {"page": page, "page_size": page_size}
    get_and_emit(server, token, JOBS, params, fmt, _render_list)


def _render_list(data: dict[str, Any]) -> None:
    columns = ("ID", "KIND", "STATE", "DONE", "COUNTS", "BY", "CREATED")
    rows = [
        (
            j["id"],
            j["kind"],
            j["state"],
            f"{j['done']}/{j['total']}",
            _counts(j["counts"]),
            j["created_by"],
            j["created_at"],
        )
        for j in data["result"]
    ]
    output.show(output.table(columns, rows), output.page_footer(data))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in counts.items() if n)


@app.command("show")
def show_job(
    job_id: JobId,
    watch: Annotated[
        bool, typer.Option("--follow", "-f", help="Print results as they come, until it ends.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show a job: its state, its counts and one line per cluster done."""
    from lamina.cli.fleet import result_line

    with connect(server, token) as api:
        if watch:
            width = 24
            shown = (
                (lambda r: output.message(result_line(r, width)))
                if fmt is OutputFormat.TABLE
                else None
            )
            data = follow(api, job_id, shown)
        else:
            data = api.get(f"{JOBS}/{job_id}", {"limit": 5000})
    if fmt is not OutputFormat.TABLE:
        output.print_data(data, fmt)
        return
    if not watch:
        width = max((len(r["cluster"]) for r in data["results"]), default=0)
        for result in data["results"]:
            output.message(result_line(result, width))
    _render_job(data)


def _render_job(job: dict[str, Any]) -> None:
    line = f"job {job['id']} ({job['kind']}) {job['state']}: {job['done']} of {job['total']}"
    line += " clusters done"
    if job["counts"]:
        line += f" ({_counts(job['counts'])})"
    output.message(line)
    if job.get("error"):
        output.message(f"error: {job['error']}")


@app.command("cancel")
def cancel_job(
    job_id: JobId,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Stop a job after the clusters of its current batch (a queued job stops at once)."""
    with connect(server, token) as api:
        data = api.post(f"{JOBS}/{job_id}/cancel")
    output.emit(data, fmt, _render_job)
