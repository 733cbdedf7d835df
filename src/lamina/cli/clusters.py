"""`lamina clusters …`: register, list, show, change and forget deployment targets."""

from __future__ import annotations

import os
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer

from lamina.cli import output
from lamina.cli.client import EXIT_USAGE, CliError
from lamina.cli.common import (
    CLUSTERS,
    DEFAULT_SERVER,
    ClusterArg,
    OutputOption,
    PageOption,
    PageSizeOption,
    ServerOption,
    TokenOption,
    YesOption,
    connect,
    delete_after_asking,
    fetch_all,
    pairs,
)
from lamina.cli.output import OutputFormat
from lamina.domain.models import GitMode

GIT_TOKEN_ENV = "LAMINA_GIT_TOKEN"

app = typer.Typer(
    help="Register, list, show, change and forget the org's clusters (GitOps targets).",
    no_args_is_help=True,
)

BranchOption = Annotated[
    str | None, typer.Option("--branch", help="Branch the stack is pushed to.")
]
PathOption = Annotated[
    str | None,
    typer.Option("--path", help="Folder of the branch holding one sub-folder per cluster."),
]
ModeOption = Annotated[
    GitMode | None,
    typer.Option(
        "--mode",
        help="rendered: plain manifests with kustomizations; flux: HelmReleases and Flux "
        "Kustomizations.",
        case_sensitive=False,
    ),
]
UsernameOption = Annotated[
    str | None,
    typer.Option("--git-username", metavar="USER", help="HTTPS user name sent with the token."),
]
TokenStdinOption = Annotated[
    bool,
    typer.Option(
        "--git-token-stdin",
        help=f"Read the Git token from stdin (else from {GIT_TOKEN_ENV} when set).",
    ),
]
AgeRecipientOption = Annotated[
    str | None,
    typer.Option(
        "--age-recipient",
        metavar="AGE1...",
        help="The cluster's age public key: secret values are committed SOPS-encrypted for "
        "it (an empty value clears it).",
    ),
]
KubeVersionOption = Annotated[
    str | None,
    typer.Option(
        "--kubernetes-version", metavar="X", help="The cluster's Kubernetes version, like 1.31.2."
    ),
]


