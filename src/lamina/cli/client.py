"""A small HTTP client of the Lamina API: every failure becomes a CliError."""

from __future__ import annotations

import ssl
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

# httpx is imported when a request is made: commands that only parse or print help
# (and `lamina --help`) start without it.
if TYPE_CHECKING:
    import httpx

EXIT_API_ERROR = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
YAML = "application/yaml"

_HINTS = {
    401: "Pass --token or set LAMINA_TOKEN to an API token of your org "
    "(create one with `lamina token create --org SLUG`).",
    403: "Your token's role does not allow this; ask for an editor or admin token.",
}


class CliError(Exception):
    """A failure to report to the user: a title, a detail, the issues and the exit code."""

    def __init__(
        self,
        title: str,
        detail: str = "",
        *,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        hint: str = "",
        exit_code: int = EXIT_API_ERROR,
    ) -> None:
        super().__init__(f"{title}: {detail}" if detail else title)
        self.title = title
        self.detail = detail
        self.status = status
        self.errors = errors or []
        self.hint = hint
        self.exit_code = exit_code


class ApiClient:
    """Calls the Lamina API at `server` with a bearer `token`; use it as a context manager."""

    def __init__(self, server: str, token: str | None, *, timeout: float = 30.0) -> None:
        import httpx

        self.server = server.rstrip("/")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self._http = httpx.Client(
                base_url=self.server, headers=headers, timeout=timeout, verify=_tls(self.server)
            )
        except (httpx.InvalidURL, TypeError, ValueError) as error:
            raise _bad_url(self.server, error) from error

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._send("GET", path, params=_clean(params)).json()

    def get_bytes(self, path: str) -> bytes:
        return self._send("GET", path).content

    def post(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> Any:
        return self._send("POST", path, json=body, params=_clean(params), headers=headers).json()

    def post_bytes(
        self, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> bytes:
        """POST a JSON body; the answer's bytes unchanged (e.g. a YAML stream)."""
        return self._send("POST", path, json=body, params=_clean(params)).content

    def post_yaml(self, path: str, content: bytes, params: dict[str, Any] | None = None) -> Any:
        headers = {"Content-Type": YAML}
        response = self._send("POST", path, content=content, headers=headers, params=_clean(params))
        return response.json()

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._send("PATCH", path, json=body).json()

    def delete(self, path: str) -> Any:
        """DELETE `path`; the answer's JSON, or None when it has no body (204)."""
        response = self._send("DELETE", path)
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        import httpx

        try:
            response = self._http.request(method, path, **kwargs)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            raise _bad_url(self.server, error) from error
        except httpx.TransportError as error:
            raise CliError(
                f"Cannot reach the Lamina server at {self.server}",
                str(error) or type(error).__name__,
                hint="Start it with `lamina serve`, or pass --server / set LAMINA_SERVER.",
                exit_code=EXIT_UNREACHABLE,
            ) from error
        if response.is_error:
            raise problem_error(response)
        return response


def problem_error(response: httpx.Response) -> CliError:
    """The CliError for an error response, read from its problem+json body when it has one."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    hint = _HINTS.get(status, "")
    if not isinstance(body, dict):
        detail = response.text.strip()[:500]
        return CliError(f"HTTP {status} {response.reason_phrase}", detail, status=status, hint=hint)
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    title = str(body.get("title") or f"HTTP {status}")
    return CliError(title, str(body.get("detail") or ""), status=status, errors=errors, hint=hint)


def _tls(server: str) -> ssl.SSLContext | bool:
    """Verify certificates; a plain-HTTP server gets a context that trusts no one.

    Loading the CA bundle costs more CPU than the rest of a request; a plain-HTTP client
    never uses it, and with no CA loaded, TLS could only fail, never go unverified.
    """
    if urlsplit(server).scheme.lower() == "http":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


def _bad_url(server: str, error: Exception) -> CliError:
    return CliError(
        f"Invalid server URL {server!r}",
        str(error),
        hint="Use a URL like http://127.0.0.1:8080",
        exit_code=EXIT_USAGE,
    )


def _clean(params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Query parameters without the unset ones; booleans as true/false."""
    if params is None:
        return None
    return {
        k: (str(v).lower() if isinstance(v, bool) else v)
        for k, v in params.items()
        if v is not None
    }
