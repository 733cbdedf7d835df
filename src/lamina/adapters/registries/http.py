"""HTTP(S) chart repositories: index.yaml and archives downloaded with webfetch.HttpGetter.

Archives are fetched from the first URL the index gives for a version, a relative one
resolved against the repository URL as Helm does. Credentials go only to the repository's
own scheme, host and port (Helm's default: no `--pass-credentials`), never across a
redirect, and never appear in messages. Only http and https URLs are followed.

Every URL opened, each redirect hop included, first passes the `guard` (the server's target
policy): the repository's own URL raises the guard's InvalidInput, an archive URL or a
redirect elsewhere that the guard refuses is RegistryUnavailable. A target that cannot be
reached gets one message whatever the cause (refused, reset, timed out, no TLS), so that
answers do not tell which ports listen; an HTTP status from a server that answered is named.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urljoin, urlsplit

from lamina.adapters import archives, helm, webfetch, yamlio
from lamina.adapters.registries import newest_first
from lamina.adapters.webfetch import Guard as Guard
from lamina.domain.errors import InvalidInput, RegistryUnavailable
from lamina.domain.models import PackVersion, RegistryConfig

_USER_AGENT = "lamina (chart repository client)"
MAX_INDEX_BYTES = 64 * 1024 * 1024


class HttpChartSource:
    """ports.ChartSource for RegistryKind.HELM: classic chart repositories with index.yaml."""

    def __init__(
        self, *, timeout: float = helm.NETWORK_TIMEOUT_SECONDS, guard: Guard | None = None
    ) -> None:
        self._guard = guard
        self._http = webfetch.HttpGetter(guard=guard, user_agent=_USER_AGENT, timeout=timeout)

    def index(self, registry: RegistryConfig) -> list[PackVersion]:
        """Every chart version of the repository's index.yaml, by name, newest first.

        Entries without a name or version are skipped, as Helm skips invalid entries.
        """
        index = self._index(registry)
        packs = [
            pack
            for versions in index["entries"].values()
            if isinstance(versions, list)
            for entry in versions
            if (pack := _pack(entry)) is not None
        ]
        return newest_first(packs)

    def fetch(self, registry: RegistryConfig, pack: PackVersion, *, max_bytes: int) -> bytes:
        """The archive at the pack's first URL. RegistryUnavailable when it cannot be
        downloaded; InvalidChart when over `max_bytes` (`chart_too_large`) or when the pack
        states a digest the bytes do not have (`chart_digest_mismatch`)."""
        if not pack.urls:
            raise RegistryUnavailable(
                f"The chart repository {helm.safe_url(registry.url)} gives no URL for "
                f"{pack.name} {pack.version}"
            )
        url = urljoin(registry.url.rstrip("/") + "/", pack.urls[0])
        if self._guard is not None:
            self._guard(registry.url)
        data = self._download(url, registry, max_bytes=max_bytes)
        if pack.digest:
            archives.verify_digest(data, pack.digest)
        return data

    def _index(self, registry: RegistryConfig) -> dict[str, Any]:
        shown = helm.safe_url(registry.url)
        if self._guard is not None:
            self._guard(registry.url)
        url = registry.url.rstrip("/") + "/index.yaml"
        data = self._download(url, registry, max_bytes=MAX_INDEX_BYTES, shown=shown)
        try:
            index = yamlio.load(data, max_bytes=MAX_INDEX_BYTES)
        except InvalidInput:
            index = None
        if not isinstance(index, dict) or not isinstance(index.get("entries"), dict):
            raise RegistryUnavailable(
                f"The chart repository {shown} answered an index without entries"
            )
        return index

    def _download(
        self, url: str, registry: RegistryConfig, *, max_bytes: int, shown: str = ""
    ) -> bytes:
        shown = shown or helm.safe_url(url)
        authorization = None
        if registry.username and registry.password and _same_origin(url, registry.url):
            token = f"{registry.username}:{registry.password}".encode()
            authorization = "Basic " + base64.b64encode(token).decode("ascii")
        try:
            return self._http.get(url, max_bytes=max_bytes, authorization=authorization)
        except webfetch.Refused as refused:
            raise RegistryUnavailable(f"Refusing to download {shown}: {refused}") from None
        except webfetch.RedirectRefused as refused:
            raise RegistryUnavailable(
                f"The registry at {shown} redirected to a target that is not allowed: {refused}"
            ) from None
        except webfetch.HttpStatus as error:
            raise RegistryUnavailable(f"Cannot read the registry at {shown}: {error}") from None
        except webfetch.Unreachable:
            raise RegistryUnavailable(unreachable(shown)) from None
        except webfetch.TooLarge:
            raise archives.too_large(max_bytes) from None


def unreachable(shown: str) -> str:
    """The one message for a target that cannot be reached, whatever the reason."""
    return f"Cannot reach the registry at {shown}"


def _same_origin(url: str, base: str) -> bool:
    a, b = urlsplit(url), urlsplit(base)
    return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)


def _pack(entry: Any) -> PackVersion | None:
    if not isinstance(entry, dict):
        return None
    name, version = entry.get("name"), entry.get("version")
    if not isinstance(name, str) or not name or not isinstance(version, str) or not version:
        return None
    urls = entry.get("urls")
    return PackVersion(
        name=name,
        version=version,
        app_version=_text(entry.get("appVersion")),
        description=_text(entry.get("description")),
        digest=archives.normalise_digest(_text(entry.get("digest"))),
        kube_version=_text(entry.get("kubeVersion")),
        deprecated=entry.get("deprecated") is True,
        urls=tuple(url for url in urls if isinstance(url, str)) if isinstance(urls, list) else (),
        created=_text(entry.get("created")),
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value)
