"""Outbound HTTP(S) GET with urllib, shared by every adapter that fetches over HTTP (chart
repositories, catalog sources, document import).

`HttpGetter` installs only the http(s) handlers, so that no answer can send us to file://,
ftp:// or data: URLs. Every URL opened, each redirect hop included, first passes the `guard`
(the server's target policy), and the body is refused past a size limit while it is read.
Its failures are the FetchError kinds below, which each caller words in its own errors; a
target that cannot be reached is `Unreachable` whatever the cause, so that answers do not
tell which ports listen, while an HTTP status from a server that answered is named.

`fetch`: one document for the import service, its failures as InvalidInput at `where`.
"""

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


class FetchError(Exception):
    """Why a guarded GET gave no body."""


class Refused(FetchError):
    """A URL that is not http(s) (`error` None) or that the guard refuses (`error`, the
    guard's InvalidInput); the text is the reason."""

    def __init__(self, reason: str, error: InvalidInput | None = None) -> None:
        super().__init__(reason)
        self.error = error


class RedirectRefused(FetchError):
    """A redirect to a URL refused as `refused` says; the text is its reason."""

    def __init__(self, refused: Refused) -> None:
        super().__init__(str(refused))
        self.refused = refused


class HttpStatus(FetchError):
    """The server answered with an HTTP error status."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"HTTP {code} {reason}")
        self.code = code
        self.reason = reason


class Unreachable(FetchError):
    """No usable answer: refused, reset, timed out, no TLS, a bad URL."""


class TooLarge(FetchError):
    """The body, as declared or as read, is over `max_bytes`."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"over {max_bytes} bytes")
        self.max_bytes = max_bytes


def check_url(url: str, guard: Guard | None) -> None:
    """Refused unless `url` is http(s) and the guard (when there is one) allows it."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise Refused("not an http(s) URL")
    if guard is not None:
        try:
            guard(url)
        except InvalidInput as error:
            reason = error.issues[0].message if error.issues else error.detail
            raise Refused(reason, error) from None


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
        except Refused:
            fp.close()
            raise
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class HttpGetter:
    """GET over http(s) only; `guard` (None: only the scheme is checked) checks every URL
    opened, each redirect hop included. Thread-safe."""

    def __init__(self, *, guard: Guard | None, user_agent: str, timeout: float) -> None:
        self._guard = guard
        self._user_agent = user_agent
        self._timeout = timeout
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

    def get(self, url: str, *, max_bytes: int, authorization: str | None = None) -> bytes:
        """The body at `url`. Refused: `url` itself is refused; RedirectRefused: a redirect
        hop is; HttpStatus: the server answered an error; Unreachable: nothing usable
        answered; TooLarge: the body is over `max_bytes`. `authorization` is sent as the
        Authorization header to `url` only, never to where a redirect leads."""
        check_url(url, self._guard)
        request = urllib.request.Request(url, headers={"User-Agent": self._user_agent})
        if authorization is not None:
            # Unredirected: urllib would otherwise replay the header to wherever we are sent.
            request.add_unredirected_header("Authorization", authorization)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return _read_capped(response, max_bytes)
        except Refused as refused:
            raise RedirectRefused(refused) from None
        except urllib.error.HTTPError as error:
            raise HttpStatus(error.code, error.reason) from None
        except (urllib.error.URLError, OSError, ValueError):
            raise Unreachable from None


def _read_capped(response: Any, max_bytes: int) -> bytes:
    """The body, refused as soon as it is known to exceed `max_bytes`."""
    declared = response.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(max_bytes)
    body = bytearray()
    while chunk := response.read(min(_CHUNK, max_bytes + 1 - len(body))):
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(max_bytes)
    return bytes(body)


def fetch(
    url: str, max_bytes: int, *, guard: Guard, where: str = "url", timeout: float = TIMEOUT_SECONDS
) -> bytes:
    """The body at `url` (http or https). InvalidInput at `where` when the policy refuses
    a hop (`target_not_allowed`) or nothing usable answers (`source_unavailable`);
    PayloadTooLarge (`too_large`) past `max_bytes`."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise _unavailable(where, "Only http:// and https:// URLs can be fetched")
    getter = HttpGetter(guard=guard, user_agent=_USER_AGENT, timeout=timeout)
    try:
        return getter.get(url, max_bytes=max_bytes)
    except Refused as refused:
        # The scheme is checked above: the guard refused, and its own error is the answer.
        raise refused.error or _unavailable(where, str(refused)) from None
    except RedirectRefused as hop:
        scheme = hop.refused.error is None
        reason = "a redirect to a URL that is not http(s)" if scheme else str(hop)
        raise _unavailable(
            where, f"The URL redirected to a target that is not allowed: {reason}"
        ) from None
    except HttpStatus as error:
        raise _unavailable(where, f"The server answered {error}") from None
    except Unreachable:
        raise _unavailable(where, "Cannot reach the URL") from None
    except TooLarge:
        message = f"The document at the URL is over the limit of {max_bytes} bytes"
        raise PayloadTooLarge(message, issues=[Issue(where, "too_large", message)]) from None


def _unavailable(where: str, message: str) -> InvalidInput:
    return InvalidInput("The document cannot be fetched", issues=[Issue(where, CODE, message)])
