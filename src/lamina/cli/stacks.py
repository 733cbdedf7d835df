"""`lamina stack …`: change a cluster's stack through reviewed stack drafts, then commit them."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from lamina.cli import output, parameters
from lamina.cli.common import (
    CLUSTERS,
    DEFAULT_SERVER,
    ClusterArg,
    OutputOption,
    PageOption,
    PageSizeOption,
    ServerOption,
    TokenOption,
    connect,
    get_and_emit,
    profile_id,
)
from lamina.cli.output import OutputFormat
from lamina.cli.parameters import ParamFileOption
from lamina.cli.render import overrides

app = typer.Typer(
    help="Add, upgrade and remove profiles on a cluster: each change is a stack draft to "
    "review (diff) and commit to the cluster's Git branch.",
    no_args_is_help=True,
)

StackDraftId = Annotated[
    int,
    typer.Argument(help="Numeric ID of the stack draft (printed by instantiate, upgrade, …)."),
]
InstantiationId = Annotated[
    int,
    typer.Argument(help="Numeric ID of the instantiation (see `profiles instantiations`)."),
]
ParamsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        metavar="NAME=VALUE",
        help="A parameter value (repeatable); text is converted to the parameter's type; "
        "NAME=@FILE reads the value from FILE.",
    ),
]


@app.command("instantiate")
def instantiate(
    cluster_id: ClusterArg,
    profile: Annotated[
        str, typer.Option("--profile", metavar="PROFILE", help="Name or id of the profile to add.")
    ],
    version: Annotated[
        int | None,
        typer.Option(
            "--version", min=1, help="Version to add (default: the newest non-deprecated stable)."
        ),
    ] = None,
    params: ParamsOption = None,
    param_file: ParamFileOption = None,
    values_file: Annotated[
        str | None,
        typer.Option(
            "--values",
            metavar="FILE",
            help="YAML mapping of chart layer name to value overrides; '-' reads stdin.",
        ),
    ] = None,
    deploy: Annotated[
        bool,
        typer.Option("--deploy", help="Commit the stack draft at once, without a review."),
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Propose adding a profile version to a cluster's stack: prints the stack draft's ID.

    Review the draft with `stack diff`, then `stack commit` or `stack discard` it. With
    --deploy it is committed at once and the new revision and commit are printed.
    """
    body: dict[str, Any] = {"version": version, "deploy": deploy}
    if values_file is not None:
        body["values"] = overrides(values_file)
    path = f"{CLUSTERS}/{cluster_id}/stacks/from-profile"
    with connect(server, token) as api:
        body["profile_id"] = profile_id(api, profile)
        data = parameters.sending(
            parameters.supplied(params, param_file),
            lambda given: api.post(path, body | {"parameters": parameters.as_list(given)}),
        )
    what = f"adding profile {profile}"
    output.emit(data, fmt, lambda found: _render_draft(cluster_id, found, what))


def _render_draft(cluster_id: str, data: dict[str, Any], what: str) -> None:
    """The stack draft's ID and counts (or its commit), then its warnings on stderr."""
    output.warn(data["warnings"])
    version = data["profile_version"]
    change = f"{what} version {version}" if version is not None else what
    addons, objects = data["addons_count"], data["manifests_count"]
    counts = f"{_plural(addons, 'profile')} and {_plural(objects, 'object')}"
    if data.get("revision") is not None:
        output.message(
            f"committed revision {data['revision']} of cluster {cluster_id} "
            f"(commit {data['commit_sha']}), {change}: the stack holds {counts}"
        )
        return
    draft = data["draft_id"]
    output.message(
        f"created stack draft {draft} on cluster {cluster_id}, {change}: "
        f"the stack would hold {counts}"
    )
    output.step(f"review it with: lamina stack diff {cluster_id} {draft}")
    output.step(f"then: lamina stack commit {cluster_id} {draft} (or stack discard)")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@app.command("diff")
