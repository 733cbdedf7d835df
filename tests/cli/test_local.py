"""Commands without a live server: help, docs, token create, serve, unreachable server."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lamina.cli import server
from lamina.cli.main import app
from lamina.config import Settings, build_services
from lamina.domain.models import Role
from lamina.services import auth

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


def command_paths(command: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under `command`, as paths of names."""
    found = [prefix]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        found += command_paths(sub, (*prefix, name))
    return found


def test_every_command_has_help_and_is_documented() -> None:
    paths = command_paths(typer.main.get_command(app))
    assert ("profiles", "list") in paths and ("serve",) in paths and ("apply",) in paths
    docs = DOCS.read_text()
    runner = CliRunner()
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"LAMINA_TOKEN": "lam_secret"})
        assert result.exit_code == 0, (path, result.output)
        assert "Usage:" in result.stdout and "lam_secret" not in result.stdout
        if path:
            assert f"lamina {' '.join(path)}" in docs, path


def test_unreachable_server_exits_3_naming_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    result = CliRunner().invoke(app, ["profiles", "list", "--server", url, "--token", "lam_x"])
    assert result.exit_code == 3
    assert f"Cannot reach the Lamina server at {url}" in result.stderr
    assert result.stdout == ""


def test_token_create_prints_only_a_working_token(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tokens.db'}"
    runner = CliRunner()
    args = ["token", "create", "--org", "acme", "--role", "editor", "--label", "ci"]
    result = runner.invoke(app, args, env={"LAMINA_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and token.startswith("lam_")
    wired = build_services(Settings(database_url=url, demo=False))
    try:
        principal = auth.authenticate(wired.store, token)
    finally:
        wired.store.dispose()
    assert (principal.org_slug, principal.role) == ("acme", Role.EDITOR)
    bad = runner.invoke(
        app, ["token", "create", "--org", "Not A Slug"], env={"LAMINA_DATABASE_URL": url}
    )
    assert bad.exit_code == 1
    assert "Invalid org slug" in bad.stderr and "org: " in bad.stderr and bad.stdout == ""


def test_serve_seeds_the_demo_once_and_says_where_it_listens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[object, str, int]] = []
    monkeypatch.setattr(
        server.uvicorn, "run", lambda app, host, port, **_: calls.append((app, host, port))
    )
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    env = {
        "LAMINA_DATABASE_URL": url,
        "LAMINA_DEMO": "1",
        "LAMINA_HOST": "127.0.0.1",
        "LAMINA_DATA_DIR": str(tmp_path / "data"),
    }
    runner = CliRunner()
    first = runner.invoke(app, ["serve", "--port", "18999"], env=env)
    assert first.exit_code == 0, first.output
    assert [(host, port) for _, host, port in calls] == [("127.0.0.1", 18999)]
    assert "http://127.0.0.1:18999/api/v1/docs" in first.stdout
    token = next(word for word in first.stdout.split() if word.startswith("lam_"))
    wired = build_services(Settings(database_url=url, demo=False))
    try:
        assert auth.authenticate(wired.store, token).org_slug == "demo"
    finally:
        wired.store.dispose()
    again = runner.invoke(app, ["serve", "--port", "18999"], env=env)
    assert again.exit_code == 0 and "lam_" not in again.stdout
