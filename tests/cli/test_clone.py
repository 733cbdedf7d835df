"""`lamina profiles clone` against the live server: acme's profile into globex."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.api.test_clone import mirror_repo  # noqa: F401  (a fixture)
from tests.api.test_registries import synced
from tests.cli.conftest import WEB_PLATFORM, Cli, variant
from tests.fixtures.chartrepo import ChartRepoServer


@pytest.fixture
def target_token(
    cli: Cli,
    make_token: Callable[..., str],
    chart_repo: ChartRepoServer,
    mirror_repo: ChartRepoServer,  # noqa: F811
) -> str:
    """globex's admin token, once globex has the `mirror` registry (webapp 1.0.0, 1.1.0)."""
    token = make_token("globex", "admin")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=cli.server, headers=headers, timeout=60) as target:
        synced(target, "mirror", "helm", mirror_repo.url)
    with httpx.Client(base_url=cli.server, headers={"Authorization": f"Bearer {cli.token}"}) as own:
        synced(own, "stable", "helm", chart_repo.url)
    return token


def stable(text: str) -> str:
    """The document with its chart taken from the `stable` registry by name."""
    return text.replace('"@CHART_REPO@"', "stable")


def test_clone_publishes_in_the_target_and_prints_the_charts(cli: Cli, target_token: str) -> None:
    cli.ok("profiles", "import", cli.file(stable(variant(chart="1.1.0"))))
    result = cli.ok(
        "profiles", "clone", "web-platform", "--to-org", "globex", "--target-token", target_token
    )
    assert "published web-platform version 1 in globex" in result.stdout
    assert "spec.layers[0].chart" in result.stdout and "mirror" in result.stdout
    assert target_token not in result.output

    again = cli(
        "profiles",
        "clone",
        "web-platform",
        "--to-org",
        "globex",
        "--map",
        "stable=mirror",
        "-o",
        "json",
        LAMINA_TARGET_TOKEN=target_token,
    )
    assert again.exit_code == 0, again.output
    assert '"outcome": "unchanged"' in again.stdout and '"via": "map"' in again.stdout


def test_unresolved_charts_fail_with_their_paths_or_leave_a_draft(
    cli: Cli, target_token: str
) -> None:
    cli.ok("profiles", "import", cli.file(stable(variant("rc", chart="2.0.0-rc.1"))))
    args = ["profiles", "clone", "rc", "--to-org", "globex", "--target-token", target_token]
    refused = cli(*args)
    assert refused.exit_code == 1
    assert "spec.layers[0].chart.version" in refused.stderr
    assert "chart_version_missing" in refused.stderr and "nearest: 1.1.0, 1.0.0" in refused.stderr

    drafted = cli(*args, "--allow-unresolved")
    assert drafted.exit_code == 0, drafted.output
    assert "created draft" in drafted.stdout and "(rc) in globex" in drafted.stdout
    assert "missing: nearest 1.1.0, 1.0.0" in drafted.stdout


def test_bad_arguments(cli: Cli, target_token: str) -> None:
    cli.ok("profiles", "import", cli.file(stable(WEB_PLATFORM)))
    bad_map = cli(
        "profiles",
        "clone",
        "web-platform",
        "--to-org",
        "globex",
        "--target-token",
        "x",
        "--map",
        "x",
    )
    assert bad_map.exit_code == 2 and "SRC=DST" in bad_map.stderr
    wrong = cli("profiles", "clone", "web-platform", "--to-org", "globex", "--target-token", "x")
    assert wrong.exit_code == 1 and "admin token of org 'globex'" in wrong.stderr
