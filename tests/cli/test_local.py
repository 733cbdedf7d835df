"""Commands without a live server: help, docs, token create, serve, unreachable server."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import typer
import uvicorn
from typer.testing import CliRunner

import lamina
from lamina.adapters import kustomize
from lamina.cli.main import COMMANDS, app, load_command
from lamina.config import Settings, build_services
from lamina.domain.models import Role
from lamina.services import auth

DOCS = Path(__file__).parents[2] / "docs" / "cli.md"


def command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under `command`, as paths of names (loading each one)."""
    found = [prefix]
    if not hasattr(command, "list_commands"):
        return found
    ctx = typer.Context(command)
    for name in sorted(command.list_commands(ctx)):
        found += command_paths(command.get_command(ctx, name), (*prefix, name))
    return found


def test_the_root_help_lines_are_the_commands_own() -> None:
    """`lamina --help` lists commands without loading them, from lines kept in main.py."""
    for name, (_, _, line) in COMMANDS.items():
        command = load_command(name)
        assert command.name == name
        assert (command.help or "").strip().split("\n\n")[0] == line, name


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
        uvicorn, "run", lambda app, host, port, **_: calls.append((app, host, port))
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


def wrong_kustomize(tmp_path: Path) -> Path:
    """A kubectl whose kustomize is not the pinned one."""
    tool = tmp_path / "bin" / "kubectl"
    tool.parent.mkdir()
    tool.write_text('#!/bin/sh\necho \'{"kustomizeVersion": "v4.5.7"}\'\n')
    tool.chmod(0o755)
    return tool


def test_version_prints_lamina_and_the_tool_versions(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["version"], env={"LAMINA_KUSTOMIZE": "", "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"lamina {lamina.__version__}\n")
    row = next(line.split() for line in result.stdout.splitlines() if "kustomize" in line)
    assert row[:3] == ["kustomize", kustomize.KUSTOMIZE_VERSION, kustomize.default_tool()]
    report = json.loads(runner.invoke(app, ["version", "-o", "json"]).stdout)
    assert report["version"] == lamina.__version__
    assert set(report["tools"]) == {"kustomize", "helm", "git", "sops"}
    assert report["tools"]["helm"]["version"].startswith("v4.")
    tool = wrong_kustomize(tmp_path)
    wrong = runner.invoke(app, ["version", "-o", "json"], env={"LAMINA_KUSTOMIZE": str(tool)})
    assert wrong.exit_code == 1
    problem = json.loads(wrong.stdout)["tools"]["kustomize"]
    assert problem["version"] == "v4.5.7" and problem["path"] == str(tool)
    assert f"kustomize {kustomize.KUSTOMIZE_VERSION} is required" in problem["problem"]


def test_serve_refuses_a_kustomize_of_another_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **_: calls.append(args))
    env = {
        "LAMINA_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "LAMINA_DEMO": "0",
        "LAMINA_DATA_DIR": str(tmp_path / "data"),
        "LAMINA_KUSTOMIZE": str(wrong_kustomize(tmp_path)),
    }
    result = CliRunner().invoke(app, ["serve", "--port", "18998"], env=env)
    assert result.exit_code == 1 and calls == []
    assert f"Error: Tool missing: kustomize {kustomize.KUSTOMIZE_VERSION} is required" in (
        result.stderr
    )
    assert kustomize.KUBECTL_PACKAGE in result.stderr.replace("\n", " ")
    env["LAMINA_KUSTOMIZE"] = ""
    started = CliRunner().invoke(app, ["serve", "--port", "18998"], env=env)
    assert started.exit_code == 0, started.output
    assert f"Tools: kustomize {kustomize.KUSTOMIZE_VERSION}, helm v4." in started.stdout
