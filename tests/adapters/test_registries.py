"""Chart sources against live registries on 127.0.0.1: HTTP repository, OCI, a directory."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lamina.adapters import archives, helm
from lamina.adapters.helm import HelmEngine
from lamina.adapters.registries import newest_first, source_for
from lamina.adapters.registries.http import HttpChartSource
from lamina.adapters.registries.local import LocalChartSource
from lamina.adapters.registries.oci import OciChartSource
from lamina.domain.errors import InvalidChart, RegistryUnavailable
from lamina.domain.models import PackVersion, RegistryConfig, RegistryKind
from tests.fixtures.chartrepo import ChartRepoServer
from tests.fixtures.charts import CHART_NAMES, CHARTS_DIR, local_chart_names
from tests.fixtures.oci import OciRegistry
from tests.fixtures.pytest_plugin import REPO_PASSWORD, REPO_USERNAME

MAX = archives.MAX_ARCHIVE_BYTES
engine = HelmEngine()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A URL whose server accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/charts"


def by_key(packs: list[PackVersion]) -> dict[str, PackVersion]:
    return {f"{pack.name}-{pack.version}": pack for pack in packs}


def versions(packs: list[PackVersion], name: str) -> list[str]:
    return [pack.version for pack in packs if pack.name == name]


# --- HTTP chart repositories ----------------------------------------------------------------


def http(url: str, username: str | None = None, password: str | None = None) -> RegistryConfig:
    return RegistryConfig(kind=RegistryKind.HELM, url=url, username=username, password=password)


def test_http_index_lists_every_version_newest_first(
    chart_repo: ChartRepoServer, chart_archives: dict[str, Path]
) -> None:
    packs = HttpChartSource().index(http(chart_repo.url))
    assert sorted({pack.name for pack in packs}) == sorted(CHART_NAMES)
    assert versions(packs, "webapp") == ["2.0.0-rc.1", "1.1.0", "1.0.0"]
    assert [pack.name for pack in packs] == sorted(pack.name for pack in packs)
    webapp = by_key(packs)["webapp-1.1.0"]
    assert webapp.app_version == "1.25.0"
    assert webapp.description == "A small web application for the Lamina test suite"
    assert webapp.urls == (f"{chart_repo.url}/webapp-1.1.0.tgz",)
    assert webapp.created and not webapp.deprecated
    assert webapp.digest == archives.sha256_digest(chart_archives["webapp-1.1.0"].read_bytes())
    assert by_key(packs)["modern-1.0.0"].kube_version == ">=1.28.0-0"


def test_http_fetch_matches_the_index_digest(chart_repo: ChartRepoServer) -> None:
    source = HttpChartSource()
    registry = http(chart_repo.url)
    pack = by_key(source.index(registry))["webapp-1.1.0"]
    data = source.fetch(registry, pack, max_bytes=MAX)
    assert engine.digest(data) == pack.digest
    assert engine.load(data).metadata["version"] == "1.1.0"
    with pytest.raises(InvalidChart) as caught:
        source.fetch(registry, replace(pack, digest=archives.sha256_digest(b"x")), max_bytes=MAX)
    assert [issue.code for issue in caught.value.issues] == ["chart_digest_mismatch"]


def test_http_fetch_refuses_archives_over_the_limit(chart_repo: ChartRepoServer) -> None:
    registry = http(chart_repo.url)
    pack = by_key(HttpChartSource().index(registry))["umbrella-1.0.0"]
    with pytest.raises(InvalidChart) as caught:
        HttpChartSource().fetch(registry, pack, max_bytes=100)
    assert [issue.code for issue in caught.value.issues] == ["chart_too_large"]


def test_http_basic_auth(private_chart_repo: ChartRepoServer) -> None:
    source = HttpChartSource()
    registry = http(private_chart_repo.url, username=REPO_USERNAME, password=REPO_PASSWORD)
    packs = source.index(registry)
    pack = by_key(packs)["webapp-1.0.0"]
    assert pack.urls == ("webapp-1.0.0.tgz",)  # relative to the repository
    data = source.fetch(registry, pack, max_bytes=MAX)
    assert engine.digest(data) == pack.digest
    assert ("/charts/webapp-1.0.0.tgz", True) in private_chart_repo.requests


@pytest.mark.parametrize("credentials", [{}, {"username": REPO_USERNAME, "password": "wrong"}])
def test_http_auth_failures_are_unavailable(
    private_chart_repo: ChartRepoServer, credentials: dict[str, str]
) -> None:
    with pytest.raises(RegistryUnavailable) as caught:
        HttpChartSource().index(http(private_chart_repo.url, **credentials))
    assert private_chart_repo.url in caught.value.detail
    assert "401" in caught.value.detail
    assert "wrong" not in caught.value.detail
    pack = PackVersion(name="webapp", version="1.0.0", urls=("webapp-1.0.0.tgz",))
    with pytest.raises(RegistryUnavailable) as caught:
        HttpChartSource().fetch(http(private_chart_repo.url, **credentials), pack, max_bytes=MAX)
    assert "401" in caught.value.detail and "wrong" not in caught.value.detail


def test_http_credentials_stay_with_their_repository(
    private_chart_repo: ChartRepoServer, chart_repo: ChartRepoServer
) -> None:
    """An archive URL on another host or port gets no credentials (Helm's default)."""
    registry = http(private_chart_repo.url, username=REPO_USERNAME, password=REPO_PASSWORD)
    elsewhere = f"{chart_repo.url}/crd-user-1.0.0.tgz"
    pack = PackVersion(name="crd-user", version="1.0.0", urls=(elsewhere,))
    assert HttpChartSource().fetch(registry, pack, max_bytes=MAX)
    assert ("/charts/crd-user-1.0.0.tgz", False) in chart_repo.requests
    assert ("/charts/crd-user-1.0.0.tgz", True) not in chart_repo.requests


def test_http_unreachable_repository_is_named() -> None:
    url = f"http://127.0.0.1:{closed_port()}/charts"
    with pytest.raises(RegistryUnavailable) as caught:
        HttpChartSource().index(http(url))
    assert url in caught.value.detail
    pack = PackVersion(name="webapp", version="1.0.0", urls=("webapp-1.0.0.tgz",))
    with pytest.raises(RegistryUnavailable) as caught:
        HttpChartSource().fetch(http(url), pack, max_bytes=MAX)
    assert f"{url}/webapp-1.0.0.tgz" in caught.value.detail


def test_http_passwords_in_urls_are_never_shown() -> None:
    url = f"http://user:hunter2@127.0.0.1:{closed_port()}/charts"
    with pytest.raises(RegistryUnavailable) as caught:
        HttpChartSource().index(http(url, username="user", password="hunter2"))
    assert "hunter2" not in caught.value.detail and "user:***@127.0.0.1" in caught.value.detail


def test_http_missing_and_garbage_indexes(
    chart_repo: ChartRepoServer, chart_archives: dict[str, Path]
) -> None:
    with pytest.raises(RegistryUnavailable) as caught:
        HttpChartSource().index(http(chart_repo.url + "/nothing-here"))
    assert "404" in caught.value.detail and "/nothing-here" in caught.value.detail
    with ChartRepoServer([chart_archives["webapp-1.0.0"]]) as repo:
        for garbage in (b"\x00\x01 not: [yaml", b"- a list\n- of things\n", b"entries: 5\n"):
            repo.put("index.yaml", garbage)
            with pytest.raises(RegistryUnavailable) as caught:
                HttpChartSource().index(http(repo.url))
            assert repo.url in caught.value.detail


def test_http_fetch_follows_only_http_urls(chart_repo: ChartRepoServer) -> None:
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/x.tgz", "data:,hello"):
        pack = PackVersion(name="x", version="1.0.0", urls=(url,))
        with pytest.raises(RegistryUnavailable) as caught:
            HttpChartSource().fetch(http(chart_repo.url), pack, max_bytes=MAX)
        assert "not an http(s) URL" in caught.value.detail
    with pytest.raises(RegistryUnavailable):
        HttpChartSource().fetch(
            http(chart_repo.url), PackVersion(name="x", version="1.0.0"), max_bytes=MAX
        )


def test_http_silent_repository_times_out(silent_server: str) -> None:
    source = HttpChartSource(timeout=0.5)
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as caught:
        source.index(http(silent_server))
    # A silent server gets the message of a closed port: answers do not map listeners.
    assert caught.value.detail == f"Cannot reach the registry at {silent_server}"
    pack = PackVersion(name="webapp", version="1.0.0", urls=("webapp-1.0.0.tgz",))
    with pytest.raises(RegistryUnavailable):
        source.fetch(http(silent_server), pack, max_bytes=MAX)
    assert time.monotonic() - started < 5


# --- OCI registries -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pushed(oci_registry: OciRegistry, chart_archives: dict[str, Path]) -> OciRegistry:
    for key in ("webapp-1.0.0", "webapp-1.1.0"):
        oci_registry.push(chart_archives[key])
    return oci_registry


def oci(
    url: str, *charts: str, username: str | None = None, password: str | None = None
) -> RegistryConfig:
    return RegistryConfig(
        kind=RegistryKind.OCI, url=url, charts=charts, username=username, password=password
    )


def test_oci_index_lists_tags_newest_first(pushed: OciRegistry) -> None:
    packs = OciChartSource().index(oci(pushed.url, "webapp", "not-pushed"))
    assert [(pack.name, pack.version) for pack in packs] == [
        ("webapp", "1.1.0"),
        ("webapp", "1.0.0"),
    ]
    assert packs[0].urls == (f"{pushed.url}/webapp:1.1.0",)
    assert packs[0].digest == "" and packs[0].description == ""
    assert OciChartSource().index(oci(pushed.url + "/")) == []


def test_oci_fetch_gives_a_loadable_archive(
    pushed: OciRegistry, chart_archives: dict[str, Path]
) -> None:
    registry = oci(pushed.url, "webapp")
    pack = by_key(OciChartSource().index(registry))["webapp-1.0.0"]
    data = OciChartSource().fetch(registry, pack, max_bytes=MAX)
    assert data == chart_archives["webapp-1.0.0"].read_bytes()
    assert engine.load(data).metadata["version"] == "1.0.0"
    pinned = replace(pack, digest=archives.sha256_digest(data))
    assert OciChartSource().fetch(registry, pinned, max_bytes=MAX) == data
    with pytest.raises(InvalidChart) as caught:
        OciChartSource().fetch(registry, pack, max_bytes=100)
    assert [issue.code for issue in caught.value.issues] == ["chart_too_large"]


def test_oci_credentials_are_used_for_a_login(pushed: OciRegistry) -> None:
    registry = oci(pushed.url, "webapp", username="someone", password="anything")
    assert versions(OciChartSource().index(registry), "webapp") == ["1.1.0", "1.0.0"]


def test_oci_failures_are_unavailable(pushed: OciRegistry) -> None:
    registry = oci(pushed.url, "webapp")
    missing = PackVersion(name="webapp", version="9.9.9")
    with pytest.raises(RegistryUnavailable) as caught:
        OciChartSource().fetch(registry, missing, max_bytes=MAX)
    assert "9.9.9" in caught.value.detail
    url = f"oci://127.0.0.1:{closed_port()}/charts"
    with pytest.raises(RegistryUnavailable) as caught:
        OciChartSource().index(oci(url, "webapp"))
    assert f"{url}/webapp" in caught.value.detail
    with pytest.raises(RegistryUnavailable):
        OciChartSource().index(oci("https://example.invalid/charts", "webapp"))
    for name in ("../etc", "webapp:1.0.0", "webapp@sha256:00"):
        with pytest.raises(RegistryUnavailable):
            OciChartSource().index(oci(pushed.url, name))


def test_plain_http_only_for_this_machine() -> None:
    for url in (
        "oci://127.0.0.1:5000/x",
        "oci://localhost/x",
        "oci://[::1]:5000/x",
        "oci://127.1.2.3",
    ):
        assert helm.is_loopback(url), url
    for url in (
        "oci://registry.example.com/x",
        "oci://10.0.0.1:5000/x",
        "oci://127.0.0.1.nip.io/x",
    ):
        assert not helm.is_loopback(url), url


# --- directories ----------------------------------------------------------------------------


def local(path: Path) -> RegistryConfig:
    return RegistryConfig(kind=RegistryKind.LOCAL, url=str(path))


def test_local_index_and_fetch_of_the_test_charts(chart_archives: dict[str, Path]) -> None:
    source = LocalChartSource()
    packs = source.index(local(CHARTS_DIR))
    assert sorted(pack.name for pack in packs) == local_chart_names()
    for pack in (p for p in packs if p.name in CHART_NAMES):
        archive = chart_archives[f"{pack.name}-{pack.version}"].read_bytes()
        # Packaging is deterministic: the same digest as the fixtures' own packaging.
        assert pack.digest == archives.sha256_digest(archive)
        assert source.fetch(local(CHARTS_DIR), pack, max_bytes=MAX) == archive
    modern = by_key(packs)["modern-1.0.0"]
    assert modern.kube_version == ">=1.28.0-0" and modern.urls == (str(CHARTS_DIR / "modern"),)
    assert source.index(RegistryConfig(kind=RegistryKind.LOCAL, url=f"file://{CHARTS_DIR}"))


def test_local_directories_and_archives_together(
    tmp_path: Path, chart_archives: dict[str, Path]
) -> None:
    shutil.copytree(CHARTS_DIR / "webapp", tmp_path / "webapp")
    shutil.copy(chart_archives["webapp-1.1.0"], tmp_path)
    (tmp_path / "README.md").write_text("not a chart")
    source = LocalChartSource()
    packs = source.index(local(tmp_path))
    assert versions(packs, "webapp") == ["1.1.0", "1.0.0"]
    fetched = source.fetch(local(tmp_path), by_key(packs)["webapp-1.1.0"], max_bytes=MAX)
    assert fetched == chart_archives["webapp-1.1.0"].read_bytes()
    with pytest.raises(RegistryUnavailable):
        source.fetch(local(tmp_path), PackVersion(name="webapp", version="7.0.0"), max_bytes=MAX)
    with pytest.raises(InvalidChart):
        source.fetch(local(tmp_path), by_key(packs)["webapp-1.0.0"], max_bytes=10)


def test_local_index_sees_edits(tmp_path: Path) -> None:
    chart = tmp_path / "webapp"
    shutil.copytree(CHARTS_DIR / "webapp", chart)
    source = LocalChartSource()
    before = source.index(local(tmp_path))
    assert source.index(local(tmp_path)) == before  # cached: same digest
    text = (chart / "Chart.yaml").read_text().replace("version: 1.0.0", "version: 1.2.0")
    (chart / "Chart.yaml").write_text(text)
    after = source.index(local(tmp_path))
    assert versions(after, "webapp") == ["1.2.0"]
    assert after[0].digest != before[0].digest
    shutil.rmtree(chart)
    assert source.index(local(tmp_path)) == []


def test_local_failures_are_unavailable(tmp_path: Path) -> None:
    with pytest.raises(RegistryUnavailable) as caught:
        LocalChartSource().index(local(tmp_path / "missing"))
    assert str(tmp_path / "missing") in caught.value.detail
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "Chart.yaml").write_text("name: no-version\n")
    with pytest.raises(RegistryUnavailable) as caught:
        LocalChartSource().index(local(tmp_path))
    assert str(broken) in caught.value.detail
    shutil.rmtree(broken)
    (tmp_path / "junk.tgz").write_bytes(b"junk")
    with pytest.raises(RegistryUnavailable) as caught:
        LocalChartSource().index(local(tmp_path))
    assert "junk.tgz" in caught.value.detail and "gzip" in caught.value.detail


# --- shared ---------------------------------------------------------------------------------


def test_source_for_each_kind() -> None:
    assert isinstance(source_for(RegistryKind.HELM), HttpChartSource)
    assert isinstance(source_for(RegistryKind.OCI), OciChartSource)
    assert isinstance(source_for(RegistryKind.LOCAL), LocalChartSource)
    assert source_for(RegistryKind.LOCAL) is source_for(RegistryKind.LOCAL)


def test_newest_first_orders_by_semver() -> None:
    packs = [
        PackVersion(name="b", version="1.0.0"),
        PackVersion(name="a", version="1.10.0"),
        PackVersion(name="a", version="latest"),
        PackVersion(name="a", version="1.9.0"),
        PackVersion(name="a", version="2.0.0-rc.1"),
        PackVersion(name="a", version="2.0.0"),
    ]
    assert [(p.name, p.version) for p in newest_first(packs)] == [
        ("a", "2.0.0"),
        ("a", "2.0.0-rc.1"),
        ("a", "1.10.0"),
        ("a", "1.9.0"),
        ("a", "latest"),
        ("b", "1.0.0"),
    ]
