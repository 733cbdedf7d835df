"""Imports of profiles written for other systems, as drafts with an import report."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from lamina.api.deps import PrincipalDep, ServicesDep
from lamina.api.schemas_imports import ImportFromUrl, ImportResponse
from lamina.config import Services
from lamina.domain.errors import InvalidInput, Issue
from lamina.domain.models import Principal
from lamina.services.imports import SourceKind

router = APIRouter(prefix="/api/v1/org/imports", tags=["imports"])
JSON = "application/json"
YAML = "application/yaml"

NameQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=63,
        pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$",
        description="The draft's profile name, instead of the source's",
    ),
]


_BODY = {
    "requestBody": {
        "content": {
            JSON: {"schema": {"type": "object", "description": "The source, or {url}"}},
            YAML: {"schema": {"type": "string", "description": "The source"}},
        }
    }
}


@router.post("/palette", status_code=201, response_model=ImportResponse, openapi_extra=_BODY)
async def import_palette(
    request: Request, who: PrincipalDep, wired: ServicesDep, name: NameQuery = None
) -> Response:
    """Map a Palette cluster profile (the JSON of `GET /v1/clusterprofiles/{uid}`) to a new
    draft; a `{"url": …}` body fetches it instead. Answers the draft and the import report."""
    body = await request.body()
    # Mapping parses and may fetch: off the event loop.
    return await run_in_threadpool(_import, SourceKind.PALETTE, body, name, who, wired)


@router.post("/weaveworks", status_code=201, response_model=ImportResponse, openapi_extra=_BODY)
async def import_weaveworks(
    request: Request, who: PrincipalDep, wired: ServicesDep, name: NameQuery = None
) -> Response:
    """Map a Weaveworks ProfileDefinition (YAML, optionally followed by a
    ProfileSubscription) to a new draft; a `{"url": …}` body fetches it instead. Answers
    the draft and the import report."""
    body = await request.body()
    return await run_in_threadpool(_import, SourceKind.WEAVEWORKS, body, name, who, wired)


def _import(
    kind: SourceKind, body: bytes, name: str | None, who: Principal, wired: Services
) -> Response:
    url = _url_request(body)
    text = wired.imports.fetch(who, url) if url is not None else body
    result = wired.imports.import_text(who, kind, text, name=name)
    answer = ImportResponse.of(result).model_dump_json()
    return Response(answer, status_code=201, media_type=JSON)


def _url_request(body: bytes) -> str | None:
    """The URL of a `{"url": …}` body; None when the body is a source document."""
    try:
        parsed: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(parsed, dict) or "url" not in parsed or len(parsed) != 1:
        return None
    try:
        return ImportFromUrl.model_validate(parsed).url
    except ValidationError as error:
        issues = [Issue("url", str(e["type"]), str(e["msg"])) for e in error.errors()]
        raise InvalidInput("The request is malformed", issues=issues) from None
