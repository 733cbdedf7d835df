"""Parameter values from the command line without putting secrets on it.

`-p NAME=VALUE` gives a value, `-p NAME=@FILE` the content of a file (one trailing newline
stripped; `@@` starts a value with a literal `@`), `--param-file FILE` a YAML or JSON
mapping of names to values (-p wins over it). A required parameter the server finds
missing is asked for on a terminal, without echo, and the request is sent once more.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from lamina.cli.client import EXIT_USAGE, CliError
from lamina.cli.common import load_document, pairs, read_source

T = TypeVar("T")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")

ParamFileOption = Annotated[
    str | None,
    typer.Option(
        "--param-file",
        metavar="FILE",
        help="YAML or JSON mapping of parameter name to value; '-' reads stdin. -p wins over it.",
    ),
]


def supplied(items: list[str] | None, param_file: str | None) -> dict[str, Any]:
    """The parameter values of --param-file, then of each -p (a later name wins)."""
    values = _from_file(param_file) if param_file is not None else {}
    for name, value in pairs(items or [], "--param").items():
        values[name] = _value_of(name, value)
    return values


def as_list(values: dict[str, Any]) -> list[dict[str, Any]]:
    """The API's form of parameter values: a list of {name, value}."""
    return [{"name": name, "value": value} for name, value in values.items()]


def sending(values: dict[str, Any], send: Callable[[dict[str, Any]], T]) -> T:
    """`send(values)`; when the server answers that required parameters are missing and
    stdin is a terminal, ask for them without echo and send once more."""
    try:
        return send(values)
    except CliError as error:
        missing = missing_parameters(error)
        if not missing or not _on_terminal():
            raise
    for name in missing:
        values[name] = typer.prompt(f"Value of parameter {name}", hide_input=True, err=True)
    return send(values)


def missing_parameters(error: CliError) -> list[str]:
    """Names of the required parameters a 422 answer says have no value."""
    if error.status != 422:
        return []
    names = [
        str(issue.get("path", "")).rsplit(".", 1)[-1]
        for issue in error.errors
        if issue.get("code") == "missing_required"
    ]
    return [name for name in dict.fromkeys(names) if _NAME.fullmatch(name)]


def _on_terminal() -> bool:
    return sys.stdin.isatty()


def _value_of(name: str, value: str) -> str:
    if value.startswith("@@"):
        return value[1:]
    if not value.startswith("@"):
        return value
    source = value[1:]
    try:
        text = read_source(source).decode()
    except UnicodeDecodeError as error:
        raise CliError(
            f"Cannot use {source} for parameter {name}", "not UTF-8 text", exit_code=EXIT_USAGE
        ) from error
    return text.removesuffix("\n")


def _from_file(source: str) -> dict[str, Any]:
    doc = load_document(read_source(source), source)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        issue = {"path": "", "code": "wrong_type", "message": "Expected a mapping of names"}
        raise CliError(f"{source} is not a parameter file", errors=[issue], exit_code=EXIT_USAGE)
    return {str(name): value for name, value in doc.items()}
