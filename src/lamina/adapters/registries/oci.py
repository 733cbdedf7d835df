"""OCI registries, through Helm's registry client.

OCI registries cannot list their repositories, so `RegistryConfig.charts` names the charts;
each is the repository `<url>/<chart>` and its semver tags are the versions. The index knows
nothing but names and versions: description, appVersion and digest stay empty until the
archive is fetched (the caller takes the digest of the fetched bytes). Registries on this
machine (127.0.0.0/8, localhost, ::1) are spoken to in plain HTTP, all others over TLS.

The registry's URL passes the `guard` (the server's target policy) before each call. Helm's
client follows redirects itself (blob downloads are often redirected to storage), so hops
after the first are not checked here. A registry that cannot be reached gets one message
whatever the cause, so that answers do not tell which ports listen.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from lamina.adapters import archives, helm
from lamina.adapters.registries import newest_first
from lamina.adapters.registries.http import Guard, unreachable
from lamina.domain.errors import RegistryUnavailable
from lamina.domain.models import PackVersion, RegistryConfig

_SCHEME = "oci://"
# Helm's words for a failure below HTTP: nothing answered, or not in HTTP.
_UNREACHABLE = re.compile(
    r"dial tcp|connection refused|connection reset|i/o timeout|no such host|EOF|tls:"
    r"|handshake|did not answer within|server gave HTTP response|network is unreachable"
    r"|no route to host|broken pipe|timeout|deadline exceeded",
    re.IGNORECASE,
)


class OciChartSource:
    """ports.ChartSource for RegistryKind.OCI."""

    def __init__(
        self, *, timeout: float = helm.NETWORK_TIMEOUT_SECONDS, guard: Guard | None = None
    ) -> None:
        self._timeout = timeout
        self._guard = guard

    def index(self, registry: RegistryConfig) -> list[PackVersion]:
        """The tags of every chart the registry config names, newest first; a chart the
        registry does not know has no versions. `urls` holds `oci://…/<chart>:<tag>`."""
        packs: list[PackVersion] = []
        self._check(registry)
        for chart in registry.charts:
            ref = _chart_ref(registry, chart)
            with _uniform(ref):
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
        self._check(registry)
        ref = _chart_ref(registry, pack.name)
        with _uniform(ref):
            data = helm.oci_pull(
                ref,
                pack.version,
                max_bytes=max_bytes,
                username=registry.username,
                password=registry.password,
                timeout=self._timeout,
            )
        if pack.digest:
            archives.verify_digest(data, pack.digest)
        return data

    def _check(self, registry: RegistryConfig) -> None:
        if self._guard is not None and registry.url.startswith(_SCHEME):
            self._guard(registry.url)


@contextmanager
def _uniform(ref: str) -> Iterator[None]:
    """Helm's failures below HTTP become the one `unreachable` message."""
    try:
        yield
    except RegistryUnavailable as error:
        if _UNREACHABLE.search(error.detail):
            raise RegistryUnavailable(unreachable(helm.safe_url(ref))) from None
        raise


def _chart_ref(registry: RegistryConfig, chart: str) -> str:
    if not registry.url.startswith(_SCHEME):
        raise RegistryUnavailable(f"{helm.safe_url(registry.url)} is not an oci:// URL")
    if not chart or chart.startswith("/") or ".." in chart.split("/") or set(chart) & set(":@"):
        raise RegistryUnavailable(f"{chart!r} is not a chart name")
    return f"{registry.url.rstrip('/')}/{chart}"
