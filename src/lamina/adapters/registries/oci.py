"""OCI registries, through Helm's registry client.

OCI registries cannot list their repositories, so `RegistryConfig.charts` names the charts;
each is the repository `<url>/<chart>` and its semver tags are the versions. The index knows
nothing but names and versions: description, appVersion and digest stay empty until the
archive is fetched (the caller takes the digest of the fetched bytes). Registries on this
machine (127.0.0.0/8, localhost, ::1) are spoken to in plain HTTP, all others over TLS.
"""

from __future__ import annotations

from lamina.adapters import archives, helm
from lamina.adapters.registries import newest_first
from lamina.domain.errors import RegistryUnavailable
from lamina.domain.models import PackVersion, RegistryConfig

_SCHEME = "oci://"


class OciChartSource:
    """ports.ChartSource for RegistryKind.OCI."""

    def __init__(self, *, timeout: float = helm.NETWORK_TIMEOUT_SECONDS) -> None:
        self._timeout = timeout

    def index(self, registry: RegistryConfig) -> list[PackVersion]:
        """The tags of every chart the registry config names, newest first; a chart the
        registry does not know has no versions. `urls` holds `oci://…/<chart>:<tag>`."""
        packs: list[PackVersion] = []
        for chart in registry.charts:
            ref = _chart_ref(registry, chart)
            tags = helm.oci_tags(
                ref,
                username=registry.username,
                password=registry.password,
                timeout=self._timeout,
            )
            packs += [PackVersion(name=chart, version=tag, urls=(f"{ref}:{tag}",)) for tag in tags]
        return newest_first(packs)

    def fetch(self, registry: RegistryConfig, pack: PackVersion, *, max_bytes: int) -> bytes:
        """The archive of `pack` pulled from this registry (its name and version decide,
        not its `urls`); InvalidChart over `max_bytes` or on a stated digest's mismatch."""
        data = helm.oci_pull(
            _chart_ref(registry, pack.name),
            pack.version,
            max_bytes=max_bytes,
            username=registry.username,
            password=registry.password,
            timeout=self._timeout,
        )
        if pack.digest:
            archives.verify_digest(data, pack.digest)
        return data


def _chart_ref(registry: RegistryConfig, chart: str) -> str:
    if not registry.url.startswith(_SCHEME):
        raise RegistryUnavailable(f"{helm.safe_url(registry.url)} is not an oci:// URL")
    if not chart or chart.startswith("/") or ".." in chart.split("/") or set(chart) & set(":@"):
        raise RegistryUnavailable(f"{chart!r} is not a chart name")
    return f"{registry.url.rstrip('/')}/{chart}"
