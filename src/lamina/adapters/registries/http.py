"""HTTP(S) chart repositories: index.yaml and archives downloaded with urllib.

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
import urllib.error
import urllib.request
from collections.abc import Callable
from http.client import HTTPMessage
from typing import IO, Any
from urllib.parse import urljoin, urlsplit

from lamina.adapters import archives, helm, yamlio
from lamina.adapters.registries import newest_first
from lamina.domain.errors import InvalidInput, RegistryUnavailable
from lamina.domain.models import PackVersion, RegistryConfig

_CHUNK = 64 * 1024
_USER_AGENT = "lamina (chart repository client)"
MAX_INDEX_BYTES = 64 * 1024 * 1024

Guard = Callable[[str], None]
"""Raises InvalidInput when the server may not connect to the URL."""


class _Refused(Exception):
    """A redirect to a target the guard refuses."""


class _GuardedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to an http(s) URL the guard allows."""

    def __init__(self, guard: Guard | None) -> None:
        self._guard = guard

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        try:
            check_url(newurl, self._guard)
        except _Refused:
            fp.close()
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def check_url(url: str, guard: Guard | None) -> None:
    """_Refused unless `url` is http(s) and the guard allows it."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise _Refused("not an http(s) URL")
    if guard is not None:
        try:
            guard(url)
        except InvalidInput as error:
            raise _Refused(error.issues[0].message if error.issues else error.detail) from None


class HttpChartSource:
    """ports.ChartSource for RegistryKind.HELM: classic chart repositories with index.yaml."""

    def __init__(
        self, *, timeout: float = helm.NETWORK_TIMEOUT_SECONDS, guard: Guard | None = None
    ) -> None:
        self._timeout = timeout
        self._guard = guard
        # Only HTTP(S) handlers: an index must not send us to file://, ftp:// or data: URLs.
        self._opener = urllib.request.OpenerDirector()
        for handler in (
            urllib.request.ProxyHandler(),
            urllib.request.HTTPHandler(),
            urllib.request.HTTPSHandler(),
            urllib.request.HTTPDefaultErrorHandler(),
            _GuardedRedirects(guard),
            urllib.request.HTTPErrorProcessor(),
        ):
            self._opener.add_handler(handler)

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
        try:
            check_url(url, self._guard)
        except _Refused as refused:
            raise RegistryUnavailable(f"Refusing to download {shown}: {refused}") from None
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
        except _Refused as refused:
            raise RegistryUnavailable(
                f"The registry at {shown} redirected to a target that is not allowed: {refused}"
            ) from None
        except urllib.error.HTTPError as error:
            raise RegistryUnavailable(
                f"Cannot read the registry at {shown}: HTTP {error.code} {error.reason}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError):
            raise RegistryUnavailable(unreachable(shown)) from None


def unreachable(shown: str) -> str:
    """The one message for a target that cannot be reached, whatever the reason."""
    return f"Cannot reach the registry at {shown}"


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
