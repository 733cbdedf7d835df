"""One document fetched over HTTP(S) with urllib: every URL, redirects included, passes
the server's target policy first, and the body is refused past a size limit.

A target that cannot be reached gets one message whatever the cause, so that answers do
not tell which ports listen; an HTTP status from a server that answered is named."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from http.client import HTTPMessage
from typing import IO, Any
from urllib.parse import urlsplit

from lamina.domain.errors import InvalidInput, Issue, PayloadTooLarge

Guard = Callable[[str], None]
"""Raises InvalidInput when the server may not connect to the URL."""

TIMEOUT_SECONDS = 30.0
_CHUNK = 64 * 1024
_USER_AGENT = "lamina (document import)"
CODE = "source_unavailable"


class _Refused(Exception):
    """A redirect to a URL the guard refuses, or that is not http(s)."""


class _GuardedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, guard: Guard) -> None:
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
        if urlsplit(newurl).scheme not in ("http", "https"):
            raise _Refused("a redirect to a URL that is not http(s)")
        try:
            self._guard(newurl)
        except InvalidInput as error:
            raise _Refused(error.issues[0].message if error.issues else error.detail) from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch(
    url: str, max_bytes: int, *, guard: Guard, where: str = "url", timeout: float = TIMEOUT_SECONDS
) -> bytes:
    """The body at `url` (http or https). InvalidInput at `where` when the policy refuses
    a hop (`target_not_allowed`) or nothing usable answers (`source_unavailable`);
    PayloadTooLarge (`too_large`) past `max_bytes`."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise _unavailable(where, "Only http:// and https:// URLs can be fetched")
    guard(url)
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _GuardedRedirects(guard),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        with opener.open(request, timeout=timeout) as response:
            return _read_capped(response, max_bytes, where)
    except _Refused as refused:
        raise _unavailable(
            where, f"The URL redirected to a target that is not allowed: {refused}"
        ) from None
    except urllib.error.HTTPError as error:
        raise _unavailable(where, f"The server answered HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError, ValueError):
        raise _unavailable(where, "Cannot reach the URL") from None


def _read_capped(response: Any, max_bytes: int, where: str) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes, where)
    body = bytearray()
    while chunk := response.read(min(_CHUNK, max_bytes + 1 - len(body))):
        body += chunk
        if len(body) > max_bytes:
            raise _too_large(max_bytes, where)
    return bytes(body)


def _too_large(max_bytes: int, where: str) -> PayloadTooLarge:
    message = f"The document at the URL is over the limit of {max_bytes} bytes"
    return PayloadTooLarge(message, issues=[Issue(where, "too_large", message)])


def _unavailable(where: str, message: str) -> InvalidInput:
    return InvalidInput("The document cannot be fetched", issues=[Issue(where, CODE, message)])
