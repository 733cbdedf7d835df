"""What the client commands share: options, the API paths, reading files and documents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer

from lamina.cli import output
from lamina.cli.client import EXIT_USAGE, ApiClient, CliError
from lamina.cli.output import OutputFormat
from lamina.domain.errors import LaminaError
from lamina.settings import SETTINGS

PROFILES = "/api/v1/org/stack-profiles"
DRAFTS = f"{PROFILES}/drafts"
REGISTRIES = "/api/v1/org/registries"
PACKS = "/api/v1/org/packs"
CLUSTERS = "/api/v1/org/clusters"
TOKENS = "/api/v1/org/tokens"
AUDIT = "/api/v1/org/audit"
JOBS = "/api/v1/org/jobs"
DEFAULT_SERVER = SETTINGS["LAMINA_SERVER"][0]

ServerOption = Annotated[
    str,
    typer.Option(
        "--server", envvar="LAMINA_SERVER", help="Address of the Lamina API.", show_envvar=True
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="LAMINA_TOKEN",
        help="API token (lam_…) sent as a bearer token.",
        show_default=False,
        show_envvar=True,
    ),
]
OutputOption = Annotated[
    OutputFormat,
    typer.Option(
        "--output",
        "-o",
        help="table for people; json or yaml print the API's response for scripts.",
        case_sensitive=False,
    ),
]
PageOption = Annotated[int, typer.Option("--page", min=1, help="Page number, from 1.")]
PageSizeOption = Annotated[
    int, typer.Option("--page-size", min=1, max=200, help="Items per page (at most 200).")
]


def segment(ref: str) -> str:
    """A name or id as one path segment: the API reads digits only as an id, else a name."""
    return quote(ref, safe="")


def _ref(noun: str, listing: str) -> Any:
    return typer.Argument(
        metavar=noun.upper(),
        help=f"Name or id of the {noun} (see `{listing}`); digits only are an id.",
        callback=segment,
        show_default=False,
    )


ProfileArg = Annotated[str, _ref("profile", "profiles list")]
ClusterArg = Annotated[str, _ref("cluster", "clusters list")]
RegistryArg = Annotated[str, _ref("registry", "registries list")]
DraftArg = Annotated[str, _ref("draft", "drafts list")]


def profile_id(api: ApiClient, ref: str) -> int:
    """The id of the profile a name or id names, for request bodies that take ids."""
    if ref.isascii() and ref.isdigit():
        return int(ref)
    return int(api.get(f"{PROFILES}/{segment(ref)}")["profile"]["id"])


def connect(server: str, token: str | None) -> ApiClient:
    return ApiClient(server, token)


def get_and_emit(
    server: str,
    token: str | None,
    path: str,
    params: dict[str, Any] | None,
    fmt: OutputFormat,
    render: Callable[[Any], None],
) -> None:
    """GET `path` and print the answer: with `render` as a table, else as JSON or YAML."""
    with connect(server, token) as api:
        data = api.get(path, params)
    output.emit(data, fmt, render)


def read_source(file: str) -> bytes:
    """The bytes of `file`, or of stdin when it is '-'."""
    if file == "-":
        return typer.get_binary_stream("stdin").read()
    try:
        return Path(file).read_bytes()
    except OSError as error:
        detail = error.strerror or str(error)
        raise CliError(f"Cannot read {file}", detail, exit_code=EXIT_USAGE) from error


def write_file(file: Path, content: bytes) -> None:
    try:
        file.write_bytes(content)
    except OSError as error:
        raise CliError(f"Cannot write {file}", error.strerror or str(error)) from error


def load_document(raw: bytes, source: str) -> Any:
    """The parsed YAML of a file, or a CliError saying where it is malformed."""
    from lamina.adapters import yamlio  # only commands that read documents need it

    try:
        return yamlio.load(raw)
    except LaminaError as error:
        issues = [issue.as_dict() for issue in error.issues]
        raise CliError(f"Cannot load {source}", error.detail, errors=issues) from error


def profile_document(raw: bytes, source: str) -> dict[str, Any]:
    """A profile document (a mapping with a `spec` mapping) read from `raw`."""
    doc = load_document(raw, source)
    if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
        issue = {
            "path": "spec" if isinstance(doc, dict) else "",
            "code": "wrong_type",
            "message": "A profile document is a mapping with a 'spec' mapping",
        }
        raise CliError(f"{source} is not a profile document", errors=[issue])
    return doc


def update_body(doc: dict[str, Any], version: int) -> dict[str, Any]:
    """The draft update request for a profile document, at the draft's edit `version`."""
    spec: dict[str, Any] = doc["spec"]
    metadata = doc.get("metadata")
    parameters = spec.get("parameters")
    if isinstance(parameters, list):
        spec = {k: v for k, v in spec.items() if k != "parameters"}
    else:  # absent or malformed: left in the spec, where validation reports it
        parameters = None
    return {"spec": spec, "parameters": parameters, "metadata": metadata, "version": version}


def fetch_all(api: ApiClient, path: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every page of a list from page 1, merged into one response that is its only page."""
    page = 1
    items: list[Any] = []
    while True:
        data = api.get(path, {**params, "page": page})
        items.extend(data["result"])
        if not data["result"] or len(items) >= data["total_count"]:
            break
        page += 1
    size = max(1, len(items), int(data["total_count"]))
    return {"result": items, "total_count": data["total_count"], "page": 1, "page_size": size}


def pairs(items: list[str], option: str) -> dict[str, str]:
    """NAME=VALUE items as a mapping (a later name wins); a usage error for any other item."""
    found: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CliError(
                f"Invalid {option} value {item!r}", "expected NAME=VALUE", exit_code=EXIT_USAGE
            )
        found[name] = value
    return found


YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def delete_after_asking(
    *, server: str, token: str | None, path: str, question: str, yes: bool, done: str
) -> None:
    """DELETE `path` once the user agrees (or passed --yes), then say `done`."""
    if not yes:
        typer.confirm(question, abort=True, err=True)
    with connect(server, token) as api:
        api.delete(path)
    typer.echo(done)
