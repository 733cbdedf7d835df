"""`lamina import` against the live server: files, stdin and URLs; the report as a table."""

from __future__ import annotations

import json
from typing import Any

from tests import importers
from tests.cli.conftest import Cli


def test_import_a_palette_file_prints_the_report_and_the_draft(cli: Cli, chart_repo: Any) -> None:
    cli.ok("registries", "create", "charts", "--kind", "helm", "--url", chart_repo.url)
    path = cli.tmp_path / "web-addon.json"
    path.write_text(importers.text("palette-addon.json"))
    result = cli.ok("import", "--from", "palette", str(path))
    out = result.stdout
    for text in ("STATUS", "CODE", "PATH", "MESSAGE", "registry_matched", "macro_unmapped"):
        assert text in out
    assert "spec.published.packs[0].registryName" in out
    [draft] = cli.json("drafts", "list")["result"]
    assert f"created draft {draft['id']} (web-addon): " in out
    assert f"lamina drafts validate {draft['id']}" in out
    named = cli.json("import", "--from", "palette", str(path), "--name", "web-copy")
    assert named["draft"]["name"] == "web-copy"
    assert {"path", "status", "code", "message"} == set(named["report"][0])


def test_import_weaveworks_from_stdin_and_from_a_url(cli: Cli, chart_repo: Any) -> None:
    text = importers.text("weaveworks-profile.yaml", chart_repo=chart_repo.url)
    read = cli.ok("import", "--from", "weaveworks", "-", "-o", "json", input=text)
    from_stdin = json.loads(read.stdout)
    assert from_stdin["draft"]["name"] == "web-stack"
    chart_repo.put("cli-web-stack.yaml", text.encode())
    url = f"{chart_repo.url}/cli-web-stack.yaml"
    from_url = cli.json("import", "--from", "weaveworks", url, "--name", "fetched")
    assert from_url["draft"]["name"] == "fetched"
    named = [n for n in from_url["report"] if n["path"] == "metadata.name"]
    assert named == [
        {
            "path": "metadata.name",
            "status": "mapped",
            "code": "profile_name",
            "message": "Named 'fetched' as asked",
        }
    ]


def test_a_refused_import_exits_1_with_the_path(cli: Cli) -> None:
    path = cli.tmp_path / "not-a-profile.json"
    path.write_text('{"metadata": {"name": "x"}}')
    result = cli("import", "--from", "palette", str(path))
    assert result.exit_code == 1
    assert "spec" in result.stderr and "missing_field" in result.stderr
    unknown = cli("import", "--from", "helmfile", str(path))
    assert unknown.exit_code == 2
