"""The server's policy on outbound targets: which Git remotes, registries and local paths a
tenant may make the server talk to or read.

Targets are input from tenants, but where the server connects is the operator's decision:
hosts are resolved and refused when any address lies on this machine or in a private,
link-local or otherwise internal network; `file://` targets and plain `http` to this
machine only when the operator allows local targets; local paths only under the caller
org's roots (its own folder under the data directory, the roots configured for it, and the
shared roots). Checked when a target is stored and again each time it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lamina.domain import targets
from lamina.domain.errors import InvalidInput, Issue
from lamina.domain.models import RegistryKind

Resolver = Callable[[str], list[str]]
CODE = "target_not_allowed"


@dataclass(frozen=True)
class TargetPolicy:
    """`resolve` maps a host name to its addresses; `org_roots` maps an org slug to the
    local roots only that org may use; `shared_roots` are open to every org."""

    resolve: Resolver
    allow_local: bool = False
    shared_roots: tuple[Path, ...] = ()
    org_roots: Mapping[str, tuple[Path, ...]] = field(default_factory=dict)
    data_dir: Path | None = None

    def own_root(self, org_slug: str) -> Path | None:
        """`<data dir>/orgs/<slug>`: the local root every org has, created on first use."""
        if self.data_dir is None:
            return None
        return self.data_dir / "orgs" / org_slug

    def roots(self, org_slug: str) -> tuple[Path, ...]:
        """The org's local roots (its own, its configured ones, the shared ones), resolved."""
        own = self.own_root(org_slug)
        if own is not None:
            own.mkdir(parents=True, exist_ok=True)
        found = (*([own] if own else []), *self.org_roots.get(org_slug, ()), *self.shared_roots)
        return tuple(root.resolve() for root in found)

    def check_git_url(self, org_slug: str, url: str, *, where: str = "gitops.url") -> None:
        """InvalidInput (`target_not_allowed` at `where`) unless the org may push to `url`."""
        target = self._parse(url, where=where, what="a Git URL (https://, ssh:// or git@host:path)")
        if target.scheme == "file":
            if not self.allow_local:
                raise _refused(where, "file:// Git targets are not allowed on this server")
            if target.host not in ("", "localhost"):
                raise _refused(where, "A file:// URL names a path on this server, not a host")
            self.local_path(org_slug, target.path, where=where)
            return
        self._check_network(target, where=where, schemes=("https", "ssh", "http"))

    def check_registry_url(
        self, org_slug: str, kind: RegistryKind, url: str, *, where: str = "url"
    ) -> None:
        """InvalidInput at `where` unless the org may read the registry at `url`; a `local`
        registry must be an existing directory under the org's roots."""
        if kind is RegistryKind.LOCAL:
            path = self.local_path(org_slug, url.removeprefix("file://"), where=where)
            if not path.is_dir():
                raise _refused(where, "A local registry must be an existing directory")
            return
        self.check_network_url(url, where=where)

    def check_network_url(self, url: str, *, where: str = "url") -> None:
        """InvalidInput at `where` unless the server may connect to `url` (http, https or
        oci); what chart sources call for each URL they open, redirects included."""
        target = self._parse(url, where=where, what="a URL")
        self._check_network(target, where=where, schemes=("https", "oci", "http"))

    def local_path(self, org_slug: str, text: str, *, where: str) -> Path:
        """`text` resolved (symlinks, `..`), when it lies under one of the org's roots."""
        if not text or "\x00" in text:
            raise _refused(where, "A local path is needed")
        path = Path(text).expanduser().resolve()
        if not any(path == root or root in path.parents for root in self.roots(org_slug)):
            raise _refused(
                where, "The path is not under a local root of this org (LAMINA_LOCAL_ROOTS)"
            )
        return path

    def _parse(self, url: str, *, where: str, what: str) -> targets.Target:
        target = targets.parse_target(url)
        if target is None or url.startswith("-"):
            raise _refused(where, f"Not {what}")
        after_scheme = url.split("://", 1)[1] if "://" in url else url
        if after_scheme.startswith("-") or target.user.startswith("-"):
            raise _refused(where, "A URL may not start with '-' after its scheme")
        if target.host.startswith("-"):
            raise _refused(where, "A host name may not start with '-'")
        return target

    def _check_network(
        self, target: targets.Target, *, where: str, schemes: tuple[str, ...]
    ) -> None:
        if target.scheme not in schemes:
            raise _refused(where, f"The scheme {target.scheme}:// is not allowed here")
        if not target.host:
            raise _refused(where, "The URL names no host")
        addresses = self._addresses(target.host)
        if target.scheme == "http" and not (
            self.allow_local and addresses and all(map(targets.is_loopback_address, addresses))
        ):
            raise _refused(where, "Plain http:// is allowed only to this machine, in local mode")
        for address in addresses:
            reason = targets.address_denial(address, allow_loopback=self.allow_local)
            if reason is not None:
                named = "is" if targets.is_ip_literal(target.host) else "resolves to"
                raise _refused(where, f"{target.host} {named} a {reason} address: not allowed")

    def _addresses(self, host: str) -> list[str]:
        """The host's addresses; a loopback name counts as loopback even when it does not
        resolve, and a name that resolves to nothing leaves nothing to connect to."""
        if targets.is_ip_literal(host):
            return [host]
        found = list(self.resolve(host))
        if targets.is_loopback_name(host):
            found.append("127.0.0.1")
        return found


def _refused(where: str, message: str) -> InvalidInput:
    return InvalidInput("The target is not allowed", issues=[Issue(where, CODE, message)])


def parse_roots(text: str) -> tuple[tuple[Path, ...], dict[str, tuple[Path, ...]]]:
    """`LAMINA_LOCAL_ROOTS`: entries separated by ':'; `path` is shared by every org,
    `org=path` belongs to that org only. Returns (shared roots, roots by org slug)."""
    shared: list[Path] = []
    by_org: dict[str, list[Path]] = {}
    for entry in filter(None, text.split(":")):
        org, sep, path = entry.partition("=")
        if sep and org and "/" not in org:
            by_org.setdefault(org, []).append(Path(path))
        else:
            shared.append(Path(entry))
    return tuple(shared), {org: tuple(paths) for org, paths in by_org.items()}
