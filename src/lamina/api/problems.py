"""Errors as application/problem+json: {type, title, status, detail, errors:[{path, message}]}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from lamina.domain import errors

PROBLEM_TYPE = "application/problem+json"

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
]


def status_of(error: errors.LaminaError) -> int:
    return next((code for cls, code in STATUS if isinstance(error, cls)), 400)


def problem(
    status: int, title: str, detail: str, issues: list[dict[str, Any]] | None = None
) -> JSONResponse:
    slug = title.lower().replace(" ", "-")
    body = {
        "type": f"https://lamina.dev/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "errors": issues or [],
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
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
            {"path": _location(tuple(e["loc"])), "code": e["type"], "message": e["msg"]}
            for e in error.errors()
        ]
        return problem(422, "Invalid input", "The request is malformed", issues)

    @app.exception_handler(HTTPException)
    async def on_http_error(_: Request, error: HTTPException) -> JSONResponse:
        return problem(error.status_code, str(error.detail), str(error.detail))
