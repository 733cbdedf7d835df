"""HTTP(S) chart repositories: index.yaml read by Helm, archives downloaded with urllib.

Archives are fetched from the first URL the index gives for a version, a relative one
resolved against the repository URL as Helm does. Credentials go only to the repository's
own scheme, host and port (Helm's default: no `--pass-credentials`), never across a
redirect, and never appear in messages. Only http and https URLs are followed.
"""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urljoin, urlsplit

from lamina.adapters import archives, helm
from lamina.adapters.registries import newest_first
from lamina.domain.errors import RegistryUnavailable
from lamina.domain.models import PackVersion, RegistryConfig

_CHUNK = 64 * 1024
_USER_AGENT = "lamina (chart repository client)"


class HttpChartSource:
    """ports.ChartSource for RegistryKind.HELM: classic chart repositories with index.yaml."""

    def __init__(self, *, timeout: float = helm.NETWORK_TIMEOUT_SECONDS) -> None:
        self._timeout = timeout
        # Only HTTP(S) handlers: an index must not send us to file://, ftp:// or data: URLs.
        self._opener = urllib.request.OpenerDirector()
        for handler in (
            urllib.request.ProxyHandler(),
            urllib.request.HTTPHandler(),
            urllib.request.HTTPSHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            urllib.request.HTTPRedirectHandler(),
            urllib.request.HTTPErrorProcessor(),
        ):
            self._opener.add_handler(handler)

    def index(self, registry: RegistryConfig) -> list[PackVersion]:
        """Every chart version of the repository's index.yaml, by name, newest first.

        Entries without a name or version are skipped, as Helm skips invalid entries.
        """
        index = helm.repo_index(
            registry.url,
            username=registry.username,
            password=registry.password,
            timeout=self._timeout,
        )
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
        data = self._download(url, registry, max_bytes=max_bytes)
        if pack.digest:
            archives.verify_digest(data, pack.digest)
        return data

    def _download(self, url: str, registry: RegistryConfig, *, max_bytes: int) -> bytes:
        shown = helm.safe_url(url)
        if urlsplit(url).scheme not in ("http", "https"):
            raise RegistryUnavailable(f"Refusing to download {shown}: not an http(s) URL")
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        if registry.username and registry.password and _same_origin(url, registry.url):
            token = f"{registry.username}:{registry.password}".encode()
            # Unredirected: urllib would otherwise replay the header to wherever we are sent.
            request.add_unredirected_header(
                "Authorization", "Basic " + base64.b64encode(token).decode("ascii")
            )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return _read_capped(response, max_bytes)
        except urllib.error.HTTPError as error:
            raise RegistryUnavailable(
                f"Cannot download {shown}: HTTP {error.code} {error.reason}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise RegistryUnavailable(f"Cannot download {shown}: {reason}") from None


def _read_capped(response: Any, max_bytes: int) -> bytes:
    """The body, refused as soon as it is known to exceed `max_bytes`."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise archives.too_large(max_bytes)
    body = bytearray()
    while chunk := response.read(min(_CHUNK, max_bytes + 1 - len(body))):
        body += chunk
        if len(body) > max_bytes:
            raise archives.too_large(max_bytes)
    return bytes(body)


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
