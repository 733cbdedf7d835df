"""Parameter values from files and prompts: secrets stay off the command line."""

from __future__ import annotations

import pytest

from lamina.cli import parameters
from tests.cli.conftest import WEB_PLATFORM, Cli
from tests.cli.test_clusters import create_cluster, import_profile
from tests.fixtures.gitrepos import BareRepo

SECRET = "s3cret-Never-On-The-Command-Line"
WITH_SECRET = WEB_PLATFORM.replace(
    "required: true}", "required: true}\n    - {name: api_key, type: secret, required: true}"
)


def instantiate(cli: Cli, repo: BareRepo, *args: str, input: str | None = None) -> tuple:
    profile = import_profile(cli, WITH_SECRET)
    cluster = create_cluster(cli, "eu-1", repo)
    command = ("stack", "instantiate", str(cluster), "--profile", str(profile), *args)
    assert all(SECRET not in arg for arg in command)
    return command, cli(*command, "--deploy", input=input)


def test_at_file_and_param_file_reach_the_server(cli: Cli, bare_repo: BareRepo) -> None:
    domain = cli.file("from-a-file.example\n", "domain.txt")
    values = cli.file(f"api_key: {SECRET}\ndomain: overridden.example\n", "values.yaml")
    _, done = instantiate(cli, bare_repo, "--param-file", values, "-p", f"domain=@{domain}")
    assert done.exit_code == 0, done.output
    assert SECRET not in done.output
    lamina_yaml = bare_repo.files_at("main", "clusters/eu-1")["lamina.yaml"]
    assert "from-a-file.example" in lamina_yaml and "overridden" not in lamina_yaml
    assert SECRET not in lamina_yaml


def test_json_param_file_and_a_literal_at_sign(cli: Cli, bare_repo: BareRepo) -> None:
    values = cli.file(f'{{"api_key": "{SECRET}"}}', "values.json")
    _, done = instantiate(cli, bare_repo, "--param-file", values, "-p", "domain=@@at.example")
    assert done.exit_code == 0, done.output
    assert "@at.example" in bare_repo.files_at("main", "clusters/eu-1")["lamina.yaml"]


def test_bad_parameter_sources_are_usage_errors(cli: Cli, bare_repo: BareRepo) -> None:
    missing = str(cli.tmp_path / "nope.txt")
    _, unreadable = instantiate(cli, bare_repo, "-p", f"api_key=@{missing}")
    assert unreadable.exit_code == 2 and "Cannot read" in unreadable.stderr
    listed = cli.file("- a\n- b\n", "list.yaml")
    bad = cli("stack", "instantiate", "1", "--profile", "1", "--param-file", listed)
    assert bad.exit_code == 2 and "is not a parameter file" in bad.stderr


def test_a_missing_secret_is_asked_for_on_a_terminal(
    cli: Cli, bare_repo: BareRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    command, refused = instantiate(cli, bare_repo, "-p", "domain=shop.example")
    assert refused.exit_code == 1 and "parameters.api_key" in refused.stderr
    monkeypatch.setattr(parameters, "_on_terminal", lambda: True)
    asked = cli(*command, "--deploy", input=f"{SECRET}\n")
    assert asked.exit_code == 0, asked.output
    assert "Value of parameter api_key" in asked.stderr
    assert SECRET not in asked.output
