"""Fixtures of the CLI tests: a runner bound to the live test server with an admin token."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from lamina.cli.main import app
from tests import documents

WEB_PLATFORM = """\
apiVersion: lamina.dev/v1
kind: StackProfile
metadata: {name: web-platform, description: Web stack, category: platform, tags: [web]}
spec:
  type: add-on
  parameters:
    - {name: domain, type: string, required: true}
  layers:
    - name: ingress
      category: ingress
      namespace: ingress
      chart: {repository: "@CHART_REPO@", name: webapp, version: 1.0.0}
      values: {controller: {host: "${{ params.domain }}"}}
"""

# Two errors at known paths: a chart version that is no semver, an undeclared parameter.
INVALID = WEB_PLATFORM.replace("1.0.0", "not-a-version").replace("params.domain", "params.nope")


def variant(name: str = "web-platform", *, chart: str = "1.0.0") -> str:
    """The valid document under another name or chart version."""
    return WEB_PLATFORM.replace("web-platform", name).replace("1.0.0", chart)


def live(text: str) -> str:
    """A document text pointing at the live test chart repository."""
    return text.replace("@CHART_REPO@", documents.CHART_REPO)


class Cli:
    """Runs `lamina` in-process against the live server, with its token in the environment."""

    def __init__(self, server: str, token: str, tmp_path: Path) -> None:
        self.server = server
        self.token = token
        self.tmp_path = tmp_path
        self.env = {"LAMINA_SERVER": server, "LAMINA_TOKEN": token, "COLUMNS": "200"}
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, **env: str) -> Result:
        return self.runner.invoke(app, list(args), input=input, env={**self.env, **env})

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json").stdout)

    def file(self, text: str, name: str = "profile.yaml") -> str:
        path = self.tmp_path / name
        path.write_text(live(text))
        return str(path)


@pytest.fixture
def cli(server_url: str, make_token: Callable[..., str], tmp_path: Path) -> Cli:
    return Cli(server_url, make_token("acme", "admin"), tmp_path)


@pytest.fixture
def profile_id(cli: Cli) -> int:
    """web-platform with two versions: the chart moves from 1.0.0 to 1.1.0."""
    cli.ok("profiles", "import", cli.file(WEB_PLATFORM))
    second = cli.json("profiles", "import", cli.file(variant(chart="1.1.0")))
    assert second["version"]["version"] == 2
    return int(second["profile"]["id"])
