"""`lamina token list|revoke|create --expires-in-days` and `lamina audit list`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from lamina.cli.main import app
from lamina.config import Settings, build_services
from lamina.services import auth
from tests.cli.conftest import Cli


def test_token_list_and_revoke(cli: Cli, make_token: object) -> None:
    spare = make_token("acme", "viewer")  # type: ignore[operator]
    listed = cli.json("token", "list")
    assert listed["total_count"] == 2 and spare not in str(listed)
    spare_id = next(t["id"] for t in listed["result"] if t["role"] == "viewer")
    table = cli.ok("token", "list").stdout
    assert "LAST USED" in table and "viewer" in table and "page 1 of 1" in table

    assert cli.ok("token", "revoke", str(spare_id), "--yes").stdout == f"revoked token {spare_id}\n"
    assert cli("profiles", "list", LAMINA_TOKEN=spare).exit_code == 1
    [row] = [t for t in cli.json("token", "list")["result"] if t["id"] == spare_id]
    assert row["revoked"] is True
    missing = cli("token", "revoke", "999999", "--yes")
    assert missing.exit_code == 1 and "Token 999999 does not exist" in missing.stderr


def test_audit_list(cli: Cli, make_token: object) -> None:
    cli.ok("drafts", "create", "--name", "audited")
    viewer = make_token("acme", "viewer")  # type: ignore[operator]
    assert cli("drafts", "create", "--name", "refused", LAMINA_TOKEN=viewer).exit_code == 1
    events = cli.json("audit", "list")["result"]
    assert [(e["status"], e["role"]) for e in events] == [(403, "viewer"), (201, "admin")]
    table = cli.ok("audit", "list", "--action", "drafts").stdout
    assert "POST /api/v1/org/stack-profiles/drafts" in table and "403 error" in table
    refused = cli("audit", "list", LAMINA_TOKEN=viewer)
    assert refused.exit_code == 1 and "Forbidden" in refused.stderr


def test_token_create_with_an_expiry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    args = ["token", "create", "--org", "acme", "--expires-in-days", "7"]
    result = CliRunner().invoke(app, args, env={"LAMINA_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    wired = build_services(Settings(database_url=url, demo=False))
    try:
        who = auth.authenticate(wired.store, result.stdout.strip())
        [token] = auth.list_tokens(wired.store, who).items
    finally:
        wired.store.dispose()
    assert token.expires_at is not None
    assert timedelta(days=6) < token.expires_at - datetime.now(UTC) <= timedelta(days=7)
    never = CliRunner().invoke(app, [*args[:-1], "0"], env={"LAMINA_DATABASE_URL": url})
    assert never.exit_code == 2
