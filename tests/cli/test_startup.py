"""The client commands start without the server stack: the import graph stays small."""

from __future__ import annotations

import subprocess
import sys

SERVER_STACK = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "alembic",
    "helm_python",
    "kubernetes_validate",
    "cryptography",
    "re2",
    "uvicorn",
)

_PROBE = """
import sys
import lamina.cli.main
from typer.testing import CliRunner

result = CliRunner().invoke(lamina.cli.main.app, {args!r})
assert result.exit_code == {exit_code}, result.output
print(" ".join(sorted(m for m in {modules!r} if m in sys.modules)))
"""


def _server_modules_after(*args: str, exit_code: int = 0) -> list[str]:
    code = _PROBE.format(args=list(args), exit_code=exit_code, modules=SERVER_STACK)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_importing_the_cli_loads_no_server_module() -> None:
    code = f"import sys, lamina.cli.main; print(*(m for m in {SERVER_STACK!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == []


def test_help_loads_no_server_module() -> None:
    assert _server_modules_after("--help") == []


def test_profiles_list_help_loads_no_server_module() -> None:
    assert _server_modules_after("profiles", "list", "--help") == []


def test_version_flag_loads_no_server_module() -> None:
    assert _server_modules_after("--version") == []


def test_profiles_list_loads_no_server_module() -> None:
    """The whole command runs (here against a closed port: exit 3, unreachable)."""
    args = ("profiles", "list", "--server", "http://127.0.0.1:9")
    assert _server_modules_after(*args, exit_code=3) == []


def test_a_command_loads_only_its_own_module() -> None:
    """`lamina profiles list` builds the profiles group only; `--help` builds none."""
    others = ("lamina.cli.clusters", "lamina.cli.stacks", "lamina.cli.drafts", "lamina.cli.apply")
    probe = _PROBE.replace("{modules!r}", repr(others))
    for args, exit_code in (
        (["--help"], 0),
        (["profiles", "list", "--server", "http://127.0.0.1:9"], 3),
    ):
        code = probe.format(args=args, exit_code=exit_code)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [], args
