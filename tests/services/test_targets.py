"""The target policy: schemes, denied address ranges (after resolution), local roots per org,
redirect checks, and the Git branch and folder rules."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lamina.adapters import network
from lamina.adapters.registries.http import HttpChartSource
from lamina.domain import targets
from lamina.domain.errors import InvalidInput, RegistryUnavailable
from lamina.domain.models import RegistryConfig, RegistryKind
from lamina.services.targets import CODE, TargetPolicy, parse_roots

PUBLIC = "93.184.215.14"
DENIED_ADDRESSES = [
    "127.0.0.1",
    "127.9.8.7",
    "::1",
    "0.0.0.0",
    "0.1.2.3",
    "::",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.254",
    "fc00::1",
    "fd12:3456::1",
    "169.254.169.254",
    "fe80::1",
    "224.0.0.1",
    "239.255.255.250",
    "ff02::1",
    "240.0.0.1",
    "255.255.255.255",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
]
ALLOWED_ADDRESSES = [PUBLIC, "8.8.8.8", "100.63.255.255", "172.32.0.1", "2606:4700::1111"]


def resolver(table: dict[str, list[str]]) -> Callable[[str], list[str]]:
    return lambda host: list(table.get(host, []))


def policy(**table: list[str]) -> TargetPolicy:
    names = {name.replace("_", "."): addresses for name, addresses in table.items()}
    return TargetPolicy(resolve=resolver({"git.example.com": [PUBLIC], **names}))


def refused(check: Callable[[], None], where: str = "gitops.url") -> str:
    with pytest.raises(InvalidInput) as caught:
        check()
    [issue] = caught.value.issues
    assert (issue.path, issue.code) == (where, CODE)
    return issue.message


# --- schemes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://git.example.com/org/fleet.git",
        "ssh://git@git.example.com/org/fleet.git",
        "ssh://git@git.example.com:2222/org/fleet.git",
        "git@git.example.com:org/fleet.git",
        f"https://{PUBLIC}/fleet.git",
        "https://unresolvable.invalid/fleet.git",  # nothing to connect to, nothing leaked
    ],
)
def test_public_git_targets_are_allowed(url: str) -> None:
    policy().check_git_url("acme", url)


@pytest.mark.parametrize(
    "url",
    [
        "git://git.example.com/fleet.git",
        "ftp://git.example.com/fleet.git",
        "ext::sh -c touch% /tmp/x",
        "http://git.example.com/fleet.git",
        "file:///srv/git/fleet.git",
        "nope",
        "/srv/git/fleet.git",
    ],
)
def test_other_git_schemes_are_refused(url: str) -> None:
    refused(lambda: policy().check_git_url("acme", url))


def test_registry_schemes() -> None:
    strict = policy()
    strict.check_registry_url("acme", RegistryKind.HELM, "https://git.example.com/charts")
    strict.check_registry_url("acme", RegistryKind.OCI, "oci://git.example.com/charts")
    for url in ("http://git.example.com/charts", "ftp://git.example.com/charts", "file:///etc"):
        refused(lambda: strict.check_registry_url("acme", RegistryKind.HELM, url), "url")  # noqa: B023


# --- denied ranges --------------------------------------------------------------------------


@pytest.mark.parametrize("address", DENIED_ADDRESSES)
def test_every_denied_range_is_refused_as_literal_and_after_resolution(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    strict = policy(internal_example_com=[address])
    refused(lambda: strict.check_git_url("acme", f"https://{host}/fleet.git"))
    refused(lambda: strict.check_git_url("acme", "https://internal.example.com/fleet.git"))
    refused(lambda: strict.check_git_url("acme", "git@internal.example.com:fleet.git"))
    oci = "oci://internal.example.com/charts"
    refused(lambda: strict.check_registry_url("acme", RegistryKind.OCI, oci, where="url"), "url")


@pytest.mark.parametrize("address", ALLOWED_ADDRESSES)
def test_public_addresses_pass(address: str) -> None:
    assert targets.address_denial(address, allow_loopback=False) is None


def test_any_denied_address_among_several_refuses() -> None:
    split = policy(mixed_example_com=[PUBLIC, "10.0.0.7"])
    message = refused(lambda: split.check_git_url("acme", "https://mixed.example.com/x.git"))
    assert message == "mixed.example.com resolves to a private address: not allowed"


def test_localhost_resolved_for_real_is_loopback() -> None:
    assert network.resolve("localhost")
    strict = TargetPolicy(resolve=network.resolve)
    refused(lambda: strict.check_git_url("acme", "https://localhost/fleet.git"))
    refused(lambda: strict.check_git_url("acme", "https://app.localhost/fleet.git"))
    local = TargetPolicy(resolve=network.resolve, allow_local=True)
    local.check_git_url("acme", "http://localhost:3000/fleet.git")
    local.check_network_url("http://127.0.0.1:8080/charts")
    local.check_network_url("https://[::1]:8443/charts")


def test_local_mode_allows_loopback_only() -> None:
    local = TargetPolicy(resolve=resolver({"lan.example.com": ["192.168.0.10"]}), allow_local=True)
    for url in (
        "http://192.168.0.10/fleet.git",
        "https://lan.example.com/fleet.git",
        "https://169.254.169.254/fleet.git",
        "http://8.8.8.8/fleet.git",  # plain http only to this machine
    ):
        refused(lambda: local.check_git_url("acme", url))  # noqa: B023


# --- URLs that would be options -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ssh://-oProxyCommand=touch%20/tmp/pwned/x.git",
        "ssh://-oProxyCommand=touch/x.git",
        "ssh://git@-oProxyCommand=x/fleet.git",
        "ssh://-user@git.example.com/fleet.git",
        "-oProxyCommand=x:fleet.git",
        "git@-oProxyCommand=x:fleet.git",
        "https://-git.example.com/fleet.git",
        "https://git.example.com/fleet\n.git",
    ],
)
def test_urls_that_git_could_read_as_options_are_refused(url: str) -> None:
    refused(lambda: policy().check_git_url("acme", url))


# --- local roots ----------------------------------------------------------------------------


def test_roots_setting_separates_shared_and_org_entries() -> None:
    shared, by_org = parse_roots("/srv/charts:acme=/srv/acme::beta=/srv/beta:acme=/data/acme")
    assert shared == (Path("/srv/charts"),)
    assert by_org == {"acme": (Path("/srv/acme"), Path("/data/acme")), "beta": (Path("/srv/beta"),)}


@pytest.fixture
def rooted(tmp_path: Path) -> TargetPolicy:
    for folder in ("shared", "acme", "beta", "elsewhere"):
        (tmp_path / folder / "repo.git").mkdir(parents=True)
    return TargetPolicy(
        resolve=resolver({}),
        allow_local=True,
        shared_roots=(tmp_path / "shared",),
        org_roots={"acme": (tmp_path / "acme",), "beta": (tmp_path / "beta",)},
        data_dir=tmp_path / "data",
    )


def test_each_org_reaches_its_roots_and_the_shared_ones(
    rooted: TargetPolicy, tmp_path: Path
) -> None:
    rooted.check_git_url("acme", (tmp_path / "acme" / "repo.git").as_uri())
    rooted.check_git_url("beta", (tmp_path / "shared" / "repo.git").as_uri())
    rooted.check_registry_url("beta", RegistryKind.LOCAL, str(tmp_path / "beta" / "repo.git"))
    for org, folder in (("beta", "acme"), ("acme", "beta"), ("acme", "elsewhere")):
        url = (tmp_path / folder / "repo.git").as_uri()
        refused(lambda: rooted.check_git_url(org, url))  # noqa: B023


def test_own_root_under_the_data_dir_is_created_on_use(
    rooted: TargetPolicy, tmp_path: Path
) -> None:
    own = tmp_path / "data" / "orgs" / "acme"
    assert not own.exists()
    rooted.check_git_url("acme", (own / "fleet.git").as_uri())
    assert own.is_dir()
    refused(lambda: rooted.check_git_url("beta", (own / "fleet.git").as_uri()))


def test_paths_are_resolved_before_the_check(rooted: TargetPolicy, tmp_path: Path) -> None:
    climbing = f"file://{tmp_path}/beta/../acme/repo.git"
    refused(lambda: rooted.check_git_url("beta", climbing))
    (tmp_path / "beta" / "link").symlink_to(tmp_path / "acme")
    refused(lambda: rooted.check_git_url("beta", (tmp_path / "beta" / "link").as_uri()))
    linked = str(tmp_path / "beta" / "link")
    refused(lambda: rooted.check_registry_url("beta", RegistryKind.LOCAL, linked), "url")


def test_file_targets_need_local_mode(rooted: TargetPolicy, tmp_path: Path) -> None:
    strict = TargetPolicy(resolve=resolver({}), shared_roots=(tmp_path / "shared",))
    url = (tmp_path / "shared" / "repo.git").as_uri()
    message = refused(lambda: strict.check_git_url("acme", url))
    assert "file://" in message
    refused(lambda: rooted.check_git_url("acme", f"file://evil.example.com{tmp_path}/shared"))
    # A local registry is a path the operator made a root, allowed in either mode.
    strict.check_registry_url("acme", RegistryKind.LOCAL, str(tmp_path / "shared"))


# --- redirects ------------------------------------------------------------------------------


def test_the_redirect_hook_refuses_denied_hops() -> None:
    from lamina.adapters import webfetch

    strict = policy()
    webfetch.check_url("https://git.example.com/charts/index.yaml", strict.check_network_url)
    for location in (
        "http://127.0.0.1:8080/index.yaml",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/index.yaml",
        "file:///etc/passwd",
    ):
        with pytest.raises(webfetch.Refused):
            webfetch.check_url(location, strict.check_network_url)


class _Redirector(http.server.BaseHTTPRequestHandler):
    location = ""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.location)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[Callable[[str], str]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def to(location: str) -> str:
        _Redirector.location = location
        return f"http://127.0.0.1:{server.server_address[1]}/charts"

    yield to
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "location",
    ["https://10.255.255.1/charts/index.yaml", "http://169.254.169.254/x", "file:///etc/passwd"],
)
def test_a_real_redirect_to_a_denied_target_is_not_followed(
    redirector: Callable[[str], str], location: str
) -> None:
    # The repository itself is on loopback (allowed in local mode); where it sends us is not.
    local = TargetPolicy(resolve=network.resolve, allow_local=True)
    source = HttpChartSource(guard=local.check_network_url, timeout=5)
    url = redirector(location)
    with pytest.raises(RegistryUnavailable) as caught:
        source.index(RegistryConfig(kind=RegistryKind.HELM, url=url))
    # urllib itself stops at a non-http scheme; the guard stops every other hop.
    assert "not allowed" in caught.value.detail


def test_the_repository_url_itself_is_refused_with_the_policy_message(
    redirector: Callable[[str], str],
) -> None:
    strict = TargetPolicy(resolve=network.resolve)
    source = HttpChartSource(guard=strict.check_network_url, timeout=5)
    url = redirector("https://git.example.com/")
    with pytest.raises(InvalidInput) as caught:
        source.index(RegistryConfig(kind=RegistryKind.HELM, url=url))
    assert caught.value.issues[0].code == CODE


# --- Git branches and folders ---------------------------------------------------------------


@pytest.mark.parametrize(
    "branch",
    [
        "HEAD",
        "",
        "-f",
        "a..b",
        "a b",
        "x.lock",
        "a/.hidden",
        "a//b",
        "a/",
        "a.",
        "@",
        "a@{1}",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[",
        "a\\b",
        "a\x01",
        "refs/tags/v1",
    ],
)
def test_bad_branch_names(branch: str) -> None:
    assert targets.branch_problem(targets.normalise_branch(branch)) is not None


@pytest.mark.parametrize("branch", ["main", "release/1.2", "feature/x_y-z", "v1.0", "a@b"])
def test_good_branch_names(branch: str) -> None:
    assert targets.branch_problem(branch) is None


def test_refs_heads_prefix_names_the_branch() -> None:
    assert targets.normalise_branch("refs/heads/prod") == "prod"
    assert targets.normalise_branch("prod") == "prod"


@pytest.mark.parametrize(
    "path",
    [".git", ".git/hooks", "a/.GIT/config", "..", "a/../..", "/etc", "a\x00b", "a\nb", "a\\b"],
)
def test_bad_folders(path: str) -> None:
    assert targets.folder_problem(path) is not None


@pytest.mark.parametrize("path", ["", "clusters", "clusters/eu-1", "a b/c", ".github/x", "x.git"])
def test_good_folders(path: str) -> None:
    assert targets.folder_problem(path) is None