@app.command("list")
def list_clusters(
    selector: Annotated[
        str | None,
        typer.Option("--selector", "-l", help="Label selector, like 'env=prod,region in (eu,us)'."),
    ] = None,
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    all_pages: Annotated[
        bool, typer.Option("--all", help="Follow every page and print all clusters.")
    ] = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the org's clusters, optionally only those whose labels match a selector."""
    params: dict[str, Any] = {"selector": selector, "page": page, "page_size": page_size}
    with connect(server, token) as api:
        data = fetch_all(api, CLUSTERS, params) if all_pages else api.get(CLUSTERS, params)
    output.emit(data, fmt, _render_list)


def _render_list(data: dict[str, Any]) -> None:
    columns = ("ID", "NAME", "LABELS", "KUBERNETES", "MODE", "REVISION", "COMMIT", "GIT URL")
    rows = [
        (
            c["id"],
            c["name"],
            label_list(c["labels"]),
            c["kubernetes_version"] or None,
            c["gitops"]["mode"],
            c["revision"],
            short_sha(c["commit_sha"]),
            c["gitops"]["url"],
        )
        for c in data["result"]
    ]
    table = output.table(columns, rows, wrap=("LABELS", "GIT URL"))
    output.show(table, output.page_footer(data))


def label_list(labels: dict[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in sorted(labels.items())]


def short_sha(sha: str | None) -> str | None:
    return sha[:12] if sha else None


@app.command("create")
def create_cluster(
    name: Annotated[str, typer.Argument(help="Name of the cluster, a DNS label like 'eu-1'.")],
    git_url: Annotated[
        str,
        typer.Option(
            "--git-url",
            metavar="URL",
            help="Repository the stack is committed to: https://, ssh://, git@host:path or "
            "file://.",
        ),
    ],
    branch: Annotated[
        str, typer.Option("--branch", help="Branch the stack is pushed to.")
    ] = "main",
    path: Annotated[
        str, typer.Option("--path", help="Folder of the branch holding one sub-folder per cluster.")
    ] = "clusters",
    mode: Annotated[
        GitMode,
        typer.Option(
            "--mode",
            help="rendered: plain manifests with kustomizations; flux: HelmReleases and Flux "
            "Kustomizations.",
            case_sensitive=False,
        ),
    ] = GitMode.RENDERED,
    git_username: UsernameOption = None,
    git_token_stdin: TokenStdinOption = False,
    age_recipient: AgeRecipientOption = None,
    labels: Annotated[
        list[str] | None,
        typer.Option("--label", metavar="KEY=VALUE", help="A label of the cluster (repeatable)."),
    ] = None,
    kubernetes_version: KubeVersionOption = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Register a cluster: its labels, Kubernetes version and the Git branch its stack goes to.

    The stack is written to PATH/NAME/ of the branch. A Git token is never taken on the
    command line: pipe it in with --git-token-stdin or set LAMINA_GIT_TOKEN. It is stored
    encrypted and never shown again.
    """
    gitops: dict[str, Any] = {
        "url": _git_url(git_url),
        "branch": branch,
        "path": path,
        "mode": mode.value,
    }
    if git_username:
        gitops["username"] = git_username
    if age_recipient:
        gitops["age_recipient"] = age_recipient
    secret = git_token(git_token_stdin)
    if secret:
        gitops["token"] = secret
    body: dict[str, Any] = {
        "name": name,
        "labels": pairs(labels or [], "--label"),
        "kubernetes_version": kubernetes_version or "",
        "gitops": gitops,
    }
    with connect(server, token) as api:
        data = api.post(CLUSTERS, body)
    output.emit(data, fmt, _render_created)


def git_token(from_stdin: bool) -> str | None:
    """The Git token from stdin (one line, its line break dropped) or the environment."""
    if from_stdin:
        stdin = typer.get_text_stream("stdin")
        # A person types one line; a pipe may hold a final line break.
        typed = stdin.readline() if stdin.isatty() else stdin.read()
        secret = typed.rstrip("\r\n")
        if not secret:
            raise CliError("No Git token on stdin", exit_code=EXIT_USAGE)
        return secret
    return os.environ.get(GIT_TOKEN_ENV) or None


def _git_url(url: str) -> str:
    """`url`, refused when it carries a password (it would be stored and shown as is)."""
    try:
        password = urlsplit(url).password
    except ValueError:  # a malformed URL: the API names the field
        return url
    if password is not None:
        raise CliError(
            "The Git URL carries a password",
            "it would be stored and shown in plain text",
            hint=f"Drop it from --git-url; pipe the token to --git-token-stdin or set "
            f"{GIT_TOKEN_ENV}.",
            exit_code=EXIT_USAGE,
        )
    return url


def _render_created(data: dict[str, Any]) -> None:
    auth = " with a Git token" if data["gitops"]["has_token"] else ""
    output.message(f"created cluster {data['id']} ({data['name']}){auth}")
    output.step(f"add a profile with: lamina stack instantiate {data['name']} --profile PROFILE")


@app.command("show")
def show_cluster(
    cluster_id: ClusterArg,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Show a cluster: labels, Git target and the revision of its committed stack."""
    with connect(server, token) as api:
        data = api.get(f"{CLUSTERS}/{cluster_id}")
    output.emit(data, fmt, _render_detail)


def _render_detail(data: dict[str, Any]) -> None:
    git = data["gitops"]
    output.show(
        output.fields(
            [
                ("ID", data["id"]),
                ("Name", data["name"]),
                ("Labels", label_list(data["labels"])),
                ("Kubernetes", data["kubernetes_version"] or None),
                ("Git URL", git["url"]),
                ("Branch", git["branch"]),
                ("Folder", f"{git['path']}/{data['name']}".strip("/")),
                ("Mode", git["mode"]),
                ("Git user", git["username"]),
                ("Git token", "stored" if git["has_token"] else "none"),
                ("Age recipient", git.get("age_recipient")),
                ("Revision", data["revision"]),
                ("Commit", data["commit_sha"]),
                ("Created", data["created_at"]),
                ("Updated", data["updated_at"]),
            ]
        )
    )


@app.command("update")
def update_cluster(
    cluster_id: ClusterArg,
    name: Annotated[str | None, typer.Option("--name", help="A new name (a DNS label).")] = None,
    git_url: Annotated[
        str | None, typer.Option("--git-url", metavar="URL", help="Another repository.")
    ] = None,
    branch: BranchOption = None,
    path: PathOption = None,
    mode: ModeOption = None,
    git_username: UsernameOption = None,
    git_token_stdin: TokenStdinOption = False,
    age_recipient: AgeRecipientOption = None,
    labels: Annotated[
        list[str] | None,
        typer.Option(
            "--label",
            metavar="KEY=VALUE",
            help="Add or change a label; KEY- removes one (repeatable). Other labels are kept.",
        ),
    ] = None,
    kubernetes_version: KubeVersionOption = None,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """Change a cluster: only the options given change.

    A new Git token comes from stdin (--git-token-stdin) or LAMINA_GIT_TOKEN when set; the
    stored one is kept otherwise.
    """
    gitops: dict[str, Any] = {
        "url": None if git_url is None else _git_url(git_url),
        "branch": branch,
        "path": path,
        "mode": None if mode is None else mode.value,
        "username": git_username,
        "token": git_token(git_token_stdin),
        "age_recipient": age_recipient,
    }
    body: dict[str, Any] = {"name": name, "kubernetes_version": kubernetes_version}
    body = {k: v for k, v in body.items() if v is not None}
    changed_git = {k: v for k, v in gitops.items() if v is not None}
    if changed_git:
        body["gitops"] = changed_git
    edits = label_edits(labels or [])
    if not body and not edits:
        raise CliError(
            "Nothing to change",
            hint="Give at least one option, e.g. --label env=prod (see --help).",
            exit_code=EXIT_USAGE,
        )
    with connect(server, token) as api:
        if edits:
            current: dict[str, str] = api.get(f"{CLUSTERS}/{cluster_id}")["labels"]
            body["labels"] = apply_label_edits(current, edits)
        data = api.patch(f"{CLUSTERS}/{cluster_id}", body)
    output.emit(data, fmt, _render_updated)


def label_edits(items: list[str]) -> list[tuple[str, str | None]]:
    """KEY=VALUE items as (key, value), KEY- items as (key, None): a removal."""
    edits: list[tuple[str, str | None]] = []
    for item in items:
        if "=" not in item and item.endswith("-") and len(item) > 1:
            edits.append((item[:-1], None))
        else:
            edits.extend(pairs([item], "--label").items())
    return edits


def apply_label_edits(
    labels: dict[str, str], edits: list[tuple[str, str | None]]
) -> dict[str, str]:
    result = dict(labels)
    for key, value in edits:
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def _render_updated(data: dict[str, Any]) -> None:
    output.message(f"updated cluster {data['id']} ({data['name']})")


@app.command("delete")
def delete_cluster(
    cluster_id: ClusterArg,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Forget the cluster even while it runs profiles (nothing on it changes).",
        ),
    ] = False,
    yes: YesOption = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
) -> None:
    """Forget a cluster (asks first unless --yes); its Git repository is left as it is.
    Refused while it runs profiles, unless --force."""
    delete_after_asking(
        server=server,
        token=token,
        path=f"{CLUSTERS}/{cluster_id}" + ("?force=true" if force else ""),
        question=f"Forget cluster {cluster_id} and its stack history?",
        yes=yes,
        done=f"deleted cluster {cluster_id} (its Git repository is left as it is)",
    )
