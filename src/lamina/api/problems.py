"""Errors as application/problem+json: {type, title, status, detail, errors:[{path, message}]}."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lamina.domain import errors, paths

PROBLEM_TYPE = "application/problem+json"
log = logging.getLogger(__name__)

# Each named error maps once to a status.
STATUS: list[tuple[type[errors.LaminaError], int]] = [
    (errors.PayloadTooLarge, 413),
    (errors.InvalidInput, 422),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Unauthorized, 401),
    (errors.Forbidden, 403),
    (errors.RegistryUnavailable, 502),
    (errors.DeliveryFailed, 502),
    (errors.ToolMissing, 503),
    (errors.StoreUnavailable, 503),
]


def status_of(error: errors.LaminaError) -> int:
    return next((code for cls, code in STATUS if isinstance(error, cls)), 400)


def problem(
    status: int,
    title: str,
    detail: str,
    issues: list[dict[str, Any]] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    body = {
        "type": f"https://lamina.dev/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": issues or [],
    }
    headers = {**(headers or {}), **({"WWW-Authenticate": "Bearer"} if status == 401 else {})}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.LaminaError)
    async def on_lamina_error(_: Request, error: errors.LaminaError) -> JSONResponse:
        issues = [issue.as_dict() for issue in error.issues]
        return problem(status_of(error), error.title, error.detail, issues)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        issues = [
            {"path": _path_of(e), "code": e["type"], "message": e["msg"]} for e in error.errors()
        ]
        return problem(422, "Invalid input", "The request is malformed", issues)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, error: HTTPException) -> JSONResponse:
        if error.status_code == 400 and error.__cause__ is not None:
            # FastAPI's answer to a body it cannot decode (not UTF-8, say): invalid input.
            issue = {"path": "", "code": "invalid_body", "message": str(error.detail)}
            return problem(422, "Invalid input", "The body cannot be parsed", [issue])
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem(error.status_code, str(error.detail), str(error.detail), headers=headers)


def _path_of(error: dict[str, Any]) -> str:
    """Where a validation error is: its location, then the path inside a free-form value."""
    inner = (error.get("ctx") or {}).get("path")
    where = _location(tuple(error["loc"]))
    return paths.join(where, inner) if isinstance(inner, str) else where


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route fully matches at the request's path (routes of one path are
    split by method, so the route that answered 405 knows only its own)."""
    routes = request.app.router.routes
    return [
        method
        for method in ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]


class LastResort:
    """Answer an unexpected exception with a logged 500 problem, so that the connection
    stays usable (an exception escaping to the server closes it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("Unexpected error answering %s %s", scope["method"], scope["path"])
            if started:
                raise
            answer = problem(500, "Internal error", "An unexpected error occurred; it was logged")
            await answer(scope, receive, send)


# What each problem status means, for the OpenAPI document.
MEANINGS = {
    401: "Missing, unknown, expired or revoked token",
    403: "The token's role is too low, or the object is another org's public one",
    404: "No such object in the org (another org's private objects are not found)",
    409: "A stale draft version, a name taken, a concurrent change, or deleting what is in use",
    413: "The body is over the server's limit",
    422: "Invalid input; `errors` say where",
    502: "A registry or Git remote could not be reached or refused the request",
    503: "A tool Lamina needs (kustomize) is missing, or the store is unavailable",
}
UPSTREAM = (502, 503)
PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail", "errors"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["path", "message"],
                "properties": {
                    "path": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
    },
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for problem statuses, for a route's `responses=`."""
    content = {PROBLEM_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {code: {"description": MEANINGS[code], "content": content} for code in codes}


def document(app: FastAPI) -> None:
    """Declare in the OpenAPI document the problems every API operation can answer, in place
    of FastAPI's default 422 shape, and the Problem schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if path.startswith("/api/v1/org"):
                    declared = operation.setdefault("responses", {})
                    for code, response in responses(*_statuses(method, operation)).items():
                        if declared.get(str(code), {}).get("description") in (
                            None,
                            "Validation Error",
                        ):
                            declared[str(code)] = response
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _statuses(method: str, operation: dict[str, Any]) -> Iterable[int]:
    has_body = "requestBody" in operation
    in_path = any(p.get("in") == "path" for p in operation.get("parameters", []))
    yield from (401, 403, 422)
    if in_path or has_body:
        yield 404
    if method not in ("get", "head"):
        yield 409
    if has_body:
        yield 413


UPSTREAM_PROBLEMS = responses(*UPSTREAM)
"""`responses=` of routes that reach registries, Git remotes or tools."""
