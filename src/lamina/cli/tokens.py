"""`lamina token list|revoke`: the org's API tokens over the API (admins only)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from lamina.cli import output, server
from lamina.cli.common import (
    DEFAULT_SERVER,
    TOKENS,
    OutputOption,
    PageOption,
    PageSizeOption,
    ServerOption,
    TokenOption,
    YesOption,
    delete_after_asking,
    get_and_emit,
)
from lamina.cli.output import OutputFormat


def list_tokens(
    page: PageOption = 1,
    page_size: PageSizeOption = 50,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
    fmt: OutputOption = OutputFormat.TABLE,
) -> None:
    """List the org's API tokens, revoked and expired ones too (never the tokens themselves)."""
    get_and_emit(server, token, TOKENS, {"page": page, "page_size": page_size}, fmt, _render_list)


def _render_list(data: dict[str, Any]) -> None:
    columns = ("ID", "LABEL", "ROLE", "CREATED", "EXPIRES", "LAST USED", "REVOKED")
    rows = [
        (
            t["id"],
            t["label"],
            t["role"],
            t["created_at"],
            t["expires_at"] or "never",
            t["last_used_at"],
            t["revoked_at"] if t["revoked"] else False,
        )
        for t in data["result"]
    ]
    output.show(output.table(columns, rows, wrap=("LABEL",)), output.page_footer(data))


def revoke_token(
    token_id: Annotated[int, typer.Argument(help="Numeric ID of the token (see `token list`).")],
    yes: YesOption = False,
    server: ServerOption = DEFAULT_SERVER,
    token: TokenOption = None,
) -> None:
    """Revoke an API token of the org: its next request is refused (asks first unless --yes)."""
    delete_after_asking(
        server=server,
        token=token,
        path=f"{TOKENS}/{token_id}",
        question=f"Revoke token {token_id}?",
        yes=yes,
        done=f"revoked token {token_id}",
    )


# `lamina token`: `create` (straight into the database) lives with the server commands.
app = server.token_app
app.command("list")(list_tokens)
app.command("revoke")(revoke_token)