def diff(
    cluster_id: ClusterArg,
    draft_id: StackDraftId,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Review a stack draft against the committed stack.

    Lists the objects added and removed, prints a unified diff of each changed object's
    YAML, then the parameter changes. Secret values show as <redacted>.
    """
    with connect(server, token) as api:
        data = api.get(f"{CLUSTERS}/{cluster_id}/stack-drafts/{draft_id}/diff")
    output.emit(data, fmt, _render_diff)


def _render_diff(data: dict[str, Any]) -> None:
    added, changed, removed = data["added"], data["changed"], data["removed"]
    parameters = data["parameters"]
    if not (added or changed or removed or parameters):
        output.message("No changes against the committed stack.")
        return
    output.message(
        f"{len(added)} added, {len(changed)} changed, {len(removed)} removed, "
        f"{_plural(len(parameters), 'parameter change')}"
    )
    columns = ("KIND", "NAMESPACE", "NAME", "LAYER")
    for title, objects in (("Added", added), ("Removed", removed)):
        if objects:
            rows = [(o["kind"], o["namespace"] or None, o["name"], o["layer"]) for o in objects]
            output.show(Text(""), output.table(columns, rows, title=f"{title} objects"))
    if changed:
        output.show(Text(""), Text("Changed objects", style="bold"))
        for change in changed:
            # Plain text, never markup: a unified diff as `git diff` prints it, without colour.
            typer.echo(change["diff"], nl=not change["diff"].endswith("\n"))
    if parameters:
        rows = [
            (
                p["profile_id"],
                p["name"],
                _shown(p["from"], p.get("from_default")),
                _shown(p["to"], p.get("to_default")),
            )
            for p in parameters
        ]
        output.show(
            Text(""),
            output.table(
                ("PROFILE", "NAME", "FROM", "TO"),
                rows,
                title="Parameter changes",
                wrap=("FROM", "TO"),
            ),
        )


def _shown(value: Any, default: bool | None) -> str:
    """A parameter value in the diff; "(default)" when the version's default supplies it."""
    return output.compact(value) + (" (default)" if default else "")


@app.command("commit")
def commit(
    cluster_id: ClusterArg,
    draft_id: StackDraftId,
    message: Annotated[
        str | None,
        typer.Option(
            "--message", "-m", help="Commit message (default: 'lamina: <action> on <cluster>…')."
        ),
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Commit a stack draft: the whole stack in one commit, pushed to the cluster's branch.

    A draft made before another commit to the cluster is refused (exit 1): create it
    again. A refused push changes nothing.
    """
    body = {"message": message} if message is not None else {}
    output.step(f"committing stack draft {draft_id} of cluster {cluster_id}")
    with connect(server, token) as api:
        data = api.post(f"{CLUSTERS}/{cluster_id}/stack-drafts/{draft_id}/commit", body)
    output.emit(data, fmt, lambda done: _render_commit(cluster_id, done))


def _render_commit(cluster_id: str, data: dict[str, Any]) -> None:
    output.message(
        f"committed revision {data['revision']} of cluster {cluster_id} "
        f"(commit {data['commit_sha']})"
    )


@app.command("discard")
def discard(
    cluster_id: ClusterArg,
    draft_id: StackDraftId,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
) -> None:
    """Discard a stack draft; the committed stack is not affected."""
    with connect(server, token) as api:
        api.delete(f"{CLUSTERS}/{cluster_id}/stack-drafts/{draft_id}")
    output.message(f"discarded stack draft {draft_id} of cluster {cluster_id}")


@app.command("upgrade")
def upgrade(
    cluster_id: ClusterArg,
    instantiation_id: InstantiationId,
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help="Version to move to (default: the current one)."),
    ] = None,
    params: ParamsOption = None,
    param_file: ParamFileOption = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Propose moving an instantiation to another version of its profile (a stack draft).

    The parameter values it has are kept; give the parameters that are new and required
    in the new version, or to change a value, with -p. Parameters the new version no longer
    has are dropped with a warning.
    """
    body: dict[str, Any] = {"version": version}
    given = parameters.supplied(params, param_file)
    path = f"{CLUSTERS}/{cluster_id}/instantiations/{instantiation_id}/upgrade"

    def send(values: dict[str, Any]) -> Any:
        # No parameters keeps the instantiation's; an empty list would be a change.
        extra = {"parameters": parameters.as_list(values)} if values else {}
        return api.post(path, body | extra)

    with connect(server, token) as api:
        data = parameters.sending(given, send)
    what = f"upgrading instantiation {instantiation_id} to"
    output.emit(data, fmt, lambda found: _render_draft(cluster_id, found, what))


@app.command("uninstall")
def uninstall(
    cluster_id: ClusterArg,
    instantiation_id: InstantiationId,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Propose removing an instantiation's objects from the cluster (a stack draft).

    Nothing changes in Git until the draft is committed with `stack commit`.
    """
    with connect(server, token) as api:
        data = api.delete(f"{CLUSTERS}/{cluster_id}/instantiations/{instantiation_id}")
    what = f"removing instantiation {instantiation_id}"
    output.emit(data, fmt, lambda found: _render_draft(cluster_id, found, what))


@app.command("show")
def show(
    cluster_id: ClusterArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show a cluster's committed stack: its profiles, versions and parameters, the revision
    and commit, and how many objects each layer commits.

    Secret parameters are listed by name only; their values are never shown.
    """
    with connect(server, token) as api:
        data = api.get(f"{CLUSTERS}/{cluster_id}/stack")
    output.emit(data, fmt, _render_stack)


def _render_stack(data: dict[str, Any]) -> None:
    sha = data["commit_sha"]
    output.message(
        f"cluster {data['cluster_id']} at revision {data['revision']}"
        + (f" (commit {sha[:12]})" if sha else " (nothing committed yet)")
    )
    if not data["instantiations"]:
        return
    rows = [
        (
            i["instantiation_id"],
            i["profile"]["name"],
            i["profile"]["id"],
            i["version"],
            "yes" if i["outdated"] else "no",
            _parameters_cell(i["bindings"], i["secrets"]),
        )
        for i in data["instantiations"]
    ]
    columns = ("INSTANTIATION", "PROFILE", "PROFILE ID", "VERSION", "OUTDATED", "PARAMETERS")
    tables = [output.table(columns, rows, wrap=("PARAMETERS",))]
    if data["objects"]:
        layers = [(layer, count) for layer, count in data["objects"].items()]
        tables.append(output.table(("LAYER", "OBJECTS"), layers, title="Objects per layer"))
    output.show(*tables)


def _parameters_cell(bindings: dict[str, Any], secrets: list[str]) -> str | None:
    shown = [f"{name}={output.compact(value)}" for name, value in bindings.items()]
    shown += [f"{name}=<secret>" for name in secrets]
    return ", ".join(shown) or None


@app.command("drafts")
def drafts(
    cluster_id: ClusterArg,
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List a cluster's open stack drafts, oldest first.

    A stale draft was made against another revision than the current one: committing it
    is refused, so create it again (or discard it).
    """
    params = {"page": page, "page_size": page_size}
    get_and_emit(
        server, token, f"{CLUSTERS}/{cluster_id}/stack-drafts", params, fmt, _render_drafts
    )


def _render_drafts(data: dict[str, Any]) -> None:
    rows = [
        (
            d["id"],
            d["action"],
            d["base_revision"],
            "yes" if d["stale"] else "no",
            d["warnings_count"],
            d["created_at"],
        )
        for d in data["result"]
    ]
    columns = ("ID", "ACTION", "BASE REVISION", "STALE", "WARNINGS", "CREATED")
    output.show(output.table(columns, rows), output.page_footer(data))


@app.command("history")
def history(
    cluster_id: ClusterArg,
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List a cluster's stack revisions, newest first: commit, message, when and by whom
    (the label of the token that committed it)."""
    params = {"page": page, "page_size": page_size}
    get_and_emit(server, token, f"{CLUSTERS}/{cluster_id}/revisions", params, fmt, _render_history)


def _render_history(data: dict[str, Any]) -> None:
    rows = [
        (
            r["revision"],
            r["commit_sha"][:12],
            r["message"],
            r["committed_at"],
            r["committed_by"] or None,
        )
        for r in data["result"]
    ]
    columns = ("REVISION", "COMMIT", "MESSAGE", "COMMITTED", "BY")
    output.show(output.table(columns, rows, wrap=("MESSAGE",)), output.page_footer(data))


@app.command("restore")
def restore(
    cluster_id: ClusterArg,
    revision: Annotated[
        int, typer.Argument(min=1, help="The revision to go back to (see `stack history`).")
    ],
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Propose going back to an earlier revision: a stack draft with that revision's
    profiles, versions and parameters.

    Review it with `stack diff`, then `stack commit` it to write that revision's tree again.
    Refused (exit 1) when a version the revision ran was deleted.
    """
    with connect(server, token) as api:
        data = api.post(f"{CLUSTERS}/{cluster_id}/revisions/{revision}/restore", {})
    what = f"restoring revision {revision}"
    output.emit(data, fmt, lambda found: _render_draft(cluster_id, found, what))
